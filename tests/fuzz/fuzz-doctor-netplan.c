/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sriovctl doctor's netplan reader (client/doctor/netplan.c, libyaml): the input is a netplan file;
 * what it finds is checked against two PFs. */
#include "fuzz-doctor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(netplan_vf_counts_done) NetplanVfCounts counts = {};
        _cleanup_(doctor_freep) Doctor *d = NULL;
        _cleanup_free_ char *text = NULL;
        ConfigFile file = {.path = (char *) "/etc/netplan/50-fuzz.yaml"};
        const ConfigFiles files = {.files = &file, .n = 1};
        PfInfo pfs[2];
        int r;

        text = fuzz_text(data, size);
        if (!text || doctor_new("/nonexistent", "6.1.0", &d) < 0)
                return 0;
        file.text = text;
        fuzz_doctor_pfs(pfs);

        r = netplan_load(d, &files, &counts);
        if (r == -ENOMEM)
                return 0;
        FUZZ_ASSERT(r >= 0);
        for (size_t i = 0; i < counts.n; i++) {
                FUZZ_ASSERT(counts.items[i].id && counts.items[i].count);
                FUZZ_ASSERT(streq(counts.items[i].path, file.path));
        }
        for (size_t i = 0; i < ELEMENTSOF(pfs); i++) {
                size_t n = 0;

                r = netplan_check_pf(d, &pfs[i], &counts, &n);
                FUZZ_ASSERT(r >= 0 || r == -ENOMEM);
                FUZZ_ASSERT(n <= counts.n);
        }
        fuzz_doctor_print(d);
        return 0;
}
