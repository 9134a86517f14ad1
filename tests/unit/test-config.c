/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

static char tmpdir[64];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void tmp_setup(void) {
        /* a fresh template each time: with CK_FORK=no every test runs in this process */
        strcpy(tmpdir, "/tmp/test-config-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmp_teardown(void) {
        nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *make_path(const char *rel) {
        char *p = path_join(tmpdir, rel);
        ck_assert_ptr_nonnull(p);
        return p;
}

static void write_file(const char *rel, const char *content) {
        _cleanup_free_ char *p = make_path(rel), *dir = strdup(p);
        FILE *f;

        /* create every parent directory */
        for (char *s = dir + strlen(tmpdir) + 1; (s = strchr(s, '/')); s++) {
                *s = 0;
                ck_assert(mkdir(dir, 0755) == 0 || errno == EEXIST);
                *s = '/';
        }
        f = fopen(p, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(content, f) >= 0, 1);
        ck_assert_int_eq(fclose(f), 0);
}

static bool endswith_str(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

static PfConfig *parse_ok(const char *text) {
        _cleanup_free_ char *error = NULL;
        PfConfig *c = NULL;
        int r;

        r = pf_config_parse_string("test.conf", text, true, &c, &error, NULL);
        ck_assert_msg(r == 0, "unexpected failure %d: %s", r, strempty(error));
        ck_assert_ptr_nonnull(c);
        ck_assert_ptr_null(error);
        return c;
}

/* Every refused text must name file and line, and say something about the key. */
static void parse_bad(const char *text, unsigned line, const char *needle) {
        _cleanup_free_ char *error = NULL, *prefix = NULL;
        PfConfig *c = (PfConfig *) 0x1;
        int r;

        r = pf_config_parse_string("bad.conf", text, true, &c, &error, NULL);
        ck_assert_msg(r == -EBADMSG, "\"%s\" was accepted (%d)", text, r);
        ck_assert_ptr_eq(c, (PfConfig *) 0x1);
        ck_assert_ptr_nonnull(error);
        ck_assert_int_ge(asprintf_safe(&prefix, "bad.conf:%u: ", line), 0);
        ck_assert_msg(startswith(error, prefix), "\"%s\": expected prefix \"%s\", got \"%s\"", text, prefix,
                      error);
        ck_assert_msg(strstr(error, needle), "\"%s\": expected \"%s\" in \"%s\"", text, needle, error);
}

#define MATCH "[Match]\nPciAddress=0000:01:00.0\n"

START_TEST(test_parse_full) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        VfPolicy p;
        char m[18];

        c = parse_ok("# a comment\n"
                     "; another one\n"
                     "\n"
                     "[Match]\n"
                     "PciAddress = 01:00.0\n"
                     "  Interface=enp1s0*  \n"
                     "Driver=igb\n"
                     "VendorDevice=8086:10C9\n"
                     "PermanentMACAddress=52:54:00:AB:CD:EF\n"
                     "\n"
                     "[PhysicalFunction]\n"
                     "NumVFs=7\n"
                     "DriversAutoprobe=no\n"
                     "\n"
                     "[VirtualFunction]\n"
                     "VirtualFunction=0-3\n"
                     "VLANId=42\n"
                     "QualityOfService=3\n"
                     "Trust=yes\n"
                     "\n"
                     "[VirtualFunction]\n"
                     "VirtualFunction=2\n"
                     "MACAddress=02:00:00:00:00:02\n"
                     "VLANId=7\n"
                     "Driver=vfio-pci\n");
        ck_assert_str_eq(c->path, "test.conf");
        ck_assert(c->has_match_section);
        ck_assert_str_eq(c->match_pci_address, "0000:01:00.0");
        ck_assert_str_eq(c->match_interface, "enp1s0*");
        ck_assert_str_eq(c->match_driver, "igb");
        ck_assert(c->match_vendor_device);
        ck_assert_uint_eq(c->match_vendor, 0x8086);
        ck_assert_uint_eq(c->match_device, 0x10c9);
        ck_assert(c->match_permanent_mac);
        ck_assert_str_eq(policy_format_mac(&c->match_permanent_mac_addr, m), "52:54:00:ab:cd:ef");
        ck_assert_int_eq(c->num_vfs, 7);
        ck_assert_int_eq(c->drivers_autoprobe, 0);
        ck_assert_uint_eq(c->n_vfs, 2);
        ck_assert_uint_eq(c->vfs[0].first, 0);
        ck_assert_uint_eq(c->vfs[0].last, 3);
        ck_assert_uint_eq(c->vfs[0].line, 15);
        ck_assert_uint_eq(c->vfs[1].first, 2);
        ck_assert_uint_eq(c->vfs[1].last, 2);
        ck_assert_uint_eq(c->vfs[1].line, 21);

        /* later sections override earlier ones key by key */
        ck_assert(pf_config_vf_policy(c, 2, &p));
        ck_assert_uint_eq(p.vlan, 7);
        ck_assert_uint_eq(p.qos, 3);
        ck_assert(p.trust);
        ck_assert_str_eq(p.driver, "vfio-pci");
        ck_assert_str_eq(policy_format_mac(&p.mac, m), "02:00:00:00:00:02");

        ck_assert(pf_config_vf_policy(c, 3, &p));
        ck_assert_uint_eq(p.vlan, 42);
        ck_assert(!POLICY_HAS(&p, POLICY_MAC_ADDRESS));
        ck_assert(!POLICY_HAS(&p, POLICY_DRIVER));

        ck_assert(!pf_config_vf_policy(c, 4, &p));
        ck_assert(policy_is_empty(&p));
}
END_TEST

START_TEST(test_parse_defaults_and_last_wins) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *d = NULL;

        c = parse_ok("[Match]\nInterface=eth0\n");
        ck_assert_int_eq(c->num_vfs, -1);
        ck_assert_int_eq(c->drivers_autoprobe, -1);
        ck_assert_uint_eq(c->n_vfs, 0);
        ck_assert_ptr_null(c->match_pci_address);
        ck_assert(!c->match_vendor_device);

        /* CRLF and no final newline are fine */
        d = parse_ok("[Match]\r\nInterface=eth1\r\n[PhysicalFunction]\r\nNumVFs=2\r\n"
                     "DriversAutoprobe=1");
        ck_assert_str_eq(d->match_interface, "eth1");
        ck_assert_int_eq(d->num_vfs, 2);
        ck_assert_int_eq(d->drivers_autoprobe, 1);
}
END_TEST

START_TEST(test_parse_errors) {
        /* structure */
        parse_bad("[Foo]\n", 1, "Unknown section [Foo]");
        parse_bad(MATCH "[match]\n", 3, "Unknown section [match]");
        parse_bad(MATCH "[Match\n", 3, "Invalid section header");
        parse_bad("NumVFs=3\n" MATCH, 1, "Assignment outside of any section");
        parse_bad(MATCH "just words\n", 3, "Expected KEY=VALUE or a [Section] header, got neither");
        parse_bad(MATCH "=5\n", 3, "Missing key");
        parse_bad("[PhysicalFunction]\nNumVFs=1\n", 1, "[Match] section with at least one key is required");
        parse_bad("[Match]\n[PhysicalFunction]\nNumVFs=1\n", 1,
                  "[Match] section with at least one key is required");
        parse_bad("", 1, "[Match] section with at least one key is required");

        /* [Match] */
        parse_bad("[Match]\nPciAddress=zz:00.0\n", 2, "PciAddress=zz:00.0");
        parse_bad("[Match]\nPciAddress=0000:01:00.0.1\n", 2, "PciAddress=");
        parse_bad("[Match]\n\n\nVendorDevice=8086\n", 4, "VendorDevice=8086");
        parse_bad("[Match]\nVendorDevice=8086:12345\n", 2, "VendorDevice=");
        parse_bad("[Match]\nVendorDevice=xyz:1234\n", 2, "VendorDevice=");
        parse_bad("[Match]\nPermanentMACAddress=52:54:00\n", 2, "PermanentMACAddress=52:54:00");
        parse_bad("[Match]\nInterface=\n", 2, "Interface=");
        parse_bad("[Match]\nName=eth0\n", 2, "Unknown key Name= in section [Match]");

        /* [PhysicalFunction] */
        parse_bad(MATCH "[PhysicalFunction]\nNumVFs=-1\n", 4, "Invalid NumVFs=-1");
        parse_bad(MATCH "[PhysicalFunction]\nNumVFs=abc\n", 4, "Invalid NumVFs=abc");
        parse_bad(MATCH "[PhysicalFunction]\nNumVFs=65536\n", 4, "Invalid NumVFs=65536");
        parse_bad(MATCH "[PhysicalFunction]\nNumVFs=\n", 4, "Invalid NumVFs=");
        parse_bad(MATCH "[PhysicalFunction]\nDriversAutoprobe=maybe\n", 4, "Invalid DriversAutoprobe=maybe");
        parse_bad(MATCH "[PhysicalFunction]\nVLANId=1\n", 4,
                  "Unknown key VLANId= in section [PhysicalFunction]");

        /* [VirtualFunction] structure */
        parse_bad(MATCH "[VirtualFunction]\nVLANId=3\nVirtualFunction=0\n", 4,
                  "VLANId= before VirtualFunction=");
        parse_bad(MATCH "[VirtualFunction]\n[PhysicalFunction]\nNumVFs=1\n", 3,
                  "[VirtualFunction] section without VirtualFunction=");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\n\n[VirtualFunction]\n# empty\n", 6,
                  "[VirtualFunction] section without VirtualFunction=");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=5-3\n", 4, "VirtualFunction=5-3");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=4096\n", 4, "VirtualFunction=4096");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0-4096\n", 4, "VirtualFunction=0-4096");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=a\n", 4, "VirtualFunction=a");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=1-\n", 4, "VirtualFunction=1-");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=-1\n", 4, "VirtualFunction=-1");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=\n", 4, "VirtualFunction=");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=1\nVirtualFunction=2\n", 5, "given twice");

        /* [VirtualFunction] values */
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nVLANId=5000\n", 5,
                  "Invalid VLANId=5000: must be between 0 and 4095");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nvlan=5\n", 5, "full name VLANId=");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nFoo=5\n", 5,
                  "Unknown key Foo= in section [VirtualFunction]");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nMACAddress=01:00:5e:00:00:01\n", 5,
                  "MACAddress=01:00:5e:00:00:01");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nQualityOfService=8\n", 5,
                  "QualityOfService=8");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nTrust=perhaps\n", 5, "Trust=perhaps");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nLinkState=up\n", 5, "LinkState=up");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nVLANProtocol=802.1x\n", 5,
                  "VLANProtocol=802.1x");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nDriver=vfio/pci\n", 5, "Driver=vfio/pci");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nVLANId=\n", 5, "VLANId=");
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0\nMaxTxRate=100\nMinTxRate=200\n", 6,
                  "MinTxRate=200: must not exceed MaxTxRate=100");
        /* sections that are fine alone but contradict each other where they overlap */
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=0-7\nMaxTxRate=100\n"
                        "[VirtualFunction]\nVirtualFunction=4\nMinTxRate=200\n",
                  6, "VirtualFunction 4: Invalid MinTxRate=200");
}
END_TEST

/* A message names the file, the line and what is wrong, and quotes nothing of a line that is not a
 * well-formed configuration line: the file may be a link to a secret, and the message goes to
 * LastError, which every bus user can read. */
/* Repeated sections and keys: one rule each, as sriovd.conf(5) says. */
START_TEST(test_network_managed_vfs) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *d = NULL;

        /* a list of indexes and ranges, adding up; an empty value clears it */
        c = parse_ok(MATCH "[PhysicalFunction]\nNetworkManagedVFs=9\nNetworkManagedVFs=\n"
                           "NetworkManagedVFs=1 4-6\n[PhysicalFunction]\nNetworkManagedVFs=0\n");
        ck_assert_uint_eq(c->n_network_managed_vfs, 3);
        for (unsigned i = 0; i < 10; i++)
                ck_assert_int_eq(pf_config_vf_network_managed(c, i), i == 0 || i == 1 || (i >= 4 && i <= 6));
        d = parse_ok(MATCH "[PhysicalFunction]\nNumVFs=2\n");
        ck_assert(!pf_config_vf_network_managed(d, 0));
        ck_assert(!pf_config_vf_network_managed(NULL, 0));

        parse_bad(MATCH "[PhysicalFunction]\nNetworkManagedVFs=1 x\n", 4,
                  "Invalid NetworkManagedVFs=: 'x' is no VF index N or range N-M");
        parse_bad(MATCH "[PhysicalFunction]\nNetworkManagedVFs=5-2\n", 4,
                  "Invalid NetworkManagedVFs=: '5-2': the first index of a range must not exceed the last");
        parse_bad(MATCH "[PhysicalFunction]\nNetworkManagedVFs=4096\n", 4,
                  "Invalid NetworkManagedVFs=: '4096': VF indexes go up to 4095");
}
END_TEST

START_TEST(test_duplicates) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *d = NULL, *e = NULL, *partial = NULL;
        _cleanup_free_ char *error = NULL;
        VfPolicy p;

        /* a second [Match] is an error: two files run together, or conditions split in two */
        parse_bad("[Match]\nInterface=eth0\n[PhysicalFunction]\nNumVFs=2\n[Match]\nDriver=igb\n", 5,
                  "Duplicate [Match] section (the first is on line 1)");
        parse_bad("[Match]\n[Match]\nDriver=igb\n", 2, "Duplicate [Match] section (the first is on line 1)");
        /* a [Match] key given twice is an error, even with the same value: "either", "both" or "the
         * last" cannot be told */
        parse_bad("[Match]\nInterface=eth0\nInterface=eth1\n", 3,
                  "Interface= given twice in [Match] (first on line 2)");
        parse_bad("[Match]\nPciAddress=01:00.0\nDriver=igb\nPciAddress=0000:01:00.0\n", 4,
                  "PciAddress= given twice in [Match] (first on line 2)");
        parse_bad("[Match]\nVendorDevice=8086:1572\n\n# again\nVendorDevice=8086:1572\n", 5,
                  "VendorDevice= given twice");
        /* an ambiguous [Match] is pinned on no PF */
        ck_assert_int_eq(pf_config_parse_string("x.conf",
                                                "[Match]\nPciAddress=01:00.0\n[Match]\nPciAddress=02:00.0\n",
                                                true, NULL, &error, &partial),
                         -EBADMSG);
        ck_assert_ptr_null(partial);

        /* [PhysicalFunction] may come more than once: one section in effect, the last value of a key
         * wins */
        c = parse_ok(MATCH "[PhysicalFunction]\nNumVFs=2\nDriversAutoprobe=no\n"
                           "[VirtualFunction]\nVirtualFunction=0\nTrust=yes\n"
                           "[PhysicalFunction]\nNumVFs=4\nNumVFs=6\n");
        ck_assert_int_eq(c->num_vfs, 6);
        ck_assert_int_eq(c->drivers_autoprobe, 0);
        /* but a list adds up, an empty value clears it */
        pf_config_free(c);
        c = parse_ok(MATCH "[PhysicalFunction]\nLeaseDrivers=igbvf\n[PhysicalFunction]\nLeaseDrivers=\n"
                           "LeaseDrivers=mlx5_core\n[PhysicalFunction]\nLeaseDrivers=iavf\n");
        ck_assert_uint_eq(strv_length(c->lease_drivers), 2);
        ck_assert_str_eq(c->lease_drivers[0], "mlx5_core");
        ck_assert_str_eq(c->lease_drivers[1], "iavf");

        /* a key repeated in a [VirtualFunction] section: the last value wins, and the section is
         * checked as it ends up, not on the way */
        d = parse_ok(MATCH "[VirtualFunction]\nVirtualFunction=1\nVLANId=1\nMinTxRate=200\nMaxTxRate=100\n"
                           "VLANId=2\nMaxTxRate=300\n");
        ck_assert(pf_config_vf_policy(d, 1, &p));
        ck_assert_uint_eq(p.vlan, 2);
        ck_assert_uint_eq(p.min_tx_rate, 200);
        ck_assert_uint_eq(p.max_tx_rate, 300);
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=1\nMaxTxRate=300\nMinTxRate=200\nVLANId=3\n"
                        "MaxTxRate=100\nTrust=yes\n",
                  8, "Invalid MinTxRate=200: must not exceed MaxTxRate=100");

        /* sections for the same VFs combine, later ones winning key by key */
        e = parse_ok(MATCH "[VirtualFunction]\nVirtualFunction=0-3\nVLANId=5\nTrust=yes\n"
                           "[VirtualFunction]\nVirtualFunction=0-3\nVLANId=6\n");
        ck_assert(pf_config_vf_policy(e, 3, &p));
        ck_assert_uint_eq(p.vlan, 6);
        ck_assert(p.trust);

        /* VirtualFunction= starts its section and is given once in it */
        parse_bad(MATCH "[VirtualFunction]\nVirtualFunction=1\nVirtualFunction=2\n", 5, "given twice");
}
END_TEST

START_TEST(test_errors_quote_no_content) {
        static const struct {
                const char *text;
                unsigned line;
                const char *secret;
        } cases[] = {
                {"root:$6$s3cr3t$hash:19000:0:99999:7:::\n", 1, "s3cr3t"},
                {"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n", 1, "OPENSSH"},
                {"c2VjcmV0IHRva2Vu==\n", 1, "c2VjcmV0IHRva2Vu"},
                {"DB_PASSWORD=hunter2\n", 1, "hunter2"},
                {"DB_PASSWORD=hunter2\n", 1, "DB_PASSWORD"},
                {"=hunter2\n", 1, "hunter2"},
                {"[hunter2 is the password\n", 1, "hunter2"},
                {"[Match]\nhunter2 is the password\n", 2, "hunter2"},
                {"[Match]\nPciAddress=01:00.0\n[hunter2 is the password\n", 3, "hunter2"},
                {"[s3cr3t/t0ken]\n", 1, "s3cr3t"},
                {"[Match]\ns3cr3t/t0ken=x\n", 2, "s3cr3t"},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *error = NULL, *prefix = NULL;

                ck_assert_int_eq(
                        pf_config_parse_string("leak.conf", cases[i].text, true, NULL, &error, NULL),
                        -EBADMSG);
                ck_assert_int_ge(asprintf_safe(&prefix, "leak.conf:%u: ", cases[i].line), 0);
                ck_assert_msg(startswith(error, prefix), "%s", error);
                ck_assert_msg(!strstr(error, cases[i].secret), "\"%s\" quotes \"%s\": %s", cases[i].text,
                              cases[i].secret, error);
        }
}
END_TEST

START_TEST(test_overlapping_ranges) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        VfPolicy p;

        c = parse_ok(MATCH "[VirtualFunction]\nVirtualFunction=0-7\nVLANId=10\nTrust=no\n"
                           "[VirtualFunction]\nVirtualFunction=4-5\nVLANId=20\n"
                           "[VirtualFunction]\nVirtualFunction=5-9\nTrust=yes\n");
        ck_assert(pf_config_vf_policy(c, 0, &p));
        ck_assert_uint_eq(p.vlan, 10);
        ck_assert(!p.trust);
        ck_assert(pf_config_vf_policy(c, 4, &p));
        ck_assert_uint_eq(p.vlan, 20);
        ck_assert(!p.trust);
        ck_assert(pf_config_vf_policy(c, 5, &p));
        ck_assert_uint_eq(p.vlan, 20);
        ck_assert(p.trust);
        ck_assert(pf_config_vf_policy(c, 9, &p));
        ck_assert(!POLICY_HAS(&p, POLICY_VLAN_ID));
        ck_assert(p.trust);
        ck_assert(!pf_config_vf_policy(c, 10, &p));
}
END_TEST

/* 4096 overlapping [VirtualFunction] sections, as many as a file may have: their merged policies are
 * checked stretch by stretch (this took seconds when every section was merged into every stretch). */
START_TEST(test_many_overlapping_sections) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *d = NULL;
        _cleanup_free_ char *text = NULL, *bad = NULL, *error = NULL;
        VfPolicy p;

        /* section i covers i-4095: VF x is in sections 0..x, and section x decides its VLAN */
        text = strdup(MATCH);
        ck_assert_ptr_nonnull(text);
        for (unsigned i = 0; i <= 4095; i++)
                ck_assert_int_eq(strextend_sep(&text, NULL,
                                               "[VirtualFunction]\nVirtualFunction=%u-4095\nVLANId=%u\n%s",
                                               i, i + 1 > 4095 ? 4095 : i + 1,
                                               i == 0   ? "MaxTxRate=1000\nTrust=yes\n"
                                               : i == 7 ? "MinTxRate=1000\n"
                                               : i == 9 ? "Trust=no\n"
                                                        : ""),
                                 0);
        c = parse_ok(text);
        ck_assert_uint_eq(c->n_vfs, 4096);
        ck_assert(pf_config_vf_policy(c, 0, &p));
        ck_assert_uint_eq(p.vlan, 1);
        ck_assert(p.trust);
        ck_assert(!POLICY_HAS(&p, POLICY_MIN_TX_RATE));
        ck_assert(pf_config_vf_policy(c, 8, &p));
        ck_assert_uint_eq(p.vlan, 9);
        ck_assert_uint_eq(p.min_tx_rate, 1000);
        ck_assert_uint_eq(p.max_tx_rate, 1000);
        ck_assert(p.trust);
        ck_assert(pf_config_vf_policy(c, 4095, &p));
        ck_assert_uint_eq(p.vlan, 4095);
        ck_assert(!p.trust);

        /* one rate too many, in section 2000 (VFs 2000-4095), against section 0's MaxTxRate: the
         * error names the first VF where they meet and the line of the last section covering it */
        bad = strdup(text);
        ck_assert_ptr_nonnull(bad);
        ck_assert_int_eq(strextend_sep(&bad, NULL, "[VirtualFunction]\nVirtualFunction=4095\nVLANId=1\n"),
                         0);
        ck_assert_int_eq(pf_config_parse_string("many.conf", bad, true, &d, &error, NULL), -EBADMSG);
        ck_assert_msg(strstr(error, "Too many [VirtualFunction] sections"), "%s", error);
        error = mfree(error);
        free(bad);
        bad = strdup(text);
        ck_assert_ptr_nonnull(bad);
        {
                char *s = strstr(bad, "[VirtualFunction]\nVirtualFunction=2000-4095\nVLANId=2001\n");
                _cleanup_free_ char *fixed = NULL, *prefix = NULL;
                unsigned line = 1;

                ck_assert_ptr_nonnull(s);
                for (const char *q = bad; q < s; q++)
                        line += *q == '\n';
                s += strlen("[VirtualFunction]\nVirtualFunction=2000-4095\nVLANId=2001\n");
                ck_assert_int_ge(asprintf_safe(&fixed, "%.*sMinTxRate=1001\n%s", (int) (s - bad), bad, s),
                                 0);
                ck_assert_int_eq(pf_config_parse_string("many.conf", fixed, true, &d, &error, NULL),
                                 -EBADMSG);
                ck_assert_int_ge(asprintf_safe(&prefix,
                                               "many.conf:%u: VirtualFunction 2000: Invalid MinTxRate=1001",
                                               line),
                                 0);
                ck_assert_msg(startswith(error, prefix), "%s", error);
        }
}
END_TEST

/* The stretch-by-stretch check against the obvious one: every VF index merged from every section
 * (pf_config_vf_policy()), on random ranges. */
START_TEST(test_overlap_check_matches_per_index) {
        unsigned seed = 1;

        for (unsigned round = 0; round < 40; round++) {
                _cleanup_(pf_config_freep) PfConfig *c = NULL, *ref = pf_config_new(NULL);
                _cleanup_free_ char *text = strdup(MATCH), *error = NULL, *expected = NULL;
                unsigned n = 1 + rand_r(&seed) % 200, max_index = 1 + rand_r(&seed) % 300, line = 3;
                unsigned *lines = calloc(n, sizeof(unsigned));
                int r;

                ck_assert_ptr_nonnull(text);
                ck_assert_ptr_nonnull(ref);
                ck_assert_ptr_nonnull(lines);
                ref->vfs = calloc(n, sizeof(VfSection));
                ck_assert_ptr_nonnull(ref->vfs);
                ref->n_vfs = n;
                for (unsigned i = 0; i < n; i++) {
                        VfSection *v = &ref->vfs[i];
                        unsigned a = rand_r(&seed) % max_index, b = rand_r(&seed) % max_index;

                        v->first = MIN(a, b);
                        v->last = MAX(a, b);
                        lines[i] = line;
                        ck_assert_int_eq(strextend_sep(&text, NULL,
                                                       "[VirtualFunction]\nVirtualFunction=%u-%u\n",
                                                       v->first, v->last),
                                         0);
                        line += 2;
                        /* each section valid alone: one rate each, mostly */
                        switch (rand_r(&seed) % 4) {
                        case 0:
                                v->policy.min_tx_rate = rand_r(&seed) % 1000;
                                v->policy.set |= UINT32_C(1) << POLICY_MIN_TX_RATE;
                                ck_assert_int_eq(
                                        strextend_sep(&text, NULL, "MinTxRate=%u\n", v->policy.min_tx_rate),
                                        0);
                                line++;
                                break;
                        case 1:
                                v->policy.max_tx_rate = rand_r(&seed) % 1000 + (round % 2 ? 990 : 500);
                                v->policy.set |= UINT32_C(1) << POLICY_MAX_TX_RATE;
                                ck_assert_int_eq(
                                        strextend_sep(&text, NULL, "MaxTxRate=%u\n", v->policy.max_tx_rate),
                                        0);
                                line++;
                                break;
                        default:
                                v->policy.vlan = i;
                                v->policy.set |= UINT32_C(1) << POLICY_VLAN_ID;
                                ck_assert_int_eq(strextend_sep(&text, NULL, "VLANId=%u\n", i), 0);
                                line++;
                        }
                }

                /* the first VF whose merged policy contradicts itself, and the last section covering it */
                for (unsigned x = 0; x < max_index && !expected; x++) {
                        _cleanup_free_ char *msg = NULL;
                        VfPolicy p;

                        if (!pf_config_vf_policy(ref, x, &p) || policy_validate(&p, &msg) >= 0)
                                continue;
                        for (unsigned i = 0; i < n; i++)
                                if (x >= ref->vfs[i].first && x <= ref->vfs[i].last)
                                        line = lines[i];
                        ck_assert_int_ge(
                                asprintf_safe(&expected, "r.conf:%u: VirtualFunction %u: %s", line, x, msg),
                                0);
                }

                r = pf_config_parse_string("r.conf", text, true, &c, &error, NULL);
                if (!expected) {
                        ck_assert_msg(r == 0, "round %u: %s", round, strempty(error));
                        for (unsigned x = 0; x < max_index; x++) {
                                VfPolicy p, q;

                                ck_assert_int_eq(pf_config_vf_policy(c, x, &p),
                                                 pf_config_vf_policy(ref, x, &q));
                                ck_assert(policy_equal(&p, &q));
                        }
                } else {
                        ck_assert_int_eq(r, -EBADMSG);
                        ck_assert_msg(startswith(error, expected), "round %u: expected \"%s\", got \"%s\"",
                                      round, expected, error);
                }
                free(lines);
        }
}
END_TEST

START_TEST(test_require_match_off) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        _cleanup_free_ char *error = NULL;

        ck_assert_int_eq(pf_config_parse_string("state.conf", "[PhysicalFunction]\nNumVFs=3\n", false, &c,
                                                &error, NULL),
                         0);
        ck_assert_int_eq(c->num_vfs, 3);
        ck_assert(!c->has_match_section);
}
END_TEST

START_TEST(test_partial) {
        _cleanup_(pf_config_freep) PfConfig *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL;
        _cleanup_free_ char *e1 = NULL, *e2 = NULL, *e3 = NULL, *e4 = NULL;
        PfConfig *c = NULL;

        /* error after a good [Match]: the match survives for pinning the error on the PF */
        ck_assert_int_eq(pf_config_parse_string("a.conf",
                                                "[Match]\nPciAddress=01:00.0\nDriver=igb\n"
                                                "[PhysicalFunction]\nNumVFs=many\n",
                                                true, &c, &e1, &p1),
                         -EBADMSG);
        ck_assert_ptr_null(c);
        ck_assert_str_eq(e1, "a.conf:5: Invalid NumVFs=many: must be a number between 0 and 65535");
        ck_assert_ptr_nonnull(p1);
        ck_assert_str_eq(p1->path, "a.conf");
        ck_assert_str_eq(p1->match_pci_address, "0000:01:00.0");
        ck_assert_str_eq(p1->match_driver, "igb");
        ck_assert_int_eq(p1->num_vfs, -1);
        ck_assert_uint_eq(p1->n_vfs, 0);
        ck_assert(pf_config_matches(p1, &(PfMatchInfo){.pci_address = "0000:01:00.0", .driver = "igb"}));

        /* the error is in [Match] itself: nothing to pin it on */
        ck_assert_int_eq(pf_config_parse_string("b.conf",
                                                "[Match]\nPciAddress=nope\n[PhysicalFunction]\nNumVFs=1\n",
                                                true, &c, &e2, &p2),
                         -EBADMSG);
        ck_assert_ptr_null(p2);

        /* [Match] after the broken section still counts */
        ck_assert_int_eq(pf_config_parse_string("c.conf",
                                                "[PhysicalFunction]\nNumVFs=1\n[Bogus]\nX=1\n"
                                                "[Match]\nInterface=enp*\n",
                                                true, &c, &e3, &p3),
                         -EBADMSG);
        ck_assert_str_eq(e3, "c.conf:3: Unknown section [Bogus]");
        ck_assert_ptr_nonnull(p3);
        ck_assert_str_eq(p3->match_interface, "enp*");

        /* no [Match] at all: a partial would match every PF, so there is none */
        ck_assert_int_eq(
                pf_config_parse_string("d.conf", "[PhysicalFunction]\nNumVFs=1\n", true, &c, &e4, &p4),
                -EBADMSG);
        ck_assert_ptr_null(p4);
}
END_TEST

/* PCI domains with five hex digits (Intel VMD puts devices in domain 10000). */
START_TEST(test_match_five_digit_domain) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        PfMatchInfo vmd = {.pci_address = "10000:e1:00.0"};

        c = parse_ok("[Match]\nPciAddress=10000:E1:00.0\n");
        ck_assert_str_eq(c->match_pci_address, "10000:e1:00.0");
        ck_assert(pf_config_matches(c, &vmd));
        ck_assert(!pf_config_matches(c, &(PfMatchInfo){.pci_address = "0000:e1:00.0"}));
        ck_assert(!pf_config_matches(c, &(PfMatchInfo){.pci_address = "e1:00.0"}));
        parse_bad("[Match]\nPciAddress=100000:e1:00.0\n", 2, "Invalid PciAddress=100000:e1:00.0");
        parse_bad("[Match]\nPciAddress=00000:e1:00.0\n", 2, "Invalid PciAddress=00000:e1:00.0");
}
END_TEST

START_TEST(test_matches) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *any = NULL;
        PfMatchInfo info = {
                .pci_address = "0000:01:00.0",
                .interface = "enp1s0f0",
                .driver = "ixgbe",
                .vendor = 0x8086,
                .device = 0x10fb,
                .permanent_mac = "52:54:00:12:34:56",
        };
        PfMatchInfo other;

        c = parse_ok("[Match]\nPciAddress=01:00.0\nInterface=enp1s0f?\nDriver=ix*\nVendorDevice=8086:10fb\n"
                     "PermanentMACAddress=52:54:00:12:34:56\n");
        ck_assert(pf_config_matches(c, &info));

        other = info;
        other.pci_address = "01:00.0"; /* the short form from the PF side is fine too */
        ck_assert(pf_config_matches(c, &other));
        other = info;
        other.pci_address = "0000:02:00.0";
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.interface = "enp1s0f10";
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.interface = NULL; /* unknown never matches a key that is given */
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.driver = "i40e";
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.driver = NULL;
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.device = 0x1572;
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.vendor = 0x15b3;
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.permanent_mac = "52:54:00:12:34:57";
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.permanent_mac = "52:54:00:12:34:5"; /* truncated */
        ck_assert(!pf_config_matches(c, &other));
        other = info;
        other.permanent_mac = "52:54:00:12:34:56";
        ck_assert(pf_config_matches(c, &other));

        /* only the keys given count */
        any = parse_ok("[Match]\nDriver=ixgbe\n");
        ck_assert(pf_config_matches(any, &(PfMatchInfo){.driver = "ixgbe"}));
        ck_assert(pf_config_matches(any, &info));
        ck_assert(!pf_config_matches(any, &(PfMatchInfo){.driver = "ixgbevf"}));
}
END_TEST

static void assert_configs_equal(const PfConfig *a, const PfConfig *b) {
        ck_assert(streq_ptr(a->match_pci_address, b->match_pci_address));
        ck_assert(streq_ptr(a->match_interface, b->match_interface));
        ck_assert(streq_ptr(a->match_driver, b->match_driver));
        ck_assert_int_eq(a->match_vendor_device, b->match_vendor_device);
        ck_assert_uint_eq(a->match_vendor, b->match_vendor);
        ck_assert_uint_eq(a->match_device, b->match_device);
        ck_assert_int_eq(a->match_permanent_mac, b->match_permanent_mac);
        ck_assert(memcmp(&a->match_permanent_mac_addr, &b->match_permanent_mac_addr, 6) == 0);
        ck_assert_int_eq(a->num_vfs, b->num_vfs);
        ck_assert_int_eq(a->drivers_autoprobe, b->drivers_autoprobe);
        ck_assert_uint_eq(a->n_vfs, b->n_vfs);
        for (size_t i = 0; i < a->n_vfs; i++) {
                ck_assert_uint_eq(a->vfs[i].first, b->vfs[i].first);
                ck_assert_uint_eq(a->vfs[i].last, b->vfs[i].last);
                ck_assert(policy_equal(&a->vfs[i].policy, &b->vfs[i].policy));
        }
}

START_TEST(test_format_round_trip) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *d = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        c = parse_ok("[Match]\nPciAddress=01:00.0\nInterface=enp*\nDriver=igb\nVendorDevice=8086:10c9\n"
                     "PermanentMACAddress=52:54:00:ab:cd:ef\n"
                     "[PhysicalFunction]\nNumVFs=7\nDriversAutoprobe=false\n"
                     "[VirtualFunction]\nVirtualFunction=0-6\nMACSpoofCheck=on\nLinkState=auto\n"
                     "VLANProtocol=802.1q\nQueryReceiveSideScaling=0\nMinTxRate=10\nMaxTxRate=0\n"
                     "[VirtualFunction]\nVirtualFunction=3\nMACAddress=02:00:00:00:00:03\nVLANId=4095\n"
                     "QualityOfService=7\nTrust=1\nDriver=\n"
                     "[VirtualFunction]\nVirtualFunction=5\n");
        ck_assert_int_eq(pf_config_format(c, &text), 0);
        ck_assert_msg(strstr(text, "[Match]\nPciAddress=0000:01:00.0\n"), "%s", text);
        ck_assert_msg(strstr(text, "VendorDevice=8086:10c9\n"), "%s", text);
        ck_assert_msg(strstr(text, "\n[PhysicalFunction]\nNumVFs=7\nDriversAutoprobe=no\n"), "%s", text);
        ck_assert_msg(strstr(text, "[VirtualFunction]\nVirtualFunction=0-6\n"), "%s", text);
        ck_assert_msg(strstr(text, "VLANProtocol=802.1Q\n"), "%s", text);
        ck_assert_msg(strstr(text, "[VirtualFunction]\nVirtualFunction=3\nMACAddress=02:00:00:00:00:03\n"),
                      "%s", text);

        ck_assert_int_eq(pf_config_parse_string("again.conf", text, true, &d, NULL, NULL), 0);
        assert_configs_equal(c, d);
        ck_assert_int_eq(pf_config_format(d, &text2), 0);
        ck_assert_str_eq(text, text2);
}
END_TEST

START_TEST(test_format_minimal) {
        _cleanup_(pf_config_freep) PfConfig *c = pf_config_new(NULL), *d = NULL;
        _cleanup_free_ char *text = NULL, *empty = NULL;

        ck_assert_int_eq(pf_config_format(c, &empty), 0);
        ck_assert_str_eq(empty, "");

        c->num_vfs = 0;
        ck_assert_int_eq(pf_config_format(c, &text), 0);
        ck_assert_str_eq(text, "[PhysicalFunction]\nNumVFs=0\n");
        ck_assert_int_eq(pf_config_parse_string("x", text, false, &d, NULL, NULL), 0);
        assert_configs_equal(c, d);
}
END_TEST

static ConfigSet *load(char **dirs) {
        ConfigSet *s = NULL;

        ck_assert_int_eq(config_load(dirs, &s), 0);
        ck_assert_ptr_nonnull(s);
        return s;
}

START_TEST(test_load_masking_and_order) {
        _cleanup_(config_set_freep) ConfigSet *s = NULL;
        _cleanup_free_ char *etc = make_path("etc"), *run = make_path("run"), *lib = make_path("lib"),
                            *missing = make_path("missing"), *null_link = NULL;
        char *dirs[] = {etc, run, missing, lib, NULL};

        write_file("lib/pf.d/10-b.conf", "[Match]\nInterface=lib10\n");
        write_file("lib/pf.d/20-a.conf", "[Match]\nInterface=lib20\n");
        write_file("lib/pf.d/30-masked.conf", "[Match]\nInterface=lib30\n");
        write_file("lib/pf.d/40-empty-masked.conf", "[Match]\nInterface=lib40\n");
        write_file("lib/pf.d/50-keep.conf", "[Match]\nInterface=lib50\n");
        write_file("lib/pf.d/README", "not a config file\n");
        write_file("lib/pf.d/.hidden.conf", "[Bogus]\n");
        write_file("run/pf.d/10-b.conf", "[Match]\nInterface=run10\n");
        write_file("run/pf.d/05-run.conf", "[Match]\nInterface=run05\n");
        write_file("etc/pf.d/10-b.conf", "[Match]\nInterface=etc10\n");
        write_file("etc/pf.d/40-empty-masked.conf", "");
        write_file("etc/pf.d/99-z.conf", "[Match]\nInterface=etc99\n");
        write_file("etc/pf.d/100-a.conf", "[Match]\nInterface=etc100\n");
        null_link = make_path("run/pf.d/30-masked.conf");
        ck_assert_int_eq(symlink("/dev/null", null_link), 0);

        s = load(dirs);
        ck_assert_uint_eq(s->n_errors, 0);
        ck_assert_uint_eq(s->n_files, 6);
        /* lexical by file name across all directories, whatever directory a file is in */
        ck_assert_str_eq(s->files[0]->match_interface, "run05");
        ck_assert_str_eq(s->files[1]->match_interface, "etc10"); /* '-' sorts before '0' */
        ck_assert_str_eq(s->files[2]->match_interface, "etc100");
        ck_assert_str_eq(s->files[3]->match_interface, "lib20");
        ck_assert_str_eq(s->files[4]->match_interface, "lib50");
        ck_assert_str_eq(s->files[5]->match_interface, "etc99");
        ck_assert(endswith_str(s->files[1]->path, "/etc/pf.d/10-b.conf"));
}
END_TEST

START_TEST(test_load_errors_and_find) {
        _cleanup_(config_set_freep) ConfigSet *s = NULL;
        _cleanup_free_ char *etc = make_path("etc"), *lib = make_path("lib");
        char *dirs[] = {etc, lib, NULL};
        PfMatchInfo pf0 = {.pci_address = "0000:01:00.0", .interface = "enp1s0", .driver = "igb"};
        PfMatchInfo pf1 = {.pci_address = "0000:02:00.0", .interface = "enp2s0", .driver = "igb"};
        PfMatchInfo pf2 = {.pci_address = "0000:03:00.0", .interface = "enp3s0", .driver = "ixgbe"};
        const PfConfig *c;

        write_file("etc/pf.d/10-enp1.conf", "[Match]\nInterface=enp1s0\n[PhysicalFunction]\nNumVFs=4\n");
        write_file("etc/pf.d/20-igb.conf", "[Match]\nDriver=igb\n[PhysicalFunction]\nNumVFs=2\n");
        write_file("lib/pf.d/15-broken.conf",
                   "[Match]\nPciAddress=0000:03:00.0\n\n[PhysicalFunction]\nNumVFs=lots\n");
        write_file("lib/pf.d/16-nomatch.conf", "[PhysicalFunction]\nNumVFs=1\n");

        s = load(dirs);
        ck_assert_uint_eq(s->n_files, 2);
        ck_assert_uint_eq(s->n_errors, 2);

        /* the refused files are reported with file and line, the others still apply */
        ck_assert(endswith_str(s->errors[0].path, "/lib/pf.d/15-broken.conf"));
        ck_assert_msg(
                endswith_str(s->errors[0].message,
                             "/lib/pf.d/15-broken.conf:5: Invalid NumVFs=lots: must be a number between 0 "
                             "and 65535"),
                "%s", s->errors[0].message);
        ck_assert_ptr_nonnull(s->errors[0].partial);
        ck_assert(pf_config_matches(s->errors[0].partial, &pf2));
        ck_assert(!pf_config_matches(s->errors[0].partial, &pf0));
        ck_assert(endswith_str(
                s->errors[1].message,
                "/lib/pf.d/16-nomatch.conf:1: [Match] section with at least one key is required"));
        ck_assert_ptr_null(s->errors[1].partial);

        /* first match in lexical order wins */
        c = config_set_find(s, &pf0);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(c->num_vfs, 4);
        c = config_set_find(s, &pf1);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(c->num_vfs, 2);
        /* a refused file never means "0 VFs": no config is found */
        ck_assert_ptr_null(config_set_find(s, &pf2));
}
END_TEST

static const ConfigError *find_error(const ConfigSet *s, const char *name) {
        for (size_t i = 0; i < s->n_errors; i++)
                if (endswith_str(s->errors[i].path, name))
                        return &s->errors[i];
        return NULL;
}

static void assert_error(const ConfigSet *s, const char *name, const char *message) {
        const ConfigError *e = find_error(s, name);
        _cleanup_free_ char *expected = NULL;

        ck_assert_msg(e, "no error for %s", name);
        ck_assert_int_ge(asprintf_safe(&expected, "%s%s", e->path, message), 0);
        ck_assert_str_eq(e->message, expected);
        /* what it was meant for is unknown: it is pinned on every PF */
        ck_assert(e->unread);
        ck_assert_ptr_null(e->partial);
}

/* Only regular files are read, and what is wrong with anything else is said precisely. A FIFO made
 * the loader (sriovd --check-config, and the daemon) hang in open(2). */
START_TEST(test_load_not_regular) {
        _cleanup_(config_set_freep) ConfigSet *s = NULL;
        _cleanup_free_ char *etc = make_path("etc"), *lib = make_path("lib"),
                            *fifo = make_path("etc/pf.d/10-fifo.conf"),
                            *subdir = make_path("etc/pf.d/20-dir.conf"), *secret = make_path("secret"),
                            *to_secret = make_path("etc/pf.d/30-secret.conf"),
                            *to_null = make_path("etc/pf.d/40-vendor.conf"),
                            *dangling = make_path("etc/pf.d/50-dangling.conf"),
                            *good = make_path("good.conf"), *to_good = make_path("etc/pf.d/60-linked.conf"),
                            *to_fifo = make_path("etc/pf.d/70-to-fifo.conf"), *big = NULL, *null_msg = NULL;
        char *dirs[] = {etc, lib, NULL};
        PfMatchInfo pf0 = {.pci_address = "0000:01:00.0", .interface = "enp1s0", .driver = "igb"};
        const PfConfig *c;
        FILE *f;

        write_file("secret", "root:$6$s3cr3t$hash:19000:0:99999:7:::\n");
        write_file("good.conf", "[Match]\nInterface=enp1s0\n[PhysicalFunction]\nNumVFs=3\n");
        write_file("lib/pf.d/20-dir.conf", "[Match]\nInterface=enp1s0\n[PhysicalFunction]\nNumVFs=7\n");
        write_file("lib/pf.d/40-vendor.conf", "[Match]\nInterface=enp1s0\n[PhysicalFunction]\nNumVFs=7\n");
        write_file("lib/pf.d/80-big.conf", "");
        write_file("etc/pf.d/README", "not a configuration file\n");
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        ck_assert_int_eq(mkdir(subdir, 0755), 0);
        ck_assert_int_eq(symlink(secret, to_secret), 0);
        ck_assert_int_eq(symlink("/dev/null", to_null), 0);
        ck_assert_int_eq(symlink("/nonexistent/x.conf", dangling), 0);
        ck_assert_int_eq(symlink(good, to_good), 0);
        ck_assert_int_eq(symlink(fifo, to_fifo), 0);
        /* larger than 4 MiB, with a valid start */
        big = make_path("lib/pf.d/80-big.conf");
        f = fopen(big, "we");
        ck_assert_ptr_nonnull(f);
        fputs("[Match]\nInterface=enp9s0\n", f);
        for (size_t i = 0; i < 4 * 1024 * 1024 / 16 + 1; i++)
                fputs("# padding.......\n", f);
        ck_assert_int_eq(fclose(f), 0);

        s = load(dirs);
        assert_error(s, "/10-fifo.conf", ": not a regular file (a FIFO)");
        /* a directory takes the name: the vendor file of the same name does not apply */
        assert_error(s, "/20-dir.conf", ": not a regular file (a directory)");
        assert_error(s, "/50-dangling.conf",
                     ": is a symbolic link that leads nowhere (No such file or directory)");
        ck_assert_int_ge(asprintf_safe(&null_msg, " -> %s: not a regular file (a FIFO)", fifo), 0);
        assert_error(s, "/70-to-fifo.conf", null_msg);
        assert_error(s, "/80-big.conf", ": larger than 4194304 bytes, refused");
        /* a link is followed, as systemd does in its .d directories: root made it; what it points to is
         * parsed, and not a word of it is quoted */
        ck_assert_ptr_nonnull(find_error(s, "/30-secret.conf"));
        ck_assert_msg(!strstr(find_error(s, "/30-secret.conf")->message, "s3cr3t"), "%s",
                      find_error(s, "/30-secret.conf")->message);
        ck_assert_msg(startswith(find_error(s, "/30-secret.conf")->message, to_secret), "%s",
                      find_error(s, "/30-secret.conf")->message);
        ck_assert(!find_error(s, "/30-secret.conf")->unread);
        ck_assert_uint_eq(s->n_errors, 6);

        /* the link to /dev/null masks the vendor file; the link to a good file is that file, under the
         * name it has in the directory */
        ck_assert_ptr_null(find_error(s, "/40-vendor.conf"));
        ck_assert_uint_eq(s->n_files, 1);
        ck_assert_str_eq(s->files[0]->path, to_good);
        c = config_set_find(s, &pf0);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(c->num_vfs, 3);

        /* explicit files (sriovctl check-config FILE...) are read the same way, and a mask is no
         * configuration but no error either */
        config_set_free(TAKE_PTR(s));
        ck_assert_int_eq(config_load_files((char *[]){fifo, to_good, to_null, NULL}, &s), 0);
        ck_assert_uint_eq(s->n_files, 1);
        ck_assert_uint_eq(s->n_errors, 1);
        assert_error(s, "/10-fifo.conf", ": not a regular file (a FIFO)");
}
END_TEST

START_TEST(test_load_empty) {
        _cleanup_(config_set_freep) ConfigSet *s = NULL, *t = NULL;
        _cleanup_free_ char *nothing = make_path("nothing"), *file = make_path("file");
        char *dirs[] = {nothing, NULL};
        char *dirs2[] = {file, NULL};

        s = load(dirs);
        ck_assert_uint_eq(s->n_files, 0);
        ck_assert_uint_eq(s->n_errors, 0);
        ck_assert_ptr_null(config_set_find(s, &(PfMatchInfo){.driver = "igb"}));

        /* a plain file where a directory should be is no configuration either */
        write_file("file", "x");
        t = load(dirs2);
        ck_assert_uint_eq(t->n_files, 0);
}
END_TEST

START_TEST(test_load_files) {
        _cleanup_(config_set_freep) ConfigSet *s = NULL;
        _cleanup_free_ char *a = make_path("a.conf"), *b = make_path("b.conf"), *c = make_path("c.conf");
        char *files[] = {b, a, c, NULL};
        _cleanup_free_ char *expected = NULL;

        write_file("a.conf", "[Match]\nDriver=igb\n");
        write_file("b.conf", "[Match]\nDriver=igb\n[VirtualFunction]\nVLANId=1\n");

        ck_assert_int_eq(config_load_files(files, &s), 0);
        ck_assert_uint_eq(s->n_files, 1);
        ck_assert_str_eq(s->files[0]->path, a);
        ck_assert_uint_eq(s->n_errors, 2);
        ck_assert_int_ge(asprintf_safe(&expected, "%s:4: VLANId= before VirtualFunction=", b), 0);
        ck_assert_msg(startswith(s->errors[0].message, expected), "%s", s->errors[0].message);
        ck_assert_str_eq(s->errors[1].path, c);
        ck_assert_msg(strstr(s->errors[1].message, c), "%s", s->errors[1].message);
}
END_TEST

START_TEST(test_parse_file) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        _cleanup_free_ char *p = make_path("x.conf"), *q = make_path("nope.conf"), *error = NULL;

        write_file("x.conf", "[Match]\nVendorDevice=8086:1572\n");
        ck_assert_int_eq(pf_config_parse_file(p, true, &c, &error, NULL), 0);
        ck_assert_str_eq(c->path, p);
        ck_assert(c->match_vendor_device);
        ck_assert_int_eq(pf_config_parse_file(q, true, &c, &error, NULL), -ENOENT);
        ck_assert_ptr_null(error);
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc = tcase_create("parse");
        TCase *lc = tcase_create("load");

        tcase_add_test(tc, test_parse_full);
        tcase_add_test(tc, test_parse_defaults_and_last_wins);
        tcase_add_test(tc, test_parse_errors);
        tcase_add_test(tc, test_errors_quote_no_content);
        tcase_add_test(tc, test_duplicates);
        tcase_add_test(tc, test_network_managed_vfs);
        tcase_add_test(tc, test_overlapping_ranges);
        tcase_add_test(tc, test_many_overlapping_sections);
        tcase_add_test(tc, test_overlap_check_matches_per_index);
        tcase_add_test(tc, test_require_match_off);
        tcase_add_test(tc, test_partial);
        tcase_add_test(tc, test_matches);
        tcase_add_test(tc, test_match_five_digit_domain);
        tcase_add_test(tc, test_format_round_trip);
        tcase_add_test(tc, test_format_minimal);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(lc, tmp_setup, tmp_teardown);
        tcase_add_test(lc, test_load_masking_and_order);
        tcase_add_test(lc, test_load_errors_and_find);
        tcase_add_test(lc, test_load_empty);
        tcase_add_test(lc, test_load_not_regular);
        tcase_add_test(lc, test_load_files);
        tcase_add_test(lc, test_parse_file);
        suite_add_tcase(s, lc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(config_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
