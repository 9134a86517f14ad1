#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The D-Bus contract snapshot in dbus/io.sriovd1.xml must be what the running sriovd serves: its
io.sriovd1.* interfaces are introspected from the manager, a PF, a VF and a lease object on a mock
testbed and compared member by member. `--update` rewrites the snapshot from the daemon."""

import os
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SNAPSHOT = os.path.join(HERE, '..', '..', 'dbus', 'io.sriovd1.xml')
sys.path.insert(0, os.path.join(HERE, '..', 'mock'))
import harness  # noqa: E402

harness.ensure_preload()

import tempfile  # noqa: E402
import unittest  # noqa: E402

PF = '0000:01:00.0'


def interfaces(xml_text):
    """{interface name: canonical XML} for the io.sriovd1.* interfaces of an introspection reply."""
    out = {}
    for iface in ET.fromstring(xml_text).findall('interface'):
        name = iface.get('name')
        if not name.startswith('io.sriovd1.'):
            continue
        for el in iface.iter():
            el.tail = None
            el.text = None
        out[name] = ET.tostring(iface, encoding='unicode')
    return out


def serve_and_introspect():
    k = harness.FakeKernel().start()
    bus = harness.Bus()
    work = tempfile.mkdtemp(prefix='sriovd-introspect.')
    d = None
    try:
        k.add_pf(PF, total=4, numvfs=2, uevent=False)
        d = harness.Daemon(k, bus, work)
        d.wait_ready()
        pf = bus.call('/io/sriovd', 'io.sriovd1.Manager', 'GetPhysicalFunction', 's', PF)[0]
        vfs = bus.get(pf, 'io.sriovd1.PhysicalFunction', 'VirtualFunctions')
        lease = bus.call('/io/sriovd', 'io.sriovd1.Manager', 'RequestVirtualFunction', 'sa{sv}', PF, 1,
                         'Persistent', 'b', 'true')[0]
        found = {}
        for path in ('/io/sriovd', pf, vfs[0], lease):
            r = bus.busctl('introspect', '--xml-interface', 'io.sriovd', path)
            found.update(interfaces(r.stdout))
        return found
    finally:
        if d:
            d.stop()
        bus.stop()
        k.stop()


def snapshot_text(found):
    root = ET.Element('node')
    for name in sorted(found):
        root.append(ET.fromstring(found[name]))
    ET.indent(root, space='  ')
    return ('<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
            '<!-- The io.sriovd1 interfaces as the daemon serves them; tests/dbus checks this. -->\n'
            + ET.tostring(root, encoding='unicode') + '\n')


class IntrospectionTest(unittest.TestCase):
    def test_snapshot_matches_daemon(self):
        with open(SNAPSHOT) as f:
            want = interfaces(f.read())
        got = serve_and_introspect()
        self.assertEqual(sorted(want), sorted(got), 'interfaces differ')
        for name in want:
            self.assertEqual(want[name], got[name], 'interface %s differs from dbus/io.sriovd1.xml; '
                             'run tests/dbus/test_introspection.py --update if the change is meant' % name)


if __name__ == '__main__':
    if '--update' in sys.argv:
        with open(SNAPSHOT, 'w') as f:
            f.write(snapshot_text(serve_and_introspect()))
        print('wrote', os.path.normpath(SNAPSHOT))
        sys.exit(0)
    unittest.main(verbosity=2)
