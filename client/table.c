/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sriovctl.h"
#include "table.h"

int table_new(struct libscols_table **ret) {
        struct libscols_table *tb;

        tb = scols_new_table();
        if (!tb)
                return -ENOMEM;
        if (scols_table_enable_noheadings(tb, !arg_legend) < 0) {
                scols_unref_table(tb);
                return -ENOMEM;
        }
        *ret = tb;
        return 0;
}

int table_add_column(struct libscols_table *tb, const char *header, int flags) {
        return scols_table_new_column(tb, header, 0, flags) ? 0 : -ENOMEM;
}

int table_set_cell(struct libscols_line *line, size_t i, const char *value) {
        return scols_line_set_data(line, i, isempty(value) ? "-" : value);
}

int table_print(struct libscols_table *tb) {
        int r;

        r = scols_print_table(tb);
        if (r < 0)
                return r;
        return fflush(stdout) == 0 ? 0 : -errno;
}
