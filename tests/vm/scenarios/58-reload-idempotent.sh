#!/bin/bash
# Configuration management's way (docs/fleet.md): drop-in files installed while sriovd runs, then
# `sriovctl reload`; the same files applied again (rewritten, reformatted) and reloaded, as a run that
# changes nothing does, destroy and re-create nothing: same VF devices, drivers and netdev ifindexes,
# no PCI uevents, no count written, same settings and policy. A file removed leaves its VFs alone.
# vm-needs: sriovd sriovctl
# vm-timeout: 240
. "$VM_LIB"

pfs=($(pf_list))
pf0=${pfs[0]} pf1=${pfs[1]}
modprobe vfio-pci

# write_files [STYLE]: what a template renders; STYLE "reformatted" is the same configuration written
# otherwise (comments, blank lines, key order, case of yes/no), as another template version might.
write_files() {
        mkdir -p /etc/sriovd/pf.d
        if [ "${1:-}" = reformatted ]; then
                cat >/etc/sriovd/pf.d/10-uplink.conf.tmp <<EOF
# managed by config management: do not edit
[Match]
PciAddress=$pf0

[PhysicalFunction]
NumVFs=4


[VirtualFunction]
VirtualFunction=0-1
Trust=YES
VLANId=42

[VirtualFunction]
VirtualFunction=3
Driver=vfio-pci
EOF
        else
                cat >/etc/sriovd/pf.d/10-uplink.conf.tmp <<EOF
[Match]
PciAddress=$pf0

[PhysicalFunction]
NumVFs=4

[VirtualFunction]
VirtualFunction=0-1
VLANId=42
Trust=yes

[VirtualFunction]
VirtualFunction=3
Driver=vfio-pci
EOF
        fi
        # as Ansible's template module and Puppet's file resource do: a new file renamed over the old
        mv /etc/sriovd/pf.d/10-uplink.conf.tmp /etc/sriovd/pf.d/10-uplink.conf
        printf '[Match]\nPciAddress=%s\n\n[PhysicalFunction]\nNumVFs=2\n' "$pf1" >/etc/sriovd/pf.d/20-second.conf.tmp
        mv /etc/sriovd/pf.d/20-second.conf.tmp /etc/sriovd/pf.d/20-second.conf
}

# Every VF of both PFs: address, driver, netdev and its ifindex (a re-created netdev gets a new one).
vf_snapshot() {
        local pf vf net
        for pf in "$pf0" "$pf1"; do
                for vf in $(vf_list "$pf"); do
                        net=$(ls "/sys/bus/pci/devices/$vf/net" 2>/dev/null || true)
                        echo "$pf $vf $(basename "$(readlink "/sys/bus/pci/devices/$vf/driver" 2>/dev/null)")" \
                                "${net:--} $([ -z "$net" ] || cat "/sys/class/net/$net/ifindex")"
                done
        done
}
# What sriovd says of each VF: its policy and state, from the stable JSON.
bus_snapshot() {
        local pf
        for pf in "$pf0" "$pf1"; do
                sriovctl --json show "$pf" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["PhysicalFunction"]["State"], d["PhysicalFunction"]["DesiredNumVFs"], d["PhysicalFunction"]["ConfigSource"])
for v in d["VirtualFunctions"]:
    print(v["Index"], v["PciAddress"], v["Driver"], v["State"], json.dumps(v["Policy"], sort_keys=True))'
        done
}
count_writes() { grep -c 'Changing NumVFs' "$VM_RESULT_DIR/sriovd.log" || true; }

log "sriovd running without files, as on a host just installed"
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_prop "$pf0" State)" unmanaged "State before the files"

log "the files installed, then reload"
write_files
sriovctl reload || fail "sriovctl reload exited $?"
assert_eq "$(pf_numvfs "$pf0")" 4 "$pf0 sriov_numvfs after the first reload"
assert_eq "$(pf_numvfs "$pf1")" 2 "$pf1 sriov_numvfs after the first reload"
vf3=$(vf_list "$pf0" | sed -n 4p)
wait_eq 30 "driver of VF 3" vfio-pci sh -c "basename \$(readlink /sys/bus/pci/devices/$vf3/driver)"
line=$(ip -d link show dev "$(pf_ifname "$pf0")" | grep -E '^\s+vf 1 ')
assert_contains "$line" "vlan 42" "vf 1 after the first reload"
assert_contains "$line" "trust on" "vf 1 after the first reload"
wait_eq 30 "$pf0 State" enforced pf_prop "$pf0" State
wait_eq 30 "$pf1 State" enforced pf_prop "$pf1" State
settle

pci_before=$(pci_snapshot)
vfs_before=$(vf_snapshot)
links_before=$(ip -d link show dev "$(pf_ifname "$pf0")" | grep -E '^\s+vf [0-9]+ ')
bus_before=$(bus_snapshot)
writes_before=$(count_writes)
log "after the first reload:"
printf '%s\n' "$vfs_before" "$bus_before"
assert_eq "$(echo "$vfs_before" | wc -l)" 6 "VFs after the first reload"

log "the same files again and reload, three runs; then the files reformatted and reload"
uevents_start uevents.txt
bus_monitor_start bus.json
for run in 1 2 3; do
        write_files
        sriovctl reload || fail "sriovctl reload (run $run) exited $?"
done
write_files reformatted
sriovctl reload || fail "sriovctl reload (reformatted) exited $?"
sriovctl apply || fail "sriovctl apply exited $?"
settle
sleep 1
uevents_stop
bus_monitor_stop

assert_eq "$(uevent_count uevents.txt remove)" 0 "PCI remove uevents during the reloads"
assert_eq "$(uevent_count uevents.txt add)" 0 "PCI add uevents during the reloads"
assert_eq "$(uevent_count uevents.txt unbind)" 0 "PCI unbind uevents during the reloads"
assert_eq "$(pci_snapshot)" "$pci_before" "PCI devices and drivers"
assert_eq "$(vf_snapshot)" "$vfs_before" "VF devices, drivers, netdevs and ifindexes"
assert_eq "$(ip -d link show dev "$(pf_ifname "$pf0")" | grep -E '^\s+vf [0-9]+ ')" "$links_before" "VF settings"
assert_eq "$(bus_snapshot)" "$bus_before" "State, policy and drivers on the bus"
assert_eq "$(count_writes)" "$writes_before" "sriov_numvfs writes by sriovd"
assert_eq "$(grep -c InterfacesRemoved bus.json || true)" 0 "InterfacesRemoved signals"
assert_eq "$(grep -c InterfacesAdded bus.json || true)" 0 "InterfacesAdded signals"

log "a file removed: its PF becomes unmanaged and keeps its VFs"
uevents_start uevents-removed.txt
rm /etc/sriovd/pf.d/20-second.conf
sriovctl reload || fail "sriovctl reload after removing a file exited $?"
settle
uevents_stop
assert_eq "$(pf_prop "$pf1" State)" unmanaged "$pf1 State without its file"
assert_eq "$(pf_prop "$pf1" DesiredNumVFs)" -1 "$pf1 DesiredNumVFs without its file"
assert_eq "$(pf_numvfs "$pf1")" 2 "$pf1 sriov_numvfs without its file"
assert_eq "$(uevent_count uevents-removed.txt remove)" 0 "PCI remove uevents after removing a file"
assert_eq "$(vf_snapshot)" "$vfs_before" "VFs after removing a file"
assert_eq "$(pf_prop "$pf0" State)" enforced "$pf0 State"
