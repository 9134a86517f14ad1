/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "bus-errors.h"
#include "bus-call.h"
#include "bus-changes.h"
#include "bus-objects.h"
#include "diagnostics.h"
#include "lease-dbus.h"
#include "log.h"
#include "manager-dbus.h"
#include "names.h"
#include "pf-dbus.h"
#include "polkit.h"
#include "vf-dbus.h"

static int flush_handler(sd_event_source *s, void *userdata) {
        bus_flush_changes(userdata);
        return 0;
}

/* Runs before sd-bus' own exit handler closes the connection: the calls still waiting hear that
 * sriovd is stopping, those waiting for polkit or the diagnostics helper too. */
static int exit_handler(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        manager_stop(m);
        manager_stop_auth_queries(m);
        m->diagnostics = diagnostics_free(m->diagnostics);
        bus_flush_changes(userdata);
        return 0;
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append_basic(reply, 's', PACKAGE_VERSION);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return sd_bus_message_append_basic(reply, 's', manager_state_to_string(m->state));
}

static int method_list_pfs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_reply_paths(message, (void **) m->pfs, m->n_pfs, offsetof(PhysicalFunction, object_path));
}

static int method_get_pf(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        PhysicalFunction *pf;
        const char *device;
        char address[PCI_ADDRESS_MAX];
        int r;

        r = sd_bus_message_read(message, "s", &device);
        if (r < 0)
                return r;
        pf = manager_find_pf(m, device);
        if (pf)
                return sd_bus_reply_method_return(message, "o", pf->object_path);
        if (pci_address_normalize(device, address) >= 0)
                return sd_bus_error_setf(error, SRIOVD_ERROR_NO_SUCH_DEVICE,
                                         "No SR-IOV capable PCI device %s", address);
        return sd_bus_error_setf(error, SRIOVD_ERROR_NO_SUCH_DEVICE,
                                 "No SR-IOV capable PCI device with address or interface name '%s'", device);
}

/* Apply() and Reload(): every PF reconciled, after the configuration was read again for Reload(). */
static int reconcile_all(sd_bus_message *message, Manager *m, bool reload, sd_bus_error *error) {
        _cleanup_(request_unrefp) Request *req = NULL;
        int r;

        r = manager_authorize(m, message, POLKIT_ACTION_MANAGE, NULL, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        req = bus_request_new(m, message);
        if (!req)
                return -ENOMEM;
        if (reload) {
                log_info("Reloading configuration on request");
                r = manager_reload(m, req);
                if (r < 0)
                        return sriovd_bus_error_set_errnof(error, r, "Failed to load configuration: %m");
        } else
                (void) manager_apply(m, req);
        request_arm(req);
        return 1;
}

static int method_apply(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return reconcile_all(message, userdata, false, error);
}

static int method_reload(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return reconcile_all(message, userdata, true, error);
}

/* The helper's checks read files, never the kernel's devices, and take well under a second; the
 * limit only has to come before a client's default call timeout (25 s in sd-bus). */
#define DIAGNOSTICS_TIMEOUT_SEC 20U

static const char *diagnostics_helper(void) {
#if SRIOVD_TEST_HOOKS
        const char *e = getenv(ENV_SRIOVD_DOCTOR_HELPER);

        if (e && e[0] == '/')
                return e;
#endif
        return LIBEXECDIR "/" SRIOVD_DOCTOR_HELPER_NAME;
}

static unsigned diagnostics_timeout_sec(void) {
#if SRIOVD_TEST_HOOKS
        const char *e = getenv(ENV_SRIOVD_DOCTOR_TIMEOUT_SEC);
        unsigned u;

        if (e && safe_atou(e, &u) >= 0 && u > 0)
                return u;
#endif
        return DIAGNOSTICS_TIMEOUT_SEC;
}

static int diagnostics_reply_checks(sd_bus_message *call, const DiagnosticsCheck *checks, size_t n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(call, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sssss)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const char *fields[] = {checks[i].check, checks[i].device, checks[i].status,
                                        checks[i].summary, checks[i].fix};

                /* a summary may quote a file name, which need not be UTF-8 */
                r = sd_bus_message_open_container(reply, 'r', "sssss");
                for (size_t k = 0; r >= 0 && k < ELEMENTSOF(fields); k++)
                        r = bus_append_string(reply, fields[k]);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Called from the loop when the helper is done, once per waiting call. A caller gone by then
 * loses its reply to the bus, nothing else. */
static void diagnostics_done(int error, const DiagnosticsCheck *checks, size_t n, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = error;

        if (r >= 0) {
                r = diagnostics_reply_checks(call, checks, n);
                if (r >= 0)
                        return;
                log_warning_errno(r, "Failed to send the diagnostics: %m");
        }
        if (r == -ECANCELED)
                (void) sd_bus_error_set(&e, SRIOVD_ERROR_FAILED, "sriovd is stopping");
        else if (r == -ETIME)
                (void) sd_bus_error_setf(&e, SRIOVD_ERROR_FAILED,
                                         "The diagnostics helper did not finish within %u s and was stopped",
                                         diagnostics_timeout_sec());
        else if (r == -EFBIG)
                (void) sd_bus_error_set(&e, SRIOVD_ERROR_FAILED,
                                        "The diagnostics helper wrote more than sriovd reads");
        else if (r == -EBADMSG)
                (void) sd_bus_error_set(&e, SRIOVD_ERROR_FAILED,
                                        "The diagnostics helper wrote no valid records");
        else if (r == -EPROTO)
                (void) sd_bus_error_set(&e, SRIOVD_ERROR_FAILED,
                                        "The diagnostics helper failed; sriovd's log says why");
        else {
                errno = -r;
                (void) sd_bus_error_setf(&e, SRIOVD_ERROR_FAILED, "Failed to run the diagnostics: %m");
        }
        (void) sd_bus_reply_method_error(call, &e);
}

/* Read-only, as the properties are: anyone on the bus may ask. One helper runs at a time and every
 * call that comes meanwhile gets its result. */
static int method_run_diagnostics(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        if (!m->diagnostics) {
                r = diagnostics_new(m->event, diagnostics_helper(),
                                    diagnostics_timeout_sec() * UINT64_C(1000000), &m->diagnostics);
                if (r < 0)
                        return r;
        }
        r = diagnostics_run(m->diagnostics, diagnostics_done, message);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, SRIOVD_ERROR_BUSY,
                                         "%u calls wait for the diagnostics already; "
                                         "try again when they are done",
                                         DIAGNOSTICS_WAITERS_MAX);
        if (r < 0)
                return sriovd_bus_error_set_errnof(error, r, "Failed to start the diagnostics helper %s: %m",
                                                   diagnostics_helper());
        sd_bus_message_ref(message);
        return 1;
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("ListPhysicalFunctions", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", pfs),
                                method_list_pfs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetPhysicalFunction", SD_BUS_ARGS("s", device), SD_BUS_RESULT("o", pf),
                                method_get_pf, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RequestVirtualFunction", SD_BUS_ARGS("s", selector, "a{sv}", options),
                                SD_BUS_RESULT("o", lease, "o", vf), method_request_vf,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListLeases", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", leases),
                                method_list_leases, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Apply", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_apply,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_reload,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RunDiagnostics", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sssss)", checks),
                                method_run_diagnostics, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

static int pf_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                              sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;
        size_t n = 0, k = 0;

        /* sized once: thousands of VFs appended one by one would make this quadratic */
        for (size_t i = 0; i < m->n_pfs; i++)
                n += 1 + m->pfs[i]->n_vfs;
        l = calloc(n + 1, sizeof *l);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];

                if (!(l[k++] = strdup(pf->object_path)))
                        return -ENOMEM;
                for (size_t j = 0; j < pf->n_vfs; j++)
                        if (pf->vfs[j] && !(l[k++] = strdup(pf->vfs[j]->object_path)))
                                return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static int name_acquired_handler(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                log_error("Failed to acquire bus name " SRIOVD_BUS_NAME ": %s", e->message);
                (void) sd_event_exit(m->event, -EEXIST);
                return 0;
        }
        /* only now can anyone tell sriovd's signals by its name: what coldplug found before is in
         * GetManagedObjects, and thousands of VFs need no InterfacesAdded nobody can match */
        m->changes.enabled = true;
        manager_name_acquired(m);
        return 0;
}

static int bus_add_objects(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE,
                                     manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add manager object: %m");
        r = bus_add_object_manager(m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, SRIOVD_PF_PREFIX, SRIOVD_PF_INTERFACE, pf_vtable,
                                       pf_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add PF objects: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, SRIOVD_PF_PREFIX, SRIOVD_VF_INTERFACE, vf_vtable,
                                       vf_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add VF objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, SRIOVD_PF_PREFIX, pf_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add node enumerator: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, SRIOVD_LEASE_PREFIX, SRIOVD_LEASE_INTERFACE,
                                       lease_vtable, lease_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add lease objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, SRIOVD_LEASE_PREFIX, lease_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add lease node enumerator: %m");
        return 0;
}

int bus_setup(Manager *m) {
        int r;

        r = sriovd_bus_errors_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register error map: %m");
        (void) sd_notify(false, "STATUS=Connecting to the system bus");
        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_attach_event(m->bus, m->event, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");
        /* without its bus sriovd is of no use to anyone: it ends its loop with EXIT_FAILURE, for
         * systemd to start it again, and nothing of the leases is undone on the way out */
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the bus connection: %m");
        r = peers_new(m->bus, &m->peers);
        if (r < 0)
                return log_error_errno(r, "Failed to watch peers leaving the bus: %m");
        r = sd_event_add_exit(m->event, &m->bus_exit_source, exit_handler, m);
        if (r >= 0)
                r = sd_event_source_set_priority(m->bus_exit_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return log_error_errno(r, "Failed to add the exit handler: %m");
        r = bus_add_objects(m);
        if (r < 0)
                return r;
        r = sd_event_add_post(m->event, &m->bus_flush_source, flush_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the bus signal queue: %m");
        (void) sd_event_source_set_description(m->bus_flush_source, "bus-changes");
        return 0;
}

int bus_request_name(Manager *m) {
        int r;

        r = sd_bus_request_name_async(m->bus, NULL, SRIOVD_BUS_NAME, 0, name_acquired_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to request bus name: %m");
        return 0;
}

void bus_done(Manager *m) {
        manager_free_auth_queries(m);
        m->peers = peers_free(m->peers);
        m->diagnostics = diagnostics_free(m->diagnostics);
        bus_flush_changes(m);
        m->changes.enabled = false;
        change_queue_clear(&m->changes);
        m->bus_flush_source = sd_event_source_disable_unref(m->bus_flush_source);
        m->bus_exit_source = sd_event_source_disable_unref(m->bus_exit_source);
        m->bus = sd_bus_flush_close_unref(m->bus);
}
