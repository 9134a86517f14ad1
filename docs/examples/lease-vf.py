#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Lease an SR-IOV virtual function from sriovd over D-Bus, use it, and give it back.

This is what a VM manager or another daemon does instead of keeping its own pool of VFs:

  1. subscribe to the signals that tell it the VF is lost (before asking, so nothing is missed),
  2. Manager.RequestVirtualFunction(selector, options) -> (lease, vf),
  3. read the VF's PciAddress (and hand it to the guest, e.g. as libvirt <hostdev>),
  4. run until told to stop, reacting if the lease ends or the VF disappears meanwhile, or giving
     the VF back when an admin asks for it (ReleaseRequested: a change of the PF's VF count waits),
  5. Lease.Release(), which puts the VF back as it was before the lease.

A non-persistent lease belongs to this program's bus connection: if the program dies, sriovd
restores the VF by itself. Run as root, or as a user that a polkit rule grants io.sriovd.lease
(see docs/vm-managers.md).

Needs python3-dbus and python3-gi (Debian packages). Examples:
  lease-vf.py --consumer vm1 --mac 02:00:00:00:00:01 --vlan 42
  lease-vf.py --pf enp1s0f0 --driver '' --hold 60

Prints "lease PATH", "vf PATH" and "address PCI-ADDRESS", "release requested by DEADLINE" when asked
to, then "released" at the end. Exit status:
0 released, 1 the request or the release failed, 3 the VF was lost while it was held.
"""

import argparse
import signal
import sys

import dbus
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

BUS_NAME = 'io.sriovd'
MANAGER_PATH = '/io/sriovd'
MANAGER_IFACE = 'io.sriovd1.Manager'
VF_IFACE = 'io.sriovd1.VirtualFunction'
LEASE_IFACE = 'io.sriovd1.Lease'
OBJECT_MANAGER_IFACE = 'org.freedesktop.DBus.ObjectManager'
PROPERTIES_IFACE = 'org.freedesktop.DBus.Properties'

# Applying options may rebind the VF's driver, which takes a while on real hardware.
CALL_TIMEOUT = 600


def parse_args():
    p = argparse.ArgumentParser(description='Lease an SR-IOV VF from sriovd, hold it, release it.')
    p.add_argument('--pf', default='', help="the PF (PCI address or interface name); default: any PF")
    p.add_argument('--consumer', default='lease-vf.py', help='who uses the VF, shown by "sriovctl leases"')
    p.add_argument('--mac', help='MACAddress for the lease')
    p.add_argument('--vlan', type=int, help='VLANId for the lease (0-4095)')
    p.add_argument('--driver', default='vfio-pci',
                   help="Driver for the lease (default vfio-pci, for passthrough); '' leaves it")
    p.add_argument('--persistent', action='store_true',
                   help='keep the lease when this program exits (this program still releases it)')
    p.add_argument('--hold', type=float, help='seconds to hold the VF; default: until SIGINT/SIGTERM')
    return p.parse_args()


def lease_options(args):
    """The a{sv} options: Consumer and Persistent, plus any VF policy key with its D-Bus type."""
    options = {
        'Consumer': dbus.String(args.consumer),
        'Persistent': dbus.Boolean(args.persistent),
    }
    if args.mac:
        options['MACAddress'] = dbus.String(args.mac)
    if args.vlan is not None:
        options['VLANId'] = dbus.UInt16(args.vlan)
    if args.driver:
        options['Driver'] = dbus.String(args.driver)
    return dbus.Dictionary(options, signature='sv')


def main():
    args = parse_args()
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    loop = GLib.MainLoop()
    held = {'lease': None, 'vf': None, 'lost': None}

    def lost(why):
        if held['lost'] is None:
            held['lost'] = why
        loop.quit()

    # Subscribed before the request: a loss right after the reply is queued, not missed.
    def on_interfaces_removed(path, interfaces):
        if path == held['lease'] and LEASE_IFACE in interfaces:
            lost('the lease ended (released by someone else)')
        elif path == held['vf'] and VF_IFACE in interfaces:
            lost('the VF was removed (its PF was unplugged or its VF count lowered by force)')

    def on_properties_changed(interface, changed, invalidated, path=None):
        if path != held['vf'] or interface != VF_IFACE:
            return
        for name, value in sorted(changed.items()):
            print('vf changed: %s = %s' % (name, value), flush=True)
        if 'Lease' in changed and held['lease'] and str(changed['Lease']) != held['lease']:
            lost('the VF is no longer held by this lease')

    # An admin changes the PF's VF count and asks the holders first: stop using the VF (detach it from
    # the guest) and release it before the deadline (µs since the epoch), or the change fails.
    def on_release_requested(deadline, path=None):
        if path == held['lease']:
            print('release requested by %d' % deadline, flush=True)
            loop.quit()

    def on_name_owner_changed(name, old_owner, new_owner):
        if not new_owner:
            lost('sriovd left the bus')

    bus.add_signal_receiver(on_interfaces_removed, 'InterfacesRemoved', OBJECT_MANAGER_IFACE,
                            BUS_NAME, MANAGER_PATH)
    bus.add_signal_receiver(on_properties_changed, 'PropertiesChanged', PROPERTIES_IFACE, BUS_NAME,
                            path_keyword='path')
    bus.add_signal_receiver(on_release_requested, 'ReleaseRequested', LEASE_IFACE, BUS_NAME,
                            path_keyword='path')
    bus.add_signal_receiver(on_name_owner_changed, 'NameOwnerChanged', 'org.freedesktop.DBus',
                            'org.freedesktop.DBus', '/org/freedesktop/DBus', arg0=BUS_NAME)

    manager = dbus.Interface(bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)
    try:
        lease_path, vf_path = manager.RequestVirtualFunction(args.pf, lease_options(args),
                                                             timeout=CALL_TIMEOUT)
    except dbus.DBusException as e:
        # io.sriovd1.Error.NoFreeFunction: every VF is leased; NoSuchDevice: no such PF;
        # InvalidArgument: an option (named in the message); AccessDenied: polkit said no.
        print('Failed to lease a VF: %s (%s)' % (e.get_dbus_message(), e.get_dbus_name()), file=sys.stderr)
        return 1
    held['lease'], held['vf'] = str(lease_path), str(vf_path)

    vf = bus.get_object(BUS_NAME, vf_path)
    props = vf.GetAll(VF_IFACE, dbus_interface=PROPERTIES_IFACE)
    print('lease %s' % lease_path)
    print('vf %s' % vf_path)
    print('address %s' % props['PciAddress'])
    print('driver %s' % props['Driver'], flush=True)

    # ... here the VM manager hands props['PciAddress'] to the guest ...

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    if args.hold is not None:
        GLib.timeout_add(int(args.hold * 1000), loop.quit)
    loop.run()

    if held['lost']:
        print('lost: %s' % held['lost'], file=sys.stderr, flush=True)

    # Also after a loss: a lease whose VF was unplugged stays until released, and Release() of a
    # lease that is already gone says UnknownObject, which is fine here.
    lease = dbus.Interface(bus.get_object(BUS_NAME, lease_path, introspect=False), LEASE_IFACE)
    try:
        lease.Release(timeout=CALL_TIMEOUT)
    except dbus.DBusException as e:
        if e.get_dbus_name() not in ('org.freedesktop.DBus.Error.UnknownObject',
                                     'org.freedesktop.DBus.Error.UnknownMethod'):
            print('Failed to release %s: %s (%s)' % (lease_path, e.get_dbus_message(), e.get_dbus_name()),
                  file=sys.stderr)
            return 1
    print('released', flush=True)
    return 3 if held['lost'] else 0


if __name__ == '__main__':
    sys.exit(main())
