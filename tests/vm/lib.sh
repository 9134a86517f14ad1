# Helpers for scenarios running in the VM guest (sourced; bash). Assertions are on kernel facts: /sys,
# `ip -d link`, uevents; what sriovd says over the bus is checked against them.
#
# Environment set by the harness: SRIOVD, SRIOVCTL (build tree binaries, empty when not built),
# VM_SOURCE_DIR, VM_BUILD_DIR, VM_PFS (PFs present at boot), VM_RESULT_DIR (this scenario's result dir;
# anything written there ends up on the host).

set -euo pipefail
shopt -s nullglob

VM_RESULT_DIR=${VM_RESULT_DIR:-/tmp}
VM_LIB_DIR=$(dirname "${BASH_SOURCE[0]}")
VM_PIDFILE=/run/vm-pids

trap 'echo "FAIL: line $LINENO of ${BASH_SOURCE[0]##*/}: $BASH_COMMAND (exit status $?)" >&2' ERR

log() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

assert_eq() { # ACTUAL EXPECTED WHAT
        [ "$1" = "$2" ] || fail "${3:-value}: expected '$2', got '$1'"
}
assert_ne() {
        [ "$1" != "$2" ] || fail "${3:-value}: expected something other than '$2'"
}
assert_match() { # STRING EXTENDED-REGEX WHAT
        [[ $1 =~ $2 ]] || fail "${3:-value}: '$1' does not match /$2/"
}
assert_contains() { # HAYSTACK NEEDLE WHAT
        [[ $1 == *"$2"* ]] || fail "${3:-text} does not contain '$2': $1"
}

# expect_eq ACTUAL EXPECTED WHAT: like assert_eq, but the scenario goes on and fails at its end
# (expect_done, or the exit) so that later checks still report.
VM_EXPECT_FAILED=0
expect_eq() {
        [ "$1" = "$2" ] && return 0
        echo "FAIL (continuing): ${3:-value}: expected '$2', got '$1'" >&2
        VM_EXPECT_FAILED=$((VM_EXPECT_FAILED + 1))
}
expect_done() { [ "$VM_EXPECT_FAILED" = 0 ] || fail "$VM_EXPECT_FAILED check(s) failed above"; }
trap 'rc=$?; [ $rc != 0 ] || [ "$VM_EXPECT_FAILED" = 0 ] || { echo "FAIL: $VM_EXPECT_FAILED check(s) failed above" >&2; exit 1; }' EXIT

# wait_until SECONDS DESCRIPTION COMMAND...: poll every 0.1 s until COMMAND succeeds. Arguments are
# expanded once, by the caller: use wait_eq to poll a value.
wait_until() {
        local limit=$1 what=$2 deadline=$((SECONDS + $1))
        shift 2
        while [ $SECONDS -lt $deadline ]; do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
        done
        fail "timed out after ${limit}s waiting for: $what"
}

# wait_eq SECONDS DESCRIPTION EXPECTED COMMAND...: poll until COMMAND prints EXPECTED.
wait_eq() {
        local limit=$1 what=$2 want=$3 got= deadline=$((SECONDS + $1))
        shift 3
        while [ $SECONDS -lt $deadline ]; do
                got=$("$@" 2>/dev/null) && [ "$got" = "$want" ] && return 0
                sleep 0.1
        done
        fail "timed out after ${limit}s waiting for: $what (expected '$want', last '$got')"
}

settle() { udevadm settle --timeout=60; }

# Remember a background process so the harness can end it after the scenario.
vm_track_pid() { echo "$1" >>"$VM_PIDFILE"; }

# ---------------------------------------------------------------------------------------------------
# PCI and SR-IOV facts from /sys

# PFs: PCI devices with an SR-IOV capability (sriov_totalvfs), in address order.
pf_list() {
        local d
        for d in /sys/bus/pci/devices/*/sriov_totalvfs; do
                d=${d%/sriov_totalvfs}
                echo "${d##*/}"
        done | sort
}
pf_count() { pf_list | wc -l; }
pf_numvfs() { cat "/sys/bus/pci/devices/$1/sriov_numvfs"; }
pf_totalvfs() { cat "/sys/bus/pci/devices/$1/sriov_totalvfs"; }
pf_ifname() { # the PF's netdev (enp1s0 with udevd's naming)
        local n=(/sys/bus/pci/devices/"$1"/net/*)
        [ ${#n[@]} -gt 0 ] || return 1
        echo "${n[0]##*/}"
}
# pf_up PF: sets the PF's netdev up, by its name at that moment: udevd may rename it (eth0 -> enp3s0)
# between the lookup and the request, so the two are retried together.
pf_set_up_once() { local dev; dev=$(pf_ifname "$1") && ip link set "$dev" up; }
pf_up() { wait_until 30 "the netdev of $1 set up" pf_set_up_once "$1"; }
# VF PCI addresses of a PF in VF index order.
vf_list() {
        local i
        for ((i = 0; ; i++)); do
                [ -e "/sys/bus/pci/devices/$1/virtfn$i" ] || break
                basename "$(readlink -f "/sys/bus/pci/devices/$1/virtfn$i")"
        done
}
vf_count() { vf_list "$1" | wc -l; }
# Number of VFs of a PF that have a netdev (igbvf bound and registered).
vf_netdev_count() {
        local vf n=0
        for vf in $(vf_list "$1"); do
                [ -n "$(ls "/sys/bus/pci/devices/$vf/net" 2>/dev/null)" ] && n=$((n + 1))
        done
        echo $n
}
# `ip link show PF` prints one "vf N ..." line per VF.
ip_vf_lines() { ip -d link show dev "$(pf_ifname "$1")" | grep -cE '^\s+vf [0-9]+ ' || true; }

pf_set_numvfs() { echo "$2" >"/sys/bus/pci/devices/$1/sriov_numvfs"; }

# sysfs_write_errno FILE VALUE: writes VALUE with one write(2) and prints the errno name, or OK.
sysfs_write_errno() {
        /usr/bin/python3 - "$1" "$2" <<'EOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
try:
    os.write(fd, sys.argv[2].encode() + b'\n')
    print('OK')
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
EOF
}

# Every PF bound to igb, its link down (as after boot), at 0 VFs, VFs probed automatically: the state
# each scenario starts from.
pf_reset_all() {
        local pf ifname
        for pf in $(pf_list); do
                [ -e "/sys/bus/pci/devices/$pf/driver" ] || echo "$pf" >/sys/bus/pci/drivers/igb/bind || true
                ifname=$(pf_ifname "$pf") && ip link set dev "$ifname" down || true
                [ "$(pf_numvfs "$pf")" = 0 ] || pf_set_numvfs "$pf" 0
                echo 1 >"/sys/bus/pci/devices/$pf/sriov_drivers_autoprobe" 2>/dev/null || true
        done
}

# A listing of every PCI device with its driver: compared before/after to prove nothing was disturbed.
pci_snapshot() {
        local d drv
        for d in /sys/bus/pci/devices/*; do
                drv=$(readlink "$d/driver" 2>/dev/null || true)
                echo "${d##*/} ${drv##*/}"
        done
}

# ---------------------------------------------------------------------------------------------------
# Requests to the host (QMP hotplug), through the results share

vm_request() {
        local seq f rsp i
        seq=$(date +%s%N)
        f=/vm/req/$seq
        echo "$*" >"$f.tmp"
        mv "$f.tmp" "$f.req"
        for ((i = 0; i < 1800; i++)); do
                if [ -e "$f.rsp" ]; then
                        rsp=$(cat "$f.rsp")
                        rm -f "$f.rsp"
                        case "$rsp" in
                        ok*) echo "${rsp#ok}" | sed 's/^ //'; return 0 ;;
                        *) echo "host: $rsp" >&2; return 1 ;;
                        esac
                fi
                sleep 0.1
        done
        fail "host did not answer request '$*'"
}

# vm_hotplug_add [ROOT-PORT]: hot-adds an igb PF; prints its PCI address once igb has bound it.
vm_hotplug_add() {
        local before reply dev addr a
        before=$(pf_list)
        reply=$(vm_request add "$@") || fail "hot-add failed"
        dev=${reply%% *}
        for ((i = 0; i < 600; i++)); do
                for a in $(pf_list); do
                        grep -qx "$a" <<<"$before" || addr=$a
                done
                [ -n "${addr:-}" ] && [ -e "/sys/bus/pci/drivers/igb/$addr" ] && break
                sleep 0.1
        done
        [ -n "${addr:-}" ] || fail "hot-added $dev did not show up in the guest"
        [ -e "/sys/bus/pci/drivers/igb/$addr" ] || fail "igb did not bind hot-added $addr"
        mkdir -p /run/vm-hotplug
        echo "$dev" >"/run/vm-hotplug/$addr"
        echo "$addr"
}

# vm_hotplug_del ADDRESS: unplugs a PF (hot-added ones by their address; boot PFs work too).
vm_hotplug_del() {
        local addr=$1 dev
        if [ -e "/run/vm-hotplug/$addr" ]; then
                dev=$(cat "/run/vm-hotplug/$addr")
        else
                # Boot PFs pfN sit on root port rpN, which is bus N+1.
                dev=pf$((16#$(echo "$addr" | cut -d: -f2) - 1))
        fi
        vm_request del "$dev" >/dev/null || fail "hot-remove of $addr ($dev) failed"
        wait_until 60 "$addr to disappear" test ! -e "/sys/bus/pci/devices/$addr"
        rm -f "/run/vm-hotplug/$addr"
}

# ---------------------------------------------------------------------------------------------------
# sriovd

need_sriovd() { [ -x "${SRIOVD:-}" ] || fail "sriovd is not built"; }

# sriovd_start [ARGS...]: starts the build tree's sriovd with NOTIFY_SOCKET pointing at a listener
# that records every sd_notify message with the PFs' sriov_numvfs at the moment it arrived
# ($VM_RESULT_DIR/notify.txt). Output goes to $VM_RESULT_DIR/sriovd.log.
sriovd_start() {
        need_sriovd
        local sock=/run/vm-notify.sock
        : >"$VM_RESULT_DIR/notify.txt"
        # The listener of a sriovd that was killed (sriovd_kill9) serves the next one: Python takes
        # seconds to start in TCG, and a scenario may restart sriovd many times.
        if [ -z "${NOTIFY_PID:-}" ] || ! kill -0 "$NOTIFY_PID" 2>/dev/null; then
                rm -f "$sock" /run/vm-notify.ready
                /usr/bin/python3 "$VM_LIB_DIR/guest/notify-listener.py" "$sock" "$VM_RESULT_DIR/notify.txt" \
                        /run/vm-notify.ready </dev/null >>"$VM_RESULT_DIR/notify-listener.log" 2>&1 &
                NOTIFY_PID=$!
                vm_track_pid "$NOTIFY_PID"
                wait_until 20 "notify listener" test -e /run/vm-notify.ready
        fi
        echo "---- sriovd $* (started at $(cut -d' ' -f1 /proc/uptime)s)" >>"$VM_RESULT_DIR/sriovd.log"
        NOTIFY_SOCKET=$sock SYSTEMD_LOG_LEVEL=${SYSTEMD_LOG_LEVEL:-debug} SRIOVD_LOG_LEVEL=${SRIOVD_LOG_LEVEL:-debug} \
                "$SRIOVD" "$@" </dev/null >>"$VM_RESULT_DIR/sriovd.log" 2>&1 &
        SRIOVD_PID=$!
        vm_track_pid "$SRIOVD_PID"
}

sriovd_ready() { grep -q '^READY=1' "$VM_RESULT_DIR/notify.txt" 2>/dev/null; }
sriovd_alive() { [ -n "${SRIOVD_PID:-}" ] && kill -0 "$SRIOVD_PID" 2>/dev/null; }

# sriovd_wait_ready [SECONDS]
sriovd_wait_ready() {
        local limit=${1:-120} deadline=$((SECONDS + ${1:-120}))
        while [ $SECONDS -lt $deadline ]; do
                sriovd_ready && return 0
                sriovd_alive || fail "sriovd exited before READY=1; see sriovd.log"
                sleep 0.1
        done
        fail "sriovd sent no READY=1 within ${limit}s"
}

sriovd_stop() {
        [ -n "${SRIOVD_PID:-}" ] || return 0
        kill -TERM "$SRIOVD_PID" 2>/dev/null || true
        wait "$SRIOVD_PID" 2>/dev/null || true
        SRIOVD_PID=
        [ -z "${NOTIFY_PID:-}" ] || { kill "$NOTIFY_PID" 2>/dev/null || true; wait "$NOTIFY_PID" 2>/dev/null || true; }
        NOTIFY_PID=
}

sriovd_kill9() {
        kill -KILL "$SRIOVD_PID"
        wait "$SRIOVD_PID" 2>/dev/null || true
        SRIOVD_PID=
}

sriovctl() { "$SRIOVCTL" "$@"; }

# The packages given to vmrun.py with --deb (systemd mode), oldest first, one a line: the first is
# installed at boot, the others are for the upgrade scenarios.
vm_debs() { (. /vm/plan.sh && printf '%s\n' ${VM_DEBS[@]+"${VM_DEBS[@]}"}); }

# vm_apt ARGS: apt-get as an admin runs it, without questions; vm_dpkg ARGS: dpkg. Their output goes to
# apt.log in the result dir. (apt-get takes a minute or more in TCG, reading the package lists: dpkg
# where resolving dependencies is not the point.)
vm_apt() { vm_package_tool apt-get -y -q -o Dpkg::Use-Pty=0 "$@"; }
vm_dpkg() { vm_package_tool dpkg "$@"; }
vm_package_tool() {
        local start=$SECONDS
        echo "---- [$(cut -d' ' -f1 /proc/uptime)] $*" >>"$VM_RESULT_DIR/apt.log"
        DEBIAN_FRONTEND=noninteractive "$@" >>"$VM_RESULT_DIR/apt.log" 2>&1 || fail "$* failed; see apt.log"
        echo "---- $1 took $((SECONDS - start)) s" >>"$VM_RESULT_DIR/apt.log"
}

# The D-Bus side. Object paths come from the manager, never built here.
sbus() { busctl --system "$@"; }
pf_object() { # ADDRESS-or-interface
        sbus call io.sriovd /io/sriovd io.sriovd1.Manager GetPhysicalFunction s "$1" | sed -n 's/^o "\(.*\)"$/\1/p'
}
# pf_prop ADDRESS PROPERTY: the value without its type signature (strings unquoted).
pf_prop() {
        local obj
        obj=$(pf_object "$1")
        [ -n "$obj" ] || fail "no PF object for $1"
        sbus get-property io.sriovd "$obj" io.sriovd1.PhysicalFunction "$2" | sed 's/^[^ ]* //; s/^"\(.*\)"$/\1/'
}

# bus_call OBJECT INTERFACE METHOD [SIGNATURE ARGS...]: prints the reply, or "ERROR <name>: <message>"
# and returns 1 (busctl cannot show the error name).
bus_call() { /usr/bin/python3 "$VM_LIB_DIR/guest/bus-call.py" "$@"; }
pf_call() { # ADDRESS METHOD [SIGNATURE ARGS...]
        local obj addr=$1 method=$2
        shift 2
        obj=$(pf_object "$addr")
        [ -n "$obj" ] || fail "no PF object for $addr"
        bus_call "$obj" io.sriovd1.PhysicalFunction "$method" "$@"
}

# Signals of io.sriovd (InterfacesAdded/Removed, PropertiesChanged) as JSON lines into FILE.
bus_monitor_start() {
        busctl --system monitor --json=short io.sriovd >"$1" 2>&1 &
        BUSMON_PID=$!
        vm_track_pid "$BUSMON_PID"
        sleep 0.5
}
bus_monitor_stop() { kill "$BUSMON_PID" 2>/dev/null || true; wait "$BUSMON_PID" 2>/dev/null || true; }

# PF config file in /etc/sriovd/pf.d (the guest overlay): pf_conf NAME ADDRESS NUMVFS [EXTRA-LINES]
pf_conf() {
        mkdir -p /etc/sriovd/pf.d
        {
                printf '[Match]\nPciAddress=%s\n\n[PhysicalFunction]\nNumVFs=%s\n' "$2" "$3"
                [ -z "${4:-}" ] || printf '%s\n' "$4"
        } >"/etc/sriovd/pf.d/$1.conf"
}

# Kernel uevents of SUBSYSTEM (default pci) recorded from now on into FILE; uevent_count FILE ACTION.
uevents_start() { # FILE [SUBSYSTEM]
        udevadm monitor --kernel --subsystem-match="${2:-pci}" >"$1" 2>&1 &
        UEVENT_PID=$!
        vm_track_pid "$UEVENT_PID"
        sleep 0.5
}
uevents_stop() { kill "$UEVENT_PID" 2>/dev/null || true; wait "$UEVENT_PID" 2>/dev/null || true; }
uevent_count() { grep -cE "^KERNEL\[[0-9. ]+\] $2 " "$1" || true; }

# ---------------------------------------------------------------------------------------------------
# Between scenarios (called by the harness): end what the scenario started, every PF back to 0 VFs,
# no configuration, only the boot PFs present.
vm_reset_machine() {
        local pid
        if [ -f "$VM_PIDFILE" ]; then
                while read -r pid; do
                        kill -KILL "$pid" 2>/dev/null || true
                done <"$VM_PIDFILE"
                rm -f "$VM_PIDFILE"
        fi
        if [ "${VM_MODE:-plain}" = systemd ]; then
                # sriovd.service stops as it does for an admin (the VFs stay, put back below); the
                # package's own files in /etc/sriovd stay (dpkg knows them).
                systemctl stop sriovd.service 2>/dev/null || true
                rm -rf /etc/sriovd/pf.d/*.conf /etc/sriovd/keep-state-on-purge
        else
                rm -rf /etc/sriovd
        fi
        rm -rf /run/sriovd /var/lib/sriovd /run/vm-hotplug
        mkdir -p /var/lib/sriovd /run/sriovd
        vm_request reset >/dev/null
        wait_eq 60 "only the boot PFs present" "$VM_PFS" pf_count
        pf_reset_all
        settle
}
