/*
 * response.h - the HTTP/1.1 response-head parser (RFC 9112 4, 6.3), for the client.
 *
 * The counterpart of parse.h, with the same invariants:
 *   - Zero copy: the reason phrase and every header borrow the caller's buffer.
 *   - Incremental: ST_EAGAIN until the blank line has arrived; call again with the same
 *     start and more bytes (the buffer may move or grow in between: only offsets are kept).
 *     The response remembers how far it scanned, so a trickled head costs O(n).
 *   - Strict: anything that would let two recipients disagree about where the response
 *     ends is refused (both Content-Length and Transfer-Encoding, differing lengths, a
 *     transfer coding other than chunked, Transfer-Encoding in HTTP/1.0, obs-fold, bare LF
 *     or CR, whitespace before a colon, control characters), as are malformed status lines
 *     and versions other than HTTP/1.x. A grader must never accept a broken server.
 *   - Split independence: any split of the same input gives the same result and fields
 *     (tests/http/test_response.c and fuzz/fuzz_http_response.c check it).
 *
 * Body framing (RFC 9112 6.3) depends on the request: no body for a response to HEAD, for
 * 1xx, 204 and 304, and for a 2xx to CONNECT (a tunnel follows, so the connection is not
 * kept alive); otherwise chunked, Content-Length, or "read until close".
 *
 * Deliberately lenient in one harmless place: "HTTP/1.1 200" without the SP before an
 * empty reason phrase is accepted (old servers send it; it cannot change framing).
 */
#ifndef ST_HTTP_RESPONSE_H
#define ST_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"
#include "http/parse.h"

/* How the response body is delimited. */
enum st_http_rbody {
    ST_HTTP_RBODY_NONE,    /* no body (HEAD, 1xx, 204, 304, 2xx to CONNECT) */
    ST_HTTP_RBODY_LENGTH,  /* exactly content_length bytes */
    ST_HTTP_RBODY_CHUNKED, /* decode with st_http_chunked_decode */
    ST_HTTP_RBODY_CLOSE,   /* everything until the server closes the connection */
};

/*
 * A parsed response head. Zero it or call st_http_response_init before the first call
 * for a new response; after any result but ST_EAGAIN the scan state is reset, so the
 * struct can parse the next (pipelined) response without re-initialising. About 5 KiB:
 * keep one per connection.
 */
struct st_http_response {
    int minor_version;    /* HTTP/1.minor: 0 or 1 (higher minors are reported as 1) */
    int status;           /* 100..599 */
    struct st_str reason; /* may be empty */
    struct st_http_header headers[ST_HTTP_HEADERS_MAX];
    size_t nheaders;

    /* Derived. */
    enum st_http_rbody body;
    uint64_t content_length; /* when body == ST_HTTP_RBODY_LENGTH, else 0 */
    bool keep_alive;         /* the connection may carry another request afterwards */

    /* On ST_EPARSE / ST_ELIMIT: why (static text). */
    const char *error;

    /* Private scan state. */
    size_t scan_pos_;   /* start of the first line not yet terminated */
    size_t scan_lines_; /* complete lines so far, the status line included */
};

void st_http_response_init(struct st_http_response *res);

/*
 * Parse the response head at buf[0..len). method is the request's method (framing of
 * HEAD and CONNECT responses); lim NULL means the defaults (max_head and max_headers are
 * used). Returns:
 *   > 0         the head is complete and has that many bytes; the body follows;
 *   ST_EAGAIN   incomplete: call again with more bytes;
 *   ST_EPARSE   malformed: res->error says why;
 *   ST_ELIMIT   the head is larger than max_head or has more than max_headers fields.
 * A response that does not start with "HTTP/1." fails as soon as the first byte that
 * differs arrives, so talking to something that is not an HTTP server fails fast.
 */
int st_http_parse_response(const char *buf, size_t len, struct st_http_response *res, enum st_http_method method,
                           const struct st_http_limits *lim);

/* The first header with this token, or NULL. */
const struct st_http_header *st_http_response_header(const struct st_http_response *res, enum st_http_token token);

#endif
