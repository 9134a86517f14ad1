/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diagnostics.h"
#include "log.h"
#include "util.h"

typedef struct Waiter {
        diagnostics_callback_t callback;
        void *userdata;
} Waiter;

struct Diagnostics {
        sd_event *event;
        char *helper;
        uint64_t timeout_usec;

        /* the run under way, if any: child_source is set while the helper lives */
        sd_event_source *child_source;
        sd_event_source *io_source;
        sd_event_source *timer_source;
        int fd;
        char *buf;
        size_t size;
        int error; /* why it was killed: -ETIME, -EFBIG */
        Waiter waiters[DIAGNOSTICS_WAITERS_MAX];
        size_t n_waiters;
};

static const char *const status_names[] = {"ok", "info", "skip", "warn", "fail"};

int diagnostics_parse(char *buf, size_t size, DiagnosticsCheck **ret, size_t *ret_n) {
        _cleanup_free_ DiagnosticsCheck *checks = NULL;
        size_t n_fields = 0, n = 0;
        char *p = buf;

        if (size > 0 && buf[size - 1] != '\0')
                return -EBADMSG; /* a field without its end */
        for (size_t i = 0; i < size; i++)
                if (buf[i] == '\0')
                        n_fields++;
        if (n_fields % 5 != 0)
                return -EBADMSG;

        checks = calloc(MAX(n_fields / 5, (size_t) 1), sizeof *checks);
        if (!checks)
                return -ENOMEM;
        for (; n < n_fields / 5; n++) {
                const char *f[5];
                bool known = false;

                for (size_t k = 0; k < 5; k++) {
                        f[k] = p;
                        p += strlen(p) + 1;
                }
                if (isempty(f[0]) || isempty(f[3]))
                        return -EBADMSG;
                for (size_t k = 0; k < ELEMENTSOF(status_names); k++)
                        known = known || streq(f[2], status_names[k]);
                if (!known)
                        return -EBADMSG;
                checks[n] = (DiagnosticsCheck){
                        .check = f[0],
                        .device = f[1],
                        .status = f[2],
                        .summary = f[3],
                        .fix = f[4],
                };
        }
        *ret = TAKE_PTR(checks);
        *ret_n = n;
        return 0;
}

static void run_done(Diagnostics *d) {
        d->io_source = sd_event_source_disable_unref(d->io_source);
        d->timer_source = sd_event_source_disable_unref(d->timer_source);
        /* owned: a helper still alive is killed and reaped */
        d->child_source = sd_event_source_disable_unref(d->child_source);
        if (d->fd >= 0)
                d->fd = (close(d->fd), -1);
        d->buf = mfree(d->buf);
        d->size = 0;
        d->error = 0;
}

/* Ends the run and tells every waiter; the waiters may start the next run. */
static void run_finish(Diagnostics *d, int error, const DiagnosticsCheck *checks, size_t n) {
        Waiter waiters[DIAGNOSTICS_WAITERS_MAX];
        size_t n_waiters = d->n_waiters;

        memcpy(waiters, d->waiters, n_waiters * sizeof *waiters);
        d->n_waiters = 0;
        for (size_t i = 0; i < n_waiters; i++)
                waiters[i].callback(error, checks, n, waiters[i].userdata);
}

static void run_kill(Diagnostics *d, int error) {
        if (d->error == 0)
                d->error = error;
        d->io_source = sd_event_source_disable_unref(d->io_source);
        (void) sd_event_source_send_child_signal(d->child_source, SIGKILL, NULL, 0);
}

/* 0 at the end of the output, -EAGAIN when more may come, -EFBIG past the limit. */
static int read_output(Diagnostics *d) {
        for (;;) {
                char *b;
                ssize_t k;

                if (d->size >= DIAGNOSTICS_OUTPUT_MAX)
                        return -EFBIG;
                b = realloc(d->buf, d->size + 65536 + 1);
                if (!b)
                        return -ENOMEM;
                d->buf = b;
                k = read(d->fd, d->buf + d->size, 65536);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? -EAGAIN : -errno;
                }
                if (k == 0)
                        return 0;
                d->size += (size_t) k;
                if (d->size > DIAGNOSTICS_OUTPUT_MAX)
                        return -EFBIG;
        }
}

static int io_handler(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Diagnostics *d = userdata;
        int r;

        r = read_output(d);
        if (r == -EAGAIN)
                return 0;
        if (r < 0) {
                log_warning_errno(r, "Stopping the diagnostics helper: its output: %m");
                run_kill(d, r == -EFBIG ? -EFBIG : -EBADMSG);
                return 0;
        }
        /* the end of the output: the child source finishes the run */
        d->io_source = sd_event_source_disable_unref(d->io_source);
        return 0;
}

static int timer_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Diagnostics *d = userdata;

        log_warning("The diagnostics helper %s did not finish in time, killing it", d->helper);
        run_kill(d, -ETIME);
        return 0;
}

static int child_handler(sd_event_source *s, const siginfo_t *si, void *userdata) {
        _cleanup_free_ DiagnosticsCheck *checks = NULL;
        _cleanup_free_ char *buf = NULL;
        Diagnostics *d = userdata;
        size_t n = 0, size;
        int r = d->error;

        if (r == 0 && d->io_source) {
                /* it has exited: what it wrote is in the pipe already */
                r = read_output(d);
                if (r == -EAGAIN)
                        r = 0;
        }
        if (r == 0 && (si->si_code != CLD_EXITED || si->si_status != 0)) {
                log_warning("The diagnostics helper %s %s %i", d->helper,
                            si->si_code == CLD_EXITED ? "failed with exit status" : "was killed by signal",
                            si->si_status);
                r = -EPROTO;
        }
        /* the run ends before the waiters hear of it: a call they make starts a new one */
        buf = TAKE_PTR(d->buf);
        size = d->size;
        run_done(d);
        if (r == 0) {
                r = diagnostics_parse(buf ?: (char *) "", size, &checks, &n);
                if (r < 0)
                        log_warning_errno(r, "The diagnostics helper %s wrote no valid records: %m",
                                          d->helper);
        }
        run_finish(d, r, checks, n);
        return 0;
}

static int run_start(Diagnostics *d) {
        _cleanup_close_ int out_read = -1, out_write = -1;
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attr;
        sigset_t mask, all;
        char *argv[] = {d->helper, NULL};
        uint64_t now;
        pid_t pid;
        int pipefd[2], r;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        out_read = pipefd[0];
        out_write = pipefd[1];
        if (fcntl(out_read, F_SETFL, O_NONBLOCK) < 0)
                return -errno;

        /* a fixed argument list and sriovd's own environment: nothing of the caller's */
        r = posix_spawn_file_actions_init(&actions);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&actions, out_write, STDOUT_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&actions);
                return -r;
        }
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&actions);
                return -r;
        }
        /* sriovd blocks the signals it handles on its loop; the helper gets the defaults */
        sigemptyset(&mask);
        sigfillset(&all);
        sigdelset(&all, SIGKILL);
        sigdelset(&all, SIGSTOP);
        r = posix_spawnattr_setsigmask(&attr, &mask);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawn(&pid, d->helper, &actions, &attr, argv, environ);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
        if (r != 0) {
                log_warning_errno(r, "Failed to start the diagnostics helper %s: %m", d->helper);
                return -r;
        }
        out_write = (close(out_write), -1);

        r = sd_event_add_child(d->event, &d->child_source, pid, WEXITED, child_handler, d);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                return log_warning_errno(r, "Failed to watch the diagnostics helper: %m");
        }
        (void) sd_event_source_set_child_process_own(d->child_source, true);
        /* its output is read before its exit is handled */
        (void) sd_event_source_set_priority(d->child_source, SD_EVENT_PRIORITY_NORMAL + 1);
        d->fd = TAKE_FD(out_read);
        r = sd_event_add_io(d->event, &d->io_source, d->fd, EPOLLIN, io_handler, d);
        if (r >= 0)
                r = sd_event_now(d->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(d->event, &d->timer_source, CLOCK_MONOTONIC, now + d->timeout_usec, 0,
                                      timer_handler, d);
        if (r < 0) {
                run_done(d);
                return log_warning_errno(r, "Failed to watch the diagnostics helper: %m");
        }
        log_debug("Started the diagnostics helper %s as process %i", d->helper, (int) pid);
        return 0;
}

int diagnostics_run(Diagnostics *d, diagnostics_callback_t callback, void *userdata) {
        int r;

        if (d->n_waiters >= DIAGNOSTICS_WAITERS_MAX)
                return -EBUSY;
        if (!d->child_source) {
                r = run_start(d);
                if (r < 0)
                        return r;
        }
        d->waiters[d->n_waiters++] = (Waiter){.callback = callback, .userdata = userdata};
        return 0;
}

int diagnostics_new(sd_event *event, const char *helper, uint64_t timeout_usec, Diagnostics **ret) {
        Diagnostics *d;

        d = calloc(1, sizeof *d);
        if (!d)
                return -ENOMEM;
        d->helper = strdup(helper);
        if (!d->helper) {
                free(d);
                return -ENOMEM;
        }
        d->event = sd_event_ref(event);
        d->timeout_usec = timeout_usec;
        d->fd = -1;
        *ret = d;
        return 0;
}

Diagnostics *diagnostics_free(Diagnostics *d) {
        if (!d)
                return NULL;
        run_done(d);
        run_finish(d, -ECANCELED, NULL, 0);
        sd_event_unref(d->event);
        free(d->helper);
        return mfree(d);
}
