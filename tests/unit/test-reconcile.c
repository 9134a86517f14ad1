/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "reconcile.h"
#include "util.h"

static ReconcileInput input(int desired, unsigned current) {
        return (ReconcileInput){
                .address = "0000:01:00.0",
                .driver = "igb",
                .desired = desired,
                .current = current,
                .total = 7,
        };
}

START_TEST(test_nothing_to_do) {
        ReconcileInput in = input(4, 4);
        ReconcilePlan p;

        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_NOTHING);

        in = input(-1, 3); /* unmanaged: whatever the kernel has stays */
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_NOTHING);
}
END_TEST

START_TEST(test_enable_and_disable) {
        ReconcileInput in = input(7, 0);
        ReconcilePlan p;

        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_WRITE);
        ck_assert_uint_eq(p.n_values, 1);
        ck_assert_uint_eq(p.values[0], 7);

        in = input(0, 5);
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_WRITE);
        ck_assert_uint_eq(p.n_values, 1);
        ck_assert_uint_eq(p.values[0], 0);
}
END_TEST

START_TEST(test_change_goes_through_zero) {
        ReconcileInput in = input(3, 7);
        ReconcilePlan p;

        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_WRITE);
        ck_assert_uint_eq(p.n_values, 2);
        ck_assert_uint_eq(p.values[0], 0);
        ck_assert_uint_eq(p.values[1], 3);

        in = input(7, 2);
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_uint_eq(p.n_values, 2);
        ck_assert_uint_eq(p.values[0], 0);
        ck_assert_uint_eq(p.values[1], 7);
}
END_TEST

START_TEST(test_out_of_range) {
        _cleanup_(reconcile_plan_done) ReconcilePlan p = {};
        ReconcileInput in = input(8, 0);

        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_REFUSE);
        ck_assert_int_eq(p.error, -ERANGE);
        ck_assert_ptr_nonnull(strstr(p.message, "8 VFs"));
        ck_assert_ptr_nonnull(strstr(p.message, "at most 7"));
        ck_assert_ptr_nonnull(strstr(p.message, "0000:01:00.0"));
}
END_TEST

START_TEST(test_no_driver) {
        _cleanup_(reconcile_plan_done) ReconcilePlan p = {};
        ReconcileInput in = input(2, 0);

        in.driver = NULL;
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_REFUSE);
        ck_assert_int_eq(p.error, -ENOENT);
        ck_assert_ptr_nonnull(strstr(p.message, "no driver"));
}
END_TEST

static const ReconcileVf vfio_vfs[] = {
        {.index = 0, .address = "0000:01:10.0", .driver = "igbvf"},
        {.index = 1, .address = "0000:01:10.2", .driver = "vfio-pci"},
        {.index = 2, .address = "0000:01:10.4", .driver = NULL},
        {.index = 3, .address = "0000:01:10.6", .driver = "vfio-pci"},
};

START_TEST(test_vfio_bound_refused) {
        _cleanup_(reconcile_plan_done) ReconcilePlan p = {};
        ReconcileInput in = input(2, 4);

        in.vfs = vfio_vfs;
        in.n_vfs = ELEMENTSOF(vfio_vfs);
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_REFUSE);
        ck_assert_int_eq(p.error, -EBUSY);
        /* going 4 -> 2 writes 0 first, so VF 1 is destroyed too: both are named */
        ck_assert_ptr_nonnull(strstr(p.message, "VF 1 (0000:01:10.2"));
        ck_assert_ptr_nonnull(strstr(p.message, "VF 3 (0000:01:10.6"));
        ck_assert_ptr_null(strstr(p.message, "VF 0 "));
        reconcile_plan_done(&p);

        /* raising the count destroys them as well */
        in = input(6, 4);
        in.vfs = vfio_vfs;
        in.n_vfs = ELEMENTSOF(vfio_vfs);
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_REFUSE);
        reconcile_plan_done(&p);

        /* disabling too */
        in = input(0, 4);
        in.vfs = vfio_vfs;
        in.n_vfs = ELEMENTSOF(vfio_vfs);
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_REFUSE);
}
END_TEST

START_TEST(test_vfio_bound_forced) {
        ReconcileInput in = input(2, 4);
        ReconcilePlan p;

        in.vfs = vfio_vfs;
        in.n_vfs = ELEMENTSOF(vfio_vfs);
        in.force = true;
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_WRITE);
        ck_assert_uint_eq(p.n_values, 2);
        ck_assert_uint_eq(p.values[1], 2);
}
END_TEST

START_TEST(test_vfio_unaffected) {
        ReconcileInput in = input(4, 4);
        ReconcilePlan p;

        /* nothing changes, so bound VFs are no reason to refuse */
        in.vfs = vfio_vfs;
        in.n_vfs = ELEMENTSOF(vfio_vfs);
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_NOTHING);
}
END_TEST

START_TEST(test_write_error_messages) {
        static const struct {
                int error;
                const char *needle;
        } cases[] = {
                {-EBUSY, "EBUSY"},          {-ERANGE, "ERANGE"},      {-ENOENT, "ENOENT"},
                {-EINVAL, "EINVAL"},        {-ENOMEM, "pci=realloc"}, {-ENOSPC, "sriov_vf_msix_count"},
                {-EACCES, "CAP_SYS_ADMIN"}, {-EIO, "(EIO). Fix: "},   {-ENOTTY, "(ENOTTY)"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *m =
                        reconcile_write_error_message("0000:01:00.0", "igb", 0x8086, 7, 3, cases[i].error);

                ck_assert_ptr_nonnull(m);
                ck_assert_msg(strstr(m, cases[i].needle), "'%s' lacks '%s'", m, cases[i].needle);
                ck_assert_ptr_nonnull(strstr(m, "0000:01:00.0 (igb) from 7 to 3"));
        }
}
END_TEST

START_TEST(test_total_zero) {
        _cleanup_(reconcile_plan_done) ReconcilePlan p = {};
        ReconcileInput in = input(4, 0);

        /* SR-IOV off in the firmware: the kernel says sriov_totalvfs 0, and the vendor's tool turns it on */
        in.total = 0;
        in.vendor = 0x15b3;
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_REFUSE);
        ck_assert_int_eq(p.error, -ERANGE);
        ck_assert_msg(strstr(p.message, "sriov_totalvfs is 0, SR-IOV is disabled in the firmware"), "%s",
                      p.message);
        ck_assert_msg(
                strstr(p.message,
                       ". Fix: NVIDIA/Mellanox: mlxconfig -d 0000:01:00.0 set SRIOV_EN=1 NUM_OF_VFS=4"),
                "%s", p.message);
        reconcile_plan_done(&p);

        /* a total that is not 0 is just the device's limit */
        in.total = 2;
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_str_eq(p.message,
                         "Cannot set 4 VFs on 0000:01:00.0: the device supports at most 2 (sriov_totalvfs)");
}
END_TEST

START_TEST(test_leased_refused) {
        static const ReconcileVf vfs[] = {
                {.index = 0, .address = "0000:01:10.0", .driver = "igbvf"},
                {.index = 2, .address = "0000:01:10.4", .driver = "igbvf", .lease = "vm1"},
        };
        _cleanup_(reconcile_plan_done) ReconcilePlan p = {};
        ReconcileInput in = input(1, 3);

        in.vfs = vfs;
        in.n_vfs = ELEMENTSOF(vfs);
        ck_assert_int_eq(reconcile_plan(&in, &p), 0);
        ck_assert_int_eq(p.action, PLAN_REFUSE);
        ck_assert_int_eq(p.error, -EBUSY);
        ck_assert_ptr_nonnull(strstr(p.message, "VF 2 (0000:01:10.4, leased by vm1)"));
}
END_TEST

/* What a drain plans with: leased VFs as if released, a VF on vfio-pci that no lease holds still
 * refused, and one the lease itself put on vfio-pci not. */
START_TEST(test_ignore_leases) {
        static const ReconcileVf leased[] = {
                {.index = 0, .address = "0000:01:10.0", .driver = "vfio-pci", .lease = "vm1"},
                {.index = 1, .address = "0000:01:10.2", .driver = "igbvf", .lease = "vm2"},
        };
        static const ReconcileVf vm[] = {
                {.index = 0, .address = "0000:01:10.0", .driver = "igbvf", .lease = "vm1"},
                {.index = 1, .address = "0000:01:10.2", .driver = "vfio-pci"},
        };
        ReconcileInput in = input(1, 2);

        in.ignore_leases = true;
        in.vfs = leased;
        in.n_vfs = ELEMENTSOF(leased);
        {
                _cleanup_(reconcile_plan_done) ReconcilePlan p = {};
                ck_assert_int_eq(reconcile_plan(&in, &p), 0);
                ck_assert_int_eq(p.action, PLAN_WRITE);
                ck_assert_int_eq(p.n_values, 2);
        }
        in.vfs = vm;
        in.n_vfs = ELEMENTSOF(vm);
        {
                _cleanup_(reconcile_plan_done) ReconcilePlan p = {};
                ck_assert_int_eq(reconcile_plan(&in, &p), 0);
                ck_assert_int_eq(p.action, PLAN_REFUSE);
                ck_assert_int_eq(p.error, -EBUSY);
                ck_assert_ptr_nonnull(strstr(p.message, "VF 1 (0000:01:10.2, bound to vfio-pci)"));
                ck_assert_ptr_null(strstr(p.message, "vm1"));
        }
}
END_TEST

START_TEST(test_first_destroyed) {
        ck_assert_uint_eq(reconcile_first_destroyed(0, 4), 0);
        ck_assert_uint_eq(reconcile_first_destroyed(4, 4), 4);
        ck_assert_uint_eq(reconcile_first_destroyed(4, 0), 0);
        ck_assert_uint_eq(reconcile_first_destroyed(4, 2), 0);
        ck_assert_uint_eq(reconcile_first_destroyed(2, 4), 0);
}
END_TEST

static Suite *reconcile_suite(void) {
        Suite *s = suite_create("reconcile");
        TCase *tc = tcase_create("plan");

        tcase_add_test(tc, test_nothing_to_do);
        tcase_add_test(tc, test_enable_and_disable);
        tcase_add_test(tc, test_change_goes_through_zero);
        tcase_add_test(tc, test_out_of_range);
        tcase_add_test(tc, test_no_driver);
        tcase_add_test(tc, test_vfio_bound_refused);
        tcase_add_test(tc, test_vfio_bound_forced);
        tcase_add_test(tc, test_vfio_unaffected);
        tcase_add_test(tc, test_write_error_messages);
        tcase_add_test(tc, test_total_zero);
        tcase_add_test(tc, test_leased_refused);
        tcase_add_test(tc, test_ignore_leases);
        tcase_add_test(tc, test_first_destroyed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(reconcile_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
