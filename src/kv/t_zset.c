/*
 * t_zset.c - the sorted-set type and its commands (ZADD ... ZSCAN, BZPOPMIN/MAX), as
 * redis-server 7.0 has them.
 *
 * Encodings (OBJECT ENCODING answers as Redis 7.0):
 *   listpack  at most zset-max-listpack-entries members of at most zset-max-listpack-value
 *             bytes: one block of (member, score) pairs in order (struct zpack below), O(n)
 *             operations on a few cache lines, like Redis's listpack;
 *   skiplist  otherwise: a kv_zsl ordered by (score, member) plus a kv_htab from member to
 *             node (struct zskip), O(log n) by rank, score and lex.
 * Conversion happens where Redis converts: before an insertion that would exceed a limit,
 * and for the results of ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE/ZRANGESTORE when they are small.
 *
 * zpack entry layout: [len][member bytes][score][entry length]. len is one byte when below
 * 128, else 0x80 + 4 bytes; the score is one byte for integers -64..63, a tag and 2 or 4
 * bytes for other 32-bit integers, else a tag and the 8-byte double (so every score reads
 * back bit-identical, except -0 which becomes 0 as in Redis's listpack); the trailing
 * entry length (1 byte below 128, else 4 bytes + 0x80) lets the block be walked backwards.
 *
 * The value pointer tells its encoding (kv_zset_ops get no entry): both structs start with
 * a uint32 tag, 1 for a zpack, 0 for a zskip.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/skiplist.h"
#include "kv/t_set.h"

struct zpack {
    uint32_t tag;   /* 1 */
    uint32_t count; /* pairs */
    uint32_t used;  /* bytes of d[] */
    char d[];
};

struct zskip {
    uint32_t tag; /* 0 */
    size_t bytes; /* node allocation sizes, so MEMORY USAGE is O(1) */
    struct kv_zsl zsl;
    struct kv_htab dict;
};

static bool is_packed(const void *p)
{
    return *(const uint32_t *)p == 1;
}

/* ---- zpack ------------------------------------------------------------------------- */

static size_t hdr_len(size_t n)
{
    return n < 128 ? 1 : 5;
}

/* Score encodings: integral scores take 1, 3 or 5 bytes, others a tag and the double. */
enum { SC_DOUBLE = 0, SC_I16 = 1, SC_I32 = 2, SC_SMALL = 0x80 /* 0x80..0xFF: -64..63 */ };

static size_t score_size(double d)
{
    if (!(d >= INT32_MIN && d <= INT32_MAX) || d != (double)(int32_t)d)
        return 9;
    int32_t v = (int32_t)d;
    return v >= -64 && v <= 63 ? 1 : v >= INT16_MIN && v <= INT16_MAX ? 3 : 5;
}

/* Whole entry: member header, member, score, and the trailing total length (1 byte when
 * below 128, else 4 bytes + 0x80) that lets zp_prev step backwards. */
static size_t entry_total(size_t n, double score)
{
    size_t t = hdr_len(n) + n + score_size(score);
    return t + 1 < 128 ? t + 1 : t + 5;
}

static struct zpack *zpack_new(void)
{
    struct zpack *z = kv_malloc(sizeof(*z));
    z->tag = 1;
    z->count = 0;
    z->used = 0;
    return z;
}

/* Decode a score at p; returns its size. */
static size_t read_score(const unsigned char *p, double *out)
{
    if (p[0] & SC_SMALL) {
        *out = (int)p[0] - 0xC0;
        return 1;
    }
    if (p[0] == SC_I16) {
        int16_t v;
        memcpy(&v, p + 1, 2);
        *out = v;
        return 3;
    }
    if (p[0] == SC_I32) {
        int32_t v;
        memcpy(&v, p + 1, 4);
        *out = v;
        return 5;
    }
    memcpy(out, p + 1, 8);
    return 9;
}

/* Decode the entry at offset off: member and score; returns the next offset. */
static uint32_t zp_read(const struct zpack *z, uint32_t off, struct kv_bytes *m, double *score)
{
    const unsigned char *p = (const unsigned char *)z->d + off;
    uint32_t n = p[0], h = 1;
    double sc;
    if (n & 0x80) {
        memcpy(&n, p + 1, 4);
        h = 5;
    }
    if (m)
        *m = kv_b((const char *)p + h, n);
    size_t t = h + n + read_score(p + h + n, &sc);
    if (score)
        *score = sc;
    return off + (uint32_t)(t + 1 < 128 ? t + 1 : t + 5);
}

/* Offset of the entry that ends at end (end > 0). */
static uint32_t zp_prev(const struct zpack *z, uint32_t end)
{
    const unsigned char *p = (const unsigned char *)z->d + end;
    uint32_t t = p[-1];
    if (t & 0x80)
        memcpy(&t, p - 5, 4);
    return end - t;
}

static void zp_write(char *at, struct kv_bytes m, double score)
{
    unsigned char *p = (unsigned char *)at;
    uint32_t n = (uint32_t)m.n, total = (uint32_t)entry_total(m.n, score);
    size_t h = hdr_len(m.n), ss = score_size(score);
    if (h == 1) {
        p[0] = (unsigned char)n;
    } else {
        p[0] = 0x80;
        memcpy(p + 1, &n, 4);
    }
    if (n)
        memcpy(p + h, m.p, n);
    unsigned char *q = p + h + n;
    if (ss == 9) {
        q[0] = SC_DOUBLE;
        memcpy(q + 1, &score, 8);
    } else if (ss == 1) {
        q[0] = (unsigned char)((int32_t)score + 0xC0); /* integral: -0 is stored as 0, as Redis */
    } else if (ss == 3) {
        int16_t v = (int16_t)score;
        q[0] = SC_I16;
        memcpy(q + 1, &v, 2);
    } else {
        int32_t v = (int32_t)score;
        q[0] = SC_I32;
        memcpy(q + 1, &v, 4);
    }
    if (total < 128) {
        p[total - 1] = (unsigned char)total;
    } else {
        memcpy(p + total - 5, &total, 4);
        p[total - 1] = 0x80;
    }
}

/* Offset of member m, or UINT32_MAX; *score set when found. */
static uint32_t zp_find(const struct zpack *z, struct kv_bytes m, double *score)
{
    uint32_t off = 0;
    while (off < z->used) {
        struct kv_bytes cur;
        uint32_t next = zp_read(z, off, &cur, score);
        if (cur.n == m.n && memcmp(cur.p, m.p, m.n) == 0)
            return off;
        off = next;
    }
    return UINT32_MAX;
}

static struct zpack *zp_delete_at(struct zpack *z, uint32_t off, uint32_t end, uint32_t count)
{
    memmove(z->d + off, z->d + end, z->used - end);
    z->used -= end - off;
    z->count -= count;
    return kv_realloc(z, sizeof(*z) + z->used);
}

/* Insert (m, score) at its place (m absent). */
static struct zpack *zp_insert(struct zpack *z, struct kv_bytes m, double score)
{
    uint32_t off = 0;
    while (off < z->used) {
        struct kv_bytes cur;
        double s;
        uint32_t next = zp_read(z, off, &cur, &s);
        if (s > score || (s == score && kv_zmember_cmp(cur, m) > 0))
            break;
        off = next;
    }
    size_t sz = entry_total(m.n, score);
    z = kv_realloc(z, sizeof(*z) + z->used + sz);
    memmove(z->d + off + sz, z->d + off, z->used - off);
    zp_write(z->d + off, m, score);
    z->used += (uint32_t)sz;
    z->count++;
    return z;
}

/* ---- zskip ------------------------------------------------------------------------- */

static struct zskip *zskip_new(void)
{
    struct zskip *z = kv_malloc(sizeof(*z));
    z->tag = 0;
    z->bytes = 0;
    kv_zsl_init(&z->zsl);
    kv_htab_init(&z->dict, kv_zsl_node_key);
    return z;
}

static struct kv_zsl_node *zs_find(const struct zskip *z, struct kv_bytes m)
{
    return (struct kv_zsl_node *)kv_htab_find(&z->dict, m, kv_htab_hash(m));
}

static void zs_insert(struct zskip *z, struct kv_bytes m, double score)
{
    struct kv_zsl_node *n = kv_zsl_insert(&z->zsl, score, m, kv_htab_hash(m));
    kv_htab_insert(&z->dict, &n->h);
    z->bytes += kv_zsl_node_mem(n);
}

static void zs_delete_node(struct zskip *z, struct kv_zsl_node *n)
{
    kv_htab_remove(&z->dict, kv_zsl_node_member(n), n->h.hash);
    kv_zsl_unlink(&z->zsl, n);
    z->bytes -= kv_zsl_node_mem(n);
    kv_zsl_free_node(n);
}

static void zskip_free(struct zskip *z)
{
    kv_htab_release(&z->dict, NULL); /* the skiplist owns the nodes */
    kv_zsl_release(&z->zsl);
    kv_free(z);
}

/* ---- the value, either encoding ----------------------------------------------------- */

static size_t zlen(const void *p)
{
    return is_packed(p) ? ((const struct zpack *)p)->count : ((const struct zskip *)p)->zsl.length;
}

static bool zscore(const void *p, struct kv_bytes m, double *score)
{
    if (is_packed(p))
        return zp_find(p, m, score) != UINT32_MAX;
    struct kv_zsl_node *n = zs_find(p, m);
    if (n)
        *score = n->score;
    return n != NULL;
}

static void zfree(void *p)
{
    if (is_packed(p))
        kv_free(p);
    else
        zskip_free(p);
}

static struct zskip *to_skip(struct zpack *z)
{
    struct zskip *s = zskip_new();
    for (uint32_t off = 0; off < z->used;) {
        struct kv_bytes m;
        double score;
        off = zp_read(z, off, &m, &score);
        zs_insert(s, m, score);
    }
    kv_free(z);
    return s;
}

static struct zpack *to_pack(struct zskip *s)
{
    struct zpack *z = zpack_new();
    size_t total = 0;
    for (struct kv_zsl_node *n = s->zsl.header->level[0].forward; n; n = n->level[0].forward)
        total += entry_total(n->h.len, n->score);
    z = kv_realloc(z, sizeof(*z) + total);
    for (struct kv_zsl_node *n = s->zsl.header->level[0].forward; n; n = n->level[0].forward) {
        zp_write(z->d + z->used, kv_zsl_node_member(n), n->score);
        z->used += (uint32_t)entry_total(n->h.len, n->score);
        z->count++;
    }
    zskip_free(s);
    return z;
}

/* An empty value for a first member of length n (Redis's rule: a first member too long
 * for a listpack starts a skiplist). */
static void *znew(size_t n)
{
    if (kv_cfg.zset_max_listpack_entries == 0 || (int64_t)n > kv_cfg.zset_max_listpack_value)
        return zskip_new();
    return zpack_new();
}

/* Insert an absent member, converting first when the listpack would grow too big. */
static void *zinsert(void *p, struct kv_bytes m, double score)
{
    if (is_packed(p)) {
        struct zpack *z = p;
        if ((int64_t)z->count + 1 > kv_cfg.zset_max_listpack_entries || (int64_t)m.n > kv_cfg.zset_max_listpack_value) {
            p = to_skip(z);
        } else {
            return zp_insert(z, m, score);
        }
    }
    zs_insert(p, m, score);
    return p;
}

static void *zremove(void *p, struct kv_bytes m, bool *removed)
{
    *removed = false;
    if (is_packed(p)) {
        struct zpack *z = p;
        uint32_t off = zp_find(z, m, NULL);
        if (off == UINT32_MAX)
            return p;
        *removed = true;
        return zp_delete_at(z, off, zp_read(z, off, NULL, NULL), 1);
    }
    struct kv_zsl_node *n = zs_find(p, m);
    if (n) {
        zs_delete_node(p, n);
        *removed = true;
    }
    return p;
}

/* Change the score of a present member. */
static void *zupdate(void *p, struct kv_bytes m, double score)
{
    if (is_packed(p)) {
        bool removed;
        p = zremove(p, m, &removed);
        return zp_insert(p, m, score);
    }
    kv_zsl_update_score(&((struct zskip *)p)->zsl, zs_find(p, m), score);
    return p;
}

/* A small result of a STORE command goes back to a listpack, as Redis's
 * zsetConvertToListpackIfNeeded. */
static void *zshrink_if_small(void *p, size_t maxlen)
{
    if (!is_packed(p) && (int64_t)zlen(p) <= kv_cfg.zset_max_listpack_entries &&
        (int64_t)maxlen <= kv_cfg.zset_max_listpack_value)
        return to_pack(p);
    return p;
}

static enum kv_enc zenc(const void *p)
{
    return is_packed(p) ? KV_ENC_LISTPACK : KV_ENC_SKIPLIST;
}

/* ---- iteration by rank, score or lex ------------------------------------------------ */

/* A position in either encoding; rank is 0-based from the start. */
struct zit {
    const void *p;
    struct kv_zsl_node *n; /* skiplist */
    uint32_t off;          /* zpack: entry offset */
    size_t rank;
    bool valid;
};

static struct kv_bytes zit_member(const struct zit *it)
{
    struct kv_bytes m;
    if (is_packed(it->p))
        zp_read(it->p, it->off, &m, NULL);
    else {
        ST_ASSUME(it->n); /* a valid iterator over a skiplist is on a node */
        m = kv_zsl_node_member(it->n);
    }
    return m;
}

static double zit_score(const struct zit *it)
{
    double s;
    if (is_packed(it->p))
        zp_read(it->p, it->off, NULL, &s);
    else {
        ST_ASSUME(it->n);
        s = it->n->score;
    }
    return s;
}

static void zit_at_rank(struct zit *it, const void *p, size_t rank)
{
    it->p = p;
    it->n = NULL;
    it->off = 0;
    it->rank = rank;
    it->valid = rank < zlen(p);
    if (!it->valid)
        return;
    if (!is_packed(p)) {
        it->n = kv_zsl_at_rank(&((const struct zskip *)p)->zsl, rank + 1);
        return;
    }
    const struct zpack *z = p;
    uint32_t off = 0;
    if (rank > z->count / 2) { /* walk from the nearer end */
        off = z->used;
        for (size_t i = z->count; i > rank; i--)
            off = zp_prev(z, off);
    } else {
        for (size_t i = 0; i < rank; i++)
            off = zp_read(z, off, NULL, NULL);
    }
    it->off = off;
}

static void zit_step(struct zit *it, bool reverse)
{
    if (reverse) {
        it->valid = it->rank > 0;
        if (!it->valid)
            return;
        it->rank--;
        if (is_packed(it->p))
            it->off = zp_prev(it->p, it->off);
        else
            it->n = it->n->backward;
        return;
    }
    it->rank++;
    it->valid = it->rank < zlen(it->p);
    if (!it->valid)
        return;
    if (is_packed(it->p)) {
        it->off = zp_read(it->p, it->off, NULL, NULL);
    } else {
        ST_ASSUME(it->n);
        it->n = it->n->level[0].forward;
    }
}

/* Position on the first element in the score (lex) range, or the last one when reverse.
 * For a zpack: walk from the matching end. */
struct zrange_any {
    bool lex;
    struct kv_zrange s;
    struct kv_zlexrange l;
};

static bool in_min(const struct zit *it, const struct zrange_any *r)
{
    return r->lex ? kv_zlex_gte_min(zit_member(it), &r->l) : kv_zrange_gte_min(zit_score(it), &r->s);
}

static bool in_max(const struct zit *it, const struct zrange_any *r)
{
    return r->lex ? kv_zlex_lte_max(zit_member(it), &r->l) : kv_zrange_lte_max(zit_score(it), &r->s);
}

static bool range_empty(const struct zrange_any *r)
{
    return r->lex ? kv_zlex_empty(&r->l) : kv_zrange_empty(&r->s);
}

static void zit_range_start(struct zit *it, const void *p, const struct zrange_any *r, bool reverse)
{
    it->p = p;
    it->n = NULL;
    it->off = 0;
    it->rank = 0;
    it->valid = false;
    if (zlen(p) == 0 || range_empty(r))
        return;
    if (!is_packed(p)) {
        const struct kv_zsl *zsl = &((const struct zskip *)p)->zsl;
        struct kv_zsl_node *n;
        if (r->lex)
            n = reverse ? kv_zsl_last_in_lex(zsl, &r->l) : kv_zsl_first_in_lex(zsl, &r->l);
        else
            n = reverse ? kv_zsl_last_in_range(zsl, &r->s) : kv_zsl_first_in_range(zsl, &r->s);
        if (n) {
            it->n = n;
            it->rank = kv_zsl_rank(zsl, n) - 1;
            it->valid = true;
        }
        return;
    }
    zit_at_rank(it, p, reverse ? zlen(p) - 1 : 0);
    while (it->valid && !(reverse ? in_max(it, r) : in_min(it, r)))
        zit_step(it, reverse);
    if (it->valid && !(reverse ? in_min(it, r) : in_max(it, r)))
        it->valid = false;
}

/* Whether the element under it is still inside the range, going in this direction. */
static bool zit_in_range(const struct zit *it, const struct zrange_any *r, bool reverse)
{
    return it->valid && (reverse ? in_min(it, r) : in_max(it, r));
}

/* Delete ranks [start, end] (0-based, inclusive, valid). */
static void *zdelete_ranks(void *p, size_t start, size_t end)
{
    struct zit a, b;
    zit_at_rank(&a, p, start);
    if (is_packed(p)) {
        zit_at_rank(&b, p, end);
        uint32_t stop = zp_read(p, b.off, NULL, NULL);
        return zp_delete_at(p, a.off, stop, (uint32_t)(end - start + 1));
    }
    struct kv_zsl_node *n = a.n;
    for (size_t i = start; i <= end; i++) {
        struct kv_zsl_node *next = n->level[0].forward;
        zs_delete_node(p, n);
        n = next;
    }
    return p;
}

/* ---- kv_zset_ops -------------------------------------------------------------------- */

static void *ops_dup(const void *p)
{
    if (is_packed(p)) {
        const struct zpack *z = p;
        struct zpack *c = kv_malloc(sizeof(*z) + z->used);
        memcpy(c, z, sizeof(*z) + z->used);
        return c;
    }
    const struct zskip *s = p;
    struct zskip *c = zskip_new();
    for (struct kv_zsl_node *n = s->zsl.header->level[0].forward; n; n = n->level[0].forward)
        zs_insert(c, kv_zsl_node_member(n), n->score);
    return c;
}

static size_t ops_mem(const void *p)
{
    if (is_packed(p))
        return kv_alloc_size(p);
    const struct zskip *s = p;
    return kv_alloc_size(s) + kv_zsl_node_mem(s->zsl.header) + kv_htab_mem(&s->dict) + s->bytes;
}

static size_t ops_len(const void *p)
{
    return zlen(p);
}

/* ZADD key score member ... (64 pairs a command); scores as %.17g read back exactly. */
static int ops_emit(const void *p, struct kv_bytes key, struct kv_emitter *em)
{
    struct kv_bytes argv[2 + 128];
    char scores[64][32];
    struct zit it;
    int n = 0, rc;
    argv[0] = kv_b("ZADD", 4);
    argv[1] = key;
    for (zit_at_rank(&it, p, 0); it.valid; zit_step(&it, false)) {
        argv[2 + 2 * n] = kv_b(scores[n], kv_fmt_double(zit_score(&it), scores[n]));
        argv[3 + 2 * n] = zit_member(&it);
        if (++n == 64) {
            if ((rc = kv_emit(em, 2 + 2 * n, argv)) != 0)
                return rc;
            n = 0;
        }
    }
    return n ? kv_emit(em, 2 + 2 * n, argv) : 0;
}

const struct kv_type_ops kv_zset_ops = {
    .free = zfree,
    .dup = ops_dup,
    .mem = ops_mem,
    .len = ops_len,
    .emit = ops_emit,
};

/* ---- command helpers ---------------------------------------------------------------- */

static struct kv_entry *zread(struct kv_client *c, struct kv_bytes key, bool *wrong)
{
    return kv_lookup_type(c, key, KV_ZSET, false, wrong);
}

/* After a removal: delete the key when the set became empty. */
static void zdelete_if_empty(struct kv_client *c, struct kv_entry *e)
{
    if (zlen(e->v.ptr) == 0)
        kv_db_delete_entry(c->db, e);
}

static void reply_score(struct kv_client *c, double d)
{
    kv_reply_double(c, d);
}

/* One element of a WITHSCORES reply: RESP3 a [member, score] pair, RESP2 two items. */
static void reply_pair(struct kv_client *c, struct kv_bytes m, double score, bool withscores)
{
    if (withscores && c->resp >= 3)
        kv_reply_array(c, 2);
    kv_reply_bulk(c, m);
    if (withscores)
        reply_score(c, score);
}

/* The array header for n elements, WITHSCORES doubling it in RESP2. */
static void reply_pairs_len(struct kv_client *c, size_t n, bool withscores)
{
    kv_reply_array(c, withscores && c->resp < 3 ? 2 * n : n);
}

static void reply_pairs_done(struct kv_client *c, void *h, size_t n, bool withscores)
{
    kv_reply_set_deferred(c, h, withscores && c->resp < 3 ? 2 * n : n, '*');
}

/* Score bound: "-inf", "(1.5", "3" ("ERR min or max is not a float"). */
static bool parse_score_bound(struct kv_bytes b, double *v, bool *ex)
{
    *ex = b.n > 0 && b.p[0] == '(';
    if (*ex)
        b = kv_b(b.p + 1, b.n - 1);
    return kv_parse_double(b, v);
}

static bool parse_score_range(struct kv_client *c, struct kv_bytes min, struct kv_bytes max, struct kv_zrange *r)
{
    if (!parse_score_bound(min, &r->min, &r->minex) || !parse_score_bound(max, &r->max, &r->maxex)) {
        kv_reply_error(c, "ERR min or max is not a float");
        return false;
    }
    return true;
}

static bool parse_lex_bound(struct kv_bytes b, struct kv_bytes *v, enum kv_lexkind *k)
{
    if (b.n == 1 && (b.p[0] == '-' || b.p[0] == '+')) {
        *k = b.p[0] == '-' ? KV_LEX_MINUS : KV_LEX_PLUS;
        *v = kv_b("", 0);
        return true;
    }
    if (b.n == 0 || (b.p[0] != '[' && b.p[0] != '('))
        return false;
    *k = b.p[0] == '[' ? KV_LEX_INCL : KV_LEX_EXCL;
    *v = kv_b(b.p + 1, b.n - 1);
    return true;
}

static bool parse_lex_range(struct kv_client *c, struct kv_bytes min, struct kv_bytes max, struct kv_zlexrange *r)
{
    if (!parse_lex_bound(min, &r->min, &r->minkind) || !parse_lex_bound(max, &r->max, &r->maxkind)) {
        kv_reply_error(c, "ERR min or max not valid string range item");
        return false;
    }
    return true;
}

/* ---- ZADD ZINCRBY ------------------------------------------------------------------- */

enum { Z_NX = 1, Z_XX = 2, Z_GT = 4, Z_LT = 8, Z_CH = 16, Z_INCR = 32 };
enum { Z_OUT_ADDED = 1, Z_OUT_UPDATED = 2, Z_OUT_NOP = 4, Z_OUT_NAN = 8 };

/* Redis's zsetAdd: apply one (score, member) under flags; the value may move. */
static int zadd_one(struct kv_entry *e, double score, struct kv_bytes m, int flags, double *newscore)
{
    double cur;
    if (zscore(e->v.ptr, m, &cur)) {
        if (flags & Z_NX)
            return Z_OUT_NOP;
        if (flags & Z_INCR) {
            score += cur;
            if (isnan(score))
                return Z_OUT_NAN;
        }
        if (((flags & Z_LT) && score >= cur) || ((flags & Z_GT) && score <= cur))
            return Z_OUT_NOP;
        *newscore = score;
        if (score == cur)
            return 0;
        e->v.ptr = zupdate(e->v.ptr, m, score);
        e->enc = (uint8_t)zenc(e->v.ptr);
        return Z_OUT_UPDATED;
    }
    if (flags & Z_XX)
        return Z_OUT_NOP;
    *newscore = score;
    e->v.ptr = zinsert(e->v.ptr, m, score);
    e->enc = (uint8_t)zenc(e->v.ptr);
    return Z_OUT_ADDED;
}

static int parse_zadd_flags(struct kv_client *c, int *flags)
{
    int i = 2;
    static const struct {
        const char *name;
        int flag;
    } names[] = { { "NX", Z_NX }, { "XX", Z_XX }, { "GT", Z_GT }, { "LT", Z_LT }, { "CH", Z_CH }, { "INCR", Z_INCR } };
    *flags = 0;
    for (; i < c->argc; i++) {
        size_t k = 0;
        while (k < 6 && !kv_eq(c->argv[i], names[k].name))
            k++;
        if (k == 6)
            break;
        *flags |= names[k].flag;
    }
    return i;
}

static bool check_zadd_args(struct kv_client *c, int flags, int elements)
{
    const char *err = NULL;
    if (elements % 2 || elements == 0)
        err = KV_ERR_SYNTAX;
    else if ((flags & Z_NX) && (flags & Z_XX))
        err = "ERR XX and NX options at the same time are not compatible";
    else if (((flags & Z_GT) && (flags & Z_NX)) || ((flags & Z_LT) && (flags & Z_NX)) ||
             ((flags & Z_GT) && (flags & Z_LT)))
        err = "ERR GT, LT, and/or NX options at the same time are not compatible";
    else if ((flags & Z_INCR) && elements > 2)
        err = "ERR INCR option supports a single increment-element pair";
    if (err)
        kv_reply_error(c, err);
    return err == NULL;
}

/* The shared body of ZADD and ZINCRBY: pairs start at argv[first]. */
static void zadd_generic(struct kv_client *c, int first, int flags)
{
    int npairs = (c->argc - first) / 2;
    double stack[16], *scores = npairs <= 16 ? stack : kv_malloc((size_t)npairs * sizeof(double));
    for (int i = 0; i < npairs; i++) {
        if (!kv_parse_double(c->argv[first + 2 * i], &scores[i])) {
            kv_reply_error(c, KV_ERR_NOTFLOAT);
            goto out;
        }
    }
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_ZSET, true, &wrong);
    if (wrong)
        goto out;
    if (!e && (flags & Z_XX)) {
        if (flags & Z_INCR)
            kv_reply_null(c);
        else
            kv_reply_int(c, 0);
        goto out;
    }
    if (!e) {
        void *p = znew(c->argv[first + 1].n);
        e = kv_db_add(c->db, c->argv[1], KV_ZSET, zenc(p), p);
    }
    int64_t added = 0, updated = 0, processed = 0;
    double score = 0;
    for (int i = 0; i < npairs; i++) {
        int out = zadd_one(e, scores[i], c->argv[first + 2 * i + 1], flags, &score);
        if (out & Z_OUT_NAN) {
            kv_reply_error(c, "ERR resulting score is not a number (NaN)");
            break;
        }
        added += !!(out & Z_OUT_ADDED);
        updated += !!(out & Z_OUT_UPDATED);
        processed += !(out & Z_OUT_NOP);
        if (i == npairs - 1) {
            if (!(flags & Z_INCR))
                kv_reply_int(c, (flags & Z_CH) ? added + updated : added);
            else if (processed)
                reply_score(c, score);
            else
                kv_reply_null(c);
        }
    }
    if (added || updated)
        kv_signal_modified(c, c->db, c->argv[1]);
out:
    if (scores != stack)
        kv_free(scores);
}

void kv_cmd_zadd(struct kv_client *c)
{
    int flags;
    int first = parse_zadd_flags(c, &flags);
    if (check_zadd_args(c, flags, c->argc - first))
        zadd_generic(c, first, flags);
}

void kv_cmd_zincrby(struct kv_client *c)
{
    /* ZINCRBY key increment member is ZADD key INCR increment member. */
    zadd_generic(c, 2, Z_INCR);
}

/* ---- ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ---------------------- */

void kv_cmd_zrem(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_ZSET, true, &wrong);
    if (!e) {
        if (!wrong)
            kv_reply_int(c, 0);
        return;
    }
    int64_t removed = 0;
    for (int i = 2; i < c->argc && zlen(e->v.ptr) > 0; i++) {
        bool r;
        e->v.ptr = zremove(e->v.ptr, c->argv[i], &r);
        removed += r;
    }
    zdelete_if_empty(c, e);
    if (removed)
        kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, removed);
}

void kv_cmd_zscore(struct kv_client *c)
{
    bool wrong;
    double s;
    struct kv_entry *e = zread(c, c->argv[1], &wrong);
    if (wrong)
        return;
    if (e && zscore(e->v.ptr, c->argv[2], &s))
        reply_score(c, s);
    else
        kv_reply_null(c);
}

void kv_cmd_zmscore(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = zread(c, c->argv[1], &wrong);
    if (wrong)
        return;
    kv_reply_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        double s;
        if (e && zscore(e->v.ptr, c->argv[i], &s))
            reply_score(c, s);
        else
            kv_reply_null(c);
    }
}

void kv_cmd_zcard(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = zread(c, c->argv[1], &wrong);
    if (!wrong)
        kv_reply_int(c, e ? (int64_t)zlen(e->v.ptr) : 0);
}

/* Elements in a range. On a skiplist, rank of the last minus rank of the first (O(log n));
 * on a listpack a walk from the first, as Redis does (the two agree whenever the range is
 * meaningful: lex ranges assume equal scores). */
static size_t count_in_range(const void *p, const struct zrange_any *r)
{
    struct zit a, b;
    size_t n = 0;
    zit_range_start(&a, p, r, false);
    if (!a.valid)
        return 0;
    if (is_packed(p)) {
        for (; zit_in_range(&a, r, false); zit_step(&a, false))
            n++;
        return n;
    }
    zit_range_start(&b, p, r, true);
    return b.valid && b.rank >= a.rank ? b.rank - a.rank + 1 : 0;
}

static void zcount_generic(struct kv_client *c, bool lex)
{
    struct zrange_any r = { .lex = lex };
    if (lex ? !parse_lex_range(c, c->argv[2], c->argv[3], &r.l) : !parse_score_range(c, c->argv[2], c->argv[3], &r.s))
        return;
    bool wrong;
    struct kv_entry *e = zread(c, c->argv[1], &wrong);
    if (!wrong)
        kv_reply_int(c, e ? (int64_t)count_in_range(e->v.ptr, &r) : 0);
}

void kv_cmd_zcount(struct kv_client *c)
{
    zcount_generic(c, false);
}

void kv_cmd_zlexcount(struct kv_client *c)
{
    zcount_generic(c, true);
}

/* 0-based rank of m, or false. */
static bool zrank_of(const void *p, struct kv_bytes m, size_t *rank)
{
    if (is_packed(p)) {
        const struct zpack *z = p;
        size_t i = 0;
        for (uint32_t off = 0; off < z->used; i++) {
            struct kv_bytes cur;
            off = zp_read(z, off, &cur, NULL);
            if (cur.n == m.n && memcmp(cur.p, m.p, m.n) == 0) {
                *rank = i;
                return true;
            }
        }
        return false;
    }
    const struct zskip *s = p;
    struct kv_zsl_node *n = zs_find(s, m);
    if (n)
        *rank = kv_zsl_rank(&s->zsl, n) - 1;
    return n != NULL;
}

static void zrank_generic(struct kv_client *c, bool reverse)
{
    bool wrong;
    size_t rank;
    struct kv_entry *e = zread(c, c->argv[1], &wrong);
    if (wrong)
        return;
    if (e && zrank_of(e->v.ptr, c->argv[2], &rank))
        kv_reply_int(c, (int64_t)(reverse ? zlen(e->v.ptr) - 1 - rank : rank));
    else
        kv_reply_null(c);
}

void kv_cmd_zrank(struct kv_client *c)
{
    zrank_generic(c, false);
}

void kv_cmd_zrevrank(struct kv_client *c)
{
    zrank_generic(c, true);
}

/* ---- ZRANGE and friends ------------------------------------------------------------- */

enum rtype { R_RANK, R_SCORE, R_LEX };

struct zrange_req {
    enum rtype type;
    bool rev, withscores, limit;
    int64_t offset, count;
    int64_t start, end;       /* R_RANK */
    struct kv_bytes min, max; /* as given (for REV forms: already swapped to min, max) */
};

/* Where a range reply goes: the client, or a new sorted set (ZRANGESTORE). */
struct zsink {
    struct kv_client *c;
    void *dst;     /* store: the value being built */
    size_t maxlen; /* store: longest member */
    size_t n;
    bool withscores;
};

static void sink_emit(struct zsink *s, struct kv_bytes m, double score)
{
    s->n++;
    if (!s->dst) {
        reply_pair(s->c, m, score, s->withscores);
        return;
    }
    s->dst = zinsert(s->dst, m, score);
    if (m.n > s->maxlen)
        s->maxlen = m.n;
}

static void range_by_rank(struct zsink *s, const void *p, struct zrange_req *q)
{
    int64_t start = q->start, end = q->end, len = (int64_t)zlen(p);
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    if (start < 0)
        start = 0;
    if (start > end || start >= len)
        return;
    if (end >= len)
        end = len - 1;
    struct zit it;
    zit_at_rank(&it, p, (size_t)(q->rev ? len - 1 - start : start));
    for (int64_t i = start; i <= end && it.valid; i++, zit_step(&it, q->rev))
        sink_emit(s, zit_member(&it), zit_score(&it));
}

static void range_by_value(struct zsink *s, const void *p, const struct zrange_any *r, struct zrange_req *q)
{
    struct zit it;
    int64_t offset = q->offset, count = q->count;
    if (q->limit && offset < 0)
        return;
    zit_range_start(&it, p, r, q->rev);
    /* skip offset elements: by rank on a skiplist, then check the range */
    if (offset > 0 && it.valid) {
        size_t len = zlen(p);
        if (q->rev ? (size_t)offset > it.rank : (size_t)offset >= len - it.rank)
            return;
        zit_at_rank(&it, p, q->rev ? it.rank - (size_t)offset : it.rank + (size_t)offset);
    }
    for (; zit_in_range(&it, r, q->rev) && count != 0; zit_step(&it, q->rev)) {
        sink_emit(s, zit_member(&it), zit_score(&it));
        if (count > 0)
            count--;
    }
}

/* Parse the options after the range (argv[from..]). allow_by: ZRANGE/ZRANGESTORE accept
 * BYSCORE/BYLEX/REV. */
static bool parse_range_opts(struct kv_client *c, int from, bool allow_by, bool store, struct zrange_req *q)
{
    for (int i = from; i < c->argc; i++) {
        if (!store && kv_eq(c->argv[i], "WITHSCORES")) {
            q->withscores = true;
        } else if (kv_eq(c->argv[i], "LIMIT") && i + 2 < c->argc) {
            if (!kv_parse_i64(c->argv[i + 1], &q->offset) || !kv_parse_i64(c->argv[i + 2], &q->count)) {
                kv_reply_error(c, KV_ERR_NOTINT);
                return false;
            }
            q->limit = true;
            i += 2;
        } else if (allow_by && kv_eq(c->argv[i], "BYSCORE") && q->type == R_RANK) {
            q->type = R_SCORE;
        } else if (allow_by && kv_eq(c->argv[i], "BYLEX") && q->type == R_RANK) {
            q->type = R_LEX;
        } else if (allow_by && kv_eq(c->argv[i], "REV")) {
            q->rev = true;
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    if (q->limit && q->type == R_RANK) {
        kv_reply_error(c, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return false;
    }
    if (q->withscores && q->type == R_LEX) {
        kv_reply_error(c, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return false;
    }
    return true;
}

/* The body of every range command: src key argv[key], range argv[key+1], argv[key+2]. */
static void zrange_generic(struct kv_client *c, int key, struct zrange_req *q, bool allow_by,
                           const struct kv_bytes *dst)
{
    if (!parse_range_opts(c, key + 3, allow_by, dst != NULL, q))
        return;
    struct kv_bytes a = c->argv[key + 1], b = c->argv[key + 2];
    /* The REV forms of BYSCORE/BYLEX take max first. */
    q->min = q->rev && q->type != R_RANK ? b : a;
    q->max = q->rev && q->type != R_RANK ? a : b;
    struct zrange_any r = { .lex = q->type == R_LEX };
    if (q->type == R_SCORE && !parse_score_range(c, q->min, q->max, &r.s))
        return;
    if (q->type == R_LEX && !parse_lex_range(c, q->min, q->max, &r.l))
        return;
    if (q->type == R_RANK && (!kv_parse_i64(q->min, &q->start) || !kv_parse_i64(q->max, &q->end))) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (!q->limit)
        q->count = -1;
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[key], KV_ZSET, false, &wrong);
    if (wrong)
        return;
    struct zsink s = { c, NULL, 0, 0, q->withscores };
    void *h = NULL;
    if (dst)
        s.dst = zpack_new();
    else
        h = kv_reply_deferred(c);
    if (e && q->type == R_RANK)
        range_by_rank(&s, e->v.ptr, q);
    else if (e)
        range_by_value(&s, e->v.ptr, &r, q);
    if (!dst) {
        reply_pairs_done(c, h, s.n, q->withscores);
        return;
    }
    bool existed = kv_db_delete(c->db, *dst);
    if (s.n) {
        s.dst = zshrink_if_small(s.dst, s.maxlen);
        kv_db_add(c->db, *dst, KV_ZSET, zenc(s.dst), s.dst);
    } else {
        zfree(s.dst);
    }
    if (s.n || existed)
        kv_signal_modified(c, c->db, *dst);
    kv_reply_int(c, (int64_t)s.n);
}

void kv_cmd_zrange(struct kv_client *c)
{
    struct zrange_req q = { .type = R_RANK };
    zrange_generic(c, 1, &q, true, NULL);
}

void kv_cmd_zrangestore(struct kv_client *c)
{
    struct zrange_req q = { .type = R_RANK };
    zrange_generic(c, 2, &q, true, &c->argv[1]);
}

void kv_cmd_zrevrange(struct kv_client *c)
{
    struct zrange_req q = { .type = R_RANK, .rev = true };
    zrange_generic(c, 1, &q, false, NULL);
}

void kv_cmd_zrangebyscore(struct kv_client *c)
{
    struct zrange_req q = { .type = R_SCORE };
    zrange_generic(c, 1, &q, false, NULL);
}

void kv_cmd_zrevrangebyscore(struct kv_client *c)
{
    struct zrange_req q = { .type = R_SCORE, .rev = true };
    zrange_generic(c, 1, &q, false, NULL);
}

void kv_cmd_zrangebylex(struct kv_client *c)
{
    struct zrange_req q = { .type = R_LEX };
    zrange_generic(c, 1, &q, false, NULL);
}

void kv_cmd_zrevrangebylex(struct kv_client *c)
{
    struct zrange_req q = { .type = R_LEX, .rev = true };
    zrange_generic(c, 1, &q, false, NULL);
}

/* ---- ZREMRANGEBYRANK / BYSCORE / BYLEX ---------------------------------------------- */

static void zremrange_generic(struct kv_client *c, enum rtype type)
{
    struct zrange_any r = { .lex = type == R_LEX };
    int64_t start = 0, end = 0;
    if (type == R_RANK && (!kv_parse_i64(c->argv[2], &start) || !kv_parse_i64(c->argv[3], &end))) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (type == R_SCORE && !parse_score_range(c, c->argv[2], c->argv[3], &r.s))
        return;
    if (type == R_LEX && !parse_lex_range(c, c->argv[2], c->argv[3], &r.l))
        return;
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_ZSET, true, &wrong);
    if (!e) {
        if (!wrong)
            kv_reply_int(c, 0);
        return;
    }
    int64_t len = (int64_t)zlen(e->v.ptr);
    if (type == R_RANK) {
        start += start < 0 ? len : 0;
        end += end < 0 ? len : 0;
        start = start < 0 ? 0 : start;
        end = end >= len ? len - 1 : end;
        if (start > end || start >= len) {
            kv_reply_int(c, 0);
            return;
        }
    } else {
        struct zit a, b;
        zit_range_start(&a, e->v.ptr, &r, false);
        if (!a.valid) {
            kv_reply_int(c, 0);
            return;
        }
        /* from the first element in range, forward while in range (Redis's walk) */
        start = (int64_t)a.rank;
        for (b = a; zit_in_range(&b, &r, false); zit_step(&b, false))
            end = (int64_t)b.rank;
    }
    e->v.ptr = zdelete_ranks(e->v.ptr, (size_t)start, (size_t)end);
    zdelete_if_empty(c, e);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, end - start + 1);
}

void kv_cmd_zremrangebyrank(struct kv_client *c)
{
    zremrange_generic(c, R_RANK);
}

void kv_cmd_zremrangebyscore(struct kv_client *c)
{
    zremrange_generic(c, R_SCORE);
}

void kv_cmd_zremrangebylex(struct kv_client *c)
{
    zremrange_generic(c, R_LEX);
}

/* ---- ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP BZMPOP ---------------------------------- */

enum popreply { POP_FLAT, POP_PAIRS, POP_NESTED, POP_BLOCK };

/*
 * Pop up to count elements from e (min or max end) and reply them:
 *   POP_FLAT   [m, s, m, s ...] in RESP2 and for ZPOPMIN without count in RESP3
 *   POP_PAIRS  RESP3 [[m, s] ...] (RESP2 flat), ZPOPMIN with count
 *   POP_NESTED [[m, s] ...] in both protocols (ZMPOP)
 *   POP_BLOCK  [key, m, s] (BZPOPMIN/BZPOPMAX)
 * Propagates ZPOPMIN/ZPOPMAX key count, deletes the key when emptied, signals it.
 */
static void zpop(struct kv_client *c, struct kv_entry *e, struct kv_bytes key, bool max, size_t count,
                 enum popreply mode)
{
    size_t len = zlen(e->v.ptr);
    if (count > len)
        count = len;
    if (mode == POP_BLOCK) {
        kv_reply_array(c, 3);
        kv_reply_bulk(c, key);
    } else if (mode == POP_PAIRS) {
        reply_pairs_len(c, count, true);
    } else if (mode == POP_NESTED) {
        kv_reply_array(c, count);
    } else {
        kv_reply_array(c, 2 * count);
    }
    struct zit it;
    zit_at_rank(&it, e->v.ptr, max ? len - 1 : 0);
    for (size_t i = 0; i < count; i++, zit_step(&it, max)) {
        if (mode == POP_PAIRS) {
            reply_pair(c, zit_member(&it), zit_score(&it), true);
        } else if (mode == POP_NESTED) {
            kv_reply_array(c, 2);
            kv_reply_bulk(c, zit_member(&it));
            reply_score(c, zit_score(&it));
        } else {
            kv_reply_bulk(c, zit_member(&it));
            reply_score(c, zit_score(&it));
        }
    }
    char num[24];
    struct kv_bytes argv[3] = { kv_b(max ? "ZPOPMAX" : "ZPOPMIN", 7), key,
                                kv_b(num, (size_t)snprintf(num, sizeof num, "%zu", count)) };
    kv_propagate(c, 3, argv);
    e->v.ptr = max ? zdelete_ranks(e->v.ptr, len - count, len - 1) : zdelete_ranks(e->v.ptr, 0, count - 1);
    zdelete_if_empty(c, e);
    kv_signal_modified(c, c->db, key);
}

static void zpop_command(struct kv_client *c, bool max)
{
    int64_t count = 1;
    if (c->argc > 3) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    if (c->argc == 3 && (!kv_parse_i64(c->argv[2], &count) || count < 0)) {
        kv_reply_error(c, "ERR value is out of range, must be positive");
        return;
    }
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_ZSET, true, &wrong);
    if (wrong)
        return;
    if (!e || count == 0) {
        kv_reply_array(c, 0);
        return;
    }
    zpop(c, e, c->argv[1], max, (size_t)count, c->argc == 3 ? POP_PAIRS : POP_FLAT);
}

void kv_cmd_zpopmin(struct kv_client *c)
{
    zpop_command(c, false);
}

void kv_cmd_zpopmax(struct kv_client *c)
{
    zpop_command(c, true);
}

/* The first non-empty sorted set among keys: its entry, NULL (none) or NULL with *wrong. */
static struct kv_entry *first_nonempty(struct kv_client *c, const struct kv_bytes *keys, int n, int *which, bool *wrong)
{
    *wrong = false;
    for (int i = 0; i < n; i++) {
        struct kv_entry *e = kv_lookup_type(c, keys[i], KV_ZSET, true, wrong);
        if (*wrong)
            return NULL;
        if (e) {
            *which = i;
            return e;
        }
    }
    return NULL;
}

static void bzpop_command(struct kv_client *c, bool max)
{
    int64_t timeout;
    if (!kv_parse_timeout(c, c->argv[c->argc - 1], &timeout))
        return;
    int which;
    bool wrong;
    const struct kv_bytes *keys = c->argv + 1;
    int n = c->argc - 2;
    struct kv_entry *e = first_nonempty(c, keys, n, &which, &wrong);
    if (wrong)
        return;
    if (e) {
        zpop(c, e, keys[which], max, 1, POP_BLOCK);
        /* Redis propagates the served pop as ZPOPMIN/ZPOPMAX key (zpop sent "key 1"). */
        return;
    }
    kv_block(c, n, keys, timeout); /* inside EXEC it answers a null array at once */
}

void kv_cmd_bzpopmin(struct kv_client *c)
{
    bzpop_command(c, false);
}

void kv_cmd_bzpopmax(struct kv_client *c)
{
    bzpop_command(c, true);
}

/* ZMPOP numkeys key... MIN|MAX [COUNT n] with numkeys at argv[at]. */
static void zmpop_generic(struct kv_client *c, int at, int64_t timeout, bool blocking)
{
    int n;
    int64_t count = 1;
    if (!kv_parse_numkeys(c, c->argv[at], c->argc - at - 1, &n))
        return;
    int i = at + 1 + n;
    if (i >= c->argc || !(kv_eq(c->argv[i], "MIN") || kv_eq(c->argv[i], "MAX"))) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    bool max = kv_eq(c->argv[i], "MAX");
    bool have_count = false;
    for (i++; i < c->argc; i += 2) {
        if (!kv_eq(c->argv[i], "COUNT") || i + 1 >= c->argc || have_count) {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return;
        }
        have_count = true;
        if (!kv_parse_i64(c->argv[i + 1], &count) || count <= 0) {
            kv_reply_error(c, "ERR count should be greater than 0");
            return;
        }
    }
    int which;
    bool wrong;
    struct kv_entry *e = first_nonempty(c, c->argv + at + 1, n, &which, &wrong);
    if (wrong)
        return;
    if (e) {
        kv_reply_array(c, 2);
        kv_reply_bulk(c, c->argv[at + 1 + which]);
        zpop(c, e, c->argv[at + 1 + which], max, (size_t)count, POP_NESTED);
    } else if (blocking) {
        kv_block(c, n, c->argv + at + 1, timeout);
    } else {
        kv_reply_null_array(c);
    }
}

void kv_cmd_zmpop(struct kv_client *c)
{
    zmpop_generic(c, 1, 0, false);
}

void kv_cmd_bzmpop(struct kv_client *c)
{
    int64_t timeout;
    if (kv_parse_timeout(c, c->argv[1], &timeout))
        zmpop_generic(c, 2, timeout, true);
}

/* ---- ZRANDMEMBER ---------------------------------------------------------------------- */

/* Few picks from a big sorted set: random ranks, members seen once (Redis's CASE 4). */
static void zrandmember_sparse(struct kv_client *c, const void *p, size_t count, bool withscores)
{
    struct kv_htab seen = { 0 };
    reply_pairs_len(c, count, withscores);
    while (count > 0) {
        struct zit it;
        zit_at_rank(&it, p, (size_t)(kv_zsl_rand() % zlen(p)));
        if (kv_pickset_add(&seen, zit_member(&it))) {
            reply_pair(c, zit_member(&it), zit_score(&it), withscores);
            count--;
        }
    }
    kv_pickset_release(&seen);
}

static void zrandmember_distinct(struct kv_client *c, const void *p, size_t count, bool withscores)
{
    size_t len = zlen(p);
    if (count <= len / 3) {
        zrandmember_sparse(c, p, count, withscores);
        return;
    }
    if (count > len)
        count = len;
    /* Partial Fisher-Yates over ranks: distinct picks in random order. */
    size_t *idx = kv_malloc(len * sizeof(*idx));
    for (size_t i = 0; i < len; i++)
        idx[i] = i;
    reply_pairs_len(c, count, withscores);
    for (size_t i = 0; i < count; i++) {
        ST_ASSUME(i < len); /* count <= len */
        size_t j = i + (size_t)(kv_zsl_rand() % (len - i)), t = idx[i];
        struct zit it;
        idx[i] = idx[j];
        idx[j] = t;
        zit_at_rank(&it, p, idx[i]);
        reply_pair(c, zit_member(&it), zit_score(&it), withscores);
    }
    kv_free(idx);
}

void kv_cmd_zrandmember(struct kv_client *c)
{
    int64_t count = 1;
    bool withscores = false;
    if (c->argc > 4 || (c->argc == 4 && !kv_eq(c->argv[3], "WITHSCORES"))) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    withscores = c->argc == 4;
    if (c->argc >= 3 && !kv_parse_i64(c->argv[2], &count)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (count == INT64_MIN) {
        kv_reply_error(c, KV_ERR_RANDCOUNT);
        return;
    }
    if (count < 0 && 0 - (uint64_t)count > KV_RAND_REPEAT_MAX) {
        kv_reply_error(c, "ERR value is out of range");
        return;
    }
    bool wrong;
    struct kv_entry *e = zread(c, c->argv[1], &wrong);
    if (wrong)
        return;
    struct zit it;
    if (c->argc == 2) {
        if (!e) {
            kv_reply_null(c);
            return;
        }
        zit_at_rank(&it, e->v.ptr, (size_t)(kv_zsl_rand() % zlen(e->v.ptr)));
        kv_reply_bulk(c, zit_member(&it));
        return;
    }
    if (!e || count == 0) {
        kv_reply_array(c, 0);
        return;
    }
    if (count > 0) {
        zrandmember_distinct(c, e->v.ptr, (size_t)count, withscores);
        return;
    }
    reply_pairs_len(c, (size_t)-count, withscores);
    for (int64_t i = 0; i < -count; i++) {
        zit_at_rank(&it, e->v.ptr, (size_t)(kv_zsl_rand() % zlen(e->v.ptr)));
        reply_pair(c, zit_member(&it), zit_score(&it), withscores);
    }
}

/* ---- ZUNION ZINTER ZDIFF (+STORE) ZINTERCARD ------------------------------------------ */

enum agg { AGG_SUM, AGG_MIN, AGG_MAX };
enum zop { ZOP_UNION, ZOP_INTER, ZOP_DIFF };

/* One input: a sorted set or a plain set (members score 1, as Redis allows). */
struct zsrc {
    const void *p;
    bool is_set;
    double weight;
};

static size_t src_len(const struct zsrc *s)
{
    return !s->p ? 0 : s->is_set ? kv_set_len(s->p) : zlen(s->p);
}

static bool src_score(const struct zsrc *s, struct kv_bytes m, double *score)
{
    if (!s->p)
        return false;
    if (s->is_set) {
        *score = 1.0;
        return kv_set_has(s->p, m);
    }
    return zscore(s->p, m, score);
}

/* Walk a source: fn(arg, member, score). */
static void src_each(const struct zsrc *s, void (*fn)(void *arg, struct kv_bytes m, double score), void *arg)
{
    if (!s->p)
        return;
    if (s->is_set) {
        struct kv_set_iter it;
        struct kv_bytes m;
        kv_set_iter_init(&it, s->p);
        while (kv_set_next(&it, &m))
            fn(arg, m, 1.0);
        return;
    }
    struct zit it;
    for (zit_at_rank(&it, s->p, 0); it.valid; zit_step(&it, false))
        fn(arg, zit_member(&it), zit_score(&it));
}

static double aggregate(enum agg a, double acc, double v)
{
    if (a == AGG_MIN)
        return v < acc ? v : acc;
    if (a == AGG_MAX)
        return v > acc ? v : acc;
    acc += v;
    return isnan(acc) ? 0 : acc; /* inf + -inf: Redis makes it 0 */
}

static double weighted(double score, double w)
{
    double v = score * w;
    return isnan(v) ? 0 : v;
}

/* The result being built: a skiplist-encoded zset (dict for member lookup). */
struct zacc {
    struct zskip *z;
    const struct zsrc *srcs;
    int n;
    enum agg agg;
    enum zop op;
    size_t maxlen;
};

static void acc_union(void *arg, struct kv_bytes m, double score)
{
    struct zacc *a = arg;
    if (zs_find(a->z, m))
        return; /* already aggregated over every source */
    double acc = 0;
    bool first = true;
    for (int i = 0; i < a->n; i++) {
        double s;
        if (!src_score(&a->srcs[i], m, &s))
            continue;
        s = weighted(s, a->srcs[i].weight);
        acc = first ? s : aggregate(a->agg, acc, s);
        first = false;
    }
    (void)score;
    zs_insert(a->z, m, acc);
    if (m.n > a->maxlen)
        a->maxlen = m.n;
}

static void acc_inter(void *arg, struct kv_bytes m, double score)
{
    struct zacc *a = arg;
    double acc = weighted(score, a->srcs[0].weight);
    for (int i = 1; i < a->n; i++) {
        double s;
        if (!src_score(&a->srcs[i], m, &s))
            return;
        acc = aggregate(a->agg, acc, weighted(s, a->srcs[i].weight));
    }
    zs_insert(a->z, m, acc);
    if (m.n > a->maxlen)
        a->maxlen = m.n;
}

static void acc_diff(void *arg, struct kv_bytes m, double score)
{
    struct zacc *a = arg;
    for (int i = 1; i < a->n; i++) {
        double s;
        if (src_score(&a->srcs[i], m, &s))
            return;
    }
    zs_insert(a->z, m, score);
    if (m.n > a->maxlen)
        a->maxlen = m.n;
}

static int by_src_len(const void *x, const void *y)
{
    size_t a = src_len(x), b = src_len(y);
    return a < b ? -1 : a > b;
}

static void compute(struct zacc *a, struct zsrc *srcs)
{
    if (a->op == ZOP_UNION) {
        for (int i = 0; i < a->n; i++)
            src_each(&srcs[i], acc_union, a);
        return;
    }
    if (a->op == ZOP_INTER) {
        for (int i = 0; i < a->n; i++) {
            if (!srcs[i].p)
                return;
        }
        /* smallest first: fewer probes (weights travel with their source) */
        qsort(srcs, (size_t)a->n, sizeof(*srcs), by_src_len);
        src_each(&srcs[0], acc_inter, a);
        return;
    }
    src_each(&srcs[0], acc_diff, a);
}

/* Parse "numkeys key... [WEIGHTS w...] [AGGREGATE x] [WITHSCORES]" from argv[at]. */
static bool parse_zsetop(struct kv_client *c, int at, enum zop op, bool store, struct zsrc **srcs, int *n,
                         enum agg *agg, bool *withscores)
{
    ST_ASSUME(c->argv && at < c->argc); /* the command table's arity guarantees numkeys */
    int64_t nk;
    if (!kv_parse_i64(c->argv[at], &nk)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return false;
    }
    if (nk < 1) {
        static const char *const names[2][3] = { { "zunion", "zinter", "zdiff" },
                                                 { "zunionstore", "zinterstore", "zdiffstore" } };
        kv_reply_errorf(c, "ERR at least 1 input key is needed for '%s' command", names[store][op]);
        return false;
    }
    if (nk > c->argc - at - 1) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return false;
    }
    *n = (int)nk;
    *agg = AGG_SUM;
    *withscores = false;
    *srcs = kv_calloc((size_t)nk, sizeof(**srcs));
    for (int i = 0; i < *n; i++)
        (*srcs)[i].weight = 1;
    for (int i = at + 1 + *n; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (op != ZOP_DIFF && kv_eq(c->argv[i], "WEIGHTS") && left >= *n) {
            for (int k = 0; k < *n; k++) {
                if (!kv_parse_double(c->argv[i + 1 + k], &(*srcs)[k].weight)) {
                    kv_reply_error(c, "ERR weight value is not a float");
                    goto fail;
                }
            }
            i += *n;
        } else if (op != ZOP_DIFF && kv_eq(c->argv[i], "AGGREGATE") && left >= 1) {
            struct kv_bytes a = c->argv[++i];
            if (kv_eq(a, "SUM"))
                *agg = AGG_SUM;
            else if (kv_eq(a, "MIN"))
                *agg = AGG_MIN;
            else if (kv_eq(a, "MAX"))
                *agg = AGG_MAX;
            else
                goto syntax;
        } else if (!store && kv_eq(c->argv[i], "WITHSCORES")) {
            *withscores = true;
        } else {
            goto syntax;
        }
    }
    return true;
syntax:
    kv_reply_error(c, KV_ERR_SYNTAX);
fail:
    kv_free(*srcs);
    return false;
}

/* Look the sources up (sets or sorted sets). false after a WRONGTYPE reply. */
static bool lookup_srcs(struct kv_client *c, const struct kv_bytes *keys, struct zsrc *srcs, int n, bool write)
{
    for (int i = 0; i < n; i++) {
        struct kv_entry *e = write ? kv_lookup_write(c->db, keys[i]) : kv_lookup_read(c->db, keys[i]);
        if (e && e->type != KV_ZSET && e->type != KV_SET) {
            kv_reply_error(c, KV_ERR_WRONGTYPE);
            return false;
        }
        srcs[i].p = e ? e->v.ptr : NULL;
        srcs[i].is_set = e && e->type == KV_SET;
    }
    return true;
}

static void zsetop_command(struct kv_client *c, enum zop op, const struct kv_bytes *dst)
{
    int at = dst ? 2 : 1, n;
    struct zsrc *srcs;
    enum agg agg;
    bool withscores;
    if (!parse_zsetop(c, at, op, dst != NULL, &srcs, &n, &agg, &withscores))
        return;
    if (!lookup_srcs(c, c->argv + at + 1, srcs, n, dst != NULL)) {
        kv_free(srcs);
        return;
    }
    struct zacc a = { zskip_new(), srcs, n, agg, op, 0 };
    compute(&a, srcs);
    kv_free(srcs);
    size_t len = a.z->zsl.length;
    if (!dst) {
        struct zit it;
        reply_pairs_len(c, len, withscores);
        for (zit_at_rank(&it, a.z, 0); it.valid; zit_step(&it, false))
            reply_pair(c, zit_member(&it), zit_score(&it), withscores);
        zskip_free(a.z);
        return;
    }
    bool existed = kv_db_delete(c->db, *dst);
    if (len) {
        void *p = zshrink_if_small(a.z, a.maxlen);
        kv_db_add(c->db, *dst, KV_ZSET, zenc(p), p);
    } else {
        zskip_free(a.z);
    }
    if (len || existed)
        kv_signal_modified(c, c->db, *dst);
    kv_reply_int(c, (int64_t)len);
}

void kv_cmd_zunion(struct kv_client *c)
{
    zsetop_command(c, ZOP_UNION, NULL);
}

void kv_cmd_zinter(struct kv_client *c)
{
    zsetop_command(c, ZOP_INTER, NULL);
}

void kv_cmd_zdiff(struct kv_client *c)
{
    zsetop_command(c, ZOP_DIFF, NULL);
}

void kv_cmd_zunionstore(struct kv_client *c)
{
    zsetop_command(c, ZOP_UNION, &c->argv[1]);
}

void kv_cmd_zinterstore(struct kv_client *c)
{
    zsetop_command(c, ZOP_INTER, &c->argv[1]);
}

void kv_cmd_zdiffstore(struct kv_client *c)
{
    zsetop_command(c, ZOP_DIFF, &c->argv[1]);
}

struct icard {
    const struct zsrc *srcs;
    int n;
    size_t count, limit;
};

static void icard_one(void *arg, struct kv_bytes m, double score)
{
    struct icard *k = arg;
    (void)score;
    if (k->limit && k->count >= k->limit)
        return;
    for (int i = 1; i < k->n; i++) {
        double s;
        if (!src_score(&k->srcs[i], m, &s))
            return;
    }
    k->count++;
}

void kv_cmd_zintercard(struct kv_client *c)
{
    int64_t nk, limit;
    if (!kv_parse_i64(c->argv[1], &nk)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (nk < 1) {
        kv_reply_error(c, "ERR at least 1 input key is needed for 'zintercard' command");
        return;
    }
    if (nk > c->argc - 2) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    int n = (int)nk;
    if (!kv_parse_card_limit(c, 2 + n, &limit))
        return;
    struct zsrc *srcs = kv_calloc((size_t)n, sizeof(*srcs));
    if (lookup_srcs(c, c->argv + 2, srcs, n, false)) {
        struct icard k = { srcs, n, 0, (size_t)limit };
        int i = 0;
        while (i < n && srcs[i].p)
            i++;
        if (i == n) {
            qsort(srcs, (size_t)n, sizeof(*srcs), by_src_len);
            src_each(&srcs[0], icard_one, &k);
        }
        kv_reply_int(c, (int64_t)k.count);
    }
    kv_free(srcs);
}

/* ---- ZSCAN ---------------------------------------------------------------------------- */

struct zscan_acc {
    struct kv_zsl_node **v;
    size_t n, cap;
};

static void zscan_one(void *arg, struct kv_hent *e)
{
    struct zscan_acc *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = kv_realloc(a->v, a->cap * sizeof(struct kv_zsl_node *));
    }
    a->v[a->n++] = (struct kv_zsl_node *)e;
}

static void reply_scan_pair(struct kv_client *c, struct kv_bytes m, double score)
{
    char buf[32];
    kv_reply_bulk(c, m);
    kv_reply_bulk(c, kv_b(buf, kv_fmt_double(score, buf))); /* ZSCAN scores are bulk strings */
}

void kv_cmd_zscan(struct kv_client *c)
{
    uint64_t cursor;
    struct kv_scan_opts o;
    bool wrong;
    if (!kv_parse_scan_cursor(c, c->argv[2], &cursor))
        return;
    struct kv_entry *e = zread(c, c->argv[1], &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_array(c, 2);
        kv_reply_bulk(c, kv_b("0", 1));
        kv_reply_array(c, 0);
        return;
    }
    if (!kv_parse_scan_opts(c, 3, &o))
        return;
    struct zscan_acc a = { NULL, 0, 0 };
    if (!is_packed(e->v.ptr)) {
        const struct zskip *s = e->v.ptr;
        int64_t maxiter = o.count * 10;
        do {
            cursor = kv_htab_scan(&s->dict, cursor, zscan_one, &a);
        } while (cursor && maxiter-- > 0 && a.n < (size_t)o.count);
    } else {
        cursor = 0; /* small encodings answer in one call, as in Redis */
    }
    kv_reply_scan_head(c, cursor);
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    if (is_packed(e->v.ptr)) {
        struct zit it;
        for (zit_at_rank(&it, e->v.ptr, 0); it.valid; zit_step(&it, false)) {
            struct kv_bytes m = zit_member(&it);
            if (!o.match || kv_glob(o.pattern, m, false)) {
                reply_scan_pair(c, m, zit_score(&it));
                n++;
            }
        }
    }
    for (size_t i = 0; i < a.n; i++) {
        struct kv_bytes m = kv_zsl_node_member(a.v[i]);
        if (!o.match || kv_glob(o.pattern, m, false)) {
            reply_scan_pair(c, m, a.v[i]->score);
            n++;
        }
    }
    kv_reply_set_deferred(c, h, 2 * n, '*');
    kv_free(a.v);
}
