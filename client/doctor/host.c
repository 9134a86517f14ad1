/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the host below d->root, and the small parsers the checks share. */
#include <ctype.h>
#include <dirent.h>
#include <sys/stat.h>

#include "doctor-internal.h"

char *doctor_path(const Doctor *d, const char *path) {
        if (!d->root)
                return strdup(path);
        return path_join(d->root, path);
}

int doctor_read_file(const Doctor *d, const char *path, char **ret) {
        _cleanup_free_ char *p = doctor_path(d, path);

        if (!p)
                return -ENOMEM;
        return read_full_file(p, 16 * 1024 * 1024, ret, NULL);
}

int doctor_read_attr(const Doctor *d, const char *path, char **ret) {
        _cleanup_free_ char *p = doctor_path(d, path);

        if (!p)
                return -ENOMEM;
        return read_one_line_file(p, ret);
}

int doctor_read_attr_uint(const Doctor *d, const char *path, unsigned *ret) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = doctor_read_attr(d, path, &s);
        if (r < 0)
                return r;
        return safe_atou(strstrip(s), ret);
}

bool doctor_exists(const Doctor *d, const char *path) {
        _cleanup_free_ char *p = doctor_path(d, path);

        return p && access(p, F_OK) >= 0;
}

bool doctor_is_executable(const Doctor *d, const char *path) {
        _cleanup_free_ char *p = doctor_path(d, path);
        struct stat st;

        return p && stat(p, &st) >= 0 && (st.st_mode & 0111);
}

int doctor_list_dir(const Doctor *d, const char *path, char ***ret) {
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

int doctor_read_link(const Doctor *d, const char *path, char **ret) {
        _cleanup_free_ char *p = doctor_path(d, path);

        if (!p)
                return -ENOMEM;
        return readlink_value(p, ret);
}

/* --- small parsers ------------------------------------------------------------------------------ */

int split_words(const char *s, const char *extra, char ***ret) {
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

const char *words_value(char **words, const char *key) {
        const char *found = NULL;

        for (char **w = words; w && *w; w++) {
                const char *v = startswith(*w, key);
                if (v && *v == '=')
                        found = v + 1;
        }
        return found;
}

bool list_has(const char *list, const char *item) {
        size_t l = strlen(item);

        for (const char *p = list; p && *p;) {
                const char *e = strchrnul(p, ',');

                if ((size_t) (e - p) == l && strneq(p, item, l))
                        return true;
                p = *e ? e + 1 : e;
        }
        return false;
}
