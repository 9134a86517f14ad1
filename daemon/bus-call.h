/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* What every bus handler uses: the Manager, calls answered later, the model's refusals as errors. */

/* The Manager a property getter or method of a fallback vtable was registered with. */
Manager *bus_current_manager(sd_bus *bus);

/* A method call answered later: by a Request's end, or by a lease's. */
typedef struct BusCall {
        Manager *manager;
        sd_bus_message *message;
} BusCall;

BusCall *bus_call_new(Manager *m, sd_bus_message *message);
void bus_call_free(void *userdata);
/* Replies with error (< 0, with message) or with an empty return. */
void bus_call_reply(BusCall *c, int error, const char *message);
/* A Request whose end replies to message. */
Request *bus_request_new(Manager *m, sd_bus_message *message);

/* Replies with the object paths of n objects, each found at path_offset in its object ("ao"). */
int bus_reply_paths(sd_bus_message *message, void **objects, size_t n, size_t path_offset);

/* Appends a string (NULL as ""): a name the kernel or a file system gave need not be UTF-8, which
 * D-Bus requires (a property or a whole GetManagedObjects would fail), so bytes that are no UTF-8
 * go as \xNN. Error messages of replies get the same. */
int bus_append_string(sd_bus_message *m, const char *s);

/* A refusal of the model (-errno with a message) as the method's error. */
int bus_error_from_model(sd_bus_error *error, int r, const char *message);
