/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* The Prometheus text exposition format (version 0.0.4), as node exporter's textfile collector reads
 * it: every sample of a metric follows its # HELP and # TYPE lines. */

typedef struct PromLabel {
        const char *name;
        const char *value; /* NULL is written as "" */
} PromLabel;

/* Writes s as a label value between double quotes: backslash, double quote and newline escaped as
 * \\, \" and \n, everything else (UTF-8 included) as it is. */
void prom_write_label_value(FILE *f, const char *s);

/* Writes the # HELP and # TYPE lines of a metric; in help, backslash and newline are escaped. */
void prom_write_family(FILE *f, const char *name, const char *type, const char *help);

/* Writes one sample: name{label="value",...} value. */
void prom_write_sample(FILE *f, const char *name, const PromLabel *labels, size_t n_labels,
                       const char *value);
