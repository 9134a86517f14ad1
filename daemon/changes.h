/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The one path by which the model tells the bus what changed, as systemd's PID 1 does with its bus
 * queue: a model object only marks itself added, changed or removed; the bus layer drains the queue
 * once per event-loop iteration and sends one signal per object, with the property names taken from
 * its vtable. The model never knows a property's bus name. */

typedef enum ObjectKind {
        OBJECT_MANAGER,
        OBJECT_PF,
        OBJECT_VF,
        OBJECT_LEASE,
        _OBJECT_KIND_MAX,
} ObjectKind;

typedef struct ChangeQueue ChangeQueue;
typedef struct ObjectMark ObjectMark;

/* Embedded in every model object that the bus shows. */
struct ObjectMark {
        ChangeQueue *queue;
        ObjectKind kind;
        void *object;
        const char *path; /* the object's own path string */
        bool added; /* InterfacesAdded not sent yet */
        bool changed; /* PropertiesChanged not sent yet */
        bool event; /* a signal of the object's own not sent yet (a lease's ReleaseRequested) */
        bool queued;
        ObjectMark *prev, *next;
};

typedef struct RemovedObject {
        ObjectKind kind;
        char *path;
} RemovedObject;

struct ChangeQueue {
        bool enabled; /* nobody drains a queue before the bus is set up: marks are dropped */
        ObjectMark *head, *tail;
        RemovedObject *removed;
        size_t n_removed;
};

void object_mark_init(ObjectMark *mark, ChangeQueue *q, ObjectKind kind, void *object, const char *path);
/* The object is new on the bus (its properties are sent with it). */
void object_mark_added(ObjectMark *mark);
/* Some of its properties changed; several marks in one iteration make one signal. */
void object_mark_changed(ObjectMark *mark);
/* The object has something to announce with a signal of its own interface, made from its state
 * when the queue is drained (after its InterfacesAdded or PropertiesChanged). */
void object_mark_event(ObjectMark *mark);
/* The object leaves the bus: call before freeing it. An object added and removed within one
 * iteration is never announced at all. */
void object_mark_removed(ObjectMark *mark);
/* Unlinks a mark from its queue without announcing anything; for destructors. */
void object_mark_done(ObjectMark *mark);

/* For the bus layer: the next object to announce, unlinked, or NULL. Removals come first, in order. */
ObjectMark *change_queue_pop(ChangeQueue *q);
/* Hands over the removals recorded so far; the caller frees each path and the array. */
size_t change_queue_take_removed(ChangeQueue *q, RemovedObject **ret);
void change_queue_clear(ChangeQueue *q);
