/*
 * t_hash.c - the hash type and its commands (HSET ... HSCAN), as redis-server 7.0 has them.
 *
 * Encodings, as Redis 7.0 (OBJECT ENCODING answers the same):
 *   listpack   field, value, field, value ... in one listpack (listpack.h) while the hash
 *              has at most hash-max-listpack-entries fields and no field or value longer
 *              than hash-max-listpack-value bytes was ever written to it;
 *   hashtable  otherwise (struct kv_hhash: a kv_htab of struct hfield, skiplist.h).
 * A hash never converts back, as in Redis (even when CONFIG SET raises the limits).
 *
 * The value pointer alone tells the encoding (kv_hash_ops get no entry): a listpack
 * starts with its total size (never 0), a kv_hhash with a zero tag.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/cmds.h"
#include "kv/listpack.h"
#include "kv/skiplist.h"
#include "kv/t_set.h"

/* A field of a hashtable hash: one allocation holding the field bytes, a NUL, the value
 * bytes and a NUL (h.len is the field length). */
struct hfield {
    struct kv_hent h;
    size_t vlen;
    char p[];
};

struct kv_hhash {
    uint32_t tag; /* always 0: see the file comment */
    size_t bytes; /* allocation sizes of the fields, kept so MEMORY USAGE is O(1) */
    struct kv_htab ht;
};

/* Redis's lpSafeToAdd: a listpack stays below 1 GB, bigger hashes become tables. */
#define LP_SAFETY_SIZE (1u << 30)
/* Redis's MAX_LONG_DOUBLE_CHARS: room for "%.17Lf" of any finite long double. */
#define LD_MAX_CHARS (5 * 1024)
/* Fields per HSET in the AOF rewrite / snapshot (Redis's AOF_REWRITE_ITEMS_PER_CMD). */
#define EMIT_PAIRS 64

/* ---- the hashtable encoding ---------------------------------------------------------- */

static bool is_lp(const void *p)
{
    return *(const uint32_t *)p != 0;
}

static const char *hfield_key(const struct kv_hent *e)
{
    return ((const struct hfield *)e)->p;
}

static struct kv_bytes hfield_val(const struct hfield *f)
{
    return kv_b(f->p + f->h.len + 1, f->vlen);
}

static size_t hfield_size(size_t flen, size_t vlen)
{
    return sizeof(struct hfield) + flen + 1 + vlen + 1;
}

static void hfield_put_val(struct hfield *f, struct kv_bytes v)
{
    char *d = f->p + f->h.len + 1;
    if (v.n)
        memcpy(d, v.p, v.n);
    d[v.n] = '\0';
    f->vlen = v.n;
}

static struct kv_hhash *hh_new(void)
{
    struct kv_hhash *h = kv_malloc(sizeof(*h));
    h->tag = 0;
    h->bytes = 0;
    kv_htab_init(&h->ht, hfield_key);
    return h;
}

static struct hfield *hh_find(const struct kv_hhash *h, struct kv_bytes f)
{
    return (struct hfield *)kv_htab_find(&h->ht, f, kv_htab_hash(f));
}

/* Add a field known to be absent. */
static void hh_insert(struct kv_hhash *h, struct kv_bytes f, struct kv_bytes v, uint32_t hash)
{
    struct hfield *e = kv_malloc(hfield_size(f.n, v.n));
    e->h.hash = hash;
    e->h.len = (uint32_t)f.n;
    if (f.n)
        memcpy(e->p, f.p, f.n);
    e->p[f.n] = '\0';
    hfield_put_val(e, v);
    h->bytes += kv_alloc_size(e);
    kv_htab_insert(&h->ht, &e->h);
}

/* Set f to v; true when the field is new. */
static bool hh_set(struct kv_hhash *h, struct kv_bytes f, struct kv_bytes v)
{
    uint32_t hash = kv_htab_hash(f);
    struct hfield *e = (struct hfield *)kv_htab_find(&h->ht, f, hash);
    if (!e) {
        hh_insert(h, f, v, hash);
        return true;
    }
    size_t need = hfield_size(e->h.len, v.n);
    if (need > kv_alloc_size(e)) { /* does not fit: move it (the table links it anew) */
        kv_htab_remove(&h->ht, f, hash);
        h->bytes -= kv_alloc_size(e);
        e = kv_realloc(e, need);
        h->bytes += kv_alloc_size(e);
        kv_htab_insert(&h->ht, &e->h);
    }
    hfield_put_val(e, v);
    return false;
}

static bool hh_del(struct kv_hhash *h, struct kv_bytes f)
{
    struct kv_hent *e = kv_htab_remove(&h->ht, f, kv_htab_hash(f));
    if (!e)
        return false;
    h->bytes -= kv_alloc_size(e);
    kv_free(e);
    return true;
}

static void free_field(struct kv_hent *e)
{
    kv_free(e);
}

static void hh_free(struct kv_hhash *h)
{
    kv_htab_release(&h->ht, free_field);
    kv_free(h);
}

/* ---- the listpack encoding ------------------------------------------------------------ */

/* The position of field f (its value follows), or NULL. */
static unsigned char *lp_find_field(unsigned char *lp, struct kv_bytes f)
{
    return kv_lp_find(lp, kv_lp_first(lp), f, 1);
}

/* ---- either encoding ------------------------------------------------------------------- */

static size_t hash_len(const void *p)
{
    return is_lp(p) ? kv_lp_len(p) / 2 : ((const struct kv_hhash *)p)->ht.len;
}

/* The value of field f; buf (24 bytes) holds the text of a listpack integer. */
static bool hash_get(const void *p, struct kv_bytes f, struct kv_bytes *v, char *buf)
{
    if (is_lp(p)) {
        unsigned char *lp = (unsigned char *)p;
        unsigned char *fp = lp_find_field(lp, f);
        if (!fp)
            return false;
        *v = kv_lp_get(kv_lp_next(lp, fp), buf);
        return true;
    }
    const struct hfield *e = hh_find(p, f);
    if (!e)
        return false;
    *v = hfield_val(e);
    return true;
}

/* Iteration over (field, value) pairs in encoding order; the bytes stay valid until the
 * next call (listpack integers are written into the iterator). */
struct hiter {
    const void *p;
    unsigned char *pos;
    struct kv_htab_iter hi;
    char fbuf[24], vbuf[24];
};

static void hiter_init(struct hiter *it, const void *p)
{
    it->p = p;
    it->pos = is_lp(p) ? kv_lp_first((unsigned char *)p) : NULL;
    it->hi = KV_HTAB_ITER_INIT;
}

static bool hiter_next(struct hiter *it, struct kv_bytes *f, struct kv_bytes *v)
{
    if (is_lp(it->p)) {
        unsigned char *lp = (unsigned char *)it->p;
        if (!it->pos)
            return false;
        unsigned char *vp = kv_lp_next(lp, it->pos);
        *f = kv_lp_get(it->pos, it->fbuf);
        *v = kv_lp_get(vp, it->vbuf);
        it->pos = kv_lp_next(lp, vp);
        return true;
    }
    const struct kv_hhash *h = it->p;
    const struct hfield *e = (const struct hfield *)kv_htab_next(&h->ht, &it->hi);
    if (!e)
        return false;
    *f = kv_hent_key(&h->ht, &e->h);
    *v = hfield_val(e);
    return true;
}

static struct kv_hhash *lp_to_hh(const unsigned char *lp)
{
    struct kv_hhash *h = hh_new();
    struct hiter it;
    struct kv_bytes f, v;
    hiter_init(&it, lp);
    while (hiter_next(&it, &f, &v))
        hh_insert(h, f, v, kv_htab_hash(f));
    return h;
}

static void hash_convert(struct kv_entry *e)
{
    if (e->enc != KV_ENC_LISTPACK)
        return;
    struct kv_hhash *h = lp_to_hh(e->v.ptr);
    kv_lp_free(e->v.ptr);
    e->v.ptr = h;
    e->enc = KV_ENC_HASHTABLE;
}

/* Redis's hashTypeTryConversion: before writing argv[start..end], a listpack hash becomes
 * a table when one of them is too long for it. */
static void hash_try_conversion(struct kv_entry *e, const struct kv_bytes *argv, int start, int end)
{
    if (e->enc != KV_ENC_LISTPACK)
        return;
    size_t sum = 0;
    for (int i = start; i <= end; i++) {
        if ((int64_t)argv[i].n > kv_cfg.hash_max_listpack_value) {
            hash_convert(e);
            return;
        }
        sum += argv[i].n;
    }
    if (kv_lp_bytes(e->v.ptr) + sum > LP_SAFETY_SIZE)
        hash_convert(e);
}

/* Set field f to v in e's hash; true when the field is new. Converts a listpack that
 * would hold a too long string or grows past hash-max-listpack-entries. */
static bool hash_set(struct kv_entry *e, struct kv_bytes f, struct kv_bytes v)
{
    if (e->enc == KV_ENC_LISTPACK &&
        ((int64_t)f.n > kv_cfg.hash_max_listpack_value || (int64_t)v.n > kv_cfg.hash_max_listpack_value))
        hash_convert(e); /* HINCRBY* skip hash_try_conversion */
    if (e->enc != KV_ENC_LISTPACK)
        return hh_set(e->v.ptr, f, v);
    unsigned char *lp = e->v.ptr;
    unsigned char *fp = lp_find_field(lp, f);
    if (fp) {
        unsigned char *vp = kv_lp_next(lp, fp);
        e->v.ptr = kv_lp_replace(lp, &vp, v);
        return false;
    }
    lp = kv_lp_append(lp, f);
    e->v.ptr = kv_lp_append(lp, v);
    if ((int64_t)hash_len(e->v.ptr) > kv_cfg.hash_max_listpack_entries)
        hash_convert(e);
    return true;
}

static bool hash_del(struct kv_entry *e, struct kv_bytes f)
{
    if (e->enc != KV_ENC_LISTPACK)
        return hh_del(e->v.ptr, f);
    unsigned char *lp = e->v.ptr;
    unsigned char *p = lp_find_field(lp, f);
    if (!p)
        return false;
    lp = kv_lp_delete(lp, &p); /* the field; p is now its value */
    e->v.ptr = kv_lp_delete(lp, &p);
    return true;
}

/* A handle on one (field, value) pair: a listpack position or a struct hfield. */
static void pair_at(const void *p, const void *handle, struct kv_bytes *f, struct kv_bytes *v, char *fbuf, char *vbuf)
{
    if (is_lp(p)) {
        unsigned char *fp = (unsigned char *)handle;
        *f = kv_lp_get(fp, fbuf);
        *v = kv_lp_get(kv_lp_next((unsigned char *)p, fp), vbuf);
        return;
    }
    const struct hfield *e = handle;
    *f = kv_b(e->p, e->h.len);
    *v = hfield_val(e);
}

/* A random pair's handle (the hash is not empty). */
static const void *random_pair(const void *p)
{
    if (is_lp(p)) {
        int64_t i = (int64_t)(kv_zsl_rand() % hash_len(p));
        return kv_lp_seek((unsigned char *)p, 2 * i);
    }
    const struct kv_hhash *h = p;
    return kv_htab_random(&h->ht);
}

/* Every pair's handle, in encoding order (kv_free the array). */
static const void **all_pairs(const void *p, size_t *n)
{
    size_t len = hash_len(p), k = 0;
    const void **v = kv_malloc((len ? len : 1) * sizeof(*v));
    if (is_lp(p)) {
        unsigned char *lp = (unsigned char *)p;
        for (unsigned char *fp = kv_lp_first(lp); fp; fp = kv_lp_next(lp, kv_lp_next(lp, fp)))
            v[k++] = fp;
    } else {
        const struct kv_hhash *h = p;
        struct kv_htab_iter it = KV_HTAB_ITER_INIT;
        for (struct kv_hent *e; (e = kv_htab_next(&h->ht, &it));)
            v[k++] = e;
    }
    *n = k;
    return v;
}

/* ---- kv_hash_ops ----------------------------------------------------------------------- */

static void ops_free(void *p)
{
    if (is_lp(p))
        kv_lp_free(p);
    else
        hh_free(p);
}

static void *ops_dup(const void *p)
{
    if (is_lp(p))
        return kv_lp_dup(p);
    const struct kv_hhash *h = p;
    struct kv_hhash *c = hh_new();
    struct kv_htab_iter it = KV_HTAB_ITER_INIT;
    for (struct kv_hent *e; (e = kv_htab_next(&h->ht, &it));) {
        const struct hfield *f = (const struct hfield *)e;
        hh_insert(c, kv_b(f->p, f->h.len), hfield_val(f), f->h.hash);
    }
    return c;
}

static size_t ops_mem(const void *p)
{
    if (is_lp(p))
        return kv_alloc_size(p);
    const struct kv_hhash *h = p;
    return kv_alloc_size(h) + kv_htab_mem(&h->ht) + h->bytes;
}

static size_t ops_len(const void *p)
{
    return hash_len(p);
}

/* HSET key f1 v1 .. f64 v64, repeated. Listpack integers are texts in the iterator's
 * buffers, which the next pair reuses: they are copied into bufs. */
static int ops_emit(const void *p, struct kv_bytes key, struct kv_emitter *em)
{
    struct kv_bytes argv[2 + 2 * EMIT_PAIRS];
    char bufs[2 * EMIT_PAIRS][24];
    struct hiter it;
    int n = 0, rc;
    argv[0] = kv_b("HSET", 4);
    argv[1] = key;
    hiter_init(&it, p);
    for (;;) {
        bool more = hiter_next(&it, &argv[2 + n], &argv[3 + n]);
        for (int i = n; more && i < n + 2; i++) {
            if (argv[2 + i].p == it.fbuf || argv[2 + i].p == it.vbuf) {
                memcpy(bufs[i], argv[2 + i].p, argv[2 + i].n);
                argv[2 + i].p = bufs[i];
            }
        }
        n += more ? 2 : 0;
        if ((n == 2 * EMIT_PAIRS || (!more && n > 0)) && (rc = kv_emit(em, 2 + n, argv)) != 0)
            return rc;
        if (n == 2 * EMIT_PAIRS)
            n = 0;
        if (!more)
            return 0;
    }
}

const struct kv_type_ops kv_hash_ops = {
    .free = ops_free,
    .dup = ops_dup,
    .mem = ops_mem,
    .len = ops_len,
    .emit = ops_emit,
};

/* ---- command helpers ------------------------------------------------------------------- */

static struct kv_entry *hash_read(struct kv_client *c, bool *wrong)
{
    return kv_lookup_type(c, c->argv[1], KV_HASH, false, wrong);
}

/* The hash at argv[1] for writing, created empty (listpack) when absent, as Redis's
 * hashTypeLookupWriteOrCreate. NULL after a WRONGTYPE reply. */
static struct kv_entry *hash_write_or_create(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_HASH, true, &wrong);
    if (e || wrong)
        return e;
    return kv_db_add(c->db, c->argv[1], KV_HASH, KV_ENC_LISTPACK, kv_lp_new());
}

/* After a command that may have removed the last field: empty hashes do not exist. */
static void delete_if_empty(struct kv_client *c, struct kv_entry *e)
{
    if (hash_len(e->v.ptr) == 0)
        kv_db_delete_entry(c->db, e);
}

/* ---- HSET HMSET HSETNX HGET HMGET HDEL HEXISTS HLEN HSTRLEN --------------------------- */

static void hset_generic(struct kv_client *c, bool hmset)
{
    if (c->argc % 2 == 1) {
        kv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", hmset ? "hmset" : "hset");
        return;
    }
    struct kv_entry *e = hash_write_or_create(c);
    if (!e)
        return;
    hash_try_conversion(e, c->argv, 2, c->argc - 1);
    int64_t created = 0;
    for (int i = 2; i < c->argc; i += 2)
        created += hash_set(e, c->argv[i], c->argv[i + 1]);
    if (hmset)
        kv_reply_ok(c);
    else
        kv_reply_int(c, created);
    kv_signal_modified(c, c->db, c->argv[1]);
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
    struct kv_entry *e = hash_write_or_create(c);
    char buf[24];
    struct kv_bytes v;
    if (!e)
        return;
    if (hash_get(e->v.ptr, c->argv[2], &v, buf)) {
        kv_reply_int(c, 0);
        return;
    }
    hash_try_conversion(e, c->argv, 2, 3);
    hash_set(e, c->argv[2], c->argv[3]);
    kv_reply_int(c, 1);
    kv_signal_modified(c, c->db, c->argv[1]);
}

void kv_cmd_hget(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    char buf[24];
    struct kv_bytes v;
    if (wrong)
        return;
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
        char buf[24];
        struct kv_bytes v;
        if (e && hash_get(e->v.ptr, c->argv[i], &v, buf))
            kv_reply_bulk(c, v);
        else
            kv_reply_null(c);
    }
}

void kv_cmd_hdel(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_HASH, true, &wrong);
    if (!e) {
        if (!wrong)
            kv_reply_int(c, 0);
        return;
    }
    int64_t deleted = 0;
    for (int i = 2; i < c->argc && hash_len(e->v.ptr) > 0; i++)
        deleted += hash_del(e, c->argv[i]);
    delete_if_empty(c, e);
    if (deleted)
        kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, deleted);
}

void kv_cmd_hexists(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    char buf[24];
    struct kv_bytes v;
    if (!wrong)
        kv_reply_int(c, e && hash_get(e->v.ptr, c->argv[2], &v, buf));
}

void kv_cmd_hlen(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (!wrong)
        kv_reply_int(c, e ? (int64_t)hash_len(e->v.ptr) : 0);
}

void kv_cmd_hstrlen(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    char buf[24];
    struct kv_bytes v;
    if (!wrong)
        kv_reply_int(c, e && hash_get(e->v.ptr, c->argv[2], &v, buf) ? (int64_t)v.n : 0);
}

/* ---- HKEYS HVALS HGETALL -------------------------------------------------------------- */

static void getall(struct kv_client *c, bool keys, bool vals)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    size_t n = e ? hash_len(e->v.ptr) : 0;
    if (keys && vals)
        kv_reply_map(c, n);
    else
        kv_reply_array(c, n);
    if (!e)
        return;
    struct hiter it;
    struct kv_bytes f, v;
    hiter_init(&it, e->v.ptr);
    while (hiter_next(&it, &f, &v)) {
        if (keys)
            kv_reply_bulk(c, f);
        if (vals)
            kv_reply_bulk(c, v);
    }
}

void kv_cmd_hkeys(struct kv_client *c)
{
    getall(c, true, false);
}

void kv_cmd_hvals(struct kv_client *c)
{
    getall(c, false, true);
}

void kv_cmd_hgetall(struct kv_client *c)
{
    getall(c, true, true);
}

/* ---- HINCRBY HINCRBYFLOAT ------------------------------------------------------------- */

void kv_cmd_hincrby(struct kv_client *c)
{
    int64_t by, v = 0;
    if (!kv_parse_i64(c->argv[3], &by)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    struct kv_entry *e = hash_write_or_create(c);
    char buf[24];
    struct kv_bytes cur;
    if (!e)
        return;
    if (hash_get(e->v.ptr, c->argv[2], &cur, buf) && !kv_parse_i64(cur, &v)) {
        kv_reply_error(c, "ERR hash value is not an integer");
        return;
    }
    if ((by < 0 && v < 0 && by < INT64_MIN - v) || (by > 0 && v > 0 && by > INT64_MAX - v)) {
        kv_reply_error(c, KV_ERR_OVERFLOW);
        return;
    }
    v += by;
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    hash_set(e, c->argv[2], kv_b(buf, (size_t)n));
    kv_reply_int(c, v);
    kv_signal_modified(c, c->db, c->argv[1]);
}

/* Redis's string2ld: the whole text is one strtold number, no leading space, not NaN,
 * not out of long double range. */
static bool parse_ld(struct kv_bytes b, long double *out)
{
    char buf[LD_MAX_CHARS];
    char *end;
    if (b.n == 0 || b.n >= sizeof buf || memchr(b.p, '\0', b.n))
        return false;
    memcpy(buf, b.p, b.n);
    buf[b.n] = '\0';
    errno = 0;
    long double v = strtold(buf, &end);
    if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r') || *end != '\0' || isnan(v))
        return false;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return false;
    *out = v;
    return true;
}

/* Redis's ld2string(LD_STR_HUMAN): "%.17Lf" without trailing zeros, "-0" as "0". */
static size_t fmt_ld(long double v, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    size_t l = (size_t)n;
    if (memchr(buf, '.', l)) {
        while (buf[l - 1] == '0')
            l--;
        if (buf[l - 1] == '.')
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
    long double by, v = 0;
    if (!parse_ld(c->argv[3], &by)) {
        kv_reply_error(c, KV_ERR_NOTFLOAT);
        return;
    }
    if (isnan(by) || isinf(by)) {
        kv_reply_error(c, "ERR value is NaN or Infinity");
        return;
    }
    struct kv_entry *e = hash_write_or_create(c);
    char ibuf[24];
    struct kv_bytes cur;
    if (!e)
        return;
    if (hash_get(e->v.ptr, c->argv[2], &cur, ibuf) && !parse_ld(cur, &v)) {
        kv_reply_error(c, "ERR hash value is not a float");
        return;
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        kv_reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    static char buf[LD_MAX_CHARS]; /* too big for the stack of a hot command */
    size_t n = fmt_ld(v, buf, sizeof buf);
    if (n == 0) {
        kv_reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    struct kv_bytes val = kv_b(buf, n);
    hash_set(e, c->argv[2], val);
    kv_reply_bulk(c, val);
    kv_signal_modified(c, c->db, c->argv[1]);
    /* Float formatting must not differ on replay: the AOF gets the final value. */
    struct kv_bytes argv[4] = { kv_b("HSET", 4), c->argv[1], c->argv[2], val };
    kv_propagate(c, 4, argv);
}

/* ---- HRANDFIELD ------------------------------------------------------------------------ */

/* One pair of a HRANDFIELD reply: RESP3 WITHVALUES nests [field, value]. */
static void reply_rand_pair(struct kv_client *c, const void *p, const void *handle, bool withvalues)
{
    char fbuf[24], vbuf[24];
    struct kv_bytes f, v;
    pair_at(p, handle, &f, &v, fbuf, vbuf);
    if (withvalues && c->resp >= 3)
        kv_reply_array(c, 2);
    kv_reply_bulk(c, f);
    if (withvalues)
        kv_reply_bulk(c, v);
}

static void reply_rand_len(struct kv_client *c, size_t n, bool withvalues)
{
    kv_reply_array(c, withvalues && c->resp < 3 ? 2 * n : n);
}

/* count distinct pairs out of a bigger hash. Few from many: random draws, duplicates
 * skipped (expected draws < 1.5 * count since count <= len / 3); otherwise a partial
 * Fisher-Yates shuffle of every pair. */
static void hrandfield_distinct(struct kv_client *c, const void *p, size_t count, bool withvalues)
{
    reply_rand_len(c, count, withvalues);
    if (!is_lp(p) && count <= hash_len(p) / 3) {
        struct kv_htab seen = { 0 };
        while (count > 0) {
            const struct hfield *e = random_pair(p);
            if (kv_pickset_add(&seen, kv_b(e->p, e->h.len))) {
                reply_rand_pair(c, p, e, withvalues);
                count--;
            }
        }
        kv_pickset_release(&seen);
        return;
    }
    size_t n;
    const void **v = all_pairs(p, &n);
    for (size_t i = 0; i < count; i++) {
        size_t j = i + (size_t)(kv_zsl_rand() % (n - i));
        const void *t = v[i];
        v[i] = v[j];
        v[j] = t;
        reply_rand_pair(c, p, v[i], withvalues);
    }
    kv_free(v);
}

/* A reply bigger than this many elements could never be buffered: refuse it rather than
 * exhaust memory (redis-server would try, and die or be killed). */
#define RAND_REPLY_MAX ((int64_t)1 << 32)

static void hrandfield_count(struct kv_client *c, int64_t count, bool withvalues)
{
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    if (!e || count == 0) {
        kv_reply_array(c, 0);
        return;
    }
    const void *p = e->v.ptr;
    size_t len = hash_len(p);
    if (count < 0 || count == 1) { /* repeats allowed: independent draws */
        if (count < -RAND_REPLY_MAX) {
            kv_reply_error(c, "ERR value is out of range");
            return;
        }
        size_t n = (size_t)(count < 0 ? -count : count);
        reply_rand_len(c, n, withvalues);
        while (n-- > 0)
            reply_rand_pair(c, p, random_pair(p), withvalues);
        return;
    }
    if ((size_t)count >= len) { /* the whole hash */
        size_t n;
        const void **v = all_pairs(p, &n);
        reply_rand_len(c, n, withvalues);
        for (size_t i = 0; i < n; i++)
            reply_rand_pair(c, p, v[i], withvalues);
        kv_free(v);
        return;
    }
    hrandfield_distinct(c, p, (size_t)count, withvalues);
}

void kv_cmd_hrandfield(struct kv_client *c)
{
    if (c->argc >= 3) {
        int64_t count;
        bool withvalues = c->argc == 4;
        if (!kv_parse_i64(c->argv[2], &count)) {
            kv_reply_error(c, KV_ERR_NOTINT);
            return;
        }
        if (count == INT64_MIN) {
            kv_reply_error(c, KV_ERR_RANDCOUNT);
            return;
        }
        if (c->argc > 4 || (withvalues && !kv_eq(c->argv[3], "WITHVALUES"))) {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return;
        }
        if (withvalues && (count < -INT64_MAX / 2 || count > INT64_MAX / 2)) {
            kv_reply_error(c, "ERR value is out of range");
            return;
        }
        hrandfield_count(c, count, withvalues);
        return;
    }
    bool wrong;
    struct kv_entry *e = hash_read(c, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_null(c);
        return;
    }
    char fbuf[24], vbuf[24];
    struct kv_bytes f, v;
    pair_at(e->v.ptr, random_pair(e->v.ptr), &f, &v, fbuf, vbuf);
    kv_reply_bulk(c, f);
}

/* ---- HSCAN ----------------------------------------------------------------------------- */

struct scan_acc {
    const struct hfield **v;
    size_t n, cap;
};

static void scan_one(void *arg, struct kv_hent *e)
{
    struct scan_acc *a = arg;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->v = kv_realloc(a->v, a->cap * sizeof(*a->v));
    }
    a->v[a->n++] = (const struct hfield *)e;
}

static void reply_cursor(struct kv_client *c, uint64_t cursor)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%llu", (unsigned long long)cursor);
    kv_reply_array(c, 2);
    kv_reply_bulk(c, kv_b(buf, (size_t)n));
}

/* A listpack hash answers in one call with cursor 0, as in Redis. */
static void hscan_listpack(struct kv_client *c, const void *p, const struct kv_scan_opts *o)
{
    struct hiter it;
    struct kv_bytes f, v;
    size_t n = 0;
    reply_cursor(c, 0);
    void *h = kv_reply_deferred(c);
    hiter_init(&it, p);
    while (hiter_next(&it, &f, &v)) {
        if (!o->match || kv_glob(o->pattern, f, false)) {
            kv_reply_bulk(c, f);
            kv_reply_bulk(c, v);
            n += 2;
        }
    }
    kv_reply_set_deferred(c, h, n, '*');
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
        reply_cursor(c, 0);
        kv_reply_array(c, 0);
        return;
    }
    if (!kv_parse_scan_opts(c, 3, &o))
        return;
    if (is_lp(e->v.ptr)) {
        hscan_listpack(c, e->v.ptr, &o);
        return;
    }
    const struct kv_hhash *hh = e->v.ptr;
    struct scan_acc a = { NULL, 0, 0 };
    int64_t maxiter = o.count * 10;
    /* Redis counts a field and its value as two of COUNT's elements. */
    do {
        cursor = kv_htab_scan(&hh->ht, cursor, scan_one, &a);
    } while (cursor && maxiter-- > 0 && 2 * a.n < (size_t)o.count);
    reply_cursor(c, cursor);
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    for (size_t i = 0; i < a.n; i++) {
        struct kv_bytes f = kv_b(a.v[i]->p, a.v[i]->h.len);
        if (!o.match || kv_glob(o.pattern, f, false)) {
            kv_reply_bulk(c, f);
            kv_reply_bulk(c, hfield_val(a.v[i]));
            n += 2;
        }
    }
    kv_reply_set_deferred(c, h, n, '*');
    kv_free(a.v);
}
