/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <net/ethernet.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "util.h"

typedef struct VfRange {
        unsigned first;
        unsigned last;
} VfRange;

/* One [VirtualFunction] section: VirtualFunction=N or N-M, followed by policy keys. */
typedef struct VfSection {
        unsigned first;
        unsigned last;
        unsigned line;
        VfPolicy policy;
} VfSection;

typedef struct PfConfig {
        char *path; /* the file it came from */

        /* [Match]; NULL/false when not given. Every key given must match. */
        char *match_pci_address; /* normalized, "0000:01:00.0" */
        char *match_interface; /* fnmatch() glob */
        char *match_driver; /* fnmatch() glob */
        bool match_vendor_device;
        uint16_t match_vendor;
        uint16_t match_device;
        bool match_permanent_mac;
        struct ether_addr match_permanent_mac_addr;
        bool has_match_section;

        /* [PhysicalFunction] */
        int num_vfs; /* -1 when not given */
        int drivers_autoprobe; /* -1 when not given, else 0/1 */
        char **lease_drivers; /* drivers a lease may bind this PF's VFs to, beyond vfio-pci and the default
                               */
        VfRange *network_managed_vfs; /* VFs whose netdevs are left to a network manager */
        size_t n_network_managed_vfs;

        VfSection *vfs;
        size_t n_vfs;
} PfConfig;

PfConfig *pf_config_free(PfConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(PfConfig *, pf_config_free);
PfConfig *pf_config_new(const char *path);
/* Whether the file has a [Match] key: one without would apply to every PF. */
bool pf_config_has_match_key(const PfConfig *c);

/* What a PF offers for [Match]. Strings may be NULL (unknown). */
typedef struct PfMatchInfo {
        const char *pci_address;
        const char *interface;
        const char *driver;
        uint16_t vendor;
        uint16_t device;
        const char *permanent_mac; /* "aa:bb:cc:dd:ee:ff" */
} PfMatchInfo;

bool pf_config_matches(const PfConfig *c, const PfMatchInfo *info);

/* The effective policy of VF index after all sections of c (later sections override earlier ones
 * key by key). Returns true if any section covers index. */
bool pf_config_vf_policy(const PfConfig *c, unsigned index, VfPolicy *ret);

/* Whether NetworkManagedVFs= names VF index: its netdev is left to a network manager, not marked as
 * sriovd's. */
bool pf_config_vf_network_managed(const PfConfig *c, unsigned index);

/* Parses one file. require_match: files in pf.d need a [Match] with at least one key; the state
 * store's files do not. On a parse error returns -EBADMSG and ret_error = "file:line: message", and
 * ret_partial (if non-NULL) gets what was parsed of [Match] so the error can be pinned on the PFs
 * it was meant for (NULL if not even that parsed). The file is read with read_full_file() and a
 * symbolic link is not followed: a file that is refused unread returns its -errno (-ELOOP, -EBADFD,
 * -EFBIG, -EACCES, ...) with ret_error = "file: what is wrong"; -EBADMSG also stands for a NUL byte;
 * -ENOENT comes without a message. Messages name the file, the line and the error and quote no more
 * of the file than names and the values of known keys. */
int pf_config_parse_file(const char *path, bool require_match, PfConfig **ret, char **ret_error,
                         PfConfig **ret_partial);
int pf_config_parse_string(const char *path, const char *text, bool require_match, PfConfig **ret,
                           char **ret_error, PfConfig **ret_partial);

/* Serializes [PhysicalFunction] and [VirtualFunction] sections (and [Match] if set) in the file
 * syntax, one [VirtualFunction] section per entry. */
int pf_config_format(const PfConfig *c, char **ret);

typedef struct ConfigError {
        char *path;
        char *message; /* "file:line: message", or "file: what is wrong" when it could not be read */
        PfConfig *partial; /* [Match] of the refused file, or NULL */
        bool unread; /* could not be read at all (not a regular file, ...): it may be meant for any PF */
} ConfigError;

typedef struct ConfigSet {
        PfConfig **files; /* valid files in lexical order of their names */
        size_t n_files;
        ConfigError *errors;
        size_t n_errors;
} ConfigSet;

ConfigSet *config_set_free(ConfigSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ConfigSet *, config_set_free);

/* Loads <dir>/pf.d/ *.conf files from every dir; a name in an earlier dir masks the same name in later
 * ones; files are taken in lexical order of their names. A missing directory is fine. Fails only on
 * ENOMEM or an unreadable directory; refused files end up in ->errors. Symbolic links are followed
 * (a link to /dev/null, like an empty file, masks); only regular files are read. */
int config_load(char *const *dirs, ConfigSet **ret);
/* Parses exactly these files (sriovctl check-config FILE...), following symbolic links. */
int config_load_files(char *const *files, ConfigSet **ret);

/* The first valid file (lexical order) matching info, or NULL. */
const PfConfig *config_set_find(const ConfigSet *s, const PfMatchInfo *info);
