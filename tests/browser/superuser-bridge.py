#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The "superuser" bridge of the browser tests' delegated session (tests/browser/run.py): Cockpit
starts it as its privileged bridge, which gives the session administrative access in Cockpit's eyes,
but it is cockpit-bridge as the same unprivileged user, so the page's D-Bus calls reach sriovd from
that user and polkit decides them. It relays Cockpit's protocol (frames of "LENGTH\\nCHANNEL\\nDATA")
between the session's bridge and that cockpit-bridge unchanged, except that it drops the "superuser"
option of "open" messages: an unprivileged cockpit-bridge would refuse a channel that requires one."""

import json
import os
import subprocess
import sys
import threading


def read_frame(f):
    digits = b''
    while True:
        c = f.read(1)
        if not c:
            return None
        if c == b'\n':
            break
        digits += c
    data = f.read(int(digits))
    return data if len(data) == int(digits) else None


def write_frame(f, data):
    f.write(b'%d\n' % len(data) + data)
    f.flush()


def main():
    bridge = subprocess.Popen(sys.argv[1:] or ['cockpit-bridge'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def upstream():
        while True:
            frame = bridge.stdout.read1(65536)
            if not frame:
                os._exit(0)
            stdout.write(frame)
            stdout.flush()

    threading.Thread(target=upstream, daemon=True).start()
    while True:
        frame = read_frame(stdin)
        if frame is None:
            break
        channel, _, data = frame.partition(b'\n')
        if channel == b'':
            message = json.loads(data)
            if message.get('command') == 'open' and 'superuser' in message:
                del message['superuser']
                frame = b'\n' + json.dumps(message).encode()
        write_frame(bridge.stdin, frame)
    bridge.stdin.close()
    bridge.wait()


if __name__ == '__main__':
    main()
