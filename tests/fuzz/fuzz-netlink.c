/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rtnetlink VF-info parser (daemon/netlink.c: netlink_parse_link_vfs()), and the MTU parser
 * (netlink_parse_link_mtu()) that reads a VF netdev's link, on an RTM_NEWLINK message
 * whose payload (struct ifinfomsg and the attributes) is the input. libnl hands the parser only
 * messages whose nlmsg_len fits what was received (nlmsg_ok() in nl_recvmsgs()), so the header is
 * built here to fit, and every mutation reaches the attribute parser. */
#include <linux/rtnetlink.h>
#include <netlink/msg.h>

#include "fuzz.h"
#include "netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ struct nlmsghdr *nlh = NULL;
        NetlinkLinkVfs l = {};
        NetlinkLinkMtu m;
        int r;

        if (size > UINT32_MAX - NLMSG_HDRLEN)
                return 0;
        /* exactly the message, so that a read past its end is caught */
        nlh = malloc(NLMSG_HDRLEN + size);
        if (!nlh)
                return 0;
        *nlh = (struct nlmsghdr){
                .nlmsg_len = NLMSG_HDRLEN + size,
                .nlmsg_type = RTM_NEWLINK,
        };
        memcpy((uint8_t *) nlh + NLMSG_HDRLEN, data, size);

        r = netlink_parse_link_mtu(nlh, &m);
        FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -ENODATA);
        if (r == 0)
                FUZZ_ASSERT(memchr(m.ifname, 0, sizeof m.ifname));

        r = netlink_parse_link_vfs(nlh, &l);
        if (r < 0) {
                FUZZ_ASSERT(r == -EBADMSG || r == -ENOMEM);
                return 0;
        }
        FUZZ_ASSERT(l.vfs);
        FUZZ_ASSERT(memchr(l.ifname, 0, sizeof l.ifname));
        FUZZ_ASSERT(l.truncated == (l.n_reported < l.num_vfs));
        for (unsigned i = 0; i < l.num_vfs; i++) {
                const VfPolicy *p = &l.vfs[i];

                FUZZ_ASSERT((p->set & ~POLICY_NETLINK_KEYS) == 0);
                FUZZ_ASSERT(p->link_state >= 0 && p->link_state < _LINK_STATE_MAX);
                FUZZ_ASSERT(p->vlan_protocol >= 0 && p->vlan_protocol < _VLAN_PROTOCOL_MAX);
        }
        netlink_link_vfs_done(&l);
        return 0;
}
