/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "names.h"
#include "util.h"

/* The bus daemon's NameOwnerChanged for io.sriovd: sriovd started or went away. */
#define MATCH_SRIOVD_OWNER_CHANGED                                                      \
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus'," \
        "member='NameOwnerChanged',arg0='" SRIOVD_BUS_NAME "'"

typedef struct PropertyBag PropertyBag;
typedef struct VfPolicy VfPolicy;

/* Exit statuses: verbs return 0, a positive exit status, or -errno (exit 1, already logged). */
#define EXIT_USAGE 2

/* A call into the kernel may take minutes (creating 64 VFs takes about 20 s on a real NIC, disabling
 * VFs held by a VM can block), so long calls must not run into sd-bus' default 25 s timeout. */
#define SRIOVCTL_LONG_CALL_USEC (UINT64_C(10) * 60 * 1000 * 1000)

extern bool arg_json;
extern bool arg_legend;
extern bool arg_ask_password;
extern bool arg_runtime;
extern bool arg_force;
extern unsigned arg_wait_sec; /* 0: not given */
extern const char *arg_host;
extern char **arg_config_dirs;
extern const char *arg_root;
extern const char *arg_consumer;
extern bool arg_persistent;
extern bool arg_libvirt_xml;
extern bool arg_prometheus;

void log_error_internal(const char *format, ...) _printf_(1, 2);
void log_warning_internal(const char *format, ...) _printf_(1, 2);

#define log_error(...) log_error_internal(__VA_ARGS__)
#define log_warning(...) log_warning_internal(__VA_ARGS__)

/* Logs with %m expanding to the error r and returns -abs(r). */
#define log_error_errno(r, ...)                  \
        ({                                       \
                int _e = abs(r);                 \
                errno = _e;                      \
                log_error_internal(__VA_ARGS__); \
                -_e;                             \
        })

/* Logs a usage problem and returns EXIT_USAGE. */
#define log_usage(...)                           \
        ({                                       \
                log_error_internal(__VA_ARGS__); \
                EXIT_USAGE;                      \
        })

/* The daemon's own message when it sent one, else the errno's text. */
const char *bus_error_message(const sd_bus_error *e, int r);

/* Connects to the system bus (or over ssh to arg_host) once; the connection is shared by all callers. */
int acquire_bus(sd_bus **ret);

/* The opening of every verb on one PF: connects (acquire_bus()), asks the manager for the object of
 * the PF given as PCI address or interface name and, if ret_properties is not NULL, reads all its
 * properties. ret_path may be NULL. Logs its failures. */
int acquire_pf(const char *device, sd_bus **ret_bus, char **ret_path, PropertyBag *ret_properties);
/* Calls one of the Manager's "ao" list methods (ListPhysicalFunctions, ListLeases); what names the
 * objects in the error message. */
int manager_list(sd_bus *bus, const char *method, const char *what, char ***ret);

/* Checks KEY=VALUE arguments (set-vf, request) into policy before anything is sent, so that a typo is
 * a usage error: returns 0, EXIT_USAGE or -errno, having logged. */
int parse_policy_args(char **args, VfPolicy *policy);

/* Calls a method that may take minutes; on failure logs "Failed to <what>: <daemon message>". */
int call_long_method(sd_bus *bus, sd_bus_message *m, const char *what);
/* The same with a timeout of its own. */
int call_method_timeout(sd_bus *bus, sd_bus_message *m, uint64_t timeout_usec, const char *what);

/* Blocks SIGINT and SIGTERM, so that they arrive through an event loop. Logs its failure. */
int block_exit_signals(void);
/* The default event loop with bus attached: SIGINT and SIGTERM go to on_signal, or end the loop with 0
 * where it is NULL; a lost bus connection ends it with EXIT_FAILURE. The caller detaches the bus once
 * the loop is over. Logs its failures. */
int bus_event_loop_new(sd_bus *bus, sd_event_signal_handler_t on_signal, void *userdata, sd_event **ret);

int verb_status(int argc, char *argv[]);
int verb_show(int argc, char *argv[]);
int verb_set_numvfs(int argc, char *argv[]);
int verb_set_vf(int argc, char *argv[]);
int verb_apply(int argc, char *argv[]);
int verb_reload(int argc, char *argv[]);
int verb_monitor(int argc, char *argv[]);
int verb_check_config(int argc, char *argv[]);
int verb_doctor(int argc, char *argv[]);
int verb_libvirt_xml(int argc, char *argv[]);
int verb_request(int argc, char *argv[]);
int verb_release(int argc, char *argv[]);
int verb_leases(int argc, char *argv[]);
