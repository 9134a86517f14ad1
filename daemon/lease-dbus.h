/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* io.sriovd1.Lease, and the Manager's lease methods */
extern const sd_bus_vtable lease_vtable[];
int lease_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error);
int lease_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* Manager.RequestVirtualFunction() and Manager.ListLeases() */
int method_request_vf(sd_bus_message *message, void *userdata, sd_bus_error *error);
int method_list_leases(sd_bus_message *message, void *userdata, sd_bus_error *error);
