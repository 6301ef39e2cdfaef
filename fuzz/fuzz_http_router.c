/*
 * fuzz_http_router.c - libFuzzer target for st_http_router_match (src/http/router.c).
 *
 * Input: "METHOD\nPATH" (without a newline the method is GET and the whole input is the
 * path). The router holds a fixed set of routes with literals, :params, named and bare
 * wildcards, trailing slashes, same-shape patterns under different methods and an
 * any-method route. The oracle is a naive matcher that tries every route on its own:
 *   - a found route's pattern matches the path segment by segment (literal segments equal
 *     the path's, :params are one non-empty segment, a wildcard is the rest of the path),
 *     it takes the method (exact, HEAD served by GET, or any), and it is the one the
 *     precedence rule picks: per segment literal before :param before wildcard, then
 *     exact method before HEAD-by-GET before any;
 *   - its parameters are exactly the pattern's names, in order, with values that are the
 *     very slices of the path the naive matcher cut (so they lie within the path);
 *   - 404 exactly when no pattern matches the path; 405 exactly when some do but none
 *     takes the method, with Allow listing their methods (HEAD with GET), sorted;
 *   - a failed match leaves no route, pattern or parameter behind.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/err.h"
#include "base/str.h"
#include "http/router.h"

struct route {
    const char *method; /* "*": any */
    const char *pattern;
};

static const struct route routes[] = {
    { "GET", "/" },
    { "GET", "/users" },
    { "GET", "/users/" },
    { "POST", "/users" },
    { "GET", "/users/new" },
    { "GET", "/users/:id" },
    { "PUT", "/users/:uid" }, /* the shape of GET /users/:id, another name */
    { "GET", "/users/:id/edit" },
    { "DELETE", "/users/:id/posts/:post" },
    { "GET", "/users/:id/*rest" },
    { "GET", "/files/*path" },
    { "*", "/static/*" },
    { "GET", "/v1/users:batchGet" },
    { "GET", "/a/:x/b/:y/c/*rest" },
    { "PATCH", "/a/:x/b" },
    { "*", "/any/:p" },
    { "GET", "/:lang/docs" },
    { "HEAD", "/:lang/docs" },
    { "OPTIONS", "/:lang/:page" },
    { "GET", "/%7Euser/:id" },
    { "GET", "/dl/*" },
    { "POST", "/dl/:name/" },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

enum kind { K_LITERAL, K_PARAM, K_WILD };

/* What the naive matcher found for one route. */
struct naive {
    bool match;
    enum kind kinds[16];
    size_t nsegs;
    struct st_str names[ST_HTTP_ROUTE_PARAMS_MAX];
    struct st_str vals[ST_HTTP_ROUTE_PARAMS_MAX];
    size_t nparams;
};

static struct st_http_router router;

static void build(void)
{
    st_http_router_init(&router);
    for (size_t i = 0; i < NROUTES; i++) {
        struct st_error err;
        CHECK(st_http_router_add(&router, routes[i].method, routes[i].pattern, (void *)&routes[i], &err) == 0);
    }
}

/* Match one pattern against path on its own, by the rules of router.h. */
static void naive_match(const char *pattern, struct st_str path, struct naive *n)
{
    memset(n, 0, sizeof(*n));
    const char *pos = path.ptr + 1, *end = path.ptr + path.len;
    const char *p = pattern + 1;
    for (;;) {
        const char *pe = strchr(p, '/');
        bool last = !pe;
        if (!pe)
            pe = p + strlen(p);
        struct st_str seg = st_str(p, (size_t)(pe - p));
        CHECK(n->nsegs < 16);
        if (seg.len && seg.ptr[0] == '*') {
            n->kinds[n->nsegs++] = K_WILD;
            if (seg.len > 1) {
                n->names[n->nparams] = st_str(seg.ptr + 1, seg.len - 1);
                n->vals[n->nparams++] = st_str(pos, (size_t)(end - pos));
            }
            n->match = true;
            return;
        }
        const char *slash = memchr(pos, '/', (size_t)(end - pos));
        struct st_str pseg = st_str(pos, (size_t)((slash ? slash : end) - pos));
        if (seg.len && seg.ptr[0] == ':') {
            if (pseg.len == 0)
                return;
            n->kinds[n->nsegs++] = K_PARAM;
            n->names[n->nparams] = st_str(seg.ptr + 1, seg.len - 1);
            n->vals[n->nparams++] = pseg;
        } else {
            if (!st_str_eq(seg, pseg))
                return;
            n->kinds[n->nsegs++] = K_LITERAL;
        }
        if (last) {
            n->match = !slash;
            return;
        }
        if (!slash)
            return;
        pos = slash + 1;
        p = pe + 1;
    }
}

/* How a route takes the method: 0 exact, 1 HEAD served by GET, 2 any method, -1 not. */
static int method_rank(const char *rm, struct st_str method)
{
    if (st_str_eq_c(method, rm))
        return 0;
    if (strcmp(rm, "GET") == 0 && st_str_eq_c(method, "HEAD"))
        return 1;
    return strcmp(rm, "*") == 0 ? 2 : -1;
}

/* Precedence: <0 when route a (with rank ra) is preferred to b. */
static int prefer(const struct naive *a, int ra, const struct naive *b, int rb)
{
    for (size_t i = 0; i < a->nsegs && i < b->nsegs; i++)
        if (a->kinds[i] != b->kinds[i])
            return (int)a->kinds[i] - (int)b->kinds[i];
    /* Both matched the same path with the same kinds: the same trie node. */
    CHECK(a->nsegs == b->nsegs);
    return ra - rb;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The Allow value for the methods of the matching routes (HEAD with GET), sorted. */
static void naive_allow(const struct naive *nv, char *out, size_t cap)
{
    const char *ms[NROUTES + 1] = { 0 };
    size_t k = 0;
    bool get = false;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!nv[i].match)
            continue;
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            dup |= strcmp(ms[j], routes[i].method) == 0;
        if (!dup)
            ms[k++] = routes[i].method;
        get |= strcmp(routes[i].method, "GET") == 0;
    }
    bool head = false;
    for (size_t j = 0; j < k; j++)
        head |= strcmp(ms[j], "HEAD") == 0;
    if (get && !head)
        ms[k++] = "HEAD";
    qsort(ms, k, sizeof(ms[0]), cmp_str);
    size_t len = 0;
    out[0] = '\0';
    for (size_t j = 0; j < k; j++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", j ? ", " : "", ms[j]);
    CHECK(len < cap);
}

static void check(struct st_str method, struct st_str path)
{
    struct st_http_route_match m;
    int rc = st_http_router_match(&router, method, path, &m);
    CHECK(rc == 0 || rc == ST_ENOTFOUND || rc == ST_HTTP_ROUTE_METHOD);
    if (rc) {
        CHECK(m.data == NULL && m.pattern == NULL && m.nparams == 0);
        CHECK(rc == ST_HTTP_ROUTE_METHOD || m.allow[0] == '\0');
    }
    if (path.len == 0 || path.ptr[0] != '/') {
        CHECK(rc == ST_ENOTFOUND);
        return;
    }

    static struct naive nv[NROUTES];
    size_t best = NROUTES;
    int best_rank = 0;
    bool any_match = false;
    for (size_t i = 0; i < NROUTES; i++) {
        naive_match(routes[i].pattern, path, &nv[i]);
        if (!nv[i].match)
            continue;
        any_match = true;
        int rank = method_rank(routes[i].method, method);
        if (rank < 0)
            continue;
        if (best == NROUTES || prefer(&nv[i], rank, &nv[best], best_rank) < 0) {
            best = i;
            best_rank = rank;
        }
    }

    if (best < NROUTES) {
        CHECK(rc == 0);
        const struct route *rt = m.data;
        CHECK(rt == &routes[best]);
        CHECK(m.pattern && strcmp(m.pattern, rt->pattern) == 0);
        const struct naive *n = &nv[best];
        CHECK(m.nparams == n->nparams);
        for (size_t i = 0; i < m.nparams; i++) {
            struct st_str v = m.params[i].value;
            CHECK(st_str_eq(m.params[i].name, n->names[i]));
            CHECK(v.ptr == n->vals[i].ptr && v.len == n->vals[i].len);
            CHECK(v.ptr >= path.ptr && v.ptr + v.len <= path.ptr + path.len);
            char name[32];
            CHECK(n->names[i].len < sizeof(name));
            memcpy(name, n->names[i].ptr, n->names[i].len);
            name[n->names[i].len] = '\0';
            struct st_str byname = st_http_route_param(&m, name);
            CHECK(byname.ptr == v.ptr && byname.len == v.len);
        }
        CHECK(m.allow[0] == '\0');
        return;
    }
    if (!any_match) {
        CHECK(rc == ST_ENOTFOUND);
        return;
    }
    CHECK(rc == ST_HTTP_ROUTE_METHOD);
    char allow[ST_HTTP_ROUTE_ALLOW_MAX];
    naive_allow(nv, allow, sizeof(allow));
    CHECK(strcmp(m.allow, allow) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool built;
    if (!built) {
        build();
        built = true;
    }
    if (size > 4096)
        return 0;
    /* A copy of exactly size bytes, so ASan sees any read past the path. */
    char *buf = malloc(size ? size : 1);
    CHECK(buf);
    memcpy(buf, data, size);
    const char *nl = memchr(buf, '\n', size);
    struct st_str method = ST_STR_LIT("GET"), path = st_str(buf, size);
    if (nl) {
        method = st_str(buf, (size_t)(nl - buf));
        path = st_str(nl + 1, size - (size_t)(nl + 1 - buf));
    }
    check(method, path);
    /* The same path as HEAD and with a method no route has. */
    check(ST_STR_LIT("HEAD"), path);
    check(ST_STR_LIT("BREW"), path);
    free(buf);
    return 0;
}
