#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`sriovctl libvirt-xml` and `sriovctl doctor` against the real sriovd on a mock testbed (umockdev
plus the fake kernel of tests/mock): the element names the VF's PCI address as the daemon reports
it and passes libvirt's schema; doctor finds the daemon running and reads the testbed's PFs."""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'mock'))
import harness  # noqa: E402

harness.ensure_preload()

import unittest  # noqa: E402

PF = '0000:01:00.0'


class MockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kernel = harness.FakeKernel().start()
        cls.bus = harness.Bus()
        cls.work = tempfile.mkdtemp(prefix='sriov-doctor-mock.')
        cls.daemon = None
        try:
            cls.kernel.add_pf(PF, total=7, numvfs=3, uevent=False)
            cls.daemon = harness.Daemon(cls.kernel, cls.bus, cls.work)
            cls.daemon.wait_ready()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.daemon:
            cls.daemon.stop()
        cls.bus.stop()
        cls.kernel.stop()

    def ctl(self, *args):
        return harness.sriovctl(self.bus, *args)

    def test_libvirt_xml(self):
        pf = self.bus.call('/io/sriovd', 'io.sriovd1.Manager', 'GetPhysicalFunction', 's', PF)[0]
        vfs = self.bus.get(pf, 'io.sriovd1.PhysicalFunction', 'VirtualFunctions')
        want = {self.bus.get(v, 'io.sriovd1.VirtualFunction', 'Index'):
                self.bus.get(v, 'io.sriovd1.VirtualFunction', 'PciAddress') for v in vfs}
        self.assertEqual(want, {0: '0000:01:10.0', 1: '0000:01:10.2', 2: '0000:01:10.4'})

        for index, address in want.items():
            r = self.ctl('libvirt-xml', PF, index)
            self.assertEqual(r.returncode, 0, r.stderr)
            _, bus, devfn = address.split(':')
            slot, function = devfn.split('.')
            self.assertIn("<address type='pci' domain='0x0000' bus='0x%s' slot='0x%s' function='0x%s'/>"
                          % (bus, slot, function), r.stdout)
            self.assertTrue(r.stdout.startswith("<interface type='hostdev' managed='yes'>\n"), r.stdout)
            path = os.path.join(self.work, 'domain.xml')
            with open(path, 'w') as f:
                f.write("<domain type='kvm'><name>t</name><memory>1024</memory><os><type>hvm</type></os>"
                        "<devices>\n%s</devices></domain>\n" % r.stdout)
            v = subprocess.run(['virt-xml-validate', path, 'domain'], capture_output=True, text=True)
            self.assertEqual(v.returncode, 0, r.stdout + v.stdout + v.stderr)

        r = self.ctl('libvirt-xml', 'enp1s0', 7)
        self.assertEqual(r.returncode, 1)
        self.assertIn('has no virtual function 7', r.stderr)

    def test_doctor_with_daemon(self):
        r = self.ctl('--root', self.kernel.root, '--json', 'doctor')
        res = json.loads(r.stdout)
        daemon = [x for x in res if x['check'] == 'sriovd']
        self.assertEqual(len(daemon), 1, res)
        self.assertEqual(daemon[0]['status'], 'ok', daemon)
        self.assertIn('sriovd is running', daemon[0]['summary'])
        # the testbed's PF, as doctor reads it from the testbed's /sys
        sriov = [x for x in res if x['check'] == 'sriov-capable' and x['device'] == PF]
        self.assertEqual([x['status'] for x in sriov], ['ok'], res)
        self.assertIn('up to 7 VFs, 3 enabled', sriov[0]['summary'])
        driver = [x for x in res if x['check'] == 'driver' and x['device'] == PF]
        self.assertEqual([x['summary'] for x in driver], ['Driver igb'])


if __name__ == '__main__':
    unittest.main(verbosity=2)
