/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "doctor.h"
#include "json-out.h"
#include "names.h"

static const char *const doctor_status_table[_DOCTOR_STATUS_MAX] = {
        [DOCTOR_OK] = "ok",     [DOCTOR_INFO] = "info", [DOCTOR_SKIP] = "skip",
        [DOCTOR_WARN] = "warn", [DOCTOR_FAIL] = "fail",
};

DEFINE_STRING_TABLE_LOOKUP(doctor_status, DoctorStatus);

typedef enum CpuVendor {
        CPU_VENDOR_UNKNOWN,
        CPU_VENDOR_INTEL,
        CPU_VENDOR_AMD,
} CpuVendor;

/* Drivers that bind to SR-IOV capable devices but cannot create VFs through sriov_numvfs (they have
 * no sriov_configure()). */
static const char *const drivers_without_sriov[] = {
        "pci-stub",
        "uio_pci_generic",
        "igb_uio",
};

#define IN_SET_CHAR(c, ...)                                  \
        ({                                                   \
                const char _set[] = {__VA_ARGS__};           \
                char _c = (c);                               \
                bool _found = false;                         \
                for (size_t _i = 0; _i < sizeof(_set); _i++) \
                        if (_set[_i] == _c)                  \
                                _found = true;               \
                _found;                                      \
        })

#define STRV_MAKE(...) ((char *[]){__VA_ARGS__, NULL})

/* Devices in an IOMMU group besides a VF that do not take its isolation away. */
#define PCI_CLASS_BRIDGE_PCI_PREFIX "0x0604"

/* --- reading the host below d->root ------------------------------------------------------------- */

/* The one place where paths are rewritten: every file doctor reads goes through here. */
static char *doctor_path(const Doctor *d, const char *path) {
        if (!d->root)
                return strdup(path);
        return path_join(d->root, path);
}

static int read_full(const Doctor *d, const char *path, char **ret) {
        _cleanup_free_ char *p = doctor_path(d, path);

        if (!p)
                return -ENOMEM;
        return read_full_file(p, 16 * 1024 * 1024, ret, NULL);
}

static int read_attr(const Doctor *d, const char *path, char **ret) {
        _cleanup_free_ char *p = doctor_path(d, path);

        if (!p)
                return -ENOMEM;
        return read_one_line_file(p, ret);
}

static int read_attr_uint(const Doctor *d, const char *path, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = read_attr(d, path, &s);
        if (r < 0)
                return r;
        return safe_atou(strstrip(s), ret);
}

static bool exists(const Doctor *d, const char *path) {
        _cleanup_free_ char *p = doctor_path(d, path);

        return p && access(p, F_OK) >= 0;
}

static bool is_executable(const Doctor *d, const char *path) {
        _cleanup_free_ char *p = doctor_path(d, path);
        struct stat st;

        return p && stat(p, &st) >= 0 && (st.st_mode & 0111);
}

/* Sorted entries of a directory, without dot files; a missing directory is empty. */
static int list_dir(const Doctor *d, const char *path, char ***ret) {
        _cleanup_free_ char *p = doctor_path(d, path);
        _cleanup_strv_free_ char **l = NULL;
        DIR *dir;
        struct dirent *de;
        int r = 0;

        if (!p)
                return -ENOMEM;
        dir = opendir(p);
        if (!dir) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = NULL;
                return 0;
        }
        while ((de = readdir(dir))) {
                if (de->d_name[0] == '.')
                        continue;
                r = strv_extend(&l, de->d_name);
                if (r < 0)
                        break;
        }
        closedir(dir);
        if (r < 0)
                return r;
        strv_sort(l);
        *ret = TAKE_PTR(l);
        return 0;
}

/* The last component of a symlink's target: the driver of "driver", the group of "iommu_group". */
static int read_link_name(const Doctor *d, const char *path, char **ret) {
        _cleanup_free_ char *p = doctor_path(d, path);

        if (!p)
                return -ENOMEM;
        return readlink_value(p, ret);
}

/* --- results ------------------------------------------------------------------------------------ */

/* Takes ownership of fix in every case. */
_printf_(7, 8) static int add_result(Doctor *d, DoctorSection section, const char *check, const char *device,
                                     DoctorStatus status, char *fix, const char *format, ...) {
        _cleanup_free_ char *fix_owned = fix, *summary = NULL, *c = NULL, *dev = NULL;
        DoctorResult *results;
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&summary, format, ap);
        va_end(ap);
        if (k < 0) {
                summary = NULL;
                return -ENOMEM;
        }

        c = strdup(check);
        if (!c || (device && !(dev = strdup(device))))
                return -ENOMEM;

        results = realloc(d->results, (d->n_results + 1) * sizeof(DoctorResult));
        if (!results)
                return -ENOMEM;
        d->results = results;
        d->results[d->n_results++] = (DoctorResult){
                .section = section,
                .check = TAKE_PTR(c),
                .device = TAKE_PTR(dev),
                .status = status,
                .summary = TAKE_PTR(summary),
                .fix = TAKE_PTR(fix_owned),
        };
        return 0;
}

/* A fix text from a format; NULL on ENOMEM, which add_result() then reports. */
_printf_(1, 2) static char *fixf(const char *format, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, format);
        k = vasprintf(&s, format, ap);
        va_end(ap);
        return k < 0 ? NULL : s;
}

/* Adds a result and returns -ENOMEM from the calling check if that fails. A warning or failure
 * without its fix means fixf() ran out of memory. */
#define ADD(d, section, check, device, status, fix, ...)                                                 \
        ({                                                                                               \
                char *_fix = (fix);                                                                      \
                int _r;                                                                                  \
                if ((status) >= DOCTOR_WARN && !_fix)                                                    \
                        _r = -ENOMEM;                                                                    \
                else                                                                                     \
                        _r = add_result((d), (section), (check), (device), (status), _fix, __VA_ARGS__); \
                if (_r < 0)                                                                              \
                        return _r;                                                                       \
        })

int doctor_new(const char *root, const char *kernel_release, Doctor **ret) {
        _cleanup_(doctor_freep) Doctor *d = NULL;

        d = calloc(1, sizeof(Doctor));
        if (!d)
                return -ENOMEM;

        if (!isempty(root) && !streq(root, "/")) {
                d->root = strdup(root);
                if (!d->root)
                        return -ENOMEM;
        }

        if (kernel_release)
                d->kernel_release = strdup(kernel_release);
        else {
                struct utsname u;

                if (uname(&u) < 0)
                        return negative_errno();
                d->kernel_release = strdup(u.release);
        }
        if (!d->kernel_release)
                return -ENOMEM;

        *ret = TAKE_PTR(d);
        return 0;
}

Doctor *doctor_free(Doctor *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_results; i++) {
                free(d->results[i].check);
                free(d->results[i].device);
                free(d->results[i].summary);
                free(d->results[i].fix);
        }
        free(d->results);
        for (size_t i = 0; i < d->n_devices; i++) {
                free(d->devices[i].address);
                free(d->devices[i].description);
        }
        free(d->devices);
        free(d->root);
        free(d->kernel_release);
        return mfree(d);
}

size_t doctor_count(const Doctor *d, DoctorStatus s) {
        size_t n = 0;

        for (size_t i = 0; i < d->n_results; i++)
                if (d->results[i].status == s)
                        n++;
        return n;
}

/* --- small parsers ------------------------------------------------------------------------------ */

/* Splits at whitespace (and, if extra is given, at those characters too). */
static int split_words(const char *s, const char *extra, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *p = s;
        int r;

        while (p && *p) {
                size_t n = 0;

                while (*p && (isspace((unsigned char) *p) || (extra && strchr(extra, *p))))
                        p++;
                while (p[n] && !isspace((unsigned char) p[n]) && !(extra && strchr(extra, p[n])))
                        n++;
                if (n == 0)
                        break;
                r = strv_consume(&l, strndup(p, n));
                if (r < 0)
                        return r;
                p += n;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* The value of the last "key=value" among words (the kernel takes the last one), or NULL. */
static const char *words_value(char **words, const char *key) {
        const char *found = NULL;

        for (char **w = words; w && *w; w++) {
                const char *v = startswith(*w, key);
                if (v && *v == '=')
                        found = v + 1;
        }
        return found;
}

/* Whether the comma separated list has the item. */
static bool list_has(const char *list, const char *item) {
        size_t l = strlen(item);

        for (const char *p = list; p && *p;) {
                const char *e = strchrnul(p, ',');

                if ((size_t) (e - p) == l && strneq(p, item, l))
                        return true;
                p = *e ? e + 1 : e;
        }
        return false;
}

typedef struct IniEntry {
        char *section;
        char *key;
        char *value;
        unsigned line;
} IniEntry;

typedef struct Ini {
        IniEntry *entries;
        size_t n;
} Ini;

static void ini_done(Ini *ini) {
        for (size_t i = 0; i < ini->n; i++) {
                free(ini->entries[i].section);
                free(ini->entries[i].key);
                free(ini->entries[i].value);
        }
        free(ini->entries);
        *ini = (Ini){};
}

/* The common part of systemd unit files and GLib key files: [Section], Key=Value, # and ; comments. */
static int ini_parse(const char *text, Ini *ret) {
        _cleanup_(ini_done) Ini ini = {};
        _cleanup_free_ char *section = NULL;
        unsigned line = 0;

        for (const char *p = text; p && *p;) {
                const char *e = strchrnul(p, '\n');
                _cleanup_free_ char *l = strndup(p, e - p);
                char *s, *eq;

                p = *e ? e + 1 : e;
                line++;
                if (!l)
                        return -ENOMEM;
                s = strstrip(l);
                if (IN_SET_CHAR(*s, 0, '#', ';'))
                        continue;
                if (*s == '[') {
                        char *close = strchr(s, ']');
                        if (!close)
                                continue;
                        *close = 0;
                        free(section);
                        section = strdup(s + 1);
                        if (!section)
                                return -ENOMEM;
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq)
                        continue;
                *eq = 0;

                IniEntry *entries = realloc(ini.entries, (ini.n + 1) * sizeof(IniEntry));
                if (!entries)
                        return -ENOMEM;
                ini.entries = entries;
                ini.entries[ini.n] = (IniEntry){
                        .section = strdup(strempty(section)),
                        .key = strdup(strstrip(s)),
                        .value = strdup(strstrip(eq + 1)),
                        .line = line,
                };
                if (!ini.entries[ini.n].section || !ini.entries[ini.n].key || !ini.entries[ini.n].value) {
                        ini.n++;
                        return -ENOMEM;
                }
                ini.n++;
        }

        *ret = ini;
        ini = (Ini){};
        return 0;
}

/* The last value of section.key, or NULL. */
static const IniEntry *ini_get(const Ini *ini, const char *section, const char *key) {
        const IniEntry *found = NULL;

        for (size_t i = 0; i < ini->n; i++)
                if (streq(ini->entries[i].section, section) && streq(ini->entries[i].key, key))
                        found = &ini->entries[i];
        return found;
}

static bool ini_has_section(const Ini *ini, const char *section) {
        for (size_t i = 0; i < ini->n; i++)
                if (streq(ini->entries[i].section, section))
                        return true;
        return false;
}

/* --- the CPU, the kernel command line and GRUB -------------------------------------------------- */

static CpuVendor cpu_vendor(const Doctor *d, char **ret_name) {
        _cleanup_free_ char *cpuinfo = NULL;
        const char *p;

        *ret_name = NULL;
        if (read_full(d, "/proc/cpuinfo", &cpuinfo) < 0)
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

/* How to add the parameters in want to the kernel command line, as exact as /etc/default/grub
 * allows: the GRUB_CMDLINE_LINUX_DEFAULT line with them in, replacing other values of their keys. */
static char *grub_fix(const Doctor *d, char **want) {
        _cleanup_free_ char *grub = NULL, *old = NULL, *joined = NULL, *newline = NULL;
        _cleanup_strv_free_ char **words = NULL, **kept = NULL;
        bool changed = false;
        char *s;

        for (char **w = want; w && *w; w++)
                if (strextend_sep(&joined, " ", "%s", *w) < 0)
                        return NULL;

        if (read_full(d, "/etc/default/grub", &grub) < 0)
                return fixf(
                        "Add %s to the kernel command line of the boot loader. With GRUB: append them to\n"
                        "GRUB_CMDLINE_LINUX_DEFAULT=\"...\" in /etc/default/grub, run update-grub and "
                        "reboot.",
                        strempty(joined));

        /* The shell takes the last assignment. */
        for (const char *p = grub; *p;) {
                const char *e = strchrnul(p, '\n'), *v;
                _cleanup_free_ char *l = strndup(p, e - p);

                p = *e ? e + 1 : e;
                if (!l)
                        return NULL;
                v = startswith(strstrip(l), "GRUB_CMDLINE_LINUX_DEFAULT=");
                if (!v)
                        continue;
                free(old);
                old = strdup(v);
                if (!old)
                        return NULL;
        }
        if (old) {
                size_t l = strlen(old);
                if (l >= 2 && IN_SET_CHAR(old[0], '"', '\'') && old[l - 1] == old[0]) {
                        memmove(old, old + 1, l - 2);
                        old[l - 2] = 0;
                }
        }

        if (split_words(strempty(old), NULL, &words) < 0)
                return NULL;
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
                        return NULL;
        }
        for (char **x = want; x && *x; x++)
                if (!strv_contains(kept, *x)) {
                        changed = true;
                        if (strv_extend(&kept, *x) < 0)
                                return NULL;
                }

        for (char **w = kept; w && *w; w++)
                if (strextend_sep(&newline, " ", "%s", *w) < 0)
                        return NULL;

        if (!changed)
                return fixf(
                        "/etc/default/grub already has %s, but the running kernel was not booted with it:\n"
                        "run update-grub and reboot.",
                        strempty(joined));

        if (asprintf(&s,
                     "Add %s to the kernel command line. In /etc/default/grub set\n"
                     "  GRUB_CMDLINE_LINUX_DEFAULT=\"%s\"\n"
                     "then run update-grub and reboot.",
                     strempty(joined), strempty(newline)) < 0)
                return NULL;
        return s;
}

/* --- host checks -------------------------------------------------------------------------------- */

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

        r = list_dir(d, "/sys/class/iommu", &units);
        if (r == -ENOMEM)
                return r;
        r = list_dir(d, "/sys/kernel/iommu_groups", &groups);
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
                            ? fixf("Turn the platform's IOMMU on in the firmware and on the kernel command "
                                   "line.")
                            : fixf("Turn the IOMMU on: enable %s in the firmware setup\n"
                                   "and boot with %s=on (the kernel command line and firmware checks below "
                                   "say\n"
                                   "what is missing).",
                                   firmware_feature(h->vendor), iommu_param(h->vendor)),
                    "IOMMU not active: %s, no IOMMU groups in /sys/kernel/iommu_groups; vfio-pci cannot "
                    "take a VF",
                    strv_length(units) > 0 ? "units exist but" : "no unit in /sys/class/iommu");
        return 0;
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

        r = read_full(d, "/proc/cmdline", &cmdline);
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

        if ((value && list_has(value, "off")) || (iommu && list_has(iommu, "off")))
                status = DOCTOR_FAIL;
        else if (value && list_has(value, "on"))
                status = DOCTOR_OK;
        else if (!h->iommu_active)
                status = DOCTOR_FAIL;
        /* AMD-Vi is on by default when the firmware has an IVRS table; intel_iommu's default is a
         * build option (CONFIG_INTEL_IOMMU_DEFAULT_ON) that kernels have changed back and forth. */
        else if (h->vendor == CPU_VENDOR_AMD)
                status = DOCTOR_OK;
        else
                status = DOCTOR_WARN;

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
        if (!exists(d, "/sys/firmware/acpi/tables")) {
                ADD(d, DOCTOR_SECTION_HOST, "firmware", NULL, DOCTOR_SKIP, NULL,
                    "No ACPI tables in /sys/firmware/acpi/tables: cannot check for the %s table", table);
                return 0;
        }

        path = strjoin("/sys/firmware/acpi/tables/", table);
        if (!path)
                return -ENOMEM;
        if (exists(d, path))
                ADD(d, DOCTOR_SECTION_HOST, "firmware", NULL, DOCTOR_OK, NULL,
                    "Firmware has the ACPI %s table: %s is enabled", table,
                    h->vendor == CPU_VENDOR_AMD ? "AMD-Vi" : "VT-d");
        else
                ADD(d, DOCTOR_SECTION_HOST, "firmware", NULL, DOCTOR_FAIL,
                    fixf("Enable %s in the firmware (BIOS/UEFI) setup, save and boot again.",
                         firmware_feature(h->vendor)),
                    "Firmware has no ACPI %s table: %s is disabled in the firmware setup", table,
                    h->vendor == CPU_VENDOR_AMD ? "AMD-Vi" : "VT-d");
        return 0;
}

static bool module_listed(const Doctor *d, const char *file, const char *basename) {
        _cleanup_free_ char *path = NULL, *text = NULL;

        path = strjoin("/lib/modules/", d->kernel_release, "/", file);
        if (!path || read_full(d, path, &text) < 0)
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

static int check_vfio(Doctor *d) {
        static const char *const suffixes[] = {"", ".xz", ".zst", ".gz"};
        bool found = false;

        if (exists(d, "/sys/bus/pci/drivers/" DRIVER_VFIO_PCI)) {
                ADD(d, DOCTOR_SECTION_HOST, "vfio-pci", NULL, DOCTOR_OK, NULL, "vfio-pci is loaded");
                return 0;
        }

        for (size_t i = 0; i < ELEMENTSOF(suffixes) && !found; i++) {
                _cleanup_free_ char *p = strjoin("/lib/modules/", d->kernel_release,
                                                 "/kernel/drivers/vfio/pci/vfio-pci.ko", suffixes[i]);
                if (!p)
                        return -ENOMEM;
                found = exists(d, p);
        }
        if (!found)
                found = module_listed(d, "modules.dep", "vfio-pci.ko") ||
                        module_listed(d, "modules.builtin", "vfio-pci.ko");

        if (found)
                ADD(d, DOCTOR_SECTION_HOST, "vfio-pci", NULL, DOCTOR_OK, NULL,
                    "vfio-pci is available as a module of kernel %s (libvirt loads it for managed='yes')",
                    d->kernel_release);
        else
                ADD(d, DOCTOR_SECTION_HOST, "vfio-pci", NULL, DOCTOR_FAIL,
                    fixf("Install the vfio-pci module for kernel %s (Debian's linux-image packages have it; "
                         "a\n"
                         "kernel of your own needs CONFIG_VFIO_PCI=m), then: modprobe vfio-pci",
                         d->kernel_release),
                    "vfio-pci is neither loaded nor installed for kernel %s", d->kernel_release);
        return 0;
}

/* --- physical functions ------------------------------------------------------------------------- */

typedef struct PfInfo {
        char *address;
        char *driver; /* NULL: no driver bound */
        char **ifnames;
        char *mac; /* of the first interface */
        char *id_path; /* as udev's ID_PATH, what .link and NetworkManager's Path= match */
        unsigned total_vfs;
        int total_error;
        unsigned num_vfs;
        char **vfs; /* VF addresses by index */
} PfInfo;

static void pf_info_done(PfInfo *pf) {
        free(pf->address);
        free(pf->driver);
        strv_free(pf->ifnames);
        free(pf->mac);
        free(pf->id_path);
        strv_free(pf->vfs);
        *pf = (PfInfo){};
}

static int pf_info_load(const Doctor *d, const char *address, PfInfo *ret) {
        _cleanup_(pf_info_done) PfInfo pf = {};
        _cleanup_strv_free_ char **entries = NULL;
        _cleanup_free_ char *dir = NULL, *p = NULL;
        unsigned max_index = 0;
        bool any_vf = false;
        int r;

        pf.address = strdup(address);
        dir = strjoin(SYSFS_PCI_DEVICES "/", address);
        pf.id_path = strjoin("pci-", address);
        if (!pf.address || !dir || !pf.id_path)
                return -ENOMEM;

        p = strjoin(dir, "/" SYSFS_SRIOV_TOTALVFS);
        if (!p)
                return -ENOMEM;
        pf.total_error = read_attr_uint(d, p, &pf.total_vfs);
        free(p);
        p = strjoin(dir, "/" SYSFS_SRIOV_NUMVFS);
        if (!p)
                return -ENOMEM;
        (void) read_attr_uint(d, p, &pf.num_vfs);
        free(p);

        p = strjoin(dir, "/" SYSFS_DRIVER);
        if (!p)
                return -ENOMEM;
        r = read_link_name(d, p, &pf.driver);
        if (r == -ENOMEM)
                return r;
        free(p);

        p = strjoin(dir, "/" SYSFS_NET);
        if (!p)
                return -ENOMEM;
        r = list_dir(d, p, &pf.ifnames);
        if (r == -ENOMEM)
                return r;
        free(p);
        p = NULL;
        if (pf.ifnames) {
                _cleanup_free_ char *a = strjoin(dir, "/" SYSFS_NET "/", pf.ifnames[0], "/address");
                if (!a)
                        return -ENOMEM;
                r = read_attr(d, a, &pf.mac);
                if (r == -ENOMEM)
                        return r;
                if (pf.mac)
                        strstrip(pf.mac);
        }

        r = list_dir(d, dir, &entries);
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
        if (any_vf) {
                pf.vfs = calloc(max_index + 2, sizeof(char *));
                if (!pf.vfs)
                        return -ENOMEM;
                for (unsigned i = 0, k = 0; i <= max_index; i++) {
                        _cleanup_free_ char *link = NULL;
                        char *name = NULL;

                        if (asprintf(&link, "%s/" SYSFS_VIRTFN_PREFIX "%u", dir, i) < 0)
                                return -ENOMEM;
                        r = read_link_name(d, link, &name);
                        if (r == -ENOMEM)
                                return r;
                        if (r >= 0)
                                pf.vfs[k++] = name;
                }
        }

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
                ADD(d, DOCTOR_SECTION_PF, "sriov-capable", pf->address, DOCTOR_FAIL,
                    fixf("Enable SR-IOV for this device in the firmware setup (often \"SR-IOV Support\" in "
                         "the PCI\n"
                         "settings) and in the NIC's own configuration (NVIDIA/Mellanox: mlxconfig -d %s "
                         "set\n"
                         "SRIOV_EN=1 NUM_OF_VFS=8; Intel: the NIC's NVM settings), then power-cycle.",
                         pf->address),
                    "sriov_totalvfs is 0: SR-IOV is disabled in the firmware or the NIC's configuration");
        else
                ADD(d, DOCTOR_SECTION_PF, "sriov-capable", pf->address, DOCTOR_OK, NULL,
                    "SR-IOV capable: up to %u VFs, %u enabled", pf->total_vfs, pf->num_vfs);
        return 0;
}

static int check_pf_driver(Doctor *d, const PfInfo *pf) {
        if (!pf->driver)
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_FAIL,
                    fixf("Load the NIC's driver (lspci -k -s %s names the kernel modules that fit), for "
                         "example:\n"
                         "modprobe igb; if it is loaded but did not bind, dmesg says why.",
                         pf->address),
                    "No driver bound: the kernel creates VFs only through the PF's driver");
        else if (streq(pf->driver, DRIVER_VFIO_PCI))
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_WARN,
                    fixf("Bind the NIC's network driver to the PF, unless a userspace driver owns it on "
                         "purpose:\n"
                         "echo %s > /sys/bus/pci/drivers/vfio-pci/unbind; echo > "
                         "/sys/bus/pci/devices/%s/driver_override;\n"
                         "echo %s > /sys/bus/pci/drivers_probe",
                         pf->address, pf->address, pf->address),
                    "The PF itself is bound to vfio-pci: VFs need its enable_sriov=1 option and a VF token");
        else if (driver_lacks_sriov(pf->driver))
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_FAIL,
                    fixf("Bind the NIC's network driver instead of %s:\n"
                         "echo %s > /sys/bus/pci/drivers/%s/unbind; echo %s > /sys/bus/pci/drivers_probe",
                         pf->driver, pf->address, pf->driver, pf->address),
                    "Driver %s cannot create VFs", pf->driver);
        else
                ADD(d, DOCTOR_SECTION_PF, "driver", pf->address, DOCTOR_OK, NULL, "Driver %s", pf->driver);
        return 0;
}

static bool is_bridge(const Doctor *d, const char *address) {
        _cleanup_free_ char *p = strjoin(SYSFS_PCI_DEVICES "/", address, "/class"), *class = NULL;

        return p && read_attr(d, p, &class) >= 0 && startswith(strstrip(class), PCI_CLASS_BRIDGE_PCI_PREFIX);
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
                r = read_link_name(d, link, &group);
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
                r = list_dir(d, dir, &members);
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
                    fixf("Turn the IOMMU on (see the host checks above); vfio-pci takes only devices that\n"
                         "have an IOMMU group."),
                    "%zu of %zu VFs have no IOMMU group (first: %s)", n_without, n, first_without);
        if (n_shared > 0)
                ADD(d, DOCTOR_SECTION_PF, "iommu-groups", pf->address, DOCTOR_FAIL,
                    fixf("A VM gets a whole IOMMU group, so VFs that share one cannot go to different VMs. "
                         "The\n"
                         "PCIe path above this NIC lacks ACS isolation: use a slot wired to a CPU root "
                         "port, update\n"
                         "the firmware (some versions add ACS for their root ports), or give the whole "
                         "group to\n"
                         "one VM. The out-of-tree pcie_acs_override= patch hides the problem, it does not "
                         "fix it."),
                    "%zu of %zu VFs share their IOMMU group: %s%s", n_shared, n, shared,
                    n_shared > 3 ? "; ..." : "");
        if (n_without == 0 && n_shared == 0)
                ADD(d, DOCTOR_SECTION_PF, "iommu-groups", pf->address, DOCTOR_OK, NULL,
                    "%zu VF%s, each alone in its IOMMU group", n, n == 1 ? "" : "s");
        return 0;
}

/* --- other tools that set the VF count ---------------------------------------------------------- */

typedef struct ConfigFile {
        char *path; /* as on the host, without the root */
        char *text;
        bool executable;
} ConfigFile;

typedef struct ConfigFiles {
        ConfigFile *files;
        size_t n;
} ConfigFiles;

static void config_files_done(ConfigFiles *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->files[i].path);
                free(c->files[i].text);
        }
        free(c->files);
        *c = (ConfigFiles){};
}

typedef struct Conflicts {
        ConfigFiles nm, links, netplan, rc;
} Conflicts;

static void conflicts_done(Conflicts *c) {
        config_files_done(&c->nm);
        config_files_done(&c->links);
        config_files_done(&c->netplan);
        config_files_done(&c->rc);
}

/* A file that cannot be read is reported, so that "no conflict" never hides an unread file. */
static int unreadable(Doctor *d, const char *path, int error) {
        ADD(d, DOCTOR_SECTION_HOST, "conflict", NULL, DOCTOR_WARN,
            fixf("Run sriovctl doctor as root to check %s for SR-IOV settings of other tools.", path),
            "Cannot read %s: %s", path, strerror(-error));
        return 0;
}

static int config_files_add(Doctor *d, ConfigFiles *c, const char *path) {
        _cleanup_free_ char *text = NULL, *p = NULL;
        ConfigFile *files;
        int r;

        r = read_full(d, path, &text);
        if (r == -ENOENT)
                return 0;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return unreadable(d, path, r);

        p = strdup(path);
        files = realloc(c->files, (c->n + 1) * sizeof(ConfigFile));
        if (!p || !files)
                return -ENOMEM;
        c->files = files;
        c->files[c->n++] = (ConfigFile){
                .path = TAKE_PTR(p),
                .text = TAKE_PTR(text),
                .executable = is_executable(d, path),
        };
        return 0;
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && streq(s + a - b, suffix);
}

/* Reads the files named *suffix in dirs; with masking, a name in an earlier directory hides the same
 * name in later ones (as systemd's /etc over /run over /usr/lib), and the result is sorted by name. */
static int config_files_load(Doctor *d, ConfigFiles *c, const char *const *dirs, size_t n_dirs,
                             const char *suffix, bool masking) {
        _cleanup_strv_free_ char **seen = NULL, **paths = NULL;
        int r;

        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_strv_free_ char **names = NULL;

                r = list_dir(d, dirs[i], &names);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        r = unreadable(d, dirs[i], r);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (char **n = names; n && *n; n++) {
                        if (!has_suffix(*n, suffix))
                                continue;
                        if (masking && strv_contains(seen, *n))
                                continue;
                        if (strv_extend(&seen, *n) < 0 || strv_consume(&paths, path_join(dirs[i], *n)) < 0)
                                return -ENOMEM;
                }
        }

        /* Sorted by file name, whatever the directory: the order in which udev tries .link files. */
        for (size_t i = 0; seen && seen[i]; i++)
                for (size_t j = i + 1; seen[j]; j++)
                        if (strcmp(seen[j], seen[i]) < 0) {
                                char *t = seen[i];
                                seen[i] = seen[j];
                                seen[j] = t;
                                t = paths[i];
                                paths[i] = paths[j];
                                paths[j] = t;
                        }

        for (char **p = paths; p && *p; p++) {
                r = config_files_add(d, c, *p);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int conflicts_load(Doctor *d, Conflicts *c) {
        static const char *const nm_dirs[] = {
                "/etc/NetworkManager/system-connections",
                "/run/NetworkManager/system-connections",
                "/usr/lib/NetworkManager/system-connections",
        };
        static const char *const link_dirs[] = {
                "/etc/systemd/network",
                "/run/systemd/network",
                "/usr/local/lib/systemd/network",
                "/usr/lib/systemd/network",
        };
        static const char *const netplan_dirs[] = {
                "/etc/netplan",
                "/run/netplan",
                "/lib/netplan",
        };
        int r;

        r = config_files_load(d, &c->nm, nm_dirs, ELEMENTSOF(nm_dirs), ".nmconnection", false);
        if (r < 0)
                return r;
        r = config_files_load(d, &c->links, link_dirs, ELEMENTSOF(link_dirs), ".link", true);
        if (r < 0)
                return r;
        r = config_files_load(d, &c->netplan, netplan_dirs, ELEMENTSOF(netplan_dirs), ".yaml", true);
        if (r < 0)
                return r;
        r = config_files_add(d, &c->rc, "/etc/rc.local");
        if (r < 0)
                return r;
        return config_files_add(d, &c->rc, "/etc/rc.d/rc.local");
}

static bool glob_list_matches(char **patterns, const char *s) {
        for (char **p = patterns; p && *p; p++)
                if (s && fnmatch(*p, s, 0) == 0)
                        return true;
        return false;
}

static bool mac_equal(const char *a, const char *b) {
        return a && b && strcasecmp(a, b) == 0;
}

static bool pf_has_ifname_match(const PfInfo *pf, char **patterns) {
        for (char **i = pf->ifnames; i && *i; i++)
                if (glob_list_matches(patterns, *i))
                        return true;
        return false;
}

/* NetworkManager sets sriov.total-vfs of the device a profile is for: by connection.interface-name,
 * by [match] interface-name= or path=, or by ethernet.mac-address. */
static int check_pf_nm(Doctor *d, const PfInfo *pf, const ConfigFiles *files, size_t *n_found) {
        for (size_t i = 0; i < files->n; i++) {
                _cleanup_(ini_done) Ini ini = {};
                _cleanup_strv_free_ char **match_names = NULL, **match_paths = NULL;
                const IniEntry *total, *ifname, *mac, *id, *e;
                bool refers, anonymous;
                int r;

                r = ini_parse(files->files[i].text, &ini);
                if (r < 0)
                        return r;
                total = ini_get(&ini, "sriov", "total-vfs");
                if (!total)
                        continue;

                ifname = ini_get(&ini, "connection", "interface-name");
                mac = ini_get(&ini, "ethernet", "mac-address");
                id = ini_get(&ini, "connection", "id");
                if ((e = ini_get(&ini, "match", "interface-name")) &&
                    split_words(e->value, ";,", &match_names) < 0)
                        return -ENOMEM;
                if ((e = ini_get(&ini, "match", "path")) && split_words(e->value, ";,", &match_paths) < 0)
                        return -ENOMEM;

                refers = (ifname && strv_contains(pf->ifnames, ifname->value)) ||
                         pf_has_ifname_match(pf, match_names) ||
                         glob_list_matches(match_paths, pf->id_path) ||
                         (mac && mac_equal(mac->value, pf->mac));
                anonymous = !ifname && !mac && !match_names && !match_paths;
                if (!refers && !anonymous)
                        continue;

                (*n_found)++;
                ADD(d, DOCTOR_SECTION_PF, "conflict", pf->address, refers ? DOCTOR_FAIL : DOCTOR_WARN,
                    fixf("Two tools would set the VF count of this PF and undo each other's work. Remove "
                         "the [sriov]\n"
                         "setting from the profile: nmcli connection modify '%s' remove sriov\n"
                         "(or delete the [sriov] section from %s, then nmcli connection reload);\n"
                         "or leave this PF to NetworkManager and remove sriovd's configuration for it.",
                         id ? id->value : "ID", files->files[i].path),
                    "NetworkManager profile %s sets sriov.total-vfs=%s %s", files->files[i].path,
                    total->value,
                    refers ? "for this PF" : "for any device it activates on (it names no interface)");
        }
        return 0;
}

typedef enum LinkMatch {
        LINK_MATCH_NO,
        LINK_MATCH_YES,
        LINK_MATCH_MAYBE, /* the known conditions fit, others doctor cannot evaluate */
} LinkMatch;

static LinkMatch link_match(const Ini *ini, const PfInfo *pf) {
        LinkMatch result = LINK_MATCH_YES;

        for (size_t i = 0; i < ini->n; i++) {
                const IniEntry *e = &ini->entries[i];
                _cleanup_strv_free_ char **values = NULL;
                const char *v = e->value;
                bool negate = false, m;

                if (!streq(e->section, "Match") || isempty(v))
                        continue;
                if (*v == '!') {
                        negate = true;
                        v++;
                }
                if (split_words(v, NULL, &values) < 0)
                        return LINK_MATCH_MAYBE; /* out of memory */

                if (streq(e->key, "OriginalName"))
                        m = pf_has_ifname_match(pf, values);
                else if (streq(e->key, "Path"))
                        m = glob_list_matches(values, pf->id_path);
                else if (streq(e->key, "Driver"))
                        m = glob_list_matches(values, pf->driver);
                else if (streq(e->key, "MACAddress") || streq(e->key, "PermanentMACAddress")) {
                        m = false;
                        for (char **x = values; x && *x; x++)
                                m = m || mac_equal(*x, pf->mac);
                } else if (streq(e->key, "Type"))
                        m = glob_list_matches(values, "ether");
                else {
                        /* Property=, Host=, KernelCommandLine=, ...: neither excludes the PF nor
                         * proves that the file applies. */
                        result = LINK_MATCH_MAYBE;
                        continue;
                }

                if (m == negate)
                        return LINK_MATCH_NO;
        }
        return result;
}

/* udev applies the first .link file, in file name order, whose [Match] fits the interface; that
 * file's SR-IOVVirtualFunctions= sets the VF count whenever the device appears. */
static int check_pf_links(Doctor *d, const PfInfo *pf, const ConfigFiles *files, size_t *n_found) {
        if (!pf->ifnames)
                return 0;

        for (size_t i = 0; i < files->n; i++) {
                _cleanup_(ini_done) Ini ini = {};
                const IniEntry *vfs;
                const char *name;
                LinkMatch m;
                int r;

                /* An empty file (or a symlink to /dev/null) masks a file of the same name. */
                if (isempty(files->files[i].text))
                        continue;
                r = ini_parse(files->files[i].text, &ini);
                if (r < 0)
                        return r;
                m = link_match(&ini, pf);
                if (m == LINK_MATCH_NO)
                        continue;

                /* A file that may not apply does not hide later ones. */
                vfs = ini_get(&ini, "Link", "SR-IOVVirtualFunctions");
                if (!vfs || isempty(vfs->value)) {
                        if (m == LINK_MATCH_YES)
                                return 0;
                        continue;
                }

                name = strrchr(files->files[i].path, '/') + 1;
                (*n_found)++;
                ADD(d, DOCTOR_SECTION_PF, "conflict", pf->address,
                    m == LINK_MATCH_YES ? DOCTOR_FAIL : DOCTOR_WARN,
                    fixf("systemd-udevd applies %s whenever the device appears;\n"
                         "it and sriovd would undo each other's VF count. Remove SR-IOVVirtualFunctions= "
                         "from it\n"
                         "(or mask it: ln -s /dev/null /etc/systemd/network/%s), then run udevadm control "
                         "--reload;\n"
                         "or leave this PF to systemd and remove sriovd's configuration for it.",
                         files->files[i].path, name),
                    "systemd .link file %s sets SR-IOVVirtualFunctions=%s%s", files->files[i].path,
                    vfs->value,
                    m == LINK_MATCH_MAYBE
                            ? " and may match this PF (it has [Match] conditions doctor cannot evaluate)"
                    : ini_has_section(&ini, "Match") ? " and matches this PF"
                                                     : " for every interface");
                if (m == LINK_MATCH_YES)
                        return 0;
        }
        return 0;
}

typedef struct YamlLine {
        unsigned indent;
        char *key; /* without quotes and colon; NULL for list items and other lines */
        char *value; /* after the colon, stripped of quotes; may be empty */
} YamlLine;

static char *yaml_scalar(const char *s) {
        size_t l;
        char *v;

        s += strspn(s, " \t");
        l = strcspn(s, "#");
        while (l > 0 && isspace((unsigned char) s[l - 1]))
                l--;
        if (l >= 2 && IN_SET_CHAR(s[0], '"', '\'') && s[l - 1] == s[0]) {
                s++;
                l -= 2;
        }
        v = strndup(s, l);
        return v;
}

/* Enough of YAML for netplan's block style: one key per line, nesting by indentation. */
static int yaml_lines(const char *text, YamlLine **ret, size_t *ret_n) {
        YamlLine *lines = NULL;
        size_t n = 0;

        for (const char *p = text; *p;) {
                const char *e = strchrnul(p, '\n'), *s = p, *colon;
                YamlLine *l;

                p = *e ? e + 1 : e;
                while (s < e && *s == ' ')
                        s++;
                if (s == e || *s == '#')
                        continue;

                l = realloc(lines, (n + 1) * sizeof(YamlLine));
                if (!l)
                        goto oom;
                lines = l;
                lines[n] = (YamlLine){};
                for (const char *q = s; q > text && q[-1] == ' '; q--)
                        lines[n].indent++;
                n++;

                colon = memchr(s, ':', e - s);
                if (!colon || *s == '-' || (colon + 1 < e && colon[1] != ' '))
                        continue;
                {
                        _cleanup_free_ char *rest = strndup(colon + 1, e - colon - 1);
                        _cleanup_free_ char *k = strndup(s, colon - s);

                        if (!rest || !k)
                                goto oom;
                        lines[n - 1].key = yaml_scalar(k);
                        lines[n - 1].value = yaml_scalar(rest);
                        if (!lines[n - 1].key || !lines[n - 1].value)
                                goto oom;
                }
        }
        *ret = lines;
        *ret_n = n;
        return 0;
oom:
        for (size_t i = 0; i < n; i++) {
                free(lines[i].key);
                free(lines[i].value);
        }
        free(lines);
        return -ENOMEM;
}

/* The value of key in the block below line parent, or, if under is given, in the block of the first
 * line named under below parent. */
static const char *yaml_child(const YamlLine *lines, size_t n, size_t parent, const char *under,
                              const char *key) {
        size_t start = parent;

        if (under) {
                start = SIZE_MAX;
                for (size_t i = parent + 1; i < n && lines[i].indent > lines[parent].indent; i++)
                        if (lines[i].key && streq(lines[i].key, under)) {
                                start = i;
                                break;
                        }
                if (start == SIZE_MAX)
                        return NULL;
        }
        for (size_t i = start + 1; i < n && lines[i].indent > lines[start].indent; i++)
                if (lines[i].key && streq(lines[i].key, key))
                        return lines[i].value;
        return NULL;
}

/* netplan's ethernets.<id>.virtual-function-count sets the VF count of the PF that <id> names (or
 * matches with match: name/macaddress/driver) on every boot and netplan apply. */
static int check_pf_netplan(Doctor *d, const PfInfo *pf, const ConfigFiles *files, size_t *n_found) {
        for (size_t f = 0; f < files->n; f++) {
                YamlLine *lines = NULL;
                size_t n = 0;
                int r;

                if (!strstr(files->files[f].text, "virtual-function-count"))
                        continue;
                r = yaml_lines(files->files[f].text, &lines, &n);
                if (r < 0)
                        return r;

                for (size_t i = 0; i < n; i++) {
                        const char *name, *mac, *drv;
                        size_t id = SIZE_MAX;
                        bool refers;

                        if (!lines[i].key || !streq(lines[i].key, "virtual-function-count"))
                                continue;
                        for (size_t j = i; j-- > 0;)
                                if (lines[j].indent < lines[i].indent) {
                                        id = j;
                                        break;
                                }
                        if (id == SIZE_MAX || !lines[id].key)
                                continue;

                        name = yaml_child(lines, n, id, "match", "name");
                        mac = yaml_child(lines, n, id, "match", "macaddress");
                        drv = yaml_child(lines, n, id, "match", "driver");
                        if (name || mac || drv)
                                refers = (!name || pf_has_ifname_match(pf, STRV_MAKE((char *) name))) &&
                                         (!mac || mac_equal(mac, pf->mac)) &&
                                         (!drv || (pf->driver && fnmatch(drv, pf->driver, 0) == 0));
                        else
                                refers = strv_contains(pf->ifnames, lines[id].key);
                        if (!refers)
                                continue;

                        (*n_found)++;
                        r = add_result(
                                d, DOCTOR_SECTION_PF, "conflict", pf->address, DOCTOR_FAIL,
                                fixf("netplan sets the VF count of this PF on every boot and netplan "
                                     "apply.\n"
                                     "Remove virtual-function-count (and the VFs that name %s in link:) "
                                     "from\n"
                                     "%s, then run netplan apply; or leave this PF to netplan and remove\n"
                                     "sriovd's configuration for it.",
                                     lines[id].key, files->files[f].path),
                                "netplan file %s sets virtual-function-count: %s for %s",
                                files->files[f].path, lines[i].value, lines[id].key);
                        if (r < 0 || !d->results[d->n_results - 1].fix) {
                                r = -ENOMEM;
                                break;
                        }
                }

                for (size_t i = 0; i < n; i++) {
                        free(lines[i].key);
                        free(lines[i].value);
                }
                free(lines);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Whether word occurs in s delimited by characters that cannot be part of an interface name or
 * PCI address. */
static bool contains_word(const char *s, const char *word) {
        size_t l = strlen(word);

        for (const char *p = strstr(s, word); p; p = strstr(p + 1, word)) {
                bool left = p == s ||
                            !(isalnum((unsigned char) p[-1]) || IN_SET_CHAR(p[-1], '_', '-', ':', '.'));
                bool right = !(isalnum((unsigned char) p[l]) || IN_SET_CHAR(p[l], '_', '-', ':', '.'));

                if (left && right)
                        return true;
        }
        return false;
}

static bool line_names_pf(const char *line, const PfInfo *pf) {
        if (contains_word(line, pf->address) || contains_word(line, pf->address + 5))
                return true;
        for (char **i = pf->ifnames; i && *i; i++)
                if (contains_word(line, *i))
                        return true;
        return false;
}

/* A line of rc.local that writes sriov_numvfs runs at boot, racing sriovd. A line that names a PF
 * other than this one is not about this one; a line that names none (a loop, a variable) may be. */
static int check_pf_rc_local(Doctor *d, const PfInfo *pf, const PfInfo *all, size_t n_all,
                             const ConfigFiles *files, size_t *n_found) {
        for (size_t f = 0; f < files->n; f++) {
                unsigned lineno = 0;

                for (const char *p = files->files[f].text; *p;) {
                        const char *e = strchrnul(p, '\n');
                        _cleanup_free_ char *l = strndup(p, e - p);
                        bool names_this, names_other = false;
                        DoctorStatus status;
                        char *s;

                        p = *e ? e + 1 : e;
                        lineno++;
                        if (!l)
                                return -ENOMEM;
                        s = strstrip(l);
                        if (*s == '#' || !strstr(s, SYSFS_SRIOV_NUMVFS) ||
                            !(strchr(s, '>') || strstr(s, "tee")))
                                continue;

                        names_this = line_names_pf(s, pf);
                        for (size_t k = 0; k < n_all && !names_this; k++)
                                if (&all[k] != pf && line_names_pf(s, &all[k]))
                                        names_other = true;
                        if (names_other)
                                continue;

                        /* rc-local.service runs the file only when it is executable. */
                        status = names_this && files->files[f].executable ? DOCTOR_FAIL : DOCTOR_WARN;
                        (*n_found)++;
                        ADD(d, DOCTOR_SECTION_PF, "conflict", pf->address, status,
                            fixf("%s:%u writes sriov_numvfs at boot, racing sriovd. Delete the line and "
                                 "let\n"
                                 "sriovd set the count: sriovctl set-numvfs %s N",
                                 files->files[f].path, lineno, pf->address),
                            "%s:%u writes sriov_numvfs %s%s", files->files[f].path, lineno,
                            names_this ? "of this PF"
                                       : "of a device it does not name (a loop or a variable)",
                            files->files[f].executable
                                    ? ""
                                    : " (the file is not executable, so it does not run now)");
                }
        }
        return 0;
}

static int check_pf_conflicts(Doctor *d, const PfInfo *pf, const PfInfo *all, size_t n_all,
                              const Conflicts *c) {
        size_t n = 0;
        int r;

        r = check_pf_nm(d, pf, &c->nm, &n);
        if (r < 0)
                return r;
        r = check_pf_links(d, pf, &c->links, &n);
        if (r < 0)
                return r;
        r = check_pf_netplan(d, pf, &c->netplan, &n);
        if (r < 0)
                return r;
        r = check_pf_rc_local(d, pf, all, n_all, &c->rc, &n);
        if (r < 0)
                return r;

        if (n == 0)
                ADD(d, DOCTOR_SECTION_PF, "conflict", pf->address, DOCTOR_OK, NULL,
                    "No NetworkManager profile, systemd .link file, netplan file or rc.local sets its VF "
                    "count");
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

static int check_pfs(Doctor *d) {
        _cleanup_(conflicts_done) Conflicts conflicts = {};
        _cleanup_strv_free_ char **devices = NULL;
        PfInfo *pfs = NULL;
        size_t n = 0;
        int r;

        r = list_dir(d, SYSFS_PCI_DEVICES, &devices);
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
                if (!exists(d, p))
                        continue;
                r = pf_info_load(d, *a, &pfs[n]);
                if (r < 0)
                        goto finish;
                n++;
        }

        if (n == 0) {
                r = add_result(
                        d, DOCTOR_SECTION_HOST, "sriov-capable", NULL, DOCTOR_FAIL,
                        fixf("Enable SR-IOV in the firmware setup (often \"SR-IOV Support\" in the PCI "
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
                r = check_pf_conflicts(d, &pfs[i], pfs, n, &conflicts);
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

int doctor_check_host(Doctor *d) {
        _cleanup_(host_facts_done) HostFacts h = {};
        int r;

        h.vendor = cpu_vendor(d, &h.vendor_name);

        r = check_iommu(d, &h);
        if (r < 0)
                return r;
        r = check_cmdline(d, &h);
        if (r < 0)
                return r;
        r = check_firmware(d, &h);
        if (r < 0)
                return r;
        r = check_vfio(d);
        if (r < 0)
                return r;
        return check_pfs(d);
}

/* --- the daemon --------------------------------------------------------------------------------- */

#define DAEMON_NOT_RUNNING "sriovd is not running: only the host was checked"

int doctor_check_daemon(Doctor *d, sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **paths = NULL;
        _cleanup_free_ char *state = NULL;
        size_t n_bad = 0;
        int has_owner = 0, r;

        if (!bus) {
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_INFO, NULL,
                    DAEMON_NOT_RUNNING " (no system bus)");
                return 0;
        }

        /* Asks the bus, not io.sriovd itself: a call to it would start the daemon by bus activation. */
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", SRIOVD_BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has_owner);
        if (r < 0 || !has_owner) {
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_INFO, NULL, DAEMON_NOT_RUNNING);
                return 0;
        }
        reply = sd_bus_message_unref(reply);

        (void) sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH,
                                          SRIOVD_MANAGER_INTERFACE, "State", NULL, &state);

        r = sd_bus_call_method(bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE,
                               "ListPhysicalFunctions", &error, &reply, NULL);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &paths);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_WARN,
                    fixf("See journalctl -u sriovd for what the daemon reports."),
                    "sriovd is running but did not list its physical functions: %s",
                    error.message ?: strerror(-r));
                return 0;
        }

        for (char **p = paths; p && *p; p++) {
                _cleanup_free_ char *address = NULL, *pf_state = NULL, *last_error = NULL;

                if (sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, *p, SRIOVD_PF_INTERFACE, "State", NULL,
                                               &pf_state) < 0)
                        continue; /* gone meanwhile */
                (void) sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, *p, SRIOVD_PF_INTERFACE,
                                                  "PciAddress", NULL, &address);
                (void) sd_bus_get_property_string(bus, SRIOVD_BUS_NAME, *p, SRIOVD_PF_INTERFACE, "LastError",
                                                  NULL, &last_error);
                if (!streq(pf_state, "failed") && !streq(pf_state, "drift"))
                        continue;

                n_bad++;
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", address ?: *p, DOCTOR_FAIL,
                    streq(pf_state, "drift")
                            ? fixf("The kernel's VF count differs from what sriovd enforces and it could "
                                   "not restore\n"
                                   "it: another tool is changing it (see the conflict checks), or the last "
                                   "error\n"
                                   "says why. Then: sriovctl apply; sriovctl show %s for details.",
                                   address ?: *p)
                            : fixf("Fix what the error says, then: sriovctl apply; sriovctl show %s for "
                                   "details.",
                                   address ?: *p),
                    "sriovd reports %s as %s: %s", address ?: *p, pf_state,
                    isempty(last_error) ? "(no error recorded)" : last_error);
        }

        if (n_bad == 0)
                ADD(d, DOCTOR_SECTION_DAEMON, "sriovd", NULL, DOCTOR_OK, NULL,
                    "sriovd is running (%s), %zu physical function%s, none failed or drifting",
                    state ?: "state unknown", strv_length(paths), strv_length(paths) == 1 ? "" : "s");
        return 0;
}

/* --- output ------------------------------------------------------------------------------------- */

static const char *status_symbol(DoctorStatus s, bool utf8) {
        switch (s) {
        case DOCTOR_OK:
                return utf8 ? "\342\234\223" : "+"; /* ✓ */
        case DOCTOR_WARN:
                return "!";
        case DOCTOR_FAIL:
                return utf8 ? "\342\234\227" : "x"; /* ✗ */
        case DOCTOR_INFO:
                return "i";
        default:
                return "-";
        }
}

static const char *device_description(const Doctor *d, const char *address) {
        for (size_t i = 0; i < d->n_devices; i++)
                if (streq(d->devices[i].address, address))
                        return d->devices[i].description;
        return NULL;
}

int doctor_print(const Doctor *d, FILE *f, bool utf8, bool legend) {
        const DoctorResult *prev = NULL;

        for (size_t i = 0; i < d->n_results; i++) {
                const DoctorResult *r = &d->results[i];

                if (!prev || prev->section != r->section ||
                    (r->section == DOCTOR_SECTION_PF && !streq_ptr(prev->device, r->device))) {
                        if (prev)
                                fputc('\n', f);
                        if (r->section == DOCTOR_SECTION_HOST)
                                fputs("Host:\n", f);
                        else if (r->section == DOCTOR_SECTION_DAEMON)
                                fputs("sriovd:\n", f);
                        else {
                                const char *desc = device_description(d, r->device);
                                fprintf(f, "Physical function %s%s%s%s:\n", r->device, desc ? " (" : "",
                                        strempty(desc), desc ? ")" : "");
                        }
                }
                prev = r;

                fprintf(f, "  %s %s\n", status_symbol(r->status, utf8), r->summary);
                if (r->fix && r->status >= DOCTOR_WARN) {
                        bool first = true;

                        for (const char *p = r->fix; *p;) {
                                const char *e = strchrnul(p, '\n');

                                fprintf(f, "      %s%.*s\n", first ? "Fix: " : "     ", (int) (e - p), p);
                                first = false;
                                p = *e ? e + 1 : e;
                        }
                }
        }

        if (legend) {
                size_t fails = doctor_count(d, DOCTOR_FAIL), warns = doctor_count(d, DOCTOR_WARN);

                fprintf(f, "\n%zu check%s: %zu ok, %zu warning%s, %zu failed.%s\n", d->n_results,
                        d->n_results == 1 ? "" : "s", doctor_count(d, DOCTOR_OK), warns,
                        warns == 1 ? "" : "s", fails,
                        fails > 0 ? " SR-IOV passthrough will not work until the failures are fixed." : "");
        }

        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

int doctor_print_json(const Doctor *d, FILE *f) {
        fputc('[', f);
        for (size_t i = 0; i < d->n_results; i++) {
                const DoctorResult *r = &d->results[i];

                fputs(i > 0 ? ",\n  " : "\n  ", f);
                fputs("{\"check\": ", f);
                json_write_string(f, r->check);
                fputs(", \"device\": ", f);
                if (r->device)
                        json_write_string(f, r->device);
                else
                        fputs("null", f);
                fputs(", \"status\": ", f);
                json_write_string(f, doctor_status_to_string(r->status));
                fputs(", \"summary\": ", f);
                json_write_string(f, r->summary);
                fputs(", \"fix\": ", f);
                if (r->fix)
                        json_write_string(f, r->fix);
                else
                        fputs("null", f);
                fputc('}', f);
        }
        fputs(d->n_results > 0 ? "\n]\n" : "]\n", f);
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
