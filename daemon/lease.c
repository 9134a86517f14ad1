/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <net/if.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <time.h>

#include "bus-errors.h"
#include "converge.h"
#include "job.h"
#include "lease.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "netlink.h"

#define LEASE_DIR "leases"
#define LEASE_SUFFIX ".lease"

typedef struct LeaseCall {
        Manager *manager;
        char id[33];
        sd_bus_message *message;
} LeaseCall;

static LeaseCall *lease_call_new(Manager *m, const char *id, sd_bus_message *message) {
        LeaseCall *c = calloc(1, sizeof *c);

        if (!c)
                return NULL;
        c->manager = m;
        snprintf(c->id, sizeof c->id, "%s", id);
        c->message = sd_bus_message_ref(message);
        return c;
}

static void lease_call_free(LeaseCall *c) {
        if (!c)
                return;
        sd_bus_message_unref(c->message);
        free(c);
}

Lease *lease_free(Lease *l) {
        if (!l)
                return NULL;
        sd_bus_track_unref(l->track);
        free(l->object_path);
        free(l->consumer);
        free(l->owner);
        free(l);
        return NULL;
}

Lease *manager_find_lease(Manager *m, const char *id) {
        for (size_t i = 0; i < m->n_leases; i++)
                if (streq(m->leases[i]->id, id))
                        return m->leases[i];
        return NULL;
}

Lease *manager_find_lease_by_path(Manager *m, const char *path) {
        for (size_t i = 0; i < m->n_leases; i++)
                if (streq(m->leases[i]->object_path, path))
                        return m->leases[i];
        return NULL;
}

Lease *manager_find_lease_for_vf(Manager *m, const char *pf_address, unsigned index) {
        for (size_t i = 0; i < m->n_leases; i++)
                if (m->leases[i]->vf_index == index && streq(m->leases[i]->pf_address, pf_address))
                        return m->leases[i];
        return NULL;
}

static char *lease_dir(Manager *m) {
        return m->store ? path_join(m->store->dir, LEASE_DIR) : NULL;
}

static void format_policy(FILE *f, const char *section, const VfPolicy *p) {
        fprintf(f, "\n[%s]\n", section);
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                _cleanup_free_ char *v = NULL;
                if (POLICY_HAS(p, k) && policy_value_to_string(p, k, &v) >= 0)
                        fprintf(f, "%s=%s\n", policy_key_to_string(k), v);
        }
}

/* The journal: one file per lease, written atomically, before anything on the VF changes. */
static int lease_save(Lease *l) {
        _cleanup_free_ char *dir = lease_dir(l->manager), *name = NULL, *text = NULL;
        size_t size = 0;
        FILE *f;

        if (!dir)
                return -ENOENT;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "# sriovd lease journal, do not "
                "edit\n[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=%u\n"
                "Consumer=%s\nOwner=%s\nPersistent=%s\nCreatedAt=%" PRIu64 "\nApplied=%s\n",
                l->id, l->pf_address, l->vf_index, strempty(l->consumer), strempty(l->owner),
                l->persistent ? "yes" : "no", l->created_at, l->applied ? "yes" : "no");
        format_policy(f, "Saved", &l->saved);
        format_policy(f, "Options", &l->options);
        if (fclose(f) != 0)
                return -ENOMEM;
        name = strjoin(l->id, LEASE_SUFFIX);
        if (!name)
                return -ENOMEM;
        return write_file_atomic(dir, name, text);
}

static void lease_remove_file(Lease *l) {
        _cleanup_free_ char *dir = lease_dir(l->manager), *path = NULL;

        if (!dir)
                return;
        path = strjoin(dir, "/", l->id, LEASE_SUFFIX);
        if (path && unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove lease journal %s, ignoring: %m", path);
}

static int lease_parse(Manager *m, const char *path, Lease **ret, char **ret_error) {
        _cleanup_(lease_freep) Lease *l = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        enum { NONE, LEASE, SAVED, OPTIONS } section = NONE;
        size_t n = 0;
        unsigned lineno = 0;
        bool have_id = false, have_pf = false, have_vf = false;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->manager = m;

        while (getline(&line, &n, f) >= 0) {
                char *s = strstrip(line), *eq;
                const char *key, *value;
                int r = 0;

                lineno++;
                if (isempty(s) || s[0] == '#')
                        continue;
                if (streq(s, "[Lease]") || streq(s, "[Saved]") || streq(s, "[Options]")) {
                        section = s[1] == 'L' ? LEASE : s[1] == 'S' ? SAVED : OPTIONS;
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq || section == NONE)
                        return asprintf_safe(ret_error, "%s:%u: expected a key=value in a section", path,
                                             lineno),
                               -EBADMSG;
                *eq = 0;
                key = s;
                value = eq + 1;

                if (section == LEASE) {
                        if (streq(key, "Id")) {
                                have_id = strlen(value) == 32 && strspn(value, "0123456789abcdef") == 32;
                                snprintf(l->id, sizeof l->id, "%s", value);
                        } else if (streq(key, "PhysicalFunction")) {
                                char a[13];
                                have_pf = pci_address_normalize(value, a) >= 0;
                                memcpy(l->pf_address, a, sizeof a);
                        } else if (streq(key, "VirtualFunction"))
                                have_vf = safe_atou(value, &l->vf_index) >= 0;
                        else if (streq(key, "Consumer"))
                                r = free_and_strdup(&l->consumer, value);
                        else if (streq(key, "Owner"))
                                r = free_and_strdup(&l->owner, isempty(value) ? NULL : value);
                        else if (streq(key, "Persistent"))
                                l->persistent = parse_boolean(value) > 0;
                        else if (streq(key, "Applied"))
                                l->applied = parse_boolean(value) > 0;
                        else if (streq(key, "CreatedAt"))
                                l->created_at = strtoull(value, NULL, 10);
                } else {
                        PolicyKey k = policy_key_from_full_string(key);
                        _cleanup_free_ char *e = NULL;

                        if (k < 0 || policy_set_from_string(section == SAVED ? &l->saved : &l->options, k,
                                                            value, &e) < 0)
                                return asprintf_safe(ret_error, "%s:%u: %s", path, lineno,
                                                     e ?: "unknown policy key"),
                                       -EBADMSG;
                }
                if (r < 0)
                        return r;
        }
        if (!have_id || !have_pf || !have_vf)
                return asprintf_safe(ret_error, "%s: Id=, PhysicalFunction= or VirtualFunction= missing",
                                     path),
                       -EBADMSG;
        if (asprintf_safe(&l->object_path, SRIOVD_LEASE_PREFIX "/%s", l->id) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static void lease_vf_changed(Lease *l) {
        PhysicalFunction *pf = manager_find_pf(l->manager, l->pf_address);
        VirtualFunction *vf = pf ? pf_get_vf(pf, l->vf_index) : NULL;

        if (!vf)
                return;
        pf_update_vf_policy(pf, vf);
        if (l->manager->bus)
                (void) sd_bus_emit_properties_changed(l->manager->bus, vf->object_path, SRIOVD_VF_INTERFACE,
                                                      "Lease", NULL);
}

static int manager_add_lease(Manager *m, Lease *l) {
        Lease **a = reallocarray(m->leases, m->n_leases + 1, sizeof *a);

        if (!a)
                return -ENOMEM;
        m->leases = a;
        m->leases[m->n_leases++] = l;
        if (m->bus)
                (void) sd_bus_emit_object_added(m->bus, l->object_path);
        lease_vf_changed(l);
        return 0;
}

/* Drops the lease for good: journal, object, the layer on the VF. */
static void lease_finish(Lease *l, sd_bus_message *message, int error, const char *why) {
        Manager *m = l->manager;
        PhysicalFunction *pf = manager_find_pf(m, l->pf_address);

        lease_remove_file(l);
        if (m->bus)
                (void) sd_bus_emit_object_removed(m->bus, l->object_path);
        for (size_t i = 0; i < m->n_leases; i++)
                if (m->leases[i] == l) {
                        memmove(m->leases + i, m->leases + i + 1, (m->n_leases - i - 1) * sizeof *m->leases);
                        m->n_leases--;
                        break;
                }
        lease_vf_changed(l);
        log_info("Lease %s of VF %u on %s (%s) ended%s%s", l->id, l->vf_index, l->pf_address,
                 strempty(l->consumer), why ? ": " : "", strempty(why));
        /* the VF's own policy may set keys the lease had changed: put it in force again */
        if (pf)
                (void) pf_schedule_reconcile(pf, 0);

        if (message) {
                if (error < 0)
                        (void) sd_bus_reply_method_errorf(message, sriovd_error_name_from_errno(error), "%s",
                                                          strempty(why));
                else
                        (void) sd_bus_reply_method_return(message, NULL);
        }
        lease_free(l);
}

static void release_done(Request *req, int error, const char *message, void *userdata) {
        LeaseCall *c = userdata;
        Lease *l = manager_find_lease(c->manager, c->id);
        PhysicalFunction *pf;
        VirtualFunction *vf;
        _cleanup_free_ char *why = NULL;

        if (!l) {
                lease_call_free(c);
                return;
        }
        pf = manager_find_pf(l->manager, l->pf_address);
        vf = pf ? pf_get_vf(pf, l->vf_index) : NULL;
        if (vf) {
                /* check that what was recorded came back */
                for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                        bool same;
                        char *s;

                        if (!POLICY_HAS(&l->saved, k))
                                continue;
                        if (k == POLICY_DRIVER)
                                same = isempty(l->saved.driver)
                                               ? vf->driver && !streq(vf->driver, DRIVER_VFIO_PCI)
                                               : streq_ptr(vf->driver, l->saved.driver);
                        else
                                same = POLICY_HAS(&vf->actual, k) &&
                                       policy_key_equal(&l->saved, &vf->actual, k);
                        if (same)
                                continue;
                        s = why ? strjoin(why, ", ", policy_key_to_string(k))
                                : strjoin("VF state not restored: ", policy_key_to_string(k));
                        if (s) {
                                free(why);
                                why = s;
                        }
                }
                if (why && message) {
                        char *s = strjoin(why, " (", message, ")");
                        if (s) {
                                free(why);
                                why = s;
                        }
                }
        }
        if (why)
                log_error("Lease %s: %s", l->id, why);
        lease_finish(l, c->message, why ? -EIO : 0, why);
        lease_call_free(c);
}

int lease_release(Lease *l, sd_bus_message *message) {
        _cleanup_(request_unrefp) Request *req = NULL;
        PhysicalFunction *pf;
        LeaseCall *c;

        if (l->releasing) {
                if (message)
                        return sd_bus_reply_method_errorf(message, SRIOVD_ERROR_BUSY,
                                                          "Lease %s is being released", l->id);
                return 0;
        }
        l->releasing = true;
        l->track = sd_bus_track_unref(l->track);

        pf = manager_find_pf(l->manager, l->pf_address);
        if (!pf || !pf_get_vf(pf, l->vf_index)) {
                /* the PF or the VF is gone: nothing is left to restore */
                lease_finish(l, message, 0, "its VF is gone");
                return 0;
        }

        l->layer = l->saved;
        lease_vf_changed(l);
        c = lease_call_new(l->manager, l->id, message);
        if (!c)
                return log_oom();
        req = request_new(NULL, release_done, c);
        if (!req) {
                lease_call_free(c);
                return log_oom();
        }
        req->scope_vf = (int) l->vf_index;
        (void) pf_reconcile(pf, req);
        request_arm(req);
        return 0;
}

static int track_handler(sd_bus_track *t, void *userdata) {
        Lease *l = userdata;

        log_info("Owner %s of lease %s left the bus, restoring VF %u on %s", strempty(l->owner), l->id,
                 l->vf_index, l->pf_address);
        (void) lease_release(l, NULL);
        return 0;
}

static int lease_track_owner(Lease *l) {
        int r;

        if (!l->owner || !l->manager->bus)
                return 0;
        r = sd_bus_track_new(l->manager->bus, &l->track, track_handler, l);
        if (r < 0)
                return r;
        return sd_bus_track_add_name(l->track, l->owner);
}

/* A client that held a lease across a restart of sriovd still has its unique name on the bus. */
static bool lease_owner_alive(Lease *l) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;

        return l->owner && l->manager->bus &&
               sd_bus_get_name_creds(l->manager->bus, l->owner, 0, &creds) >= 0;
}

int manager_load_leases(Manager *m) {
        _cleanup_free_ char *dir = lease_dir(m);
        struct dirent *de;
        DIR *d;

        if (!dir)
                return 0;
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", dir);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *error = NULL;
                Lease *l = NULL;
                size_t len = strlen(de->d_name);
                int r;

                if (len <= strlen(LEASE_SUFFIX) ||
                    !streq(de->d_name + len - strlen(LEASE_SUFFIX), LEASE_SUFFIX))
                        continue;
                path = path_join(dir, de->d_name);
                if (!path)
                        break;
                r = lease_parse(m, path, &l, &error);
                if (r < 0) {
                        _cleanup_free_ char *aside = strjoin(path, ".corrupt");
                        log_error("Failed to read lease journal %s (%s), moved aside", path,
                                  error ?: strerror(-r));
                        if (aside)
                                (void) rename(path, aside);
                        continue;
                }
                if (manager_find_lease(m, l->id) || manager_add_lease(m, l) < 0) {
                        lease_free(l);
                        continue;
                }
                if (l->applied && (l->persistent || lease_owner_alive(l))) {
                        l->layer = l->options;
                        lease_vf_changed(l);
                        if (lease_track_owner(l) < 0)
                                log_warning("Failed to watch the owner of lease %s, ignoring", l->id);
                        log_info("Lease %s of VF %u on %s (%s) kept", l->id, l->vf_index, l->pf_address,
                                 strempty(l->consumer));
                } else {
                        log_info("Restoring VF %u on %s from %s lease %s", l->vf_index, l->pf_address,
                                 l->applied ? "the previous sriovd's" : "a half-applied", l->id);
                        (void) lease_release(l, NULL);
                }
        }
        closedir(d);
        return 0;
}

static void request_done(Request *req, int error, const char *message, void *userdata) {
        LeaseCall *c = userdata;
        Lease *l = manager_find_lease(c->manager, c->id);
        PhysicalFunction *pf = l ? manager_find_pf(c->manager, l->pf_address) : NULL;
        VirtualFunction *vf = pf ? pf_get_vf(pf, l->vf_index) : NULL;
        int r;

        if (!l || l->releasing || !vf) {
                (void) sd_bus_reply_method_errorf(c->message, SRIOVD_ERROR_FAILED,
                                                  "The lease ended before its options were applied");
                lease_call_free(c);
                return;
        }
        if (error < 0) {
                (void) sd_bus_reply_method_errorf(c->message, sriovd_error_name_from_errno(error),
                                                  "Failed to apply the lease's options: %s",
                                                  strempty(message));
                (void) lease_release(l, NULL);
                lease_call_free(c);
                return;
        }
        l->applied = true;
        r = lease_save(l);
        if (r < 0)
                log_warning_errno(r, "Failed to mark lease %s applied in its journal, ignoring: %m", l->id);
        log_info("Leased VF %u (%s) on %s to %s as %s", l->vf_index, vf->address, l->pf_address,
                 strempty(l->consumer), l->id);
        (void) sd_bus_reply_method_return(c->message, "oo", l->object_path, vf->object_path);
        lease_call_free(c);
}

/* Recording a VF for a lease reads its link settings as the kernel has them now: what sriovd read back
 * last is as old as the last link notification, and the kernel sends none for a PF that is down
 * (netdev_state_change() notifies only for an interface that is up), so a change made meanwhile, by
 * hand for example, would be recorded wrong and lost at the release. One RTM_GETLINK of the PF, on a
 * job thread like every other talk with the kernel. */
typedef struct LeaseRead {
        Manager *manager;
        char id[33];
        char ifname[IFNAMSIZ];
        unsigned index;
        sd_bus_message *message;
        VfPolicy actual;
} LeaseRead;

static void lease_read_free(LeaseRead *r) {
        if (!r)
                return;
        sd_bus_message_unref(r->message);
        free(r);
}

static void lease_read_work(Job *j) {
        _cleanup_(netlink_link_vfs_done) NetlinkLinkVfs l = {};
        LeaseRead *rd = j->userdata;
        struct nl_sock *sk = NULL;
        int ifindex;

        ifindex = rd->ifname[0] ? (int) if_nametoindex(rd->ifname) : 0;
        if (ifindex <= 0) {
                j->error = -ENODEV;
                return;
        }
        j->error = netlink_open(&sk);
        if (j->error < 0)
                return;
        j->error = netlink_get_vfs(sk, ifindex, &l);
        nl_socket_free(sk);
        if (j->error < 0)
                return;
        if (!streq(l.ifname, rd->ifname) || rd->index >= l.num_vfs) {
                j->error = -ENODEV;
                return;
        }
        rd->actual = l.vfs[rd->index];
}

static void lease_save_state(Lease *l, VirtualFunction *vf, const VfPolicy *actual) {
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                if (!POLICY_HAS(&l->options, k))
                        continue;
                if (k == POLICY_DRIVER) {
                        /* the driver a VF goes back to: vfio-pci if it had it, else its default one */
                        VfPolicy d = {};
                        (void) policy_set_from_string(
                                &d, POLICY_DRIVER,
                                streq_ptr(vf->driver, DRIVER_VFIO_PCI) ? DRIVER_VFIO_PCI : "", NULL);
                        policy_copy_key(&l->saved, &d, k);
                } else if (POLICY_HAS(actual, k))
                        policy_copy_key(&l->saved, actual, k);
        }
}

static void lease_read_done(Job *j) {
        _cleanup_(request_unrefp) Request *req = NULL;
        LeaseRead *rd = j->userdata;
        Lease *l = manager_find_lease(rd->manager, rd->id);
        PhysicalFunction *pf = l ? manager_find_pf(rd->manager, l->pf_address) : NULL;
        VirtualFunction *vf = pf ? pf_get_vf(pf, l->vf_index) : NULL;
        sd_bus_message *message = rd->message;
        LeaseCall *c;
        int r;

        if (!l || l->releasing) {
                (void) sd_bus_reply_method_errorf(message, SRIOVD_ERROR_FAILED,
                                                  "The lease ended before its VF was recorded");
                goto finish;
        }
        if (!vf) {
                lease_finish(l, message, -ENODEV, "its VF went away before it was recorded");
                goto finish;
        }
        if (j->error < 0)
                log_debug_errno(j->error,
                                "Failed to read VF %u of %s back for lease %s, recording what was read "
                                "last: %m",
                                vf->index, pf->address, l->id);
        lease_save_state(l, vf, j->error >= 0 ? &rd->actual : &vf->actual);

        /* recorded before anything changes, so a crash from here on is put right at the next start */
        r = lease_save(l);
        if (r >= 0)
                r = lease_track_owner(l);
        if (r < 0) {
                _cleanup_free_ char *why = NULL;
                (void) asprintf_safe(&why, "Failed to record the lease: %s", strerror(-r));
                lease_finish(l, message, -EIO, why);
                goto finish;
        }

        c = lease_call_new(rd->manager, l->id, message);
        req = c ? request_new(NULL, request_done, c) : NULL;
        if (!req) {
                lease_call_free(c);
                lease_finish(l, message, -ENOMEM, "Out of memory");
                goto finish;
        }
        l->layer = l->options;
        lease_vf_changed(l);
        req->scope_vf = (int) vf->index;
        (void) pf_reconcile(pf, req);
        request_arm(req);

finish:
        lease_read_free(rd);
        job_free(j);
}

int method_request_vf(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(lease_freep) Lease *l = NULL;
        _cleanup_free_ char *consumer = NULL, *invalid = NULL;
        Manager *m = userdata;
        PhysicalFunction *pf = NULL, *chosen = NULL;
        VirtualFunction *vf = NULL;
        VfPolicy options = {}, merged;
        const char *selector;
        int persistent = false, r;
        sd_id128_t id;
        LeaseRead *rd;
        Job *job;

        r = manager_authorize(m, message, POLKIT_ACTION_LEASE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */

        r = sd_bus_message_read(message, "s", &selector);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(message, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(message, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "Consumer")) {
                        const char *s;
                        r = sd_bus_message_read(message, "v", "s", &s);
                        if (r < 0)
                                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT,
                                                         "Option Consumer expects type s");
                        if (free_and_strdup(&consumer, s) < 0)
                                return -ENOMEM;
                } else if (streq(key, "Persistent")) {
                        r = sd_bus_message_read(message, "v", "b", &persistent);
                        if (r < 0)
                                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT,
                                                         "Option Persistent expects type b");
                } else {
                        r = policy_read_bus_value(message, key, &options, error);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(message);
        if (r < 0)
                return r;

        if (!m->store)
                return sd_bus_error_setf(error, SRIOVD_ERROR_FAILED,
                                         "The state directory is not usable, leases cannot be recorded");
        if (!isempty(selector)) {
                pf = manager_find_pf(m, selector);
                if (!pf)
                        return sd_bus_error_setf(error, SRIOVD_ERROR_NO_SUCH_DEVICE,
                                                 "No SR-IOV capable PCI device '%s'", selector);
        }
        if (POLICY_HAS(&options, POLICY_DRIVER) && streq(options.driver, DRIVER_VFIO_PCI) && !iommu_active())
                return sd_bus_error_setf(error, SRIOVD_ERROR_NOT_SUPPORTED,
                                         "Cannot lease a VF for vfio-pci: " IOMMU_HINT);

        /* the first VF that nobody holds, in PF order; marked taken before this call returns to the
         * loop, so two requests never get the same one */
        for (size_t i = 0; i < m->n_pfs && !vf; i++) {
                PhysicalFunction *p = m->pfs[i];

                if (pf && p != pf)
                        continue;
                for (size_t j = 0; j < p->n_vfs && !vf; j++)
                        if (p->vfs[j] && !manager_find_lease_for_vf(m, p->address, p->vfs[j]->index)) {
                                vf = p->vfs[j];
                                chosen = p;
                        }
        }
        if (!vf)
                return sd_bus_error_setf(error, SRIOVD_ERROR_NO_FREE_FUNCTION, "No free VF on %s",
                                         pf ? pf->address : "any PF");

        (void) pf_desired_vf_policy(chosen, vf->index, &merged);
        policy_merge(&merged, &options);
        r = policy_validate(&merged, &invalid);
        if (r < 0)
                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT, "%s", strempty(invalid));

        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->manager = m;
        r = sd_id128_randomize(&id);
        if (r < 0)
                return r;
        sd_id128_to_string(id, l->id);
        if (asprintf_safe(&l->object_path, SRIOVD_LEASE_PREFIX "/%s", l->id) < 0)
                return -ENOMEM;
        memcpy(l->pf_address, chosen->address, sizeof l->pf_address);
        l->vf_index = vf->index;
        l->consumer = TAKE_PTR(consumer);
        l->persistent = persistent;
        if (!persistent && !(l->owner = strdup(sd_bus_message_get_sender(message))))
                return -ENOMEM;
        {
                struct timespec ts;

                (void) clock_gettime(CLOCK_REALTIME, &ts);
                l->created_at = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        }
        l->options = options;

        rd = calloc(1, sizeof *rd);
        if (!rd)
                return -ENOMEM;
        rd->manager = m;
        memcpy(rd->id, l->id, sizeof rd->id);
        snprintf(rd->ifname, sizeof rd->ifname, "%s", strempty(chosen->interface));
        rd->index = vf->index;
        rd->message = sd_bus_message_ref(message);
        r = job_start(m->event, lease_read_work, lease_read_done, rd, &job);
        if (r < 0) {
                lease_read_free(rd);
                return r;
        }
        /* the VF is taken from here on; nothing is changed before it is recorded */
        r = manager_add_lease(m, l);
        if (r >= 0)
                TAKE_PTR(l);
        /* either way the job answers: with the recorded lease, or that there is none */
        return 1;
}

int method_list_leases(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < m->n_leases; i++)
                r = sd_bus_message_append(reply, "o", m->leases[i]->object_path);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
