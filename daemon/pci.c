/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <pci/pci.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "pci.h"
#include "util.h"

/* pci_init() would set libpci's message handlers, but also pick an access method; without it they are
 * NULL, and libpci calls its warning handler on a device ID that pci.ids does not know (a NIC newer
 * than the host's pci.ids). */
static void pci_message_ignore(char *msg, ...) {
}

_noreturn_ _printf_(1, 2) static void pci_message_fatal(char *msg, ...) {
        va_list ap;

        va_start(ap, msg);
        fputs("sriovd: libpci: ", stderr);
        vfprintf(stderr, msg, ap);
        fputc('\n', stderr);
        va_end(ap);
        abort();
}

int pci_names_open(void **ret) {
        struct pci_access *a;

        a = pci_alloc();
        if (!a)
                return -ENOMEM;
        /* names only: no access method is initialized, so libpci never scans the bus */
        a->warning = pci_message_ignore;
        a->debug = pci_message_ignore;
        a->error = pci_message_fatal;
        *ret = a;
        return 0;
}

void pci_names_close(void *handle) {
        if (handle)
                pci_cleanup(handle);
}

int pci_lookup_names(void *handle, uint16_t vendor, uint16_t device, char **ret_vendor, char **ret_model) {
        struct pci_access *a = handle;
        char vbuf[256], dbuf[256];
        const char *v, *d;

        if (!a)
                return -EINVAL;
        v = pci_lookup_name(a, vbuf, sizeof vbuf, PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS, vendor);
        d = pci_lookup_name(a, dbuf, sizeof dbuf, PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS, vendor, device);
        if (!v && !d)
                return -ENOENT;
        *ret_vendor = v ? strdup(v) : NULL;
        *ret_model = d ? strdup(d) : NULL;
        return 0;
}
