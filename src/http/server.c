/*
 * server.c - HTTP/1.1 connections on the event loop: read, parse, dispatch, respond.
 *
 * A connection is a small state machine (enum conn_state) driven by the loop:
 *
 *   HEAD --head complete--> BODY --body complete--> HANDLER --send--> HEAD (next request)
 *     \______________________________________________/ (no body)
 *
 * Requests already in the input buffer behind the current one (pipelining) are parsed
 * only after the current response is queued, so responses go out in order. The whole
 * batch read in one go is answered with one write (process_input loops, flush once).
 *
 * Timeouts use one timer per connection with a lazily moved deadline (conn->deadline):
 * setting a later deadline is a store, the timer only moves when it fires early. That
 * keeps a keep-alive request free of heap operations (nginx's and h2o's timer wheels
 * solve the same problem).
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"

enum {
    READ_CHUNK = 16384,      /* free space offered to each read */
    IN_KEEP = 65536,         /* input capacity kept by an idle connection */
    BODY_KEEP = 65536,       /* response body buffer capacity kept between requests */
    OUT_BODY_MAX = 64 << 20, /* a buffered response body */
    SMALL_FILE = 32768,      /* files up to this size are read into the output buffer */
    LINGER_MS = 2000,        /* reading after an error response before closing */
};

#define DEF(field, value) ((field) ? (field) : (value))

enum conn_state {
    C_HEAD,    /* waiting for / parsing a request head */
    C_BODY,    /* reading the body of the current request */
    C_HANDLER, /* the handler has the exchange (async) or a file is being sent */
    C_LINGER,  /* the response is out, reading and dropping until the peer closes */
};

struct st_http_conn {
    struct st_io_watch w;
    struct st_io_timer timer;
    struct st_io_defer defer;
    struct st_http_server *s;
    struct st_http_conn *prev, *next; /* the server's list */
    enum conn_state state;
    struct st_buf in;      /* bytes read; requests start at in_pos */
    size_t in_pos;         /* start of the current request */
    size_t head_len;       /* bytes of the current head (0 while incomplete) */
    const char *head_base; /* in.data + in_pos when the head was parsed (slices borrow it) */
    size_t body_raw;       /* chunked: raw body bytes consumed so far */
    size_t body_len;       /* decoded body bytes (at in_pos + head_len) */
    struct st_http_chunked chunked;
    struct st_buf out; /* serialised response bytes not yet written */
    int file_fd;       /* a large file body being sent after out, or -1 */
    uint64_t file_off, file_left;
    int64_t deadline;     /* loop ms at which the current phase times out */
    int64_t head_started; /* loop ms the first byte of the current head arrived */
    bool has_request;     /* the exchange is live (head complete, not yet sent) */
    bool head_open;       /* bytes of a new head have arrived (header timeout runs) */
    bool closing;         /* close once out (and the file) is written */
    bool closed;          /* fd closed; memory kept while an async handler holds ex */
    bool peer_eof;        /* the client closed its side */
    bool in_process;      /* process_input is on the stack */
    bool defer_queued;
    bool reading;    /* ST_IO_READ wanted */
    bool ring;       /* reads arrive through the loop's io_uring (ST_IO_RDATA) */
    bool sending;    /* an st_io_send is in flight: its ST_IO_SENT continues the writing */
    bool sync_write; /* the socket buffer filled up: write with st_io_flush until out drains */
    bool first;      /* no request completed yet on this connection */
    void (*on_drain)(struct st_http_ex *, void *);
    void *on_drain_arg;
    struct st_arena arena;
    struct st_http_request req;
    struct st_http_ex ex;
};

struct st_http_group;

struct st_http_server {
    struct st_io_loop *loop;
    struct st_io_acceptor acc;
    struct st_http_config cfg;
    struct st_http_group *group;
    int worker;
    struct st_http_conn *conns; /* every open (or closed but held) connection */
    size_t nconns;
    uint64_t next_id;
    bool draining;
    struct st_io_timer drain_timer;
    void (*drain_done)(void *);
    void *drain_arg;
    int64_t date_next; /* loop ms at which date must be refreshed */
    char date[ST_TIME_HTTP_LEN + 1];
    struct st_str server_line; /* "Server: x\r\n" or empty */
    /* counters: written only by this loop's thread, read by any (relaxed) */
    _Atomic uint64_t st_accepted, st_open, st_requests, st_in, st_out, st_timeouts, st_parse_errors;
};

struct st_http_group {
    int n;
    struct st_http_server **servers;
    struct st_io_loop **loops;
    int *fds;
    const struct st_http_serve_opts *opts;
    const struct st_http_config *cfg;
    struct st_io_signals sig;
    _Atomic int stopping;
    bool *started; /* worker_start succeeded and worker_stop has not run (own thread only) */
};

/* Only the owning thread writes a counter, so a relaxed load + store is enough and
 * compiles to a plain add (no lock prefix on the hot path). */
#define STAT_ADD(s, field, n)                                                                                          \
    atomic_store_explicit(&(s)->field, atomic_load_explicit(&(s)->field, memory_order_relaxed) + (n),                  \
                          memory_order_relaxed)
#define STAT_GET(s, field) atomic_load_explicit(&(s)->field, memory_order_relaxed)

static void conn_close(struct st_http_conn *c);
static void process_input(struct st_http_conn *c);
static void conn_write(struct st_http_conn *c);
static void finish_exchange(struct st_http_conn *c);
static void schedule_process(struct st_http_conn *c);

/* ---- status lines ---- */

const char *st_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
    }
}

/* Copy n bytes to p and return the end: the head is assembled from pieces without NULs
 * (the buffer's NUL is written once at the end). */
static inline char *put(char *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

/* Decimal digits of v into p (no NUL); returns the count. */
static size_t put_u64(char *p, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

/* Refresh the cached Date value at most once per second of wall time. */
static const char *server_date(struct st_http_server *s)
{
    int64_t now = st_io_now_ms(s->loop);
    if (now >= s->date_next) {
        int64_t wall = st_time_wall_ms();
        st_time_format_http(wall, s->date);
        s->date_next = now + (1000 - wall % 1000);
    }
    return s->date;
}

/* ---- request helpers ---- */

struct st_str st_http_req_header(const struct st_http_ex *x, enum st_http_token token)
{
    const struct st_http_header *h = st_http_request_header(x->req, token);
    return h ? h->value : (struct st_str){ NULL, 0 };
}

static bool name_eq(struct st_str a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && strncasecmp(a.ptr, b, n) == 0;
}

struct st_str st_http_req_header_named(const struct st_http_ex *x, const char *name)
{
    for (size_t i = 0; i < x->req->nheaders; i++)
        if (name_eq(x->req->headers[i].name, name))
            return x->req->headers[i].value;
    return (struct st_str){ NULL, 0 };
}

/* ---- building a response ---- */

void st_http_header(struct st_http_ex *x, struct st_str name, struct st_str value)
{
    if (x->nfields == x->capfields) {
        size_t cap = x->capfields ? x->capfields * 2 : 8;
        struct st_http_field *f = st_arena_alloc(x->arena, cap * sizeof *f);
        if (x->nfields)
            memcpy(f, x->fields, x->nfields * sizeof *f);
        x->fields = f;
        x->capfields = cap;
    }
    x->fields[x->nfields++] = (struct st_http_field){ name, value };
}

void st_http_header_fmt(struct st_http_ex *x, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    char *v;
    if (n < 0) {
        v = st_arena_strdup(x->arena, "");
        n = 0;
    } else if ((size_t)n < sizeof small) {
        v = st_arena_strndup(x->arena, small, (size_t)n);
    } else {
        v = st_arena_alloc(x->arena, (size_t)n + 1);
        vsnprintf(v, (size_t)n + 1, fmt, ap2);
    }
    va_end(ap2);
    st_http_header(x, st_str_c(name), (struct st_str){ v, (size_t)n });
}

struct st_str st_http_res_header(const struct st_http_ex *x, const char *name)
{
    for (size_t i = 0; i < x->nfields; i++)
        if (name_eq(x->fields[i].name, name))
            return x->fields[i].value;
    return (struct st_str){ NULL, 0 };
}

void st_http_res_header_remove(struct st_http_ex *x, const char *name)
{
    size_t j = 0;
    for (size_t i = 0; i < x->nfields; i++)
        if (!name_eq(x->fields[i].name, name))
            x->fields[j++] = x->fields[i];
    x->nfields = j;
}

static void drop_file(struct st_http_ex *x)
{
    if (x->body_kind == ST_HTTP_RES_FILE && x->file_fd >= 0)
        close(x->file_fd);
    x->file_fd = -1;
}

void st_http_body_ref(struct st_http_ex *x, struct st_str s)
{
    drop_file(x);
    x->body_kind = ST_HTTP_RES_REF;
    x->body_ref = s;
}

struct st_buf *st_http_body_buf(struct st_http_ex *x)
{
    if (x->body_kind != ST_HTTP_RES_BUF) {
        drop_file(x);
        st_buf_clear(&x->out_body);
        x->body_kind = ST_HTTP_RES_BUF;
    }
    return &x->out_body;
}

void st_http_body_file(struct st_http_ex *x, int fd, uint64_t off, uint64_t len)
{
    drop_file(x);
    x->body_kind = ST_HTTP_RES_FILE;
    x->file_fd = fd;
    x->file_off = off;
    x->file_len = len;
}

struct st_str st_http_res_body(const struct st_http_ex *x)
{
    switch (x->body_kind) {
    case ST_HTTP_RES_REF: return x->body_ref;
    case ST_HTTP_RES_BUF: return st_buf_str(&x->out_body);
    default: return (struct st_str){ "", 0 };
    }
}

static void add_hook(struct st_http_ex *x, struct st_http_hook **list, void (*fn)(struct st_http_ex *, void *),
                     void *arg)
{
    struct st_http_hook *h = st_arena_alloc(x->arena, sizeof *h);
    *h = (struct st_http_hook){ fn, arg, *list };
    *list = h;
}

void st_http_on_send(struct st_http_ex *x, void (*fn)(struct st_http_ex *, void *), void *arg)
{
    add_hook(x, &x->on_send, fn, arg);
}

void st_http_on_done(struct st_http_ex *x, void (*fn)(struct st_http_ex *, void *), void *arg)
{
    add_hook(x, &x->on_done, fn, arg);
}

void st_http_async(struct st_http_ex *x)
{
    x->async = true;
}

void st_http_close_after(struct st_http_ex *x)
{
    x->close = true;
}

static struct st_http_conn *conn_of(struct st_http_ex *x)
{
    return (struct st_http_conn *)((char *)x - offsetof(struct st_http_conn, ex));
}

/* No body is sent for these (RFC 9110 6.4.1); 1xx/204/304 also carry no Content-Length. */
static bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

/* Append the status line and the server's own headers. */
static int put_head_start(struct st_http_conn *c, struct st_http_ex *x)
{
    struct st_http_server *s = c->s;
    const char *reason = st_http_reason(x->status);
    size_t rlen = strlen(reason);
    const char *date = server_date(s);
    int rc = st_buf_reserve(&c->out, 64 + rlen + ST_TIME_HTTP_LEN + s->server_line.len);
    if (rc)
        return rc;
    char *p = c->out.data + c->out.len;
    p = put(p, "HTTP/1.1 ", 9);
    p += put_u64(p, (uint64_t)x->status);
    *p++ = ' ';
    p = put(p, reason, rlen);
    p = put(p, "\r\nDate: ", 8);
    p = put(p, date, ST_TIME_HTTP_LEN);
    *p++ = '\r';
    *p++ = '\n';
    if (s->server_line.len) {
        p = put(p, s->server_line.ptr, s->server_line.len);
    }
    c->out.len = (size_t)(p - c->out.data);
    c->out.data[c->out.len] = '\0';
    return 0;
}

/* Append the handler's fields, the framing and connection headers and the blank line. */
static int put_head_rest(struct st_http_conn *c, struct st_http_ex *x, const char *framing, uint64_t length)
{
    size_t need = 80;
    for (size_t i = 0; i < x->nfields; i++)
        need += x->fields[i].name.len + x->fields[i].value.len + 4;
    int rc = st_buf_reserve(&c->out, need);
    if (rc)
        return rc;
    char *p = c->out.data + c->out.len;
    for (size_t i = 0; i < x->nfields; i++) {
        const struct st_http_field *f = &x->fields[i];
        p = put(p, f->name.ptr, f->name.len);
        *p++ = ':';
        *p++ = ' ';
        p = put(p, f->value.ptr, f->value.len);
        *p++ = '\r';
        *p++ = '\n';
    }
    if (framing == NULL) {
        p = put(p, "Content-Length: ", 16);
        p += put_u64(p, length);
        *p++ = '\r';
        *p++ = '\n';
    } else if (*framing) {
        size_t n = strlen(framing);
        p = put(p, framing, n);
    }
    if (x->close) {
        p = put(p, "Connection: close\r\n", 19);
    } else if (x->req->minor_version == 0) {
        p = put(p, "Connection: keep-alive\r\n", 24);
    }
    *p++ = '\r';
    *p++ = '\n';
    c->out.len = (size_t)(p - c->out.data);
    c->out.data[c->out.len] = '\0';
    return 0;
}

/* The server's own headers must not be duplicated by a handler. */
static void drop_reserved_fields(struct st_http_ex *x)
{
    static const char *const reserved[] = { "Content-Length", "Transfer-Encoding", "Connection", "Date" };
    for (size_t i = 0; i < x->nfields; i++)
        for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
            if (name_eq(x->fields[i].name, reserved[k])) {
                st_http_res_header_remove(x, reserved[k]);
                i = (size_t)-1; /* restart: the array was compacted */
                break;
            }
}

static void run_hooks(struct st_http_ex *x, struct st_http_hook **list)
{
    struct st_http_hook *h = *list;
    *list = NULL; /* a hook may add hooks: they run too, once */
    while (h) {
        h->fn(x, h->arg);
        h = h->next;
        if (!h && *list) {
            h = *list;
            *list = NULL;
        }
    }
}

static bool is_head(const struct st_http_ex *x)
{
    return x->req->method_id == ST_HTTP_M_HEAD;
}

/* Read a small file into out (fewer syscalls and one write with the head). */
static int put_small_file(struct st_http_conn *c, struct st_http_ex *x)
{
    int rc = st_buf_reserve(&c->out, (size_t)x->file_len);
    if (rc)
        return rc;
    size_t got = 0;
    while (got < x->file_len) {
        ssize_t n =
            pread(x->file_fd, c->out.data + c->out.len + got, (size_t)x->file_len - got, (off_t)(x->file_off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO; /* the file shrank under us */
        got += (size_t)n;
    }
    c->out.len += got;
    c->out.data[c->out.len] = '\0';
    return 0;
}

void st_http_send(struct st_http_ex *x)
{
    struct st_http_conn *c = conn_of(x);
    if (x->finished)
        return;
    x->finished = true;
    run_hooks(x, &x->on_send);
    if (c->closed) {
        finish_exchange(c);
        return;
    }
    if (c->s->draining || c->peer_eof || !x->req->keep_alive)
        x->close = true;
    drop_reserved_fields(x);
    bool send_body = status_has_body(x->status) && !is_head(x);
    struct st_str body = st_http_res_body(x);
    uint64_t length = x->body_kind == ST_HTTP_RES_FILE ? x->file_len : body.len;
    int rc = put_head_start(c, x);
    if (!rc)
        rc = put_head_rest(c, x, status_has_body(x->status) ? NULL : "", length);
    if (!rc && send_body) {
        if (x->body_kind == ST_HTTP_RES_FILE && x->file_len <= SMALL_FILE) {
            rc = put_small_file(c, x);
        } else if (x->body_kind == ST_HTTP_RES_FILE) {
            c->file_fd = x->file_fd; /* the connection sends it after out, and closes it */
            c->file_off = x->file_off;
            c->file_left = x->file_len;
            x->file_fd = -1;
        } else {
            rc = st_buf_append(&c->out, body.ptr, body.len);
        }
        x->bytes_out = length;
    }
    drop_file(x);
    if (rc) { /* out of room for the response: the connection cannot continue */
        st_log_warn("http: response dropped", ST_LOG_INT("status", x->status), ST_LOG_INT("rc", rc));
        x->close = true;
        c->closing = true;
    }
    if (x->close)
        c->closing = true;
    finish_exchange(c);
}

void st_http_reply(struct st_http_ex *x, int status, const char *content_type, struct st_str body)
{
    x->status = status;
    if (content_type)
        st_http_header(x, ST_STR_LIT("Content-Type"), st_str_c(content_type));
    st_http_body_ref(x, body);
    st_http_send(x);
}

void st_http_replyf(struct st_http_ex *x, int status, const char *content_type, const char *fmt, ...)
{
    struct st_buf *b = st_http_body_buf(x);
    va_list ap;
    va_start(ap, fmt);
    (void)st_buf_vprintf(b, fmt, ap);
    va_end(ap);
    x->status = status;
    if (content_type)
        st_http_header(x, ST_STR_LIT("Content-Type"), st_str_c(content_type));
    st_http_send(x);
}

/* Append s as the inside of a JSON string. */
static void json_escape(struct st_buf *b, struct st_str s)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch == '"' || ch == '\\') {
            (void)st_buf_append_byte(b, '\\');
            (void)st_buf_append_byte(b, (char)ch);
        } else if (ch < 0x20 || ch == 0x7f) {
            char e[6] = { '\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15] };
            (void)st_buf_append(b, e, 6);
        } else {
            (void)st_buf_append_byte(b, (char)ch);
        }
    }
}

/* An RFC 9457 body: about:blank, the status's title, detail, a machine-readable code when
 * given, the request path as instance. */
static void problem(struct st_http_ex *x, int status, const char *detail, const char *code)
{
    struct st_buf *b = st_http_body_buf(x);
    st_buf_clear(b);
    const char *title = st_http_reason(status);
    (void)st_buf_printf(b, "{\"type\":\"about:blank\",\"title\":\"%s\",\"status\":%d", *title ? title : "Error",
                        status);
    if (detail) {
        (void)st_buf_append_c(b, ",\"detail\":\"");
        json_escape(b, st_str_c(detail));
        (void)st_buf_append_byte(b, '"');
    }
    if (code)
        (void)st_buf_printf(b, ",\"code\":\"%s\"", code);
    if (x->req && x->req->path.len) {
        (void)st_buf_append_c(b, ",\"instance\":\"");
        json_escape(b, x->req->path);
        (void)st_buf_append_byte(b, '"');
    }
    (void)st_buf_append_c(b, "}\n");
    x->status = status;
    st_http_res_header_remove(x, "Content-Type");
    st_http_res_header_remove(x, "Content-Encoding");
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/problem+json"));
    st_http_send(x);
}

void st_http_problem(struct st_http_ex *x, int status, const char *detail)
{
    problem(x, status, detail, NULL);
}

/* The code of the server's own problems (st_http_config.problem_codes). */
static const char *problem_code(int status)
{
    switch (status) {
    case 400: return "bad_request";
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 431: return "request_header_fields_too_large";
    case 501: return "not_implemented";
    case 505: return "http_version_not_supported";
    default: return "error";
    }
}

/* ---- streaming ---- */

void st_http_stream_begin(struct st_http_ex *x, void (*on_drain)(struct st_http_ex *, void *), void *arg)
{
    struct st_http_conn *c = conn_of(x);
    run_hooks(x, &x->on_send);
    x->streaming = true;
    c->on_drain = on_drain;
    c->on_drain_arg = arg;
    if (c->closed)
        return;
    if (c->s->draining || c->peer_eof || !x->req->keep_alive)
        x->close = true;
    drop_reserved_fields(x);
    const char *framing;
    struct st_str cl = st_http_res_header(x, "Content-Length");
    (void)cl;
    if (!status_has_body(x->status) || is_head(x)) {
        framing = "";
    } else if (x->req->minor_version >= 1) {
        framing = "Transfer-Encoding: chunked\r\n";
        x->chunked = true;
    } else {
        framing = ""; /* HTTP/1.0: the body ends when the connection closes */
        x->close = true;
    }
    if (put_head_start(c, x) || put_head_rest(c, x, framing, 0)) {
        x->close = true;
        c->closing = true;
    }
    conn_write(c);
}

int st_http_stream_write(struct st_http_ex *x, const void *data, size_t len)
{
    struct st_http_conn *c = conn_of(x);
    if (c->closed)
        return -EPIPE;
    if (len == 0 || is_head(x) || !status_has_body(x->status))
        return 0;
    int rc = 0;
    if (x->chunked) {
        char hex[20];
        int n = snprintf(hex, sizeof hex, "%zx\r\n", len);
        rc = st_buf_append(&c->out, hex, (size_t)n);
        if (!rc)
            rc = st_buf_append(&c->out, data, len);
        if (!rc)
            rc = st_buf_append(&c->out, "\r\n", 2);
    } else {
        rc = st_buf_append(&c->out, data, len);
    }
    if (rc)
        return rc;
    x->bytes_out += len;
    conn_write(c);
    if (c->closed)
        return -EPIPE;
    return c->out.len > DEF(c->s->cfg.max_out, (size_t)1 << 20) ? ST_EAGAIN : 0;
}

void st_http_stream_end(struct st_http_ex *x)
{
    struct st_http_conn *c = conn_of(x);
    x->finished = true;
    c->on_drain = NULL;
    if (!c->closed && x->chunked && !is_head(x))
        (void)st_buf_append(&c->out, "0\r\n\r\n", 5);
    if (x->close)
        c->closing = true;
    finish_exchange(c);
}

/* ---- connection lifecycle ---- */

static void set_deadline(struct st_http_conn *c, int64_t timeout_ms)
{
    c->deadline = st_io_now_ms(c->s->loop) + timeout_ms;
    if (!st_io_timer_active(&c->timer) || c->timer.due > c->deadline)
        st_io_timer_start(c->s->loop, &c->timer, timeout_ms);
}

static void set_reading(struct st_http_conn *c, bool on)
{
    if (c->reading == on || c->closed)
        return;
    c->reading = on;
    unsigned ev = on ? (c->w.events | ST_IO_READ) : (c->w.events & ~(unsigned)ST_IO_READ);
    if (st_io_watch_set(c->s->loop, &c->w, ev))
        conn_close(c);
}

static void free_conn(void *arg)
{
    struct st_http_conn *c = arg;
    st_buf_release(&c->in);
    st_buf_release(&c->out);
    st_buf_release(&c->ex.out_body);
    st_arena_release(&c->arena);
    free(c);
}

static void unlink_conn(struct st_http_conn *c)
{
    struct st_http_server *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    STAT_ADD(s, st_open, (uint64_t)-1);
    if (s->acc.paused && !s->draining && s->nconns < DEF(s->cfg.max_conns, (size_t)10000))
        st_io_acceptor_resume(s->loop, &s->acc);
}

static void maybe_drained(struct st_http_server *s);

/*
 * Close the socket. If a handler still holds the exchange (async), the memory stays until
 * it calls st_http_send/stream_end (which then sees c->closed); otherwise it is freed
 * after this loop turn.
 */
static void conn_close(struct st_http_conn *c)
{
    if (c->closed)
        return;
    struct st_http_server *s = c->s;
    c->closed = true;
    st_io_watch_stop(s->loop, &c->w);
    st_io_timer_stop(s->loop, &c->timer);
    close(c->w.fd);
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->file_fd = -1;
    if (c->has_request && !c->ex.finished && (c->ex.async || c->ex.streaming))
        return; /* the handler finishes later; finish_exchange frees */
    if (c->has_request) {
        c->ex.finished = true;
        drop_file(&c->ex);
        run_hooks(&c->ex, &c->ex.on_done);
        c->has_request = false;
    }
    unlink_conn(c);
    if (!c->defer_queued) {
        c->defer_queued = true;
        st_io_defer(s->loop, &c->defer, free_conn, c);
    }
    maybe_drained(s);
}

/* The exchange is over (response queued or connection lost): reset for the next one. */
static void finish_exchange(struct st_http_conn *c)
{
    struct st_http_ex *x = &c->ex;
    struct st_http_server *s = c->s;
    STAT_ADD(s, st_requests, 1);
    run_hooks(x, &x->on_done);
    c->has_request = false;
    drop_file(x);
    if (c->closed) { /* the client left while an async handler had x */
        unlink_conn(c);
        if (!c->defer_queued) {
            c->defer_queued = true;
            st_io_defer(s->loop, &c->defer, free_conn, c);
        }
        maybe_drained(s);
        return;
    }
    /* Advance past this request; its bytes stay until the batch is compacted. */
    c->in_pos += c->head_len + (c->req.body == ST_HTTP_BODY_CHUNKED ? c->body_raw : c->body_len);
    c->head_len = 0;
    c->body_len = 0;
    c->body_raw = 0;
    c->first = false;
    c->state = C_HEAD;
    st_arena_reset(&c->arena);
    if (c->ex.out_body.cap > BODY_KEEP)
        st_buf_release(&c->ex.out_body);
    if (!c->in_process) {
        /* async completion: write now, continue with pipelined input after this turn */
        conn_write(c);
        if (!c->closed)
            schedule_process(c);
    }
}

/* ---- dispatch ---- */

/* The buffer moved while the body arrived: re-parse the head so the request slices point
 * into the current buffer (same bytes, same result). */
static void fix_head(struct st_http_conn *c)
{
    if (c->head_len == 0 || c->head_base == c->in.data + c->in_pos)
        return;
    st_http_request_init(&c->req);
    (void)st_http_parse_request(c->in.data + c->in_pos, c->head_len, &c->req, &c->s->cfg.limits);
    c->head_base = c->in.data + c->in_pos;
}

/* Ready x for a new response to req. */
static void reset_exchange(struct st_http_conn *c, const struct st_http_request *req, struct st_str body)
{
    struct st_http_ex *x = &c->ex;
    x->req = req;
    x->body = body;
    x->start_ns = st_io_now_ns(c->s->loop); /* the turn's clock: no clock read per request */
    x->id = ++c->s->next_id;
    x->status = 200;
    x->fields = NULL;
    x->nfields = x->capfields = 0;
    x->body_kind = ST_HTTP_RES_NONE;
    x->body_ref = (struct st_str){ "", 0 };
    st_buf_clear(&x->out_body);
    x->file_fd = -1;
    x->close = false;
    x->async = x->finished = x->streaming = x->chunked = false;
    x->bytes_out = 0;
    x->route = NULL;
    x->on_send = x->on_done = NULL;
    memset(x->user, 0, sizeof x->user);
    c->has_request = true;
    c->head_open = false;
    c->state = C_HANDLER;
}

static void start_exchange(struct st_http_conn *c, size_t body_len)
{
    fix_head(c);
    struct st_http_ex *x = &c->ex;
    reset_exchange(c, &c->req, (struct st_str){ c->in.data + c->in_pos + c->head_len, body_len });
    c->s->cfg.handler(x);
    if (!x->finished && !x->async && !x->streaming) {
        st_log_error("http: handler returned without a response", ST_LOG_SLICE("path", c->req.path));
        st_http_problem(x, 500, NULL);
    }
}

/* Answer an error the server found itself (no handler sees the request) and close. */
static void server_error(struct st_http_conn *c, int status, const char *why)
{
    /* the request may be unparseable: only a complete head is shown to the hooks */
    static const struct st_http_request none = { .minor_version = 1 };
    STAT_ADD(c->s, st_parse_errors, 1);
    fix_head(c);
    reset_exchange(c, c->head_len ? &c->req : &none, (struct st_str){ "", 0 });
    c->ex.close = true;
    problem(&c->ex, status, why, c->s->cfg.problem_codes ? problem_code(status) : NULL);
}

/* Make sure a body of `need` bytes after the head fits without moving data later. */
static int reserve_body(struct st_http_conn *c, size_t need)
{
    size_t have = c->in.len - c->in_pos;
    if (c->in_pos > 0 && c->in.cap - c->in_pos < need) {
        st_buf_consume(&c->in, c->in_pos); /* the head moves: start_exchange re-parses */
        c->in_pos = 0;
    }
    return need > have ? st_buf_reserve(&c->in, need - have) : 0;
}

/* Try to complete the body of the current request. true: dispatched or failed. */
static bool advance_body(struct st_http_conn *c)
{
    struct st_http_server *s = c->s;
    size_t start = c->in_pos + c->head_len;
    if (c->req.body == ST_HTTP_BODY_LENGTH) {
        size_t want = (size_t)c->req.content_length;
        if (c->in.len - start >= want) {
            c->body_len = want;
            start_exchange(c, want);
            return true;
        }
        if (reserve_body(c, c->head_len + want)) {
            server_error(c, 413, "request body too large");
            return true;
        }
        return false;
    }
    /* chunked: decode in place, appending the decoded bytes at start + body_len */
    for (;;) {
        char *raw = c->in.data + start + c->body_raw;
        size_t avail = c->in.len - start - c->body_raw, used = 0, out = 0;
        int rc = st_http_chunked_decode(&c->chunked, raw, avail, &used, &out);
        if (rc == ST_EPARSE || rc == ST_ELIMIT) {
            server_error(c, c->chunked.status, c->chunked.error);
            return true;
        }
        memmove(c->in.data + start + c->body_len, raw, out);
        c->body_len += out;
        c->body_raw += used;
        if (rc == 0) {
            start_exchange(c, c->body_len);
            return true;
        }
        /* need more: keep room to read (the decoder never needs the whole body at once) */
        size_t limit = (size_t)DEF(s->cfg.limits.max_body, (uint64_t)1048576);
        if (c->body_len > limit) {
            server_error(c, 413, "request body too large");
            return true;
        }
        return false;
    }
}

/* A complete head was parsed: decide about the body. */
static void head_complete(struct st_http_conn *c, size_t head_len)
{
    struct st_http_server *s = c->s;
    c->head_len = head_len;
    c->head_base = c->in.data + c->in_pos;
    c->head_open = false;
    c->body_len = c->body_raw = 0;
    if (c->req.body == ST_HTTP_BODY_NONE) {
        start_exchange(c, 0);
        return;
    }
    uint64_t max_body = DEF(s->cfg.limits.max_body, (uint64_t)1048576);
    if (c->req.body == ST_HTTP_BODY_LENGTH && c->req.content_length > max_body) {
        server_error(c, 413, "request body too large");
        return;
    }
    if (c->req.body == ST_HTTP_BODY_CHUNKED)
        st_http_chunked_init(&c->chunked, &s->cfg.limits);
    c->state = C_BODY;
    if (advance_body(c))
        return;
    if (c->req.expect_continue)
        (void)st_buf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    set_deadline(c, DEF(s->cfg.body_timeout_ms, 10000));
}

/* Parse and answer every complete request in the input buffer. */
static void process_input(struct st_http_conn *c)
{
    struct st_http_server *s = c->s;
    size_t max_out = DEF(s->cfg.max_out, (size_t)1 << 20);
    c->in_process = true;
    while (!c->closed && !c->closing) {
        if (c->state == C_BODY) {
            if (!advance_body(c))
                break;
            continue;
        }
        if (c->state != C_HEAD || c->file_fd >= 0 || c->out.len > max_out)
            break; /* a handler or a file in progress, or the client is not reading */
        if (c->in_pos == c->in.len)
            break;
        if (!c->head_open) {
            c->head_open = true;
            c->head_started = st_io_now_ms(s->loop);
        }
        int rc = st_http_parse_request(c->in.data + c->in_pos, c->in.len - c->in_pos, &c->req, &s->cfg.limits);
        if (rc > 0) {
            head_complete(c, (size_t)rc);
            continue;
        }
        if (rc == ST_EAGAIN) {
            set_deadline(c, c->head_started + DEF(s->cfg.header_timeout_ms, 10000) - st_io_now_ms(s->loop));
            break;
        }
        server_error(c, c->req.status ? c->req.status : 400, c->req.error);
    }
    c->in_process = false;
    if (c->closed)
        return;
    /* compact: drop the requests already answered (once per batch, not per request) */
    if (c->state == C_HEAD && c->in_pos > 0) {
        if (c->in_pos == c->in.len)
            st_buf_clear(&c->in);
        else
            st_buf_consume(&c->in, c->in_pos);
        c->in_pos = 0;
        if (c->in.len == 0 && c->in.cap > IN_KEEP)
            st_buf_release(&c->in);
    }
    conn_write(c);
    if (c->closed)
        return;
    bool want = !c->closing && c->out.len <= max_out && c->file_fd < 0 && !c->peer_eof &&
                (c->state == C_HEAD || c->state == C_BODY);
    if (c->state == C_LINGER)
        want = true;
    set_reading(c, want);
    if (c->state == C_HEAD && c->in.len == 0 && c->out.len == 0 && !c->closing)
        set_deadline(c, c->first ? DEF(s->cfg.header_timeout_ms, 10000) : DEF(s->cfg.idle_timeout_ms, 60000));
}

static void deferred_process(void *arg)
{
    struct st_http_conn *c = arg;
    c->defer_queued = false;
    if (c->closed) {
        free_conn(c);
        return;
    }
    process_input(c);
}

static void schedule_process(struct st_http_conn *c)
{
    if (c->defer_queued)
        return;
    c->defer_queued = true;
    st_io_defer(c->s->loop, &c->defer, deferred_process, c);
}

/* ---- I/O ---- */

/* Send what is queued, then the file; close or linger when the response is complete. */
static void conn_write(struct st_http_conn *c)
{
    struct st_http_server *s = c->s;
    if (c->closed || c->sending)
        return;
    /* The common case, a response in memory: it leaves with every other connection's in
     * the loop's next io_uring_enter (io.h). ST_IO_SENT brings us back here. */
    if (c->out.len && c->file_fd < 0 && !c->sync_write && st_io_send(s->loop, &c->w, &c->out)) {
        c->sending = true;
        return;
    }
    size_t before = c->out.len;
    if (c->file_fd >= 0 && c->out.len) {
        /* The head of a sendfile body: MSG_MORE lets the kernel put it in one segment with
         * the first file bytes instead of a tiny packet of its own (nginx's tcp_nopush). */
        ssize_t n = send(c->w.fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_MORE);
        if (n > 0)
            st_buf_consume(&c->out, (size_t)n);
    }
    int rc = c->out.len ? st_io_flush(s->loop, &c->w, &c->out) : 0;
    STAT_ADD(s, st_out, before - c->out.len);
    if (c->out.len == 0)
        c->sync_write = false;
    while (rc == 0 && c->file_fd >= 0) {
        off_t off = (off_t)c->file_off;
        size_t chunk = c->file_left > (1u << 30) ? (1u << 30) : (size_t)c->file_left;
        ssize_t n = sendfile(c->w.fd, c->file_fd, &off, chunk);
        if (n > 0) {
            STAT_ADD(s, st_out, (uint64_t)n);
            c->file_off += (uint64_t)n;
            c->file_left -= (uint64_t)n;
            if (c->file_left == 0) {
                close(c->file_fd);
                c->file_fd = -1;
                if (c->w.events & ST_IO_WRITE)
                    rc = st_io_watch_set(s->loop, &c->w, c->w.events & ~(unsigned)ST_IO_WRITE);
                if (!c->closing)
                    schedule_process(c); /* pipelined requests were waiting for the file */
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rc = st_io_watch_set(s->loop, &c->w, c->w.events | ST_IO_WRITE);
            if (!rc)
                rc = ST_EAGAIN;
            break;
        }
        rc = n == 0 ? -EIO : -errno; /* the file shrank, or the socket broke */
    }
    if (rc == ST_EAGAIN) {
        set_deadline(c, DEF(s->cfg.write_timeout_ms, 30000));
        return;
    }
    if (rc) {
        conn_close(c);
        return;
    }
    if (c->closing && !c->has_request && c->state != C_LINGER) {
        /* Lingering close: stop sending, keep reading (and dropping) for a while so the
         * client can read our answer before it learns about the close (nginx's
         * lingering_close). Closing with unread input would send RST and might destroy
         * the response in the client's receive buffer. */
        c->state = C_LINGER;
        shutdown(c->w.fd, SHUT_WR);
        st_io_timer_start(s->loop, &c->timer, LINGER_MS);
        c->deadline = st_io_now_ms(s->loop) + LINGER_MS;
        c->reading = false;
        set_reading(c, true);
    }
}

/* EOF or error. A client may half-close after sending its requests (printf | nc):
 * everything complete was answered already, so finish writing, then close. */
static void peer_gone(struct st_http_conn *c, bool error)
{
    c->peer_eof = true;
    set_reading(c, false);
    if (error || (!c->has_request && c->out.len == 0 && c->file_fd < 0 && !c->sending)) {
        conn_close(c);
        return;
    }
    c->closing = true;
}

/* Bytes the ring appended to c->in (n > 0), end of stream (0), an error or ST_ELIMIT. */
static void on_ring_data(struct st_http_conn *c, long n)
{
    struct st_http_server *s = c->s;
    if (c->state == C_LINGER) {
        st_buf_clear(&c->in);
        if (n <= 0)
            conn_close(c);
        return;
    }
    if (!c->reading)
        return; /* not delivered while not reading (io.h); kept for symmetry */
    if (n == ST_ELIMIT) {
        set_reading(c, false);
        server_error(c, 431, "request too large");
        return;
    }
    if (n > 0) {
        STAT_ADD(s, st_in, (uint64_t)n);
        if (c->state == C_BODY)
            set_deadline(c, DEF(s->cfg.body_timeout_ms, 10000));
        process_input(c);
        return;
    }
    peer_gone(c, n < 0);
}

static void on_io(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)loop;
    struct st_http_conn *c = w->data;
    struct st_http_server *s = c->s;
    if (revents & ST_IO_SENT) {
        c->sending = false;
        if (w->sres > 0)
            STAT_ADD(s, st_out, (uint64_t)w->sres);
        if (w->sres < 0 && w->sres != -EAGAIN) {
            conn_close(c);
            return;
        }
        if (c->out.len) /* the socket was full: the rest waits for EPOLLOUT */
            c->sync_write = true;
        revents |= ST_IO_WRITE;
    }
    if (revents & ST_IO_WRITE) {
        conn_write(c);
        if (c->closed)
            return;
        if (c->on_drain && c->ex.streaming && !c->ex.finished && c->out.len == 0) {
            c->on_drain(&c->ex, c->on_drain_arg); /* room again: the streamer continues */
            return;
        }
        if (c->state == C_HEAD && c->out.len == 0 && c->file_fd < 0)
            process_input(c); /* the client was reading slowly: continue its pipeline */
    }
    if (!(revents & (ST_IO_READ | ST_IO_ERROR)) || c->closed)
        return;
    if (c->ring) {
        /* epoll's view of a ring socket (an error beside EPOLLOUT) is reported again by
         * the receive, in order with the data: wait for that */
        if (revents & ST_IO_RDATA)
            on_ring_data(c, w->rres);
        return;
    }
    if (c->state == C_LINGER) {
        char drop[4096];
        ssize_t n = read(w->fd, drop, sizeof drop);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            conn_close(c);
        return;
    }
    if (!c->reading) {
        if (revents & ST_IO_ERROR)
            conn_close(c); /* reset or hang-up while we were not reading */
        return;
    }
    if (st_buf_reserve(&c->in, READ_CHUNK)) {
        /* the buffer is at its limit: only a head over the limit gets here */
        set_reading(c, false);
        server_error(c, 431, "request too large");
        return;
    }
    ssize_t n = read(w->fd, c->in.data + c->in.len, c->in.cap - c->in.len);
    if (n > 0) {
        c->in.len += (size_t)n;
        c->in.data[c->in.len] = '\0';
        STAT_ADD(s, st_in, (uint64_t)n);
        if (c->state == C_BODY)
            set_deadline(c, DEF(s->cfg.body_timeout_ms, 10000));
        process_input(c);
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    peer_gone(c, n < 0);
}

static void on_timer(struct st_io_loop *loop, struct st_io_timer *t)
{
    struct st_http_conn *c = t->data;
    int64_t now = st_io_now_ms(loop);
    if (c->deadline > now) { /* moved later since the timer was set: re-arm (lazy timers) */
        st_io_timer_start(loop, t, c->deadline - now);
        return;
    }
    struct st_http_server *s = c->s;
    if (c->state == C_LINGER) {
        conn_close(c);
        return;
    }
    if (c->has_request) {
        if (c->out.len || c->file_fd >= 0) { /* a response is stuck: the client stopped reading */
            STAT_ADD(s, st_timeouts, 1);
            conn_close(c);
        }
        return; /* the handler owns the exchange: its own timeouts apply */
    }
    STAT_ADD(s, st_timeouts, 1);
    bool mid_request = c->state == C_BODY || c->in.len > c->in_pos;
    if (mid_request && c->out.len == 0 && c->file_fd < 0) {
        /* slowloris or a stalled body: say so, then close */
        if (c->state == C_HEAD)
            c->head_len = 0;
        server_error(c, 408, "request timed out");
        return;
    }
    conn_close(c);
}

/* ---- accepting ---- */

static void peer_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss); /* the analyzer cannot see getsockname/getpeername fill it */
    socklen_t len = sizeof ss;
    out[0] = '\0';
    if (getpeername(fd, (struct sockaddr *)&ss, &len))
        return;
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
    }
}

static void on_accept(struct st_io_acceptor *a, int fd)
{
    struct st_http_server *s = a->data;
    struct st_http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->s = s;
    c->file_fd = -1;
    c->first = true;
    c->state = C_HEAD;
    st_buf_init(&c->in, DEF(s->cfg.limits.max_head, (size_t)65536) + DEF(s->cfg.limits.max_body, (uint64_t)1048576) +
                            READ_CHUNK);
    st_buf_init(&c->out, ST_BUF_UNLIMITED);
    st_buf_init(&c->ex.out_body, OUT_BODY_MAX);
    st_arena_init(&c->arena, 0);
    c->ex.arena = &c->arena;
    c->ex.loop = s->loop;
    c->ex.server = s;
    c->ex.data = s->cfg.data;
    c->ex.worker = s->worker;
    c->ex.file_fd = -1;
    peer_name(fd, c->ex.peer, sizeof c->ex.peer);
    st_http_request_init(&c->req);
    st_io_watch_init(&c->w, fd, on_io, c);
    c->ring = st_io_watch_ring_read(s->loop, &c->w, &c->in);
    st_io_timer_init(&c->timer, on_timer, c);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    STAT_ADD(s, st_accepted, 1);
    STAT_ADD(s, st_open, 1);
    c->reading = true;
    if (st_io_watch_set(s->loop, &c->w, ST_IO_READ)) {
        conn_close(c);
        return;
    }
    set_deadline(c, DEF(s->cfg.header_timeout_ms, 10000));
    if (s->nconns >= DEF(s->cfg.max_conns, (size_t)10000))
        st_io_acceptor_pause(s->loop, &s->acc);
}

/* ---- server ---- */

int st_http_server_new(struct st_io_loop *loop, int listen_fd, const struct st_http_config *cfg, int worker,
                       struct st_http_server **out)
{
    struct st_http_server *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    s->cfg = *cfg;
    s->worker = worker;
    struct st_http_limits def = ST_HTTP_LIMITS_DEFAULT;
    struct st_http_limits *l = &s->cfg.limits;
    l->max_target = DEF(l->max_target, def.max_target);
    l->max_head = DEF(l->max_head, def.max_head);
    l->max_headers = DEF(l->max_headers, def.max_headers);
    l->max_body = DEF(l->max_body, def.max_body);
    l->max_chunk_ext = DEF(l->max_chunk_ext, def.max_chunk_ext);
    l->max_trailers = DEF(l->max_trailers, def.max_trailers);
    if (cfg->server_header) {
        size_t n = strlen(cfg->server_header);
        char *line = malloc(n + 11);
        if (!line) {
            free(s);
            return -ENOMEM;
        }
        snprintf(line, n + 11, "Server: %s\r\n", cfg->server_header);
        s->server_line = (struct st_str){ line, n + 10 }; /* freed with s */
        // cppcheck-suppress memleak
    }
    st_io_timer_init(&s->drain_timer, NULL, s);
    int rc = st_io_acceptor_start(loop, &s->acc, listen_fd, on_accept, s);
    if (rc) {
        free((char *)s->server_line.ptr);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void maybe_drained(struct st_http_server *s)
{
    if (!s->draining || s->nconns > 0 || !s->drain_done)
        return;
    void (*done)(void *) = s->drain_done;
    s->drain_done = NULL;
    st_io_timer_stop(s->loop, &s->drain_timer);
    done(s->drain_arg);
}

static void drain_deadline(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct st_http_server *s = t->data;
    st_log_warn("http: drain deadline passed, closing connections", ST_LOG_INT("open", (int64_t)s->nconns));
    for (struct st_http_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    /* connections held by async handlers stay until they finish; usually none */
    if (s->nconns > 0 && s->drain_done) {
        void (*done)(void *) = s->drain_done;
        s->drain_done = NULL;
        done(s->drain_arg);
    }
}

void st_http_server_drain(struct st_http_server *s, void (*done)(void *arg), void *arg)
{
    s->draining = true;
    s->drain_done = done;
    s->drain_arg = arg;
    st_io_acceptor_stop(s->loop, &s->acc);
    for (struct st_http_conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        bool idle = !c->has_request && c->state == C_HEAD && c->in.len == c->in_pos && c->out.len == 0 && !c->sending;
        if (idle && !c->closed)
            conn_close(c);
        else
            c->closing = c->closing || !c->has_request; /* in-flight ones get Connection: close */
    }
    st_io_timer_init(&s->drain_timer, drain_deadline, s);
    st_io_timer_start(s->loop, &s->drain_timer, DEF(s->cfg.drain_timeout_ms, 10000));
    maybe_drained(s);
}

void st_http_server_free(struct st_http_server *s)
{
    if (!s)
        return;
    st_io_acceptor_stop(s->loop, &s->acc);
    st_io_timer_stop(s->loop, &s->drain_timer);
    s->drain_done = NULL;
    while (s->conns) {
        struct st_http_conn *c = s->conns;
        if (c->closed) { /* held by an async handler that never finished: abandon it */
            unlink_conn(c);
            continue;
        }
        conn_close(c);
    }
    free((char *)s->server_line.ptr);
    free(s);
}

void st_http_server_stats(const struct st_http_server *s, struct st_http_stats *out)
{
    out->accepted = STAT_GET(s, st_accepted);
    out->open = STAT_GET(s, st_open);
    out->requests = STAT_GET(s, st_requests);
    out->bytes_in = STAT_GET(s, st_in);
    out->bytes_out = STAT_GET(s, st_out);
    out->timeouts = STAT_GET(s, st_timeouts);
    out->parse_errors = STAT_GET(s, st_parse_errors);
}

void st_http_group_stats(const struct st_http_ex *x, struct st_http_stats *out)
{
    struct st_http_group *g = x->server->group;
    if (!g) {
        st_http_server_stats(x->server, out);
        return;
    }
    memset(out, 0, sizeof *out);
    for (int i = 0; i < g->n; i++) {
        struct st_http_server *s = g->servers[i];
        if (!s)
            continue;
        struct st_http_stats one;
        st_http_server_stats(s, &one);
        out->accepted += one.accepted;
        out->open += one.open;
        out->requests += one.requests;
        out->bytes_in += one.bytes_in;
        out->bytes_out += one.bytes_out;
        out->timeouts += one.timeouts;
        out->parse_errors += one.parse_errors;
    }
}

bool st_http_draining(const struct st_http_ex *x)
{
    return x->server->draining;
}

/* ---- a group of workers: st_http_serve ---- */

/* "ip:port" of a bound socket, to bind the other workers' listeners to the same port. */
static int bound_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss); /* the analyzer cannot see getsockname/getpeername fill it */
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len))
        return -errno;
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
    }
    return 0;
}

/* The app's worker_stop, once, on the worker's thread. */
static void worker_stop_hook(struct st_http_group *g, struct st_io_loop *loop, int index)
{
    if (!g->started[index])
        return;
    g->started[index] = false;
    g->opts->worker_stop(loop, index, g->opts->worker_arg);
}

static void worker_drained(void *arg)
{
    struct st_http_server *s = arg;
    /* no exchange is left: the app's per-loop resources can go while the loop still runs */
    worker_stop_hook(s->group, s->loop, s->worker);
    st_io_loop_stop(s->loop);
}

/* Runs on each worker's loop (posted from the signal handler's loop). */
static void worker_drain(void *arg)
{
    struct st_http_server *s = arg;
    if (!s->draining)
        st_http_server_drain(s, worker_drained, s);
}

static void group_on_stop(struct st_io_signals *sig, int signo)
{
    struct st_http_group *g = sig->data;
    int n = atomic_fetch_add(&g->stopping, 1);
    if (n > 0) { /* a second signal: stop now */
        st_log_warn("http: second signal, stopping without draining", ST_LOG_INT("signal", signo));
        st_io_workers_stop(g->loops[0]);
        return;
    }
    st_log_info("http: draining", ST_LOG_INT("signal", signo));
    for (int i = 0; i < g->n; i++)
        if (g->loops[i] && g->servers[i])
            st_io_post(g->loops[i], worker_drain, g->servers[i]);
}

static void group_on_reload(struct st_io_signals *sig)
{
    struct st_http_group *g = sig->data;
    if (g->opts->on_reload)
        g->opts->on_reload(g->opts->arg);
}

static int worker_setup(struct st_io_loop *loop, int index, void *arg)
{
    struct st_http_group *g = arg;
    struct st_http_server *s = NULL;
    int rc = g->opts->worker_start ? g->opts->worker_start(loop, index, g->opts->worker_arg) : 0;
    if (rc)
        return rc;
    g->started[index] = g->opts->worker_stop != NULL;
    rc = st_http_server_new(loop, g->fds[index], g->cfg, index, &s);
    if (!rc)
        s->group = g;
    if (!rc && index == 0) {
        rc = st_io_signals_open(loop, &g->sig, group_on_stop, group_on_reload, g);
        if (rc)
            st_http_server_free(s);
    }
    if (rc) {
        worker_stop_hook(g, loop, index);
        return rc;
    }
    g->loops[index] = loop;
    g->servers[index] = s; /* published last: the signal handler checks both */
    return 0;
}

static void worker_teardown(struct st_io_loop *loop, int index, void *arg)
{
    struct st_http_group *g = arg;
    if (index == 0)
        st_io_signals_close(loop, &g->sig);
    struct st_http_server *s = g->servers[index];
    g->servers[index] = NULL;
    worker_stop_hook(g, loop, index); /* a forced stop skipped the drain */
    st_http_server_free(s);
}

static int open_listeners(struct st_http_group *g, const struct st_http_serve_opts *o, int *port, struct st_error *err)
{
    int backlog = o->backlog > 0 ? o->backlog : 4096;
    int rc = st_io_listen(o->listen, backlog, ST_IO_REUSEPORT, &g->fds[0], err);
    if (rc)
        return rc;
    char name[128] = "";
    rc = bound_name(g->fds[0], name, sizeof name);
    if (!rc)
        rc = st_io_local_port(g->fds[0], port);
    for (int i = 1; !rc && i < g->n; i++)
        rc = st_io_listen(name, backlog, ST_IO_REUSEPORT, &g->fds[i], err);
    if (rc && err->code == 0)
        st_error_set(err, rc, "listen on %s: %s", o->listen, strerror(-rc));
    return rc;
}

int st_http_serve(const struct st_http_serve_opts *o, const struct st_http_config *cfg, struct st_error *err)
{
    int rc = st_io_signals_block();
    if (rc)
        return st_error_set(err, rc, "block signals: %s", strerror(-rc));
    int n = o->workers > 0 ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    struct st_http_group g = { .n = n, .opts = o, .cfg = cfg };
    g.servers = calloc((size_t)n, sizeof(struct st_http_server *));
    g.loops = calloc((size_t)n, sizeof(struct st_io_loop *));
    g.fds = malloc((size_t)n * sizeof *g.fds);
    g.started = calloc((size_t)n, sizeof *g.started);
    for (int i = 0; g.fds && i < n; i++)
        g.fds[i] = -1;
    if (!g.servers || !g.loops || !g.fds || !g.started) {
        rc = st_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    int port = 0;
    rc = open_listeners(&g, o, &port, err);
    if (rc)
        goto out;
    if (o->on_ready)
        o->on_ready(port, o->arg);
    rc = st_io_run_workers(n, worker_setup, worker_teardown, &g);
    if (rc)
        st_error_set(err, rc, "start workers: %s", rc < 0 ? strerror(-rc) : "setup failed");
out:
    if (g.fds)
        for (int i = 0; i < n; i++)
            if (g.fds[i] >= 0)
                close(g.fds[i]);
    free(g.servers);
    free(g.loops);
    free(g.fds);
    free(g.started);
    return rc;
}
