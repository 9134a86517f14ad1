/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdbool.h>

#include "policy.h"

/* The thin rtnetlink adapter for per-VF settings, all through the PF's link. Blocking: used from job
 * threads only, each with its own socket. */

/* The policy keys that are VF attributes of the PF's link (everything but Driver, and MTU, which is
 * the VF's own netdev's). */
#define POLICY_NETLINK_KEYS                                                         \
        (((UINT32_C(1) << _POLICY_KEY_MAX) - 1) & ~(UINT32_C(1) << POLICY_DRIVER) & \
         ~(UINT32_C(1) << POLICY_MTU))

typedef struct NetlinkLinkVfs {
        char ifname[16];
        unsigned num_vfs; /* IFLA_NUM_VF: what the kernel says the PF has */
        VfPolicy *vfs; /* by VF index, num_vfs entries; ->set marks what the kernel reported */
        size_t n_reported; /* IFLA_VF_INFO entries found */
        bool truncated; /* the list ended before num_vfs: too many VFs for one attribute */
} NetlinkLinkVfs;

void netlink_link_vfs_done(NetlinkLinkVfs *l);

typedef struct NetlinkVfChange {
        unsigned index;
        uint32_t keys; /* the attributes to send, as policy key bits */
        VfPolicy want; /* values for those keys; VLAN and rates are sent whole, so all of their keys */
} NetlinkVfChange;

/* The groups of keys that travel in one attribute: the kernel refuses or accepts each as a whole. */
typedef enum NetlinkVfAttr {
        NETLINK_VF_MAC,
        NETLINK_VF_VLAN,
        NETLINK_VF_RATE,
        NETLINK_VF_SPOOFCHK,
        NETLINK_VF_LINK_STATE,
        NETLINK_VF_RSS_QUERY,
        NETLINK_VF_TRUST,
        NETLINK_VF_IB_NODE_GUID,
        NETLINK_VF_IB_PORT_GUID,
        _NETLINK_VF_ATTR_MAX,
} NetlinkVfAttr;

uint32_t netlink_vf_attr_keys(NetlinkVfAttr a);

int netlink_open(struct nl_sock **ret);
/* RTM_GETLINK of one link, asking for VF info without stats. */
int netlink_build_get_request(int ifindex, struct nl_msg **ret);
/* RTM_SETLINK of the PF with one IFLA_VF_INFO per change, in order. */
int netlink_build_set_request(int ifindex, const NetlinkVfChange *changes, size_t n, struct nl_msg **ret);
/* Parses an RTM_NEWLINK message's IFLA_IFNAME, IFLA_NUM_VF and IFLA_VFINFO_LIST. */
int netlink_parse_link_vfs(struct nlmsghdr *nlh, NetlinkLinkVfs *ret);

int netlink_get_vfs(struct nl_sock *sk, int ifindex, NetlinkLinkVfs *ret);
/* Returns the kernel's -errno for the whole request. */
int netlink_set_vfs(struct nl_sock *sk, int ifindex, const NetlinkVfChange *changes, size_t n);

/* One netdev's MTU and the range its driver allows (IFLA_MIN_MTU, IFLA_MAX_MTU; 0 when the kernel does
 * not say). */
typedef struct NetlinkLinkMtu {
        char ifname[16];
        uint32_t mtu;
        uint32_t min_mtu;
        uint32_t max_mtu;
} NetlinkLinkMtu;

/* RTM_SETLINK of a netdev (not the PF: a VF's own) that changes its IFLA_MTU and nothing else. */
int netlink_build_mtu_request(int ifindex, uint32_t mtu, struct nl_msg **ret);
/* Parses an RTM_NEWLINK message's IFLA_IFNAME, IFLA_MTU, IFLA_MIN_MTU and IFLA_MAX_MTU; -ENODATA without
 * IFLA_MTU. */
int netlink_parse_link_mtu(struct nlmsghdr *nlh, NetlinkLinkMtu *ret);
int netlink_get_mtu(struct nl_sock *sk, int ifindex, NetlinkLinkMtu *ret);
/* Returns the kernel's -errno. */
int netlink_set_mtu(struct nl_sock *sk, int ifindex, uint32_t mtu);

/* A non-blocking socket subscribed to link notifications; f gets each link's name and its MTU (0 if the
 * notification has none). */
typedef void (*NetlinkLinkChanged)(const char *ifname, uint32_t mtu, void *userdata);
int netlink_monitor_open(NetlinkLinkChanged f, void *userdata, struct nl_sock **ret);
/* Reads what is queued; returns -errno on socket errors. */
int netlink_monitor_dispatch(struct nl_sock *sk);
