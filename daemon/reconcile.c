/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "kernel-error.h"
#include "names.h"
#include "reconcile.h"
#include "util.h"

void reconcile_plan_done(ReconcilePlan *p) {
        p->message = mfree(p->message);
}

static int refuse(ReconcilePlan *p, int error, char *message) {
        if (!message)
                return -ENOMEM;
        *p = (ReconcilePlan){
                .action = PLAN_REFUSE,
                .error = error,
                .message = message,
        };
        return 0;
}

/* Names the VFs that would be destroyed although something uses them, e.g.
 * "VF 1 (0000:01:10.2, bound to vfio-pci), VF 3 (0000:01:10.6, leased by vm1)". */
static char *busy_vfs(const ReconcileInput *in, unsigned keep) {
        char *s = NULL;
        size_t n = 0;
        FILE *f;

        f = open_memstream(&s, &n);
        if (!f)
                return NULL;
        for (size_t i = 0; i < in->n_vfs; i++) {
                const ReconcileVf *v = in->vfs + i;
                bool vfio = streq_ptr(v->driver, DRIVER_VFIO_PCI);

                if (v->index < keep || (!vfio && !v->lease) || (v->lease && in->ignore_leases))
                        continue;
                fprintf(f, "%sVF %u (%s, %s%s)", ftell(f) > 0 ? ", " : "", v->index, strempty(v->address),
                        v->lease ? "leased by " : "bound to vfio-pci", strempty(v->lease));
        }
        if (fclose(f) != 0) {
                free(s);
                return NULL;
        }
        if (isempty(s))
                return mfree(s);
        return s;
}

unsigned reconcile_first_destroyed(unsigned current, unsigned desired) {
        /* Changing one non-zero count to another returns EBUSY, so the kernel needs 0 first, which
         * destroys every VF, not only the ones above the new count: any change destroys them all. */
        return desired == current ? current : 0;
}

int reconcile_plan(const ReconcileInput *in, ReconcilePlan *ret) {
        _cleanup_free_ char *busy = NULL;
        char *m = NULL;
        unsigned desired, keep;

        *ret = (ReconcilePlan){.action = PLAN_NOTHING};

        if (in->desired < 0 || (unsigned) in->desired == in->current)
                return 0;
        desired = (unsigned) in->desired;

        if (desired > in->total)
                return refuse(ret, -ERANGE,
                              reconcile_total_message(in->address, in->vendor, desired, in->total));
        if (!in->driver) {
                (void) asprintf_safe(
                        &m,
                        "Cannot set %u VFs on %s: no driver is bound to the PF; load or bind its "
                        "driver first",
                        desired, in->address);
                return refuse(ret, -ENOENT, m);
        }

        keep = reconcile_first_destroyed(in->current, desired);
        if (!in->force && in->current > 0) {
                busy = busy_vfs(in, keep);
                if (busy) {
                        (void) asprintf_safe(&m,
                                             "Refusing to change NumVFs of %s from %u to %u: %s would be "
                                             "destroyed (a VM is likely using it); use force to override",
                                             in->address, in->current, desired, busy);
                        return refuse(ret, -EBUSY, m);
                }
        }

        ret->action = PLAN_WRITE;
        if (in->current > 0 && desired > 0)
                ret->values[ret->n_values++] = 0;
        ret->values[ret->n_values++] = desired;
        return 0;
}

char *reconcile_write_error_message(const char *address, const char *driver, uint16_t vendor, unsigned from,
                                    unsigned to, int error) {
        _cleanup_free_ char *why = NULL, *fix = NULL;
        char *m = NULL;

        if (kernel_error_explain(&(KernelErrorContext){.op = KERNEL_OP_NUMVFS,
                                                       .address = address,
                                                       .driver = driver,
                                                       .vendor = vendor,
                                                       .count = to},
                                 error, &why, &fix) < 0)
                return NULL;
        (void) asprintf_safe(&m, "Failed to change NumVFs of %s%s%s%s from %u to %u: %s%s%s", address,
                             driver ? " (" : "", strempty(driver), driver ? ")" : "", from, to, why,
                             fix ? KERNEL_ERROR_FIX_SEPARATOR : "", strempty(fix));
        return m;
}

char *reconcile_total_message(const char *address, uint16_t vendor, unsigned count, unsigned total) {
        _cleanup_free_ char *fix = NULL;
        char *m = NULL;

        if (total > 0) {
                (void) asprintf_safe(
                        &m, "Cannot set %u VFs on %s: the device supports at most %u (sriov_totalvfs)",
                        count, address, total);
                return m;
        }
        fix = kernel_sriov_disabled_fix(vendor, address, count);
        if (!fix)
                return NULL;
        (void) asprintf_safe(
                &m,
                "Cannot set %u VFs on %s: sriov_totalvfs is 0, SR-IOV is disabled in the firmware or "
                "in the NIC's configuration" KERNEL_ERROR_FIX_SEPARATOR "%s",
                count, address, fix);
        return m;
}
