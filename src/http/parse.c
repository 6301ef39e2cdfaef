/*
 * parse.c - the HTTP/1.1 request-head parser and the chunked body decoder (RFC 9112).
 *
 * The head is parsed in two passes. The scan pass runs on every call: it walks the new
 * bytes line by line (memchr for LF), refuses bare LF, and enforces the size limits, and
 * it remembers where it stopped so that a trickled head costs O(n) in total. Only when
 * the blank line has arrived does the second pass parse the request line and the header
 * lines, once. Every check of the scan pass depends only on bytes before the position it
 * fires at, in the same order for any split of the input, which is why the result does
 * not depend on how the bytes arrived (see the request-line prefix check below).
 */
#include "http/parse.h"

#include <limits.h>
#include <string.h>

#include "base/err.h"

/*
 * Methods longer than this are refused with 501: no registered method comes close, and a
 * bound lets the scan pass decide early that an unterminated request line is hopeless.
 */
#define METHOD_MAX 32

/* "HTTP/1.1" */
#define VERSION_LEN 8

/* The effective limits: the caller's, with zeros replaced by defaults and clamps applied. */
struct limits {
    size_t max_target;
    size_t max_head;
    size_t max_headers;
};

static const struct st_http_limits default_limits = ST_HTTP_LIMITS_DEFAULT;

static void resolve_limits(const struct st_http_limits *lim, struct limits *l)
{
    if (!lim)
        lim = &default_limits;
    l->max_target = lim->max_target ? lim->max_target : default_limits.max_target;
    l->max_head = lim->max_head ? lim->max_head : default_limits.max_head;
    l->max_headers = lim->max_headers ? lim->max_headers : default_limits.max_headers;
    /* The result is an int byte count. */
    if (l->max_head > INT_MAX)
        l->max_head = INT_MAX;
    if (l->max_headers > ST_HTTP_HEADERS_MAX)
        l->max_headers = ST_HTTP_HEADERS_MAX;
    /* A target cannot be longer than the head; this also keeps request_line_prefix() small. */
    if (l->max_target > l->max_head)
        l->max_target = l->max_head;
}

/* ---- character classes (RFC 9110 5.6.2, 5.5; RFC 3986 2) ---- */

/*
 * Byte classes, one bit each, so the per-byte checks of names and hosts are one load.
 * TC: tchar (RFC 9110 5.6.2). AU: bytes of uri-host [":" port] - reg-name, IP-literal,
 * pct-encoded - without '@', since userinfo in an http(s) authority is an error
 * (RFC 9110 4.2.4). Ranges use the GNU designated-initializer extension (GCC, Clang).
 */
enum { TC = 1, AU = 2 };
static const unsigned char byte_class[256] = {
    ['0' ... '9'] = TC | AU,
    ['a' ... 'z'] = TC | AU,
    ['A' ... 'Z'] = TC | AU,
    ['!'] = TC | AU,
    ['#'] = TC,
    ['$'] = TC | AU,
    ['%'] = TC | AU,
    ['&'] = TC | AU,
    ['\''] = TC | AU,
    ['*'] = TC | AU,
    ['+'] = TC | AU,
    ['-'] = TC | AU,
    ['.'] = TC | AU,
    ['^'] = TC,
    ['_'] = TC | AU,
    ['`'] = TC,
    ['|'] = TC,
    ['~'] = TC | AU,
    ['('] = AU,
    [')'] = AU,
    [','] = AU,
    [';'] = AU,
    ['='] = AU,
    [':'] = AU,
    ['['] = AU,
    [']'] = AU,
};

static bool is_tchar(unsigned char c)
{
    return byte_class[c] & TC;
}

/* field-vchar / SP / HTAB: anything but controls; obs-text (0x80-0xFF) is allowed. */
static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * Request-target bytes: visible ASCII except '#' (a fragment is never sent). Deliberately
 * looser than the URI grammar for '{', '|', '"' and friends, which browsers send raw in
 * queries; the path's percent-encoding is checked separately.
 */
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '#';
}

static bool is_authority_char(unsigned char c)
{
    return byte_class[c] & AU;
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

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

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ---- tokens ---- */

static const struct st_str token_names[ST_HTTP_H__COUNT] = { [ST_HTTP_H_OTHER] = { "", 0 },
#define TOKEN_NAME(id, name) [ST_HTTP_H_##id] = { "" name, sizeof(name) - 1 },
                                                             ST_HTTP_TOKENS(TOKEN_NAME)
#undef TOKEN_NAME
};

/*
 * A linear scan that rejects on length and first byte before comparing: with ~30 names
 * that is a few dozen integer compares per header, cheaper than hashing the name.
 */
enum st_http_token st_http_token_lookup(struct st_str name)
{
    if (name.len == 0)
        return ST_HTTP_H_OTHER;
    unsigned char first = lower((unsigned char)name.ptr[0]);
    for (int t = 1; t < ST_HTTP_H__COUNT; t++) {
        const struct st_str *n = &token_names[t];
        if (n->len == name.len && (unsigned char)n->ptr[0] == first && st_str_ieq(*n, name))
            return (enum st_http_token)t;
    }
    return ST_HTTP_H_OTHER;
}

struct st_str st_http_token_name(enum st_http_token token)
{
    if ((int)token <= 0 || (int)token >= ST_HTTP_H__COUNT)
        return token_names[ST_HTTP_H_OTHER];
    return token_names[token];
}

const struct st_http_header *st_http_request_header(const struct st_http_request *req, enum st_http_token token)
{
    for (size_t i = 0; i < req->nheaders; i++) {
        if (req->headers[i].token == token)
            return &req->headers[i];
    }
    return NULL;
}

/* ---- errors ---- */

void st_http_request_init(struct st_http_request *req)
{
    req->scan_pos_ = 0;
    req->scan_start_ = 0;
    req->scan_lines_ = 0;
    req->scan_started_ = false;
    req->status = 0;
    req->error = NULL;
}

/* Record the status to answer; the scan state is reset so req can parse a fresh request. */
static int fail(struct st_http_request *req, int rc, int status, const char *why)
{
    st_http_request_init(req);
    req->status = status;
    req->error = why;
    return rc;
}

static int bad(struct st_http_request *req, const char *why)
{
    return fail(req, ST_EPARSE, 400, why);
}

/* ---- request line (RFC 9112 3) ---- */

static enum st_http_method method_id(struct st_str m)
{
    static const struct {
        struct st_str name;
        enum st_http_method id;
    } methods[] = {
        { ST_STR_LIT("GET"), ST_HTTP_M_GET },         { ST_STR_LIT("HEAD"), ST_HTTP_M_HEAD },
        { ST_STR_LIT("POST"), ST_HTTP_M_POST },       { ST_STR_LIT("PUT"), ST_HTTP_M_PUT },
        { ST_STR_LIT("DELETE"), ST_HTTP_M_DELETE },   { ST_STR_LIT("CONNECT"), ST_HTTP_M_CONNECT },
        { ST_STR_LIT("OPTIONS"), ST_HTTP_M_OPTIONS }, { ST_STR_LIT("TRACE"), ST_HTTP_M_TRACE },
        { ST_STR_LIT("PATCH"), ST_HTTP_M_PATCH },
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (st_str_eq(m, methods[i].name))
            return methods[i].id;
    }
    return ST_HTTP_M_OTHER;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). */
static int parse_version(struct st_str v, struct st_http_request *req)
{
    if (v.len != VERSION_LEN || memcmp(v.ptr, "HTTP/", 5) != 0 || v.ptr[5] < '0' || v.ptr[5] > '9' || v.ptr[6] != '.' ||
        v.ptr[7] < '0' || v.ptr[7] > '9')
        return bad(req, "malformed HTTP version");
    if (v.ptr[5] != '1')
        return fail(req, ST_EPARSE, 505, "HTTP version not supported");
    /* RFC 9110 2.5: a higher minor version is handled as the highest we implement. */
    req->minor_version = v.ptr[7] == '0' ? 0 : 1;
    return 0;
}

/* Every '%' in s is followed by two hex digits. */
static bool pct_ok(struct st_str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '%') {
            if (s.len - i < 3 || !is_hex((unsigned char)s.ptr[i + 1]) || !is_hex((unsigned char)s.ptr[i + 2]))
                return false;
            i += 2;
        }
    }
    return true;
}

static bool authority_ok(struct st_str a)
{
    for (size_t i = 0; i < a.len; i++) {
        if (!is_authority_char((unsigned char)a.ptr[i]))
            return false;
    }
    return pct_ok(a);
}

/* Split "path?query" into req->path and req->query and check the path's encoding. */
static int split_path(struct st_str s, struct st_http_request *req)
{
    ptrdiff_t q = st_str_index(s, '?');
    req->path = q < 0 ? s : st_str(s.ptr, (size_t)q);
    req->query = q < 0 ? st_str(NULL, 0) : st_str(s.ptr + q + 1, s.len - (size_t)q - 1);
    if (!pct_ok(req->path))
        return bad(req, "bad percent-encoding in path");
    return 0;
}

/* absolute-form: scheme "://" authority path-abempty [ "?" query ] (RFC 9112 3.2.2). */
static int parse_absolute(struct st_str t, struct st_http_request *req)
{
    size_t i = 0;
    while (i < t.len &&
           ((t.ptr[i] >= 'a' && t.ptr[i] <= 'z') || (t.ptr[i] >= 'A' && t.ptr[i] <= 'Z') ||
            (i > 0 && ((t.ptr[i] >= '0' && t.ptr[i] <= '9') || t.ptr[i] == '+' || t.ptr[i] == '-' || t.ptr[i] == '.'))))
        i++;
    if (i == 0 || t.len - i < 3 || memcmp(t.ptr + i, "://", 3) != 0)
        return bad(req, "invalid request-target");
    size_t a0 = i + 3, a1 = a0;
    while (a1 < t.len && t.ptr[a1] != '/' && t.ptr[a1] != '?')
        a1++;
    req->authority = st_str(t.ptr + a0, a1 - a0);
    if (req->authority.len == 0 || !authority_ok(req->authority))
        return bad(req, "invalid authority in request-target");
    req->form = ST_HTTP_FORM_ABSOLUTE;
    int rc = split_path(st_str(t.ptr + a1, t.len - a1), req);
    if (rc)
        return rc;
    /* "http://h" and "http://h?q" mean the path "/" (RFC 9112 3.2.1). */
    if (req->path.len == 0)
        req->path = ST_STR_LIT("/");
    return 0;
}

static int parse_target(struct st_http_request *req)
{
    struct st_str t = req->target;
    req->authority = st_str(NULL, 0);
    req->query = st_str(NULL, 0);
    if (req->method_id == ST_HTTP_M_CONNECT) {
        /* authority-form only: host ":" port with a non-empty host and port. */
        ptrdiff_t colon = -1;
        for (size_t i = 0; i < t.len; i++) {
            if (t.ptr[i] == ':')
                colon = (ptrdiff_t)i;
        }
        if (colon <= 0 || (size_t)colon + 1 == t.len || !authority_ok(t))
            return bad(req, "CONNECT needs host:port");
        for (size_t i = (size_t)colon + 1; i < t.len; i++) {
            if (t.ptr[i] < '0' || t.ptr[i] > '9')
                return bad(req, "CONNECT needs host:port");
        }
        req->form = ST_HTTP_FORM_AUTHORITY;
        req->authority = t;
        req->path = st_str(t.ptr, 0);
        return 0;
    }
    if (t.ptr[0] == '/') {
        req->form = ST_HTTP_FORM_ORIGIN;
        return split_path(t, req);
    }
    if (t.len == 1 && t.ptr[0] == '*') {
        if (req->method_id != ST_HTTP_M_OPTIONS)
            return bad(req, "asterisk-form is for OPTIONS only");
        req->form = ST_HTTP_FORM_ASTERISK;
        req->path = t;
        return 0;
    }
    return parse_absolute(t, req);
}

/*
 * request-line = method SP request-target SP HTTP-version, exactly one SP each.
 * complete is false when p[0..n) is only a prefix of an unterminated line, long enough
 * that some check must fail (see request_line_prefix()); each check fires at a position
 * that depends only on earlier bytes, so prefix and full line give the same answer.
 */
static int parse_request_line(const char *p, size_t n, bool complete, struct st_http_request *req,
                              const struct limits *l)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i])) {
        if (i == METHOD_MAX)
            return fail(req, ST_EPARSE, 501, "method too long");
        i++;
    }
    if (i == 0 || i == n || p[i] != ' ')
        return bad(req, "malformed method");
    req->method = st_str(p, i);
    size_t t0 = ++i;
    while (i < n && p[i] != ' ') {
        /* The length check comes first so that it fires at the same byte on every split. */
        if (i - t0 == l->max_target)
            return fail(req, ST_ELIMIT, 414, "request-target too long");
        if (!is_target_char((unsigned char)p[i]))
            return bad(req, "invalid character in request-target");
        i++;
    }
    if (i == t0)
        return bad(req, "empty request-target");
    if (i == n)
        return bad(req, "missing HTTP version");
    req->target = st_str(p + t0, i - t0);
    int rc = parse_version(st_str(p + i + 1, n - i - 1), req);
    if (rc)
        return rc;
    if (!complete) /* NEVER: a prefix of this length always fails above */
        return bad(req, "request line too long");
    req->method_id = method_id(req->method);
    return parse_target(req);
}

/*
 * The longest valid request line, CR included, is METHOD_MAX + 1 + max_target + 1 +
 * VERSION_LEN + 1 bytes. An unterminated first line at least one byte longer is already
 * invalid, so the scan pass judges exactly that many bytes of it and stops waiting.
 */
static size_t request_line_prefix(const struct limits *l)
{
    return METHOD_MAX + 1 + l->max_target + 1 + VERSION_LEN + 2;
}

/* ---- header fields (RFC 9112 5, RFC 9110 5) ---- */

/* What the header lines say about framing and the connection, gathered in one pass. */
struct derived {
    size_t hosts;
    struct st_str host;
    bool cl_seen;
    uint64_t cl;
    bool te_seen, te_unknown, te_other, te_last_chunked, te_chunked_not_last;
    bool conn_close, conn_keep_alive;
    bool expect_continue;
};

/* Next element of a comma-separated list (RFC 9110 5.6.1), OWS trimmed; false at the end. */
static bool next_element(struct st_str *list, struct st_str *elem)
{
    while (list->len) {
        struct st_str head;
        *list = st_str_cut(*list, ',', &head, NULL);
        size_t a = 0, b = head.len;
        while (a < b && (head.ptr[a] == ' ' || head.ptr[a] == '\t'))
            a++;
        while (b > a && (head.ptr[b - 1] == ' ' || head.ptr[b - 1] == '\t'))
            b--;
        *elem = st_str(head.ptr + a, b - a);
        return true;
    }
    return false;
}

/* Content-Length = 1*DIGIT; a list of identical values is accepted (RFC 9110 8.6). */
static int content_length(struct st_str v, struct derived *d, struct st_http_request *req)
{
    struct st_str e;
    bool any = false;
    /* Unlike other lists, empty elements are refused: "5," is not a length. */
    if (v.len && v.ptr[v.len - 1] == ',')
        return bad(req, "invalid Content-Length");
    while (next_element(&v, &e)) {
        uint64_t n;
        if (e.len == 0 || e.ptr[0] == '-' || st_str_to_u64(e, &n) != 0)
            return bad(req, "invalid Content-Length");
        if (d->cl_seen && n != d->cl)
            return bad(req, "conflicting Content-Length values");
        d->cl_seen = true;
        d->cl = n;
        any = true;
    }
    if (!any)
        return bad(req, "invalid Content-Length");
    return 0;
}

/* Transfer-Encoding: remember enough to judge the whole list after the last field. */
static void transfer_encoding(struct st_str v, struct derived *d)
{
    static const char *const known[] = { "gzip", "x-gzip", "deflate", "compress", "x-compress" };
    struct st_str e;
    d->te_seen = true;
    while (next_element(&v, &e)) {
        if (e.len == 0)
            continue; /* empty list elements are allowed and ignored */
        if (d->te_last_chunked)
            d->te_chunked_not_last = true;
        d->te_last_chunked = false;
        if (st_str_ieq_c(e, "chunked")) {
            d->te_last_chunked = true;
            continue;
        }
        bool found = false;
        for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
            found |= st_str_ieq_c(e, known[i]);
        if (found)
            d->te_other = true;
        else
            d->te_unknown = true;
    }
}

static void connection_options(struct st_str v, struct derived *d)
{
    struct st_str e;
    while (next_element(&v, &e)) {
        if (st_str_ieq_c(e, "close"))
            d->conn_close = true;
        else if (st_str_ieq_c(e, "keep-alive"))
            d->conn_keep_alive = true;
    }
}

static void expectation(struct st_str v, struct derived *d)
{
    struct st_str e;
    while (next_element(&v, &e)) {
        if (st_str_ieq_c(e, "100-continue"))
            d->expect_continue = true;
    }
}

/* field-line = field-name ":" OWS field-value OWS, p[0..n) without the CRLF. */
static int parse_field(const char *p, size_t n, struct st_http_header *h, struct st_http_request *req)
{
    if (p[0] == ' ' || p[0] == '\t')
        return bad(req, "obsolete line folding");
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == n)
        return bad(req, "header line without a colon");
    if (p[i] == ' ' || p[i] == '\t')
        return bad(req, "whitespace between header name and colon");
    if (p[i] != ':' || i == 0)
        return bad(req, "invalid header name");
    h->name = st_str(p, i);
    size_t a = i + 1;
    for (size_t j = a; j < n; j++) {
        if (!is_field_char((unsigned char)p[j]))
            return bad(req, "control character in header value");
    }
    while (a < n && (p[a] == ' ' || p[a] == '\t'))
        a++;
    while (n > a && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    h->value = st_str(p + a, n - a);
    h->token = st_http_token_lookup(h->name);
    return 0;
}

static int note_field(const struct st_http_header *h, struct derived *d, struct st_http_request *req)
{
    switch (h->token) {
    case ST_HTTP_H_HOST:
        if (!authority_ok(h->value))
            return bad(req, "invalid Host");
        d->hosts++;
        d->host = h->value;
        return 0;
    case ST_HTTP_H_CONTENT_LENGTH: return content_length(h->value, d, req);
    case ST_HTTP_H_TRANSFER_ENCODING: transfer_encoding(h->value, d); return 0;
    case ST_HTTP_H_CONNECTION: connection_options(h->value, d); return 0;
    case ST_HTTP_H_EXPECT: expectation(h->value, d); return 0;
    default: return 0;
    }
}

/* Framing and connection decisions once every field is known (RFC 9112 6, 9.3). */
static int finish(const struct derived *d, struct st_http_request *req)
{
    if (d->hosts > 1)
        return bad(req, "more than one Host");
    if (d->hosts == 0 && req->minor_version >= 1)
        return bad(req, "missing Host");
    if (d->te_seen) {
        /* Both framings present is the classic smuggling shape: refuse, never pick one. */
        if (d->cl_seen)
            return bad(req, "both Content-Length and Transfer-Encoding");
        if (req->minor_version == 0)
            return bad(req, "Transfer-Encoding in HTTP/1.0");
        if (d->te_unknown)
            return fail(req, ST_EPARSE, 501, "unknown transfer coding");
        if (!d->te_last_chunked || d->te_chunked_not_last)
            return bad(req, "chunked is not the final transfer coding");
        if (d->te_other)
            return fail(req, ST_EPARSE, 501, "unsupported transfer coding");
        req->body = ST_HTTP_BODY_CHUNKED;
    } else if (d->cl_seen) {
        req->body = ST_HTTP_BODY_LENGTH;
        req->content_length = d->cl;
    }
    if (req->authority.len)
        req->host = req->authority;
    else
        req->host = d->hosts ? d->host : st_str(NULL, 0);
    req->keep_alive = req->minor_version >= 1 ? !d->conn_close : (d->conn_keep_alive && !d->conn_close);
    /* RFC 9110 10.1.1: a 100-continue expectation in an HTTP/1.0 request is ignored. */
    req->expect_continue = d->expect_continue && req->minor_version >= 1;
    return 0;
}

/* The second pass: buf[start..end) is a complete head, every line ending in CRLF. */
static int parse_head(const char *buf, size_t start, size_t end, struct st_http_request *req, const struct limits *l)
{
    const char *lf = memchr(buf + start, '\n', end - start);
    size_t pos = (size_t)(lf - buf) + 1;
    int rc = parse_request_line(buf + start, pos - 2 - start, true, req, l);
    if (rc)
        return rc;
    req->nheaders = 0;
    req->body = ST_HTTP_BODY_NONE;
    req->content_length = 0;
    struct derived d = { 0 };
    while (pos < end - 2) {
        lf = memchr(buf + pos, '\n', end - pos);
        size_t eol = (size_t)(lf - buf);
        struct st_http_header *h = &req->headers[req->nheaders++];
        rc = parse_field(buf + pos, eol - 1 - pos, h, req);
        if (rc)
            return rc;
        rc = note_field(h, &d, req);
        if (rc)
            return rc;
        pos = eol + 1;
    }
    rc = finish(&d, req);
    if (rc)
        return rc;
    st_http_request_init(req);
    return (int)end;
}

/* ---- the scan pass ---- */

int st_http_parse_request(const char *buf, size_t len, struct st_http_request *req, const struct st_http_limits *lim)
{
    struct limits l;
    resolve_limits(lim, &l);
    size_t pos = req->scan_pos_;
    if (!req->scan_started_) {
        /* RFC 9112 2.2: ignore empty lines before the request line (they still count
         * against max_head, so a stream of CRLFs cannot hold the connection forever). */
        while (pos + 1 < len && buf[pos] == '\r' && buf[pos + 1] == '\n')
            pos += 2;
        if (pos >= l.max_head)
            return fail(req, ST_ELIMIT, 431, "request header section too large");
        if (pos == len || (pos + 1 == len && buf[pos] == '\r')) {
            req->scan_pos_ = pos;
            return ST_EAGAIN;
        }
        req->scan_started_ = true;
        req->scan_start_ = pos;
        req->scan_lines_ = 0;
    }
    size_t start = req->scan_start_;
    size_t prefix = request_line_prefix(&l);
    for (;;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t b = nl ? (size_t)(nl - buf) : len; /* bytes before the LF (or all we have) */
        /* Of two limits crossed at once, the one with the lower threshold is reported:
         * that is the one a byte-at-a-time feed would have hit first. */
        if (pos == start && b - start >= prefix && (b < l.max_head || start + prefix <= l.max_head))
            return parse_request_line(buf + start, prefix, false, req, &l);
        if (b >= l.max_head)
            return fail(req, ST_ELIMIT, 431, "request header section too large");
        if (!nl)
            break;
        if (b == 0 || buf[b - 1] != '\r')
            return bad(req, "bare LF");
        if (b - 1 == pos) /* the empty line: the head is complete */
            return parse_head(buf, start, b + 1, req, &l);
        if (++req->scan_lines_ > l.max_headers + 1)
            return fail(req, ST_ELIMIT, 431, "too many header fields");
        pos = b + 1;
    }
    req->scan_pos_ = pos;
    return ST_EAGAIN;
}

/* ---- chunked bodies (RFC 9112 7.1) ---- */

enum {
    CH_SIZE0,      /* first hex digit of a chunk-size */
    CH_SIZE,       /* more hex digits, or what follows them */
    CH_SIZE_WS,    /* BWS after the size, before ';' or CR */
    CH_EXT,        /* chunk-ext: skipped, bounded */
    CH_SIZE_LF,    /* LF after the chunk-size line's CR */
    CH_DATA,       /* chunk-data */
    CH_DATA_CR,    /* CR after chunk-data */
    CH_DATA_LF,    /* LF after chunk-data */
    CH_TRAILER0,   /* start of a trailer line, or CR of the final empty line */
    CH_TRAILER,    /* inside a trailer line */
    CH_TRAILER_LF, /* LF ending a trailer line */
    CH_END_LF,     /* LF ending the message */
    CH_DONE,
    CH_FAILED,
};

/* More than 16 significant hex digits overflow; leading zeros are bounded too. */
#define CHUNK_SIZE_DIGITS_MAX 32

void st_http_chunked_init(struct st_http_chunked *d, const struct st_http_limits *lim)
{
    if (!lim)
        lim = &default_limits;
    memset(d, 0, sizeof(*d));
    d->state = CH_SIZE0;
    d->max_body = lim->max_body ? lim->max_body : default_limits.max_body;
    d->max_ext = lim->max_chunk_ext ? lim->max_chunk_ext : default_limits.max_chunk_ext;
    d->max_trailers = lim->max_trailers ? lim->max_trailers : default_limits.max_trailers;
}

static int chunk_fail(struct st_http_chunked *d, int rc, int status, const char *why)
{
    d->state = CH_FAILED;
    d->status = status;
    d->error = why;
    return rc;
}

static int chunk_bad(struct st_http_chunked *d, const char *why)
{
    return chunk_fail(d, ST_EPARSE, 400, why);
}

/* One hex digit of a chunk-size: overflow is 400, past the body limit 413. */
static int size_digit(struct st_http_chunked *d, int v)
{
    if (++d->digits > CHUNK_SIZE_DIGITS_MAX || (d->remaining >> 60) != 0)
        return chunk_bad(d, "chunk size too long");
    d->remaining = d->remaining * 16 + (uint64_t)v;
    if (d->remaining > d->max_body - d->total)
        return chunk_fail(d, ST_ELIMIT, 413, "chunked body too large");
    return 0;
}

/* A byte of a trailer line (checked for framing only, then dropped). */
static int trailer_byte(struct st_http_chunked *d, unsigned char c)
{
    if (++d->run > d->max_trailers)
        return chunk_fail(d, ST_ELIMIT, 431, "trailer section too large");
    if (c == '\r')
        d->state = CH_TRAILER_LF;
    else if (!is_field_char(c))
        return chunk_bad(d, c == '\n' ? "bare LF" : "control character in trailer");
    return 0;
}

/* One byte of framing (anything but chunk data). */
static int chunk_byte(struct st_http_chunked *d, unsigned char c)
{
    switch (d->state) {
    case CH_SIZE0:
    case CH_SIZE: {
        int v = hex_value(c);
        if (v >= 0) {
            d->state = CH_SIZE;
            return size_digit(d, v);
        }
        if (d->state == CH_SIZE0)
            return chunk_bad(d, "invalid chunk size");
        if (c == ';' || c == ' ' || c == '\t')
            d->state = c == ';' ? CH_EXT : CH_SIZE_WS;
        else if (c == '\r')
            d->state = CH_SIZE_LF;
        else
            return chunk_bad(d, "invalid chunk size");
        d->run = 1; /* everything between the size and CR counts against max_ext */
        return 0;
    }
    case CH_SIZE_WS:
        if (c == '\r') {
            d->state = CH_SIZE_LF;
            return 0;
        }
        if (c != ';' && c != ' ' && c != '\t')
            return chunk_bad(d, "invalid chunk size");
        if (++d->run > d->max_ext)
            return chunk_bad(d, "chunk extension too long");
        if (c == ';')
            d->state = CH_EXT;
        return 0;
    case CH_EXT:
        if (c == '\r') {
            d->state = CH_SIZE_LF;
            return 0;
        }
        if (!is_field_char(c))
            return chunk_bad(d, c == '\n' ? "bare LF" : "control character in chunk extension");
        if (++d->run > d->max_ext)
            return chunk_bad(d, "chunk extension too long");
        return 0;
    case CH_SIZE_LF:
        if (c != '\n')
            return chunk_bad(d, "CR without LF");
        d->state = d->remaining ? CH_DATA : CH_TRAILER0;
        d->run = 0;
        return 0;
    case CH_DATA_CR:
        if (c != '\r')
            return chunk_bad(d, "chunk data not followed by CRLF");
        d->state = CH_DATA_LF;
        return 0;
    case CH_DATA_LF:
        if (c != '\n')
            return chunk_bad(d, "chunk data not followed by CRLF");
        d->state = CH_SIZE0;
        d->digits = 0;
        return 0;
    case CH_TRAILER0:
        if (c == '\r') {
            d->state = CH_END_LF;
            return 0;
        }
        if (c == ' ' || c == '\t')
            return chunk_bad(d, "obsolete line folding in trailer");
        d->state = CH_TRAILER;
        return trailer_byte(d, c);
    case CH_TRAILER: return trailer_byte(d, c);
    case CH_TRAILER_LF:
        if (c != '\n')
            return chunk_bad(d, "CR without LF");
        if (++d->run > d->max_trailers)
            return chunk_fail(d, ST_ELIMIT, 431, "trailer section too large");
        d->state = CH_TRAILER0;
        return 0;
    case CH_END_LF:
        if (c != '\n')
            return chunk_bad(d, "CR without LF");
        d->state = CH_DONE;
        return 0;
    default: return chunk_bad(d, "internal state"); /* NEVER */
    }
}

int st_http_chunked_decode(struct st_http_chunked *d, char *buf, size_t len, size_t *consumed, size_t *out_len)
{
    size_t i = 0, out = 0;
    int rc = 0;
    *consumed = 0;
    *out_len = 0;
    if (d->state == CH_FAILED)
        return d->status == 400 ? ST_EPARSE : ST_ELIMIT;
    while (i < len && d->state != CH_DONE) {
        if (d->state == CH_DATA) {
            size_t n = len - i;
            if (n > d->remaining)
                n = (size_t)d->remaining;
            memmove(buf + out, buf + i, n);
            out += n;
            i += n;
            d->remaining -= n;
            d->total += n;
            if (d->remaining == 0)
                d->state = CH_DATA_CR;
            continue;
        }
        rc = chunk_byte(d, (unsigned char)buf[i++]);
        if (rc)
            break;
    }
    *consumed = i;
    *out_len = out;
    if (rc)
        return rc;
    return d->state == CH_DONE ? 0 : ST_EAGAIN;
}
