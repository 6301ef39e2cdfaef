/*
 * ring.c - completion-based socket I/O for the loop through io_uring (io.h, ADR 0012).
 *
 * The ring is created on first use, on the loop's thread (so IORING_SETUP_SINGLE_ISSUER
 * and DEFER_TASKRUN hold: completions are only posted while this thread waits). Reads
 * are multishot receives into a ring of provided buffers; sends are queued during the
 * turn and submitted by the io_uring_enter that waits for the next events. The epoll fd
 * is polled by the ring, so one wait covers both.
 *
 * Operations in flight outlive the watches that started them (a connection may be closed
 * and freed while its receive is still armed), so they point at a slot, not at the
 * watch. A slot lives until its last operation completed; user_data carries the slot's
 * index and generation, and a completion for a slot whose watch is gone is dropped.
 * Slot pointers are never held across a callback: callbacks may grow the slot array.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#include "base/err.h"
#include "io/internal.h"

#define RING_ENTRIES 1024u
#define BUF_COUNT 512u /* provided receive buffers (a power of two) */
#define BUF_SIZE 4096u
#define BUF_GROUP 1
#define STAGE_KEEP 65536u /* staging capacity a slot keeps between sends */

enum kind { K_RECV = 1, K_SEND, K_CANCEL, K_POLL };

struct slot {
    struct st_io_watch *w; /* NULL once the watch stopped */
    struct st_buf *sbuf;   /* the caller's output buffer of the queued send */
    struct st_buf stage;   /* bytes of the queued or submitted send */
    struct st_buf held;    /* bytes received while the watch did not want to read */
    long term;             /* end of stream (0) or -errno held for later delivery */
    uint32_t gen;
    uint32_t next_free;
    bool used;
    bool recv;       /* a multishot receive is armed */
    bool cancelling; /* and a cancel for it was queued */
    bool term_held;
    bool pending; /* on the delivery list */
    bool listed;  /* on the send list */
    uint8_t send; /* 0 none, 1 staged, 2 submitted */
};

struct st_io_ring {
    struct io_uring ring;
    struct io_uring_buf_ring *br;
    char *bufs;
    struct slot *slots; /* slots[0] is unused: ring_slot 0 means none */
    uint32_t nslots, free_head;
    uint32_t *sends, nsends, sends_cap; /* staged sends, by slot index */
    uint32_t *pend, npend, pend_cap;    /* slots with held deliveries */
    unsigned min_wait_us;               /* batch wakeups (IORING_FEAT_MIN_TIMEOUT), 0 = off */
    bool mode;                          /* a ring watch exists: wait in the ring */
    bool poll_armed;                    /* the multishot poll on the epoll fd */
};

/* ---- creation ---- */

static bool ring_allowed(void)
{
    static int allowed = -1;
    if (allowed < 0) {
        const char *v = getenv("STRATA_IO_URING");
        allowed = !(v && (!strcmp(v, "0") || !strcmp(v, "off") || !strcmp(v, "no")));
    }
    return allowed;
}

static int setup_buffers(struct st_io_ring *r)
{
    size_t size = BUF_COUNT * sizeof(struct io_uring_buf);
    void *mem = NULL;
    if (posix_memalign(&mem, 4096, size))
        return -ENOMEM;
    memset(mem, 0, size);
    r->br = mem;
    struct io_uring_buf_reg reg = { .ring_addr = (unsigned long)mem, .ring_entries = BUF_COUNT, .bgid = BUF_GROUP };
    int rc = io_uring_register_buf_ring(&r->ring, &reg, 0);
    if (rc)
        return rc;
    r->bufs = st_xmalloc((size_t)BUF_COUNT * BUF_SIZE);
    io_uring_buf_ring_init(r->br);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        io_uring_buf_ring_add(r->br, r->bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(BUF_COUNT), (int)i);
    io_uring_buf_ring_advance(r->br, BUF_COUNT);
    return 0;
}

#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)
#endif

/*
 * STRATA_IO_BATCH_US (default DEFAULT_BATCH_US, 0 = off): when completions arrive soon
 * after a wait began (the server is busy), let the kernel gather more for up to this long
 * before waking us: fewer wakeups, each handling more connections (Linux 6.12 min-wait;
 * interrupt coalescing for the event loop). A completion after a longer quiet spell
 * wakes us at once, so an idle or lightly loaded server adds no latency. The raw
 * io_uring_enter this needs relies on liburing mapping SQ slots 1:1 to SQEs (checked).
 */
#define DEFAULT_BATCH_US 20
static unsigned min_wait_setting(struct io_uring *ring, unsigned features)
{
    const char *v = getenv("STRATA_IO_BATCH_US");
    unsigned us = v && *v ? (unsigned)strtoul(v, NULL, 10) : DEFAULT_BATCH_US;
    if (!us || !(features & IORING_FEAT_MIN_TIMEOUT))
        return 0;
    for (unsigned i = 0; i < ring->sq.ring_entries; i++)
        if (ring->sq.array[i] != i)
            return 0;
    return us > 10000 ? 10000 : us;
}

/* Create the ring now (loop thread); false when io_uring is off or unavailable. */
static bool ring_get(struct st_io_loop *loop)
{
    if (loop->ring)
        return true;
    if (loop->ring_failed || !ring_allowed())
        return false;
    struct st_io_ring *r = st_xcalloc(1, sizeof *r);
    struct io_uring_params p = { .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                          IORING_SETUP_SUBMIT_ALL };
    if (io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p) < 0) {
        free(r);
        loop->ring_failed = true; /* seccomp, old kernel, io_uring_disabled: stay on epoll */
        return false;
    }
    if (!(p.features & IORING_FEAT_EXT_ARG) || setup_buffers(r)) {
        io_uring_queue_exit(&r->ring);
        free(r->br);
        free(r->bufs);
        free(r);
        loop->ring_failed = true;
        return false;
    }
    r->nslots = 1;
    r->slots = st_xcalloc(1, sizeof *r->slots);
    r->min_wait_us = min_wait_setting(&r->ring, p.features);
    loop->ring = r;
    return true;
}

void st__io_ring_free(struct st_io_loop *loop)
{
    struct st_io_ring *r = loop->ring;
    if (!r)
        return;
    io_uring_queue_exit(&r->ring); /* cancels what is still in flight */
    for (uint32_t i = 1; i < r->nslots; i++) {
        st_buf_release(&r->slots[i].stage);
        st_buf_release(&r->slots[i].held);
    }
    free(r->slots);
    free(r->sends);
    free(r->pend);
    free(r->bufs);
    free(r->br);
    free(r);
    loop->ring = NULL;
}

bool st_io_ring_enabled(const struct st_io_loop *loop)
{
    return ring_get((struct st_io_loop *)loop);
}

bool st__io_ring_mode(const struct st_io_loop *loop)
{
    return loop->ring && loop->ring->mode;
}

bool st__io_ring_pending(const struct st_io_loop *loop)
{
    return loop->ring && loop->ring->npend > 0;
}

/* ---- slots ---- */

static uint64_t udata(enum kind k, uint32_t idx, uint32_t gen)
{
    return (uint64_t)k << 56 | (uint64_t)(gen & 0xffffffu) << 32 | idx;
}

static uint32_t slot_new(struct st_io_ring *r, struct st_io_watch *w)
{
    uint32_t idx = r->free_head;
    if (idx) {
        r->free_head = r->slots[idx].next_free;
    } else {
        idx = r->nslots++;
        r->slots = st_xrealloc(r->slots, (size_t)r->nslots * sizeof *r->slots);
        memset(&r->slots[idx], 0, sizeof r->slots[idx]);
        st_buf_init(&r->slots[idx].stage, ST_BUF_UNLIMITED);
        st_buf_init(&r->slots[idx].held, ST_BUF_UNLIMITED);
    }
    struct slot *s = &r->slots[idx];
    s->w = w;
    s->gen++;
    s->used = true;
    s->recv = s->cancelling = s->term_held = false;
    s->send = 0;
    s->sbuf = NULL;
    return idx;
}

/* Free the slot once nothing refers to it any more. */
static void slot_maybe_free(struct st_io_ring *r, uint32_t idx)
{
    struct slot *s = &r->slots[idx];
    if (!s->used || s->w || s->recv || s->send == 2 || s->pending || s->listed)
        return;
    s->used = false;
    s->send = 0;
    st_buf_clear(&s->held);
    if (s->stage.cap > STAGE_KEEP)
        st_buf_release(&s->stage);
    st_buf_clear(&s->stage);
    if (s->held.cap > STAGE_KEEP)
        st_buf_release(&s->held);
    s->next_free = r->free_head;
    r->free_head = idx;
}

static struct io_uring_sqe *sqe_get(struct st_io_ring *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) { /* the queue is full: hand it to the kernel and take a fresh entry */
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
        if (!sqe)
            st_panic("io_uring: no submission entry after submitting");
    }
    return sqe;
}

static void arm_recv(struct st_io_ring *r, uint32_t idx)
{
    struct slot *s = &r->slots[idx];
    struct io_uring_sqe *sqe = sqe_get(r);
    io_uring_prep_recv_multishot(sqe, s->w->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, udata(K_RECV, idx, s->gen));
    s->recv = true;
    s->cancelling = false;
}

static void cancel_recv(struct st_io_ring *r, uint32_t idx)
{
    struct slot *s = &r->slots[idx];
    struct io_uring_sqe *sqe = sqe_get(r);
    io_uring_prep_cancel64(sqe, udata(K_RECV, idx, s->gen), 0);
    io_uring_sqe_set_data64(sqe, udata(K_CANCEL, idx, s->gen));
    s->cancelling = true;
}

static void push_idx(uint32_t **arr, uint32_t *n, uint32_t *cap, uint32_t idx)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = st_xrealloc(*arr, (size_t)*cap * sizeof **arr);
    }
    (*arr)[(*n)++] = idx;
}

static void mark_pending(struct st_io_ring *r, uint32_t idx)
{
    struct slot *s = &r->slots[idx];
    if (s->pending || !(s->held.len || s->term_held))
        return;
    s->pending = true;
    push_idx(&r->pend, &r->npend, &r->pend_cap, idx);
}

static uint32_t slot_of(struct st_io_loop *loop, struct st_io_watch *w)
{
    if (!w->ring_slot)
        w->ring_slot = slot_new(loop->ring, w);
    loop->ring->mode = true;
    return w->ring_slot;
}

/* ---- watches ---- */

bool st_io_watch_ring_read(struct st_io_loop *loop, struct st_io_watch *w, struct st_buf *buf)
{
    if (!ring_get(loop))
        return false;
    w->rbuf = buf;
    slot_of(loop, w);
    return true;
}

/* epoll keeps only the write interest of a ring watch. */
static int epoll_part(struct st_io_loop *loop, struct st_io_watch *w, unsigned events)
{
    bool want = events & ST_IO_WRITE;
    if (want == w->registered)
        return 0;
    if (!want) {
        (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
        w->registered = false;
        return 0;
    }
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = w };
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
        return -errno;
    w->registered = true;
    return 0;
}

int st__io_ring_watch_set(struct st_io_loop *loop, struct st_io_watch *w, unsigned events)
{
    struct st_io_ring *r = loop->ring;
    uint32_t idx = slot_of(loop, w);
    int rc = epoll_part(loop, w, events);
    if (rc)
        return rc;
    w->events = events;
    struct slot *s = &r->slots[idx];
    if (events & ST_IO_READ) {
        if (!s->recv)
            arm_recv(r, idx);
        /* a cancelled receive that is still armed is re-armed when its end arrives */
        mark_pending(r, idx);
    } else if (s->recv && !s->cancelling) {
        cancel_recv(r, idx);
    }
    return 0;
}

void st__io_ring_watch_stop(struct st_io_loop *loop, struct st_io_watch *w)
{
    struct st_io_ring *r = loop->ring;
    uint32_t idx = w->ring_slot;
    if (w->registered) {
        (void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
        w->registered = false;
    }
    w->events = 0;
    if (!idx)
        return;
    struct slot *s = &r->slots[idx];
    s->w = NULL;
    s->sbuf = NULL;
    s->term_held = false;
    st_buf_clear(&s->held);
    if (s->send == 1)
        s->send = 0; /* staged, never submitted: dropped with the connection */
    if (s->recv && !s->cancelling)
        cancel_recv(r, idx);
    w->ring_slot = 0;
    slot_maybe_free(r, idx);
}

/* ---- sends ---- */

bool st_io_send(struct st_io_loop *loop, struct st_io_watch *w, struct st_buf *out)
{
    if (out->len == 0 || !ring_get(loop))
        return false;
    struct st_io_ring *r = loop->ring;
    uint32_t idx = slot_of(loop, w);
    struct slot *s = &r->slots[idx];
    if (s->send == 2 || (s->send == 0 && out->len > ST_IO_SEND_MAX))
        return false;
    if (st_buf_append(&s->stage, out->data, out->len))
        return false;
    st_buf_clear(out);
    s->sbuf = out;
    if (s->send == 0) {
        s->send = 1;
        if (!s->listed) {
            s->listed = true;
            push_idx(&r->sends, &r->nsends, &r->sends_cap, idx);
        }
    }
    return true;
}

static void prep_sends(struct st_io_ring *r)
{
    for (uint32_t i = 0; i < r->nsends; i++) {
        uint32_t idx = r->sends[i];
        struct slot *s = &r->slots[idx];
        s->listed = false;
        if (s->send != 1 || !s->w) {
            slot_maybe_free(r, idx);
            continue;
        }
        struct io_uring_sqe *sqe = sqe_get(r);
        /* MSG_DONTWAIT: the kernel tries once, inline, and reports EAGAIN instead of
         * waiting for room, so the send is complete when the wait returns. */
        io_uring_prep_send(sqe, s->w->fd, s->stage.data, s->stage.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        io_uring_sqe_set_data64(sqe, udata(K_SEND, idx, s->gen));
        s->send = 2;
    }
    r->nsends = 0;
}

/* Put bytes back in front of what the caller queued since. */
static void unsend(struct st_buf *out, const char *p, size_t n)
{
    size_t old = out->len;
    if (st_buf_reserve(out, n))
        return; /* cannot happen: out held these bytes before */
    memmove(out->data + n, out->data, old);
    memcpy(out->data, p, n);
    out->len = old + n;
    out->data[out->len] = '\0';
}

static void on_send(struct st_io_loop *loop, uint32_t idx, int res)
{
    struct st_io_ring *r = loop->ring;
    struct slot *s = &r->slots[idx];
    s->send = 0;
    struct st_io_watch *w = s->w;
    if (w && s->sbuf) {
        size_t sent = res > 0 ? (size_t)res : 0;
        if (sent < s->stage.len)
            unsend(s->sbuf, s->stage.data + sent, s->stage.len - sent);
        st_buf_clear(&s->stage);
        w->sres = res;
        w->cb(loop, w, ST_IO_SENT);
    } else {
        st_buf_clear(&s->stage);
    }
    slot_maybe_free(r, idx);
}

/* ---- receives ---- */

/* Deliver bytes to a watch that wants them, or hold them. */
static void deliver(struct st_io_loop *loop, uint32_t idx, const char *p, size_t n)
{
    struct st_io_ring *r = loop->ring;
    struct slot *s = &r->slots[idx];
    struct st_io_watch *w = s->w;
    if (!(w->events & ST_IO_READ) || s->held.len) {
        /* held bytes go first; the caller's buffer is left alone while it is not reading
         * (slices of a request being handled point into it) */
        if (st_buf_append(&s->held, p, n) == 0) {
            mark_pending(r, idx);
            return;
        }
    }
    w->rres = st_buf_append(w->rbuf, p, n) ? ST_ELIMIT : (long)n;
    w->cb(loop, w, ST_IO_READ | ST_IO_RDATA);
}

static void deliver_end(struct st_io_loop *loop, uint32_t idx, long res)
{
    struct slot *s = &loop->ring->slots[idx];
    struct st_io_watch *w = s->w;
    if (!(w->events & ST_IO_READ) || s->held.len) {
        s->term_held = true;
        s->term = res;
        mark_pending(loop->ring, idx);
        return;
    }
    w->rres = res;
    w->cb(loop, w, ST_IO_READ | ST_IO_RDATA);
}

static void recycle(struct st_io_ring *r, unsigned bid)
{
    io_uring_buf_ring_add(r->br, r->bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), 0);
    io_uring_buf_ring_advance(r->br, 1);
}

static void on_recv(struct st_io_loop *loop, uint32_t idx, int res, unsigned flags)
{
    struct st_io_ring *r = loop->ring;
    bool more = flags & IORING_CQE_F_MORE;
    if (res > 0 && (flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        if (r->slots[idx].w)
            deliver(loop, idx, r->bufs + (size_t)bid * BUF_SIZE, (size_t)res);
        recycle(r, bid);
    }
    if (more)
        return;
    struct slot *s = &r->slots[idx];
    s->recv = false;
    bool was_cancelled = s->cancelling;
    s->cancelling = false;
    if (s->w) {
        if (res == 0 || (res < 0 && res != -ECANCELED && res != -ENOBUFS && !was_cancelled))
            deliver_end(loop, idx, res);
        else if (s->w->events & ST_IO_READ) /* cancelled then wanted again, out of buffers, ... */
            arm_recv(r, idx);
    }
    slot_maybe_free(r, idx);
}

/* Held bytes and ends of stream for watches that want to read again. */
static void run_pending(struct st_io_loop *loop)
{
    struct st_io_ring *r = loop->ring;
    uint32_t n = r->npend;
    if (n == 0)
        return;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = r->pend[i];
        struct slot *s = &r->slots[idx];
        s->pending = false;
        if (s->w && (s->w->events & ST_IO_READ) && s->held.len) {
            struct st_io_watch *w = s->w;
            w->rres = st_buf_append(w->rbuf, s->held.data, s->held.len) ? ST_ELIMIT : (long)s->held.len;
            st_buf_clear(&s->held);
            w->cb(loop, w, ST_IO_READ | ST_IO_RDATA);
            s = &r->slots[idx];
        }
        if (s->w && (s->w->events & ST_IO_READ) && s->term_held && !s->held.len) {
            s->term_held = false;
            s->w->rres = s->term;
            s->w->cb(loop, s->w, ST_IO_READ | ST_IO_RDATA); /* may move r->slots: s is stale after */
        }
        slot_maybe_free(r, idx);
    }
    /* callbacks may have queued more: keep those for the next turn */
    memmove(r->pend, r->pend + n, (size_t)(r->npend - n) * sizeof *r->pend);
    r->npend -= n;
}

/* ---- waiting ---- */

static void arm_poll(struct st_io_loop *loop)
{
    struct st_io_ring *r = loop->ring;
    struct io_uring_sqe *sqe = sqe_get(r);
    io_uring_prep_poll_multishot(sqe, loop->epfd, POLLIN);
    io_uring_sqe_set_data64(sqe, udata(K_POLL, 0, 0));
    r->poll_armed = true;
}

static void dispatch_cqe(struct st_io_loop *loop, uint64_t ud, int res, unsigned flags, bool *epoll_ready)
{
    struct st_io_ring *r = loop->ring;
    enum kind k = (enum kind)(ud >> 56);
    uint32_t idx = (uint32_t)ud, gen = (uint32_t)(ud >> 32) & 0xffffffu;
    if (k == K_POLL) {
        if (res >= 0)
            *epoll_ready = true;
        if (!(flags & IORING_CQE_F_MORE))
            r->poll_armed = false;
        return;
    }
    if (k == K_CANCEL || idx >= r->nslots || (r->slots[idx].gen & 0xffffffu) != gen) {
        if (k == K_RECV && (flags & IORING_CQE_F_BUFFER)) /* never expected; keep the buffer */
            recycle(r, flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    if (k == K_RECV)
        on_recv(loop, idx, res, flags);
    else if (k == K_SEND)
        on_send(loop, idx, res);
}

int st__io_ring_wait(struct st_io_loop *loop, int timeout_ms, bool *epoll_ready)
{
    struct st_io_ring *r = loop->ring;
    *epoll_ready = false;
    prep_sends(r);
    if (!r->poll_armed)
        arm_poll(loop);
    if (r->npend)
        timeout_ms = 0;
    struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000, .tv_nsec = (long long)(timeout_ms % 1000) * 1000000 };
    int rc;
    if (r->min_wait_us && timeout_ms != 0) {
        /* always a deadline: without one the kernel returns when min-wait ends, even
         * with nothing to report, and an idle loop would spin */
        if (timeout_ms < 0)
            ts = (struct __kernel_timespec){ .tv_sec = 3600 };
        /* submit (publish the SQ tail as liburing's flush does) and wait in one call */
        struct io_uring_sq *sq = &r->ring.sq;
        unsigned tail = sq->sqe_tail, submit = tail - sq->sqe_head;
        sq->sqe_head = tail;
        io_uring_smp_store_release(sq->ktail, tail);
        struct io_uring_getevents_arg arg = { .pad = r->min_wait_us, .ts = (uint64_t)(uintptr_t)&ts };
        rc = (int)syscall(__NR_io_uring_enter, r->ring.ring_fd, submit, 32,
                          IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof arg);
        if (rc < 0)
            rc = -errno;
        else
            rc = 0;
    } else {
        struct io_uring_cqe *cqe = NULL;
        rc = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, timeout_ms >= 0 ? &ts : NULL, NULL);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return rc;
    st_io_update_time(loop);
    run_pending(loop);

    /* Sends first: their callbacks finish what the previous turn started, and a
     * connection's next read then sees its output state settled. */
    unsigned head = *r->ring.cq.khead, mask = r->ring.cq.ring_mask;
    unsigned tail = io_uring_smp_load_acquire(r->ring.cq.ktail);
    for (unsigned i = head; i != tail; i++) {
        struct io_uring_cqe *c = &r->ring.cq.cqes[i & mask];
        if ((enum kind)(c->user_data >> 56) == K_SEND)
            dispatch_cqe(loop, c->user_data, c->res, c->flags, epoll_ready);
    }
    for (unsigned i = head; i != tail; i++) {
        struct io_uring_cqe *c = &r->ring.cq.cqes[i & mask];
        if ((enum kind)(c->user_data >> 56) != K_SEND)
            dispatch_cqe(loop, c->user_data, c->res, c->flags, epoll_ready);
    }
    io_uring_cq_advance(&r->ring, tail - head);
    return 0;
}
