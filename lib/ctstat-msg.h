/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ctstat.h"

/* The ctnetlink stats parser of ctstat.c on a buffer of reply messages, without a socket (for
 * the fuzz target): per_cpu false reads IPCTNL_MSG_CT_GET_STATS (count and max), true sums
 * IPCTNL_MSG_CT_GET_STATS_CPU replies into the per-CPU counters. Negative errno for a malformed
 * buffer (-ENODATA: no global reply in it); *ret is written only on success. */
int ctstat_parse_reply(const void *buf, size_t len, bool per_cpu, CtSample *ret);
