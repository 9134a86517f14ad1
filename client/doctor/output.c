/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The results for people, grouped by host, PF and daemon, and as JSON. */
#include "doctor-internal.h"
#include "json-out.h"

static const char *status_symbol(DoctorStatus s, bool utf8) {
        switch (s) {
        case DOCTOR_OK:
                return utf8 ? "\342\234\223" : "+"; /* ✓ */
        case DOCTOR_WARN:
                return "!";
        case DOCTOR_FAIL:
                return utf8 ? "\342\234\227" : "x"; /* ✗ */
        case DOCTOR_INFO:
                return "i";
        default:
                return "-";
        }
}

static const char *device_description(const Doctor *d, const char *address) {
        for (size_t i = 0; i < d->n_devices; i++)
                if (streq(d->devices[i].address, address))
                        return d->devices[i].description;
        return NULL;
}

int doctor_print(const Doctor *d, FILE *f, bool utf8, bool legend) {
        const DoctorResult *prev = NULL;

        for (size_t i = 0; i < d->n_results; i++) {
                const DoctorResult *r = &d->results[i];

                if (!prev || prev->section != r->section ||
                    (r->section == DOCTOR_SECTION_PF && !streq_ptr(prev->device, r->device))) {
                        if (prev)
                                fputc('\n', f);
                        if (r->section == DOCTOR_SECTION_HOST)
                                fputs("Host:\n", f);
                        else if (r->section == DOCTOR_SECTION_DAEMON)
                                fputs("sriovd:\n", f);
                        else {
                                const char *desc = device_description(d, r->device);
                                fprintf(f, "Physical function %s%s%s%s:\n", r->device, desc ? " (" : "",
                                        strempty(desc), desc ? ")" : "");
                        }
                }
                prev = r;

                fprintf(f, "  %s %s\n", status_symbol(r->status, utf8), r->summary);
                if (r->fix && r->status >= DOCTOR_WARN) {
                        bool first = true;

                        for (const char *p = r->fix; *p;) {
                                const char *e = strchrnul(p, '\n');

                                fprintf(f, "      %s%.*s\n", first ? "Fix: " : "     ", (int) (e - p), p);
                                first = false;
                                p = *e ? e + 1 : e;
                        }
                }
        }

        if (legend) {
                size_t fails = doctor_count(d, DOCTOR_FAIL), warns = doctor_count(d, DOCTOR_WARN);

                fprintf(f, "\n%zu check%s: %zu ok, %zu warning%s, %zu failed.%s\n", d->n_results,
                        d->n_results == 1 ? "" : "s", doctor_count(d, DOCTOR_OK), warns,
                        warns == 1 ? "" : "s", fails,
                        fails > 0 ? " SR-IOV passthrough will not work until the failures are fixed." : "");
        }

        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

int doctor_print_json(const Doctor *d, FILE *f) {
        fputc('[', f);
        for (size_t i = 0; i < d->n_results; i++) {
                const DoctorResult *r = &d->results[i];

                fputs(i > 0 ? ",\n  " : "\n  ", f);
                fputs("{\"check\": ", f);
                json_write_string(f, r->check);
                fputs(", \"device\": ", f);
                if (r->device)
                        json_write_string(f, r->device);
                else
                        fputs("null", f);
                fputs(", \"status\": ", f);
                json_write_string(f, doctor_status_to_string(r->status));
                fputs(", \"summary\": ", f);
                json_write_string(f, r->summary);
                fputs(", \"fix\": ", f);
                if (r->fix)
                        json_write_string(f, r->fix);
                else
                        fputs("null", f);
                fputc('}', f);
        }
        fputs(d->n_results > 0 ? "\n]\n" : "]\n", f);
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
