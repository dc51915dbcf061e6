/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <sysexits.h>
#include <time.h>

#include "time-util.h"
#include "hold.h"
#include "log.h"
#include "module-policy.h"
#include "parse-util.h"
#include "run-file.h"
#include "verbs.h"

static const char *format_wallclock(char *buf, size_t size, usec_t t) {
        time_t s = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!localtime_r(&s, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "@%llu", (unsigned long long) (t / USEC_PER_SEC));
        return buf;
}

typedef struct HoldArgs {
        usec_t duration;
        const char *reason;
} HoldArgs;

static int parse_for(const char *arg, void *dest) {
        usec_t *duration = dest;

        if (streq(arg, "infinity")) {
                *duration = USEC_INFINITY;
                return 0;
        }
        if (parse_sec(arg, duration) < 0 || *duration < USEC_PER_SEC || *duration > HOLD_DURATION_MAX)
                return log_error_errno(-EINVAL, "Invalid --for '%s': expected 1s..1w or infinity.", arg);
        return 0;
}

static int parse_reason(const char *arg, void *dest) {
        if (!hold_reason_valid(arg))
                return log_error_errno(-EINVAL, "Invalid --reason: one line of at most %u bytes, "
                                       "no control characters.", HOLD_REASON_MAX);
        *(const char **) dest = arg;
        return 0;
}

static const VerbOption hold_options[] = {
        { "for", 0, "DURATION",
          "How long: 1s..1w, as \"30min\" or \"2h\"; \"infinity\" holds\nuntil released (default 1h)",
          parse_for, offsetof(HoldArgs, duration) },
        { "reason", 0, "TEXT", "Why, for the journal (one line, at most 256 bytes)",
          parse_reason, offsetof(HoldArgs, reason) },
        {}
};

const VerbSyntax verb_hold_syntax = {
        .name = "hold",
        .description =
                "Puts ctguard on hold for maintenance: the daemon heals nothing, neither modules\n"
                "nor sysctls, and keeps reporting what it sees. The hold is kept in\n"
                "/run/ctguard/hold: it survives a restart of the daemon, not a reboot, and ends\n"
                "by itself after DURATION. The daemon notices within one poll interval.\n"
                "Holding again replaces the hold. 'ctguard release' ends it early.\n",
        .options = hold_options,
};

int verb_hold(int argc, char *argv[]) {
        HoldArgs a = { .duration = HOLD_DURATION_DEFAULT };
        char span[FORMAT_TIMESPAN_MAX], when[64];
        const char *reason;
        usec_t duration;
        Hold h;
        int r;

        r = verb_parse_argv(&verb_hold_syntax, argc, argv, &a);
        if (r >= 0)
                return r;
        duration = a.duration;
        reason = a.reason;

        h = hold_make(true, duration, reason, now_usec);
        r = hold_save(arg_root, &h);
        if (r < 0)
                return log_error_errno(r, "Failed to write the hold file: %m"), EXIT_FAILURE;

        if (duration == USEC_INFINITY)
                printf("On hold until 'ctguard release'%s%s%s.\n", reason ? " (" : "",
                       strempty(reason), reason ? ")" : "");
        else
                printf("On hold for %s, until %s%s%s%s.\n",
                       format_timespan(span, sizeof(span), duration),
                       format_wallclock(when, sizeof(when), hold_wallclock(&h, h.until, now_usec)), reason ? " (" : "",
                       strempty(reason), reason ? ")" : "");
        return EXIT_SUCCESS;
}

const VerbSyntax verb_release_syntax = {
        .name = "release",
        .description =
                "Ends a hold, and clears the daemon's module flap guard and load\n"
                "backoff, so that it heals again within one poll interval.\n",
};

int verb_release(int argc, char *argv[]) {
        _cleanup_(hold_done) Hold old = {};
        bool was_held;
        Hold h;
        int r;

        r = verb_parse_argv(&verb_release_syntax, argc, argv, NULL);
        if (r >= 0)
                return r;

        r = hold_load(arg_root, &old);
        if (r < 0 && r != -ENOENT)
                log_warning("The hold file %s, replacing it.", run_file_strerror(r));
        was_held = r >= 0 && hold_in_force(&old, now_usec);

        h = hold_make(false, 0, NULL, now_usec);
        r = hold_save(arg_root, &h);
        if (r < 0)
                return log_error_errno(r, "Failed to write the hold file: %m"), EXIT_FAILURE;

        printf("%s; the flap guard and backoff are cleared.\n",
               was_held ? "Released" : "No hold was in force");
        return EXIT_SUCCESS;
}
