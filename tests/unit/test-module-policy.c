/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <check.h>

#include "macro.h"
#include "module-policy.h"

#define S(x) ((usec_t) (x) * USEC_PER_SEC)
#define MS(x) ((usec_t) (x) * USEC_PER_MSEC)

static const struct {
        unsigned failures;
        usec_t delay;
} backoff_cases[] = {
        { 0,          0 },
        { 1,          S(1) },
        { 2,          S(2) },
        { 3,          S(4) },
        { 4,          S(8) },
        { 8,          S(128) },
        { 9,          S(256) },
        { 10,         S(300) },    /* 512s, capped at 5min */
        { 64,         S(300) },
        { UINT32_MAX, S(300) },
};

START_TEST(test_backoff) {
        ck_assert_uint_eq(module_backoff_delay(backoff_cases[_i].failures), backoff_cases[_i].delay);
}
END_TEST

/* A flap guard fed heals at the given times; after each, whether it tripped. */
#define FLAP_STEPS_MAX 8
static const struct {
        unsigned burst;
        usec_t interval;
        unsigned n;
        usec_t at[FLAP_STEPS_MAX];
        bool trips[FLAP_STEPS_MAX];
        usec_t until;                   /* after the last step */
} flap_cases[] = {
        /* More than burst within the interval trips it, for one whole interval from then. */
        { 2, S(10), 3, { S(0), S(1), S(2) },                { false, false, true }, S(12) },
        /* A heal exactly one interval old no longer counts. */
        { 2, S(10), 3, { S(0), S(5), S(10) },               { false, false, false }, 0 },
        { 2, S(10), 3, { S(0), S(5), S(10) - 1 },           { false, false, true }, S(20) - 1 },
        /* Slow and steady never trips. */
        { 1, S(10), 4, { S(0), S(10), S(20), S(30) },       { false, false, false, false }, 0 },
        { 1, S(10), 2, { S(0), MS(9999) },                  { false, true }, S(10) + MS(9999) },
        /* The defaults: 5 within 10min. */
        { 5, S(600), 6, { S(0), S(60), S(120), S(180), S(240), S(599) },
          { false, false, false, false, false, true }, S(1199) },
        { 5, S(600), 6, { S(0), S(60), S(120), S(180), S(240), S(600) },
          { false, false, false, false, false, false }, 0 },
        /* A burst of 0 is taken as the minimum, 1. */
        { 0, S(10), 2, { S(0), S(1) },                      { false, true }, S(11) },
};

START_TEST(test_flap_guard) {
        FlapGuard f;

        flap_guard_reset(&f);
        for (unsigned i = 0; i < flap_cases[_i].n; i++) {
                bool t = flap_guard_record(&f, flap_cases[_i].at[i], flap_cases[_i].burst,
                                           flap_cases[_i].interval);
                ck_assert_msg(t == flap_cases[_i].trips[i], "case %d step %u: tripped=%d", _i, i, t);
        }
        ck_assert_uint_eq(f.until, flap_cases[_i].until);

        if (flap_cases[_i].until == 0)
                return;
        /* Tripped up to the end of the window, reset from then on. */
        ck_assert(flap_guard_tripped(&f, flap_cases[_i].until - 1));
        ck_assert(flap_guard_tripped(&f, flap_cases[_i].until - 1));
        ck_assert(!flap_guard_tripped(&f, flap_cases[_i].until));
        ck_assert_uint_eq(f.n, 0);
        ck_assert(!flap_guard_tripped(&f, flap_cases[_i].until - 1));
}
END_TEST

START_TEST(test_flap_guard_capacity) {
        FlapGuard f;
        bool tripped = false;

        /* More heals than the ring holds, all within one window, at the highest burst. */
        flap_guard_reset(&f);
        for (unsigned i = 0; i < CONFIG_RELOAD_BURST_MAX + 10; i++)
                tripped = flap_guard_record(&f, MS(i), CONFIG_RELOAD_BURST_MAX + 50, S(60)) ||
                          tripped;
        ck_assert(tripped);
        ck_assert_uint_le(f.n, ELEMENTSOF(f.heals));
        ck_assert_uint_eq(flap_guard_recent(&f, MS(200), S(60)), ELEMENTSOF(f.heals));
        ck_assert_uint_eq(flap_guard_recent(&f, S(61), S(60)), 0);
}
END_TEST

/* One decision from a given state. */
static const struct {
        GuardMode mode;
        bool held, missing;
        usec_t flap_until;      /* a tripped flap guard, or 0 */
        usec_t retry_at;
        usec_t now;
        ModuleVerdict verdict;
} decide_cases[] = {
        { GUARD_MODE_ENFORCE, false, false, 0,      0,     S(5),  MODULE_VERDICT_OK },
        { GUARD_MODE_ENFORCE, false, true,  0,      0,     S(5),  MODULE_VERDICT_HEAL },
        { GUARD_MODE_MONITOR, false, true,  0,      0,     S(5),  MODULE_VERDICT_REPORT },
        { GUARD_MODE_MONITOR, false, false, 0,      0,     S(5),  MODULE_VERDICT_OK },
        { GUARD_MODE_ENFORCE, true,  true,  0,      0,     S(5),  MODULE_VERDICT_HELD },
        { GUARD_MODE_MONITOR, true,  true,  0,      0,     S(5),  MODULE_VERDICT_HELD },
        { GUARD_MODE_ENFORCE, true,  false, 0,      0,     S(5),  MODULE_VERDICT_OK },
        { GUARD_MODE_ENFORCE, false, true,  S(10),  0,     S(5),  MODULE_VERDICT_FLAPPING },
        { GUARD_MODE_ENFORCE, false, true,  S(10),  0,     S(10), MODULE_VERDICT_HEAL },
        { GUARD_MODE_ENFORCE, true,  true,  S(10),  0,     S(5),  MODULE_VERDICT_HELD },
        { GUARD_MODE_ENFORCE, false, true,  0,      S(6),  S(5),  MODULE_VERDICT_BACKOFF },
        { GUARD_MODE_ENFORCE, false, true,  0,      S(5),  S(5),  MODULE_VERDICT_HEAL },
        { GUARD_MODE_ENFORCE, false, true,  S(10),  S(6),  S(5),  MODULE_VERDICT_FLAPPING },
        { GUARD_MODE_ENFORCE, false, false, 0,      S(6),  S(5),  MODULE_VERDICT_OK },
};

START_TEST(test_decide) {
        ModulePolicy p;
        ModulePolicyInput in = {
                .mode = decide_cases[_i].mode,
                .held = decide_cases[_i].held,
                .missing = decide_cases[_i].missing,
                .reload_burst = 5,
                .reload_interval = S(600),
        };
        ModuleVerdict v;

        module_policy_init(&p);
        p.flap.until = decide_cases[_i].flap_until;
        p.retry_at = decide_cases[_i].retry_at;
        p.failures = decide_cases[_i].retry_at ? 3 : 0;

        v = module_policy_decide(&p, &in, decide_cases[_i].now);
        ck_assert_msg(v == decide_cases[_i].verdict, "case %d: got %s, want %s", _i,
                      module_verdict_to_string(v),
                      module_verdict_to_string(decide_cases[_i].verdict));
        if (!decide_cases[_i].missing) {
                /* Present again: the failure streak is over. */
                ck_assert_uint_eq(p.failures, 0);
                ck_assert_uint_eq(p.retry_at, 0);
        }
}
END_TEST

/* Heals that loaded nothing, any number of them inside one window, never trip the flap guard
 * and are not counted; one that loads trips it as usual. A nothing-heal also ends a failure
 * streak (the chain is whole). */
static const struct {
        const char *name;
        unsigned nothing;       /* heals that loaded nothing, 1 s apart */
        unsigned loaded;        /* then heals that loaded, 1 s apart */
        bool fail_first;
        bool want_flapping;     /* on the last heal */
        unsigned long want_heals;
} nothing_cases[] = {
        { "nothing x10",                 10, 0, false, false, 0 },
        { "nothing x10 then 2 loads",    10, 2, false, false, 2 },
        { "nothing x10 then 3 loads",    10, 3, false, true,  3 },
        { "a failure, then nothing",     1,  0, true,  false, 0 },
};

START_TEST(test_healed_nothing) {
        ModulePolicyInput in = {
                .mode = GUARD_MODE_ENFORCE,
                .missing = true,
                .reload_burst = 2,
                .reload_interval = S(60),
        };
        ModuleHealOutcome o = {};
        ModulePolicy p;
        usec_t t = S(1);

        module_policy_init(&p);
        if (nothing_cases[_i].fail_first) {
                o = module_policy_healed(&p, &in, false, false, t);
                ck_assert_uint_eq(p.failures, 1);
                t += o.retry_in;
        }
        for (unsigned k = 0; k < nothing_cases[_i].nothing; k++, t += S(1)) {
                ck_assert_int_eq(module_policy_decide(&p, &in, t), MODULE_VERDICT_HEAL);
                o = module_policy_healed(&p, &in, true, false, t);
                ck_assert(!o.flapping);
                ck_assert_uint_eq(o.retry_in, 0);
        }
        for (unsigned k = 0; k < nothing_cases[_i].loaded; k++, t += S(1)) {
                ck_assert_int_eq(module_policy_decide(&p, &in, t), MODULE_VERDICT_HEAL);
                o = module_policy_healed(&p, &in, true, true, t);
        }
        ck_assert_msg(o.flapping == nothing_cases[_i].want_flapping, "%s", nothing_cases[_i].name);
        ck_assert_uint_eq(p.heals, nothing_cases[_i].want_heals);
        ck_assert_uint_eq(p.failures, 0);
        ck_assert_uint_eq(p.retry_at, 0);
        ck_assert_int_eq(module_policy_decide(&p, &in, t),
                         nothing_cases[_i].want_flapping ? MODULE_VERDICT_FLAPPING : MODULE_VERDICT_HEAL);
}
END_TEST

/* A story on a fake clock: failures back off, a success resets, repeated heals trip the flap
 * guard, the window passes, a release clears it early. */
typedef enum Step {
        DECIDE,         /* expect verdict */
        HEAL_OK,        /* expect flapping or not */
        HEAL_FAIL,      /* expect retry_in */
        RESET,
} Step;

#define D(t, m, v)      { DECIDE, t, m, v, false, 0 }
#define OK(t, f)        { HEAL_OK, t, true, MODULE_VERDICT_HEAL, f, 0 }
#define FAIL(t, r)      { HEAL_FAIL, t, true, MODULE_VERDICT_HEAL, false, r }
#define RESET_AT(t)     { RESET, t, false, MODULE_VERDICT_OK, false, 0 }

static const struct {
        Step step;
        usec_t now;
        bool missing;
        ModuleVerdict verdict;
        bool flapping;
        usec_t retry_in;
} story[] = {
        D(S(0), true, MODULE_VERDICT_HEAL),
        FAIL(S(0), S(1)),
        D(MS(999), true, MODULE_VERDICT_BACKOFF),
        D(S(1), true, MODULE_VERDICT_HEAL),
        FAIL(S(1), S(2)),
        D(S(2), true, MODULE_VERDICT_BACKOFF),
        D(S(3), true, MODULE_VERDICT_HEAL),
        FAIL(S(3), S(4)),
        D(S(7), true, MODULE_VERDICT_HEAL),
        OK(S(7), false),          /* heal 1 in the window */
        D(S(8), false, MODULE_VERDICT_OK),
        D(S(10), true, MODULE_VERDICT_HEAL),
        FAIL(S(10), S(1)),    /* the streak started over */
        D(S(11), true, MODULE_VERDICT_HEAL),
        OK(S(11), false),          /* 2 */
        D(S(20), true, MODULE_VERDICT_HEAL),
        OK(S(20), true),           /* 3 > burst 2: trips to 80s */
        D(S(30), true, MODULE_VERDICT_FLAPPING),
        D(S(80) - 1, true, MODULE_VERDICT_FLAPPING),
        D(S(80), true, MODULE_VERDICT_HEAL),
        OK(S(80), false),          /* a fresh window */
        D(S(81), true, MODULE_VERDICT_HEAL),
        OK(S(81), false),
        D(S(82), true, MODULE_VERDICT_HEAL),
        OK(S(82), true),           /* trips to 142s */
        D(S(90), true, MODULE_VERDICT_FLAPPING),
        RESET_AT(S(91)),                                   /* ctguard release */
        D(S(91), true, MODULE_VERDICT_HEAL),
};

START_TEST(test_story) {
        ModulePolicyInput in = {
                .mode = GUARD_MODE_ENFORCE,
                .reload_burst = 2,
                .reload_interval = S(60),
        };
        ModulePolicy p;

        module_policy_init(&p);
        for (size_t i = 0; i < ELEMENTSOF(story); i++) {
                ModuleHealOutcome o;
                ModuleVerdict v;

                in.missing = story[i].missing;
                switch (story[i].step) {
                case DECIDE:
                        v = module_policy_decide(&p, &in, story[i].now);
                        ck_assert_msg(v == story[i].verdict, "step %zu: got %s, want %s", i,
                                      module_verdict_to_string(v),
                                      module_verdict_to_string(story[i].verdict));
                        break;
                case HEAL_OK:
                        o = module_policy_healed(&p, &in, true, true, story[i].now);
                        ck_assert_msg(o.flapping == story[i].flapping, "step %zu: flapping=%d", i,
                                      o.flapping);
                        ck_assert_uint_eq(o.retry_in, 0);
                        break;
                case HEAL_FAIL:
                        o = module_policy_healed(&p, &in, false, false, story[i].now);
                        ck_assert_msg(o.retry_in == story[i].retry_in, "step %zu: retry in %llu", i,
                                      (unsigned long long) o.retry_in);
                        ck_assert_uint_eq(p.retry_at, story[i].now + story[i].retry_in);
                        ck_assert(!o.flapping);
                        break;
                case RESET:
                        module_policy_reset(&p);
                        break;
                }
        }
        ck_assert_uint_eq(p.heals, 6);
        ck_assert_uint_eq(p.heal_failures, 4);
        ck_assert_uint_eq(p.flaps, 2);
}
END_TEST

static const struct {
        bool held;
        usec_t until;
        usec_t now;
        bool active;
} hold_cases[] = {
        { true,  S(100),         S(99),         true },
        { true,  S(100),         S(100) - 1,    true },
        { true,  S(100),         S(100),        false },    /* expired exactly at Until */
        { true,  S(100),         S(1000),       false },
        { true,  USEC_INFINITY,  S(1000000),    true },
        { false, S(100),         S(50),         false },    /* a release record */
};

START_TEST(test_hold_active) {
        Hold h = { .held = hold_cases[_i].held, .since = S(10), .until = hold_cases[_i].until };

        ck_assert(module_policy_hold_active(&h, hold_cases[_i].now) == hold_cases[_i].active);
        ck_assert(!module_policy_hold_active(NULL, hold_cases[_i].now));
}
END_TEST

static const Hold held_a = { .held = true, .since = S(10), .until = S(100), .reason = (char *) "upgrade" };
static const Hold held_a2 = { .held = true, .since = S(10), .until = S(100), .reason = (char *) "upgrade" };
static const Hold held_b = { .held = true, .since = S(20), .until = S(200), .reason = (char *) "upgrade" };
static const Hold held_c = { .held = true, .since = S(10), .until = S(100), .reason = (char *) "other" };
static const Hold held_inf = { .held = true, .since = S(10), .until = USEC_INFINITY };
static const Hold rel_1 = { .held = false, .since = S(30) };
static const Hold rel_2 = { .held = false, .since = S(40) };

static const struct {
        const Hold *prev, *cur;
        bool was_active;
        usec_t now;
        HoldTransition t;
} transition_cases[] = {
        { NULL,     NULL,     false, S(50),  HOLD_TRANSITION_NONE },
        { NULL,     &held_a,  false, S(50),  HOLD_TRANSITION_HELD },
        { &held_a,  &held_a2, true,  S(50),  HOLD_TRANSITION_NONE },       /* same, read again */
        { &held_a,  &held_b,  true,  S(50),  HOLD_TRANSITION_HELD },       /* held again */
        { &held_a,  &held_c,  true,  S(50),  HOLD_TRANSITION_HELD },       /* new reason */
        { &held_a,  &held_a2, true,  S(100), HOLD_TRANSITION_EXPIRED },
        { &held_a,  &held_a2, false, S(150), HOLD_TRANSITION_NONE },       /* reported already */
        { NULL,     &held_a,  false, S(150), HOLD_TRANSITION_NONE },       /* found expired */
        { &held_a,  NULL,     true,  S(50),  HOLD_TRANSITION_EXPIRED },    /* file removed */
        { &held_a,  &rel_1,   true,  S(50),  HOLD_TRANSITION_RELEASED },
        { &held_a,  &rel_1,   false, S(150), HOLD_TRANSITION_RELEASED },   /* after expiry */
        { &rel_1,   &rel_1,   false, S(50),  HOLD_TRANSITION_NONE },       /* seen already */
        { &rel_1,   &rel_2,   false, S(50),  HOLD_TRANSITION_RELEASED },   /* released again */
        { NULL,     &rel_1,   false, S(50),  HOLD_TRANSITION_RELEASED },
        { &rel_1,   &held_inf, false, S(50), HOLD_TRANSITION_HELD },
        { &held_inf, &held_inf, true, S(1000000), HOLD_TRANSITION_NONE },
};

START_TEST(test_hold_transition) {
        HoldTransition t = module_policy_hold_transition(transition_cases[_i].prev,
                                                         transition_cases[_i].cur,
                                                         transition_cases[_i].was_active,
                                                         transition_cases[_i].now);

        ck_assert_msg(t == transition_cases[_i].t, "case %d: got %d, want %d", _i, t,
                      transition_cases[_i].t);
}
END_TEST

int main(void) {
        Suite *s = suite_create("module-policy");
        TCase *tc = tcase_create("core");
        SRunner *sr;
        int failed;

        tcase_add_loop_test(tc, test_backoff, 0, ELEMENTSOF(backoff_cases));
        tcase_add_loop_test(tc, test_flap_guard, 0, ELEMENTSOF(flap_cases));
        tcase_add_test(tc, test_flap_guard_capacity);
        tcase_add_loop_test(tc, test_decide, 0, ELEMENTSOF(decide_cases));
        tcase_add_test(tc, test_story);
        tcase_add_loop_test(tc, test_healed_nothing, 0, ELEMENTSOF(nothing_cases));
        tcase_add_loop_test(tc, test_hold_active, 0, ELEMENTSOF(hold_cases));
        tcase_add_loop_test(tc, test_hold_transition, 0, ELEMENTSOF(transition_cases));
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
