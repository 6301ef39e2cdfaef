/*
 * test_sql_async.c - the asynchronous API on a real st_io loop, against SQLite (pool
 * threads) and PostgreSQL 15 (non-blocking libpq, pipeline mode): batches and their
 * results, atomic batches, interactive transactions on an acquired connection, the pool's
 * FIFO and acquire timeout, concurrency bounded by max_size, prepared-once statements,
 * injection attempts as parameters, metrics, and reconnecting after `pg_ctl restart`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/time.h"
#include "io/io.h"
#include "sql/sql.h"
#include "pgtest.h"

static void setup_schema(struct backend *b, const char *sql)
{
    struct st_sql_db *db;
    struct st_error err = { 0 };
    assert_int_equal(st_sql_open(b->url, &db, &err), 0);
    int rc = st_sql_exec(db, sql, &err);
    if (rc)
        print_message("# %s\n", err.msg);
    assert_int_equal(rc, 0);
    st_sql_close(db);
}

struct env {
    struct st_io_loop *loop;
    struct st_sql_pool *pool;
};

static void env_open(struct env *e, struct backend *b, int max_size, int timeout_ms)
{
    assert_int_equal(st_io_loop_new(&e->loop), 0);
    struct st_sql_pool_opts o = {
        .url = b->url, .max_size = max_size, .acquire_timeout_ms = timeout_ms, .name = "test"
    };
    struct st_error err = { 0 };
    assert_int_equal(st_sql_pool_new(e->loop, &o, &e->pool, &err), 0);
}

static void env_close(struct env *e)
{
    st_sql_pool_free(e->pool);
    st_io_loop_run_once(e->loop, 0);
    st_io_loop_free(e->loop);
}

/* Run the loop until *flag reaches want (or 15 s pass: a failure). */
static void run_until(struct env *e, const int *flag, int want)
{
    int64_t deadline = st_time_mono_ms() + 15000;
    while (*flag < want) {
        assert_true(st_time_mono_ms() < deadline);
        st_io_loop_run_once(e->loop, 50);
    }
}

struct result {
    int done;
    int status;
    char msg[512];
};

static void on_done(struct st_sql_batch *b, int status, void *arg)
{
    struct result *r = arg;
    r->status = status;
    snprintf(r->msg, sizeof(r->msg), "%s", st_sql_batch_error(b)->msg);
    r->done++;
}

/* Submit b and wait for it. */
static int run_batch(struct env *e, struct st_sql_batch *b, struct st_sql_conn *conn, struct result *r)
{
    memset(r, 0, sizeof(*r));
    st_sql_batch_submit(b, conn, on_done, r);
    assert_int_equal(r->done, 0); /* never inside submit */
    run_until(e, &r->done, 1);
    if (r->status)
        print_message("# batch: %d %s\n", r->status, r->msg);
    return r->status;
}

static void test_batch_results(void **state)
{
    struct backend *b = *state;
    fresh(b);
    setup_schema(b, "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL, label TEXT)");
    struct env e;
    env_open(&e, b, 4, 2000);
    struct result r;
    struct st_sql_batch *w = st_sql_batch_new(e.pool);
    for (int i = 1; i <= 20; i++) {
        st_sql_batch_query(w, "INSERT INTO world (id, randomnumber, label) VALUES ($1, $2, $3)");
        st_sql_batch_int64(w, i);
        st_sql_batch_int64(w, i * 10);
        if (i % 5)
            st_sql_batch_text(w, "it's <b>", 8);
        else
            st_sql_batch_null(w);
    }
    assert_int_equal(run_batch(&e, w, NULL, &r), 0);
    assert_int_equal(st_sql_batch_queries(w), 20);
    assert_int_equal(st_sql_result_changes(w, 0), 1);
    st_sql_batch_free(w);

    struct st_sql_batch *q = st_sql_batch_new(e.pool);
    int q0 = st_sql_batch_query(q, "SELECT id, randomnumber, label FROM world WHERE id = $1");
    st_sql_batch_int64(q, 5);
    int q1 = st_sql_batch_query(q, "SELECT id, randomnumber, label FROM world WHERE id = $1");
    st_sql_batch_int64(q, 7);
    int q2 = st_sql_batch_query(q, "SELECT COUNT(*), SUM(randomnumber), CAST($1 AS DOUBLE PRECISION) FROM world");
    st_sql_batch_double(q, 0.25);
    int q3 = st_sql_batch_query(q, "UPDATE world SET randomnumber = randomnumber + 1 WHERE id <= $1");
    st_sql_batch_int64(q, 3);
    assert_int_equal(run_batch(&e, q, NULL, &r), 0);
    assert_int_equal(st_sql_result_rows(q, q0), 1);
    assert_int_equal(st_sql_result_columns(q, q0), 3);
    assert_int_equal(st_sql_result_int64(q, q0, 0, 1), 50);
    assert_true(st_sql_result_is_null(q, q0, 0, 2));
    size_t len;
    assert_string_equal(st_sql_result_text(q, q1, 0, 2, &len), "it's <b>");
    assert_int_equal(len, 8);
    assert_int_equal(st_sql_result_int64(q, q2, 0, 0), 20);
    assert_int_equal(st_sql_result_int64(q, q2, 0, 1), 2100);
    assert_true(st_sql_result_double(q, q2, 0, 2) == 0.25);
    assert_int_equal(st_sql_result_changes(q, q3), 3);
    assert_int_equal(st_sql_result_rows(q, q3), 0);
    /* Out of range reads are harmless. */
    assert_true(st_sql_result_is_null(q, 9, 0, 0));
    assert_int_equal(st_sql_result_rows(q, -1), 0);
    assert_string_equal(st_sql_result_text(q, q0, 5, 0, NULL), "");
    st_sql_batch_free(q);
    env_close(&e);
    cleanup(b);
}

/* Pipeline mode: 500 queries in one batch (TechEmpower's /queries at its maximum). */
static void test_pipeline_batch(void **state)
{
    struct backend *b = *state;
    fresh(b);
    setup_schema(b, "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL)");
    struct env e;
    env_open(&e, b, 1, 2000);
    struct result r;
    struct st_sql_batch *w = st_sql_batch_new(e.pool);
    st_sql_batch_query(w, "INSERT INTO world SELECT x, x * 3 FROM generate_series(1, 1000) AS g(x)");
    if (b->be == ST_SQL_SQLITE) { /* SQLite has no generate_series by default */
        st_sql_batch_free(w);
        w = st_sql_batch_new(e.pool);
        st_sql_batch_query(w, "WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 1000) "
                              "INSERT INTO world SELECT x, x * 3 FROM g");
    }
    assert_int_equal(run_batch(&e, w, NULL, &r), 0);
    assert_int_equal(st_sql_result_changes(w, 0), 1000);
    st_sql_batch_free(w);
    for (int round = 0; round < 3; round++) {
        struct st_sql_batch *q = st_sql_batch_new(e.pool);
        for (int i = 0; i < 500; i++) {
            st_sql_batch_query(q, "SELECT id, randomnumber FROM world WHERE id = $1");
            st_sql_batch_int64(q, (i * 7 + round) % 1000 + 1);
        }
        int64_t t0 = st_time_mono_ns();
        assert_int_equal(run_batch(&e, q, NULL, &r), 0);
        int64_t t1 = st_time_mono_ns();
        for (int i = 0; i < 500; i++) {
            int64_t id = (i * 7 + round) % 1000 + 1;
            assert_int_equal(st_sql_result_int64(q, i, 0, 0), id);
            assert_int_equal(st_sql_result_int64(q, i, 0, 1), id * 3);
        }
        print_message("# %s: 500 queries in one batch: %.2f ms\n", b->name, (double)(t1 - t0) / 1e6);
        st_sql_batch_free(q);
    }
    if (b->be == ST_SQL_POSTGRES) { /* prepared once per connection, not once per query */
        struct st_sql_batch *q = st_sql_batch_new(e.pool);
        st_sql_batch_query(q, "SELECT COUNT(*) FROM pg_prepared_statements");
        assert_int_equal(run_batch(&e, q, NULL, &r), 0);
        int64_t n = st_sql_result_int64(q, 0, 0, 0);
        assert_true(n >= 2 && n <= 4);
        st_sql_batch_free(q);
    }
    struct st_sql_pool_stats s = { 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.connects, 1);
    assert_int_equal(s.queries, 1 + 1500 + (b->be == ST_SQL_POSTGRES));
    env_close(&e);
    cleanup(b);
}

static void test_batch_atomic(void **state)
{
    struct backend *b = *state;
    fresh(b);
    setup_schema(b, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL);"
                    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id));"
                    "INSERT INTO users VALUES (1, 'a@x')");
    struct env e;
    env_open(&e, b, 2, 2000);
    struct result r;
    struct st_sql_batch *w = st_sql_batch_new(e.pool);
    st_sql_batch_query(w, "INSERT INTO users VALUES ($1, $2)");
    st_sql_batch_int64(w, 2);
    st_sql_batch_text(w, "b@x", 3);
    st_sql_batch_query(w, "INSERT INTO users VALUES ($1, $2)");
    st_sql_batch_int64(w, 3);
    st_sql_batch_text(w, "a@x", 3); /* duplicate email */
    st_sql_batch_query(w, "INSERT INTO users VALUES (4, 'd@x')");
    assert_int_equal(run_batch(&e, w, NULL, &r), ST_SQL_UNIQUE);
    assert_int_equal(st_sql_batch_error(w)->code, ST_SQL_UNIQUE);
    st_sql_batch_free(w);
    w = st_sql_batch_new(e.pool);
    st_sql_batch_query(w, "INSERT INTO posts VALUES (1, 42)");
    assert_int_equal(run_batch(&e, w, NULL, &r), ST_SQL_FOREIGN_KEY);
    st_sql_batch_free(w);
    w = st_sql_batch_new(e.pool);
    st_sql_batch_query(w, "SELECT COUNT(*) FROM users");
    st_sql_batch_query(w, "SELECT bogus FROM users");
    assert_int_equal(run_batch(&e, w, NULL, &r), ST_SQL_OTHER);
    assert_true(strstr(r.msg, "bogus") != NULL);
    st_sql_batch_free(w);
    /* Wrong parameter counts are reported, and the connection stays usable. */
    w = st_sql_batch_new(e.pool);
    st_sql_batch_query(w, "SELECT id FROM users WHERE id = $1 AND email = $2");
    st_sql_batch_int64(w, 1);
    assert_int_equal(run_batch(&e, w, NULL, &r), ST_SQL_OTHER);
    st_sql_batch_free(w);
    w = st_sql_batch_new(e.pool);
    st_sql_batch_int64(w, 1); /* before any query */
    st_sql_batch_query(w, "SELECT 1");
    assert_int_equal(run_batch(&e, w, NULL, &r), ST_SQL_OTHER);
    st_sql_batch_free(w);
    /* Only the first row exists: the failed batch left nothing. */
    w = st_sql_batch_new(e.pool);
    st_sql_batch_query(w, "SELECT COUNT(*) FROM users");
    assert_int_equal(run_batch(&e, w, NULL, &r), 0);
    assert_int_equal(st_sql_result_int64(w, 0, 0, 0), 1);
    st_sql_batch_free(w);
    struct st_sql_pool_stats s = { 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.errors, 5);
    assert_int_equal(s.in_use, 0);
    env_close(&e);
    cleanup(b);
}

/* Independent queries (st_sql_batch_independent): a failure in the middle neither undoes
 * the queries before it nor skips the ones after it, and results come back in order. */
static void test_batch_independent(void **state)
{
    struct backend *b = *state;
    fresh(b);
    setup_schema(b, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL);"
                    "INSERT INTO users VALUES (1, 'a@x')");
    struct env e;
    env_open(&e, b, 2, 2000);
    struct result r;
    struct st_sql_batch *w = st_sql_batch_new(e.pool);
    st_sql_batch_independent(w);
    st_sql_batch_query(w, "INSERT INTO users VALUES (2, 'b@x')");
    st_sql_batch_query(w, "INSERT INTO users VALUES (3, 'a@x')"); /* duplicate email */
    st_sql_batch_query(w, "INSERT INTO users VALUES (4, 'd@x')");
    st_sql_batch_query(w, "SELECT COUNT(*) FROM users");
    assert_int_equal(run_batch(&e, w, NULL, &r), ST_SQL_UNIQUE);
    assert_int_equal(st_sql_result_int64(w, 3, 0, 0), 3); /* 1, 2 and 4 */
    st_sql_batch_free(w);
    /* the connection is clean afterwards: a normal batch runs */
    w = st_sql_batch_new(e.pool);
    st_sql_batch_independent(w);
    for (int i = 1; i <= 4; i++) {
        st_sql_batch_query(w, "SELECT id FROM users WHERE id = $1");
        st_sql_batch_int64(w, i);
    }
    assert_int_equal(run_batch(&e, w, NULL, &r), 0);
    assert_int_equal(st_sql_result_rows(w, 0), 1);
    assert_int_equal(st_sql_result_rows(w, 2), 0);
    assert_int_equal(st_sql_result_int64(w, 3, 0, 0), 4);
    st_sql_batch_free(w);
    env_close(&e);
    cleanup(b);
}

static void test_injection_async(void **state)
{
    struct backend *b = *state;
    fresh(b);
    setup_schema(b, "CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)");
    struct env e;
    env_open(&e, b, 1, 2000);
    struct result r;
    const char *evil = "'); DROP TABLE fortune; SELECT ('";
    struct st_sql_batch *w = st_sql_batch_new(e.pool);
    st_sql_batch_query(w, "INSERT INTO fortune VALUES (1, $1)");
    st_sql_batch_text(w, evil, strlen(evil));
    st_sql_batch_query(w, "SELECT message FROM fortune WHERE message = $1");
    st_sql_batch_text(w, evil, strlen(evil));
    st_sql_batch_query(w, "SELECT COUNT(*) FROM fortune WHERE id = CAST($1 AS INTEGER) OR message = $2");
    st_sql_batch_int64(w, 99);
    st_sql_batch_text(w, "' OR '1'='1", 11);
    assert_int_equal(run_batch(&e, w, NULL, &r), 0);
    assert_string_equal(st_sql_result_text(w, 1, 0, 0, NULL), evil);
    assert_int_equal(st_sql_result_int64(w, 2, 0, 0), 0);
    st_sql_batch_free(w);
    env_close(&e);
    cleanup(b);
}

/* ---- the pool ---- */

struct acq {
    struct st_sql_conn *conn;
    int status;
    int order;
    int *counter;
};

static void on_acquire(struct st_sql_conn *conn, int status, void *arg)
{
    struct acq *a = arg;
    a->conn = conn;
    a->status = status;
    a->order = ++*a->counter;
}

static void test_acquire_timeout_fifo(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct env e;
    env_open(&e, b, 1, 200);
    int counter = 0;
    struct acq first = { .counter = &counter }, w1 = { .counter = &counter }, w2 = { .counter = &counter };
    st_sql_pool_acquire(e.pool, on_acquire, &first);
    assert_int_equal(counter, 0);
    run_until(&e, &counter, 1);
    assert_int_equal(first.status, 0);
    assert_non_null(first.conn);
    /* The only connection is out: a waiter gives up after 200 ms. */
    int64_t t0 = st_time_mono_ms();
    st_sql_pool_acquire(e.pool, on_acquire, &w1);
    run_until(&e, &counter, 2);
    int64_t waited = st_time_mono_ms() - t0;
    assert_int_equal(w1.status, ST_SQL_TIMEOUT);
    assert_null(w1.conn);
    assert_true(waited >= 190 && waited < 2000);
    /* A batch waits as well, and times out with a message. */
    struct st_sql_batch *q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "SELECT 1");
    struct result r;
    assert_int_equal(run_batch(&e, q, NULL, &r), ST_SQL_TIMEOUT);
    assert_true(strstr(r.msg, "no connection free") != NULL);
    st_sql_batch_free(q);
    struct st_sql_pool_stats s = { 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.acquire_timeouts, 2);
    assert_int_equal(s.in_use, 1);
    assert_int_equal(s.size, 1);
    /* Waiters are served first come, first served. */
    st_sql_pool_acquire(e.pool, on_acquire, &w1);
    st_sql_pool_acquire(e.pool, on_acquire, &w2);
    st_io_loop_run_once(e.loop, 0);
    s = (struct st_sql_pool_stats){ 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.waiting, 2);
    struct st_buf m;
    st_buf_init(&m, 1 << 16);
    assert_int_equal(st_sql_metrics_render(st_sql_pool_name(e.pool), &s, &m), 0);
    assert_non_null(strstr(m.data, "strata_sql_pool_waiting{pool=\"test\"} 2\n"));
    assert_non_null(strstr(m.data, "strata_sql_pool_acquire_timeouts_total{pool=\"test\"} 2\n"));
    assert_non_null(strstr(m.data, "# TYPE strata_sql_pool_connections gauge\n"));
    st_buf_release(&m);
    int before = counter;
    st_sql_pool_release(first.conn);
    run_until(&e, &counter, before + 1);
    assert_int_equal(w1.status, 0);
    assert_int_equal(w1.order, before + 1);
    st_sql_pool_release(w1.conn);
    run_until(&e, &counter, before + 2);
    assert_int_equal(w2.status, 0);
    st_sql_pool_release(w2.conn);
    env_close(&e);
    cleanup(b);
}

/* An interactive transaction: BEGIN, work, ROLLBACK in separate batches on one connection. */
static void test_interactive_transaction(void **state)
{
    struct backend *b = *state;
    fresh(b);
    setup_schema(b, "CREATE TABLE t (v INTEGER)");
    struct env e;
    env_open(&e, b, 2, 2000);
    int counter = 0;
    struct acq a = { .counter = &counter };
    st_sql_pool_acquire(e.pool, on_acquire, &a);
    run_until(&e, &counter, 1);
    assert_int_equal(a.status, 0);
    struct result r;
    const char *steps[] = { "BEGIN",
                            "INSERT INTO t VALUES (1)",
                            "INSERT INTO t VALUES (2)",
                            "ROLLBACK",
                            "BEGIN",
                            "INSERT INTO t VALUES (3)",
                            "COMMIT" };
    for (int i = 0; i < 7; i++) {
        struct st_sql_batch *q = st_sql_batch_new(e.pool);
        st_sql_batch_query(q, steps[i]);
        assert_int_equal(run_batch(&e, q, a.conn, &r), 0);
        st_sql_batch_free(q);
    }
    /* One batch at a time on a connection. */
    struct st_sql_batch *q1 = st_sql_batch_new(e.pool), *q2 = st_sql_batch_new(e.pool);
    st_sql_batch_query(q1, "SELECT SUM(v) FROM t");
    st_sql_batch_query(q2, "SELECT 1");
    struct result r1 = { 0 }, r2 = { 0 };
    st_sql_batch_submit(q1, a.conn, on_done, &r1);
    st_sql_batch_submit(q2, a.conn, on_done, &r2);
    run_until(&e, &r1.done, 1);
    run_until(&e, &r2.done, 1);
    assert_int_equal(r1.status, 0);
    assert_int_equal(st_sql_result_int64(q1, 0, 0, 0), 3);
    assert_int_equal(r2.status, ST_SQL_OTHER);
    st_sql_batch_free(q1);
    st_sql_batch_free(q2);
    /* Released inside a transaction: the connection is not handed out again. */
    struct st_sql_batch *q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "BEGIN");
    assert_int_equal(run_batch(&e, q, a.conn, &r), 0);
    st_sql_batch_free(q);
    st_sql_pool_release(a.conn);
    struct st_sql_pool_stats s = { 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.discarded, 1);
    assert_int_equal(s.size, 0);
    env_close(&e);
    cleanup(b);
}

/* 64 batches at once through a pool of 4: all complete, never more than 4 connections. */
static void test_concurrency(void **state)
{
    struct backend *b = *state;
    fresh(b);
    setup_schema(b, "CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER)");
    struct env e;
    env_open(&e, b, 4, 10000);
    enum { N = 64 };
    struct st_sql_batch *q[N];
    struct result r[N];
    int done = 0;
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N; i++) {
        q[i] = st_sql_batch_new(e.pool);
        st_sql_batch_query(q[i], "INSERT INTO c VALUES ($1, $2)");
        st_sql_batch_int64(q[i], i);
        st_sql_batch_int64(q[i], i * i);
        st_sql_batch_query(q[i], "SELECT n FROM c WHERE id = $1");
        st_sql_batch_int64(q[i], i);
        st_sql_batch_submit(q[i], NULL, on_done, &r[i]);
    }
    int64_t max_size = 0;
    int64_t deadline = st_time_mono_ms() + 20000;
    while (done < N) {
        assert_true(st_time_mono_ms() < deadline);
        st_io_loop_run_once(e.loop, 50);
        struct st_sql_pool_stats s = { 0 };
        st_sql_pool_stats_add(e.pool, &s);
        if (s.size > max_size)
            max_size = s.size;
        done = 0;
        for (int i = 0; i < N; i++)
            done += r[i].done;
    }
    for (int i = 0; i < N; i++) {
        if (r[i].status)
            print_message("# %d: %s\n", i, r[i].msg);
        assert_int_equal(r[i].status, 0);
        assert_int_equal(st_sql_result_int64(q[i], 1, 0, 0), i * i);
        st_sql_batch_free(q[i]);
    }
    assert_true(max_size >= 1 && max_size <= 4);
    struct st_sql_pool_stats s = { 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.acquired, N);
    assert_int_equal(s.in_use, 0);
    assert_int_equal(s.waiting, 0);
    env_close(&e);
    cleanup(b);
}

/* In-memory SQLite in a pool: its connections share one database (memdb). */
static void test_memory_pool(void **state)
{
    (void)state;
    struct backend m = { "memory", ST_SQL_SQLITE, "sqlite::memory:" };
    struct env e;
    env_open(&e, &m, 2, 2000);
    struct result r;
    struct st_sql_batch *q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "CREATE TABLE t (v INTEGER)");
    st_sql_batch_query(q, "INSERT INTO t VALUES (41)");
    assert_int_equal(run_batch(&e, q, NULL, &r), 0);
    st_sql_batch_free(q);
    int counter = 0;
    struct acq a1 = { .counter = &counter }, a2 = { .counter = &counter };
    st_sql_pool_acquire(e.pool, on_acquire, &a1);
    st_sql_pool_acquire(e.pool, on_acquire, &a2);
    run_until(&e, &counter, 2);
    assert_true(a1.conn != a2.conn);
    q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "SELECT v + 1 FROM t");
    assert_int_equal(run_batch(&e, q, a2.conn, &r), 0);
    assert_int_equal(st_sql_result_int64(q, 0, 0, 0), 42);
    st_sql_batch_free(q);
    st_sql_pool_release(a1.conn);
    st_sql_pool_release(a2.conn);
    env_close(&e);
}

/* ---- PostgreSQL going away ---- */

static void test_pg_restart_reconnect(void **state)
{
    (void)state;
    struct backend *b = &pg;
    fresh(b);
    struct env e;
    env_open(&e, b, 2, 3000);
    struct result r;
    struct st_sql_batch *q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "SELECT pg_backend_pid()");
    assert_int_equal(run_batch(&e, q, NULL, &r), 0);
    int64_t pid1 = st_sql_result_int64(q, 0, 0, 0);
    st_sql_batch_free(q);
    assert_int_equal(pg_ctl("restart"), 0);
    /* The idle connection hears the server go (57P01, then EOF) and is dropped. */
    for (int i = 0; i < 20; i++)
        st_io_loop_run_once(e.loop, 10);
    struct st_sql_pool_stats s = { 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.discarded, 1);
    assert_int_equal(s.size, 0);
    q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "SELECT pg_backend_pid()");
    assert_int_equal(run_batch(&e, q, NULL, &r), 0);
    assert_true(st_sql_result_int64(q, 0, 0, 0) != pid1);
    st_sql_batch_free(q);
    /* Stopped server: a batch fails fast with ST_SQL_CONNECTION; started again, it works. */
    assert_int_equal(pg_ctl("restart"), 0);
    s = (struct st_sql_pool_stats){ 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_true(s.connects == 2);
    env_close(&e);

    struct backend down = { "down", ST_SQL_POSTGRES, "postgres://strata@127.0.0.1:25438/strata" };
    env_open(&e, &down, 2, 3000);
    q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "SELECT 1");
    assert_int_equal(run_batch(&e, q, NULL, &r), ST_SQL_CONNECTION);
    assert_true(strstr(r.msg, "postgres") != NULL);
    st_sql_batch_free(q);
    s = (struct st_sql_pool_stats){ 0 };
    st_sql_pool_stats_add(e.pool, &s);
    assert_int_equal(s.connect_failures, 1);
    assert_int_equal(s.size, 0);
    env_close(&e);
}

/* A batch in flight when the server dies fails with ST_SQL_CONNECTION, not a hang. */
static void test_pg_killed_mid_batch(void **state)
{
    (void)state;
    struct backend *b = &pg;
    fresh(b);
    struct env e;
    env_open(&e, b, 2, 3000);
    struct result r;
    struct st_sql_batch *q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "SELECT pg_sleep(5)");
    memset(&r, 0, sizeof(r));
    st_sql_batch_submit(q, NULL, on_done, &r);
    struct st_sql_db *db;
    struct st_error err;
    assert_int_equal(st_sql_open(b->url, &db, &err), 0);
    struct st_sql_stmt *st;
    assert_int_equal(st_sql_prepare(db,
                                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
                                    "'SELECT pg_sleep%' AND pid <> pg_backend_pid()",
                                    &st, &err),
                     0);
    int killed = 0;
    for (int i = 0; i < 300 && !killed; i++) { /* until the query runs on the server */
        st_io_loop_run_once(e.loop, 10);
        st_sql_reset(st);
        killed = st_sql_step(st, &err) == 1;
    }
    assert_true(killed);
    st_sql_finalize(st);
    st_sql_close(db);
    run_until(&e, &r.done, 1);
    print_message("# %s\n", r.msg);
    assert_int_equal(r.status, ST_SQL_CONNECTION);
    st_sql_batch_free(q);
    /* The pool goes on with a new connection. */
    q = st_sql_batch_new(e.pool);
    st_sql_batch_query(q, "SELECT 2");
    assert_int_equal(run_batch(&e, q, NULL, &r), 0);
    st_sql_batch_free(q);
    env_close(&e);
}

/* Run the loop until the pool has n connections running batches (a failure after 10 s). */
static void until_in_use(struct env *e, int n)
{
    int64_t deadline = st_time_mono_ms() + 10000;
    struct st_sql_pool_stats s = { 0 };
    while (s.in_use < n) {
        assert_true(st_time_mono_ms() < deadline);
        st_io_loop_run_once(e->loop, 10);
        memset(&s, 0, sizeof s);
        st_sql_pool_stats_add(e->pool, &s);
    }
}

static struct st_sql_batch *sleeper(struct env *e, struct result *r, const char *sql)
{
    struct st_sql_batch *q = st_sql_batch_new(e->pool);
    st_sql_batch_query(q, sql);
    memset(r, 0, sizeof *r);
    st_sql_batch_submit(q, NULL, on_done, r);
    return q;
}

/* Two 5 s sleepers on the pool's two connections, then n batches that join their pipelines. */
static void behind_sleepers(struct env *e, struct st_sql_batch **s0, struct result *r0, struct st_sql_batch **s1,
                            struct result *r1, struct st_sql_batch **q, struct result *r, int n)
{
    *s0 = sleeper(e, r0, "SELECT pg_sleep(5)");
    *s1 = sleeper(e, r1, "SELECT pg_sleep(5)");
    until_in_use(e, 2);
    for (int i = 0; i < n; i++) {
        q[i] = st_sql_batch_new(e->pool);
        st_sql_batch_query(q[i], "SELECT $1::int");
        st_sql_batch_int64(q[i], i);
        memset(&r[i], 0, sizeof r[i]);
        st_sql_batch_submit(q[i], NULL, on_done, &r[i]);
    }
}

/*
 * With every connection busy and none to open, batches join a busy connection's pipeline
 * instead of waiting: each is still its own transaction (a failing one rolls back alone,
 * its neighbours commit), results go to the right batch in order, no acquisition is
 * counted for them; a connection that breaks fails every batch in its pipeline, and the
 * pool goes on.
 */
static void test_pg_pipelined_batches(void **state)
{
    (void)state;
    struct backend *b = &pg;
    fresh(b);
    setup_schema(b, "CREATE TABLE p (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    struct env e;
    env_open(&e, b, 2, 5000);
    struct result r0, r1;
    struct st_sql_batch *s0 = sleeper(&e, &r0, "SELECT pg_sleep(0.3)");
    struct st_sql_batch *s1 = sleeper(&e, &r1, "SELECT pg_sleep(0.3)");
    until_in_use(&e, 2); /* both connections busy: the next batches pipeline */
    enum { N = 20, BAD = 7 };
    struct st_sql_batch *q[N];
    struct result r[N];
    memset(r, 0, sizeof r);
    for (int i = 0; i < N; i++) {
        q[i] = st_sql_batch_new(e.pool);
        st_sql_batch_query(q[i], "INSERT INTO p VALUES ($1, $2)");
        st_sql_batch_int64(q[i], i);
        st_sql_batch_int64(q[i], i * 3);
        st_sql_batch_query(q[i], i == BAD ? "SELECT 1 / ($1::int - $1::int)"
                                          : "SELECT n, pg_backend_pid() FROM p WHERE id = $1");
        st_sql_batch_int64(q[i], i);
        st_sql_batch_submit(q[i], NULL, on_done, &r[i]);
    }
    struct st_sql_pool_stats st = { 0 };
    st_sql_pool_stats_add(e.pool, &st);
    assert_int_equal(st.waiting, 0); /* nobody queued: they joined */
    for (int i = 0; i < N; i++)
        run_until(&e, &r[i].done, 1);
    run_until(&e, &r0.done, 1);
    run_until(&e, &r1.done, 1);
    int64_t pids[2] = { 0, 0 };
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        if (i == BAD) {
            print_message("# %s\n", r[i].msg);
            assert_int_equal(r[i].status, ST_SQL_OTHER);
            assert_non_null(strstr(r[i].msg, "division by zero"));
            continue;
        }
        assert_int_equal(r[i].status, 0);
        assert_int_equal(st_sql_result_int64(q[i], 1, 0, 0), i * 3);
        int64_t pid = st_sql_result_int64(q[i], 1, 0, 1);
        if (!pids[0] || pids[0] == pid)
            pids[0] = pid;
        else if (!pids[1] || pids[1] == pid)
            pids[1] = pid;
        else
            fail_msg("batch %d ran on a third connection", i);
    }
    for (int i = 0; i < N; i++)
        st_sql_batch_free(q[i]);
    st_sql_batch_free(s0);
    st_sql_batch_free(s1);
    memset(&st, 0, sizeof st);
    st_sql_pool_stats_add(e.pool, &st);
    assert_int_equal(st.acquired, 2); /* the two sleepers; the others joined */
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.size, 2);
    /* the failed batch left nothing; its neighbours committed */
    struct result r2;
    struct st_sql_batch *c = st_sql_batch_new(e.pool);
    st_sql_batch_query(c, "SELECT count(*), sum(CASE WHEN id = $1 THEN 1 ELSE 0 END) FROM p");
    st_sql_batch_int64(c, BAD);
    assert_int_equal(run_batch(&e, c, NULL, &r2), 0);
    assert_int_equal(st_sql_result_int64(c, 0, 0, 0), N - 1);
    assert_int_equal(st_sql_result_int64(c, 0, 0, 1), 0);
    st_sql_batch_free(c);

    /* a connection killed under a pipeline: its batches all fail, the pool goes on */
    behind_sleepers(&e, &s0, &r0, &s1, &r1, q, r, 4);
    struct st_sql_db *db;
    struct st_error err;
    assert_int_equal(st_sql_open(b->url, &db, &err), 0);
    assert_int_equal(st_sql_exec(db,
                                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE "
                                 "'SELECT pg_sleep%' AND pid <> pg_backend_pid()",
                                 &err),
                     0);
    st_sql_close(db);
    run_until(&e, &r0.done, 1);
    run_until(&e, &r1.done, 1);
    for (int i = 0; i < 4; i++) {
        run_until(&e, &r[i].done, 1);
        assert_int_equal(r[i].status, ST_SQL_CONNECTION);
        st_sql_batch_free(q[i]);
    }
    assert_int_equal(r0.status, ST_SQL_CONNECTION);
    assert_int_equal(r1.status, ST_SQL_CONNECTION);
    st_sql_batch_free(s0);
    st_sql_batch_free(s1);
    c = st_sql_batch_new(e.pool);
    st_sql_batch_query(c, "SELECT 2");
    assert_int_equal(run_batch(&e, c, NULL, &r2), 0);
    st_sql_batch_free(c);

    /* the pool freed under a pipeline: every batch fails once, after the free */
    behind_sleepers(&e, &s0, &r0, &s1, &r1, q, r, 4);
    st_sql_pool_free(e.pool);
    e.pool = NULL;
    for (int i = 0; i < 4; i++) {
        run_until(&e, &r[i].done, 1);
        assert_int_equal(r[i].status, ST_SQL_CONNECTION);
        assert_non_null(strstr(r[i].msg, "the pool was freed while the batch ran"));
        st_sql_batch_free(q[i]);
    }
    run_until(&e, &r0.done, 1);
    run_until(&e, &r1.done, 1);
    st_sql_batch_free(s0);
    st_sql_batch_free(s1);
    env_close(&e);
    cleanup(b);
}

static int setup_pg(void **state)
{
    (void)state;
    return pg_start(25433) ? -1 : 0;
}

static int teardown_pg(void **state)
{
    (void)state;
    pg_stop();
    return 0;
}

/*
 * Freeing the pool while batches run (on its 2 connections) and wait (2 more): every done
 * still runs exactly once, after the free, with ST_SQL_CONNECTION and a message saying why;
 * nothing leaks (ASan) and the loop can be freed after. SQLite's running batches finish
 * on their threads first; PostgreSQL's are abandoned mid-query.
 */
static void test_free_in_flight(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct env e;
    env_open(&e, b, 2, 10000);
    enum { N = 4 };
    struct st_sql_batch *q[N];
    struct result r[N];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < N; i++) {
        q[i] = st_sql_batch_new(e.pool);
        if (b->be == ST_SQL_SQLITE) /* a few hundred ms of work on a pool thread */
            st_sql_batch_query(q[i], "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
                                     "2000000) SELECT count(*) FROM c");
        else
            st_sql_batch_query(q[i], "SELECT pg_sleep(5)");
        st_sql_batch_submit(q[i], NULL, on_done, &r[i]);
    }
    /* run until both connections are busy and two batches wait */
    int64_t deadline = st_time_mono_ms() + 10000;
    struct st_sql_pool_stats s = { 0 };
    while (s.in_use < 2 || s.waiting < 2) {
        assert_true(st_time_mono_ms() < deadline);
        st_io_loop_run_once(e.loop, 10);
        memset(&s, 0, sizeof s);
        st_sql_pool_stats_add(e.pool, &s);
    }
    int64_t t0 = st_time_mono_ms();
    st_sql_pool_free(e.pool);
    e.pool = NULL;
    for (int i = 0; i < N; i++)
        assert_int_equal(r[i].done, 0); /* never inside st_sql_pool_free */
    int done = 0;
    deadline = st_time_mono_ms() + 10000;
    while (done < N) {
        assert_true(st_time_mono_ms() < deadline);
        st_io_loop_run_once(e.loop, 50);
        done = 0;
        for (int i = 0; i < N; i++)
            done += r[i].done;
    }
    if (b->be == ST_SQL_POSTGRES) /* not waiting for pg_sleep(5) */
        assert_true(st_time_mono_ms() - t0 < 3000);
    for (int i = 0; i < N; i++) {
        assert_int_equal(r[i].done, 1);
        assert_int_equal(r[i].status, ST_SQL_CONNECTION);
        if (i < 2)
            assert_non_null(strstr(r[i].msg, "the pool was freed while the batch ran"));
        else
            assert_non_null(strstr(r[i].msg, "shutting down"));
        st_sql_batch_free(q[i]);
    }
    env_close(&e);
    cleanup(b);
}

#define BOTH(fn) cmocka_unit_test_prestate(fn, &lite), cmocka_unit_test_prestate(fn, &pg)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_batch_results),
        BOTH(test_pipeline_batch),
        BOTH(test_batch_atomic),
        BOTH(test_batch_independent),
        BOTH(test_injection_async),
        BOTH(test_acquire_timeout_fifo),
        BOTH(test_interactive_transaction),
        BOTH(test_concurrency),
        BOTH(test_free_in_flight),
        cmocka_unit_test(test_memory_pool),
        cmocka_unit_test(test_pg_restart_reconnect),
        cmocka_unit_test(test_pg_killed_mid_batch),
        cmocka_unit_test(test_pg_pipelined_batches),
    };
    return cmocka_run_group_tests(tests, setup_pg, teardown_pg);
}
