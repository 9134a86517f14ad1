/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "doctor.h"

/* What the files of client/doctor/ share: reading the host below the root (host.c), adding results
 * (doctor.c), the PFs as sysfs shows them (pf.c) and the other tools' files (conflicts.c). */

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

/* --- reading the host below d->root (host.c) ---------------------------------------------------- */

/* The one place where paths are rewritten: every file doctor reads goes through here. */
char *doctor_path(const Doctor *d, const char *path);
/* The largest file doctor reads. */
#define DOCTOR_FILE_MAX (16 * 1024 * 1024)
/* A regular file of at most DOCTOR_FILE_MAX bytes, with links followed below the root; a link to
 * /dev/null (a mask) reads as -ENOENT. Errors as read_full_file(). */
int doctor_read_file(const Doctor *d, const char *path, char **ret);
/* What is wrong with path after doctor_read_file() failed with error, as read_full_file_strerror(). */
int doctor_read_error(const Doctor *d, const char *path, int error, char **ret);
int doctor_read_attr(const Doctor *d, const char *path, char **ret);
int doctor_read_attr_uint(const Doctor *d, const char *path, unsigned *ret);
bool doctor_exists(const Doctor *d, const char *path);
bool doctor_is_executable(const Doctor *d, const char *path);
/* Sorted entries of a directory, without dot files; a missing directory is empty. */
int doctor_list_dir(const Doctor *d, const char *path, char ***ret);
/* The last component of a symlink's target: the driver of "driver", the group of "iommu_group". */
int doctor_read_link(const Doctor *d, const char *path, char **ret);

/* --- small parsers (host.c) --------------------------------------------------------------------- */

/* Splits at whitespace (and, if extra is given, at those characters too). */
int split_words(const char *s, const char *extra, char ***ret);
/* The value of the last "key=value" among words (the kernel takes the last one), or NULL. */
const char *words_value(char **words, const char *key);
/* Whether the comma separated list has the item. */
bool list_has(const char *list, const char *item);

/* --- results (doctor.c) ------------------------------------------------------------------------- */

/* Takes ownership of fix in every case. */
int doctor_add_result(Doctor *d, DoctorSection section, const char *check, const char *device,
                      DoctorStatus status, char *fix, const char *format, ...) _printf_(7, 8);
/* A fix text from a format; NULL on ENOMEM, which doctor_add_result() then reports. */
char *doctor_fixf(const char *format, ...) _printf_(1, 2);

/* Adds a result and returns -ENOMEM from the calling check if that fails. A warning or failure
 * without its fix means doctor_fixf() ran out of memory. */
#define ADD(d, section, check, device, status, fix, ...)                                          \
        ({                                                                                        \
                char *_fix = (fix);                                                               \
                int _r;                                                                           \
                if ((status) >= DOCTOR_WARN && !_fix)                                             \
                        _r = -ENOMEM;                                                             \
                else                                                                              \
                        _r = doctor_add_result((d), (section), (check), (device), (status), _fix, \
                                               __VA_ARGS__);                                      \
                if (_r < 0)                                                                       \
                        return _r;                                                                \
        })

/* --- the checks --------------------------------------------------------------------------------- */

/* The IOMMU, the kernel command line, the firmware's DMAR/IVRS table and vfio-pci (iommu.c). */
int doctor_check_iommu(Doctor *d);
int doctor_check_vfio(Doctor *d);
/* Every SR-IOV capable PCI device, and the other tools that would set its VF count (pf.c). */
int doctor_check_pfs(Doctor *d);

/* --- physical functions (pf.c) ------------------------------------------------------------------ */

typedef struct PfInfo {
        char *address;
        char *driver; /* NULL: no driver bound */
        char **ifnames;
        char *mac; /* of the first interface */
        char *id_path; /* as udev's ID_PATH, what .link and NetworkManager's Path= match */
        unsigned total_vfs;
        int total_error;
        unsigned num_vfs;
        uint16_t vendor; /* PCI vendor ID, 0 when unreadable */
        char **vfs; /* VF addresses by index */
} PfInfo;

/* --- other tools that set the VF count (conflicts.c, netplan.c) --------------------------------- */

typedef struct ConfigFile {
        char *path; /* as on the host, without the root */
        char *text;
        bool executable;
} ConfigFile;

typedef struct ConfigFiles {
        ConfigFile *files;
        size_t n;
} ConfigFiles;

/* A virtual-function-count setting of netplan. */
typedef struct NetplanVfCount {
        char *path; /* of the file, as on the host */
        char *id; /* the key under ethernets: an interface name, or any name with match: */
        char *count; /* as written */
        char *match_name; /* glob */
        char *match_mac;
        char **match_drivers; /* globs */
} NetplanVfCount;

typedef struct NetplanVfCounts {
        NetplanVfCount *items;
        size_t n;
} NetplanVfCounts;

typedef struct Conflicts {
        ConfigFiles nm, links, rc;
        NetplanVfCounts netplan;
} Conflicts;

/* Reads every file of NetworkManager, systemd-udevd (.link), netplan and rc.local that may set a VF
 * count; a file that cannot be read becomes a result. */
int conflicts_load(Doctor *d, Conflicts *c);
void conflicts_done(Conflicts *c);
/* Adds a result for every file that sets the VF count of pf, or one saying that none does; all is
 * every PF, for lines that name another one. */
int conflicts_check_pf(Doctor *d, const PfInfo *pf, const PfInfo *all, size_t n_all, const Conflicts *c);

bool glob_list_matches(char **patterns, const char *s);
bool mac_equal(const char *a, const char *b);
bool pf_has_ifname_match(const PfInfo *pf, char **patterns);

/* The virtual-function-count settings in netplan's files; a file that does not parse becomes a
 * result. */
int netplan_load(Doctor *d, const ConfigFiles *files, NetplanVfCounts *ret);
void netplan_vf_counts_done(NetplanVfCounts *c);
int netplan_check_pf(Doctor *d, const PfInfo *pf, const NetplanVfCounts *c, size_t *n_found);
