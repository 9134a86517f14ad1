/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the API changes on a PF: the count, a VF's policy, Forget. Everything is checked before
 * anything is written, so that a refused call changes nothing; then the state is persisted (or kept
 * until reboot) and the PF reconciled. */
#include <inttypes.h>

#include "converge.h"
#include "drain.h"
#include "log.h"
#include "names.h"
#include "pf-reconcile.h"
#include "pf-settings.h"

static PfConfig *pf_config_copy_state(const PfConfig *c) {
        PfConfig *n = pf_config_new(NULL);

        if (!n)
                return NULL;
        if (!c)
                return n;
        n->num_vfs = c->num_vfs;
        n->drivers_autoprobe = c->drivers_autoprobe;
        if (c->n_vfs > 0) {
                n->vfs = calloc(c->n_vfs, sizeof *n->vfs);
                if (!n->vfs)
                        return pf_config_free(n);
                memcpy(n->vfs, c->vfs, c->n_vfs * sizeof *n->vfs);
                n->n_vfs = c->n_vfs;
        }
        return n;
}

/* Merges keys into the single-VF section of index, adding one if there is none. */
static int pf_config_merge_vf(PfConfig *c, unsigned index, const VfPolicy *keys) {
        VfSection *a;

        for (size_t i = 0; i < c->n_vfs; i++)
                if (c->vfs[i].first == index && c->vfs[i].last == index) {
                        policy_merge(&c->vfs[i].policy, keys);
                        return 0;
                }
        a = reallocarray(c->vfs, c->n_vfs + 1, sizeof *a);
        if (!a)
                return -ENOMEM;
        c->vfs = a;
        c->vfs[c->n_vfs++] = (VfSection){.first = index, .last = index, .policy = *keys};
        return 0;
}

static void pf_config_unset_vf_keys(PfConfig *c, unsigned index, uint32_t keys) {
        for (size_t i = 0; i < c->n_vfs; i++)
                if (c->vfs[i].first == index && c->vfs[i].last == index)
                        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                                if (keys & (UINT32_C(1) << k))
                                        policy_unset(&c->vfs[i].policy, k);
}

/* One change of what the API keeps for a PF: a count, or keys of one VF's policy. */
typedef struct StateChange {
        int num_vfs; /* -1: unchanged */
        unsigned vf_index;
        const VfPolicy *vf_keys; /* NULL: unchanged */
} StateChange;

/* Writes the change into the runtime or the persistent state, and then into memory. A persistent
 * change also drops the same keys from the runtime state, which would otherwise hide it until the
 * next reboot. */
static int pf_save_state(PhysicalFunction *pf, const StateChange *ch, bool runtime, char **ret_error) {
        Store *store = runtime ? pf->host->runtime_store : pf->host->store;
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *rt = NULL;
        int r;

        if (!store)
                return asprintf_safe(ret_error, "The %s state directory is not usable, see the log",
                                     runtime ? "runtime" : "persistent"),
                       -EIO;

        c = pf_config_copy_state(runtime ? pf->runtime : pf->persisted);
        if (!c)
                return -ENOMEM;
        if (ch->num_vfs >= 0)
                c->num_vfs = ch->num_vfs;
        if (ch->vf_keys) {
                r = pf_config_merge_vf(c, ch->vf_index, ch->vf_keys);
                if (r < 0)
                        return r;
        }
        r = store_save_pf(store, pf->address, c);
        if (r < 0)
                return asprintf_safe(ret_error, "Failed to save the state of %s: %s", pf->address,
                                     strerror(-r)),
                       -EIO;

        if (!runtime && pf->runtime && pf->host->runtime_store) {
                rt = pf_config_copy_state(pf->runtime);
                if (!rt)
                        return -ENOMEM;
                if (ch->num_vfs >= 0)
                        rt->num_vfs = -1;
                if (ch->vf_keys)
                        pf_config_unset_vf_keys(rt, ch->vf_index, ch->vf_keys->set);
                r = store_save_pf(pf->host->runtime_store, pf->address, rt);
                if (r < 0)
                        log_pf(LOG_WARNING, r, pf,
                               "Failed to drop the runtime state replaced, ignoring: %m");
                else {
                        pf_config_free(pf->runtime);
                        pf->runtime = TAKE_PTR(rt);
                }
        }

        if (runtime) {
                pf_config_free(pf->runtime);
                pf->runtime = TAKE_PTR(c);
        } else {
                pf_config_free(pf->persisted);
                pf->persisted = TAKE_PTR(c);
        }
        return 0;
}

/* The count change itself, checked against the kernel and the leases as they are now. */
static int pf_apply_num_vfs(PhysicalFunction *pf, unsigned count, uint64_t flags, Request *req,
                            char **ret_error) {
        _cleanup_(reconcile_plan_done) ReconcilePlan plan = {};
        bool force = flags & PF_SETTINGS_FORCE;
        int r;

        r = pf_check_stuck(pf, ret_error);
        if (r < 0)
                return r;
        (void) pf_refresh(pf);
        if (count > pf->total_vfs) {
                *ret_error = reconcile_total_message(pf->address, pf->vendor_id, count, pf->total_vfs);
                return *ret_error ? -ERANGE : -ENOMEM;
        }

        /* planned once, against the kernel as it is now: a refusal changes nothing, and the plan is the
         * one the job carries out */
        r = pf_plan(pf, (int) count, force, false, &plan);
        if (r < 0)
                return r;
        if (plan.action == PLAN_REFUSE) {
                log_pf(LOG_WARNING, plan.error, pf, "Refused SetNumVFs(%u): %s", count, plan.message);
                *ret_error = TAKE_PTR(plan.message);
                return plan.error;
        }

        /* the force goes to disk before the count: a crash in between must not leave a persisted count
         * that the next sriovd refuses */
        if (force) {
                r = pf_mark_forced_count(pf, count);
                if (r < 0)
                        return asprintf_safe(ret_error, "Failed to record the forced count of %s: %s",
                                             pf->address, strerror(-r)),
                               -EIO;
        } else
                pf_clear_forced_count(pf);
        r = pf_save_state(pf, &(StateChange){.num_vfs = (int) count}, flags & PF_SETTINGS_RUNTIME,
                          ret_error);
        if (r < 0) {
                if (force)
                        pf_clear_forced_count(pf);
                return r;
        }
        log_pf(LOG_INFO, 0, pf, "NumVFs set to %u%s%s through the API", count,
               flags & PF_SETTINGS_RUNTIME ? " (runtime)" : "", force ? " (forced)" : "");
        /* a forced change goes through a change waiting for leases: that one is answered now */
        if (pf_drain_pending(pf)) {
                _cleanup_free_ char *m = NULL;
                (void) asprintf_safe(&m, "Superseded by a forced change of NumVFs of %s to %u", pf->address,
                                     count);
                pf_drain_done(pf, -EBUSY, m ?: "Superseded by a forced change of NumVFs");
        }
        pf_update_desired(pf);

        req->scope_vf = REQUEST_SCOPE_COUNT;
        (void) pf_reconcile_planned(pf, &plan, force, req);
        return 0;
}

int pf_set_num_vfs(PhysicalFunction *pf, unsigned count, uint64_t flags, uint64_t wait_usec, Request *req,
                   char **ret_error) {
        _cleanup_(reconcile_plan_done) ReconcilePlan plan = {}, drained = {};
        bool wait = flags & PF_SETTINGS_WAIT;
        int r;

        if (wait && (flags & PF_SETTINGS_FORCE))
                return asprintf_safe(ret_error, "The wait and force flags exclude each other: force removes "
                                                "leased VFs without asking"),
                       -EINVAL;
        if (!wait && wait_usec != PF_SETTINGS_WAIT_UNSET)
                return asprintf_safe(ret_error, "WaitUSec is for the wait flag only"), -EINVAL;
        if (wait && wait_usec == PF_SETTINGS_WAIT_UNSET)
                wait_usec = SRIOVD_WAIT_USEC_DEFAULT;
        if (wait && (wait_usec == 0 || wait_usec > SRIOVD_WAIT_USEC_MAX))
                return asprintf_safe(ret_error,
                                     "Invalid WaitUSec %" PRIu64 ": more than 0 and at most %" PRIu64
                                     " (one hour) is expected",
                                     wait_usec, SRIOVD_WAIT_USEC_MAX),
                       -EINVAL;
        /* one change at a time: a forced one goes through a waiting one, anything else waits its turn */
        if (!(flags & PF_SETTINGS_FORCE)) {
                r = pf_drain_check_idle(pf, ret_error);
                if (r < 0)
                        return r;
        }
        flags &= ~PF_SETTINGS_WAIT;
        if (!wait)
                return pf_apply_num_vfs(pf, count, flags, req, ret_error);

        r = pf_check_stuck(pf, ret_error);
        if (r < 0)
                return r;
        (void) pf_refresh(pf);
        r = pf_plan(pf, (int) count, false, false, &plan);
        if (r < 0)
                return r;
        if (plan.action != PLAN_REFUSE || plan.error != -EBUSY)
                return pf_apply_num_vfs(pf, count, flags, req, ret_error);

        /* only leases are asked: a VF on vfio-pci that no lease holds (a VM's) still needs force, and
         * then nobody is asked anything */
        r = pf_plan(pf, (int) count, false, true, &drained);
        if (r < 0)
                return r;
        if (drained.action == PLAN_REFUSE) {
                log_pf(LOG_WARNING, drained.error, pf, "Refused SetNumVFs(%u): %s", count, drained.message);
                *ret_error = TAKE_PTR(drained.message);
                return drained.error;
        }
        r = pf_drain_start(pf, count, flags, wait_usec, req, pf_apply_num_vfs);
        if (r < 0)
                return r;
        if (r == 0) {
                *ret_error = TAKE_PTR(plan.message);
                return plan.error;
        }
        req->scope_vf = REQUEST_SCOPE_COUNT;
        return 0;
}

int pf_set_vf_policy(PhysicalFunction *pf, unsigned index, const VfPolicy *keys, uint64_t flags,
                     Request *req, char **ret_error) {
        _cleanup_free_ char *invalid = NULL;
        bool runtime = flags & PF_SETTINGS_RUNTIME;
        VfPolicy merged;
        int r;

        r = pf_check_stuck(pf, ret_error);
        if (r < 0)
                return r;
        (void) pf_refresh(pf);
        if (index >= pf->total_vfs)
                return asprintf_safe(
                               ret_error,
                               "VF %u does not exist on %s: it supports VFs 0 to %i (sriov_totalvfs %u)",
                               index, pf->address, (int) pf->total_vfs - 1, pf->total_vfs),
                       -ERANGE;

        /* what would be in force must make sense as a whole, or nothing is taken */
        (void) pf_desired_vf_policy(pf, index, &merged);
        policy_merge(&merged, keys);
        r = policy_validate(&merged, &invalid);
        if (r < 0)
                return *ret_error = TAKE_PTR(invalid), -EINVAL;
        if (POLICY_HAS(keys, POLICY_DRIVER) && streq(keys->driver, DRIVER_VFIO_PCI) && !iommu_active())
                return asprintf_safe(ret_error, "Cannot bind VF %u of %s to vfio-pci: " IOMMU_HINT, index,
                                     pf->address),
                       -EOPNOTSUPP;

        r = pf_save_state(pf, &(StateChange){.num_vfs = -1, .vf_index = index, .vf_keys = keys}, runtime,
                          ret_error);
        if (r < 0)
                return r;
        log_pf(LOG_INFO, 0, pf, "Policy of VF %u changed through the API%s", index,
               runtime ? " (runtime)" : "");
        pf_update_desired(pf);

        req->scope_vf = (int) index;
        (void) pf_reconcile(pf, req);
        return 0;
}

int pf_forget(PhysicalFunction *pf, Request *req, char **ret_error) {
        Store *runtime = pf->host->runtime_store, *persistent = pf->host->store;
        int r;

        r = pf_check_stuck(pf, ret_error);
        if (r < 0)
                return r;
        /* all or nothing: the runtime state goes first and comes back if the persistent one cannot go */
        if (runtime) {
                r = store_remove_pf(runtime, pf->address);
                if (r < 0)
                        return asprintf_safe(ret_error, "Failed to remove the runtime state of %s: %s",
                                             pf->address, strerror(-r)),
                               -EIO;
        }
        if (persistent) {
                r = store_remove_pf(persistent, pf->address);
                if (r < 0) {
                        if (runtime && pf->runtime && store_save_pf(runtime, pf->address, pf->runtime) < 0)
                                log_pf(LOG_ERR, 0, pf,
                                       "Failed to put the runtime state back after Forget failed");
                        return asprintf_safe(ret_error, "Failed to remove the state of %s: %s", pf->address,
                                             strerror(-r)),
                               -EIO;
                }
        }
        pf->runtime = pf_config_free(pf->runtime);
        pf->persisted = pf_config_free(pf->persisted);
        log_pf(LOG_INFO, 0, pf, "Forgot the state set through the API");
        pf_update_desired(pf);
        (void) pf_reconcile(pf, req);
        return 0;
}
