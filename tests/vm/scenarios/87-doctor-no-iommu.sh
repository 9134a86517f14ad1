#!/bin/bash
# Booted WITHOUT the IOMMU (no intel-iommu device, no intel_iommu=on): `sriovctl doctor` fails (exit 1)
# with fixes that name intel_iommu=on and VT-d, and the VFs' missing IOMMU groups; sriovd refuses to
# bind a VF to vfio-pci with the same hint, leaves it unbound (never igbvf), and doctor reports that PF.
# vm-boot: no-iommu
# vm-needs: sriovd sriovctl
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
modprobe vfio-pci
[ -z "$(ls /sys/class/iommu)" ] || fail "an IOMMU unit exists: $(ls /sys/class/iommu)"
[ -z "$(ls /sys/kernel/iommu_groups)" ] || fail "IOMMU groups exist"
test ! -e /sys/firmware/acpi/tables/DMAR || fail "an ACPI DMAR table exists"
[[ " $(cat /proc/cmdline) " != *" intel_iommu=on "* ]] || fail "intel_iommu=on on the command line"
assert_eq "$(grep -m1 vendor_id /proc/cpuinfo | sed 's/.*: //')" GenuineIntel "CPU vendor"

pf_conf 10-first "$pf" 2 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0' 'Driver=vfio-pci')"
sriovd_start
sriovd_wait_ready
vfs=($(vf_list "$pf"))
assert_eq "${#vfs[@]}" 2 "VF devices"
settle
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver" 2>/dev/null)" 2>/dev/null || true; }
assert_eq "$(drv "${vfs[0]}")" "" "driver of VF 0 (vfio-pci refused, never igbvf)"
test ! -e "/sys/bus/pci/devices/${vfs[0]}/iommu_group" || fail "VF 0 has an IOMMU group"
wait_eq 20 "VF 1 on igbvf" igbvf drv "${vfs[1]}"
obj=$(pf_object "$pf")
vfobjs=($(sbus get-property io.sriovd "$obj" io.sriovd1.PhysicalFunction VirtualFunctions | tr -d '"'))
vfprop() { sbus get-property io.sriovd "${vfobjs[$(($1 + 2))]}" io.sriovd1.VirtualFunction "$2" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'; }
assert_eq "$(vfprop 0 State)" failed "VF 0 State"
err=$(vfprop 0 LastError)
log "VF 0 LastError: $err"
assert_contains "$err" "vfio-pci" "VF 0 LastError"
assert_contains "$err" "intel_iommu=on" "VF 0 LastError"
assert_eq "$(vfprop 0 IommuGroup)" -1 "VF 0 IommuGroup"
assert_eq "$(vfprop 1 State)" ok "VF 1 State"
assert_eq "$(pf_prop "$pf" State)" failed "PF State"

doctor_get() {
        /usr/bin/python3 -c '
import json, sys
res, check, dev = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
dev = None if dev == "-" else dev
for r in res:
    if r["check"] == check and r["device"] == dev:
        print("|".join(str(r[f]) for f in sys.argv[4:]))
        break
else:
    print("missing")
' "$@"
}
rc=0
out=$(sriovctl --json doctor) || rc=$?
log "$out"
assert_eq "$rc" 1 "doctor exit status"
assert_eq "$(doctor_get "$out" iommu - status)" fail "iommu"
assert_eq "$(doctor_get "$out" kernel-cmdline - status)" fail "kernel-cmdline"
assert_contains "$(doctor_get "$out" kernel-cmdline - fix)" "intel_iommu=on" "kernel-cmdline fix"
assert_contains "$(doctor_get "$out" kernel-cmdline - fix)" "GRUB_CMDLINE_LINUX_DEFAULT" "kernel-cmdline fix"
assert_contains "$(doctor_get "$out" iommu - fix)" "intel_iommu=on" "iommu fix"
assert_eq "$(doctor_get "$out" firmware - status)" fail "firmware"
assert_contains "$(doctor_get "$out" firmware - fix)" "VT-d" "firmware fix"
assert_eq "$(doctor_get "$out" iommu-groups "$pf" status)" fail "iommu-groups of $pf"
assert_eq "$(doctor_get "$out" sriovd "$pf" status)" fail "sriovd check of $pf (PF failed)"
assert_contains "$(doctor_get "$out" sriovd "$pf" summary fix)" "intel_iommu=on" "sriovd check of $pf"
rc=0
text=$(sriovctl doctor) || rc=$?
assert_eq "$rc" 1 "doctor (text) exit status"
assert_contains "$text" "intel_iommu=on" "doctor"
