#!/usr/bin/env bash
# The sandbox from a checkout under /tmp, where the guest mounts its own empty tmpfs: a copy of this
# checkout (the files git knows, as they are in the working tree) goes to a new directory in /tmp with
# its build dir inside, and tools/sandbox.sh runs its tour there. The tour must have run to the end:
# the VF counts of its example configuration in sysfs and the hot-added PF enforced.
#
#   tests/vm/test-checkout-tmp.sh SOURCE-DIR
set -euo pipefail

src=$1
if [ "$(id -u)" -ne 0 ]; then
        # As vmrun.py does: the guest needs root for the 9p export of /.
        if [ "${SRIOVD_VM_ALLOW_SKIP:-}" = 1 ]; then
                echo "test-checkout-tmp: SKIP: not root" >&2
                exit 77
        fi
        echo "test-checkout-tmp: FAIL: the VM tier must run as root (set SRIOVD_VM_ALLOW_SKIP=1 to skip)" >&2
        exit 1
fi
git -C "$src" rev-parse --git-dir >/dev/null 2>&1 || { echo "test-checkout-tmp: $src is not a git checkout" >&2; exit 1; }

dir=$(mktemp -d /tmp/sriovd-checkout.XXXXXX)
trap 'rm -rf "$dir"' EXIT
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -xf - -C "$dir"
echo "test-checkout-tmp: checkout copied to $dir" >&2

# sriovd and sriovctl are all the tour needs: no test suites in this build.
meson setup "$dir/build" "$dir" -Dtests=false >/dev/null
rc=0
"$dir/tools/sandbox.sh" --build-dir "$dir/build" || rc=$?
out=$dir/build/sandbox/shared/results/demo/output.log
[ "$rc" = 0 ] || { echo "test-checkout-tmp: FAIL: tools/sandbox.sh exited with status $rc" >&2; exit 1; }
[ -f "$out" ] || { echo "test-checkout-tmp: FAIL: the tour did not run (no $out)" >&2; exit 1; }

failed=0
expect() { # PATTERN WHAT
        grep -qE "$1" "$out" && return 0
        echo "test-checkout-tmp: FAIL: $2: no line matching /$1/ in the tour's output" >&2
        failed=1
}
expect '^  0000:01:00\.0: sriov_numvfs=4, VFs: ' "4 VFs on the first PF from /etc/sriovd/pf.d/10-uplink.conf"
expect '^  0000:02:00\.0: sriov_numvfs=2, VFs: ' "2 VFs on the second PF from /etc/sriovd/pf.d/20-storage.conf"
expect '^  the guest kernel found 0000:03:00\.0$' "the hot-added PF"
expect '^ *0000:03:00\.0 .*enforced' "the hot-added PF enforced in sriovctl status"
[ "$failed" = 0 ] || { sed 's/^/| /' "$out" >&2; exit 1; }
echo "test-checkout-tmp: the sandbox ran its tour from $dir" >&2
