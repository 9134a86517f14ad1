#!/bin/bash
# Unbinding the PF's driver takes its VFs away; binding it again brings them back with their count
# and their settings (MAC, VLAN, trust in `ip -d link`), put there by sriovd on the PF driver's bind.
# vm-needs: sriovd
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
pf_conf 10-first "$pf" 3 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0' \
        'MACAddress=02:00:00:00:83:00' 'VLANId=83' '' '[VirtualFunction]' 'VirtualFunction=2' \
        'MACAddress=02:00:00:00:83:02' 'Trust=yes')"
sriovd_start
sriovd_wait_ready
vfline() { ip -d link show dev "$(pf_ifname "$pf")" | grep -E "^\s+vf $1 "; }
check_settings() {
        local l0 l2
        l0=$(vfline 0) l2=$(vfline 2)
        log "$l0"
        log "$l2"
        assert_contains "$l0" "link/ether 02:00:00:00:83:00" "$1: vf 0"
        assert_contains "$l0" "vlan 83," "$1: vf 0"
        assert_contains "$l2" "link/ether 02:00:00:00:83:02" "$1: vf 2"
        assert_contains "$l2" "trust on" "$1: vf 2"
}
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs"
check_settings "after start"
vf_addrs=$(vf_list "$pf")

log "unbind igb from $pf"
echo "$pf" >/sys/bus/pci/drivers/igb/unbind
wait_eq 10 "VFs gone with the driver" 0 vf_count "$pf"
assert_eq "$(pf_numvfs "$pf")" 0 "sriov_numvfs without a driver"
wait_until 10 "PF without a netdev" test -z "$(ls "/sys/bus/pci/devices/$pf/net" 2>/dev/null)"
wait_eq 10 "PF Driver on the bus" "" pf_prop "$pf" Driver
wait_eq 10 "PF State without a driver" failed pf_prop "$pf" State
assert_contains "$(pf_prop "$pf" LastError)" "no driver is bound" "PF LastError without a driver"

log "bind igb again"
echo "$pf" >/sys/bus/pci/drivers/igb/bind
wait_eq 30 "3 VFs back" 3 pf_numvfs "$pf"
wait_eq 30 "3 VF devices" 3 vf_count "$pf"
assert_eq "$(vf_list "$pf")" "$vf_addrs" "VF addresses"
settle
wait_eq 30 "PF State enforced" enforced pf_prop "$pf" State
wait_until 10 "settings back" bash -c ". \"\$VM_LIB\"; ip -d link show dev $(pf_ifname "$pf") | grep -qE 'vf 2 .*02:00:00:00:83:02.*trust on'"
check_settings "after rebind"
assert_eq "$(pf_prop "$pf" Driver)" igb "PF Driver"
assert_eq "$(vf_netdev_count "$pf")" 3 "VF netdevs"
assert_eq "$(pf_numvfs "${pfs[1]}")" 0 "other PF untouched"
