/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sriovctl.h"
#include "table.h"

int table_new(const char *name, struct libscols_table **ret) {
        struct libscols_table *tb;

        tb = scols_new_table();
        if (!tb)
                return -ENOMEM;
        if (scols_table_set_name(tb, name) < 0 || scols_table_enable_json(tb, arg_json) < 0 ||
            scols_table_enable_noheadings(tb, !arg_legend) < 0) {
                scols_unref_table(tb);
                return -ENOMEM;
        }
        *ret = tb;
        return 0;
}

int table_add_column(struct libscols_table *tb, const char *header, const char *json_key, int json_type,
                     int flags) {
        struct libscols_column *cl;

        cl = scols_table_new_column(tb, arg_json ? json_key : header, 0, flags);
        if (!cl)
                return -ENOMEM;
        return scols_column_set_json_type(cl, json_type);
}

int table_set_cell(struct libscols_table *tb, struct libscols_line *line, size_t i, const char *value) {
        if (isempty(value)) {
                if (!arg_json)
                        value = "-";
                else {
                        struct libscols_column *cl = scols_table_get_column(tb, i);

                        /* libsmartcols writes a number column without data as null. */
                        value = scols_column_get_json_type(cl) == SCOLS_JSON_STRING ? "" : NULL;
                }
        }
        return scols_line_set_data(line, i, value);
}

int table_print(struct libscols_table *tb) {
        int r;

        r = scols_print_table(tb);
        if (r < 0)
                return r;
        return fflush(stdout) == 0 ? 0 : -errno;
}
