/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>

#include "build-config.h"
#include "config.h"
#include "log.h"
#include "leasing.h"
#include "manager-dbus.h"
#include "manager.h"
#include "names.h"

static char **arg_config_dirs = NULL;
static const char *arg_state_dir = SRIOVD_STATE_DIR;
static const char *arg_runtime_dir = SRIOVD_RUNTIME_DIR;
static bool arg_check_config = false;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Enforces SR-IOV VF counts and per-VF policy, and serves the io.sriovd D-Bus API.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show package version\n"
               "     --config-dir=DIR    Read DIR/pf.d/*.conf instead of /etc, /run and /usr/lib\n"
               "                         (repeatable; earlier directories mask later ones)\n"
               "     --state-dir=DIR     Keep persisted state in DIR (default " SRIOVD_STATE_DIR ")\n"
               "     --runtime-dir=DIR   Keep runtime state in DIR (default " SRIOVD_RUNTIME_DIR ")\n"
               "     --check-config      Check the configuration files and exit\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_CONFIG_DIR, ARG_STATE_DIR, ARG_RUNTIME_DIR, ARG_CHECK_CONFIG };
        static const struct option options[] = {{"help", no_argument, NULL, 'h'},
                                                {"version", no_argument, NULL, ARG_VERSION},
                                                {"config-dir", required_argument, NULL, ARG_CONFIG_DIR},
                                                {"state-dir", required_argument, NULL, ARG_STATE_DIR},
                                                {"runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR},
                                                {"check-config", no_argument, NULL, ARG_CHECK_CONFIG},
                                                {}};
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("sriovd " PACKAGE_VERSION);
                        return 0;
                case ARG_CONFIG_DIR:
                        if (strv_extend(&arg_config_dirs, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_STATE_DIR:
                        arg_state_dir = optarg;
                        break;
                case ARG_RUNTIME_DIR:
                        arg_runtime_dir = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("%s takes no arguments, got '%s'", program_invocation_short_name, argv[optind]);
                return -EINVAL;
        }
        if (!arg_config_dirs) {
                const char *defaults[] = {SRIOVD_CONFIG_DIR_ETC, SRIOVD_CONFIG_DIR_RUN,
                                          SRIOVD_CONFIG_DIR_LIB};
                for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                        if (strv_extend(&arg_config_dirs, defaults[i]) < 0)
                                return log_oom();
        }
        return 1;
}

static int check_config(void) {
        _cleanup_(config_set_freep) ConfigSet *c = NULL;
        int r;

        r = config_load(arg_config_dirs, &c);
        if (r < 0)
                return log_error_errno(r, "Failed to load configuration: %m");
        for (size_t i = 0; i < c->n_files; i++)
                printf("%s: OK\n", c->files[i]->path);
        for (size_t i = 0; i < c->n_errors; i++)
                fprintf(stderr, "%s\n", c->errors[i].message);
        return c->n_errors > 0 ? -EBADMSG : 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r <= 0)
                goto finish;

        if (arg_check_config) {
                r = check_config();
                goto finish;
        }

        r = manager_new(arg_config_dirs, arg_state_dir, arg_runtime_dir, &m);
        if (r < 0)
                goto finish;
        r = bus_setup(m);
        if (r >= 0)
                r = manager_start(m);
        if (r >= 0)
                r = lease_load_all(m);
        if (r >= 0)
                r = bus_request_name(m);
        if (r >= 0)
                r = manager_enforce(m);
        if (r >= 0)
                r = manager_run(m);
        /* a signal ends the loop with 0, a lost bus name with -errno, sd-bus with EXIT_FAILURE when the
         * connection to the bus went away */
        if (r > 0)
                r = log_error_errno(ENOTCONN,
                                    "Lost the connection to the system bus, exiting; VFs and lease "
                                    "journals stay for the next sriovd");
        /* callers still waiting hear that sriovd is stopping, before the bus goes */
        manager_stop(m);
        bus_done(m);

finish:
        strv_free(arg_config_dirs);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
