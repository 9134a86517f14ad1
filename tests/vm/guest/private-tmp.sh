# Sourced by the guest's PID 1 (init-plain, init-systemd; bash) after /vm/plan.sh.
#
# private_tmp DIR...: a fresh tmpfs on each DIR (/tmp, /var/tmp), so that the guest starts with empty
# temporary directories instead of the host's. What the guest needs from under such a DIR stays where
# it is: the checkout, the build dir, the scenarios, a --script and the packages (--deb) of the run (a
# checkout in /tmp is common) are bind-mounted from the host's root into the new tmpfs at the same path.
private_tmp() {
        local dir p i sorted keep=() n=0
        local wanted=("$VM_SOURCE_DIR" "$VM_BUILD_DIR" "$SRIOVD" "$SRIOVCTL")
        for ((i = 1; i < ${#VM_SCENARIOS[@]}; i += 3)); do
                wanted+=("$(dirname "${VM_SCENARIOS[$i]}")")
        done
        wanted+=(${VM_DEBS[@]+"${VM_DEBS[@]}"})

        mkdir -p /run/vm-keep
        for dir in "$@"; do
                keep=()
                for p in "${wanted[@]}"; do
                        [ -n "$p" ] && [ -e "$p" ] || continue
                        p=$(readlink -f "$p")
                        [ -d "$p" ] || p=$(dirname "$p")
                        case "$p/" in "$dir"/?*) keep+=("$p") ;; esac
                done
                # Outermost paths first; one inside another comes along with it.
                # (No process substitution: PID 1 runs before anything made /dev/fd.)
                sorted=$(printf '%s\n' "${keep[@]}" | sort -u | awk 'NF {
                        for (i = 0; i < n; i++) if (index($0, k[i] "/") == 1) next
                        k[n++] = $0; print }')
                keep=()
                [ -z "$sorted" ] || mapfile -t keep <<<"$sorted"
                for p in "${keep[@]}"; do
                        mkdir -p "/run/vm-keep/$n"
                        mount --bind "$p" "/run/vm-keep/$n"
                        n=$((n + 1))
                done
                mount -t tmpfs tmpfs "$dir"
                i=$((n - ${#keep[@]}))
                for p in "${keep[@]}"; do
                        mkdir -p "$p"
                        mount --move "/run/vm-keep/$i" "$p"
                        echo "private_tmp: $p kept visible on the tmpfs of $dir"
                        i=$((i + 1))
                done
        done
        rm -rf /run/vm-keep
}
