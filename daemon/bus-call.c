/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-call.h"
#include "bus-changes.h"
#include "bus-errors.h"

Manager *bus_current_manager(sd_bus *bus) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
}

/* s as D-Bus takes it: UTF-8, with what is not as \xNN (*buf holds that copy); s itself when valid. */
static const char *utf8_or_escaped(const char *s, char **buf) {
        if (!s || utf8_is_valid(s))
                return s;
        *buf = utf8_escape_invalid(s);
        return *buf ?: "(a text that is not UTF-8)";
}

int bus_append_string(sd_bus_message *m, const char *s) {
        _cleanup_free_ char *buf = NULL;

        return sd_bus_message_append_basic(m, 's', utf8_or_escaped(strempty(s), &buf));
}

int bus_error_from_model(sd_bus_error *error, int r, const char *message) {
        _cleanup_free_ char *buf = NULL;

        if (r == -ENOMEM)
                return r;
        return sd_bus_error_set(error, sriovd_error_name_from_errno(r),
                                utf8_or_escaped(message, &buf) ?: strerror(-r));
}

BusCall *bus_call_new(Manager *m, sd_bus_message *message) {
        BusCall *c = calloc(1, sizeof *c);

        if (!c)
                return NULL;
        c->manager = m;
        c->message = sd_bus_message_ref(message);
        return c;
}

void bus_call_free(void *userdata) {
        BusCall *c = userdata;

        if (!c)
                return;
        sd_bus_message_unref(c->message);
        free(c);
}

void bus_call_reply(BusCall *c, int error, const char *message) {
        _cleanup_free_ char *buf = NULL;

        if (!c->message)
                return;
        bus_flush_changes(c->manager);
        if (error < 0)
                (void) sd_bus_reply_method_errorf(c->message, sriovd_error_name_from_errno(error), "%s",
                                                  utf8_or_escaped(message, &buf) ?: strerror(-error));
        else
                (void) sd_bus_reply_method_return(c->message, NULL);
        c->message = sd_bus_message_unref(c->message);
}

static void request_reply(Request *req, int error, const char *message, void *userdata) {
        bus_call_reply(userdata, error, message);
}

Request *bus_request_new(Manager *m, sd_bus_message *message) {
        BusCall *c = bus_call_new(m, message);
        Request *req = c ? request_new(request_reply, bus_call_free, c) : NULL;

        if (!req)
                bus_call_free(c);
        return req;
}

int bus_reply_paths(sd_bus_message *message, void **objects, size_t n, size_t path_offset) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "o");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(reply, "o", *(char **) ((uint8_t *) objects[i] + path_offset));
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
