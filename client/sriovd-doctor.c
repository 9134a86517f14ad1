/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sriovd's diagnostics helper: the host checks of `sriovctl doctor`, run by sriovd for
 * io.sriovd1.Manager.RunDiagnostics() in a process of their own, so that reading the host never
 * holds up the daemon's event loop. It takes no arguments and writes one record per check on
 * standard output: check, device, status, summary and fix, each ended by a NUL byte (an empty
 * device: the host; an empty fix: none). Exit status 0 when the records were written, whatever
 * the checks found. */
#include <stdio.h>
#include <stdlib.h>

#include "doctor/doctor.h"

static void put_field(const char *s) {
        fputs(strempty(s), stdout);
        fputc('\0', stdout);
}

int main(int argc, char *argv[]) {
        _cleanup_(doctor_freep) Doctor *d = NULL;
        int r;

        if (argc != 1) {
                fprintf(stderr, "%s takes no arguments; sriovd runs it for RunDiagnostics().\n",
                        program_invocation_short_name);
                return 2;
        }

        r = doctor_new(NULL, NULL, &d);
        if (r >= 0)
                r = doctor_check_host(d);
        if (r < 0) {
                fprintf(stderr, "Failed to run the checks: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        for (size_t i = 0; i < d->n_results; i++) {
                const DoctorResult *c = &d->results[i];

                put_field(c->check);
                put_field(c->device);
                put_field(doctor_status_to_string(c->status));
                put_field(c->summary);
                put_field(c->fix);
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "Failed to write the records: %m\n");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
