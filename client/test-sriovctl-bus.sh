#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sriovctl's bus side against tests/fake-sriovd/fake_sriovd.py on a private bus: tables, JSON,
# resolution of DEVICE through the manager, what each verb sends (types and flags), the daemon's own
# error messages, exit codes, and monitor's lines for property changes, hotplug and a daemon that
# goes away.
# Usage: test-sriovctl-bus.sh SRIOVCTL FAKE_SRIOVD
set -u

SRIOVCTL=${1:?} FAKE_SRIOVD=${2:?}
WORK=$(mktemp -d)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
        rm -rf "$WORK"
}
trap cleanup EXIT

failures=0
fail() {
        echo "FAIL: $*" >&2
        failures=$((failures + 1))
}
run() {
        local expected=$1
        shift
        "$SRIOVCTL" "$@" >"$WORK/out" 2>"$WORK/err"
        local rc=$?
        [ "$rc" -eq "$expected" ] || fail "sriovctl $* exited $rc, expected $expected; stderr: $(cat "$WORK/err")"
}
expect_out() { grep -qF -- "$1" "$WORK/out" || fail "stdout lacks '$1': $(cat "$WORK/out")"; }
expect_err_exact() {
        [ "$(cat "$WORK/err")" = "$1" ] || fail "stderr is '$(cat "$WORK/err")', expected '$1'"
}
expect_calls() {
        grep -qxF -- "$1" "$WORK/calls" || fail "the daemon did not get '$1'; it got: $(cat "$WORK/calls")"
}
py_check() { # py_check FILE PYTHON-EXPRESSIONS (doc is the parsed JSON)
        /usr/bin/python3 -c "import json,sys; doc=json.load(open(sys.argv[1])); $2" "$1" ||
                fail "JSON check failed: $2 on $(cat "$1")"
}

command -v dbus-daemon >/dev/null || { echo "dbus-daemon is not installed" >&2; exit 1; }

cat >"$WORK/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$WORK/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
CONF
dbus-daemon --config-file="$WORK/bus.conf" --nofork --nopidfile 2>/dev/null &
pids+=($!)
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/bus"
for _ in $(seq 50); do [ -S "$WORK/bus" ] && break; sleep 0.1; done

/usr/bin/python3 "$FAKE_SRIOVD" --calls "$WORK/calls" >"$WORK/fake.out" 2>"$WORK/fake.err" &
fake=$!
pids+=($fake)
for _ in $(seq 100); do
        busctl --system status io.sriovd >/dev/null 2>&1 && break
        sleep 0.1
done
busctl --system status io.sriovd >/dev/null 2>&1 || { echo "fake sriovd did not start: $(cat "$WORK/fake.err")" >&2; exit 1; }

# monitor runs through everything below, in text and JSON
"$SRIOVCTL" monitor >"$WORK/mon.txt" 2>"$WORK/mon.err" &
mon=$!
"$SRIOVCTL" --json monitor >"$WORK/mon.json" 2>"$WORK/monj.err" &
monj=$!
pids+=($mon $monj)
sleep 0.5

# status: the table, "-" for an unmanaged count and an absent interface, errors below, the legend
run 0 status
grep -qE '^PF +INTERFACE +DRIVER +MODEL +VFS +DESIRED +TOTAL +STATE$' "$WORK/out" || fail "status header: $(cat "$WORK/out")"
grep -qE '^0000:01:00\.0 +enp1s0 +i40e +Ethernet Controller X710 for 10GbE SFP\+ +2 +2 +8 +enforced$' "$WORK/out" ||
        fail "status row of 0000:01:00.0: $(cat "$WORK/out")"
grep -qE '^0000:02:00\.0 +- +i40e .* +1 +- +64 +failed$' "$WORK/out" || fail "status row of 0000:02:00.0: $(cat "$WORK/out")"
expect_out "0000:02:00.0: /etc/sriovd/pf.d/20-bad.conf:5: Invalid NumVFs=four"
expect_out "2 physical functions listed."
run 0
expect_out "2 physical functions listed."
run 0 --no-legend status
grep -q -e '^PF ' -e 'listed' "$WORK/out" && fail "--no-legend printed a legend: $(cat "$WORK/out")"
[ "$(grep -c '^0000:0' "$WORK/out")" -eq 2 ] || fail "--no-legend rows: $(cat "$WORK/out")"

run 0 --json status
py_check "$WORK/out" 'pfs = doc["PhysicalFunctions"]; assert [p["PciAddress"] for p in pfs] == ["0000:01:00.0", "0000:02:00.0"]; assert pfs[0]["NumVFs"] == 2 and pfs[0]["TotalVFs"] == 8 and pfs[1]["DesiredNumVFs"] == -1; assert pfs[0]["DriversAutoprobe"] is True and pfs[0]["VendorId"] == 0x8086; assert pfs[1]["LastError"].startswith("/etc/sriovd/pf.d/20-bad.conf:5:")'

# show: by full address, short address and interface name
for dev in 0000:01:00.0 01:00.0 enp1s0; do
        run 0 show "$dev"
        expect_out "PCI Address: 0000:01:00.0"
        expect_out "VFs: 2 (desired 2, total 8)"
        grep -qE '^INDEX +ADDRESS +INTERFACE +DRIVER +MAC +VLAN +MTU +IOMMU +STATE +NOT IN FORCE +ERROR$' "$WORK/out" ||
                fail "show VF header"
        # where the kernel's values differ from the policy, show says which and how; an MTU on a VF
        # without a netdev (MTU 0) waits for one
        grep -qE '^ +0 +0000:01:10\.0 .* - +40 +ok +VLANId=42 \(is 0\), Trust=yes \(is no\), MTU=9000 \(no netdev\) +-$' "$WORK/out" ||
                fail "show VF row not in force: $(cat "$WORK/out")"
        grep -qE '^ +1 +0000:01:10\.1 +enp1s0v1 +iavf +02:00:00:00:00:01 +- +1500 +41 +ok +- +-$' "$WORK/out" ||
                fail "show VF row: $(cat "$WORK/out")"
done
run 0 show 0000:02:00.0
expect_out "VFs: 1 (unmanaged, total 64)"
expect_out "Last Error: /etc/sriovd/pf.d/20-bad.conf:5: Invalid NumVFs=four"
run 0 --json show enp1s0
py_check "$WORK/out" 'assert doc["PhysicalFunction"]["PciAddress"] == "0000:01:00.0"; assert [v["Index"] for v in doc["VirtualFunctions"]] == [0, 1]; assert doc["VirtualFunctions"][1]["IommuGroup"] == 41 and doc["VirtualFunctions"][1]["Policy"] == {}'
run 1 show eth7
expect_err_exact "sriovctl: Failed to find physical function eth7: No SR-IOV capable PCI device with address or interface name 'eth7'"

# set-numvfs: flags, the daemon's refusals in its own words
run 0 set-numvfs 01:00.0 4 --runtime
expect_calls "SetNumVFs 0000:01:00.0 4 0x1"
run 1 set-numvfs 0000:02:00.0 0
expect_err_exact "sriovctl: Failed to set NumVFs on 0000:02:00.0: VF 0000:02:10.0 of 0000:02:00.0 is bound to vfio-pci; pass the force flag to remove it anyway"
run 1 set-numvfs 0000:02:00.0 0 --wait 3600
expect_calls "SetNumVFsWithOptions 0000:02:00.0 0 0x4 WaitUSec:t=3600000000"
expect_err_exact "sriovctl: Failed to set NumVFs on 0000:02:00.0: Refusing to change NumVFs of 0000:02:00.0 from 1 to 0: leases were not released within 3600 s: VF 0 (0000:02:10.0) leased by vm1 (lease /io/sriovd/lease/1, owner :1.5, uid 0); use force to override"
run 0 set-numvfs 0000:02:00.0 0 --force
expect_calls "SetNumVFs 0000:02:00.0 0 0x2"
run 1 set-numvfs enp1s0 9
expect_err_exact "sriovctl: Failed to set NumVFs on enp1s0: 0000:01:00.0 supports at most 8 VFs, 9 requested"
run 0 set-numvfs enp1s0 3 --force --runtime
expect_calls "SetNumVFs 0000:01:00.0 3 0x3"
# --wait: SetNumVFsWithOptions with the wait flag and the time in µs; a refusal in the daemon's words
run 0 set-numvfs enp1s0 2 --wait 45 --runtime
expect_calls "SetNumVFsWithOptions 0000:01:00.0 2 0x5 WaitUSec:t=45000000"
run 0 set-numvfs enp1s0 3 --runtime
run 0 show enp1s0
expect_out "VFs: 3 (desired 3, total 8)"

# set-vf: every key with the contract's D-Bus type, short and long names
run 0 set-vf enp1s0 1 mac=02:00:00:00:00:05 vlan=42 qos=3 VLANProtocol=802.1ad trust=yes spoofchk=no state=disable min-rate=10 max-rate=100 driver=vfio-pci --runtime
expect_calls "SetVirtualFunctionPolicy 0000:01:00.0 1 Driver:s=vfio-pci LinkState:s=disable MACAddress:s=02:00:00:00:00:05 MACSpoofCheck:b=0 MaxTxRate:u=100 MinTxRate:u=10 QualityOfService:u=3 Trust:b=1 VLANId:q=42 VLANProtocol:s=802.1ad 0x1"
run 0 set-vf 0000:01:00.0 0 MACAddress=02:00:00:00:00:07
expect_calls "SetVirtualFunctionPolicy 0000:01:00.0 0 MACAddress:s=02:00:00:00:00:07 0x0"
run 1 set-vf enp1s0 7 vlan=1
expect_err_exact "sriovctl: Failed to set the policy of VF 7 on enp1s0: 0000:01:00.0 has no VF 7"

# apply, reload
run 0 apply
expect_calls "Apply"
run 1 reload
expect_calls "Reload"
expect_err_exact "sriovctl: Failed to reload the configuration: /etc/sriovd/pf.d/20-bad.conf:5: Invalid NumVFs=four"

# hotplug, then the daemon goes away
busctl --system call io.sriovd /io/sriovd io.sriovd.Test AddPF ss 0000:03:00.0 enp3s0 || fail "AddPF"
run 0 set-numvfs enp3s0 1
busctl --system call io.sriovd /io/sriovd io.sriovd.Test RemovePF s 0000:03:00.0 || fail "RemovePF"
sleep 0.5
kill "$fake"
wait "$fake" 2>/dev/null
sleep 0.5
run 1 status
grep -q "Failed to list physical functions" "$WORK/err" || fail "status without daemon: $(cat "$WORK/err")"

kill -INT "$mon"
wait "$mon"
rc=$?
[ "$rc" -eq 0 ] || fail "monitor exited $rc on SIGINT"
kill -TERM "$monj"
wait "$monj"
rc=$?
[ "$rc" -eq 0 ] || fail "monitor --json exited $rc on SIGTERM"

echo "--- monitor:"
cat "$WORK/mon.txt" "$WORK/mon.err"
for line in "0000:01:00.0: NumVFs 2 -> 4" "0000:01:00.0: DesiredNumVFs 2 -> 4" "0000:01:00.0: State enforced -> converging" \
            "VF 0000:01:10.2 added" "0000:02:00.0 vf 0 removed" "0000:02:00.0: NumVFs 1 -> 0" \
            "0000:01:00.0: NumVFs 4 -> 3" "0000:01:00.0 vf 3 removed" \
            '0000:02:00.0: LastError "/etc/sriovd/pf.d/20-bad.conf:5: Invalid NumVFs=four" -> ""' \
            "PF 0000:03:00.0 added" "0000:03:00.0: NumVFs 0 -> 1" "0000:03:00.0 vf 0 removed" "PF 0000:03:00.0 removed" \
            "sriovd stopped"; do
        grep -qxF -- "$line" "$WORK/mon.txt" || fail "monitor did not print '$line'"
done
grep -q '^0000:01:00.0 vf 1: Policy - -> MACAddress=02:00:00:00:00:05 VLANId=42 ' "$WORK/mon.txt" ||
        fail "monitor did not print the policy change"
grep -q 'VirtualFunctions' "$WORK/mon.txt" && fail "monitor printed object paths"

/usr/bin/python3 - "$WORK/mon.json" <<'PY' || fail "monitor --json: $(cat "$WORK/mon.json")"
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
def has(**kw):
    return any(all(e.get(k) == v for k, v in kw.items()) for e in events)
assert has(event="changed", name="0000:01:00.0", property="NumVFs", old=2, new=4), "NumVFs"
assert has(event="changed", name="0000:02:00.0", property="DesiredNumVFs", old=-1, new=0), "DesiredNumVFs"
assert has(event="added", interface="io.sriovd1.PhysicalFunction", name="0000:03:00.0"), "PF added"
assert has(event="removed", interface="io.sriovd1.PhysicalFunction", name="0000:03:00.0"), "PF removed"
added = [e for e in events if e["event"] == "added" and e["interface"] == "io.sriovd1.VirtualFunction"]
assert added and added[0]["properties"]["PciAddress"] == "0000:01:10.2", added
assert has(event="daemon-stopped"), "daemon-stopped"
PY

if [ "$failures" -gt 0 ]; then
        echo "$failures check(s) failed" >&2
        exit 1
fi
echo "all sriovctl bus checks passed"
