/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "bus-errors.h"
#include "bus-call.h"
#include "bus-changes.h"
#include "bus-objects.h"
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
 * sriovd is stopping. */
static int exit_handler(sd_event_source *s, void *userdata) {
        manager_stop(userdata);
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
        bus_flush_changes(m);
        m->changes.enabled = false;
        change_queue_clear(&m->changes);
        m->bus_flush_source = sd_event_source_disable_unref(m->bus_flush_source);
        m->bus_exit_source = sd_event_source_disable_unref(m->bus_exit_source);
        m->bus = sd_bus_flush_close_unref(m->bus);
}
