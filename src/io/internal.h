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
};

/* Wake the loop from any thread (one eventfd write). */
void st__io_wake(struct st_io_loop *loop);

/* Queue a finished pool job for its loop (pool threads). */
void st__io_post_done(struct st_io_loop *loop, struct st_io_work *wk);

#endif
