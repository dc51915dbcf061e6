/* SPDX-License-Identifier: GPL-2.0-or-later */

/* Prints lib/config.c's table of keys, one row a line, fields separated by tabs:
 *   section, name ("" for the [Sysctl] row), default, range ("" for none), documentation line,
 *   help
 * for config-docs.sh, which holds the shipped file, the man page, the README and the fuzz
 * dictionary against it. */

#include <stdio.h>

#include "config.h"
#include "macro.h"

int main(void) {
        for (int k = 0; k < _CONFIG_KEY_MAX; k++) {
                const ConfigItem *it = &config_items[k];
                _cleanup_free_ char *doc = config_item_doc(it);
                char range[CONFIG_RANGE_MAX];

                if (!doc)
                        return EXIT_FAILURE;
                printf("%s\t%s\t%s\t%s\t%s\t%s\n", it->section, strempty(it->name),
                       strempty(it->def), strempty(config_item_range(it, range, sizeof(range))),
                       doc, it->help);
        }
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
