#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Loads io.sriovd.conf and io.sriovd.service into a private dbus-daemon, then checks that the policy
# lets a caller reach the bus name (activation is attempted and fails with Exec=/bin/false, which
# proves the service file was read). Usage: test-dbus-files.sh SRCDIR DBUS_DAEMON
set -u

SRC=${1:?} DBUS_DAEMON=${2:-}
WORK=$(mktemp -d)
# Other users (the ownership check as nobody) must reach the socket.
chmod 755 "$WORK"
pid=
cleanup() {
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
        rm -rf "$WORK"
}
trap cleanup EXIT

[ -n "$DBUS_DAEMON" ] || { echo "dbus-daemon is not installed (Debian: dbus-daemon)" >&2; exit 1; }

grep -qx 'Name=io.sriovd' "$SRC/io.sriovd.service" || { echo "FAIL: activation file Name=" >&2; exit 1; }
grep -qx 'SystemdService=dbus-io.sriovd.service' "$SRC/io.sriovd.service" || {
        echo "FAIL: activation file SystemdService=" >&2; exit 1; }

mkdir -p "$WORK/system.d" "$WORK/services"
cp "$SRC/io.sriovd.conf" "$WORK/system.d/"
# The service file without SystemdService=: this bus has no systemd to hand activation to.
grep -v '^SystemdService=' "$SRC/io.sriovd.service" | grep -v '^User=' >"$WORK/services/io.sriovd.service"
cat >"$WORK/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$WORK/bus</listen>
  <auth>EXTERNAL</auth>
  <servicedir>$WORK/services</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_destination="org.freedesktop.DBus"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
  </policy>
  <includedir>$WORK/system.d</includedir>
</busconfig>
CONF

"$DBUS_DAEMON" --config-file="$WORK/bus.conf" --nofork --nopidfile 2>"$WORK/daemon.err" &
pid=$!
for _ in $(seq 50); do
        [ -S "$WORK/bus" ] && break
        sleep 0.1
done
[ -S "$WORK/bus" ] || { echo "FAIL: dbus-daemon did not start: $(cat "$WORK/daemon.err")" >&2; exit 1; }
# Raising the fd limit is refused in containers; anything else it says is about our files.
if grep -v 'Failed to set fd limit' "$WORK/daemon.err" | grep -qi -e 'error' -e 'warn' -e 'fail'; then
        echo "FAIL: dbus-daemon complained about the configuration: $(cat "$WORK/daemon.err")" >&2
        exit 1
fi

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/bus"
busctl --system list --activatable --no-pager >"$WORK/list" 2>&1
grep -q '^io\.sriovd ' "$WORK/list" || { echo "FAIL: io.sriovd not activatable: $(cat "$WORK/list")" >&2; exit 1; }

# The default policy above denies every method call; io.sriovd.conf must open the name to anyone. The
# call then starts activation, which fails because Exec=/bin/false: an activation error, not AccessDenied.
# As an unprivileged user, since root is allowed more.
unprivileged() {
        if [ "$(id -u)" -eq 0 ]; then
                setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
        else
                "$@"
        fi
}
out=$(unprivileged busctl --system call io.sriovd /io/sriovd org.freedesktop.DBus.Peer Ping 2>&1)
echo "call: $out"
case $out in
        *"Access denied"*|*AccessDenied*)
                echo "FAIL: the policy does not let callers reach io.sriovd" >&2; exit 1 ;;
esac

# Only root may own the name: if we are not root, taking it must be refused.
if [ "$(id -u)" -ne 0 ]; then
        /usr/bin/python3 - <<'PY' || { echo "FAIL: a non-root user could own io.sriovd" >&2; exit 1; }
import dbus, sys
bus = dbus.SystemBus()
try:
    bus.request_name("io.sriovd")
except dbus.exceptions.DBusException as e:
    sys.exit(0 if "AccessDenied" in e.get_dbus_name() else 1)
sys.exit(1)
PY
else
        echo "running as root: the non-root ownership check runs as nobody"
        setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 - <<'PY' || { echo "FAIL: a non-root user could own io.sriovd" >&2; exit 1; }
import dbus, sys
bus = dbus.SystemBus()
try:
    bus.request_name("io.sriovd")
except dbus.exceptions.DBusException as e:
    sys.exit(0 if "AccessDenied" in e.get_dbus_name() else 1)
sys.exit(1)
PY
        # and root may own it
        /usr/bin/python3 - <<'PY' || { echo "FAIL: root could not own io.sriovd" >&2; exit 1; }
import dbus, sys
bus = dbus.SystemBus()
sys.exit(0 if bus.request_name("io.sriovd") == 1 else 1)
PY
fi
echo "dbus files verified"
