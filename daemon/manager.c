/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "build-config.h"
#include "diagnostics.h"
#include "drain.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "netlink.h"
#include "pf-reconcile.h"
#include "pci.h"
#include "sysfs.h"
#include "udev.h"

/* How long start-up waits for the PFs present at boot before it reports READY=1 anyway; creating
 * 64 VFs takes about 20 s on a real NIC. */
#define READY_TIMEOUT_SEC_DEFAULT 90
/* How long a PF's kernel work may take before the PF fails with the call that does not return;
 * creating VFs on a large NIC takes tens of seconds. 0 waits for ever. */
#define KERNEL_TIMEOUT_SEC_DEFAULT 120
/* Creating and destroying hundreds of VFs is a burst of uevents: a buffer that holds them. */
#define UEVENT_BUFFER_DEFAULT (16 * 1024 * 1024)
/* The kernel's stream is only a head start on udevd's: what it loses comes from udevd. */
#define KERNEL_UEVENT_BUFFER (1024 * 1024)
#define USEC_PER_SEC 1000000ULL
/* After a re-read of every PF that lost uevents made, another overrun waits this long from its end: a
 * storm that overruns the monitor while sriovd reads every PF would otherwise keep it reading. */
#define RESYNC_INTERVAL_MSEC_DEFAULT 500
/* How often a hot-added PF whose driver's probe may still run is looked at while sriovd waits for its
 * "bind": igb's probe takes about a second, mlx5's several. */
#define PROBE_CHECK_USEC (1 * USEC_PER_SEC)

/* What the uevents of a PF's VFs asked for, in PhysicalFunction.vf_events */
enum {
        VF_EVENT_DEVICE = 1 << 0, /* a VF came, went, or changed driver */
        VF_EVENT_NETDEV = 1 << 1, /* a VF's netdev came or went */
};

static uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000ULL;
}

static const char *const manager_state_table[_MANAGER_STATE_MAX] = {
        [MANAGER_STARTING] = "starting",
        [MANAGER_RUNNING] = "running",
        [MANAGER_DEGRADED] = "degraded",
};

DEFINE_STRING_TABLE_LOOKUP(manager_state, ManagerState);

PhysicalFunction *manager_find_pf(Manager *m, const char *device) {
        char address[PCI_ADDRESS_MAX];

        if (isempty(device))
                return NULL;
        if (pci_address_normalize(device, address) >= 0) {
                for (size_t i = 0; i < m->n_pfs; i++)
                        if (streq(m->pfs[i]->address, address))
                                return m->pfs[i];
                return NULL;
        }
        for (size_t i = 0; i < m->n_pfs; i++)
                if (streq_ptr(m->pfs[i]->interface, device))
                        return m->pfs[i];
        return NULL;
}

PhysicalFunction *manager_find_pf_by_path(Manager *m, const char *path) {
        for (size_t i = 0; i < m->n_pfs; i++)
                if (streq(m->pfs[i]->object_path, path))
                        return m->pfs[i];
        return NULL;
}

VirtualFunction *manager_find_vf_by_path(Manager *m, const char *path) {
        _cleanup_free_ char *pf_path = NULL;
        const char *slash = strstr(path, "/vf/");
        PhysicalFunction *pf;
        unsigned index;

        if (!slash || !(pf_path = strndup(path, slash - path)))
                return NULL;
        pf = manager_find_pf_by_path(m, pf_path);
        if (!pf || safe_atou(slash + 4, &index) < 0)
                return NULL;
        return pf_get_vf(pf, index);
}

static PhysicalFunction *manager_find_pf_of_vf(Manager *m, const char *vf_address) {
        for (size_t i = 0; i < m->n_pfs; i++)
                for (size_t j = 0; j < m->pfs[i]->n_vfs; j++)
                        if (m->pfs[i]->vfs[j] && streq(m->pfs[i]->vfs[j]->address, vf_address))
                                return m->pfs[i];
        return NULL;
}

static VirtualFunction *manager_find_vf_by_interface(Manager *m, const char *ifname,
                                                     PhysicalFunction **ret_pf) {
        for (size_t i = 0; i < m->n_pfs; i++)
                for (size_t j = 0; j < m->pfs[i]->n_vfs; j++)
                        if (m->pfs[i]->vfs[j] && streq_ptr(m->pfs[i]->vfs[j]->interface, ifname)) {
                                *ret_pf = m->pfs[i];
                                return m->pfs[i]->vfs[j];
                        }
        return NULL;
}

static void manager_update_state(Manager *m) {
        ManagerState state = MANAGER_RUNNING;

        if (!m->ready)
                state = MANAGER_STARTING;
        else
                for (size_t i = 0; i < m->n_pfs; i++)
                        if (m->pfs[i]->state == PF_STATE_FAILED) {
                                state = MANAGER_DEGRADED;
                                break;
                        }
        if (state == m->state)
                return;
        m->state = state;
        object_mark_changed(&m->mark);
}

static void pf_state_changed(void *userdata) {
        manager_update_state(userdata);
}

/* The matching configuration file, and the refused files that were meant for this PF: those whose
 * [Match] names it, and those that could not be read at all (a FIFO, say), which may have been meant
 * for any PF. */
static void manager_assign_config(Manager *m, PhysicalFunction *pf) {
        _cleanup_free_ char *errors = NULL;
        const PfConfig *config;
        PfMatchInfo info;

        pf_match_info(pf, &info);
        config = m->config ? config_set_find(m->config, &info) : NULL;
        for (size_t i = 0; m->config && i < m->config->n_errors; i++) {
                const ConfigError *e = m->config->errors + i;

                if (e->unread || (e->partial && pf_config_matches(e->partial, &info)))
                        (void) strextend_sep(&errors, "; ", "%s", e->message);
        }
        if (errors)
                log_pf(LOG_ERR, 0, pf, "Refused configuration meant for this PF: %s", errors);
        pf_set_config(pf, config, TAKE_PTR(errors));
}

/* A hot-added PF with a driver link at udevd's "add": the kernel sends "add" before it probes the
 * driver, and a probe holds the device lock that reading sriov_numvfs takes (drivers/pci/iov.c,
 * sriov_numvfs_show(); read from source), for seconds on some NICs. sriovd does not read such a PF on
 * its loop: it waits for the "bind" sent when the probe ended (the kernel's, or udevd's after it),
 * which creates the PF, and looks at the device every PROBE_CHECK_USEC meanwhile. */
struct PendingProbe {
        Manager *manager;
        char *sysname;
        char *syspath;
        uint64_t since_usec; /* CLOCK_MONOTONIC of udevd's "add" */
        uint64_t seqnum; /* of udevd's "add" */
        sd_event_source *timer;
};

static PendingProbe *pending_probe_free(PendingProbe *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        free(p->sysname);
        free(p->syspath);
        free(p);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(PendingProbe *, pending_probe_free);

static PendingProbe *manager_find_pending_probe(Manager *m, const char *sysname) {
        for (size_t i = 0; i < m->n_pending_probes; i++)
                if (streq_ptr(m->pending_probes[i]->sysname, sysname))
                        return m->pending_probes[i];
        return NULL;
}

static void manager_drop_pending_probe(Manager *m, const char *sysname) {
        for (size_t i = 0; i < m->n_pending_probes; i++)
                if (streq_ptr(m->pending_probes[i]->sysname, sysname)) {
                        pending_probe_free(m->pending_probes[i]);
                        memmove(m->pending_probes + i, m->pending_probes + i + 1,
                                (m->n_pending_probes - i - 1) * sizeof *m->pending_probes);
                        m->n_pending_probes--;
                        return;
                }
}

/* A remove of the device whose bind sriovd waits for ends the wait; one older than its "add" is of an
 * earlier device at the address. */
static bool manager_cancel_probe_wait(Manager *m, const char *sysname, uint64_t seqnum) {
        PendingProbe *p = manager_find_pending_probe(m, sysname);

        if (!p || seqnum < p->seqnum)
                return false;
        log_debug("Hot-added PF %s removed before its bind", sysname);
        manager_drop_pending_probe(m, sysname);
        return true;
}

static int manager_add_pf(Manager *m, struct udev_device *d, PhysicalFunction **ret) {
        _cleanup_(pf_freep) PhysicalFunction *pf = NULL;
        PhysicalFunction **a;
        int r;

        /* whatever brought it (a "bind", udevd's late events, a re-read of every PF) ends a wait for
         * its probe */
        manager_drop_pending_probe(m, udev_device_get_sysname(d));

        r = pf_new(&m->host, udev_device_get_sysname(d), udev_device_get_syspath(d), &pf);
        if (r < 0)
                return log_error_errno(r, "Failed to create PF %s: %m", udev_device_get_sysname(d));
        a = reallocarray(m->pfs, m->n_pfs + 1, sizeof *a);
        if (!a || pf_reconcile_init(pf) < 0)
                return log_oom();
        m->pfs = a;
        /* announced before its VFs, which the first refresh finds */
        object_mark_added(&pf->mark);

        r = pf_refresh(pf);
        if (r < 0) {
                pf_reconcile_done(pf, r, NULL);
                return r;
        }
        pf->admin_up = sysfs_netdev_is_up(pf->syspath, pf->interface);
        pf_load_stored(pf);
        manager_assign_config(m, pf);
        pf_update_desired(pf);
        if (pf->desired_num_vfs >= 0 && pf_forced_count(pf) == pf->desired_num_vfs) {
                /* forced through the API, and sriovd stopped before the kernel had it */
                log_pf(LOG_INFO, 0, pf, "NumVFs=%i was forced, enforcing it so", pf->desired_num_vfs);
                pf_force_next(pf);
        }
        pf->state = pf->desired_num_vfs < 0 && pf->config_error ? PF_STATE_FAILED : PF_STATE_UNMANAGED;
        (void) pf_set_last_error(pf, pf->config_error);

        m->pfs[m->n_pfs++] = pf;
        if (m->names_now)
                pf_lookup_names(pf);
        log_pf(LOG_INFO, 0, pf, "Found PF %s (%04x:%04x, driver %s, %u of %u VFs), %s", pf->address,
               pf->vendor_id, pf->device_id, pf->driver ?: "none", pf->num_vfs, pf->total_vfs,
               pf->desired_num_vfs >= 0 ? "managed" : "unmanaged");

        *ret = TAKE_PTR(pf);
        return 0;
}

/* Adds the PF of a pending probe that ended without a "bind" sriovd saw, or that takes too long. */
static void manager_add_pending_pf(Manager *m, PendingProbe *p) {
        struct udev_device *d = udev_device_new_from_syspath(m->udev, p->syspath);
        uint64_t seqnum = p->seqnum;
        PhysicalFunction *pf;

        if (!d) {
                log_error_errno(errno, "Failed to read hot-added PF %s: %m", p->sysname);
                manager_drop_pending_probe(m, p->sysname);
                return;
        }
        /* drops p */
        if (manager_add_pf(m, d, &pf) >= 0) {
                /* a remove older than its "add" is of an earlier device at the address */
                pf->bind_seqnum = seqnum;
                (void) pf_schedule_reconcile(pf, 0);
        } else
                manager_drop_pending_probe(m, udev_device_get_sysname(d));
        udev_device_unref(d);
}

static int pending_probe_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        PendingProbe *p = userdata;
        Manager *m = p->manager;
        uint64_t timeout = m->host.kernel_timeout_usec;

        if (access(p->syspath, F_OK) < 0) {
                /* unplugged: its "remove" follows */
                manager_drop_pending_probe(m, p->sysname);
                return 0;
        }
        if (!sysfs_attr_exists(p->syspath, SYSFS_DRIVER)) {
                /* the probe failed (the kernel removes the link and sends no "bind"): a PF without a
                 * driver, which nothing probes now */
                log_info("Driver probe of hot-added PF %s ended without binding it", p->sysname);
                manager_add_pending_pf(m, p);
                return 0;
        }
        if (timeout > 0 && usec >= p->since_usec + timeout) {
                log_warning("No bind of hot-added PF %s in %llu s since it was added, reading it "
                            "now: its driver's probe may still hold it",
                            p->sysname, (unsigned long long) (timeout / USEC_PER_SEC));
                manager_add_pending_pf(m, p);
                return 0;
        }
        if (sd_event_source_set_time(s, usec + PROBE_CHECK_USEC) < 0 ||
            sd_event_source_set_enabled(s, SD_EVENT_ONESHOT) < 0) {
                log_warning("Failed to wait longer for the bind of hot-added PF %s, reading it now",
                            p->sysname);
                manager_add_pending_pf(m, p);
        }
        return 0;
}

/* udevd's "add" of an SR-IOV capable device sriovd does not know, with a driver link: its driver's
 * probe runs, or ended and its "bind" is on its way. Returns false when sriovd cannot wait (no
 * kernel monitor, whose "bind" comes first; or no memory), and the PF is to be read now. */
static bool manager_wait_probe(Manager *m, struct udev_device *d) {
        _cleanup_(pending_probe_freep) PendingProbe *p = NULL;
        const char *sysname = udev_device_get_sysname(d), *syspath = udev_device_get_syspath(d);
        PendingProbe **a;
        uint64_t now_usec;

        if (!m->kernel_monitor || !sysname || !syspath)
                return false;
        if (manager_find_pending_probe(m, sysname))
                return true;
        if (!sysfs_attr_exists(syspath, SYSFS_DRIVER))
                return false;
        p = calloc(1, sizeof *p);
        if (!p || !(p->sysname = strdup(sysname)) || !(p->syspath = strdup(syspath)))
                return false;
        p->manager = m;
        p->seqnum = udev_device_get_seqnum(d);
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now_usec) < 0)
                return false;
        p->since_usec = now_usec;
        if (sd_event_add_time(m->event, &p->timer, CLOCK_MONOTONIC, now_usec + PROBE_CHECK_USEC, 0,
                              pending_probe_handler, p) < 0)
                return false;
        (void) sd_event_source_set_description(p->timer, "pending-probe");
        a = reallocarray(m->pending_probes, m->n_pending_probes + 1, sizeof *a);
        if (!a)
                return false;
        m->pending_probes = a;
        m->pending_probes[m->n_pending_probes++] = TAKE_PTR(p);
        log_debug("Hot-added PF %s has a driver whose probe may still run, waiting for its bind", sysname);
        return true;
}

static void manager_remove_pf(Manager *m, PhysicalFunction *pf) {
        int r;

        log_pf(LOG_INFO, 0, pf, "PF %s removed", pf->address);
        /* its sriov_drivers_autoprobe went with the device: a record of it would be put back on
         * whatever is plugged in at the address later */
        r = pf_save_autoprobe(pf, -1);
        if (r < 0 && r != -ENOENT)
                log_pf(LOG_WARNING, r, pf,
                       "Failed to remove the record of sriov_drivers_autoprobe of %s from the runtime "
                       "directory, ignoring: %m",
                       pf->address);

        for (size_t i = 0; i < pf->n_vfs; i++)
                if (pf->vfs[i]) {
                        object_mark_removed(&pf->vfs[i]->mark);
                        lease_table_vf_gone(&m->leases, pf->address, i);
                        m->host.marks_stale = true;
                }
        object_mark_removed(&pf->mark);
        for (size_t i = 0; i < m->n_pfs; i++)
                if (m->pfs[i] == pf) {
                        memmove(m->pfs + i, m->pfs + i + 1, (m->n_pfs - i - 1) * sizeof *m->pfs);
                        m->n_pfs--;
                        break;
                }
        pf_drain_done(pf, -ENODEV, "The PF was removed");
        pf_reconcile_done(pf, -ENODEV, "The PF was removed");
        pf_free(pf);
        manager_update_state(m);
}

/* A VF appeared, went, or changed driver (VF_EVENT_DEVICE), or its netdev came or went
 * (VF_EVENT_NETDEV). A count change sends a uevent or two per VF and a storm thousands: each only marks
 * its PF, which is read once for all of them right after the handler that received them
 * (vf_events_handler()), before the bus layer announces what changed. */
static void manager_vf_changed(Manager *m, PhysicalFunction *pf, unsigned event) {
        /* A job on the PF reads it again when it ends and judges every VF then: the uevents of the VFs
         * it creates and binds (several each) would only read the same PF over and over meanwhile. */
        if (pf_job_running(pf))
                return;
        pf->vf_events |= event;
        pf->stale = true;
        (void) sd_event_source_set_enabled(m->vf_events_source, SD_EVENT_ONESHOT);
}

/* A reset VF comes back with default settings, so a PF with VF policy is applied again, once per
 * burst. */
static void manager_vf_events_done(PhysicalFunction *pf, unsigned events) {
        if (pf->stale)
                (void) pf_refresh(pf);
        if (!(events & VF_EVENT_DEVICE)) {
                /* a VF's netdev going away may be the first sign that its VF went */
                pf_check_drift(pf);
                return;
        }
        /* a leased VF destroyed (by hand, say) releases its lease's hold */
        pf_drain_check(pf);
        pf_check_drift(pf);
        if (!pf_job_running(pf) && pf->state != PF_STATE_DRIFT && pf_has_vf_policy(pf))
                (void) pf_schedule_reconcile(pf, EVENT_COALESCE_USEC);
}

/* A uevent of the PF or of its netdev. A PF driver that was (re)loaded has no VFs: put them back. The
 * driver registers the PF's netdev (a "net" add uevent) before the PCI "bind" uevent is sent, so
 * whichever of the two refreshes the PF first must notice the new driver. */
static void manager_pf_changed(Manager *m, PhysicalFunction *pf) {
        _cleanup_free_ char *old_driver = pf->driver ? strdup(pf->driver) : NULL,
                            *old_interface = pf->interface ? strdup(pf->interface) : NULL;
        const PfConfig *old_config = pf->config;

        (void) pf_refresh(pf);
        if (!streq_ptr(old_driver, pf->driver) || !streq_ptr(old_interface, pf->interface)) {
                /* Interface= and Driver= matches may hold now, or no longer: a driver registers its
                 * netdev after the PCI device appeared (or through an auxiliary device, later still),
                 * and netdevs are renamed */
                pf->admin_up = sysfs_netdev_is_up(pf->syspath, pf->interface);
                manager_assign_config(m, pf);
                pf_update_desired(pf);
                if (pf->config != old_config) {
                        log_pf(LOG_INFO, 0, pf, "Interface %s, driver %s: configuration %s now",
                               strna(pf->interface), strna(pf->driver),
                               pf->config ? pf->config->path : "none");
                        (void) pf_schedule_reconcile(pf, 0);
                        return;
                }
        }
        if (!streq_ptr(old_driver, pf->driver) && pf->driver && pf->desired_num_vfs >= 0) {
                log_pf(LOG_INFO, 0, pf, "Driver %s bound, enforcing", pf->driver);
                /* a new driver is worth another try of a count the old one refused */
                pf_retry_count(pf);
                (void) pf_schedule_reconcile(pf, 0);
        } else
                pf_check_drift(pf);
}

/* Coldplug (action NULL) and every uevent go through here. */
static void manager_handle_device(struct udev_device *d, const char *action, void *userdata) {
        Manager *m = userdata;
        _cleanup_free_ char *physfn = NULL;
        PhysicalFunction *pf;
        const char *subsystem = udev_device_get_subsystem(d), *sysname;
        int r;

        if (streq_ptr(subsystem, "net")) {
                /* interface names of PFs and VFs follow their netdevs */
                struct udev_device *parent = udev_device_pci_parent(d);
                const char *name = parent ? udev_device_get_sysname(parent) : NULL;

                if (!name)
                        return;
                pf = manager_find_pf(m, name);
                if (pf) {
                        manager_pf_changed(m, pf);
                        return;
                }
                pf = manager_find_pf_of_vf(m, name);
                if (pf)
                        manager_vf_changed(m, pf, VF_EVENT_NETDEV);
                return;
        }
        if (!streq_ptr(subsystem, "pci"))
                return;

        sysname = udev_device_get_sysname(d);
        pf = manager_find_pf(m, sysname);

        if (streq_ptr(action, "remove")) {
                if (pf && udev_device_get_seqnum(d) < pf->bind_seqnum) {
                        /* udevd's remove of the device this address had before the one that the
                         * kernel's "bind" (ahead of udevd) has since brought */
                        log_pf(LOG_DEBUG, 0, pf,
                               "Ignoring udevd's remove uevent %llu, older than bind %" PRIu64,
                               udev_device_get_seqnum(d), pf->bind_seqnum);
                        return;
                }
                if (pf) {
                        manager_remove_pf(m, pf);
                        return;
                }
                if (manager_cancel_probe_wait(m, sysname, udev_device_get_seqnum(d)))
                        return;
                pf = manager_find_pf_of_vf(m, sysname);
                if (pf)
                        manager_vf_changed(m, pf, VF_EVENT_DEVICE);
                return;
        }
        if (!pf && !streq_ptr(action, "add")) {
                /* a VF sriovd knows (its bind, unbind, change): its PF without a look at sysfs, so that
                 * a storm of them costs no syscalls before the PF's one read */
                pf = manager_find_pf_of_vf(m, sysname);
                if (pf) {
                        manager_vf_changed(m, pf, VF_EVENT_DEVICE);
                        return;
                }
        }

        /* udevd's "add" (or "change") while the probe its "bind" ends may run: not read on the loop */
        if (!pf && (streq_ptr(action, "add") || streq_ptr(action, "change")) &&
            manager_find_pending_probe(m, sysname))
                return;
        if (!pf && sysfs_attr_exists(udev_device_get_syspath(d), SYSFS_SRIOV_TOTALVFS)) {
                if (streq_ptr(action, "add") && manager_wait_probe(m, d))
                        return;
                r = manager_add_pf(m, d, &pf);
                if (r < 0)
                        return;
                /* a remove older than this is of an earlier device at the address */
                pf->bind_seqnum = udev_device_get_seqnum(d);
                /* on coldplug the start-up request reconciles every PF at once */
                if (action)
                        (void) pf_schedule_reconcile(pf, 0);
                return;
        }
        if (pf) {
                manager_pf_changed(m, pf);
                return;
        }

        /* a VF: its PF's count or its own driver changed */
        if (sysfs_read_link_name(udev_device_get_syspath(d), SYSFS_PHYSFN, &physfn) >= 0) {
                pf = manager_find_pf(m, physfn);
                if (pf)
                        manager_vf_changed(m, pf, VF_EVENT_DEVICE);
        }
}

/* After uevents were lost: every PF as sysfs has it now, and each reconciled, as if sriovd had just
 * started. */
static void manager_resync(Manager *m) {
        log_info("Reading every PF again for the uevents lost (overruns: %u)", m->resync_overruns);
        m->resync_overruns = 0;
        for (size_t i = m->n_pfs; i > 0; i--)
                if (access(m->pfs[i - 1]->syspath, F_OK) < 0)
                        manager_remove_pf(m, m->pfs[i - 1]);
        /* every PF the enumeration finds is read (and a new one added): a PF it missed is read by its
         * reconcile */
        for (size_t i = 0; i < m->n_pfs; i++)
                m->pfs[i]->stale = true;
        if (udev_enumerate_pfs(m->udev, manager_handle_device, m) < 0)
                log_error("Failed to enumerate the PCI devices again");
        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];

                pf_retry_count(pf);
                (void) (pf->stale ? pf_reconcile(pf, NULL) : pf_reconcile_refreshed(pf));
        }
        m->resync_usec = now_monotonic_usec();
}

static int resync_timer_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->resync_timer = sd_event_source_disable_unref(m->resync_timer);
        manager_resync(m);
        return 0;
}

/* Overruns that follow each other closely (a storm that goes on while every PF is read again) make one
 * read of every PF per resync_interval_usec: the first at once, those after it at the interval's end. */
static void manager_resync_due(Manager *m) {
        uint64_t next = m->resync_usec + m->resync_interval_usec;

        /* one is waiting already: it covers this overrun too */
        if (m->resync_timer)
                return;
        if (m->resync_usec == 0 || now_monotonic_usec() >= next) {
                manager_resync(m);
                return;
        }
        if (sd_event_add_time(m->event, &m->resync_timer, CLOCK_MONOTONIC, next, 0, resync_timer_handler,
                              m) < 0) {
                /* never lost: read now rather than not at all */
                manager_resync(m);
                return;
        }
        (void) sd_event_source_set_description(m->resync_timer, "resync");
}

/* The uevents of one run of the monitor's handler: one read of every PF for its overruns, one read of
 * each PF for its VFs' uevents. */
static int vf_events_handler(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        if (m->resync_due) {
                m->resync_due = false;
                manager_resync_due(m);
        }
        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];
                unsigned events = pf->vf_events;

                pf->vf_events = 0;
                if (events && !pf_job_running(pf))
                        manager_vf_events_done(pf, events);
        }
        return 0;
}

static void manager_schedule_resync(Manager *m) {
        m->resync_overruns++;
        m->resync_due = true;
        (void) sd_event_source_set_enabled(m->vf_events_source, SD_EVENT_ONESHOT);
}

static int monitor_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        for (;;) {
                struct udev_device *d;

                errno = 0;
                d = udev_monitor_receive_device(m->monitor);
                if (!d && errno == ENOBUFS) {
                        /* the socket overran in a storm: what was lost may have been a count changed */
                        log_warning("uevents were lost (the udev monitor's buffer overran), reading every "
                                    "PF again");
                        manager_schedule_resync(m);
                        continue;
                }
                if (!d)
                        break;
                log_debug("uevent %s %s", strempty(udev_device_get_action(d)), udev_device_get_syspath(d));
                manager_handle_device(d, udev_device_get_action(d), m);
                udev_device_unref(d);
        }
        return 0;
}

/* The kernel's own "bind" and "unbind" of a PF, which udevd passes on only after its rules for the
 * device and for the netdev the driver registered (the rename included): on a loaded machine that is
 * seconds after the driver bound. A PF is usable once its driver bound, so a hot-added PF (or one
 * whose driver was loaded again) starts its job from here; the job follows its netdev through
 * udevd's rename. udevd's events of the same devices come later and find nothing new. Anything lost
 * here comes from udevd all the same. */
static void manager_handle_kernel_device(Manager *m, struct udev_device *d) {
        const char *action = udev_device_get_action(d), *syspath = udev_device_get_syspath(d);
        PhysicalFunction *pf;

        if ((!streq_ptr(action, "bind") && !streq_ptr(action, "unbind") && !streq_ptr(action, "remove")) ||
            !streq_ptr(udev_device_get_subsystem(d), "pci"))
                return;
        pf = manager_find_pf(m, udev_device_get_sysname(d));
        if (streq(action, "remove")) {
                /* The PF is gone: its object goes now, before the "bind" of a device plugged in at its
                 * address meanwhile (another model, or no PF at all) would be taken for it. A remove
                 * older than the uevent the object came from is of an earlier device (udevd's monitor
                 * may have brought the new one first). */
                if (pf && udev_device_get_seqnum(d) >= pf->bind_seqnum) {
                        log_debug("kernel uevent %s %s", action, syspath);
                        manager_remove_pf(m, pf);
                }
                if (!pf)
                        (void) manager_cancel_probe_wait(m, udev_device_get_sysname(d),
                                                         udev_device_get_seqnum(d));
                return;
        }
        if (!pf) {
                if (!streq(action, "bind") || !syspath || !sysfs_attr_exists(syspath, SYSFS_SRIOV_TOTALVFS))
                        return;
                log_debug("kernel uevent %s %s", action, syspath);
                if (manager_add_pf(m, d, &pf) < 0)
                        return;
                pf->bind_seqnum = udev_device_get_seqnum(d);
                (void) pf_schedule_reconcile(pf, 0);
                return;
        }
        log_debug("kernel uevent %s %s", action, syspath);
        if (streq(action, "bind"))
                pf->bind_seqnum = udev_device_get_seqnum(d);
        manager_pf_changed(m, pf);
}

static int kernel_monitor_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        for (;;) {
                struct udev_device *d;

                errno = 0;
                d = udev_monitor_receive_device(m->kernel_monitor);
                if (!d && errno == ENOBUFS) {
                        /* udevd's monitor brings the same events, and reads everything again when it
                         * loses some */
                        log_debug("The kernel uevent monitor overran, ignoring");
                        continue;
                }
                if (!d)
                        break;
                manager_handle_kernel_device(m, d);
                udev_device_unref(d);
        }
        return 0;
}

static void link_changed(const char *ifname, uint32_t mtu, void *userdata) {
        PhysicalFunction *pf = manager_find_pf(userdata, ifname);
        VirtualFunction *vf;
        bool up;

        if (!pf) {
                /* A VF's own netdev: of its settings only the MTU is sriovd's. The kernel notifies for
                 * every change of it (carrier, flags, statistics): read back only when the MTU is new. */
                vf = manager_find_vf_by_interface(userdata, ifname, &pf);
                if (!vf || mtu == 0 || (POLICY_HAS(&vf->actual, POLICY_MTU) && vf->actual.mtu == mtu))
                        return;
                log_vf(LOG_DEBUG, 0, vf, "MTU of %s is %" PRIu32, ifname, mtu);
                (void) pf_schedule_readback(pf);
                return;
        }
        /* the PF's notification carries VF settings; it says something changed, not what */
        up = sysfs_netdev_is_up(pf->syspath, pf->interface);
        if (up && !pf->admin_up && pf_has_vf_policy(pf)) {
                /* VF drivers that started while the PF was down have no MAC from it: start them again */
                log_pf(LOG_INFO, 0, pf, "%s is up, enforcing its VFs", pf->interface);
                (void) pf_schedule_reconcile(pf, EVENT_COALESCE_USEC);
        } else
                (void) pf_schedule_readback(pf);
        pf->admin_up = up;
}

static int link_monitor_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        r = netlink_monitor_dispatch(m->link_monitor);
        if (r < 0) {
                /* notifications were lost (the socket overran): read every PF back */
                log_warning_errno(r, "Failed to read link notifications, reading every PF back: %m");
                for (size_t i = 0; i < m->n_pfs; i++)
                        (void) pf_schedule_readback(m->pfs[i]);
        }
        return 0;
}

static bool manager_udev_settled(Manager *m) {
        return !m->udev_queue || udev_queue_get_queue_is_empty(m->udev_queue) != 0;
}

/* At start-up, while udev still works through coldplug, a PF without a driver is waited for. */
static bool waiting_for_drivers(void *userdata) {
        Manager *m = userdata;

        return !m->ready && !manager_udev_settled(m);
}

/* PFs that start-up left waiting for a driver are failed once udev is idle, or start-up is over. */
static void manager_stop_waiting_for_drivers(Manager *m) {
        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];

                if (!pf_job_running(pf) && !pf->driver && pf->state == PF_STATE_CONVERGING)
                        (void) pf_schedule_reconcile(pf, 0);
        }
}

static int udev_queue_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;

        (void) udev_queue_flush(m->udev_queue);
        if (!manager_udev_settled(m))
                return 0;
        m->udev_queue_source = sd_event_source_disable_unref(m->udev_queue_source);
        manager_stop_waiting_for_drivers(m);
        return 0;
}

static void manager_watch_udev_queue(Manager *m) {
        int fd;

        m->udev_queue = udev_queue_new(m->udev);
        if (!m->udev_queue)
                return;
        fd = udev_queue_get_fd(m->udev_queue);
        if (fd < 0 ||
            sd_event_add_io(m->event, &m->udev_queue_source, fd, EPOLLIN, udev_queue_handler, m) < 0) {
                /* without a way to see udev go idle, do not wait for drivers at all */
                m->udev_queue = udev_queue_unref(m->udev_queue);
                return;
        }
        (void) sd_event_source_set_description(m->udev_queue_source, "udev-queue");
}

static void manager_notify_status(Manager *m) {
        size_t managed = 0, enforced = 0, failed = 0;

        for (size_t i = 0; i < m->n_pfs; i++) {
                PhysicalFunction *pf = m->pfs[i];
                if (pf->desired_num_vfs >= 0)
                        managed++;
                if (pf->state == PF_STATE_ENFORCED)
                        enforced++;
                if (pf->state == PF_STATE_FAILED)
                        failed++;
        }
        (void) sd_notifyf(false, "STATUS=%zu PFs, %zu managed, %zu enforced, %zu failed", m->n_pfs, managed,
                          enforced, failed);
}

static void manager_maybe_ready(Manager *m, bool timed_out) {
        if (m->ready)
                return;
        if (!timed_out && (!m->coldplug_done || !m->name_acquired))
                return;

        m->ready = true;
        m->ready_timeout = sd_event_source_disable_unref(m->ready_timeout);
        m->udev_queue_source = sd_event_source_disable_unref(m->udev_queue_source);
        manager_stop_waiting_for_drivers(m);
        if (timed_out)
                log_warning("PFs still converging after %" PRIu64 " s, reporting ready anyway",
                            m->ready_timeout_usec / 1000000);
        manager_update_state(m);
        manager_notify_status(m);
        (void) sd_notify(false, "READY=1");
        /* start-up's transient allocations (uevents, enumerations, job copies) go back to the system */
        (void) malloc_trim(0);
        log_info("sriovd " PACKAGE_VERSION " ready, %zu PFs", m->n_pfs);
}

static void startup_done(Request *req, int error, const char *message, void *userdata) {
        Manager *m = userdata;

        if (error < 0)
                log_warning("Not every PF converged at start-up: %s", strempty(message));
        m->coldplug_done = true;
        manager_maybe_ready(m, false);
}

static int ready_timeout_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        manager_maybe_ready(userdata, true);
        return 0;
}

void manager_name_acquired(Manager *m) {
        m->name_acquired = true;
        manager_maybe_ready(m, false);
}

int manager_reload(Manager *m, Request *req) {
        _cleanup_(config_set_freep) ConfigSet *c = NULL;
        ConfigSet *old;
        int r;

        r = config_load(m->config_dirs, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration: %m");
        for (size_t i = 0; i < c->n_errors; i++)
                log_error("%s", c->errors[i].message);

        old = m->config;
        m->config = TAKE_PTR(c);
        for (size_t i = 0; i < m->n_pfs; i++) {
                manager_assign_config(m, m->pfs[i]);
                pf_update_desired(m->pfs[i]);
        }
        config_set_free(old);
        return manager_apply(m, req);
}

int manager_apply(Manager *m, Request *req) {
        for (size_t i = 0; i < m->n_pfs; i++)
                (void) pf_reconcile(m->pfs[i], req);
        manager_notify_status(m);
        return 0;
}

static int signal_handler(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                log_info("Reloading configuration");
                (void) manager_reload(m, NULL);
                return 0;
        }
        log_info("Received %s, exiting; VFs stay as they are", strsignal((int) si->ssi_signo));
        (void) sd_event_exit(m->event, 0);
        return 0;
}

/* SIGTERM and SIGINT stop, SIGHUP reloads. SIGCHLD is blocked for sd-event's child sources (the
 * diagnostics helper). */
static int manager_watch_signals(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, signal_handler, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, signal_handler, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, signal_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add signal handlers: %m");
        return 0;
}

/* A write cut short by a crash or a power loss leaves its temporary file behind. */
static void manager_clean_stores(Manager *m) {
        Store *stores[] = {m->store, m->runtime_store};

        for (size_t i = 0; i < ELEMENTSOF(stores); i++) {
                _cleanup_free_ char *pf_dir = NULL;

                if (!stores[i])
                        continue;
                pf_dir = path_join(stores[i]->dir, "pf");
                (void) remove_stale_temporary_files(stores[i]->dir);
                if (pf_dir && remove_stale_temporary_files(pf_dir) > 0)
                        log_info("Removed temporary files an interrupted write left in %s", pf_dir);
        }
}

static unsigned number_from_env(const char *name, unsigned default_value) {
        const char *e = getenv(name);
        unsigned u;

        if (!e)
                return default_value;
        if (safe_atou(e, &u) < 0) {
                log_warning("Ignoring %s=%s: not a number", name, e);
                return default_value;
        }
        return u;
}

int manager_new(char **config_dirs, const char *state_dir, const char *runtime_dir, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *runtime_state = NULL;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return log_oom();
        m->state = MANAGER_STARTING;
        m->ready_timeout_usec =
                number_from_env(ENV_SRIOVD_READY_TIMEOUT_SEC, READY_TIMEOUT_SEC_DEFAULT) * USEC_PER_SEC;
        m->resync_interval_usec = RESYNC_INTERVAL_MSEC_DEFAULT * 1000ULL;
#if SRIOVD_TEST_HOOKS
        m->resync_interval_usec =
                number_from_env(ENV_SRIOVD_RESYNC_INTERVAL_MSEC, RESYNC_INTERVAL_MSEC_DEFAULT) * 1000ULL;
#endif
        for (char **d = config_dirs; d && *d; d++)
                if (strv_extend(&m->config_dirs, *d) < 0)
                        return log_oom();

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");
        (void) sd_event_set_watchdog(m->event, true);

        r = manager_watch_signals(m);
        if (r < 0)
                return r;

        r = store_open(state_dir, &m->store);
        if (r < 0)
                log_error_errno(r, "Failed to open state directory %s, persisting is disabled: %m",
                                state_dir);
        runtime_state = path_join(runtime_dir, "state");
        m->managed_vf_dir = path_join(runtime_dir, SRIOVD_MANAGED_VF_SUBDIR);
        if (!runtime_state || !m->managed_vf_dir)
                return log_oom();
        r = store_open(runtime_state, &m->runtime_store);
        if (r < 0)
                log_error_errno(
                        r, "Failed to open runtime state directory %s, runtime changes are disabled: %m",
                        runtime_state);

        manager_clean_stores(m);

        r = config_load(m->config_dirs, &m->config);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration: %m");
        for (size_t i = 0; i < m->config->n_errors; i++)
                log_error("%s", m->config->errors[i].message);

        r = pci_names_open(&m->pci_access);
        if (r < 0)
                log_warning_errno(r, "Failed to set up libpci, vendor and model names are unavailable: %m");

        r = lease_table_init(&m->leases, &m->changes, m->store ? m->store->dir : NULL);
        if (r < 0)
                return log_oom();
        object_mark_init(&m->mark, &m->changes, OBJECT_MANAGER, m, SRIOVD_MANAGER_PATH);
        m->host = (PfHost){
                .event = m->event,
                .changes = &m->changes,
                .leases = &m->leases,
                .store = m->store,
                .runtime_store = m->runtime_store,
                .pci_access = m->pci_access,
                .waiting_for_drivers = waiting_for_drivers,
                .state_changed = pf_state_changed,
                .userdata = m,
                .managed_vf_dir = m->managed_vf_dir,
                /* marks of VFs that went while sriovd was not running */
                .marks_stale = true,
                .kernel_timeout_usec =
                        number_from_env(ENV_SRIOVD_KERNEL_TIMEOUT_SEC, KERNEL_TIMEOUT_SEC_DEFAULT) *
                        USEC_PER_SEC,
        };

        *ret = TAKE_PTR(m);
        return 0;
}

void manager_stop(Manager *m) {
        m->host.stopping = true;
        for (size_t i = 0; i < m->n_pfs; i++) {
                pf_drain_done(m->pfs[i], -ESHUTDOWN, "sriovd is stopping");
                pf_reconcile_done(m->pfs[i], -ESHUTDOWN, "sriovd is stopping");
        }
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        manager_stop(m);
        diagnostics_free(m->diagnostics);
        for (size_t i = 0; i < m->n_pending_probes; i++)
                pending_probe_free(m->pending_probes[i]);
        free(m->pending_probes);
        for (size_t i = 0; i < m->n_pfs; i++)
                pf_free(m->pfs[i]);
        free(m->pfs);
        /* leases stay in their journal: the next sriovd keeps or restores them */
        lease_table_done(&m->leases);
        change_queue_clear(&m->changes);
        sd_event_source_disable_unref(m->monitor_source);
        sd_event_source_disable_unref(m->kernel_monitor_source);
        udev_monitor_unref(m->kernel_monitor);
        sd_event_source_disable_unref(m->vf_events_source);
        sd_event_source_disable_unref(m->resync_timer);
        sd_event_source_disable_unref(m->ready_timeout);
        sd_event_source_disable_unref(m->link_monitor_source);
        if (m->link_monitor)
                nl_socket_free(m->link_monitor);
        sd_event_source_disable_unref(m->udev_queue_source);
        udev_queue_unref(m->udev_queue);
        udev_monitor_unref(m->monitor);
        udev_unref(m->udev);
        config_set_free(m->config);
        store_free(m->store);
        store_free(m->runtime_store);
        strv_free(m->config_dirs);
        free(m->managed_vf_dir);
        pci_names_close(m->pci_access);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_start(Manager *m) {
        int r;

        m->udev = udev_new();
        if (!m->udev)
                return log_error_errno(errno, "Failed to create udev context: %m");
        r = udev_monitor_setup(m->udev,
                               number_from_env(ENV_SRIOVD_UEVENT_BUFFER_BYTES, UEVENT_BUFFER_DEFAULT),
                               &m->monitor);
        if (r < 0)
                return log_error_errno(r, "Failed to set up udev monitor: %m");
        r = sd_event_add_io(m->event, &m->monitor_source, udev_monitor_get_fd(m->monitor), EPOLLIN,
                            monitor_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch udev monitor: %m");
        (void) sd_event_source_set_description(m->monitor_source, "udev-monitor");
        /* ahead of every other source, the bus layer's queue of changes among them: the reads a burst of
         * uevents asked for come right after it, and what they find is announced in the same iteration */
        r = sd_event_add_defer(m->event, &m->vf_events_source, vf_events_handler, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->vf_events_source, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_source_set_priority(m->vf_events_source, SD_EVENT_PRIORITY_NORMAL - 1);
        if (r < 0)
                return log_error_errno(r, "Failed to add the uevent burst source: %m");
        (void) sd_event_source_set_description(m->vf_events_source, "vf-events");

        r = udev_kernel_monitor_setup(m->udev, KERNEL_UEVENT_BUFFER, &m->kernel_monitor);
        if (r < 0)
                log_warning_errno(r, "Failed to set up the kernel uevent monitor, a hot-added PF waits for "
                                     "udevd's rules: %m");
        else {
                r = sd_event_add_io(m->event, &m->kernel_monitor_source,
                                    udev_monitor_get_fd(m->kernel_monitor), EPOLLIN, kernel_monitor_handler,
                                    m);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch the kernel uevent monitor: %m");
                (void) sd_event_source_set_description(m->kernel_monitor_source, "kernel-uevent-monitor");
        }

        r = netlink_monitor_open(link_changed, m, &m->link_monitor);
        if (r < 0)
                log_warning_errno(r, "Failed to watch link notifications, VF settings changed by others are "
                                     "seen at the next apply only: %m");
        else {
                r = sd_event_add_io(m->event, &m->link_monitor_source, nl_socket_get_fd(m->link_monitor),
                                    EPOLLIN, link_monitor_handler, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch link notifications: %m");
                (void) sd_event_source_set_description(m->link_monitor_source, "link-monitor");
        }

        manager_watch_udev_queue(m);

        (void) sd_notify(false, "STATUS=Enumerating SR-IOV devices");
        r = udev_enumerate_pfs(m->udev, manager_handle_device, m);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate PCI devices: %m");
        return 0;
}

int manager_enforce(Manager *m) {
        _cleanup_(request_unrefp) Request *startup = NULL;
        uint64_t now_usec;
        int r;

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &now_usec);
        if (r >= 0)
                r = sd_event_add_time(m->event, &m->ready_timeout, CLOCK_MONOTONIC,
                                      now_usec + m->ready_timeout_usec, 0, ready_timeout_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add start-up timeout: %m");

        (void) sd_notifyf(false, "STATUS=Enforcing VF counts on %zu PFs", m->n_pfs);
        startup = request_new(startup_done, NULL, m);
        if (!startup)
                return log_oom();
        for (size_t i = 0; i < m->n_pfs; i++)
                (void) pf_reconcile(m->pfs[i], startup);
        request_arm(startup);

        /* The first lookup reads and parses all of pci.ids (tens of ms, seconds in a slow guest): done
         * now, while the jobs just started work in the kernel, rather than before them. No bus call is
         * answered before this returns, so no client sees a PF without its names (const properties). */
        m->names_now = true;
        for (size_t i = 0; i < m->n_pfs; i++)
                pf_lookup_names(m->pfs[i]);
        return 0;
}

int manager_run(Manager *m) {
        int r = sd_event_loop(m->event);

        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down");
        return r;
}
