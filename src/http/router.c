/*
 * router.c - the segment trie behind st_http_router_match (router.h).
 *
 * A node stands for a prefix of segments. Its literal children are kept sorted by (length,
 * bytes) so a lookup is a binary search whose compares mostly stop at the length; the
 * :param child and the wildcard child are single pointers, because names do not take part
 * in matching (they live in the route, so "/u/:id" and "/u/:uid/posts" share a node).
 * Routes hang off the node where their pattern ends, with a bit mask of their methods so
 * the method check is one AND before any string is compared.
 *
 * A match walks the trie depth first in precedence order (literal, :param, wildcard),
 * pushing parameter values on a small stack in the walk state and popping them when a
 * branch fails. A failed first walk that met the path at all is followed by a second,
 * cold walk that collects the methods of every node the path matches, for 405's Allow.
 */
#include "http/router.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define ANY (-1) /* route method index: any method */

struct route {
    int method;    /* index into st_http_router.methods, or ANY */
    void *data;    /* borrowed from the caller */
    char *pattern; /* owned copy; names borrow it */
    /* One entry per dynamic segment, in order; {NULL, 0} for a bare "*". */
    struct st_str names[ST_HTTP_ROUTE_PARAMS_MAX + 1];
    size_t ndyn;
};

struct child {
    struct st_str seg; /* owned copy of the literal segment */
    struct st_http_router_node *node;
};

struct st_http_router_node {
    struct child *children; /* sorted by seg_cmp */
    size_t nchildren;
    struct st_http_router_node *param; /* ":name" */
    struct st_http_router_node *wild;  /* "*name" / "*": always a leaf */
    struct route *routes;
    size_t nroutes;
    uint32_t mask; /* bit i: a route for methods[i] */
    int any;       /* index in routes of the any-method route, or -1 */
};

/* ---- patterns ---- */

enum seg_kind { SEG_LITERAL, SEG_PARAM, SEG_WILD };

struct seg {
    enum seg_kind kind;
    struct st_str text; /* literal bytes, or the parameter name (empty for a bare "*") */
    size_t off;         /* offset in the pattern, for messages */
    bool last;
};

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_name_char(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* pchar without pct-encoded (RFC 3986 3.3): what a raw path segment may hold. */
static bool is_pchar(unsigned char c)
{
    return is_name_char(c) || (c && strchr("-.~!$&'()*+,;=:@", c));
}

static bool is_tchar(unsigned char c)
{
    return is_name_char(c) || (c && strchr("!#$%&'*+-.^`|~", c));
}

/* Split the segment starting at p (just after a '/'); returns where the next one starts. */
static const char *next_seg(const char *pattern, const char *p, struct seg *s)
{
    const char *e = strchr(p, '/');
    if (!e)
        e = p + strlen(p);
    s->off = (size_t)(p - pattern);
    s->last = *e == '\0';
    s->kind = SEG_LITERAL;
    s->text = st_str(p, (size_t)(e - p));
    if (s->text.len && (p[0] == ':' || p[0] == '*')) {
        s->kind = p[0] == ':' ? SEG_PARAM : SEG_WILD;
        s->text = st_str(p + 1, s->text.len - 1);
    }
    return s->last ? e : e + 1;
}

static int check_literal(const char *pattern, const struct seg *s, struct st_error *err)
{
    if (s->text.len == 0 && !s->last)
        return st_error_set(err, ST_EPARSE, "pattern %s: empty segment at offset %zu", pattern, s->off);
    for (size_t i = 0; i < s->text.len; i++) {
        unsigned char c = (unsigned char)s->text.ptr[i];
        if (c == '%' && i + 2 < s->text.len && is_hex((unsigned char)s->text.ptr[i + 1]) &&
            is_hex((unsigned char)s->text.ptr[i + 2])) {
            i += 2;
            continue;
        }
        if (!is_pchar(c))
            return st_error_set(err, ST_EPARSE, "pattern %s: byte 0x%02x not allowed in a path at offset %zu", pattern,
                                c, s->off + i);
    }
    return 0;
}

static int check_name(const char *pattern, const struct seg *s, const struct route *rt, struct st_error *err)
{
    if (s->text.len == 0 && s->kind == SEG_PARAM)
        return st_error_set(err, ST_EPARSE, "pattern %s: parameter without a name at offset %zu", pattern, s->off);
    for (size_t i = 0; i < s->text.len; i++) {
        if (!is_name_char((unsigned char)s->text.ptr[i]))
            return st_error_set(err, ST_EPARSE, "pattern %s: parameter names are [A-Za-z0-9_]+ (offset %zu)", pattern,
                                s->off + 1 + i);
    }
    if (s->kind == SEG_WILD && !s->last)
        return st_error_set(err, ST_EPARSE, "pattern %s: a wildcard must be the last segment (offset %zu)", pattern,
                            s->off);
    for (size_t i = 0; i < rt->ndyn; i++) {
        if (s->text.len && st_str_eq(rt->names[i], s->text))
            return st_error_set(err, ST_EPARSE, "pattern %s: parameter '%.*s' appears twice", pattern,
                                ST_STR_FMT(s->text));
    }
    return 0;
}

/* Validate rt->pattern and record its parameter names. */
static int parse_pattern(struct route *rt, struct st_error *err)
{
    const char *pattern = rt->pattern;
    if (pattern[0] != '/')
        return st_error_set(err, ST_EPARSE, "pattern %s: must start with '/'", pattern);
    size_t named = 0;
    struct seg s;
    for (const char *p = pattern + 1;;) {
        p = next_seg(pattern, p, &s);
        int rc = s.kind == SEG_LITERAL ? check_literal(pattern, &s, err) : check_name(pattern, &s, rt, err);
        if (rc)
            return rc;
        if (s.kind != SEG_LITERAL) {
            named += s.text.len > 0;
            if (named > ST_HTTP_ROUTE_PARAMS_MAX)
                return st_error_set(err, ST_ELIMIT, "pattern %s: more than %d parameters", pattern,
                                    ST_HTTP_ROUTE_PARAMS_MAX);
            rt->names[rt->ndyn++] = s.text.len ? s.text : st_str(NULL, 0);
        }
        if (s.last)
            return 0;
    }
}

/* ---- methods ---- */

/* Byte loop instead of memcmp: methods are a few bytes, shorter than a libc call. */
static bool short_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i])
            return false;
    }
    return true;
}

static int method_index(const struct st_http_router *r, struct st_str m)
{
    for (size_t i = 0; i < r->nmethods; i++) {
        if (r->method_len[i] == m.len && short_eq(r->methods[i], m.ptr, m.len))
            return (int)i;
    }
    return -1;
}

/* The index of method, added to the router's table if new. */
static int intern_method(struct st_http_router *r, const char *method, struct st_error *err)
{
    struct st_str m = st_str_c(method);
    int i = method_index(r, m);
    if (i >= 0)
        return i;
    size_t allow = r->allow_len + (r->nmethods ? 2 : 0) + m.len;
    if (r->nmethods == ST_HTTP_ROUTER_METHODS_MAX || allow >= ST_HTTP_ROUTE_ALLOW_MAX)
        return st_error_set(err, ST_ELIMIT, "method %s: too many distinct methods in one router", method);
    size_t n = r->nmethods++;
    memcpy(r->methods[n], method, m.len + 1);
    r->method_len[n] = (uint8_t)m.len;
    r->allow_len = allow;
    /* Insertion into the sorted order: the list is short and this is set-up time. */
    size_t at = n;
    while (at > 0 && strcmp(r->methods[r->sorted[at - 1]], method) > 0) {
        r->sorted[at] = r->sorted[at - 1];
        at--;
    }
    r->sorted[at] = (uint8_t)n;
    return (int)n;
}

static int check_method(const char *method, struct st_error *err)
{
    size_t n = strlen(method);
    if (n == 0 || n > ST_HTTP_ROUTER_METHOD_LEN)
        return st_error_set(err, ST_EPARSE, "method '%s': must be 1 to %d characters", method,
                            ST_HTTP_ROUTER_METHOD_LEN);
    for (size_t i = 0; i < n; i++) {
        if (!is_tchar((unsigned char)method[i]))
            return st_error_set(err, ST_EPARSE, "method '%s': not a token", method);
    }
    return 0;
}

/* ---- the trie ---- */

static int seg_cmp(struct st_str a, struct st_str b)
{
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    if (a.len == 0)
        return 0;
    /* The first byte settles most compares without a call into libc. */
    if (a.ptr[0] != b.ptr[0])
        return (unsigned char)a.ptr[0] < (unsigned char)b.ptr[0] ? -1 : 1;
    return memcmp(a.ptr, b.ptr, a.len);
}

/* Index of the first child not less than seg. */
static size_t child_pos(const struct st_http_router_node *n, struct st_str seg)
{
    size_t lo = 0, hi = n->nchildren;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg_cmp(n->children[mid].seg, seg) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct st_http_router_node *find_child(const struct st_http_router_node *n, struct st_str seg)
{
    size_t i = child_pos(n, seg);
    if (i < n->nchildren && seg_cmp(n->children[i].seg, seg) == 0)
        return n->children[i].node;
    return NULL;
}

static struct st_http_router_node *node_new(void)
{
    struct st_http_router_node *n = st_xcalloc(1, sizeof(*n));
    n->any = -1;
    return n;
}

static struct st_http_router_node *literal_child(struct st_http_router_node *n, struct st_str seg)
{
    size_t i = child_pos(n, seg);
    if (i < n->nchildren && seg_cmp(n->children[i].seg, seg) == 0)
        return n->children[i].node;
    n->children = st_xrealloc(n->children, (n->nchildren + 1) * sizeof(*n->children));
    memmove(&n->children[i + 1], &n->children[i], (n->nchildren - i) * sizeof(*n->children));
    n->nchildren++;
    n->children[i].seg = st_str(st_xstrndup(seg.ptr ? seg.ptr : "", seg.len), seg.len);
    n->children[i].node = node_new();
    return n->children[i].node;
}

/* The child of n for one pattern segment, created if missing. */
static struct st_http_router_node *child_for(struct st_http_router_node *n, const struct seg *s)
{
    if (s->kind == SEG_LITERAL)
        return literal_child(n, s->text);
    struct st_http_router_node **slot = s->kind == SEG_PARAM ? &n->param : &n->wild;
    if (!*slot)
        *slot = node_new();
    return *slot;
}

/* The node where the pattern ends, created as needed (the pattern is already valid). */
static struct st_http_router_node *insert_path(struct st_http_router_node *n, const char *pattern)
{
    struct seg s;
    for (const char *p = pattern + 1;;) {
        p = next_seg(pattern, p, &s);
        n = child_for(n, &s);
        if (s.last)
            return n;
    }
}

static const struct route *route_for(const struct st_http_router_node *n, int method)
{
    for (size_t i = 0; i < n->nroutes; i++) {
        if (n->routes[i].method == method)
            return &n->routes[i];
    }
    return NULL;
}

static void node_free(struct st_http_router_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nchildren; i++) {
        free((char *)n->children[i].seg.ptr);
        node_free(n->children[i].node);
    }
    for (size_t i = 0; i < n->nroutes; i++)
        free(n->routes[i].pattern);
    free(n->children);
    free(n->routes);
    node_free(n->param);
    node_free(n->wild);
    free(n);
}

/* ---- set-up ---- */

void st_http_router_init(struct st_http_router *r)
{
    memset(r, 0, sizeof(*r));
    r->get_idx = -1;
}

void st_http_router_release(struct st_http_router *r)
{
    node_free(r->root);
    st_http_router_init(r);
}

static int check_conflict(const struct st_http_router *r, const struct st_http_router_node *leaf,
                          const struct route *rt, struct st_error *err)
{
    const struct route *old = route_for(leaf, rt->method);
    if (!old)
        return 0;
    return st_error_set(err, ST_ECONFLICT, "route %s %s conflicts with %s %s",
                        rt->method == ANY ? "*" : r->methods[rt->method], rt->pattern,
                        old->method == ANY ? "*" : r->methods[old->method], old->pattern);
}

/* The method's index, interned; for GET, HEAD is interned first so a GET route's Allow
 * can always name it. A negative status on failure. */
static int method_slot(struct st_http_router *r, const char *method, struct st_error *err)
{
    int rc = check_method(method, err);
    if (!rc && strcmp(method, "GET") == 0)
        rc = intern_method(r, "HEAD", err);
    return rc < 0 ? rc : intern_method(r, method, err);
}

/* Validate method and pattern; on success *rt holds the owned pattern copy and the names. */
static int prepare(struct st_http_router *r, const char *method, const char *pattern, struct route *rt,
                   struct st_error *err)
{
    rt->pattern = st_xstrdup(pattern);
    int rc = parse_pattern(rt, err);
    if (!rc && method && strcmp(method, "*") != 0) {
        rt->method = method_slot(r, method, err);
        rc = rt->method < 0 ? rt->method : 0;
    }
    if (rc) {
        free(rt->pattern);
        rt->pattern = NULL;
    }
    return rc;
}

int st_http_router_add(struct st_http_router *r, const char *method, const char *pattern, void *handler_data,
                       struct st_error *err)
{
    if (!pattern) {
        st_error_set(err, ST_EPARSE, "pattern: missing");
        return ST_EPARSE;
    }
    struct route rt = { .method = ANY, .data = handler_data };
    int rc = prepare(r, method, pattern, &rt, err);
    if (rc)
        return rc;
    if (!r->root)
        r->root = node_new();
    struct st_http_router_node *leaf = insert_path(r->root, rt.pattern);
    rc = check_conflict(r, leaf, &rt, err);
    if (rc) {
        free(rt.pattern);
        return rc;
    }
    leaf->routes = st_xrealloc(leaf->routes, (leaf->nroutes + 1) * sizeof(*leaf->routes));
    leaf->routes[leaf->nroutes] = rt;
    if (rt.method == ANY)
        leaf->any = (int)leaf->nroutes;
    else
        leaf->mask |= 1u << rt.method;
    leaf->nroutes++;
    if (rt.method != ANY && strcmp(r->methods[rt.method], "GET") == 0)
        r->get_idx = rt.method;
    r->nroutes++;
    return 0;
}

/* ---- matching ---- */

struct walk {
    int method;   /* index of the request's method, -1 if no route uses it */
    int head_get; /* index of GET when the request is HEAD, else -1 */
    bool collect; /* second walk: gather methods for Allow instead of matching */
    bool seen;    /* some node with routes matched the whole path */
    uint32_t mask;
    const struct route *hit;
    struct st_str vals[ST_HTTP_ROUTE_PARAMS_MAX + 1]; /* dynamic segments on the current branch */
    size_t nvals;
};

static const struct route *pick(const struct st_http_router_node *n, const struct walk *w)
{
    if (w->method >= 0 && (n->mask >> w->method & 1))
        return route_for(n, w->method);
    if (w->head_get >= 0 && (n->mask >> w->head_get & 1))
        return route_for(n, w->head_get);
    return n->any >= 0 ? &n->routes[n->any] : NULL;
}

/* The path ended at n: does n take the request? */
static bool accept(const struct st_http_router_node *n, struct walk *w)
{
    if (!n->nroutes)
        return false;
    w->seen = true;
    if (w->collect) {
        w->mask |= n->mask;
        return false;
    }
    w->hit = pick(n, w);
    return w->hit != NULL;
}

static bool walk(const struct st_http_router_node *n, const char *s, const char *end, struct walk *w);

/* Continue below n: with the segments after slash, or, at the end of the path, at n. */
static bool step(const struct st_http_router_node *n, const char *slash, const char *end, struct walk *w)
{
    return slash ? walk(n, slash + 1, end, w) : accept(n, w);
}

/* Try n's children on the segment starting at s, in precedence order. */
static bool walk(const struct st_http_router_node *n, const char *s, const char *end, struct walk *w)
{
    const char *slash = memchr(s, '/', (size_t)(end - s));
    struct st_str seg = st_str(s, (size_t)((slash ? slash : end) - s));
    const struct st_http_router_node *lit = n->nchildren ? find_child(n, seg) : NULL;
    if (lit && step(lit, slash, end, w))
        return true;
    /* nvals cannot overflow: every dynamic node lies on some pattern's path, and a
     * pattern has at most PARAMS_MAX named parameters plus one bare wildcard. */
    if (n->param && seg.len > 0) {
        w->vals[w->nvals++] = seg;
        if (step(n->param, slash, end, w))
            return true;
        w->nvals--;
    }
    if (n->wild) {
        w->vals[w->nvals++] = st_str(s, (size_t)(end - s));
        if (accept(n->wild, w))
            return true;
        w->nvals--;
    }
    return false;
}

static void fill_params(const struct walk *w, struct st_http_route_match *m)
{
    const struct route *rt = w->hit;
    m->data = rt->data;
    m->pattern = rt->pattern;
    for (size_t i = 0; i < rt->ndyn; i++) {
        if (rt->names[i].ptr)
            m->params[m->nparams++] = (struct st_http_route_param){ rt->names[i], w->vals[i] };
    }
}

/* m->allow from a method mask: sorted names joined by ", " (fits by intern_method). */
static void fill_allow(const struct st_http_router *r, uint32_t mask, struct st_http_route_match *m)
{
    int head = method_index(r, ST_STR_LIT("HEAD")); /* interned with GET */
    if (r->get_idx >= 0 && (mask >> r->get_idx & 1) && head >= 0)
        mask |= 1u << head;
    size_t len = 0;
    for (size_t k = 0; k < r->nmethods; k++) {
        int i = r->sorted[k];
        if (!(mask >> i & 1))
            continue;
        if (len) {
            memcpy(m->allow + len, ", ", 2);
            len += 2;
        }
        memcpy(m->allow + len, r->methods[i], r->method_len[i]);
        len += r->method_len[i];
    }
    m->allow[len] = '\0';
}

int st_http_router_match(const struct st_http_router *r, struct st_str method, struct st_str path,
                         struct st_http_route_match *m)
{
    m->data = NULL;
    m->pattern = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    if (!r->root || path.len == 0 || path.ptr[0] != '/')
        return ST_ENOTFOUND;
    /* Field by field: a designated initializer would zero vals[] on every request. */
    struct walk w;
    w.method = method_index(r, method);
    w.head_get = method.len == 4 && short_eq(method.ptr, "HEAD", 4) ? r->get_idx : -1;
    w.collect = false;
    w.seen = false;
    w.mask = 0;
    w.hit = NULL;
    w.nvals = 0;
    const char *end = path.ptr + path.len;
    if (walk(r->root, path.ptr + 1, end, &w)) {
        fill_params(&w, m);
        return 0;
    }
    if (!w.seen)
        return ST_ENOTFOUND;
    w.collect = true;
    w.nvals = 0;
    walk(r->root, path.ptr + 1, end, &w);
    fill_allow(r, w.mask, m);
    return ST_HTTP_ROUTE_METHOD;
}

struct st_str st_http_route_param(const struct st_http_route_match *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++) {
        if (st_str_eq_c(m->params[i].name, name))
            return m->params[i].value;
    }
    return st_str(NULL, 0);
}
