#!/bin/bash
# Writing sriov_numvfs by hand behind sriovd's back: shown as drift, then put back.
# vm-needs: sriovd
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
pf_conf 10-first "$pf" 3
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs"
bus_monitor_start bus.json

log "0 by hand"
uevents_start uevents.txt
pf_set_numvfs "$pf" 0
wait_eq 30 "3 VFs put back" 3 pf_numvfs "$pf"
assert_eq "$(vf_count "$pf")" 3 "VF devices"
wait_eq 30 "State enforced" enforced pf_prop "$pf" State
uevents_stop
wait_until 10 "drift shown" grep -q '"drift"' bus.json

assert_eq "$(pf_numvfs "${pfs[1]}")" 0 "other PF untouched"
bus_monitor_stop
