#!/bin/bash
# A uevent storm that overruns sriovd's udev monitor socket (ENOBUFS): the count changed during the
# storm, whose uevents were lost, is put back by the full re-read that follows.
# vm-needs: sriovd
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
pf_conf 10-first "$pf" 3
# a small receive buffer, so that a storm the test can make overruns it
SRIOVD_UEVENT_BUFFER_BYTES=4096 sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs"

log "storm while sriovd does not read, then 0 by hand"
kill -STOP "$SRIOVD_PID"
for i in 1 2 3; do
        # change events of PCI devices that are no PF (a few dozen, each some hundred bytes), which
        # sriovd reads and drops: far more than its 4 KiB buffer holds
        udevadm trigger --action=change --subsystem-match=pci --attr-nomatch=sriov_totalvfs
done
settle
pf_set_numvfs "$pf" 0
settle
kill -CONT "$SRIOVD_PID"
wait_eq 30 "3 VFs put back after the lost uevents" 3 pf_numvfs "$pf"
wait_until 10 "the overrun logged" grep -q "uevents were lost" "$VM_RESULT_DIR/sriovd.log"
wait_eq 30 "State enforced" enforced pf_prop "$pf" State
assert_eq "$(pf_numvfs "${pfs[1]}")" 0 "other PF untouched"
