/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "changes.h"
#include "policy.h"
#include "util.h"

typedef enum VfState {
        VF_STATE_OK,
        VF_STATE_DRIFT,
        VF_STATE_FAILED,
        _VF_STATE_MAX,
        _VF_STATE_INVALID = -EINVAL,
} VfState;

/* One VF as the kernel has it now (sysfs and the PF's link settings read back), with the policy
 * desired for it. A VF object lives as long as its virtfnN link. */
typedef struct VirtualFunction {
        const char *pf_address; /* the PF's, which outlives its VFs */
        unsigned index;
        char address[PCI_ADDRESS_MAX];
        char *syspath;
        char *interface;
        char *driver;
        int iommu_group; /* -1: none */
        VfPolicy policy; /* desired, from configuration, API and lease */
        VfPolicy actual; /* read back from the kernel; ->set marks what it reported */
        bool driver_released; /* its Driver= went: the next apply binds its default driver */
        VfState state;
        int error; /* -errno of the last failure */
        char *last_error;
        char *object_path;
        ObjectMark mark;
} VirtualFunction;

const char *vf_state_to_string(VfState s);
VfState vf_state_from_string(const char *s);

int vf_new(ChangeQueue *changes, const char *pf_address, const char *pf_syspath, const char *pf_object_path,
           unsigned index, const char *address, VirtualFunction **ret);
VirtualFunction *vf_free(VirtualFunction *vf);
DEFINE_TRIVIAL_CLEANUP_FUNC(VirtualFunction *, vf_free);

/* Re-reads the VF's sysfs (driver, interface, IOMMU group) and marks it changed if anything did. */
int vf_refresh(VirtualFunction *vf);
void vf_set_state(VirtualFunction *vf, VfState state, int error, const char *message);
void vf_set_policy(VirtualFunction *vf, const VfPolicy *policy);
/* What the kernel reported in a read-back. */
void vf_set_actual(VirtualFunction *vf, const VfPolicy *actual);
/* Keys of the VF's policy that the kernel does not have now (Driver against the bound driver). */
uint32_t vf_drifted_keys(const VirtualFunction *vf);
