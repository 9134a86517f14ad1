/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* The bus end of the change queue (changes.h): one InterfacesAdded, InterfacesRemoved or
 * PropertiesChanged per object and event-loop iteration, run from a post event source. A
 * PropertiesChanged carries every EMITS_CHANGE property of the object's vtable: the names come
 * from the vtables alone. */

/* Sends the signals for every change the model marked so far; replies call it first, so that a
 * caller sees the new state announced before its answer. */
void bus_flush_changes(Manager *m);
