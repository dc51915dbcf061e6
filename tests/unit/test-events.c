/* SPDX-License-Identifier: GPL-2.0-or-later */

/* The daemon's event table (daemon/events.c): every event has a whole row, no name or id is
 * used twice, and the events the table guard logs for the policy's and the counters' kinds
 * are the ones lib/ names. */

#include <check.h>
#include <ctype.h>
#include <syslog.h>

#include "events.h"
#include "macro.h"
#include "table-guard.h"
#include "table-policy.h"
#include "table-rate.h"

static bool is_name(const char *s) {
        if (!s || !islower((unsigned char) *s))
                return false;
        for (; *s; s++)
                if (!islower((unsigned char) *s) && *s != '-')
                        return false;
        return true;
}

static bool is_id128(const char *s) {
        size_t n = 0;

        for (; s && *s; s++, n++)
                if (!isdigit((unsigned char) *s) && !(*s >= 'a' && *s <= 'f'))
                        return false;
        return n == 32;
}

START_TEST(test_row) {
        const EventInfo *e = event_info((EventId) _i);

        ck_assert_msg(e, "event %d has no row", _i);
        ck_assert_msg(is_name(e->name), "event %d: bad name '%s'", _i, e->name);
        ck_assert_msg(is_id128(e->message_id), "%s: bad id '%s'", e->name, e->message_id);
        ck_assert_msg(e->priority >= LOG_CRIT && e->priority <= LOG_INFO, "%s: priority %d",
                      e->name, e->priority);
        ck_assert_str_eq(event_to_string((EventId) _i), e->name);

        for (EventId j = 0; j < (EventId) _i; j++) {
                const EventInfo *o = event_info(j);

                ck_assert_ptr_nonnull(o);
                ck_assert_msg(!streq(o->name, e->name), "%s is in the table twice", e->name);
                ck_assert_msg(!streq(o->message_id, e->message_id), "%s and %s share id %s",
                              o->name, e->name, e->message_id);
        }
}
END_TEST

START_TEST(test_outside) {
        ck_assert_ptr_null(event_info(_EVENT_MAX));
        ck_assert_ptr_null(event_info(_EVENT_INVALID));
        ck_assert_ptr_null(event_to_string(-1));
}
END_TEST

START_TEST(test_table_events) {
        for (TableEventType t = 0; t < _TABLE_EVENT_MAX; t++)
                ck_assert_str_eq(event_to_string(table_event_id(t)), table_event_to_string(t));
        for (TableCounter c = 0; c < _TABLE_COUNTER_MAX; c++)
                ck_assert_str_eq(event_to_string(table_counter_event_id(c)),
                                 table_counter_event(c));
        ck_assert_int_eq(table_event_id(_TABLE_EVENT_MAX), _EVENT_INVALID);
        ck_assert_int_eq(table_counter_event_id(_TABLE_COUNTER_INVALID), _EVENT_INVALID);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("events");
        TCase *tc = tcase_create("core");

        tcase_add_loop_test(tc, test_row, 0, _EVENT_MAX);
        tcase_add_test(tc, test_outside);
        tcase_add_test(tc, test_table_events);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
