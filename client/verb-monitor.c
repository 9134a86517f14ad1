/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <systemd/sd-event.h>

#include "bus-props.h"
#include "json-out.h"
#include "names.h"
#include "sriovctl.h"

/* What monitor knows of one sriovd interface on one object: enough to print "old -> new" and to name
 * the object the way users know it (PCI addresses), without ever parsing an object path. */
typedef struct Object {
        char *path;
        char *interface;
        PropertyBag props;
} Object;

typedef struct Monitor {
        sd_bus *bus;
        Object *objects;
        size_t n_objects;
} Monitor;

static void object_done(Object *o) {
        free(o->path);
        free(o->interface);
        property_bag_done(&o->props);
}

static void monitor_clear(Monitor *mon) {
        for (size_t i = 0; i < mon->n_objects; i++)
                object_done(&mon->objects[i]);
        free(mon->objects);
        mon->objects = NULL;
        mon->n_objects = 0;
}

static Object *monitor_find(Monitor *mon, const char *path, const char *interface) {
        for (size_t i = 0; i < mon->n_objects; i++)
                if (streq(mon->objects[i].path, path) && streq(mon->objects[i].interface, interface))
                        return &mon->objects[i];
        return NULL;
}

static Object *monitor_add(Monitor *mon, const char *path, const char *interface) {
        Object *o, *n;

        o = monitor_find(mon, path, interface);
        if (o)
                return o;

        n = realloc(mon->objects, sizeof(Object) * (mon->n_objects + 1));
        if (!n)
                return NULL;
        mon->objects = n;
        o = &mon->objects[mon->n_objects];
        *o = (Object){.path = strdup(path), .interface = strdup(interface)};
        if (!o->path || !o->interface) {
                object_done(o);
                return NULL;
        }
        mon->n_objects++;
        return o;
}

static void monitor_remove(Monitor *mon, Object *o) {
        size_t i = o - mon->objects;

        object_done(o);
        memmove(mon->objects + i, mon->objects + i + 1, sizeof(Object) * (mon->n_objects - i - 1));
        mon->n_objects--;
}

static bool is_sriovd_interface(const char *interface) {
        return startswith(interface, "io.sriovd1.");
}

/* The PF whose VirtualFunctions lists path, if known. */
static const Object *monitor_find_parent(Monitor *mon, const char *path) {
        for (size_t i = 0; i < mon->n_objects; i++)
                if (streq(mon->objects[i].interface, SRIOVD_PF_INTERFACE) &&
                    strv_contains(property_bag_strv(&mon->objects[i].props, "VirtualFunctions"), path))
                        return &mon->objects[i];
        return NULL;
}

static char *object_name(Monitor *mon, const Object *o) {
        const char *address = property_bag_string(&o->props, "PciAddress");
        char *s = NULL;

        if (streq(o->interface, SRIOVD_MANAGER_INTERFACE))
                return strdup("sriovd");

        if (streq(o->interface, SRIOVD_PF_INTERFACE))
                return strdup(isempty(address) ? o->path : address);

        if (streq(o->interface, SRIOVD_VF_INTERFACE)) {
                const Object *pf = monitor_find_parent(mon, o->path);

                if (pf && property_bag_find(&o->props, "Index")) {
                        if (asprintf(&s, "%s vf %lli", property_bag_string(&pf->props, "PciAddress"),
                                     (long long) property_bag_int(&o->props, "Index", 0)) < 0)
                                return NULL;
                        return s;
                }
                if (asprintf(&s, "VF %s", isempty(address) ? o->path : address) < 0)
                        return NULL;
                return s;
        }

        if (asprintf(&s, "%s %s", streq(o->interface, SRIOVD_LEASE_INTERFACE) ? "lease" : o->interface,
                     o->path) < 0)
                return NULL;
        return s;
}

static const char *kind_name(const char *interface) {
        if (streq(interface, SRIOVD_PF_INTERFACE))
                return "PF";
        if (streq(interface, SRIOVD_VF_INTERFACE))
                return "VF";
        if (streq(interface, SRIOVD_LEASE_INTERFACE))
                return "Lease";
        if (streq(interface, SRIOVD_MANAGER_INTERFACE))
                return "Manager";
        return interface;
}

static void print_text_value(const Property *p) {
        const char *t = p->text;

        /* Strings that would be ambiguous in a line of words are quoted. */
        if (p->signature[0] == 's' && (isempty(t) || strpbrk(t, " \t")))
                printf("\"%s\"", t);
        else if (isempty(t))
                fputc('-', stdout);
        else
                fputs(t, stdout);
}

static void print_json_head(const char *event, Monitor *mon, const Object *o) {
        _cleanup_free_ char *name = o ? object_name(mon, o) : NULL;

        fputs("{\"event\": ", stdout);
        json_write_string(stdout, event);
        if (o) {
                fputs(", \"object\": ", stdout);
                json_write_string(stdout, o->path);
                fputs(", \"interface\": ", stdout);
                json_write_string(stdout, o->interface);
                fputs(", \"name\": ", stdout);
                json_write_string(stdout, name ?: o->path);
        }
}

static void print_added(Monitor *mon, const Object *o) {
        if (arg_json) {
                print_json_head("added", mon, o);
                fputs(", \"properties\": ", stdout);
                property_bag_write_json(&o->props, stdout);
                fputs("}\n", stdout);
        } else if (streq(o->interface, SRIOVD_PF_INTERFACE) || streq(o->interface, SRIOVD_LEASE_INTERFACE)) {
                _cleanup_free_ char *name = object_name(mon, o);

                printf("%s %s added\n", kind_name(o->interface), name ?: o->path);
        } else if (streq(o->interface, SRIOVD_VF_INTERFACE)) {
                _cleanup_free_ char *name = object_name(mon, o);

                /* Named by its PF when that is known already, and then its own address is news. */
                if (name && !startswith(name, "VF "))
                        printf("%s added (%s)\n", name, property_bag_string(&o->props, "PciAddress"));
                else
                        printf("%s added\n", name ?: o->path);
        }
        fflush(stdout);
}

static void print_removed(Monitor *mon, const Object *o) {
        if (arg_json) {
                print_json_head("removed", mon, o);
                fputs("}\n", stdout);
        } else if (!streq(o->interface, SRIOVD_MANAGER_INTERFACE)) {
                _cleanup_free_ char *name = object_name(mon, o);

                if (streq(o->interface, SRIOVD_VF_INTERFACE))
                        printf("%s removed\n", name ?: o->path);
                else
                        printf("%s %s removed\n", kind_name(o->interface), name ?: o->path);
        }
        fflush(stdout);
}

static void print_changed(Monitor *mon, const Object *o, const Property *old, const Property *new) {
        if (arg_json) {
                print_json_head("changed", mon, o);
                fputs(", \"property\": ", stdout);
                json_write_string(stdout, new->name);
                fputs(", \"old\": ", stdout);
                fputs(old ? old->json : "null", stdout);
                fputs(", \"new\": ", stdout);
                fputs(new->json, stdout);
                fputs("}\n", stdout);
        } else {
                _cleanup_free_ char *name = NULL;

                /* VF objects come and go with their own lines; the list of paths says nothing more. */
                if (streq(new->name, "VirtualFunctions"))
                        return;

                name = object_name(mon, o);
                printf("%s: %s ", name ?: o->path, new->name);
                if (old) {
                        print_text_value(old);
                        fputs(" -> ", stdout);
                }
                print_text_value(new);
                putchar('\n');
        }
        fflush(stdout);
}

/* Reads a{sa{sv}} (interfaces and their properties) of path; prints them as added if announce. */
static int monitor_read_interfaces(Monitor *mon, sd_bus_message *m, const char *path, bool announce) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
        if (r < 0)
                return r;

        for (;;) {
                const char *interface;
                Object *o;

                r = sd_bus_message_enter_container(m, 'e', "sa{sv}");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;

                r = sd_bus_message_read(m, "s", &interface);
                if (r < 0)
                        return r;

                if (!is_sriovd_interface(interface)) {
                        r = sd_bus_message_skip(m, "a{sv}");
                        if (r < 0)
                                return r;
                } else {
                        o = monitor_add(mon, path, interface);
                        if (!o)
                                return -ENOMEM;
                        r = property_bag_read_dict(m, &o->props);
                        if (r < 0)
                                return r;
                        if (announce)
                                print_added(mon, o);
                }

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }

        return sd_bus_message_exit_container(m);
}

static int monitor_sync(Monitor *mon) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        monitor_clear(mon);

        r = sd_bus_call_method(mon->bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                               "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &error, &reply,
                               NULL);
        if (r < 0) {
                log_warning("Failed to enumerate sriovd's objects, waiting for it: %s",
                            bus_error_message(&error, r));
                return 0;
        }

        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                goto fail;
        for (;;) {
                const char *path;

                r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}");
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        goto fail;
                r = monitor_read_interfaces(mon, reply, path, false);
                if (r < 0)
                        goto fail;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        goto fail;
        }

        /* GetManagedObjects does not include the manager itself. */
        if (!monitor_find(mon, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE)) {
                Object *o = monitor_add(mon, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE);

                if (!o)
                        return log_error_errno(ENOMEM, "Out of memory.");
                (void) property_bag_get_all(mon->bus, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE,
                                            &o->props, NULL);
        }
        return 0;

fail:
        return log_error_errno(r, "Failed to parse reply of GetManagedObjects: %m");
}

static int on_interfaces_added(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Monitor *mon = userdata;
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r >= 0)
                r = monitor_read_interfaces(mon, m, path, true);
        if (r < 0)
                log_warning("Failed to parse InterfacesAdded, ignoring: %s", strerror(-r));
        return 0;
}

static int on_interfaces_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_strv_free_ char **interfaces = NULL;
        Monitor *mon = userdata;
        const char *path;
        int r;

        r = sd_bus_message_read(m, "o", &path);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &interfaces);
        if (r < 0) {
                log_warning("Failed to parse InterfacesRemoved, ignoring: %s", strerror(-r));
                return 0;
        }

        for (char **i = interfaces; *i; i++) {
                Object *o;

                if (!is_sriovd_interface(*i))
                        continue;
                o = monitor_find(mon, path, *i);
                if (!o) {
                        Object tmp = {.path = (char *) path, .interface = *i};

                        print_removed(mon, &tmp);
                        continue;
                }
                print_removed(mon, o);
                monitor_remove(mon, o);
        }
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(property_bag_done) PropertyBag changed = {};
        _cleanup_strv_free_ char **invalidated = NULL;
        Monitor *mon = userdata;
        const char *interface, *path = sd_bus_message_get_path(m);
        Object *o;
        int r;

        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0)
                goto fail;
        if (!is_sriovd_interface(interface))
                return 0;

        r = property_bag_read_dict(m, &changed);
        if (r < 0)
                goto fail;
        r = sd_bus_message_read_strv(m, &invalidated);
        if (r < 0)
                goto fail;

        o = monitor_add(mon, path, interface);
        if (!o)
                return log_error_errno(ENOMEM, "Out of memory.");

        /* Invalidated properties come without a value: ask for it. */
        for (char **i = invalidated; i && *i; i++) {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

                r = sd_bus_call_method(mon->bus, SRIOVD_BUS_NAME, path, "org.freedesktop.DBus.Properties",
                                       "Get", NULL, &reply, "ss", interface, *i);
                if (r < 0)
                        continue;
                (void) property_bag_read_variant(reply, *i, &changed);
        }

        for (size_t i = 0; i < changed.n; i++)
                print_changed(mon, o, property_bag_find(&o->props, changed.props[i].name),
                              &changed.props[i]);

        r = property_bag_merge(&o->props, &changed);
        if (r < 0)
                return log_error_errno(r, "Out of memory.");
        return 0;

fail:
        log_warning("Failed to parse PropertiesChanged, ignoring: %s", strerror(-r));
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Monitor *mon = userdata;
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0 || !streq(name, SRIOVD_BUS_NAME))
                return 0;

        if (isempty(new_owner)) {
                monitor_clear(mon);
                if (arg_json)
                        fputs("{\"event\": \"daemon-stopped\"}\n", stdout);
                else
                        printf("sriovd stopped\n");
        } else {
                if (arg_json)
                        fputs("{\"event\": \"daemon-started\"}\n", stdout);
                else
                        printf("sriovd started\n");
                (void) monitor_sync(mon);
        }
        fflush(stdout);
        return 0;
}

static int monitor_subscribe(Monitor *mon) {
        int r;

        r = sd_bus_add_match(mon->bus, NULL,
                             "type='signal',sender='" SRIOVD_BUS_NAME "',"
                             "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                             "path_namespace='" SRIOVD_MANAGER_PATH "'",
                             on_properties_changed, mon);
        if (r >= 0)
                r = sd_bus_match_signal(mon->bus, NULL, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesAdded",
                                        on_interfaces_added, mon);
        if (r >= 0)
                r = sd_bus_match_signal(mon->bus, NULL, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                        "org.freedesktop.DBus.ObjectManager", "InterfacesRemoved",
                                        on_interfaces_removed, mon);
        if (r >= 0)
                r = sd_bus_add_match(mon->bus, NULL, MATCH_SRIOVD_OWNER_CHANGED, on_name_owner_changed, mon);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to sriovd's signals: %m");
        return 0;
}

/* Prints changes until SIGINT or SIGTERM (0), or until the bus connection is lost (EXIT_FAILURE). */
static int monitor_run(Monitor *mon) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        r = block_exit_signals();
        if (r < 0)
                return r;
        r = bus_event_loop_new(mon->bus, NULL, NULL, &event);
        if (r < 0)
                return r;

        r = sd_event_loop(event);
        (void) sd_bus_detach_event(mon->bus);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (r != 0) {
                log_error("Lost the connection to the bus.");
                return EXIT_FAILURE;
        }
        return 0;
}

int verb_monitor(int argc, char *argv[]) {
        Monitor mon = {};
        int r;

        r = acquire_bus(&mon.bus);
        if (r < 0)
                return r;

        r = monitor_subscribe(&mon);
        if (r < 0)
                return r;

        /* Subscribed first, enumerated second: no change falls between the two. */
        r = monitor_sync(&mon);
        if (r >= 0)
                r = monitor_run(&mon);

        monitor_clear(&mon);
        return r;
}
