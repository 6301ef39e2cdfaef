/* test_pool.c - the worker pool (src/io/pool.c: completions on the submitting loop's
 * thread, many jobs, a full queue, cancel and drain at shutdown) and the multi-loop
 * runner (src/io/workers.c: SO_REUSEPORT listener per loop, stop all, setup failure). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/time.h"
#include "io/io.h"

/* ---- pool ---- */

struct job {
    struct st_io_work wk;
    pthread_t ran_on;
    int sleep_ms;
    atomic_bool *started;
    int status; /* from done; 1 until then */
};

struct pool_case {
    struct st_io_loop *loop;
    pthread_t loop_thread;
    int done, expect;
    bool done_off_thread, work_on_loop_thread;
};

static struct pool_case *g_pc;

static void job_work(struct st_io_work *wk)
{
    struct job *j = wk->data;
    j->ran_on = pthread_self();
    if (j->started)
        atomic_store(j->started, true);
    if (j->sleep_ms)
        st_time_sleep_ms(j->sleep_ms);
}

static void job_done(struct st_io_work *wk, int status)
{
    struct job *j = wk->data;
    struct pool_case *pc = g_pc;
    j->status = status;
    if (!pthread_equal(pthread_self(), pc->loop_thread))
        pc->done_off_thread = true;
    if (status == 0 && pthread_equal(j->ran_on, pc->loop_thread))
        pc->work_on_loop_thread = true;
    if (++pc->done == pc->expect)
        st_io_loop_stop(pc->loop);
}

static void test_pool_many_jobs_done_on_loop_thread(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct pool_case pc = { .loop_thread = pthread_self(), .expect = N };
    g_pc = &pc;
    assert_int_equal(st_io_loop_new(&pc.loop), 0);
    struct st_io_pool *pool;
    assert_int_equal(st_io_pool_new(4, N, &pool), 0);
    struct job *jobs = calloc(N, sizeof *jobs);
    for (int i = 0; i < N; i++) {
        jobs[i].status = 1;
        assert_int_equal(st_io_pool_submit(pool, pc.loop, &jobs[i].wk, job_work, job_done, &jobs[i]), 0);
    }
    assert_int_equal(st_io_loop_run(pc.loop), 0);
    assert_int_equal(pc.done, N);
    assert_false(pc.done_off_thread);
    assert_false(pc.work_on_loop_thread);
    for (int i = 0; i < N; i++)
        assert_int_equal(jobs[i].status, 0);
    st_io_pool_free(pool, true);
    st_io_loop_free(pc.loop);
    free(jobs);
}

static void test_pool_full_and_cancel(void **state)
{
    (void)state;
    struct pool_case pc = { .loop_thread = pthread_self(), .expect = -1 };
    g_pc = &pc;
    assert_int_equal(st_io_loop_new(&pc.loop), 0);
    struct st_io_pool *pool;
    assert_int_equal(st_io_pool_new(1, 2, &pool), 0);
    atomic_bool started = false;
    struct job j[4] = {
        { .sleep_ms = 200, .started = &started, .status = 1 }, { .status = 1 }, { .status = 1 }, { .status = 1 }
    };
    assert_int_equal(st_io_pool_submit(pool, pc.loop, &j[0].wk, job_work, job_done, &j[0]), 0);
    while (!atomic_load(&started)) /* the only thread is now busy with j[0] */
        st_time_sleep_ms(1);
    assert_int_equal(st_io_pool_submit(pool, pc.loop, &j[1].wk, job_work, job_done, &j[1]), 0);
    assert_int_equal(st_io_pool_submit(pool, pc.loop, &j[2].wk, job_work, job_done, &j[2]), 0);
    assert_int_equal(st_io_pool_submit(pool, pc.loop, &j[3].wk, job_work, job_done, &j[3]), ST_ELIMIT);
    st_io_pool_free(pool, false);     /* waits for j[0]; cancels j[1], j[2] */
    assert_int_equal(j[0].status, 1); /* done has not run: it runs on the loop */
    assert_int_equal(st_io_loop_run_once(pc.loop, 1000), 0);
    assert_int_equal(pc.done, 3);
    assert_int_equal(j[0].status, 0);
    assert_int_equal(j[1].status, -ECANCELED);
    assert_int_equal(j[2].status, -ECANCELED);
    assert_int_equal(j[3].status, 1);
    assert_false(pc.done_off_thread);
    st_io_loop_free(pc.loop);
}

static void test_pool_drain(void **state)
{
    (void)state;
    enum { N = 40 };
    struct pool_case pc = { .loop_thread = pthread_self(), .expect = -1 };
    g_pc = &pc;
    assert_int_equal(st_io_loop_new(&pc.loop), 0);
    struct st_io_pool *pool;
    assert_int_equal(st_io_pool_new(2, N, &pool), 0);
    struct job jobs[N];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < N; i++) {
        jobs[i].sleep_ms = 2;
        jobs[i].status = 1;
        assert_int_equal(st_io_pool_submit(pool, pc.loop, &jobs[i].wk, job_work, job_done, &jobs[i]), 0);
    }
    st_io_pool_free(pool, true); /* every queued job still runs */
    st_io_loop_free(pc.loop);    /* runs the queued completions */
    assert_int_equal(pc.done, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(jobs[i].status, 0);
}

/* ---- multi-loop runner ---- */

struct worker_state {
    struct st_io_acceptor acc;
    int lfd;
    int index;
};

struct runner_case {
    int port;
    int fail_index; /* setup fails here (-1: never) */
    struct worker_state ws[2];
    struct st_io_loop *loops[2];
    atomic_int ready, torn_down;
    int rc;
};

static void worker_accept(struct st_io_acceptor *a, int fd)
{
    struct worker_state *ws = a->data;
    char c = (char)('0' + ws->index);
    if (write(fd, &c, 1) != 1) {
        /* the client gave up; nothing to report */
    }
    close(fd);
}

static int worker_setup(struct st_io_loop *loop, int index, void *arg)
{
    struct runner_case *rc = arg;
    if (index == rc->fail_index)
        return -EINVAL;
    struct worker_state *ws = &rc->ws[index];
    ws->index = index;
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", rc->port);
    int r = st_io_listen(addr, 64, ST_IO_REUSEPORT, &ws->lfd, NULL);
    if (r)
        return r;
    r = st_io_acceptor_start(loop, &ws->acc, ws->lfd, worker_accept, ws);
    if (r) {
        close(ws->lfd);
        return r;
    }
    rc->loops[index] = loop;
    atomic_fetch_add(&rc->ready, 1);
    return 0;
}

static void worker_teardown(struct st_io_loop *loop, int index, void *arg)
{
    struct runner_case *rc = arg;
    st_io_acceptor_stop(loop, &rc->ws[index].acc);
    close(rc->ws[index].lfd);
    atomic_fetch_add(&rc->torn_down, 1);
}

static void *runner_main(void *arg)
{
    struct runner_case *rc = arg;
    rc->rc = st_io_run_workers(2, worker_setup, worker_teardown, rc);
    return NULL;
}

static int free_port(void)
{
    int fd, port = 0;
    assert_int_equal(st_io_listen("127.0.0.1:0", 1, ST_IO_REUSEPORT, &fd, NULL), 0);
    assert_int_equal(st_io_local_port(fd, &port), 0);
    close(fd);
    return port;
}

static void test_run_workers(void **state)
{
    (void)state;
    struct runner_case rc = { .port = free_port(), .fail_index = -1 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, runner_main, &rc), 0);
    for (int i = 0; i < 5000 && atomic_load(&rc.ready) < 2; i++)
        st_time_sleep_ms(1);
    assert_int_equal(atomic_load(&rc.ready), 2);

    int served = 0;
    for (int i = 0; i < 40; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)rc.port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
        char c = 0;
        if (read(fd, &c, 1) == 1 && (c == '0' || c == '1'))
            served++;
        close(fd);
    }
    assert_int_equal(served, 40);

    st_io_workers_stop(rc.loops[1]); /* one loop's group stops them all */
    pthread_join(th, NULL);
    assert_int_equal(rc.rc, 0);
    assert_int_equal(atomic_load(&rc.torn_down), 2);
}

static void test_run_workers_setup_failure(void **state)
{
    (void)state;
    struct runner_case rc = { .port = free_port(), .fail_index = 1 };
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, runner_main, &rc), 0);
    pthread_join(th, NULL); /* returns by itself: the failure stops the other loop */
    assert_int_equal(rc.rc, -EINVAL);
    assert_int_equal(atomic_load(&rc.torn_down), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_many_jobs_done_on_loop_thread),
        cmocka_unit_test(test_pool_full_and_cancel),
        cmocka_unit_test(test_pool_drain),
        cmocka_unit_test(test_run_workers),
        cmocka_unit_test(test_run_workers_setup_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
