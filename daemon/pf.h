/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "changes.h"
#include "config.h"
#include "lease.h"
#include "request.h"
#include "store.h"
#include "util.h"
#include "vf.h"

typedef enum PfState {
        PF_STATE_UNMANAGED,
        PF_STATE_CONVERGING,
        PF_STATE_ENFORCED,
        PF_STATE_DRIFT,
        PF_STATE_FAILED,
        _PF_STATE_MAX,
        _PF_STATE_INVALID = -EINVAL,
} PfState;

/* What a PF needs from the daemon around it; the manager fills it in. PFs know no manager. */
typedef struct PfHost {
        sd_event *event;
        ChangeQueue *changes;
        LeaseTable *leases; /* a lease's layer is part of its VF's desired policy */
        Store *store; /* what the API persists; NULL when the state directory is unusable */
        Store *runtime_store; /* what the API sets until reboot */
        void *pci_access; /* libpci, for vendor and model names */
        /* whether start-up still waits for PF drivers that coldplug loads */
        bool (*waiting_for_drivers)(void *userdata);
        /* a PF's State changed */
        void (*state_changed)(void *userdata);
        void *userdata;
        bool stopping; /* sriovd is stopping: no new kernel work */
        uint64_t kernel_timeout_usec; /* a kernel job not done by then fails its PF */
        const char *managed_vf_dir; /* where the marks of VF netdevs that are sriovd's go */
        /* a VF went (or sriovd just started) since a job last removed the marks of VFs that are gone */
        bool marks_stale;
} PfHost;

typedef struct PfReconcile PfReconcile;
typedef struct PfDrain PfDrain;

typedef struct PhysicalFunction {
        PfHost *host;

        char address[PCI_ADDRESS_MAX];
        char *syspath;
        char *object_path;

        char *interface;
        char *driver;
        uint16_t vendor_id;
        uint16_t device_id;
        char *vendor; /* names from pci.ids, once pf_lookup_names() ran */
        char *model;
        bool names_looked_up;
        unsigned total_vfs;
        unsigned num_vfs;
        bool drivers_autoprobe;
        bool admin_up; /* its netdev, as of the last link notification */
        bool kernel_job; /* a job of sriovd's works on the PF: its sriov_numvfs is not read meanwhile */
        uint64_t bind_seqnum; /* the uevent that brought the device (udevd's, or the kernel's "bind"
                               * ahead of udevd): a "remove" older than it is of an earlier device */
        bool stale; /* sysfs may have changed since the last pf_refresh() (a VF's uevent came) */
        unsigned vf_events; /* manager.c's: what its VFs' uevents of this loop iteration asked for */

        VirtualFunction **vfs; /* by index, NULL where the kernel has no virtfnN */
        size_t n_vfs;

        /* Where the desired state comes from: the first matching file, then the persisted and the
         * runtime API state, each overriding the keys it sets. */
        const PfConfig *config; /* owned by the manager's ConfigSet */
        PfConfig *persisted;
        PfConfig *runtime;
        char *config_error; /* a refused file that was meant for this PF, and store_error */
        char *store_error; /* a state file of this PF that did not load (kept aside) */
        int desired_num_vfs; /* -1: unmanaged */

        PfState state;
        char *last_error;
        uint64_t last_error_usec; /* CLOCK_REALTIME when last_error last became what it is; 0: none */

        PfReconcile *reconcile; /* pf-reconcile.c's alone; NULL once the PF stopped */
        PfDrain *drain; /* drain.c's alone: a count change waiting for leases to be released */
        ObjectMark mark;
} PhysicalFunction;

/* Events that may need an apply or a read-back (VF uevents, link notifications) wait this long for
 * the rest of their burst. */
#define EVENT_COALESCE_USEC (200 * 1000ULL)

const char *pf_state_to_string(PfState s);
PfState pf_state_from_string(const char *s);

int pf_new(PfHost *host, const char *address, const char *syspath, PhysicalFunction **ret);
/* Vendor and Model from pci.ids, once. */
void pf_lookup_names(PhysicalFunction *pf);
/* Sets LastError (NULL or "" for none) and, when its text changes, LastErrorTimestamp. Returns > 0 when
 * something changed, 0 when not, -ENOMEM. */
int pf_set_last_error(PhysicalFunction *pf, const char *error);
/* Call pf_reconcile_done() first. */
PhysicalFunction *pf_free(PhysicalFunction *pf);
DEFINE_TRIVIAL_CLEANUP_FUNC(PhysicalFunction *, pf_free);

/* Re-reads sysfs: driver, interface, counts and VFs. Creates and drops VF objects and marks what
 * changed. Returns 0, or -ENODEV when the device is gone. */
int pf_refresh(PhysicalFunction *pf);
/* Loads what the API stored for this PF; a corrupt file sets store_error, which config_error
 * carries from then on. */
void pf_load_stored(PhysicalFunction *pf);
/* A forced count lives in memory until the kernel has it; these keep it across a restart of sriovd in
 * the runtime directory, so that a count persisted as forced is not refused after a crash between
 * saving it and writing it. pf_forced_count() returns the count, or -1. */
int pf_mark_forced_count(PhysicalFunction *pf, unsigned count);
void pf_clear_forced_count(PhysicalFunction *pf);
int pf_forced_count(PhysicalFunction *pf);

/* What sriov_drivers_autoprobe was before a job closed it for a VF's named driver, kept across a
 * restart of sriovd in the runtime directory (as long as the kernel's own value: until reboot or
 * the PF's removal) as "autoprobe-<PF>", "0" or "1". pf_save_autoprobe() writes it atomically, or removes it
 * for value -1. pf_load_saved_autoprobe() returns 0 or 1, or -1 when nothing is recorded; a file sriovd did
 * not write that way (another value, a link, a FIFO, too big) is logged, moved aside and taken as nothing
 * recorded. */
#define SAVED_AUTOPROBE_MAX 64
int pf_save_autoprobe(PhysicalFunction *pf, int value);
int pf_load_saved_autoprobe(PhysicalFunction *pf);

/* Sets the matching configuration file and the refused files meant for this PF. */
void pf_set_config(PhysicalFunction *pf, const PfConfig *config, char *config_error);
/* Recomputes desired_num_vfs and every VF's policy from config, persisted and runtime state. */
void pf_update_desired(PhysicalFunction *pf);

/* The desired policy of VF index from all sources; false when none covers it. */
bool pf_desired_vf_policy(PhysicalFunction *pf, unsigned index, VfPolicy *ret);
bool pf_has_vf_policy(PhysicalFunction *pf);
/* DriversAutoprobe= from the sources, -1 when none sets it. */
int pf_desired_autoprobe(PhysicalFunction *pf);
/* Recomputes a VF's desired policy from the PF's sources. */
void pf_update_vf_policy(PhysicalFunction *pf, VirtualFunction *vf);

VirtualFunction *pf_get_vf(PhysicalFunction *pf, unsigned index);
void pf_match_info(PhysicalFunction *pf, PfMatchInfo *ret);
/* "api", the configuration file's path, or "" */
const char *pf_config_source(PhysicalFunction *pf);
