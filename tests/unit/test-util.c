/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "util.h"

START_TEST(test_pci_address_normalize) {
        char a[PCI_ADDRESS_MAX];

        ck_assert_int_eq(pci_address_normalize("0000:01:00.0", a), 0);
        ck_assert_str_eq(a, "0000:01:00.0");
        ck_assert_int_eq(pci_address_normalize("01:00.0", a), 0);
        ck_assert_str_eq(a, "0000:01:00.0");
        ck_assert_int_eq(pci_address_normalize("0000:AF:1f.7", a), 0);
        ck_assert_str_eq(a, "0000:af:1f.7");
        ck_assert_int_eq(pci_address_normalize("ABCD:ef:00.1", a), 0);
        ck_assert_str_eq(a, "abcd:ef:00.1");
        /* five-digit domains: Intel VMD puts the devices behind it in domains 10000 and up */
        ck_assert_int_eq(pci_address_normalize("10000:e1:00.0", a), 0);
        ck_assert_str_eq(a, "10000:e1:00.0");
        ck_assert_int_eq(pci_address_normalize("1000A:E1:1F.7", a), 0);
        ck_assert_str_eq(a, "1000a:e1:1f.7");
        ck_assert_int_eq(pci_address_normalize("fffff:ff:1f.7", a), 0);
        ck_assert_str_eq(a, "fffff:ff:1f.7");
        /* the short form is domain 0000, always */
        ck_assert_int_eq(pci_address_normalize("e1:00.0", a), 0);
        ck_assert_str_eq(a, "0000:e1:00.0");

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
        ck_assert_int_eq(pci_address_normalize("10000:e1:00.0/", a), -EINVAL);
        /* a leading zero would be a second name for the same device */
        ck_assert_int_eq(pci_address_normalize("00000:01:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("01000:01:00.0", a), -EINVAL);
        /* six digits: no such domain, and longer than any buffer for an address */
        ck_assert_int_eq(pci_address_normalize("100000:e1:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("1000000:e1:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("10000:e1:00.0000000000000000", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("123:e1:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("10000:e1:00.", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("10000:e1:0.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("10000:e:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("1000x:e1:00.0", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("10000:e1:00.0 ", a), -EINVAL);
        ck_assert_int_eq(pci_address_normalize("10000.e1:00.0", a), -EINVAL);
        ck_assert_str_eq(a, "untouched!!!");
}
END_TEST

START_TEST(test_pci_address_is_valid) {
        ck_assert(pci_address_is_valid("0000:01:00.0"));
        ck_assert(pci_address_is_valid("ffff:ff:1f.7"));
        ck_assert(pci_address_is_valid("10000:e1:00.0"));
        ck_assert(pci_address_is_valid("fffff:ff:1f.7"));
        ck_assert(!pci_address_is_valid("0000:01:00.0 "));
        ck_assert(!pci_address_is_valid("0000:AF:00.0")); /* only the normalized (lower case) form */
        ck_assert(!pci_address_is_valid("10000:E1:00.0"));
        ck_assert(!pci_address_is_valid("01:00.0"));
        ck_assert(!pci_address_is_valid("00000:01:00.0"));
        ck_assert(!pci_address_is_valid("100000:01:00.0"));
        ck_assert(!pci_address_is_valid(NULL));
        ck_assert_uint_ge(PCI_ADDRESS_MAX, sizeof("fffff:ff:1f.7"));
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

static char *tmp_file(const char *dir, const char *name, const char *content) {
        char *p = path_join(dir, name);
        FILE *f;

        ck_assert_ptr_nonnull(p);
        if (content) {
                f = fopen(p, "we");
                ck_assert_ptr_nonnull(f);
                ck_assert_int_ge(fputs(content, f), 0);
                ck_assert_int_eq(fclose(f), 0);
        }
        return p;
}

static void assert_refused(const char *path, int error, const char *message) {
        _cleanup_free_ char *msg = NULL;
        char *untouched = (char *) 0x1;
        size_t size = 77;

        ck_assert_int_eq(read_full_file(path, 1024, &untouched, &size), error);
        ck_assert_ptr_eq(untouched, (char *) 0x1);
        ck_assert_uint_eq(size, 77);
        ck_assert_int_eq(read_full_file_strerror(path, error, 1024, &msg), 0);
        ck_assert_str_eq(msg, message);
}

/* Nothing but a regular file is read: a FIFO must not hang the reader (it did: fopen() blocked for
 * a writer), a device must not be read, and a symbolic link is not followed. */
START_TEST(test_read_full_file) {
        char dir[] = "/tmp/test-util-XXXXXX";
        _cleanup_free_ char *regular = NULL, *empty = NULL, *fifo = NULL, *link = NULL, *dangling = NULL,
                            *subdir = NULL, *big = NULL, *sock = NULL, *text = NULL, *msg = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _cleanup_close_ int sfd = -1;
        char *bigtext;
        size_t size = 0;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        regular = tmp_file(dir, "x.conf", "[Match]\nPciAddress=01:00.0\n");
        empty = tmp_file(dir, "empty.conf", "");
        fifo = tmp_file(dir, "fifo.conf", NULL);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        link = tmp_file(dir, "link.conf", NULL);
        ck_assert_int_eq(symlink(regular, link), 0);
        dangling = tmp_file(dir, "dangling.conf", NULL);
        ck_assert_int_eq(symlink("/nonexistent/secret", dangling), 0);
        subdir = tmp_file(dir, "dir.conf", NULL);
        ck_assert_int_eq(mkdir(subdir, 0755), 0);
        sock = tmp_file(dir, "sock.conf", NULL);
        sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(sfd, 0);
        ck_assert_uint_lt(strlen(sock), sizeof sa.sun_path);
        strcpy(sa.sun_path, sock);
        ck_assert_int_eq(bind(sfd, (struct sockaddr *) &sa, sizeof sa), 0);

        ck_assert_int_eq(read_full_file(regular, 1024, &text, &size), 0);
        ck_assert_str_eq(text, "[Match]\nPciAddress=01:00.0\n");
        ck_assert_uint_eq(size, strlen(text));
        text = mfree(text);
        ck_assert_int_eq(read_full_file(empty, 1024, &text, &size), 0);
        ck_assert_str_eq(text, "");
        ck_assert_uint_eq(size, 0);
        text = mfree(text);
        /* exactly at the limit is fine, one byte more is not */
        ck_assert_int_eq(read_full_file(regular, strlen("[Match]\nPciAddress=01:00.0\n"), &text, NULL), 0);
        text = mfree(text);
        ck_assert_int_eq(read_full_file(regular, strlen("[Match]\nPciAddress=01:00.0\n") - 1, &text, NULL),
                         -EFBIG);

        assert_refused(fifo, -EBADFD, "not a regular file (a FIFO)");
        assert_refused(subdir, -EBADFD, "not a regular file (a directory)");
        assert_refused(sock, -EBADFD, "not a regular file (a socket)");
        assert_refused("/dev/null", -EBADFD, "not a regular file (a character device)");
        assert_refused("/dev/zero", -EBADFD, "not a regular file (a character device)");
        assert_refused(link, -ELOOP, "is a symbolic link, refused");
        assert_refused(dangling, -ELOOP, "is a symbolic link, refused");
        ck_assert_int_eq(read_full_file_strerror(regular, -EFBIG, 4096, &msg), 0);
        ck_assert_str_eq(msg, "larger than 4096 bytes, refused");
        msg = mfree(msg);
        ck_assert_int_eq(read_full_file_strerror("/x", -ENOENT, 4096, &msg), 0);
        ck_assert_str_eq(msg, "No such file or directory");

        /* a large file: read whole when allowed, refused beyond the cap without reading it all */
        big = tmp_file(dir, "big.conf", NULL);
        bigtext = malloc(300001);
        ck_assert_ptr_nonnull(bigtext);
        for (size_t i = 0; i < 300000; i++)
                bigtext[i] = 'a' + i % 26;
        bigtext[300000] = 0;
        free(tmp_file(dir, "big.conf", bigtext));
        ck_assert_int_eq(read_full_file(big, 300000, &text, &size), 0);
        ck_assert_uint_eq(size, 300000);
        ck_assert_str_eq(text, bigtext);
        text = mfree(text);
        ck_assert_int_eq(read_full_file(big, 299999, &text, &size), -EFBIG);
        ck_assert_int_eq(read_full_file(big, 1024, &text, &size), -EFBIG);
        free(bigtext);
        /* files in /proc report a size of 0 and are read all the same */
        ck_assert_int_eq(read_full_file("/proc/self/stat", 65536, &text, &size), 0);
        ck_assert_uint_gt(size, 0);
        ck_assert_uint_eq(strlen(text), size);

        ck_assert_int_eq(unlink(regular), 0);
        ck_assert_int_eq(unlink(empty), 0);
        ck_assert_int_eq(unlink(fifo), 0);
        ck_assert_int_eq(unlink(link), 0);
        ck_assert_int_eq(unlink(dangling), 0);
        ck_assert_int_eq(unlink(sock), 0);
        ck_assert_int_eq(unlink(big), 0);
        ck_assert_int_eq(rmdir(subdir), 0);
        ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* What the bus gets of a name that is not UTF-8 (a netdev may be called anything but '/', ':' and
 * blanks): the bytes that are no character as \xNN, the characters as they are. */
START_TEST(test_utf8_escape_invalid) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                {"", ""},
                {"enp1s0", "enp1s0"},
                {"名前ü\t", "名前ü\t"},
                {"en\xffx", "en\\xffx"},
                {"\xc0\xaf", "\\xc0\\xaf"},
                {"\xed\xa0\x80", "\\xed\\xa0\\x80"},
                {"a\xe4\xb8", "a\\xe4\\xb8"},
                {"\xe4\xb8\xad\x80", "中\\x80"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *e = utf8_escape_invalid(cases[i].in);

                ck_assert_str_eq(e, cases[i].out);
                ck_assert(utf8_is_valid(e));
                ck_assert(utf8_is_valid(cases[i].in) == streq(cases[i].in, cases[i].out));
                free(e);
        }
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
        tcase_add_test(tc, test_utf8_escape_invalid);
        tcase_add_test(tc, test_read_full_file);
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
