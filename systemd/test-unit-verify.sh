#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs systemd-analyze verify on sriovd.service with ExecStart=/ExecReload= substituted to this build's
# binaries. Usage: test-unit-verify.sh UNIT.IN SYSTEMD_ANALYZE SRIOVCTL SRIOVD
set -u

IN=${1:?} ANALYZE=${2:-} SRIOVCTL=${3:?} SRIOVD=${4:?}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ -z "$ANALYZE" ]; then
        echo "systemd-analyze is not installed (Debian: systemd)" >&2
        exit 1
fi

mkdir -p "$WORK/bin" "$WORK/units"
# The daemon is built by the same meson run; fall back to /bin/true only if it is not there yet, so
# the test still checks the unit's own syntax.
if [ -x "$SRIOVD" ]; then
        ln -s "$(realpath "$SRIOVD")" "$WORK/bin/sriovd"
else
        echo "note: $SRIOVD not built, verifying with /bin/true as ExecStart" >&2
        ln -s /bin/true "$WORK/bin/sriovd"
fi
ln -s "$(realpath "$SRIOVCTL")" "$WORK/bin/sriovctl"
sed -e "s|@sbindir@|$WORK/bin|g" -e "s|@bindir@|$WORK/bin|g" "$IN" >"$WORK/units/sriovd.service"

if grep -q '@[a-z]*@' "$WORK/units/sriovd.service"; then
        echo "FAIL: unsubstituted variables left in the unit" >&2
        exit 1
fi

# --man=no: the man pages are not installed in the build tree.
"$ANALYZE" verify --man=no "$WORK/units/sriovd.service" >"$WORK/out" 2>&1
rc=$?
cat "$WORK/out"
if [ $rc -ne 0 ]; then
        echo "FAIL: systemd-analyze verify exited $rc" >&2
        exit 1
fi
# verify exits 0 on some problems but still prints them; only messages about other units are fine.
if grep -v -e '^$' "$WORK/out" | grep -q 'sriovd.service'; then
        echo "FAIL: systemd-analyze verify complained about sriovd.service" >&2
        exit 1
fi

# What the issue requires of the unit, so that a later edit cannot drop it silently.
for line in 'Type=notify' 'BusName=io.sriovd' 'Before=network-pre.target' 'Wants=network-pre.target' \
            'DefaultDependencies=no' 'Restart=on-failure' 'ProtectSystem=strict' 'Alias=dbus-io.sriovd.service' \
            'StateDirectory=sriovd' 'RuntimeDirectoryPreserve=yes' 'WantedBy=multi-user.target'; do
        grep -qx "$line" "$WORK/units/sriovd.service" || { echo "FAIL: unit lacks $line" >&2; exit 1; }
done
grep -q '^WatchdogSec=' "$WORK/units/sriovd.service" || { echo "FAIL: no WatchdogSec=" >&2; exit 1; }
grep -q '^TimeoutStartSec=' "$WORK/units/sriovd.service" || { echo "FAIL: no TimeoutStartSec=" >&2; exit 1; }

# The hardening (docs/hardening.md): each line proven in the systemd guest boot (tests/vm 90-systemd-boot).
for line in 'ProtectKernelTunables=yes' 'ReadWritePaths=/sys/bus/pci/drivers_probe /sys/bus/pci/drivers /sys/devices' \
            'ProtectProc=invisible' 'ProcSubset=pid' 'PrivateIPC=yes' 'PrivateMounts=yes' 'PrivateDevices=yes' \
            'DevicePolicy=closed' 'UMask=0077' 'RestrictAddressFamilies=AF_UNIX AF_NETLINK' 'IPAddressDeny=any' \
            'CapabilityBoundingSet=CAP_NET_ADMIN' 'SystemCallFilter=@system-service' \
            'SystemCallFilter=~@privileged @resources' 'SystemCallArchitectures=native' 'NoNewPrivileges=yes' \
            'MemoryDenyWriteExecute=yes' 'RestrictNamespaces=yes'; do
        grep -qx "$line" "$WORK/units/sriovd.service" || { echo "FAIL: unit lacks $line" >&2; exit 1; }
done

# The exposure score: at most 1.5. --threshold= takes the score times ten (v252: an integer 0..100),
# and the command fails when the unit's exposure is above it.
"$ANALYZE" security --offline=yes --threshold=15 "$WORK/units/sriovd.service" >"$WORK/security" 2>&1
rc=$?
grep -F 'Overall exposure level' "$WORK/security"
if [ $rc -ne 0 ]; then
        grep -F '✗' "$WORK/security" >&2
        echo "FAIL: systemd-analyze security scores sriovd.service above 1.5 (exit $rc)" >&2
        exit 1
fi
echo "sriovd.service verified"
