/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

/* Which bus peers are still there: lease owners, callers waiting for polkit or for lease holders.
 * One match rule on NameOwnerChanged serves every watch, whatever their number: dbus-daemon allows a
 * connection 512 match rules on the system bus, and sd-bus drops a connection whose AddMatch is
 * refused, so a match per watched peer (sd_bus_track's way) would cost sriovd its bus after a few
 * hundred leases. The bus closing is no peer leaving: watches hear nothing then. */

typedef struct Peers Peers;
typedef struct PeerWatch PeerWatch;
/* The peer has left the bus. The watch stays until it is freed, and is never called again. */
typedef void (*PeerLeft)(PeerWatch *w, void *userdata);

/* Adds the match (synchronously: a refusal fails sriovd's start, never its bus later). */
int peers_new(sd_bus *bus, Peers **ret);
/* Frees the registry; watches still there hear nothing more and may be freed later. */
Peers *peers_free(Peers *p);
/* How many watches there are (for tests and the log). */
size_t peers_n_watches(Peers *p);

/* Watches a unique name. Fails with -ESRCH (or the bus' error) when it is not on the bus now: a name
 * that left before the watch would never be heard of. */
int peer_watch_new(Peers *p, const char *name, PeerLeft left, void *userdata, PeerWatch **ret);
PeerWatch *peer_watch_free(PeerWatch *w);
