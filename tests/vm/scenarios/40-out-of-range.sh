#!/bin/bash
# Asking for more VFs than sriov_totalvfs: OutOfRange naming both numbers, other PFs unaffected.
# vm-needs: sriovd sriovctl
. "$VM_LIB"

pfs=($(pf_list))
pf_conf 10-first "${pfs[0]}" 2
sriovd_start
sriovd_wait_ready

r=$(pf_call "${pfs[1]}" SetNumVFs ut 8 0 || true)
log "SetNumVFs(8): $r"
assert_match "$r" '^ERROR io\.sriovd1\.Error\.OutOfRange: ' "reply to SetNumVFs(8)"
assert_match "$r" '(^|[^0-9])8([^0-9]|$)' "error message names the count asked for"
assert_match "$r" '(^|[^0-9])7([^0-9]|$)' "error message names sriov_totalvfs"
assert_eq "$(pf_numvfs "${pfs[1]}")" 0 "sriov_numvfs of ${pfs[1]}"
assert_eq "$(pf_numvfs "${pfs[0]}")" 2 "sriov_numvfs of ${pfs[0]}"
assert_eq "$(pf_prop "${pfs[0]}" State)" enforced "State of ${pfs[0]}"

rc=0
out=$(sriovctl set-numvfs "${pfs[1]}" 9 2>&1) || rc=$?
log "sriovctl set-numvfs 9: exit $rc: $out"
assert_eq "$rc" 1 "sriovctl exit status"
assert_match "$out" '(^|[^0-9])9([^0-9]|$)' "sriovctl message names the count asked for"
assert_match "$out" '(^|[^0-9])7([^0-9]|$)' "sriovctl message names sriov_totalvfs"
assert_eq "$(pf_numvfs "${pfs[1]}")" 0 "sriov_numvfs of ${pfs[1]} after sriovctl"
assert_eq "$(pf_prop "${pfs[1]}" DesiredNumVFs)" -1 "nothing persisted for ${pfs[1]}"
