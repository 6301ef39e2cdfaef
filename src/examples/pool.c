/*
 * pool.c - `strata example pool`: Q111's reference, an HTTP app whose routes make a
 * PostgreSQL connection pool visible (src/sql's st_sql_pool; no pool code of its own).
 *
 *   GET /pid         {"pid": N}: the backend pid of the pooled connection that served it
 *   GET /sleep?ms=M  holds a connection for M ms (pg_sleep), then {"pid": N, "ms": M}
 *   GET /stats       the pool's counters as JSON (size, in_use, waiting, acquired, ...)
 *
 * One event loop serves every request and owns one pool of --pool connections, so the
 * app never holds more than that many connections however many requests arrive: the
 * 41st concurrent /sleep waits in the pool's first-come-first-served queue instead of
 * opening a connection. A connection the server kills (pg_terminate_backend, a restart)
 * fails the one batch that was using it; the pool discards it and connects again on the
 * next demand, so the app recovers without a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/flags.h"
#include "base/log.h"
#include "examples/examples.h"
#include "http/app.h"
#include "http/url.h"
#include "io/io.h"
#include "lab/cli.h"
#include "sql/sql.h"

#define SLEEP_MAX_MS 10000 /* a request may hold a connection this long at most */

struct pool_app {
    const char *url;
    int size;
    char host[256]; /* for the "listening on" line */
    struct st_http_app app;
    struct st_http_config cfg;
    /* while serving (one loop) */
    int fd;
    struct st_io_loop *loop;
    struct st_sql_pool *pool;
    struct st_http_server *server;
    struct st_io_signals sig;
    bool stopping;
};

/* ---- routes ---- */

static void db_failed(struct st_http_ex *x, struct st_sql_batch *b, int status)
{
    const struct st_error *e = st_sql_batch_error(b);
    st_log_warn("pool: query failed", ST_LOG_STR("error", e && e->msg[0] ? e->msg : st_sql_strerror(status)));
    /* a timeout means every connection stayed busy for acquire_timeout_ms: overloaded */
    st_http_problem(x, status == ST_SQL_TIMEOUT ? 503 : 500,
                    status == ST_SQL_TIMEOUT ? "no database connection became free in time"
                                             : "the database could not answer");
    st_sql_batch_free(b);
}

static void pid_done(struct st_sql_batch *b, int status, void *arg)
{
    struct st_http_ex *x = arg;
    if (status) {
        db_failed(x, b, status);
        return;
    }
    json_int_t pid = (json_int_t)st_sql_result_int64(b, 0, 0, 0);
    st_sql_batch_free(b);
    st_http_reply_json(x, 200, json_pack("{s:I}", "pid", pid));
}

static void pid_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct pool_app *p = data;
    struct st_sql_batch *b = st_sql_batch_new(p->pool);
    st_sql_batch_query(b, "SELECT pg_backend_pid()");
    st_http_async(x);
    st_sql_batch_submit(b, NULL, pid_done, x);
}

struct sleep_req {
    struct st_http_ex *x;
    int64_t ms;
};

static void sleep_done(struct st_sql_batch *b, int status, void *arg)
{
    struct sleep_req *r = arg;
    if (status) {
        db_failed(r->x, b, status);
        return;
    }
    json_int_t pid = (json_int_t)st_sql_result_int64(b, 0, 0, 0);
    st_sql_batch_free(b);
    st_http_reply_json(r->x, 200, json_pack("{s:I, s:I}", "pid", pid, "ms", (json_int_t)r->ms));
}

/* ms from the query string: 0..SLEEP_MAX_MS, or -1 when absent or not a number. */
static int64_t sleep_ms(struct st_http_ex *x)
{
    struct st_str v;
    if (st_http_query_get(x->req->query, "ms", x->arena, &v) || v.len == 0 || v.len > 5)
        return -1;
    int64_t ms = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        ms = ms * 10 + (v.ptr[i] - '0');
    }
    return ms <= SLEEP_MAX_MS ? ms : -1;
}

static void sleep_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct pool_app *p = data;
    int64_t ms = sleep_ms(x);
    if (ms < 0) {
        st_http_problem(x, 400, "ms must be a whole number of milliseconds from 0 to 10000");
        return;
    }
    struct sleep_req *r = st_arena_zalloc(x->arena, sizeof *r);
    *r = (struct sleep_req){ .x = x, .ms = ms };
    struct st_sql_batch *b = st_sql_batch_new(p->pool);
    /* the pid comes from the same statement, so the answer names the connection held */
    st_sql_batch_query(b, "SELECT pg_backend_pid() FROM (SELECT pg_sleep($1)) AS s");
    st_sql_batch_double(b, (double)ms / 1000.0);
    st_http_async(x);
    st_sql_batch_submit(b, NULL, sleep_done, r);
}

static void stats_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct pool_app *p = data;
    struct st_sql_pool_stats s = { 0 };
    st_sql_pool_stats_add(p->pool, &s);
    json_t *o =
        json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "max_size", p->size, "size",
                  (json_int_t)s.size, "in_use", (json_int_t)s.in_use, "waiting", (json_int_t)s.waiting, "acquired",
                  (json_int_t)s.acquired, "acquire_wait_ms", (json_int_t)(s.acquire_wait_ns / 1000000),
                  "acquire_timeouts", (json_int_t)s.acquire_timeouts, "errors", (json_int_t)s.errors, "connects",
                  (json_int_t)s.connects, "connect_failures", (json_int_t)s.connect_failures, "discarded",
                  (json_int_t)s.discarded, "queries", (json_int_t)s.queries);
    st_http_reply_json(x, 200, o);
}

/* ---- serving: one loop with the server and the pool ---- */

static void drained(void *arg)
{
    struct pool_app *p = arg;
    /* no exchange is left, so no batch is running: the pool can go, on its loop */
    st_sql_pool_free(p->pool);
    p->pool = NULL;
    st_io_loop_stop(p->loop);
}

static void on_stop(struct st_io_signals *sig, int signo)
{
    struct pool_app *p = sig->data;
    if (p->stopping) { /* a second signal: stop now */
        st_io_workers_stop(p->loop);
        return;
    }
    p->stopping = true;
    st_log_info("pool: draining", ST_LOG_INT("signal", signo));
    st_http_server_drain(p->server, drained, p);
}

static void on_reload(struct st_io_signals *sig)
{
    (void)sig;
    st_example_on_reload(NULL);
}

static void teardown(struct st_io_loop *loop, int index, void *arg)
{
    (void)index;
    struct pool_app *p = arg;
    if (p->sig.data)
        st_io_signals_close(loop, &p->sig);
    st_sql_pool_free(p->pool); /* NULL after a drain; else waiters fail with ST_SQL_CONNECTION */
    p->pool = NULL;
    if (p->server)
        st_http_server_free(p->server);
    p->server = NULL;
}

static int setup(struct st_io_loop *loop, int index, void *arg)
{
    struct pool_app *p = arg;
    p->loop = loop;
    /* a short acquire timeout would turn queueing into errors: a burst of 40 requests of
     * 200 ms on 2 connections waits 4 s */
    struct st_sql_pool_opts po = { .url = p->url, .max_size = p->size, .acquire_timeout_ms = 30000, .name = "pool" };
    struct st_error err = { 0 };
    int rc = st_sql_pool_new(loop, &po, &p->pool, &err);
    if (!rc)
        rc = st_http_server_new(loop, p->fd, &p->cfg, index, &p->server);
    if (!rc)
        rc = st_io_signals_open(loop, &p->sig, on_stop, on_reload, p);
    if (rc) {
        st_log_error("pool: setup failed", ST_LOG_STR("error", err.msg[0] ? err.msg : st_strerror(rc)));
        teardown(loop, index, p); /* teardown does not run after a failed setup */
    }
    return rc;
}

static int serve(struct pool_app *p, const char *listen, struct st_error *err)
{
    int rc = 0;
    rc = rc ? rc : st_http_app_use(&p->app, st_http_mw_request_id());
    rc = rc ? rc : st_http_app_use(&p->app, st_http_mw_access_log());
    rc = rc ? rc : st_http_app_route(&p->app, "GET", "/pid", pid_get, p);
    rc = rc ? rc : st_http_app_route(&p->app, "GET", "/sleep", sleep_get, p);
    rc = rc ? rc : st_http_app_route(&p->app, "GET", "/stats", stats_get, p);
    rc = rc ? rc : st_http_app_builtins(&p->app, NULL);
    if (rc)
        return st_error_set(err, ST_EINTERNAL, "pool: cannot register the routes");
    p->cfg.handler = st_http_app_handler;
    p->cfg.data = &p->app;
    rc = st_io_signals_block();
    if (rc)
        return st_error_set(err, rc, "block signals: %s", st_strerror(rc));
    rc = st_io_listen(listen, 4096, 0, &p->fd, err);
    if (rc)
        return rc;
    int port = 0;
    rc = st_io_local_port(p->fd, &port);
    if (rc) {
        close(p->fd);
        return st_error_set(err, rc, "listen on %s: %s", listen, st_strerror(rc));
    }
    st_example_print_ready(port, p->host);
    /* one loop: every request shares the one pool, so --pool bounds the whole app */
    rc = st_io_run_workers(1, setup, teardown, p);
    close(p->fd);
    if (rc)
        return st_error_set(err, rc, "start the loop: %s", rc < 0 ? st_strerror(rc) : "setup failed");
    return 0;
}

int st_example_pool(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8084", *url = NULL;
    int64_t size = 4;
    const struct st_flag flags[] = {
        { "listen", 'l', ST_FLAG_STR, &listen, "HOST:PORT", "address to listen on (port 0: any free port)", 0, 0,
          NULL },
        { "db", 0, ST_FLAG_STR, &url, "URL", "PostgreSQL: postgres://USER@HOST:PORT/DB (required)", 0, 0, NULL },
        { "pool", 'p', ST_FLAG_INT, &size, "N", "connections at most", 1, 1000, NULL },
        { NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL },
    };
    const struct st_flags_spec spec = {
        "strata example pool --db URL [FLAGS]",
        "Q111's reference: GET /pid (the backend pid that served it), GET /sleep?ms=M (holds a connection M ms) "
        "and GET /stats (the pool's counters), on a PostgreSQL pool of at most --pool connections.",
        flags,
        "Example: strata example pool --listen 127.0.0.1:8084 --db postgres://app@127.0.0.1:5432/app --pool 4\n"
        "Grade it: strata grade Q111 --db postgres://postgres@127.0.0.1:5432/postgres \\\n"
        "            --cmd \"strata example pool --listen 127.0.0.1:{port} --db {db} --pool {pool}\"\n",
    };
    int nargs = 0;
    int rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: unexpected argument '%s' (see 'strata example pool --help')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    enum st_sql_backend be = 0;
    struct st_error err = { 0 };
    if (!url || st_sql_url_parse(url, &be, NULL, &err) || be != ST_SQL_POSTGRES) {
        fprintf(stderr, "strata: example pool needs --db postgres://... (pg_backend_pid is PostgreSQL's)\n");
        return ST_EXIT_USAGE;
    }
    struct pool_app *p = st_xcalloc(1, sizeof *p);
    p->url = url;
    p->size = (int)size;
    p->fd = -1;
    const char *colon = strrchr(listen, ':');
    snprintf(p->host, sizeof p->host, "%.*s", (int)(colon ? colon - listen : 0), listen);
    st_http_app_init(&p->app);
    rc = serve(p, listen, &err) ? st_cli_fail(&err) : ST_EXIT_OK;
    st_http_app_release(&p->app);
    free(p);
    return rc;
}
