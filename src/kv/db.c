/*
 * db.c - the keyspace: databases as incrementally rehashed hash tables of kv_entry, string
 * representations (int, embstr, raw), lookups with lazy expiry, active expiry, SCAN's
 * cursor, async flush, and the dirty counter.
 *
 * Layout (see db.h): an entry is one allocation holding its chain link, expiry, LRU, type,
 * key and, for short strings, the value. A key like "key:000000000001" -> "xxx" costs one
 * 72-byte malloc block plus ~8-16 bytes of bucket array; Redis 7 spends a dictEntry, a key
 * sds and an embstr robj (three allocations) for the same.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "base/time.h"
#include "kv/db.h"
#include "kv/persist.h"

#define TABLE_MIN 4        /* buckets of a new table, as Redis's DICT_HT_INITIAL_SIZE */
#define EMBSTR_MAX 44      /* Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT */
#define EXPIRE_SAMPLE 20   /* volatile keys sampled per round of active expiry */
#define LAZYFREE_SYNC 1024 /* smaller dbs are freed at once even when ASYNC is asked */

/* A raw string: the length, then the bytes; capacity is the block's usable size. */
struct kv_rawstr {
    size_t len;
    char buf[];
};

static struct kv_db *dbs;
static int ndbs;
static uint64_t dirty;

/* ---- randomness and hashing --------------------------------------------------------- */

static uint64_t rng[4];
static uint64_t seed[2];

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void seed_init(void)
{
    uint64_t s[6] = { 0 };
    if (getrandom(s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
        s[0] = (uint64_t)st_time_mono_ns() ^ 0x9e3779b97f4a7c15ull;
        s[1] = (uint64_t)(uintptr_t)&s * 0xbf58476d1ce4e5b9ull;
    }
    for (int i = 0; i < 4; i++)
        rng[i] = s[i] | 1; /* xoshiro must not start from all zeros */
    seed[0] = s[4] ^ 0xa0761d6478bd642full;
    seed[1] = s[5] ^ 0xe7037ed1a0b428dbull;
}

/* xoshiro256** (Blackman and Vigna): fast, and good enough for sampling. */
uint64_t kv_rand64(void)
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

static uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t rd64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint64_t rd32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/*
 * A keyed multiply-mix hash in the style of wyhash: 16 bytes per 128-bit multiply, so a
 * typical key costs a few nanoseconds (SipHash costs several times that), and the secret
 * 128-bit seed keeps clients from precomputing colliding keys.
 */
uint64_t kv_key_hash(const char *p, size_t n)
{
    uint64_t h = seed[0] ^ (n * 0x8ebc6af09c88c6e3ull), a, b;
    if (n > 16) {
        size_t left = n;
        while (left > 16) {
            h = mix(rd64(p) ^ seed[1], rd64(p + 8) ^ h);
            p += 16;
            left -= 16;
        }
        /* The last 16 bytes, overlapping what was mixed already: no byte-wise tail. */
        a = rd64(p + left - 16);
        b = rd64(p + left - 8);
    } else if (n >= 8) {
        a = rd64(p);
        b = rd64(p + n - 8);
    } else if (n >= 4) {
        a = rd32(p);
        b = rd32(p + n - 4);
    } else if (n > 0) {
        a = ((uint64_t)(unsigned char)p[0] << 16) | ((uint64_t)(unsigned char)p[n / 2] << 8) | (unsigned char)p[n - 1];
        b = 0;
    } else {
        a = b = 0;
    }
    return mix(mix(a ^ seed[1], b ^ h) ^ 0x589965cc75374cc3ull, n ^ seed[0]);
}

/* ---- databases ---------------------------------------------------------------------- */

static void dbs_init(void)
{
    seed_init();
    ndbs = kv_cfg.databases > 0 ? kv_cfg.databases : 16;
    dbs = kv_calloc((size_t)ndbs, sizeof(*dbs));
    for (int i = 0; i < ndbs; i++) {
        dbs[i].index = i;
        dbs[i].rehash_idx = -1;
    }
}

struct kv_db *kv_db_at(int index)
{
    if (!dbs)
        dbs_init();
    return index >= 0 && index < ndbs ? &dbs[index] : NULL;
}

int kv_db_count(void)
{
    if (!dbs)
        dbs_init();
    return ndbs;
}

uint64_t kv_dirty(void)
{
    return dirty;
}

void kv_dirty_add(uint64_t n)
{
    dirty += n;
}

size_t kv_db_size(const struct kv_db *db)
{
    return db->t[0].used + db->t[1].used;
}

size_t kv_db_expires(const struct kv_db *db)
{
    return db->nvol;
}

const struct kv_type_ops *kv_ops_of(enum kv_type t)
{
    switch (t) {
    case KV_LIST: return &kv_list_ops;
    case KV_HASH: return &kv_hash_ops;
    case KV_SET: return &kv_set_ops;
    case KV_ZSET: return &kv_zset_ops;
    default: return NULL;
    }
}

/* ---- the volatile array ------------------------------------------------------------- */

static void vol_add(struct kv_db *db, struct kv_entry *e)
{
    if (db->nvol == db->vol_cap) {
        db->vol_cap = db->vol_cap ? db->vol_cap * 2 : 16;
        db->vol = kv_realloc(db->vol, db->vol_cap * sizeof(struct kv_entry *));
    }
    e->vol_i = (uint32_t)db->nvol;
    db->vol[db->nvol++] = e;
}

static void vol_remove(struct kv_db *db, struct kv_entry *e)
{
    struct kv_entry *last = db->vol[--db->nvol];
    db->vol[e->vol_i] = last;
    last->vol_i = e->vol_i;
    e->expire_ms = -1;
}

void kv_db_set_expire(struct kv_db *db, struct kv_entry *e, int64_t when_ms)
{
    if (when_ms < 0) {
        if (e->expire_ms >= 0)
            vol_remove(db, e);
        return;
    }
    if (e->expire_ms < 0)
        vol_add(db, e);
    e->expire_ms = when_ms;
}

/* ---- entries ------------------------------------------------------------------------ */

static size_t entry_size(size_t klen, size_t emb)
{
    return offsetof(struct kv_entry, key) + klen + 1 + emb;
}

static char *emb_ptr(struct kv_entry *e)
{
    return e->key + e->klen + 1;
}

static struct kv_entry *entry_new(struct kv_bytes key, size_t emb)
{
    struct kv_entry *e = kv_malloc(entry_size(key.n, emb));
    e->next = NULL;
    e->expire_ms = -1;
    e->vol_i = 0;
    e->klen = (uint32_t)key.n;
    memcpy(e->key, key.p, key.n);
    e->key[key.n] = '\0';
    kv_evict_init_entry(e);
    return e;
}

/* Free the value of e (not e itself); e is left as an empty string. */
static void value_free(struct kv_entry *e)
{
    if (e->type != KV_STRING)
        kv_ops_of(e->type)->free(e->v.ptr);
    else if (e->enc == KV_ENC_RAW)
        kv_free(e->v.ptr);
    e->type = KV_STRING;
    e->enc = KV_ENC_INT;
    e->v.i = 0;
}

static void entry_free(struct kv_db *db, struct kv_entry *e)
{
    if (e->expire_ms >= 0)
        vol_remove(db, e);
    value_free(e);
    kv_free(e);
}

size_t kv_entry_mem(const struct kv_entry *e)
{
    size_t n = kv_alloc_size(e);
    if (e->type != KV_STRING)
        n += kv_ops_of(e->type)->mem(e->v.ptr);
    else if (e->enc == KV_ENC_RAW)
        n += kv_alloc_size(e->v.ptr);
    return n;
}

bool kv_entry_expired(const struct kv_entry *e)
{
    /* While loading, keys are taken as the file says; active expiry cleans up later. */
    return e->expire_ms >= 0 && kv_now_ms() > e->expire_ms && !kv_persist_loading();
}

/* ---- the hash table ----------------------------------------------------------------- */

static bool rehashing(const struct kv_db *db)
{
    return db->rehash_idx >= 0;
}

/* Move up to n buckets of t[0] into t[1], looking at no more than 10n empty ones. */
static void rehash(struct kv_db *db, int n)
{
    int empty_visits = n * 10;
    struct kv_table *from = &db->t[0], *to = &db->t[1];
    while (n-- && from->used) {
        while (!from->b[db->rehash_idx]) {
            db->rehash_idx++;
            if (--empty_visits == 0)
                return;
        }
        struct kv_entry *e = from->b[db->rehash_idx];
        while (e) {
            struct kv_entry *next = e->next;
            uint64_t i = kv_key_hash(e->key, e->klen) & to->mask;
            e->next = to->b[i];
            to->b[i] = e;
            from->used--;
            to->used++;
            e = next;
        }
        from->b[db->rehash_idx++] = NULL;
    }
    if (from->used == 0) {
        kv_free(from->b);
        *from = *to;
        memset(to, 0, sizeof(*to));
        db->rehash_idx = -1;
    }
}

static void rehash_step(struct kv_db *db)
{
    if (rehashing(db))
        rehash(db, 1);
}

static uint64_t next_pow2(size_t n)
{
    uint64_t s = TABLE_MIN;
    while (s < n)
        s <<= 1;
    return s;
}

/* Start a (re)size to the smallest power of two holding n keys. */
static void resize(struct kv_db *db, size_t n)
{
    uint64_t size = next_pow2(n);
    if (rehashing(db) || (db->t[0].b && size == db->t[0].mask + 1))
        return;
    struct kv_table t = { kv_calloc(size, sizeof(struct kv_entry *)), size - 1, 0 };
    if (!db->t[0].b) {
        db->t[0] = t;
        return;
    }
    db->t[1] = t;
    db->rehash_idx = 0;
}

static void expand_if_needed(struct kv_db *db)
{
    if (rehashing(db))
        return;
    if (!db->t[0].b)
        resize(db, TABLE_MIN);
    else if (db->t[0].used >= db->t[0].mask + 1)
        resize(db, db->t[0].used + 1);
}

/* The link that points at key's entry, or NULL; *tab tells which table holds it. */
static struct kv_entry **find_slot(struct kv_db *db, struct kv_bytes key, uint64_t h, int *tab)
{
    for (int t = 0; t < 2; t++) {
        struct kv_table *tb = &db->t[t];
        if (!tb->b)
            break;
        struct kv_entry **sp = &tb->b[h & tb->mask];
        for (; *sp; sp = &(*sp)->next) {
            if ((*sp)->klen == key.n && memcmp((*sp)->key, key.p, key.n) == 0) {
                *tab = t;
                return sp;
            }
        }
        if (!rehashing(db))
            break;
    }
    return NULL;
}

/* Link a new entry (absent key) into the table that receives inserts. */
static void link_new(struct kv_db *db, struct kv_entry *e, uint64_t h)
{
    expand_if_needed(db);
    struct kv_table *tb = rehashing(db) ? &db->t[1] : &db->t[0];
    uint64_t i = h & tb->mask;
    e->next = tb->b[i];
    tb->b[i] = e;
    tb->used++;
}

/* Remove the entry *sp from table tab (its memory is the caller's). */
static struct kv_entry *unlink_slot(struct kv_db *db, struct kv_entry **sp, int tab)
{
    struct kv_entry *e = *sp;
    *sp = e->next;
    db->t[tab].used--;
    return e;
}

/* Unlink and free key's entry; the caller has done stats and propagation. */
static void remove_entry(struct kv_db *db, struct kv_entry *e)
{
    int tab;
    struct kv_entry **sp = find_slot(db, kv_entry_key(e), kv_key_hash(e->key, e->klen), &tab);
    if (!sp || *sp != e) {
        /* Never: an entry from a lookup is always linked. */
        fprintf(stderr, "strata kv: deleting an entry that is not in its db\n");
        return;
    }
    entry_free(db, unlink_slot(db, sp, tab));
}

/* key's entry (hash h) with lazy expiry not applied; rehashes one bucket like every
 * table access. */
static struct kv_entry *find_h(struct kv_db *db, struct kv_bytes key, uint64_t h)
{
    int tab;
    rehash_step(db);
    if (!db->t[0].b)
        return NULL;
    struct kv_entry **sp = find_slot(db, key, h, &tab);
    return sp ? *sp : NULL;
}

struct kv_entry *kv_db_find(struct kv_db *db, struct kv_bytes key)
{
    return find_h(db, key, kv_key_hash(key.p, key.n));
}

/* ---- deletion, expiry, eviction ------------------------------------------------------ */

static void propagate_del(struct kv_db *db, struct kv_bytes key)
{
    struct kv_bytes argv[2] = { kv_b("DEL", 3), key };
    if (!kv_persist_loading())
        kv_aof_feed(db->index, 2, argv);
}

void kv_db_expire_entry(struct kv_db *db, struct kv_entry *e)
{
    kv_stats()->expired_keys++;
    propagate_del(db, kv_entry_key(e));
    kv_watch_touch_key(db, kv_entry_key(e));
    remove_entry(db, e);
}

void kv_db_evict_entry(struct kv_db *db, struct kv_entry *e)
{
    kv_stats()->evicted_keys++;
    propagate_del(db, kv_entry_key(e));
    kv_watch_touch_key(db, kv_entry_key(e));
    remove_entry(db, e);
}

void kv_db_delete_entry(struct kv_db *db, struct kv_entry *e)
{
    remove_entry(db, e);
}

bool kv_db_delete(struct kv_db *db, struct kv_bytes key)
{
    struct kv_entry *e = kv_lookup_write(db, key);
    if (!e)
        return false;
    remove_entry(db, e);
    return true;
}

/* ---- lookups ------------------------------------------------------------------------ */

/* Lookup with lazy expiry; touch updates the LRU/LFU data. */
static struct kv_entry *lookup_h(struct kv_db *db, struct kv_bytes key, uint64_t h, bool touch)
{
    struct kv_entry *e = find_h(db, key, h);
    if (e && kv_entry_expired(e)) {
        kv_db_expire_entry(db, e);
        return NULL;
    }
    if (e && touch)
        kv_evict_touch(e);
    return e;
}

static struct kv_entry *lookup(struct kv_db *db, struct kv_bytes key)
{
    return lookup_h(db, key, kv_key_hash(key.p, key.n), true);
}

struct kv_entry *kv_lookup_notouch(struct kv_db *db, struct kv_bytes key)
{
    return lookup_h(db, key, kv_key_hash(key.p, key.n), false);
}

struct kv_entry *kv_lookup_read(struct kv_db *db, struct kv_bytes key)
{
    struct kv_entry *e = lookup(db, key);
    if (e)
        kv_stats()->keyspace_hits++;
    else
        kv_stats()->keyspace_misses++;
    return e;
}

struct kv_entry *kv_lookup_write(struct kv_db *db, struct kv_bytes key)
{
    return lookup(db, key);
}

struct kv_entry *kv_lookup_type(struct kv_client *c, struct kv_bytes key, enum kv_type t, bool write, bool *wrong)
{
    struct kv_entry *e = write ? kv_lookup_write(c->db, key) : kv_lookup_read(c->db, key);
    *wrong = e && e->type != t;
    if (*wrong) {
        kv_reply_error(c, KV_ERR_WRONGTYPE);
        return NULL;
    }
    return e;
}

/* ---- adding keys and string values ---------------------------------------------------- */

struct kv_entry *kv_db_add(struct kv_db *db, struct kv_bytes key, enum kv_type t, enum kv_enc enc, void *ptr)
{
    struct kv_entry *old = kv_db_find(db, key);
    if (old) /* Never for a correct caller, unless the key expired since its lookup. */
        remove_entry(db, old);
    struct kv_entry *e = entry_new(key, 0);
    e->type = (uint8_t)t;
    e->enc = (uint8_t)enc;
    e->v.ptr = ptr;
    link_new(db, e, kv_key_hash(key.p, key.n));
    return e;
}

struct kv_bytes kv_str_get(const struct kv_entry *e, char tmp[24])
{
    switch (e->enc) {
    case KV_ENC_INT: return kv_b(tmp, (size_t)snprintf(tmp, 24, "%lld", (long long)e->v.i));
    case KV_ENC_EMBSTR: return kv_b(e->key + e->klen + 1, e->v.emb);
    default: {
        const struct kv_rawstr *r = e->v.ptr;
        return kv_b(r->buf, r->len);
    }
    }
}

/* Fill e's (already freed) value slot with val in encoding enc. */
static void str_fill(struct kv_entry *e, enum kv_enc enc, struct kv_bytes val, int64_t iv)
{
    e->type = KV_STRING;
    e->enc = (uint8_t)enc;
    if (enc == KV_ENC_INT) {
        e->v.i = iv;
    } else if (enc == KV_ENC_EMBSTR) {
        e->v.emb = val.n;
        memcpy(emb_ptr(e), val.p, val.n);
        emb_ptr(e)[val.n] = '\0';
    } else {
        struct kv_rawstr *r = kv_malloc(offsetof(struct kv_rawstr, buf) + val.n);
        r->len = val.n;
        memcpy(r->buf, val.p, val.n);
        e->v.ptr = r;
    }
}

/*
 * Store a string under key. An existing entry is reused (its block reallocated when the
 * embedded value needs more room, or would waste more than half of it), so overwriting a
 * key costs no malloc in the common case. val must not point into key's current value.
 */
static struct kv_entry *str_store(struct kv_db *db, struct kv_bytes key, enum kv_enc enc, struct kv_bytes val,
                                  int64_t iv, bool keep_ttl)
{
    size_t need = entry_size(key.n, enc == KV_ENC_EMBSTR ? val.n + 1 : 0);
    uint64_t h = kv_key_hash(key.p, key.n);
    struct kv_entry *e = lookup_h(db, key, h, true);
    if (!e) {
        e = entry_new(key, enc == KV_ENC_EMBSTR ? val.n + 1 : 0);
        str_fill(e, enc, val, iv);
        link_new(db, e, h);
        return e;
    }
    value_free(e);
    size_t have = kv_alloc_size(e);
    if (need > have || need < have / 2) {
        int tab;
        struct kv_entry **sp = find_slot(db, key, h, &tab);
        e = kv_realloc(e, need);
        *sp = e;
        if (e->expire_ms >= 0)
            db->vol[e->vol_i] = e;
    }
    if (!keep_ttl)
        kv_db_set_expire(db, e, -1);
    /* Redis keeps the LFU counter of an overwritten key but restarts its LRU clock. */
    if (kv_cfg.maxmemory_policy != KV_ALLKEYS_LFU && kv_cfg.maxmemory_policy != KV_VOLATILE_LFU)
        kv_evict_init_entry(e);
    str_fill(e, enc, val, iv);
    return e;
}

struct kv_entry *kv_str_set(struct kv_db *db, struct kv_bytes key, struct kv_bytes val, bool keep_ttl)
{
    int64_t iv = 0;
    /* Redis's tryObjectEncoding: canonical integers of at most 20 characters. */
    if (val.n <= 20 && kv_parse_i64(val, &iv))
        return str_store(db, key, KV_ENC_INT, val, iv, keep_ttl);
    return str_store(db, key, val.n <= EMBSTR_MAX ? KV_ENC_EMBSTR : KV_ENC_RAW, val, 0, keep_ttl);
}

struct kv_entry *kv_str_set_int(struct kv_db *db, struct kv_bytes key, int64_t v, bool keep_ttl)
{
    return str_store(db, key, KV_ENC_INT, kv_b("", 0), v, keep_ttl);
}

/* sds's growth rule: double up to 1 MB, then 1 MB at a time (APPEND loops stay linear). */
static size_t greedy(size_t len)
{
    return len < (1u << 20) ? len * 2 : len + (1u << 20);
}

char *kv_str_resize(struct kv_db *db, struct kv_entry *e, size_t len)
{
    (void)db;
    const size_t hdr = offsetof(struct kv_rawstr, buf);
    if (e->enc != KV_ENC_RAW) {
        /* The embedded bytes stay unused in the entry until the key is overwritten: the
         * entry must not move, callers hold it. */
        char tmp[24];
        struct kv_bytes cur = kv_str_get(e, tmp);
        size_t keep = cur.n < len ? cur.n : len;
        struct kv_rawstr *r = kv_malloc(hdr + greedy(len));
        memcpy(r->buf, cur.p, keep);
        memset(r->buf + keep, 0, len - keep);
        r->len = len;
        e->enc = KV_ENC_RAW;
        e->v.ptr = r;
        return r->buf;
    }
    struct kv_rawstr *r = e->v.ptr;
    if (len > kv_alloc_size(r) - hdr) {
        r = kv_realloc(r, hdr + greedy(len));
        e->v.ptr = r;
    }
    if (len > r->len)
        memset(r->buf + r->len, 0, len - r->len);
    r->len = len;
    return r->buf;
}

/* ---- modification signals ------------------------------------------------------------ */

void kv_signal_modified(struct kv_client *c, struct kv_db *db, struct kv_bytes key)
{
    (void)c;
    kv_watch_touch_key(db, key);
    kv_signal_key_ready(db, key);
    dirty++;
}

/* ---- random keys -------------------------------------------------------------------- */

/* Redis's dictGetRandomKey: a random non-empty bucket, then a random entry of its chain. */
struct kv_entry *kv_db_random_any(struct kv_db *db)
{
    if (kv_db_size(db) == 0)
        return NULL;
    rehash_step(db);
    struct kv_entry *head = NULL;
    while (!head) {
        if (rehashing(db)) {
            uint64_t s0 = db->t[0].mask + 1, span = s0 + db->t[1].mask + 1 - (uint64_t)db->rehash_idx;
            uint64_t i = (uint64_t)db->rehash_idx + kv_rand64() % span;
            head = i < s0 ? db->t[0].b[i] : db->t[1].b[i - s0];
        } else {
            head = db->t[0].b[kv_rand64() & db->t[0].mask];
        }
    }
    size_t len = 0;
    for (struct kv_entry *e = head; e; e = e->next)
        len++;
    for (size_t k = kv_rand64() % len; k; k--)
        head = head->next;
    return head;
}

struct kv_entry *kv_db_random_volatile(struct kv_db *db)
{
    return db->nvol ? db->vol[kv_rand64() % db->nvol] : NULL;
}

struct kv_entry *kv_db_random(struct kv_db *db)
{
    /* Each expired pick is deleted, so this ends even when every key has expired. */
    for (;;) {
        struct kv_entry *e = kv_db_random_any(db);
        if (!e || !kv_entry_expired(e))
            return e;
        kv_db_expire_entry(db, e);
    }
}

/* ---- SCAN --------------------------------------------------------------------------- */

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
    return __builtin_bswap64(v);
}

static void scan_chain(struct kv_entry *e, void (*fn)(void *arg, struct kv_entry *e), void *arg)
{
    while (e) {
        struct kv_entry *next = e->next;
        fn(arg, e);
        e = next;
    }
}

/*
 * Redis's reverse-binary cursor: the cursor's bits are incremented from the top, so the
 * buckets a bucket splits into (growing) or merges from (shrinking) come after it in
 * cursor order; keys present for the whole scan are seen at least once across resizes.
 * While rehashing, the small table's bucket and every bucket of the large table that
 * expands from it are visited together.
 */
uint64_t kv_db_scan(struct kv_db *db, uint64_t v, void (*fn)(void *arg, struct kv_entry *e), void *arg)
{
    if (kv_db_size(db) == 0)
        return 0;
    if (!rehashing(db)) {
        uint64_t m0 = db->t[0].mask;
        scan_chain(db->t[0].b[v & m0], fn, arg);
        v |= ~m0;
        return rev64(rev64(v) + 1);
    }
    const struct kv_table *small = &db->t[0], *big = &db->t[1];
    if (small->mask > big->mask) {
        small = &db->t[1];
        big = &db->t[0];
    }
    uint64_t m0 = small->mask, m1 = big->mask;
    scan_chain(small->b[v & m0], fn, arg);
    do {
        scan_chain(big->b[v & m1], fn, arg);
        v |= ~m1;
        v = rev64(rev64(v) + 1);
    } while (v & (m0 ^ m1));
    return v;
}

/* ---- rename ------------------------------------------------------------------------- */

struct kv_entry *kv_db_rename(struct kv_db *src, struct kv_entry *e, struct kv_db *dst, struct kv_bytes newkey)
{
    if (src == dst && newkey.n == e->klen && memcmp(newkey.p, e->key, newkey.n) == 0)
        return e;
    size_t emb = e->type == KV_STRING && e->enc == KV_ENC_EMBSTR ? e->v.emb + 1 : 0;
    /* Build the new entry first: newkey may point into e (MOVE passes e's own key). */
    struct kv_entry *n = kv_malloc(entry_size(newkey.n, emb));
    n->next = NULL;
    n->klen = (uint32_t)newkey.n;
    memcpy(n->key, newkey.p, newkey.n);
    n->key[newkey.n] = '\0';
    memcpy(emb_ptr(n), emb_ptr(e), emb);
    n->type = e->type;
    n->enc = e->enc;
    n->v = e->v;
    n->lru = e->lru;
    n->expire_ms = -1;
    int64_t when = e->expire_ms;
    /* Detach e's value so freeing e leaves it alone. */
    e->type = KV_STRING;
    e->enc = KV_ENC_INT;
    remove_entry(src, e);
    struct kv_entry *old = kv_db_find(dst, kv_entry_key(n));
    if (old)
        remove_entry(dst, old);
    link_new(dst, n, kv_key_hash(n->key, n->klen));
    kv_db_set_expire(dst, n, when);
    return n;
}

/* ---- flushing ----------------------------------------------------------------------- */

/*
 * FLUSHDB ASYNC: a big db's tables are detached in O(1) and queued here; the cron frees
 * them a few milliseconds at a time in the main thread. Freeing in a thread would need
 * an atomic memory counter on every allocation; this keeps accounting exact and
 * FLUSHALL's latency bounded, while used_memory drops over the next cron ticks (as Redis's
 * lazyfree_pending_objects does).
 */
struct lazy_table {
    struct kv_entry **b;
    uint64_t size, pos;
    struct lazy_table *next;
};
static struct lazy_table *lazy_head;

/* Free entries of the queued tables until deadline_ns (0: all of them). */
static void lazyfree_run(int64_t deadline_ns)
{
    unsigned n = 0;
    while (lazy_head) {
        struct lazy_table *l = lazy_head;
        while (l->pos < l->size) {
            struct kv_entry *e = l->b[l->pos];
            if (!e) {
                l->pos++;
                continue;
            }
            l->b[l->pos] = e->next;
            value_free(e);
            kv_free(e);
            if (deadline_ns && ++n % 64 == 0 && st_time_mono_ns() > deadline_ns)
                return;
        }
        lazy_head = l->next;
        kv_free(l->b);
        kv_free(l);
    }
}

bool kv_db_lazyfree_pending(void)
{
    return lazy_head != NULL;
}

void kv_db_lazyfree_drain(void)
{
    lazyfree_run(0);
}

static void table_free_now(struct kv_table *t)
{
    for (uint64_t i = 0; t->b && i <= t->mask; i++) {
        for (struct kv_entry *e = t->b[i], *next; e; e = next) {
            next = e->next;
            value_free(e);
            kv_free(e);
        }
    }
    kv_free(t->b);
}

static void table_free_later(struct kv_table *t)
{
    if (!t->b)
        return;
    struct lazy_table *l = kv_malloc(sizeof(*l));
    *l = (struct lazy_table){ t->b, t->mask + 1, 0, lazy_head };
    lazy_head = l;
}

void kv_db_flush(struct kv_db *db, bool async)
{
    bool later = async && kv_db_size(db) > LAZYFREE_SYNC;
    kv_watch_touch_db(db);
    for (int t = 0; t < 2; t++) {
        if (later)
            table_free_later(&db->t[t]);
        else
            table_free_now(&db->t[t]);
        memset(&db->t[t], 0, sizeof(db->t[t]));
    }
    db->rehash_idx = -1;
    kv_free(db->vol);
    db->vol = NULL;
    db->nvol = db->vol_cap = 0;
}

void kv_db_release_all(void)
{
    for (int i = 0; i < ndbs; i++)
        kv_db_flush(&dbs[i], false);
    lazyfree_run(0);
    kv_free(dbs);
    dbs = NULL;
    ndbs = 0;
}

/* ---- cron: active expiry, resizing, rehashing ----------------------------------------- */

/* One db's share of active expiry; false when the time budget ran out. */
static bool expire_db(struct kv_db *db, int64_t deadline_ns)
{
    for (unsigned round = 1;; round++) {
        size_t sampled = db->nvol < EXPIRE_SAMPLE ? db->nvol : EXPIRE_SAMPLE, expired = 0;
        for (size_t i = 0; i < sampled && db->nvol; i++) {
            struct kv_entry *e = db->vol[kv_rand64() % db->nvol];
            if (kv_entry_expired(e)) {
                kv_db_expire_entry(db, e);
                expired++;
            }
        }
        /* Stop when at most a quarter of the sample was stale: the rest will mostly be
         * found by lazy expiry or the next cycle. */
        if (sampled == 0 || expired * 4 <= sampled)
            return true;
        if (round % 16 == 0 && st_time_mono_ns() > deadline_ns)
            return false;
    }
}

static void resize_and_rehash(struct kv_db *db, int64_t deadline_ns)
{
    size_t used = kv_db_size(db);
    /* Shrink below 10% fill, as Redis's htNeedsResize (keeps random sampling fast). */
    if (!rehashing(db) && db->t[0].b && db->t[0].mask + 1 > TABLE_MIN && used * 10 < db->t[0].mask + 1)
        resize(db, used);
    while (rehashing(db) && st_time_mono_ns() < deadline_ns)
        rehash(db, 100);
}

void kv_db_active_expire(void)
{
    static int next_db;
    if (!dbs)
        dbs_init();
    int hz = kv_cfg.hz > 0 ? kv_cfg.hz : 10;
    int64_t start = st_time_mono_ns(), budget = 1000000000LL / hz / 4;
    /* A slice of the budget for pending async flushes first: they hold memory. */
    if (lazy_head)
        lazyfree_run(start + budget / 2);
    if (!kv_persist_loading()) {
        for (int k = 0; k < ndbs; k++) {
            struct kv_db *db = &dbs[next_db];
            next_db = (next_db + 1) % ndbs;
            if (!expire_db(db, start + budget))
                break;
        }
    }
    /* Then up to 1 ms of resizing work, like Redis's activerehashing. */
    int64_t now = st_time_mono_ns();
    for (int i = 0; i < ndbs; i++)
        resize_and_rehash(&dbs[i], now + 1000000);
}

int64_t kv_db_avg_ttl(const struct kv_db *db)
{
    if (db->nvol == 0)
        return 0;
    /* Exact for small dbs; an estimate from 1024 random samples for big ones. */
    size_t n = db->nvol <= 1024 ? db->nvol : 1024;
    int64_t now = kv_now_ms(), sum = 0;
    for (size_t i = 0; i < n; i++) {
        const struct kv_entry *e = db->vol[db->nvol <= 1024 ? i : kv_rand64() % db->nvol];
        sum += e->expire_ms > now ? e->expire_ms - now : 0;
    }
    return sum / (int64_t)n;
}
