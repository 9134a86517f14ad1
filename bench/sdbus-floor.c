/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What sd-bus alone costs to append a GetManagedObjects reply of N VF objects, shaped as sriovd's
 * (each object: its path, three empty interfaces and the 18 properties of io.sriovd1.VirtualFunction,
 * every one a dict entry holding a variant), with the typed appends daemon/bus-objects.c uses. No bus,
 * no daemon: the floor under sriovd's own CPU per GetManagedObjects.
 *
 *   sdbus-floor N
 *
 * Prints one JSON object: the median CPU milliseconds of 5 builds. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <systemd/sd-bus.h>
#include <time.h>

static const struct {
        const char *name;
        char type;
} props[] = {
        {"Index", 'u'},
        {"PciAddress", 's'},
        {"Interface", 's'},
        {"Driver", 's'},
        {"MACAddress", 's'},
        {"VLANId", 'q'},
        {"QualityOfService", 'u'},
        {"VLANProtocol", 's'},
        {"MACSpoofCheck", 'b'},
        {"Trust", 'b'},
        {"LinkState", 's'},
        {"MinTxRate", 'u'},
        {"MaxTxRate", 'u'},
        {"IommuGroup", 'i'},
        {"Lease", 'o'},
        {"Policy", 'a'},
        {"State", 's'},
        {"LastError", 's'},
};

static const char *const standard[] = {
        "org.freedesktop.DBus.Peer",
        "org.freedesktop.DBus.Introspectable",
        "org.freedesktop.DBus.Properties",
};

static double cpu_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int append_value(sd_bus_message *m, char type) {
        static const uint32_t u = 0;
        static const int b = 0;
        char sig[2] = {type, 0};
        int r;

        if (type == 'a') {
                r = sd_bus_message_open_container(m, 'v', "a{sv}");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                return r < 0 ? r : sd_bus_message_close_container(m);
        }
        r = sd_bus_message_open_container(m, 'v', sig);
        if (r < 0)
                return r;
        switch (type) {
        case 's':
                r = sd_bus_message_append_basic(m, 's', "0000:01:10.0");
                break;
        case 'o':
                r = sd_bus_message_append_basic(m, 'o', "/");
                break;
        case 'b':
                r = sd_bus_message_append_basic(m, 'b', &b);
                break;
        default:
                r = sd_bus_message_append_basic(m, type, &u);
        }
        return r < 0 ? r : sd_bus_message_close_container(m);
}

static int build(sd_bus *bus, int n) {
        sd_bus_message *m = NULL;
        char path[64];
        int r;

        r = sd_bus_message_new_signal(bus, &m, "/io/sriovd", "org.freedesktop.DBus.ObjectManager", "Floor");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{oa{sa{sv}}}");
        for (int i = 0; r >= 0 && i < n; i++) {
                snprintf(path, sizeof path, "/io/sriovd/pf/_30000_3a%02x_3a00_2e0/vf/%d", i / 256, i % 256);
                r = sd_bus_message_open_container(m, 'e', "oa{sa{sv}}");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 'o', path);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sa{sv}}");
                for (size_t j = 0; r >= 0 && j < sizeof standard / sizeof standard[0] + 1; j++) {
                        r = sd_bus_message_open_container(m, 'e', "sa{sv}");
                        if (r >= 0)
                                r = sd_bus_message_append_basic(
                                        m, 's', j < 3 ? standard[j] : "io.sriovd1.VirtualFunction");
                        if (r >= 0)
                                r = sd_bus_message_open_container(m, 'a', "{sv}");
                        for (size_t k = 0; r >= 0 && j == 3 && k < sizeof props / sizeof props[0]; k++) {
                                r = sd_bus_message_open_container(m, 'e', "sv");
                                if (r >= 0)
                                        r = sd_bus_message_append_basic(m, 's', props[k].name);
                                if (r >= 0)
                                        r = append_value(m, props[k].type);
                                if (r >= 0)
                                        r = sd_bus_message_close_container(m);
                        }
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                }
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        sd_bus_message_unref(m);
        return r;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        double t[5];
        int fds[2], n;

        if (argc != 2 || (n = atoi(argv[1])) < 1) {
                fprintf(stderr, "usage: sdbus-floor N\n");
                return 2;
        }
        /* a message needs a started connection; a socket pair nobody answers will do */
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 || sd_bus_new(&bus) < 0 ||
            sd_bus_set_fd(bus, fds[0], fds[0]) < 0 || sd_bus_start(bus) < 0) {
                fprintf(stderr, "cannot set up a connection\n");
                return 1;
        }
        for (int i = 0; i < 5; i++) {
                double t0 = cpu_ms();

                if (build(bus, n) < 0) {
                        fprintf(stderr, "cannot build the message\n");
                        return 1;
                }
                t[i] = cpu_ms() - t0;
        }
        qsort(t, 5, sizeof t[0], cmp);
        printf("{\"bench\": \"sd-bus\", \"objects\": %d, \"append_cpu_ms\": %.1f}\n", n, t[2]);
        sd_bus_unref(bus);
        return 0;
}
