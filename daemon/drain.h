/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pf.h"
#include "request.h"

/* A count change that would destroy leased VFs, asked for with the wait flag: the leases on the VFs
 * that would go are asked to release (each lease's ReleaseRequested, with a deadline), and the change
 * waits on the loop until every one of them has ended, however it ended (Release, its owner leaving
 * the bus, its VF destroyed). Then it is planned and applied as a new call would be; at the deadline
 * it fails with -EBUSY naming the leases still held. At most one per PF. */

/* Carries out the change once nothing holds the VFs any more: 0 when req was handed on, or -errno
 * with *ret_error. */
typedef int (*DrainApply)(PhysicalFunction *pf, unsigned count, uint64_t flags, Request *req,
                          char **ret_error);

/* Asks the leases on the VFs that changing the count to count destroys to release by now +
 * wait_usec, and waits. Returns 0 (nothing asked) when no lease holds such a VF: the caller applies
 * the change itself; 1 when the drain started, req then waits for it (it is added to req). */
int pf_drain_start(PhysicalFunction *pf, unsigned count, uint64_t flags, uint64_t wait_usec, Request *req,
                   DrainApply apply);
bool pf_drain_pending(PhysicalFunction *pf);
/* -EBUSY with *ret_error naming the change under way while a drain is pending, else 0. */
int pf_drain_check_idle(PhysicalFunction *pf, char **ret_error);
/* A lease ended or a VF went: the drain looks again soon, on the loop. */
void pf_drain_check(PhysicalFunction *pf);
/* Ends a pending drain with error (< 0) and message; nothing is applied. */
void pf_drain_done(PhysicalFunction *pf, int error, const char *message);
/* The caller of req went away: its drain, if still waiting, ends and nothing is applied. */
void pf_drain_cancel(PhysicalFunction *pf, Request *req);
