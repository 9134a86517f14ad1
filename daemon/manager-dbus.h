/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* The bus layer: io.sriovd1.Manager and the object tree under it. Handlers parse, authorize, call
 * one model function and reply; what the model marks changed is sent from here, once per object
 * per event-loop iteration. */

extern const sd_bus_vtable manager_vtable[];

/* Connects to the system bus, registers every object and starts draining the model's changes. */
int bus_setup(Manager *m);
/* Asks for io.sriovd; the manager hears when it is ours. */
int bus_request_name(Manager *m);
/* Drops pending polkit checks, sends what is queued and closes the connection. */
void bus_done(Manager *m);
