/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "lease.h"
#include "manager.h"
#include "names.h"
#include "polkit.h"

static int property_get_vf(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;
        PhysicalFunction *pf = manager_find_pf(l->manager, l->pf_address);
        VirtualFunction *vf = pf ? pf_get_vf(pf, l->vf_index) : NULL;

        return sd_bus_message_append(reply, "o", vf ? vf->object_path : "/");
}

static int property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;

        return sd_bus_message_append(reply, "s",
                                     strempty(streq(property, "Owner") ? l->owner : l->consumer));
}

static int property_get_persistent(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        Lease *l = userdata;

        return sd_bus_message_append(reply, "b", l->persistent);
}

static int method_release(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Lease *l = userdata;
        int r;

        r = manager_authorize(l->manager, message, POLKIT_ACTION_LEASE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        r = lease_release(l, message);
        return r < 0 ? r : 1;
}

const sd_bus_vtable lease_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("VirtualFunction", "o", property_get_vf, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Consumer", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Owner", "s", property_get_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Persistent", "b", property_get_persistent, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedAt", "t", NULL, offsetof(Lease, created_at), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Release", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_release,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int lease_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        Lease *l = manager_find_lease_by_path(userdata, path);

        if (!l)
                return 0;
        *found = l;
        return 1;
}

int lease_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes,
                          sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;

        for (size_t i = 0; i < m->n_leases; i++)
                if (strv_extend(&l, m->leases[i]->object_path) < 0)
                        return -ENOMEM;
        *nodes = TAKE_PTR(l);
        return 1;
}
