/*
 * tfb.c - the TechEmpower database test types of `strata example bench --db URL` (tfb.h):
 * /db, /queries, /fortunes, /updates and /cached-queries on the SQL layer's asynchronous
 * API, one connection pool per worker loop.
 *
 * Every query goes through a batch (sql.h): on PostgreSQL a batch is one pipeline, so the
 * N lookups of /queries?queries=N cost one round trip. The lookups are independent
 * statements, each with its own Sync (st_sql_batch_independent): pipelined, not coalesced
 * into one transaction, as TechEmpower's rules require. /updates costs two (the reads,
 * then one UPDATE ... FROM (VALUES ...) for every row, which TechEmpower permits). JSON
 * and HTML are written straight into the response buffer: the shapes are fixed, and the
 * only text that needs escaping is a fortune's message. The per-request state lives in the
 * exchange's arena; the batch is the one allocation per request (one per read with
 * query_each, which sends each read as its own batch and transaction).
 *
 * A pool belongs to one loop: st_http_serve's worker hooks make each worker's pool when it
 * starts and free it once its server has drained, while the loop still runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "examples/tfb.h"
#include "http/url.h"
#include "io/io.h"

#define UPDATE_ATTEMPTS 3 /* a deadlock between two concurrent batched UPDATEs is retried */

static const char SQL_WORLD[] = "SELECT id, randomnumber FROM world WHERE id = $1";
static const char SQL_FORTUNES[] = "SELECT id, message FROM fortune";
#define EXTRA_FORTUNE "Additional fortune added at request time."

/* Portable to both backends: multi-row VALUES, no backend-specific types or functions. */
const struct st_sql_migration st_tfb_migrations[] = {
    { 1, "world_and_fortune",
      "CREATE TABLE world (id integer NOT NULL PRIMARY KEY, randomnumber integer NOT NULL DEFAULT 0);\n"
      "CREATE TABLE fortune (id integer NOT NULL PRIMARY KEY, message varchar(2048) NOT NULL);\n"
      "INSERT INTO fortune (id, message) VALUES\n"
      " (1, 'fortune: No such file or directory'),\n"
      " (2, 'A computer scientist is someone who fixes things that aren''t broken.'),\n"
      " (3, 'After enough decimal places, nobody gives a damn.'),\n"
      " (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),\n"
      " (5, 'A computer program does what you tell it to do, not what you want it to do.'),\n"
      " (6, 'Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen'),\n"
      " (7, 'Any program that runs right is obsolete.'),\n"
      " (8, 'A list is only as strong as its weakest link. \u2014 Donald Knuth'),\n"
      " (9, 'Feature: A bug with seniority.'),\n"
      " (10, 'Computers make very fast, very accurate mistakes.'),\n"
      " (11, '<script>alert(\"This should not be displayed in a browser alert box.\");</script>'),\n"
      " (12, '\u30D5\u30EC\u30FC\u30E0\u30EF\u30FC\u30AF\u306E\u30D9\u30F3\u30C1\u30DE\u30FC\u30AF');\n",
      "DROP TABLE fortune;\nDROP TABLE world;\n" },
    { 0, NULL, NULL, NULL },
};

/* One per worker loop; only that loop's thread touches it (other workers' /metrics read
 * its pool's counters). */
struct tfb_worker {
    struct st_tfb *t;
    struct st_sql_pool *pool; /* NULL once the worker stopped */
    struct st_sql_rng rng;
    char *update_sql[ST_TFB_MAX_QUERIES + 1]; /* the UPDATE for k distinct rows, built on first use */
    int32_t cache[ST_TFB_WORLD_ROWS + 1];     /* randomNumber by id, for /cached-queries */
};

struct st_tfb {
    char *url;
    int pool_size;
    bool query_each;                      /* one batch (one transaction) per read instead of one per request */
    int32_t world[ST_TFB_WORLD_ROWS + 1]; /* World as read at startup; copied per worker */
    /* while serving */
    struct tfb_worker **w; /* by worker index; published by the worker once set up */
    int n;
};

struct tfb_row {
    int32_t id;
    int32_t rn;
};

enum tfb_kind { TFB_DB, TFB_QUERIES, TFB_UPDATES };

/* One request in flight, in the exchange's arena (valid until the response is sent). */
struct tfb_req {
    struct st_http_ex *x;
    struct tfb_worker *w;
    enum tfb_kind kind;
    int n;                /* rows asked for */
    struct tfb_row *rows; /* n */
    struct tfb_row *uniq; /* /updates: the distinct ids with their final value, ascending */
    int nuniq;
    int attempts;
    int pending; /* query_each: reads not back yet */
    int status;  /* query_each: the first failure */
};

/* query_each: one read of a request, the done callback's argument. */
struct tfb_part {
    struct tfb_req *r;
    int i;
};

/* ---- the count parameter ------------------------------------------------------------- */

static int clamp_count(struct st_str v)
{
    struct st_str digits = v;
    bool neg = digits.len > 0 && digits.ptr[0] == '-';
    if (neg)
        digits = st_str_sub(digits, 1, digits.len);
    if (digits.len == 0)
        return 1;
    int64_t n = 0;
    for (size_t i = 0; i < digits.len; i++) {
        if (digits.ptr[i] < '0' || digits.ptr[i] > '9')
            return 1;
        if (n <= ST_TFB_MAX_QUERIES) /* stop growing: any longer number is past the cap */
            n = n * 10 + (digits.ptr[i] - '0');
    }
    if (neg || n < 1)
        return 1;
    return n > ST_TFB_MAX_QUERIES ? ST_TFB_MAX_QUERIES : (int)n;
}

int st_tfb_count(struct st_str query, const char *name, struct st_arena *a)
{
    struct st_str v;
    if (st_http_query_get(query, name, a, &v))
        return 1; /* absent, or not valid percent-encoding */
    return clamp_count(v);
}

/* ---- rendering ------------------------------------------------------------------------ */

/* Decimal digits of v at p; returns the end. */
static char *put_uint(char *p, uint32_t v)
{
    char tmp[10];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static void put_world(struct st_buf *out, const struct tfb_row *r)
{
    char tmp[64], *p = tmp;
    memcpy(p, "{\"id\":", 6);
    p = put_uint(p + 6, (uint32_t)r->id);
    memcpy(p, ",\"randomNumber\":", 16);
    p = put_uint(p + 16, (uint32_t)r->rn);
    *p++ = '}';
    (void)st_buf_append(out, tmp, (size_t)(p - tmp));
}

static void send_json(struct st_http_ex *x)
{
    x->status = 200;
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/json"));
    st_http_send(x);
}

/* /db answers an object, the others an array (also for one row). */
static void send_worlds(struct st_http_ex *x, const struct tfb_row *rows, int n, bool array)
{
    struct st_buf *out = st_http_body_buf(x);
    (void)st_buf_reserve(out, (size_t)n * 36 + 2);
    if (array)
        (void)st_buf_append_byte(out, '[');
    for (int i = 0; i < n; i++) {
        if (i)
            (void)st_buf_append_byte(out, ',');
        put_world(out, &rows[i]);
    }
    if (array)
        (void)st_buf_append_byte(out, ']');
    send_json(x);
}

/* HTML-escape s into out: the five characters that can change the meaning of markup. */
static void put_escaped(struct st_buf *out, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *rep;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        (void)st_buf_append(out, s + start, i - start);
        (void)st_buf_append_c(out, rep);
        start = i + 1;
    }
    (void)st_buf_append(out, s + start, len - start);
}

/* ---- failures -------------------------------------------------------------------------- */

/* 503 when no connection came in time (load shedding), 500 otherwise; frees b. */
static void fail(struct tfb_req *r, struct st_sql_batch *b, int status)
{
    const struct st_error *e = st_sql_batch_error(b);
    st_log_error("tfb: query failed", ST_LOG_SLICE("path", r->x->req->path),
                 ST_LOG_STR("error", e && e->msg[0] ? e->msg : st_sql_strerror(status)));
    st_sql_batch_free(b);
    st_http_problem(r->x, status == ST_SQL_TIMEOUT ? 503 : 500, st_sql_strerror(status));
}

/* ---- /db, /queries, /updates ----------------------------------------------------------- */

static void update_submit(struct tfb_req *r);

static int row_cmp(const void *a, const void *b)
{
    const struct tfb_row *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/*
 * Give every row a new randomNumber. A row drawn twice must end with one value, in the
 * database and in both places of the response, so the last draw wins everywhere; the
 * distinct rows go out in ascending id order, so concurrent UPDATEs lock rows in the same
 * order (no deadlock in the common plan).
 */
static void draw_updates(struct tfb_req *r)
{
    r->uniq = st_arena_alloc(r->x->arena, (size_t)r->n * sizeof *r->uniq);
    for (int i = 0; i < r->n; i++) {
        r->rows[i].rn = (int32_t)st_sql_rng_range(&r->w->rng, 1, ST_TFB_WORLD_ROWS);
        r->uniq[i] = r->rows[i];
    }
    /* last draw per id: walk backwards keeping the first id seen (unsorted, n <= 500) */
    int k = 0;
    for (int i = r->n - 1; i >= 0; i--) {
        bool seen = false;
        for (int j = 0; j < k && !seen; j++)
            seen = r->uniq[j].id == r->rows[i].id;
        if (!seen)
            r->uniq[k++] = r->rows[i];
    }
    r->nuniq = k;
    qsort(r->uniq, (size_t)k, sizeof *r->uniq, row_cmp);
    for (int i = 0; i < r->n; i++) {
        const struct tfb_row *u = bsearch(&r->rows[i], r->uniq, (size_t)k, sizeof *u, row_cmp);
        r->rows[i].rn = u->rn;
    }
}

/* Every row of r was read: answer, or go on to write them (/updates). */
static void rows_ready(struct tfb_req *r)
{
    if (r->kind == TFB_UPDATES) {
        draw_updates(r);
        r->attempts = 0;
        update_submit(r);
        return;
    }
    send_worlds(r->x, r->rows, r->n, r->kind != TFB_DB);
}

static void rows_done(struct st_sql_batch *b, int status, void *arg)
{
    struct tfb_req *r = arg;
    if (status) {
        fail(r, b, status);
        return;
    }
    for (int i = 0; i < r->n; i++) {
        if (st_sql_result_rows(b, i) != 1) {
            st_sql_batch_free(b);
            st_http_problem(r->x, 500, "a World row is missing");
            return;
        }
        r->rows[i].id = (int32_t)st_sql_result_int64(b, i, 0, 0);
        r->rows[i].rn = (int32_t)st_sql_result_int64(b, i, 0, 1);
    }
    st_sql_batch_free(b);
    rows_ready(r);
}

/* UPDATE world SET randomnumber = v.column2 FROM (VALUES ($1,$2), ...) AS v WHERE ...:
 * the text depends only on k, so it is prepared once per k and connection. */
static const char *update_sql(struct tfb_worker *w, int k)
{
    if (w->update_sql[k])
        return w->update_sql[k];
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    (void)st_buf_append_c(&b, "UPDATE world SET randomnumber = v.column2 FROM (VALUES ");
    for (int i = 0; i < k; i++)
        (void)st_buf_printf(&b, "%s(CAST($%d AS integer), CAST($%d AS integer))", i ? ", " : "", 2 * i + 1, 2 * i + 2);
    (void)st_buf_append_c(&b, ") AS v WHERE world.id = v.column1");
    w->update_sql[k] = st_buf_detach(&b, NULL);
    return w->update_sql[k];
}

static void update_done(struct st_sql_batch *b, int status, void *arg)
{
    struct tfb_req *r = arg;
    if (status && st_sql_retryable(status) && r->attempts < UPDATE_ATTEMPTS) {
        st_sql_batch_free(b);
        update_submit(r);
        return;
    }
    if (status) {
        fail(r, b, status);
        return;
    }
    st_sql_batch_free(b);
    send_worlds(r->x, r->rows, r->n, true);
}

static void update_submit(struct tfb_req *r)
{
    r->attempts++;
    struct st_sql_batch *b = st_sql_batch_new(r->w->pool);
    st_sql_batch_query(b, update_sql(r->w, r->nuniq));
    for (int i = 0; i < r->nuniq; i++) {
        st_sql_batch_int64(b, r->uniq[i].id);
        st_sql_batch_int64(b, r->uniq[i].rn);
    }
    st_sql_batch_submit(b, NULL, update_done, r);
}

/* query_each: one read came back; the last one answers (or fails with the first error). */
static void part_done(struct st_sql_batch *b, int status, void *arg)
{
    struct tfb_part *part = arg;
    struct tfb_req *r = part->r;
    if (!status && st_sql_result_rows(b, 0) != 1)
        status = ST_SQL_OTHER;
    if (status && !r->status) {
        const struct st_error *e = st_sql_batch_error(b);
        st_log_error("tfb: query failed", ST_LOG_SLICE("path", r->x->req->path),
                     ST_LOG_STR("error", e && e->msg[0] ? e->msg : "a World row is missing"));
        r->status = status;
    }
    if (!status) {
        r->rows[part->i].id = (int32_t)st_sql_result_int64(b, 0, 0, 0);
        r->rows[part->i].rn = (int32_t)st_sql_result_int64(b, 0, 0, 1);
    }
    st_sql_batch_free(b);
    if (--r->pending > 0)
        return;
    if (r->status)
        st_http_problem(r->x, r->status == ST_SQL_TIMEOUT ? 503 : 500, st_sql_strerror(r->status));
    else
        rows_ready(r);
}

/*
 * TechEmpower's strictest reading of its multi-query rule: each read is its own statement
 * in its own transaction. Each goes out as a batch of one; the pool spreads them over its
 * connections, so they still run concurrently.
 */
static void read_each(struct tfb_req *r)
{
    struct tfb_part *parts = st_arena_alloc(r->x->arena, (size_t)r->n * sizeof *parts);
    r->pending = r->n;
    for (int i = 0; i < r->n; i++) {
        parts[i] = (struct tfb_part){ r, i };
        struct st_sql_batch *b = st_sql_batch_new(r->w->pool);
        st_sql_batch_query(b, SQL_WORLD);
        st_sql_batch_int64(b, st_sql_rng_range(&r->w->rng, 1, ST_TFB_WORLD_ROWS));
        st_sql_batch_submit(b, NULL, part_done, &parts[i]);
    }
}

/* n lookups by random id in one batch (one pipeline on PostgreSQL), or n batches. */
static void read_worlds(struct st_http_ex *x, struct tfb_worker *w, enum tfb_kind kind, int n)
{
    struct tfb_req *r = st_arena_zalloc(x->arena, sizeof *r);
    *r = (struct tfb_req){ .x = x, .w = w, .kind = kind, .n = n };
    r->rows = st_arena_alloc(x->arena, (size_t)n * sizeof *r->rows);
    if (w->t->query_each && n > 1) {
        st_http_async(x);
        read_each(r);
        return;
    }
    struct st_sql_batch *b = st_sql_batch_new(w->pool);
    /* one round trip, but every read is its own statement with its own Sync: pipelined,
     * not coalesced into one transaction (TechEmpower's rule; sql.h) */
    st_sql_batch_independent(b);
    for (int i = 0; i < n; i++) {
        st_sql_batch_query(b, SQL_WORLD);
        st_sql_batch_int64(b, st_sql_rng_range(&w->rng, 1, ST_TFB_WORLD_ROWS));
    }
    st_http_async(x);
    st_sql_batch_submit(b, NULL, rows_done, r);
}

/* ---- /fortunes --------------------------------------------------------------------------- */

struct fortune {
    int64_t id;
    struct st_str msg;
};

/* Byte order of UTF-8 is code point order; no locale collation. */
static int fortune_cmp(const void *a, const void *b)
{
    const struct fortune *x = a, *y = b;
    return st_str_cmp(x->msg, y->msg);
}

static void render_fortunes(struct st_buf *out, const struct fortune *f, int n)
{
    (void)st_buf_append_c(out, "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
                               "<tr><th>id</th><th>message</th></tr>");
    for (int i = 0; i < n; i++) {
        (void)st_buf_printf(out, "<tr><td>%lld</td><td>", (long long)f[i].id);
        put_escaped(out, f[i].msg.ptr, f[i].msg.len);
        (void)st_buf_append_c(out, "</td></tr>");
    }
    (void)st_buf_append_c(out, "</table></body></html>");
}

static void fortunes_done(struct st_sql_batch *b, int status, void *arg)
{
    struct tfb_req *r = arg;
    if (status) {
        fail(r, b, status);
        return;
    }
    struct st_http_ex *x = r->x;
    int n = st_sql_result_rows(b, 0);
    struct fortune *f = st_arena_alloc(x->arena, (size_t)(n + 1) * sizeof *f);
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        const char *s = st_sql_result_text(b, 0, i, 1, &len);
        f[i] = (struct fortune){ st_sql_result_int64(b, 0, i, 0), st_str(s, len) };
    }
    f[n] = (struct fortune){ 0, ST_STR_LIT(EXTRA_FORTUNE) };
    qsort(f, (size_t)n + 1, sizeof *f, fortune_cmp);
    render_fortunes(st_http_body_buf(x), f, n + 1); /* copies the messages out of b */
    st_sql_batch_free(b);
    x->status = 200;
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("text/html; charset=utf-8"));
    st_http_send(x);
}

static void fortunes(struct st_http_ex *x, struct tfb_worker *w)
{
    struct tfb_req *r = st_arena_zalloc(x->arena, sizeof *r);
    *r = (struct tfb_req){ .x = x, .w = w, .kind = TFB_DB };
    struct st_sql_batch *b = st_sql_batch_new(w->pool);
    st_sql_batch_query(b, SQL_FORTUNES);
    st_http_async(x);
    st_sql_batch_submit(b, NULL, fortunes_done, r);
}

/* ---- /cached-queries ----------------------------------------------------------------------- */

static void cached(struct st_http_ex *x, struct tfb_worker *w, int n)
{
    struct tfb_row *rows = st_arena_alloc(x->arena, (size_t)n * sizeof *rows);
    for (int i = 0; i < n; i++) {
        int32_t id = (int32_t)st_sql_rng_range(&w->rng, 1, ST_TFB_WORLD_ROWS);
        rows[i] = (struct tfb_row){ id, w->cache[id] };
    }
    send_worlds(x, rows, n, true);
}

/* GET /metrics: the connection pools of every worker, summed, in the Prometheus format
 * (each pool's counters are written by its loop and read here with relaxed loads). */
static void metrics(struct st_http_ex *x, struct st_tfb *t)
{
    struct st_sql_pool_stats sum = { 0 };
    for (int i = 0; i < t->n; i++) {
        struct tfb_worker *w = __atomic_load_n(&t->w[i], __ATOMIC_ACQUIRE);
        struct st_sql_pool *pool = w ? __atomic_load_n(&w->pool, __ATOMIC_ACQUIRE) : NULL;
        if (pool)
            st_sql_pool_stats_add(pool, &sum);
    }
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    if (st_sql_metrics_render("tfb", &sum, &b))
        st_http_problem(x, 500, "metrics too large");
    else { /* the body is borrowed until sent: give it the exchange's lifetime */
        char *body = st_arena_alloc(x->arena, b.len + 1);
        memcpy(body, b.data, b.len);
        st_http_reply(x, 200, "text/plain; version=0.0.4", (struct st_str){ body, b.len });
    }
    st_buf_release(&b);
}

bool st_tfb_handle(struct st_tfb *t, struct st_http_ex *x)
{
    if (x->req->method_id != ST_HTTP_M_GET && x->req->method_id != ST_HTTP_M_HEAD)
        return false;
    struct tfb_worker *w = __atomic_load_n(&t->w[x->worker], __ATOMIC_ACQUIRE);
    struct st_str path = x->req->path, query = x->req->query;
    if (st_str_eq_c(path, "/db"))
        read_worlds(x, w, TFB_DB, 1);
    else if (st_str_eq_c(path, "/queries"))
        read_worlds(x, w, TFB_QUERIES, st_tfb_count(query, "queries", x->arena));
    else if (st_str_eq_c(path, "/updates"))
        read_worlds(x, w, TFB_UPDATES, st_tfb_count(query, "queries", x->arena));
    else if (st_str_eq_c(path, "/fortunes"))
        fortunes(x, w);
    else if (st_str_eq_c(path, "/cached-queries"))
        cached(x, w, st_tfb_count(query, "count", x->arena));
    else if (st_str_eq_c(path, "/metrics"))
        metrics(x, t);
    else
        return false;
    return true;
}

/* ---- preparing the database ------------------------------------------------------------- */

static void fill_world(int64_t row, struct st_sql_value *vals, void *arg)
{
    vals[0] = (struct st_sql_value){ .type = ST_SQL_INT, .i = row + 1 };
    vals[1] = (struct st_sql_value){ .type = ST_SQL_INT, .i = st_sql_rng_range(arg, 1, ST_TFB_WORLD_ROWS) };
}

/* One-row query returning an integer (count). */
static int query_int(struct st_sql_db *db, const char *sql, int64_t *v, struct st_error *err)
{
    struct st_sql_stmt *st = NULL;
    int rc = st_sql_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    rc = st_sql_step(st, err);
    if (rc == 1) {
        *v = st_sql_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = st_error_set(err, ST_SQL_OTHER, "%s: no row", sql);
    }
    st_sql_finalize(st);
    return rc;
}

static int seed_if_empty(struct st_sql_db *db, uint64_t seed, struct st_error *err)
{
    int64_t count = 0;
    int rc = query_int(db, "SELECT count(*) FROM world", &count, err);
    if (rc || count > 0)
        return rc;
    static const char *const cols[] = { "id", "randomnumber" };
    struct st_sql_rng rng;
    st_sql_rng_seed(&rng, seed);
    return st_sql_seed(db, "world", cols, 2, ST_TFB_WORLD_ROWS, fill_world, &rng, err);
}

/* World into t->world; every id 1..10000 must be there (the tests draw from that range). */
static int load_world(struct st_sql_db *db, struct st_tfb *t, struct st_error *err)
{
    struct st_sql_stmt *st = NULL;
    int rc = st_sql_prepare(db, "SELECT id, randomnumber FROM world", &st, err);
    if (rc)
        return rc;
    int found = 0;
    while ((rc = st_sql_step(st, err)) == 1) {
        int64_t id = st_sql_column_int64(st, 0);
        if (id >= 1 && id <= ST_TFB_WORLD_ROWS) { /* id is the primary key: no repeats */
            t->world[id] = (int32_t)st_sql_column_int64(st, 1);
            found++;
        }
    }
    st_sql_finalize(st);
    if (rc == 0 && found != ST_TFB_WORLD_ROWS)
        rc = st_error_set(err, ST_SQL_OTHER, "table world holds %d of the ids 1..%d (expected all)", found,
                          ST_TFB_WORLD_ROWS);
    return rc;
}

int st_tfb_open(const struct st_tfb_opts *o, struct st_tfb **out, struct st_error *err)
{
    struct st_sql_db *db = NULL;
    int rc = st_sql_open(o->url, &db, err);
    if (rc)
        return rc;
    struct st_tfb *t = st_xcalloc(1, sizeof *t);
    rc = st_sql_migrate_up(db, st_tfb_migrations, -1, NULL, err);
    if (!rc)
        rc = seed_if_empty(db, o->seed, err);
    if (!rc)
        rc = load_world(db, t, err);
    bool sqlite = st_sql_backend_of(db) == ST_SQL_SQLITE;
    st_sql_close(db);
    if (rc) {
        free(t);
        return rc;
    }
    t->url = st_xstrdup(o->url);
    /* SQLite runs each connection on a thread of its own: a few are plenty on two cores */
    t->pool_size = o->pool_size > 0 ? o->pool_size : sqlite ? 4 : 16;
    t->query_each = o->query_each;
    *out = t;
    return 0;
}

void st_tfb_free(struct st_tfb *t)
{
    if (!t)
        return;
    free(t->url);
    free(t);
}

/* ---- serving: st_http_serve, plus a pool per worker ------------------------------------ */

static uint64_t random_seed(int index)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s)
        s = (uint64_t)st_time_mono_ns();
    return s ^ ((uint64_t)index * 0x9E3779B97F4A7C15u);
}

/* st_http_serve's worker_start: the worker's pool, on its loop. */
static int worker_start(struct st_io_loop *loop, int index, void *arg)
{
    struct st_tfb *t = arg;
    struct tfb_worker *w = st_xcalloc(1, sizeof *w);
    w->t = t;
    memcpy(w->cache, t->world, sizeof w->cache);
    st_sql_rng_seed(&w->rng, random_seed(index));
    struct st_sql_pool_opts po = { .url = t->url, .max_size = t->pool_size, .name = "tfb" };
    struct st_error err = { 0 };
    int rc = st_sql_pool_new(loop, &po, &w->pool, &err);
    if (rc) {
        st_log_error("tfb: worker setup failed", ST_LOG_INT("worker", index),
                     ST_LOG_STR("error", err.msg[0] ? err.msg : st_strerror(rc)));
        free(w);
        return rc;
    }
    __atomic_store_n(&t->w[index], w, __ATOMIC_RELEASE); /* last: /metrics of other workers reads it */
    return 0;
}

/* st_http_serve's worker_stop: no exchange is left (or a forced stop), the pool goes, on its
 * loop; the worker itself stays until st_tfb_serve returns (other workers' /metrics read it). */
static void worker_stop(struct st_io_loop *loop, int index, void *arg)
{
    (void)loop;
    struct st_tfb *t = arg;
    struct tfb_worker *w = t->w[index];
    struct st_sql_pool *pool = w->pool;
    __atomic_store_n(&w->pool, NULL, __ATOMIC_RELEASE);
    st_sql_pool_free(pool);
}

int st_tfb_serve(struct st_tfb *t, const struct st_http_serve_opts *o, const struct st_http_config *cfg,
                 struct st_error *err)
{
    t->n = o->workers > 0 ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (t->n < 1)
        t->n = 1;
    t->w = st_xcalloc((size_t)t->n, sizeof(struct tfb_worker *));
    struct st_http_serve_opts so = *o;
    so.workers = t->n;
    so.worker_start = worker_start;
    so.worker_stop = worker_stop;
    so.worker_arg = t;
    int rc = st_http_serve(&so, cfg, err);
    for (int i = 0; i < t->n; i++) {
        struct tfb_worker *w = t->w[i];
        if (!w)
            continue;
        for (int k = 0; k <= ST_TFB_MAX_QUERIES; k++)
            free(w->update_sql[k]);
        free(w);
    }
    free(t->w);
    t->w = NULL;
    return rc;
}
