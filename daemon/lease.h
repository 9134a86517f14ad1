/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "changes.h"
#include "policy.h"
#include "util.h"

/* A VF handed to one consumer. Before anything is changed, the VF's state is written to a journal
 * file in the state directory; the lease's options are then in force on the VF (on top of its
 * configured policy) until the lease is released or its owner leaves the bus, when the recorded
 * state is put back. This file holds the lease object, the table of leases and the journal;
 * leasing.c hands VFs out and takes them back. */
typedef struct Lease {
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
        sd_bus_track *track; /* the owner, while it is on the bus */
        ObjectMark mark;
} Lease;

typedef struct LeaseTable {
        Lease **leases;
        size_t n_leases;
        char *dir; /* the journal's directory; NULL when there is no usable state directory */
        ChangeQueue *changes;
} LeaseTable;

/* A new lease with a random id, not in any table yet. */
int lease_new(LeaseTable *t, Lease **ret);
Lease *lease_free(Lease *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Lease *, lease_free);

int lease_table_init(LeaseTable *t, ChangeQueue *changes, const char *state_dir);
/* Frees every lease; their journal files stay for the next sriovd. */
void lease_table_done(LeaseTable *t);
Lease *lease_table_find(LeaseTable *t, const char *id);
Lease *lease_table_find_by_path(LeaseTable *t, const char *path);
Lease *lease_table_find_for_vf(LeaseTable *t, const char *pf_address, unsigned index);
/* Takes ownership; the lease appears on the bus. */
int lease_table_add(LeaseTable *t, Lease *l);
/* Gives ownership back; the lease leaves the bus. */
void lease_table_remove(LeaseTable *t, Lease *l);

/* The journal: one file per lease, written atomically before anything on the VF changes. */
int lease_journal_save(LeaseTable *t, const Lease *l);
void lease_journal_remove(LeaseTable *t, const Lease *l);
/* Reads every journal file; each lease read is handed to found() (which owns it then). A file that
 * does not parse is logged and moved aside. */
int lease_journal_load(LeaseTable *t, void (*found)(Lease *l, void *userdata), void *userdata);
