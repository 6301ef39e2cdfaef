/*
 * loop.c - the epoll event loop: fd watches, the timer heap, deferred callbacks, callbacks
 * posted from other threads through an eventfd, and the stop request.
 *
 * epoll is level-triggered (docs/adr/0006-event-loop.md): a callback that leaves data
 * unread is simply called again next turn, which keeps per-turn work bounded and fair.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/err.h"
#include "base/time.h"
#include "io/internal.h"

/* Events fetched per epoll_wait at first; doubles while a turn fills the array. */
#define EVENTS_MIN 64
#define EVENTS_MAX 4096

static void evfd_ready(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)revents;
    uint64_t n;
    /* Nonblocking: the counter is reset by one read; EAGAIN means a racing reader got it. */
    if (read(w->fd, &n, sizeof n) < 0) {
        /* nothing to do: the lists are drained below either way */
    }
    loop->woken = true;
}

int st_io_loop_new(struct st_io_loop **out)
{
    struct st_io_loop *loop = st_xcalloc(1, sizeof *loop);
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        int rc = -errno;
        free(loop);
        return rc;
    }
    loop->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (loop->evfd < 0) {
        int rc = -errno;
        close(loop->epfd);
        free(loop);
        return rc;
    }
    pthread_mutex_init(&loop->mu, NULL);
    atomic_init(&loop->stop, false);
    loop->ev_cap = EVENTS_MIN;
    loop->events = st_xcalloc((size_t)loop->ev_cap, sizeof *loop->events);
    loop->now_ns = st_time_mono_ns();
    loop->now = loop->now_ns / 1000000;
    st_io_watch_init(&loop->evw, loop->evfd, evfd_ready, NULL);
    int rc = st_io_watch_set(loop, &loop->evw, ST_IO_READ);
    if (rc) {
        st_io_loop_free(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

/* Take both cross-thread lists under the lock, run them outside it. */
static void run_posted(struct st_io_loop *loop)
{
    pthread_mutex_lock(&loop->mu);
    struct st_io_posted *p = loop->post_head;
    struct st_io_work *wk = loop->done_head;
    loop->post_head = loop->post_tail = NULL;
    loop->done_head = loop->done_tail = NULL;
    pthread_mutex_unlock(&loop->mu);

    while (p) {
        struct st_io_posted *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
    while (wk) {
        struct st_io_work *next = wk->next; /* done may free wk */
        wk->done(wk, wk->status);
        wk = next;
    }
}

void st_io_loop_free(struct st_io_loop *loop)
{
    if (!loop)
        return;
    run_posted(loop);
    if (loop->evw.registered)
        st_io_watch_stop(loop, &loop->evw);
    st__io_ring_free(loop);
    close(loop->evfd);
    close(loop->epfd);
    pthread_mutex_destroy(&loop->mu);
    free(loop->events);
    free(loop->heap);
    free(loop);
}

int64_t st_io_now_ms(const struct st_io_loop *loop)
{
    return loop->now;
}

int64_t st_io_now_ns(const struct st_io_loop *loop)
{
    return loop->now_ns;
}

void st_io_update_time(struct st_io_loop *loop)
{
    loop->now_ns = st_time_mono_ns();
    loop->now = loop->now_ns / 1000000;
}

void st__io_wake(struct st_io_loop *loop)
{
    uint64_t one = 1;
    /* EAGAIN only when the counter is about to overflow, and then the loop is awake anyway. */
    while (write(loop->evfd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

void st_io_loop_stop(struct st_io_loop *loop)
{
    atomic_store(&loop->stop, true);
    st__io_wake(loop);
}

void st_io_post(struct st_io_loop *loop, void (*fn)(void *), void *arg)
{
    struct st_io_posted *p = st_xmalloc(sizeof *p);
    p->fn = fn;
    p->arg = arg;
    p->next = NULL;
    pthread_mutex_lock(&loop->mu);
    if (loop->post_tail)
        loop->post_tail->next = p;
    else
        loop->post_head = p;
    loop->post_tail = p;
    pthread_mutex_unlock(&loop->mu);
    st__io_wake(loop);
}

void st__io_post_done(struct st_io_loop *loop, struct st_io_work *wk)
{
    wk->next = NULL;
    pthread_mutex_lock(&loop->mu);
    if (loop->done_tail)
        loop->done_tail->next = wk;
    else
        loop->done_head = wk;
    loop->done_tail = wk;
    pthread_mutex_unlock(&loop->mu);
    st__io_wake(loop);
}

/* ---- watches ---- */

void st_io_watch_init(struct st_io_watch *w, int fd, void (*cb)(struct st_io_loop *, struct st_io_watch *, unsigned),
                      void *data)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->cb = cb;
    w->data = data;
}

/* Drop events of w collected this turn but not yet dispatched. */
static void invalidate_pending(struct st_io_loop *loop, const struct st_io_watch *w)
{
    for (int i = loop->ev_i + 1; i < loop->ev_n; i++)
        if (loop->events[i].data.ptr == w)
            loop->events[i].data.ptr = NULL;
}

int st_io_watch_set(struct st_io_loop *loop, struct st_io_watch *w, unsigned events)
{
    events &= ST_IO_READ | ST_IO_WRITE;
    if (w->ring_slot && loop->ring)
        return st__io_ring_watch_set(loop, w, events); /* reads by the ring, writes by epoll */
    if (events == 0) {
        /* Deregister rather than keep an empty interest: epoll reports EPOLLHUP even then,
         * and level-triggered that would wake us every turn. */
        st_io_watch_stop(loop, w);
        return 0;
    }
    if (w->registered && events == w->events)
        return 0;
    struct epoll_event ev = { .events = 0, .data.ptr = w };
    if (events & ST_IO_READ)
        ev.events |= EPOLLIN | EPOLLRDHUP;
    if (events & ST_IO_WRITE)
        ev.events |= EPOLLOUT;
    if (epoll_ctl(loop->epfd, w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) < 0)
        return -errno;
    w->registered = true;
    w->events = events;
    return 0;
}

void st_io_watch_stop(struct st_io_loop *loop, struct st_io_watch *w)
{
    if (w->ring_slot && loop->ring)
        st__io_ring_watch_stop(loop, w);
    if (w->registered) {
        /* Fails only if the fd was closed already, which also removed it from the set. */
        (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
        w->registered = false;
    }
    w->events = 0;
    invalidate_pending(loop, w);
}

/* ---- timers: binary min-heap on (due, seq) ---- */

static bool timer_before(const struct st_io_timer *a, const struct st_io_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_place(struct st_io_loop *loop, size_t i, struct st_io_timer *t)
{
    loop->heap[i] = t;
    t->heap_i = i;
}

static void sift_up(struct st_io_loop *loop, size_t i)
{
    struct st_io_timer *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void sift_down(struct st_io_loop *loop, size_t i)
{
    struct st_io_timer *t = loop->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= loop->heap_len)
            break;
        if (c + 1 < loop->heap_len && timer_before(loop->heap[c + 1], loop->heap[c]))
            c++;
        if (!timer_before(loop->heap[c], t))
            break;
        heap_place(loop, i, loop->heap[c]);
        i = c;
    }
    heap_place(loop, i, t);
}

void st_io_timer_init(struct st_io_timer *t, void (*cb)(struct st_io_loop *, struct st_io_timer *), void *data)
{
    memset(t, 0, sizeof *t);
    t->cb = cb;
    t->data = data;
    t->heap_i = SIZE_MAX;
}

void st_io_timer_stop(struct st_io_loop *loop, struct st_io_timer *t)
{
    size_t i = t->heap_i;
    if (i == SIZE_MAX)
        return;
    assert(i < loop->heap_len && loop->heap[i] == t);
    t->heap_i = SIZE_MAX;
    struct st_io_timer *last = loop->heap[--loop->heap_len];
    if (last == t)
        return;
    heap_place(loop, i, last);
    /* The moved element may belong above or below its new slot. */
    if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
        sift_up(loop, i);
    else
        sift_down(loop, i);
}

void st_io_timer_start(struct st_io_loop *loop, struct st_io_timer *t, int64_t timeout_ms)
{
    st_io_timer_stop(loop, t);
    if (timeout_ms < 0)
        timeout_ms = 0;
    t->due = loop->now + timeout_ms;
    t->seq = loop->timer_seq++;
    if (loop->heap_len == loop->heap_cap) {
        loop->heap_cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        loop->heap =
            st_xrealloc(loop->heap, loop->heap_cap *
                                        sizeof *loop->heap); // NOLINT(bugprone-sizeof-expression): an array of pointers
    }
    loop->heap[loop->heap_len] = t;
    t->heap_i = loop->heap_len++;
    sift_up(loop, t->heap_i);
}

/*
 * Fire every timer due by now that was started before this pass began. The seq limit is
 * what keeps a callback that restarts its timer with 0 ms from looping here forever: any
 * timer started during the pass is due no earlier than the older ones still due, so once
 * the top is new, everything due is new and waits for the next turn.
 */
static void run_timers(struct st_io_loop *loop)
{
    uint64_t limit = loop->timer_seq;
    while (loop->heap_len > 0) {
        struct st_io_timer *t = loop->heap[0];
        if (t->due > loop->now || t->seq >= limit)
            break;
        st_io_timer_stop(loop, t);
        t->cb(loop, t);
    }
}

/* ---- deferred ---- */

void st_io_defer(struct st_io_loop *loop, struct st_io_defer *d, void (*fn)(void *), void *arg)
{
    d->fn = fn;
    d->arg = arg;
    d->next = NULL;
    if (loop->defer_tail)
        loop->defer_tail->next = d;
    else
        loop->defer_head = d;
    loop->defer_tail = d;
}

/* Run the callbacks queued so far; ones queued meanwhile wait for the next turn. */
static void run_deferred(struct st_io_loop *loop)
{
    struct st_io_defer *d = loop->defer_head;
    loop->defer_head = loop->defer_tail = NULL;
    while (d) {
        struct st_io_defer *next = d->next; /* fn may free d */
        d->fn(d->arg);
        d = next;
    }
}

/* ---- running ---- */

/* How long epoll_wait may sleep: not at all with deferred work, else until the next timer. */
static int wait_timeout(struct st_io_loop *loop, int timeout_ms)
{
    if (loop->defer_head || atomic_load(&loop->stop) || st__io_ring_pending(loop) || loop->epoll_again)
        return 0;
    if (loop->heap_len == 0)
        return timeout_ms;
    int64_t left = loop->heap[0]->due - st_time_mono_ms();
    if (left < 0)
        left = 0;
    if (left > INT32_MAX)
        left = INT32_MAX;
    if (timeout_ms >= 0 && timeout_ms < left)
        return timeout_ms;
    return (int)left;
}

static void dispatch(struct st_io_loop *loop, int n)
{
    loop->ev_n = n;
    for (loop->ev_i = 0; loop->ev_i < n; loop->ev_i++) {
        const struct epoll_event *ev = &loop->events[loop->ev_i];
        struct st_io_watch *w = ev->data.ptr;
        if (!w)
            continue; /* stopped earlier in this turn */
        unsigned rev = 0;
        if (ev->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
            rev |= ST_IO_READ;
        if (ev->events & EPOLLOUT)
            rev |= ST_IO_WRITE;
        if (ev->events & (EPOLLERR | EPOLLHUP))
            rev |= ST_IO_ERROR;
        /* Interest may have shrunk earlier this turn; errors are always worth reporting. */
        rev &= w->events | ST_IO_ERROR;
        if (rev)
            w->cb(loop, w, rev);
    }
    loop->ev_n = 0;
    loop->ev_i = 0;
}

/* Wait for events: epoll alone, or (ring mode) the ring, which also polls the epoll fd. */
static int wait_events(struct st_io_loop *loop, int timeout_ms)
{
    bool ring = st__io_ring_mode(loop);
    if (ring) {
        bool epoll_ready = false;
        int rc = st__io_ring_wait(loop, wait_timeout(loop, timeout_ms), &epoll_ready);
        if (rc || (!epoll_ready && !loop->epoll_again))
            return rc;
        /* Collect epoll's events without sleeping. The ring's poll fires when epoll is
         * woken, but a level-triggered fd left ready (a listener with more connections
         * than one accept batch) wakes nobody again: after a turn with events, ask epoll
         * once more on the next turn, until it has nothing. */
        timeout_ms = 0;
    } else {
        timeout_ms = wait_timeout(loop, timeout_ms);
    }
    int n = epoll_wait(loop->epfd, loop->events, loop->ev_cap, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    if (ring)
        loop->epoll_again = n > 0;
    st_io_update_time(loop);
    return n;
}

int st_io_loop_run_once(struct st_io_loop *loop, int timeout_ms)
{
    int n = wait_events(loop, timeout_ms);
    if (n < 0)
        return n;
    if (n > 0)
        dispatch(loop, n);
    run_timers(loop);
    if (loop->woken) {
        loop->woken = false;
        run_posted(loop);
    }
    run_deferred(loop);
    if (n == loop->ev_cap && loop->ev_cap < EVENTS_MAX) {
        loop->ev_cap *= 2;
        loop->events = st_xrealloc(loop->events, (size_t)loop->ev_cap * sizeof *loop->events);
    }
    return 0;
}

int st_io_loop_run(struct st_io_loop *loop)
{
    int rc = 0;
    while (!atomic_load(&loop->stop)) {
        rc = st_io_loop_run_once(loop, -1);
        if (rc)
            break;
    }
    atomic_store(&loop->stop, false);
    return rc;
}
