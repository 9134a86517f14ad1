/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#define SRIOVD_ERROR_NO_SUCH_DEVICE "io.sriovd1.Error.NoSuchDevice"
#define SRIOVD_ERROR_INVALID_ARGUMENT "io.sriovd1.Error.InvalidArgument"
#define SRIOVD_ERROR_OUT_OF_RANGE "io.sriovd1.Error.OutOfRange"
#define SRIOVD_ERROR_NOT_SUPPORTED "io.sriovd1.Error.NotSupported"
#define SRIOVD_ERROR_BUSY "io.sriovd1.Error.Busy"
#define SRIOVD_ERROR_NO_FREE_FUNCTION "io.sriovd1.Error.NoFreeFunction"
#define SRIOVD_ERROR_CONFIG_INVALID "io.sriovd1.Error.ConfigInvalid"
#define SRIOVD_ERROR_FAILED "io.sriovd1.Error.Failed"

/* The one errno <-> D-Bus error map, registered by daemon and client alike:
 * ENODEV NoSuchDevice, EINVAL InvalidArgument, ERANGE OutOfRange, EOPNOTSUPP NotSupported,
 * EBUSY Busy, ENOSPC NoFreeFunction, EBADMSG ConfigInvalid, EIO Failed; EACCES/EPERM map to
 * org.freedesktop.DBus.Error.AccessDenied through sd-bus' own table. */
extern const sd_bus_error_map sriovd_error_map[];

/* Registers sriovd_error_map with sd-bus; idempotent. */
int sriovd_bus_errors_register(void);

/* The D-Bus error name sriovd uses for an errno (positive or negative); Failed for anything else. */
const char *sriovd_error_name_from_errno(int error);

/* Like sd_bus_error_set_errnof(), but with sriovd's error names (sd-bus' own table would turn EBUSY
 * into System.Error.EBUSY). %m in fmt prints the error. Returns -abs(error). */
int sriovd_bus_error_set_errnof(sd_bus_error *e, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
