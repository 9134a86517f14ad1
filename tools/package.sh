#!/usr/bin/env bash
# Builds the Debian package from a fresh clone of this checkout's HEAD (what is committed; uncommitted
# changes are not in it) with `dpkg-buildpackage -b`, and runs lintian on it: any lintian error fails.
# Installs what it needs (debhelper, lintian, the build dependencies of debian/control) when run as root.
#
#   tools/package.sh [--out DIR] [--version-suffix SUFFIX] [--nocheck] [--no-lintian] [--no-deps]
#
#   --out DIR                where the .deb, .buildinfo and .changes go (default: build-deb/ in
#                            this checkout)
#   --version-suffix SUFFIX  build version VERSION+SUFFIX, VERSION from debian/changelog (a newer
#                            version of the same tree: upgrade tests)
#   --nocheck                do not build and run the unit tests in the package build
#                            (DEB_BUILD_OPTIONS=nocheck; tools/test.sh runs them anyway)
#   --no-lintian             skip lintian (a rebuild of a tree lintian has seen)
#   --no-deps                do not install anything
# Prints the path of the .deb last.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$top/build-deb
suffix=
deps=1
nocheck=0
lintian=1
while [ $# -gt 0 ]; do
        case "$1" in
        --out) out=$2; shift ;;
        --out=*) out=${1#--out=} ;;
        --version-suffix) suffix=$2; shift ;;
        --version-suffix=*) suffix=${1#--version-suffix=} ;;
        --nocheck) nocheck=1 ;;
        --no-lintian) lintian=0 ;;
        --no-deps) deps=0 ;;
        -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "package: unknown argument $1 (try --help)" >&2; exit 2 ;;
        esac
        shift
done
say() { echo "package: $*" >&2; }
die() { say "error: $*"; exit 1; }
case "$suffix" in
"" | +[A-Za-z0-9]*) ;;
*) die "--version-suffix must start with '+' and a letter or digit, as in +test1 (got '$suffix')" ;;
esac
[[ $suffix =~ ^[A-Za-z0-9.+~]*$ ]] || die "--version-suffix may hold letters, digits and . + ~ only (got '$suffix')"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
apt_updated=0
apt_install() {
        export DEBIAN_FRONTEND=noninteractive
        if [ "$apt_updated" = 0 ]; then
                apt-get update -q >&2
                apt_updated=1
        fi
        apt-get install -y -q --no-install-recommends "$@" >&2
}

if [ "$deps" = 1 ]; then
        missing=()
        for p in git dpkg-dev debhelper lintian; do installed "$p" || missing+=("$p"); done
        if [ ${#missing[@]} -gt 0 ]; then
                [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]}; run as root to install them"
                say "installing ${missing[*]}"
                apt_install "${missing[@]}"
        fi
fi

git -C "$top" rev-parse --git-dir >/dev/null 2>&1 || die "$top is not a git checkout"
head=$(git -C "$top" rev-parse HEAD)
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
        say "warning: uncommitted changes in $top are not in the package (it is built from HEAD, $head)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sriovd-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/sriovd
git clone --quiet --no-checkout --shared "$top" "$src"
git -C "$src" -c advice.detachedHead=false checkout --quiet "$head"
cd "$src"

version=$(dpkg-parsechangelog -S Version)
upstream=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" meson.build | head -n1)
[ "${version%%[-+~]*}" = "$upstream" ] ||
        die "debian/changelog has version $version, meson.build $upstream: add a changelog entry for $upstream"
if [ -n "$suffix" ]; then
        version=$version$suffix
        # A changelog entry of its own, as a rebuild gets; the maintainer line is the last entry's.
        { printf 'sriovd (%s) unstable; urgency=medium\n\n  * Rebuild as %s.\n\n -- %s  %s\n\n' \
                "$version" "$version" "$(dpkg-parsechangelog -S Maintainer)" "$(date -R)"
          cat debian/changelog; } >debian/changelog.new
        mv debian/changelog.new debian/changelog
fi

if [ "$deps" = 1 ] && ! dpkg-checkbuilddeps >/dev/null 2>&1; then
        [ "$(id -u)" -eq 0 ] || die "unmet build dependencies ($(dpkg-checkbuilddeps 2>&1 | sed 's/.*: //')); run as root to install them"
        say "installing the build dependencies of debian/control"
        export DEBIAN_FRONTEND=noninteractive
        [ "$apt_updated" = 1 ] || { apt-get update -q >&2; apt_updated=1; }
        apt-get build-dep -y -q --no-install-recommends "$src" >&2
fi

opts=${DEB_BUILD_OPTIONS:-}
[ "$nocheck" = 0 ] || opts="$opts nocheck"
say "building sriovd $version from $head in $src"
start=$SECONDS
DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -b -us -uc -J"$(nproc)" >"$work/build.log" 2>&1 ||
        { tail -n 60 "$work/build.log" >&2; die "dpkg-buildpackage failed (the end of its log is above)"; }
say "built in $((SECONDS - start)) s"

arch=$(dpkg --print-architecture)
changes=$work/sriovd_${version}_${arch}.changes
[ -f "$changes" ] || die "no $changes after the build"

if [ "$lintian" = 1 ]; then
        say "lintian $(lintian --version | awk '{ print $2 }') on ${changes##*/}"
        rc=0
        lintian --fail-on error --display-info --tag-display-limit 0 "$changes" >&2 || rc=$?
        [ "$rc" = 0 ] || die "lintian reports errors (E: lines above)"
        say "lintian: no errors"
fi

mkdir -p "$out"
for f in "$work"/*.deb "$work"/*.buildinfo "$changes"; do
        cp "$f" "$out/"
done
echo "$out/sriovd_${version}_${arch}.deb"
