/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>

#include "request.h"

Request *request_new(RequestDone done, RequestDestroy destroy, void *userdata) {
        Request *r = calloc(1, sizeof *r);

        if (!r)
                return NULL;
        r->n_ref = 1;
        r->scope_vf = REQUEST_SCOPE_ALL;
        r->done = done;
        r->destroy = destroy;
        r->userdata = userdata;
        return r;
}

Request *request_ref(Request *r) {
        if (r)
                r->n_ref++;
        return r;
}

Request *request_unref(Request *r) {
        if (!r || --r->n_ref > 0)
                return NULL;
        if (r->destroy)
                r->destroy(r->userdata);
        free(r->error_message);
        free(r);
        return NULL;
}

void request_add(Request *r) {
        r->pending++;
}

static void request_finish(Request *r) {
        RequestDone done = r->done;

        if (!done)
                return;
        r->done = NULL;
        done(r, r->error, r->error < 0 ? r->error_message ?: strerror(-r->error) : NULL, r->userdata);
}

static void request_record_error(Request *r, int error, const char *message) {
        if (error >= 0)
                return;
        if (r->error >= 0)
                r->error = error;
        if (message)
                (void) strextend_sep(&r->error_message, "; ", "%s", message);
}

void request_complete_one(Request *r, int error, const char *message) {
        request_record_error(r, error, message);
        if (r->pending > 0)
                r->pending--;
        if (r->armed && r->pending == 0)
                request_finish(r);
}

void request_arm(Request *r) {
        r->armed = true;
        if (r->pending == 0)
                request_finish(r);
}

void request_fail(Request *r, int error, const char *message) {
        request_record_error(r, error, message);
        r->armed = true;
        request_finish(r);
}
