/*
 * pool_lite.c - batches on SQLite: the work runs on an st_io pool thread, never on the
 * loop. Each pool connection opens its sqlite3 handle lazily on the first thread that
 * runs it and keeps a statement cache (SQL text -> prepared statement); a connection is
 * used by one thread at a time (one batch at a time), which SQLite's multi-thread mode
 * allows. A batch of several queries runs inside a SAVEPOINT, so it is atomic.
 */
#include <stdio.h>
#include <string.h>

#include "sql/internal.h"

/* Statements cached per connection; past this the cache starts over (bounded memory). */
#define LITE_CACHE_MAX 256

static void stmt_free(void *p)
{
    sqlite3_finalize(p);
}

static const struct st_map_type lite_cache_type = { .key_dup = true, .val_free = stmt_free };

void st__sql_lite_conn_close(struct st_sql_conn *c)
{
    if (!c->lite)
        return;
    st_map_release(&c->lite_cache);
    sqlite3_close_v2(c->lite);
    c->lite = NULL;
}

/* The cached statement for sql, prepared (with the $n rewrite) on a miss. */
static int cached_stmt(struct st_sql_conn *c, const char *sql, sqlite3_stmt **out, struct st_error *err)
{
    struct st_str key = { sql, strlen(sql) };
    sqlite3_stmt *s = st_map_get(&c->lite_cache, key);
    if (s) {
        *out = s;
        return 0;
    }
    st__sql_rewrite_params(sql, &c->pscratch);
    int rc = sqlite3_prepare_v3(c->lite, c->pscratch.data ? c->pscratch.data : "", (int)c->pscratch.len + 1,
                                SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK)
        return st__sql_lite_error(c->lite, rc, err);
    if (!s)
        return st_error_set(err, ST_SQL_OTHER, "sqlite: no statement in '%.200s'", sql);
    if (st_map_len(&c->lite_cache) >= LITE_CACHE_MAX)
        st_map_clear(&c->lite_cache);
    st_map_put(&c->lite_cache, key, s);
    *out = s;
    return 0;
}

static void bind_vals(struct st_sql_batch *b, const struct st__sql_q *q, sqlite3_stmt *s)
{
    for (size_t i = 0; i < q->nvals; i++) {
        const struct st__sql_val *v = &b->vals.items[q->first_val + i];
        int idx = (int)i + 1;
        switch (v->type) {
        case ST_SQL_INT: sqlite3_bind_int64(s, idx, v->i); break;
        case ST_SQL_DOUBLE: sqlite3_bind_double(s, idx, v->d); break;
        case ST_SQL_TEXT: sqlite3_bind_text64(s, idx, b->data.data + v->off, v->len, SQLITE_STATIC, SQLITE_UTF8); break;
        case ST_SQL_BLOB: sqlite3_bind_blob64(s, idx, b->data.data + v->off, v->len, SQLITE_STATIC); break;
        default: sqlite3_bind_null(s, idx); break;
        }
    }
}

/* Copy the current row into the batch's cells as text (the getters convert back). */
static void copy_row(struct st_sql_batch *b, sqlite3_stmt *s, int cols)
{
    for (int i = 0; i < cols; i++) {
        struct st__sql_cell *cell = ST_VEC_PUSH_ZERO(&b->cells);
        const unsigned char *t = sqlite3_column_text(s, i);
        if (!t) {
            cell->null = true;
            continue;
        }
        cell->off = b->rdata.len;
        cell->len = (size_t)sqlite3_column_bytes(s, i);
        st_buf_append(&b->rdata, t, cell->len);
        st_buf_append_byte(&b->rdata, '\0');
    }
}

static int run_query(struct st_sql_batch *b, struct st__sql_q *q)
{
    struct st_sql_conn *c = b->conn;
    sqlite3_stmt *s = NULL;
    int rc = cached_stmt(c, b->data.data + q->sql_off, &s, &b->err);
    if (rc)
        return rc;
    int want = sqlite3_bind_parameter_count(s);
    if ((size_t)want != q->nvals)
        return st_error_set(&b->err, ST_SQL_OTHER, "query %d needs %d parameters, got %zu", (int)(q - b->qs.items),
                            want, q->nvals);
    bind_vals(b, q, s);
    q->cols = sqlite3_column_count(s);
    q->first_cell = b->cells.len;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        copy_row(b, s, q->cols);
        q->rows++;
    }
    if (rc == SQLITE_DONE) {
        q->changes = sqlite3_stmt_readonly(s) ? 0 : sqlite3_changes64(c->lite);
        rc = 0;
    } else {
        rc = st__sql_lite_error(c->lite, rc, &b->err);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s); /* SQLITE_STATIC binds point into the batch */
    return rc;
}

static int lite_exec(struct st_sql_batch *b, const char *sql)
{
    int rc = sqlite3_exec(b->conn->lite, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : st__sql_lite_error(b->conn->lite, rc, &b->err);
}

/* On a pool thread. */
static void lite_work(struct st_io_work *wk)
{
    struct st_sql_batch *b = wk->data;
    struct st_sql_conn *c = b->conn;
    if (!c->lite) {
        b->status = st__sql_lite_open(c->pool->url, &c->lite, &b->err);
        if (b->status) {
            c->state = ST__CONN_BROKEN;
            return;
        }
        st_map_init(&c->lite_cache, &lite_cache_type);
    }
    bool atomic = b->qs.len > 1 && !b->independent;
    if (atomic && (b->status = lite_exec(b, "SAVEPOINT st_batch")))
        return;
    for (size_t i = 0; i < b->qs.len && (!b->status || b->independent); i++) {
        int rc = run_query(b, &b->qs.items[i]);
        if (rc && !b->status)
            b->status = rc;
    }
    if (atomic && b->status)
        sqlite3_exec(c->lite, "ROLLBACK TO st_batch; RELEASE st_batch", NULL, NULL, NULL);
    else if (atomic)
        b->status = lite_exec(b, "RELEASE st_batch");
}

static void lite_done(struct st_io_work *wk, int status)
{
    struct st_sql_batch *b = wk->data;
    if (b->orphan) { /* the pool is gone (st_sql_pool_free): only the batch and c are left */
        st__sql_orphan_done(b);
        st_error_set(&b->err, ST_SQL_CONNECTION, ST__SQL_POOL_FREED_MSG);
        b->status = ST_SQL_CONNECTION;
        st_io_timer_start(b->loop, &b->finish_timer, 0);
        return;
    }
    if (status && !b->status)
        b->status = st_error_set(&b->err, ST_SQL_CONNECTION, "the SQLite threads shut down before the batch ran");
    st__sql_batch_finish(b, b->status);
}

void st__sql_lite_run(struct st_sql_batch *b)
{
    int rc = st_io_pool_submit(b->pool->io_pool, b->pool->loop, &b->work, lite_work, lite_done, b);
    if (rc) {
        st_error_set(&b->err, ST_SQL_OTHER, "the SQLite work queue refused the batch: %s", st_strerror(rc));
        st__sql_batch_finish(b, ST_SQL_OTHER);
    }
}
