/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "fuzz.h"

static char *tmpdir;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static void remove_tmpdir(void) {
        (void) nftw(tmpdir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        tmpdir = mfree(tmpdir);
}

char *fuzz_make_tmpdir(const char *name) {
        const char *base = getenv("TMPDIR");
        struct stat st;
        char *dir;

        if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
                base = "/dev/shm";
        if (asprintf_safe(&dir, "%s/sriovd-fuzz-%s-XXXXXX", base ?: "/tmp", name) < 0 || !mkdtemp(dir)) {
                perror("fuzz: cannot make a temporary directory");
                abort();
        }
        /* one per process: the runs of a target share it, and it goes when the fuzzer exits */
        if (!tmpdir) {
                tmpdir = strdup(dir);
                if (tmpdir)
                        atexit(remove_tmpdir);
        }
        return dir;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = -1;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || (size > 0 && write(fd, data, size) != (ssize_t) size)) {
                perror("fuzz: cannot write the input file");
                abort();
        }
}
