/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Prints the daemon's event table, one "name message-id priority" line per event, for the
 * catalog test and the integration tests: they compare with what the daemon itself uses, not
 * with a reading of its sources. Exits 1 if an event has no row. */

#include <stdio.h>

#include "events.h"

int main(void) {
        int r = 0;

        for (EventId id = 0; id < _EVENT_MAX; id++) {
                const EventInfo *e = event_info(id);

                if (!e || !e->message_id) {
                        fprintf(stderr, "event-table: event %d has no row in the event table\n",
                                (int) id);
                        r = 1;
                        continue;
                }
                printf("%s %s %d\n", e->name, e->message_id, e->priority);
        }
        return r;
}
