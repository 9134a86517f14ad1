/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <time.h>

#include "drain.h"
#include "log.h"
#include "reconcile.h"

struct PfDrain {
        unsigned count;
        uint64_t flags;
        unsigned from; /* NumVFs when it started */
        uint64_t wait_usec;
        uint64_t deadline; /* µs, CLOCK_REALTIME */
        bool expired;
        char **lease_ids; /* the leases asked to release */
        Request *req;
        DrainApply apply;
        sd_event_source *timer;
        sd_event_source *check;
};

static PfDrain *drain_free(PfDrain *d) {
        if (!d)
                return NULL;
        sd_event_source_disable_unref(d->timer);
        sd_event_source_disable_unref(d->check);
        strv_free(d->lease_ids);
        request_unref(d->req);
        free(d);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(PfDrain *, drain_free);

static uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* "2 s", or "1.500 s" */
static void format_wait(uint64_t usec, char *buf, size_t size) {
        if (usec % 1000000 == 0)
                snprintf(buf, size, "%" PRIu64 " s", usec / 1000000);
        else
                snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 " s", usec / 1000000, usec % 1000000 / 1000);
}

/* A lease the drain asked that still holds its VF. */
static Lease *drain_holder(PhysicalFunction *pf, const char *id) {
        Lease *l = lease_table_find(pf->host->leases, id);

        return l && !l->vf_gone ? l : NULL;
}

/* Who did not release: "VF 1 (0000:01:10.2) leased by vm-b (lease /io/sriovd/lease/…, owner :1.42,
 * uid 1000)", joined with "; ". */
static char *drain_holders(PhysicalFunction *pf) {
        char *s = NULL;

        for (char **id = pf->drain->lease_ids; id && *id; id++) {
                Lease *l = drain_holder(pf, *id);
                VirtualFunction *vf;
                char uid[DECIMAL_STR_MAX(unsigned)] = "unknown";

                if (!l)
                        continue;
                vf = pf_get_vf(pf, l->vf_index);
                if (l->owner_uid != UID_INVALID)
                        snprintf(uid, sizeof uid, "%u", (unsigned) l->owner_uid);
                if (strextend_sep(&s, "; ", "VF %u (%s) leased by %s (lease %s, owner %s, uid %s)",
                                  l->vf_index, vf ? vf->address : "gone",
                                  isempty(l->consumer) ? "an unnamed consumer" : l->consumer, l->object_path,
                                  l->owner ?: "none: persistent", uid) < 0)
                        return mfree(s);
        }
        return s;
}

/* Ends the drain: with error < 0 the caller hears it; else the change goes ahead as a new call would,
 * planned against the kernel and the leases as they are now. */
static void drain_finish(PhysicalFunction *pf, int error, const char *message) {
        _cleanup_(drain_freep) PfDrain *d = TAKE_PTR(pf->drain);
        _cleanup_free_ char *refusal = NULL;

        /* nothing waits for the leases still there any more, however it ended */
        for (char **id = d->lease_ids; id && *id; id++) {
                Lease *l = lease_table_find(pf->host->leases, *id);

                if (l && l->release_deadline > 0) {
                        l->release_deadline = 0;
                        object_mark_changed(&l->mark);
                }
        }

        if (error >= 0) {
                int r = d->apply(pf, d->count, d->flags, d->req, &refusal);
                if (r < 0) {
                        error = r;
                        message = refusal ?: strerror(-r);
                }
        }
        request_complete_one(d->req, error, message);
}

static int drain_check_handler(sd_event_source *s, void *userdata) {
        PhysicalFunction *pf = userdata;
        PfDrain *d = pf->drain;
        _cleanup_free_ char *holders = NULL, *m = NULL;
        bool held = false, all_releasing = true;
        char wait[32];

        if (!d)
                return 0;
        for (char **id = d->lease_ids; id && *id; id++) {
                Lease *l = drain_holder(pf, *id);

                if (!l)
                        continue;
                held = true;
                if (!l->releasing)
                        all_releasing = false;
        }
        if (!held) {
                log_pf(LOG_INFO, 0, pf,
                       "Every lease asked to release VFs of %s has ended, changing NumVFs to %u",
                       pf->address, d->count);
                drain_finish(pf, 0, NULL);
                return 0;
        }
        /* a release under way at the deadline has been asked for in time: it is the kernel's to finish */
        if (!d->expired || all_releasing)
                return 0;

        format_wait(d->wait_usec, wait, sizeof wait);
        holders = drain_holders(pf);
        (void) asprintf_safe(
                &m,
                "Refusing to change NumVFs of %s from %u to %u: leases were not released within "
                "%s: %s; use force to override",
                pf->address, d->from, d->count, wait, strempty(holders));
        log_pf(LOG_WARNING, -EBUSY, pf, "%s", strempty(m));
        drain_finish(pf, -EBUSY, m ?: "Leases were not released in time");
        return 0;
}

static int drain_timer_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        PhysicalFunction *pf = userdata;

        pf->drain->expired = true;
        return drain_check_handler(NULL, pf);
}

int pf_drain_start(PhysicalFunction *pf, unsigned count, uint64_t flags, uint64_t wait_usec, Request *req,
                   DrainApply apply) {
        _cleanup_(drain_freep) PfDrain *d = NULL;
        LeaseTable *t = pf->host->leases;
        unsigned first = reconcile_first_destroyed(pf->num_vfs, count);
        char wait[32];
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < t->n_leases; i++) {
                Lease *l = t->leases[i];

                if (!l->vf_gone && l->vf_index >= first && streq(l->pf_address, pf->address) &&
                    strv_extend(&d->lease_ids, l->id) < 0)
                        return -ENOMEM;
        }
        if (!d->lease_ids)
                return 0;

        r = sd_event_add_time_relative(pf->host->event, &d->timer, CLOCK_MONOTONIC, wait_usec, 1000,
                                       drain_timer_handler, pf);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(d->timer, "pf-drain-deadline");
        r = sd_event_add_defer(pf->host->event, &d->check, drain_check_handler, pf);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(d->check, SD_EVENT_OFF);
        (void) sd_event_source_set_description(d->check, "pf-drain-check");

        d->count = count;
        d->flags = flags;
        d->from = pf->num_vfs;
        d->wait_usec = wait_usec;
        d->deadline = now_realtime_usec() + wait_usec;
        d->apply = apply;
        d->req = request_ref(req);
        request_add(req);

        /* each lease hears it once the loop comes round: ReleaseRequested with the deadline */
        for (char **id = d->lease_ids; *id; id++) {
                Lease *l = lease_table_find(t, *id);

                l->release_deadline = d->deadline;
                object_mark_changed(&l->mark);
                object_mark_event(&l->mark);
                log_info("Lease %s of VF %u on %s (%s) asked to release within the wait of a change of "
                         "NumVFs",
                         l->id, l->vf_index, l->pf_address, strempty(l->consumer));
        }
        format_wait(wait_usec, wait, sizeof wait);
        log_pf(LOG_INFO, 0, pf, "Changing NumVFs from %u to %u once %zu leases are released, waiting %s",
               d->from, count, strv_length(d->lease_ids), wait);
        pf->drain = TAKE_PTR(d);
        return 1;
}

bool pf_drain_pending(PhysicalFunction *pf) {
        return pf->drain;
}

int pf_drain_check_idle(PhysicalFunction *pf, char **ret_error) {
        uint64_t now = now_realtime_usec();
        char left[32];

        if (!pf->drain)
                return 0;
        format_wait(pf->drain->deadline > now ? (pf->drain->deadline - now) / 1000000 * 1000000 : 0, left,
                    sizeof left);
        return asprintf_safe(ret_error,
                             "NumVFs of %s is being changed from %u to %u once its leased VFs are released "
                             "(%s left)",
                             pf->address, pf->drain->from, pf->drain->count, left),
               -EBUSY;
}

void pf_drain_check(PhysicalFunction *pf) {
        if (pf->drain)
                (void) sd_event_source_set_enabled(pf->drain->check, SD_EVENT_ONESHOT);
}

void pf_drain_done(PhysicalFunction *pf, int error, const char *message) {
        if (!pf->drain)
                return;
        log_pf(LOG_INFO, error, pf, "The change of NumVFs to %u that waited for leases ends: %s",
               pf->drain->count, message);
        drain_finish(pf, error, message);
}

void pf_drain_cancel(PhysicalFunction *pf, Request *req) {
        if (pf->drain && pf->drain->req == req)
                pf_drain_done(pf, -ECANCELED, "its caller left the bus");
}
