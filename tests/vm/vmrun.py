#!/usr/bin/python3
"""Runs sriovd scenarios in a QEMU guest with emulated SR-IOV NICs (Intel 82576, QEMU's igb).

The guest is Debian's own kernel (unpacked by tools/vm-deps.sh into the cache folder) booted under TCG on
a q35 machine with an emulated Intel IOMMU, N igb PFs each behind its own pcie-root-port and spare root
ports for hotplug. Its root is the host's root, read-only over virtio-9p, with a tmpfs overlay on top, so
the guest runs the host's udevd, dbus-daemon, iproute2 and the build tree's sriovd and sriovctl with
nothing copied. A read-write 9p share (/vm in the guest) carries the plan in and the results, logs and
hotplug requests out. One boot runs every selected scenario of a mode and boot kind (--boot: with the
emulated IOMMU, the default, or without it for the scenarios that say `# vm-boot: no-iommu`).

Only the Python standard library is used; QMP is plain JSON over the unix socket.
"""

import argparse
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
SCENARIO_DIR = os.path.join(HERE, 'scenarios')
GUEST_DIR = os.path.join(HERE, 'guest')
DEPS_HINT = 'run tools/vm-deps.sh as root to install QEMU >= 8 (bookworm-backports) and the guest kernel'

# Modules the initramfs needs to mount the 9p root and the overlay. Their dependencies are resolved
# with modprobe --show-depends against the unpacked kernel, so the order follows the kernel's own
# modules.dep (virtio_ring, virtio, virtio_pci_*_dev, virtio_pci, netfs, fscache, 9pnet, ...).
INITRAMFS_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay']

EXIT_SKIP = 77
BOOTS = ('iommu', 'no-iommu')


class Skip(Exception):
    pass


def log(msg):
    print(f'vmrun: {msg}', file=sys.stderr, flush=True)


def missing_dependency(msg):
    """Missing QEMU igb support or kernel: a failure, or a skip when SRIOVD_VM_ALLOW_SKIP=1."""
    text = f'{msg}; {DEPS_HINT}'
    if os.environ.get('SRIOVD_VM_ALLOW_SKIP') == '1':
        log(f'SKIP: {text}')
        sys.exit(EXIT_SKIP)
    log(f'FAIL: {text} (set SRIOVD_VM_ALLOW_SKIP=1 to skip instead)')
    sys.exit(1)


# ---------------------------------------------------------------------------------------------------
# Host prerequisites


def find_qemu():
    qemu = os.environ.get('SRIOVD_VM_QEMU') or shutil.which('qemu-system-x86_64')
    if not qemu:
        missing_dependency('qemu-system-x86_64 not found')
    out = subprocess.run([qemu, '-device', 'help'], capture_output=True, text=True).stdout
    if '"igb"' not in out:
        ver = subprocess.run([qemu, '--version'], capture_output=True, text=True).stdout.split('\n')[0]
        missing_dependency(f'{qemu} has no igb device ({ver}; igb needs QEMU >= 8.0)')
    return qemu


class Kernel:
    def __init__(self, cache, line=''):
        """line: '' for the default kernel, or a second line tools/vm-deps.sh fetches ('6.12')."""
        self.cache = cache
        vfile = os.path.join(cache, 'kernel-version' + (f'-{line}' if line else ''))
        if not os.path.exists(vfile):
            missing_dependency(f'no guest kernel{" " + line if line else ""} in {cache} ({vfile} missing)')
        v = open(vfile).read().strip()
        self.root = os.path.join(cache, 'kernel', v)
        if not os.path.exists(os.path.join(self.root, '.complete')):
            missing_dependency(f'guest kernel {v} in {self.root} is incomplete')
        self.version = os.listdir(os.path.join(self.root, 'lib', 'modules'))[0]
        self.vmlinuz = os.path.join(self.root, 'boot', f'vmlinuz-{self.version}')
        self.modules = os.path.join(self.root, 'lib', 'modules')

    def initramfs_modules(self):
        """Module files in load order, without duplicates."""
        seen, order = set(), []
        for m in INITRAMFS_MODULES:
            out = subprocess.run(['modprobe', '-d', self.root, '-S', self.version, '--show-depends', m],
                                 capture_output=True, text=True, check=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if parts and parts[0] == 'insmod' and parts[1] not in seen:
                    seen.add(parts[1])
                    order.append(parts[1])
        return order


# ---------------------------------------------------------------------------------------------------
# initramfs: a newc cpio written here, so nothing but busybox-static is needed on the host


class Cpio:
    def __init__(self):
        self.data = bytearray()
        self.ino = 1

    def _entry(self, name, mode, body=b'', rdev=(0, 0)):
        name_b = name.encode() + b'\0'
        hdr = '070701' + ''.join(f'{x:08x}' for x in (
            self.ino, mode, 0, 0, 1, 0, len(body), 0, 0, rdev[0], rdev[1], len(name_b), 0))
        self.ino += 1
        self.data += hdr.encode() + name_b
        self.data += b'\0' * (-len(self.data) % 4)
        self.data += body
        self.data += b'\0' * (-len(self.data) % 4)

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, body, perm=0o644):
        self._entry(name, stat.S_IFREG | perm, body)

    def symlink(self, name, target):
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self):
        self._entry('TRAILER!!!', 0)
        self.data += b'\0' * (-len(self.data) % 512)
        return bytes(self.data)


def decompress_module(path):
    if path.endswith('.xz'):
        return subprocess.run(['xz', '-dc', path], capture_output=True, check=True).stdout
    if path.endswith('.zst'):
        return subprocess.run(['zstd', '-dc', path], capture_output=True, check=True).stdout
    with open(path, 'rb') as f:
        return f.read()


def build_initramfs(kernel, path):
    busybox = '/bin/busybox'
    if not os.path.exists(busybox):
        missing_dependency('/bin/busybox (Debian package busybox-static) not found')
    c = Cpio()
    for d in ('bin', 'dev', 'proc', 'sys', 'lower', 'upper', 'newroot', 'modules'):
        c.dir(d)
    c.chardev('dev/console', 5, 1)
    c.chardev('dev/null', 1, 3)
    with open(busybox, 'rb') as f:
        c.file('bin/busybox', f.read(), 0o755)
    c.symlink('bin/sh', 'busybox')
    names = []
    for i, m in enumerate(kernel.initramfs_modules()):
        base = re.sub(r'\.(xz|zst|gz)$', '', os.path.basename(m))
        name = f'{i:02d}-{base}'
        c.file(f'modules/{name}', decompress_module(m))
        names.append(name)
    c.file('modules/order', ('\n'.join(names) + '\n').encode())
    with open(os.path.join(GUEST_DIR, 'initramfs-init'), 'rb') as f:
        c.file('init', f.read(), 0o755)
    with open(path, 'wb') as f:
        f.write(c.finish())


# ---------------------------------------------------------------------------------------------------
# QMP


class QMP:
    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b''
        self.events = []
        self.lock = threading.Lock()
        self._read()  # greeting
        self.cmd('qmp_capabilities')

    def _read(self):
        while b'\n' not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('QMP connection closed')
            self.buf += chunk
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def cmd(self, name, **args):
        with self.lock:
            msg = {'execute': name}
            if args:
                msg['arguments'] = args
            self.sock.sendall(json.dumps(msg).encode() + b'\n')
            while True:
                r = self._read()
                if 'event' in r:
                    self.events.append(r)
                    continue
                if 'error' in r:
                    raise RuntimeError(f'QMP {name}: {r["error"].get("desc", r["error"])}')
                return r.get('return')

    def wait_event(self, pred, timeout):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for i, e in enumerate(self.events):
                    if pred(e):
                        return self.events.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    r = self._read()
                except socket.timeout:
                    return None
                finally:
                    self.sock.settimeout(None)
                if 'event' in r:
                    self.events.append(r)


# ---------------------------------------------------------------------------------------------------
# The machine


class Machine:
    """The q35 machine: static PFs pf0..pfN-1 on rp0..rpN-1, spare root ports for hotplug."""

    def __init__(self, pfs, spare):
        self.pfs = pfs
        self.ports = [f'rp{i}' for i in range(pfs + spare)]
        self.static = {f'pf{i}': f'rp{i}' for i in range(pfs)}
        self.present = dict(self.static)   # device id -> root port
        self.hotplug_seq = 0
        self.qmp = None

    def qemu_args(self):
        args = []
        for i, port in enumerate(self.ports):
            args += ['-device', f'pcie-root-port,id={port},chassis={i + 1},slot={i + 1}']
        for dev, port in self.static.items():
            n = dev[2:]
            args += ['-netdev', f'hubport,id=n{dev},hubid={n}',
                     '-device', f'igb,id={dev},netdev=n{dev},bus={port}']
        return args

    def add(self, port=None):
        used = set(self.present.values())
        if port is None:
            free = [p for p in self.ports if p not in used]
            if not free:
                raise RuntimeError('no free root port')
            port = free[0]
        elif port in used:
            raise RuntimeError(f'root port {port} is in use')
        self.hotplug_seq += 1
        dev = f'hp{self.hotplug_seq}'
        self.qmp.cmd('netdev_add', type='hubport', id=f'n{dev}', hubid=100 + self.hotplug_seq)
        self.qmp.cmd('device_add', driver='igb', id=dev, netdev=f'n{dev}', bus=port)
        self.present[dev] = port
        return dev, port

    def readd_static(self, dev):
        port = self.static[dev]
        self.qmp.cmd('device_add', driver='igb', id=dev, netdev=f'n{dev}', bus=port)
        self.present[dev] = port
        return dev, port

    def delete(self, dev, timeout=90):
        if dev not in self.present:
            raise RuntimeError(f'no device {dev}')
        self.qmp.cmd('device_del', id=dev)
        # The guest's pciehp powers the slot off after its attention-button delay; QEMU reports
        # DEVICE_DELETED once the guest let go of the device.
        e = self.qmp.wait_event(lambda e: e['event'] == 'DEVICE_DELETED' and
                                e.get('data', {}).get('device') == dev, timeout)
        if e is None:
            raise RuntimeError(f'guest did not release {dev} within {timeout}s')
        del self.present[dev]
        if not dev.startswith('pf'):
            self.qmp.cmd('netdev_del', id=f'n{dev}')
        return dev

    def handle(self, request):
        """One guest request: 'add [PORT]', 'del DEV', 'reset', 'list'. Returns the reply line."""
        words = request.split()
        try:
            if not words:
                raise RuntimeError('empty request')
            if words[0] == 'add':
                dev, port = self.add(words[1] if len(words) > 1 else None)
                return f'ok {dev} {port}'
            if words[0] == 'del':
                return f'ok {self.delete(words[1])}'
            if words[0] == 'reset':
                for dev in [d for d in self.present if d not in self.static]:
                    self.delete(dev)
                for dev in [d for d in self.static if d not in self.present]:
                    self.readd_static(dev)
                return 'ok'
            if words[0] == 'list':
                return 'ok ' + ' '.join(f'{d}={p}' for d, p in sorted(self.present.items()))
            raise RuntimeError(f'unknown request {words[0]}')
        except Exception as e:  # noqa: BLE001 - every failure goes back to the guest as text
            return f'error {e}'


# ---------------------------------------------------------------------------------------------------
# Scenarios


def scenario_meta(path):
    meta = {'needs': [], 'mode': 'plain', 'timeout': 180, 'boot': 'iommu'}
    with open(path) as f:
        for line in f:
            m = re.match(r'#\s*vm-(\w+):\s*(.*)$', line)
            if m:
                key, val = m.group(1), m.group(2).strip()
                if key == 'needs':
                    meta['needs'] = val.split()
                elif key == 'timeout':
                    meta['timeout'] = int(val)
                else:
                    meta[key] = val
    return meta


def list_scenarios():
    return sorted(f[:-3] for f in os.listdir(SCENARIO_DIR) if f.endswith('.sh'))


def resolve_scenarios(names):
    all_names = list_scenarios()
    if not names:
        return all_names
    out = []
    for n in names:
        n = os.path.basename(n)
        n = n[:-3] if n.endswith('.sh') else n
        match = [a for a in all_names if a == n] or [a for a in all_names if n in a]
        if not match:
            sys.exit(f'vmrun: no scenario matches {n!r}; have: {" ".join(all_names)}')
        out += [m for m in match if m not in out]
    return out


# ---------------------------------------------------------------------------------------------------


def sh_quote(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('scenarios', nargs='*', help='scenario names (or substrings); default: all of the mode')
    ap.add_argument('--build-dir', default=os.environ.get('SRIOVD_BUILD_DIR'),
                    help='meson build dir with daemon/sriovd and client/sriovctl')
    ap.add_argument('--work-dir', help='where logs and results go (default: BUILD/tests/vm/work)')
    ap.add_argument('--cache', default=os.environ.get('SRIOVD_VM_CACHE', '/var/cache/sriovd-vm'))
    ap.add_argument('--kernel', default='', choices=['', '6.12'],
                    help="guest kernel line: the default one (Debian's linux-image-amd64) or 6.12 (from "
                         'bookworm-backports); both come from tools/vm-deps.sh')
    ap.add_argument('--exclude', action='append', default=[], metavar='NAME',
                    help='leave this scenario out (exact name); may be given several times')
    ap.add_argument('--boot', default='iommu', choices=BOOTS,
                    help='iommu: q35 with intel-iommu and intel_iommu=on (default); no-iommu: neither, for '
                         'the scenarios with "# vm-boot: no-iommu"')
    ap.add_argument('--mode', default='plain', choices=['plain', 'systemd'],
                    help='guest PID 1: the harness script (plain) or systemd')
    ap.add_argument('--pfs', type=int, default=2, help='igb PFs present at boot')
    ap.add_argument('--spare-ports', type=int, default=2, help='empty root ports for hotplug')
    ap.add_argument('--smp', type=int, default=int(os.environ.get('SRIOVD_VM_SMP', '2')))
    ap.add_argument('--tcg-thread', default=os.environ.get('SRIOVD_VM_TCG_THREAD', 'single'),
                    choices=['single', 'multi'],
                    help="QEMU's TCG: every guest CPU on one host thread (single, the default) or a "
                         'thread each (multi), under which guests hang now and then (tests/vm/README.md)')
    ap.add_argument('--memory', default='1536')
    ap.add_argument('--timeout', type=int, default=0, help='whole-boot timeout in s (default: sum of scenarios + 120)')
    ap.add_argument('--shell', action='store_true', help='interactive shell in the guest after the scenarios')
    ap.add_argument('--echo', action='store_true', help='show scenario output live on the terminal')
    ap.add_argument('-v', '--verbose', action='store_true', help='show the guest console live')
    ap.add_argument('--script', help='run this guest script (not a test scenario) with output shown live')
    ap.add_argument('--deb', action='append', default=[], metavar='FILE',
                    help='systemd mode: install this sriovd package at boot instead of `meson install`; given '
                         'again, the newer packages the upgrade scenarios install (oldest first)')
    ap.add_argument('--list', action='store_true', help='list scenarios and exit')
    args = ap.parse_args()

    if args.list:
        for n in list_scenarios():
            m = scenario_meta(os.path.join(SCENARIO_DIR, n + '.sh'))
            print(f'{n:40} mode={m["mode"]} boot={m["boot"]} needs={",".join(m["needs"]) or "-"}')
        return 0

    if args.shell and args.mode != 'plain':
        sys.exit('vmrun: --shell works in plain mode only')
    if args.deb and args.mode != 'systemd':
        sys.exit('vmrun: --deb works in systemd mode only')
    debs = [os.path.abspath(d) for d in args.deb]
    for d in debs:
        if not os.path.isfile(d):
            sys.exit(f'vmrun: no package {d}')
    if os.geteuid() != 0:
        missing_dependency('the VM tier must run as root (9p export of / with security_model=none)')
    qemu = find_qemu()
    kernel = Kernel(args.cache, args.kernel)
    build_dir = os.path.abspath(args.build_dir) if args.build_dir else None
    binaries = {}
    if build_dir:
        for name, rel in (('sriovd', 'daemon/sriovd'), ('sriovctl', 'client/sriovctl')):
            p = os.path.join(build_dir, rel)
            if os.access(p, os.X_OK):
                binaries[name] = p
    # What a scenario can need besides the binaries: `package` (sriovd installed from --deb at boot) and
    # `package-upgrade` (a newer --deb to upgrade to).
    provided = set(binaries)
    if debs:
        provided.add('package')
    if len(debs) > 1:
        provided.add('package-upgrade')

    # Which scenarios run, which are skipped for missing binaries.
    selected, skipped = [], []
    if args.script:
        name = os.path.basename(args.script)
        selected.append((name[:-3] if name.endswith('.sh') else name, os.path.abspath(args.script), 0))
        args.echo = True
    else:
        known = list_scenarios()
        for n in args.exclude:
            if n not in known:
                sys.exit(f'vmrun: --exclude {n!r}: no such scenario; have: {" ".join(known)}')
        for n in resolve_scenarios(args.scenarios):
            if n in args.exclude:
                continue
            path = os.path.join(SCENARIO_DIR, n + '.sh')
            m = scenario_meta(path)
            if m['mode'] != args.mode:
                if args.scenarios:
                    log(f'{n} is a {m["mode"]}-mode scenario; use --mode {m["mode"]}')
                continue
            if m['boot'] != args.boot:
                if args.scenarios:
                    log(f'{n} needs a {m["boot"]} boot; use --boot {m["boot"]}')
                continue
            missing = [b for b in m['needs'] if b not in provided]
            if missing:
                why = [f'not built: {b} (build dir {build_dir})' for b in missing if b in ('sriovd', 'sriovctl')]
                if 'package' in missing:
                    why.append('no --deb given (package)')
                if 'package-upgrade' in missing:
                    why.append('no second --deb to upgrade to (package-upgrade)')
                why += [f'unknown vm-needs: {b}' for b in missing
                        if b not in ('sriovd', 'sriovctl', 'package', 'package-upgrade')]
                skipped.append((n, '; '.join(why)))
                continue
            selected.append((n, path, m['timeout']))
    if not selected and not args.shell:
        for n, why in skipped:
            log(f'SKIP {n}: {why}')
        log('nothing to run')
        return EXIT_SKIP

    work_name = (f'work-{args.mode}' + ('' if args.boot == 'iommu' else f'-{args.boot}') +
                 (f'-{args.kernel}' if args.kernel else ''))
    work = os.path.abspath(args.work_dir or os.path.join(build_dir or '/tmp', 'tests', 'vm', work_name))
    # A guest whose kernel stalls (see boot()) is booted once more for the scenarios that did not pass:
    # the stall is the emulator's, not what a scenario tests.
    rc, stalled, passed = boot(args, qemu, kernel, build_dir, binaries, debs, selected, skipped, work)
    if stalled and not args.shell and not args.script:
        again = [s for s in selected if s[0] not in passed]
        log(f'the guest stalled; booting again for the {len(again)} scenario(s) that did not pass: '
            f'{" ".join(n for n, _, _ in again)}')
        rc, stalled, _ = boot(args, qemu, kernel, build_dir, binaries, debs, again, skipped, work + '-again')
        if stalled:
            log('the guest stalled again')
    return rc


# The guest's kernel reports an RCU stall when a CPU's timer stops firing: under TCG a guest CPU
# sometimes idles with its timer never delivered again ("rcu_preempt kthread timer wakeup didn't
# happen", "Possible timer handling issue on cpu=N"), seen before init ran as much as in a scenario,
# and the guest makes no progress after it. The kernel repeats the report about once a minute while
# the stall lasts: the second one ends the boot.
RCU_STALL = re.compile(rb'rcu: INFO: rcu_\w+ (?:self-)?detected stalls')
RCU_STALLS_TO_GIVE_UP = 2
# A guest can also stop without a word: its harness kills a scenario at the scenario's time limit, so
# a scenario still running this long after its limit (or a boot that has not started one) means the
# guest makes no progress, and it is handled as a stall.
HANG_GRACE = int(os.environ.get('SRIOVD_VM_HANG_GRACE', '120'))
BOOT_LIMIT = 420


def post_mortem(proc, qmp, work):
    """Writes what QEMU's threads and the guest's CPUs were doing to WORK/post-mortem.txt before a
    stalled guest is killed: where a hang is (QEMU's device models, its vCPU threads, or the guest
    kernel) is not visible from the console."""
    path = os.path.join(work, 'post-mortem.txt')
    with open(path, 'w') as out:
        out.write('==== guest CPUs (QEMU monitor: info registers -a) ====\n')
        try:
            # The monitor answers only while QEMU's main loop runs; a QEMU that is stuck itself does not.
            qmp.sock.settimeout(20)
            out.write(qmp.cmd('human-monitor-command', **{'command-line': 'info registers -a'}))
        except Exception as e:  # noqa: BLE001
            out.write(f'(no answer: {e})\n')
        out.write('\n==== QEMU threads (gdb) ====\n')
        gdb = shutil.which('gdb')
        if not gdb:
            out.write('(gdb is not installed)\n')
        else:
            out.flush()
            try:
                subprocess.run([gdb, '-p', str(proc.pid), '-batch', '-nx', '-ex', 'thread apply all bt'],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=120)
            except subprocess.TimeoutExpired:
                out.write('(gdb did not finish in 120 s)\n')
    log(f'what QEMU and the guest CPUs were doing: {path}')


def guest_hung(shared, limits, seen):
    """Whether the guest's harness is overdue; seen holds the scenario it last started and since when."""
    now = time.monotonic()
    started = re.findall(r'scenario (\S+) starts at', read(os.path.join(shared, 'guest.log')))
    current = started[-1] if started else ''
    if seen.get('name') != current:
        seen.update(name=current, since=now)
    limit = limits.get(current, 0) if current else BOOT_LIMIT
    return limit > 0 and now - seen['since'] > limit + HANG_GRACE


def boot(args, qemu, kernel, build_dir, binaries, debs, selected, skipped, work):
    """Boots the guest for the selected scenarios; returns (exit status, stalled, names passed)."""
    if os.path.exists(work):
        shutil.rmtree(work)
    shared = os.path.join(work, 'shared')
    os.makedirs(os.path.join(shared, 'req'))
    os.makedirs(os.path.join(shared, 'results'))
    initrd = os.path.join(work, 'initramfs.cpio')
    build_initramfs(kernel, initrd)

    with open(os.path.join(shared, 'plan.sh'), 'w') as f:
        f.write('# written by vmrun.py\n')
        for k, v in (('VM_SOURCE_DIR', SOURCE_ROOT), ('VM_BUILD_DIR', build_dir or ''),
                     ('SRIOVD', binaries.get('sriovd', '')), ('SRIOVCTL', binaries.get('sriovctl', '')),
                     ('VM_MODE', args.mode), ('VM_BOOT', args.boot), ('VM_SHELL', '1' if args.shell else ''),
                     ('VM_ECHO', ('raw' if args.shell else 'prefix') if args.echo else ''), ('VM_PFS', args.pfs),
                     ('VM_TTY_SIZE', '{1} {0}'.format(*shutil.get_terminal_size((80, 24))))):
            f.write(f'{k}={sh_quote(v)}\n')
        f.write('VM_DEBS=(' + ' '.join(sh_quote(d) for d in debs) + ')\n')
        f.write('VM_SCENARIOS=(\n')
        for n, path, t in selected:
            f.write(f'  {sh_quote(n)} {sh_quote(path)} {t}\n')
        f.write(')\n')

    machine = Machine(args.pfs, args.spare_ports)
    qmp_path = os.path.join(work, 'qmp.sock')
    guest_init = os.path.join(GUEST_DIR, f'init-{args.mode}')
    # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can time out and
    # panic ("timer doesn't work through Interrupt-remapped IO-APIC"); the emulated timer does work
    cmdline = ['console=ttyS0', 'panic=-1', 'rdinit=/init', 'mitigations=off', 'no_timer_check',
               'loglevel=4', f'sriovd.init={guest_init}', f'sriovd.mode={args.mode}']
    machine_args = ['-machine', 'q35,kernel-irqchip=split']
    if args.boot == 'iommu':
        cmdline.insert(2, 'intel_iommu=on')
        machine_args += ['-device', 'intel-iommu,intremap=on']
    if not args.verbose and not args.shell:
        cmdline.append('quiet')
    # thread=single: with a host thread per guest CPU, guests stall now and then (tests/vm/README.md)
    argv = [qemu, '-accel', f'tcg,thread={args.tcg_thread}', '-cpu', 'max,vendor=GenuineIntel',
            '-smp', str(args.smp),
            *machine_args, '-m', args.memory, '-no-reboot', '-display', 'none', '-vga', 'none',
            '-kernel', kernel.vmlinuz, '-initrd', initrd, '-append', ' '.join(cmdline),
            '-qmp', f'unix:{qmp_path},server=on,wait=off',
            '-fsdev', 'local,id=fsroot,path=/,security_model=none,readonly=on,multidevs=remap',
            '-device', 'virtio-9p-pci,fsdev=fsroot,mount_tag=hostroot',
            '-fsdev', f'local,id=fsmod,path={kernel.modules},security_model=none,readonly=on',
            '-device', 'virtio-9p-pci,fsdev=fsmod,mount_tag=modules',
            '-fsdev', f'local,id=fsvm,path={shared},security_model=none',
            '-device', 'virtio-9p-pci,fsdev=fsvm,mount_tag=vm',
            '-device', 'virtio-rng-pci'] + machine.qemu_args()
    if args.shell:
        argv += ['-serial', 'mon:stdio']
    else:
        argv += ['-serial', 'stdio', '-monitor', 'none']
    with open(os.path.join(work, 'qemu-cmdline'), 'w') as f:
        f.write(' '.join(sh_quote(a) for a in argv) + '\n')

    total_timeout = args.timeout or (sum(t for _, _, t in selected) + 180)
    console_path = os.path.join(work, 'console.log')
    log(f'booting {kernel.version} under TCG ({args.boot}): {args.pfs} PFs, {args.spare_ports} spare ports, '
        f'{len(selected)} scenario(s); work dir {work}')
    t0 = time.monotonic()
    stalls = []
    if args.shell:
        proc = subprocess.Popen(argv)
    else:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        show = args.verbose
        tty = sys.stdout.isatty()

        def pump():
            with open(console_path, 'wb') as out:
                for line in iter(proc.stdout.readline, b''):
                    out.write(line)
                    out.flush()
                    if RCU_STALL.search(line):
                        stalls.append(line)
                    if show or line.startswith(b'[vm]') or (args.echo and line.startswith(b'|')):
                        text = line.decode(errors='replace').rstrip('\r\n')
                        if args.echo and text.startswith('|'):
                            text = text[2:] if text.startswith('| ') else text[1:]
                        if not tty:
                            text = re.sub(r'\x1b\[[0-9;]*m', '', text)
                        print(text, flush=True)
        threading.Thread(target=pump, daemon=True).start()

    try:
        machine.qmp = QMP(qmp_path)
    except Exception as e:  # noqa: BLE001
        proc.kill()
        log(f'cannot connect to QMP: {e}')
        return 1, False, []

    # Serve hotplug requests until the guest powers off.
    reqdir = os.path.join(shared, 'req')
    timed_out = stalled = False
    limits = {n: t for n, _, t in selected}
    seen = {}
    while proc.poll() is None:
        if not args.shell and time.monotonic() - t0 > total_timeout:
            timed_out = True
            log(f'guest still running after {total_timeout}s, killing it')
            post_mortem(proc, machine.qmp, work)
            proc.kill()
            break
        if len(stalls) >= RCU_STALLS_TO_GIVE_UP:
            timed_out = stalled = True
            log(f'the guest kernel reported an RCU stall {len(stalls)} times (a CPU whose timer stopped '
                f'firing), killing it: {stalls[0].decode(errors="replace").strip()}')
            post_mortem(proc, machine.qmp, work)
            proc.kill()
            break
        if not args.shell and not args.script and guest_hung(shared, limits, seen):
            timed_out = stalled = True
            log(f'the guest made no progress: {seen["name"] or "the boot"} still runs '
                f'{HANG_GRACE}s past its time limit, which the guest enforces itself; killing it')
            post_mortem(proc, machine.qmp, work)
            proc.kill()
            break
        for name in sorted(os.listdir(reqdir)):
            if not name.endswith('.req'):
                continue
            p = os.path.join(reqdir, name)
            req = open(p).read().strip()
            reply = machine.handle(req)
            if args.verbose:
                log(f'hotplug request {req!r}: {reply}')
            tmp = p[:-4] + '.tmp'
            with open(tmp, 'w') as f:
                f.write(reply + '\n')
            os.rename(tmp, p[:-4] + '.rsp')
            os.unlink(p)
        time.sleep(0.1)
    rc = proc.wait()
    elapsed = time.monotonic() - t0
    if rc != 0 and not timed_out:
        # The guest powers off with reboot(2), QEMU then exits 0; anything else is QEMU's own end
        # (a signal: it crashed) or an error it printed on the console.
        log(f'QEMU exited with status {rc}' + (f' (signal {-rc})' if rc < 0 else '') +
            ' before the guest powered off; see the console')

    rc = report(work, shared, selected, skipped, elapsed, timed_out, console_path, args)
    passed = [n for n, _, _ in selected
              if read(os.path.join(shared, 'results', n, 'status')).strip() == '0']
    return rc, stalled, passed


def read(path, default=''):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return default


def report(work, shared, selected, skipped, elapsed, timed_out, console_path, args):
    results = os.path.join(shared, 'results')
    boot = read(os.path.join(shared, 'boot-seconds')).strip()
    failed, passed = [], []
    for n, _, _ in selected:
        d = os.path.join(results, n)
        status = read(os.path.join(d, 'status')).strip()
        secs = read(os.path.join(d, 'seconds')).strip()
        if status == '0':
            passed.append(n)
            log(f'PASS {n} ({secs}s)')
        else:
            failed.append(n)
            why = 'did not run' if status == '' else f'exit status {status}'
            log(f'FAIL {n} ({why})')
    for n, why in skipped:
        log(f'SKIP {n}: {why}')

    if args.script:
        return 0 if not failed else 1

    for n in failed:
        d = os.path.join(results, n)
        print(f'\n======== {n}: output ========', file=sys.stderr)
        print(read(os.path.join(d, 'output.log'), '(no output)\n'), file=sys.stderr, end='')
        if os.path.isdir(d):
            for extra in sorted(os.listdir(d)):
                if extra.endswith('.log') and extra != 'output.log':
                    print(f'-------- {n}: {extra} --------', file=sys.stderr)
                    print(read(os.path.join(d, extra)), file=sys.stderr, end='')
    if failed or timed_out:
        print('\n======== guest.log (harness in the guest) ========', file=sys.stderr)
        print(read(os.path.join(shared, 'guest.log'), '(none)\n')[-20000:], file=sys.stderr, end='')
        print('\n======== console (last 150 lines) ========', file=sys.stderr)
        print(''.join(read(console_path).splitlines(True)[-150:]), file=sys.stderr, end='')
        print(f'\n(full logs in {work})', file=sys.stderr)

    log(f'boot to first scenario: {boot or "?"}s, whole run: {elapsed:.1f}s; '
        f'{len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped')
    if failed or timed_out:
        return 1
    if skipped:
        return EXIT_SKIP
    return 0


if __name__ == '__main__':
    sys.exit(main())
