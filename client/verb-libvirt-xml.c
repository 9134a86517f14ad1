/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-props.h"
#include "libvirt-xml.h"
#include "names.h"
#include "sriovctl.h"

/* The VF's desired policy (its Policy property, a{sv}) as a bag of its keys. */
static int read_policy(sd_bus *bus, const char *path, PropertyBag *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_get_property(bus, SRIOVD_BUS_NAME, path, SRIOVD_VF_INTERFACE, "Policy", &error, &reply,
                                "a{sv}");
        if (r < 0)
                return log_error_errno(r, "Failed to read the policy of %s: %s", path,
                                       bus_error_message(&error, r));
        r = property_bag_read_dict(reply, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to parse the policy of %s: %m", path);
        return 0;
}

/* Finds the VF with the given Index among the PF's VirtualFunctions and reads all its properties,
 * and its policy into ret_policy. */
static int find_vf(sd_bus *bus, const char *device, char **vf_paths, unsigned index, PropertyBag *ret,
                   PropertyBag *ret_policy) {
        for (char **p = vf_paths; p && *p; p++) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(property_bag_done) PropertyBag vf = {};
                int r;

                r = property_bag_get_all(bus, *p, SRIOVD_VF_INTERFACE, &vf, &error);
                if (r < 0) {
                        /* A VF removed between listing and reading is simply not there. */
                        if (sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                            sd_bus_error_has_name(&error, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                                continue;
                        log_error("Failed to read properties of %s: %s", *p, bus_error_message(&error, r));
                        return r;
                }

                if (property_bag_int(&vf, "Index", -1) == (int64_t) index) {
                        /* a daemon from before the per-VF policy work has none */
                        if (property_bag_find(&vf, "Policy")) {
                                r = read_policy(bus, *p, ret_policy);
                                if (r < 0)
                                        return r;
                        }
                        *ret = vf;
                        vf = (PropertyBag){};
                        return 0;
                }
        }

        log_error("Physical function %s has no virtual function %u (it has %zu).", device, index,
                  strv_length(vf_paths));
        return -ENXIO;
}

int verb_libvirt_xml(int argc, char *argv[]) {
        _cleanup_(property_bag_done) PropertyBag pf = {}, vf = {}, policy = {};
        _cleanup_free_ char *xml = NULL;
        const char *device = argv[1], *address, *mac = NULL;
        const Property *p;
        unsigned index, vlan = 0;
        sd_bus *bus;
        int r;

        if (safe_atou(argv[2], &index) < 0)
                return log_usage("Invalid VF index '%s': expected a number.", argv[2]);
        if (arg_json)
                return log_usage("--json does not apply to 'libvirt-xml': it prints libvirt's XML.");

        r = acquire_pf(device, &bus, NULL, &pf);
        if (r < 0)
                return r;

        r = find_vf(bus, device, property_bag_strv(&pf, "VirtualFunctions"), index, &vf, &policy);
        if (r < 0)
                return r;

        address = property_bag_string(&vf, "PciAddress");
        if (isempty(address))
                return log_error_errno(ENODEV, "Virtual function %u of %s has no PCI address.", index,
                                       device);

        /* The policy's MAC address and VLAN, which sriovd keeps on the VF (and puts back if the domain
         * set others), or else what the VF has now; libvirt sets them when the domain starts. */
        p = property_bag_find(&policy, "MACAddress");
        if (!p || !p->string)
                p = property_bag_find(&vf, "MACAddress");
        if (p && p->string)
                mac = p->string;
        p = property_bag_find(&policy, "VLANId");
        if (!p)
                p = property_bag_find(&vf, "VLANId");
        if (p && p->integer > 0)
                vlan = (unsigned) p->integer;

        r = libvirt_xml_format(address, mac, vlan, &xml);
        if (r == -EINVAL)
                return log_error_errno(r,
                                       "Virtual function %u of %s reports an address, MAC or VLAN libvirt "
                                       "cannot take (%s, %s, %u).",
                                       index, device, address, strempty(mac), vlan);
        if (r < 0)
                return log_error_errno(r, "Failed to format the XML: %m");

        fputs(xml, stdout);
        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
}
