/* test_srs.c - SM-2: known sequences, grade clamping, the easiness floor, bad cards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>

#include "lab/srs.h"

#define DAY 86400000LL
#define T0 1700000000000LL

static void assert_near(double got, double want)
{
    if (!(got - want < 1e-9 && want - got < 1e-9))
        fail_msg("got %.12f, want %.12f", got, want);
}

struct step {
    int grade;
    int reps, interval;
    double ease;
};

/* Apply the grades in order to a new card, one day apart, checking every card. */
static void run(const struct step *steps, size_t n)
{
    struct st_srs_card c = ST_SRS_NEW;
    int64_t now = T0;
    for (size_t i = 0; i < n; i++) {
        c = st_srs_sm2(c, steps[i].grade, now);
        assert_int_equal(c.repetitions, steps[i].reps);
        assert_int_equal(c.interval_days, steps[i].interval);
        assert_near(c.ease, steps[i].ease);
        assert_true(c.due_ms == now + steps[i].interval * DAY);
        now += DAY;
    }
}

static void perfect_recall(void **state)
{
    (void)state;
    /* 1 day, 6 days, then interval * ease (the ease before this review): 6*2.7=16.2, 16*2.8=44.8. */
    const struct step s[] = { { 5, 1, 1, 2.6 }, { 5, 2, 6, 2.7 }, { 5, 3, 16, 2.8 }, { 5, 4, 45, 2.9 } };
    run(s, sizeof(s) / sizeof(s[0]));
}

static void hesitant_recall(void **state)
{
    (void)state;
    /* Grade 4 leaves the ease at 2.5: 1, 6, 15, 37.5 -> 38 (half rounds up). */
    const struct step s[] = { { 4, 1, 1, 2.5 }, { 4, 2, 6, 2.5 }, { 4, 3, 15, 2.5 }, { 4, 4, 38, 2.5 } };
    run(s, sizeof(s) / sizeof(s[0]));
}

static void difficult_recall(void **state)
{
    (void)state;
    /* Grade 3: ease -0.14 each time; 6 * 2.22 = 13.32 -> 13. */
    const struct step s[] = { { 3, 1, 1, 2.36 }, { 3, 2, 6, 2.22 }, { 3, 3, 13, 2.08 } };
    run(s, sizeof(s) / sizeof(s[0]));
}

static void lapse_restarts(void **state)
{
    (void)state;
    /* A failure resets repetitions and the interval but keeps (lowers) the ease; grade 2
     * moves it by -0.32, grade 1 by -0.54, grade 0 by -0.8. */
    const struct step s[] = {
        { 5, 1, 1, 2.6 },  { 5, 2, 6, 2.7 },  { 2, 0, 1, 2.38 }, { 4, 1, 1, 2.38 },
        { 4, 2, 6, 2.38 }, { 1, 0, 1, 1.84 }, { 0, 0, 1, 1.3 },
    };
    run(s, sizeof(s) / sizeof(s[0]));
}

static void ease_floor(void **state)
{
    (void)state;
    struct st_srs_card c = ST_SRS_NEW;
    for (int i = 0; i < 10; i++)
        c = st_srs_sm2(c, 0, T0);
    assert_near(c.ease, 1.3);
    /* At the floor, grade 3 cannot push it lower either. */
    c = st_srs_sm2(c, 3, T0);
    assert_near(c.ease, 1.3);
    /* A card below the floor is treated as at the floor: 1.3 + 0.1. */
    c = st_srs_sm2((struct st_srs_card){ .repetitions = 2, .ease = 0.5, .interval_days = 10 }, 5, T0);
    assert_int_equal(c.interval_days, 13); /* 10 * 1.3 */
    assert_near(c.ease, 1.4);
}

static void grades_are_clamped(void **state)
{
    (void)state;
    struct st_srs_card hi = st_srs_sm2(ST_SRS_NEW, 9, T0), five = st_srs_sm2(ST_SRS_NEW, 5, T0);
    struct st_srs_card lo = st_srs_sm2(ST_SRS_NEW, -4, T0), zero = st_srs_sm2(ST_SRS_NEW, 0, T0);
    assert_int_equal(hi.repetitions, five.repetitions);
    assert_near(hi.ease, five.ease);
    assert_int_equal(lo.repetitions, zero.repetitions);
    assert_near(lo.ease, zero.ease);
    assert_near(zero.ease, 1.7);
}

static void bad_cards_are_repaired(void **state)
{
    (void)state;
    /* Negative repetitions count as new; a missing interval counts as one day; a huge one
     * is capped so due times never overflow. */
    struct st_srs_card c = st_srs_sm2((struct st_srs_card){ .repetitions = -5, .ease = 2.5 }, 5, T0);
    assert_int_equal(c.repetitions, 1);
    assert_int_equal(c.interval_days, 1);
    c = st_srs_sm2((struct st_srs_card){ .repetitions = 3, .ease = 2.5, .interval_days = 0 }, 5, T0);
    assert_int_equal(c.interval_days, 3); /* 1 * 2.5 rounded up */
    c = st_srs_sm2((struct st_srs_card){ .repetitions = 30, .ease = 1000, .interval_days = 2000000000 }, 5, T0);
    assert_int_equal(c.interval_days, 36500);
    assert_true(c.due_ms == T0 + 36500 * DAY);
    c = st_srs_sm2((struct st_srs_card){ .repetitions = 2, .ease = NAN, .interval_days = 6 }, 4, T0);
    assert_int_equal(c.interval_days, 15); /* NaN ease: back to 2.5 */
    assert_near(c.ease, 2.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(perfect_recall),
        cmocka_unit_test(hesitant_recall),
        cmocka_unit_test(difficult_recall),
        cmocka_unit_test(lapse_restarts),
        cmocka_unit_test(ease_floor),
        cmocka_unit_test(grades_are_clamped),
        cmocka_unit_test(bad_cards_are_repaired),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
