/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "policy.h"
#include "util.h"

typedef struct Manager Manager;
typedef struct PhysicalFunction PhysicalFunction;
typedef struct VirtualFunction VirtualFunction;

/* A VF handed to one consumer. Before anything is changed, the VF's state is written to a journal
 * file in the state directory; the lease's options are then in force on the VF (on top of its
 * configured policy) until the lease is released or its owner leaves the bus, when the recorded
 * state is put back. */
typedef struct Lease {
        Manager *manager;
        char id[33];
        char *object_path;
        char pf_address[13];
        unsigned vf_index;
        char *consumer;
        char *owner; /* unique bus name; NULL when persistent */
        bool persistent;
        uint64_t created_at; /* µs, CLOCK_REALTIME */
        bool applied; /* the journal says the options were applied */

        VfPolicy saved; /* the VF before the lease: the keys the options change */
        VfPolicy options; /* in force for the lease's lifetime */
        VfPolicy layer; /* what sits on top of the VF's policy now: options, or saved while releasing */

        bool releasing;
        sd_bus_track *track;
} Lease;

Lease *lease_free(Lease *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Lease *, lease_free);

Lease *manager_find_lease(Manager *m, const char *id);
Lease *manager_find_lease_by_path(Manager *m, const char *path);
Lease *manager_find_lease_for_vf(Manager *m, const char *pf_address, unsigned index);

/* Loads the journal at start-up: persistent leases that were applied come back, every other one is
 * restored (its owner is gone with the previous sriovd, or the apply never finished). */
int manager_load_leases(Manager *m);

/* Releases: puts the recorded state back, checks it, drops the lease. Replies to message if set. */
int lease_release(Lease *l, sd_bus_message *message);

/* Manager.RequestVirtualFunction() */
int method_request_vf(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_list_leases(sd_bus_message *message, void *userdata, sd_bus_error *error);

extern const sd_bus_vtable lease_vtable[];
int lease_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error);
int lease_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);
