#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sriovctl without a daemon: usage errors (exit 2), --help from the verb table, check-config on good and
# bad files (exit codes, "file:line: message", JSON). Usage: test-sriovctl-cli.sh SRIOVCTL
set -u

SRIOVCTL=${1:?usage: $0 SRIOVCTL}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# No bus at all: nothing below may need one, and a verb that tried would fail with exit 1, not 2.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-bus"

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}

# run EXPECTED_EXIT ARGS...: runs sriovctl, keeps stdout in $WORK/out and stderr in $WORK/err
run() {
        local expected=$1
        shift
        "$SRIOVCTL" "$@" >"$WORK/out" 2>"$WORK/err"
        local rc=$?
        if [ "$rc" -ne "$expected" ]; then
                fail "sriovctl $* exited $rc, expected $expected; stderr: $(cat "$WORK/err")"
        fi
}

expect_out() { grep -qF -- "$1" "$WORK/out" || fail "stdout lacks '$1': $(cat "$WORK/out")"; }
expect_err() { grep -qF -- "$1" "$WORK/err" || fail "stderr lacks '$1': $(cat "$WORK/err")"; }
expect_out_exact() {
        [ "$(cat "$WORK/out")" = "$1" ] || fail "stdout is '$(cat "$WORK/out")', expected '$1'"
}
expect_no_out() { [ ! -s "$WORK/out" ] || fail "unexpected stdout: $(cat "$WORK/out")"; }

# --help lists every verb from the table and nothing the contract has not delivered yet
run 0 --help
for verb in status show set-numvfs set-vf apply reload monitor check-config doctor libvirt-xml \
            request release leases; do
        grep -qE "^  $verb( |$)" "$WORK/out" || fail "--help does not list $verb"
done
expect_out "request [DEVICE] [KEY=VALUE...]"
expect_out "--consumer=NAME"
expect_out "--persistent"
expect_out "--libvirt-xml"
expect_out "set-numvfs DEVICE N"
expect_out "MACAddress="
expect_out "mac= vlan="
run 0 -h
expect_out "Commands:"
run 0 --version
expect_out "sriovctl "

# usage errors: exit 2, a message, nothing on stdout, no bus needed
run 2 bogus-verb
expect_err "Unknown command 'bogus-verb'"
expect_no_out
run 2 --frobnicate
expect_err "Unknown option '--frobnicate'"
run 2 -x status
expect_err "Unknown option '-x'"
run 2 -H
expect_err "needs an argument"
run 2 show
expect_err "Too few arguments for 'show'"
run 2 show a b
expect_err "Too many arguments for 'show'"
run 2 status extra
expect_err "Too many arguments for 'status'"
run 2 set-numvfs 0000:01:00.0
expect_err "Too few arguments"
run 2 set-numvfs 0000:01:00.0 four
expect_err "Invalid number of VFs 'four'"
run 2 set-numvfs 0000:01:00.0 -- -1
expect_err "Invalid number of VFs '-1'"
run 2 set-numvfs 0000:01:00.0 99999999999
expect_err "Invalid number of VFs"
run 2 status --runtime
expect_err "Option --runtime does not apply to 'status'"
# --wait SECONDS: a whole number from 1 to 3600, checked before connecting
for bad in abc -5 0 3601 99999999999999999999 1.5 "" 10s " 7"; do
        run 2 set-numvfs 0000:01:00.0 2 --wait "$bad"
        expect_err "Invalid --wait '$bad': a number of seconds from 1 to 3600 is expected."
        expect_no_out
done
run 2 set-numvfs 0000:01:00.0 2 --wait=-1
expect_err "Invalid --wait '-1'"
run 2 set-numvfs 0000:01:00.0 2 --wait
expect_err "Option '--wait' needs an argument"
run 2 set-numvfs 0000:01:00.0 2 --wait 30 --force
expect_err "--wait and --force exclude each other"
run 2 set-vf 0000:01:00.0 0 vlan=1 --wait 5
expect_err "Option --wait does not apply to 'set-vf'"
run 2 set-vf 0000:01:00.0 0 vlan=1 --force
expect_err "Option --force does not apply to 'set-vf'"
run 2 show 0000:01:00.0 --config-dir /tmp
expect_err "Option --config-dir does not apply to 'show'"
run 2 set-vf 0000:01:00.0 0
expect_err "Too few arguments"
run 2 set-vf 0000:01:00.0 zero vlan=1
expect_err "Invalid VF index 'zero'"
run 2 set-vf 0000:01:00.0 0 novalue
expect_err "Expected KEY=VALUE, got 'novalue'"
run 2 set-vf 0000:01:00.0 0 =5
expect_err "Expected KEY=VALUE"
run 2 set-vf 0000:01:00.0 0 colour=blue
expect_err "Unknown key 'colour'"
run 2 set-vf 0000:01:00.0 0 vlan=4096
expect_err "VLANId"
run 2 set-vf 0000:01:00.0 0 VLANId=12 mac=not-a-mac
expect_err "MACAddress"
run 2 set-vf 0000:01:00.0 0 qos=8
expect_err "QualityOfService"
run 2 set-vf 0000:01:00.0 0 trust=maybe
expect_err "Trust"

# request, release, leases: usage errors before any bus
run 2 request colour=blue
expect_err "Unknown key 'colour'"
expect_no_out
run 2 request 0000:01:00.0 vlan=4096
expect_err "VLANId"
run 2 request 0000:01:00.0 novalue
expect_err "Expected KEY=VALUE, got 'novalue'"
run 2 request 0000:01:00.0 mac=02:00:00:00:00:01 =5
expect_err "Expected KEY=VALUE, got '=5'"
run 2 request mac=zz:00:00:00:00:01
expect_err "MACAddress"
run 2 request --json --libvirt-xml
expect_err "do not go together"
run 2 request --consumer=
expect_err "--consumer= needs a name"
run 2 request --runtime
expect_err "Option --runtime does not apply to 'request'"
run 2 status --consumer vm1
expect_err "Option --consumer does not apply to 'status'"
run 2 set-vf 0000:01:00.0 0 vlan=1 --persistent
expect_err "Option --persistent does not apply to 'set-vf'"
run 2 libvirt-xml 0000:01:00.0 0 --libvirt-xml
expect_err "Option --libvirt-xml does not apply to 'libvirt-xml'"
run 2 release
expect_err "Too few arguments for 'release'"
run 2 release 1 2
expect_err "Too many arguments for 'release'"
run 2 release ""
expect_err "Expected a lease"
run 2 release /io/sriovd//lease
expect_err "Invalid lease object path"
run 2 leases extra
expect_err "Too many arguments for 'leases'"
run 2 leases --persistent
expect_err "Option --persistent does not apply to 'leases'"
# valid requests get past parsing: DEVICE optional (a first KEY=VALUE means any PF), keys as in set-vf
run 1 request
expect_err "Failed to connect to the system bus"
run 1 request vlan=42 driver=vfio-pci --consumer vm1
expect_err "Failed to connect to the system bus"
run 1 request 0000:01:00.0 --persistent --libvirt-xml --consumer vm1 mac=02:00:00:00:00:01 VLANId=42 Trust=yes
expect_err "Failed to connect to the system bus"
run 1 release 3
expect_err "Failed to connect to the system bus"
run 1 release /io/sriovd/lease/_33
run 1 --json leases

# a valid request gets past parsing and fails at the (absent) bus: exit 1, not 2
run 1 set-vf 0000:01:00.0 0 mac=02:00:00:00:00:01 vlan=42 qos=3 trust=yes spoofchk=no state=auto min-rate=0 max-rate=1000 driver=vfio-pci
expect_err "Failed to connect to the system bus"
run 1 set-numvfs 0000:01:00.0 4 --runtime --force
run 1 set-numvfs 0000:01:00.0 4 --wait 1
expect_err "Failed to connect to the system bus"
run 1 set-numvfs 0000:01:00.0 4 --wait=3600 --runtime
run 1 status
run 1

# check-config
mkdir -p "$WORK/etc/pf.d" "$WORK/lib/pf.d" "$WORK/empty"
cat >"$WORK/etc/pf.d/10-good.conf" <<'CONF'
# a valid file
[Match]
PciAddress=0000:01:00.0

[PhysicalFunction]
NumVFs=4
DriversAutoprobe=no

[VirtualFunction]
VirtualFunction=0-3
VLANId=42
Trust=yes
CONF
cat >"$WORK/etc/pf.d/20-bad.conf" <<'CONF'
[Match]
Driver=i40e

[PhysicalFunction]
NumVFs=four
CONF
cat >"$WORK/lib/pf.d/20-bad.conf" <<'CONF'
[Match]
Driver=ixgbe

[PhysicalFunction]
NumVFs=2
CONF
cat >"$WORK/lib/pf.d/30-unknown.conf" <<'CONF'
[Match]
Driver=ice

[PhysicalFunction]
NumVFs=2
Colour=blue
CONF

run 0 check-config "$WORK/etc/pf.d/10-good.conf"
expect_out_exact "1 file OK."
[ ! -s "$WORK/err" ] || fail "check-config of a good file wrote to stderr: $(cat "$WORK/err")"

run 1 check-config "$WORK/etc/pf.d/10-good.conf" "$WORK/etc/pf.d/20-bad.conf"
expect_err "$WORK/etc/pf.d/20-bad.conf:5: "
expect_err "NumVFs"
expect_out_exact "1 file OK, 1 refused."

run 1 check-config "$WORK/lib/pf.d/30-unknown.conf"
expect_err "$WORK/lib/pf.d/30-unknown.conf:6: "
expect_err "Colour"

run 1 check-config "$WORK/does-not-exist.conf"
expect_err "$WORK/does-not-exist.conf"

# directories: etc masks lib's file of the same name, so only etc's broken 20-bad.conf counts
run 1 check-config --config-dir "$WORK/etc" --config-dir "$WORK/lib"
expect_out_exact "1 file OK, 2 refused."
expect_err "$WORK/etc/pf.d/20-bad.conf:5: "
expect_err "$WORK/lib/pf.d/30-unknown.conf:6: "
grep -qF "$WORK/lib/pf.d/20-bad.conf" "$WORK/err" && fail "a masked file was read"

# the other way round lib's valid 20-bad.conf masks etc's broken one
rm "$WORK/lib/pf.d/30-unknown.conf"
run 0 check-config --config-dir "$WORK/lib" --config-dir "$WORK/etc"
expect_out_exact "2 files OK."

run 0 check-config --config-dir "$WORK/empty"
expect_out_exact "No configuration files found."
run 0 --no-legend check-config --config-dir "$WORK/empty"
expect_no_out

run 2 check-config --config-dir "$WORK/etc" "$WORK/etc/pf.d/10-good.conf"
expect_err "not both"

# JSON: one document with the valid files and the errors; exit status as in text mode
run 1 --json check-config "$WORK/etc/pf.d/10-good.conf" "$WORK/etc/pf.d/20-bad.conf"
/usr/bin/python3 - "$WORK/out" "$WORK" <<'PY' || fail "check-config --json output is wrong: $(cat "$WORK/out")"
import json, sys
doc = json.load(open(sys.argv[1]))
work = sys.argv[2]
assert doc["files"] == [work + "/etc/pf.d/10-good.conf"], doc
assert len(doc["errors"]) == 1, doc
assert doc["errors"][0]["file"] == work + "/etc/pf.d/20-bad.conf", doc
assert doc["errors"][0]["message"].startswith(work + "/etc/pf.d/20-bad.conf:5: "), doc
PY

if [ "$failures" -gt 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all sriovctl CLI checks passed"
