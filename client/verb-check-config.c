/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "json-out.h"
#include "names.h"
#include "sriovctl.h"

/* Checks the files locally with the parser the daemon uses, so it works without the daemon and
 * reports exactly the messages the daemon would log. */
int verb_check_config(int argc, char *argv[]) {
        _cleanup_(config_set_freep) ConfigSet *set = NULL;
        char *default_dirs[] = {
                (char *) SRIOVD_CONFIG_DIR_ETC,
                (char *) SRIOVD_CONFIG_DIR_RUN,
                (char *) SRIOVD_CONFIG_DIR_LIB,
                NULL,
        };
        char **files = argv + 1;
        int r;

        if (argc > 1 && arg_config_dirs)
                return log_usage("Give either FILEs or --config-dir, not both.");

        if (argc > 1)
                r = config_load_files(files, &set);
        else
                r = config_load(arg_config_dirs ?: default_dirs, &set);
        if (r < 0)
                return log_error_errno(r, "Failed to load the configuration: %m");

        if (arg_json) {
                fputs("{\"files\": [", stdout);
                for (size_t i = 0; i < set->n_files; i++) {
                        if (i > 0)
                                fputs(", ", stdout);
                        json_write_string(stdout, set->files[i]->path);
                }
                fputs("], \"errors\": [", stdout);
                for (size_t i = 0; i < set->n_errors; i++) {
                        if (i > 0)
                                fputs(", ", stdout);
                        fputs("{\"file\": ", stdout);
                        json_write_string(stdout, set->errors[i].path);
                        fputs(", \"message\": ", stdout);
                        json_write_string(stdout, set->errors[i].message);
                        fputc('}', stdout);
                }
                fputs("]}\n", stdout);
        } else {
                for (size_t i = 0; i < set->n_errors; i++)
                        fprintf(stderr, "%s\n", set->errors[i].message);

                if (arg_legend) {
                        if (set->n_files + set->n_errors == 0)
                                printf("No configuration files found.\n");
                        else if (set->n_errors == 0)
                                printf("%zu file%s OK.\n", set->n_files, set->n_files == 1 ? "" : "s");
                        else
                                printf("%zu file%s OK, %zu refused.\n", set->n_files,
                                       set->n_files == 1 ? "" : "s", set->n_errors);
                }
        }

        if (fflush(stdout) != 0)
                return log_error_errno(errno, "Failed to write output: %m");

        return set->n_errors > 0 ? EXIT_FAILURE : 0;
}
