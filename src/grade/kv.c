/*
 * kv.c - graders of the key-value questions: they talk RESP to any Redis-compatible
 * target (`strata kv`, redis-server, or the learner's own store) and check the
 * behaviour each pattern relies on:
 *
 *   Q434 the store itself          Q97 a caching layer      Q98 sessions
 *   Q99  a rate limiter            Q175 pub/sub             Q311 a lock with safe release
 *   Q313 a counter
 *
 * Every key lives under a random per-check prefix ("grade:xxxxxx:"), so a grader never
 * touches a target's own data and checks never see each other's keys; the keys are given
 * short TTLs or deleted. The spec of every check, in words, is the `checks:` field of the
 * question in curriculum/. Concurrency is simulated by interleaving several connections
 * from one thread (pipelines, or one command per client in turn): the interleaving is
 * reproducible from the seed, and a server that is wrong shows it deterministically.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "grade/internal.h"
#include "grade/resp.h"

/* A check body runs with a g_kv context that the wrapper releases. */
#define KV_CHECK(fn)                                                                                                   \
    static bool fn##_body(struct g_kv *k);                                                                             \
    static bool fn(struct st_grade *g)                                                                                 \
    {                                                                                                                  \
        struct g_kv k;                                                                                                 \
        g_kv_begin(&k, g);                                                                                             \
        bool ok = fn##_body(&k);                                                                                       \
        g_kv_end(&k);                                                                                                  \
        return ok;                                                                                                     \
    }                                                                                                                  \
    static bool fn##_body(struct g_kv *k)

#define OPEN(c)                                                                                                        \
    struct g_rconn *c = g_kv_open(k);                                                                                  \
    if (!c)                                                                                                            \
    return false

static char *rand_word(struct g_kv *k, size_t n)
{
    char *w = st_arena_alloc(&k->ar, n + 1);
    g_word(k->g, w, n, G_ALNUM);
    return w;
}

static const char *num(struct g_kv *k, int64_t v)
{
    return st_arena_printf(&k->ar, "%" PRId64, v);
}

/* Open n connections into cs. */
static bool open_n(struct g_kv *k, struct g_rconn **cs, int n)
{
    for (int i = 0; i < n; i++) {
        if (!(cs[i] = g_kv_open(k)))
            return false;
    }
    return true;
}

/* ==== Q434: a key-value store =========================================================== */

KV_CHECK(q434_set_get)
{
    OPEN(c);
    const char *key = g_kv_key(k, "k"), *v1 = rand_word(k, 12), *v2 = rand_word(k, 30);
    if (!g_kv_want_nil(k, g_kv_call(k, c, "GET", key, G_KV_END)))
        return false;
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", key, v1, "EX", "60", G_KV_END)) ||
        !g_kv_want_str(k, g_kv_call(k, c, "GET", key, G_KV_END), v1))
        return false;
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", key, v2, "EX", "60", G_KV_END)) ||
        !g_kv_want_str(k, g_kv_call(k, c, "GET", key, G_KV_END), v2))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", key, G_KV_END), 1);
}

KV_CHECK(q434_del_exists)
{
    OPEN(c);
    const char *a = g_kv_key(k, "a"), *b = g_kv_key(k, "b"), *missing = g_kv_key(k, "missing");
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", a, "1", G_KV_END)) ||
        !g_kv_want_ok(k, g_kv_call(k, c, "SET", b, "2", G_KV_END)))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, c, "EXISTS", a, b, missing, G_KV_END), 2))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, c, "DEL", a, b, missing, G_KV_END), 2))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, c, "EXISTS", a, b, G_KV_END), 0) ||
        !g_kv_want_nil(k, g_kv_call(k, c, "GET", a, G_KV_END)))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", a, G_KV_END), 0);
}

KV_CHECK(q434_binary)
{
    OPEN(c);
    /* every byte value, CR LF inside, NUL inside; an empty value; a 1 MB value */
    char bin[300];
    for (int i = 0; i < 256; i++)
        bin[i] = (char)i;
    memcpy(bin + 256, "\r\n$3\r\n*1\r\n\0end", 15);
    size_t binlen = 271;
    const char *kbin = st_arena_printf(&k->ar, "%sbin\r\n\x01", k->prefix);
    const char *argv[] = { "SET", kbin, bin, "EX", "60" };
    size_t lens[] = { 3, strlen(kbin), binlen, 2, 2 };
    if (!g_kv_send(k, c, 5, argv, lens) || !g_kv_want_ok(k, g_kv_read(k, c)))
        return false;
    const char *get[] = { "GET", kbin };
    size_t glens[] = { 3, strlen(kbin) };
    if (!g_kv_send(k, c, 2, get, glens) || !g_kv_want_bulk(k, g_kv_read(k, c), bin, binlen))
        return false;
    const char *kempty = g_kv_key(k, "empty");
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", kempty, "", "EX", "60", G_KV_END)) ||
        !g_kv_want_str(k, g_kv_call(k, c, "GET", kempty, G_KV_END), ""))
        return false;
    size_t big = 1u << 20;
    char *v = st_arena_alloc(&k->ar, big);
    for (size_t i = 0; i < big; i++)
        v[i] = (char)('a' + g_rand(k->g) % 26);
    const char *kbig = g_kv_key(k, "big");
    const char *bargv[] = { "SET", kbig, v, "EX", "60" };
    size_t blens[] = { 3, strlen(kbig), big, 2, 2 };
    if (!g_kv_send(k, c, 5, bargv, blens) || !g_kv_want_ok(k, g_kv_read(k, c)))
        return false;
    struct g_rv *r = g_kv_call(k, c, "GET", kbig, G_KV_END);
    if (!r)
        return false;
    if (r->t != '$' || r->n != big || memcmp(r->s, v, big) != 0)
        return g_fail(k->g, "GET of a 1 MB value returned %s (%zu bytes), not the value stored", g_kv_show(k, r), r->n);
    return true;
}

KV_CHECK(q434_expiry)
{
    OPEN(c);
    const char *key = g_kv_key(k, "ttl"), *plain = g_kv_key(k, "plain");
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", key, "v", "PX", "300", G_KV_END)) ||
        !g_kv_want_range(k, g_kv_call(k, c, "PTTL", key, G_KV_END), 1, 300))
        return false;
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", plain, "v", G_KV_END)) ||
        !g_kv_want_int(k, g_kv_call(k, c, "TTL", plain, G_KV_END), -1) ||
        !g_kv_want_int(k, g_kv_call(k, c, "EXPIRE", plain, "60", G_KV_END), 1) ||
        !g_kv_want_range(k, g_kv_call(k, c, "TTL", plain, G_KV_END), 55, 60))
        return false;
    g_kv_sleep(450);
    if (!g_kv_want_nil(k, g_kv_call(k, c, "GET", key, G_KV_END)) ||
        !g_kv_want_int(k, g_kv_call(k, c, "EXISTS", key, G_KV_END), 0) ||
        !g_kv_want_int(k, g_kv_call(k, c, "TTL", key, G_KV_END), -2))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", plain, G_KV_END), 1);
}

KV_CHECK(q434_pipeline)
{
    OPEN(c);
    enum { N = 200 };
    const char *key = g_kv_key(k, "list");
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    /* SET key:i i, then GET key:i, all in one write */
    for (int i = 0; i < N; i++) {
        char ki[96], vi[16];
        int kn = snprintf(ki, sizeof ki, "%s:%d", key, i), vn = snprintf(vi, sizeof vi, "%d", i);
        st_buf_printf(&b, "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$2\r\nEX\r\n$2\r\n60\r\n", kn, ki, vn, vi);
        st_buf_printf(&b, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kn, ki);
    }
    bool sent = g_kv_send_raw(k, c, b.data, b.len, "200 pipelined SET/GET pairs in one write");
    st_buf_release(&b);
    if (!sent)
        return false;
    for (int i = 0; i < N; i++) {
        struct g_rv *r = g_kv_read(k, c);
        if (!g_kv_want_ok(k, r))
            return g_fail(k->g, "pipelined SET %d: got %s", i, r ? g_kv_show(k, r) : "nothing");
        r = g_kv_read(k, c);
        if (!r)
            return false;
        if (!g_kv_is_str(r, num(k, i)))
            return g_fail(k->g, "pipelined GET %d: got %s, expected \"%d\" (replies out of order?)", i, g_kv_show(k, r),
                          i);
    }
    return true;
}

KV_CHECK(q434_errors)
{
    OPEN(c);
    struct g_rv *r = g_kv_call(k, c, "NOSUCHCOMMAND", "x", G_KV_END);
    if (!r)
        return false;
    if (r->t != '-')
        return g_fail(k->g, "sent %s, got %s, expected an error reply", k->last, g_kv_show(k, r));
    r = g_kv_call(k, c, "GET", G_KV_END);
    if (!r)
        return false;
    if (r->t != '-')
        return g_fail(k->g, "sent GET without a key, got %s, expected an error reply", g_kv_show(k, r));
    const char *key = g_kv_key(k, "str");
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", key, "v", "EX", "60", G_KV_END)))
        return false;
    return g_kv_want_str(k, g_kv_call(k, c, "GET", key, G_KV_END), "v");
}

KV_CHECK(q434_clients)
{
    enum { N = 5 };
    struct g_rconn *cs[N];
    if (!open_n(k, cs, N))
        return false;
    const char *vals[N];
    for (int i = 0; i < N; i++) {
        vals[i] = rand_word(k, 10);
        if (!g_kv_want_ok(k, g_kv_call(k, cs[i], "SET", g_kv_key(k, num(k, i)), vals[i], "EX", "60", G_KV_END)))
            return false;
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            if (!g_kv_want_str(k, g_kv_call(k, cs[i], "GET", g_kv_key(k, num(k, j)), G_KV_END), vals[j]))
                return false;
        }
    }
    return true;
}

static const struct st_grade_check q434_checks[] = {
    { "SET then GET returns the value; SET replaces it; a missing key is nil", q434_set_get },
    { "DEL removes and counts keys; EXISTS counts the keys present", q434_del_exists },
    { "binary-safe keys and values: every byte, CR LF, NUL, empty, 1 MB", q434_binary },
    { "expiry: PX/EXPIRE set a TTL, TTL -1 without, the key is gone after it (-2)", q434_expiry },
    { "pipelining: 400 commands in one write are answered in order", q434_pipeline },
    { "errors: unknown command and missing argument get error replies; the connection goes on", q434_errors },
    { "five clients see each other's writes", q434_clients },
    { NULL, NULL },
};
const struct st_grader st__grade_q434 = { "q434", 434, 0, NULL, q434_checks };

/* ==== Q97: a caching layer ============================================================== */

KV_CHECK(q97_cache_aside)
{
    OPEN(c);
    const char *key = g_kv_key(k, "user:42"), *val = rand_word(k, 24);
    if (!g_kv_want_nil(k, g_kv_call(k, c, "GET", key, G_KV_END)))
        return false; /* miss: the app loads from the database ... */
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", key, val, "EX", "30", G_KV_END)))
        return false; /* ... and fills the cache with a TTL */
    if (!g_kv_want_str(k, g_kv_call(k, c, "GET", key, G_KV_END), val))
        return false; /* hit */
    return g_kv_want_range(k, g_kv_call(k, c, "TTL", key, G_KV_END), 25, 30);
}

KV_CHECK(q97_expires)
{
    OPEN(c);
    const char *a = g_kv_key(k, "a"), *b = g_kv_key(k, "b");
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", a, "x", "PX", "250", G_KV_END)) ||
        !g_kv_want_ok(k, g_kv_call(k, c, "SET", b, "y", G_KV_END)) ||
        !g_kv_want_int(k, g_kv_call(k, c, "PEXPIRE", b, "250", G_KV_END), 1))
        return false;
    if (!g_kv_want_str(k, g_kv_call(k, c, "GET", a, G_KV_END), "x"))
        return false;
    g_kv_sleep(450);
    if (!g_kv_want_nil(k, g_kv_call(k, c, "GET", a, G_KV_END)) ||
        !g_kv_want_nil(k, g_kv_call(k, c, "GET", b, G_KV_END)))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "EXISTS", a, b, G_KV_END), 0);
}

KV_CHECK(q97_ttl_rules)
{
    OPEN(c);
    const char *key = g_kv_key(k, "t");
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", key, "v1", "EX", "100", G_KV_END)) ||
        !g_kv_want_ok(k, g_kv_call(k, c, "SET", key, "v2", "KEEPTTL", G_KV_END)) ||
        !g_kv_want_range(k, g_kv_call(k, c, "TTL", key, G_KV_END), 95, 100))
        return false;
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", key, "v3", G_KV_END)) ||
        !g_kv_want_int(k, g_kv_call(k, c, "TTL", key, G_KV_END), -1))
        return false; /* a plain SET replaces the entry: no stale TTL */
    if (!g_kv_want_int(k, g_kv_call(k, c, "EXPIRE", key, "50", G_KV_END), 1) ||
        !g_kv_want_range(k, g_kv_call(k, c, "TTL", key, G_KV_END), 45, 50))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", key, G_KV_END), 1);
}

KV_CHECK(q97_stampede)
{
    enum { N = 8 };
    struct g_rconn *cs[N];
    if (!open_n(k, cs, N))
        return false;
    const char *lock = g_kv_key(k, "rebuild-lock");
    for (int i = 0; i < N; i++) { /* everyone asks before anyone reads: a real race */
        if (!g_kv_sendv(k, cs[i], "SET", lock, num(k, i), "NX", "PX", "5000", G_KV_END))
            return false;
    }
    int winners = 0, winner = -1;
    for (int i = 0; i < N; i++) {
        struct g_rv *r = g_kv_read(k, cs[i]);
        if (!r)
            return false;
        if (r->t == '+')
            winners++, winner = i;
        else if (r->t != '_')
            return g_fail(k->g, "SET NX from client %d: got %s, expected +OK or nil", i, g_kv_show(k, r));
    }
    if (winners != 1)
        return g_fail(k->g, "%d of %d clients racing SET NX on one key won it; exactly one must", winners, N);
    return g_kv_want_str(k, g_kv_call(k, cs[0], "GET", lock, G_KV_END), num(k, winner)) &&
           g_kv_want_int(k, g_kv_call(k, cs[0], "DEL", lock, G_KV_END), 1);
}

KV_CHECK(q97_batch)
{
    OPEN(c);
    const char *a = g_kv_key(k, "a"), *b = g_kv_key(k, "b"), *m = g_kv_key(k, "m");
    const char *va = rand_word(k, 8), *vb = rand_word(k, 8);
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", a, va, "EX", "60", G_KV_END)) ||
        !g_kv_want_ok(k, g_kv_call(k, c, "SET", b, vb, "EX", "60", G_KV_END)))
        return false;
    struct g_rv *r = g_kv_call(k, c, "MGET", a, m, b, G_KV_END);
    if (!g_kv_want_array(k, r, 3))
        return false;
    if (!g_kv_is_str(&r->a[0], va) || r->a[1].t != '_' || !g_kv_is_str(&r->a[2], vb))
        return g_fail(k->g, "sent %s, got %s, expected [\"%s\", nil, \"%s\"]", k->last, g_kv_show(k, r), va, vb);
    if (!g_kv_want_int(k, g_kv_call(k, c, "DEL", a, b, G_KV_END), 2))
        return false; /* invalidation */
    r = g_kv_call(k, c, "MGET", a, b, G_KV_END);
    if (!g_kv_want_array(k, r, 2))
        return false;
    if (r->a[0].t != '_' || r->a[1].t != '_')
        return g_fail(k->g, "after DEL, MGET returned %s, expected [nil, nil]", g_kv_show(k, r));
    return true;
}

static const struct st_grade_check q97_checks[] = {
    { "cache-aside: a miss is nil, SET EX fills, the next GET hits, TTL within EX", q97_cache_aside },
    { "entries expire: PX and PEXPIRE entries are misses once the time passed", q97_expires },
    { "TTL rules: KEEPTTL keeps it, a plain SET clears it, EXPIRE resets it", q97_ttl_rules },
    { "stampede guard: of 8 clients racing SET NX PX, exactly one wins", q97_stampede },
    { "batch reads: MGET keeps positions, nil for misses; DEL invalidates", q97_batch },
    { NULL, NULL },
};
const struct st_grader st__grade_q97 = { "q97", 97, 0, NULL, q97_checks };

/* ==== Q98: sessions ===================================================================== */

/* Find field in an HGETALL reply (flat array): the value or NULL. */
static const struct g_rv *hfield(const struct g_rv *r, const char *field)
{
    for (size_t i = 0; r && r->t == '*' && i + 1 < r->na; i += 2) {
        if (g_kv_is_str(&r->a[i], field))
            return &r->a[i + 1];
    }
    return NULL;
}

KV_CHECK(q98_create)
{
    OPEN(c);
    const char *sid = g_kv_key(k, st_arena_printf(&k->ar, "session:%s", rand_word(k, 16)));
    const char *user = rand_word(k, 8), *csrf = rand_word(k, 20);
    if (!g_kv_want_int(k, g_kv_call(k, c, "HSET", sid, "user", user, "csrf", csrf, "created", "1700000000", G_KV_END),
                       3))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, c, "EXPIRE", sid, "1800", G_KV_END), 1) ||
        !g_kv_want_range(k, g_kv_call(k, c, "TTL", sid, G_KV_END), 1790, 1800))
        return false;
    struct g_rv *r = g_kv_call(k, c, "HGETALL", sid, G_KV_END);
    if (!g_kv_want_array(k, r, 6))
        return false;
    if (!g_kv_is_str(hfield(r, "user"), user) || !g_kv_is_str(hfield(r, "csrf"), csrf) ||
        !g_kv_is_str(hfield(r, "created"), "1700000000"))
        return g_fail(k->g, "HGETALL returned %s, not the fields stored", g_kv_show(k, r));
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", sid, G_KV_END), 1);
}

KV_CHECK(q98_fields)
{
    OPEN(c);
    const char *sid = g_kv_key(k, "session:f");
    if (!g_kv_want_int(k, g_kv_call(k, c, "HSET", sid, "user", "ann", "theme", "dark", G_KV_END), 2) ||
        !g_kv_want_int(k, g_kv_call(k, c, "EXPIRE", sid, "60", G_KV_END), 1))
        return false;
    if (!g_kv_want_str(k, g_kv_call(k, c, "HGET", sid, "theme", G_KV_END), "dark") ||
        !g_kv_want_nil(k, g_kv_call(k, c, "HGET", sid, "nosuchfield", G_KV_END)))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, c, "HSET", sid, "theme", "light", G_KV_END), 0) ||
        !g_kv_want_str(k, g_kv_call(k, c, "HGET", sid, "theme", G_KV_END), "light"))
        return false; /* an update is not a new field */
    if (!g_kv_want_range(k, g_kv_call(k, c, "TTL", sid, G_KV_END), 55, 60))
        return false; /* writing a field keeps the session's TTL */
    if (!g_kv_want_int(k, g_kv_call(k, c, "HDEL", sid, "theme", G_KV_END), 1) ||
        !g_kv_want_nil(k, g_kv_call(k, c, "HGET", sid, "theme", G_KV_END)))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", sid, G_KV_END), 1);
}

KV_CHECK(q98_sliding)
{
    OPEN(c);
    const char *active = g_kv_key(k, "session:active"), *idle = g_kv_key(k, "session:idle");
    if (!g_kv_want_int(k, g_kv_call(k, c, "HSET", active, "user", "a", G_KV_END), 1) ||
        !g_kv_want_int(k, g_kv_call(k, c, "HSET", idle, "user", "i", G_KV_END), 1) ||
        !g_kv_want_int(k, g_kv_call(k, c, "PEXPIRE", active, "400", G_KV_END), 1) ||
        !g_kv_want_int(k, g_kv_call(k, c, "PEXPIRE", idle, "400", G_KV_END), 1))
        return false;
    for (int i = 0; i < 3; i++) { /* each request of the active user renews the timeout */
        g_kv_sleep(200);
        if (!g_kv_want_str(k, g_kv_call(k, c, "HGET", active, "user", G_KV_END), "a") ||
            !g_kv_want_int(k, g_kv_call(k, c, "PEXPIRE", active, "400", G_KV_END), 1))
            return false;
    }
    /* 600 ms in: the idle session (400 ms) is gone, the active one is still there */
    struct g_rv *r = g_kv_call(k, c, "HGETALL", idle, G_KV_END);
    if (!g_kv_want_array(k, r, 0) || !g_kv_want_int(k, g_kv_call(k, c, "EXISTS", idle, G_KV_END), 0))
        return false;
    if (!g_kv_want_str(k, g_kv_call(k, c, "HGET", active, "user", G_KV_END), "a"))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", active, G_KV_END), 1);
}

KV_CHECK(q98_logout)
{
    OPEN(c);
    OPEN(other);
    const char *sid = g_kv_key(k, "session:l");
    if (!g_kv_want_int(k, g_kv_call(k, c, "HSET", sid, "user", "bob", G_KV_END), 1) ||
        !g_kv_want_int(k, g_kv_call(k, c, "EXPIRE", sid, "60", G_KV_END), 1))
        return false;
    if (!g_kv_want_str(k, g_kv_call(k, other, "HGET", sid, "user", G_KV_END), "bob"))
        return false; /* any app server sees the session */
    if (!g_kv_want_int(k, g_kv_call(k, c, "DEL", sid, G_KV_END), 1))
        return false;
    struct g_rv *r = g_kv_call(k, other, "HGETALL", sid, G_KV_END);
    return g_kv_want_array(k, r, 0) && g_kv_want_nil(k, g_kv_call(k, other, "HGET", sid, "user", G_KV_END));
}

KV_CHECK(q98_counter)
{
    enum { N = 4, PER = 25 };
    struct g_rconn *cs[N];
    if (!open_n(k, cs, N))
        return false;
    const char *sid = g_kv_key(k, "session:views");
    if (!g_kv_want_int(k, g_kv_call(k, cs[0], "HSET", sid, "user", "c", G_KV_END), 1) ||
        !g_kv_want_int(k, g_kv_call(k, cs[0], "EXPIRE", sid, "60", G_KV_END), 1))
        return false;
    for (int j = 0; j < PER; j++) {
        for (int i = 0; i < N; i++) {
            if (!g_kv_sendv(k, cs[i], "HINCRBY", sid, "views", "1", G_KV_END))
                return false;
        }
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < PER; j++) {
            struct g_rv *r = g_kv_read(k, cs[i]);
            if (!g_kv_want_range(k, r, 1, (int64_t)N * PER))
                return false;
        }
    }
    if (!g_kv_want_str(k, g_kv_call(k, cs[0], "HGET", sid, "views", G_KV_END), num(k, (int64_t)N * PER)))
        return false;
    return g_kv_want_int(k, g_kv_call(k, cs[0], "DEL", sid, G_KV_END), 1);
}

static const struct st_grade_check q98_checks[] = {
    { "create: HSET the session's fields, EXPIRE 1800, HGETALL reads them back", q98_create },
    { "fields: HGET one, nil for a missing one, update (HSET 0), HDEL; TTL kept", q98_fields },
    { "sliding expiry: a session renewed with PEXPIRE stays, an idle one expires", q98_sliding },
    { "logout: another connection sees the session; after DEL it is gone everywhere", q98_logout },
    { "HINCRBY from 4 connections at once adds up exactly", q98_counter },
    { NULL, NULL },
};
const struct st_grader st__grade_q98 = { "q98", 98, 0, NULL, q98_checks };

/* ==== Q99: a rate limiter =============================================================== */

/* Fixed window: INCR the window's key, set its expiry on the first hit. The count, or -1
 * after g_fail. */
static int64_t hit(struct g_kv *k, struct g_rconn *c, const char *key, const char *window_ms)
{
    struct g_rv *r = g_kv_call(k, c, "INCR", key, G_KV_END);
    if (!r)
        return -1;
    if (r->t != ':')
        return g_fail(k->g, "sent %s, got %s, expected an integer", k->last, g_kv_show(k, r)), -1;
    if (r->i == 1 && !g_kv_want_int(k, g_kv_call(k, c, "PEXPIRE", key, window_ms, G_KV_END), 1))
        return -1;
    return r->i;
}

KV_CHECK(q99_fixed_window)
{
    OPEN(c);
    const char *key = g_kv_key(k, "rl:user1");
    int limit = (int)g_range(k->g, 3, 8);
    for (int i = 1; i <= limit + 3; i++) {
        int64_t n = hit(k, c, key, "10000");
        if (n < 0)
            return false;
        if (n != i)
            return g_fail(k->g, "hit %d in the window counted %" PRId64 "", i, n);
    }
    /* over the limit: the app refuses, the key still expires with the window */
    if (!g_kv_want_range(k, g_kv_call(k, c, "PTTL", key, G_KV_END), 1, 10000))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", key, G_KV_END), 1);
}

KV_CHECK(q99_window_resets)
{
    OPEN(c);
    const char *key = g_kv_key(k, "rl:reset");
    for (int i = 1; i <= 5; i++) {
        if (hit(k, c, key, "300") != i)
            return k->g->failed ? false : g_fail(k->g, "hit %d in the window was not counted as %d", i, i);
    }
    g_kv_sleep(500);
    int64_t n = hit(k, c, key, "300");
    if (n < 0)
        return false;
    if (n != 1)
        return g_fail(k->g,
                      "the first hit after the window lapsed counted %" PRId64 ", expected 1 (the key must "
                      "expire with its window)",
                      n);
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", key, G_KV_END), 1);
}

/*
 * n clients each pipeline per INCRs on one key, interleaved: every reply must be a distinct
 * value in 1..n*per (none lost or doubled), with ordered also increasing per client (one
 * connection's commands run in order), and the key must end at n*per.
 */
static bool concurrent_incr(struct g_kv *k, struct g_rconn **cs, int n, int per, const char *name, bool ordered)
{
    if (!open_n(k, cs, n))
        return false;
    const char *key = g_kv_key(k, name);
    for (int j = 0; j < per; j++) {
        for (int i = 0; i < n; i++) {
            if (!g_kv_sendv(k, cs[i], "INCR", key, G_KV_END))
                return false;
        }
    }
    bool *seen = st_arena_zalloc(&k->ar, (size_t)n * (size_t)per + 1);
    for (int i = 0; i < n; i++) {
        int64_t prev = 0;
        for (int j = 0; j < per; j++) {
            struct g_rv *r = g_kv_read(k, cs[i]);
            if (!g_kv_want_range(k, r, 1, (int64_t)n * per))
                return false;
            if (ordered && (seen[r->i] || r->i <= prev))
                return g_fail(k->g, "client %d got %" PRId64 " after %" PRId64 ": increments were lost or reordered", i,
                              r->i, prev);
            if (seen[r->i])
                return g_fail(k->g, "two concurrent INCRs both returned %" PRId64 ": a hit was not counted", r->i);
            seen[r->i] = true;
            prev = r->i;
        }
    }
    return g_kv_want_str(k, g_kv_call(k, cs[0], "GET", key, G_KV_END), num(k, (int64_t)n * per)) &&
           g_kv_want_int(k, g_kv_call(k, cs[0], "DEL", key, G_KV_END), 1);
}

KV_CHECK(q99_atomic)
{
    struct g_rconn *cs[8];
    return concurrent_incr(k, cs, 8, 25, "rl:shared", false);
}

static bool want_queued(struct g_kv *k, const struct g_rv *r)
{
    if (!r)
        return false;
    if (r->t == '+' && r->n == 6 && memcmp(r->s, "QUEUED", 6) == 0)
        return true;
    return g_fail(k->g, "sent %s inside MULTI, got %s, expected +QUEUED", k->last, g_kv_show(k, r));
}

KV_CHECK(q99_sliding_log)
{
    OPEN(c);
    const char *key = g_kv_key(k, "rl:log");
    /* hits at t = 0, 100, ..., 1900 ms with a 1000 ms window: at hit i the hits in
     * (t - 1000, t] count, at most 10. Timestamps are the app's, so no sleeping. */
    for (int i = 0; i < 20; i++) {
        long long t = 1700000000000LL + (long long)i * 100;
        if (!g_kv_want_ok(k, g_kv_call(k, c, "MULTI", G_KV_END)) ||
            !want_queued(k, g_kv_call(k, c, "ZADD", key, num(k, t), st_arena_printf(&k->ar, "req-%d", i), G_KV_END)) ||
            !want_queued(
                k, g_kv_call(k, c, "ZCOUNT", key, st_arena_printf(&k->ar, "(%lld", t - 1000), "+inf", G_KV_END)) ||
            !want_queued(k, g_kv_call(k, c, "PEXPIRE", key, "60000", G_KV_END)))
            return false;
        struct g_rv *r = g_kv_call(k, c, "EXEC", G_KV_END);
        if (!g_kv_want_array(k, r, 3))
            return false;
        int64_t want = i < 10 ? i + 1 : 10;
        if (r->a[0].t != ':' || r->a[0].i != 1 || r->a[1].t != ':' || r->a[1].i != want || r->a[2].t != ':')
            return g_fail(k->g, "hit %d: EXEC of ZADD/ZCOUNT/PEXPIRE returned %s, expected [:1, :%" PRId64 ", :1]", i,
                          g_kv_show(k, r), want);
    }
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", key, G_KV_END), 1);
}

static const struct st_grade_check q99_checks[] = {
    { "fixed window: INCR counts 1..N, the first hit sets PEXPIRE, the key has a TTL", q99_fixed_window },
    { "the window resets: after it lapses the count starts again at 1", q99_window_resets },
    { "atomic: 8 clients x 25 pipelined INCR: every count 1..200 returned exactly once", q99_atomic },
    { "sliding log: MULTI ZADD + ZCOUNT (now-window, +inf] + PEXPIRE counts only recent hits", q99_sliding_log },
    { NULL, NULL },
};
const struct st_grader st__grade_q99 = { "q99", 99, 0, NULL, q99_checks };

/* ==== Q175: pub/sub ===================================================================== */

/* A message array [kind, a, b(, c)] matching the strings given. */
static bool want_msg(struct g_kv *k, const struct g_rv *r, const char *what, const char *const *parts, size_t n)
{
    if (!r)
        return false;
    bool ok = r->t == '*' && r->na == n;
    for (size_t i = 0; ok && i < n; i++) {
        if (parts[i][0] == ':')
            ok = r->a[i].t == ':' && r->a[i].i == atoll(parts[i] + 1);
        else
            ok = g_kv_is_str(&r->a[i], parts[i]);
    }
    if (ok)
        return true;
    struct st_buf b;
    st_buf_init(&b, 1024);
    for (size_t i = 0; i < n; i++)
        st_buf_printf(&b, "%s%s", i ? ", " : "[", parts[i]);
    st_buf_append_c(&b, "]");
    bool res = g_fail(k->g, "%s: got %s, expected %s", what, g_kv_show(k, r), b.data);
    st_buf_release(&b);
    return res;
}

#define MSG(k, r, what, ...)                                                                                           \
    want_msg(k, r, what, (const char *const[]){ __VA_ARGS__ },                                                         \
             sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

KV_CHECK(q175_subscribe)
{
    OPEN(c);
    const char *a = g_kv_key(k, "news"), *b = g_kv_key(k, "sport");
    if (!g_kv_sendv(k, c, "SUBSCRIBE", a, b, G_KV_END))
        return false;
    if (!MSG(k, g_kv_read(k, c), "first SUBSCRIBE confirmation", "subscribe", a, ":1") ||
        !MSG(k, g_kv_read(k, c), "second SUBSCRIBE confirmation", "subscribe", b, ":2"))
        return false;
    if (!g_kv_sendv(k, c, "UNSUBSCRIBE", a, G_KV_END))
        return false;
    return MSG(k, g_kv_read(k, c), "UNSUBSCRIBE confirmation", "unsubscribe", a, ":1");
}

KV_CHECK(q175_fanout)
{
    enum { N = 3, M = 5 };
    struct g_rconn *subs[N];
    if (!open_n(k, subs, N))
        return false;
    OPEN(pub);
    const char *ch = g_kv_key(k, "orders");
    for (int i = 0; i < N; i++) {
        if (!g_kv_sendv(k, subs[i], "SUBSCRIBE", ch, G_KV_END) ||
            !MSG(k, g_kv_read(k, subs[i]), "SUBSCRIBE confirmation", "subscribe", ch, ":1"))
            return false;
    }
    const char *msgs[M];
    for (int j = 0; j < M; j++) {
        msgs[j] = st_arena_printf(&k->ar, "order-%d-%s", j, rand_word(k, 6));
        if (!g_kv_want_int(k, g_kv_call(k, pub, "PUBLISH", ch, msgs[j], G_KV_END), N))
            return false;
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < M; j++) {
            if (!MSG(k, g_kv_read(k, subs[i]), st_arena_printf(&k->ar, "subscriber %d, message %d", i, j), "message",
                     ch, msgs[j]))
                return false;
        }
    }
    return true;
}

KV_CHECK(q175_patterns)
{
    OPEN(sub);
    OPEN(pub);
    const char *pat = g_kv_key(k, "events.*"), *hit = g_kv_key(k, "events.login"), *miss = g_kv_key(k, "other");
    if (!g_kv_sendv(k, sub, "PSUBSCRIBE", pat, G_KV_END) ||
        !MSG(k, g_kv_read(k, sub), "PSUBSCRIBE confirmation", "psubscribe", pat, ":1"))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, pub, "PUBLISH", miss, "x", G_KV_END), 0) ||
        !g_kv_want_int(k, g_kv_call(k, pub, "PUBLISH", hit, "alice", G_KV_END), 1))
        return false;
    return MSG(k, g_kv_read(k, sub), "pattern message", "pmessage", pat, hit, "alice");
}

KV_CHECK(q175_unsubscribe)
{
    OPEN(a);
    OPEN(b);
    OPEN(pub);
    const char *ch = g_kv_key(k, "chat");
    for (int i = 0; i < 2; i++) {
        struct g_rconn *s = i ? b : a;
        if (!g_kv_sendv(k, s, "SUBSCRIBE", ch, G_KV_END) ||
            !MSG(k, g_kv_read(k, s), "SUBSCRIBE", "subscribe", ch, ":1"))
            return false;
    }
    if (!g_kv_sendv(k, a, "UNSUBSCRIBE", ch, G_KV_END) ||
        !MSG(k, g_kv_read(k, a), "UNSUBSCRIBE", "unsubscribe", ch, ":0"))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, pub, "PUBLISH", ch, "after", G_KV_END), 1))
        return false;
    if (!MSG(k, g_kv_read(k, b), "the subscriber still listening", "message", ch, "after"))
        return false;
    struct g_rv *r = g_kv_try_read(k, a, 200);
    if (r)
        return g_fail(k->g, "an unsubscribed client still received %s", g_kv_show(k, r));
    return !k->g->failed;
}

KV_CHECK(q175_fire_and_forget)
{
    OPEN(sub);
    OPEN(pub);
    const char *ch = g_kv_key(k, "late");
    if (!g_kv_want_int(k, g_kv_call(k, pub, "PUBLISH", ch, "before", G_KV_END), 0))
        return false;
    if (!g_kv_sendv(k, sub, "SUBSCRIBE", ch, G_KV_END) ||
        !MSG(k, g_kv_read(k, sub), "SUBSCRIBE", "subscribe", ch, ":1"))
        return false;
    if (!g_kv_want_int(k, g_kv_call(k, pub, "PUBLISH", ch, "after", G_KV_END), 1))
        return false;
    /* pub/sub keeps nothing: the first thing the late subscriber sees is "after" */
    return MSG(k, g_kv_read(k, sub), "first message of a late subscriber", "message", ch, "after");
}

KV_CHECK(q175_introspection)
{
    OPEN(s1);
    OPEN(s2);
    OPEN(q);
    const char *a = g_kv_key(k, "a"), *b = g_kv_key(k, "b"), *none = g_kv_key(k, "none");
    if (!g_kv_sendv(k, s1, "SUBSCRIBE", a, b, G_KV_END) || !g_kv_read(k, s1) || !g_kv_read(k, s1) ||
        !g_kv_sendv(k, s2, "SUBSCRIBE", a, G_KV_END) || !g_kv_read(k, s2))
        return false;
    struct g_rv *r = g_kv_call(k, q, "PUBSUB", "NUMSUB", a, b, none, G_KV_END);
    if (!g_kv_want_array(k, r, 6))
        return false;
    if (!g_kv_is_str(&r->a[0], a) || r->a[1].i != 2 || !g_kv_is_str(&r->a[2], b) || r->a[3].i != 1 || r->a[5].i != 0)
        return g_fail(k->g, "sent %s, got %s, expected [a, :2, b, :1, none, :0]", k->last, g_kv_show(k, r));
    r = g_kv_call(k, q, "PUBSUB", "CHANNELS", st_arena_printf(&k->ar, "%s*", k->prefix), G_KV_END);
    if (!g_kv_want_array(k, r, 2))
        return false;
    bool has_a = g_kv_is_str(&r->a[0], a) || g_kv_is_str(&r->a[1], a);
    bool has_b = g_kv_is_str(&r->a[0], b) || g_kv_is_str(&r->a[1], b);
    if (!has_a || !has_b)
        return g_fail(k->g, "sent %s, got %s, expected the two channels in use", k->last, g_kv_show(k, r));
    return true;
}

static const struct st_grade_check q175_checks[] = {
    { "SUBSCRIBE confirms each channel as [subscribe, channel, count]", q175_subscribe },
    { "PUBLISH reaches all 3 subscribers, in order, and returns 3", q175_fanout },
    { "PSUBSCRIBE: [pmessage, pattern, channel, message] for matching channels only", q175_patterns },
    { "UNSUBSCRIBE stops delivery to that client only", q175_unsubscribe },
    { "fire and forget: nothing published before SUBSCRIBE is delivered", q175_fire_and_forget },
    { "PUBSUB NUMSUB and CHANNELS report the live subscriptions", q175_introspection },
    { NULL, NULL },
};
const struct st_grader st__grade_q175 = { "q175", 175, 0, NULL, q175_checks };

/* ==== Q311: a lock with safe release ===================================================== */

/*
 * Safe release without scripting: WATCH the lock, check the token, and delete inside
 * MULTI/EXEC. If anyone changed the lock between the GET and EXEC, EXEC aborts (nil).
 * Returns 1 released, 0 not ours (or taken over meanwhile), -1 after g_fail.
 */
static int release(struct g_kv *k, struct g_rconn *c, const char *lock, const char *token,
                   void (*between)(struct g_kv *k, void *arg), void *arg)
{
    if (!g_kv_want_ok(k, g_kv_call(k, c, "WATCH", lock, G_KV_END)))
        return -1;
    struct g_rv *r = g_kv_call(k, c, "GET", lock, G_KV_END);
    if (!r)
        return -1;
    if (!g_kv_is_str(r, token)) {
        if (!g_kv_want_ok(k, g_kv_call(k, c, "UNWATCH", G_KV_END)))
            return -1;
        return 0;
    }
    if (between)
        between(k, arg);
    if (k->g->failed || !g_kv_want_ok(k, g_kv_call(k, c, "MULTI", G_KV_END)))
        return -1;
    r = g_kv_call(k, c, "DEL", lock, G_KV_END);
    if (!r || !(r->t == '+' && r->n == 6 && memcmp(r->s, "QUEUED", 6) == 0))
        return r ? (g_fail(k->g, "sent %s inside MULTI, got %s, expected +QUEUED", k->last, g_kv_show(k, r)), -1) : -1;
    r = g_kv_call(k, c, "EXEC", G_KV_END);
    if (!r)
        return -1;
    if (r->t == '_')
        return 0;
    if (r->t == '*' && r->na == 1 && r->a[0].t == ':' && r->a[0].i == 1)
        return 1;
    return g_fail(k->g, "sent EXEC of the release, got %s, expected [:1] or nil", g_kv_show(k, r)), -1;
}

KV_CHECK(q311_acquire)
{
    OPEN(a);
    OPEN(b);
    const char *lock = g_kv_key(k, "lock"), *ta = rand_word(k, 16), *tb = rand_word(k, 16);
    if (!g_kv_want_ok(k, g_kv_call(k, a, "SET", lock, ta, "NX", "PX", "5000", G_KV_END)))
        return false;
    if (!g_kv_want_nil(k, g_kv_call(k, b, "SET", lock, tb, "NX", "PX", "5000", G_KV_END)))
        return false; /* held: refused */
    if (!g_kv_want_str(k, g_kv_call(k, b, "GET", lock, G_KV_END), ta) ||
        !g_kv_want_range(k, g_kv_call(k, b, "PTTL", lock, G_KV_END), 1, 5000))
        return false;
    return g_kv_want_int(k, g_kv_call(k, a, "DEL", lock, G_KV_END), 1);
}

KV_CHECK(q311_lease)
{
    OPEN(a);
    OPEN(b);
    const char *lock = g_kv_key(k, "lease"), *ta = rand_word(k, 16), *tb = rand_word(k, 16);
    if (!g_kv_want_ok(k, g_kv_call(k, a, "SET", lock, ta, "NX", "PX", "300", G_KV_END)))
        return false;
    g_kv_sleep(500); /* a crashed holder: the lease runs out */
    if (!g_kv_want_ok(k, g_kv_call(k, b, "SET", lock, tb, "NX", "PX", "5000", G_KV_END)))
        return false;
    if (!g_kv_want_str(k, g_kv_call(k, a, "GET", lock, G_KV_END), tb))
        return false;
    return g_kv_want_int(k, g_kv_call(k, b, "DEL", lock, G_KV_END), 1);
}

KV_CHECK(q311_safe_release)
{
    OPEN(a);
    OPEN(b);
    const char *lock = g_kv_key(k, "safe"), *ta = rand_word(k, 16), *tb = rand_word(k, 16);
    if (!g_kv_want_ok(k, g_kv_call(k, b, "SET", lock, tb, "NX", "PX", "5000", G_KV_END)))
        return false;
    int rc = release(k, a, lock, ta, NULL, NULL); /* A does not own it */
    if (rc < 0)
        return false;
    if (rc != 0 || !g_kv_want_str(k, g_kv_call(k, b, "GET", lock, G_KV_END), tb))
        return g_fail(k->g, "a release with the wrong token deleted the lock");
    rc = release(k, b, lock, tb, NULL, NULL);
    if (rc < 0)
        return false;
    if (rc != 1)
        return g_fail(k->g, "the owner's release (WATCH, GET, MULTI, DEL, EXEC) did not delete its lock");
    return g_kv_want_int(k, g_kv_call(k, b, "EXISTS", lock, G_KV_END), 0);
}

struct takeover {
    struct g_rconn *b;
    const char *lock, *tb;
};

/* Between A's GET and EXEC: A's lease lapses and B takes the lock. */
static void take_over(struct g_kv *k, void *arg)
{
    struct takeover *t = arg;
    if (!g_kv_want_int(k, g_kv_call(k, t->b, "DEL", t->lock, G_KV_END), 1))
        return; /* stands for the expiry of A's lease */
    g_kv_want_ok(k, g_kv_call(k, t->b, "SET", t->lock, t->tb, "NX", "PX", "5000", G_KV_END));
}

KV_CHECK(q311_release_race)
{
    OPEN(a);
    OPEN(b);
    const char *lock = g_kv_key(k, "race"), *ta = rand_word(k, 16), *tb = rand_word(k, 16);
    if (!g_kv_want_ok(k, g_kv_call(k, a, "SET", lock, ta, "NX", "PX", "5000", G_KV_END)))
        return false;
    struct takeover t = { b, lock, tb };
    int rc = release(k, a, lock, ta, take_over, &t);
    if (rc < 0)
        return false;
    if (rc != 0)
        return g_fail(k->g, "A's check-and-delete went through after B took the lock between A's GET and EXEC: "
                            "WATCH must make that EXEC fail (nil)");
    if (!g_kv_want_str(k, g_kv_call(k, b, "GET", lock, G_KV_END), tb))
        return false;
    return g_kv_want_int(k, g_kv_call(k, b, "DEL", lock, G_KV_END), 1);
}

/* One contender of the mutual exclusion check: a small state machine, one command per
 * turn, so the clients interleave at every step. */
struct contender {
    struct g_rconn *c;
    const char *token;
    int state; /* 0 acquire, 1 read, 2 write, 3 release */
    int64_t seen;
    int done;
};

static bool contender_step(struct g_kv *k, struct contender *ct, const char *lock, const char *counter)
{
    struct g_rv *r;
    switch (ct->state) {
    case 0:
        r = g_kv_call(k, ct->c, "SET", lock, ct->token, "NX", "PX", "5000", G_KV_END);
        if (!r)
            return false;
        if (r->t == '+')
            ct->state = 1;
        else if (r->t != '_')
            return g_fail(k->g, "sent %s, got %s, expected +OK or nil", k->last, g_kv_show(k, r));
        return true;
    case 1:
        r = g_kv_call(k, ct->c, "GET", counter, G_KV_END);
        if (!r || r->t != '$')
            return r ? g_fail(k->g, "sent %s, got %s", k->last, g_kv_show(k, r)) : false;
        ct->seen = atoll(st_arena_strndup(&k->ar, r->s, r->n));
        ct->state = 2;
        return true;
    case 2: /* read-modify-write: safe only under the lock */
        if (!g_kv_want_ok(k, g_kv_call(k, ct->c, "SET", counter, num(k, ct->seen + 1), "EX", "60", G_KV_END)))
            return false;
        ct->state = 3;
        return true;
    default: {
        int rc = release(k, ct->c, lock, ct->token, NULL, NULL);
        if (rc < 0)
            return false;
        if (rc == 0)
            return g_fail(k->g, "a client could not release the lock it held (token %s)", ct->token);
        ct->state = 0;
        ct->done++;
        return true;
    }
    }
}

KV_CHECK(q311_exclusion)
{
    enum { N = 5, ROUNDS = 6 };
    struct contender cs[N];
    const char *lock = g_kv_key(k, "mutex"), *counter = g_kv_key(k, "counter");
    for (int i = 0; i < N; i++) {
        cs[i] = (struct contender){ .token = st_arena_printf(&k->ar, "client-%d-%s", i, rand_word(k, 8)) };
        if (!(cs[i].c = g_kv_open(k)))
            return false;
    }
    if (!g_kv_want_ok(k, g_kv_call(k, cs[0].c, "SET", counter, "0", "EX", "60", G_KV_END)))
        return false;
    int total = 0;
    for (int steps = 0; total < N * ROUNDS && steps < 4000; steps++) {
        struct contender *ct = &cs[g_rand(k->g) % N];
        if (ct->done == ROUNDS)
            continue;
        int before = ct->done;
        if (!contender_step(k, ct, lock, counter))
            return false;
        total += ct->done - before;
    }
    if (total < N * ROUNDS)
        return g_fail(k->g, "only %d of %d critical sections completed: the lock was not handed on", total, N * ROUNDS);
    if (!g_kv_want_str(k, g_kv_call(k, cs[0].c, "GET", counter, G_KV_END), num(k, (int64_t)N * ROUNDS)))
        return g_fail(k->g,
                      "%d clients each incremented a counter %d times under the lock (GET then SET): the "
                      "counter is not %d, so two held the lock at once. %s",
                      N, ROUNDS, N * ROUNDS, k->g->reason);
    return g_kv_want_int(k, g_kv_call(k, cs[0].c, "DEL", counter, G_KV_END), 1);
}

static const struct st_grade_check q311_checks[] = {
    { "acquire: SET NX PX succeeds once; a second client gets nil; PTTL within the lease", q311_acquire },
    { "the lease expires: after PX another client can take the lock", q311_lease },
    { "safe release (WATCH, GET, MULTI, DEL, EXEC): only the token's owner deletes it", q311_safe_release },
    { "a release racing a new owner aborts (EXEC nil) and the new owner keeps the lock", q311_release_race },
    { "mutual exclusion: 5 interleaved clients, a GET+SET counter under the lock loses nothing", q311_exclusion },
    { NULL, NULL },
};
const struct st_grader st__grade_q311 = { "q311", 311, 0, NULL, q311_checks };

/* ==== Q313: a counter ==================================================================== */

KV_CHECK(q313_basics)
{
    OPEN(c);
    const char *key = g_kv_key(k, "hits");
    int64_t by = g_range(k->g, 5, 500);
    if (!g_kv_want_int(k, g_kv_call(k, c, "INCR", key, G_KV_END), 1) ||
        !g_kv_want_int(k, g_kv_call(k, c, "INCRBY", key, num(k, by), G_KV_END), 1 + by) ||
        !g_kv_want_int(k, g_kv_call(k, c, "DECR", key, G_KV_END), by) ||
        !g_kv_want_int(k, g_kv_call(k, c, "DECRBY", key, num(k, by + 10), G_KV_END), -10) ||
        !g_kv_want_str(k, g_kv_call(k, c, "GET", key, G_KV_END), "-10"))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", key, G_KV_END), 1);
}

KV_CHECK(q313_concurrent)
{
    struct g_rconn *cs[10];
    return concurrent_incr(k, cs, 10, 100, "total", true);
}

KV_CHECK(q313_errors)
{
    OPEN(c);
    const char *text = g_kv_key(k, "text"), *max = g_kv_key(k, "max");
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", text, "abc", G_KV_END)) ||
        !g_kv_want_err(k, g_kv_call(k, c, "INCR", text, G_KV_END), "ERR value is not an integer or out of range") ||
        !g_kv_want_str(k, g_kv_call(k, c, "GET", text, G_KV_END), "abc"))
        return false;
    if (!g_kv_want_ok(k, g_kv_call(k, c, "SET", max, "9223372036854775806", G_KV_END)) ||
        !g_kv_want_int(k, g_kv_call(k, c, "INCR", max, G_KV_END), INT64_MAX) ||
        !g_kv_want_err(k, g_kv_call(k, c, "INCR", max, G_KV_END), "ERR increment or decrement would overflow") ||
        !g_kv_want_str(k, g_kv_call(k, c, "GET", max, G_KV_END), "9223372036854775807"))
        return false;
    if (!g_kv_want_err(k, g_kv_call(k, c, "INCRBY", max, "notanumber", G_KV_END),
                       "ERR value is not an integer or out of range"))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", text, max, G_KV_END), 2);
}

KV_CHECK(q313_sharded)
{
    enum { N = 4, SHARDS = 16, PER = 30 };
    struct g_rconn *cs[N];
    if (!open_n(k, cs, N))
        return false;
    const char *keys[SHARDS];
    for (int s = 0; s < SHARDS; s++)
        keys[s] = g_kv_key(k, st_arena_printf(&k->ar, "views:shard:%d", s));
    int64_t total = 0;
    for (int j = 0; j < PER; j++) { /* each client picks a random shard: no hot key */
        for (int i = 0; i < N; i++) {
            int64_t by = g_range(k->g, 1, 9);
            total += by;
            if (!g_kv_sendv(k, cs[i], "INCRBY", keys[g_rand(k->g) % SHARDS], num(k, by), G_KV_END))
                return false;
        }
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < PER; j++) {
            if (!g_kv_want_range(k, g_kv_read(k, cs[i]), 1, INT64_MAX))
                return false;
        }
    }
    const char *argv[SHARDS + 1];
    argv[0] = "MGET";
    for (int s = 0; s < SHARDS; s++)
        argv[s + 1] = keys[s];
    if (!g_kv_send(k, cs[0], SHARDS + 1, argv, NULL))
        return false;
    struct g_rv *r = g_kv_read(k, cs[0]);
    if (!g_kv_want_array(k, r, SHARDS))
        return false;
    int64_t sum = 0;
    for (int s = 0; s < SHARDS; s++) {
        if (r->a[s].t == '$')
            sum += atoll(st_arena_strndup(&k->ar, r->a[s].s, r->a[s].n));
    }
    if (sum != total)
        return g_fail(k->g, "the shards add up to %" PRId64 ", but %" PRId64 " was added", sum, total);
    argv[0] = "DEL";
    return g_kv_send(k, cs[0], SHARDS + 1, argv, NULL) && g_kv_read(k, cs[0]);
}

KV_CHECK(q313_windowed)
{
    OPEN(c);
    const char *key = g_kv_key(k, "per-minute");
    if (!g_kv_want_int(k, g_kv_call(k, c, "INCR", key, G_KV_END), 1) ||
        !g_kv_want_int(k, g_kv_call(k, c, "EXPIRE", key, "60", G_KV_END), 1))
        return false;
    for (int i = 2; i <= 5; i++) {
        if (!g_kv_want_int(k, g_kv_call(k, c, "INCR", key, G_KV_END), i))
            return false;
    }
    /* INCR changes the value, not the key's lifetime */
    if (!g_kv_want_range(k, g_kv_call(k, c, "TTL", key, G_KV_END), 55, 60))
        return false;
    return g_kv_want_int(k, g_kv_call(k, c, "DEL", key, G_KV_END), 1);
}

static const struct st_grade_check q313_checks[] = {
    { "INCR starts a missing counter at 1; INCRBY, DECR, DECRBY return the new value", q313_basics },
    { "10 clients x 100 pipelined INCR: total exact, each client's replies rising and unique", q313_concurrent },
    { "errors: INCR of text and past 2^63-1 are refused with Redis's errors, value unchanged", q313_errors },
    { "sharded counter: INCRBY on 16 shard keys from 4 clients, MGET sums to the total", q313_sharded },
    { "a windowed counter keeps its TTL across INCR", q313_windowed },
    { NULL, NULL },
};
const struct st_grader st__grade_q313 = { "q313", 313, 0, NULL, q313_checks };
