/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the libFuzzer targets in tests/fuzz/ share. Each target defines LLVMFuzzerTestOneInput(); a
 * crash, a sanitizer report, a leak or a failed FUZZ_ASSERT() is a finding. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test, checked in every build type. */
#define FUZZ_ASSERT(expr)                                                                                  \
        do {                                                                                               \
                if (!(expr)) {                                                                             \
                        fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", __FILE__, __LINE__, __func__, \
                                #expr);                                                                    \
                        abort();                                                                           \
                }                                                                                          \
        } while (0)

/* The input as a C string, as a file reader hands text on; NULL when it holds a NUL byte (every text
 * reader of sriovd refuses those before parsing) or on ENOMEM. */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        char *s;

        if (memchr(data, 0, size))
                return NULL;
        s = malloc(size + 1);
        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}

/* A fresh directory for a target's files, below /dev/shm when there is one (the store's fsync()s are
 * free there), else below $TMPDIR. */
char *fuzz_make_tmpdir(const char *name);
/* Writes size bytes to path (truncating it); aborts on failure, which is no finding of the target. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);
