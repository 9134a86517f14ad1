# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixture hosts for `sriovctl doctor --root`: directory trees shaped like /sys, /proc, /etc and /lib
of a real machine, built at run time. Symlinks are relative, as the kernel's are, so that they
resolve inside the tree."""

import os

PCI = 'sys/devices/pci0000:00'


def vf_address(pf_addr, index):
    """82576 layout: first VF at devfn 0x80, stride 2 (01:10.0, 01:10.2, ...)."""
    dom, bus, _ = pf_addr.split(':')
    devfn = 0x80 + index * 2
    return '%s:%s:%02x.%d' % (dom, bus, devfn >> 3, devfn & 7)


class Host:
    def __init__(self, root, vendor='intel', cmdline=None, firmware_table=True, iommu=True,
                 grub='quiet', vfio='loaded'):
        """vendor: 'intel' or 'amd'; cmdline: None for a correct one; firmware_table: DMAR/IVRS present;
        iommu: IOMMU active (groups and a /sys/class/iommu unit); grub: GRUB_CMDLINE_LINUX_DEFAULT
        (None: no /etc/default/grub); vfio: 'loaded', 'module' or None."""
        self.root = root
        self.vendor = vendor
        self.iommu = iommu
        self.next_group = 0
        self.pfs = {}
        if cmdline is None:
            cmdline = 'BOOT_IMAGE=/boot/vmlinuz root=/dev/sda1 ro quiet %s iommu=pt' % (
                'intel_iommu=on' if vendor == 'intel' else 'amd_iommu=on')
        self.write('proc/cmdline', cmdline + '\n')
        self.write('proc/cpuinfo', 'processor\t: 0\nvendor_id\t: %s\ncpu family\t: 6\nmodel name\t: Test CPU\n\n'
                   % ('GenuineIntel' if vendor == 'intel' else 'AuthenticAMD'))
        self.mkdir('sys/firmware/acpi/tables')
        self.write('sys/firmware/acpi/tables/FACP', 'x')
        if firmware_table:
            self.write('sys/firmware/acpi/tables/' + ('DMAR' if vendor == 'intel' else 'IVRS'), 'x')
        self.mkdir('sys/class/iommu')
        self.mkdir('sys/kernel/iommu_groups')
        self.mkdir('sys/bus/pci/devices')
        self.mkdir(PCI)
        if iommu:
            self.mkdir('sys/class/iommu/' + ('dmar0' if vendor == 'intel' else 'ivhd0'))
        for drv in ('igb', 'igbvf'):
            self.mkdir('sys/bus/pci/drivers/' + drv)
        if vfio == 'loaded':
            self.mkdir('sys/bus/pci/drivers/vfio-pci')
        if vfio in ('loaded', 'module'):
            self.write('lib/modules/%s/kernel/drivers/vfio/pci/vfio-pci.ko.xz' % os.uname().release, 'x')
        else:
            self.mkdir('lib/modules/%s/kernel' % os.uname().release)
        if grub is not None:
            self.write('etc/default/grub', 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=5\n'
                       'GRUB_CMDLINE_LINUX_DEFAULT="%s"\nGRUB_CMDLINE_LINUX=""\n' % grub)
        self.mkdir('etc/NetworkManager/system-connections')
        self.mkdir('usr/lib/systemd/network')
        self.write('usr/lib/systemd/network/99-default.link',
                   '[Match]\nOriginalName=*\n\n[Link]\nNamePolicy=keep kernel database onboard slot path\n'
                   'MACAddressPolicy=persistent\n')

    # --- files ---
    def path(self, rel):
        return os.path.join(self.root, rel)

    def mkdir(self, rel):
        os.makedirs(self.path(rel), exist_ok=True)

    def write(self, rel, content, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(content)
        os.chmod(p, mode)
        return '/' + rel

    def symlink(self, target, rel):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.lexists(p):
            os.unlink(p)
        os.symlink(target, p)

    # --- devices ---
    def new_group(self):
        g = self.next_group
        self.next_group += 1
        return g

    def _device(self, addr, cls, driver=None, group=None):
        d = PCI + '/' + addr
        self.mkdir(d)
        self.write(d + '/class', cls + '\n')
        self.write(d + '/vendor', '0x8086\n')
        self.symlink('../../../devices/pci0000:00/' + addr, 'sys/bus/pci/devices/' + addr)
        if driver:
            self.mkdir('sys/bus/pci/drivers/' + driver)
            self.symlink('../../../bus/pci/drivers/' + driver, d + '/driver')
            self.symlink('../../../../devices/pci0000:00/' + addr, 'sys/bus/pci/drivers/%s/%s' % (driver, addr))
        if group is not None and self.iommu:
            self.symlink('../../../kernel/iommu_groups/%d' % group, d + '/iommu_group')
            self.symlink('../../../../devices/pci0000:00/' + addr,
                         'sys/kernel/iommu_groups/%d/devices/%s' % (group, addr))
        return d

    def add_bridge(self, addr, group):
        self._device(addr, '0x060400', driver='pcieport', group=group)

    def add_pf(self, addr='0000:01:00.0', total=7, numvfs=7, driver='igb', ifname='enp1s0',
               mac='52:54:00:12:34:56', vf_groups=None):
        """vf_groups: IOMMU group per VF index (None: a group of its own each)."""
        d = self._device(addr, '0x020000', driver=driver, group=self.new_group())
        self.write(d + '/sriov_totalvfs', '%d\n' % total)
        self.write(d + '/sriov_numvfs', '%d\n' % numvfs)
        if ifname:
            self.write(d + '/net/%s/address' % ifname, mac + '\n')
        vfs = []
        for i in range(numvfs):
            va = vf_address(addr, i)
            group = vf_groups[i] if vf_groups else self.new_group()
            vd = self._device(va, '0x020000', driver='igbvf', group=group)
            self.symlink('../' + addr, vd + '/physfn')
            self.symlink('../' + va, d + '/virtfn%d' % i)
            vfs.append(va)
        self.pfs[addr] = vfs
        return vfs
