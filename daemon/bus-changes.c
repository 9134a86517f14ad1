/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-changes.h"
#include "lease.h"
#include "names.h"

/* An object's signal of its own interface, from its state now. */
static void bus_emit_object_event(Manager *m, ObjectMark *mark) {
        if (mark->kind == OBJECT_LEASE) {
                Lease *l = mark->object;
                (void) sd_bus_emit_signal(m->bus, mark->path, SRIOVD_LEASE_INTERFACE, "ReleaseRequested",
                                          "t", l->release_deadline);
        }
}

static const char *const object_interfaces[_OBJECT_KIND_MAX] = {
        [OBJECT_MANAGER] = SRIOVD_MANAGER_INTERFACE,
        [OBJECT_PF] = SRIOVD_PF_INTERFACE,
        [OBJECT_VF] = SRIOVD_VF_INTERFACE,
        [OBJECT_LEASE] = SRIOVD_LEASE_INTERFACE,
};

void bus_flush_changes(Manager *m) {
        _cleanup_free_ RemovedObject *removed = NULL;
        size_t n_removed;
        ObjectMark *mark;

        /* removals first: an object removed and added again at the same path keeps that order */
        n_removed = change_queue_take_removed(&m->changes, &removed);
        for (size_t i = 0; i < n_removed; i++) {
                /* the object is gone, so name its interfaces as sd_bus_emit_object_removed() would */
                if (m->bus)
                        (void) sd_bus_emit_interfaces_removed(
                                m->bus, removed[i].path, "org.freedesktop.DBus.Peer",
                                "org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Properties",
                                object_interfaces[removed[i].kind], NULL);
                free(removed[i].path);
        }
        while ((mark = change_queue_pop(&m->changes))) {
                if (!m->bus)
                        ;
                else if (mark->added)
                        (void) sd_bus_emit_object_added(m->bus, mark->path);
                else if (mark->changed)
                        /* no names: every EMITS_CHANGE property of the vtable, with its value */
                        (void) sd_bus_emit_properties_changed_strv(m->bus, mark->path,
                                                                   object_interfaces[mark->kind], NULL);
                if (m->bus && mark->event)
                        bus_emit_object_event(m, mark);
                mark->added = mark->changed = mark->event = false;
        }
}
