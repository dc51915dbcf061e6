/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "events.h"
#include "macro.h"

/* Logging for the daemon and the command: the journal (with structured fields) when running
 * under systemd, stderr otherwise. Only daemon/ logs; lib/ returns errors. */

typedef enum LogTarget {
        LOG_TARGET_AUTO,
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
} LogTarget;

void log_setup(LogTarget t);
void log_set_max_level(int level);
int log_get_max_level(void);
bool log_to_journal(void);
/* Console lines start with an RFC 3339 time and the level name (the daemon sets it). */
void log_set_console_stamps(bool b);

/* Logs and returns -abs(error), so that callers can "return log_error_errno(r, ...)". '%m' in
 * the format stands for strerror(error). */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
        log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

/* Called with every event that is logged, after it is written (the daemon keeps its last
 * events for "ctguard status"). NULL to remove. */
typedef void (*LogEventHook)(void *userdata, int level, const char *event, const char *message);
void log_set_event_hook(LogEventHook hook, void *userdata);

/* A machine-readable event: CTGUARD_EVENT=, MESSAGE_ID= and PRIORITY= from the event's row in
 * events.c, plus extra "KEY=value" fields (NULL-ended), with a human message. On the console
 * the event name leads the message. */
void log_event(EventId id, const char * const *fields, const char *format, ...) _printf_(3, 4);
