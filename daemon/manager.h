/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libudev.h>
#include <netlink/socket.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "changes.h"
#include "config.h"
#include "peers.h"
#include "lease.h"
#include "pf.h"
#include "request.h"
#include "store.h"

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_RUNNING,
        MANAGER_DEGRADED,
        _MANAGER_STATE_MAX,
        _MANAGER_STATE_INVALID = -EINVAL,
} ManagerState;

typedef struct AuthQuery AuthQuery;
typedef struct Diagnostics Diagnostics;
typedef struct PendingProbe PendingProbe;

/* The daemon's model: the event loop, udev, the PF table and the leases. It knows the bus only as a
 * connection to track lease owners with; what it shows on the bus goes through changes. */
typedef struct Manager {
        sd_event *event;
        struct udev *udev;
        struct udev_monitor *monitor;
        sd_event_source *monitor_source;
        struct udev_monitor *kernel_monitor; /* the kernel's own "bind" of a PF, before udevd's rules */
        sd_event_source *kernel_monitor_source;
        /* hot-added PFs whose driver's probe may still run: created by their "bind" (manager.c) */
        PendingProbe **pending_probes;
        size_t n_pending_probes;
        struct udev_queue *udev_queue;
        sd_event_source *udev_queue_source;
        sd_event_source *ready_timeout;
        /* a burst of VF uevents and the overruns among them, handled once after the monitor's handler */
        sd_event_source *vf_events_source;
        sd_event_source *resync_timer; /* the next re-read of every PF, when one was just done */
        bool resync_due; /* uevents were lost: every PF is to be read again */
        unsigned resync_overruns; /* overruns since the last re-read of every PF */
        uint64_t resync_usec; /* CLOCK_MONOTONIC at the end of the last re-read; 0: none yet */
        uint64_t resync_interval_usec;

        struct nl_sock *link_monitor;
        sd_event_source *link_monitor_source;

        char **config_dirs;
        ConfigSet *config;
        Store *store;
        Store *runtime_store;
        char *managed_vf_dir; /* the runtime directory's SRIOVD_MANAGED_VF_SUBDIR */

        PfHost host; /* what every PF is given */
        PhysicalFunction **pfs;
        size_t n_pfs;
        LeaseTable leases;
        ChangeQueue changes;
        ObjectMark mark;

        ManagerState state;
        bool ready;
        bool name_acquired;
        bool coldplug_done;
        bool names_now; /* PF names are looked up when a PF is found (start-up's kernel work began) */
        uint64_t ready_timeout_usec;

        void *pci_access; /* libpci, for vendor and model names */

        /* The bus layer's (manager-dbus.c, polkit.c): set up and torn down by it. */
        sd_bus *bus;
        Peers *peers; /* lease owners and waiting callers leaving the bus */
        sd_event_source *bus_flush_source;
        sd_event_source *bus_exit_source;
        AuthQuery **auth_queries;
        size_t n_auth_queries;
        Diagnostics *diagnostics; /* RunDiagnostics(), made on the first call */
} Manager;

int manager_new(char **config_dirs, const char *state_dir, const char *runtime_dir, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
/* Watches udev and link notifications, then enumerates the PFs present. */
int manager_start(Manager *m);
/* Reconciles every PF for start-up; READY=1 follows when they are done and the bus name is ours. */
int manager_enforce(Manager *m);
void manager_name_acquired(Manager *m);
int manager_run(Manager *m);
/* Fails every request still waiting ("sriovd is stopping") and starts nothing new. */
void manager_stop(Manager *m);

PhysicalFunction *manager_find_pf(Manager *m, const char *device); /* address, short address or ifname */
PhysicalFunction *manager_find_pf_by_path(Manager *m, const char *path);
VirtualFunction *manager_find_vf_by_path(Manager *m, const char *path);
int manager_reload(Manager *m, Request *req);
int manager_apply(Manager *m, Request *req);

const char *manager_state_to_string(ManagerState s);
ManagerState manager_state_from_string(const char *s);
