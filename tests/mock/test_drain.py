#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The drain protocol: SetNumVFs with the wait flag (SetNumVFsWithOptions, sriovctl set-numvfs --wait)
asks the holders of the leases on the VFs a count change destroys to release them (each lease's
ReleaseRequested signal, with a deadline), waits for them without blocking the daemon, and then
applies the change, or fails with Busy naming who did not release. Lease holders are separate
processes (python3-dbus), so that a holder leaving the bus is a real peer disconnecting."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import json  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

from harness import wait_for  # noqa: E402
from test_leases import EXAMPLE, LEASE_IF, MGR, MGR_IF, PF1, PF_IF, PYTHON, LeaseTestCase  # noqa: E402

FLAG_RUNTIME, FLAG_FORCE, FLAG_WAIT = 1, 2, 4
BUSY = 'io.sriovd1.Error.Busy'
INVALID = 'io.sriovd1.Error.InvalidArgument'

# A lease holder as its own process: argv address, selector, consumer, and what it does when its lease
# gets ReleaseRequested: "release" (calls Release), "ignore", or "leave" (exits, closing its connection).
# Prints one JSON line with its lease, then one per ReleaseRequested ({"deadline", "at"}, and
# "released" after its Release returned); holds its lease (non-persistent) until its stdin closes.
HOLDER = r'''
import dbus, json, os, sys, time
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib
DBusGMainLoop(set_as_default=True)
address, selector, consumer, mode = sys.argv[1:5]
bus = dbus.bus.BusConnection(address)
mgr = dbus.Interface(bus.get_object('io.sriovd', '/io/sriovd'), 'io.sriovd1.Manager')
lease, vf = mgr.RequestVirtualFunction(selector, dbus.Dictionary({'Consumer': consumer}, signature='sv'),
                                       timeout=120)
loop = GLib.MainLoop()

def requested(deadline):
    out = {'deadline': int(deadline), 'at': time.time()}
    if mode == 'leave':
        print(json.dumps(out), flush=True)
        os._exit(0)
    if mode == 'release':
        bus.call_blocking('io.sriovd', lease, 'io.sriovd1.Lease', 'Release', '', [], timeout=120)
        out['released'] = True
    print(json.dumps(out), flush=True)

bus.add_signal_receiver(requested, 'ReleaseRequested', 'io.sriovd1.Lease', None, str(lease))
# a round trip: the bus has the match before anyone is told this holder is ready
bus.call_blocking('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'GetId', '', [])
print(json.dumps({'name': bus.get_unique_name(), 'lease': str(lease), 'vf': str(vf)}), flush=True)
GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, lambda *a: loop.quit())
loop.run()
'''

# SetNumVFsWithOptions (or SetNumVFs when the options are "-") as its own process: argv address, PF
# path, count, flags, options as JSON ({"WaitUSec": n} sent as t, any other key as a string). Prints
# {"reply"} or {"error", "message"} with "elapsed" seconds.
SET = r'''
import dbus, json, sys, time
address, path, count, flags, options = sys.argv[1:6]
bus = dbus.bus.BusConnection(address)
pf = dbus.Interface(bus.get_object('io.sriovd', path), 'io.sriovd1.PhysicalFunction')
start = time.time()
print(json.dumps({'start': start}), flush=True)
try:
    if options == '-':
        pf.SetNumVFs(dbus.UInt32(int(count)), dbus.UInt64(int(flags)), timeout=600)
    else:
        opts = {k: dbus.UInt64(v) if k == 'WaitUSec' else dbus.String(v) for k, v in json.loads(options).items()}
        pf.SetNumVFsWithOptions(dbus.UInt32(int(count)), dbus.UInt64(int(flags)),
                                dbus.Dictionary(opts, signature='sv'), timeout=600)
    out = {'reply': True}
except dbus.DBusException as e:
    out = {'error': e.get_dbus_name(), 'message': e.get_dbus_message()}
out['elapsed'] = time.time() - start
print(json.dumps(out), flush=True)
'''


class Holder:
    def __init__(self, test, consumer, mode, selector=PF1):
        self.proc = subprocess.Popen([PYTHON, '-c', HOLDER, test.bus.address, selector, consumer, mode],
                                     env=test.bus.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, preexec_fn=harness._die_with_parent)
        test.procs.append(self.proc)
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError('lease holder %s exited (%s)' % (consumer, self.proc.wait()))
        first = json.loads(line)
        self.name, self.lease, self.vf = first['name'], first['lease'], first['vf']

    def event(self):
        """The next line the holder prints after a ReleaseRequested, or None when it exited."""
        line = self.proc.stdout.readline()
        return json.loads(line) if line else None

    def leave(self):
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(30)
        self.proc.stdout.close()


class SetCall:
    """A SET process under way."""

    def __init__(self, test, count, flags, options='-'):
        self.proc = subprocess.Popen([PYTHON, '-c', SET, test.bus.address, test.pf_path(PF1), str(count),
                                      str(flags), options if isinstance(options, str) else json.dumps(options)],
                                     env=test.bus.env(), stdout=subprocess.PIPE, text=True,
                                     preexec_fn=harness._die_with_parent)
        test.procs.append(self.proc)
        self.start = json.loads(self.proc.stdout.readline())['start']

    def result(self, timeout=60):
        self.proc.wait(timeout)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        if not line:
            raise AssertionError('the SetNumVFs caller exited without a result')
        return json.loads(line)


class TestDrain(LeaseTestCase):
    def holders(self, *specs):
        return [Holder(self, consumer, mode) for consumer, mode in specs]

    def test_one_releases_one_does_not(self):
        """Two holders asked to release: the one that does is released, the other is named in Busy at
        the deadline; the count is unchanged and nothing was written to sriov_numvfs."""
        d = self.setup_pf(2)
        m = self.monitor()
        a, b = self.holders(('holder-a', 'release'), ('holder-b', 'ignore'))
        writes = len(self.k.writes(PF1))

        c = SetCall(self, 1, FLAG_WAIT, {'WaitUSec': 2000000})
        ev = a.event()
        self.assertTrue(ev and ev.get('released'), ev)
        # the deadline in the signal is the call's time plus the wait, in µs since the epoch
        self.assertAlmostEqual(ev['deadline'] / 1e6, c.start + 2, delta=0.5)
        res = c.result()
        self.assertEqual(res.get('error'), BUSY, res)
        msg = res['message']
        self.assertGreaterEqual(res['elapsed'], 1.9, 'failed before the deadline: %s' % res)
        self.assertLess(res['elapsed'], 4.5, 'the deadline was not kept: %s' % res)
        # who did not release: consumer, owner, uid and lease path; not the one who did
        self.assertIn('holder-b', msg)
        self.assertIn(b.lease, msg)
        self.assertIn('owner %s' % b.name, msg)
        self.assertIn('uid %d' % os.geteuid(), msg)
        self.assertIn('within 2 s', msg)
        self.assertNotIn('holder-a', msg)
        self.assertNotIn(a.lease, msg)
        # the count is unchanged, nothing was written, b's lease stands, a's is gone
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertEqual(len(self.k.writes(PF1)), writes)
        self.assertEqual(self.bus.get(self.pf_path(PF1), PF_IF, 'DesiredNumVFs'), 2)
        self.assertEqual(self.leases(), [b.lease])
        # both leases got the signal with the same deadline, once each
        sigs = m.signals('ReleaseRequested')
        self.assertEqual(sorted(s['path'] for s in sigs), sorted([a.lease, b.lease]))
        self.assertEqual(len({s['payload']['data'][0] for s in sigs}), 1)
        self.assertEqual(sigs[0]['payload']['data'][0], ev['deadline'])
        self.assertEqual(sigs[0]['interface'], LEASE_IF)
        self.assertIn('not released within', d.logtext())
        # b heard it too, and ignored it
        self.assertEqual(b.event()['deadline'], ev['deadline'])
        a.leave()
        b.leave()

    def test_both_release_applied(self):
        """Both holders release: the change is applied once the second has, long before the deadline;
        sriovctl set-numvfs --wait returns 0."""
        self.setup_pf(2)
        a, b = self.holders(('holder-a', 'release'), ('holder-b', 'release'))
        start = time.time()
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 1, '--wait', 30, '--runtime')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.time() - start, 15, 'the change waited for the deadline')
        for h in (a, b):
            self.assertTrue(h.event().get('released'))
        self.assertEqual(self.k.numvfs(PF1), 1)
        self.assertEqual(self.leases(), [])
        pf = self.pf_path(PF1)
        self.assertEqual(self.bus.get(pf, PF_IF, 'DesiredNumVFs'), 1)
        self.assertEqual(self.bus.get(pf, PF_IF, 'State'), 'enforced')
        a.leave()
        b.leave()

    def test_default_wait_and_disconnect_counts_as_released(self):
        """SetNumVFs with the wait flag alone waits 60 s; a holder that leaves the bus on the signal
        has released (its lease ends with its owner), and the change is applied."""
        self.setup_pf(2)
        a, b = self.holders(('holder-a', 'leave'), ('holder-b', 'release'))
        c = SetCall(self, 3, FLAG_WAIT)
        ev = a.event()
        self.assertAlmostEqual(ev['deadline'] / 1e6, c.start + 60, delta=1)
        res = c.result()
        self.assertEqual(res.get('reply'), True, res)
        self.assertLess(res['elapsed'], 20)
        self.assertEqual(self.k.numvfs(PF1), 3)
        self.assertEqual(self.leases(), [])
        a.proc.wait(30)
        a.proc.stdout.close()
        b.leave()

    def test_no_lease_no_wait(self):
        """Nothing leased: the wait flag changes nothing, the count is applied at once."""
        self.setup_pf(2)
        m = self.monitor()
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 3, '--wait', 5)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.numvfs(PF1), 3)
        self.assertEqual(m.signals('ReleaseRequested'), [])

    def test_vfio_without_lease_still_needs_force(self):
        """A VF on vfio-pci that no lease holds (a VM's) is not asked anything: Busy at once naming it,
        and no lease is asked to release."""
        self.setup_pf(2)
        m = self.monitor()
        self.k.bind_vf(self.vf_addr(1), 'vfio-pci')
        wait_for(lambda: self.bus.get(self.vf_paths(PF1)[1], 'io.sriovd1.VirtualFunction', 'Driver') == 'vfio-pci',
                 what='VF 1 on vfio-pci')
        a = Holder(self, 'holder-a', 'release')
        start = time.time()
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 0, '--wait', 30)
        self.assertEqual(r.returncode, 1)
        self.assertLess(time.time() - start, 10)
        self.assertIn('bound to vfio-pci', r.stderr)
        self.assertIn(self.vf_addr(1), r.stderr)
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertEqual(self.leases(), [a.lease])
        self.bus.get('/io/sriovd', MGR_IF, 'Version')
        self.assertEqual(m.signals('ReleaseRequested'), [])
        a.leave()

    def test_caller_leaves_cancels_and_loop_serves(self):
        """While a change waits, every other call is answered at once; a second SetNumVFs on the PF
        and a lease request of its VFs are refused Busy; when the waiting caller leaves the bus the
        wait is cancelled: the leases released afterwards change nothing."""
        d = self.setup_pf(2)
        self.k.add_pf('0000:02:00.0', total=2, numvfs=2)
        a, b = self.holders(('holder-a', 'ignore'), ('holder-b', 'ignore'))
        p = subprocess.Popen([harness.sriovctl_path(), 'set-numvfs', PF1, '1', '--wait', '120'], env=self.bus.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=harness._die_with_parent)
        self.procs.append(p)
        self.assertIsNotNone(a.event())
        self.assertIsNotNone(b.event())

        # the daemon keeps serving
        for _ in range(5):
            t = time.time()
            self.bus.get(self.pf_path(PF1), PF_IF, 'NumVFs')
            self.bus.call(MGR, MGR_IF, 'ListLeases')
            self.assertLess(time.time() - t, 2)
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut', 0, 0)
        self.assertEqual(name, BUSY, msg)
        self.assertIn('is being changed from 2 to 1', msg)
        name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', PF1, {})
        self.assertEqual(name, BUSY, msg)
        # a request for any PF gets a VF of another one
        lease, vf = self.request('', Consumer='elsewhere')
        self.assertTrue(vf.startswith(self.pf_path('0000:02:00.0')), vf)
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertIsNone(p.poll(), 'sriovctl stopped waiting')

        p.kill()
        p.wait()
        wait_for(lambda: 'its caller left the bus' in d.logtext(), what='the wait cancelled')
        # no longer waiting: a plain SetNumVFs is refused for the leases, not for a change under way
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut', 0, 0)
        self.assertEqual(name, BUSY, msg)
        self.assertIn('would be destroyed', msg)
        a.leave()
        b.leave()
        wait_for(lambda: self.leases() == [], what='the leases ended with their owners')
        time.sleep(0.5)
        self.assertEqual(self.k.numvfs(PF1), 2, 'the cancelled change was applied')
        self.assertEqual(self.bus.get(self.pf_path(PF1), PF_IF, 'DesiredNumVFs'), 2)

    def test_force_supersedes(self):
        """A forced SetNumVFs during a wait goes through; the waiting call gets Busy saying so."""
        self.setup_pf(2)
        a = Holder(self, 'holder-a', 'ignore')
        c = SetCall(self, 1, FLAG_WAIT, {'WaitUSec': 60000000})
        self.assertIsNotNone(a.event())
        self.bus.call(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut', 3, FLAG_FORCE | FLAG_RUNTIME)
        res = c.result()
        self.assertEqual(res.get('error'), BUSY, res)
        self.assertIn('Superseded by a forced change of NumVFs of %s to 3' % PF1, res['message'])
        self.assertEqual(self.k.numvfs(PF1), 3)
        a.leave()

    def test_stop_during_wait(self):
        """sriovd stopping while a change waits answers it with Failed; nothing was changed."""
        d = self.setup_pf(2)
        a = Holder(self, 'holder-a', 'ignore')
        c = SetCall(self, 1, FLAG_WAIT, {'WaitUSec': 60000000})
        self.assertIsNotNone(a.event())
        d.stop()
        res = c.result()
        self.assertEqual(res.get('error'), 'io.sriovd1.Error.Failed', res)
        self.assertIn('sriovd is stopping', res['message'])
        self.assertEqual(self.k.numvfs(PF1), 2)
        a.leave()

    def lease_row(self, lease):
        r = harness.sriovctl(self.bus, 'leases')
        self.assertEqual(r.returncode, 0, r.stderr)
        header = r.stdout.splitlines()[0]
        row = [line for line in r.stdout.splitlines() if line.startswith(lease.rsplit('/', 1)[1])]
        self.assertEqual(len(row), 1, r.stdout)
        # the last column, RELEASE BY, from where its header starts
        return row[0][header.index('RELEASE BY'):].strip()

    def lease_json(self, lease):
        r = harness.sriovctl(self.bus, '--json', 'leases')
        self.assertEqual(r.returncode, 0, r.stderr)
        return [j for j in json.loads(r.stdout)['Leases'] if j['Lease'] == lease][0]

    def test_release_requested_property(self):
        """ReleaseDeadline tells a lease holder that connects or restarts after ReleaseRequested that a
        release is asked, and by when: the signal's deadline while the change waits (PropertiesChanged
        with it), 0 before and once the change has ended without the lease; sriovctl leases shows it
        (RELEASE BY, and in JSON). A persistent lease's holder that only reads the property releases in
        time, and the change is applied."""
        self.setup_pf(2)
        m = self.monitor()
        a = Holder(self, 'holder-a', 'ignore')
        self.assertEqual(self.bus.get(a.lease, LEASE_IF, 'ReleaseDeadline'), 0)
        self.assertEqual(self.lease_row(a.lease), '-')
        self.assertEqual(self.lease_json(a.lease)['ReleaseDeadline'], 0)

        c = SetCall(self, 1, FLAG_WAIT, {'WaitUSec': 3000000})
        deadline = a.event()['deadline']
        # a late reader: the property says what the signal said
        self.assertEqual(self.bus.get(a.lease, LEASE_IF, 'ReleaseDeadline'), deadline)
        wait_for(lambda: deadline in m.property_values(a.lease, 'ReleaseDeadline'),
                 what='PropertiesChanged ReleaseDeadline')
        self.assertEqual(self.lease_json(a.lease)['ReleaseDeadline'], deadline)
        self.assertEqual(self.lease_row(a.lease),
                         time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(deadline // 1000000)))
        # not released: the change fails at the deadline and the request is over
        res = c.result()
        self.assertEqual(res.get('error'), BUSY, res)
        self.assertEqual(self.bus.get(a.lease, LEASE_IF, 'ReleaseDeadline'), 0)
        wait_for(lambda: m.property_values(a.lease, 'ReleaseDeadline')[-1:] == [0],
                 what='PropertiesChanged ReleaseDeadline 0')
        self.assertEqual(self.lease_row(a.lease), '-')
        a.leave()
        wait_for(lambda: self.leases() == [], what='the lease ended with its owner')

        # a persistent lease whose holder was not there for the signal
        lease, vf = self.request(PF1, Consumer='restarted')
        c = SetCall(self, 1, FLAG_WAIT, {'WaitUSec': 30000000})
        got = wait_for(lambda: self.bus.get(lease, LEASE_IF, 'ReleaseDeadline'), what='ReleaseDeadline set')
        sig = [s for s in m.signals('ReleaseRequested') if s['path'] == lease]
        self.assertEqual([s['payload']['data'][0] for s in sig], [got])
        self.assertAlmostEqual(got / 1e6, c.start + 30, delta=1)
        self.bus.call(lease, LEASE_IF, 'Release')
        res = c.result()
        self.assertEqual(res.get('reply'), True, res)
        self.assertEqual(self.k.numvfs(PF1), 1)

    def test_force_clears_release_deadline(self):
        """A forced change that supersedes the waiting one ends the request: ReleaseDeadline goes back
        to 0 on a lease whose VF is gone (the object stays until released)."""
        self.setup_pf(2)
        lease, vf = self.request(PF1, Consumer='held')
        c = SetCall(self, 1, FLAG_WAIT, {'WaitUSec': 60000000})
        wait_for(lambda: self.bus.get(lease, LEASE_IF, 'ReleaseDeadline'), what='ReleaseDeadline set')
        self.bus.call(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut', 3, FLAG_FORCE | FLAG_RUNTIME)
        self.assertEqual(c.result().get('error'), BUSY)
        self.assertEqual(self.bus.get(lease, LEASE_IF, 'VirtualFunction'), '/')
        self.assertEqual(self.bus.get(lease, LEASE_IF, 'ReleaseDeadline'), 0)
        self.bus.call(lease, LEASE_IF, 'Release')

    def test_invalid_options(self):
        """Refused with InvalidArgument naming what is wrong, before anything is asked or changed."""
        self.setup_pf(2)
        m = self.monitor()
        a = Holder(self, 'holder-a', 'release')
        cases = [
            ({'WaitUSec': 0}, FLAG_WAIT, 'Invalid WaitUSec 0'),
            ({'WaitUSec': 3600000001}, FLAG_WAIT, 'Invalid WaitUSec 3600000001'),
            ({'WaitUSec': 1000000}, 0, 'WaitUSec is for the wait flag only'),
            ({'WaitUSec': 1000000}, FLAG_WAIT | FLAG_FORCE, 'exclude each other'),
            ({'Colour': 'blue'}, FLAG_WAIT, "Unknown option 'Colour'"),
            ({'WaitUSec': 1000000}, 8, 'Unknown flags 0x8'),
        ]
        for options, flags, want in cases:
            res = SetCall(self, 1, flags, options).result()
            self.assertEqual(res.get('error'), INVALID, (options, flags, res))
            self.assertIn(want, res['message'])
        # a wrong type names the option
        r = self.bus.busctl('call', 'io.sriovd', self.pf_path(PF1), PF_IF, 'SetNumVFsWithOptions', 'uta{sv}',
                            1, FLAG_WAIT, 1, 'WaitUSec', 's', 'soon', check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('WaitUSec expects type t', r.stderr)
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertEqual(self.leases(), [a.lease])
        self.bus.get('/io/sriovd', MGR_IF, 'Version')
        self.assertEqual(m.signals('ReleaseRequested'), [])
        a.leave()

    def test_example_gives_back(self):
        """docs/examples/lease-vf.py gives its VF back when asked, and the change goes ahead."""
        self.setup_pf(2)
        p = subprocess.Popen([PYTHON, EXAMPLE, '--consumer', 'example-vm', '--pf', PF1], env=self.bus.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=harness._die_with_parent)
        self.procs.append(p)
        got = {}
        while len(got) < 4:
            line = p.stdout.readline()
            if not line:
                self.fail('lease-vf.py ended early (%s): %s' % (p.wait(), p.stderr.read()))
            k, _, v = line.strip().partition(' ')
            got[k] = v
        self.assertEqual(self.leases(), [got['lease']])
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 1, '--wait', 30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.numvfs(PF1), 1)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, out + err)
        self.assertIn('release requested by ', out)
        self.assertIn('released', out)
        self.assertEqual(self.leases(), [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
