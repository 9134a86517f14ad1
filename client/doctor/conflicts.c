/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Other tools that set a PF's VF count on their own: NetworkManager's [sriov] total-vfs=, systemd's
 * .link SR-IOVVirtualFunctions=, netplan's virtual-function-count (netplan.c), and rc.local lines that
 * write sriov_numvfs. Each would undo what sriovd set, and sriovd what they set. */
#include <ctype.h>
#include <fnmatch.h>

#include "doctor-internal.h"
#include "ini.h"
#include "names.h"

/* The assignments of a NetworkManager profile or a .link file, in file order. Lines that are neither
 * a section header nor an assignment are passed over. */
typedef struct KeyFile {
        IniLexer lexer; /* owns the strings of the lines */
        IniLine *lines;
        size_t n;
} KeyFile;

static void key_file_done(KeyFile *k) {
        ini_lexer_done(&k->lexer);
        free(k->lines);
        *k = (KeyFile){};
}

static int key_file_parse(const char *text, KeyFile *ret) {
        _cleanup_(key_file_done) KeyFile k = {};
        IniLine line;
        int r;

        r = ini_lexer_init(&k.lexer, text);
        if (r < 0)
                return r;
        while (ini_lexer_next(&k.lexer, &line) > 0) {
                IniLine *lines;

                if (line.type != INI_ASSIGNMENT)
                        continue;
                lines = realloc(k.lines, (k.n + 1) * sizeof(IniLine));
                if (!lines)
                        return -ENOMEM;
                k.lines = lines;
                k.lines[k.n++] = line;
        }

        *ret = k;
        k = (KeyFile){};
        return 0;
}

/* The last value of section.key, or NULL. */
static const IniLine *key_file_get(const KeyFile *k, const char *section, const char *key) {
        const IniLine *found = NULL;

        for (size_t i = 0; i < k->n; i++)
                if (streq_ptr(k->lines[i].section, section) && streq(k->lines[i].key, key))
                        found = &k->lines[i];
        return found;
}

static bool key_file_has_section(const KeyFile *k, const char *section) {
        for (size_t i = 0; i < k->n; i++)
                if (streq_ptr(k->lines[i].section, section))
                        return true;
        return false;
}

static void config_files_done(ConfigFiles *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->files[i].path);
                free(c->files[i].text);
        }
        free(c->files);
        *c = (ConfigFiles){};
}

void conflicts_done(Conflicts *c) {
        config_files_done(&c->nm);
        config_files_done(&c->links);
        netplan_vf_counts_done(&c->netplan);
        config_files_done(&c->rc);
}

/* A file that cannot be read is reported, so that "no conflict" never hides an unread file. */
static int unreadable(Doctor *d, const char *path, int error) {
        _cleanup_free_ char *what = NULL;

        if (error == -EACCES || error == -EPERM) {
                ADD(d, DOCTOR_SECTION_HOST, "conflict", NULL, DOCTOR_WARN,
                    doctor_fixf(
                            "Run sriovctl doctor as root to check %s for SR-IOV settings of other tools.",
                            path),
                    "Cannot read %s: %s", path, strerror(-error));
                return 0;
        }
        /* not a regular file, too big, ...: no use trying as root */
        if (doctor_read_error(d, path, error, &what) < 0)
                return -ENOMEM;
        ADD(d, DOCTOR_SECTION_HOST, "conflict", NULL, DOCTOR_WARN,
            doctor_fixf("Check %s: doctor reads regular files of up to 16 MiB only.", path),
            "Cannot read %s: %s", path, what);
        return 0;
}

static int config_files_add(Doctor *d, ConfigFiles *c, const char *path) {
        _cleanup_free_ char *text = NULL, *p = NULL;
        ConfigFile *files;
        int r;

        r = doctor_read_file(d, path, &text);
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
                .executable = doctor_is_executable(d, path),
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

                r = doctor_list_dir(d, dirs[i], &names);
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

int conflicts_load(Doctor *d, Conflicts *c) {
        _cleanup_(config_files_done) ConfigFiles netplan = {};
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
        r = config_files_load(d, &netplan, netplan_dirs, ELEMENTSOF(netplan_dirs), ".yaml", true);
        if (r < 0)
                return r;
        r = netplan_load(d, &netplan, &c->netplan);
        if (r < 0)
                return r;
        r = config_files_add(d, &c->rc, "/etc/rc.local");
        if (r < 0)
                return r;
        return config_files_add(d, &c->rc, "/etc/rc.d/rc.local");
}

bool glob_list_matches(char **patterns, const char *s) {
        for (char **p = patterns; p && *p; p++)
                if (s && fnmatch(*p, s, 0) == 0)
                        return true;
        return false;
}

bool mac_equal(const char *a, const char *b) {
        return a && b && strcasecmp(a, b) == 0;
}

bool pf_has_ifname_match(const PfInfo *pf, char **patterns) {
        for (char **i = pf->ifnames; i && *i; i++)
                if (glob_list_matches(patterns, *i))
                        return true;
        return false;
}

/* NetworkManager sets sriov.total-vfs of the device a profile is for: by connection.interface-name,
 * by [match] interface-name= or path=, or by ethernet.mac-address. */
static int check_pf_nm(Doctor *d, const PfInfo *pf, const ConfigFiles *files, size_t *n_found) {
        for (size_t i = 0; i < files->n; i++) {
                _cleanup_(key_file_done) KeyFile kf = {};
                _cleanup_strv_free_ char **match_names = NULL, **match_paths = NULL;
                const IniLine *total, *ifname, *mac, *id, *e;
                bool refers, anonymous;
                int r;

                r = key_file_parse(files->files[i].text, &kf);
                if (r < 0)
                        return r;
                total = key_file_get(&kf, "sriov", "total-vfs");
                if (!total)
                        continue;

                ifname = key_file_get(&kf, "connection", "interface-name");
                mac = key_file_get(&kf, "ethernet", "mac-address");
                id = key_file_get(&kf, "connection", "id");
                if ((e = key_file_get(&kf, "match", "interface-name")) &&
                    split_words(e->value, ";,", &match_names) < 0)
                        return -ENOMEM;
                if ((e = key_file_get(&kf, "match", "path")) &&
                    split_words(e->value, ";,", &match_paths) < 0)
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
                    doctor_fixf(
                            "Two tools would set the VF count of this PF and undo each other's work. Remove "
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

static LinkMatch link_match(const KeyFile *kf, const PfInfo *pf) {
        LinkMatch result = LINK_MATCH_YES;

        for (size_t i = 0; i < kf->n; i++) {
                const IniLine *e = &kf->lines[i];
                _cleanup_strv_free_ char **values = NULL;
                const char *v = e->value;
                bool negate = false, m;

                if (!streq_ptr(e->section, "Match") || isempty(v))
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
                _cleanup_(key_file_done) KeyFile kf = {};
                const IniLine *vfs;
                const char *name;
                LinkMatch m;
                int r;

                /* An empty file (or a symlink to /dev/null) masks a file of the same name. */
                if (isempty(files->files[i].text))
                        continue;
                r = key_file_parse(files->files[i].text, &kf);
                if (r < 0)
                        return r;
                m = link_match(&kf, pf);
                if (m == LINK_MATCH_NO)
                        continue;

                /* A file that may not apply does not hide later ones. */
                vfs = key_file_get(&kf, "Link", "SR-IOVVirtualFunctions");
                if (!vfs || isempty(vfs->value)) {
                        if (m == LINK_MATCH_YES)
                                return 0;
                        continue;
                }

                name = strrchr(files->files[i].path, '/') + 1;
                (*n_found)++;
                ADD(d, DOCTOR_SECTION_PF, "conflict", pf->address,
                    m == LINK_MATCH_YES ? DOCTOR_FAIL : DOCTOR_WARN,
                    doctor_fixf(
                            "systemd-udevd applies %s whenever the device appears;\n"
                            "it and sriovd would undo each other's VF count. Remove SR-IOVVirtualFunctions= "
                            "from it\n"
                            "(or mask it: ln -s /dev/null /etc/systemd/network/%s), then run udevadm "
                            "control "
                            "--reload;\n"
                            "or leave this PF to systemd and remove sriovd's configuration for it.",
                            files->files[i].path, name),
                    "systemd .link file %s sets SR-IOVVirtualFunctions=%s%s", files->files[i].path,
                    vfs->value,
                    m == LINK_MATCH_MAYBE
                            ? " and may match this PF (it has [Match] conditions doctor cannot evaluate)"
                    : key_file_has_section(&kf, "Match") ? " and matches this PF"
                                                         : " for every interface");
                if (m == LINK_MATCH_YES)
                        return 0;
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
                            doctor_fixf(
                                    "%s:%u writes sriov_numvfs at boot, racing sriovd. Delete the line and "
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

int conflicts_check_pf(Doctor *d, const PfInfo *pf, const PfInfo *all, size_t n_all, const Conflicts *c) {
        size_t n = 0;
        int r;

        r = check_pf_nm(d, pf, &c->nm, &n);
        if (r < 0)
                return r;
        r = check_pf_links(d, pf, &c->links, &n);
        if (r < 0)
                return r;
        r = netplan_check_pf(d, pf, &c->netplan, &n);
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
