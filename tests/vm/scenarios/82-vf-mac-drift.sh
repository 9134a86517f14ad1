#!/bin/bash
# A VF's MAC and VLAN changed by hand with `ip link set PF vf N ...` are put back: the rtnetlink link
# notification makes sriovd read the VF settings back, it sees the difference (State drift on the bus)
# and applies the policy again, within seconds. A VF without policy keeps what the admin set.
# The PF is brought up first: the kernel notifies VF changes (do_setlink -> netdev_state_change) only
# for an interface that is IFF_UP, so drift on a PF that is administratively down is seen at the next
# apply only (no polling). An MTU changed on VF 0's own netdev (`ip link set VFDEV mtu`) is put back too:
# the VF netdev's own link notification, whatever the PF's state.
# vm-needs: sriovd
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
ifname=$(pf_ifname "$pf")
ip link set dev "$ifname" up
pf_conf 10-first "$pf" 2 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0' \
        'MACAddress=02:00:00:00:82:00' 'VLANId=82' 'MTU=4000')"
sriovd_start
sriovd_wait_ready
vfline() { ip -d link show dev "$ifname" | grep -E "^\s+vf $1 "; }
vf_mac() { vfline "$1" | sed -n 's/.*link\/ether \([0-9a-f:]*\) .*/\1/p'; }
vf_vlan() { vfline "$1" | sed -n 's/.*, vlan \([0-9]*\),.*/\1/p'; }
assert_eq "$(vf_mac 0)" 02:00:00:00:82:00 "vf 0 MAC after start"
assert_eq "$(vf_vlan 0)" 82 "vf 0 VLAN after start"
wait_eq 10 "PF State enforced" enforced pf_prop "$pf" State
obj=$(pf_object "$pf")
vfs=($(sbus get-property io.sriovd "$obj" io.sriovd1.PhysicalFunction VirtualFunctions | tr -d '"'))
vf0=${vfs[2]}
vfprop() { sbus get-property io.sriovd "$vf0" io.sriovd1.VirtualFunction "$1" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'; }

bus_monitor_start bus.json
log "MAC of vf 0 changed by hand"
t0=$SECONDS
ip link set dev "$ifname" vf 0 mac 02:00:00:00:82:99
wait_eq 10 "vf 0 MAC put back" 02:00:00:00:82:00 vf_mac 0
log "put back after $((SECONDS - t0)) s"
assert_eq "$(vf_vlan 0)" 82 "vf 0 VLAN"
wait_eq 10 "VF 0 State ok again" ok vfprop State
assert_eq "$(vfprop MACAddress)" 02:00:00:00:82:00 "VF 0 MACAddress read back"
wait_until 10 "State drift on the bus" grep -q '"drift"' bus.json
wait_eq 10 "PF State enforced" enforced pf_prop "$pf" State

log "VLAN of vf 0 changed by hand"
ip link set dev "$ifname" vf 0 vlan 7
wait_eq 10 "vf 0 VLAN put back" 82 vf_vlan 0
assert_eq "$(vf_mac 0)" 02:00:00:00:82:00 "vf 0 MAC"

log "a VF without policy is left alone"
ip link set dev "$ifname" vf 1 mac 02:00:00:00:82:11
sleep 2
assert_eq "$(vf_mac 1)" 02:00:00:00:82:11 "vf 1 MAC (no policy) kept"
assert_eq "$(vf_mac 0)" 02:00:00:00:82:00 "vf 0 MAC"
log "MTU of vf 0's netdev changed by hand"
vf0dev=$(ls "/sys/bus/pci/devices/$(vf_list "$pf" | head -1)/net")
vf_mtu() { cat "/sys/class/net/$vf0dev/mtu"; }
assert_eq "$(vf_mtu)" 4000 "MTU of $vf0dev"
# igbvf's range, as this kernel reports it (IFLA_MIN_MTU, IFLA_MAX_MTU)
log "$(ip -d link show dev "$vf0dev" | grep -o 'minmtu [0-9]* maxmtu [0-9]*')"
t0=$SECONDS
ip link set dev "$vf0dev" mtu 1400
wait_eq 10 "MTU of $vf0dev put back" 4000 vf_mtu
log "put back after $((SECONDS - t0)) s"
wait_eq 10 "VF 0 MTU read back" 4000 vfprop MTU
wait_eq 10 "VF 0 State ok again" ok vfprop State
assert_eq "$(vf_mac 0)" 02:00:00:00:82:00 "vf 0 MAC"

bus_monitor_stop
grep -q 'settings changed behind' sriovd.log || fail "sriovd.log does not mention the drift"
