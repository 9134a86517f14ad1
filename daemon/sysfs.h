/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Thin readers of a PCI device's sysfs directory. They log at debug level at most. */
int sysfs_read_uint(const char *devpath, const char *attr, unsigned *ret);
int sysfs_read_hex16(const char *devpath, const char *attr, unsigned short *ret);
/* The last component of the symlink devpath/attr ("driver" -> "igb"); -ENOENT when missing. */
int sysfs_read_link_name(const char *devpath, const char *attr, char **ret);
/* The first entry of devpath/net/, the device's network interface; -ENOENT when it has none. */
int sysfs_read_interface(const char *devpath, char **ret);
bool sysfs_attr_exists(const char *devpath, const char *attr);
/* An attribute of the device's network interface ifname (devpath/net/ifname/attr), one line. */
int sysfs_read_netdev_attr(const char *devpath, const char *ifname, const char *attr, char **ret);
/* Whether the device's network interface is administratively up (IFF_UP in its flags). */
bool sysfs_netdev_is_up(const char *devpath, const char *ifname);

/* Blocking write of one attribute. The kernel can take seconds to answer a write of sriov_numvfs, so
 * this is only called from job threads, never on the event loop. */
int sysfs_write_attr(const char *devpath, const char *attr, const char *value);
