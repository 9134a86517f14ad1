/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <time.h>

#include "lease.h"
#include "log.h"
#include "names.h"

#define LEASE_DIR "leases"
#define LEASE_SUFFIX ".lease"
#define LEASE_JOURNAL_MAX (64 * 1024)

static int lease_set_id(Lease *l, const char *id) {
        if (id != l->id)
                snprintf(l->id, sizeof l->id, "%s", id);
        free(l->object_path);
        return asprintf_safe(&l->object_path, SRIOVD_LEASE_PREFIX "/%s", l->id);
}

static Lease *lease_alloc(LeaseTable *t) {
        Lease *l = calloc(1, sizeof *l);

        if (!l)
                return NULL;
        l->owner_uid = UID_INVALID;
        object_mark_init(&l->mark, t->changes, OBJECT_LEASE, l, NULL);
        return l;
}

int lease_new(LeaseTable *t, Lease **ret) {
        _cleanup_(lease_freep) Lease *l = lease_alloc(t);
        char id[SD_ID128_STRING_MAX];
        sd_id128_t rnd;
        struct timespec ts;
        int r;

        if (!l)
                return -ENOMEM;
        r = sd_id128_randomize(&rnd);
        if (r < 0)
                return r;
        r = lease_set_id(l, sd_id128_to_string(rnd, id));
        if (r < 0)
                return r;
        (void) clock_gettime(CLOCK_REALTIME, &ts);
        l->created_at = (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
        *ret = TAKE_PTR(l);
        return 0;
}

Lease *lease_free(Lease *l) {
        if (!l)
                return NULL;
        object_mark_done(&l->mark);
        peer_watch_free(l->owner_watch);
        free(l->object_path);
        free(l->consumer);
        free(l->owner);
        free(l);
        return NULL;
}

int lease_table_init(LeaseTable *t, ChangeQueue *changes, const char *state_dir) {
        *t = (LeaseTable){.changes = changes};
        if (state_dir && !(t->dir = path_join(state_dir, LEASE_DIR)))
                return -ENOMEM;
        return 0;
}

void lease_table_done(LeaseTable *t) {
        for (size_t i = 0; i < t->n_leases; i++)
                lease_free(t->leases[i]);
        t->leases = mfree(t->leases);
        t->n_leases = 0;
        t->dir = mfree(t->dir);
}

Lease *lease_table_find(LeaseTable *t, const char *id) {
        for (size_t i = 0; i < t->n_leases; i++)
                if (streq(t->leases[i]->id, id))
                        return t->leases[i];
        return NULL;
}

Lease *lease_table_find_by_path(LeaseTable *t, const char *path) {
        for (size_t i = 0; i < t->n_leases; i++)
                if (streq(t->leases[i]->object_path, path))
                        return t->leases[i];
        return NULL;
}

Lease *lease_table_find_for_vf(LeaseTable *t, const char *pf_address, unsigned index) {
        for (size_t i = 0; i < t->n_leases; i++)
                if (!t->leases[i]->vf_gone && t->leases[i]->vf_index == index &&
                    streq(t->leases[i]->pf_address, pf_address))
                        return t->leases[i];
        return NULL;
}

void lease_table_vf_gone(LeaseTable *t, const char *pf_address, unsigned index) {
        Lease *l;

        /* a VF created again at this index is another VF: the lease's options and recorded state are
         * not for it */
        while ((l = lease_table_find_for_vf(t, pf_address, index))) {
                log_info("Lease %s of VF %u on %s (%s): its VF was destroyed", l->id, l->vf_index,
                         l->pf_address, strempty(l->consumer));
                l->vf_gone = true;
                l->layer = (VfPolicy){};
                lease_journal_remove(t, l);
                object_mark_changed(&l->mark);
        }
}

int lease_table_add(LeaseTable *t, Lease *l) {
        Lease **a = reallocarray(t->leases, t->n_leases + 1, sizeof *a);

        if (!a)
                return -ENOMEM;
        t->leases = a;
        t->leases[t->n_leases++] = l;
        l->mark.path = l->object_path;
        object_mark_added(&l->mark);
        return 0;
}

void lease_table_remove(LeaseTable *t, Lease *l) {
        for (size_t i = 0; i < t->n_leases; i++)
                if (t->leases[i] == l) {
                        memmove(t->leases + i, t->leases + i + 1, (t->n_leases - i - 1) * sizeof *t->leases);
                        t->n_leases--;
                        object_mark_removed(&l->mark);
                        return;
                }
}

/* Values are written escaped (backslash, and every control character as \xNN): whatever a caller
 * managed to put into a string, it cannot start a line of its own in the journal. The reader strips
 * blanks at the end of a line, so a value's own trailing blanks are escaped too. */
static void write_escaped(FILE *f, const char *key, const char *value) {
        fprintf(f, "%s=", key);
        for (const unsigned char *p = (const unsigned char *) strempty(value); *p; p++)
                if (*p == '\\')
                        fputs("\\\\", f);
                else if (*p < 0x20 || *p == 0x7f || (*p == ' ' && p[strspn((const char *) p, " ")] == 0))
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        fputc('\n', f);
}

static int unescape(const char *s, char **ret) {
        _cleanup_free_ char *out = malloc(strlen(s) + 1);
        char *o = out;

        if (!out)
                return -ENOMEM;
        for (const char *p = s; *p; p++) {
                unsigned v;

                if (*p != '\\') {
                        *o++ = *p;
                        continue;
                }
                if (p[1] == '\\') {
                        *o++ = '\\';
                        p++;
                } else if (p[1] == 'x' && isxdigit((unsigned char) p[2]) && isxdigit((unsigned char) p[3]) &&
                           sscanf(p + 2, "%2x", &v) == 1 && v != 0) {
                        *o++ = (char) v;
                        p += 3;
                } else
                        return -EINVAL;
        }
        *o = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

static void format_policy(FILE *f, const char *section, const VfPolicy *p) {
        fprintf(f, "\n[%s]\n", section);
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                _cleanup_free_ char *v = NULL;
                if (POLICY_HAS(p, k) && policy_value_to_string(p, k, &v) >= 0)
                        write_escaped(f, policy_key_to_string(k), v);
        }
}

int lease_journal_save(LeaseTable *t, const Lease *l) {
        _cleanup_free_ char *name = NULL, *text = NULL;
        size_t size = 0;
        FILE *f;

        if (!t->dir)
                return -ENOENT;
        if (mkdir(t->dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        f = open_memstream(&text, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "# sriovd lease journal, do not "
                "edit\n[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=%u\n",
                l->id, l->pf_address, l->vf_index);
        write_escaped(f, "Consumer", l->consumer);
        write_escaped(f, "Owner", l->owner);
        write_escaped(f, "OwnerBus", l->owner_bus_id);
        if (l->owner_uid != UID_INVALID)
                fprintf(f, "OwnerUid=%u\n", (unsigned) l->owner_uid);
        fprintf(f, "Persistent=%s\nCreatedAt=%" PRIu64 "\nApplied=%s\n", l->persistent ? "yes" : "no",
                l->created_at, l->applied ? "yes" : "no");
        format_policy(f, "Saved", &l->saved);
        format_policy(f, "Options", &l->options);
        if (fclose(f) != 0)
                return -ENOMEM;
        name = strjoin(l->id, LEASE_SUFFIX);
        if (!name)
                return -ENOMEM;
        return write_file_atomic(t->dir, name, text);
}

void lease_journal_remove(LeaseTable *t, const Lease *l) {
        _cleanup_free_ char *name = NULL;
        int r;

        if (!t->dir)
                return;
        name = strjoin(l->id, LEASE_SUFFIX);
        if (!name)
                return (void) log_oom();
        /* synced: a lease released must not come back after a power loss */
        r = unlink_durable(t->dir, name);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to remove lease journal %s/%s, ignoring: %m", t->dir, name);
}

typedef enum JournalSection {
        SECTION_NONE,
        SECTION_LEASE,
        SECTION_SAVED,
        SECTION_OPTIONS,
        _SECTION_MAX,
} JournalSection;

static const char *const section_names[_SECTION_MAX] = {
        [SECTION_LEASE] = "[Lease]",
        [SECTION_SAVED] = "[Saved]",
        [SECTION_OPTIONS] = "[Options]",
};

typedef enum LeaseKey {
        KEY_ID,
        KEY_PF,
        KEY_VF,
        KEY_CONSUMER,
        KEY_OWNER,
        KEY_OWNER_BUS,
        KEY_OWNER_UID,
        KEY_PERSISTENT,
        KEY_CREATED_AT,
        KEY_APPLIED,
        _KEY_MAX,
} LeaseKey;

static const char *const lease_keys[_KEY_MAX] = {
        [KEY_ID] = "Id",
        [KEY_PF] = "PhysicalFunction",
        [KEY_VF] = "VirtualFunction",
        [KEY_CONSUMER] = "Consumer",
        [KEY_OWNER] = "Owner",
        [KEY_OWNER_BUS] = "OwnerBus",
        [KEY_OWNER_UID] = "OwnerUid",
        [KEY_PERSISTENT] = "Persistent",
        [KEY_CREATED_AT] = "CreatedAt",
        [KEY_APPLIED] = "Applied",
};

static bool is_id(const char *s) {
        return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static int parse_lease_key(Lease *l, LeaseKey k, const char *value) {
        char a[sizeof l->pf_address];
        unsigned u;
        int b;

        switch (k) {
        case KEY_ID:
                if (!is_id(value))
                        return -EINVAL;
                memcpy(l->id, value, sizeof l->id);
                return 0;
        case KEY_PF:
                if (pci_address_normalize(value, a) < 0)
                        return -EINVAL;
                memcpy(l->pf_address, a, sizeof a);
                return 0;
        case KEY_VF:
                return safe_atou(value, &l->vf_index);
        case KEY_CONSUMER:
                if (!string_is_safe(value, LEASE_CONSUMER_MAX))
                        return -EINVAL;
                return free_and_strdup(&l->consumer, isempty(value) ? NULL : value) < 0 ? -ENOMEM : 0;
        case KEY_OWNER:
                if (!isempty(value) && (value[0] != ':' || !string_is_safe(value, 256)))
                        return -EINVAL;
                return free_and_strdup(&l->owner, isempty(value) ? NULL : value) < 0 ? -ENOMEM : 0;
        case KEY_OWNER_BUS:
                if (!isempty(value) && !is_id(value))
                        return -EINVAL;
                snprintf(l->owner_bus_id, sizeof l->owner_bus_id, "%s", value);
                return 0;
        case KEY_OWNER_UID:
                if (safe_atou(value, &u) < 0 || (uid_t) u == UID_INVALID)
                        return -EINVAL;
                l->owner_uid = (uid_t) u;
                return 0;
        case KEY_PERSISTENT:
        case KEY_APPLIED:
                b = parse_boolean(value);
                if (b < 0)
                        return b;
                if (k == KEY_PERSISTENT)
                        l->persistent = b;
                else
                        l->applied = b;
                return 0;
        case KEY_CREATED_AT:
                if (isempty(value) || strspn(value, "0123456789") != strlen(value) || strlen(value) > 19)
                        return -EINVAL;
                l->created_at = strtoull(value, NULL, 10);
                return 0;
        default:
                return -EINVAL;
        }
}

/* What one pass over a journal found: the first error, and which keys were well-formed and seen
 * once, for salvaging a file that is not. */
typedef struct JournalParse {
        char *error;
        unsigned sections_seen;
        unsigned keys_seen, keys_bad;
        uint32_t saved_seen, saved_bad;
        uint32_t options_seen;
} JournalParse;

static void parse_error(JournalParse *jp, unsigned line, const char *fmt, ...) _printf_(3, 4);
static void parse_error(JournalParse *jp, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        if (jp->error)
                return;
        va_start(ap, fmt);
        if (vasprintf(&m, fmt, ap) < 0)
                m = NULL;
        va_end(ap);
        (void) asprintf_safe(&jp->error, "line %u: %s", line, strempty(m));
}

static void parse_lease_line(Lease *l, JournalParse *jp, unsigned line, const char *key, const char *value) {
        LeaseKey k;

        for (k = 0; k < _KEY_MAX; k++)
                if (streq(key, lease_keys[k]))
                        break;
        if (k == _KEY_MAX)
                return parse_error(jp, line, "unknown key %s in [Lease]", key);
        if (jp->keys_seen & (1U << k)) {
                jp->keys_bad |= 1U << k;
                return parse_error(jp, line, "%s= given twice", key);
        }
        jp->keys_seen |= 1U << k;
        if (parse_lease_key(l, k, value) < 0) {
                jp->keys_bad |= 1U << k;
                return parse_error(jp, line, "invalid %s=", key);
        }
}

static void parse_policy_line(Lease *l, JournalParse *jp, JournalSection section, unsigned line,
                              const char *key, const char *value) {
        VfPolicy *p = section == SECTION_SAVED ? &l->saved : &l->options;
        uint32_t *seen = section == SECTION_SAVED ? &jp->saved_seen : &jp->options_seen;
        PolicyKey k = policy_key_from_full_string(key);
        _cleanup_free_ char *e = NULL;
        struct ether_addr a;

        if (k < 0)
                return parse_error(jp, line, "unknown policy key %s", key);
        if (*seen & (UINT32_C(1) << k)) {
                if (section == SECTION_SAVED)
                        jp->saved_bad |= UINT32_C(1) << k;
                return parse_error(jp, line, "%s= given twice", key);
        }
        *seen |= UINT32_C(1) << k;
        /* A VF without an address of its own (igb's, once created) reads 00:00:00:00:00:00, and the
         * release puts that back: [Saved] may hold it, though no lease may ask for it. */
        if (section == SECTION_SAVED && k == POLICY_MAC_ADDRESS && policy_parse_mac(value, &a) >= 0 &&
            memcmp(&a, &(const struct ether_addr){}, sizeof a) == 0) {
                p->mac = a;
                p->set |= UINT32_C(1) << k;
                return;
        }
        if (policy_set_from_string(p, k, value, &e) < 0) {
                if (section == SECTION_SAVED)
                        jp->saved_bad |= UINT32_C(1) << k;
                return parse_error(jp, line, "%s", e ?: "invalid value");
        }
}

/* Only a file whose PF and VF are beyond doubt may still restore its VF: its recorded keys that were
 * well-formed and given once, nothing else. */
static Lease *lease_salvage(LeaseTable *t, Lease *l, const JournalParse *jp) {
        unsigned needed = (1U << KEY_PF) | (1U << KEY_VF);
        Lease *s;
        char id[SD_ID128_STRING_MAX];
        sd_id128_t rnd;

        if ((jp->keys_seen & needed) != needed || (jp->keys_bad & needed) || jp->saved_seen == 0)
                return NULL;
        s = lease_alloc(t);
        if (!s)
                return NULL;
        if (sd_id128_randomize(&rnd) < 0 || lease_set_id(s, sd_id128_to_string(rnd, id)) < 0)
                return lease_free(s);
        memcpy(s->pf_address, l->pf_address, sizeof s->pf_address);
        s->vf_index = l->vf_index;
        s->salvaged = true;
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++)
                if (POLICY_HAS(&l->saved, k) && !(jp->saved_bad & (UINT32_C(1) << k)))
                        policy_copy_key(&s->saved, &l->saved, k);
        return s;
}

int lease_journal_parse_text(LeaseTable *t, const char *text, const char *expected_id, Lease **ret,
                             char **ret_error) {
        _cleanup_(lease_freep) Lease *l = NULL;
        _cleanup_free_ char *copy = strdup(text);
        JournalParse jp = {};
        JournalSection section = SECTION_NONE;
        unsigned line = 0;
        char *next = copy;

        if (!copy)
                return -ENOMEM;
        l = lease_alloc(t);
        if (!l)
                return -ENOMEM;

        while (next) {
                _cleanup_free_ char *value = NULL;
                char *s = next, *eq;
                JournalSection sec;

                next = strchr(s, '\n');
                if (next)
                        *next++ = 0;
                line++;
                s = strstrip(s);
                if (isempty(s) || s[0] == '#')
                        continue;
                if (s[0] == '[') {
                        for (sec = SECTION_LEASE; sec < _SECTION_MAX; sec++)
                                if (streq(s, section_names[sec]))
                                        break;
                        if (sec == _SECTION_MAX)
                                parse_error(&jp, line, "unknown section %s", s);
                        else if (jp.sections_seen & (1U << sec))
                                parse_error(&jp, line, "section %s given twice", s);
                        else if (sec == SECTION_LEASE && jp.sections_seen)
                                parse_error(&jp, line, "[Lease] must come first");
                        else {
                                jp.sections_seen |= 1U << sec;
                                section = sec;
                                continue;
                        }
                        section = SECTION_NONE; /* what follows a refused header belongs nowhere */
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq || section == SECTION_NONE) {
                        parse_error(&jp, line, "expected a key=value in a section");
                        continue;
                }
                *eq = 0;
                if (unescape(eq + 1, &value) < 0) {
                        parse_error(&jp, line, "invalid escape in %s=", s);
                        if (section == SECTION_LEASE)
                                jp.keys_bad |= jp.keys_seen; /* nothing in [Lease] is beyond doubt now */
                        continue;
                }
                if (section == SECTION_LEASE)
                        parse_lease_line(l, &jp, line, s, value);
                else
                        parse_policy_line(l, &jp, section, line, s, value);
        }

        if (!jp.error && (!(jp.keys_seen & (1U << KEY_ID)) || !(jp.keys_seen & (1U << KEY_PF)) ||
                          !(jp.keys_seen & (1U << KEY_VF))))
                (void) asprintf_safe(&jp.error, "Id=, PhysicalFunction= or VirtualFunction= missing");
        if (!jp.error && expected_id && !streq(l->id, expected_id))
                (void) asprintf_safe(&jp.error, "Id=%s is not the file's name", l->id);
        if (jp.error) {
                *ret = lease_salvage(t, l, &jp);
                *ret_error = TAKE_PTR(jp.error);
                return -EBADMSG;
        }
        if (lease_set_id(l, l->id) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

/* A journal that cannot be used goes aside under a name of its own, for whoever wants to look. */
static void journal_move_aside(LeaseTable *t, const char *path, const char *why, bool salvaged) {
        _cleanup_free_ char *aside = NULL;
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        (void) asprintf_safe(&aside, "%s.corrupt-%" PRIu64, path,
                             (uint64_t) (ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000ULL));
        log_error("Failed to read lease journal %s (%s), moved aside to %s%s", path, why, strempty(aside),
                  salvaged ? "; restoring its VF from what it recorded" : "");
        if (aside && rename(path, aside) >= 0)
                (void) fsync_directory(t->dir);
}

int lease_journal_load(LeaseTable *t, void (*found)(Lease *l, bool corrupt, void *userdata),
                       void *userdata) {
        struct dirent *de;
        DIR *d;
        int r;

        if (!t->dir)
                return 0;
        r = remove_stale_temporary_files(t->dir);
        if (r > 0)
                log_info("Removed %i temporary files an interrupted write left in %s", r, t->dir);
        d = opendir(t->dir);
        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", t->dir);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *error = NULL, *text = NULL, *id = NULL;
                Lease *l = NULL, *other;
                size_t len = strlen(de->d_name);

                if (len <= strlen(LEASE_SUFFIX) ||
                    !streq(de->d_name + len - strlen(LEASE_SUFFIX), LEASE_SUFFIX))
                        continue;
                path = path_join(t->dir, de->d_name);
                id = strndup(de->d_name, len - strlen(LEASE_SUFFIX));
                if (!path || !id)
                        break;
                r = read_full_file(path, LEASE_JOURNAL_MAX, &text, NULL);
                if (r >= 0)
                        r = lease_journal_parse_text(t, text, id, &l, &error);
                if (r < 0) {
                        journal_move_aside(t, path, error ?: strerror(-r), l);
                        if (l)
                                found(l, true, userdata);
                        continue;
                }
                if (lease_table_find(t, l->id)) {
                        lease_free(l);
                        continue;
                }
                /* one VF, one holder: a second journal for a VF (never written by sriovd) is neither
                 * kept nor restored, which would undo the first lease's options under its holder */
                other = lease_table_find_for_vf(t, l->pf_address, l->vf_index);
                if (other && !other->salvaged) {
                        _cleanup_free_ char *why = NULL;

                        (void) asprintf_safe(&why, "VF %u of %s is held by lease %s already", l->vf_index,
                                             l->pf_address, other->id);
                        journal_move_aside(t, path, strempty(why), false);
                        lease_free(l);
                        continue;
                }
                found(l, false, userdata);
        }
        closedir(d);
        return 0;
}
