/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the doctor targets share: two PFs as sysfs would show them, and the report printed both ways
 * (results carry text from the files, which the printers must take whatever it is). */

#include "doctor-internal.h"
#include "fuzz.h"

static inline void fuzz_doctor_pfs(PfInfo pfs[static 2]) {
        static char *ifnames0[] = {(char *) "enp59s0f0", (char *) "uplink0", NULL};
        static char *ifnames1[] = {(char *) "enp59s0f1", NULL};
        static char *vfs[] = {(char *) "0000:3b:02.0", (char *) "0000:3b:02.1", NULL};

        pfs[0] = (PfInfo){
                .address = (char *) "0000:3b:00.0",
                .driver = (char *) "i40e",
                .ifnames = ifnames0,
                .mac = (char *) "3c:fd:fe:a1:b2:c0",
                .id_path = (char *) "pci-0000:3b:00.0",
                .total_vfs = 64,
                .num_vfs = 2,
                .vfs = vfs,
        };
        pfs[1] = (PfInfo){
                .address = (char *) "0000:3b:00.1",
                .driver = (char *) "i40e",
                .ifnames = ifnames1,
                .mac = (char *) "3c:fd:fe:a1:b2:c1",
                .id_path = (char *) "pci-0000:3b:00.1",
                .total_vfs = 64,
        };
}

static inline void fuzz_doctor_print(const Doctor *d) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return;
        (void) doctor_print(d, f, true, true);
        (void) doctor_print_json(d, f);
        fclose(f);
}
