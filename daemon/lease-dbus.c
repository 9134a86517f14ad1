/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"
#include "lease-dbus.h"
#include "leasing.h"
#include "bus-call.h"
#include "bus-changes.h"
#include "names.h"
#include "polkit.h"

static int property_get_vf(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;
        PhysicalFunction *pf = l->vf_gone ? NULL : manager_find_pf(bus_current_manager(bus), l->pf_address);
        VirtualFunction *vf = pf ? pf_get_vf(pf, l->vf_index) : NULL;

        return sd_bus_message_append_basic(reply, 'o', vf ? vf->object_path : "/");
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;

        return sd_bus_message_append_basic(reply, 's',
                                           strempty(streq(property, "Owner") ? l->owner : l->consumer));
}

static int property_get_persistent(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        Lease *l = userdata;
        int b = l->persistent;

        return sd_bus_message_append_basic(reply, 'b', &b);
}

/* Answers a request with the lease and its VF, or a release with nothing. */
static void lease_reply(int error, const char *message, const char *lease_path, const char *vf_path,
                        void *userdata) {
        BusCall *c = userdata;

        if (error < 0 || !lease_path)
                bus_call_reply(c, error, message);
        else {
                bus_flush_changes(c->manager);
                (void) sd_bus_reply_method_return(c->message, "oo", lease_path, vf_path);
        }
        bus_call_free(c);
}

/* A lease is its owner's to release (a caller of the same user, authorized for leases), or an
 * admin's (authorized to manage). */
static int authorize_release(Manager *m, sd_bus_message *message, Lease *l, sd_bus_error *error) {
        char index[DECIMAL_STR_MAX(unsigned)];
        uid_t uid;
        bool own;

        snprintf(index, sizeof index, "%u", l->vf_index);
        own = bus_sender_uid(message, &uid) >= 0 && l->owner_uid != UID_INVALID && uid == l->owner_uid;
        return manager_authorize(m, message, own ? POLKIT_ACTION_LEASE : POLKIT_ACTION_MANAGE,
                                 STRV_MAKE("pf", l->pf_address, "vf", index, "consumer",
                                           strempty(l->consumer), "lease", l->id),
                                 error);
}

static int method_release(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = bus_current_manager(sd_bus_message_get_bus(message));
        Lease *l = userdata;
        BusCall *c;
        int r;

        r = authorize_release(m, message, l, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        c = bus_call_new(m, message);
        if (!c)
                return -ENOMEM;
        r = lease_release(m, l, (LeaseReplyTo){lease_reply, c});
        if (r < 0) {
                bus_call_free(c);
                if (r == -EBUSY)
                        return sd_bus_error_setf(error, SRIOVD_ERROR_BUSY, "Lease %s is being released",
                                                 l->id);
                return r;
        }
        return 1;
}

/* Reads the options a{sv}: Consumer, Persistent and policy keys. */
static int read_lease_options(sd_bus_message *message, LeaseRequest *req, sd_bus_error *error) {
        bool have_consumer = false, have_persistent = false;
        int r;

        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                /* as a policy key given twice: which one would the caller mean? */
                if ((streq(key, "Consumer") && have_consumer) ||
                    (streq(key, "Persistent") && have_persistent))
                        return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT,
                                                 "Option %s given twice", key);
                if (streq(key, "Consumer")) {
                        have_consumer = true;
                        r = sd_bus_message_read(message, "v", "s", &req->consumer);
                        if (r < 0)
                                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT,
                                                         "Option Consumer expects type s");
                } else if (streq(key, "Persistent")) {
                        int b;
                        have_persistent = true;
                        r = sd_bus_message_read(message, "v", "b", &b);
                        if (r < 0)
                                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT,
                                                         "Option Persistent expects type b");
                        req->persistent = b;
                } else {
                        r = policy_read_bus_value(message, key, &req->options, error);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(message);
}

int method_request_vf(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *refusal = NULL;
        LeaseRequest req = {.owner = sd_bus_message_get_sender(message)};
        Manager *m = userdata;
        PhysicalFunction *pf;
        BusCall *c;
        int r;

        /* the arguments first, so that polkit rules see the PF and the consumer asked for */
        r = sd_bus_message_read(message, "s", &req.selector);
        if (r < 0)
                return r;
        r = read_lease_options(message, &req, error);
        if (r < 0)
                return r;
        r = lease_request_check(&req, &refusal);
        if (r < 0)
                return bus_error_from_model(error, r, refusal);
        /* rules see the PF by its address, whichever way the selector names it */
        pf = isempty(req.selector) ? NULL : manager_find_pf(m, req.selector);
        r = manager_authorize(
                m, message, POLKIT_ACTION_LEASE,
                STRV_MAKE("pf", pf ? pf->address : req.selector, "consumer", strempty(req.consumer)), error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        r = bus_sender_uid(message, &req.owner_uid);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Failed to get the caller's user: %s", strerror(-r));

        c = bus_call_new(m, message);
        if (!c)
                return -ENOMEM;
        r = lease_request(m, &req, (LeaseReplyTo){lease_reply, c}, &refusal);
        if (r < 0) {
                bus_call_free(c);
                return bus_error_from_model(error, r, refusal);
        }
        return 1;
}

int method_list_leases(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        return bus_reply_paths(message, (void **) m->leases.leases, m->leases.n_leases,
                               offsetof(Lease, object_path));
}

const sd_bus_vtable lease_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("VirtualFunction", "o", property_get_vf, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Consumer", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Persistent", "b", property_get_persistent, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedAt", "t", NULL, offsetof(Lease, created_at), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ReleaseDeadline", "t", NULL, offsetof(Lease, release_deadline),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_release,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("ReleaseRequested", SD_BUS_ARGS("t", deadline), 0),
        SD_BUS_VTABLE_END,
};

int lease_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        Manager *m = userdata;
        Lease *l = lease_table_find_by_path(&m->leases, path);

        if (!l)
                return 0;
        *found = l;
        return 1;
}

int lease_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                          sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;

        for (size_t i = 0; i < m->leases.n_leases; i++)
                if (strv_extend(&l, m->leases.leases[i]->object_path) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 1;
}
