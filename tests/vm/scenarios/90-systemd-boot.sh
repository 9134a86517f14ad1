#!/bin/bash
# systemd as PID 1: sriovd.service (installed with meson install, enabled) creates the VFs before
# network-pre.target; a unit ordered After=sriovd.service sees them when it starts; `systemctl stop`
# leaves them in place; bus activation of io.sriovd starts the service again.
# Preparation before boot: 90-systemd-boot.setup (which also makes igb bind late, after sriovd starts).
# vm-mode: systemd
# vm-needs: sriovd sriovctl
# vm-timeout: 240
. "$VM_LIB"

wait_eq 120 "sriovd.service active" active systemctl is-active sriovd.service
log "sriovd.service: $(systemctl show -p ActiveState,SubState,MainPID,ExecMainStartTimestampMonotonic sriovd.service | tr '\n' ' ')"

# Eventually right in any case; whether they were there in time is what the probes say.
wait_eq 60 "7 VFs on 0000:01:00.0" 7 pf_numvfs 0000:01:00.0
wait_eq 60 "3 VFs on 0000:02:00.0" 3 pf_numvfs 0000:02:00.0
assert_eq "$(vf_count 0000:01:00.0)" 7 "VF devices of 0000:01:00.0"

log "probe after network-pre.target: $(tr '\n' ' ' </vm/probes/network-pre.txt)"
expect_eq "$(sed -n 1p /vm/probes/network-pre.txt)" "0000:01:00.0=7/7" "VFs when network-pre.target was reached"
expect_eq "$(sed -n 2p /vm/probes/network-pre.txt)" "0000:02:00.0=3/3" "VFs when network-pre.target was reached"
log "probe After=sriovd.service: $(tr '\n' ' ' </vm/probes/after-sriovd.txt)"
expect_eq "$(sed -n 1p /vm/probes/after-sriovd.txt)" "0000:01:00.0=7/7" "VFs seen by a unit After=sriovd.service"
expect_eq "$(sed -n 2p /vm/probes/after-sriovd.txt)" "0000:02:00.0=3/3" "VFs seen by a unit After=sriovd.service"

out=$(sriovctl status)
echo "$out"
assert_contains "$out" "enforced" "sriovctl status"

log "systemctl stop leaves the VFs in place"
systemctl stop sriovd.service
assert_eq "$(systemctl is-active sriovd.service || true)" inactive "sriovd.service after stop"
assert_eq "$(pf_numvfs 0000:01:00.0)" 7 "sriov_numvfs after stop"
assert_eq "$(vf_count 0000:01:00.0)" 7 "VF devices after stop"

log "bus activation"
r=$(bus_call /io/sriovd io.sriovd1.Manager ListPhysicalFunctions)
log "ListPhysicalFunctions: $r"
assert_contains "$r" "/io/sriovd/pf/" "ListPhysicalFunctions through activation"
assert_eq "$(systemctl is-active sriovd.service)" active "sriovd.service after bus activation"

journalctl -b -u sriovd.service --no-pager >sriovd-journal.log 2>&1 || true
expect_done
