/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>

#include "build-config.h"
#include "bus-errors.h"
#include "bus-props.h"
#include "names.h"
#include "policy.h"
#include "sriovctl.h"

bool arg_json = false;
bool arg_legend = true;
bool arg_ask_password = true;
bool arg_runtime = false;
bool arg_force = false;
unsigned arg_wait_sec = 0;
const char *arg_host = NULL;
char **arg_config_dirs = NULL;
const char *arg_root = NULL;
const char *arg_consumer = NULL;
bool arg_persistent = false;
bool arg_libvirt_xml = false;
bool arg_prometheus = false;

/* Options that only some verbs take; a verb given one it does not take is a usage error. */
typedef enum VerbOption {
        OPTION_RUNTIME = 1 << 0,
        OPTION_FORCE = 1 << 1,
        OPTION_CONFIG_DIR = 1 << 2,
        OPTION_ROOT = 1 << 3,
        OPTION_CONSUMER = 1 << 4,
        OPTION_PERSISTENT = 1 << 5,
        OPTION_LIBVIRT_XML = 1 << 6,
        OPTION_FORMAT = 1 << 7,
        OPTION_WAIT = 1 << 8,
        _OPTION_LAST = OPTION_WAIT,
} VerbOption;

#define ARGS_ANY UINT_MAX

typedef struct Verb {
        const char *name;
        unsigned min_args; /* not counting the verb */
        unsigned max_args;
        bool is_default;
        VerbOption options;
        int (*run)(int argc, char *argv[]);
        const char *synopsis;
        const char *help;
} Verb;

static const Verb verbs[] = {
        {"status", 0, 0, true, OPTION_FORMAT, verb_status, "",
         "Show every physical function, its VF counts and state"},
        {"show", 1, 1, false, 0, verb_show, "DEVICE", "Show a physical function and its virtual functions"},
        {"set-numvfs", 2, 2, false, OPTION_RUNTIME | OPTION_FORCE | OPTION_WAIT, verb_set_numvfs, "DEVICE N",
         "Set the number of VFs of a physical function"},
        {"set-vf", 3, ARGS_ANY, false, OPTION_RUNTIME, verb_set_vf, "DEVICE INDEX KEY=VALUE...",
         "Set the policy of one virtual function"},
        {"apply", 0, 0, false, 0, verb_apply, "", "Reconcile every managed physical function now"},
        {"reload", 0, 0, false, 0, verb_reload, "", "Re-read the configuration, then reconcile"},
        {"monitor", 0, 0, false, 0, verb_monitor, "",
         "Print changes of physical and virtual functions as they happen"},
        {"check-config", 0, ARGS_ANY, false, OPTION_CONFIG_DIR, verb_check_config, "[FILE...]",
         "Check configuration files without applying them"},
        {"doctor", 0, 0, false, OPTION_ROOT, verb_doctor, "",
         "Check whether SR-IOV passthrough works on this host, and how to fix it"},
        {"libvirt-xml", 2, 2, false, 0, verb_libvirt_xml, "DEVICE INDEX",
         "Print a VF as libvirt <interface type='hostdev'> element"},
        {"request", 0, ARGS_ANY, false, OPTION_CONSUMER | OPTION_PERSISTENT | OPTION_LIBVIRT_XML,
         verb_request, "[DEVICE] [KEY=VALUE...]",
         "Lease a free VF (of DEVICE, or of any PF) with these settings"},
        {"release", 1, 1, false, 0, verb_release, "LEASE", "Release a lease and restore its VF"},
        {"leases", 0, 0, false, 0, verb_leases, "", "List the leases of virtual functions"},
};

_printf_(2, 0) static void log_internal(const char *prefix, const char *format, va_list ap) {
        fprintf(stderr, "%s: %s", program_invocation_short_name, prefix);
        vfprintf(stderr, format, ap);
        fputc('\n', stderr);
}

void log_error_internal(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_internal("", format, ap);
        va_end(ap);
}

void log_warning_internal(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        log_internal("warning: ", format, ap);
        va_end(ap);
}

const char *bus_error_message(const sd_bus_error *e, int r) {
        if (e && e->message)
                return e->message;
        return strerror(abs(r));
}

int acquire_bus(sd_bus **ret) {
        static sd_bus *bus = NULL;
        int r;

        if (!bus) {
                if (arg_host)
                        r = sd_bus_open_system_remote(&bus, arg_host);
                else
                        r = sd_bus_open_system(&bus);
                if (r < 0)
                        return log_error_errno(r, "Failed to connect to the system bus%s%s: %m",
                                               arg_host ? " on " : "", strempty(arg_host));

                /* Lets polkit ask for a password once the daemon checks authorization through it. */
                r = sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
                if (r < 0)
                        return log_error_errno(r, "Failed to set interactive authorization: %m");
        }

        *ret = bus;
        return 0;
}

int manager_list(sd_bus *bus, const char *method, const char *what, char ***ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE, method,
                               &error, &reply, NULL);
        if (r < 0) {
                log_error("Failed to list %s: %s", what, bus_error_message(&error, r));
                return r;
        }
        r = sd_bus_message_read_strv(reply, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply of %s: %m", method);
        return 0;
}

static int resolve_pf(sd_bus *bus, const char *device, char **ret_path) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        char *p;
        int r;

        r = sd_bus_call_method(bus, SRIOVD_BUS_NAME, SRIOVD_MANAGER_PATH, SRIOVD_MANAGER_INTERFACE,
                               "GetPhysicalFunction", &error, &reply, "s", device);
        if (r < 0) {
                log_error("Failed to find physical function %s: %s", device, bus_error_message(&error, r));
                return r;
        }

        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_error_errno(r, "Failed to parse reply of GetPhysicalFunction: %m");

        p = strdup(path);
        if (!p)
                return log_error_errno(ENOMEM, "Out of memory.");
        *ret_path = p;
        return 0;
}

int acquire_pf(const char *device, sd_bus **ret_bus, char **ret_path, PropertyBag *ret_properties) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(property_bag_done) PropertyBag properties = {};
        _cleanup_free_ char *path = NULL;
        sd_bus *bus;
        int r;

        r = acquire_bus(&bus);
        if (r < 0)
                return r;

        r = resolve_pf(bus, device, &path);
        if (r < 0)
                return r;

        if (ret_properties) {
                r = property_bag_get_all(bus, path, SRIOVD_PF_INTERFACE, &properties, &error);
                if (r < 0) {
                        log_error("Failed to read properties of %s: %s", device,
                                  bus_error_message(&error, r));
                        return r;
                }
                *ret_properties = properties;
                properties = (PropertyBag){};
        }
        *ret_bus = bus;
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

int parse_policy_args(char **args, VfPolicy *policy) {
        for (char **a = args; a && *a; a++) {
                _cleanup_free_ char *key = NULL, *error = NULL;
                const char *eq = strchr(*a, '=');
                PolicyKey k;
                int r;

                if (!eq || eq == *a)
                        return log_usage("Expected KEY=VALUE, got '%s'.", *a);

                key = strndup(*a, eq - *a);
                if (!key)
                        return log_error_errno(ENOMEM, "Out of memory.");

                k = policy_key_from_string(key);
                if (k < 0)
                        return log_usage("Unknown key '%s'. See '%s --help' for the keys.", key,
                                         program_invocation_short_name);

                r = policy_set_from_string(policy, k, eq + 1, &error);
                if (r < 0) {
                        if (error)
                                return log_usage("%s", error);
                        return log_usage("Invalid value '%s' for %s.", eq + 1, policy_key_to_string(k));
                }
        }

        return 0;
}

int call_long_method(sd_bus *bus, sd_bus_message *m, const char *what) {
        return call_method_timeout(bus, m, SRIOVCTL_LONG_CALL_USEC, what);
}

int call_method_timeout(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, const char *what) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(bus, m, timeout_usec, &error, NULL);
        if (r < 0) {
                log_error("Failed to %s: %s", what, bus_error_message(&error, r));
                return r;
        }
        return 0;
}

int block_exit_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        return 0;
}

int bus_event_loop_new(sd_bus *bus, sd_event_signal_handler_t on_signal, void *userdata, sd_event **ret) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate an event loop: %m");

        r = sd_event_add_signal(event, NULL, SIGINT, on_signal, userdata);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, userdata);
        if (r < 0)
                return log_error_errno(r, "Failed to handle signals: %m");

        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");

        /* A lost bus connection ends the loop with EXIT_FAILURE. */
        (void) sd_bus_set_exit_on_disconnect(bus, true);

        *ret = TAKE_PTR(event);
        return 0;
}

static void help(void) {
        size_t column;

        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Query and control SR-IOV physical and virtual functions through sriovd.\n\n"
               "Commands:\n",
               program_invocation_short_name);

        for (size_t i = 0; i < ELEMENTSOF(verbs); i++) {
                _cleanup_free_ char *left =
                        strjoin(verbs[i].name, isempty(verbs[i].synopsis) ? "" : " ", verbs[i].synopsis);

                printf("  %-32s %s%s\n", left ?: verbs[i].name, verbs[i].help,
                       verbs[i].is_default ? " (default)" : "");
        }

        printf("\nKeys for set-vf and request (as in the configuration files, or short):\n ");
        column = 1;
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                const char *key = policy_key_to_string(k);

                if (column + strlen(key) + 2 > 100) {
                        printf("\n ");
                        column = 1;
                }
                column += printf(" %s=", key);
        }
        printf("\n ");
        column = 1;
        for (PolicyKey k = 0; k < _POLICY_KEY_MAX; k++) {
                const char *key = policy_key_short_name(k);

                if (column + strlen(key) + 2 > 100) {
                        printf("\n ");
                        column = 1;
                }
                column += printf(" %s=", key);
        }
        putchar('\n');

        printf("\nOptions:\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --json              Print JSON (status, show, monitor, check-config, doctor,\n"
               "                         request, leases)\n"
               "     --format=FORMAT     status: table (default), json (as --json) or prometheus\n"
               "                         (text exposition format, for node exporter's textfile collector)\n"
               "     --no-legend         Do not print column headers and footers\n"
               "  -H --host=[USER@]HOST  Operate on a remote host over ssh\n"
               "     --no-ask-password   Do not ask for a password to authorize\n"
               "     --runtime           set-numvfs, set-vf: change until reboot, do not persist\n"
               "     --force             set-numvfs: even when VFs are leased or bound to vfio-pci\n"
               "     --wait=SECONDS      set-numvfs: ask the holders of leased VFs to release them, wait\n"
               "                         up to SECONDS (1-3600) for them, then change the count\n"
               "     --config-dir=DIR    check-config: read DIR/pf.d/ instead of the default\n"
               "                         directories; may be given several times\n"
               "     --root=DIR          doctor: read /sys, /proc, /etc and /lib below DIR\n"
               "     --consumer=NAME     request: who holds the lease (shown by leases)\n"
               "     --persistent        request: keep the lease after sriovctl exits, until released\n"
               "                         (without it, request holds the lease until interrupted)\n"
               "     --libvirt-xml       request: print the leased VF as libvirt <interface> element\n"
               "\nExit status: 0 success, 1 failure, 2 usage error. See sriovctl(1).\n");
}

static const char *option_name(VerbOption o) {
        switch (o) {
        case OPTION_RUNTIME:
                return "--runtime";
        case OPTION_FORCE:
                return "--force";
        case OPTION_CONFIG_DIR:
                return "--config-dir";
        case OPTION_ROOT:
                return "--root";
        case OPTION_CONSUMER:
                return "--consumer";
        case OPTION_PERSISTENT:
                return "--persistent";
        case OPTION_LIBVIRT_XML:
                return "--libvirt-xml";
        case OPTION_FORMAT:
                return "--format";
        case OPTION_WAIT:
                return "--wait";
        }
        return "?";
}

enum {
        ARG_VERSION = 0x100,
        ARG_JSON,
        ARG_NO_LEGEND,
        ARG_NO_ASK_PASSWORD,
        ARG_RUNTIME,
        ARG_FORCE,
        ARG_CONFIG_DIR,
        ARG_ROOT,
        ARG_CONSUMER,
        ARG_PERSISTENT,
        ARG_LIBVIRT_XML,
        ARG_FORMAT,
        ARG_WAIT,
};

/* The options that apply to some verbs only, recorded in *given so that dispatch_verb() refuses them
 * elsewhere. Returns 0, EXIT_USAGE or -errno, having logged. */
static int parse_verb_option(int c, const char *value, VerbOption *given) {
        int r;

        switch (c) {
        case ARG_RUNTIME:
                arg_runtime = true;
                *given |= OPTION_RUNTIME;
                break;
        case ARG_FORCE:
                arg_force = true;
                *given |= OPTION_FORCE;
                break;
        case ARG_CONFIG_DIR:
                if (isempty(value))
                        return log_usage("--config-dir= needs a directory.");
                r = strv_extend(&arg_config_dirs, value);
                if (r < 0)
                        return log_error_errno(r, "Out of memory.");
                *given |= OPTION_CONFIG_DIR;
                break;
        case ARG_ROOT:
                if (isempty(value))
                        return log_usage("--root= needs a directory.");
                arg_root = value;
                *given |= OPTION_ROOT;
                break;
        case ARG_CONSUMER:
                if (isempty(value))
                        return log_usage("--consumer= needs a name.");
                arg_consumer = value;
                *given |= OPTION_CONSUMER;
                break;
        case ARG_PERSISTENT:
                arg_persistent = true;
                *given |= OPTION_PERSISTENT;
                break;
        case ARG_LIBVIRT_XML:
                arg_libvirt_xml = true;
                *given |= OPTION_LIBVIRT_XML;
                break;
        case ARG_FORMAT:
                if (streq(value, "table"))
                        arg_prometheus = false;
                else if (streq(value, "json"))
                        arg_json = true;
                else if (streq(value, "prometheus"))
                        arg_prometheus = true;
                else
                        return log_usage("Unknown output format '%s'; expected table, json or prometheus.",
                                         value);
                *given |= OPTION_FORMAT;
                break;
        case ARG_WAIT:
                if (safe_atou(value, &arg_wait_sec) < 0 || arg_wait_sec < 1 ||
                    arg_wait_sec > SRIOVD_WAIT_SEC_MAX)
                        return log_usage(
                                "Invalid --wait '%s': a number of seconds from 1 to %u is expected.", value,
                                SRIOVD_WAIT_SEC_MAX);
                *given |= OPTION_WAIT;
                break;
        }
        return 0;
}

/* Returns 1 to go on, 0 to exit successfully, EXIT_USAGE on a usage error. */
static int parse_argv(int argc, char *argv[], VerbOption *ret_options) {
        static const struct option options[] = {{"help", no_argument, NULL, 'h'},
                                                {"version", no_argument, NULL, ARG_VERSION},
                                                {"json", no_argument, NULL, ARG_JSON},
                                                {"no-legend", no_argument, NULL, ARG_NO_LEGEND},
                                                {"host", required_argument, NULL, 'H'},
                                                {"no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD},
                                                {"runtime", no_argument, NULL, ARG_RUNTIME},
                                                {"force", no_argument, NULL, ARG_FORCE},
                                                {"config-dir", required_argument, NULL, ARG_CONFIG_DIR},
                                                {"root", required_argument, NULL, ARG_ROOT},
                                                {"consumer", required_argument, NULL, ARG_CONSUMER},
                                                {"persistent", no_argument, NULL, ARG_PERSISTENT},
                                                {"libvirt-xml", no_argument, NULL, ARG_LIBVIRT_XML},
                                                {"format", required_argument, NULL, ARG_FORMAT},
                                                {"wait", required_argument, NULL, ARG_WAIT},
                                                {}};
        VerbOption given = 0;
        int c, r;

        /* Errors of our own, in our format. */
        opterr = 0;

        while ((c = getopt_long(argc, argv, ":hH:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("sriovctl %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        break;
                case 'H':
                        arg_host = optarg;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_RUNTIME:
                case ARG_FORCE:
                case ARG_CONFIG_DIR:
                case ARG_ROOT:
                case ARG_CONSUMER:
                case ARG_PERSISTENT:
                case ARG_LIBVIRT_XML:
                case ARG_FORMAT:
                case ARG_WAIT:
                        r = parse_verb_option(c, optarg, &given);
                        if (r != 0)
                                return r;
                        break;
                case ':':
                        return log_usage("Option '%s' needs an argument. See '%s --help'.", argv[optind - 1],
                                         program_invocation_short_name);
                case '?':
                default:
                        if (optopt > 0 && optopt < 0x100)
                                return log_usage("Unknown option '-%c'. See '%s --help'.", optopt,
                                                 program_invocation_short_name);
                        return log_usage("Unknown option '%s'. See '%s --help'.", argv[optind - 1],
                                         program_invocation_short_name);
                }

        if (arg_json && arg_prometheus)
                return log_usage("--json and --format=prometheus exclude each other.");

        if ((given & OPTION_WAIT) && (given & OPTION_FORCE))
                return log_usage("--wait and --force exclude each other: --force removes leased VFs without "
                                 "asking.");
        *ret_options = given;
        return 1;
}

static int dispatch_verb(int argc, char *argv[], VerbOption given) {
        const Verb *verb = NULL;
        unsigned nargs;

        if (argc <= 0) {
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (verbs[i].is_default)
                                verb = &verbs[i];
        } else
                for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                        if (streq(verbs[i].name, argv[0]))
                                verb = &verbs[i];
        if (!verb)
                return log_usage("Unknown command '%s'. See '%s --help'.", argv[0],
                                 program_invocation_short_name);

        nargs = argc > 0 ? (unsigned) argc - 1 : 0;
        if (nargs < verb->min_args)
                return log_usage("Too few arguments for '%s'; usage: %s %s", verb->name, verb->name,
                                 verb->synopsis);
        if (nargs > verb->max_args)
                return log_usage("Too many arguments for '%s'; usage: %s%s%s", verb->name, verb->name,
                                 isempty(verb->synopsis) ? "" : " ", verb->synopsis);

        for (VerbOption o = OPTION_RUNTIME; o <= _OPTION_LAST; o <<= 1)
                if ((given & o) && !(verb->options & o))
                        return log_usage("Option %s does not apply to '%s'.", option_name(o), verb->name);

        if (argc <= 0) {
                char *fake[] = {(char *) verb->name, NULL};
                return verb->run(1, fake);
        }
        return verb->run(argc, argv);
}

int main(int argc, char *argv[]) {
        VerbOption given = 0;
        int r;

        r = parse_argv(argc, argv, &given);
        if (r <= 0 || r == EXIT_USAGE)
                goto finish;

        /* So that a daemon error arrives as the errno it stands for, and its message is kept. */
        r = sriovd_bus_errors_register();
        if (r < 0) {
                r = log_error_errno(r, "Failed to register the error map: %m");
                goto finish;
        }

        r = dispatch_verb(argc - optind, argv + optind, given);

finish:
        strv_free(arg_config_dirs);
        if (r < 0)
                return EXIT_FAILURE;
        return r;
}
