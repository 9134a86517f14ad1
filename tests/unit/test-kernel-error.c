/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "kernel-error.h"
#include "util.h"

static const KernelErrorContext numvfs = {
        .op = KERNEL_OP_NUMVFS,
        .address = "0000:3b:00.0",
        .driver = "ice",
        .vendor = 0x8086,
        .count = 64,
};

/* what the decoder says for error, both parts checked against every needle ("" for no fix) */
static void explain(const KernelErrorContext *c, int error, const char *why_needle, char **fix_needles) {
        _cleanup_free_ char *why = NULL, *fix = NULL;

        ck_assert_int_eq(kernel_error_explain(c, error, &why, &fix), 0);
        ck_assert_ptr_nonnull(why);
        ck_assert_msg(strstr(why, why_needle), "'%s' lacks '%s'", why, why_needle);
        /* the errno's name ends the explanation, in parentheses */
        ck_assert_msg(why[strlen(why) - 1] == ')', "%s", why);
        ck_assert_msg(strstr(why, errno_name(error)), "'%s' lacks %s", why, errno_name(error));
        if (!fix_needles) {
                ck_assert_msg(!fix, "unexpected fix for %s: %s", errno_name(error), fix);
                return;
        }
        ck_assert_msg(fix, "no fix for %s", errno_name(error));
        for (char **n = fix_needles; *n; n++)
                ck_assert_msg(strstr(fix, *n), "fix for %s: '%s' lacks '%s'", errno_name(error), fix, *n);
}

START_TEST(test_errno_name) {
        ck_assert_str_eq(errno_name(-ENOSPC), "ENOSPC");
        ck_assert_str_eq(errno_name(ENOMEM), "ENOMEM");
        ck_assert_str_eq(errno_name(-ETIMEDOUT), "ETIMEDOUT");
        ck_assert_ptr_null(errno_name(100000));
}
END_TEST

START_TEST(test_enospc) {
        explain(&numvfs, -ENOSPC, "ice has no interrupt vectors (MSI-X) or queues left for 64 VFs (ENOSPC)",
                STRV_MAKE("sriov_vf_msix_count", "sriov_vf_total_msix", "/sys/bus/pci/devices/0000:3b:00.0/",
                          "devlink dev param set pci/0000:3b:00.0 name msix_vec_per_pf_max",
                          "devlink dev reload pci/0000:3b:00.0", "fewer VFs"));
}
END_TEST

START_TEST(test_enomem) {
        explain(&numvfs, -ENOMEM, "no room for the VFs' BARs or bus numbers",
                STRV_MAKE("pci=realloc", "not enough MMIO resources for SR-IOV", "can't enable 64 VFs",
                          "Above 4G Decoding", "update-grub"));
}
END_TEST

START_TEST(test_eio_etimedout) {
        explain(&numvfs, -EIO, "did not answer ice (EIO)",
                STRV_MAKE("dmesg", "/sys/bus/pci/devices/0000:3b:00.0/reset", "modprobe -r ice",
                          "firmware"));
        explain(&numvfs, -ETIMEDOUT, "(ETIMEDOUT)", STRV_MAKE("modprobe ice", "firmware"));
}
END_TEST

START_TEST(test_eperm) {
        explain(&numvfs, -EPERM, "not permit",
                STRV_MAKE("CAP_SYS_ADMIN", "container", "Lockdown:", "Secure Boot"));
        explain(&numvfs, -EACCES, "(EACCES)", STRV_MAKE("root", "CAP_DAC_OVERRIDE"));
        explain(&numvfs, -EROFS, "read-only", STRV_MAKE("/sys mounted read-write"));
}
END_TEST

START_TEST(test_others) {
        KernelErrorContext unbound = numvfs;

        explain(&numvfs, -EBUSY, "in use", NULL);
        explain(&numvfs, -ERANGE, "more than the device supports",
                STRV_MAKE("/sys/bus/pci/devices/0000:3b:00.0/sriov_totalvfs"));
        explain(&numvfs, -ENOENT, "ice cannot create VFs", STRV_MAKE("pci-stub", "enable_sriov=1"));
        unbound.driver = NULL;
        explain(&unbound, -ENOENT, "no driver is bound", STRV_MAKE("lspci -k -s 0000:3b:00.0"));
        explain(&numvfs, -EINVAL, "rejected", STRV_MAKE("dmesg"));
        explain(&numvfs, -EOPNOTSUPP, "ice does not support SR-IOV", STRV_MAKE("dmesg"));
        /* anything else: the kernel's words and the name, no invented fix */
        explain(&numvfs, -ENOTTY, "Inappropriate ioctl for device (ENOTTY)", NULL);
}
END_TEST

START_TEST(test_bind) {
        KernelErrorContext c = {.op = KERNEL_OP_BIND, .address = "0000:3b:00.0", .driver = "vfio-pci"};

        explain(&c, -ENODEV, "no driver took the VF", STRV_MAKE("modprobe vfio-pci"));
        explain(&c, -EBUSY, "in use", NULL);
        explain(&c, -ENOSPC, "interrupt vectors", STRV_MAKE("sriov_vf_msix_count"));
        explain(&c, -EIO, "probe", STRV_MAKE("dmesg"));
        explain(&c, -EPERM, "not permit", STRV_MAKE("CAP_SYS_ADMIN"));
        explain(&c, -EROFS, "read-only", STRV_MAKE("privileged container"));
}
END_TEST

START_TEST(test_sriov_disabled) {
        static const struct {
                uint16_t vendor;
                const char *needles[3];
        } cases[] = {
                {0x8086, {"Intel", "nvmupdate64e", "bootutil64e"}},
                {0x15b3, {"mlxconfig -d 0000:3b:00.0 set SRIOV_EN=1 NUM_OF_VFS=16", "mlxfwreset", NULL}},
                {0x14e4, {"niccli", "bnxtnvm", "name enable_sriov value true cmode permanent"}},
                {0x1077, {"QConvergeConsole", NULL, NULL}},
                {0x1924, {"sfboot sriov=enabled vf-count=16", NULL, NULL}},
                {0x1af4, {"firmware setup", "vendor's tool", NULL}},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *fix = kernel_sriov_disabled_fix(cases[i].vendor, "0000:3b:00.0", 16);

                ck_assert_ptr_nonnull(fix);
                for (size_t j = 0; j < 3 && cases[i].needles[j]; j++)
                        ck_assert_msg(strstr(fix, cases[i].needles[j]), "vendor %04x: '%s' lacks '%s'",
                                      cases[i].vendor, fix, cases[i].needles[j]);
        }
        /* no count asked for yet (doctor): an example one */
        {
                _cleanup_free_ char *fix = kernel_sriov_disabled_fix(0x15b3, "0000:3b:00.0", 0);
                ck_assert_ptr_nonnull(strstr(fix, "NUM_OF_VFS=8"));
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("kernel-error");
        TCase *tc = tcase_create("decode");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_errno_name);
        tcase_add_test(tc, test_enospc);
        tcase_add_test(tc, test_enomem);
        tcase_add_test(tc, test_eio_etimedout);
        tcase_add_test(tc, test_eperm);
        tcase_add_test(tc, test_others);
        tcase_add_test(tc, test_bind);
        tcase_add_test(tc, test_sriov_disabled);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
