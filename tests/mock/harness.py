#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mock-hardware harness for sriovd: a umockdev testbed of SR-IOV PFs, a fake kernel that answers
sysfs writes as drivers/pci/iov.c does, a private dbus-daemon, and helpers to run the real sriovd,
sriovctl and busctl against them.

How the pieces fit:
- The testbed is a umockdev root directory that this harness fills itself (PCI and net devices,
  their links and uevent files) and to whose listeners it sends the uevents itself, in libudev's
  wire format, blocking when a listener is behind, as the kernel's big netlink buffers allow.
- sriovd runs with LD_PRELOAD="<fake-kernel-shim> libumockdev-preload.so.0", UMOCKDEV_DIR=<testbed>
  and SRIOV_MOCK_KERNEL_SOCKET=<socket>. umockdev redirects its /sys reads and its netlink uevent
  monitor into the testbed; the shim hands each write of sriov_numvfs, driver_override, bind, unbind,
  drivers_probe or sriov_drivers_autoprobe to FakeKernel over the socket and blocks until FakeKernel
  has changed the testbed, sent the uevents and answered with an errno.
- FakeKernel serves that socket from threads, so a test's main flow can query the bus while a
  write is blocked.

Environment used to find the binaries: SRIOVD, SRIOVCTL, SRIOV_MOCK_SHIM, SRIOV_MOCK_TOOL, or
MOCK_BUILD_DIR (a meson build directory) to derive all of them. A sanitizer build (tools/test.sh
--suite sanitize) runs the same tests; a sanitizer report in sriovd's log or sriovctl's stderr fails
the test whatever the exit status says.
"""

import errno
import glob
import json
import os
import re
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

UMOCKDEV_PRELOAD = 'libumockdev-preload.so.0'
HERE = os.path.dirname(os.path.abspath(__file__))
BUS_CONF = os.path.join(HERE, 'bus.conf')


def die(msg):
    sys.stderr.write('mock harness: %s\n' % msg)
    sys.exit(1)


def ensure_preload():
    """Fails (never skips) without umockdev: this tier is required to run."""
    try:
        import gi
        gi.require_version('UMockdev', '1.0')
        from gi.repository import UMockdev  # noqa: F401
    except (ImportError, ValueError) as e:
        die('umockdev is missing (%s); install umockdev, libumockdev-dev, gir1.2-umockdev-1.0 and '
            'python3-gi (tools/install-deps.sh)' % e)
    if not os.path.exists('/usr/lib/x86_64-linux-gnu/' + UMOCKDEV_PRELOAD) and not any(
            os.path.exists(os.path.join(d, UMOCKDEV_PRELOAD))
            for d in ('/usr/lib', '/usr/lib64', '/lib/x86_64-linux-gnu')):
        die('%s not found; install umockdev' % UMOCKDEV_PRELOAD)


def _binary(var, rel):
    p = os.environ.get(var)
    if p:
        return p
    b = os.environ.get('MOCK_BUILD_DIR')
    if b:
        return os.path.join(b, rel)
    return None


def sriovd_path():
    return _binary('SRIOVD', 'daemon/sriovd')


def sriovctl_path():
    return _binary('SRIOVCTL', 'client/sriovctl')


def doctor_helper_path():
    """sriovd's diagnostics helper: SRIOVD_DOCTOR, else next to sriovd in its build directory."""
    p = _binary('SRIOVD_DOCTOR', 'client/sriovd-doctor')
    if p:
        return p
    d = sriovd_path()
    return os.path.join(os.path.dirname(os.path.dirname(d)), 'client', 'sriovd-doctor') if d else None


def shim_path():
    return _binary('SRIOV_MOCK_SHIM', 'tests/mock/libsriov-mock-kernel.so')


def tool_path():
    return _binary('SRIOV_MOCK_TOOL', 'tests/mock/mock-tool')


# ASan and LSan reports start with "==PID==ERROR: AddressSanitizer: ..." or "LeakSanitizer", UBSan's
# with "file:line:col: runtime error: ...".
SANITIZER_REPORT = re.compile(r'^==\d+==ERROR: (?:Address|Leak)Sanitizer|^\S+:\d+:\d+: runtime error: ', re.M)


def sanitizer_report(text):
    """The first sanitizer report in a process' output, or None."""
    m = SANITIZER_REPORT.search(text or '')
    return text[m.start():m.start() + 8000] if m else None


def _die_with_parent():
    """preexec_fn: a child started by the harness gets SIGTERM when the harness dies (even by
    abort), so no dbus-daemon or sriovd outlives a crashed test run."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG


def clean_env(extra=None):
    """Environment for processes that must not see the testbed (clients, dbus-daemon)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('LD_PRELOAD', 'UMOCKDEV_DIR', 'SRIOV_MOCK_KERNEL_SOCKET', 'NOTIFY_SOCKET')}
    env.setdefault('LANG', 'C.UTF-8')
    env['SYSTEMD_LOG_LEVEL'] = env.get('SYSTEMD_LOG_LEVEL', 'info')
    if extra:
        env.update(extra)
    return env


# The attributes the shim hands to the fake kernel (keep in sync with fake-kernel-shim.c).
WATCHED = ('sriov_numvfs', 'sriov_drivers_autoprobe', 'driver_override', 'bind', 'unbind',
           'drivers_probe', 'new_id', 'remove_id')


def murmur2(data):
    """systemd's string_hash32() (MurmurHash2, seed = length), for the libudev subsystem filter."""
    m = 0x5bd1e995
    h = len(data) & 0xffffffff
    n = len(data) - len(data) % 4
    for i in range(0, n, 4):
        k = int.from_bytes(data[i:i + 4], 'little')
        k = (k * m) & 0xffffffff
        k ^= k >> 24
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest = data[n:]
    if len(rest) == 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


# Kernel semantics helpers -------------------------------------------------------------------------

def kstrtouint(value, maxval):
    """kstrtou16/kstrtouint: one optional trailing newline, base 0; EINVAL or ERANGE as the kernel."""
    s = value
    if s.endswith('\n'):
        s = s[:-1]
    if not s:
        raise OSError(errno.EINVAL, 'empty')
    if s.startswith('+'):
        s = s[1:]
    try:
        if s.lower().startswith('0x'):
            if len(s) == 2:
                raise ValueError
            n = int(s[2:], 16)
        elif len(s) > 1 and s.startswith('0'):
            n = int(s[1:], 8)
        else:
            if not s.isdigit():
                raise ValueError
            n = int(s, 10)
    except ValueError:
        raise OSError(errno.EINVAL, 'not a number')
    if n > maxval:
        raise OSError(errno.ERANGE, 'overflow')
    return n


def kstrtobool(value):
    s = value.strip()
    if not s:
        raise OSError(errno.EINVAL, 'empty')
    c = s[0].lower()
    if c in ('y', '1'):
        return True
    if c in ('n', '0'):
        return False
    if s.lower().startswith('on'):
        return True
    if s.lower().startswith('of'):
        return False
    raise OSError(errno.EINVAL, 'not a boolean')


def vf_address(pf_addr, index, offset=0x80, stride=2):
    """82576: first VF offset 0x80, stride 2: VF0 = bb:10.0, VF1 = bb:10.2, ... VF63 = bb:1f.6; past
    that, as the kernel numbers routing IDs, on the next buses (VF64 = bb+1:00.0)."""
    dom, bus, _ = pf_addr.split(':')
    rid = (int(bus, 16) << 8) + offset + index * stride
    if rid >> 8 > 0xff:
        raise ValueError('VF beyond bus ff')
    return '%s:%02x:%02x.%d' % (dom, rid >> 8, (rid & 0xff) >> 3, rid & 7)


class PF:
    def __init__(self, addr, total, driver, ifname, device_id, vf_driver):
        self.addr = addr
        self.total = total
        self.driver = driver
        self.ifname = ifname
        self.device_id = device_id
        self.vf_driver = vf_driver
        self.numvfs = 0
        self.autoprobe = True
        self.vfs = []           # VF addresses, by index
        self.lock = threading.RLock()   # the kernel's device_lock(); the VF writes take it too
        # fault injection
        self.partial = None     # the driver creates at most this many VFs (the write still succeeds)
        self.delay = 0.0        # seconds a change of sriov_numvfs blocks
        self.fail = None        # errno returned by the driver's sriov_configure() on enable

    @property
    def devpath(self):
        return '/sys/devices/pci0000:00/' + self.addr


class VF:
    def __init__(self, addr, pf, index, iommu_group):
        self.addr = addr
        self.pf = pf
        self.index = index
        self.iommu_group = iommu_group
        self.driver = None
        self.override = None
        self.ifname = None

    @property
    def devpath(self):
        return '/sys/devices/pci0000:00/' + self.addr


class FakeKernel:
    """The testbed plus the kernel's behaviour for the SR-IOV sysfs attributes."""

    def __init__(self, vf_netdevs=True):
        import gi
        gi.require_version('UMockdev', '1.0')
        from gi.repository import UMockdev
        self.testbed = UMockdev.Testbed.new()
        self.root = self.testbed.get_root_dir()
        self.sys = os.path.join(self.root, 'sys')
        self.vf_netdevs = vf_netdevs
        self.tblock = threading.RLock()
        self.sendlock = threading.RLock()   # one uevent at a time, in order, as from one kernel
        self.seqnum = 0
        # uevent_overrun: a listener that falls behind loses uevents and gets ENOBUFS, as from a
        # netlink socket whose buffer is full (see _send_or_drop); lose_uevents drops every uevent
        # while set, as a buffer full at that moment would
        self.uevent_overrun = False
        self.lose_uevents = False
        self.uevents_sent = self.uevents_dropped = self.overruns = 0
        # hold_udevd(): udevd's stream waits (as behind slow rules) while the kernel's goes on
        self._udevd_held = None
        self._congested = set()
        self.pfs = {}
        self.vfs = {}
        self.next_iommu_group = 1
        self.next_ifindex = 2
        self.log = []               # (time, path relative to /sys, value, errno, end time)
        self.log_cond = threading.Condition()
        self.inflight = []          # paths of writes the fake kernel is working on
        self.open_attrs = False     # see allow_user()
        self.sockdir = tempfile.mkdtemp(prefix='sriov-mock-kernel.')
        self.socket_path = os.path.join(self.sockdir, 'kernel.sock')
        # the shim appends the path of every read of a watched attribute here (reads())
        self.read_log = os.path.join(self.sockdir, 'reads.log')
        # begin_probe(): a file per device whose driver's probe runs, which the shim's reads of its
        # sriov_numvfs wait for
        self.probe_dir = os.path.join(self.sockdir, 'probing')
        os.makedirs(self.probe_dir)
        self.server = None
        self.verbose = bool(os.environ.get('MOCK_VERBOSE'))
        os.makedirs(os.path.join(self.sys, 'bus/pci/drivers'), exist_ok=True)
        os.makedirs(os.path.join(self.sys, 'devices/pci0000:00'), exist_ok=True)
        self._write(os.path.join(self.sys, 'devices/pci0000:00/uevent'), '')
        os.makedirs(os.path.join(self.sys, 'kernel/iommu_groups'), exist_ok=True)
        self._write(os.path.join(self.sys, 'bus/pci/drivers_probe'), '')
        self._write(os.path.join(self.sys, 'bus/pci/drivers_autoprobe'), '1\n')
        for d in ('igb', 'igbvf', 'vfio-pci'):
            self._ensure_driver(d)

    # --- plumbing ---
    def _write(self, path, content):
        with open(path, 'w', errors='surrogateescape') as f:
            f.write(content)
        if self.open_attrs and os.path.basename(path) in WATCHED:
            os.chmod(path, 0o666)

    def _abs(self, syspath):
        assert syspath.startswith('/sys/')
        return os.path.join(self.root, syspath[1:])

    def attr(self, syspath, name):
        with open(os.path.join(self._abs(syspath), name)) as f:
            return f.read()

    def _set_attr(self, syspath, name, value):
        self._write(os.path.join(self._abs(syspath), name), value)

    def _listeners(self, kernel):
        """The sockets umockdev made of the uevent listeners' netlink sockets: those bound to the
        kernel's group (the shim marks them kernel-event<N>), or the others (udevd's group)."""
        return [l for l in glob.glob(os.path.join(self.root, 'event[0-9]*'))
                if os.path.exists(os.path.join(self.root, 'kernel-' + os.path.basename(l))) == kernel]

    def _uevent_props(self, syspath, action, seqnum=None):
        d = self._abs(syspath)
        props = [('ACTION', action), ('DEVPATH', syspath[len('/sys'):]),
                 ('SUBSYSTEM', os.path.basename(os.readlink(os.path.join(d, 'subsystem'))))]
        if seqnum is None:
            with self.tblock:
                self.seqnum += 1
                seqnum = self.seqnum
        props.append(('SEQNUM', str(seqnum)))
        try:
            with open(os.path.join(d, 'uevent'), errors='surrogateescape') as f:
                for line in f.read().splitlines():
                    k, _, v = line.partition('=')
                    if k and k not in ('ACTION', 'DEVPATH', 'SUBSYSTEM', 'SEQNUM'):
                        props.append((k, v))
        except FileNotFoundError:
            pass
        return props, seqnum

    def _kernel_uevent(self, syspath, action):
        """Sends a uevent as the kernel does, before udevd has seen it, to the listeners of the
        kernel's group, in the kernel's wire format ("ACTION@DEVPATH", then the properties). Only
        the PFs' bind, unbind and remove are sent this way: the kernel's stream carries every uevent,
        but sriovd reads only those from it. Returns the uevent's sequence number, which udevd's copy
        carries too."""
        props, seqnum = self._uevent_props(syspath, action)
        msg = ('%s@%s' % (action, syspath[len('/sys'):])).encode() + b'\0' + \
            b''.join(('%s=%s' % kv).encode(errors='surrogateescape') + b'\0' for kv in props)
        with self.sendlock:
            for listener in self._listeners(True):
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    try:
                        s.connect(listener)
                        s.settimeout(30)
                        s.send(msg)
                    except (ConnectionRefusedError, FileNotFoundError, socket.timeout):
                        continue
        if self.verbose:
            sys.stderr.write('kernel: kernel uevent %s %s\n' % (action, syspath))
        return seqnum

    def hold_udevd(self):
        """From now on udevd's uevents wait, as behind rules that take long (on a loaded machine
        udevd passes a hot-added PF's events on seconds after the kernel); the kernel's own go on."""
        with self.sendlock:
            self._udevd_held = []

    def release_udevd(self):
        """udevd's uevents held since hold_udevd() go out, in their order."""
        with self.sendlock:
            for msg, action, syspath in self._udevd_held or []:
                self._send_udevd(msg, action, syspath)
            self._udevd_held = None

    def _uevent(self, syspath, action, seqnum=None):
        """Sends a uevent as udevd would after processing it, to every libudev monitor in a
        process under umockdev's preload (umockdev turns them into sockets named event<N> in the
        testbed) that listens to udevd. umockdev's own sender (Testbed.uevent) is not used: it sends
        without blocking and aborts when a listener's queue (net.unix.max_dgram_qlen, often 10) is
        full, which a daemon handling 1000 VF events hits. Blocking is what a large netlink receive
        buffer gives."""
        props, _ = self._uevent_props(syspath, action, seqnum)
        body = b''.join(('%s=%s' % kv).encode(errors='surrogateescape') + b'\0' for kv in props)
        subsystem = props[2][1]
        header = struct.pack('=8s8I', b'libudev', socket.htonl(0xfeedcafe), 40, 40, len(body),
                             socket.htonl(murmur2(subsystem.encode())), 0, 0, 0)
        msg = header + body
        with self.sendlock:
            if self._udevd_held is not None:
                self._udevd_held.append((msg, action, syspath))
            else:
                self._send_udevd(msg, action, syspath)

    def _send_udevd(self, msg, action, syspath):
        with self.sendlock:
            for listener in self._listeners(False):
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    try:
                        s.connect(listener)
                    except (ConnectionRefusedError, FileNotFoundError):
                        continue    # the monitor is gone
                    if self.uevent_overrun:
                        self._send_or_drop(s, listener, msg)
                        continue
                    s.settimeout(30)
                    try:
                        s.send(msg)
                    except socket.timeout:
                        sys.stderr.write('fake kernel: a listener did not read uevents for 30 s; '
                                         'dropped %s %s\n' % (action, syspath))
        if self.verbose:
            sys.stderr.write('kernel: uevent %s %s\n' % (action, syspath))

    def _send_or_drop(self, s, listener, msg):
        """As the kernel sends to a netlink listener: what does not fit is dropped, and the first drop
        since the listener last caught up fails its next receive with ENOBUFS (the shim reads the
        marker file enobufs-event<N>). Here "does not fit" is the unix socket's queue being full
        (net.unix.max_dgram_qlen datagrams), far less than a netlink buffer holds; the congestion
        ends once the listener has had its ENOBUFS and a uevent fits again."""
        marker = os.path.join(os.path.dirname(listener), 'enobufs-' + os.path.basename(listener))
        s.setblocking(False)
        try:
            if self.lose_uevents:
                raise BlockingIOError
            s.send(msg)
            self.uevents_sent += 1
            if listener in self._congested and not os.path.exists(marker):
                self._congested.discard(listener)
        except BlockingIOError:
            self.uevents_dropped += 1
            if listener not in self._congested:
                self._congested.add(listener)
                self.overruns += 1
                open(marker, 'w').close()

    def uevent(self, syspath, action='change'):
        """A uevent of an existing device, as `udevadm trigger` or a driver makes one."""
        self._uevent(syspath, action)

    def overrun(self, fn=None):
        """An overrun now, as after a storm that filled the buffer of each listener to udevd: the
        uevents fn makes are lost, and each one's next receive fails with ENOBUFS, once. One uevent is dropped
        even when fn sends none; the listener's last overrun must have been received (its ENOBUFS
        read) before."""
        with self.sendlock:
            for listener in self._listeners(False):
                marker = os.path.join(os.path.dirname(listener), 'enobufs-' + os.path.basename(listener))
                if not os.path.exists(marker):
                    self._congested.discard(listener)
        was = self.uevent_overrun
        self.uevent_overrun = self.lose_uevents = True
        try:
            if fn:
                fn()
            self._uevent(next(iter(self.pfs.values())).devpath, 'change')
        finally:
            self.lose_uevents = False
            self.uevent_overrun = was

    def _set_prop(self, syspath, key, value):
        """Edits the device's uevent file (what libudev reads for properties)."""
        p = os.path.join(self._abs(syspath), 'uevent')
        with open(p) as f:
            lines = [l for l in f.read().splitlines() if l and not l.startswith(key + '=')]
        if value is not None:
            lines.append('%s=%s' % (key, value))
        self._write(p, '\n'.join(lines) + '\n')

    def _ensure_driver(self, drv):
        d = os.path.join(self.sys, 'bus/pci/drivers', drv)
        if not os.path.isdir(d):
            os.makedirs(d)
            for f in ('bind', 'unbind', 'new_id', 'remove_id'):
                self._write(os.path.join(d, f), '')
        return d

    def _add_device(self, syspath, subsystem, props=(), attrs=None, links=None, uevent=True):
        """Creates a device directory as the kernel's sysfs shows it, then sends "add"."""
        d = self._abs(syspath)
        os.makedirs(d)
        depth = syspath.count('/') - 1        # from the device directory up to /sys
        up = '/'.join(['..'] * depth)
        if subsystem in ('pci',):
            os.symlink(up + '/bus/' + subsystem, os.path.join(d, 'subsystem'))
            link = os.path.join(self.sys, 'bus', subsystem, 'devices', os.path.basename(syspath))
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink('../../..' + syspath[len('/sys'):], link)
        else:
            os.symlink(up + '/class/' + subsystem, os.path.join(d, 'subsystem'))
            link = os.path.join(self.sys, 'class', subsystem, os.path.basename(syspath))
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink('../..' + syspath[len('/sys'):], link)
        self._write(os.path.join(d, 'uevent'), ''.join('%s=%s\n' % kv for kv in props))
        for k, v in (attrs or {}).items():
            self._write(os.path.join(d, k), v + '\n')
        for k, v in (links or {}).items():
            os.symlink(v, os.path.join(d, k))
        if uevent:
            self._uevent(syspath, 'add')

    def _remove_device(self, syspath, uevent=True, seqnum=None):
        if uevent and seqnum is not None:
            self._uevent(syspath, 'remove', seqnum)
        elif uevent:
            self._uevent(syspath, 'remove')
        d = self._abs(syspath)
        sub = os.path.basename(os.readlink(os.path.join(d, 'subsystem')))
        name = os.path.basename(syspath)
        for link in (os.path.join(self.sys, 'bus', sub, 'devices', name),
                     os.path.join(self.sys, 'class', sub, name)):
            if os.path.lexists(link):
                os.unlink(link)
        shutil.rmtree(d)

    # --- devices ---
    def _add_pci(self, addr, vendor, device, driver, links, attrs, uevent=True):
        props = [('PCI_CLASS', '20000'),
                 ('PCI_ID', '%04X:%04X' % (vendor, device)),
                 ('PCI_SUBSYS_ID', '8086:0000'),
                 ('PCI_SLOT_NAME', addr),
                 ('MODALIAS', 'pci:v%08Xd%08Xsv00008086sd00000000bc02sc00i00' % (vendor, device))]
        if driver:
            props.insert(0, ('DRIVER', driver))
        base = {'vendor': '0x%04x' % vendor, 'device': '0x%04x' % device,
                'subsystem_vendor': '0x8086', 'subsystem_device': '0x0000',
                'class': '0x020000', 'driver_override': '(null)', 'numa_node': '-1',
                'enable': '1', 'irq': '0'}
        base.update(attrs)
        links = dict(links)
        if driver:
            links['driver'] = '../../../bus/pci/drivers/' + driver
        self._add_device('/sys/devices/pci0000:00/' + addr, 'pci', props, base, links, uevent)

    def _add_netdev(self, dev_syspath, ifname, uevent=True):
        with self.tblock:
            ifindex = self.next_ifindex
            self.next_ifindex += 1
        mac = '02:00:00:%02x:%02x:%02x' % ((ifindex >> 16) & 0xff, (ifindex >> 8) & 0xff, ifindex & 0xff)
        path = dev_syspath + '/net/' + ifname
        self._add_device(path, 'net', [('INTERFACE', ifname), ('IFINDEX', str(ifindex))],
                         {'ifindex': str(ifindex), 'address': mac, 'operstate': 'down', 'type': '1',
                          'addr_assign_type': '0'},
                         {'device': '../../../' + os.path.basename(dev_syspath)}, uevent)
        return path

    def add_pf(self, addr, total=7, driver='igb', ifname=None, numvfs=0, device_id=0x10c9,
               vf_driver='igbvf', uevent=True, vendor=0x8086):
        """Adds a PF with uevents as on hotplug ("add", its netdev's "add", "bind"), or silently with
        uevent=False (coldplug: a testbed that exists before the daemon starts)."""
        bus = int(addr.split(':')[1], 16)
        if ifname is None and driver:
            ifname = 'enp%ds0' % bus
        pf = PF(addr, total, driver, ifname if driver else None, device_id, vf_driver)
        # known to the write path before its "add" uevent: sriovd may write sriov_numvfs at once
        self.pfs[addr] = pf
        self._add_pci(addr, vendor, device_id, driver, {},
                      {'sriov_totalvfs': str(total), 'sriov_numvfs': '0',
                       'sriov_offset': '128', 'sriov_stride': '2', 'sriov_vf_device': '10ca',
                       'sriov_drivers_autoprobe': '1'}, uevent)
        if driver:
            self._link_driver_dir(driver, addr)
        if pf.ifname:
            self._add_netdev(pf.devpath, pf.ifname, uevent)
        if driver and uevent:
            self._uevent(pf.devpath, 'bind', self._kernel_uevent(pf.devpath, 'bind'))
        if numvfs:
            with pf.lock:
                self._enable(pf, numvfs, uevent=uevent)
        return pf

    def begin_probe(self, addr, total=7, driver='igb', ifname=None, device_id=0x10c9, vf_driver='igbvf',
                    vendor=0x8086):
        """Hot-adds a PF whose driver's probe runs when udevd's "add" arrives: the kernel sends "add"
        before it probes, and really_probe() makes the driver link before it calls the driver, which
        holds the device lock that a read of sriov_numvfs takes (drivers/pci/iov.c; read from
        source). Such a read waits until end_probe()."""
        bus = int(addr.split(':')[1], 16)
        pf = PF(addr, total, driver, ifname or 'enp%ds0' % bus, device_id, vf_driver)
        self.pfs[addr] = pf
        self._write(os.path.join(self.probe_dir, addr), '')
        self._add_pci(addr, vendor, device_id, None, {'driver': '../../../bus/pci/drivers/' + driver},
                      {'sriov_totalvfs': str(total), 'sriov_numvfs': '0',
                       'sriov_offset': '128', 'sriov_stride': '2', 'sriov_vf_device': '10ca',
                       'sriov_drivers_autoprobe': '1'}, uevent=False)
        self._link_driver_dir(driver, addr)
        self._uevent(pf.devpath, 'add')
        return pf

    def end_probe(self, addr, ok=True):
        """The probe begun by begin_probe() ends: with ok, its netdev appears and "bind" goes out;
        otherwise the kernel removes the driver link and sends nothing."""
        pf = self.pfs[addr]
        with pf.lock:
            if ok:
                self._set_prop(pf.devpath, 'DRIVER', pf.driver)
                self._add_netdev(pf.devpath, pf.ifname)
            else:
                self._unlink_driver_dir(pf.driver, addr)
                os.unlink(os.path.join(self._abs(pf.devpath), 'driver'))
                pf.driver = pf.ifname = None
            os.unlink(os.path.join(self.probe_dir, addr))
            if ok:
                self._uevent(pf.devpath, 'bind', self._kernel_uevent(pf.devpath, 'bind'))

    def remove_pf(self, addr):
        """Hot-unplug: the driver's remove disables SR-IOV first, then the netdev and the device go."""
        pf = self.pfs[addr]
        with pf.lock:
            if pf.numvfs:
                self._disable(pf)
            if pf.ifname:
                self._remove_device(pf.devpath + '/net/' + pf.ifname)
            if pf.driver:
                self._unlink_driver_dir(pf.driver, addr)
                os.unlink(os.path.join(self._abs(pf.devpath), 'driver'))
                self._set_prop(pf.devpath, 'DRIVER', None)
                self._uevent(pf.devpath, 'unbind', self._kernel_uevent(pf.devpath, 'unbind'))
            self._remove_device(pf.devpath, seqnum=self._kernel_uevent(pf.devpath, 'remove'))
            del self.pfs[addr]

    def add_pci_device(self, addr, device_id=0x10d3, driver='e1000e'):
        """Hot-adds a PCI device that is no SR-IOV PF (no sriov_* attributes), bound to driver: its
        "add", then "bind" as the kernel sends it and as udevd passes it on."""
        self._add_pci(addr, 0x8086, device_id, driver, {}, {})
        self._link_driver_dir(driver, addr)
        devpath = '/sys/devices/pci0000:00/' + addr
        self._uevent(devpath, 'bind', self._kernel_uevent(devpath, 'bind'))

    def unload_pf_driver(self, addr):
        """rmmod igb: the driver's remove() disables SR-IOV, its netdev goes, then "unbind"."""
        pf = self.pfs[addr]
        with pf.lock:
            if pf.numvfs:
                self._disable(pf)
            if pf.ifname:
                self._remove_device(pf.devpath + '/net/' + pf.ifname)
            self._unlink_driver_dir(pf.driver, addr)
            os.unlink(os.path.join(self._abs(pf.devpath), 'driver'))
            self._set_prop(pf.devpath, 'DRIVER', None)
            self._uevent(pf.devpath, 'unbind', self._kernel_uevent(pf.devpath, 'unbind'))
            pf.unloaded_driver = pf.driver
            pf.driver = None

    def load_pf_driver(self, addr, driver=None):
        """modprobe igb: probe binds the PF, its netdev appears, then "bind"."""
        pf = self.pfs[addr]
        with pf.lock:
            pf.driver = driver or getattr(pf, 'unloaded_driver', None) or 'igb'
            self._link_driver_dir(pf.driver, addr)
            os.symlink('../../../bus/pci/drivers/' + pf.driver, os.path.join(self._abs(pf.devpath), 'driver'))
            self._set_prop(pf.devpath, 'DRIVER', pf.driver)
            if pf.ifname:
                self._add_netdev(pf.devpath, pf.ifname)
            self._uevent(pf.devpath, 'bind', self._kernel_uevent(pf.devpath, 'bind'))

    def _link_driver_dir(self, driver, addr):
        d = self._ensure_driver(driver)
        link = os.path.join(d, addr)
        if not os.path.lexists(link):
            os.symlink('../../../../devices/pci0000:00/' + addr, link)

    def _unlink_driver_dir(self, driver, addr):
        link = os.path.join(self.sys, 'bus/pci/drivers', driver, addr)
        if os.path.lexists(link):
            os.unlink(link)

    def _create_vf(self, pf, index):
        addr = vf_address(pf.addr, index)
        with self.tblock:
            group = self.next_iommu_group
            self.next_iommu_group += 1
        gdir = os.path.join(self.sys, 'kernel/iommu_groups', str(group), 'devices')
        os.makedirs(gdir, exist_ok=True)
        os.symlink('../../../../devices/pci0000:00/' + addr, os.path.join(gdir, addr))
        vf = VF(addr, pf, index, group)
        # The link first: a daemon handling the "add" must find the VF under its PF already, as
        # after udevd's processing of the kernel's event.
        os.symlink('../' + addr, os.path.join(self._abs(pf.devpath), 'virtfn%d' % index))
        self.vfs[addr] = vf
        pf.vfs.append(addr)
        self._add_pci(addr, 0x8086, 0x10ca, None,
                      {'physfn': '../' + pf.addr,
                       'iommu_group': '../../../kernel/iommu_groups/%d' % group}, {})
        if pf.autoprobe:
            self._bind(vf, vf.override or pf.vf_driver)
        return vf

    def _destroy_vf(self, vf):
        pf = vf.pf
        if vf.driver:
            self._unbind(vf)
        os.unlink(os.path.join(self._abs(pf.devpath), 'virtfn%d' % vf.index))
        self._remove_device(vf.devpath)
        shutil.rmtree(os.path.join(self.sys, 'kernel/iommu_groups', str(vf.iommu_group)),
                      ignore_errors=True)
        del self.vfs[vf.addr]

    def _bind(self, vf, driver):
        if not driver or driver == '(null)':
            return
        self._link_driver_dir(driver, vf.addr)
        os.symlink('../../../bus/pci/drivers/' + driver, os.path.join(self._abs(vf.devpath), 'driver'))
        self._set_prop(vf.devpath, 'DRIVER', driver)
        vf.driver = driver
        if driver == 'igbvf' and self.vf_netdevs:
            vf.ifname = '%sv%d' % (vf.pf.ifname or 'enp0s0', vf.index)
            self._add_netdev(vf.devpath, vf.ifname)
        self._uevent(vf.devpath, 'bind')

    def _unbind(self, vf):
        if vf.ifname:
            self._remove_device(vf.devpath + '/net/' + vf.ifname)
            vf.ifname = None
        self._unlink_driver_dir(vf.driver, vf.addr)
        os.unlink(os.path.join(self._abs(vf.devpath), 'driver'))
        self._set_prop(vf.devpath, 'DRIVER', None)
        vf.driver = None
        self._uevent(vf.devpath, 'unbind')

    def _enable(self, pf, n, uevent=True):
        made = n if pf.partial is None else min(n, pf.partial)
        for i in range(made):
            self._create_vf(pf, i)
        pf.numvfs = made
        self._set_attr(pf.devpath, 'sriov_numvfs', '%d\n' % made)
        if uevent:
            self._uevent(pf.devpath, 'change')

    def _disable(self, pf):
        for addr in reversed(pf.vfs):
            self._destroy_vf(self.vfs[addr])
        pf.vfs = []
        pf.numvfs = 0
        self._set_attr(pf.devpath, 'sriov_numvfs', '0\n')
        self._uevent(pf.devpath, 'change')

    # --- the kernel's store() handlers; each returns 0 or an errno ---
    def store_numvfs(self, pf, value):
        """drivers/pci/iov.c sriov_numvfs_store()"""
        try:
            n = kstrtouint(value, 0xffff)
        except OSError as e:
            return e.errno
        if n > pf.total:
            return errno.ERANGE
        with pf.lock:
            if n == pf.numvfs:
                return 0
            if not pf.driver:
                # "no driver bound to device; cannot configure SR-IOV"
                return errno.ENOENT
            if pf.delay:
                time.sleep(pf.delay)
            if n == 0:
                self._disable(pf)
                return 0
            if pf.numvfs:
                # "%d VFs already enabled. Disable before enabling %d VFs"
                return errno.EBUSY
            if pf.fail:
                return pf.fail
            self._enable(pf, n)
            return 0

    def store_autoprobe(self, pf, value):
        try:
            b = kstrtobool(value)
        except OSError as e:
            return e.errno
        pf.autoprobe = b
        self._set_attr(pf.devpath, 'sriov_drivers_autoprobe', '%d\n' % int(b))
        return 0

    def store_override(self, dev, value):
        v = value[:-1] if value.endswith('\n') else value
        if len(v) >= 4096:
            return errno.EINVAL
        dev.override = v or None
        self._set_attr(dev.devpath, 'driver_override', (v or '(null)') + '\n')
        return 0

    def _device(self, addr):
        return self.vfs.get(addr.strip())

    def _locked_vf(self, value, handler):
        """Runs handler(vf) under its PF's lock, as the kernel holds the device lock: a VF's write
        and its PF's removal or count change never interleave. ENODEV for a VF gone meanwhile."""
        vf = self._device(value)
        if vf is None:
            return None
        with vf.pf.lock:
            if self._device(value) is not vf:
                return errno.ENODEV
            return handler(vf)

    def store_drivers_probe(self, value):
        def probe(vf):
            # pci_device_can_probe(): with sriov_drivers_autoprobe 0 a VF is probed only for its
            # driver_override; without one it stays unbound, and the write still succeeds
            if vf.driver is None and (vf.override or vf.pf.autoprobe):
                self._bind(vf, vf.override or vf.pf.vf_driver)
            return 0
        r = self._locked_vf(value, probe)
        if r is None:
            return errno.ENODEV if value.strip() not in self.pfs else 0
        return r

    def store_bind(self, driver, value):
        def bind(vf):
            if vf.driver is not None:
                return errno.EBUSY
            if vf.override and vf.override != driver:
                return errno.ENODEV
            self._bind(vf, driver)
            return 0
        r = self._locked_vf(value, bind)
        return errno.ENODEV if r is None else r

    def store_unbind(self, driver, value):
        def unbind(vf):
            if vf.driver != driver:
                return errno.ENODEV
            self._unbind(vf)
            return 0
        r = self._locked_vf(value, unbind)
        return errno.ENODEV if r is None else r

    def bind_vf(self, addr, driver):
        """As an administrator would: unbind the VF's driver, set driver_override and probe."""
        vf = self.vfs[addr]
        with vf.pf.lock:
            if vf.driver:
                self._unbind(vf)
            self.store_override(vf, driver)
            self._bind(vf, driver)

    def set_numvfs(self, addr, n):
        """A write by someone other than sriovd ("echo N > sriov_numvfs"); returns the errno."""
        e = self.store_numvfs(self.pfs[addr], '%d\n' % n)
        self._record('/sys/devices/pci0000:00/%s/sriov_numvfs' % addr, '%d\n' % n, e, time.time(),
                     by='harness')
        return e

    def dispatch(self, path, value):
        """Routes a write, with path as the shim saw it (inside the testbed)."""
        if not path.startswith(self.root + '/'):
            return errno.EIO
        rel = path[len(self.root):]
        parts = rel.split('/')
        name = parts[-1]
        if rel == '/sys/bus/pci/drivers_probe':
            return self.store_drivers_probe(value)
        if rel.startswith('/sys/bus/pci/drivers/') and len(parts) == 7:
            drv = parts[5]
            if name == 'bind':
                return self.store_bind(drv, value)
            if name == 'unbind':
                return self.store_unbind(drv, value)
            return 0    # new_id, remove_id: accepted
        if rel.startswith('/sys/devices/pci0000:00/') and len(parts) == 6:
            addr = parts[4]
            if name == 'sriov_numvfs':
                pf = self.pfs.get(addr)
                return self.store_numvfs(pf, value) if pf else errno.EIO
            if name == 'sriov_drivers_autoprobe':
                pf = self.pfs.get(addr)
                return self.store_autoprobe(pf, value) if pf else errno.EIO
            if name == 'driver_override':
                dev = self.vfs.get(addr)
                if dev is None and addr in self.pfs:
                    self._set_attr(self.pfs[addr].devpath, 'driver_override', value.strip() + '\n')
                    return 0
                if dev is None:
                    return errno.EIO
                r = self._locked_vf(addr, lambda vf: self.store_override(vf, value))
                return errno.EIO if r is None else r
        return errno.EACCES

    # --- the socket the shim talks to ---
    def _record(self, path, value, err, start, by='sriovd'):
        with self.log_cond:
            self.log.append({'path': path, 'value': value, 'errno': err, 'start': start,
                             'end': time.time(), 'by': by})
            self.log_cond.notify_all()

    def start(self):
        kernel = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data = b''
                while True:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                path, _, value = data.partition(b'\0')
                path = path.decode()
                value = value.decode(errors='replace')
                start = time.time()
                with kernel.log_cond:
                    kernel.inflight.append(path)
                    kernel.log_cond.notify_all()
                try:
                    err = kernel.dispatch(path, value)
                except Exception as e:     # a harness bug must not look like a kernel answer
                    sys.stderr.write('fake kernel: %s on %s=%r\n' % (e, path, value))
                    import traceback
                    traceback.print_exc()
                    err = errno.EIO
                rel = path[len(kernel.root):] if path.startswith(kernel.root) else path
                with kernel.log_cond:
                    kernel.inflight.remove(path)
                kernel._record(rel, value, err, start)
                if kernel.verbose:
                    sys.stderr.write('kernel: write %s %r -> %s\n' % (rel, value, err))
                self.request.sendall(str(err).encode())

        class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
            daemon_threads = True
            # a storm of PFs writes at once: a short listen backlog would refuse some
            request_queue_size = 128

        self.server = Server(self.socket_path, Handler)
        os.chmod(self.sockdir, 0o755)
        t = threading.Thread(target=self.server.serve_forever, daemon=True)
        t.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        shutil.rmtree(self.sockdir, ignore_errors=True)
        # dropping the testbed removes its directory
        self.testbed = None
        shutil.rmtree(self.root, ignore_errors=True)

    def allow_user(self, uid):
        """Lets a process running as uid use the testbed (for an unprivileged sriovd): it must
        create umockdev's event sockets in the root, reach the fake kernel's socket and open the
        attributes the shim intercepts for writing (the real sysfs would refuse a non-root
        writer; what is tested here is sriovd, not the permission)."""
        os.chown(self.root, uid, -1)
        os.chmod(self.root, 0o755)
        os.chmod(self.socket_path, 0o666)
        self.open_attrs = True
        for r, _, files in os.walk(self.sys):
            for f in files:
                if f in WATCHED:
                    os.chmod(os.path.join(r, f), 0o666)

    def env(self, extra=None):
        """Environment for a process that sees the testbed and the fake kernel (sriovd)."""
        env = dict(os.environ)
        env.pop('NOTIFY_SOCKET', None)
        env['LD_PRELOAD'] = '%s %s' % (shim_path(), UMOCKDEV_PRELOAD)
        env['UMOCKDEV_DIR'] = self.root
        env['SRIOV_MOCK_KERNEL_SOCKET'] = self.socket_path
        env['SRIOV_MOCK_READ_LOG'] = self.read_log
        env['SRIOV_MOCK_PROBE_DIR'] = self.probe_dir
        if extra:
            env.update(extra)
        return env

    # --- queries for assertions ---
    def writes(self, addr=None, attr='sriov_numvfs', by='sriovd'):
        with self.log_cond:
            out = []
            for w in self.log:
                if by and w['by'] != by:
                    continue
                if attr and not w['path'].endswith('/' + attr):
                    continue
                if addr and ('/%s/' % addr) not in w['path']:
                    continue
                out.append(w)
            return out

    def reads(self, addr, attr='sriov_numvfs'):
        """How often processes under the shim (sriovd) opened attr of the device at addr for reading
        so far."""
        try:
            with open(self.read_log) as f:
                return sum(1 for line in f if line.rstrip('\n').endswith('/%s/%s' % (addr, attr)))
        except FileNotFoundError:
            return 0

    def wait_writes(self, pred, timeout=10):
        end = time.time() + timeout
        with self.log_cond:
            while not pred():
                left = end - time.time()
                if left <= 0:
                    return False
                self.log_cond.wait(left)
            return True

    def numvfs(self, addr):
        """sriov_numvfs as a reader of the testbed's sysfs sees it."""
        return int(self.attr(self.pfs[addr].devpath, 'sriov_numvfs'))

    def virtfn_links(self, addr):
        d = self._abs(self.pfs[addr].devpath)
        return sorted((n for n in os.listdir(d) if n.startswith('virtfn')), key=lambda n: int(n[6:]))


# D-Bus -------------------------------------------------------------------------------------------

class Bus:
    """A private dbus-daemon with a system-bus-like configuration that lets any user connect."""

    def __init__(self, limits=None):
        """limits: dbus-daemon <limit>s over bus.conf's, e.g. {'max_match_rules_per_connection': 32}."""
        self.dir = tempfile.mkdtemp(prefix='sriov-mock-bus.')
        os.chmod(self.dir, 0o755)
        self.address = 'unix:path=%s/bus' % self.dir
        conf = BUS_CONF
        if limits:
            conf = os.path.join(self.dir, 'bus.conf')
            with open(conf, 'w') as f:
                f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
                        ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                        '<busconfig>\n  <include>%s</include>\n%s</busconfig>\n' %
                        (BUS_CONF, ''.join('  <limit name="%s">%d</limit>\n' % kv for kv in limits.items())))
        self.proc = subprocess.Popen(['dbus-daemon', '--config-file=' + conf, '--nofork',
                                      '--print-address', '--address=' + self.address],
                                     stdout=subprocess.PIPE, env=clean_env(), preexec_fn=_die_with_parent,
                                     stderr=None if os.environ.get('MOCK_VERBOSE') else subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            raise RuntimeError('dbus-daemon did not start')
        self.address = line

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self, extra=None):
        return clean_env(dict(DBUS_SYSTEM_BUS_ADDRESS=self.address, **(extra or {})))

    def busctl(self, *args, user=None, check=True, timeout=30):
        """Runs busctl --system against the private bus; returns CompletedProcess."""
        cmd = ['busctl', '--system', '--no-pager'] + [str(a) for a in args]
        if user is not None:
            cmd = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups'] + cmd
        r = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise BusError(r.stderr.strip(), r)
        return r

    def call(self, path, iface, method, sig='', *args, user=None, timeout=60):
        """Calls a method of sriovd with busctl; returns the reply's values as a list."""
        a = ['--json=short', '--timeout=%d' % timeout, 'call', 'io.sriovd', path, iface, method]
        if sig:
            a += [sig] + list(args)
        r = self.busctl(*a, user=user, timeout=timeout + 10)
        out = r.stdout.strip()
        return json.loads(out)['data'] if out else None

    def get(self, path, iface, prop):
        r = self.busctl('--json=short', 'get-property', 'io.sriovd', path, iface, prop)
        return json.loads(r.stdout)['data']

    def get_all(self, path, iface):
        data = self.call(path, 'org.freedesktop.DBus.Properties', 'GetAll', 's', iface)[0]
        return {k: v['data'] for k, v in data.items()}

    def has_name(self, name='io.sriovd'):
        r = subprocess.run(['busctl', '--system', 'status', name], env=self.env(),
                           capture_output=True, text=True)
        return r.returncode == 0


class BusError(Exception):
    def __init__(self, msg, result):
        super().__init__(msg)
        self.result = result


class Monitor:
    """busctl monitor on io.sriovd; collects signals as parsed JSON objects."""

    def __init__(self, bus):
        self.proc = subprocess.Popen(['busctl', '--system', '--json=short', 'monitor', 'io.sriovd'],
                                     env=bus.env(), stdout=subprocess.PIPE, preexec_fn=_die_with_parent,
                                     stderr=subprocess.DEVNULL, text=True)
        self.messages = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                m = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.messages.append(m)
                self.cond.notify_all()

    def wait_subscribed(self, bus, timeout=10):
        """Returns once the monitor sees traffic of io.sriovd (a property read by us)."""
        end = time.time() + timeout
        while time.time() < end:
            bus.get('/io/sriovd', 'io.sriovd1.Manager', 'Version')
            with self.cond:
                if self.cond.wait_for(lambda: any(m.get('member') == 'Get' for m in self.messages), 0.2):
                    return
        raise AssertionError('busctl monitor did not start within %ss' % timeout)

    def signals(self, member=None):
        with self.cond:
            return [m for m in self.messages if m.get('type') == 'signal' and
                    (member is None or m.get('member') == member)]

    def property_values(self, path, prop):
        """Every value of prop seen in PropertiesChanged of path, in order."""
        out = []
        for m in self.signals('PropertiesChanged'):
            if m.get('path') != path:
                continue
            data = m.get('payload', {}).get('data', [])
            if len(data) >= 2 and prop in data[1]:
                out.append(data[1][prop]['data'])
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.thread.join(5)
        self.proc.stdout.close()


# sriovd ------------------------------------------------------------------------------------------

class Daemon:
    """The real sriovd, under the fake kernel, on the private bus."""

    def __init__(self, kernel, bus, workdir, config_dirs=None, state_dir=None, runtime_dir=None,
                 notify_socket=None, extra_args=(), env=None, user=None):
        self.kernel = kernel
        self.bus = bus
        self.workdir = workdir
        self.config_dirs = config_dirs or [os.path.join(workdir, 'etc')]
        self.state_dir = state_dir or os.path.join(workdir, 'state')
        self.runtime_dir = runtime_dir or os.path.join(workdir, 'run')
        for d in self.config_dirs + [self.state_dir, self.runtime_dir]:
            os.makedirs(d, exist_ok=True)
        self.logpath = os.path.join(workdir, 'sriovd.log')
        self.log = open(self.logpath, 'a')
        args = [sriovd_path()]
        for d in self.config_dirs:
            args += ['--config-dir', d]
        args += ['--state-dir', self.state_dir, '--runtime-dir', self.runtime_dir] + list(extra_args)
        e = kernel.env(dict(DBUS_SYSTEM_BUS_ADDRESS=bus.address, SYSTEMD_LOG_LEVEL='debug',
                            SYSTEMD_LOG_TARGET='console'))
        # the build's helper for RunDiagnostics(), not the installed one (a test build's hook)
        if doctor_helper_path():
            e['SRIOVD_DOCTOR_HELPER'] = os.path.abspath(doctor_helper_path())
        if notify_socket:
            e['NOTIFY_SOCKET'] = notify_socket
        if env:
            e.update(env)
        if user is not None:
            # Unprivileged: the state and runtime directories become the user's, the testbed
            # root must take umockdev's event sockets, and the fake kernel's socket must be
            # connectable. Writes never touch testbed files (the shim hands them over).
            for dd in (self.state_dir, self.runtime_dir):
                for r, dirs, files in os.walk(dd):
                    os.chown(r, user, user)
                    for f in files:
                        os.chown(os.path.join(r, f), user, user)
            os.chmod(workdir, 0o755)
            kernel.allow_user(user)
            # a uid change clears the parent-death signal; setpriv sets it again after it
            args = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups',
                    '--pdeathsig', 'TERM'] + args
        self.log.write('=== starting: %s\n' % ' '.join(args))
        self.log.flush()
        self.proc = subprocess.Popen(args, env=e, stdout=self.log, stderr=subprocess.STDOUT,
                                     preexec_fn=_die_with_parent)

    def wait_ready(self, timeout=20):
        """Waits until io.sriovd is owned on the bus (the daemon is serving)."""
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('sriovd exited with %s; log:\n%s' % (self.proc.returncode, self.logtext()))
            if self.bus.has_name():
                return True
            time.sleep(0.05)
        raise RuntimeError('sriovd did not take io.sriovd within %ds; log:\n%s' % (timeout, self.logtext()))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=10, check=True):
        """Stops sriovd and returns its exit status. check: raise AssertionError if its log has a
        sanitizer report (leaks are reported at exit, so only now)."""
        if self.log.closed:
            return self.proc.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.write('=== exited with %s\n' % self.proc.returncode)
        self.log.close()
        report = self.sanitizer_report()
        if check and report:
            raise AssertionError('sriovd reported a sanitizer error:\n%s' % report)
        return self.proc.returncode

    def sanitizer_report(self):
        return sanitizer_report(self.logtext())

    def logtext(self):
        if not self.log.closed:
            self.log.flush()
        # a name of the kernel's in the log need not be UTF-8
        with open(self.logpath, errors='backslashreplace') as f:
            return f.read()


def sriovctl(bus, *args, user=None, timeout=60):
    cmd = [sriovctl_path()] + [str(a) for a in args]
    if user is not None:
        cmd = ['setpriv', '--reuid=%d' % user, '--regid=%d' % user, '--clear-groups'] + cmd
    r = subprocess.run(cmd, env=bus.env(), capture_output=True, text=True, timeout=timeout)
    report = sanitizer_report(r.stderr)
    if report:
        raise AssertionError('sriovctl %s reported a sanitizer error:\n%s' % (' '.join(cmd[1:]), report))
    return r


def write_pf_conf(config_dir, name, match, numvfs=None, extra=''):
    d = os.path.join(config_dir, 'pf.d')
    os.makedirs(d, exist_ok=True)
    body = '[Match]\n' + ''.join('%s=%s\n' % kv for kv in match.items())
    if numvfs is not None:
        body += '\n[PhysicalFunction]\nNumVFs=%d\n' % numvfs
    body += extra
    p = os.path.join(d, name)
    with open(p, 'w') as f:
        f.write(body)
    return p


def wait_for(pred, timeout=10, interval=0.05, what='condition'):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = pred()
            if last:
                return last
        except BusError as e:
            last = e
        time.sleep(interval)
    raise AssertionError('timed out after %ss waiting for %s (last: %r)' % (timeout, what, last))


class MockTestCase(unittest.TestCase):
    """One test's world: a fake kernel with its testbed, a private bus, a work dir with etc/, and the
    sriovd instances and bus monitors the test starts. tearDown stops them all, fails the test if
    a sriovd died, and shows the last sriovd's log when the test failed (or MOCK_VERBOSE is set)."""

    kernel_class = None     # FakeKernel unless a subclass records more
    kernel_args = {}
    bus_limits = None       # dbus-daemon limits over bus.conf's (Bus(limits))

    def setUp(self):
        for name, p in (('sriovd', sriovd_path()), ('sriovctl', sriovctl_path()),
                        ('fake kernel shim', shim_path())):
            if not p or not os.path.exists(p):
                self.fail('%s not built: %r' % (name, p))
        self.k = (self.kernel_class or FakeKernel)(**self.kernel_args).start()
        self.bus = Bus(self.bus_limits)
        self.wd = tempfile.mkdtemp(prefix='sriov-mock-test.')
        self.etc = os.path.join(self.wd, 'etc')
        self.daemons = []
        self.monitors = []

    def stop_extra(self):
        """Stops what a subclass started beside the daemons, before they stop."""

    def tearDown(self):
        res = getattr(getattr(self, '_outcome', None), 'result', None)
        failed = bool(res) and any(t is self for t, _ in res.failures + res.errors)
        crashed = []
        reports = []
        try:
            self.stop_extra()
            for d in self.daemons:
                if not d.alive() and d.proc.returncode not in (0, -15):
                    crashed.append(d.proc.returncode)
                d.stop(check=False)
                if d.sanitizer_report():
                    reports.append(d.sanitizer_report())
            for m in self.monitors:
                m.stop()
            if (failed or crashed or os.environ.get('MOCK_VERBOSE')) and self.daemons:
                sys.stderr.write('\n----- sriovd log (%s) -----\n%s\n----- end of log -----\n' %
                                 (self.id(), self.daemons[-1].logtext()[-12000:]))
        finally:
            self.bus.stop()
            self.k.stop()
            shutil.rmtree(self.wd, ignore_errors=True)
        if crashed:
            self.fail('sriovd died during the test (exit status %s)' % crashed)
        if reports:
            self.fail('sriovd reported a sanitizer error:\n%s' % '\n'.join(reports))
