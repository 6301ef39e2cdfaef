/*
 * server.h - the HTTP/1.1 server on the event loop (RFC 9110, RFC 9112).
 *
 * One st_http_server per loop (worker thread); st_http_serve() runs a whole group: one
 * SO_REUSEPORT listener and loop per worker, signals, graceful drain.
 *
 * Invariants of the module:
 *   - A connection handles one request at a time. Requests that arrive behind it
 *     (pipelining) wait in the input buffer, so responses leave in request order without
 *     a queue of responses. Handlers that finish at once (the common case) let the server
 *     parse, answer and batch a whole pipeline before one write.
 *   - An exchange (struct st_http_ex) belongs to its connection; the request slices borrow
 *     the connection's input buffer and x->arena is reset after each response. Anything a
 *     handler wants to keep beyond st_http_send must be copied out.
 *   - A handler either finishes the exchange before returning (st_http_send, st_http_reply,
 *     st_http_problem, ...), or calls st_http_async and finishes it later on the same loop
 *     thread (after pool work, a timer, a client call). Returning without either is a bug
 *     the server answers with 500, never a hang.
 *   - Errors the server detects itself (parse errors, limits, timeouts) are answered with
 *     RFC 9457 problem+json and the connection is closed when framing is no longer known.
 *   - Memory per connection is bounded: input by the head and body limits, output by
 *     max_out (the server stops reading from a client whose responses it is not reading).
 */
#ifndef ST_HTTP_SERVER_H
#define ST_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/str.h"
#include "http/parse.h"
#include "io/io.h"

struct st_http_server;
struct st_http_conn;
struct st_http_ex;

/* Settings; zero fields take the defaults in brackets. */
struct st_http_config {
    struct st_http_limits limits; /* head/body limits (parse.h) */
    int64_t header_timeout_ms;    /* whole head, from its first byte (slowloris) [10000] */
    int64_t body_timeout_ms;      /* between two reads of a body [10000] */
    int64_t idle_timeout_ms;      /* keep-alive connection without a request [60000] */
    int64_t write_timeout_ms;     /* a response not making progress [30000] */
    int64_t drain_timeout_ms;     /* graceful stop: in-flight requests get this long [10000] */
    size_t max_conns;             /* per worker; at the limit new connections wait in the
                                   * kernel's backlog (backpressure) [10000] */
    size_t max_out;               /* queued response bytes above which the server stops
                                   * reading from that connection [1 MiB] */
    const char *server_header;    /* "Server:" value; NULL: none */
    /* The server's own problems (a malformed request 400, 408, 413, 431 ...) carry a
     * machine-readable "code" member (bad_request, request_timeout, payload_too_large,
     * request_header_fields_too_large ...), for APIs whose problems all have one. */
    bool problem_codes;
    void (*handler)(struct st_http_ex *x);
    void *data; /* given to the handler as x->data */
};

/* A response header: name and value borrowed until the response is sent. */
struct st_http_field {
    struct st_str name;
    struct st_str value;
};

enum st_http_body_kind { ST_HTTP_RES_NONE, ST_HTTP_RES_REF, ST_HTTP_RES_BUF, ST_HTTP_RES_FILE };

/* A hook run at a point of an exchange's life (st_http_on_send / st_http_on_done). */
struct st_http_hook {
    void (*fn)(struct st_http_ex *x, void *arg);
    void *arg;
    struct st_http_hook *next;
};

/* One request and its response. */
struct st_http_ex {
    /* ---- the request (read-only for handlers) ---- */
    const struct st_http_request *req;
    struct st_str body;     /* the whole request body (decoded if chunked); empty if none */
    struct st_arena *arena; /* per-exchange memory, reset after the response */
    struct st_io_loop *loop;
    struct st_http_server *server;
    void *data;       /* st_http_config.data */
    int worker;       /* index of the worker running this exchange (0..n-1) */
    int64_t start_ns; /* monotonic ns of the loop turn in which the head completed */
    uint64_t id;      /* per-worker sequence number */
    char peer[64];    /* client address "ip:port" or "[ip6]:port" */

    /* ---- the response being built ---- */
    int status;                   /* default 200 */
    struct st_http_field *fields; /* headers (arena) */
    size_t nfields, capfields;
    enum st_http_body_kind body_kind;
    struct st_str body_ref; /* ST_HTTP_RES_REF: borrowed until sent */
    struct st_buf out_body; /* ST_HTTP_RES_BUF: st_http_body_buf() */
    int file_fd;            /* ST_HTTP_RES_FILE: owned by the exchange once given */
    uint64_t file_off, file_len;
    bool close;         /* send Connection: close and close after this response */
    bool async;         /* the handler will finish later */
    bool finished;      /* st_http_send was called */
    bool streaming;     /* head sent, body follows through st_http_stream_write */
    bool chunked;       /* streaming with chunked framing */
    uint64_t bytes_out; /* body bytes queued (for logs and metrics) */

    /* ---- for the layers above (router, middleware) ---- */
    const char *route;            /* matched pattern, for logs and metrics; NULL: none */
    struct st_http_hook *on_send; /* run by st_http_send before the head is written */
    struct st_http_hook *on_done; /* run when the exchange ends (sent or aborted) */
    void *user[4];                /* per-exchange slots for middleware */
};

/* ---- request helpers ---- */

/* The first request header with this token; an empty slice with ptr NULL if absent. */
struct st_str st_http_req_header(const struct st_http_ex *x, enum st_http_token token);
/* The first request header with this name (any case); ptr NULL if absent. */
struct st_str st_http_req_header_named(const struct st_http_ex *x, const char *name);

/* ---- building a response ---- */

/* Add a header; name and value must stay valid until the response is sent (literals or
 * x->arena). Content-Length, Date, Connection and Transfer-Encoding are the server's. */
void st_http_header(struct st_http_ex *x, struct st_str name, struct st_str value);
/* Add a header with a printf-formatted value copied into the arena. */
void st_http_header_fmt(struct st_http_ex *x, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The value of a response header already added (any case); ptr NULL if none. */
struct st_str st_http_res_header(const struct st_http_ex *x, const char *name);
/* Remove every response header with this name (any case). */
void st_http_res_header_remove(struct st_http_ex *x, const char *name);

/* The body is s, borrowed until sent. */
void st_http_body_ref(struct st_http_ex *x, struct st_str s);
/* The body is built in this buffer (emptied for every exchange; bounded by 64 MiB). */
struct st_buf *st_http_body_buf(struct st_http_ex *x);
/* The body is len bytes of fd from off, sent with sendfile. The exchange owns fd from now
 * on and closes it after sending (or on error). */
void st_http_body_file(struct st_http_ex *x, int fd, uint64_t off, uint64_t len);
/* The current body as a slice (REF or BUF; empty for NONE and FILE). */
struct st_str st_http_res_body(const struct st_http_ex *x);

/* Run fn(x, arg) from st_http_send, before the head is serialised (last added runs first). */
void st_http_on_send(struct st_http_ex *x, void (*fn)(struct st_http_ex *, void *), void *arg);
/* Run fn(x, arg) when the exchange ends, response queued or connection lost. */
void st_http_on_done(struct st_http_ex *x, void (*fn)(struct st_http_ex *, void *), void *arg);

/*
 * Finish: run the on_send hooks, serialise status line, Date, Content-Length (or the
 * HEAD/304/204 rules) and the headers, queue the body. Call exactly once, on the loop
 * thread. After it returns x must not be used (it may already be reset for the next
 * pipelined request).
 */
void st_http_send(struct st_http_ex *x);

/* status + Content-Type + a borrowed body + send. */
void st_http_reply(struct st_http_ex *x, int status, const char *content_type, struct st_str body);
/* status + Content-Type + printf body (copied) + send. */
void st_http_replyf(struct st_http_ex *x, int status, const char *content_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/*
 * An RFC 9457 problem+json response: {"type":"about:blank","title":<reason phrase>,
 * "status":N,"detail":detail,"instance":<path>} and send. detail may be NULL.
 */
void st_http_problem(struct st_http_ex *x, int status, const char *detail);

/* The handler will finish x later (on this loop thread). */
void st_http_async(struct st_http_ex *x);
/* Answer and then close the connection (Connection: close). */
void st_http_close_after(struct st_http_ex *x);

/*
 * Streaming: send the head now (status and headers as set, chunked framing for HTTP/1.1
 * unless a Content-Length header was added, close-delimited for HTTP/1.0), then any
 * number of writes, then end. write returns 0, or ST_EAGAIN when more than max_out is
 * queued: the data was taken, but the caller should wait for the on_drain callback before
 * writing more. -EPIPE once the client is gone (x stays valid until stream_end).
 */
void st_http_stream_begin(struct st_http_ex *x, void (*on_drain)(struct st_http_ex *, void *), void *arg);
int st_http_stream_write(struct st_http_ex *x, const void *data, size_t len);
void st_http_stream_end(struct st_http_ex *x);

/* The standard reason phrase of a status ("Not Found"), "" if unknown. */
const char *st_http_reason(int status);

/* ---- one server per loop ---- */

struct st_http_stats {
    uint64_t accepted;     /* connections accepted */
    uint64_t open;         /* connections open now */
    uint64_t requests;     /* responses started */
    uint64_t bytes_in;     /* bytes read from clients */
    uint64_t bytes_out;    /* bytes written to clients */
    uint64_t timeouts;     /* connections dropped by a timeout */
    uint64_t parse_errors; /* requests refused by the parser or a limit */
};

/* Serve connections accepted on listen_fd (not owned) on loop. 0 or -errno. */
int st_http_server_new(struct st_io_loop *loop, int listen_fd, const struct st_http_config *cfg, int worker,
                       struct st_http_server **out);
/*
 * Graceful stop: stop accepting, close idle connections, let in-flight requests finish
 * (their responses carry Connection: close), force-close what is left after
 * drain_timeout_ms. done(arg) runs on the loop once no connection is left.
 */
void st_http_server_drain(struct st_http_server *s, void (*done)(void *arg), void *arg);
/* Close every connection and free (on the loop thread). */
void st_http_server_free(struct st_http_server *s);
/* Counters of this server; any thread (relaxed reads, monotonic except `open`). */
void st_http_server_stats(const struct st_http_server *s, struct st_http_stats *out);
/* The sum over every server of x's st_http_serve group (just x's server otherwise). */
void st_http_group_stats(const struct st_http_ex *x, struct st_http_stats *out);
/* True when the server of x is draining (readiness should fail). */
bool st_http_draining(const struct st_http_ex *x);

/* ---- a group of workers ---- */

struct st_http_serve_opts {
    const char *listen; /* "HOST:PORT"; port 0 picks a free one */
    int workers;        /* loops/threads; 0: the number of online CPUs */
    int backlog;        /* listen backlog [4096] */
    /* Called once the listeners are bound, before serving (e.g. print the address). */
    void (*on_ready)(int port, void *arg);
    /* Called on SIGHUP on a worker loop (reopen logs). */
    void (*on_reload)(void *arg);
    void *arg;
    /*
     * Per-worker resources that belong to a loop (a database pool): worker_start(loop,
     * index, worker_arg) on each worker's thread before it serves (non-zero fails the
     * start); worker_stop(loop, index, worker_arg) on that thread once its server has
     * drained, while the loop still runs (no exchange is left to use them), or, after a
     * forced stop, before the server is freed. Only where worker_start succeeded. NULL: none.
     */
    int (*worker_start)(struct st_io_loop *loop, int index, void *worker_arg);
    void (*worker_stop)(struct st_io_loop *loop, int index, void *worker_arg);
    void *worker_arg;
};

/*
 * Listen and serve until SIGTERM/SIGINT, then drain and return 0; or a status with err
 * set if the listeners cannot be opened. Blocks the calling thread's signals itself
 * (call it before starting other threads that should not see SIGTERM).
 */
int st_http_serve(const struct st_http_serve_opts *o, const struct st_http_config *cfg, struct st_error *err);

#endif
