/*
 * evict.c - maxmemory: the LRU clock, the LFU counter, and eviction by Redis's sampled
 * approximation.
 *
 * Redis does not keep keys in LRU order (a list costs two pointers per key); it samples
 * maxmemory-samples random keys per db, keeps the 16 best candidates seen so far in an
 * eviction pool ordered by "idle" score, and evicts the best. The pool carries good
 * candidates across rounds, which makes the approximation close to true LRU. We do the
 * same, so memory per key stays one 32-bit field (kv_entry.lru):
 *   LRU: the access time in seconds (unix time, wraps in 2106);
 *   LFU: 16 bits of access time in minutes, then an 8-bit logarithmic counter that grows
 *        with probability 1/((counter-5)*lfu-log-factor+1) and decays by one per
 *        lfu-decay-time minutes without access (Redis's LFULogIncr/LFUDecrAndReturn).
 */
#include <stdlib.h>
#include <string.h>

#include "kv/db.h"
#include "kv/persist.h"

#define POOL_SIZE 16     /* Redis's EVPOOL_SIZE */
#define POOL_KEY_MAX 255 /* longer keys are copied to the heap */
#define LFU_INIT_VAL 5   /* new keys start here so they are not evicted at once */

struct pool_item {
    uint64_t idle; /* larger is a better candidate */
    int dbi;
    size_t klen;
    char *key; /* inline (cached) or heap */
    char cached[POOL_KEY_MAX];
};

static struct pool_item pool[POOL_SIZE];
static int pool_len;

static bool lfu_policy(void)
{
    return kv_cfg.maxmemory_policy == KV_ALLKEYS_LFU || kv_cfg.maxmemory_policy == KV_VOLATILE_LFU;
}

static uint32_t now_seconds(void)
{
    return (uint32_t)(kv_now_ms() / 1000);
}

static uint32_t now_minutes16(void)
{
    return (uint32_t)(kv_now_ms() / 60000) & 0xffff;
}

/* ---- LFU ------------------------------------------------------------------------------ */

static uint32_t lfu_elapsed_minutes(uint32_t ldt)
{
    uint32_t now = now_minutes16();
    return now >= ldt ? now - ldt : 65535 - ldt + now;
}

/* The counter after the decay due since the last access (not stored). */
static int lfu_decayed(const struct kv_entry *e)
{
    uint32_t ldt = e->lru >> 8, counter = e->lru & 255;
    uint32_t periods = kv_cfg.lfu_decay_time > 0 ? lfu_elapsed_minutes(ldt) / (uint32_t)kv_cfg.lfu_decay_time : 0;
    return (int)(periods > counter ? 0 : counter - periods);
}

static int lfu_log_incr(int counter)
{
    if (counter == 255)
        return 255;
    double r = (double)(kv_rand64() >> 11) / (double)(1ull << 53);
    int base = counter - LFU_INIT_VAL;
    if (base < 0)
        base = 0;
    double p = 1.0 / (base * (kv_cfg.lfu_log_factor > 0 ? kv_cfg.lfu_log_factor : 0) + 1);
    return r < p ? counter + 1 : counter;
}

void kv_evict_init_entry(struct kv_entry *e)
{
    e->lru = lfu_policy() ? (now_minutes16() << 8) | LFU_INIT_VAL : now_seconds();
}

void kv_evict_touch(struct kv_entry *e)
{
    if (!lfu_policy()) {
        e->lru = now_seconds();
        return;
    }
    int counter = lfu_log_incr(lfu_decayed(e));
    e->lru = (now_minutes16() << 8) | (uint32_t)counter;
}

uint64_t kv_evict_idle_seconds(const struct kv_entry *e)
{
    uint32_t now = now_seconds();
    return now >= e->lru ? now - e->lru : 0;
}

int kv_evict_freq(const struct kv_entry *e)
{
    return lfu_decayed(e);
}

/* ---- the eviction pool ------------------------------------------------------------------ */

static bool volatile_policy(void)
{
    enum kv_policy p = kv_cfg.maxmemory_policy;
    return p == KV_VOLATILE_LRU || p == KV_VOLATILE_LFU || p == KV_VOLATILE_RANDOM || p == KV_VOLATILE_TTL;
}

/* How good a candidate e is for the current policy: larger evicts first. */
static uint64_t idle_score(const struct kv_entry *e)
{
    switch (kv_cfg.maxmemory_policy) {
    case KV_ALLKEYS_LFU:
    case KV_VOLATILE_LFU: return 255 - (uint64_t)lfu_decayed(e);
    case KV_VOLATILE_TTL: return UINT64_MAX - (uint64_t)e->expire_ms; /* sooner expiry first */
    default: return kv_evict_idle_seconds(e);
    }
}

static void item_release(struct pool_item *it)
{
    if (it->key != it->cached)
        free(it->key);
}

static void item_set(struct pool_item *it, uint64_t idle, int dbi, const struct kv_entry *e)
{
    it->idle = idle;
    it->dbi = dbi;
    it->klen = e->klen;
    it->key = e->klen <= POOL_KEY_MAX ? it->cached : malloc(e->klen);
    if (!it->key)
        abort();
    memcpy(it->key, e->key, e->klen);
}

/* Insert into the pool kept in ascending idle order; the best candidate is last. */
static void pool_insert(uint64_t idle, int dbi, const struct kv_entry *e)
{
    int k = 0;
    while (k < pool_len && pool[k].idle < idle)
        k++;
    for (int i = 0; i < pool_len; i++)
        if (pool[i].dbi == dbi && pool[i].klen == e->klen && memcmp(pool[i].key, e->key, e->klen) == 0)
            return; /* sampled twice */
    if (pool_len < POOL_SIZE) {
        for (int i = pool_len; i > k; i--)
            pool[i] = pool[i - 1];
        pool_len++;
    } else {
        if (k == 0)
            return; /* worse than every candidate we hold */
        k--;
        item_release(&pool[0]);
        for (int i = 0; i < k; i++)
            pool[i] = pool[i + 1];
    }
    /* A struct copy brings the inline key bytes along but still points at the old slot. */
    for (int i = 0; i < pool_len; i++)
        if (pool[i].klen <= POOL_KEY_MAX)
            pool[i].key = pool[i].cached;
    item_set(&pool[k], idle, dbi, e);
}

static void pool_populate(struct kv_db *db)
{
    int samples = kv_cfg.maxmemory_samples > 0 ? kv_cfg.maxmemory_samples : 5;
    bool vol = volatile_policy();
    for (int i = 0; i < samples; i++) {
        struct kv_entry *e = vol ? kv_db_random_volatile(db) : kv_db_random_any(db);
        if (!e)
            return;
        pool_insert(idle_score(e), db->index, e);
    }
}

/* Take the best pooled candidate that still exists (and is still volatile if needed). */
static struct kv_entry *pool_pop(struct kv_db **dbp)
{
    while (pool_len > 0) {
        struct pool_item *it = &pool[--pool_len];
        struct kv_db *db = kv_db_at(it->dbi);
        struct kv_entry *e = db ? kv_db_find(db, kv_b(it->key, it->klen)) : NULL;
        item_release(it);
        if (e && (!volatile_policy() || e->expire_ms >= 0)) {
            *dbp = db;
            return e;
        }
    }
    return NULL;
}

static struct kv_entry *pick_pooled(struct kv_db **dbp)
{
    for (int i = 0; i < kv_db_count(); i++)
        pool_populate(kv_db_at(i));
    return pool_pop(dbp);
}

/* Random policies: a random key from the next db that has candidates. */
static struct kv_entry *pick_random(struct kv_db **dbp)
{
    static int next_db;
    bool vol = volatile_policy();
    for (int k = 0; k < kv_db_count(); k++) {
        struct kv_db *db = kv_db_at(next_db);
        next_db = (next_db + 1) % kv_db_count();
        struct kv_entry *e = vol ? kv_db_random_volatile(db) : kv_db_random_any(db);
        if (e) {
            *dbp = db;
            return e;
        }
    }
    return NULL;
}

int kv_evict_perform(void)
{
    if (kv_cfg.maxmemory <= 0 || kv_persist_loading() || kv_used_memory() <= (size_t)kv_cfg.maxmemory)
        return 0;
    if (kv_db_lazyfree_pending()) {
        kv_db_lazyfree_drain();
        if (kv_used_memory() <= (size_t)kv_cfg.maxmemory)
            return 0;
    }
    if (kv_cfg.maxmemory_policy == KV_NOEVICTION)
        return -1;
    bool random = kv_cfg.maxmemory_policy == KV_ALLKEYS_RANDOM || kv_cfg.maxmemory_policy == KV_VOLATILE_RANDOM;
    while (kv_used_memory() > (size_t)kv_cfg.maxmemory) {
        struct kv_db *db = NULL;
        struct kv_entry *e = random ? pick_random(&db) : pick_pooled(&db);
        if (!e)
            return -1; /* nothing left that the policy may evict */
        kv_db_evict_entry(db, e);
    }
    return 0;
}
