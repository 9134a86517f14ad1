#!/bin/bash
# A third igb hot-added through QMP is enforced from its file; hot-removing it removes its objects
# (InterfacesRemoved) and disturbs nothing else.
# vm-needs: sriovd
# vm-timeout: 240
. "$VM_LIB"

pfs=($(pf_list))
# The first free root port (rp2) is bus 3 in the guest.
third=0000:03:00.0
pf_conf 10-first "${pfs[0]}" 2
pf_conf 30-hotplugged "$third" 4

sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "${pfs[0]}")" 2 "sriov_numvfs of ${pfs[0]}"
settle
before=$(pci_snapshot)
bus_monitor_start bus.json

log "hot-add"
new=$(vm_hotplug_add)
assert_eq "$new" "$third" "address of the hot-added PF"
wait_eq 60 "4 VFs on $new" 4 vf_count "$new"
assert_eq "$(pf_numvfs "$new")" 4 "sriov_numvfs of $new"
wait_eq 30 "State enforced on $new" enforced pf_prop "$new" State
assert_eq "$(pf_prop "$new" ConfigSource)" /etc/sriovd/pf.d/30-hotplugged.conf "ConfigSource"
obj=$(pf_object "$new")
log "object $obj"
assert_eq "$(pf_numvfs "${pfs[0]}")" 2 "${pfs[0]} untouched by the hot-add"
assert_eq "$(pf_numvfs "${pfs[1]}")" 0 "${pfs[1]} untouched by the hot-add"
wait_until 30 "InterfacesAdded for $obj" grep -q "\"member\":\"InterfacesAdded\".*$obj" bus.json

log "hot-remove"
vm_hotplug_del "$new"
wait_until 30 "InterfacesRemoved for $obj" grep -q "\"member\":\"InterfacesRemoved\".*$obj" bus.json
r=$(bus_call /io/sriovd io.sriovd1.Manager GetPhysicalFunction s "$new" || true)
assert_contains "$r" "ERROR io.sriovd1.Error.NoSuchDevice" "GetPhysicalFunction of the removed PF"
settle
assert_eq "$(pci_snapshot)" "$before" "PCI devices after add+remove"
sriovd_alive || fail "sriovd died"
assert_eq "$(pf_prop "${pfs[0]}" State)" enforced "State of ${pfs[0]}"
bus_monitor_stop
