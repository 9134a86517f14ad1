/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "names.h"
#include "store.h"

#define STORE_PF_SUBDIR "pf"
#define STORE_VERSION_FILE "version"
#define STORE_VERSION_FILE_MAX 4096

static int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *copy = NULL;

        copy = strdup(path);
        if (!copy)
                return -ENOMEM;

        for (char *p = copy + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                if (mkdir(copy, mode) < 0 && errno != EEXIST)
                        return negative_errno();
                *p = '/';
        }
        if (mkdir(copy, mode) < 0 && errno != EEXIST)
                return negative_errno();
        return 0;
}

/* A crash between creating and renaming a temporary file leaves it behind; it never held the only copy
 * of anything, so drop it. */
static void store_remove_stale_temporaries(const char *dir) {
        DIR *d;
        struct dirent *de;

        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d)))
                if (strstr(de->d_name, ".#tmp."))
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
}

int store_open(const char *dir, Store **ret) {
        _cleanup_(store_freep) Store *s = NULL;
        _cleanup_free_ char *pfdir = NULL, *vpath = NULL, *version = NULL;
        int r;

        if (isempty(dir))
                return -EINVAL;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->dir = strdup(dir);
        if (!s->dir)
                return -ENOMEM;

        pfdir = path_join(dir, STORE_PF_SUBDIR);
        vpath = path_join(dir, STORE_VERSION_FILE);
        if (!pfdir || !vpath)
                return -ENOMEM;

        r = mkdir_p(pfdir, 0755);
        if (r < 0)
                return r;

        /* A FIFO or a link here must not hang or redirect the daemon: the one safe reader refuses
         * both (-EBADFD, -ELOOP), and then nothing is persisted rather than guessed. */
        r = read_full_file(vpath, STORE_VERSION_FILE_MAX, &version, NULL);
        if (r == -ENOENT) {
                r = write_file_atomic(dir, STORE_VERSION_FILE, SRIOVD_STORE_VERSION "\n");
                if (r < 0)
                        return r;
        } else if (r < 0)
                return r;
        else if (!streq(strstrip(version), SRIOVD_STORE_VERSION))
                /* Written by a newer sriovd (or something else entirely): do not guess its format. */
                return -EPROTONOSUPPORT;

        store_remove_stale_temporaries(pfdir);

        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_free(Store *s) {
        if (!s)
                return NULL;
        free(s->dir);
        free(s);
        return NULL;
}

static int store_paths(Store *s, const char *address, char **ret_dir, char **ret_name) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        char a[PCI_ADDRESS_MAX];

        /* The address becomes a file name: only a real PCI address may, never "../x" or "a/b". */
        if (!s || pci_address_normalize(address, a) < 0)
                return -EINVAL;

        dir = path_join(s->dir, STORE_PF_SUBDIR);
        name = strjoin(a, SRIOVD_CONFIG_SUFFIX);
        if (!dir || !name)
                return -ENOMEM;
        *ret_dir = TAKE_PTR(dir);
        *ret_name = TAKE_PTR(name);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / UINT64_C(1000);
}

int store_load_pf(Store *s, const char *address, PfConfig **ret, char **ret_error) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *path = NULL, *aside = NULL, *error = NULL;
        _cleanup_(pf_config_freep) PfConfig *c = NULL;
        int r;

        r = store_paths(s, address, &dir, &name);
        if (r < 0)
                return r;
        path = path_join(dir, name);
        if (!path)
                return -ENOMEM;

        /* sriovd writes regular files here and nothing else: a link, a FIFO or a directory in their
         * place is no state sriovd kept (and a link is not followed), so it is set aside as a corrupt
         * file is. */
        r = pf_config_parse_file(path, false, &c, &error, NULL);
        if (r == -ENOENT)
                return 0;
        if (r == -EBADMSG || r == -ELOOP || r == -EBADFD || r == -EFBIG) {
                int k;

                /* Never read a corrupt file as "nothing set" (that would mean 0 VFs): keep it for the
                 * admin under another name so the next save does not overwrite the evidence. */
                if (asprintf_safe(&aside, "%s.corrupt-%" PRIu64, path, now_usec()) < 0)
                        return -ENOMEM;
                if (rename(path, aside) < 0) {
                        k = errno;
                        if (ret_error &&
                            asprintf_safe(ret_error,
                                          "Corrupt state file %s (%s), failed to move it aside: %s", path,
                                          strempty(error), strerror(k)) < 0)
                                return -ENOMEM;
                        return -EBADMSG;
                }
                if (ret_error && asprintf_safe(ret_error, "Corrupt state file %s (%s), moved aside to %s",
                                               path, strempty(error), aside) < 0)
                        return -ENOMEM;
                return -EBADMSG;
        }
        if (r < 0)
                return r;

        if (ret)
                *ret = TAKE_PTR(c);
        return 1;
}

static bool pf_config_is_empty(const PfConfig *c) {
        if (!c)
                return true;
        if (c->num_vfs >= 0 || c->drivers_autoprobe >= 0)
                return false;
        for (size_t i = 0; i < c->n_vfs; i++)
                if (!policy_is_empty(&c->vfs[i].policy))
                        return false;
        return true;
}

int store_save_pf(Store *s, const char *address, const PfConfig *c) {
        _cleanup_free_ char *dir = NULL, *name = NULL, *text = NULL;
        PfConfig copy;
        int r;

        r = store_paths(s, address, &dir, &name);
        if (r < 0)
                return r;

        if (pf_config_is_empty(c))
                return store_remove_pf(s, address);

        /* The file name is the match; a [Match] section in it would only be ignored. */
        copy = (PfConfig){
                .num_vfs = c->num_vfs,
                .drivers_autoprobe = c->drivers_autoprobe,
                .vfs = c->vfs,
                .n_vfs = c->n_vfs,
        };
        r = pf_config_format(&copy, &text);
        if (r < 0)
                return r;

        return write_file_atomic(dir, name, text);
}

int store_remove_pf(Store *s, const char *address) {
        _cleanup_free_ char *dir = NULL, *name = NULL;
        _cleanup_close_ int dfd = -1;
        int r;

        r = store_paths(s, address, &dir, &name);
        if (r < 0)
                return r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (unlinkat(dfd, name, 0) < 0) {
                if (errno == ENOENT)
                        return 0;
                return negative_errno();
        }
        /* removed: done; a failed sync only means the removal may not survive a power loss */
        (void) fsync(dfd);
        return 0;
}
