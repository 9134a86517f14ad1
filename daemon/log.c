/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "names.h"

static int max_level = LOG_INFO;
static bool use_journal = false;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%lu:%lu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(void) {
        const char *e = getenv(ENV_SRIOVD_LOG_LEVEL);

        use_journal = stderr_is_journal();
        if (!e)
                return;
        if (streq(e, "debug"))
                max_level = LOG_DEBUG;
        else if (streq(e, "info"))
                max_level = LOG_INFO;
        else if (streq(e, "notice"))
                max_level = LOG_NOTICE;
        else if (streq(e, "warning"))
                max_level = LOG_WARNING;
        else if (streq(e, "err") || streq(e, "error"))
                max_level = LOG_ERR;
}

int log_full(int level, int error, const char *pf, const char *vf, const char *interface, const char *fmt,
             ...) {
        char buf[LINE_MAX];
        va_list ap;
        int saved = errno;

        error = abs(error);
        if (level > max_level) {
                errno = saved;
                return -error;
        }

        errno = error;
        va_start(ap, fmt);
        (void) vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);

        if (use_journal) {
                char priority[16], errno_field[32];
                _cleanup_free_ char *message = NULL, *pf_field = NULL, *vf_field = NULL, *if_field = NULL;
                struct iovec iov[7];
                size_t n = 0;

                message = strjoin("MESSAGE=", buf);
                snprintf(priority, sizeof priority, "PRIORITY=%i", level);
                if (!message)
                        goto fallback;
                iov[n++] = (struct iovec){message, strlen(message)};
                iov[n++] = (struct iovec){priority, strlen(priority)};
                iov[n++] = (struct iovec){(char *) "SYSLOG_IDENTIFIER=sriovd",
                                          strlen("SYSLOG_IDENTIFIER=sriovd")};
                if (error > 0) {
                        snprintf(errno_field, sizeof errno_field, "ERRNO=%i", error);
                        iov[n++] = (struct iovec){errno_field, strlen(errno_field)};
                }
                if (pf && (pf_field = strjoin(FIELD_PF, pf)))
                        iov[n++] = (struct iovec){pf_field, strlen(pf_field)};
                if (vf && (vf_field = strjoin(FIELD_VF, vf)))
                        iov[n++] = (struct iovec){vf_field, strlen(vf_field)};
                if (interface && (if_field = strjoin(FIELD_INTERFACE, interface)))
                        iov[n++] = (struct iovec){if_field, strlen(if_field)};
                if (sd_journal_sendv(iov, (int) n) >= 0)
                        goto done;
        }
fallback:
        fprintf(stderr, "%s%s%s\n", pf ? pf : "", pf ? ": " : "", buf);
done:

        errno = saved;
        return -error;
}
