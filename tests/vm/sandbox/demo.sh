#!/bin/bash
# The sandbox's tour (tools/sandbox.sh runs it in the guest): real kernel, two emulated Intel 82576
# SR-IOV NICs, the build tree's sriovd with an example configuration, a third NIC hot-added.
. "$VM_LIB"
set +e
trap - ERR

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

pfs=($(pf_list))
step "The guest's kernel $(uname -r) sees ${#pfs[@]} SR-IOV NICs (sysfs)"
for pf in "${pfs[@]}"; do
        printf '  %s  %-8s driver %-4s sriov_totalvfs=%s sriov_numvfs=%s\n' "$pf" "$(pf_ifname "$pf")" \
                "$(basename "$(readlink "/sys/bus/pci/devices/$pf/driver")")" "$(pf_totalvfs "$pf")" "$(pf_numvfs "$pf")"
done

step "Starting sriovd with no configuration"
sriovd_start
sriovd_wait_ready
run sriovctl status

step "An example configuration in /etc/sriovd/pf.d"
mkdir -p /etc/sriovd/pf.d
cat >/etc/sriovd/pf.d/10-uplink.conf <<CONF
# First NIC, matched by interface name: 4 VFs, VF 0 with a fixed MAC on VLAN 42.
[Match]
Interface=$(pf_ifname "${pfs[0]}")

[PhysicalFunction]
NumVFs=4

[VirtualFunction]
VirtualFunction=0
MACAddress=02:00:00:00:00:10
VLANId=42
Trust=yes
CONF
cat >/etc/sriovd/pf.d/20-storage.conf <<CONF
# Second NIC, matched by PCI address: 2 VFs.
[Match]
PciAddress=${pfs[1]}

[PhysicalFunction]
NumVFs=2
CONF
cat >/etc/sriovd/pf.d/30-hotplug.conf <<CONF
# The NIC that will be hot-added on the next free PCIe root port: 3 VFs.
[Match]
PciAddress=0000:03:00.0

[PhysicalFunction]
NumVFs=3
CONF
for f in /etc/sriovd/pf.d/*.conf; do printf -- '--- %s\n' "$f"; cat "$f"; done
run sriovctl check-config

step "sriovctl reload: sriovd re-reads the files and creates the VFs"
run sriovctl reload
run sriovctl status

step "What the kernel says"
for pf in "${pfs[@]}"; do
        echo "  $pf: sriov_numvfs=$(pf_numvfs "$pf"), VFs: $(vf_list "$pf" | tr '\n' ' ')"
done
run ip -d link show dev "$(pf_ifname "${pfs[0]}")"

step "Hot-adding a third NIC through QEMU's monitor (QMP device_add)"
new=$(vm_hotplug_add)
echo "  the guest kernel found $new"
for _ in $(seq 300); do
        [ "$(pf_numvfs "$new")" = 3 ] && [ "$(pf_prop "$new" State 2>/dev/null)" = enforced ] && break
        sleep 0.1
done
run sriovctl status
run sriovctl show "$new"

step "Done"
if [ -n "${VM_SHELL:-}" ]; then
        echo "sriovd keeps running (pid $SRIOVD_PID, log in $VM_RESULT_DIR/sriovd.log); a shell follows."
else
        echo "Run tools/sandbox.sh --shell to get a shell in this guest."
        sriovd_stop
fi
