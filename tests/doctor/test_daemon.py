#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The bus side of `sriovctl doctor` and `sriovctl libvirt-xml` against a stand-in sriovd
(tests/fake-sriovd/fake_sriovd.py, with a scenario) on a private dbus-daemon: PFs the daemon reports
as failed or drifting, a bus without sriovd, and the libvirt element (MAC, VLAN, a daemon without
those properties), checked with libvirt's own virt-xml-validate.

Usage: test_daemon.py SRIOVCTL"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_SRIOVD = os.path.join(HERE, '..', 'fake-sriovd', 'fake_sriovd.py')
sys.path.insert(0, HERE)
from fixture import Host  # noqa: E402

SRIOVCTL = None
PF = '0000:01:00.0'
PF2 = '0000:02:00.0'

BUS_CONF = '''<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <auth>EXTERNAL</auth>
  <listen>unix:path=%s</listen>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
'''


def domain_xml(element):
    return ("<domain type='kvm'><name>t</name><memory>1024</memory><os><type>hvm</type></os>"
            "<devices>\n%s</devices></domain>\n" % element)


class BusTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='sriov-doctor-bus.')
        self.socket = os.path.join(self.dir, 'bus')
        conf = os.path.join(self.dir, 'bus.conf')
        with open(conf, 'w') as f:
            f.write(BUS_CONF % self.socket)
        self.bus = subprocess.Popen(['dbus-daemon', '--config-file=' + conf, '--nofork', '--nopidfile',
                                     '--print-address'], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.assertTrue(self.bus.stdout.readline().strip(), 'dbus-daemon did not start')
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
        self.env.update(DBUS_SYSTEM_BUS_ADDRESS='unix:path=' + self.socket, LANG='C.UTF-8')
        self.fake = None
        self.root = os.path.join(self.dir, 'root')
        os.mkdir(self.root)
        h = Host(self.root)
        h.add_pf(PF, numvfs=2)

    def tearDown(self):
        for p in (self.fake, self.bus):
            if p:
                p.terminate()
                p.wait()
                if p.stdout:
                    p.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start_fake(self, scenario):
        path = os.path.join(self.dir, 'scenario.json')
        with open(path, 'w') as f:
            json.dump(scenario, f)
        self.fake = subprocess.Popen(['/usr/bin/python3', FAKE_SRIOVD, path],
                                     env=self.env, stdout=subprocess.PIPE, text=True)
        self.assertEqual(self.fake.stdout.readline().strip(), 'READY', 'fake sriovd did not start')

    def ctl(self, *args):
        return subprocess.run([SRIOVCTL] + list(args), env=self.env, capture_output=True, text=True, timeout=60)

    def doctor(self, expect_rc):
        r = self.ctl('--root', self.root, '--json', 'doctor')
        self.assertEqual(r.returncode, expect_rc, r.stdout + r.stderr)
        return [x for x in json.loads(r.stdout) if x['check'] == 'sriovd']

    # --- doctor ---
    def test_no_daemon_on_bus(self):
        res = self.doctor(0)
        self.assertEqual([(x['status'], x['device']) for x in res], [('info', None)])
        self.assertIn('sriovd is not running', res[0]['summary'])
        self.assertNotIn('no system bus', res[0]['summary'])

    def test_daemon_all_well(self):
        self.start_fake({'pfs': [{'address': PF, 'state': 'enforced'}, {'address': PF2, 'state': 'unmanaged'}]})
        res = self.doctor(0)
        self.assertEqual([(x['status'], x['device']) for x in res], [('ok', None)])
        self.assertIn('sriovd is running (running), 2 physical functions', res[0]['summary'])

    def test_daemon_reports_failed_and_drift(self):
        self.start_fake({'state': 'degraded', 'pfs': [
            {'address': PF, 'state': 'failed',
             'last_error': '/etc/sriovd/pf.d/10-lan.conf:3: NumVFs=9 exceeds sriov_totalvfs (7)'},
            {'address': PF2, 'state': 'drift', 'last_error': 'sriov_numvfs is 4, want 2'},
            {'address': '0000:03:00.0', 'state': 'enforced'}]})
        res = self.doctor(1)
        self.assertEqual(sorted((x['status'], x['device']) for x in res), [('fail', PF), ('fail', PF2)])
        failed = [x for x in res if x['device'] == PF][0]
        self.assertIn('failed', failed['summary'])
        self.assertIn('NumVFs=9 exceeds sriov_totalvfs (7)', failed['summary'])
        self.assertIn('sriovctl show ' + PF, failed['fix'])
        drift = [x for x in res if x['device'] == PF2][0]
        self.assertIn('drift', drift['summary'])
        self.assertIn('another tool', drift['fix'])

        human = self.ctl('--root', self.root, 'doctor').stdout
        self.assertIn('sriovd:\n  \u2717 sriovd reports 0000:01:00.0 as failed: /etc/sriovd/pf.d/10-lan.conf:3:', human)

    # --- libvirt-xml ---
    def vfs(self, **extra):
        return {'pfs': [{'address': PF, 'interface': 'enp1s0', 'vfs': [
            {'index': 0, 'address': '0000:01:10.0', 'mac': '00:00:00:00:00:00', 'vlan': 0},
            {'index': 2, 'address': '0000:01:10.4', 'mac': '02:00:00:00:00:01', 'vlan': 42},
            {'index': 1, 'address': '0000:01:10.2', 'mac': '', 'vlan': 7},
            {'index': 3, 'address': '0000:01:10.6', 'mac': '00:00:00:00:00:00', 'vlan': 0}]}], **extra}

    def validate(self, element):
        path = os.path.join(self.dir, 'domain.xml')
        with open(path, 'w') as f:
            f.write(domain_xml(element))
        r = subprocess.run(['virt-xml-validate', path, 'domain'], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, 'libvirt schema refuses:\n%s\n%s%s' % (element, r.stdout, r.stderr))

    def test_libvirt_xml_mac_vlan(self):
        self.start_fake(self.vfs())
        r = self.ctl('libvirt-xml', PF, '2')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         "<interface type='hostdev' managed='yes'>\n"
                         "  <mac address='02:00:00:00:00:01'/>\n"
                         "  <source>\n"
                         "    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x4'/>\n"
                         "  </source>\n"
                         "  <vlan>\n"
                         "    <tag id='42'/>\n"
                         "  </vlan>\n"
                         "</interface>\n")
        self.validate(r.stdout)

    def test_libvirt_xml_without_mac_or_vlan(self):
        self.start_fake(self.vfs())
        # by interface name; the kernel's all-zero MAC and VLAN 0 are left out
        r = self.ctl('libvirt-xml', 'enp1s0', '3')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn('<mac', r.stdout)
        self.assertNotIn('<vlan', r.stdout)
        self.assertIn("bus='0x01' slot='0x10' function='0x6'", r.stdout)
        self.validate(r.stdout)
        # by short address; an empty MAC is left out, the VLAN is kept
        r = self.ctl('libvirt-xml', '01:00.0', '1')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn('<mac', r.stdout)
        self.assertIn("<tag id='7'/>", r.stdout)
        self.validate(r.stdout)

    def test_libvirt_xml_policy_first(self):
        # VF 0's policy has a MAC address and VLAN 42 that the kernel does not report (yet): they are
        # what sriovd keeps on the VF, so they are what the domain asks for
        self.start_fake(self.vfs())
        r = self.ctl('libvirt-xml', PF, '0')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<mac address='02:00:00:00:00:00'/>", r.stdout)
        self.assertIn("<tag id='42'/>", r.stdout)
        self.validate(r.stdout)

    def test_libvirt_xml_daemon_without_vf_settings(self):
        # A daemon from before the per-VF policy work has no MACAddress/VLANId properties.
        self.start_fake(self.vfs(old_daemon=True))
        r = self.ctl('libvirt-xml', PF, '2')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         "<interface type='hostdev' managed='yes'>\n"
                         "  <source>\n"
                         "    <address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x4'/>\n"
                         "  </source>\n"
                         "</interface>\n")
        self.validate(r.stdout)

    def test_libvirt_xml_errors(self):
        self.start_fake(self.vfs())
        r = self.ctl('libvirt-xml', PF, '5')
        self.assertEqual(r.returncode, 1)
        self.assertIn('has no virtual function 5', r.stderr)
        self.assertEqual(r.stdout, '')
        r = self.ctl('libvirt-xml', 'enp9s0', '0')
        self.assertEqual(r.returncode, 1)
        self.assertIn("No SR-IOV capable PCI device with address or interface name 'enp9s0'", r.stderr)
        self.assertEqual(self.ctl('libvirt-xml', PF, 'x').returncode, 2)
        self.assertEqual(self.ctl('libvirt-xml', PF, '-1').returncode, 2)
        self.assertEqual(self.ctl('libvirt-xml', PF).returncode, 2)
        self.assertEqual(self.ctl('--json', 'libvirt-xml', PF, '0').returncode, 2)

    def test_libvirt_xml_no_daemon(self):
        r = self.ctl('libvirt-xml', PF, '0')
        self.assertEqual(r.returncode, 1)
        self.assertIn('Failed to find physical function', r.stderr)


if __name__ == '__main__':
    SRIOVCTL = sys.argv.pop(1)
    unittest.main(verbosity=2)
