/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <check.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "netlink.h"
#include "util.h"

#define KEY(k) (UINT32_C(1) << (k))

static struct nlattr *vf_attr(struct nlattr *info, int type) {
        struct nlattr *tb[IFLA_VF_MAX + 1];

        ck_assert_int_eq(nla_parse_nested(tb, IFLA_VF_MAX, info, NULL), 0);
        return tb[type];
}

START_TEST(test_get_request) {
        struct nlattr *tb[IFLA_MAX + 1];
        struct ifinfomsg *ifi;
        struct nl_msg *msg;
        struct nlmsghdr *h;

        ck_assert_int_eq(netlink_build_get_request(7, &msg), 0);
        h = nlmsg_hdr(msg);
        ck_assert_int_eq(h->nlmsg_type, RTM_GETLINK);
        /* one link, not a dump of every link */
        ck_assert_int_eq(h->nlmsg_flags & NLM_F_DUMP, 0);
        ifi = nlmsg_data(h);
        ck_assert_int_eq(ifi->ifi_index, 7);
        ck_assert_int_eq(nlmsg_parse(h, sizeof *ifi, tb, IFLA_MAX, NULL), 0);
        ck_assert_ptr_nonnull(tb[IFLA_EXT_MASK]);
        ck_assert_uint_eq(nla_get_u32(tb[IFLA_EXT_MASK]), RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS);
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_set_request) {
        NetlinkVfChange c[2] = {};
        struct nlattr *tb[IFLA_MAX + 1], *info, *a;
        const struct ether_addr mac = {{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}};
        struct ifinfomsg *ifi;
        struct nl_msg *msg;
        unsigned seen = 0;
        int rem;

        c[0].index = 1;
        c[0].keys = KEY(POLICY_MAC_ADDRESS) | KEY(POLICY_VLAN_ID) | KEY(POLICY_QOS) |
                    KEY(POLICY_VLAN_PROTOCOL) | KEY(POLICY_TRUST);
        c[0].want.mac = mac;
        c[0].want.vlan = 42;
        c[0].want.qos = 3;
        c[0].want.vlan_protocol = VLAN_PROTOCOL_8021Q;
        c[0].want.trust = true;

        c[1].index = 3;
        c[1].keys = KEY(POLICY_MIN_TX_RATE) | KEY(POLICY_MAX_TX_RATE) | KEY(POLICY_MAC_SPOOF_CHECK) |
                    KEY(POLICY_LINK_STATE) | KEY(POLICY_VLAN_ID) | KEY(POLICY_QOS) |
                    KEY(POLICY_VLAN_PROTOCOL);
        c[1].want.max_tx_rate = 100;
        c[1].want.spoof_check = false;
        c[1].want.link_state = LINK_STATE_DISABLE;
        c[1].want.vlan = 7;
        c[1].want.vlan_protocol = VLAN_PROTOCOL_8021AD;

        ck_assert_int_eq(netlink_build_set_request(5, c, 2, &msg), 0);
        ck_assert(nlmsg_hdr(msg)->nlmsg_type == RTM_NEWLINK || nlmsg_hdr(msg)->nlmsg_type == RTM_SETLINK);
        ifi = nlmsg_data(nlmsg_hdr(msg));
        ck_assert_int_eq(ifi->ifi_index, 5);
        ck_assert_int_eq(nlmsg_parse(nlmsg_hdr(msg), sizeof *ifi, tb, IFLA_MAX, NULL), 0);
        ck_assert_ptr_nonnull(tb[IFLA_VFINFO_LIST]);
        /* nothing but the VF list is changed on the PF */
        ck_assert_ptr_null(tb[IFLA_IFNAME]);
        ck_assert_ptr_null(tb[IFLA_MTU]);
        ck_assert_ptr_null(tb[IFLA_ADDRESS]);

        nla_for_each_nested(info, tb[IFLA_VFINFO_LIST], rem) {
                ck_assert_int_eq(nla_type(info), IFLA_VF_INFO);
                if (seen == 0) {
                        struct ifla_vf_mac *m = nla_data(vf_attr(info, IFLA_VF_MAC));
                        struct ifla_vf_vlan *v = nla_data(vf_attr(info, IFLA_VF_VLAN));
                        struct ifla_vf_trust *t = nla_data(vf_attr(info, IFLA_VF_TRUST));

                        ck_assert_uint_eq(m->vf, 1);
                        ck_assert_int_eq(memcmp(m->mac, &mac, ETH_ALEN), 0);
                        ck_assert_uint_eq(v->vf, 1);
                        ck_assert_uint_eq(v->vlan, 42);
                        ck_assert_uint_eq(v->qos, 3);
                        ck_assert_uint_eq(t->setting, 1);
                        /* keys not asked for are not sent, so a driver that lacks them is not asked */
                        ck_assert_ptr_null(vf_attr(info, IFLA_VF_LINK_STATE));
                        ck_assert_ptr_null(vf_attr(info, IFLA_VF_RATE));
                        ck_assert_ptr_null(vf_attr(info, IFLA_VF_SPOOFCHK));
                } else {
                        struct ifla_vf_rate *r = nla_data(vf_attr(info, IFLA_VF_RATE));
                        struct ifla_vf_spoofchk *s = nla_data(vf_attr(info, IFLA_VF_SPOOFCHK));
                        struct ifla_vf_link_state *l = nla_data(vf_attr(info, IFLA_VF_LINK_STATE));
                        struct nlattr *vi;
                        int rem2, n = 0;

                        ck_assert_uint_eq(r->vf, 3);
                        ck_assert_uint_eq(r->min_tx_rate, 0);
                        ck_assert_uint_eq(r->max_tx_rate, 100);
                        ck_assert_uint_eq(s->vf, 3);
                        ck_assert_uint_eq(s->setting, 0);
                        ck_assert_uint_eq(l->link_state, IFLA_VF_LINK_STATE_DISABLE);
                        ck_assert_ptr_null(vf_attr(info, IFLA_VF_MAC));
                        /* 802.1ad needs the VLAN list, with the protocol in network byte order */
                        a = vf_attr(info, IFLA_VF_VLAN_LIST);
                        ck_assert_ptr_nonnull(a);
                        nla_for_each_nested(vi, a, rem2) {
                                struct ifla_vf_vlan_info *x = nla_data(vi);
                                ck_assert_int_eq(nla_type(vi), IFLA_VF_VLAN_INFO);
                                ck_assert_uint_eq(x->vf, 3);
                                ck_assert_uint_eq(x->vlan, 7);
                                ck_assert_uint_eq(x->vlan_proto, htons(ETH_P_8021AD));
                                n++;
                        }
                        ck_assert_int_eq(n, 1);
                }
                seen++;
        }
        ck_assert_uint_eq(seen, 2);
        nlmsg_free(msg);
}
END_TEST

static void put_vf(struct nl_msg *msg, unsigned vf, uint8_t last_mac_byte, unsigned vlan,
                   uint32_t spoofchk) {
        struct nlattr *info = nla_nest_start(msg, IFLA_VF_INFO);
        struct ifla_vf_mac m = {.vf = vf, .mac = {0x02, 0, 0, 0, 0, last_mac_byte}};
        struct ifla_vf_vlan v = {.vf = vf, .vlan = vlan, .qos = 1};
        struct ifla_vf_spoofchk s = {.vf = vf, .setting = spoofchk};
        struct ifla_vf_rate r = {.vf = vf, .min_tx_rate = 0, .max_tx_rate = 50};
        struct ifla_vf_trust t = {.vf = vf, .setting = UINT32_MAX};

        nla_put(msg, IFLA_VF_MAC, sizeof m, &m);
        nla_put(msg, IFLA_VF_VLAN, sizeof v, &v);
        nla_put(msg, IFLA_VF_SPOOFCHK, sizeof s, &s);
        nla_put(msg, IFLA_VF_RATE, sizeof r, &r);
        nla_put(msg, IFLA_VF_TRUST, sizeof t, &t);
        nla_nest_end(msg, info);
}

static struct nl_msg *fake_link(unsigned num_vfs, unsigned reported) {
        struct ifinfomsg ifi = {.ifi_index = 4};
        struct nl_msg *msg;
        struct nlattr *list;

        nlmsg_set_default_size(1 << 17);
        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);

        ck_assert_ptr_nonnull(msg);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        nla_put_string(msg, IFLA_IFNAME, "enp1s0");
        nla_put_u32(msg, IFLA_NUM_VF, num_vfs);
        list = nla_nest_start(msg, IFLA_VFINFO_LIST);
        for (unsigned i = 0; i < reported; i++)
                put_vf(msg, i, (uint8_t) (0x10 + i), 100 + i, i == 1 ? UINT32_MAX : 1);
        ck_assert_ptr_nonnull(list);
        nla_nest_end(msg, list);
        return msg;
}

START_TEST(test_parse_link) {
        struct nl_msg *msg = fake_link(3, 3);
        NetlinkLinkVfs l;

        ck_assert_int_eq(netlink_parse_link_vfs(nlmsg_hdr(msg), &l), 0);
        ck_assert_str_eq(l.ifname, "enp1s0");
        ck_assert_uint_eq(l.num_vfs, 3);
        ck_assert_uint_eq(l.n_reported, 3);
        ck_assert(!l.truncated);
        ck_assert_uint_eq(l.vfs[2].mac.ether_addr_octet[5], 0x12);
        ck_assert_uint_eq(l.vfs[2].vlan, 102);
        ck_assert_uint_eq(l.vfs[2].qos, 1);
        ck_assert_int_eq(l.vfs[2].vlan_protocol, VLAN_PROTOCOL_8021Q);
        ck_assert_uint_eq(l.vfs[2].max_tx_rate, 50);
        ck_assert(POLICY_HAS(&l.vfs[0], POLICY_MAC_SPOOF_CHECK));
        ck_assert(l.vfs[0].spoof_check);
        /* (u32) -1 means the driver does not report it: not taken as a value */
        ck_assert(!POLICY_HAS(&l.vfs[1], POLICY_MAC_SPOOF_CHECK));
        ck_assert(!POLICY_HAS(&l.vfs[0], POLICY_TRUST));
        ck_assert(!POLICY_HAS(&l.vfs[0], POLICY_LINK_STATE));
        netlink_link_vfs_done(&l);
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_parse_truncated) {
        /* a PF with 300 VFs whose list only had room for 200 */
        struct nl_msg *msg = fake_link(300, 200);
        NetlinkLinkVfs l;

        ck_assert_int_eq(netlink_parse_link_vfs(nlmsg_hdr(msg), &l), 0);
        ck_assert_uint_eq(l.num_vfs, 300);
        ck_assert_uint_eq(l.n_reported, 200);
        ck_assert(l.truncated);
        ck_assert(POLICY_HAS(&l.vfs[199], POLICY_MAC_ADDRESS));
        ck_assert(!POLICY_HAS(&l.vfs[200], POLICY_MAC_ADDRESS));
        netlink_link_vfs_done(&l);
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_parse_bad_num_vfs) {
        /* more VFs than the 16-bit TotalVFs allows: refused, not one VfPolicy each (found by fuzzing) */
        struct nl_msg *msg = fake_link(65536, 0);
        struct ifinfomsg ifi = {.ifi_index = 4};
        NetlinkLinkVfs l;

        ck_assert_int_eq(netlink_parse_link_vfs(nlmsg_hdr(msg), &l), -EBADMSG);
        nlmsg_free(msg);
        msg = fake_link(65535, 1);
        ck_assert_int_eq(netlink_parse_link_vfs(nlmsg_hdr(msg), &l), 0);
        ck_assert_uint_eq(l.num_vfs, 65535);
        netlink_link_vfs_done(&l);
        nlmsg_free(msg);

        /* an IFLA_NUM_VF too short for its u32 is not read past its end */
        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        ck_assert_ptr_nonnull(msg);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        ck_assert_int_eq(nla_put(msg, IFLA_NUM_VF, 2, "\x01\x00"), 0);
        ck_assert_int_eq(netlink_parse_link_vfs(nlmsg_hdr(msg), &l), -EBADMSG);
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_set_request_guids) {
        NetlinkVfChange c = {.index = 2, .keys = KEY(POLICY_NODE_GUID) | KEY(POLICY_PORT_GUID)};
        struct nlattr *tb[IFLA_MAX + 1], *info, *node, *port;
        /* what the kernel reads: struct ifla_vf_guid, the GUID a host-order number */
        struct ifla_vf_guid want_node = {.vf = 2, .guid = UINT64_C(0x0011223344556677)};
        struct ifla_vf_guid want_port = {.vf = 2, .guid = UINT64_C(0x0011223344556678)};
        struct ifla_vf_guid got;
        struct nl_msg *msg;
        int rem, n = 0;

        ck_assert_int_eq(policy_set_from_string(&c.want, POLICY_NODE_GUID, "00:11:22:33:44:55:66:77", NULL),
                         0);
        ck_assert_int_eq(policy_set_from_string(&c.want, POLICY_PORT_GUID, "00:11:22:33:44:55:66:78", NULL),
                         0);
        ck_assert_int_eq(netlink_build_set_request(9, &c, 1, &msg), 0);
        ck_assert_int_eq(nlmsg_parse(nlmsg_hdr(msg), sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL), 0);
        ck_assert_ptr_nonnull(tb[IFLA_VFINFO_LIST]);
        nla_for_each_nested(info, tb[IFLA_VFINFO_LIST], rem) {
                ck_assert_int_eq(nla_type(info), IFLA_VF_INFO);
                node = vf_attr(info, IFLA_VF_IB_NODE_GUID);
                port = vf_attr(info, IFLA_VF_IB_PORT_GUID);
                ck_assert_ptr_nonnull(node);
                ck_assert_ptr_nonnull(port);
                ck_assert_int_eq(nla_len(node), sizeof(struct ifla_vf_guid));
                ck_assert_int_eq(nla_len(port), sizeof(struct ifla_vf_guid));
                /* byte for byte the hand-built layout at the kernel's offsets (the padding between
                 * the two fields is whatever libnl left there, and the kernel ignores it) */
                ck_assert_int_eq(memcmp((uint8_t *) nla_data(node) + offsetof(struct ifla_vf_guid, vf),
                                        &want_node.vf, sizeof want_node.vf),
                                 0);
                ck_assert_int_eq(memcmp((uint8_t *) nla_data(node) + offsetof(struct ifla_vf_guid, guid),
                                        &want_node.guid, sizeof want_node.guid),
                                 0);
                memcpy(&got, nla_data(node), sizeof got);
                ck_assert_uint_eq(got.vf, 2);
                ck_assert_uint_eq(got.guid, want_node.guid);
                memcpy(&got, nla_data(port), sizeof got);
                ck_assert_uint_eq(got.vf, want_port.vf);
                ck_assert_uint_eq(got.guid, want_port.guid);
                /* nothing else is sent for this VF */
                ck_assert_ptr_null(vf_attr(info, IFLA_VF_MAC));
                ck_assert_ptr_null(vf_attr(info, IFLA_VF_VLAN));
                ck_assert_ptr_null(vf_attr(info, IFLA_VF_TRUST));
                n++;
        }
        ck_assert_int_eq(n, 1);
        nlmsg_free(msg);

        /* one GUID alone, as when narrowing down a refusal to one attribute */
        c.keys = KEY(POLICY_PORT_GUID);
        ck_assert_int_eq(netlink_build_set_request(9, &c, 1, &msg), 0);
        ck_assert_int_eq(nlmsg_parse(nlmsg_hdr(msg), sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL), 0);
        nla_for_each_nested(info, tb[IFLA_VFINFO_LIST], rem) {
                ck_assert_ptr_null(vf_attr(info, IFLA_VF_IB_NODE_GUID));
                ck_assert_ptr_nonnull(vf_attr(info, IFLA_VF_IB_PORT_GUID));
        }
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_parse_guids) {
        /* a dump as an InfiniBand PF driver (ndo_get_vf_guid) gives it: VF 1 has GUIDs, VF 0 none */
        struct ifinfomsg ifi = {.ifi_index = 4};
        struct nlattr *list, *info;
        struct nl_msg *msg;
        NetlinkLinkVfs l;

        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        ck_assert_ptr_nonnull(msg);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        nla_put_string(msg, IFLA_IFNAME, "ib0");
        nla_put_u32(msg, IFLA_NUM_VF, 2);
        list = nla_nest_start(msg, IFLA_VFINFO_LIST);
        for (unsigned vf = 0; vf < 2; vf++) {
                struct ifla_vf_mac m = {.vf = vf};
                struct ifla_vf_guid node = {.vf = vf, .guid = UINT64_C(0x0011223344556600) + vf};
                struct ifla_vf_guid port = {.vf = vf, .guid = UINT64_C(0xfedcba9876543200) + vf};

                info = nla_nest_start(msg, IFLA_VF_INFO);
                nla_put(msg, IFLA_VF_MAC, sizeof m, &m);
                if (vf == 1) {
                        nla_put(msg, IFLA_VF_IB_NODE_GUID, sizeof node, &node);
                        nla_put(msg, IFLA_VF_IB_PORT_GUID, sizeof port, &port);
                }
                nla_nest_end(msg, info);
        }
        nla_nest_end(msg, list);

        ck_assert_int_eq(netlink_parse_link_vfs(nlmsg_hdr(msg), &l), 0);
        ck_assert_uint_eq(l.n_reported, 2);
        ck_assert(!POLICY_HAS(&l.vfs[0], POLICY_NODE_GUID));
        ck_assert(!POLICY_HAS(&l.vfs[0], POLICY_PORT_GUID));
        ck_assert(POLICY_HAS(&l.vfs[1], POLICY_NODE_GUID));
        ck_assert(POLICY_HAS(&l.vfs[1], POLICY_PORT_GUID));
        ck_assert_uint_eq(l.vfs[1].node_guid, UINT64_C(0x0011223344556601));
        ck_assert_uint_eq(l.vfs[1].port_guid, UINT64_C(0xfedcba9876543201));
        {
                _cleanup_free_ char *v = NULL;
                ck_assert_int_eq(policy_value_to_string(&l.vfs[1], POLICY_NODE_GUID, &v), 0);
                ck_assert_str_eq(v, "00:11:22:33:44:55:66:01");
        }
        netlink_link_vfs_done(&l);
        nlmsg_free(msg);

        /* a GUID attribute too short for struct ifla_vf_guid is not read */
        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        nla_put_u32(msg, IFLA_NUM_VF, 1);
        list = nla_nest_start(msg, IFLA_VFINFO_LIST);
        info = nla_nest_start(msg, IFLA_VF_INFO);
        {
                struct ifla_vf_mac m = {.vf = 0};
                nla_put(msg, IFLA_VF_MAC, sizeof m, &m);
                nla_put(msg, IFLA_VF_IB_NODE_GUID, 8, "\0\0\0\0\1\2\3\4");
        }
        nla_nest_end(msg, info);
        nla_nest_end(msg, list);
        ck_assert_int_eq(netlink_parse_link_vfs(nlmsg_hdr(msg), &l), 0);
        ck_assert(!POLICY_HAS(&l.vfs[0], POLICY_NODE_GUID));
        netlink_link_vfs_done(&l);
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_mtu_request) {
        struct nlattr *tb[IFLA_MAX + 1];
        struct ifinfomsg *ifi;
        struct nl_msg *msg;
        struct nlmsghdr *h;
        int n = 0, rem;
        struct nlattr *a;

        ck_assert_int_eq(netlink_build_mtu_request(12, 9000, &msg), 0);
        h = nlmsg_hdr(msg);
        ck_assert_int_eq(h->nlmsg_type, RTM_SETLINK);
        ck_assert(h->nlmsg_flags & NLM_F_ACK);
        ifi = nlmsg_data(h);
        /* the VF's own netdev, nothing about its flags */
        ck_assert_int_eq(ifi->ifi_index, 12);
        ck_assert_uint_eq(ifi->ifi_change, 0);
        ck_assert_uint_eq(ifi->ifi_flags, 0);
        ck_assert_int_eq(nlmsg_parse(h, sizeof *ifi, tb, IFLA_MAX, NULL), 0);
        ck_assert_ptr_nonnull(tb[IFLA_MTU]);
        ck_assert_int_eq(nla_len(tb[IFLA_MTU]), 4);
        ck_assert_uint_eq(nla_get_u32(tb[IFLA_MTU]), 9000);
        /* IFLA_MTU and nothing else */
        nlmsg_for_each_attr(a, h, sizeof *ifi, rem) n++;
        ck_assert_int_eq(n, 1);
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_parse_mtu) {
        struct ifinfomsg ifi = {.ifi_index = 12};
        NetlinkLinkMtu m;
        struct nl_msg *msg;

        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        nla_put_string(msg, IFLA_IFNAME, "enp1s0v0");
        nla_put_u32(msg, IFLA_MTU, 1500);
        nla_put_u32(msg, IFLA_MIN_MTU, 68);
        nla_put_u32(msg, IFLA_MAX_MTU, 9216);
        ck_assert_int_eq(netlink_parse_link_mtu(nlmsg_hdr(msg), &m), 0);
        ck_assert_str_eq(m.ifname, "enp1s0v0");
        ck_assert_uint_eq(m.mtu, 1500);
        ck_assert_uint_eq(m.min_mtu, 68);
        ck_assert_uint_eq(m.max_mtu, 9216);
        nlmsg_free(msg);

        /* a kernel without IFLA_MIN_MTU/IFLA_MAX_MTU: no range */
        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        nla_put_u32(msg, IFLA_MTU, 9000);
        ck_assert_int_eq(netlink_parse_link_mtu(nlmsg_hdr(msg), &m), 0);
        ck_assert_uint_eq(m.mtu, 9000);
        ck_assert_uint_eq(m.max_mtu, 0);
        nlmsg_free(msg);

        /* no MTU, a short one, or not a link message */
        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        ck_assert_int_eq(netlink_parse_link_mtu(nlmsg_hdr(msg), &m), -ENODATA);
        nla_put(msg, IFLA_MTU, 2, "\x05\xdc");
        ck_assert_int_eq(netlink_parse_link_mtu(nlmsg_hdr(msg), &m), -EBADMSG);
        nlmsg_free(msg);
        msg = nlmsg_alloc_simple(RTM_NEWADDR, 0);
        ck_assert_int_eq(nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO), 0);
        ck_assert_int_eq(netlink_parse_link_mtu(nlmsg_hdr(msg), &m), -EBADMSG);
        nlmsg_free(msg);
}
END_TEST

START_TEST(test_attr_keys) {
        uint32_t all = 0;

        for (NetlinkVfAttr a = 0; a < _NETLINK_VF_ATTR_MAX; a++) {
                ck_assert_uint_eq(all & netlink_vf_attr_keys(a), 0); /* disjoint */
                all |= netlink_vf_attr_keys(a);
        }
        ck_assert_uint_eq(all, POLICY_NETLINK_KEYS);
        /* the VF netdev's MTU is not the PF's to set, nor the driver */
        ck_assert_uint_eq(all & KEY(POLICY_MTU), 0);
        ck_assert_uint_eq(all & KEY(POLICY_DRIVER), 0);
        ck_assert_uint_eq(netlink_vf_attr_keys(NETLINK_VF_IB_NODE_GUID), KEY(POLICY_NODE_GUID));
        ck_assert_uint_eq(netlink_vf_attr_keys(NETLINK_VF_IB_PORT_GUID), KEY(POLICY_PORT_GUID));
}
END_TEST

int main(void) {
        Suite *s = suite_create("netlink");
        TCase *tc = tcase_create("messages");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_get_request);
        tcase_add_test(tc, test_set_request);
        tcase_add_test(tc, test_parse_link);
        tcase_add_test(tc, test_parse_truncated);
        tcase_add_test(tc, test_parse_bad_num_vfs);
        tcase_add_test(tc, test_attr_keys);
        tcase_add_test(tc, test_set_request_guids);
        tcase_add_test(tc, test_parse_guids);
        tcase_add_test(tc, test_mtu_request);
        tcase_add_test(tc, test_parse_mtu);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
