/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "names.h"
#include "policy.h"
#include "sriovctl.h"

int verb_set_numvfs(int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL, *what = NULL;
        const char *device = argv[1];
        uint64_t flags = 0;
        unsigned count;
        sd_bus *bus;
        int r;

        /* Checked before connecting: a usage error must not depend on the daemon. */
        if (safe_atou(argv[2], &count) < 0)
                return log_usage("Invalid number of VFs '%s'.", argv[2]);

        if (arg_runtime)
                flags |= SRIOVD_FLAG_RUNTIME;
        if (arg_force)
                flags |= SRIOVD_FLAG_FORCE;
        if (arg_wait_sec > 0)
                flags |= SRIOVD_FLAG_WAIT;

        r = acquire_pf(device, &bus, &path, NULL);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, SRIOVD_BUS_NAME, path, SRIOVD_PF_INTERFACE,
                                           arg_wait_sec > 0 ? "SetNumVFsWithOptions" : "SetNumVFs");
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");
        r = sd_bus_message_append(m, "ut", (uint32_t) count, flags);
        if (r >= 0 && arg_wait_sec > 0)
                r = sd_bus_message_append(m, "a{sv}", 1, SRIOVD_OPTION_WAIT_USEC, "t",
                                          (uint64_t) arg_wait_sec * UINT64_C(1000000));
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");

        if (asprintf(&what, "set NumVFs on %s", device) < 0)
                return log_error_errno(ENOMEM, "Out of memory.");
        /* the holders' time comes on top of the kernel's */
        return call_method_timeout(
                bus, m, SRIOVCTL_LONG_CALL_USEC + (uint64_t) arg_wait_sec * UINT64_C(1000000), what);
}

int verb_set_vf(int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL, *what = NULL;
        const char *device = argv[1];
        VfPolicy policy = {};
        unsigned index;
        sd_bus *bus;
        int r;

        if (safe_atou(argv[2], &index) < 0)
                return log_usage("Invalid VF index '%s'.", argv[2]);

        r = parse_policy_args(argv + 3, &policy);
        if (r != 0)
                return r;

        r = acquire_pf(device, &bus, &path, NULL);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, SRIOVD_BUS_NAME, path, SRIOVD_PF_INTERFACE,
                                           "SetVirtualFunctionPolicy");
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");
        r = sd_bus_message_append(m, "u", (uint32_t) index);
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");
        r = policy_append_to_bus_message(m, &policy);
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");
        r = sd_bus_message_append(m, "t", arg_runtime ? SRIOVD_FLAG_RUNTIME : UINT64_C(0));
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");

        if (asprintf(&what, "set the policy of VF %u on %s", index, device) < 0)
                return log_error_errno(ENOMEM, "Out of memory.");
        return call_long_method(bus, m, what);
}

static int call_manager(const char *method, const char *what) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus *bus;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &m, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                           SRIOVD_MANAGER_INTERFACE, method);
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");

        return call_long_method(bus, m, what);
}

int verb_apply(int argc, char *argv[]) {
        return call_manager("Apply", "apply the configuration");
}

int verb_reload(int argc, char *argv[]) {
        return call_manager("Reload", "reload the configuration");
}
