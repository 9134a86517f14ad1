/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What sriovd itself reports: whether it runs, and PFs it failed to configure or that drift. */
#include "doctor-internal.h"
#include "kernel-error.h"
#include "names.h"

#define DAEMON_NOT_RUNNING "sriovd is not running: only the host was checked"

/* Adds a failure if sriovd reports the PF at path as failed or drifting, and returns 1 then. */
static int check_daemon_pf(Doctor *d, sd_bus *bus, const char *path) {
        _cleanup_free_ char *address = NULL, *pf_state = NULL, *last_error = NULL;
        const char *name;
        char *fix;

        if (sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, path, SRIOVD_PF_INTERFACE, "State", NULL,
                                       &pf_state) < 0)
                return 0; /* gone meanwhile */
        (void) sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, path, SRIOVD_PF_INTERFACE, "PciAddress",
                                          NULL, &address);
        (void) sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, path, SRIOVD_PF_INTERFACE, "LastError", NULL,
                                          &last_error);
        if (!streq(pf_state, "failed") && !streq(pf_state, "drift"))
                return 0;

        name = address ?: path;
        /* sriovd decoded the kernel's errno and said what fixes it: that is the fix here too */
        fix = last_error ? strstr(last_error, KERNEL_ERROR_FIX_SEPARATOR) : NULL;
        if (fix) {
                *fix = 0;
                fix += strlen(KERNEL_ERROR_FIX_SEPARATOR);
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", name, DOCTOR_FAIL,
                    doctor_fixf("%s\nThen: sriovctl apply; sriovctl show %s for details.", fix, name),
                    "sriovd reports %s as %s: %s", name, pf_state, last_error);
                return 1;
        }
        ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", name, DOCTOR_FAIL,
            streq(pf_state, "drift")
                    ? doctor_fixf("The kernel's VF count differs from what sriovd enforces and it could "
                                  "not restore\n"
                                  "it: another tool is changing it (see the conflict checks), or the last "
                                  "error\n"
                                  "says why. Then: sriovctl apply; sriovctl show %s for details.",
                                  name)
                    : doctor_fixf("Fix what the error says, then: sriovctl apply; sriovctl show %s for "
                                  "details.",
                                  name),
            "sriovd reports %s as %s: %s", name, pf_state,
            isempty(last_error) ? "(no error recorded)" : last_error);
        return 1;
}

int doctor_check_daemon(Doctor *d, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *state = NULL;
        size_t n_bad = 0;
        int has_owner = 0, r;

        if (!bus) {
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_INFO, NULL,
                    DAEMON_NOT_RUNNING " (no system bus)");
                return 0;
        }

        /* Asks the bus, not io.sriovd itself: a call to it would start the daemon by bus activation. */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", SRIOVD_BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has_owner);
        if (r < 0 || !has_owner) {
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_INFO, NULL, DAEMON_NOT_RUNNING);
                return 0;
        }
        reply = sd_bus_message_unref(reply);

        (void) sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                          SRIOVD_MANAGER_INTERFACE, "State", NULL, &state);

        r = sd_bus_call_method(bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE,
                               "ListPhysicalFunctions", &error, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &paths);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_WARN,
                    doctor_fixf("See journalctl -u sriovd for what the daemon reports."),
                    "sriovd is running but did not list its physical functions: %s",
                    error.message ?: strerror(-r));
                return 0;
        }

        for (char **p = paths; p && *p; p++) {
                r = check_daemon_pf(d, bus, *p);
                if (r < 0)
                        return r;
                n_bad += r;
        }

        if (n_bad == 0)
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_OK, NULL,
                    "sriovd is running (%s), %zu physical function%s, none failed or drifting",
                    state ?: "state unknown", strv_length(paths), strv_length(paths) == 1 ? "" : "s");
        return 0;
}
