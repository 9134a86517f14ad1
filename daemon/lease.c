/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <time.h>

#include "lease.h"
#include "log.h"
#include "names.h"

#define LEASE_DIR "leases"
#define LEASE_SUFFIX ".lease"

static int lease_set_id(Lease *l, const char *id) {
        if (id != l->id)
                snprintf(l->id, sizeof l->id, "%s", id);
        free(l->object_path);
        return asprintf_safe(&l->object_path, SRIOVD_LEASE_PREFIX "/%s", l->id);
}

static Lease *lease_alloc(LeaseTable *t) {
        Lease *l = calloc(1, sizeof *l);

        if (l)
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
        sd_bus_track_unref(l->track);
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
                if (t->leases[i]->vf_index == index && streq(t->leases[i]->pf_address, pf_address))
                        return t->leases[i];
        return NULL;
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

static void format_policy(FILE *f, const char *section, const VfPolicy *p) {
        fprintf(f, "\n[%s]\n", section);
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                _cleanup_free_ char *v = NULL;
                if (POLICY_HAS(p, k) && policy_value_to_string(p, k, &v) >= 0)
                        fprintf(f, "%s=%s\n", policy_key_to_string(k), v);
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
                "edit\n[Lease]\nId=%s\nPhysicalFunction=%s\nVirtualFunction=%u\n"
                "Consumer=%s\nOwner=%s\nPersistent=%s\nCreatedAt=%" PRIu64 "\nApplied=%s\n",
                l->id, l->pf_address, l->vf_index, strempty(l->consumer), strempty(l->owner),
                l->persistent ? "yes" : "no", l->created_at, l->applied ? "yes" : "no");
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
        _cleanup_free_ char *path = NULL;

        if (!t->dir)
                return;
        path = strjoin(t->dir, "/", l->id, LEASE_SUFFIX);
        if (path && unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Failed to remove lease journal %s, ignoring: %m", path);
}

static int lease_parse(LeaseTable *t, const char *path, Lease **ret, char **ret_error) {
        _cleanup_(lease_freep) Lease *l = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        enum { NONE, LEASE, SAVED, OPTIONS } section = NONE;
        size_t n = 0;
        unsigned lineno = 0;
        bool have_id = false, have_pf = false, have_vf = false;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        l = lease_alloc(t);
        if (!l)
                return -ENOMEM;

        while (getline(&line, &n, f) >= 0) {
                char *s = strstrip(line), *eq;
                const char *key, *value;
                int r = 0;

                lineno++;
                if (isempty(s) || s[0] == '#')
                        continue;
                if (streq(s, "[Lease]") || streq(s, "[Saved]") || streq(s, "[Options]")) {
                        section = s[1] == 'L' ? LEASE : s[1] == 'S' ? SAVED : OPTIONS;
                        continue;
                }
                eq = strchr(s, '=');
                if (!eq || section == NONE)
                        return asprintf_safe(ret_error, "%s:%u: expected a key=value in a section", path,
                                             lineno),
                               -EBADMSG;
                *eq = 0;
                key = s;
                value = eq + 1;

                if (section == LEASE) {
                        if (streq(key, "Id")) {
                                have_id = strlen(value) == 32 && strspn(value, "0123456789abcdef") == 32;
                                snprintf(l->id, sizeof l->id, "%s", value);
                        } else if (streq(key, "PhysicalFunction")) {
                                char a[13];
                                have_pf = pci_address_normalize(value, a) >= 0;
                                memcpy(l->pf_address, a, sizeof a);
                        } else if (streq(key, "VirtualFunction"))
                                have_vf = safe_atou(value, &l->vf_index) >= 0;
                        else if (streq(key, "Consumer"))
                                r = free_and_strdup(&l->consumer, value);
                        else if (streq(key, "Owner"))
                                r = free_and_strdup(&l->owner, isempty(value) ? NULL : value);
                        else if (streq(key, "Persistent"))
                                l->persistent = parse_boolean(value) > 0;
                        else if (streq(key, "Applied"))
                                l->applied = parse_boolean(value) > 0;
                        else if (streq(key, "CreatedAt"))
                                l->created_at = strtoull(value, NULL, 10);
                } else {
                        PolicyKey k = policy_key_from_full_string(key);
                        _cleanup_free_ char *e = NULL;

                        if (k < 0 || policy_set_from_string(section == SAVED ? &l->saved : &l->options, k,
                                                            value, &e) < 0)
                                return asprintf_safe(ret_error, "%s:%u: %s", path, lineno,
                                                     e ?: "unknown policy key"),
                                       -EBADMSG;
                }
                if (r < 0)
                        return r;
        }
        if (!have_id || !have_pf || !have_vf)
                return asprintf_safe(ret_error, "%s: Id=, PhysicalFunction= or VirtualFunction= missing",
                                     path),
                       -EBADMSG;
        if (lease_set_id(l, l->id) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int lease_journal_load(LeaseTable *t, void (*found)(Lease *l, void *userdata), void *userdata) {
        struct dirent *de;
        DIR *d;

        if (!t->dir)
                return 0;
        d = opendir(t->dir);
        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", t->dir);
        while ((de = readdir(d))) {
                _cleanup_free_ char *path = NULL, *error = NULL;
                Lease *l = NULL;
                size_t len = strlen(de->d_name);
                int r;

                if (len <= strlen(LEASE_SUFFIX) ||
                    !streq(de->d_name + len - strlen(LEASE_SUFFIX), LEASE_SUFFIX))
                        continue;
                path = path_join(t->dir, de->d_name);
                if (!path)
                        break;
                r = lease_parse(t, path, &l, &error);
                if (r < 0) {
                        _cleanup_free_ char *aside = strjoin(path, ".corrupt");
                        log_error("Failed to read lease journal %s (%s), moved aside", path,
                                  error ?: strerror(-r));
                        if (aside)
                                (void) rename(path, aside);
                        continue;
                }
                if (lease_table_find(t, l->id)) {
                        lease_free(l);
                        continue;
                }
                found(l, userdata);
        }
        closedir(d);
        return 0;
}
