/*
 * parse.h - the HTTP/1.1 request-head parser and chunked body decoder (RFC 9112).
 *
 * Invariants of the module:
 *   - Zero copy: every struct st_str in a parsed request borrows the caller's buffer (or a
 *     static literal), so the buffer must outlive the request and must not move while
 *     the request is used. Nothing here allocates.
 *   - Incremental: st_http_parse_request() returns ST_EAGAIN until the whole head has
 *     arrived; call it again with the same start and more bytes. The request remembers how
 *     far it scanned, so a head trickled one byte at a time costs O(n), not O(n^2). The
 *     buffer may be moved or grown between ST_EAGAIN calls (only offsets are kept).
 *   - Strict: anything that could let a front-end and this server disagree about where a
 *     message ends (request smuggling) is refused. Each refusal sets req->status to the
 *     HTTP status to answer and req->error to a short reason; the connection must then be
 *     closed after the answer, because framing can no longer be trusted.
 *   - The result does not depend on how the bytes were split: any split of the same input
 *     gives the same status and the same fields (the tests and the fuzz target check this).
 *
 * Decisions (docs/ARCHITECTURE.md, "src/http"): identical duplicate Content-Length values
 * ("5, 5" or two fields of 5) are accepted as RFC 9110 8.6 allows, different ones are 400;
 * Transfer-Encoding in an HTTP/1.0 request is 400; HTTP/1.x with x > 1 is handled as 1.1.
 */
#ifndef ST_HTTP_PARSE_H
#define ST_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

/*
 * Well-known header names, interned: a parsed header carries its token id so the server
 * compares integers instead of strings. One list generates the enum and the name table.
 * X(ID, "lower-case name")
 */
#define ST_HTTP_TOKENS(X)                                                                                              \
    X(ACCEPT, "accept")                                                                                                \
    X(ACCEPT_ENCODING, "accept-encoding")                                                                              \
    X(ACCEPT_LANGUAGE, "accept-language")                                                                              \
    X(AUTHORIZATION, "authorization")                                                                                  \
    X(CACHE_CONTROL, "cache-control")                                                                                  \
    X(CONNECTION, "connection")                                                                                        \
    X(CONTENT_ENCODING, "content-encoding")                                                                            \
    X(CONTENT_LENGTH, "content-length")                                                                                \
    X(CONTENT_TYPE, "content-type")                                                                                    \
    X(COOKIE, "cookie")                                                                                                \
    X(DATE, "date")                                                                                                    \
    X(EXPECT, "expect")                                                                                                \
    X(FORWARDED, "forwarded")                                                                                          \
    X(HOST, "host")                                                                                                    \
    X(IF_MATCH, "if-match")                                                                                            \
    X(IF_MODIFIED_SINCE, "if-modified-since")                                                                          \
    X(IF_NONE_MATCH, "if-none-match")                                                                                  \
    X(IF_RANGE, "if-range")                                                                                            \
    X(IF_UNMODIFIED_SINCE, "if-unmodified-since")                                                                      \
    X(KEEP_ALIVE, "keep-alive")                                                                                        \
    X(ORIGIN, "origin")                                                                                                \
    X(RANGE, "range")                                                                                                  \
    X(REFERER, "referer")                                                                                              \
    X(TE, "te")                                                                                                        \
    X(TRAILER, "trailer")                                                                                              \
    X(TRANSFER_ENCODING, "transfer-encoding")                                                                          \
    X(UPGRADE, "upgrade")                                                                                              \
    X(USER_AGENT, "user-agent")                                                                                        \
    X(X_FORWARDED_FOR, "x-forwarded-for")                                                                              \
    X(X_FORWARDED_PROTO, "x-forwarded-proto")                                                                          \
    X(X_REQUEST_ID, "x-request-id")

/* Token ids: ST_HTTP_H_OTHER (0) for a name that is not in the list. */
enum st_http_token {
    ST_HTTP_H_OTHER = 0,
#define ST_HTTP_TOKEN_ENUM(id, name) ST_HTTP_H_##id,
    ST_HTTP_TOKENS(ST_HTTP_TOKEN_ENUM)
#undef ST_HTTP_TOKEN_ENUM
        ST_HTTP_H__COUNT
};

/* Methods the server may dispatch on without comparing strings (RFC 9110 9.3, RFC 5789). */
enum st_http_method {
    ST_HTTP_M_OTHER = 0, /* a valid token we do not know: req->method has it */
    ST_HTTP_M_GET,
    ST_HTTP_M_HEAD,
    ST_HTTP_M_POST,
    ST_HTTP_M_PUT,
    ST_HTTP_M_DELETE,
    ST_HTTP_M_CONNECT,
    ST_HTTP_M_OPTIONS,
    ST_HTTP_M_TRACE,
    ST_HTTP_M_PATCH,
};

/* The four request-target forms of RFC 9112 3.2. */
enum st_http_target_form {
    ST_HTTP_FORM_ORIGIN,    /* "/path?query" */
    ST_HTTP_FORM_ABSOLUTE,  /* "http://host/path?query" (proxies; servers must accept it) */
    ST_HTTP_FORM_AUTHORITY, /* "host:port", CONNECT only */
    ST_HTTP_FORM_ASTERISK,  /* "*", OPTIONS only */
};

/* How the request body is framed (RFC 9112 6.3). */
enum st_http_body {
    ST_HTTP_BODY_NONE,    /* no body: neither Content-Length nor Transfer-Encoding */
    ST_HTTP_BODY_LENGTH,  /* exactly content_length bytes (may be 0) */
    ST_HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked; decode with st_http_chunked_decode */
};

/*
 * Limits. A zero field means "use the default" so that a partly filled struct is safe.
 * ST_HTTP_LIMITS_DEFAULT lists the defaults; pass NULL to the functions to use them all.
 */
struct st_http_limits {
    size_t max_target;    /* request-target bytes; longer: 414 */
    size_t max_head;      /* request line + header lines + blank line; larger: 431 */
    size_t max_headers;   /* header lines (at most ST_HTTP_HEADERS_MAX); more: 431 */
    uint64_t max_body;    /* body bytes: the server answers 413 past it (Content-Length is
                           * the server's check; the chunked decoder checks it itself) */
    size_t max_chunk_ext; /* bytes between a chunk-size and its CR (BWS and extensions); more: 400 */
    size_t max_trailers;  /* trailer field lines with their CRLFs; more: 431 */
};

#define ST_HTTP_LIMITS_DEFAULT                                                                                         \
    {                                                                                                                  \
        .max_target = 8192, .max_head = 65536, .max_headers = 100, .max_body = 1048576, .max_chunk_ext = 1024,         \
        .max_trailers = 8192,                                                                                          \
    }

/* Capacity of st_http_request.headers: max_headers is clamped to it. It makes the request
 * struct about 5 KiB: keep one per connection, not on a small stack. */
#define ST_HTTP_HEADERS_MAX 128

/* One header field line. */
struct st_http_header {
    struct st_str name;       /* as received (case preserved), 1*tchar */
    struct st_str value;      /* without leading and trailing whitespace; may be empty */
    enum st_http_token token; /* interned id, ST_HTTP_H_OTHER if not well known */
};

/*
 * A parsed request head. Zero it (or st_http_request_init) before the first call for a
 * new request; st_http_parse_request resets its private scan state itself when it
 * returns anything but ST_EAGAIN, so the struct can be reused for the next pipelined
 * request without re-initialising.
 */
struct st_http_request {
    struct st_str method;          /* the method token, case-sensitive */
    enum st_http_method method_id; /* the method, if well known */
    struct st_str target;          /* the request-target as received */
    enum st_http_target_form form; /* which of the four forms target is */
    struct st_str path;            /* still percent-encoded; "/" for "http://h"; "*" for asterisk-form;
                                    * empty for authority-form */
    struct st_str query;           /* after '?', without it; ptr NULL when there is no '?' */
    struct st_str authority;       /* host[:port] of absolute- and authority-form targets; else empty */
    struct st_str host;            /* authority if non-empty (RFC 9112 3.2.2), else the Host value */
    int minor_version;             /* HTTP/1.minor: 0 or 1 (higher minors are reported as 1) */
    struct st_http_header headers[ST_HTTP_HEADERS_MAX]; /* in order received */
    size_t nheaders;

    /* Derived from the headers. */
    enum st_http_body body;  /* how the body is framed */
    uint64_t content_length; /* the body length when body == ST_HTTP_BODY_LENGTH, else 0 */
    bool keep_alive;         /* the connection may carry another request after this one */
    bool expect_continue;    /* Expect: 100-continue on an HTTP/1.1 request */

    /* On error: the status to answer (400, 414, 431, 501, 505) and why (static text). */
    int status;
    const char *error;

    /* Private scan state: how far the previous ST_EAGAIN call got. */
    size_t scan_pos_;   /* start of the first line not yet terminated */
    size_t scan_start_; /* start of the request line (after leading empty lines) */
    size_t scan_lines_; /* complete lines seen so far, the request line included */
    bool scan_started_; /* leading empty lines skipped, scan_start_ is set */
};

/* Reset req for a new request (only the private scan state matters; the rest is output). */
void st_http_request_init(struct st_http_request *req);

/*
 * Parse the request head at buf[0..len). lim NULL means ST_HTTP_LIMITS_DEFAULT. Empty
 * lines before the request line are skipped (RFC 9112 2.2) and counted in the result.
 * Returns:
 *   > 0          the head is complete: that many bytes belong to it (the body, if any, and
 *                pipelined requests follow); all fields of req are set;
 *   ST_EAGAIN    the head is incomplete: call again with the same buf start and more bytes;
 *   ST_EPARSE    malformed: req->status is 400, 501 (transfer coding or overlong method)
 *                or 505 (HTTP version), req->error says why;
 *   ST_ELIMIT    a limit was exceeded: req->status is 414 or 431.
 * Slices borrow buf. Fields other than status/error are unspecified after an error.
 */
int st_http_parse_request(const char *buf, size_t len, struct st_http_request *req, const struct st_http_limits *lim);

/* The id of a header name (ASCII case-insensitive), ST_HTTP_H_OTHER if not well known. */
enum st_http_token st_http_token_lookup(struct st_str name);
/* The lower-case name of a token (a static literal; empty for ST_HTTP_H_OTHER). */
struct st_str st_http_token_name(enum st_http_token token);

/* The first header with this token, or NULL. */
const struct st_http_header *st_http_request_header(const struct st_http_request *req, enum st_http_token token);

/*
 * Incremental decoder of a chunked body (RFC 9112 7.1), in place: the chunk data is
 * moved down to the start of the buffer, over the framing it came in. Chunk extensions
 * are skipped (bounded by max_chunk_ext); trailer fields are checked for framing and
 * discarded (bounded by max_trailers): RFC 9110 6.5.1 lets a recipient drop them.
 */
struct st_http_chunked {
    int state;           /* private: where in the chunk grammar the decoder is */
    uint64_t remaining;  /* bytes of the current chunk's data not yet seen */
    uint64_t total;      /* data bytes decoded so far */
    size_t digits;       /* hex digits of the current chunk-size */
    size_t run;          /* bytes of the current extension / of the trailer section */
    uint64_t max_body;   /* copied from the limits */
    size_t max_ext;      /* copied from the limits */
    size_t max_trailers; /* copied from the limits */
    int status;          /* on error: 400, 413 or 431 */
    const char *error;   /* on error: why (static text) */
};

/* Ready to decode a new body with these limits (NULL: the defaults). */
void st_http_chunked_init(struct st_http_chunked *d, const struct st_http_limits *lim);

/*
 * Decode buf[0..len). The decoded data is written to buf[0..*out_len) (it never
 * overtakes the input, so in place is safe). *consumed receives how many input bytes were
 * used. Returns:
 *   0            the body is complete (last chunk and trailers read): buf[*consumed..len)
 *                belongs to the next request;
 *   ST_EAGAIN    every byte was consumed (*consumed == len) and the body goes on;
 *   ST_EPARSE    malformed (d->status 400): bad chunk size, bare LF, bad CRLF after data,
 *                control character or overlong chunk extension;
 *   ST_ELIMIT    the body would exceed max_body (413) or the trailers max_trailers (431).
 * After an error the decoder stays failed; on success or ST_EAGAIN buf[0..*out_len) may be
 * used (and then discarded) by the caller before the next call.
 */
int st_http_chunked_decode(struct st_http_chunked *d, char *buf, size_t len, size_t *consumed, size_t *out_len);

#endif
