/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host's IOMMU: the CPU vendor's switch on the kernel command line (and how to set it through
 * GRUB), the firmware's DMAR or IVRS table, the IOMMU groups, and vfio-pci. */
#include "doctor-internal.h"
#include "names.h"

typedef enum CpuVendor {
        CPU_VENDOR_UNKNOWN,
        CPU_VENDOR_INTEL,
        CPU_VENDOR_AMD,
} CpuVendor;

static CpuVendor cpu_vendor(const Doctor *d, char **ret_name) {
        _cleanup_free_ char *cpuinfo = NULL;
        const char *p;

        *ret_name = NULL;
        if (doctor_read_file(d, "/proc/cpuinfo", &cpuinfo) < 0)
                return CPU_VENDOR_UNKNOWN;

        p = strstr(cpuinfo, "vendor_id");
        if (!p)
                return CPU_VENDOR_UNKNOWN;
        p = strchr(p, ':');
        if (!p)
                return CPU_VENDOR_UNKNOWN;
        p++;
        p += strspn(p, " \t");
        *ret_name = strndup(p, strcspn(p, "\n"));
        if (strneq(p, "GenuineIntel", 12))
                return CPU_VENDOR_INTEL;
        /* Hygon's Dhyana is AMD's Zen with AMD's IOMMU. */
        if (strneq(p, "AuthenticAMD", 12) || strneq(p, "HygonGenuine", 12))
                return CPU_VENDOR_AMD;
        return CPU_VENDOR_UNKNOWN;
}

/* The value of the last GRUB_CMDLINE_LINUX_DEFAULT= in /etc/default/grub (the shell takes the last
 * assignment), without its quotes; NULL if there is none. */
static int grub_cmdline_default(const char *grub, char **ret) {
        _cleanup_free_ char *old = NULL;
        size_t l;

        for (const char *p = grub; *p;) {
                const char *e = strchrnul(p, '\n'), *v;
                _cleanup_free_ char *line = strndup(p, e - p);

                p = *e ? e + 1 : e;
                if (!line)
                        return -ENOMEM;
                v = startswith(strstrip(line), "GRUB_CMDLINE_LINUX_DEFAULT=");
                if (v && free_and_strdup(&old, v) < 0)
                        return -ENOMEM;
        }
        l = old ? strlen(old) : 0;
        if (l >= 2 && IN_SET_CHAR(old[0], '"', '\'') && old[l - 1] == old[0]) {
                memmove(old, old + 1, l - 2);
                old[l - 2] = 0;
        }
        *ret = TAKE_PTR(old);
        return 0;
}

/* The words with the parameters in want in, replacing other values of their keys. Returns 1 if that
 * changed anything, 0 if the words had them all. */
static int cmdline_with(char **words, char **want, char ***ret) {
        _cleanup_strv_free_ char **kept = NULL;
        bool changed = false;

        for (char **w = words; w && *w; w++) {
                bool replaced = false;

                for (char **x = want; x && *x; x++) {
                        size_t k = strcspn(*x, "=");
                        if (strneq(*w, *x, k) && (*w)[k] == '=' && !streq(*w, *x))
                                replaced = true;
                }
                if (replaced) {
                        changed = true;
                        continue;
                }
                if (strv_extend(&kept, *w) < 0)
                        return -ENOMEM;
        }
        for (char **x = want; x && *x; x++)
                if (!strv_contains(kept, *x)) {
                        changed = true;
                        if (strv_extend(&kept, *x) < 0)
                                return -ENOMEM;
                }

        *ret = TAKE_PTR(kept);
        return changed;
}

/* How to add the parameters in want to the kernel command line, as exact as /etc/default/grub
 * allows: the GRUB_CMDLINE_LINUX_DEFAULT line with them in, replacing other values of their keys. */
static char *grub_fix(const Doctor *d, char **want) {
        _cleanup_free_ char *grub = NULL, *old = NULL, *joined = NULL, *newline = NULL;
        _cleanup_strv_free_ char **words = NULL, **kept = NULL;
        char *s;
        int r;

        for (char **w = want; w && *w; w++)
                if (strextend_sep(&joined, " ", "%s", *w) < 0)
                        return NULL;

        if (doctor_read_file(d, "/etc/default/grub", &grub) < 0)
                return doctor_fixf(
                        "Add %s to the kernel command line of the boot loader. With GRUB: append them to\n"
                        "GRUB_CMDLINE_LINUX_DEFAULT=\"...\" in /etc/default/grub, run update-grub and "
                        "reboot.",
                        strempty(joined));

        if (grub_cmdline_default(grub, &old) < 0 || split_words(strempty(old), NULL, &words) < 0)
                return NULL;
        r = cmdline_with(words, want, &kept);
        if (r < 0)
                return NULL;
        if (r == 0)
                return doctor_fixf(
                        "/etc/default/grub already has %s, but the running kernel was not booted with it:\n"
                        "run update-grub and reboot.",
                        strempty(joined));

        for (char **w = kept; w && *w; w++)
                if (strextend_sep(&newline, " ", "%s", *w) < 0)
                        return NULL;

        if (asprintf(&s,
                     "Add %s to the kernel command line. In /etc/default/grub set\n"
                     "  GRUB_CMDLINE_LINUX_DEFAULT=\"%s\"\n"
                     "then run update-grub and reboot.",
                     strempty(joined), strempty(newline)) < 0)
                return NULL;
        return s;
}

typedef struct HostFacts {
        CpuVendor vendor;
        char *vendor_name;
        bool iommu_active;
} HostFacts;

static void host_facts_done(HostFacts *h) {
        free(h->vendor_name);
}

static const char *iommu_param(CpuVendor v) {
        return v == CPU_VENDOR_AMD ? "amd_iommu" : "intel_iommu";
}

static const char *firmware_feature(CpuVendor v) {
        return v == CPU_VENDOR_AMD ? "AMD-Vi (\"IOMMU\" or \"AMD-Vi\" in the setup)"
                                   : "VT-d (\"Intel Virtualization Technology for Directed I/O\")";
}

static int check_iommu(Doctor *d, HostFacts *h) {
        _cleanup_strv_free_ char **units = NULL, **groups = NULL;
        _cleanup_free_ char *names = NULL;
        int r;

        r = doctor_list_dir(d, "/sys/class/iommu", &units);
        if (r == -ENOMEM)
                return r;
        r = doctor_list_dir(d, "/sys/kernel/iommu_groups", &groups);
        if (r == -ENOMEM)
                return r;

        for (char **u = units; u && *u; u++)
                if (strextend_sep(&names, ", ", "%s", *u) < 0)
                        return -ENOMEM;

        h->iommu_active = strv_length(groups) > 0;
        if (h->iommu_active && strv_length(units) > 0)
                ADD(d, DOCTOR_SECTION_HOST, "iommu", NULL, DOCTOR_OK, NULL,
                    "IOMMU active: %zu IOMMU groups (%s)", strv_length(groups), names);
        else if (h->iommu_active)
                ADD(d, DOCTOR_SECTION_HOST, "iommu", NULL, DOCTOR_OK, NULL,
                    "IOMMU active: %zu IOMMU groups (no unit in /sys/class/iommu)", strv_length(groups));
        else
                ADD(d, DOCTOR_SECTION_HOST, "iommu", NULL, DOCTOR_FAIL,
                    h->vendor == CPU_VENDOR_UNKNOWN
                            ? doctor_fixf("Turn the platform's IOMMU on in the firmware and on the kernel "
                                          "command "
                                          "line.")
                            : doctor_fixf("Turn the IOMMU on: enable %s in the firmware setup\n"
                                          "and boot with %s=on (the kernel command line and firmware checks "
                                          "below "
                                          "say\n"
                                          "what is missing).",
                                          firmware_feature(h->vendor), iommu_param(h->vendor)),
                    "IOMMU not active: %s, no IOMMU groups in /sys/kernel/iommu_groups; vfio-pci cannot "
                    "take a VF",
                    strv_length(units) > 0 ? "units exist but" : "no unit in /sys/class/iommu");
        return 0;
}

/* value: of intel_iommu= or amd_iommu=; iommu: of iommu=; either NULL when not given. */
static DoctorStatus cmdline_status(const HostFacts *h, const char *value, const char *iommu) {
        if ((value && list_has(value, "off")) || (iommu && list_has(iommu, "off")))
                return DOCTOR_FAIL;
        if (value && list_has(value, "on"))
                return DOCTOR_OK;
        if (!h->iommu_active)
                return DOCTOR_FAIL;
        /* AMD-Vi is on by default when the firmware has an IVRS table; intel_iommu's default is a
         * build option (CONFIG_INTEL_IOMMU_DEFAULT_ON) that kernels have changed back and forth. */
        if (h->vendor == CPU_VENDOR_AMD)
                return DOCTOR_OK;
        return DOCTOR_WARN;
}

static int check_cmdline(Doctor *d, HostFacts *h) {
        _cleanup_free_ char *cmdline = NULL, *want_param = NULL;
        _cleanup_strv_free_ char **words = NULL, **want = NULL;
        const char *param = iommu_param(h->vendor), *value, *iommu;
        DoctorStatus status;
        bool pt;
        int r;

        if (h->vendor == CPU_VENDOR_UNKNOWN) {
                ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_SKIP, NULL,
                    "CPU vendor %s: no intel_iommu=/amd_iommu= switch to check",
                    h->vendor_name ?: "unknown");
                return 0;
        }

        r = doctor_read_file(d, "/proc/cmdline", &cmdline);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_SKIP, NULL,
                    "Cannot read /proc/cmdline: %s", strerror(-r));
                return 0;
        }
        r = split_words(cmdline, NULL, &words);
        if (r < 0)
                return r;

        value = words_value(words, param);
        iommu = words_value(words, "iommu");
        pt = iommu && list_has(iommu, "pt");
        status = cmdline_status(h, value, iommu);

        if (asprintf(&want_param, "%s=on", param) < 0)
                return -ENOMEM;
        if ((status != DOCTOR_OK && strv_extend(&want, want_param) < 0) ||
            (!pt && strv_extend(&want, "iommu=pt") < 0))
                return -ENOMEM;

        switch (status) {
        case DOCTOR_OK:
                if (value)
                        ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_OK, NULL,
                            "Kernel command line has %s=on", param);
                else
                        ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_OK, NULL,
                            "Kernel command line has no %s=, and the IOMMU is on by default", param);
                break;
        case DOCTOR_WARN:
                ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_WARN, grub_fix(d, want),
                    "Kernel command line lacks %s=on: the IOMMU is on only by this kernel's build default",
                    param);
                break;
        default:
                if (value && list_has(value, "off"))
                        ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_FAIL, grub_fix(d, want),
                            "Kernel command line turns the IOMMU off with %s=%s", param, value);
                else if (iommu && list_has(iommu, "off"))
                        ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_FAIL, grub_fix(d, want),
                            "Kernel command line turns the IOMMU off with iommu=%s", iommu);
                else
                        ADD(d, DOCTOR_SECTION_HOST, "kernel-cmdline", NULL, DOCTOR_FAIL, grub_fix(d, want),
                            "Kernel command line lacks %s=on, and the IOMMU is not on without it", param);
        }

        if (pt)
                ADD(d, DOCTOR_SECTION_HOST, "iommu-passthrough", NULL, DOCTOR_OK, NULL,
                    "Kernel command line has iommu=pt");
        else
                ADD(d, DOCTOR_SECTION_HOST, "iommu-passthrough", NULL, DOCTOR_WARN, grub_fix(d, want),
                    "Kernel command line lacks iommu=pt: DMA of every host device goes through the IOMMU");
        return 0;
}

static int check_firmware(Doctor *d, HostFacts *h) {
        const char *table = h->vendor == CPU_VENDOR_AMD ? "IVRS" : "DMAR";
        _cleanup_free_ char *path = NULL;

        if (h->vendor == CPU_VENDOR_UNKNOWN) {
                ADD(d, DOCTOR_SECTION_HOST, "firmware", NULL, DOCTOR_SKIP, NULL,
                    "CPU vendor %s: no DMAR/IVRS table to check", h->vendor_name ?: "unknown");
                return 0;
        }
        if (!doctor_exists(d, "/sys/firmware/acpi/tables")) {
                ADD(d, DOCTOR_SECTION_HOST, "firmware", NULL, DOCTOR_SKIP, NULL,
                    "No ACPI tables in /sys/firmware/acpi/tables: cannot check for the %s table", table);
                return 0;
        }

        path = strjoin("/sys/firmware/acpi/tables/", table);
        if (!path)
                return -ENOMEM;
        if (doctor_exists(d, path))
                ADD(d, DOCTOR_SECTION_HOST, "firmware", NULL, DOCTOR_OK, NULL,
                    "Firmware has the ACPI %s table: %s is enabled", table,
                    h->vendor == CPU_VENDOR_AMD ? "AMD-Vi" : "VT-d");
        else
                ADD(d, DOCTOR_SECTION_HOST, "firmware", NULL, DOCTOR_FAIL,
                    doctor_fixf("Enable %s in the firmware (BIOS/UEFI) setup, save and boot again.",
                                firmware_feature(h->vendor)),
                    "Firmware has no ACPI %s table: %s is disabled in the firmware setup", table,
                    h->vendor == CPU_VENDOR_AMD ? "AMD-Vi" : "VT-d");
        return 0;
}

static bool module_listed(const Doctor *d, const char *file, const char *basename) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        path = strjoin("/lib/modules/", d->kernel_release, "/", file);
        if (!path || doctor_read_file(d, path, &text) < 0)
                return false;
        for (const char *p = text; *p;) {
                const char *e = strchrnul(p, '\n'), *colon = memchr(p, ':', e - p);
                const char *end = colon ?: e, *slash = p;

                for (const char *q = p; q < end; q++)
                        if (*q == '/')
                                slash = q + 1;
                if (strneq(slash, basename, strlen(basename)))
                        return true;
                p = *e ? e + 1 : e;
        }
        return false;
}

int doctor_check_vfio(Doctor *d) {
        static const char *const suffixes[] = {"", ".xz", ".zst", ".gz"};
        bool found = false;

        if (doctor_exists(d, "/sys/bus/pci/drivers/" DRIVER_VFIO_PCI)) {
                ADD(d, DOCTOR_SECTION_HOST, "vfio-pci", NULL, DOCTOR_OK, NULL, "vfio-pci is loaded");
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(suffixes) && !found; i++) {
                _cleanup_free_ char *p = strjoin("/lib/modules/", d->kernel_release,
                                                 "/kernel/drivers/vfio/pci/vfio-pci.ko", suffixes[i]);
                if (!p)
                        return -ENOMEM;
                found = doctor_exists(d, p);
        }
        if (!found)
                found = module_listed(d, "modules.dep", "vfio-pci.ko") ||
                        module_listed(d, "modules.builtin", "vfio-pci.ko");

        if (!found) {
                _cleanup_strv_free_ char **l = NULL;
                _cleanup_free_ char *dir = strjoin("/lib/modules/", d->kernel_release);
                int r;

                if (!dir)
                        return -ENOMEM;
                /* sriovd's sandbox (ProtectKernelModules=) hides the modules from the diagnostics
                 * helper: not seeing them is no proof that they are missing */
                r = doctor_list_dir(d, dir, &l);
                if (r == -ENOMEM)
                        return r;
                if (r == -EACCES || r == -EPERM) {
                        ADD(d, DOCTOR_SECTION_HOST, "vfio-pci", NULL, DOCTOR_SKIP, NULL,
                            "vfio-pci is not loaded, and %s cannot be read here to tell whether it is "
                            "installed (run sriovctl doctor as root to see)",
                            dir);
                        return 0;
                }
        }

        if (found)
                ADD(d, DOCTOR_SECTION_HOST, "vfio-pci", NULL, DOCTOR_OK, NULL,
                    "vfio-pci is available as a module of kernel %s (libvirt loads it for managed='yes')",
                    d->kernel_release);
        else
                ADD(d, DOCTOR_SECTION_HOST, "vfio-pci", NULL, DOCTOR_FAIL,
                    doctor_fixf("Install the vfio-pci module for kernel %s (Debian's linux-image packages "
                                "have it; "
                                "a\n"
                                "kernel of your own needs CONFIG_VFIO_PCI=m), then: modprobe vfio-pci",
                                d->kernel_release),
                    "vfio-pci is neither loaded nor installed for kernel %s", d->kernel_release);
        return 0;
}

int doctor_check_iommu(Doctor *d) {
        _cleanup_(host_facts_done) HostFacts h = {};
        int r;

        h.vendor = cpu_vendor(d, &h.vendor_name);

        r = check_iommu(d, &h);
        if (r < 0)
                return r;
        r = check_cmdline(d, &h);
        if (r < 0)
                return r;
        return check_firmware(d, &h);
}
