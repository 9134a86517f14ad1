/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager.h"
#include "names.h"

#define DEFINE_VF_STRING_GETTER(name, expr)                                                         \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface,        \
                                       const char *property, sd_bus_message *reply, void *userdata, \
                                       sd_bus_error *error) {                                       \
                VirtualFunction *vf = userdata;                                                     \
                return sd_bus_message_append(reply, "s", strempty(expr));                           \
        }

DEFINE_VF_STRING_GETTER(address, vf->address);
DEFINE_VF_STRING_GETTER(interface, vf->interface);
DEFINE_VF_STRING_GETTER(driver, vf->driver);
DEFINE_VF_STRING_GETTER(state, vf_state_to_string(vf->state));
DEFINE_VF_STRING_GETTER(last_error, vf->last_error);

static int property_get_lease(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "o", "/");
}

static int property_get_policy(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VirtualFunction *vf = userdata;

        return policy_append_to_bus_message(reply, &vf->policy);
}

const sd_bus_vtable vf_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Index", "u", NULL, offsetof(VirtualFunction, index), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PciAddress", "s", property_get_address, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Interface", "s", property_get_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Driver", "s", property_get_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IommuGroup", "i", NULL, offsetof(VirtualFunction, iommu_group),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Lease", "o", property_get_lease, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Policy", "a{sv}", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_VTABLE_END,
};

int vf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        Manager *m = userdata;
        const char *slash;
        _cleanup_free_ char *pf_path = NULL;
        PhysicalFunction *pf;
        unsigned index;

        slash = strstr(path, "/vf/");
        if (!slash)
                return 0;
        pf_path = strndup(path, slash - path);
        if (!pf_path)
                return -ENOMEM;
        pf = manager_find_pf_by_path(m, pf_path);
        if (!pf || safe_atou(slash + 4, &index) < 0 || !pf_get_vf(pf, index))
                return 0;
        *found = pf_get_vf(pf, index);
        return 1;
}
