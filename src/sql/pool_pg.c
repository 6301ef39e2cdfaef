/*
 * pool_pg.c - batches on PostgreSQL: non-blocking libpq connections driven by the loop.
 *
 * A connection connects with PQconnectStart/PQconnectPoll on its socket's watch, then stays
 * in pipeline mode (libpq 14+). A batch is written as one pipeline: for each query a
 * Parse (only the first time this connection sees that SQL text: statements are named
 * "s<id>" and prepared once per connection) and a Bind/Execute, then one Sync; PQflush
 * pushes it out, arming write interest only when the socket is full. Results come back in
 * order; `expect` is the FIFO of what each one answers. The statements between two Syncs
 * are one implicit transaction, so a batch is atomic: after an error the server answers
 * PIPELINE_ABORTED for the rest, and rolls back at the Sync.
 *
 * Health: a connection's socket is watched for reads even while idle, so a server that
 * goes away (restart: FATAL 57P01 then EOF) is noticed at once and the connection dropped;
 * the pool makes a new one on the next demand.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/internal.h"

static void conn_event(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents);

static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static void watch_fd(struct st_sql_conn *c, unsigned events)
{
    int fd = PQsocket(c->pg);
    if (c->w.registered && c->w.fd != fd)
        st_io_watch_stop(c->pool->loop, &c->w); /* libpq may reconnect on another socket */
    if (!c->w.registered)
        st_io_watch_init(&c->w, fd, conn_event, c);
    st_io_watch_set(c->pool->loop, &c->w, events);
}

static void stop_io(struct st_sql_conn *c)
{
    if (c->w.registered)
        st_io_watch_stop(c->pool->loop, &c->w);
    st_io_timer_stop(c->pool->loop, &c->connect_timer);
}

static void expect_clear(struct st_sql_conn *c)
{
    for (size_t i = c->expect_head; i < c->expect.len; i++)
        free(c->expect.items[i].sql);
    ST_VEC_CLEAR(&c->expect);
    c->expect_head = 0;
    c->got_result = false;
}

void st__sql_pg_conn_close(struct st_sql_conn *c)
{
    stop_io(c);
    expect_clear(c);
    ST_VEC_RELEASE(&c->expect);
    ST_VEC_RELEASE(&c->pvals);
    ST_VEC_RELEASE(&c->plens);
    ST_VEC_RELEASE(&c->pfmts);
    st_map_release(&c->pg_prepared);
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
}

/* ---- connecting ------------------------------------------------------------------------ */

static void connect_failed(struct st_sql_conn *c, const char *why)
{
    char msg[256];
    const char *pgmsg = c->pg ? PQerrorMessage(c->pg) : "";
    size_t n = strlen(pgmsg);
    while (n && (pgmsg[n - 1] == '\n' || pgmsg[n - 1] == ' '))
        n--;
    snprintf(msg, sizeof(msg), "postgres: %s%s%.*s", why, n ? ": " : "", (int)n, pgmsg);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    stop_io(c);
    st__sql_conn_failed(c, ST_SQL_CONNECTION, msg);
}

static void connect_timeout(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct st_sql_conn *c = t->data;
    char why[64];
    snprintf(why, sizeof(why), "connect timed out after %d ms", c->pool->connect_timeout_ms);
    connect_failed(c, why);
}

static void connected(struct st_sql_conn *c)
{
    st_io_timer_stop(c->pool->loop, &c->connect_timer);
    PQsetNoticeProcessor(c->pg, quiet_notice, NULL);
    if (PQsetnonblocking(c->pg, 1) || !PQenterPipelineMode(c->pg)) {
        connect_failed(c, "cannot enter pipeline mode");
        return;
    }
    watch_fd(c, ST_IO_READ);
    st__sql_conn_ready(c);
}

static void connect_step(struct st_sql_conn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING: watch_fd(c, ST_IO_READ); break;
    case PGRES_POLLING_WRITING: watch_fd(c, ST_IO_WRITE); break;
    case PGRES_POLLING_OK: connected(c); break;
    default: connect_failed(c, "cannot connect"); break;
    }
}

void st__sql_pg_conn_start(struct st_sql_conn *c)
{
    st_map_init(&c->pg_prepared, &st_map_type_dup);
    st_io_timer_init(&c->connect_timer, connect_timeout, c);
    c->pg = PQconnectStart(c->pool->url);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD || PQsocket(c->pg) < 0) {
        connect_failed(c, "cannot start connecting");
        return;
    }
    st_io_timer_start(c->pool->loop, &c->connect_timer, c->pool->connect_timeout_ms);
    watch_fd(c, ST_IO_WRITE); /* PQconnectStart leaves libpq waiting for the socket to be writable */
}

/* ---- a broken connection ------------------------------------------------------------------ */

/* The connection is unusable: fail its batches, and drop it unless a caller holds it. */
static void conn_broken(struct st_sql_conn *c)
{
    c->state = ST__CONN_BROKEN;
    stop_io(c);
    struct st_sql_batch *b;
    while ((b = c->batch)) {
        bool last = !b->next_on_conn;
        if (!b->status)
            b->status = st__sql_pg_error(c->pg, NULL, &b->err);
        if (b->status != ST_SQL_CONNECTION)
            b->status = b->err.code = ST_SQL_CONNECTION;
        bool owned = b->own_conn;
        st__sql_batch_finish(b, b->status); /* the last may release (and free) c */
        if (last && owned)
            return;
    }
    if (!c->checked_out)
        st__sql_conn_discard(c);
}

/* ---- sending a batch ---------------------------------------------------------------------- */

/* Parameters of q as libpq arrays in the connection's scratch space. */
static void build_params(struct st_sql_conn *c, struct st_sql_batch *b, const struct st__sql_q *q)
{
    size_t n = q->nvals;
    ST_VEC_CLEAR(&c->pvals);
    ST_VEC_CLEAR(&c->plens);
    ST_VEC_CLEAR(&c->pfmts);
    st_buf_clear(&c->pscratch);
    st_buf_reserve(&c->pscratch, n * 32 + 1); /* numbers as text, 32 bytes each */
    for (size_t i = 0; i < n; i++) {
        const struct st__sql_val *v = &b->vals.items[q->first_val + i];
        char *num = c->pscratch.data + i * 32;
        const char *val = NULL;
        int len = 0, fmt = 0;
        if (v->type == ST_SQL_INT) {
            snprintf(num, 32, "%lld", (long long)v->i);
            val = num;
        } else if (v->type == ST_SQL_DOUBLE) {
            snprintf(num, 32, "%.17g", v->d);
            val = num;
        } else if (v->type == ST_SQL_TEXT || v->type == ST_SQL_BLOB) {
            val = b->data.data + v->off;
            len = (int)v->len;
            fmt = v->type == ST_SQL_BLOB; /* blobs travel binary: no escaping */
        }
        ST_VEC_PUSH(&c->pvals, val);
        ST_VEC_PUSH(&c->plens, len);
        ST_VEC_PUSH(&c->pfmts, fmt);
    }
}

static void expect_push(struct st_sql_conn *c, struct st_sql_batch *b, int kind, int q, uintptr_t id, const char *sql)
{
    struct st__pg_expect e = { .kind = kind, .b = b, .q = q, .id = id, .sql = sql ? st_xstrdup(sql) : NULL };
    ST_VEC_PUSH(&c->expect, e);
}

/* Queue a Sync ending b's transaction (last: b's final one). false: libpq refused. */
static bool send_sync(struct st_sql_conn *c, struct st_sql_batch *b, bool last)
{
    if (!PQpipelineSync(c->pg))
        return false;
    expect_push(c, b, ST__PG_SYNC, 0, 0, NULL);
    c->expect.items[c->expect.len - 1].last = last;
    return true;
}

/* Queue Parse (first time only) and Bind/Execute of query i. false: libpq refused. */
static bool send_query(struct st_sql_conn *c, struct st_sql_batch *b, int i)
{
    const struct st__sql_q *q = &b->qs.items[i];
    const char *sql = b->data.data + q->sql_off;
    struct st_str key = { sql, strlen(sql) };
    uintptr_t id = (uintptr_t)st_map_get(&c->pg_prepared, key);
    char name[32];
    if (!id) {
        id = ++c->pg_next_id;
        snprintf(name, sizeof(name), "s%lu", (unsigned long)id);
        if (!PQsendPrepare(c->pg, name, sql, 0, NULL))
            return false;
        st_map_put(&c->pg_prepared, key, (void *)id);
        expect_push(c, b, ST__PG_PREPARE, i, id, sql);
    }
    snprintf(name, sizeof(name), "s%lu", (unsigned long)id);
    build_params(c, b, q);
    if (q->nvals > 65535) {
        st_error_set(&b->err, ST_SQL_OTHER, "query %d has %zu parameters (at most 65535)", i, q->nvals);
        return false;
    }
    if (!PQsendQueryPrepared(c->pg, name, (int)q->nvals, c->pvals.items, c->plens.items, c->pfmts.items, 0))
        return false;
    expect_push(c, b, ST__PG_QUERY, i, 0, NULL);
    return true;
}

static void flush_out(struct st_sql_conn *c)
{
    int rc = PQflush(c->pg);
    if (rc < 0) {
        conn_broken(c);
        return;
    }
    st_io_watch_set(c->pool->loop, &c->w, rc ? ST_IO_READ | ST_IO_WRITE : ST_IO_READ);
}

void st__sql_pg_run(struct st_sql_batch *b)
{
    struct st_sql_conn *c = b->conn;
    if (c->inflight == 1) /* nothing else in the pipeline */
        expect_clear(c);
    for (size_t i = 0; i < b->qs.len; i++) {
        if (!send_query(c, b, (int)i)) {
            if (!b->err.code)
                st__sql_pg_error(c->pg, NULL, &b->err);
            b->status = b->err.code;
            conn_broken(c); /* half a pipeline without a Sync: the connection cannot be reused */
            return;
        }
        /* an independent query: its own implicit transaction */
        if (b->independent && i + 1 < b->qs.len && !send_sync(c, b, false)) {
            conn_broken(c);
            return;
        }
    }
    if (!send_sync(c, b, true)) {
        conn_broken(c);
        return;
    }
    flush_out(c);
}

/* ---- receiving ---------------------------------------------------------------------------- */

/* One result for the head expectation (a Parse or an Execute). */
static void take_result(struct st_sql_conn *c, struct st__pg_expect *e, PGresult *r)
{
    struct st_sql_batch *b = e->b;
    ExecStatusType s = PQresultStatus(r);
    bool failed = s == PGRES_FATAL_ERROR || s == PGRES_PIPELINE_ABORTED || s == PGRES_BAD_RESPONSE;
    if (s != PGRES_PIPELINE_ABORTED && failed && b && !b->status)
        b->status = st__sql_pg_error(c->pg, r, &b->err);
    if (e->kind == ST__PG_PREPARE && failed) /* never prepared: prepare again next time */
        st_map_del(&c->pg_prepared, (struct st_str){ e->sql, strlen(e->sql) }, NULL);
    if (e->kind == ST__PG_QUERY && !failed && b) {
        struct st__sql_q *q = &b->qs.items[e->q];
        PQclear(q->pg);
        q->pg = r;
        q->rows = PQntuples(r);
        q->cols = PQnfields(r);
        q->changes = st__sql_pg_changes(r);
        return;
    }
    PQclear(r);
}

/* Read every result that is complete. false: the connection was freed or broke. */
static bool read_results(struct st_sql_conn *c)
{
    while (c->expect_head < c->expect.len) {
        if (PQisBusy(c->pg))
            return true;
        struct st__pg_expect *e = &c->expect.items[c->expect_head];
        PGresult *r = PQgetResult(c->pg);
        if (e->kind == ST__PG_SYNC) {
            if (!r || PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
                PQclear(r);
                conn_broken(c);
                return false;
            }
            PQclear(r);
            struct st_sql_batch *b = e->b;
            bool last = e->last;
            c->expect_head++;
            if (c->expect_head == c->expect.len)
                expect_clear(c);
            if (!last) /* an independent query's Sync */
                continue;
            bool more = b->next_on_conn != NULL;
            st__sql_batch_finish(b, b->status); /* the last batch may release and free c */
            if (!more)
                return false;
            continue;
        }
        if (!r) { /* the end of e's results */
            if (!c->got_result)
                return true; /* nothing was there yet */
            free(e->sql);
            e->sql = NULL;
            c->expect_head++;
            c->got_result = false;
            continue;
        }
        c->got_result = true;
        take_result(c, e, r);
    }
    return true;
}

static void conn_event(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)loop;
    struct st_sql_conn *c = w->data;
    if (c->state == ST__CONN_CONNECTING) {
        connect_step(c);
        return;
    }
    if (revents & ST_IO_WRITE) {
        flush_out(c);
        if (c->state == ST__CONN_BROKEN)
            return;
    }
    if (!(revents & (ST_IO_READ | ST_IO_ERROR)))
        return;
    if (!PQconsumeInput(c->pg) || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_broken(c);
        return;
    }
    if (c->batch)
        read_results(c);
}
