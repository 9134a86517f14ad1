/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "bus-errors.h"

const sd_bus_error_map sriovd_error_map[] = {
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_NO_SUCH_DEVICE, ENODEV),
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_OUT_OF_RANGE, ERANGE),
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_NOT_SUPPORTED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_NO_FREE_FUNCTION, ENOSPC),
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_CONFIG_INVALID, EBADMSG),
        SD_BUS_ERROR_MAP(SRIOVD_ERROR_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

int sriovd_bus_errors_register(void) {
        return sd_bus_error_add_map(sriovd_error_map);
}

const char *sriovd_error_name_from_errno(int error) {
        error = abs(error);
        if (error == ENOTSUP)
                error = EOPNOTSUPP;
        for (const sd_bus_error_map *m = sriovd_error_map; m->name; m++)
                if (m->code == error)
                        return m->name;
        return SRIOVD_ERROR_FAILED;
}
