/*
 * fuzz_http_request.c - libFuzzer target for the HTTP/1.1 request parser and the chunked
 * body decoder (src/http/parse.c).
 *
 * The oracle is the parser's own promise that the split of the input does not matter:
 *   - the input is parsed whole and again one byte at a time (each call given an
 *     exact-size copy, so reading past the bytes handed over is caught); status, length and
 *     every field (as offsets into the input) must agree;
 *   - a parsed request obeys the grammar: slices lie inside the head, header names are
 *     tokens, values have no CR/LF or leading/trailing whitespace, framing is consistent;
 *   - the chunked decoder runs on what follows the head (or on the whole input when the
 *     head was refused), whole and byte by byte, and must agree on status, decoded bytes
 *     and where the body ended; decoding never produces more bytes than it consumed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/err.h"
#include "http/parse.h"

/* Small limits so the fuzzer reaches 414/431 with short inputs. */
static const struct st_http_limits lim = {
    .max_target = 64,
    .max_head = 1024,
    .max_headers = 16,
    .max_body = 4096,
    .max_chunk_ext = 16,
    .max_trailers = 64,
};

/* Offset of a slice inside base, or the slice's length for slices outside (static "/"). */
static void same_slice(struct st_str a, const char *base_a, struct st_str b, const char *base_b, size_t n)
{
    CHECK(a.len == b.len && (a.ptr == NULL) == (b.ptr == NULL));
    if (!a.ptr)
        return;
    CHECK(memcmp(a.ptr, b.ptr, a.len) == 0);
    bool in_a = a.ptr >= base_a && a.ptr + a.len <= base_a + n;
    bool in_b = b.ptr >= base_b && b.ptr + b.len <= base_b + n;
    CHECK(in_a == in_b);
    if (in_a)
        CHECK(a.ptr - base_a == b.ptr - base_b);
}

static void same_request(const struct st_http_request *x, const char *bx, const struct st_http_request *y,
                         const char *by, size_t n)
{
    same_slice(x->method, bx, y->method, by, n);
    same_slice(x->target, bx, y->target, by, n);
    same_slice(x->path, bx, y->path, by, n);
    same_slice(x->query, bx, y->query, by, n);
    same_slice(x->authority, bx, y->authority, by, n);
    same_slice(x->host, bx, y->host, by, n);
    CHECK(x->method_id == y->method_id && x->form == y->form && x->minor_version == y->minor_version);
    CHECK(x->nheaders == y->nheaders && x->body == y->body && x->content_length == y->content_length);
    CHECK(x->keep_alive == y->keep_alive && x->expect_continue == y->expect_continue);
    for (size_t i = 0; i < x->nheaders; i++) {
        same_slice(x->headers[i].name, bx, y->headers[i].name, by, n);
        same_slice(x->headers[i].value, bx, y->headers[i].value, by, n);
        CHECK(x->headers[i].token == y->headers[i].token);
    }
}

static bool tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void grammar(const struct st_http_request *r, const char *buf, size_t head)
{
    CHECK(r->method.len > 0 && r->target.len > 0 && r->target.len <= lim.max_target);
    CHECK(r->method.ptr >= buf && r->target.ptr + r->target.len <= buf + head);
    CHECK(r->nheaders <= lim.max_headers);
    CHECK(r->minor_version == 0 || r->minor_version == 1);
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
        if (h->token == ST_HTTP_H_CONTENT_LENGTH)
            CHECK(r->body == ST_HTTP_BODY_LENGTH);
        if (h->token == ST_HTTP_H_TRANSFER_ENCODING)
            CHECK(r->body == ST_HTTP_BODY_CHUNKED);
    }
    if (r->minor_version == 1)
        CHECK(st_http_request_header(r, ST_HTTP_H_HOST) != NULL);
    CHECK(r->form != ST_HTTP_FORM_ORIGIN || r->path.ptr[0] == '/');
}

/* Parse data[0..size) fed up to each length in lens; copies live in *owned. */
static int parse_fed(const uint8_t *data, size_t size, bool bytewise, struct st_http_request *req, char **owned)
{
    st_http_request_init(req);
    *owned = NULL;
    int rc = ST_EAGAIN;
    for (size_t n = bytewise ? 0 : size; n <= size; n++) {
        free(*owned);
        *owned = malloc(n ? n : 1);
        CHECK(*owned);
        memcpy(*owned, data, n);
        rc = st_http_parse_request(*owned, n, req, &lim);
        if (rc != ST_EAGAIN)
            break;
    }
    return rc;
}

struct decoded {
    int rc, status;
    size_t consumed, dlen;
};

static struct decoded decode(const uint8_t *in, size_t n, bool bytewise, char *out)
{
    struct st_http_chunked d;
    struct decoded r = { ST_EAGAIN, 0, 0, 0 };
    st_http_chunked_init(&d, &lim);
    size_t step = bytewise ? 1 : (n ? n : 1);
    for (size_t at = 0; at < n || (at == 0 && n == 0); at += step) {
        size_t len = n - at < step ? n - at : step, used = 0, got = 0;
        char *piece = malloc(len ? len : 1);
        CHECK(piece);
        memcpy(piece, in + at, len);
        r.rc = st_http_chunked_decode(&d, piece, len, &used, &got);
        CHECK(got <= used && used <= len);
        memcpy(out + r.dlen, piece, got);
        free(piece);
        r.dlen += got;
        r.consumed += used;
        if (r.rc != ST_EAGAIN)
            break;
        CHECK(used == len);
        if (n == 0)
            break;
    }
    r.status = d.status;
    CHECK(d.total <= lim.max_body);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0; /* byte-at-a-time copies are quadratic in the harness, not the parser */
    static struct st_http_request a, b;
    char *ba, *bb;
    int ra = parse_fed(data, size, false, &a, &ba);
    int rb = parse_fed(data, size, true, &b, &bb);
    CHECK(ra == rb && a.status == b.status);
    CHECK(ra == ST_EAGAIN || ra > 0 || ra == ST_EPARSE || ra == ST_ELIMIT);
    if (ra > 0) {
        CHECK((size_t)ra <= size);
        same_request(&a, ba, &b, bb, (size_t)ra);
        grammar(&a, ba, (size_t)ra);
    } else if (ra != ST_EAGAIN) {
        CHECK(a.error != NULL);
        CHECK(a.status == 400 || a.status == 414 || a.status == 431 || a.status == 501 || a.status == 505);
        CHECK((ra == ST_ELIMIT) == (a.status == 414 || a.status == 431));
    }
    free(ba);
    free(bb);

    size_t off = ra > 0 ? (size_t)ra : 0;
    char *oa = malloc(size + 1), *ob = malloc(size + 1);
    CHECK(oa && ob);
    struct decoded da = decode(data + off, size - off, false, oa);
    struct decoded db = decode(data + off, size - off, true, ob);
    CHECK(da.rc == db.rc && da.status == db.status);
    if (da.rc == 0 || da.rc == ST_EAGAIN) {
        CHECK(da.dlen == db.dlen && da.consumed == db.consumed);
        CHECK(memcmp(oa, ob, da.dlen) == 0);
    } else {
        size_t m = da.dlen < db.dlen ? da.dlen : db.dlen;
        CHECK(memcmp(oa, ob, m) == 0);
    }
    free(oa);
    free(ob);
    return 0;
}
