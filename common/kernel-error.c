/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "kernel-error.h"
#include "util.h"

#define PCI_VENDOR_INTEL 0x8086
#define PCI_VENDOR_MELLANOX 0x15b3
#define PCI_VENDOR_BROADCOM 0x14e4
#define PCI_VENDOR_QLOGIC 0x1077
#define PCI_VENDOR_SOLARFLARE 0x1924

const char *errno_name(int error) {
        return strerrorname_np(abs(error));
}

/* The kernel's own words for what it refused, in dmesg: "pci_enable_sriov()" in drivers/pci/iov.c logs
 * "not enough MMIO resources for SR-IOV" and "can't enable %d VFs (bus %02x out of range of %pR)"
 * before it returns ENOMEM (read from source). */
static int explain_numvfs(const KernelErrorContext *c, int e, char **ret_why, char **ret_fix) {
        const char *address = strempty(c->address), *driver = c->driver;
        unsigned n = c->count;
        int r = 0;

        *ret_why = *ret_fix = NULL;
        switch (e) {
        case EBUSY:
                r = asprintf_safe(ret_why, "VFs are in use, or the count was changed meanwhile (EBUSY)");
                break;
        case ERANGE:
                r = asprintf_safe(ret_why, "more than the device supports (ERANGE)");
                if (r >= 0)
                        r = asprintf_safe(ret_fix,
                                          "Ask for at most sriov_totalvfs VFs (cat "
                                          "/sys/bus/pci/devices/%s/sriov_totalvfs).",
                                          address);
                break;
        case ENOENT:
                if (!driver) {
                        r = asprintf_safe(ret_why, "no driver is bound to the PF (ENOENT)");
                        if (r >= 0)
                                r = asprintf_safe(
                                        ret_fix,
                                        "Load or bind the NIC's network driver (lspci -k -s %s names "
                                        "it), then sriovctl apply.",
                                        address);
                } else {
                        r = asprintf_safe(ret_why,
                                          "the PF's driver %s cannot create VFs through sysfs (ENOENT)",
                                          driver);
                        if (r >= 0)
                                r = asprintf_safe(
                                        ret_fix,
                                        "Bind the NIC's network driver to %s: drivers without "
                                        "sriov_configure (pci-stub, uio_pci_generic, igb_uio) create "
                                        "no VFs, and vfio-pci only with its enable_sriov=1 option.",
                                        address);
                }
                break;
        case EINVAL:
                r = asprintf_safe(ret_why, "the kernel or the driver rejected the value (EINVAL)");
                if (r >= 0)
                        r = asprintf_safe(
                                ret_fix,
                                "dmesg has the driver's reason (some drivers refuse VFs in a firmware "
                                "mode or while the PF is in switchdev mode).");
                break;
        case ENOSPC:
                r = asprintf_safe(
                        ret_why,
                        "the device or %s has no interrupt vectors (MSI-X) or queues left for %u VFs "
                        "(ENOSPC)",
                        driver ?: "its driver", n);
                if (r >= 0)
                        r = asprintf_safe(ret_fix,
                                          "Ask for fewer VFs, or move interrupt vectors from the PF to the "
                                          "VFs. A PF with "
                                          "sriov_vf_total_msix in /sys/bus/pci/devices/%s/ lets each VF's "
                                          "sriov_vf_msix_count "
                                          "be written before the VF's driver binds (DriversAutoprobe=no). "
                                          "Drivers with the "
                                          "devlink parameter msix_vec_per_pf_max (ice, bnxt_en) cap the "
                                          "PF's own share: "
                                          "devlink dev param set pci/%s name msix_vec_per_pf_max value N "
                                          "cmode driverinit, "
                                          "then devlink dev reload pci/%s (bnxt_en: cmode permanent, then "
                                          "reboot). dmesg "
                                          "names what ran out.",
                                          address, address, address);
                break;
        case ENOMEM:
                r = asprintf_safe(
                        ret_why,
                        "no room for the VFs' BARs or bus numbers below the PF's bridge, or no memory "
                        "for %u VFs (ENOMEM)",
                        n);
                if (r >= 0)
                        r = asprintf_safe(ret_fix,
                                          "dmesg says which: \"not enough MMIO resources for SR-IOV\" or "
                                          "\"can't enable %u "
                                          "VFs (bus .. out of range)\". Add pci=realloc to the kernel "
                                          "command line (in "
                                          "/etc/default/grub, then update-grub and reboot) so that the "
                                          "kernel makes room "
                                          "for the VF BARs; in the firmware setup enable SR-IOV support and "
                                          "\"Above 4G "
                                          "Decoding\", which reserve BAR space and bus numbers for VFs; or "
                                          "ask for fewer "
                                          "VFs.",
                                          n);
                break;
        case EIO:
        case ETIMEDOUT:
                r = asprintf_safe(ret_why, "the device or its firmware did not answer %s (%s)",
                                  driver ?: "the driver", errno_name(e));
                if (r >= 0)
                        r = asprintf_safe(
                                ret_fix,
                                "dmesg has the driver's message. Reset the PF (echo 1 > "
                                "/sys/bus/pci/devices/%s/reset) or reload its driver (modprobe -r "
                                "%s; modprobe %s), then sriovctl apply; if it happens again, update "
                                "the NIC's firmware.",
                                address, driver ?: "DRIVER", driver ?: "DRIVER");
                break;
        case EPERM:
        case EACCES:
                r = asprintf_safe(ret_why, "the kernel did not permit the write (%s)", errno_name(e));
                if (r >= 0)
                        r = asprintf_safe(
                                ret_fix,
                                "sriovd must run as root with CAP_SYS_ADMIN and CAP_DAC_OVERRIDE; in a "
                                "container "
                                "it needs a privileged one with /sys writable. With the kernel locked down "
                                "(Secure Boot), dmesg shows \"Lockdown:\" for what was refused: the "
                                "firmware's "
                                "Secure Boot setting or the lockdown= kernel option decides.");
                break;
        case EROFS:
                r = asprintf_safe(ret_why,
                                  "sysfs is mounted read-only, as in an unprivileged container (EROFS)");
                if (r >= 0)
                        r = asprintf_safe(ret_fix,
                                          "Run sriovd on the host, or in a privileged container with /sys "
                                          "mounted read-write.");
                break;
        case EOPNOTSUPP:
                r = asprintf_safe(ret_why,
                                  "%s does not support SR-IOV on this device or in its mode (EOPNOTSUPP)",
                                  driver ?: "the driver");
                if (r >= 0)
                        r = asprintf_safe(ret_fix, "dmesg has the driver's reason (a firmware mode, a port "
                                                   "configuration or a missing license).");
                break;
        default:
                r = asprintf_safe(ret_why, "%s (%s)", strerror(e), errno_name(e) ?: "unknown errno");
        }
        return r < 0 ? -ENOMEM : 0;
}

static int explain_bind(const KernelErrorContext *c, int e, char **ret_why, char **ret_fix) {
        const char *driver = c->driver;
        int r = 0;

        *ret_why = *ret_fix = NULL;
        switch (e) {
        case ENODEV:
                r = asprintf_safe(ret_why, "no driver took the VF (ENODEV)");
                if (r >= 0 && driver)
                        r = asprintf_safe(ret_fix, "Load the driver: modprobe %s.", driver);
                break;
        case EBUSY:
                r = asprintf_safe(ret_why, "the VF is in use (EBUSY)");
                break;
        case ENOSPC:
        case ENOMEM:
                r = asprintf_safe(ret_why, "the driver got no interrupt vectors or memory for the VF (%s)",
                                  errno_name(e));
                if (r >= 0)
                        r = asprintf_safe(
                                ret_fix, "dmesg names what ran out; a PF with sriov_vf_total_msix takes the "
                                         "VF's sriov_vf_msix_count before the VF's driver binds.");
                break;
        case EIO:
        case ETIMEDOUT:
                r = asprintf_safe(ret_why, "the driver's probe of the VF failed (%s)", errno_name(e));
                if (r >= 0)
                        r = asprintf_safe(ret_fix, "dmesg has the driver's message; reset the VF (echo 1 > "
                                                   "/sys/bus/pci/devices/VF/reset) and sriovctl apply.");
                break;
        case EPERM:
        case EACCES:
        case EROFS:
                return explain_numvfs(c, e, ret_why, ret_fix);
        default:
                r = asprintf_safe(ret_why, "%s (%s)", strerror(e), errno_name(e) ?: "unknown errno");
        }
        return r < 0 ? -ENOMEM : 0;
}

int kernel_error_explain(const KernelErrorContext *c, int error, char **ret_why, char **ret_fix) {
        _cleanup_free_ char *why = NULL, *fix = NULL;
        int r;

        r = c->op == KERNEL_OP_BIND ? explain_bind(c, abs(error), &why, &fix)
                                    : explain_numvfs(c, abs(error), &why, &fix);
        if (r < 0)
                return r;
        *ret_why = TAKE_PTR(why);
        *ret_fix = TAKE_PTR(fix);
        return 0;
}

char *kernel_sriov_disabled_fix(uint16_t vendor, const char *address, unsigned count) {
        unsigned n = count > 0 ? count : 8;
        char *m = NULL;

        switch (vendor) {
        case PCI_VENDOR_INTEL:
                (void) asprintf_safe(
                        &m,
                        "Intel: enable SR-IOV in the system firmware setup (\"SR-IOV Support\" in the PCI "
                        "or "
                        "virtualization settings) and for the port in its UEFI device menu "
                        "(\"Virtualization "
                        "Mode: SR-IOV\"); an adapter whose NVM lacks the setting needs an NVM update with "
                        "Intel's nvmupdate64e, and older adapters are configured with bootutil64e. Then "
                        "power-cycle.");
                break;
        case PCI_VENDOR_MELLANOX:
                (void) asprintf_safe(
                        &m,
                        "NVIDIA/Mellanox: mlxconfig -d %s set SRIOV_EN=1 NUM_OF_VFS=%u (mstflint or "
                        "NVIDIA MFT), and SR-IOV in the system firmware setup; then power-cycle "
                        "(or mlxfwreset -d %s reset).",
                        strempty(address), n, strempty(address));
                break;
        case PCI_VENDOR_BROADCOM:
                (void) asprintf_safe(
                        &m,
                        "Broadcom: enable SR-IOV and the VF count in the NIC's NVM with niccli (or "
                        "the older bnxtnvm), or with devlink dev param set pci/%s name "
                        "enable_sriov value true cmode permanent (bnxt_en), and SR-IOV in the "
                        "system firmware setup; then reboot.",
                        strempty(address));
                break;
        case PCI_VENDOR_QLOGIC:
                (void) asprintf_safe(
                        &m, "QLogic/Marvell: enable SR-IOV in the adapter's UEFI device menu or with "
                            "QConvergeConsole (qaucli), and in the system firmware setup; then reboot.");
                break;
        case PCI_VENDOR_SOLARFLARE:
                (void) asprintf_safe(&m,
                                     "Solarflare/AMD: sfboot sriov=enabled vf-count=%u (Solarflare Linux "
                                     "utilities), and SR-IOV in the system firmware setup; then reboot.",
                                     n);
                break;
        default:
                (void) asprintf_safe(
                        &m, "Enable SR-IOV in the system firmware setup (\"SR-IOV Support\" in the PCI "
                            "settings) and in the NIC's own configuration with its vendor's tool; then "
                            "power-cycle.");
        }
        return m;
}
