/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <string.h>

/* The MESSAGE_ID= of every journal event (CTGUARD_EVENT=), each explained in
 * catalog/ctguard.catalog for "journalctl -x". Made once with "systemd-id128 new": an id never
 * changes, monitoring selects on it. A new event gets a new id here and an entry in the
 * catalog; the catalog test checks that every event the daemon logs has both. */

typedef struct CatalogId {
        const char *event;
        const char *id;
} CatalogId;

static const CatalogId catalog_ids[] = {
        { "config-loaded",         "60aebe617cad4f409001d003b60f0e20" },
        { "config-rejected",       "6341089f88ea49c387030629f76542cb" },
        { "sysctl-restored",       "f1fe35af9ccb46d3a3aeb4ad45b23192" },
        { "sysctl-adopted",        "8c98be08f9ab49c9a97c56b989a5c7cb" },
        { "sysctl-drift",          "cfe99bdbd0894b48be9b350a756a466e" },
        { "sysctl-unavailable",    "00c37af1ca754b10923144dad5048788" },
        { "sysctl-available",      "934d368fe53f4464b3d3b9d366ac06ce" },
        { "sysctl-readonly",       "9ef1c8e95a4542f088a5c9dd0521faba" },
        { "sysctl-failed",         "fc27e79a6e8843cbb58611d6e5d375e6" },
        { "sysctl-fight",          "5a533127460f41c8bc6a7f791016c1fb" },
        { "module-chain-present",  "33a43584d11f453ab794b3579c667faa" },
        { "module-chain-restored", "0b55870c481c4b9c887572536127984a" },
        { "module-skipped",        "e4a4c6cb1d6e4045bc71f3f0d12befdc" },
        { "module-reloaded",       "9a6fef7a3d3646c09b982fe82aecf0a1" },
        { "module-load-failed",    "69f04ffbb9c9477dbae385430fc93e98" },
        { "module-blocked",        "cb95dd13b46b4e52a624cea29f5d56a7" },
        { "module-missing",        "82079f8a14af4038a2cb214695a2d020" },
        { "module-flapping",       "191dc1690d564cbc80a41dd602020982" },
        { "held",                  "e7cac034826b4a5d8eabacfcd61718f9" },
        { "hold-expired",          "3cf4e87e622d4c2ca77c6df9ae0573fd" },
        { "released",              "dadbd406e3a64a15a72938e4e4d2931d" },
        { "table-warn",            "97addfd2c4b54e7ba3813a1c78f04b18" },
        { "table-crit",            "e7a1d2c9a8024f9381ff407e0533ae8f" },
        { "table-ok",              "407ec95050354c0ba04d19b3a5519f85" },
        { "table-full",            "4fef73851ceb48f1a811eb2434eed060" },
        { "table-raised",          "df8e40a79b6346cbba67703d29dfa14b" },
        { "table-budget-exhausted", "e31a8d857f074a328adc6279fd836732" },
        { "table-insert-failed",   "57c4d28f68b148a8ab705822bdca9629" },
        { "table-early-drop",      "10bc8b01a62249aea6213ad970ecd340" },
        { "table-chain-too-long",  "14c1b66538da4f8596a54fbf111cdda2" },
        { "table-clash-resolve",   "c9450db60a754596bd6b80d2ef2595e4" },
};

/* The id for an event name, or NULL if it has none. */
static inline const char *catalog_id_for_event(const char *event) {
        for (size_t i = 0; event && i < sizeof(catalog_ids) / sizeof(catalog_ids[0]); i++)
                if (strcmp(catalog_ids[i].event, event) == 0)
                        return catalog_ids[i].id;
        return NULL;
}
