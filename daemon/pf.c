/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "bus-errors.h"
#include "job.h"
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

typedef struct NumVfsWork {
        Manager *manager;
        char address[13];
        char *syspath;
        unsigned values[2];
        size_t n_values;
} NumVfsWork;

static void numvfs_work_free(NumVfsWork *w) {
        if (!w)
                return;
        free(w->syspath);
        free(w);
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

void pf_update_vf_policy(PhysicalFunction *pf, VirtualFunction *vf) {
        VfPolicy p = {}, q;
        const PfConfig *sources[] = {pf->config, pf->persisted, pf->runtime};

        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                if (sources[i] && pf_config_vf_policy(sources[i], vf->index, &q))
                        policy_merge(&p, &q);
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
        (void) pf_reconcile(pf, NULL);
        return 0;
}

int pf_schedule_reconcile(PhysicalFunction *pf, uint64_t delay_usec) {
        uint64_t now_usec;
        int r;

        if (pf->reconcile_source)
                return 0;
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

void pf_check_drift(PhysicalFunction *pf) {
        if (pf->job || pf->desired_num_vfs < 0 || pf->state != PF_STATE_ENFORCED)
                return;
        if (pf->num_vfs == (unsigned) pf->desired_num_vfs)
                return;

        log_pf(LOG_WARNING, 0, pf, "NumVFs changed behind sriovd's back to %u, putting back %i", pf->num_vfs,
               pf->desired_num_vfs);
        pf_set_state(pf, PF_STATE_DRIFT, NULL);
        (void) pf_schedule_reconcile(pf, DRIFT_COALESCE_USEC);
}

static void numvfs_work(Job *j) {
        NumVfsWork *w = j->userdata;

        for (size_t i = 0; i < w->n_values; i++) {
                char value[16];

                snprintf(value, sizeof value, "%u", w->values[i]);
                j->error = sysfs_write_attr(w->syspath, SYSFS_SRIOV_NUMVFS, value);
                if (j->error < 0)
                        return;
        }
}

static void numvfs_done(Job *j) {
        NumVfsWork *w = j->userdata;
        PhysicalFunction *pf = manager_find_pf(w->manager, w->address);
        _cleanup_free_ char *message = NULL;
        int error = j->error;

        if (!pf || pf->job != j) {
                log_debug("Kernel job for %s ended after the PF went away", w->address);
                numvfs_work_free(w);
                job_free(j);
                return;
        }
        pf->job = NULL;
        numvfs_work_free(w);
        job_free(j);

        (void) pf_refresh(pf);

        if (error < 0) {
                message = reconcile_write_error_message(pf->address, pf->driver, pf->job_from, pf->job_to,
                                                        error);
                log_pf(LOG_ERR, error, pf, "%s", strempty(message));
        } else if (pf->num_vfs != pf->job_to) {
                /* the kernel accepts the write but the driver may enable fewer VFs than asked */
                error = -EIO;
                (void) asprintf_safe(&message,
                                     "Kernel enabled only %u of %u VFs on %s%s%s%s (partial enable)",
                                     pf->num_vfs, pf->job_to, pf->address, pf->driver ? " (" : "",
                                     strempty(pf->driver), pf->driver ? ")" : "");
                log_pf(LOG_ERR, error, pf, "%s", strempty(message));
        } else
                log_pf(LOG_INFO, 0, pf, "NumVFs is now %u", pf->num_vfs);

        if (error < 0)
                pf_set_state(pf, PF_STATE_FAILED, message ?: "Failed to change NumVFs");
        else
                pf_set_state(pf, PF_STATE_ENFORCED, NULL);
        pf_complete_requests(&pf->running, &pf->n_running, error, message);

        if (pf->reconcile_again || pf->n_waiting > 0) {
                pf->reconcile_again = false;
                (void) pf_reconcile(pf, NULL);
        }
}

static int pf_start_job(PhysicalFunction *pf, const ReconcilePlan *plan) {
        NumVfsWork *w;
        int r;

        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->manager = pf->manager;
        memcpy(w->address, pf->address, sizeof w->address);
        w->syspath = strdup(pf->syspath);
        if (!w->syspath) {
                numvfs_work_free(w);
                return -ENOMEM;
        }
        memcpy(w->values, plan->values, sizeof w->values);
        w->n_values = plan->n_values;

        r = job_start(pf->manager->event, numvfs_work, numvfs_done, w, &pf->job);
        if (r < 0) {
                numvfs_work_free(w);
                return r;
        }
        pf->job_from = pf->num_vfs;
        pf->job_to = plan->values[plan->n_values - 1];
        log_pf(LOG_INFO, 0, pf, "Changing NumVFs from %u to %u%s", pf->job_from, pf->job_to,
               plan->n_values > 1 ? " (through 0)" : "");
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

        vfs = calloc(MAX(pf->n_vfs, (size_t) 1), sizeof *vfs);
        if (!vfs)
                return -ENOMEM;
        for (size_t i = 0; i < pf->n_vfs; i++) {
                VirtualFunction *vf = pf->vfs[i];
                if (!vf)
                        continue;
                vfs[n++] = (ReconcileVf){
                        .index = vf->index,
                        .address = vf->address,
                        .driver = vf->driver,
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
        _cleanup_free_ ReconcileVf *vfs = NULL;
        _cleanup_(reconcile_plan_done) ReconcilePlan plan = {};
        ReconcileInput in;
        int r;

        if (req) {
                r = pf_add_request(&pf->waiting, &pf->n_waiting, req);
                if (r < 0)
                        return log_oom();
        }
        pf->reconcile_source = sd_event_source_disable_unref(pf->reconcile_source);

        if (pf->job) {
                pf->reconcile_again = true;
                return 0;
        }

        r = pf_refresh(pf);
        if (r < 0) {
                pf_complete_requests(&pf->waiting, &pf->n_waiting, r,
                                     "Failed to read the PF's state from sysfs");
                return r;
        }

        r = pf_build_reconcile_input(pf, pf->desired_num_vfs, pf->force_next, &in, &vfs);
        if (r >= 0)
                r = reconcile_plan(&in, &plan);
        pf->force_next = false;
        if (r < 0) {
                pf_complete_requests(&pf->waiting, &pf->n_waiting, r, "Out of memory");
                return log_oom();
        }

        switch (plan.action) {
        case PLAN_NOTHING:
                if (pf->desired_num_vfs < 0)
                        pf_set_state(pf, pf->config_error ? PF_STATE_FAILED : PF_STATE_UNMANAGED, NULL);
                else
                        pf_set_state(pf, PF_STATE_ENFORCED, NULL);
                pf_complete_requests(&pf->waiting, &pf->n_waiting, 0, NULL);
                return 0;

        case PLAN_REFUSE:
                log_pf(LOG_ERR, plan.error, pf, "%s", plan.message);
                pf_set_state(pf, PF_STATE_FAILED, plan.message);
                pf_complete_requests(&pf->waiting, &pf->n_waiting, plan.error, plan.message);
                return 0;

        case PLAN_WRITE:
                r = pf_start_job(pf, &plan);
                if (r < 0) {
                        _cleanup_free_ char *m = NULL;
                        (void) asprintf_safe(&m, "Failed to start changing NumVFs of %s: %s", pf->address,
                                             strerror(-r));
                        pf_set_state(pf, PF_STATE_FAILED, m);
                        pf_complete_requests(&pf->waiting, &pf->n_waiting, r, m);
                        return log_pf(LOG_ERR, r, pf, "Failed to start kernel job: %m");
                }
                /* the requests so far are answered by this job; later ones by the next */
                free(pf->running);
                pf->running = TAKE_PTR(pf->waiting);
                pf->n_running = pf->n_waiting;
                pf->n_waiting = 0;
                pf_set_state(pf, PF_STATE_CONVERGING, NULL);
                return 0;
        }
        return 0;
}
