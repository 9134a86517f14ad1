#!/bin/bash
# systemd as PID 1: sriovd.service (installed with meson install, enabled) creates the VFs before
# network-pre.target; a unit ordered After=sriovd.service sees them when it starts; `systemctl stop`
# leaves them in place; bus activation of io.sriovd starts the service again. The unit's hardening
# (docs/hardening.md) is in force on the running process (systemctl show, and the kernel's view:
# capabilities, seccomp, mounts), its exposure score is at most 1.5, and under it sriovd still changes a
# count, sets a VF's MAC and VLAN over rtnetlink, binds a VF to vfio-pci, writes its state and a lease
# journal, learns a non-root caller's user, and runs its diagnostics helper for RunDiagnostics().
# Preparation before boot: 90-systemd-boot.setup (which also makes igb bind late, after sriovd starts).
# vm-mode: systemd
# vm-needs: sriovd sriovctl
# vm-timeout: 360
. "$VM_LIB"

wait_eq 120 "sriovd.service active" active systemctl is-active sriovd.service
log "sriovd.service: $(systemctl show -p ActiveState,SubState,MainPID,ExecMainStartTimestampMonotonic sriovd.service | tr '\n' ' ')"

# Eventually right in any case; whether they were there in time is what the probes say.
wait_eq 60 "7 VFs on 0000:01:00.0" 7 pf_numvfs 0000:01:00.0
wait_eq 60 "3 VFs on 0000:02:00.0" 3 pf_numvfs 0000:02:00.0
assert_eq "$(vf_count 0000:01:00.0)" 7 "VF devices of 0000:01:00.0"

log "probe after network-pre.target: $(tr '\n' ' ' </vm/probes/network-pre.txt)"
expect_eq "$(sed -n 1p /vm/probes/network-pre.txt)" "0000:01:00.0=7/7" "VFs when network-pre.target was reached"
expect_eq "$(sed -n 2p /vm/probes/network-pre.txt)" "0000:02:00.0=3/3" "VFs when network-pre.target was reached"
log "probe After=sriovd.service: $(tr '\n' ' ' </vm/probes/after-sriovd.txt)"
expect_eq "$(sed -n 1p /vm/probes/after-sriovd.txt)" "0000:01:00.0=7/7" "VFs seen by a unit After=sriovd.service"
expect_eq "$(sed -n 2p /vm/probes/after-sriovd.txt)" "0000:02:00.0=3/3" "VFs seen by a unit After=sriovd.service"

out=$(sriovctl status)
echo "$out"
assert_contains "$out" "enforced" "sriovctl status"

log "the hardening in force on the running unit"
want=(ProtectSystem=strict ProtectKernelTunables=yes
      "ReadWritePaths=/sys/bus/pci/drivers_probe /sys/bus/pci/drivers /sys/devices"
      "ReadOnlyPaths=/sys/devices/system /sys/devices/virtual" ProtectProc=invisible ProcSubset=pid
      PrivateIPC=yes PrivateMounts=yes PrivateDevices=yes DevicePolicy=closed UMask=0077
      "RestrictAddressFamilies=AF_NETLINK AF_UNIX" CapabilityBoundingSet=cap_net_admin
      SystemCallArchitectures=native NoNewPrivileges=yes "IPAddressDeny=0.0.0.0/0 ::/0" ProtectHome=yes
      PrivateTmp=yes ProtectClock=yes ProtectHostname=yes ProtectKernelLogs=yes ProtectKernelModules=yes
      ProtectControlGroups=yes RestrictNamespaces=yes LockPersonality=yes MemoryDenyWriteExecute=yes
      RestrictRealtime=yes RestrictSUIDSGID=yes RemoveIPC=yes)
declare -A shown
while IFS= read -r l; do # lists in a fixed order: systemctl prints some (IPAddressDeny=) in any
        shown[${l%%=*}]=$(tr ' ' '\n' <<<"${l#*=}" | sort | xargs)
done < <(systemctl show sriovd.service $(printf -- '-p %s ' "${want[@]%%=*}") -p SystemCallFilter)
for w in "${want[@]}"; do
        expect_eq "${w%%=*}=${shown[${w%%=*}]:-}" "${w%%=*}=$(tr ' ' '\n' <<<"${w#*=}" | sort | xargs)" \
                "sriovd.service property"
done
filter=" ${shown[SystemCallFilter]} "
for call in epoll_wait eventfd2 signalfd4 timerfd_settime clone3 socket inotify_init1 write; do
        [[ $filter == *" $call "* ]] || expect_eq "$call not allowed" "$call allowed" "SystemCallFilter"
done
for call in chown setuid capset setrlimit sched_setaffinity mount; do
        [[ $filter != *" $call "* ]] || expect_eq "$call allowed" "$call denied" "SystemCallFilter"
done

# What the kernel says about the process itself.
main=$(systemctl show -p MainPID --value sriovd.service)
assert_match "$main" '^[1-9][0-9]*$' "MainPID"
status=$(cat "/proc/$main/status")
expect_eq "$(awk '$1 == "CapBnd:" { print $2 }' <<<"$status")" 0000000000001000 "CapBnd (CAP_NET_ADMIN only)"
expect_eq "$(awk '$1 == "CapEff:" { print $2 }' <<<"$status")" 0000000000001000 "CapEff (CAP_NET_ADMIN only)"
expect_eq "$(awk '$1 == "NoNewPrivs:" { print $2 }' <<<"$status")" 1 "NoNewPrivs"
expect_eq "$(awk '$1 == "Seccomp:" { print $2 }' <<<"$status")" 2 "Seccomp (filter mode)"
# mount_opts PATH: the per-mount options of the topmost mount on PATH in sriovd's mount namespace
mount_opts() { awk -v p="$1" '$5 == p { o = $6 } END { print o }' "/proc/$main/mountinfo" | cut -d, -f1; }
for p in / /sys /sys/devices/system /sys/devices/virtual; do
        expect_eq "$(mount_opts "$p")" ro "mount $p as sriovd sees it"
done
for p in /sys/bus/pci/drivers_probe /sys/bus/pci/drivers /sys/devices /var/lib/sriovd /run/sriovd; do
        expect_eq "$(mount_opts "$p")" rw "mount $p as sriovd sees it"
done
proc=$(awk '$5 == "/proc" { o = $0 } END { print o }' "/proc/$main/mountinfo")
log "sriovd's /proc: $proc"
expect_eq "$(grep -o 'hidepid=[a-z0-9]*,subset=[a-z]*' <<<"$proc")" hidepid=invisible,subset=pid "sriovd's /proc"
# A write in sriovd's mount namespace: the PCI bus's rescan is read-only there ("0" would rescan
# nothing anyway), the PF's sriov_drivers_autoprobe is writable (its own value written back).
ns_write_errno() { # FILE VALUE
        nsenter -t "$main" -m -- /usr/bin/python3 -c '
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    os.write(fd, sys.argv[2].encode() + b"\n")
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))' "$1" "$2"
}
expect_eq "$(ns_write_errno /sys/bus/pci/rescan 0)" EROFS "write to /sys/bus/pci/rescan in sriovd's namespace"
autoprobe=/sys/bus/pci/devices/0000:01:00.0/sriov_drivers_autoprobe
expect_eq "$(ns_write_errno $autoprobe "$(cat $autoprobe)")" OK "write to sriov_drivers_autoprobe in sriovd's namespace"

security=$(systemd-analyze security sriovd.service 2>&1) || true
echo "$security" | grep -F '✗' || true
log "$(echo "$security" | grep -F 'Overall exposure level')"
systemd-analyze security --threshold=15 sriovd.service >/dev/null 2>&1 ||
        expect_eq "$(echo "$security" | grep -F 'Overall exposure level')" "at most 1.5" "systemd-analyze security"

log "under the hardened unit: a count change, VF link settings, vfio-pci, persisted state"
pf2=0000:02:00.0
sriovctl set-numvfs $pf2 2
assert_eq "$(pf_numvfs $pf2)" 2 "sriov_numvfs of $pf2 after set-numvfs"
assert_eq "$(vf_count $pf2)" 2 "VF devices of $pf2 after set-numvfs"
sriovctl set-vf $pf2 0 mac=02:00:00:00:90:01 vlan=90
line=$(ip -d link show dev "$(pf_ifname $pf2)" | grep -E '^\s+vf 0 ')
log "$line"
assert_contains "$line" "link/ether 02:00:00:00:90:01" "vf 0 of $pf2"
assert_contains "$line" "vlan 90," "vf 0 of $pf2"
modprobe vfio-pci # sriovd loads no modules (ProtectKernelModules=)
sriovctl set-vf $pf2 1 driver=vfio-pci
vf1=$(vf_list $pf2 | sed -n 2p)
assert_eq "$(basename "$(readlink "/sys/bus/pci/devices/$vf1/driver")")" vfio-pci "driver of VF 1 ($vf1)"
assert_eq "$(pf_prop $pf2 State)" enforced "State of $pf2"
state=/var/lib/sriovd/pf/$pf2.conf
test -f $state || fail "no state file $state"
log "$state ($(stat -c %a $state)): $(tr '\n' ' ' <$state)"
assert_contains "$(cat $state)" "2" "$state"
expect_eq "$(stat -c %a $state)" 600 "mode of $state (UMask=0077)"

log "a lease: its journal written, its options on the VF over rtnetlink, restored on release"
rm -f lease.ctl
mkfifo lease.ctl
/usr/bin/python3 "$VM_LIB_DIR/guest/lease-client.py" 0000:01:00.0 MACAddress=02:00:00:00:90:0a VLANId=91 \
        Consumer=vm-systemd <lease.ctl >lease.out 2>&1 &
vm_track_pid $!
exec {lease_fd}>lease.ctl
wait_until 60 "lease granted" grep -qE '^(vf |ERROR)' lease.out
! grep -q '^ERROR' lease.out || fail "lease: $(cat lease.out)"
journal=(/var/lib/sriovd/leases/*.lease)
assert_eq "${#journal[@]}" 1 "lease journal files"
expect_eq "$(stat -c %a "${journal[0]}")" 600 "mode of ${journal[0]} (UMask=0077)"
line=$(ip -d link show dev "$(pf_ifname 0000:01:00.0)" | grep -E '^\s+vf 0 ')
assert_contains "$line" "link/ether 02:00:00:00:90:0a" "leased vf 0 of 0000:01:00.0"
assert_contains "$line" "vlan 91," "leased vf 0 of 0000:01:00.0"
echo release >&$lease_fd
wait_until 60 "Release() answered" grep -qE '^(released|ERROR)' lease.out
! grep -q '^ERROR' lease.out || fail "release: $(cat lease.out)"
exec {lease_fd}>&-
assert_eq "$(ls /var/lib/sriovd/leases/)" "" "lease journal after release"

# ProtectProc=invisible hides a non-root caller's /proc entry from sriovd: it learns the caller's user
# from the bus, and asks polkit (answered either way; never "Failed to get the caller's credentials").
r=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 "$VM_LIB_DIR/guest/bus-call.py" \
        "$(pf_object $pf2)" io.sriovd1.PhysicalFunction SetNumVFs ut 3 0 2>&1) || true
log "SetNumVFs as nobody: $r"
assert_contains "$r" "ERROR org.freedesktop.DBus.Error.AccessDenied: Not authorized" "SetNumVFs as nobody"
assert_eq "$(pf_numvfs $pf2)" 2 "sriov_numvfs of $pf2 after the refused call"

# RunDiagnostics(): sriovd spawns its helper under the unit's sandbox (seccomp, no capability but
# CAP_NET_ADMIN, ProcSubset=pid, ProtectKernelModules=). Its records are sriovctl doctor's (run here as
# root, outside the sandbox) for every PF; what the sandbox hides (/proc/cmdline, /proc/cpuinfo, the
# module tree) may be reported as not checked, never as a failure or warning sriovctl does not find.
log "RunDiagnostics under the hardened unit"
busctl --json=short --timeout=60 call io.sriovd /io/sriovd io.sriovd1.Manager RunDiagnostics >diagnostics.json ||
        fail "RunDiagnostics failed: $(cat diagnostics.json)"
sriovctl --json doctor >doctor.json || true
r=$(/usr/bin/python3 - diagnostics.json doctor.json <<'PY'
import json, sys
diag = [tuple(c) for c in json.load(open(sys.argv[1]))['data'][0]]
doc = [(c['check'], c['device'] or '', c['status'], c['summary'], c['fix'] or '')
       for c in json.load(open(sys.argv[2])) if c['check'] not in ('sriovd', 'drift')]
bad = []
for c in diag:
    print('sandboxed:', c[:4], file=sys.stderr)
    if c[2] not in ('ok', 'info', 'skip', 'warn', 'fail') or not c[0] or not c[3]:
        bad.append('malformed %r' % (c,))
    if c[2] in ('warn', 'fail') and c not in doc:
        bad.append('%s %s %s only under the sandbox: %s' % c[:4])
if [c for c in diag if c[1]] != [c for c in doc if c[1]]:
    bad.append('PF records differ: %r / %r' % ([c for c in diag if c[1]], [c for c in doc if c[1]]))
if not any(c[1] for c in diag):
    bad.append('no PF records')
print('; '.join(bad) or 'ok')
PY
)
assert_eq "$r" ok "RunDiagnostics under the hardened unit against sriovctl doctor"

# A syscall outside the filter fails with EPERM, which sriovd might take as a kernel refusal: it is
# still the process it was, never restarted, and its journal has no EPERM.
expect_eq "$(systemctl show -p MainPID --value sriovd.service)" "$main" "MainPID after the changes"
expect_eq "$(systemctl show -p NRestarts --value sriovd.service)" 0 "NRestarts"
journalctl -b -u sriovd.service --no-pager >sriovd-journal.log 2>&1 || true
! grep -E 'Operation not permitted|Read-only file system|Permission denied' sriovd-journal.log ||
        expect_eq "EPERM, EROFS or EACCES in the journal" "none" "sriovd's journal under the hardened unit"

log "systemctl stop leaves the VFs in place"
systemctl stop sriovd.service
assert_eq "$(systemctl is-active sriovd.service || true)" inactive "sriovd.service after stop"
assert_eq "$(pf_numvfs 0000:01:00.0)" 7 "sriov_numvfs after stop"
assert_eq "$(vf_count 0000:01:00.0)" 7 "VF devices after stop"

log "bus activation"
r=$(bus_call /io/sriovd io.sriovd1.Manager ListPhysicalFunctions)
log "ListPhysicalFunctions: $r"
assert_contains "$r" "/io/sriovd/pf/" "ListPhysicalFunctions through activation"
assert_eq "$(systemctl is-active sriovd.service)" active "sriovd.service after bus activation"

journalctl -b -u sriovd.service --no-pager >sriovd-journal.log 2>&1 || true
expect_done
