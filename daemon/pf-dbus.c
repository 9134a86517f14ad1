/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "bus-call.h"
#include "bus-errors.h"
#include "drain.h"
#include "names.h"
#include "pf-dbus.h"
#include "pf-settings.h"
#include "polkit.h"

#define DEFINE_PF_STRING_GETTER(name, expr)                                                         \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface,        \
                                       const char *property, sd_bus_message *reply, void *userdata, \
                                       sd_bus_error *error) {                                       \
                PhysicalFunction *pf = userdata;                                                    \
                return bus_append_string(reply, expr);                                              \
        }

DEFINE_PF_STRING_GETTER(address, pf->address);
DEFINE_PF_STRING_GETTER(interface, pf->interface);
DEFINE_PF_STRING_GETTER(driver, pf->driver);
DEFINE_PF_STRING_GETTER(vendor, pf->vendor);
DEFINE_PF_STRING_GETTER(model, pf->model);
DEFINE_PF_STRING_GETTER(state, pf_state_to_string(pf->state));
DEFINE_PF_STRING_GETTER(last_error, pf->last_error);
DEFINE_PF_STRING_GETTER(config_source, pf_config_source(pf));

static int property_get_vfs(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        PhysicalFunction *pf = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (size_t i = 0; i < pf->n_vfs; i++)
                if (pf->vfs[i]) {
                        r = sd_bus_message_append_basic(reply, 'o', pf->vfs[i]->object_path);
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(reply);
}

static int property_get_autoprobe(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        PhysicalFunction *pf = userdata;
        int b = pf->drivers_autoprobe;

        return sd_bus_message_append_basic(reply, 'b', &b);
}

static uint64_t settings_flags(uint64_t flags) {
        return (flags & SRIOVD_FLAG_RUNTIME ? PF_SETTINGS_RUNTIME : 0) |
               (flags & SRIOVD_FLAG_FORCE ? PF_SETTINGS_FORCE : 0) |
               (flags & SRIOVD_FLAG_WAIT ? PF_SETTINGS_WAIT : 0);
}

/* A SetNumVFs call that may wait for leases to be released: its caller is watched meanwhile, and its
 * leaving the bus cancels the wait. */
typedef struct NumVfsCall {
        BusCall *call;
        PeerWatch *track;
        Request *req; /* the request this belongs to */
        char address[PCI_ADDRESS_MAX];
} NumVfsCall;

static void num_vfs_call_free(void *userdata) {
        NumVfsCall *c = userdata;

        if (!c)
                return;
        peer_watch_free(c->track);
        bus_call_free(c->call);
        free(c);
}

static void num_vfs_call_done(Request *req, int error, const char *message, void *userdata) {
        NumVfsCall *c = userdata;

        c->track = peer_watch_free(c->track);
        bus_call_reply(c->call, error, message);
}

static void num_vfs_caller_left(PeerWatch *w, void *userdata) {
        NumVfsCall *c = userdata;
        PhysicalFunction *pf = manager_find_pf(c->call->manager, c->address);

        c->track = peer_watch_free(c->track);
        /* nobody to answer any more */
        c->call->message = sd_bus_message_unref(c->call->message);
        if (pf)
                pf_drain_cancel(pf, c->req);
}

static Request *num_vfs_request_new(Manager *m, sd_bus_message *message, PhysicalFunction *pf) {
        _cleanup_(request_unrefp) Request *req = NULL;
        NumVfsCall *c = calloc(1, sizeof *c);

        if (!c)
                return NULL;
        c->call = bus_call_new(m, message);
        if (!c->call) {
                num_vfs_call_free(c);
                return NULL;
        }
        memcpy(c->address, pf->address, sizeof c->address);
        req = request_new(num_vfs_call_done, num_vfs_call_free, c);
        if (!req) {
                num_vfs_call_free(c);
                return NULL;
        }
        c->req = req;
        if (peer_watch_new(m->peers, sd_bus_message_get_sender(message), num_vfs_caller_left, c, &c->track) <
            0)
                return NULL;
        return TAKE_PTR(req);
}

/* SetNumVFs() and SetNumVFsWithOptions(), once the sender is authorized and the arguments read. */
static int set_num_vfs(sd_bus_message *message, PhysicalFunction *pf, uint32_t count, uint64_t flags,
                       uint64_t wait_usec, sd_bus_error *error) {
        _cleanup_(request_unrefp) Request *req = NULL;
        _cleanup_free_ char *refusal = NULL;
        Manager *m = bus_current_manager(sd_bus_message_get_bus(message));
        int r;

        if (flags & ~SRIOVD_NUMVFS_FLAGS_ALL)
                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT, "Unknown flags 0x%" PRIx64,
                                         flags & ~SRIOVD_NUMVFS_FLAGS_ALL);

        req = flags & SRIOVD_FLAG_WAIT ? num_vfs_request_new(m, message, pf) : bus_request_new(m, message);
        if (!req)
                return -ENOMEM;
        r = pf_set_num_vfs(pf, count, settings_flags(flags), wait_usec, req, &refusal);
        if (r < 0)
                return bus_error_from_model(error, r, refusal);
        request_arm(req);
        return 1;
}

static int method_set_num_vfs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        PhysicalFunction *pf = userdata;
        uint32_t count;
        uint64_t flags;
        int r;

        r = manager_authorize(bus_current_manager(sd_bus_message_get_bus(message)), message,
                              POLKIT_ACTION_MANAGE, STRV_MAKE("pf", pf->address), error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        r = sd_bus_message_read(message, "ut", &count, &flags);
        if (r < 0)
                return r;
        return set_num_vfs(message, pf, count, flags, PF_SETTINGS_WAIT_UNSET, error);
}

static int method_set_num_vfs_with_options(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        PhysicalFunction *pf = userdata;
        uint64_t flags, wait_usec = PF_SETTINGS_WAIT_UNSET;
        bool have_wait = false;
        uint32_t count;
        int r;

        r = manager_authorize(bus_current_manager(sd_bus_message_get_bus(message)), message,
                              POLKIT_ACTION_MANAGE, STRV_MAKE("pf", pf->address), error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        r = sd_bus_message_read(message, "ut", &count, &flags);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                if (!streq(key, SRIOVD_OPTION_WAIT_USEC))
                        return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT, "Unknown option '%s'",
                                                 key);
                if (have_wait)
                        return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT,
                                                 "Option " SRIOVD_OPTION_WAIT_USEC " given twice");
                have_wait = true;
                r = sd_bus_message_read(message, "v", "t", &wait_usec);
                if (r < 0)
                        return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT,
                                                 "Option " SRIOVD_OPTION_WAIT_USEC " expects type t");
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;
        return set_num_vfs(message, pf, count, flags, wait_usec, error);
}

/* SetVirtualFunctionPolicy() and VirtualFunction.SetPolicy(), once the sender is authorized and the
 * index read: the rest of the message is a{sv} and flags. */
int bus_set_vf_policy(sd_bus_message *message, PhysicalFunction *pf, unsigned index, sd_bus_error *error) {
        _cleanup_(request_unrefp) Request *req = NULL;
        _cleanup_free_ char *refusal = NULL;
        VfPolicy keys = {};
        uint64_t flags;
        int r;

        r = policy_from_bus_message(message, &keys, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~SRIOVD_POLICY_FLAGS_ALL)
                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT, "Unknown flags 0x%" PRIx64,
                                         flags & ~SRIOVD_POLICY_FLAGS_ALL);

        req = bus_request_new(bus_current_manager(sd_bus_message_get_bus(message)), message);
        if (!req)
                return -ENOMEM;
        r = pf_set_vf_policy(pf, index, &keys, settings_flags(flags), req, &refusal);
        if (r < 0)
                return bus_error_from_model(error, r, refusal);
        request_arm(req);
        return 1;
}

static int method_set_vf_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        PhysicalFunction *pf = userdata;
        char vf[DECIMAL_STR_MAX(uint32_t)];
        uint32_t index;
        int r;

        /* the index first, so that polkit rules see the VF, as for SetPolicy() on the VF's object */
        r = sd_bus_message_read(message, "u", &index);
        if (r < 0)
                return r;
        snprintf(vf, sizeof vf, "%" PRIu32, index);
        r = manager_authorize(bus_current_manager(sd_bus_message_get_bus(message)), message,
                              POLKIT_ACTION_MANAGE, STRV_MAKE("pf", pf->address, "vf", vf), error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        return bus_set_vf_policy(message, userdata, index, error);
}

static int method_forget(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(request_unrefp) Request *req = NULL;
        _cleanup_free_ char *refusal = NULL;
        Manager *m = bus_current_manager(sd_bus_message_get_bus(message));
        int r;

        r = manager_authorize(m, message, POLKIT_ACTION_MANAGE,
                              STRV_MAKE("pf", ((PhysicalFunction *) userdata)->address), error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        req = bus_request_new(m, message);
        if (!req)
                return -ENOMEM;
        r = pf_forget(userdata, req, &refusal);
        if (r < 0)
                return bus_error_from_model(error, r, refusal);
        request_arm(req);
        return 1;
}

const sd_bus_vtable pf_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PciAddress", "s", property_get_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Interface", "s", property_get_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Driver", "s", property_get_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VendorId", "q", NULL, offsetof(PhysicalFunction, vendor_id),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DeviceId", "q", NULL, offsetof(PhysicalFunction, device_id),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Vendor", "s", property_get_vendor, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Model", "s", property_get_model, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TotalVFs", "u", NULL, offsetof(PhysicalFunction, total_vfs),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NumVFs", "u", NULL, offsetof(PhysicalFunction, num_vfs),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DesiredNumVFs", "i", NULL, offsetof(PhysicalFunction, desired_num_vfs),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DriversAutoprobe", "b", property_get_autoprobe, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VirtualFunctions", "ao", property_get_vfs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastErrorTimestamp", "t", NULL, offsetof(PhysicalFunction, last_error_usec),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigSource", "s", property_get_config_source, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("SetNumVFs", SD_BUS_ARGS("u", count, "t", flags), SD_BUS_NO_RESULT,
                                method_set_num_vfs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetNumVFsWithOptions",
                                SD_BUS_ARGS("u", count, "t", flags, "a{sv}", options), SD_BUS_NO_RESULT,
                                method_set_num_vfs_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetVirtualFunctionPolicy",
                                SD_BUS_ARGS("u", index, "a{sv}", policy, "t", flags), SD_BUS_NO_RESULT,
                                method_set_vf_policy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Forget", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_forget,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int pf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        PhysicalFunction *pf = manager_find_pf_by_path(userdata, path);

        if (!pf)
                return 0;
        *found = pf;
        return 1;
}
