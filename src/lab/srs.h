/*
 * srs.h - SM-2 spaced repetition (Wozniak 1990, as in SuperMemo 2 and Anki's ancestor):
 * a pure function from a card and a recall grade to the next card. No I/O.
 *
 * Grades 0..5: 5 perfect, 4 correct after hesitation, 3 correct with difficulty, 2 wrong
 * but remembered on seeing the answer, 1 wrong, 0 blackout. Below 3 the card restarts
 * (repetitions 0, interval 1 day); the easiness factor moves by
 * 0.1 - (5 - g) * (0.08 + (5 - g) * 0.02) and never drops below 1.3. Intervals: 1 day,
 * 6 days, then the previous interval times the easiness, rounded.
 */
#ifndef ST_LAB_SRS_H
#define ST_LAB_SRS_H

#include <stdint.h>

struct st_srs_card {
    int repetitions;
    double ease;
    int interval_days;
    int64_t due_ms;
};

#define ST_SRS_NEW ((struct st_srs_card){ .repetitions = 0, .ease = 2.5, .interval_days = 0, .due_ms = 0 })

/* Apply grade (clamped to 0..5) at now_ms; returns the next card. */
struct st_srs_card st_srs_sm2(struct st_srs_card c, int grade, int64_t now_ms);

#endif
