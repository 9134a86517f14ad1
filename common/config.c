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
        free(c->network_managed_vfs);
        free(c->vfs);
        free(c);
        return NULL;
}

bool pf_config_vf_network_managed(const PfConfig *c, unsigned index) {
        for (size_t i = 0; c && i < c->n_network_managed_vfs; i++)
                if (index >= c->network_managed_vfs[i].first && index <= c->network_managed_vfs[i].last)
                        return true;
        return false;
}

bool pf_config_has_match_key(const PfConfig *c) {
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
        if (streq(key, "NetworkManagedVFs")) {
                _cleanup_free_ char *copy = strdup(value);
                char *save = NULL;

                if (!copy)
                        return -ENOMEM;
                /* a list, like LeaseDrivers= */
                if (isempty(value)) {
                        c->network_managed_vfs = mfree(c->network_managed_vfs);
                        c->n_network_managed_vfs = 0;
                }
                for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
                        VfRange range, *a;
                        int r = parse_vf_range(w, &range.first, &range.last);

                        if (r == -ENOMEM)
                                return r;
                        if (r == -ERANGE)
                                return parser_error(
                                        p, p->line,
                                        "Invalid NetworkManagedVFs=: '%s': VF indexes go up to %u", w,
                                        VF_INDEX_MAX);
                        if (r == -EDOM)
                                return parser_error(p, p->line,
                                                    "Invalid NetworkManagedVFs=: '%s': the first index of a "
                                                    "range must not exceed the last",
                                                    w);
                        if (r < 0)
                                return parser_error(p, p->line,
                                                    "Invalid NetworkManagedVFs=: '%s' is no VF index N or "
                                                    "range N-M",
                                                    w);
                        a = reallocarray(c->network_managed_vfs, c->n_network_managed_vfs + 1, sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        c->network_managed_vfs = a;
                        c->network_managed_vfs[c->n_network_managed_vfs++] = range;
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
