/*
 * store.h - everything a learner owns in the lab's SQLite database, beyond the status of
 * each question (progress.h): notes, spaced-repetition reviews, grading attempts with
 * their logs, recent activity, and the export/import of all of it.
 *
 * One struct st_lab_store is one SQLite connection to the progress database (the same
 * file the CLI uses: WAL, synchronous=FULL, migrations in progress.c). A connection
 * belongs to one thread at a time. The web server keeps one per worker for reads, which
 * never wait for a writer under WAL, and does writes on the pool (lab/web.h), because a
 * durable commit waits for fsync.
 *
 * Every row carries the user id (ST_PROGRESS_LOCAL_USER until accounts exist). Status
 * values follow base/err.h. Times are Unix milliseconds.
 */
#ifndef ST_LAB_STORE_H
#define ST_LAB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "lab/progress.h"

struct st_lab_store;

/* Open (creating and migrating) the database at db_path, or ":memory:". */
int st_lab_store_open(const char *db_path, struct st_lab_store **out, struct st_error *err);
void st_lab_store_close(struct st_lab_store *s);

/* PRAGMA data_version: changes when another connection (any process) committed since
 * this connection last looked. Lets readers cache what they read (web.c). */
int st_lab_store_data_version(struct st_lab_store *s, int64_t *out, struct st_error *err);

/* ---- status (the same rows as progress.h) ---- */

/* out[id - 1] for every question 1..ST_CUR_QUESTIONS. */
int st_lab_status_all(struct st_lab_store *s, int64_t user, enum st_status out[], struct st_error *err);
int st_lab_status_set(struct st_lab_store *s, int64_t user, int question, enum st_status status, struct st_error *err);

/* ---- notes: one markdown-free plain text note per question (max ST_LAB_NOTE_MAX bytes) ---- */

#define ST_LAB_NOTE_MAX 65536
/* The note into text (cleared first); ST_ENOTFOUND if there is none. */
int st_lab_note_get(struct st_lab_store *s, int64_t user, int question, struct st_buf *text, int64_t *updated_ms,
                    struct st_error *err);
/* Set the note; an empty text deletes it. ST_ELIMIT above the maximum, ST_EPARSE if not UTF-8. */
int st_lab_note_set(struct st_lab_store *s, int64_t user, int question, const char *text, size_t len,
                    struct st_error *err);
/* Questions that have a note, ascending; *n set. */
int st_lab_notes_list(struct st_lab_store *s, int64_t user, int *ids, size_t max, size_t *n, struct st_error *err);

/* ---- recent activity: status changes, notes, reviews, attempts, newest first ---- */

struct st_lab_activity {
    int64_t at_ms;
    int question;
    char what[16];   /* "status", "note", "review", "attempt" */
    char detail[48]; /* "done", "grade 4", "passed 7/7" ... */
};
int st_lab_activity(struct st_lab_store *s, int64_t user, struct st_lab_activity *out, size_t max, size_t *n,
                    struct st_error *err);

/* ---- reviews: SM-2 spaced repetition for conceptual questions (lab/srs.h) ---- */

struct st_lab_review {
    int question;
    int repetitions;   /* successful reviews in a row */
    double ease;       /* SM-2 easiness factor, >= 1.3, starts at 2.5 */
    int interval_days; /* days until the next review */
    int64_t due_ms;    /* when it is due */
    int64_t last_ms;   /* last review (0: never) */
    int last_grade;    /* 0..5, -1: never */
};
/* The card of a question; ST_ENOTFOUND if it was never reviewed (due now, defaults). */
int st_lab_review_get(struct st_lab_store *s, int64_t user, int question, struct st_lab_review *out,
                      struct st_error *err);
/* Conceptual questions due at now_ms: reviewed ones whose due time has come, then (up to
 * max) questions marked done or review that were never reviewed. Ascending by due time. */
int st_lab_review_due(struct st_lab_store *s, int64_t user, int64_t now_ms, int *ids, size_t max, size_t *n,
                      struct st_error *err);
/* Record a recall grade 0..5 at now_ms (SM-2 update); *out gets the new card. */
int st_lab_review_grade(struct st_lab_store *s, int64_t user, int question, int grade, int64_t now_ms,
                        struct st_lab_review *out, struct st_error *err);

/* ---- grading attempts ---- */

enum st_lab_attempt_state { ST_ATTEMPT_RUNNING, ST_ATTEMPT_PASSED, ST_ATTEMPT_FAILED, ST_ATTEMPT_ERROR };
const char *st_lab_attempt_state_name(enum st_lab_attempt_state s); /* running, passed, failed, error */

struct st_lab_attempt {
    int64_t id;
    int question;
    char grader[32];
    char target[256]; /* what the learner entered (escape it when shown) */
    uint64_t seed;
    int64_t started_ms, finished_ms; /* finished 0 while running */
    enum st_lab_attempt_state state;
    int passed, total; /* checks */
};
int st_lab_attempt_start(struct st_lab_store *s, int64_t user, int question, const char *grader, const char *target,
                         uint64_t seed, int64_t now_ms, int64_t *id, struct st_error *err);
int st_lab_attempt_finish(struct st_lab_store *s, int64_t id, enum st_lab_attempt_state state, int passed, int total,
                          const char *log, size_t log_len, int64_t now_ms, struct st_error *err);
/* Newest first; question 0 lists every question's attempts. */
int st_lab_attempts_list(struct st_lab_store *s, int64_t user, int question, struct st_lab_attempt *out, size_t max,
                         size_t *n, struct st_error *err);
/* One attempt and (if log is not NULL) its log; ST_ENOTFOUND if not this user's. */
int st_lab_attempt_get(struct st_lab_store *s, int64_t user, int64_t id, struct st_lab_attempt *out, struct st_buf *log,
                       struct st_error *err);
/* Attempts left "running" by a crash become "error" (call once at server start). */
int st_lab_attempts_abandon(struct st_lab_store *s, int64_t now_ms, struct st_error *err);

/* ---- export / import of everything above (JSON, format "strata-lab" v1) ---- */

int st_lab_export_json(struct st_lab_store *s, int64_t user, struct st_buf *out, struct st_error *err);
/* Validated first, then applied in one transaction (newer wins per row). Also accepts the
 * CLI's "strata-progress" v1 files. */
int st_lab_import_json(struct st_lab_store *s, int64_t user, const char *json, size_t len, size_t *applied,
                       struct st_error *err);

#endif
