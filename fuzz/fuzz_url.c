/*
 * fuzz_url.c - libFuzzer target for percent-decoding, path normalization and query
 * iteration (src/http/url.c).
 *
 * Oracles:
 *   - decoding into a separate buffer and in place agree, for every flag combination; the
 *     output is never longer than the input; ST_HTTP_PCT_SEGMENT refuses exactly the
 *     results that hold a NUL or '/'; encoding what was decoded and decoding it again
 *     gives the same bytes (plain and form mode);
 *   - path normalization agrees with a naive reference (decode, split, stack of segments),
 *     in place and not; the result has no empty, "." or ".." segment, no NUL or
 *     backslash, no leading or trailing '/'; a result without '%' is a fixed point;
 *   - query pairs are slices of the input without separators, and st_http_query_get finds
 *     the first pair of each key it is asked about.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "http/url.h"

static void check_decode(const uint8_t *data, size_t size, unsigned flags, char *out, char *inplace)
{
    size_t n = 0, m = 0;
    memcpy(inplace, data, size);
    int rc = st_http_pct_decode(st_str((const char *)data, size), out, &n, flags);
    int rc2 = st_http_pct_decode(st_str(inplace, size), inplace, &m, flags);
    CHECK(rc == rc2 && (rc == 0 || rc == ST_EPARSE));
    if (rc)
        return;
    CHECK(n == m && n <= size && memcmp(out, inplace, n) == 0);
    if (flags & ST_HTTP_PCT_SEGMENT)
        CHECK(!memchr(out, '\0', n) && !memchr(out, '/', n));

    unsigned coding = flags & ST_HTTP_PCT_FORM;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    CHECK(st_http_pct_encode(&b, st_str(out, n), coding) == 0);
    char *again = malloc(b.len + 1);
    CHECK(again);
    size_t k;
    CHECK(st_http_pct_decode(st_buf_str(&b), again, &k, coding) == 0);
    CHECK(k == n && memcmp(again, out, n) == 0);
    free(again);
    st_buf_release(&b);
}

/* Segment rule by the plain flag: SEGMENT fails exactly when the plain result has NUL or '/'. */
static void check_segment_rule(const uint8_t *data, size_t size, char *out)
{
    for (unsigned form = 0; form <= ST_HTTP_PCT_FORM; form++) {
        size_t n;
        int plain = st_http_pct_decode(st_str((const char *)data, size), out, &n, form);
        bool bad = plain == 0 && (memchr(out, '\0', n) || memchr(out, '/', n));
        int seg = st_http_pct_decode(st_str((const char *)data, size), out, &n, form | ST_HTTP_PCT_SEGMENT);
        CHECK(plain != 0 ? seg == plain : (seg == 0) == !bad);
    }
}

/* The naive reference: decode, refuse NUL/backslash, walk segments with a stack of
 * offsets. Returns 0 and writes ref/ref_len, or ST_EPARSE. */
static int reference_normalize(const uint8_t *data, size_t size, char *ref, size_t *ref_len)
{
    char *dec = malloc(size ? size : 1);
    CHECK(dec);
    size_t n;
    int rc = st_http_pct_decode(st_str((const char *)data, size), dec, &n, 0);
    if (!rc && (memchr(dec, '\0', n) || memchr(dec, '\\', n)))
        rc = ST_EPARSE;
    size_t *stack = malloc((n + 1) * sizeof(size_t)), depth = 0, len = 0;
    CHECK(stack);
    for (size_t i = 0; !rc && i < n;) {
        size_t s = i;
        while (i < n && dec[i] != '/')
            i++;
        size_t seg = i - s;
        i++;
        if (seg == 0 || (seg == 1 && dec[s] == '.'))
            continue;
        if (seg == 2 && dec[s] == '.' && dec[s + 1] == '.') {
            if (depth == 0)
                rc = ST_EPARSE;
            else
                len = stack[--depth];
            continue;
        }
        stack[depth++] = len;
        if (len)
            ref[len++] = '/';
        memcpy(ref + len, dec + s, seg);
        len += seg;
    }
    free(stack);
    free(dec);
    *ref_len = rc ? 0 : len;
    return rc;
}

static void check_normalize(const uint8_t *data, size_t size, char *out, char *inplace)
{
    size_t n = 0, m = 0, rn = 0;
    char *ref = malloc(size ? size : 1);
    CHECK(ref);
    int rr = reference_normalize(data, size, ref, &rn);
    int rc = st_http_path_normalize(st_str((const char *)data, size), out, &n);
    memcpy(inplace, data, size);
    int rc2 = st_http_path_normalize(st_str(inplace, size), inplace, &m);
    CHECK(rc == rr && rc == rc2);
    free(ref);
    if (rc)
        return;
    CHECK(n == rn && n == m && memcmp(out, inplace, n) == 0);
    CHECK(n == 0 || (out[0] != '/' && out[n - 1] != '/'));
    CHECK(!memchr(out, '\0', n) && !memchr(out, '\\', n));
    for (size_t j = 0, s = 0; n && j <= n; j++) {
        if (j < n && out[j] != '/')
            continue;
        size_t seg = j - s;
        CHECK(seg > 0 && !(seg == 1 && out[s] == '.') && !(seg == 2 && out[s] == '.' && out[s + 1] == '.'));
        s = j + 1;
    }
    if (!memchr(out, '%', n)) {
        char *again = malloc(n ? n : 1);
        CHECK(again);
        size_t k;
        CHECK(st_http_path_normalize(st_str(out, n), again, &k) == 0);
        CHECK(k == n && memcmp(again, out, n) == 0);
        free(again);
    }
}

static void check_query(const uint8_t *data, size_t size)
{
    const char *q = (const char *)data;
    struct st_str rest = st_str(q, size), k, v;
    struct st_arena a;
    st_arena_init(&a, 0);
    size_t pairs = 0;
    while (st_http_query_next(&rest, &k, &v)) {
        CHECK(k.ptr >= q && v.ptr >= k.ptr + k.len && v.ptr + v.len <= q + size && (k.len || v.len || v.ptr > k.ptr));
        CHECK(!memchr(k.ptr, '&', k.len) && !memchr(k.ptr, ';', k.len) && !memchr(k.ptr, '=', k.len));
        CHECK(!memchr(v.ptr, '&', v.len) && !memchr(v.ptr, ';', v.len));
        if (pairs++ >= 4)
            continue;
        /* Ask for this pair's decoded key: the first pair with that key must answer. */
        char *key = st_arena_alloc(&a, k.len + 1);
        size_t kl;
        if (st_http_pct_decode(k, key, &kl, ST_HTTP_PCT_FORM) != 0 || memchr(key, '\0', kl))
            continue;
        key[kl] = '\0';
        struct st_str got;
        int rc = st_http_query_get(st_str(q, size), key, &a, &got);
        CHECK(rc == 0 || rc == ST_EPARSE);
        if (rc == 0)
            CHECK(got.ptr[got.len] == '\0');
    }
    CHECK(rest.len == 0);
    st_arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *out = malloc(size ? size : 1), *inplace = malloc(size ? size : 1);
    CHECK(out && inplace);
    for (unsigned flags = 0; flags < 4; flags++)
        check_decode(data, size, flags, out, inplace);
    check_segment_rule(data, size, out);
    check_normalize(data, size, out, inplace);
    check_query(data, size);
    free(out);
    free(inplace);
    return 0;
}
