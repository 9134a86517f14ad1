/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"
#include "converge.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "reconcile.h"

#define DEFINE_PF_STRING_GETTER(name, expr)                                                         \
        static int property_get_##name(sd_bus *bus, const char *path, const char *interface,        \
                                       const char *property, sd_bus_message *reply, void *userdata, \
                                       sd_bus_error *error) {                                       \
                PhysicalFunction *pf = userdata;                                                    \
                return sd_bus_message_append(reply, "s", strempty(expr));                           \
        }

DEFINE_PF_STRING_GETTER(address, pf->address);
DEFINE_PF_STRING_GETTER(interface, pf->interface);
DEFINE_PF_STRING_GETTER(driver, pf->driver);
DEFINE_PF_STRING_GETTER(vendor, pf->vendor);
DEFINE_PF_STRING_GETTER(model, pf->model);
DEFINE_PF_STRING_GETTER(state, pf_state_to_string(pf->state));
DEFINE_PF_STRING_GETTER(last_error, pf->last_error);
DEFINE_PF_STRING_GETTER(config_source, pf_config_source(pf));

static int property_get_vfs(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        PhysicalFunction *pf = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (size_t i = 0; i < pf->n_vfs; i++)
                if (pf->vfs[i]) {
                        r = sd_bus_message_append(reply, "o", pf->vfs[i]->object_path);
                        if (r < 0)
                                return r;
                }
        return sd_bus_message_close_container(reply);
}

static int property_get_autoprobe(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        PhysicalFunction *pf = userdata;

        return sd_bus_message_append(reply, "b", pf->drivers_autoprobe);
}

static PfConfig *pf_config_copy_state(const PfConfig *c) {
        PfConfig *n = pf_config_new(NULL);

        if (!n)
                return NULL;
        if (!c)
                return n;
        n->num_vfs = c->num_vfs;
        n->drivers_autoprobe = c->drivers_autoprobe;
        if (c->n_vfs > 0) {
                n->vfs = calloc(c->n_vfs, sizeof *n->vfs);
                if (!n->vfs)
                        return pf_config_free(n);
                memcpy(n->vfs, c->vfs, c->n_vfs * sizeof *n->vfs);
                n->n_vfs = c->n_vfs;
        }
        return n;
}

/* Merges keys into the single-VF section of index, adding one if there is none. */
static int pf_config_merge_vf(PfConfig *c, unsigned index, const VfPolicy *keys) {
        VfSection *a;

        for (size_t i = 0; i < c->n_vfs; i++)
                if (c->vfs[i].first == index && c->vfs[i].last == index) {
                        policy_merge(&c->vfs[i].policy, keys);
                        return 0;
                }
        a = reallocarray(c->vfs, c->n_vfs + 1, sizeof *a);
        if (!a)
                return -ENOMEM;
        c->vfs = a;
        c->vfs[c->n_vfs++] = (VfSection){.first = index, .last = index, .policy = *keys};
        return 0;
}

static void pf_config_unset_vf_keys(PfConfig *c, unsigned index, uint32_t keys) {
        for (size_t i = 0; i < c->n_vfs; i++)
                if (c->vfs[i].first == index && c->vfs[i].last == index)
                        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                                if (keys & (UINT32_C(1) << k))
                                        policy_unset(&c->vfs[i].policy, k);
}

/* One change of what the API keeps for a PF: a count, or keys of one VF's policy. */
typedef struct StateChange {
        int num_vfs; /* -1: unchanged */
        unsigned vf_index;
        const VfPolicy *vf_keys; /* NULL: unchanged */
} StateChange;

/* Writes the change into the runtime or the persistent state, and then into memory. A persistent
 * change also drops the same keys from the runtime state, which would otherwise hide it until the
 * next reboot. */
static int pf_save_state(PhysicalFunction *pf, const StateChange *ch, bool runtime, sd_bus_error *error) {
        Manager *m = pf->manager;
        Store *store = runtime ? m->runtime_store : m->store;
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *rt = NULL;
        int r;

        if (!store)
                return sd_bus_error_setf(error, SRIOVD_ERROR_FAILED,
                                         "The %s state directory is not usable, see the log",
                                         runtime ? "runtime" : "persistent");

        c = pf_config_copy_state(runtime ? pf->runtime : pf->persisted);
        if (!c)
                return -ENOMEM;
        if (ch->num_vfs >= 0)
                c->num_vfs = ch->num_vfs;
        if (ch->vf_keys) {
                r = pf_config_merge_vf(c, ch->vf_index, ch->vf_keys);
                if (r < 0)
                        return r;
        }
        r = store_save_pf(store, pf->address, c);
        if (r < 0)
                return sd_bus_error_setf(error, SRIOVD_ERROR_FAILED, "Failed to save the state of %s: %s",
                                         pf->address, strerror(-r));

        if (!runtime && pf->runtime && m->runtime_store) {
                rt = pf_config_copy_state(pf->runtime);
                if (!rt)
                        return -ENOMEM;
                if (ch->num_vfs >= 0)
                        rt->num_vfs = -1;
                if (ch->vf_keys)
                        pf_config_unset_vf_keys(rt, ch->vf_index, ch->vf_keys->set);
                r = store_save_pf(m->runtime_store, pf->address, rt);
                if (r < 0)
                        log_pf(LOG_WARNING, r, pf,
                               "Failed to drop the runtime state replaced, ignoring: %m");
                else {
                        pf_config_free(pf->runtime);
                        pf->runtime = TAKE_PTR(rt);
                }
        }

        if (runtime) {
                pf_config_free(pf->runtime);
                pf->runtime = TAKE_PTR(c);
        } else {
                pf_config_free(pf->persisted);
                pf->persisted = TAKE_PTR(c);
        }
        return 0;
}

static int method_set_num_vfs(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(request_unrefp) Request *req = NULL;
        _cleanup_(reconcile_plan_done) ReconcilePlan plan = {};
        _cleanup_free_ ReconcileVf *vfs = NULL;
        PhysicalFunction *pf = userdata;
        ReconcileInput in;
        uint32_t count;
        uint64_t flags;
        int r;

        r = manager_authorize(pf->manager, message, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */
        r = sd_bus_message_read(message, "ut", &count, &flags);
        if (r < 0)
                return r;
        if (flags & ~SRIOVD_NUMVFS_FLAGS_ALL)
                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT, "Unknown flags 0x%" PRIx64,
                                         flags & ~SRIOVD_NUMVFS_FLAGS_ALL);

        (void) pf_refresh(pf);
        if (count > pf->total_vfs)
                return sd_bus_error_setf(
                        error, SRIOVD_ERROR_OUT_OF_RANGE,
                        "Cannot set %u VFs on %s: the device supports at most %u (sriov_totalvfs)", count,
                        pf->address, pf->total_vfs);

        /* refuse now what the planner would refuse, so that a refused call changes nothing */
        r = pf_build_reconcile_input(pf, (int) count, flags & SRIOVD_FLAG_FORCE, &in, &vfs);
        if (r < 0)
                return r;
        r = reconcile_plan(&in, &plan);
        if (r < 0)
                return r;
        if (plan.action == PLAN_REFUSE) {
                log_pf(LOG_WARNING, plan.error, pf, "Refused SetNumVFs(%u): %s", count, plan.message);
                return sd_bus_error_set(error, sriovd_error_name_from_errno(plan.error), plan.message);
        }

        r = pf_save_state(pf, &(StateChange){.num_vfs = (int) count}, flags & SRIOVD_FLAG_RUNTIME, error);
        if (r < 0)
                return r;
        log_pf(LOG_INFO, 0, pf, "NumVFs set to %u%s%s through the API", count,
               flags & SRIOVD_FLAG_RUNTIME ? " (runtime)" : "",
               flags & SRIOVD_FLAG_FORCE ? " (forced)" : "");
        pf_update_desired(pf);

        req = request_new(message, NULL, NULL);
        if (!req)
                return -ENOMEM;
        req->scope_vf = REQUEST_SCOPE_COUNT;
        if (flags & SRIOVD_FLAG_FORCE)
                pf->force_next = true;
        (void) pf_reconcile(pf, req);
        request_arm(req);
        return 1;
}

/* The caller has authorized the sender already. */
int pf_method_set_vf_policy(sd_bus_message *message, PhysicalFunction *pf, unsigned index,
                            sd_bus_error *error) {
        _cleanup_(request_unrefp) Request *req = NULL;
        _cleanup_free_ char *invalid = NULL;
        VfPolicy keys = {}, merged;
        bool runtime;
        uint64_t flags;
        int r;

        r = policy_from_bus_message(message, &keys, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~SRIOVD_POLICY_FLAGS_ALL)
                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT, "Unknown flags 0x%" PRIx64,
                                         flags & ~SRIOVD_POLICY_FLAGS_ALL);
        runtime = flags & SRIOVD_FLAG_RUNTIME;

        (void) pf_refresh(pf);
        if (index >= pf->total_vfs)
                return sd_bus_error_setf(
                        error, SRIOVD_ERROR_OUT_OF_RANGE,
                        "VF %u does not exist on %s: it supports VFs 0 to %i (sriov_totalvfs %u)", index,
                        pf->address, (int) pf->total_vfs - 1, pf->total_vfs);

        /* what would be in force must make sense as a whole, or nothing is taken */
        (void) pf_desired_vf_policy(pf, index, &merged);
        policy_merge(&merged, &keys);
        r = policy_validate(&merged, &invalid);
        if (r < 0)
                return sd_bus_error_setf(error, SRIOVD_ERROR_INVALID_ARGUMENT, "%s", strempty(invalid));
        if (POLICY_HAS(&keys, POLICY_DRIVER) && streq(keys.driver, DRIVER_VFIO_PCI) && !iommu_active())
                return sd_bus_error_setf(error, SRIOVD_ERROR_NOT_SUPPORTED,
                                         "Cannot bind VF %u of %s to vfio-pci: " IOMMU_HINT, index,
                                         pf->address);

        r = pf_save_state(pf, &(StateChange){.num_vfs = -1, .vf_index = index, .vf_keys = &keys}, runtime,
                          error);
        if (r < 0)
                return r;
        log_pf(LOG_INFO, 0, pf, "Policy of VF %u changed through the API%s", index,
               runtime ? " (runtime)" : "");
        pf_update_desired(pf);

        req = request_new(message, NULL, NULL);
        if (!req)
                return -ENOMEM;
        req->scope_vf = (int) index;
        (void) pf_reconcile(pf, req);
        request_arm(req);
        return 1;
}

static int method_set_vf_policy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        uint32_t index;
        int r;

        r = manager_authorize(((PhysicalFunction *) userdata)->manager, message, POLKIT_ACTION_MANAGE,
                              error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */

        r = sd_bus_message_read(message, "u", &index);
        if (r < 0)
                return r;
        return pf_method_set_vf_policy(message, userdata, index, error);
}

static int method_forget(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(request_unrefp) Request *req = NULL;
        PhysicalFunction *pf = userdata;
        Manager *m = pf->manager;
        int r;

        r = manager_authorize(m, message, POLKIT_ACTION_MANAGE, error);
        if (r <= 0)
                return r < 0 ? r : 1; /* 0: polkit was asked, the call comes back with the answer */

        if (m->runtime_store) {
                r = store_remove_pf(m->runtime_store, pf->address);
                if (r < 0)
                        return sd_bus_error_setf(error, SRIOVD_ERROR_FAILED,
                                                 "Failed to remove the runtime state of %s: %s", pf->address,
                                                 strerror(-r));
        }
        pf->runtime = pf_config_free(pf->runtime);
        if (m->store) {
                r = store_remove_pf(m->store, pf->address);
                if (r < 0)
                        return sd_bus_error_setf(error, SRIOVD_ERROR_FAILED,
                                                 "Failed to remove the state of %s: %s", pf->address,
                                                 strerror(-r));
        }
        pf->persisted = pf_config_free(pf->persisted);
        log_pf(LOG_INFO, 0, pf, "Forgot the state set through the API");
        pf_update_desired(pf);

        req = request_new(message, NULL, NULL);
        if (!req)
                return -ENOMEM;
        (void) pf_reconcile(pf, req);
        request_arm(req);
        return 1;
}

const sd_bus_vtable pf_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PciAddress", "s", property_get_address, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Interface", "s", property_get_interface, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Driver", "s", property_get_driver, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VendorId", "q", NULL, offsetof(PhysicalFunction, vendor_id),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DeviceId", "q", NULL, offsetof(PhysicalFunction, device_id),
                        SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Vendor", "s", property_get_vendor, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Model", "s", property_get_model, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("TotalVFs", "u", NULL, offsetof(PhysicalFunction, total_vfs),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NumVFs", "u", NULL, offsetof(PhysicalFunction, num_vfs),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DesiredNumVFs", "i", NULL, offsetof(PhysicalFunction, desired_num_vfs),
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("DriversAutoprobe", "b", property_get_autoprobe, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("VirtualFunctions", "ao", property_get_vfs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get_last_error, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ConfigSource", "s", property_get_config_source, 0,
                        SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("SetNumVFs", SD_BUS_ARGS("u", count, "t", flags), SD_BUS_NO_RESULT,
                                method_set_num_vfs, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetVirtualFunctionPolicy",
                                SD_BUS_ARGS("u", index, "a{sv}", policy, "t", flags), SD_BUS_NO_RESULT,
                                method_set_vf_policy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Forget", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_forget,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

int pf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error) {
        PhysicalFunction *pf = manager_find_pf_by_path(userdata, path);

        if (!pf)
                return 0;
        *found = pf;
        return 1;
}
