/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* Part of the bus layer: polkit checks of method callers. */

#define POLKIT_ACTION_MANAGE "io.sriovd.manage"
#define POLKIT_ACTION_LEASE "io.sriovd.lease"

/* Checks waiting for polkit, per user (whatever its connections) and in all: a caller past them is
 * refused at once. Each is a call of sriovd's waiting for its reply, and dbus-daemon lets a
 * connection of the system bus have 128 of them (max_replies_per_connection): past that, it fails
 * the CheckAuthorization of whoever comes next, an administrator's as well. So one user may not hold
 * them all, and all of them stay below the bus' limit, with room for sriovd's other calls. */
#define POLKIT_PENDING_PER_USER 16
#define POLKIT_PENDING_MAX 96

/* Asks whether the sender of a method call may do action. details (key, value, ..., NULL; may be
 * NULL) go to polkit for rules to use. Returns 1 when it may go on now; 0 when polkit was asked: the
 * handler then returns 1 without replying, and sd-bus dispatches the same call again once polkit has
 * answered, when this returns the answer. Root (and sriovd's own user) is always allowed; without
 * polkit nobody else is. A refusal sets AccessDenied and returns -EACCES. */
int manager_authorize(Manager *m, sd_bus_message *message, const char *action, char **details,
                      sd_bus_error *error);
void manager_free_auth_queries(Manager *m);
/* sriovd stops: the calls waiting for polkit (or to come back with its answer) fail with "sriovd is
 * stopping", and their checks go. */
void manager_stop_auth_queries(Manager *m);
/* The sender's effective user. */
int bus_sender_uid(sd_bus_message *message, uid_t *ret);
