/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The configuration parser (common/config.c) on a file's text. A file it accepts must survive
 * pf_config_format() and a second parse unchanged: the state store writes with the one and reads with
 * the other. */
#include "config.h"
#include "fuzz.h"

static void check_round_trip(const PfConfig *c) {
        _cleanup_(pf_config_freep) PfConfig *again = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL, *error = NULL;
        int r;

        r = pf_config_format(c, &text);
        if (r == -ENOMEM)
                return;
        FUZZ_ASSERT(r >= 0);

        r = pf_config_parse_string("formatted", text, false, &again, &error, NULL);
        if (r == -ENOMEM)
                return;
        if (r < 0)
                fprintf(stderr, "formatted text refused: %s\n---\n%s---\n", strempty(error), text);
        FUZZ_ASSERT(r >= 0);

        r = pf_config_format(again, &text2);
        if (r == -ENOMEM)
                return;
        FUZZ_ASSERT(r >= 0);
        if (!streq(text, text2))
                fprintf(stderr, "format is not stable:\n---\n%s---\n%s---\n", text, text2);
        FUZZ_ASSERT(streq(text, text2));
        FUZZ_ASSERT(again->n_vfs == c->n_vfs);
        for (size_t i = 0; i < c->n_vfs; i++)
                FUZZ_ASSERT(policy_equal(&again->vfs[i].policy, &c->vfs[i].policy));
}

static void check_queries(const PfConfig *c) {
        const PfMatchInfo info = {
                .pci_address = "0000:01:00.0",
                .interface = "enp1s0f0",
                .driver = "igb",
                .vendor = 0x8086,
                .device = 0x10c9,
                .permanent_mac = "52:54:00:12:34:56",
        };
        VfPolicy p;

        (void) pf_config_matches(c, &info);
        for (size_t i = 0; i < c->n_vfs; i++) {
                FUZZ_ASSERT(c->vfs[i].first <= c->vfs[i].last);
                FUZZ_ASSERT(pf_config_vf_policy(c, c->vfs[i].first, &p));
                FUZZ_ASSERT(policy_validate(&p, NULL) >= 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(pf_config_freep) PfConfig *c = NULL, *partial = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        int r;

        text = fuzz_text(data, size);
        if (!text)
                return 0;

        /* pf.d's files need a [Match]; the store's do not. Both ways, as each reader calls it. */
        r = pf_config_parse_string("fuzz.conf", text, true, &c, &error, &partial);
        if (r >= 0) {
                FUZZ_ASSERT(c);
                check_queries(c);
                check_round_trip(c);
        } else if (r == -EBADMSG)
                FUZZ_ASSERT(error && startswith(error, "fuzz.conf:"));
        else
                FUZZ_ASSERT(r == -ENOMEM);

        c = pf_config_free(c);
        error = mfree(error);
        r = pf_config_parse_string(NULL, text, false, &c, &error, NULL);
        if (r >= 0)
                check_round_trip(c);
        return 0;
}
