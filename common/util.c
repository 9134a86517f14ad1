/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "util.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (!l)
                return 0;
        while (l[n])
                n++;
        return n;
}

int strv_consume(char ***l, char *value) {
        size_t n = strv_length(*l);
        char **c;

        if (!value)
                return -ENOMEM;
        c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

bool strv_contains(char *const *l, const char *s) {
        for (char *const *i = l; i && *i; i++)
                if (streq(*i, s))
                        return true;
        return false;
}

static int str_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int strv_sort(char **l) {
        if (!l)
                return 0;
        qsort(l, strv_length(l), sizeof(char *), str_compare);
        return 0;
}

char *strjoin_real(const char *x, ...) {
        va_list ap;
        size_t l = 0;
        char *r, *p;

        va_start(ap, x);
        for (const char *t = x; t; t = va_arg(ap, const char *))
                l += strlen(t);
        va_end(ap);

        r = malloc(l + 1);
        if (!r)
                return NULL;
        p = r;
        va_start(ap, x);
        for (const char *t = x; t; t = va_arg(ap, const char *))
                p = stpcpy(p, t);
        va_end(ap);
        return r;
}

char *path_join(const char *a, const char *b) {
        if (isempty(a))
                return strdup(b);
        if (a[strlen(a) - 1] == '/' || b[0] == '/')
                return strjoin(a, b);
        return strjoin(a, "/", b);
}

int asprintf_safe(char **ret, const char *fmt, ...) {
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(ret, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

int safe_atou(const char *s, unsigned *ret) {
        char *end;
        unsigned long l;

        if (isempty(s) || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        l = strtoul(s, &end, 10);
        if (errno > 0)
                return -errno;
        if (*end != 0)
                return -EINVAL;
        if (l > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned) l;
        return 0;
}

int safe_atoi(const char *s, int *ret) {
        char *end;
        long l;

        if (isempty(s))
                return -EINVAL;
        errno = 0;
        l = strtol(s, &end, 10);
        if (errno > 0)
                return -errno;
        if (*end != 0)
                return -EINVAL;
        if (l > INT_MAX || l < INT_MIN)
                return -ERANGE;
        *ret = (int) l;
        return 0;
}

int parse_boolean(const char *v) {
        if (!v)
                return -EINVAL;
        if (streq(v, "1") || strcasecmp(v, "yes") == 0 || strcasecmp(v, "y") == 0 ||
            strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0)
                return 1;
        if (streq(v, "0") || strcasecmp(v, "no") == 0 || strcasecmp(v, "n") == 0 ||
            strcasecmp(v, "false") == 0 || strcasecmp(v, "off") == 0)
                return 0;
        return -EINVAL;
}

char *strstrip(char *s) {
        char *e;

        s += strspn(s, " \t\r\n");
        e = s + strlen(s);
        while (e > s && strchr(" \t\r\n", e[-1]))
                e--;
        *e = 0;
        return s;
}

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size;
        struct stat st;

        max_size = MIN(max_size, (size_t) SSIZE_MAX - 2);

        /* O_NONBLOCK: opening a FIFO without a writer would block forever; O_NOCTTY: a terminal
         * must not become ours. Neither changes how a regular file reads. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENXIO) /* a socket, or a device without a driver */
                        return -EBADFD;
                return negative_errno();
        }
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uintmax_t) st.st_size > max_size)
                return -EFBIG;

        /* st_size is a hint only: files in /proc say 0, and a file may grow while it is read. */
        size = MIN((size_t) st.st_size, max_size) + 1;
        if (size < 4096)
                size = MIN(max_size + 1, (size_t) 4096);
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (n == size - 1) {
                        char *b;

                        if (n > max_size)
                                return -EFBIG;
                        size = MIN(size * 2, max_size + 2);
                        b = realloc(buf, size);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                k = read(fd, buf + n, size - 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                n += k;
        }
        if (n > max_size)
                return -EFBIG;
        buf[n] = 0;
        if (ret_size)
                *ret_size = n;
        *ret = TAKE_PTR(buf);
        return 0;
}

static const char *inode_type_to_string(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "a directory";
        case S_IFIFO:
                return "a FIFO";
        case S_IFSOCK:
                return "a socket";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        case S_IFLNK:
                return "a symbolic link";
        case S_IFREG:
                return "a regular file";
        default:
                return "of an unknown type";
        }
}

int read_full_file_strerror(const char *path, int error, size_t max_size, char **ret) {
        struct stat st;

        switch (error) {
        case -ELOOP:
                return asprintf_safe(ret, "is a symbolic link, refused");
        case -EBADFD:
                /* only for the message: what read_full_file() found may have been replaced since */
                if (lstat(path, &st) < 0 || S_ISREG(st.st_mode))
                        return asprintf_safe(ret, "not a regular file");
                return asprintf_safe(ret, "not a regular file (%s)", inode_type_to_string(st.st_mode));
        case -EFBIG:
                return asprintf_safe(ret, "larger than %zu bytes, refused", max_size);
        default:
                return asprintf_safe(ret, "%s", strerror(error < 0 ? -error : error));
        }
}

int read_one_line_file(const char *path, char **ret) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *line = NULL;
        size_t n = 0;
        ssize_t k;

        f = fopen(path, "re");
        if (!f)
                return negative_errno();
        errno = 0;
        k = getline(&line, &n, f);
        if (k < 0) {
                if (ferror(f))
                        return negative_errno();
                free(line);
                line = strdup("");
                if (!line)
                        return -ENOMEM;
        } else if (k > 0 && line[k - 1] == '\n')
                line[k - 1] = 0;
        *ret = TAKE_PTR(line);
        return 0;
}

int write_string_file(const char *path, const char *value) {
        _cleanup_close_ int fd = -1;
        size_t l = strlen(value);
        ssize_t k;

        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        k = write(fd, value, l);
        if (k < 0)
                return negative_errno();
        if ((size_t) k != l)
                return -EIO;
        /* sysfs reports some errors only on close */
        if (close(TAKE_FD(fd)) < 0 && errno != EINTR)
                return negative_errno();
        return 0;
}

int write_file_atomic(const char *dir, const char *name, const char *content) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        size_t l = strlen(content);
        const char *p = content;
        int r;

        path = path_join(dir, name);
        if (!path)
                return -ENOMEM;
        if (asprintf_safe(&tmp, "%s" ATOMIC_TEMP_INFIX "%u", path, (unsigned) getpid()) < 0)
                return -ENOMEM;

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        while (l > 0) {
                ssize_t k = write(fd, p, l);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                p += k;
                l -= k;
        }
        if (fsync(fd) < 0 || close(TAKE_FD(fd)) < 0) {
                r = negative_errno();
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = negative_errno();
                goto fail;
        }
        /* renamed: the new content is what every reader sees from now on, so this is done; a failed
         * fsync of the directory only means the rename may not survive a power loss */
        (void) fsync_directory(dir);
        return 0;

fail:
        (void) unlink(tmp);
        return r;
}

static bool all_lower_hex(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]) || s[i] == 0)
                        return false;
        return true;
}

bool pci_address_is_valid(const char *s) {
        size_t d;

        if (!s)
                return false;
        /* The kernel writes the domain with "%04x": four digits, or five from 0x10000 on (Intel VMD
         * puts the devices behind it in domains 10000 and up). A leading zero in five digits would be
         * a second name for the same device, and the address names files and bus objects. */
        d = strspn(s, "0123456789abcdef");
        if (!(d == 4 || (d == 5 && s[0] != '0')))
                return false;
        s += d;
        /* ":bb:ss.f" */
        if (strlen(s) != 8 || s[0] != ':' || s[3] != ':' || s[6] != '.')
                return false;
        if (!all_lower_hex(s + 1, 2) || !all_lower_hex(s + 4, 2) || !all_lower_hex(s + 7, 1))
                return false;
        return strtoul((char[]){s[4], s[5], 0}, NULL, 16) < 32 && s[7] < '8';
}

int pci_address_normalize(const char *s, char ret[static PCI_ADDRESS_MAX]) {
        char buf[PCI_ADDRESS_MAX];
        size_t l;

        if (!s)
                return -EINVAL;
        l = strlen(s);
        if (l >= sizeof buf)
                return -EINVAL;
        if (l == strlen("01:00.0"))
                snprintf(buf, sizeof buf, "0000:%s", s);
        else
                memcpy(buf, s, l + 1);
        for (char *p = buf; *p; p++)
                *p = (char) tolower((unsigned char) *p);
        if (!pci_address_is_valid(buf))
                return -EINVAL;
        memcpy(ret, buf, strlen(buf) + 1);
        return 0;
}

int free_and_strdup(char **p, const char *s) {
        char *t;

        if (streq_ptr(*p, s))
                return 0;
        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        } else
                t = NULL;
        free(*p);
        *p = t;
        return 1;
}

int readlink_value(const char *path, char **ret) {
        char buf[PATH_MAX];
        const char *slash;
        ssize_t k;
        char *s;

        k = readlink(path, buf, sizeof buf - 1);
        if (k < 0)
                return negative_errno();
        buf[k] = 0;
        slash = strrchr(buf, '/');
        s = strdup(slash ? slash + 1 : buf);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int strextend_sep(char **s, const char *sep, const char *format, ...) {
        _cleanup_free_ char *text = NULL;
        va_list ap;
        char *n;
        int k;

        va_start(ap, format);
        k = vasprintf(&text, format, ap);
        va_end(ap);
        if (k < 0) {
                text = NULL; /* undefined after a failure */
                return -ENOMEM;
        }

        n = strjoin(strempty(*s), isempty(*s) ? "" : strempty(sep), text);
        if (!n)
                return -ENOMEM;
        free(*s);
        *s = n;
        return 0;
}

int fsync_directory(const char *dir) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0 || fsync(dfd) < 0)
                return negative_errno();
        return 0;
}

int unlink_durable(const char *dir, const char *name) {
        _cleanup_free_ char *path = path_join(dir, name);

        if (!path)
                return -ENOMEM;
        if (unlink(path) < 0)
                return negative_errno();
        return fsync_directory(dir);
}

int remove_stale_temporary_files(const char *dir) {
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct dirent *de;
        int n = 0;
        DIR *d;

        if (dfd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        d = fdopendir(TAKE_FD(dfd));
        if (!d)
                return negative_errno();
        while ((de = readdir(d)))
                if (strstr(de->d_name, ATOMIC_TEMP_INFIX) && unlinkat(dirfd(d), de->d_name, 0) >= 0)
                        n++;
        closedir(d);
        if (n > 0)
                (void) fsync_directory(dir);
        return n;
}

/* The length of the UTF-8 character at p, 0 when it is none (a stray byte, an overlong form, a
 * surrogate, beyond Unicode); *ret_cp is the character. */
static unsigned utf8_char(const unsigned char *p, unsigned *ret_cp) {
        unsigned c = *p, len, cp;

        if (c < 0x80) {
                *ret_cp = c;
                return 1;
        }
        if ((c & 0xe0) == 0xc0)
                len = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
                len = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
                len = 4, cp = c & 0x07;
        else
                return 0;
        for (unsigned i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        *ret_cp = cp;
        return len;
}

bool string_is_safe(const char *s, size_t max) {
        size_t n = 0;

        if (!s)
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; n++) {
                unsigned cp, len = utf8_char(p, &cp);

                if (n >= max || len == 0)
                        return false;
                /* the C0 and C1 controls and DEL */
                if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
                        return false;
                p += len;
        }
        return true;
}

bool utf8_is_valid(const char *s) {
        unsigned cp, len;

        for (const unsigned char *p = (const unsigned char *) s; *p; p += len)
                if ((len = utf8_char(p, &cp)) == 0)
                        return false;
        return true;
}

char *utf8_escape_invalid(const char *s) {
        char *out = malloc(strlen(s) * 4 + 1), *o = out;
        unsigned cp, len;

        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) s; *p; p += len) {
                len = utf8_char(p, &cp);
                if (len == 0) {
                        o += sprintf(o, "\\x%02x", *p);
                        len = 1;
                } else {
                        memcpy(o, p, len);
                        o += len;
                }
        }
        *o = 0;
        return out;
}
