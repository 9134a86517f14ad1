#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# B1, in the QEMU guest (tests/vm/vmrun.py --script bench/vm-apply.sh): 2 igb PFs x 7 VFs with a MAC
# and a VLAN on every VF, ROUNDS rounds of each method, side by side in one boot:
#   hand    echo 7 > sriov_numvfs, then one `ip link set PF vf N mac .. vlan ..` per VF
#   udevd   systemd-udevd's .link [SR-IOV] sections, applied by `udevadm trigger` on the PF netdevs
#   sriovd  sriovd from process start, with its configuration files
# Each round ends when every VF exists and the PF reports its MAC and VLAN; for sriovd also when
# every VF is bound to igbvf and its netdev carries its MAC (what the others do not do). Prints
# "B1 METHOD ROUND SECONDS" lines, and sriovd's CPU as "B1cpu ROUND SECONDS".
. "$VM_LIB"

ROUNDS=${BENCH_ROUNDS:-5}
pfs=($(pf_list))
pfs=("${pfs[0]}" "${pfs[1]}")
N=7
for p in "${pfs[@]}"; do ip link set "$(pf_ifname "$p")" up; done

mac() { printf '02:00:00:b1:%02x:%02x' "$1" "$2"; } # PF-INDEX VF

reset() {
        rm -f /etc/sriovd/pf.d/*.conf /etc/systemd/network/10-b1-*.link
        rm -rf /var/lib/sriovd/pf /run/sriovd/state
        for p in "${pfs[@]}"; do echo 0 >"/sys/bus/pci/devices/$p/sriov_numvfs"; done
        udevadm control --reload
        settle
}

# every VF there, with its MAC and VLAN on the PF's side
pf_side_done() {
        local j p line i
        for j in 0 1; do
                p=${pfs[$j]}
                [ "$(vf_count "$p")" = $N ] || return 1
                line=$(ip -d link show dev "$(pf_ifname "$p")")
                for ((i = 0; i < N; i++)); do
                        grep -q "vf $i .*link/ether $(mac "$j" "$i") .*vlan $((100 + i))," <<<"$line" || return 1
                done
        done
}

# and every VF's own netdev (igbvf) with that MAC
netdev_done() {
        local j i vf dev
        for j in 0 1; do
                i=0
                for vf in $(vf_list "${pfs[$j]}"); do
                        dev=$(ls "/sys/bus/pci/devices/$vf/net" 2>/dev/null) || return 1
                        [ -n "$dev" ] && [ "$(cat "/sys/bus/pci/devices/$vf/net/$dev/address")" = "$(mac "$j" "$i")" ] ||
                                return 1
                        i=$((i + 1))
                done
        done
}

wait_done() { # CHECK...: polls every 10 ms
        local c
        while :; do
                for c in "$@"; do $c || { sleep 0.01; continue 2; }; done
                return 0
        done
}

t() { cut -d' ' -f1 /proc/uptime; }

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

sriovd_method() {
        local j p
        for j in 0 1; do
                p=${pfs[$j]}
                pf_conf "b1-$j" "$p" $N "$(for ((i = 0; i < N; i++)); do
                        printf '[VirtualFunction]\nVirtualFunction=%d\nMACAddress=%s\nVLANId=%d\n\n' "$i" "$(mac "$j" "$i")" $((100 + i))
                done)"
        done
        sriovd_start
        wait_done pf_side_done netdev_done
}

for ((round = 1; round <= ROUNDS; round++)); do
        for method in hand udevd sriovd_method; do
                reset
                start=$(t)
                $method
                end=$(t)
                echo "B1 ${method%_method} $round $(awk "BEGIN { print $end - $start }")"
                if [ "$method" = sriovd_method ]; then
                        ticks=$(awk '{print $14 + $15}' "/proc/$SRIOVD_PID/stat")
                        echo "B1cpu $round $(awk "BEGIN { print $ticks / $(getconf CLK_TCK) }")"
                        sriovd_stop
                fi
        done
done
reset
