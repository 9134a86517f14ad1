#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Browser tests of the Cockpit page (cockpit/): headless Chromium from Debian, driven over the DevTools
protocol by puppeteer-core (cockpit.test.mjs, node's test runner), against cockpit-ws serving a local
session whose system bus is the mock tier's private bus, with the real sriovd on mock hardware
(tests/mock/harness.py).

This script builds that world, then runs the node tests in it:
- the fake kernel with two Intel 82576 PFs, 0000:01:00.0 (sriovweb1, 3 VFs from a file) and 0000:02:00.0
  (sriovweb2, unmanaged), a private dbus-daemon with python-dbusmock's polkitd (refusing every check
  until a test allows an action) and sriovd as root;
- a persistent lease of a VF of 0000:01:00.0 for consumer "vm-web";
- cockpit-ws --local-session on 127.0.0.1 three times: as root (administrative access), as uid 65534
  (limited access), and as uid 65534 with a superuser bridge that is not root (superuser-bridge.py:
  administrative access for Cockpit, polkit's decision for sriovd), each with XDG_DATA_DIRS pointing
  at a folder where cockpit/sriovd is the checkout's cockpit/ (the page runs no program: the doctor's
  checks come from RunDiagnostics());
- npm ci of package-lock.json into BUILD/tests/browser/ when it is not there yet.

usage: run.py [--build-dir DIR] [--screenshots DIR] [--keep] [node test name pattern]
  --keep  leave the world running after the tests and print its URLs (Ctrl-C ends it)

Missing Chromium, cockpit-ws, cockpit-bridge, node or npm is a failure, not a skip (tools/install-deps.sh
installs them)."""

import argparse
import json
import os
import queue
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'mock'))
import harness  # noqa: E402

PF1 = '0000:01:00.0'
PF2 = '0000:02:00.0'
IF1 = 'sriovweb1'
IF2 = 'sriovweb2'
NOBODY = 65534
COCKPIT_WS = ['/usr/lib/cockpit/cockpit-ws', '/usr/libexec/cockpit-ws']
CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser']


def die(msg):
    sys.stderr.write('browser tests: %s\n' % msg)
    sys.exit(1)


def first_existing(paths, what):
    for p in paths:
        if os.path.exists(p):
            return p
    die('%s not found (%s); run tools/install-deps.sh as root' % (what, ', '.join(paths)))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            die('cockpit-ws exited with %s' % proc.returncode)
        try:
            with socket.create_connection(('127.0.0.1', port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    die('cockpit-ws did not listen on %d within %ds' % (port, timeout))


def npm_ci(build_dir):
    """node_modules for the tests, in the build directory (never in the source tree), installed again
    when package-lock.json changed."""
    dest = os.path.join(build_dir, 'tests', 'browser')
    os.makedirs(dest, exist_ok=True)
    lock = os.path.join(HERE, 'package-lock.json')
    stamp = os.path.join(dest, 'node_modules', '.sriovd-lock')
    with open(lock) as f:
        want = f.read()
    if os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == want:
                return dest
    for name in ('package.json', 'package-lock.json'):
        shutil.copy(os.path.join(HERE, name), dest)
    npm = shutil.which('npm') or die('npm not found; run tools/install-deps.sh as root')
    r = subprocess.run([npm, 'ci', '--no-audit', '--no-fund', '--prefer-offline'], cwd=dest)
    if r.returncode != 0:
        die('npm ci failed in %s' % dest)
    with open(stamp, 'w') as f:
        f.write(want)
    return dest


class Polkit:
    """python-dbusmock's polkitd template on the private bus (as in tests/mock/test_leases.py): it
    refuses every action until the tests allow some with busctl (org.freedesktop.DBus.Mock.SetAllowed)."""

    def __init__(self, bus):
        self.proc = subprocess.Popen(['/usr/bin/python3', '-m', 'dbusmock', '--system', '--template', 'polkitd'],
                                     env=bus.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=harness._die_with_parent)
        harness.wait_for(lambda: bus.has_name('org.freedesktop.PolicyKit1') or self.proc.poll() is not None,
                         what='the mock polkitd on the bus')
        if self.proc.poll() is not None:
            die('the mock polkitd exited with %s (python3-dbusmock; tools/install-deps.sh)' % self.proc.returncode)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


class World:
    def __init__(self, build_dir):
        self.build_dir = build_dir
        self.procs = []
        self.k = harness.FakeKernel().start()
        self.bus = harness.Bus()
        self.wd = tempfile.mkdtemp(prefix='sriovd-browser.')
        os.chmod(self.wd, 0o755)
        self.etc = os.path.join(self.wd, 'etc')
        # Interface names no host has: sriovd's rtnetlink requests go to the host's own interfaces.
        for addr, ifname in ((PF1, IF1), (PF2, IF2)):
            if os.path.exists('/sys/class/net/' + ifname):
                die('the host has an interface %s' % ifname)
            self.k.add_pf(addr, total=7, ifname=ifname, uevent=False)
        harness.write_pf_conf(self.etc, '10-uplink.conf', {'PciAddress': PF1}, 3)
        self.daemon = harness.Daemon(self.k, self.bus, self.wd, config_dirs=[self.etc])
        self.daemon.wait_ready()
        harness.wait_for(lambda: self.prop(PF1, 'State') == 'enforced' and self.k.numvfs(PF1) == 3,
                         timeout=20, what='%s enforced with 3 VFs' % PF1)
        harness.wait_for(lambda: all(self.bus.get(v, 'io.sriovd1.VirtualFunction', 'Driver') == 'igbvf'
                                     for v in self.prop(PF1, 'VirtualFunctions')),
                         timeout=20, what='the VFs of %s bound to igbvf' % PF1)
        self.lease = self.bus.call('/io/sriovd', 'io.sriovd1.Manager', 'RequestVirtualFunction', 'sa{sv}',
                                   PF1, 2, 'Consumer', 's', 'vm-web', 'Persistent', 'b', 'true')[0]

        # The page, found by cockpit-bridge under $XDG_DATA_DIRS/cockpit/.
        share = os.path.join(self.wd, 'share')
        os.makedirs(os.path.join(share, 'cockpit'))
        os.symlink(os.path.join(TOP, 'cockpit'), os.path.join(share, 'cockpit', 'sriovd'))
        os.chmod(share, 0o755)
        self.ws = first_existing(COCKPIT_WS, 'cockpit-ws')
        self.bridge = shutil.which('cockpit-bridge') or die('cockpit-bridge not found; run '
                                                             'tools/install-deps.sh as root')
        # A third session's administrative access: a package with only a "privileged" bridge, which
        # Cockpit starts as its superuser bridge. It is cockpit-bridge as the same unprivileged user
        # behind superuser-bridge.py (no sudo here), so Cockpit says the session has administrative
        # access while its calls reach sriovd from uid 65534, and polkit (the mock polkitd below)
        # decides them.
        delegated = os.path.join(self.wd, 'share-delegated')
        os.makedirs(os.path.join(delegated, 'cockpit', 'sriovd-test-superuser'))
        os.symlink(os.path.join(TOP, 'cockpit'), os.path.join(delegated, 'cockpit', 'sriovd'))
        with open(os.path.join(delegated, 'cockpit', 'sriovd-test-superuser', 'manifest.json'), 'w') as f:
            json.dump({'bridges': [{'privileged': True, 'label': 'test',
                                    'spawn': [os.path.join(HERE, 'superuser-bridge.py'), self.bridge]}]}, f)
        os.chmod(delegated, 0o755)
        self.polkit = Polkit(self.bus)
        self.env = self.bus.env({
            'XDG_DATA_DIRS': share + ':/usr/local/share:/usr/share',
        })
        self.url_admin = self.start_ws(None)
        self.url_limited = self.start_ws(NOBODY)
        self.url_delegated = self.start_ws(NOBODY, data_dirs=delegated + ':/usr/local/share:/usr/share')
        self.control = self.start_control()

    def start_control(self):
        """A unix socket for the node tests to change what only this process can: one command per
        connection ("add-pf ADDR IFNAME", "remove-pf ADDR", "stop-daemon", "start-daemon"), answered
        with "ok" or "error: ..." once done."""
        world = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                words = self.rfile.readline().decode().split()
                done = queue.Queue()
                world.commands.put((words, done))
                self.wfile.write(done.get().encode())

        self.commands = queue.Queue()
        path = os.path.join(self.wd, 'control.sock')
        self.server = socketserver.ThreadingUnixStreamServer(path, Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return path

    def serve(self, proc):
        """Runs the control socket's commands until proc exits. On this thread: a process started
        here gets SIGTERM when the thread that started it ends (PR_SET_PDEATHSIG)."""
        while proc.poll() is None:
            try:
                words, done = self.commands.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.command(*words)
                done.put('ok\n')
            except Exception as e:     # reported to the test, which fails on it
                done.put('error: %r\n' % e)
        return proc.returncode

    def command(self, verb, *args):
        if verb == 'add-pf':
            addr, ifname = args
            if os.path.exists('/sys/class/net/' + ifname):
                raise RuntimeError('the host has an interface %s' % ifname)
            self.k.add_pf(addr, total=7, ifname=ifname)
        elif verb == 'remove-pf':
            self.k.remove_pf(args[0])
        elif verb == 'stop-daemon':
            self.daemon.stop()
        elif verb == 'start-daemon':
            d = self.daemon
            self.daemon = harness.Daemon(self.k, self.bus, self.wd, config_dirs=d.config_dirs,
                                         state_dir=d.state_dir, runtime_dir=d.runtime_dir)
            self.daemon.wait_ready()
        else:
            raise ValueError('unknown command %s' % verb)

    def prop(self, pf, name):
        path = self.bus.call('/io/sriovd', 'io.sriovd1.Manager', 'GetPhysicalFunction', 's', pf)[0]
        return self.bus.get(path, 'io.sriovd1.PhysicalFunction', name)

    def start_ws(self, uid, data_dirs=None):
        port = free_port()
        home = tempfile.mkdtemp(prefix='home.', dir=self.wd)
        cmd = [self.ws, '--port', str(port), '--address', '127.0.0.1', '--local-session=' + self.bridge]
        if uid is not None:
            os.chown(home, uid, uid)
            cmd = ['setpriv', '--reuid=%d' % uid, '--regid=%d' % uid, '--clear-groups',
                   '--pdeathsig', 'TERM'] + cmd
        env = dict(self.env, HOME=home, XDG_RUNTIME_DIR=home)
        if data_dirs:
            env['XDG_DATA_DIRS'] = data_dirs
        log = open(os.path.join(self.wd, 'cockpit-ws-%d.log' % port), 'w')
        p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                             preexec_fn=harness._die_with_parent)
        self.procs.append((p, log))
        wait_port(port, p)
        return 'http://127.0.0.1:%d/cockpit/@localhost/sriovd/index.html' % port

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        for p, log in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log.close()
        rc = self.daemon.stop(check=False)
        self.polkit.stop()
        self.bus.stop()
        self.k.stop()
        return rc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build-dir', default=os.environ.get('MOCK_BUILD_DIR', os.path.join(TOP, 'build')))
    ap.add_argument('--screenshots')
    ap.add_argument('--keep', action='store_true')
    ap.add_argument('pattern', nargs='?')
    a = ap.parse_args()
    build_dir = os.path.abspath(a.build_dir)
    os.environ.setdefault('MOCK_BUILD_DIR', build_dir)
    harness.ensure_preload()
    chromium = first_existing(CHROMIUM, 'Chromium')
    node = shutil.which('node') or die('node not found; run tools/install-deps.sh as root')
    first_existing(COCKPIT_WS, 'cockpit-ws')
    modules = npm_ci(build_dir)
    shots = os.path.abspath(a.screenshots or os.path.join(build_dir, 'tests', 'browser', 'screenshots'))
    os.makedirs(shots, exist_ok=True)

    world = World(build_dir)
    rc = 1
    try:
        env = world.bus.env({
            'NODE_PATH': os.path.join(modules, 'node_modules'),
            'CHROMIUM': chromium,
            'URL_ADMIN': world.url_admin,
            'URL_LIMITED': world.url_limited,
            'URL_DELEGATED': world.url_delegated,
            'SYSFS': world.k.sys,
            'SRIOVCTL': os.path.abspath(harness.sriovctl_path()),
            'STATE_DIR': world.daemon.state_dir,
            'CONTROL': world.control,
            'LEASE': world.lease,
            'PF1': PF1,
            'PF2': PF2,
            'SCREENSHOTS': shots,
            'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
        })
        if a.keep:
            print(json.dumps({'admin': world.url_admin, 'limited': world.url_limited,
                              'delegated': world.url_delegated, 'control': world.control,
                              'DBUS_SYSTEM_BUS_ADDRESS': world.bus.address}, indent=2), flush=True)
            try:
                world.serve(subprocess.Popen(['sleep', 'infinity'], preexec_fn=harness._die_with_parent))
            except KeyboardInterrupt:
                return 0
        cmd = [node, '--test']
        if a.pattern:
            cmd += ['--test-name-pattern', a.pattern]
        cmd.append(os.path.join(HERE, 'cockpit.test.mjs'))
        # node resolves imports of an ES module from the file's folder, not NODE_PATH: the test imports
        # puppeteer-core by the absolute path that MODULES gives.
        env['MODULES'] = os.path.join(modules, 'node_modules')
        node_proc = subprocess.Popen(cmd, env=env, preexec_fn=harness._die_with_parent)
        rc = world.serve(node_proc)
        if not world.daemon.alive():
            sys.stderr.write('browser tests: sriovd died (%s)\n' % world.daemon.proc.returncode)
            rc = 1
    finally:
        if rc != 0:
            sys.stderr.write('----- sriovd log -----\n%s\n' % world.daemon.logtext()[-8000:])
            for p, log in world.procs:
                log.flush()
                with open(log.name) as f:
                    sys.stderr.write('----- %s -----\n%s\n' % (os.path.basename(log.name), f.read()[-4000:]))
        world.stop()
        shutil.rmtree(world.wd, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
