/*
 * client.c - the HTTP/1.1 client on the event loop (see client.h for the model).
 *
 * One connection per client and one exchange on it at a time. An exchange goes through
 * attempts: pick a connection (the kept one if it still looks alive, else a new
 * nonblocking connect), write the request with st_io_flush while reading, and feed what
 * arrives to a small state machine: head (st_http_parse_response, skipping interim 1xx),
 * then the body by its framing (Content-Length, chunked through st_http_chunked_decode in
 * place, or until close). A kept connection can die between exchanges (the server's idle
 * timeout) in a way no check before writing can rule out, so an attempt on a reused
 * connection that gets nothing back is retried once on a fresh one, as curl does.
 *
 * Completion is deferred (st_io_defer): done callbacks never run with client code on the
 * stack, so they may send the next exchange or free the client.
 */
#include "http/client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/str.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_BODY (8u << 20)
#define DEFAULT_MAX_HEAD 65536
#define DEFAULT_KEEP_BYTES 16384
#define READ_CHUNK 16384

enum rstate { R_HEAD, R_LENGTH, R_CHUNKED, R_CLOSE };

struct st_http_client {
    struct st_io_loop *loop;
    bool own_loop;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[300];
    struct st_http_client_opts opts;
    uint64_t connections;
    bool closing; /* in st_http_client_free: exchanges sent now are cancelled at once */

    /* The connection (fd -1: none). */
    int fd;
    struct st_io_watch w;
    bool connecting;
    bool kept;        /* the connection has served an exchange and was kept */
    bool write_error; /* writing failed: read what the server said, send nothing more */
    int write_errno;
    struct st_buf out, in;
    struct st_http_response parsed;
    struct st_http_chunked chunked;
    enum rstate rstate;
    uint64_t remaining;
    enum st_http_method method; /* framing of responses to this request */

    /* Exchanges. */
    struct st_http_exchange *active, *qhead, *qtail;
    struct st_io_timer deadline, connect_timer;
    int64_t started_ms;
    bool retried;
    uint64_t got; /* bytes received in this attempt */
};

static void start_next(struct st_http_client *c);
static void begin_attempt(struct st_http_client *c);

/* ---- exchanges ---- */

void st_http_exchange_init(struct st_http_exchange *x)
{
    memset(x, 0, sizeof(*x));
}

void st_http_exchange_release(struct st_http_exchange *x)
{
    for (size_t i = 0; i < ST_HTTP_CLIENT_MAX_RESPONSES; i++) {
        struct st_http_resp *r = &x->resp[i];
        st_buf_release(&r->head);
        st_buf_release(&r->body);
        free(r->headers);
        memset(r, 0, sizeof(*r));
    }
    x->nresp = 0;
    st_buf_release(&x->sent);
    st_buf_release(&x->received);
}

const struct st_str *st_http_resp_header(const struct st_http_resp *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (st_str_ieq_c(r->headers[i].name, name))
            return &r->headers[i].value;
    }
    return NULL;
}

/* Append what fits of p[0..n) to a diagnostics buffer (bounded by its max). */
static void keep(struct st_buf *b, const void *p, size_t n)
{
    size_t room = b->max - b->len;
    if (n > room)
        n = room;
    if (n)
        (void)st_buf_append(b, p, n);
}

static size_t expected(const struct st_http_exchange *x)
{
    if (!x->raw || x->expect == 0)
        return 1;
    return x->expect < ST_HTTP_CLIENT_MAX_RESPONSES ? x->expect : ST_HTTP_CLIENT_MAX_RESPONSES;
}

/* ---- the connection ---- */

static void conn_close(struct st_http_client *c)
{
    if (c->fd < 0)
        return;
    st_io_watch_stop(c->loop, &c->w);
    st_io_timer_stop(c->loop, &c->connect_timer);
    close(c->fd);
    c->fd = -1;
    c->connecting = false;
    c->kept = false;
}

/* A kept connection is usable if the server has neither closed it nor sent anything. */
static bool conn_alive(struct st_http_client *c)
{
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* ---- finishing ---- */

static void run_done(void *arg)
{
    struct st_http_exchange *x = arg;
    x->done_ = true;
    if (x->done)
        x->done(x); /* may free x: touch nothing afterwards */
}

static void finish(struct st_http_client *c, int rc)
{
    struct st_http_exchange *x = c->active;
    st_io_timer_stop(c->loop, &c->deadline);
    x->rc = rc;
    x->elapsed_ms = st_io_now_ms(c->loop) - c->started_ms;
    c->active = NULL;
    st_io_defer(c->loop, &x->defer_, run_done, x);
    start_next(c);
}

__attribute__((format(printf, 3, 4))) static void fail(struct st_http_client *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    struct st_http_exchange *x = c->active;
    x->err.code = rc;
    vsnprintf(x->err.msg, sizeof(x->err.msg), fmt, ap);
    va_end(ap);
    conn_close(c);
    finish(c, rc);
}

/* The exchange's last response is complete: keep the connection if it can carry more. */
static void succeed(struct st_http_client *c)
{
    struct st_http_exchange *x = c->active;
    const struct st_http_resp *last = &x->resp[x->nresp - 1];
    bool reusable = !x->raw && !x->close && !c->opts.no_reuse && last->keep_alive && last->status != 101 &&
                    c->in.len == 0 && c->out.len == 0 && !c->write_error;
    if (reusable) {
        st_io_watch_stop(c->loop, &c->w); /* idle: no interest until the next exchange */
        c->kept = true;
    } else {
        conn_close(c);
    }
    st_error_clear(&x->err);
    finish(c, 0);
}

/* The server closed or reset the connection before the exchange was complete. */
static void conn_lost(struct st_http_client *c, int rc)
{
    struct st_http_exchange *x = c->active;
    if (c->rstate == R_HEAD && x->nresp == expected(x)) {
        succeed(c); /* draining: a reset after the responses is the end we waited for */
        return;
    }
    if (c->got == 0 && x->reused && !c->retried) {
        c->retried = true; /* the kept connection died while idle: once more on a new one */
        conn_close(c);
        x->reused = false;
        begin_attempt(c);
        return;
    }
    const char *how = rc == -ECONNRESET && c->got == 0 ? "reset the connection" : "closed the connection";
    if (c->write_error)
        fail(c, -ECONNRESET, "%s %s while the request was being sent (write: %s)", c->host, how,
             st_strerror(c->write_errno));
    else if (c->got == 0)
        fail(c, -ECONNRESET, "%s %s without sending a response", c->host, how);
    else if (c->rstate == R_HEAD)
        fail(c, -ECONNRESET, "%s closed the connection in the middle of a response head (%llu bytes received)", c->host,
             (unsigned long long)c->got);
    else if (c->rstate == R_LENGTH)
        fail(c, -ECONNRESET,
             "%s closed the connection in the middle of the body: %llu of %llu Content-Length bytes missing", c->host,
             (unsigned long long)c->remaining, (unsigned long long)c->parsed.content_length);
    else if (c->rstate == R_CHUNKED)
        fail(c, -ECONNRESET, "%s closed the connection in the middle of a chunked body", c->host);
    else
        fail(c, -ECONNRESET, "%s reset the connection during a body delimited by close", c->host);
}

/* ---- reading responses ---- */

/* The head at c->in[0..n) was parsed into c->parsed: copy it into the exchange. */
static int take_head(struct st_http_client *c, size_t n)
{
    struct st_http_exchange *x = c->active;
    struct st_http_resp *r = &x->resp[x->nresp];
    st_buf_release(&r->head);
    st_buf_release(&r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
    st_buf_init(&r->head, ST_BUF_UNLIMITED);
    (void)st_buf_append(&r->head, c->in.data, n);
    st_buf_init(&r->body, c->opts.max_body);
    const struct st_http_response *p = &c->parsed;
    r->status = p->status;
    r->minor_version = p->minor_version;
    r->reason = st_str(r->head.data + (p->reason.ptr - c->in.data), p->reason.len);
    r->nheaders = p->nheaders;
    r->headers = st_xcalloc(p->nheaders ? p->nheaders : 1, sizeof(*r->headers));
    for (size_t i = 0; i < p->nheaders; i++) {
        r->headers[i] = p->headers[i];
        r->headers[i].name.ptr = r->head.data + (p->headers[i].name.ptr - c->in.data);
        r->headers[i].value.ptr = r->head.data + (p->headers[i].value.ptr - c->in.data);
    }
    r->framing = p->body;
    r->keep_alive = p->keep_alive;
    st_buf_consume(&c->in, n);
    return 0;
}

/* Parse a head from c->in. 1 when a response (maybe without a body) started, 0 to wait,
 * -1 when the exchange failed. */
static int read_head(struct st_http_client *c)
{
    struct st_http_exchange *x = c->active;
    struct st_http_limits lim = { .max_head = c->opts.max_head };
    enum st_http_method m = c->method;
    if (x->raw)
        m = x->nresp < 32 && (x->raw_head >> x->nresp) & 1 ? ST_HTTP_M_HEAD : ST_HTTP_M_GET;
    int rc = st_http_parse_response(c->in.data ? c->in.data : "", c->in.len, &c->parsed, m, &lim);
    if (rc == ST_EAGAIN)
        return 0;
    if (rc < 0) {
        fail(c, rc, "invalid response from %s: %s", c->host, c->parsed.error);
        return -1;
    }
    take_head(c, (size_t)rc);
    struct st_http_resp *r = &x->resp[x->nresp];
    if (r->status >= 100 && r->status < 200 && r->status != 101) {
        st_http_response_init(&c->parsed);
        return 1; /* interim response: the final one follows; r is overwritten */
    }
    switch (r->framing) {
    case ST_HTTP_RBODY_NONE: c->rstate = R_HEAD; break;
    case ST_HTTP_RBODY_LENGTH:
        if (r->body.max < c->parsed.content_length) {
            fail(c, ST_ELIMIT, "response body too large: Content-Length %llu exceeds the limit of %zu bytes",
                 (unsigned long long)c->parsed.content_length, r->body.max);
            return -1;
        }
        c->remaining = c->parsed.content_length;
        c->rstate = c->remaining ? R_LENGTH : R_HEAD;
        break;
    case ST_HTTP_RBODY_CHUNKED: {
        struct st_http_limits cl = { .max_body = c->opts.max_body };
        st_http_chunked_init(&c->chunked, &cl);
        c->rstate = R_CHUNKED;
        break;
    }
    case ST_HTTP_RBODY_CLOSE: c->rstate = R_CLOSE; break;
    }
    if (c->rstate == R_HEAD)
        x->nresp++;
    return 1;
}

/* Move body bytes from c->in to the current response. 1 when it completed, 0 to wait, -1 failed. */
static int read_body(struct st_http_client *c)
{
    struct st_http_exchange *x = c->active;
    struct st_http_resp *r = &x->resp[x->nresp];
    if (c->rstate == R_LENGTH) {
        size_t n = c->in.len < c->remaining ? c->in.len : (size_t)c->remaining;
        (void)st_buf_append(&r->body, c->in.data, n); /* fits: checked against Content-Length */
        st_buf_consume(&c->in, n);
        c->remaining -= n;
        if (c->remaining)
            return 0;
    } else if (c->rstate == R_CHUNKED) {
        size_t used = 0, out = 0;
        int rc = st_http_chunked_decode(&c->chunked, c->in.data ? c->in.data : (char[1]){ 0 }, c->in.len, &used, &out);
        if (out)
            (void)st_buf_append(&r->body, c->in.data, out); /* the decoder enforces max_body */
        st_buf_consume(&c->in, used);
        if (rc == ST_EAGAIN)
            return 0;
        if (rc == ST_ELIMIT && c->chunked.status == 413) {
            fail(c, ST_ELIMIT, "response body too large: the chunked body exceeds the limit of %zu bytes", r->body.max);
            return -1;
        }
        if (rc) {
            fail(c, rc, "invalid chunked body from %s: %s", c->host, c->chunked.error);
            return -1;
        }
    } else { /* R_CLOSE */
        if (st_buf_append(&r->body, c->in.data, c->in.len)) {
            fail(c, ST_ELIMIT, "response body too large: more than %zu bytes before the server closed", r->body.max);
            return -1;
        }
        st_buf_clear(&c->in);
        return 0;
    }
    c->rstate = R_HEAD;
    x->nresp++;
    return 1;
}

/* Run the state machine over what has arrived; eof: the server closed its side. */
static void process(struct st_http_client *c, bool eof)
{
    struct st_http_exchange *x = c->active;
    for (;;) {
        int rc;
        if (c->rstate == R_HEAD && x->nresp == expected(x))
            break;
        if (c->rstate == R_HEAD)
            rc = c->in.len ? read_head(c) : 0;
        else
            rc = read_body(c);
        if (rc < 0)
            return;
        if (rc == 0)
            break;
    }
    if (c->rstate == R_HEAD && x->nresp == expected(x)) {
        if (x->raw && x->drain) {
            x->extra += c->in.len;
            st_buf_clear(&c->in);
            if (!eof)
                return;
        }
        succeed(c);
        return;
    }
    if (!eof)
        return;
    if (c->rstate == R_CLOSE) {
        c->rstate = R_HEAD;
        x->nresp++;
        if (x->nresp == expected(x)) {
            succeed(c);
            return;
        }
    }
    conn_lost(c, 0);
}

static void on_read(struct st_http_client *c)
{
    struct st_http_exchange *x = c->active;
    if (st_buf_reserve(&c->in, READ_CHUNK)) {
        fail(c, ST_ELIMIT, "response head from %s larger than %zu bytes", c->host, c->opts.max_head);
        return;
    }
    ssize_t n;
    do
        n = read(c->fd, c->in.data + c->in.len, READ_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0) {
        if (errno == ECONNRESET || errno == EPIPE)
            conn_lost(c, -errno);
        else
            fail(c, -errno, "read from %s: %s", c->host, strerror(errno));
        return;
    }
    keep(&x->received, c->in.data + c->in.len, (size_t)n);
    c->in.len += (size_t)n;
    c->in.data[c->in.len] = '\0';
    c->got += (uint64_t)n;
    process(c, n == 0);
}

/* ---- writing and connecting ---- */

static void flush_out(struct st_http_client *c)
{
    if (c->write_error)
        return;
    int rc = st_io_flush(c->loop, &c->w, &c->out);
    if (rc == 0 || rc == ST_EAGAIN)
        return;
    /* The server stopped reading (maybe it answered already and closed): keep reading. */
    c->write_error = true;
    c->write_errno = rc;
    st_buf_clear(&c->out);
    (void)st_io_watch_set(c->loop, &c->w, ST_IO_READ);
}

static void start_io(struct st_http_client *c)
{
    int rc = st_io_watch_set(c->loop, &c->w, ST_IO_READ);
    if (rc) {
        fail(c, rc, "watch %s: %s", c->host, st_strerror(rc));
        return;
    }
    flush_out(c);
}

static void connected(struct st_http_client *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        if (err == ECONNREFUSED)
            fail(c, -err, "connection refused by %s (is the server running?)", c->host);
        else
            fail(c, -err, "connect to %s: %s", c->host, strerror(err));
        return;
    }
    c->connecting = false;
    st_io_timer_stop(c->loop, &c->connect_timer);
    st_io_watch_stop(c->loop, &c->w);
    start_io(c);
}

static void on_event(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)loop;
    struct st_http_client *c = w->data;
    if (c->connecting) {
        connected(c);
        return;
    }
    if (revents & ST_IO_WRITE) {
        flush_out(c);
        if (!c->active || c->fd < 0)
            return;
    }
    if (revents & (ST_IO_READ | ST_IO_ERROR))
        on_read(c);
}

static void on_connect_timeout(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct st_http_client *c = t->data;
    fail(c, -ETIMEDOUT, "connect to %s timed out after %d ms", c->host, c->opts.connect_timeout_ms);
}

static void on_deadline(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct st_http_client *c = t->data;
    struct st_http_exchange *x = c->active;
    int ms = x->timeout_ms ? x->timeout_ms : c->opts.timeout_ms;
    if (c->connecting)
        fail(c, -ETIMEDOUT, "connect to %s timed out after %d ms", c->host, ms);
    else if (c->rstate == R_HEAD && x->nresp == expected(x))
        fail(c, -ETIMEDOUT, "%s did not close the connection within %d ms after the response", c->host, ms);
    else if (c->got == 0)
        fail(c, -ETIMEDOUT, "no response from %s within %d ms", c->host, ms);
    else
        fail(c, -ETIMEDOUT, "response from %s incomplete after %d ms (%llu bytes received)", c->host, ms,
             (unsigned long long)c->got);
}

/* Open a new connection (nonblocking connect). 0, or the attempt failed. */
static int conn_open(struct st_http_client *c)
{
    int fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail(c, -errno, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->fd = fd;
    c->connections++;
    st_io_watch_init(&c->w, fd, on_event, c);
    int rc = connect(fd, (struct sockaddr *)&c->addr, c->addrlen);
    if (rc == 0) {
        start_io(c);
        return 0;
    }
    if (errno != EINPROGRESS) {
        int e = errno;
        if (e == ECONNREFUSED)
            fail(c, -e, "connection refused by %s (is the server running?)", c->host);
        else
            fail(c, -e, "connect to %s: %s", c->host, strerror(e));
        return -1;
    }
    c->connecting = true;
    st_io_timer_start(c->loop, &c->connect_timer, c->opts.connect_timeout_ms);
    rc = st_io_watch_set(c->loop, &c->w, ST_IO_WRITE);
    if (rc) {
        fail(c, rc, "watch %s: %s", c->host, st_strerror(rc));
        return -1;
    }
    return 0;
}

static bool user_has(const struct st_http_exchange *x, const char *name)
{
    for (size_t i = 0; i < x->nheaders; i++) {
        if (strcasecmp(x->headers[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Serialise the request into c->out (raw bytes verbatim). */
static void build_request(struct st_http_client *c, struct st_http_exchange *x)
{
    struct st_buf *o = &c->out;
    st_buf_clear(o);
    if (x->raw) {
        (void)st_buf_append(o, x->raw, x->raw_len);
        c->method = ST_HTTP_M_GET;
        return;
    }
    const char *m = x->method ? x->method : "GET";
    c->method = strcmp(m, "HEAD") == 0 ? ST_HTTP_M_HEAD : strcmp(m, "CONNECT") == 0 ? ST_HTTP_M_CONNECT : ST_HTTP_M_GET;
    (void)st_buf_printf(o, "%s %s HTTP/1.1\r\n", m, x->target ? x->target : "/");
    if (!user_has(x, "host"))
        (void)st_buf_printf(o, "Host: %s\r\n", c->host);
    for (size_t i = 0; i < x->nheaders; i++)
        (void)st_buf_printf(o, "%s: %s\r\n", x->headers[i].name, x->headers[i].value);
    bool wants_length = x->body_len || !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
    if (wants_length && !user_has(x, "content-length"))
        (void)st_buf_printf(o, "Content-Length: %zu\r\n", x->body_len);
    if ((x->close || c->opts.no_reuse) && !user_has(x, "connection"))
        (void)st_buf_append_c(o, "Connection: close\r\n");
    (void)st_buf_append_c(o, "\r\n");
    if (x->body_len)
        (void)st_buf_append(o, x->body, x->body_len);
}

static void begin_attempt(struct st_http_client *c)
{
    struct st_http_exchange *x = c->active;
    bool fresh = x->raw || x->close || c->opts.no_reuse;
    if (c->fd >= 0 && (fresh || !c->kept || !conn_alive(c)))
        conn_close(c);
    x->reused = c->fd >= 0;
    build_request(c, x);
    st_buf_clear(&x->sent);
    keep(&x->sent, c->out.data, c->out.len);
    st_buf_clear(&c->in);
    st_http_response_init(&c->parsed);
    c->rstate = R_HEAD;
    c->got = 0;
    c->write_error = false;
    if (x->reused)
        start_io(c);
    else
        (void)conn_open(c);
}

static void start_next(struct st_http_client *c)
{
    if (c->active || !c->qhead)
        return;
    struct st_http_exchange *x = c->qhead;
    c->qhead = x->next_;
    if (!c->qhead)
        c->qtail = NULL;
    c->active = x;
    st_io_update_time(c->loop);
    c->started_ms = st_io_now_ms(c->loop);
    c->retried = false;
    st_io_timer_start(c->loop, &c->deadline, x->timeout_ms ? x->timeout_ms : c->opts.timeout_ms);
    begin_attempt(c);
}

/* ---- public API ---- */

static void cancel(struct st_http_exchange *x);

void st_http_client_send(struct st_http_client *c, struct st_http_exchange *x)
{
    st_http_exchange_release(x);
    x->rc = 0;
    st_error_clear(&x->err);
    x->reused = false;
    x->extra = 0;
    x->elapsed_ms = 0;
    x->done_ = false;
    x->next_ = NULL;
    st_buf_init(&x->sent, c->opts.keep_bytes);
    st_buf_init(&x->received, c->opts.keep_bytes);
    if (c->closing) {
        cancel(x);
        return;
    }
    if (c->qtail)
        c->qtail->next_ = x;
    else
        c->qhead = x;
    c->qtail = x;
    start_next(c);
}

int st_http_client_exec(struct st_http_client *c, struct st_http_exchange *x)
{
    if (!c->own_loop)
        return st_error_set(&x->err, ST_EUSAGE, "st_http_client_exec needs a client with its own loop");
    void (*done)(struct st_http_exchange *) = x->done;
    x->done = NULL;
    st_http_client_send(c, x);
    while (!x->done_) {
        int rc = st_io_loop_run_once(c->loop, -1);
        if (rc && rc != -EINTR)
            st_panic("http client: event loop failed: %s", st_strerror(rc));
    }
    x->done = done;
    return x->rc;
}

/* "http://h:p/..." or "h:p" -> "h:p" in out. 0 or ST_EPARSE. */
static int host_of(const char *target, char *out, size_t cap, struct st_error *err)
{
    struct st_str s = st_str_c(target);
    if (st_str_starts_with(s, ST_STR_LIT("https://")))
        return st_error_set(err, ST_EPARSE, "%s: https is not supported (plain http only)", target);
    if (st_str_starts_with(s, ST_STR_LIT("http://")))
        s = st_str_sub(s, 7, s.len);
    ptrdiff_t slash = st_str_index(s, '/');
    if (slash >= 0)
        s.len = (size_t)slash;
    if (s.len == 0 || s.len >= cap)
        return st_error_set(err, ST_EPARSE, "%s: expected host:port or http://host:port", target);
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 0;
}

int st_http_client_new(struct st_io_loop *loop, const char *target, const struct st_http_client_opts *opts,
                       struct st_http_client **out, struct st_error *err)
{
    struct st_http_client *c = st_xcalloc(1, sizeof(*c));
    c->fd = -1;
    int rc = host_of(target, c->host, sizeof(c->host), err);
    if (!rc)
        rc = st_io_parse_addr(c->host, &c->addr, &c->addrlen, err);
    if (!rc && !loop) {
        rc = st_io_loop_new(&loop);
        if (rc)
            st_error_set(err, rc, "event loop: %s", st_strerror(rc));
        else
            c->own_loop = true;
    }
    if (rc) {
        free(c);
        return rc;
    }
    c->loop = loop;
    if (opts)
        c->opts = *opts;
    if (c->opts.connect_timeout_ms <= 0)
        c->opts.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (c->opts.timeout_ms <= 0)
        c->opts.timeout_ms = DEFAULT_TIMEOUT_MS;
    if (!c->opts.max_body)
        c->opts.max_body = DEFAULT_MAX_BODY;
    if (!c->opts.max_head)
        c->opts.max_head = DEFAULT_MAX_HEAD;
    if (!c->opts.keep_bytes)
        c->opts.keep_bytes = DEFAULT_KEEP_BYTES;
    st_buf_init(&c->out, ST_BUF_UNLIMITED);
    /* The head plus one read: body bytes are moved out as they arrive. */
    st_buf_init(&c->in, c->opts.max_head + READ_CHUNK);
    st_io_timer_init(&c->deadline, on_deadline, c);
    st_io_timer_init(&c->connect_timer, on_connect_timeout, c);
    *out = c;
    return 0;
}

static void cancel(struct st_http_exchange *x)
{
    x->rc = -ECANCELED;
    st_error_set(&x->err, -ECANCELED, "the client was closed before the exchange completed");
    x->done_ = true;
    if (x->done)
        x->done(x);
}

void st_http_client_free(struct st_http_client *c)
{
    if (!c)
        return;
    c->closing = true;
    conn_close(c);
    st_io_timer_stop(c->loop, &c->deadline);
    struct st_http_exchange *x = c->active;
    c->active = NULL;
    if (x)
        cancel(x);
    while (c->qhead) {
        x = c->qhead;
        c->qhead = x->next_;
        cancel(x);
    }
    st_buf_release(&c->out);
    st_buf_release(&c->in);
    if (c->own_loop)
        st_io_loop_free(c->loop);
    free(c);
}

uint64_t st_http_client_connections(const struct st_http_client *c)
{
    return c->connections;
}

void st_http_client_close_idle(struct st_http_client *c)
{
    if (!c->active)
        conn_close(c);
}

const char *st_http_client_host(const struct st_http_client *c)
{
    return c->host;
}

int st_http_fetch(const char *target, struct st_http_exchange *x, const struct st_http_client_opts *opts)
{
    struct st_http_client *c;
    int rc = st_http_client_new(NULL, target, opts, &c, &x->err);
    if (rc) {
        x->rc = rc;
        return rc;
    }
    rc = st_http_client_exec(c, x);
    st_http_client_free(c);
    return rc;
}
