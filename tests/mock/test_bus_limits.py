#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""sriovd against the system bus' own limits (dbus-daemon's max_match_rules_per_connection, 512, and
max_replies_per_connection, 128, on a system bus): what many leases, many waiting callers and many
pending polkit checks cost sriovd's one connection. Run on a bus with lowered limits, so that a few
dozen leases stand for the hundreds a large host has."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import json  # noqa: E402
import subprocess  # noqa: E402
import unittest  # noqa: E402

from harness import wait_for, write_pf_conf  # noqa: E402
from test_leases import PF1, PF_IF, PYTHON, Client, LeaseTestCase  # noqa: E402

# One bus connection that asks for N non-persistent leases, one after the other, prints the result of
# each as a JSON line, then holds them until its stdin closes.
MANY = r'''
import dbus, json, sys
bus = dbus.bus.BusConnection(sys.argv[1])
mgr = dbus.Interface(bus.get_object('io.sriovd', '/io/sriovd'), 'io.sriovd1.Manager')
for i in range(int(sys.argv[2])):
    try:
        lease, vf = mgr.RequestVirtualFunction('', dbus.Dictionary({'Consumer': 'vm%d' % i}, signature='sv'),
                                               timeout=60)
        out = {'lease': str(lease)}
    except dbus.DBusException as e:
        out = {'error': e.get_dbus_name(), 'message': e.get_dbus_message()}
    print(json.dumps(out), flush=True)
sys.stdin.read()
'''

PFS = ['0000:%02x:00.0' % b for b in range(1, 5)]


class TestMatchRules(LeaseTestCase):
    bus_limits = {'max_match_rules_per_connection': 32}

    def setUp(self):
        super().setUp()
        for pf in PFS:
            self.k.add_pf(pf, total=16, uevent=False)
            write_pf_conf(self.etc, '10-%s.conf' % pf.replace(':', '-'), {'PciAddress': pf}, 10)
        self.start()
        for pf in PFS:
            wait_for(lambda pf=pf: self.bus.get(self.pf_path(pf), PF_IF, 'State') == 'enforced',
                     what='%s enforced' % pf)

    def test_one_holder_many_leases(self):
        """One connection holding more leases than sriovd's connection may have match rules: every
        lease is granted, sriovd stays on the bus, and when the holder leaves every lease ends."""
        n = 40
        p = subprocess.Popen([PYTHON, '-c', MANY, self.bus.address, str(n)], env=self.bus.env(),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             preexec_fn=harness._die_with_parent)
        self.procs.append(p)
        results = [json.loads(p.stdout.readline()) for _ in range(n)]
        self.assertEqual([r for r in results if 'error' in r], [])
        self.assertTrue(self.bus.has_name(), 'sriovd left the bus')
        self.assertEqual(len(self.leases()), n)
        p.stdin.close()
        p.wait(30)
        wait_for(lambda: self.leases() == [], timeout=30, what='every lease ended with its holder')


class TestBusLost(LeaseTestCase):
    def test_bus_gone_leases_stay_for_the_next_sriovd(self):
        """The system bus goes away under sriovd (dbus-daemon killed): no lease holder has left, so no
        lease is restored; sriovd exits with a failure (for systemd's Restart=on-failure) instead of
        running on without its API; the journals stay, and the next sriovd, on the new bus, restores
        the VFs of owners that are not on it."""
        d = self.setup_pf(2)
        c = Client(self.bus, PF1, ['Consumer=vm', 'Driver=vfio-pci'], hold=True)
        self.procs.append(c.proc)
        self.assertIn('lease', c.read_result())
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        self.bus.proc.kill()
        self.bus.proc.wait()
        try:
            code = d.proc.wait(15)
        except subprocess.TimeoutExpired:
            code = None
        self.assertIsNotNone(code, 'sriovd runs on without its bus')
        d.stop()  # its log closed and checked for sanitizer reports
        self.daemons.remove(d)
        self.assertNotIn(code, (0, -15), d.logtext())
        self.assertIn('Lost the connection to the system bus', d.logtext())
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci', 'a lease ended with sriovd\'s bus')
        self.assertEqual(len(self.lease_files(d)), 1)
        self.bus.stop()
        self.bus = harness.Bus()
        d = self.start(state_dir=d.state_dir, runtime_dir=d.runtime_dir, config_dirs=d.config_dirs)
        wait_for(lambda: self.k.vfs[self.vf_addr(0)].driver == 'igbvf', what='VF 0 restored')
        wait_for(lambda: self.leases() == [], what='the lease of the old bus ended')
        self.assertEqual(self.lease_files(d), [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
