#!/usr/bin/python3
"""SIGKILLs processes at a chosen moment, for the fault matrix (65-fault-matrix). One process serves
every kill point, since Python takes seconds to start in TCG.

usage: kill-at.py JOBS
Reads jobs from the FIFO JOBS, one a line: "LOG DELAY_MS PID[,PID...] [CALL] TRIGGER...". For each, it
writes "watching" to the file LOG once it watches, makes the CALL if there is one, waits for each
trigger in turn, then DELAY_MS more, then SIGKILLs every PID, and says when: "trigger TEXT at UPTIME"
per trigger, then "killed PIDS at UPTIME (+MS ms)", or "not seen: TRIGGER" (nothing killed) after 60 s; "done" at the end.
A PID given as @FILE is read from FILE when the time comes (a process started after the job, such as
a lease client or sriovd itself).
A CALL is a method call to io.sriovd, sent the moment the job starts (so "DELAY_MS after the call" is
exact, where a busctl started by the scenario would take a while to send it), from a connection of its
own that leaves the bus after the kill (a lease it was granted is gone for the next sriovd);
"answer: ..." goes to LOG:
  call:SetNumVFs|PF-OBJECT|COUNT|FLAGS
  call:RequestVirtualFunction|SELECTOR|KEY=VALUE,...   (keys as guest/lease-client.py types them)
  call:Release|LEASE-OBJECT
Triggers, checked every 2 ms (20 ms for vf:, continuously for replaced:):
  exists:GLOB          a file matches GLOB       absent:GLOB      no file matches GLOB
  replaced:PATH        PATH is another file than when the job started (written anew: sriovd writes
                       a file to a temporary and renames it), checked without a pause between looks
  line:FILE:REGEX      a line of FILE matches REGEX (FILE may be a glob: any file; REGEX has no ':')
  driver:DEVICE=NAME   the PCI device's driver is NAME
  vf:IFNAME:N:REGEX    the "vf N" line of `ip -d link show IFNAME` matches REGEX
"""
import glob
import os
import re
import signal
import subprocess
import sys
import threading
import time

import dbus
import dbus.bus

TYPES = {'MACAddress': dbus.String, 'VLANId': dbus.UInt16, 'Trust': dbus.Boolean, 'Driver': dbus.String,
         'Consumer': dbus.String, 'Persistent': dbus.Boolean}


def call_args(text):
    words = text[len('call:'):].split('|')
    if words[0] == 'SetNumVFs':
        return words[1], 'io.sriovd1.PhysicalFunction', 'SetNumVFs', 'ut', [int(words[2]), int(words[3])]
    if words[0] == 'RequestVirtualFunction':
        options = dbus.Dictionary(signature='sv')
        for kv in filter(None, words[2].split(',')):
            k, v = kv.split('=', 1)
            t = TYPES[k]
            options[k] = t(v.lower() in ('1', 'yes', 'true')) if t is dbus.Boolean else \
                t(int(v)) if t is dbus.UInt16 else t(v)
        return '/io/sriovd', 'io.sriovd1.Manager', 'RequestVirtualFunction', 'sa{sv}', [words[1], options]
    if words[0] == 'Release':
        return words[1], 'io.sriovd1.Lease', 'Release', '', []
    raise ValueError(f'unknown call {text}')


def call(args, say, sent, killed):
    path, iface, method, sig, params = args
    conn = dbus.bus.BusConnection(dbus.bus.BUS_SYSTEM)
    try:
        sent.set()
        reply = conn.call_blocking('io.sriovd', path, iface, method, sig, params, timeout=120)
        say(f'answer: {reply!r}')
    except dbus.exceptions.DBusException as e:
        say(f'answer: ERROR {e.get_dbus_name()}: {e.get_dbus_message()}')
    finally:
        # on the bus until the kill: a lease granted meanwhile stays in force for the triggers to see
        killed.wait(120)
        conn.close()


def uptime():
    with open('/proc/uptime') as f:
        return float(f.read().split()[0])


def inode(path):
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino)
    except OSError:
        return None


def met(trigger, before):
    kind, _, rest = trigger.partition(':')
    if kind == 'replaced':
        now = inode(rest)
        return now is not None and now != before.setdefault(rest, inode(rest))
    if kind == 'exists':
        return bool(glob.glob(rest))
    if kind == 'absent':
        return not glob.glob(rest)
    if kind == 'line':
        pattern, _, regex = rest.rpartition(':')
        for path in glob.glob(pattern):
            try:
                with open(path, errors='replace') as f:
                    if any(re.search(regex, line) for line in f):
                        return True
            except OSError:
                pass
        return False
    if kind == 'driver':
        dev, _, name = rest.partition('=')
        try:
            return os.path.basename(os.readlink(f'/sys/bus/pci/devices/{dev}/driver')) == name
        except OSError:
            return False
    if kind == 'vf':
        ifname, index, regex = rest.split(':', 2)
        out = subprocess.run(['ip', '-d', 'link', 'show', 'dev', ifname], capture_output=True,
                             text=True).stdout
        return any(re.match(rf'\s+vf {index} ', line) and re.search(regex, line)
                   for line in out.splitlines())
    raise ValueError(f'unknown trigger {trigger}')


def run(log, delay, pids, triggers):
    lock = threading.Lock()
    killed = threading.Event()
    caller = None

    def say(text):
        with lock:
            log.write(text + '\n')
            log.flush()

    say('watching')
    try:
        # the state before the call, for replaced:
        before = {t[len('replaced:'):]: inode(t[len('replaced:'):]) for t in triggers if t.startswith('replaced:')}
        # pids given as numbers are resolved now, and what was seen is written down after the kill,
        # so that nothing stands between a trigger and the kill
        seen = []
        if triggers and triggers[0].startswith('call:'):
            args = call_args(triggers.pop(0))
            sent = threading.Event()
            caller = threading.Thread(target=call, args=(args, say, sent, killed))
            caller.start()
            sent.wait()
            seen.append(f'called {args[2]} at {uptime():.2f}')
        for trigger in triggers:
            interval = 0.02 if trigger.startswith('vf:') else 0 if trigger.startswith('replaced:') else 0.002
            deadline = time.monotonic() + 60
            while not met(trigger, before):
                if time.monotonic() > deadline:
                    for line in seen:
                        say(line)
                    say(f'not seen: {trigger}')
                    return
                if interval:
                    time.sleep(interval)
            seen.append(f'trigger {trigger} at {uptime():.2f}')
        start = time.monotonic()
        if delay > 0:
            time.sleep(delay / 1000)
        pids = [int(open(p[1:]).read()) if p.startswith('@') else int(p) for p in pids.split(',')]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                seen.append(f'{pid} was gone already')
        seen.append(f'killed {",".join(map(str, pids))} at {uptime():.2f} (+{(time.monotonic() - start) * 1000:.0f} ms)')
        for line in seen:
            say(line)
    finally:
        killed.set()
        if caller:
            caller.join()


# O_RDWR: no end of file between two writers
with os.fdopen(os.open(sys.argv[1], os.O_RDWR), 'r') as jobs:
    for line in jobs:
        words = line.split()
        if len(words) < 3:
            continue
        with open(words[0], 'w') as log:
            try:
                run(log, int(words[1]), words[2], words[3:])
            except Exception as e:  # the scenario reads the log: say what went wrong there
                log.write(f'not seen: {e!r}\n')
            log.write('done\n')
