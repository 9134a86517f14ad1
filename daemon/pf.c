/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "names.h"
#include "pci.h"
#include "pf.h"
#include "sysfs.h"

static const char *const pf_state_table[_PF_STATE_MAX] = {
        [PF_STATE_UNMANAGED] = "unmanaged", [PF_STATE_CONVERGING] = "converging",
        [PF_STATE_ENFORCED] = "enforced",   [PF_STATE_DRIFT] = "drift",
        [PF_STATE_FAILED] = "failed",
};

DEFINE_STRING_TABLE_LOOKUP(pf_state, PfState);

int pf_set_last_error(PhysicalFunction *pf, const char *error) {
        struct timespec ts;
        int r;

        if (isempty(error))
                error = NULL;
        r = free_and_strdup(&pf->last_error, error);
        if (r <= 0)
                return r;
        /* The moment a problem appeared, for monitoring (how long has this PF been failing?). */
        if (error && clock_gettime(CLOCK_REALTIME, &ts) >= 0)
                pf->last_error_usec = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        else
                pf->last_error_usec = 0;
        return 1;
}

int pf_new(PfHost *host, const char *address, const char *syspath, PhysicalFunction **ret) {
        _cleanup_free_ PhysicalFunction *pf = NULL;
        int r;

        pf = calloc(1, sizeof *pf);
        if (!pf)
                return -ENOMEM;
        pf->host = host;
        snprintf(pf->address, sizeof pf->address, "%s", address);
        pf->desired_num_vfs = -1;
        pf->drivers_autoprobe = true;
        pf->syspath = strdup(syspath);
        if (!pf->syspath)
                return -ENOMEM;
        r = sd_bus_path_encode(SRIOVD_PF_PREFIX, address, &pf->object_path);
        if (r < 0) {
                free(pf->syspath);
                return r;
        }
        object_mark_init(&pf->mark, host->changes, OBJECT_PF, pf, pf->object_path);

        (void) sysfs_read_hex16(syspath, SYSFS_VENDOR, &pf->vendor_id);
        (void) sysfs_read_hex16(syspath, SYSFS_DEVICE, &pf->device_id);

        *ret = TAKE_PTR(pf);
        return 0;
}

void pf_lookup_names(PhysicalFunction *pf) {
        if (pf->names_looked_up)
                return;
        pf->names_looked_up = true;
        (void) pci_lookup_names(pf->host->pci_access, pf->vendor_id, pf->device_id, &pf->vendor, &pf->model);
}

PhysicalFunction *pf_free(PhysicalFunction *pf) {
        if (!pf)
                return NULL;

        object_mark_done(&pf->mark);
        for (size_t i = 0; i < pf->n_vfs; i++)
                vf_free(pf->vfs[i]);
        free(pf->vfs);
        pf_config_free(pf->persisted);
        pf_config_free(pf->runtime);
        free(pf->config_error);
        free(pf->store_error);
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

static int pf_refresh_vf(PhysicalFunction *pf, unsigned i) {
        _cleanup_free_ char *address = NULL;
        VirtualFunction *vf = pf->vfs[i];
        char name[32];
        int r;

        snprintf(name, sizeof name, SYSFS_VIRTFN_PREFIX "%u", i);
        r = sysfs_read_link_name(pf->syspath, name, &address);
        if (r < 0 && r != -ENOENT)
                log_pf(LOG_DEBUG, r, pf, "Failed to read %s, ignoring: %m", name);

        if (vf && address && streq(vf->address, address)) {
                (void) vf_refresh(vf);
                return 0;
        }
        if (vf) {
                object_mark_removed(&vf->mark);
                pf->vfs[i] = vf_free(vf);
                lease_table_vf_gone(pf->host->leases, pf->address, i);
                pf->host->marks_stale = true;
        }
        if (!address)
                return vf ? 1 : 0;

        r = vf_new(pf->host->changes, pf->address, pf->syspath, pf->object_path, i, address, &pf->vfs[i]);
        if (r < 0)
                return r;
        (void) vf_refresh(pf->vfs[i]);
        pf_update_vf_policy(pf, pf->vfs[i]);
        object_mark_added(&pf->vfs[i]->mark);
        return 1;
}

/* Returns > 0 when VFs came or went. */
static int pf_refresh_vfs(PhysicalFunction *pf) {
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
                r = pf_refresh_vf(pf, i);
                if (r < 0)
                        return r;
                if (r > 0)
                        list_changed = true;
        }

        while (pf->n_vfs > 0 && !pf->vfs[pf->n_vfs - 1])
                pf->n_vfs--;

        return list_changed;
}

int pf_refresh(PhysicalFunction *pf) {
        _cleanup_free_ char *driver = NULL, *interface = NULL;
        unsigned total = 0, num = 0, autoprobe = 1;
        bool changed = false;
        int r;

        pf->stale = false;
        if (access(pf->syspath, F_OK) < 0)
                return -ENODEV;

        r = sysfs_read_uint(pf->syspath, SYSFS_SRIOV_TOTALVFS, &total);
        if (r < 0)
                log_pf(LOG_DEBUG, r, pf, "Failed to read " SYSFS_SRIOV_TOTALVFS ", ignoring: %m");
        /* Reading sriov_numvfs takes the PF's device lock, which a write of it holds until the driver
         * is done (read from source: sriov_numvfs_show()): while a job writes it, a read would hold
         * the loop as long. The job's end reads it. */
        r = pf->kernel_job ? 0 : sysfs_read_uint(pf->syspath, SYSFS_SRIOV_NUMVFS, &num);
        if (pf->kernel_job)
                num = pf->num_vfs;
        else if (r < 0)
                log_pf(LOG_DEBUG, r, pf, "Failed to read " SYSFS_SRIOV_NUMVFS ", ignoring: %m");
        (void) sysfs_read_uint(pf->syspath, SYSFS_SRIOV_DRIVERS_AUTOPROBE, &autoprobe);
        (void) sysfs_read_link_name(pf->syspath, SYSFS_DRIVER, &driver);
        (void) sysfs_read_interface(pf->syspath, &interface);

        if (pf->total_vfs != total || pf->num_vfs != num || pf->drivers_autoprobe != !!autoprobe)
                changed = true;
        pf->total_vfs = total;
        pf->num_vfs = num;
        pf->drivers_autoprobe = !!autoprobe;
        if (free_and_strdup(&pf->driver, driver) > 0)
                changed = true;
        if (free_and_strdup(&pf->interface, interface) > 0)
                changed = true;

        r = pf_refresh_vfs(pf);
        if (r < 0)
                return log_pf(LOG_ERR, r, pf, "Failed to enumerate VFs: %m");
        if (changed || r > 0)
                object_mark_changed(&pf->mark);
        return 0;
}

void pf_load_stored(PhysicalFunction *pf) {
        Store *stores[] = {pf->host->store, pf->host->runtime_store};
        PfConfig **targets[] = {&pf->persisted, &pf->runtime};

        for (size_t i = 0; i < ELEMENTSOF(stores); i++) {
                _cleanup_free_ char *error = NULL;
                PfConfig *c = NULL;
                int r;

                if (!stores[i])
                        continue;
                r = store_load_pf(stores[i], pf->address, &c, &error);
                if (r == -EBADMSG) {
                        /* the count stays as it is; a corrupt file never means 0 VFs */
                        log_pf(LOG_ERR, r, pf, "%s", strempty(error));
                        if (error)
                                (void) strextend_sep(&pf->store_error, "; ", "%s", error);
                        continue;
                }
                if (r < 0) {
                        log_pf(LOG_ERR, r, pf, "Failed to load stored state, ignoring: %m");
                        continue;
                }
                pf_config_free(*targets[i]);
                *targets[i] = r > 0 ? c : NULL;
        }
}

static char *forced_count_name(PhysicalFunction *pf) {
        return strjoin("forced-", pf->address);
}

int pf_mark_forced_count(PhysicalFunction *pf, unsigned count) {
        _cleanup_free_ char *name = forced_count_name(pf);
        char value[16];

        if (!pf->host->runtime_store)
                return -ENOENT;
        if (!name)
                return -ENOMEM;
        snprintf(value, sizeof value, "%u\n", count);
        return write_file_atomic(pf->host->runtime_store->dir, name, value);
}

void pf_clear_forced_count(PhysicalFunction *pf) {
        _cleanup_free_ char *name = forced_count_name(pf);
        int r;

        if (!pf->host->runtime_store || !name)
                return;
        r = unlink_durable(pf->host->runtime_store->dir, name);
        if (r < 0 && r != -ENOENT)
                log_pf(LOG_WARNING, r, pf, "Failed to remove %s, ignoring: %m", name);
}

int pf_forced_count(PhysicalFunction *pf) {
        _cleanup_free_ char *name = forced_count_name(pf), *path = NULL, *text = NULL;
        unsigned count;

        if (!pf->host->runtime_store || !name || !(path = path_join(pf->host->runtime_store->dir, name)))
                return -1;
        if (read_full_file(path, 64, &text, NULL) < 0 || safe_atou(strstrip(text), &count) < 0 ||
            count > INT_MAX)
                return -1;
        return (int) count;
}

static char *saved_autoprobe_name(PhysicalFunction *pf) {
        return strjoin("autoprobe-", pf->address);
}

int pf_save_autoprobe(PhysicalFunction *pf, int value) {
        _cleanup_free_ char *name = saved_autoprobe_name(pf);
        int r;

        if (!pf->host->runtime_store)
                return -ENOENT;
        if (!name)
                return -ENOMEM;
        if (value >= 0)
                return write_file_atomic(pf->host->runtime_store->dir, name, value ? "1\n" : "0\n");
        r = unlink_durable(pf->host->runtime_store->dir, name);
        return r == -ENOENT ? 0 : r;
}

int pf_load_saved_autoprobe(PhysicalFunction *pf) {
        _cleanup_free_ char *name = saved_autoprobe_name(pf), *path = NULL, *text = NULL, *what = NULL,
                            *aside = NULL;
        struct timespec ts;
        uint64_t now;
        size_t size = 0;
        int r;

        if (!pf->host->runtime_store)
                return -1;
        if (!name || !(path = path_join(pf->host->runtime_store->dir, name)))
                return log_oom(), -1;
        r = read_full_file(path, SAVED_AUTOPROBE_MAX, &text, &size);
        if (r == -ENOENT)
                return -1;
        if (r >= 0) {
                bool text_only = strlen(text) == size; /* no NUL inside */
                const char *v = strstrip(text);

                if (text_only && (streq(v, "0") || streq(v, "1")))
                        return v[0] == '1';
                if (text_only && string_is_safe(v, SAVED_AUTOPROBE_MAX))
                        r = asprintf_safe(&what, "\"%s\" is not 0 or 1", v);
                else
                        r = asprintf_safe(&what, "%zu bytes that are not 0 or 1", size);
        } else
                r = read_full_file_strerror(path, r, SAVED_AUTOPROBE_MAX, &what);
        if (r < 0)
                return log_oom(), -1;

        /* not what sriovd writes: put back nothing rather than a guess, and keep the file for the admin
         * under a name the next record does not overwrite */
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        now = (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / UINT64_C(1000);
        if (asprintf_safe(&aside, "%s.corrupt-%" PRIu64, path, now) < 0)
                return log_oom(), -1;
        if (rename(path, aside) < 0)
                log_pf(LOG_ERR, errno, pf,
                       "Ignoring %s: %s; failed to move it aside: %m; "
                       "sriov_drivers_autoprobe of %s stays as the kernel has it",
                       path, what, pf->address);
        else
                log_pf(LOG_ERR, 0, pf,
                       "Ignoring %s: %s; moved aside to %s; "
                       "sriov_drivers_autoprobe of %s stays as the kernel has it",
                       path, what, aside, pf->address);
        return -1;
}

void pf_set_config(PhysicalFunction *pf, const PfConfig *config, char *config_error) {
        pf->config = config;
        free(pf->config_error);
        pf->config_error = config_error;
        /* a state file that did not load stays in LastError whatever the configuration says */
        if (pf->store_error)
                (void) strextend_sep(&pf->config_error, "; ", "%s", pf->store_error);
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
        l = lease_table_find_for_vf(pf->host->leases, pf->address, index);
        if (l && l->layer.set) {
                policy_merge(&p, &l->layer);
                found = true;
        }
        *ret = p;
        return found;
}

bool pf_has_vf_policy(PhysicalFunction *pf) {
        VfPolicy p;

        for (unsigned i = 0; i < MAX(pf->total_vfs, (unsigned) pf->n_vfs); i++)
                if (pf_desired_vf_policy(pf, i, &p) && !policy_is_empty(&p))
                        return true;
        return false;
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
        vf_set_policy(vf, &p);
}

void pf_update_desired(PhysicalFunction *pf) {
        const PfConfig *c = pf_num_vfs_source(pf);

        pf->desired_num_vfs = c ? c->num_vfs : -1;
        /* DesiredNumVFs and ConfigSource: cheap to announce whether or not they changed */
        object_mark_changed(&pf->mark);

        for (size_t i = 0; i < pf->n_vfs; i++)
                if (pf->vfs[i])
                        pf_update_vf_policy(pf, pf->vfs[i]);
}
