#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# B1, in the QEMU guest (tests/vm/vmrun.py --script bench/vm-apply.sh): 2 igb PFs x 7 VFs with a MAC
# and a VLAN on every VF, ROUNDS rounds of each method, side by side in one boot:
#   hand    echo 7 > sriov_numvfs, then one `ip link set PF vf N mac .. vlan ..` per VF
#   udevd   systemd-udevd's .link [SR-IOV] sections, applied by `udevadm trigger` on the PF netdevs
#   sriovd  sriovd from process start, with its configuration files
# Each round ends when every VF exists and the PF reports its MAC and VLAN; for sriovd also when
# every VF is bound to igbvf and its netdev carries its MAC (what the others do not do). Prints
# "B1 METHOD ROUND SECONDS" lines, sriovd's CPU (every thread; the kernel's work in the VF drivers'
# probes counts as the writing thread's) as "B1cpu ROUND SECONDS" and its event loop's thread alone
# as "B1cpuloop ROUND SECONDS".
#
# B2, in the same boot: a third igb hot-added (QMP device_add) while sriovd runs with a file that
# gives it 7 VFs, a MAC and a VLAN each. Times from the guest's hot-add request: the PF bound to igb
# (the kernel's hotplug, the same for any method; its "bind" uevent, at the end of igb's probe), and
# enforced (7 VFs, each bound to igbvf, its MAC and VLAN on the PF's side). Then, with sriovd stopped, the kernel's own time to create the 7 VFs on
# that PF (one write of sriov_numvfs, autoprobe on: the VF drivers probe inside it), then the PF is
# unplugged. Then the kernel's own time at hotplug: the PF hot-added again, sriovd stopped, the same
# write made as soon as the kernel's bind uevent arrives. Prints "B2 ROUND BOUND ENFORCED KERNEL
# KERNEL-AT-HOTPLUG" (seconds). Enforced is timed when every VF is bound; the MACs and VLANs on the
# PF's side are checked right after (see bound_done below).
# BENCH_ONLY=B1 or B2 runs one part; BENCH_METHODS picks B1's methods (default "hand udevd
# sriovd_method"); BENCH_B2_SRIOVD="OLD NEW" alternates B2's rounds between two sriovd binaries.
. "$VM_LIB"

ROUNDS=${BENCH_ROUNDS:-5}
B2_ROUNDS=${BENCH_B2_ROUNDS:-3}
pfs=($(pf_list))
pfs=("${pfs[0]}" "${pfs[1]}")
N=7
for p in "${pfs[@]}"; do ip link set "$(pf_ifname "$p")" up; done
ifnames=("$(pf_ifname "${pfs[0]}")" "$(pf_ifname "${pfs[1]}")")

# The rounds' clock and their end checks run beside the work on the guest's 2 CPUs: they fork nothing
# but the one `ip` per PF that reads the PF's side, so that they take no CPU from what they time
# (each fork of cut, grep, sleep or readlink costs tens of ms in this guest, and a check made of
# dozens of them took seconds, a tax only the methods that work while it polls paid: sriovd and
# udevd, not the by-hand script, which is done before its first check).
printf -v nl '\n'
mac() { printf '02:00:00:b1:%02x:%02x' "$1" "$2"; } # PF-INDEX VF
mac_v() { printf -v "$1" '02:00:00:b1:%02x:%02x' "$2" "$3"; } # VAR PF-INDEX VF, without a fork
rm -f /run/bench-nap
mkfifo /run/bench-nap
exec {nap_fd}<>/run/bench-nap
nap() { read -r -t "${1:-0.01}" -u "$nap_fd" _ || :; } # sleep without forking sleep(1)

reset() {
        rm -f /etc/sriovd/pf.d/*.conf /etc/systemd/network/10-b1-*.link
        rm -rf /var/lib/sriovd/pf /run/sriovd/state
        for p in "${pfs[@]}"; do echo 0 >"/sys/bus/pci/devices/$p/sriov_numvfs"; done
        udevadm control --reload
        settle
}

# PF-INDEX LINE: every VF in LINE (`ip -d link show` of the PF) with its MAC and VLAN
vf_lines_done() {
        local i m
        for ((i = 0; i < N; i++)); do
                mac_v m "$1" "$i"
                [[ $2 =~ vf\ $i\ [^$nl]*link/ether\ $m\ [^$nl]*vlan\ $((100 + i)), ]] || return 1
        done
}

# every VF there, with its MAC and VLAN on the PF's side
pf_side_done() {
        local j p line
        for j in 0 1; do
                p=${pfs[$j]}
                [ -e "/sys/bus/pci/devices/$p/virtfn$((N - 1))" ] && [ ! -e "/sys/bus/pci/devices/$p/virtfn$N" ] ||
                        return 1
                line=$(ip -d link show dev "${ifnames[$j]}") && vf_lines_done "$j" "$line" || return 1
        done
}

# and every VF's own netdev (igbvf) with that MAC
netdev_done() {
        local j i n a m
        for j in 0 1; do
                for ((i = 0; i < N; i++)); do
                        n=(/sys/bus/pci/devices/"${pfs[$j]}"/virtfn$i/net/*)
                        [ ${#n[@]} -gt 0 ] && read -r a 2>/dev/null <"${n[0]}/address" || return 1
                        mac_v m "$j" "$i"
                        [ "$a" = "$m" ] || return 1
                done
        done
}

wait_done() { # CHECK...: polls every 10 ms, the cheapest check first
        local c
        while :; do
                for c in "$@"; do $c || { nap; continue 2; }; done
                return 0
        done
}

t() { local up _; read -r up _ </proc/uptime; echo "$up"; }

hand() {
        local j p ifn i
        for j in 0 1; do
                p=${pfs[$j]} ifn=$(pf_ifname "$p")
                echo $N >"/sys/bus/pci/devices/$p/sriov_numvfs"
                for ((i = 0; i < N; i++)); do
                        ip link set "$ifn" vf "$i" mac "$(mac "$j" "$i")" vlan $((100 + i))
                done
        done
        wait_done pf_side_done
}

udevd() {
        local j p
        mkdir -p /etc/systemd/network
        for j in 0 1; do
                p=${pfs[$j]}
                {
                        printf '[Match]\nPath=pci-%s\n\n[Link]\nSR-IOVVirtualFunctions=%d\n' "$p" $N
                        for ((i = 0; i < N; i++)); do
                                printf '\n[SR-IOV]\nVirtualFunction=%d\nMACAddress=%s\nVLANId=%d\n' "$i" "$(mac "$j" "$i")" $((100 + i))
                        done
                } >"/etc/systemd/network/10-b1-$j.link"
        done
        udevadm control --reload
        for p in "${pfs[@]}"; do udevadm trigger --action=add "/sys/class/net/$(pf_ifname "$p")"; done
        wait_done pf_side_done
}

# sriovd as deployed: started directly, logging at its default level to tmpfs (the harness's
# sriovd_start waits for a Python notify listener and logs at debug level to the 9p share)
bench_sriovd_start() {
        SRIOVD_LOG_LEVEL=info "$SRIOVD" </dev/null >>/run/bench-sriovd.log 2>&1 &
        SRIOVD_PID=$!
        vm_track_pid "$SRIOVD_PID"
}
bench_sriovd_stop() {
        sriovd_stop
        cat /run/bench-sriovd.log >>"$VM_RESULT_DIR/sriovd.log" 2>/dev/null || true
        rm -f /run/bench-sriovd.log
}

sriovd_method() {
        local j p
        for j in 0 1; do
                p=${pfs[$j]}
                pf_conf "b1-$j" "$p" $N "$(for ((i = 0; i < N; i++)); do
                        printf '[VirtualFunction]\nVirtualFunction=%d\nMACAddress=%s\nVLANId=%d\n\n' "$i" "$(mac "$j" "$i")" $((100 + i))
                done)"
        done
        bench_sriovd_start
        wait_done netdev_done pf_side_done
}

[ "${BENCH_ONLY:-B1}" = B1 ] || ROUNDS=0
for ((round = 1; round <= ROUNDS; round++)); do
        for method in ${BENCH_METHODS:-hand udevd sriovd_method}; do
                reset
                start=$(t)
                $method
                end=$(t)
                echo "B1 ${method%_method} $round $(awk "BEGIN { print $end - $start }")"
                if [ "$method" = sriovd_method ]; then
                        ticks=$(awk '{print $14 + $15}' "/proc/$SRIOVD_PID/stat")
                        echo "B1cpu $round $(awk "BEGIN { print $ticks / $(getconf CLK_TCK) }")"
                        # the event loop's own thread, without the kernel work of the job threads
                        ticks=$(awk '{print $14 + $15}' "/proc/$SRIOVD_PID/task/$SRIOVD_PID/stat")
                        echo "B1cpuloop $round $(awk "BEGIN { print $ticks / $(getconf CLK_TCK) }")"
                        bench_sriovd_stop
                fi
        done
done
reset

# ---------------------------------------------------------------------------------------------------
# B2

third=0000:03:00.0
# The clock and the waits of B2 fork nothing: while the VFs appear the guest's two emulated CPUs are
# busy with the VF drivers' probes and with udevd's workers for the new devices, and a forked `cut`,
# `sleep` or `ip` then waits seconds for a CPU (and `ip` for the RTNL lock). Polled like that, with
# `ip` in the loop, the end was seen 4 to 17 s after sriovd's job had ended.
rm -f /run/b2-fifo
mkfifo /run/b2-fifo
exec {b2_fifo}<>/run/b2-fifo
nap() { read -r -t 0.01 -u "$b2_fifo" _ || true; } # 10 ms without a process
# every VF of PF bound to its driver (builtins only). sriovd sets a VF's MAC and VLAN before its driver
# binds; the PF's side of both is checked right after (third_side_done), not timed: `ip` waits for the
# RTNL lock as long as udevd's workers for the new VF netdevs hold it, which the kernel's own time
# (the write returns once the VFs are probed) does not include either.
bound_done() { # PF COUNT
        local i
        for ((i = 0; i < $2; i++)); do
                [ -e "/sys/bus/pci/devices/$1/virtfn$i/driver" ] || return 1
        done
}
third_side_done() {
        local line i
        line=$(ip -d link show dev "$(pf_ifname "$third")" 2>/dev/null) || return 1
        for ((i = 0; i < N; i++)); do
                grep -q "vf $i .*link/ether $(mac 2 "$i") .*vlan $((100 + i))," <<<"$line" || return 1
        done
}

# The kernel's "bind" uevent of PF, the end of its driver's probe, received as any program (sriovd
# too) can receive it: the time ($EPOCHREALTIME's clock) goes to FILE. sysfs has the PF's driver link
# from the start of the probe, which on the emulated igb takes a second or more. With COUNT, the
# listener then writes it to the PF's sriov_numvfs and adds the time the write returned.
kernel_bind_listen() { # PF FILE [COUNT]
        rm -f "$2" "$2.ready"
        perl -MSocket -MTime::HiRes=time -e '
                my ($dev, $out, $count) = @ARGV;
                socket(my $s, 16, SOCK_DGRAM, 15) or die "socket: $!";     # AF_NETLINK, NETLINK_KOBJECT_UEVENT
                bind($s, pack("S S L L", 16, 0, 0, 1)) or die "bind: $!";  # group 1: the kernel
                open(my $r, ">", "$out.ready") and close($r);
                while (defined(recv($s, my $buf, 65536, 0))) {
                        next unless $buf =~ m{^bind\@/devices/\S*/\Q$dev\E\0};
                        my $t = time;
                        my $line = sprintf("%.6f", $t);
                        if (defined $count) {
                                open(my $w, ">", "/sys/bus/pci/devices/$dev/sriov_numvfs") or die "open: $!";
                                syswrite($w, "$count\n") or die "write: $!";
                                $line .= sprintf(" %.6f", time);
                        }
                        open(my $f, ">", $out) or die; print $f "$line\n"; close($f);
                        exit 0;
                }' "$@" </dev/null &
        vm_track_pid $!
        wait_until 30 "the kernel uevent listener" test -e "$2.ready"
}

[ "${BENCH_ONLY:-B2}" = B2 ] || B2_ROUNDS=0
# BENCH_B2_SRIOVD="OLD NEW": the rounds alternate between these binaries (two builds side by side)
b2_bins=(${BENCH_B2_SRIOVD:-$SRIOVD})
for ((round = 1; round <= B2_ROUNDS; round++)); do
        SRIOVD=${b2_bins[(round - 1) % ${#b2_bins[@]}]}
        [ ${#b2_bins[@]} = 1 ] || echo "B2bin $round $SRIOVD"
        reset
        pf_conf b2 "$third" $N "$(for ((i = 0; i < N; i++)); do
                printf '[VirtualFunction]\nVirtualFunction=%d\nMACAddress=%s\nVLANId=%d\n\n' "$i" "$(mac 2 "$i")" $((100 + i))
        done)"
        bench_sriovd_start
        wait_until 60 "sriovd on the bus" sbus call io.sriovd /io/sriovd io.sriovd1.Manager ListPhysicalFunctions
        settle
        kernel_bind_listen "$third" /run/b2-bind
        # the request as vm_request makes it, but not waited for: the clock runs from here
        f=/vm/req/$(date +%s%N)
        echo add >"$f.tmp"
        start=$EPOCHREALTIME
        mv "$f.tmp" "$f.req"
        until bound_done "$third" $N; do nap; done
        enforced=$EPOCHREALTIME
        wait_until 30 "the kernel's bind of $third" test -s /run/b2-bind
        read -r bound </run/b2-bind
        wait_until 60 "B2 round $round: the MACs and VLANs of $third's VFs on its side" third_side_done
        until [ -e "$f.rsp" ]; do sleep 0.1; done
        dev=$(sed -n 's/^ok \([^ ]*\).*/\1/p' "$f.rsp")
        rm -f "$f.rsp"
        [ -n "$dev" ] || fail "hot-add failed"
        mkdir -p /run/vm-hotplug
        echo "$dev" >"/run/vm-hotplug/$third"
        wait_eq 30 "B2 round $round: sriovd's State of $third" enforced pf_prop "$third" State
        bench_sriovd_stop

        echo 0 >"/sys/bus/pci/devices/$third/sriov_numvfs"
        settle
        k0=$EPOCHREALTIME
        echo $N >"/sys/bus/pci/devices/$third/sriov_numvfs"
        k1=$EPOCHREALTIME
        [ "$(vf_netdev_count "$third")" = $N ] || fail "B2 round $round: the kernel's own VFs have no netdevs"
        echo 0 >"/sys/bus/pci/devices/$third/sriov_numvfs"
        vm_hotplug_del "$third"

        # The kernel's own time on a PF just hot-added, as sriovd meets it (udevd still at work on
        # the new PF and its netdev): sriovd stopped, the write made from the kernel's bind uevent.
        kernel_bind_listen "$third" /run/b2-kbind $N
        [ "$(vm_hotplug_add)" = "$third" ] || fail "B2 round $round: the second hot-add is not $third"
        wait_until 60 "the write of sriov_numvfs from $third's bind" test -s /run/b2-kbind
        read -r h0 h1 </run/b2-kbind
        bound_done "$third" $N || fail "B2 round $round: the kernel's own VFs on the hot-added PF are not bound"
        echo 0 >"/sys/bus/pci/devices/$third/sriov_numvfs"
        vm_hotplug_del "$third"
        echo "B2 $round $(awk "BEGIN { print $bound - $start, $enforced - $start, $k1 - $k0, $h1 - $h0 }")"
done
rm -f /etc/sriovd/pf.d/*.conf
