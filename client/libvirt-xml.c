/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>

#include "libvirt-xml.h"
#include "util.h"

#define VLAN_ID_MAX 4095U

/* Copies a MAC address in lower case; -EINVAL unless it is six colon-separated hex octets. */
static int mac_normalize(const char *s, char ret[static 18]) {
        if (strlen(s) != 17)
                return -EINVAL;
        for (size_t i = 0; i < 17; i++) {
                if (i % 3 == 2) {
                        if (s[i] != ':')
                                return -EINVAL;
                } else if (!isxdigit((unsigned char) s[i]))
                        return -EINVAL;
                ret[i] = (char) tolower((unsigned char) s[i]);
        }
        ret[17] = 0;
        return 0;
}

int libvirt_xml_format(const char *pci_address, const char *mac, unsigned vlan, char **ret) {
        _cleanup_free_ char *mac_line = NULL, *vlan_lines = NULL;
        char address[PCI_ADDRESS_MAX], mac_norm[18];
        unsigned domain, bus, slot, function;
        char *s;
        int r;

        if (!pci_address || !ret)
                return -EINVAL;

        r = pci_address_normalize(pci_address, address);
        if (r < 0)
                return r;
        if (sscanf(address, "%x:%2x:%2x.%1x", &domain, &bus, &slot, &function) != 4)
                return -EINVAL;

        if (vlan > VLAN_ID_MAX)
                return -EINVAL;

        /* The kernel reports a VF without an administrative MAC as all zeroes; libvirt would refuse
         * that address, and without <mac> it generates one of its own. */
        if (!isempty(mac)) {
                r = mac_normalize(mac, mac_norm);
                if (r < 0)
                        return r;
                if (!streq(mac_norm, "00:00:00:00:00:00") &&
                    asprintf(&mac_line, "  <mac address='%s'/>\n", mac_norm) < 0)
                        return -ENOMEM;
        }

        if (vlan > 0 && asprintf(&vlan_lines, "  <vlan>\n    <tag id='%u'/>\n  </vlan>\n", vlan) < 0)
                return -ENOMEM;

        if (asprintf(&s,
                     "<interface type='hostdev' managed='yes'>\n"
                     "%s"
                     "  <source>\n"
                     "    <address type='pci' domain='0x%04x' bus='0x%02x' slot='0x%02x' function='0x%x'/>\n"
                     "  </source>\n"
                     "%s"
                     "</interface>\n",
                     strempty(mac_line), domain, bus, slot, function, strempty(vlan_lines)) < 0)
                return -ENOMEM;

        *ret = s;
        return 0;
}
