/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <assert.h>
#include <syslog.h>

#include "events.h"
#include "macro.h"

/* One row per event. A new event is one enum value in events.h, one row here and one entry in
 * catalog/ctguard.catalog: a missing last row fails the static_assert below, a missing row
 * elsewhere leaves a NULL name that test-events and the catalog test report. */
static const EventInfo event_table[] = {
        [EVENT_CONFIG_LOADED]          = { "config-loaded", "60aebe617cad4f409001d003b60f0e20", LOG_INFO },
        [EVENT_CONFIG_REJECTED]        = { "config-rejected", "6341089f88ea49c387030629f76542cb", LOG_ERR },
        [EVENT_SYSCTL_RESTORED]        = { "sysctl-restored", "f1fe35af9ccb46d3a3aeb4ad45b23192", LOG_NOTICE },
        [EVENT_SYSCTL_ADOPTED]         = { "sysctl-adopted", "8c98be08f9ab49c9a97c56b989a5c7cb", LOG_INFO },
        [EVENT_SYSCTL_DRIFT]           = { "sysctl-drift", "cfe99bdbd0894b48be9b350a756a466e", LOG_WARNING },
        [EVENT_SYSCTL_UNAVAILABLE]     = { "sysctl-unavailable", "00c37af1ca754b10923144dad5048788", LOG_NOTICE },
        [EVENT_SYSCTL_AVAILABLE]       = { "sysctl-available", "934d368fe53f4464b3d3b9d366ac06ce", LOG_INFO },
        [EVENT_SYSCTL_READONLY]        = { "sysctl-readonly", "9ef1c8e95a4542f088a5c9dd0521faba", LOG_WARNING },
        [EVENT_SYSCTL_FAILED]          = { "sysctl-failed", "fc27e79a6e8843cbb58611d6e5d375e6", LOG_WARNING },
        [EVENT_SYSCTL_FIGHT]           = { "sysctl-fight", "5a533127460f41c8bc6a7f791016c1fb", LOG_WARNING },
        [EVENT_MODULE_CHAIN_PRESENT]   = { "module-chain-present", "33a43584d11f453ab794b3579c667faa", LOG_INFO },
        [EVENT_MODULE_CHAIN_RESTORED]  = { "module-chain-restored", "0b55870c481c4b9c887572536127984a", LOG_INFO },
        [EVENT_MODULE_SKIPPED]         = { "module-skipped", "e4a4c6cb1d6e4045bc71f3f0d12befdc", LOG_INFO },
        [EVENT_MODULE_RELOADED]        = { "module-reloaded", "9a6fef7a3d3646c09b982fe82aecf0a1", LOG_NOTICE },
        [EVENT_MODULE_LOAD_FAILED]     = { "module-load-failed", "69f04ffbb9c9477dbae385430fc93e98", LOG_ERR },
        [EVENT_MODULE_BLOCKED]         = { "module-blocked", "cb95dd13b46b4e52a624cea29f5d56a7", LOG_WARNING },
        [EVENT_MODULE_MISSING]         = { "module-missing", "82079f8a14af4038a2cb214695a2d020", LOG_WARNING },
        [EVENT_MODULE_FLAPPING]        = { "module-flapping", "191dc1690d564cbc80a41dd602020982", LOG_CRIT },
        [EVENT_HELD]                   = { "held", "e7cac034826b4a5d8eabacfcd61718f9", LOG_NOTICE },
        [EVENT_HOLD_EXPIRED]           = { "hold-expired", "3cf4e87e622d4c2ca77c6df9ae0573fd", LOG_NOTICE },
        [EVENT_RELEASED]               = { "released", "dadbd406e3a64a15a72938e4e4d2931d", LOG_NOTICE },
        [EVENT_TABLE_WARN]             = { "table-warn", "97addfd2c4b54e7ba3813a1c78f04b18", LOG_WARNING },
        [EVENT_TABLE_CRIT]             = { "table-crit", "e7a1d2c9a8024f9381ff407e0533ae8f", LOG_CRIT },
        [EVENT_TABLE_OK]               = { "table-ok", "407ec95050354c0ba04d19b3a5519f85", LOG_NOTICE },
        [EVENT_TABLE_FULL]             = { "table-full", "4fef73851ceb48f1a811eb2434eed060", LOG_CRIT },
        [EVENT_TABLE_RAISED]           = { "table-raised", "df8e40a79b6346cbba67703d29dfa14b", LOG_NOTICE },
        [EVENT_TABLE_BUDGET_EXHAUSTED] = { "table-budget-exhausted", "e31a8d857f074a328adc6279fd836732", LOG_CRIT },
        [EVENT_TABLE_INSERT_FAILED]    = { "table-insert-failed", "57c4d28f68b148a8ab705822bdca9629", LOG_WARNING },
        [EVENT_TABLE_EARLY_DROP]       = { "table-early-drop", "10bc8b01a62249aea6213ad970ecd340", LOG_WARNING },
        [EVENT_TABLE_CHAIN_TOO_LONG]   = { "table-chain-too-long", "14c1b66538da4f8596a54fbf111cdda2", LOG_WARNING },
        [EVENT_TABLE_CLASH_RESOLVE]    = { "table-clash-resolve", "c9450db60a754596bd6b80d2ef2595e4", LOG_WARNING },
};

static_assert(ELEMENTSOF(event_table) == _EVENT_MAX, "an event in events.h has no row in event_table");

const EventInfo *event_info(EventId id) {
        if (id < 0 || id >= _EVENT_MAX || !event_table[id].name)
                return NULL;
        return &event_table[id];
}

const char *event_to_string(EventId id) {
        const EventInfo *i = event_info(id);

        return i ? i->name : NULL;
}
