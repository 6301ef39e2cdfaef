/*
 * blog.c - `strata example blog`: the blog REST API of Modules 2, 4 and 6 (contract:
 * docs/blog-api.md; design: docs/adr/0014-blog-api.md, and blog.h for the request's life).
 * This file holds the command line, the app's wiring and the plumbing that carries a
 * request from its route handler to a database thread and back to its answer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/flags.h"
#include "base/hash.h"
#include "base/log.h"
#include "examples/blog.h"
#include "examples/examples.h"
#include "http/ratelimit.h"
#include "lab/cli.h"

/* ---- answers ------------------------------------------------------------------------- */

void blog_fail(struct blog_req *r, int status, const char *code, const char *fmt, ...)
{
    r->status = status;
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof r->detail, fmt, ap);
    va_end(ap);
}

void blog_db_error(struct blog_req *r, int rc, const struct st_error *err)
{
    st_log_error("blog: database error", ST_LOG_STR("error", err && err->msg[0] ? err->msg : st_sql_strerror(rc)));
    json_decref(r->out);
    r->out = NULL;
    if (rc == ST_SQL_TIMEOUT || rc == ST_SQL_CONNECTION || rc == ST_SQL_SERIALIZATION)
        blog_fail(r, 503, "unavailable", "the database is busy or unreachable; retry later");
    else /* no SQL and no driver text for the client */
        blog_fail(r, 500, "internal", "the database could not answer");
}

/* The problem type URI of a code: one page per code in the API's documentation. */
static json_t *problem_members(const char *code, json_t *errors)
{
    char type[128];
    snprintf(type, sizeof type, "https://strata.dev/problems/%s", code);
    json_t *o = json_pack("{s:s, s:s}", "type", type, "code", code);
    if (o && errors)
        json_object_set(o, "errors", errors);
    return o;
}

void blog_problem(struct st_http_ex *x, int status, const char *code, const char *detail, json_t *errors)
{
    st_http_header(x, ST_STR_LIT("Vary"), ST_STR_LIT("Accept"));
    st_http_problem_json(x, status, detail, problem_members(code, errors));
    json_decref(errors);
}

/* ---- request plumbing ---------------------------------------------------------------- */

/* The client a request speaks for: its API key when it sends one, else its address. The
 * same rule as the rate limiter (ratelimit.h), so quotas, idempotency keys and
 * read-your-writes tokens all follow one notion of "client". */
static void client_of(struct st_http_ex *x, char *out, size_t cap)
{
    struct st_str key = st_http_req_header_named(x, "X-API-Key");
    if (key.ptr && key.len) {
        snprintf(out, cap, "key:%.*s", (int)(key.len > 256 ? 256 : key.len), key.ptr);
        return;
    }
    const char *p = x->peer, *end;
    if (*p == '[') { /* [ip6]:port */
        p++;
        end = strchr(p, ']');
    } else {
        end = strrchr(p, ':');
    }
    size_t n = end ? (size_t)(end - p) : strlen(p);
    snprintf(out, cap, "ip:%.*s", (int)n, p);
}

struct blog_req *blog_req_new(struct st_http_ex *x, void *data)
{
    struct blog_ver *v = data;
    struct blog_req *r = st_arena_zalloc(x->arena, sizeof *r);
    r->b = v->b;
    r->x = x;
    r->api = v->api;
    r->status = 200;
    r->if_match_version = -1;
    client_of(x, r->client, sizeof r->client);
    return r;
}

bool blog_path_id(struct st_http_ex *x, const char *name, int64_t *out)
{
    struct st_str s = st_http_param(x, name);
    int64_t id = 0;
    bool ok = s.len > 0 && s.len <= 18 && !st_str_to_i64(s, &id) && id > 0;
    for (size_t i = 0; ok && i < s.len; i++) /* "+5" and " 5" are not ids */
        ok = s.ptr[i] >= '0' && s.ptr[i] <= '9';
    if (!ok) {
        blog_problem(x, 404, "not_found", "no such resource", NULL);
        return false;
    }
    *out = id;
    return true;
}

bool blog_body(struct st_http_ex *x, json_t **out, const struct st_schema *s, unsigned flags)
{
    struct st_str ct = st_http_req_header(x, ST_HTTP_H_CONTENT_TYPE);
    json_error_t jerr;
    json_t *v = NULL;
    int rc = st_http_json_parse(ct, x->body, &v, &jerr);
    if (rc == 415) {
        blog_problem(x, 415, "unsupported_media_type", "the body must be application/json", NULL);
        return false;
    }
    if (rc || !json_is_object(v)) {
        char detail[400];
        if (rc)
            snprintf(detail, sizeof detail, "the body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                     jerr.column);
        else
            snprintf(detail, sizeof detail, "the body must be a JSON object");
        json_decref(v);
        blog_problem(x, 400, "malformed_json", detail, NULL);
        return false;
    }
    json_t *errors = st_schema_validate(s, v, flags);
    if (errors) {
        char detail[64];
        size_t n = json_array_size(errors);
        snprintf(detail, sizeof detail, "%zu field%s invalid", n, n == 1 ? " is" : "s are");
        json_decref(v);
        blog_problem(x, 422, "validation_failed", detail, errors);
        return false;
    }
    *out = v;
    return true;
}

static void finish_ok(struct blog_req *r)
{
    struct st_http_ex *x = r->x;
    if (r->location[0]) {
        char *loc = st_arena_alloc(x->arena, strlen(r->location) + 1);
        strcpy(loc, r->location);
        st_http_header(x, ST_STR_LIT("Location"), st_str_c(loc));
    }
    if (r->etag_version > 0)
        st_http_header_fmt(x, "ETag", "\"%lld-%lld\"", (long long)r->etag_id, (long long)r->etag_version);
    if (r->replayed)
        st_http_header(x, ST_STR_LIT("Idempotent-Replayed"), ST_STR_LIT("true"));
    if (r->text) {
        char *body = st_arena_alloc(x->arena, r->text_len + 1);
        memcpy(body, r->text, r->text_len);
        st_http_reply(x, r->status, r->text_type, st_str(body, r->text_len));
        return;
    }
    if (r->status == 204 || r->status == 304 || !r->out) {
        json_decref(r->out);
        r->out = NULL;
        x->status = r->status;
        st_http_send(x);
        return;
    }
    json_t *out = r->out;
    r->out = NULL;
    st_http_reply_json(x, r->status, out);
}

/* Turn what the database thread left in r into the response (on the loop). r lives in
 * the exchange's arena, which sending frees: what r owns is taken out first. */
static void blog_finish(struct blog_req *r)
{
    struct st_http_ex *x = r->x;
    json_t *body = r->body, *cursor = r->list.cursor_vals, *out = r->out;
    char *text = r->text;
    r->body = r->list.cursor_vals = r->out = NULL;
    if (r->b->debug_queries)
        st_http_header_fmt(x, "X-Query-Count", "%d", r->queries);
    st_http_header(x, ST_STR_LIT("Vary"), ST_STR_LIT("Accept"));
    if (r->status >= 400) {
        if (r->status == 503)
            st_http_header(x, ST_STR_LIT("Retry-After"), ST_STR_LIT("1"));
        st_http_problem_json(x, r->status, r->detail[0] ? r->detail : NULL,
                             problem_members(r->code ? r->code : "error", json_is_array(out) ? out : NULL));
    } else {
        r->out = out; /* finish_ok hands it to the reply */
        out = NULL;
        finish_ok(r);
    }
    json_decref(out);
    json_decref(body);
    json_decref(cursor);
    free(text);
}

static void blog_work(struct st_io_work *wk)
{
    struct blog_req *r = wk->data;
    struct blog *b = r->b;
    struct st_error err = { 0 };
    struct blog_conn *c = blog_conn_get(b, &err);
    if (!c) {
        blog_db_error(r, ST_SQL_CONNECTION, &err);
        return;
    }
    if (!r->writes)
        blog_pick_replica(b, c, r->wait_lsn);
    r->op(r, c);
    if (r->status == 503) /* the connection broke or timed out: do not hand it out again */
        c->broken = true;
    if (r->writes && r->status < 300) /* cached totals are stale from now on */
        __atomic_add_fetch(&b->write_gen, 1, __ATOMIC_RELEASE);
    if (r->writes && r->status < 300 && c->replica) {
        blog_capture_lsn(c, r->new_lsn);
        blog_token_set(b, r->client, r->new_lsn);
    }
    r->queries = c->queries;
    blog_conn_put(b, c);
}

static void blog_done(struct st_io_work *wk, int status)
{
    struct blog_req *r = wk->data;
    if (status) /* the pool shut down before the job ran */
        blog_fail(r, 503, "unavailable", "the server is shutting down");
    blog_finish(r);
}

void blog_submit(struct blog_req *r)
{
    struct st_http_ex *x = r->x;
    if (!r->writes && r->b->replica_url)
        blog_token_get(r->b, r->client, r->wait_lsn);
    st_http_async(x);
    int rc = st_io_pool_submit(r->b->pool, x->loop, &r->wk, blog_work, blog_done, r);
    if (rc) { /* the queue is full: shed the load rather than queue without bound */
        blog_fail(r, 503, "unavailable", "the server is overloaded; retry later");
        blog_finish(r);
    }
}

/* ---- the pipelined read path (PostgreSQL, no replica) ------------------------------- */

struct st_sql_pool *blog_read_pool(struct blog_req *r, void (*op)(struct blog_req *r, struct blog_conn *c))
{
    if (r->b->apools)
        return r->b->apools[r->x->worker];
    r->op = op;
    blog_submit(r);
    return NULL;
}

struct batch_call {
    struct blog_req *r;
    void (*read)(struct blog_req *r, const struct st_sql_batch *bt);
};

static void batch_done(struct st_sql_batch *bt, int status, void *arg)
{
    struct batch_call *call = arg;
    struct blog_req *r = call->r;
    r->queries = st_sql_batch_queries(bt);
    if (status)
        blog_db_error(r, status, st_sql_batch_error(bt));
    else
        call->read(r, bt);
    st_sql_batch_free(bt);
    blog_finish(r);
}

void blog_submit_batch(struct blog_req *r, struct st_sql_batch *bt,
                       void (*read)(struct blog_req *r, const struct st_sql_batch *bt))
{
    struct batch_call *call = st_arena_alloc(r->x->arena, sizeof *call);
    *call = (struct batch_call){ r, read };
    st_http_async(r->x);
    st_sql_batch_submit(bt, NULL, batch_done, call);
}

int64_t blog_col_int64(const struct blog_row *w, int col)
{
    return w->st ? st_sql_column_int64(w->st, col) : st_sql_result_int64(w->bt, w->q, w->row, col);
}

const char *blog_col_text(const struct blog_row *w, int col, size_t *len)
{
    const char *s = w->st ? st_sql_column_text(w->st, col, len) : st_sql_result_text(w->bt, w->q, w->row, col, len);
    if (!s && len)
        *len = 0;
    return s ? s : "";
}

bool blog_col_null(const struct blog_row *w, int col)
{
    return w->st ? st_sql_column_is_null(w->st, col) : st_sql_result_is_null(w->bt, w->q, w->row, col);
}

/* ---- helpers of the resources ------------------------------------------------------- */

json_t *blog_link(const struct blog_req *r, const char *fmt, ...)
{
    char path[160];
    int n = snprintf(path, sizeof path, "/api/v%d", r->api);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path + n, sizeof path - (size_t)n, fmt, ap);
    va_end(ap);
    return json_string(path);
}

struct tx_call {
    struct blog_req *r;
    struct blog_conn *c;
    int (*fn)(struct blog_req *r, struct blog_conn *c, struct st_error *err);
};

static int tx_body(struct st_sql_db *db, void *arg, struct st_error *err)
{
    (void)db;
    struct tx_call *t = arg;
    /* a retried attempt starts from a clean answer */
    json_decref(t->r->out);
    t->r->out = NULL;
    t->r->status = 200;
    t->r->code = NULL;
    t->r->detail[0] = t->r->location[0] = 0;
    return t->fn(t->r, t->c, err);
}

int blog_tx(struct blog_req *r, struct blog_conn *c,
            int (*fn)(struct blog_req *r, struct blog_conn *c, struct st_error *err))
{
    struct tx_call t = { r, c, fn };
    struct st_error err = { 0 };
    /* SQLite: BEGIN IMMEDIATE takes the write lock up front, so two writers queue on the
     * busy timeout instead of failing when a reader upgrades; PostgreSQL: read committed,
     * where every write here is a single guarded statement (UPDATE ... AND version = $n) */
    enum st_sql_isolation iso = r->b->backend == ST_SQL_SQLITE ? ST_SQL_ISO_REPEATABLE : ST_SQL_ISO_DEFAULT;
    int rc = st_sql_transaction(c->db, iso, 5, tx_body, &t, &err);
    if (rc < 0) {
        if (rc == ST_SQL_CONNECTION)
            c->broken = true;
        blog_db_error(r, rc, &err);
    }
    return rc;
}

bool blog_idem_parse(struct st_http_ex *x, struct blog_req *r)
{
    struct st_str k = st_http_req_header_named(x, "Idempotency-Key");
    if (!k.ptr)
        return true;
    bool ok = k.len >= 1 && k.len <= BLOG_IDEM_KEY_MAX;
    for (size_t i = 0; ok && i < k.len; i++)
        ok = k.ptr[i] >= 0x21 && k.ptr[i] <= 0x7e;
    if (!ok) {
        blog_problem(x, 400, "invalid_header", "Idempotency-Key must be 1 to 255 printable characters", NULL);
        return false;
    }
    memcpy(r->idem_key, k.ptr, k.len);
    r->idem_key[k.len] = 0;
    /* the request's identity: method, path and body, keyed like cursors (stable across restarts) */
    struct st_buf s;
    st_buf_init(&s, ST_BUF_UNLIMITED);
    (void)st_buf_append(&s, x->req->method.ptr, x->req->method.len);
    (void)st_buf_append_byte(&s, ' ');
    (void)st_buf_append(&s, x->req->path.ptr, x->req->path.len);
    (void)st_buf_append_byte(&s, '\n');
    (void)st_buf_append(&s, x->body.ptr, x->body.len);
    r->idem_hash = st_siphash13(s.data, s.len, r->b->cursor_key);
    st_buf_release(&s);
    return true;
}

/* Replay or refuse from a stored key: 1 when answered, 0 when the key is unused, or < 0. */
static int idem_lookup(struct blog_req *r, struct blog_conn *c, const char *hash, struct st_error *err)
{
    struct st_sql_stmt *st = blog_stmt(
        c,
        "SELECT request_hash, status, location, body, created_at FROM idempotency_keys WHERE client = $1 AND key = $2",
        true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_text(st, 1, r->client, strlen(r->client));
    st_sql_bind_text(st, 2, r->idem_key, strlen(r->idem_key));
    int rc = st_sql_step(st, err);
    if (rc != 1) {
        st_sql_reset(st);
        return rc;
    }
    if (st_sql_column_int64(st, 4) < blog_now() - BLOG_IDEM_TTL_S) { /* expired: forget it */
        st_sql_reset(st);
        struct st_sql_stmt *del =
            blog_stmt(c, "DELETE FROM idempotency_keys WHERE client = $1 AND key = $2", true, err);
        if (!del)
            return ST_SQL_OTHER;
        st_sql_bind_text(del, 1, r->client, strlen(r->client));
        st_sql_bind_text(del, 2, r->idem_key, strlen(r->idem_key));
        rc = st_sql_step(del, err);
        return rc < 0 ? rc : 0;
    }
    if (strcmp(st_sql_column_text(st, 0, NULL), hash) != 0) {
        st_sql_reset(st);
        blog_fail(r, 422, "idempotency_key_reused", "this Idempotency-Key was used with a different request");
        return 1;
    }
    size_t len = 0;
    const char *body = st_sql_column_text(st, 3, &len);
    r->status = (int)st_sql_column_int64(st, 1);
    snprintf(r->location, sizeof r->location, "%s", st_sql_column_text(st, 2, NULL));
    r->text = st_xmalloc(len + 1);
    memcpy(r->text, body, len + 1);
    r->text_len = len;
    r->text_type = "application/json";
    r->replayed = true;
    st_sql_reset(st);
    return 1;
}

static int idem_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    char hash[24];
    snprintf(hash, sizeof hash, "%016llx", (unsigned long long)r->idem_hash);
    free(r->text);
    r->text = NULL;
    r->replayed = false;
    int rc = idem_lookup(r, c, hash, err);
    if (rc)
        return rc;
    rc = r->create_fn(r, c, err);
    if (rc || r->status >= 300)
        return rc;
    char *body = r->out ? json_dumps(r->out, JSON_COMPACT) : NULL;
    struct st_sql_stmt *st =
        blog_stmt(c,
                  "INSERT INTO idempotency_keys (client, key, request_hash, status, location, body,"
                  " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                  true, err);
    if (!st) {
        free(body);
        return ST_SQL_OTHER;
    }
    st_sql_bind_text(st, 1, r->client, strlen(r->client));
    st_sql_bind_text(st, 2, r->idem_key, strlen(r->idem_key));
    st_sql_bind_text(st, 3, hash, strlen(hash));
    st_sql_bind_int64(st, 4, r->status);
    st_sql_bind_text(st, 5, r->location, strlen(r->location));
    st_sql_bind_text(st, 6, body ? body : "", body ? strlen(body) : 0);
    st_sql_bind_int64(st, 7, blog_now());
    rc = st_sql_step(st, err);
    free(body);
    /* the same key raced in from another request: retry, and the lookup replays its answer */
    if (rc == ST_SQL_UNIQUE)
        return ST_SQL_SERIALIZATION;
    if (rc || (r->idem_hash & 63) != 0)
        return rc;
    /* one keyed creation in 64 also sweeps the expired keys: the table stays bounded by
     * what a day of retries can hold, without a background job */
    st = blog_stmt(c, "DELETE FROM idempotency_keys WHERE created_at < $1", true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, blog_now() - BLOG_IDEM_TTL_S);
    return st_sql_step(st, err);
}

void blog_create(struct blog_req *r, struct blog_conn *c,
                 int (*fn)(struct blog_req *r, struct blog_conn *c, struct st_error *err))
{
    if (!r->idem_key[0]) {
        blog_tx(r, c, fn);
        return;
    }
    r->create_fn = fn;
    blog_tx(r, c, idem_tx);
}

/* One entity tag of ours for resource id: "id-version" (strong only). */
static int64_t etag_version(struct st_str t, int64_t id)
{
    t = st_str_trim(t);
    if (t.len < 5 || t.ptr[0] != '"' || t.ptr[t.len - 1] != '"')
        return 0;
    struct st_str in = st_str_sub(t, 1, t.len - 1), a, b;
    bool found = false;
    b = st_str_cut(in, '-', &a, &found);
    int64_t tid = 0, v = 0;
    if (!found || st_str_to_i64(a, &tid) || st_str_to_i64(b, &v) || tid != id || v < 1)
        return 0;
    return v;
}

/* The version named by a list of entity tags ("*" -> -1; none of ours -> 0). */
int64_t blog_etag_list(struct st_str h, int64_t id)
{
    if (st_str_eq_c(st_str_trim(h), "*"))
        return -1;
    struct st_str rest = h, one;
    bool more = true;
    while (more) {
        rest = st_str_cut(rest, ',', &one, &more);
        int64_t v = etag_version(one, id);
        if (v > 0)
            return v;
    }
    return 0;
}

void blog_preconditions(struct st_http_ex *x, struct blog_req *r, int64_t id)
{
    struct st_str im = st_http_req_header(x, ST_HTTP_H_IF_MATCH);
    struct st_str inm = st_http_req_header(x, ST_HTTP_H_IF_NONE_MATCH);
    r->has_if_match = im.ptr != NULL;
    r->if_match_version = im.ptr ? blog_etag_list(im, id) : -1;
    r->if_none_match_version = inm.ptr ? blog_etag_list(inm, id) : -2;
}

int blog_route_all(struct st_http_app *app, struct blog_ver *v, const struct blog_route *routes, size_t n)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        char p[96];
        snprintf(p, sizeof p, "%s%s", v->prefix, routes[i].suffix);
        rc = st_http_app_route(app, routes[i].method, p, routes[i].fn, v);
    }
    return rc;
}

void blog_submit_id(struct st_http_ex *x, void *data, void (*op)(struct blog_req *r, struct blog_conn *c), bool writes)
{
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->id))
        return;
    r->op = op;
    r->writes = writes;
    blog_submit(r);
}

/* ---- the app ------------------------------------------------------------------------- */

static const char *const exempt[] = {
    "/healthz",     "/readyz",      "/metrics", "/api/v1/openapi.json", "/api/v2/openapi.json",
    "/api/v1/docs", "/api/v2/docs", NULL
};

static int wire(struct blog *b)
{
    struct st_http_app *app = &b->app;
    app->problem_codes = true; /* 404 and 405 of the router carry a code like ours */
    struct st_http_ratelimit_opts rl = { .limit = b->rate_limit, .window_ms = 3600 * 1000LL, .exempt = exempt };
    int rc = 0;
    rc = rc ? rc : st_http_app_use(app, st_http_mw_request_id());
    if (!b->no_access_log)
        rc = rc ? rc : st_http_app_use(app, st_http_mw_access_log());
    rc = rc ? rc : st_http_app_use(app, st_http_mw_ratelimit(&rl));
    for (int i = 0; i < 2 && !rc; i++) {
        b->ver[i] = (struct blog_ver){ b, i + 1, i ? "/api/v2" : "/api/v1" };
        rc = rc ? rc : blog_users_routes(app, &b->ver[i]);
        rc = rc ? rc : blog_posts_routes(app, &b->ver[i]);
        rc = rc ? rc : blog_comments_routes(app, &b->ver[i]);
        rc = rc ? rc : blog_search_routes(app, &b->ver[i]);
        rc = rc ? rc : blog_api_routes(app, &b->ver[i]);
    }
    rc = rc ? rc : st_http_app_builtins(app, NULL);
    return rc;
}

/* Each worker loop's pool for the pipelined reads (serve). */
static int worker_start(struct st_io_loop *loop, int index, void *arg)
{
    struct blog *b = arg;
    struct st_sql_pool_opts po = { .url = b->url, .max_size = b->pool_size, .name = "blog" };
    struct st_error err = { 0 };
    int rc = st_sql_pool_new(loop, &po, &b->apools[index], &err);
    if (rc)
        st_log_error("blog: cannot make the worker's database pool", ST_LOG_INT("worker", index),
                     ST_LOG_STR("error", err.msg));
    return rc;
}

static void worker_stop(struct st_io_loop *loop, int index, void *arg)
{
    (void)loop;
    struct blog *b = arg;
    st_sql_pool_free(b->apools[index]);
    b->apools[index] = NULL;
}

static int serve(struct blog *b, const char *listen, int workers, struct st_error *err)
{
    if (wire(b) || blog_api_build(b))
        return st_error_set(err, ST_EINTERNAL, "blog: cannot register the routes");
    int rc = st_io_pool_new(b->db_threads, 4096, &b->pool);
    if (rc)
        return st_error_set(err, rc, "blog: cannot start the database threads: %s", st_strerror(rc));
    struct st_http_config cfg = { .handler = st_http_app_handler, .data = &b->app, .problem_codes = true };
    char host[256];
    const char *colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon ? colon - listen : 0), listen);
    struct st_http_serve_opts o = { .listen = listen,
                                    .workers = workers,
                                    .on_ready = st_example_print_ready,
                                    .on_reload = st_example_on_reload,
                                    .arg = host };
    if (b->backend == ST_SQL_POSTGRES && !b->replica_url) {
        b->apools = st_xcalloc((size_t)workers, sizeof(struct st_sql_pool *));
        o.worker_start = worker_start;
        o.worker_stop = worker_stop;
        o.worker_arg = b;
    }
    rc = st_http_serve(&o, &cfg, err);
    free(b->apools);
    b->apools = NULL;
    st_io_pool_free(b->pool, true); /* the server drained: no job is left */
    b->pool = NULL;
    return rc;
}

/* `strata example blog migrate ...`: the migrations of the --db URL's backend. */
static int migrate_cmd(int argc, char **argv)
{
    const char *url = getenv("STRATA_DB");
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--db"))
            url = argv[i + 1];
    if (!url || !*url)
        url = "sqlite:blog.db";
    enum st_sql_backend be = ST_SQL_SQLITE;
    struct st_error err = { 0 };
    if (st_sql_url_parse(url, &be, NULL, &err))
        return st_cli_fail(&err);
    /* the CLI reads --db itself; give it the blog's default when none was passed */
    char **args = st_xcalloc((size_t)argc + 3, sizeof *args);
    memcpy(args, argv, (size_t)argc * sizeof *args);
    int n = argc;
    bool has_db = false;
    for (int i = 1; i < argc; i++)
        has_db |= argv[i] && !strcmp(argv[i], "--db");
    if (!has_db) {
        args[n++] = "--db";
        args[n++] = (char *)url;
    }
    int rc = st_sql_migrate_cli("example blog", blog_migrations(be), n, args);
    free(args);
    return rc;
}

int st_example_blog(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "migrate"))
        return migrate_cmd(argc - 1, argv + 1);
    const char *listen = "127.0.0.1:8080", *url = "sqlite:blog.db", *replica = NULL;
    int64_t workers = 1, threads = 0, seed_users = 0, seed = 42, rate = 100;
    bool debug_queries = false, no_access_log = false;
    const struct st_flag flags[] = {
        { "listen", 'l', ST_FLAG_STR, &listen, "HOST:PORT", "address to listen on (port 0: any free port)", 0, 0,
          NULL },
        { "db", 0, ST_FLAG_STR, &url, "URL", "database: sqlite:PATH or postgres://...", 0, 0, NULL },
        { "db-replica", 0, ST_FLAG_STR, &replica, "URL",
          "a PostgreSQL streaming replica for reads (clients still read their own writes)", 0, 0, NULL },
        { "seed", 0, ST_FLAG_INT, &seed_users, "N",
          "fill an empty database with N users, 5N posts, 10N comments (deterministic)", 0, 10000000, NULL },
        { "seed-value", 0, ST_FLAG_INT, &seed, "S", "the random seed of --seed", 0, INT64_MAX, NULL },
        { "workers", 'w', ST_FLAG_INT, &workers, "N", "event loop threads", 1, 256, NULL },
        { "db-threads", 0, ST_FLAG_INT, &threads, "N",
          "database threads, one connection each (0: 4 for SQLite, 16 for PostgreSQL); on PostgreSQL"
          " as many connections again for the hot reads, shared among the workers",
          0, 256, NULL },
        { "rate-limit", 0, ST_FLAG_INT, &rate, "N", "requests per hour per client", 1, 100000000, NULL },
        { "no-access-log", 0, ST_FLAG_BOOL, &no_access_log, NULL, "do not log every request (benchmarks)", 0, 0, NULL },
        { "debug-queries", 0, ST_FLAG_BOOL, &debug_queries, NULL,
          "answer X-Query-Count: the SQL statements each request ran (N+1 tests)", 0, 0, NULL },
        { NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL },
    };
    const struct st_flags_spec spec = {
        "strata example blog [FLAGS]\n       strata example blog migrate up [N]|down [N]|status [--db URL]",
        "The blog REST API of Modules 2, 4 and 6 (users, posts, comments, tags) on SQLite or PostgreSQL: "
        "pagination (offset and cursor), filters, sorting, full-text search, ETag/If-Match, soft delete, "
        "archive, idempotency keys, CSV, rate limits, v1 and v2, OpenAPI. Contract: docs/blog-api.md.",
        flags,
        "Example: strata example blog --listen 127.0.0.1:8080 --db sqlite:/tmp/blog.db --seed 100\n"
        "Then:    curl 'http://127.0.0.1:8080/api/v1/posts?limit=5&sort=-comment_count'\n"
        "Docs:    http://127.0.0.1:8080/api/v1/docs\n",
    };
    int nargs = 0;
    int rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: unexpected argument '%s' (see 'strata example blog --help')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    struct blog *b = st_xcalloc(1, sizeof *b);
    b->url = st_xstrdup(url);
    b->replica_url = replica ? st_xstrdup(replica) : NULL;
    b->debug_queries = debug_queries;
    b->no_access_log = no_access_log;
    b->rate_limit = (unsigned)rate;
    pthread_mutex_init(&b->mu, NULL);
    st_http_app_init(&b->app);
    struct st_error err = { 0 };
    rc = blog_db_init(b, seed_users, (uint64_t)seed, &err);
    if (!rc) {
        b->db_threads = threads > 0 ? (int)threads : b->backend == ST_SQL_POSTGRES ? 16 : 4;
        /* the pipelined reads' connections: as many again, shared among the workers */
        b->pool_size = b->db_threads / (int)workers > 2 ? b->db_threads / (int)workers : 2;
        rc = serve(b, listen, (int)workers, &err);
    }
    rc = rc ? st_cli_fail(&err) : ST_EXIT_OK;
    blog_conn_close_all(b);
    st_http_app_release(&b->app);
    free(b->openapi[0]);
    free(b->openapi[1]);
    free(b->docs_html);
    free(b->tokens);
    blog_counts_free(b);
    pthread_mutex_destroy(&b->mu);
    free(b->url);
    free(b->replica_url);
    free(b);
    return rc;
}
