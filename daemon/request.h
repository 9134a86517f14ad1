/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "util.h"

/* A caller (a bus method, a lease, start-up) waiting for one or more PFs to converge. Each PF it
 * waits for adds one; each PF's job end completes one; once armed, the last completion calls done()
 * with the first error and every failure's message joined. What done() does (reply on the bus, go
 * on with a lease) is the creator's business: the model knows no bus messages. */
typedef struct Request Request;
typedef void (*RequestDone)(Request *req, int error, const char *message, void *userdata);
typedef void (*RequestDestroy)(void *userdata);

struct Request {
        unsigned n_ref;
        unsigned pending;
        RequestDone done;
        RequestDestroy destroy; /* frees userdata when the request goes, done or not */
        void *userdata;
        int error;
        char *error_message;
        bool armed; /* all PFs added; complete when pending reaches 0 */
        int scope_vf; /* which failures fail it: a VF index, or one of the scopes below */
};

#define REQUEST_SCOPE_ALL (-1) /* the count and every VF */
#define REQUEST_SCOPE_COUNT (-2) /* the count alone */

Request *request_new(RequestDone done, RequestDestroy destroy, void *userdata);
Request *request_ref(Request *r);
Request *request_unref(Request *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Request *, request_unref);
/* Adds one PF to wait for. */
void request_add(Request *r);
/* One PF is done, with error < 0 and message when it failed. */
void request_complete_one(Request *r, int error, const char *message);
/* All PFs were added: a request with nothing pending completes now. */
void request_arm(Request *r);
/* Completes the request at once, whatever is pending: for callers that fail before any PF is added,
 * and for shutdown. */
void request_fail(Request *r, int error, const char *message);
