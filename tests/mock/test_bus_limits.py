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
from test_leases import NOBODY, PF1, PF_IF, PYTHON, Client, LeaseTestCase, Polkit  # noqa: E402

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


# argv: ADDRESS PF N TIMEOUT. N connections of one user, each calling Forget() 16 times without waiting;
# prints the error names as a JSON list each time one comes; exits after TIMEOUT seconds.
FLOOD = r'''
import dbus, dbus.mainloop.glib, json, sys
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
errors = []
def error(e):
    errors.append(e.get_dbus_name() if e else None)
    print(json.dumps(errors), flush=True)
conns = [dbus.bus.BusConnection(sys.argv[1]) for _ in range(int(sys.argv[3]))]
for bus in conns:
    pf = bus.get_object('io.sriovd', sys.argv[2])
    for _ in range(16):
        pf.Forget(dbus_interface='io.sriovd1.PhysicalFunction', reply_handler=lambda: error(None),
                  error_handler=error, timeout=120)
loop = GLib.MainLoop()
GLib.timeout_add(int(sys.argv[4]) * 1000, loop.quit)
loop.run()
'''

# another unprivileged user, one that every Debian system has (dbus-daemon wants a user it can look up)
OTHER = 1  # daemon
POLKIT = ('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority', 'org.freedesktop.DBus.Mock')


@unittest.skipIf(os.geteuid() != 0 and os.environ.get('CI') != 'true', 'needs root: callers as other users')
class TestPolkitReplies(LeaseTestCase):
    # the system bus' own: dbus-daemon's default, which system.conf does not change
    bus_limits = {'max_replies_per_connection': 128}

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail('needs root: sriovd as root and callers as other users')
        self.polkit = Polkit(self.bus)

    def stop_extra(self):
        super().stop_extra()
        self.polkit.stop()

    def test_one_user_cannot_take_every_check(self):
        """An unprivileged user whose polkit agent never answers keeps checks waiting from ten
        connections at once: past 16 of that user's they are refused at once, and the checks of
        another user still reach polkit and are answered (not failed by dbus-daemon's limit of
        pending replies on sriovd's connection)."""
        self.setup_pf(2)
        self.polkit.set_allowed('io.sriovd.lease')
        self.bus.busctl('call', *POLKIT, 'SimulateHangActions', 'as', 1, 'io.sriovd.manage')
        p = subprocess.Popen(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                              PYTHON, '-c', FLOOD, self.bus.address, self.pf_path(PF1), '10', '60'],
                             env=self.bus.env(), stdout=subprocess.PIPE, text=True,
                             preexec_fn=harness._die_with_parent)
        self.procs.append(p)
        errors = []
        while len(errors) < 160 - 16:
            line = p.stdout.readline()
            if not line:
                break
            errors = json.loads(line)
        self.assertEqual(errors, ['org.freedesktop.DBus.Error.LimitsExceeded'] * (160 - 16))
        wait_for(lambda: json.loads(self.bus.busctl('--json=short', 'call', *POLKIT, 'HaveHangingCalls').stdout)
                 ['data'][0], what='the checks waiting in polkit')

        c = Client(self.bus, PF1, ['Consumer=other-user'], hold=True, user=OTHER)
        self.procs.append(c.proc)
        res = c.read_result()
        self.assertIn('lease', res, res)
        self.assertEqual(self.bus.get(res['lease'], 'io.sriovd1.Lease', 'Consumer'), 'other-user')
        self.assertTrue(self.daemons[-1].alive())


if __name__ == '__main__':
    unittest.main(verbosity=2)
