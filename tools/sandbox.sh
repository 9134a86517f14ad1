#!/usr/bin/env bash
# The sriovd sandbox: boots a QEMU guest (real Linux kernel, no KVM needed) with two emulated Intel
# 82576 SR-IOV NICs, starts the build tree's sriovd with an example configuration and shows the job:
# `sriovctl status` before and after, a third NIC hot-added and enforced, `sriovctl show` of its VFs.
#
# usage: tools/sandbox.sh [--shell] [--mock] [--build-dir DIR] [-v]
#   --shell          stay in the guest with an interactive shell afterwards (exit it to power off;
#                    Ctrl-a x quits QEMU); `vm-hotplug add` hot-adds another NIC there
#   --mock           the same demonstration on mock hardware (umockdev), without QEMU
#   --build-dir DIR  meson build directory (default: ./build, set up and compiled when needed)
#   -v               show the guest's console (kernel messages) too
# Needs root (the guest gets the host's root over 9p) and tools/vm-deps.sh (run automatically).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${SRIOVD_BUILD_DIR:-$src/build}
vmargs=()
mock=0
while [ $# -gt 0 ]; do
        case "$1" in
        --shell) vmargs+=(--shell) ;;
        --mock) mock=1 ;;
        -v | --verbose) vmargs+=(-v) ;;
        --build-dir) build=$2; shift ;;
        --build-dir=*) build=${1#--build-dir=} ;;
        -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "sandbox: unknown argument $1 (try --help)" >&2; exit 2 ;;
        esac
        shift
done

if [ "$(id -u)" -ne 0 ]; then
        echo "sandbox: run as root: the guest mounts the host's root over virtio-9p" >&2
        exit 1
fi

# Build dependencies, QEMU with igb and the guest kernel; fast when everything is there already.
"$src/tools/install-deps.sh"
[ "$mock" = 1 ] || "$src/tools/vm-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" "$src" >/dev/null
fi
echo "sandbox: building in $build" >&2
meson compile -C "$build" >/dev/null

if [ "$mock" = 1 ]; then
        exec env MOCK_BUILD_DIR="$build" /usr/bin/python3 "$src/tests/mock/sandbox.py"
fi

exec /usr/bin/python3 "$src/tests/vm/vmrun.py" --build-dir "$build" --work-dir "$build/sandbox" \
        --pfs 2 --spare-ports 2 --script "$src/tests/vm/sandbox/demo.sh" "${vmargs[@]}"
