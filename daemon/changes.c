/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "changes.h"
#include "util.h"

void object_mark_init(ObjectMark *mark, ChangeQueue *q, ObjectKind kind, void *object, const char *path) {
        *mark = (ObjectMark){.queue = q, .kind = kind, .object = object, .path = path};
}

static void object_mark_enqueue(ObjectMark *mark) {
        ChangeQueue *q = mark->queue;

        if (mark->queued)
                return;
        mark->queued = true;
        mark->next = NULL;
        mark->prev = q->tail;
        if (q->tail)
                q->tail->next = mark;
        else
                q->head = mark;
        q->tail = mark;
}

static void object_mark_unlink(ObjectMark *mark) {
        ChangeQueue *q = mark->queue;

        if (!q || !mark->queued)
                return;
        if (mark->prev)
                mark->prev->next = mark->next;
        else
                q->head = mark->next;
        if (mark->next)
                mark->next->prev = mark->prev;
        else
                q->tail = mark->prev;
        mark->prev = mark->next = NULL;
        mark->queued = false;
}

void object_mark_added(ObjectMark *mark) {
        if (!mark->queue || !mark->queue->enabled)
                return;
        mark->added = true;
        object_mark_enqueue(mark);
}

void object_mark_changed(ObjectMark *mark) {
        if (!mark->queue || !mark->queue->enabled)
                return;
        mark->changed = true;
        object_mark_enqueue(mark);
}

void object_mark_event(ObjectMark *mark) {
        if (!mark->queue || !mark->queue->enabled)
                return;
        mark->event = true;
        object_mark_enqueue(mark);
}

void object_mark_removed(ObjectMark *mark) {
        ChangeQueue *q = mark->queue;
        bool announced = !mark->added;
        RemovedObject *a;
        char *path;

        object_mark_done(mark);
        if (!q || !q->enabled || !announced)
                return;
        path = strdup(mark->path);
        a = path ? reallocarray(q->removed, q->n_removed + 1, sizeof *a) : NULL;
        if (!a) {
                /* out of memory: the removal goes unannounced, as a lost signal would */
                free(path);
                return;
        }
        q->removed = a;
        q->removed[q->n_removed++] = (RemovedObject){.kind = mark->kind, .path = path};
}

void object_mark_done(ObjectMark *mark) {
        object_mark_unlink(mark);
        mark->added = mark->changed = mark->event = false;
}

ObjectMark *change_queue_pop(ChangeQueue *q) {
        ObjectMark *mark = q->head;

        if (mark)
                object_mark_unlink(mark);
        return mark;
}

size_t change_queue_take_removed(ChangeQueue *q, RemovedObject **ret) {
        size_t n = q->n_removed;

        *ret = TAKE_PTR(q->removed);
        q->n_removed = 0;
        return n;
}

void change_queue_clear(ChangeQueue *q) {
        while (q->head)
                object_mark_done(q->head);
        for (size_t i = 0; i < q->n_removed; i++)
                free(q->removed[i].path);
        q->removed = mfree(q->removed);
        q->n_removed = 0;
}
