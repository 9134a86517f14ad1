/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* The host checks for RunDiagnostics(): an adapter that runs the diagnostics helper (sriovd-doctor)
 * as a child process watched from the event loop, never the checks themselves on the loop. One run
 * at a time: calls that come while it runs wait for the same result. */

typedef struct DiagnosticsCheck {
        const char *check;
        const char *device; /* "" for the host */
        const char *status; /* ok, info, skip, warn, fail */
        const char *summary;
        const char *fix; /* "" for none */
} DiagnosticsCheck;

/* error: 0, or -ETIME (the helper took too long and was killed), -EFBIG (it wrote too much),
 * -EBADMSG (its output is not records), -EPROTO (it failed), -ECANCELED (sriovd is stopping),
 * or the errno of starting it. checks are valid during the call only. */
typedef void (*diagnostics_callback_t)(int error, const DiagnosticsCheck *checks, size_t n_checks,
                                       void *userdata);

typedef struct Diagnostics Diagnostics;

/* At most this many callers wait for one run; more are refused with -EBUSY. */
#define DIAGNOSTICS_WAITERS_MAX 16U
/* What the helper may write; more is taken as a broken helper. */
#define DIAGNOSTICS_OUTPUT_MAX (UINT64_C(1) << 20)

int diagnostics_new(sd_event *event, const char *helper, uint64_t timeout_usec, Diagnostics **ret);
/* Kills a running helper; every waiting callback hears -ECANCELED. */
Diagnostics *diagnostics_free(Diagnostics *d);
/* Starts the helper unless it runs already; callback is called once, from the event loop, never
 * from within this call. */
int diagnostics_run(Diagnostics *d, diagnostics_callback_t callback, void *userdata);
/* Parses the helper's records (five NUL-ended fields each) in place. */
int diagnostics_parse(char *buf, size_t size, DiagnosticsCheck **ret, size_t *ret_n);
