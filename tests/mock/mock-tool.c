/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A tiny client of the mock testbed used by the harness' own self-tests, run under the same preloads
 * as sriovd:
 *   mock-tool write PATH VALUE [raw|pwrite|fopen|fdopen|libudev]
 *                                  prints "OK <bytes>" or "ERR <errno> <name>"
 *   mock-tool monitor SECONDS COUNT [STALL_MS]
 *                                  libudev "udev" monitor on pci and net; prints "READY" once listening,
 *                                  then "<action> <subsystem> <devpath> [DRIVER=..]" per event and exits
 *                                  after COUNT events or SECONDS; STALL_MS: sleep before reading
 *   mock-tool enumerate            prints "<syspath> <sriov_numvfs>" for every PCI device with
 *                                  sriov_totalvfs, as sriovd's coldplug sees them
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libudev.h>

#define streq(a, b) (strcmp((a), (b)) == 0)

static int report(ssize_t k, int e) {
        if (k < 0) {
                printf("ERR %d %s\n", e, strerrorname_np(e) ?: "?");
                return 1;
        }
        printf("OK %zd\n", k);
        return 0;
}

static int do_write(const char *path, const char *value, const char *how) {
        size_t l = strlen(value);
        ssize_t k;
        int fd;

        if (streq(how, "fopen")) {
                FILE *f = fopen(path, "we");
                if (!f)
                        return report(-1, errno);
                k = fputs(value, f) < 0 ? -1 : (ssize_t) l;
                if (k >= 0 && fflush(f) != 0)
                        k = -1;
                int e = errno;
                fclose(f);
                return report(k, e);
        }
        if (streq(how, "libudev")) {
                /* the path is "<syspath>/<attr>" */
                char *dir = strdup(path), *attr = strrchr(dir, '/');
                struct udev *udev = udev_new();
                struct udev_device *d;
                int r;

                *attr++ = '\0';
                d = udev_device_new_from_syspath(udev, dir);
                if (!d)
                        return report(-1, errno);
                r = udev_device_set_sysattr_value(d, attr, value);
                udev_device_unref(d);
                udev_unref(udev);
                free(dir);
                return report(r < 0 ? -1 : (ssize_t) l, -r);
        }

        fd = open(path, O_WRONLY | O_CLOEXEC | (streq(how, "raw") ? O_TRUNC : 0));
        if (fd < 0)
                return report(-1, errno);
        if (streq(how, "fdopen")) {
                FILE *f = fdopen(fd, "w");
                if (!f)
                        return report(-1, errno);
                setvbuf(f, NULL, _IONBF, 0);
                k = fputs(value, f) < 0 ? -1 : (ssize_t) l;
                int e = errno;
                fclose(f);
                return report(k, e);
        }
        if (streq(how, "pwrite"))
                k = pwrite(fd, value, l, 0);
        else
                k = write(fd, value, l);
        int e = errno;
        close(fd);
        return report(k, e);
}

static int do_monitor(int seconds, int count, int stall_ms) {
        struct udev *udev = udev_new();
        struct udev_monitor *m = udev_monitor_new_from_netlink(udev, "udev");
        time_t end = time(NULL) + seconds;
        int n = 0;

        if (!m) {
                fprintf(stderr, "cannot create monitor: %m\n");
                return 1;
        }
        udev_monitor_filter_add_match_subsystem_devtype(m, "pci", NULL);
        udev_monitor_filter_add_match_subsystem_devtype(m, "net", NULL);
        if (udev_monitor_enable_receiving(m) < 0) {
                fprintf(stderr, "cannot enable monitor: %m\n");
                return 1;
        }
        printf("READY\n");
        fflush(stdout);
        /* a slow reader: the sender must wait for it, not drop or abort */
        if (stall_ms > 0)
                usleep(stall_ms * 1000);

        while (n < count && time(NULL) < end) {
                struct pollfd p = {.fd = udev_monitor_get_fd(m), .events = POLLIN};
                struct udev_device *d;

                if (poll(&p, 1, 200) <= 0)
                        continue;
                d = udev_monitor_receive_device(m);
                if (!d)
                        continue;
                printf("%s %s %s%s%s\n", udev_device_get_action(d), udev_device_get_subsystem(d),
                       udev_device_get_devpath(d), udev_device_get_driver(d) ? " DRIVER=" : "",
                       udev_device_get_driver(d) ?: "");
                fflush(stdout);
                udev_device_unref(d);
                n++;
        }
        udev_monitor_unref(m);
        udev_unref(udev);
        return n >= count ? 0 : 1;
}

static int do_enumerate(void) {
        struct udev *udev = udev_new();
        struct udev_enumerate *e = udev_enumerate_new(udev);
        struct udev_list_entry *i;

        udev_enumerate_add_match_subsystem(e, "pci");
        udev_enumerate_add_match_sysattr(e, "sriov_totalvfs", NULL);
        udev_enumerate_scan_devices(e);
        udev_list_entry_foreach(i, udev_enumerate_get_list_entry(e)) {
                struct udev_device *d = udev_device_new_from_syspath(udev, udev_list_entry_get_name(i));
                if (!d)
                        continue;
                printf("%s %s\n", udev_device_get_sysname(d),
                       udev_device_get_sysattr_value(d, "sriov_numvfs") ?: "-");
                udev_device_unref(d);
        }
        udev_enumerate_unref(e);
        udev_unref(udev);
        return 0;
}

int main(int argc, char **argv) {
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (argc >= 4 && streq(argv[1], "write"))
                return do_write(argv[2], argv[3], argc >= 5 ? argv[4] : "raw");
        if ((argc == 4 || argc == 5) && streq(argv[1], "monitor"))
                return do_monitor(atoi(argv[2]), atoi(argv[3]), argc == 5 ? atoi(argv[4]) : 0);
        if (argc == 2 && streq(argv[1], "enumerate"))
                return do_enumerate();
        fprintf(stderr, "usage: mock-tool write PATH VALUE [raw|pwrite|fopen|fdopen|libudev] | monitor "
                        "SECONDS COUNT [STALL_MS] | enumerate\n");
        return 2;
}
