/*
 * t_set.c - the set type and its commands (SADD ... SSCAN), as redis-server 7.0 has them.
 *
 * Encodings, as Redis 7.0 (OBJECT ENCODING answers the same):
 *   intset     while every member is the canonical text of an int64 and there are at most
 *              set-max-intset-entries of them (struct kv_intset, intset.h);
 *   hashtable  otherwise (struct kv_hset: a kv_htab of kv_smember, skiplist.h).
 * A set never converts back, as in Redis. Redis 7.2's listpack sets do not exist in 7.0.
 *
 * The value pointer alone tells the encoding (kv_set_ops get no entry): an intset starts
 * with its width (2, 4 or 8), a kv_hset with a zero tag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/intset.h"
#include "kv/skiplist.h"
#include "kv/t_set.h"

struct kv_hset {
    uint32_t tag; /* always 0: see the file comment */
    size_t bytes; /* allocation sizes of the members, kept so MEMORY USAGE is O(1) */
    struct kv_htab ht;
};

/* ---- the set value ------------------------------------------------------------------ */

static bool is_intset(const void *p)
{
    return *(const uint32_t *)p != 0;
}

static struct kv_hset *hset_new(void)
{
    struct kv_hset *h = kv_malloc(sizeof(*h));
    h->tag = 0;
    h->bytes = 0;
    kv_htab_init(&h->ht, kv_smember_key);
    return h;
}

static bool hset_add(struct kv_hset *h, struct kv_bytes m)
{
    uint32_t hash = kv_htab_hash(m);
    if (kv_htab_find(&h->ht, m, hash))
        return false;
    struct kv_smember *s = kv_smember_new(m, hash);
    h->bytes += kv_alloc_size(s);
    kv_htab_insert(&h->ht, &s->h);
    return true;
}

static bool hset_remove(struct kv_hset *h, struct kv_bytes m)
{
    struct kv_hent *e = kv_htab_remove(&h->ht, m, kv_htab_hash(m));
    if (!e)
        return false;
    h->bytes -= kv_alloc_size(e);
    kv_free(e);
    return true;
}

static void free_member(struct kv_hent *e)
{
    kv_free(e);
}

static void hset_free(struct kv_hset *h)
{
    kv_htab_release(&h->ht, free_member);
    kv_free(h);
}

/* Text of an intset element; buf holds at least 24 bytes. */
static struct kv_bytes int_text(int64_t v, char *buf)
{
    int n = snprintf(buf, 24, "%lld", (long long)v);
    return kv_b(buf, (size_t)n);
}

static struct kv_hset *intset_to_hset(const struct kv_intset *is)
{
    struct kv_hset *h = hset_new();
    char buf[24];
    for (uint32_t i = 0; i < kv_intset_len(is); i++)
        hset_add(h, int_text(kv_intset_get(is, i), buf));
    return h;
}

size_t kv_set_len(const void *p)
{
    return is_intset(p) ? kv_intset_len(p) : ((const struct kv_hset *)p)->ht.len;
}

bool kv_set_has(const void *p, struct kv_bytes m)
{
    if (is_intset(p)) {
        int64_t v;
        return kv_intset_parse(m.p, m.n, &v) && kv_intset_find(p, v);
    }
    const struct kv_hset *h = p;
    return kv_htab_find(&h->ht, m, kv_htab_hash(m)) != NULL;
}

void kv_setv_init(struct kv_setv *s)
{
    s->p = kv_intset_new();
    s->enc = KV_ENC_INTSET;
}

bool kv_setv_add(struct kv_setv *s, struct kv_bytes m)
{
    if (s->enc == KV_ENC_INTSET) {
        int64_t v;
        if (kv_intset_parse(m.p, m.n, &v)) {
            bool added;
            s->p = kv_intset_add(s->p, v, &added);
            if (added && (int64_t)kv_intset_len(s->p) > kv_cfg.set_max_intset_entries)
                kv_setv_convert(s);
            return added;
        }
        kv_setv_convert(s);
    }
    return hset_add(s->p, m);
}

bool kv_setv_remove(struct kv_setv *s, struct kv_bytes m)
{
    if (s->enc == KV_ENC_INTSET) {
        int64_t v;
        bool removed = false;
        if (kv_intset_parse(m.p, m.n, &v))
            s->p = kv_intset_remove(s->p, v, &removed);
        return removed;
    }
    return hset_remove(s->p, m);
}

void kv_setv_convert(struct kv_setv *s)
{
    if (s->enc != KV_ENC_INTSET)
        return;
    struct kv_hset *h = intset_to_hset(s->p);
    kv_free(s->p);
    s->p = h;
    s->enc = KV_ENC_HASHTABLE;
}

void kv_setv_free(struct kv_setv *s)
{
    if (!s->p)
        return;
    if (s->enc == KV_ENC_INTSET)
        kv_free(s->p);
    else
        hset_free(s->p);
    s->p = NULL;
}

/* A new set value for its first member (Redis's setTypeCreate). */
static struct kv_setv setv_for(struct kv_bytes first)
{
    struct kv_setv s;
    int64_t v;
    if (kv_intset_parse(first.p, first.n, &v)) {
        kv_setv_init(&s);
    } else {
        s.p = hset_new();
        s.enc = KV_ENC_HASHTABLE;
    }
    return s;
}

static struct kv_setv entry_setv(const struct kv_entry *e)
{
    return (struct kv_setv){ e->v.ptr, (enum kv_enc)e->enc };
}

static void entry_store(struct kv_entry *e, const struct kv_setv *s)
{
    e->v.ptr = s->p;
    e->enc = (uint8_t)s->enc;
}

/* ---- iteration and random members ---------------------------------------------------- */

void kv_set_iter_init(struct kv_set_iter *it, const void *p)
{
    it->s = p;
    it->pos = 0;
    it->hi = KV_HTAB_ITER_INIT;
}

bool kv_set_next(struct kv_set_iter *it, struct kv_bytes *out)
{
    if (is_intset(it->s)) {
        if (it->pos >= kv_intset_len(it->s))
            return false;
        *out = int_text(kv_intset_get(it->s, it->pos++), it->buf);
        return true;
    }
    const struct kv_hset *h = it->s;
    struct kv_hent *e = kv_htab_next(&h->ht, &it->hi);
    if (!e)
        return false;
    *out = kv_hent_key(&h->ht, e);
    return true;
}

/* A random member (the set is not empty); buf (24 bytes) holds an intset element's text. */
static struct kv_bytes set_random(const void *p, char *buf)
{
    if (is_intset(p))
        return int_text(kv_intset_get(p, (uint32_t)(kv_zsl_rand() % kv_intset_len(p))), buf);
    const struct kv_hset *h = p;
    return kv_hent_key(&h->ht, kv_htab_random(&h->ht));
}

/* ---- kv_set_ops ---------------------------------------------------------------------- */

static void ops_free(void *p)
{
    struct kv_setv s = { p, is_intset(p) ? KV_ENC_INTSET : KV_ENC_HASHTABLE };
    kv_setv_free(&s);
}

static void *ops_dup(const void *p)
{
    if (is_intset(p))
        return kv_intset_dup(p);
    const struct kv_hset *h = p;
    struct kv_hset *c = hset_new();
    struct kv_htab_iter it = KV_HTAB_ITER_INIT;
    for (struct kv_hent *e; (e = kv_htab_next(&h->ht, &it));)
        hset_add(c, kv_hent_key(&h->ht, e));
    return c;
}

static size_t ops_mem(const void *p)
{
    if (is_intset(p))
        return kv_intset_mem(p);
    const struct kv_hset *h = p;
    return kv_alloc_size(h) + kv_htab_mem(&h->ht) + h->bytes;
}

static size_t ops_len(const void *p)
{
    return kv_set_len(p);
}

/* SADD key m1 .. m64, repeated: members are copied into argv as they are (binary safe). */
static int ops_emit(const void *p, struct kv_bytes key, struct kv_emitter *em)
{
    struct kv_bytes argv[2 + 64];
    char bufs[64][24];
    struct kv_set_iter it;
    int n = 0, rc = 0;
    kv_set_iter_init(&it, p);
    argv[0] = kv_b("SADD", 4);
    argv[1] = key;
    for (;;) {
        bool more = kv_set_next(&it, &argv[2 + n]);
        if (more && is_intset(p)) { /* the iterator's buffer is reused: keep a copy */
            memcpy(bufs[n], argv[2 + n].p, argv[2 + n].n);
            argv[2 + n].p = bufs[n];
        }
        n += more;
        if ((n == 64 || (!more && n > 0)) && (rc = kv_emit(em, 2 + n, argv)) != 0)
            return rc;
        if (n == 64)
            n = 0;
        if (!more)
            return 0;
    }
}

const struct kv_type_ops kv_set_ops = {
    .free = ops_free,
    .dup = ops_dup,
    .mem = ops_mem,
    .len = ops_len,
    .emit = ops_emit,
};

/* ---- command helpers ----------------------------------------------------------------- */

static void reply_members(struct kv_client *c, const void *p)
{
    struct kv_set_iter it;
    struct kv_bytes m;
    kv_reply_set(c, kv_set_len(p));
    kv_set_iter_init(&it, p);
    while (kv_set_next(&it, &m))
        kv_reply_bulk(c, m);
}

/* Replace key in db by the set s (consumed), or delete key when s is empty. Returns the
 * reply count. */
static size_t store_set(struct kv_client *c, struct kv_bytes key, struct kv_setv *s)
{
    size_t n = s->p ? kv_set_len(s->p) : 0;
    bool existed = kv_db_delete(c->db, key);
    if (n == 0) {
        kv_setv_free(s);
        if (existed)
            kv_signal_modified(c, c->db, key);
        return 0;
    }
    kv_db_add(c->db, key, KV_SET, s->enc, s->p);
    s->p = NULL;
    kv_signal_modified(c, c->db, key);
    return n;
}

/* The set at key for writing; when absent, a new empty set in the encoding its first
 * member calls for (the caller adds it at once). NULL after a WRONGTYPE reply. */
static struct kv_entry *set_for_write(struct kv_client *c, struct kv_bytes key, struct kv_bytes first)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, key, KV_SET, true, &wrong);
    if (e || wrong)
        return e;
    struct kv_setv s = setv_for(first);
    return kv_db_add(c->db, key, KV_SET, s.enc, s.p);
}

static bool entry_add(struct kv_entry *e, struct kv_bytes m)
{
    struct kv_setv s = entry_setv(e);
    bool added = kv_setv_add(&s, m);
    entry_store(e, &s);
    return added;
}

static bool entry_remove(struct kv_entry *e, struct kv_bytes m)
{
    struct kv_setv s = entry_setv(e);
    bool removed = kv_setv_remove(&s, m);
    entry_store(e, &s);
    return removed;
}

/* ---- SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SMOVE ------------------------------ */

void kv_cmd_sadd(struct kv_client *c)
{
    struct kv_entry *e = set_for_write(c, c->argv[1], c->argv[2]);
    if (!e)
        return;
    int64_t added = 0;
    for (int i = 2; i < c->argc; i++)
        added += entry_add(e, c->argv[i]);
    if (added)
        kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, added);
}

void kv_cmd_srem(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_SET, true, &wrong);
    if (!e) {
        if (!wrong)
            kv_reply_int(c, 0);
        return;
    }
    int64_t removed = 0;
    for (int i = 2; i < c->argc && kv_set_len(e->v.ptr) > 0; i++)
        removed += entry_remove(e, c->argv[i]);
    if (kv_set_len(e->v.ptr) == 0)
        kv_db_delete_entry(c->db, e);
    if (removed)
        kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, removed);
}

/* Read lookup: the entry, or NULL with the reply for a missing key (when not wrong). */
static struct kv_entry *set_read(struct kv_client *c, struct kv_bytes key, bool *wrong)
{
    return kv_lookup_type(c, key, KV_SET, false, wrong);
}

void kv_cmd_smembers(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = set_read(c, c->argv[1], &wrong);
    if (e)
        reply_members(c, e->v.ptr);
    else if (!wrong)
        kv_reply_set(c, 0);
}

void kv_cmd_sismember(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = set_read(c, c->argv[1], &wrong);
    if (!wrong)
        kv_reply_int(c, e && kv_set_has(e->v.ptr, c->argv[2]));
}

void kv_cmd_smismember(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = set_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    kv_reply_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++)
        kv_reply_int(c, e && kv_set_has(e->v.ptr, c->argv[i]));
}

void kv_cmd_scard(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = set_read(c, c->argv[1], &wrong);
    if (!wrong)
        kv_reply_int(c, e ? (int64_t)kv_set_len(e->v.ptr) : 0);
}

void kv_cmd_smove(struct kv_client *c)
{
    struct kv_bytes src = c->argv[1], dst = c->argv[2], m = c->argv[3];
    bool wrong;
    struct kv_entry *se = kv_lookup_type(c, src, KV_SET, true, &wrong);
    if (!se) {
        if (!wrong)
            kv_reply_int(c, 0);
        return;
    }
    struct kv_entry *de = kv_lookup_type(c, dst, KV_SET, true, &wrong);
    if (wrong)
        return;
    if (se == de) { /* same key: nothing moves (Redis answers whether it is a member) */
        kv_reply_int(c, kv_set_has(se->v.ptr, m));
        return;
    }
    if (!entry_remove(se, m)) {
        kv_reply_int(c, 0);
        return;
    }
    if (kv_set_len(se->v.ptr) == 0)
        kv_db_delete_entry(c->db, se);
    kv_signal_modified(c, c->db, src);
    if (!de)
        de = set_for_write(c, dst, m);
    entry_add(de, m);
    kv_signal_modified(c, c->db, dst);
    kv_reply_int(c, 1);
}

/* ---- SPOP SRANDMEMBER ----------------------------------------------------------------- */

/* Parse the count argument as Redis does; replies the error and returns false. */
static bool parse_count(struct kv_client *c, struct kv_bytes b, int64_t *count, bool spop)
{
    if (!kv_parse_i64(b, count) || (spop && *count < 0)) {
        kv_reply_error(c, spop ? "ERR value is out of range, must be positive" : KV_ERR_NOTINT);
        return false;
    }
    if (*count == INT64_MIN) {
        kv_reply_error(c, KV_ERR_RANDCOUNT);
        return false;
    }
    if (!spop && *count < 0 && 0 - (uint64_t)*count > KV_RAND_REPEAT_MAX) {
        kv_reply_error(c, "ERR value is out of range");
        return false;
    }
    return true;
}

/* SREM key m... for the AOF, members collected in a scratch buffer. */
struct popped {
    struct kv_bytes *argv;
    size_t n, cap;
    struct st_buf bytes;
};

static void popped_flush(struct kv_client *c, struct popped *pp)
{
    if (pp->n <= 2)
        return;
    /* The member bytes live in pp->bytes, stored as offsets (the buffer may move). */
    size_t off = 0;
    for (size_t i = 2; i < pp->n; i++) {
        pp->argv[i].p = pp->bytes.data + off;
        off += pp->argv[i].n;
    }
    kv_propagate(c, (int)pp->n, pp->argv);
    pp->n = 2;
    st_buf_clear(&pp->bytes);
}

static void popped_add(struct kv_client *c, struct popped *pp, struct kv_bytes m)
{
    if (pp->n == pp->cap) {
        pp->cap *= 2;
        pp->argv = kv_realloc(pp->argv, pp->cap * sizeof(*pp->argv));
    }
    pp->argv[pp->n++] = kv_b(NULL, m.n);
    st_buf_append(&pp->bytes, m.p, m.n);
    if (pp->n == 2 + 1024)
        popped_flush(c, pp);
}

/*
 * SPOP of most of the set (Redis's "case 3"): move the few members that stay into a new
 * set, reply and propagate everything left in the old one, and install the new set. As
 * in Redis, the new set picks its encoding afresh (integers left over become an intset).
 */
static void spop_keep_rest(struct kv_client *c, struct kv_entry *e, struct popped *pp, size_t remaining)
{
    struct kv_setv old = entry_setv(e), keep = { NULL, KV_ENC_INTSET };
    struct kv_set_iter it;
    struct kv_bytes m;
    while (remaining--) {
        char buf[24];
        m = set_random(old.p, buf);
        if (!keep.p)
            keep = setv_for(m);
        kv_setv_add(&keep, m);
        kv_setv_remove(&old, m); /* frees m's bytes: used before, not after */
    }
    kv_set_iter_init(&it, old.p);
    while (kv_set_next(&it, &m)) {
        kv_reply_bulk(c, m);
        popped_add(c, pp, m);
    }
    kv_setv_free(&old);
    entry_store(e, &keep);
}

static void spop_count(struct kv_client *c, struct kv_entry *e, int64_t count)
{
    struct kv_bytes key = c->argv[1];
    size_t len = kv_set_len(e->v.ptr);
    if ((uint64_t)count >= len) { /* everything: reply the set, propagate DEL */
        reply_members(c, e->v.ptr);
        kv_db_delete_entry(c->db, e);
        struct kv_bytes del[2] = { kv_b("DEL", 3), key };
        kv_propagate(c, 2, del);
        kv_signal_modified(c, c->db, key);
        return;
    }
    struct popped pp = { kv_malloc(8 * sizeof(struct kv_bytes)), 2, 8, { 0 } };
    st_buf_init(&pp.bytes, ST_BUF_UNLIMITED);
    pp.argv[0] = kv_b("SREM", 4);
    pp.argv[1] = key;
    kv_reply_set(c, (size_t)count);
    if ((len - (size_t)count) * 5 <= (size_t)count) { /* few stay: Redis's SPOP_MOVE_STRATEGY_MUL */
        spop_keep_rest(c, e, &pp, len - (size_t)count);
    } else {
        for (int64_t i = 0; i < count; i++) {
            char buf[24];
            struct kv_bytes m = set_random(e->v.ptr, buf);
            kv_reply_bulk(c, m);
            popped_add(c, &pp, m);
            entry_remove(e, m);
        }
    }
    popped_flush(c, &pp);
    kv_free(pp.argv);
    st_buf_release(&pp.bytes);
    kv_signal_modified(c, c->db, key);
}

void kv_cmd_spop(struct kv_client *c)
{
    int64_t count = 0;
    if (c->argc > 3) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    if (c->argc == 3 && !parse_count(c, c->argv[2], &count, true))
        return;
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_SET, true, &wrong);
    if (wrong)
        return;
    if (c->argc == 3) {
        if (!e || count == 0)
            kv_reply_set(c, 0);
        else
            spop_count(c, e, count);
        return;
    }
    if (!e) {
        kv_reply_null(c);
        return;
    }
    char buf[24];
    struct kv_bytes m = set_random(e->v.ptr, buf);
    struct kv_bytes argv[3] = { kv_b("SREM", 4), c->argv[1], m };
    kv_reply_bulk(c, m);
    kv_propagate(c, 3, argv);
    entry_remove(e, m); /* frees m's bytes: everything that needed them is done */
    if (kv_set_len(e->v.ptr) == 0)
        kv_db_delete_entry(c->db, e);
    kv_signal_modified(c, c->db, c->argv[1]);
}

/* A flat copy of every member (for distinct random picks by partial shuffle). */
static struct kv_bytes *set_members(const void *p, size_t *n, char **ints)
{
    size_t len = kv_set_len(p), k = 0;
    struct kv_bytes *v = kv_malloc((len ? len : 1) * sizeof(*v));
    *ints = is_intset(p) ? kv_malloc(len * 24 + 1) : NULL;
    struct kv_set_iter it;
    struct kv_bytes m;
    kv_set_iter_init(&it, p);
    while (kv_set_next(&it, &m)) {
        if (*ints) {
            memcpy(*ints + k * 24, m.p, m.n);
            m.p = *ints + k * 24;
        }
        v[k++] = m;
    }
    *n = k;
    return v;
}

bool kv_pickset_add(struct kv_htab *t, struct kv_bytes m)
{
    uint32_t hash = kv_htab_hash(m);
    if (t->key == NULL)
        kv_htab_init(t, kv_smember_key);
    if (kv_htab_find(t, m, hash))
        return false;
    kv_htab_insert(t, &kv_smember_new(m, hash)->h);
    return true;
}

void kv_pickset_release(struct kv_htab *t)
{
    if (t->key)
        kv_htab_release(t, free_member);
}

/* Few picks from a big set: random members, duplicates skipped (Redis's CASE 4); the
 * expected number of draws stays below 1.5 * count since count <= len / 3. */
static void srandmember_sparse(struct kv_client *c, const void *p, size_t count)
{
    struct kv_htab seen = { 0 };
    kv_reply_array(c, count);
    while (count > 0) {
        char buf[24];
        struct kv_bytes m = set_random(p, buf);
        if (kv_pickset_add(&seen, m)) {
            kv_reply_bulk(c, m);
            count--;
        }
    }
    kv_pickset_release(&seen);
}

static void srandmember_distinct(struct kv_client *c, const void *p, size_t count)
{
    size_t n;
    if (count <= kv_set_len(p) / 3) {
        srandmember_sparse(c, p, count);
        return;
    }
    char *ints;
    struct kv_bytes *v = set_members(p, &n, &ints);
    if (count > n)
        count = n;
    kv_reply_array(c, count);
    for (size_t i = 0; i < count; i++) { /* Fisher-Yates, stopped after count picks */
        size_t j = i + (size_t)(kv_zsl_rand() % (n - i));
        struct kv_bytes t = v[i];
        v[i] = v[j];
        v[j] = t;
        kv_reply_bulk(c, v[i]);
    }
    kv_free(v);
    kv_free(ints);
}

void kv_cmd_srandmember(struct kv_client *c)
{
    int64_t count = 0;
    if (c->argc > 3) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    if (c->argc == 3 && !parse_count(c, c->argv[2], &count, false))
        return;
    bool wrong;
    struct kv_entry *e = set_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    if (c->argc == 2) {
        char buf[24];
        if (e)
            kv_reply_bulk(c, set_random(e->v.ptr, buf));
        else
            kv_reply_null(c);
        return;
    }
    if (!e || count == 0) {
        kv_reply_array(c, 0);
        return;
    }
    if (count > 0) {
        srandmember_distinct(c, e->v.ptr, (size_t)count);
        return;
    }
    kv_reply_array(c, (size_t)-count); /* negative: repeats allowed */
    for (int64_t i = 0; i < -count; i++) {
        char buf[24];
        kv_reply_bulk(c, set_random(e->v.ptr, buf));
    }
}

/* ---- SINTER SUNION SDIFF (+STORE) SINTERCARD ------------------------------------------ */

/* Look up n keys as sets: ptrs[i] NULL for a missing key. false after a WRONGTYPE reply. */
static bool lookup_sets(struct kv_client *c, const struct kv_bytes *keys, int n, const void **ptrs, bool write)
{
    for (int i = 0; i < n; i++) {
        bool wrong;
        struct kv_entry *e = kv_lookup_type(c, keys[i], KV_SET, write, &wrong);
        if (wrong)
            return false;
        ptrs[i] = e ? e->v.ptr : NULL;
    }
    return true;
}

static int by_len(const void *a, const void *b)
{
    size_t x = kv_set_len(*(const void *const *)a), y = kv_set_len(*(const void *const *)b);
    return x < y ? -1 : x > y;
}

/* Members of the smallest set found in all the others; fn gets each, returns false to stop. */
static void intersect(const void **sets, int n, bool (*fn)(void *arg, struct kv_bytes m), void *arg)
{
    for (int i = 0; i < n; i++) {
        if (!sets[i])
            return;
    }
    qsort(sets, (size_t)n, sizeof(*sets), by_len);
    struct kv_set_iter it;
    struct kv_bytes m;
    kv_set_iter_init(&it, sets[0]);
    while (kv_set_next(&it, &m)) {
        int j = 1;
        while (j < n && kv_set_has(sets[j], m))
            j++;
        if (j == n && !fn(arg, m))
            return;
    }
}

struct collect {
    struct kv_client *c;
    struct kv_setv out; /* store: the result set */
    size_t n;
    size_t limit; /* SINTERCARD: stop here (0: no limit) */
    bool reply;   /* reply each member (SINTER) */
};

static bool collect_one(void *arg, struct kv_bytes m)
{
    struct collect *k = arg;
    k->n++;
    if (k->reply)
        kv_reply_bulk(k->c, m);
    else if (k->out.p)
        kv_setv_add(&k->out, m);
    return k->limit == 0 || k->n < k->limit;
}

/* SUNION / SDIFF into s (an empty intset value to start, like Redis). */
static void union_diff(const void **sets, int n, bool diff, struct kv_setv *s)
{
    struct kv_set_iter it;
    struct kv_bytes m;
    for (int i = 0; i < n && !(diff && i > 0); i++) {
        if (!sets[i])
            continue;
        kv_set_iter_init(&it, sets[i]);
        while (kv_set_next(&it, &m)) {
            int j = 1;
            while (diff && j < n && !(sets[j] && kv_set_has(sets[j], m)))
                j++;
            if (!diff || j == n)
                kv_setv_add(s, m);
        }
    }
}

enum setop { OP_INTER, OP_UNION, OP_DIFF };

/* The generic body of SINTER/SUNION/SDIFF (dst NULL) and their STORE forms. */
static void setop_command(struct kv_client *c, const struct kv_bytes *keys, int n, const struct kv_bytes *dst,
                          enum setop op)
{
    const void **sets = kv_malloc((size_t)n * sizeof(*sets));
    if (!lookup_sets(c, keys, n, sets, dst != NULL)) {
        kv_free(sets);
        return;
    }
    struct collect k = { c, { NULL, KV_ENC_INTSET }, 0, 0, false };
    if (op == OP_INTER && !dst) {
        void *h = kv_reply_deferred(c);
        k.reply = true;
        intersect(sets, n, collect_one, &k);
        kv_reply_set_deferred(c, h, k.n, '~');
        kv_free(sets);
        return;
    }
    kv_setv_init(&k.out);
    if (op == OP_INTER)
        intersect(sets, n, collect_one, &k);
    else
        union_diff(sets, n, op == OP_DIFF, &k.out);
    kv_free(sets);
    if (dst) {
        kv_reply_int(c, (int64_t)store_set(c, *dst, &k.out));
    } else {
        reply_members(c, k.out.p);
        kv_setv_free(&k.out);
    }
}

void kv_cmd_sinter(struct kv_client *c)
{
    setop_command(c, c->argv + 1, c->argc - 1, NULL, OP_INTER);
}

void kv_cmd_sunion(struct kv_client *c)
{
    setop_command(c, c->argv + 1, c->argc - 1, NULL, OP_UNION);
}

void kv_cmd_sdiff(struct kv_client *c)
{
    setop_command(c, c->argv + 1, c->argc - 1, NULL, OP_DIFF);
}

void kv_cmd_sinterstore(struct kv_client *c)
{
    setop_command(c, c->argv + 2, c->argc - 2, &c->argv[1], OP_INTER);
}

void kv_cmd_sunionstore(struct kv_client *c)
{
    setop_command(c, c->argv + 2, c->argc - 2, &c->argv[1], OP_UNION);
}

void kv_cmd_sdiffstore(struct kv_client *c)
{
    setop_command(c, c->argv + 2, c->argc - 2, &c->argv[1], OP_DIFF);
}

bool kv_parse_numkeys(struct kv_client *c, struct kv_bytes b, int avail, int *numkeys)
{
    int64_t v;
    if (!kv_parse_i64(b, &v) || v <= 0) {
        kv_reply_error(c, "ERR numkeys should be greater than 0");
        return false;
    }
    if (v > avail) {
        kv_reply_error(c, "ERR Number of keys can't be greater than number of args");
        return false;
    }
    *numkeys = (int)v;
    return true;
}

bool kv_parse_card_limit(struct kv_client *c, int from, int64_t *limit)
{
    *limit = 0;
    for (int i = from; i < c->argc; i++) {
        if (kv_eq(c->argv[i], "LIMIT") && i + 1 < c->argc) {
            if (!kv_parse_i64(c->argv[i + 1], limit) || *limit < 0) {
                kv_reply_error(c, "ERR LIMIT can't be negative");
                return false;
            }
            i++;
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

void kv_cmd_sintercard(struct kv_client *c)
{
    int n;
    int64_t limit;
    if (!kv_parse_numkeys(c, c->argv[1], c->argc - 2, &n) || !kv_parse_card_limit(c, 2 + n, &limit))
        return;
    const void **sets = kv_malloc((size_t)n * sizeof(*sets));
    if (lookup_sets(c, c->argv + 2, n, sets, false)) {
        struct collect k = { c, { NULL, KV_ENC_INTSET }, 0, (size_t)limit, false };
        intersect(sets, n, collect_one, &k);
        kv_reply_int(c, (int64_t)k.n);
    }
    kv_free(sets);
}

/* ---- SSCAN --------------------------------------------------------------------------- */

bool kv_parse_scan_cursor(struct kv_client *c, struct kv_bytes b, uint64_t *cursor)
{
    /* strtoul's rules, as Redis uses it: optional sign ("-1" wraps), decimal, no
     * leading space, no junk, no overflow. */
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;
    if (i < b.n && (b.p[i] == '-' || b.p[i] == '+'))
        neg = b.p[i++] == '-';
    for (; i < b.n; i++) {
        uint64_t d = (uint64_t)(b.p[i] - '0');
        if (b.p[i] < '0' || b.p[i] > '9' || v > (UINT64_MAX - d) / 10) {
            kv_reply_error(c, "ERR invalid cursor");
            return false;
        }
        v = v * 10 + d;
    }
    *cursor = neg ? 0 - v : v;
    return true;
}

bool kv_parse_scan_opts(struct kv_client *c, int from, struct kv_scan_opts *o)
{
    o->count = 10;
    o->pattern = kv_b(NULL, 0);
    o->match = false;
    for (int i = from; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
        if (kv_eq(c->argv[i], "COUNT")) {
            if (!kv_parse_i64(c->argv[i + 1], &o->count)) {
                kv_reply_error(c, KV_ERR_NOTINT);
                return false;
            }
            if (o->count < 1) {
                kv_reply_error(c, KV_ERR_SYNTAX);
                return false;
            }
        } else if (kv_eq(c->argv[i], "MATCH")) {
            o->pattern = c->argv[i + 1];
            /* "*" matches everything: skip the matcher, as Redis does */
            o->match = !(o->pattern.n == 1 && o->pattern.p[0] == '*');
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

struct scan_acc {
    struct kv_bytes *v;
    size_t n, cap;
};

static void scan_one(void *arg, struct kv_hent *e)
{
    struct scan_acc *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = kv_realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = kv_b(kv_smember_key(e), e->len);
}

void kv_cmd_sscan(struct kv_client *c)
{
    uint64_t cursor;
    struct kv_scan_opts o;
    bool wrong;
    if (!kv_parse_scan_cursor(c, c->argv[2], &cursor))
        return;
    struct kv_entry *e = set_read(c, c->argv[1], &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_scan_head(c, 0);
        kv_reply_array(c, 0);
        return;
    }
    if (!kv_parse_scan_opts(c, 3, &o))
        return;
    if (is_intset(e->v.ptr)) { /* small encodings answer in one call, as in Redis */
        struct kv_set_iter it;
        struct kv_bytes m;
        void *h;
        size_t n = 0;
        kv_reply_scan_head(c, 0);
        h = kv_reply_deferred(c);
        kv_set_iter_init(&it, e->v.ptr);
        while (kv_set_next(&it, &m)) {
            if (!o.match || kv_glob(o.pattern, m, false)) {
                kv_reply_bulk(c, m);
                n++;
            }
        }
        kv_reply_set_deferred(c, h, n, '*');
        return;
    }
    const struct kv_hset *hs = e->v.ptr;
    struct scan_acc a = { NULL, 0, 0 };
    int64_t maxiter = o.count * 10;
    do {
        cursor = kv_htab_scan(&hs->ht, cursor, scan_one, &a);
    } while (cursor && maxiter-- > 0 && a.n < (size_t)o.count);
    kv_reply_scan_head(c, cursor);
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    for (size_t i = 0; i < a.n; i++) {
        if (!o.match || kv_glob(o.pattern, a.v[i], false)) {
            kv_reply_bulk(c, a.v[i]);
            n++;
        }
    }
    kv_reply_set_deferred(c, h, n, '*');
    kv_free(a.v);
}
