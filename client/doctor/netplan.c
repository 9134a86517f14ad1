/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fnmatch.h>

#include "doctor-internal.h"

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
int netplan_check_pf(Doctor *d, const PfInfo *pf, const ConfigFiles *files, size_t *n_found) {
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
                        r = doctor_add_result(
                                d, DOCTOR_SECTION_PF, "conflict", pf->address, DOCTOR_FAIL,
                                doctor_fixf(
                                        "netplan sets the VF count of this PF on every boot and netplan "
                                        "apply.\n"
                                        "Remove virtual-function-count (and the VFs that name %s in link:) "
                                        "from\n"
                                        "%s, then run netplan apply; or leave this PF to netplan and "
                                        "remove\n"
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
