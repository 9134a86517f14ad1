/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state store (daemon/store.c): store_load_pf() on a state file holding the input. What it loads
 * must save and load again to the same thing; what it refuses must be moved aside, never read as
 * empty, and leave no file under the PF's name. */
#include <dirent.h>

#include "fuzz.h"
#include "store.h"

#define ADDRESS "0000:3b:00.0"

static Store *store;
static char *pf_dir, *pf_file;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        _cleanup_free_ char *dir = fuzz_make_tmpdir("store");

        if (store_open(dir, &store) < 0)
                abort();
        pf_dir = path_join(dir, "pf");
        pf_file = path_join(pf_dir, ADDRESS ".conf");
        if (!pf_dir || !pf_file)
                abort();
        return 0;
}

/* Removes what a refused file left: "<name>.corrupt-<usec>". */
static size_t remove_aside(void) {
        DIR *d = opendir(pf_dir);
        struct dirent *de;
        size_t n = 0;

        FUZZ_ASSERT(d);
        while ((de = readdir(d)))
                if (strstr(de->d_name, ".corrupt-")) {
                        FUZZ_ASSERT(unlinkat(dirfd(d), de->d_name, 0) == 0);
                        n++;
                }
        closedir(d);
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *again = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        fuzz_write_file(pf_file, data, size);

        r = store_load_pf(store, ADDRESS, &c, &error);
        if (r == -ENOMEM)
                goto out;
        if (r == -EBADMSG) {
                /* kept for the admin under another name, never taken as "nothing set" */
                FUZZ_ASSERT(error);
                FUZZ_ASSERT(access(pf_file, F_OK) < 0);
                FUZZ_ASSERT(remove_aside() == 1);
                return 0;
        }
        FUZZ_ASSERT(r == 1);
        FUZZ_ASSERT(c);

        r = store_save_pf(store, ADDRESS, c);
        if (r == -ENOMEM)
                goto out;
        FUZZ_ASSERT(r >= 0);
        error = mfree(error);
        r = store_load_pf(store, ADDRESS, &again, &error);
        if (r == -ENOMEM)
                goto out;
        if (r == -EBADMSG)
                fprintf(stderr, "a saved state file does not load: %s\n", error);
        /* 0: nothing was set, so saving removed the file */
        FUZZ_ASSERT(r >= 0);
        if (r == 0) {
                FUZZ_ASSERT(c->num_vfs < 0 && c->drivers_autoprobe < 0);
                return 0;
        }
        FUZZ_ASSERT(again->num_vfs == c->num_vfs);
        FUZZ_ASSERT(again->drivers_autoprobe == c->drivers_autoprobe);
        FUZZ_ASSERT(again->n_vfs <= c->n_vfs);
        /* the effective policy only changes at a section's first index and right after its last */
        for (size_t i = 0; i < c->n_vfs + again->n_vfs; i++) {
                const VfSection *v = i < c->n_vfs ? &c->vfs[i] : &again->vfs[i - c->n_vfs];

                const unsigned indexes[] = {v->first, v->last, v->last + 1};

                for (size_t j = 0; j < ELEMENTSOF(indexes); j++) {
                        VfPolicy a, b;

                        (void) pf_config_vf_policy(c, indexes[j], &a);
                        (void) pf_config_vf_policy(again, indexes[j], &b);
                        FUZZ_ASSERT(policy_equal(&a, &b));
                }
        }
out:
        (void) remove_aside();
        return 0;
}
