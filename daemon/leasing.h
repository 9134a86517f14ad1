/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "lease.h"
#include "manager.h"

/* Handing VFs out to consumers and taking them back: the lease's journal is written before the VF
 * changes, its options are applied as a layer on the VF's policy, and release puts the recorded
 * state back and checks it. */

/* Called once, when a request or release is done: error < 0 with message, or the lease's and its
 * VF's object paths (request) on success. */
typedef void (*LeaseReply)(int error, const char *message, const char *lease_path, const char *vf_path,
                           void *userdata);

typedef struct LeaseReplyTo {
        LeaseReply reply; /* NULL: nobody waits */
        void *userdata;
} LeaseReplyTo;

typedef struct LeaseRequest {
        const char *selector; /* a PF, or "" for any */
        const char *consumer;
        bool persistent;
        const char *owner; /* the caller's unique bus name */
        uid_t owner_uid; /* the caller's user */
        VfPolicy options;
} LeaseRequest;

/* The longest PF selector sriovd takes. */
#define LEASE_SELECTOR_MAX 256

/* Checks what the caller chose, before anything else looks at it: -EINVAL with *ret_error. */
int lease_request_check(const LeaseRequest *req, char **ret_error);

/* Picks a free VF and records a lease for it. Returns 0 when the lease is taken and reply will be
 * called, or -errno with *ret_error when refused (nothing changed, reply is not called). */
int lease_request(Manager *m, const LeaseRequest *req, LeaseReplyTo reply, char **ret_error);

/* Puts the recorded state back, checks it, drops the lease. Returns -EBUSY (reply not called) when
 * the lease is being released already. */
int lease_release(Manager *m, Lease *l, LeaseReplyTo reply);

/* Loads the journal at start-up: persistent leases that were applied come back, every other one is
 * restored (its owner is gone with the previous sriovd, or the apply never finished). */
int lease_load_all(Manager *m);
