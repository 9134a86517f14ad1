/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"
#include "log.h"
#include "polkit.h"

/* An answered check waits this long for its call to come back; a call whose object went away
 * meanwhile never does. */
#define AUTH_ANSWER_KEEP_USEC (10 * 1000000ULL)

struct AuthQuery {
        Manager *manager;
        sd_bus_message *request;
        sd_bus_slot *slot; /* the CheckAuthorization call */
        PeerWatch *caller; /* a caller that leaves the bus takes its checks along */
        sd_event_source *expire; /* drops an answer nobody came back for */
        char *action;
        uid_t uid; /* the caller's user: the cap is per user, whatever its connections */
        bool done;
        int result; /* 1 allowed, -EACCES refused */
        char *message;
};

static AuthQuery *auth_query_free(AuthQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
        peer_watch_free(q->caller);
        sd_event_source_disable_unref(q->expire);
        sd_bus_message_unref(q->request);
        free(q->action);
        free(q->message);
        free(q);
        return NULL;
}

static void manager_drop_query(Manager *m, AuthQuery *q) {
        for (size_t i = 0; i < m->n_auth_queries; i++)
                if (m->auth_queries[i] == q) {
                        m->auth_queries[i] = m->auth_queries[--m->n_auth_queries];
                        break;
                }
        auth_query_free(q);
}

void manager_stop_auth_queries(Manager *m) {
        /* as a call waiting for the kernel does, rather than a NoReply from the bus when sriovd is gone */
        for (size_t i = 0; i < m->n_auth_queries; i++)
                (void) sd_bus_reply_method_errorf(m->auth_queries[i]->request, SRIOVD_ERROR_FAILED,
                                                  "sriovd is stopping");
        manager_free_auth_queries(m);
}

void manager_free_auth_queries(Manager *m) {
        for (size_t i = 0; i < m->n_auth_queries; i++)
                auth_query_free(m->auth_queries[i]);
        m->auth_queries = mfree(m->auth_queries);
        m->n_auth_queries = 0;
}

static int expire_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        AuthQuery *q = userdata;

        manager_drop_query(q->manager, q);
        return 0;
}

static void caller_left(PeerWatch *w, void *userdata) {
        AuthQuery *q = userdata;

        log_debug("%s left the bus before polkit answered, dropping its check",
                  strempty(sd_bus_message_get_sender(q->request)));
        manager_drop_query(q->manager, q);
}

static void auth_query_set_answer(AuthQuery *q, const sd_bus_error *e, sd_bus_message *reply) {
        int authorized = 0, challenge = 0, r;

        q->result = -EACCES;
        if (e) {
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        (void) asprintf_safe(
                                &q->message,
                                "Not authorized to %s: polkit is not running, only root is allowed",
                                q->action);
                else
                        (void) asprintf_safe(&q->message, "Not authorized to %s: polkit failed: %s",
                                             q->action, e->message);
                return;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0)
                (void) asprintf_safe(&q->message, "Not authorized to %s: unexpected answer from polkit",
                                     q->action);
        else if (authorized)
                q->result = 1;
        else
                (void) asprintf_safe(&q->message, "Not authorized to %s%s", q->action,
                                     challenge ? ": interactive authentication is required" : "");
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthQuery *q = userdata;
        uint64_t now_usec;
        int r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->caller = peer_watch_free(q->caller);
        q->done = true;
        auth_query_set_answer(q, sd_bus_message_get_error(reply), reply);

        if (sd_event_now(q->manager->event, CLOCK_MONOTONIC, &now_usec) >= 0)
                (void) sd_event_add_time(q->manager->event, &q->expire, CLOCK_MONOTONIC,
                                         now_usec + AUTH_ANSWER_KEEP_USEC, 0, expire_handler, q);
        /* run the method again; it finds the answer now */
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(r, "Failed to re-dispatch an authorized call: %m");
                (void) sd_bus_reply_method_errorf(q->request, SD_BUS_ERROR_FAILED,
                                                  "Failed to re-dispatch call");
                manager_drop_query(q->manager, q);
        }
        return 1;
}

static int polkit_call(Manager *m, AuthQuery *q, char **details) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(m->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(call, "(sa{sv})s", "system-bus-name", 1, "name", "s",
                                          sd_bus_message_get_sender(q->request), q->action);
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{ss}");
        for (char **d = details; r >= 0 && d && d[0] && d[1]; d += 2)
                r = sd_bus_message_append(call, "{ss}", d[0], d[1]);
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                /* AllowUserInteraction */
                r = sd_bus_message_append(
                        call, "us",
                        (uint32_t) (sd_bus_message_get_allow_interactive_authorization(q->request) > 0), "");
        if (r >= 0)
                /* the user may take a while to type a password */
                r = sd_bus_call_async(m->bus, &q->slot, call, polkit_reply, q, 5 * 60 * 1000000ULL);
        if (r >= 0)
                r = peer_watch_new(m->peers, sd_bus_message_get_sender(q->request), caller_left, q,
                                   &q->caller);
        return r;
}

static int polkit_ask(Manager *m, sd_bus_message *message, uid_t uid, const char *action, char **details,
                      sd_bus_error *error) {
        size_t mine = 0;
        AuthQuery *q, **a;
        int r;

        for (size_t i = 0; i < m->n_auth_queries; i++)
                if (!m->auth_queries[i]->done && m->auth_queries[i]->uid == uid)
                        mine++;
        if (mine >= POLKIT_PENDING_PER_USER || m->n_auth_queries >= POLKIT_PENDING_MAX)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                        "Too many authorization checks waiting for polkit%s, try again later",
                        mine >= POLKIT_PENDING_PER_USER ? " from this user" : "");

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->manager = m;
        q->uid = uid;
        q->request = sd_bus_message_ref(message);
        q->action = strdup(action);
        a = reallocarray(m->auth_queries, m->n_auth_queries + 1, sizeof *a);
        if (!q->action || !a) {
                auth_query_free(q);
                return -ENOMEM;
        }
        m->auth_queries = a;
        r = polkit_call(m, q, details);
        if (r < 0) {
                auth_query_free(q);
                return sd_bus_error_set_errnof(error, r, "Failed to ask polkit: %m");
        }
        m->auth_queries[m->n_auth_queries++] = q;
        return 0;
}

int bus_sender_uid(sd_bus_message *message, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID | SD_BUS_CREDS_AUGMENT,
                                      &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return r;
        *ret = uid;
        return 0;
}

int manager_authorize(Manager *m, sd_bus_message *message, const char *action, char **details,
                      sd_bus_error *error) {
        uid_t uid;
        int r;

        for (size_t i = 0; i < m->n_auth_queries; i++) {
                AuthQuery *q = m->auth_queries[i];

                if (q->request != message)
                        continue;
                if (!q->done)
                        return 0;
                r = q->result;
                if (r < 0)
                        sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "%s", strempty(q->message));
                manager_drop_query(m, q);
                return r;
        }

        r = bus_sender_uid(message, &uid);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Failed to get the caller's user: %s", strerror(-r));
        /* root, and sriovd's own user (an unprivileged test instance), need nobody's permission */
        if (uid == 0 || uid == geteuid())
                return 1;

        return polkit_ask(m, message, uid, action, details, error);
}
