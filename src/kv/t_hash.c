/*
 * t_hash.c - the hash type and its commands (HSET ... HSCAN), as redis-server 7.0 has
 * them.
 *
 * Encodings, as Redis 7.0 (OBJECT ENCODING answers the same):
 *   listpack   field, value, field, value ... in one listpack (listpack.h) while there
 *              are at most hash-max-listpack-entries fields and no field or value is
 *              longer than hash-max-listpack-value bytes: lookups are linear scans of a
 *              block that fits in a few cache lines;
 *   hashtable  a kv_htab (skiplist.h, shared with sets) of struct hfield, one allocation
 *              per field holding its value too.
 * A hash never converts back, as in Redis.
 *
 * The value pointer alone tells the encoding (kv_hash_ops get no entry): a listpack
 * starts with its total size, never 0; a struct hht starts with a zero tag.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/cmds.h"
#include "kv/db.h"
#include "kv/listpack.h"
#include "kv/skiplist.h"
#include "kv/t_set.h"

struct hht {
    uint32_t tag; /* always 0: see the file comment */
    size_t bytes; /* allocation sizes of the fields, so MEMORY USAGE is O(1) */
    struct kv_htab ht;
};

/* A field of a hashtable hash: header, the field bytes, NUL, the value bytes, NUL. */
struct hfield {
    struct kv_hent h; /* h.len: field length */
    uint32_t vlen;
    char data[];
};

/* A listpack is capped well below its 4 GB format limit (Redis: 1 GB safety). */
#define LP_SAFETY_BYTES (1u << 30)

/* ---- the value ------------------------------------------------------------------------- */

static bool is_lp(const void *p)
{
    return *(const uint32_t *)p != 0;
}

static const char *hfield_key(const struct kv_hent *e)
{
    return ((const struct hfield *)e)->data;
}

static struct kv_bytes hfield_val(const struct hfield *f)
{
    return kv_b(f->data + f->h.len + 1, f->vlen);
}

static struct hfield *hfield_new(struct kv_bytes field, struct kv_bytes val, uint32_t hash)
{
    struct hfield *f = kv_malloc(sizeof(*f) + field.n + val.n + 2);
    f->h.next = NULL;
    f->h.hash = hash;
    f->h.len = (uint32_t)field.n;
    f->vlen = (uint32_t)val.n;
    if (field.n)
        memcpy(f->data, field.p, field.n);
    f->data[field.n] = 0;
    if (val.n)
        memcpy(f->data + field.n + 1, val.p, val.n);
    f->data[field.n + 1 + val.n] = 0;
    return f;
}

static struct hht *hht_new(void)
{
    struct hht *h = kv_malloc(sizeof(*h));
    h->tag = 0;
    h->bytes = 0;
    kv_htab_init(&h->ht, hfield_key);
    return h;
}

static void free_field(struct kv_hent *e)
{
    kv_free(e);
}

static size_t hash_len(const void *p)
{
    return is_lp(p) ? kv_lp_len(p) / 2 : ((const struct hht *)p)->ht.len;
}

/* Set field in a hashtable hash; true when it was created. */
static bool hht_set(struct hht *h, struct kv_bytes field, struct kv_bytes val)
{
    uint32_t hash = kv_htab_hash(field);
    struct kv_hent *old = kv_htab_find(&h->ht, field, hash);
    struct hfield *f = (struct hfield *)old;
    if (f && kv_alloc_size(f) >= sizeof(*f) + field.n + val.n + 2) {
        /* the new value fits in place */
        memcpy(f->data + field.n + 1, val.p, val.n);
        f->data[field.n + 1 + val.n] = 0;
        f->vlen = (uint32_t)val.n;
        return false;
    }
    if (old) {
        kv_htab_remove(&h->ht, field, hash);
        h->bytes -= kv_alloc_size(old);
        kv_free(old);
    }
    f = hfield_new(field, val, hash);
    h->bytes += kv_alloc_size(f);
    kv_htab_insert(&h->ht, &f->h);
    return old == NULL;
}

/* The value of field (ints of a listpack are written into buf); false when absent. */
static bool hash_get(void *p, struct kv_bytes field, struct kv_bytes *val, char buf[24])
{
    if (is_lp(p)) {
        unsigned char *lp = p;
        unsigned char *f = kv_lp_find(lp, kv_lp_first(lp), field, 1);
        if (!f)
            return false;
        *val = kv_lp_get(kv_lp_next(lp, f), buf);
        return true;
    }
    struct hht *h = p;
    struct kv_hent *e = kv_htab_find(&h->ht, field, kv_htab_hash(field));
    if (!e)
        return false;
    *val = hfield_val((struct hfield *)e);
    return true;
}

/* Iteration over field/value pairs in encoding order. */
struct hash_iter {
    void *p;
    unsigned char *lpp;
    struct kv_htab_iter hi;
    char fbuf[24], vbuf[24];
};

static void hash_iter_init(struct hash_iter *it, void *p)
{
    it->p = p;
    it->lpp = is_lp(p) ? kv_lp_first(p) : NULL;
    it->hi = KV_HTAB_ITER_INIT;
}

static bool hash_next(struct hash_iter *it, struct kv_bytes *field, struct kv_bytes *val)
{
    if (is_lp(it->p)) {
        if (!it->lpp)
            return false;
        *field = kv_lp_get(it->lpp, it->fbuf);
        unsigned char *v = kv_lp_next(it->p, it->lpp);
        *val = kv_lp_get(v, it->vbuf);
        it->lpp = kv_lp_next(it->p, v);
        return true;
    }
    struct hht *h = it->p;
    struct kv_hent *e = kv_htab_next(&h->ht, &it->hi);
    if (!e)
        return false;
    *field = kv_b(hfield_key(e), e->len);
    *val = hfield_val((struct hfield *)e);
    return true;
}

static struct hht *lp_to_hht(unsigned char *lp)
{
    struct hht *h = hht_new();
    struct hash_iter it;
    struct kv_bytes f, v;
    hash_iter_init(&it, lp);
    while (hash_next(&it, &f, &v))
        hht_set(h, f, v);
    kv_lp_free(lp);
    return h;
}

static void convert(struct kv_entry *e)
{
    e->v.ptr = lp_to_hht(e->v.ptr);
    e->enc = KV_ENC_HASHTABLE;
}

/* Before writing (field, val): convert when either is too long for a listpack. */
static void convert_for(struct kv_entry *e, struct kv_bytes field, struct kv_bytes val)
{
    if (!is_lp(e->v.ptr))
        return;
    int64_t max = kv_cfg.hash_max_listpack_value;
    if ((int64_t)field.n > max || (int64_t)val.n > max ||
        kv_lp_bytes(e->v.ptr) + field.n + val.n + 32 > LP_SAFETY_BYTES)
        convert(e);
}

/* Set field to val in e's hash (converting as Redis does); true when created. */
static bool hash_set(struct kv_entry *e, struct kv_bytes field, struct kv_bytes val)
{
    convert_for(e, field, val);
    if (!is_lp(e->v.ptr))
        return hht_set(e->v.ptr, field, val);
    unsigned char *lp = e->v.ptr;
    unsigned char *f = kv_lp_find(lp, kv_lp_first(lp), field, 1);
    if (f) {
        unsigned char *v = kv_lp_next(lp, f);
        e->v.ptr = kv_lp_replace(lp, &v, val);
        return false;
    }
    lp = kv_lp_append(lp, field);
    e->v.ptr = kv_lp_append(lp, val);
    if ((int64_t)hash_len(e->v.ptr) > kv_cfg.hash_max_listpack_entries)
        convert(e);
    return true;
}

static bool hash_del(struct kv_entry *e, struct kv_bytes field)
{
    if (is_lp(e->v.ptr)) {
        unsigned char *lp = e->v.ptr;
        unsigned char *f = kv_lp_find(lp, kv_lp_first(lp), field, 1);
        if (!f)
            return false;
        size_t index = 0;
        for (unsigned char *q = kv_lp_first(lp); q != f; q = kv_lp_next(lp, q))
            index++;
        e->v.ptr = kv_lp_delete_range(lp, (int64_t)index, 2);
        return true;
    }
    struct hht *h = e->v.ptr;
    struct kv_hent *old = kv_htab_remove(&h->ht, field, kv_htab_hash(field));
    if (!old)
        return false;
    h->bytes -= kv_alloc_size(old);
    kv_free(old);
    return true;
}

/* ---- type ops --------------------------------------------------------------------------- */

static void hash_free(void *p)
{
    if (is_lp(p)) {
        kv_lp_free(p);
        return;
    }
    struct hht *h = p;
    kv_htab_release(&h->ht, free_field);
    kv_free(h);
}

static void *hash_dup(const void *p)
{
    if (is_lp(p))
        return kv_lp_dup(p);
    struct hht *d = hht_new();
    struct hash_iter it;
    struct kv_bytes f, v;
    hash_iter_init(&it, (void *)p);
    while (hash_next(&it, &f, &v))
        hht_set(d, f, v);
    return d;
}

static size_t hash_mem(const void *p)
{
    if (is_lp(p))
        return kv_alloc_size(p);
    const struct hht *h = p;
    return kv_alloc_size(h) + kv_htab_mem(&h->ht) + h->bytes;
}

static size_t hash_len_op(const void *p)
{
    return hash_len(p);
}

#define EMIT_PAIRS 64

/* HSET key f1 v1 .. f64 v64, as many as needed. */
static int hash_emit(const void *p, struct kv_bytes key, struct kv_emitter *em)
{
    struct kv_bytes argv[2 + 2 * EMIT_PAIRS];
    char nums[2 * EMIT_PAIRS][24];
    struct hash_iter it;
    struct kv_bytes f, v;
    argv[0] = kv_b("HSET", 4);
    argv[1] = key;
    int n = 0;
    hash_iter_init(&it, (void *)p);
    while (hash_next(&it, &f, &v)) {
        /* the iterator's int buffers are reused: keep copies of int texts */
        memcpy(nums[(size_t)2 * n], f.p, f.p == it.fbuf ? f.n : 0);
        memcpy(nums[2 * n + 1], v.p, v.p == it.vbuf ? v.n : 0);
        argv[2 + (size_t)2 * n] = f.p == it.fbuf ? kv_b(nums[(size_t)2 * n], f.n) : f;
        argv[3 + 2 * n] = v.p == it.vbuf ? kv_b(nums[2 * n + 1], v.n) : v;
        if (++n == EMIT_PAIRS) {
            int rc = kv_emit(em, 2 + 2 * n, argv);
            if (rc)
                return rc;
            n = 0;
        }
    }
    return n ? kv_emit(em, 2 + 2 * n, argv) : 0;
}

const struct kv_type_ops kv_hash_ops = { hash_free, hash_dup, hash_mem, hash_len_op, hash_emit };

/* ---- lookups --------------------------------------------------------------------------- */

static struct kv_entry *hash_read(struct kv_client *c, bool *wrong)
{
    return kv_lookup_type(c, c->argv[1], KV_HASH, false, wrong);
}

/* The hash at argv[1] for writing, created when absent; NULL after WRONGTYPE. */
static struct kv_entry *hash_write_create(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_HASH, true, &wrong);
    if (e || wrong)
        return e;
    return kv_db_add(c->db, c->argv[1], KV_HASH, KV_ENC_LISTPACK, kv_lp_new());
}

/* ---- HSET HMSET HSETNX ------------------------------------------------------------------ */

/* Redis converts before inserting when any argument is too long for a listpack. */
static void convert_for_args(struct kv_client *c, struct kv_entry *e, int from)
{
    for (int i = from; i < c->argc && is_lp(e->v.ptr); i++) {
        if ((int64_t)c->argv[i].n > kv_cfg.hash_max_listpack_value)
            convert(e);
    }
}

static void hset_generic(struct kv_client *c, bool hmset)
{
    if (c->argc % 2 == 1) {
        kv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", hmset ? "hmset" : "hset");
        return;
    }
    struct kv_entry *e = hash_write_create(c);
    if (!e)
        return;
    convert_for_args(c, e, 2);
    int64_t created = 0;
    for (int i = 2; i < c->argc; i += 2)
        created += hash_set(e, c->argv[i], c->argv[i + 1]);
    kv_signal_modified(c, c->db, c->argv[1]);
    if (hmset)
        kv_reply_ok(c);
    else
        kv_reply_int(c, created);
}

void kv_cmd_hset(struct kv_client *c)
{
    hset_generic(c, false);
}

void kv_cmd_hmset(struct kv_client *c)
{
    hset_generic(c, true);
}

void kv_cmd_hsetnx(struct kv_client *c)
{
    struct kv_entry *e = hash_write_create(c);
    if (!e)
        return;
    struct kv_bytes v;
    char buf[24];
    if (hash_get(e->v.ptr, c->argv[2], &v, buf)) {
        kv_reply_int(c, 0);
        return;
    }
    convert_for_args(c, e, 2);
    hash_set(e, c->argv[2], c->argv[3]);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, 1);
}

/* ---- reads ------------------------------------------------------------------------------ */

void kv_cmd_hget(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    struct kv_bytes v;
    char buf[24];
    if (e && hash_get(e->v.ptr, c->argv[2], &v, buf))
        kv_reply_bulk(c, v);
    else
        kv_reply_null(c);
}

void kv_cmd_hmget(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    kv_reply_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        struct kv_bytes v;
        char buf[24];
        if (e && hash_get(e->v.ptr, c->argv[i], &v, buf))
            kv_reply_bulk(c, v);
        else
            kv_reply_null(c);
    }
}

void kv_cmd_hexists(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    struct kv_bytes v;
    char buf[24];
    kv_reply_int(c, e && hash_get(e->v.ptr, c->argv[2], &v, buf));
}

void kv_cmd_hstrlen(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    struct kv_bytes v;
    char buf[24];
    kv_reply_int(c, e && hash_get(e->v.ptr, c->argv[2], &v, buf) ? (int64_t)v.n : 0);
}

void kv_cmd_hlen(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (!wrong)
        kv_reply_int(c, e ? (int64_t)hash_len(e->v.ptr) : 0);
}

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

static void getall_generic(struct kv_client *c, int want)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    size_t n = e ? hash_len(e->v.ptr) : 0;
    if (want == (WANT_FIELDS | WANT_VALUES))
        kv_reply_map(c, n);
    else
        kv_reply_array(c, n);
    if (!e)
        return;
    struct hash_iter it;
    struct kv_bytes f, v;
    hash_iter_init(&it, e->v.ptr);
    while (hash_next(&it, &f, &v)) {
        if (want & WANT_FIELDS)
            kv_reply_bulk(c, f);
        if (want & WANT_VALUES)
            kv_reply_bulk(c, v);
    }
}

void kv_cmd_hkeys(struct kv_client *c)
{
    getall_generic(c, WANT_FIELDS);
}

void kv_cmd_hvals(struct kv_client *c)
{
    getall_generic(c, WANT_VALUES);
}

void kv_cmd_hgetall(struct kv_client *c)
{
    getall_generic(c, WANT_FIELDS | WANT_VALUES);
}

/* ---- HDEL ------------------------------------------------------------------------------- */

void kv_cmd_hdel(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_HASH, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_int(c, 0);
        return;
    }
    int64_t deleted = 0;
    for (int i = 2; i < c->argc; i++) {
        deleted += hash_del(e, c->argv[i]);
        if (hash_len(e->v.ptr) == 0) {
            kv_db_delete_entry(c->db, e);
            break;
        }
    }
    if (deleted)
        kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, deleted);
}

/* ---- HINCRBY HINCRBYFLOAT --------------------------------------------------------------- */

void kv_cmd_hincrby(struct kv_client *c)
{
    int64_t incr, cur = 0;
    if (!kv_parse_i64(c->argv[3], &incr)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    struct kv_entry *e = hash_write_create(c);
    if (!e)
        return;
    struct kv_bytes v;
    char buf[24];
    if (hash_get(e->v.ptr, c->argv[2], &v, buf) && !kv_parse_i64(v, &cur)) {
        kv_reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && cur < INT64_MIN - incr) || (incr > 0 && cur > INT64_MAX - incr)) {
        kv_reply_error(c, KV_ERR_OVERFLOW);
        return;
    }
    cur += incr;
    char out[24];
    int n = snprintf(out, sizeof out, "%lld", (long long)cur);
    hash_set(e, c->argv[2], kv_b(out, (size_t)n));
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, cur);
}

#define LD_BUF 5120 /* Redis's MAX_LONG_DOUBLE_CHARS */

/* Redis's string2ld: strtold on the whole text, no leading space, no NaN, no overflow. */
static bool parse_ld(struct kv_bytes b, long double *out)
{
    char buf[LD_BUF];
    if (b.n == 0 || b.n >= sizeof buf)
        return false;
    memcpy(buf, b.p, b.n);
    buf[b.n] = 0;
    errno = 0;
    char *end;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != 0 || isnan(v) ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) || errno == EINVAL)
        return false;
    *out = v;
    return true;
}

/* Redis's ld2string in "human" mode: %.17Lf with trailing zeros (and a bare point) cut. */
static size_t fmt_ld(long double v, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    size_t l = (size_t)n;
    if (memchr(buf, '.', l)) {
        while (l > 0 && buf[l - 1] == '0')
            l--;
        if (l > 0 && buf[l - 1] == '.')
            l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    return l;
}

void kv_cmd_hincrbyfloat(struct kv_client *c)
{
    long double incr, cur = 0;
    if (!parse_ld(c->argv[3], &incr)) {
        kv_reply_error(c, KV_ERR_NOTFLOAT);
        return;
    }
    if (isinf(incr)) {
        kv_reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    struct kv_entry *e = hash_write_create(c);
    if (!e)
        return;
    struct kv_bytes v;
    char buf[24];
    if (hash_get(e->v.ptr, c->argv[2], &v, buf) && !parse_ld(v, &cur)) {
        kv_reply_error(c, "ERR hash value is not a float");
        return;
    }
    cur += incr;
    if (isnan(cur) || isinf(cur)) {
        kv_reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    char *out = kv_malloc(LD_BUF);
    size_t n = fmt_ld(cur, out, LD_BUF);
    struct kv_bytes nv = kv_b(out, n);
    hash_set(e, c->argv[2], nv);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_bulk(c, nv);
    /* the AOF gets the result, not the increment: replaying it must give the same text */
    struct kv_bytes argv[4] = { kv_b("HSET", 4), c->argv[1], c->argv[2], nv };
    kv_propagate(c, 4, argv);
    kv_free(out);
}

/* ---- HRANDFIELD ------------------------------------------------------------------------- */

/* Reply one (field, value) pick: RESP3 nests each pair in an array. */
static void reply_pick(struct kv_client *c, struct kv_bytes f, struct kv_bytes v, bool withvalues)
{
    if (withvalues && c->resp > 2)
        kv_reply_array(c, 2);
    kv_reply_bulk(c, f);
    if (withvalues)
        kv_reply_bulk(c, v);
}

/* The i-th pair of a listpack hash. */
static void lp_pair(unsigned char *lp, size_t i, struct kv_bytes *f, struct kv_bytes *v, char fb[24], char vb[24])
{
    unsigned char *p = kv_lp_seek(lp, (int64_t)(2 * i));
    *f = kv_lp_get(p, fb);
    *v = kv_lp_get(kv_lp_next(lp, p), vb);
}

static void random_pair(void *p, struct kv_bytes *f, struct kv_bytes *v, char fb[24], char vb[24])
{
    if (is_lp(p)) {
        lp_pair(p, kv_rand64() % hash_len(p), f, v, fb, vb);
        return;
    }
    struct kv_hent *e = kv_htab_random(&((struct hht *)p)->ht);
    *f = kv_b(hfield_key(e), e->len);
    *v = hfield_val((struct hfield *)e);
}

/* count distinct pairs (count < len): a partial Fisher-Yates shuffle of all positions
 * (listpacks are small), or of the table's entries. */
static void reply_distinct(struct kv_client *c, void *p, size_t count, bool withvalues)
{
    size_t len = hash_len(p);
    char fb[24], vb[24];
    struct kv_bytes f, v;
    if (is_lp(p)) {
        /* pick positions, then walk once in order (replies in listpack order, as Redis) */
        bool *keep = kv_calloc(len, sizeof(bool));
        size_t picked = 0;
        while (picked < count) {
            size_t i = kv_rand64() % len;
            if (!keep[i]) {
                keep[i] = true;
                picked++;
            }
        }
        unsigned char *lp = p, *q = kv_lp_first(lp);
        for (size_t i = 0; i < len; i++) {
            unsigned char *vq = kv_lp_next(lp, q);
            if (keep[i])
                reply_pick(c, kv_lp_get(q, fb), kv_lp_get(vq, vb), withvalues);
            q = kv_lp_next(lp, vq);
        }
        kv_free(keep);
        return;
    }
    struct hht *h = p;
    struct kv_hent **all = kv_malloc(len * sizeof(struct kv_hent *));
    struct kv_htab_iter it = KV_HTAB_ITER_INIT;
    for (size_t i = 0; i < len; i++)
        all[i] = kv_htab_next(&h->ht, &it);
    for (size_t i = 0; i < count; i++) {
        ST_ASSUME(i < len); /* count <= len */
        size_t j = i + kv_rand64() % (len - i);
        struct kv_hent *t = all[i];
        all[i] = all[j];
        all[j] = t;
        f = kv_b(hfield_key(all[i]), all[i]->len);
        v = hfield_val((struct hfield *)all[i]);
        reply_pick(c, f, v, withvalues);
    }
    kv_free(all);
}

void kv_cmd_hrandfield(struct kv_client *c)
{
    bool wrong, withvalues = false;
    int64_t count = 0;
    char fb[24], vb[24];
    struct kv_bytes f, v;
    if (c->argc >= 3) {
        if (!kv_parse_i64(c->argv[2], &count)) {
            kv_reply_error(c, KV_ERR_NOTINT);
            return;
        }
        if (count == INT64_MIN) {
            kv_reply_error(c, "ERR value is out of range, value must between -9223372036854775807 and "
                              "9223372036854775807");
            return;
        }
        if (c->argc > 4 || (c->argc == 4 && !kv_eq(c->argv[3], "WITHVALUES"))) {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return;
        }
        withvalues = c->argc == 4;
        /* Redis 7.0 refuses a WITHVALUES count whose doubled length overflows; a count
         * with repeats beyond KV_RAND_REPEAT_MAX would make a reply of many gigabytes (Redis
         * runs out of memory building it), so it gets the same error here. */
        uint64_t mag = count < 0 ? 0 - (uint64_t)count : (uint64_t)count;
        if ((withvalues && mag > (uint64_t)INT64_MAX / 2) || (count < 0 && mag > KV_RAND_REPEAT_MAX)) {
            kv_reply_error(c, "ERR value is out of range");
            return;
        }
    }
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    if (c->argc == 2) {
        if (!e) {
            kv_reply_null(c);
            return;
        }
        random_pair(e->v.ptr, &f, &v, fb, vb);
        kv_reply_bulk(c, f);
        return;
    }
    if (!e || count == 0) {
        kv_reply_array(c, 0);
        return;
    }
    void *p = e->v.ptr;
    size_t len = hash_len(p);
    size_t n = count < 0 ? (size_t)(0 - (uint64_t)count) : (size_t)count;
    bool dups = count < 0;
    if (!dups && n >= len)
        n = len;
    kv_reply_array(c, withvalues && c->resp == 2 ? 2 * n : n);
    if (dups) {
        for (size_t i = 0; i < n; i++) {
            random_pair(p, &f, &v, fb, vb);
            reply_pick(c, f, v, withvalues);
        }
    } else if (n == len) {
        struct hash_iter it;
        hash_iter_init(&it, p);
        while (hash_next(&it, &f, &v))
            reply_pick(c, f, v, withvalues);
    } else {
        reply_distinct(c, p, n, withvalues);
    }
}

/* ---- HSCAN ------------------------------------------------------------------------------ */

struct scan_acc {
    const struct kv_hent **v;
    size_t n, cap;
};

static void scan_one(void *arg, struct kv_hent *e)
{
    struct scan_acc *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = kv_realloc(a->v, a->cap * sizeof(const struct kv_hent *));
    }
    a->v[a->n++] = e;
}

void kv_cmd_hscan(struct kv_client *c)
{
    uint64_t cursor;
    struct kv_scan_opts o;
    bool wrong;
    if (!kv_parse_scan_cursor(c, c->argv[2], &cursor))
        return;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_scan_head(c, 0);
        kv_reply_array(c, 0);
        return;
    }
    if (!kv_parse_scan_opts(c, 3, &o))
        return;
    struct kv_bytes f, v;
    size_t n = 0;
    if (is_lp(e->v.ptr)) { /* a small encoding answers in one call, as in Redis */
        struct hash_iter it;
        kv_reply_scan_head(c, 0);
        void *h = kv_reply_deferred(c);
        hash_iter_init(&it, e->v.ptr);
        while (hash_next(&it, &f, &v)) {
            if (!o.match || kv_glob(o.pattern, f, false)) {
                kv_reply_bulk(c, f);
                kv_reply_bulk(c, v);
                n += 2;
            }
        }
        kv_reply_set_deferred(c, h, n, '*');
        return;
    }
    const struct hht *hh = e->v.ptr;
    struct scan_acc a = { NULL, 0, 0 };
    int64_t maxiter = o.count * 10;
    do {
        cursor = kv_htab_scan(&hh->ht, cursor, scan_one, &a);
    } while (cursor && maxiter-- > 0 && a.n < (size_t)o.count);
    kv_reply_scan_head(c, cursor);
    void *h = kv_reply_deferred(c);
    for (size_t i = 0; i < a.n; i++) {
        f = kv_b(hfield_key(a.v[i]), a.v[i]->len);
        if (!o.match || kv_glob(o.pattern, f, false)) {
            kv_reply_bulk(c, f);
            kv_reply_bulk(c, hfield_val((const struct hfield *)a.v[i]));
            n += 2;
        }
    }
    kv_reply_set_deferred(c, h, n, '*');
    kv_free(a.v);
}
