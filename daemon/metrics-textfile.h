/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

#include "parse-util.h"

/* The daemon's metrics for node_exporter's textfile collector: it counts the events by name and
 * writes <TextfileDirectory>/ctguard.prom atomically (a temporary file renamed in the same
 * directory, 0644) when something changed, at most once per PollIntervalSec, and at least
 * every METRICS_TEXTFILE_REFRESH_USEC so that staleness shows. Nothing is written while the
 * directory does not exist. */

#define METRICS_TEXTFILE_NAME "ctguard.prom"
#define METRICS_TEXTFILE_REFRESH_USEC (60 * USEC_PER_SEC)
#define METRICS_TEXTFILE_EVENTS_MAX 64u

struct Manager;
typedef struct MetricsTextfile MetricsTextfile;

int metrics_textfile_new(MetricsTextfile **ret);
MetricsTextfile *metrics_textfile_free(MetricsTextfile *t);

/* Counts one event (log_event()) and marks the metrics changed. */
void metrics_textfile_on_event(MetricsTextfile *t, const char *event);

/* Every poll tick, with CLOCK_MONOTONIC now: writes the file if it is due. */
void metrics_textfile_tick(MetricsTextfile *t, struct Manager *m, usec_t now);

/* The last exposition written and its cost, for measurements. */
size_t metrics_textfile_last_size(const MetricsTextfile *t);
