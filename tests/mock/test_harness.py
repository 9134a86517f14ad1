#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Self-tests of the mock-hardware harness: the fake kernel must answer writes as Linux does before
any sriovd scenario can be trusted. Runs mock-tool (a small libudev/write(2) client) under the same
preloads sriovd gets."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import errno  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

PF1 = '0000:01:00.0'
PF2 = '0000:02:00.0'


class HarnessTest(unittest.TestCase):
    def setUp(self):
        for p in (harness.shim_path(), harness.tool_path()):
            if not p or not os.path.exists(p):
                self.fail('built helper missing: %r (set MOCK_BUILD_DIR or SRIOV_MOCK_SHIM/SRIOV_MOCK_TOOL)' % p)
        self.k = harness.FakeKernel().start()
        self.k.add_pf(PF1, total=7, uevent=False)
        self.k.add_pf(PF2, total=64, uevent=False)

    def tearDown(self):
        self.k.stop()

    def tool(self, *args, timeout=30):
        return subprocess.run([harness.tool_path()] + list(args), env=self.k.env(),
                              capture_output=True, text=True, timeout=timeout)

    def write(self, addr, attr, value, how='raw'):
        r = self.tool('write', '/sys/bus/pci/devices/%s/%s' % (addr, attr), value, how)
        return r.stdout.strip()

    def start_monitor(self, count, seconds=20, stall_ms=0):
        p = subprocess.Popen([harness.tool_path(), 'monitor', str(seconds), str(count), str(stall_ms)],
                             env=self.k.env(), stdout=subprocess.PIPE, text=True)
        self.assertEqual(p.stdout.readline().strip(), 'READY')
        return p

    def test_enumerate(self):
        out = self.tool('enumerate').stdout.split('\n')
        self.assertIn(PF1 + ' 0', out)
        self.assertIn(PF2 + ' 0', out)

    def test_enable_creates_vfs_and_uevents(self):
        mon = self.start_monitor(count=3 * 3 + 1)
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '3\n'), 'OK 2')
        out, _ = mon.communicate(timeout=30)
        self.assertEqual(self.k.numvfs(PF1), 3)
        self.assertEqual(self.k.virtfn_links(PF1), ['virtfn0', 'virtfn1', 'virtfn2'])
        d = os.path.join(self.k.sys, 'devices/pci0000:00')
        self.assertEqual(os.readlink(os.path.join(d, PF1, 'virtfn1')), '../0000:01:10.2')
        vf = os.path.join(d, '0000:01:10.2')
        self.assertEqual(os.readlink(os.path.join(vf, 'physfn')), '../' + PF1)
        self.assertTrue(os.readlink(os.path.join(vf, 'driver')).endswith('/igbvf'))
        self.assertTrue(os.path.isdir(os.path.join(vf, 'iommu_group')))
        self.assertTrue(os.path.isdir(os.path.join(vf, 'net', 'enp1s0v1')))
        lines = out.splitlines()
        # the "add" carries no DRIVER= (libudev may read the driver link by the time it prints)
        self.assertTrue(any(l.startswith('add pci /devices/pci0000:00/0000:01:10.0') for l in lines))
        self.assertIn('bind pci /devices/pci0000:00/0000:01:10.4 DRIVER=igbvf', lines)
        self.assertIn('add net /devices/pci0000:00/0000:01:10.2/net/enp1s0v1', lines)
        self.assertEqual(lines[-1], 'change pci /devices/pci0000:00/%s DRIVER=igb' % PF1)
        # the libudev enumeration a daemon does now sees the count
        self.assertIn(PF1 + ' 3', self.tool('enumerate').stdout.split('\n'))

    def test_every_write_path_is_intercepted(self):
        for how in ('raw', 'pwrite', 'fopen', 'fdopen', 'libudev'):
            self.assertEqual(self.write(PF1, 'sriov_numvfs', '2', how), 'OK 1', how)
            self.assertEqual(self.k.numvfs(PF1), 2, how)
            self.assertEqual(self.write(PF1, 'sriov_numvfs', '0', how), 'OK 1', how)
            self.assertEqual(self.k.numvfs(PF1), 0, how)
        self.assertEqual(len(self.k.writes(PF1)), 10)

    def test_errors(self):
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '8'), 'ERR %d ERANGE' % errno.ERANGE)
        self.assertEqual(self.write(PF1, 'sriov_numvfs', 'x'), 'ERR %d EINVAL' % errno.EINVAL)
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '-1'), 'ERR %d EINVAL' % errno.EINVAL)
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '4'), 'OK 1')
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '2'), 'ERR %d EBUSY' % errno.EBUSY)
        self.assertEqual(self.k.numvfs(PF1), 4)
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '4'), 'OK 1')     # same count: no-op
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '0'), 'OK 1')
        self.assertEqual(self.k.virtfn_links(PF1), [])
        self.assertFalse(os.path.exists(os.path.join(self.k.sys, 'devices/pci0000:00/0000:01:10.0')))
        # an unchanged file after a refused write (no O_TRUNC reached the testbed)
        self.assertEqual(self.k.attr(self.k.pfs[PF1].devpath, 'sriov_numvfs'), '0\n')

    def test_no_driver_enoent(self):
        self.k.add_pf('0000:03:00.0', total=7, driver=None)
        self.assertEqual(self.write('0000:03:00.0', 'sriov_numvfs', '2'), 'ERR %d ENOENT' % errno.ENOENT)

    def test_partial_enable(self):
        self.k.pfs[PF1].partial = 3
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '5'), 'OK 1')
        self.assertEqual(self.k.numvfs(PF1), 3)
        self.assertEqual(len(self.k.virtfn_links(PF1)), 3)

    def test_blocking_write(self):
        self.k.pfs[PF1].delay = 2
        t = time.time()
        done = []
        th = threading.Thread(target=lambda: done.append(self.write(PF1, 'sriov_numvfs', '1')))
        th.start()
        time.sleep(0.5)
        # another PF is not blocked by it
        self.assertEqual(self.write(PF2, 'sriov_numvfs', '1'), 'OK 1')
        self.assertEqual(done, [])
        th.join()
        self.assertEqual(done, ['OK 1'])
        self.assertGreaterEqual(time.time() - t, 2)

    def test_vfio_binding(self):
        self.assertEqual(self.write(PF1, 'sriov_drivers_autoprobe', '0'), 'OK 1')
        self.assertEqual(self.k.attr(self.k.pfs[PF1].devpath, 'sriov_drivers_autoprobe'), '0\n')
        self.assertEqual(self.write(PF1, 'sriov_numvfs', '2'), 'OK 1')
        vf = '0000:01:10.0'
        vfdir = os.path.join(self.k.sys, 'devices/pci0000:00', vf)
        self.assertFalse(os.path.lexists(os.path.join(vfdir, 'driver')))
        self.assertEqual(self.write(vf, 'driver_override', 'vfio-pci\n'), 'OK 9')
        self.assertEqual(self.k.attr(self.k.vfs[vf].devpath, 'driver_override'), 'vfio-pci\n')
        r = self.tool('write', '/sys/bus/pci/drivers_probe', vf)
        self.assertEqual(r.stdout.strip(), 'OK 12')
        self.assertTrue(os.readlink(os.path.join(vfdir, 'driver')).endswith('/vfio-pci'))
        r = self.tool('write', '/sys/bus/pci/drivers/vfio-pci/unbind', vf)
        self.assertEqual(r.stdout.strip(), 'OK 12')
        self.assertFalse(os.path.lexists(os.path.join(vfdir, 'driver')))
        r = self.tool('write', '/sys/bus/pci/drivers/igbvf/unbind', vf)
        self.assertEqual(r.stdout.strip(), 'ERR %d ENODEV' % errno.ENODEV)

    def test_hotplug_uevents(self):
        mon = self.start_monitor(count=3)
        self.k.add_pf('0000:05:00.0', total=7)
        out, _ = mon.communicate(timeout=30)
        self.assertEqual(out.splitlines(), [
            'add pci /devices/pci0000:00/0000:05:00.0 DRIVER=igb',
            'add net /devices/pci0000:00/0000:05:00.0/net/enp5s0',
            'bind pci /devices/pci0000:00/0000:05:00.0 DRIVER=igb'])
        self.k.set_numvfs('0000:05:00.0', 2)
        mon = self.start_monitor(count=2 * 3 + 1 + 3)
        self.k.remove_pf('0000:05:00.0')
        out, _ = mon.communicate(timeout=30)
        lines = out.splitlines()
        self.assertIn('remove pci /devices/pci0000:00/0000:05:10.2', lines)
        self.assertEqual(lines[-1], 'remove pci /devices/pci0000:00/0000:05:00.0')
        self.assertNotIn('0000:05:00.0', self.tool('enumerate').stdout)

    def test_slow_listener_gets_every_uevent(self):
        """A monitor that reads late still gets all 64 * 3 + 1 events (the sender waits for it)."""
        mon = self.start_monitor(count=64 * 3 + 1, stall_ms=1500)
        self.assertEqual(self.write(PF2, 'sriov_numvfs', '64'), 'OK 2')
        out, _ = mon.communicate(timeout=60)
        self.assertEqual(mon.returncode, 0)
        self.assertEqual(len(out.splitlines()), 64 * 3 + 1)
        self.assertTrue(out.splitlines()[-1].startswith('change pci /devices/pci0000:00/' + PF2))

    def test_scale_64(self):
        t = time.time()
        self.assertEqual(self.write(PF2, 'sriov_numvfs', '64'), 'OK 2')
        self.assertEqual(len(self.k.virtfn_links(PF2)), 64)
        self.assertTrue(os.path.isdir(os.path.join(self.k.sys, 'devices/pci0000:00/0000:02:1f.6')))
        sys.stderr.write('[64 VFs in %.2fs] ' % (time.time() - t))


if __name__ == '__main__':
    unittest.main(verbosity=2)
