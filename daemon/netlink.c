/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/attr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/sriov.h>
#include <netlink/socket.h>

#include "netlink.h"
#include "util.h"

#define KEY(k) (UINT32_C(1) << (k))

uint32_t netlink_vf_attr_keys(NetlinkVfAttr a) {
        switch (a) {
        case NETLINK_VF_MAC:
                return KEY(POLICY_MAC_ADDRESS);
        case NETLINK_VF_VLAN:
                return KEY(POLICY_VLAN_ID) | KEY(POLICY_QOS) | KEY(POLICY_VLAN_PROTOCOL);
        case NETLINK_VF_RATE:
                return KEY(POLICY_MIN_TX_RATE) | KEY(POLICY_MAX_TX_RATE);
        case NETLINK_VF_SPOOFCHK:
                return KEY(POLICY_MAC_SPOOF_CHECK);
        case NETLINK_VF_LINK_STATE:
                return KEY(POLICY_LINK_STATE);
        case NETLINK_VF_RSS_QUERY:
                return KEY(POLICY_QUERY_RSS);
        case NETLINK_VF_TRUST:
                return KEY(POLICY_TRUST);
        case NETLINK_VF_IB_NODE_GUID:
                return KEY(POLICY_NODE_GUID);
        case NETLINK_VF_IB_PORT_GUID:
                return KEY(POLICY_PORT_GUID);
        default:
                return 0;
        }
}

void netlink_link_vfs_done(NetlinkLinkVfs *l) {
        l->vfs = mfree(l->vfs);
}

static int nl_to_errno(int nlerr) {
        /* libnl's own codes lose the kernel's errno; only used where no kernel answer exists */
        switch (abs(nlerr)) {
        case NLE_NOMEM:
                return -ENOMEM;
        case NLE_OBJ_NOTFOUND:
                return -ENODEV;
        case NLE_MSGSIZE:
                return -EMSGSIZE;
        case NLE_OPNOTSUPP:
                return -EOPNOTSUPP;
        case NLE_INVAL:
                return -EINVAL;
        default:
                return -EIO;
        }
}

int netlink_open(struct nl_sock **ret) {
        struct nl_sock *sk;
        int r;

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_to_errno(r);
        }
        /* a PF with many VFs answers with a large message: size the buffer by peeking */
        nl_socket_enable_msg_peek(sk);
        *ret = sk;
        return 0;
}

int netlink_build_get_request(int ifindex, struct nl_msg **ret) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        struct nl_msg *msg;

        msg = nlmsg_alloc_simple(RTM_GETLINK, 0);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
            nla_put_u32(msg, IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS) < 0) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        *ret = msg;
        return 0;
}

static int vf_change_fill(struct rtnl_link_vf *vf, const NetlinkVfChange *c) {
        const VfPolicy *w = &c->want;

        rtnl_link_vf_set_index(vf, c->index);

        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_MAC)) {
                struct nl_addr *a = nl_addr_build(AF_LLC, &w->mac, ETH_ALEN);
                if (!a)
                        return -ENOMEM;
                rtnl_link_vf_set_addr(vf, a);
                nl_addr_put(a);
        }
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_VLAN)) {
                nl_vf_vlans_t *vlans;

                if (rtnl_link_vf_vlan_alloc(&vlans, 1) < 0)
                        return -ENOMEM;
                vlans->vlans[0].vf_vlan = w->vlan;
                vlans->vlans[0].vf_vlan_qos = w->qos;
                /* libnl sends 802.1Q as the plain IFLA_VF_VLAN, which every driver knows, and any other
                 * protocol in IFLA_VF_VLAN_LIST, copying this field as is where the kernel wants
                 * network byte order: so 802.1ad goes in already swapped. */
                vlans->vlans[0].vf_vlan_proto =
                        w->vlan_protocol == VLAN_PROTOCOL_8021AD ? htons(ETH_P_8021AD) : ETH_P_8021Q;
                rtnl_link_vf_set_vlans(vf, vlans);
                rtnl_link_vf_vlan_put(vlans);
        }
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_RATE)) {
                struct nl_vf_rate rate = {
                        .api = RTNL_LINK_VF_RATE_API_NEW,
                        .min_tx_rate = w->min_tx_rate,
                        .max_tx_rate = w->max_tx_rate,
                };
                rtnl_link_vf_set_rate(vf, &rate);
        }
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_SPOOFCHK))
                rtnl_link_vf_set_spoofchk(vf, w->spoof_check);
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_LINK_STATE))
                /* IFLA_VF_LINK_STATE_AUTO, _ENABLE, _DISABLE are 0, 1, 2 like LinkState */
                rtnl_link_vf_set_linkstate(vf, (uint32_t) w->link_state);
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_RSS_QUERY))
                rtnl_link_vf_set_rss_query_en(vf, w->query_rss);
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_TRUST))
                rtnl_link_vf_set_trust(vf, w->trust);
        /* struct ifla_vf_guid carries the GUID as a number in host order, as ip-link(8) sends it */
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_IB_NODE_GUID))
                rtnl_link_vf_set_ib_node_guid(vf, w->node_guid);
        if (c->keys & netlink_vf_attr_keys(NETLINK_VF_IB_PORT_GUID))
                rtnl_link_vf_set_ib_port_guid(vf, w->port_guid);
        return 0;
}

int netlink_build_set_request(int ifindex, const NetlinkVfChange *changes, size_t n, struct nl_msg **ret) {
        struct rtnl_link *orig = NULL, *link = NULL;
        struct nl_msg *msg = NULL;
        int r;

        orig = rtnl_link_alloc();
        link = rtnl_link_alloc();
        if (!orig || !link) {
                r = -ENOMEM;
                goto finish;
        }
        rtnl_link_set_ifindex(orig, ifindex);
        rtnl_link_set_ifindex(link, ifindex);

        /* libnl keeps the VF list in reverse order of adding; add backwards to send in order */
        for (size_t i = n; i > 0; i--) {
                struct rtnl_link_vf *vf = rtnl_link_vf_alloc();

                if (!vf) {
                        r = -ENOMEM;
                        goto finish;
                }
                r = vf_change_fill(vf, changes + i - 1);
                if (r >= 0)
                        r = rtnl_link_vf_add(link, vf) < 0 ? -ENOMEM : 0;
                rtnl_link_vf_put(vf);
                if (r < 0)
                        goto finish;
        }

        r = rtnl_link_build_change_request(orig, link, 0, &msg);
        if (r < 0) {
                r = nl_to_errno(r);
                goto finish;
        }
        *ret = msg;
        r = 0;
finish:
        rtnl_link_put(orig);
        rtnl_link_put(link);
        return r;
}

static void vf_report(NetlinkLinkVfs *l, unsigned index, PolicyKey k) {
        if (index < l->num_vfs)
                l->vfs[index].set |= KEY(k);
}

/* The VLAN list where the kernel sends one (it carries the protocol), else the plain VLAN. */
static void parse_vf_vlan(struct nlattr **tb, NetlinkLinkVfs *l, unsigned index) {
        VfPolicy *p = l->vfs + index;
        bool found = false;

        if (tb[IFLA_VF_VLAN_LIST]) {
                struct nlattr *v;
                int rem;

                nla_for_each_nested(v, tb[IFLA_VF_VLAN_LIST], rem) {
                        struct ifla_vf_vlan_info *vi;

                        if (nla_type(v) != IFLA_VF_VLAN_INFO || nla_len(v) < (int) sizeof *vi)
                                continue;
                        vi = nla_data(v);
                        p->vlan = (uint16_t) vi->vlan;
                        p->qos = vi->qos;
                        p->vlan_protocol = ntohs(vi->vlan_proto) == ETH_P_8021AD ? VLAN_PROTOCOL_8021AD
                                                                                 : VLAN_PROTOCOL_8021Q;
                        found = true;
                        break;
                }
        } else if (tb[IFLA_VF_VLAN] && nla_len(tb[IFLA_VF_VLAN]) >= (int) sizeof(struct ifla_vf_vlan)) {
                struct ifla_vf_vlan *v = nla_data(tb[IFLA_VF_VLAN]);

                p->vlan = (uint16_t) v->vlan;
                p->qos = v->qos;
                p->vlan_protocol = VLAN_PROTOCOL_8021Q;
                found = true;
        }
        if (found) {
                vf_report(l, index, POLICY_VLAN_ID);
                vf_report(l, index, POLICY_QOS);
                vf_report(l, index, POLICY_VLAN_PROTOCOL);
        }
}

static int parse_vf_info(struct nlattr *info, NetlinkLinkVfs *l) {
        struct nlattr *tb[IFLA_VF_MAX + 1];
        struct ifla_vf_mac *mac;
        unsigned index;
        VfPolicy *p;
        int r;

        r = nla_parse_nested(tb, IFLA_VF_MAX, info, NULL);
        if (r < 0 || !tb[IFLA_VF_MAC] || nla_len(tb[IFLA_VF_MAC]) < (int) sizeof(struct ifla_vf_mac))
                return -EBADMSG;
        mac = nla_data(tb[IFLA_VF_MAC]);
        index = mac->vf;
        if (index >= l->num_vfs)
                return 0;
        p = l->vfs + index;
        l->n_reported++;

        memcpy(&p->mac, mac->mac, ETH_ALEN);
        vf_report(l, index, POLICY_MAC_ADDRESS);

        parse_vf_vlan(tb, l, index);
        if (tb[IFLA_VF_RATE] && nla_len(tb[IFLA_VF_RATE]) >= (int) sizeof(struct ifla_vf_rate)) {
                struct ifla_vf_rate *v = nla_data(tb[IFLA_VF_RATE]);

                p->min_tx_rate = v->min_tx_rate;
                p->max_tx_rate = v->max_tx_rate;
                vf_report(l, index, POLICY_MIN_TX_RATE);
                vf_report(l, index, POLICY_MAX_TX_RATE);
        }
        /* drivers that do not know a setting report it as (u32) -1 */
        if (tb[IFLA_VF_SPOOFCHK] && nla_len(tb[IFLA_VF_SPOOFCHK]) >= (int) sizeof(struct ifla_vf_spoofchk)) {
                struct ifla_vf_spoofchk *v = nla_data(tb[IFLA_VF_SPOOFCHK]);

                if (v->setting != UINT32_MAX) {
                        p->spoof_check = !!v->setting;
                        vf_report(l, index, POLICY_MAC_SPOOF_CHECK);
                }
        }
        if (tb[IFLA_VF_LINK_STATE] &&
            nla_len(tb[IFLA_VF_LINK_STATE]) >= (int) sizeof(struct ifla_vf_link_state)) {
                struct ifla_vf_link_state *v = nla_data(tb[IFLA_VF_LINK_STATE]);

                if (v->link_state < _LINK_STATE_MAX) {
                        p->link_state = (LinkState) v->link_state;
                        vf_report(l, index, POLICY_LINK_STATE);
                }
        }
        if (tb[IFLA_VF_RSS_QUERY_EN] &&
            nla_len(tb[IFLA_VF_RSS_QUERY_EN]) >= (int) sizeof(struct ifla_vf_rss_query_en)) {
                struct ifla_vf_rss_query_en *v = nla_data(tb[IFLA_VF_RSS_QUERY_EN]);

                if (v->setting != UINT32_MAX) {
                        p->query_rss = !!v->setting;
                        vf_report(l, index, POLICY_QUERY_RSS);
                }
        }
        if (tb[IFLA_VF_TRUST] && nla_len(tb[IFLA_VF_TRUST]) >= (int) sizeof(struct ifla_vf_trust)) {
                struct ifla_vf_trust *v = nla_data(tb[IFLA_VF_TRUST]);

                if (v->setting != UINT32_MAX) {
                        p->trust = !!v->setting;
                        vf_report(l, index, POLICY_TRUST);
                }
        }
        /* only from drivers with ndo_get_vf_guid (InfiniBand), since Linux 5.5 (read from source:
         * rtnl_fill_vfinfo() in net/core/rtnetlink.c) */
        if (tb[IFLA_VF_IB_NODE_GUID] &&
            nla_len(tb[IFLA_VF_IB_NODE_GUID]) >= (int) sizeof(struct ifla_vf_guid)) {
                struct ifla_vf_guid g;

                memcpy(&g, nla_data(tb[IFLA_VF_IB_NODE_GUID]), sizeof g);
                p->node_guid = g.guid;
                vf_report(l, index, POLICY_NODE_GUID);
        }
        if (tb[IFLA_VF_IB_PORT_GUID] &&
            nla_len(tb[IFLA_VF_IB_PORT_GUID]) >= (int) sizeof(struct ifla_vf_guid)) {
                struct ifla_vf_guid g;

                memcpy(&g, nla_data(tb[IFLA_VF_IB_PORT_GUID]), sizeof g);
                p->port_guid = g.guid;
                vf_report(l, index, POLICY_PORT_GUID);
        }
        return 0;
}

/* The PCI SR-IOV capability's TotalVFs is 16 bit: a PF never has more VFs. */
#define NUM_VFS_MAX 65535U

int netlink_parse_link_vfs(struct nlmsghdr *nlh, NetlinkLinkVfs *ret) {
        /* Without a policy, libnl checks no attribute's length: nla_get_u32() of a short IFLA_NUM_VF
         * would read past it. */
        static struct nla_policy policy[IFLA_MAX + 1] = {
                [IFLA_NUM_VF] = {.type = NLA_U32},
                [IFLA_VFINFO_LIST] = {.type = NLA_NESTED},
        };
        struct nlattr *tb[IFLA_MAX + 1];
        NetlinkLinkVfs l = {};
        struct nlattr *info;
        int r, rem;

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return -EBADMSG;
        r = nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, policy);
        if (r < 0)
                return -EBADMSG;
        if (tb[IFLA_IFNAME])
                nla_strlcpy(l.ifname, tb[IFLA_IFNAME], sizeof l.ifname);
        if (tb[IFLA_NUM_VF])
                l.num_vfs = nla_get_u32(tb[IFLA_NUM_VF]);
        /* one VfPolicy per VF is allocated below: never on a count no device can have */
        if (l.num_vfs > NUM_VFS_MAX)
                return -EBADMSG;
        l.vfs = calloc(MAX(l.num_vfs, 1u), sizeof *l.vfs);
        if (!l.vfs)
                return -ENOMEM;

        if (tb[IFLA_VFINFO_LIST])
                nla_for_each_nested(info, tb[IFLA_VFINFO_LIST], rem) {
                        if (nla_type(info) != IFLA_VF_INFO)
                                continue;
                        r = parse_vf_info(info, &l);
                        if (r < 0)
                                break;
                }
        /* The list is one attribute with a 16-bit length: past about 220 VFs (fewer with stats) the
         * kernel cannot fit every VF in it, and the VFs beyond are simply missing. */
        l.truncated = l.n_reported < l.num_vfs;
        *ret = l;
        return 0;
}

typedef struct Transaction {
        int error;
        bool done;
        NetlinkLinkVfs *link;
        NetlinkLinkMtu *mtu;
        int parse_error;
} Transaction;

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg) {
        Transaction *t = arg;

        t->error = err->error;
        t->done = true;
        return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg) {
        Transaction *t = arg;

        t->done = true;
        return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg) {
        Transaction *t = arg;

        if (t->link && nlmsg_hdr(msg)->nlmsg_type == RTM_NEWLINK) {
                netlink_link_vfs_done(t->link);
                t->parse_error = netlink_parse_link_vfs(nlmsg_hdr(msg), t->link);
        }
        if (t->mtu && nlmsg_hdr(msg)->nlmsg_type == RTM_NEWLINK)
                t->parse_error = netlink_parse_link_mtu(nlmsg_hdr(msg), t->mtu);
        return NL_OK;
}

static int transact(struct nl_sock *sk, struct nl_msg *msg, Transaction *t) {
        struct nl_cb *cb;
        int r;

        cb = nl_cb_alloc(NL_CB_DEFAULT);
        if (!cb)
                return -ENOMEM;
        nl_cb_err(cb, NL_CB_CUSTOM, on_error, t);
        nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, t);
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, t);

        r = nl_send_auto(sk, msg);
        while (r >= 0 && !t->done)
                r = nl_recvmsgs(sk, cb);
        nl_cb_put(cb);
        if (t->error < 0)
                return t->error;
        if (r < 0)
                return nl_to_errno(r);
        return 0;
}

int netlink_get_vfs(struct nl_sock *sk, int ifindex, NetlinkLinkVfs *ret) {
        NetlinkLinkVfs l = {};
        Transaction t = {.link = &l};
        struct nl_msg *msg;
        int r;

        r = netlink_build_get_request(ifindex, &msg);
        if (r < 0)
                return r;
        r = transact(sk, msg, &t);
        nlmsg_free(msg);
        if (r >= 0 && t.parse_error < 0)
                r = t.parse_error;
        if (r >= 0 && !l.vfs)
                r = -ENODATA;
        if (r < 0) {
                netlink_link_vfs_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

int netlink_set_vfs(struct nl_sock *sk, int ifindex, const NetlinkVfChange *changes, size_t n) {
        Transaction t = {};
        struct nl_msg *msg;
        int r;

        r = netlink_build_set_request(ifindex, changes, n, &msg);
        if (r < 0)
                return r;
        r = transact(sk, msg, &t);
        nlmsg_free(msg);
        return r;
}

int netlink_build_mtu_request(int ifindex, uint32_t mtu, struct nl_msg **ret) {
        struct ifinfomsg ifi = {.ifi_family = AF_UNSPEC, .ifi_index = ifindex};
        struct nl_msg *msg;

        msg = nlmsg_alloc_simple(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 || nla_put_u32(msg, IFLA_MTU, mtu) < 0) {
                nlmsg_free(msg);
                return -ENOMEM;
        }
        *ret = msg;
        return 0;
}

int netlink_parse_link_mtu(struct nlmsghdr *nlh, NetlinkLinkMtu *ret) {
        static struct nla_policy policy[IFLA_MAX + 1] = {
                [IFLA_MTU] = {.type = NLA_U32},
                [IFLA_MIN_MTU] = {.type = NLA_U32},
                [IFLA_MAX_MTU] = {.type = NLA_U32},
        };
        struct nlattr *tb[IFLA_MAX + 1];
        NetlinkLinkMtu l = {};

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return -EBADMSG;
        if (nlmsg_parse(nlh, sizeof(struct ifinfomsg), tb, IFLA_MAX, policy) < 0)
                return -EBADMSG;
        if (!tb[IFLA_MTU])
                return -ENODATA;
        if (tb[IFLA_IFNAME])
                nla_strlcpy(l.ifname, tb[IFLA_IFNAME], sizeof l.ifname);
        l.mtu = nla_get_u32(tb[IFLA_MTU]);
        if (tb[IFLA_MIN_MTU])
                l.min_mtu = nla_get_u32(tb[IFLA_MIN_MTU]);
        if (tb[IFLA_MAX_MTU])
                l.max_mtu = nla_get_u32(tb[IFLA_MAX_MTU]);
        *ret = l;
        return 0;
}

int netlink_get_mtu(struct nl_sock *sk, int ifindex, NetlinkLinkMtu *ret) {
        NetlinkLinkMtu l = {};
        Transaction t = {.mtu = &l, .parse_error = -ENODATA};
        struct nl_msg *msg;
        int r;

        r = netlink_build_get_request(ifindex, &msg);
        if (r < 0)
                return r;
        r = transact(sk, msg, &t);
        nlmsg_free(msg);
        if (r >= 0)
                r = t.parse_error;
        if (r < 0)
                return r;
        *ret = l;
        return 0;
}

int netlink_set_mtu(struct nl_sock *sk, int ifindex, uint32_t mtu) {
        Transaction t = {};
        struct nl_msg *msg;
        int r;

        r = netlink_build_mtu_request(ifindex, mtu, &msg);
        if (r < 0)
                return r;
        r = transact(sk, msg, &t);
        nlmsg_free(msg);
        return r;
}

typedef struct MonitorContext {
        NetlinkLinkChanged f;
        void *userdata;
} MonitorContext;

static int on_notification(struct nl_msg *msg, void *arg) {
        MonitorContext *c = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        static struct nla_policy policy[IFLA_MAX + 1] = {
                [IFLA_MTU] = {.type = NLA_U32},
        };
        struct nlattr *tb[IFLA_MAX + 1];
        char ifname[IFNAMSIZ];

        if (h->nlmsg_type != RTM_NEWLINK)
                return NL_OK;
        if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, policy) < 0 || !tb[IFLA_IFNAME])
                return NL_OK;
        nla_strlcpy(ifname, tb[IFLA_IFNAME], sizeof ifname);
        c->f(ifname, tb[IFLA_MTU] ? nla_get_u32(tb[IFLA_MTU]) : 0, c->userdata);
        return NL_OK;
}

int netlink_monitor_open(NetlinkLinkChanged f, void *userdata, struct nl_sock **ret) {
        static MonitorContext context;
        struct nl_sock *sk;
        int r;

        context = (MonitorContext){.f = f, .userdata = userdata};
        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        nl_socket_disable_seq_check(sk);
        nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_notification, &context);
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r >= 0)
                r = nl_socket_add_membership(sk, RTNLGRP_LINK);
        if (r >= 0)
                r = nl_socket_set_nonblocking(sk);
        if (r < 0) {
                nl_socket_free(sk);
                return nl_to_errno(r);
        }
        nl_socket_enable_msg_peek(sk);
        *ret = sk;
        return 0;
}

int netlink_monitor_dispatch(struct nl_sock *sk) {
        for (;;) {
                int r = nl_recvmsgs_default(sk);

                if (r == -NLE_AGAIN) /* nothing more queued */
                        return 0;
                if (r < 0)
                        return nl_to_errno(r);
        }
}
