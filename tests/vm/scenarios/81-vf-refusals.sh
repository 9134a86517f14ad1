#!/bin/bash
# igb's refusals are reported per attribute while the rest of a VF's policy applies: LinkState is not
# implemented by igb (EOPNOTSUPP), MaxTxRate is refused while the PF link is down (EINVAL; the PF has
# no carrier in the guest). MAC, VLAN and trust still reach the kernel; the VF is State=failed with a
# LastError naming both keys; the PF and `sriovctl show` reflect it; `sriovctl set-vf` with a refused
# key exits 1 with the daemon's message while a supported key of the same call is applied. InfiniBand
# GUIDs are refused by the kernel for an Ethernet PF (EOPNOTSUPP), and an MTU above what igbvf allows
# by the kernel for the VF's netdev (EINVAL, with igbvf's range in the message): each its own refusal.
# vm-needs: sriovd sriovctl
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
ifname=$(pf_ifname "$pf")
# igb_ndo_set_vf_bw() returns EINVAL when the link speed is not 1000 Mbit/s, i.e. while it is down.
assert_eq "$(cat "/sys/class/net/$ifname/operstate")" down "PF link (precondition of the MaxTxRate refusal)"

pf_conf 10-first "$pf" 2 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0' \
        'MACAddress=02:00:00:00:81:00' 'VLANId=81' 'Trust=yes' 'LinkState=disable' 'MaxTxRate=100')"
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 2 "sriov_numvfs"

log "the kernel: what igb accepts is in force, what it refused is not"
vfline() { ip -d link show dev "$ifname" | grep -E "^\s+vf $1 "; }
line=$(vfline 0) line0=$(vfline 0)
log "$line"
assert_contains "$line" "link/ether 02:00:00:00:81:00" "vf 0"
assert_contains "$line" "vlan 81," "vf 0"
assert_contains "$line" "trust on" "vf 0"
assert_contains "$line" "link-state auto" "vf 0 (LinkState=disable refused)"
[[ $line != *max_tx_rate* ]] || fail "vf 0 has a max_tx_rate although igb refused it: $line"

log "sriovd: the VF failed, naming each refused key with its errno"
obj=$(pf_object "$pf")
vfs=($(sbus get-property io.sriovd "$obj" io.sriovd1.PhysicalFunction VirtualFunctions | tr -d '"'))
vfprop() { sbus get-property io.sriovd "$1" io.sriovd1.VirtualFunction "$2" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'; }
vf0=${vfs[2]} vf1=${vfs[3]}
assert_eq "$(vfprop "$vf0" State)" failed "VF 0 State"
err=$(vfprop "$vf0" LastError)
log "VF 0 LastError: $err"
assert_match "$err" "LinkState[^;]*\(Operation not supported\)" "VF 0 LastError"
assert_match "$err" "MaxTxRate=100[^;]*\(Invalid argument\)" "VF 0 LastError"
[[ $err != *MACAddress* && $err != *VLANId* && $err != *Trust* ]] || fail "VF 0 LastError blames an accepted key: $err"
assert_eq "$(vfprop "$vf0" MACAddress)" 02:00:00:00:81:00 "VF 0 MACAddress read back"
assert_eq "$(vfprop "$vf0" VLANId)" 81 "VF 0 VLANId read back"
assert_eq "$(vfprop "$vf0" LinkState)" auto "VF 0 LinkState read back"
assert_eq "$(vfprop "$vf0" MaxTxRate)" 0 "VF 0 MaxTxRate read back"
assert_eq "$(vfprop "$vf1" State)" ok "VF 1 (no policy) State"
assert_eq "$(pf_prop "$pf" State)" failed "PF State"
assert_contains "$(pf_prop "$pf" LastError)" "VF 0: " "PF LastError"
assert_contains "$(pf_prop "$pf" LastError)" "LinkState" "PF LastError"
show=$(sriovctl show "$pf")
log "$show"
assert_match "$show" "State: failed" "sriovctl show"
assert_match "$show" $'\n *0 [^\n]* failed [^\n]*LinkState[^\n]*\n' "sriovctl show, VF 0 row"
assert_match "$show" $'\n *1 [^\n]* ok ' "sriovctl show, VF 1 row"

log "set-vf with a supported and two refused keys: exit 1, the daemon's message, the VLAN applied"
rc=0
vf1dev=$(ls "/sys/bus/pci/devices/$(vf_list "$pf" | sed -n 2p)/net")
maxmtu=$(ip -d link show dev "$vf1dev" | sed -n 's/.* maxmtu \([0-9]*\).*/\1/p')
log "igbvf on $vf1dev: $(ip -d link show dev "$vf1dev" | grep -o 'minmtu [0-9]* maxmtu [0-9]*')"
assert_match "$maxmtu" '^[0-9]+$' "igbvf's maxmtu"
out=$(sriovctl set-vf "$pf" 1 vlan=91 state=enable max-rate=200 node-guid=00:11:22:33:44:55:66:77 \
        mtu=$((maxmtu + 1)) 2>&1) || rc=$?
log "sriovctl set-vf: exit $rc: $out"
assert_eq "$rc" 1 "exit status of set-vf with refused keys"
assert_match "$out" "VF 1: .*LinkState[^;]*\(Operation not supported\)" "set-vf message"
assert_match "$out" "MaxTxRate=200[^;]*\(Invalid argument\)" "set-vf message"
assert_match "$out" "NodeGUID[^;]*\(Operation not supported\)[^;]*InfiniBand" "set-vf message"
assert_match "$out" "igbvf refused MTU=$((maxmtu + 1)) on VF 1 \($vf1dev\): it allows 68 to $maxmtu \(Invalid argument\)" \
        "set-vf message"
line=$(vfline 1)
log "$line"
assert_contains "$line" "vlan 91," "vf 1 after set-vf"
assert_contains "$line" "link-state auto" "vf 1 after set-vf"
assert_eq "$(vfprop "$vf1" State)" failed "VF 1 State after set-vf"
assert_eq "$(vfprop "$vf1" VLANId)" 91 "VF 1 VLANId read back"
assert_contains "$(vfprop "$vf1" LastError)" "MaxTxRate=200" "VF 1 LastError"
assert_contains "$(vfprop "$vf1" LastError)" "MTU=$((maxmtu + 1))" "VF 1 LastError"
assert_eq "$(cat "/sys/class/net/$vf1dev/mtu")" 1500 "MTU of $vf1dev after the refusal"
assert_eq "$(vfprop "$vf1" MTU)" 1500 "VF 1 MTU read back"
assert_eq "$(vfprop "$vf1" NodeGUID)" "" "VF 1 NodeGUID (igb reports none)"
assert_eq "$(vfline 0)" "$line0" "vf 0 untouched by set-vf on VF 1"
