#!/usr/bin/python3
"""Stands in for systemd's notify socket: records each sd_notify() datagram with the time it arrived and
every PF's sriov_numvfs at that moment, so a scenario can prove READY=1 came only after the VFs existed.

usage: notify-listener.py SOCKET OUTFILE READYFLAG
"""
import glob
import os
import socket
import sys

sock_path, out_path, flag = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
open(flag, 'w').close()
with open(out_path, 'a') as out:
    while True:
        data = s.recv(65536).decode(errors='replace')
        uptime = open('/proc/uptime').read().split()[0]
        numvfs = []
        for p in sorted(glob.glob('/sys/bus/pci/devices/*/sriov_numvfs')):
            addr = p.split('/')[-2]
            # virtfn links first: reading sriov_numvfs waits for a write in progress (device lock), so
            # in the other order a READY=1 sent in the middle of creating VFs would look fine.
            vfs = len(glob.glob(f'/sys/bus/pci/devices/{addr}/virtfn*'))
            numvfs.append(f'{addr}={open(p).read().strip()}/{vfs}')
        for line in data.splitlines():
            out.write(f'{line}\t{uptime}\t{" ".join(numvfs)}\n')
        out.flush()
