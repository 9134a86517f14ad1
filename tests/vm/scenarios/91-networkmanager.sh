#!/bin/bash
# NetworkManager next to sriovd (Debian's, started at boot after sriovd.service; 91-networkmanager.setup):
# it started only once sriovd.service was active and the boot's VFs existed. The netdevs of the VFs
# sriovd manages carry NM_UNMANAGED=1 and ID_NET_MANAGED_BY=io.sriovd from the installed udev rule and
# NetworkManager leaves them unmanaged; the VF listed in NetworkManagedVFs= is NetworkManager's. A mark
# that changes while the VF has its netdev (NetworkManagedVFs= edited, sriovctl reload) changes the
# netdev's udev properties at once (a change uevent), and NetworkManager's view when the netdev appears
# again (its driver started again), both ways. A profile activated on the PF (its link goes up, sriovd starts a VF driver
# again for its MAC) leaves the VF count and the VFs' settings alone, the VFs still unmanaged.
# `sriovctl doctor` reports a profile with sriov.total-vfs on the same PF as a conflict.
# vm-mode: systemd
# vm-needs: sriovd sriovctl
# vm-timeout: 240
. "$VM_LIB"

log "the boot: NetworkManager's start began with sriovd.service active and the VFs there"
probe=$(cat /vm/probes/NetworkManager.txt)
log "$(tr '\n' ' ' <<<"$probe")"
expect_eq "$(sed -n 1p <<<"$probe")" "0000:01:00.0=7/7" "VFs when NetworkManager started"
expect_eq "$(sed -n 2p <<<"$probe")" "0000:02:00.0=3/3" "VFs when NetworkManager started"
expect_eq "$(sed -n 3p <<<"$probe")" "sriovd.service=active" "sriovd.service when NetworkManager started"
wait_eq 120 "NetworkManager.service active" active systemctl is-active NetworkManager.service

pfs=($(pf_list))
pf=${pfs[0]}
ifname=$(pf_ifname "$pf")
mac0=02:00:00:00:91:00
# the boot's configuration is still there when this scenario runs first
rm -f /etc/sriovd/pf.d/*.conf
pf_conf 10-nm "$pf" 3 "$(printf '%s\n' 'NetworkManagedVFs=2' '[VirtualFunction]' 'VirtualFunction=0' "MACAddress=$mac0")"
# the reset between scenarios emptied /run/sriovd under the running service: a fresh start
systemctl restart sriovd.service
wait_eq 60 "3 VFs" 3 pf_numvfs "$pf"
vfs=($(vf_list "$pf"))
wait_eq 60 "VF netdevs" 3 vf_netdev_count "$pf"
settle
nd=()
for i in 0 1 2; do
        nd+=("$(ls "/sys/bus/pci/devices/${vfs[$i]}/net")")
done
log "VF netdevs: ${nd[*]}"
marks() { ls /run/sriovd/managed-vf | xargs; }
assert_eq "$(marks)" "${vfs[0]} ${vfs[1]}" "marks in /run/sriovd/managed-vf"

udev_prop() { # NETDEV KEY
        udevadm info -q property "/sys/class/net/$1" | sed -n "s/^$2=//p"
}
nm_state() { nmcli -t -f DEVICE,STATE device | awk -F: -v d="$1" '$1 == d { print $2 }'; }
# managed: "unavailable" while the VF has no carrier (its PF down), "disconnected" with one
nm_managed() { case "$(nm_state "$1")" in unavailable | disconnected) echo yes ;; *) echo "no: $(nm_state "$1")" ;; esac; }
for i in 0 1; do
        assert_eq "$(udev_prop "${nd[$i]}" NM_UNMANAGED)" 1 "NM_UNMANAGED of VF $i (${nd[$i]})"
        assert_eq "$(udev_prop "${nd[$i]}" ID_NET_MANAGED_BY)" io.sriovd "ID_NET_MANAGED_BY of VF $i"
        wait_eq 30 "VF $i (${nd[$i]}) unmanaged by NetworkManager" unmanaged nm_state "${nd[$i]}"
done
assert_eq "$(udev_prop "${nd[2]}" NM_UNMANAGED)" "" "NM_UNMANAGED of VF 2 (NetworkManagedVFs=2)"
assert_eq "$(udev_prop "${nd[2]}" ID_NET_MANAGED_BY)" "" "ID_NET_MANAGED_BY of VF 2"
wait_eq 30 "VF 2 (${nd[2]}) managed by NetworkManager" yes nm_managed "${nd[2]}"
nmcli -t -f DEVICE,TYPE,STATE device

log "VF 2's mark follows NetworkManagedVFs= while its netdev exists: a change uevent each way"
# NetworkManager reads NM_UNMANAGED when a netdev appears: the VF's driver is started again here
restart_vf_driver() {
        echo "$1" >/sys/bus/pci/drivers/igbvf/unbind
        echo "$1" >/sys/bus/pci/drivers_probe
        wait_until 30 "$1's netdev again" test -n "$(ls "/sys/bus/pci/devices/$1/net" 2>/dev/null)"
        settle
}
pf_conf 10-nm "$pf" 3 "$(printf '%s\n' '[VirtualFunction]' 'VirtualFunction=0' "MACAddress=$mac0")"
sriovctl reload
assert_eq "$(marks)" "${vfs[0]} ${vfs[1]} ${vfs[2]}" "marks after NetworkManagedVFs= was removed"
wait_eq 30 "NM_UNMANAGED of VF 2 (change uevent)" 1 udev_prop "${nd[2]}" NM_UNMANAGED
assert_eq "$(udev_prop "${nd[2]}" ID_NET_MANAGED_BY)" io.sriovd "ID_NET_MANAGED_BY of VF 2"
restart_vf_driver "${vfs[2]}"
nd2=$(ls "/sys/bus/pci/devices/${vfs[2]}/net")
wait_eq 30 "VF 2 ($nd2) unmanaged by NetworkManager" unmanaged nm_state "$nd2"
pf_conf 10-nm "$pf" 3 "$(printf '%s\n' 'NetworkManagedVFs=2' '[VirtualFunction]' 'VirtualFunction=0' "MACAddress=$mac0")"
sriovctl reload
assert_eq "$(marks)" "${vfs[0]} ${vfs[1]}" "marks after NetworkManagedVFs=2 again"
wait_eq 30 "NM_UNMANAGED of VF 2 gone (change uevent)" "" udev_prop "$nd2" NM_UNMANAGED
restart_vf_driver "${vfs[2]}"
nd2=$(ls "/sys/bus/pci/devices/${vfs[2]}/net")
wait_eq 30 "VF 2 ($nd2) managed by NetworkManager again" yes nm_managed "$nd2"

log "a profile on the PF: NetworkManager brings it up, the VFs and their settings stay"
vf_lines() { ip -d link show dev "$ifname" | grep -E '^\s+vf [0-9]+ ' | sed 's/ *$//'; }
before=$(vf_lines)
autoprobe=$(cat /sys/bus/pci/devices/$pf/sriov_drivers_autoprobe)
echo "$before"
assert_contains "$(grep -E '^\s+vf 0 ' <<<"$before")" "link/ether $mac0" "VF 0 before"
nmcli connection add type ethernet con-name vmtest-pf ifname "$ifname" connection.autoconnect no \
        ipv4.method disabled ipv6.method ignore
nmcli connection up vmtest-pf
wait_eq 30 "$ifname connected" connected nm_state "$ifname"
# sriovd sees the PF go up and starts VF 0's driver again for its MAC: a new netdev, marked again
wait_until 30 "VF 0's netdev with $mac0" grep -qi "$mac0" "/sys/bus/pci/devices/${vfs[0]}/net/"*/address
settle
sleep 3 # NetworkManager's own activation and anything it might do to the PF after it
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs with the PF connected"
assert_eq "$(vf_count "$pf")" 3 "VF devices with the PF connected"
# VF 0's settings are sriovd's; VFs 1 and 2 have none, and igb gives them a new random MAC when their
# driver resets with the PF going up
assert_eq "$(vf_lines | grep -E '^\s+vf 0 ')" "$(grep -E '^\s+vf 0 ' <<<"$before")" "VF 0's settings with the PF connected"
assert_eq "$(vf_lines | wc -l)" 3 "VFs in ip link with the PF connected"
assert_eq "$(cat /sys/bus/pci/devices/$pf/sriov_drivers_autoprobe)" "$autoprobe" "sriov_drivers_autoprobe with the PF connected"
nd0=$(ls "/sys/bus/pci/devices/${vfs[0]}/net")
assert_eq "$(udev_prop "$nd0" NM_UNMANAGED)" 1 "NM_UNMANAGED of VF 0's netdev $nd0 after its driver restarted"
wait_eq 30 "VF 0 ($nd0) unmanaged" unmanaged nm_state "$nd0"
assert_eq "$(nm_state "${nd[1]}")" unmanaged "VF 1 with the PF connected"
assert_eq "$(pf_prop "$pf" State)" enforced "PF State"
nmcli connection down vmtest-pf
nmcli connection delete vmtest-pf
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs after the profile went down"

log "doctor: a NetworkManager profile with sriov.total-vfs on the same PF is a conflict"
nmcli connection add type ethernet con-name vmtest-sriov ifname "$ifname" connection.autoconnect no \
        sriov.total-vfs 3
ls -l /etc/NetworkManager/system-connections/
rc=0
out=$(sriovctl --json doctor) || rc=$?
conflict=$(/usr/bin/python3 -c '
import json, sys
for r in json.loads(sys.argv[1]):
    if r["check"] == "conflict" and r["device"] == sys.argv[2]:
        print(r["status"] + "|" + r["summary"])
        break' "$out" "$pf")
log "conflict: $conflict"
nmcli connection delete vmtest-sriov
assert_eq "$rc" 1 "doctor exit status with the conflicting profile"
assert_match "$conflict" '^fail\|NetworkManager profile /etc/NetworkManager/system-connections/vmtest-sriov.nmconnection sets sriov.total-vfs=3 for this PF$' "doctor's conflict for $pf"
assert_eq "$(pf_numvfs "$pf")" 3 "sriov_numvfs (the profile was never activated)"
