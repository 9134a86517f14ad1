/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "peers.h"
#include "util.h"

struct PeerWatch {
        Peers *peers; /* NULL once the registry is gone */
        char *name;
        PeerLeft left;
        void *userdata;
        bool gone; /* its peer left: called, or about to be */
        PeerWatch *prev, *next;
};

struct Peers {
        sd_bus *bus;
        sd_bus_slot *match;
        PeerWatch *watches;
        size_t n_watches;
};

static void peers_unlink(Peers *p, PeerWatch *w) {
        if (w->prev)
                w->prev->next = w->next;
        else
                p->watches = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->prev = w->next = NULL;
        w->peers = NULL;
        p->n_watches--;
}

static int name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        Peers *p = userdata;
        const char *name, *old_owner, *new_owner;
        PeerLeft left;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        /* a unique name is never owned again once its connection is gone */
        if (name[0] != ':' || !isempty(new_owner))
                return 0;
        for (PeerWatch *w = p->watches; w; w = w->next)
                if (streq(w->name, name))
                        w->gone = true;
        /* a callback may free any watch, its own or another's: look again from the start after each */
        for (;;) {
                PeerWatch *w = p->watches;

                while (w && !(w->gone && w->left))
                        w = w->next;
                if (!w)
                        break;
                left = w->left;
                w->left = NULL;
                left(w, w->userdata);
        }
        return 0;
}

int peers_new(sd_bus *bus, Peers **ret) {
        Peers *p = calloc(1, sizeof *p);
        int r;

        if (!p)
                return -ENOMEM;
        p->bus = sd_bus_ref(bus);
        r = sd_bus_match_signal(bus, &p->match, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", name_owner_changed, p);
        if (r < 0) {
                peers_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

Peers *peers_free(Peers *p) {
        if (!p)
                return NULL;
        while (p->watches) {
                PeerWatch *w = p->watches;

                peers_unlink(p, w);
                w->left = NULL;
        }
        sd_bus_slot_unref(p->match);
        sd_bus_unref(p->bus);
        free(p);
        return NULL;
}

size_t peers_n_watches(Peers *p) {
        return p ? p->n_watches : 0;
}

int peer_watch_new(Peers *p, const char *name, PeerLeft left, void *userdata, PeerWatch **ret) {
        PeerWatch *w;
        int r;

        if (!p || !name || name[0] != ':')
                return -EINVAL;
        /* the match is in place: a NameOwnerChanged that comes after this answer reaches the watch */
        r = sd_bus_get_name_creds(p->bus, name, 0, NULL);
        if (r < 0)
                return r == -ENXIO ? -ESRCH : r;
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->name = strdup(name);
        if (!w->name) {
                free(w);
                return -ENOMEM;
        }
        w->peers = p;
        w->left = left;
        w->userdata = userdata;
        w->next = p->watches;
        if (w->next)
                w->next->prev = w;
        p->watches = w;
        p->n_watches++;
        *ret = w;
        return 0;
}

PeerWatch *peer_watch_free(PeerWatch *w) {
        if (!w)
                return NULL;
        if (w->peers)
                peers_unlink(w->peers, w);
        free(w->name);
        free(w);
        return NULL;
}
