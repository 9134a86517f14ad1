/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* Part of the bus layer: polkit checks of method callers. */

#define POLKIT_ACTION_MANAGE "io.sriovd.manage"
#define POLKIT_ACTION_LEASE "io.sriovd.lease"

/* Checks waiting for polkit, per caller and in all: a caller past them is refused at once. */
#define POLKIT_PENDING_PER_CALLER 16
#define POLKIT_PENDING_MAX 256

/* Asks whether the sender of a method call may do action. details (key, value, ..., NULL; may be
 * NULL) go to polkit for rules to use. Returns 1 when it may go on now; 0 when polkit was asked: the
 * handler then returns 1 without replying, and sd-bus dispatches the same call again once polkit has
 * answered, when this returns the answer. Root (and sriovd's own user) is always allowed; without
 * polkit nobody else is. A refusal sets AccessDenied and returns -EACCES. */
int manager_authorize(Manager *m, sd_bus_message *message, const char *action, char **details,
                      sd_bus_error *error);
void manager_free_auth_queries(Manager *m);
/* The sender's effective user. */
int bus_sender_uid(sd_bus_message *message, uid_t *ret);
