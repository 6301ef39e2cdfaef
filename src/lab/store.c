/*
 * store.c - the lab's SQLite store (lab/store.h): statuses, notes, SM-2 reviews, grading
 * attempts, recent activity, and the "strata-lab" JSON export/import of all of it.
 *
 * A store wraps one progress database connection (progress.c opens it, sets WAL,
 * synchronous=FULL, busy_timeout and foreign keys, and runs the migrations), so the CLI
 * and the web server share one schema. Statements are prepared on first use and kept for
 * the life of the store; each is reset right after use so that no read transaction stays
 * open (an open one would pin a WAL snapshot and keep the checkpointer from finishing).
 * Every change is one BEGIN IMMEDIATE transaction.
 */
#include "lab/store.h"

#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "base/utf8.h"
#include "curriculum/curriculum.h"
#include "lab/internal.h"
#include "lab/srs.h"

#define LAB_FORMAT "strata-lab"
#define LAB_VERSION 1
#define PROGRESS_FORMAT "strata-progress"
#define IMPORT_MAX_BYTES (64u << 20)
#define IMPORT_MAX_ROWS 2000000
/* A grader log is kept up to 1 MiB; longer ones are cut (at a character boundary). */
#define LOG_MAX (1u << 20)
#define INTERVAL_MAX_DAYS 36500
#define DAY_MS 86400000LL

enum stmt_id {
    Q_STATUS_ALL,
    Q_STATUS_SET,
    Q_STATUS_IMPORT,
    Q_EVENT,
    Q_NOTE_GET,
    Q_NOTE_SET,
    Q_NOTE_IMPORT,
    Q_NOTE_DEL,
    Q_NOTES_LIST,
    Q_ACTIVITY,
    Q_REVIEW_GET,
    Q_REVIEW_PUT,
    Q_REVIEW_IMPORT,
    Q_REVIEW_LOG,
    Q_DUE_REVIEWED,
    Q_DUE_NEW,
    Q_ATT_START,
    Q_ATT_FINISH,
    Q_ATT_STATE,
    Q_ATT_LIST_ALL,
    Q_ATT_LIST_ONE,
    Q_ATT_GET,
    Q_ATT_ABANDON,
    Q_ATT_IMPORT_UPDATE,
    Q_ATT_IMPORT_INSERT,
    Q_EXP_STATUSES,
    Q_EXP_EVENTS,
    Q_EXP_NOTES,
    Q_EXP_REVIEWS,
    Q_EXP_REVIEW_LOG,
    Q_EXP_ATTEMPTS,
    NSTMT
};

#define ATT_COLS "id, question_id, grader, target, seed, started_ms, finished_ms, state, passed, total"

static const char *const stmt_sql[NSTMT] = {
    [Q_STATUS_ALL] = "SELECT question_id, status FROM progress WHERE user_id = ?1",
    /* A local change always wins (two changes within one millisecond must both land). */
    [Q_STATUS_SET] = "INSERT INTO progress (user_id, question_id, status, updated_at) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (user_id, question_id) DO UPDATE SET status = excluded.status, "
                     "updated_at = excluded.updated_at",
    /* An import only takes what is newer than the stored row. */
    [Q_STATUS_IMPORT] = "INSERT INTO progress (user_id, question_id, status, updated_at) VALUES (?1, ?2, ?3, ?4) "
                        "ON CONFLICT (user_id, question_id) DO UPDATE SET status = excluded.status, "
                        "updated_at = excluded.updated_at WHERE excluded.updated_at > progress.updated_at",
    [Q_EVENT] = "INSERT OR IGNORE INTO progress_events (user_id, question_id, status, at) VALUES (?1, ?2, ?3, ?4)",
    [Q_NOTE_GET] = "SELECT text, updated_ms FROM notes WHERE user_id = ?1 AND question_id = ?2",
    [Q_NOTE_SET] = "INSERT INTO notes (user_id, question_id, text, updated_ms) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (user_id, question_id) DO UPDATE SET text = excluded.text, "
                   "updated_ms = excluded.updated_ms",
    [Q_NOTE_IMPORT] = "INSERT INTO notes (user_id, question_id, text, updated_ms) VALUES (?1, ?2, ?3, ?4) "
                      "ON CONFLICT (user_id, question_id) DO UPDATE SET text = excluded.text, "
                      "updated_ms = excluded.updated_ms WHERE excluded.updated_ms > notes.updated_ms",
    [Q_NOTE_DEL] = "DELETE FROM notes WHERE user_id = ?1 AND question_id = ?2",
    [Q_NOTES_LIST] = "SELECT question_id FROM notes WHERE user_id = ?1 ORDER BY question_id",
    [Q_ACTIVITY] = "SELECT at, question_id, 'status', status FROM progress_events WHERE user_id = ?1 "
                   "UNION ALL SELECT updated_ms, question_id, 'note', 'edited' FROM notes WHERE user_id = ?1 "
                   "UNION ALL SELECT at_ms, question_id, 'review', 'grade ' || grade FROM review_log "
                   "WHERE user_id = ?1 "
                   "UNION ALL SELECT CASE WHEN finished_ms > 0 THEN finished_ms ELSE started_ms END, question_id, "
                   "'attempt', CASE state WHEN 'running' THEN 'running' ELSE state || ' ' || passed || '/' || total "
                   "END FROM attempts WHERE user_id = ?1 "
                   "ORDER BY 1 DESC LIMIT ?2",
    [Q_REVIEW_GET] = "SELECT repetitions, ease, interval_days, due_ms, last_ms, last_grade FROM reviews "
                     "WHERE user_id = ?1 AND question_id = ?2",
    [Q_REVIEW_PUT] = "INSERT OR REPLACE INTO reviews (user_id, question_id, repetitions, ease, interval_days, due_ms, "
                     "last_ms, last_grade) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_REVIEW_IMPORT] = "INSERT INTO reviews (user_id, question_id, repetitions, ease, interval_days, due_ms, last_ms, "
                        "last_grade) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                        "ON CONFLICT (user_id, question_id) DO UPDATE SET repetitions = excluded.repetitions, "
                        "ease = excluded.ease, interval_days = excluded.interval_days, due_ms = excluded.due_ms, "
                        "last_ms = excluded.last_ms, last_grade = excluded.last_grade "
                        "WHERE excluded.last_ms > reviews.last_ms",
    [Q_REVIEW_LOG] = "INSERT OR IGNORE INTO review_log (user_id, question_id, grade, at_ms) VALUES (?1, ?2, ?3, ?4)",
    [Q_DUE_REVIEWED] = "SELECT question_id FROM reviews WHERE user_id = ?1 AND due_ms <= ?2 "
                       "ORDER BY due_ms, question_id",
    [Q_DUE_NEW] = "SELECT question_id FROM progress p WHERE user_id = ?1 AND status IN ('done', 'review') "
                  "AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.user_id = p.user_id "
                  "AND r.question_id = p.question_id) ORDER BY question_id",
    [Q_ATT_START] = "INSERT INTO attempts (user_id, question_id, grader, target, seed, started_ms, state) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'running')",
    [Q_ATT_FINISH] = "UPDATE attempts SET state = ?2, passed = ?3, total = ?4, log = ?5, finished_ms = ?6 "
                     "WHERE id = ?1 AND state = 'running'",
    [Q_ATT_STATE] = "SELECT state FROM attempts WHERE id = ?1",
    [Q_ATT_LIST_ALL] = "SELECT " ATT_COLS " FROM attempts WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2",
    [Q_ATT_LIST_ONE] = "SELECT " ATT_COLS " FROM attempts WHERE user_id = ?1 AND question_id = ?3 "
                       "ORDER BY id DESC LIMIT ?2",
    [Q_ATT_GET] = "SELECT " ATT_COLS ", log FROM attempts WHERE id = ?1 AND user_id = ?2",
    [Q_ATT_ABANDON] = "UPDATE attempts SET state = 'error', finished_ms = max(?1, started_ms, 1), "
                      "log = log || ?2 WHERE state = 'running'",
    /* An attempt is identified across databases by (user, question, grader, start time). */
    [Q_ATT_IMPORT_UPDATE] = "UPDATE attempts SET target = ?5, seed = ?6, finished_ms = ?7, state = ?8, passed = ?9, "
                            "total = ?10, log = ?11 WHERE user_id = ?1 AND question_id = ?2 AND grader = ?3 "
                            "AND started_ms = ?4 AND state = 'running' AND ?8 <> 'running'",
    [Q_ATT_IMPORT_INSERT] = "INSERT INTO attempts (user_id, question_id, grader, started_ms, target, seed, "
                            "finished_ms, state, passed, total, log) "
                            "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE NOT EXISTS (SELECT 1 FROM "
                            "attempts WHERE user_id = ?1 AND question_id = ?2 AND grader = ?3 AND started_ms = ?4)",
    [Q_EXP_STATUSES] = "SELECT question_id, status, updated_at FROM progress WHERE user_id = ?1 ORDER BY question_id",
    [Q_EXP_EVENTS] = "SELECT question_id, status, at FROM progress_events WHERE user_id = ?1 ORDER BY at, id",
    [Q_EXP_NOTES] = "SELECT question_id, text, updated_ms FROM notes WHERE user_id = ?1 ORDER BY question_id",
    [Q_EXP_REVIEWS] = "SELECT question_id, repetitions, ease, interval_days, due_ms, last_ms, last_grade FROM reviews "
                      "WHERE user_id = ?1 ORDER BY question_id",
    [Q_EXP_REVIEW_LOG] = "SELECT question_id, grade, at_ms FROM review_log WHERE user_id = ?1 ORDER BY at_ms, id",
    [Q_EXP_ATTEMPTS] = "SELECT " ATT_COLS ", log FROM attempts WHERE user_id = ?1 ORDER BY id",
};

struct st_lab_store {
    struct st_progress *p; /* owns the connection */
    sqlite3 *db;
    sqlite3_stmt *st[NSTMT]; /* prepared on first use */
};

static const char *const state_names[] = { "running", "passed", "failed", "error" };
#define NSTATES ((int)(sizeof(state_names) / sizeof(state_names[0])))

const char *st_lab_attempt_state_name(enum st_lab_attempt_state s)
{
    return (unsigned)s < (unsigned)NSTATES ? state_names[s] : "?";
}

static int state_parse(const char *s, enum st_lab_attempt_state *out)
{
    for (int i = 0; s && i < NSTATES; i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (enum st_lab_attempt_state)i;
            return 0;
        }
    return ST_EPARSE;
}

sqlite3 *st__lab_store_db(struct st_lab_store *s)
{
    return s->db;
}

/* ---- plumbing --------------------------------------------------------------------------- */

static int db_fail(struct st_lab_store *s, struct st_error *err, const char *what)
{
    if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
        return st_error_set(err, ST_ENOTFOUND, "%s: no such learner", what);
    return st_error_set(err, ST_EDB, "%s: %s: %s", st_progress_path(s->p), what, sqlite3_errmsg(s->db));
}

/* The cached statement id, reset and with no bindings; NULL (err set) if it cannot be prepared. */
static sqlite3_stmt *stmt(struct st_lab_store *s, enum stmt_id id, struct st_error *err)
{
    sqlite3_stmt *st = s->st[id];
    if (!st) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL) != SQLITE_OK) {
            db_fail(s, err, "preparing a statement");
            return NULL;
        }
        return s->st[id];
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* Step a statement that returns no rows, then reset it. */
static int step_done(struct st_lab_store *s, sqlite3_stmt *st, const char *what, struct st_error *err)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(s, err, what);
    sqlite3_reset(st);
    return rc;
}

static int exec(struct st_lab_store *s, const char *sql, struct st_error *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, err, sql);
    return 0;
}

static int begin(struct st_lab_store *s, struct st_error *err)
{
    return exec(s, "BEGIN IMMEDIATE", err);
}

/* Commit when rc == 0, else roll back; returns the final status. */
static int end(struct st_lab_store *s, int rc, struct st_error *err)
{
    if (rc == 0)
        rc = exec(s, "COMMIT", err);
    if (rc && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int check_question(int question, struct st_error *err)
{
    if (!st_cur_question(question))
        return st_error_set(err, ST_ENOTFOUND, "no question %d (questions are 1-%d)", question, ST_CUR_QUESTIONS);
    return 0;
}

/* SQLite LIMIT from a caller's size_t. */
static sqlite3_int64 limit_of(size_t max)
{
    return max > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)max;
}

static void copy_col(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t ? t : "");
}

/* ---- open / close ------------------------------------------------------------------------ */

int st_lab_store_open(const char *db_path, struct st_lab_store **out, struct st_error *err)
{
    struct st_progress *p = NULL;
    *out = NULL;
    int rc = st_progress_open_path(db_path, &p, err);
    if (rc)
        return rc;
    struct st_lab_store *s = st_xcalloc(1, sizeof(*s));
    s->p = p;
    s->db = st__progress_db(p);
    *out = s;
    return 0;
}

void st_lab_store_close(struct st_lab_store *s)
{
    if (!s)
        return;
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(s->st[i]);
    st_progress_close(s->p);
    free(s);
}

/* ---- status -------------------------------------------------------------------------------- */

int st_lab_store_data_version(struct st_lab_store *s, int64_t *out, struct st_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "data_version");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_fail(s, err, "data_version");
}

int st_lab_status_all(struct st_lab_store *s, int64_t user, enum st_status out[], struct st_error *err)
{
    for (int i = 0; i < ST_CUR_QUESTIONS; i++)
        out[i] = ST_STATUS_TODO;
    sqlite3_stmt *st = stmt(s, Q_STATUS_ALL, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0);
        enum st_status v;
        if (id >= 1 && id <= ST_CUR_QUESTIONS && st_status_parse((const char *)sqlite3_column_text(st, 1), &v) == 0)
            out[id - 1] = v;
    }
    rc = rc == SQLITE_DONE ? 0 : db_fail(s, err, "reading statuses");
    sqlite3_reset(st);
    return rc;
}

/* Upsert a status row (statement id) and log the event; inside a transaction. */
static int put_status(struct st_lab_store *s, enum stmt_id id, int64_t user, int question, enum st_status status,
                      int64_t at, struct st_error *err)
{
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *st = stmt(s, k ? Q_EVENT : id, err);
        if (!st)
            return ST_EDB;
        sqlite3_bind_int64(st, 1, user);
        sqlite3_bind_int(st, 2, question);
        sqlite3_bind_text(st, 3, st_status_name(status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, at);
        int rc = step_done(s, st, "writing a status", err);
        if (rc)
            return rc;
    }
    return 0;
}

int st_lab_status_set(struct st_lab_store *s, int64_t user, int question, enum st_status status, struct st_error *err)
{
    int rc = check_question(question, err);
    if (rc)
        return rc;
    if ((unsigned)status >= ST_STATUS_COUNT)
        return st_error_set(err, ST_EUSAGE, "bad status %d", (int)status);
    if ((rc = begin(s, err)))
        return rc;
    rc = put_status(s, Q_STATUS_SET, user, question, status, st_time_wall_ms(), err);
    return end(s, rc, err);
}

/* ---- notes ----------------------------------------------------------------------------------- */

int st_lab_note_get(struct st_lab_store *s, int64_t user, int question, struct st_buf *text, int64_t *updated_ms,
                    struct st_error *err)
{
    st_buf_clear(text);
    int rc = check_question(question, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt(s, Q_NOTE_GET, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, question);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        rc = st_buf_append(text, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
        if (rc)
            st_error_set(err, rc, "note of question %d: larger than the buffer", question);
        if (updated_ms)
            *updated_ms = sqlite3_column_int64(st, 1);
    } else if (step == SQLITE_DONE) {
        rc = st_error_set(err, ST_ENOTFOUND, "no note on question %d", question);
    } else {
        rc = db_fail(s, err, "reading a note");
    }
    sqlite3_reset(st);
    return rc;
}

/* A note (or an imported one) is UTF-8 without NUL bytes, at most ST_LAB_NOTE_MAX bytes. */
static int check_note(const char *text, size_t len, const char *where, struct st_error *err)
{
    if (len > ST_LAB_NOTE_MAX)
        return st_error_set(err, ST_ELIMIT, "%s: %zu bytes, more than the %d allowed", where, len, ST_LAB_NOTE_MAX);
    if (!st_utf8_valid(text, len))
        return st_error_set(err, ST_EPARSE, "%s: not valid UTF-8 (at byte %zu)", where,
                            st_utf8_valid_prefix(text, len));
    if (memchr(text, '\0', len))
        return st_error_set(err, ST_EPARSE, "%s: contains a NUL character", where);
    return 0;
}

int st_lab_note_set(struct st_lab_store *s, int64_t user, int question, const char *text, size_t len,
                    struct st_error *err)
{
    int rc = check_question(question, err);
    if (rc || (len && (rc = check_note(text, len, "note", err))))
        return rc;
    if ((rc = begin(s, err)))
        return rc;
    sqlite3_stmt *st = stmt(s, len ? Q_NOTE_SET : Q_NOTE_DEL, err);
    if (!st)
        return end(s, ST_EDB, err);
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, question);
    if (len) {
        sqlite3_bind_text(st, 3, text, (int)len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, st_time_wall_ms());
    }
    rc = step_done(s, st, "writing a note", err);
    return end(s, rc, err);
}

/* Collect the first integer column of a query bound to (user) into ids[0..max). */
static int collect_ids(struct st_lab_store *s, sqlite3_stmt *st, int *ids, size_t max, size_t *n, bool conceptual,
                       const char *what, struct st_error *err)
{
    int rc = SQLITE_DONE;
    while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0);
        const struct st_cur_question *q = st_cur_question(id);
        if (q && (!conceptual || q->kind == ST_CUR_CONCEPTUAL))
            ids[(*n)++] = id;
    }
    rc = *n >= max || rc == SQLITE_DONE ? 0 : db_fail(s, err, what);
    sqlite3_reset(st);
    return rc;
}

int st_lab_notes_list(struct st_lab_store *s, int64_t user, int *ids, size_t max, size_t *n, struct st_error *err)
{
    *n = 0;
    sqlite3_stmt *st = stmt(s, Q_NOTES_LIST, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    return collect_ids(s, st, ids, max, n, false, "listing notes", err);
}

/* ---- activity --------------------------------------------------------------------------------- */

int st_lab_activity(struct st_lab_store *s, int64_t user, struct st_lab_activity *out, size_t max, size_t *n,
                    struct st_error *err)
{
    *n = 0;
    sqlite3_stmt *st = stmt(s, Q_ACTIVITY, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, limit_of(max));
    int rc = SQLITE_DONE;
    while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_lab_activity *a = &out[(*n)++];
        a->at_ms = sqlite3_column_int64(st, 0);
        a->question = sqlite3_column_int(st, 1);
        copy_col(a->what, sizeof(a->what), st, 2);
        copy_col(a->detail, sizeof(a->detail), st, 3);
    }
    rc = *n >= max || rc == SQLITE_DONE ? 0 : db_fail(s, err, "reading activity");
    sqlite3_reset(st);
    return rc;
}

/* ---- reviews ---------------------------------------------------------------------------------- */

static void review_defaults(struct st_lab_review *r, int question)
{
    *r = (struct st_lab_review){ .question = question, .ease = ST_SRS_NEW.ease, .last_grade = -1 };
}

/* Read the card into r; 0, ST_ENOTFOUND (defaults) or ST_EDB. */
static int review_read(struct st_lab_store *s, int64_t user, int question, struct st_lab_review *r,
                       struct st_error *err)
{
    review_defaults(r, question);
    sqlite3_stmt *st = stmt(s, Q_REVIEW_GET, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, question);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        r->repetitions = sqlite3_column_int(st, 0);
        r->ease = sqlite3_column_double(st, 1);
        r->interval_days = sqlite3_column_int(st, 2);
        r->due_ms = sqlite3_column_int64(st, 3);
        r->last_ms = sqlite3_column_int64(st, 4);
        r->last_grade = sqlite3_column_int(st, 5);
    } else if (step == SQLITE_DONE) {
        rc = st_error_set(err, ST_ENOTFOUND, "question %d was never reviewed", question);
    } else {
        rc = db_fail(s, err, "reading a review");
    }
    sqlite3_reset(st);
    return rc;
}

int st_lab_review_get(struct st_lab_store *s, int64_t user, int question, struct st_lab_review *out,
                      struct st_error *err)
{
    review_defaults(out, question);
    int rc = check_question(question, err);
    return rc ? rc : review_read(s, user, question, out, err);
}

int st_lab_review_due(struct st_lab_store *s, int64_t user, int64_t now_ms, int *ids, size_t max, size_t *n,
                      struct st_error *err)
{
    *n = 0;
    sqlite3_stmt *st = stmt(s, Q_DUE_REVIEWED, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, now_ms);
    int rc = collect_ids(s, st, ids, max, n, true, "listing due reviews", err);
    if (rc || *n >= max)
        return rc;
    if (!(st = stmt(s, Q_DUE_NEW, err)))
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    return collect_ids(s, st, ids, max, n, true, "listing new reviews", err);
}

static int review_write(struct st_lab_store *s, enum stmt_id id, int64_t user, const struct st_lab_review *r,
                        struct st_error *err)
{
    sqlite3_stmt *st = stmt(s, id, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, r->question);
    sqlite3_bind_int(st, 3, r->repetitions);
    sqlite3_bind_double(st, 4, r->ease);
    sqlite3_bind_int(st, 5, r->interval_days);
    sqlite3_bind_int64(st, 6, r->due_ms);
    sqlite3_bind_int64(st, 7, r->last_ms);
    sqlite3_bind_int(st, 8, r->last_grade);
    return step_done(s, st, "writing a review", err);
}

static int review_log(struct st_lab_store *s, int64_t user, int question, int grade, int64_t at, struct st_error *err)
{
    sqlite3_stmt *st = stmt(s, Q_REVIEW_LOG, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, question);
    sqlite3_bind_int(st, 3, grade);
    sqlite3_bind_int64(st, 4, at);
    return step_done(s, st, "logging a review", err);
}

int st_lab_review_grade(struct st_lab_store *s, int64_t user, int question, int grade, int64_t now_ms,
                        struct st_lab_review *out, struct st_error *err)
{
    int rc = check_question(question, err);
    if (rc)
        return rc;
    if (st_cur_question(question)->kind != ST_CUR_CONCEPTUAL)
        return st_error_set(err, ST_EUSAGE, "question %d is practical: reviews are for conceptual questions", question);
    if (grade < 0 || grade > 5)
        return st_error_set(err, ST_EUSAGE, "grade %d: expected 0-5", grade);
    if ((rc = begin(s, err)))
        return rc;
    struct st_lab_review r;
    rc = review_read(s, user, question, &r, err);
    if (rc == ST_ENOTFOUND) {
        rc = 0;
        st_error_clear(err);
    }
    if (rc == 0) {
        struct st_srs_card c = { r.repetitions, r.ease, r.interval_days, r.due_ms };
        c = st_srs_sm2(c, grade, now_ms);
        r = (struct st_lab_review){ question, c.repetitions, c.ease, c.interval_days, c.due_ms, now_ms, grade };
        rc = review_write(s, Q_REVIEW_PUT, user, &r, err);
    }
    if (rc == 0)
        rc = review_log(s, user, question, grade, now_ms, err);
    rc = end(s, rc, err);
    if (rc == 0 && out)
        *out = r;
    return rc;
}

/* ---- attempts ---------------------------------------------------------------------------------- */

/* Append p[0..n) to b as valid UTF-8 without NUL bytes (each bad byte becomes U+FFFD), cut at max bytes. */
static void append_clean(struct st_buf *b, const char *p, size_t n, size_t max)
{
    static const char repl[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = st_utf8_decode(p + i, n - i, &cp);
        bool bad = k == 0 || cp == 0;
        size_t add = bad ? 3 : k;
        if (b->len + add > max)
            break;
        if (st_buf_append(b, bad ? repl : p + i, add))
            break;
        i += bad ? 1 : k;
    }
}

int st_lab_attempt_start(struct st_lab_store *s, int64_t user, int question, const char *grader, const char *target,
                         uint64_t seed, int64_t now_ms, int64_t *id, struct st_error *err)
{
    int rc = check_question(question, err);
    if (rc)
        return rc;
    size_t glen = grader ? strlen(grader) : 0, tlen = target ? strlen(target) : 0;
    if (glen == 0 || glen >= sizeof(((struct st_lab_attempt *)0)->grader) || !st_utf8_valid(grader, glen))
        return st_error_set(err, ST_EUSAGE, "grader: expected a name of 1-31 bytes");
    if (tlen >= sizeof(((struct st_lab_attempt *)0)->target))
        return st_error_set(err, ST_ELIMIT, "target: longer than 255 bytes");
    if (!st_utf8_valid(target ? target : "", tlen))
        return st_error_set(err, ST_EPARSE, "target: not valid UTF-8");
    if (now_ms <= 0)
        return st_error_set(err, ST_EUSAGE, "bad start time");
    if ((rc = begin(s, err)))
        return rc;
    sqlite3_stmt *st = stmt(s, Q_ATT_START, err);
    if (!st)
        return end(s, ST_EDB, err);
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, question);
    sqlite3_bind_text(st, 3, grader, (int)glen, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, target ? target : "", (int)tlen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)seed);
    sqlite3_bind_int64(st, 6, now_ms);
    rc = step_done(s, st, "starting an attempt", err);
    int64_t rowid = sqlite3_last_insert_rowid(s->db);
    rc = end(s, rc, err);
    if (rc == 0 && id)
        *id = rowid;
    return rc;
}

/* After an UPDATE of attempt id changed nothing: why (not found or already finished). */
static int attempt_why(struct st_lab_store *s, int64_t id, struct st_error *err)
{
    sqlite3_stmt *st = stmt(s, Q_ATT_STATE, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, id);
    int step = sqlite3_step(st), rc;
    if (step == SQLITE_ROW)
        rc = st_error_set(err, ST_ECONFLICT, "attempt %lld already finished (%s)", (long long)id,
                          (const char *)sqlite3_column_text(st, 0));
    else if (step == SQLITE_DONE)
        rc = st_error_set(err, ST_ENOTFOUND, "no attempt %lld", (long long)id);
    else
        rc = db_fail(s, err, "reading an attempt");
    sqlite3_reset(st);
    return rc;
}

int st_lab_attempt_finish(struct st_lab_store *s, int64_t id, enum st_lab_attempt_state state, int passed, int total,
                          const char *log, size_t log_len, int64_t now_ms, struct st_error *err)
{
    if (state != ST_ATTEMPT_PASSED && state != ST_ATTEMPT_FAILED && state != ST_ATTEMPT_ERROR)
        return st_error_set(err, ST_EUSAGE, "an attempt finishes passed, failed or error");
    if (passed < 0 || total < passed)
        return st_error_set(err, ST_EUSAGE, "checks: %d of %d", passed, total);
    if (now_ms <= 0)
        return st_error_set(err, ST_EUSAGE, "bad finish time");
    struct st_buf clean;
    st_buf_init(&clean, ST_BUF_UNLIMITED);
    append_clean(&clean, log ? log : "", log ? log_len : 0, LOG_MAX);
    int rc = begin(s, err);
    if (rc) {
        st_buf_release(&clean);
        return rc;
    }
    sqlite3_stmt *st = stmt(s, Q_ATT_FINISH, err);
    if (!st)
        rc = ST_EDB;
    else {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_text(st, 2, state_names[state], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 3, passed);
        sqlite3_bind_int(st, 4, total);
        sqlite3_bind_text(st, 5, clean.data ? clean.data : "", (int)clean.len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now_ms);
        rc = step_done(s, st, "finishing an attempt", err);
        if (rc == 0 && sqlite3_changes(s->db) == 0)
            rc = attempt_why(s, id, err);
        sqlite3_clear_bindings(st); /* do not keep a pointer into clean */
    }
    rc = end(s, rc, err);
    st_buf_release(&clean);
    return rc;
}

/* The ATT_COLS of the current row into a. */
static void attempt_row(sqlite3_stmt *st, struct st_lab_attempt *a)
{
    *a = (struct st_lab_attempt){ 0 };
    a->id = sqlite3_column_int64(st, 0);
    a->question = sqlite3_column_int(st, 1);
    copy_col(a->grader, sizeof(a->grader), st, 2);
    copy_col(a->target, sizeof(a->target), st, 3);
    a->seed = (uint64_t)sqlite3_column_int64(st, 4);
    a->started_ms = sqlite3_column_int64(st, 5);
    a->finished_ms = sqlite3_column_int64(st, 6);
    if (state_parse((const char *)sqlite3_column_text(st, 7), &a->state))
        a->state = ST_ATTEMPT_ERROR;
    a->passed = sqlite3_column_int(st, 8);
    a->total = sqlite3_column_int(st, 9);
}

int st_lab_attempts_list(struct st_lab_store *s, int64_t user, int question, struct st_lab_attempt *out, size_t max,
                         size_t *n, struct st_error *err)
{
    *n = 0;
    int rc = question ? check_question(question, err) : 0;
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt(s, question ? Q_ATT_LIST_ONE : Q_ATT_LIST_ALL, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int64(st, 2, limit_of(max));
    if (question)
        sqlite3_bind_int(st, 3, question);
    rc = SQLITE_DONE;
    while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
        attempt_row(st, &out[(*n)++]);
    rc = *n >= max || rc == SQLITE_DONE ? 0 : db_fail(s, err, "listing attempts");
    sqlite3_reset(st);
    return rc;
}

int st_lab_attempt_get(struct st_lab_store *s, int64_t user, int64_t id, struct st_lab_attempt *out, struct st_buf *log,
                       struct st_error *err)
{
    if (log)
        st_buf_clear(log);
    sqlite3_stmt *st = stmt(s, Q_ATT_GET, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, user);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        attempt_row(st, out);
        if (log && (rc = st_buf_append(log, sqlite3_column_blob(st, 10), (size_t)sqlite3_column_bytes(st, 10))))
            st_error_set(err, rc, "log of attempt %lld: larger than the buffer", (long long)id);
    } else if (step == SQLITE_DONE) {
        rc = st_error_set(err, ST_ENOTFOUND, "no attempt %lld", (long long)id);
    } else {
        rc = db_fail(s, err, "reading an attempt");
    }
    sqlite3_reset(st);
    return rc;
}

int st_lab_attempts_abandon(struct st_lab_store *s, int64_t now_ms, struct st_error *err)
{
    int rc = begin(s, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = stmt(s, Q_ATT_ABANDON, err);
    if (!st)
        return end(s, ST_EDB, err);
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, "\n[abandoned: strata stopped before the grader finished]\n", -1, SQLITE_STATIC);
    rc = step_done(s, st, "abandoning attempts", err);
    return end(s, rc, err);
}

/* ---- export -------------------------------------------------------------------------------------- */

static json_t *time_json(int64_t ms)
{
    char buf[ST_TIME_RFC3339_LEN + 1];
    st_time_format_rfc3339(ms, buf);
    return json_string(buf);
}

static json_t *text_json(sqlite3_stmt *st, int col)
{
    json_t *j = json_stringn((const char *)sqlite3_column_text(st, col), (size_t)sqlite3_column_bytes(st, col));
    return j ? j : json_string(""); /* invalid UTF-8 cannot be stored through this API; be safe anyway */
}

/* One row of export query id as a JSON object. */
static json_t *export_row(enum stmt_id id, sqlite3_stmt *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "question", json_integer(sqlite3_column_int(st, id == Q_EXP_ATTEMPTS ? 1 : 0)));
    switch (id) {
    case Q_EXP_STATUSES:
    case Q_EXP_EVENTS:
        json_object_set_new(o, "status", text_json(st, 1));
        json_object_set_new(o, id == Q_EXP_EVENTS ? "at" : "updated_at", time_json(sqlite3_column_int64(st, 2)));
        break;
    case Q_EXP_NOTES:
        json_object_set_new(o, "text", text_json(st, 1));
        json_object_set_new(o, "updated_at", time_json(sqlite3_column_int64(st, 2)));
        break;
    case Q_EXP_REVIEWS:
        json_object_set_new(o, "repetitions", json_integer(sqlite3_column_int(st, 1)));
        json_object_set_new(o, "ease", json_real(sqlite3_column_double(st, 2)));
        json_object_set_new(o, "interval_days", json_integer(sqlite3_column_int(st, 3)));
        json_object_set_new(o, "due_at", time_json(sqlite3_column_int64(st, 4)));
        json_object_set_new(o, "last_at", time_json(sqlite3_column_int64(st, 5)));
        json_object_set_new(o, "last_grade", json_integer(sqlite3_column_int(st, 6)));
        break;
    case Q_EXP_REVIEW_LOG:
        json_object_set_new(o, "grade", json_integer(sqlite3_column_int(st, 1)));
        json_object_set_new(o, "at", time_json(sqlite3_column_int64(st, 2)));
        break;
    default: { /* Q_EXP_ATTEMPTS */
        struct st_lab_attempt a;
        attempt_row(st, &a);
        char seed[24];
        snprintf(seed, sizeof(seed), "%llu", (unsigned long long)a.seed);
        json_object_set_new(o, "grader", json_string(a.grader));
        json_object_set_new(o, "target", text_json(st, 3));
        json_object_set_new(o, "seed", json_string(seed));
        json_object_set_new(o, "started_at", time_json(a.started_ms));
        json_object_set_new(o, "finished_at", a.finished_ms ? time_json(a.finished_ms) : json_null());
        json_object_set_new(o, "state", json_string(st_lab_attempt_state_name(a.state)));
        json_object_set_new(o, "passed", json_integer(a.passed));
        json_object_set_new(o, "total", json_integer(a.total));
        json_object_set_new(o, "log", text_json(st, 10));
        break;
    }
    }
    return o;
}

static int export_rows(struct st_lab_store *s, int64_t user, enum stmt_id id, json_t *root, const char *key,
                       struct st_error *err)
{
    sqlite3_stmt *st = stmt(s, id, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, export_row(id, st));
    rc = rc == SQLITE_DONE ? 0 : db_fail(s, err, "exporting");
    sqlite3_reset(st);
    json_object_set_new(root, key, arr);
    return rc;
}

int st_lab_export_json(struct st_lab_store *s, int64_t user, struct st_buf *out, struct st_error *err)
{
    static const struct {
        enum stmt_id id;
        const char *key;
    } parts[] = {
        { Q_EXP_STATUSES, "statuses" }, { Q_EXP_EVENTS, "events" },         { Q_EXP_NOTES, "notes" },
        { Q_EXP_REVIEWS, "reviews" },   { Q_EXP_REVIEW_LOG, "review_log" }, { Q_EXP_ATTEMPTS, "attempts" },
    };
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(LAB_FORMAT));
    json_object_set_new(root, "version", json_integer(LAB_VERSION));
    json_object_set_new(root, "exported_at", time_json(st_time_wall_ms()));
    /* One read transaction: every part from the same snapshot. */
    int rc = exec(s, "BEGIN", err);
    for (size_t i = 0; rc == 0 && i < sizeof(parts) / sizeof(parts[0]); i++)
        rc = export_rows(s, user, parts[i].id, root, parts[i].key, err);
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (rc == 0) {
        char *text = json_dumps(root, JSON_INDENT(2));
        if (!text)
            rc = st_error_set(err, -ENOMEM, "out of memory writing the export");
        else if ((rc = st_buf_append_c(out, text)) || (rc = st_buf_append_byte(out, '\n')))
            st_error_set(err, rc, "export larger than the buffer");
        free(text);
    }
    json_decref(root);
    return rc;
}

/* ---- import: validation ---------------------------------------------------------------------------- */

struct imp_status {
    int question;
    enum st_status status;
    int64_t at;
};
struct imp_note {
    int question;
    const char *text;
    size_t len;
    int64_t at;
};
struct imp_log {
    int question, grade;
    int64_t at;
};
struct imp_attempt {
    struct st_lab_attempt a;
    const char *target, *log; /* borrowed from the JSON document */
    size_t target_len, log_len;
};

struct imp_doc {
    json_t *root; /* owns every string the rows borrow */
    struct imp_status *statuses, *events;
    struct imp_note *notes;
    struct st_lab_review *reviews;
    struct imp_log *logs;
    struct imp_attempt *attempts;
    size_t nstatuses, nevents, nnotes, nreviews, nlogs, nattempts;
};

static void imp_doc_release(struct imp_doc *d)
{
    json_decref(d->root);
    free(d->statuses);
    free(d->events);
    free(d->notes);
    free(d->reviews);
    free(d->logs);
    free(d->attempts);
}

/* Where a field lives, for messages: "notes[3].text". */
struct at {
    const char *key;
    size_t i;
};

static int bad(struct st_error *err, struct at w, const char *field, const char *expected)
{
    return st_error_set(err, ST_EPARSE, "%s[%zu].%s: expected %s", w.key, w.i, field, expected);
}

static int get_int(json_t *o, struct at w, const char *field, long long min, long long max, long long *out,
                   struct st_error *err)
{
    json_t *v = json_object_get(o, field);
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        char expected[96];
        snprintf(expected, sizeof(expected), "an integer %lld-%lld", min, max);
        return bad(err, w, field, expected);
    }
    *out = json_integer_value(v);
    return 0;
}

static int get_question(json_t *o, struct at w, int *out, struct st_error *err)
{
    long long v = 0;
    int rc = get_int(o, w, "question", 1, ST_CUR_QUESTIONS, &v, err);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

/* An RFC 3339 time; null gives 0 when nullable. */
static int get_time(json_t *o, struct at w, const char *field, bool nullable, int64_t *out, struct st_error *err)
{
    json_t *v = json_object_get(o, field);
    if (nullable && json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_string(v) || st_time_parse_rfc3339(json_string_value(v), out) || *out <= 0)
        return bad(err, w, field, nullable ? "an RFC 3339 time after 1970 or null" : "an RFC 3339 time after 1970");
    return 0;
}

static int get_string(json_t *o, struct at w, const char *field, size_t min, size_t max, const char **out, size_t *len,
                      struct st_error *err)
{
    json_t *v = json_object_get(o, field);
    if (!json_is_string(v))
        return bad(err, w, field, "a string");
    *out = json_string_value(v);
    *len = json_string_length(v);
    if (*len < min || *len > max || memchr(*out, '\0', *len))
        return st_error_set(err, ST_EPARSE, "%s[%zu].%s: expected %zu-%zu bytes without NUL", w.key, w.i, field, min,
                            max);
    return 0;
}

static int parse_status(json_t *o, struct at w, const char *time_key, struct imp_status *r, struct st_error *err)
{
    json_t *v = json_object_get(o, "status");
    int rc = get_question(o, w, &r->question, err);
    if (rc == 0 && (!json_is_string(v) || st_status_parse(json_string_value(v), &r->status)))
        rc = bad(err, w, "status", "todo, doing, done or review");
    return rc ? rc : get_time(o, w, time_key, false, &r->at, err);
}

static int parse_note(json_t *o, struct at w, struct imp_note *r, struct st_error *err)
{
    int rc = get_question(o, w, &r->question, err);
    if (rc == 0 && (rc = get_string(o, w, "text", 1, SIZE_MAX, &r->text, &r->len, err)) == 0 &&
        r->len > ST_LAB_NOTE_MAX)
        rc = st_error_set(err, ST_EPARSE, "%s[%zu].text: %zu bytes, more than the %d allowed", w.key, w.i, r->len,
                          ST_LAB_NOTE_MAX);
    return rc ? rc : get_time(o, w, "updated_at", false, &r->at, err);
}

static int parse_review(json_t *o, struct at w, struct st_lab_review *r, struct st_error *err)
{
    long long reps = 0, interval = 0, grade = 0;
    json_t *ease = json_object_get(o, "ease");
    int rc = get_question(o, w, &r->question, err);
    rc = rc ? rc : get_int(o, w, "repetitions", 0, INT_MAX, &reps, err);
    if (rc == 0 && (!json_is_number(ease) || !(json_number_value(ease) >= 1.3) || json_number_value(ease) > 1000))
        rc = bad(err, w, "ease", "a number 1.3-1000");
    rc = rc ? rc : get_int(o, w, "interval_days", 0, INTERVAL_MAX_DAYS, &interval, err);
    rc = rc ? rc : get_time(o, w, "due_at", false, &r->due_ms, err);
    rc = rc ? rc : get_time(o, w, "last_at", false, &r->last_ms, err);
    rc = rc ? rc : get_int(o, w, "last_grade", 0, 5, &grade, err);
    if (rc == 0) {
        r->repetitions = (int)reps;
        r->ease = json_number_value(ease);
        r->interval_days = (int)interval;
        r->last_grade = (int)grade;
    }
    return rc;
}

static int parse_log(json_t *o, struct at w, struct imp_log *r, struct st_error *err)
{
    long long grade = 0;
    int rc = get_question(o, w, &r->question, err);
    rc = rc ? rc : get_int(o, w, "grade", 0, 5, &grade, err);
    rc = rc ? rc : get_time(o, w, "at", false, &r->at, err);
    r->grade = (int)grade;
    return rc;
}

static int parse_seed(json_t *o, struct at w, uint64_t *out, struct st_error *err)
{
    json_t *v = json_object_get(o, "seed");
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = strlen(s);
    if (n == 0 || n > 20 || strspn(s, "0123456789") != n)
        return bad(err, w, "seed", "an unsigned 64-bit integer (as a decimal string)");
    errno = 0;
    unsigned long long x = strtoull(s, NULL, 10);
    if (errno)
        return bad(err, w, "seed", "an unsigned 64-bit integer (as a decimal string)");
    *out = x;
    return 0;
}

static int parse_attempt(json_t *o, struct at w, struct imp_attempt *r, struct st_error *err)
{
    struct st_lab_attempt *a = &r->a;
    const char *grader = "";
    size_t glen = 0;
    long long passed = 0, total = 0;
    json_t *state = json_object_get(o, "state");
    int rc;
    if ((rc = get_question(o, w, &a->question, err)) ||
        (rc = get_string(o, w, "grader", 1, sizeof(a->grader) - 1, &grader, &glen, err)) ||
        (rc = get_string(o, w, "target", 0, sizeof(a->target) - 1, &r->target, &r->target_len, err)) ||
        (rc = parse_seed(o, w, &a->seed, err)) || (rc = get_time(o, w, "started_at", false, &a->started_ms, err)) ||
        (rc = get_time(o, w, "finished_at", true, &a->finished_ms, err)))
        return rc;
    memcpy(a->grader, grader, glen);
    if (!json_is_string(state) || state_parse(json_string_value(state), &a->state))
        return bad(err, w, "state", "running, passed, failed or error");
    if ((a->state == ST_ATTEMPT_RUNNING) != (a->finished_ms == 0))
        return bad(err, w, "finished_at", "null exactly when the state is running");
    if ((rc = get_int(o, w, "passed", 0, INT_MAX, &passed, err)) ||
        (rc = get_int(o, w, "total", passed, INT_MAX, &total, err)))
        return rc;
    a->passed = (int)passed;
    a->total = (int)total;
    r->log = "";
    if (json_object_get(o, "log"))
        return get_string(o, w, "log", 0, LOG_MAX, &r->log, &r->log_len, err);
    return 0;
}

/* Parse root[key] (an array, optional) into a calloc'd array of n elements of size sz. */
typedef int (*row_parser)(json_t *o, struct at w, void *row, struct st_error *err);

static int parse_array(json_t *root, const char *key, size_t sz, row_parser parse, void **out, size_t *n,
                       struct st_error *err)
{
    json_t *arr = json_object_get(root, key);
    if (!arr)
        return 0;
    if (!json_is_array(arr))
        return st_error_set(err, ST_EPARSE, "%s: expected an array", key);
    if (json_array_size(arr) > IMPORT_MAX_ROWS)
        return st_error_set(err, ST_EPARSE, "%s: more than %d entries", key, IMPORT_MAX_ROWS);
    *out = st_xcalloc(json_array_size(arr) + 1, sz);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        struct at w = { key, i };
        if (!json_is_object(o))
            return st_error_set(err, ST_EPARSE, "%s[%zu]: expected an object", key, i);
        int rc = parse(o, w, (char *)*out + i * sz, err);
        if (rc)
            return rc;
        (*n)++;
    }
    return 0;
}

static int parse_status_row(json_t *o, struct at w, void *row, struct st_error *err)
{
    return parse_status(o, w, "updated_at", row, err);
}
static int parse_event_row(json_t *o, struct at w, void *row, struct st_error *err)
{
    return parse_status(o, w, "at", row, err);
}
static int parse_note_row(json_t *o, struct at w, void *row, struct st_error *err)
{
    return parse_note(o, w, row, err);
}
static int parse_review_row(json_t *o, struct at w, void *row, struct st_error *err)
{
    return parse_review(o, w, row, err);
}
static int parse_log_row(json_t *o, struct at w, void *row, struct st_error *err)
{
    return parse_log(o, w, row, err);
}
static int parse_attempt_row(json_t *o, struct at w, void *row, struct st_error *err)
{
    return parse_attempt(o, w, row, err);
}

/* Validate a "strata-lab" document (root already has the right format and version). */
static int parse_lab(struct imp_doc *d, struct st_error *err)
{
    json_t *r = d->root;
    int rc =
        parse_array(r, "statuses", sizeof(*d->statuses), parse_status_row, (void **)&d->statuses, &d->nstatuses, err);
    rc = rc ? rc : parse_array(r, "events", sizeof(*d->events), parse_event_row, (void **)&d->events, &d->nevents, err);
    rc = rc ? rc : parse_array(r, "notes", sizeof(*d->notes), parse_note_row, (void **)&d->notes, &d->nnotes, err);
    rc = rc ? rc
            : parse_array(r, "reviews", sizeof(*d->reviews), parse_review_row, (void **)&d->reviews, &d->nreviews, err);
    rc = rc ? rc : parse_array(r, "review_log", sizeof(*d->logs), parse_log_row, (void **)&d->logs, &d->nlogs, err);
    rc = rc ? rc
            : parse_array(r, "attempts", sizeof(*d->attempts), parse_attempt_row, (void **)&d->attempts, &d->nattempts,
                          err);
    return rc;
}

/* ---- import: apply ------------------------------------------------------------------------------------ */

static int apply_note(struct st_lab_store *s, int64_t user, const struct imp_note *r, struct st_error *err)
{
    sqlite3_stmt *st = stmt(s, Q_NOTE_IMPORT, err);
    if (!st)
        return ST_EDB;
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, r->question);
    sqlite3_bind_text(st, 3, r->text, (int)r->len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, r->at);
    return step_done(s, st, "importing a note", err);
}

static int apply_attempt(struct st_lab_store *s, int64_t user, const struct imp_attempt *r, struct st_error *err)
{
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *st = stmt(s, k ? Q_ATT_IMPORT_INSERT : Q_ATT_IMPORT_UPDATE, err);
        if (!st)
            return ST_EDB;
        sqlite3_bind_int64(st, 1, user);
        sqlite3_bind_int(st, 2, r->a.question);
        sqlite3_bind_text(st, 3, r->a.grader, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->a.started_ms);
        sqlite3_bind_text(st, 5, r->target, (int)r->target_len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)r->a.seed);
        sqlite3_bind_int64(st, 7, r->a.finished_ms);
        sqlite3_bind_text(st, 8, state_names[r->a.state], -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, r->a.passed);
        sqlite3_bind_int(st, 10, r->a.total);
        sqlite3_bind_text(st, 11, r->log, (int)r->log_len, SQLITE_STATIC);
        int rc = step_done(s, st, "importing an attempt", err);
        if (rc || sqlite3_changes(s->db))
            return rc;
    }
    return 0;
}

/* Apply a validated document in one transaction; *applied counts the rows taken (statuses,
 * notes, reviews, attempts; history entries are merged without being counted). */
static int apply_lab(struct st_lab_store *s, int64_t user, const struct imp_doc *d, size_t *applied,
                     struct st_error *err)
{
    size_t taken = 0;
    int rc = begin(s, err);
    for (size_t i = 0; rc == 0 && i < d->nstatuses; i++) {
        const struct imp_status *r = &d->statuses[i];
        sqlite3_stmt *st = stmt(s, Q_STATUS_IMPORT, err);
        if (!st) {
            rc = ST_EDB;
            break;
        }
        sqlite3_bind_int64(st, 1, user);
        sqlite3_bind_int(st, 2, r->question);
        sqlite3_bind_text(st, 3, st_status_name(r->status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->at);
        rc = step_done(s, st, "importing a status", err);
        taken += rc == 0 ? (size_t)sqlite3_changes(s->db) : 0;
    }
    for (size_t i = 0; rc == 0 && i < d->nevents; i++) {
        const struct imp_status *r = &d->events[i];
        sqlite3_stmt *st = stmt(s, Q_EVENT, err);
        if (!st) {
            rc = ST_EDB;
            break;
        }
        sqlite3_bind_int64(st, 1, user);
        sqlite3_bind_int(st, 2, r->question);
        sqlite3_bind_text(st, 3, st_status_name(r->status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, r->at);
        rc = step_done(s, st, "importing an event", err);
    }
    for (size_t i = 0; rc == 0 && i < d->nnotes; i++)
        if ((rc = apply_note(s, user, &d->notes[i], err)) == 0)
            taken += (size_t)sqlite3_changes(s->db);
    for (size_t i = 0; rc == 0 && i < d->nreviews; i++)
        if ((rc = review_write(s, Q_REVIEW_IMPORT, user, &d->reviews[i], err)) == 0)
            taken += (size_t)sqlite3_changes(s->db);
    for (size_t i = 0; rc == 0 && i < d->nlogs; i++)
        rc = review_log(s, user, d->logs[i].question, d->logs[i].grade, d->logs[i].at, err);
    for (size_t i = 0; rc == 0 && i < d->nattempts; i++)
        if ((rc = apply_attempt(s, user, &d->attempts[i], err)) == 0)
            taken += (size_t)sqlite3_changes(s->db);
    /* Statements bound to the document's strings must not outlive it. */
    for (int i = 0; i < NSTMT; i++)
        if (s->st[i]) {
            sqlite3_reset(s->st[i]);
            sqlite3_clear_bindings(s->st[i]);
        }
    rc = end(s, rc, err);
    if (rc == 0 && applied)
        *applied = taken;
    return rc;
}

int st_lab_import_json(struct st_lab_store *s, int64_t user, const char *json, size_t len, size_t *applied,
                       struct st_error *err)
{
    st_error_clear(err);
    if (applied)
        *applied = 0;
    if (len > IMPORT_MAX_BYTES)
        return st_error_set(err, ST_ELIMIT, "larger than %u MiB", IMPORT_MAX_BYTES >> 20);
    struct imp_doc d = { 0 };
    json_error_t jerr;
    d.root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!d.root)
        return st_error_set(err, ST_EPARSE, "line %d column %d: invalid JSON: %s", jerr.line, jerr.column, jerr.text);
    json_t *format = json_object_get(d.root, "format"), *version = json_object_get(d.root, "version");
    const char *f = json_is_string(format) ? json_string_value(format) : "";
    int rc;
    if (strcmp(f, PROGRESS_FORMAT) == 0) {
        /* The CLI's older format: progress.c validates and applies it on this connection. */
        rc = st_progress_import_json(s->p, user, json, len, applied, err);
    } else if (!json_is_object(d.root) || strcmp(f, LAB_FORMAT) != 0) {
        rc = st_error_set(err, ST_EPARSE, "format: expected \"%s\" or \"%s\"", LAB_FORMAT, PROGRESS_FORMAT);
    } else if (!json_is_integer(version) || json_integer_value(version) < 1) {
        rc = st_error_set(err, ST_EPARSE, "version: expected a positive integer");
    } else if (json_integer_value(version) > LAB_VERSION) {
        rc = st_error_set(err, ST_EPARSE, "version %lld was written by a newer strata; upgrade to import it",
                          (long long)json_integer_value(version));
    } else if ((rc = parse_lab(&d, err)) == 0) {
        rc = apply_lab(s, user, &d, applied, err);
    }
    imp_doc_release(&d);
    return rc;
}
