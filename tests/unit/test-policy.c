/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <sys/socket.h>

#include "bus-errors.h"
#include "policy.h"
#include "util.h"

/* An sd_bus that is never connected to anything: enough to build and read messages. */
static sd_bus *bus;
static int fds[2] = {-1, -1};

static void bus_setup(void) {
        ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        ck_assert_int_ge(sd_bus_new(&bus), 0);
        ck_assert_int_ge(sd_bus_set_fd(bus, fds[0], fds[0]), 0);
        ck_assert_int_ge(sd_bus_start(bus), 0);
}

static void bus_teardown(void) {
        /* not flushed: nobody answers on the other end */
        bus = sd_bus_close_unref(bus);
        close(fds[1]);
}

static sd_bus_message *new_message(void) {
        sd_bus_message *m = NULL;

        ck_assert_int_ge(sd_bus_message_new_method_call(bus, &m, "io.sriovd", "/io/sriovd",
                                                        "io.sriovd1.VirtualFunction", "SetPolicy"),
                         0);
        return m;
}

/* Seals m as if it had been sent, so that it can be read from the start. */
static void seal(sd_bus_message *m) {
        ck_assert_int_ge(sd_bus_message_seal(m, 1, 0), 0);
        ck_assert_int_ge(sd_bus_message_rewind(m, true), 0);
}

static VfPolicy parse_ok(const char *key, const char *value) {
        _cleanup_free_ char *error = NULL;
        VfPolicy p = {};
        PolicyKey k = policy_key_from_string(key);

        ck_assert_int_ge(k, 0);
        ck_assert_msg(policy_set_from_string(&p, k, value, &error) == 0, "%s=%s: %s", key, value,
                      strempty(error));
        ck_assert_ptr_null(error);
        ck_assert(POLICY_HAS(&p, k));
        ck_assert_uint_eq(p.set, UINT32_C(1) << k);
        return p;
}

static void parse_fail(const char *key, const char *value, int expected_r, const char *expected_msg) {
        _cleanup_free_ char *error = NULL;
        VfPolicy p = {};
        PolicyKey k = policy_key_from_string(key);

        ck_assert_int_ge(k, 0);
        ck_assert_int_eq(policy_set_from_string(&p, k, value, &error), expected_r);
        ck_assert_ptr_nonnull(error);
        ck_assert_uint_eq(p.set, 0);
        if (expected_msg)
                ck_assert_str_eq(error, expected_msg);
        else {
                /* every refusal names the key and the value */
                ck_assert_msg(strstr(error, policy_key_to_string(k)), "%s", error);
                ck_assert_msg(strstr(error, value), "%s", error);
        }
}

START_TEST(test_key_names) {
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                const char *n = policy_key_to_string(k), *s = policy_key_short_name(k);

                ck_assert_ptr_nonnull(n);
                ck_assert_ptr_nonnull(s);
                ck_assert_int_eq(policy_key_from_string(n), k);
                ck_assert_int_eq(policy_key_from_string(s), k);
                ck_assert_int_eq(policy_key_from_full_string(n), k);
                ck_assert_int_eq(policy_key_from_full_string(s), -EINVAL);
                ck_assert_ptr_nonnull(policy_key_signature(k));
        }
        ck_assert_str_eq(policy_key_to_string(POLICY_QUERY_RSS), "QueryReceiveSideScaling");
        ck_assert_int_eq(policy_key_from_string("mac"), POLICY_MAC_ADDRESS);
        ck_assert_int_eq(policy_key_from_string("vlan"), POLICY_VLAN_ID);
        ck_assert_int_eq(policy_key_from_string("qos"), POLICY_QOS);
        ck_assert_int_eq(policy_key_from_string("spoofchk"), POLICY_MAC_SPOOF_CHECK);
        ck_assert_int_eq(policy_key_from_string("state"), POLICY_LINK_STATE);
        ck_assert_int_eq(policy_key_from_string("min-rate"), POLICY_MIN_TX_RATE);
        ck_assert_int_eq(policy_key_from_string("max-rate"), POLICY_MAX_TX_RATE);
        ck_assert_int_eq(policy_key_from_string("driver"), POLICY_DRIVER);
        ck_assert_int_eq(policy_key_from_string("mtu"), POLICY_MTU);
        ck_assert_int_eq(policy_key_from_string("node-guid"), POLICY_NODE_GUID);
        ck_assert_int_eq(policy_key_from_string("port-guid"), POLICY_PORT_GUID);
        ck_assert_str_eq(policy_key_to_string(POLICY_MTU), "MTU");
        ck_assert_str_eq(policy_key_to_string(POLICY_NODE_GUID), "NodeGUID");
        ck_assert_str_eq(policy_key_to_string(POLICY_PORT_GUID), "PortGUID");
        ck_assert_int_eq(policy_key_from_string("vlanid"), -EINVAL);
        ck_assert_int_eq(policy_key_from_string("Foo"), -EINVAL);
        ck_assert_int_eq(policy_key_from_string(""), -EINVAL);
        ck_assert_int_eq(policy_key_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(policy_key_to_string(_POLICY_KEY_MAX));
        ck_assert_ptr_null(policy_key_to_string(-1));

        ck_assert_str_eq(policy_key_signature(POLICY_MAC_ADDRESS), "s");
        ck_assert_str_eq(policy_key_signature(POLICY_VLAN_ID), "q");
        ck_assert_str_eq(policy_key_signature(POLICY_QOS), "u");
        ck_assert_str_eq(policy_key_signature(POLICY_TRUST), "b");
        ck_assert_str_eq(policy_key_signature(POLICY_MAX_TX_RATE), "u");
        ck_assert_str_eq(policy_key_signature(POLICY_DRIVER), "s");
        ck_assert_str_eq(policy_key_signature(POLICY_MTU), "u");
        ck_assert_str_eq(policy_key_signature(POLICY_NODE_GUID), "s");
        ck_assert_str_eq(policy_key_signature(POLICY_PORT_GUID), "s");
}
END_TEST

START_TEST(test_enums) {
        ck_assert_int_eq(link_state_from_string("auto"), LINK_STATE_AUTO);
        ck_assert_int_eq(link_state_from_string("enable"), LINK_STATE_ENABLE);
        ck_assert_int_eq(link_state_from_string("disable"), LINK_STATE_DISABLE);
        ck_assert_int_eq(link_state_from_string("on"), -EINVAL);
        ck_assert_str_eq(link_state_to_string(LINK_STATE_DISABLE), "disable");
        ck_assert_int_eq(vlan_protocol_from_string("802.1Q"), VLAN_PROTOCOL_8021Q);
        ck_assert_int_eq(vlan_protocol_from_string("802.1q"), VLAN_PROTOCOL_8021Q);
        ck_assert_int_eq(vlan_protocol_from_string("802.1ad"), VLAN_PROTOCOL_8021AD);
        ck_assert_int_eq(vlan_protocol_from_string("802.1AD"), VLAN_PROTOCOL_8021AD);
        ck_assert_int_eq(vlan_protocol_from_string("802.1x"), -EINVAL);
        ck_assert_str_eq(vlan_protocol_to_string(VLAN_PROTOCOL_8021Q), "802.1Q");
        ck_assert_str_eq(vlan_protocol_to_string(VLAN_PROTOCOL_8021AD), "802.1ad");
}
END_TEST

START_TEST(test_parse_values) {
        VfPolicy p;
        char buf[18];

        p = parse_ok("MACAddress", "02:AB:cd:00:00:01");
        ck_assert_str_eq(policy_format_mac(&p.mac, buf), "02:ab:cd:00:00:01");
        p = parse_ok("VLANId", "0");
        ck_assert_uint_eq(p.vlan, 0);
        p = parse_ok("vlan", "4095");
        ck_assert_uint_eq(p.vlan, 4095);
        p = parse_ok("QualityOfService", "7");
        ck_assert_uint_eq(p.qos, 7);
        p = parse_ok("VLANProtocol", "802.1AD");
        ck_assert_int_eq(p.vlan_protocol, VLAN_PROTOCOL_8021AD);
        p = parse_ok("MACSpoofCheck", "no");
        ck_assert(!p.spoof_check);
        p = parse_ok("Trust", "yes");
        ck_assert(p.trust);
        p = parse_ok("QueryReceiveSideScaling", "on");
        ck_assert(p.query_rss);
        p = parse_ok("LinkState", "disable");
        ck_assert_int_eq(p.link_state, LINK_STATE_DISABLE);
        p = parse_ok("MinTxRate", "100");
        ck_assert_uint_eq(p.min_tx_rate, 100);
        p = parse_ok("MaxTxRate", "4294967295");
        ck_assert_uint_eq(p.max_tx_rate, UINT32_MAX);
        p = parse_ok("Driver", "vfio-pci");
        ck_assert_str_eq(p.driver, "vfio-pci");
        p = parse_ok("Driver", "");
        ck_assert_str_eq(p.driver, "");
        p = parse_ok("Driver", "mlx5_core");
        ck_assert_str_eq(p.driver, "mlx5_core");
        p = parse_ok("Driver", "a23456789012345678901234567890123456789012345678901234567890123");
        ck_assert_uint_eq(strlen(p.driver), 63);
        p = parse_ok("MTU", "68");
        ck_assert_uint_eq(p.mtu, 68);
        p = parse_ok("mtu", "65535");
        ck_assert_uint_eq(p.mtu, 65535);
        p = parse_ok("MTU", "9000");
        ck_assert_uint_eq(p.mtu, 9000);
}
END_TEST

START_TEST(test_guid) {
        _cleanup_free_ char *error = NULL;
        char buf[24];
        uint64_t g;
        VfPolicy p;

        /* the first octet written is the most significant, as ip-link(8) reads node_guid */
        p = parse_ok("NodeGUID", "00:11:22:33:44:55:66:77");
        ck_assert_uint_eq(p.node_guid, UINT64_C(0x0011223344556677));
        p = parse_ok("PortGUID", "FE:DC:ba:98:76:54:32:10");
        ck_assert_uint_eq(p.port_guid, UINT64_C(0xfedcba9876543210));
        ck_assert_str_eq(policy_format_guid(p.port_guid, buf), "fe:dc:ba:98:76:54:32:10");
        ck_assert_str_eq(policy_format_guid(0, buf), "00:00:00:00:00:00:00:00");
        ck_assert_str_eq(policy_format_guid(UINT64_MAX, buf), "ff:ff:ff:ff:ff:ff:ff:ff");
        p = parse_ok("node-guid", "ff:ff:ff:ff:ff:ff:ff:ff");
        ck_assert_uint_eq(p.node_guid, UINT64_MAX);

        ck_assert_int_eq(policy_parse_guid("00:11:22:33:44:55:66:77", &g, NULL), 0);
        ck_assert_int_eq(policy_parse_guid("0:1:2:3:4:5:6:7", &g, &error), -EINVAL);
        ck_assert_str_eq(error, "'0:1:2:3:4:5:6:7' has 15 characters, not 23: must be eight octets of two "
                                "hexadecimal digits separated by colons, like 00:11:22:33:44:55:66:77");
}
END_TEST

START_TEST(test_guid_invalid) {
        parse_fail(
                "NodeGUID", "00:11:22:33:44:55:66", -EINVAL,
                "Invalid NodeGUID=00:11:22:33:44:55:66: '00:11:22:33:44:55:66' has 20 characters, not 23: "
                "must be eight octets of two hexadecimal digits separated by colons, like "
                "00:11:22:33:44:55:66:77");
        parse_fail(
                "PortGUID", "00:11:22:3g:44:55:66:77", -EINVAL,
                "Invalid PortGUID=00:11:22:3g:44:55:66:77: octet 4 ('3g') of '00:11:22:3g:44:55:66:77' is "
                "not two hexadecimal digits: must be eight octets of two hexadecimal digits separated by "
                "colons, like 00:11:22:33:44:55:66:77");
        parse_fail(
                "NodeGUID", "00-11-22-33-44-55-66-77", -EINVAL,
                "Invalid NodeGUID=00-11-22-33-44-55-66-77: '00-11-22-33-44-55-66-77' has '-' after octet 1, "
                "not ':': must be eight octets of two hexadecimal digits separated by colons, like "
                "00:11:22:33:44:55:66:77");
        parse_fail("NodeGUID", "", -EINVAL, NULL);
        parse_fail("PortGUID", "00:11:22:33:44:55:66:77:", -EINVAL, NULL);
        parse_fail("PortGUID", " 0:11:22:33:44:55:66:77", -EINVAL, NULL);
        parse_fail("NodeGUID", "0x0011223344556677", -EINVAL, NULL);
}
END_TEST

START_TEST(test_mtu_invalid) {
        parse_fail("MTU", "67", -ERANGE, "Invalid MTU=67: must be between 68 and 65535");
        parse_fail("MTU", "0", -ERANGE, "Invalid MTU=0: must be between 68 and 65535");
        parse_fail("MTU", "65536", -ERANGE, "Invalid MTU=65536: must be between 68 and 65535");
        parse_fail("MTU", "9k", -EINVAL, "Invalid MTU=9k: must be a non-negative number");
        parse_fail("MTU", "-1500", -EINVAL, NULL);
        parse_fail("MTU", "99999999999", -ERANGE, NULL);
}
END_TEST

START_TEST(test_parse_invalid) {
        parse_fail("VLANId", "5000", -ERANGE, "Invalid VLANId=5000: must be between 0 and 4095");
        parse_fail("VLANId", "4096", -ERANGE, NULL);
        parse_fail("VLANId", "-1", -EINVAL, NULL);
        parse_fail("VLANId", "abc", -EINVAL, NULL);
        parse_fail("VLANId", "99999999999", -ERANGE, NULL);
        parse_fail("QualityOfService", "8", -ERANGE, "Invalid QualityOfService=8: must be between 0 and 7");
        parse_fail("MACAddress", "01:00:5e:00:00:01", -EINVAL, NULL); /* multicast */
        parse_fail("MACAddress", "ff:ff:ff:ff:ff:ff", -EINVAL, NULL); /* broadcast */
        parse_fail("MACAddress", "00:00:00:00:00:00", -EINVAL, NULL);
        parse_fail("MACAddress", "02:00:00:00:00", -EINVAL, NULL);
        parse_fail("MACAddress", "02:00:00:00:00:0g", -EINVAL, NULL);
        parse_fail("MACAddress", "02-00-00-00-00-01", -EINVAL, NULL);
        parse_fail("MACAddress", "02:00:00:00:00:01:", -EINVAL, NULL);
        parse_fail("VLANProtocol", "802.1x", -EINVAL, NULL);
        parse_fail("MACSpoofCheck", "maybe", -EINVAL, NULL);
        parse_fail("Trust", "2", -EINVAL, NULL);
        parse_fail("QueryReceiveSideScaling", "", -EINVAL,
                   "Invalid QueryReceiveSideScaling=: must be a boolean (yes/no)");
        parse_fail("LinkState", "up", -EINVAL, "Invalid LinkState=up: must be auto, enable or disable");
        parse_fail("MinTxRate", "1.5", -EINVAL, NULL);
        parse_fail("MaxTxRate", "4294967296", -ERANGE, NULL);
        parse_fail("Driver", "vfio/pci", -EINVAL, NULL);
        parse_fail("Driver", "../x", -EINVAL, NULL);
        parse_fail("Driver", "vfio pci", -EINVAL, NULL);
        parse_fail("Driver", "a234567890123456789012345678901234567890123456789012345678901234", -EINVAL,
                   NULL);
}
END_TEST

START_TEST(test_set_keeps_other_keys) {
        _cleanup_free_ char *error = NULL;
        VfPolicy p = {};

        ck_assert_int_eq(policy_set_from_string(&p, POLICY_VLAN_ID, "42", NULL), 0);
        ck_assert_int_eq(policy_set_from_string(&p, POLICY_QOS, "9", &error), -ERANGE);
        ck_assert(POLICY_HAS(&p, POLICY_VLAN_ID));
        ck_assert(!POLICY_HAS(&p, POLICY_QOS));
        ck_assert_uint_eq(p.qos, 0);
        ck_assert_uint_eq(p.vlan, 42);
        /* ret_error is optional */
        ck_assert_int_eq(policy_set_from_string(&p, POLICY_QOS, "9", NULL), -ERANGE);
}
END_TEST

static void fill_all(VfPolicy *p) {
        static const char *values[_POLICY_KEY_MAX] = {
                [POLICY_MAC_ADDRESS] = "02:00:00:00:00:2a",
                [POLICY_VLAN_ID] = "42",
                [POLICY_QOS] = "3",
                [POLICY_VLAN_PROTOCOL] = "802.1ad",
                [POLICY_MAC_SPOOF_CHECK] = "yes",
                [POLICY_TRUST] = "no",
                [POLICY_LINK_STATE] = "enable",
                [POLICY_QUERY_RSS] = "yes",
                [POLICY_MIN_TX_RATE] = "10",
                [POLICY_MAX_TX_RATE] = "1000",
                [POLICY_DRIVER] = "vfio-pci",
                [POLICY_MTU] = "9000",
                [POLICY_NODE_GUID] = "00:11:22:33:44:55:66:77",
                [POLICY_PORT_GUID] = "fe:dc:ba:98:76:54:32:10",
        };

        *p = (VfPolicy){};
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                ck_assert_int_eq(policy_set_from_string(p, k, values[k], NULL), 0);
}

START_TEST(test_value_to_string_round_trip) {
        VfPolicy p, q = {};

        fill_all(&p);
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                _cleanup_free_ char *s = NULL;

                ck_assert_int_eq(policy_value_to_string(&p, k, &s), 0);
                ck_assert_int_eq(policy_set_from_string(&q, k, s, NULL), 0);
        }
        ck_assert(policy_equal(&p, &q));

        {
                _cleanup_free_ char *s = NULL;
                ck_assert_int_eq(policy_value_to_string(&p, POLICY_VLAN_PROTOCOL, &s), 0);
                ck_assert_str_eq(s, "802.1ad");
        }
        {
                _cleanup_free_ char *s = NULL;
                ck_assert_int_eq(policy_value_to_string(&p, POLICY_MAC_SPOOF_CHECK, &s), 0);
                ck_assert_str_eq(s, "yes");
        }
}
END_TEST

START_TEST(test_merge_equal_unset) {
        VfPolicy a = {}, b = {}, c;

        ck_assert(policy_is_empty(&a));
        ck_assert_int_eq(policy_set_from_string(&a, POLICY_VLAN_ID, "10", NULL), 0);
        ck_assert_int_eq(policy_set_from_string(&a, POLICY_TRUST, "yes", NULL), 0);
        ck_assert_int_eq(policy_set_from_string(&b, POLICY_VLAN_ID, "20", NULL), 0);
        ck_assert_int_eq(policy_set_from_string(&b, POLICY_DRIVER, "vfio-pci", NULL), 0);

        c = a;
        policy_merge(&c, &b);
        ck_assert_uint_eq(c.vlan, 20);
        ck_assert(c.trust);
        ck_assert_str_eq(c.driver, "vfio-pci");
        ck_assert_uint_eq(c.set, a.set | b.set);
        ck_assert(!policy_equal(&c, &a));

        policy_unset(&c, POLICY_DRIVER);
        ck_assert(!POLICY_HAS(&c, POLICY_DRIVER));
        ck_assert_str_eq(c.driver, "");
        policy_unset(&c, POLICY_VLAN_ID);
        ck_assert_int_eq(policy_set_from_string(&c, POLICY_VLAN_ID, "10", NULL), 0);
        ck_assert(policy_equal(&c, &a));

        /* values of unset keys do not count */
        c = a;
        c.qos = 5;
        ck_assert(policy_equal(&c, &a));
        c.vlan = 11;
        ck_assert(!policy_equal(&c, &a));
}
END_TEST

START_TEST(test_validate_rates) {
        _cleanup_free_ char *error = NULL;
        VfPolicy p = {};

        ck_assert_int_eq(policy_set_from_string(&p, POLICY_MIN_TX_RATE, "500", NULL), 0);
        ck_assert_int_eq(policy_validate(&p, NULL), 0);
        ck_assert_int_eq(policy_set_from_string(&p, POLICY_MAX_TX_RATE, "0", NULL), 0);
        ck_assert_int_eq(policy_validate(&p, NULL), 0); /* 0: unlimited */
        ck_assert_int_eq(policy_set_from_string(&p, POLICY_MAX_TX_RATE, "500", NULL), 0);
        ck_assert_int_eq(policy_validate(&p, NULL), 0);
        ck_assert_int_eq(policy_set_from_string(&p, POLICY_MAX_TX_RATE, "499", NULL), 0);
        ck_assert_int_eq(policy_validate(&p, &error), -EINVAL);
        ck_assert_str_eq(error, "Invalid MinTxRate=500: must not exceed MaxTxRate=499");
}
END_TEST

START_TEST(test_bus_round_trip) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        VfPolicy p, q = {};
        uint64_t flags = 0;

        fill_all(&p);
        m = new_message();
        ck_assert_int_ge(policy_append_to_bus_message(m, &p), 0);
        ck_assert_int_ge(sd_bus_message_append(m, "t", UINT64_C(1)), 0);
        seal(m);
        ck_assert_int_eq(policy_from_bus_message(m, &q, &error), 0);
        ck_assert(!sd_bus_error_is_set(&error));
        ck_assert(policy_equal(&p, &q));
        /* the cursor is right after the dictionary */
        ck_assert_int_ge(sd_bus_message_read(m, "t", &flags), 0);
        ck_assert_uint_eq(flags, 1);
}
END_TEST

START_TEST(test_bus_subset_and_empty) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        VfPolicy q;

        m = new_message();
        ck_assert_int_ge(
                sd_bus_message_append(m, "a{sv}", 3, "VLANId", "q", 100, "Trust", "b", 1, "Driver", "s", ""),
                0);
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 0), 0);
        seal(m);
        ck_assert_int_eq(policy_from_bus_message(m, &q, &error), 0);
        ck_assert_uint_eq(q.set, (1u << POLICY_VLAN_ID) | (1u << POLICY_TRUST) | (1u << POLICY_DRIVER));
        ck_assert_uint_eq(q.vlan, 100);
        ck_assert(q.trust);
        ck_assert_str_eq(q.driver, "");

        ck_assert_int_eq(policy_from_bus_message(m, &q, &error), 0);
        ck_assert(policy_is_empty(&q));
}
END_TEST

/* Each bad dictionary is refused as a whole, names the key, and leaves ret untouched. */
static void bus_refused(sd_bus_message *m, int expected_r, const char *expected_name,
                        const char *expected_msg) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        VfPolicy q, sentinel;

        memset(&sentinel, 0x5a, sizeof sentinel);
        q = sentinel;
        seal(m);
        ck_assert_int_eq(policy_from_bus_message(m, &q, &error), expected_r);
        ck_assert_str_eq(error.name, expected_name);
        ck_assert_str_eq(error.message, expected_msg);
        ck_assert(memcmp(&q, &sentinel, sizeof q) == 0);
        sd_bus_error_free(&error);
}

START_TEST(test_bus_unknown_key) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "VLANId", "q", 5, "Foo", "s", "x"), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT, "Unknown policy key 'Foo'");
}
END_TEST

START_TEST(test_bus_short_alias_refused) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "vlan", "q", 5), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT, "Unknown policy key 'vlan'");
}
END_TEST

START_TEST(test_bus_wrong_type) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "Trust", "b", 1, "VLANId", "s", "5"), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT, "Policy key VLANId expects type q, got s");
}
END_TEST

START_TEST(test_bus_wrong_type_u) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        /* "q" is not silently widened to "u" */
        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "QualityOfService", "q", 1), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Policy key QualityOfService expects type u, got q");
}
END_TEST

START_TEST(test_bus_out_of_range) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "Trust", "b", 1, "VLANId", "q", 5000), 0);
        bus_refused(m, -ERANGE, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Invalid VLANId=5000: must be between 0 and 4095");
}
END_TEST

START_TEST(test_bus_qos_out_of_range) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "QualityOfService", "u", 8), 0);
        bus_refused(m, -ERANGE, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Invalid QualityOfService=8: must be between 0 and 7");
}
END_TEST

START_TEST(test_bus_mtu_and_guids) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message(), *out = new_message();
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        VfPolicy p = {}, q = {};

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 3, "MTU", "u", 9000, "NodeGUID", "s",
                                               "00:11:22:33:44:55:66:77", "PortGUID", "s",
                                               "00:11:22:33:44:55:66:78"),
                         0);
        seal(m);
        ck_assert_int_eq(policy_from_bus_message(m, &p, &error), 0);
        ck_assert_uint_eq(p.mtu, 9000);
        ck_assert_uint_eq(p.node_guid, UINT64_C(0x0011223344556677));
        ck_assert_uint_eq(p.port_guid, UINT64_C(0x0011223344556678));

        /* and back: the Policy property */
        ck_assert_int_ge(policy_append_to_bus_message(out, &p), 0);
        seal(out);
        ck_assert_int_eq(policy_from_bus_message(out, &q, &error), 0);
        ck_assert(policy_equal(&p, &q));
}
END_TEST

START_TEST(test_bus_mtu_refused) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "MTU", "u", 65536), 0);
        bus_refused(m, -ERANGE, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Invalid MTU=65536: must be between 68 and 65535");
}
END_TEST

START_TEST(test_bus_mtu_wrong_type) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "MTU", "q", 1500), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT, "Policy key MTU expects type u, got q");
}
END_TEST

START_TEST(test_bus_guid_refused) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "MTU", "u", 1500, "PortGUID", "s", "00:11"),
                         0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Invalid PortGUID=00:11: '00:11' has 5 characters, not 23: must be eight octets of two "
                    "hexadecimal digits separated by colons, like 00:11:22:33:44:55:66:77");
}
END_TEST

START_TEST(test_bus_bad_mac) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "MACAddress", "s", "01:00:5e:00:00:01"), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Invalid MACAddress=01:00:5e:00:00:01: must be a unicast address, not multicast");
}
END_TEST

START_TEST(test_bus_bad_link_state) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 1, "LinkState", "s", "up"), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Invalid LinkState=up: must be auto, enable or disable");
}
END_TEST

START_TEST(test_bus_rates) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "MinTxRate", "u", 200, "MaxTxRate", "u", 100),
                         0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT,
                    "Invalid MinTxRate=200: must not exceed MaxTxRate=100");
}
END_TEST

START_TEST(test_bus_rates_unlimited) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();
        sd_bus_error error = SD_BUS_ERROR_NULL;
        VfPolicy q;

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "MinTxRate", "u", 200, "MaxTxRate", "u", 0),
                         0);
        seal(m);
        ck_assert_int_eq(policy_from_bus_message(m, &q, &error), 0);
        ck_assert_uint_eq(q.min_tx_rate, 200);
        ck_assert_uint_eq(q.max_tx_rate, 0);
}
END_TEST

START_TEST(test_bus_duplicate_key) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{sv}", 2, "VLANId", "q", 1, "VLANId", "q", 2), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT, "Policy key VLANId given twice");
}
END_TEST

START_TEST(test_bus_not_a_dict) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();

        ck_assert_int_ge(sd_bus_message_append(m, "a{ss}", 1, "VLANId", "5"), 0);
        bus_refused(m, -EINVAL, SRIOVD_ERROR_INVALID_ARGUMENT, "Policy must be a{sv}");
}
END_TEST

START_TEST(test_bus_append_only_set_keys) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = new_message();
        const char *key, *mac;
        VfPolicy p = {};

        ck_assert_int_eq(policy_set_from_string(&p, POLICY_MAC_ADDRESS, "02:00:00:00:00:01", NULL), 0);
        ck_assert_int_ge(policy_append_to_bus_message(m, &p), 0);
        seal(m);
        ck_assert_int_ge(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
        ck_assert_int_gt(sd_bus_message_read(m, "{sv}", &key, "s", &mac), 0);
        ck_assert_str_eq(key, "MACAddress");
        ck_assert_str_eq(mac, "02:00:00:00:00:01");
        ck_assert_int_eq(sd_bus_message_read(m, "{sv}", &key, "s", &mac), 0); /* end of array */
}
END_TEST

static Suite *policy_suite(void) {
        Suite *s = suite_create("policy");
        TCase *tc = tcase_create("values");
        TCase *bc = tcase_create("bus");

        tcase_add_test(tc, test_key_names);
        tcase_add_test(tc, test_enums);
        tcase_add_test(tc, test_parse_values);
        tcase_add_test(tc, test_parse_invalid);
        tcase_add_test(tc, test_guid);
        tcase_add_test(tc, test_guid_invalid);
        tcase_add_test(tc, test_mtu_invalid);
        tcase_add_test(tc, test_set_keeps_other_keys);
        tcase_add_test(tc, test_value_to_string_round_trip);
        tcase_add_test(tc, test_merge_equal_unset);
        tcase_add_test(tc, test_validate_rates);
        suite_add_tcase(s, tc);

        tcase_add_checked_fixture(bc, bus_setup, bus_teardown);
        tcase_add_test(bc, test_bus_round_trip);
        tcase_add_test(bc, test_bus_subset_and_empty);
        tcase_add_test(bc, test_bus_unknown_key);
        tcase_add_test(bc, test_bus_short_alias_refused);
        tcase_add_test(bc, test_bus_wrong_type);
        tcase_add_test(bc, test_bus_wrong_type_u);
        tcase_add_test(bc, test_bus_out_of_range);
        tcase_add_test(bc, test_bus_qos_out_of_range);
        tcase_add_test(bc, test_bus_bad_mac);
        tcase_add_test(bc, test_bus_mtu_and_guids);
        tcase_add_test(bc, test_bus_mtu_refused);
        tcase_add_test(bc, test_bus_mtu_wrong_type);
        tcase_add_test(bc, test_bus_guid_refused);
        tcase_add_test(bc, test_bus_bad_link_state);
        tcase_add_test(bc, test_bus_rates);
        tcase_add_test(bc, test_bus_rates_unlimited);
        tcase_add_test(bc, test_bus_duplicate_key);
        tcase_add_test(bc, test_bus_not_a_dict);
        tcase_add_test(bc, test_bus_append_only_set_keys);
        suite_add_tcase(s, bc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(policy_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
