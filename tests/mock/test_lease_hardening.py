#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Leases tried as an attacker and as a careful operator would: what a caller may put into a lease,
what a journal file may make sriovd do, who may release, and what becomes of a lease whose VF is
destroyed or whose release is cut short by sriovd stopping."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import glob  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

from harness import wait_for  # noqa: E402
from test_leases import (CALL, FLAG_FORCE, LEASE_IF, MGR, MGR_IF, NOBODY, PF1, PF2, PF_IF, PYTHON,  # noqa: E402
                         Client, LeaseTestCase, Polkit)

# The reproduction of the issue, byte for byte: a Consumer that, written unescaped into the journal,
# points the lease at another VF and injects a saved state to apply there.
INJECTION = 'vm\nPhysicalFunction=0000:02:00.0\nVirtualFunction=3\n[Saved]\nTrust=yes\nMACSpoofCheck=no\n[Lease]'
ID1 = '0123456789abcdef0123456789abcdef'
ID2 = 'fedcba9876543210fedcba9876543210'


class TestLeaseHardening(LeaseTestCase):
    def lease_dir(self, d):
        path = os.path.join(d.state_dir, 'leases')
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    def write_journal(self, d, name, text):
        with open(os.path.join(self.lease_dir(d), name), 'w') as f:
            f.write(text)

    def stopped(self, d):
        """Stops sriovd and returns what restarts it on the same directories."""
        d.stop()
        self.daemons.remove(d)
        return lambda: self.start(state_dir=d.state_dir, runtime_dir=d.runtime_dir, config_dirs=d.config_dirs)

    def bus_id(self):
        r = self.bus.busctl('--json=short', 'call', 'org.freedesktop.DBus', '/org/freedesktop/DBus',
                            'org.freedesktop.DBus', 'GetId')
        return json.loads(r.stdout)['data'][0]

    def test_consumer_injection_refused(self):
        """The payload of the issue, as busctl sends it: refused with InvalidArgument naming Consumer,
        nothing recorded, nothing changed, also after a restart."""
        d = self.setup_pf(2)
        self.k.add_pf(PF2, total=4, numvfs=4)
        wait_for(lambda: len(self.bus.call(MGR, MGR_IF, 'ListPhysicalFunctions')[0]) == 2, what='PF2 seen')
        writes = len(self.k.writes(attr=None))
        r = self.bus.busctl('call', 'io.sriovd', MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', '', 1,
                            'Consumer', 's', INJECTION, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('Consumer', r.stderr)
        name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', '',
                                    {'Consumer': INJECTION})
        self.assertEqual(name, 'io.sriovd1.Error.InvalidArgument', msg)
        self.assertIn('Consumer', msg)
        for bad in ('a\x01b', 'x' * 100000, 'tab\there', 'del\x7f', '\u0085next line'):
            name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', '', {'Consumer': bad})
            self.assertEqual(name, 'io.sriovd1.Error.InvalidArgument', '%r: %s' % (bad[:20], msg))
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.lease_files(d), [])
        self.assertEqual(len(self.k.writes(attr=None)), writes, 'a refused call changes nothing')
        # a consumer name in any script is fine
        lease, _ = self.request(PF1, Consumer='vm-ünïcode-名前')
        self.assertEqual(self.lease_props(lease)['Consumer'], 'vm-ünïcode-名前')
        d = self.restart(d)
        self.assertEqual(self.leases(), [lease])
        self.assertEqual(self.lease_props(lease)['Consumer'], 'vm-ünïcode-名前')

    def test_option_given_twice_refused(self):
        """An option given twice in one a{sv} (D-Bus allows it; busctl sends it) is refused with
        InvalidArgument naming it, as a policy key given twice is: which one would the caller mean?
        Nothing is leased or changed."""
        d = self.setup_pf(2)
        writes = len(self.k.writes(attr=None))
        for args in (['Consumer', 's', 'a', 'Consumer', 's', 'b'],
                     ['Persistent', 'b', 'true', 'Persistent', 'b', 'false'],
                     ['VLANId', 'q', '1', 'VLANId', 'q', '2']):
            r = self.bus.busctl('call', 'io.sriovd', MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', PF1, 2,
                                *args, check=False)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn('%s given twice' % args[0], r.stderr)
        r = self.bus.busctl('call', 'io.sriovd', self.pf_path(PF1), PF_IF, 'SetNumVFsWithOptions', 'uta{sv}',
                            1, 4, 2, 'WaitUSec', 't', 1000000, 'WaitUSec', 't', 2000000, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('WaitUSec given twice', r.stderr)
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.lease_files(d), [])
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertEqual(len(self.k.writes(attr=None)), writes, 'a refused call changes nothing')

    def test_journal_with_the_injection_refused(self):
        """A journal as the injection made it (keys twice, a section twice, [Lease] again): refused as
        a whole, kept aside, and neither VF it names is touched."""
        d = self.setup_pf(2)
        self.k.add_pf(PF2, total=4, numvfs=4)
        wait_for(lambda: len(self.bus.call(MGR, MGR_IF, 'ListPhysicalFunctions')[0]) == 2, what='PF2 seen')
        restart = self.stopped(d)
        self.write_journal(d, ID1 + '.lease',
                           '[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=0\nConsumer=%s\nOwner=\n'
                           'Persistent=yes\nCreatedAt=1\nApplied=yes\n\n[Saved]\nDriver=\n\n[Options]\n'
                           'Driver=vfio-pci\n' % (ID1, PF1, INJECTION))
        writes = len(self.k.writes(attr=None))
        d = restart()
        wait_for(lambda: glob.glob(os.path.join(self.lease_dir(d), ID1 + '.lease.corrupt-*')),
                 what='the journal moved aside')
        time.sleep(1)
        self.assertEqual(self.leases(), [])
        self.assertFalse(os.path.exists(os.path.join(self.lease_dir(d), ID1 + '.lease')))
        vf3 = self.k.vfs[harness.vf_address(PF2, 3)]
        self.assertEqual((vf3.driver, vf3.override), ('igbvf', None), 'PF2 VF 3 untouched')
        self.assertEqual([w['path'] for w in self.k.writes(attr=None)[writes:]
                          if vf3.addr in w['path'] or '/%s/' % self.vf_addr(0) in w['path']], [],
                         'nothing written for the VFs a journal that did not parse names')
        self.assertIn('given twice', d.logtext())

    def test_corrupt_journals_restore_their_vf(self):
        """A journal that does not parse but names its VF beyond doubt: moved aside under a name of its
        own (two of them do not overwrite each other) and its VF restored from the keys it recorded
        well; an Id= that is not the file's name makes a journal corrupt too."""
        d = self.setup_pf(3)
        for i in (0, 1):
            self.k.bind_vf(self.vf_addr(i), 'vfio-pci')
        restart = self.stopped(d)
        self.write_journal(d, ID1 + '.lease', '[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=0\n'
                           'Applied=yes\nthis is not a key\n[Saved]\nDriver=\n' % (ID1, PF1))
        self.write_journal(d, ID2 + '.lease', '[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=1\n'
                           'Persistent=yes\nApplied=yes\n[Saved]\nDriver=\n[Options]\nDriver=vfio-pci\n'
                           % (ID1, PF1))
        d = restart()
        for i in (0, 1):
            wait_for(lambda i=i: self.k.vfs[self.vf_addr(i)].driver == 'igbvf', what='VF %d restored' % i)
        aside = glob.glob(os.path.join(self.lease_dir(d), '*.corrupt-*'))
        self.assertEqual(len(aside), 2, aside)
        wait_for(lambda: self.leases() == [], what='the salvaged leases ended')
        self.assertEqual(self.lease_files(d), [])
        self.assertIn('is not the file\'s name', d.logtext())

    def test_two_journals_for_one_vf(self):
        """Two journals naming the same VF (sriovd never writes that; a state directory edited or
        restored from elsewhere does): one lease holds the VF, the other journal is moved aside and
        not restored (which would undo the first lease's options under its holder)."""
        d = self.setup_pf(2)
        self.k.bind_vf(self.vf_addr(0), 'vfio-pci')
        restart = self.stopped(d)
        for i in (ID1, ID2):
            self.write_journal(d, i + '.lease',
                               '[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=0\nConsumer=vm-%s\nOwner=\n'
                               'Persistent=yes\nCreatedAt=1\nApplied=yes\n\n[Saved]\nDriver=\n\n[Options]\n'
                               'Driver=vfio-pci\n' % (i, PF1, i[:4]))
        writes = len(self.k.writes(attr=None))
        d = restart()
        wait_for(lambda: len(glob.glob(os.path.join(self.lease_dir(d), '*.lease.corrupt-*'))) == 1,
                 what='one journal moved aside')
        leases = self.leases()
        self.assertEqual(len(leases), 1, leases)
        self.assertEqual(len(self.lease_files(d)), 1)
        self.assertEqual(self.bus.get(self.vf_paths(PF1)[0], 'io.sriovd1.VirtualFunction', 'Lease'), leases[0])
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci', 'the kept lease\'s VF restored')
        self.assertEqual([w['path'] for w in self.k.writes(attr=None)[writes:] if self.vf_addr(0) in w['path']], [])
        self.assertIn('is held by lease', d.logtext())

    def test_lease_ends_when_its_vf_is_destroyed_while_applied(self):
        """A request racing a forced count change: the VF is destroyed before the lease's options are in
        force. The caller gets an error, and no lease, journal or reservation stays behind; the VF
        created again at that index gets none of the options."""
        d = self.setup_pf(2)
        pf = self.k.pfs[PF1]
        pf.delay = 1.5
        p = subprocess.Popen(['busctl', '--system', '--timeout=60', 'call', 'io.sriovd', self.pf_path(PF1), PF_IF,
                              'SetNumVFs', 'ut', '3', str(1 | FLAG_FORCE)], env=self.bus.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        wait_for(lambda: self.bus.get(self.pf_path(PF1), PF_IF, 'State') == 'converging', what='count change')
        c = Client(self.bus, PF1, ['Consumer=racer', 'Persistent=true', 'Driver=vfio-pci'])
        self.procs.append(c.proc)
        res = c.read_result()
        self.assertEqual(p.wait(60), 0, p.stderr.read())
        self.assertIn('error', res, res)
        self.assertIn('went away', res['message'])
        pf.delay = 0
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.lease_files(d), [])
        self.assertEqual(self.k.numvfs(PF1), 3)
        wait_for(lambda: all(self.k.vfs[self.vf_addr(i)].driver == 'igbvf' for i in range(3)),
                 what='every VF on its default driver')
        # the index is free again
        lease, vf = self.request(PF1, Consumer='next')
        self.assertEqual(vf, self.vf_paths(PF1)[0])

    def test_forced_count_change_ends_the_hold(self):
        """A lease whose VF a forced count change destroyed holds nothing: its VF shows '/', its options
        are not applied to the VF created again at that index, its journal is gone, and its release
        is accepted."""
        d = self.setup_pf(2)
        lease, vf = self.request(PF1, Consumer='held', Driver='vfio-pci')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        self.bus.call(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut', 1, 1 | FLAG_FORCE)
        wait_for(lambda: self.bus.get(lease, LEASE_IF, 'VirtualFunction') == '/', what='the lease without VF')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')
        self.assertEqual(self.bus.get(vf, 'io.sriovd1.VirtualFunction', 'Lease'), '/')
        self.assertEqual(self.lease_files(d), [])
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertEqual(self.leases(), [])
        d = self.restart(d)
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')

    def test_release_in_flight_when_sriovd_stops(self):
        """sriovd stopped while a release waits for the kernel: the caller hears that sriovd is
        stopping (not that a PF was removed), sriovd exits cleanly, and the journal stays for the next
        sriovd."""
        d = self.setup_pf(2)
        lease, _ = self.request(PF1, Consumer='stopping', Driver='vfio-pci')
        vf0 = self.k.vfs[self.vf_addr(0)]
        entered, proceed = threading.Event(), threading.Event()
        store_unbind = self.k.store_unbind

        def blocking_unbind(driver, value):
            if value.strip() == vf0.addr:
                entered.set()
                proceed.wait(30)
            return store_unbind(driver, value)
        self.k.store_unbind = blocking_unbind
        try:
            p = subprocess.Popen([PYTHON, '-c', CALL, self.bus.address, lease, LEASE_IF, 'Release', '', '[]'],
                                 env=self.bus.env(), stdout=subprocess.PIPE, text=True)
            self.procs.append(p)
            self.assertTrue(entered.wait(20), 'the release never unbound vfio-pci')
            d.proc.terminate()
            self.assertEqual(d.proc.wait(20), 0, d.logtext())
            res = json.loads(p.communicate(timeout=30)[0])
        finally:
            proceed.set()
            self.k.store_unbind = store_unbind
        self.assertEqual(res.get('error'), 'io.sriovd1.Error.Failed', res)
        self.assertIn('sriovd is stopping', res['message'])
        self.assertEqual(len(self.lease_files(d)), 1, 'the journal stays for the next sriovd')

    def test_lease_drivers_limited(self):
        """driver_override skips a driver's ID table: a lease binds a VF to vfio-pci, to its default
        driver, or to a driver the PF's configuration allows in LeaseDrivers=; nothing else."""
        d = self.setup_pf(2)
        for driver in ('pci-stub', 'igb', 'e1000e'):
            name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', PF1, {'Driver': driver})
            self.assertEqual(name, 'io.sriovd1.Error.InvalidArgument', msg)
            self.assertIn('Driver=%s' % driver, msg)
        name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', '', {'Driver': 'pci-stub'})
        self.assertEqual(name, 'io.sriovd1.Error.InvalidArgument', msg)
        self.assertEqual(self.leases(), [])
        lease, vf = self.request(PF1, Driver='')
        self.bus.call(lease, LEASE_IF, 'Release')

        harness.write_pf_conf(self.etc, '10-%s.conf' % PF1.replace(':', '-'), {'PciAddress': PF1}, 2,
                              extra='LeaseDrivers=pci-stub\n')
        self.bus.call(MGR, MGR_IF, 'Reload')
        lease, vf = self.request(PF1, Driver='pci-stub')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'pci-stub')
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')

    def test_stale_owner_on_another_bus(self):
        """A non-persistent lease whose owner's unique name is on the bus now, but was recorded on another
        bus (a bus restart hands the names out again): not adopted, its VF is restored. The lease of
        the same owner recorded on this bus is kept."""
        d = self.setup_pf(2)
        c = Client(self.bus, PF1, ['Consumer=vm', 'Driver=vfio-pci'], hold=True)
        self.procs.append(c.proc)
        kept = c.read_result()['lease']
        [path] = self.lease_files(d)
        with open(path) as f:
            recorded = dict(l.split('=', 1) for l in f.read().split('\n') if '=' in l)
        self.assertEqual(recorded['Owner'], c.name)
        self.assertRegex(recorded['OwnerBus'], '^[0-9a-f]{32}$')
        self.k.bind_vf(self.vf_addr(1), 'vfio-pci')
        restart = self.stopped(d)
        self.write_journal(d, ID1 + '.lease',
                           '[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=1\nConsumer=vm\nOwner=%s\n'
                           'OwnerBus=%s\nOwnerUid=0\nPersistent=no\nCreatedAt=1\nApplied=yes\n\n[Saved]\n'
                           'Driver=\n\n[Options]\nDriver=vfio-pci\n' % (ID1, PF1, c.name, 'ab' * 16))
        d = restart()
        wait_for(lambda: self.k.vfs[self.vf_addr(1)].driver == 'igbvf', what='VF 1 restored')
        wait_for(lambda: self.leases() == [kept], what='only the lease recorded on this bus kept')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        self.assertIn('was on bus abab', d.logtext())
        c.leave()
        wait_for(lambda: self.leases() == [], what='the kept lease ends with its owner')


@unittest.skipIf(os.geteuid() != 0 and os.environ.get('CI') != 'true',
                 'needs root: callers as uid 65534')
class TestReleaseAuthorization(LeaseTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail('needs root: sriovd as root and callers as uid 65534')
        self.polkit = Polkit(self.bus)

    def tearDown(self):
        self.polkit.stop()
        super().tearDown()

    def details(self):
        """The details of every CheckAuthorization so far, with its action."""
        r = self.bus.busctl('--json=short', 'call', 'org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority',
                            'org.freedesktop.DBus.Mock', 'GetMethodCalls', 's', 'CheckAuthorization')
        return [(args[1]['data'], args[2]['data']) for _, args in json.loads(r.stdout)['data'][0]]

    def test_release_is_the_owners_or_an_admins(self):
        """A caller allowed to lease may release its own leases, not root's; manage allows it. polkit
        rules see the PF, the VF and the consumer."""
        self.polkit.set_allowed('io.sriovd.lease')
        self.setup_pf(2)
        root_lease, _ = self.request(PF1, Consumer='root-vm')
        name, msg = self.call_error(root_lease, LEASE_IF, 'Release', '', user=NOBODY)
        self.assertEqual(name, 'org.freedesktop.DBus.Error.AccessDenied', msg)
        self.assertEqual(self.details()[-1][0], 'io.sriovd.manage')
        self.assertEqual(self.details()[-1][1], {'pf': PF1, 'vf': '0', 'consumer': 'root-vm',
                                                 'lease': root_lease.rsplit('/', 1)[1]})
        self.assertEqual(self.leases(), [root_lease])

        own, _ = self.request('enp1s0', Consumer='mine', user=NOBODY)
        self.assertEqual(self.details()[-1], ('io.sriovd.lease', {'pf': PF1, 'consumer': 'mine'}))
        self.bus.call(own, LEASE_IF, 'Release', user=NOBODY)
        self.assertEqual(self.details()[-1][0], 'io.sriovd.lease')
        self.assertEqual(self.leases(), [root_lease])

        self.polkit.set_allowed('io.sriovd.lease', 'io.sriovd.manage')
        self.bus.call(root_lease, LEASE_IF, 'Release', user=NOBODY)
        self.assertEqual(self.leases(), [])

    def test_polkit_details_name_pf_and_vf(self):
        """Every changing method hands polkit the PF it changes and, where it names one, the VF: both
        ways of setting a VF's policy say which VF, so that a rule may allow one VF and not another."""
        self.polkit.set_allowed('io.sriovd.manage')
        self.setup_pf(2)
        pf = self.pf_path(PF1)
        vf0 = self.vf_paths(PF1)[0]
        calls = [
            ((pf, PF_IF, 'SetNumVFs', 'ut', 2, 1), {'pf': PF1}),
            ((pf, PF_IF, 'SetVirtualFunctionPolicy', 'ua{sv}t', 1, 0, 1), {'pf': PF1, 'vf': '1'}),
            ((vf0, 'io.sriovd1.VirtualFunction', 'SetPolicy', 'a{sv}t', 0, 1), {'pf': PF1, 'vf': '0'}),
            ((pf, PF_IF, 'Forget'), {'pf': PF1}),
            ((MGR, MGR_IF, 'Apply'), {}),
        ]
        for args, details in calls:
            self.bus.call(*args, user=NOBODY)
            self.assertEqual(self.details()[-1], ('io.sriovd.manage', details), args[2])

    def test_stop_while_polkit_decides(self):
        """sriovd stopped while a call waits for polkit's answer: the caller hears that sriovd is
        stopping (as a call waiting for the kernel does), not a NoReply from the bus; nothing
        changed, and sriovd exits cleanly."""
        d = self.setup_pf(2)
        polkit = ('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority', 'org.freedesktop.DBus.Mock')
        self.bus.busctl('call', *polkit, 'SimulateHang', 'b', 'true')
        writes = len(self.k.writes(attr=None))
        p = subprocess.Popen(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                              PYTHON, '-c', CALL, self.bus.address, self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut',
                              '[1, 0]'], env=self.bus.env(), stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        wait_for(lambda: json.loads(self.bus.busctl('--json=short', 'call', *polkit, 'HaveHangingCalls').stdout)
                 ['data'][0], what='the check waiting in polkit')
        d.proc.terminate()
        self.assertEqual(d.proc.wait(20), 0, d.logtext())
        res = json.loads(p.communicate(timeout=30)[0])
        self.assertEqual(res.get('error'), 'io.sriovd1.Error.Failed', res)
        self.assertIn('sriovd is stopping', res['message'])
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertEqual(len(self.k.writes(attr=None)), writes)

    def test_polkit_checks_capped_per_caller(self):
        """Checks waiting for polkit are capped per caller: past the cap a call is refused at once; the
        others are answered when polkit answers, and sriovd stays up."""
        self.setup_pf(1)
        polkit = ('org.freedesktop.PolicyKit1', '/org/freedesktop/PolicyKit1/Authority', 'org.freedesktop.DBus.Mock')
        self.bus.busctl('call', *polkit, 'SimulateHang', 'b', 'true')
        script = r'''
import dbus, dbus.mainloop.glib, json, sys
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
pf = bus.get_object('io.sriovd', sys.argv[2])
errors = []
loop = GLib.MainLoop()
def error(e):
    errors.append(e.get_dbus_name())
    print(json.dumps(errors), flush=True)
    if len(errors) == 20:
        loop.quit()
for i in range(20):
    pf.Forget(dbus_interface='io.sriovd1.PhysicalFunction', reply_handler=lambda: error(None),
              error_handler=error, timeout=60)
GLib.timeout_add(40000, loop.quit)
loop.run()
'''
        p = subprocess.Popen(['setpriv', '--reuid=%d' % NOBODY, '--regid=%d' % NOBODY, '--clear-groups',
                              PYTHON, '-c', script, self.bus.address, self.pf_path(PF1)],
                             env=self.bus.env(), stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        for _ in range(4):
            errors = json.loads(p.stdout.readline())
        self.assertEqual(errors, ['org.freedesktop.DBus.Error.LimitsExceeded'] * 4)
        wait_for(lambda: self.bus.busctl('--json=short', 'call', *polkit, 'HaveHangingCalls').stdout.find('true') > 0,
                 what='the checks waiting in polkit')
        self.bus.busctl('call', *polkit, 'ReleaseHangingCalls')
        for _ in range(16):
            errors = json.loads(p.stdout.readline())
        self.assertEqual(errors[4:], ['org.freedesktop.DBus.Error.AccessDenied'] * 16)
        self.assertTrue(self.daemons[-1].alive())


if __name__ == '__main__':
    unittest.main(verbosity=2)
