#!/usr/bin/env bash
# The Debian package builds from a fresh clone of HEAD with `dpkg-buildpackage -b` (its unit tests run
# in the build) and lintian reports no error (tools/package.sh, through debs.sh, which also builds
# VERSION+test1, a newer build to upgrade to). Then what the packages hold: every
# file a host needs where Debian's tools look for it, the example as the one conffile, the maintainer
# scripts that enable and restart the unit and stop it on removal only, and the versions in order.
#
#   tests/package/test-package.sh SOURCE OUTDIR
set -euo pipefail

src=$1
out=$2
mapfile -t debs < <("$src/tests/package/debs.sh" --rebuild "$src" "$out")
[ ${#debs[@]} = 2 ] || { echo "test-package: FAIL: expected two packages, got: ${debs[*]}" >&2; exit 1; }

failed=0
fail() { echo "test-package: FAIL: $*" >&2; failed=1; }

v1=$(dpkg-deb -f "${debs[0]}" Version)
v2=$(dpkg-deb -f "${debs[1]}" Version)
upstream=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -n1)
[ "${v1%%[-+~]*}" = "$upstream" ] || fail "package version $v1 is not meson's $upstream"
[ "$v2" = "$v1+test1" ] || fail "the second package has version $v2, not $v1+test1"
dpkg --compare-versions "$v2" gt "$v1" || fail "$v2 is not newer than $v1"

for deb in "${debs[@]}"; do
        contents=$(dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
        for f in /usr/sbin/sriovd /usr/bin/sriovctl /usr/libexec/sriovd-doctor /lib/systemd/system/sriovd.service /lib/udev/rules.d/70-sriovd.rules \
                /usr/share/dbus-1/system.d/io.sriovd.conf /usr/share/dbus-1/system-services/io.sriovd.service \
                /usr/share/polkit-1/actions/io.sriovd.policy /usr/share/bash-completion/completions/sriovctl \
                /usr/share/man/man8/sriovd.8.gz /usr/share/man/man5/sriovd.conf.5.gz \
                /usr/share/man/man1/sriovctl.1.gz /etc/sriovd/pf.d/example.conf.example \
                /usr/share/doc/sriovd/copyright /usr/share/doc/sriovd/README.Debian; do
                grep -qxF "$f" <<<"$contents" || fail "${deb##*/} has no $f"
        done
        grep -q '^/var/lib/sriovd' <<<"$contents" && fail "${deb##*/} ships /var/lib/sriovd (StateDirectory= makes it)"
        ctrl=$(mktemp -d)
        dpkg-deb -e "$deb" "$ctrl"
        [ "$(cat "$ctrl/conffiles")" = /etc/sriovd/pf.d/example.conf.example ] ||
                fail "${deb##*/} conffiles: $(tr '\n' ' ' <"$ctrl/conffiles")"
        grep -q "deb-systemd-helper enable 'sriovd.service'" "$ctrl/postinst" || fail "${deb##*/}: postinst does not enable sriovd.service"
        grep -q '_dh_action=restart' "$ctrl/postinst" || fail "${deb##*/}: postinst does not restart sriovd.service on upgrade"
        grep -q "\"\$1\" = remove.*deb-systemd-invoke stop 'sriovd.service'" <(tr '\n' ' ' <"$ctrl/prerm") ||
                fail "${deb##*/}: prerm does not stop sriovd.service on removal (and on removal only)"
        grep -q 'keep-state-on-purge' "$ctrl/postrm" || fail "${deb##*/}: postrm does not know keep-state-on-purge"
        rm -rf "$ctrl"
done
# The Cockpit page, a package of its own from the same build, for the same sriovd.
for deb in "${debs[@]}"; do
        v=$(dpkg-deb -f "$deb" Version)
        page=$(dirname "$deb")/cockpit-sriovd_${v}_all.deb
        [ -f "$page" ] || { fail "no ${page##*/} next to ${deb##*/}"; continue; }
        contents=$(dpkg-deb -c "$page" | awk '{ print $6 }' | sed 's|^\./|/|')
        for f in manifest.json index.html sriovd.js sriovd.css; do
                grep -qxF "/usr/share/cockpit/sriovd/$f" <<<"$contents" || fail "${page##*/} has no /usr/share/cockpit/sriovd/$f"
        done
        dpkg-deb -f "$page" Depends | grep -qF "sriovd (>= $v)" || fail "${page##*/} does not depend on sriovd (>= $v)"
        dpkg-deb -f "$page" Depends | grep -qw cockpit-bridge || fail "${page##*/} does not depend on cockpit-bridge"
done
[ "$failed" = 0 ] || exit 1
echo "test-package: ${debs[0]##*/} and ${debs[1]##*/} (and their cockpit-sriovd) built, lintian-clean, complete" >&2
