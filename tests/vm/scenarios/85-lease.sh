#!/bin/bash
# A lease on igb VFs, from a separate bus peer: RequestVirtualFunction with MACAddress and VLANId puts
# them on the VF (ip -d link); Lease.Release() puts back what the VF had before (set by hand here, with
# the PF down, so that no link notification told sriovd: the lease must read the VF from the kernel);
# a second lease, on the other VF (VLAN and QoS before), ends when its holder is killed (its name
# leaves the bus), and a third when its holder disconnects; each VF is restored the same way. The
# lease journal is empty at the end. The lease's MTU is on the VF's own netdev while it holds, and the
# netdev's MTU from before comes back with the rest. Then the drain protocol: sriovctl set-numvfs --wait
# asks the holder of a lease to release (ReleaseRequested, and the lease's ReleaseDeadline for a holder
# that missed it), it does, and the count goes 2 -> 1 through 0; a holder that does not release is named
# in the refusal after the wait, and the count stays. Last, a vfio-pci lease closes the PF's
# sriov_drivers_autoprobe, sriovd is restarted while it holds, and its release opens autoprobe again
# (what it was is kept in /run/sriovd/state, not only in the memory of the sriovd that closed it).
# vm-needs: sriovd sriovctl
. "$VM_LIB"

pfs=($(pf_list))
pf=${pfs[0]}
ifname=$(pf_ifname "$pf")
pf_conf 10-first "$pf" 2
sriovd_start
sriovd_wait_ready
assert_eq "$(pf_numvfs "$pf")" 2 "sriov_numvfs"
ip link set dev "$ifname" vf 0 mac 02:00:00:00:85:a0
ip link set dev "$ifname" vf 1 mac 02:00:00:00:85:a1 vlan 5 qos 2
vf_lines() { ip -d link show dev "$ifname" | grep -E '^\s+vf [0-9]+ '; }
before=$(vf_lines)
log "before the leases:"
echo "$before"
vfprop() { sbus get-property io.sriovd "$1" io.sriovd1.VirtualFunction "$2" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'; }

# lease_start NAME OPTIONS...: a client holding a lease, commands through the FIFO NAME.ctl
lease_start() {
        local name=$1
        shift
        rm -f "$name.ctl"
        mkfifo "$name.ctl"
        /usr/bin/python3 "$VM_LIB_DIR/guest/lease-client.py" "$pf" "$@" <"$name.ctl" >"$name.out" 2>&1 &
        vm_track_pid $!
        eval "${name}_pid=$!"
        disown
        exec {fd}>"$name.ctl"
        eval "${name}_fd=$fd"
        wait_until 60 "$name granted" grep -qE '^(vf |ERROR)' "$name.out"
        ! grep -q '^ERROR' "$name.out" || fail "$name: $(cat "$name.out")"
}

for holder in release kill; do
        if [ $holder = kill ]; then
                log "a first lease takes VF 0, so that the next one gets VF 1"
                lease_start blocker Consumer=blocker
        fi
        log "lease ($holder): MACAddress and VLANId"
        lease_start client MACAddress=02:00:00:00:85:01 VLANId=851 MTU=2000 Consumer=vm-test
        lease=$(sed -n 's/^lease //p' client.out)
        vf=$(sed -n 's/^vf //p' client.out)
        idx=$(vfprop "$vf" Index)
        log "lease $lease on VF $idx"
        assert_eq "$idx" "$([ $holder = release ] && echo 0 || echo 1)" "VF picked"
        line=$(vf_lines | grep -E "^\s+vf $idx ")
        log "$line"
        assert_contains "$line" "link/ether 02:00:00:00:85:01" "vf $idx while leased"
        assert_contains "$line" "vlan 851," "vf $idx while leased"
        assert_eq "$(vfprop "$vf" Lease)" "$lease" "Lease property of the VF"
        assert_eq "$(vfprop "$vf" MACAddress)" 02:00:00:00:85:01 "MACAddress read back while leased"
        vfdev=$(ls "/sys/bus/pci/devices/$(vf_list "$pf" | sed -n "$((idx + 1))p")/net")
        assert_eq "$(cat "/sys/class/net/$vfdev/mtu")" 2000 "MTU of $vfdev while leased"
        assert_eq "$(vfprop "$vf" MTU)" 2000 "MTU read back while leased"
        assert_contains "$(sriovctl leases)" vm-test "sriovctl leases"
        ls /var/lib/sriovd/leases/*.lease >/dev/null || fail "no lease journal"
        if [ $holder = release ]; then
                # the other VF is not touched
                assert_eq "$(vf_lines | grep -E "^\s+vf 1 ")" "$(echo "$before" | grep -E "^\s+vf 1 ")" "vf 1"
        else
                # the QoS the VF had stays with the lease's VLAN (the VLAN attribute carries both)
                assert_contains "$line" "qos 2," "vf 1 while leased"
        fi

        if [ $holder = release ]; then
                echo release >&"$client_fd"
                wait_until 60 "Release() answered" grep -qE '^(released|ERROR)' client.out
                ! grep -q '^ERROR' client.out || fail "Release: $(cat client.out)"
                exec {client_fd}>&-
        else
                log "the holder dies: its name leaves the bus"
                kill -KILL "$client_pid"
                exec {client_fd}>&-
        fi
        if [ $holder = kill ]; then
                wait_eq 30 "VF 1 as before the lease" "$(echo "$before" | grep -E '^\s+vf 1 ')" \
                        bash -c "ip -d link show dev $ifname | grep -E '^\s+vf 1 '"
                log "the blocker disconnects without releasing"
                echo exit >&"$blocker_fd"
                exec {blocker_fd}>&-
        fi
        wait_eq 30 "VF settings as before the lease" "$before" vf_lines
        wait_eq 10 "MTU of $vfdev as before the lease" 1500 cat "/sys/class/net/$vfdev/mtu"
        wait_eq 10 "VF Lease property free" / vfprop "$vf" Lease
        wait_eq 10 "no leases left" "ao 0" sbus call io.sriovd /io/sriovd io.sriovd1.Manager ListLeases
        assert_eq "$(ls /var/lib/sriovd/leases/ 2>/dev/null)" "" "lease journal"
        assert_eq "$(vfprop "$vf" MACAddress)" "$(echo "$before" | sed -n "s/^ *vf $idx *link\/ether \([0-9a-f:]*\) .*/\1/p")" "MACAddress read back after the lease"
done

log "drain: set-numvfs --wait asks the holder of a lease, which releases; then 2 -> 1"
lease_start drainer MACAddress=02:00:00:00:85:d0 Consumer=vm-drain
: >set-numvfs.out
sriovctl set-numvfs "$pf" 1 --wait 120 --runtime >set-numvfs.out 2>&1 &
setpid=$!
wait_until 60 "the lease asked to release" grep -q "asked to release" "$VM_RESULT_DIR/sriovd.log"
assert_eq "$(pf_numvfs "$pf")" 2 "sriov_numvfs while the change waits"
lease=$(sed -n 's/^lease //p' drainer.out)
deadline=$(sbus get-property io.sriovd "$lease" io.sriovd1.Lease ReleaseDeadline | cut -d' ' -f2)
now=$(date +%s)
[ "$deadline" -gt $(((now + 60) * 1000000)) ] && [ "$deadline" -le $(((now + 121) * 1000000)) ] ||
        fail "ReleaseDeadline $deadline is not the call's time plus 120 s (now $now)"
echo release >&"$drainer_fd"
wait "$setpid" || fail "set-numvfs --wait: $(cat set-numvfs.out)"
exec {drainer_fd}>&-
assert_eq "$(pf_numvfs "$pf")" 1 "sriov_numvfs after the holder released"
wait_eq 10 "no leases left" "ao 0" sbus call io.sriovd /io/sriovd io.sriovd1.Manager ListLeases

log "drain: a holder that does not release is named, the count stays"
lease_start stayer Consumer=vm-stays
start=$(date +%s)
if sriovctl set-numvfs "$pf" 2 --wait 3 --runtime >set-numvfs.out 2>&1; then
        fail "set-numvfs --wait succeeded past a lease that was not released"
fi
took=$(($(date +%s) - start))
log "$(cat set-numvfs.out) (after ${took} s)"
assert_contains "$(cat set-numvfs.out)" "vm-stays" "Busy names the consumer"
assert_contains "$(cat set-numvfs.out)" "not released within 3 s" "Busy names the wait"
[ "$took" -ge 3 ] || fail "failed before the deadline (${took} s)"
assert_eq "$(pf_numvfs "$pf")" 1 "sriov_numvfs after the refused change"
assert_eq "$(sbus get-property io.sriovd "$(sed -n 's/^lease //p' stayer.out)" io.sriovd1.Lease ReleaseDeadline)" \
        "t 0" "ReleaseDeadline once the change has failed"
echo exit >&"$stayer_fd"
exec {stayer_fd}>&-
wait_eq 30 "no leases left" "ao 0" sbus call io.sriovd /io/sriovd io.sriovd1.Manager ListLeases

log "a vfio-pci lease across a restart of sriovd: its release opens sriov_drivers_autoprobe again"
modprobe vfio-pci
autoprobe() { cat "/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe"; }
drv() { basename "$(readlink "/sys/bus/pci/devices/$1/driver")" 2>/dev/null; }
assert_eq "$(autoprobe)" 1 "sriov_drivers_autoprobe before the vfio-pci lease"
lease_start vfio Driver=vfio-pci Consumer=vm-vfio
lease=$(sed -n 's/^lease //p' vfio.out)
vfaddr=$(vfprop "$(sed -n 's/^vf //p' vfio.out)" PciAddress)
assert_eq "$(drv "$vfaddr")" vfio-pci "driver of the leased VF"
assert_eq "$(autoprobe)" 0 "sriov_drivers_autoprobe while a VF is leased for vfio-pci"
assert_eq "$(cat "/run/sriovd/state/autoprobe-$pf")" 1 "what autoprobe was, recorded"
sriovd_stop
sriovd_start
sriovd_wait_ready
assert_contains "$(sbus call io.sriovd /io/sriovd io.sriovd1.Manager ListLeases)" "$lease" "the lease kept (its holder is on the bus)"
assert_eq "$(drv "$vfaddr")" vfio-pci "driver of the leased VF after the restart"
assert_eq "$(autoprobe)" 0 "sriov_drivers_autoprobe after the restart"
echo release >&"$vfio_fd"
wait_until 60 "Release() answered" grep -qE '^(released|ERROR)' vfio.out
! grep -q '^ERROR' vfio.out || fail "Release: $(cat vfio.out)"
echo exit >&"$vfio_fd"
exec {vfio_fd}>&-
assert_eq "$(autoprobe)" 1 "sriov_drivers_autoprobe after the release"
wait_eq 20 "the VF back on igbvf" igbvf drv "$vfaddr"
assert_eq "$(pf_prop "$pf" DriversAutoprobe)" true "DriversAutoprobe"
test ! -e "/run/sriovd/state/autoprobe-$pf" || fail "the record of autoprobe outlived its use"
