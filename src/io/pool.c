/*
 * pool.c - a fixed pool of threads for blocking work (SQLite, bcrypt, file I/O).
 *
 * A job is embedded in the caller's struct (struct st_io_work). Threads take jobs from a
 * bounded FIFO; a full queue is refused at submit (ST_ELIMIT) so an overloaded server sheds
 * load instead of queueing without end. The finished job goes back to the loop that
 * submitted it (st__io_post_done: a list and an eventfd write), where done runs, so callers
 * never need locks around their own state.
 */
#include <signal.h>
#include <stdlib.h>

#include "io/internal.h"

struct st_io_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when a job arrives or on shutdown */
    struct st_io_work *head, *tail;
    size_t len, max;
    bool shutdown;
    int nthreads;
    pthread_t *threads;
};

static void *pool_main(void *arg)
{
    struct st_io_pool *pool = arg;
    for (;;) {
        pthread_mutex_lock(&pool->mu);
        while (!pool->head && !pool->shutdown)
            pthread_cond_wait(&pool->cv, &pool->mu);
        struct st_io_work *wk = pool->head;
        if (!wk) {
            pthread_mutex_unlock(&pool->mu);
            return NULL; /* shut down and nothing left */
        }
        pool->head = wk->next;
        if (!pool->head)
            pool->tail = NULL;
        pool->len--;
        pthread_mutex_unlock(&pool->mu);

        wk->work(wk);
        wk->status = 0;
        st__io_post_done(wk->loop, wk);
    }
}

int st_io_pool_new(int nthreads, size_t queue_max, struct st_io_pool **out)
{
    if (nthreads < 1 || queue_max < 1)
        return ST_EUSAGE;
    struct st_io_pool *pool = st_xcalloc(1, sizeof *pool);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    pool->max = queue_max;
    pool->threads = st_xcalloc((size_t)nthreads, sizeof *pool->threads);

    /* Pool threads never handle signals: start them with everything blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (; pool->nthreads < nthreads; pool->nthreads++) {
        rc = -pthread_create(&pool->threads[pool->nthreads], NULL, pool_main, pool);
        if (rc)
            break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        st_io_pool_free(pool, false);
        return rc;
    }
    *out = pool;
    return 0;
}

int st_io_pool_submit(struct st_io_pool *pool, struct st_io_loop *loop, struct st_io_work *wk,
                      void (*work)(struct st_io_work *), void (*done)(struct st_io_work *, int), void *data)
{
    wk->work = work;
    wk->done = done;
    wk->data = data;
    wk->loop = loop;
    wk->status = 0;
    wk->next = NULL;
    int rc = 0;
    pthread_mutex_lock(&pool->mu);
    if (pool->shutdown) {
        rc = -ESHUTDOWN;
    } else if (pool->len >= pool->max) {
        rc = ST_ELIMIT;
    } else {
        if (pool->tail)
            pool->tail->next = wk;
        else
            pool->head = wk;
        pool->tail = wk;
        pool->len++;
        pthread_cond_signal(&pool->cv);
    }
    pthread_mutex_unlock(&pool->mu);
    return rc;
}

void st_io_pool_free(struct st_io_pool *pool, bool drain)
{
    if (!pool)
        return;
    struct st_io_work *cancelled = NULL;
    pthread_mutex_lock(&pool->mu);
    pool->shutdown = true;
    if (!drain) {
        cancelled = pool->head;
        pool->head = pool->tail = NULL;
        pool->len = 0;
    }
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);

    while (cancelled) {
        struct st_io_work *next = cancelled->next;
        cancelled->status = -ECANCELED;
        st__io_post_done(cancelled->loop, cancelled);
        cancelled = next;
    }
    for (int i = 0; i < pool->nthreads; i++)
        pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}
