#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every method and property of sriovd's bus API, called with what it must refuse: wrong types, empty
and 1 MiB strings, out-of-range numbers, unknown and mistyped a{sv} keys, unknown flags, objects that
do not exist; as root and as an unprivileged user. Each call gets an error of the contract (or the
D-Bus error for a malformed call), sriovd stays up, and nothing changes: kernel counts, VF drivers,
state files and leases are the same before and after."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import hashlib  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import unittest  # noqa: E402
import xml.etree.ElementTree as ET  # noqa: E402

from harness import wait_for, write_pf_conf  # noqa: E402
from test_leases import LEASE_IF, MGR, MGR_IF, NOBODY, PF1, PF2, PF_IF, PYTHON, VF_IF, LeaseTestCase  # noqa: E402

# The caller, as its own process (so that it can run as another user): reads the introspection of
# the objects it is given, builds the calls below from each method's signature, makes them and
# prints [description, error name or "OK"] for each, as JSON.
CALLER = r'''
import dbus, json, sys
import xml.etree.ElementTree as ET

address, paths = sys.argv[1], json.loads(sys.argv[2])
bus = dbus.bus.BusConnection(address)
MiB = 'x' * (1 << 20)
BAD_DICTS = [
    {'Bogus': dbus.Int32(1)},
    {'VLANId': dbus.String('x')},
    {'VLANId': dbus.UInt16(5000)},
    {'QualityOfService': dbus.UInt32(8)},
    {'MACAddress': dbus.String(MiB)},
    {'MACAddress': dbus.String('01:00:00:00:00:00')},
    {'Driver': dbus.String('../../etc/passwd')},
    {'LinkState': dbus.String('bogus')},
    {'Consumer': dbus.Int32(1)},
    {'Consumer': dbus.String(MiB)},
    {'Consumer': dbus.String('vm\n[Lease]')},
    {'Persistent': dbus.String('yes')},
    {'': dbus.String('')},
]
BAD = {
    's': ['', MiB, 'vm\x01', '../../sys', '0000:ff:1f.7'],
    'u': [dbus.UInt32(0xffffffff), dbus.UInt32(4096)],
    'q': [dbus.UInt16(0xffff)],
    't': [dbus.UInt64(0xffffffffffffffff), dbus.UInt64(0x8)],  # 0x8: the first flag no method knows
    'a{sv}': BAD_DICTS,
}
# A value of each type that is fine on its own, for the arguments not under test. Not sent alone: each
# call has exactly one argument from BAD.
GOOD = {'s': '', 'u': dbus.UInt32(0), 'q': dbus.UInt16(0), 't': dbus.UInt64(0),
        'a{sv}': dbus.Dictionary({}, signature='sv')}
WRONG = {'s': dbus.UInt32(1), 'u': dbus.String('1'), 'q': dbus.String('1'), 't': dbus.String('1'),
         'a{sv}': dbus.String('{}')}

def call(path, iface, method, sig, args):
    try:
        bus.call_blocking('io.sriovd', path, iface, method, sig, args, timeout=60)
        return 'OK'
    except dbus.DBusException as e:
        return e.get_dbus_name()

out = []
for path in paths:
    xml = bus.call_blocking('io.sriovd', path, 'org.freedesktop.DBus.Introspectable', 'Introspect', '', [])
    for iface in ET.fromstring(xml).iter('interface'):
        name = iface.get('name')
        if not name.startswith('io.sriovd1.'):
            continue
        for m in iface.iter('method'):
            sigs = [a.get('type') for a in m.iter('arg') if a.get('direction', 'in') == 'in']
            where = '%s %s.%s' % (path, name, m.get('name'))
            if not sigs:
                out.append([where + ' with an argument', call(path, name, m.get('name'), 's', ['x'])])
                continue
            out.append([where + ' without arguments', call(path, name, m.get('name'), '', [])])
            for i, t in enumerate(sigs):
                args = [GOOD[s] for s in sigs]
                args[i] = WRONG[t]
                wsig = ''.join(sigs[:i]) + {'s': 'u', 'u': 's', 'q': 's', 't': 's', 'a{sv}': 's'}[t] + ''.join(sigs[i + 1:])
                out.append(['%s arg %d mistyped' % (where, i), call(path, name, m.get('name'), wsig, args)])
                for n, bad in enumerate(BAD[t]):
                    if m.get('name') == 'RequestVirtualFunction' and bad == '':
                        continue  # "any PF" is a fine selector
                    args = [GOOD[s] for s in sigs]
                    args[i] = bad
                    out.append(['%s arg %d bad value %d' % (where, i, n), call(path, name, m.get('name'), ''.join(sigs), args)])
        for p in iface.iter('property'):
            out.append(['%s %s.%s set' % (path, name, p.get('name')),
                        call(path, 'org.freedesktop.DBus.Properties', 'Set', 'ssv', [name, p.get('name'), dbus.String('x')])])
print(json.dumps(out))
'''

CONTRACT = {
    'io.sriovd1.Error.NoSuchDevice', 'io.sriovd1.Error.InvalidArgument', 'io.sriovd1.Error.OutOfRange',
    'io.sriovd1.Error.NotSupported', 'io.sriovd1.Error.Busy', 'io.sriovd1.Error.NoFreeFunction',
    'io.sriovd1.Error.ConfigInvalid', 'org.freedesktop.DBus.Error.AccessDenied',
    # what sd-bus answers a malformed call with
    'org.freedesktop.DBus.Error.InvalidArgs', 'org.freedesktop.DBus.Error.UnknownMethod',
    'org.freedesktop.DBus.Error.UnknownObject', 'org.freedesktop.DBus.Error.UnknownInterface',
    'org.freedesktop.DBus.Error.PropertyReadOnly', 'org.freedesktop.DBus.Error.UnknownProperty',
}


class TestBusRobustness(LeaseTestCase):
    def snapshot(self, d):
        files = {}
        for root, _, names in os.walk(d.state_dir):
            for n in names:
                with open(os.path.join(root, n), 'rb') as f:
                    files[os.path.relpath(os.path.join(root, n), d.state_dir)] = hashlib.sha256(f.read()).hexdigest()
        return {
            'numvfs': {a: self.k.numvfs(a) for a in self.k.pfs},
            'vfs': {a: (v.driver, v.override) for a, v in self.k.vfs.items()},
            'files': files,
            'leases': sorted(self.leases()),
            'writes': len(self.k.writes(attr=None)),
        }

    def run_caller(self, paths, user=None):
        cmd = [PYTHON, '-c', CALLER, self.bus.address, json.dumps(paths)]
        if user is not None:
            cmd = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups'] + cmd
        r = subprocess.run(cmd, env=self.bus.env(), capture_output=True, text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_every_method_refuses_bad_input(self):
        d = self.setup_pf(2)
        lease, vf = self.request(PF1, Consumer='kept', persistent=True)
        pf = self.pf_path(PF1)
        missing = [pf + '9', pf + '/vf/99', '/io/sriovd/lease/0123456789abcdef0123456789abcdef', '/io/sriovd/pf']
        before = self.snapshot(d)
        users = [None] + ([NOBODY] if os.geteuid() == 0 else [])
        for user in users:
            results = self.run_caller([MGR, pf, vf, lease], user)
            self.assertGreater(len(results), 100, 'the calls were made')
            for what, error in results:
                self.assertIn(error, CONTRACT, '%s (as %s): %s' % (what, user or 'root', error))
            for path in missing:
                for iface, method, sig, args in ((PF_IF, 'SetNumVFs', 'ut', [1, 0]), (VF_IF, 'SetPolicy', 'a{sv}t', [{}, 0]),
                                                 (LEASE_IF, 'Release', '', [])):
                    name, _ = self.call_error(path, iface, method, sig, *args, user=user)
                    self.assertIn(name, CONTRACT, '%s.%s on %s' % (iface, method, path))
            self.assertTrue(d.alive(), 'sriovd died')
            self.assertEqual(self.snapshot(d), before, 'state changed (as %s)' % (user or 'root'))
        self.assertEqual(self.bus.get(pf, PF_IF, 'State'), 'enforced')


class TestManagedObjects(LeaseTestCase):
    """sriovd answers GetManagedObjects itself (daemon/bus-objects.c), not through sd-bus' generic
    object manager: the reply must hold what sd-bus' own GetAll and Introspect say of each object."""

    def objects(self):
        """Every object sriovd serves, as the manager's methods and properties list them."""
        paths = list(self.leases())
        for pf in self.bus.call(MGR, MGR_IF, 'ListPhysicalFunctions')[0]:
            paths += [pf] + self.bus.get(pf, PF_IF, 'VirtualFunctions')
        return paths

    def check_managed_objects(self):
        r = self.bus.busctl('--json=short', 'call', 'io.sriovd', MGR, 'org.freedesktop.DBus.ObjectManager',
                            'GetManagedObjects')
        reply = json.loads(r.stdout)
        self.assertEqual(reply['type'], 'a{oa{sa{sv}}}')
        gmo = reply['data'][0]
        paths = self.objects()
        # a path twice in the reply would be one key of the JSON object: count the entries too
        plain = self.bus.busctl('call', 'io.sriovd', MGR, 'org.freedesktop.DBus.ObjectManager',
                                'GetManagedObjects').stdout.split()
        self.assertEqual(plain[:2], ['a{oa{sa{sv}}}', str(len(paths))])
        self.assertEqual(sorted(gmo), sorted(paths))
        for path in paths:
            xml = self.bus.call(path, 'org.freedesktop.DBus.Introspectable', 'Introspect')[0]
            interfaces = [i.get('name') for i in ET.fromstring(xml).findall('interface')]
            self.assertEqual(list(gmo[path]), interfaces, path)
            for iface in interfaces:
                if iface.startswith('org.freedesktop.DBus.'):
                    self.assertEqual(gmo[path][iface], {}, '%s %s' % (path, iface))
                    continue
                r = self.bus.busctl('--json=short', 'call', 'io.sriovd', path, 'org.freedesktop.DBus.Properties',
                                    'GetAll', 's', iface)
                get_all = json.loads(r.stdout)['data'][0]
                # names, order, D-Bus types and values
                self.assertEqual(list(gmo[path][iface].items()), list(get_all.items()), '%s %s' % (path, iface))
        return gmo

    def test_managed_objects_as_get_all(self):
        # PF2's link settings fail (the fake kernel has no rtnetlink): a policy, a failed state and
        # errors in the reply as well
        self.k.add_pf(PF2, total=4, uevent=False)
        write_pf_conf(self.etc, '20-pf2.conf', {'PciAddress': PF2}, 2,
                      '\n[VirtualFunction]\nVirtualFunction=0-1\nMACAddress=02:00:00:00:00:20\nVLANId=7\n'
                      'Trust=yes\nLinkState=enable\nMaxTxRate=100\n')
        self.setup_pf(3)
        pf2 = self.pf_path(PF2)
        wait_for(lambda: self.bus.get(pf2, PF_IF, 'State') == 'failed', what='%s failed' % PF2)
        lease, vf = self.request(PF1, Consumer='vm1', persistent=True)
        gmo = self.check_managed_objects()
        self.assertEqual(len(gmo), 1 + 2 + 3 + 2, 'a lease, two PFs, five VFs')
        self.assertEqual(gmo[vf][VF_IF]['Lease'], {'type': 'o', 'data': lease})
        self.assertEqual(gmo[lease][LEASE_IF]['VirtualFunction'], {'type': 'o', 'data': vf})
        self.assertEqual(gmo[lease][LEASE_IF]['Consumer'], {'type': 's', 'data': 'vm1'})
        vf2 = self.vf_paths(PF2)[1]
        self.assertEqual(gmo[vf2][VF_IF]['Policy'], {'type': 'a{sv}', 'data': {
            'MACAddress': {'type': 's', 'data': '02:00:00:00:00:20'}, 'VLANId': {'type': 'q', 'data': 7},
            'Trust': {'type': 'b', 'data': True}, 'LinkState': {'type': 's', 'data': 'enable'},
            'MaxTxRate': {'type': 'u', 'data': 100}}})
        self.assertEqual(gmo[vf2][VF_IF]['State'], {'type': 's', 'data': 'failed'})
        self.assertIn('no network interface', gmo[vf2][VF_IF]['LastError']['data'])
        self.assertEqual(gmo[pf2][PF_IF]['VirtualFunctions'], {'type': 'ao', 'data': self.vf_paths(PF2)})

        # a change is in the next reply
        self.bus.call(lease, LEASE_IF, 'Release')
        pf1 = self.pf_path(PF1)
        self.bus.call(pf1, PF_IF, 'SetNumVFs', 'ut', 2, 1)
        gmo = self.check_managed_objects()
        self.assertEqual(len(gmo), 2 + 2 + 2, 'two PFs, four VFs')
        self.assertEqual(gmo[pf1][PF_IF]['NumVFs'], {'type': 'u', 'data': 2})
        self.assertEqual(gmo[vf][VF_IF]['Lease'], {'type': 'o', 'data': '/'})

        name, _ = self.call_error(MGR, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects', 's', 'x')
        self.assertEqual(name, 'org.freedesktop.DBus.Error.InvalidArgs')
        name, _ = self.call_error(pf1, 'org.freedesktop.DBus.ObjectManager', 'GetManagedObjects')
        self.assertIn(name, CONTRACT)

class TestNamesNotUtf8(LeaseTestCase):
    def test_netdev_name_not_utf8(self):
        """A network interface may be named with any bytes but '/', ':' and blanks; D-Bus takes only
        UTF-8. A PF whose netdev name is not UTF-8: its Interface shows the stray byte as \\xNN,
        GetManagedObjects and sriovctl status still work (for every PF), and a call whose refusal
        names the interface gets that refusal, not a lost reply."""
        self.k.add_pf(PF2, total=4, uevent=False)
        d = self.setup_pf(2, addr=PF1, ifname='en\udcffx')
        self.assertEqual(self.bus.get(self.pf_path(PF1), PF_IF, 'Interface'), 'en\\xffx')
        r = self.bus.busctl('--json=short', 'call', 'io.sriovd', MGR, 'org.freedesktop.DBus.ObjectManager',
                            'GetManagedObjects', check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        objects = json.loads(r.stdout)['data'][0]
        self.assertEqual(objects[self.pf_path(PF1)][PF_IF]['Interface']['data'], 'en\\xffx')
        self.assertIn(self.pf_path(PF2), objects)
        r = harness.sriovctl(self.bus, 'status')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(PF1, r.stdout)
        self.assertIn(PF2, r.stdout)
        # the mock kernel has no such netdev to take VF settings: the refusal names it
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetVirtualFunctionPolicy', 'ua{sv}t', 0,
                                    {'Trust': True}, 1)
        self.assertTrue(name.startswith('io.sriovd1.Error.'), (name, msg))
        self.assertIn('en\\xffx', msg)
        self.assertTrue(d.alive())


if __name__ == '__main__':
    unittest.main(verbosity=2)
