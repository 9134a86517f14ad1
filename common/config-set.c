/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration as a set of files: reading them safely, masking across directories, lexical order,
 * refused files kept with their errors, and which file a PF takes; and a PfConfig written back out. */
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "names.h"

/* Configuration files are small; refuse to slurp something huge. */
#define CONFIG_FILE_MAX (4 * 1024 * 1024)

/* Reads a configuration or state file into *ret_text. Nothing but a regular file is read (see
 * read_full_file()). With follow, a symbolic link is followed to where it ends, as systemd follows
 * links in its .d directories: the directories are root's, so root made the link, and a link is how
 * configuration management and image builders install files. Without it, a link is refused. On
 * failure, *ret_error (if ret_error is not NULL) says what is wrong, except for -ENOENT and -ENOMEM;
 * -EBADMSG means a NUL byte. */
static int config_read(const char *path, bool follow, char **ret_text, char **ret_error) {
        _cleanup_free_ char *text = NULL, *target = NULL, *msg = NULL;
        const char *read_path = path;
        size_t size;
        int r;

        r = read_full_file(path, CONFIG_FILE_MAX, &text, &size);
        if (r == -ELOOP && follow) {
                target = realpath(path, NULL);
                if (!target) {
                        r = negative_errno();
                        if (r == -ENOMEM)
                                return r;
                        if (ret_error &&
                            asprintf_safe(ret_error, "%s: is a symbolic link that leads nowhere (%s)", path,
                                          strerror(-r)) < 0)
                                return -ENOMEM;
                        return r;
                }
                read_path = target;
                r = read_full_file(target, CONFIG_FILE_MAX, &text, &size);
        }
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT && !target)
                return r;
        if (r < 0) {
                if (!ret_error)
                        return r;
                if (read_full_file_strerror(read_path, r, CONFIG_FILE_MAX, &msg) < 0)
                        return -ENOMEM;
                /* "/etc/sriovd/pf.d/x.conf -> /srv/x.conf: not a regular file (a FIFO)" */
                if (asprintf_safe(ret_error, "%s%s%s: %s", path, target ? " -> " : "", strempty(target),
                                  msg) < 0)
                        return -ENOMEM;
                return r;
        }
        if (strlen(text) != size) {
                if (ret_error && asprintf_safe(ret_error, "%s: file contains a NUL byte", path) < 0)
                        return -ENOMEM;
                return -EBADMSG;
        }
        *ret_text = TAKE_PTR(text);
        return 0;
}

int pf_config_parse_file(const char *path, bool require_match, PfConfig **ret, char **ret_error,
                         PfConfig **ret_partial) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = config_read(path, false, &text, ret_error);
        if (r < 0) {
                if (ret_partial)
                        *ret_partial = NULL;
                return r;
        }
        return pf_config_parse_string(path, text, require_match, ret, ret_error, ret_partial);
}

int pf_config_format(const PfConfig *c, char **ret) {
        _cleanup_free_ char *buf = NULL;
        bool first = true;
        int r;

        buf = strdup("");
        if (!buf)
                return -ENOMEM;

        if (pf_config_has_match_key(c)) {
                r = strextend_sep(&buf, NULL, "[Match]\n");
                if (r < 0)
                        return r;
                if (c->match_pci_address &&
                    (r = strextend_sep(&buf, NULL, "PciAddress=%s\n", c->match_pci_address)) < 0)
                        return r;
                if (c->match_interface &&
                    (r = strextend_sep(&buf, NULL, "Interface=%s\n", c->match_interface)) < 0)
                        return r;
                if (c->match_driver && (r = strextend_sep(&buf, NULL, "Driver=%s\n", c->match_driver)) < 0)
                        return r;
                if (c->match_vendor_device && (r = strextend_sep(&buf, NULL, "VendorDevice=%04x:%04x\n",
                                                                 c->match_vendor, c->match_device)) < 0)
                        return r;
                if (c->match_permanent_mac) {
                        char m[18];
                        r = strextend_sep(&buf, NULL, "PermanentMACAddress=%s\n",
                                          policy_format_mac(&c->match_permanent_mac_addr, m));
                        if (r < 0)
                                return r;
                }
                first = false;
        }

        if (c->num_vfs >= 0 || c->drivers_autoprobe >= 0) {
                r = strextend_sep(&buf, NULL, "%s[PhysicalFunction]\n", first ? "" : "\n");
                if (r < 0)
                        return r;
                if (c->num_vfs >= 0 && (r = strextend_sep(&buf, NULL, "NumVFs=%d\n", c->num_vfs)) < 0)
                        return r;
                if (c->drivers_autoprobe >= 0 &&
                    (r = strextend_sep(&buf, NULL, "DriversAutoprobe=%s\n",
                                       c->drivers_autoprobe ? "yes" : "no")) < 0)
                        return r;
                first = false;
        }

        for (size_t i = 0; i < c->n_vfs; i++) {
                const VfSection *v = &c->vfs[i];

                r = strextend_sep(&buf, NULL, "%s[VirtualFunction]\n", first ? "" : "\n");
                if (r < 0)
                        return r;
                if (v->first == v->last)
                        r = strextend_sep(&buf, NULL, "VirtualFunction=%u\n", v->first);
                else
                        r = strextend_sep(&buf, NULL, "VirtualFunction=%u-%u\n", v->first, v->last);
                if (r < 0)
                        return r;
                for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                        _cleanup_free_ char *value = NULL;

                        if (!POLICY_HAS(&v->policy, k))
                                continue;
                        r = policy_value_to_string(&v->policy, k, &value);
                        if (r < 0)
                                return r;
                        r = strextend_sep(&buf, NULL, "%s=%s\n", policy_key_to_string(k), value);
                        if (r < 0)
                                return r;
                }
                first = false;
        }

        *ret = TAKE_PTR(buf);
        return 0;
}

ConfigSet *config_set_free(ConfigSet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_files; i++)
                pf_config_free(s->files[i]);
        free(s->files);
        for (size_t i = 0; i < s->n_errors; i++) {
                free(s->errors[i].path);
                free(s->errors[i].message);
                pf_config_free(s->errors[i].partial);
        }
        free(s->errors);
        free(s);
        return NULL;
}

static int config_set_add_error(ConfigSet *s, const char *path, char *message, PfConfig *partial,
                                bool unread) {
        ConfigError *e;
        char *p;

        p = strdup(path);
        if (!p) {
                free(message);
                pf_config_free(partial);
                return -ENOMEM;
        }
        e = realloc(s->errors, sizeof(ConfigError) * (s->n_errors + 1));
        if (!e) {
                free(p);
                free(message);
                pf_config_free(partial);
                return -ENOMEM;
        }
        s->errors = e;
        s->errors[s->n_errors++] = (ConfigError){
                .path = p,
                .message = message,
                .partial = partial,
                .unread = unread,
        };
        return 0;
}

static int config_set_add_file(ConfigSet *s, const char *path) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *partial = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        PfConfig **f;
        int r;

        r = config_read(path, true, &text, &error);
        if (r >= 0)
                r = pf_config_parse_string(path, text, true, &c, &error, &partial);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (!error && asprintf_safe(&error, "%s: Failed to read file: %s", path, strerror(-r)) < 0)
                        return -ENOMEM;
                return config_set_add_error(s, path, TAKE_PTR(error), TAKE_PTR(partial), !text);
        }

        f = realloc(s->files, sizeof(PfConfig *) * (s->n_files + 1));
        if (!f)
                return -ENOMEM;
        s->files = f;
        s->files[s->n_files++] = TAKE_PTR(c);
        return 0;
}

/* Like systemd: a symlink to /dev/null or an empty file masks the file of the same name in later
 * directories, and is not read itself. stat() only: nothing is opened. */
static bool is_masked(const char *path) {
        struct stat st;

        if (stat(path, &st) < 0)
                return false;
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
                return true;
        return S_ISREG(st.st_mode) && st.st_size == 0;
}

int config_load_files(char *const *files, ConfigSet **ret) {
        _cleanup_(config_set_freep) ConfigSet *s = NULL;
        int r;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;

        for (char *const *f = files; f && *f; f++) {
                /* a mask is no configuration, and not wrong either */
                if (is_masked(*f))
                        continue;
                r = config_set_add_file(s, *f);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

typedef struct ConfEntry {
        char *name;
        char *path; /* NULL when masked */
} ConfEntry;

static int conf_entry_compare(const void *a, const void *b) {
        return strcmp(((const ConfEntry *) a)->name, ((const ConfEntry *) b)->name);
}

static void conf_entries_free(ConfEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].name);
                free(e[i].path);
        }
        free(e);
}

static bool conf_entries_have(const ConfEntry *e, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(e[i].name, name))
                        return true;
        return false;
}

static int collect_dir(const char *dir, ConfEntry **entries, size_t *n_entries) {
        _cleanup_free_ char *pfd = NULL;
        DIR *d;
        struct dirent *de;
        int r = 0;

        pfd = path_join(dir, SRIOVD_CONFIG_SUBDIR);
        if (!pfd)
                return -ENOMEM;

        d = opendir(pfd);
        if (!d) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return negative_errno();
        }

        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *name = NULL;
                const char *suffix;
                struct stat st;
                ConfEntry *e;
                size_t l = strlen(de->d_name);

                if (de->d_name[0] == '.')
                        continue;
                if (l <= strlen(SRIOVD_CONFIG_SUFFIX))
                        continue;
                suffix = de->d_name + l - strlen(SRIOVD_CONFIG_SUFFIX);
                if (!streq(suffix, SRIOVD_CONFIG_SUFFIX))
                        continue;
                if (conf_entries_have(*entries, *n_entries, de->d_name))
                        continue;

                path = path_join(pfd, de->d_name);
                name = strdup(de->d_name);
                if (!path || !name) {
                        r = -ENOMEM;
                        break;
                }
                /* Whatever has the name takes it: a directory, a FIFO or a dangling link named *.conf
                 * masks the file of the same name in later directories and is refused when read, so
                 * that a mistake in /etc is reported instead of letting a vendor file apply. */
                if (lstat(path, &st) < 0)
                        continue; /* gone since readdir() */

                e = realloc(*entries, sizeof(ConfEntry) * (*n_entries + 1));
                if (!e) {
                        r = -ENOMEM;
                        break;
                }
                *entries = e;
                e[(*n_entries)++] = (ConfEntry){
                        .name = TAKE_PTR(name),
                        .path = is_masked(path) ? NULL : TAKE_PTR(path),
                };
        }
        if (r == 0 && errno > 0)
                r = -errno;
        closedir(d);
        return r;
}

int config_load(char *const *dirs, ConfigSet **ret) {
        _cleanup_(config_set_freep) ConfigSet *s = NULL;
        ConfEntry *entries = NULL;
        size_t n_entries = 0;
        int r = 0;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;

        for (char *const *d = dirs; d && *d; d++) {
                r = collect_dir(*d, &entries, &n_entries);
                if (r < 0)
                        goto finish;
        }

        if (n_entries > 0)
                qsort(entries, n_entries, sizeof(ConfEntry), conf_entry_compare);

        for (size_t i = 0; i < n_entries; i++) {
                if (!entries[i].path)
                        continue;
                r = config_set_add_file(s, entries[i].path);
                if (r < 0)
                        goto finish;
        }

        *ret = TAKE_PTR(s);
        r = 0;
finish:
        conf_entries_free(entries, n_entries);
        return r;
}

const PfConfig *config_set_find(const ConfigSet *s, const PfMatchInfo *info) {
        for (size_t i = 0; s && i < s->n_files; i++)
                if (pf_config_matches(s->files[i], info))
                        return s->files[i];
        return NULL;
}
