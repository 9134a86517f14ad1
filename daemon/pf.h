/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "util.h"
#include "vf.h"

typedef struct Manager Manager;
typedef struct Job Job;
typedef struct Request Request;

typedef enum PfState {
        PF_STATE_UNMANAGED,
        PF_STATE_CONVERGING,
        PF_STATE_ENFORCED,
        PF_STATE_DRIFT,
        PF_STATE_FAILED,
        _PF_STATE_MAX,
        _PF_STATE_INVALID = -EINVAL,
} PfState;

struct PhysicalFunction {
        Manager *manager;

        char address[13];
        char *syspath;
        char *object_path;

        char *interface;
        char *driver;
        uint16_t vendor_id;
        uint16_t device_id;
        char *vendor;
        char *model;
        unsigned total_vfs;
        unsigned num_vfs;
        bool drivers_autoprobe;

        VirtualFunction **vfs; /* by index, NULL where the kernel has no virtfnN */
        size_t n_vfs;

        /* Where the desired state comes from: the first matching file, then the persisted and the
         * runtime API state, each overriding the keys it sets. */
        const PfConfig *config; /* owned by the manager's ConfigSet */
        PfConfig *persisted;
        PfConfig *runtime;
        char *config_error; /* a refused file that was meant for this PF */
        int desired_num_vfs; /* -1: unmanaged */

        PfState state;
        char *last_error;

        /* At most one kernel job per PF; requests arriving meanwhile wait for the next one. */
        Job *job;
        unsigned job_from;
        bool reconcile_again;
        bool readback_only_pending;
        bool readback_again;
        bool count_failed; /* the kernel refused the last count written */
        char *count_error; /* why the planner refuses the desired count, or NULL */
        int count_error_code;
        bool warned_truncated;
        bool force_next;
        Request **waiting; /* answered by the next job's end */
        size_t n_waiting;
        Request **running; /* answered by the running job's end */
        size_t n_running;
        sd_event_source *reconcile_source;
};

/* Events that may need an apply or a read-back (VF uevents, link notifications) wait this long for
 * the rest of their burst. */
#define EVENT_COALESCE_USEC (200 * 1000ULL)

const char *pf_state_to_string(PfState s);
PfState pf_state_from_string(const char *s);

int pf_new(Manager *m, const char *address, const char *syspath, PhysicalFunction **ret);
PhysicalFunction *pf_free(PhysicalFunction *pf);
DEFINE_TRIVIAL_CLEANUP_FUNC(PhysicalFunction *, pf_free);

/* Re-reads sysfs: driver, interface, counts and VFs. Creates and drops VF objects and emits the
 * property changes. Returns 0, or -ENODEV when the device is gone. */
int pf_refresh(PhysicalFunction *pf);

/* Recomputes desired_num_vfs from config, persisted and runtime state. */
void pf_update_desired(PhysicalFunction *pf);

/* Schedules a reconcile on the loop soon; repeated calls before it runs coalesce. delay_usec 0
 * means on the next loop iteration. */
int pf_schedule_reconcile(PhysicalFunction *pf, uint64_t delay_usec);
/* Runs the planner now and starts a kernel job if one is needed. A request is answered when the
 * PF has converged or failed. */
int pf_reconcile(PhysicalFunction *pf, Request *req);
/* readback_only: only read the VFs' link settings back, to spot drift (after a link notification). */
int pf_reconcile_full(PhysicalFunction *pf, Request *req, bool readback_only);
int pf_schedule_readback(PhysicalFunction *pf);

/* The desired policy of VF index from all sources; false when none covers it. */
bool pf_desired_vf_policy(PhysicalFunction *pf, unsigned index, VfPolicy *ret);
bool pf_has_vf_policy(PhysicalFunction *pf);
/* DriversAutoprobe= from the sources, -1 when none sets it. */
int pf_desired_autoprobe(PhysicalFunction *pf);

void pf_set_state(PhysicalFunction *pf, PfState state, const char *error);
/* Called when the device's uevent says something changed, to spot counts changed behind our back. */
void pf_check_drift(PhysicalFunction *pf);

VirtualFunction *pf_get_vf(PhysicalFunction *pf, unsigned index);
void pf_match_info(PhysicalFunction *pf, PfMatchInfo *ret);

/* "api", the configuration file's path, or "" */
const char *pf_config_source(PhysicalFunction *pf);
/* Recomputes a VF's desired policy from the PF's sources. */
void pf_update_vf_policy(PhysicalFunction *pf, VirtualFunction *vf);

typedef struct ReconcileInput ReconcileInput;
typedef struct ReconcileVf ReconcileVf;
/* The planner's input for desired; *ret_vfs must be freed. */
int pf_build_reconcile_input(PhysicalFunction *pf, int desired, bool force, ReconcileInput *ret,
                             ReconcileVf **ret_vfs);

/* SetVirtualFunctionPolicy() and VirtualFunction.SetPolicy(): reads a{sv} and flags from message. */
int pf_method_set_vf_policy(sd_bus_message *message, PhysicalFunction *pf, unsigned index,
                            sd_bus_error *error);
