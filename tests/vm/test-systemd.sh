#!/usr/bin/env bash
# The systemd boot (meson test vm-systemd): the Debian packages of HEAD (tests/package/debs.sh; built
# unless the package test built them for the same HEAD) given to vmrun.py, which installs the older at
# boot; the scenarios upgrade to the newer one, remove and purge it, then install with `meson install`
# (94, 95, 96).
#
#   tests/vm/test-systemd.sh SOURCE BUILD [vmrun.py arguments]
set -euo pipefail
src=$1
build=$2
shift 2
mapfile -t debs < <("$src/tests/package/debs.sh" "$src" "$build/debs")
[ ${#debs[@]} = 2 ] || { echo "test-systemd: no packages to install" >&2; exit 1; }
exec "$src/tests/vm/vmrun.py" --build-dir "$build" --mode systemd --deb "${debs[0]}" --deb "${debs[1]}" "$@"
