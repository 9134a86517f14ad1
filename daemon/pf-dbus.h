/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "pf.h"

/* io.sriovd1.PhysicalFunction */
extern const sd_bus_vtable pf_vtable[];
int pf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);

/* The rest of a SetVirtualFunctionPolicy() or SetPolicy() call, for the VF's own method too. */
int bus_set_vf_policy(sd_bus_message *message, PhysicalFunction *pf, unsigned index, sd_bus_error *error);
