/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "names.h"
#include "sysfs.h"
#include "vf.h"

static const char *const vf_state_table[_VF_STATE_MAX] = {
        [VF_STATE_OK] = "ok",
        [VF_STATE_DRIFT] = "drift",
        [VF_STATE_FAILED] = "failed",
};

DEFINE_STRING_TABLE_LOOKUP(vf_state, VfState);

int vf_new(ChangeQueue *changes, const char *pf_address, const char *pf_syspath, const char *pf_object_path,
           unsigned index, const char *address, VirtualFunction **ret) {
        _cleanup_(vf_freep) VirtualFunction *vf = NULL;
        char suffix[32];

        vf = calloc(1, sizeof *vf);
        if (!vf)
                return -ENOMEM;
        vf->pf_address = pf_address;
        vf->index = index;
        vf->iommu_group = -1;
        snprintf(vf->address, sizeof vf->address, "%s", address);
        snprintf(suffix, sizeof suffix, "/vf/%u", index);
        vf->object_path = strjoin(pf_object_path, suffix);
        if (!vf->object_path)
                return -ENOMEM;
        /* the PF's virtfnN link leads to the VF wherever sysfs puts it */
        snprintf(suffix, sizeof suffix, "/" SYSFS_VIRTFN_PREFIX "%u", index);
        vf->syspath = strjoin(pf_syspath, suffix);
        if (!vf->syspath)
                return -ENOMEM;
        object_mark_init(&vf->mark, changes, OBJECT_VF, vf, vf->object_path);
        *ret = TAKE_PTR(vf);
        return 0;
}

VirtualFunction *vf_free(VirtualFunction *vf) {
        if (!vf)
                return NULL;
        object_mark_done(&vf->mark);
        free(vf->syspath);
        free(vf->interface);
        free(vf->driver);
        free(vf->last_error);
        free(vf->object_path);
        free(vf);
        return NULL;
}

int vf_refresh(VirtualFunction *vf) {
        _cleanup_free_ char *driver = NULL, *interface = NULL, *group = NULL;
        int iommu_group = -1, r;
        bool changed = false;

        r = sysfs_read_link_name(vf->syspath, SYSFS_DRIVER, &driver);
        if (r < 0 && r != -ENOENT)
                log_vf(LOG_DEBUG, r, vf, "Failed to read driver of VF %u, ignoring: %m", vf->index);
        r = sysfs_read_interface(vf->syspath, &interface);
        if (r < 0 && r != -ENOENT)
                log_vf(LOG_DEBUG, r, vf, "Failed to read interface of VF %u, ignoring: %m", vf->index);
        if (sysfs_read_link_name(vf->syspath, SYSFS_IOMMU_GROUP, &group) >= 0)
                (void) safe_atoi(group, &iommu_group);

        if (free_and_strdup(&vf->driver, driver) > 0)
                changed = true;
        if (free_and_strdup(&vf->interface, interface) > 0)
                changed = true;
        if (vf->iommu_group != iommu_group) {
                vf->iommu_group = iommu_group;
                changed = true;
        }
        if (changed)
                object_mark_changed(&vf->mark);
        return 0;
}

void vf_set_state(VirtualFunction *vf, VfState state, int error, const char *message) {
        bool changed = false;

        vf->error = error;
        if (vf->state != state) {
                vf->state = state;
                changed = true;
        }
        if (free_and_strdup(&vf->last_error, message) > 0)
                changed = true;
        if (changed)
                object_mark_changed(&vf->mark);
}

void vf_set_policy(VirtualFunction *vf, const VfPolicy *policy) {
        if (policy_equal(policy, &vf->policy))
                return;
        /* Without Driver= a VF that has a driver is left to whoever bound it (a VM manager), but the
         * driver sriovd bound for the policy it had goes with that policy. */
        if (POLICY_HAS(policy, POLICY_DRIVER))
                vf->driver_released = false;
        else if (POLICY_HAS(&vf->policy, POLICY_DRIVER) && !isempty(vf->policy.driver))
                vf->driver_released = true;
        vf->policy = *policy;
        object_mark_changed(&vf->mark);
}

void vf_set_actual(VirtualFunction *vf, const VfPolicy *actual) {
        bool changed = false;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX && !changed; k++)
                if (k != POLICY_DRIVER && (POLICY_HAS(actual, k) != POLICY_HAS(&vf->actual, k) ||
                                           !policy_key_equal(actual, &vf->actual, k)))
                        changed = true;
        vf->actual = *actual;
        if (changed)
                object_mark_changed(&vf->mark);
}

uint32_t vf_drifted_keys(const VirtualFunction *vf) {
        uint32_t keys = 0;

        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                if (!POLICY_HAS(&vf->policy, k))
                        continue;
                if (k == POLICY_DRIVER) {
                        if (!isempty(vf->policy.driver) && !streq_ptr(vf->driver, vf->policy.driver))
                                keys |= UINT32_C(1) << k;
                } else if (POLICY_HAS(&vf->actual, k) && !policy_key_equal(&vf->policy, &vf->actual, k))
                        keys |= UINT32_C(1) << k;
        }
        return keys;
}
