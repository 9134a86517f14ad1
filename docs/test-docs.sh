#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages render without a single groff or man warning, document every sriovctl command and
# option that --help lists, and the example configurations (docs/examples, debian/pf.d) pass check-config.
# Usage: test-docs.sh DOCSDIR SRIOVCTL
set -u

DOCS=${1:?} SRIOVCTL=${2:?}
failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

command -v groff >/dev/null || { echo "groff is not installed (Debian: groff-base)" >&2; exit 1; }

for page in sriovctl.1 sriovd.8 sriovd.conf.5; do
        f=$DOCS/$page
        [ -f "$f" ] || { fail "$page is missing"; continue; }
        out=$(groff -t -man -Tutf8 -ww -z "$f" 2>&1)
        [ -z "$out" ] || fail "groff warns about $page: $out"
        if command -v man >/dev/null; then
                # man formats for the terminal width; tables wider than 80 columns warn here only.
                out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)
                [ -z "$out" ] || fail "man warns about $page: $out"
                text=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$f" 2>/dev/null)
                for section in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
                        grep -q "^$section" <<<"$text" || fail "$page has no $section section"
                done
        fi
done

# Every command and long option of sriovctl --help is in sriovctl(1).
help=$("$SRIOVCTL" --help) || fail "sriovctl --help failed"
man1=$(groff -t -man -Tutf8 -P-c -P-b -P-u "$DOCS/sriovctl.1" 2>/dev/null)
for verb in $(sed -n '/^Commands:/,/^$/p' <<<"$help" | awk 'NR > 1 && NF { print $1 }'); do
        grep -qE "^ +$verb( |$)" <<<"$man1" || fail "sriovctl(1) does not document the command $verb"
done
for opt in $(grep -oE -- '--[a-z-]+' <<<"$help" | sort -u); do
        grep -qF -- "$opt" <<<"$man1" || fail "sriovctl(1) does not document $opt"
done

# Every policy key of the contract is in sriovd.conf(5) and the D-Bus reference.
man5=$(groff -t -man -Tutf8 -P-c -P-b -P-u "$DOCS/sriovd.conf.5" 2>/dev/null)
for key in MACAddress VLANId QualityOfService VLANProtocol MACSpoofCheck Trust LinkState \
           QueryReceiveSideScaling MinTxRate MaxTxRate Driver MTU NodeGUID PortGUID NumVFs DriversAutoprobe PciAddress \
           Interface VendorDevice PermanentMACAddress VirtualFunction; do
        grep -qF "$key=" <<<"$man5" || fail "sriovd.conf(5) does not document $key="
done
for key in MACAddress VLANId QualityOfService VLANProtocol MACSpoofCheck Trust LinkState \
           QueryReceiveSideScaling MinTxRate MaxTxRate Driver MTU NodeGUID PortGUID; do
        grep -qF "| \`$key\` |" "$DOCS/dbus-api.md" || fail "dbus-api.md does not document the key $key"
done
for name in NoSuchDevice InvalidArgument OutOfRange NotSupported Busy NoFreeFunction ConfigInvalid Failed; do
        grep -qF "io.sriovd1.Error.$name" "$DOCS/dbus-api.md" || fail "dbus-api.md does not document $name"
done

# The example configuration is valid.
"$SRIOVCTL" check-config "$DOCS/examples/10-example.conf" >/dev/null || fail "examples/10-example.conf is refused"

# The Debian package's commented example (/etc/sriovd/pf.d/example.conf.example) is that example:
# uncommented, the same settings, so valid too.
deb_example=$DOCS/../debian/pf.d/example.conf.example
if [ -f "$deb_example" ]; then
        settings() { sed -n 's/^#\{0,1\}\([][A-Za-z]\)/\1/p' "$1"; }
        [ "$(settings "$deb_example")" = "$(settings "$DOCS/examples/10-example.conf")" ] ||
                fail "debian/pf.d/example.conf.example, uncommented, differs from examples/10-example.conf"
        tmp=$(mktemp --suffix=.conf)
        settings "$deb_example" >"$tmp"
        "$SRIOVCTL" check-config "$tmp" >/dev/null || fail "debian/pf.d/example.conf.example, uncommented, is refused"
        rm -f "$tmp"
fi

if [ "$failures" -gt 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "docs verified"
