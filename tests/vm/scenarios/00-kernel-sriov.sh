#!/bin/bash
# The harness itself, no sriovd: the guest kernel's SR-IOV behaves as the daemon expects (what
# ../../shared/design/testing.md lists as seen), and QMP hotplug adds and removes a real PF.
# vm-timeout: 240
. "$VM_LIB"

pfs=($(pf_list))
assert_eq "${#pfs[@]}" "$VM_PFS" "PFs at boot"
assert_eq "${pfs[0]}" 0000:01:00.0 "first PF"
pf=${pfs[0]}
other=${pfs[1]}
assert_eq "$(pf_totalvfs "$pf")" 7 "sriov_totalvfs"
assert_eq "$(pf_numvfs "$pf")" 0 "sriov_numvfs at boot"
assert_eq "$(basename "$(readlink "/sys/bus/pci/devices/$pf/driver")")" igb "PF driver"
assert_match "$(pf_ifname "$pf")" '^enp1s0' "PF name given by udevd"

log "7 VFs on $pf"
pf_set_numvfs "$pf" 7
assert_eq "$(pf_numvfs "$pf")" 7 "sriov_numvfs after writing 7"
assert_eq "$(vf_count "$pf")" 7 "virtfn links"
assert_eq "$(vf_list "$pf" | head -n1)" 0000:01:10.0 "VF 0 address"
vf0=$(vf_list "$pf" | head -n1)
assert_eq "$(basename "$(readlink -f "/sys/bus/pci/devices/$vf0/physfn")")" "$pf" "physfn link of VF 0"
wait_eq 60 "7 igbvf netdevs" 7 vf_netdev_count "$pf"
assert_eq "$(ip_vf_lines "$pf")" 7 "vf lines in ip link show"
assert_eq "$(pf_numvfs "$other")" 0 "other PF untouched"

log "the kernel refuses 7 -> 3 with EBUSY and more than sriov_totalvfs with ERANGE"
assert_eq "$(sysfs_write_errno "/sys/bus/pci/devices/$pf/sriov_numvfs" 3)" EBUSY "7 -> 3"
assert_eq "$(pf_numvfs "$pf")" 7 "sriov_numvfs after EBUSY"
assert_eq "$(sysfs_write_errno "/sys/bus/pci/devices/$other/sriov_numvfs" 8)" ERANGE "0 -> 8"

log "per-VF settings through netlink"
ifn=$(pf_ifname "$pf")
ip link set "$ifn" vf 1 mac 02:00:00:00:01:01 vlan 42 qos 3
ip link set "$ifn" vf 1 spoofchk off
ip link set "$ifn" vf 1 trust on
line=$(ip -d link show dev "$ifn" | grep -E '^\s+vf 1 ')
assert_contains "$line" "02:00:00:00:01:01" "vf 1 line"
assert_contains "$line" "vlan 42, qos 3" "vf 1 line"
assert_contains "$line" "spoof checking off" "vf 1 line"
assert_contains "$line" "trust on" "vf 1 line"

log "back to 0"
pf_set_numvfs "$pf" 0
assert_eq "$(vf_count "$pf")" 0 "virtfn links after 0"
wait_until 30 "VF devices gone" test ! -e "/sys/bus/pci/devices/$vf0"

log "hot-add a PF through QMP"
before=$(pci_snapshot)
new=$(vm_hotplug_add)
log "hot-added $new"
assert_eq "$(pf_count)" $((VM_PFS + 1)) "PFs after hot-add"
assert_eq "$(pf_totalvfs "$new")" 7 "sriov_totalvfs of the hot-added PF"
wait_until 30 "netdev of $new" pf_ifname "$new"
pf_set_numvfs "$new" 2
assert_eq "$(vf_count "$new")" 2 "VFs of the hot-added PF"
pf_set_numvfs "$new" 0

log "hot-remove it"
vm_hotplug_del "$new"
assert_eq "$(pf_count)" "$VM_PFS" "PFs after hot-remove"
settle
assert_eq "$(pci_snapshot)" "$before" "PCI devices after add+remove"
log "ok"
