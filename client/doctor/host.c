/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading the host below d->root, and the small parsers the checks share. */
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include "doctor-internal.h"

char *doctor_path(const Doctor *d, const char *path) {
        if (!d->root)
                return strdup(path);
        return path_join(d->root, path);
}

/* The target of the link at p, whole. */
static int readlink_full(const char *p, char **ret) {
        char buf[PATH_MAX];
        ssize_t k;

        k = readlink(p, buf, sizeof buf - 1);
        if (k < 0)
                return negative_errno();
        buf[k] = 0;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* Links are followed here, not by the kernel (read_full_file() follows none): an absolute link is
 * resolved below d->root, so that in a tree given with --root it does not lead out to the host's
 * files, and wherever it ends only a regular file is read. Links are common among the files doctor
 * reads (RHEL's /etc/rc.local -> rc.d/rc.local, masks), and the tools that own those files follow
 * them: so does doctor. A link to /dev/null is a mask, as systemd and udev read it: -ENOENT, like no
 * file at all. */
int doctor_read_file(const Doctor *d, const char *path, char **ret) {
        _cleanup_free_ char *current = strdup(path);
        int r;

        if (!current)
                return -ENOMEM;
        for (unsigned hops = 0;; hops++) {
                _cleanup_free_ char *p = doctor_path(d, current), *target = NULL, *dir = NULL;
                char *slash;

                if (!p)
                        return -ENOMEM;
                r = read_full_file(p, DOCTOR_FILE_MAX, ret, NULL);
                if (r != -ELOOP || hops >= 32)
                        return r;
                r = readlink_full(p, &target);
                if (r == -EINVAL) /* no link: a loop in a directory above it */
                        return -ELOOP;
                if (r < 0)
                        return r;
                if (streq(target, "/dev/null"))
                        return -ENOENT;
                if (target[0] != '/') {
                        dir = strdup(current);
                        if (!dir)
                                return -ENOMEM;
                        slash = strrchr(dir, '/');
                        if (slash)
                                slash[1] = 0;
                        free(current);
                        current = path_join(dir, target);
                } else {
                        free(current);
                        current = TAKE_PTR(target);
                }
                if (!current)
                        return -ENOMEM;
        }
}

int doctor_read_error(const Doctor *d, const char *path, int error, char **ret) {
        _cleanup_free_ char *p = doctor_path(d, path);

        if (!p)
                return -ENOMEM;
        return read_full_file_strerror(p, error, DOCTOR_FILE_MAX, ret);
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
