/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "manager.h"
#include "polkit.h"

struct AuthQuery {
        Manager *manager;
        sd_bus_message *request;
        sd_bus_slot *slot;
        char *action;
        bool done;
        int result; /* 1 allowed, -EACCES refused */
        char *message;
};

static AuthQuery *auth_query_free(AuthQuery *q) {
        if (!q)
                return NULL;
        sd_bus_slot_unref(q->slot);
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

void manager_free_auth_queries(Manager *m) {
        for (size_t i = 0; i < m->n_auth_queries; i++)
                auth_query_free(m->auth_queries[i]);
        m->auth_queries = mfree(m->auth_queries);
        m->n_auth_queries = 0;
}

static int polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AuthQuery *q = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        q->slot = sd_bus_slot_unref(q->slot);
        q->done = true;
        q->result = -EACCES;

        if (e) {
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        (void) asprintf_safe(&q->message,
                                             "Not authorized to %s: polkit is not running, only root is "
                                             "allowed",
                                             q->action);
                else
                        (void) asprintf_safe(&q->message, "Not authorized to %s: polkit failed: %s",
                                             q->action, e->message);
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0)
                        (void) asprintf_safe(&q->message,
                                             "Not authorized to %s: unexpected answer from polkit",
                                             q->action);
                else if (authorized)
                        q->result = 1;
                else
                        (void) asprintf_safe(&q->message, "Not authorized to %s%s", q->action,
                                             challenge ? ": interactive authentication is required" : "");
        }

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

static int polkit_ask(Manager *m, sd_bus_message *message, const char *action, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        AuthQuery *q, **a;
        int r;

        q = calloc(1, sizeof *q);
        if (!q)
                return -ENOMEM;
        q->manager = m;
        q->request = sd_bus_message_ref(message);
        q->action = strdup(action);
        if (!q->action) {
                auth_query_free(q);
                return -ENOMEM;
        }

        r = sd_bus_message_new_method_call(m->bus, &call, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r >= 0)
                r = sd_bus_message_append(
                        call, "(sa{sv})sa{ss}us", "system-bus-name", 1, "name", "s",
                        sd_bus_message_get_sender(message), action, 0,
                        /* AllowUserInteraction */
                        (uint32_t) (sd_bus_message_get_allow_interactive_authorization(message) > 0), "");
        if (r >= 0)
                /* the user may take a while to type a password */
                r = sd_bus_call_async(m->bus, &q->slot, call, polkit_reply, q, 5 * 60 * 1000000ULL);
        if (r >= 0) {
                a = reallocarray(m->auth_queries, m->n_auth_queries + 1, sizeof *a);
                if (!a)
                        r = -ENOMEM;
                else {
                        m->auth_queries = a;
                        m->auth_queries[m->n_auth_queries++] = q;
                        return 0;
                }
        }
        auth_query_free(q);
        return sd_bus_error_set_errnof(error, r, "Failed to ask polkit: %m");
}

int manager_authorize(Manager *m, sd_bus_message *message, const char *action, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
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

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID | SD_BUS_CREDS_AUGMENT,
                                      &creds);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Failed to get the caller's credentials: %s", strerror(-r));
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Failed to get the caller's user: %s", strerror(-r));
        /* root, and sriovd's own user (an unprivileged test instance), need nobody's permission */
        if (uid == 0 || uid == geteuid())
                return 1;

        return polkit_ask(m, message, action, error);
}
