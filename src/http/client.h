/*
 * client.h - an HTTP/1.1 client on the event loop (io/io.h), for graders, CLI tools and
 * tests: one client per host:port, keep-alive reuse, bounded everything, clear errors.
 *
 * Model:
 *   - A client talks to one server (host:port, resolved once at creation). It runs one
 *     exchange at a time over one connection; exchanges sent while another is in flight
 *     wait in FIFO order. After a response that allows it (keep-alive, delimited body, no
 *     stray bytes), the connection is kept and the next exchange reuses it; a kept
 *     connection that the server has closed meanwhile is noticed before reuse, and an
 *     exchange on a reused connection that gets no byte back is retried once on a new one.
 *   - An exchange is one request - built from method, target, headers and body, or raw
 *     bytes sent verbatim - and the responses it expects (one, or several for raw bytes
 *     holding pipelined requests). Responses are parsed strictly (http/response.h); bodies
 *     are decoded (Content-Length, chunked, until close) into an st_buf capped at max_body.
 *   - Timeouts: connecting is bounded by connect_timeout_ms, the whole exchange (connect,
 *     send, every response) by timeout_ms.
 *   - Errors are a status (x->rc) plus a sentence (x->err.msg): -ECONNREFUSED, -ETIMEDOUT,
 *     -ECONNRESET (the server closed or reset the connection too early), ST_EPARSE
 *     (protocol error, with the parser's reason), ST_ELIMIT (head or body too large), or
 *     another -errno from the socket calls.
 *
 * Threading: a client belongs to its loop's thread. With loop NULL the client owns a
 * private loop and st_http_client_exec runs it until one exchange is done (blocking).
 *
 * Ownership: the exchange is the caller's, from before st_http_client_send until its done
 * callback has run; the client copies nothing from the inputs after sending, but reads
 * them (target, headers, body, raw) when the exchange starts, which may be after
 * st_http_client_send returns (queued): keep them alive until done. Outputs (responses,
 * sent and received bytes) belong to the exchange: st_http_exchange_release frees them.
 */
#ifndef ST_HTTP_CLIENT_H
#define ST_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/response.h"
#include "io/io.h"

struct st_http_client;

struct st_http_client_opts {
    int connect_timeout_ms; /* 0: 5000 */
    int timeout_ms;         /* per exchange, connect included; 0: 30000 */
    size_t max_body;        /* decoded body bytes per response; 0: 8 MiB; larger: ST_ELIMIT */
    size_t max_head;        /* response head bytes; 0: 64 KiB */
    size_t keep_bytes;      /* how much of the sent and received wire bytes to keep for
                             * diagnostics (x->sent, x->received); 0: 16 KiB */
    bool no_reuse;          /* close the connection after every exchange */
};

/* A request header to send. */
struct st_http_field {
    const char *name;
    const char *value;
};

/* One received response; owns its memory. */
struct st_http_resp {
    int status;
    int minor_version;
    struct st_str reason;           /* points into head */
    struct st_http_header *headers; /* nheaders entries, slices into head */
    size_t nheaders;
    enum st_http_rbody framing;
    bool keep_alive;
    struct st_buf head; /* the raw head bytes as received */
    struct st_buf body; /* the decoded body */
};

/* The value of the first header named name (ASCII case-insensitive), or NULL. */
const struct st_str *st_http_resp_header(const struct st_http_resp *r, const char *name);

#define ST_HTTP_CLIENT_MAX_RESPONSES 16

struct st_http_exchange {
    /* ---- input ---- */
    const char *method;                  /* "GET" when NULL */
    const char *target;                  /* "/" when NULL */
    const struct st_http_field *headers; /* extra headers; a Host or Content-Length here
                                          * replaces the one the client would add */
    size_t nheaders;
    const void *body; /* with body_len; Content-Length is sent when there is a body or the
                       * method is POST, PUT or PATCH */
    size_t body_len;
    const void *raw; /* when set, these bytes are sent verbatim instead of a request built
                      * from the fields above, on a fresh connection that is not reused */
    size_t raw_len;
    size_t expect;     /* raw only: responses to read (pipelining), 1..ST_HTTP_CLIENT_MAX_RESPONSES;
                        * 0 counts as 1 */
    unsigned raw_head; /* raw only: bit i set when response i answers a HEAD (no body) */
    bool drain;        /* raw only: after the expected responses read until the server
                        * closes; x->extra counts what came after them */
    int timeout_ms;    /* 0: the client's timeout_ms */
    bool close;        /* send "Connection: close" and do not reuse the connection */
    void (*done)(struct st_http_exchange *x); /* async: on the loop thread, after the turn;
                                               * may free x, send more, or free the client */
    void *data;                               /* for the caller */

    /* ---- output (valid in done) ---- */
    int rc;              /* 0 or an error status (see the top of this file) */
    struct st_error err; /* the sentence for rc */
    struct st_http_resp resp[ST_HTTP_CLIENT_MAX_RESPONSES];
    size_t nresp;           /* complete responses (some may have arrived before an error) */
    struct st_buf sent;     /* the first keep_bytes bytes written */
    struct st_buf received; /* the first keep_bytes bytes read */
    size_t extra;           /* drain: bytes received after the expected responses */
    bool reused;            /* it went over a kept-alive connection */
    int64_t elapsed_ms;

    /* ---- private ---- */
    struct st_http_exchange *next_;
    struct st_io_defer defer_;
    bool done_;
};

/* Zero x (inputs included). */
void st_http_exchange_init(struct st_http_exchange *x);
/* Free the outputs; inputs are untouched, so the exchange can be sent again. */
void st_http_exchange_release(struct st_http_exchange *x);

/*
 * A client for target: "host:port", "[v6]:port", or "http://host:port" (a path after it
 * is ignored). loop NULL: the client owns a private loop (blocking use). opts NULL: the
 * defaults. 0, or ST_EPARSE / ST_ENOTFOUND / -errno with err set.
 */
int st_http_client_new(struct st_io_loop *loop, const char *target, const struct st_http_client_opts *opts,
                       struct st_http_client **out, struct st_error *err);

/*
 * Free the client: the kept connection is closed; queued and running exchanges complete
 * with -ECANCELED, their done callbacks called before this returns.
 */
void st_http_client_free(struct st_http_client *c);

/* Start (or queue) x; x->done runs later on the loop. Its outputs are reset first. */
void st_http_client_send(struct st_http_client *c, struct st_http_exchange *x);

/*
 * Blocking: send x and run the client's private loop until it is done (x->done is not
 * used). Only for clients created with loop NULL. Returns x->rc.
 */
int st_http_client_exec(struct st_http_client *c, struct st_http_exchange *x);

/* Connections opened so far (keep-alive tests count them). */
uint64_t st_http_client_connections(const struct st_http_client *c);

/* Close the kept connection, if any, so the next exchange opens a new one. */
void st_http_client_close_idle(struct st_http_client *c);

/* The "host:port" the client talks to (what it sends as Host). */
const char *st_http_client_host(const struct st_http_client *c);

/*
 * One exchange with a private client: new, exec, free. Returns x->rc (setup errors too,
 * in x->err). The convenience for graders and CLI tools.
 */
int st_http_fetch(const char *target, struct st_http_exchange *x, const struct st_http_client_opts *opts);

#endif
