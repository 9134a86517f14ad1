/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Round trips to sriovd as a C client sees them, without decoding the replies (a Python client
 * spends longer turning a large reply into objects than sriovd spends making it).
 *
 *   bus-latency VF-PATH ROUNDS
 *   bus-latency --busy
 *
 * Prints one JSON object: the median milliseconds of GetManagedObjects on /io/sriovd, of a Get of a
 * VF's MACAddress, and of org.freedesktop.DBus.Peer.Ping on the same object. With --busy, calls
 * GetManagedObjects back to back until it is killed, and prints nothing: load for B5. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median_call(sd_bus *bus, int rounds, const char *path, const char *iface, const char *method,
                          const char *sig, const char *a, const char *b) {
        double *t = calloc(rounds, sizeof *t), m;

        for (int i = 0; i < rounds; i++) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_message *reply = NULL;
                double t0 = now_ms();
                int r = sig ? sd_bus_call_method(bus, "io.sriovd", path, iface, method, &e, &reply, sig, a,
                                                 b)
                            : sd_bus_call_method(bus, "io.sriovd", path, iface, method, &e, &reply, NULL);
                t[i] = now_ms() - t0;
                if (r < 0) {
                        fprintf(stderr, "%s.%s: %s\n", iface, method, e.message ?: "failed");
                        exit(1);
                }
                sd_bus_message_unref(reply);
        }
        qsort(t, rounds, sizeof *t, cmp);
        m = t[rounds / 2];
        free(t);
        return m;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        int rounds = 0;

        if (!(argc == 2 && strcmp(argv[1], "--busy") == 0) && (argc != 3 || (rounds = atoi(argv[2])) < 1)) {
                fprintf(stderr, "usage: bus-latency VF-PATH ROUNDS | --busy\n");
                return 2;
        }
        if (sd_bus_open_system(&bus) < 0) {
                fprintf(stderr, "cannot connect to the system bus\n");
                return 1;
        }
        if (rounds == 0)
                for (;;)
                        (void) median_call(bus, 1, "/io/sriovd", "org.freedesktop.DBus.ObjectManager",
                                           "GetManagedObjects", NULL, NULL, NULL);
        printf("{\"gmo_ms\": %.3f, \"get_ms\": %.4f, \"ping_ms\": %.4f}\n",
               median_call(bus, rounds < 20 ? rounds : 20, "/io/sriovd",
                           "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, NULL, NULL),
               median_call(bus, rounds, argv[1], "org.freedesktop.DBus.Properties", "Get", "ss",
                           "io.sriovd1.VirtualFunction", "MACAddress"),
               median_call(bus, rounds, argv[1], "org.freedesktop.DBus.Peer", "Ping", NULL, NULL, NULL));
        sd_bus_unref(bus);
        return 0;
}
