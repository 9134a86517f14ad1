#!/usr/bin/python3
"""A lease holder for the VM scenarios: a separate bus peer that asks sriovd for a VF and keeps its
connection (and so the lease) until told otherwise.

usage: lease-client.py SELECTOR [KEY=VALUE...]
Options are VF policy keys (MACAddress, VLANId, ...) or Consumer/Persistent, typed as the contract says.
Prints "calling" as it sends the request, "lease PATH" and "vf PATH" once the lease is granted (or
"ERROR name: message" and exits 1), then reads commands from stdin, one a line:
  release   Lease.Release(); prints "releasing" as it calls, then "released" or "ERROR name: message"
  exit      or end of input: leaves the bus without releasing (sriovd ends the lease by itself)
"""
import sys

import dbus

TYPES = {'MACAddress': dbus.String, 'VLANId': dbus.UInt16, 'QualityOfService': dbus.UInt32,
         'VLANProtocol': dbus.String, 'MACSpoofCheck': dbus.Boolean, 'Trust': dbus.Boolean,
         'LinkState': dbus.String, 'QueryReceiveSideScaling': dbus.Boolean, 'MinTxRate': dbus.UInt32,
         'MaxTxRate': dbus.UInt32, 'Driver': dbus.String, 'MTU': dbus.UInt32, 'NodeGUID': dbus.String,
         'PortGUID': dbus.String, 'Consumer': dbus.String, 'Persistent': dbus.Boolean}


def value(key, text):
    t = TYPES[key]
    if t is dbus.Boolean:
        return t(text.lower() in ('1', 'yes', 'true'))
    if t in (dbus.UInt16, dbus.UInt32):
        return t(int(text))
    return t(text)


def say(*words):
    print(*words, flush=True)


selector = sys.argv[1]
options = dbus.Dictionary({k: value(k, v) for k, v in (a.split('=', 1) for a in sys.argv[2:])}, signature='sv')
bus = dbus.SystemBus()
say('calling')
try:
    lease, vf = bus.call_blocking('io.sriovd', '/io/sriovd', 'io.sriovd1.Manager', 'RequestVirtualFunction',
                                  'sa{sv}', [selector, options], timeout=120)
except dbus.exceptions.DBusException as e:
    say(f'ERROR {e.get_dbus_name()}: {e.get_dbus_message()}')
    sys.exit(1)
say('lease', lease)
say('vf', vf)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == 'release':
        say('releasing')
        try:
            bus.call_blocking('io.sriovd', lease, 'io.sriovd1.Lease', 'Release', '', [], timeout=120)
            say('released')
        except dbus.exceptions.DBusException as e:
            say(f'ERROR {e.get_dbus_name()}: {e.get_dbus_message()}')
    elif cmd == 'exit':
        break
