/*
 * response.c - the HTTP/1.1 response-head parser (RFC 9112 4, 6.3).
 *
 * Built like the request parser in parse.c: a scan pass on every call walks the new bytes
 * line by line, refuses bare LF and enforces the size limits, and remembers where it
 * stopped; once the blank line has arrived a second pass parses the status line and the
 * fields, once. Before the scan, the first nine bytes ("HTTP/1.1 ") are matched against
 * the status-line grammar as far as they have arrived, so a peer that is not an HTTP/1.x
 * server is refused at its first wrong byte instead of after a timeout. Every check fires
 * at a position that depends only on the bytes before it, in the same order for any
 * split, so the result does not depend on how the bytes arrived.
 *
 * The field-line grammar is the one parse.c applies to requests (kept private there);
 * the few lines are repeated here rather than widening parse.h for the client.
 */
#include "http/response.h"

#include <limits.h>
#include <string.h>

#include "base/err.h"

/* "HTTP/1.1 " */
#define PREFIX_LEN 9
/* "HTTP/1.1 200" */
#define STATUS_LINE_MIN 12

static const struct st_http_limits default_limits = ST_HTTP_LIMITS_DEFAULT;

void st_http_response_init(struct st_http_response *res)
{
    res->scan_pos_ = 0;
    res->scan_lines_ = 0;
    res->error = NULL;
}

static int fail(struct st_http_response *res, int rc, const char *why)
{
    st_http_response_init(res);
    res->error = why;
    return rc;
}

static int bad(struct st_http_response *res, const char *why)
{
    return fail(res, ST_EPARSE, why);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* field-vchar / SP / HTAB, obs-text allowed: anything but controls. */
static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Match what has arrived of "HTTP/" DIGIT "." DIGIT SP; 0 or ST_EPARSE at the first wrong byte. */
static int check_prefix(const char *p, size_t len, struct st_http_response *res)
{
    size_t n = len < PREFIX_LEN ? len : PREFIX_LEN;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (i < 5 && c != "HTTP/"[i])
            return bad(res, "not an HTTP/1.x response");
        if ((i == 5 || i == 7) && !is_digit(c))
            return bad(res, "malformed HTTP version");
        if (i == 5 && c != '1')
            return bad(res, "unsupported HTTP version");
        if (i == 6 && c != '.')
            return bad(res, "malformed HTTP version");
        if (i == 8 && c != ' ')
            return bad(res, "malformed status line");
    }
    return 0;
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ], p[0..n) without CRLF. */
static int parse_status_line(const char *p, size_t n, struct st_http_response *res)
{
    /* check_prefix has accepted p[0..9). */
    res->minor_version = p[7] == '0' ? 0 : 1;
    if (n < STATUS_LINE_MIN || !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]))
        return bad(res, "malformed status code");
    res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (res->status < 100 || res->status > 599)
        return bad(res, "status code out of range");
    res->reason = st_str(p + n, 0);
    if (n == STATUS_LINE_MIN)
        return 0;
    if (p[STATUS_LINE_MIN] != ' ')
        return bad(res, "malformed status code");
    for (size_t i = STATUS_LINE_MIN + 1; i < n; i++) {
        if (!is_field_char((unsigned char)p[i]))
            return bad(res, "control character in reason phrase");
    }
    res->reason = st_str(p + STATUS_LINE_MIN + 1, n - STATUS_LINE_MIN - 1);
    return 0;
}

/* field-line = field-name ":" OWS field-value OWS, p[0..n) without the CRLF. */
static int parse_field(const char *p, size_t n, struct st_http_header *h, struct st_http_response *res)
{
    if (p[0] == ' ' || p[0] == '\t')
        return bad(res, "obsolete line folding");
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == n)
        return bad(res, "header line without a colon");
    if (p[i] == ' ' || p[i] == '\t')
        return bad(res, "whitespace between header name and colon");
    if (p[i] != ':' || i == 0)
        return bad(res, "invalid header name");
    h->name = st_str(p, i);
    size_t a = i + 1;
    for (size_t j = a; j < n; j++) {
        if (!is_field_char((unsigned char)p[j]))
            return bad(res, "control character in header value");
    }
    while (a < n && (p[a] == ' ' || p[a] == '\t'))
        a++;
    while (n > a && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    h->value = st_str(p + a, n - a);
    h->token = st_http_token_lookup(h->name);
    return 0;
}

/* What the fields say about framing and the connection. */
struct derived {
    bool cl_seen;
    uint64_t cl;
    bool te_seen, te_chunked, te_other;
    size_t te_elems;
    bool conn_close, conn_keep_alive;
};

/* Next element of a comma-separated list, OWS trimmed; false at the end. */
static bool next_element(struct st_str *list, struct st_str *elem)
{
    if (!list->len)
        return false;
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

/* Content-Length = 1*DIGIT; identical values in a list or repeated fields are one value. */
static int content_length(struct st_str v, struct derived *d, struct st_http_response *res)
{
    struct st_str e;
    bool any = false;
    if (v.len && v.ptr[v.len - 1] == ',')
        return bad(res, "invalid Content-Length");
    while (next_element(&v, &e)) {
        uint64_t n;
        if (e.len == 0 || e.ptr[0] == '-' || st_str_to_u64(e, &n) != 0)
            return bad(res, "invalid Content-Length");
        if (d->cl_seen && n != d->cl)
            return bad(res, "conflicting Content-Length values");
        d->cl_seen = true;
        d->cl = n;
        any = true;
    }
    return any ? 0 : bad(res, "invalid Content-Length");
}

static void note_field(const struct st_http_header *h, struct derived *d)
{
    struct st_str v = h->value, e;
    if (h->token == ST_HTTP_H_TRANSFER_ENCODING) {
        d->te_seen = true;
        while (next_element(&v, &e)) {
            if (e.len == 0)
                continue;
            d->te_elems++;
            if (st_str_ieq_c(e, "chunked"))
                d->te_chunked = true;
            else
                d->te_other = true;
        }
    } else if (h->token == ST_HTTP_H_CONNECTION) {
        while (next_element(&v, &e)) {
            d->conn_close |= st_str_ieq_c(e, "close");
            d->conn_keep_alive |= st_str_ieq_c(e, "keep-alive");
        }
    }
}

/* Framing (RFC 9112 6.3) and persistence (9.3) once every field is known. */
static int finish(const struct derived *d, enum st_http_method method, struct st_http_response *res)
{
    if (d->te_seen) {
        if (d->cl_seen)
            return bad(res, "both Content-Length and Transfer-Encoding");
        if (res->minor_version == 0)
            return bad(res, "Transfer-Encoding in HTTP/1.0");
        /* We never send TE, so only chunked, exactly once, can be decoded. */
        if (d->te_other || d->te_elems != 1 || !d->te_chunked)
            return bad(res, "unsupported transfer coding");
    }
    res->keep_alive = res->minor_version >= 1 ? !d->conn_close : (d->conn_keep_alive && !d->conn_close);
    res->body = ST_HTTP_RBODY_CLOSE;
    res->content_length = 0;
    if (method == ST_HTTP_M_HEAD || res->status < 200 || res->status == 204 || res->status == 304) {
        res->body = ST_HTTP_RBODY_NONE;
    } else if (method == ST_HTTP_M_CONNECT && res->status < 300) {
        res->body = ST_HTTP_RBODY_NONE;
        res->keep_alive = false; /* the connection is a tunnel now */
    } else if (d->te_seen) {
        res->body = ST_HTTP_RBODY_CHUNKED;
    } else if (d->cl_seen) {
        res->body = ST_HTTP_RBODY_LENGTH;
        res->content_length = d->cl;
    } else {
        res->keep_alive = false; /* the end of the body is the end of the connection */
    }
    return 0;
}

/* Second pass: buf[0..end) is a complete head, every line ending in CRLF. */
static int parse_head(const char *buf, size_t end, struct st_http_response *res, enum st_http_method method)
{
    const char *lf = memchr(buf, '\n', end);
    size_t pos = (size_t)(lf - buf) + 1;
    int rc = parse_status_line(buf, pos - 2, res);
    if (rc)
        return rc;
    res->nheaders = 0;
    struct derived d = { 0 };
    while (pos < end - 2) {
        lf = memchr(buf + pos, '\n', end - pos);
        size_t eol = (size_t)(lf - buf);
        struct st_http_header *h = &res->headers[res->nheaders++];
        rc = parse_field(buf + pos, eol - 1 - pos, h, res);
        if (rc)
            return rc;
        if (h->token == ST_HTTP_H_CONTENT_LENGTH) {
            rc = content_length(h->value, &d, res);
            if (rc)
                return rc;
        }
        note_field(h, &d);
        pos = eol + 1;
    }
    rc = finish(&d, method, res);
    if (rc)
        return rc;
    st_http_response_init(res);
    return (int)end;
}

int st_http_parse_response(const char *buf, size_t len, struct st_http_response *res, enum st_http_method method,
                           const struct st_http_limits *lim)
{
    if (!lim)
        lim = &default_limits;
    size_t max_head = lim->max_head ? lim->max_head : default_limits.max_head;
    size_t max_headers = lim->max_headers ? lim->max_headers : default_limits.max_headers;
    if (max_head > INT_MAX)
        max_head = INT_MAX;
    if (max_head < 64) /* room for a status line: keeps the prefix check ahead of the limit */
        max_head = 64;
    if (max_headers > ST_HTTP_HEADERS_MAX)
        max_headers = ST_HTTP_HEADERS_MAX;

    int rc = check_prefix(buf, len, res);
    if (rc)
        return rc;
    size_t pos = res->scan_pos_;
    for (;;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t b = nl ? (size_t)(nl - buf) : len; /* bytes before the LF (or all we have) */
        if (b >= max_head)
            return fail(res, ST_ELIMIT, "response header section too large");
        if (!nl)
            break;
        if (b == 0 || buf[b - 1] != '\r')
            return bad(res, "bare LF");
        if (b - 1 == pos && pos > 0) /* the empty line: the head is complete */
            return parse_head(buf, b + 1, res, method);
        if (++res->scan_lines_ > max_headers + 1)
            return fail(res, ST_ELIMIT, "too many header fields");
        pos = b + 1;
    }
    res->scan_pos_ = pos;
    return ST_EAGAIN;
}

const struct st_http_header *st_http_response_header(const struct st_http_response *res, enum st_http_token token)
{
    for (size_t i = 0; i < res->nheaders; i++) {
        if (res->headers[i].token == token)
            return &res->headers[i];
    }
    return NULL;
}
