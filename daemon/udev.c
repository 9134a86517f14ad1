/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>

#include "names.h"
#include "udev.h"
#include "util.h"

static int monitor_setup(struct udev *udev, const char *source, bool net, size_t buffer_size,
                         struct udev_monitor **ret) {
        struct udev_monitor *mon;
        int r;

        mon = udev_monitor_new_from_netlink(udev, source);
        if (!mon)
                return negative_errno();
        r = udev_monitor_filter_add_match_subsystem_devtype(mon, "pci", NULL);
        if (r >= 0 && net)
                r = udev_monitor_filter_add_match_subsystem_devtype(mon, "net", NULL);
        if (r >= 0)
                r = udev_monitor_enable_receiving(mon);
        if (r < 0) {
                udev_monitor_unref(mon);
                return r;
        }
        (void) udev_monitor_set_receive_buffer_size(mon, (int) MIN(buffer_size, (size_t) INT_MAX));
        *ret = mon;
        return 0;
}

int udev_monitor_setup(struct udev *udev, size_t buffer_size, struct udev_monitor **ret) {
        return monitor_setup(udev, "udev", true, buffer_size, ret);
}

int udev_kernel_monitor_setup(struct udev *udev, size_t buffer_size, struct udev_monitor **ret) {
        return monitor_setup(udev, "kernel", false, buffer_size, ret);
}

int udev_enumerate_pfs(struct udev *udev, UdevDeviceFunc f, void *userdata) {
        struct udev_enumerate *e;
        struct udev_list_entry *item;
        int r;

        e = udev_enumerate_new(udev);
        if (!e)
                return negative_errno();
        r = udev_enumerate_add_match_subsystem(e, "pci");
        if (r >= 0)
                r = udev_enumerate_add_match_sysattr(e, SYSFS_SRIOV_TOTALVFS, NULL);
        if (r >= 0)
                r = udev_enumerate_scan_devices(e);
        if (r < 0) {
                udev_enumerate_unref(e);
                return r;
        }
        udev_list_entry_foreach(item, udev_enumerate_get_list_entry(e)) {
                struct udev_device *d = udev_device_new_from_syspath(udev, udev_list_entry_get_name(item));
                if (!d)
                        continue;
                f(d, NULL, userdata);
                udev_device_unref(d);
        }
        udev_enumerate_unref(e);
        return 0;
}

struct udev_device *udev_device_pci_parent(struct udev_device *d) {
        return udev_device_get_parent_with_subsystem_devtype(d, "pci", NULL);
}
