/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The write path of the mock-hardware tier's fake kernel.
 *
 * umockdev redirects /sys into a testbed directory, where every attribute is a plain file: writing
 * "4" to sriov_numvfs would just store "4". The kernel instead creates VFs, sends uevents, may fail
 * with an errno and may block for seconds. This shim is preloaded beside libumockdev-preload and
 * hands every write to one of the attributes below to the test harness over the unix socket named by
 * $SRIOV_MOCK_KERNEL_SOCKET. It then blocks until the harness has done what the kernel would do and
 * answered with an errno, and returns exactly what the kernel's write(2) would: the byte count or -1
 * with that errno. The data itself never reaches the testbed file; the harness owns its content.
 *
 * Interposed: write, pwrite, pwrite64, writev (raw syscalls as used by the daemon and libudev's
 * sd_device_set_sysattr_value), fopen/fopen64/fdopen (stdio writes happen inside glibc through a
 * non-interposable internal write, so a FILE on a watched attribute becomes a fopencookie stream
 * whose writes come back here), and the open family, to drop O_TRUNC on watched attributes: sysfs
 * ignores it, a testbed file would be emptied by it.
 *
 * Also interposed: recvmsg and recv, for the kernel's answer to a uevent listener that fell behind.
 * umockdev hands uevents to a libudev monitor over a unix socket named event<N> in the testbed, where
 * a full queue makes the sender wait; a netlink socket instead drops what does not fit and fails the
 * listener's next receive with ENOBUFS. The harness, when it emulates that (FakeKernel's
 * uevent_overrun), drops the uevent and creates enobufs-event<N> beside the socket; the listener's
 * next receive removes that file and fails with ENOBUFS, once, as the kernel reports an overrun.
 *
 * Also interposed: bind, to tell the harness which of those listeners is the kernel's (see
 * mark_kernel_listener()).
 *
 * Reads are counted: with $SRIOV_MOCK_READ_LOG set, every open of a watched attribute for reading
 * appends its path, as given, and a newline to that file, so that a test can tell how often a process
 * read a PF (sriovd reads sriov_numvfs once for each read of the PF's state from sysfs).
 *
 * A read of sriov_numvfs takes the device lock in the kernel (drivers/pci/iov.c, sriov_numvfs_show()),
 * which a driver's probe holds: while the file $SRIOV_MOCK_PROBE_DIR/<device> exists (FakeKernel's
 * begin_probe()), a read of that device's sriov_numvfs waits, as behind a probe that runs.
 *
 * Without $SRIOV_MOCK_KERNEL_SOCKET the shim passes everything through.
 */

/* This file defines both the plain and the 64-bit symbols; they must not be redirected. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define ENV_SOCKET "SRIOV_MOCK_KERNEL_SOCKET"
#define ENV_READ_LOG "SRIOV_MOCK_READ_LOG"
#define ENV_PROBE_DIR "SRIOV_MOCK_PROBE_DIR"
#define MAX_VALUE 4096

#define EXPORT __attribute__((visibility("default")))

/* fortify entry points, declared by no public header */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);

static const char *const watched[] = {
        "sriov_numvfs", "sriov_drivers_autoprobe", "driver_override", "bind",
        "unbind",       "drivers_probe",           "new_id",          "remove_id",
};

static bool name_is_watched(const char *path) {
        const char *base;

        if (!path)
                return false;
        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
                if (strcmp(base, watched[i]) == 0)
                        return true;
        return false;
}

static bool enabled(void) {
        const char *s = getenv(ENV_SOCKET);
        return s && *s;
}

/* Resolves the file behind fd with the raw syscall: umockdev's readlink wrapper must not see it. */
static bool fd_is_watched(int fd, char *ret_path, size_t size) {
        char link[64];
        ssize_t n;

        if (fd < 0 || !enabled())
                return false;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        n = syscall(SYS_readlink, link, ret_path, size - 1);
        if (n <= 0)
                return false;
        ret_path[n] = '\0';
        /* Only files in a testbed (or /sys itself): a socket or pipe reads as "socket:[...]". */
        if (ret_path[0] != '/')
                return false;
        return name_is_watched(ret_path);
}

static int full_write(int fd, const void *buf, size_t len) {
        const char *p = buf;

        while (len > 0) {
                ssize_t k = syscall(SYS_write, fd, p, len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

/* Sends "path\0value" to the harness and waits for its answer, an errno in decimal ("0" = success).
 * Returns that errno, or EIO when the harness cannot be reached (a broken harness must fail loudly). */
static int ask_kernel(const char *path, const void *buf, size_t len) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        const char *sock = getenv(ENV_SOCKET);
        char answer[32];
        size_t got = 0;
        int fd, r, saved = errno;

        if (len > MAX_VALUE)
                return EINVAL;
        if (strlen(sock) >= sizeof(sa.sun_path))
                return EIO;
        strcpy(sa.sun_path, sock);

        fd = syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return EIO;
        /* Raw syscall: umockdev wraps connect() for its own emulated sockets. */
        for (int tries = 0; syscall(SYS_connect, fd, (struct sockaddr *) &sa, sizeof(sa)) < 0; tries++) {
                /* a full listen backlog answers EAGAIN: the harness is busy, not gone */
                if (errno == EAGAIN && tries < 200) {
                        struct timespec ts = {.tv_nsec = 10 * 1000 * 1000};
                        nanosleep(&ts, NULL);
                        continue;
                }
                fprintf(stderr, "fake-kernel-shim: cannot reach %s: %m\n", sock);
                syscall(SYS_close, fd);
                return EIO;
        }
        if (full_write(fd, path, strlen(path) + 1) < 0 || full_write(fd, buf, len) < 0) {
                syscall(SYS_close, fd);
                return EIO;
        }
        syscall(SYS_shutdown, fd, SHUT_WR);

        for (;;) {
                ssize_t k = syscall(SYS_read, fd, answer + got, sizeof(answer) - 1 - got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                got += (size_t) k;
                if (got >= sizeof(answer) - 1)
                        break;
        }
        syscall(SYS_close, fd);
        if (got == 0)
                return EIO;
        answer[got] = '\0';
        r = atoi(answer);
        errno = saved;
        return r < 0 ? -r : r;
}

static ssize_t kernel_write(const char *path, const void *buf, size_t count) {
        int e = ask_kernel(path, buf, count);

        if (e != 0) {
                errno = e;
                return -1;
        }
        return (ssize_t) count;
}

#define NEXT(ret, name, ...)                                   \
        static ret (*next_##name)(__VA_ARGS__);                \
        static ret (*get_##name(void))(__VA_ARGS__) {          \
                if (!next_##name)                              \
                        next_##name = dlsym(RTLD_NEXT, #name); \
                return next_##name;                            \
        }

NEXT(ssize_t, write, int, const void *, size_t)
NEXT(ssize_t, pwrite, int, const void *, size_t, off_t)
NEXT(ssize_t, pwrite64, int, const void *, size_t, off_t)
NEXT(ssize_t, writev, int, const struct iovec *, int)
NEXT(int, open, const char *, int, ...)
NEXT(int, open64, const char *, int, ...)
NEXT(int, openat, int, const char *, int, ...)
NEXT(int, openat64, int, const char *, int, ...)
NEXT(int, __open_2, const char *, int)
NEXT(int, __open64_2, const char *, int)
NEXT(FILE *, fopen, const char *, const char *)
NEXT(FILE *, fopen64, const char *, const char *)
NEXT(FILE *, fdopen, int, const char *)

EXPORT ssize_t write(int fd, const void *buf, size_t count) {
        char path[PATH_MAX];

        if (fd_is_watched(fd, path, sizeof(path)))
                return kernel_write(path, buf, count);
        return get_write()(fd, buf, count);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
        char path[PATH_MAX];

        if (fd_is_watched(fd, path, sizeof(path)))
                return kernel_write(path, buf, count);
        return get_pwrite()(fd, buf, count, offset);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t count, off_t offset) {
        char path[PATH_MAX];

        if (fd_is_watched(fd, path, sizeof(path)))
                return kernel_write(path, buf, count);
        return get_pwrite64()(fd, buf, count, offset);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt) {
        char path[PATH_MAX], buf[MAX_VALUE];
        size_t len = 0;

        if (!fd_is_watched(fd, path, sizeof(path)))
                return get_writev()(fd, iov, iovcnt);
        /* sysfs takes one buffer per write; gather it as the VFS would */
        for (int i = 0; i < iovcnt; i++) {
                if (len + iov[i].iov_len > sizeof(buf)) {
                        errno = EINVAL;
                        return -1;
                }
                memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
                len += iov[i].iov_len;
        }
        return kernel_write(path, buf, len);
}

/* Waits while the probe of the device whose sriov_numvfs path names holds its lock (see the top). */
static void wait_probe(const char *path) {
        const struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
        const char *dir = getenv(ENV_PROBE_DIR), *base, *dev;
        char hold[PATH_MAX];
        int n;

        base = strrchr(path, '/');
        if (!dir || !*dir || !base || strcmp(base + 1, "sriov_numvfs") != 0)
                return;
        for (dev = base; dev > path && dev[-1] != '/'; dev--)
                ;
        n = snprintf(hold, sizeof(hold), "%s/%.*s", dir, (int) (base - dev), dev);
        if (base == dev || n <= 0 || (size_t) n >= sizeof(hold))
                return;
        /* the raw syscall: the directory is outside the testbed */
        while (syscall(SYS_faccessat, AT_FDCWD, hold, F_OK) == 0)
                nanosleep(&tick, NULL);
}

/* One line per read, each appended with one write(2): lines of concurrent readers do not mix. */
static void note_read(const char *path) {
        const char *log = getenv(ENV_READ_LOG);
        char line[PATH_MAX + 1];
        int fd, n;

        if (!enabled() || !name_is_watched(path))
                return;
        if (log && *log) {
                n = snprintf(line, sizeof(line), "%s\n", path);
                if (n > 0 && (size_t) n < sizeof(line)) {
                        /* raw syscalls: the log is outside the testbed, and umockdev's wrappers need
                         * not see it */
                        fd = syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                                     0644);
                        if (fd >= 0) {
                                (void) full_write(fd, line, (size_t) n);
                                syscall(SYS_close, fd);
                        }
                }
        }
        wait_probe(path);
}

static int fix_flags(const char *path, int flags) {
        if ((flags & O_ACCMODE) == O_RDONLY)
                note_read(path);
        if ((flags & O_TRUNC) && enabled() && name_is_watched(path))
                flags &= ~O_TRUNC;
        return flags;
}

#define OPEN_MODE(flags, mode)                           \
        do {                                             \
                if ((flags) & (O_CREAT | __O_TMPFILE)) { \
                        va_list ap;                      \
                        va_start(ap, flags);             \
                        mode = va_arg(ap, mode_t);       \
                        va_end(ap);                      \
                }                                        \
        } while (0)

EXPORT int open(const char *path, int flags, ...) {
        mode_t mode = 0;

        OPEN_MODE(flags, mode);
        return get_open()(path, fix_flags(path, flags), mode);
}

EXPORT int open64(const char *path, int flags, ...) {
        mode_t mode = 0;

        OPEN_MODE(flags, mode);
        return get_open64()(path, fix_flags(path, flags), mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...) {
        mode_t mode = 0;

        OPEN_MODE(flags, mode);
        return get_openat()(dirfd, path, fix_flags(path, flags), mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
        mode_t mode = 0;

        OPEN_MODE(flags, mode);
        return get_openat64()(dirfd, path, fix_flags(path, flags), mode);
}

EXPORT int __open_2(const char *path, int flags) {
        return get___open_2()(path, fix_flags(path, flags));
}

EXPORT int __open64_2(const char *path, int flags) {
        return get___open64_2()(path, fix_flags(path, flags));
}

/* stdio on a watched attribute: a cookie stream, unbuffered, so that every fwrite()/fprintf() that
 * reaches the stream is one kernel write as with sysfs' own one-write-per-store semantics. */

static ssize_t cookie_read(void *cookie, char *buf, size_t size) {
        return read((int) (intptr_t) cookie, buf, size);
}

static ssize_t cookie_write(void *cookie, const char *buf, size_t size) {
        char path[PATH_MAX];
        int fd = (int) (intptr_t) cookie;

        if (fd_is_watched(fd, path, sizeof(path)))
                return kernel_write(path, buf, size);
        return get_write()(fd, buf, size);
}

static int cookie_close(void *cookie) {
        return close((int) (intptr_t) cookie);
}

static FILE *cookie_stream(int fd, const char *mode) {
        cookie_io_functions_t io = {
                .read = cookie_read,
                .write = cookie_write,
                .close = cookie_close,
        };
        FILE *f;

        f = fopencookie((void *) (intptr_t) fd, mode, io);
        if (!f)
                return NULL;
        setvbuf(f, NULL, _IONBF, 0);
        return f;
}

static bool mode_writes(const char *mode) {
        return mode && (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+'));
}

static FILE *open_stream(const char *path, const char *mode) {
        int flags = strchr(mode, '+') ? O_RDWR : O_WRONLY;
        FILE *f;
        int fd;

        if (strchr(mode, 'e'))
                flags |= O_CLOEXEC;
        /* through umockdev's open(), which redirects /sys into the testbed */
        fd = get_open()(path, flags);
        if (fd < 0)
                return NULL;
        f = cookie_stream(fd, mode);
        if (!f) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return f;
}

/* True once after the harness dropped uevents meant for the listener on fd (see the top). The raw
 * syscalls keep umockdev's wrappers, which fake a netlink address, out of it. */
static bool uevent_overrun(int fd) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);
        char marker[sizeof(sa.sun_path) + 16];
        const char *base;

        if (!enabled() || syscall(SYS_getsockname, fd, &sa, &len) < 0 || sa.sun_family != AF_UNIX ||
            len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                return false;
        sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
        base = strrchr(sa.sun_path, '/') + 1;
        if (strncmp(base, "event", 5) != 0)
                return false;
        snprintf(marker, sizeof(marker), "%.*senobufs-%s", (int) (base - sa.sun_path), sa.sun_path, base);
        return syscall(SYS_unlinkat, AT_FDCWD, marker, 0) == 0;
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
        static ssize_t (*real)(int, struct msghdr *, int);

        if (uevent_overrun(fd)) {
                errno = ENOBUFS;
                return -1;
        }
        if (!real)
                real = dlsym(RTLD_NEXT, "recvmsg");
        return real(fd, msg, flags);
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags) {
        static ssize_t (*real)(int, void *, size_t, int);

        if (uevent_overrun(fd)) {
                errno = ENOBUFS;
                return -1;
        }
        if (!real)
                real = dlsym(RTLD_NEXT, "recv");
        return real(fd, buf, len, flags);
}

/* umockdev turns a uevent listener's netlink socket into a unix socket event<N> in the testbed, for
 * the kernel's multicast group (1) as for udevd's (2). The harness sends the kernel's own uevents,
 * which come ahead of udevd's, to the first kind only: a listener bound to group 1 gets a marker
 * kernel-event<N> beside its socket, and one bound to another group loses a marker a closed listener
 * with the same name left. */
static void mark_kernel_listener(int fd, bool kernel) {
        struct sockaddr_un sa = {};
        socklen_t len = sizeof(sa);
        char marker[sizeof(sa.sun_path) + 16];
        const char *base;

        if (syscall(SYS_getsockname, fd, &sa, &len) < 0 || sa.sun_family != AF_UNIX ||
            len <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] != '/')
                return;
        sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
        base = strrchr(sa.sun_path, '/') + 1;
        if (strncmp(base, "event", 5) != 0)
                return;
        snprintf(marker, sizeof(marker), "%.*skernel-%s", (int) (base - sa.sun_path), sa.sun_path, base);
        if (kernel) {
                int m = (int) syscall(SYS_openat, AT_FDCWD, marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (m >= 0)
                        close(m);
        } else
                (void) syscall(SYS_unlinkat, AT_FDCWD, marker, 0);
}

EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len) {
        static int (*real)(int, const struct sockaddr *, socklen_t);
        int r;

        if (!real)
                real = dlsym(RTLD_NEXT, "bind");
        r = real(fd, addr, len);
        if (r == 0 && enabled() && addr && addr->sa_family == AF_NETLINK &&
            len >= sizeof(struct sockaddr_nl))
                mark_kernel_listener(fd, ((const struct sockaddr_nl *) addr)->nl_groups == 1);
        return r;
}

EXPORT FILE *fopen(const char *path, const char *mode) {
        if (enabled() && mode_writes(mode) && name_is_watched(path))
                return open_stream(path, mode);
        if (!mode_writes(mode))
                note_read(path);
        return get_fopen()(path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode) {
        if (enabled() && mode_writes(mode) && name_is_watched(path))
                return open_stream(path, mode);
        if (!mode_writes(mode))
                note_read(path);
        return get_fopen64()(path, mode);
}

EXPORT FILE *fdopen(int fd, const char *mode) {
        char path[PATH_MAX];

        if (mode_writes(mode) && fd_is_watched(fd, path, sizeof(path)))
                return cookie_stream(fd, mode);
        return get_fdopen()(fd, mode);
}
