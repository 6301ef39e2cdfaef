/*
 * fuzz_http_response.c - libFuzzer target for the response-head parser
 * (src/http/response.c).
 *
 * The oracle is the parser's promise that the split does not matter: the input is parsed
 * whole and one byte at a time (each call given an exact-size copy, so a read past the
 * bytes handed over is caught), as a response to GET and to HEAD (an input length that is
 * a multiple of 3 uses CONNECT instead of GET, for the tunnel rule); status, length, error and
 * every field (as offsets) must agree. A parsed head obeys the grammar: status 100-599,
 * header names are tokens, values have no CR/LF/NUL and no surrounding whitespace, and
 * framing is consistent (no body for HEAD, 1xx, 204, 304; close-delimited is never
 * kept alive). After a complete head the rest is parsed again as a pipelined response.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/err.h"
#include "http/response.h"

static const struct st_http_limits lim = { .max_head = 1024, .max_headers = 16 };

static bool tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int parse_fed(const uint8_t *data, size_t size, bool bytewise, enum st_http_method m,
                     struct st_http_response *res, char **owned)
{
    st_http_response_init(res);
    *owned = NULL;
    int rc = ST_EAGAIN;
    for (size_t n = bytewise ? 0 : size; n <= size; n++) {
        free(*owned);
        *owned = malloc(n ? n : 1);
        CHECK(*owned);
        memcpy(*owned, data, n);
        rc = st_http_parse_response(*owned, n, res, m, &lim);
        if (rc != ST_EAGAIN)
            break;
    }
    return rc;
}

static void same_slice(struct st_str a, const char *ba, struct st_str b, const char *bb)
{
    CHECK(a.len == b.len && a.ptr - ba == b.ptr - bb);
}

static void grammar(const struct st_http_response *r, enum st_http_method m, const char *buf, size_t head)
{
    CHECK(r->status >= 100 && r->status <= 599);
    CHECK(r->minor_version == 0 || r->minor_version == 1);
    CHECK(r->nheaders <= lim.max_headers);
    CHECK(r->reason.ptr >= buf && r->reason.ptr + r->reason.len <= buf + head);
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct st_http_header *h = &r->headers[i];
        CHECK(h->name.len > 0 && h->name.ptr >= buf && h->value.ptr + h->value.len <= buf + head);
        for (size_t j = 0; j < h->name.len; j++)
            CHECK(tchar((unsigned char)h->name.ptr[j]));
        for (size_t j = 0; j < h->value.len; j++)
            CHECK(h->value.ptr[j] != '\r' && h->value.ptr[j] != '\n' && h->value.ptr[j] != '\0');
        if (h->value.len)
            CHECK(h->value.ptr[0] != ' ' && h->value.ptr[h->value.len - 1] != ' ');
        CHECK(h->token == st_http_token_lookup(h->name));
    }
    if (m == ST_HTTP_M_HEAD || r->status < 200 || r->status == 204 || r->status == 304)
        CHECK(r->body == ST_HTTP_RBODY_NONE);
    if (r->body == ST_HTTP_RBODY_CLOSE)
        CHECK(!r->keep_alive);
    if (r->body != ST_HTTP_RBODY_LENGTH)
        CHECK(r->content_length == 0);
    if (r->body == ST_HTTP_RBODY_CHUNKED)
        CHECK(r->minor_version == 1 && st_http_response_header(r, ST_HTTP_H_CONTENT_LENGTH) == NULL);
}

/* One response at data[0..size); returns the head length or 0. */
static size_t one(const uint8_t *data, size_t size, enum st_http_method m)
{
    static struct st_http_response a, b;
    char *ba, *bb;
    int ra = parse_fed(data, size, false, m, &a, &ba);
    int rb = parse_fed(data, size, true, m, &b, &bb);
    CHECK(ra == rb);
    CHECK(ra == ST_EAGAIN || ra > 0 || ra == ST_EPARSE || ra == ST_ELIMIT);
    size_t head = 0;
    if (ra > 0) {
        head = (size_t)ra;
        CHECK(head <= size && head <= lim.max_head);
        CHECK(a.status == b.status && a.minor_version == b.minor_version && a.body == b.body);
        CHECK(a.content_length == b.content_length && a.keep_alive == b.keep_alive && a.nheaders == b.nheaders);
        same_slice(a.reason, ba, b.reason, bb);
        for (size_t i = 0; i < a.nheaders; i++) {
            same_slice(a.headers[i].name, ba, b.headers[i].name, bb);
            same_slice(a.headers[i].value, ba, b.headers[i].value, bb);
        }
        grammar(&a, m, ba, head);
    } else if (ra != ST_EAGAIN) {
        CHECK(a.error && b.error && strcmp(a.error, b.error) == 0);
    }
    free(ba);
    free(bb);
    return head;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0; /* byte-at-a-time copies are quadratic in the harness, not the parser */
    enum st_http_method first = size % 3 == 0 ? ST_HTTP_M_CONNECT : ST_HTTP_M_GET;
    size_t at = 0;
    for (int k = 0; k < 4 && at < size; k++) {
        size_t n = one(data + at, size - at, k == 0 ? first : ST_HTTP_M_GET);
        (void)one(data + at, size - at, ST_HTTP_M_HEAD);
        if (n == 0)
            break;
        at += n;
    }
    return 0;
}
