#!/usr/bin/env bash
# The whole test suite: installs what it needs (as root), builds warning-clean, runs the unit,
# mock-hardware and real-kernel (QEMU) tiers, and ends with one "N passed, N failed" line.
#
#   tools/test.sh [--suite unit|mock|vm]... [--no-deps] [--build-dir DIR]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-test"
suites=()
deps=1

while [ $# -gt 0 ]; do
        case "$1" in
        --suite) suites+=("$2"); shift 2 ;;
        --no-deps) deps=0; shift ;;
        --build-dir) build="$2"; shift 2 ;;
        -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument '$1'" >&2; exit 2 ;;
        esac
done
[ ${#suites[@]} -gt 0 ] || suites=(unit mock vm)

if [ "$deps" = 1 ]; then
        if [ "$(id -u)" -eq 0 ]; then
                "$top/tools/install-deps.sh"
                case " ${suites[*]} " in *" vm "*) "$top/tools/vm-deps.sh" ;; esac
        else
                echo "test.sh: not root, not installing packages (run as root to install them)" >&2
        fi
fi

if [ -f "$build/build.ninja" ]; then
        meson configure "$build" -Dwerror=true >/dev/null
else
        meson setup "$build" "$top" -Dwerror=true >/dev/null
fi
ninja -C "$build"

args=()
for s in "${suites[@]}"; do args+=(--suite "$s"); done
rc=0
meson test -C "$build" --print-errorlogs --num-processes 1 "${args[@]}" || rc=$?

# One closing line that counts every test case meson ran, whatever the tier.
/usr/bin/python3 - "$build/meson-logs/testlog.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
if [ "$rc" -eq 0 ] && grep -q '"result": "SKIP"' "$build/meson-logs/testlog.json" && [ "${CI:-}" = true ]; then
        echo "test.sh: a test tier was skipped, which CI does not accept" >&2
        rc=1
fi
exit "$rc"
