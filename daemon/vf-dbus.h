/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* io.sriovd1.VirtualFunction */
extern const sd_bus_vtable vf_vtable[];
int vf_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                   sd_bus_error *error);
