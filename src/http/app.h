/*
 * app.h - the framework layer of strata's HTTP apps: a router, an ordered list of
 * middleware and the standard answers around them, behind one st_http_config.handler.
 *
 *   struct st_http_app app;
 *   st_http_app_init(&app);
 *   st_http_app_use(&app, st_http_mw_request_id());
 *   st_http_app_route(&app, "GET", "/users/:id", get_user, db);
 *   st_http_app_builtins(&app, NULL);               // /healthz, /readyz, /metrics
 *   struct st_http_config cfg = { .handler = st_http_app_handler, .data = &app };
 *   st_http_serve(&opts, &cfg, &err);
 *   st_http_app_release(&app);
 *
 * Dispatch of one exchange (st_http_app_handler):
 *   1. the metrics hook (with st_http_app_builtins), then every middleware's `before`, in
 *      the order of st_http_app_use; one may answer and end the dispatch (CORS preflight);
 *   2. st_http_router_match on the raw path:
 *        found          x->route = the pattern, the handler runs (HEAD reaches GET routes:
 *                       the handler answers as for GET, the server drops the body);
 *        no such path   404 problem+json, x->route = "unmatched";
 *        wrong method   OPTIONS: 204 with Allow; otherwise 405 problem+json with Allow
 *                       (OPTIONS is always listed: the app answers it).
 *   Labels stay bounded: x->route is a pattern or a fixed word, never the raw path.
 *
 * Invariants of the module:
 *   - The hot path (route found, handler answers at once) allocates only from x->arena (the
 *     exchange context with the route match) and takes no lock: the app is read-only once
 *     serving starts, shared by every worker; per-worker state is indexed by x->worker.
 *   - Every answer the framework gives itself is RFC 9457 problem+json.
 *   - Configure (init, use, route, builtins) before serving; release after every worker
 *     has stopped.
 */
#ifndef ST_HTTP_APP_H
#define ST_HTTP_APP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/err.h"
#include "base/str.h"
#include "http/metrics.h"
#include "http/middleware.h"
#include "http/router.h"
#include "http/server.h"

/* Most middleware in one app. */
#define ST_HTTP_APP_MIDDLEWARE_MAX 16

struct st_http_app_route; /* private: handler + data, owned by the app */

struct st_http_app {
    struct st_http_router router;
    struct st_http_middleware mw[ST_HTTP_APP_MIDDLEWARE_MAX]; /* owned (release called) */
    size_t nmw;
    struct st_http_app_route *routes; /* owned list */
    struct st_http_metrics *metrics;  /* owned; set by st_http_app_builtins, NULL: none */
    bool (*ready)(void *arg);         /* readiness for /readyz; NULL: always ready */
    void *ready_arg;
    bool json_pretty; /* st_http_reply_json indents (debugging); default compact */
    /* The framework's own 404 and 405 carry a machine-readable "code" member (not_found,
     * method_not_allowed), for APIs whose problems all have one. */
    bool problem_codes;
    /* Appends an app's own families to /metrics (e.g. st_sql_metrics_render); NULL: none. */
    int (*metrics_extra)(struct st_buf *out, void *arg);
    void *metrics_extra_arg;
};

/* An empty app. Allocates nothing. */
void st_http_app_init(struct st_http_app *app);
/* Free routes, middleware (their release), metrics; the app is empty afterwards. */
void st_http_app_release(struct st_http_app *app);

/*
 * Route method ("GET", ...; "*" or NULL: any) and pattern (router.h syntax) to the handler
 * fn(x, m, data); data is borrowed. m is the route match (also st_http_app_match(x)):
 * m->pattern, and the raw parameters through st_http_route_param(m, "id") or
 * st_http_param(x, "id"); it lives in x->arena, so it stays valid for an async handler
 * until the response is sent. The handler finishes x (server.h rules).
 * Returns 0, or the router's status (ST_EPARSE, ST_ECONFLICT, ST_ELIMIT), which is also
 * logged at error level with the router's message.
 */
int st_http_app_route(struct st_http_app *app, const char *method, const char *pattern,
                      void (*fn)(struct st_http_ex *x, const struct st_http_route_match *m, void *data), void *data);

/*
 * Call fn(method, pattern, arg) for every route, in registration order ("*" for a route of
 * any method; HEAD is not listed separately). Both strings belong to the app. Stops at the
 * first non-zero return of fn and returns it; 0 when every route was visited. Used by
 * tests that hold an API description against the routes really served.
 */
int st_http_app_each_route(const struct st_http_app *app, int (*fn)(const char *method, const char *pattern, void *arg),
                           void *arg);

/* Append a middleware (see middleware.h); the app owns it from now on, even on failure.
 * 0 or ST_ELIMIT (more than ST_HTTP_APP_MIDDLEWARE_MAX). */
int st_http_app_use(struct st_http_app *app, struct st_http_middleware mw);

/* The st_http_config.handler of an app; st_http_config.data must be the app. */
void st_http_app_handler(struct st_http_ex *x);

/* The route match of x, NULL if no route matched (yet). */
const struct st_http_route_match *st_http_app_match(const struct st_http_ex *x);
/* The raw (percent-encoded) value of route parameter name; {NULL, 0} if none. */
struct st_str st_http_param(const struct st_http_ex *x, const char *name);

/* ---- built-in endpoints ---- */

struct st_http_builtins_opts {
    bool (*ready)(void *arg); /* /readyz fails (503) while this returns false; NULL: ready */
    void *ready_arg;
    bool no_metrics; /* neither count requests nor serve /metrics */
    /* Called on the serving worker's thread after the HTTP families, to append more
     * Prometheus text to out (the database pool's, st_sql_metrics_render); nonzero: 500. */
    int (*metrics_extra)(struct st_buf *out, void *arg);
    void *metrics_extra_arg;
};

/*
 * Register GET /healthz (200 {"status":"ok"}: the process answers), GET /readyz (200
 * {"status":"ready"}, or 503 problem+json while the server drains or opts->ready says no)
 * and GET /metrics (metrics.h; every exchange of the app is counted from now on).
 * opts may be NULL. 0 or a routing status (a path already taken).
 */
int st_http_app_builtins(struct st_http_app *app, const struct st_http_builtins_opts *opts);

/* ---- JSON (jansson) ---- */

enum { ST_HTTP_JSON_PRETTY = 1u };

/*
 * Parse a request body as JSON: 0 and *out a new reference (the caller decrefs); 415 when
 * content_type is not application/json or application/<x>+json; 400 when the body is not
 * JSON (err has line, column and position; err may be NULL). Does not answer anything.
 */
int st_http_json_parse(struct st_str content_type, struct st_str body, json_t **out, json_error_t *err);

/*
 * The request body of x as JSON (a new reference: the caller decrefs), or NULL after
 * answering x itself with the 415 or 400 problem (with "line", "column", "position").
 * error_out (may be NULL) receives jansson's error. On NULL return at once: x is finished.
 */
json_t *st_http_json_body(struct st_http_ex *x, json_error_t *error_out);

/* Answer status with v as application/json; takes the reference to v (decrefs it). v NULL
 * (a failed json_pack) answers 500 problem. Compact unless the app set json_pretty. */
void st_http_reply_json(struct st_http_ex *x, int status, json_t *v);
/* The same with explicit flags (ST_HTTP_JSON_PRETTY). */
void st_http_reply_json_flags(struct st_http_ex *x, int status, json_t *v, unsigned flags);

/*
 * An RFC 9457 problem: {"type":"about:blank","title":<reason>,"status":N,"detail":...,
 * "instance":<path>} plus every member of extra (an object, may be NULL; taken: decref'd),
 * e.g. {"errors":[...]} for a 422. detail may be NULL. Members of extra override.
 */
void st_http_problem_json(struct st_http_ex *x, int status, const char *detail, json_t *extra);

#endif
