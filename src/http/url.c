/*
 * url.c - percent-decoding and -encoding, query iteration, and path normalization for the
 * file system (url.h).
 *
 * Everything decodes through decode_byte(), so the HTTP layer has exactly one opinion on
 * what "%XX" means: a second, laxer decoder somewhere else is how "%2e%2e" checks get
 * bypassed.
 */
#include "http/url.h"

#include <stdint.h>
#include <string.h>

#include "base/err.h"

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte that in[*i..] decodes to, advancing *i past "%XX"; -1 for a malformed escape. */
static int decode_byte(struct st_str in, size_t *i, unsigned flags)
{
    unsigned char c = (unsigned char)in.ptr[*i];
    if (c == '+' && (flags & ST_HTTP_PCT_FORM))
        return ' ';
    if (c != '%')
        return c;
    if (in.len - *i < 3)
        return -1;
    int hi = hex_value((unsigned char)in.ptr[*i + 1]), lo = hex_value((unsigned char)in.ptr[*i + 2]);
    if (hi < 0 || lo < 0)
        return -1;
    *i += 2;
    return hi << 4 | lo;
}

int st_http_pct_decode(struct st_str in, char *out, size_t *out_len, unsigned flags)
{
    size_t o = 0;
    *out_len = 0;
    /* o <= i throughout, and in[i+1], in[i+2] are read before out[o] is written: in place
     * is safe. */
    for (size_t i = 0; i < in.len; i++) {
        int c = decode_byte(in, &i, flags);
        if (c < 0)
            return ST_EPARSE;
        if ((flags & ST_HTTP_PCT_SEGMENT) && (c == '\0' || c == '/'))
            return ST_EPARSE;
        out[o++] = (char)c;
    }
    *out_len = o;
    return 0;
}

/* RFC 3986 2.3 unreserved. */
static bool is_unreserved(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

static size_t encoded_len(struct st_str in, unsigned flags)
{
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        n += is_unreserved(c) || (c == ' ' && (flags & ST_HTTP_PCT_FORM)) ? 1 : 3;
    }
    return n;
}

int st_http_pct_encode(struct st_buf *out, struct st_str in, unsigned flags)
{
    static const char hex[] = "0123456789ABCDEF";
    if (in.len > SIZE_MAX / 3)
        return ST_ELIMIT;
    size_t n = encoded_len(in, flags);
    int rc = st_buf_reserve(out, n);
    if (rc || n == 0)
        return rc;
    char *p = out->data + out->len;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (is_unreserved(c)) {
            *p++ = (char)c;
        } else if (c == ' ' && (flags & ST_HTTP_PCT_FORM)) {
            *p++ = '+';
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    out->len += n;
    out->data[out->len] = '\0';
    return 0;
}

bool st_http_query_next(struct st_str *rest, struct st_str *key, struct st_str *value)
{
    while (rest->len) {
        size_t i = 0;
        while (i < rest->len && rest->ptr[i] != '&' && rest->ptr[i] != ';')
            i++;
        struct st_str pair = st_str(rest->ptr, i);
        *rest = i < rest->len ? st_str(rest->ptr + i + 1, rest->len - i - 1) : st_str(rest->ptr + i, 0);
        if (pair.len == 0)
            continue;
        ptrdiff_t eq = st_str_index(pair, '=');
        size_t klen = eq < 0 ? pair.len : (size_t)eq;
        *key = st_str(pair.ptr, klen);
        *value = eq < 0 ? st_str(pair.ptr + pair.len, 0) : st_str(pair.ptr + klen + 1, pair.len - klen - 1);
        return true;
    }
    return false;
}

/* Does raw, form-decoded, equal key? Decodes on the fly: no copy per pair. */
static bool key_equals(struct st_str raw, struct st_str key)
{
    size_t k = 0;
    for (size_t i = 0; i < raw.len; i++, k++) {
        int c = decode_byte(raw, &i, ST_HTTP_PCT_FORM);
        if (c < 0 || k >= key.len || (unsigned char)key.ptr[k] != c)
            return false;
    }
    return k == key.len;
}

int st_http_query_get(struct st_str query, const char *key, struct st_arena *a, struct st_str *out)
{
    struct st_str rest = query, k, v, want = st_str_c(key);
    *out = st_str(NULL, 0);
    while (st_http_query_next(&rest, &k, &v)) {
        if (!key_equals(k, want))
            continue;
        char *buf = st_arena_alloc(a, v.len + 1);
        size_t n;
        int rc = st_http_pct_decode(v, buf, &n, ST_HTTP_PCT_FORM);
        if (rc)
            return rc;
        buf[n] = '\0';
        *out = st_str(buf, n);
        return 0;
    }
    return ST_ENOTFOUND;
}

/* Resolve "." and ".." and collapse separators in p[0..len), in place; the new length or
 * -1 for a ".." above the root. */
static ptrdiff_t resolve_dots(char *p, size_t len)
{
    size_t w = 0, r = 0;
    /* w <= r always: each output byte stands for an input byte already read (a separator
     * written before a segment stands for at least one '/' that was skipped). */
    while (r < len) {
        while (r < len && p[r] == '/')
            r++;
        size_t s = r;
        while (r < len && p[r] != '/')
            r++;
        size_t n = r - s;
        if (n == 0 || (n == 1 && p[s] == '.'))
            continue;
        if (n == 2 && p[s] == '.' && p[s + 1] == '.') {
            if (w == 0)
                return -1;
            while (w > 0 && p[w - 1] != '/')
                w--;
            w -= w > 0; /* and the separator before the removed segment */
            continue;
        }
        if (w)
            p[w++] = '/';
        memmove(p + w, p + s, n);
        w += n;
    }
    return (ptrdiff_t)w;
}

int st_http_path_normalize(struct st_str path, char *out, size_t *out_len)
{
    size_t n;
    *out_len = 0;
    int rc = st_http_pct_decode(path, out, &n, 0);
    if (rc)
        return rc;
    if (n && (memchr(out, '\0', n) || memchr(out, '\\', n)))
        return ST_EPARSE;
    ptrdiff_t len = resolve_dots(out, n);
    if (len < 0)
        return ST_EPARSE;
    *out_len = (size_t)len;
    return 0;
}
