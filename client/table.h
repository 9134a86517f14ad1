/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsmartcols/libsmartcols.h>

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libscols_table *, scols_unref_table);

/* A table printed as text, or as JSON when --json is given, named by name in JSON. Headers and the
 * JSON keys differ: headers are for humans, keys are the D-Bus property names. */
int table_new(const char *name, struct libscols_table **ret);
int table_add_column(struct libscols_table *tb, const char *header, const char *json_key, int json_type,
                     int flags);
/* Sets cell i of line; NULL or "" prints as "-" in text and as null (numbers) or "" (strings) in JSON. */
int table_set_cell(struct libscols_table *tb, struct libscols_line *line, size_t i, const char *value);
int table_print(struct libscols_table *tb);
