/*
 * middleware.h - what runs around every handler of an st_http_app: request ids, access
 * log, security headers, CORS and gzip (design: docs/adr/0007-http-framework.md).
 *
 * A middleware is a `before` function plus its configuration. The app calls the `before`
 * of each middleware in the order they were added, then routes and calls the handler.
 * A `before` either lets the exchange go on (ST_HTTP_NEXT), or answers it itself and
 * returns ST_HTTP_DONE (a CORS preflight): then nothing after it runs. Work that must see
 * the response is registered as exchange hooks from `before`:
 *   st_http_on_send  runs inside st_http_send before the head is serialised, in reverse
 *                    order of registration - so middleware wrap the handler like an onion:
 *                    the last one added (gzip) sees the handler's body first, the first
 *                    one added (request id) gets the last word;
 *   st_http_on_done  runs when the exchange ends (access log, metrics).
 * Hooks live in x->arena: a middleware costs no malloc per request and takes no lock.
 * Per-worker state (gzip's deflate streams) is indexed by x->worker.
 *
 * Invariants of the module:
 *   - Every response is covered, including the 404/405 of the router, the server's own 500
 *     for a handler that forgot to answer, and answers given by another middleware: hooks
 *     run from st_http_send, whoever calls it.
 *   - Middleware never replace a header the handler set (a handler's own
 *     Content-Security-Policy or Content-Encoding wins).
 *   - Configuration passed to a constructor is copied; the middleware value may be given
 *     to st_http_app_use, which owns it from then on (and calls release).
 *
 * Recommended order: request_id, access_log, security, cors, gzip.
 */
#ifndef ST_HTTP_MIDDLEWARE_H
#define ST_HTTP_MIDDLEWARE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/str.h"
#include "http/router.h"
#include "http/server.h"

/* What a middleware's `before` returns. */
enum { ST_HTTP_NEXT = 0, ST_HTTP_DONE = 1 };

/* Workers whose per-worker state is kept (more fall back to slower shared paths). */
#define ST_HTTP_APP_WORKERS_MAX 256

struct st_http_middleware {
    const char *name; /* for logs */
    /* Called for every exchange before routing: ST_HTTP_NEXT, or ST_HTTP_DONE once it has
     * answered x (x must not be used after st_http_send). */
    int (*before)(struct st_http_ex *x, void *arg);
    /* Frees arg (st_http_app_release calls it); may be NULL. */
    void (*release)(void *arg);
    void *arg;
};

/*
 * The framework's state of one exchange, in x->user[ST_HTTP_CTX_SLOT] (x->arena). Apps may
 * use the other user slots.
 */
#define ST_HTTP_CTX_SLOT 0
struct st_http_app;
struct st_http_ctx {
    struct st_http_app *app;
    struct st_http_route_match match; /* valid when matched */
    bool matched;
    struct st_str request_id; /* in x->arena; empty without the request-id middleware */
};

/* The context of x, or NULL when x is not dispatched by an st_http_app. */
static inline struct st_http_ctx *st_http_ctx(const struct st_http_ex *x)
{
    return (struct st_http_ctx *)x->user[ST_HTTP_CTX_SLOT];
}

/* ---- request id ---- */

/* Longest incoming X-Request-Id accepted. */
#define ST_HTTP_REQUEST_ID_MAX 64

/*
 * X-Request-Id: an incoming id of 1..64 bytes of [A-Za-z0-9._-] is kept (a proxy in front
 * assigned it), anything else is replaced by 128 random bits in 32 hex digits. The id is
 * echoed in the response and is in st_http_request_id(x) for handlers and the access log.
 */
struct st_http_middleware st_http_mw_request_id(void);
/* True if s may be used as a request id as received. */
bool st_http_request_id_valid(struct st_str s);
/* 32 lower-case hex digits of a per-thread generator seeded from getrandom, NUL-terminated. */
void st_http_request_id_new(char out[33]);
/* The id of x; empty if the middleware is not used. */
struct st_str st_http_request_id(const struct st_http_ex *x);

/* ---- access log ---- */

/*
 * One structured line per exchange when it ends (base/log.h, level info, msg "request"):
 * method, path, status, bytes, duration_ms, request_id, peer, route. When info is
 * disabled at the time of the request, nothing is registered at all.
 */
struct st_http_middleware st_http_mw_access_log(void);

/* ---- security headers ---- */

/* Each field: NULL takes the default shown, "" leaves the header out. Strings are copied. */
struct st_http_security_opts {
    const char *content_type_options; /* X-Content-Type-Options [nosniff] */
    const char *frame_options;        /* X-Frame-Options [DENY] */
    const char *referrer_policy;      /* Referrer-Policy [no-referrer] */
    const char *csp;                  /* Content-Security-Policy of text/html responses
                                       * [ST_HTTP_CSP_DEFAULT] */
    const char *hsts;                 /* Strict-Transport-Security [none: only behind TLS] */
};
#define ST_HTTP_CSP_DEFAULT                                                                                            \
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

/* opts may be NULL (all defaults). */
struct st_http_middleware st_http_mw_security(const struct st_http_security_opts *opts);

/* ---- CORS (Fetch standard, "CORS protocol") ---- */

struct st_http_cors_opts {
    const char *const *origins; /* allowed origins, exact ("https://a.example:8443"), or "*" */
    size_t norigins;
    const char *methods; /* Access-Control-Allow-Methods [GET, HEAD, POST, PUT, PATCH, DELETE] */
    const char *headers; /* Access-Control-Allow-Headers; NULL: echo Access-Control-Request-Headers */
    const char *expose;  /* Access-Control-Expose-Headers; NULL: none */
    int max_age;         /* Access-Control-Max-Age seconds [600]; negative: leave out */
    bool credentials;    /* Access-Control-Allow-Credentials: true (then "*" reflects the Origin) */
};

/* What CORS does for one request; pure, for tests. */
struct st_http_cors_decision {
    bool allowed;     /* the Origin is allowed: send Access-Control-Allow-Origin */
    bool any_origin;  /* ...with the value "*" rather than the Origin */
    bool preflight;   /* answer now: 204 with the preflight headers */
    bool vary_origin; /* the answer depends on Origin: Vary: Origin (even without one) */
};
/* origin / acrm (Access-Control-Request-Method): ptr NULL when absent. */
void st_http_cors_decide(const struct st_http_cors_opts *o, enum st_http_method method, struct st_str origin,
                         struct st_str acrm, struct st_http_cors_decision *d);
/* Copies opts (origins too). */
struct st_http_middleware st_http_mw_cors(const struct st_http_cors_opts *opts);

/* ---- gzip ---- */

struct st_http_gzip_opts {
    size_t min_size; /* smaller bodies are sent as they are [1024] */
    int level;       /* zlib level 1..9 [6] */
};

/*
 * Compress REF and BUF bodies (never files or streams) of compressible types
 * (st_http_compressible) of at least min_size bytes, when the request's Accept-Encoding
 * takes gzip (st_http_accepts_gzip), the response has no Content-Encoding yet, its status
 * carries a representation (not 1xx, 204, 206, 304) and compressing makes it smaller.
 * Adds Content-Encoding: gzip; Vary: Accept-Encoding goes on every compressible response,
 * compressed or not, so a cache never hands the gzip variant to a client that cannot
 * read it. HEAD is treated exactly like GET, so its headers (Content-Length included)
 * are the ones GET would send. One deflate stream per worker, reset between responses.
 */
struct st_http_middleware st_http_mw_gzip(const struct st_http_gzip_opts *opts);

/*
 * Whether an Accept-Encoding value (ptr NULL: header absent) lets us send gzip (RFC 9110
 * 12.5.3): "gzip" or "x-gzip" with q > 0, or "*" with q > 0 when gzip is not named; and
 * not when identity is named with a higher q. Absent or empty: no.
 */
bool st_http_accepts_gzip(struct st_str accept_encoding);
/* Any text type, JSON and +json, JavaScript, XML and +xml (SVG included). Parameters ignored. */
bool st_http_compressible(struct st_str content_type);
/* One-shot gzip of in into a (tests, and the fallback past ST_HTTP_APP_WORKERS_MAX):
 * 0 or ST_EINTERNAL. */
int st_http_gzip(struct st_str in, int level, struct st_arena *a, struct st_str *out);

/* ---- helpers for middleware ---- */

/* Add field to the response's Vary header unless it is there already (merged into one). */
void st_http_vary(struct st_http_ex *x, const char *field);

#endif
