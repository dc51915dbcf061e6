/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
/* We pass CODE_FILE= and friends ourselves; the header would otherwise add log.c's own. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool journal = false;
static bool console_stamps = false;
static LogEventHook event_hook = NULL;
static void *event_hook_userdata = NULL;

/* sd_journal_sendv() reports success when the socket is missing, so look before choosing it. */
static bool journal_reachable(void) {
        struct stat st;

        return stat("/run/systemd/journal/socket", &st) >= 0 && S_ISSOCK(st.st_mode);
}

void log_setup(LogTarget t) {
        if (t == LOG_TARGET_AUTO)
                /* Under a systemd service stdout/stderr are a journal stream: use the journal
                 * directly, so events keep their fields. A container started with the
                 * variables inherited but without journald gets stderr. */
                journal = (getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID")) &&
                          journal_reachable();
        else
                journal = t == LOG_TARGET_JOURNAL;
}

void log_set_console_stamps(bool b) {
        console_stamps = b;
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

static const char *level_name(int level) {
        static const char * const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
                [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };

        return names[level & LOG_PRIMASK];
}

/* "2026-12-01T22:10:03.042+00:00": RFC 3339, local time with its offset. */
static void format_stamp(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;
        char zone[8];

        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        strftime(zone, sizeof(zone), "%z", &tm);
        size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%03ld%.3s:%.2s", ts.tv_nsec / 1000000, zone,
                 strlen(zone) >= 5 ? zone + 3 : "00");
}

static void emit_console(int level, const char *event, const char *message) {
        char stamp[64] = "";

        /* The daemon's lines say when and how bad (a container's log has no journal to add
         * it); the commands' lines stay short. */
        if (console_stamps) {
                format_stamp(stamp, sizeof(stamp));
                fprintf(stderr, "%s %s ", stamp, level_name(level));
        }
        if (event)
                fprintf(stderr, "ctguard: [%s] %s\n", event, message);
        else
                fprintf(stderr, "ctguard: %s\n", message);
}

/* The message with its fields; 0, or the error of sd_journal_sendv(). */
static int emit_journal(int level, const EventInfo *event, const char * const *fields,
                        const char *file, int line, const char *func, const char *message) {
        struct iovec iov[32];
        char *strs[8] = {};
        size_t n = 0, ns = 0;
        int r;

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
        if (event && asprintf(&strs[ns], "CTGUARD_EVENT=%s", event->name) >= 0)
                ADD(strs[ns++]);
        /* The catalog entry "journalctl -x" shows with the event. */
        if (event && asprintf(&strs[ns], "MESSAGE_ID=%s", event->message_id) >= 0)
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

        r = sd_journal_sendv(iov, (int) n);
        for (size_t i = 0; i < ns; i++)
                free(strs[i]);
        return r;
}

static void emit(int level, const EventInfo *event, const char * const *fields, const char *file,
                 int line, const char *func, const char *message) {
        if (!journal || emit_journal(level, event, fields, file, line, func, message) < 0)
                emit_console(level, event ? event->name : NULL, message);
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

void log_event(EventId id, const char * const *fields, const char *format, ...) {
        const EventInfo *event = event_info(id);
        char buf[4096];
        va_list ap;

        /* Only a cast gets here without a row (test-events checks every row is filled in):
         * say so rather than drop the event quietly. */
        if (!event) {
                log_error("Event %d has no row in the event table, not logging it.", (int) id);
                return;
        }

        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (event->priority <= max_level)
                emit(event->priority, event, fields, NULL, 0, NULL, buf);
        /* The status record keeps every event, whatever the log level. */
        if (event_hook)
                event_hook(event_hook_userdata, event->priority, event->name, buf);
}
