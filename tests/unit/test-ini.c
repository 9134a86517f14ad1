/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>

#include "ini.h"
#include "util.h"

/* Lexes text into at most n lines; returns how many there were. */
static size_t lex(IniLexer *lexer, const char *text, IniLine *lines, size_t n) {
        size_t k = 0;
        IniLine line;

        ck_assert_int_eq(ini_lexer_init(lexer, text), 0);
        while (ini_lexer_next(lexer, &line) > 0) {
                ck_assert_uint_lt(k, n);
                lines[k++] = line;
        }
        /* the end stays the end */
        ck_assert_int_eq(ini_lexer_next(lexer, &line), 0);
        return k;
}

START_TEST(test_sections_and_assignments) {
        _cleanup_(ini_lexer_done) IniLexer lexer = {};
        IniLine l[8];
        size_t n;

        n = lex(&lexer,
                "# comment\n"
                "\n"
                "[Match]\n"
                "  PciAddress = 0000:01:00.0  \n"
                "; another comment\n"
                "   # an indented one\n"
                "[PhysicalFunction]\r\n"
                "NumVFs=4\r\n"
                "Name=a=b # not a comment\n"
                "Empty=\n",
                l, ELEMENTSOF(l));
        ck_assert_uint_eq(n, 6);

        ck_assert_int_eq(l[0].type, INI_SECTION);
        ck_assert_uint_eq(l[0].number, 3);
        ck_assert_str_eq(l[0].section, "Match");
        ck_assert_ptr_null(l[0].key);

        ck_assert_int_eq(l[1].type, INI_ASSIGNMENT);
        ck_assert_uint_eq(l[1].number, 4);
        ck_assert_str_eq(l[1].section, "Match");
        ck_assert_str_eq(l[1].key, "PciAddress");
        ck_assert_str_eq(l[1].value, "0000:01:00.0");

        ck_assert_int_eq(l[2].type, INI_SECTION);
        ck_assert_uint_eq(l[2].number, 7);
        ck_assert_str_eq(l[2].section, "PhysicalFunction");

        ck_assert_str_eq(l[3].section, "PhysicalFunction");
        ck_assert_str_eq(l[3].key, "NumVFs");
        ck_assert_str_eq(l[3].value, "4");

        /* a value is the rest of the line, '=' and '#' included */
        ck_assert_str_eq(l[4].key, "Name");
        ck_assert_str_eq(l[4].value, "a=b # not a comment");

        ck_assert_str_eq(l[5].key, "Empty");
        ck_assert_str_eq(l[5].value, "");
        ck_assert_uint_eq(l[5].number, 10);

        /* the strings of earlier lines stay valid until the end */
        ck_assert_str_eq(l[0].section, "Match");
        ck_assert_str_eq(l[1].value, "0000:01:00.0");
}
END_TEST

START_TEST(test_empty_key_and_last_line) {
        _cleanup_(ini_lexer_done) IniLexer lexer = {};
        IniLine l[2];
        size_t n;

        /* the caller decides whether an empty key is an error */
        n = lex(&lexer, "[A]\n=value", l, ELEMENTSOF(l));
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(l[1].type, INI_ASSIGNMENT);
        ck_assert_str_eq(l[1].key, "");
        ck_assert_str_eq(l[1].value, "value");
        ck_assert_uint_eq(l[1].number, 2);
}
END_TEST

START_TEST(test_malformed_lines) {
        _cleanup_(ini_lexer_done) IniLexer lexer = {};
        IniLine l[8];
        size_t n;

        n = lex(&lexer,
                "Key=before any section\n"
                "[Match\n"
                "A=1\n"
                "[Link] trailing\n"
                "just words\n"
                "[]\n"
                "B=2\n",
                l, ELEMENTSOF(l));
        ck_assert_uint_eq(n, 7);

        ck_assert_int_eq(l[0].type, INI_ASSIGNMENT);
        ck_assert_ptr_null(l[0].section);

        ck_assert_int_eq(l[1].type, INI_BAD_SECTION);
        ck_assert_str_eq(l[1].text, "[Match");
        ck_assert_uint_eq(l[1].number, 2);
        /* after a malformed header, assignments are in no section */
        ck_assert_int_eq(l[2].type, INI_ASSIGNMENT);
        ck_assert_ptr_null(l[2].section);

        ck_assert_int_eq(l[3].type, INI_BAD_SECTION);
        ck_assert_str_eq(l[3].text, "[Link] trailing");

        ck_assert_int_eq(l[4].type, INI_BAD_LINE);
        ck_assert_str_eq(l[4].text, "just words");
        ck_assert_uint_eq(l[4].number, 5);

        ck_assert_int_eq(l[5].type, INI_SECTION);
        ck_assert_str_eq(l[5].section, "");
        ck_assert_str_eq(l[6].section, "");
}
END_TEST

START_TEST(test_no_continuation_lines) {
        _cleanup_(ini_lexer_done) IniLexer lexer = {};
        IniLine l[3];
        size_t n;

        /* unlike systemd's unit files, a trailing backslash does not join lines */
        n = lex(&lexer, "[A]\nKey=one \\\n  two=2\n", l, ELEMENTSOF(l));
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(l[1].value, "one \\");
        ck_assert_str_eq(l[2].key, "two");
        ck_assert_str_eq(l[2].value, "2");
}
END_TEST

START_TEST(test_nothing) {
        _cleanup_(ini_lexer_done) IniLexer lexer = {};
        IniLine l[1];
        size_t n;

        n = lex(&lexer, "", l, ELEMENTSOF(l));
        ck_assert_uint_eq(n, 0);
        ini_lexer_done(&lexer);
        n = lex(&lexer, NULL, l, ELEMENTSOF(l));
        ck_assert_uint_eq(n, 0);
        ini_lexer_done(&lexer);
        n = lex(&lexer, "\n\n  \n# only comments\n;\n", l, ELEMENTSOF(l));
        ck_assert_uint_eq(n, 0);
}
END_TEST

static Suite *ini_suite(void) {
        Suite *s = suite_create("ini");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_sections_and_assignments);
        tcase_add_test(tc, test_empty_key_and_last_line);
        tcase_add_test(tc, test_malformed_lines);
        tcase_add_test(tc, test_no_continuation_lines);
        tcase_add_test(tc, test_nothing);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(ini_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
