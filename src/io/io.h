/*
 * io.h - the event layer: one epoll loop per thread, timers, deferred and cross-thread
 * callbacks, signals, listening sockets, nonblocking writes and a pool for blocking work.
 *
 * Module invariants (design: docs/adr/0006-event-loop.md):
 *  - A loop belongs to the thread that runs it. Every function here must be called on that
 *    thread, except the ones marked "any thread": st_io_post, st_io_loop_stop and the pool.
 *  - epoll is level-triggered: a callback may read or accept only part of what is ready
 *    and will be called again on the next turn.
 *  - Watches, timers and deferred nodes are embedded in the caller's structs (no malloc
 *    per connection or per timeout); the loop only links them. A watch or timer must be
 *    stopped before its memory is freed; free from inside a callback with st_io_defer.
 *  - Time is cached once per loop turn (st_io_now_ms), like nginx's ngx_current_msec:
 *    one clock read per turn, not one per timeout computation.
 *  - Status values follow base/err.h: 0, -errno, ST_E*.
 *
 * One loop turn: wait for fds (no longer than the nearest timer; not at all when deferred
 * callbacks are pending) -> update the cached time -> fd callbacks -> expired timers ->
 * posted callbacks from other threads and pool completions -> deferred callbacks.
 */
#ifndef ST_IO_IO_H
#define ST_IO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/buf.h"
#include "base/err.h"

struct st_io_loop;

/* ---- loop ---------------------------------------------------------------------------- */

/* Create a loop (epoll fd + eventfd) owned by the calling thread. 0 or -errno. */
int st_io_loop_new(struct st_io_loop **out);

/*
 * Free the loop. Watches and timers must have been stopped by their owners (the loop does
 * not own them). Posted callbacks and pool completions still queued are run first, on the
 * calling thread, so the memory they carry is released; they must not start new work.
 */
void st_io_loop_free(struct st_io_loop *loop);

/* Run turns until st_io_loop_stop. Returns 0, or -errno if epoll_wait fails. */
int st_io_loop_run(struct st_io_loop *loop);

/* Run one turn, waiting at most timeout_ms for events (-1: until something happens). */
int st_io_loop_run_once(struct st_io_loop *loop, int timeout_ms);

/* Ask the loop to return from st_io_loop_run after the current turn. Any thread. */
void st_io_loop_stop(struct st_io_loop *loop);

/* Monotonic milliseconds, read once at the start of the current turn. */
int64_t st_io_now_ms(const struct st_io_loop *loop);

/* The same instant in nanoseconds (request start times, latency histograms). */
int64_t st_io_now_ns(const struct st_io_loop *loop);

/* Re-read the clock (after a long computation inside a callback). */
void st_io_update_time(struct st_io_loop *loop);

/* ---- fd watches ---------------------------------------------------------------------- */

enum {
    ST_IO_READ = 1u,
    ST_IO_WRITE = 2u,
    ST_IO_ERROR = 4u, /* revents only: EPOLLERR/HUP */
    ST_IO_RDATA = 8u, /* revents only, ring reads: the read already happened, see rres */
    ST_IO_SENT = 16u, /* revents only, ring sends: st_io_send finished, see sres */
};

struct st_io_watch {
    int fd;          /* not owned: closing it is the caller's job (after stop) */
    unsigned events; /* current interest, ST_IO_READ | ST_IO_WRITE */
    bool registered; /* in the epoll set */
    /* Called on the loop thread when fd is ready; revents is a mask of ST_IO_READ/WRITE/ERROR. */
    void (*cb)(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents);
    void *data; /* for the caller */
    /* Completion-based I/O (st_io_watch_ring_read / st_io_send); zero when unused. */
    struct st_buf *rbuf; /* ring reads append here */
    long rres;           /* with ST_IO_RDATA: bytes appended (> 0), 0 end of stream, -errno, ST_ELIMIT */
    long sres;           /* with ST_IO_SENT: bytes sent (the rest is back at the front of the buffer), or -errno */
    uint32_t ring_slot;  /* loop-internal: the slot of in-flight ring operations, 0 none */
};

/* Prepare w for fd; registers nothing. */
void st_io_watch_init(struct st_io_watch *w, int fd, void (*cb)(struct st_io_loop *, struct st_io_watch *, unsigned),
                      void *data);

/* Set the interest to events (0 keeps the fd registered but silent). 0 or -errno. */
int st_io_watch_set(struct st_io_loop *loop, struct st_io_watch *w, unsigned events);

/*
 * Remove w from the loop. Events already collected for it in this turn are dropped, so
 * the caller may close the fd and free w right after this returns, even from a callback
 * of another watch in the same turn.
 */
void st_io_watch_stop(struct st_io_loop *loop, struct st_io_watch *w);

/* ---- completion-based socket I/O (io_uring) ----------------------------------------- */

/*
 * Each kernel crossing costs about 1-2 us on this project's machines (page-table isolation
 * in a VM), more than the work of a small request, so a server that makes three crossings
 * per request (epoll_wait, read, send) is bound by them (docs/adr/0012-io-uring.md). When
 * the loop has an io_uring (Linux >= 6.1; STRATA_IO_URING=0 turns it off), a socket can
 * instead be read with a multishot receive into kernel-selected buffers, and its output
 * sent by the same io_uring_enter that waits for the next events: one crossing per loop
 * turn for every connection together. Everything else (listeners, timers, eventfd,
 * signals, write readiness) stays on epoll, whose fd the ring polls.
 */

/* true when the loop does ring I/O (else the functions below report false / do nothing). */
bool st_io_ring_enabled(const struct st_io_loop *loop);

/*
 * Ring reads for w (call before the first st_io_watch_set; false without a ring, and
 * then the caller reads on ST_IO_READ as usual). While w's interest includes ST_IO_READ,
 * received bytes are appended to buf and w->cb gets ST_IO_READ | ST_IO_RDATA with
 * w->rres set. While it does not, bytes that were already in flight are held by the loop
 * (buf is not touched, so slices into it stay valid) and delivered once ST_IO_READ is
 * wanted again, as is end of stream. ST_ELIMIT in rres: buf reached its max (the bytes
 * are dropped; treat as a request too large).
 */
bool st_io_watch_ring_read(struct st_io_loop *loop, struct st_io_watch *w, struct st_buf *buf);

/*
 * Send out's bytes through the ring, together with every other send of this turn, at
 * the end of the turn. The bytes are copied out of out (which is cleared: keep appending
 * to it freely), so this suits responses up to a few tens of KiB; false (nothing done)
 * without a ring, when out is larger than ST_IO_SEND_MAX while nothing is queued for w,
 * or while an earlier send of w is in flight: then write synchronously (st_io_flush).
 * Later, w->cb gets ST_IO_SENT with w->sres: bytes sent; whatever could not be sent (the
 * socket buffer was full) is back at the front of out, so flush it with st_io_flush.
 * Calling it again before the end of the turn appends to the same send.
 */
#define ST_IO_SEND_MAX 65536
bool st_io_send(struct st_io_loop *loop, struct st_io_watch *w, struct st_buf *out);

/* ---- timers (binary min-heap: start/stop/restart O(log n)) --------------------------- */

struct st_io_timer {
    void (*cb)(struct st_io_loop *loop, struct st_io_timer *t);
    void *data;    /* for the caller */
    int64_t due;   /* loop time (ms) when it fires */
    uint64_t seq;  /* start order: equal deadlines fire first-started first */
    size_t heap_i; /* index in the loop's heap; SIZE_MAX when not active */
};

void st_io_timer_init(struct st_io_timer *t, void (*cb)(struct st_io_loop *, struct st_io_timer *), void *data);

/*
 * Fire once, timeout_ms after the cached time (negative counts as 0). Starting an active
 * timer moves it (the idle-timeout "reset"). A timer started from a timer callback with
 * timeout 0 fires on the next turn, never in the same one, so it cannot starve I/O.
 */
void st_io_timer_start(struct st_io_loop *loop, struct st_io_timer *t, int64_t timeout_ms);

/* Cancel; harmless if not active. */
void st_io_timer_stop(struct st_io_loop *loop, struct st_io_timer *t);

static inline bool st_io_timer_active(const struct st_io_timer *t)
{
    return t->heap_i != (size_t)-1;
}

/* ---- deferred callbacks (after the current turn) ------------------------------------- */

/*
 * A node embedded in the caller's struct. The callback may free the struct holding the
 * node: the loop does not touch a node after calling it (freeClientAsync in Redis).
 */
struct st_io_defer {
    void (*fn)(void *arg);
    void *arg;
    struct st_io_defer *next;
};

/*
 * Run fn(arg) at the end of this turn, after every fd and timer callback; deferrals made
 * while deferred callbacks run go to the next turn. d must not already be queued.
 */
void st_io_defer(struct st_io_loop *loop, struct st_io_defer *d, void (*fn)(void *), void *arg);

/*
 * Any thread: run fn(arg) on the loop's thread soon (wakes the loop through its eventfd).
 * Allocates one node (aborts on OOM). Callbacks posted by one thread run in post order.
 */
void st_io_post(struct st_io_loop *loop, void (*fn)(void *), void *arg);

/* ---- signals ------------------------------------------------------------------------- */

/*
 * Block SIGTERM, SIGINT and SIGHUP in the calling thread, and ignore SIGPIPE (writes use
 * MSG_NOSIGNAL anyway). Call in main() before any thread starts: threads inherit the mask,
 * so only the signalfd ever sees these signals. 0 or -errno.
 */
int st_io_signals_block(void);

struct st_io_signals {
    struct st_io_watch w;
    void (*on_stop)(struct st_io_signals *s, int signo); /* SIGTERM, SIGINT */
    void (*on_reload)(struct st_io_signals *s);          /* SIGHUP: reopen logs */
    void *data;                                          /* for the caller */
};

/* Open a signalfd for the three signals on loop (they must be blocked already). 0 or -errno. */
int st_io_signals_open(struct st_io_loop *loop, struct st_io_signals *s, void (*on_stop)(struct st_io_signals *, int),
                       void (*on_reload)(struct st_io_signals *), void *data);
void st_io_signals_close(struct st_io_loop *loop, struct st_io_signals *s);

/* ---- addresses and listening sockets ------------------------------------------------- */

/*
 * Parse "127.0.0.1:8080", "[::1]:8080", ":8080" (every IPv4 interface) or
 * "localhost:8080" (resolved with getaddrinfo, numeric port; the first IPv4/IPv6 answer).
 * Port 0 asks the kernel for a free port. 0, ST_EPARSE (malformed; err says why) or
 * ST_ENOTFOUND (the name does not resolve).
 */
int st_io_parse_addr(const char *hostport, struct sockaddr_storage *ss, socklen_t *len, struct st_error *err);

enum { ST_IO_REUSEPORT = 1u };

/*
 * Bind and listen on hostport: nonblocking, close-on-exec, SO_REUSEADDR, and SO_REUSEPORT
 * with ST_IO_REUSEPORT (one listener per loop, the kernel spreads connections).
 * *fd is the caller's to close. 0, a parse status, or -errno.
 */
int st_io_listen(const char *hostport, int backlog, unsigned flags, int *fd, struct st_error *err);

/* The local port of a bound socket (for port 0). 0 or -errno. */
int st_io_local_port(int fd, int *port);

/*
 * Accepts connections on a listening socket. It keeps one spare fd (on /dev/null): when
 * accept fails with EMFILE/ENFILE it closes the spare, accepts and closes the pending
 * connections, and reopens the spare (libuv's uv__emfile_trick), so the listener does not
 * stay readable and the loop does not spin. If even that cannot drain the queue, or accept
 * fails in another resource way, it stops watching for ST_IO_ACCEPT_PAUSE_MS.
 */
struct st_io_acceptor {
    struct st_io_watch w;
    struct st_io_timer pause;
    int spare_fd;
    /* conn_fd is nonblocking, close-on-exec and now owned by cb. cb may stop the acceptor;
     * free it only through st_io_defer. */
    void (*cb)(struct st_io_acceptor *a, int conn_fd);
    void *data;        /* for the caller */
    uint64_t accepted; /* connections handed to cb */
    uint64_t shed;     /* connections accepted and closed for lack of fds */
    bool paused;       /* st_io_acceptor_pause: the owner is at its connection limit */
};

#define ST_IO_ACCEPT_PAUSE_MS 100

/* Start accepting on listen_fd (not owned). 0 or -errno. */
int st_io_acceptor_start(struct st_io_loop *loop, struct st_io_acceptor *a, int listen_fd,
                         void (*cb)(struct st_io_acceptor *, int), void *data);
/*
 * Backpressure: stop taking connections (they wait in the kernel's backlog) until
 * resume. Takes effect at once, also inside a batch of accepts (from cb).
 */
void st_io_acceptor_pause(struct st_io_loop *loop, struct st_io_acceptor *a);
void st_io_acceptor_resume(struct st_io_loop *loop, struct st_io_acceptor *a);
/* Stop accepting ("stop accepting, drain") and close the spare fd. */
void st_io_acceptor_stop(struct st_io_loop *loop, struct st_io_acceptor *a);

/* ---- nonblocking writes -------------------------------------------------------------- */

/*
 * One sendmsg(MSG_NOSIGNAL) of iov on a socket, retried on EINTR. *written gets the bytes
 * taken (maybe fewer than offered). 0, ST_EAGAIN (nothing could be written), or -errno.
 */
int st_io_try_writev(int fd, const struct iovec *iov, int iovcnt, size_t *written);

/*
 * Flush out through w's socket the cheap way: write first, and arm ST_IO_WRITE only if the
 * socket would block; disarm it once out is empty. Call it after appending to out and again
 * from w's callback on ST_IO_WRITE. Sent bytes are consumed from out.
 * Returns 0 (all written), ST_EAGAIN (bytes remain, write interest armed) or -errno.
 */
int st_io_flush(struct st_io_loop *loop, struct st_io_watch *w, struct st_buf *out);

/* ---- worker pool for blocking work --------------------------------------------------- */

struct st_io_pool;
/* Embedded in the caller's job struct; owned by the pool from submit until done runs. */
struct st_io_work {
    void (*work)(struct st_io_work *wk); /* runs on a pool thread: must not touch the loop */
    /* Runs on the submitting loop's thread; status is 0 when work ran, -ECANCELED when the
     * pool shut down before it started. */
    void (*done)(struct st_io_work *wk, int status);
    void *data; /* for the caller */
    struct st_io_loop *loop;
    int status;
    struct st_io_work *next;
};

/* Start nthreads threads with room for queue_max waiting jobs. 0 or -errno. */
int st_io_pool_new(int nthreads, size_t queue_max, struct st_io_pool **out);

/*
 * Queue work (any thread that runs a loop). done(wk, status) later runs on loop's thread.
 * 0, ST_ELIMIT (queue full: shed load) or -ESHUTDOWN (pool is shutting down).
 */
int st_io_pool_submit(struct st_io_pool *pool, struct st_io_loop *loop, struct st_io_work *wk,
                      void (*work)(struct st_io_work *), void (*done)(struct st_io_work *, int), void *data);

/*
 * Shut down and free: with drain, queued jobs still run; without, they complete with
 * -ECANCELED. Running jobs always finish. Every done callback is posted to its loop,
 * which must still exist (run it, or free it, which runs what is queued).
 */
void st_io_pool_free(struct st_io_pool *pool, bool drain);

/* ---- one loop per thread ------------------------------------------------------------- */

/*
 * Start n threads (signals blocked), each with its own loop; in each, call
 * setup(loop, index, arg) on that thread (open an ST_IO_REUSEPORT listener, acceptors,
 * timers), run the loop, then call teardown(loop, index, arg) (may be NULL) to stop and
 * free what setup made, and free the loop. Returns once every thread has been joined:
 * 0, or the first nonzero setup status or -errno from thread creation (all loops are
 * stopped then; teardown runs only where setup succeeded). Any thread stops all the loops
 * with st_io_workers_stop(one of the loops), e.g. from a signal callback.
 */
int st_io_run_workers(int n, int (*setup)(struct st_io_loop *, int, void *),
                      void (*teardown)(struct st_io_loop *, int, void *), void *arg);

/* Stop every loop of loop's st_io_run_workers group (just loop if it has none). Any thread. */
void st_io_workers_stop(struct st_io_loop *loop);

#endif
