/*
 * resp.c - RESP for `strata kv`: the incremental request parser (multibulk and inline,
 * with Redis's limits and error texts) and the kv_reply_* encoders of internal.h.
 *
 * The parser never copies a multibulk argument: it records offsets into the connection's
 * query buffer and hands out slices once the command is complete (the buffer is not
 * touched while the command runs). Replies are appended straight into the client's output
 * buffer with one reserve per value; the server writes that buffer once per loop turn.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "kv/core.h"
#include "kv/resp.h"

/* ---- numbers ------------------------------------------------------------------------ */

bool kv_resp_strtoll(const char *p, size_t n, int64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    if (n == 1 && p[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool neg = p[0] == '-';
    if (neg && ++i == n)
        return false;
    if (p[i] < '1' || p[i] > '9') /* no leading zeros, no "-0", no '+' */
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

size_t kv_resp_ll2str(char *buf, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

/* ---- the request parser ------------------------------------------------------------- */

void kv_req_init(struct kv_req *r)
{
    memset(r, 0, sizeof *r);
    r->bulklen = -1;
    st_buf_init(&r->inl, KV_INLINE_MAX + 16);
}

void kv_req_release(struct kv_req *r)
{
    free(r->args);
    st_buf_release(&r->inl);
    memset(r, 0, sizeof *r);
    r->bulklen = -1;
}

static void req_reset(struct kv_req *r)
{
    r->type = 0;
    r->multibulk = 0;
    r->bulklen = -1;
    r->argc = 0;
}

static void req_push(struct kv_req *r, size_t off, size_t len)
{
    if (r->argc == r->cap) {
        /* Grow with the arguments that actually arrive, never by the announced count:
         * "*2000000000" alone must not make us allocate. */
        r->cap = r->cap ? r->cap * 2 : 8;
        r->args = st_xrealloc(r->args, (size_t)r->cap * sizeof *r->args);
    }
    r->args[r->argc].off = off;
    r->args[r->argc].len = len;
    r->argc++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One double-quoted inline word starting after the quote; as sdssplitargs. */
static bool inline_dquoted(struct kv_req *r, const char **pp, const char *end)
{
    const char *p = *pp;
    for (;;) {
        if (p >= end)
            return false; /* unterminated */
        if (*p == '\\' && p + 3 < end && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
            st_buf_append_byte(&r->inl, (char)(hexval(p[2]) * 16 + hexval(p[3])));
            p += 4;
        } else if (*p == '\\' && p + 1 < end) {
            char c = p[1];
            c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c == 'b' ? '\b' : c == 'a' ? '\a' : c;
            st_buf_append_byte(&r->inl, c);
            p += 2;
        } else if (*p == '"') {
            /* the closing quote must be followed by a space or the end */
            if (p + 1 < end && p[1] != ' ' && p[1] != '\t' && p[1] != '\n' && p[1] != '\r' && p[1] != '\v' &&
                p[1] != '\f')
                return false;
            *pp = p + 1;
            return true;
        } else {
            st_buf_append_byte(&r->inl, *p++);
        }
    }
}

static bool inline_squoted(struct kv_req *r, const char **pp, const char *end)
{
    const char *p = *pp;
    for (;;) {
        if (p >= end)
            return false;
        if (*p == '\\' && p + 1 < end && p[1] == '\'') {
            st_buf_append_byte(&r->inl, '\'');
            p += 2;
        } else if (*p == '\'') {
            if (p + 1 < end && p[1] != ' ' && p[1] != '\t' && p[1] != '\n' && p[1] != '\r' && p[1] != '\v' &&
                p[1] != '\f')
                return false;
            *pp = p + 1;
            return true;
        } else {
            st_buf_append_byte(&r->inl, *p++);
        }
    }
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Split an inline line into r->inl / r->args the way Redis's sdssplitargs does. */
static bool inline_split(struct kv_req *r, const char *p, const char *end)
{
    st_buf_clear(&r->inl);
    /* Every argument is at most the line's length: reserve once, so appends never fail. */
    st_buf_reserve(&r->inl, (size_t)(end - p) + 1);
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (p >= end)
            return true;
        size_t start = r->inl.len;
        while (p < end && !is_space(*p)) {
            if (*p == '"') {
                p++;
                if (!inline_dquoted(r, &p, end))
                    return false;
            } else if (*p == '\'') {
                p++;
                if (!inline_squoted(r, &p, end))
                    return false;
            } else {
                st_buf_append_byte(&r->inl, *p++);
            }
        }
        req_push(r, start, r->inl.len - start);
    }
}

static int parse_inline(struct kv_req *r, const char *buf, size_t len, size_t *pos, const char **err)
{
    const char *start = buf + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    if (!nl) {
        if (len - *pos > KV_INLINE_MAX) {
            *err = "ERR Protocol error: too big inline request";
            return KV_REQ_ERROR;
        }
        return KV_REQ_MORE;
    }
    const char *end = nl;
    if (end > start && end[-1] == '\r')
        end--;
    r->argc = 0;
    if (!inline_split(r, start, end)) {
        *err = "ERR Protocol error: unbalanced quotes in request";
        return KV_REQ_ERROR;
    }
    *pos = (size_t)(nl - buf) + 1;
    return KV_REQ_DONE;
}

/* The number on a "*N\r\n" or "$N\r\n" line at buf[*pos] (the type byte). */
static int header_line(const char *buf, size_t len, size_t *pos, int64_t *v, bool *ok, const char *toobig,
                       const char **err)
{
    const char *start = buf + *pos;
    const char *cr = memchr(start, '\r', len - *pos);
    if (!cr) {
        if (len - *pos > KV_INLINE_MAX) {
            *err = toobig;
            return KV_REQ_ERROR;
        }
        return KV_REQ_MORE;
    }
    if ((size_t)(cr - buf) + 2 > len) /* the \n after \r has not arrived */
        return KV_REQ_MORE;
    *ok = kv_resp_strtoll(start + 1, (size_t)(cr - start - 1), v);
    *pos = (size_t)(cr - buf) + 2;
    return KV_REQ_DONE;
}

static int parse_multibulk_head(struct kv_req *r, const char *buf, size_t len, size_t *pos, bool authed,
                                const char **err)
{
    int64_t n = 0;
    bool ok = false;
    int rc = header_line(buf, len, pos, &n, &ok, "ERR Protocol error: too big mbulk count string", err);
    if (rc != KV_REQ_DONE)
        return rc;
    if (!ok || n > INT32_MAX) {
        *err = "ERR Protocol error: invalid multibulk length";
        return KV_REQ_ERROR;
    }
    if (n > 10 && !authed) {
        *err = "ERR Protocol error: unauthenticated multibulk length";
        return KV_REQ_ERROR;
    }
    r->argc = 0;
    if (n <= 0) /* "*0" and "*-1" are empty requests */
        return KV_REQ_DONE;
    r->type = '*';
    r->multibulk = n;
    return KV_REQ_MORE;
}

static int parse_bulks(struct kv_req *r, const char *buf, size_t len, size_t *pos, bool authed, const char **err)
{
    while (r->multibulk > 0) {
        if (r->bulklen < 0) {
            if (*pos >= len)
                return KV_REQ_MORE;
            int64_t n = 0;
            bool ok = false;
            size_t p = *pos;
            /* like Redis: the whole "$N\r\n" line first, then its type byte */
            int rc = header_line(buf, len, &p, &n, &ok, "ERR Protocol error: too big bulk count string", err);
            if (rc != KV_REQ_DONE)
                return rc;
            if (buf[*pos] != '$') {
                static char msg[64];
                snprintf(msg, sizeof msg, "ERR Protocol error: expected '$', got '%c'", buf[*pos]);
                *err = msg;
                return KV_REQ_ERROR;
            }
            if (!ok || n < 0 || n > kv_cfg.proto_max_bulk_len) {
                *err = "ERR Protocol error: invalid bulk length";
                return KV_REQ_ERROR;
            }
            if (n > 16384 && !authed) {
                *err = "ERR Protocol error: unauthenticated bulk length";
                return KV_REQ_ERROR;
            }
            *pos = p;
            r->bulklen = n;
        }
        if (len - *pos < (size_t)r->bulklen + 2)
            return KV_REQ_MORE;
        req_push(r, *pos, (size_t)r->bulklen);
        *pos += (size_t)r->bulklen + 2; /* Redis does not check the CRLF either */
        r->bulklen = -1;
        r->multibulk--;
    }
    return KV_REQ_DONE;
}

int kv_req_parse(struct kv_req *r, const char *buf, size_t len, size_t *pos, bool authed, const char **err)
{
    if (r->type == 0) {
        if (*pos >= len)
            return KV_REQ_MORE;
        if (buf[*pos] != '*') {
            r->type = 'i';
            int rc = parse_inline(r, buf, len, pos, err);
            if (rc != KV_REQ_DONE)
                r->type = 0; /* re-scan the whole line when more bytes come */
            return rc;
        }
        r->start = *pos;
        int rc = parse_multibulk_head(r, buf, len, pos, authed, err);
        if (rc != KV_REQ_MORE || r->type == 0)
            return rc;
    }
    return parse_bulks(r, buf, len, pos, authed, err);
}

void kv_req_argv(struct kv_req *r, const char *buf, struct kv_bytes *argv)
{
    const char *base = r->type == 'i' ? r->inl.data : buf;
    for (int i = 0; i < r->argc; i++)
        argv[i] = kv_b(base + r->args[i].off, r->args[i].len);
    req_reset(r);
}

size_t kv_req_consumable(const struct kv_req *r, size_t pos)
{
    return r->type == '*' ? r->start : pos;
}

void kv_req_shift(struct kv_req *r, size_t n)
{
    if (r->type != '*')
        return;
    r->start -= n;
    for (int i = 0; i < r->argc; i++)
        r->args[i].off -= n;
}

size_t kv_req_bulk_missing(const struct kv_req *r, size_t avail)
{
    if (r->type != '*' || r->bulklen < 0)
        return 0;
    size_t want = (size_t)r->bulklen + 2;
    return want > avail ? want - avail : 0;
}

/* ---- reply encoders ------------------------------------------------------------------ */

/* Room for n more bytes in c's output; marks the client pending when it was empty. */
static inline char *out_reserve(struct kv_client *c, size_t n)
{
    struct kv_conn *k = kv_conn_of(c);
    if (!k->pending)
        kv__conn_pending(k);
    struct st_buf *b = c->out;
    if (b->cap - b->len < n && st_buf_reserve(b, n) != 0)
        return NULL;
    return b->data + b->len;
}

static inline void out_commit(struct kv_client *c, size_t n)
{
    c->out->len += n;
    c->out->data[c->out->len] = '\0';
}

static void out_append(struct kv_client *c, const void *p, size_t n)
{
    char *d = out_reserve(c, n);
    if (!d)
        return;
    memcpy(d, p, n);
    out_commit(c, n);
}

/* "<t><n>\r\n" */
static void out_header(struct kv_client *c, char t, int64_t n)
{
    char *d = out_reserve(c, 24);
    if (!d)
        return;
    d[0] = t;
    size_t len = 1 + kv_resp_ll2str(d + 1, n);
    d[len++] = '\r';
    d[len++] = '\n';
    out_commit(c, len);
}

void kv_reply_ok(struct kv_client *c)
{
    out_append(c, "+OK\r\n", 5);
}

/* The line end of a reply (two bytes, no NUL: replies are not C strings). */
static inline void crlf(char *p)
{
    p[0] = '\r';
    p[1] = '\n';
}

void kv_reply_status(struct kv_client *c, const char *s)
{
    size_t n = strlen(s);
    char *d = out_reserve(c, n + 3);
    if (!d)
        return;
    d[0] = '+';
    memcpy(d + 1, s, n); /* NOLINT(bugprone-not-null-terminated-result): RESP bytes, not a C string */
    crlf(d + 1 + n);
    out_commit(c, n + 3);
}

/* Errors must stay one line: Redis replaces CR and LF in error texts by spaces. */
static void error_bytes(struct kv_client *c, const char *msg, size_t n)
{
    char *d = out_reserve(c, n + 3);
    if (!d)
        return;
    d[0] = '-';
    for (size_t i = 0; i < n; i++)
        d[1 + i] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
    crlf(d + 1 + n);
    out_commit(c, n + 3);
}

void kv_reply_error(struct kv_client *c, const char *msg)
{
    kv_resp_count_error(msg);
    error_bytes(c, msg, strlen(msg));
}

void kv_reply_errorf(struct kv_client *c, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof tmp)
        n = sizeof tmp - 1;
    kv_resp_count_error(tmp);
    error_bytes(c, tmp, (size_t)n);
}

void kv_reply_int(struct kv_client *c, int64_t v)
{
    out_header(c, ':', v);
}

void kv_reply_bulk(struct kv_client *c, struct kv_bytes b)
{
    char *d = out_reserve(c, b.n + 26);
    if (!d)
        return;
    d[0] = '$';
    size_t len = 1 + kv_resp_ll2str(d + 1, (int64_t)b.n);
    d[len++] = '\r';
    d[len++] = '\n';
    if (b.n)
        memcpy(d + len, b.p, b.n);
    len += b.n;
    d[len++] = '\r';
    d[len++] = '\n';
    out_commit(c, len);
}

void kv_reply_bulk_c(struct kv_client *c, const char *s)
{
    kv_reply_bulk(c, kv_b(s, strlen(s)));
}

void kv_reply_bulk_i64(struct kv_client *c, int64_t v)
{
    char tmp[24];
    size_t n = kv_resp_ll2str(tmp, v);
    kv_reply_bulk(c, kv_b(tmp, n));
}

void kv_reply_scan_head(struct kv_client *c, uint64_t cursor)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)cursor);
    kv_reply_array(c, 2);
    kv_reply_bulk(c, kv_b(tmp, (size_t)n));
}

void kv_reply_double(struct kv_client *c, double d)
{
    char tmp[64];
    size_t n = kv_fmt_double(d, tmp);
    if (c->resp == 3) {
        char *p = out_reserve(c, n + 3);
        if (!p)
            return;
        p[0] = ',';
        memcpy(p + 1, tmp, n);
        crlf(p + 1 + n);
        out_commit(c, n + 3);
    } else {
        kv_reply_bulk(c, kv_b(tmp, n));
    }
}

void kv_reply_null(struct kv_client *c)
{
    if (c->resp == 3)
        out_append(c, "_\r\n", 3);
    else
        out_append(c, "$-1\r\n", 5);
}

void kv_reply_null_array(struct kv_client *c)
{
    if (c->resp == 3)
        out_append(c, "_\r\n", 3);
    else
        out_append(c, "*-1\r\n", 5);
}

void kv_reply_bool(struct kv_client *c, bool b)
{
    if (c->resp == 3)
        out_append(c, b ? "#t\r\n" : "#f\r\n", 4);
    else
        out_append(c, b ? ":1\r\n" : ":0\r\n", 4);
}

void kv_reply_array(struct kv_client *c, size_t n)
{
    out_header(c, '*', (int64_t)n);
}

void kv_reply_map(struct kv_client *c, size_t pairs)
{
    if (c->resp == 3)
        out_header(c, '%', (int64_t)pairs);
    else
        out_header(c, '*', (int64_t)pairs * 2);
}

void kv_reply_set(struct kv_client *c, size_t n)
{
    out_header(c, c->resp == 3 ? '~' : '*', (int64_t)n);
}

void kv_reply_push(struct kv_client *c, size_t n)
{
    out_header(c, c->resp == 3 ? '>' : '*', (int64_t)n);
}

void kv_reply_verbatim(struct kv_client *c, struct kv_bytes b)
{
    if (c->resp != 3) {
        kv_reply_bulk(c, b);
        return;
    }
    char *d = out_reserve(c, b.n + 30);
    if (!d)
        return;
    d[0] = '=';
    size_t len = 1 + kv_resp_ll2str(d + 1, (int64_t)b.n + 4);
    memcpy(d + len, "\r\ntxt:", 6); /* NOLINT(bugprone-not-null-terminated-result): RESP bytes */
    len += 6;
    if (b.n)
        memcpy(d + len, b.p, b.n);
    len += b.n;
    d[len++] = '\r';
    d[len++] = '\n';
    out_commit(c, len);
}

/*
 * A deferred aggregate reserves KV_DEFER_ROOM bytes; setting it writes the real header
 * there and slides what follows down over the unused part. The handle is the offset + 1
 * (valid until the output is flushed, i.e. within the command).
 */
#define KV_DEFER_ROOM 24

void *kv_reply_deferred(struct kv_client *c)
{
    char *d = out_reserve(c, KV_DEFER_ROOM);
    if (!d)
        return NULL;
    size_t off = c->out->len;
    memset(d, 0, KV_DEFER_ROOM);
    out_commit(c, KV_DEFER_ROOM);
    return (void *)(uintptr_t)(off + 1);
}

void kv_reply_set_deferred(struct kv_client *c, void *handle, size_t n, char kind)
{
    if (!handle)
        return;
    size_t off = (size_t)(uintptr_t)handle - 1;
    int64_t count = (int64_t)n;
    if (c->resp != 3) {
        if (kind == '%')
            count *= 2;
        kind = '*';
    }
    char hdr[KV_DEFER_ROOM];
    hdr[0] = kind;
    size_t hl = 1 + kv_resp_ll2str(hdr + 1, count);
    hdr[hl++] = '\r';
    hdr[hl++] = '\n';
    struct st_buf *b = c->out;
    memcpy(b->data + off, hdr, hl);
    size_t tail = off + KV_DEFER_ROOM;
    memmove(b->data + off + hl, b->data + tail, b->len - tail);
    b->len -= KV_DEFER_ROOM - hl;
    b->data[b->len] = '\0';
}

/* ---- raw appends (CLIENT LIST text, HELLO, pre-encoded replies) ------------------------ */

void kv_reply_raw(struct kv_client *c, const void *p, size_t n)
{
    out_append(c, p, n);
}
