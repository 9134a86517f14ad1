/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "policy.h"
#include "util.h"

typedef struct PhysicalFunction PhysicalFunction;

typedef enum VfState {
        VF_STATE_OK,
        VF_STATE_DRIFT,
        VF_STATE_FAILED,
        _VF_STATE_MAX,
        _VF_STATE_INVALID = -EINVAL,
} VfState;

typedef struct VirtualFunction {
        PhysicalFunction *pf;
        unsigned index;
        char address[13];
        char *syspath;
        char *interface;
        char *driver;
        int iommu_group; /* -1: none */
        VfPolicy policy; /* desired, from configuration and API */
        VfPolicy actual; /* read back from the kernel; ->set marks what it reported */
        VfState state;
        int error; /* -errno of the last failure */
        char *last_error;
        char *object_path;
} VirtualFunction;

const char *vf_state_to_string(VfState s);
VfState vf_state_from_string(const char *s);

int vf_new(PhysicalFunction *pf, unsigned index, const char *address, VirtualFunction **ret);
VirtualFunction *vf_free(VirtualFunction *vf);
DEFINE_TRIVIAL_CLEANUP_FUNC(VirtualFunction *, vf_free);

/* Re-reads the VF's sysfs (driver, interface, IOMMU group); emits PropertiesChanged for what changed. */
int vf_refresh(VirtualFunction *vf);
void vf_set_state(VirtualFunction *vf, VfState state, int error, const char *message);
/* Keys of the VF's policy that the kernel does not have now. */
uint32_t vf_drifted_keys(VirtualFunction *vf);
