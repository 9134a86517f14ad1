#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the binary seed inputs of the netlink and policy fuzz targets (the text targets' seeds are
plain files). Run from anywhere; it writes next to itself:

  tests/fuzz/make-seeds.py                  # netlink/ and policy/ seeds
  tests/fuzz/make-seeds.py --capture IFNAME # add the running kernel's RTM_NEWLINK of IFNAME

netlink/: what follows the nlmsghdr of an RTM_NEWLINK (struct ifinfomsg, then attributes), laid out
as net/core/rtnetlink.c's rtnl_fill_vfinfo() does for a PF queried with RTEXT_FILTER_VF |
RTEXT_FILTER_SKIP_STATS (sriovd's request): IFLA_NUM_VF, then IFLA_VFINFO_LIST with one IFLA_VF_INFO
per VF holding MAC, BROADCAST, VLAN, RATE, TX_RATE, SPOOFCHK, LINK_STATE, RSS_QUERY_EN, TRUST and
VLAN_LIST, in that order. --capture asks the kernel itself (on a host with an SR-IOV NIC that is a
real VF dump).

policy/: programs for fuzz-policy.c's interpreter (see there): an opcode picks the body's shape,
then each dictionary entry is a key byte, a nesting byte, a type byte and the value."""

import os
import socket
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# linux/rtnetlink.h, linux/if_link.h
RTM_NEWLINK, RTM_GETLINK = 16, 18
NLM_F_REQUEST = 1
IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU = 1, 2, 3, 4
IFLA_TXQLEN, IFLA_OPERSTATE, IFLA_NUM_VF, IFLA_VFINFO_LIST, IFLA_EXT_MASK = 13, 16, 21, 22, 29
IFLA_VF_INFO = 1
(IFLA_VF_MAC, IFLA_VF_VLAN, IFLA_VF_TX_RATE, IFLA_VF_SPOOFCHK, IFLA_VF_LINK_STATE, IFLA_VF_RATE,
 IFLA_VF_RSS_QUERY_EN, IFLA_VF_STATS, IFLA_VF_TRUST) = range(1, 10)
IFLA_VF_IB_NODE_GUID, IFLA_VF_IB_PORT_GUID, IFLA_VF_VLAN_LIST, IFLA_VF_BROADCAST = 10, 11, 12, 13
IFLA_VF_VLAN_INFO = 1
RTEXT_FILTER_VF, RTEXT_FILTER_SKIP_STATS = 1, 8
ETH_P_8021Q, ETH_P_8021AD = 0x8100, 0x88a8


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack('=HH', n, kind) + payload + b'\0' * ((4 - n % 4) % 4)


def u32(kind, v):
    return attr(kind, struct.pack('=I', v))


def ifinfomsg(index, flags=0x1043):
    # family, pad, type (ARPHRD_ETHER), index, flags (UP|BROADCAST|RUNNING|MULTICAST), change
    return struct.pack('=BxHiII', socket.AF_UNSPEC, 1, index, flags, 0)


def vf_info(vf, mac, vlan=0, qos=0, proto=ETH_P_8021Q, min_rate=0, max_rate=0, spoofchk=1,
            link_state=0, rss=0xffffffff, trust=0, guids=None):
    """One IFLA_VF_INFO as rtnl_fill_vfinfo() writes it; a driver without a setting reports ~0."""
    body = (attr(IFLA_VF_MAC, struct.pack('=I', vf) + mac + b'\0' * 26) +
            attr(IFLA_VF_BROADCAST, b'\xff' * 6 + b'\0' * 26) +
            attr(IFLA_VF_VLAN, struct.pack('=III', vf, vlan, qos)) +
            attr(IFLA_VF_RATE, struct.pack('=III', vf, min_rate, max_rate)) +
            attr(IFLA_VF_TX_RATE, struct.pack('=II', vf, max_rate)) +
            attr(IFLA_VF_SPOOFCHK, struct.pack('=II', vf, spoofchk)) +
            attr(IFLA_VF_LINK_STATE, struct.pack('=II', vf, link_state)) +
            attr(IFLA_VF_RSS_QUERY_EN, struct.pack('=II', vf, rss)) +
            attr(IFLA_VF_TRUST, struct.pack('=II', vf, trust)) +
            # struct ifla_vf_guid: __u32 vf, then the __u64 aligned to 8
            (attr(IFLA_VF_IB_NODE_GUID, struct.pack('=I4xQ', vf, guids[0])) +
             attr(IFLA_VF_IB_PORT_GUID, struct.pack('=I4xQ', vf, guids[1])) if guids else b'') +
            attr(IFLA_VF_VLAN_LIST,
                 attr(IFLA_VF_VLAN_INFO, struct.pack('=IIIH2x', vf, vlan, qos, socket.htons(proto)))))
    return attr(IFLA_VF_INFO, body)


def pf_link(ifname, index, vfs, num_vfs=None, mac=b'\x3c\xfd\xfe\xa1\xb2\xc0'):
    head = (attr(IFLA_IFNAME, ifname.encode() + b'\0') + u32(IFLA_TXQLEN, 1000) +
            attr(IFLA_OPERSTATE, b'\x06') + u32(IFLA_MTU, 1500) + attr(IFLA_ADDRESS, mac) +
            attr(IFLA_BROADCAST, b'\xff' * 6))
    tail = u32(IFLA_NUM_VF, len(vfs) if num_vfs is None else num_vfs)
    if vfs or num_vfs:
        tail += attr(IFLA_VFINFO_LIST, b''.join(vfs))
    return ifinfomsg(index) + head + tail


def vf_mac(i):
    return bytes([0x02, 0, 0, 0, 0x01, i & 0xff])


def netlink_seeds():
    return {
        # igb (82576) with 4 VFs: VLAN, rates, a trusted VF; RSS query not supported (~0)
        'igb-4-vfs': pf_link('enp1s0f0', 4, [
            vf_info(0, vf_mac(0), vlan=42, qos=3, spoofchk=1),
            vf_info(1, vf_mac(1), min_rate=0, max_rate=100, trust=1),
            vf_info(2, b'\0' * 6, link_state=2),
            vf_info(3, vf_mac(3), vlan=7, proto=ETH_P_8021AD, link_state=1, rss=1)]),
        # the PF has VFs but says nothing about them (no IFLA_VFINFO_LIST), and a PF without VFs
        'numvfs-without-list': pf_link('enp1s0f1', 5, [], num_vfs=2),
        'no-vfs': pf_link('eno1', 2, []),
        # more VFs than fit in the 16-bit attribute: the list ends early
        'truncated-list': pf_link('enp59s0f0', 6, [vf_info(i, vf_mac(i)) for i in range(3)], num_vfs=250),
        # a VF index the PF does not have, and a VF info without its MAC (the kernel always sends one)
        'index-out-of-range': pf_link('enp1s0f0', 4, [vf_info(9, vf_mac(9)), vf_info(0, vf_mac(0))]),
        'vf-info-without-mac': pf_link('enp1s0f0', 4, [attr(IFLA_VF_INFO, u32(IFLA_VF_TRUST, 1))],
                                       num_vfs=1),
        # drivers without a setting report (u32) -1
        'unsupported-settings': pf_link('ens1f0', 7, [
            vf_info(0, vf_mac(0), spoofchk=0xffffffff, trust=0xffffffff, link_state=0)]),
        # an InfiniBand PF's driver (ndo_get_vf_guid) reports the VFs' GUIDs
        'ib-guids': pf_link('ib0', 8, [
            vf_info(0, b'\0' * 6, guids=(0x0011223344556600, 0x0011223344556601)),
            vf_info(1, b'\0' * 6, guids=(0x0011223344556610, 0x0011223344556611))]),
    }


def capture(ifname):
    """The kernel's RTM_NEWLINK for ifname, asked for as sriovd asks (netlink_build_get_request())."""
    index = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    payload = ifinfomsg(index, 0) + u32(IFLA_EXT_MASK, RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS)
    s.send(struct.pack('=IHHII', 16 + len(payload), RTM_GETLINK, NLM_F_REQUEST, 1, 0) + payload)
    data = s.recv(1 << 20)
    n, kind = struct.unpack_from('=IH', data)
    if kind != RTM_NEWLINK:
        sys.exit('no RTM_NEWLINK for %s (type %d)' % (ifname, kind))
    return data[16:n]


# fuzz-policy.c's program: keys[] indexes, and the variant type opcodes
KEYS = ['MACAddress', 'VLANId', 'QualityOfService', 'VLANProtocol', 'MACSpoofCheck', 'Trust', 'LinkState',
        'QueryReceiveSideScaling', 'MinTxRate', 'MaxTxRate', 'Driver', 'mac', 'vlan', 'driver', '',
        'MTU', 'NodeGUID', 'PortGUID']
T_S, T_B, T_Q, T_U, T_Y, T_I = 0, 3, 4, 5, 7, 8


def string(s):
    b = s.encode('latin-1')
    assert len(b) < 80
    return bytes([len(b)]) + b


def entry(key, kind, value):
    k = bytes([KEYS.index(key)]) if key in KEYS else b'\xe0' + string(key)
    if kind == T_S:
        v = string(value)
    elif kind == T_B:
        v = bytes([int(value)])
    elif kind == T_Y:
        v = bytes([value])
    else:
        v = struct.pack('>I', value)
    return k + b'\0' + bytes([kind]) + v


def policy_seeds():
    full = [entry('MACAddress', T_S, '02:00:00:00:00:01'), entry('VLANId', T_Q, 42),
            entry('QualityOfService', T_U, 3), entry('VLANProtocol', T_S, '802.1ad'),
            entry('MACSpoofCheck', T_B, 1), entry('Trust', T_B, 0), entry('LinkState', T_S, 'enable'),
            entry('QueryReceiveSideScaling', T_B, 1), entry('MinTxRate', T_U, 10),
            entry('MaxTxRate', T_U, 1000), entry('Driver', T_S, 'vfio-pci')]
    return {
        'every-key': b'\0' + b''.join(full),
        # docs/dbus-api.md's SetPolicy example: a VLAN and a driver
        'vlan-and-driver': b'\0' + entry('VLANId', T_Q, 100) + entry('Driver', T_S, 'vfio-pci'),
        'empty-dictionary': b'\0',
        'wrong-type': b'\0' + entry('VLANId', T_U, 42),
        'unknown-key': b'\0' + entry('Bandwidth', T_U, 1),
        'short-name': b'\0' + entry('vlan', T_Q, 1),
        'given-twice': b'\0' + entry('Trust', T_B, 1) + entry('Trust', T_B, 0),
        'out-of-range': b'\0' + entry('VLANId', T_Q, 4096) + entry('QualityOfService', T_U, 8),
        'min-above-max': b'\0' + entry('MinTxRate', T_U, 100) + entry('MaxTxRate', T_U, 10),
        'bad-strings': b'\0' + entry('MACAddress', T_S, '01:00:5e:00:00:01') +
                       entry('LinkState', T_S, 'up') + entry('Driver', T_S, '../vfio'),
        'nested-dictionary': b'\0' + b'\x01\xff' + entry('VLANId', T_Q, 5),
        'not-a-dictionary': b'\xf1' + string('MACAddress'),
        'string-dictionary': b'\xf2' + string('02:00:00:00:00:01'),
        'two-dictionaries': b'\xf4' + entry('Trust', T_B, 1),
        'mtu-and-guids': b'\0' + entry('MTU', T_U, 9000) + entry('NodeGUID', T_S, '00:11:22:33:44:55:66:77') +
                         entry('PortGUID', T_S, '00:11:22:33:44:55:66:78'),
        'bad-mtu-and-guid': b'\0' + entry('MTU', T_U, 67) + entry('PortGUID', T_S, '00:11:22:33:44:55:66'),
    }


def write(subdir, seeds):
    d = os.path.join(HERE, subdir)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == '--capture':
        write('netlink', {'kernel-' + sys.argv[2]: capture(sys.argv[2])})
        return
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    write('netlink', netlink_seeds())
    write('policy', policy_seeds())


if __name__ == '__main__':
    main()
