/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* libpci's pci.ids names. The handle is opaque; lookups never touch the device. */
int pci_names_open(void **ret);
void pci_names_close(void *handle);
int pci_lookup_names(void *handle, uint16_t vendor, uint16_t device, char **ret_vendor, char **ret_model);
