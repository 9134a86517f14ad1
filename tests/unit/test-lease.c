/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <stdlib.h>

#include "lease.h"
#include "util.h"

#define ID "0123456789abcdef0123456789abcdef"
#define HEAD "[Lease]\nId=" ID "\nPhysicalFunction=0000:01:00.0\nVirtualFunction=2\n"

static LeaseTable table;

static int parse(const char *text, Lease **ret, char **ret_error) {
        *ret = NULL;
        *ret_error = NULL;
        return lease_journal_parse_text(&table, text, ID, ret, ret_error);
}

START_TEST(test_valid) {
        _cleanup_free_ char *error = NULL;
        Lease *l;

        ck_assert_int_eq(parse(HEAD "Consumer=vm 1 \\\\ ok\nOwner=:1.5\nOwnerBus=" ID "\nOwnerUid=1000\n"
                                    "Persistent=no\nCreatedAt=17\nApplied=yes\n\n[Saved]\nTrust=no\n\n"
                                    "[Options]\nTrust=yes\nVLANId=42\n",
                               &l, &error),
                         0);
        ck_assert_str_eq(l->id, ID);
        ck_assert_str_eq(l->pf_address, "0000:01:00.0");
        ck_assert_uint_eq(l->vf_index, 2);
        ck_assert_str_eq(l->consumer, "vm 1 \\ ok");
        ck_assert_str_eq(l->owner, ":1.5");
        ck_assert_str_eq(l->owner_bus_id, ID);
        ck_assert_uint_eq(l->owner_uid, 1000);
        ck_assert(l->applied && !l->persistent);
        ck_assert_uint_eq(l->created_at, 17);
        ck_assert(POLICY_HAS(&l->saved, POLICY_TRUST) && !l->saved.trust);
        ck_assert(POLICY_HAS(&l->options, POLICY_VLAN_ID) && l->options.vlan == 42);
        lease_free(l);
}
END_TEST

/* What an unescaped Consumer= used to let a caller write into its own journal. */
START_TEST(test_injection_refused) {
        _cleanup_free_ char *error = NULL;
        Lease *l;

        ck_assert_int_eq(parse(HEAD
                               "Consumer=vm\nPhysicalFunction=0000:02:00.0\nVirtualFunction=3\n[Saved]\n"
                               "Trust=yes\nMACSpoofCheck=no\n[Lease]\nOwner=\nPersistent=yes\nApplied=yes\n"
                               "[Saved]\nDriver=\n[Options]\nDriver=vfio-pci\n",
                               &l, &error),
                         -EBADMSG);
        ck_assert_ptr_nonnull(strstr(error, "line 6: PhysicalFunction= given twice"));
        ck_assert_ptr_null(l); /* neither VF is beyond doubt: nothing to restore */
}
END_TEST

START_TEST(test_refusals) {
        static const struct {
                const char *text, *error;
        } cases[] = {
                {HEAD "[Saved]\nTrust=yes\n[Saved]\n", "section [Saved] given twice"},
                {"[Saved]\nTrust=yes\n" HEAD, "[Lease] must come first"},
                {HEAD "[Bogus]\n", "unknown section [Bogus]"},
                {HEAD "Frobnicate=1\n", "unknown key Frobnicate"},
                {HEAD "Consumer=a\\x01b\n", "invalid Consumer="},
                {HEAD "Consumer=a\\qb\n", "invalid escape"},
                {HEAD "Consumer=a\\x00b\n", "invalid escape"},
                {HEAD "[Options]\nTrust=yes\nTrust=no\n", "Trust= given twice"},
                {HEAD "CreatedAt=12abc\n", "invalid CreatedAt="},
                {HEAD "OwnerBus=xyz\n", "invalid OwnerBus="},
                {"[Lease]\nId=" ID "\nVirtualFunction=1\n", "missing"},
                {"[Lease]\nId=fedcba9876543210fedcba9876543210\nPhysicalFunction=01:00.0\nVirtualFunction="
                 "1\n",
                 "is not the file's name"},
                {HEAD "just words\n", "expected a key=value"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *error = NULL;
                Lease *l;

                ck_assert_int_eq(parse(cases[i].text, &l, &error), -EBADMSG);
                ck_assert_msg(error && strstr(error, cases[i].error), "case %zu: '%s' lacks '%s'", i,
                              strempty(error), cases[i].error);
                lease_free(l);
        }
}
END_TEST

START_TEST(test_salvage) {
        _cleanup_free_ char *error = NULL;
        Lease *l;

        /* the VF is beyond doubt; of the recorded keys, the one given twice is not */
        ck_assert_int_eq(parse(HEAD "Junk\n[Saved]\nTrust=no\nVLANId=7\nVLANId=8\n[Options]\nTrust=yes\n",
                               &l, &error),
                         -EBADMSG);
        ck_assert_ptr_nonnull(l);
        ck_assert_str_eq(l->pf_address, "0000:01:00.0");
        ck_assert_uint_eq(l->vf_index, 2);
        ck_assert(POLICY_HAS(&l->saved, POLICY_TRUST));
        ck_assert(!POLICY_HAS(&l->saved, POLICY_VLAN_ID));
        ck_assert_uint_eq(l->options.set, 0);
        ck_assert_str_ne(l->id, ID);
        lease_free(l);
}
END_TEST

/* A Consumer= with blanks at its end reads back as it was written (found by fuzzing: the reader strips
 * them off the line). */
START_TEST(test_trailing_blanks) {
        _cleanup_free_ char *dir = strdup("/tmp/test-lease-XXXXXX"), *path = NULL, *text = NULL,
                            *error = NULL;
        static ChangeQueue changes;
        LeaseTable t;
        Lease *l, *again;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(lease_table_init(&t, &changes, dir), 0);
        ck_assert_int_eq(lease_new(&t, &l), 0);
        memcpy(l->pf_address, "0000:01:00.0", sizeof "0000:01:00.0");
        l->consumer = strdup("vm 1  ");
        ck_assert_ptr_nonnull(l->consumer);
        ck_assert_int_eq(lease_journal_save(&t, l), 0);

        ck_assert_int_ge(asprintf_safe(&path, "%s/%s.lease", t.dir, l->id), 0);
        ck_assert_int_ge(read_full_file(path, 65536, &text, NULL), 0);
        ck_assert_ptr_nonnull(strstr(text, "\nConsumer=vm 1\\x20\\x20\n"));
        ck_assert_int_eq(lease_journal_parse_text(&t, text, l->id, &again, &error), 0);
        ck_assert_str_eq(again->consumer, "vm 1  ");

        lease_journal_remove(&t, l);
        ck_assert_int_eq(rmdir(t.dir), 0);
        ck_assert_int_eq(rmdir(dir), 0);
        lease_free(again);
        lease_free(l);
        lease_table_done(&t);
}
END_TEST

/* A VF without a MAC address of its own (igb's after creation) reads 00:00:00:00:00:00: recorded in
 * [Saved] so that the release puts it back, and read back as such by the next sriovd, which must keep
 * the lease instead of taking the journal for corrupt (found by the package upgrade in tests/vm). An
 * all-zero MAC a lease asks for is still refused. */
START_TEST(test_saved_zero_mac) {
        _cleanup_free_ char *dir = strdup("/tmp/test-lease-XXXXXX"), *path = NULL, *text = NULL,
                            *error = NULL;
        static ChangeQueue changes;
        static const struct ether_addr zero = {}, mac = {{0x02, 0, 0, 0, 0x91, 0x01}};
        LeaseTable t;
        Lease *l, *again;

        ck_assert_ptr_nonnull(mkdtemp(dir));
        ck_assert_int_eq(lease_table_init(&t, &changes, dir), 0);
        ck_assert_int_eq(lease_new(&t, &l), 0);
        memcpy(l->pf_address, "0000:01:00.0", sizeof "0000:01:00.0");
        ck_assert_int_eq(policy_set_from_string(&l->options, POLICY_MAC_ADDRESS, "02:00:00:00:91:01", NULL),
                         0);
        l->saved.mac = zero;
        l->saved.set |= UINT32_C(1) << POLICY_MAC_ADDRESS;
        l->applied = true;
        ck_assert_int_eq(lease_journal_save(&t, l), 0);

        ck_assert_int_ge(asprintf_safe(&path, "%s/%s.lease", t.dir, l->id), 0);
        ck_assert_int_ge(read_full_file(path, 65536, &text, NULL), 0);
        ck_assert_ptr_nonnull(strstr(text, "[Saved]\nMACAddress=00:00:00:00:00:00\n"));
        ck_assert_int_eq(lease_journal_parse_text(&t, text, l->id, &again, &error), 0);
        ck_assert_ptr_null(error);
        ck_assert(POLICY_HAS(&again->saved, POLICY_MAC_ADDRESS));
        ck_assert(memcmp(&again->saved.mac, &zero, sizeof zero) == 0);
        ck_assert(POLICY_HAS(&again->options, POLICY_MAC_ADDRESS));
        ck_assert(memcmp(&again->options.mac, &mac, sizeof mac) == 0);
        lease_free(again);

        ck_assert_int_eq(
                parse(HEAD
                      "[Saved]\nMACAddress=00:00:00:00:00:00\n[Options]\nMACAddress=00:00:00:00:00:00\n",
                      &again, &error),
                -EBADMSG);
        ck_assert_ptr_nonnull(
                strstr(error, "line 8: Invalid MACAddress=00:00:00:00:00:00: must not be all zeros"));
        lease_free(again);

        lease_journal_remove(&t, l);
        ck_assert_int_eq(rmdir(t.dir), 0);
        ck_assert_int_eq(rmdir(dir), 0);
        lease_free(l);
        lease_table_done(&t);
}
END_TEST

START_TEST(test_string_is_safe) {
        ck_assert(string_is_safe("", 4));
        ck_assert(string_is_safe("vm-12", 5));
        ck_assert(!string_is_safe("vm-123", 5));
        ck_assert(string_is_safe("名前ü", 3));
        ck_assert(!string_is_safe("a\nb", 10));
        ck_assert(!string_is_safe("a\tb", 10));
        ck_assert(!string_is_safe("a\x7f", 10));
        ck_assert(!string_is_safe("\xc2\x85", 10)); /* NEL, a C1 control */
        ck_assert(!string_is_safe("\xc0\xaf", 10)); /* overlong '/' */
        ck_assert(!string_is_safe("\xed\xa0\x80", 10)); /* a surrogate */
        ck_assert(!string_is_safe("\xff", 10));
        ck_assert(!string_is_safe("\xe4\xb8", 10)); /* cut short */
        ck_assert(!string_is_safe(NULL, 10));
}
END_TEST

static Suite *lease_suite(void) {
        Suite *s = suite_create("lease");
        TCase *tc = tcase_create("journal");

        tcase_add_test(tc, test_valid);
        tcase_add_test(tc, test_injection_refused);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_salvage);
        tcase_add_test(tc, test_trailing_blanks);
        tcase_add_test(tc, test_saved_zero_mac);
        tcase_add_test(tc, test_string_is_safe);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(lease_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
