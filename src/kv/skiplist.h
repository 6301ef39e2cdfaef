/*
 * skiplist.h - the two structures behind large sets and sorted sets:
 *
 *  - kv_htab, a chained hash table of intrusive entries keyed by byte strings. Large sets
 *    store their members in one (struct kv_smember); large sorted sets index their
 *    skiplist nodes by member in one, as Redis pairs a dict with its zskiplist. Chaining
 *    (not open addressing) so SSCAN/ZSCAN can use Redis's reverse-binary cursor, which
 *    visits every element present for the whole scan even when the table resizes between
 *    calls. The table doubles at load 1 and halves below load 1/8.
 *
 *  - kv_zsl, Redis's sorted-set skiplist: nodes ordered by (score, member bytes), each
 *    level link carries its span (the number of rank positions it jumps), so rank queries
 *    and "element at rank" are O(log n); a backward pointer on level 0 serves reverse
 *    walks. Node levels are random with p = 1/4, at most KV_ZSL_MAXLEVEL.
 *
 * Everything is allocated with kv_malloc. Member bytes are stored inside the node or
 * entry (one allocation per element).
 */
#ifndef ST_KV_SKIPLIST_H
#define ST_KV_SKIPLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv/internal.h"

/* ---- hash table -------------------------------------------------------------------- */

/* Embedded at the start of every element the table holds. */
struct kv_hent {
    struct kv_hent *next; /* bucket chain */
    uint32_t hash;        /* kv_htab_hash of the key, kept so resizes do not rehash */
    uint32_t len;         /* key length */
};

struct kv_htab {
    struct kv_hent **buckets; /* NULL while empty and never sized */
    size_t size;              /* buckets: 0 or a power of two */
    size_t len;               /* elements */
    /* Where an element's key bytes are (they follow the header in a set member, the
     * levels in a skiplist node). */
    const char *(*key)(const struct kv_hent *e);
};

void kv_htab_init(struct kv_htab *t, const char *(*key)(const struct kv_hent *e));
/* Free the bucket array; elements are handed to free_elem (may be NULL: not freed). */
void kv_htab_release(struct kv_htab *t, void (*free_elem)(struct kv_hent *e));
uint32_t kv_htab_hash(struct kv_bytes key);
/* The element with this key (hash = kv_htab_hash(key)), or NULL. */
struct kv_hent *kv_htab_find(const struct kv_htab *t, struct kv_bytes key, uint32_t hash);
/* Insert e (e->hash and e->len set; its key must be absent). May grow the table. */
void kv_htab_insert(struct kv_htab *t, struct kv_hent *e);
/* Unlink and return the element with this key (NULL if absent); the caller frees it.
 * May shrink the table. */
struct kv_hent *kv_htab_remove(struct kv_htab *t, struct kv_bytes key, uint32_t hash);
/* A random element (NULL when empty): random non-empty bucket, then random chain link. */
struct kv_hent *kv_htab_random(const struct kv_htab *t);
/* Cursor scan (see above); returns the next cursor, 0 when done. */
uint64_t kv_htab_scan(const struct kv_htab *t, uint64_t cursor, void (*fn)(void *arg, struct kv_hent *e), void *arg);
/* Bytes of the bucket array (elements are counted by their owner). */
size_t kv_htab_mem(const struct kv_htab *t);

static inline struct kv_bytes kv_hent_key(const struct kv_htab *t, const struct kv_hent *e)
{
    return kv_b(t->key(e), e->len);
}

/* Iteration: do not insert or remove while iterating. */
struct kv_htab_iter {
    size_t bucket;
    struct kv_hent *cur;
};
#define KV_HTAB_ITER_INIT ((struct kv_htab_iter){ 0, NULL })
struct kv_hent *kv_htab_next(const struct kv_htab *t, struct kv_htab_iter *it);

/* A set member as stored in a hash-table set: the header, then the bytes and a NUL. */
struct kv_smember {
    struct kv_hent h;
    char p[];
};
struct kv_smember *kv_smember_new(struct kv_bytes m, uint32_t hash);
const char *kv_smember_key(const struct kv_hent *e);

/* ---- skiplist ---------------------------------------------------------------------- */

#define KV_ZSL_MAXLEVEL 32

struct kv_zsl_node {
    struct kv_hent h; /* the member index entry (h.len is the member length) */
    double score;
    struct kv_zsl_node *backward;
    uint32_t nlevel;
    struct kv_zsl_level {
        struct kv_zsl_node *forward;
        size_t span;
    } level[]; /* nlevel links, then the member bytes and a NUL */
};

struct kv_zsl {
    struct kv_zsl_node *header, *tail;
    size_t length;
    int level;
};

static inline const char *kv_zsl_node_ele(const struct kv_zsl_node *n)
{
    return (const char *)&n->level[n->nlevel];
}
static inline struct kv_bytes kv_zsl_node_member(const struct kv_zsl_node *n)
{
    return kv_b(kv_zsl_node_ele(n), n->h.len);
}
/* The key function for a kv_htab that indexes skiplist nodes. */
const char *kv_zsl_node_key(const struct kv_hent *e);

/* Score ranges: [min, max] with exclusive ends where minex/maxex. */
struct kv_zrange {
    double min, max;
    bool minex, maxex;
};
/* Lex range ends: "-" and "+" (below / above everything), "[m" inclusive, "(m" exclusive. */
enum kv_lexkind { KV_LEX_MINUS, KV_LEX_PLUS, KV_LEX_INCL, KV_LEX_EXCL };
struct kv_zlexrange {
    struct kv_bytes min, max;
    enum kv_lexkind minkind, maxkind;
};

void kv_zsl_init(struct kv_zsl *zsl);
/* Free every node (and the header). Nodes are not removed from any htab. */
void kv_zsl_release(struct kv_zsl *zsl);
/* Insert a new node for (score, member); the member must be absent. Returns it, with
 * h.hash = hash and h.len set (ready for kv_htab_insert). */
struct kv_zsl_node *kv_zsl_insert(struct kv_zsl *zsl, double score, struct kv_bytes member, uint32_t hash);
/* Unlink node n (found through the htab) from the skiplist; the caller frees it. */
void kv_zsl_unlink(struct kv_zsl *zsl, struct kv_zsl_node *n);
/* Move n to a new score, keeping the node (so htab pointers stay valid). */
void kv_zsl_update_score(struct kv_zsl *zsl, struct kv_zsl_node *n, double score);
/* 1-based rank of n (which must be in zsl). */
size_t kv_zsl_rank(const struct kv_zsl *zsl, const struct kv_zsl_node *n);
/* The node at 1-based rank, or NULL. */
struct kv_zsl_node *kv_zsl_at_rank(const struct kv_zsl *zsl, size_t rank);
/* First / last node within the range, or NULL. */
struct kv_zsl_node *kv_zsl_first_in_range(const struct kv_zsl *zsl, const struct kv_zrange *r);
struct kv_zsl_node *kv_zsl_last_in_range(const struct kv_zsl *zsl, const struct kv_zrange *r);
struct kv_zsl_node *kv_zsl_first_in_lex(const struct kv_zsl *zsl, const struct kv_zlexrange *r);
struct kv_zsl_node *kv_zsl_last_in_lex(const struct kv_zsl *zsl, const struct kv_zlexrange *r);

/* Range tests shared with the listpack encoding. */
bool kv_zrange_gte_min(double v, const struct kv_zrange *r);
bool kv_zrange_lte_max(double v, const struct kv_zrange *r);
bool kv_zlex_gte_min(struct kv_bytes s, const struct kv_zlexrange *r);
bool kv_zlex_lte_max(struct kv_bytes s, const struct kv_zlexrange *r);
/* Whether the range can hold anything at all (min <= max, allowing for exclusivity). */
bool kv_zrange_empty(const struct kv_zrange *r);
bool kv_zlex_empty(const struct kv_zlexrange *r);
/* Byte-wise member order (memcmp, then shorter first), as Redis's sdscmp. */
int kv_zmember_cmp(struct kv_bytes a, struct kv_bytes b);

/* A node's allocation size (for MEMORY USAGE). */
size_t kv_zsl_node_mem(const struct kv_zsl_node *n);
void kv_zsl_free_node(struct kv_zsl_node *n);

/* xoshiro-style 64-bit PRNG seeded from getrandom (random levels, SPOP, SRANDMEMBER). */
uint64_t kv_zsl_rand(void);

#endif
