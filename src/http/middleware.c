/*
 * middleware.c - the built-in middleware of st_http_app: request id, access log, security
 * headers, CORS, gzip; and the pure decisions behind them (Accept-Encoding negotiation,
 * request-id validation, CORS), kept separate so the tests can call them directly.
 *
 * Every middleware follows the same shape: a `before` that looks at the request and
 * registers exchange hooks (st_http_on_send / st_http_on_done, nodes in x->arena), and a
 * configuration struct copied at construction and freed by `release`. Nothing here
 * allocates from the heap per request; gzip's deflate streams are allocated once per
 * worker and reset between responses (deflateInit costs ~270 KiB of zlib state).
 */
#include "http/middleware.h"

#define ZLIB_CONST
#include <zlib.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/err.h"
#include "base/log.h"
#include "base/time.h"

/* ---- helpers ---- */

static bool ieq_prefix(struct st_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && st_str_ieq(st_str(s.ptr, n), st_str(prefix, n));
}

static bool ieq_suffix(struct st_str s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len >= n && st_str_ieq(st_str(s.ptr + s.len - n, n), st_str(suffix, n));
}

/* True if the comma-separated list has the token (any case), or "*". */
static bool list_has(struct st_str list, struct st_str token)
{
    struct st_str item;
    while (list.len) {
        list = st_str_cut(list, ',', &item, NULL);
        item = st_str_trim(item);
        if (st_str_ieq(item, token) || st_str_eq_c(item, "*"))
            return true;
    }
    return false;
}

void st_http_vary(struct st_http_ex *x, const char *field)
{
    struct st_str cur = st_http_res_header(x, "Vary");
    struct st_str f = st_str_c(field);
    if (!cur.ptr || !cur.len) {
        if (cur.ptr)
            st_http_res_header_remove(x, "Vary");
        st_http_header(x, ST_STR_LIT("Vary"), f);
        return;
    }
    if (list_has(cur, f))
        return;
    char *v = st_arena_printf(x->arena, "%.*s, %s", ST_STR_FMT(cur), field);
    st_http_res_header_remove(x, "Vary");
    st_http_header(x, ST_STR_LIT("Vary"), st_str_c(v));
}

static void header_if_absent(struct st_http_ex *x, struct st_str name, struct st_str value)
{
    if (!value.len)
        return;
    char cname[64];
    if (name.len >= sizeof cname)
        return;
    memcpy(cname, name.ptr, name.len);
    cname[name.len] = '\0';
    if (st_http_res_header(x, cname).ptr)
        return;
    st_http_header(x, name, value);
}

/* ---- request id ---- */

/* xoshiro256** (Blackman and Vigna): fast, 256-bit state; seeded per thread from getrandom.
 * Request ids need to be unique, not secret, so a CSPRNG call per request is not needed. */
static _Thread_local uint64_t rng[4];
static _Thread_local bool rng_ready;

static inline uint64_t rotl(uint64_t v, int k)
{
    return (v << k) | (v >> (64 - k));
}

static uint64_t rng_next(void)
{
    uint64_t r = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return r;
}

static __attribute__((noinline)) void rng_seed(void)
{
    size_t got = 0;
    while (got < sizeof rng) {
        ssize_t n = getrandom((char *)rng + got, sizeof rng - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            st_panic("request id: getrandom failed");
        got += (size_t)n;
    }
    if (!(rng[0] | rng[1] | rng[2] | rng[3]))
        rng[0] = 1; /* the all-zero state is the one fixed point */
    rng_ready = true;
}

void st_http_request_id_new(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    if (!rng_ready)
        rng_seed();
    uint64_t w[2] = { rng_next(), rng_next() };
    for (int i = 0; i < 32; i++)
        out[i] = hex[(w[i / 16] >> (60 - 4 * (i % 16))) & 15];
    out[32] = '\0';
}

bool st_http_request_id_valid(struct st_str s)
{
    if (!s.ptr || s.len == 0 || s.len > ST_HTTP_REQUEST_ID_MAX)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-';
        if (!ok)
            return false;
    }
    return true;
}

struct st_str st_http_request_id(const struct st_http_ex *x)
{
    const struct st_http_ctx *c = st_http_ctx(x);
    return c ? c->request_id : st_str(NULL, 0);
}

struct reqid {
    struct st_str id;
};

static void reqid_send(struct st_http_ex *x, void *arg)
{
    const struct reqid *r = arg;
    header_if_absent(x, ST_STR_LIT("X-Request-Id"), r->id);
}

static int reqid_before(struct st_http_ex *x, void *arg)
{
    (void)arg;
    struct reqid *r = st_arena_alloc(x->arena, sizeof *r);
    struct st_str in = st_http_req_header(x, ST_HTTP_H_X_REQUEST_ID);
    if (st_http_request_id_valid(in)) {
        /* Copied: the id must outlive the input buffer for the access log. */
        r->id = st_str(st_arena_strndup(x->arena, in.ptr, in.len), in.len);
    } else {
        char *id = st_arena_alloc(x->arena, 33);
        st_http_request_id_new(id);
        r->id = st_str(id, 32);
    }
    struct st_http_ctx *c = st_http_ctx(x);
    if (c)
        c->request_id = r->id;
    st_http_on_send(x, reqid_send, r);
    return ST_HTTP_NEXT;
}

struct st_http_middleware st_http_mw_request_id(void)
{
    return (struct st_http_middleware){ .name = "request_id", .before = reqid_before };
}

/* ---- access log ---- */

static void access_done(struct st_http_ex *x, void *arg)
{
    (void)arg;
    double ms = (double)(st_time_mono_ns() - x->start_ns) / 1e6;
    st_log_info("request", ST_LOG_SLICE("method", x->req->method), ST_LOG_SLICE("path", x->req->path),
                ST_LOG_INT("status", x->status), ST_LOG_UINT("bytes", x->bytes_out), ST_LOG_F64("duration_ms", ms),
                ST_LOG_SLICE("request_id", st_http_request_id(x)), ST_LOG_STR("peer", x->peer),
                ST_LOG_STR("route", x->route ? x->route : "unmatched"));
}

static int access_before(struct st_http_ex *x, void *arg)
{
    (void)arg;
    if (ST_LOG_INFO >= st_log_min_level)
        st_http_on_done(x, access_done, NULL);
    return ST_HTTP_NEXT;
}

struct st_http_middleware st_http_mw_access_log(void)
{
    return (struct st_http_middleware){ .name = "access_log", .before = access_before };
}

/* ---- security headers ---- */

enum { SEC_CTO, SEC_XFO, SEC_REFERRER, SEC_CSP, SEC_HSTS, SEC__COUNT };

struct security {
    struct st_str value[SEC__COUNT]; /* owned copies; empty: leave out */
};

static const struct st_str sec_names[SEC__COUNT] = {
    [SEC_CTO] = ST_STR_LIT("X-Content-Type-Options"),     [SEC_XFO] = ST_STR_LIT("X-Frame-Options"),
    [SEC_REFERRER] = ST_STR_LIT("Referrer-Policy"),       [SEC_CSP] = ST_STR_LIT("Content-Security-Policy"),
    [SEC_HSTS] = ST_STR_LIT("Strict-Transport-Security"),
};

static void security_send(struct st_http_ex *x, void *arg)
{
    const struct security *s = arg;
    for (int i = 0; i < SEC__COUNT; i++) {
        if (i == SEC_CSP && !ieq_prefix(st_http_res_header(x, "Content-Type"), "text/html"))
            continue;
        header_if_absent(x, sec_names[i], s->value[i]);
    }
}

static int security_before(struct st_http_ex *x, void *arg)
{
    st_http_on_send(x, security_send, arg);
    return ST_HTTP_NEXT;
}

static void security_release(void *arg)
{
    struct security *s = arg;
    for (int i = 0; i < SEC__COUNT; i++)
        free((char *)s->value[i].ptr);
    free(s);
}

static struct st_str sec_value(const char *given, const char *def)
{
    const char *v = given ? given : def;
    return st_str(st_xstrdup(v), strlen(v));
}

struct st_http_middleware st_http_mw_security(const struct st_http_security_opts *opts)
{
    struct st_http_security_opts o = opts ? *opts : (struct st_http_security_opts){ 0 };
    struct security *s = st_xcalloc(1, sizeof *s);
    s->value[SEC_CTO] = sec_value(o.content_type_options, "nosniff");
    s->value[SEC_XFO] = sec_value(o.frame_options, "DENY");
    s->value[SEC_REFERRER] = sec_value(o.referrer_policy, "no-referrer");
    s->value[SEC_CSP] = sec_value(o.csp, ST_HTTP_CSP_DEFAULT);
    s->value[SEC_HSTS] = sec_value(o.hsts, "");
    return (struct st_http_middleware){
        .name = "security", .before = security_before, .release = security_release, .arg = s
    };
}

/* ---- CORS ---- */

struct cors {
    struct st_http_cors_opts o; /* strings below are owned copies */
    char **origins;
    struct st_str methods, headers, expose, max_age;
};

void st_http_cors_decide(const struct st_http_cors_opts *o, enum st_http_method method, struct st_str origin,
                         struct st_str acrm, struct st_http_cors_decision *d)
{
    bool wildcard = false, listed = false;
    for (size_t i = 0; i < o->norigins; i++) {
        if (strcmp(o->origins[i], "*") == 0)
            wildcard = true;
        else if (origin.ptr && st_str_eq_c(origin, o->origins[i]))
            listed = true;
    }
    *d = (struct st_http_cors_decision){ 0 };
    /* With a list (or credentials, which reflect the Origin), the answer depends on Origin
     * even for requests without one: a shared cache must not reuse it across origins. */
    d->vary_origin = !wildcard || o->credentials;
    if (!origin.ptr || !(listed || wildcard))
        return;
    d->allowed = true;
    d->any_origin = wildcard && !o->credentials; /* one cacheable answer for everyone */
    d->preflight = method == ST_HTTP_M_OPTIONS && acrm.ptr && acrm.len > 0;
}

static void cors_common(struct st_http_ex *x, const struct cors *c, const struct st_http_cors_decision *d,
                        struct st_str origin)
{
    if (d->vary_origin)
        st_http_vary(x, "Origin");
    if (!d->allowed)
        return;
    header_if_absent(x, ST_STR_LIT("Access-Control-Allow-Origin"), d->any_origin ? ST_STR_LIT("*") : origin);
    if (c->o.credentials)
        header_if_absent(x, ST_STR_LIT("Access-Control-Allow-Credentials"), ST_STR_LIT("true"));
}

static void cors_decide_x(struct st_http_ex *x, const struct cors *c, struct st_http_cors_decision *d,
                          struct st_str *origin)
{
    struct st_str o = st_http_req_header(x, ST_HTTP_H_ORIGIN);
    *origin = o;
    struct st_str acrm = st_str(NULL, 0); /* only a preflight has it: skip the scan otherwise */
    if (x->req->method_id == ST_HTTP_M_OPTIONS && o.ptr)
        acrm = st_http_req_header_named(x, "Access-Control-Request-Method");
    st_http_cors_decide(&c->o, x->req->method_id, o, acrm, d);
}

static void cors_send(struct st_http_ex *x, void *arg)
{
    const struct cors *c = arg;
    struct st_http_cors_decision d;
    struct st_str origin;
    cors_decide_x(x, c, &d, &origin);
    d.preflight = false;
    cors_common(x, c, &d, origin);
    if (d.allowed && c->expose.len)
        header_if_absent(x, ST_STR_LIT("Access-Control-Expose-Headers"), c->expose);
}

static void cors_preflight(struct st_http_ex *x, const struct cors *c, const struct st_http_cors_decision *d,
                           struct st_str origin)
{
    x->route = "cors_preflight";
    x->status = 204;
    cors_common(x, c, d, origin);
    st_http_header(x, ST_STR_LIT("Access-Control-Allow-Methods"), c->methods);
    if (c->headers.ptr) {
        if (c->headers.len)
            st_http_header(x, ST_STR_LIT("Access-Control-Allow-Headers"), c->headers);
    } else {
        struct st_str acrh = st_http_req_header_named(x, "Access-Control-Request-Headers");
        st_http_vary(x, "Access-Control-Request-Headers");
        if (acrh.len)
            st_http_header(x, ST_STR_LIT("Access-Control-Allow-Headers"), acrh);
    }
    if (c->max_age.len)
        st_http_header(x, ST_STR_LIT("Access-Control-Max-Age"), c->max_age);
    st_http_send(x);
}

static int cors_before(struct st_http_ex *x, void *arg)
{
    const struct cors *c = arg;
    struct st_http_cors_decision d;
    struct st_str origin;
    cors_decide_x(x, c, &d, &origin);
    if (d.preflight) {
        cors_preflight(x, c, &d, origin);
        return ST_HTTP_DONE;
    }
    if (d.allowed || d.vary_origin)
        st_http_on_send(x, cors_send, arg);
    return ST_HTTP_NEXT;
}

static void cors_release(void *arg)
{
    struct cors *c = arg;
    for (size_t i = 0; i < c->o.norigins; i++)
        free(c->origins[i]);
    free(c->origins);
    free((char *)c->methods.ptr);
    free((char *)c->headers.ptr);
    free((char *)c->expose.ptr);
    free((char *)c->max_age.ptr);
    free(c);
}

static struct st_str dup_or_empty(const char *s)
{
    return s ? st_str(st_xstrdup(s), strlen(s)) : st_str(NULL, 0);
}

struct st_http_middleware st_http_mw_cors(const struct st_http_cors_opts *opts)
{
    struct cors *c = st_xcalloc(1, sizeof *c);
    c->o = *opts;
    c->origins = st_xcalloc(opts->norigins + 1, sizeof *c->origins);
    for (size_t i = 0; i < opts->norigins; i++)
        c->origins[i] = st_xstrdup(opts->origins[i]);
    c->o.origins = (const char *const *)c->origins;
    c->methods = dup_or_empty(opts->methods ? opts->methods : "GET, HEAD, POST, PUT, PATCH, DELETE");
    c->headers = dup_or_empty(opts->headers);
    c->expose = dup_or_empty(opts->expose);
    int max_age = opts->max_age ? opts->max_age : 600;
    if (max_age > 0) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%d", max_age);
        c->max_age = dup_or_empty(tmp);
    }
    c->o.methods = c->o.headers = c->o.expose = NULL; /* use the st_str copies */
    return (struct st_http_middleware){ .name = "cors", .before = cors_before, .release = cors_release, .arg = c };
}

/* ---- gzip ---- */

/* A qvalue (RFC 9110 12.4.2) in thousandths, or -1 if malformed. */
static int parse_qvalue(struct st_str v)
{
    if (v.len == 0 || v.len > 5 || (v.ptr[0] != '0' && v.ptr[0] != '1'))
        return -1;
    int q = (v.ptr[0] - '0') * 1000;
    if (v.len == 1)
        return q;
    if (v.ptr[1] != '.')
        return -1;
    int scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        q += (v.ptr[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* The q of one list member's parameters (";q=0.5"): 1000 without q, -1 if malformed. */
static int member_q(struct st_str params)
{
    int q = 1000;
    struct st_str p;
    while (params.len) {
        params = st_str_cut(params, ';', &p, NULL);
        struct st_str name, value = st_str_cut(st_str_trim(p), '=', &name, NULL);
        if (st_str_ieq_c(st_str_trim(name), "q"))
            q = parse_qvalue(st_str_trim(value));
        if (q < 0)
            return -1;
    }
    return q;
}

bool st_http_accepts_gzip(struct st_str ae)
{
    if (!ae.ptr)
        return false;
    int q_gzip = -1, q_star = -1, q_identity = -1;
    struct st_str item, coding;
    while (ae.len) {
        ae = st_str_cut(ae, ',', &item, NULL);
        struct st_str params = st_str_cut(item, ';', &coding, NULL);
        coding = st_str_trim(coding);
        int q = member_q(params);
        if (!coding.len || q < 0)
            continue; /* malformed members are ignored, not fatal */
        if (st_str_ieq_c(coding, "gzip") || st_str_ieq_c(coding, "x-gzip"))
            q_gzip = q > q_gzip ? q : q_gzip;
        else if (st_str_eq_c(coding, "*"))
            q_star = q;
        else if (st_str_ieq_c(coding, "identity"))
            q_identity = q;
    }
    int g = q_gzip >= 0 ? q_gzip : q_star;
    return g > 0 && g >= q_identity;
}

bool st_http_compressible(struct st_str ct)
{
    struct st_str media;
    st_str_cut(ct, ';', &media, NULL);
    media = st_str_trim(media);
    if (!media.len)
        return false;
    static const char *const exact[] = { "application/json",       "application/javascript", "application/x-javascript",
                                         "application/ecmascript", "application/xml",        "image/svg+xml" };
    if (ieq_prefix(media, "text/"))
        return true;
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (st_str_ieq_c(media, exact[i]))
            return true;
    return ieq_suffix(media, "+json") || ieq_suffix(media, "+xml");
}

/* Deflate in (one call, Z_FINISH) with a ready stream into arena memory. */
static int deflate_into(z_stream *z, struct st_str in, struct st_arena *a, struct st_str *out)
{
    if (in.len > UINT_MAX / 2)
        return ST_EINTERNAL;
    uLong bound = deflateBound(z, (uLong)in.len);
    char *buf = st_arena_alloc(a, bound);
    z->next_in = (const Bytef *)in.ptr;
    z->avail_in = (uInt)in.len;
    z->next_out = (Bytef *)buf;
    z->avail_out = (uInt)bound;
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
        return ST_EINTERNAL;
    *out = st_str(buf, bound - z->avail_out);
    return 0;
}

static int gzip_stream_init(z_stream *z, int level)
{
    memset(z, 0, sizeof *z);
    /* windowBits 15 + 16: a gzip wrapper (RFC 1952) rather than zlib's. */
    return deflateInit2(z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK ? 0 : ST_EINTERNAL;
}

int st_http_gzip(struct st_str in, int level, struct st_arena *a, struct st_str *out)
{
    z_stream z;
    int rc = gzip_stream_init(&z, level);
    if (rc)
        return rc;
    rc = deflate_into(&z, in, a, out);
    deflateEnd(&z);
    return rc;
}

struct gzip {
    size_t min_size;
    int level;
    /* One stream per worker, created on the worker's first compression; only that
     * worker's thread touches its slot. */
    z_stream *streams[ST_HTTP_APP_WORKERS_MAX];
};

static int gzip_body(struct gzip *g, struct st_http_ex *x, struct st_str in, struct st_str *out)
{
    if (x->worker < 0 || x->worker >= ST_HTTP_APP_WORKERS_MAX)
        return st_http_gzip(in, g->level, x->arena, out);
    z_stream *z = g->streams[x->worker];
    if (!z) {
        z = st_xmalloc(sizeof *z);
        if (gzip_stream_init(z, g->level)) {
            free(z);
            return ST_EINTERNAL;
        }
        g->streams[x->worker] = z;
    } else if (deflateReset(z) != Z_OK) {
        return ST_EINTERNAL;
    }
    return deflate_into(z, in, x->arena, out);
}

static bool status_has_representation(int status)
{
    return status >= 200 && status != 204 && status != 206 && status != 304;
}

static void gzip_send(struct st_http_ex *x, void *arg)
{
    struct gzip *g = arg;
    if (x->streaming || (x->body_kind != ST_HTTP_RES_REF && x->body_kind != ST_HTTP_RES_BUF))
        return;
    if (!status_has_representation(x->status) || st_http_res_header(x, "Content-Encoding").ptr)
        return;
    struct st_str body = st_http_res_body(x);
    if (body.len < g->min_size || !st_http_compressible(st_http_res_header(x, "Content-Type")))
        return;
    /* From here the representation depends on Accept-Encoding, compressed or not. */
    st_http_vary(x, "Accept-Encoding");
    if (!st_http_accepts_gzip(st_http_req_header(x, ST_HTTP_H_ACCEPT_ENCODING)))
        return;
    struct st_str out;
    if (gzip_body(g, x, body, &out) || out.len >= body.len)
        return; /* sent as it is: correct, only larger */
    st_http_body_ref(x, out);
    st_http_header(x, ST_STR_LIT("Content-Encoding"), ST_STR_LIT("gzip"));
}

static int gzip_before(struct st_http_ex *x, void *arg)
{
    st_http_on_send(x, gzip_send, arg);
    return ST_HTTP_NEXT;
}

static void gzip_release(void *arg)
{
    struct gzip *g = arg;
    for (size_t i = 0; i < ST_HTTP_APP_WORKERS_MAX; i++) {
        if (g->streams[i]) {
            deflateEnd(g->streams[i]);
            free(g->streams[i]);
        }
    }
    free(g);
}

struct st_http_middleware st_http_mw_gzip(const struct st_http_gzip_opts *opts)
{
    struct gzip *g = st_xcalloc(1, sizeof *g);
    g->min_size = opts && opts->min_size ? opts->min_size : 1024;
    g->level = opts && opts->level >= 1 && opts->level <= 9 ? opts->level : 6;
    return (struct st_http_middleware){ .name = "gzip", .before = gzip_before, .release = gzip_release, .arg = g };
}
