/*
 * progress.c - the learner's progress in SQLite: schema and migrations, status changes,
 * and JSON export/import (jansson).
 *
 * Durability: WAL + synchronous=FULL, and each operation is one transaction begun with
 * BEGIN IMMEDIATE (take the write lock up front, so a concurrent writer waits on
 * busy_timeout instead of failing half-way). Import validates the whole document in memory
 * before the transaction starts, so a bad file changes nothing and a kill -9 mid-import
 * leaves the previous state (SQLite rolls the uncommitted WAL frames back).
 */
#include "lab/progress.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/time.h"
#include "curriculum/curriculum.h"
#include "lab/internal.h"

#define EXPORT_FORMAT "strata-progress"
#define EXPORT_VERSION 1
#define IMPORT_MAX_BYTES (64u << 20)
#define IMPORT_MAX_EVENTS 2000000

struct st_progress {
    sqlite3 *db;
    char path[PATH_MAX];
};

static const char *const status_names[ST_STATUS_COUNT] = { "todo", "doing", "done", "review" };

const char *st_status_name(enum st_status s)
{
    return (unsigned)s < ST_STATUS_COUNT ? status_names[s] : "?";
}

int st_status_parse(const char *s, enum st_status *out)
{
    for (int i = 0; s && i < ST_STATUS_COUNT; i++)
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum st_status)i;
            return 0;
        }
    return ST_EPARSE;
}

/* Schema migrations: index i upgrades user_version i to i+1. Append only; never edit. */
static const char *const migrations[] = {
    /* 0 -> 1: learners, current status per question, history of changes. */
    "CREATE TABLE learners ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "INSERT INTO learners (id, name, created_at) VALUES (1, 'local', CAST((julianday('now') - 2440587.5) * 86400000 AS "
    "INTEGER));"
    "CREATE TABLE progress ("
    "  user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  status TEXT NOT NULL CHECK (status IN ('todo', 'doing', 'done', 'review')),"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, question_id)) WITHOUT ROWID;"
    "CREATE TABLE progress_events ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  status TEXT NOT NULL CHECK (status IN ('todo', 'doing', 'done', 'review')),"
    "  at INTEGER NOT NULL,"
    "  UNIQUE (user_id, question_id, status, at));"
    "CREATE INDEX progress_events_recent ON progress_events (user_id, at);",
    /* 1 -> 2: the lab's tables (lab/store.h): notes, spaced-repetition cards and their
     * log, grading attempts with their logs. Times are Unix milliseconds. */
    "CREATE TABLE notes ("
    "  user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  text TEXT NOT NULL CHECK (length(CAST(text AS BLOB)) BETWEEN 1 AND 65536),"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (user_id, question_id)) WITHOUT ROWID;"
    "CREATE TABLE reviews ("
    "  user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  repetitions INTEGER NOT NULL CHECK (repetitions >= 0),"
    "  ease REAL NOT NULL CHECK (ease >= 1.3),"
    "  interval_days INTEGER NOT NULL CHECK (interval_days >= 0),"
    "  due_ms INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL,"
    "  last_grade INTEGER NOT NULL CHECK (last_grade BETWEEN 0 AND 5),"
    "  PRIMARY KEY (user_id, question_id)) WITHOUT ROWID;"
    "CREATE INDEX reviews_due ON reviews (user_id, due_ms);"
    "CREATE TABLE review_log ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  grade INTEGER NOT NULL CHECK (grade BETWEEN 0 AND 5),"
    "  at_ms INTEGER NOT NULL,"
    "  UNIQUE (user_id, question_id, at_ms, grade));"
    "CREATE INDEX review_log_recent ON review_log (user_id, at_ms);"
    "CREATE TABLE attempts ("
    "  id INTEGER PRIMARY KEY,"
    "  user_id INTEGER NOT NULL REFERENCES learners(id) ON DELETE CASCADE,"
    "  question_id INTEGER NOT NULL CHECK (question_id BETWEEN 1 AND 500),"
    "  grader TEXT NOT NULL CHECK (length(CAST(grader AS BLOB)) BETWEEN 1 AND 31),"
    "  target TEXT NOT NULL CHECK (length(CAST(target AS BLOB)) <= 255),"
    "  seed INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  finished_ms INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL CHECK (state IN ('running', 'passed', 'failed', 'error')),"
    "  passed INTEGER NOT NULL DEFAULT 0 CHECK (passed >= 0),"
    "  total INTEGER NOT NULL DEFAULT 0 CHECK (total >= passed),"
    "  log TEXT NOT NULL DEFAULT '',"
    "  CHECK ((state = 'running') = (finished_ms = 0)));"
    "CREATE INDEX attempts_by_question ON attempts (user_id, question_id, id DESC);"
    "CREATE INDEX attempts_running ON attempts (state) WHERE state = 'running';",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(NMIGRATIONS == ST_PROGRESS_SCHEMA_VERSION, "a migration was added: bump ST_PROGRESS_SCHEMA_VERSION");

static int db_fail(struct st_progress *p, struct st_error *err, const char *what)
{
    return st_error_set(err, ST_EDB, "%s: %s: %s", p->path, what, sqlite3_errmsg(p->db));
}

static int exec(struct st_progress *p, const char *sql, struct st_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(p->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        st_error_set(err, ST_EDB, "%s: %s", p->path, msg ? msg : sqlite3_errmsg(p->db));
        sqlite3_free(msg);
        return ST_EDB;
    }
    return 0;
}

static int user_version(struct st_progress *p, int *out, struct st_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(p->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(p, err, "reading the schema version");
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : db_fail(p, err, "reading the schema version");
}

/* Bring the schema to ST_PROGRESS_SCHEMA_VERSION, one transaction per step. */
static int migrate(struct st_progress *p, struct st_error *err)
{
    int v = 0, rc = user_version(p, &v, err);
    if (rc)
        return rc;
    if (v > NMIGRATIONS)
        return st_error_set(err, ST_EDB, "%s: schema version %d is newer than this strata (%d); upgrade strata",
                            p->path, v, NMIGRATIONS);
    for (; v < NMIGRATIONS; v++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d;", v + 1);
        if ((rc = exec(p, "BEGIN IMMEDIATE", err)))
            return rc;
        if ((rc = exec(p, migrations[v], err)) || (rc = exec(p, bump, err)) || (rc = exec(p, "COMMIT", err))) {
            sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    return 0;
}

int st_progress_open_path(const char *db_path, struct st_progress **out, struct st_error *err)
{
    struct st_progress *p = st_xcalloc(1, sizeof(*p));
    snprintf(p->path, sizeof(p->path), "%s", db_path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = 0;
    if (sqlite3_open_v2(db_path, &p->db, flags, NULL) != SQLITE_OK) {
        rc = st_error_set(err, ST_EDB, "%s: cannot open: %s", db_path, p->db ? sqlite3_errmsg(p->db) : "out of memory");
    } else {
        sqlite3_busy_timeout(p->db, 5000);
        sqlite3_extended_result_codes(p->db, 1);
        rc = exec(p, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", err);
        if (rc == 0)
            rc = migrate(p, err);
    }
    if (rc) {
        st_progress_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

void st_progress_close(struct st_progress *p)
{
    if (!p)
        return;
    sqlite3_close(p->db);
    free(p);
}

const char *st_progress_path(const struct st_progress *p)
{
    return p->path;
}

sqlite3 *st__progress_db(struct st_progress *p)
{
    return p->db;
}

int st_progress_data_dir(const char *dir, char *out, size_t cap, struct st_error *err)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (dir && *dir)
        n = snprintf(out, cap, "%s", dir);
    else if (xdg && *xdg == '/')
        n = snprintf(out, cap, "%s/strata", xdg);
    else if (home && *home)
        n = snprintf(out, cap, "%s/.local/share/strata", home);
    else
        return st_error_set(err, ST_EUSAGE, "no data directory: set --data, XDG_DATA_HOME or HOME");
    if (n < 0 || (size_t)n >= cap)
        return st_error_set(err, ST_EUSAGE, "data directory path too long");
    return 0;
}

/* mkdir -p with mode 0700 for the parts we create. */
static int mkdirs(const char *path, struct st_error *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *s = tmp + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return st_error_set(err, -errno, "%s: cannot create directory: %s", tmp, strerror(errno));
        *s = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return st_error_set(err, -ENOTDIR, "%s: not a directory", path);
    return 0;
}

int st_progress_open(const char *data_dir, struct st_progress **out, struct st_error *err)
{
    int rc = mkdirs(data_dir, err);
    if (rc)
        return rc;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/progress.db", data_dir) >= (int)sizeof(path))
        return st_error_set(err, ST_EUSAGE, "data directory path too long");
    return st_progress_open_path(path, out, err);
}

/* Run one of the row statements (upsert or event) with (user, question, status, time). */
static int step_row(sqlite3_stmt *st, int64_t user, int question, enum st_status status, int64_t at)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, user);
    sqlite3_bind_int(st, 2, question);
    sqlite3_bind_text(st, 3, st_status_name(status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    return sqlite3_step(st) == SQLITE_DONE ? 0 : ST_EDB;
}

/* Set one status and log the event; inside a transaction. */
static int set_status(sqlite3_stmt *up, sqlite3_stmt *ev, int64_t user, int id, enum st_status status, int64_t at)
{
    int rc = step_row(up, user, id, status, at);
    return rc ? rc : step_row(ev, user, id, status, at);
}

/* Upsert that keeps the newer status: imports never overwrite a later local change. */
static const char upsert_sql[] =
    "INSERT INTO progress (user_id, question_id, status, updated_at) VALUES (?1, ?2, ?3, ?4) "
    "ON CONFLICT (user_id, question_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at "
    "WHERE excluded.updated_at > progress.updated_at";
static const char event_sql[] =
    "INSERT OR IGNORE INTO progress_events (user_id, question_id, status, at) VALUES (?1, ?2, ?3, ?4)";

struct txn {
    sqlite3_stmt *up, *ev;
};

static int txn_begin(struct st_progress *p, struct txn *t, struct st_error *err)
{
    *t = (struct txn){ 0 };
    if (sqlite3_prepare_v2(p->db, upsert_sql, -1, &t->up, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(p->db, event_sql, -1, &t->ev, NULL) != SQLITE_OK) {
        int rc = db_fail(p, err, "preparing statements");
        sqlite3_finalize(t->up);
        sqlite3_finalize(t->ev);
        return rc;
    }
    int rc = exec(p, "BEGIN IMMEDIATE", err);
    if (rc) {
        sqlite3_finalize(t->up);
        sqlite3_finalize(t->ev);
    }
    return rc;
}

/* Commit when rc == 0, else roll back; finalizes the statements either way. */
static int txn_end(struct st_progress *p, struct txn *t, int rc, struct st_error *err)
{
    if (rc == ST_EDB && err && err->code != ST_EDB)
        db_fail(p, err, "writing");
    sqlite3_finalize(t->up);
    sqlite3_finalize(t->ev);
    if (rc == 0)
        rc = exec(p, "COMMIT", err);
    if (rc)
        sqlite3_exec(p->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int st_progress_mark(struct st_progress *p, int64_t user, const int *ids, size_t n, enum st_status status,
                     struct st_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!st_cur_question(ids[i]))
            return st_error_set(err, ST_ENOTFOUND, "no question %d (questions are 1-500)", ids[i]);
    if ((unsigned)status >= ST_STATUS_COUNT)
        return st_error_set(err, ST_EUSAGE, "bad status");
    struct txn t;
    st_error_clear(err);
    int rc = txn_begin(p, &t, err);
    if (rc)
        return rc;
    int64_t now = st_time_wall_ms();
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = set_status(t.up, t.ev, user, ids[i], status, now);
    return txn_end(p, &t, rc, err);
}

int st_progress_load(struct st_progress *p, int64_t user, enum st_status statuses[], struct st_error *err)
{
    for (int i = 0; i < ST_CUR_QUESTIONS; i++)
        statuses[i] = ST_STATUS_TODO;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(p->db, "SELECT question_id, status FROM progress WHERE user_id = ?1", -1, &st, NULL))
        return db_fail(p, err, "reading progress");
    sqlite3_bind_int64(st, 1, user);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int id = sqlite3_column_int(st, 0);
        enum st_status s;
        if (id >= 1 && id <= ST_CUR_QUESTIONS && st_status_parse((const char *)sqlite3_column_text(st, 1), &s) == 0)
            statuses[id - 1] = s;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(p, err, "reading progress");
}

/* ---- export ---------------------------------------------------------------------------- */

static json_t *time_json(int64_t ms)
{
    char buf[ST_TIME_RFC3339_LEN + 1];
    st_time_format_rfc3339(ms, buf);
    return json_string(buf);
}

/* Rows of "SELECT question_id, status, time" as an array of {question, status, key: time}. */
static int rows_json(struct st_progress *p, const char *sql, int64_t user, const char *time_key, json_t *arr,
                     struct st_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(p->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(p, err, "exporting");
    sqlite3_bind_int64(st, 1, user);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "question", json_integer(sqlite3_column_int(st, 0)));
        json_object_set_new(o, "status", json_string((const char *)sqlite3_column_text(st, 1)));
        json_object_set_new(o, time_key, time_json(sqlite3_column_int64(st, 2)));
        json_array_append_new(arr, o);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_fail(p, err, "exporting");
}

/* Write data to path atomically: a temp file beside it, fsync, rename, fsync the folder. */
int st__progress_write_atomic(const char *path, const char *data, size_t len, struct st_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return st_error_set(err, ST_EUSAGE, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return st_error_set(err, -errno, "%s: cannot write: %s", path, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int saved = errno;
    bool ok = off == len && fsync(fd) == 0;
    if (!ok)
        saved = errno ? errno : EIO;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return st_error_set(err, -saved, "%s: cannot write: %s", path, strerror(saved));
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

int st_progress_export(struct st_progress *p, int64_t user, const char *path, struct st_error *err)
{
    json_t *root = json_object(), *progress = json_array(), *events = json_array();
    json_object_set_new(root, "format", json_string(EXPORT_FORMAT));
    json_object_set_new(root, "version", json_integer(EXPORT_VERSION));
    json_object_set_new(root, "exported_at", time_json(st_time_wall_ms()));
    json_object_set_new(root, "learner", json_string("local"));
    json_object_set(root, "progress", progress);
    json_object_set(root, "events", events);
    /* One read transaction: progress and events from the same snapshot. */
    int rc = exec(p, "BEGIN", err);
    if (rc == 0)
        rc =
            rows_json(p, "SELECT question_id, status, updated_at FROM progress WHERE user_id = ?1 ORDER BY question_id",
                      user, "updated_at", progress, err);
    if (rc == 0)
        rc = rows_json(p, "SELECT question_id, status, at FROM progress_events WHERE user_id = ?1 ORDER BY at, id",
                       user, "at", events, err);
    sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL);
    if (rc == 0) {
        char *text = json_dumps(root, JSON_INDENT(2));
        struct st_buf out;
        st_buf_init(&out, ST_BUF_UNLIMITED);
        if (!text || st_buf_append_c(&out, text) || st_buf_append_byte(&out, '\n'))
            rc = st_error_set(err, -ENOMEM, "out of memory writing the export");
        else
            rc = st__progress_write_atomic(path, out.data, out.len, err);
        st_buf_release(&out);
        free(text);
    }
    json_decref(progress);
    json_decref(events);
    json_decref(root);
    return rc;
}

/* ---- import ---------------------------------------------------------------------------- */

struct import_row {
    int question;
    enum st_status status;
    int64_t at;
};

struct import_doc {
    struct import_row *progress, *events;
    size_t nprogress, nevents;
};

static void import_doc_release(struct import_doc *d)
{
    free(d->progress);
    free(d->events);
}

/* One {question, status, <time_key>} object. */
static int parse_row(json_t *o, const char *where, size_t i, const char *time_key, struct import_row *row,
                     struct st_error *err)
{
    if (!json_is_object(o))
        return st_error_set(err, ST_EPARSE, "%s[%zu]: expected an object", where, i);
    json_t *q = json_object_get(o, "question"), *s = json_object_get(o, "status"), *t = json_object_get(o, time_key);
    if (!json_is_integer(q) || json_integer_value(q) < 1 || json_integer_value(q) > ST_CUR_QUESTIONS)
        return st_error_set(err, ST_EPARSE, "%s[%zu].question: expected a question number 1-500", where, i);
    if (!json_is_string(s) || st_status_parse(json_string_value(s), &row->status))
        return st_error_set(err, ST_EPARSE, "%s[%zu].status: expected todo, doing, done or review", where, i);
    if (!json_is_string(t) || st_time_parse_rfc3339(json_string_value(t), &row->at))
        return st_error_set(err, ST_EPARSE, "%s[%zu].%s: expected an RFC 3339 time", where, i, time_key);
    row->question = (int)json_integer_value(q);
    return 0;
}

static int parse_rows(json_t *root, const char *key, const char *time_key, bool required, struct import_row **out,
                      size_t *n, struct st_error *err)
{
    json_t *arr = json_object_get(root, key);
    *out = NULL;
    *n = 0;
    if (!arr && !required)
        return 0;
    if (!json_is_array(arr))
        return st_error_set(err, ST_EPARSE, "%s: expected an array", key);
    if (json_array_size(arr) > IMPORT_MAX_EVENTS)
        return st_error_set(err, ST_ELIMIT, "%s: more than %d entries", key, IMPORT_MAX_EVENTS);
    *out = st_xcalloc(json_array_size(arr), sizeof(**out));
    for (size_t i = 0; i < json_array_size(arr); i++) {
        int rc = parse_row(json_array_get(arr, i), key, i, time_key, &(*out)[i], err);
        if (rc)
            return rc;
        (*n)++;
    }
    return 0;
}

static int parse_import(const char *json, size_t len, struct import_doc *doc, struct st_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return st_error_set(err, ST_EPARSE, "line %d column %d: invalid JSON: %s", jerr.line, jerr.column, jerr.text);
    int rc = 0;
    json_t *format = json_object_get(root, "format"), *version = json_object_get(root, "version");
    if (!json_is_object(root) || !json_is_string(format) || strcmp(json_string_value(format), EXPORT_FORMAT) != 0)
        rc = st_error_set(err, ST_EPARSE, "not a strata progress export (\"format\": \"%s\" expected)", EXPORT_FORMAT);
    else if (!json_is_integer(version) || json_integer_value(version) < 1)
        rc = st_error_set(err, ST_EPARSE, "version: expected a positive integer");
    else if (json_integer_value(version) > EXPORT_VERSION)
        rc = st_error_set(err, ST_EPARSE, "version %lld was written by a newer strata; upgrade to import it",
                          (long long)json_integer_value(version));
    if (rc == 0)
        rc = parse_rows(root, "progress", "updated_at", true, &doc->progress, &doc->nprogress, err);
    if (rc == 0)
        rc = parse_rows(root, "events", "at", false, &doc->events, &doc->nevents, err);
    json_decref(root);
    return rc;
}

/* Apply a validated document in one transaction; counts statuses actually taken. */
static int apply_import(struct st_progress *p, int64_t user, const struct import_doc *doc, size_t *applied,
                        struct st_error *err)
{
    struct txn t;
    int rc = txn_begin(p, &t, err);
    if (rc)
        return rc;
    size_t taken = 0;
    for (size_t i = 0; i < doc->nprogress && rc == 0; i++) {
        const struct import_row *r = &doc->progress[i];
        rc = step_row(t.up, user, r->question, r->status, r->at);
        if (rc == 0)
            taken += (size_t)sqlite3_changes(p->db);
    }
    for (size_t i = 0; i < doc->nevents && rc == 0; i++) {
        const struct import_row *r = &doc->events[i];
        rc = step_row(t.ev, user, r->question, r->status, r->at);
    }
    rc = txn_end(p, &t, rc, err);
    if (rc == 0 && applied)
        *applied = taken;
    return rc;
}

int st_progress_import_json(struct st_progress *p, int64_t user, const char *json, size_t len, size_t *applied,
                            struct st_error *err)
{
    struct import_doc doc = { 0 };
    st_error_clear(err);
    int rc = parse_import(json, len, &doc, err);
    if (rc == 0)
        rc = apply_import(p, user, &doc, applied, err);
    import_doc_release(&doc);
    return rc;
}

int st__progress_read_file(const char *path, char **data, size_t *len, struct st_error *err)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return st_error_set(err, -errno, "%s: cannot read: %s", path, strerror(errno));
    char *buf = st_xmalloc(IMPORT_MAX_BYTES + 1);
    size_t n = fread(buf, 1, IMPORT_MAX_BYTES + 1, f);
    bool bad = ferror(f);
    fclose(f);
    int rc = 0;
    if (bad)
        rc = st_error_set(err, -EIO, "%s: cannot read", path);
    else if (n > IMPORT_MAX_BYTES)
        rc = st_error_set(err, ST_ELIMIT, "%s: larger than %u MiB", path, IMPORT_MAX_BYTES >> 20);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

void st__error_prefix(struct st_error *err, const char *prefix)
{
    if (!err)
        return;
    char msg[sizeof(err->msg)];
    snprintf(msg, sizeof(msg), "%s", err->msg);
    st_error_set(err, err->code, "%s: %s", prefix, msg);
}

int st_progress_import(struct st_progress *p, int64_t user, const char *path, size_t *applied, struct st_error *err)
{
    char *buf;
    size_t len;
    int rc = st__progress_read_file(path, &buf, &len, err);
    if (rc)
        return rc;
    if ((rc = st_progress_import_json(p, user, buf, len, applied, err)) && rc != ST_EDB)
        st__error_prefix(err, path);
    free(buf);
    return rc;
}
