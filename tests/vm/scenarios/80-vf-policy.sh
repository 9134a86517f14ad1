#!/bin/bash
# Per-VF policy from a file reaches the kernel (ip -d link), and what the driver refuses is reported
# precisely rather than failing the PF. MTU= is set on the VF's own igbvf netdev and read back.
# vm-needs: sriovd
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
pf_conf 10-first "$pf" 4 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=1' \
        'MACAddress=02:00:00:00:01:01' 'VLANId=42' 'QualityOfService=3' 'MACSpoofCheck=no' 'Trust=yes' \
        'MTU=9000')"
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 4 "sriov_numvfs"
line=$(ip -d link show dev "$(pf_ifname "$pf")" | grep -E '^\s+vf 1 ')
log "$line"
assert_contains "$line" "02:00:00:00:01:01" "vf 1"
assert_contains "$line" "vlan 42, qos 3" "vf 1"
assert_contains "$line" "spoof checking off" "vf 1"
assert_contains "$line" "trust on" "vf 1"

log "the VF object reads the same back from the kernel"
obj=$(pf_object "$pf")
vfs=($(sbus get-property io.sriovd "$obj" io.sriovd1.PhysicalFunction VirtualFunctions | tr -d '"'))
assert_eq "${vfs[1]}" 4 "number of VirtualFunctions"
vf1=${vfs[3]}
vfprop() { sbus get-property io.sriovd "$vf1" io.sriovd1.VirtualFunction "$1" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'; }
assert_eq "$(vfprop Index)" 1 "Index of the second VF object"
assert_eq "$(vfprop MACAddress)" 02:00:00:00:01:01 "MACAddress"
assert_eq "$(vfprop VLANId)" 42 "VLANId"
assert_eq "$(vfprop QualityOfService)" 3 "QualityOfService"
assert_eq "$(vfprop Trust)" true "Trust"
assert_eq "$(vfprop MACSpoofCheck)" false "MACSpoofCheck"
assert_eq "$(vfprop PciAddress)" "$(vf_list "$pf" | sed -n 2p)" "PciAddress"

log "MTU=9000 is on VF 1's own netdev, and read back; VF 0 (no MTU=) keeps igbvf's default"
vfdev() { ls "/sys/bus/pci/devices/$(vf_list "$pf" | sed -n "$(($1 + 1))p")/net"; }
wait_until 20 "VF 1's netdev" test -n "$(vfdev 1)"
vfnet=$(vfdev 1)
log "$(ip -d link show dev "$vfnet" | head -3)"
assert_eq "$(cat "/sys/class/net/$vfnet/mtu")" 9000 "MTU of $vfnet"
assert_eq "$(vfprop MTU)" 9000 "MTU of the VF object"
assert_eq "$(vfprop State)" ok "State of VF 1"
assert_eq "$(cat "/sys/class/net/$(vfdev 0)/mtu")" 1500 "MTU of VF 0's netdev"
assert_eq "$(sbus get-property io.sriovd "${vfs[2]}" io.sriovd1.VirtualFunction MTU | sed 's/^[^ ]* //')" 1500 \
        "MTU of the VF 0 object"
