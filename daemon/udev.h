/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libudev.h>

/* A monitor of udev's processed events for the pci and net subsystems; started before enumerating,
 * so that nothing between enumeration and the first event is missed. */
/* buffer_size: the socket's receive buffer; events beyond it are lost (ENOBUFS). */
int udev_monitor_setup(struct udev *udev, size_t buffer_size, struct udev_monitor **ret);
/* A monitor of the kernel's own uevents for the pci subsystem, as the kernel sends them: before udevd
 * has run its rules (and renamed the netdev of a new PF), which for a hot-added PF under load takes
 * seconds. */
int udev_kernel_monitor_setup(struct udev *udev, size_t buffer_size, struct udev_monitor **ret);

typedef void (*UdevDeviceFunc)(struct udev_device *d, const char *action, void *userdata);
/* Calls f for every PCI device that is SR-IOV capable (has sriov_totalvfs), with action NULL. */
int udev_enumerate_pfs(struct udev *udev, UdevDeviceFunc f, void *userdata);

/* The PCI device a net device belongs to, or NULL. */
struct udev_device *udev_device_pci_parent(struct udev_device *d);
