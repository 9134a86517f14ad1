/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The reconcile planner: from what is desired and what the kernel has now to the sysfs writes that
 * get there, or a refusal that says why. Pure logic, no I/O. */

typedef struct ReconcileVf {
        unsigned index;
        const char *address;
        const char *driver; /* NULL when unbound */
        const char *lease; /* who holds it, NULL when free */
} ReconcileVf;

typedef struct ReconcileInput {
        const char *address; /* the PF */
        const char *driver; /* the PF's driver, NULL when none is bound */
        uint16_t vendor; /* the PF's PCI vendor ID, for the advice when SR-IOV is off in its firmware */
        int desired; /* -1: unmanaged */
        unsigned current; /* sriov_numvfs */
        unsigned total; /* sriov_totalvfs */
        bool force; /* destroy VFs even when bound to vfio-pci or leased */
        bool ignore_leases; /* plan as if every leased VF were released (what a drain waits for) */
        const ReconcileVf *vfs;
        size_t n_vfs;
} ReconcileInput;

typedef enum PlanAction {
        PLAN_NOTHING, /* already right, or unmanaged */
        PLAN_WRITE, /* write values[0..n_values) to sriov_numvfs in order */
        PLAN_REFUSE, /* error and message say why */
} PlanAction;

typedef struct ReconcilePlan {
        PlanAction action;
        unsigned values[2];
        size_t n_values;
        int error; /* -errno for PLAN_REFUSE */
        char *message; /* for PLAN_REFUSE */
} ReconcilePlan;

int reconcile_plan(const ReconcileInput *in, ReconcilePlan *ret);
/* The first VF index that changing the count from current to desired destroys; current when none. */
unsigned reconcile_first_destroyed(unsigned current, unsigned desired);
void reconcile_plan_done(ReconcilePlan *p);

/* The message for a failed write of sriov_numvfs: error is the kernel's -errno, decoded with what fixes
 * it (kernel-error.h). */
char *reconcile_write_error_message(const char *address, const char *driver, uint16_t vendor, unsigned from,
                                    unsigned to, int error);
/* The message for a count above sriov_totalvfs; a total of 0 is SR-IOV turned off in the firmware, and
 * the message says how to turn it on for the vendor's NICs. */
char *reconcile_total_message(const char *address, uint16_t vendor, unsigned count, unsigned total);
