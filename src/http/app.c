/*
 * app.c - st_http_app: dispatch through middleware and the router, the framework's own
 * answers (404, 405, OPTIONS), the built-in endpoints and the JSON helpers.
 *
 * The dispatch is deliberately short: one arena allocation for the exchange context (it
 * holds the route match, which async handlers keep using), a loop over the middleware,
 * one router match, one indirect call. Everything optional (metrics, middleware) costs
 * nothing when the app does not use it.
 */
#include "http/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/time.h"

/* The route label of exchanges no route took (404, 405): one label, not one per path. */
static const char unmatched[] = "unmatched";

struct st_http_app_route {
    void (*fn)(struct st_http_ex *x, const struct st_http_route_match *m, void *data);
    void *data;
    struct st_http_app_route *next;
    char *method;  /* "GET", or "*" for any method (owned) */
    char *pattern; /* as registered (owned) */
};

void st_http_app_init(struct st_http_app *app)
{
    memset(app, 0, sizeof *app);
    st_http_router_init(&app->router);
}

void st_http_app_release(struct st_http_app *app)
{
    st_http_router_release(&app->router);
    for (struct st_http_app_route *r = app->routes, *next; r; r = next) {
        next = r->next;
        free(r->method);
        free(r->pattern);
        free(r);
    }
    for (size_t i = 0; i < app->nmw; i++)
        if (app->mw[i].release)
            app->mw[i].release(app->mw[i].arg);
    st_http_metrics_free(app->metrics);
    st_http_app_init(app);
}

int st_http_app_route(struct st_http_app *app, const char *method, const char *pattern,
                      void (*fn)(struct st_http_ex *x, const struct st_http_route_match *m, void *data), void *data)
{
    struct st_http_app_route *r = st_xmalloc(sizeof *r);
    *r = (struct st_http_app_route){ fn, data, NULL };
    r->method = st_xstrdup(method ? method : "*");
    r->pattern = st_xstrdup(pattern);
    struct st_error err;
    st_error_clear(&err);
    int rc = st_http_router_add(&app->router, method, pattern, r, &err);
    if (rc) {
        st_log_error("http app: route refused", ST_LOG_STR("method", method ? method : "*"),
                     ST_LOG_STR("pattern", pattern), ST_LOG_STR("error", err.msg));
        free(r->method);
        free(r->pattern);
        free(r);
        return rc;
    }
    r->next = app->routes;
    app->routes = r;
    return 0;
}

/* The list is newest first: walk it back to front so routes come in registration order. */
static int each_route(const struct st_http_app_route *r, int (*fn)(const char *, const char *, void *), void *arg)
{
    if (!r)
        return 0;
    int rc = each_route(r->next, fn, arg);
    return rc ? rc : fn(r->method, r->pattern, arg);
}

int st_http_app_each_route(const struct st_http_app *app, int (*fn)(const char *method, const char *pattern, void *arg),
                           void *arg)
{
    return each_route(app->routes, fn, arg);
}

int st_http_app_use(struct st_http_app *app, struct st_http_middleware mw)
{
    if (app->nmw == ST_HTTP_APP_MIDDLEWARE_MAX || !mw.before) {
        st_log_error("http app: middleware refused", ST_LOG_STR("name", mw.name),
                     ST_LOG_STR("why", mw.before ? "too many" : "no before function"));
        if (mw.release)
            mw.release(mw.arg);
        return mw.before ? ST_ELIMIT : ST_EUSAGE;
    }
    app->mw[app->nmw++] = mw;
    return 0;
}

const struct st_http_route_match *st_http_app_match(const struct st_http_ex *x)
{
    const struct st_http_ctx *c = st_http_ctx(x);
    return c && c->matched ? &c->match : NULL;
}

struct st_str st_http_param(const struct st_http_ex *x, const char *name)
{
    const struct st_http_route_match *m = st_http_app_match(x);
    return m ? st_http_route_param(m, name) : st_str(NULL, 0);
}

/* ---- dispatch ---- */

static void metrics_done(struct st_http_ex *x, void *arg)
{
    st_http_metrics_observe(arg, x->worker, x->route, x->req->method_id, x->status, st_time_mono_ns() - x->start_ns);
}

/* allow plus OPTIONS (which the app always answers), in x->arena. */
static struct st_str allow_with_options(struct st_http_ex *x, const char *allow)
{
    struct st_str a = st_str_c(allow);
    struct st_str item, rest = a;
    while (rest.len) {
        rest = st_str_cut(rest, ',', &item, NULL);
        if (st_str_eq_c(st_str_trim(item), "OPTIONS"))
            return a;
    }
    return st_str_c(st_arena_printf(x->arena, "%s%sOPTIONS", allow, *allow ? ", " : ""));
}

/* OPTIONS * (RFC 9110 9.3.7): the server's capabilities, i.e. every method routed. */
static void options_asterisk(struct st_http_ex *x, const struct st_http_app *app)
{
    struct st_buf b;
    st_buf_init(&b, 4096);
    for (size_t i = 0; i < app->router.nmethods; i++)
        (void)st_buf_printf(&b, "%s%s", i ? ", " : "", app->router.methods[i]);
    struct st_str allow = allow_with_options(x, b.data ? b.data : "");
    if (allow.ptr == b.data) /* the buffer is freed below: keep a copy in the arena */
        allow = st_str(st_arena_strndup(x->arena, allow.ptr, allow.len), allow.len);
    st_buf_release(&b);
    st_http_header(x, ST_STR_LIT("Allow"), allow);
    x->status = 204;
    st_http_send(x);
}

static __attribute__((noinline)) void not_routed(struct st_http_ex *x, struct st_http_ctx *c, int rc)
{
    bool options = x->req->method_id == ST_HTTP_M_OPTIONS;
    x->route = unmatched;
    if (rc == ST_HTTP_ROUTE_METHOD) {
        struct st_str allow = allow_with_options(x, c->match.allow);
        st_http_header(x, ST_STR_LIT("Allow"), allow);
        if (options) {
            x->status = 204;
            st_http_send(x);
            return;
        }
        char *detail = st_arena_printf(x->arena, "method %.*s is not allowed here; allowed: %.*s",
                                       ST_STR_FMT(x->req->method), ST_STR_FMT(allow));
        if (c->app->problem_codes)
            st_http_problem_json(x, 405, detail, json_pack("{s:s}", "code", "method_not_allowed"));
        else
            st_http_problem(x, 405, detail);
        return;
    }
    if (options && st_str_eq_c(x->req->path, "*")) {
        options_asterisk(x, c->app);
        return;
    }
    if (c->app->problem_codes)
        st_http_problem_json(x, 404, "no such resource", json_pack("{s:s}", "code", "not_found"));
    else
        st_http_problem(x, 404, NULL);
}

void st_http_app_handler(struct st_http_ex *x)
{
    struct st_http_app *app = x->data;
    if (!app) { /* st_http_config.data was not set: a setup bug, still answered properly */
        st_http_problem(x, 500, "no app configured");
        return;
    }
    struct st_http_ctx *c = st_arena_alloc(x->arena, sizeof *c);
    c->app = app;
    c->matched = false;
    c->request_id = st_str(NULL, 0);
    x->user[ST_HTTP_CTX_SLOT] = c;
    if (app->metrics)
        st_http_on_done(x, metrics_done, app->metrics);
    for (size_t i = 0; i < app->nmw; i++)
        if (app->mw[i].before(x, app->mw[i].arg) != ST_HTTP_NEXT)
            return; /* answered (x may already serve the next request) */
    int rc = st_http_router_match(&app->router, x->req->method, x->req->path, &c->match);
    if (rc) {
        not_routed(x, c, rc);
        return;
    }
    c->matched = true;
    x->route = c->match.pattern;
    const struct st_http_app_route *r = c->match.data;
    r->fn(x, &c->match, r->data);
}

/* ---- built-in endpoints ---- */

static void no_store(struct st_http_ex *x)
{
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
}

static void healthz(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    no_store(x);
    st_http_reply(x, 200, "application/json", ST_STR_LIT("{\"status\":\"ok\"}\n"));
}

static void readyz(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_http_app *app = data;
    no_store(x);
    if (st_http_draining(x)) {
        st_http_problem(x, 503, "draining: the server is shutting down");
        return;
    }
    if (app->ready && !app->ready(app->ready_arg)) {
        st_http_problem(x, 503, "not ready");
        return;
    }
    st_http_reply(x, 200, "application/json", ST_STR_LIT("{\"status\":\"ready\"}\n"));
}

static void metrics_page(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_http_app *app = data;
    struct st_http_stats stats;
    st_http_group_stats(x, &stats);
    struct st_buf *b = st_http_body_buf(x);
    if (st_http_metrics_render(app->metrics, &stats, b)) {
        st_http_problem(x, 500, "the metrics exposition does not fit in a response");
        return;
    }
    if (app->metrics_extra && app->metrics_extra(b, app->metrics_extra_arg)) {
        st_http_problem(x, 500, "the app's metrics could not be rendered");
        return;
    }
    no_store(x);
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT(ST_HTTP_METRICS_CONTENT_TYPE));
    x->status = 200;
    st_http_send(x);
}

int st_http_app_builtins(struct st_http_app *app, const struct st_http_builtins_opts *opts)
{
    struct st_http_builtins_opts o = opts ? *opts : (struct st_http_builtins_opts){ 0 };
    app->ready = o.ready;
    app->ready_arg = o.ready_arg;
    app->metrics_extra = o.metrics_extra;
    app->metrics_extra_arg = o.metrics_extra_arg;
    int rc = st_http_app_route(app, "GET", "/healthz", healthz, app);
    if (!rc)
        rc = st_http_app_route(app, "GET", "/readyz", readyz, app);
    if (!rc && !o.no_metrics) {
        if (!app->metrics)
            app->metrics = st_http_metrics_new();
        rc = st_http_app_route(app, "GET", "/metrics", metrics_page, app);
    }
    return rc;
}

/* ---- JSON ---- */

static bool json_media_type(struct st_str ct)
{
    struct st_str media;
    st_str_cut(ct, ';', &media, NULL);
    media = st_str_trim(media);
    if (st_str_ieq_c(media, "application/json"))
        return true;
    struct st_str app = ST_STR_LIT("application/"), suffix = ST_STR_LIT("+json");
    return media.len > app.len + suffix.len && st_str_ieq(st_str_sub(media, 0, app.len), app) &&
           st_str_ieq(st_str_sub(media, media.len - suffix.len, media.len), suffix);
}

int st_http_json_parse(struct st_str content_type, struct st_str body, json_t **out, json_error_t *err)
{
    json_error_t local;
    if (!err)
        err = &local;
    *out = NULL;
    if (!json_media_type(content_type)) {
        memset(err, 0, sizeof *err);
        err->line = err->column = err->position = -1;
        snprintf(err->text, sizeof err->text, "Content-Type must be application/json (or application/*+json)");
        return 415;
    }
    /* Duplicate keys are refused: two parsers reading "the same" object differently is how
     * validation gets bypassed. Any JSON value may be the top level (RFC 8259). */
    json_t *v = json_loadb(body.ptr ? body.ptr : "", body.len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, err);
    if (!v)
        return 400;
    *out = v;
    return 0;
}

json_t *st_http_json_body(struct st_http_ex *x, json_error_t *error_out)
{
    json_error_t e;
    json_t *v;
    int status = st_http_json_parse(st_http_req_header(x, ST_HTTP_H_CONTENT_TYPE), x->body, &v, &e);
    if (error_out)
        *error_out = e;
    if (!status)
        return v;
    if (status == 415) {
        st_http_problem(x, 415, e.text);
        return NULL;
    }
    char *detail = st_arena_printf(x->arena, "invalid JSON at line %d, column %d (byte %d): %s", e.line, e.column,
                                   e.position, e.text);
    st_http_problem_json(x, 400, detail,
                         json_pack("{s:i,s:i,s:i}", "line", e.line, "column", e.column, "position", e.position));
    return NULL;
}

static int dump_to_buf(const char *p, size_t n, void *data)
{
    return st_buf_append(data, p, n) ? -1 : 0;
}

/* Serialise v into x's body buffer; 0 or -1 (too large / out of memory). */
static int json_to_body(struct st_http_ex *x, const json_t *v, size_t flags)
{
    struct st_buf *b = st_http_body_buf(x);
    st_buf_clear(b);
    if (json_dump_callback(v, dump_to_buf, b, flags | JSON_ENCODE_ANY) || st_buf_append_byte(b, '\n'))
        return -1;
    return 0;
}

void st_http_reply_json_flags(struct st_http_ex *x, int status, json_t *v, unsigned flags)
{
    if (!v) {
        st_http_problem(x, 500, "the response could not be built");
        return;
    }
    size_t jflags = (flags & ST_HTTP_JSON_PRETTY) ? JSON_INDENT(2) : JSON_COMPACT;
    int rc = json_to_body(x, v, jflags);
    json_decref(v);
    if (rc) {
        st_http_problem(x, 500, "the response could not be serialised");
        return;
    }
    x->status = status;
    st_http_res_header_remove(x, "Content-Type");
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/json"));
    st_http_send(x);
}

void st_http_reply_json(struct st_http_ex *x, int status, json_t *v)
{
    const struct st_http_ctx *c = st_http_ctx(x);
    bool pretty = c && c->app && c->app->json_pretty;
    st_http_reply_json_flags(x, status, v, pretty ? ST_HTTP_JSON_PRETTY : 0);
}

void st_http_problem_json(struct st_http_ex *x, int status, const char *detail, json_t *extra)
{
    const char *title = st_http_reason(status);
    json_t *p = json_object();
    int bad = !p;
    bad |= !p || json_object_set_new(p, "type", json_string("about:blank"));
    bad |= !p || json_object_set_new(p, "title", json_string(*title ? title : "Error"));
    bad |= !p || json_object_set_new(p, "status", json_integer(status));
    if (p && detail) /* invalid UTF-8 in detail: json_string fails, the member is left out */
        (void)json_object_set_new(p, "detail", json_string(detail));
    if (p && x->req && x->req->path.len)
        (void)json_object_set_new(p, "instance", json_stringn(x->req->path.ptr, x->req->path.len));
    if (p && json_is_object(extra))
        bad |= json_object_update(p, extra);
    json_decref(extra);
    if (bad || json_to_body(x, p, JSON_COMPACT)) {
        json_decref(p);
        st_http_problem(x, status, detail); /* the plain version never fails */
        return;
    }
    json_decref(p);
    x->status = status;
    st_http_res_header_remove(x, "Content-Type");
    st_http_res_header_remove(x, "Content-Encoding");
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/problem+json"));
    st_http_send(x);
}
