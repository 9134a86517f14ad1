/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* org.freedesktop.DBus.ObjectManager on /io/sriovd. sd-bus' object manager stays registered: it
 * announces InterfacesAdded and InterfacesRemoved and shows the interface in Introspect. Only
 * GetManagedObjects is answered here, from the model's tables, with the same reply. */
int bus_add_object_manager(Manager *m);
