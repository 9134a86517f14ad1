/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "pf.h"
#include "request.h"

/* What the API changes on a PF. Each validates everything first, so that a refused call
 * changes nothing; then persists (or keeps until reboot, with PF_SETTINGS_RUNTIME) and reconciles.
 * req is completed when the kernel is done. A refusal returns -errno with *ret_error saying why. */
#define PF_SETTINGS_RUNTIME UINT64_C(0x1)
#define PF_SETTINGS_FORCE UINT64_C(0x2)
/* A count that would destroy leased VFs asks their leases to release and waits up to wait_usec
 * (PF_SETTINGS_WAIT_UNSET: the default) for them, off the loop's back (drain.h); excludes force. */
#define PF_SETTINGS_WAIT UINT64_C(0x4)
#define PF_SETTINGS_WAIT_UNSET UINT64_MAX
int pf_set_num_vfs(PhysicalFunction *pf, unsigned count, uint64_t flags, uint64_t wait_usec, Request *req,
                   char **ret_error);
int pf_set_vf_policy(PhysicalFunction *pf, unsigned index, const VfPolicy *keys, uint64_t flags,
                     Request *req, char **ret_error);
/* Drops what the API set for this PF, all or nothing. */
int pf_forget(PhysicalFunction *pf, Request *req, char **ret_error);
