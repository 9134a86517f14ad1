#!/bin/bash
# Restarting sriovd when everything is already right destroys and re-creates nothing.
# vm-needs: sriovd
. "$VM_LIB"

pfs=($(pf_list))
pf_conf 10-first "${pfs[0]}" 7
pf_conf 20-second "${pfs[1]}" 3 "$(printf '[VirtualFunction]\nVirtualFunction=1\nMACAddress=02:00:00:00:02:01\nVLANId=42')"
sriovd_start
sriovd_wait_ready
settle
before=$(pci_snapshot)
vfline_before=$(ip -d link show dev "$(pf_ifname "${pfs[1]}")" | grep -E '^\s+vf 1 ')

sriovd_stop
uevents_start uevents.txt
sriovd_start
sriovd_wait_ready
settle
uevents_stop
assert_eq "$(uevent_count uevents.txt remove)" 0 "PCI remove uevents during the restart"
assert_eq "$(uevent_count uevents.txt add)" 0 "PCI add uevents during the restart"
assert_eq "$(pci_snapshot)" "$before" "PCI devices and drivers after the restart"
assert_eq "$(ip -d link show dev "$(pf_ifname "${pfs[1]}")" | grep -E '^\s+vf 1 ')" "$vfline_before" "vf 1 settings"
assert_eq "$(pf_prop "${pfs[0]}" State)" enforced "State"
