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

/* VFs are bound by this many threads at most (the job's own among them), each blocked in one write
 * to drivers_probe or a driver's unbind at a time */
#define CONVERGE_BIND_WORKERS 16
#define CONVERGE_DOING_MAX (PATH_MAX + 64)

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
        bool remove_stale_marks; /* VFs went since the last job that looked: their marks go */
        bool *released; /* by VF index: its Driver= went, back to the default driver */
        bool driver_named; /* a VF names its driver: autoprobe is 0 for it */

        /* output */
        int numvfs_error;
        int autoprobe_found; /* sriov_drivers_autoprobe before the job, -1 when not read */
        char *pf_message; /* autoprobe or netlink problems that concern the whole PF */
        VfOutcome *outcomes; /* by VF index */
        size_t n_outcomes;
        bool truncated;
        unsigned probes; /* drivers_probe writes */
        unsigned probes_at_once; /* the most of them in the kernel at the same time */
        /* CLOCK_MONOTONIC (µs) at the job's start and at the end of each of its steps, for the log:
         * autoprobe and sriov_numvfs, the marks and the link settings, the drivers, the rest */
        uint64_t usec_start, usec_numvfs, usec_settings, usec_drivers, usec_end;

        /* the kernel calls under way, "" between calls, one per thread (the job's, which is also the
         * first VF binding worker, then the other workers'); read by the loop while the job runs */
        pthread_mutex_t lock;
        unsigned probing; /* drivers_probe writes under way */
        char doing[CONVERGE_BIND_WORKERS][CONVERGE_DOING_MAX];
} ConvergeWork;

void converge_work_init(ConvergeWork *w);
void converge_work_free(ConvergeWork *w);
/* Copies what the job is doing now (a call under way, and how many more are), from the event loop. */
void converge_work_doing(ConvergeWork *w, char *buf, size_t size);
void converge_run(ConvergeWork *w);

/* Whether an IOMMU is active (vfio-pci needs one); the message explains how to enable one. */
bool iommu_active(void);
#define IOMMU_HINT                                                                                     \
        "vfio-pci needs an active IOMMU: enable VT-d (Intel) or AMD-Vi in the firmware setup and add " \
        "intel_iommu=on iommu=pt (or amd_iommu=on iommu=pt) to the kernel command line"
