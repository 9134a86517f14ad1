/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "util.h"

/* Logs to the journal with structured fields when stderr is connected to it (JOURNAL_STREAM),
 * otherwise to stderr. Returns -abs(error), so that "return log_error_errno(r, ...)" works. Like
 * systemd, %m in the format prints the error passed in. */
int log_full(int level, int error, const char *pf, const char *vf, const char *interface, const char *fmt,
             ...) _printf_(6, 7);

void log_set_max_level(int level);
int log_get_max_level(void);
void log_setup(void);

#define log_debug(...) log_full(LOG_DEBUG, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_debug_errno(e, ...) log_full(LOG_DEBUG, (e), NULL, NULL, NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full(LOG_WARNING, (e), NULL, NULL, NULL, __VA_ARGS__)
#define log_error_errno(e, ...) log_full(LOG_ERR, (e), NULL, NULL, NULL, __VA_ARGS__)
#define log_oom() log_full(LOG_ERR, ENOMEM, NULL, NULL, NULL, "Out of memory.")

/* With the PF's journal fields (SRIOV_PF=, INTERFACE=) */
#define log_pf(level, e, pf, ...) log_full((level), (e), (pf)->address, NULL, (pf)->interface, __VA_ARGS__)
#define log_vf(level, e, vf, ...) \
        log_full((level), (e), (vf)->pf_address, (vf)->address, (vf)->interface, __VA_ARGS__)
