/*
 * test_chunked.c - protocol tests for the chunked body decoder (src/http/parse.c).
 *
 * Cases are data: encoded bytes in, decoded bytes and a status out. Each is decoded
 * whole, one byte at a time and in random splits (each piece an exact-size heap copy, so
 * ASan sees any read past it); the decoded bytes, the status and where the body ended
 * must not depend on the split. A random round trip encodes random data with random
 * chunk sizes and extensions and decodes it back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/parse.h"

#define AGAIN (-1)

struct ccase {
    const char *name;
    const char *in;
    size_t len;
    int status; /* 0 complete, AGAIN incomplete, else the HTTP status of the refusal */
    const char *data;
    size_t dlen;
    size_t extra; /* bytes after the body (complete cases) */
    const struct st_http_limits *lim;
};

#define IN(s) .in = s, .len = sizeof(s) - 1
#define DATA(s) .data = s, .dlen = sizeof(s) - 1
#define BAD(n, s, st)                                                                                                  \
    {                                                                                                                  \
        .name = n, IN(s), .status = st                                                                                 \
    }

static const struct st_http_limits tight = { .max_body = 10, .max_chunk_ext = 8, .max_trailers = 16 };
static const struct st_http_limits unlimited = { .max_body = UINT64_MAX };

static const struct ccase cases[] = {
    { "one chunk", IN("5\r\nhello\r\n0\r\n\r\n"), DATA("hello") },
    { "several chunks", IN("3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n"), DATA("abcdef") },
    { "empty body", IN("0\r\n\r\n"), DATA("") },
    { "hex sizes", IN("A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n"), DATA("0123456789abcdefghijk") },
    { "leading zeros", IN("0005\r\nhello\r\n000\r\n\r\n"), DATA("hello") },
    { "data with CRLF and NUL", IN("6\r\n\r\n\0\r\n\r\r\n0\r\n\r\n"), DATA("\r\n\0\r\n\r") },
    { "extensions", IN("5;name=value\r\nhello\r\n0;last\r\n\r\n"), DATA("hello") },
    { "extension with BWS and quotes", IN("5 ; a = \"q;x y\"\r\nhello\r\n0\r\n\r\n"), DATA("hello") },
    { "whitespace after size", IN("5 \t\r\nhello\r\n0\r\n\r\n"), DATA("hello") },
    { "trailers", IN("5\r\nhello\r\n0\r\nX-Trailer: v\r\nY: w\r\n\r\n"), DATA("hello") },
    { "bytes after the body", IN("2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), DATA("hi"), .extra = 16 },
    { "at the body limit", IN("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), DATA("helloworld"), .lim = &tight },
    { "extension at the limit", IN("2;abcdefg\r\nhi\r\n0\r\n\r\n"), DATA("hi"), .lim = &tight },
    { "trailers at the limit", IN("0\r\nX: 01234567890\r\n\r\n"), DATA(""), .lim = &tight },
    { "16 hex digits without a limit", IN("ffffffffffffffff\r\nabc"), .status = AGAIN, DATA("abc"), .lim = &unlimited },

    { "nothing yet", IN(""), .status = AGAIN, DATA("") },
    { "inside data", IN("5\r\nhel"), .status = AGAIN, DATA("hel") },
    { "after last chunk", IN("5\r\nhello\r\n0\r\n"), .status = AGAIN, DATA("hello") },
    { "before the final LF", IN("0\r\n\r"), .status = AGAIN, DATA("") },
    { "inside a trailer", IN("0\r\nX: a"), .status = AGAIN, DATA("") },

    BAD("empty size", "\r\nhello\r\n0\r\n\r\n", 400),
    BAD("non-hex size", "g\r\nhello\r\n0\r\n\r\n", 400),
    BAD("negative size", "-5\r\nhello\r\n0\r\n\r\n", 400),
    BAD("0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 400),
    BAD("leading space", " 5\r\nhello\r\n0\r\n\r\n", 400),
    BAD("garbage after size", "5 x\r\nhello\r\n0\r\n\r\n", 400),
    BAD("too many leading zeros", "000000000000000000000000000000005\r\nhello\r\n0\r\n\r\n", 400),
    BAD("over the default body limit", "100001\r\n", 413),
    BAD("size overflow is over the limit first", "10000000000000000\r\n", 413),
    { "size overflow", IN("10000000000000000\r\n"), .status = 400, .lim = &unlimited },
    { "17 hex digits", IN("fffffffffffffffff\r\n"), .status = 400, .lim = &unlimited },
    { "chunk over the limit", IN("b\r\n"), .status = 413, .lim = &tight },
    { "total over the limit", IN("6\r\nabcdef\r\n5\r\n"), .status = 413, DATA("abcdef"), .lim = &tight },
    { "extension over the limit", IN("2;abcdefgh\r\nhi\r\n0\r\n\r\n"), .status = 400, .lim = &tight },
    { "whitespace over the extension limit", IN("2         \r\nhi\r\n0\r\n\r\n"), .status = 400, .lim = &tight },
    { "whitespace at the extension limit", IN("2        \r\nhi\r\n0\r\n\r\n"), DATA("hi"), .lim = &tight },
    { "trailers over the limit", IN("0\r\nX: 012345678901\r\n\r\n"), .status = 431, .lim = &tight },
    BAD("data longer than the size", "5\r\nhelloX\r\n0\r\n\r\n", 400),
    { "data without CRLF", IN("5\r\nhello0\r\n\r\n"), .status = 400, DATA("hello") },
    { "data with bare LF", IN("5\r\nhello\n0\r\n\r\n"), .status = 400, DATA("hello") },
    BAD("bare LF after size", "5\nhello\r\n0\r\n\r\n", 400),
    BAD("CR without LF after size", "5\rhello\r\n0\r\n\r\n", 400),
    BAD("control character in extension", "5;\x01\r\nhello\r\n0\r\n\r\n", 400),
    BAD("bare LF in extension", "5;a\nhello\r\n0\r\n\r\n", 400),
    BAD("obs-fold in trailers", "0\r\nX: a\r\n b\r\n\r\n", 400),
    BAD("bare LF in trailer", "0\r\nX: a\n\r\n", 400),
    BAD("control character in trailer", "0\r\nX: \x7f\r\n\r\n", 400),
    BAD("bare LF at the end", "0\r\n\n", 400),
    BAD("CR then garbage at the end", "0\r\n\rX", 400),
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

struct result {
    int rc;
    int status;
    char *data; /* decoded bytes (owned) */
    size_t dlen;
    size_t consumed; /* input bytes used in total */
};

/* Decode c->in in pieces ending at each cut, each piece a fresh exact-size heap copy. */
static void feed(const struct ccase *c, const size_t *cuts, size_t ncuts, struct result *r)
{
    struct st_http_chunked d;
    st_http_chunked_init(&d, c->lim);
    r->data = malloc(c->len + 1);
    r->dlen = 0;
    r->consumed = 0;
    r->rc = ST_EAGAIN;
    size_t at = 0;
    for (size_t i = 0; i < ncuts; i++) {
        size_t n = cuts[i] - at, used = 0, out = 0;
        char *piece = malloc(n ? n : 1);
        memcpy(piece, c->in + at, n);
        r->rc = st_http_chunked_decode(&d, piece, n, &used, &out);
        memcpy(r->data + r->dlen, piece, out);
        r->dlen += out;
        r->consumed += used;
        free(piece);
        if (r->rc == ST_EAGAIN)
            assert_int_equal(used, n);
        else
            break;
        at = cuts[i];
    }
    r->status = d.status;
}

static void check(const struct ccase *c, const struct result *r)
{
    if (c->status == AGAIN || c->status == 0) {
        int want = c->status == AGAIN ? ST_EAGAIN : 0;
        if (r->rc != want)
            fail_msg("%s: want %d, got %d (%d)", c->name, want, r->rc, r->status);
        if (c->status == 0)
            assert_int_equal(r->consumed, c->len - c->extra);
    } else {
        int want = c->status == 400 ? ST_EPARSE : ST_ELIMIT;
        if (r->rc != want || r->status != c->status)
            fail_msg("%s: want %d, got rc %d status %d", c->name, c->status, r->rc, r->status);
    }
    if (c->data) {
        assert_int_equal(r->dlen, c->dlen);
        assert_memory_equal(r->data, c->data, c->dlen);
    }
}

static void assert_same(const struct result *a, const struct result *b, const char *name)
{
    if (a->rc != b->rc || a->status != b->status)
        fail_msg("%s: rc %d/%d status %d/%d", name, a->rc, b->rc, a->status, b->status);
    /* On success and ST_EAGAIN the decoded prefix is the same; on an error a split may
     * hand out data that a whole feed refused in the same call, so compare the overlap. */
    size_t n = a->dlen < b->dlen ? a->dlen : b->dlen;
    if (a->rc >= 0 || a->rc == ST_EAGAIN) {
        assert_int_equal(a->dlen, b->dlen);
        if (a->rc == 0)
            assert_int_equal(a->consumed, b->consumed);
    }
    assert_memory_equal(a->data, b->data, n);
}

static void table(void **state)
{
    (void)state;
    srand(777);
    for (size_t i = 0; i < NCASES; i++) {
        const struct ccase *c = &cases[i];
        struct result whole, other;
        size_t cut = c->len;
        feed(c, &cut, 1, &whole);
        check(c, &whole);

        size_t *cuts = malloc((c->len + 1) * sizeof(*cuts));
        cuts[0] = 0;
        for (size_t k = 0; k < c->len; k++)
            cuts[k] = k + 1;
        feed(c, cuts, c->len ? c->len : 1, &other);
        assert_same(&whole, &other, c->name);
        free(other.data);

        for (int rep = 0; rep < 20; rep++) {
            size_t n = 0, at = 0;
            while (at < c->len) {
                at += 1 + (size_t)rand() % (c->len - at);
                cuts[n++] = at;
            }
            if (n == 0)
                cuts[n++] = 0;
            feed(c, cuts, n, &other);
            assert_same(&whole, &other, c->name);
            free(other.data);
        }
        free(cuts);
        free(whole.data);
    }
}

/* Once done or failed, the decoder stays so. */
static void sticky_end_states(void **state)
{
    (void)state;
    struct st_http_chunked d;
    size_t used, out;
    char done[] = "0\r\n\r\nrest";
    st_http_chunked_init(&d, NULL);
    assert_int_equal(st_http_chunked_decode(&d, done, sizeof(done) - 1, &used, &out), 0);
    assert_int_equal(used, 5);
    assert_int_equal(st_http_chunked_decode(&d, done + used, 4, &used, &out), 0);
    assert_int_equal(used, 0);
    assert_int_equal(out, 0);

    char bad[] = "z\r\n";
    st_http_chunked_init(&d, NULL);
    assert_int_equal(st_http_chunked_decode(&d, bad, 3, &used, &out), ST_EPARSE);
    assert_int_equal(d.status, 400);
    assert_non_null(d.error);
    char good[] = "0\r\n\r\n";
    assert_int_equal(st_http_chunked_decode(&d, good, 5, &used, &out), ST_EPARSE);
    assert_int_equal(used, 0);
}

/* Random data, random chunk sizes and extensions, random splits: decoding gives the data back. */
static void round_trip(void **state)
{
    (void)state;
    srand(4242);
    struct st_http_limits lim = ST_HTTP_LIMITS_DEFAULT;
    for (int iter = 0; iter < 200; iter++) {
        size_t dlen = (size_t)rand() % 5000;
        char *data = malloc(dlen + 1);
        for (size_t i = 0; i < dlen; i++)
            data[i] = (char)rand();
        char *enc = malloc(dlen * 2 + 4096 * 4 + 64);
        size_t n = 0;
        for (size_t at = 0; at < dlen;) {
            size_t sz = 1 + (size_t)rand() % 700;
            if (sz > dlen - at)
                sz = dlen - at;
            n += (size_t)sprintf(enc + n, rand() % 2 ? "%zx" : "%zX", sz);
            if (rand() % 4 == 0)
                n += (size_t)sprintf(enc + n, ";ext=%d", rand() % 1000);
            n += (size_t)sprintf(enc + n, "\r\n");
            memcpy(enc + n, data + at, sz);
            n += sz;
            n += (size_t)sprintf(enc + n, "\r\n");
            at += sz;
        }
        n += (size_t)sprintf(enc + n, "0\r\n%s\r\n", rand() % 2 ? "T: v\r\n" : "");
        size_t body_len = n;
        n += (size_t)sprintf(enc + n, "NEXT");

        /* Decode in place in random pieces of one buffer, as a server does. */
        struct st_http_chunked d;
        st_http_chunked_init(&d, &lim);
        char *got = malloc(dlen + 1);
        size_t glen = 0, at = 0;
        int rc = ST_EAGAIN;
        while (rc == ST_EAGAIN) {
            size_t piece = 1 + (size_t)rand() % 900;
            if (piece > n - at)
                piece = n - at;
            size_t used, out;
            rc = st_http_chunked_decode(&d, enc + at, piece, &used, &out);
            memcpy(got + glen, enc + at, out);
            glen += out;
            at += used;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(at, body_len);
        assert_int_equal(glen, dlen);
        assert_memory_equal(got, data, dlen);
        assert_int_equal(d.total, dlen);
        free(got);
        free(enc);
        free(data);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(sticky_end_states),
        cmocka_unit_test(round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
