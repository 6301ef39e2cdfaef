/*
 * db.h - internal header of the keyspace (db.c, evict.c, t_string.c, t_keys.c).
 *
 * A database is a chained hash table of struct kv_entry, with Redis dict's incremental
 * rehashing: while t[1] exists, every operation moves one bucket from t[0] to t[1] and the
 * cron moves more, so a resize never stalls the server. Bucket counts are powers of two.
 * The entry is its own chain node (no separate dictEntry), which is how one small string
 * key costs one allocation plus its bucket slot.
 *
 * Keys with an expiry are also listed in vol[] (each entry knows its index, vol_i), so
 * active expiry and volatile-* eviction sample a random volatile key in O(1).
 */
#ifndef ST_KV_DB_H
#define ST_KV_DB_H

#include "kv/internal.h"

struct kv_table {
    struct kv_entry **b; /* mask + 1 chains, NULL when the table is unused */
    uint64_t mask;
    size_t used;
};

struct kv_db {
    struct kv_table t[2];  /* t[1] is the target while rehashing */
    int64_t rehash_idx;    /* next bucket of t[0] to move, -1 when not rehashing */
    struct kv_entry **vol; /* entries with expire_ms >= 0, in no order */
    size_t nvol, vol_cap;
    int index;
};

/* A fast 64-bit PRNG (xoshiro-style, seeded from getrandom): sampling, RANDOMKEY. */
uint64_t kv_rand64(void);

/* Keyed hash of a key (random per-process seed: protects against hash flooding). */
uint64_t kv_key_hash(const char *p, size_t n);

/* The entry of key without expiry checks or LRU updates (NULL when absent). */
struct kv_entry *kv_db_find(struct kv_db *db, struct kv_bytes key);

/* Lookup with lazy expiry but without LRU/LFU update or hit/miss stats (TYPE, TTL,
 * OBJECT, SCAN's filter: introspection must not make a key look recently used). */
struct kv_entry *kv_lookup_notouch(struct kv_db *db, struct kv_bytes key);

/* A uniformly chosen bucket's random entry; expired keys included. NULL when empty. */
struct kv_entry *kv_db_random_any(struct kv_db *db);

/* A random volatile entry (expired or not), NULL when none. */
struct kv_entry *kv_db_random_volatile(struct kv_db *db);

/* Delete an expired entry the way lazy and active expiry do: stats, WATCH, AOF DEL. */
void kv_db_expire_entry(struct kv_db *db, struct kv_entry *e);

/* Delete e on behalf of eviction: stats evicted_keys, WATCH, AOF DEL. */
void kv_db_evict_entry(struct kv_db *db, struct kv_entry *e);

/* True when an async flush left memory still to be freed; kv_db_lazyfree_drain frees it all. */
bool kv_db_lazyfree_pending(void);
void kv_db_lazyfree_drain(void);

/* Is e past its expiry at kv_now_ms() (and not loading)? */
bool kv_entry_expired(const struct kv_entry *e);

/* The ops of a collection type (NULL for strings). */
const struct kv_type_ops *kv_ops_of(enum kv_type t);

#endif
