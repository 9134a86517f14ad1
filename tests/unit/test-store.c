/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <sys/stat.h>

#include "store.h"
#include "util.h"

static char tmpdir[64];
static char *statedir; /* a not yet existing directory below tmpdir */

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void setup(void) {
        umask(022);
        /* a fresh template each time: with CK_FORK=no every test runs in this process */
        strcpy(tmpdir, "/tmp/test-store-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        statedir = path_join(tmpdir, "var/lib/sriovd");
        ck_assert_ptr_nonnull(statedir);
}

static void teardown(void) {
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(statedir);
}

static char *state_path(const char *rel) {
        char *p = path_join(statedir, rel);
        ck_assert_ptr_nonnull(p);
        return p;
}

static char *read_file(const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t n = 0;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(getdelim(&buf, &n, 0, f), 0);
        return buf;
}

static void write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");

        ck_assert_ptr_nonnull(f);
        ck_assert_int_ge(fputs(content, f), 0);
        ck_assert_int_eq(fclose(f), 0);
}

/* The names in dir, sorted, joined with spaces. */
static char *list_dir(const char *dir) {
        _cleanup_strv_free_ char **names = NULL;
        char *joined = strdup("");
        struct dirent *de;
        DIR *d = opendir(dir);

        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        ck_assert_int_eq(strv_extend(&names, de->d_name), 0);
        closedir(d);
        if (names)
                strv_sort(names);
        for (char **n = names; n && *n; n++) {
                char *j = strjoin(joined, isempty(joined) ? "" : " ", *n);
                free(joined);
                joined = j;
        }
        return joined;
}

static Store *open_store(void) {
        Store *s = NULL;

        ck_assert_int_eq(store_open(statedir, &s), 0);
        ck_assert_ptr_nonnull(s);
        return s;
}

static PfConfig *sample_config(void) {
        PfConfig *c = pf_config_new(NULL);

        ck_assert_ptr_nonnull(c);
        c->num_vfs = 8;
        c->drivers_autoprobe = 0;
        c->vfs = calloc(1, sizeof(VfSection));
        ck_assert_ptr_nonnull(c->vfs);
        c->n_vfs = 1;
        c->vfs[0].first = 2;
        c->vfs[0].last = 5;
        ck_assert_int_eq(policy_set_from_string(&c->vfs[0].policy, POLICY_VLAN_ID, "42", NULL), 0);
        ck_assert_int_eq(policy_set_from_string(&c->vfs[0].policy, POLICY_DRIVER, "vfio-pci", NULL), 0);
        return c;
}

START_TEST(test_open_creates_layout) {
        _cleanup_(store_freep) Store *s = NULL, *again = NULL;
        _cleanup_free_ char *version = state_path("version"), *pf = state_path("pf"), *content = NULL,
                            *listing = NULL;
        struct stat st;

        s = open_store();
        ck_assert_str_eq(s->dir, statedir);
        ck_assert_int_eq(stat(pf, &st), 0);
        ck_assert(S_ISDIR(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0755);
        content = read_file(version);
        ck_assert_str_eq(content, "1\n");
        listing = list_dir(statedir);
        ck_assert_str_eq(listing, "pf version"); /* no temporary file left behind */

        /* opening again keeps what is there */
        again = open_store();
}
END_TEST

START_TEST(test_open_unknown_version) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *version = NULL;

        s = open_store();
        s = store_free(s);
        version = state_path("version");
        write_file(version, "2\n");
        ck_assert_int_eq(store_open(statedir, &s), -EPROTONOSUPPORT);
        ck_assert_ptr_null(s);
        write_file(version, "");
        ck_assert_int_eq(store_open(statedir, &s), -EPROTONOSUPPORT);
        /* a version without its newline is still version 1 */
        write_file(version, "1");
        s = open_store();
}
END_TEST

START_TEST(test_save_load) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(pf_config_freep) PfConfig *c = sample_config(), *loaded = NULL;
        _cleanup_free_ char *pf = state_path("pf"), *file = state_path("pf/0000:01:00.0.conf"),
                            *content = NULL, *listing = NULL, *error = NULL;
        VfPolicy p;

        c->match_driver = strdup("igb"); /* not persisted: the file name is the match */
        ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", c), 0);

        listing = list_dir(pf);
        ck_assert_str_eq(listing, "0000:01:00.0.conf");
        content = read_file(file);
        ck_assert_str_eq(content, "[PhysicalFunction]\nNumVFs=8\nDriversAutoprobe=no\n\n"
                                  "[VirtualFunction]\nVirtualFunction=2-5\nVLANId=42\nDriver=vfio-pci\n");

        ck_assert_int_eq(store_load_pf(s, "0000:01:00.0", &loaded, &error), 1);
        ck_assert_ptr_null(error);
        ck_assert_str_eq(loaded->path, file);
        ck_assert_int_eq(loaded->num_vfs, 8);
        ck_assert_int_eq(loaded->drivers_autoprobe, 0);
        ck_assert_ptr_null(loaded->match_driver);
        ck_assert(pf_config_vf_policy(loaded, 3, &p));
        ck_assert(policy_equal(&p, &c->vfs[0].policy));

        /* the short form names the same file */
        loaded = pf_config_free(loaded);
        ck_assert_int_eq(store_load_pf(s, "01:00.0", &loaded, &error), 1);
        ck_assert_int_eq(loaded->num_vfs, 8);
}
END_TEST

START_TEST(test_overwrite_leaves_no_temporaries) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(pf_config_freep) PfConfig *c = sample_config(), *loaded = NULL;
        _cleanup_free_ char *pf = state_path("pf"), *listing = NULL;

        for (int i = 0; i < 20; i++) {
                c->num_vfs = i;
                ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", c), 0);
                ck_assert_int_eq(store_save_pf(s, "0000:02:00.1", c), 0);
        }
        listing = list_dir(pf);
        ck_assert_str_eq(listing, "0000:01:00.0.conf 0000:02:00.1.conf");
        ck_assert_int_eq(store_load_pf(s, "0000:02:00.1", &loaded, NULL), 1);
        ck_assert_int_eq(loaded->num_vfs, 19);
}
END_TEST

START_TEST(test_stale_temporaries_removed) {
        _cleanup_(store_freep) Store *s = open_store(), *again = NULL;
        _cleanup_free_ char *pf = state_path("pf"), *tmp = state_path("pf/0000:01:00.0.conf.#tmp.12345"),
                            *listing = NULL;

        /* what a crash between write and rename leaves behind */
        ck_assert_ptr_nonnull(s);
        write_file(tmp, "[PhysicalF");
        again = open_store();
        listing = list_dir(pf);
        ck_assert_str_eq(listing, "");
}
END_TEST

START_TEST(test_load_absent) {
        _cleanup_(store_freep) Store *s = open_store();
        PfConfig *c = (PfConfig *) 0x1;
        char *error = (char *) 0x1;

        ck_assert_int_eq(store_load_pf(s, "0000:01:00.0", &c, &error), 0);
        ck_assert_ptr_eq(c, (PfConfig *) 0x1);
        ck_assert_ptr_eq(error, (char *) 0x1);
}
END_TEST

START_TEST(test_corrupt_moved_aside) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_free_ char *pf = state_path("pf"), *file = state_path("pf/0000:01:00.0.conf"),
                            *error = NULL, *prefix = NULL, *listing = NULL, *aside = NULL, *content = NULL;
        PfConfig *c = (PfConfig *) 0x1;
        const char *moved;

        write_file(file, "[PhysicalFunction]\nNumVFs=8\nNumV");
        ck_assert_int_eq(store_load_pf(s, "0000:01:00.0", &c, &error), -EBADMSG);
        /* never taken as empty */
        ck_assert_ptr_eq(c, (PfConfig *) 0x1);
        ck_assert_ptr_nonnull(error);

        ck_assert_int_ge(
                asprintf_safe(&prefix,
                              "Corrupt state file %s (%s:3: Expected KEY=VALUE or a [Section] header, "
                              "got neither), "
                              "moved aside to %s.corrupt-",
                              file, file, file),
                0);
        ck_assert_msg(startswith(error, prefix), "%s", error);
        moved = strstr(error, "moved aside to ") + strlen("moved aside to ");
        ck_assert_uint_gt(strspn(moved + strlen(file) + strlen(".corrupt-"), "0123456789"), 0);

        /* the evidence is kept under the new name, the original name is free */
        ck_assert_int_eq(access(file, F_OK), -1);
        content = read_file(moved);
        ck_assert_str_eq(content, "[PhysicalFunction]\nNumVFs=8\nNumV");
        listing = list_dir(pf);
        aside = strdup(moved + strlen(pf) + 1);
        ck_assert_str_eq(listing, aside);

        /* afterwards the PF has nothing stored, and a new save works */
        ck_assert_int_eq(store_load_pf(s, "0000:01:00.0", &c, NULL), 0);
}
END_TEST

/* sriovd writes regular files only: a link (to a secret, say) or a FIFO in a state file's place is
 * neither followed nor read (a FIFO hung the daemon), never taken as "nothing stored", and set aside
 * like a corrupt file; the message quotes nothing of where a link points. */
START_TEST(test_not_regular_moved_aside) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_free_ char *pf = state_path("pf"), *file = state_path("pf/0000:01:00.0.conf"),
                            *fifo = state_path("pf/0000:02:00.0.conf"), *secret = NULL, *error = NULL,
                            *error2 = NULL, *listing = NULL, *expected = NULL;
        PfConfig *c = (PfConfig *) 0x1;

        secret = path_join(tmpdir, "secret");
        write_file(secret, "[PhysicalFunction]\nNumVFs=s3cr3t\n");
        ck_assert_int_eq(symlink(secret, file), 0);
        ck_assert_int_eq(store_load_pf(s, "0000:01:00.0", &c, &error), -EBADMSG);
        ck_assert_ptr_eq(c, (PfConfig *) 0x1);
        ck_assert_int_ge(
                asprintf_safe(&expected,
                              "Corrupt state file %s (%s: is a symbolic link, refused), moved aside", file,
                              file),
                0);
        ck_assert_msg(startswith(error, expected), "%s", error);
        ck_assert(!strstr(error, "s3cr3t"));

        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(store_load_pf(s, "0000:02:00.0", &c, &error2), -EBADMSG);
        ck_assert_msg(strstr(error2, "not a regular file (a FIFO)"), "%s", error2);
        ck_assert_ptr_eq(c, (PfConfig *) 0x1);

        /* both names are free again; the link's target is untouched */
        ck_assert_int_eq(access(file, F_OK), -1);
        ck_assert_int_eq(access(fifo, F_OK), -1);
        listing = list_dir(pf);
        ck_assert_msg(strstr(listing, "0000:01:00.0.conf.corrupt-") &&
                              strstr(listing, "0000:02:00.0.conf.corrupt-"),
                      "%s", listing);
        ck_assert_int_eq(access(secret, F_OK), 0);
}
END_TEST

START_TEST(test_version_not_regular) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *version = NULL, *target = NULL;

        s = open_store();
        s = store_free(s);
        version = state_path("version");
        target = path_join(tmpdir, "version-elsewhere");
        write_file(target, "1\n");
        ck_assert_int_eq(unlink(version), 0);
        ck_assert_int_eq(symlink(target, version), 0);
        ck_assert_int_eq(store_open(statedir, &s), -ELOOP);
        ck_assert_int_eq(unlink(version), 0);
        ck_assert_int_eq(mkfifo(version, 0600), 0);
        ck_assert_int_eq(store_open(statedir, &s), -EBADFD);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_corrupt_bad_value) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_free_ char *file = state_path("pf/0000:01:00.0.conf"), *error = NULL;
        PfConfig *c = NULL;

        /* a state file is checked as strictly as /etc: a bad policy value is corrupt too */
        write_file(file, "[VirtualFunction]\nVirtualFunction=0\nVLANId=9999\n");
        ck_assert_int_eq(store_load_pf(s, "0000:01:00.0", &c, &error), -EBADMSG);
        ck_assert_msg(strstr(error, ":3: Invalid VLANId=9999"), "%s", error);
        ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_save_empty_removes) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(pf_config_freep) PfConfig *c = sample_config(), *empty = pf_config_new(NULL);
        _cleanup_free_ char *pf = state_path("pf"), *listing = NULL;

        ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", c), 0);
        ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", empty), 0);
        listing = list_dir(pf);
        ck_assert_str_eq(listing, "");
        /* nothing there: still fine */
        ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", empty), 0);
        ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", NULL), 0);

        /* a VF section without any key sets nothing either */
        empty->vfs = calloc(1, sizeof(VfSection));
        empty->n_vfs = 1;
        ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", empty), 0);
        free(listing);
        listing = list_dir(pf);
        ck_assert_str_eq(listing, "");
}
END_TEST

START_TEST(test_remove) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(pf_config_freep) PfConfig *c = sample_config();
        _cleanup_free_ char *pf = state_path("pf"), *listing = NULL;

        ck_assert_int_eq(store_save_pf(s, "0000:01:00.0", c), 0);
        ck_assert_int_eq(store_save_pf(s, "0000:01:00.1", c), 0);
        ck_assert_int_eq(store_remove_pf(s, "0000:01:00.0"), 0);
        ck_assert_int_eq(store_remove_pf(s, "0000:01:00.0"), 0);
        listing = list_dir(pf);
        ck_assert_str_eq(listing, "0000:01:00.1.conf");
}
END_TEST

/* A PF behind Intel VMD, in domain 10000: its state file is named by its full address. */
START_TEST(test_five_digit_domain) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(pf_config_freep) PfConfig *c = sample_config(), *loaded = NULL;
        _cleanup_free_ char *pf = state_path("pf"), *listing = NULL;

        ck_assert_int_eq(store_save_pf(s, "10000:E1:00.0", c), 0);
        listing = list_dir(pf);
        ck_assert_str_eq(listing, "10000:e1:00.0.conf");
        ck_assert_int_eq(store_load_pf(s, "10000:e1:00.0", &loaded, NULL), 1);
        ck_assert_int_eq(loaded->num_vfs, 8);
        ck_assert_int_eq(store_load_pf(s, "0000:e1:00.0", &loaded, NULL), 0);
        ck_assert_int_eq(store_remove_pf(s, "10000:e1:00.0"), 0);
        ck_assert_int_eq(store_save_pf(s, "100000:e1:00.0", c), -EINVAL);
}
END_TEST

START_TEST(test_invalid_address) {
        _cleanup_(store_freep) Store *s = open_store();
        _cleanup_(pf_config_freep) PfConfig *c = sample_config();
        _cleanup_free_ char *listing = NULL;
        const char *bad[] = {"",
                             "../../../etc/passwd",
                             "0000:01:00.0/../../x",
                             "..",
                             "0000:01:00.0.conf",
                             "pf/0000:01:00.0",
                             "0000:01:00.0\n"};
        PfConfig *loaded = NULL;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ck_assert_int_eq(store_save_pf(s, bad[i], c), -EINVAL);
                ck_assert_int_eq(store_load_pf(s, bad[i], &loaded, NULL), -EINVAL);
                ck_assert_int_eq(store_remove_pf(s, bad[i]), -EINVAL);
        }
        ck_assert_int_eq(store_load_pf(s, NULL, &loaded, NULL), -EINVAL);
        listing = list_dir(tmpdir);
        ck_assert_str_eq(listing, "var");
}
END_TEST

static Suite *store_suite(void) {
        Suite *s = suite_create("store");
        TCase *tc = tcase_create("store");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_open_creates_layout);
        tcase_add_test(tc, test_open_unknown_version);
        tcase_add_test(tc, test_save_load);
        tcase_add_test(tc, test_overwrite_leaves_no_temporaries);
        tcase_add_test(tc, test_stale_temporaries_removed);
        tcase_add_test(tc, test_load_absent);
        tcase_add_test(tc, test_corrupt_moved_aside);
        tcase_add_test(tc, test_corrupt_bad_value);
        tcase_add_test(tc, test_not_regular_moved_aside);
        tcase_add_test(tc, test_version_not_regular);
        tcase_add_test(tc, test_save_empty_removes);
        tcase_add_test(tc, test_remove);
        tcase_add_test(tc, test_five_digit_domain);
        tcase_add_test(tc, test_invalid_address);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(store_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
