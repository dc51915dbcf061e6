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

int verb_hold(int argc, char *argv[]) {
        enum { ARG_FOR = _ARG_VERB_FIRST, ARG_REASON };
        static const struct option options[] = {
                COMMON_OPTIONS,
                { "for",    required_argument, NULL, ARG_FOR },
                { "reason", required_argument, NULL, ARG_REASON },
                {}
        };
        static const char usage[] =
                "Usage: ctguard hold [--for DURATION] [--reason TEXT]\n"
                "\n"
                "Puts ctguard on hold for maintenance: the daemon heals nothing, neither modules\n"
                "nor sysctls, and keeps reporting what it sees. The hold is kept in\n"
                "/run/ctguard/hold: it survives a restart of the daemon, not a reboot, and ends\n"
                "by itself after DURATION. The daemon notices within one poll interval.\n"
                "Holding again replaces the hold. 'ctguard release' ends it early.\n"
                "\n"
                "     --for=DURATION  How long: 1s..1w, as \"30min\" or \"2h\"; \"infinity\" holds\n"
                "                     until released (default 1h)\n"
                "     --reason=TEXT   Why, for the journal (one line, at most 256 bytes)\n";
        char span[FORMAT_TIMESPAN_MAX], when[64];
        usec_t duration = HOLD_DURATION_DEFAULT;
        const char *reason = NULL;
        Hold h;
        int c, r;

        optind = 0;
        while ((c = getopt_long(argc, argv, COMMON_SHORTOPTS, options, NULL)) >= 0)
                switch (c) {
                case ARG_FOR:
                        if (streq(optarg, "infinity"))
                                duration = USEC_INFINITY;
                        else if (parse_sec(optarg, &duration) < 0 || duration < USEC_PER_SEC ||
                                 duration > HOLD_DURATION_MAX) {
                                log_error("Invalid --for '%s': expected 1s..1w or infinity.", optarg);
                                return EX_USAGE;
                        }
                        break;
                case ARG_REASON:
                        if (!hold_reason_valid(optarg)) {
                                log_error("Invalid --reason: one line of at most %u bytes, no control characters.",
                                          HOLD_REASON_MAX);
                                return EX_USAGE;
                        }
                        reason = optarg;
                        break;
                default:
                        r = verb_other_option(c, usage);
                        if (r >= 0)
                                return r;
                }
        r = verb_no_more_args(argc, argv);
        if (r >= 0)
                return r;

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

int verb_release(int argc, char *argv[]) {
        _cleanup_(hold_done) Hold old = {};
        bool was_held;
        Hold h;
        int r;

        r = verb_parse_no_args(argc, argv,
                               "Usage: ctguard release\n"
                               "\n"
                               "Ends a hold, and clears the daemon's module flap guard and load\n"
                               "backoff, so that it heals again within one poll interval.\n");
        if (r <= 0)
                return r < 0 ? EX_USAGE : EXIT_SUCCESS;

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
