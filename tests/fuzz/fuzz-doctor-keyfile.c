/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sriovctl doctor's keyfile reader (client/doctor/conflicts.c, on common/ini.c's lexer): the input is
 * a NetworkManager profile, a systemd .link file and an rc.local at once, checked against two PFs. */
#include "fuzz-doctor.h"

static int one_file(ConfigFiles *files, const char *path, const char *text, bool executable) {
        files->files = calloc(1, sizeof(ConfigFile));
        if (!files->files)
                return -ENOMEM;
        files->files[0] = (ConfigFile){
                .path = strdup(path),
                .text = strdup(text),
                .executable = executable,
        };
        files->n = 1;
        return files->files[0].path && files->files[0].text ? 0 : -ENOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(doctor_freep) Doctor *d = NULL;
        _cleanup_free_ char *text = NULL;
        Conflicts c = {};
        PfInfo pfs[2];

        text = fuzz_text(data, size);
        if (!text || doctor_new("/nonexistent", "6.1.0", &d) < 0)
                return 0;
        fuzz_doctor_pfs(pfs);

        if (one_file(&c.nm, "/etc/NetworkManager/system-connections/fuzz.nmconnection", text, false) >= 0 &&
            one_file(&c.links, "/etc/systemd/network/10-fuzz.link", text, false) >= 0 &&
            one_file(&c.rc, "/etc/rc.local", text, size % 2 == 0) >= 0)
                for (size_t i = 0; i < ELEMENTSOF(pfs); i++) {
                        int r = conflicts_check_pf(d, &pfs[i], pfs, ELEMENTSOF(pfs), &c);
                        FUZZ_ASSERT(r >= 0 || r == -ENOMEM);
                }
        conflicts_done(&c);

        for (size_t i = 0; i < d->n_results; i++) {
                FUZZ_ASSERT(d->results[i].summary);
                FUZZ_ASSERT(d->results[i].status < DOCTOR_WARN || d->results[i].fix);
        }
        fuzz_doctor_print(d);
        return 0;
}
