/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "manager.h"
#include "names.h"
#include "sysfs.h"
#include "vf.h"

static const char *const vf_state_table[_VF_STATE_MAX] = {
        [VF_STATE_OK] = "ok",
        [VF_STATE_DRIFT] = "drift",
        [VF_STATE_FAILED] = "failed",
};

DEFINE_STRING_TABLE_LOOKUP(vf_state, VfState);

int vf_new(PhysicalFunction *pf, unsigned index, const char *address, VirtualFunction **ret) {
        _cleanup_(vf_freep) VirtualFunction *vf = NULL;
        char suffix[32];

        vf = calloc(1, sizeof *vf);
        if (!vf)
                return -ENOMEM;
        vf->pf = pf;
        vf->index = index;
        vf->iommu_group = -1;
        snprintf(vf->address, sizeof vf->address, "%s", address);
        snprintf(suffix, sizeof suffix, "/vf/%u", index);
        vf->object_path = strjoin(pf->object_path, suffix);
        if (!vf->object_path)
                return -ENOMEM;
        /* the PF's virtfnN link leads to the VF wherever sysfs puts it */
        snprintf(suffix, sizeof suffix, "/" SYSFS_VIRTFN_PREFIX "%u", index);
        vf->syspath = strjoin(pf->syspath, suffix);
        if (!vf->syspath)
                return -ENOMEM;
        *ret = TAKE_PTR(vf);
        return 0;
}

VirtualFunction *vf_free(VirtualFunction *vf) {
        if (!vf)
                return NULL;
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
        const char *changed[8];
        size_t n = 0;
        int iommu_group = -1, r;

        r = sysfs_read_link_name(vf->syspath, SYSFS_DRIVER, &driver);
        if (r < 0 && r != -ENOENT)
                log_vf(LOG_DEBUG, r, vf, "Failed to read driver of VF %u, ignoring: %m", vf->index);
        r = sysfs_read_interface(vf->syspath, &interface);
        if (r < 0 && r != -ENOENT)
                log_vf(LOG_DEBUG, r, vf, "Failed to read interface of VF %u, ignoring: %m", vf->index);
        if (sysfs_read_link_name(vf->syspath, SYSFS_IOMMU_GROUP, &group) >= 0)
                (void) safe_atoi(group, &iommu_group);

        if (free_and_strdup(&vf->driver, driver) > 0)
                changed[n++] = "Driver";
        if (free_and_strdup(&vf->interface, interface) > 0)
                changed[n++] = "Interface";
        if (vf->iommu_group != iommu_group) {
                vf->iommu_group = iommu_group;
                changed[n++] = "IommuGroup";
        }
        changed[n] = NULL;
        if (n > 0 && vf->pf->manager->bus)
                (void) sd_bus_emit_properties_changed_strv(vf->pf->manager->bus, vf->object_path,
                                                           SRIOVD_VF_INTERFACE, (char **) changed);
        return 0;
}

void vf_set_state(VirtualFunction *vf, VfState state, int error, const char *message) {
        const char *changed[3];
        size_t n = 0;

        vf->error = error;
        if (vf->state != state) {
                vf->state = state;
                changed[n++] = "State";
        }
        if (free_and_strdup(&vf->last_error, message) > 0)
                changed[n++] = "LastError";
        changed[n] = NULL;
        if (n > 0 && vf->pf->manager->bus)
                (void) sd_bus_emit_properties_changed_strv(vf->pf->manager->bus, vf->object_path,
                                                           SRIOVD_VF_INTERFACE, (char **) changed);
}
