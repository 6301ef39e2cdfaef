/*
 * internal.h - internal header of src/io: the loop's private state, shared by loop.c,
 * net.c, signal.c, pool.c and workers.c. Not part of the public API (that is io.h).
 */
#ifndef ST_IO_INTERNAL_H
#define ST_IO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>

#include "io/io.h"

struct st_io_group;

/* A callback posted from another thread (st_io_post). */
struct st_io_posted {
    void (*fn)(void *arg);
    void *arg;
    struct st_io_posted *next;
};

struct st_io_loop {
    int epfd;
    int evfd;               /* eventfd: other threads write to wake us */
    struct st_io_watch evw; /* watch on evfd */
    int64_t now;            /* cached monotonic ms for this turn */
    int64_t now_ns;         /* the same instant in ns */
    atomic_bool stop;       /* set by st_io_loop_stop (any thread) */
    bool woken;             /* evfd fired this turn: drain the posted lists */

    /* events of the current turn; st_io_watch_stop clears entries after ev_i */
    struct epoll_event *events;
    int ev_cap, ev_n, ev_i;

    /* timers: binary min-heap ordered by (due, seq) */
    struct st_io_timer **heap;
    size_t heap_len, heap_cap;
    uint64_t timer_seq;

    /* deferred callbacks, FIFO */
    struct st_io_defer *defer_head, *defer_tail;

    /* cross-thread queues, guarded by mu */
    pthread_mutex_t mu;
    struct st_io_posted *post_head, *post_tail;
    struct st_io_work *done_head, *done_tail; /* pool completions */

    struct st_io_group *group; /* set by st_io_run_workers */

    struct st_io_ring *ring; /* ring.c: io_uring state, NULL when the loop has none */
    bool ring_failed;        /* io_uring could not be set up: stay on epoll */
    bool epoll_again;        /* ring mode: epoll reported events last turn; ask it again */
};

/* ring.c: the loop's io_uring (completion-based socket I/O, io.h). */
void st__io_ring_new(struct st_io_loop *loop);
void st__io_ring_free(struct st_io_loop *loop);
/* The loop is in ring mode (a ring watch exists): wait with st__io_ring_wait, not epoll_wait. */
bool st__io_ring_mode(const struct st_io_loop *loop);
/* Submit this turn's sends and ring requests, wait up to timeout_ms (-1: forever) for
 * completions, process them; *epoll_ready tells whether the epoll fd has events.
 * 0 or -errno. */
int st__io_ring_wait(struct st_io_loop *loop, int timeout_ms, bool *epoll_ready);
/* Work is pending for the next turn (held deliveries): the loop must not sleep. */
bool st__io_ring_pending(const struct st_io_loop *loop);
/* st_io_watch_set / st_io_watch_stop on a ring watch. */
int st__io_ring_watch_set(struct st_io_loop *loop, struct st_io_watch *w, unsigned events);
void st__io_ring_watch_stop(struct st_io_loop *loop, struct st_io_watch *w);

/* Wake the loop from any thread (one eventfd write). */
void st__io_wake(struct st_io_loop *loop);

/* Queue a finished pool job for its loop (pool threads). */
void st__io_post_done(struct st_io_loop *loop, struct st_io_work *wk);

#endif
