/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

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

static int compare_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* libudev's enumeration with a sysattr match builds a device object for every PCI device, a few
 * syscalls each, and reads the attribute: with thousands of VFs that is most of a re-read after lost
 * uevents. One faccessat() per device finds the PFs; only they become udev devices. */
int udev_enumerate_pfs(struct udev *udev, UdevDeviceFunc f, void *userdata) {
        _cleanup_strv_free_ char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *dir;

        dir = opendir(SYSFS_PCI_DEVICES);
        /* no PCI bus at all: no PF, as libudev's enumeration would say */
        if (!dir)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(dir))) {
                char attr[NAME_MAX + sizeof("/" SYSFS_SRIOV_TOTALVFS)];

                if (de->d_name[0] == '.')
                        continue;
                snprintf(attr, sizeof attr, "%s/" SYSFS_SRIOV_TOTALVFS, de->d_name);
                if (faccessat(dirfd(dir), attr, F_OK, 0) < 0)
                        continue;
                if (strv_extend(&names, de->d_name) < 0) {
                        closedir(dir);
                        return -ENOMEM;
                }
                n++;
        }
        closedir(dir);
        /* in address order, whatever order the directory has */
        if (n > 1)
                qsort(names, n, sizeof *names, compare_names);
        for (size_t i = 0; i < n; i++) {
                struct udev_device *d = udev_device_new_from_subsystem_sysname(udev, "pci", names[i]);
                if (!d)
                        continue;
                f(d, NULL, userdata);
                udev_device_unref(d);
        }
        return 0;
}

struct udev_device *udev_device_pci_parent(struct udev_device *d) {
        return udev_device_get_parent_with_subsystem_devtype(d, "pci", NULL);
}
