/*
 * test_parse.c - protocol tests for the HTTP/1.1 request-head parser (src/http/parse.c).
 *
 * The cases are data: bytes in, the expected status (or fields) out. Every case is parsed
 * three ways - whole, one byte at a time, and in random splits - and the three results
 * must be identical, which is the parser's promise that framing never depends on how the
 * bytes arrived. Each partial feed hands the parser an exact-size heap copy, so ASan
 * catches any read past the bytes it was given and the buffer moves between calls.
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

#define AGAIN (-1) /* expected status: the head is incomplete */

struct pcase {
    const char *name;
    const char *in;
    size_t len;
    int status; /* 0 valid, AGAIN incomplete, else the HTTP status of the refusal */
    const struct st_http_limits *lim;
    /* For valid cases; NULL / 0 means "not checked" unless noted. */
    const char *method, *path, *query, *host; /* query NULL: there must be no '?' */
    int minor;
    enum st_http_body body;
    uint64_t cl;
    bool close;   /* keep_alive must be !close */
    bool cont;    /* expect_continue */
    int nh;       /* number of headers, -1 unchecked */
    size_t extra; /* bytes after the head */
};

#define IN(s) .in = s, .len = sizeof(s) - 1
#define BAD(n, s, st)                                                                                                  \
    {                                                                                                                  \
        .name = n, IN(s), .status = st, .nh = -1                                                                       \
    }
#define BADL(n, s, st)                                                                                                 \
    {                                                                                                                  \
        .name = n, IN(s), .status = st, .lim = &small, .nh = -1                                                        \
    }
#define H11 " HTTP/1.1\r\nHost: a\r\n"

static const struct st_http_limits small = { .max_target = 16, .max_head = 128, .max_headers = 3 };

static const struct pcase cases[] = {
    /* ---- valid ---- */
    { "minimal", IN("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), .method = "GET", .path = "/", .host = "a", .minor = 1,
      .nh = 1 },
    { "query", IN("GET /a/b?x=1&y HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"), .path = "/a/b", .query = "x=1&y",
      .host = "example.com:8080", .minor = 1, .nh = 1 },
    { "empty query", IN("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n"), .path = "/a", .query = "", .minor = 1, .nh = 1 },
    { "raw braces and pipe in query", IN("GET /s?q={a|b}^`\" HTTP/1.1\r\nHost: a\r\n\r\n"), .path = "/s",
      .query = "q={a|b}^`\"", .minor = 1, .nh = 1 },
    { "percent-encoded path", IN("GET /a%20b%2F HTTP/1.1\r\nHost: a\r\n\r\n"), .path = "/a%20b%2F", .minor = 1,
      .nh = 1 },
    { "http/1.0 without host closes", IN("GET / HTTP/1.0\r\n\r\n"), .path = "/", .host = "", .minor = 0, .close = true,
      .nh = 0 },
    { "http/1.0 keep-alive", IN("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), .minor = 0, .nh = 1 },
    { "http/1.0 keep-alive and close", IN("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), .minor = 0,
      .close = true, .nh = 1 },
    { "http/1.1 close", IN("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), .minor = 1, .close = true,
      .nh = 2 },
    { "connection list", IN("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade,  CLOSE \r\nUpgrade: x\r\n\r\n"),
      .minor = 1, .close = true, .nh = 3 },
    { "connection in two fields", IN("GET / HTTP/1.1\r\nConnection: foo\r\nHost: a\r\nconnection: close\r\n\r\n"),
      .minor = 1, .close = true, .nh = 3 },
    { "http/1.2 is 1.1", IN("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), .minor = 1, .nh = 1 },
    { "content-length", IN("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"), .method = "POST",
      .minor = 1, .body = ST_HTTP_BODY_LENGTH, .cl = 5, .nh = 2, .extra = 5 },
    { "content-length zero", IN("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"), .minor = 1,
      .body = ST_HTTP_BODY_LENGTH, .cl = 0, .nh = 2 },
    { "content-length leading zeros", IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n"), .minor = 1,
      .body = ST_HTTP_BODY_LENGTH, .cl = 7, .nh = 2 },
    { "content-length max u64", IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n"),
      .minor = 1, .body = ST_HTTP_BODY_LENGTH, .cl = UINT64_MAX, .nh = 2 },
    { "identical duplicate content-length",
      IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"), .minor = 1,
      .body = ST_HTTP_BODY_LENGTH, .cl = 5, .nh = 3 },
    { "identical content-length list", IN("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 , 5\r\n\r\n"), .minor = 1,
      .body = ST_HTTP_BODY_LENGTH, .cl = 5, .nh = 2 },
    { "chunked", IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"), .minor = 1,
      .body = ST_HTTP_BODY_CHUNKED, .nh = 2 },
    { "chunked any case, empty elements", IN("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , ChUnKeD ,\r\n\r\n"),
      .minor = 1, .body = ST_HTTP_BODY_CHUNKED, .nh = 2 },
    { "expect 100-continue", IN("PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n"),
      .method = "PUT", .minor = 1, .body = ST_HTTP_BODY_LENGTH, .cl = 3, .cont = true, .nh = 3 },
    { "expect ignored in 1.0", IN("PUT /u HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"), .minor = 0,
      .body = ST_HTTP_BODY_LENGTH, .cl = 3, .close = true, .nh = 2 },
    { "absolute-form", IN("GET http://example.com/x?y HTTP/1.1\r\nHost: other\r\n\r\n"), .path = "/x", .query = "y",
      .host = "example.com", .minor = 1, .nh = 1 },
    { "absolute-form without path", IN("GET https://example.com:8443 HTTP/1.1\r\nHost: example.com\r\n\r\n"),
      .path = "/", .host = "example.com:8443", .minor = 1, .nh = 1 },
    { "absolute-form query only", IN("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n"), .path = "/", .query = "q",
      .minor = 1, .nh = 1 },
    { "connect", IN("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), .method = "CONNECT",
      .path = "", .host = "example.com:443", .minor = 1, .nh = 1 },
    { "options asterisk", IN("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), .method = "OPTIONS", .path = "*", .minor = 1,
      .nh = 1 },
    { "leading empty lines", IN("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), .path = "/", .minor = 1, .nh = 1 },
    { "whitespace around value", IN("GET / HTTP/1.1\r\nHost: \t a \t \r\n\r\n"), .host = "a", .minor = 1, .nh = 1 },
    { "empty value", IN("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:  \r\n\r\n"), .minor = 1, .nh = 3 },
    { "empty host", IN("GET / HTTP/1.1\r\nHost:\r\n\r\n"), .host = "", .minor = 1, .nh = 1 },
    { "ipv6 host", IN("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), .host = "[::1]:8080", .minor = 1, .nh = 1 },
    { "obs-text in value", IN("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n"), .minor = 1, .nh = 2 },
    { "value with inner spaces and tabs", IN("GET / HTTP/1.1\r\nHost: a\r\nX: a b\tc\r\n\r\n"), .minor = 1, .nh = 2 },
    { "all tchars in a name", IN("GET / HTTP/1.1\r\nHost: a\r\nX-!#$%&'*+.^_`|~09: v\r\n\r\n"), .minor = 1, .nh = 2 },
    { "unknown method", IN("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n"), .method = "PURGE", .minor = 1, .nh = 1 },
    { "lower-case method is another method", IN("get / HTTP/1.1\r\nHost: a\r\n\r\n"), .method = "get", .minor = 1,
      .nh = 1 },
    { "32-byte method", IN("ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF / HTTP/1.1\r\nHost: a\r\n\r\n"), .minor = 1, .nh = 1 },
    { "bytes after the head", IN("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n"), .minor = 1, .nh = 1,
      .extra = 17 },
    { "many well-known headers",
      IN("GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nAccept-Encoding: gzip\r\nCookie: a=b\r\nRange: bytes=0-1\r\n"
         "If-None-Match: \"x\"\r\nIf-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\nOrigin: http://o\r\n"
         "X-Request-Id: 42\r\nUser-Agent: t\r\n\r\n"),
      .minor = 1, .nh = 10 },
    /* small limits: exactly at each limit is fine */
    { "target at the limit", IN("GET /aaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n"), .lim = &small, .minor = 1,
      .nh = 1 },
    { "headers at the limit", IN("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"), .lim = &small, .minor = 1,
      .nh = 3 },
    { "head at the limit", /* 128 bytes */
      IN("GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789012345678901234567890123456789012345678901234567890123456789"
         "01234567890123456789012345\r\n\r\n"),
      .lim = &small, .minor = 1, .nh = 2 },

    /* ---- incomplete ---- */
    { "empty input", IN(""), .status = AGAIN, .nh = -1 },
    { "only empty lines", IN("\r\n\r\n\r"), .status = AGAIN, .nh = -1 },
    { "request line only", IN("GET / HTTP/1.1\r\n"), .status = AGAIN, .nh = -1 },
    { "no blank line", IN("GET / HTTP/1.1\r\nHost: a\r\n"), .status = AGAIN, .nh = -1 },
    { "blank line without LF", IN("GET / HTTP/1.1\r\nHost: a\r\n\r"), .status = AGAIN, .nh = -1 },

    /* ---- smuggling shapes ---- */
    BAD("content-length and transfer-encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    BAD("transfer-encoding and content-length",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
    BAD("content-length and unknown transfer-encoding",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: foo\r\n\r\n", 400),
    BAD("conflicting content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        400),
    BAD("conflicting content-length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400),
    BAD("content-length empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
    BAD("content-length empty element", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", 400),
    BAD("content-length letters", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\n", 400),
    BAD("content-length plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
    BAD("content-length minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", 400),
    BAD("content-length hex", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400),
    BAD("content-length decimal point", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n", 400),
    BAD("content-length inner space", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400),
    BAD("content-length overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n", 400),
    BAD("content-length huge", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999999999999\r\n\r\n", 400),
    BAD("transfer-encoding gzip only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    BAD("chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    BAD("chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400),
    BAD("chunked twice in two fields",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    BAD("transfer-encoding empty", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", 400),
    BAD("unknown transfer coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n", 501),
    BAD("unknown coding before chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n", 501),
    BAD("chunked with parameters", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 501),
    BAD("gzip then chunked (unsupported)", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        501),
    BAD("transfer-encoding in http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    BAD("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),
    BAD("obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400),
    BAD("whitespace before first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400),
    BAD("bare LF ends request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400),
    BAD("bare LF ends header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400),
    BAD("bare LF blank line", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400),
    BAD("bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400),
    BAD("bare LF first", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("bare LF after empty line", "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("bare CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400),
    BAD("CR CR LF", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400),
    BAD("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("CR alone before request line", "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),
    BAD("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400),
    BAD("space in name", "GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400),
    BAD("empty name", "GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400),
    BAD("separator in name", "GET / HTTP/1.1\r\nHost: a\r\nX(y): v\r\n\r\n", 400),
    BAD("slash in name", "GET / HTTP/1.1\r\nHost: a\r\nX/y: v\r\n\r\n", 400),
    BAD("non-ascii name", "GET / HTTP/1.1\r\nHost: a\r\nH\xc3\xb3st: v\r\n\r\n", 400),
    BAD("no colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400),
    BAD("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400),
    BAD("control in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", 400),
    BAD("DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n", 400),
    BAD("escape in value", "GET / HTTP/1.1\r\nHost: a\r\nX: \x1b[31m\r\n\r\n", 400),
    BAD("missing host", "GET / HTTP/1.1\r\n\r\n", 400),
    BAD("missing host, absolute-form", "GET http://a/ HTTP/1.1\r\n\r\n", 400),
    BAD("two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),
    BAD("host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400),
    BAD("host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    BAD("host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400),
    BAD("host bad percent", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400),

    /* ---- request line ---- */
    BAD("relative target", "GET a" H11 "\r\n", 400),
    BAD("fragment", "GET /a#f" H11 "\r\n", 400),
    BAD("bad percent", "GET /a%zz" H11 "\r\n", 400),
    BAD("truncated percent", "GET /a%2" H11 "\r\n", 400),
    BAD("truncated percent before query", "GET /a%?x" H11 "\r\n", 400),
    BAD("non-ascii target", "GET /caf\xc3\xa9" H11 "\r\n", 400),
    BAD("NUL in target", "GET /a\0b" H11 "\r\n", 400),
    BAD("tab in target", "GET /a\tb" H11 "\r\n", 400),
    BAD("absolute-form without authority", "GET http:///x" H11 "\r\n", 400),
    BAD("absolute-form single slash", "GET http:/x" H11 "\r\n", 400),
    BAD("absolute-form userinfo", "GET http://u:p@h/x" H11 "\r\n", 400),
    BAD("absolute-form bad scheme", "GET 1http://h/x" H11 "\r\n", 400),
    BAD("asterisk for GET", "GET *" H11 "\r\n", 400),
    BAD("connect origin-form", "CONNECT /x" H11 "\r\n", 400),
    BAD("connect without port", "CONNECT example.com" H11 "\r\n", 400),
    BAD("connect empty port", "CONNECT example.com:" H11 "\r\n", 400),
    BAD("connect bad port", "CONNECT example.com:ab" H11 "\r\n", 400),
    BAD("two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("two spaces after target", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400),
    BAD("tab separator", "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("missing version", "GET /\r\nHost: a\r\n\r\n", 400),
    BAD("missing target", "GET HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("empty method", " / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("bad method char", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("33-byte method", "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    BAD("lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400),
    BAD("version without minor", "GET / HTTP/1\r\nHost: a\r\n\r\n", 400),
    BAD("two-digit major", "GET / HTTP/11.1\r\nHost: a\r\n\r\n", 400),
    BAD("version garbage", "GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400),
    BAD("http/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    BAD("http/0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    BAD("http/3.1", "GET / HTTP/3.1\r\n\r\n", 505),
    BAD("tls handshake bytes", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),

    /* ---- limits (small: target 16, head 128, 3 headers) ---- */
    BADL("target over the limit", "GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    BADL("long target, line unterminated",
         "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 414),
    BADL("long method, line unterminated",
         "GETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGETGET", 501),
    BADL("long version, line unterminated",
         "GET /a HTTP/1.1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 400),
    BADL("garbage line, unterminated",
         "\x01\x02\x03"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
         400),
    BADL("long line, bare LF after the prefix",
         "GET /a HTTP/1.1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 400),
    BADL("too many headers", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431),
    BADL("too many headers, unterminated", "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n", 431),
    BADL("head one over the limit",
         "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789012345678901234567890123456789012345678901234567890123456789"
         "012345678901234567890123456\r\n\r\n",
         431),
    BADL("head over the limit, unterminated",
         "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789012345678901234567890123456789012345678901234567890123456789"
         "01234567890123456789012345678901234567890123456789",
         431),
    BADL("empty lines over the limit",
         "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
         "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
         "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
         431),
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* One outcome of a feed: the status and the parsed request, its slices inside base. */
struct result {
    int rc;
    struct st_http_request req;
    char *base; /* the final buffer (owned) */
};

/*
 * Feed c->in growing to each cut in turn (the last cut is c->len), each time as a fresh
 * exact-size heap copy, until the parser stops asking for more.
 */
static void feed(const struct pcase *c, const size_t *cuts, size_t ncuts, struct result *r)
{
    st_http_request_init(&r->req);
    r->base = NULL;
    r->rc = ST_EAGAIN;
    for (size_t i = 0; i < ncuts; i++) {
        free(r->base);
        r->base = malloc(cuts[i] ? cuts[i] : 1);
        assert_non_null(r->base);
        memcpy(r->base, c->in, cuts[i]);
        r->rc = st_http_parse_request(r->base, cuts[i], &r->req, c->lim);
        if (r->rc != ST_EAGAIN)
            return;
    }
}

static void feed_whole(const struct pcase *c, struct result *r)
{
    size_t cut = c->len;
    feed(c, &cut, 1, r);
}

static void feed_bytes(const struct pcase *c, struct result *r)
{
    size_t *cuts = malloc((c->len + 1) * sizeof(*cuts));
    size_t n = 0;
    for (size_t i = 0; i <= c->len; i++)
        cuts[n++] = i;
    feed(c, cuts, n, r);
    free(cuts);
}

static void feed_random(const struct pcase *c, struct result *r)
{
    size_t cuts[8], n = 0;
    size_t at = 0;
    while (n < 7 && at < c->len) {
        at += 1 + (size_t)rand() % (c->len - at);
        cuts[n++] = at;
    }
    cuts[n++] = c->len;
    feed(c, cuts, n, r);
}

static bool slice_is(struct st_str s, const char *want)
{
    return s.len == strlen(want) && (s.len == 0 || memcmp(s.ptr, want, s.len) == 0);
}

/* Same bytes, and at the same offset when the slice points into the buffer. */
static void assert_same_slice(struct st_str a, const char *base_a, struct st_str b, const char *base_b, size_t len)
{
    assert_int_equal(a.len, b.len);
    assert_int_equal(a.ptr == NULL, b.ptr == NULL);
    if (!a.ptr)
        return;
    assert_memory_equal(a.ptr, b.ptr, a.len);
    bool in_a = a.ptr >= base_a && a.ptr <= base_a + len;
    bool in_b = b.ptr >= base_b && b.ptr <= base_b + len;
    assert_int_equal(in_a, in_b);
    if (in_a)
        assert_int_equal(a.ptr - base_a, b.ptr - base_b);
}

static void assert_same(const struct result *a, const struct result *b, const struct pcase *c)
{
    if (a->rc != b->rc || a->req.status != b->req.status)
        fail_msg("%s: rc %d/%d status %d/%d (%s / %s)", c->name, a->rc, b->rc, a->req.status, b->req.status,
                 a->req.error ? a->req.error : "-", b->req.error ? b->req.error : "-");
    if (a->rc <= 0)
        return;
    const struct st_http_request *x = &a->req, *y = &b->req;
    size_t n = c->len;
    assert_same_slice(x->method, a->base, y->method, b->base, n);
    assert_same_slice(x->target, a->base, y->target, b->base, n);
    assert_same_slice(x->path, a->base, y->path, b->base, n);
    assert_same_slice(x->query, a->base, y->query, b->base, n);
    assert_same_slice(x->authority, a->base, y->authority, b->base, n);
    assert_same_slice(x->host, a->base, y->host, b->base, n);
    assert_int_equal(x->method_id, y->method_id);
    assert_int_equal(x->form, y->form);
    assert_int_equal(x->minor_version, y->minor_version);
    assert_int_equal(x->nheaders, y->nheaders);
    for (size_t i = 0; i < x->nheaders; i++) {
        assert_same_slice(x->headers[i].name, a->base, y->headers[i].name, b->base, n);
        assert_same_slice(x->headers[i].value, a->base, y->headers[i].value, b->base, n);
        assert_int_equal(x->headers[i].token, y->headers[i].token);
    }
    assert_int_equal(x->body, y->body);
    assert_int_equal(x->content_length, y->content_length);
    assert_int_equal(x->keep_alive, y->keep_alive);
    assert_int_equal(x->expect_continue, y->expect_continue);
}

static void check_result(const struct pcase *c, const struct result *r)
{
    if (c->status == AGAIN) {
        if (r->rc != ST_EAGAIN)
            fail_msg("%s: want ST_EAGAIN, got %d (%s)", c->name, r->rc, r->req.error ? r->req.error : "-");
        return;
    }
    if (c->status) {
        int want_rc = (c->status == 414 || c->status == 431) ? ST_ELIMIT : ST_EPARSE;
        if (r->rc != want_rc || r->req.status != c->status)
            fail_msg("%s: want %d, got rc %d status %d (%s)", c->name, c->status, r->rc, r->req.status,
                     r->req.error ? r->req.error : "-");
        assert_non_null(r->req.error);
        return;
    }
    if (r->rc <= 0)
        fail_msg("%s: want success, got rc %d status %d (%s)", c->name, r->rc, r->req.status,
                 r->req.error ? r->req.error : "-");
    const struct st_http_request *q = &r->req;
    assert_int_equal((size_t)r->rc, c->len - c->extra);
    if (c->method)
        assert_true(slice_is(q->method, c->method));
    if (c->path && !slice_is(q->path, c->path))
        fail_msg("%s: path '%.*s'", c->name, ST_STR_FMT(q->path));
    if (c->query)
        assert_true(q->query.ptr && slice_is(q->query, c->query));
    else
        assert_null(q->query.ptr);
    if (c->host && !slice_is(q->host, c->host))
        fail_msg("%s: host '%.*s'", c->name, ST_STR_FMT(q->host));
    assert_int_equal(q->minor_version, c->minor);
    assert_int_equal(q->body, c->body);
    assert_int_equal(q->content_length, c->cl);
    if (q->keep_alive == c->close)
        fail_msg("%s: keep_alive %d", c->name, q->keep_alive);
    assert_int_equal(q->expect_continue, c->cont);
    if (c->nh >= 0)
        assert_int_equal(q->nheaders, (size_t)c->nh);
}

static void table(void **state)
{
    (void)state;
    srand(12345);
    for (size_t i = 0; i < NCASES; i++) {
        const struct pcase *c = &cases[i];
        struct result whole, other;
        feed_whole(c, &whole);
        check_result(c, &whole);
        feed_bytes(c, &other);
        assert_same(&whole, &other, c);
        free(other.base);
        for (int k = 0; k < 20; k++) {
            feed_random(c, &other);
            assert_same(&whole, &other, c);
            free(other.base);
        }
        free(whole.base);
    }
}

/* Spot checks of fields the table does not cover. */
static void fields(void **state)
{
    (void)state;
    static const char in[] = "OPTIONS http://[::1]:81/p%41th?a=b HTTP/1.1\r\nhOsT: x\r\nX-Request-Id: 7\r\n"
                             "X-Custom: v\r\n\r\n";
    struct st_http_request req;
    st_http_request_init(&req);
    assert_int_equal(st_http_parse_request(in, sizeof(in) - 1, &req, NULL), (int)sizeof(in) - 1);
    assert_int_equal(req.method_id, ST_HTTP_M_OPTIONS);
    assert_int_equal(req.form, ST_HTTP_FORM_ABSOLUTE);
    assert_true(slice_is(req.target, "http://[::1]:81/p%41th?a=b"));
    assert_true(slice_is(req.authority, "[::1]:81"));
    assert_true(slice_is(req.host, "[::1]:81"));
    assert_true(slice_is(req.path, "/p%41th"));
    assert_int_equal(req.headers[0].token, ST_HTTP_H_HOST);
    assert_true(slice_is(req.headers[0].name, "hOsT"));
    assert_int_equal(req.headers[1].token, ST_HTTP_H_X_REQUEST_ID);
    assert_int_equal(req.headers[2].token, ST_HTTP_H_OTHER);
    assert_ptr_equal(st_http_request_header(&req, ST_HTTP_H_X_REQUEST_ID), &req.headers[1]);
    assert_null(st_http_request_header(&req, ST_HTTP_H_COOKIE));
    /* Slices borrow the input. */
    assert_true(req.method.ptr == in);
    assert_true(req.headers[2].value.ptr > in && req.headers[2].value.ptr < in + sizeof(in));

    static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH" };
    static const enum st_http_method ids[] = { ST_HTTP_M_GET,    ST_HTTP_M_HEAD,    ST_HTTP_M_POST,  ST_HTTP_M_PUT,
                                               ST_HTTP_M_DELETE, ST_HTTP_M_OPTIONS, ST_HTTP_M_TRACE, ST_HTTP_M_PATCH };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        char line[64];
        int n = snprintf(line, sizeof(line), "%s / HTTP/1.1\r\nHost: a\r\n\r\n", methods[i]);
        assert_int_equal(st_http_parse_request(line, (size_t)n, &req, NULL), n);
        assert_int_equal(req.method_id, ids[i]);
        assert_int_equal(req.form, ST_HTTP_FORM_ORIGIN);
    }
}

static void tokens(void **state)
{
    (void)state;
    for (int t = 1; t < ST_HTTP_H__COUNT; t++) {
        struct st_str name = st_http_token_name((enum st_http_token)t);
        char up[64];
        assert_true(name.len > 0 && name.len < sizeof(up));
        assert_int_equal(st_http_token_lookup(name), t);
        for (size_t i = 0; i < name.len; i++)
            up[i] = (char)((name.ptr[i] >= 'a' && name.ptr[i] <= 'z') ? name.ptr[i] - 32 : name.ptr[i]);
        assert_int_equal(st_http_token_lookup(st_str(up, name.len)), t);
        /* A prefix or a longer name is not the token. */
        assert_int_equal(st_http_token_lookup(st_str(name.ptr, name.len - 1)), ST_HTTP_H_OTHER);
    }
    assert_int_equal(st_http_token_lookup(ST_STR_LIT("Content-Length")), ST_HTTP_H_CONTENT_LENGTH);
    assert_int_equal(st_http_token_lookup(ST_STR_LIT("Content-Lengthx")), ST_HTTP_H_OTHER);
    assert_int_equal(st_http_token_lookup(ST_STR_LIT("X-Foo")), ST_HTTP_H_OTHER);
    assert_int_equal(st_http_token_lookup(ST_STR_LIT("")), ST_HTTP_H_OTHER);
    assert_int_equal(st_http_token_name(ST_HTTP_H_OTHER).len, 0);
    assert_int_equal(st_http_token_name((enum st_http_token)ST_HTTP_H__COUNT).len, 0);
}

/* Several requests in one buffer, as a pipelining client sends them. */
static void pipelined(void **state)
{
    (void)state;
    static const char in[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                             "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                             "\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n" /* a stray CRLF between requests is skipped */
                             "GET /4 HTTP/1.0\r\n\r\n"
                             "GET /5 HTTP/1.1\r\nHo";
    static const char *const paths[] = { "/1", "/2", "/3", "/4" };
    struct st_http_request req;
    st_http_request_init(&req);
    size_t off = 0, len = sizeof(in) - 1;
    for (size_t i = 0; i < 4; i++) {
        int rc = st_http_parse_request(in + off, len - off, &req, NULL);
        assert_true(rc > 0);
        assert_true(slice_is(req.path, paths[i]));
        off += (size_t)rc;
        if (req.body == ST_HTTP_BODY_LENGTH)
            off += req.content_length;
    }
    assert_false(req.keep_alive); /* the HTTP/1.0 one */
    assert_int_equal(st_http_parse_request(in + off, len - off, &req, NULL), ST_EAGAIN);
}

/* After an error the same struct parses the next request without re-initialising. */
static void reuse_after_error(void **state)
{
    (void)state;
    static const char bad_in[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n";
    static const char partial[] = "GET / HTTP/1.1\r\nHo";
    static const char good[] = "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n";
    struct st_http_request req;
    st_http_request_init(&req);
    assert_int_equal(st_http_parse_request(partial, sizeof(partial) - 1, &req, NULL), ST_EAGAIN);
    assert_int_equal(st_http_parse_request(bad_in, sizeof(bad_in) - 1, &req, NULL), ST_EPARSE);
    assert_int_equal(req.status, 400);
    assert_int_equal(st_http_parse_request(good, sizeof(good) - 1, &req, NULL), (int)sizeof(good) - 1);
    assert_int_equal(req.status, 0);
    assert_true(slice_is(req.path, "/ok"));
}

/* Build "GET <target> HTTP/1.1\r\nHost: a\r\n" + nh headers of vlen bytes + "\r\n". */
static char *build(size_t target_len, size_t nh, size_t vlen, size_t *len)
{
    size_t cap = 64 + target_len + nh * (vlen + 16);
    char *b = malloc(cap);
    assert_non_null(b);
    size_t n = (size_t)sprintf(b, "GET /");
    memset(b + n, 'a', target_len - 1);
    n += target_len - 1;
    n += (size_t)sprintf(b + n, " HTTP/1.1\r\nHost: a\r\n");
    for (size_t i = 0; i < nh; i++) {
        n += (size_t)sprintf(b + n, "X-%04zu: ", i);
        memset(b + n, 'v', vlen);
        n += vlen;
        b[n++] = '\r';
        b[n++] = '\n';
    }
    b[n++] = '\r';
    b[n++] = '\n';
    *len = n;
    return b;
}

static void default_limits(void **state)
{
    (void)state;
    struct st_http_request req;
    size_t len;
    char *b;

    st_http_request_init(&req);
    b = build(8192, 0, 0, &len);
    assert_int_equal(st_http_parse_request(b, len, &req, NULL), (int)len);
    free(b);
    b = build(8193, 0, 0, &len);
    assert_int_equal(st_http_parse_request(b, len, &req, NULL), ST_ELIMIT);
    assert_int_equal(req.status, 414);
    free(b);

    b = build(1, 99, 1, &len); /* Host + 99 = 100 headers */
    assert_int_equal(st_http_parse_request(b, len, &req, NULL), (int)len);
    assert_int_equal(req.nheaders, 100);
    free(b);
    b = build(1, 100, 1, &len);
    assert_int_equal(st_http_parse_request(b, len, &req, NULL), ST_ELIMIT);
    assert_int_equal(req.status, 431);
    free(b);

    /* A head of exactly 65536 bytes passes, one more byte is 431. */
    {
        /* 63 headers of 1000 bytes plus one sized to land exactly on 65536. */
        size_t base_len;
        char *base = build(1, 63, 1000, &base_len);
        size_t last = 65536 - base_len - 10; /* "X-0063: " + CRLF */
        char *h = malloc(65537 + 16);
        memcpy(h, base, base_len - 2);
        size_t n = base_len - 2;
        n += (size_t)sprintf(h + n, "X-0063: ");
        memset(h + n, 'v', last);
        n += last;
        memcpy(h + n, "\r\n\r\n", 4);
        n += 4;
        assert_int_equal(n, 65536);
        assert_int_equal(st_http_parse_request(h, n, &req, NULL), 65536);
        /* One byte longer. */
        memmove(h + n - 3, h + n - 4, 4);
        h[n - 4] = 'v';
        assert_int_equal(st_http_parse_request(h, n + 1, &req, NULL), ST_ELIMIT);
        assert_int_equal(req.status, 431);
        free(h);
        free(base);
    }
}

/*
 * A 2 MiB head (limits raised) trickled one byte at a time: the parser resumes where it
 * stopped, so this is ~2M cheap calls; rescanning from the start would be ~2e12 steps and
 * time out.
 */
static void trickle_is_linear(void **state)
{
    (void)state;
    struct st_http_limits lim = ST_HTTP_LIMITS_DEFAULT;
    lim.max_head = 4u << 20;
    size_t len;
    char *b = build(1, 100, 20000, &len);
    lim.max_headers = 101;
    struct st_http_request req;
    st_http_request_init(&req);
    int rc = ST_EAGAIN;
    size_t n = 0;
    while (rc == ST_EAGAIN && n < len)
        rc = st_http_parse_request(b, ++n, &req, &lim);
    assert_int_equal(rc, (int)len);
    assert_int_equal(req.nheaders, 101);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table),
        cmocka_unit_test(fields),
        cmocka_unit_test(tokens),
        cmocka_unit_test(pipelined),
        cmocka_unit_test(reuse_after_error),
        cmocka_unit_test(default_limits),
        cmocka_unit_test(trickle_is_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
