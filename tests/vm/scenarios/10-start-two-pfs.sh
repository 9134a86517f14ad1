#!/bin/bash
# Two PFs with files in /etc/sriovd/pf.d: sriovd creates their VFs at start, and READY=1 comes only
# after the kernel has them.
# vm-needs: sriovd sriovctl
. "$VM_LIB"

pfs=($(pf_list))
pf_conf 10-first "${pfs[0]}" 7
pf_conf 20-second "${pfs[1]}" 3

sriovd_start
sriovd_wait_ready
log "READY=1: $(grep '^READY=1' notify.txt)"
# The listener read sriov_numvfs and counted virtfn links the moment READY=1 arrived.
ready_line=$(grep -m1 '^READY=1' notify.txt)
assert_contains "$ready_line" "${pfs[0]}=7/7" "PFs when READY=1 arrived"
assert_contains "$ready_line" "${pfs[1]}=3/3" "PFs when READY=1 arrived"

assert_eq "$(pf_numvfs "${pfs[0]}")" 7 "sriov_numvfs of ${pfs[0]}"
assert_eq "$(pf_numvfs "${pfs[1]}")" 3 "sriov_numvfs of ${pfs[1]}"
assert_eq "$(vf_count "${pfs[0]}")" 7 "VF devices of ${pfs[0]}"
assert_eq "$(vf_count "${pfs[1]}")" 3 "VF devices of ${pfs[1]}"
wait_eq 60 "igbvf netdevs" 7 vf_netdev_count "${pfs[0]}"
assert_eq "$(ip_vf_lines "${pfs[0]}")" 7 "vf lines of ${pfs[0]} in ip link"

log "what sriovd says matches the kernel"
assert_eq "$(pf_prop "${pfs[0]}" NumVFs)" 7 "NumVFs property"
assert_eq "$(pf_prop "${pfs[0]}" DesiredNumVFs)" 7 "DesiredNumVFs property"
assert_eq "$(pf_prop "${pfs[0]}" TotalVFs)" 7 "TotalVFs property"
assert_eq "$(pf_prop "${pfs[0]}" State)" enforced "State property"
assert_eq "$(pf_prop "${pfs[0]}" ConfigSource)" /etc/sriovd/pf.d/10-first.conf "ConfigSource property"
assert_eq "$(pf_prop "${pfs[1]}" NumVFs)" 3 "NumVFs property"
assert_eq "$(pf_prop "enp1s0" PciAddress)" "${pfs[0]}" "PF looked up by interface name"

out=$(sriovctl status)
echo "$out"
assert_contains "$out" "${pfs[0]}" "sriovctl status"
assert_contains "$out" "${pfs[1]}" "sriovctl status"
out=$(sriovctl show "${pfs[0]}")
echo "$out"
assert_contains "$out" "$(vf_list "${pfs[0]}" | tail -n1)" "sriovctl show lists the last VF"

sriovd_stop
log "stopping sriovd leaves the VFs in place"
assert_eq "$(pf_numvfs "${pfs[0]}")" 7 "sriov_numvfs after stop"
