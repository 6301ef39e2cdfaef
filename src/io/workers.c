/*
 * workers.c - st_io_run_workers: n threads, one loop each, stopped together.
 *
 * Each thread opens its own SO_REUSEPORT listener in setup, so the kernel spreads
 * connections across loops and no lock or shared accept queue sits on the hot path.
 */
#include <signal.h>
#include <stdlib.h>

#include "io/internal.h"

struct st_io_group {
    pthread_mutex_t mu;        /* guards loops[], stopping and rc */
    struct st_io_loop **loops; /* NULL where a thread has no loop (yet, or any more) */
    int n;
    bool stopping;
    int rc; /* first failure */
    int (*setup)(struct st_io_loop *, int, void *);
    void (*teardown)(struct st_io_loop *, int, void *);
    void *arg;
};

struct worker_arg {
    struct st_io_group *g;
    int index;
};

static void stop_all(struct st_io_group *g, int rc)
{
    pthread_mutex_lock(&g->mu);
    if (!g->rc)
        g->rc = rc;
    g->stopping = true;
    for (int i = 0; i < g->n; i++)
        if (g->loops[i])
            st_io_loop_stop(g->loops[i]);
    pthread_mutex_unlock(&g->mu);
}

void st_io_workers_stop(struct st_io_loop *loop)
{
    if (loop->group)
        stop_all(loop->group, 0);
    else
        st_io_loop_stop(loop);
}

static void *worker_main(void *p)
{
    struct worker_arg *wa = p;
    struct st_io_group *g = wa->g;
    struct st_io_loop *loop;
    int rc = st_io_loop_new(&loop);
    if (rc) {
        stop_all(g, rc);
        return NULL;
    }
    loop->group = g;
    pthread_mutex_lock(&g->mu);
    g->loops[wa->index] = loop;
    if (g->stopping)
        st_io_loop_stop(loop); /* a sibling failed or stop came before we registered */
    pthread_mutex_unlock(&g->mu);

    rc = g->setup(loop, wa->index, g->arg);
    if (rc) {
        stop_all(g, rc);
    } else {
        rc = st_io_loop_run(loop);
        if (rc)
            stop_all(g, rc);
        if (g->teardown)
            g->teardown(loop, wa->index, g->arg);
    }
    pthread_mutex_lock(&g->mu);
    g->loops[wa->index] = NULL; /* nobody may stop a freed loop */
    pthread_mutex_unlock(&g->mu);
    st_io_loop_free(loop);
    return NULL;
}

int st_io_run_workers(int n, int (*setup)(struct st_io_loop *, int, void *),
                      void (*teardown)(struct st_io_loop *, int, void *), void *arg)
{
    if (n < 1)
        return ST_EUSAGE;
    struct st_io_group g = { .n = n, .setup = setup, .teardown = teardown, .arg = arg };
    pthread_mutex_init(&g.mu, NULL);
    g.loops = st_xcalloc((size_t)n, sizeof *g.loops); // NOLINT(bugprone-sizeof-expression): an array of pointers
    pthread_t *th = st_xcalloc((size_t)n, sizeof *th);
    struct worker_arg *wa = st_xcalloc((size_t)n, sizeof *wa);

    /* Loop threads never take signals asynchronously: the signalfd owner reads them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int started = 0;
    for (; started < n; started++) {
        wa[started] = (struct worker_arg){ &g, started };
        int rc = pthread_create(&th[started], NULL, worker_main, &wa[started]);
        if (rc) {
            stop_all(&g, -rc);
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);

    int rc = g.rc;
    pthread_mutex_destroy(&g.mu);
    free(g.loops);
    free(th);
    free(wa);
    return rc;
}
