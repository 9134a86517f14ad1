/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* What an errno from the kernel means when it refused to create VFs or to bind one, and what fixes it:
 * one decoder for the daemon's LastError and log, the replies sriovctl prints, and sriovctl doctor. */

typedef enum KernelOp {
        KERNEL_OP_NUMVFS, /* a write of sriov_numvfs */
        KERNEL_OP_BIND, /* unbind, driver_override, drivers_probe of a VF */
        _KERNEL_OP_MAX,
} KernelOp;

typedef struct KernelErrorContext {
        KernelOp op;
        const char *address; /* the PF's PCI address */
        const char *driver; /* the PF's driver (NUMVFS), the VF's wanted driver (BIND); NULL: unknown */
        uint16_t vendor; /* the PF's PCI vendor ID, 0: unknown */
        unsigned count; /* NUMVFS: the VFs asked for */
} KernelErrorContext;

/* The words that end a message when a fix follows: "<what went wrong>. Fix: <what to do>". sriovctl doctor
 * splits LastError there. */
#define KERNEL_ERROR_FIX_SEPARATOR ". Fix: "

/* "ENOSPC" for -ENOSPC or ENOSPC; NULL for an unknown number. */
const char *errno_name(int error);

/* What the kernel's answer means (one line that ends with the errno's name in parentheses, "no interrupt
 * vectors (MSI-X) are left for 8 VFs (ENOSPC)") and, when something other than trying again can fix it,
 * what (*ret_fix, else NULL). Returns 0, or -ENOMEM. */
int kernel_error_explain(const KernelErrorContext *c, int error, char **ret_why, char **ret_fix);

/* The fix when sriov_totalvfs is 0, by vendor: SR-IOV is off in the firmware or in the NIC's own
 * configuration, and the vendor's tool turns it on. NULL on ENOMEM. */
char *kernel_sriov_disabled_fix(uint16_t vendor, const char *address, unsigned count);
