/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <langinfo.h>
#include <locale.h>

#include "doctor/doctor.h"
#include "sriovctl.h"

/* A daemon that hangs must not keep an admin who asks "what is wrong here" waiting long. */
#define DOCTOR_BUS_TIMEOUT_USEC (UINT64_C(5) * 1000 * 1000)

int verb_doctor(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(doctor_freep) Doctor *d = NULL;
        bool utf8;
        int r;

        if (arg_host)
                return log_usage(
                        "'doctor' checks the host it runs on; run it there instead of with --host.");

        setlocale(LC_CTYPE, "");
        utf8 = streq(nl_langinfo(CODESET), "UTF-8");

        r = doctor_new(arg_root, NULL, &d);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the checks: %m");

        r = doctor_check_host(d);
        if (r < 0)
                return log_error_errno(r, "Failed to run the checks: %m");

        /* Its own connection, not acquire_bus(): no system bus is a finding here, not an error. */
        if (sd_bus_open_system(&bus) < 0)
                bus = NULL;
        else
                (void) sd_bus_set_method_call_timeout(bus, DOCTOR_BUS_TIMEOUT_USEC);

        r = doctor_check_daemon(d, bus);
        if (r < 0)
                return log_error_errno(r, "Failed to ask sriovd: %m");

        if (arg_json)
                r = doctor_print_json(d, stdout);
        else
                r = doctor_print(d, stdout, utf8, arg_legend);
        if (r < 0)
                return log_error_errno(r, "Failed to write output: %m");

        /* Warnings leave SR-IOV working; only failures make the exit status non-zero. */
        return doctor_count(d, DOCTOR_FAIL) > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
