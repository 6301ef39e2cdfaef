/*
 * skiplist.c - the chained member hash table and the sorted-set skiplist (see skiplist.h).
 *
 * The skiplist follows the classic design Redis uses for sorted sets (Pugh's skiplists
 * with a span on every link): insertion records, per level, the last node before the new
 * one (update[]) and the rank reached there (rank[]), from which the new links' spans
 * follow without a second walk.
 */
#include "kv/skiplist.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/hash.h"

/* ---- PRNG -------------------------------------------------------------------------- */

static uint64_t rng_state;
static bool rng_seeded;

uint64_t kv_zsl_rand(void)
{
    if (!rng_seeded) {
        if (getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state))
            rng_state = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&rng_state;
        rng_seeded = true;
    }
    /* splitmix64: fast, good enough for levels and random members (not for secrets). */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ---- hash table -------------------------------------------------------------------- */

#define HTAB_MIN 4

void kv_htab_init(struct kv_htab *t, const char *(*key)(const struct kv_hent *e))
{
    t->buckets = NULL;
    t->size = 0;
    t->len = 0;
    t->key = key;
}

void kv_htab_release(struct kv_htab *t, void (*free_elem)(struct kv_hent *e))
{
    for (size_t b = 0; free_elem && b < t->size; b++) {
        struct kv_hent *e = t->buckets[b];
        while (e) {
            struct kv_hent *next = e->next;
            free_elem(e);
            e = next;
        }
    }
    kv_free(t->buckets);
    t->buckets = NULL;
    t->size = t->len = 0;
}

uint32_t kv_htab_hash(struct kv_bytes key)
{
    uint64_t h = st_hash(key.p, key.n);
    return (uint32_t)(h ^ (h >> 32));
}

static void resize(struct kv_htab *t, size_t size)
{
    struct kv_hent **nb = kv_calloc(size, sizeof(struct kv_hent *));
    for (size_t b = 0; b < t->size; b++) {
        struct kv_hent *e = t->buckets[b];
        while (e) {
            struct kv_hent *next = e->next;
            size_t i = e->hash & (size - 1);
            e->next = nb[i];
            nb[i] = e;
            e = next;
        }
    }
    kv_free(t->buckets);
    t->buckets = nb;
    t->size = size;
}

struct kv_hent *kv_htab_find(const struct kv_htab *t, struct kv_bytes key, uint32_t hash)
{
    if (t->size == 0)
        return NULL;
    for (struct kv_hent *e = t->buckets[hash & (t->size - 1)]; e; e = e->next) {
        if (e->hash == hash && e->len == key.n && memcmp(t->key(e), key.p, key.n) == 0)
            return e;
    }
    return NULL;
}

void kv_htab_insert(struct kv_htab *t, struct kv_hent *e)
{
    if (t->len >= t->size)
        resize(t, t->size ? t->size * 2 : HTAB_MIN);
    size_t i = e->hash & (t->size - 1);
    e->next = t->buckets[i];
    t->buckets[i] = e;
    t->len++;
}

struct kv_hent *kv_htab_remove(struct kv_htab *t, struct kv_bytes key, uint32_t hash)
{
    if (t->size == 0)
        return NULL;
    struct kv_hent **pp = &t->buckets[hash & (t->size - 1)];
    for (; *pp; pp = &(*pp)->next) {
        struct kv_hent *e = *pp;
        if (e->hash == hash && e->len == key.n && memcmp(t->key(e), key.p, key.n) == 0) {
            *pp = e->next;
            t->len--;
            /* Shrink below load 1/8 so random picks (SPOP) find a full bucket quickly. */
            if (t->size > HTAB_MIN && t->len < t->size / 8) {
                size_t s = HTAB_MIN;
                while (s < t->len)
                    s *= 2;
                resize(t, s);
            }
            return e;
        }
    }
    return NULL;
}

struct kv_hent *kv_htab_random(const struct kv_htab *t)
{
    if (t->len == 0)
        return NULL;
    struct kv_hent *e;
    do {
        e = t->buckets[kv_zsl_rand() & (t->size - 1)];
    } while (!e);
    size_t n = 0;
    for (struct kv_hent *x = e; x; x = x->next)
        n++;
    for (size_t k = kv_zsl_rand() % n; k > 0; k--)
        e = e->next;
    return e;
}

static uint64_t rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    return __builtin_bswap64(v);
}

/* Reverse-binary increment: the high bits of the cursor advance first, so the buckets a
 * bucket splits into (after a grow) or merges from (after a shrink) are visited together
 * and nothing present for the whole scan is missed. */
uint64_t kv_htab_scan(const struct kv_htab *t, uint64_t cursor, void (*fn)(void *arg, struct kv_hent *e), void *arg)
{
    if (t->size == 0)
        return 0;
    uint64_t mask = t->size - 1;
    for (struct kv_hent *e = t->buckets[cursor & mask]; e; e = e->next)
        fn(arg, e);
    cursor |= ~mask;
    cursor = rev64(cursor);
    cursor++;
    return rev64(cursor);
}

size_t kv_htab_mem(const struct kv_htab *t)
{
    return kv_alloc_size(t->buckets);
}

struct kv_hent *kv_htab_next(const struct kv_htab *t, struct kv_htab_iter *it)
{
    if (it->cur) {
        if (it->cur->next)
            return it->cur = it->cur->next;
        it->bucket++;
    }
    for (; it->bucket < t->size; it->bucket++) {
        if (t->buckets[it->bucket])
            return it->cur = t->buckets[it->bucket];
    }
    it->cur = NULL;
    return NULL;
}

struct kv_smember *kv_smember_new(struct kv_bytes m, uint32_t hash)
{
    struct kv_smember *s = kv_malloc(sizeof(*s) + m.n + 1);
    s->h.next = NULL;
    s->h.hash = hash;
    s->h.len = (uint32_t)m.n;
    memcpy(s->p, m.p, m.n);
    s->p[m.n] = '\0';
    return s;
}

const char *kv_smember_key(const struct kv_hent *e)
{
    return ((const struct kv_smember *)e)->p;
}

/* ---- skiplist ---------------------------------------------------------------------- */

const char *kv_zsl_node_key(const struct kv_hent *e)
{
    return kv_zsl_node_ele((const struct kv_zsl_node *)e);
}

int kv_zmember_cmp(struct kv_bytes a, struct kv_bytes b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

static struct kv_zsl_node *node_new(uint32_t nlevel, double score, struct kv_bytes m, uint32_t hash)
{
    size_t sz = sizeof(struct kv_zsl_node) + nlevel * sizeof(struct kv_zsl_level) + m.n + 1;
    struct kv_zsl_node *n = kv_malloc(sz);
    n->h.next = NULL;
    n->h.hash = hash;
    n->h.len = (uint32_t)m.n;
    n->score = score;
    n->backward = NULL;
    n->nlevel = nlevel;
    char *ele = (char *)&n->level[nlevel];
    if (m.n)
        memcpy(ele, m.p, m.n);
    ele[m.n] = '\0';
    return n;
}

size_t kv_zsl_node_mem(const struct kv_zsl_node *n)
{
    return kv_alloc_size(n);
}

void kv_zsl_free_node(struct kv_zsl_node *n)
{
    kv_free(n);
}

void kv_zsl_init(struct kv_zsl *zsl)
{
    zsl->header = node_new(KV_ZSL_MAXLEVEL, 0, kv_b("", 0), 0);
    for (int i = 0; i < KV_ZSL_MAXLEVEL; i++) {
        zsl->header->level[i].forward = NULL;
        zsl->header->level[i].span = 0;
    }
    zsl->tail = NULL;
    zsl->length = 0;
    zsl->level = 1;
}

void kv_zsl_release(struct kv_zsl *zsl)
{
    struct kv_zsl_node *n = zsl->header->level[0].forward;
    while (n) {
        struct kv_zsl_node *next = n->level[0].forward;
        kv_free(n);
        n = next;
    }
    kv_free(zsl->header);
    zsl->header = zsl->tail = NULL;
    zsl->length = 0;
}

/* 1 with probability 3/4, 2 with 3/16, ...: two random bits per extra level. */
static uint32_t random_level(void)
{
    uint64_t r = kv_zsl_rand();
    uint32_t level = 1;
    while ((r & 3) == 0 && level < KV_ZSL_MAXLEVEL) {
        level++;
        r >>= 2;
    }
    return level;
}

/* Whether node x sorts before (score, m). */
static bool before(const struct kv_zsl_node *x, double score, struct kv_bytes m)
{
    return x->score < score || (x->score == score && kv_zmember_cmp(kv_zsl_node_member(x), m) < 0);
}

/* Link x (its level already chosen) at its place. */
static void insert_node(struct kv_zsl *zsl, struct kv_zsl_node *x)
{
    struct kv_zsl_node *update[KV_ZSL_MAXLEVEL], *p = zsl->header;
    size_t rank[KV_ZSL_MAXLEVEL];
    struct kv_bytes m = kv_zsl_node_member(x);
    int level = (int)x->nlevel;
    ST_ASSUME(zsl->level >= 1); /* the header always has a level (kv_zsl_new) */

    for (int i = zsl->level - 1; i >= 0; i--) {
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        while (p->level[i].forward && before(p->level[i].forward, x->score, m)) {
            rank[i] += p->level[i].span;
            p = p->level[i].forward;
        }
        update[i] = p;
    }
    if (level > zsl->level) {
        for (int i = zsl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zsl->header;
            update[i]->level[i].span = zsl->length;
        }
        zsl->level = level;
    }
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < zsl->level; i++)
        update[i]->level[i].span++;
    x->backward = update[0] == zsl->header ? NULL : update[0];
    if (x->level[0].forward)
        x->level[0].forward->backward = x;
    else
        zsl->tail = x;
    zsl->length++;
}

struct kv_zsl_node *kv_zsl_insert(struct kv_zsl *zsl, double score, struct kv_bytes member, uint32_t hash)
{
    struct kv_zsl_node *x = node_new(random_level(), score, member, hash);
    insert_node(zsl, x);
    return x;
}

void kv_zsl_unlink(struct kv_zsl *zsl, struct kv_zsl_node *x)
{
    struct kv_zsl_node *update[KV_ZSL_MAXLEVEL], *p = zsl->header;
    struct kv_bytes m = kv_zsl_node_member(x);

    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && p->level[i].forward != x && before(p->level[i].forward, x->score, m))
            p = p->level[i].forward;
        update[i] = p;
    }
    for (int i = 0; i < zsl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward)
        x->level[0].forward->backward = x->backward;
    else
        zsl->tail = x->backward;
    while (zsl->level > 1 && zsl->header->level[zsl->level - 1].forward == NULL)
        zsl->level--;
    zsl->length--;
}

void kv_zsl_update_score(struct kv_zsl *zsl, struct kv_zsl_node *n, double score)
{
    /* Still between its neighbours: only the score changes (the common ZINCRBY case). */
    if ((n->backward == NULL || n->backward->score < score) &&
        (n->level[0].forward == NULL || n->level[0].forward->score > score)) {
        n->score = score;
        return;
    }
    kv_zsl_unlink(zsl, n);
    n->score = score;
    insert_node(zsl, n);
}

size_t kv_zsl_rank(const struct kv_zsl *zsl, const struct kv_zsl_node *n)
{
    const struct kv_zsl_node *p = zsl->header;
    struct kv_bytes m = kv_zsl_node_member(n);
    size_t rank = 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && (p->level[i].forward == n || before(p->level[i].forward, n->score, m))) {
            rank += p->level[i].span;
            p = p->level[i].forward;
        }
        if (p == n)
            return rank;
    }
    return 0;
}

struct kv_zsl_node *kv_zsl_at_rank(const struct kv_zsl *zsl, size_t rank)
{
    struct kv_zsl_node *p = zsl->header;
    size_t traversed = 0;
    if (rank == 0 || rank > zsl->length)
        return NULL;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && traversed + p->level[i].span <= rank) {
            traversed += p->level[i].span;
            p = p->level[i].forward;
        }
        if (traversed == rank)
            return p;
    }
    return NULL;
}

bool kv_zrange_gte_min(double v, const struct kv_zrange *r)
{
    return r->minex ? v > r->min : v >= r->min;
}

bool kv_zrange_lte_max(double v, const struct kv_zrange *r)
{
    return r->maxex ? v < r->max : v <= r->max;
}

bool kv_zrange_empty(const struct kv_zrange *r)
{
    return r->min > r->max || (r->min == r->max && (r->minex || r->maxex));
}

bool kv_zlex_gte_min(struct kv_bytes s, const struct kv_zlexrange *r)
{
    switch (r->minkind) {
    case KV_LEX_MINUS: return true;
    case KV_LEX_PLUS: return false;
    case KV_LEX_INCL: return kv_zmember_cmp(s, r->min) >= 0;
    default: return kv_zmember_cmp(s, r->min) > 0;
    }
}

bool kv_zlex_lte_max(struct kv_bytes s, const struct kv_zlexrange *r)
{
    switch (r->maxkind) {
    case KV_LEX_PLUS: return true;
    case KV_LEX_MINUS: return false;
    case KV_LEX_INCL: return kv_zmember_cmp(s, r->max) <= 0;
    default: return kv_zmember_cmp(s, r->max) < 0;
    }
}

bool kv_zlex_empty(const struct kv_zlexrange *r)
{
    if (r->minkind == KV_LEX_PLUS || r->maxkind == KV_LEX_MINUS)
        return true;
    if (r->minkind == KV_LEX_MINUS || r->maxkind == KV_LEX_PLUS)
        return false;
    int c = kv_zmember_cmp(r->min, r->max);
    return c > 0 || (c == 0 && (r->minkind == KV_LEX_EXCL || r->maxkind == KV_LEX_EXCL));
}

/* Score range: walk while below min; the next node is the first candidate. */
struct kv_zsl_node *kv_zsl_first_in_range(const struct kv_zsl *zsl, const struct kv_zrange *r)
{
    struct kv_zsl_node *p = zsl->header;
    if (kv_zrange_empty(r))
        return NULL;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && !kv_zrange_gte_min(p->level[i].forward->score, r))
            p = p->level[i].forward;
    }
    p = p->level[0].forward;
    return p && kv_zrange_lte_max(p->score, r) ? p : NULL;
}

struct kv_zsl_node *kv_zsl_last_in_range(const struct kv_zsl *zsl, const struct kv_zrange *r)
{
    struct kv_zsl_node *p = zsl->header;
    if (kv_zrange_empty(r))
        return NULL;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && kv_zrange_lte_max(p->level[i].forward->score, r))
            p = p->level[i].forward;
    }
    return p != zsl->header && kv_zrange_gte_min(p->score, r) ? p : NULL;
}

struct kv_zsl_node *kv_zsl_first_in_lex(const struct kv_zsl *zsl, const struct kv_zlexrange *r)
{
    struct kv_zsl_node *p = zsl->header;
    if (kv_zlex_empty(r))
        return NULL;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && !kv_zlex_gte_min(kv_zsl_node_member(p->level[i].forward), r))
            p = p->level[i].forward;
    }
    p = p->level[0].forward;
    return p && kv_zlex_lte_max(kv_zsl_node_member(p), r) ? p : NULL;
}

struct kv_zsl_node *kv_zsl_last_in_lex(const struct kv_zsl *zsl, const struct kv_zlexrange *r)
{
    struct kv_zsl_node *p = zsl->header;
    if (kv_zlex_empty(r))
        return NULL;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (p->level[i].forward && kv_zlex_lte_max(kv_zsl_node_member(p->level[i].forward), r))
            p = p->level[i].forward;
    }
    return p != zsl->header && kv_zlex_gte_min(kv_zsl_node_member(p), r) ? p : NULL;
}
