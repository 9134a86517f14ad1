/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>

#include "prometheus.h"

static void write_escaped(FILE *f, const char *s, bool quote) {
        for (const char *p = s ?: ""; *p; p++)
                switch (*p) {
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '"':
                        fputs(quote ? "\\\"" : "\"", f);
                        break;
                default:
                        fputc(*p, f);
                }
}

void prom_write_label_value(FILE *f, const char *s) {
        fputc('"', f);
        write_escaped(f, s, true);
        fputc('"', f);
}

void prom_write_family(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s ", name);
        write_escaped(f, help, false);
        fprintf(f, "\n# TYPE %s %s\n", name, type);
}

void prom_write_sample(FILE *f, const char *name, const PromLabel *labels, size_t n_labels,
                       const char *value) {
        fputs(name, f);
        if (n_labels > 0) {
                fputc('{', f);
                for (size_t i = 0; i < n_labels; i++) {
                        if (i > 0)
                                fputc(',', f);
                        fprintf(f, "%s=", labels[i].name);
                        prom_write_label_value(f, labels[i].value);
                }
                fputc('}', f);
        }
        fprintf(f, " %s\n", value);
}
