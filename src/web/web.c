/*
 * web.c - `strata serve`: opens the learner's database, builds the app (middleware, the
 * route modules, built-ins) and serves it until Ctrl-C / SIGTERM. Also the per-worker
 * read connections and the write path through the pool (web.h).
 */
#include "web/web.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/flags.h"
#include "base/log.h"
#include "base/time.h"
#include "curriculum/curriculum.h"
#include "lab/cli.h"

/* ---- per-worker readers ---- */

struct st_lab_store *st_lab_web_store(struct st_lab_web *w, struct st_http_ex *x)
{
    if (x->worker < 0 || x->worker >= ST_LAB_WORKERS_MAX)
        return NULL;
    struct st_lab_store **s = &w->readers[x->worker]; /* only this worker's thread touches it */
    if (!*s) {
        struct st_error err = { 0 };
        if (st_lab_store_open(w->db_path, s, &err)) {
            st_log_error("lab: cannot open the database", ST_LOG_STR("path", w->db_path), ST_LOG_STR("error", err.msg));
            *s = NULL;
        }
    }
    return *s;
}

struct st_lab_search *st_lab_web_search(struct st_lab_web *w, struct st_http_ex *x)
{
    if (x->worker < 0 || x->worker >= ST_LAB_WORKERS_MAX)
        return NULL;
    struct st_lab_search **s = &w->searchers[x->worker];
    if (!*s) {
        struct st_error err = { 0 };
        if (st_lab_search_open(s, &err)) {
            st_log_error("lab: cannot build the search index", ST_LOG_STR("error", err.msg));
            *s = NULL;
        }
    }
    return *s;
}

/* ---- cached reads (web.h) ---- */

struct qcache {
    uint64_t note_token, att_token; /* 0: never loaded */
    bool has_note;
    char *note; /* owned */
    size_t note_len;
    int64_t note_ms;
    struct st_lab_attempt att[ST_LAB_VIEW_ATTEMPTS];
    size_t natt;
};

struct st_lab_view {
    uint64_t epoch;        /* bumped when data_version shows a foreign commit */
    int64_t version;       /* last PRAGMA data_version */
    int64_t checked_ms;    /* loop time of that check; 0: never */
    uint64_t status_token; /* 0: not loaded */
    enum st_status status[ST_CUR_QUESTIONS];
    struct qcache q[ST_CUR_QUESTIONS];
};

void st_lab_web_changed(struct st_lab_web *w)
{
    atomic_fetch_add(&w->generation, 1);
}

static void view_free(struct st_lab_view *v)
{
    if (!v)
        return;
    for (int i = 0; i < ST_CUR_QUESTIONS; i++)
        free(v->q[i].note);
    free(v);
}

/*
 * The worker's view and its current token (never 0), or NULL with err set. The token
 * changes whenever something may have changed: a write of ours (generation) or a commit
 * seen through data_version (epoch), looked at no more than every ST_LAB_VIEW_CHECK_MS.
 */
static struct st_lab_view *view(struct st_lab_web *w, struct st_http_ex *x, struct st_lab_store **sp, uint64_t *token,
                                struct st_error *err)
{
    struct st_lab_store *s = st_lab_web_store(w, x);
    if (!s) {
        st_error_set(err, ST_EDB, "cannot open the database");
        return NULL;
    }
    struct st_lab_view **vp = &w->views[x->worker]; /* st_lab_web_store checked the index */
    if (!*vp)
        *vp = st_xcalloc(1, sizeof **vp);
    struct st_lab_view *v = *vp;
    int64_t now = st_io_now_ms(x->loop);
    if (v->checked_ms == 0 || now - v->checked_ms >= ST_LAB_VIEW_CHECK_MS) {
        int64_t version = 0;
        if (st_lab_store_data_version(s, &version, err))
            return NULL;
        if (v->checked_ms == 0 || version != v->version)
            v->epoch++;
        v->version = version;
        v->checked_ms = now;
    }
    /* generation in the high bits, epoch in the low: equal tokens mean nothing moved */
    *token = (atomic_load(&w->generation) << 24) + (v->epoch & 0xffffff) + 1;
    *sp = s;
    return v;
}

int st_lab_web_status_all(struct st_lab_web *w, struct st_http_ex *x, enum st_status out[], struct st_error *err)
{
    struct st_lab_store *s;
    uint64_t token;
    struct st_lab_view *v = view(w, x, &s, &token, err);
    if (!v)
        return err->code ? err->code : ST_EDB;
    if (v->status_token != token) {
        v->status_token = 0;
        int rc = st_lab_status_all(s, ST_LAB_USER, v->status, err);
        if (rc)
            return rc;
        v->status_token = token;
    }
    memcpy(out, v->status, sizeof v->status);
    return 0;
}

int st_lab_web_note_get(struct st_lab_web *w, struct st_http_ex *x, int question, struct st_buf *text,
                        int64_t *updated_ms, struct st_error *err)
{
    if (question < 1 || question > ST_CUR_QUESTIONS)
        return st_error_set(err, ST_ENOTFOUND, "no question %d", question);
    struct st_lab_store *s;
    uint64_t token;
    struct st_lab_view *v = view(w, x, &s, &token, err);
    if (!v)
        return err->code ? err->code : ST_EDB;
    struct qcache *c = &v->q[question - 1];
    if (c->note_token != token) {
        c->note_token = 0;
        int64_t ms = 0;
        int rc = st_lab_note_get(s, ST_LAB_USER, question, text, &ms, err);
        if (rc && rc != ST_ENOTFOUND)
            return rc;
        free(c->note);
        c->note = NULL;
        c->has_note = rc == 0;
        c->note_len = c->has_note ? text->len : 0;
        c->note = c->has_note ? st_xstrdup(text->data ? text->data : "") : NULL;
        c->note_ms = ms;
        c->note_token = token;
    }
    st_buf_clear(text);
    if (!c->has_note)
        return ST_ENOTFOUND;
    if (updated_ms)
        *updated_ms = c->note_ms;
    return st_buf_append(text, c->note, c->note_len);
}

int st_lab_web_attempts(struct st_lab_web *w, struct st_http_ex *x, int question, struct st_lab_attempt *out,
                        size_t max, size_t *n, struct st_error *err)
{
    if (question < 1 || question > ST_CUR_QUESTIONS)
        return st_error_set(err, ST_ENOTFOUND, "no question %d", question);
    struct st_lab_store *s;
    uint64_t token;
    struct st_lab_view *v = view(w, x, &s, &token, err);
    if (!v)
        return err->code ? err->code : ST_EDB;
    struct qcache *c = &v->q[question - 1];
    if (c->att_token != token) {
        c->att_token = 0;
        int rc = st_lab_attempts_list(s, ST_LAB_USER, question, c->att, ST_LAB_VIEW_ATTEMPTS, &c->natt, err);
        if (rc)
            return rc;
        c->att_token = token;
    }
    *n = c->natt < max ? c->natt : max;
    memcpy(out, c->att, *n * sizeof *out);
    return 0;
}

/* ---- writes on the pool ---- */

/* The pool has one thread: this is its connection, so writes are serialised and never
 * wait for each other inside SQLite. */
static struct st_lab_store *writer;

struct write_job {
    struct st_io_work wk;
    struct st_lab_web *w;
    struct st_http_ex *x;
    st_lab_write_fn write;
    st_lab_done_fn done;
    void *arg;
    int rc;
    struct st_error err;
};

static void write_work(struct st_io_work *wk)
{
    struct write_job *j = wk->data;
    if (!writer && st_lab_store_open(j->w->db_path, &writer, &j->err)) {
        writer = NULL;
        j->rc = j->err.code ? j->err.code : ST_EDB;
        return;
    }
    j->rc = j->write(writer, j->arg, &j->err);
    st_lab_web_changed(j->w); /* committed (or not): cached reads look again */
}

static void write_done(struct st_io_work *wk, int status)
{
    struct write_job *j = wk->data;
    if (status) /* the pool shut down before the job ran */
        j->rc = st_error_set(&j->err, ST_EINTERNAL, "the server is shutting down");
    j->done(j->x, j->rc, &j->err, j->arg);
}

void st_lab_web_write(struct st_lab_web *w, struct st_http_ex *x, st_lab_write_fn write, st_lab_done_fn done, void *arg)
{
    struct write_job *j = st_arena_zalloc(x->arena, sizeof *j); /* lives as long as the exchange */
    j->w = w;
    j->x = x;
    j->write = write;
    j->done = done;
    j->arg = arg;
    st_http_async(x);
    int rc = st_io_pool_submit(w->pool, x->loop, &j->wk, write_work, write_done, j);
    if (rc) {
        j->rc = st_error_set(&j->err, ST_ELIMIT, "too many writes waiting; try again");
        done(x, j->rc, &j->err, arg);
    }
}

/* ---- the command ---- */

static void on_ready(int port, void *arg)
{
    struct st_lab_web *w = arg;
    const char *colon = strrchr(w->listen, ':');
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon ? colon - w->listen : 0), w->listen);
    if (!host[0] || !strcmp(host, "0.0.0.0"))
        snprintf(host, sizeof host, "127.0.0.1");
    snprintf(w->origin, sizeof w->origin, "http://%s:%d", host, port);
    printf("strata lab: open %s/ in your browser (Ctrl-C stops it)\nlistening on %s\n", w->origin, w->origin);
    fflush(stdout);
}

static void on_reload(void *arg)
{
    (void)arg;
    st_log_info("lab: SIGHUP");
}

static int build_app(struct st_lab_web *w)
{
    struct st_http_app *app = &w->app;
    int rc = 0;
    rc = rc ? rc : st_http_app_use(app, st_http_mw_request_id());
    rc = rc ? rc : st_http_app_use(app, st_http_mw_access_log());
    rc = rc ? rc : st_http_app_use(app, st_http_mw_security(NULL));
    rc = rc ? rc : st_http_app_use(app, st_http_mw_gzip(NULL));
    rc = rc ? rc : st_lab_pages_routes(w);
    rc = rc ? rc : st_lab_api_routes(w);
    rc = rc ? rc : st_lab_grade_routes(w);
    rc = rc ? rc : st_http_app_builtins(app, NULL);
    return rc;
}

static void release(struct st_lab_web *w)
{
    if (w->pool)
        st_io_pool_free(w->pool, true); /* queued writes still commit */
    st_lab_jobs_free(w->jobs);
    w->jobs = NULL;
    for (int i = 0; i < ST_LAB_WORKERS_MAX; i++) {
        view_free(w->views[i]);
        st_lab_store_close(w->readers[i]);
        st_lab_search_close(w->searchers[i]);
    }
    st_lab_store_close(writer);
    writer = NULL;
    st_http_app_release(&w->app);
}

int st_cli_serve(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8080", *data = NULL;
    int64_t workers = 1;
    const struct st_flag flags[] = {
        { "listen", 'l', ST_FLAG_STR, &listen, "HOST:PORT", "address to listen on (port 0: any free port)", 0, 0,
          NULL },
        { "data", 'd', ST_FLAG_STR, &data, "DIR", "data directory (default $XDG_DATA_HOME/strata)", 0, 0, NULL },
        { "workers", 'w', ST_FLAG_INT, &workers, "N", "worker threads (0: one per CPU)", 0, ST_LAB_WORKERS_MAX, NULL },
        { NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL },
    };
    const struct st_flags_spec spec = {
        "strata serve [FLAGS]",
        "The lab: browse the 500 questions, track progress, write notes, review, and grade your own "
        "implementations, in the browser (HTML pages) or through the JSON API at /api/v1. Uses the same "
        "database as `strata progress`.",
        flags,
        "Example: strata serve --listen 127.0.0.1:8080, then open http://127.0.0.1:8080/\n",
    };
    int nargs = 0;
    int rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: unexpected argument '%s' (see 'strata serve --help')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    struct st_error err = { 0 };
    char dir[PATH_MAX];
    struct st_progress *p = NULL;
    /* Opening through progress.h creates the directory and migrates the schema once. */
    if (st_progress_data_dir(data, dir, sizeof dir, &err) || st_progress_open(dir, &p, &err))
        return st_cli_fail(&err);
    struct st_lab_web *w = calloc(1, sizeof *w);
    if (!w) {
        st_progress_close(p);
        return ST_EXIT_FAIL;
    }
    snprintf(w->db_path, sizeof w->db_path, "%s", st_progress_path(p));
    st_progress_close(p);
    w->listen = listen;
    st_http_app_init(&w->app);
    struct st_lab_store *s = NULL;
    if (st_lab_store_open(w->db_path, &s, &err) || st_lab_attempts_abandon(s, st_time_wall_ms(), &err)) {
        st_lab_store_close(s);
        rc = st_cli_fail(&err);
        goto out;
    }
    st_lab_store_close(s);
    if ((rc = st_io_pool_new(1, 1024, &w->pool)) != 0) {
        st_error_set(&err, rc, "cannot start the write pool");
        rc = st_cli_fail(&err);
        goto out;
    }
    if (build_app(w)) {
        st_error_set(&err, ST_EINTERNAL, "cannot register the routes");
        rc = st_cli_fail(&err);
        goto out;
    }
    struct st_http_config cfg = { .handler = st_http_app_handler, .data = &w->app };
    struct st_http_serve_opts o = {
        .listen = listen, .workers = (int)workers, .on_ready = on_ready, .on_reload = on_reload, .arg = w
    };
    rc = st_http_serve(&o, &cfg, &err) ? st_cli_fail(&err) : ST_EXIT_OK;
out:
    release(w);
    free(w);
    return rc;
}
