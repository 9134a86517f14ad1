#!/bin/bash
# Removing and purging the Debian package under systemd (dpkg, which runs the maintainer scripts as
# apt-get does, in a fraction of the time): `dpkg -r` stops sriovd.service and
# leaves every VF as it was (count, PCI devices, drivers with vfio-pci among them, MAC and VLAN; no
# PCI uevent), and keeps /etc/sriovd and /var/lib/sriovd. A purge with /etc/sriovd/keep-state-on-purge
# keeps the state, and a reinstallation starts sriovd.service, enabled, with the persistent lease
# from before; a purge without the marker removes /var/lib/sriovd, the package's conffile and unit
# links, still without touching a VF, and keeps the admin's own files in /etc/sriovd.
# vm-mode: systemd
# vm-needs: sriovd sriovctl package
# vm-timeout: 300
. "$VM_LIB"

mapfile -t debs < <(vm_debs)
deb=${debs[-1]}
pf=0000:01:00.0
modprobe vfio-pci # sriovd loads no modules (ProtectKernelModules=)
pf_conf 10-first $pf 3 "
[VirtualFunction]
VirtualFunction=1
Driver=vfio-pci"
dpkg-query -W -f='${Status}\n' sriovd | grep -q 'install ok installed' || vm_dpkg -i "$deb"
systemctl start sriovd.service
wait_eq 60 "3 VFs on $pf" 3 pf_numvfs $pf
wait_eq 60 "State of $pf" enforced pf_prop $pf State
/usr/bin/sriovctl request --persistent --consumer=vm-92 $pf mac=02:00:00:00:92:01 vlan=92 >lease.out
log "persistent lease: $(tr '\n' ' ' <lease.out)"
journal=(/var/lib/sriovd/leases/*.lease)
assert_eq "${#journal[@]}" 1 "lease journals"
vf1=$(vf_list $pf | sed -n 2p)
assert_eq "$(basename "$(readlink /sys/bus/pci/devices/$vf1/driver)")" vfio-pci "driver of VF 1 ($vf1)"

vfs() { # the VFs as the kernel has them
        pci_snapshot
        ip -d link show dev "$(pf_ifname $pf)" | grep -E '^\s+vf [0-9]+ '
}
vfs >vfs-before.txt
cat vfs-before.txt
state() { (cd /var/lib/sriovd && find . -type f | sort | xargs -r md5sum); }
state >state-before.txt

log "dpkg -r: sriovd stops, the VFs stay"
uevents_start uevents.txt
vm_dpkg -r sriovd
assert_eq "$(dpkg-query -W -f='${Status}' sriovd)" "deinstall ok config-files" "package after remove"
assert_eq "$(systemctl is-active sriovd.service || true)" inactive "sriovd.service after remove"
! pgrep -x sriovd >/dev/null || fail "a sriovd process is left after remove: $(pgrep -a -x sriovd)"
test ! -e /usr/sbin/sriovd || fail "/usr/sbin/sriovd is still there after remove"
vfs >vfs-after-remove.txt
diff -u vfs-before.txt vfs-after-remove.txt || fail "the VFs changed with dpkg -r (diff above)"
state >state-after-remove.txt
diff -u state-before.txt state-after-remove.txt || fail "/var/lib/sriovd changed with dpkg -r"
test -f /etc/sriovd/pf.d/example.conf.example || fail "remove took the conffile"
test -f /etc/sriovd/pf.d/10-first.conf || fail "remove took the admin's 10-first.conf"

log "purge with /etc/sriovd/keep-state-on-purge: the state stays"
touch /etc/sriovd/keep-state-on-purge
vm_dpkg -P sriovd
purged() { local st; st=$(dpkg-query -W -f='${Status}' sriovd 2>/dev/null || true); [[ -z $st || $st == *" not-installed" ]]; }
purged || fail "package after purge: $(dpkg-query -W -f='${Status}' sriovd)"
test ! -e /etc/sriovd/pf.d/example.conf.example || fail "purge left the conffile"
state >state-after-purge-kept.txt
diff -u state-before.txt state-after-purge-kept.txt || fail "/var/lib/sriovd changed with the marker"
grep -q 'keeping /var/lib/sriovd' apt.log || fail "the purge did not say it kept /var/lib/sriovd (apt.log)"

log "reinstalled: enabled, started, and the persistent lease is back"
vm_dpkg -i "$deb"
assert_eq "$(systemctl is-enabled sriovd.service)" enabled "sriovd.service after installation"
wait_eq 60 "sriovd.service active" active systemctl is-active sriovd.service
assert_contains "$(/usr/bin/sriovctl --no-legend leases)" vm-92 "sriovctl leases after the reinstallation"
vfs >vfs-after-reinstall.txt
diff -u vfs-before.txt vfs-after-reinstall.txt || fail "the VFs changed with the reinstallation"

log "purge without the marker: the state goes, the VFs and the admin's files stay"
rm /etc/sriovd/keep-state-on-purge
vm_dpkg -P sriovd
uevents_stop
test ! -e /var/lib/sriovd || fail "/var/lib/sriovd left after purge: $(find /var/lib/sriovd)"
purged || fail "package after purge: $(dpkg-query -W -f='${Status}' sriovd)"
for l in multi-user.target.wants/sriovd.service dbus-io.sriovd.service; do
        test ! -L /etc/systemd/system/$l || fail "purge left the link /etc/systemd/system/$l"
done
test -f /etc/sriovd/pf.d/10-first.conf || fail "purge took the admin's 10-first.conf"
vfs >vfs-after-purge.txt
diff -u vfs-before.txt vfs-after-purge.txt || fail "the VFs changed with the purge"
assert_eq "$(uevent_count uevents.txt remove)" 0 "PCI remove uevents while removing, reinstalling, purging"
assert_eq "$(uevent_count uevents.txt add)" 0 "PCI add uevents while removing, reinstalling, purging"
expect_done
