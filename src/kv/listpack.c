/*
 * listpack.c - the compact element sequence of listpack.h (format described there).
 *
 * Every change goes through splice(): replace `oldlen` bytes at an offset with one
 * encoded element (or nothing), moving the tail once and reallocating once, so an insert,
 * a delete and a replace each cost one memmove of the bytes after the position.
 */
#include <string.h>

#include "kv/listpack.h"

/* ---- header --------------------------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

unsigned char *kv_lp_new(void)
{
    unsigned char *lp = kv_malloc(KV_LP_HDR + 1);
    put_u32(lp, KV_LP_HDR + 1);
    put_u32(lp + 4, 0);
    lp[KV_LP_HDR] = KV_LP_END;
    return lp;
}

void kv_lp_free(unsigned char *lp)
{
    kv_free(lp);
}

unsigned char *kv_lp_dup(const unsigned char *lp)
{
    uint32_t n = kv_lp_bytes(lp);
    unsigned char *d = kv_malloc(n);
    memcpy(d, lp, n);
    return d;
}

/* ---- element encoding ----------------------------------------------------------------- */

bool kv_lp_str_is_int(struct kv_bytes s, int64_t *v)
{
    if (s.n == 0 || s.n > 20)
        return false;
    size_t i = 0;
    bool neg = s.p[0] == '-';
    if (neg && ++i == s.n)
        return false;
    /* canonical only: no leading zero (except "0" itself), no "-0" */
    if (s.p[i] == '0' && (s.n > i + 1 || neg))
        return false;
    uint64_t u = 0;
    for (; i < s.n; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');
        if (d > 9 || u > (UINT64_MAX - d) / 10)
            return false;
        u = u * 10 + d;
    }
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1)
            return false;
        *v = (int64_t)(0 - u);
    } else {
        if (u > (uint64_t)INT64_MAX)
            return false;
        *v = (int64_t)u;
    }
    return true;
}

/* An element ready to be written: header bytes, then data bytes, then the backlen. */
struct enc {
    unsigned char hdr[9];
    size_t hdrlen;
    const char *data;
    size_t datalen;
    size_t total; /* hdr + data + backlen */
};

static size_t backlen_size(size_t l)
{
    size_t k = 1;
    while (l >= 128) {
        l >>= 7;
        k++;
    }
    return k;
}

static void encode(struct kv_bytes s, struct enc *e)
{
    int64_t v;
    e->data = NULL;
    e->datalen = 0;
    if (kv_lp_str_is_int(s, &v)) {
        if (v >= 0 && v <= 127) {
            e->hdr[0] = (unsigned char)v;
            e->hdrlen = 1;
        } else {
            int w = (v >= INT16_MIN && v <= INT16_MAX) ? 2 : (v >= INT32_MIN && v <= INT32_MAX) ? 4 : 8;
            e->hdr[0] = w == 2 ? 0xC0 : w == 4 ? 0xC1 : 0xC2;
            put_le(e->hdr + 1, (uint64_t)v, w);
            e->hdrlen = 1 + (size_t)w;
        }
    } else {
        if (s.n <= 63) {
            e->hdr[0] = (unsigned char)(0x80 | s.n);
            e->hdrlen = 1;
        } else if (s.n <= 0xFFFF) {
            e->hdr[0] = 0xC3;
            put_le(e->hdr + 1, s.n, 2);
            e->hdrlen = 3;
        } else {
            e->hdr[0] = 0xC4;
            put_le(e->hdr + 1, s.n, 4);
            e->hdrlen = 5;
        }
        e->data = s.p;
        e->datalen = s.n;
    }
    size_t l = e->hdrlen + e->datalen;
    e->total = l + backlen_size(l);
}

static void write_enc(unsigned char *dst, const struct enc *e)
{
    memcpy(dst, e->hdr, e->hdrlen);
    if (e->datalen)
        memcpy(dst + e->hdrlen, e->data, e->datalen);
    size_t l = e->hdrlen + e->datalen;
    size_t k = backlen_size(l);
    unsigned char *b = dst + l;
    /* b[k-1] holds the low 7 bits; a set high bit says more bits are to the left */
    for (size_t i = k; i-- > 0;) {
        b[i] = (unsigned char)((l & 127) | (i > 0 ? 128 : 0));
        l >>= 7;
    }
}

size_t kv_lp_entry_size(struct kv_bytes s)
{
    struct enc e;
    encode(s, &e);
    return e.total;
}

/* Tag + payload bytes of the element at p. */
static size_t elem_len(const unsigned char *p)
{
    unsigned t = p[0];
    if (t < 0x80)
        return 1;
    if (t < 0xC0)
        return 1 + (t & 63);
    switch (t) {
    case 0xC0: return 3;
    case 0xC1: return 5;
    case 0xC2: return 9;
    case 0xC3: return 3 + get_le(p + 1, 2);
    default: return 5 + get_le(p + 1, 4); /* 0xC4 */
    }
}

static size_t elem_total(const unsigned char *p)
{
    size_t l = elem_len(p);
    return l + backlen_size(l);
}

/* ---- walks ---------------------------------------------------------------------------- */

unsigned char *kv_lp_first(unsigned char *lp)
{
    return lp[KV_LP_HDR] == KV_LP_END ? NULL : lp + KV_LP_HDR;
}

unsigned char *kv_lp_next(unsigned char *lp, unsigned char *p)
{
    (void)lp;
    p += elem_total(p);
    return *p == KV_LP_END ? NULL : p;
}

/* The element that ends right before q (q > first element). */
static unsigned char *before(unsigned char *q)
{
    size_t l = 0, shift = 0, k = 0;
    for (;;) {
        unsigned b = q[-1 - (ptrdiff_t)k];
        l |= (size_t)(b & 127) << shift;
        shift += 7;
        k++;
        if (!(b & 128))
            break;
    }
    return q - k - l;
}

unsigned char *kv_lp_prev(unsigned char *lp, unsigned char *p)
{
    return p == lp + KV_LP_HDR ? NULL : before(p);
}

unsigned char *kv_lp_last(unsigned char *lp)
{
    return kv_lp_len(lp) == 0 ? NULL : before(lp + kv_lp_bytes(lp) - 1);
}

unsigned char *kv_lp_seek(unsigned char *lp, int64_t index)
{
    int64_t n = kv_lp_len(lp);
    if (index < 0)
        index += n;
    if (index < 0 || index >= n)
        return NULL;
    unsigned char *p;
    if (index <= n / 2) {
        p = kv_lp_first(lp);
        while (index-- > 0)
            p = kv_lp_next(lp, p);
    } else {
        p = kv_lp_last(lp);
        for (int64_t i = n - 1; i > index; i--)
            p = kv_lp_prev(lp, p);
    }
    return p;
}

/* ---- reading -------------------------------------------------------------------------- */

bool kv_lp_get_int(const unsigned char *p, int64_t *v)
{
    switch (p[0]) {
    case 0xC0: *v = (int16_t)get_le(p + 1, 2); return true;
    case 0xC1: *v = (int32_t)get_le(p + 1, 4); return true;
    case 0xC2: *v = (int64_t)get_le(p + 1, 8); return true;
    default:
        if (p[0] < 0x80) {
            *v = p[0];
            return true;
        }
        return false;
    }
}

/* String payload of a non-integer element. */
static struct kv_bytes str_of(const unsigned char *p)
{
    unsigned t = p[0];
    if (t < 0xC0)
        return kv_b((const char *)p + 1, t & 63);
    if (t == 0xC3)
        return kv_b((const char *)p + 3, get_le(p + 1, 2));
    return kv_b((const char *)p + 5, get_le(p + 1, 4));
}

static size_t i64_text(int64_t v, char *buf)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

struct kv_bytes kv_lp_get(const unsigned char *p, char buf[24])
{
    int64_t v;
    if (kv_lp_get_int(p, &v))
        return kv_b(buf, i64_text(v, buf));
    return str_of(p);
}

/* Compare with s, knowing whether s is canonical integer text (sv its value). */
static bool eq_prepared(const unsigned char *p, struct kv_bytes s, bool sint, int64_t sv)
{
    int64_t v;
    if (kv_lp_get_int(p, &v))
        return sint && v == sv;
    if (sint)
        return false; /* integer text is always stored as an integer */
    struct kv_bytes e = str_of(p);
    return e.n == s.n && (s.n == 0 || memcmp(e.p, s.p, s.n) == 0);
}

bool kv_lp_eq(const unsigned char *p, struct kv_bytes s)
{
    int64_t sv = 0;
    bool sint = kv_lp_str_is_int(s, &sv);
    return eq_prepared(p, s, sint, sv);
}

unsigned char *kv_lp_find(unsigned char *lp, unsigned char *p, struct kv_bytes s, unsigned skip)
{
    int64_t sv = 0;
    bool sint = kv_lp_str_is_int(s, &sv);
    while (p) {
        if (eq_prepared(p, s, sint, sv))
            return p;
        for (unsigned i = 0; i <= skip && p; i++)
            p = kv_lp_next(lp, p);
    }
    return NULL;
}

/* ---- changes -------------------------------------------------------------------------- */

/*
 * Replace oldlen bytes at offset off with element e (NULL: nothing); dcount is the change
 * in the element count. Returns the (maybe moved) block.
 */
static unsigned char *splice(unsigned char *lp, size_t off, size_t oldlen, const struct enc *e, int64_t dcount)
{
    size_t bytes = kv_lp_bytes(lp);
    size_t newlen = e ? e->total : 0;
    size_t nbytes = bytes - oldlen + newlen;
    size_t tail = bytes - off - oldlen;
    if (newlen > oldlen)
        lp = kv_realloc(lp, nbytes);
    memmove(lp + off + newlen, lp + off + oldlen, tail);
    if (newlen < oldlen)
        lp = kv_realloc(lp, nbytes);
    if (e)
        write_enc(lp + off, e);
    put_u32(lp, (uint32_t)nbytes);
    put_u32(lp + 4, (uint32_t)((int64_t)kv_lp_len(lp) + dcount));
    return lp;
}

unsigned char *kv_lp_append(unsigned char *lp, struct kv_bytes s)
{
    struct enc e;
    encode(s, &e);
    return splice(lp, kv_lp_bytes(lp) - 1, 0, &e, 1);
}

unsigned char *kv_lp_prepend(unsigned char *lp, struct kv_bytes s)
{
    struct enc e;
    encode(s, &e);
    return splice(lp, KV_LP_HDR, 0, &e, 1);
}

unsigned char *kv_lp_insert(unsigned char *lp, unsigned char *p, struct kv_bytes s, enum kv_lp_where where,
                            unsigned char **newp)
{
    size_t off;
    if (!p)
        off = kv_lp_bytes(lp) - 1;
    else
        off = (size_t)(p - lp) + (where == KV_LP_AFTER ? elem_total(p) : 0);
    struct enc e;
    encode(s, &e);
    lp = splice(lp, off, 0, &e, 1);
    if (newp)
        *newp = lp + off;
    return lp;
}

unsigned char *kv_lp_replace(unsigned char *lp, unsigned char **p, struct kv_bytes s)
{
    size_t off = (size_t)(*p - lp);
    struct enc e;
    encode(s, &e);
    lp = splice(lp, off, elem_total(*p), &e, 0);
    *p = lp + off;
    return lp;
}

unsigned char *kv_lp_delete(unsigned char *lp, unsigned char **p)
{
    size_t off = (size_t)(*p - lp);
    lp = splice(lp, off, elem_total(*p), NULL, -1);
    *p = lp[off] == KV_LP_END ? NULL : lp + off;
    return lp;
}

unsigned char *kv_lp_delete_range(unsigned char *lp, int64_t index, uint32_t count)
{
    unsigned char *p = kv_lp_seek(lp, index);
    if (!p || count == 0)
        return lp;
    unsigned char *q = p;
    uint32_t n = 0;
    while (n < count && *q != KV_LP_END) {
        q += elem_total(q);
        n++;
    }
    return splice(lp, (size_t)(p - lp), (size_t)(q - p), NULL, -(int64_t)n);
}

unsigned char *kv_lp_split(unsigned char **lp, unsigned char *p)
{
    unsigned char *a = *lp;
    size_t off = (size_t)(p - a), bytes = kv_lp_bytes(a);
    size_t tail = bytes - 1 - off; /* element bytes from p, without the end byte */
    uint32_t n = 0;
    for (unsigned char *q = p; *q != KV_LP_END; q += elem_total(q))
        n++;
    unsigned char *b = kv_malloc(KV_LP_HDR + tail + 1);
    memcpy(b + KV_LP_HDR, p, tail + 1);
    put_u32(b, (uint32_t)(KV_LP_HDR + tail + 1));
    put_u32(b + 4, n);
    *lp = splice(a, off, tail, NULL, -(int64_t)n);
    return b;
}
