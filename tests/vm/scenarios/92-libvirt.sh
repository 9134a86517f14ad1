#!/bin/bash
# libvirt next to sriovd (Debian's libvirtd, started at boot after sriovd.service; 92-libvirt.setup): it
# started only once sriovd.service was active and the boot's VFs existed, and sees them. A domain
# (64 MiB, no disk, TCG, started paused) defined with `sriovctl libvirt-xml` output gets its VF through
# vfio (managed='yes': libvirt binds vfio-pci and sets the VF's MAC and VLAN through the PF); while it
# runs (its PF up, as libvirt needs) sriovd, asked to apply, neither rebinds the VF (no PCI uevent of it) nor changes its settings; VF
# 0 has MAC and VLAN policy, which the XML carries, and VF 2 Driver=vfio-pci, which keeps the PF's
# sriov_drivers_autoprobe at 0: libvirt's probe after `virsh destroy` then binds nothing, and sriovd
# binds the VF's own driver again, with its policy. The same with a VF leased through
# `sriovctl request --persistent --libvirt-xml`: the lease's MAC and VLAN while it holds the VF, the
# policy again after `sriovctl release`.
# vm-mode: systemd
# vm-needs: sriovd sriovctl
# vm-timeout: 480
. "$VM_LIB"

log "the boot: libvirtd's start began with sriovd.service active and the VFs there"
probe=$(cat /vm/probes/libvirtd.txt)
log "$(tr '\n' ' ' <<<"$probe")"
expect_eq "$(sed -n 1p <<<"$probe")" "0000:01:00.0=7/7" "VFs when libvirtd started"
expect_eq "$(sed -n 2p <<<"$probe")" "0000:02:00.0=3/3" "VFs when libvirtd started"
expect_eq "$(sed -n 3p <<<"$probe")" "sriovd.service=active" "sriovd.service when libvirtd started"
assert_contains "$(systemctl show -p After --value libvirtd.service)" sriovd.service "libvirtd.service After="

pfs=($(pf_list))
pf=${pfs[0]}
ifname=$(pf_ifname "$pf")
mac0=02:00:00:00:92:00
modprobe vfio-pci
# the boot's configuration is still there when this scenario runs first
rm -f /etc/sriovd/pf.d/*.conf
pf_conf 10-libvirt "$pf" 3 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0' "MACAddress=$mac0" 'VLANId=92' \
        '[VirtualFunction]' 'VirtualFunction=2' 'Driver=vfio-pci')"
# the reset between scenarios emptied /run/sriovd under the running service: a fresh start
systemctl restart sriovd.service
wait_eq 60 "3 VFs" 3 pf_numvfs "$pf"
vfs=($(vf_list "$pf"))
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
wait_eq 60 "VF 0 on igbvf" igbvf drv "${vfs[0]}"
wait_eq 60 "VF 2 on vfio-pci" vfio-pci drv "${vfs[2]}"
# libvirt sets a VF's MAC and VLAN through the PF only while the PF is up ("Unable to configure VF 0
# of PF 'enp1s0' because the PF is not online"), as it is on a host
ip link set dev "$ifname" up
wait_until 30 "VF 0's netdev with $mac0" grep -qi "$mac0" "/sys/bus/pci/devices/${vfs[0]}/net/"*/address
wait_eq 30 "PF enforced" enforced pf_prop "$pf" State
assert_eq "$(cat "/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe")" 0 "sriov_drivers_autoprobe"
settle

log "libvirt sees the PF's VFs"
nodedev=pci_$(tr ':.' '__' <<<"$pf")
dump=$(virsh -c qemu:///system nodedev-dumpxml "$nodedev")
assert_contains "$dump" "<capability type='virt_functions' maxCount='7'>" "virsh nodedev-dumpxml $nodedev"
assert_eq "$(grep -c "<address domain=" <<<"$(sed -n "/virt_functions/,/\/capability/p" <<<"$dump")")" 3 "VFs libvirt lists"

vf_line() { ip -d link show dev "$ifname" | grep -E "^\s+vf $1 " | sed 's/ *$//'; }
vfprop() { # INDEX PROPERTY
        local objs
        objs=($(sbus get-property io.sriovd "$(pf_object "$pf")" io.sriovd1.PhysicalFunction VirtualFunctions | tr -d '"'))
        sbus get-property io.sriovd "${objs[$(($1 + 2))]}" io.sriovd1.VirtualFunction "$2" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'
}
# <acpi/>: without it libvirt 9.0 passes -no-acpi, which QEMU 10 no longer has
domain_xml() { # NAME INTERFACE-XML
        cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/></features>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
$2
  </devices>
</domain>
XML
}

# run_domain NAME INDEX MAC VLAN XML: the domain holds VF INDEX through vfio while sriovd applies, and
# gives it back on destroy
run_domain() {
        local name=$1 idx=$2 mac=$3 vlan=$4 xml=$5 vf=${vfs[$2]} t0 t
        domain_xml "$name" "$xml" >"$name.xml"
        cat "$name.xml"
        t0=$SECONDS
        virsh -c qemu:///system define "$name.xml"
        virsh -c qemu:///system start --paused "$name"
        t=$((SECONDS - t0))
        log "$name defined and started paused in ${t}s"
        assert_eq "$(virsh -c qemu:///system domstate "$name")" paused "state of $name"
        assert_eq "$(drv "$vf")" vfio-pci "driver of VF $idx ($vf) while $name runs"
        local line
        line=$(vf_line "$idx")
        log "$line"
        assert_contains "$line" "link/ether $mac" "VF $idx while $name runs"
        assert_contains "$line" "vlan $vlan," "VF $idx while $name runs"
        assert_contains "$(virsh -c qemu:///system dumpxml "$name")" "bus='0x01' slot='0x10' function='0x$((idx * 2))'/>" "$name's hostdev"

        log "sriovd applies while $name runs: no PCI uevent of VF $idx, its settings stay"
        uevents_start "$name-uevents.txt" pci
        sriovctl apply
        sleep 10
        uevents_stop
        cat "$name-uevents.txt"
        ! grep -q "/$vf " "$name-uevents.txt" || fail "PCI uevents of VF $idx ($vf) while $name ran"
        assert_eq "$(drv "$vf")" vfio-pci "driver of VF $idx after the apply"
        assert_eq "$(vf_line "$idx")" "$line" "VF $idx's settings after the apply"
        assert_eq "$(virsh -c qemu:///system domstate "$name")" paused "state of $name after the apply"
        assert_eq "$(vfprop "$idx" Driver)" vfio-pci "Driver of VF $idx on the bus"
        assert_eq "$(vfprop "$idx" State)" ok "State of VF $idx"
        assert_eq "$(pf_prop "$pf" State)" enforced "PF State while $name runs"

        log "virsh destroy: libvirt gives VF $idx back, sriovd binds its driver again"
        virsh -c qemu:///system destroy "$name"
        virsh -c qemu:///system undefine "$name"
        wait_eq 30 "VF $idx back on igbvf" igbvf drv "$vf"
        wait_until 30 "VF $idx's netdev" test -n "$(ls "/sys/bus/pci/devices/$vf/net" 2>/dev/null)"
        line=$(vf_line "$idx")
        log "$line"
        assert_contains "$line" "link/ether $mac" "VF $idx after $name"
        assert_contains "$line" "vlan $vlan," "VF $idx after $name"
        assert_eq "$(cat "/sys/bus/pci/devices/$vf/driver_override")" "(null)" "driver_override of VF $idx"
        wait_eq 30 "PF enforced after $name" enforced pf_prop "$pf" State
}

log "a domain with VF 0 from sriovctl libvirt-xml"
xml=$(sriovctl libvirt-xml "$pf" 0)
echo "$xml"
assert_contains "$xml" "<mac address='$mac0'/>" "libvirt-xml of VF 0"
assert_contains "$xml" "<tag id='92'/>" "libvirt-xml of VF 0"
run_domain vm92 0 "$mac0" 92 "$xml"
assert_eq "$(drv "${vfs[2]}")" vfio-pci "VF 2 untouched"

log "a domain with a VF leased with sriovctl request --libvirt-xml"
xml=$(sriovctl request --persistent --consumer vm92-lease --libvirt-xml "$pf" mac=52:54:00:92:00:01 vlan=921)
echo "$xml"
assert_contains "$xml" "<mac address='52:54:00:92:00:01'/>" "request --libvirt-xml"
assert_contains "$xml" "<tag id='921'/>" "request --libvirt-xml"
assert_contains "$xml" "slot='0x10' function='0x0'" "the leased VF (the first free one, VF 0)"
run_domain vm92-lease 0 52:54:00:92:00:01 921 "$xml"
lease=$(sriovctl --json leases | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["Leases"][0]["Id"])')
log "release lease $lease: VF 0 back to its policy"
sriovctl release "$lease"
line=$(vf_line 0)
assert_contains "$line" "link/ether $mac0" "VF 0 after the release"
assert_contains "$line" "vlan 92," "VF 0 after the release"
assert_eq "$(drv "${vfs[0]}")" igbvf "driver of VF 0 after the release"
wait_eq 30 "PF enforced at the end" enforced pf_prop "$pf" State
