#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""VF leases and polkit authorization, end to end: the real sriovd on a mock testbed and a private
bus; clients are separate processes (python3-dbus, sriovctl, busctl), so that a client leaving the bus
is a real peer disconnecting; polkit is python-dbusmock's polkitd template on the same bus."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import json  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

from harness import wait_for, write_pf_conf  # noqa: E402

MGR = '/io/sriovd'
MGR_IF = 'io.sriovd1.Manager'
PF_IF = 'io.sriovd1.PhysicalFunction'
VF_IF = 'io.sriovd1.VirtualFunction'
LEASE_IF = 'io.sriovd1.Lease'
PF1 = '0000:01:00.0'
PF2 = '0000:02:00.0'
FLAG_FORCE = 2
NOBODY = 65534
PYTHON = '/usr/bin/python3'
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'examples', 'lease-vf.py')
POLKIT_NAME = 'org.freedesktop.PolicyKit1'
POLKIT_PATH = '/org/freedesktop/PolicyKit1/Authority'

# A lease client as its own process: requests a VF with KEY=VALUE options (typed as the contract says),
# prints one JSON line (the reply or the error, and its own unique name), then, with --hold, keeps its
# connection (and so a non-persistent lease) until its stdin closes. With --go it first waits for a
# line on stdin, so that several clients can be started, connected, and then released at once.
CLIENT = r'''
import dbus, json, sys
address, selector = sys.argv[1], sys.argv[2]
flags = [a for a in sys.argv[3:] if a.startswith('--')]
types = {'Consumer': dbus.String, 'MACAddress': dbus.String, 'Driver': dbus.String,
         'VLANId': dbus.UInt16, 'Persistent': lambda v: dbus.Boolean(v == 'true')}
opts = {}
for a in sys.argv[3:]:
    if not a.startswith('--'):
        k, v = a.split('=', 1)
        opts[k] = types[k](v)
bus = dbus.bus.BusConnection(address)
mgr = dbus.Interface(bus.get_object('io.sriovd', '/io/sriovd'), 'io.sriovd1.Manager')
print(json.dumps({'name': bus.get_unique_name()}), flush=True)
if '--go' in flags:
    sys.stdin.readline()
try:
    lease, vf = mgr.RequestVirtualFunction(selector, dbus.Dictionary(opts, signature='sv'), timeout=120)
    out = {'lease': str(lease), 'vf': str(vf)}
except dbus.DBusException as e:
    out = {'error': e.get_dbus_name(), 'message': e.get_dbus_message()}
print(json.dumps(out), flush=True)
if '--hold' in flags:
    sys.stdin.read()
'''

# One method call as its own process (as another uid if asked): argv address, path, interface, method,
# signature, JSON arguments; prints the reply or {"error", "message"} as JSON. Dictionary values are
# variants of the type dbus-python guesses (str, int32, bool): enough to send wrong types on purpose.
CALL = r'''
import dbus, json, sys
address, path, iface, method, sig, args = sys.argv[1:7]
bus = dbus.bus.BusConnection(address)
try:
    reply = bus.call_blocking('io.sriovd', path, iface, method, sig, json.loads(args), timeout=120)
    print(json.dumps({'reply': reply}))
except dbus.DBusException as e:
    print(json.dumps({'error': e.get_dbus_name(), 'message': e.get_dbus_message()}))
'''


class Client:
    """A CLIENT process; .name is its unique bus name, .result its reply once read."""

    def __init__(self, bus, selector='', options=(), hold=False, go=False, user=None):
        cmd = [PYTHON, '-c', CLIENT, bus.address, selector] + list(options)
        cmd += (['--hold'] if hold else []) + (['--go'] if go else [])
        if user is not None:
            cmd = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups'] + cmd
        self.proc = subprocess.Popen(cmd, env=bus.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, preexec_fn=harness._die_with_parent)
        self.name = json.loads(self.proc.stdout.readline())['name']
        self.result = None

    def go(self):
        self.proc.stdin.write('go\n')
        self.proc.stdin.flush()

    def read_result(self):
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError('lease client exited without a result (%s)' % self.proc.wait())
        self.result = json.loads(line)
        return self.result

    def leave(self):
        """Closes stdin: the client exits and its connection (and any non-persistent lease) goes."""
        if self.proc.stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        self.proc.wait(30)
        self.proc.stdout.close()


class LeaseTestCase(harness.MockTestCase):
    def setUp(self):
        super().setUp()
        self.procs = []

    def stop_extra(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    # --- helpers ---
    def start(self, **kw):
        d = harness.Daemon(self.k, self.bus, self.wd, **kw)
        self.daemons.append(d)
        d.wait_ready()
        return d

    def restart(self, d):
        d.stop()
        return self.start(state_dir=d.state_dir, runtime_dir=d.runtime_dir, config_dirs=d.config_dirs)

    def setup_pf(self, numvfs=2, addr=PF1, total=4, ifname=None):
        """A PF with numvfs VFs from a file, sriovd running, the VFs enforced and bound to igbvf."""
        self.k.add_pf(addr, total=total, uevent=False, ifname=ifname)
        write_pf_conf(self.etc, '10-%s.conf' % addr.replace(':', '-'), {'PciAddress': addr}, numvfs)
        d = self.start() if not self.daemons else self.daemons[-1]
        wait_for(lambda: self.bus.get(self.pf_path(addr), PF_IF, 'State') == 'enforced' and
                 self.k.numvfs(addr) == numvfs, what='%s enforced with %d VFs' % (addr, numvfs))
        wait_for(lambda: all(self.bus.get(v, VF_IF, 'Driver') == 'igbvf' for v in self.vf_paths(addr)),
                 what='VFs of %s bound to igbvf' % addr)
        return d

    def monitor(self):
        m = harness.Monitor(self.bus)
        self.monitors.append(m)
        m.wait_subscribed(self.bus)
        return m

    def pf_path(self, dev):
        return self.bus.call(MGR, MGR_IF, 'GetPhysicalFunction', 's', dev)[0]

    def vf_paths(self, dev):
        return self.bus.get(self.pf_path(dev), PF_IF, 'VirtualFunctions')

    def leases(self):
        return self.bus.call(MGR, MGR_IF, 'ListLeases')[0]

    def lease_props(self, path):
        return self.bus.get_all(path, LEASE_IF)

    def vf_lease(self, vf_path):
        return self.bus.get(vf_path, VF_IF, 'Lease')

    def request(self, selector='', persistent=True, user=None, **options):
        """RequestVirtualFunction through busctl; a non-persistent lease from here ends at once."""
        opts = dict(options, Persistent=persistent)
        sigs = {'Consumer': 's', 'MACAddress': 's', 'Driver': 's', 'VLANId': 'q', 'Persistent': 'b'}
        args = []
        for k, v in opts.items():
            args += [k, sigs[k], ('true' if v else 'false') if isinstance(v, bool) else v]
        return self.bus.call(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', selector, len(opts), *args,
                             user=user)

    def call_error(self, path, iface, method, sig='', *args, user=None):
        """Makes a call that must fail; returns (error name, message) as seen on the bus."""
        cmd = [PYTHON, '-c', CALL, self.bus.address, path, iface, method, sig, json.dumps(list(args))]
        if user is not None:
            cmd = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups'] + cmd
        r = subprocess.run(cmd, env=self.bus.env(), capture_output=True, text=True, timeout=130)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = json.loads(r.stdout)
        self.assertIn('error', res, 'call %s succeeded: %s' % (method, res))
        return res['error'], res['message']

    def lease_files(self, d):
        out = []
        for r, _, files in os.walk(d.state_dir):
            out += [os.path.join(r, f) for f in files if f.endswith('.lease')]
        return out

    def vf_addr(self, index, pf=PF1):
        return harness.vf_address(pf, index)


class TestLease(LeaseTestCase):
    def test_lease_properties_and_release(self):
        """A lease: its object and properties, the VF's Lease, ListLeases, the signals, the VF's
        driver changed for the lease's lifetime and put back by Release; sriovctl leases/release."""
        d = self.setup_pf(2)
        vfs = self.vf_paths(PF1)
        m = self.monitor()
        before = int(time.time() * 1e6)
        lease, vf = self.request(PF1, Consumer='vm1', Driver='vfio-pci')
        after = int(time.time() * 1e6)

        self.assertTrue(lease.startswith('/io/sriovd/lease/'), lease)
        self.assertEqual(vf, vfs[0], 'the first free VF of the PF')
        self.assertEqual(self.leases(), [lease])
        props = self.lease_props(lease)
        self.assertEqual(props['VirtualFunction'], vf)
        self.assertEqual(props['Consumer'], 'vm1')
        self.assertEqual(props['Owner'], '', 'a persistent lease has no owner')
        self.assertEqual(props['Persistent'], True)
        self.assertTrue(before - 1000000 <= props['CreatedAt'] <= after + 1000000,
                        (before, props['CreatedAt'], after))
        self.assertEqual(self.vf_lease(vf), lease)
        self.assertEqual(self.vf_lease(vfs[1]), '/')
        # the lease's option is in force: the kernel has the VF on vfio-pci, and sriovd says so
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        self.assertEqual(self.bus.get(vf, VF_IF, 'Driver'), 'vfio-pci')
        self.assertEqual(self.k.vfs[self.vf_addr(1)].driver, 'igbvf', 'the other VF is untouched')
        self.assertEqual(len(self.lease_files(d)), 1, 'the lease is journalled')
        wait_for(lambda: any(s['payload']['data'][0] == lease for s in m.signals('InterfacesAdded')),
                 what='InterfacesAdded of the lease')
        wait_for(lambda: lease in m.property_values(vf, 'Lease'), what='PropertiesChanged Lease of the VF')

        # sriovctl leases: the table and JSON
        r = harness.sriovctl(self.bus, 'leases')
        self.assertEqual(r.returncode, 0, r.stderr)
        lease_id = lease.rsplit('/', 1)[1]
        row = [line for line in r.stdout.splitlines() if line.startswith(lease_id)]
        self.assertEqual(len(row), 1, r.stdout)
        self.assertEqual(row[0].split()[1:7], [PF1, '0', self.vf_addr(0), 'vm1', '-', 'yes'], row)
        self.assertIn('1 lease listed.', r.stdout)
        r = harness.sriovctl(self.bus, '--json', 'leases')
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(len(doc['Leases']), 1)
        j = doc['Leases'][0]
        self.assertEqual((j['Id'], j['Lease'], j['VirtualFunction'], j['Consumer'], j['Owner'], j['Persistent'],
                          j['CreatedAt'], j['PhysicalFunction'], j['Index'], j['PciAddress']),
                         (lease_id, lease, vf, 'vm1', '', True, props['CreatedAt'], PF1, 0, self.vf_addr(0)))

        # a second request gets the other VF; a third finds none
        lease2, vf2 = self.request('', Consumer='vm2')
        self.assertEqual(vf2, vfs[1])
        self.assertEqual(sorted(self.leases()), sorted([lease, lease2]))
        name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', PF1,
                                    {'Consumer': 'vm3'})
        self.assertEqual(name, 'io.sriovd1.Error.NoFreeFunction', msg)
        r = harness.sriovctl(self.bus, 'request', '--persistent', PF1)
        self.assertEqual(r.returncode, 1)
        self.assertIn('No free VF', r.stderr)

        # ids are random: a prefix both share (if any) is ambiguous, one char more is unique
        common = os.path.commonprefix([lease_id, lease2.rsplit('/', 1)[1]])
        if common:
            r = harness.sriovctl(self.bus, 'release', common)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn('ambiguous', r.stderr)
            self.assertEqual(len(self.leases()), 2)

        # release by id through sriovctl: the VF goes back to igbvf, the object and journal go
        r = harness.sriovctl(self.bus, 'release', lease_id[:len(common) + 1])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf', 'Release put the VF driver back')
        self.assertEqual(self.bus.get(vf, VF_IF, 'Driver'), 'igbvf')
        self.assertEqual(self.leases(), [lease2])
        self.assertEqual(self.vf_lease(vf), '/')
        wait_for(lambda: any(s['payload']['data'][0] == lease for s in m.signals('InterfacesRemoved')),
                 what='InterfacesRemoved of the lease')
        wait_for(lambda: m.property_values(vf, 'Lease')[-1:] == ['/'], what='PropertiesChanged Lease -> /')
        self.assertEqual(len(self.lease_files(d)), 1)
        r = self.bus.busctl('get-property', 'io.sriovd', lease, LEASE_IF, 'Consumer', check=False)
        self.assertNotEqual(r.returncode, 0, 'the released lease object is gone')

        # release by object path; an unknown lease is an error (exit 1), not a usage error
        r = harness.sriovctl(self.bus, 'release', lease2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.lease_files(d), [])
        r = harness.sriovctl(self.bus, 'release', lease_id)
        self.assertEqual(r.returncode, 1)
        self.assertIn("No lease '%s'" % lease_id, r.stderr)
        r = harness.sriovctl(self.bus, 'release', lease2)
        self.assertEqual(r.returncode, 1)
        self.assertIn('no such lease', r.stderr)
        r = harness.sriovctl(self.bus, 'leases')
        self.assertIn('0 leases listed.', r.stdout)

    def test_vfio_lease_gives_autoprobe_back(self):
        """sriov_drivers_autoprobe goes to 0 while a lease holds a VF on vfio-pci (a VF created then
        must not meet igbvf) and back to what it was when the lease ends, so VFs created later get
        their driver from the kernel again."""
        self.setup_pf(2)
        ap = lambda: self.k.attr(self.k.pfs[PF1].devpath, 'sriov_drivers_autoprobe').strip()  # noqa: E731
        self.assertEqual(ap(), '1')
        lease, vf = self.request(PF1, Consumer='vm', Driver='vfio-pci')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        self.assertEqual(ap(), '0', 'sriov_drivers_autoprobe while a VF is leased for vfio-pci')
        r = harness.sriovctl(self.bus, 'release', lease)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')
        self.assertEqual(ap(), '1', 'sriov_drivers_autoprobe left at 0 after the lease ended')
        wait_for(lambda: self.bus.get(self.pf_path(PF1), PF_IF, 'DriversAutoprobe') is True,
                 what='DriversAutoprobe true on the bus')
        # a second lease and its release leave it the same way
        lease, vf = self.request(PF1, Consumer='vm', Driver='vfio-pci')
        r = harness.sriovctl(self.bus, 'release', lease)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(ap(), '1')

    def autoprobe(self, pf=PF1):
        return self.k.attr(self.k.pfs[pf].devpath, 'sriov_drivers_autoprobe').strip()

    def autoprobe_record(self, d, pf=PF1):
        """The runtime directory's record of what autoprobe was before sriovd closed it, or None."""
        try:
            with open(os.path.join(d.runtime_dir, 'state', 'autoprobe-' + pf)) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def test_vfio_lease_autoprobe_back_after_restart(self):
        """The autoprobe a vfio-pci lease closed comes back at its release after a restart of sriovd
        in between: what it was is kept in the runtime directory, not only in memory."""
        d = self.setup_pf(2)
        self.assertEqual(self.autoprobe(), '1')
        self.assertIsNone(self.autoprobe_record(d))
        lease, vf = self.request(PF1, Consumer='vm', Driver='vfio-pci')
        self.assertEqual(self.autoprobe(), '0')
        self.assertEqual(self.autoprobe_record(d), '1\n', 'what autoprobe was, recorded')

        d = self.restart(d)
        wait_for(lambda: self.leases() == [lease], what='the persistent lease back after a restart')
        wait_for(lambda: self.bus.get(self.pf_path(PF1), PF_IF, 'State') == 'enforced', what='PF enforced')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci', 'the lease stays applied')
        self.assertEqual(self.autoprobe(), '0', 'autoprobe stays closed while the lease holds the VF')
        r = harness.sriovctl(self.bus, 'release', lease)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')
        self.assertEqual(self.autoprobe(), '1', 'sriov_drivers_autoprobe left at 0 by a release after a restart')
        wait_for(lambda: self.bus.get(self.pf_path(PF1), PF_IF, 'DriversAutoprobe') is True,
                 what='DriversAutoprobe true on the bus')
        self.assertIsNone(self.autoprobe_record(d), 'the record goes once autoprobe is back')
        # and the next sriovd has nothing to put back
        d = self.restart(d)
        wait_for(lambda: self.bus.get(self.pf_path(PF1), PF_IF, 'State') == 'enforced', what='PF enforced')
        self.assertEqual(self.autoprobe(), '1')
        self.assertNotIn('autoprobe-', d.logtext().split('=== starting')[-1])

    def test_vfio_lease_autoprobe_record_goes_with_its_pf(self):
        """A PF unplugged while a vfio-pci lease kept its autoprobe closed: the kernel's value went with
        the device, and so does the record; a device plugged in at the address later is not told
        what the old one had."""
        d = self.setup_pf(2)
        lease, vf = self.request(PF1, Consumer='vm', Driver='vfio-pci')
        self.assertEqual(self.autoprobe(), '0')
        self.assertEqual(self.autoprobe_record(d), '1\n')
        self.k.remove_pf(PF1)
        wait_for(lambda: self.bus.call(MGR, MGR_IF, 'ListPhysicalFunctions')[0] == [], what='PF1 gone')
        self.assertIsNone(self.autoprobe_record(d), 'the record of a PF that is gone')
        self.k.add_pf(PF1, total=4)
        wait_for(lambda: self.bus.get(self.pf_path(PF1), PF_IF, 'State') == 'enforced' and
                 self.k.numvfs(PF1) == 2, what='the new PF1 enforced')
        self.assertNotIn('before a VF named its driver', d.logtext())
        self.assertIsNone(self.autoprobe_record(d))

    def test_vfio_lease_autoprobe_back_after_crash(self):
        """sriovd killed once its job has closed autoprobe for a lease's vfio-pci, before the job
        ends: the record was written before the job, and the next sriovd, restoring the VF from the
        half-applied lease, opens autoprobe again."""
        d = self.setup_pf(2)
        vf0 = self.k.vfs[self.vf_addr(0)]
        entered, proceed = threading.Event(), threading.Event()
        store_override = self.k.store_override

        def blocking_override(dev, value):
            if dev is vf0 and value.strip() == 'vfio-pci':
                entered.set()
                proceed.wait(30)
            return store_override(dev, value)
        self.k.store_override = blocking_override
        c = Client(self.bus, PF1, ['Consumer=crash', 'Persistent=true', 'Driver=vfio-pci'])
        self.procs.append(c.proc)
        try:
            self.assertTrue(entered.wait(20), 'sriovd never wrote driver_override for the lease')
            self.assertEqual(self.autoprobe(), '0', 'autoprobe closed before the VF is bound')
            d.proc.kill()
            d.proc.wait()
        finally:
            proceed.set()
            self.k.store_override = store_override
        self.daemons.remove(d)
        d.stop()
        c.read_result()
        c.leave()

        d = self.restart(d)
        wait_for(lambda: self.leases() == [], what='the half-applied lease dropped')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf', 'VF 0 restored to igbvf')
        # the restore's job is done; one more apply to the end, so that no probe has autoprobe opened
        self.bus.call(MGR, MGR_IF, 'Apply')
        self.assertEqual(self.autoprobe(), '1', 'sriov_drivers_autoprobe left at 0 after the crash')
        self.assertIsNone(self.autoprobe_record(d), 'the record goes once autoprobe is back')

    def test_vfio_lease_autoprobe_configured_wins_after_restart(self):
        """DriversAutoprobe= in the PF's file wins over what was recorded before a lease closed
        autoprobe, also when the file says it only after a restart during the lease."""
        d = self.setup_pf(2)
        lease, vf = self.request(PF1, Consumer='vm', Driver='vfio-pci')
        self.assertEqual(self.autoprobe(), '0')
        self.assertEqual(self.autoprobe_record(d), '1\n')
        d.stop()
        write_pf_conf(self.etc, '10-%s.conf' % PF1.replace(':', '-'), {'PciAddress': PF1}, 2,
                      extra='DriversAutoprobe=no\n')
        d = self.start(state_dir=d.state_dir, runtime_dir=d.runtime_dir, config_dirs=d.config_dirs)
        wait_for(lambda: self.leases() == [lease], what='the persistent lease back after a restart')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        r = harness.sriovctl(self.bus, 'release', lease)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')
        self.assertEqual(self.autoprobe(), '0', 'DriversAutoprobe=no lost to the recorded 1')
        self.assertIsNone(self.autoprobe_record(d), 'the record goes: the file says what autoprobe is')

        # the other way round: the file says yes, a VF is leased, the file's yes comes back
        write_pf_conf(self.etc, '10-%s.conf' % PF1.replace(':', '-'), {'PciAddress': PF1}, 2,
                      extra='DriversAutoprobe=yes\n')
        self.bus.call(MGR, MGR_IF, 'Reload')
        self.assertEqual(self.autoprobe(), '1')
        lease, vf = self.request(PF1, Consumer='vm', Driver='vfio-pci')
        self.assertEqual(self.autoprobe(), '0', 'closed for the lease even so')
        d = self.restart(d)
        wait_for(lambda: self.leases() == [lease], what='the persistent lease back after a restart')
        r = harness.sriovctl(self.bus, 'release', lease)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.autoprobe(), '1')

    def test_vfio_lease_autoprobe_record_not_sriovds(self):
        """A record of autoprobe that sriovd did not write that way (another value, binary, a link) is
        named in the log with what is wrong, moved aside and ignored: the release leaves autoprobe as
        the kernel has it, and sriovd goes on."""
        d = self.setup_pf(2)
        rec = os.path.join(d.runtime_dir, 'state', 'autoprobe-' + PF1)
        cases = [('2\n', '"2" is not 0 or 1'), ('yes\x00\x01', '5 bytes that are not 0 or 1'),
                 (None, 'is a symbolic link')]
        for content, message in cases:
            with self.subTest(content=content):
                lease, vf = self.request(PF1, Consumer='vm', Driver='vfio-pci')
                self.assertEqual(self.autoprobe_record(d), '1\n')
                d.stop()
                os.unlink(rec)
                if content is None:
                    target = os.path.join(self.wd, 'one')
                    with open(target, 'w') as f:
                        f.write('1\n')
                    os.symlink(target, rec)
                else:
                    with open(rec, 'w') as f:
                        f.write(content)
                d = self.start(state_dir=d.state_dir, runtime_dir=d.runtime_dir, config_dirs=d.config_dirs)
                wait_for(lambda: self.leases() == [lease], what='the persistent lease back after a restart')
                log = d.logtext().split('=== starting')[-1]
                self.assertRegex(log, 'Ignoring %s: .*%s.*; moved aside to %s\\.corrupt-[0-9]+; '
                                 'sriov_drivers_autoprobe of %s stays as the kernel has it' %
                                 (re.escape(rec), re.escape(message), re.escape(rec), re.escape(PF1)))
                self.assertFalse(os.path.lexists(rec), 'moved aside')
                aside = [n for n in os.listdir(os.path.dirname(rec)) if n.startswith('autoprobe-%s.corrupt-' % PF1)]
                self.assertTrue(aside, 'the file kept for the admin')
                for n in aside:
                    os.unlink(os.path.join(os.path.dirname(rec), n))
                r = harness.sriovctl(self.bus, 'release', lease)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf', 'the VF restored all the same')
                self.assertEqual(self.autoprobe(), '0', 'nothing guessed from a record that is not sriovd\'s')
                self.assertIsNone(self.autoprobe_record(d))
                # as it was for the next case; the next job finds it so
                self.k.store_autoprobe(self.k.pfs[PF1], '1')

    def test_errors(self):
        self.setup_pf(1)
        name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', '0000:09:00.0',
                                    {'Consumer': 'x'})
        self.assertEqual(name, 'io.sriovd1.Error.NoSuchDevice', msg)
        name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', '',
                                    {'Colour': 'blue'})
        self.assertEqual(name, 'io.sriovd1.Error.InvalidArgument', msg)
        self.assertIn('Colour', msg)
        # a wrong type names the key as well
        name, msg = self.call_error(MGR, MGR_IF, 'RequestVirtualFunction', 'sa{sv}', '',
                                    {'VLANId': 'forty'})
        self.assertEqual(name, 'io.sriovd1.Error.InvalidArgument', msg)
        self.assertIn('VLANId', msg)
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.vf_lease(self.vf_paths(PF1)[0]), '/')
        # sriovctl checks keys before it connects
        r = harness.sriovctl(self.bus, 'request', 'vlan=5000')
        self.assertEqual(r.returncode, 2)

    def test_sriovctl_request_holds_until_interrupted(self):
        """sriovctl request without --persistent: prints, closes its stdout (a reader gets EOF),
        holds the lease with its own bus name as Owner, and releases it on SIGTERM."""
        self.setup_pf(2)
        vfs = self.vf_paths(PF1)
        p = subprocess.Popen([harness.sriovctl_path(), '--json', 'request', '--consumer', 'held', PF1,
                              'driver=vfio-pci'], env=self.bus.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=harness._die_with_parent)
        self.procs.append(p)
        out = p.stdout.read()     # returns at EOF: sriovctl closed its stdout while still running
        self.assertIsNone(p.poll(), 'sriovctl request exited instead of holding the lease')
        doc = json.loads(out)
        lease = doc['Lease']
        self.assertEqual((doc['VirtualFunction'], doc['PhysicalFunction'], doc['Index'], doc['PciAddress']),
                         (vfs[0], PF1, 0, self.vf_addr(0)))
        props = self.lease_props(lease)
        self.assertEqual(props['Persistent'], False)
        self.assertTrue(props['Owner'].startswith(':'), props)
        self.assertEqual(props['Consumer'], 'held')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        time.sleep(0.5)
        self.assertIsNone(p.poll(), 'sriovctl request exited while holding')
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(30), 0, p.stderr.read())
        # released before sriovctl exited: nothing to wait for
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.vf_lease(vfs[0]), '/')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')

        # the lease ending under it (released by root) ends sriovctl too, with status 0
        p = subprocess.Popen([harness.sriovctl_path(), '--no-legend', 'request'], env=self.bus.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=harness._die_with_parent)
        self.procs.append(p)
        lease, addr = p.stdout.read().split()
        self.assertEqual(addr, self.vf_addr(0))
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertEqual(p.wait(30), 0)
        self.assertIn('ended', p.stderr.read())

    def test_sriovctl_request_libvirt_xml(self):
        self.setup_pf(1)
        r = harness.sriovctl(self.bus, 'request', '--persistent', '--libvirt-xml', '--consumer', 'vm1',
                             'driver=vfio-pci')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("<interface type='hostdev' managed='yes'>", r.stdout)
        self.assertIn("<address type='pci' domain='0x0000' bus='0x01' slot='0x10' function='0x0'/>", r.stdout)
        self.assertEqual(len(self.leases()), 1)
        self.assertEqual(self.lease_props(self.leases()[0])['Consumer'], 'vm1')
        # libvirt's own schema takes it, inside a domain
        path = os.path.join(self.wd, 'domain.xml')
        with open(path, 'w') as f:
            f.write("<domain type='kvm'><name>vm1</name><memory>1024</memory><os><type>hvm</type></os>"
                    "<devices>\n%s</devices></domain>\n" % r.stdout)
        v = subprocess.run(['virt-xml-validate', path, 'domain'], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, r.stdout + v.stdout + v.stderr)


class TestOwner(LeaseTestCase):
    def test_peer_leaves_lease_restored(self):
        """A non-persistent lease ends when its owner's connection closes; the VF is put back."""
        d = self.setup_pf(2)
        vfs = self.vf_paths(PF1)
        m = self.monitor()
        c = Client(self.bus, PF1, ['Consumer=peer', 'Driver=vfio-pci'], hold=True)
        self.procs.append(c.proc)
        res = c.read_result()
        self.assertNotIn('error', res, res)
        lease = res['lease']
        self.assertEqual(res['vf'], vfs[0])
        props = self.lease_props(lease)
        self.assertEqual(props['Owner'], c.name)
        self.assertEqual(props['Persistent'], False)
        self.assertEqual(self.vf_lease(vfs[0]), lease)
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')

        c.leave()
        wait_for(lambda: self.leases() == [], what='the lease ended with its owner')
        wait_for(lambda: self.vf_lease(vfs[0]) == '/', what="the VF's Lease back to /")
        wait_for(lambda: self.k.vfs[self.vf_addr(0)].driver == 'igbvf', what='VF driver restored to igbvf')
        wait_for(lambda: any(s['payload']['data'][0] == lease for s in m.signals('InterfacesRemoved')),
                 what='InterfacesRemoved of the lease')
        self.assertEqual(self.lease_files(d), [])
        # the VF is free again
        lease2, vf2 = self.request(PF1)
        self.assertEqual(vf2, vfs[0])

    def test_client_exits_right_after_request(self):
        """A client that exits as soon as it has its (non-persistent) lease leaves nothing behind."""
        self.setup_pf(1)
        vfs = self.vf_paths(PF1)
        c = Client(self.bus, '', ['Consumer=brief', 'Driver=vfio-pci'])
        res = c.read_result()
        self.assertNotIn('error', res, res)
        c.leave()
        wait_for(lambda: self.leases() == [], what='the lease ended with its owner')
        wait_for(lambda: self.vf_lease(vfs[0]) == '/' and self.k.vfs[self.vf_addr(0)].driver == 'igbvf',
                 what='the VF free and restored')

    def test_race_for_last_free_vf(self):
        """Clients requesting at the same moment never get the same VF: of two racing for the last
        free VF exactly one gets it and the other NoFreeFunction; of eight racing for three VFs,
        three win with three different VFs."""
        self.setup_pf(3)
        vfs = self.vf_paths(PF1)
        self.request(PF1, Consumer='first')
        self.request(PF1, Consumer='second')
        for round_ in range(3):
            clients = [Client(self.bus, PF1, ['Consumer=racer%d' % i], hold=True, go=True) for i in range(2)]
            self.procs += [c.proc for c in clients]
            for c in clients:
                c.go()
            results = [c.read_result() for c in clients]
            won = [r for r in results if 'lease' in r]
            lost = [r for r in results if 'error' in r]
            self.assertEqual(len(won), 1, results)
            self.assertEqual(lost[0]['error'], 'io.sriovd1.Error.NoFreeFunction', results)
            self.assertEqual(won[0]['vf'], vfs[2])
            self.assertEqual(len(self.leases()), 3)
            for c in clients:
                c.leave()
            wait_for(lambda: len(self.leases()) == 2, what='round %d: the winner left' % round_)

        for lease in self.leases():
            self.bus.call(lease, LEASE_IF, 'Release')
        clients = [Client(self.bus, '', ['Consumer=many%d' % i], hold=True, go=True) for i in range(8)]
        self.procs += [c.proc for c in clients]
        for c in clients:
            c.go()
        results = [c.read_result() for c in clients]
        won = [r['vf'] for r in results if 'lease' in r]
        self.assertEqual(sorted(won), sorted(vfs), results)
        self.assertEqual([r['error'] for r in results if 'error' in r], ['io.sriovd1.Error.NoFreeFunction'] * 5)
        for c in clients:
            c.leave()
        wait_for(lambda: self.leases() == [], what='every racer left')


class TestPersistence(LeaseTestCase):
    def test_persistent_lease_survives_restart(self):
        d = self.setup_pf(2)
        vfs = self.vf_paths(PF1)
        c = Client(self.bus, PF1, ['Consumer=keep', 'Persistent=true', 'Driver=vfio-pci'])
        res = c.read_result()
        c.leave()      # a persistent lease outlives its requester
        self.assertNotIn('error', res, res)
        lease = res['lease']
        time.sleep(0.5)
        self.assertEqual(self.leases(), [lease])
        before = self.lease_props(lease)
        self.assertEqual(before['Owner'], '')

        d = self.restart(d)
        wait_for(lambda: self.leases() == [lease], what='the persistent lease back after a restart')
        after = self.lease_props(lease)
        self.assertEqual(after, before)
        self.assertEqual(self.vf_lease(vfs[0]), lease)
        self.assertEqual(self.vf_lease(vfs[1]), '/')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci', 'the lease stays applied')
        # still taken: the next request gets the other VF
        lease2, vf2 = self.request(PF1)
        self.assertEqual(vf2, vfs[1])
        # and its release after the restart restores what was recorded before it
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')
        self.assertEqual(sorted(self.leases()), [lease2])

    def test_crash_between_recorded_and_applied(self):
        """sriovd killed while it applies a lease (the journal says recorded, not applied): the next
        sriovd restores the VF from the journal and does not bring the lease back."""
        d = self.setup_pf(2)
        vfs = self.vf_paths(PF1)
        vf0 = self.k.vfs[self.vf_addr(0)]
        entered, proceed = threading.Event(), threading.Event()
        store_override = self.k.store_override

        def blocking_override(dev, value):
            # the lease's driver_override write blocks, as a slow driver would, until the test says
            if dev is vf0 and value.strip() == 'vfio-pci':
                entered.set()
                proceed.wait(30)
            return store_override(dev, value)
        self.k.store_override = blocking_override

        c = Client(self.bus, PF1, ['Consumer=crash', 'Persistent=true', 'Driver=vfio-pci'])
        self.procs.append(c.proc)
        self.assertTrue(entered.wait(20), 'sriovd never wrote driver_override for the lease')
        files = self.lease_files(d)
        self.assertEqual(len(files), 1, 'the lease is journalled before anything changes')
        with open(files[0]) as f:
            journal = f.read()
        # a record of this lease on this PF, not yet marked applied
        self.assertIn(PF1, journal)
        self.assertIn('crash', journal)
        self.assertIn('Applied=no', journal)
        self.assertEqual(vf0.driver, None, 'sriovd is in the middle: igbvf unbound, vfio-pci not yet')

        d.proc.kill()
        d.proc.wait()
        self.daemons.remove(d)
        d.stop()
        proceed.set()
        self.k.store_override = store_override
        res = c.read_result()
        self.assertIn('error', res, 'the requester saw sriovd go away')
        c.leave()

        d = self.restart(d)
        wait_for(lambda: self.k.vfs[self.vf_addr(0)].driver == 'igbvf', what='VF 0 restored to igbvf')
        wait_for(lambda: self.lease_files(d) == [], what='the half-applied lease dropped from the journal')
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.vf_lease(vfs[0]), '/')
        self.assertIn('half-applied', d.logtext())

    def test_set_numvfs_over_leased_vf_is_busy(self):
        """Changing the count goes through 0 (the kernel's rule), destroying every VF: refused with
        Busy naming the lease (by consumer, or by id without one) while any VF is leased, unless
        forced; allowed again once the lease is released."""
        self.setup_pf(3)
        vfs = self.vf_paths(PF1)
        pf = self.pf_path(PF1)
        lease_b, vf_b = self.request(PF1, Consumer='vm-b')
        self.assertEqual(vf_b, vfs[0])
        writes = len(self.k.writes(PF1))

        name, msg = self.call_error(pf, PF_IF, 'SetNumVFs', 'ut', 2, 1)
        self.assertEqual(name, 'io.sriovd1.Error.Busy', msg)
        self.assertIn('vm-b', msg)
        self.assertEqual(len(self.k.writes(PF1)), writes, 'nothing was written')
        self.assertEqual(self.k.numvfs(PF1), 3)
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 0, '--runtime')
        self.assertEqual(r.returncode, 1)
        self.assertIn('vm-b', r.stderr)
        self.assertEqual(self.leases(), [lease_b])

        # a lease without a consumer is named by its id
        self.bus.call(lease_b, LEASE_IF, 'Release')
        lease, _ = self.request(PF1)
        name, msg = self.call_error(pf, PF_IF, 'SetNumVFs', 'ut', 1, 1)
        self.assertEqual(name, 'io.sriovd1.Error.Busy', msg)
        self.assertIn(lease.rsplit('/', 1)[1], msg)
        self.assertEqual(self.k.numvfs(PF1), 3)

        # released, the count may change
        self.bus.call(lease, LEASE_IF, 'Release')
        self.bus.call(pf, PF_IF, 'SetNumVFs', 'ut', 2, 1)
        self.assertEqual(self.k.numvfs(PF1), 2)

        # forced, it goes through a lease
        self.request(PF1, Consumer='vm-c')
        self.bus.call(pf, PF_IF, 'SetNumVFs', 'ut', 1, 1 | FLAG_FORCE)
        self.assertEqual(self.k.numvfs(PF1), 1)

    def test_release_after_pf_hot_removed(self):
        d = self.setup_pf(2)
        self.k.add_pf(PF2, total=4)
        wait_for(lambda: len(self.bus.call(MGR, MGR_IF, 'ListPhysicalFunctions')[0]) == 2, what='PF2 seen')
        lease, vf = self.request(PF1, Consumer='gone', Driver='vfio-pci')
        self.k.remove_pf(PF1)
        wait_for(lambda: len(self.bus.call(MGR, MGR_IF, 'ListPhysicalFunctions')[0]) == 1,
                 what='PF1 gone from the bus')
        self.assertEqual(self.leases(), [lease], 'the lease outlives its VF until released')
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.lease_files(d), [])
        self.assertTrue(d.alive())


class TestExample(LeaseTestCase):
    """docs/examples/lease-vf.py against the real daemon."""

    def run_example(self, *args):
        p = subprocess.Popen([PYTHON, EXAMPLE] + list(args), env=self.bus.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, preexec_fn=harness._die_with_parent)
        self.procs.append(p)
        got = {}
        while len(got) < 4:
            line = p.stdout.readline()
            if not line:
                self.fail('lease-vf.py ended early (%s): %s' % (p.wait(), p.stderr.read()))
            k, _, v = line.strip().partition(' ')
            got[k] = v
        return p, got

    def test_lease_use_release(self):
        self.setup_pf(2)
        vfs = self.vf_paths(PF1)
        p, got = self.run_example('--consumer', 'example-vm', '--pf', PF1)
        self.assertEqual(got['vf'], vfs[0])
        self.assertEqual(got['address'], self.vf_addr(0))
        self.assertEqual(got['driver'], 'vfio-pci')
        props = self.lease_props(got['lease'])
        self.assertEqual((props['Consumer'], props['Persistent'], props['VirtualFunction']),
                         ('example-vm', False, vfs[0]))
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn('released', out)
        self.assertEqual(self.leases(), [])
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'igbvf')

    def test_reacts_to_loss(self):
        """The lease released under the example (by root): it notices, says why, exits 3."""
        self.setup_pf(1)
        p, got = self.run_example('--consumer', 'example-vm', '--driver', '')
        self.bus.call(got['lease'], LEASE_IF, 'Release')
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 3, out + err)
        self.assertIn('lost: ', err)
        self.assertEqual(self.leases(), [])

    def test_reacts_to_vf_removal(self):
        self.setup_pf(1)
        p, got = self.run_example('--consumer', 'example-vm', '--driver', '', '--persistent')
        self.k.remove_pf(PF1)
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 3, out + err)
        self.assertIn('lost: ', err)
        self.assertIn('released', out)
        self.assertEqual(self.leases(), [], 'the example released its lease after the loss')

    def test_no_free_vf(self):
        self.setup_pf(1)
        self.request(PF1)
        r = subprocess.run([PYTHON, EXAMPLE, '--hold', '0'], env=self.bus.env(), capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn('io.sriovd1.Error.NoFreeFunction', r.stderr)


class Polkit:
    """python-dbusmock's polkitd template on the private bus."""

    def __init__(self, bus):
        self.bus = bus
        self.proc = subprocess.Popen([PYTHON, '-m', 'dbusmock', '--system', '--template', 'polkitd'],
                                     env=bus.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=harness._die_with_parent)
        wait_for(lambda: bus.has_name(POLKIT_NAME), what='the mock polkitd on the bus')

    def set_allowed(self, *actions):
        self.bus.busctl('call', POLKIT_NAME, POLKIT_PATH, 'org.freedesktop.DBus.Mock', 'SetAllowed', 'as',
                        len(actions), *actions)

    def checks(self):
        """(action, subject kind, subject name, flags) of every CheckAuthorization so far."""
        r = self.bus.busctl('--json=short', 'call', POLKIT_NAME, POLKIT_PATH, 'org.freedesktop.DBus.Mock',
                            'GetMethodCalls', 's', 'CheckAuthorization')
        out = []
        for _, args in json.loads(r.stdout)['data'][0]:
            subject, action, _details, flags, _cancel = [a['data'] for a in args]
            kind, details = subject
            out.append((action, kind, details.get('name', {}).get('data'), flags))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        wait_for(lambda: not self.bus.has_name(POLKIT_NAME), what='the mock polkitd gone')


@unittest.skipIf(os.geteuid() != 0 and os.environ.get('CI') != 'true',
                 'needs root: a refused caller needs sriovd as root and the caller as uid 65534')
class TestPolkit(LeaseTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail('needs root: sriovd as root and callers as uid 65534')
        self.polkit = None

    def tearDown(self):
        if self.polkit:
            self.polkit.stop()
        super().tearDown()

    def test_lease_granted_manage_denied(self):
        """polkit grants io.sriovd.lease only: a non-root caller leases and releases, but may not
        change the VF count; every check names the caller's bus name and the right action."""
        self.polkit = Polkit(self.bus)
        self.polkit.set_allowed('io.sriovd.lease')
        self.setup_pf(2)
        pf = self.pf_path(PF1)

        c = Client(self.bus, PF1, ['Consumer=unprivileged', 'Driver=vfio-pci'], hold=True, user=NOBODY)
        self.procs.append(c.proc)
        res = c.read_result()
        self.assertNotIn('error', res, res)
        self.assertEqual(self.lease_props(res['lease'])['Owner'], c.name)
        self.assertEqual(self.k.vfs[self.vf_addr(0)].driver, 'vfio-pci')
        checks = self.polkit.checks()
        self.assertIn(('io.sriovd.lease', 'system-bus-name', c.name, 0), checks)

        name, msg = self.call_error(pf, PF_IF, 'SetNumVFs', 'ut', 1, 1, user=NOBODY)
        self.assertEqual(name, 'org.freedesktop.DBus.Error.AccessDenied', msg)
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertIn('io.sriovd.manage', [a for a, *_ in self.polkit.checks()])
        r = harness.sriovctl(self.bus, 'set-vf', PF1, 1, 'vlan=5', user=NOBODY)
        self.assertEqual(r.returncode, 1)

        # sriovctl as the same user: request/release allowed; it asks interactively unless told not to
        r = harness.sriovctl(self.bus, '--json', 'request', '--persistent', '--consumer', 'ctl', user=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        lease2 = json.loads(r.stdout)['Lease']
        self.assertEqual(self.polkit.checks()[-1][0], 'io.sriovd.lease')
        self.assertEqual(self.polkit.checks()[-1][3], 1, 'AllowUserInteraction from sriovctl')
        r = harness.sriovctl(self.bus, '--no-ask-password', 'release', lease2, user=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.polkit.checks()[-1][0], 'io.sriovd.lease')
        self.assertEqual(self.polkit.checks()[-1][3], 0, 'no interaction with --no-ask-password')

        c.leave()
        wait_for(lambda: self.leases() == [], what='the unprivileged lease ended with its owner')

    def test_lease_denied(self):
        self.polkit = Polkit(self.bus)
        self.polkit.set_allowed('io.sriovd.manage')
        self.setup_pf(1)
        c = Client(self.bus, '', ['Consumer=nope'], user=NOBODY)
        res = c.read_result()
        c.leave()
        self.assertEqual(res.get('error'), 'org.freedesktop.DBus.Error.AccessDenied', res)
        self.assertEqual(self.leases(), [])
        # releasing someone else's lease is an admin's action (test_lease_hardening.py)
        self.polkit.set_allowed()
        lease, _ = self.request(PF1)
        name, msg = self.call_error(lease, LEASE_IF, 'Release', '', user=NOBODY)
        self.assertEqual(name, 'org.freedesktop.DBus.Error.AccessDenied', msg)
        self.assertEqual(self.polkit.checks()[-1][0], 'io.sriovd.manage')
        self.assertEqual(self.leases(), [lease])
        # root needs no polkit answer
        n = len(self.polkit.checks())
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertEqual(self.leases(), [])
        self.assertEqual(len(self.polkit.checks()), n, 'root was not checked with polkit')

    def test_polkit_absent(self):
        """Without polkit on the bus only root is allowed."""
        self.setup_pf(1)
        self.assertFalse(self.bus.has_name(POLKIT_NAME))
        c = Client(self.bus, '', ['Consumer=nope'], user=NOBODY)
        res = c.read_result()
        c.leave()
        self.assertEqual(res.get('error'), 'org.freedesktop.DBus.Error.AccessDenied', res)
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut', 0, 1,
                                    user=NOBODY)
        self.assertEqual(name, 'org.freedesktop.DBus.Error.AccessDenied', msg)
        self.assertEqual(self.k.numvfs(PF1), 1)
        r = harness.sriovctl(self.bus, 'request', '--persistent', user=NOBODY)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.leases(), [])
        # root
        lease, vf = self.request(PF1, Consumer='root')
        self.assertEqual(self.leases(), [lease])
        self.bus.call(lease, LEASE_IF, 'Release')
        self.assertEqual(self.leases(), [])



POLKITD = '/usr/lib/polkit-1/polkitd'
POLICY = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'dbus', 'io.sriovd.policy')
RULE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs', 'examples',
                    '50-sriovd-lease.rules')


class RealPolkit:
    """Debian's polkitd on the private bus, in a mount namespace of its own where its action and rule
    directories hold only dbus/io.sriovd.policy and the example rule (the host's stay untouched)."""

    def __init__(self, bus, workdir, group):
        self.bus = bus
        d = os.path.join(workdir, 'polkit')
        for sub in ('actions', 'rules-etc', 'rules-usr'):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        shutil.copy(POLICY, os.path.join(d, 'actions'))
        with open(RULE) as f:
            rule = f.read()
        # the example hands leases to "libvirt"; here the group of the test's unprivileged user
        self.names_libvirt = '"libvirt"' in rule
        with open(os.path.join(d, 'rules-etc', '50-sriovd-lease.rules'), 'w') as f:
            f.write(rule.replace('"libvirt"', '"%s"' % group))
        script = ('mount --bind {0}/actions /usr/share/polkit-1/actions && '
                  'mount --bind {0}/rules-etc /etc/polkit-1/rules.d && '
                  'mount --bind {0}/rules-usr /usr/share/polkit-1/rules.d && '
                  'exec {1} --no-debug').format(d, POLKITD)
        self.log = open(os.path.join(d, 'log'), 'w')
        self.proc = subprocess.Popen(['unshare', '-m', '--propagation', 'private', 'sh', '-c', script],
                                     env=bus.env(), stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=harness._die_with_parent)
        wait_for(lambda: bus.has_name(POLKIT_NAME) or self.proc.poll() is not None, what='polkitd on the bus')
        if self.proc.poll() is not None:
            raise AssertionError('polkitd exited with %s' % self.proc.returncode)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()
        self.log.close()


class TestRealPolkit(LeaseTestCase):
    """dbus/io.sriovd.policy and docs/examples/50-sriovd-lease.rules in the real polkitd: the rule
    hands io.sriovd.lease to a group and nothing else; io.sriovd.manage stays auth_admin_keep."""

    def setUp(self):
        super().setUp()
        self.polkit = None
        if os.geteuid() != 0:
            self.fail('needs root: a mount namespace for polkitd, sriovd as root, callers as other uids')
        if not os.path.exists(POLKITD):
            self.fail('%s is missing (Debian: polkitd; tools/install-deps.sh)' % POLKITD)

    def tearDown(self):
        if self.polkit:
            self.polkit.stop()
        super().tearDown()

    def test_rule_grants_lease_not_manage(self):
        import grp
        import pwd
        group = grp.getgrgid(pwd.getpwuid(NOBODY).pw_gid).gr_name
        self.polkit = RealPolkit(self.bus, self.wd, group)
        self.assertTrue(self.polkit.names_libvirt, 'the example rule names the group "libvirt"')
        # polkitd has loaded the two actions with their defaults (auth_admin_keep is 4)
        r = self.bus.busctl('--json=short', 'call', POLKIT_NAME, POLKIT_PATH, 'org.freedesktop.PolicyKit1.Authority',
                            'EnumerateActions', 's', '')
        actions = {a[0]: a[6:9] for a in json.loads(r.stdout)['data'][0]}
        self.assertEqual(actions, {'io.sriovd.manage': [4, 4, 4], 'io.sriovd.lease': [4, 4, 4]})

        self.setup_pf(2)
        # a member of the group leases and releases without a password
        c = Client(self.bus, PF1, ['Consumer=vm-in-group'], hold=True, user=NOBODY)
        self.procs.append(c.proc)
        res = c.read_result()
        self.assertNotIn('error', res, res)
        self.assertEqual(self.lease_props(res['lease'])['Owner'], c.name)
        r = harness.sriovctl(self.bus, '--no-ask-password', 'release', res['lease'], user=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.leases(), [])
        # ... but may not change the VF count or policy
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'ut', 1, 1, user=NOBODY)
        self.assertEqual(name, 'org.freedesktop.DBus.Error.AccessDenied', msg)
        r = harness.sriovctl(self.bus, '--no-ask-password', 'set-vf', PF1, 0, 'vlan=5', user=NOBODY)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.k.numvfs(PF1), 2)
        c.leave()

        # a user outside the group gets no lease
        daemon_uid = pwd.getpwnam('daemon').pw_uid
        c = Client(self.bus, '', ['Consumer=outsider'], user=daemon_uid)
        res = c.read_result()
        c.leave()
        self.assertEqual(res.get('error'), 'org.freedesktop.DBus.Error.AccessDenied', res)
        self.assertEqual(self.leases(), [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
