/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-errors.h"
#include "converge.h"
#include "job.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "pci.h"
#include "pf.h"
#include "reconcile.h"
#include "sysfs.h"

/* A count changed behind sriovd's back is put back after this long, so that a burst of VF uevents
 * (the kernel sends one per VF) turns into one reconcile. */
#define DRIFT_COALESCE_USEC (500 * 1000ULL)

static const char *const pf_state_table[_PF_STATE_MAX] = {
        [PF_STATE_UNMANAGED] = "unmanaged", [PF_STATE_CONVERGING] = "converging",
        [PF_STATE_ENFORCED] = "enforced",   [PF_STATE_DRIFT] = "drift",
        [PF_STATE_FAILED] = "failed",
};

DEFINE_STRING_TABLE_LOOKUP(pf_state, PfState);

typedef struct JobContext {
        Manager *manager;
        ConvergeWork *work;
        bool explicit_count; /* a caller asked for this count: a failed write may be retried */
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

int pf_new(Manager *m, const char *address, const char *syspath, PhysicalFunction **ret) {
        _cleanup_(pf_freep) PhysicalFunction *pf = NULL;
        int r;

        pf = calloc(1, sizeof *pf);
        if (!pf)
                return -ENOMEM;
        pf->manager = m;
        snprintf(pf->address, sizeof pf->address, "%s", address);
        pf->desired_num_vfs = -1;
        pf->drivers_autoprobe = true;
        pf->syspath = strdup(syspath);
        if (!pf->syspath)
                return -ENOMEM;
        r = sd_bus_path_encode(SRIOVD_PF_PREFIX, address, &pf->object_path);
        if (r < 0)
                return r;

        (void) sysfs_read_hex16(syspath, SYSFS_VENDOR, &pf->vendor_id);
        (void) sysfs_read_hex16(syspath, SYSFS_DEVICE, &pf->device_id);
        (void) pci_lookup_names(m->pci_access, pf->vendor_id, pf->device_id, &pf->vendor, &pf->model);

        *ret = TAKE_PTR(pf);
        return 0;
}

static void pf_complete_requests(Request ***list, size_t *n, int error, const char *message) {
        Request **l = TAKE_PTR(*list);
        size_t k = *n;

        *n = 0;
        for (size_t i = 0; i < k; i++) {
                request_complete_one(l[i], error, message);
                request_unref(l[i]);
        }
        free(l);
}

PhysicalFunction *pf_free(PhysicalFunction *pf) {
        if (!pf)
                return NULL;

        /* a job still running finds no PF when it ends and is dropped then */
        pf_complete_requests(&pf->running, &pf->n_running, -ENODEV, "The PF was removed");
        pf_complete_requests(&pf->waiting, &pf->n_waiting, -ENODEV, "The PF was removed");
        sd_event_source_disable_unref(pf->reconcile_source);
        for (size_t i = 0; i < pf->n_vfs; i++)
                vf_free(pf->vfs[i]);
        free(pf->vfs);
        pf_config_free(pf->persisted);
        pf_config_free(pf->runtime);
        free(pf->config_error);
        free(pf->syspath);
        free(pf->object_path);
        free(pf->interface);
        free(pf->driver);
        free(pf->vendor);
        free(pf->model);
        free(pf->last_error);
        free(pf->count_error);
        free(pf);
        return NULL;
}

VirtualFunction *pf_get_vf(PhysicalFunction *pf, unsigned index) {
        return index < pf->n_vfs ? pf->vfs[index] : NULL;
}

void pf_match_info(PhysicalFunction *pf, PfMatchInfo *ret) {
        *ret = (PfMatchInfo){
                .pci_address = pf->address,
                .interface = pf->interface,
                .driver = pf->driver,
                .vendor = pf->vendor_id,
                .device = pf->device_id,
        };
}

static void emit_pf_changed(PhysicalFunction *pf, const char **changed, size_t n) {
        changed[n] = NULL;
        if (n > 0 && pf->manager->bus)
                (void) sd_bus_emit_properties_changed_strv(pf->manager->bus, pf->object_path,
                                                           SRIOVD_PF_INTERFACE, (char **) changed);
}

void pf_set_state(PhysicalFunction *pf, PfState state, const char *error) {
        const char *changed[3];
        size_t n = 0;

        if (!error && !pf->job && pf->config_error)
                error = pf->config_error;
        if (pf->state != state) {
                log_pf(LOG_DEBUG, 0, pf, "State %s -> %s", pf_state_to_string(pf->state),
                       pf_state_to_string(state));
                pf->state = state;
                changed[n++] = "State";
        }
        if (free_and_strdup(&pf->last_error, error) > 0)
                changed[n++] = "LastError";
        emit_pf_changed(pf, changed, n);
        manager_update_state(pf->manager);
}

static int pf_refresh_vfs(PhysicalFunction *pf) {
        sd_bus *bus = pf->manager->bus;
        unsigned limit = MAX(pf->total_vfs, (unsigned) pf->n_vfs);
        bool list_changed = false;
        int r;

        if (limit > pf->n_vfs) {
                VirtualFunction **a = reallocarray(pf->vfs, limit, sizeof *a);
                if (!a)
                        return -ENOMEM;
                memset(a + pf->n_vfs, 0, (limit - pf->n_vfs) * sizeof *a);
                pf->vfs = a;
                pf->n_vfs = limit;
        }

        for (unsigned i = 0; i < limit; i++) {
                _cleanup_free_ char *address = NULL;
                char name[32];
                VirtualFunction *vf = pf->vfs[i];

                snprintf(name, sizeof name, SYSFS_VIRTFN_PREFIX "%u", i);
                r = sysfs_read_link_name(pf->syspath, name, &address);
                if (r < 0 && r != -ENOENT)
                        log_pf(LOG_DEBUG, r, pf, "Failed to read %s, ignoring: %m", name);

                if (vf && (!address || !streq(vf->address, address))) {
                        if (bus)
                                (void) sd_bus_emit_object_removed(bus, vf->object_path);
                        pf->vfs[i] = vf_free(vf);
                        list_changed = true;
                }
                if (!address)
                        continue;
                if (!pf->vfs[i]) {
                        r = vf_new(pf, i, address, &pf->vfs[i]);
                        if (r < 0)
                                return r;
                        (void) vf_refresh(pf->vfs[i]);
                        pf_update_vf_policy(pf, pf->vfs[i]);
                        if (bus)
                                (void) sd_bus_emit_object_added(bus, pf->vfs[i]->object_path);
                        list_changed = true;
                } else
                        (void) vf_refresh(pf->vfs[i]);
        }

        while (pf->n_vfs > 0 && !pf->vfs[pf->n_vfs - 1])
                pf->n_vfs--;

        return list_changed;
}

int pf_refresh(PhysicalFunction *pf) {
        _cleanup_free_ char *driver = NULL, *interface = NULL;
        unsigned total = 0, num = 0, autoprobe = 1;
        const char *changed[8];
        size_t n = 0;
        int r;

        if (access(pf->syspath, F_OK) < 0)
                return -ENODEV;

        r = sysfs_read_uint(pf->syspath, SYSFS_SRIOV_TOTALVFS, &total);
        if (r < 0)
                log_pf(LOG_DEBUG, r, pf, "Failed to read " SYSFS_SRIOV_TOTALVFS ", ignoring: %m");
        r = sysfs_read_uint(pf->syspath, SYSFS_SRIOV_NUMVFS, &num);
        if (r < 0)
                log_pf(LOG_DEBUG, r, pf, "Failed to read " SYSFS_SRIOV_NUMVFS ", ignoring: %m");
        (void) sysfs_read_uint(pf->syspath, SYSFS_SRIOV_DRIVERS_AUTOPROBE, &autoprobe);
        (void) sysfs_read_link_name(pf->syspath, SYSFS_DRIVER, &driver);
        (void) sysfs_read_interface(pf->syspath, &interface);

        if (pf->total_vfs != total) {
                pf->total_vfs = total;
                changed[n++] = "TotalVFs";
        }
        if (pf->num_vfs != num) {
                pf->num_vfs = num;
                changed[n++] = "NumVFs";
        }
        if (pf->drivers_autoprobe != !!autoprobe) {
                pf->drivers_autoprobe = !!autoprobe;
                changed[n++] = "DriversAutoprobe";
        }
        if (free_and_strdup(&pf->driver, driver) > 0)
                changed[n++] = "Driver";
        if (free_and_strdup(&pf->interface, interface) > 0)
                changed[n++] = "Interface";

        r = pf_refresh_vfs(pf);
        if (r < 0)
                return log_pf(LOG_ERR, r, pf, "Failed to enumerate VFs: %m");
        if (r > 0)
                changed[n++] = "VirtualFunctions";

        emit_pf_changed(pf, changed, n);
        return 0;
}

static const PfConfig *pf_num_vfs_source(PhysicalFunction *pf) {
        if (pf->runtime && pf->runtime->num_vfs >= 0)
                return pf->runtime;
        if (pf->persisted && pf->persisted->num_vfs >= 0)
                return pf->persisted;
        if (pf->config && pf->config->num_vfs >= 0)
                return pf->config;
        return NULL;
}

const char *pf_config_source(PhysicalFunction *pf) {
        const PfConfig *c = pf_num_vfs_source(pf);

        if (!c)
                return pf->config ? pf->config->path : "";
        if (c == pf->config)
                return c->path;
        return "api";
}

bool pf_desired_vf_policy(PhysicalFunction *pf, unsigned index, VfPolicy *ret) {
        const PfConfig *sources[] = {pf->config, pf->persisted, pf->runtime};
        VfPolicy p = {}, q;
        bool found = false;

        Lease *l;

        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                if (sources[i] && pf_config_vf_policy(sources[i], index, &q)) {
                        policy_merge(&p, &q);
                        found = true;
                }
        /* a lease's options (or, while it is released, the recorded state) win */
        l = manager_find_lease_for_vf(pf->manager, pf->address, index);
        if (l && l->layer.set) {
                policy_merge(&p, &l->layer);
                found = true;
        }
        *ret = p;
        return found;
}

int pf_desired_autoprobe(PhysicalFunction *pf) {
        const PfConfig *sources[] = {pf->runtime, pf->persisted, pf->config};

        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                if (sources[i] && sources[i]->drivers_autoprobe >= 0)
                        return sources[i]->drivers_autoprobe;
        return -1;
}

void pf_update_vf_policy(PhysicalFunction *pf, VirtualFunction *vf) {
        VfPolicy p;

        (void) pf_desired_vf_policy(pf, vf->index, &p);
        if (policy_equal(&p, &vf->policy))
                return;
        vf->policy = p;
        if (pf->manager->bus)
                (void) sd_bus_emit_properties_changed(pf->manager->bus, vf->object_path, SRIOVD_VF_INTERFACE,
                                                      "Policy", NULL);
}

void pf_update_desired(PhysicalFunction *pf) {
        const PfConfig *c = pf_num_vfs_source(pf);
        int desired = c ? c->num_vfs : -1;
        const char *changed[3];
        size_t n = 0;

        if (pf->desired_num_vfs != desired) {
                pf->desired_num_vfs = desired;
                changed[n++] = "DesiredNumVFs";
        }
        /* ConfigSource is cheap to compute, always announce it together with the count */
        changed[n++] = "ConfigSource";
        emit_pf_changed(pf, changed, n);

        for (size_t i = 0; i < pf->n_vfs; i++)
                if (pf->vfs[i])
                        pf_update_vf_policy(pf, pf->vfs[i]);
}

static int reconcile_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        PhysicalFunction *pf = userdata;

        pf->reconcile_source = sd_event_source_disable_unref(pf->reconcile_source);
        (void) pf_reconcile_full(pf, NULL, pf->readback_only_pending);
        return 0;
}

static int pf_schedule(PhysicalFunction *pf, uint64_t delay_usec, bool readback_only) {
        uint64_t now_usec;
        int r;

        if (pf->reconcile_source) {
                /* a reconcile also reads back, so it wins over a pending read-back */
                if (!readback_only)
                        pf->readback_only_pending = false;
                return 0;
        }
        pf->readback_only_pending = readback_only;
        r = sd_event_now(pf->manager->event, CLOCK_MONOTONIC, &now_usec);
        if (r < 0)
                return r;
        r = sd_event_add_time(pf->manager->event, &pf->reconcile_source, CLOCK_MONOTONIC,
                              now_usec + delay_usec, 0, reconcile_handler, pf);
        if (r < 0)
                return log_pf(LOG_ERR, r, pf, "Failed to schedule reconcile: %m");
        (void) sd_event_source_set_description(pf->reconcile_source, "pf-reconcile");
        return 0;
}

int pf_schedule_reconcile(PhysicalFunction *pf, uint64_t delay_usec) {
        return pf_schedule(pf, delay_usec, false);
}

int pf_schedule_readback(PhysicalFunction *pf) {
        return pf_schedule(pf, EVENT_COALESCE_USEC, true);
}

void pf_check_drift(PhysicalFunction *pf) {
        if (pf->job || pf->desired_num_vfs < 0 || pf->state != PF_STATE_ENFORCED)
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

static void vf_set_actual(VirtualFunction *vf, const VfPolicy *actual) {
        static const char *const names[_POLICY_KEY_MAX] = {
                [POLICY_MAC_ADDRESS] = "MACAddress",        [POLICY_VLAN_ID] = "VLANId",
                [POLICY_QOS] = "QualityOfService",          [POLICY_VLAN_PROTOCOL] = "VLANProtocol",
                [POLICY_MAC_SPOOF_CHECK] = "MACSpoofCheck", [POLICY_TRUST] = "Trust",
                [POLICY_LINK_STATE] = "LinkState",          [POLICY_MIN_TX_RATE] = "MinTxRate",
                [POLICY_MAX_TX_RATE] = "MaxTxRate",
        };
        const char *changed[_POLICY_KEY_MAX + 1];
        size_t n = 0;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (names[k] && (POLICY_HAS(actual, k) != POLICY_HAS(&vf->actual, k) ||
                                 !policy_key_equal(actual, &vf->actual, k)))
                        changed[n++] = names[k];
        changed[n] = NULL;
        vf->actual = *actual;
        if (n > 0 && vf->pf->manager->bus)
                (void) sd_bus_emit_properties_changed_strv(vf->pf->manager->bus, vf->object_path,
                                                           SRIOVD_VF_INTERFACE, (char **) changed);
}

/* Keys of the VF's policy that the kernel does not have now (Driver against the bound driver). */
uint32_t vf_drifted_keys(VirtualFunction *vf) {
        uint32_t keys = 0;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                if (!POLICY_HAS(&vf->policy, k))
                        continue;
                if (k == POLICY_DRIVER) {
                        if (!isempty(vf->policy.driver) && !streq_ptr(vf->driver, vf->policy.driver))
                                keys |= UINT32_C(1) << k;
                } else if (POLICY_HAS(&vf->actual, k) && !policy_key_equal(&vf->policy, &vf->actual, k))
                        keys |= UINT32_C(1) << k;
        }
        return keys;
}

static void pf_complete_running(PhysicalFunction *pf, int count_error, const char *count_message) {
        Request **l = TAKE_PTR(pf->running);
        size_t k = pf->n_running;

        pf->n_running = 0;
        for (size_t i = 0; i < k; i++) {
                Request *req = l[i];
                _cleanup_free_ char *m = count_message ? strdup(count_message) : NULL;
                int error = count_error;

                /* a request about the count alone is not failed by a VF's link settings */
                if (req->scope_vf != REQUEST_SCOPE_COUNT)
                        for (size_t j = 0; j < pf->n_vfs; j++) {
                                VirtualFunction *vf = pf->vfs[j];
                                char *s;

                                if (!vf || vf->state != VF_STATE_FAILED || !vf->last_error)
                                        continue;
                                if (req->scope_vf >= 0 && (unsigned) req->scope_vf != vf->index)
                                        continue;
                                if (error >= 0)
                                        error = vf->error;
                                if (asprintf_safe(&s, "%s%sVF %u: %s", strempty(m), m ? "; " : "", vf->index,
                                                  vf->last_error) >= 0) {
                                        free(m);
                                        m = s;
                                }
                        }
                request_complete_one(req, error, m);
                request_unref(req);
        }
        free(l);
}

static void job_done(Job *j) {
        JobContext *c = j->userdata;
        ConvergeWork *w = c->work;
        PhysicalFunction *pf = manager_find_pf(c->manager, w->address);
        _cleanup_free_ char *message = NULL, *vf_errors = NULL;
        unsigned to = w->n_values > 0 ? w->values[w->n_values - 1] : 0;
        bool drift = false;
        int error = w->numvfs_error;

        if (!pf || pf->job != j) {
                log_debug("Kernel job for %s ended after the PF went away", w->address);
                job_context_free(c);
                job_free(j);
                return;
        }
        pf->job = NULL;

        (void) pf_refresh(pf);

        if (w->n_values > 0) {
                if (error < 0) {
                        message = reconcile_write_error_message(pf->address, pf->driver, pf->job_from, to,
                                                                error);
                        log_pf(LOG_ERR, error, pf, "%s", strempty(message));
                } else if (pf->num_vfs != to) {
                        /* the kernel accepts the write but the driver may enable fewer VFs than asked */
                        error = -EIO;
                        (void) asprintf_safe(&message,
                                             "Kernel enabled only %u of %u VFs on %s%s%s%s (partial enable)",
                                             pf->num_vfs, to, pf->address, pf->driver ? " (" : "",
                                             strempty(pf->driver), pf->driver ? ")" : "");
                        log_pf(LOG_ERR, error, pf, "%s", strempty(message));
                } else
                        log_pf(LOG_INFO, 0, pf, "NumVFs is now %u", pf->num_vfs);
                /* a count the kernel did not take is not retried on every uevent, or a partial enable
                 * would be recreated forever; an explicit request or a driver reload tries again */
                pf->count_failed = error < 0;
        }
        if (w->pf_message)
                log_pf(LOG_WARNING, 0, pf, "%s", w->pf_message);
        if (w->truncated && !pf->warned_truncated) {
                log_pf(LOG_WARNING, 0, pf,
                       "The kernel's VF list of %s is truncated (too many VFs for one netlink "
                       "attribute); VFs beyond it show no link settings",
                       pf->interface);
                pf->warned_truncated = true;
        }

        for (size_t i = 0; i < pf->n_vfs; i++) {
                VirtualFunction *vf = pf->vfs[i];
                VfOutcome *o = i < w->n_outcomes ? w->outcomes + i : NULL;

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
                        {
                                char *e = NULL;

                                /* the PF's LastError names every VF that failed */
                                if (asprintf_safe(&e, "%s%sVF %u: %s", strempty(vf_errors),
                                                  vf_errors ? "; " : "", vf->index,
                                                  strempty(o->message)) >= 0) {
                                        free(vf_errors);
                                        vf_errors = e;
                                }
                        }
                } else if (vf_drifted_keys(vf) & (UINT32_C(1) << POLICY_DRIVER)) {
                        /* rebound behind our back after this job had dealt with it (or it came
                         * back from a reset meanwhile): its uevents came while the job ran and
                         * scheduled nothing, so put it back now */
                        log_vf(LOG_WARNING, 0, vf, "VF %u is bound to %s, not %s; putting it back",
                               vf->index, vf->driver ?: "no driver", vf->policy.driver);
                        vf_set_state(vf, VF_STATE_DRIFT, 0, NULL);
                        drift = true;
                } else
                        vf_set_state(vf, VF_STATE_OK, 0, NULL);
        }

        if (w->apply) {
                if (error < 0)
                        pf_set_state(pf, PF_STATE_FAILED, message ?: "Failed to change NumVFs");
                else if (pf->count_error)
                        pf_set_state(pf, PF_STATE_FAILED, pf->count_error);
                else if (vf_errors)
                        pf_set_state(pf, PF_STATE_FAILED, vf_errors);
                else if (pf->desired_num_vfs < 0 && !pf_has_vf_policy(pf))
                        pf_set_state(pf, pf->config_error ? PF_STATE_FAILED : PF_STATE_UNMANAGED, NULL);
                else
                        pf_set_state(pf, PF_STATE_ENFORCED, NULL);
                pf_complete_running(pf, error < 0 ? error : pf->count_error_code,
                                    message ?: pf->count_error);
        }

        job_context_free(c);
        job_free(j);

        if (drift) {
                /* put back even on a PF that failed for another VF's sake (a key its driver lacks) */
                if (pf->state == PF_STATE_ENFORCED)
                        pf_set_state(pf, PF_STATE_DRIFT, NULL);
                (void) pf_schedule_reconcile(pf, DRIFT_COALESCE_USEC);
        }
        /* the count may have been changed while this job ran, when uevents could not tell */
        pf_check_drift(pf);
        if (pf->reconcile_again || pf->n_waiting > 0) {
                pf->reconcile_again = false;
                pf->readback_again = false;
                (void) pf_reconcile(pf, NULL);
        } else if (pf->readback_again) {
                pf->readback_again = false;
                (void) pf_schedule_readback(pf);
        }
}

bool pf_has_vf_policy(PhysicalFunction *pf) {
        VfPolicy p;

        for (unsigned i = 0; i < MAX(pf->total_vfs, (unsigned) pf->n_vfs); i++)
                if (pf_desired_vf_policy(pf, i, &p) && !policy_is_empty(&p))
                        return true;
        return false;
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
        c->manager = pf->manager;
        c->work = w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        memcpy(w->address, pf->address, sizeof w->address);
        w->syspath = strdup(pf->syspath);
        w->pf_driver = pf->driver ? strdup(pf->driver) : NULL;
        w->wants = calloc(MAX(n_wants, 1u), sizeof *w->wants);
        if (!w->syspath || (pf->driver && !w->pf_driver) || !w->wants)
                return -ENOMEM;
        snprintf(w->ifname, sizeof w->ifname, "%s", strempty(pf->interface));
        w->apply = apply;
        w->n_wants = n_wants;
        for (unsigned i = 0; i < n_wants; i++)
                if (pf_desired_vf_policy(pf, i, w->wants + i) && POLICY_HAS(w->wants + i, POLICY_DRIVER) &&
                    !isempty(w->wants[i].driver))
                        any_driver = true;

        w->autoprobe = -1;
        if (apply) {
                w->autoprobe = pf_desired_autoprobe(pf);
                /* a VF meant for another driver must not meet its netdev driver when it is created */
                if (any_driver)
                        w->autoprobe = 0;
        }
        if (plan && plan->action == PLAN_WRITE) {
                memcpy(w->values, plan->values, sizeof w->values);
                w->n_values = plan->n_values;
        }

        r = job_start(pf->manager->event, job_work, job_done, c, &pf->job);
        if (r < 0)
                return r;
        TAKE_PTR(c);
        pf->job_from = pf->num_vfs;
        if (w->n_values > 0)
                log_pf(LOG_INFO, 0, pf, "Changing NumVFs from %u to %u%s", pf->job_from,
                       w->values[w->n_values - 1], w->n_values > 1 ? " (through 0)" : "");
        return 0;
}

static int pf_add_request(Request ***list, size_t *n, Request *req) {
        Request **l = reallocarray(*list, *n + 1, sizeof *l);

        if (!l)
                return -ENOMEM;
        l[(*n)++] = request_ref(req);
        *list = l;
        request_add(req);
        return 0;
}

int pf_build_reconcile_input(PhysicalFunction *pf, int desired, bool force, ReconcileInput *ret,
                             ReconcileVf **ret_vfs) {
        ReconcileVf *vfs;
        size_t n = 0;
        Lease *l;

        vfs = calloc(MAX(pf->n_vfs, (size_t) 1), sizeof *vfs);
        if (!vfs)
                return -ENOMEM;
        for (size_t i = 0; i < pf->n_vfs; i++) {
                VirtualFunction *vf = pf->vfs[i];
                if (!vf)
                        continue;
                l = manager_find_lease_for_vf(pf->manager, pf->address, vf->index);
                vfs[n++] = (ReconcileVf){
                        .index = vf->index,
                        .address = vf->address,
                        .driver = vf->driver,
                        .lease = l ? (isempty(l->consumer) ? l->id : l->consumer) : NULL,
                };
        }
        *ret = (ReconcileInput){
                .address = pf->address,
                .driver = pf->driver,
                .desired = desired,
                .current = pf->num_vfs,
                .total = pf->total_vfs,
                .force = force,
                .vfs = vfs,
                .n_vfs = n,
        };
        *ret_vfs = vfs;
        return 0;
}

int pf_reconcile(PhysicalFunction *pf, Request *req) {
        return pf_reconcile_full(pf, req, false);
}

int pf_reconcile_full(PhysicalFunction *pf, Request *req, bool readback_only) {
        _cleanup_free_ ReconcileVf *vfs = NULL;
        _cleanup_(reconcile_plan_done) ReconcilePlan plan = {};
        ReconcileInput in;
        bool automatic = !req && !readback_only;
        int r;

        if (req) {
                r = pf_add_request(&pf->waiting, &pf->n_waiting, req);
                if (r < 0)
                        return log_oom();
                /* asked for explicitly: a count the kernel refused before is worth another try */
                pf->count_failed = false;
        }
        pf->reconcile_source = sd_event_source_disable_unref(pf->reconcile_source);

        if (pf->job) {
                /* a link notification while a job runs may be someone else's change: look again after */
                if (readback_only)
                        pf->readback_again = true;
                else
                        pf->reconcile_again = true;
                return 0;
        }

        r = pf_refresh(pf);
        if (r < 0) {
                pf_complete_requests(&pf->waiting, &pf->n_waiting, r,
                                     "Failed to read the PF's state from sysfs");
                return r;
        }

        if (readback_only) {
                if (!pf->interface)
                        return 0;
                r = pf_start_job(pf, NULL, false);
                if (r < 0)
                        return log_pf(LOG_ERR, r, pf, "Failed to start reading VF settings: %m");
                return 0;
        }

        r = pf_build_reconcile_input(pf, pf->desired_num_vfs, pf->force_next, &in, &vfs);
        if (r >= 0)
                r = reconcile_plan(&in, &plan);
        pf->force_next = false;
        if (r < 0) {
                pf_complete_requests(&pf->waiting, &pf->n_waiting, r, "Out of memory");
                return log_oom();
        }

        if (pf->state == PF_STATE_DRIFT && plan.action == PLAN_WRITE)
                log_pf(LOG_WARNING, 0, pf, "NumVFs changed behind sriovd's back to %u, putting back %i",
                       pf->num_vfs, pf->desired_num_vfs);
        pf->count_error = mfree(pf->count_error);
        pf->count_error_code = 0;
        if (plan.action == PLAN_REFUSE && plan.error == -ENOENT && !pf->driver && !pf->manager->ready &&
            !manager_udev_settled(pf->manager)) {
                /* At boot the NIC's driver may bind after sriovd started, while udev still works through
                 * the coldplug events that load it: start-up waits for that (within its timeout) rather
                 * than reporting ready with no VFs. The bind uevent, or udev's empty queue, reconciles. */
                log_pf(LOG_INFO, 0, pf, "Waiting for a driver to bind before creating %i VFs",
                       pf->desired_num_vfs);
                pf_set_state(pf, PF_STATE_CONVERGING, "Waiting for a driver to bind to the PF");
                return 0;
        }
        if (plan.action == PLAN_REFUSE) {
                log_pf(LOG_ERR, plan.error, pf, "%s", plan.message);
                pf->count_error = TAKE_PTR(plan.message);
                pf->count_error_code = plan.error;
        } else if (plan.action == PLAN_WRITE && automatic && pf->count_failed) {
                log_pf(LOG_DEBUG, 0, pf, "Not retrying the count the kernel refused before");
                plan.action = PLAN_NOTHING;
        }

        r = pf_start_job(pf, &plan, true);
        if (r < 0) {
                _cleanup_free_ char *m = NULL;
                (void) asprintf_safe(&m, "Failed to start reconciling %s: %s", pf->address, strerror(-r));
                pf_set_state(pf, PF_STATE_FAILED, m);
                pf_complete_requests(&pf->waiting, &pf->n_waiting, r, m);
                return log_pf(LOG_ERR, r, pf, "Failed to start kernel job: %m");
        }
        /* the requests so far are answered by this job; later ones by the next */
        free(pf->running);
        pf->running = TAKE_PTR(pf->waiting);
        pf->n_running = pf->n_waiting;
        pf->n_waiting = 0;
        if (plan.action == PLAN_WRITE)
                pf_set_state(pf, PF_STATE_CONVERGING, NULL);
        return 0;
}
