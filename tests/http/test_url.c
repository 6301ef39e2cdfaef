/*
 * test_url.c - tests for percent-coding, query strings and path normalization
 * (src/http/url.c).
 *
 * Cases are data: raw input, expected status and output. Every decode runs twice, into a
 * separate exact-size buffer and in place, and both must agree; inputs are exact-size
 * heap copies so ASan catches a read past the end (the escapes at the end of a string
 * are where decoders overread).
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
#include "http/url.h"

/* An exact-size heap copy of s[0..n) (never NUL-terminated). */
static char *copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    memcpy(p, s, n);
    return p;
}

struct dcase {
    const char *in;
    unsigned flags;
    int rc;
    const char *out; /* may contain NUL: outlen says how much */
    size_t outlen;
};

#define OK(i, f, o)                                                                                                    \
    {                                                                                                                  \
        i, f, 0, o, sizeof(o) - 1                                                                                      \
    }
#define BAD(i, f)                                                                                                      \
    {                                                                                                                  \
        i, f, ST_EPARSE, NULL, 0                                                                                       \
    }

static const struct dcase dcases[] = {
    OK("", 0, ""),
    OK("abc", 0, "abc"),
    OK("a%20b", 0, "a b"),
    OK("%41%42%43", 0, "ABC"),
    OK("%e2%82%ac", 0, "\xe2\x82\xac"),
    OK("%E2%82%AC", 0, "\xe2\x82\xac"),
    OK("%aB%Cd", 0, "\xab\xcd"),
    OK("a+b", 0, "a+b"), /* '+' is only a space in forms */
    OK("a+b", ST_HTTP_PCT_FORM, "a b"),
    OK("%2B+", ST_HTTP_PCT_FORM, "+ "),
    OK("%252e", 0, "%2e"), /* decoded once */
    OK("%2F", 0, "/"),
    OK("%00", 0, "\0"),
    OK("%25", 0, "%"),
    OK("a/b", 0, "a/b"),
    BAD("%", 0),
    BAD("%2", 0),
    BAD("a%", 0),
    BAD("a%4", 0),
    BAD("%zz", 0),
    BAD("%g0", 0),
    BAD("%0g", 0),
    BAD("%%41", 0),
    BAD("% 41", 0),
    BAD("%+1", ST_HTTP_PCT_FORM),
    BAD("%2F", ST_HTTP_PCT_SEGMENT),
    BAD("%2f", ST_HTTP_PCT_SEGMENT),
    BAD("a/b", ST_HTTP_PCT_SEGMENT),
    BAD("%00", ST_HTTP_PCT_SEGMENT),
    BAD("x%00y", ST_HTTP_PCT_SEGMENT | ST_HTTP_PCT_FORM),
    OK("caf%C3%A9+x", ST_HTTP_PCT_SEGMENT | ST_HTTP_PCT_FORM, "caf\xc3\xa9 x"),
    OK("%2e%2e", ST_HTTP_PCT_SEGMENT, ".."), /* a segment decoder does not judge names */
};

static void pct_decode(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
        const struct dcase *c = &dcases[i];
        size_t n = strlen(c->in), len = 99;
        char *in = copy(c->in, n), *out = malloc(n ? n : 1);
        int rc = st_http_pct_decode(st_str(in, n), out, &len, c->flags);
        if (rc != c->rc)
            fail_msg("'%s' flags %u: rc %d, want %d", c->in, c->flags, rc, c->rc);
        if (!rc) {
            assert_int_equal(len, c->outlen);
            assert_memory_equal(out, c->out, len);
        }
        rc = st_http_pct_decode(st_str(in, n), in, &len, c->flags); /* in place */
        assert_int_equal(rc, c->rc);
        if (!rc) {
            assert_int_equal(len, c->outlen);
            assert_memory_equal(in, c->out, len);
        }
        free(in);
        free(out);
    }
    size_t len = 1;
    assert_int_equal(st_http_pct_decode(st_str(NULL, 0), NULL, &len, 0), 0);
    assert_int_equal(len, 0);
}

static void encode_one(struct st_str in, unsigned flags, const char *want)
{
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_buf_append_c(&b, "<"), 0);
    assert_int_equal(st_http_pct_encode(&b, in, flags), 0);
    assert_string_equal(b.data + 1, want);
    st_buf_release(&b);
}

static void pct_encode(void **state)
{
    (void)state;
    encode_one(ST_STR_LIT("AZaz09-._~"), 0, "AZaz09-._~");
    encode_one(ST_STR_LIT("a b/c?d=e&f#g%h+i"), 0, "a%20b%2Fc%3Fd%3De%26f%23g%25h%2Bi");
    encode_one(ST_STR_LIT("a b+c"), ST_HTTP_PCT_FORM, "a+b%2Bc");
    encode_one(ST_STR_LIT("\x00\x7f\x80\xff"), 0, "%00%7F%80%FF");
    encode_one(ST_STR_LIT("\xe2\x82\xac"), 0, "%E2%82%AC");
    encode_one(ST_STR_LIT(""), 0, "");

    /* every byte round-trips, in both modes */
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    for (unsigned flags = 0; flags <= ST_HTTP_PCT_FORM; flags++) {
        struct st_buf b;
        st_buf_init(&b, ST_BUF_UNLIMITED);
        assert_int_equal(st_http_pct_encode(&b, st_str(all, 256), flags), 0);
        char out[256];
        size_t n;
        assert_int_equal(st_http_pct_decode(st_buf_str(&b), out, &n, flags), 0);
        assert_int_equal(n, 256);
        assert_memory_equal(out, all, 256);
        st_buf_release(&b);
    }
}

static void pct_encode_limit(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 7);
    assert_int_equal(st_buf_append_c(&b, "ab"), 0);
    assert_int_equal(st_http_pct_encode(&b, ST_STR_LIT("x y"), 0), 0); /* "x%20y": 2 + 5 = 7 */
    assert_string_equal(b.data, "abx%20y");
    assert_int_equal(st_http_pct_encode(&b, ST_STR_LIT("z"), 0), ST_ELIMIT);
    assert_string_equal(b.data, "abx%20y");
    st_buf_clear(&b);
    assert_int_equal(st_http_pct_encode(&b, ST_STR_LIT("\x01\x02\x03"), 0), ST_ELIMIT); /* 9 > 7 */
    assert_int_equal(b.len, 0);
    st_buf_release(&b);
}

/* "k=v|k=v|..." of every pair st_http_query_next yields. */
static void pairs_of(const char *query, char *out, size_t cap)
{
    size_t n = strlen(query), len = 0;
    char *q = copy(query, n);
    struct st_str rest = st_str(q, n), k, v;
    out[0] = '\0';
    while (st_http_query_next(&rest, &k, &v)) {
        assert_non_null(v.ptr);
        assert_true(k.ptr >= q && v.ptr + v.len <= q + n);
        len += (size_t)snprintf(out + len, cap - len, "%s%.*s=%.*s", len ? "|" : "", ST_STR_FMT(k), ST_STR_FMT(v));
    }
    assert_int_equal(rest.len, 0);
    free(q);
}

static void query_iteration(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "", "" },
        { "a=1", "a=1" },
        { "a=1&b=2", "a=1|b=2" },
        { "a=1;b=2", "a=1|b=2" },
        { "a=1&b=2;", "a=1|b=2" },
        { "&&a=1&&;;b=2&", "a=1|b=2" },
        { "a", "a=" },
        { "a&b=", "a=|b=" },
        { "=v", "=v" },
        { "a==b", "a==b" },
        { "a=b=c", "a=b=c" },
        { "a=%20+x", "a=%20+x" }, /* raw: decoding is the caller's */
        { "&", "" },
        { ";&;", "" },
        { "a=1&a=2", "a=1|a=2" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[256];
        pairs_of(cases[i][0], got, sizeof(got));
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("'%s': got '%s', want '%s'", cases[i][0], got, cases[i][1]);
    }
    struct st_str rest = st_str(NULL, 0), k, v;
    assert_false(st_http_query_next(&rest, &k, &v));
}

static void query_get(void **state)
{
    (void)state;
    static const struct {
        const char *query, *key;
        int rc;
        const char *want;
    } cases[] = {
        { "q=backend&page=2", "q", 0, "backend" },
        { "q=backend&page=2", "page", 0, "2" },
        { "q=back+end%21", "q", 0, "back end!" },
        { "a=1&a=2", "a", 0, "1" },
        { "a&b=2", "a", 0, "" },
        { "x=1", "y", ST_ENOTFOUND, NULL },
        { "", "x", ST_ENOTFOUND, NULL },
        { "first+name=Ada", "first name", 0, "Ada" },
        { "first%20name=Ada", "first name", 0, "Ada" },
        { "first%2Bname=x", "first+name", 0, "x" },
        { "first+name=x", "first+name", ST_ENOTFOUND, NULL },
        { "ab=1", "a", ST_ENOTFOUND, NULL },
        { "a=1", "ab", ST_ENOTFOUND, NULL },
        { "%zz=1&k=2", "k", 0, "2" }, /* a malformed key matches nothing */
        { "%zz=1", "%zz", ST_ENOTFOUND, NULL },
        { "k=%zz", "k", ST_EPARSE, NULL },
        { "k=%", "k", ST_EPARSE, NULL },
        { "k=ok&k=%zz", "k", 0, "ok" }, /* the first wins; the rest is not read */
        { "k=a%00b", "k", 0, "a" },     /* NUL survives in the slice; the C string stops */
        { "=v", "", 0, "v" },
    };
    struct st_arena a;
    st_arena_init(&a, 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].query);
        char *q = copy(cases[i].query, n);
        struct st_str out = { "junk", 4 };
        int rc = st_http_query_get(st_str(q, n), cases[i].key, &a, &out);
        if (rc != cases[i].rc)
            fail_msg("'%s' [%s]: rc %d, want %d", cases[i].query, cases[i].key, rc, cases[i].rc);
        if (rc == 0) {
            assert_string_equal(out.ptr, cases[i].want); /* NUL-terminated */
        } else {
            assert_null(out.ptr);
            assert_int_equal(out.len, 0);
        }
        free(q);
    }
    struct st_str out;
    assert_int_equal(st_http_query_get(ST_STR_LIT("k=a%00b"), "k", &a, &out), 0);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.ptr, "a\0b", 3);
    st_arena_release(&a);
}

struct ncase {
    const char *in;
    int rc;
    const char *out;
};

static const struct ncase ncases[] = {
    { "/", 0, "" },
    { "", 0, "" },
    { "/index.html", 0, "index.html" },
    { "/a/b/c.txt", 0, "a/b/c.txt" },
    { "/./a//b/", 0, "a/b" },
    { "//a///b//", 0, "a/b" },
    { "/a/./b/.", 0, "a/b" },
    { "/a/b/..", 0, "a" },
    { "/a/b/../", 0, "a" },
    { "/a/b/../c", 0, "a/c" },
    { "/a/../b", 0, "b" },
    { "/a/..", 0, "" },
    { "/a/b/../../c", 0, "c" },
    { "a/b", 0, "a/b" },
    { "/a%20b/c%2Fd", 0, "a b/c/d" }, /* a decoded %2F is a separator to the file system */
    { "/a/..%2f", 0, "" },
    { "/a/b/..%2F..%2fc", 0, "c" },
    { "/%252e%252e", 0, "%2e%2e" }, /* decoded once: a harmless literal name */
    { "/%252e%252e/x", 0, "%2e%2e/x" },
    { "/...", 0, "..." },
    { "/a/.../b", 0, "a/.../b" },
    { "/.a/..b/b..", 0, ".a/..b/b.." },
    { "/.hidden", 0, ".hidden" },
    { "/%2e", 0, "" },
    { "/a%2F%2E%2E", 0, "" },
    { "/%7Euser/", 0, "~user" },
    { "/a+b", 0, "a+b" },
    { "/..", ST_EPARSE, NULL },
    { "..", ST_EPARSE, NULL },
    { "/../a", ST_EPARSE, NULL },
    { "/%2e%2e", ST_EPARSE, NULL },
    { "/%2E%2e/", ST_EPARSE, NULL },
    { "/.%2e", ST_EPARSE, NULL },
    { "/%2e.", ST_EPARSE, NULL },
    { "/..%2f", ST_EPARSE, NULL },
    { "/..%2Fetc/passwd", ST_EPARSE, NULL },
    { "/%2F..", ST_EPARSE, NULL },
    { "/a/../../b", ST_EPARSE, NULL },
    { "/a/b/../../..", ST_EPARSE, NULL },
    { "/./../a", ST_EPARSE, NULL },
    { "/%00", ST_EPARSE, NULL },
    { "/a%00.txt", ST_EPARSE, NULL },
    { "/a\\b", ST_EPARSE, NULL },
    { "/a%5cb", ST_EPARSE, NULL },
    { "/..%5c..%5cwindows", ST_EPARSE, NULL },
    { "/%", ST_EPARSE, NULL },
    { "/a%2", ST_EPARSE, NULL },
    { "/%zz", ST_EPARSE, NULL },
};

static void path_normalize(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ncases) / sizeof(ncases[0]); i++) {
        const struct ncase *c = &ncases[i];
        size_t n = strlen(c->in), len = 99;
        char *in = copy(c->in, n), *out = malloc(n ? n : 1);
        int rc = st_http_path_normalize(st_str(in, n), out, &len);
        if (rc != c->rc)
            fail_msg("'%s': rc %d, want %d", c->in, rc, c->rc);
        if (!rc) {
            if (len != strlen(c->out) || memcmp(out, c->out, len) != 0)
                fail_msg("'%s': got '%.*s', want '%s'", c->in, (int)len, out, c->out);
        } else {
            assert_int_equal(len, 0);
        }
        rc = st_http_path_normalize(st_str(in, n), in, &len); /* in place */
        assert_int_equal(rc, c->rc);
        if (!rc)
            assert_memory_equal(in, c->out, len);
        free(in);
        free(out);
    }
}

/* Random paths over a small alphabet: the result never escapes and has no dot segments. */
static void path_normalize_random(void **state)
{
    (void)state;
    static const char *const atoms[] = { "/", "a", ".", "..", "%2e", "%2E", "%2f", "%2F", "%25", "b", "%00", "\\" };
    srand(11);
    for (int iter = 0; iter < 20000; iter++) {
        char in[128];
        size_t n = 0;
        int atoms_n = 1 + rand() % 12;
        for (int j = 0; j < atoms_n; j++) {
            const char *t = atoms[rand() % (int)(sizeof(atoms) / sizeof(atoms[0]))];
            memcpy(in + n, t, strlen(t));
            n += strlen(t);
        }
        char out[128];
        size_t len;
        if (st_http_path_normalize(st_str(in, n), out, &len) != 0)
            continue;
        assert_true(len <= n);
        if (len) {
            assert_true(out[0] != '/' && out[len - 1] != '/');
        }
        for (size_t j = 0, start = 0; len && j <= len; j++) {
            if (j < len && out[j] != '/')
                continue;
            struct st_str seg = st_str(out + start, j - start);
            assert_true(seg.len > 0);
            assert_false(st_str_eq_c(seg, ".") || st_str_eq_c(seg, ".."));
            start = j + 1;
        }
        assert_null(memchr(out, '\0', len));
        assert_null(memchr(out, '\\', len));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pct_decode),
        cmocka_unit_test(pct_encode),
        cmocka_unit_test(pct_encode_limit),
        cmocka_unit_test(query_iteration),
        cmocka_unit_test(query_get),
        cmocka_unit_test(path_normalize),
        cmocka_unit_test(path_normalize_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
