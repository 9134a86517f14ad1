/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libsmartcols/libsmartcols.h>

#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libscols_table *, scols_unref_table);

/* Tables for humans. --json output does not go through them: it carries every property under its
 * D-Bus name and type (see property_bag_write_json()). */
int table_new(struct libscols_table **ret);
int table_add_column(struct libscols_table *tb, const char *header, int flags);
/* Sets cell i of line; NULL or "" prints as "-". */
int table_set_cell(struct libscols_line *line, size_t i, const char *value);
int table_print(struct libscols_table *tb);
