/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "bus-props.h"
#include "json-out.h"
#include "libvirt-xml.h"
#include "names.h"
#include "policy.h"
#include "sriovctl.h"
#include "table.h"

/* Where each VF object sits: its PF's address, read from the PFs' VirtualFunctions, since clients do
 * not parse object paths. */
typedef struct VfParents {
        char **vf_paths;
        char **pf_addresses; /* parallel to vf_paths */
} VfParents;

static void vf_parents_done(VfParents *p) {
        strv_free(p->vf_paths);
        strv_free(p->pf_addresses);
        *p = (VfParents){};
}

static int vf_parents_load(sd_bus *bus, VfParents *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(vf_parents_done) VfParents p = {};
        _cleanup_strv_free_ char **pfs = NULL;
        int r;

        r = sd_bus_call_method(bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE,
                               "ListPhysicalFunctions", &error, &reply, NULL);
        if (r < 0) {
                log_error("Failed to list physical functions: %s", bus_error_message(&error, r));
                return r;
        }
        r = sd_bus_message_read_strv(reply, &pfs);
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply of ListPhysicalFunctions: %m");

        for (char **pf = pfs; pf && *pf; pf++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                _cleanup_(property_bag_done) PropertyBag bag = {};

                r = property_bag_get_all(bus, *pf, SRIOVD_PF_INTERFACE, &bag, &e);
                if (r < 0) {
                        /* Unplugged since the listing: its VFs are gone too. */
                        if (sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
                            sd_bus_error_has_name(&e, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                                continue;
                        log_error("Failed to read properties of %s: %s", *pf, bus_error_message(&e, r));
                        return r;
                }

                for (char **vf = property_bag_strv(&bag, "VirtualFunctions"); vf && *vf; vf++)
                        if (strv_extend(&p.vf_paths, *vf) < 0 ||
                            strv_extend(&p.pf_addresses, property_bag_string(&bag, "PciAddress")) < 0)
                                return log_error_errno(ENOMEM, "Out of memory.");
        }

        *ret = p;
        p = (VfParents){};
        return 0;
}

static const char *vf_parents_find(const VfParents *p, const char *vf_path) {
        for (size_t i = 0; p->vf_paths && p->vf_paths[i]; i++)
                if (streq(p->vf_paths[i], vf_path))
                        return p->pf_addresses[i];
        return NULL;
}

/* The id users type: the lease path's last label, decoded as the daemon encoded it. */
static char *lease_id(const char *path) {
        char *id = NULL;
        const char *slash;

        if (sd_bus_path_decode(path, SRIOVD_LEASE_PREFIX, &id) > 0 && id)
                return id;
        slash = strrchr(path, '/');
        return strdup(slash ? slash + 1 : path);
}

static bool is_unknown_object(const sd_bus_error *e) {
        return sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_OBJECT) ||
               sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_INTERFACE) ||
               sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD);
}

/* request ----------------------------------------------------------------------------------------- */

/* The options a{sv}: the policy keys as policy_append_to_bus_message() writes them, plus Consumer and
 * Persistent in the same dictionary. The policy is written into a scratch message and its entries
 * copied over, so that the key vocabulary stays in one place. */
static int append_options(sd_bus *bus, sd_bus_message *m, const VfPolicy *policy) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *scratch = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &scratch, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                           SRIOVD_MANAGER_INTERFACE, "RequestVirtualFunction");
        if (r < 0)
                return r;
        r = policy_append_to_bus_message(scratch, policy);
        if (r < 0)
                return r;
        r = sd_bus_message_seal(scratch, 1, 0);
        if (r < 0)
                return r;
        r = sd_bus_message_rewind(scratch, true);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(scratch, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(m, SD_BUS_TYPE_ARRAY, "{sv}");
        if (r < 0)
                return r;
        if (arg_consumer) {
                r = sd_bus_message_append(m, "{sv}", "Consumer", "s", arg_consumer);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_append(m, "{sv}", "Persistent", "b", (int) arg_persistent);
        if (r < 0)
                return r;
        r = sd_bus_message_copy(m, scratch, true);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

typedef struct LeaseWatch {
        sd_bus *bus;
        char *lease_path;
        const char *id;
        bool lease_gone;
        bool daemon_gone;
        bool releasing;
        int release_error; /* -errno, logged */
        sd_bus_slot *release_slot;
} LeaseWatch;

static void lease_watch_done(LeaseWatch *w) {
        w->lease_path = mfree(w->lease_path);
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        LeaseWatch *w = userdata;
        const char *path;

        /* While we release it, the reply to Release() ends the wait, not the object's removal. */
        if (w->releasing || sd_bus_message_read(m, "o", &path) < 0 || !w->lease_path ||
            !streq(path, w->lease_path))
                return 0;

        w->lease_gone = true;
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), 0);
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        LeaseWatch *w = userdata;
        const char *name, *old_owner, *new_owner;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !isempty(new_owner))
                return 0;

        w->daemon_gone = true;
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(m)), 0);
}

static int on_release_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        LeaseWatch *w = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* Already gone (the VF was released by someone else meanwhile) is what we wanted. */
        if (e && !sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_OBJECT) &&
            !sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_INTERFACE) &&
            !sd_bus_error_has_name(e, SD_BUS_ERROR_UNKNOWN_METHOD)) {
                log_error("Failed to release lease %s: %s", w->id,
                          bus_error_message(e, sd_bus_message_get_errno(reply)));
                w->release_error = -abs(sd_bus_message_get_errno(reply) ?: EIO);
        }
        return sd_event_exit(sd_bus_get_event(sd_bus_message_get_bus(reply)), 0);
}

/* The release is asynchronous, inside the loop: when the loop exits, sd-bus closes the connection
 * (and with it the lease, without our hearing whether the VF came back). */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        LeaseWatch *w = userdata;
        int r;

        if (w->releasing)
                return 0;
        w->releasing = true;

        r = sd_bus_message_new_method_call(w->bus, &m, SRIOVD_BUS_NAME, w->lease_path,
                                           SRIOVD_LEASE_INTERFACE, "Release");
        /* Restoring may rebind the VF's driver, which can take long. */
        if (r >= 0)
                r = sd_bus_call_async(w->bus, &w->release_slot, m, on_release_reply, w,
                                      SRIOVCTL_LONG_CALL_USEC);
        if (r < 0) {
                w->release_error = log_error_errno(r, "Failed to release lease %s: %m", w->id);
                return sd_event_exit(sd_event_source_get_event(s), 0);
        }
        return 0;
}

static int release_path(sd_bus *bus, const char *path, const char *name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SRIOVD_BUS_NAME, path, SRIOVD_LEASE_INTERFACE,
                                           "Release");
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");

        /* Restoring may rebind the VF's driver, which can take long. */
        r = sd_bus_call(bus, m, SRIOVCTL_LONG_CALL_USEC, &error, NULL);
        if (r < 0) {
                if (is_unknown_object(&error))
                        log_error("Failed to release lease %s: no such lease.", name);
                else
                        log_error("Failed to release lease %s: %s", name, bus_error_message(&error, r));
                return r;
        }
        return 0;
}

/* Holds a non-persistent lease: the daemon ends it when our connection closes, so we stay until told
 * to stop, then release it explicitly so that the VF's restore is done (or its failure reported)
 * before we exit. */
static int hold_lease(LeaseWatch *w) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        if (arg_legend)
                fprintf(stderr,
                        "Holding lease %s until interrupted (Ctrl-C or SIGTERM releases it); "
                        "use --persistent to keep a lease after sriovctl exits.\n",
                        w->id);

        r = bus_event_loop_new(w->bus, on_signal, w, &event);
        if (r < 0)
                return r;

        r = sd_event_loop(event);
        w->release_slot = sd_bus_slot_unref(w->release_slot);
        (void) sd_bus_detach_event(w->bus);

        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (r != 0) {
                log_error("Lost the connection to the bus; sriovd ends lease %s.", w->id);
                return EXIT_FAILURE;
        }
        if (w->daemon_gone) {
                log_error("sriovd left the bus; lease %s ended with it.", w->id);
                return EXIT_FAILURE;
        }
        if (w->lease_gone) {
                log_warning("Lease %s ended: it was released, or its VF was removed.", w->id);
                return 0;
        }
        return w->release_error;
}

static int print_request_result(const char *lease_path, const char *id, const char *vf_path,
                                const char *pf_address, const PropertyBag *vf, const VfPolicy *policy) {
        const char *address = property_bag_string(vf, "PciAddress");
        int64_t index = property_bag_int(vf, "Index", -1);

        if (arg_libvirt_xml) {
                _cleanup_free_ char *xml = NULL;
                const char *mac = NULL;
                char buf[18];
                unsigned vlan = 0;
                int r;

                /* What the lease asked for is what the guest must see; the read-back properties can
                 * lag behind the netlink notification. Without the key, the VF's own values. */
                if (POLICY_HAS(policy, POLICY_MAC_ADDRESS))
                        mac = policy_format_mac(&policy->mac, buf);
                else if (!isempty(property_bag_string(vf, "MACAddress")))
                        mac = property_bag_string(vf, "MACAddress");
                if (POLICY_HAS(policy, POLICY_VLAN_ID))
                        vlan = policy->vlan;
                else
                        vlan = (unsigned) MAX(property_bag_int(vf, "VLANId", 0), 0);

                r = libvirt_xml_format(address, mac, vlan, &xml);
                if (r < 0)
                        return log_error_errno(r, "Failed to format the libvirt XML for %s: %m", address);
                fputs(xml, stdout);
        } else if (arg_json) {
                fputs("{\"Lease\": ", stdout);
                json_write_string(stdout, lease_path);
                fputs(", \"Id\": ", stdout);
                json_write_string(stdout, id);
                fputs(", \"VirtualFunction\": ", stdout);
                json_write_string(stdout, vf_path);
                fputs(", \"PhysicalFunction\": ", stdout);
                json_write_string(stdout, pf_address);
                printf(", \"Index\": %" PRIi64 ", \"PciAddress\": ", index);
                json_write_string(stdout, address);
                fputs("}\n", stdout);
        } else if (!arg_legend)
                printf("%s %s\n", lease_path, address);
        else
                printf("Lease %s: VF %" PRIi64 " of %s, PCI address %s (%s)\n", id, index,
                       strempty(pf_address), address, lease_path);

        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
}

/* DEVICE is optional: a first argument that is KEY=VALUE leaves the choice of PF to sriovd. Returns 0,
 * EXIT_USAGE or -errno, having logged. */
static int parse_request_args(int argc, char *argv[], const char **ret_device, VfPolicy *policy) {
        const char *device = "";
        char **keys = argv + 1;
        int r;

        if (argc > 1 && !strchr(argv[1], '=')) {
                device = argv[1];
                keys = argv + 2;
        }
        r = parse_policy_args(keys, policy);
        if (r != 0)
                return r;
        if (arg_json && arg_libvirt_xml)
                return log_usage("--json and --libvirt-xml do not go together.");
        if (arg_consumer && isempty(arg_consumer))
                return log_usage("--consumer= needs a name.");

        *ret_device = device;
        return 0;
}

/* Subscribed before the request, so that a lease lost right after it is granted is noticed. */
static int watch_lease_end(sd_bus *bus, LeaseWatch *w, sd_bus_slot **ret_slot_removed,
                           sd_bus_slot **ret_slot_owner) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot_removed = NULL, *slot_owner = NULL;
        int r;

        r = sd_bus_match_signal(bus, &slot_removed, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                on_interfaces_removed, w);
        if (r >= 0)
                r = sd_bus_add_match(bus, &slot_owner, MATCH_SRIOVD_OWNER_CHANGED, on_name_owner_changed, w);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to sriovd's signals: %m");

        /* Blocked from here on, so that Ctrl-C while we print still releases through the loop. */
        r = block_exit_signals();
        if (r < 0)
                return r;

        *ret_slot_removed = TAKE_PTR(slot_removed);
        *ret_slot_owner = TAKE_PTR(slot_owner);
        return 0;
}

static int call_request(sd_bus *bus, const char *device, const VfPolicy *policy,
                        sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                           SRIOVD_MANAGER_INTERFACE, "RequestVirtualFunction");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", device);
        if (r >= 0)
                r = append_options(bus, m, policy);
        if (r < 0)
                return log_error_errno(r, "Failed to create a bus message: %m");

        /* Applying the options may rebind the VF's driver: a long call. */
        r = sd_bus_call(bus, m, SRIOVCTL_LONG_CALL_USEC, &error, &reply);
        if (r < 0) {
                log_error("Failed to lease a virtual function%s%s: %s", isempty(device) ? "" : " of ",
                          device, bus_error_message(&error, r));
                return r;
        }

        *ret_reply = TAKE_PTR(reply);
        return 0;
}

/* Reads the leased VF and the address of its PF, then prints the lease. */
static int print_granted_lease(sd_bus *bus, const char *lease_path, const char *id, const char *vf_path,
                               const VfPolicy *policy) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(property_bag_done) PropertyBag vf = {};
        _cleanup_(vf_parents_done) VfParents parents = {};
        int r;

        r = property_bag_get_all(bus, vf_path, SRIOVD_VF_INTERFACE, &vf, &error);
        if (r < 0) {
                log_error("Failed to read properties of %s: %s", vf_path, bus_error_message(&error, r));
                return r;
        }
        r = vf_parents_load(bus, &parents);
        if (r < 0)
                return r;

        return print_request_result(lease_path, id, vf_path, vf_parents_find(&parents, vf_path), &vf,
                                    policy);
}

/* Whoever reads our output (virsh attach-device <(sriovctl request ...), a pipe) gets its end of file
 * now, while we hold the lease. */
static void close_stdout_for_readers(void) {
        int fd;

        if (fflush(stdout) != 0)
                return;

        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) dup2(fd, STDOUT_FILENO);
                close(fd);
        }
}

int verb_request(int argc, char *argv[]) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot_removed = NULL, *slot_owner = NULL;
        _cleanup_(lease_watch_done) LeaseWatch watch = {};
        _cleanup_free_ char *id = NULL;
        const char *device, *lease_path, *vf_path;
        VfPolicy policy = {};
        sd_bus *bus;
        int r;

        r = parse_request_args(argc, argv, &device, &policy);
        if (r != 0)
                return r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;

        /* A non-persistent lease ends with our connection, so its end matters only while we hold it. */
        if (!arg_persistent) {
                r = watch_lease_end(bus, &watch, &slot_removed, &slot_owner);
                if (r < 0)
                        return r;
        }

        r = call_request(bus, device, &policy, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "oo", &lease_path, &vf_path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply of RequestVirtualFunction: %m");

        watch.lease_path = strdup(lease_path);
        id = lease_id(lease_path);
        if (!watch.lease_path || !id)
                return log_error_errno(ENOMEM, "Out of memory.");

        r = print_granted_lease(bus, lease_path, id, vf_path, &policy);
        if (r < 0 || arg_persistent)
                return r;

        close_stdout_for_readers();

        watch.bus = bus;
        watch.id = id;
        return hold_lease(&watch);
}

/* release ----------------------------------------------------------------------------------------- */

int verb_release(int argc, char *argv[]) {
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *match = NULL;
        const char *lease = argv[1], *match_path = NULL;
        sd_bus *bus;
        int r;

        if (isempty(lease))
                return log_usage("Expected a lease: its id or its object path.");
        if (lease[0] == '/' && !sd_bus_object_path_is_valid(lease))
                return log_usage("Invalid lease object path '%s'.", lease);

        r = acquire_bus(&bus);
        if (r < 0)
                return r;

        if (lease[0] == '/')
                return release_path(bus, lease, lease);

        /* An id is looked up among the leases, never turned into a path here: the daemon decides how
         * ids are encoded. Ids are long, so a unique prefix will do, as with git. */
        r = manager_list(bus, "ListLeases", "leases", &paths);
        if (r < 0)
                return r;
        for (char **p = paths; p && *p; p++) {
                _cleanup_free_ char *id = lease_id(*p);

                if (!id)
                        return log_error_errno(ENOMEM, "Out of memory.");
                if (streq(id, lease))
                        return release_path(bus, *p, lease);
                if (startswith(id, lease)) {
                        if (match) {
                                log_error("Lease '%s' is ambiguous: it begins %s and %s.", lease, match, id);
                                return -EINVAL;
                        }
                        match = TAKE_PTR(id);
                        match_path = *p;
                }
        }
        if (match)
                return release_path(bus, match_path, match);

        log_error("No lease '%s'. See '%s leases'.", lease, program_invocation_short_name);
        return -ENOENT;
}

/* leases ------------------------------------------------------------------------------------------ */

typedef struct LeaseRow {
        char *path;
        char *id;
        PropertyBag lease;
        PropertyBag vf;
        const char *pf_address;
} LeaseRow;

static void lease_rows_free(LeaseRow *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(rows[i].path);
                free(rows[i].id);
                property_bag_done(&rows[i].lease);
                property_bag_done(&rows[i].vf);
        }
        free(rows);
}

static int compare_rows(const void *a, const void *b) {
        const LeaseRow *x = a, *y = b;
        int64_t tx = property_bag_int(&x->lease, "CreatedAt", 0),
                ty = property_bag_int(&y->lease, "CreatedAt", 0);

        if (tx != ty)
                return tx < ty ? -1 : 1;
        return strcmp(x->path, y->path);
}

static char *format_usec(int64_t usec) {
        char buf[64];
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec <= 0 || !localtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return strdup("");
        return strdup(buf);
}

static void write_lease_json(const LeaseRow *row) {
        fputs("{\"Id\": ", stdout);
        json_write_string(stdout, row->id);
        fputs(", \"Lease\": ", stdout);
        json_write_string(stdout, row->path);
        /* Every property of the Lease under its D-Bus name, as status and show do. */
        for (size_t i = 0; i < row->lease.n; i++) {
                fputs(", ", stdout);
                json_write_string(stdout, row->lease.props[i].name);
                fputs(": ", stdout);
                fputs(row->lease.props[i].json, stdout);
        }
        fputs(", \"PhysicalFunction\": ", stdout);
        json_write_string(stdout, row->pf_address);
        printf(", \"Index\": %" PRIi64 ", \"PciAddress\": ", property_bag_int(&row->vf, "Index", -1));
        json_write_string(stdout, property_bag_string(&row->vf, "PciAddress"));
        fputc('}', stdout);
}

/* Reads one lease and its VF into row. Returns 1 when read, 0 for a lease released between listing and
 * reading, or -errno, having logged. */
static int lease_row_load(sd_bus *bus, const char *path, const VfParents *parents, LeaseRow *row) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        const char *vf_path;
        int r;

        r = property_bag_get_all(bus, path, SRIOVD_LEASE_INTERFACE, &row->lease, &error);
        if (r < 0) {
                if (is_unknown_object(&error))
                        return 0;
                log_error("Failed to read properties of %s: %s", path, bus_error_message(&error, r));
                return r;
        }

        row->path = strdup(path);
        row->id = lease_id(path);
        if (!row->path || !row->id)
                return log_error_errno(ENOMEM, "Out of memory.");

        vf_path = property_bag_string(&row->lease, "VirtualFunction");
        row->pf_address = vf_parents_find(parents, vf_path);
        sd_bus_error_free(&error);
        /* A lease whose VF was unplugged has no VF object left; it still lists. */
        r = property_bag_get_all(bus, vf_path, SRIOVD_VF_INTERFACE, &row->vf, &error);
        if (r < 0 && !is_unknown_object(&error) &&
            !sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS)) {
                log_error("Failed to read properties of %s: %s", vf_path, bus_error_message(&error, r));
                return r;
        }
        return 1;
}

static int print_leases_json(const LeaseRow *rows, size_t n) {
        fputs("{\"Leases\": [", stdout);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        fputs(", ", stdout);
                write_lease_json(&rows[i]);
        }
        fputs("]}\n", stdout);
        return fflush(stdout) == 0 ? 0 : log_error_errno(errno, "Failed to write output: %m");
}

static int lease_table_add_row(struct libscols_table *tb, const LeaseRow *row) {
        _cleanup_free_ char *index = NULL, *created = NULL, *release_by = NULL;
        struct libscols_line *line;
        int64_t k = property_bag_int(&row->vf, "Index", -1);

        if (k < 0)
                index = strdup("");
        else if (asprintf(&index, "%" PRIi64, k) < 0)
                index = NULL;
        created = format_usec(property_bag_int(&row->lease, "CreatedAt", 0));
        /* "-" while nobody asks for it back */
        release_by = format_usec(property_bag_int(&row->lease, "ReleaseDeadline", 0));
        line = scols_table_new_line(tb, NULL);
        if (!index || !created || !release_by || !line || table_set_cell(line, 0, row->id) < 0 ||
            table_set_cell(line, 1, row->pf_address) < 0 || table_set_cell(line, 2, index) < 0 ||
            table_set_cell(line, 3, property_bag_string(&row->vf, "PciAddress")) < 0 ||
            table_set_cell(line, 4, property_bag_string(&row->lease, "Consumer")) < 0 ||
            table_set_cell(line, 5, property_bag_string(&row->lease, "Owner")) < 0 ||
            table_set_cell(line, 6, property_bag_bool(&row->lease, "Persistent") ? "yes" : "no") < 0 ||
            table_set_cell(line, 7, created) < 0 || table_set_cell(line, 8, release_by) < 0)
                return log_error_errno(ENOMEM, "Out of memory.");
        return 0;
}

static int print_leases_table(const LeaseRow *rows, size_t n) {
        _cleanup_(scols_unref_tablep) struct libscols_table *tb = NULL;
        int r;

        if (table_new(&tb) < 0 || table_add_column(tb, "ID", 0) < 0 || table_add_column(tb, "PF", 0) < 0 ||
            table_add_column(tb, "VF", SCOLS_FL_RIGHT) < 0 || table_add_column(tb, "ADDRESS", 0) < 0 ||
            table_add_column(tb, "CONSUMER", 0) < 0 || table_add_column(tb, "OWNER", 0) < 0 ||
            table_add_column(tb, "PERSISTENT", 0) < 0 || table_add_column(tb, "CREATED", 0) < 0 ||
            table_add_column(tb, "RELEASE BY", 0) < 0)
                return log_error_errno(ENOMEM, "Failed to set up the table: %m");

        for (size_t i = 0; i < n; i++) {
                r = lease_table_add_row(tb, &rows[i]);
                if (r < 0)
                        return r;
        }

        r = table_print(tb);
        if (r < 0)
                return log_error_errno(r, "Failed to print the table: %m");
        if (arg_legend)
                printf("\n%zu lease%s listed.\n", n, n == 1 ? "" : "s");
        return 0;
}

int verb_leases(int argc, char *argv[]) {
        _cleanup_(vf_parents_done) VfParents parents = {};
        _cleanup_strv_free_ char **paths = NULL;
        LeaseRow *rows = NULL;
        size_t n = 0;
        sd_bus *bus;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;

        r = manager_list(bus, "ListLeases", "leases", &paths);
        if (r < 0)
                return r;
        r = vf_parents_load(bus, &parents);
        if (r < 0)
                return r;

        rows = calloc(MAX(strv_length(paths), 1u), sizeof(LeaseRow));
        if (!rows)
                return log_error_errno(ENOMEM, "Out of memory.");

        for (char **p = paths; p && *p; p++) {
                r = lease_row_load(bus, *p, &parents, &rows[n]);
                if (r < 0)
                        goto finish;
                n += r;
        }
        qsort(rows, n, sizeof(LeaseRow), compare_rows);

        if (arg_json)
                r = print_leases_json(rows, n);
        else
                r = print_leases_table(rows, n);

finish:
        lease_rows_free(rows, strv_length(paths));
        return r;
}
