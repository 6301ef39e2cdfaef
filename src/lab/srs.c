/*
 * srs.c - SM-2 spaced repetition (lab/srs.h), as published by Wozniak for SuperMemo 2:
 * the interval grows with the easiness factor of the card as it was before this review,
 * and the easiness factor is then updated from the grade, for every grade.
 */
#include "lab/srs.h"

#include <limits.h>
#include <math.h>

#define DAY_MS 86400000LL
#define EASE_MIN 1.3
/* About a century: keeps intervals and due times far from overflow whatever the input. */
#define INTERVAL_MAX_DAYS 36500

struct st_srs_card st_srs_sm2(struct st_srs_card c, int grade, int64_t now_ms)
{
    int g = grade < 0 ? 0 : grade > 5 ? 5 : grade;
    double ease = !isfinite(c.ease) ? ST_SRS_NEW.ease : c.ease < EASE_MIN ? EASE_MIN : c.ease;
    int reps = c.repetitions > 0 ? c.repetitions : 0;
    int interval;
    if (g < 3) {
        reps = 0;
        interval = 1;
    } else {
        if (reps == 0)
            interval = 1;
        else if (reps == 1)
            interval = 6;
        else {
            /* Round half up (positive values: no libm needed). */
            double next = (c.interval_days > 0 ? c.interval_days : 1) * ease + 0.5;
            interval = next >= INTERVAL_MAX_DAYS ? INTERVAL_MAX_DAYS : (int)next;
        }
        if (reps < INT_MAX)
            reps++;
    }
    int d = 5 - g;
    ease += 0.1 - d * (0.08 + d * 0.02);
    if (ease < EASE_MIN)
        ease = EASE_MIN;
    return (struct st_srs_card){
        .repetitions = reps, .ease = ease, .interval_days = interval, .due_ms = now_ms + interval * DAY_MS
    };
}
