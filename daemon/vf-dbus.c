/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-call.h"
#include "bus-errors.h"
#include "names.h"
#include "pf-dbus.h"
#include "polkit.h"
#include "vf-dbus.h"

#define DEFINE_VF_STRING_GETTER(name, expr)                                                         \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface,        \
                                       const char *property, sd_bus_message *reply, void *userdata, \
                                       sd_bus_error *error) {                                       \
                VirtualFunction *vf = userdata;                                                     \
                return bus_append_string(reply, expr);                                              \
        }

DEFINE_VF_STRING_GETTER(address, vf->address);
DEFINE_VF_STRING_GETTER(interface, vf->interface);
DEFINE_VF_STRING_GETTER(driver, vf->driver);
DEFINE_VF_STRING_GETTER(state, vf_state_to_string(vf->state));
DEFINE_VF_STRING_GETTER(last_error, vf->last_error);

static int property_get_mac(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VirtualFunction *vf = userdata;
        char buf[18];

        return sd_bus_message_append_basic(
                reply, 's',
                POLICY_HAS(&vf->actual, POLICY_MAC_ADDRESS) ? policy_format_mac(&vf->actual.mac, buf) : "");
}

static int property_get_vlan_protocol(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error) {
        VirtualFunction *vf = userdata;

        return sd_bus_message_append_basic(reply, 's', vlan_protocol_to_string(vf->actual.vlan_protocol));
}

static int property_get_link_state(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        VirtualFunction *vf = userdata;

        return sd_bus_message_append_basic(reply, 's', link_state_to_string(vf->actual.link_state));
}

static int property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VirtualFunction *vf = userdata;
        int b = streq(property, "Trust") ? vf->actual.trust : vf->actual.spoof_check;

        return sd_bus_message_append_basic(reply, 'b', &b);
}

/* 0 when the VF has no netdev (vfio-pci, no driver): it has no MTU then, whatever its policy says. */
static int property_get_mtu(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VirtualFunction *vf = userdata;

        return sd_bus_message_append(reply, "u",
                                     POLICY_HAS(&vf->actual, POLICY_MTU) ? vf->actual.mtu : UINT32_C(0));
}

/* "" when the kernel does not report it: only InfiniBand PF drivers do, since Linux 5.5. */
static int property_get_guid(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VirtualFunction *vf = userdata;
        PolicyKey k = streq(property, "NodeGUID") ? POLICY_NODE_GUID : POLICY_PORT_GUID;
        char buf[24];

        if (!POLICY_HAS(&vf->actual, k))
                return sd_bus_message_append(reply, "s", "");
        return sd_bus_message_append(
                reply, "s",
                policy_format_guid(k == POLICY_NODE_GUID ? vf->actual.node_guid : vf->actual.port_guid,
                                   buf));
}

static int property_get_lease(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VirtualFunction *vf = userdata;
        Lease *l = lease_table_find_for_vf(&bus_current_manager(bus)->leases, vf->pf_address, vf->index);

        return sd_bus_message_append_basic(reply, 'o', l ? l->object_path : "/");
}

static int property_get_policy(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        VirtualFunction *vf = userdata;

        return policy_append_to_bus_message(reply, &vf->policy);
}

static int method_set_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = bus_current_manager(sd_bus_message_get_bus(message));
        VirtualFunction *vf = userdata;
        PhysicalFunction *pf = manager_find_pf(m, vf->pf_address);
        char index[DECIMAL_STR_MAX(unsigned)];
        int r;

        snprintf(index, sizeof index, "%u", vf->index);
        r = manager_authorize(m, message, POLKIT_ACTION_MANAGE, STRV_MAKE("pf", vf->pf_address, "vf", index),
                              error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        if (!pf)
                return sd_bus_error_setf(error, SRIOVD_ERROR_NO_SUCH_DEVICE, "The PF of VF %u is gone",
                                         vf->index);
        return bus_set_vf_policy(message, pf, vf->index, error);
}

const sd_bus_vtable vf_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Index", "u", NULL, offsetof(VirtualFunction, index), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PciAddress", "s", property_get_address, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Interface", "s", property_get_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Driver", "s", property_get_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MACAddress", "s", property_get_mac, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VLANId", "q", NULL, offsetof(VirtualFunction, actual.vlan),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("QualityOfService", "u", NULL, offsetof(VirtualFunction, actual.qos),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VLANProtocol", "s", property_get_vlan_protocol, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MACSpoofCheck", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Trust", "b", property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LinkState", "s", property_get_link_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MinTxRate", "u", NULL, offsetof(VirtualFunction, actual.min_tx_rate),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MaxTxRate", "u", NULL, offsetof(VirtualFunction, actual.max_tx_rate),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MTU", "u", property_get_mtu, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NodeGUID", "s", property_get_guid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PortGUID", "s", property_get_guid, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IommuGroup", "i", NULL, offsetof(VirtualFunction, iommu_group),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Lease", "o", property_get_lease, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Policy", "a{sv}", property_get_policy, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("SetPolicy", SD_BUS_ARGS("a{sv}", policy, "t", flags), SD_BUS_NO_RESULT,
                                method_set_policy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int vf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        VirtualFunction *vf = manager_find_vf_by_path(userdata, path);

        if (!vf)
                return 0;
        *found = vf;
        return 1;
}
