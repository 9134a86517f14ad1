#!/bin/bash
# A VF's netdev starts with its configured MAC: sriovd sets VF settings before the VF driver probes
# (igb hands a VF its MAC when igbvf starts, and only while the PF is up), after coldplug, a count
# change, a PF driver rebind and a hotplug; a PF that comes up later gets its VF drivers started
# again. Read from the VF's own netdev, not from the PF's view (`ip link show PF`). The VFs of a PF
# are probed at once, and still each starts with its MAC.
# vm-needs: sriovd
# vm-timeout: 300
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
third=0000:03:00.0
macs() { # PF N: the VFs' policy, VF i gets 02:00:00:88:<bus>:0i
        local bus=${1:5:2} i
        for ((i = 0; i < $2; i++)); do
                printf '[VirtualFunction]\nVirtualFunction=%d\nMACAddress=02:00:00:88:%s:%02x\nVLANId=%d\n\n' \
                        "$i" "$bus" "$i" "$((100 + i))"
        done
}
pf_conf 10-first "$pf" 3 "$(macs "$pf" 4)"
pf_conf 30-hotplugged "$third" 2 "$(macs "$third" 2)"

# every VF of PF has its netdev, on igbvf, carrying the configured MAC
check_vf_netdevs() { # WHEN PF COUNT
        local when=$1 p=$2 n=$3 i vf dev addr
        wait_eq 60 "$when: $n VFs of $p on igbvf with a netdev" "$n" vf_netdev_count "$p"
        # udevd renames a new netdev (eth0 -> enp3s0v1) after it appears: read it once renamed
        settle
        i=0
        for vf in $(vf_list "$p"); do
                dev=$(ls "/sys/bus/pci/devices/$vf/net")
                addr=$(cat "/sys/bus/pci/devices/$vf/net/$dev/address")
                log "$when: $vf $dev $addr"
                assert_eq "$addr" "$(printf '02:00:00:88:%s:%02x' "${p:5:2}" "$i")" "$when: MAC of the netdev of VF $i ($vf)"
                i=$((i + 1))
        done
        assert_eq "$i" "$n" "$when: VFs of $p"
}

pf_up "$pf"
sriovd_start
sriovd_wait_ready
check_vf_netdevs "coldplug" "$pf" 3
# sriovd probes the VFs of a PF at once: the kernel takes sibling VFs' probes in parallel (each holds
# its own VF's device lock), and every VF still started with its MAC (above). A VF driver that started
# while igb still re-initialized the PF took a random MAC and was started again by the same job, so
# the job may count 6 probes (or more) for the 3 VFs.
probes=$(grep -o "$pf: [0-9]* VF driver probes, up to [0-9]* at once" "$VM_RESULT_DIR/sriovd.log" | head -1)
log "coldplug: $probes"
assert_match "$probes" "^$pf: ([3-9]|[1-9][0-9]+) VF driver probes, up to [23] at once$" "VF probes of $pf in parallel"
assert_contains "$(ip -d link show dev "$(pf_ifname "$pf")" | grep -E '^\s+vf 2 ')" "vlan 102" "VLAN of vf 2"
assert_eq "$(cat "/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe")" 1 "autoprobe back to 1 after creating"

log "count change 3 -> 4"
sriovctl set-numvfs "$pf" 4 || fail "set-numvfs"
check_vf_netdevs "count change" "$pf" 4

log "PF driver rebind"
echo "$pf" >/sys/bus/pci/drivers/igb/unbind
wait_eq 10 "VFs gone with the driver" 0 vf_count "$pf"
echo "$pf" >/sys/bus/pci/drivers/igb/bind
wait_eq 30 "4 VFs back" 4 pf_numvfs "$pf"
# igb registers its netdev down: the VF drivers started without their MAC until the PF is up
wait_until 30 "the PF's netdev back" test -n "$(ls "/sys/bus/pci/devices/$pf/net" 2>/dev/null)"
pf_up "$pf"
check_vf_netdevs "driver rebind, PF up" "$pf" 4

log "hotplug"
new=$(vm_hotplug_add)
assert_eq "$new" "$third" "address of the hot-added PF"
wait_eq 60 "2 VFs on $new" 2 vf_count "$new"
pf_up "$new"
check_vf_netdevs "hotplug, PF up" "$new" 2
vm_hotplug_del "$new"
