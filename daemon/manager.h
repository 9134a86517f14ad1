/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libudev.h>
#include <netlink/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "pf.h"
#include "polkit.h"
#include "store.h"

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_RUNNING,
        MANAGER_DEGRADED,
        _MANAGER_STATE_MAX,
        _MANAGER_STATE_INVALID = -EINVAL,
} ManagerState;

/* A caller (a bus method, or start-up) waiting for one or more PFs to converge. */
typedef void (*RequestDone)(Request *req, int error, const char *message, void *userdata);
struct Request {
        unsigned n_ref;
        unsigned pending;
        sd_bus_message *message; /* replied to when done, if set */
        RequestDone done; /* or called, if set */
        void *userdata;
        int error;
        char *error_message;
        bool armed; /* all PFs added; complete when pending reaches 0 */
        int scope_vf; /* which failures fail it: a VF index, or one of the scopes below */
};

#define REQUEST_SCOPE_ALL (-1) /* the count and every VF */
#define REQUEST_SCOPE_COUNT (-2) /* the count alone */

Request *request_new(sd_bus_message *m, RequestDone done, void *userdata);
Request *request_ref(Request *r);
Request *request_unref(Request *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Request *, request_unref);
/* Adds one PF to wait for. */
void request_add(Request *r);
/* One PF is done, with error < 0 and message when it failed. */
void request_complete_one(Request *r, int error, const char *message);
/* All PFs were added: a request with nothing pending completes now. */
void request_arm(Request *r);

struct Manager {
        sd_event *event;
        sd_bus *bus;
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *monitor_source;
        struct udev_queue *udev_queue;
        sd_event_source *udev_queue_source;
        sd_event_source *ready_timeout;
        AuthQuery **auth_queries; /* polkit questions under way */
        size_t n_auth_queries;

        struct nl_sock *link_monitor;
        sd_event_source *link_monitor_source;

        char **config_dirs;
        ConfigSet *config;
        Store *store;
        Store *runtime_store;

        PhysicalFunction **pfs;
        size_t n_pfs;
        struct Lease **leases;
        size_t n_leases;

        ManagerState state;
        bool ready;
        bool name_acquired;
        bool coldplug_done;
        uint64_t ready_timeout_usec;

        void *pci_access; /* libpci, for vendor and model names */
};

int manager_new(char **config_dirs, const char *state_dir, const char *runtime_dir, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_start(Manager *m);
int manager_run(Manager *m);

PhysicalFunction *manager_find_pf(Manager *m, const char *device); /* address, short address or ifname */
PhysicalFunction *manager_find_pf_by_path(Manager *m, const char *path);
int manager_reload(Manager *m, Request *req);
/* Whether udev has no events queued (or cannot tell): drivers that coldplug loads have bound by then. */
bool manager_udev_settled(Manager *m);
int manager_apply(Manager *m, Request *req);
void manager_update_state(Manager *m);
/* From the configuration files: the matching file and refused files meant for this PF. */
void manager_assign_config(Manager *m, PhysicalFunction *pf);

/* D-Bus */
extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable pf_vtable[];
extern const sd_bus_vtable vf_vtable[];
int pf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
int vf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
int pf_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
int manager_bus_setup(Manager *m);

const char *manager_state_to_string(ManagerState s);
ManagerState manager_state_from_string(const char *s);
