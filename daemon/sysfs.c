/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>

#include "names.h"
#include "sysfs.h"
#include "util.h"

int sysfs_read_uint(const char *devpath, const char *attr, unsigned *ret) {
        _cleanup_free_ char *p = NULL, *s = NULL;
        int r;

        p = path_join(devpath, attr);
        if (!p)
                return -ENOMEM;
        r = read_one_line_file(p, &s);
        if (r < 0)
                return r;
        return safe_atou(strstrip(s), ret);
}

int sysfs_read_hex16(const char *devpath, const char *attr, unsigned short *ret) {
        _cleanup_free_ char *p = NULL, *s = NULL;
        unsigned long v;
        char *end;
        int r;

        p = path_join(devpath, attr);
        if (!p)
                return -ENOMEM;
        r = read_one_line_file(p, &s);
        if (r < 0)
                return r;
        errno = 0;
        v = strtoul(strstrip(s), &end, 16);
        if (errno > 0 || *end != 0 || v > 0xffff)
                return -EINVAL;
        *ret = (unsigned short) v;
        return 0;
}

int sysfs_read_link_name(const char *devpath, const char *attr, char **ret) {
        _cleanup_free_ char *p = path_join(devpath, attr);

        if (!p)
                return -ENOMEM;
        return readlink_value(p, ret);
}

int sysfs_read_interface(const char *devpath, char **ret) {
        _cleanup_free_ char *p = NULL;
        DIR *d;
        struct dirent *de;
        char *name = NULL;

        p = path_join(devpath, SYSFS_NET);
        if (!p)
                return -ENOMEM;
        d = opendir(p);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                /* several netdevs on one function are rare; take the first by name for stable output */
                if (!name || strcmp(de->d_name, name) < 0) {
                        free(name);
                        name = strdup(de->d_name);
                        if (!name)
                                break;
                }
        }
        closedir(d);
        if (!name)
                return -ENOENT;
        *ret = name;
        return 0;
}

bool sysfs_attr_exists(const char *devpath, const char *attr) {
        _cleanup_free_ char *p = path_join(devpath, attr);

        return p && access(p, F_OK) == 0;
}

int sysfs_write_attr(const char *devpath, const char *attr, const char *value) {
        _cleanup_free_ char *p = path_join(devpath, attr);

        if (!p)
                return -ENOMEM;
        return write_string_file(p, value);
}

int sysfs_read_netdev_attr(const char *devpath, const char *ifname, const char *attr, char **ret) {
        _cleanup_free_ char *p = strjoin(devpath, "/" SYSFS_NET "/", ifname, "/", attr);

        if (!p)
                return -ENOMEM;
        return read_one_line_file(p, ret);
}

bool sysfs_netdev_is_up(const char *devpath, const char *ifname) {
        _cleanup_free_ char *flags = NULL;
        unsigned long f;
        char *end;

        if (isempty(ifname) || sysfs_read_netdev_attr(devpath, ifname, "flags", &flags) < 0)
                return false;
        errno = 0;
        f = strtoul(flags, &end, 16);
        return errno == 0 && end != flags && (f & 0x1); /* IFF_UP */
}
