/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Formats the <interface type='hostdev' managed='yes'> element that hands the VF at pci_address
 * ("0000:01:10.2" or "01:10.2") to a libvirt domain. mac NULL, "" or 00:00:00:00:00:00 omits <mac>
 * (libvirt then picks one), vlan 0 omits <vlan>. The element ends with a newline.
 * Returns 0, -EINVAL for a malformed address, MAC or a VLAN above 4095, or -ENOMEM. */
int libvirt_xml_format(const char *pci_address, const char *mac, unsigned vlan, char **ret);
