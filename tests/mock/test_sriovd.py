#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mock-hardware scenarios: the real sriovd on a umockdev testbed with a fake kernel, on a private
bus, driven through sriovctl and busctl. Each scenario checks the testbed's sysfs (what the "kernel"
has) and what sriovd reports."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import contextlib  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

from harness import BusError, wait_for, write_pf_conf  # noqa: E402

MGR = '/io/sriovd'
MGR_IF = 'io.sriovd1.Manager'
PF_IF = 'io.sriovd1.PhysicalFunction'
VF_IF = 'io.sriovd1.VirtualFunction'
PF1 = '0000:01:00.0'
PF2 = '0000:02:00.0'
PF3 = '0000:03:00.0'
FLAG_RUNTIME = 1
FLAG_FORCE = 2
NOBODY = 65534
DEBUG = {'SRIOVD_LOG_LEVEL': 'debug'}     # each uevent logged


class SriovdTestCase(harness.MockTestCase):
    vf_netdevs = True

    def setUp(self):
        self.kernel_args = {'vf_netdevs': self.vf_netdevs}
        super().setUp()

    # --- helpers ---
    def start(self, wait=True, **kw):
        d = harness.Daemon(self.k, self.bus, self.wd, **kw)
        self.daemons.append(d)
        if wait:
            d.wait_ready()
        return d

    def restart(self, d, **kw):
        d.stop()
        kw.setdefault('state_dir', d.state_dir)
        kw.setdefault('runtime_dir', d.runtime_dir)
        kw.setdefault('config_dirs', d.config_dirs)
        return self.start(**kw)

    def monitor(self):
        m = harness.Monitor(self.bus)
        self.monitors.append(m)
        m.wait_subscribed(self.bus)
        return m

    def conf(self, name, addr, numvfs, extra=''):
        return write_pf_conf(self.etc, name, {'PciAddress': addr}, numvfs, extra)

    def pf_path(self, dev):
        return self.bus.call(MGR, MGR_IF, 'GetPhysicalFunction', 's', dev)[0]

    def pf_paths(self):
        return self.bus.call(MGR, MGR_IF, 'ListPhysicalFunctions')[0]

    def pf(self, dev, prop):
        return self.bus.get(self.pf_path(dev), PF_IF, prop)

    def vf(self, path, prop):
        return self.bus.get(path, VF_IF, prop)

    def set_numvfs(self, dev, n, flags=0, user=None):
        return self.bus.call(self.pf_path(dev), PF_IF, 'SetNumVFs', 'ut', n, flags, user=user)

    def wait_pf(self, dev, state='enforced', numvfs=None, timeout=20):
        """Waits until sriovd reports the PF in state (and, if given, the kernel has numvfs)."""
        def ok():
            st = self.pf(dev, 'State')
            if st != state:
                return False
            if numvfs is not None and self.k.numvfs(dev) != numvfs:
                return False
            return True
        wait_for(ok, timeout, what='%s State=%s numvfs=%s (now %r, kernel %s)' % (
            dev, state, numvfs, self._try(lambda: self.pf(dev, 'State')), self._try(lambda: self.k.numvfs(dev))))

    @staticmethod
    def _try(f):
        try:
            return f()
        except Exception as e:
            return e

    def call_error(self, path, iface, method, *args, user=None):
        """Makes a call that must fail; returns (error name, message) as seen on the bus."""
        # busctl prints only the error's message; dbus-send prints "Error <name>: <message>".
        cmd = ['dbus-send', '--system', '--print-reply', '--reply-timeout=120000', '--dest=io.sriovd',
               path, '%s.%s' % (iface, method)] + list(args)
        if user is not None:
            cmd = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups'] + cmd
        r = subprocess.run(cmd, env=self.bus.env(), capture_output=True, text=True, timeout=130)
        self.assertNotEqual(r.returncode, 0, 'call %s succeeded: %s' % (method, r.stdout))
        err = r.stderr.strip()
        self.assertTrue(err.startswith('Error '), err)
        name, _, msg = err[len('Error '):].partition(': ')
        return name, msg

    def sriovd_numvfs_writes(self, dev):
        return [w['value'].strip() for w in self.k.writes(dev)]

    def vf_paths(self, dev):
        return self.bus.get(self.pf_path(dev), PF_IF, 'VirtualFunctions')


class TestColdplug(SriovdTestCase):
    def test_two_pfs_from_files(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        c1 = self.conf('10-first.conf', PF1, 4)
        c2 = self.conf('20-second.conf', PF2, 2)
        self.start()
        self.wait_pf(PF1, numvfs=4)
        self.wait_pf(PF2, numvfs=2)

        # the kernel side
        self.assertEqual(self.k.virtfn_links(PF1), ['virtfn0', 'virtfn1', 'virtfn2', 'virtfn3'])
        self.assertEqual(len(self.k.virtfn_links(PF2)), 2)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4'])
        self.assertEqual(self.sriovd_numvfs_writes(PF2), ['2'])

        # what sriovd reports
        self.assertEqual(len(self.pf_paths()), 2)
        p = self.pf_path(PF1)
        self.assertEqual(self.pf_path('01:00.0'), p)
        self.assertEqual(self.pf_path('enp1s0'), p)
        props = self.bus.get_all(p, PF_IF)
        self.assertEqual(props['PciAddress'], PF1)
        self.assertEqual(props['Interface'], 'enp1s0')
        self.assertEqual(props['Driver'], 'igb')
        self.assertEqual(props['VendorId'], 0x8086)
        self.assertEqual(props['DeviceId'], 0x10c9)
        self.assertIn('82576', props['Model'])
        self.assertEqual(props['TotalVFs'], 7)
        self.assertEqual(props['NumVFs'], 4)
        self.assertEqual(props['DesiredNumVFs'], 4)
        self.assertEqual(props['DriversAutoprobe'], True)
        self.assertEqual(props['State'], 'enforced')
        self.assertEqual(props['ConfigSource'], c1)
        self.assertEqual(self.pf(PF2, 'ConfigSource'), c2)
        vfs = props['VirtualFunctions']
        self.assertEqual(len(vfs), 4)
        for i, vp in enumerate(vfs):
            v = self.bus.get_all(vp, VF_IF)
            self.assertEqual(v['Index'], i)
            self.assertEqual(v['PciAddress'], harness.vf_address(PF1, i))
            self.assertEqual(v['Driver'], 'igbvf')
            self.assertEqual(v['Interface'], 'enp1s0v%d' % i)
            self.assertGreater(v['IommuGroup'], 0)
        self.assertEqual(self.bus.get(MGR, MGR_IF, 'State'), 'running')

    def test_ready_after_coldplug_reconcile(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.pfs[PF1].delay = 2
        self.conf('10-first.conf', PF1, 3)
        sockpath = os.path.join(self.wd, 'notify.sock')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sockpath)
        s.settimeout(1)
        self.start(wait=False, notify_socket=sockpath)
        ready_at = None
        numvfs_at_ready = None
        messages = []
        end = time.time() + 30
        while time.time() < end and ready_at is None:
            try:
                msg = s.recv(4096).decode()
            except socket.timeout:
                continue
            messages.append(msg)
            if 'READY=1' in msg.split('\n'):
                ready_at = time.time()
                numvfs_at_ready = self.k.numvfs(PF1)
        s.close()
        self.assertIsNotNone(ready_at, 'no READY=1 within 30 s; got %r' % messages)
        w = self.k.writes(PF1)
        self.assertEqual([x['value'].strip() for x in w], ['3'])
        self.assertGreaterEqual(ready_at, w[0]['end'], 'READY=1 came before the blocked write ended')
        self.assertEqual(numvfs_at_ready, 3)
        self.wait_pf(PF1, numvfs=3)


class TestHotplug(SriovdTestCase):
    def test_driver_reload(self):
        """rmmod/modprobe of the PF driver drops the VFs; sriovd makes them again on the bind."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 4)
        self.start()
        self.wait_pf(PF1, numvfs=4)
        self.k.unload_pf_driver(PF1)
        wait_for(lambda: self.pf(PF1, 'Driver') == '', what='Driver "" after the unbind')
        self.assertEqual(self.k.numvfs(PF1), 0)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4'])    # nothing to do without a driver
        self.k.load_pf_driver(PF1)
        self.wait_pf(PF1, numvfs=4)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4', '4'])
        self.assertEqual(self.pf(PF1, 'Driver'), 'igb')
        self.assertEqual(len(self.vf_paths(PF1)), 4)


    def test_hotplug_from_kernel_bind(self):
        """A hot-added PF is enforced from the kernel's "bind", while udevd's events of it wait behind
        its rules (seconds on a loaded machine); those come later and start nothing again."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('30-hot.conf', PF3, 3)
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        mon = self.monitor()
        self.k.hold_udevd()
        try:
            self.k.add_pf(PF3, total=7)
            wait_for(lambda: len(self.pf_paths()) == 2, what='PF3 on the bus before udevd passed on its events')
            self.wait_pf(PF3, numvfs=3)
            self.assertEqual(len(self.vf_paths(PF3)), 3)
        finally:
            self.k.release_udevd()
        path = self.pf_path(PF3)
        # udevd's add, the netdev's add, bind and the VFs' events, all after the job
        wait_for(lambda: '\nuevent bind /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                 what="udevd's bind of PF3 read")
        self.wait_pf(PF3, numvfs=3)
        self.assertEqual(self.sriovd_numvfs_writes(PF3), ['3'])
        # the job's steps timed in the debug log (the profile of docs/performance.md's B2): they add up
        m = re.search(r'%s: Kernel job took (\d+) ms: autoprobe and sriov_numvfs (\d+) ms, marks and link '
                      r'settings (\d+) ms, drivers (\d+) ms, the rest (\d+) ms' % PF3, d.logtext())
        self.assertIsNotNone(m, 'the job\'s steps in the log')
        total, *steps = [int(x) for x in m.groups()]
        self.assertLessEqual(abs(total - sum(steps)), 4, m.group(0))
        added = [m for m in mon.signals('InterfacesAdded') if m['payload']['data'][0] == path]
        self.assertEqual(len(added), 1, 'InterfacesAdded for %s' % path)
        self.assertEqual(self.k.writes(PF1), [])

    def test_stale_udevd_remove_after_kernel_bind(self):
        """A PF unplugged and plugged in again while udevd's events wait: udevd's late "remove" of the
        old device does not remove the new one, which the kernel's "bind" brought. The old one went
        on the kernel's "remove", once."""
        self.conf('30-hot.conf', PF3, 2)
        self.k.add_pf(PF3, total=7, uevent=False)
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        self.wait_pf(PF3, numvfs=2)
        path = self.pf_path(PF3)
        mon = self.monitor()
        self.k.hold_udevd()
        try:
            self.k.remove_pf(PF3)
            self.k.add_pf(PF3, total=7)
            self.wait_pf(PF3, numvfs=2)
        finally:
            self.k.release_udevd()
        # udevd's bind of the new device is the last of the events held
        wait_for(lambda: '\nuevent bind /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                 what="udevd's late events of PF3 read")
        self.wait_pf(PF3, numvfs=2)
        self.assertEqual(self.pf_path(PF3), path)
        self.assertEqual(len(self.vf_paths(PF3)), 2)
        self.assertEqual(self.sriovd_numvfs_writes(PF3), ['2', '2'])
        removed = [m for m in mon.signals('InterfacesRemoved') if m['payload']['data'][0] == path]
        added = [m for m in mon.signals('InterfacesAdded') if m['payload']['data'][0] == path]
        self.assertEqual(len(removed), 1, 'InterfacesRemoved for %s' % path)
        self.assertEqual(len(added), 1, 'InterfacesAdded for %s' % path)

    def test_replug_other_model_while_udevd_waits(self):
        """A PF unplugged and another model plugged in at its address while udevd's events wait: the
        kernel's "remove" ends the old PF, and the new one is the new device, not the old one's
        object with its ids."""
        self.conf('30-hot.conf', PF3, 2)
        self.k.add_pf(PF3, total=7, uevent=False)
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        self.wait_pf(PF3, numvfs=2)
        self.assertEqual(self.pf(PF3, 'DeviceId'), 0x10c9)
        self.k.hold_udevd()
        try:
            self.k.remove_pf(PF3)
            self.k.add_pf(PF3, total=8, device_id=0x1521)
            wait_for(lambda: self.pf(PF3, 'DeviceId') == 0x1521, what='the new PF3 from the kernel\'s bind')
            self.wait_pf(PF3, numvfs=2)
        finally:
            self.k.release_udevd()
        wait_for(lambda: '\nuevent bind /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                 what="udevd's late events of PF3 read")
        self.wait_pf(PF3, numvfs=2)
        self.assertEqual(self.pf(PF3, 'DeviceId'), 0x1521)
        self.assertEqual(self.pf(PF3, 'TotalVFs'), 8)
        self.assertEqual(self.sriovd_numvfs_writes(PF3), ['2', '2'])

    def test_replug_no_pf_while_udevd_waits(self):
        """A PF unplugged and a device without SR-IOV plugged in at its address while udevd's events
        wait: no PF stays on the bus for it, neither after the kernel's events nor after udevd's."""
        self.conf('30-hot.conf', PF3, 2)
        self.k.add_pf(PF3, total=7, uevent=False)
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        self.wait_pf(PF3, numvfs=2)
        self.k.hold_udevd()
        try:
            self.k.remove_pf(PF3)
            self.k.add_pci_device(PF3)
            wait_for(lambda: len(self.pf_paths()) == 0, what='PF3 gone on the kernel\'s remove')
        finally:
            self.k.release_udevd()
        wait_for(lambda: '\nuevent bind /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                 what="udevd's late events of PF3 read")
        self.assertEqual(self.pf_paths(), [])
        name, msg = self.call_error(MGR, MGR_IF, 'GetPhysicalFunction', 'string:' + PF3)
        self.assertEqual(name, 'io.sriovd1.Error.NoSuchDevice')

    def test_hot_add_during_probe_keeps_the_loop(self):
        """udevd's "add" of a PF whose driver's probe still runs (the probe holds the device lock that a
        read of sriov_numvfs takes): sriovd reads nothing of it until the probe's "bind", and the bus is
        answered meanwhile. The PF comes from the bind, once."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('30-hot.conf', PF3, 3)
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        mon = self.monitor()
        self.k.begin_probe(PF3, total=7)
        try:
            wait_for(lambda: '\nuevent add /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                     what="udevd's add of PF3 read")
            # the probe runs for 3 s or more, longer than a check of the pending probe's timer
            for _ in range(6):
                t = time.time()
                self.bus.busctl('--timeout=2', 'call', 'io.sriovd', MGR, 'org.freedesktop.DBus.Peer', 'Ping')
                self.assertEqual(self.pf_paths(), [self.pf_path(PF1)])
                self.assertLess(time.time() - t, 2.0, 'the bus took over 2 s to answer during the probe')
                time.sleep(0.4)
            self.assertEqual(self.k.reads(PF3), 0, 'sriov_numvfs of PF3 read during its probe')
        finally:
            self.k.end_probe(PF3)
        self.wait_pf(PF3, numvfs=3)
        self.assertEqual(self.sriovd_numvfs_writes(PF3), ['3'])
        self.assertEqual(self.pf(PF3, 'Driver'), 'igb')
        path = self.pf_path(PF3)
        wait_for(lambda: '\nuevent bind /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                 what="udevd's bind of PF3 read")
        added = [m for m in mon.signals('InterfacesAdded') if m['payload']['data'][0] == path]
        self.assertEqual(len(added), 1, 'InterfacesAdded for %s' % path)
        self.assertEqual(self.k.writes(PF1), [])

    def test_hot_add_probe_fails(self):
        """A hot-added PF whose driver's probe fails (the driver link goes, no "bind" comes) shows up
        without a driver, from the wait's next check."""
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        self.assertEqual(self.pf_paths(), [])
        self.k.begin_probe(PF3, total=7)
        try:
            wait_for(lambda: '\nuevent add /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                     what="udevd's add of PF3 read")
            time.sleep(0.3)
            self.assertEqual(self.pf_paths(), [])
        finally:
            self.k.end_probe(PF3, ok=False)
        wait_for(lambda: len(self.pf_paths()) == 1, timeout=10, what='PF3 on the bus without a driver')
        self.assertEqual(self.pf(PF3, 'Driver'), '')
        self.assertEqual(self.pf(PF3, 'TotalVFs'), 7)
        self.assertIn('Driver probe of hot-added PF %s ended without binding it' % PF3, d.logtext())

    def test_hot_add_removed_during_probe_wait(self):
        """A "remove" (the kernel's, then udevd's) of a PF whose bind sriovd waits for ends the wait: the
        PF never shows up."""
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        self.k.begin_probe(PF3, total=7)
        try:
            wait_for(lambda: '\nuevent add /sys/devices/pci0000:00/%s\n' % PF3 in d.logtext(),
                     what="udevd's add of PF3 read")
        finally:
            self.k.end_probe(PF3, ok=False)
        self.k.remove_pf(PF3)
        wait_for(lambda: 'Hot-added PF %s removed before its bind' % PF3 in d.logtext(),
                 what="udevd's remove of PF3 read")
        time.sleep(1.5)
        self.assertEqual(self.pf_paths(), [])
        self.assertNotIn('Found PF %s' % PF3, d.logtext())
        self.assertTrue(d.alive())

    def test_stop_during_probe_wait(self):
        """sriovd stopped while it waits for a hot-added PF's bind exits with 0 and, on the sanitizer
        tier, without a report, having read nothing of the PF."""
        d = self.start(env={'SRIOVD_LOG_LEVEL': 'debug'})
        self.k.begin_probe(PF3, total=7)
        try:
            wait_for(lambda: 'Hot-added PF %s has a driver whose probe may still run' % PF3 in d.logtext(),
                     what='the wait for the bind of PF3')
            self.assertEqual(d.stop(), 0)
        finally:
            self.k.end_probe(PF3)
        self.assertEqual(self.k.reads(PF3), 0)

    def test_add_remove_readd(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('30-hot.conf', PF3, 3)
        self.start()
        self.assertEqual(len(self.pf_paths()), 1)
        mon = self.monitor()

        for round in range(2):
            self.k.add_pf(PF3, total=7)
            wait_for(lambda: len(self.pf_paths()) == 2, what='PF3 on the bus')
            self.wait_pf(PF3, numvfs=3)
            self.assertEqual(len(self.vf_paths(PF3)), 3)
            self.assertEqual(self.sriovd_numvfs_writes(PF3), ['3'] * (round + 1))
            path = self.pf_path(PF3)

            self.k.remove_pf(PF3)
            wait_for(lambda: len(self.pf_paths()) == 1, what='PF3 gone from the bus')
            name, msg = self.call_error(MGR, MGR_IF, 'GetPhysicalFunction', 'string:' + PF3)
            self.assertEqual(name, 'io.sriovd1.Error.NoSuchDevice')

            added = [m for m in mon.signals('InterfacesAdded') if m['payload']['data'][0] == path]
            removed = [m for m in mon.signals('InterfacesRemoved') if m['payload']['data'][0] == path]
            self.assertEqual(len(added), round + 1, 'InterfacesAdded for %s' % path)
            self.assertEqual(len(removed), round + 1, 'InterfacesRemoved for %s' % path)
        # the PF that stayed was never touched
        self.assertEqual(self.k.writes(PF1), [])


class TestPersistence(SriovdTestCase):
    def test_persisted_vs_runtime(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        d = self.start()
        self.assertEqual(self.pf(PF1, 'DesiredNumVFs'), -1)
        self.assertEqual(self.pf(PF1, 'State'), 'unmanaged')

        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 3)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = harness.sriovctl(self.bus, 'set-numvfs', 'enp2s0', 2, '--runtime')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.numvfs(PF1), 3)     # the call replied after the kernel was done
        self.assertEqual(self.k.numvfs(PF2), 2)
        self.assertEqual(self.pf(PF1, 'ConfigSource'), 'api')
        self.assertEqual(self.pf(PF1, 'DesiredNumVFs'), 3)
        self.assertEqual(self.pf(PF2, 'DesiredNumVFs'), 2)

        # daemon restart after a driver reload dropped the VFs: both come back
        d.stop()
        self.k.set_numvfs(PF1, 0)
        self.k.set_numvfs(PF2, 0)
        d = self.restart(d)
        self.wait_pf(PF1, numvfs=3)
        self.wait_pf(PF2, numvfs=2)

        # "reboot": a fresh runtime directory and a kernel without VFs; only the persisted count
        d.stop()
        self.k.set_numvfs(PF1, 0)
        self.k.set_numvfs(PF2, 0)
        d = self.restart(d, runtime_dir=os.path.join(self.wd, 'run-after-reboot'))
        self.wait_pf(PF1, numvfs=3)
        self.assertEqual(self.pf(PF2, 'DesiredNumVFs'), -1)
        self.assertEqual(self.pf(PF2, 'State'), 'unmanaged')
        time.sleep(0.5)
        self.assertEqual(self.k.numvfs(PF2), 0)

    def test_forget(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 2)
        d = self.start()
        self.wait_pf(PF1, numvfs=2)
        self.set_numvfs(PF1, 5)
        self.assertEqual(self.k.numvfs(PF1), 5)
        self.assertEqual(self.pf(PF1, 'ConfigSource'), 'api')
        self.bus.call(self.pf_path(PF1), PF_IF, 'Forget')
        # what the API persisted is dropped; the file applies again
        wait_for(lambda: self.pf(PF1, 'DesiredNumVFs') == 2, what='DesiredNumVFs back to the file\'s 2')
        self.assertTrue(self.pf(PF1, 'ConfigSource').endswith('10-first.conf'))
        d.stop()
        self.k.set_numvfs(PF1, 0)
        self.restart(d)
        self.wait_pf(PF1, numvfs=2)

    def test_forget_all_or_nothing(self):
        """Forget that cannot remove the persisted state keeps the runtime state too: a refused call
        changes nothing."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 2)
        d = self.start()
        self.wait_pf(PF1, numvfs=2)
        self.set_numvfs(PF1, 4)
        self.set_numvfs(PF1, 5, FLAG_RUNTIME)
        persisted = os.path.join(d.state_dir, 'pf', PF1 + '.conf')
        runtime = os.path.join(d.runtime_dir, 'state', 'pf', PF1 + '.conf')
        self.assertTrue(os.path.exists(persisted) and os.path.exists(runtime))
        # a file that cannot be removed: a non-empty directory in its place
        os.rename(persisted, persisted + '.saved')
        os.makedirs(os.path.join(persisted, 'x'))
        with self.assertRaises(BusError):
            self.bus.call(self.pf_path(PF1), PF_IF, 'Forget')
        self.assertTrue(os.path.exists(runtime), 'the runtime state is back')
        self.assertEqual(self.pf(PF1, 'DesiredNumVFs'), 5, 'a refused Forget changes nothing')
        self.assertEqual(self.k.numvfs(PF1), 5)

    def test_stale_temporary_files_removed(self):
        """What an interrupted atomic write left in the state directories is removed at start-up."""
        self.k.add_pf(PF1, total=7, uevent=False)
        d = self.start()
        self.set_numvfs(PF1, 2)
        d.stop()
        stale = [os.path.join(d.state_dir, 'pf', PF1 + '.conf.#tmp.4242'),
                 os.path.join(d.state_dir, 'leases', '0123456789abcdef0123456789abcdef.lease.#tmp.4242'),
                 os.path.join(d.runtime_dir, 'state', 'pf', PF1 + '.conf.#tmp.4242')]
        for f in stale:
            os.makedirs(os.path.dirname(f), exist_ok=True)
            with open(f, 'w') as fh:
                fh.write('half written')
        d = self.restart(d)
        self.wait_pf(PF1, numvfs=2)
        for f in stale:
            self.assertFalse(os.path.exists(f), '%s left behind' % f)

    def test_config_dir_masking(self):
        """--config-dir given twice: the earlier masks a file of the same name in the later."""
        self.k.add_pf(PF1, total=7, uevent=False)
        etc = os.path.join(self.wd, 'etc')
        lib = os.path.join(self.wd, 'lib')
        write_pf_conf(lib, '10-nic.conf', {'PciAddress': PF1}, 5)
        mine = write_pf_conf(etc, '10-nic.conf', {'PciAddress': PF1}, 2)
        self.start(config_dirs=[etc, lib])
        self.wait_pf(PF1, numvfs=2)
        self.assertEqual(self.pf(PF1, 'ConfigSource'), mine)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['2'])

    def test_corrupt_state_file(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        d = self.start()
        self.set_numvfs(PF1, 3)
        d.stop()
        files = [os.path.join(r, f) for r, _, fs in os.walk(d.state_dir) for f in fs]
        data = [f for f in files if 'version' not in os.path.basename(f).lower()]
        self.assertTrue(data, 'no state file written in %s: %s' % (d.state_dir, files))
        for f in data:
            with open(f, 'w') as fh:
                fh.write('\x00{{{ this is not a state file\n[[[\nNumVFs=banana\n')
        before = set(files)
        d = self.restart(d)
        time.sleep(1)
        self.assertTrue(d.alive())
        # never read as "no VFs": the kernel's 3 VFs stay
        self.assertNotIn('0', self.sriovd_numvfs_writes(PF1))
        self.assertEqual(self.k.numvfs(PF1), 3)
        # moved aside: a new file next to it holds the bad content, the bad name no longer parses
        after = set(os.path.join(r, f) for r, _, fs in os.walk(d.state_dir) for f in fs)
        aside = after - before
        self.assertTrue(aside, 'nothing moved aside in %s: %s' % (d.state_dir, sorted(after)))
        # and reported
        log = d.logtext().split('=== starting')[-1]
        self.assertTrue(any(os.path.basename(f) in log for f in data) or any(
            os.path.basename(a) in log for a in aside), 'the corrupt state file is not named in the log')
        # and on the bus, where an operator looks, also after a reload
        for _ in range(2):
            wait_for(lambda: any(os.path.basename(a) in self.pf(PF1, 'LastError') for a in aside),
                     what='the state file kept aside named in LastError')
            self.bus.call(MGR, MGR_IF, 'Reload')


class TestReconcile(SriovdTestCase):
    def test_change_goes_through_zero(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 4)
        self.start()
        self.wait_pf(PF1, numvfs=4)
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4', '0', '2'])
        self.assertEqual(self.k.virtfn_links(PF1), ['virtfn0', 'virtfn1'])
        self.wait_pf(PF1, numvfs=2)
        self.assertEqual(len(self.vf_paths(PF1)), 2)

    def test_drivers_autoprobe_off(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 2, extra='DriversAutoprobe=no\n')
        self.start()
        self.wait_pf(PF1, numvfs=2)
        pf = self.k.pfs[PF1]
        self.assertEqual(self.k.attr(pf.devpath, 'sriov_drivers_autoprobe'), '0\n')
        autoprobe = self.k.writes(PF1, attr='sriov_drivers_autoprobe')
        numvfs = self.k.writes(PF1)
        self.assertTrue(autoprobe, 'sriov_drivers_autoprobe never written')
        self.assertEqual(autoprobe[0]['value'].strip(), '0')
        self.assertLess(autoprobe[0]['end'], numvfs[0]['start'], 'autoprobe set after the VFs were made')
        self.assertEqual(autoprobe[-1]['value'].strip(), '0', 'autoprobe left open after the probes')
        self.assertFalse(self.pf(PF1, 'DriversAutoprobe'))
        # The VFs were created unbound (no host driver touched them first); VFs without Driver=
        # are then bound by sriovd itself to their default driver (sriovd.conf(5)), through
        # drivers_probe, which is only needed because the kernel left them unbound.
        # With autoprobe 0 the kernel probes a VF without driver_override for no driver: sriovd opens
        # autoprobe around the probes, one per VF, and closes it after the last.
        probe_writes = self.k.writes(attr='drivers_probe')
        probes = [w['value'].strip() for w in probe_writes]
        self.assertEqual(sorted(probes), sorted(pf.vfs))
        self.assertEqual([w['value'].strip() for w in autoprobe], ['0', '1', '0'])
        self.assertLessEqual(autoprobe[1]['end'], min(w['start'] for w in probe_writes))
        self.assertGreaterEqual(autoprobe[2]['start'], max(w['end'] for w in probe_writes))
        for vp in self.vf_paths(PF1):
            wait_for(lambda: self.vf(vp, 'Driver') == 'igbvf', what='VF bound to igbvf by sriovd')

    def test_vf_driver_vfio(self):
        """[VirtualFunction] Driver=vfio-pci: that VF is created unbound and bound to vfio-pci
        through driver_override and drivers_probe; the others get the default driver."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 3, extra='\n[VirtualFunction]\nVirtualFunction=1\nDriver=vfio-pci\n')
        self.start()
        self.wait_pf(PF1, numvfs=3)
        vf1 = harness.vf_address(PF1, 1)
        wait_for(lambda: self.k.vfs[vf1].driver == 'vfio-pci', what='VF1 bound to vfio-pci in sysfs')
        self.assertEqual(self.k.attr(self.k.vfs[vf1].devpath, 'driver_override'), 'vfio-pci\n')
        autoprobe = self.k.writes(PF1, attr='sriov_drivers_autoprobe')
        self.assertTrue(autoprobe and autoprobe[0]['value'].strip() == '0' and
                        autoprobe[0]['end'] <= self.k.writes(PF1)[0]['start'],
                        'sriov_drivers_autoprobe=0 not written before the VFs were created')
        self.assertEqual(self.k.attr(self.k.pfs[PF1].devpath, 'sriov_drivers_autoprobe'), '0\n')
        for i in (0, 2):
            self.assertEqual(self.k.vfs[harness.vf_address(PF1, i)].driver, 'igbvf')
        vp = self.vf_paths(PF1)[1]
        wait_for(lambda: self.vf(vp, 'Driver') == 'vfio-pci', what='VF1 Driver vfio-pci on the bus')
        self.assertEqual(self.vf(vp, 'Interface'), '')

    def test_managed_vf_marks(self):
        """The VFs of a managed PF are marked in the runtime directory's managed-vf/ (for the udev
        rule that makes network managers leave their netdevs alone) before a driver is bound to them,
        but for those in NetworkManagedVFs=; marks follow the configuration and go with their VFs; an
        unmanaged PF's VFs are never marked."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.assertEqual(self.k.set_numvfs(PF2, 2), 0)  # VFs sriovd does not manage
        self.conf('10-first.conf', PF1, 3, extra='NetworkManagedVFs=1\n')
        marked_at_bind = {}
        bind = self.k._bind
        runtime_dir = os.path.join(self.wd, 'run')

        def spy(vf, driver):  # runs while sriovd starts: it may bind before start() returns
            marked_at_bind[vf.addr] = os.path.exists(os.path.join(runtime_dir, 'managed-vf', vf.addr))
            bind(vf, driver)
        self.k._bind = spy
        d = self.start(runtime_dir=runtime_dir)
        self.wait_pf(PF1, numvfs=3)
        marks = lambda: sorted(os.listdir(os.path.join(d.runtime_dir, 'managed-vf')))  # noqa: E731
        vf0, vf1, vf2 = (harness.vf_address(PF1, i) for i in range(3))
        self.assertEqual(marks(), [vf0, vf2])
        self.assertEqual(marked_at_bind, {vf0: True, vf1: False, vf2: True})
        self.assertEqual(self.k.vfs[vf0].driver, 'igbvf')

        # NetworkManagedVFs= gone: VF 1 is marked too, and its netdev told (a change uevent)
        self.conf('10-first.conf', PF1, 3)
        harness.sriovctl(self.bus, 'reload')
        self.assertEqual(marks(), [vf0, vf1, vf2])
        with open(os.path.join(self.k._abs(self.k.vfs[vf1].devpath), 'net', self.k.vfs[vf1].ifname,
                               'uevent')) as f:
            self.assertIn('change', f.read())

        # fewer VFs: the marks of the VFs that went go with them
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 1)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(marks(), [vf0])

        # the PF no longer managed: no marks
        os.unlink(os.path.join(self.etc, 'pf.d', '10-first.conf'))
        self.bus.call(self.pf_path(PF1), PF_IF, 'Forget')
        harness.sriovctl(self.bus, 'reload')
        self.assertEqual(self.pf(PF1, 'DesiredNumVFs'), -1)
        self.assertEqual(marks(), [])

    def test_marks_of_an_unplugged_pf_go(self):
        """The marks of the VFs of a PF that was unplugged go at the next apply (of another PF): a
        device that comes later at one of their addresses starts unmarked."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 3)
        self.conf('20-second.conf', PF2, 2)
        d = self.start()
        self.wait_pf(PF1, numvfs=3)
        self.wait_pf(PF2, numvfs=2)
        marks = lambda: sorted(os.listdir(os.path.join(d.runtime_dir, 'managed-vf')))  # noqa: E731
        pf2_vfs = [harness.vf_address(PF2, i) for i in range(2)]
        self.assertEqual(marks(), sorted([harness.vf_address(PF1, i) for i in range(3)] + pf2_vfs))
        self.k.remove_pf(PF1)
        wait_for(lambda: len(self.pf_paths()) == 1, what='PF1 gone from the bus')
        r = harness.sriovctl(self.bus, 'apply')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(marks(), pf2_vfs)

    def test_vm_manager_binding_left_alone(self):
        """A VF without Driver= policy is a VM manager's to bind: libvirt's managed='yes' (override
        vfio-pci, unbind, probe) is left alone by the applies that follow, even on a PF whose
        sriov_drivers_autoprobe stays 0 for another VF's Driver=vfio-pci; once libvirt gives it back
        (unbind, override cleared, a probe that binds nothing with autoprobe 0), sriovd binds its own
        driver again."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 3, extra='\n[VirtualFunction]\nVirtualFunction=2\nDriver=vfio-pci\n')
        self.start()
        self.wait_pf(PF1, numvfs=3)
        vf0 = harness.vf_address(PF1, 0)
        vf = self.k.vfs[vf0]
        self.assertEqual(vf.driver, 'igbvf')
        self.assertEqual(self.k.attr(self.k.pfs[PF1].devpath, 'sriov_drivers_autoprobe'), '0\n')

        # libvirt's virPCIDeviceBindToStub(): driver_override first, then unbind and probe
        with vf.pf.lock:
            self.k.store_override(vf, 'vfio-pci\n')
            self.k._unbind(vf)
        self.assertEqual(self.k.store_drivers_probe(vf0), 0)
        self.assertEqual(vf.driver, 'vfio-pci')
        n_writes = len(self.k.log)
        r = harness.sriovctl(self.bus, 'apply')
        self.assertEqual(r.returncode, 0, r.stderr)
        time.sleep(1)  # the coalesced reconciles of the uevents as well
        self.assertEqual(vf.driver, 'vfio-pci')
        touched = [w for w in self.k.log[n_writes:]
                   if w['by'] == 'sriovd' and (vf0 in w['path'] or w['value'].strip() == vf0)]
        self.assertEqual(touched, [])
        vp = self.vf_paths(PF1)[0]
        wait_for(lambda: self.vf(vp, 'Driver') == 'vfio-pci', what='VF 0 Driver vfio-pci on the bus')
        self.assertEqual(self.vf(vp, 'State'), 'ok')

        # libvirt's virPCIDeviceUnbindFromStub(): unbind, override cleared, probe: nothing binds
        with vf.pf.lock:
            self.k._unbind(vf)
            self.k.store_override(vf, '\n')
        self.assertEqual(self.k.store_drivers_probe(vf0), 0)
        wait_for(lambda: vf.driver == 'igbvf', what='VF 0 bound to igbvf again by sriovd')
        self.wait_pf(PF1)

    def test_properties_changed(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.start()
        path = self.pf_path(PF1)
        mon = self.monitor()
        self.set_numvfs(PF1, 3, FLAG_RUNTIME)
        wait_for(lambda: 3 in mon.property_values(path, 'NumVFs'), what='PropertiesChanged NumVFs=3')
        wait_for(lambda: 3 in mon.property_values(path, 'DesiredNumVFs'),
                 what='PropertiesChanged DesiredNumVFs=3')
        wait_for(lambda: any(len(v) == 3 for v in mon.property_values(path, 'VirtualFunctions')),
                 what='PropertiesChanged VirtualFunctions with 3 paths')
        wait_for(lambda: 'enforced' in mon.property_values(path, 'State'), what='PropertiesChanged State=enforced')
        vf_added = [m for m in mon.signals('InterfacesAdded')
                    if m['payload']['data'][0].startswith(path + '/')]
        self.assertEqual(len(vf_added), 3, 'InterfacesAdded for the 3 VF objects')
        self.set_numvfs(PF1, 0, FLAG_RUNTIME)
        wait_for(lambda: 0 in mon.property_values(path, 'NumVFs'), what='PropertiesChanged NumVFs=0')
        wait_for(lambda: len([m for m in mon.signals('InterfacesRemoved')
                              if m['payload']['data'][0].startswith(path + '/')]) == 3,
                 what='InterfacesRemoved for the 3 VF objects')

    def test_count_enforced_on_pf_failed_for_a_vf(self):
        """A VF attribute the kernel refuses fails the PF, but its count is still enforced: 0 written
        by hand is put back (here the link settings fail: mock PFs have no netdev for rtnetlink)."""
        self.k.add_pf(PF1, total=7, uevent=False)
        write_pf_conf(self.etc, '10-first.conf', {'PciAddress': PF1}, 2,
                      extra='\n[VirtualFunction]\nVirtualFunction=0\nMACAddress=02:00:00:00:00:10\n')
        self.start()
        self.wait_pf(PF1, state='failed', numvfs=2)
        self.assertIn('VF 0', self.pf(PF1, 'LastError'))
        # as on igb, where the VFs' own uevents find their VF objects gone already: only the PF's
        # change uevent tells
        uevent = self.k._uevent
        vfs = [self.k.vfs[harness.vf_address(PF1, i)].devpath for i in range(2)]
        self.k._uevent = lambda path, action: None if any(path.startswith(v) for v in vfs) else uevent(path, action)
        try:
            self.assertEqual(self.k.set_numvfs(PF1, 0), 0)
        finally:
            self.k._uevent = uevent
        wait_for(lambda: self.k.pfs[PF1].numvfs == 2, timeout=15, what='the count put back on the failed PF')
        self.wait_pf(PF1, state='failed', numvfs=2)

    def test_interface_match_on_late_netdev(self):
        """A PF matched by Interface= whose netdev appears after the PCI device (a driver that registers
        it later) is managed once it does, and let go when it is renamed away from the match."""
        pf = self.k.add_pf(PF1, total=7, ifname='', uevent=False)
        write_pf_conf(self.etc, '10-late.conf', {'Interface': 'late0'}, 3)
        self.start()
        self.assertEqual(self.pf(PF1, 'State'), 'unmanaged')
        self.assertEqual(self.pf(PF1, 'DesiredNumVFs'), -1)
        pf.ifname = 'late0'
        self.k._add_netdev(pf.devpath, 'late0', uevent=True)
        self.wait_pf(PF1, numvfs=3)
        self.assertEqual(self.pf(PF1, 'Interface'), 'late0')
        self.assertTrue(self.pf(PF1, 'ConfigSource').endswith('10-late.conf'))

    def emits_change(self, path, iface):
        """The properties of iface that the vtable marks EMITS_CHANGE, from sriovd's introspection."""
        import xml.etree.ElementTree as ET
        xml = self.bus.busctl('introspect', '--xml-interface', 'io.sriovd', path).stdout
        node = ET.fromstring(xml)
        names = set()
        for i in node.iter('interface'):
            if i.get('name') != iface:
                continue
            for p in i.iter('property'):
                ann = {a.get('name'): a.get('value') for a in p.iter('annotation')}
                if ann.get('org.freedesktop.DBus.Property.EmitsChangedSignal', 'true') == 'true':
                    names.add(p.get('name'))
        self.assertTrue(names, 'no EMITS_CHANGE property of %s at %s' % (iface, path))
        return names

    def test_one_change_signal_path(self):
        """Every PropertiesChanged comes from the one queue: it carries each EMITS_CHANGE property of the
        object's vtable, and a method's reply comes after the signals of the state it produced."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.start()
        path = self.pf_path(PF1)
        mon = self.monitor()
        self.set_numvfs(PF1, 3, FLAG_RUNTIME)
        vf_path = self.vf_paths(PF1)[0]
        pf_props = self.emits_change(path, PF_IF)
        vf_props = self.emits_change(vf_path, VF_IF)
        self.assertIn('NumVFs', pf_props)
        self.assertNotIn('PciAddress', pf_props)

        with mon.cond:
            messages = list(mon.messages)
        call = [m for m in messages if m.get('type') == 'method_call' and m.get('member') == 'SetNumVFs']
        self.assertEqual(len(call), 1, 'one SetNumVFs call seen')
        reply_at = [i for i, m in enumerate(messages)
                    if m.get('type') == 'method_return' and m.get('reply_cookie') == call[0]['cookie'] and
                    m.get('destination') == call[0]['sender']]
        self.assertEqual(len(reply_at), 1, 'the SetNumVFs reply seen')
        changed = [(i, m) for i, m in enumerate(messages)
                   if m.get('type') == 'signal' and m.get('member') == 'PropertiesChanged']
        self.assertTrue(any(i < reply_at[0] and m['path'] == path and
                            m['payload']['data'][1].get('NumVFs', {}).get('data') == 3 for i, m in changed),
                        'PropertiesChanged NumVFs=3 of the PF before the reply')
        for i, m in changed:
            iface, props = m['payload']['data'][0], set(m['payload']['data'][1])
            want = {PF_IF: pf_props, VF_IF: vf_props}.get(iface)
            if want is not None:
                self.assertEqual(props, want, 'PropertiesChanged of %s carries every EMITS_CHANGE '
                                              'property of %s' % (m['path'], iface))

    def test_drift_put_back(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 4)
        self.start()
        self.wait_pf(PF1, numvfs=4)
        path = self.pf_path(PF1)
        mon = self.monitor()
        self.k.pfs[PF1].delay = 1.5     # the put-back write is slow, so the drift is visible
        seen = []
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                try:
                    seen.append(self.bus.get(path, PF_IF, 'State'))
                except BusError:
                    pass
                time.sleep(0.05)
        t = threading.Thread(target=poll)
        t.start()
        # someone writes behind sriovd's back: "echo 0 > sriov_numvfs" (it blocks for the delay too)
        self.assertEqual(self.k.set_numvfs(PF1, 0), 0)
        try:
            wait_for(lambda: len(self.k.writes(PF1)) >= 2, timeout=20, what='sriovd putting the count back')
            self.wait_pf(PF1, numvfs=4)
        finally:
            stop.set()
            t.join()
        states = mon.property_values(path, 'State') + seen
        self.assertIn('drift', states, 'State never showed drift; saw %r' % sorted(set(states)))
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4', '4'])
        self.assertEqual(len(self.k.virtfn_links(PF1)), 4)

    def test_lost_uevents_put_back(self):
        """A count changed while its uevents were lost to an overrun is put back by the re-read that
        follows the ENOBUFS (the kernel's overrun as the fake kernel emulates it; the real one in
        tests/vm/scenarios/72-uevent-storm.sh)."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 3)
        d = self.start()
        self.wait_pf(PF1, numvfs=3)
        self.k.uevent_overrun = True
        self.k.lose_uevents = True
        self.assertEqual(self.k.set_numvfs(PF1, 0), 0)
        self.k.lose_uevents = False
        self.assertEqual(self.k.overruns, 1)
        self.assertEqual(len(self.k.writes(PF1, by='harness')), 1)
        # the next uevent that fits (of another PF) wakes sriovd; its receive fails with ENOBUFS first
        self.k.uevent(self.k.pfs[PF2].devpath, 'change')
        wait_for(lambda: 'uevents were lost' in d.logtext(), what='the overrun logged')
        self.wait_pf(PF1, numvfs=3)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['3', '3'])

    def test_vfio_bound_refused_without_force(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 4)
        self.start()
        self.wait_pf(PF1, numvfs=4)
        vf1 = harness.vf_address(PF1, 1)
        self.k.bind_vf(vf1, 'vfio-pci')
        vpath = self.vf_paths(PF1)[1]
        wait_for(lambda: self.vf(vpath, 'Driver') == 'vfio-pci', what='VF1 driver vfio-pci on the bus')

        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'uint32:2', 'uint64:0')
        self.assertEqual(name, 'io.sriovd1.Error.Busy')
        self.assertIn(vf1, msg)
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 0)
        self.assertEqual(r.returncode, 1)
        self.assertIn(vf1, r.stderr + r.stdout)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4'])
        self.assertEqual(self.k.numvfs(PF1), 4)

        self.set_numvfs(PF1, 2, FLAG_FORCE)
        self.assertEqual(self.k.numvfs(PF1), 2)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4', '0', '2'])

    def test_forced_count_survives_a_crash_before_the_write(self):
        """sriovd killed after it persisted a forced count and before it wrote it: the next sriovd
        enforces it (forced), rather than refusing a count it was told to force."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 4)
        d = self.start()
        self.wait_pf(PF1, numvfs=4)
        self.k.bind_vf(harness.vf_address(PF1, 1), 'vfio-pci')
        entered, proceed = threading.Event(), threading.Event()
        store_numvfs = self.k.store_numvfs

        def never_written(pf, value):
            # sriovd dies before the write reaches the kernel
            entered.set()
            proceed.wait(30)
            return 0
        self.k.store_numvfs = never_written
        call = threading.Thread(target=lambda: self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs',
                                                                'uint32:2', 'uint64:%d' % FLAG_FORCE))
        call.start()
        try:
            self.assertTrue(entered.wait(20), 'sriovd never wrote sriov_numvfs')
            d.proc.kill()
            d.proc.wait()
        finally:
            proceed.set()
            call.join(30)
            self.k.store_numvfs = store_numvfs
        self.assertEqual(self.k.numvfs(PF1), 4)
        self.daemons.remove(d)
        d.stop()
        d = self.start(state_dir=d.state_dir, runtime_dir=d.runtime_dir, config_dirs=d.config_dirs)
        self.wait_pf(PF1, numvfs=2)
        self.assertIn('was forced', d.logtext())
        self.assertEqual(os.listdir(os.path.join(d.runtime_dir, 'state')).count('forced-' + PF1), 0,
                         'the mark of the forced count is gone once the kernel has it')

    def test_reload_lowering_refused_when_vfio_bound(self):
        """A file lowering the count is not applied while a VF is bound to vfio-pci."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 4)
        self.start()
        self.wait_pf(PF1, numvfs=4)
        vf3 = harness.vf_address(PF1, 3)
        self.k.bind_vf(vf3, 'vfio-pci')
        vpath = self.vf_paths(PF1)[3]
        wait_for(lambda: self.vf(vpath, 'Driver') == 'vfio-pci', what='VF3 driver vfio-pci on the bus')
        self.conf('10-first.conf', PF1, 1)
        harness.sriovctl(self.bus, 'reload')
        wait_for(lambda: vf3 in self.pf(PF1, 'LastError'), what='LastError naming %s' % vf3)
        self.assertNotEqual(self.pf(PF1, 'State'), 'enforced')
        self.assertEqual(self.k.numvfs(PF1), 4)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['4'])

    def test_out_of_range(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.conf('20-second.conf', PF2, 9)
        self.start()
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'uint32:8', 'uint64:0')
        self.assertEqual(name, 'io.sriovd1.Error.OutOfRange')
        self.assertIn('8', msg)
        self.assertIn('7', msg)
        self.assertEqual(self.k.numvfs(PF1), 0)
        # from a file: the PF is failed with both numbers
        self.wait_pf(PF2, state='failed')
        err = self.pf(PF2, 'LastError')
        self.assertIn('9', err)
        self.assertIn('7', err)
        self.assertEqual(self.k.numvfs(PF2), 0)

    def test_kernel_erange(self):
        """The kernel's own ERANGE (a TotalVFs that shrank under sriovd) maps to OutOfRange."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.start()
        self.k.pfs[PF1].total = 2     # the kernel now refuses above 2; sriovd still reads 7
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'uint32:5', 'uint64:0')
        self.assertEqual(name, 'io.sriovd1.Error.OutOfRange')
        self.assertIn('5', msg)

    def test_no_driver(self):
        self.k.add_pf(PF1, total=7, driver=None, uevent=False)
        self.conf('10-first.conf', PF1, 2)
        self.start()
        self.wait_pf(PF1, state='failed')
        err = self.pf(PF1, 'LastError')
        self.assertIn('driver', err.lower())
        self.assertEqual(self.k.numvfs(PF1), 0)
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'uint32:2', 'uint64:1')
        self.assertIn('driver', msg.lower())
        self.assertTrue(name.startswith('io.sriovd1.Error.'), name)

    def test_partial_enable(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.pfs[PF1].partial = 3
        self.conf('10-first.conf', PF1, 5)
        self.start()
        self.wait_pf(PF1, state='failed')
        err = self.pf(PF1, 'LastError')
        self.assertIn('3', err)
        self.assertIn('5', err)
        self.assertEqual(self.pf(PF1, 'NumVFs'), 3)
        self.k.pfs[PF1].partial = 1
        name, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'uint32:4', 'uint64:1')
        self.assertTrue(name.startswith('io.sriovd1.Error.'), name)
        self.assertIn('1', msg)
        self.assertIn('4', msg)


class TestConfigErrors(SriovdTestCase):
    def test_malformed_file(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        bad = self.conf('10-bad.conf', PF1, None, extra='\n[PhysicalFunction]\nNumVFs=lots\n')
        self.conf('20-good.conf', PF2, 2)
        # line of "NumVFs=lots": [Match], PciAddress=, blank, [PhysicalFunction], NumVFs= -> 5
        self.start()
        self.wait_pf(PF2, numvfs=2)
        d = self.daemons[-1]
        time.sleep(0.3)
        self.assertTrue(d.alive())
        self.assertEqual(self.k.writes(PF1), [])
        self.assertIn('%s:5' % bad, self.pf(PF1, 'LastError'))
        r = harness.sriovctl(self.bus, '--config-dir', self.etc, 'check-config')
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('%s:5' % bad, r.stdout + r.stderr)
        r = harness.sriovctl(self.bus, 'check-config', bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn('%s:5' % bad, r.stdout + r.stderr)
        r = subprocess.run([harness.sriovd_path(), '--check-config', '--config-dir', self.etc],
                           capture_output=True, text=True, env=harness.clean_env())
        self.assertNotEqual(r.returncode, 0)
        self.assertIn('%s:5' % bad, r.stdout + r.stderr)
        # fixing the file and reloading applies it
        self.conf('10-bad.conf', PF1, 1)
        r = harness.sriovctl(self.bus, 'reload')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_pf(PF1, numvfs=1)

    def test_fifo_config_file(self):
        """A FIFO named x.conf hung sriovd --check-config and the daemon in open(2): it is refused as
        not a regular file, the other files apply, and the error is reported on every PF, since
        which PF it was meant for cannot be known."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.conf('20-good.conf', PF2, 2)
        fifo = os.path.join(self.etc, 'pf.d', '10-x.conf')
        os.mkfifo(fifo)
        message = '%s: not a regular file (a FIFO)' % fifo

        start = time.time()
        r = subprocess.run([harness.sriovd_path(), '--check-config', '--config-dir', self.etc],
                           capture_output=True, text=True, env=harness.clean_env(), timeout=5)
        self.assertLess(time.time() - start, 1.0, 'sriovd --check-config took too long')
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(message, r.stderr)
        self.assertIn('20-good.conf: OK', r.stdout)

        sockpath = os.path.join(self.wd, 'notify.sock')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sockpath)
        s.settimeout(0.5)
        self.start(wait=False, notify_socket=sockpath)
        messages = []
        end = time.time() + 20
        while time.time() < end and not any('READY=1' in m.split('\n') for m in messages):
            try:
                messages.append(s.recv(4096).decode())
            except socket.timeout:
                continue
        s.close()
        self.assertTrue(any('READY=1' in m.split('\n') for m in messages), 'no READY=1: %r' % messages)
        self.daemons[-1].wait_ready()
        self.wait_pf(PF2, numvfs=2)
        self.assertIn(message, self.pf(PF1, 'LastError'))
        self.assertIn(message, self.pf(PF2, 'LastError'))
        self.assertEqual(self.k.writes(PF1), [])
        self.assertIn(message, self.daemons[-1].logtext())


def bus_label(s):
    """sd_bus_path_encode()'s label: every character but a-zA-Z0-9 as _xx, a leading digit too."""
    return ''.join(c if c.isascii() and (c.isalpha() or (c.isdigit() and i > 0)) else '_%02x' % ord(c)
                   for i, c in enumerate(s))


class TestPciDomains(SriovdTestCase):
    def test_five_digit_domain(self):
        """Intel VMD puts the devices behind it in PCI domains 10000 and up: "10000:e1:00.0" has
        one character more than an address sriovd kept in 13 bytes, and was cut to "10000:e1:00."."""
        vmd = '10000:e1:00.0'
        self.k.add_pf(vmd, total=7, uevent=False)
        self.k.add_pf(PF1, total=7, uevent=False)
        conf = self.conf('10-vmd.conf', vmd, 3, extra='\n[VirtualFunction]\nVirtualFunction=1\nDriver=vfio-pci\n')
        self.start()
        self.wait_pf(vmd, numvfs=3)
        self.assertEqual(self.sriovd_numvfs_writes(vmd), ['3'])
        self.assertEqual(self.k.writes(PF1), [])

        path = '/io/sriovd/pf/' + bus_label(vmd)
        self.assertEqual(self.pf_path(vmd), path)
        self.assertEqual(self.pf_path(vmd.upper()), path)
        self.assertEqual(self.pf_path('enp225s0'), path)
        self.assertIn(path, self.pf_paths())
        props = self.bus.get_all(path, PF_IF)
        self.assertEqual(props['PciAddress'], vmd)
        self.assertEqual(props['ConfigSource'], conf)
        self.assertEqual(props['State'], 'enforced')
        vfs = props['VirtualFunctions']
        self.assertEqual(vfs, [path + '/vf/%d' % i for i in range(3)])
        self.assertEqual(self.vf(vfs[1], 'PciAddress'), harness.vf_address(vmd, 1))
        self.assertEqual(self.vf(vfs[1], 'Driver'), 'vfio-pci')
        self.assertEqual(self.vf(vfs[0], 'Driver'), 'igbvf')
        # "e1:00.0" is domain 0000, another device
        name, _ = self.call_error(MGR, MGR_IF, 'GetPhysicalFunction', 'string:e1:00.0')
        self.assertEqual(name, 'io.sriovd1.Error.NoSuchDevice')

        r = harness.sriovctl(self.bus, 'show', vmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(vmd, r.stdout)
        self.assertIn(harness.vf_address(vmd, 2), r.stdout)
        r = harness.sriovctl(self.bus, '--json', 'status')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(vmd, json.dumps(json.loads(r.stdout)))

        # the API persists it under its full address, and it survives a restart
        r = harness.sriovctl(self.bus, 'set-numvfs', vmd, 5, '--force')   # VF 1 is on vfio-pci
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.numvfs(vmd), 5)
        self.assertTrue(os.path.exists(os.path.join(self.daemons[-1].state_dir, 'pf', vmd + '.conf')))
        self.restart(self.daemons[-1])
        self.assertEqual(self.pf(vmd, 'DesiredNumVFs'), 5)
        self.assertEqual(self.pf(vmd, 'ConfigSource'), 'api')


class TestUnprivileged(SriovdTestCase):
    def test_daemon_as_nobody(self):
        """The tier needs no privileges in sriovd: run it as uid 65534 (only root can switch)."""
        if os.geteuid() != 0:
            self.skipTest('already running unprivileged: every other scenario covers this')
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 3)
        d = self.start(user=NOBODY)
        self.wait_pf(PF1, numvfs=3)
        with open('/proc/%d/status' % d.proc.pid) as f:    # setpriv exec()s sriovd
            self.assertEqual(int(f.read().split('Uid:')[1].split()[1]), NOBODY)
        # a caller with the daemon's own uid may change things
        r = harness.sriovctl(self.bus, 'set-numvfs', PF2, 2, '--runtime', user=NOBODY)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.k.numvfs(PF2), 2)
        self.k.add_pf(PF3, total=7)
        wait_for(lambda: len(self.pf_paths()) == 3, what='hotplugged PF3 seen by unprivileged sriovd')


class TestAccess(SriovdTestCase):
    def test_non_root_refused(self):
        if os.geteuid() != 0:
            msg = ('needs root: sriovd accepts callers with its own uid, so a refused caller needs a '
                   'daemon running as root and busctl as uid 65534')
            if os.environ.get('CI') == 'true':
                self.fail(msg)
            self.skipTest(msg)
        self.k.add_pf(PF1, total=7, uevent=False)
        self.start()
        path = self.pf_path(PF1)
        # reading is open to everyone
        r = self.bus.busctl('--json=short', 'get-property', 'io.sriovd', path, PF_IF, 'TotalVFs', user=NOBODY)
        self.assertEqual(json.loads(r.stdout)['data'], 7)
        name, msg = self.call_error(path, PF_IF, 'SetNumVFs', 'uint32:2', 'uint64:0', user=NOBODY)
        self.assertEqual(name, 'org.freedesktop.DBus.Error.AccessDenied')
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 2, user=NOBODY)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.k.writes(), [])
        self.assertEqual(self.k.numvfs(PF1), 0)


class TestBlockedWrite(SriovdTestCase):
    def test_bus_answers_during_blocked_write(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.start()
        self.k.pfs[PF1].delay = 5
        p1 = self.pf_path(PF1)
        p2 = self.pf_path(PF2)
        result = {}

        def call():
            t = time.time()
            try:
                self.bus.call(p1, PF_IF, 'SetNumVFs', 'ut', 3, 0, timeout=60)
                result['ok'] = True
            except BusError as e:
                result['error'] = str(e)
            result['elapsed'] = time.time() - t
        th = threading.Thread(target=call)
        t0 = time.time()
        th.start()
        self.assertTrue(self.k.wait_writes(lambda: bool(self.k.inflight), timeout=10),
                        'sriovd did not write sriov_numvfs')
        time.sleep(0.3)
        for _ in range(3):
            t = time.time()
            self.assertEqual(self.bus.get(p2, PF_IF, 'TotalVFs'), 7)
            self.assertEqual(self.bus.get(MGR, MGR_IF, 'State'), 'running')
            self.assertLess(time.time() - t, 2.0, 'the bus took over 2 s to answer during a 5 s blocked write')
            time.sleep(0.3)
        self.assertNotIn('elapsed', result, 'SetNumVFs replied before the kernel was done')
        th.join(30)
        self.assertTrue(result.get('ok'), result)
        self.assertGreaterEqual(result['elapsed'], 4.5)
        self.assertGreaterEqual(time.time() - t0, 5)
        self.assertEqual(self.k.numvfs(PF1), 3)
        self.assertEqual(self.pf(PF1, 'NumVFs'), 3)


    def test_stuck_write_fails_the_pf(self):
        """A sysfs write that does not return within SRIOVD_KERNEL_TIMEOUT_SEC: the PF fails with a
        message naming the write, its caller is answered, the bus answers, another PF converges, and
        no second write starts on that PF until the stuck one returns."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.start(env={'SRIOVD_KERNEL_TIMEOUT_SEC': '2'})
        self.k.pfs[PF1].delay = 8
        p1, p2 = self.pf_path(PF1), self.pf_path(PF2)
        t = time.time()
        with self.assertRaises(BusError) as e:
            self.bus.call(p1, PF_IF, 'SetNumVFs', 'ut', 3, 0, timeout=60)
        self.assertLess(time.time() - t, 6, 'the caller waited for the stuck write')
        self.assertIn('has not returned after 2 s', str(e.exception))
        self.assertIn('sriov_numvfs', str(e.exception))
        self.assertEqual(self.pf(PF1, 'State'), 'failed')
        self.assertIn('writing "3" to', self.pf(PF1, 'LastError'))
        self.bus.call(p2, PF_IF, 'SetNumVFs', 'ut', 2, 0)
        self.assertEqual(self.k.numvfs(PF2), 2)
        with self.assertRaises(BusError) as e:
            self.bus.call(p1, PF_IF, 'SetNumVFs', 'ut', 2, 0)
        self.assertIn('has not returned: writing "3"', str(e.exception))
        self.assertEqual(self.pf(PF1, 'DesiredNumVFs'), 3, 'a refused call changes nothing')
        self.assertEqual(len(self.k.inflight), 1, 'no second write on the PF with a stuck one')
        self.assertEqual(self.k.writes(PF1), [], 'the stuck write is still stuck')
        # the write returns in the end: the PF converges to what was asked last
        wait_for(lambda: self.pf(PF1, 'State') == 'enforced' and self.k.numvfs(PF1) == 3, timeout=20,
                 what='PF1 enforced once the write returned')


class TestScale(SriovdTestCase):
    vf_netdevs = False

    def test_16_pfs_64_vfs(self):
        addrs = ['0000:%02x:00.0' % (i + 1) for i in range(16)]
        for a in addrs:
            self.k.add_pf(a, total=64, uevent=False)
            self.conf('%s.conf' % a.replace(':', '-'), a, 64)
        t = time.time()
        self.start()
        for a in addrs:
            self.wait_pf(a, numvfs=64, timeout=150)
        elapsed = time.time() - t
        paths = self.pf_paths()
        self.assertEqual(len(paths), 16)
        for a in addrs:
            self.assertEqual(len(self.k.virtfn_links(a)), 64)
            vfs = self.vf_paths(a)
            self.assertEqual(len(vfs), 64, a)
            self.assertEqual(self.vf(vfs[63], 'PciAddress'), harness.vf_address(a, 63))
        sys.stderr.write('[16x64 VFs enforced in %.1fs] ' % elapsed)


class TestStorm(SriovdTestCase):
    def test_hotplug_storm(self):
        """8 PFs hot-added at once, 4 of them removed while their (slow) writes are in flight."""
        write_pf_conf(self.etc, '50-all-igb.conf', {'Driver': 'igb'}, 6)
        self.start()
        addrs = ['0000:%02x:00.0' % (0x20 + i) for i in range(8)]
        for a in addrs:
            pf = self.k.add_pf(a, total=7)
            pf.delay = 0.5
        # remove every other one as soon as its write has started (or before: both are fair)
        for a in addrs[::2]:
            self.k.wait_writes(lambda: any(a in p for p in self.k.inflight) or self.k.writes(a), timeout=5)
            self.k.remove_pf(a)
        stay = addrs[1::2]
        wait_for(lambda: len(self.pf_paths()) == 4, timeout=30, what='4 PFs left on the bus')
        for a in stay:
            self.wait_pf(a, numvfs=6, timeout=30)
            self.assertEqual(len(self.vf_paths(a)), 6)
        self.assertEqual(sorted(self.bus.get(p, PF_IF, 'PciAddress') for p in self.pf_paths()), stay)
        self.assertTrue(self.daemons[-1].alive())

    def test_driver_failure_then_apply(self):
        """The driver's sriov_configure fails (ENOMEM): failed with the reason; Apply retries."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.pfs[PF1].fail = 12   # ENOMEM
        self.conf('10-first.conf', PF1, 3)
        self.start()
        self.wait_pf(PF1, state='failed')
        err = self.pf(PF1, 'LastError')
        self.assertIn('3', err)
        self.assertTrue(any(w in err.lower() for w in ('memory', 'resources', 'enomem')), err)
        self.k.pfs[PF1].fail = None
        self.bus.call(MGR, MGR_IF, 'Apply')
        self.assertEqual(self.k.numvfs(PF1), 3)     # Apply replies when done
        self.wait_pf(PF1, numvfs=3)
        self.assertEqual(self.pf(PF1, 'LastError'), '')


class TestUeventBursts(SriovdTestCase):
    """A burst of VF uevents costs one read of their PF, and nothing in it is lost. sriovd reads
    sriov_numvfs once for each read of a PF's state from sysfs; the fake kernel's shim counts those
    reads. sriovd is stopped (SIGSTOP) while a burst is made, so that all of it waits in its socket
    as a burst that comes faster than sriovd reads does; the socket holds net.unix.max_dgram_qlen
    (often 10) datagrams, and every burst here is smaller."""
    vf_netdevs = False

    @contextlib.contextmanager
    def paused(self, d):
        os.kill(d.proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(d.proc.pid, signal.SIGCONT)

    @staticmethod
    def uevents_seen(d):
        return d.logtext().count('uevent ')

    def quiet_reads(self, addr, quiet=1.0, timeout=30):
        """The reads of addr's sriov_numvfs so far, once sriovd has not read it for quiet seconds."""
        end = time.time() + timeout
        last, since = self.k.reads(addr), time.time()
        while time.time() < end:
            time.sleep(0.1)
            n = self.k.reads(addr)
            if n != last:
                last, since = n, time.time()
            elif time.time() - since >= quiet:
                return n
        self.fail('sriovd kept reading %s for %ss' % (addr, timeout))

    def burst(self, d, make, n_events):
        """Makes a burst while sriovd is stopped; returns the reads of PF1 it cost."""
        before = self.quiet_reads(PF1)
        seen = self.uevents_seen(d)
        with self.paused(d):
            make()
        wait_for(lambda: self.uevents_seen(d) - seen >= n_events, what='sriovd receiving %d uevents' % n_events)
        return self.quiet_reads(PF1) - before

    def test_burst_is_one_read(self):
        """Six change uevents of VFs and a VF rebound by hand: one read of the PF, and the rebound
        VF's Driver announced."""
        self.k.add_pf(PF1, total=16, uevent=False)
        self.conf('10-first.conf', PF1, 8)
        d = self.start(env=DEBUG)
        self.wait_pf(PF1, numvfs=8)
        mon = self.monitor()
        vfs = self.k.pfs[PF1].vfs
        vf_path = self.vf_paths(PF1)[7]

        def make():
            for a in vfs[:6]:
                self.k.uevent(self.k.vfs[a].devpath, 'change')
            self.k.bind_vf(vfs[7], 'vfio-pci')      # unbind, bind
        self.assertEqual(self.burst(d, make, 8), 1, 'reads of the PF for a burst of 8 VF uevents')
        wait_for(lambda: 'vfio-pci' in mon.property_values(vf_path, 'Driver'),
                 what='PropertiesChanged Driver=vfio-pci of VF 7')
        self.assertEqual(self.vf(vf_path, 'Driver'), 'vfio-pci')
        self.assertEqual(self.pf(PF1, 'State'), 'enforced')

    def test_vfs_added_and_removed_in_a_burst(self):
        """VFs created and destroyed by hand, each a burst (add and bind of each VF, or unbind and
        remove, and the PF's change): the VF objects come and go on the bus, one read each."""
        self.k.add_pf(PF1, total=7, uevent=False)
        d = self.start(env=DEBUG)
        mon = self.monitor()
        path = self.pf_path(PF1)

        self.assertEqual(self.burst(d, lambda: self.k.set_numvfs(PF1, 3), 7), 1, 'reads of the PF to add 3 VFs')
        wait_for(lambda: len(self.vf_paths(PF1)) == 3, what='3 VF objects')
        vf_paths = self.vf_paths(PF1)
        self.assertEqual(vf_paths, [path + '/vf/%d' % i for i in range(3)])
        for p in vf_paths:
            self.assertEqual(self.vf(p, 'Driver'), 'igbvf')
        wait_for(lambda: set(vf_paths) <= {m['payload']['data'][0] for m in mon.signals('InterfacesAdded')},
                 what='InterfacesAdded of the 3 VFs')
        self.assertEqual(self.bus.get(path, PF_IF, 'NumVFs'), 3)

        self.assertEqual(self.burst(d, lambda: self.k.set_numvfs(PF1, 0), 7), 1, 'reads of the PF to remove 3 VFs')
        wait_for(lambda: self.vf_paths(PF1) == [], what='no VF objects')
        wait_for(lambda: set(vf_paths) <= {m['payload']['data'][0] for m in mon.signals('InterfacesRemoved')},
                 what='InterfacesRemoved of the 3 VFs')
        self.assertEqual(self.bus.get(path, PF_IF, 'NumVFs'), 0)
        self.assertEqual(self.pf(PF1, 'State'), 'unmanaged')

    def test_count_changed_in_a_burst_put_back(self):
        """The count set to 0 by hand, its uevents one burst: the drift is seen and the count put back,
        with the VF objects gone and back on the bus."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 3)
        d = self.start(env=DEBUG)
        self.wait_pf(PF1, numvfs=3)
        mon = self.monitor()
        path = self.pf_path(PF1)
        vf_paths = self.vf_paths(PF1)

        seen = self.uevents_seen(d)
        with self.paused(d):
            self.assertEqual(self.k.set_numvfs(PF1, 0), 0)
        wait_for(lambda: self.uevents_seen(d) - seen >= 7, what='sriovd receiving the 7 uevents')
        self.wait_pf(PF1, numvfs=3)
        self.assertEqual(self.sriovd_numvfs_writes(PF1), ['3', '3'])
        self.assertIn('drift', mon.property_values(path, 'State'))
        wait_for(lambda: mon.property_values(path, 'State')[-1:] == ['enforced'], what='State enforced announced')
        removed = [m['payload']['data'][0] for m in mon.signals('InterfacesRemoved')]
        self.assertEqual(sorted(removed), vf_paths)
        wait_for(lambda: sorted(m['payload']['data'][0] for m in mon.signals('InterfacesAdded')) == vf_paths,
                 what='InterfacesAdded of the 3 VFs put back')
        self.assertEqual(self.vf_paths(PF1), vf_paths)

    def test_overruns_close_together_are_one_reread(self):
        """Overruns within the interval after a re-read of every PF wait for its end and are one
        re-read then, which still puts back a count changed while uevents were lost."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.k.add_pf(PF3, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 3)
        self.conf('20-second.conf', PF2, 2)
        d = self.start(env=dict(DEBUG, SRIOVD_RESYNC_INTERVAL_MSEC='5000'))
        self.wait_pf(PF1, numvfs=3)
        self.wait_pf(PF2, numvfs=2)

        def rereads():
            return [line for line in d.logtext().splitlines() if 'Reading every PF again' in line]

        def overrun(fn=None):
            n = d.logtext().count('uevents were lost')
            self.k.overrun(fn)
            # the next uevent that fits, of a PF nothing is configured for, wakes sriovd: ENOBUFS first
            self.k.uevent(self.k.pfs[PF3].devpath, 'change')
            wait_for(lambda: d.logtext().count('uevents were lost') > n, what='the overrun logged')

        overrun(lambda: self.k.set_numvfs(PF1, 0))
        wait_for(lambda: len(rereads()) == 1, what='a re-read of every PF')
        t1 = time.time()
        self.assertIn('(overruns: 1)', rereads()[0])
        overrun()
        overrun(lambda: self.k.set_numvfs(PF2, 0))
        self.assertEqual(len(rereads()), 1, 'the overruns inside the interval were read at once')
        wait_for(lambda: len(rereads()) == 2, timeout=30, what='the second re-read of every PF')
        self.assertIn('(overruns: 2)', rereads()[1])
        self.wait_pf(PF2, numvfs=2)
        self.wait_pf(PF1, numvfs=3)
        self.assertEqual(self.sriovd_numvfs_writes(PF2), ['2', '2'])
        put_back = self.k.writes(PF2)[-1]['start']
        self.assertGreaterEqual(put_back - t1, 2.5, 'PF2 put back %.1fs after the first re-read' % (put_back - t1))
        self.assertEqual(len(rereads()), 2)


class TestDeviceNames(SriovdTestCase):
    def test_device_id_unknown_to_pci_ids(self):
        """A NIC newer than the host's pci.ids (a vendor it knows, a device it does not): libpci calls its
        warning handler, which sriovd must have set (it crashed before)."""
        self.k.add_pf(PF1, total=7, uevent=False, vendor=0x15b3, device_id=0x10c9)
        self.start()
        path = self.pf_path(PF1)
        self.assertEqual(self.bus.get(path, PF_IF, 'VendorId'), 0x15b3)
        self.assertEqual(self.bus.get(path, PF_IF, 'Vendor'), 'Mellanox Technologies')
        self.assertEqual(self.bus.get(path, PF_IF, 'Model'), '')
        self.assertTrue(self.daemons[-1].alive())

    def test_names_of_pfs_found_at_start_and_later(self):
        """Start-up looks the names up from pci.ids once its PFs' kernel work began, a PF found later when it is
        found: either way a client reads them (Vendor and Model are const, they never change)."""
        self.k.add_pf(PF1, total=7, uevent=False)
        self.start()
        for dev in (PF1, 'enp1s0'):
            self.assertEqual(self.pf(dev, 'Vendor'), 'Intel Corporation')
            self.assertEqual(self.pf(dev, 'Model'), '82576 Gigabit Network Connection')
        self.k.add_pf(PF2, total=7)
        wait_for(lambda: PF2 in [self.bus.get(p, PF_IF, 'PciAddress') for p in self.pf_paths()],
                 what='the hot-added PF')
        self.assertEqual(self.pf(PF2, 'Vendor'), 'Intel Corporation')
        self.assertEqual(self.pf(PF2, 'Model'), '82576 Gigabit Network Connection')


class TestKernelErrors(SriovdTestCase):
    """The kernel's errno for a refused count, decoded with what fixes it, wherever sriovd reports it: the
    PF's LastError, the reply sriovctl prints, `sriovctl status` and `sriovctl doctor`."""

    def refused(self, errno_value, name, needles):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.pfs[PF1].fail = errno_value
        self.conf('10-first.conf', PF1, 3)
        self.start()
        self.wait_pf(PF1, state='failed')
        err = self.pf(PF1, 'LastError')
        self.assertIn('Failed to change NumVFs of %s (igb) from 0 to 3: ' % PF1, err)
        self.assertIn('(%s). Fix: ' % name, err)
        for n in needles:
            self.assertIn(n, err)

        r = harness.sriovctl(self.bus, 'status')
        self.assertEqual(r.returncode, 0, r.stderr)
        for n in ['(%s)' % name] + needles:
            self.assertIn(n, r.stdout)

        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 4)
        self.assertEqual(r.returncode, 1, r.stdout)
        for n in ['(%s)' % name, 'from 0 to 4'] + needles:
            self.assertIn(n, r.stderr)
        # the kernel's refusal is Failed on the bus, not what the contract's name for its errno means
        # (ENOSPC: NoFreeFunction)
        ename, msg = self.call_error(self.pf_path(PF1), PF_IF, 'SetNumVFs', 'uint32:2', 'uint64:0')
        self.assertEqual(ename, 'io.sriovd1.Error.Failed')
        self.assertIn('(%s). Fix: ' % name, msg)

        r = harness.sriovctl(self.bus, '--root', self.k.root, '--json', 'doctor')
        res = [x for x in json.loads(r.stdout) if x['check'] == 'sriovd' and x['device'] == PF1]
        self.assertEqual(len(res), 1, r.stdout)
        self.assertEqual(res[0]['status'], 'fail')
        self.assertIn('(%s)' % name, res[0]['summary'])
        self.assertNotIn('Fix:', res[0]['summary'])
        for n in needles:
            self.assertIn(n, res[0]['summary'] + ' ' + res[0]['fix'])
        self.assertTrue(res[0]['fix'].endswith('Then: sriovctl apply; sriovctl show %s for details.' % PF1),
                        res[0]['fix'])
        r = harness.sriovctl(self.bus, '--root', self.k.root, 'doctor')
        self.assertIn('Fix: ' + res[0]['fix'].split('\n')[0], r.stdout)

    def test_enospc(self):
        """The driver's sriov_configure runs out of interrupt vectors."""
        self.refused(28, 'ENOSPC', ['interrupt vectors', 'sriov_vf_msix_count',
                                    'devlink dev param set pci/%s name msix_vec_per_pf_max' % PF1])

    def test_enomem(self):
        """No room for the VFs' BARs or bus numbers (pci_enable_sriov()'s ENOMEM)."""
        self.refused(12, 'ENOMEM', ["BARs or bus numbers", 'pci=realloc', 'Above 4G Decoding'])

    def test_totalvfs_zero(self):
        """sriov_totalvfs 0 is SR-IOV off in the firmware: the vendor's tool, for this PF."""
        self.k.add_pf(PF1, total=0, uevent=False, vendor=0x15b3, driver='mlx5_core')
        self.start()
        r = harness.sriovctl(self.bus, 'set-numvfs', PF1, 4)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn('sriov_totalvfs is 0, SR-IOV is disabled in the firmware', r.stderr)
        self.assertIn('mlxconfig -d %s set SRIOV_EN=1 NUM_OF_VFS=4' % PF1, r.stderr)
        r = harness.sriovctl(self.bus, '--root', self.k.root, '--json', 'doctor')
        res = [x for x in json.loads(r.stdout) if x['check'] == 'sriov-capable' and x['device'] == PF1]
        self.assertEqual(len(res), 1, r.stdout)
        self.assertEqual(res[0]['status'], 'fail')
        self.assertIn('mlxconfig -d %s set SRIOV_EN=1 NUM_OF_VFS=8' % PF1, res[0]['fix'])


class TestClient(SriovdTestCase):
    def test_status_show_json_monitor(self):
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=7, uevent=False)
        self.conf('10-first.conf', PF1, 2)
        self.start()
        self.wait_pf(PF1, numvfs=2)

        r = harness.sriovctl(self.bus, 'status')
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].split()[:2] == ['PF', 'INTERFACE'], r.stdout)
        row1 = next(l for l in lines if l.startswith(PF1)).split()
        self.assertIn('enp1s0', row1)
        self.assertIn('igb', row1)
        self.assertIn('enforced', row1)
        row2 = next(l for l in lines if l.startswith(PF2)).split()
        self.assertIn('unmanaged', row2)

        r = harness.sriovctl(self.bus, '--no-legend', 'status')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len([l for l in r.stdout.splitlines() if l.strip()]), 2, r.stdout)

        r = harness.sriovctl(self.bus, '--json', 'status')
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        text = json.dumps(doc)
        self.assertIn(PF1, text)
        self.assertIn(PF2, text)

        r = harness.sriovctl(self.bus, 'show', PF1)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(harness.vf_address(PF1, 0), r.stdout)
        self.assertIn(harness.vf_address(PF1, 1), r.stdout)
        r = harness.sriovctl(self.bus, '--json', 'show', 'enp1s0')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(harness.vf_address(PF1, 1), json.dumps(json.loads(r.stdout)))
        r = harness.sriovctl(self.bus, 'show', '0000:09:00.0')
        self.assertEqual(r.returncode, 1)

        mon = subprocess.Popen([harness.sriovctl_path(), 'monitor'], env=self.bus.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = ''
        try:
            # it prints changes only; until it has subscribed, a change may pass unseen: change
            # the count until one is printed (each change is several property changes)
            os.set_blocking(mon.stdout.fileno(), False)
            for n in (1, 0, 1, 0, 1):
                time.sleep(0.5)
                r = harness.sriovctl(self.bus, 'set-numvfs', PF2, n, '--runtime')
                self.assertEqual(r.returncode, 0, r.stderr)
                time.sleep(0.5)
                out += mon.stdout.read() or ''
                if PF2 in out:
                    break
        finally:
            mon.terminate()
            rest, _ = mon.communicate(timeout=10)
            out += rest or ''
        self.assertIn(PF2, out, 'sriovctl monitor printed no change for %s:\n%s' % (PF2, out))


if __name__ == '__main__':
    unittest.main(verbosity=2)
