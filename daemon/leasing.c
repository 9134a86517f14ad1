/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>
#include <systemd/sd-id128.h>

#include "converge.h"
#include "drain.h"
#include "job.h"
#include "leasing.h"
#include "log.h"
#include "names.h"
#include "netlink.h"
#include "pf-reconcile.h"

/* A request or release under way: found again by the lease's id, since the lease may end meanwhile. */
typedef struct LeaseCall {
        Manager *manager;
        char id[33];
        LeaseReplyTo reply;
} LeaseCall;

static void reply_once(LeaseReplyTo *to, int error, const char *message, const char *lease_path,
                       const char *vf_path) {
        LeaseReply reply = to->reply;

        to->reply = NULL;
        if (reply)
                reply(error, message, lease_path, vf_path, to->userdata);
}

static LeaseCall *lease_call_new(Manager *m, const char *id, LeaseReplyTo reply) {
        LeaseCall *c = calloc(1, sizeof *c);

        if (!c)
                return NULL;
        c->manager = m;
        snprintf(c->id, sizeof c->id, "%s", id);
        c->reply = reply;
        return c;
}

static void lease_call_free(void *userdata) {
        LeaseCall *c = userdata;

        if (!c)
                return;
        /* a call that ended without an answer (sriovd stopping) still gets one */
        reply_once(&c->reply, -ESHUTDOWN, "sriovd is stopping", NULL, NULL);
        free(c);
}

static VirtualFunction *lease_vf(Manager *m, Lease *l) {
        PhysicalFunction *pf = l->vf_gone ? NULL : manager_find_pf(m, l->pf_address);

        return pf ? pf_get_vf(pf, l->vf_index) : NULL;
}

/* The lease's layer or the lease itself changed: the VF's Policy and Lease follow. */
static void lease_vf_changed(Manager *m, Lease *l) {
        PhysicalFunction *pf = manager_find_pf(m, l->pf_address);
        VirtualFunction *vf = pf ? pf_get_vf(pf, l->vf_index) : NULL;

        if (!vf)
                return;
        pf_update_vf_policy(pf, vf);
        object_mark_changed(&vf->mark);
}

static int lease_add(Manager *m, Lease *l) {
        int r = lease_table_add(&m->leases, l);

        if (r >= 0)
                lease_vf_changed(m, l);
        return r;
}

/* Drops the lease for good: journal, object, the layer on the VF. */
static void lease_finish(Manager *m, Lease *l, LeaseReplyTo *reply, int error, const char *why) {
        PhysicalFunction *pf = manager_find_pf(m, l->pf_address);

        lease_journal_remove(&m->leases, l);
        lease_table_remove(&m->leases, l);
        lease_vf_changed(m, l);
        log_info("Lease %s of VF %u on %s (%s) ended%s%s", l->id, l->vf_index, l->pf_address,
                 strempty(l->consumer), why ? ": " : "", strempty(why));
        /* the VF's own policy may set keys the lease had changed: put it in force again */
        if (pf) {
                (void) pf_schedule_reconcile(pf, 0);
                /* a change of the count may be waiting for this lease */
                pf_drain_check(pf);
        }
        if (reply)
                reply_once(reply, error, why, NULL, NULL);
        lease_free(l);
}

/* Keys of the recorded state that did not come back, as ", "-separated names; NULL if all did. */
static char *lease_unrestored_keys(Lease *l, VirtualFunction *vf) {
        char *keys = NULL;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                bool same;

                if (!POLICY_HAS(&l->saved, k))
                        continue;
                if (k == POLICY_DRIVER)
                        same = isempty(l->saved.driver) ? vf->driver && !streq(vf->driver, DRIVER_VFIO_PCI)
                                                        : streq_ptr(vf->driver, l->saved.driver);
                else
                        same = POLICY_HAS(&vf->actual, k) && policy_key_equal(&l->saved, &vf->actual, k);
                if (!same)
                        (void) strextend_sep(&keys, ", ", "%s", policy_key_to_string(k));
        }
        return keys;
}

static int lease_track_owner(Manager *m, Lease *l);

/* Whether the owner's name is on the bus now (an owner that left is not watched again). */
static bool lease_owner_on_bus(Manager *m, Lease *l) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;

        return l->owner && m->bus && sd_bus_get_name_creds(m->bus, l->owner, 0, &creds) >= 0;
}

static void release_done(Request *req, int error, const char *message, void *userdata) {
        LeaseCall *c = userdata;
        Lease *l = lease_table_find(&c->manager->leases, c->id);
        _cleanup_free_ char *keys = NULL, *why = NULL;
        PhysicalFunction *pf;
        VirtualFunction *vf;

        if (!l) {
                reply_once(&c->reply, 0, NULL, NULL, NULL);
                return;
        }
        if (error == -ESHUTDOWN || error == -EBUSY) {
                /* nothing was put back: sriovd is stopping (the next one restores the VF from the journal),
                 * or a kernel call on the PF is stuck; the lease stays, to be released again */
                l->releasing = false;
                l->layer = l->options;
                lease_vf_changed(c->manager, l);
                if (error == -EBUSY && lease_owner_on_bus(c->manager, l) &&
                    lease_track_owner(c->manager, l) < 0)
                        log_warning("Failed to watch the owner of lease %s again, ignoring", l->id);
                /* a change of the count past its deadline waited for this release alone */
                pf = manager_find_pf(c->manager, l->pf_address);
                if (pf)
                        pf_drain_check(pf);
                reply_once(&c->reply, error, message, NULL, NULL);
                return;
        }
        vf = lease_vf(c->manager, l);
        keys = vf ? lease_unrestored_keys(l, vf) : NULL;
        if (keys) {
                (void) asprintf_safe(&why, "VF state not restored: %s%s%s%s", keys, message ? " (" : "",
                                     strempty(message), message ? ")" : "");
                log_error("Lease %s: %s", l->id, strempty(why));
        }
        lease_finish(c->manager, l, &c->reply, keys ? -EIO : 0, why);
}

int lease_release(Manager *m, Lease *l, LeaseReplyTo reply) {
        _cleanup_(request_unrefp) Request *req = NULL;
        PhysicalFunction *pf;
        LeaseCall *c;

        if (l->releasing)
                return -EBUSY;
        l->releasing = true;
        l->owner_watch = peer_watch_free(l->owner_watch);

        pf = manager_find_pf(m, l->pf_address);
        if (!pf || !lease_vf(m, l)) {
                /* the PF or the VF is gone: nothing is left to restore */
                lease_finish(m, l, &reply, 0, "its VF is gone");
                return 0;
        }

        l->layer = l->saved;
        lease_vf_changed(m, l);
        c = lease_call_new(m, l->id, reply);
        if (!c)
                return log_oom();
        req = request_new(release_done, lease_call_free, c);
        if (!req) {
                lease_call_free(c);
                return log_oom();
        }
        req->scope_vf = (int) l->vf_index;
        (void) pf_reconcile(pf, req);
        request_arm(req);
        return 0;
}

static void owner_left(PeerWatch *w, void *userdata) {
        Manager *m = userdata;
        Lease *l = NULL;

        for (size_t i = 0; i < m->leases.n_leases && !l; i++)
                if (m->leases.leases[i]->owner_watch == w)
                        l = m->leases.leases[i];
        if (!l)
                return;
        log_info("Owner %s of lease %s left the bus, restoring VF %u on %s", strempty(l->owner), l->id,
                 l->vf_index, l->pf_address);
        (void) lease_release(m, l, (LeaseReplyTo){});
}

/* One watch per lease, but no match rule of its own: a holder of a thousand leases costs sriovd's
 * connection nothing (peers.h). */
static int lease_track_owner(Manager *m, Lease *l) {
        if (!l->owner || !m->peers)
                return 0;
        l->owner_watch = peer_watch_free(l->owner_watch);
        return peer_watch_new(m->peers, l->owner, owner_left, m, &l->owner_watch);
}

static int bus_id(Manager *m, char ret[static 33]) {
        sd_id128_t id;
        int r;

        if (!m->bus)
                return -ENOTCONN;
        r = sd_bus_get_bus_id(m->bus, &id);
        if (r < 0)
                return r;
        sd_id128_to_string(id, ret);
        return 0;
}

/* A client that held a lease across a restart of sriovd still has its unique name on the bus. A
 * unique name is only unique on one bus: after a bus restart an unrelated peer may carry it, so the
 * bus and the owner's user must be the recorded ones too. */
static bool lease_owner_alive(Manager *m, Lease *l) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        char id[33] = "";
        uid_t uid;

        if (!l->owner)
                return false;
        if (bus_id(m, id) < 0 || !streq(id, l->owner_bus_id)) {
                log_info("Owner %s of lease %s was on bus %s, this is %s", l->owner, l->id,
                         l->owner_bus_id[0] ? l->owner_bus_id : "(not recorded)", id);
                return false;
        }
        if (sd_bus_get_name_creds(m->bus, l->owner,
                                  SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID | SD_BUS_CREDS_AUGMENT, &creds) < 0)
                return false;
        if (l->owner_uid == UID_INVALID)
                return true;
        if ((sd_bus_creds_get_euid(creds, &uid) < 0 && sd_bus_creds_get_uid(creds, &uid) < 0) ||
            uid != l->owner_uid) {
                log_info("Owner %s of lease %s is not of user %u now", l->owner, l->id,
                         (unsigned) l->owner_uid);
                return false;
        }
        return true;
}

typedef struct LeaseLoad {
        Manager *manager;
        Lease **restore; /* to restore once every journal is in */
        size_t n_restore;
} LeaseLoad;

static void lease_loaded(Lease *l, bool corrupt, void *userdata) {
        LeaseLoad *ll = userdata;
        Manager *m = ll->manager;
        Lease **a;
        bool keep;

        if (corrupt && lease_table_find_for_vf(&m->leases, l->pf_address, l->vf_index)) {
                /* another journal holds that VF: it knows better */
                lease_free(l);
                return;
        }
        a = reallocarray(ll->restore, ll->n_restore + 1, sizeof *a);
        if (a)
                ll->restore = a;
        if (!a || lease_add(m, l) < 0) {
                lease_free(l);
                return;
        }
        keep = !corrupt && l->applied && (l->persistent || lease_owner_alive(m, l));
        /* an owner that left since it was looked at would never be heard of again */
        if (keep && lease_track_owner(m, l) < 0) {
                log_info("Owner %s of lease %s cannot be watched (it left the bus?)", strempty(l->owner),
                         l->id);
                keep = false;
        }
        if (keep) {
                l->layer = l->options;
                lease_vf_changed(m, l);
                log_info("Lease %s of VF %u on %s (%s) kept", l->id, l->vf_index, l->pf_address,
                         strempty(l->consumer));
        } else {
                log_info("Restoring VF %u on %s from %s lease %s", l->vf_index, l->pf_address,
                         corrupt      ? "a corrupt"
                         : l->applied ? "the previous sriovd's"
                                      : "a half-applied",
                         l->id);
                ll->restore[ll->n_restore++] = l;
        }
}

int lease_load_all(Manager *m) {
        LeaseLoad ll = {.manager = m};
        int r;

        r = lease_journal_load(&m->leases, lease_loaded, &ll);
        /* only now, with every kept lease's layer in place: a restore reconciles the PF, and that
         * must not take a kept lease's VF back from it meanwhile */
        for (size_t i = 0; i < ll.n_restore; i++)
                (void) lease_release(m, ll.restore[i], (LeaseReplyTo){});
        free(ll.restore);
        return r;
}

static void request_done(Request *req, int error, const char *message, void *userdata) {
        LeaseCall *c = userdata;
        Manager *m = c->manager;
        Lease *l = lease_table_find(&m->leases, c->id);
        VirtualFunction *vf = l ? lease_vf(m, l) : NULL;
        _cleanup_free_ char *why = NULL;
        int r;

        if (error == -ESHUTDOWN) {
                /* the journal stays, not marked applied: the next sriovd restores the VF */
                reply_once(&c->reply, error, message, NULL, NULL);
                return;
        }
        if (!l || l->releasing) {
                reply_once(&c->reply, -EIO, "The lease ended before its options were applied", NULL, NULL);
                return;
        }
        if (!vf) {
                /* destroyed meanwhile (a forced count change): the lease was never handed over */
                lease_finish(m, l, &c->reply, -ENODEV,
                             "its VF went away before the lease's options were applied");
                return;
        }
        if (error < 0) {
                (void) asprintf_safe(&why, "Failed to apply the lease's options: %s", strempty(message));
                reply_once(&c->reply, error, why, NULL, NULL);
                (void) lease_release(m, l, (LeaseReplyTo){});
                return;
        }
        l->applied = true;
        r = lease_journal_save(&m->leases, l);
        if (r < 0)
                log_warning_errno(r, "Failed to mark lease %s applied in its journal, ignoring: %m", l->id);
        log_info("Leased VF %u (%s) on %s to %s as %s", l->vf_index, vf->address, l->pf_address,
                 strempty(l->consumer), l->id);
        reply_once(&c->reply, 0, NULL, l->object_path, vf->object_path);
}

/* Recording a VF for a lease reads its link settings as the kernel has them now: what sriovd read back
 * last is as old as the last link notification, and the kernel sends none for a PF that is down
 * (netdev_state_change() notifies only for an interface that is up), so a change made meanwhile, by
 * hand for example, would be recorded wrong and lost at the release. One RTM_GETLINK of the PF, on a
 * job thread like every other talk with the kernel. */
typedef struct LeaseRead {
        LeaseCall *call;
        char ifname[IFNAMSIZ];
        unsigned index;
        VfPolicy actual;
} LeaseRead;

static void lease_read_free(LeaseRead *rd) {
        if (!rd)
                return;
        lease_call_free(rd->call);
        free(rd);
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

/* Records the keys the options change, as the VF has them before the lease. */
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

/* The VF was read: record it, then apply the options. */
static void lease_read_done(Job *j) {
        _cleanup_(request_unrefp) Request *req = NULL;
        LeaseRead *rd = j->userdata;
        Manager *m = rd->call->manager;
        Lease *l = lease_table_find(&m->leases, rd->call->id);
        PhysicalFunction *pf = l ? manager_find_pf(m, l->pf_address) : NULL;
        VirtualFunction *vf = l ? lease_vf(m, l) : NULL;
        int r;

        if (!l || l->releasing) {
                reply_once(&rd->call->reply, -EIO, "The lease ended before its VF was recorded", NULL, NULL);
                goto finish;
        }
        if (!vf) {
                lease_finish(m, l, &rd->call->reply, -ENODEV, "its VF went away before it was recorded");
                goto finish;
        }
        if (j->error < 0)
                log_debug_errno(
                        j->error,
                        "Failed to read VF %u of %s back for lease %s, recording what was read last: %m",
                        vf->index, pf->address, l->id);
        /* the MTU is the VF netdev's, not in the PF's VF list: what was read last is current, as every
         * change of it notifies, whatever the PF's state */
        if (j->error >= 0 && POLICY_HAS(&vf->actual, POLICY_MTU))
                policy_copy_key(&rd->actual, &vf->actual, POLICY_MTU);
        lease_save_state(l, vf, j->error >= 0 ? &rd->actual : &vf->actual);

        /* recorded before anything changes, so a crash from here on is put right at the next start */
        r = lease_journal_save(&m->leases, l);
        if (r >= 0)
                r = lease_track_owner(m, l);
        if (r < 0) {
                _cleanup_free_ char *why = NULL;
                (void) asprintf_safe(&why, "Failed to record the lease: %s", strerror(-r));
                lease_finish(m, l, &rd->call->reply, -EIO, why);
                goto finish;
        }

        req = request_new(request_done, lease_call_free, rd->call);
        if (!req) {
                lease_finish(m, l, &rd->call->reply, -ENOMEM, "Out of memory");
                goto finish;
        }
        rd->call = NULL; /* the request owns it now */
        l->layer = l->options;
        lease_vf_changed(m, l);
        req->scope_vf = (int) vf->index;
        (void) pf_reconcile(pf, req);
        request_arm(req);

finish:
        lease_read_free(rd);
        job_free(j);
}

int lease_request_check(const LeaseRequest *args, char **ret_error) {
        /* strings a caller chose end up in logs, the journal and polkit's details */
        if (args->consumer && !string_is_safe(args->consumer, LEASE_CONSUMER_MAX))
                return asprintf_safe(
                               ret_error,
                               "Invalid Consumer: printable UTF-8 of at most %u characters is expected",
                               LEASE_CONSUMER_MAX),
                       -EINVAL;
        if (!string_is_safe(strempty(args->selector), LEASE_SELECTOR_MAX))
                return asprintf_safe(ret_error,
                                     "Invalid PF selector: a PCI address or an interface name is expected"),
                       -EINVAL;
        return 0;
}

/* driver_override skips the driver's ID table: a lease may bind a VF to vfio-pci, to its default driver
 * (""), or to what the admin allows for the PF (LeaseDrivers=), nothing else. */
static bool lease_driver_allowed(PhysicalFunction *pf, const VfPolicy *options) {
        if (!POLICY_HAS(options, POLICY_DRIVER) || isempty(options->driver) ||
            streq(options->driver, DRIVER_VFIO_PCI))
                return true;
        return pf->config && strv_contains(pf->config->lease_drivers, options->driver);
}

/* The first VF that nobody holds, in PF order, on a PF that allows the lease's driver. */
static VirtualFunction *lease_pick_vf(Manager *m, PhysicalFunction *only, const VfPolicy *options,
                                      PhysicalFunction **ret_pf) {
        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *p = m->pfs[i];

                /* a PF whose VFs are asked back for a change of the count hands none out */
                if ((only && p != only) || !lease_driver_allowed(p, options) || pf_drain_pending(p))
                        continue;
                for (size_t j = 0; j < p->n_vfs; j++)
                        if (p->vfs[j] &&
                            !lease_table_find_for_vf(&m->leases, p->address, p->vfs[j]->index)) {
                                *ret_pf = p;
                                return p->vfs[j];
                        }
        }
        return NULL;
}

/* The PF the request names (or any), and the first free VF on it that the lease's options suit. */
static int lease_choose_vf(Manager *m, const LeaseRequest *args, PhysicalFunction **ret_pf,
                           VirtualFunction **ret_vf, char **ret_error) {
        _cleanup_free_ char *invalid = NULL;
        PhysicalFunction *pf = NULL, *chosen = NULL;
        VirtualFunction *vf;
        VfPolicy merged;
        bool allowed = false;

        if (!isempty(args->selector)) {
                pf = manager_find_pf(m, args->selector);
                if (!pf)
                        return asprintf_safe(ret_error, "No SR-IOV capable PCI device '%s'", args->selector),
                               -ENODEV;
        }
        if (POLICY_HAS(&args->options, POLICY_DRIVER) && streq(args->options.driver, DRIVER_VFIO_PCI) &&
            !iommu_active())
                return asprintf_safe(ret_error, "Cannot lease a VF for vfio-pci: " IOMMU_HINT), -EOPNOTSUPP;
        for (size_t i = 0; i < m->n_pfs && !allowed; i++)
                allowed = (!pf || m->pfs[i] == pf) && lease_driver_allowed(m->pfs[i], &args->options);
        if (!allowed)
                return asprintf_safe(
                               ret_error,
                               "Invalid Driver=%s for a lease on %s: vfio-pci, the VF's default driver "
                               "(\"\") or one that LeaseDrivers= in its configuration allows",
                               args->options.driver, pf ? pf->address : "any PF"),
                       -EINVAL;

        if (pf) {
                int r = pf_drain_check_idle(pf, ret_error);
                if (r < 0)
                        return r;
        }

        /* marked taken before this call returns to the loop, so two requests never get the same one */
        vf = lease_pick_vf(m, pf, &args->options, &chosen);
        if (!vf)
                return asprintf_safe(ret_error, "No free VF on %s", pf ? pf->address : "any PF"), -ENOSPC;

        (void) pf_desired_vf_policy(chosen, vf->index, &merged);
        policy_merge(&merged, &args->options);
        if (policy_validate(&merged, &invalid) < 0)
                return *ret_error = TAKE_PTR(invalid), -EINVAL;
        *ret_pf = chosen;
        *ret_vf = vf;
        return 0;
}

int lease_request(Manager *m, const LeaseRequest *args, LeaseReplyTo reply, char **ret_error) {
        _cleanup_(lease_freep) Lease *l = NULL;
        PhysicalFunction *pf;
        VirtualFunction *vf;
        LeaseRead *rd;
        Job *job;
        int r;

        if (!m->leases.dir || !m->store)
                return asprintf_safe(ret_error,
                                     "The state directory is not usable, leases cannot be recorded"),
                       -EIO;
        r = lease_request_check(args, ret_error);
        if (r >= 0)
                r = lease_choose_vf(m, args, &pf, &vf, ret_error);
        if (r < 0)
                return r;

        r = lease_new(&m->leases, &l);
        if (r < 0)
                return r;
        memcpy(l->pf_address, pf->address, sizeof l->pf_address);
        l->vf_index = vf->index;
        l->persistent = args->persistent;
        l->options = args->options;
        l->owner_uid = args->owner_uid;
        (void) bus_id(m, l->owner_bus_id);
        if (args->consumer && !(l->consumer = strdup(args->consumer)))
                return -ENOMEM;
        if (!l->persistent && !(l->owner = strdup(args->owner)))
                return -ENOMEM;

        rd = calloc(1, sizeof *rd);
        if (!rd)
                return -ENOMEM;
        rd->call = lease_call_new(m, l->id, reply);
        if (!rd->call) {
                free(rd);
                return -ENOMEM;
        }
        snprintf(rd->ifname, sizeof rd->ifname, "%s", strempty(pf->interface));
        rd->index = vf->index;
        r = lease_add(m, l);
        if (r < 0) {
                rd->call->reply = (LeaseReplyTo){};
                lease_read_free(rd);
                return r;
        }
        TAKE_PTR(l);
        /* the VF is taken from here on; nothing is changed before it is recorded */
        r = job_start(m->event, lease_read_work, lease_read_done, rd, &job);
        if (r < 0) {
                rd->call->reply = (LeaseReplyTo){};
                lease_read_free(rd);
                lease_finish(m, lease_table_find_for_vf(&m->leases, pf->address, vf->index), NULL, r,
                             "Failed to start recording the VF");
                return r;
        }
        return 0;
}
