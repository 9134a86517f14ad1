/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/if.h>
#include <limits.h>
#include <pthread.h>

#include "policy.h"
#include "util.h"

/* The kernel work of one PF's reconcile, run on a job thread: sriov_drivers_autoprobe, the
 * sriov_numvfs writes, VF driver binding, and the per-VF link settings over rtnetlink, followed
 * by a read-back of what the kernel has. It works on copies only, never on the PF object. */

typedef struct VfOutcome {
        bool present; /* virtfnN exists after the work */
        VfPolicy actual; /* read back; ->set marks what the kernel reported */
        uint32_t failed_keys; /* policy keys the kernel refused */
        int error; /* the first -errno, 0 when everything applied */
        char *message; /* every refusal of this VF, precise */
} VfOutcome;

typedef struct ConvergeWork {
        /* input */
        char address[PCI_ADDRESS_MAX];
        char *syspath;
        char ifname[IFNAMSIZ]; /* "" when the PF has no netdev */
        char *pf_driver;
        unsigned values[2]; /* sriov_numvfs writes */
        size_t n_values;
        int autoprobe; /* -1: leave as it is */
        VfPolicy *wants; /* desired policy by VF index */
        size_t n_wants;
        bool apply; /* false: only read back */
        char *managed_vf_dir; /* NULL: no marks */
        bool *managed; /* by VF index: its netdev is sriovd's, not a network manager's */
        bool *released; /* by VF index: its Driver= went, back to the default driver */

        /* output */
        int numvfs_error;
        char *pf_message; /* autoprobe or netlink problems that concern the whole PF */
        VfOutcome *outcomes; /* by VF index */
        size_t n_outcomes;
        bool truncated;

        /* the kernel call under way, "" between calls; read by the loop while the job runs */
        pthread_mutex_t lock;
        char doing[PATH_MAX + 64];
} ConvergeWork;

void converge_work_init(ConvergeWork *w);
void converge_work_free(ConvergeWork *w);
/* Copies what the job is doing now, from the event loop. */
void converge_work_doing(ConvergeWork *w, char *buf, size_t size);
void converge_run(ConvergeWork *w);

/* Whether an IOMMU is active (vfio-pci needs one); the message explains how to enable one. */
bool iommu_active(void);
#define IOMMU_HINT                                                                                     \
        "vfio-pci needs an active IOMMU: enable VT-d (Intel) or AMD-Vi in the firmware setup and add " \
        "intel_iommu=on iommu=pt (or amd_iommu=on iommu=pt) to the kernel command line"
