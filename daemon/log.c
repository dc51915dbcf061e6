/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdbool.h>
#include <sys/uio.h>
/* We pass CODE_FILE= and friends ourselves; the header would otherwise add log.c's own. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "catalog-ids.h"
#include "log.h"

static int max_level = LOG_INFO;
static bool journal = false;
static LogEventHook event_hook = NULL;
static void *event_hook_userdata = NULL;

void log_setup(LogTarget t) {
        if (t == LOG_TARGET_AUTO)
                /* Under a systemd service stdout/stderr are a journal stream: use the journal
                 * directly, so events keep their fields. */
                journal = getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID");
        else
                journal = t == LOG_TARGET_JOURNAL;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

bool log_to_journal(void) {
        return journal;
}

static void emit(int level, const char *event, const char * const *fields, const char *file,
                 int line, const char *func, const char *message) {
        if (!journal) {
                if (event)
                        fprintf(stderr, "ctguard: [%s] %s\n", event, message);
                else
                        fprintf(stderr, "ctguard: %s\n", message);
                return;
        }

        struct iovec iov[32];
        char *strs[8] = {};
        size_t n = 0, ns = 0;

        /* Evaluates its argument once: callers pass strs[ns++]. */
#define ADD(s)                                                                          \
        do {                                                                            \
                const char *_s_ = (s);                                                  \
                iov[n++] = (struct iovec) { .iov_base = (void *) _s_, .iov_len = strlen(_s_) }; \
        } while (0)
        if (asprintf(&strs[ns], "MESSAGE=%s", message) >= 0)
                ADD(strs[ns++]);
        if (asprintf(&strs[ns], "PRIORITY=%d", level & LOG_PRIMASK) >= 0)
                ADD(strs[ns++]);
        ADD("SYSLOG_IDENTIFIER=ctguard");
        if (event && asprintf(&strs[ns], "CTGUARD_EVENT=%s", event) >= 0)
                ADD(strs[ns++]);
        /* The catalog entry "journalctl -x" shows with the event. */
        if (event && catalog_id_for_event(event) &&
            asprintf(&strs[ns], "MESSAGE_ID=%s", catalog_id_for_event(event)) >= 0)
                ADD(strs[ns++]);
        if (file && asprintf(&strs[ns], "CODE_FILE=%s", file) >= 0)
                ADD(strs[ns++]);
        if (file && asprintf(&strs[ns], "CODE_LINE=%d", line) >= 0)
                ADD(strs[ns++]);
        if (func && asprintf(&strs[ns], "CODE_FUNC=%s", func) >= 0)
                ADD(strs[ns++]);
        for (const char * const *f = fields; f && *f && n < ELEMENTSOF(iov); f++)
                ADD(*f);
#undef ADD

        if (sd_journal_sendv(iov, (int) n) < 0)
                fprintf(stderr, "<%d>ctguard: %s\n", level & LOG_PRIMASK, message);
        for (size_t i = 0; i < ns; i++)
                free(strs[i]);
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char buf[2048];
        va_list ap;
        int e = error < 0 ? -error : error;

        if ((level & LOG_PRIMASK) > max_level)
                return -e;

        /* '%m' must stand for our error, not whatever errno happens to hold. */
        errno = e;
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        emit(level, NULL, NULL, file, line, func, buf);
        return -e;
}

void log_set_event_hook(LogEventHook hook, void *userdata) {
        event_hook = hook;
        event_hook_userdata = userdata;
}

void log_event(int level, const char *event, const char * const *fields, const char *format, ...) {
        char buf[4096];
        va_list ap;

        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if ((level & LOG_PRIMASK) <= max_level)
                emit(level, event, fields, NULL, 0, NULL, buf);
        /* The status record keeps every event, whatever the log level. */
        if (event_hook)
                event_hook(event_hook_userdata, level, event, buf);
}
