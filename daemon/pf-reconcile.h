/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "pf.h"
#include "reconcile.h"
#include "request.h"

/* Bringing a PF to its desired state: at most one kernel job per PF (converge.c, off the loop);
 * requests arriving meanwhile wait for the next one; uevents and link notifications coalesce into
 * one reconcile or read-back. The bookkeeping below belongs to pf-reconcile.c alone. */

typedef struct Job Job;

struct PfReconcile {
        Job *job;
        unsigned job_from; /* sriov_numvfs when the job started */
        bool again; /* reconcile once the job ends */
        bool readback_again; /* read back once the job ends */
        bool readback_only_pending; /* the scheduled event only reads back */
        bool count_failed; /* the kernel refused the last count written: not retried by itself */
        char *count_error; /* why the planner refuses the desired count, or NULL */
        int count_error_code;
        bool warned_truncated;
        bool force_next;
        Request **waiting; /* answered by the next job's end */
        size_t n_waiting;
        Request **running; /* answered by the running job's end */
        size_t n_running;
        sd_event_source *source; /* the scheduled reconcile or read-back */
        sd_event_source *job_timeout; /* the running job's deadline */
        char *stuck; /* the kernel call that did not return in time, while the job still runs */
        int autoprobe_saved; /* sriov_drivers_autoprobe before a job closed it because a VF names its
                              * driver (a vfio-pci lease): put back once none does; -1: nothing to */
        int autoprobe_recorded; /* what the runtime directory holds of it: -1 nothing, -2 not known (a
                                 * write failed) */
};

int pf_reconcile_init(PhysicalFunction *pf);
/* Fails every request with error and message, drops the job (it finds no PF when it ends) and the
 * bookkeeping: the PF does nothing more. */
void pf_reconcile_done(PhysicalFunction *pf, int error, const char *message);

/* The PF's State and LastError; a refused configuration file shows while nothing else does. */
void pf_set_state(PhysicalFunction *pf, PfState state, const char *error);

/* Plans now and starts a kernel job if one is needed; req (optional) is completed when the PF has
 * converged or failed. */
int pf_reconcile(PhysicalFunction *pf, Request *req);
/* pf_reconcile() without a request, of a PF its caller has just read from sysfs (pf_refresh()) in the
 * same event source's dispatch: nothing can have told sriovd of a change since. */
int pf_reconcile_refreshed(PhysicalFunction *pf);
/* Plans desired (with force) against the kernel's state now, as pf_reconcile() would; for a caller
 * that must refuse before it changes anything. With ignore_leases, as if every lease on the PF were
 * released. Returns the plan; the caller frees it. */
int pf_plan(PhysicalFunction *pf, int desired, bool force, bool ignore_leases, ReconcilePlan *ret);
/* Starts the job for a plan made by pf_plan() just now, or waits for the running job and plans
 * again after it. */
int pf_reconcile_planned(PhysicalFunction *pf, ReconcilePlan *plan, bool force, Request *req);

/* Schedules a reconcile on the loop soon; repeated calls before it runs coalesce. delay_usec 0
 * means on the next loop iteration. */
int pf_schedule_reconcile(PhysicalFunction *pf, uint64_t delay_usec);
/* Schedules a read-back of the VFs' link settings only, to spot drift (after a link notification). */
int pf_schedule_readback(PhysicalFunction *pf);
/* The PF's uevent said something changed: a count changed behind our back is put back. */
void pf_check_drift(PhysicalFunction *pf);
bool pf_job_running(PhysicalFunction *pf);
/* -EBUSY with *ret_error while a kernel call on the PF is stuck: nothing new can start on it. */
int pf_check_stuck(PhysicalFunction *pf, char **ret_error);
/* The next plan may destroy VFs in use (a forced count). */
void pf_force_next(PhysicalFunction *pf);
/* A count the kernel refused is tried again (a new driver, an explicit request). */
void pf_retry_count(PhysicalFunction *pf);
