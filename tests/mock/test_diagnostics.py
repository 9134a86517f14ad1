#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""io.sriovd1.Manager.RunDiagnostics(): sriovd runs its diagnostics helper (sriovd-doctor, the host
checks of `sriovctl doctor`) as a child process and replies with its records. The helper's results
are compared with `sriovctl doctor --json` run under the same fake kernel; helpers that hang, write
garbage or fail (a test build's SRIOVD_DOCTOR_HELPER) must end in a precise error, with the helper
gone and the daemon serving."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

harness.ensure_preload()

import json  # noqa: E402
import pwd  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import unittest  # noqa: E402

MANAGER = ('/io/sriovd', 'io.sriovd1.Manager')


class DiagnosticsTestCase(harness.MockTestCase):
    def start(self, env=None, **kw):
        d = harness.Daemon(self.k, self.bus, self.wd, env=env, **kw)
        self.daemons.append(d)
        d.wait_ready()
        return d

    def run_diagnostics(self, **kw):
        return self.bus.call(*MANAGER, 'RunDiagnostics', **kw)[0]

    def call_error(self, timeout=60):
        try:
            self.bus.call(*MANAGER, 'RunDiagnostics', timeout=timeout)
        except harness.BusError as e:
            return str(e)
        self.fail('RunDiagnostics() succeeded')

    def helper(self, name, body):
        path = os.path.join(self.wd, name)
        with open(path, 'w') as f:
            f.write('#!/bin/sh\n' + body)
        os.chmod(path, 0o755)
        return path

    def assert_serving(self):
        self.assertEqual(self.bus.get(*MANAGER, 'State'), 'running')


class TestDiagnostics(DiagnosticsTestCase):
    def test_checks_are_sriovctl_doctors(self):
        """The reply holds the host and PF checks `sriovctl doctor --json` reports, field by field,
        failures with their fix."""
        self.k.add_pf('0000:01:00.0', total=4, ifname='sriovdg0', uevent=False)
        self.start()
        checks = self.run_diagnostics()
        self.assertTrue(checks)
        for c in checks:
            self.assertEqual(len(c), 5, c)
            self.assertIn(c[2], ('ok', 'info', 'skip', 'warn', 'fail'), c)
            self.assertTrue(c[0] and c[3], c)
            self.assertEqual(bool(c[4]), c[2] in ('warn', 'fail'), c)

        r = subprocess.run([harness.sriovctl_path(), 'doctor', '--json'], env=self.k.env(dict(
            DBUS_SYSTEM_BUS_ADDRESS=self.bus.address)), capture_output=True, text=True, timeout=60)
        self.assertIn(r.returncode, (0, 1), r.stderr)
        # the daemon's section is sriovctl's own: it asks sriovd over the bus
        expected = [[c['check'], c['device'] or '', c['status'], c['summary'], c['fix'] or '']
                    for c in json.loads(r.stdout) if c['check'] not in ('sriovd', 'drift')]
        self.maxDiff = None
        self.assertEqual(checks, expected)
        self.assertIn(['0000:01:00.0'], [[c[1]] for c in checks], 'the PF has checks of its own')
        # the fake host has no IOMMU: a failure, with the fix to turn it on
        iommu = [c for c in checks if c[0] == 'iommu']
        self.assertEqual(iommu[0][2], 'fail', iommu)
        self.assertIn('IOMMU', iommu[0][4])

    def test_anyone_may_read(self):
        """Read-only, as the properties: an unprivileged caller gets the same checks."""
        self.start()
        uid = pwd.getpwnam('nobody').pw_uid
        self.assertEqual(self.run_diagnostics(user=uid), self.run_diagnostics())

    def test_concurrent_calls_share_one_run(self):
        """Calls made while the helper runs wait for its one result; the loop keeps serving."""
        count = os.path.join(self.wd, 'runs')
        helper = self.helper('slow', 'echo run >> %s\nsleep 2\nprintf "iommu\\0\\0ok\\0IOMMU on\\0\\0"\n' % count)
        self.start(env={'SRIOVD_DOCTOR_HELPER': helper})
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.run_diagnostics())) for _ in range(4)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.5)
        # the loop is not blocked: a property answers at once while the helper sleeps
        self.assert_serving()
        self.assertLess(time.monotonic() - t0, 1.8)
        for t in threads:
            t.join(30)
        self.assertEqual(results, [[['iommu', '', 'ok', 'IOMMU on', '']]] * 4)
        with open(count) as f:
            self.assertEqual(f.read(), 'run\n')
        # the next call runs the helper again
        self.run_diagnostics()
        with open(count) as f:
            self.assertEqual(f.read(), 'run\nrun\n')


class TestHelperFailures(DiagnosticsTestCase):
    def test_hanging_helper_is_killed(self):
        pidfile = os.path.join(self.wd, 'pid')
        helper = self.helper('hang', 'echo $$ > %s\nexec sleep 60\n' % pidfile)
        self.start(env={'SRIOVD_DOCTOR_HELPER': helper, 'SRIOVD_DOCTOR_TIMEOUT_SEC': '1'})
        t0 = time.monotonic()
        err = self.call_error()
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIn('did not finish within 1 s', err)
        with open(pidfile) as f:
            pid = int(f.read())
        # killed and reaped: no process, not even a zombie
        harness.wait_for(lambda: not os.path.exists('/proc/%d' % pid), timeout=5)
        self.assert_serving()

    def test_garbage_output(self):
        helper = self.helper('garbage', 'printf "iommu\\0\\0maybe\\0s\\0\\0"\n')
        self.start(env={'SRIOVD_DOCTOR_HELPER': helper})
        self.assertIn('no valid records', self.call_error())
        self.assert_serving()

    def test_file_name_not_utf8(self):
        """A check that quotes a file name which is not UTF-8 (a NetworkManager profile may be named
        with any bytes): the records still come, the stray byte as \\xNN, not a failed call."""
        helper = self.helper('latin1', 'printf "conflict\\0\\0warn\\0profile /etc/NM/caf\\351\\0remove it\\0'
                                       'iommu\\0\\0ok\\0on\\0\\0"\n')
        self.start(env={'SRIOVD_DOCTOR_HELPER': helper})
        checks = self.run_diagnostics()
        self.assertEqual(checks, [['conflict', '', 'warn', 'profile /etc/NM/caf\\xe9', 'remove it'],
                                  ['iommu', '', 'ok', 'on', '']])
        self.assert_serving()

    def test_unterminated_output(self):
        helper = self.helper('short', 'printf "iommu\\0\\0ok\\0s"\n')
        self.start(env={'SRIOVD_DOCTOR_HELPER': helper})
        self.assertIn('no valid records', self.call_error())

    def test_too_much_output(self):
        helper = self.helper('flood', 'exec cat /dev/zero\n')
        self.start(env={'SRIOVD_DOCTOR_HELPER': helper})
        self.assertIn('wrote more than sriovd reads', self.call_error())
        self.assert_serving()

    def test_failing_helper(self):
        helper = self.helper('fails', 'printf "iommu\\0\\0ok\\0s\\0\\0"\nexit 3\n')
        self.start(env={'SRIOVD_DOCTOR_HELPER': helper})
        self.assertIn('helper failed', self.call_error())

    def test_missing_helper(self):
        self.start(env={'SRIOVD_DOCTOR_HELPER': os.path.join(self.wd, 'nothing')})
        err = self.call_error()
        self.assertIn('Failed to start the diagnostics helper', err)
        self.assertIn('No such file', err)
        self.assert_serving()

    def test_stop_while_running(self):
        """SIGTERM while a call waits: the caller hears that sriovd is stopping, the helper dies."""
        pidfile = os.path.join(self.wd, 'pid')
        helper = self.helper('hang', 'echo $$ > %s\nexec sleep 60\n' % pidfile)
        d = self.start(env={'SRIOVD_DOCTOR_HELPER': helper})
        errors = []
        t = threading.Thread(target=lambda: errors.append(self.call_error()))
        t.start()
        harness.wait_for(lambda: os.path.exists(pidfile) and os.path.getsize(pidfile) > 0, timeout=10)
        with open(pidfile) as f:
            pid = int(f.read())
        d.stop()
        t.join(30)
        self.assertEqual(len(errors), 1)
        self.assertIn('sriovd is stopping', errors[0])
        self.assertFalse(os.path.exists('/proc/%d' % pid))


if __name__ == '__main__':
    unittest.main(verbosity=2)
