/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "prometheus.h"
#include "util.h"

/* Closes the memory stream f and returns what was written to it (buf, freed by the caller). */
static char *captured(FILE *f, char **buf) {
        ck_assert_int_eq(fclose(f), 0);
        return *buf;
}

START_TEST(test_label_value_escaping) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(f);
        /* backslash, double quote and line feed are the three the text format escapes; a tab, a
         * closing brace, a comma and UTF-8 pass as they are */
        prom_write_label_value(f, "a\\b\"c\nd\te},ü");
        prom_write_label_value(f, NULL);
        prom_write_label_value(f, "\\\\\"\n\n");
        ck_assert_str_eq(captured(f, &buf), "\"a\\\\b\\\"c\\nd\te},ü\"\"\"\"\\\\\\\\\\\"\\n\\n\"");
}
END_TEST

START_TEST(test_family_and_samples) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        PromLabel l[] = {{"pf", "0000:01:00.0"}, {"interface", "a\"b"}};

        ck_assert_ptr_nonnull(f);
        /* HELP escapes backslash and line feed, not quotes */
        prom_write_family(f, "sriovd_x", "gauge", "one \"two\"\nthree \\");
        prom_write_sample(f, "sriovd_x", l, 2, "3");
        prom_write_sample(f, "sriovd_y", NULL, 0, "1.5");
        ck_assert_str_eq(captured(f, &buf), "# HELP sriovd_x one \"two\"\\nthree \\\\\n"
                                            "# TYPE sriovd_x gauge\n"
                                            "sriovd_x{pf=\"0000:01:00.0\",interface=\"a\\\"b\"} 3\n"
                                            "sriovd_y 1.5\n");
}
END_TEST

static Suite *prometheus_suite(void) {
        Suite *s = suite_create("prometheus");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_label_value_escaping);
        tcase_add_test(tc, test_family_and_samples);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(prometheus_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
