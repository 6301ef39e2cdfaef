/*
 * ratelimit.c - a sliding-window rate limiter shared by all workers, and its middleware.
 *
 * The algorithm: a sliding window of BUCKETS sub-windows per client. The window is cut
 * into BUCKETS buckets of g = ceil(window / BUCKETS) ms; a client keeps one counter per
 * bucket, BUCKETS + 1 of them (the current one and the BUCKETS before it) in a ring. A
 * request counts from its bucket until that bucket's end plus a whole window, i.e. between
 * window and window + g after it was made. Why this and not the alternatives:
 *   - an exact sliding log keeps one timestamp per request: limit * 8 bytes per client,
 *     unbounded in --rate-limit;
 *   - a fixed window lets a client send 2 * limit requests across a boundary, and its
 *     sliding estimate (previous count weighted by the overlap) is a guess that can let
 *     requests through early and cannot say exactly when the next one will be allowed;
 *   - buckets cost a fixed (BUCKETS + 1) * 4 bytes per client whatever the limit, never
 *     admit more than limit requests in any window-long stretch (they err by holding a
 *     request at most g = 1/60th of the window too long), and give an exact Retry-After
 *     under that rule.
 *
 * The table: STRIPES independent hash tables, each behind its own mutex, chosen by the
 * key's (keyed, flood-proof) hash. Each stripe keeps its entries on an LRU list: the tail
 * is checked for expiry on every call (a client whose last bucket has left the window has
 * nothing to remember) and evicted when the stripe is full, so memory stays below
 * max_clients entries of at most ST_HTTP_RATELIMIT_KEY_MAX bytes of key each.
 */
#include "http/ratelimit.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hash.h"
#include "base/time.h"
#include "http/app.h"

#define BUCKETS 60
#define SLOTS (BUCKETS + 1)
#define STRIPES 16
/* Expired entries freed per call, at most: bounded work on the hot path. */
#define SWEEP_MAX 2

struct entry {
    struct entry *chain;         /* next in the hash bucket */
    struct entry *newer, *older; /* LRU list of the stripe */
    uint64_t hash;
    int64_t newest;         /* newest bucket number counted */
    uint32_t counts[SLOTS]; /* counts[k % SLOTS]: requests of bucket k, newest - BUCKETS <= k <= newest */
    size_t keylen;
    char key[];
};

struct stripe {
    pthread_mutex_t lock;
    struct entry **table; /* mask + 1 chains */
    size_t mask;
    struct entry *newest, *oldest; /* LRU ends */
    size_t n, cap;
} __attribute__((aligned(64))); /* one cache line per lock: stripes do not falsely share */

struct st_http_ratelimit {
    unsigned limit;
    int64_t window_ms, g;
    int64_t (*clock_ms)(void *arg);
    void *clock_arg;
    struct stripe stripes[STRIPES];
};

static int64_t mono_ms(void *arg)
{
    (void)arg;
    return st_time_mono_ms();
}

struct st_http_ratelimit *st_http_ratelimit_new(const struct st_http_ratelimit_opts *o)
{
    struct st_http_ratelimit *rl = aligned_alloc(64, sizeof *rl);
    if (!rl)
        st_panic("ratelimit: out of memory"); /* _Noreturn: rl is not NULL below */
    // cppcheck-suppress nullPointerRedundantCheck
    memset(rl, 0, sizeof *rl);
    rl->limit = o && o->limit ? o->limit : 100;
    rl->window_ms = o && o->window_ms > 0 ? o->window_ms : 3600L * 1000;
    rl->g = (rl->window_ms + BUCKETS - 1) / BUCKETS;
    rl->clock_ms = o && o->clock_ms ? o->clock_ms : mono_ms;
    rl->clock_arg = o ? o->clock_arg : NULL;
    size_t max = o && o->max_clients ? o->max_clients : 10000;
    size_t cap = (max + STRIPES - 1) / STRIPES, chains = 16;
    while (chains < cap && chains < ((size_t)1 << 20))
        chains <<= 1;
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &rl->stripes[i];
        pthread_mutex_init(&s->lock, NULL);
        s->table = st_xcalloc(chains, sizeof(struct entry *));
        s->mask = chains - 1;
        s->cap = cap;
    }
    return rl;
}

void st_http_ratelimit_free(struct st_http_ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &rl->stripes[i];
        for (struct entry *e = s->newest, *next; e; e = next) {
            next = e->older;
            free(e);
        }
        free(s->table);
        pthread_mutex_destroy(&s->lock);
    }
    free(rl);
}

/* ---- one stripe (its lock held) ---- */

static void lru_unlink(struct stripe *s, struct entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(struct stripe *s, struct entry *e)
{
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest)
        s->newest->newer = e;
    s->newest = e;
    if (!s->oldest)
        s->oldest = e;
}

static void remove_entry(struct stripe *s, struct entry *e)
{
    struct entry **p = &s->table[e->hash & s->mask];
    while (*p != e)
        p = &(*p)->chain;
    *p = e->chain;
    lru_unlink(s, e);
    s->n--;
    free(e);
}

/* Forget clients at the old end whose every request has left the window (bucket c now). */
static void sweep(struct stripe *s, int64_t c)
{
    for (int i = 0; i < SWEEP_MAX && s->oldest && c - s->oldest->newest > BUCKETS; i++)
        remove_entry(s, s->oldest);
}

static struct entry *find_or_add(struct stripe *s, uint64_t h, struct st_str key, int64_t c)
{
    for (struct entry *e = s->table[h & s->mask]; e; e = e->chain) {
        if (e->hash == h && e->keylen == key.len && memcmp(e->key, key.ptr, key.len) == 0) {
            lru_unlink(s, e);
            lru_push(s, e);
            return e;
        }
    }
    if (s->n >= s->cap && s->oldest)
        remove_entry(s, s->oldest); /* full: the least recently seen client goes */
    struct entry *e = st_xcalloc(1, sizeof *e + key.len);
    e->hash = h;
    e->newest = c;
    e->keylen = key.len;
    if (key.len)
        memcpy(e->key, key.ptr, key.len);
    e->chain = s->table[h & s->mask];
    s->table[h & s->mask] = e;
    lru_push(s, e);
    s->n++;
    return e;
}

/* Move e's window to bucket c: the buckets it skips over had no requests. */
static void advance(struct entry *e, int64_t c)
{
    if (c <= e->newest)
        return; /* same bucket, or a clock that went back: keep the newer view */
    if (c - e->newest >= SLOTS)
        memset(e->counts, 0, sizeof e->counts);
    else
        for (int64_t k = e->newest + 1; k <= c; k++)
            e->counts[k % SLOTS] = 0;
    e->newest = c;
}

static void decide(const struct st_http_ratelimit *rl, struct entry *e, int64_t now, struct st_http_ratelimit_result *r)
{
    int64_t c = e->newest;
    uint64_t count = 0;
    for (int i = 0; i < SLOTS; i++)
        count += e->counts[i];
    r->limit = rl->limit;
    r->allowed = count < rl->limit;
    if (r->allowed) {
        e->counts[c % SLOTS]++;
        count++;
    }
    r->remaining = (unsigned)(rl->limit - count);
    /* The oldest bucket with requests frees them first: at the end of its bucket plus a window. */
    r->reset_s = 0;
    for (int64_t k = c - BUCKETS; k <= c; k++) {
        if (k >= 0 && e->counts[k % SLOTS]) {
            int64_t ms = (k + SLOTS) * rl->g - now;
            r->reset_s = ms > 0 ? (ms + 999) / 1000 : 0;
            break;
        }
    }
}

void st_http_ratelimit_take(struct st_http_ratelimit *rl, struct st_str key, struct st_http_ratelimit_result *r)
{
    if (key.len > ST_HTTP_RATELIMIT_KEY_MAX)
        key.len = ST_HTTP_RATELIMIT_KEY_MAX;
    int64_t now = rl->clock_ms(rl->clock_arg);
    if (now < 0)
        now = 0;
    int64_t c = now / rl->g;
    uint64_t h = st_hash(key.ptr ? key.ptr : "", key.len);
    struct stripe *s = &rl->stripes[(h >> 56) % STRIPES];
    pthread_mutex_lock(&s->lock);
    sweep(s, c);
    struct entry *e = find_or_add(s, h, key, c);
    advance(e, c);
    decide(rl, e, now, r);
    pthread_mutex_unlock(&s->lock);
}

size_t st_http_ratelimit_clients(struct st_http_ratelimit *rl)
{
    size_t n = 0;
    for (int i = 0; i < STRIPES; i++) {
        pthread_mutex_lock(&rl->stripes[i].lock);
        n += rl->stripes[i].n;
        pthread_mutex_unlock(&rl->stripes[i].lock);
    }
    return n;
}

/* ---- the middleware ---- */

struct mw {
    struct st_http_ratelimit *rl;
    char *key_header; /* "" : always the peer */
    char **exempt;    /* NULL-terminated copies */
};

static bool exempt(const struct mw *m, struct st_str path)
{
    for (char **p = m->exempt; *p; p++)
        if (st_str_starts_with(path, st_str_c(*p)))
            return true;
    return false;
}

/* The peer's address without the port: "1.2.3.4:5" -> "1.2.3.4", "[::1]:5" -> "::1". */
static struct st_str peer_ip(const char *peer)
{
    struct st_str p = st_str_c(peer);
    const char *colon = p.len ? memrchr(p.ptr, ':', p.len) : NULL;
    if (p.len && p.ptr[0] == '[') {
        const char *close = memchr(p.ptr, ']', p.len);
        if (close)
            return st_str(p.ptr + 1, (size_t)(close - p.ptr - 1));
    }
    return colon ? st_str(p.ptr, (size_t)(colon - p.ptr)) : p;
}

/* The client key: "k:" + key header, or "a:" + peer IP, into buf. */
static struct st_str client_key(const struct mw *m, const struct st_http_ex *x, char *buf, size_t cap)
{
    struct st_str v = m->key_header[0] ? st_http_req_header_named(x, m->key_header) : st_str(NULL, 0);
    bool api = v.ptr && v.len;
    if (!api)
        v = peer_ip(x->peer);
    if (v.len > cap - 2)
        v.len = cap - 2;
    buf[0] = api ? 'k' : 'a';
    buf[1] = ':';
    if (v.len)
        memcpy(buf + 2, v.ptr, v.len);
    return st_str(buf, v.len + 2);
}

static void header_if_absent(struct st_http_ex *x, const char *name, int64_t v)
{
    if (!st_http_res_header(x, name).ptr)
        st_http_header_fmt(x, name, "%lld", (long long)v);
}

static void ratelimit_send(struct st_http_ex *x, void *arg)
{
    const struct st_http_ratelimit_result *r = arg;
    header_if_absent(x, "RateLimit-Limit", r->limit);
    header_if_absent(x, "RateLimit-Remaining", r->remaining);
    header_if_absent(x, "RateLimit-Reset", r->reset_s);
}

static int ratelimit_before(struct st_http_ex *x, void *arg)
{
    const struct mw *m = arg;
    if (exempt(m, x->req->path))
        return ST_HTTP_NEXT;
    char buf[ST_HTTP_RATELIMIT_KEY_MAX + 2];
    struct st_http_ratelimit_result *r = st_arena_alloc(x->arena, sizeof *r);
    st_http_ratelimit_take(m->rl, client_key(m, x, buf, sizeof buf), r);
    st_http_on_send(x, ratelimit_send, r);
    if (r->allowed)
        return ST_HTTP_NEXT;
    int64_t retry = r->reset_s > 0 ? r->reset_s : 1;
    st_http_header_fmt(x, "Retry-After", "%lld", (long long)retry);
    char detail[96];
    snprintf(detail, sizeof detail, "at most %u requests per window; retry in %lld s", r->limit, (long long)retry);
    st_http_problem_json(x, 429, detail, json_pack("{s:s}", "code", "rate_limited"));
    return ST_HTTP_DONE;
}

static void ratelimit_release(void *arg)
{
    struct mw *m = arg;
    st_http_ratelimit_free(m->rl);
    for (char **p = m->exempt; *p; p++)
        free(*p);
    free(m->exempt);
    free(m->key_header);
    free(m);
}

struct st_http_middleware st_http_mw_ratelimit(const struct st_http_ratelimit_opts *o)
{
    struct mw *m = st_xcalloc(1, sizeof *m);
    m->rl = st_http_ratelimit_new(o);
    m->key_header = st_xstrdup(o && o->key_header ? o->key_header : "X-API-Key");
    size_t n = 0;
    while (o && o->exempt && o->exempt[n])
        n++;
    m->exempt = st_xcalloc(n + 1, sizeof *m->exempt);
    for (size_t i = 0; i < n; i++)
        m->exempt[i] = st_xstrdup(o->exempt[i]);
    return (struct st_http_middleware){
        .name = "ratelimit", .before = ratelimit_before, .release = ratelimit_release, .arg = m
    };
}
