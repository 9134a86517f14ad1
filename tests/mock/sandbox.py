#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The mock-hardware sandbox: sriovd's main job shown without SR-IOV hardware or a VM.

Creates a umockdev testbed with two Intel 82576 PFs (7 VFs each) behind the fake kernel, a private
D-Bus system bus, and starts the build tree's sriovd on them with no configuration. Then shows
`sriovctl status` (before), installs two configuration files (PF 1: 4 VFs, PF 2: 2 VFs), runs
`sriovctl reload` and shows `sriovctl status` and `sriovctl show` (after), with the VFs the fake kernel
created in the testbed's sysfs. Exits and cleans up, unless --shell is given.

usage: sandbox.py [--build-dir DIR] [--shell] [-v]
  --build-dir DIR  meson build directory holding daemon/sriovd, client/sriovctl and tests/mock/
                   (default: $MOCK_BUILD_DIR, else ./build)
  --shell          afterwards, start $SHELL with DBUS_SYSTEM_BUS_ADDRESS pointing at the sandbox's bus
                   and sriovctl on PATH; leaving the shell ends the sandbox
  -v               print sriovd's log at the end
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PFS = ['0000:01:00.0', '0000:02:00.0']


def heading(text):
    print('\n\033[1m$ %s\033[0m' % text if sys.stdout.isatty() else '\n$ %s' % text, flush=True)


def run_ctl(bus, *args):
    heading('sriovctl ' + ' '.join(args))
    r = harness.sriovctl(bus, *args)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    sys.stdout.flush()
    return r.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build-dir', default=os.environ.get('MOCK_BUILD_DIR', 'build'))
    ap.add_argument('--shell', action='store_true')
    ap.add_argument('-v', '--verbose', action='store_true')
    a = ap.parse_args()

    os.environ['MOCK_BUILD_DIR'] = os.path.abspath(a.build_dir)
    for k in ('SRIOVD', 'SRIOVCTL', 'SRIOV_MOCK_SHIM', 'SRIOV_MOCK_TOOL'):
        os.environ.pop(k, None)
    harness.ensure_preload()
    for what, p in (('sriovd', harness.sriovd_path()), ('sriovctl', harness.sriovctl_path()),
                    ('the fake kernel shim', harness.shim_path())):
        if not os.path.exists(p):
            harness.die('%s not built: %s (run: meson setup %s && meson compile -C %s)' % (
                what, p, a.build_dir, a.build_dir))

    kernel = harness.FakeKernel().start()
    bus = harness.Bus()
    work = tempfile.mkdtemp(prefix='sriovd-sandbox.')
    daemon = None
    rc = 1
    try:
        for i, addr in enumerate(PFS):
            kernel.add_pf(addr, total=7, uevent=False)
        print('sandbox: testbed %s with PFs %s (Intel 82576, igb, 7 VFs each), bus %s' % (
            kernel.root, ', '.join(PFS), bus.address))
        etc = os.path.join(work, 'etc')
        os.makedirs(os.path.join(etc, 'pf.d'))
        daemon = harness.Daemon(kernel, bus, work, config_dirs=[etc])
        daemon.wait_ready()
        print('sandbox: sriovd started with --config-dir %s (no files yet)' % etc)

        run_ctl(bus, 'status')

        files = [harness.write_pf_conf(etc, '10-uplink.conf', {'PciAddress': PFS[0]}, 4),
                 harness.write_pf_conf(etc, '20-storage.conf', {'Interface': 'enp2s0'}, 2)]
        for f in files:
            heading('cat ' + f)
            with open(f) as fh:
                sys.stdout.write(fh.read())
        run_ctl(bus, 'reload')
        rc = run_ctl(bus, 'status')
        run_ctl(bus, 'show', PFS[0])

        heading('ls %s/sys/bus/pci/devices/%s/ (the fake kernel\'s sysfs)' % (kernel.root, PFS[0]))
        print('sriov_numvfs = %d; %s' % (kernel.numvfs(PFS[0]), ' '.join(
            '%s -> %s' % (l, os.readlink(os.path.join(kernel.sys, 'devices/pci0000:00', PFS[0], l)))
            for l in kernel.virtfn_links(PFS[0]))))

        if a.shell:
            ctl_dir = os.path.dirname(harness.sriovctl_path())
            env = bus.env({'PATH': ctl_dir + os.pathsep + os.environ.get('PATH', ''),
                           'PS1': '(sriovd-sandbox) \\w \\$ '})
            print('\nsandbox: a shell on the sandbox bus; try `sriovctl set-numvfs %s 6` or '
                  '`sriovctl monitor`; exit to end' % PFS[1])
            subprocess.call([os.environ.get('SHELL', '/bin/bash')], env=env)
        if not daemon.alive():
            print('sandbox: sriovd exited unexpectedly', file=sys.stderr)
            rc = 1
    finally:
        if daemon:
            daemon.stop()
            if a.verbose or rc != 0:
                heading('sriovd log')
                sys.stdout.write(daemon.logtext())
        bus.stop()
        kernel.stop()
        subprocess.call(['rm', '-rf', work])
    return rc


if __name__ == '__main__':
    sys.exit(main())
