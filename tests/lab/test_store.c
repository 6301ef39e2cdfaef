/* test_store.c - the lab store: statuses, notes, reviews, attempts, activity, users kept
 * apart, migrations from a v1 database, and the strata-lab export/import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "base/time.h"
#include "curriculum/curriculum.h"
#include "lab/internal.h"
#include "lab/store.h"

#define USER ST_PROGRESS_LOCAL_USER
#define DAY 86400000LL

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/strata-store-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static struct st_lab_store *open_path(const char *path)
{
    struct st_lab_store *s = NULL;
    struct st_error err;
    if (st_lab_store_open(path, &s, &err))
        fail_msg("open %s: %s", path, err.msg);
    return s;
}

static struct st_lab_store *open_mem(void)
{
    return open_path(":memory:");
}

static void add_learner(struct st_lab_store *s, int64_t id)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "INSERT INTO learners (id, name, created_at) VALUES (%lld, 'l%lld', 0)", (long long)id,
             (long long)id);
    assert_int_equal(sqlite3_exec(st__lab_store_db(s), sql, NULL, NULL, NULL), SQLITE_OK);
}

static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The export of user without exported_at, keys sorted (for comparisons); caller frees. */
static char *export_norm(struct st_lab_store *s, int64_t user)
{
    struct st_buf b;
    struct st_error err;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    if (st_lab_export_json(s, user, &b, &err))
        fail_msg("export: %s", err.msg);
    json_t *root = json_loadb(b.data, b.len, 0, NULL);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "format")), "strata-lab");
    assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
    int64_t at;
    assert_int_equal(st_time_parse_rfc3339(json_string_value(json_object_get(root, "exported_at")), &at), 0);
    json_object_del(root, "exported_at");
    char *out = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(root);
    st_buf_release(&b);
    return out;
}

/* ---- open, schema, migrations ---- */

static void opens_memory_and_file(void **state)
{
    (void)state;
    struct st_lab_store *m = open_mem();
    assert_int_equal(query_int(st__lab_store_db(m), "PRAGMA user_version"), ST_PROGRESS_SCHEMA_VERSION);
    st_lab_store_close(m);
    char path[128];
    snprintf(path, sizeof(path), "%s/p.db", dir);
    struct st_lab_store *f = open_path(path);
    sqlite3 *db = st__lab_store_db(f);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
    assert_int_equal(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('notes', 'reviews', "
                                   "'review_log', 'attempts', 'reviews_due', 'attempts_by_question')"),
                     6);
    st_lab_store_close(f);
    st_lab_store_close(NULL);
    struct st_lab_store *bad = NULL;
    struct st_error err;
    assert_int_equal(st_lab_store_open("/proc/nope/x.db", &bad, &err), ST_EDB);
    assert_null(bad);
}

/* The schema of version 1 exactly as strata shipped it. */
static const char v1_schema[] =
    "CREATE TABLE learners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL);"
    "INSERT INTO learners (id, name, created_at) VALUES (1, 'local', 0);"
    "CREATE TABLE progress (user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  status TEXT NOT NULL CHECK (status IN ('todo', 'doing', 'done', 'review')),"
    "  updated_at INTEGER NOT NULL, PRIMARY KEY (user_id, question_id)) WITHOUT ROWID;"
    "CREATE TABLE progress_events (id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  status TEXT NOT NULL CHECK (status IN ('todo', 'doing', 'done', 'review')),"
    "  at INTEGER NOT NULL, UNIQUE (user_id, question_id, status, at));"
    "CREATE INDEX progress_events_recent ON progress_events (user_id, at);"
    "INSERT INTO progress VALUES (1, 242, 'done', 1000), (1, 11, 'doing', 2000);"
    "INSERT INTO progress_events (user_id, question_id, status, at) VALUES (1, 242, 'done', 1000), "
    "(1, 11, 'doing', 2000);"
    "PRAGMA user_version = 1;";

static void migrates_a_v1_database(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/v1.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, v1_schema, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    struct st_lab_store *s = open_path(path);
    assert_int_equal(query_int(st__lab_store_db(s), "PRAGMA user_version"), 2);
    enum st_status all[ST_CUR_QUESTIONS];
    struct st_error err;
    assert_int_equal(st_lab_status_all(s, USER, all, &err), 0);
    assert_int_equal(all[241], ST_STATUS_DONE);
    assert_int_equal(all[10], ST_STATUS_DOING);
    assert_int_equal(st_lab_note_set(s, USER, 242, "kept", 4, &err), 0);
    struct st_lab_activity act[8];
    size_t n;
    assert_int_equal(st_lab_activity(s, USER, act, 8, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(act[0].what, "note");
    assert_string_equal(act[1].what, "status");
    assert_int_equal(act[1].question, 11);
    assert_string_equal(act[1].detail, "doing");
    st_lab_store_close(s);

    /* The CLI's own view opens the migrated file too. */
    struct st_progress *p;
    assert_int_equal(st_progress_open_path(path, &p, &err), 0);
    st_progress_close(p);
}

static void refuses_a_newer_database(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/new.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct st_lab_store *s = NULL;
    struct st_error err;
    assert_int_equal(st_lab_store_open(path, &s, &err), ST_EDB);
    assert_null(s);
    assert_non_null(strstr(err.msg, "newer than this strata"));
}

/* ---- statuses ---- */

static void statuses(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    enum st_status all[ST_CUR_QUESTIONS];
    assert_int_equal(st_lab_status_all(s, USER, all, &err), 0);
    for (int i = 0; i < ST_CUR_QUESTIONS; i++)
        assert_int_equal(all[i], ST_STATUS_TODO);
    assert_int_equal(st_lab_status_set(s, USER, 1, ST_STATUS_DONE, &err), 0);
    assert_int_equal(st_lab_status_set(s, USER, 500, ST_STATUS_REVIEW, &err), 0);
    /* Back to back (often within one millisecond): the last one wins. */
    assert_int_equal(st_lab_status_set(s, USER, 7, ST_STATUS_DOING, &err), 0);
    assert_int_equal(st_lab_status_set(s, USER, 7, ST_STATUS_DONE, &err), 0);
    assert_int_equal(st_lab_status_set(s, USER, 7, ST_STATUS_TODO, &err), 0);
    assert_int_equal(st_lab_status_all(s, USER, all, &err), 0);
    assert_int_equal(all[0], ST_STATUS_DONE);
    assert_int_equal(all[499], ST_STATUS_REVIEW);
    assert_int_equal(all[6], ST_STATUS_TODO);
    assert_int_equal(st_lab_status_set(s, USER, 0, ST_STATUS_DONE, &err), ST_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no question 0"));
    assert_int_equal(st_lab_status_set(s, USER, 501, ST_STATUS_DONE, &err), ST_ENOTFOUND);
    assert_int_equal(st_lab_status_set(s, USER, 5, ST_STATUS_COUNT, &err), ST_EUSAGE);
    assert_int_equal(st_lab_status_set(s, USER, 5, (enum st_status) - 1, &err), ST_EUSAGE);
    /* A learner that does not exist: the foreign key refuses it. */
    assert_int_equal(st_lab_status_set(s, 9, 5, ST_STATUS_DONE, &err), ST_ENOTFOUND);
    assert_non_null(strstr(err.msg, "learner"));
    st_lab_store_close(s);
}

/* ---- notes ---- */

static void notes(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    struct st_buf text;
    st_buf_init(&text, ST_BUF_UNLIMITED);
    int64_t at = 0;
    assert_int_equal(st_lab_note_get(s, USER, 242, &text, &at, &err), ST_ENOTFOUND);
    int64_t before = st_time_wall_ms();
    const char *note = "ring of hashes \xe2\x80\x94 <script>alert(1)</script>";
    assert_int_equal(st_lab_note_set(s, USER, 242, note, strlen(note), &err), 0);
    assert_int_equal(st_lab_note_set(s, USER, 3, "three", 5, &err), 0);
    assert_int_equal(st_lab_note_set(s, USER, 100, "x", 1, &err), 0);
    assert_int_equal(st_lab_note_get(s, USER, 242, &text, &at, &err), 0);
    assert_string_equal(text.data, note);
    assert_true(at >= before && at <= st_time_wall_ms());
    assert_int_equal(st_lab_note_get(s, USER, 3, &text, NULL, &err), 0); /* cleared first */
    assert_string_equal(text.data, "three");

    int ids[8];
    size_t n;
    assert_int_equal(st_lab_notes_list(s, USER, ids, 8, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 3);
    assert_int_equal(ids[1], 100);
    assert_int_equal(ids[2], 242);
    assert_int_equal(st_lab_notes_list(s, USER, ids, 2, &n, &err), 0);
    assert_int_equal(n, 2);

    /* Empty deletes. */
    assert_int_equal(st_lab_note_set(s, USER, 100, "", 0, &err), 0);
    assert_int_equal(st_lab_note_get(s, USER, 100, &text, NULL, &err), ST_ENOTFOUND);
    assert_int_equal(text.len, 0);
    assert_int_equal(st_lab_note_set(s, USER, 100, NULL, 0, &err), 0); /* deleting nothing is fine */

    /* Limits: exactly the maximum is fine, one more byte is not; UTF-8 only, no NUL. */
    char *big = malloc(ST_LAB_NOTE_MAX + 1);
    memset(big, 'n', ST_LAB_NOTE_MAX + 1);
    assert_int_equal(st_lab_note_set(s, USER, 5, big, ST_LAB_NOTE_MAX, &err), 0);
    assert_int_equal(st_lab_note_get(s, USER, 5, &text, NULL, &err), 0);
    assert_int_equal(text.len, ST_LAB_NOTE_MAX);
    assert_int_equal(st_lab_note_set(s, USER, 5, big, ST_LAB_NOTE_MAX + 1, &err), ST_ELIMIT);
    free(big);
    assert_int_equal(st_lab_note_set(s, USER, 5, "bad \xff", 5, &err), ST_EPARSE);
    assert_int_equal(st_lab_note_set(s, USER, 5, "a\xed\xa0\x80", 4, &err), ST_EPARSE); /* surrogate */
    assert_int_equal(st_lab_note_set(s, USER, 5, "a\0b", 3, &err), ST_EPARSE);
    assert_int_equal(st_lab_note_set(s, USER, 501, "x", 1, &err), ST_ENOTFOUND);
    assert_int_equal(st_lab_note_get(s, USER, 5, &text, NULL, &err), 0);
    assert_int_equal(text.len, ST_LAB_NOTE_MAX); /* the failed sets changed nothing */

    /* A reader's buffer smaller than the note. */
    struct st_buf small;
    st_buf_init(&small, 16);
    assert_int_equal(st_lab_note_get(s, USER, 5, &small, NULL, &err), ST_ELIMIT);
    st_buf_release(&small);
    st_buf_release(&text);
    st_lab_store_close(s);
}

/* ---- reviews ---- */

static void reviews(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    const int64_t t0 = 1800000000000LL;
    struct st_lab_review r;
    assert_int_equal(st_lab_review_get(s, USER, 3, &r, &err), ST_ENOTFOUND);
    assert_int_equal(r.question, 3);
    assert_int_equal(r.repetitions, 0);
    assert_true(r.ease == 2.5);
    assert_int_equal(r.last_grade, -1);
    assert_true(r.last_ms == 0);

    /* Refused: practical questions, grades outside 0..5, unknown questions. */
    assert_int_equal(st_cur_question(11)->kind, ST_CUR_PRACTICAL);
    assert_int_equal(st_lab_review_grade(s, USER, 11, 4, t0, &r, &err), ST_EUSAGE);
    assert_int_equal(st_lab_review_grade(s, USER, 3, 6, t0, &r, &err), ST_EUSAGE);
    assert_int_equal(st_lab_review_grade(s, USER, 3, -1, t0, &r, &err), ST_EUSAGE);
    assert_int_equal(st_lab_review_grade(s, USER, 0, 3, t0, &r, &err), ST_ENOTFOUND);

    /* SM-2 through the store: 1 day, then 6 days. */
    assert_int_equal(st_lab_review_grade(s, USER, 3, 5, t0, &r, &err), 0);
    assert_int_equal(r.repetitions, 1);
    assert_int_equal(r.interval_days, 1);
    assert_true(r.due_ms == t0 + DAY);
    assert_int_equal(r.last_grade, 5);
    assert_true(r.last_ms == t0);
    assert_int_equal(st_lab_review_grade(s, USER, 3, 4, t0 + DAY, &r, &err), 0);
    assert_int_equal(r.repetitions, 2);
    assert_int_equal(r.interval_days, 6);
    struct st_lab_review g;
    assert_int_equal(st_lab_review_get(s, USER, 3, &g, &err), 0);
    assert_int_equal(g.repetitions, 2);
    assert_int_equal(g.interval_days, 6);
    assert_true(g.due_ms == t0 + 7 * DAY);
    assert_true(g.ease > 2.59 && g.ease < 2.61);
    assert_int_equal(g.last_grade, 4);
    assert_int_equal(query_int(st__lab_store_db(s), "SELECT count(*) FROM review_log WHERE question_id = 3"), 2);

    /* Due: reviewed cards whose time has come (by due time), then never-reviewed conceptual
     * questions marked done or review; never practical ones or ones still in progress. */
    assert_int_equal(st_lab_review_grade(s, USER, 2, 0, t0, &r, &err), 0); /* due t0 + 1 day */
    assert_int_equal(st_lab_status_set(s, USER, 4, ST_STATUS_DONE, &err), 0);
    assert_int_equal(st_lab_status_set(s, USER, 1, ST_STATUS_REVIEW, &err), 0);
    assert_int_equal(st_lab_status_set(s, USER, 15, ST_STATUS_DONE, &err), 0); /* practical */
    assert_int_equal(st_lab_status_set(s, USER, 5, ST_STATUS_DOING, &err), 0); /* in progress */
    assert_int_equal(st_lab_status_set(s, USER, 3, ST_STATUS_DONE, &err), 0);  /* reviewed, due later */
    int ids[16];
    size_t n;
    assert_int_equal(st_lab_review_due(s, USER, t0, ids, 16, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 4);
    assert_int_equal(st_lab_review_due(s, USER, t0 + DAY, ids, 16, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], 4);
    assert_int_equal(st_lab_review_due(s, USER, t0 + 30 * DAY, ids, 16, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 2); /* due t0 + 1 day */
    assert_int_equal(ids[1], 3); /* due t0 + 7 days */
    assert_int_equal(st_lab_review_due(s, USER, t0 + 30 * DAY, ids, 1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 2);
    assert_int_equal(st_lab_review_due(s, USER, t0, ids, 0, &n, &err), 0);
    assert_int_equal(n, 0);
    st_lab_store_close(s);
}

/* ---- attempts ---- */

static void attempts(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    const int64_t t0 = 1800000000000LL;
    int64_t a1, a2, a3;
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", "http://127.0.0.1:8081", 42, t0, &a1, &err), 0);
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", "<b>x</b>", UINT64_MAX, t0 + 1, &a2, &err), 0);
    assert_int_equal(st_lab_attempt_start(s, USER, 16, "Q16", "", 7, t0 + 2, &a3, &err), 0);
    assert_true(a1 < a2 && a2 < a3);

    char target[300];
    memset(target, 'a', sizeof(target));
    target[256] = '\0';
    int64_t id;
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", target, 1, t0, &id, &err), ST_ELIMIT);
    target[255] = '\0';
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", target, 1, t0, &id, &err), 0); /* 255 fits */
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", "\xc3(", 1, t0, &id, &err), ST_EPARSE);
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "", "x", 1, t0, &id, &err), ST_EUSAGE);
    assert_int_equal(st_lab_attempt_start(s, USER, 18, NULL, "x", 1, t0, &id, &err), ST_EUSAGE);
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "0123456789012345678901234567890123", "x", 1, t0, &id, &err),
                     ST_EUSAGE);
    assert_int_equal(st_lab_attempt_start(s, USER, 501, "Q18", "x", 1, t0, &id, &err), ST_ENOTFOUND);

    /* Finish: only passed/failed/error, checks that add up, once. */
    const char log[] = "ok 1 - GET /\nnot ok 2 - bad \xff byte\n";
    assert_int_equal(st_lab_attempt_finish(s, a1, ST_ATTEMPT_RUNNING, 0, 0, NULL, 0, t0 + 5, &err), ST_EUSAGE);
    assert_int_equal(st_lab_attempt_finish(s, a1, ST_ATTEMPT_PASSED, 8, 7, NULL, 0, t0 + 5, &err), ST_EUSAGE);
    assert_int_equal(st_lab_attempt_finish(s, 99999, ST_ATTEMPT_PASSED, 7, 7, NULL, 0, t0 + 5, &err), ST_ENOTFOUND);
    assert_int_equal(st_lab_attempt_finish(s, a1, ST_ATTEMPT_FAILED, 1, 2, log, sizeof(log) - 1, t0 + 5, &err), 0);
    assert_int_equal(st_lab_attempt_finish(s, a1, ST_ATTEMPT_PASSED, 2, 2, NULL, 0, t0 + 6, &err), ST_ECONFLICT);
    assert_int_equal(st_lab_attempt_finish(s, a2, ST_ATTEMPT_PASSED, 7, 7, "all good", 8, t0 + 7, &err), 0);

    struct st_lab_attempt list[8];
    size_t n;
    assert_int_equal(st_lab_attempts_list(s, USER, 18, list, 8, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_true(list[0].id == id && list[1].id == a2 && list[2].id == a1); /* newest first */
    assert_int_equal(list[1].state, ST_ATTEMPT_PASSED);
    assert_int_equal(list[1].passed, 7);
    assert_int_equal(list[1].total, 7);
    assert_true(list[1].seed == UINT64_MAX);
    assert_string_equal(list[1].target, "<b>x</b>");
    assert_string_equal(list[1].grader, "Q18");
    assert_true(list[1].started_ms == t0 + 1 && list[1].finished_ms == t0 + 7);
    assert_int_equal(list[0].state, ST_ATTEMPT_RUNNING);
    assert_true(list[0].finished_ms == 0);
    assert_int_equal(st_lab_attempts_list(s, USER, 0, list, 8, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_int_equal(list[1].question, 16);
    assert_int_equal(st_lab_attempts_list(s, USER, 0, list, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(st_lab_attempts_list(s, USER, 501, list, 2, &n, &err), ST_ENOTFOUND);

    /* One attempt with its log: the invalid byte became U+FFFD. */
    struct st_lab_attempt a;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_lab_attempt_get(s, USER, a1, &a, &b, &err), 0);
    assert_int_equal(a.state, ST_ATTEMPT_FAILED);
    assert_int_equal(a.passed, 1);
    assert_string_equal(b.data, "ok 1 - GET /\nnot ok 2 - bad \xef\xbf\xbd byte\n");
    assert_int_equal(st_lab_attempt_get(s, USER, a1, &a, NULL, &err), 0);
    assert_int_equal(st_lab_attempt_get(s, USER, 12345, &a, &b, &err), ST_ENOTFOUND);

    /* A huge log is cut at 1 MiB. */
    size_t big_len = (2u << 20) + 3;
    char *big = malloc(big_len);
    memset(big, 'L', big_len);
    assert_int_equal(st_lab_attempt_finish(s, a3, ST_ATTEMPT_ERROR, 0, 0, big, big_len, t0 + 9, &err), 0);
    free(big);
    assert_int_equal(st_lab_attempt_get(s, USER, a3, &a, &b, &err), 0);
    assert_int_equal(b.len, 1u << 20);
    assert_int_equal(a.state, ST_ATTEMPT_ERROR);

    assert_string_equal(st_lab_attempt_state_name(ST_ATTEMPT_RUNNING), "running");
    assert_string_equal(st_lab_attempt_state_name(ST_ATTEMPT_ERROR), "error");
    assert_string_equal(st_lab_attempt_state_name((enum st_lab_attempt_state)9), "?");
    st_buf_release(&b);
    st_lab_store_close(s);
}

static void abandon_running_attempts(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    const int64_t t0 = 1800000000000LL;
    int64_t a1, a2;
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", "x", 1, t0, &a1, &err), 0);
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", "y", 2, t0, &a2, &err), 0);
    assert_int_equal(st_lab_attempt_finish(s, a2, ST_ATTEMPT_PASSED, 3, 3, "fine", 4, t0 + 5, &err), 0);
    assert_int_equal(st_lab_attempts_abandon(s, t0 + 100, &err), 0);
    struct st_lab_attempt a;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_lab_attempt_get(s, USER, a1, &a, &b, &err), 0);
    assert_int_equal(a.state, ST_ATTEMPT_ERROR);
    assert_true(a.finished_ms == t0 + 100);
    assert_non_null(strstr(b.data, "abandoned"));
    assert_int_equal(st_lab_attempt_get(s, USER, a2, &a, &b, &err), 0);
    assert_int_equal(a.state, ST_ATTEMPT_PASSED);
    assert_true(a.finished_ms == t0 + 5);
    assert_string_equal(b.data, "fine");
    /* Nothing left running: a second call changes nothing, and finishing the abandoned
     * attempt late is a conflict. */
    assert_int_equal(st_lab_attempts_abandon(s, t0 + 200, &err), 0);
    assert_int_equal(st_lab_attempt_get(s, USER, a1, &a, NULL, &err), 0);
    assert_true(a.finished_ms == t0 + 100);
    assert_int_equal(st_lab_attempt_finish(s, a1, ST_ATTEMPT_PASSED, 1, 1, NULL, 0, t0 + 300, &err), ST_ECONFLICT);
    st_buf_release(&b);
    st_lab_store_close(s);
}

/* ---- activity ---- */

static void activity(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    struct st_lab_activity act[8];
    size_t n;
    assert_int_equal(st_lab_activity(s, USER, act, 8, &n, &err), 0);
    assert_int_equal(n, 0);
    int64_t now = st_time_wall_ms(), id;
    assert_int_equal(st_lab_status_set(s, USER, 242, ST_STATUS_DONE, &err), 0);
    assert_int_equal(st_lab_note_set(s, USER, 242, "n", 1, &err), 0);
    /* Later times for these two, so the order is known. */
    assert_int_equal(st_lab_review_grade(s, USER, 242, 4, now + 10000, NULL, &err), 0);
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", "t", 1, now + 20000, &id, &err), 0);
    assert_int_equal(st_lab_attempt_finish(s, id, ST_ATTEMPT_PASSED, 7, 7, NULL, 0, now + 30000, &err), 0);
    assert_int_equal(st_lab_activity(s, USER, act, 8, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(act[0].what, "attempt");
    assert_string_equal(act[0].detail, "passed 7/7");
    assert_int_equal(act[0].question, 18);
    assert_true(act[0].at_ms == now + 30000);
    assert_string_equal(act[1].what, "review");
    assert_string_equal(act[1].detail, "grade 4");
    assert_true(act[1].at_ms == now + 10000);
    for (int i = 2; i < 4; i++) {
        assert_int_equal(act[i].question, 242);
        assert_true(strcmp(act[i].what, "note") == 0 || strcmp(act[i].what, "status") == 0);
    }
    assert_true(act[2].at_ms >= act[3].at_ms);
    assert_int_equal(st_lab_activity(s, USER, act, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(act[1].what, "review");
    /* A running attempt shows as running, at its start time. */
    assert_int_equal(st_lab_attempt_start(s, USER, 19, "Q19", "t", 1, now + 40000, &id, &err), 0);
    assert_int_equal(st_lab_activity(s, USER, act, 1, &n, &err), 0);
    assert_string_equal(act[0].detail, "running");
    assert_int_equal(act[0].question, 19);
    st_lab_store_close(s);
}

/* ---- users are kept apart ---- */

static void fill_user(struct st_lab_store *s, int64_t user)
{
    struct st_error err;
    const int64_t t0 = 1800000000000LL;
    int64_t id;
    assert_int_equal(st_lab_status_set(s, user, 242, ST_STATUS_DONE, &err), 0);
    assert_int_equal(st_lab_status_set(s, user, 3, ST_STATUS_REVIEW, &err), 0);
    assert_int_equal(st_lab_note_set(s, user, 242, "mine \xe2\x9c\x93 \"quoted\" <i>", 21, &err), 0);
    assert_int_equal(st_lab_review_grade(s, user, 242, 5, t0, NULL, &err), 0);
    assert_int_equal(st_lab_review_grade(s, user, 242, 3, t0 + DAY, NULL, &err), 0);
    assert_int_equal(st_lab_attempt_start(s, user, 18, "Q18", "http://h:1", 99, t0, &id, &err), 0);
    assert_int_equal(st_lab_attempt_finish(s, id, ST_ATTEMPT_FAILED, 3, 7, "log\n", 4, t0 + 50, &err), 0);
    assert_int_equal(st_lab_attempt_start(s, user, 18, "Q18", "http://h:2", UINT64_MAX, t0 + 60, &id, &err), 0);
}

static void users_are_isolated(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    add_learner(s, 2);
    fill_user(s, USER);
    struct st_error err;
    const int64_t far = 4000000000000LL;
    enum st_status all[ST_CUR_QUESTIONS];
    assert_int_equal(st_lab_status_all(s, 2, all, &err), 0);
    for (int i = 0; i < ST_CUR_QUESTIONS; i++)
        assert_int_equal(all[i], ST_STATUS_TODO);
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_lab_note_get(s, 2, 242, &b, NULL, &err), ST_ENOTFOUND);
    int ids[8];
    size_t n;
    assert_int_equal(st_lab_notes_list(s, 2, ids, 8, &n, &err), 0);
    assert_int_equal(n, 0);
    struct st_lab_activity act[8];
    assert_int_equal(st_lab_activity(s, 2, act, 8, &n, &err), 0);
    assert_int_equal(n, 0);
    struct st_lab_review r;
    assert_int_equal(st_lab_review_get(s, 2, 242, &r, &err), ST_ENOTFOUND);
    assert_int_equal(st_lab_review_due(s, 2, far, ids, 8, &n, &err), 0);
    assert_int_equal(n, 0);
    struct st_lab_attempt at[8];
    assert_int_equal(st_lab_attempts_list(s, 2, 0, at, 8, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(st_lab_attempts_list(s, USER, 0, at, 8, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(st_lab_attempt_get(s, 2, at[0].id, &at[1], &b, &err), ST_ENOTFOUND);
    char *two = export_norm(s, 2);
    assert_string_equal(two, "{\"attempts\":[],\"events\":[],\"format\":\"strata-lab\",\"notes\":[],\"review_log\":[],"
                             "\"reviews\":[],\"statuses\":[],\"version\":1}");
    free(two);
    /* User 2's writes do not touch user 1. */
    assert_int_equal(st_lab_note_set(s, 2, 242, "theirs", 6, &err), 0);
    assert_int_equal(st_lab_note_get(s, USER, 242, &b, NULL, &err), 0);
    assert_non_null(strstr(b.data, "mine"));
    /* Unknown learners cannot write. */
    assert_int_equal(st_lab_note_set(s, 3, 242, "x", 1, &err), ST_ENOTFOUND);
    int64_t id;
    assert_int_equal(st_lab_attempt_start(s, 3, 18, "Q18", "x", 1, far, &id, &err), ST_ENOTFOUND);
    assert_int_equal(st_lab_review_grade(s, 3, 242, 4, far, NULL, &err), ST_ENOTFOUND);
    st_buf_release(&b);
    st_lab_store_close(s);
}

/* ---- export / import ---- */

static void export_import_round_trip(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "%s/a.db", dir);
    struct st_lab_store *a = open_path(path), *b = open_mem();
    fill_user(a, USER);
    struct st_buf json;
    struct st_error err;
    st_buf_init(&json, ST_BUF_UNLIMITED);
    assert_int_equal(st_lab_export_json(a, USER, &json, &err), 0);
    size_t applied = 99;
    assert_int_equal(st_lab_import_json(b, USER, json.data, json.len, &applied, &err), 0);
    assert_int_equal(applied, 2 + 1 + 1 + 2); /* statuses, note, review, attempts */
    char *ea = export_norm(a, USER), *eb = export_norm(b, USER);
    assert_string_equal(ea, eb);
    assert_non_null(strstr(ea, "\"seed\":\"18446744073709551615\""));
    assert_non_null(strstr(ea, "\"finished_at\":null"));
    /* Importing the same file again takes nothing and duplicates nothing. */
    assert_int_equal(st_lab_import_json(b, USER, json.data, json.len, &applied, &err), 0);
    assert_int_equal(applied, 0);
    char *eb2 = export_norm(b, USER);
    assert_string_equal(ea, eb2);
    /* Into another learner of the same database: exactly the same rows, under user 2. */
    add_learner(a, 2);
    assert_int_equal(st_lab_import_json(a, 2, json.data, json.len, &applied, &err), 0);
    char *e2 = export_norm(a, 2);
    assert_string_equal(ea, e2);
    free(ea);
    free(eb);
    free(eb2);
    free(e2);
    st_buf_release(&json);
    st_lab_store_close(a);
    st_lab_store_close(b);
}

static void import_newer_wins(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    const int64_t t0 = 1800000000000LL; /* 2027 */
    int64_t id;
    assert_int_equal(st_lab_note_set(s, USER, 242, "local", 5, &err), 0);
    assert_int_equal(st_lab_status_set(s, USER, 242, ST_STATUS_DONE, &err), 0);
    assert_int_equal(st_lab_review_grade(s, USER, 242, 5, t0, NULL, &err), 0);
    assert_int_equal(st_lab_attempt_start(s, USER, 18, "Q18", "x", 5, t0, &id, &err), 0);
    const char *doc =
        "{\"format\":\"strata-lab\",\"version\":1,"
        "\"statuses\":[{\"question\":242,\"status\":\"todo\",\"updated_at\":\"2001-01-01T00:00:00Z\"},"
        "  {\"question\":243,\"status\":\"doing\",\"updated_at\":\"2001-01-01T00:00:00Z\"}],"
        "\"notes\":[{\"question\":242,\"text\":\"old\",\"updated_at\":\"2001-01-01T00:00:00Z\"},"
        "  {\"question\":243,\"text\":\"new\",\"updated_at\":\"2001-01-01T00:00:00Z\"}],"
        "\"reviews\":[{\"question\":242,\"repetitions\":9,\"ease\":2.5,\"interval_days\":100,"
        "  \"due_at\":\"2100-01-01T00:00:00Z\",\"last_at\":\"2099-01-01T00:00:00Z\",\"last_grade\":5}],"
        "\"attempts\":[{\"question\":18,\"grader\":\"Q18\",\"target\":\"x\",\"seed\":\"5\","
        "  \"started_at\":\"2027-01-15T08:00:00Z\",\"finished_at\":\"2027-01-15T08:00:01Z\",\"state\":\"passed\","
        "  \"passed\":7,\"total\":7,\"log\":\"done\"}]}";
    /* The attempt above started at t0 = 2027-01-15T08:00:00Z: the import finishes it. */
    size_t applied;
    assert_int_equal(st_lab_import_json(s, USER, doc, strlen(doc), &applied, &err), 0);
    assert_int_equal(applied, 4); /* status 243, note 243, review 242, attempt */
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_lab_note_get(s, USER, 242, &b, NULL, &err), 0);
    assert_string_equal(b.data, "local");
    assert_int_equal(st_lab_note_get(s, USER, 243, &b, NULL, &err), 0);
    assert_string_equal(b.data, "new");
    enum st_status all[ST_CUR_QUESTIONS];
    assert_int_equal(st_lab_status_all(s, USER, all, &err), 0);
    assert_int_equal(all[241], ST_STATUS_DONE);
    assert_int_equal(all[242], ST_STATUS_DOING);
    struct st_lab_review r;
    assert_int_equal(st_lab_review_get(s, USER, 242, &r, &err), 0);
    assert_int_equal(r.repetitions, 9);
    struct st_lab_attempt at[4];
    size_t n;
    assert_int_equal(st_lab_attempts_list(s, USER, 18, at, 4, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(at[0].state, ST_ATTEMPT_PASSED);
    st_buf_release(&b);
    st_lab_store_close(s);
}

static void import_accepts_progress_v1(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    struct st_error err;
    const char *v1 = "{\"format\":\"strata-progress\",\"version\":1,\"progress\":["
                     "{\"question\":9,\"status\":\"done\",\"updated_at\":\"2020-01-01T00:00:00Z\"}],"
                     "\"events\":[{\"question\":9,\"status\":\"done\",\"at\":\"2020-01-01T00:00:00Z\"}]}";
    size_t applied;
    assert_int_equal(st_lab_import_json(s, USER, v1, strlen(v1), &applied, &err), 0);
    assert_int_equal(applied, 1);
    enum st_status all[ST_CUR_QUESTIONS];
    assert_int_equal(st_lab_status_all(s, USER, all, &err), 0);
    assert_int_equal(all[8], ST_STATUS_DONE);
    const char *bad = "{\"format\":\"strata-progress\",\"version\":1,\"progress\":[{\"question\":0}]}";
    assert_int_equal(st_lab_import_json(s, USER, bad, strlen(bad), &applied, &err), ST_EPARSE);
    assert_non_null(strstr(err.msg, "progress[0].question"));
    st_lab_store_close(s);
}

static void import_rejects_bad_documents(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    fill_user(s, USER);
    char *before = export_norm(s, USER);
#define HEAD "{\"format\":\"strata-lab\",\"version\":1,"
#define T "\"2020-01-01T00:00:00Z\""
    static const struct {
        const char *json, *msg;
    } bad[] = {
        { "garbage", "invalid JSON" },
        { "[]", "format" },
        { "{\"format\":\"strata-lib\",\"version\":1}", "format" },
        { "{\"format\":\"strata-lab\"}", "version" },
        { "{\"format\":\"strata-lab\",\"version\":2}", "version 2" },
        { "{\"format\":\"strata-lab\",\"version\":\"1\"}", "version" },
        { HEAD "\"version\":1}", "duplicate" },
        { HEAD "\"statuses\":{}}", "statuses: expected an array" },
        { HEAD "\"statuses\":[1]}", "statuses[0]: expected an object" },
        { HEAD "\"statuses\":[{\"question\":501,\"status\":\"done\",\"updated_at\":" T "}]}", "statuses[0].question" },
        { HEAD "\"statuses\":[{\"question\":5,\"status\":\"finished\",\"updated_at\":" T "}]}", "statuses[0].status" },
        { HEAD "\"statuses\":[{\"question\":5,\"status\":\"done\",\"updated_at\":\"yesterday\"}]}",
          "statuses[0].updated_at" },
        { HEAD "\"events\":[{\"question\":5,\"status\":\"done\"}]}", "events[0].at" },
        { HEAD "\"notes\":[{\"question\":5,\"text\":\"ok\",\"updated_at\":" T "},{\"question\":0,\"text\":\"x\","
               "\"updated_at\":" T "}]}",
          "notes[1].question" },
        { HEAD "\"notes\":[{\"question\":5,\"text\":\"\",\"updated_at\":" T "}]}", "notes[0].text" },
        { HEAD "\"notes\":[{\"question\":5,\"text\":\"a\\u0000b\",\"updated_at\":" T "}]}", "invalid JSON" },
        { HEAD "\"reviews\":[{\"question\":5,\"repetitions\":1,\"ease\":2.5,\"interval_days\":1,\"due_at\":" T
               ",\"last_at\":" T ",\"last_grade\":7}]}",
          "reviews[0].last_grade" },
        { HEAD "\"reviews\":[{\"question\":5,\"repetitions\":1,\"ease\":1.0,\"interval_days\":1,\"due_at\":" T
               ",\"last_at\":" T ",\"last_grade\":3}]}",
          "reviews[0].ease" },
        { HEAD "\"review_log\":[{\"question\":5,\"grade\":9,\"at\":" T "}]}", "review_log[0].grade" },
        { HEAD "\"attempts\":[{\"question\":18,\"grader\":\"Q18\",\"target\":\"\",\"seed\":\"-1\",\"started_at\":" T
               ",\"finished_at\":null,\"state\":\"running\",\"passed\":0,\"total\":0}]}",
          "attempts[0].seed" },
        { HEAD "\"attempts\":[{\"question\":18,\"grader\":\"Q18\",\"target\":\"\",\"seed\":\"18446744073709551616\","
               "\"started_at\":" T ",\"finished_at\":null,\"state\":\"running\",\"passed\":0,\"total\":0}]}",
          "attempts[0].seed" },
        { HEAD "\"attempts\":[{\"question\":18,\"grader\":\"Q18\",\"target\":\"\",\"seed\":\"1\",\"started_at\":" T
               ",\"finished_at\":null,\"state\":\"passed\",\"passed\":0,\"total\":0}]}",
          "attempts[0].finished_at" },
        { HEAD "\"attempts\":[{\"question\":18,\"grader\":\"Q18\",\"target\":\"\",\"seed\":\"1\",\"started_at\":" T
               ",\"finished_at\":" T ",\"state\":\"won\",\"passed\":0,\"total\":0}]}",
          "attempts[0].state" },
        { HEAD "\"attempts\":[{\"question\":18,\"grader\":\"Q18\",\"target\":\"\",\"seed\":\"1\",\"started_at\":" T
               ",\"finished_at\":" T ",\"state\":\"passed\",\"passed\":8,\"total\":7}]}",
          "attempts[0].total" },
        { HEAD "\"attempts\":[{\"question\":18,\"grader\":\"\",\"target\":\"\",\"seed\":\"1\",\"started_at\":" T
               ",\"finished_at\":" T ",\"state\":\"passed\",\"passed\":1,\"total\":1}]}",
          "attempts[0].grader" },
    };
    struct st_error err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t applied = 77;
        int rc = st_lab_import_json(s, USER, bad[i].json, strlen(bad[i].json), &applied, &err);
        if (rc != ST_EPARSE || !strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: rc %d, message '%s', wanted '%s'", i, rc, err.msg, bad[i].msg);
    }
    /* An oversized note, with valid rows before it: nothing is applied. */
    size_t cap = ST_LAB_NOTE_MAX + 1024;
    char *big = malloc(cap);
    int k = snprintf(big, cap,
                     HEAD "\"statuses\":[{\"question\":400,\"status\":\"done\",\"updated_at\":" T "}],"
                          "\"notes\":[{\"question\":5,\"updated_at\":" T ",\"text\":\"");
    memset(big + k, 'x', ST_LAB_NOTE_MAX + 1);
    snprintf(big + k + ST_LAB_NOTE_MAX + 1, cap - (size_t)k - ST_LAB_NOTE_MAX - 1, "\"}]}");
    size_t applied;
    assert_int_equal(st_lab_import_json(s, USER, big, strlen(big), &applied, &err), ST_EPARSE);
    assert_non_null(strstr(err.msg, "notes[0].text"));
    free(big);
    char *after = export_norm(s, USER);
    assert_string_equal(before, after);
    free(before);
    free(after);
#undef HEAD
#undef T
    st_lab_store_close(s);
}

static void export_to_a_small_buffer(void **state)
{
    (void)state;
    struct st_lab_store *s = open_mem();
    fill_user(s, USER);
    struct st_buf b;
    struct st_error err;
    st_buf_init(&b, 64);
    assert_int_equal(st_lab_export_json(s, USER, &b, &err), ST_ELIMIT);
    st_buf_release(&b);
    st_lab_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(opens_memory_and_file, setup, teardown),
        cmocka_unit_test_setup_teardown(migrates_a_v1_database, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_a_newer_database, setup, teardown),
        cmocka_unit_test(statuses),
        cmocka_unit_test(notes),
        cmocka_unit_test(reviews),
        cmocka_unit_test(attempts),
        cmocka_unit_test(abandon_running_attempts),
        cmocka_unit_test(activity),
        cmocka_unit_test(users_are_isolated),
        cmocka_unit_test_setup_teardown(export_import_round_trip, setup, teardown),
        cmocka_unit_test(import_newer_wins),
        cmocka_unit_test(import_accepts_progress_v1),
        cmocka_unit_test(import_rejects_bad_documents),
        cmocka_unit_test(export_to_a_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
