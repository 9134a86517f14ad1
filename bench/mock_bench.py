#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""B3 (scale), B4 (idle) and B5 (uevent storm) on mock hardware: the real sriovd under tests/mock's
fake kernel and a private bus. Prints one JSON object per measurement on stdout.

    bench/mock_bench.py --build-dir DIR --latency-client BIN [--scale PFSxVFS]... [--idle SECONDS]
                        [--storm UEVENTS]

B3: PFs x VFs present before sriovd starts (each PF's count in its configuration file, so sriovd
finds everything enforced and builds an object per VF). Start to READY=1 (wall, and sriovd's own CPU
over all its threads from /proc), RSS at READY, GetManagedObjects latency (also with sriovd,
dbus-daemon and the client at real-time priority, ahead of the other processes of a shared machine),
the CPU sriovd and dbus-daemon spend on one, and a VF property Get against
org.freedesktop.DBus.Peer.Ping on the same daemon (median of 200 each, as a ratio: both pay the same
bus round trip, the difference is sriovd's work), timed by a C client (bench/bus-latency.c).
B4: context switches and CPU of sriovd over SECONDS with nothing happening.
B5, after B4 on the same daemon: UEVENTS change uevents of VFs while sriovd is busy (a client asks
GetManagedObjects back to back), sent as a netlink socket would: what does not fit into sriovd's
queue is dropped and its next receive fails with ENOBUFS (FakeKernel.uevent_overrun). Halfway, the
first PF's count goes to 0 behind sriovd's back, its uevents lost as to a full buffer. After the
storm, uevents are delivered again. Measured: the
time from the storm's end until that count is back and every PF enforced, and from the count change
until it is back (and within that, until sriovd wrote it, and the fake kernel's write), the re-reads of
every PF sriovd logged, and its CPU over the storm. Then UEVENTS/5 change uevents of VFs, every one
delivered (the sender waits while sriovd's queue is full, as a netlink buffer that holds them all
would let none go): how long sriovd takes to take them in, its CPU, and its reads of a PF for them.

SRIOVD=PATH runs another sriovd binary with this build's fake kernel (the harness' variable), to
compare two builds on one machine in one sitting. BENCH_PERF=FILE profiles GetManagedObjects,
BENCH_PERF_STORM=FILE the storm (perf record -p on sriovd, options BENCH_PERF_ARGS, default -g)."""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'mock'))


def proc_cpu(pid):
    """utime + stime of the whole process (every thread), in seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def proc_status(pid, key):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def ctx_switches(pid):
    n = 0
    for t in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/status' % (pid, t)) as f:
            for line in f:
                if 'ctxt_switches' in line:
                    n += int(line.split()[1])
    return n


def storm(harness, k, conn, d, latency_client, bus, addrs, n_events):
    """B5 on a running daemon whose PFs (addrs) are all enforced."""
    pfs = [conn.get_object('io.sriovd', p) for p in conn.get_object('io.sriovd', '/io/sriovd').ListPhysicalFunctions(
        dbus_interface='io.sriovd1.Manager')]

    def states():
        return [p.Get('io.sriovd1.PhysicalFunction', 'State', dbus_interface='org.freedesktop.DBus.Properties')
                for p in pfs]

    victim = addrs[0]
    count = k.numvfs(victim)
    others = [v for v in k.vfs.values() if v.pf.addr != victim]
    lost_before = d.logtext().count('uevents were lost')
    rereads_before = d.logtext().count('Reading every PF again')
    cpu_before, bus_cpu_before = proc_cpu(d.proc.pid), proc_cpu(bus.proc.pid)
    busy = subprocess.Popen([latency_client, '--busy'], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address),
                            stdout=subprocess.DEVNULL)
    perf = None
    if os.environ.get('BENCH_PERF_STORM'):
        # a profile of the storm: perf record on sriovd (every thread) from before the storm until
        # every PF is enforced again
        perf = subprocess.Popen(['perf', 'record', *os.environ.get('BENCH_PERF_ARGS', '-g').split(), '-o', os.environ['BENCH_PERF_STORM'], '-p',
                                 str(d.proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    k.uevent_overrun = True
    t_start = time.time()
    for i in range(n_events):
        if i == n_events // 2:
            k.lose_uevents = True
            k.set_numvfs(victim, 0)
            k.lose_uevents = False
            t_change = time.time()
        k.uevent(others[i % len(others)].devpath, 'change')
    t_end = time.time()
    # after the storm, uevents are delivered again: a netlink buffer (16 MiB by default) holds the
    # few hundred of the put-back that the mock's queue of max_dgram_qlen datagrams does not
    k.uevent_overrun = False
    busy.terminate()
    busy.wait()
    t_back = None
    deadline = t_end + 600
    while time.time() < deadline:
        if t_back is None and k.numvfs(victim) == count:
            t_back = time.time()
        if t_back is not None and all(s == 'enforced' for s in states()):
            break
        time.sleep(0.05)
    t_conv = time.time()
    cpu, bus_cpu = proc_cpu(d.proc.pid) - cpu_before, proc_cpu(bus.proc.pid) - bus_cpu_before
    # sriovd's write that put the count back: from the change until sriovd wrote (finding the change),
    # and the write itself (the fake kernel creating the VFs, in Python)
    put_back = [w for w in k.writes(victim) if w['start'] >= t_change and w['value'].strip() == str(count)]
    if perf:
        perf.send_signal(2)
        perf.wait()
    print(json.dumps({'bench': 'B5', 'uevents': n_events, 'vf_objects': len(k.vfs), 'storm_s': round(t_end - t_start, 2),
                      'delivered': k.uevents_sent, 'dropped': k.uevents_dropped, 'overruns': k.overruns,
                      'enobufs_logged': d.logtext().count('uevents were lost') - lost_before,
                      'rereads_logged': d.logtext().count('Reading every PF again') - rereads_before,
                      'sriovd_cpu_s': round(cpu, 2),
                      'bus_cpu_s': round(bus_cpu, 2),
                      'count_back': t_back is not None,
                      'change_to_back_s': round(t_back - t_change, 2) if t_back else None,
                      'change_to_write_s': round(put_back[0]['start'] - t_change, 2) if put_back else None,
                      'write_s': round(put_back[0]['end'] - put_back[0]['start'], 2) if put_back else None,
                      'end_to_converged_s': round(t_conv - t_end, 2),
                      'converged': t_back is not None and all(s == 'enforced' for s in states())}), flush=True)


def storm_delivered(k, d, addrs, n_events):
    """B5, every uevent delivered: n_events change uevents of VFs, in device order, sent as to a netlink
    socket whose buffer holds them all (the sender waits while sriovd's queue is full), on a daemon with
    nothing else to do. Measured: how long sriovd takes to take them in, its CPU, and how often it read
    a PF for them (its reads of sriov_numvfs, counted by the fake kernel's shim)."""
    vfs = list(k.vfs.values())
    reads_before = sum(k.reads(a) for a in addrs)
    cpu_before = proc_cpu(d.proc.pid)
    t_start = time.time()
    for i in range(n_events):
        k.uevent(vfs[i % len(vfs)].devpath, 'change')
    # the last send returned once sriovd had taken in all but what its queue holds (max_dgram_qlen
    # datagrams, a few of thousands)
    elapsed = time.time() - t_start
    # those and the reads they ask for come right after
    time.sleep(2)
    reads = sum(k.reads(a) for a in addrs) - reads_before
    print(json.dumps({'bench': 'B5d', 'uevents': n_events, 'vf_objects': len(k.vfs), 'seconds': round(elapsed, 2),
                      'sriovd_cpu_s': round(proc_cpu(d.proc.pid) - cpu_before, 2), 'pf_reads': reads}), flush=True)


def scale(harness, latency_client, n_pfs, n_vfs, idle, n_storm):
    import dbus
    k = harness.FakeKernel(vf_netdevs=False).start()
    bus = harness.Bus()
    wd = harness.tempfile.mkdtemp(prefix='sriov-bench.')
    d = None
    try:
        t = time.time()
        addrs = []
        for i in range(n_pfs):
            addr = '0000:%02x:00.0' % (1 + 3 * i)  # 256 VFs take three buses
            addrs.append(addr)
            k.add_pf(addr, total=n_vfs, numvfs=n_vfs, uevent=False)
            harness.write_pf_conf(os.path.join(wd, 'etc'), '%02d.conf' % i, {'PciAddress': addr}, n_vfs)
        testbed = time.time() - t
        sock = os.path.join(wd, 'notify.sock')
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(sock)
        t = time.time()
        d = harness.Daemon(k, bus, wd, notify_socket=sock)
        s.settimeout(600)
        while b'READY=1' not in s.recv(4096):
            pass
        wall = time.time() - t
        pid = d.proc.pid
        cpu = proc_cpu(pid)
        rss = proc_status(pid, 'VmRSS') / 1024
        conn = dbus.bus.BusConnection(bus.address)
        root = conn.get_object('io.sriovd', '/io/sriovd')
        pf = conn.get_object('io.sriovd', '/io/sriovd').ListPhysicalFunctions(
            dbus_interface='io.sriovd1.Manager')[0]
        vf = conn.get_object('io.sriovd', pf).Get('io.sriovd1.PhysicalFunction', 'VirtualFunctions',
                                                    dbus_interface='org.freedesktop.DBus.Properties')[0]
        objects = root.GetManagedObjects(dbus_interface='org.freedesktop.DBus.ObjectManager', timeout=600)
        if os.environ.get('BENCH_PERF'):
            # a profile of GetManagedObjects: perf record on sriovd while it answers five of them
            perf = subprocess.Popen(['perf', 'record', '-g', '-o', os.environ['BENCH_PERF'], '-p', str(pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            for _ in range(5):
                root.GetManagedObjects(dbus_interface='org.freedesktop.DBus.ObjectManager', timeout=600)
            perf.send_signal(2)
            perf.wait()
        # the round trips as a C client sees them: dbus-python would mostly measure its own decoding
        # sriovd's and dbus-daemon's shares of it: their CPU over the client's run, per GetManagedObjects
        # (the 400 Get and Ping calls add well under a millisecond each)
        c0, b0 = proc_cpu(pid), proc_cpu(bus.proc.pid)
        lat = json.loads(subprocess.run([latency_client, str(vf), '200'], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address),
                                        capture_output=True, text=True, check=True).stdout)
        gmo_cpu, gmo_bus_cpu = (proc_cpu(pid) - c0) / 20, (proc_cpu(bus.proc.pid) - b0) / 20
        # again with sriovd, dbus-daemon and the client ahead of every other process (SCHED_FIFO) for
        # those few seconds: on a shared machine, the round trip without the time spent waiting for a CPU
        rt = None
        try:
            for p in (pid, bus.proc.pid):
                os.sched_setscheduler(p, os.SCHED_FIFO, os.sched_param(10))
            rt = json.loads(subprocess.run(['chrt', '-f', '10', latency_client, str(vf), '20'],
                                           env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address),
                                           capture_output=True, text=True, check=True).stdout)['gmo_ms']
        except (OSError, subprocess.CalledProcessError) as e:
            sys.stderr.write('mock_bench: no real-time priority (%s): no GetManagedObjects figure ahead of '
                             'other processes\n' % e)
        finally:
            for p in (pid, bus.proc.pid):
                try:
                    os.sched_setscheduler(p, os.SCHED_OTHER, os.sched_param(0))
                except OSError:
                    pass
        print(json.dumps({'bench': 'B3', 'pfs': n_pfs, 'vfs_per_pf': n_vfs, 'vf_objects': n_pfs * n_vfs,
                          'objects': len(objects), 'testbed_s': round(testbed, 1),
                          'ready_wall_s': round(wall, 3), 'ready_cpu_s': round(cpu, 3), 'rss_mib': round(rss, 1),
                          'gmo_median_ms': round(lat['gmo_ms'], 1), 'gmo_cpu_ms': round(gmo_cpu * 1000, 1),
                          'gmo_bus_cpu_ms': round(gmo_bus_cpu * 1000, 1),
                          'gmo_rt_median_ms': round(rt, 1) if rt is not None else None,
                          'get_ms': round(lat['get_ms'], 3),
                          'ping_ms': round(lat['ping_ms'], 3),
                          'get_ping_ratio': round(lat['get_ms'] / lat['ping_ms'], 2)}), flush=True)
        if idle:
            c0, s0 = proc_cpu(pid), ctx_switches(pid)
            time.sleep(idle)
            print(json.dumps({'bench': 'B4', 'seconds': idle, 'vf_objects': n_pfs * n_vfs,
                              'cpu_s': round(proc_cpu(pid) - c0, 3),
                              'context_switches': ctx_switches(pid) - s0}), flush=True)
        if n_storm:
            storm(harness, k, conn, d, latency_client, bus, addrs, n_storm)
            storm_delivered(k, d, addrs, n_storm // 5)
    finally:
        if d:
            d.stop()
        bus.stop()
        k.stop()
        harness.shutil.rmtree(wd, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build-dir', required=True)
    ap.add_argument('--scale', action='append', default=[], help='PFSxVFS, e.g. 16x256')
    ap.add_argument('--idle', type=int, default=0, help='B4 seconds on the first scale point')
    ap.add_argument('--storm', type=int, default=0, help='B5 uevents on the first scale point')
    ap.add_argument('--latency-client', required=True, help='bench/bus-latency.c, built')
    args = ap.parse_args()
    os.environ['MOCK_BUILD_DIR'] = os.path.abspath(args.build_dir)
    import harness
    harness.ensure_preload()
    for i, sc in enumerate(args.scale or ['16x256']):
        p, v = (int(x) for x in sc.split('x'))
        scale(harness, args.latency_client, p, v, args.idle if i == 0 else 0, args.storm if i == 0 else 0)


if __name__ == '__main__':
    main()
