/*
 * router.h - maps (method, path) to a handler: a trie of path segments.
 *
 * Patterns are '/'-separated segments, each one of:
 *   literal    "users", "v1", "users:batchGet" - matched byte for byte (case-sensitive);
 *   :name      exactly one non-empty segment, captured as parameter "name";
 *   *name, *   the rest of the path, possibly empty; only as the last segment. "*name"
 *              captures it as parameter "name", a bare "*" captures nothing.
 * "/" is the pattern of the root; "/users/" (trailing slash) is a different pattern from
 * "/users" and each matches only itself (strict: a redirect between them, if wanted, is
 * the application's decision, not a silent alias). Empty segments are allowed only as the
 * trailing slash. Parameter names are [A-Za-z0-9_]+, unique within a pattern, and a pattern
 * has at most ST_HTTP_ROUTE_PARAMS_MAX of them.
 *
 * Invariants of the module:
 *   - Precedence does not depend on registration order: at each segment a literal child is
 *     tried first, then the :param child, then the wildcard. If a branch fails deeper down
 *     the next one is tried (GET /users/new and GET /users/:id/edit both work), and each
 *     trie node is visited at most once per match, so a match costs O(nodes) at worst and
 *     O(segments * log(children)) in the usual case.
 *   - The method is checked after the path: a pattern whose routes do not take the method
 *     is skipped for the next one that matches the path and does (POST /users/new reaches
 *     POST /users/:id although GET /users/new exists). Only when none does is the answer
 *     405, with the methods of every pattern the path matches in Allow.
 *   - Matching runs on the still percent-encoded path: an encoded "%2F" is data inside a
 *     segment, not a separator, which only holds if segments are split before decoding.
 *     Parameters are therefore returned raw; decode them with st_http_pct_decode (with
 *     ST_HTTP_PCT_SEGMENT to refuse a decoded '/' or NUL). Literal segments of a pattern
 *     are compared with the raw bytes too, so register them unencoded where possible.
 *   - st_http_router_match() allocates nothing and writes only into the caller's match:
 *     it is on the hot path of every request. All allocation happens in st_http_router_add.
 *   - A router is built once, then only read: concurrent matches from several threads are
 *     safe as long as nobody adds routes at the same time.
 *
 * Methods are case-sensitive tokens (RFC 9110 9.1). A route for any method is registered
 * with "*" or NULL; at one node an exact method beats HEAD-served-by-GET, which beats the
 * any-method route. HEAD is implied by GET (RFC 9110 9.3.2: the server answers HEAD like
 * GET without the body); OPTIONS is never added automatically.
 */
#ifndef ST_HTTP_ROUTER_H
#define ST_HTTP_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/str.h"

/* Most parameters in one pattern (named wildcard included). */
#define ST_HTTP_ROUTE_PARAMS_MAX 8
/* Most distinct methods in one router (HEAD, added for GET, counts). */
#define ST_HTTP_ROUTER_METHODS_MAX 32
/* Longest method name accepted by st_http_router_add (the parser refuses longer ones too). */
#define ST_HTTP_ROUTER_METHOD_LEN 32
/* Size of st_http_route_match.allow: every method of the router fits, with ", " between. */
#define ST_HTTP_ROUTE_ALLOW_MAX 256

/*
 * The status of st_http_router_match() when the path matches a pattern but no route of
 * that pattern takes the request's method: answer 405 with an Allow header (RFC 9110
 * 15.5.6). It is ST_ECONFLICT, which the matcher never returns otherwise.
 */
#define ST_HTTP_ROUTE_METHOD ST_ECONFLICT

struct st_http_router_node;

struct st_http_router {
    struct st_http_router_node *root; /* owned; NULL until the first route */
    /* Distinct methods seen, indexed by the bit that nodes use in their method masks. */
    char methods[ST_HTTP_ROUTER_METHODS_MAX][ST_HTTP_ROUTER_METHOD_LEN + 1];
    uint8_t method_len[ST_HTTP_ROUTER_METHODS_MAX];
    uint8_t sorted[ST_HTTP_ROUTER_METHODS_MAX]; /* method indexes in strcmp order, for Allow */
    size_t nmethods;
    size_t allow_len; /* length of all methods joined by ", " (kept below ALLOW_MAX) */
    int get_idx;      /* index of "GET", -1 if no GET route: HEAD falls back to it */
    size_t nroutes;   /* routes registered */
};

struct st_http_route_param {
    struct st_str name;  /* the name in the pattern (borrows the router) */
    struct st_str value; /* raw, still percent-encoded (borrows the matched path) */
};

struct st_http_route_match {
    void *data;          /* the handler_data given to st_http_router_add */
    const char *pattern; /* the pattern as registered (owned by the router): a low-cardinality
                          * label for metrics and logs, unlike the path */
    struct st_http_route_param params[ST_HTTP_ROUTE_PARAMS_MAX]; /* in pattern order */
    size_t nparams;
    /* On ST_HTTP_ROUTE_METHOD: the methods the path takes, sorted, "GET, HEAD, POST"
     * (NUL-terminated); the empty string otherwise. */
    char allow[ST_HTTP_ROUTE_ALLOW_MAX];
};

/* An empty router. Allocates nothing. */
void st_http_router_init(struct st_http_router *r);
/* Free every node and pattern copy; the router is empty (and reusable) afterwards. The
 * handler_data pointers are not the router's: the caller frees them. */
void st_http_router_release(struct st_http_router *r);

/*
 * Register handler_data for method ("*" or NULL: any method) and pattern. The router
 * copies the pattern; handler_data is borrowed. Returns:
 *   0             added;
 *   ST_EPARSE     malformed pattern or method (err says what and where);
 *   ST_ECONFLICT  a route with the same method and the same pattern shape exists
 *                 ("/u/:id" and "/u/:name" have the same shape);
 *   ST_ELIMIT     more than ST_HTTP_ROUTE_PARAMS_MAX parameters, or more distinct
 *                 methods than ST_HTTP_ROUTER_METHODS_MAX / ST_HTTP_ROUTE_ALLOW_MAX allow.
 * On error the router is unchanged in behaviour (it may keep an empty node).
 */
int st_http_router_add(struct st_http_router *r, const char *method, const char *pattern, void *handler_data,
                       struct st_error *err);

/*
 * Find the route for method and path (the raw origin-form path, without the query). m is
 * written on every call. Returns:
 *   0                      found: m->data, m->pattern, m->params[0..m->nparams);
 *   ST_ENOTFOUND           no pattern matches the path (404); also for a path that does
 *                          not start with '/' (asterisk- and authority-form targets);
 *   ST_HTTP_ROUTE_METHOD   some pattern matches the path, but not for this method (405):
 *                          m->allow lists the methods that would have matched.
 * Parameter values borrow path; keep it alive while m is used.
 */
int st_http_router_match(const struct st_http_router *r, struct st_str method, struct st_str path,
                         struct st_http_route_match *m);

/* The raw value of the parameter called name, or {NULL, 0} if the match has none. */
struct st_str st_http_route_param(const struct st_http_route_match *m, const char *name);

#endif
