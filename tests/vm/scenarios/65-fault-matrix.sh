#!/bin/bash
# Fault matrix: sriovd is SIGKILLed at 20 points of an apply (a count change through 0 with per-VF MAC
# and VLAN and a vfio-pci VF), of a lease request (MACAddress, VLANId, Trust, Driver=vfio-pci) and of a
# lease release, by time after the call or on a kernel or journal state (guest/kill-at.py); the lease's
# holder too where the point says so. After each kill a fresh sriovd converges: the kernel has the
# count sriovd persisted and every VF's MAC, VLAN, trust and driver as the policy and the leases on the
# bus say (read from `ip -d link` and sysfs); every lease journal file has its lease on the bus and the
# other way round; a lease whose holder was told it was granted and is still there survives the kill,
# and a VF keeps no option of a lease that is gone. docs/hardening.md lists the points.
# vm-needs: sriovd
# vm-timeout: 420
. "$VM_LIB"

pfs=($(pf_list))
pa=${pfs[0]} # the PF whose count changes
pl=${pfs[1]} # the PF whose VFs are leased
ifa=$(pf_ifname "$pa")
ifl=$(pf_ifname "$pl")
modprobe vfio-pci
state=/var/lib/sriovd
leases=$state/leases

vf_section() { # INDEX KEY=VALUE...
        printf '[VirtualFunction]\nVirtualFunction=%s\n' "$1"
        shift
        printf '%s\n' "$@"
}
# The policy: MAC and VLAN on VFs 0, 1 and 3 of $pa, vfio-pci for its VF 2; MAC and VLAN on VF 0 of $pl,
# the VF every lease here gets (the first free one), whose options replace them while it is leased.
A_MAC=(02:00:00:00:65:00 02:00:00:00:65:01 "" 02:00:00:00:65:03)
A_VLAN=(100 101 "" 103)
A_DRIVER=(igbvf igbvf vfio-pci igbvf)
pf_conf 10-apply "$pa" 3 "$(vf_section 0 MACAddress=${A_MAC[0]} VLANId=${A_VLAN[0]}
vf_section 1 MACAddress=${A_MAC[1]} VLANId=${A_VLAN[1]}
vf_section 2 Driver=vfio-pci
vf_section 3 MACAddress=${A_MAC[3]} VLANId=${A_VLAN[3]})"
L_MAC=02:00:00:00:66:00
L_VLAN=200
pf_conf 20-lease "$pl" 2 "$(vf_section 0 MACAddress=$L_MAC VLANId=$L_VLAN)"
# Lease options of point N: MAC 02:00:00:00:6e:NN, VLAN 3NN, trust on, vfio-pci.
lease_mac() { printf '02:00:00:00:6e:%02d' "$1"; }
lease_vlan() { echo $((300 + $1)); }

# The killer: one process for every point (guest/kill-at.py).
mkfifo /run/fm-jobs
/usr/bin/python3 "$VM_LIB_DIR/guest/kill-at.py" /run/fm-jobs </dev/null >killer.log 2>&1 &
vm_track_pid $!
exec {JOBS_FD}<>/run/fm-jobs

sriovd_start
sriovd_wait_ready
pa_obj=$(pf_object "$pa")
# vf_addr PF INDEX: the VF's PCI address in REPLY (no fork; it stays the same when the VF is created
# again, so it is remembered)
declare -A VF_ADDR
vf_addr() {
        local l
        if [ -z "${VF_ADDR[$1/$2]:-}" ]; then
                l=$(readlink "/sys/bus/pci/devices/$1/virtfn$2") || return 1
                VF_ADDR[$1/$2]=${l##*/}
        fi
        REPLY=${VF_ADDR[$1/$2]}
}
vf_addr "$pl" 0
LVF0=$REPLY
vf_addr "$pa" 2
AVF2=$REPLY
log "start: $pa=$(pf_numvfs "$pa") $pl=$(pf_numvfs "$pl"), lease VF $LVF0"

# ---------------------------------------------------------------------------------------------------
# The convergence check, on kernel facts, with as few processes as can be (each costs milliseconds in
# TCG). LEASE_POINT: the point whose lease options are on VF 0 of $pl while a lease is alive.

# pa_wanted: the count of $pa sriovd persisted (the store's, else the file's) in REPLY.
pa_wanted() {
        local line
        REPLY=3
        [ -f "$state/pf/$pa.conf" ] || return 0
        while IFS= read -r line; do
                [[ $line != NumVFs=* ]] || REPLY=${line#NumVFs=}
        done <"$state/pf/$pa.conf"
}
# leases_on_bus, leases_in_journal: lease ids in REPLY, space-separated
leases_on_bus() {
        local w
        REPLY=
        for w in $(busctl --system call io.sriovd /io/sriovd io.sriovd1.Manager ListLeases 2>&1); do
                [[ ! $w =~ ^\"/io/sriovd/lease/([0-9a-f]+)\"$ ]] || REPLY+=" ${BASH_REMATCH[1]}"
        done
        REPLY=${REPLY# }
}
leases_in_journal() {
        local f
        REPLY=
        for f in "$leases"/*; do
                f=${f##*/}
                if [[ $f == *.lease ]]; then
                        REPLY+=" ${f%.lease}"
                else
                        problems+=("a stray file in $leases: $f")
                fi
        done
        REPLY=${REPLY# }
}
# vf_problems IFNAME INDEX MAC VLAN TRUST DRIVER VFADDR, on $IPOUT: what differs on VF INDEX. An empty
# MAC or VLAN: none required, but none of a lease's either.
vf_problems() {
        local l line= d
        while IFS= read -r l; do
                [[ ! $l =~ ^\ +vf\ $2\  ]] || line=$l
        done <<<"$IPOUT"
        if [ -n "$3" ]; then
                [[ $line == *"link/ether $3 "* ]] || problems+=("$1 vf $2: MAC not $3: $line")
        else
                [[ $line != *"link/ether 02:00:00:00:6e:"* ]] || problems+=("$1 vf $2: a lease's MAC: $line")
        fi
        if [ -n "$4" ]; then
                [[ $line == *"vlan $4,"* ]] || problems+=("$1 vf $2: VLAN not $4: $line")
        else
                [[ ! $line =~ vlan\ 3[0-9][0-9], ]] || problems+=("$1 vf $2: a lease's VLAN: $line")
        fi
        [[ $line == *"trust $5"* ]] || problems+=("$1 vf $2: trust not $5: $line")
        if [ ! -e "/sys/bus/pci/drivers/$6/$7" ]; then
                d=$(readlink "/sys/bus/pci/devices/$7/driver" 2>/dev/null) || true
                problems+=("$1 vf $2 ($7): driver '${d##*/}', not $6")
        fi
}
# converged EXPECT: fills problems[] and returns 1 unless the kernel and the journal are as they must
# be. EXPECT: "none" (no lease may be left), "kept" (the lease must have survived), "any" (either, but
# consistently).
converged() {
        local i n want b j
        problems=()
        pa_wanted
        want=$REPLY
        [ "$want" = 3 ] || [ "$want" = 4 ] || problems+=("persisted NumVFs of $pa is '$want'")
        read -r n <"/sys/bus/pci/devices/$pa/sriov_numvfs"
        [ "$n" = "$want" ] || problems+=("$pa: sriov_numvfs $n, persisted $want")
        for ((i = 0; ; i++)); do
                [ -e "/sys/bus/pci/devices/$pa/virtfn$i" ] || break
        done
        [ "$i" = "$want" ] || problems+=("$pa: $i VF devices, persisted $want")
        # VF 2 is for vfio-pci: a VF created later must not meet igbvf first
        read -r i <"/sys/bus/pci/devices/$pa/sriov_drivers_autoprobe"
        [ "$i" = 0 ] || problems+=("$pa: sriov_drivers_autoprobe $i, not 0")
        IPOUT=$(ip -d link show dev "$ifa")
        for ((i = 0; i < n && i < 4; i++)); do
                vf_addr "$pa" $i || { problems+=("$pa: no virtfn$i"); continue; }
                vf_problems "$ifa" $i "${A_MAC[$i]}" "${A_VLAN[$i]}" off "${A_DRIVER[$i]}" "$REPLY"
        done
        read -r n <"/sys/bus/pci/devices/$pl/sriov_numvfs"
        [ "$n" = 2 ] || problems+=("$pl: sriov_numvfs $n, not 2")
        leases_on_bus
        b=$REPLY
        leases_in_journal
        j=$REPLY
        [ "$b" = "$j" ] || problems+=("leases on the bus '$b', journal files '$j'")
        case "$1" in
        none) [ -z "$b$j" ] || problems+=("a lease survived: '$b$j'") ;;
        kept) [ -n "$b" ] || problems+=("the lease of point $LEASE_POINT is gone") ;;
        esac
        IPOUT=$(ip -d link show dev "$ifl")
        if [ -n "$b" ]; then
                vf_problems "$ifl" 0 "$(lease_mac "$LEASE_POINT")" "$(lease_vlan "$LEASE_POINT")" on vfio-pci "$LVF0"
        else
                vf_problems "$ifl" 0 $L_MAC $L_VLAN off igbvf "$LVF0"
        fi
        vf_addr "$pl" 1
        vf_problems "$ifl" 1 "" "" off igbvf "$REPLY"
        [ ${#problems[@]} = 0 ]
}
# check EXPECT: waits up to 30 s for convergence (seen: converged at the first look after READY=1). If
# it does not come, every difference is a failure; the scenario goes on with the next point after a
# repair (a forced SetNumVFs to the persisted count), and fails at its end.
check() {
        local deadline=$((SECONDS + 30)) p tries=0
        until converged "$1"; do
                tries=$((tries + 1))
                if [ $SECONDS -ge $deadline ]; then
                        for p in "${problems[@]}"; do
                                echo "FAIL (continuing): point $point ($what): $p" >&2
                        done
                        VM_EXPECT_FAILED=$((VM_EXPECT_FAILED + 1))
                        log "point $point: NOT CONVERGED; repairing to go on with the next point"
                        pa_wanted
                        busctl --system call --timeout=120 io.sriovd "$pa_obj" io.sriovd1.PhysicalFunction \
                                SetNumVFs ut "$REPLY" 2 || true
                        deadline=$((SECONDS + 60))
                        until converged "$1"; do
                                [ $SECONDS -lt $deadline ] || fail "point $point: the repair did not converge: ${problems[*]}"
                                sleep 0.2
                        done
                        return 0
                fi
                sleep 0.2
        done
        leases_on_bus
        log "point $point: converged (polls: $((tries + 1))): $(pf_numvfs "$pa") VFs on $pa, leases: ${REPLY:-none}, $pl's sriov_drivers_autoprobe: $(cat /sys/bus/pci/devices/$pl/sriov_drivers_autoprobe)"
}

# ---------------------------------------------------------------------------------------------------
# Points

point=0
what=
begin() {
        point=$((point + 1))
        what=$*
        log "point $point: $what"
}
# arm DELAY-MS PIDS TRIGGER...: the killer watches from now on.
arm() {
        echo "$PWD/killer-$point.log $*" >&$JOBS_FD
        wait_until 30 "the killer of point $point" grep -q watching "killer-$point.log"
}
killer_done() { grep -qx done "killer-$point.log"; }
# fired: waits for the kill; sriovd is gone then.
fired() {
        wait_until 90 "the kill of point $point" killer_done
        ! grep -q '^not seen' "killer-$point.log" || fail "point $point ($what): $(sed 1d "killer-$point.log")"
        wait "$SRIOVD_PID" 2>/dev/null || true
        SRIOVD_PID=
        log "point $point: $(sed '1d;$d' "killer-$point.log" | tr '\n' ' ')"
}
restart() {
        sriovd_start
        sriovd_wait_ready
}

# A count change on $pa: SetNumVFs(N, force: VF 2 is on vfio-pci), 3 -> 4 or 4 -> 3, through 0.
apply_point() { # DELAY-MS TRIGGER...
        local old next
        old=$(pf_numvfs "$pa")
        next=$((7 - old))
        arm "$1" "$SRIOVD_PID" "call:SetNumVFs|$pa_obj|$next|2" "${@:2}"
        fired
        pa_wanted
        log "point $point: $old -> $next asked, the kernel has $(pf_numvfs "$pa") now, sriovd persisted $REPLY"
        restart
        check none
}

begin "apply: the moment SetNumVFs is called"
apply_point 0
begin "apply: 100 ms after the call"
apply_point 100
begin "apply: the new count persisted (the state file written), the kernel not written yet"
apply_point 0 "replaced:$state/pf/$pa.conf"
begin "apply: VF 0 destroyed (the write of 0 under way)"
apply_point 0 absent:/sys/bus/pci/devices/$pa/virtfn0
begin "apply: every VF destroyed (between the writes of 0 and N)"
apply_point 0 absent:/sys/bus/pci/devices/$pa/virtfn0 absent:/sys/bus/pci/devices/$pa/virtfn$(($(pf_numvfs "$pa") - 1))
begin "apply: VF 2 bound to vfio-pci after the re-creation"
apply_point 0 absent:/sys/bus/pci/devices/$AVF2 driver:$AVF2=vfio-pci
begin "apply: VF 0's MAC set after the re-creation"
apply_point 0 absent:/sys/bus/pci/devices/$pa/virtfn0 exists:/sys/bus/pci/devices/$pa/virtfn0 \
        "vf:$ifa:0:${A_MAC[0]}"

begin "start-up: a restart converging a count changed by hand, killed as it creates the VFs"
sriovd_stop
pf_set_numvfs "$pa" 0
rm -f /run/fm-sriovd.pid
arm 0 @/run/fm-sriovd.pid exists:/sys/bus/pci/devices/$pa/virtfn0
sriovd_start
echo "$SRIOVD_PID" >/run/fm-sriovd.pid
fired
restart
check none

# Leases on $pl. request_point DELAY-MS TRIGGER...: RequestVirtualFunction from the killer, on a
# connection that leaves the bus when it has its answer (an error, as sriovd is killed, or the lease):
# no lease may be left.
request_point() {
        LEASE_POINT=$point
        arm "$1" "$SRIOVD_PID" \
                "call:RequestVirtualFunction|$pl|MACAddress=$(lease_mac $point),VLANId=$(lease_vlan $point),Trust=yes,Driver=vfio-pci,Consumer=point-$point" \
                "${@:2}"
        fired
        restart
        check none
}

begin "request: the moment RequestVirtualFunction is called"
request_point 0
begin "request: 150 ms after the call"
request_point 150
begin "request: the lease journal written (the VF recorded, nothing changed yet)"
request_point 0 "exists:$leases/*.lease"
begin "request: the VF bound to vfio-pci"
request_point 0 "driver:$LVF0=vfio-pci"
begin "request: the lease's MAC on the VF"
request_point 0 "vf:$ifl:0:$(lease_mac $point)"
begin "request: the journal says Applied=yes"
request_point 0 "line:$leases/*.lease:^Applied=yes"

# A holder that stays on the bus (guest/lease-client.py), its pid in /run/fm-client.pid.
lease_client() { # OPTIONS...
        LEASE_POINT=$point
        rm -f client.ctl client.out
        mkfifo client.ctl
        /usr/bin/python3 "$VM_LIB_DIR/guest/lease-client.py" "$pl" MACAddress="$(lease_mac $point)" \
                VLANId="$(lease_vlan $point)" Trust=yes Driver=vfio-pci Consumer=point-$point "$@" \
                <client.ctl >client.out 2>&1 &
        CLIENT_PID=$!
        vm_track_pid $CLIENT_PID
        echo $CLIENT_PID >/run/fm-client.pid
        exec {CLIENT_FD}>client.ctl
}
client_gone() {
        exec {CLIENT_FD}>&- || true
        kill -KILL "$CLIENT_PID" 2>/dev/null || true
        wait "$CLIENT_PID" 2>/dev/null || true
}
granted() { grep -qE '^(vf |ERROR)' client.out; }
lease_granted() { # OPTIONS...
        lease_client "$@"
        wait_until 90 "the lease of point $point" granted
        ! grep -q '^ERROR' client.out || fail "point $point: $(cat client.out)"
}
answers() { grep -cE '^(released|ERROR)' client.out || true; }
answered_since() { [ "$(answers)" -gt "$1" ]; }
# release_by_holder: the holder releases its lease; it must succeed.
release_by_holder() {
        local n
        n=$(answers)
        echo release >&$CLIENT_FD
        wait_until 60 "Release() answered" answered_since "$n"
        tail -n1 client.out | grep -q '^released' || fail "point $point: Release(): $(cat client.out)"
}

begin "request: granted, the holder killed with sriovd"
rm -f client.out /run/fm-client.pid
arm 0 "$SRIOVD_PID,@/run/fm-client.pid" line:client.out:^vf
lease_client
fired
client_gone
restart
check none

begin "request: granted, the holder alive: the lease survives"
lease_granted
arm 0 "$SRIOVD_PID" exists:client.out
fired
restart
check kept

# release_point EXPECT DELAY-MS PIDS TRIGGER...: the holder of a lease calls Release().
release_point() {
        local expect=$1 n
        shift
        n=$(answers)
        arm "$@"
        echo release >&$CLIENT_FD
        fired
        if kill -0 "$CLIENT_PID" 2>/dev/null; then
                wait_until 30 "the holder of point $point to hear" answered_since "$n"
                log "point $point: the holder heard: $(tail -n1 client.out)"
        fi
        restart
        check "$expect"
        leases_on_bus
        if [ -n "$REPLY" ]; then
                log "point $point: the lease survived the kill of its release; its holder releases it again"
                release_by_holder
                check none
        fi
        client_gone
}

begin "release: the moment the holder calls Release(), the holder alive"
# the lease of the point before, kept across its kill
release_point any 0 "$SRIOVD_PID" line:client.out:^releasing
begin "release: 200 ms after the call, the holder killed with sriovd"
lease_granted
release_point none 200 "$SRIOVD_PID,@/run/fm-client.pid" line:client.out:^releasing
begin "release: the VF back on igbvf (the restore under way), the holder killed with sriovd"
lease_granted
release_point none 0 "$SRIOVD_PID,@/run/fm-client.pid" line:client.out:^releasing "driver:$LVF0=igbvf"

begin "release: a persistent lease, its holder gone, killed as its VF's MAC is back"
lease_granted Persistent=yes
echo exit >&$CLIENT_FD
client_gone
check kept
leases_on_bus
lease=$REPLY
arm 0 "$SRIOVD_PID" "call:Release|/io/sriovd/lease/$lease" "vf:$ifl:0:$L_MAC"
fired
restart
check any
leases_on_bus
if [ -n "$REPLY" ]; then
        log "point $point: the persistent lease survived the kill of its release; released again"
        busctl --system call io.sriovd "/io/sriovd/lease/$lease" io.sriovd1.Lease Release
        check none
fi

assert_eq "$point" 20 "kill points"
sriovd_stop
assert_eq "$(ls "$leases")" "" "lease journal at the end"
expect_done

