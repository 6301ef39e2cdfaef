/*
 * web.h - `strata serve`: the lab as a web app (server-rendered HTML) and a JSON API, on
 * the HTTP engine. Shared context of the route modules:
 *
 *   web.c        the command, the context below, per-worker stores, writes on the pool
 *   web_pages.c  HTML pages (dashboard, levels, modules, questions, search, review,
 *                completion, notes, attempts)
 *   web_api.c    /api/v1 (JSON, problem+json errors) and /api/v1/openapi.json
 *   web_grade.c  grading jobs from the web: run on the pool, log streamed with SSE
 *   html.c       escaping, the page layout, markdown (md4c)
 *
 * Threads: each worker thread reads through its own st_lab_store and st_lab_search
 * (st_lab_web_store / st_lab_web_search, opened on first use on that thread). Writes and
 * grading jobs never run on an event loop: st_lab_web_write runs a function on the pool
 * with the pool's own connection, then finishes the exchange on the loop.
 */
#ifndef ST_WEB_WEB_H
#define ST_WEB_WEB_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "http/app.h"
#include "io/io.h"
#include "lab/progress.h"
#include "lab/search.h"
#include "lab/store.h"

#define ST_LAB_WORKERS_MAX 64

struct st_lab_jobs; /* web_grade.c */
struct st_lab_view; /* web.c: a worker's cache of what it read */

struct st_lab_web {
    struct st_http_app app;
    char db_path[PATH_MAX];
    struct st_io_pool *pool;                             /* writes (one thread) */
    struct st_lab_store *readers[ST_LAB_WORKERS_MAX];    /* per worker, lazily */
    struct st_lab_search *searchers[ST_LAB_WORKERS_MAX]; /* per worker, lazily */
    struct st_lab_jobs *jobs;                            /* grading jobs: their own pool (web_grade.c) */
    struct st_lab_view *views[ST_LAB_WORKERS_MAX];       /* per worker, lazily */
    _Atomic uint64_t generation;                         /* bumped by every write of ours */
    const char *listen;                                  /* as given */
    char origin[300];                                    /* "http://127.0.0.1:8080", for links in the API */
};

/* The context of an exchange (x->data of the app's handlers is the route data: routes
 * are registered with the st_lab_web as data). */

/* The worker's read connection / search index; NULL after logging the error (answer 500). */
struct st_lab_store *st_lab_web_store(struct st_lab_web *w, struct st_http_ex *x);
struct st_lab_search *st_lab_web_search(struct st_lab_web *w, struct st_http_ex *x);

/*
 * Run write(store, arg, err) on a pool thread with the pool's connection (serialised:
 * one writer at a time), then done(x, rc, err, arg) back on x's loop. x is made async.
 * If the pool refuses (queue full), done runs at once with ST_ELIMIT.
 */
typedef int (*st_lab_write_fn)(struct st_lab_store *s, void *arg, struct st_error *err);
typedef void (*st_lab_done_fn)(struct st_http_ex *x, int rc, const struct st_error *err, void *arg);
void st_lab_web_write(struct st_lab_web *w, struct st_http_ex *x, st_lab_write_fn write, st_lab_done_fn done,
                      void *arg);

/* Stop and free the grading jobs (web_grade.c): running graders are waited for. NULL ok. */
void st_lab_jobs_free(struct st_lab_jobs *jobs);

/*
 * Cached reads for the hot pages. Each worker keeps what it read (statuses, a question's
 * note and attempts) and trusts it while nothing changed: our own writes bump
 * w->generation (st_lab_web_changed, called after every commit), and writes from other
 * processes (the CLI) are seen through PRAGMA data_version, checked at most every
 * ST_LAB_VIEW_CHECK_MS. So a page costs no SQLite transaction in the common case, our
 * writes show at once, and the CLI's within ST_LAB_VIEW_CHECK_MS.
 * Same contracts as the store functions they stand for.
 */
#define ST_LAB_VIEW_CHECK_MS 200
#define ST_LAB_VIEW_ATTEMPTS 10
void st_lab_web_changed(struct st_lab_web *w);
int st_lab_web_status_all(struct st_lab_web *w, struct st_http_ex *x, enum st_status out[], struct st_error *err);
/* The note (ST_ENOTFOUND if none) into text. */
int st_lab_web_note_get(struct st_lab_web *w, struct st_http_ex *x, int question, struct st_buf *text,
                        int64_t *updated_ms, struct st_error *err);
/* The newest attempts at a question, at most min(max, ST_LAB_VIEW_ATTEMPTS). */
int st_lab_web_attempts(struct st_lab_web *w, struct st_http_ex *x, int question, struct st_lab_attempt *out,
                        size_t max, size_t *n, struct st_error *err);

/* Route registration of each module (0 or a routing status). */
int st_lab_pages_routes(struct st_lab_web *w);
int st_lab_api_routes(struct st_lab_web *w);
int st_lab_grade_routes(struct st_lab_web *w);

/* The learner: one local learner until accounts exist. */
#define ST_LAB_USER ST_PROGRESS_LOCAL_USER

/* `strata serve ...` (argv[0] is "serve"). */
int st_cli_serve(int argc, char **argv);

#endif
