/*
 * test_response.c - protocol tests for the response-head parser (src/http/response.c).
 *
 * Cases are data: bytes in, the expected outcome out. Every case is parsed whole, one byte
 * at a time and in random splits (seeded, repeated), each partial feed handing the parser
 * an exact-size heap copy so ASan catches reads past what it was given and the buffer
 * moves between calls; the three results must be identical.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/response.h"

enum { OK, AGAIN, PARSE, LIMIT };

struct rcase {
    const char *name;
    const char *in;
    size_t len;
    int want; /* OK, AGAIN, PARSE, LIMIT */
    enum st_http_method method;
    const struct st_http_limits *lim;
    /* For OK cases. */
    int status;
    const char *reason; /* NULL: unchecked */
    int minor;
    enum st_http_rbody body;
    uint64_t cl;
    bool close; /* keep_alive must be !close */
    int nh;     /* headers, -1 unchecked */
    size_t extra;
};

#define IN(s) .in = s, .len = sizeof(s) - 1
#define BAD(n, s)                                                                                                      \
    {                                                                                                                  \
        .name = n, IN(s), .want = PARSE, .nh = -1                                                                      \
    }

static const struct st_http_limits small = { .max_head = 100, .max_headers = 3 };

static const struct rcase cases[] = {
    /* ---- valid ---- */
    { "200 length", IN("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), .status = 200, .reason = "OK", .minor = 1,
      .body = ST_HTTP_RBODY_LENGTH, .cl = 5, .nh = 1, .extra = 5 },
    { "reason with spaces", IN("HTTP/1.1 404 Not Found Here\r\nContent-Length: 0\r\n\r\n"), .status = 404,
      .reason = "Not Found Here", .minor = 1, .body = ST_HTTP_RBODY_LENGTH, .nh = 1 },
    { "empty reason with SP", IN("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"), .status = 200, .reason = "", .minor = 1,
      .body = ST_HTTP_RBODY_LENGTH, .nh = 1 },
    { "no SP before CRLF", IN("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), .status = 200, .reason = "", .minor = 1,
      .body = ST_HTTP_RBODY_LENGTH, .nh = 1 },
    { "obs-text reason", IN("HTTP/1.1 200 \xc3\xa9t\xc3\xa9\tok\r\nContent-Length: 0\r\n\r\n"), .status = 200,
      .reason = "\xc3\xa9t\xc3\xa9\tok", .minor = 1, .body = ST_HTTP_RBODY_LENGTH, .nh = 1 },
    { "chunked", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), .status = 200,
      .minor = 1, .body = ST_HTTP_RBODY_CHUNKED, .nh = 1, .extra = 15 },
    { "chunked any case, list", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: , CHUNKED\r\n\r\n"), .status = 200,
      .minor = 1, .body = ST_HTTP_RBODY_CHUNKED, .nh = 1 },
    { "close-delimited", IN("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc"), .status = 200, .minor = 1,
      .body = ST_HTTP_RBODY_CLOSE, .close = true, .nh = 1, .extra = 3 },
    { "http/1.0 close-delimited", IN("HTTP/1.0 200 OK\r\n\r\n"), .status = 200, .minor = 0, .body = ST_HTTP_RBODY_CLOSE,
      .close = true, .nh = 0 },
    { "http/1.0 length closes", IN("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"), .status = 200, .minor = 0,
      .body = ST_HTTP_RBODY_LENGTH, .cl = 2, .close = true, .nh = 1, .extra = 2 },
    { "http/1.0 keep-alive", IN("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 0, .body = ST_HTTP_RBODY_LENGTH, .nh = 2 },
    { "connection close", IN("HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 0\r\n\r\n"), .status = 200,
      .minor = 1, .body = ST_HTTP_RBODY_LENGTH, .close = true, .nh = 2 },
    { "http/1.9 is 1.1", IN("HTTP/1.9 200 OK\r\nContent-Length: 0\r\n\r\n"), .status = 200, .minor = 1,
      .body = ST_HTTP_RBODY_LENGTH, .nh = 1 },
    { "204 no body", IN("HTTP/1.1 204 No Content\r\n\r\nX"), .status = 204, .minor = 1, .body = ST_HTTP_RBODY_NONE,
      .nh = 0, .extra = 1 },
    { "204 ignores content-length", IN("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"), .status = 204,
      .minor = 1, .body = ST_HTTP_RBODY_NONE, .nh = 1 },
    { "304 ignores content-length", IN("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\nETag: \"x\"\r\n\r\n"),
      .status = 304, .minor = 1, .body = ST_HTTP_RBODY_NONE, .nh = 2 },
    { "100 continue", IN("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), .status = 100, .minor = 1,
      .body = ST_HTTP_RBODY_NONE, .nh = 0, .extra = 17 },
    { "101 switching", IN("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"),
      .status = 101, .minor = 1, .body = ST_HTTP_RBODY_NONE, .nh = 2 },
    { "head with length", IN("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), .method = ST_HTTP_M_HEAD,
      .status = 200, .minor = 1, .body = ST_HTTP_RBODY_NONE, .nh = 1 },
    { "head chunked", IN("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .method = ST_HTTP_M_HEAD,
      .status = 200, .minor = 1, .body = ST_HTTP_RBODY_NONE, .nh = 1 },
    { "connect 200 is a tunnel", IN("HTTP/1.1 200 Connection established\r\n\r\n"), .method = ST_HTTP_M_CONNECT,
      .status = 200, .minor = 1, .body = ST_HTTP_RBODY_NONE, .close = true, .nh = 0 },
    { "connect 407 has a body", IN("HTTP/1.1 407 Auth\r\nContent-Length: 1\r\n\r\nx"), .method = ST_HTTP_M_CONNECT,
      .status = 407, .minor = 1, .body = ST_HTTP_RBODY_LENGTH, .cl = 1, .nh = 1, .extra = 1 },
    { "identical content-lengths", IN("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n"),
      .status = 200, .minor = 1, .body = ST_HTTP_RBODY_LENGTH, .cl = 3, .nh = 2 },
    { "599", IN("HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n"), .status = 599, .minor = 1, .body = ST_HTTP_RBODY_LENGTH,
      .nh = 1 },
    { "header whitespace trimmed", IN("HTTP/1.1 200 OK\r\nX-A:   v w \t\r\nX-B:\r\nContent-Length: 0\r\n\r\n"),
      .status = 200, .minor = 1, .body = ST_HTTP_RBODY_LENGTH, .nh = 3 },
    { "three headers at the limit", IN("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n"), .lim = &small,
      .status = 200, .minor = 1, .body = ST_HTTP_RBODY_LENGTH, .nh = 3 },

    /* ---- incomplete ---- */
    { "empty", IN(""), .want = AGAIN, .nh = -1 },
    { "partial version", IN("HTTP/1."), .want = AGAIN, .nh = -1 },
    { "no blank line", IN("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"), .want = AGAIN, .nh = -1 },
    { "CR of the blank line", IN("HTTP/1.1 200 OK\r\n\r"), .want = AGAIN, .nh = -1 },

    /* ---- malformed ---- */
    BAD("not http", "<html>hello</html>\r\n\r\n"),
    BAD("lower-case http", "http/1.1 200 OK\r\n\r\n"),
    BAD("leading CRLF", "\r\nHTTP/1.1 200 OK\r\n\r\n"),
    BAD("http/2", "HTTP/2 200\r\n\r\n"),
    BAD("http/2.0", "HTTP/2.0 200 OK\r\n\r\n"),
    BAD("http/0.9", "HTTP/0.9 200 OK\r\n\r\n"),
    BAD("version letter", "HTTP/1.x 200 OK\r\n\r\n"),
    BAD("two spaces", "HTTP/1.1  200 OK\r\n\r\n"),
    BAD("tab separator", "HTTP/1.1\t200 OK\r\n\r\n"),
    BAD("two-digit status", "HTTP/1.1 20 OK\r\n\r\n"),
    BAD("four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"),
    BAD("status 099", "HTTP/1.1 099 X\r\n\r\n"),
    BAD("status 600", "HTTP/1.1 600 X\r\n\r\n"),
    BAD("letters in status", "HTTP/1.1 2x0 OK\r\n\r\n"),
    BAD("no status", "HTTP/1.1\r\n\r\n"),
    BAD("control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n"),
    BAD("bare LF status line", "HTTP/1.1 200 OK\n\r\n"),
    BAD("bare LF header", "HTTP/1.1 200 OK\r\nA: b\n\r\n"),
    BAD("bare LF end", "HTTP/1.1 200 OK\r\nA: b\r\n\n"),
    BAD("bare CR in value", "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n"),
    BAD("obs-fold", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n"),
    BAD("space before colon", "HTTP/1.1 200 OK\r\nA : b\r\n\r\n"),
    BAD("no colon", "HTTP/1.1 200 OK\r\nAb\r\n\r\n"),
    BAD("empty name", "HTTP/1.1 200 OK\r\n: b\r\n\r\n"),
    BAD("bad name char", "HTTP/1.1 200 OK\r\nA(b: c\r\n\r\n"),
    BAD("NUL in value", "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n"),
    BAD("CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
    BAD("different CLs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
    BAD("CL list differs", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n"),
    BAD("CL negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
    BAD("CL plus", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n"),
    BAD("CL empty", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"),
    BAD("CL trailing comma", "HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n"),
    BAD("CL hex", "HTTP/1.1 200 OK\r\nContent-Length: 0x5\r\n\r\n"),
    BAD("CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"),
    BAD("CL on 204 still checked", "HTTP/1.1 204 X\r\nContent-Length: x\r\n\r\n"),
    BAD("TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
    BAD("TE gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
    BAD("TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("TE in 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    BAD("TE empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n"),

    /* ---- limits ---- */
    { "head too large",
      IN("HTTP/1.1 200 OK\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaa\r\n\r\n"),
      .want = LIMIT, .lim = &small, .nh = -1 },
    { "head too large, unterminated",
      IN("HTTP/1.1 200 OKxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
      .want = LIMIT, .lim = &small, .nh = -1 },
    { "too many headers", IN("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n"), .want = LIMIT, .lim = &small,
      .nh = -1 },
};

struct result {
    int rc;
    struct st_http_response res;
    char *buf; /* the final copy the slices point into */
};

static int classify(int rc)
{
    return rc > 0 ? OK : rc == ST_EAGAIN ? AGAIN : rc == ST_EPARSE ? PARSE : rc == ST_ELIMIT ? LIMIT : -1;
}

/* Feed c->in in pieces ending at each offset of cuts[0..n) (the last is c->len). */
static void feed(const struct rcase *c, const size_t *cuts, size_t n, struct result *r)
{
    st_http_response_init(&r->res);
    r->buf = NULL;
    r->rc = ST_EAGAIN;
    for (size_t i = 0; i < n; i++) {
        free(r->buf);
        r->buf = malloc(cuts[i] ? cuts[i] : 1);
        assert_non_null(r->buf);
        memcpy(r->buf, c->in, cuts[i]);
        r->rc = st_http_parse_response(r->buf, cuts[i], &r->res, c->method, c->lim);
        if (r->rc != ST_EAGAIN)
            break;
    }
}

static void feed_whole(const struct rcase *c, struct result *r)
{
    size_t cut = c->len;
    feed(c, &cut, 1, r);
}

static void feed_bytes(const struct rcase *c, struct result *r)
{
    size_t *cuts = malloc((c->len + 1) * sizeof(*cuts));
    for (size_t i = 0; i <= c->len; i++)
        cuts[i] = i;
    feed(c, cuts, c->len + 1, r);
    free(cuts);
}

static void feed_random(const struct rcase *c, struct result *r, unsigned *seed)
{
    size_t *cuts = malloc((c->len + 1) * sizeof(*cuts)), n = 0, at = 0;
    while (at < c->len) {
        at += 1 + (size_t)rand_r(seed) % 7;
        if (at > c->len)
            at = c->len;
        cuts[n++] = at;
    }
    if (n == 0)
        cuts[n++] = 0;
    feed(c, cuts, n, r);
    free(cuts);
}

static size_t off(const struct result *r, struct st_str s)
{
    return (size_t)(s.ptr - r->buf);
}

static void same(const struct result *a, const struct result *b)
{
    assert_int_equal(a->rc, b->rc);
    if (a->rc <= 0) {
        if (a->rc != ST_EAGAIN)
            assert_string_equal(a->res.error, b->res.error);
        return;
    }
    assert_int_equal(a->res.status, b->res.status);
    assert_int_equal(a->res.minor_version, b->res.minor_version);
    assert_int_equal(a->res.body, b->res.body);
    assert_int_equal(a->res.content_length, b->res.content_length);
    assert_int_equal(a->res.keep_alive, b->res.keep_alive);
    assert_int_equal(a->res.nheaders, b->res.nheaders);
    assert_int_equal(off(a, a->res.reason), off(b, b->res.reason));
    assert_int_equal(a->res.reason.len, b->res.reason.len);
    for (size_t i = 0; i < a->res.nheaders; i++) {
        assert_int_equal(off(a, a->res.headers[i].name), off(b, b->res.headers[i].name));
        assert_int_equal(off(a, a->res.headers[i].value), off(b, b->res.headers[i].value));
        assert_int_equal(a->res.headers[i].value.len, b->res.headers[i].value.len);
        assert_int_equal(a->res.headers[i].token, b->res.headers[i].token);
    }
}

static void check_case(const struct rcase *c, const struct result *r)
{
    int got = classify(r->rc);
    if (got != c->want)
        fail_msg("%s: got %d (%s), want %d", c->name, r->rc, r->res.error ? r->res.error : "-", c->want);
    if (c->want == PARSE || c->want == LIMIT) {
        assert_non_null(r->res.error);
        return;
    }
    if (c->want != OK)
        return;
    assert_int_equal((size_t)r->rc + c->extra, c->len);
    assert_int_equal(r->res.status, c->status);
    assert_int_equal(r->res.minor_version, c->minor);
    assert_int_equal(r->res.body, c->body);
    assert_int_equal(r->res.content_length, c->cl);
    if (r->res.keep_alive == c->close)
        fail_msg("%s: keep_alive %d", c->name, r->res.keep_alive);
    if (c->nh >= 0)
        assert_int_equal(r->res.nheaders, (size_t)c->nh);
    if (c->reason) {
        assert_int_equal(r->res.reason.len, strlen(c->reason));
        assert_memory_equal(r->res.reason.ptr, c->reason, r->res.reason.len);
    }
}

static void table(void **state)
{
    (void)state;
    unsigned seed = 12345;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct rcase *c = &cases[i];
        struct result whole, bytes;
        feed_whole(c, &whole);
        check_case(c, &whole);
        feed_bytes(c, &bytes);
        same(&whole, &bytes);
        for (int k = 0; k < 20; k++) {
            struct result rnd;
            feed_random(c, &rnd, &seed);
            same(&whole, &rnd);
            free(rnd.buf);
        }
        free(whole.buf);
        free(bytes.buf);
    }
}

/* Header fields: names, values, tokens. */
static void fields(void **state)
{
    (void)state;
    static const char in[] = "HTTP/1.1 201 Created\r\nLocation: /users/7\r\ncontent-TYPE:application/json \r\n"
                             "X-Empty:\r\nContent-Length: 2\r\n\r\n{}";
    struct st_http_response r;
    st_http_response_init(&r);
    int n = st_http_parse_response(in, sizeof(in) - 1, &r, ST_HTTP_M_POST, NULL);
    assert_int_equal(n, sizeof(in) - 3);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.nheaders, 4);
    assert_true(st_str_eq_c(r.headers[0].name, "Location"));
    assert_true(st_str_eq_c(r.headers[0].value, "/users/7"));
    assert_int_equal(r.headers[1].token, ST_HTTP_H_CONTENT_TYPE);
    assert_true(st_str_eq_c(r.headers[1].value, "application/json"));
    assert_int_equal(r.headers[2].value.len, 0);
    const struct st_http_header *h = st_http_response_header(&r, ST_HTTP_H_CONTENT_LENGTH);
    assert_non_null(h);
    assert_true(st_str_eq_c(h->value, "2"));
    assert_null(st_http_response_header(&r, ST_HTTP_H_RANGE));
}

/* Two pipelined responses parse back to back with one struct. */
static void pipelined(void **state)
{
    (void)state;
    static const char in[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n";
    struct st_http_response r;
    st_http_response_init(&r);
    int n = st_http_parse_response(in, sizeof(in) - 1, &r, ST_HTTP_M_GET, NULL);
    assert_true(n > 0);
    assert_int_equal(r.status, 200);
    size_t next = (size_t)n + 1;
    int m = st_http_parse_response(in + next, sizeof(in) - 1 - next, &r, ST_HTTP_M_GET, NULL);
    assert_int_equal((size_t)m, sizeof(in) - 1 - next);
    assert_int_equal(r.status, 404);
}

/* After an error the struct parses a fresh response without re-initialising. */
static void reuse_after_error(void **state)
{
    (void)state;
    struct st_http_response r;
    st_http_response_init(&r);
    assert_int_equal(st_http_parse_response("HTTP/1.1 2", 10, &r, ST_HTTP_M_GET, NULL), ST_EAGAIN);
    assert_int_equal(st_http_parse_response("HTTP/1.1 2\n", 11, &r, ST_HTTP_M_GET, NULL), ST_EPARSE);
    static const char ok[] = "HTTP/1.1 200 OK\r\n\r\n";
    assert_int_equal(st_http_parse_response(ok, sizeof(ok) - 1, &r, ST_HTTP_M_GET, NULL), (int)sizeof(ok) - 1);
}

/* A non-HTTP peer is refused at its first byte, without waiting for a line. */
static void fails_fast(void **state)
{
    (void)state;
    struct st_http_response r;
    st_http_response_init(&r);
    assert_int_equal(st_http_parse_response("S", 1, &r, ST_HTTP_M_GET, NULL), ST_EPARSE);
    st_http_response_init(&r);
    assert_int_equal(st_http_parse_response("HTTP/2", 6, &r, ST_HTTP_M_GET, NULL), ST_EPARSE);
    assert_string_equal(r.error, "unsupported HTTP version");
}

/* A head trickled one byte at a time is scanned in linear time (scan position kept). */
static void trickle_is_linear(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    st_buf_append_c(&b, "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < 90; i++)
        st_buf_printf(&b, "X-H%d: %0600d\r\n", i, i);
    st_buf_append_c(&b, "Content-Length: 0\r\n\r\n");
    struct st_http_response r;
    st_http_response_init(&r);
    int rc = ST_EAGAIN;
    for (size_t n = 1; n <= b.len && rc == ST_EAGAIN; n++)
        rc = st_http_parse_response(b.data, n, &r, ST_HTTP_M_GET, NULL);
    assert_int_equal(rc, (int)b.len);
    assert_int_equal(r.nheaders, 91);
    st_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),      cmocka_unit_test(fields),
        cmocka_unit_test(pipelined),  cmocka_unit_test(reuse_after_error),
        cmocka_unit_test(fails_fast), cmocka_unit_test(trickle_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
