#!/usr/bin/env bash
# The packages the package tests install: tools/package.sh run twice on SOURCE's HEAD, for VERSION (from
# debian/changelog) and VERSION+test1, a newer build of the same tree to upgrade to. Built into OUTDIR
# unless it holds both for the same HEAD already (--rebuild: always). Prints the two .deb files, the
# older first.
#
#   tests/package/debs.sh [--rebuild] SOURCE OUTDIR
set -euo pipefail

rebuild=0
[ "${1:-}" != --rebuild ] || { rebuild=1; shift; }
src=$1
out=$2
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

head=$(git -C "$src" rev-parse HEAD)
stamp=$out/built-from
if [ "$rebuild" = 1 ] || [ "$(cat "$stamp" 2>/dev/null)" != "$head" ] ||
        [ "$(wc -l <"$out/debs" 2>/dev/null || echo 0)" != 2 ]; then
        rm -f "$stamp" "$out/debs" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
        first=$("$src/tools/package.sh" --out "$out")
        # The same tree again: its unit tests have run in the first build, lintian has seen it.
        second=$("$src/tools/package.sh" --nocheck --no-lintian --version-suffix +test1 --out "$out")
        printf '%s\n' "$first" "$second" >"$out/debs"
        echo "$head" >"$stamp"
fi
cat "$out/debs"
