/*
 * pool.c - the asynchronous API's backend-independent half: the per-loop connection pool
 * (FIFO waiters with an acquire timeout, on-demand connections up to max_size, health
 * checks on release, counters and their Prometheus text), and batches (building, results).
 *
 * "Later" is a zero-timeout st_io_timer rather than st_io_defer: a timer can be stopped
 * when its owner is freed, so freeing a pool or a batch never leaves a queued node behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "sql/internal.h"

#define DEFAULT_MAX_SIZE 8
#define DEFAULT_ACQUIRE_TIMEOUT_MS 5000
#define DEFAULT_CONNECT_TIMEOUT_MS 10000

/* A name unique in this process for a shared in-memory SQLite database (memdb VFS). */
static char *memdb_path(void)
{
    static unsigned long counter;
    char buf[96];
    snprintf(buf, sizeof(buf), "file:/strata-mem-%ld-%lu?vfs=memdb", (long)getpid(),
             __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
    return st_xstrdup(buf);
}

static void dispatch_cb(struct st_io_loop *loop, struct st_io_timer *t);

int st_sql_pool_new(struct st_io_loop *loop, const struct st_sql_pool_opts *o, struct st_sql_pool **out,
                    struct st_error *err)
{
    enum st_sql_backend be;
    const char *path;
    int rc = st_sql_url_parse(o->url, &be, &path, err);
    if (rc)
        return rc;
    struct st_sql_pool *p = st_xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->backend = be;
    p->url = strcmp(path, ":memory:") != 0 || be != ST_SQL_SQLITE ? st_xstrdup(path) : memdb_path();
    p->name = st_xstrdup(o->name ? o->name : "default");
    p->max_size = o->max_size > 0 ? o->max_size : DEFAULT_MAX_SIZE;
    p->acquire_timeout_ms = o->acquire_timeout_ms > 0 ? o->acquire_timeout_ms : DEFAULT_ACQUIRE_TIMEOUT_MS;
    p->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    st_io_timer_init(&p->dispatch_timer, dispatch_cb, p);
    if (be == ST_SQL_SQLITE) {
        p->io_pool = o->io_pool;
        if (!p->io_pool) {
            rc = st_io_pool_new(p->max_size, 4096, &p->io_pool);
            if (rc) {
                st_sql_pool_free(p);
                return st_error_set(err, rc, "cannot start the SQLite threads: %s", st_strerror(rc));
            }
            p->own_io_pool = true;
        }
    }
    *out = p;
    return 0;
}

enum st_sql_backend st_sql_pool_backend(const struct st_sql_pool *pool)
{
    return pool->backend;
}

const char *st_sql_pool_name(const struct st_sql_pool *pool)
{
    return pool->name;
}

static void schedule_dispatch(struct st_sql_pool *p)
{
    if (!st_io_timer_active(&p->dispatch_timer) && !p->freeing)
        st_io_timer_start(p->loop, &p->dispatch_timer, 0);
}

/* ---- connections ---------------------------------------------------------------------- */

static struct st_sql_conn *conn_new(struct st_sql_pool *p)
{
    struct st_sql_conn *c = st_xcalloc(1, sizeof(*c));
    c->pool = p;
    c->next_all = p->all;
    if (p->all)
        p->all->prev_all = c;
    p->all = c;
    ST__STAT_ADD(p, size, 1);
    st_buf_init(&c->pscratch, ST_BUF_UNLIMITED);
    return c;
}

/* Take c off the pool's list of connections. */
static void conn_unlink(struct st_sql_conn *c)
{
    struct st_sql_pool *p = c->pool;
    if (c->prev_all)
        c->prev_all->next_all = c->next_all;
    else
        p->all = c->next_all;
    if (c->next_all)
        c->next_all->prev_all = c->prev_all;
    c->prev_all = c->next_all = NULL;
    ST__STAT_ADD(p, size, -1);
}

void st__sql_conn_orphan_free(struct st_sql_conn *c, enum st_sql_backend backend)
{
    if (backend == ST_SQL_SQLITE)
        st__sql_lite_conn_close(c);
    else
        st__sql_pg_conn_close(c);
    st_buf_release(&c->pscratch);
    free(c);
}

static void conn_free(struct st_sql_conn *c)
{
    enum st_sql_backend be = c->pool->backend;
    conn_unlink(c);
    st__sql_conn_orphan_free(c, be);
}

/* Take c off the idle stack if it is there. */
static void idle_remove(struct st_sql_conn *c)
{
    for (struct st_sql_conn **pp = &c->pool->idle; *pp; pp = &(*pp)->next_idle) {
        if (*pp == c) {
            *pp = c->next_idle;
            c->next_idle = NULL;
            return;
        }
    }
}

void st__sql_conn_discard(struct st_sql_conn *c)
{
    ST__STAT_ADD(c->pool, discarded, 1);
    idle_remove(c);
    if (c->state == ST__CONN_CONNECTING)
        c->pool->connecting--;
    struct st_sql_pool *p = c->pool;
    conn_free(c);
    schedule_dispatch(p);
}

/* A connection that may be handed out: not broken, and for SQLite outside a transaction. */
static bool conn_healthy(const struct st_sql_conn *c)
{
    if (c->state != ST__CONN_READY)
        return false;
    if (c->pg)
        return PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    return !c->lite || sqlite3_get_autocommit(c->lite);
}

void st__sql_conn_ready(struct st_sql_conn *c)
{
    c->pool->connecting--;
    c->state = ST__CONN_READY;
    ST__STAT_ADD(c->pool, connects, 1);
    c->next_idle = c->pool->idle;
    c->pool->idle = c;
    schedule_dispatch(c->pool);
}

static void waiter_finish(struct st__sql_waiter *w, struct st_sql_conn *c, int status);

/* Connecting failed: the oldest waiter learns why (it asked first), the rest keep waiting. */
void st__sql_conn_failed(struct st_sql_conn *c, int status, const char *msg)
{
    struct st_sql_pool *p = c->pool;
    ST__STAT_ADD(p, connect_failures, 1);
    snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
    p->connecting--;
    c->state = ST__CONN_BROKEN;
    conn_free(c);
    struct st__sql_waiter *w = p->wait_head;
    if (w) {
        p->wait_head = w->next;
        if (!p->wait_head)
            p->wait_tail = NULL;
        ST__STAT_ADD(p, waiting, -1);
        waiter_finish(w, NULL, status);
    }
    schedule_dispatch(p);
}

/* Start one more connection: SQLite opens lazily on its first pool thread, so it is ready. */
static void conn_create(struct st_sql_pool *p)
{
    struct st_sql_conn *c = conn_new(p);
    p->connecting++;
    c->state = ST__CONN_CONNECTING;
    if (p->backend == ST_SQL_SQLITE)
        st__sql_conn_ready(c);
    else
        st__sql_pg_conn_start(c);
}

/* ---- waiters ---------------------------------------------------------------------------- */

static void waiter_finish(struct st__sql_waiter *w, struct st_sql_conn *c, int status)
{
    struct st_sql_pool *p = w->pool;
    st_io_timer_stop(p->loop, &w->timer);
    if (c) {
        c->checked_out = true;
        ST__STAT_ADD(p, in_use, 1);
        ST__STAT_ADD(p, acquired, 1);
        ST__STAT_ADD(p, acquire_wait_ns, st_time_mono_ns() - w->since_ns);
    }
    void (*cb)(struct st_sql_conn *, int, void *) = w->cb;
    void *arg = w->arg;
    free(w);
    cb(c, status, arg);
}

static void waiter_timeout(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct st__sql_waiter *w = t->data;
    struct st_sql_pool *p = w->pool;
    struct st__sql_waiter **pp = &p->wait_head, *prev = NULL;
    while (*pp != w) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    *pp = w->next;
    if (p->wait_tail == w)
        p->wait_tail = prev;
    ST__STAT_ADD(p, waiting, -1);
    ST__STAT_ADD(p, acquire_timeouts, 1);
    snprintf(p->last_error, sizeof(p->last_error), "no connection free within %d ms (pool '%s', max %d)",
             p->acquire_timeout_ms, p->name, p->max_size);
    waiter_finish(w, NULL, ST_SQL_TIMEOUT);
}

/* Hand idle connections to waiters in order; open more while waiters outnumber openings. */
static void dispatch_cb(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct st_sql_pool *p = t->data;
    while (p->wait_head) {
        struct st_sql_conn *c = p->idle;
        if (c) {
            p->idle = c->next_idle;
            c->next_idle = NULL;
            if (!conn_healthy(c)) {
                st__sql_conn_discard(c);
                continue;
            }
            struct st__sql_waiter *w = p->wait_head;
            p->wait_head = w->next;
            if (!p->wait_head)
                p->wait_tail = NULL;
            ST__STAT_ADD(p, waiting, -1);
            waiter_finish(w, c, 0);
            continue;
        }
        int64_t size = __atomic_load_n(&p->stats.size, __ATOMIC_RELAXED);
        if (size >= p->max_size || p->connecting >= __atomic_load_n(&p->stats.waiting, __ATOMIC_RELAXED))
            break;
        conn_create(p);
    }
}

void st_sql_pool_acquire(struct st_sql_pool *pool, void (*cb)(struct st_sql_conn *conn, int status, void *arg),
                         void *arg)
{
    struct st__sql_waiter *w = st_xcalloc(1, sizeof(*w));
    w->pool = pool;
    w->cb = cb;
    w->arg = arg;
    w->since_ns = st_time_mono_ns();
    st_io_timer_init(&w->timer, waiter_timeout, w);
    st_io_timer_start(pool->loop, &w->timer, pool->acquire_timeout_ms);
    if (pool->wait_tail)
        pool->wait_tail->next = w;
    else
        pool->wait_head = w;
    pool->wait_tail = w;
    ST__STAT_ADD(pool, waiting, 1);
    schedule_dispatch(pool);
}

void st_sql_pool_release(struct st_sql_conn *c)
{
    struct st_sql_pool *p = c->pool;
    c->checked_out = false;
    ST__STAT_ADD(p, in_use, -1);
    if (!conn_healthy(c)) {
        st__sql_conn_discard(c);
        return;
    }
    c->next_idle = p->idle;
    p->idle = c;
    if (p->wait_head)
        schedule_dispatch(p);
}

/*
 * Fail the batch running on c because the pool goes away: done runs later on the loop with
 * ST_SQL_CONNECTION. A PostgreSQL batch lives on the loop, so it stops here and c is freed
 * with the others. An SQLite batch may be on a pool thread right now: c leaves the pool
 * (orphaned) and lite_done closes it once the thread is done with it.
 */
static void fail_running(struct st_sql_conn *c)
{
    struct st_sql_batch *b = c->batch;
    if (c->pool->backend == ST_SQL_SQLITE) { /* b->conn stays: the thread reads it */
        conn_unlink(c);
        c->batch = NULL;
        c->inflight = 0;
        b->orphan = c;
        c->pool->orphans++;
        return;
    }
    while ((b = c->batch)) { /* every batch of its pipeline */
        st_error_set(&b->err, ST_SQL_CONNECTION, ST__SQL_POOL_FREED_MSG);
        b->own_conn = false; /* freed below with the pool's other connections, not released */
        st__sql_batch_finish(b, ST_SQL_CONNECTION);
    }
}

static void pool_free_mem(struct st_sql_pool *p)
{
    free(p->url);
    free(p->name);
    free(p);
}

void st_sql_pool_free(struct st_sql_pool *p)
{
    if (!p)
        return;
    p->freeing = true;
    for (struct st_sql_conn *c = p->all, *next; c; c = next) {
        next = c->next_all;
        if (c->batch)
            fail_running(c);
    }
    st_io_timer_stop(p->loop, &p->dispatch_timer);
    while (p->wait_head) {
        struct st__sql_waiter *w = p->wait_head;
        p->wait_head = w->next;
        ST__STAT_ADD(p, waiting, -1);
        snprintf(p->last_error, sizeof(p->last_error), "the pool is shutting down");
        waiter_finish(w, NULL, ST_SQL_CONNECTION);
    }
    for (struct st_sql_conn *c = p->all, *next; c; c = next) {
        next = c->next_all; /* conn_free unlinks c only */
        conn_free(c);
    }
    if (p->own_io_pool) /* joins the threads: orphaned batches are done, their lite_done queued */
        st_io_pool_free(p->io_pool, true);
    if (!p->orphans)
        pool_free_mem(p);
}

void st__sql_orphan_done(struct st_sql_batch *b)
{
    struct st_sql_conn *c = b->orphan;
    struct st_sql_pool *p = c->pool;
    st__sql_conn_orphan_free(c, ST_SQL_SQLITE);
    b->orphan = NULL;
    b->conn = NULL;
    b->pool = NULL;
    if (--p->orphans == 0)
        pool_free_mem(p);
}

/* ---- stats ------------------------------------------------------------------------------ */

void st_sql_pool_stats_add(const struct st_sql_pool *p, struct st_sql_pool_stats *s)
{
#define ADD(f) s->f += __atomic_load_n(&p->stats.f, __ATOMIC_RELAXED)
    ADD(size);
    ADD(in_use);
    ADD(waiting);
    ADD(acquired);
    ADD(acquire_wait_ns);
    ADD(acquire_timeouts);
    ADD(errors);
    ADD(connects);
    ADD(connect_failures);
    ADD(discarded);
    ADD(queries);
#undef ADD
}

int st_sql_metrics_render(const char *name, const struct st_sql_pool_stats *s, struct st_buf *out)
{
    static const struct {
        const char *metric, *type, *help;
        size_t off;
    } rows[] = {
#define R(m, t, h, f) { m, t, h, offsetof(struct st_sql_pool_stats, f) }
        R("strata_sql_pool_connections", "gauge", "Open (or opening) database connections.", size),
        R("strata_sql_pool_in_use", "gauge", "Connections checked out or running a batch.", in_use),
        R("strata_sql_pool_waiting", "gauge", "Callers waiting for a connection.", waiting),
        R("strata_sql_pool_acquire_total", "counter", "Connections handed out.", acquired),
        R("strata_sql_pool_acquire_timeouts_total", "counter", "Acquisitions that timed out.", acquire_timeouts),
        R("strata_sql_errors_total", "counter", "Batches that failed.", errors),
        R("strata_sql_connects_total", "counter", "Connections made.", connects),
        R("strata_sql_connect_failures_total", "counter", "Connection attempts that failed.", connect_failures),
        R("strata_sql_pool_discarded_total", "counter", "Broken connections dropped.", discarded),
        R("strata_sql_queries_total", "counter", "Queries run.", queries),
#undef R
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]) && !rc; i++) {
        int64_t v = *(const int64_t *)((const char *)s + rows[i].off);
        rc = st_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s{pool=\"%s\"} %lld\n", rows[i].metric, rows[i].help,
                           rows[i].metric, rows[i].type, rows[i].metric, name, (long long)v);
    }
    if (!rc)
        rc = st_buf_printf(out,
                           "# HELP strata_sql_pool_acquire_wait_seconds_total Time spent waiting for connections.\n"
                           "# TYPE strata_sql_pool_acquire_wait_seconds_total counter\n"
                           "strata_sql_pool_acquire_wait_seconds_total{pool=\"%s\"} %.9f\n",
                           name, (double)s->acquire_wait_ns / 1e9);
    return rc;
}

/* ---- batches ---------------------------------------------------------------------------- */

static void finish_cb(struct st_io_loop *loop, struct st_io_timer *t);

struct st_sql_batch *st_sql_batch_new(struct st_sql_pool *pool)
{
    struct st_sql_batch *b = st_xcalloc(1, sizeof(*b));
    b->pool = pool;
    b->loop = pool->loop;
    st_buf_init(&b->data, ST_BUF_UNLIMITED);
    st_buf_init(&b->rdata, ST_BUF_UNLIMITED);
    st_io_timer_init(&b->finish_timer, finish_cb, b);
    return b;
}

int st_sql_batch_query(struct st_sql_batch *b, const char *sql)
{
    struct st__sql_q *q = ST_VEC_PUSH_ZERO(&b->qs);
    q->sql_off = b->data.len;
    st_buf_append(&b->data, sql, strlen(sql) + 1);
    q->first_val = b->vals.len;
    return (int)b->qs.len - 1;
}

/* The next parameter slot of the last query (a bind before any query is dropped). */
static struct st__sql_val *next_val(struct st_sql_batch *b, int type)
{
    if (!b->qs.len) {
        if (!b->status)
            b->status = st_error_set(&b->err, ST_SQL_OTHER, "a parameter was bound before any query");
        return NULL;
    }
    b->qs.items[b->qs.len - 1].nvals++;
    struct st__sql_val *v = ST_VEC_PUSH_ZERO(&b->vals);
    v->type = type;
    return v;
}

void st_sql_batch_int64(struct st_sql_batch *b, int64_t x)
{
    struct st__sql_val *v = next_val(b, ST_SQL_INT);
    if (v)
        v->i = x;
}

void st_sql_batch_double(struct st_sql_batch *b, double x)
{
    struct st__sql_val *v = next_val(b, ST_SQL_DOUBLE);
    if (v)
        v->d = x;
}

static void batch_bytes(struct st_sql_batch *b, int type, const void *p, size_t len)
{
    struct st__sql_val *v = next_val(b, type);
    if (!v)
        return;
    v->off = b->data.len;
    v->len = len;
    st_buf_append(&b->data, p ? p : "", len);
    st_buf_append_byte(&b->data, '\0');
}

void st_sql_batch_text(struct st_sql_batch *b, const char *s, size_t len)
{
    batch_bytes(b, ST_SQL_TEXT, s, len);
}

void st_sql_batch_blob(struct st_sql_batch *b, const void *p, size_t len)
{
    batch_bytes(b, ST_SQL_BLOB, p, len);
}

void st_sql_batch_null(struct st_sql_batch *b)
{
    next_val(b, ST_SQL_NULL);
}

void st_sql_batch_independent(struct st_sql_batch *b)
{
    b->independent = true;
}

static void finish_cb(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct st_sql_batch *b = t->data;
    b->done(b, b->status, b->arg);
}

void st__sql_batch_finish(struct st_sql_batch *b, int status)
{
    struct st_sql_pool *p = b->pool;
    if (status && !b->status)
        b->status = status;
    if (b->status)
        ST__STAT_ADD(p, errors, 1);
    else
        ST__STAT_ADD(p, queries, (int64_t)b->qs.len);
    struct st_sql_conn *c = b->conn;
    if (c) {
        struct st_sql_batch **pp = &c->batch;
        while (*pp && *pp != b)
            pp = &(*pp)->next_on_conn;
        if (*pp) {
            *pp = b->next_on_conn;
            c->inflight--;
        }
        b->next_on_conn = NULL;
        b->conn = NULL;
        if (b->own_conn && !c->batch) { /* the last of the pool batches on c */
            c->pipelined = false;
            st_sql_pool_release(c);
        }
    }
    st_io_timer_start(p->loop, &b->finish_timer, 0);
}

/* Append b to the batches running on c. */
static void run_on(struct st_sql_batch *b, struct st_sql_conn *c)
{
    b->conn = c;
    struct st_sql_batch **pp = &c->batch;
    while (*pp)
        pp = &(*pp)->next_on_conn;
    *pp = b;
    c->inflight++;
    if (b->status || !b->qs.len) {
        st__sql_batch_finish(b, b->status);
        return;
    }
    if (b->pool->backend == ST_SQL_SQLITE)
        st__sql_lite_run(b);
    else
        st__sql_pg_run(b);
}

static void batch_got_conn(struct st_sql_conn *c, int status, void *arg)
{
    struct st_sql_batch *b = arg;
    if (status) {
        st_error_set(&b->err, status, "%s", b->pool->last_error[0] ? b->pool->last_error : st_sql_strerror(status));
        st__sql_batch_finish(b, status);
        return;
    }
    b->own_conn = true;
    c->pipelined = b->pool->backend == ST_SQL_POSTGRES;
    run_on(b, c);
}

/*
 * A busy PostgreSQL connection b may join instead of waiting: only when none is idle, no
 * new one may be opened and nobody waits (a waiter needs a connection to drain fully), the
 * least loaded of those running pool batches, below ST__PG_PIPELINE_MAX. Its batch goes
 * out behind theirs in the same pipeline (still its own transaction, ended by its own
 * Sync), so the server reads several batches per wakeup instead of one per round trip.
 */
static struct st_sql_conn *pipeline_join(struct st_sql_pool *p)
{
    if (p->backend != ST_SQL_POSTGRES || p->idle || p->wait_head ||
        __atomic_load_n(&p->stats.size, __ATOMIC_RELAXED) < p->max_size)
        return NULL;
    struct st_sql_conn *best = NULL;
    for (struct st_sql_conn *c = p->all; c; c = c->next_all)
        if (c->pipelined && c->state == ST__CONN_READY && c->inflight < ST__PG_PIPELINE_MAX &&
            (!best || c->inflight < best->inflight))
            best = c;
    return best;
}

void st_sql_batch_submit(struct st_sql_batch *b, struct st_sql_conn *conn,
                         void (*done)(struct st_sql_batch *b, int status, void *arg), void *arg)
{
    b->done = done;
    b->arg = arg;
    b->submitted = true;
    if (!conn) {
        struct st_sql_conn *c = b->qs.len ? pipeline_join(b->pool) : NULL;
        if (c) {
            b->own_conn = true;
            run_on(b, c);
        } else {
            st_sql_pool_acquire(b->pool, batch_got_conn, b);
        }
        return;
    }
    if (conn->batch) {
        st_error_set(&b->err, ST_SQL_OTHER, "the connection is running another batch");
        st__sql_batch_finish(b, ST_SQL_OTHER);
        return;
    }
    run_on(b, conn);
}

const struct st_error *st_sql_batch_error(const struct st_sql_batch *b)
{
    return &b->err;
}

void st_sql_batch_free(struct st_sql_batch *b)
{
    if (!b)
        return;
    st_io_timer_stop(b->loop, &b->finish_timer);
    for (size_t i = 0; i < b->qs.len; i++)
        PQclear(b->qs.items[i].pg);
    ST_VEC_RELEASE(&b->qs);
    ST_VEC_RELEASE(&b->vals);
    ST_VEC_RELEASE(&b->cells);
    st_buf_release(&b->data);
    st_buf_release(&b->rdata);
    free(b);
}

/* ---- results ---------------------------------------------------------------------------- */

int st_sql_batch_queries(const struct st_sql_batch *b)
{
    return (int)b->qs.len;
}

static const struct st__sql_q *result_q(const struct st_sql_batch *b, int q)
{
    return q >= 0 && (size_t)q < b->qs.len ? &b->qs.items[q] : NULL;
}

int st_sql_result_rows(const struct st_sql_batch *b, int q)
{
    const struct st__sql_q *r = result_q(b, q);
    return r ? r->rows : 0;
}

int st_sql_result_columns(const struct st_sql_batch *b, int q)
{
    const struct st__sql_q *r = result_q(b, q);
    return r ? r->cols : 0;
}

int64_t st_sql_result_changes(const struct st_sql_batch *b, int q)
{
    const struct st__sql_q *r = result_q(b, q);
    return r ? r->changes : 0;
}

/* The cell's text (NULL for SQL NULL or out of range). */
static const char *cell(const struct st_sql_batch *b, int q, int row, int col, size_t *len)
{
    const struct st__sql_q *r = result_q(b, q);
    if (!r || row < 0 || row >= r->rows || col < 0 || col >= r->cols)
        return NULL;
    if (r->pg) {
        if (PQgetisnull(r->pg, row, col))
            return NULL;
        if (len)
            *len = (size_t)PQgetlength(r->pg, row, col);
        return PQgetvalue(r->pg, row, col);
    }
    const struct st__sql_cell *c = &b->cells.items[r->first_cell + (size_t)row * (size_t)r->cols + (size_t)col];
    if (c->null)
        return NULL;
    if (len)
        *len = c->len;
    return b->rdata.data + c->off;
}

bool st_sql_result_is_null(const struct st_sql_batch *b, int q, int row, int col)
{
    return cell(b, q, row, col, NULL) == NULL;
}

int64_t st_sql_result_int64(const struct st_sql_batch *b, int q, int row, int col)
{
    return st__sql_text_int64(cell(b, q, row, col, NULL));
}

double st_sql_result_double(const struct st_sql_batch *b, int q, int row, int col)
{
    return st__sql_text_double(cell(b, q, row, col, NULL));
}

const char *st_sql_result_text(const struct st_sql_batch *b, int q, int row, int col, size_t *len)
{
    size_t n = 0;
    const char *s = cell(b, q, row, col, &n);
    if (len)
        *len = s ? n : 0;
    return s ? s : "";
}
