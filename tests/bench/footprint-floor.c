/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The least memory a daemon built on libsystemd can have here: an sd-event loop with a 1 s
 * timer that reads nf_conntrack_count, which is the least ctguard does each tick, and nothing
 * else. It logs nothing and sends nothing; SIGTERM ends it with status 0.
 *
 *   footprint-floor
 *
 * footprint.sh runs it next to the daemon, so that the daemon's RSS splits into what any such
 * program pays (libc, libsystemd and the libraries libsystemd itself links, each faulted in
 * by more than what is used) and the daemon's own share. Linked with libsystemd alone, and with
 * nothing of ctguard's: anything more would raise the floor it is there to show. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#define TICK_USEC UINT64_C(1000000)
/* As the daemon's tick: the default of 250 ms would let sd-event merge wake-ups that the daemon
 * does not merge. */
#define TICK_ACCURACY_USEC UINT64_C(1000)

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        char buf[32];
        int fd, r;

        /* Opened afresh each tick, as the daemon reads a sysctl: the file answers for the
         * network namespace of whoever opens it. A failure is nothing to act on here. */
        fd = open("/proc/sys/net/netfilter/nf_conntrack_count", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) read(fd, buf, sizeof(buf));
                (void) close(fd);
        }

        r = sd_event_source_set_time(s, usec + TICK_USEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

int main(void) {
        __attribute__((cleanup(sd_event_unrefp))) sd_event *e = NULL;
        sigset_t mask;
        int r;

        /* sd-event takes a signal through a signalfd, which only sees blocked signals. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = -errno;
                goto fail;
        }

        r = sd_event_default(&e);
        if (r < 0)
                goto fail;
        /* No handler: SIGTERM exits the loop, with the userdata as the exit code, 0. */
        r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r < 0)
                goto fail;
        r = sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, TICK_USEC, TICK_ACCURACY_USEC,
                                       on_tick, NULL);
        if (r < 0)
                goto fail;

        r = sd_event_loop(e);
        if (r < 0)
                goto fail;
        return r;

fail:
        /* Only when it cannot run at all; a floor that ran is silent. */
        fprintf(stderr, "footprint-floor: %s\n", strerror(-r));
        return EXIT_FAILURE;
}
