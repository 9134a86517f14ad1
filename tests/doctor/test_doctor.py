#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`sriovctl doctor --root` on fixture hosts: a correct Intel host, a host with the IOMMU off, other
tools that set the VF count (NetworkManager, systemd .link, netplan, rc.local), PFs that cannot
give VFs, VFs that share an IOMMU group; the JSON and the human output; exit statuses.

Usage: test_doctor.py SRIOVCTL"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture import Host  # noqa: E402

SRIOVCTL = None
PF = '0000:01:00.0'
PF2 = '0000:02:00.0'
STATUSES = {'ok', 'info', 'skip', 'warn', 'fail'}


class DoctorTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='sriov-doctor.')
        self.root = os.path.join(self.dir, 'root')
        os.mkdir(self.root)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def host(self, **kw):
        return Host(self.root, **kw)

    def run_ctl(self, *args, lang='C.UTF-8', root=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
        # No daemon for these tests: a bus address that leads nowhere.
        env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=%s/no-bus' % self.dir
        env['LANG'] = lang
        cmd = [SRIOVCTL] + (['--root', self.root] if root else []) + list(args)
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)

    def doctor(self, expect_rc):
        r = self.run_ctl('--json', 'doctor')
        self.assertEqual(r.returncode, expect_rc, 'exit status; stdout:\n%s\nstderr:\n%s' % (r.stdout, r.stderr))
        results = json.loads(r.stdout)
        self.check_structure(results)
        return results

    def check_structure(self, results):
        self.assertIsInstance(results, list)
        self.assertTrue(results)
        for x in results:
            self.assertEqual(set(x), {'check', 'device', 'status', 'summary', 'fix'}, x)
            self.assertIn(x['status'], STATUSES, x)
            self.assertIsInstance(x['check'], str)
            self.assertTrue(x['summary'] and '\n' not in x['summary'], x)
            if x['status'] in ('warn', 'fail'):
                self.assertTrue(x['fix'], 'a warning or failure says how to fix it: %r' % x)
            else:
                self.assertIsNone(x['fix'], x)
            self.assertTrue(x['device'] is None or isinstance(x['device'], str), x)

    def find(self, results, check, device=None, status=None):
        return [x for x in results if x['check'] == check and x['device'] == device and
                (status is None or x['status'] == status)]

    def one(self, results, check, device=None):
        found = self.find(results, check, device)
        self.assertEqual(len(found), 1, '%s/%s: %r' % (check, device, results))
        return found[0]

    # --- (a) a correct host ---
    def test_correct_intel_host(self):
        h = self.host()
        h.add_pf(PF, total=7, numvfs=7)
        res = self.doctor(0)
        for x in res:
            self.assertIn(x['status'], ('ok', 'info'), x)
        for check in ('iommu', 'kernel-cmdline', 'iommu-passthrough', 'firmware', 'vfio-pci'):
            self.assertEqual(self.one(res, check)['status'], 'ok')
        for check in ('sriov-capable', 'driver', 'iommu-groups', 'conflict'):
            self.assertEqual(self.one(res, check, PF)['status'], 'ok')
        self.assertIn('7 VFs, each alone', self.one(res, 'iommu-groups', PF)['summary'])
        self.assertIn('igb', self.one(res, 'driver', PF)['summary'])
        daemon = self.one(res, 'sriovd')
        self.assertEqual(daemon['status'], 'info')
        self.assertIn('sriovd is not running', daemon['summary'])

    def test_correct_amd_host_without_amd_iommu_param(self):
        # AMD-Vi is on by default when the firmware has IVRS: no amd_iommu= needed.
        self.host(vendor='amd', cmdline='root=/dev/sda1 ro iommu=pt').add_pf(PF)
        res = self.doctor(0)
        self.assertEqual(self.one(res, 'kernel-cmdline')['status'], 'ok')
        self.assertIn('IVRS', self.one(res, 'firmware')['summary'])

    def test_vfio_as_module_only(self):
        self.host(vfio='module').add_pf(PF)
        res = self.doctor(0)
        self.assertIn('available as a module', self.one(res, 'vfio-pci')['summary'])

    # --- (b) the IOMMU off ---
    def test_iommu_off_intel(self):
        # DMAR present (VT-d on in firmware) but the kernel was not told intel_iommu=on.
        h = self.host(cmdline='BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro quiet', iommu=False)
        h.add_pf(PF, numvfs=2)
        res = self.doctor(1)
        self.assertEqual(self.one(res, 'iommu')['status'], 'fail')
        self.assertIn('intel_iommu=on', self.one(res, 'iommu')['fix'])
        cmd = self.one(res, 'kernel-cmdline')
        self.assertEqual(cmd['status'], 'fail')
        self.assertIn('intel_iommu=on', cmd['summary'])
        # The exact line for /etc/default/grub, with what is there kept.
        self.assertIn('GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"', cmd['fix'])
        self.assertIn('/etc/default/grub', cmd['fix'])
        self.assertIn('update-grub', cmd['fix'])
        self.assertIn('reboot', cmd['fix'])
        self.assertEqual(self.one(res, 'iommu-passthrough')['status'], 'warn')
        self.assertEqual(self.one(res, 'firmware')['status'], 'ok')
        groups = self.one(res, 'iommu-groups', PF)
        self.assertEqual(groups['status'], 'fail')
        self.assertIn('2 of 2 VFs have no IOMMU group', groups['summary'])

    def test_iommu_off_in_firmware(self):
        self.host(cmdline='root=/dev/sda1 ro quiet', firmware_table=False, iommu=False).add_pf(PF)
        res = self.doctor(1)
        fw = self.one(res, 'firmware')
        self.assertEqual(fw['status'], 'fail')
        self.assertIn('DMAR', fw['summary'])
        self.assertIn('VT-d', fw['fix'])

    def test_iommu_turned_off_explicitly(self):
        self.host(cmdline='root=/dev/sda1 ro intel_iommu=off', iommu=False,
                  grub='quiet intel_iommu=off').add_pf(PF)
        res = self.doctor(1)
        cmd = self.one(res, 'kernel-cmdline')
        self.assertEqual(cmd['status'], 'fail')
        self.assertIn('intel_iommu=off', cmd['summary'])
        # The off switch is replaced, not kept beside the on switch.
        self.assertIn('GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"', cmd['fix'])

    def test_amd_iommu_off(self):
        self.host(vendor='amd', cmdline='root=/dev/sda1 ro', iommu=False, firmware_table=False).add_pf(PF)
        res = self.doctor(1)
        cmd = self.one(res, 'kernel-cmdline')
        self.assertEqual(cmd['status'], 'fail')
        self.assertIn('amd_iommu=on', cmd['fix'])
        self.assertIn('IVRS', self.one(res, 'firmware')['summary'])
        self.assertIn('AMD-Vi', self.one(res, 'firmware')['fix'])

    def test_grub_already_edited(self):
        # /etc/default/grub has the switch, the running kernel does not: update-grub was not run.
        self.host(cmdline='root=/dev/sda1 ro quiet', iommu=False, grub='quiet intel_iommu=on iommu=pt').add_pf(PF)
        res = self.doctor(1)
        fix = self.one(res, 'kernel-cmdline')['fix']
        self.assertIn('already has', fix)
        self.assertIn('update-grub', fix)

    def test_no_grub(self):
        self.host(cmdline='root=/dev/sda1 ro', iommu=False, grub=None).add_pf(PF)
        fix = self.one(self.doctor(1), 'kernel-cmdline')['fix']
        self.assertIn('intel_iommu=on iommu=pt', fix)
        self.assertIn('GRUB_CMDLINE_LINUX_DEFAULT', fix)

    def test_intel_default_on_is_a_warning(self):
        # The IOMMU is on by the kernel's build default, intel_iommu=on missing: works, so warn only.
        self.host(cmdline='root=/dev/sda1 ro iommu=pt').add_pf(PF)
        res = self.doctor(0)
        self.assertEqual(self.one(res, 'kernel-cmdline')['status'], 'warn')

    # --- (c) other tools configuring the PF ---
    def test_networkmanager_profile(self):
        h = self.host()
        h.add_pf(PF)
        nm = h.write('etc/NetworkManager/system-connections/pf.nmconnection',
                     '[connection]\nid=sriov-pf\ntype=ethernet\ninterface-name=enp1s0\n\n'
                     '[ethernet]\n\n[sriov]\nautoprobe-drivers=1\ntotal-vfs=4\n\n[ipv4]\nmethod=auto\n', 0o600)
        res = self.doctor(1)
        c = self.find(res, 'conflict', PF, 'fail')
        self.assertEqual(len(c), 1, res)
        self.assertIn(nm, c[0]['summary'])
        self.assertIn('total-vfs=4', c[0]['summary'])
        self.assertIn("nmcli connection modify 'sriov-pf' remove sriov", c[0]['fix'])
        self.assertFalse(self.find(res, 'conflict', PF, 'ok'))

    def test_networkmanager_profile_by_match_and_mac(self):
        h = self.host()
        h.add_pf(PF)
        h.add_pf(PF2, ifname='enp2s0', mac='52:54:00:aa:bb:cc')
        by_match = h.write('etc/NetworkManager/system-connections/m.nmconnection',
                           '[connection]\nid=m\ntype=ethernet\n\n[match]\ninterface-name=enp1*;\n\n'
                           '[sriov]\ntotal-vfs=2\n')
        by_mac = h.write('etc/NetworkManager/system-connections/mac.nmconnection',
                         '[connection]\nid=mac\ntype=ethernet\n\n[ethernet]\nmac-address=52:54:00:AA:BB:CC\n\n'
                         '[sriov]\ntotal-vfs=3\n')
        h.write('etc/NetworkManager/system-connections/other.nmconnection',
                '[connection]\nid=other\ntype=ethernet\ninterface-name=enp9s0\n\n[sriov]\ntotal-vfs=3\n')
        h.write('etc/NetworkManager/system-connections/plain.nmconnection',
                '[connection]\nid=plain\ntype=ethernet\ninterface-name=enp1s0\n\n[ipv4]\nmethod=auto\n')
        res = self.doctor(1)
        c1 = self.find(res, 'conflict', PF, 'fail')
        c2 = self.find(res, 'conflict', PF2, 'fail')
        self.assertEqual([by_match in x['summary'] for x in c1], [True], c1)
        self.assertEqual([by_mac in x['summary'] for x in c2], [True], c2)

    def test_systemd_link(self):
        h = self.host()
        h.add_pf(PF)
        link = h.write('etc/systemd/network/10-sriov.link',
                       '[Match]\nOriginalName=enp1s0\n\n[Link]\nSR-IOVVirtualFunctions=4\n')
        res = self.doctor(1)
        c = self.find(res, 'conflict', PF, 'fail')
        self.assertEqual(len(c), 1, res)
        self.assertIn(link, c[0]['summary'])
        self.assertIn('SR-IOVVirtualFunctions=4', c[0]['summary'])
        self.assertIn('udevadm control --reload', c[0]['fix'])

    def test_systemd_link_by_path_in_usr_lib(self):
        h = self.host()
        h.add_pf(PF)
        link = h.write('usr/lib/systemd/network/20-vendor.link',
                       '[Match]\nPath=pci-0000:01:00.*\n\n[Link]\nSR-IOVVirtualFunctions=7\n')
        res = self.doctor(1)
        self.assertIn(link, self.find(res, 'conflict', PF, 'fail')[0]['summary'])

    def test_systemd_link_not_applied(self):
        h = self.host()
        h.add_pf(PF)
        # Another interface's file, a file masked from /etc, and one shadowed by an earlier match.
        h.write('etc/systemd/network/10-other.link', '[Match]\nOriginalName=enp9s0\n\n[Link]\nSR-IOVVirtualFunctions=4\n')
        h.write('usr/lib/systemd/network/20-masked.link', '[Match]\nOriginalName=enp1s0\n\n[Link]\nSR-IOVVirtualFunctions=4\n')
        h.symlink('/dev/null', 'etc/systemd/network/20-masked.link')
        h.write('etc/systemd/network/30-name.link', '[Match]\nMACAddress=52:54:00:12:34:56\n\n[Link]\nName=lan0\n')
        h.write('etc/systemd/network/40-late.link', '[Match]\nOriginalName=enp1s0\n\n[Link]\nSR-IOVVirtualFunctions=4\n')
        res = self.doctor(0)
        self.assertEqual(self.one(res, 'conflict', PF)['status'], 'ok')

    def test_systemd_link_unknown_conditions(self):
        h = self.host()
        h.add_pf(PF)
        # A file with a condition doctor cannot evaluate neither applies for sure nor hides later ones.
        h.write('etc/systemd/network/05-host.link', '[Match]\nHost=other\nOriginalName=enp1s0\n\n[Link]\nName=x\n')
        maybe = h.write('etc/systemd/network/07-prop.link',
                        '[Match]\nProperty=ID_VENDOR_ID=8086\nOriginalName=enp1s0\n\n[Link]\nSR-IOVVirtualFunctions=2\n')
        sure = h.write('etc/systemd/network/10-sriov.link', '[Link]\nSR-IOVVirtualFunctions=3\n')
        res = self.doctor(1)
        c = self.find(res, 'conflict', PF)
        self.assertEqual([(x['status'], maybe in x['summary'] or sure in x['summary']) for x in c],
                         [('warn', True), ('fail', True)], c)
        self.assertIn('may match', c[0]['summary'])
        self.assertIn('for every interface', c[1]['summary'])

    def test_netplan(self):
        h = self.host()
        h.add_pf(PF)
        h.add_pf(PF2, ifname='enp2s0', mac='52:54:00:aa:bb:cc')
        plan = h.write('etc/netplan/50-sriov.yaml',
                       'network:\n'
                       '  version: 2\n'
                       '  renderer: networkd\n'
                       '  ethernets:\n'
                       '    enp1s0:\n'
                       '      virtual-function-count: 4\n'
                       '    uplink:\n'
                       '      match:\n'
                       '        macaddress: "52:54:00:aa:bb:cc"\n'
                       '      virtual-function-count: 2  # two VFs\n'
                       '    vf0:\n'
                       '      link: enp1s0\n')
        res = self.doctor(1)
        c1 = self.find(res, 'conflict', PF, 'fail')
        c2 = self.find(res, 'conflict', PF2, 'fail')
        self.assertEqual(len(c1), 1, res)
        self.assertIn(plan, c1[0]['summary'])
        self.assertIn('virtual-function-count: 4 for enp1s0', c1[0]['summary'])
        self.assertEqual(len(c2), 1, res)
        self.assertIn('virtual-function-count: 2 for uplink', c2[0]['summary'])

    def test_netplan_flow_style_quotes_and_aliases(self):
        # What netplan reads besides one key per line: a flow mapping under a quoted key, a setting
        # shared through an anchor and an alias, and match: with a list of driver globs.
        h = self.host()
        h.add_pf(PF)
        h.add_pf(PF2, ifname='enp2s0', mac='52:54:00:aa:bb:cc')
        plan = h.write('etc/netplan/50-sriov.yaml',
                       'network:\n'
                       '  version: 2\n'
                       '  ethernets:\n'
                       '    "enp1s0": {virtual-function-count: 4, mtu: 9000}\n'
                       '    enp9s0: &vfs\n'
                       '      virtual-function-count: 2\n'
                       "    'enp2s0': *vfs\n")
        by_driver = h.write('etc/netplan/60-driver.yaml',
                            'network: {ethernets: {bydriver: {match: {driver: [ixgbe, "ig?"], name: enp1*},\n'
                            '                                 virtual-function-count: 6}}}\n')
        res = self.doctor(1)
        c1 = self.find(res, 'conflict', PF, 'fail')
        c2 = self.find(res, 'conflict', PF2, 'fail')
        self.assertEqual([x['summary'] for x in c1],
                         ['netplan file %s sets virtual-function-count: 4 for enp1s0' % plan,
                          'netplan file %s sets virtual-function-count: 6 for bydriver' % by_driver], res)
        self.assertEqual([x['summary'] for x in c2],
                         ['netplan file %s sets virtual-function-count: 2 for enp2s0' % plan], res)

    def test_netplan_unparsable(self):
        # A file that is no YAML is reported, so that "no conflict" never hides an unread setting.
        h = self.host()
        h.add_pf(PF)
        bad = h.write('etc/netplan/70-bad.yaml',
                      'network:\n  ethernets:\n    enp1s0: {virtual-function-count: 4\n')
        res = self.doctor(0)
        w = self.find(res, 'conflict', None, 'warn')
        self.assertEqual(len(w), 1, res)
        self.assertIn('Cannot parse netplan file %s' % bad, w[0]['summary'])
        self.assertIn('line', w[0]['summary'])
        self.assertIn('netplan generate', w[0]['fix'])
        self.assertEqual(self.one(res, 'conflict', PF)['status'], 'ok')

    def test_rc_local(self):
        h = self.host()
        h.add_pf(PF)
        h.add_pf(PF2, ifname='enp2s0', mac='52:54:00:aa:bb:cc')
        rc = h.write('etc/rc.local',
                     '#!/bin/sh -e\n'
                     '# echo 8 > /sys/class/net/enp2s0/device/sriov_numvfs\n'
                     'echo 4 > /sys/bus/pci/devices/0000:01:00.0/sriov_numvfs\n'
                     'exit 0\n', 0o755)
        res = self.doctor(1)
        c = self.find(res, 'conflict', PF, 'fail')
        self.assertEqual(len(c), 1, res)
        self.assertIn(rc + ':3', c[0]['summary'])
        self.assertIn('sriovctl set-numvfs 0000:01:00.0', c[0]['fix'])
        # The commented line about the other PF is not a conflict.
        self.assertEqual(self.one(res, 'conflict', PF2)['status'], 'ok')

    def test_rc_local_by_interface_and_loop(self):
        h = self.host()
        h.add_pf(PF)
        h.add_pf(PF2, ifname='enp2s0', mac='52:54:00:aa:bb:cc')
        h.write('etc/rc.d/rc.local',
                '#!/bin/sh\n'
                'echo 2 | tee /sys/class/net/enp2s0/device/sriov_numvfs\n'
                'for f in /sys/class/net/*/device/sriov_numvfs; do echo 1 > "$f"; done\n', 0o755)
        res = self.doctor(1)
        c2 = self.find(res, 'conflict', PF2)
        self.assertEqual(sorted(x['status'] for x in c2), ['fail', 'warn'], c2)
        # The loop may touch any PF: a warning for the first one, which no line names.
        c1 = self.find(res, 'conflict', PF)
        self.assertEqual([x['status'] for x in c1], ['warn'], c1)
        self.assertIn('does not name', c1[0]['summary'])

    def test_rc_local_not_executable(self):
        h = self.host()
        h.add_pf(PF)
        h.write('etc/rc.local', '#!/bin/sh\necho 4 > /sys/class/net/enp1s0/device/sriov_numvfs\n', 0o644)
        res = self.doctor(0)
        c = self.find(res, 'conflict', PF)
        self.assertEqual([x['status'] for x in c], ['warn'], c)
        self.assertIn('not executable', c[0]['summary'])

    # --- PFs and VFs ---
    def test_totalvfs_zero(self):
        self.host().add_pf(PF, total=0, numvfs=0)
        res = self.doctor(1)
        s = self.one(res, 'sriov-capable', PF)
        self.assertEqual(s['status'], 'fail')
        self.assertIn('sriov_totalvfs is 0', s['summary'])
        self.assertIn('firmware', s['fix'])
        self.assertEqual(self.one(res, 'iommu-groups', PF)['status'], 'skip')

    def test_no_sriov_device(self):
        self.host()
        res = self.doctor(1)
        self.assertEqual(self.one(res, 'sriov-capable')['status'], 'fail')

    def test_vfs_share_iommu_group(self):
        h = self.host()
        g = h.new_group()
        h.add_pf(PF, numvfs=3, vf_groups=[g, g, h.new_group()])
        res = self.doctor(1)
        s = self.one(res, 'iommu-groups', PF)
        self.assertEqual(s['status'], 'fail')
        self.assertIn('share', s['summary'])
        self.assertIn('0000:01:10.0', s['summary'])
        self.assertIn('0000:01:10.2', s['summary'])
        self.assertIn('ACS', s['fix'])

    def test_group_with_bridge_is_isolated(self):
        h = self.host()
        g = h.new_group()
        h.add_bridge('0000:00:1c.0', g)
        h.add_pf(PF, numvfs=1, vf_groups=[g])
        res = self.doctor(0)
        self.assertEqual(self.one(res, 'iommu-groups', PF)['status'], 'ok')

    def test_vf_shares_group_with_other_device(self):
        h = self.host()
        g = h.new_group()
        h._device('0000:00:1f.3', '0x040300', driver='snd_hda_intel', group=g)
        h.add_pf(PF, numvfs=2, vf_groups=[h.new_group(), g])
        s = self.one(self.doctor(1), 'iommu-groups', PF)
        self.assertIn('0000:00:1f.3', s['summary'])

    def test_no_driver(self):
        self.host().add_pf(PF, driver=None, ifname=None, numvfs=0)
        d = self.one(self.doctor(1), 'driver', PF)
        self.assertEqual(d['status'], 'fail')
        self.assertIn('modprobe', d['fix'])

    def test_driver_without_sriov(self):
        self.host().add_pf(PF, driver='uio_pci_generic', ifname=None, numvfs=0)
        d = self.one(self.doctor(1), 'driver', PF)
        self.assertEqual(d['status'], 'fail')
        self.assertIn('uio_pci_generic', d['summary'])

    def test_vfio_missing(self):
        self.host(vfio=None).add_pf(PF)
        v = self.one(self.doctor(1), 'vfio-pci')
        self.assertEqual(v['status'], 'fail')
        self.assertIn(os.uname().release, v['summary'])

    def test_vfio_modules_hidden(self):
        """sriovd's sandbox hides the module tree from its diagnostics helper (an inaccessible
        directory, ProtectKernelModules=): not seeing vfio-pci there is no proof it is missing."""
        self.host(vfio=None).add_pf(PF)
        modules = os.path.join(self.root, 'lib', 'modules', os.uname().release)
        os.chmod(modules, 0)
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
            env['DBUS_SYSTEM_BUS_ADDRESS'] = 'unix:path=%s/no-bus' % self.dir
            # root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, as in sriovd.service
            cmd = [SRIOVCTL, '--root', self.root, '--json', 'doctor']
            if os.geteuid() == 0:
                cmd = ['setpriv', '--bounding-set=-all', '--inh-caps=-all'] + cmd
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        finally:
            os.chmod(modules, 0o755)
        v = self.one(json.loads(r.stdout), 'vfio-pci')
        self.assertEqual(v['status'], 'skip', v)
        self.assertIn('cannot be read here', v['summary'])
        self.assertIsNone(v['fix'])

    # --- output and command line ---
    def test_human_output(self):
        h = self.host(cmdline='root=/dev/sda1 ro quiet', iommu=False)
        h.add_pf(PF)
        r = self.run_ctl('doctor')
        self.assertEqual(r.returncode, 1, r.stderr)
        out = r.stdout
        self.assertIn('Host:\n', out)
        self.assertIn('Physical function 0000:01:00.0 (enp1s0, igb):\n', out)
        self.assertIn('sriovd:\n', out)
        self.assertIn('  \u2717 Kernel command line lacks intel_iommu=on', out)
        self.assertIn('  \u2713 Firmware has the ACPI DMAR table', out)
        self.assertIn('  ! Kernel command line lacks iommu=pt', out)
        self.assertIn('      Fix: Add intel_iommu=on iommu=pt', out)
        self.assertIn('        GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"', out)
        self.assertIn('  i sriovd is not running', out)
        self.assertRegex(out, r'\n\d+ checks: \d+ ok, 1 warning, \d+ failed\.')

        ascii_out = self.run_ctl('doctor', lang='C').stdout
        self.assertIn('  x Kernel command line lacks intel_iommu=on', ascii_out)
        self.assertIn('  + Firmware has the ACPI DMAR table', ascii_out)
        self.assertTrue(all(ord(c) < 128 for c in ascii_out), 'ASCII only without a UTF-8 locale')

        no_legend = self.run_ctl('--no-legend', 'doctor').stdout
        self.assertNotIn('checks:', no_legend)

    def test_json_matches_human(self):
        h = self.host()
        h.add_pf(PF)
        h.add_pf(PF2, ifname='enp2s0', total=0, numvfs=0)
        res = self.doctor(1)
        human = self.run_ctl('doctor').stdout
        for x in res:
            self.assertIn(x['summary'], human)
        self.assertEqual(len(res), int(human.strip().splitlines()[-1].split()[0]))
        # host checks first, then each PF in address order, then the daemon
        devices = [x['device'] for x in res if x['check'] != 'sriovd']
        first_pf = devices.index(PF)
        self.assertTrue(all(d is None for d in devices[:first_pf]))
        self.assertEqual(devices[first_pf:], sorted(devices[first_pf:]))
        self.assertEqual(res[-1]['check'], 'sriovd')

    def test_usage_errors(self):
        self.host()
        self.assertEqual(self.run_ctl('doctor', 'extra').returncode, 2)
        self.assertEqual(self.run_ctl('status').returncode, 2)  # --root is for doctor only
        r = self.run_ctl('-H', 'somewhere', 'doctor')
        self.assertEqual(r.returncode, 2)
        self.assertIn('--host', r.stderr)
        self.assertEqual(self.run_ctl('doctor', '--root=', root=False).returncode, 2)

    def test_unreadable_directory_is_reported(self):
        # NetworkManager's profiles are readable by root only: doctor run by a user says it could not
        # look instead of claiming there is no conflict.
        h = self.host()
        h.add_pf(PF)
        h.write('etc/NetworkManager/system-connections/pf.nmconnection',
                '[connection]\nid=p\ninterface-name=enp1s0\n\n[sriov]\ntotal-vfs=4\n', 0o600)
        os.chmod(h.path('etc/NetworkManager/system-connections'), 0o700)
        for dirpath, dirnames, filenames in os.walk(self.dir):
            os.chmod(dirpath, os.stat(dirpath).st_mode | 0o005 if 'system-connections' not in dirpath else 0o700)
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            self.assertFalse(self.find(self.doctor(1), 'conflict', None, 'warn'))
            env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS='unix:path=%s/no-bus' % self.dir, LANG='C.UTF-8')
            # A copy the user can run, wherever the build directory is.
            ctl = os.path.join(self.dir, 'sriovctl')
            shutil.copy(SRIOVCTL, ctl)
            os.chmod(ctl, 0o755)
            r = subprocess.run(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ctl,
                                '--root', self.root, '--json', 'doctor'],
                               env=env, capture_output=True, text=True, timeout=60)
        else:
            r = self.run_ctl('--json', 'doctor')
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        res = json.loads(r.stdout)
        self.check_structure(res)
        w = self.find(res, 'conflict', None, 'warn')
        self.assertEqual(len(w), 1, res)
        self.assertIn('/etc/NetworkManager/system-connections', w[0]['summary'])
        self.assertIn('as root', w[0]['fix'])

    def test_files_not_regular(self):
        # A FIFO where a .link file should be made doctor hang; a link is followed as udev follows it,
        # an absolute one below --root, not to the host's file of that name.
        h = self.host()
        h.add_pf(PF)
        h.mkdir('etc/systemd/network')
        os.mkfifo(h.path('etc/systemd/network/50-fifo.link'))
        h.write('srv/links/uplink.link', '[Match]\nOriginalName=enp1s0\n\n[Link]\nSR-IOVVirtualFunctions=4\n')
        h.symlink('/srv/links/uplink.link', 'etc/systemd/network/60-uplink.link')
        res = self.doctor(1)
        w = self.find(res, 'conflict', None, 'warn')
        self.assertEqual([x['summary'] for x in w],
                         ['Cannot read /etc/systemd/network/50-fifo.link: not a regular file (a FIFO)'], res)
        c = self.find(res, 'conflict', PF, 'fail')
        self.assertEqual(len(c), 1, res)
        self.assertIn('/etc/systemd/network/60-uplink.link', c[0]['summary'])


if __name__ == '__main__':
    SRIOVCTL = sys.argv.pop(1)
    unittest.main(verbosity=2)
