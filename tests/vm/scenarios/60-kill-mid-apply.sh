#!/bin/bash
# SIGKILL in the middle of an apply, then start again: it converges.
# vm-needs: sriovd
# vm-timeout: 240
. "$VM_LIB"

pfs=($(pf_list))
pf_conf 10-first "${pfs[0]}" 7
pf_conf 20-second "${pfs[1]}" 7
sriovd_start
# The kernel creates VFs one by one while the write to sriov_numvfs blocks: kill as soon as the first
# VF exists.
wait_until 60 "the first VF" test -e "/sys/bus/pci/devices/${pfs[0]}/virtfn0" -o -e "/sys/bus/pci/devices/${pfs[1]}/virtfn0"
sriovd_kill9
log "killed; now ${pfs[0]}=$(pf_numvfs "${pfs[0]}") ${pfs[1]}=$(pf_numvfs "${pfs[1]}"), ready: $(sriovd_ready && echo yes || echo no)"
settle

# A count left behind by hand as well, so the restart has real work on both PFs.
[ "$(pf_numvfs "${pfs[1]}")" != 0 ] || pf_set_numvfs "${pfs[1]}" 2

sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "${pfs[0]}")" 7 "sriov_numvfs of ${pfs[0]}"
assert_eq "$(pf_numvfs "${pfs[1]}")" 7 "sriov_numvfs of ${pfs[1]}"
assert_eq "$(vf_count "${pfs[0]}")" 7 "VF devices of ${pfs[0]}"
assert_eq "$(vf_count "${pfs[1]}")" 7 "VF devices of ${pfs[1]}"
assert_eq "$(pf_prop "${pfs[0]}" State)" enforced "State of ${pfs[0]}"
assert_eq "$(pf_prop "${pfs[1]}" State)" enforced "State of ${pfs[1]}"
