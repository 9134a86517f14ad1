#!/bin/bash
# `sriovctl doctor` inside a guest with the emulated Intel IOMMU (q35 intel-iommu, intel_iommu=on, a
# GenuineIntel CPU): the IOMMU, kernel command line and firmware (DMAR) checks pass, the VFs are alone
# in their IOMMU groups, and with sriovd running the daemon check passes too: exit 0. The kernel facts
# behind each check are asserted first.
# vm-needs: sriovd sriovctl
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
modprobe vfio-pci
ls -d /sys/class/iommu/dmar* >/dev/null || fail "no DMAR unit in /sys/class/iommu"
test -e /sys/firmware/acpi/tables/DMAR || fail "no ACPI DMAR table"
assert_match "$(cat /proc/cmdline)" "(^| )intel_iommu=on( |$)" "kernel command line"
ngroups=$(ls /sys/kernel/iommu_groups | wc -l)

# doctor_get JSON CHECK DEVICE|- FIELD...: the fields of the first result of CHECK for DEVICE (- is
# the host), separated by "|"; "missing" when doctor gave no such result.
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

log "doctor without sriovd"
rc=0
out=$(sriovctl --json doctor) || rc=$?
assert_eq "$rc" 0 "doctor exit status without sriovd"
assert_eq "$(doctor_get "$out" iommu - status)" ok "iommu"
assert_contains "$(doctor_get "$out" iommu - summary)" "$ngroups IOMMU groups" "iommu summary"
assert_eq "$(doctor_get "$out" kernel-cmdline - status)" ok "kernel-cmdline"
assert_eq "$(doctor_get "$out" firmware - status)" ok "firmware"
assert_eq "$(doctor_get "$out" vfio-pci - status)" ok "vfio-pci"
assert_eq "$(doctor_get "$out" sriov-capable "$pf" status)" ok "sriov-capable"
assert_eq "$(doctor_get "$out" driver "$pf" status)" ok "driver"
assert_eq "$(doctor_get "$out" sriovd - status)" info "sriovd (not running)"

log "doctor with sriovd and VFs, one on vfio-pci"
pf_conf 10-first "$pf" 3 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0' 'Driver=vfio-pci')"
sriovd_start
sriovd_wait_ready
vfs=($(vf_list "$pf"))
assert_eq "$(basename "$(readlink "/sys/bus/pci/devices/${vfs[0]}/driver")")" vfio-pci "driver of VF 0"
for vf in "${vfs[@]}"; do
        g=$(basename "$(readlink "/sys/bus/pci/devices/$vf/iommu_group")")
        assert_eq "$(ls "/sys/kernel/iommu_groups/$g/devices")" "$vf" "IOMMU group $g"
done
rc=0
out=$(sriovctl --json doctor) || rc=$?
log "$out"
assert_eq "$rc" 0 "doctor exit status"
assert_eq "$(doctor_get "$out" iommu-groups "$pf" status summary)" "ok|3 VFs, each alone in its IOMMU group" \
        "iommu-groups of $pf"
assert_eq "$(doctor_get "$out" sriovd - status)" ok "sriovd check"
assert_eq "$(doctor_get "$out" conflict "$pf" status)" ok "conflict"
failed=$(/usr/bin/python3 -c 'import json, sys; print(" ".join(r["check"] for r in json.loads(sys.argv[1]) if r["status"] == "fail"))' "$out")
assert_eq "$failed" "" "failed checks"
log "the text output"
rc=0
text=$(sriovctl doctor) || rc=$?
assert_eq "$rc" 0 "doctor (text) exit status"
assert_contains "$text" "IOMMU active" "doctor"
assert_contains "$text" "intel_iommu=on" "doctor"
