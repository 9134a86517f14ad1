/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "converge.h"
#include "job.h"
#include "log.h"
#include "pf-reconcile.h"

/* A count changed behind sriovd's back is put back after this long, so that a burst of VF uevents
 * (the kernel sends one per VF) turns into one reconcile. */
#define DRIFT_COALESCE_USEC (500 * 1000ULL)

typedef struct JobContext {
        PhysicalFunction *pf; /* NULL once the PF is gone */
        ConvergeWork *work;
} JobContext;

static void job_context_free(JobContext *c) {
        if (!c)
                return;
        converge_work_free(c->work);
        free(c);
}

static void job_context_freep(JobContext **c) {
        job_context_free(*c);
}

static void complete_requests(Request ***list, size_t *n, int error, const char *message) {
        Request **l = TAKE_PTR(*list);
        size_t k = *n;

        *n = 0;
        for (size_t i = 0; i < k; i++) {
                request_complete_one(l[i], error, message);
                request_unref(l[i]);
        }
        free(l);
}

static int add_request(Request ***list, size_t *n, Request *req) {
        Request **l = reallocarray(*list, *n + 1, sizeof *l);

        if (!l)
                return -ENOMEM;
        l[(*n)++] = request_ref(req);
        *list = l;
        request_add(req);
        return 0;
}

int pf_reconcile_init(PhysicalFunction *pf) {
        pf->reconcile = calloc(1, sizeof *pf->reconcile);
        if (!pf->reconcile)
                return -ENOMEM;
        /* a previous sriovd closed it and was stopped before it could put it back */
        pf->reconcile->autoprobe_saved = pf->reconcile->autoprobe_recorded = pf_load_saved_autoprobe(pf);
        if (pf->reconcile->autoprobe_saved >= 0)
                log_pf(LOG_INFO, 0, pf,
                       "sriov_drivers_autoprobe of %s was %i before a VF named its driver, "
                       "it goes back to that once none does",
                       pf->address, pf->reconcile->autoprobe_saved);
        return 0;
}

void pf_reconcile_done(PhysicalFunction *pf, int error, const char *message) {
        PfReconcile *rc = TAKE_PTR(pf->reconcile);

        if (!rc)
                return;
        /* a job still running ends without its PF and is dropped then */
        if (rc->job)
                ((JobContext *) rc->job->userdata)->pf = NULL;
        complete_requests(&rc->running, &rc->n_running, error, message);
        complete_requests(&rc->waiting, &rc->n_waiting, error, message);
        sd_event_source_disable_unref(rc->source);
        sd_event_source_disable_unref(rc->job_timeout);
        free(rc->count_error);
        free(rc->stuck);
        free(rc);
}

void pf_set_state(PhysicalFunction *pf, PfState state, const char *error) {
        bool changed = false;

        if (!error && !pf_job_running(pf) && pf->config_error)
                error = pf->config_error;
        if (pf->state != state) {
                log_pf(LOG_DEBUG, 0, pf, "State %s -> %s", pf_state_to_string(pf->state),
                       pf_state_to_string(state));
                pf->state = state;
                changed = true;
        }
        if (pf_set_last_error(pf, error) > 0)
                changed = true;
        if (changed) {
                object_mark_changed(&pf->mark);
                if (pf->host->state_changed)
                        pf->host->state_changed(pf->host->userdata);
        }
}

int pf_check_stuck(PhysicalFunction *pf, char **ret_error) {
        if (!pf->reconcile || !pf->reconcile->stuck)
                return 0;
        return asprintf_safe(ret_error, "A kernel call on %s has not returned: %s", pf->address,
                             pf->reconcile->stuck),
               -EBUSY;
}

bool pf_job_running(PhysicalFunction *pf) {
        return pf->reconcile && pf->reconcile->job;
}

void pf_force_next(PhysicalFunction *pf) {
        if (pf->reconcile)
                pf->reconcile->force_next = true;
}

void pf_retry_count(PhysicalFunction *pf) {
        if (pf->reconcile)
                pf->reconcile->count_failed = false;
}

static int pf_readback(PhysicalFunction *pf);

static int reconcile_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        PhysicalFunction *pf = userdata;

        pf->reconcile->source = sd_event_source_disable_unref(pf->reconcile->source);
        if (pf->reconcile->readback_only_pending)
                (void) pf_readback(pf);
        else
                (void) pf_reconcile(pf, NULL);
        return 0;
}

static int pf_schedule(PhysicalFunction *pf, uint64_t delay_usec, bool readback_only) {
        PfReconcile *rc = pf->reconcile;
        uint64_t now_usec;
        int r;

        if (!rc)
                return 0;
        if (rc->source) {
                /* a reconcile also reads back, so it wins over a pending read-back */
                if (!readback_only)
                        rc->readback_only_pending = false;
                return 0;
        }
        rc->readback_only_pending = readback_only;
        r = sd_event_now(pf->host->event, CLOCK_MONOTONIC, &now_usec);
        if (r < 0)
                return r;
        r = sd_event_add_time(pf->host->event, &rc->source, CLOCK_MONOTONIC, now_usec + delay_usec, 0,
                              reconcile_handler, pf);
        if (r < 0)
                return log_pf(LOG_ERR, r, pf, "Failed to schedule reconcile: %m");
        (void) sd_event_source_set_description(rc->source, "pf-reconcile");
        return 0;
}

int pf_schedule_reconcile(PhysicalFunction *pf, uint64_t delay_usec) {
        return pf_schedule(pf, delay_usec, false);
}

int pf_schedule_readback(PhysicalFunction *pf) {
        return pf_schedule(pf, EVENT_COALESCE_USEC, true);
}

void pf_check_drift(PhysicalFunction *pf) {
        PfReconcile *rc = pf->reconcile;

        if (!rc || rc->job || pf->desired_num_vfs < 0)
                return;
        /* the count is enforced whatever became of a VF's attributes: a PF that failed for a VF still
         * gets its count back; one whose count the kernel or the planner refused is not retried on
         * every uevent */
        if (pf->state != PF_STATE_ENFORCED &&
            (pf->state != PF_STATE_FAILED || rc->count_failed || rc->count_error))
                return;
        if (pf->num_vfs == (unsigned) pf->desired_num_vfs)
                return;

        /* logged when it is put back: a PF being unplugged loses its VFs first, and is gone by then */
        log_pf(LOG_DEBUG, 0, pf, "NumVFs is %u instead of %i", pf->num_vfs, pf->desired_num_vfs);
        pf_set_state(pf, PF_STATE_DRIFT, NULL);
        (void) pf_schedule_reconcile(pf, DRIFT_COALESCE_USEC);
}

static void job_work(Job *j) {
        JobContext *c = j->userdata;

        converge_run(c->work);
}

/* The message says what the kernel answered. The contract's errors for ENOSPC and EPERM/EACCES mean
 * something else (no free VF to lease, the caller not allowed), so a kernel refusal with one of them
 * fails the call as Failed. */
static int reply_error(int error) {
        return error == -ENOSPC || error == -EPERM || error == -EACCES ? -EIO : error;
}

/* Requests about the count alone are not failed by a VF's link settings; the others by the VFs
 * they are about. */
static void pf_complete_running(PhysicalFunction *pf, int count_error, const char *count_message) {
        PfReconcile *rc = pf->reconcile;
        Request **l = TAKE_PTR(rc->running);
        size_t k = rc->n_running;

        rc->n_running = 0;
        for (size_t i = 0; i < k; i++) {
                Request *req = l[i];
                _cleanup_free_ char *m = count_message ? strdup(count_message) : NULL;
                int error = count_error;

                for (size_t j = 0; req->scope_vf != REQUEST_SCOPE_COUNT && j < pf->n_vfs; j++) {
                        VirtualFunction *vf = pf->vfs[j];

                        if (!vf || vf->state != VF_STATE_FAILED || !vf->last_error)
                                continue;
                        if (req->scope_vf >= 0 && (unsigned) req->scope_vf != vf->index)
                                continue;
                        if (error >= 0)
                                error = vf->error;
                        (void) strextend_sep(&m, "; ", "VF %u: %s", vf->index, vf->last_error);
                }
                request_complete_one(req, reply_error(error), m);
                request_unref(req);
        }
        free(l);
}

/* What became of the count the job wrote; the error with *ret_message, or 0. */
static int job_count_outcome(PhysicalFunction *pf, const ConvergeWork *w, char **ret_message) {
        unsigned to = w->n_values > 0 ? w->values[w->n_values - 1] : 0;
        int error = w->numvfs_error;

        if (w->n_values == 0)
                return 0;
        if (error < 0) {
                *ret_message = reconcile_write_error_message(pf->address, pf->driver, pf->vendor_id,
                                                             pf->reconcile->job_from, to, error);
                log_pf(LOG_ERR, error, pf, "%s", strempty(*ret_message));
        } else if (pf->num_vfs != to) {
                /* the kernel accepts the write but the driver may enable fewer VFs than asked */
                error = -EIO;
                (void) asprintf_safe(ret_message,
                                     "Kernel enabled only %u of %u VFs on %s%s%s%s (partial enable)",
                                     pf->num_vfs, to, pf->address, pf->driver ? " (" : "",
                                     strempty(pf->driver), pf->driver ? ")" : "");
                log_pf(LOG_ERR, error, pf, "%s", strempty(*ret_message));
        } else {
                log_pf(LOG_INFO, 0, pf, "NumVFs is now %u", pf->num_vfs);
                pf_clear_forced_count(pf);
        }

        /* a count the kernel did not take is not retried on every uevent, or a partial enable would be
         * recreated forever; an explicit request or a driver reload tries again */
        pf->reconcile->count_failed = error < 0;
        return error;
}

/* Takes each VF's read-back and outcome. Returns whether a VF drifted; *ret_errors names every VF
 * that failed, for the PF's LastError. */
static bool job_vf_outcomes(PhysicalFunction *pf, const ConvergeWork *w, char **ret_errors) {
        bool drift = false;

        for (size_t i = 0; i < pf->n_vfs; i++) {
                VirtualFunction *vf = pf->vfs[i];
                const VfOutcome *o = i < w->n_outcomes ? w->outcomes + i : NULL;

                if (!vf)
                        continue;
                if (o)
                        vf_set_actual(vf, &o->actual);
                if (!w->apply) {
                        /* a read-back: what differs from the policy now changed behind our back */
                        if (vf->state != VF_STATE_FAILED && vf_drifted_keys(vf)) {
                                log_vf(LOG_WARNING, 0, vf,
                                       "VF %u settings changed behind sriovd's back, putting them back",
                                       vf->index);
                                vf_set_state(vf, VF_STATE_DRIFT, 0, NULL);
                                drift = true;
                        }
                        continue;
                }
                if (o && o->error < 0) {
                        log_vf(LOG_ERR, o->error, vf, "VF %u: %s", vf->index, strempty(o->message));
                        vf_set_state(vf, VF_STATE_FAILED, o->error, o->message);
                        (void) strextend_sep(ret_errors, "; ", "VF %u: %s", vf->index, strempty(o->message));
                } else if (vf_drifted_keys(vf) & (UINT32_C(1) << POLICY_DRIVER)) {
                        /* rebound behind our back after this job had dealt with it (or it came back
                         * from a reset meanwhile): its uevents came while the job ran and scheduled
                         * nothing, so put it back now */
                        log_vf(LOG_WARNING, 0, vf, "VF %u is bound to %s, not %s; putting it back",
                               vf->index, vf->driver ?: "no driver", vf->policy.driver);
                        vf_set_state(vf, VF_STATE_DRIFT, 0, NULL);
                        drift = true;
                } else
                        vf_set_state(vf, VF_STATE_OK, 0, NULL);
        }
        return drift;
}

static void job_set_pf_state(PhysicalFunction *pf, int count_error, const char *message,
                             const char *vf_errors) {
        if (count_error < 0)
                pf_set_state(pf, PF_STATE_FAILED, message ?: "Failed to change NumVFs");
        else if (pf->reconcile->count_error)
                pf_set_state(pf, PF_STATE_FAILED, pf->reconcile->count_error);
        else if (vf_errors)
                pf_set_state(pf, PF_STATE_FAILED, vf_errors);
        else if (pf->desired_num_vfs < 0 && !pf_has_vf_policy(pf))
                pf_set_state(pf, pf->config_error ? PF_STATE_FAILED : PF_STATE_UNMANAGED, NULL);
        else
                pf_set_state(pf, PF_STATE_ENFORCED, NULL);
}

/* The runtime directory says what autoprobe_saved says, so that the next sriovd puts it back too. */
static void autoprobe_record(PhysicalFunction *pf, int value) {
        PfReconcile *rc = pf->reconcile;
        int r;

        if (rc->autoprobe_recorded == value)
                return;
        r = pf_save_autoprobe(pf, value);
        if (r == -ENOENT && !pf->host->runtime_store)
                return;
        if (r < 0) {
                /* tried again with the next change */
                rc->autoprobe_recorded = -2;
                log_pf(LOG_WARNING, r, pf,
                       "Failed to record sriov_drivers_autoprobe of %s in the runtime directory, "
                       "a restart of sriovd would not put it back, ignoring: %m",
                       pf->address);
                return;
        }
        rc->autoprobe_recorded = value;
}

/* Remembers what sriov_drivers_autoprobe was when a job first closed it for a VF's named driver, and
 * forgets it once a job without one has put it back (or the configuration says what it is). */
static void job_autoprobe_outcome(PhysicalFunction *pf, const ConvergeWork *w) {
        PfReconcile *rc = pf->reconcile;

        if (w->driver_named) {
                if (rc->autoprobe_saved < 0 && w->autoprobe_found > 0)
                        rc->autoprobe_saved = w->autoprobe_found;
        } else if (pf_desired_autoprobe(pf) >= 0 || pf->drivers_autoprobe == (rc->autoprobe_saved > 0))
                rc->autoprobe_saved = -1;
        autoprobe_record(pf, rc->autoprobe_saved);
}

static void job_done(Job *j) {
        _cleanup_free_ char *message = NULL, *vf_errors = NULL;
        JobContext *c = j->userdata;
        ConvergeWork *w = c->work;
        PhysicalFunction *pf = c->pf;
        PfReconcile *rc;
        bool drift;
        int error;

        if (!pf) {
                log_debug("Kernel job for %s ended after the PF went away", w->address);
                goto finish;
        }
        rc = pf->reconcile;
        rc->job = NULL;
        pf->kernel_job = false;
        rc->job_timeout = sd_event_source_disable_unref(rc->job_timeout);
        if (rc->stuck) {
                log_pf(LOG_WARNING, 0, pf, "The kernel call that did not return in time did now: %s",
                       rc->stuck);
                rc->stuck = mfree(rc->stuck);
                /* its callers were answered; this one's outcome is what the next reconcile finds */
                rc->again = true;
        }

        (void) pf_refresh(pf);
        error = job_count_outcome(pf, w, &message);
        if (w->pf_message)
                log_pf(LOG_WARNING, 0, pf, "%s", w->pf_message);
        if (w->probes > 0)
                log_pf(LOG_DEBUG, 0, pf, "%u VF driver probes, up to %u at once", w->probes,
                       w->probes_at_once);
        if (w->apply && w->usec_end > 0)
                log_pf(LOG_DEBUG, 0, pf,
                       "Kernel job took %" PRIu64 " ms: autoprobe and sriov_numvfs %" PRIu64
                       " ms, marks and link settings %" PRIu64 " ms, drivers %" PRIu64
                       " ms, the rest %" PRIu64 " ms",
                       (w->usec_end - w->usec_start) / 1000, (w->usec_numvfs - w->usec_start) / 1000,
                       (w->usec_settings - w->usec_numvfs) / 1000,
                       (w->usec_drivers - w->usec_settings) / 1000, (w->usec_end - w->usec_drivers) / 1000);
        if (w->truncated && !rc->warned_truncated) {
                log_pf(LOG_WARNING, 0, pf,
                       "The kernel's VF list of %s is truncated (too many VFs for one netlink attribute); "
                       "VFs beyond it show no link settings",
                       pf->interface);
                rc->warned_truncated = true;
        }
        drift = job_vf_outcomes(pf, w, &vf_errors);
        if (w->apply)
                job_autoprobe_outcome(pf, w);
        if (w->apply) {
                job_set_pf_state(pf, error, message, vf_errors);
                pf_complete_running(pf, error < 0 ? error : rc->count_error_code,
                                    message ?: rc->count_error);
        }

        if (drift) {
                /* put back even on a PF that failed for another VF's sake (a key its driver lacks) */
                if (pf->state == PF_STATE_ENFORCED)
                        pf_set_state(pf, PF_STATE_DRIFT, NULL);
                (void) pf_schedule_reconcile(pf, DRIFT_COALESCE_USEC);
        }
        /* the count may have been changed while this job ran, when uevents could not tell */
        pf_check_drift(pf);
        if (rc->again || rc->n_waiting > 0) {
                rc->again = false;
                rc->readback_again = false;
                (void) pf_reconcile(pf, NULL);
        } else if (rc->readback_again) {
                rc->readback_again = false;
                (void) pf_schedule_readback(pf);
        }

finish:
        job_context_free(c);
        job_free(j);
}

/* A write that never returns (a driver stuck in its sriov_configure(), a probe that hangs) cannot be
 * taken back: the thread stays in the kernel. The PF fails with the call named, its callers are
 * answered, and nothing else is started on it until the call returns, if it ever does. */
static int job_timeout_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        PhysicalFunction *pf = userdata;
        PfReconcile *rc = pf->reconcile;
        JobContext *c = rc->job ? rc->job->userdata : NULL;
        _cleanup_free_ char *m = NULL;
        char doing[CONVERGE_DOING_MAX] = "";

        rc->job_timeout = sd_event_source_disable_unref(rc->job_timeout);
        if (!c)
                return 0;
        converge_work_doing(c->work, doing, sizeof doing);
        free(rc->stuck);
        rc->stuck = strdup(doing[0] ? doing : "a kernel call");
        (void) asprintf_safe(&m, "A kernel call on %s has not returned after %" PRIu64 " s: %s", pf->address,
                             pf->host->kernel_timeout_usec / 1000000, strempty(rc->stuck));
        log_pf(LOG_ERR, -ETIMEDOUT, pf, "%s", strempty(m));
        pf_set_state(pf, PF_STATE_FAILED, m);
        complete_requests(&rc->running, &rc->n_running, -ETIMEDOUT, m);
        complete_requests(&rc->waiting, &rc->n_waiting, -ETIMEDOUT, m);
        return 0;
}

static int pf_arm_job_timeout(PhysicalFunction *pf) {
        uint64_t now_usec;
        int r;

        if (pf->host->kernel_timeout_usec == 0)
                return 0;
        r = sd_event_now(pf->host->event, CLOCK_MONOTONIC, &now_usec);
        if (r >= 0)
                r = sd_event_add_time(pf->host->event, &pf->reconcile->job_timeout, CLOCK_MONOTONIC,
                                      now_usec + pf->host->kernel_timeout_usec, 0, job_timeout_handler, pf);
        if (r >= 0)
                (void) sd_event_source_set_description(pf->reconcile->job_timeout, "pf-job-timeout");
        return r;
}

static int pf_start_job(PhysicalFunction *pf, const ReconcilePlan *plan, bool apply) {
        _cleanup_(job_context_freep) JobContext *c = NULL;
        ConvergeWork *w;
        unsigned n_wants = MAX(pf->total_vfs, (unsigned) pf->n_vfs);
        bool any_driver = false;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->pf = pf;
        c->work = w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        converge_work_init(w);
        memcpy(w->address, pf->address, sizeof w->address);
        w->syspath = strdup(pf->syspath);
        w->pf_driver = pf->driver ? strdup(pf->driver) : NULL;
        w->wants = calloc(MAX(n_wants, 1u), sizeof *w->wants);
        if (!w->syspath || (pf->driver && !w->pf_driver) || !w->wants)
                return -ENOMEM;
        snprintf(w->ifname, sizeof w->ifname, "%s", strempty(pf->interface));
        w->apply = apply;
        w->n_wants = n_wants;
        if (apply) {
                w->released = calloc(MAX(n_wants, 1u), sizeof(bool));
                if (!w->released)
                        return -ENOMEM;
                for (unsigned i = 0; i < n_wants && i < pf->n_vfs; i++)
                        if (pf->vfs[i] && pf->vfs[i]->driver_released) {
                                w->released[i] = true;
                                pf->vfs[i]->driver_released = false;
                        }
        }
        if (apply && pf->host->managed_vf_dir) {
                w->managed_vf_dir = strdup(pf->host->managed_vf_dir);
                w->managed = calloc(MAX(n_wants, 1u), sizeof(bool));
                if (!w->managed_vf_dir || !w->managed)
                        return -ENOMEM;
                /* the VFs of a PF sriovd manages are its own, but for those the admin leaves to a
                 * network manager */
                for (unsigned i = 0; i < n_wants && pf->desired_num_vfs >= 0; i++)
                        w->managed[i] = !pf_config_vf_network_managed(pf->config, i);
                w->remove_stale_marks = pf->host->marks_stale;
        }
        for (unsigned i = 0; i < n_wants; i++)
                if (pf_desired_vf_policy(pf, i, w->wants + i) && POLICY_HAS(w->wants + i, POLICY_DRIVER) &&
                    !isempty(w->wants[i].driver))
                        any_driver = true;

        w->autoprobe = -1;
        if (apply) {
                w->autoprobe = pf_desired_autoprobe(pf);
                /* a VF meant for another driver must not meet its netdev driver when it is created;
                 * what it was is on disk before the job closes it, for a sriovd killed meanwhile */
                if (any_driver) {
                        w->autoprobe = 0;
                        if (pf->reconcile->autoprobe_saved < 0 && pf->drivers_autoprobe)
                                autoprobe_record(pf, 1);
                } else if (w->autoprobe < 0)
                        /* none does any more (a vfio-pci lease ended): what was there before goes back */
                        w->autoprobe = pf->reconcile->autoprobe_saved;
                w->driver_named = any_driver;
        }
        if (plan && plan->action == PLAN_WRITE) {
                memcpy(w->values, plan->values, sizeof w->values);
                w->n_values = plan->n_values;
        }

        r = job_start(pf->host->event, job_work, job_done, c, &pf->reconcile->job);
        if (r < 0)
                return r;
        if (w->remove_stale_marks)
                pf->host->marks_stale = false;
        TAKE_PTR(c);
        pf->kernel_job = true;
        if (pf_arm_job_timeout(pf) < 0)
                log_pf(LOG_WARNING, 0, pf, "Failed to arm the kernel job's timeout, ignoring");
        pf->reconcile->job_from = pf->num_vfs;
        if (w->n_values > 0)
                log_pf(LOG_INFO, 0, pf, "Changing NumVFs from %u to %u%s", pf->reconcile->job_from,
                       w->values[w->n_values - 1], w->n_values > 1 ? " (through 0)" : "");
        return 0;
}

int pf_plan(PhysicalFunction *pf, int desired, bool force, bool ignore_leases, ReconcilePlan *ret) {
        _cleanup_free_ ReconcileVf *vfs = NULL;
        size_t n = 0;

        vfs = calloc(MAX(pf->n_vfs, (size_t) 1), sizeof *vfs);
        if (!vfs)
                return -ENOMEM;
        for (size_t i = 0; i < pf->n_vfs; i++) {
                VirtualFunction *vf = pf->vfs[i];
                Lease *l;

                if (!vf)
                        continue;
                l = lease_table_find_for_vf(pf->host->leases, pf->address, vf->index);
                vfs[n++] = (ReconcileVf){
                        .index = vf->index,
                        .address = vf->address,
                        .driver = vf->driver,
                        .lease = l ? (isempty(l->consumer) ? l->id : l->consumer) : NULL,
                };
        }
        return reconcile_plan(
                &(ReconcileInput){
                        .address = pf->address,
                        .driver = pf->driver,
                        .vendor = pf->vendor_id,
                        .desired = desired,
                        .current = pf->num_vfs,
                        .total = pf->total_vfs,
                        .force = force,
                        .ignore_leases = ignore_leases,
                        .vfs = vfs,
                        .n_vfs = n,
                },
                ret);
}

/* Starts the job for a plan made just now: the waiting requests go with it. */
static int pf_run_plan(PhysicalFunction *pf, ReconcilePlan *plan, bool automatic) {
        PfReconcile *rc = pf->reconcile;
        int r;

        if (pf->state == PF_STATE_DRIFT && plan->action == PLAN_WRITE)
                log_pf(LOG_WARNING, 0, pf, "NumVFs changed behind sriovd's back to %u, putting back %i",
                       pf->num_vfs, pf->desired_num_vfs);
        rc->count_error = mfree(rc->count_error);
        rc->count_error_code = 0;
        if (plan->action == PLAN_REFUSE && plan->error == -ENOENT && !pf->driver &&
            pf->host->waiting_for_drivers && pf->host->waiting_for_drivers(pf->host->userdata)) {
                /* At boot the NIC's driver may bind after sriovd started, while udev still works through
                 * the coldplug events that load it: start-up waits for that (within its timeout) rather
                 * than reporting ready with no VFs. The bind uevent, or udev's empty queue, reconciles. */
                log_pf(LOG_INFO, 0, pf, "Waiting for a driver to bind before creating %i VFs",
                       pf->desired_num_vfs);
                pf_set_state(pf, PF_STATE_CONVERGING, "Waiting for a driver to bind to the PF");
                return 0;
        }
        if (plan->action == PLAN_REFUSE) {
                log_pf(LOG_ERR, plan->error, pf, "%s", plan->message);
                rc->count_error = TAKE_PTR(plan->message);
                rc->count_error_code = plan->error;
        } else if (plan->action == PLAN_WRITE && automatic && rc->count_failed) {
                log_pf(LOG_DEBUG, 0, pf, "Not retrying the count the kernel refused before");
                plan->action = PLAN_NOTHING;
        }

        /* every count change goes through 0 (only a forced one gets here with leased VFs): the leases
         * end with their VFs now, before the job computes what the VFs created again get */
        if (plan->action == PLAN_WRITE)
                for (unsigned i = 0; i < pf->num_vfs; i++)
                        lease_table_vf_gone(pf->host->leases, pf->address, i);

        r = pf_start_job(pf, plan, true);
        if (r < 0) {
                _cleanup_free_ char *m = NULL;
                (void) asprintf_safe(&m, "Failed to start reconciling %s: %s", pf->address, strerror(-r));
                pf_set_state(pf, PF_STATE_FAILED, m);
                complete_requests(&rc->waiting, &rc->n_waiting, r, m);
                return log_pf(LOG_ERR, r, pf, "Failed to start kernel job: %m");
        }
        /* the requests so far are answered by this job; later ones by the next */
        free(rc->running);
        rc->running = TAKE_PTR(rc->waiting);
        rc->n_running = rc->n_waiting;
        rc->n_waiting = 0;
        if (plan->action == PLAN_WRITE)
                pf_set_state(pf, PF_STATE_CONVERGING, NULL);
        return 0;
}

/* Queues req for the next job. Returns 1 when a job is running already and the next one is
 * scheduled for its end. */
static int pf_queue_request(PhysicalFunction *pf, Request *req, bool readback_only) {
        PfReconcile *rc = pf->reconcile;

        if (!rc || pf->host->stopping) {
                if (req) {
                        request_add(req);
                        request_complete_one(req, -ESHUTDOWN, "sriovd is stopping");
                }
                return -ESHUTDOWN;
        }
        if (rc->stuck) {
                /* no second write while one is stuck in the kernel: it could only queue behind it */
                if (req) {
                        _cleanup_free_ char *m = NULL;

                        (void) pf_check_stuck(pf, &m);
                        request_add(req);
                        request_complete_one(req, -EBUSY, m);
                }
                return -EBUSY;
        }
        if (req) {
                if (add_request(&rc->waiting, &rc->n_waiting, req) < 0)
                        return log_oom();
                /* asked for explicitly: a count the kernel refused before is worth another try */
                rc->count_failed = false;
        }
        rc->source = sd_event_source_disable_unref(rc->source);
        if (!rc->job)
                return 0;
        /* a link notification while a job runs may be someone else's change: look again after */
        if (readback_only)
                rc->readback_again = true;
        else
                rc->again = true;
        return 1;
}

static int pf_refresh_or_fail(PhysicalFunction *pf) {
        int r = pf_refresh(pf);

        if (r < 0)
                complete_requests(&pf->reconcile->waiting, &pf->reconcile->n_waiting, r,
                                  "Failed to read the PF's state from sysfs");
        return r;
}

static int pf_readback(PhysicalFunction *pf) {
        int r;

        r = pf_queue_request(pf, NULL, true);
        if (r != 0)
                return r < 0 ? r : 0;
        r = pf_refresh_or_fail(pf);
        if (r < 0 || !pf->interface)
                return r;
        r = pf_start_job(pf, NULL, false);
        if (r < 0)
                return log_pf(LOG_ERR, r, pf, "Failed to start reading VF settings: %m");
        return 0;
}

static int pf_reconcile_full(PhysicalFunction *pf, Request *req, bool refresh) {
        _cleanup_(reconcile_plan_done) ReconcilePlan plan = {};
        PfReconcile *rc = pf->reconcile;
        int r;

        r = pf_queue_request(pf, req, false);
        if (r != 0)
                return r < 0 ? r : 0;
        r = refresh ? pf_refresh_or_fail(pf) : 0;
        if (r < 0)
                return r;
        r = pf_plan(pf, pf->desired_num_vfs, rc->force_next, false, &plan);
        rc->force_next = false;
        if (r < 0) {
                complete_requests(&rc->waiting, &rc->n_waiting, r, "Out of memory");
                return log_oom();
        }
        return pf_run_plan(pf, &plan, !req);
}

int pf_reconcile(PhysicalFunction *pf, Request *req) {
        return pf_reconcile_full(pf, req, true);
}

int pf_reconcile_refreshed(PhysicalFunction *pf) {
        return pf_reconcile_full(pf, NULL, false);
}

int pf_reconcile_planned(PhysicalFunction *pf, ReconcilePlan *plan, bool force, Request *req) {
        int r;

        r = pf_queue_request(pf, req, false);
        if (r < 0)
                return r;
        if (r > 0) {
                /* the running job changes what the plan was made against: plan again after it */
                pf->reconcile->force_next = force;
                return 0;
        }
        return pf_run_plan(pf, plan, false);
}
