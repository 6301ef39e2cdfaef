/*
 * sqlite.c - the SQLite half of the synchronous API: opening a configured connection
 * (WAL, busy timeout, foreign keys), exec, prepare with the $n -> ?n rewrite, step.
 */
#include <stdio.h>
#include <string.h>

#include "sql/internal.h"

/* How long a writer waits for another connection's lock before SQLITE_BUSY (ms). */
#define LITE_BUSY_TIMEOUT_MS 5000

int st__sql_lite_open(const char *path, sqlite3 **out, struct st_error *err)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = st_error_set(err, ST_SQL_CONNECTION, "sqlite: cannot open '%s': %s", path,
                          db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return rc;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, LITE_BUSY_TIMEOUT_MS);
    /* WAL lets readers run beside the writer; NORMAL sync is durable across crashes of the
     * process (not of the OS) at a fraction of FULL's fsyncs. memdb ignores journal_mode. */
    const char *setup = "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
    rc = sqlite3_exec(db, setup, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = st__sql_lite_error(db, rc, err);
        sqlite3_close_v2(db);
        return rc;
    }
    *out = db;
    return 0;
}

int st__sql_lite_connect(struct st_sql_db *db, const char *path, struct st_error *err)
{
    return st__sql_lite_open(path, &db->lite, err);
}

int st__sql_lite_exec(struct st_sql_db *db, const char *sql, struct st_error *err)
{
    int rc = sqlite3_exec(db->lite, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : st__sql_lite_error(db->lite, rc, err);
}

int st__sql_lite_prepare(struct st_sql_stmt *st, const char *sql, struct st_error *err)
{
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    st__sql_rewrite_params(sql, &b);
    const char *tail = NULL;
    int rc = sqlite3_prepare_v3(st->db->lite, b.data ? b.data : "", (int)b.len + 1, SQLITE_PREPARE_PERSISTENT,
                                &st->lite, &tail);
    if (rc == SQLITE_OK && !st->lite)
        rc = st_error_set(err, ST_SQL_OTHER, "sqlite: no statement in '%.200s'", sql);
    else if (rc != SQLITE_OK)
        rc = st__sql_lite_error(st->db->lite, rc, err);
    st_buf_release(&b);
    if (rc)
        return rc;
    st->nparams = sqlite3_bind_parameter_count(st->lite);
    return 0;
}

int st__sql_lite_step(struct st_sql_stmt *st, struct st_error *err)
{
    if (st->done)
        return 0;
    st->started = true;
    int rc = sqlite3_step(st->lite);
    if (rc == SQLITE_ROW)
        return 1;
    st->done = true;
    if (rc == SQLITE_DONE) {
        st->changes = sqlite3_stmt_readonly(st->lite) ? 0 : sqlite3_changes64(st->db->lite);
        return 0;
    }
    rc = st__sql_lite_error(st->db->lite, rc, err);
    sqlite3_reset(st->lite);
    return rc;
}
