/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define STRV_MAKE(...) ((char **) ((const char *[]){__VA_ARGS__, NULL}))
/* Room for a number of this type in decimal, sign and NUL included. */
#define DECIMAL_STR_MAX(type) \
        (2 + (sizeof(type) <= 1 ? 3 : sizeof(type) <= 2 ? 5 : sizeof(type) <= 4 ? 10 : 20))

#define TAKE_PTR(p)                    \
        ({                             \
                typeof(p) _ptr_ = (p); \
                (p) = NULL;            \
                _ptr_;                 \
        })

#define TAKE_FD(fd)              \
        ({                       \
                int _fd_ = (fd); \
                (fd) = -1;       \
                _fd_;            \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Defines type##_freep() for a destructor that accepts NULL and returns NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        func(*p);               \
        }

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline bool strcaseeq(const char *a, const char *b) {
        return strcasecmp(a, b) == 0;
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline bool isempty(const char *s) {
        return !s || !s[0];
}

static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

/* A string table for an enum: FOO_to_string() and FOO_from_string() (-EINVAL when unknown). */
#define DEFINE_STRING_TABLE_LOOKUP(name, type)                              \
        const char *name##_to_string(type i) {                              \
                if (i < 0 || (size_t) i >= ELEMENTSOF(name##_table))        \
                        return NULL;                                        \
                return name##_table[i];                                     \
        }                                                                   \
        type name##_from_string(const char *s) {                            \
                if (!s)                                                     \
                        return -EINVAL;                                     \
                for (size_t _i = 0; _i < ELEMENTSOF(name##_table); _i++)    \
                        if (name##_table[_i] && streq(name##_table[_i], s)) \
                                return (type) _i;                           \
                return -EINVAL;                                             \
        }

/* NULL-terminated string arrays. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
int strv_extend(char ***l, const char *value);
int strv_consume(char ***l, char *value);
bool strv_contains(char *const *l, const char *s);
int strv_sort(char **l);

char *strjoin_real(const char *x, ...) __attribute__((sentinel));
#define strjoin(a, ...) strjoin_real((a), __VA_ARGS__, NULL)
char *path_join(const char *a, const char *b);
int asprintf_safe(char **ret, const char *fmt, ...) _printf_(2, 3);

int safe_atou(const char *s, unsigned *ret);
int safe_atoi(const char *s, int *ret);
int parse_boolean(const char *v);
char *strstrip(char *s);

/* The one reader of whole files that another program or an admin writes (configuration files, the
 * state store, the lease journal, what doctor reads): reads a regular file of at most max_size bytes,
 * NUL-terminated; ret_size (if not NULL) gets its length, so that a caller can tell a NUL byte inside.
 * It opens with O_NOFOLLOW, O_NONBLOCK and O_NOCTTY and checks with fstat() before reading, so that a
 * FIFO cannot hang the reader, a device cannot feed it forever and a link cannot send it elsewhere:
 *   -ELOOP   path is a symbolic link (it is not followed; a caller that allows links resolves them)
 *   -EBADFD  path is not a regular file: a directory, FIFO, socket or device
 *   -EFBIG   the file has more than max_size bytes
 * or another -errno of open(2) and read(2), such as -ENOENT and -EACCES. ret is written on success
 * only. */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);
/* What is wrong, for a message "<path>: <what>", after read_full_file() failed with error: "is a
 * symbolic link, refused", "not a regular file (a FIFO)", "larger than N bytes, refused", or
 * strerror(). path is only looked at (lstat(2)) to name the kind of file; nothing of its content is
 * shown. 0 or -ENOMEM. */
int read_full_file_strerror(const char *path, int error, size_t max_size, char **ret);
/* Reads a whole small file, strips the trailing newline. */
int read_one_line_file(const char *path, char **ret);
/* Writes "value" (no newline appended) in one write(2) and returns its -errno. */
int write_string_file(const char *path, const char *value);
/* Writes content to dir/name through a temporary file, fsync, rename, fsync of dir. Done once the
 * rename is: a failed fsync of dir after it is not an error. */
int write_file_atomic(const char *dir, const char *name, const char *content);
/* What names write_file_atomic()'s temporary files: "<name>.#tmp.<pid>". */
#define ATOMIC_TEMP_INFIX ".#tmp."

/* The size of a buffer for a PCI address with its NUL: "0000:01:00.0", or "10000:e1:00.0" with a
 * five-digit domain (Intel VMD). Every array that holds an address has this size. */
#define PCI_ADDRESS_MAX 16

/* Normalizes to the kernel's form: lower case, "01:00.0" to "0000:01:00.0"; the domain has four hex
 * digits, or five from 10000 on. -EINVAL when it is no PCI address; ret is written on success only. */
int pci_address_normalize(const char *s, char ret[static PCI_ADDRESS_MAX]);
/* Whether s is an address in the kernel's form, as pci_address_normalize() returns it. */
bool pci_address_is_valid(const char *s);

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Replaces *p with a copy of s (NULL allowed); returns 1 if the value changed, 0 if not, -ENOMEM. */
int free_and_strdup(char **p, const char *s);

/* The last component of a symlink's target: "igb" for sysfs' "driver" link, the group number for
 * "iommu_group", the VF's address for "virtfn0". -errno from readlink(2), -ENOENT when missing. */
int readlink_value(const char *path, char **ret);

/* Appends the formatted text to *s (NULL counts as empty), with sep (NULL: none) in between when *s
 * is not empty: strextend_sep(&list, ", ", "%s", name). Returns 0, or -ENOMEM with *s as it was. */
int strextend_sep(char **s, const char *sep, const char *format, ...) _printf_(3, 4);

int fsync_directory(const char *dir);
/* Removes dir/name and syncs dir, so that the removal survives a power loss. */
int unlink_durable(const char *dir, const char *name);
/* Removes what an interrupted write_file_atomic() left in dir; returns how many. */
int remove_stale_temporary_files(const char *dir);
/* Valid UTF-8 of at most max characters, without control characters (C0, DEL, C1): a string from
 * a caller that may end up in a log, a journal file or a message. */
bool string_is_safe(const char *s, size_t max);
/* Whether s is UTF-8, as D-Bus requires of every string. */
bool utf8_is_valid(const char *s);
/* s with every byte that is not part of a UTF-8 character written as \xNN (a name the kernel or a
 * file system gave, for a bus message); NULL on ENOMEM. */
char *utf8_escape_invalid(const char *s);
