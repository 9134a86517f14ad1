/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "converge.h"
#include "kernel-error.h"
#include "log.h"
#include "names.h"
#include "netlink.h"
#include "sysfs.h"

#define KEY(k) (UINT32_C(1) << (k))

void converge_work_free(ConvergeWork *w) {
        if (!w)
                return;
        for (size_t i = 0; i < w->n_outcomes; i++)
                free(w->outcomes[i].message);
        free(w->outcomes);
        free(w->wants);
        free(w->managed);
        free(w->released);
        free(w->managed_vf_dir);
        free(w->syspath);
        free(w->pf_driver);
        free(w->pf_message);
        free(w);
}

void converge_work_init(ConvergeWork *w) {
        w->lock = (pthread_mutex_t) PTHREAD_MUTEX_INITIALIZER;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* The slot of w->doing this thread reports in: 0 on the job's thread, 1.. on its binding workers. */
static _Thread_local unsigned work_slot;

void converge_work_doing(ConvergeWork *w, char *buf, size_t size) {
        unsigned busy = 0;

        buf[0] = 0;
        pthread_mutex_lock(&w->lock);
        for (size_t i = 0; i < ELEMENTSOF(w->doing); i++)
                if (w->doing[i][0] && busy++ == 0)
                        snprintf(buf, size, "%s", w->doing[i]);
        pthread_mutex_unlock(&w->lock);
        if (busy > 1) {
                size_t n = strlen(buf);
                snprintf(buf + n, size - n, " (and %u more calls)", busy - 1);
        }
}

/* What the job does now, for a job whose kernel call does not return. */
static void work_doing(ConvergeWork *w, const char *fmt, ...) _printf_(2, 3);
static void work_doing(ConvergeWork *w, const char *fmt, ...) {
        char *slot = w->doing[work_slot];
        va_list ap;

        pthread_mutex_lock(&w->lock);
        if (fmt) {
                va_start(ap, fmt);
                (void) vsnprintf(slot, sizeof w->doing[0], fmt, ap);
                va_end(ap);
        } else
                slot[0] = 0;
        pthread_mutex_unlock(&w->lock);
}

/* Every sysfs write goes through here: any of them may block in a driver. */
static int work_write(ConvergeWork *w, const char *path, const char *attr, const char *value) {
        int r;

        work_doing(w, "writing \"%.*s\" to %s%s%s", (int) strcspn(value, "\n"), value, path, attr ? "/" : "",
                   strempty(attr));
        r = attr ? sysfs_write_attr(path, attr, value) : write_string_file(path, value);
        work_doing(w, NULL);
        return r;
}

bool iommu_active(void) {
        DIR *d = opendir("/sys/kernel/iommu_groups");
        struct dirent *de;
        bool found = false;

        if (!d)
                return false;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.') {
                        found = true;
                        break;
                }
        closedir(d);
        return found;
}

static void outcome_fail(VfOutcome *o, int error, const char *fmt, ...) _printf_(3, 4);
static void outcome_fail(VfOutcome *o, int error, const char *fmt, ...) {
        char buf[512];
        va_list ap;
        char *m;

        errno = abs(error);
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (o->error == 0)
                o->error = -abs(error);
        m = o->message ? strjoin(o->message, "; ", buf) : strdup(buf);
        if (m) {
                free(o->message);
                o->message = m;
        }
}

static void pf_message_add(ConvergeWork *w, const char *m) {
        (void) strextend_sep(&w->pf_message, "; ", "%s", m);
}

/* Sets sriov_drivers_autoprobe to value (-1: leave it); returns what it was, or -errno. */
static int set_autoprobe(ConvergeWork *w, int value) {
        unsigned cur = 1;
        int r;

        r = sysfs_read_uint(w->syspath, SYSFS_SRIOV_DRIVERS_AUTOPROBE, &cur);
        if (value < 0 || (r >= 0 && cur == (unsigned) value))
                return r < 0 ? r : (int) cur;
        r = work_write(w, w->syspath, SYSFS_SRIOV_DRIVERS_AUTOPROBE, value ? "1" : "0");
        if (r < 0) {
                char m[256];
                errno = -r;
                snprintf(m, sizeof m, "Failed to set " SYSFS_SRIOV_DRIVERS_AUTOPROBE "=%i: %m", value);
                pf_message_add(w, m);
                return r;
        }
        return (int) cur;
}

static void write_numvfs(ConvergeWork *w) {
        for (size_t i = 0; i < w->n_values; i++) {
                char value[16];

                snprintf(value, sizeof value, "%u", w->values[i]);
                w->numvfs_error = work_write(w, w->syspath, SYSFS_SRIOV_NUMVFS, value);
                if (w->numvfs_error < 0)
                        return;
        }
}

/* A bind step's errno decoded, "why. Fix: what to do" (kernel-error.h). */
static char *bind_error(const ConvergeWork *w, const char *want, int error) {
        _cleanup_free_ char *why = NULL, *fix = NULL;
        char *m = NULL;

        if (kernel_error_explain(
                    &(KernelErrorContext){.op = KERNEL_OP_BIND, .address = w->address, .driver = want},
                    error, &why, &fix) < 0)
                return NULL;
        (void) asprintf_safe(&m, "%s%s%s", why, fix ? KERNEL_ERROR_FIX_SEPARATOR : "", strempty(fix));
        return m;
}

/* sriov_drivers_autoprobe opened around the probes for the default driver. With it 0 the VFs are
 * created unbound, so a VF meant for vfio-pci never meets its netdev driver on the way; but then the
 * kernel probes a VF without driver_override for no driver at all, drivers_probe included
 * (pci_device_can_probe()). The first probe for a default driver opens it, once for every worker of
 * the job; the job closes it again after the last one. */
typedef struct AutoprobeGate {
        pthread_mutex_t lock;
        bool closed; /* autoprobe was 0 when binding started */
        bool opened; /* this job set it to 1 */
        int error; /* opening it failed */
} AutoprobeGate;

static int gate_open(ConvergeWork *w, AutoprobeGate *g) {
        int r;

        if (!g)
                return 0;
        pthread_mutex_lock(&g->lock);
        if (g->closed && !g->opened && g->error == 0) {
                r = work_write(w, w->syspath, SYSFS_SRIOV_DRIVERS_AUTOPROBE, "1");
                if (r < 0)
                        g->error = r;
                else
                        g->opened = true;
        }
        r = g->error;
        pthread_mutex_unlock(&g->lock);
        return r;
}

static void gate_close(ConvergeWork *w, AutoprobeGate *g) {
        int r;

        if (!g || !g->opened)
                return;
        g->opened = false;
        r = work_write(w, w->syspath, SYSFS_SRIOV_DRIVERS_AUTOPROBE, "0");
        if (r < 0) {
                char m[160];
                errno = -r;
                snprintf(m, sizeof m, "Failed to set " SYSFS_SRIOV_DRIVERS_AUTOPROBE "=0 again: %m");
                pf_message_add(w, m);
        }
}

/* Binds one VF to driver (NULL = the default one): unbind, driver_override, drivers_probe. Touches
 * only the VF's own outcome: binding workers run it for different VFs at once. With only_unclaimed
 * (a VF without Driver= policy) a VF that has a driver or a driver_override is left as it is: it is
 * a VM manager's to bind (libvirt's managed='yes' sets driver_override, unbinds the VF and probes it;
 * when it gives the VF back it unbinds it and clears the override), and sriovd binds the default
 * driver only to a VF nobody claimed, such as one it just created. */
static void bind_vf(ConvergeWork *w, unsigned index, const char *want, AutoprobeGate *gate,
                    bool only_unclaimed) {
        _cleanup_free_ char *vfpath = NULL, *cur = NULL, *address = NULL, *override = NULL, *unbind = NULL;
        VfOutcome *o = w->outcomes + index;
        bool want_default = isempty(want);
        char link[32];
        int r;

        snprintf(link, sizeof link, SYSFS_VIRTFN_PREFIX "%u", index);
        vfpath = path_join(w->syspath, link);
        if (!vfpath || sysfs_read_link_name(w->syspath, link, &address) < 0)
                return;
        (void) sysfs_read_link_name(vfpath, SYSFS_DRIVER, &cur);
        {
                _cleanup_free_ char *p = path_join(vfpath, SYSFS_DRIVER_OVERRIDE);
                if (p)
                        (void) read_one_line_file(p, &override);
        }
        if (override && (streq(override, "(null)") || isempty(override)))
                override = mfree(override);

        if (want_default) {
                /* bound to something and no override left: that is the default driver */
                if (cur && !override)
                        return;
                if (only_unclaimed && (cur || override))
                        return;
        } else if (streq_ptr(cur, want))
                return;

        if (!want_default && streq(want, DRIVER_VFIO_PCI) && !iommu_active()) {
                outcome_fail(o, -EOPNOTSUPP, "Cannot bind VF %u (%s) to vfio-pci: " IOMMU_HINT, index,
                             address);
                o->failed_keys |= KEY(POLICY_DRIVER);
                return;
        }

        if (cur) {
                unbind = strjoin(vfpath, "/" SYSFS_DRIVER "/unbind");
                if (!unbind)
                        return;
                r = work_write(w, unbind, NULL, address);
                if (r < 0) {
                        _cleanup_free_ char *why = bind_error(w, want, r);
                        outcome_fail(o, r, "Failed to unbind VF %u (%s) from %s: %s", index, address, cur,
                                     why ?: strerror(-r));
                        o->failed_keys |= KEY(POLICY_DRIVER);
                        return;
                }
        }
        r = work_write(w, vfpath, SYSFS_DRIVER_OVERRIDE, want_default ? "\n" : want);
        if (r < 0) {
                _cleanup_free_ char *why = bind_error(w, want, r);
                outcome_fail(o, r, "Failed to set driver_override of VF %u (%s) to %s: %s", index, address,
                             want_default ? "the default" : want, why ?: strerror(-r));
                o->failed_keys |= KEY(POLICY_DRIVER);
                return;
        }
        if (want_default) {
                r = gate_open(w, gate);
                if (r < 0) {
                        outcome_fail(o, r,
                                     "Failed to bind VF %u (%s) to its default driver: cannot "
                                     "set " SYSFS_SRIOV_DRIVERS_AUTOPROBE "=1 for the probe: %m",
                                     index, address);
                        return;
                }
        }
        pthread_mutex_lock(&w->lock);
        w->probes++;
        w->probing++;
        w->probes_at_once = MAX(w->probes_at_once, w->probing);
        pthread_mutex_unlock(&w->lock);
        r = work_write(w, SYSFS_DRIVERS_PROBE, NULL, address);
        pthread_mutex_lock(&w->lock);
        w->probing--;
        pthread_mutex_unlock(&w->lock);
        /* drivers_probe says ENODEV or EINVAL when no driver took the device; the link tells */
        cur = mfree(cur);
        (void) sysfs_read_link_name(vfpath, SYSFS_DRIVER, &cur);
        if (!want_default && !streq_ptr(cur, want) && r < 0 && r != -ENODEV && r != -EINVAL) {
                /* the probe failed for a reason of its own, not for want of a driver */
                _cleanup_free_ char *why = bind_error(w, want, r);
                outcome_fail(o, r, "Failed to bind VF %u (%s) to %s: %s", index, address, want,
                             why ?: strerror(-r));
                o->failed_keys |= KEY(POLICY_DRIVER);
        } else if (!want_default && !streq_ptr(cur, want)) {
                outcome_fail(o, r < 0 ? r : -ENODEV, "Failed to bind VF %u (%s) to %s: no driver took it%s",
                             index, address, want,
                             streq(want, DRIVER_VFIO_PCI)
                                     ? " (is the vfio-pci module loaded? modprobe vfio-pci)"
                                     : "");
                o->failed_keys |= KEY(POLICY_DRIVER);
        } else if (want_default && !cur)
                outcome_fail(o, r < 0 ? r : -ENODEV,
                             "Failed to bind VF %u (%s) to its default driver: no driver took it", index,
                             address);
}

/* The driver VF index is bound to: its Driver=, or NULL for the default one. */
static const char *vf_wanted_driver(ConvergeWork *w, unsigned index) {
        const VfPolicy *p = index < w->n_wants ? w->wants + index : NULL;

        return p && POLICY_HAS(p, POLICY_DRIVER) && !isempty(p->driver) ? p->driver : NULL;
}

/* A VF without Driver= is bound only while nobody claimed it; one whose Driver= went (released) is
 * bound to its default driver once, whoever has it. */
static bool vf_only_unclaimed(ConvergeWork *w, unsigned index) {
        const VfPolicy *p = index < w->n_wants ? w->wants + index : NULL;
        bool released = w->released && index < w->n_wants && w->released[index];

        return !(p && POLICY_HAS(p, POLICY_DRIVER)) && !released;
}

/* VFs bound at once: each probe is one blocking write that the kernel serializes per VF (the
 * device lock of the VF it probes), and a probe is most of what a VF costs (igbvf resets the VF and
 * asks the PF for its MAC over the mailbox, then registers a netdev). The job's thread is worker 0. */
typedef struct BindBatch {
        ConvergeWork *w;
        AutoprobeGate *gate;
        bool restart; /* drivers started again: every VF's, claimed or not */
        const unsigned *vfs;
        size_t n_vfs;
        pthread_mutex_t lock;
        size_t next; /* under lock */
} BindBatch;

typedef struct BindWorker {
        BindBatch *batch;
        unsigned slot;
        pthread_t thread;
        bool started;
} BindWorker;

static void *bind_worker(void *userdata) {
        BindWorker *wk = userdata;
        BindBatch *b = wk->batch;
        unsigned slot = work_slot;

        work_slot = wk->slot;
        for (;;) {
                size_t i;

                pthread_mutex_lock(&b->lock);
                i = b->next < b->n_vfs ? b->next++ : SIZE_MAX;
                pthread_mutex_unlock(&b->lock);
                if (i == SIZE_MAX)
                        break;
                bind_vf(b->w, b->vfs[i], vf_wanted_driver(b->w, b->vfs[i]), b->gate,
                        !b->restart && vf_only_unclaimed(b->w, b->vfs[i]));
        }
        work_slot = slot;
        return NULL;
}

static void bind_batch(ConvergeWork *w, const unsigned *vfs, size_t n, AutoprobeGate *gate, bool restart) {
        BindBatch b = {.w = w,
                       .gate = gate,
                       .restart = restart,
                       .vfs = vfs,
                       .n_vfs = n,
                       .lock = PTHREAD_MUTEX_INITIALIZER};
        BindWorker workers[CONVERGE_BIND_WORKERS] = {};
        size_t k = MIN(n, (size_t) CONVERGE_BIND_WORKERS);

        if (n == 0)
                return;
        /* the job's thread has every signal blocked, and so have the threads it starts; one that cannot
         * be started leaves its share to the others */
        for (size_t i = 1; i < k; i++) {
                workers[i] = (BindWorker){.batch = &b, .slot = (unsigned) i};
                workers[i].started = pthread_create(&workers[i].thread, NULL, bind_worker, workers + i) == 0;
        }
        workers[0] = (BindWorker){.batch = &b, .slot = 0};
        (void) bind_worker(workers);
        for (size_t i = 1; i < k; i++)
                if (workers[i].started)
                        (void) pthread_join(workers[i].thread, NULL);
}

static void bind_vfs(ConvergeWork *w, unsigned num, bool autoprobe_off) {
        AutoprobeGate gate = {.lock = PTHREAD_MUTEX_INITIALIZER, .closed = autoprobe_off};
        _cleanup_free_ unsigned *named = NULL, *defaults = NULL;
        size_t n_named = 0, n_defaults = 0;

        named = calloc(MAX(num, 1u), sizeof *named);
        defaults = calloc(MAX(num, 1u), sizeof *defaults);
        if (!named || !defaults)
                return;
        for (unsigned i = 0; i < num && i < w->n_outcomes; i++) {
                const VfPolicy *p = i < w->n_wants ? w->wants + i : NULL;
                bool released = w->released && i < w->n_wants && w->released[i];

                if (!w->outcomes[i].present)
                        continue;
                if (vf_wanted_driver(w, i))
                        named[n_named++] = i;
                /* VFs without Driver= get the default driver when autoprobe is off, or the kernel has
                 * already given it to them */
                else if (autoprobe_off || (p && POLICY_HAS(p, POLICY_DRIVER)) || released)
                        defaults[n_defaults++] = i;
        }

        /* every VF that names a driver has its driver_override before autoprobe opens for the VFs that
         * get the default one, so none of them meets that driver meanwhile */
        bind_batch(w, named, n_named, NULL, false);
        bind_batch(w, defaults, n_defaults, &gate, false);
        gate_close(w, &gate);
}

static const char *key_list(uint32_t keys, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = 0;
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (keys & KEY(k))
                        n += (size_t) snprintf(buf + n, n < size ? size - n : 0, "%s%s", n > 0 ? ", " : "",
                                               policy_key_to_string(k));
        return buf;
}

/* Which keys of VF i differ between want and actual; the VLAN triple and the two rates travel
 * together, so a difference in one sends the whole attribute, filled from actual where the policy
 * is silent. */
static uint32_t vf_diff(const VfPolicy *want, const VfPolicy *actual, VfPolicy *ret_send) {
        uint32_t keys = 0;

        *ret_send = *actual;
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                if (!(KEY(k) & POLICY_NETLINK_KEYS) || !POLICY_HAS(want, k))
                        continue;
                policy_copy_key(ret_send, want, k);
                if (!POLICY_HAS(actual, k) || !policy_key_equal(want, actual, k))
                        keys |= KEY(k);
        }
        for (NetlinkVfAttr a = 0; a < _NETLINK_VF_ATTR_MAX; a++)
                if (keys & netlink_vf_attr_keys(a))
                        keys |= netlink_vf_attr_keys(a);
        return keys;
}

static void describe_refusal(ConvergeWork *w, unsigned index, const NetlinkVfChange *c, NetlinkVfAttr a,
                             int r) {
        uint32_t keys = netlink_vf_attr_keys(a) & c->keys;
        const char *driver = w->pf_driver ?: "the PF's driver";
        char names[128], values[256] = "";
        size_t n = 0;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                _cleanup_free_ char *v = NULL;
                if (!(keys & KEY(k)) || policy_value_to_string(&c->want, k, &v) < 0)
                        continue;
                n += (size_t) snprintf(values + n, n < sizeof values ? sizeof values - n : 0, "%s%s=%s",
                                       n > 0 ? " " : "", policy_key_to_string(k), v);
        }
        w->outcomes[index].failed_keys |= keys;
        if (r == -EOPNOTSUPP && (keys & (KEY(POLICY_NODE_GUID) | KEY(POLICY_PORT_GUID))))
                /* do_setvfinfo() refuses VF GUIDs for any netdev that is not ARPHRD_INFINIBAND */
                outcome_fail(w->outcomes + index, r,
                             "%s does not support %s (%m): VF GUIDs are InfiniBand's, set through an "
                             "InfiniBand PF's netdev",
                             driver, key_list(keys, names, sizeof names));
        else if (r == -EOPNOTSUPP)
                outcome_fail(w->outcomes + index, r, "%s does not support %s (%m)", driver,
                             key_list(keys, names, sizeof names));
        else
                outcome_fail(w->outcomes + index, r, "%s refused %s on VF %u (%m)", driver, values, index);
}

/* The PF's netdev as sysfs names it now: udevd renames a new one (eth0 -> enp3s0) while a job may
 * already run on a hot-added PF. Its index survives the rename. */
static int pf_ifindex(ConvergeWork *w) {
        for (int attempt = 0; attempt < 3; attempt++) {
                _cleanup_free_ char *name = NULL;
                int ifindex;

                if (sysfs_read_interface(w->syspath, &name) >= 0)
                        snprintf(w->ifname, sizeof w->ifname, "%s", name);
                ifindex = w->ifname[0] ? (int) if_nametoindex(w->ifname) : 0;
                if (ifindex > 0 || !name)
                        return ifindex;
                /* renamed between the two reads */
        }
        return 0;
}

static int read_back(ConvergeWork *w, struct nl_sock *sk, int ifindex) {
        NetlinkLinkVfs l = {};
        int r;

        r = netlink_get_vfs(sk, ifindex, &l);
        if (r < 0)
                return r;
        if (!streq(l.ifname, w->ifname)) {
                /* the same index under a new name is the PF's netdev renamed, if sysfs says so */
                _cleanup_free_ char *now = NULL;

                if (sysfs_read_interface(w->syspath, &now) < 0 || !streq(now, l.ifname)) {
                        netlink_link_vfs_done(&l);
                        return -ENODEV;
                }
                snprintf(w->ifname, sizeof w->ifname, "%s", now);
        }
        w->truncated = l.truncated;
        for (size_t i = 0; i < w->n_outcomes && i < l.num_vfs; i++)
                w->outcomes[i].actual = l.vfs[i];
        netlink_link_vfs_done(&l);
        return 0;
}

/* Every VF with link settings fails alike when the PF has no netdev to send them through. */
static void fail_without_netdev(ConvergeWork *w) {
        for (size_t i = 0; i < w->n_wants && i < w->n_outcomes; i++)
                if (w->outcomes[i].present && (w->wants[i].set & POLICY_NETLINK_KEYS)) {
                        w->outcomes[i].failed_keys |= w->wants[i].set & POLICY_NETLINK_KEYS;
                        outcome_fail(w->outcomes + i, -ENODEV,
                                     "Cannot apply VF link settings: PF %s has no network interface%s%s%s",
                                     w->address, w->ifname[0] ? " (" : "", w->ifname,
                                     w->ifname[0] ? " is gone)" : "");
                }
}

/* One request for every VF; when the kernel refuses, it stops at the first failing VF and attribute,
 * so narrow down to one VF, then to one attribute, to name exactly what it refused while still
 * applying everything else. */
static void set_link_settings(ConvergeWork *w, struct nl_sock *sk, int ifindex,
                              const NetlinkVfChange *changes, size_t n) {
        if (netlink_set_vfs(sk, ifindex, changes, n) >= 0)
                return;
        for (size_t i = 0; i < n; i++) {
                if (netlink_set_vfs(sk, ifindex, changes + i, 1) >= 0)
                        continue;
                for (NetlinkVfAttr a = 0; a < _NETLINK_VF_ATTR_MAX; a++) {
                        NetlinkVfChange one = changes[i];
                        int r;

                        one.keys &= netlink_vf_attr_keys(a);
                        if (!one.keys)
                                continue;
                        r = netlink_set_vfs(sk, ifindex, &one, 1);
                        if (r < 0)
                                describe_refusal(w, changes[i].index, changes + i, a, r);
                }
        }
}

/* A key the kernel accepted must read back as set: some drivers take a value and ignore it. */
static void check_accepted(ConvergeWork *w, const NetlinkVfChange *changes, size_t n) {
        for (size_t i = 0; i < n; i++) {
                VfOutcome *o = w->outcomes + changes[i].index;
                const VfPolicy *want = w->wants + changes[i].index;
                uint32_t accepted = changes[i].keys & ~o->failed_keys;

                for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                        _cleanup_free_ char *v = NULL;
                        if (!(accepted & KEY(k)) || !POLICY_HAS(want, k))
                                continue;
                        if (POLICY_HAS(&o->actual, k) && policy_key_equal(want, &o->actual, k))
                                continue;
                        /* the GUIDs are reported only by drivers with ndo_get_vf_guid, and only since
                         * Linux 5.5: one the kernel took but does not report is taken as set */
                        if ((k == POLICY_NODE_GUID || k == POLICY_PORT_GUID) && !POLICY_HAS(&o->actual, k))
                                continue;
                        (void) policy_value_to_string(want, k, &v);
                        o->failed_keys |= KEY(k);
                        outcome_fail(
                                o, -EIO, "%s accepted %s=%s on VF %u but %s", w->pf_driver ?: "the driver",
                                policy_key_to_string(k), strempty(v), changes[i].index,
                                POLICY_HAS(&o->actual, k) ? "reports another value" : "does not report it");
                }
        }
}

/* A VF netdev takes its MAC from the PF when its driver starts, and only while the PF is up (igbvf
 * asks igb over the mailbox, which igb answers only when it is open): a VF driver that started
 * before, or while the PF was down, has another MAC than the PF gives the VF. Starting that driver
 * again while the PF is up gives it the right one. */
static void reload_stale_vf_drivers(ConvergeWork *w, unsigned num, bool autoprobe_off) {
        AutoprobeGate gate = {.lock = PTHREAD_MUTEX_INITIALIZER, .closed = autoprobe_off};
        _cleanup_free_ unsigned *stale = NULL;
        size_t n_stale = 0;

        if (!sysfs_netdev_is_up(w->syspath, w->ifname))
                return;
        stale = calloc(MAX(num, 1u), sizeof *stale);
        if (!stale)
                return;
        for (unsigned i = 0; i < num && i < w->n_outcomes && i < w->n_wants; i++) {
                _cleanup_free_ char *vfpath = NULL, *driver = NULL, *ifname = NULL, *address = NULL,
                                    *unbind = NULL, *pci = NULL;
                const VfPolicy *want = w->wants + i;
                VfOutcome *o = w->outcomes + i;
                char link[32], mac[18];

                if (!o->present || !POLICY_HAS(want, POLICY_MAC_ADDRESS) ||
                    !POLICY_HAS(&o->actual, POLICY_MAC_ADDRESS) ||
                    !policy_key_equal(want, &o->actual, POLICY_MAC_ADDRESS))
                        continue;
                snprintf(link, sizeof link, "/" SYSFS_VIRTFN_PREFIX "%u", i);
                vfpath = strjoin(w->syspath, link);
                if (!vfpath || sysfs_read_link_name(vfpath, SYSFS_DRIVER, &driver) < 0 ||
                    streq(driver, DRIVER_VFIO_PCI) || sysfs_read_interface(vfpath, &ifname) < 0 ||
                    sysfs_read_netdev_attr(vfpath, ifname, "address", &address) < 0 ||
                    strcaseeq(address, policy_format_mac(&want->mac, mac)))
                        continue;
                unbind = strjoin(vfpath, "/" SYSFS_DRIVER "/unbind");
                if (!unbind || sysfs_read_link_name(w->syspath, link + 1, &pci) < 0)
                        continue;
                if (work_write(w, unbind, NULL, pci) < 0)
                        continue;
                (void) strextend_sep(&w->pf_message, "; ",
                                     "VF %u's netdev %s had %s, not %s: its driver was started again", i,
                                     ifname, address, mac);
                stale[n_stale++] = i;
        }
        bind_batch(w, stale, n_stale, &gate, true);
        gate_close(w, &gate);
}

/* Marks of VFs that are gone (the count went down, the PF was unplugged) go: a VF created again later,
 * maybe by someone else, starts unmarked. */
static void remove_stale_marks(ConvergeWork *w) {
        DIR *d = opendir(w->managed_vf_dir);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                _cleanup_free_ char *dev = NULL;

                if (de->d_name[0] == '.')
                        continue;
                dev = path_join(SYSFS_PCI_DEVICES, de->d_name);
                if (dev && access(dev, F_OK) < 0 && errno == ENOENT)
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        closedir(d);
}

/* Each VF whose netdev is sriovd's gets a mark, a file named by its PCI address, that the udev rule
 * turns into NM_UNMANAGED=1 and ID_NET_MANAGED_BY=io.sriovd on the netdev. VFs are created with
 * sriov_drivers_autoprobe=0 and bound by bind_vfs() after this, so the mark is there before a netdev
 * driver ever sees the VF: NetworkManager, which waits for udev to have processed a netdev, never gets
 * an unmarked one. A VF whose mark changes while it has a netdev gets a "change" uevent, so that udev
 * applies the rule again: its database has the new properties (NetworkManager reads them when a netdev
 * appears). */
static void mark_vfs(ConvergeWork *w, unsigned num) {
        /* a look at every mark (one per VF sriovd manages, on every PF) only when VFs went: by this
         * job's count, or as sriovd saw since the last look */
        if (w->remove_stale_marks || w->n_values > 0)
                remove_stale_marks(w);
        if (mkdir(w->managed_vf_dir, 0755) < 0 && errno != EEXIST) {
                char m[PATH_MAX + 64];
                snprintf(m, sizeof m, "Failed to create %s: %m", w->managed_vf_dir);
                pf_message_add(w, m);
                return;
        }
        for (unsigned i = 0; i < num && i < w->n_outcomes; i++) {
                _cleanup_free_ char *address = NULL, *mark = NULL, *vfpath = NULL, *ifname = NULL,
                                    *uevent = NULL;
                bool want = i < w->n_wants && w->managed[i], have;
                char link[32];
                int r = 0;

                snprintf(link, sizeof link, SYSFS_VIRTFN_PREFIX "%u", i);
                if (!w->outcomes[i].present || sysfs_read_link_name(w->syspath, link, &address) < 0)
                        continue;
                mark = path_join(w->managed_vf_dir, address);
                if (!mark)
                        return;
                have = access(mark, F_OK) >= 0;
                if (want == have)
                        continue;
                if (want) {
                        int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
                        if (fd < 0)
                                r = -errno;
                        else
                                close(fd);
                } else if (unlink(mark) < 0 && errno != ENOENT)
                        r = -errno;
                if (r < 0) {
                        outcome_fail(w->outcomes + i, r, "Failed to %s %s: %m", want ? "create" : "remove",
                                     mark);
                        continue;
                }
                vfpath = path_join(w->syspath, link);
                if (!vfpath || sysfs_read_interface(vfpath, &ifname) < 0)
                        continue;
                uevent = strjoin(vfpath, "/" SYSFS_NET "/", ifname, "/" SYSFS_UEVENT);
                if (uevent && (r = work_write(w, uevent, NULL, "change")) < 0)
                        outcome_fail(w->outcomes + i, r,
                                     "Failed to send a change uevent for %s (its mark changed): %m", ifname);
        }
}

/* The VFs' link settings over the PF's rtnetlink, then (bind) each VF's driver, then what the kernel
 * has: on igb the PF hands a VF its MAC when the VF driver starts, and drivers such as iavf reset a VF
 * for every change, so the settings go in before a VF driver ever sees the VF. */
static void link_settings_and_drivers(ConvergeWork *w, unsigned num, bool bind, bool autoprobe_off) {
        _cleanup_free_ NetlinkVfChange *changes = NULL;
        struct nl_sock *sk = NULL;
        size_t n = 0;
        int ifindex, r;

        ifindex = pf_ifindex(w);
        if (ifindex <= 0) {
                fail_without_netdev(w);
                w->usec_settings = now_usec();
                if (bind)
                        bind_vfs(w, num, autoprobe_off);
                w->usec_drivers = now_usec();
                return;
        }

        r = netlink_open(&sk);
        if (r < 0) {
                char m[128];
                errno = -r;
                snprintf(m, sizeof m, "Failed to open rtnetlink: %m");
                pf_message_add(w, m);
                w->usec_settings = now_usec();
                if (bind)
                        bind_vfs(w, num, autoprobe_off);
                w->usec_drivers = now_usec();
                return;
        }
        r = read_back(w, sk, ifindex);
        if (r >= 0 && w->apply) {
                changes = calloc(MAX(w->n_outcomes, (size_t) 1), sizeof *changes);
                for (size_t i = 0; changes && i < w->n_wants && i < w->n_outcomes; i++) {
                        NetlinkVfChange c = {.index = (unsigned) i};

                        if (!w->outcomes[i].present)
                                continue;
                        c.keys = vf_diff(w->wants + i, &w->outcomes[i].actual, &c.want);
                        if (c.keys)
                                changes[n++] = c;
                }
                if (n > 0) {
                        work_doing(w, "setting VF link settings of %s over rtnetlink", w->ifname);
                        set_link_settings(w, sk, ifindex, changes, n);
                        work_doing(w, NULL);
                }
        }
        w->usec_settings = now_usec();
        if (bind)
                bind_vfs(w, num, autoprobe_off);
        w->usec_drivers = now_usec();
        if (r >= 0 && (n > 0 || bind)) {
                r = read_back(w, sk, ifindex);
                if (r >= 0)
                        check_accepted(w, changes, n);
                if (r >= 0 && bind)
                        reload_stale_vf_drivers(w, num, autoprobe_off);
        }

        if (r < 0 && !w->pf_message) {
                char m[160];
                errno = -r;
                snprintf(m, sizeof m, "Failed to read VF settings of %s over rtnetlink: %m", w->ifname);
                pf_message_add(w, m);
        }
        nl_socket_free(sk);
}

/* The MTU of one VF's netdev: set when the policy has one and the netdev another (w->apply), then read
 * back. A VF without a netdev (bound to vfio-pci or to no driver, or its netdev in another network
 * namespace) reports none: its MTU= stays in the policy, not in force, and is set when it has one. */
static void vf_netdev_mtu(ConvergeWork *w, struct nl_sock *sk, unsigned index) {
        _cleanup_free_ char *vfpath = NULL, *ifname = NULL, *ifindex_text = NULL, *driver = NULL;
        const VfPolicy *want = index < w->n_wants ? w->wants + index : NULL;
        VfOutcome *o = w->outcomes + index;
        NetlinkLinkMtu m;
        char link[32];
        unsigned ifindex;
        int r;

        snprintf(link, sizeof link, "/" SYSFS_VIRTFN_PREFIX "%u", index);
        vfpath = strjoin(w->syspath, link);
        if (!vfpath || sysfs_read_interface(vfpath, &ifname) < 0 ||
            sysfs_read_netdev_attr(vfpath, ifname, "ifindex", &ifindex_text) < 0 ||
            safe_atou(ifindex_text, &ifindex) < 0)
                return;
        r = netlink_get_mtu(sk, (int) ifindex, &m);
        if (r < 0 || !streq(m.ifname, ifname))
                return; /* gone or renamed meanwhile: its notification reads it again */

        if (w->apply && want && POLICY_HAS(want, POLICY_MTU) && m.mtu != want->mtu) {
                work_doing(w, "setting the MTU of %s (VF %u) over rtnetlink", ifname, index);
                r = netlink_set_mtu(sk, (int) ifindex, want->mtu);
                work_doing(w, NULL);
                (void) sysfs_read_link_name(vfpath, SYSFS_DRIVER, &driver);
                if (r < 0) {
                        o->failed_keys |= KEY(POLICY_MTU);
                        if (m.max_mtu > 0)
                                outcome_fail(o, r,
                                             "%s refused MTU=%" PRIu32 " on VF %u (%s): it allows %" PRIu32
                                             " to %" PRIu32 " (%m)",
                                             driver ?: "the VF's driver", want->mtu, index, ifname,
                                             m.min_mtu, m.max_mtu);
                        else
                                outcome_fail(o, r, "%s refused MTU=%" PRIu32 " on VF %u (%s) (%m)",
                                             driver ?: "the VF's driver", want->mtu, index, ifname);
                } else if (netlink_get_mtu(sk, (int) ifindex, &m) >= 0 && m.mtu != want->mtu) {
                        o->failed_keys |= KEY(POLICY_MTU);
                        outcome_fail(o, -EIO,
                                     "%s accepted MTU=%" PRIu32 " on VF %u (%s) but reports %" PRIu32,
                                     driver ?: "the VF's driver", want->mtu, index, ifname, m.mtu);
                }
        }
        o->actual.mtu = m.mtu;
        o->actual.set |= KEY(POLICY_MTU);
}

static void vf_netdevs_mtu(ConvergeWork *w) {
        struct nl_sock *sk = NULL;
        int r;

        r = netlink_open(&sk);
        if (r < 0) {
                char m[128];
                errno = -r;
                snprintf(m, sizeof m, "Failed to open rtnetlink for the VFs' MTU: %m");
                pf_message_add(w, m);
                return;
        }
        for (unsigned i = 0; i < w->n_outcomes; i++)
                if (w->outcomes[i].present)
                        vf_netdev_mtu(w, sk, i);
        nl_socket_free(sk);
}

void converge_run(ConvergeWork *w) {
        unsigned num = 0, autoprobe = 1;
        bool creating = w->apply && w->n_values > 0 && w->values[w->n_values - 1] > 0;
        /* Opening autoprobe waits until the VFs are bound: while it is 0 every VF without Driver= is
         * bound to its default driver, a VF that had vfio-pci (a lease that ended, a Driver= removed)
         * included, as the kernel would have bound it with autoprobe on. */
        bool opening = w->apply && !creating && w->autoprobe > 0;
        int before = -1;

        w->usec_start = now_usec();
        w->autoprobe_found = -1;
        if (w->apply) {
                /* VFs are created with no driver probing them: settings first, drivers after */
                before = set_autoprobe(w, creating ? 0 : opening ? -1 : w->autoprobe);
                w->autoprobe_found = before >= 0 ? before : -1;
                write_numvfs(w);
        }
        w->usec_numvfs = now_usec();

        (void) sysfs_read_uint(w->syspath, SYSFS_SRIOV_NUMVFS, &num);
        (void) sysfs_read_uint(w->syspath, SYSFS_SRIOV_DRIVERS_AUTOPROBE, &autoprobe);
        w->outcomes = calloc(MAX(num, 1u), sizeof *w->outcomes);
        if (!w->outcomes)
                return;
        w->n_outcomes = num;
        for (unsigned i = 0; i < num; i++) {
                char link[32];
                snprintf(link, sizeof link, SYSFS_VIRTFN_PREFIX "%u", i);
                w->outcomes[i].present = sysfs_attr_exists(w->syspath, link);
        }

        if (w->apply && w->managed_vf_dir)
                mark_vfs(w, num);
        link_settings_and_drivers(w, num, w->apply, autoprobe == 0);
        /* after the drivers: a VF has a netdev only once its driver bound */
        vf_netdevs_mtu(w);

        /* what the configuration says, or what it was before the VFs were created */
        if (creating)
                (void) set_autoprobe(w, w->autoprobe >= 0 ? w->autoprobe : before >= 0 ? before : 1);
        else if (opening)
                (void) set_autoprobe(w, w->autoprobe);
        w->usec_end = now_usec();
}
