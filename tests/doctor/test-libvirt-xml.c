/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <sys/wait.h>

#include "libvirt-xml.h"
#include "util.h"

static const char *validator = "virt-xml-validate";

/* Runs libvirt's own schema check on the element inside a minimal domain; returns its exit status. */
static int validate(const char *element) {
        char path[] = "/tmp/sriov-libvirt-xml.XXXXXX";
        _cleanup_free_ char *cmd = NULL;
        FILE *f;
        int fd, status;

        fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        f = fdopen(fd, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f,
                "<domain type='kvm'><name>t</name><memory>1024</memory><os><type>hvm</type></os>"
                "<devices>\n%s</devices></domain>\n",
                element);
        ck_assert_int_eq(fclose(f), 0);

        ck_assert_int_ge(asprintf(&cmd, "%s %s domain >/dev/null 2>&1", validator, path), 0);
        status = system(cmd);
        unlink(path);
        ck_assert_msg(status != -1 && WIFEXITED(status), "could not run %s", validator);
        /* 127: the shell did not find it. CI installs it (libvirt-clients, tools/install-deps.sh). */
        ck_assert_msg(WEXITSTATUS(status) != 127, "%s is not installed: install libvirt-clients", validator);
        return WEXITSTATUS(status);
}

START_TEST(test_full_element) {
        _cleanup_free_ char *s = NULL;

        ck_assert_int_eq(libvirt_xml_format("0000:01:10.2", "02:00:00:00:00:01", 42, &s), 0);
        ck_assert_str_eq(s,
                         "<interface type='hostdev' managed='yes'>\n"
                         "  <mac address='02:00:00:00:00:01'/>\n"
                         "  <source>\n"
                         "    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x2'/>\n"
                         "  </source>\n"
                         "  <vlan>\n"
                         "    <tag id='42'/>\n"
                         "  </vlan>\n"
                         "</interface>\n");
        ck_assert_int_eq(validate(s), 0);
}
END_TEST

START_TEST(test_no_mac_no_vlan) {
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        const char *want =
                "<interface type='hostdev' managed='yes'>\n"
                "  <source>\n"
                "    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>\n"
                "  </source>\n"
                "</interface>\n";

        /* no MAC, an empty one and the kernel's "none set" all omit <mac>; VLAN 0 omits <vlan> */
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", NULL, 0, &a), 0);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", "", 0, &b), 0);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", "00:00:00:00:00:00", 0, &c), 0);
        ck_assert_str_eq(a, want);
        ck_assert_str_eq(b, want);
        ck_assert_str_eq(c, want);
        ck_assert_int_eq(validate(a), 0);
}
END_TEST

START_TEST(test_normalizing) {
        _cleanup_free_ char *s = NULL, *t = NULL;

        /* short and upper-case addresses and MACs as users type them */
        ck_assert_int_eq(libvirt_xml_format("AF:1F.7", "02:AB:CD:EF:00:10", 4095, &s), 0);
        ck_assert_ptr_nonnull(
                strstr(s, "<address type='pci' domain='0x0000' bus='0xaf' slot='0x1f' function='0x7'/>"));
        ck_assert_ptr_nonnull(strstr(s, "<mac address='02:ab:cd:ef:00:10'/>"));
        ck_assert_ptr_nonnull(strstr(s, "<tag id='4095'/>"));
        ck_assert_int_eq(validate(s), 0);

        ck_assert_int_eq(libvirt_xml_format("abcd:00:01.1", NULL, 1, &t), 0);
        ck_assert_ptr_nonnull(strstr(t, "domain='0xabcd' bus='0x00' slot='0x01' function='0x1'"));
        ck_assert_ptr_null(strstr(t, "<mac"));
        ck_assert_int_eq(validate(t), 0);
}
END_TEST

/* A VF behind Intel VMD, in a five-digit domain: libvirt's schema takes 32-bit domains. */
START_TEST(test_five_digit_domain) {
        _cleanup_free_ char *s = NULL;
        char *u = (char *) "untouched";

        ck_assert_int_eq(libvirt_xml_format("10000:E1:10.2", NULL, 0, &s), 0);
        ck_assert_ptr_nonnull(strstr(s, "domain='0x10000' bus='0xe1' slot='0x10' function='0x2'"));
        ck_assert_int_eq(validate(s), 0);
        ck_assert_int_eq(libvirt_xml_format("100000:e1:10.2", NULL, 0, &u), -EINVAL);
        ck_assert_str_eq(u, "untouched");
}
END_TEST

START_TEST(test_refused) {
        char *s = (char *) "untouched";

        ck_assert_int_eq(libvirt_xml_format(NULL, NULL, 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("", NULL, 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("0000:01:20.0", NULL, 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0'/><x a='", NULL, 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", "02:00:00:00:00", 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", "02:00:00:00:00:0g", 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", "02-00-00-00-00-01", 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", "02:00:00:00:00:01'", 0, &s), -EINVAL);
        ck_assert_int_eq(libvirt_xml_format("0000:01:10.0", NULL, 4096, &s), -EINVAL);
        /* written only on success */
        ck_assert_str_eq(s, "untouched");
}
END_TEST

START_TEST(test_validator_refuses_bad_xml) {
        /* The schema check itself must be able to fail, or the tests above prove nothing. */
        ck_assert_int_ne(
                validate("<interface type='hostdev' managed='yes'>\n"
                         "  <source>\n"
                         "    <address type='pci' domain='0x0000' bus='0x01' slot='0x100' function='0x0'/>\n"
                         "  </source>\n"
                         "</interface>\n"),
                0);
        ck_assert_int_ne(validate("<interface type='hostdev' managed='yes'>\n"
                                  "  <vlan><tag id='5000'/></vlan>\n"
                                  "</interface>\n"),
                         0);
}
END_TEST

static Suite *libvirt_xml_suite(void) {
        Suite *s = suite_create("libvirt-xml");
        TCase *tc = tcase_create("format");

        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_full_element);
        tcase_add_test(tc, test_no_mac_no_vlan);
        tcase_add_test(tc, test_normalizing);
        tcase_add_test(tc, test_five_digit_domain);
        tcase_add_test(tc, test_refused);
        tcase_add_test(tc, test_validator_refuses_bad_xml);
        suite_add_tcase(s, tc);
        return s;
}

int main(int argc, char *argv[]) {
        SRunner *sr = srunner_create(libvirt_xml_suite());
        int failed;

        /* The build may pass the validator's path, found at configure time. */
        if (argc > 1)
                validator = argv[1];

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
