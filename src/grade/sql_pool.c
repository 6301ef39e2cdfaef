/*
 * sql_pool.c - the grader of Q111 (connection pooling): the learner's HTTP server runs
 * against a PostgreSQL database the grader creates for the run, with a pool size the
 * grader picks, and the grader watches the server's side of the pool in pg_stat_activity.
 *
 *   strata grade Q111 --db postgres://postgres@HOST:PORT/postgres \
 *                     --cmd "PROGRAM {port} {db} {pool}"
 *
 * --db names a database the grader may CREATE DATABASE from; {db} becomes the URL of a
 * fresh database strata_q111_<random> (dropped after the run, WITH (FORCE)), so the
 * connection counts see only the app's connections, and {pool} a size from 2 to 6. The
 * checks (curriculum Q111 `checks:`) use raw blocking sockets for the app's requests:
 * they need 40 at once, and they judge status codes, not HTTP details.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/time.h"
#include "grade/internal.h"
#include "sql/sql.h"

#define Q111_REUSE_REQUESTS 100
#define Q111_BURST 40 /* concurrent /sleep requests */
#define Q111_BURST_SLEEP_MS 200
#define Q111_RECOVER_MS 3000 /* after pg_terminate_backend, requests must succeed within this */
#define Q111_RECOVER_OK 5    /* consecutive successes that count as recovered */
#define Q111_SAMPLE_MS 20    /* pg_stat_activity sampling period under load */
#define Q111_BODY_MAX 4096

struct q111 {
    struct st_sql_db *admin;   /* on --db: creates, watches and drops the run's database */
    struct st_sql_stmt *count; /* the app's connections now */
    char name[64];             /* strata_q111_xxxxxxxx */
    char url[1024];            /* {db} */
    int pool;                  /* {pool} */
};

/* ---- the run's database ---- */

static void q111_free(void *arg)
{
    struct q111 *q = arg;
    st_sql_finalize(q->count);
    if (q->admin && q->name[0]) {
        char sql[160];
        struct st_error err = { 0 };
        /* FORCE: a server that ignored SIGTERM may still hold connections */
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", q->name);
        (void)st_sql_exec(q->admin, sql, &err);
    }
    st_sql_close(q->admin);
    free(q);
}

/* url with its path (the database name) replaced by name, keeping user, host and options. */
static int url_with_db(const char *url, const char *name, char *out, size_t cap)
{
    const char *auth = strstr(url, "://");
    if (!auth)
        return -EINVAL;
    const char *path = strchr(auth + 3, '/');
    const char *query = strchr(auth + 3, '?');
    if (query && path && path > query)
        path = NULL;
    size_t head = path ? (size_t)(path - url) : query ? (size_t)(query - url) : strlen(url);
    int n = snprintf(out, cap, "%.*s/%s%s", (int)head, url, name, query ? query : "");
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Before the program starts: create the database and pick the pool size (g->db_*). */
static int q111_prepare(struct st_grade *g)
{
    struct q111 *q = st_xcalloc(1, sizeof *q);
    g->state = q;
    g->state_free = q111_free;
    struct st_error err = { 0 };
    if (st_sql_open(g->db_admin, &q->admin, &err)) {
        g_log(g, "FAIL start: cannot connect to --db %s: %s\n", g->db_admin, err.msg);
        return -ECONNREFUSED;
    }
    /* the name is not drawn from the seed: two runs with one seed must not collide */
    uint64_t r = st_time_mono_ns() ^ ((uint64_t)getpid() << 20);
    snprintf(q->name, sizeof q->name, "strata_q111_%08llx", (unsigned long long)(r & 0xffffffffu));
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", q->name);
    if (st_sql_exec(q->admin, sql, &err)) {
        g_log(g, "FAIL start: cannot create the database %s: %s\n", q->name, err.msg);
        q->name[0] = '\0';
        return -EACCES;
    }
    if (url_with_db(g->db_admin, q->name, q->url, sizeof q->url) ||
        st_sql_prepare(q->admin,
                       "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'",
                       &q->count, &err)) {
        g_log(g, "FAIL start: %s\n", err.msg[0] ? err.msg : "--db is not a postgres:// URL");
        return -EINVAL;
    }
    st_sql_bind_text(q->count, 1, q->name, strlen(q->name));
    q->pool = (int)g_range(g, 2, 6);
    g->db_url = q->url;
    g->pool = q->pool;
    g_log(g, "database: %s   pool: %d\n", q->name, q->pool);
    return 0;
}

/* The app's connections now, or -1 after g_fail. */
static int64_t app_conns(struct st_grade *g)
{
    struct q111 *q = g->state;
    struct st_error err = { 0 };
    int rc = st_sql_step(q->count, &err);
    int64_t n = rc == 1 ? st_sql_column_int64(q->count, 0) : -1;
    st_sql_reset(q->count);
    if (n < 0)
        g_fail(g, "the grader could not read pg_stat_activity: %s", err.msg);
    return n;
}

/* ---- one request on its own connection (thread-safe, no g_fail) ---- */

struct hit {
    int port;
    const char *path;
    int timeout_ms;
    int status;     /* 0: no HTTP answer */
    int64_t pid;    /* from the body ({"pid": N} or N), 0 if none */
    char what[160]; /* the transport error, for reports */
};

static int64_t body_pid(const char *body)
{
    const char *p = strstr(body, "\"pid\"");
    p = p ? strchr(p, ':') : body;
    if (!p)
        return 0;
    if (*p == ':')
        p++;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return strtoll(p, NULL, 10);
}

static void hit_run(struct hit *h)
{
    h->status = 0;
    h->pid = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(h->what, sizeof h->what, "socket: %s", strerror(errno));
        return;
    }
    struct timeval tv = { .tv_sec = h->timeout_ms / 1000, .tv_usec = (suseconds_t)(h->timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)h->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    char req[256], resp[Q111_BODY_MAX + 1];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", h->path,
                     h->port);
    size_t got = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 || write(fd, req, (size_t)n) != n) {
        snprintf(h->what, sizeof h->what, "cannot send %s: %s", h->path, strerror(errno));
        close(fd);
        return;
    }
    for (;;) { /* Connection: close: the answer ends at EOF */
        ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == sizeof resp - 1)
            break;
    }
    close(fd);
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &h->status) != 1) {
        snprintf(h->what, sizeof h->what, "no HTTP answer to %s within %d ms", h->path, h->timeout_ms);
        h->status = 0;
        return;
    }
    const char *body = strstr(resp, "\r\n\r\n");
    h->pid = body ? body_pid(body + 4) : 0;
}

static int target_port(struct st_grade *g)
{
    const char *c = strrchr(g->target, ':');
    return c ? atoi(c + 1) : 0;
}

/* ---- checks ---- */

static bool seen(const int64_t *pids, int n, int64_t pid)
{
    for (int i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

static bool check_reuse(struct st_grade *g)
{
    struct q111 *q = g->state;
    int64_t pids[Q111_REUSE_REQUESTS];
    int distinct = 0;
    struct hit h = { .port = target_port(g), .path = "/pid", .timeout_ms = 5000 };
    for (int i = 0; i < Q111_REUSE_REQUESTS; i++) {
        hit_run(&h);
        if (h.status != 200 || h.pid <= 0)
            return g_fail(g, "request %d: GET /pid answered %d%s (want 200 with the backend pid)", i + 1, h.status,
                          h.status ? "" : h.what);
        if (!seen(pids, distinct, h.pid))
            pids[distinct++] = h.pid;
        if (distinct > q->pool)
            return g_fail(g,
                          "after %d sequential GET /pid, %d distinct backend pids with --pool %d: connections "
                          "are not reused",
                          i + 1, distinct, q->pool);
        int64_t n = i % 10 == 9 ? app_conns(g) : 0;
        if (n < 0)
            return false;
        if (n > q->pool)
            return g_fail(g, "pg_stat_activity shows %lld connections from the app (--pool %d)", (long long)n, q->pool);
    }
    int64_t now = app_conns(g);
    if (now < 0)
        return false;
    if (now == 0)
        return g_fail(g, "after 100 requests the app holds no connection: nothing is pooled");
    g_log(g, "      %d distinct pids over %d requests, %lld connections open\n", distinct, Q111_REUSE_REQUESTS,
          (long long)now);
    return true;
}

static void *hit_thread(void *arg)
{
    hit_run(arg);
    return NULL;
}

static bool check_bounded(struct st_grade *g)
{
    struct q111 *q = g->state;
    int64_t want_ms = (int64_t)((Q111_BURST + q->pool - 1) / q->pool) * Q111_BURST_SLEEP_MS;
    struct hit hs[Q111_BURST];
    pthread_t th[Q111_BURST];
    char path[32];
    snprintf(path, sizeof path, "/sleep?ms=%d", Q111_BURST_SLEEP_MS);
    int64_t t0 = st_time_mono_ms();
    int started = 0;
    for (; started < Q111_BURST; started++) {
        hs[started] = (struct hit){ .port = target_port(g), .path = path, .timeout_ms = (int)want_ms * 2 + 5000 };
        if (pthread_create(&th[started], NULL, hit_thread, &hs[started]))
            break;
    }
    int64_t peak = 0, samples = 0;
    bool sampling_ok = true;
    /* sample until the slowest request should be done, then join */
    while (sampling_ok && st_time_mono_ms() - t0 < want_ms) {
        int64_t n = app_conns(g);
        sampling_ok = n >= 0;
        peak = n > peak ? n : peak;
        samples++;
        st_time_sleep_ms(Q111_SAMPLE_MS);
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    int64_t took = st_time_mono_ms() - t0;
    if (!sampling_ok)
        return false;
    if (started < Q111_BURST)
        return g_fail(g, "the grader could not start %d threads", Q111_BURST);
    for (int i = 0; i < Q111_BURST; i++)
        if (hs[i].status != 200)
            return g_fail(g,
                          "%s (one of %d at once) answered %d%s%s: queue requests for a connection instead of "
                          "failing them",
                          path, Q111_BURST, hs[i].status, hs[i].status ? "" : " - ", hs[i].status ? "" : hs[i].what);
    if (peak > q->pool)
        return g_fail(g, "under %d concurrent requests the app held %lld connections (--pool %d)", Q111_BURST,
                      (long long)peak, q->pool);
    if (took * 10 < want_ms * 8)
        return g_fail(g,
                      "%d requests of %d ms with --pool %d took %lld ms: with at most %d at a time they need %lld "
                      "ms (80%% allowed)",
                      Q111_BURST, Q111_BURST_SLEEP_MS, q->pool, (long long)took, q->pool, (long long)want_ms);
    g_log(g, "      %d requests in %lld ms (at least %lld), at most %lld connections over %lld samples\n", Q111_BURST,
          (long long)took, (long long)want_ms, (long long)peak, (long long)samples);
    return true;
}

/* pg_terminate_backend on every connection of the app; how many, or -1 after g_fail. */
static int terminate_all(struct st_grade *g, int64_t *pids, int cap)
{
    struct q111 *q = g->state;
    struct st_sql_stmt *st = NULL;
    struct st_error err = { 0 };
    int n = 0, rc = st_sql_prepare(q->admin,
                                   "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND "
                                   "backend_type = 'client backend'",
                                   &st, &err);
    if (!rc)
        st_sql_bind_text(st, 1, q->name, strlen(q->name));
    if (!rc)
        while ((rc = st_sql_step(st, &err)) == 1)
            if (n < cap)
                pids[n++] = st_sql_column_int64(st, 0);
    st_sql_finalize(st);
    if (rc) {
        g_fail(g, "the grader could not terminate the app's connections: %s", err.msg);
        return -1;
    }
    return n;
}

static bool check_recovery(struct st_grade *g)
{
    struct q111 *q = g->state;
    struct hit h = { .port = target_port(g), .path = "/pid", .timeout_ms = 2000 };
    for (int i = 0; i < 2 * q->pool; i++) { /* warm: the pool holds at least one connection */
        hit_run(&h);
        if (h.status != 200)
            return g_fail(g, "before the test, GET /pid answered %d%s", h.status, h.status ? "" : h.what);
    }
    int64_t dead[64];
    int k = terminate_all(g, dead, 64);
    if (k < 0)
        return false;
    if (k == 0)
        return g_fail(g, "the app held no connection after serving requests: nothing to terminate");
    int64_t t0 = st_time_mono_ms();
    int failed = 0, ok = 0, sent = 0;
    while (ok < Q111_RECOVER_OK && st_time_mono_ms() - t0 < Q111_RECOVER_MS) {
        h.timeout_ms = (int)(Q111_RECOVER_MS - (st_time_mono_ms() - t0)) + 1;
        hit_run(&h);
        sent++;
        if (h.status == 200 && h.pid > 0 && !seen(dead, k, h.pid)) {
            ok++;
            continue;
        }
        if (h.status == 200) /* a terminated backend cannot answer: the pid is made up */
            return g_fail(g, "GET /pid answered pid %lld, a backend the grader had terminated", (long long)h.pid);
        ok = 0;
        if (++failed > k)
            return g_fail(g,
                          "after pg_terminate_backend on %d connection(s), %d requests failed (last: %d%s%s); at "
                          "most %d may fail, one per terminated connection",
                          k, failed, h.status, h.status ? "" : " - ", h.status ? "" : h.what, k);
    }
    if (ok < Q111_RECOVER_OK)
        return g_fail(g,
                      "%d ms after pg_terminate_backend on %d connection(s), %d requests gave only %d successes "
                      "in a row (want %d)",
                      Q111_RECOVER_MS, k, sent, ok, Q111_RECOVER_OK);
    int64_t n = app_conns(g);
    if (n < 0)
        return false;
    if (n > q->pool)
        return g_fail(g, "after recovering the app holds %lld connections (--pool %d)", (long long)n, q->pool);
    g_log(g, "      %d connection(s) terminated, %d request(s) failed, recovered in %lld ms\n", k, failed,
          (long long)(st_time_mono_ms() - t0));
    return true;
}

int st__grade_db_check(const struct st_grade_run_opts *o, const struct st_grader *gr, struct st_error *err)
{
    if (!o->db)
        return st_error_set(err, ST_EUSAGE,
                            "Q%d needs --db postgres://USER@HOST:PORT/DB (a database the grader can CREATE DATABASE "
                            "from)",
                            gr->question);
    enum st_sql_backend be = 0;
    struct st_error uerr = { 0 };
    if (st_sql_url_parse(o->db, &be, NULL, &uerr) || be != ST_SQL_POSTGRES)
        return st_error_set(err, ST_EUSAGE, "Q%d: --db must be a postgres:// URL", gr->question);
    if (o->cmd && (!strstr(o->cmd, "{db}") || !strstr(o->cmd, "{pool}")))
        return st_error_set(err, ST_EUSAGE, "Q%d needs {db} and {pool} in --cmd (with {port})", gr->question);
    return 0;
}

static const struct st_grade_check q111_checks[] = {
    { "reuse: 100 sequential GET /pid use at most {pool} backends", check_reuse },
    { "bounded: 40 concurrent GET /sleep?ms=200 all succeed, queue, and never exceed {pool} connections",
      check_bounded },
    { "recovery: after pg_terminate_backend, at most one failure per killed connection, then success within 3 s",
      check_recovery },
    { NULL, NULL },
};

const struct st_grader st__grade_q111 = { "q111", 111, ST_GRADE_NEEDS_CMD | ST_GRADE_NEEDS_DB, q111_prepare,
                                          q111_checks };
