/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include <sys/types.h>

#include "changes.h"
#include "peers.h"
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
        char pf_address[PCI_ADDRESS_MAX];
        unsigned vf_index;
        char *consumer;
        char *owner; /* unique bus name; NULL when persistent */
        char owner_bus_id[33]; /* the bus the owner's name is of: a name is reused on another bus */
        uid_t owner_uid; /* who asked for it; UID_INVALID when not known */
        bool persistent;
        uint64_t created_at; /* µs, CLOCK_REALTIME */
        bool applied; /* the journal says the options were applied */
        bool salvaged; /* what a journal that did not parse still told: only to restore its VF */

        VfPolicy saved; /* the VF before the lease: the keys the options change */
        VfPolicy options; /* in force for the lease's lifetime */
        VfPolicy layer; /* what sits on top of the VF's policy now: options, or saved while releasing */

        bool releasing;
        uint64_t release_deadline; /* µs, CLOCK_REALTIME: asked to release by then (ReleaseRequested); 0
                                    * while no change waits for it */
        bool vf_gone; /* its VF was destroyed: nothing to restore, nothing reserved */
        PeerWatch *owner_watch; /* the owner, while it is on the bus */
        ObjectMark mark;
} Lease;

#define UID_INVALID ((uid_t) -1)
/* The longest Consumer= sriovd takes. */
#define LEASE_CONSUMER_MAX 256

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
/* The lease holding a VF now (leases whose VF is gone hold none). */
Lease *lease_table_find_for_vf(LeaseTable *t, const char *pf_address, unsigned index);
/* The VF was destroyed: the leases on it end their hold (their journal goes; the objects stay until
 * released, so that their holders see VirtualFunction "/" and release them). */
void lease_table_vf_gone(LeaseTable *t, const char *pf_address, unsigned index);
/* Takes ownership; the lease appears on the bus. */
int lease_table_add(LeaseTable *t, Lease *l);
/* Gives ownership back; the lease leaves the bus. */
void lease_table_remove(LeaseTable *t, Lease *l);

/* The journal: one file per lease, written atomically before anything on the VF changes. */
int lease_journal_save(LeaseTable *t, const Lease *l);
void lease_journal_remove(LeaseTable *t, const Lease *l);
/* Parses a journal file's text; expected_id (the file's name) must match its Id=. On -EBADMSG,
 * *ret_error says what and where, and *ret is what can still be trusted when that is enough to
 * restore the VF (its PF, its index and the recorded keys that were well-formed), else NULL. */
int lease_journal_parse_text(LeaseTable *t, const char *text, const char *expected_id, Lease **ret,
                             char **ret_error);
/* Reads every journal file; each lease read is handed to found() (which owns it then), with
 * corrupt = true for what was salvaged from a file that did not parse (moved aside under a unique
 * name and logged). */
int lease_journal_load(LeaseTable *t, void (*found)(Lease *l, bool corrupt, void *userdata), void *userdata);
