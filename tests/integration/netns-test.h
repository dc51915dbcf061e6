/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the C integration tests share: each runs in a network namespace it creates for itself
 * (gone with the program, entries and all), and fills the table with the ct-insert helper. */

/* The ct-insert helper, from argv[1] or CT_INSERT; set by netns_test_enter(). */
extern const char *ct_insert;

/* Checks root, finds ct-insert, moves into a new network namespace and checks it has
 * conntrack. Returns 0 to go on, otherwise the exit status to end with: 2 on usage, 77 to
 * skip (no root, no namespaces, no conntrack), 1 if the namespace is not new. */
int netns_test_enter(const char *name, int argc, char *argv[]);

/* Runs ct-insert -q with the given arguments (NULL-terminated); returns its exit status. Must
 * be called from a Check test (it asserts). */
int run_ct_insert(const char *arg, ...);
