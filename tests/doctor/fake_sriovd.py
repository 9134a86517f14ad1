#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Just enough of sriovd on a private bus for doctor's daemon checks and libvirt-xml: the manager's
ListPhysicalFunctions/GetPhysicalFunction and State, PF objects with State/LastError/
VirtualFunctions, VF objects with Index/PciAddress and, unless the scenario says the daemon predates
them, MACAddress/VLANId. The scenario is a JSON file (argv[1]); "READY" on stdout once io.sriovd is
owned."""

import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

PROPS = 'org.freedesktop.DBus.Properties'


def path_encode(prefix, s):
    """sd_bus_path_encode(): everything but [A-Za-z0-9] (and a leading digit) as _XX."""
    return prefix + '/' + ''.join(c if c.isascii() and (c.isalpha() or (c.isdigit() and i > 0))
                                  else '_%02x' % ord(c) for i, c in enumerate(s))


class Obj(dbus.service.Object):
    def __init__(self, bus, path, interface, props):
        super().__init__(bus, path)
        self.interface = interface
        self.props = props

    @dbus.service.method(PROPS, in_signature='ss', out_signature='v')
    def Get(self, interface, name):
        if interface != self.interface or name not in self.props:
            raise dbus.DBusException('Unknown property %s' % name, name='org.freedesktop.DBus.Error.UnknownProperty')
        return self.props[name]

    @dbus.service.method(PROPS, in_signature='s', out_signature='a{sv}')
    def GetAll(self, interface):
        if interface != self.interface:
            raise dbus.DBusException('Unknown interface', name='org.freedesktop.DBus.Error.UnknownInterface')
        return dbus.Dictionary(self.props, signature='sv')


class Manager(Obj):
    def __init__(self, bus, scenario):
        super().__init__(bus, '/io/sriovd', 'io.sriovd1.Manager',
                         {'Version': dbus.String('0.1'), 'State': dbus.String(scenario.get('state', 'running'))})
        self.pfs = []
        for pf in scenario.get('pfs', []):
            path = path_encode('/io/sriovd/pf', pf['address'])
            vf_paths = []
            for vf in pf.get('vfs', []):
                vpath = '%s/vf/%d' % (path, vf['index'])
                props = {'Index': dbus.UInt32(vf['index']), 'PciAddress': dbus.String(vf['address']),
                         'State': dbus.String('ok'), 'LastError': dbus.String('')}
                if not scenario.get('old_daemon'):
                    props['MACAddress'] = dbus.String(vf.get('mac', ''))
                    props['VLANId'] = dbus.UInt16(vf.get('vlan', 0))
                Obj(bus, vpath, 'io.sriovd1.VirtualFunction', props)
                vf_paths.append(dbus.ObjectPath(vpath))
            Obj(bus, path, 'io.sriovd1.PhysicalFunction', {
                'PciAddress': dbus.String(pf['address']),
                'Interface': dbus.String(pf.get('interface', '')),
                'State': dbus.String(pf.get('state', 'enforced')),
                'LastError': dbus.String(pf.get('last_error', '')),
                'VirtualFunctions': dbus.Array(vf_paths, signature='o'),
            })
            self.pfs.append((pf, path))

    @dbus.service.method('io.sriovd1.Manager', in_signature='', out_signature='ao')
    def ListPhysicalFunctions(self):
        return dbus.Array([dbus.ObjectPath(p) for _, p in self.pfs], signature='o')

    @dbus.service.method('io.sriovd1.Manager', in_signature='s', out_signature='o')
    def GetPhysicalFunction(self, device):
        for pf, path in self.pfs:
            if device in (pf['address'], pf['address'][5:], pf.get('interface')):
                return dbus.ObjectPath(path)
        raise dbus.DBusException('No physical function "%s".' % device, name='io.sriovd1.Error.NoSuchDevice')


def main():
    with open(sys.argv[1]) as f:
        scenario = json.load(f)
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    Manager(bus, scenario)
    name = dbus.service.BusName('io.sriovd', bus)  # noqa: F841 (kept while serving)
    print('READY', flush=True)
    GLib.MainLoop().run()


if __name__ == '__main__':
    main()
