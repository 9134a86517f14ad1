/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <limits.h>

#include "util.h"

START_TEST(test_pci_address_normalize) {
        char a[13];

        ck_assert_int_eq(pci_address_normalize("0000:01:00.0", a), 0);
        ck_assert_str_eq(a, "0000:01:00.0");
        ck_assert_int_eq(pci_address_normalize("01:00.0", a), 0);
        ck_assert_str_eq(a, "0000:01:00.0");
        ck_assert_int_eq(pci_address_normalize("0000:AF:1f.7", a), 0);
        ck_assert_str_eq(a, "0000:af:1f.7");
        ck_assert_int_eq(pci_address_normalize("ABCD:ef:00.1", a), 0);
        ck_assert_str_eq(a, "abcd:ef:00.1");

        /* a refused address leaves the output alone */
        memcpy(a, "untouched!!!", 13);
        ck_assert_int_eq(pci_address_normalize(NULL, a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("1:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("0000:01:20.0", a), -EINVAL); /* slot < 32 */
        ck_assert_int_eq(pci_address_normalize("0000:01:00.8", a), -EINVAL); /* function < 8 */
        ck_assert_int_eq(pci_address_normalize("0000:01-00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("0000:0g:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("../../etc/pw", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("0000:01:00.0/", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("00000:01:00.0", a), -EINVAL);
        ck_assert_str_eq(a, "untouched!!!");
}
END_TEST

START_TEST(test_pci_address_is_valid) {
        ck_assert(pci_address_is_valid("0000:01:00.0"));
        ck_assert(pci_address_is_valid("ffff:ff:1f.7"));
        ck_assert(!pci_address_is_valid("0000:01:00.0 "));
        ck_assert(!pci_address_is_valid("0000:AF:00.0")); /* only the normalized (lower case) form */
        ck_assert(!pci_address_is_valid("01:00.0"));
        ck_assert(!pci_address_is_valid(NULL));
}
END_TEST

START_TEST(test_parse_boolean) {
        const char *yes[] = {"1", "yes", "YES", "y", "true", "True", "on", "ON"};
        const char *no[] = {"0", "no", "No", "n", "false", "FALSE", "off", "Off"};
        const char *bad[] = {"", "2", "yess", "enable", " yes", "-1"};

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                ck_assert_msg(parse_boolean(yes[i]) == 1, "%s", yes[i]);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                ck_assert_msg(parse_boolean(no[i]) == 0, "%s", no[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ck_assert_msg(parse_boolean(bad[i]) == -EINVAL, "%s", bad[i]);
        ck_assert_int_eq(parse_boolean(NULL), -EINVAL);
}
END_TEST

START_TEST(test_safe_atou) {
        unsigned u = 42;

        ck_assert_int_eq(safe_atou("0", &u), 0);
        ck_assert_uint_eq(u, 0);
        ck_assert_int_eq(safe_atou("4095", &u), 0);
        ck_assert_uint_eq(u, 4095);
        ck_assert_int_eq(safe_atou("4294967295", &u), 0);
        ck_assert_uint_eq(u, UINT_MAX);

        u = 7;
        ck_assert_int_eq(safe_atou("4294967296", &u), -ERANGE);
        ck_assert_int_eq(safe_atou("99999999999999999999999", &u), -ERANGE);
        ck_assert_int_eq(safe_atou("-1", &u), -EINVAL);
        ck_assert_int_eq(safe_atou("+1", &u), -EINVAL);
        ck_assert_int_eq(safe_atou(" 1", &u), -EINVAL);
        ck_assert_int_eq(safe_atou("1 ", &u), -EINVAL);
        ck_assert_int_eq(safe_atou("1x", &u), -EINVAL);
        ck_assert_int_eq(safe_atou("", &u), -EINVAL);
        ck_assert_int_eq(safe_atou(NULL, &u), -EINVAL);
        ck_assert_uint_eq(u, 7);
}
END_TEST

START_TEST(test_strv) {
        _cleanup_strv_free_ char **l = NULL;

        ck_assert_int_eq(strv_extend(&l, "b"), 0);
        ck_assert_int_eq(strv_extend(&l, "c"), 0);
        ck_assert_int_eq(strv_extend(&l, "a"), 0);
        ck_assert_uint_eq(strv_length(l), 3);
        strv_sort(l);
        ck_assert_str_eq(l[0], "a");
        ck_assert_str_eq(l[2], "c");
        ck_assert_ptr_null(l[3]);
        ck_assert(strv_contains(l, "b"));
        ck_assert(!strv_contains(l, "d"));
}
END_TEST

START_TEST(test_strstrip_path_join) {
        char s[] = " \t key = value \r\n";
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;

        ck_assert_str_eq(strstrip(s), "key = value");
        a = path_join("/x", "y");
        b = path_join("/x/", "y");
        c = path_join("", "y");
        ck_assert_str_eq(a, "/x/y");
        ck_assert_str_eq(b, "/x/y");
        ck_assert_str_eq(c, "y");
}
END_TEST

START_TEST(test_readlink_value) {
        char dir[] = "/tmp/test-util-XXXXXX";
        _cleanup_free_ char *link = NULL, *plain = NULL, *missing = NULL, *v = NULL, *w = NULL;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        link = path_join(dir, "driver");
        plain = path_join(dir, "iommu_group");
        missing = path_join(dir, "missing");
        ck_assert_int_eq(symlink("../../../bus/pci/drivers/igb", link), 0);
        ck_assert_int_eq(symlink("7", plain), 0);

        ck_assert_int_eq(readlink_value(link, &v), 0);
        ck_assert_str_eq(v, "igb");
        ck_assert_int_eq(readlink_value(plain, &w), 0);
        ck_assert_str_eq(w, "7");
        /* a refused read leaves the output alone */
        ck_assert_int_eq(readlink_value(missing, &v), -ENOENT);
        ck_assert_int_eq(readlink_value(dir, &v), -EINVAL);
        ck_assert_str_eq(v, "igb");

        ck_assert_int_eq(unlink(link), 0);
        ck_assert_int_eq(unlink(plain), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(test_strextend_sep) {
        _cleanup_free_ char *s = NULL, *t = NULL;

        ck_assert_int_eq(strextend_sep(&s, ", ", "%s", "a"), 0);
        ck_assert_str_eq(s, "a");
        ck_assert_int_eq(strextend_sep(&s, ", ", "%s (%d)", "b", 2), 0);
        ck_assert_str_eq(s, "a, b (2)");
        ck_assert_int_eq(strextend_sep(&s, NULL, "%s", "!"), 0);
        ck_assert_str_eq(s, "a, b (2)!");

        /* an empty string takes no separator, and a NULL one none either */
        t = strdup("");
        ck_assert_int_eq(strextend_sep(&t, "; ", "x"), 0);
        ck_assert_str_eq(t, "x");
        ck_assert_int_eq(strextend_sep(&t, "; ", "%s", ""), 0);
        ck_assert_str_eq(t, "x; ");
}
END_TEST

static Suite *util_suite(void) {
        Suite *s = suite_create("util");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_pci_address_normalize);
        tcase_add_test(tc, test_pci_address_is_valid);
        tcase_add_test(tc, test_parse_boolean);
        tcase_add_test(tc, test_safe_atou);
        tcase_add_test(tc, test_strv);
        tcase_add_test(tc, test_strstrip_path_join);
        tcase_add_test(tc, test_readlink_value);
        tcase_add_test(tc, test_strextend_sep);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(util_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
