/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
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
        if (error == EACCES || error == EPERM)
                return SD_BUS_ERROR_ACCESS_DENIED;
        if (error == ENOTSUP)
                error = EOPNOTSUPP;
        for (const sd_bus_error_map *m = sriovd_error_map; m->name; m++)
                if (m->code == error)
                        return m->name;
        return SRIOVD_ERROR_FAILED;
}

int sriovd_bus_error_set_errnof(sd_bus_error *e, int error, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        error = abs(error);
        errno = error;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        (void) sd_bus_error_set(e, sriovd_error_name_from_errno(error), buf);
        return -error;
}
