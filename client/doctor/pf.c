/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SR-IOV capable PCI devices: sriov_totalvfs, the driver bound, the IOMMU groups of the VFs, and
 * (conflicts.c) the other tools that would set the VF count. */
#include "doctor-internal.h"
#include "kernel-error.h"
#include "names.h"

/* Drivers that bind to SR-IOV capable devices but cannot create VFs through sriov_numvfs (they have
 * no sriov_configure()). */
static const char *const drivers_without_sriov[] = {
        "pci-stub",
        "uio_pci_generic",
        "igb_uio",
};

/* Devices in an IOMMU group besides a VF that do not take its isolation away. */
#define PCI_CLASS_BRIDGE_PCI_PREFIX "0x0604"

static void pf_info_done(PfInfo *pf) {
        free(pf->address);
        free(pf->driver);
        strv_free(pf->ifnames);
        free(pf->mac);
        free(pf->id_path);
        strv_free(pf->vfs);
        *pf = (PfInfo){};
}

/* The addresses of the VFs that the virtfn<N> links of a PF's directory point to, by index; NULL
 * when it has none. */
static int pf_info_load_vfs(const Doctor *d, const char *dir, char ***ret) {
        _cleanup_strv_free_ char **entries = NULL, **vfs = NULL;
        unsigned max_index = 0;
        bool any_vf = false;
        int r;

        r = doctor_list_dir(d, dir, &entries);
        if (r == -ENOMEM)
                return r;
        for (char **e = entries; e && *e; e++) {
                const char *n = startswith(*e, SYSFS_VIRTFN_PREFIX);
                unsigned i;

                if (n && safe_atou(n, &i) >= 0 && i < 4096) {
                        any_vf = true;
                        max_index = MAX(max_index, i);
                }
        }
        if (!any_vf) {
                *ret = NULL;
                return 0;
        }

        vfs = calloc(max_index + 2, sizeof(char *));
        if (!vfs)
                return -ENOMEM;
        for (unsigned i = 0, k = 0; i <= max_index; i++) {
                _cleanup_free_ char *link = NULL;
                char *name = NULL;

                if (asprintf_safe(&link, "%s/" SYSFS_VIRTFN_PREFIX "%u", dir, i) < 0)
                        return -ENOMEM;
                r = doctor_read_link(d, link, &name);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0)
                        vfs[k++] = name;
        }
        *ret = TAKE_PTR(vfs);
        return 0;
}

static int pf_info_load(const Doctor *d, const char *address, PfInfo *ret) {
        _cleanup_(pf_info_done) PfInfo pf = {};
        _cleanup_free_ char *dir = NULL, *p = NULL;
        int r;

        pf.address = strdup(address);
        dir = strjoin(SYSFS_PCI_DEVICES "/", address);
        pf.id_path = strjoin("pci-", address);
        if (!pf.address || !dir || !pf.id_path)
                return -ENOMEM;

        p = strjoin(dir, "/" SYSFS_SRIOV_TOTALVFS);
        if (!p)
                return -ENOMEM;
        pf.total_error = doctor_read_attr_uint(d, p, &pf.total_vfs);
        free(p);
        p = strjoin(dir, "/" SYSFS_SRIOV_NUMVFS);
        if (!p)
                return -ENOMEM;
        (void) doctor_read_attr_uint(d, p, &pf.num_vfs);
        free(p);
        p = strjoin(dir, "/" SYSFS_VENDOR);
        if (!p)
                return -ENOMEM;
        {
                _cleanup_free_ char *vendor = NULL;
                unsigned long v;
                char *end;

                r = doctor_read_attr(d, p, &vendor);
                if (r == -ENOMEM)
                        return r;
                if (vendor) {
                        v = strtoul(strstrip(vendor), &end, 16);
                        if (end != vendor && *end == 0 && v <= UINT16_MAX)
                                pf.vendor = (uint16_t) v;
                }
        }
        free(p);

        p = strjoin(dir, "/" SYSFS_DRIVER);
        if (!p)
                return -ENOMEM;
        r = doctor_read_link(d, p, &pf.driver);
        if (r == -ENOMEM)
                return r;
        free(p);

        p = strjoin(dir, "/" SYSFS_NET);
        if (!p)
                return -ENOMEM;
        r = doctor_list_dir(d, p, &pf.ifnames);
        if (r == -ENOMEM)
                return r;
        free(p);
        p = NULL;
        if (pf.ifnames) {
                _cleanup_free_ char *a = strjoin(dir, "/" SYSFS_NET "/", pf.ifnames[0], "/address");
                if (!a)
                        return -ENOMEM;
                r = doctor_read_attr(d, a, &pf.mac);
                if (r == -ENOMEM)
                        return r;
                if (pf.mac)
                        strstrip(pf.mac);
        }

        r = pf_info_load_vfs(d, dir, &pf.vfs);
        if (r < 0)
                return r;

        *ret = pf;
        pf = (PfInfo){};
        return 0;
}

static bool driver_lacks_sriov(const char *driver) {
        for (size_t i = 0; i < ELEMENTSOF(drivers_without_sriov); i++)
                if (streq(drivers_without_sriov[i], driver))
                        return true;
        return false;
}

static int check_pf_sriov(Doctor *d, const PfInfo *pf) {
        if (pf->total_error < 0)
                ADD(d, DOCTOR_SECTION_PF, "sriov-capable", pf->address, DOCTOR_SKIP, NULL,
                    "Cannot read sriov_totalvfs: %s", strerror(-pf->total_error));
        else if (pf->total_vfs == 0)
                /* the same advice, by vendor, as sriovd gives when asked for VFs on it */
                ADD(d, DOCTOR_SECTION_PF, "sriov-capable", pf->address, DOCTOR_FAIL,
                    kernel_sriov_disabled_fix(pf->vendor, pf->address, 0),
                    "sriov_totalvfs is 0: SR-IOV is disabled in the firmware or the NIC's configuration");
        else
                ADD(d, DOCTOR_SECTION_PF, "sriov-capable", pf->address, DOCTOR_OK, NULL,
                    "SR-IOV capable: up to %u VFs, %u enabled", pf->total_vfs, pf->num_vfs);
        return 0;
}

static int check_pf_driver(Doctor *d, const PfInfo *pf) {
        if (!pf->driver)
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_FAIL,
                    doctor_fixf(
                            "Load the NIC's driver (lspci -k -s %s names the kernel modules that fit), for "
                            "example:\n"
                            "modprobe igb; if it is loaded but did not bind, dmesg says why.",
                            pf->address),
                    "No driver bound: the kernel creates VFs only through the PF's driver");
        else if (streq(pf->driver, DRIVER_VFIO_PCI))
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_WARN,
                    doctor_fixf(
                            "Bind the NIC's network driver to the PF, unless a userspace driver owns it on "
                            "purpose:\n"
                            "echo %s > /sys/bus/pci/drivers/vfio-pci/unbind; echo > "
                            "/sys/bus/pci/devices/%s/driver_override;\n"
                            "echo %s > /sys/bus/pci/drivers_probe",
                            pf->address, pf->address, pf->address),
                    "The PF itself is bound to vfio-pci: VFs need its enable_sriov=1 option and a VF token");
        else if (driver_lacks_sriov(pf->driver))
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_FAIL,
                    doctor_fixf(
                            "Bind the NIC's network driver instead of %s:\n"
                            "echo %s > /sys/bus/pci/drivers/%s/unbind; echo %s > /sys/bus/pci/drivers_probe",
                            pf->driver, pf->address, pf->driver, pf->address),
                    "Driver %s cannot create VFs", pf->driver);
        else
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_OK, NULL, "Driver %s", pf->driver);
        return 0;
}

static bool is_bridge(const Doctor *d, const char *address) {
        _cleanup_free_ char *p = strjoin(SYSFS_PCI_DEVICES "/", address, "/class"), *class = NULL;

        return p && doctor_read_attr(d, p, &class) >= 0 &&
               startswith(strstrip(class), PCI_CLASS_BRIDGE_PCI_PREFIX);
}

static int check_pf_iommu_groups(Doctor *d, const PfInfo *pf) {
        _cleanup_free_ char *shared = NULL, *first_without = NULL;
        size_t n = strv_length(pf->vfs), n_without = 0, n_shared = 0;

        if (n == 0) {
                ADD(d, DOCTOR_SECTION_PF, "iommu-groups", pf->address, DOCTOR_SKIP, NULL,
                    "No VFs enabled: their IOMMU groups are checked once they exist");
                return 0;
        }

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *link = NULL, *group = NULL, *dir = NULL, *others = NULL;
                _cleanup_strv_free_ char **members = NULL;
                int r;

                link = strjoin(SYSFS_PCI_DEVICES "/", pf->vfs[i], "/" SYSFS_IOMMU_GROUP);
                if (!link)
                        return -ENOMEM;
                r = doctor_read_link(d, link, &group);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (n_without++ == 0 && !(first_without = strdup(pf->vfs[i])))
                                return -ENOMEM;
                        continue;
                }

                dir = strjoin("/sys/kernel/iommu_groups/", group, "/devices");
                if (!dir)
                        return -ENOMEM;
                r = doctor_list_dir(d, dir, &members);
                if (r == -ENOMEM)
                        return r;

                /* Bridges in the group do no DMA of their own. */
                for (char **m = members; m && *m; m++)
                        if (!streq(*m, pf->vfs[i]) && !is_bridge(d, *m) &&
                            strextend_sep(&others, ", ", "%s", *m) < 0)
                                return -ENOMEM;
                /* Name the first few; the rest only by count. */
                if (others && n_shared++ < 3 &&
                    strextend_sep(&shared, "; ", "%s (group %s) with %s", pf->vfs[i], group, others) < 0)
                        return -ENOMEM;
        }

        if (n_without > 0)
                ADD(d, DOCTOR_SECTION_PF, "iommu-groups", pf->address, DOCTOR_FAIL,
                    doctor_fixf("Turn the IOMMU on (see the host checks above); vfio-pci takes only devices "
                                "that\n"
                                "have an IOMMU group."),
                    "%zu of %zu VFs have no IOMMU group (first: %s)", n_without, n, first_without);
        if (n_shared > 0)
                ADD(d, DOCTOR_SECTION_PF, "iommu-groups", pf->address, DOCTOR_FAIL,
                    doctor_fixf(
                            "A VM gets a whole IOMMU group, so VFs that share one cannot go to different "
                            "VMs. "
                            "The\n"
                            "PCIe path above this NIC lacks ACS isolation: use a slot wired to a CPU root "
                            "port, update\n"
                            "the firmware (some versions add ACS for their root ports), or give the whole "
                            "group to\n"
                            "one VM. The out-of-tree pcie_acs_override= patch hides the problem, it does "
                            "not "
                            "fix it."),
                    "%zu of %zu VFs share their IOMMU group: %s%s", n_shared, n, shared,
                    n_shared > 3 ? "; ..." : "");
        if (n_without == 0 && n_shared == 0)
                ADD(d, DOCTOR_SECTION_PF, "iommu-groups", pf->address, DOCTOR_OK, NULL,
                    "%zu VF%s, each alone in its IOMMU group", n, n == 1 ? "" : "s");
        return 0;
}

static int add_device(Doctor *d, const PfInfo *pf) {
        _cleanup_free_ char *address = strdup(pf->address), *desc = NULL;
        DoctorDevice *devices;

        if (asprintf(&desc, "%s, %s", pf->ifnames ? pf->ifnames[0] : "no interface",
                     pf->driver ?: "no driver") < 0)
                return -ENOMEM;
        devices = realloc(d->devices, (d->n_devices + 1) * sizeof(DoctorDevice));
        if (!address || !devices)
                return -ENOMEM;
        d->devices = devices;
        d->devices[d->n_devices++] = (DoctorDevice){TAKE_PTR(address), TAKE_PTR(desc)};
        return 0;
}

int doctor_check_pfs(Doctor *d) {
        _cleanup_(conflicts_done) Conflicts conflicts = {};
        _cleanup_strv_free_ char **devices = NULL;
        PfInfo *pfs = NULL;
        size_t n = 0;
        int r;

        r = doctor_list_dir(d, SYSFS_PCI_DEVICES, &devices);
        if (r == -ENOMEM)
                return r;

        r = conflicts_load(d, &conflicts);
        if (r < 0)
                return r;

        pfs = calloc(strv_length(devices) + 1, sizeof(PfInfo));
        if (!pfs)
                return -ENOMEM;
        for (char **a = devices; a && *a; a++) {
                _cleanup_free_ char *p = strjoin(SYSFS_PCI_DEVICES "/", *a, "/" SYSFS_SRIOV_TOTALVFS);

                if (!p) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (!doctor_exists(d, p))
                        continue;
                r = pf_info_load(d, *a, &pfs[n]);
                if (r < 0)
                        goto finish;
                n++;
        }

        if (n == 0) {
                r = doctor_add_result(
                        d, DOCTOR_SECTION_HOST, "sriov-capable", NULL, DOCTOR_FAIL,
                        doctor_fixf(
                                "Enable SR-IOV in the firmware setup (often \"SR-IOV Support\" in the PCI "
                                "settings)\n"
                                "and in the NIC's own configuration, or use a NIC that supports SR-IOV."),
                        "No PCI device offers SR-IOV (none has sriov_totalvfs)");
                if (r >= 0 && !d->results[d->n_results - 1].fix)
                        r = -ENOMEM;
                goto finish;
        }

        for (size_t i = 0; i < n; i++) {
                r = add_device(d, &pfs[i]);
                if (r < 0)
                        goto finish;
                r = check_pf_sriov(d, &pfs[i]);
                if (r < 0)
                        goto finish;
                r = check_pf_driver(d, &pfs[i]);
                if (r < 0)
                        goto finish;
                r = check_pf_iommu_groups(d, &pfs[i]);
                if (r < 0)
                        goto finish;
                r = conflicts_check_pf(d, &pfs[i], pfs, n, &conflicts);
                if (r < 0)
                        goto finish;
        }
        r = 0;

finish:
        for (size_t i = 0; i < n; i++)
                pf_info_done(&pfs[i]);
        free(pfs);
        return r;
}
