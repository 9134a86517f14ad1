#!/usr/bin/python3
"""busctl does not print the D-Bus error *name* of a failed call; this does.

usage: bus-call.py OBJECT INTERFACE METHOD [SIGNATURE [ARG...]]
Calls io.sriovd on the system bus; prints the reply's values one per line and exits 0, or prints
"ERROR <error name>: <message>" and exits 1. Simple types only (s o u t i q b y n x d).
"""
import sys

import dbus

obj, iface, method = sys.argv[1:4]
sig = sys.argv[4] if len(sys.argv) > 4 else ''
raw = sys.argv[5:]
if len(raw) != len(sig):
    sys.exit('bus-call: one argument per signature character')
conv = {'s': str, 'o': dbus.ObjectPath, 'u': int, 't': int, 'i': int, 'q': int, 'y': int, 'n': int,
        'x': int, 'd': float, 'b': lambda v: v.lower() in ('1', 'true', 'yes')}
args = [conv[c](v) for c, v in zip(sig, raw)]
bus = dbus.SystemBus()
try:
    reply = bus.call_blocking('io.sriovd', obj, iface, method, sig, args, timeout=300)
except dbus.exceptions.DBusException as e:
    print(f'ERROR {e.get_dbus_name()}: {e.get_dbus_message()}')
    sys.exit(1)
if reply is None:
    reply = ()
elif not isinstance(reply, tuple):
    reply = (reply,)
for v in reply:
    print(v)
