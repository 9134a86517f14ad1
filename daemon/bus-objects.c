/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-objects.h"
#include "lease-dbus.h"
#include "log.h"
#include "names.h"
#include "pf-dbus.h"
#include "vf-dbus.h"

/* GetManagedObjects of sd-bus' own object manager costs several times what appending the reply
 * does: it asks the node enumerators for every path, copies each into a hash set, then for each
 * path looks up every prefix's node and calls every fallback vtable's find function before it
 * appends the properties. With 4,096 VFs that is most of the call. This handler walks the model's
 * tables instead and appends each property as sd-bus does (vtable order, the same getters), so the
 * reply is the same: objects in the order sd-bus lists them (leases, then each PF followed by its
 * VFs), each with the three interfaces sd-bus gives every object it serves. */

static const char *const standard_interfaces[] = {
        "org.freedesktop.DBus.Peer",
        "org.freedesktop.DBus.Introspectable",
        "org.freedesktop.DBus.Properties",
};

/* A property without getter, as sd-bus appends it from the object's field. */
static int append_field(sd_bus_message *reply, const char *signature, const void *p) {
        if (streq(signature, "as"))
                return sd_bus_message_append_strv(reply, *(char ***) p);
        switch (signature[0]) {
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_SIGNATURE:
                return sd_bus_message_append_basic(reply, signature[0], strempty(*(char **) p));
        case SD_BUS_TYPE_OBJECT_PATH:
                return sd_bus_message_append_basic(reply, signature[0], *(char **) p);
        default:
                return sd_bus_message_append_basic(reply, signature[0], p);
        }
}

static int append_property(sd_bus *bus, sd_bus_message *reply, const char *path, const char *interface,
                           const sd_bus_vtable *v, void *object, sd_bus_error *error) {
        void *p = (uint8_t *) object + v->x.property.offset;
        int r;

        if (v->flags & SD_BUS_VTABLE_SENSITIVE) {
                r = sd_bus_message_sensitive(reply);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(reply, 's', v->x.property.member);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'v', v->x.property.signature);
        if (r < 0)
                return r;
        if (v->x.property.get) {
                r = v->x.property.get(bus, path, interface, v->x.property.member, reply, p, error);
                if (r >= 0 && sd_bus_error_is_set(error))
                        r = -sd_bus_error_get_errno(error);
        } else
                r = append_field(reply, v->x.property.signature, p);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int append_interface(sd_bus_message *reply, const char *interface) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(reply, 's', interface);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(reply, 'a', "{sv}");
}

static int close_interface(sd_bus_message *reply) {
        int r;

        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* One {oa{sa{sv}}} entry: what GetAll of each interface gives, as sd-bus lists it (no hidden
 * and no explicit properties). */
static int append_object(sd_bus *bus, sd_bus_message *reply, const char *path, const char *interface,
                         const sd_bus_vtable *vtable, void *object, sd_bus_error *error) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "oa{sa{sv}}");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(reply, 'o', path);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{sa{sv}}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(standard_interfaces); i++) {
                r = append_interface(reply, standard_interfaces[i]);
                if (r < 0)
                        return r;
                r = close_interface(reply);
                if (r < 0)
                        return r;
        }
        r = append_interface(reply, interface);
        if (r < 0)
                return r;
        if (!(vtable[0].flags & SD_BUS_VTABLE_HIDDEN))
                for (const sd_bus_vtable *v = vtable + 1; v->type != _SD_BUS_VTABLE_END; v++) {
                        if ((v->type != _SD_BUS_VTABLE_PROPERTY &&
                             v->type != _SD_BUS_VTABLE_WRITABLE_PROPERTY) ||
                            v->flags & (SD_BUS_VTABLE_HIDDEN | SD_BUS_VTABLE_PROPERTY_EXPLICIT))
                                continue;
                        r = append_property(bus, reply, path, interface, v, object, error);
                        if (r < 0)
                                return r;
                }
        r = close_interface(reply);
        if (r < 0)
                return r;
        return close_interface(reply);
}

static int append_objects(Manager *m, sd_bus_message *reply, sd_bus_error *error) {
        int r;

        for (size_t i = 0; i < m->leases.n_leases; i++) {
                Lease *l = m->leases.leases[i];

                r = append_object(m->bus, reply, l->object_path, SRIOVD_LEASE_INTERFACE, lease_vtable, l,
                                  error);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];

                r = append_object(m->bus, reply, pf->object_path, SRIOVD_PF_INTERFACE, pf_vtable, pf, error);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < pf->n_vfs; j++)
                        if (pf->vfs[j]) {
                                r = append_object(m->bus, reply, pf->vfs[j]->object_path,
                                                  SRIOVD_VF_INTERFACE, vf_vtable, pf->vfs[j], error);
                                if (r < 0)
                                        return r;
                        }
        }
        return 0;
}

/* Runs before sd-bus' own handling of every call on /io/sriovd; 0 passes a call on to it. */
static int object_manager_handler(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        if (!sd_bus_message_is_method_call(message, "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects"))
                return 0;
        if (!isempty(sd_bus_message_get_signature(message, true)))
                return sd_bus_reply_method_errorf(message, SD_BUS_ERROR_INVALID_ARGS,
                                                  "Expected no parameters");

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        r = append_objects(m, reply, error);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        r = sd_bus_send(NULL, reply, NULL);
        return r < 0 ? r : 1;
}

int bus_add_object_manager(Manager *m) {
        int r;

        r = sd_bus_add_object_manager(m->bus, NULL, SRIOVD_MANAGER_PATH);
        if (r < 0)
                return log_error_errno(r, "Failed to add object manager: %m");
        /* a callback on the path runs before sd-bus looks at vtables and its own interfaces */
        r = sd_bus_add_object(m->bus, NULL, SRIOVD_MANAGER_PATH, object_manager_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add GetManagedObjects handler: %m");
        return 0;
}
