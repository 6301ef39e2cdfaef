/*
 * ratelimit.h - per-client request limits: a limiter shared by every worker, and the
 * middleware that applies it to an st_http_app (RateLimit-* headers, 429 when over).
 *
 *   static const char *const exempt[] = { "/healthz", "/readyz", "/metrics", NULL };
 *   struct st_http_ratelimit_opts o = { .limit = 100, .window_ms = 3600 * 1000, .exempt = exempt };
 *   st_http_app_use(&app, st_http_mw_ratelimit(&o));
 *
 * The window slides: a request counts against its client for window_ms (rounded up to
 * the window's 1/60th, see ratelimit.c), so a client never gets more than limit requests
 * into any window_ms-long stretch of time. Refused requests are not counted.
 *
 * Invariants of the module:
 *   - One limiter is shared by every worker thread: its table is split into stripes, each
 *     behind its own mutex, so workers contend only when their clients share a stripe.
 *   - Memory is bounded: a client whose requests have all left the window is forgotten,
 *     and past max_clients the least recently seen client is evicted (forgetting a client
 *     only ever gives it back its whole quota).
 *   - The client key is the key header's value when present (its first
 *     ST_HTTP_RATELIMIT_KEY_MAX bytes), else the peer's IP address without the port; the
 *     two never collide.
 */
#ifndef ST_HTTP_RATELIMIT_H
#define ST_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "http/middleware.h"

/* Longest client key kept; longer key header values are cut (a client can only share its
 * own quota with keys that agree on this many bytes). */
#define ST_HTTP_RATELIMIT_KEY_MAX 256

struct st_http_ratelimit_opts {
    unsigned limit;                 /* requests per window per client [100] */
    int64_t window_ms;              /* the window [3600000: one hour] */
    const char *key_header;         /* request header naming the client [X-API-Key]; "" always uses the peer */
    const char *const *exempt;      /* path prefixes never limited nor given headers, NULL-terminated; NULL: none */
    size_t max_clients;             /* clients tracked at once [10000] */
    int64_t (*clock_ms)(void *arg); /* a millisecond clock [monotonic]; tests pass a fake one */
    void *clock_arg;
};

/* What the limiter decided for one request. */
struct st_http_ratelimit_result {
    bool allowed;       /* false: over the limit (the request was not counted) */
    unsigned limit;     /* RateLimit-Limit */
    unsigned remaining; /* RateLimit-Remaining: requests left in the window after this one */
    int64_t reset_s;    /* RateLimit-Reset: seconds until the window frees a request (0: it has
                         * nothing to free); when refused, also the Retry-After */
};

struct st_http_ratelimit;

/* A limiter with the options o (may be NULL: all defaults; copied). Aborts when out of
 * memory, like every server-side allocation. */
struct st_http_ratelimit *st_http_ratelimit_new(const struct st_http_ratelimit_opts *o);
/* Free it (NULL is fine); no thread may use it any more. */
void st_http_ratelimit_free(struct st_http_ratelimit *rl);

/* Count one request of client key (any bytes; cut at ST_HTTP_RATELIMIT_KEY_MAX) at the
 * limiter's clock, unless it is over the limit. Thread-safe. */
void st_http_ratelimit_take(struct st_http_ratelimit *rl, struct st_str key, struct st_http_ratelimit_result *r);

/* Clients tracked now (tests of the memory bound). Thread-safe. */
size_t st_http_ratelimit_clients(struct st_http_ratelimit *rl);

/*
 * The middleware: for a request whose path starts with no exempt prefix, take one request
 * of its client; every such answer then carries RateLimit-Limit, RateLimit-Remaining and
 * RateLimit-Reset (unless the handler set them), and a request over the limit is answered
 * at once with 429 problem+json {"code":"rate_limited",...} and Retry-After: the handler
 * does not run. o may be NULL (defaults); it is copied, exempt prefixes included.
 */
struct st_http_middleware st_http_mw_ratelimit(const struct st_http_ratelimit_opts *o);

#endif
