/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lease journal parser (daemon/lease.c: lease_journal_parse_text()) on a journal file's text, named
 * as the lease the seeds hold. A journal it accepts must be written back by lease_journal_save() to
 * one that parses to the same lease: sriovd reads at start what it wrote before. What it salvages from
 * a corrupt one must name a PF and a VF and hold recorded keys only. And the writer on what a caller
 * chooses: the input's first line as the Consumer= of a new lease (if the bus would take it) must come
 * back as it was, and never as more than one key. */
#include "fuzz.h"
#include "lease.h"
#include "log.h"

#define ID "6d5c8a1e0b7f4c2a9e3d1f0a2b4c6d8e"

static ChangeQueue changes; /* not enabled: marks are dropped */
static LeaseTable table;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        _cleanup_free_ char *dir = fuzz_make_tmpdir("lease-journal");

        if (lease_table_init(&table, &changes, dir) < 0)
                abort();
        log_set_max_level(LOG_CRIT);
        return 0;
}

static void check_same(const Lease *a, const Lease *b) {
        FUZZ_ASSERT(streq(a->id, b->id));
        FUZZ_ASSERT(streq(a->object_path, b->object_path));
        FUZZ_ASSERT(streq(a->pf_address, b->pf_address));
        FUZZ_ASSERT(a->vf_index == b->vf_index);
        /* no Consumer and an empty one read the same on the bus */
        if (!streq(strempty(a->consumer), strempty(b->consumer)))
                fprintf(stderr, "Consumer=\"%s\" came back as \"%s\"\n", strempty(a->consumer),
                        strempty(b->consumer));
        FUZZ_ASSERT(streq(strempty(a->consumer), strempty(b->consumer)));
        FUZZ_ASSERT(streq_ptr(a->owner, b->owner));
        FUZZ_ASSERT(streq(a->owner_bus_id, b->owner_bus_id));
        FUZZ_ASSERT(a->owner_uid == b->owner_uid);
        FUZZ_ASSERT(a->persistent == b->persistent);
        FUZZ_ASSERT(a->created_at == b->created_at);
        FUZZ_ASSERT(a->applied == b->applied);
        FUZZ_ASSERT(a->saved.set == b->saved.set && policy_equal(&a->saved, &b->saved));
        FUZZ_ASSERT(a->options.set == b->options.set && policy_equal(&a->options, &b->options));
}

static void check_round_trip(const Lease *l) {
        _cleanup_(lease_freep) Lease *again = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL, *error = NULL;
        int r;

        r = lease_journal_save(&table, l);
        if (r == -ENOMEM)
                return;
        FUZZ_ASSERT(r >= 0);
        if (asprintf_safe(&path, "%s/%s.lease", table.dir, l->id) < 0)
                return;
        FUZZ_ASSERT(read_full_file(path, SIZE_MAX, &text, NULL) >= 0);
        FUZZ_ASSERT(unlink(path) == 0);

        r = lease_journal_parse_text(&table, text, l->id, &again, &error);
        if (r == -ENOMEM)
                return;
        if (r < 0)
                fprintf(stderr, "a journal it wrote does not parse: %s\n---\n%s---\n", strempty(error),
                        text);
        FUZZ_ASSERT(r >= 0);
        check_same(l, again);
}

/* A lease as leasing.c makes one for a caller whose Consumer is consumer. */
static void check_new_lease(const char *consumer, unsigned index) {
        _cleanup_(lease_freep) Lease *l = NULL;

        /* what leasing.c refuses before a lease exists */
        if (!string_is_safe(consumer, LEASE_CONSUMER_MAX))
                return;
        if (lease_new(&table, &l) < 0)
                return;
        memcpy(l->pf_address, "0000:3b:00.0", sizeof "0000:3b:00.0");
        l->vf_index = index;
        l->consumer = strdup(consumer);
        l->owner = strdup(":1.42");
        if (!l->consumer || !l->owner)
                return;
        l->owner_uid = 1000;
        l->applied = true;
        check_round_trip(l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(lease_freep) Lease *l = NULL;
        _cleanup_free_ char *text = NULL, *error = NULL;
        char a[PCI_ADDRESS_MAX];
        int r;

        /* the loader reads at most 64 KiB and stops at a NUL byte */
        text = fuzz_text(data, size);
        if (!text)
                return 0;

        {
                _cleanup_free_ char *first = strndup(text, strcspn(text, "\n"));
                if (first)
                        check_new_lease(first, (unsigned) size);
        }

        r = lease_journal_parse_text(&table, text, ID, &l, &error);
        if (r == -ENOMEM)
                return 0;
        if (r == -EBADMSG) {
                FUZZ_ASSERT(error);
                if (!l)
                        return 0;
                /* salvaged: a PF and VF beyond doubt, and recorded keys only */
                FUZZ_ASSERT(pci_address_normalize(l->pf_address, a) >= 0 && streq(a, l->pf_address));
                FUZZ_ASSERT(l->options.set == 0);
                FUZZ_ASSERT(!l->consumer && !l->owner && !l->applied && !l->persistent);
                FUZZ_ASSERT(l->object_path && !streq(l->id, ID));
                return 0;
        }
        FUZZ_ASSERT(r == 0);
        FUZZ_ASSERT(l && !error);
        FUZZ_ASSERT(streq(l->id, ID) && l->object_path);
        FUZZ_ASSERT(pci_address_normalize(l->pf_address, a) >= 0 && streq(a, l->pf_address));
        check_round_trip(l);
        return 0;
}
