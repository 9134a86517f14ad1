/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>

#include "job.h"
#include "util.h"

static void *job_thread(void *p) {
        Job *j = p;
        uint64_t one = 1;

        j->work(j);
        /* the eventfd is the only thing shared with the loop; writing it hands the job back */
        while (write(j->event_fd, &one, sizeof one) < 0 && errno == EINTR)
                ;
        return NULL;
}

static int job_dispatch(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Job *j = userdata;

        (void) pthread_join(j->thread, NULL);
        j->source = sd_event_source_disable_unref(j->source);
        j->done(j);
        return 0;
}

Job *job_free(Job *j) {
        if (!j)
                return NULL;
        sd_event_source_disable_unref(j->source);
        closep(&j->event_fd);
        free(j);
        return NULL;
}

int job_start(sd_event *e, JobWork work, JobDone done, void *userdata, Job **ret) {
        sigset_t all, old;
        Job *j;
        int r;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->work = work;
        j->done = done;
        j->userdata = userdata;
        j->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (j->event_fd < 0) {
                r = negative_errno();
                free(j);
                return r;
        }
        r = sd_event_add_io(e, &j->source, j->event_fd, EPOLLIN, job_dispatch, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        (void) sd_event_source_set_description(j->source, "kernel-job");

        /* signals are handled by the loop through signalfd; keep them blocked on the thread */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        r = -pthread_create(&j->thread, NULL, job_thread, j);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                job_free(j);
                return r;
        }
        *ret = j;
        return 0;
}
