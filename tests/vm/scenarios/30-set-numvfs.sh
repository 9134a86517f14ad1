#!/bin/bash
# 7 -> 3 through the API and through `sriovctl set-numvfs`: the kernel refuses changing one non-zero
# count to another (EBUSY), so sriovd must go through 0. The API's value is persisted and outlives a
# restart; --runtime lasts until reboot (/run/sriovd).
# vm-needs: sriovd sriovctl
# vm-timeout: 240
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
pf_conf 10-first "$pf" 7
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 7 "sriov_numvfs at start"

log "SetNumVFs 3 through the API"
uevents_start uevents-api.txt
sbus --timeout=120 call io.sriovd "$(pf_object "$pf")" io.sriovd1.PhysicalFunction SetNumVFs ut 3 0
uevents_stop
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs after SetNumVFs(3)"
assert_eq "$(vf_count "$pf")" 3 "VF devices after SetNumVFs(3)"
assert_eq "$(uevent_count uevents-api.txt remove)" 7 "VFs removed (the kernel path goes through 0)"
assert_eq "$(uevent_count uevents-api.txt add)" 3 "VFs added"
assert_eq "$(pf_prop "$pf" DesiredNumVFs)" 3 "DesiredNumVFs"
assert_eq "$(pf_prop "$pf" ConfigSource)" api "ConfigSource after SetNumVFs"
assert_eq "$(pf_numvfs "${pfs[1]}")" 0 "other PF untouched"

log "sriovctl set-numvfs 5, by interface name"
sriovctl set-numvfs "$(pf_ifname "$pf")" 5
assert_eq "$(pf_numvfs "$pf")" 5 "sriov_numvfs after sriovctl set-numvfs 5"
assert_eq "$(vf_count "$pf")" 5 "VF devices"

log "sriovctl set-numvfs 3 --runtime"
sriovctl set-numvfs "$pf" 3 --runtime
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs after --runtime 3"

log "restart: the runtime value (3, kept in /run/sriovd until reboot) still holds"
sriovd_stop
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs after restart"
assert_eq "$(pf_prop "$pf" DesiredNumVFs)" 3 "DesiredNumVFs after restart"

log "as after a reboot (/run/sriovd emptied): the persisted API value (5) wins over the file (7)"
sriovd_stop
rm -rf /run/sriovd/*
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 5 "sriov_numvfs after restart without /run/sriovd"
assert_eq "$(pf_prop "$pf" DesiredNumVFs)" 5 "DesiredNumVFs"

log "Forget: back to the file"
pf_call "$pf" Forget
wait_eq 60 "7 VFs again" 7 pf_numvfs "$pf"
assert_eq "$(pf_prop "$pf" ConfigSource)" /etc/sriovd/pf.d/10-first.conf "ConfigSource after Forget"
