/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pthread.h>
#include <systemd/sd-event.h>

/* A piece of blocking kernel work (sysfs writes) run on its own thread, so that the event loop and
 * the bus keep answering while the kernel takes its time. The work function must touch nothing but
 * the Job's own data; done() runs on the event loop afterwards and owns the job. */
typedef struct Job Job;
typedef void (*JobWork)(Job *j);
typedef void (*JobDone)(Job *j);

struct Job {
        JobWork work;
        JobDone done;
        void *userdata;

        /* Set by the work function */
        int error;

        pthread_t thread;
        int event_fd;
        sd_event_source *source;
};

/* Starts work on a new thread; done() is called on the loop with the job, and must call job_free(). */
int job_start(sd_event *e, JobWork work, JobDone done, void *userdata, Job **ret);
Job *job_free(Job *j);
