/* test_loop.c - unit tests for the event loop core (src/io/loop.c): timers, deferred
 * callbacks, cross-thread posts and stop, fd watches. Timing bounds are generous on
 * purpose: they check order and "eventually", never tight latencies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/time.h"
#include "io/io.h"

/* ---- timers ---- */

struct order {
    int seen[16];
    int n;
};

struct tagged_timer {
    struct st_io_timer t;
    struct order *o;
    int tag;
};

static void record_timer(struct st_io_loop *loop, struct st_io_timer *t)
{
    struct tagged_timer *tt = t->data;
    tt->o->seen[tt->o->n++] = tt->tag;
    if (tt->o->n == 4)
        st_io_loop_stop(loop);
}

static void test_timers_fire_in_order(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    struct order o = { 0 };
    struct tagged_timer t[5];
    /* Started out of order; 1 and 2 share a deadline and must keep start order. */
    const int64_t ms[5] = { 40, 10, 10, 25, 5 };
    for (int i = 0; i < 5; i++) {
        t[i] = (struct tagged_timer){ .o = &o, .tag = i };
        st_io_timer_init(&t[i].t, record_timer, &t[i]);
        st_io_timer_start(loop, &t[i].t, ms[i]);
    }
    st_io_timer_stop(loop, &t[3].t); /* cancel: must never fire */
    assert_false(st_io_timer_active(&t[3].t));
    int64_t start = st_time_mono_ms();
    assert_int_equal(st_io_loop_run(loop), 0);
    int64_t took = st_time_mono_ms() - start;
    assert_int_equal(o.n, 4);
    assert_int_equal(o.seen[0], 4);
    assert_int_equal(o.seen[1], 1);
    assert_int_equal(o.seen[2], 2);
    assert_int_equal(o.seen[3], 0);
    assert_true(took >= 30); /* deadlines count from the cached time */
    assert_true(took < 5000);
    st_io_loop_free(loop);
}

static void count_timer(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    (*(int *)t->data)++;
}

static void stop_timer(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)t;
    st_io_loop_stop(loop);
}

/* Restarting moves the deadline (idle timeout reset); a cancelled timer stays silent. */
static void test_timer_reset_and_cancel(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    int fired = 0;
    struct st_io_timer idle, end;
    st_io_timer_init(&idle, count_timer, &fired);
    st_io_timer_init(&end, stop_timer, NULL);
    st_io_timer_start(loop, &idle, 20);
    st_io_timer_start(loop, &idle, 100000); /* reset far away */
    st_io_timer_start(loop, &end, 60);
    assert_int_equal(st_io_loop_run(loop), 0);
    assert_int_equal(fired, 0);
    assert_true(st_io_timer_active(&idle));
    st_io_timer_stop(loop, &idle);
    st_io_timer_stop(loop, &idle); /* twice is harmless */
    assert_false(st_io_timer_active(&idle));
    st_io_loop_free(loop);
}

/* Many timers with pseudo-random deadlines, some cancelled: the heap fires the rest in
 * (due, start) order. */
struct heap_case {
    struct st_io_timer t[500];
    int64_t last_due;
    int fired;
    bool bad;
};

static void heap_timer(struct st_io_loop *loop, struct st_io_timer *t)
{
    struct heap_case *hc = t->data;
    int64_t due = t->due;
    if (due < hc->last_due)
        hc->bad = true;
    hc->last_due = due;
    hc->fired++;
    (void)loop;
}

static void test_timer_heap_many(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    struct heap_case *hc = calloc(1, sizeof *hc);
    uint32_t x = 12345;
    for (int i = 0; i < 500; i++) {
        x = x * 1103515245u + 12345u;
        st_io_timer_init(&hc->t[i], heap_timer, hc);
        st_io_timer_start(loop, &hc->t[i], (x >> 8) % 30);
    }
    for (int i = 0; i < 500; i += 3)
        st_io_timer_stop(loop, &hc->t[i]);
    for (int i = 1; i < 500; i += 7) /* restart some (a few were cancelled): moves them in the heap */
        st_io_timer_start(loop, &hc->t[i], 15);
    int active = 0;
    for (int i = 0; i < 500; i++)
        active += st_io_timer_active(&hc->t[i]);
    assert_true(active > 300 && active < 500);
    struct st_io_timer end;
    st_io_timer_init(&end, stop_timer, NULL);
    st_io_timer_start(loop, &end, 60);
    assert_int_equal(st_io_loop_run(loop), 0);
    assert_int_equal(hc->fired, active);
    assert_false(hc->bad);
    free(hc);
    st_io_loop_free(loop);
}

/* A timer that restarts itself with 0 ms fires once per turn, so I/O still gets turns. */
struct spinner {
    struct st_io_timer t;
    int fired;
};

static void spin_timer(struct st_io_loop *loop, struct st_io_timer *t)
{
    struct spinner *s = t->data;
    if (++s->fired < 5)
        st_io_timer_start(loop, t, 0);
}

static void test_timer_zero_restart_not_same_turn(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    struct spinner s = { 0 };
    st_io_timer_init(&s.t, spin_timer, &s);
    st_io_timer_start(loop, &s.t, 0);
    for (int turn = 1; turn <= 5; turn++) {
        assert_int_equal(st_io_loop_run_once(loop, 1000), 0);
        assert_int_equal(s.fired, turn);
    }
    assert_false(st_io_timer_active(&s.t));
    st_io_loop_free(loop);
}

static void test_now_cached_per_turn(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    int64_t a = st_io_now_ms(loop);
    st_time_sleep_ms(20);
    assert_int_equal(st_io_now_ms(loop), a); /* cached, not re-read */
    assert_int_equal(st_io_loop_run_once(loop, 0), 0);
    assert_true(st_io_now_ms(loop) >= a + 20);
    st_io_loop_free(loop);
}

/* ---- deferred ---- */

struct deferred_obj {
    struct st_io_defer d;
    struct order *o;
    int tag;
    struct st_io_loop *loop;
};

static void deferred_free(void *arg)
{
    struct deferred_obj *obj = arg;
    obj->o->seen[obj->o->n++] = obj->tag;
    free(obj); /* freeing the struct that holds the node is allowed */
}

static struct deferred_obj *new_obj(struct order *o, int tag, struct st_io_loop *loop)
{
    struct deferred_obj *obj = calloc(1, sizeof *obj);
    obj->o = o;
    obj->tag = tag;
    obj->loop = loop;
    return obj;
}

static void defer_again(void *arg)
{
    struct deferred_obj *obj = arg;
    obj->o->seen[obj->o->n++] = obj->tag;
    /* Deferred from a deferred callback: must wait for the next turn. */
    struct deferred_obj *next = new_obj(obj->o, 9, obj->loop);
    st_io_defer(obj->loop, &next->d, deferred_free, next);
    free(obj);
}

static void timer_defers(struct st_io_loop *loop, struct st_io_timer *t)
{
    struct order *o = t->data;
    o->seen[o->n++] = 0; /* the timer itself */
    struct deferred_obj *a = new_obj(o, 1, loop);
    struct deferred_obj *b = new_obj(o, 2, loop);
    st_io_defer(loop, &a->d, deferred_free, a);
    st_io_defer(loop, &b->d, defer_again, b);
    o->seen[o->n++] = 3; /* still inside the callback: nothing deferred has run */
}

static void test_deferred(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    struct order o = { 0 };
    struct st_io_timer t;
    st_io_timer_init(&t, timer_defers, &o);
    st_io_timer_start(loop, &t, 0);
    assert_int_equal(st_io_loop_run_once(loop, 1000), 0);
    assert_int_equal(o.n, 4);
    assert_int_equal(o.seen[0], 0);
    assert_int_equal(o.seen[1], 3);
    assert_int_equal(o.seen[2], 1);
    assert_int_equal(o.seen[3], 2);
    /* The next turn must not block although no fd or timer is pending: work is deferred. */
    int64_t start = st_time_mono_ms();
    assert_int_equal(st_io_loop_run_once(loop, 10000), 0);
    assert_true(st_time_mono_ms() - start < 5000);
    assert_int_equal(o.n, 5);
    assert_int_equal(o.seen[4], 9);
    st_io_loop_free(loop);
}

/* ---- cross-thread post and stop ---- */

struct post_case {
    struct st_io_loop *loop;
    pthread_t loop_thread;
    int count;
    bool wrong_thread;
    int expect;
};

static void posted(void *arg)
{
    struct post_case *pc = arg;
    if (!pthread_equal(pthread_self(), pc->loop_thread))
        pc->wrong_thread = true;
    if (++pc->count == pc->expect)
        st_io_loop_stop(pc->loop);
}

static void *poster(void *arg)
{
    struct post_case *pc = arg;
    for (int i = 0; i < 1000; i++)
        st_io_post(pc->loop, posted, pc);
    return NULL;
}

static void test_cross_thread_post(void **state)
{
    (void)state;
    struct post_case pc = { .loop_thread = pthread_self(), .expect = 4000 };
    assert_int_equal(st_io_loop_new(&pc.loop), 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, poster, &pc), 0);
    assert_int_equal(st_io_loop_run(pc.loop), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(pc.count, 4000);
    assert_false(pc.wrong_thread);
    st_io_loop_free(pc.loop);
}

static void *stopper(void *arg)
{
    st_time_sleep_ms(30);
    st_io_loop_stop(arg);
    return NULL;
}

/* A loop blocked in epoll_wait with nothing to do wakes up for a stop from another thread. */
static void test_cross_thread_stop(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper, loop), 0);
    int64_t start = st_time_mono_ms();
    assert_int_equal(st_io_loop_run(loop), 0);
    assert_true(st_time_mono_ms() - start < 5000);
    pthread_join(th, NULL);
    st_io_loop_free(loop);
}

/* Posted callbacks left when the loop is freed still run (their memory is released). */
static void test_free_runs_posted(void **state)
{
    (void)state;
    struct post_case pc = { .loop_thread = pthread_self(), .expect = -1 };
    assert_int_equal(st_io_loop_new(&pc.loop), 0);
    st_io_post(pc.loop, posted, &pc);
    st_io_post(pc.loop, posted, &pc);
    st_io_loop_free(pc.loop);
    assert_int_equal(pc.count, 2);
}

/* ---- watches ---- */

struct pair_case {
    struct st_io_watch a, b;
    int fds[4];
    int calls;
};

/* Whichever watch fires first stops and closes the other: its already-collected event
 * must not be delivered (it would be a use-after-free in real code). */
static void kill_other(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    struct pair_case *pc = w->data;
    assert_true(revents & ST_IO_READ);
    pc->calls++;
    struct st_io_watch *other = w == &pc->a ? &pc->b : &pc->a;
    st_io_watch_stop(loop, other);
    st_io_watch_stop(loop, w);
}

static void test_watch_stop_drops_pending_event(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    struct pair_case pc = { 0 };
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pc.fds), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pc.fds + 2), 0);
    st_io_watch_init(&pc.a, pc.fds[0], kill_other, &pc);
    st_io_watch_init(&pc.b, pc.fds[2], kill_other, &pc);
    assert_int_equal(st_io_watch_set(loop, &pc.a, ST_IO_READ), 0);
    assert_int_equal(st_io_watch_set(loop, &pc.b, ST_IO_READ), 0);
    assert_int_equal(write(pc.fds[1], "x", 1), 1);
    assert_int_equal(write(pc.fds[3], "y", 1), 1);
    assert_int_equal(st_io_loop_run_once(loop, 1000), 0);
    assert_int_equal(pc.calls, 1);
    assert_int_equal(st_io_loop_run_once(loop, 0), 0);
    assert_int_equal(pc.calls, 1);
    for (int i = 0; i < 4; i++)
        close(pc.fds[i]);
    st_io_loop_free(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timers_fire_in_order), cmocka_unit_test(test_timer_reset_and_cancel),
        cmocka_unit_test(test_timer_heap_many),      cmocka_unit_test(test_timer_zero_restart_not_same_turn),
        cmocka_unit_test(test_now_cached_per_turn),  cmocka_unit_test(test_deferred),
        cmocka_unit_test(test_cross_thread_post),    cmocka_unit_test(test_cross_thread_stop),
        cmocka_unit_test(test_free_runs_posted),     cmocka_unit_test(test_watch_stop_drops_pending_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
