/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "ini.h"

/* Configuration files are small; refuse to slurp something huge. */
#define CONFIG_FILE_MAX (4 * 1024 * 1024)
#include "names.h"

/* The PCI spec's TotalVFs is 16 bit; VF indexes beyond 4095 exist on no known device. */
#define NUM_VFS_MAX 65535U
#define VF_INDEX_MAX 4095U

PfConfig *pf_config_new(const char *path) {
        PfConfig *c;

        c = calloc(1, sizeof *c);
        if (!c)
                return NULL;
        c->num_vfs = -1;
        c->drivers_autoprobe = -1;
        if (path) {
                c->path = strdup(path);
                if (!c->path)
                        return pf_config_free(c);
        }
        return c;
}

PfConfig *pf_config_free(PfConfig *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->match_pci_address);
        free(c->match_interface);
        free(c->match_driver);
        strv_free(c->lease_drivers);
        free(c->vfs);
        free(c);
        return NULL;
}

static bool pf_config_has_match_key(const PfConfig *c) {
        return c->match_pci_address || c->match_interface || c->match_driver || c->match_vendor_device ||
               c->match_permanent_mac;
}

bool pf_config_matches(const PfConfig *c, const PfMatchInfo *info) {
        if (!c || !info)
                return false;

        if (c->match_pci_address) {
                char a[PCI_ADDRESS_MAX];

                if (!info->pci_address || pci_address_normalize(info->pci_address, a) < 0 ||
                    !streq(a, c->match_pci_address))
                        return false;
        }
        if (c->match_interface && (!info->interface || fnmatch(c->match_interface, info->interface, 0) != 0))
                return false;
        if (c->match_driver && (!info->driver || fnmatch(c->match_driver, info->driver, 0) != 0))
                return false;
        if (c->match_vendor_device && (info->vendor != c->match_vendor || info->device != c->match_device))
                return false;
        if (c->match_permanent_mac) {
                struct ether_addr a;

                if (!info->permanent_mac || policy_parse_mac(info->permanent_mac, &a) < 0 ||
                    memcmp(&a, &c->match_permanent_mac_addr, sizeof a) != 0)
                        return false;
        }
        return true;
}

bool pf_config_vf_policy(const PfConfig *c, unsigned index, VfPolicy *ret) {
        VfPolicy p = {};
        bool found = false;

        for (size_t i = 0; c && i < c->n_vfs; i++)
                if (index >= c->vfs[i].first && index <= c->vfs[i].last) {
                        policy_merge(&p, &c->vfs[i].policy);
                        found = true;
                }
        if (ret)
                *ret = p;
        return found;
}

typedef enum Section {
        SECTION_NONE,
        SECTION_MATCH,
        SECTION_PF,
        SECTION_VF,
        SECTION_UNKNOWN, /* only while scanning for [Match] after an error */
} Section;

static const char *const match_keys[] = {
        "PciAddress", "Interface", "Driver", "VendorDevice", "PermanentMACAddress",
};

typedef struct Parser {
        const char *path;
        PfConfig *config;
        Section section;
        bool match_only; /* second pass for ret_partial: everything but [Match] is skipped */
        unsigned line;
        unsigned match_line; /* of the [Match] header, 0 before it */
        unsigned match_key_lines[ELEMENTSOF(match_keys)]; /* where each [Match] key was given */
        VfSection *vf; /* the open [VirtualFunction] section */
        bool vf_started; /* VirtualFunction= seen in it */
        unsigned vf_rate_line; /* of its last MinTxRate= or MaxTxRate= */
        size_t n_vfs_allocated; /* of config->vfs */
        char *error;
} Parser;

static int parser_error(Parser *p, unsigned line, const char *fmt, ...) _printf_(3, 4);
static int parser_error(Parser *p, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;

        free(p->error);
        if (asprintf_safe(&p->error, "%s:%u: %s", p->path, line, msg) < 0)
                return -ENOMEM;
        return -EBADMSG;
}

/* A section's or key's name as a message may quote it: made of what names are made of, and short.
 * Anything else is no name sriovd could know, and may be anything. */
static const char *quotable(const char *name) {
        size_t n = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.");

        return name[n] == 0 && n <= 64 ? name : "(not shown)";
}

static int parse_vendor_device(const char *v, uint16_t *ret_vendor, uint16_t *ret_device) {
        unsigned long ids[2];
        const char *p = v;

        for (size_t i = 0; i < 2; i++) {
                size_t n = strspn(p, "0123456789abcdefABCDEF");
                char buf[5] = {};

                if (n < 1 || n > 4)
                        return -EINVAL;
                memcpy(buf, p, n);
                ids[i] = strtoul(buf, NULL, 16);
                p += n;
                if (i == 0) {
                        if (*p != ':')
                                return -EINVAL;
                        p++;
                }
        }
        if (*p)
                return -EINVAL;
        *ret_vendor = (uint16_t) ids[0];
        *ret_device = (uint16_t) ids[1];
        return 0;
}

static int parse_vf_range(const char *v, unsigned *ret_first, unsigned *ret_last) {
        _cleanup_free_ char *a = NULL;
        unsigned first, last;
        const char *dash;
        int r;

        dash = strchr(v, '-');
        if (dash) {
                a = strndup(v, dash - v);
                if (!a)
                        return -ENOMEM;
                r = safe_atou(a, &first);
                if (r < 0)
                        return -EINVAL;
                r = safe_atou(dash + 1, &last);
                if (r < 0)
                        return -EINVAL;
        } else {
                r = safe_atou(v, &first);
                if (r < 0)
                        return -EINVAL;
                last = first;
        }
        if (first > VF_INDEX_MAX || last > VF_INDEX_MAX)
                return -ERANGE;
        if (first > last)
                return -EDOM;
        *ret_first = first;
        *ret_last = last;
        return 0;
}

static int replace_string(char **dst, const char *v) {
        char *c = strdup(v);
        if (!c)
                return -ENOMEM;
        free(*dst);
        *dst = c;
        return 0;
}

static int parse_match_key(Parser *p, const char *key, const char *value) {
        PfConfig *c = p->config;
        size_t i;

        for (i = 0; i < ELEMENTSOF(match_keys); i++)
                if (streq(key, match_keys[i]))
                        break;
        if (i >= ELEMENTSOF(match_keys))
                return parser_error(p, p->line, "Unknown key %s= in section [Match]", quotable(key));
        /* Whether two values would mean "either" or "both" or "the last" cannot be told, and a guess
         * puts VFs on the wrong PF: a [Match] key is given once (a glob matches several names). */
        if (p->match_key_lines[i] > 0)
                return parser_error(p, p->line,
                                    "%s= given twice in [Match] (first on line %u): a [Match] key takes one "
                                    "value",
                                    key, p->match_key_lines[i]);
        p->match_key_lines[i] = p->line;

        if (isempty(value))
                return parser_error(p, p->line, "Empty %s=: a [Match] key needs a value", key);

        if (streq(key, "PciAddress")) {
                char a[PCI_ADDRESS_MAX];

                if (pci_address_normalize(value, a) < 0)
                        return parser_error(
                                p, p->line,
                                "Invalid PciAddress=%s: must be a PCI address like 0000:01:00.0 or "
                                "01:00.0",
                                value);
                return replace_string(&c->match_pci_address, a);
        }
        if (streq(key, "Interface"))
                return replace_string(&c->match_interface, value);
        if (streq(key, "Driver"))
                return replace_string(&c->match_driver, value);
        if (streq(key, "VendorDevice")) {
                if (parse_vendor_device(value, &c->match_vendor, &c->match_device) < 0)
                        return parser_error(p, p->line,
                                            "Invalid VendorDevice=%s: must be VENDOR:DEVICE in hex, like "
                                            "8086:1572",
                                            value);
                c->match_vendor_device = true;
                return 0;
        }
        if (streq(key, "PermanentMACAddress")) {
                if (policy_parse_mac(value, &c->match_permanent_mac_addr) < 0)
                        return parser_error(
                                p, p->line,
                                "Invalid PermanentMACAddress=%s: must be an Ethernet address like "
                                "aa:bb:cc:dd:ee:ff",
                                value);
                c->match_permanent_mac = true;
                return 0;
        }
        return parser_error(p, p->line, "Unknown key %s= in section [Match]", quotable(key));
}

static int parse_pf_key(Parser *p, const char *key, const char *value) {
        PfConfig *c = p->config;

        if (streq(key, "NumVFs")) {
                unsigned u;

                if (safe_atou(value, &u) < 0 || u > NUM_VFS_MAX)
                        return parser_error(p, p->line,
                                            "Invalid NumVFs=%s: must be a number between 0 and %u", value,
                                            NUM_VFS_MAX);
                c->num_vfs = (int) u;
                return 0;
        }
        if (streq(key, "DriversAutoprobe")) {
                int b = parse_boolean(value);
                if (b < 0)
                        return parser_error(p, p->line,
                                            "Invalid DriversAutoprobe=%s: must be a boolean (yes/no)",
                                            value);
                c->drivers_autoprobe = b;
                return 0;
        }
        if (streq(key, "LeaseDrivers")) {
                _cleanup_free_ char *copy = strdup(value);
                char *save = NULL;

                if (!copy)
                        return -ENOMEM;
                /* a list: each line adds, an empty one resets */
                if (isempty(value))
                        c->lease_drivers = strv_free(c->lease_drivers);
                for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                        if (isempty(w) || !policy_driver_name_is_valid(w))
                                return parser_error(p, p->line,
                                                    "Invalid LeaseDrivers=: '%s' is no driver name", w);
                        if (!strv_contains(c->lease_drivers, w) && strv_extend(&c->lease_drivers, w) < 0)
                                return -ENOMEM;
                }
                return 0;
        }
        return parser_error(p, p->line, "Unknown key %s= in section [PhysicalFunction]", quotable(key));
}

static int parse_vf_key(Parser *p, const char *key, const char *value) {
        _cleanup_free_ char *msg = NULL;
        PolicyKey k;
        int r;

        if (streq(key, "VirtualFunction")) {
                if (p->vf_started)
                        return parser_error(p, p->line,
                                            "VirtualFunction= given twice in one [VirtualFunction] section");
                r = parse_vf_range(value, &p->vf->first, &p->vf->last);
                if (r == -ENOMEM)
                        return r;
                if (r == -ERANGE)
                        return parser_error(p, p->line, "Invalid VirtualFunction=%s: VF indexes go up to %u",
                                            value, VF_INDEX_MAX);
                if (r == -EDOM)
                        return parser_error(
                                p, p->line,
                                "Invalid VirtualFunction=%s: the first index of a range must not "
                                "exceed the last",
                                value);
                if (r < 0)
                        return parser_error(p, p->line,
                                            "Invalid VirtualFunction=%s: must be an index N or a range N-M",
                                            value);
                p->vf_started = true;
                return 0;
        }

        k = policy_key_from_full_string(key);
        if (k < 0) {
                if (policy_key_from_string(key) >= 0)
                        return parser_error(
                                p, p->line,
                                "Unknown key %s= in section [VirtualFunction]; files use the full "
                                "name %s=",
                                key, policy_key_to_string(policy_key_from_string(key)));
                return parser_error(p, p->line, "Unknown key %s= in section [VirtualFunction]",
                                    quotable(key));
        }
        if (!p->vf_started)
                return parser_error(
                        p, p->line,
                        "%s= before VirtualFunction=: a [VirtualFunction] section must start with "
                        "VirtualFunction=N or N-M",
                        key);

        r = policy_set_from_string(&p->vf->policy, k, value, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return parser_error(p, p->line, "%s", msg ?: "Invalid value");
        if (k == POLICY_MIN_TX_RATE || k == POLICY_MAX_TX_RATE)
                p->vf_rate_line = p->line;
        return 0;
}

static int parser_close_vf(Parser *p) {
        _cleanup_free_ char *msg = NULL;
        int r;

        if (p->vf && !p->vf_started)
                return parser_error(p, p->vf->line,
                                    "[VirtualFunction] section without VirtualFunction=N or N-M");
        if (p->vf) {
                /* Checked when the section is complete, since the last value of a key is the one that
                 * counts; the only contradiction within one policy is between the two rates, so the
                 * error is on the line of the later of them. */
                r = policy_validate(&p->vf->policy, &msg);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return parser_error(p, p->vf_rate_line, "%s", msg);
        }
        p->vf = NULL;
        p->vf_started = false;
        p->vf_rate_line = 0;
        return 0;
}

static int parse_section_header(Parser *p, const IniLine *line) {
        PfConfig *c = p->config;
        const char *l = line->section;
        int r;

        r = parser_close_vf(p);
        if (r < 0)
                return r;

        if (line->type == INI_BAD_SECTION) {
                if (p->match_only) {
                        p->section = SECTION_UNKNOWN;
                        return 0;
                }
                /* not echoed: a line that is no well-formed header may be anything (see below) */
                return parser_error(p, p->line,
                                    "Invalid section header: a line starting with '[' must end with ']'");
        }

        if (streq(l, "Match")) {
                /* Two [Match] sections are two files run together, or conditions split in two: either
                 * way which PFs are meant cannot be told. */
                if (p->match_line > 0)
                        return parser_error(
                                p, p->line,
                                "Duplicate [Match] section (the first is on line %u): a file has "
                                "one [Match] section",
                                p->match_line);
                p->match_line = p->line;
                p->section = SECTION_MATCH;
                c->has_match_section = true;
                return 0;
        }
        if (p->match_only) {
                p->section = SECTION_UNKNOWN;
                return 0;
        }
        if (streq(l, "PhysicalFunction")) {
                p->section = SECTION_PF;
                return 0;
        }
        if (streq(l, "VirtualFunction")) {
                VfSection *v;

                if (c->n_vfs > VF_INDEX_MAX)
                        return parser_error(p, p->line, "Too many [VirtualFunction] sections");
                if (c->n_vfs >= p->n_vfs_allocated) {
                        size_t a = MAX(p->n_vfs_allocated * 2, (size_t) 8);

                        v = reallocarray(c->vfs, a, sizeof(VfSection));
                        if (!v)
                                return -ENOMEM;
                        c->vfs = v;
                        p->n_vfs_allocated = a;
                }
                p->vf = &c->vfs[c->n_vfs++];
                *p->vf = (VfSection){.line = p->line};
                p->vf_started = false;
                p->section = SECTION_VF;
                return 0;
        }
        return parser_error(p, p->line, "Unknown section [%s]", quotable(l));
}

static int parse_line(Parser *p, const IniLine *line) {
        const char *key = line->key, *value = line->value;

        p->line = line->number;
        if (line->type == INI_SECTION || line->type == INI_BAD_SECTION)
                return parse_section_header(p, line);

        if (p->match_only && p->section != SECTION_MATCH)
                return 0;

        /* What is wrong is said without quoting the line: a file may be a link to something that is no
         * configuration file at all (a secret), and the message ends up in the journal and in LastError,
         * which every bus user can read. Only lines that are well-formed are quoted, and only in parts:
         * a section's name, a key, and the value of a key sriovd knows. */
        if (line->type == INI_BAD_LINE)
                return parser_error(p, p->line, "Expected KEY=VALUE or a [Section] header, got neither");
        if (isempty(key))
                return parser_error(p, p->line, "Missing key before '='");

        switch (p->section) {
        case SECTION_NONE:
                /* before the first header nothing says this is a configuration file: not even the key
                 * is quoted (a line of base64 ends in '=') */
                return parser_error(p, p->line,
                                    "Assignment outside of any section: the file must start with a section "
                                    "header such as [Match]");
        case SECTION_MATCH:
                return parse_match_key(p, key, value);
        case SECTION_PF:
                return parse_pf_key(p, key, value);
        case SECTION_VF:
                return parse_vf_key(p, key, value);
        default:
                return 0;
        }
}

/* The next stretch at or after s that is not painted yet (union-find with path halving). */
static size_t stretch_next(size_t *next, size_t s) {
        while (next[s] != s) {
                next[s] = next[next[s]];
                s = next[s];
        }
        return s;
}

/* A policy is checked per section while parsing; sections that overlap can still combine into a
 * contradiction (MinTxRate from one, MaxTxRate from another), so check every stretch of VF indexes
 * that is covered by the same set of sections: the effective policy only changes at a section's first
 * index or right after its last.
 *
 * Merging every section into every stretch is quadratic (4096 overlapping sections took seconds).
 * Instead, for each key, the sections are taken from the last to the first, and each paints the key's
 * value on the stretches it covers that no later section painted yet: the later section wins, as in
 * pf_config_vf_policy(), and each stretch is painted once per key. */
static int parser_check_merged(Parser *p) {
        const PfConfig *c = p->config;
        _cleanup_free_ unsigned *stretch_of = NULL, *starts = NULL;
        _cleanup_free_ size_t *next = NULL, *owner = NULL;
        _cleanup_free_ VfPolicy *merged = NULL;
        _cleanup_free_ bool *boundary = NULL;
        size_t n = 0;

        if (c->n_vfs < 2)
                return 0;

        boundary = calloc(VF_INDEX_MAX + 2, sizeof(bool));
        stretch_of = calloc(VF_INDEX_MAX + 1, sizeof(unsigned));
        if (!boundary || !stretch_of)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_vfs; i++) {
                boundary[c->vfs[i].first] = true;
                boundary[c->vfs[i].last + 1] = true;
        }
        for (unsigned x = 0; x <= VF_INDEX_MAX; x++) {
                if (x == 0 || boundary[x])
                        n++;
                stretch_of[x] = n - 1;
        }

        starts = calloc(n, sizeof(unsigned));
        next = calloc(n + 1, sizeof(size_t));
        owner = calloc(n, sizeof(size_t));
        merged = calloc(n, sizeof(VfPolicy));
        if (!starts || !next || !owner || !merged)
                return -ENOMEM;
        for (unsigned x = VF_INDEX_MAX + 1; x-- > 0;)
                starts[stretch_of[x]] = x;

        /* one pass per key, and a last one (key == _POLICY_KEY_MAX) for the last section covering each
         * stretch, whose line the error names */
        for (PolicyKey k = 0; k <= _POLICY_KEY_MAX; k++) {
                for (size_t s = 0; s <= n; s++)
                        next[s] = s;
                for (size_t i = c->n_vfs; i-- > 0;) {
                        const VfSection *v = &c->vfs[i];
                        size_t last = stretch_of[v->last];

                        if (k < _POLICY_KEY_MAX && !POLICY_HAS(&v->policy, k))
                                continue;
                        for (size_t s = stretch_next(next, stretch_of[v->first]); s <= last;
                             s = stretch_next(next, s)) {
                                if (k < _POLICY_KEY_MAX)
                                        policy_copy_key(&merged[s], &v->policy, k);
                                else
                                        owner[s] = i + 1;
                                next[s] = s + 1;
                        }
                }
        }

        for (size_t s = 0; s < n; s++) {
                _cleanup_free_ char *msg = NULL;
                int r;

                if (owner[s] == 0) /* no section covers it */
                        continue;
                r = policy_validate(&merged[s], &msg);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return parser_error(p, c->vfs[owner[s] - 1].line,
                                            "VirtualFunction %u: %s (from overlapping sections)", starts[s],
                                            msg);
        }
        return 0;
}

static int parse_text(Parser *p, const char *text, bool require_match) {
        _cleanup_(ini_lexer_done) IniLexer lexer = {};
        IniLine line;
        int r;

        r = ini_lexer_init(&lexer, text);
        if (r < 0)
                return r;

        while (ini_lexer_next(&lexer, &line) > 0) {
                r = parse_line(p, &line);
                if (r < 0)
                        return r;
        }

        r = parser_close_vf(p);
        if (r < 0)
                return r;

        if (p->match_only)
                return 0;

        if (require_match && !pf_config_has_match_key(p->config))
                /* Without a [Match] key a file would apply to every PF; refusing it is safer. */
                return parser_error(p, 1, "[Match] section with at least one key is required");

        return parser_check_merged(p);
}

static PfConfig *parse_partial(const char *path, const char *text) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        Parser p = {.path = path, .match_only = true};
        int r;

        c = pf_config_new(path);
        if (!c)
                return NULL;
        p.config = c;
        r = parse_text(&p, text, false);
        free(p.error);
        if (r < 0 || !pf_config_has_match_key(c))
                return NULL;
        return TAKE_PTR(c);
}

int pf_config_parse_string(const char *path, const char *text, bool require_match, PfConfig **ret,
                           char **ret_error, PfConfig **ret_partial) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        Parser p = {.path = path ?: "<string>"};
        int r;

        if (!text)
                return -EINVAL;

        c = pf_config_new(path);
        if (!c)
                return -ENOMEM;
        p.config = c;

        r = parse_text(&p, text, require_match);
        if (r < 0) {
                if (r == -EBADMSG) {
                        if (ret_error)
                                *ret_error = TAKE_PTR(p.error);
                        if (ret_partial)
                                *ret_partial = parse_partial(p.path, text);
                }
                free(p.error);
                return r;
        }

        if (ret)
                *ret = TAKE_PTR(c);
        return 0;
}

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
