#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# sriovd's benchmarks: one command, a table on stdout, and the figures written into
# docs/performance.md (the part between its bench markers), with the machine, the date and this
# command. Benchmarks are not tests: nothing here passes or fails on a figure.
#
#   bench/run.sh [--quick] [--vm | --vm-only] [--build-dir DIR] [--no-write]
#
# As root (the mock tier's fake kernel and private bus need it, as the test suite does). --quick
# measures the small scale point, 10 s of idle and a storm of 2,000 uevents only; --vm adds B1 and B2
# in the QEMU guest (about fifteen minutes under TCG), --vm-only measures those alone. The mock
# figures (B3-B5) and the guest's (B1, B2) have a block each in docs/performance.md, each with its own
# date and commit; a run rewrites only the blocks it measured.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-bench"
quick=0
vm=0
mock=1
write=1
while [ $# -gt 0 ]; do
        case "$1" in
        --quick) quick=1; shift ;;
        --vm) vm=1; shift ;;
        --vm-only) vm=1; mock=0; shift ;;
        --build-dir) build="$2"; shift 2 ;;
        --no-write) write=0; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "bench/run.sh: unknown argument '$1'" >&2; exit 2 ;;
        esac
done
[ "$(id -u)" -eq 0 ] || { echo "bench/run.sh: run as root (the mock tier needs it)" >&2; exit 1; }

if [ ! -f "$build/build.ninja" ]; then
        "$top/tools/install-deps.sh" >/dev/null
        meson setup "$build" "$top" --buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" >/dev/null
cc -O2 -Wall -o "$build/bench-bus-latency" "$top/bench/bus-latency.c" $(pkg-config --cflags --libs libsystemd)
cc -O2 -Wall -o "$build/bench-sdbus-floor" "$top/bench/sdbus-floor.c" $(pkg-config --cflags --libs libsystemd)

if [ "$quick" = 1 ]; then
        points=(--scale 4x64) idle=10 storm=2000
else
        points=(--scale 16x256 --scale 64x256) idle=60 storm=10000
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ "$mock" = 1 ]; then
        /usr/bin/python3 "$top/bench/mock_bench.py" --build-dir "$build" --latency-client "$build/bench-bus-latency" \
                "${points[@]}" --idle "$idle" --storm "$storm" | tee "$out" >&2
fi
if [ "$vm" = 1 ]; then
        "$top/tools/vm-deps.sh" >/dev/null
        rm -rf "$build/bench-vm"
        "$top/tests/vm/vmrun.py" --build-dir "$build" --work-dir "$build/bench-vm" --timeout 2400 \
                --script "$top/bench/vm-apply.sh" >&2
        grep '^B[12]' "$build/bench-vm/shared/results/vm-apply/output.log" >>"$out"
fi

commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
# the tables of the mock part, then a line "--vm--", then those of the guest's part
tables=$(/usr/bin/python3 - "$out" "$build/bench-sdbus-floor" <<'PY'
import json, subprocess, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
# what sd-bus alone costs to append as many VF objects: the floor under sriovd's share
floor = {r['vf_objects']: json.loads(subprocess.run([sys.argv[2], str(r['vf_objects'])], capture_output=True,
                                                    text=True, check=True).stdout)['append_cpu_ms']
         for r in rows if r['bench'] == 'B3'}
print('| B3 point | VF objects | start to READY (wall) | sriovd CPU to READY | RSS | GetManagedObjects, median of 20 (at real-time priority) | CPU per GetManagedObjects: sriovd (sd-bus alone), dbus-daemon | VF Get / Peer.Ping |')
print('| --- | --- | --- | --- | --- | --- | --- | --- |')
for r in rows:
    if r['bench'] == 'B3':
        rt = '%.0f ms' % r['gmo_rt_median_ms'] if r.get('gmo_rt_median_ms') is not None else 'not measured'
        print('| %d x %d | %d | %.2f s | %.2f s | %.1f MiB | %.0f ms (%s) | %.0f ms (%.0f ms), %.0f ms | %.2f (%.3f / %.3f ms) |' % (
            r['pfs'], r['vfs_per_pf'], r['vf_objects'], r['ready_wall_s'], r['ready_cpu_s'], r['rss_mib'],
            r['gmo_median_ms'], rt, r['gmo_cpu_ms'], floor[r['vf_objects']], r['gmo_bus_cpu_ms'],
            r['get_ping_ratio'], r['get_ms'], r['ping_ms']))
print()
for r in rows:
    if r['bench'] == 'B4':
        print('B4 idle, %d s with %d VF objects: %d context switches, %.2f s CPU.' % (
            r['seconds'], r['vf_objects'], r['context_switches'], r['cpu_s']))
for r in rows:
    if r['bench'] == 'B5':
        print()
        print('B5 uevent storm, %d VF objects, a client asking GetManagedObjects back to back: %d change uevents '
              'in %.1f s, %d delivered, %d dropped as by a full buffer; %d overruns, %d ENOBUFS seen, %d re-reads '
              'of every PF (sriovd\'s log); the count changed halfway (its uevents lost) %s; every PF '
              'enforced %.1f s after the storm\'s end; sriovd\'s CPU from the storm\'s start to then %.2f s.' % (
                  r['vf_objects'], r['uevents'], r['storm_s'], r['delivered'], r['dropped'], r['overruns'],
                  r['enobufs_logged'], r['rereads_logged'],
                  ('put back %.1f s after the change (sriovd wrote the count %.1f s after the change, the fake '
                   'kernel took %.1f s to create the VFs)' % (r['change_to_back_s'], r['change_to_write_s'],
                                                              r['write_s'])
                   if r['count_back'] and r.get('write_s') is not None else
                   'put back %.1f s after the change' % r['change_to_back_s'] if r['count_back'] else 'NOT put back'),
                  r['end_to_converged_s'], r['sriovd_cpu_s']))
for r in rows:
    if r['bench'] == 'B5d':
        print()
        print('B5, every uevent delivered: %d change uevents of VFs (as to a netlink buffer that holds them all; '
              'the sender waits while sriovd\'s queue of max_dgram_qlen datagrams is full) taken in within %.1f s, '
              'sriovd\'s CPU %.2f s, %d reads of a PF for them (the shim\'s count of sriov_numvfs reads).' % (
                  r['uevents'], r['seconds'], r['sriovd_cpu_s'], r['pf_reads']))
b1, b2 = {}, []
for l in open(sys.argv[1]):
    if l.startswith('B1'):
        kind, *rest = l.split()
        b1.setdefault(rest[0] if kind == 'B1' else kind, []).append(float(rest[-1]))
    elif l.startswith('B2 '):
        v = [float(x) for x in l.split()[2:6]]
        b2.append(v + [None] * (4 - len(v)))
print('--vm--')
if b1:
    med = {k: sorted(v)[len(v) // 2] for k, v in b1.items()}
    peer = min(med.get('hand', 1e9), med.get('udevd', 1e9))
    print('| B1 method (2 PFs x 7 VFs, MAC and VLAN each) | rounds (s) | median |')
    print('| --- | --- | --- |')
    for k in ('hand', 'udevd', 'sriovd'):
        if k in b1:
            print('| %s | %s | %.2f s |' % (k, ', '.join('%.2f' % x for x in b1[k]), med[k]))
    if 'sriovd' in med:
        print()
        print('B1 sriovd / faster peer: %.2f (goal at most 0.8); sriovd CPU during its rounds: median %.2f s, %.0f%% of '
              'its wall time (every thread: the VF drivers probe in the writing threads); its event loop alone: '
              'median %.2f s, %.0f%%.' % (
                  med['sriovd'] / peer, med.get('B1cpu', 0), 100 * med.get('B1cpu', 0) / med['sriovd'],
                  med.get('B1cpuloop', 0), 100 * med.get('B1cpuloop', 0) / med['sriovd']))
if b2:
    print()
    print('| B2 round (hot-added igb, 7 VFs with MAC and VLAN) | device_add to igb bound | to enforced | '
          'sriovd after the bind | kernel creating 7 VFs alone | the same from the bind of a PF just hot-added |')
    print('| --- | --- | --- | --- | --- | --- |')
    for i, (bound, enforced, kernel, hot) in enumerate(b2, 1):
        print('| %d | %.2f s | %.2f s | %.2f s | %.2f s | %s |' % (i, bound, enforced, enforced - bound, kernel,
                                                              '%.2f s' % hot if hot is not None else '-'))
    m = lambda v: sorted(v)[len(v) // 2]  # noqa: E731
    after, kernel = m([e - b for b, e, k, h in b2]), m([k for b, e, k, h in b2])
    hot = [h for b, e, k, h in b2 if h is not None]
    print()
    print('B2 medians: sriovd from the bind to enforced %.2f s, the kernel alone %.2f s: %+.0f ms (goal at most +50 ms)%s.' % (
        after, kernel, 1000 * (after - kernel),
        '; the kernel from the bind of a PF just hot-added %.2f s: %+.0f ms' % (m(hot), 1000 * (after - m(hot)))
        if hot else ''))
PY
)
mock_table=$(sed '/^--vm--$/,$d' <<<"$tables")
vm_table=$(sed '1,/^--vm--$/d' <<<"$tables")
[ "$mock" = 0 ] || echo "$mock_table"
[ "$vm" = 0 ] || { echo; echo "$vm_table"; }

[ "$write" = 1 ] || exit 0
doc="$top/docs/performance.md"
machine="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -r)"
[ -f "$doc" ] || printf '# Performance\n\n' >"$doc"
write_block() { # MARKER OPTIONS TABLE: the part of $doc between MARKER's begin and end comments
        local block
        block=$(printf '%s\n' "<!-- $1 begins: rewritten by bench/run.sh -->" \
                "Measured $(date -u +%Y-%m-%d) on $machine, by \`bench/run.sh$2\` (commit $commit)." \
                "" "$3" "<!-- $1 ends -->")
        /usr/bin/python3 - "$doc" "$1" "$block" <<'PY'
import re, sys
path, marker, block = sys.argv[1:]
text = open(path).read()
pat = re.compile(r'<!-- %s begins.*?<!-- %s ends -->' % (re.escape(marker), re.escape(marker)), re.S)
text = pat.sub(lambda m: block, text) if pat.search(text) else text.rstrip('\n') + '\n\n' + block + '\n'
open(path, 'w').write(text)
PY
}
[ "$mock" = 0 ] || write_block "bench/run.sh" "$([ "$quick" = 1 ] && echo ' --quick')" "$mock_table"
[ "$vm" = 0 ] || write_block "bench/run.sh --vm" "$([ "$mock" = 1 ] && echo " --vm" || echo " --vm-only")" "$vm_table"
echo "bench/run.sh: wrote $doc" >&2
