/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "config.h"

/* What the API sets, kept per PF as "<dir>/pf/<pci-address>.conf" in the configuration file
 * syntax (no [Match]: the name is the match), beside a "<dir>/version" file. One Store for the
 * persistent state directory, one for the runtime directory (lost at reboot). */
typedef struct Store {
        char *dir;
} Store;

/* Creates dir and dir/pf if needed and checks or writes the version file; a version sriovd does
 * not know fails with -EPROTONOSUPPORT. */
int store_open(const char *dir, Store **ret);
Store *store_free(Store *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_free);

/* Returns 0 when nothing is stored for address, 1 with *ret set when loaded. A file that fails to
 * parse is renamed to "<name>.corrupt-<usec>" and -EBADMSG returned with *ret_error saying what was
 * wrong and where the file went; it is never taken as empty. */
int store_load_pf(Store *s, const char *address, PfConfig **ret, char **ret_error);
/* Writes atomically (temporary file, fsync, rename, fsync of the directory). A config with
 * nothing set removes the file. */
int store_save_pf(Store *s, const char *address, const PfConfig *c);
int store_remove_pf(Store *s, const char *address);
