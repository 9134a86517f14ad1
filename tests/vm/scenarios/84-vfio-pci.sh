#!/bin/bash
# Driver=vfio-pci with the emulated IOMMU (the guest boots with intel_iommu=on): VFs 0-1 are bound to
# vfio-pci, each alone in its own IOMMU group, VF 2 gets igbvf and a netdev, and igbvf never creates a
# netdev for VFs 0-1 (sriov_drivers_autoprobe=0 before the VFs exist): the kernel sends exactly one
# net "add" uevent, VF 2's.
# The scenario loads vfio-pci itself: sriovd binds a driver that is there, it does not load modules
# (on a host, vfio-pci is loaded by whatever manages the VMs, or by modules-load.d).
# MTU=9000 on the vfio-pci VFs stays in their policy, not in force: they have no netdev (MTU 0), and
# that is no failure.
# vm-needs: sriovd
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
modprobe vfio-pci
test -d /sys/bus/pci/drivers/vfio-pci || fail "vfio-pci did not register"
[ -n "$(ls /sys/kernel/iommu_groups)" ] || fail "no IOMMU groups: is the guest booted with intel_iommu=on?"

pf_conf 10-first "$pf" 3 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0-1' 'Driver=vfio-pci' 'MTU=9000')"
uevents_start net-uevents.txt net
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs"
assert_eq "$(cat "/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe")" 0 "sriov_drivers_autoprobe"
vfs=($(vf_list "$pf"))
assert_eq "${#vfs[@]}" 3 "VF devices"
settle
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
wait_eq 20 "VF 2 on igbvf" igbvf drv "${vfs[2]}"
wait_until 20 "VF 2's netdev" test -n "$(ls "/sys/bus/pci/devices/${vfs[2]}/net" 2>/dev/null)"
sleep 1 # a stray netdev of VF 0 or 1 would have been announced by now
uevents_stop

groups=()
for i in 0 1; do
        vf=${vfs[$i]}
        assert_eq "$(drv "$vf")" vfio-pci "driver of VF $i ($vf)"
        assert_eq "$(ls "/sys/bus/pci/devices/$vf/net" 2>/dev/null)" "" "netdev of VF $i"
        g=$(basename "$(readlink "/sys/bus/pci/devices/$vf/iommu_group")")
        assert_match "$g" '^[0-9]+$' "IOMMU group of VF $i"
        assert_eq "$(ls "/sys/kernel/iommu_groups/$g/devices")" "$vf" "devices in IOMMU group $g (VF $i)"
        test -c "/dev/vfio/$g" || fail "/dev/vfio/$g missing for VF $i"
        groups+=("$g")
done
assert_ne "${groups[0]}" "${groups[1]}" "IOMMU groups of VF 0 and VF 1"
log "VF 0 in IOMMU group ${groups[0]}, VF 1 in ${groups[1]}"

log "net uevents during the start:"
cat net-uevents.txt
adds=$(grep -E '^KERNEL\[[0-9. ]+\] add ' net-uevents.txt || true)
assert_eq "$(echo "$adds" | grep -c . || true)" 1 "net add uevents"
assert_contains "$adds" "/${vfs[2]}/net/" "the one net add uevent"
for i in 0 1; do
        ! grep -q "/${vfs[$i]}/" net-uevents.txt || fail "a net uevent for VF $i (${vfs[$i]})"
done

log "what sriovd reports"
obj=$(pf_object "$pf")
vfobjs=($(sbus get-property io.sriovd "$obj" io.sriovd1.PhysicalFunction VirtualFunctions | tr -d '"'))
vfprop() { sbus get-property io.sriovd "${vfobjs[$(($1 + 2))]}" io.sriovd1.VirtualFunction "$2" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'; }
for i in 0 1; do
        assert_eq "$(vfprop $i Driver)" vfio-pci "VF $i Driver"
        assert_eq "$(vfprop $i IommuGroup)" "${groups[$i]}" "VF $i IommuGroup"
        assert_eq "$(vfprop $i State)" ok "VF $i State"
        assert_eq "$(vfprop $i MTU)" 0 "VF $i MTU (no netdev)"
        assert_contains "$(sbus get-property io.sriovd "${vfobjs[$(($i + 2))]}" io.sriovd1.VirtualFunction Policy)" \
                '"MTU" u 9000' "VF $i Policy"
done
assert_eq "$(vfprop 2 Driver)" igbvf "VF 2 Driver"
assert_eq "$(pf_prop "$pf" State)" enforced "PF State"
assert_eq "$(pf_prop "$pf" DriversAutoprobe)" false "PF DriversAutoprobe"
