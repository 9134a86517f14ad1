/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-call.h"
#include "bus-changes.h"
#include "bus-errors.h"

Manager *bus_current_manager(sd_bus *bus) {
        return sd_bus_slot_get_userdata(sd_bus_get_current_slot(bus));
}

int bus_error_from_model(sd_bus_error *error, int r, const char *message) {
        if (r == -ENOMEM)
                return r;
        return sd_bus_error_set(error, sriovd_error_name_from_errno(r), message ?: strerror(-r));
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
        if (!c->message)
                return;
        bus_flush_changes(c->manager);
        if (error < 0)
                (void) sd_bus_reply_method_errorf(c->message, sriovd_error_name_from_errno(error), "%s",
                                                  message ?: strerror(-error));
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
