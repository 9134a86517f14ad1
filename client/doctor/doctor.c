/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <sys/utsname.h>

#include "doctor-internal.h"

static const char *const doctor_status_table[_DOCTOR_STATUS_MAX] = {
        [DOCTOR_OK] = "ok",     [DOCTOR_INFO] = "info", [DOCTOR_SKIP] = "skip",
        [DOCTOR_WARN] = "warn", [DOCTOR_FAIL] = "fail",
};

DEFINE_STRING_TABLE_LOOKUP(doctor_status, DoctorStatus);

/* --- results ------------------------------------------------------------------------------------ */

int doctor_add_result(Doctor *d, DoctorSection section, const char *check, const char *device,
                      DoctorStatus status, char *fix, const char *format, ...) {
        _cleanup_free_ char *fix_owned = fix, *summary = NULL, *c = NULL, *dev = NULL;
        DoctorResult *results;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&summary, format, ap);
        va_end(ap);
        if (k < 0) {
                summary = NULL;
                return -ENOMEM;
        }

        c = strdup(check);
        if (!c || (device && !(dev = strdup(device))))
                return -ENOMEM;

        results = realloc(d->results, (d->n_results + 1) * sizeof(DoctorResult));
        if (!results)
                return -ENOMEM;
        d->results = results;
        d->results[d->n_results++] = (DoctorResult){
                .section = section,
                .check = TAKE_PTR(c),
                .device = TAKE_PTR(dev),
                .status = status,
                .summary = TAKE_PTR(summary),
                .fix = TAKE_PTR(fix_owned),
        };
        return 0;
}

char *doctor_fixf(const char *format, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, format);
        k = vasprintf(&s, format, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
}

int doctor_new(const char *root, const char *kernel_release, Doctor **ret) {
        _cleanup_(doctor_freep) Doctor *d = NULL;

        d = calloc(1, sizeof(Doctor));
        if (!d)
                return -ENOMEM;

        if (!isempty(root) && !streq(root, "/")) {
                d->root = strdup(root);
                if (!d->root)
                        return -ENOMEM;
        }

        if (kernel_release)
                d->kernel_release = strdup(kernel_release);
        else {
                struct utsname u;

                if (uname(&u) < 0)
                        return negative_errno();
                d->kernel_release = strdup(u.release);
        }
        if (!d->kernel_release)
                return -ENOMEM;

        *ret = TAKE_PTR(d);
        return 0;
}

Doctor *doctor_free(Doctor *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_results; i++) {
                free(d->results[i].check);
                free(d->results[i].device);
                free(d->results[i].summary);
                free(d->results[i].fix);
        }
        free(d->results);
        for (size_t i = 0; i < d->n_devices; i++) {
                free(d->devices[i].address);
                free(d->devices[i].description);
        }
        free(d->devices);
        free(d->root);
        free(d->kernel_release);
        return mfree(d);
}

size_t doctor_count(const Doctor *d, DoctorStatus s) {
        size_t n = 0;

        for (size_t i = 0; i < d->n_results; i++)
                if (d->results[i].status == s)
                        n++;
        return n;
}

int doctor_check_host(Doctor *d) {
        int r;

        r = doctor_check_iommu(d);
        if (r < 0)
                return r;
        r = doctor_check_vfio(d);
        if (r < 0)
                return r;
        return doctor_check_pfs(d);
}
