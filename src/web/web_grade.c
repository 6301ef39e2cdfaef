/*
 * web_grade.c - grading from the web: the learner gives the address of their server, a
 * grader (grade/grade.h) runs as a background job, its log streams to the browser with
 * Server-Sent Events, and every attempt is stored with its result and log (lab/store.h).
 *
 *   POST /questions/:id/grade            form (target=...) -> 303 /attempts/:aid
 *   GET  /attempts/:aid                  the attempt page; live while running
 *   GET  /attempts/:aid/events           text/event-stream of the log, then `event: done`
 *   GET  /assets/grade.js                the page's script (CSP: no inline script)
 *   POST /api/v1/questions/:id/attempts  {"target": ...} -> 202 + Location + attempt
 *   GET  /api/v1/attempts[?question=N]   newest first
 *   GET  /api/v1/attempts/:aid           with "log" and "checks"
 *   GET  /api/v1/attempts/:aid/events    the same stream
 *
 * Threads. A grader blocks (every request waits on a private client loop) and runs for
 * seconds, so it never runs on a worker's loop: jobs run on a pool of their own
 * (JOBS_THREADS), separate from the one write thread. The attempt row is created through
 * the write pool before the job is queued (so the answer can name it at once); the job
 * opens its own connection to finish it (WAL and busy_timeout let it write beside the
 * writer). Pool completions go to a small loop thread owned by st_lab_jobs, not to a
 * worker's loop, so shutting the workers down never strands a job.
 *
 * Live logs. Jobs running or recently finished stay in memory (struct job, reference
 * counted, under jobs->mu). Each SSE client is a `struct sub` living on its exchange's
 * loop. The job thread never touches a loop's objects: for a new line it marks the sub
 * `pending` and st_io_post()s one notification to the sub's loop (at most one in flight
 * per sub: lines arriving meanwhile are sent by the same pump). The sub is freed on its
 * loop once it has ended and no notification is in flight. A stream ends after the done
 * event, when the client is gone (a write returns -EPIPE; a heartbeat every 15 s finds
 * silent disconnects) or when the server drains. Finished attempts not in memory are
 * served from the database.
 */
#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/time.h"
#include "base/utf8.h"
#include "curriculum/curriculum.h"
#include "grade/grade.h"
#include "http/url.h"
#include "web/html.h"
#include "web/web.h"

#define JOBS_THREADS 2     /* graders running at once */
#define JOBS_MAX 4         /* running + waiting; one more is refused with 429 */
#define JOBS_KEEP 16       /* finished jobs kept in memory for late subscribers */
#define LOG_CAP (1u << 20) /* bytes of log kept (the store keeps 1 MiB too) */
#define TARGET_MAX 200
#define HEARTBEAT_MS 15000
#define TICK_MS 500    /* how often a stream checks for a drain and a due heartbeat */
#define PUMP_LINES 256 /* lines formatted per write */
#define LIST_MAX 200

/* ---- jobs ---- */

struct sub;

struct job {
    struct st_io_work wk;
    struct st_lab_jobs *jobs;
    int64_t id;
    int question;
    char grader[32];
    char target[256];
    uint64_t seed;
    int64_t started_ms;
    /* ---- under jobs->mu (the job thread appends, loops read) ---- */
    struct st_buf log; /* lines, each ending in '\n' */
    size_t *starts;    /* offset of each line in log */
    size_t nlines, cap;
    bool truncated;
    bool finished;
    enum st_lab_attempt_state state;
    int passed, total;
    int64_t finished_ms;
    struct sub *subs; /* SSE clients */
    int refs;         /* the jobs list, the pool until done, each sub */
    bool listed;
    struct job *next; /* jobs->list, newest first */
};

struct st_lab_jobs {
    struct st_io_pool *pool;
    struct st_io_loop *loop; /* the pool's completions run here, on `thread` */
    pthread_t thread;
    bool thread_started;
    const char *db_path;    /* the st_lab_web's */
    struct st_lab_web *web; /* to announce stored results (st_lab_web_changed) */
    atomic_bool cancel;     /* shutting down: graders stop before their next check */
    pthread_mutex_t mu;
    struct job *list; /* running, waiting and recently finished */
    int active;       /* slots taken: waiting + running (+ being created) */
};

/* A subscriber: one SSE exchange, owned by its loop. */
struct sub {
    struct st_http_ex *x;
    struct st_io_loop *loop;
    struct st_lab_jobs *jobs;
    struct job *job; /* a reference */
    size_t next;     /* the next line to send */
    struct st_buf out;
    struct st_io_timer tick;
    int64_t last_write_ms;
    bool blocked; /* waiting for on_drain */
    bool ended;   /* st_http_stream_end was called: x is gone */
    /* under jobs->mu */
    bool pending; /* a notification is posted to loop */
    bool dead;    /* unsubscribed: freed by whoever sees !pending */
    struct sub *next_sub;
};

static void job_unref_locked(struct job *j)
{
    if (--j->refs > 0)
        return;
    st_buf_release(&j->log);
    free(j->starts);
    free(j);
}

static struct job *job_find_locked(struct st_lab_jobs *jobs, int64_t id)
{
    for (struct job *j = jobs->list; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

/* Append one log line: made valid UTF-8 without control characters (a CR or LF inside
 * would break the SSE framing), within LOG_CAP. */
static void append_line_locked(struct job *j, const char *text, size_t len)
{
    static const char marker[] = "... (the log is cut here: it passed 1 MiB)";
    if (j->truncated)
        return;
    if (j->log.len + 3 * len + 1 > LOG_CAP - sizeof marker) { /* a bad byte becomes 3 */
        j->truncated = true;
        text = marker;
        len = sizeof marker - 1;
    }
    if (j->nlines == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 64;
        j->starts = st_xrealloc(j->starts, j->cap * sizeof *j->starts);
    }
    j->starts[j->nlines++] = j->log.len;
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t k = st_utf8_decode(text + i, len - i, &cp);
        if (k == 0 || (cp < 0x20 && cp != '\t') || cp == 0x7f) {
            (void)st_buf_append(&j->log, "\xEF\xBF\xBD", 3); /* U+FFFD */
            i += k ? k : 1;
        } else {
            (void)st_buf_append(&j->log, text + i, k);
            i += k;
        }
    }
    (void)st_buf_append_byte(&j->log, '\n');
}

static void sub_notified(void *arg);

/* Tell every subscriber there is news: one post per sub at most in flight. */
static void notify_locked(struct job *j)
{
    for (struct sub *s = j->subs; s; s = s->next_sub) {
        if (!s->pending) {
            s->pending = true;
            st_io_post(s->loop, sub_notified, s);
        }
    }
}

/* The grader's line callback, on the job thread. */
static void job_line(void *arg, const char *text, size_t len)
{
    struct job *j = arg;
    pthread_mutex_lock(&j->jobs->mu);
    append_line_locked(j, text, len);
    notify_locked(j);
    pthread_mutex_unlock(&j->jobs->mu);
}

__attribute__((format(printf, 2, 3))) static void job_linef(struct job *j, const char *fmt, ...)
{
    char b[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    job_line(j, b, n < 0 ? 0 : (size_t)n < sizeof b ? (size_t)n : sizeof b - 1);
}

/* Store the result (its own connection: this thread is not the writer's), then publish
 * it in memory: the database is final before any reader can see `finished`. */
static void job_finish(struct job *j, enum st_lab_attempt_state state, int passed, int total)
{
    struct st_lab_jobs *jobs = j->jobs;
    int64_t now = st_time_wall_ms();
    struct st_error err = { 0 };
    struct st_lab_store *s = NULL;
    /* Only this thread appends to the log: reading it without the lock is safe. */
    int rc = st_lab_store_open(jobs->db_path, &s, &err);
    if (!rc)
        rc = st_lab_attempt_finish(s, j->id, state, passed, total, j->log.data ? j->log.data : "", j->log.len, now,
                                   &err);
    st_lab_store_close(s);
    st_lab_web_changed(jobs->web); /* pages cached by the workers show the result */
    if (rc)
        st_log_error("grade: cannot store the attempt", ST_LOG_INT("attempt", j->id), ST_LOG_STR("error", err.msg));
    pthread_mutex_lock(&jobs->mu);
    j->state = state;
    j->passed = passed;
    j->total = total;
    j->finished_ms = now;
    j->finished = true;
    notify_locked(j);
    pthread_mutex_unlock(&jobs->mu);
}

/* Forget finished jobs beyond JOBS_KEEP (the database has them). */
static void evict_locked(struct st_lab_jobs *jobs)
{
    size_t kept = 0;
    for (struct job **p = &jobs->list; *p;) {
        struct job *j = *p;
        if (j->finished && ++kept > JOBS_KEEP) {
            *p = j->next;
            j->listed = false;
            job_unref_locked(j);
        } else {
            p = &j->next;
        }
    }
}

static void job_work(struct st_io_work *wk)
{
    struct job *j = wk->data;
    struct st_lab_jobs *jobs = j->jobs;
    struct st_grade_run_opts o = {
        .grader = j->grader,
        .target = j->target,
        .seed = j->seed,
        .cancel = &jobs->cancel,
    };
    struct st_grade_result res;
    struct st_error err = { 0 };
    enum st_lab_attempt_state state;
    int rc = atomic_load(&jobs->cancel) ? ST_EINTERNAL : st_grade_run(&o, job_line, j, &res, &err);
    if (rc == ST_EINTERNAL && !err.msg[0]) {
        job_linef(j, "error: the server is shutting down; the grader did not run");
        res = (struct st_grade_result){ 0 };
        state = ST_ATTEMPT_ERROR;
    } else if (rc) {
        job_linef(j, "error: %s", err.msg);
        state = ST_ATTEMPT_ERROR;
    } else if (res.cancelled) {
        job_linef(j, "error: the server is shutting down; the run was stopped");
        state = ST_ATTEMPT_ERROR;
    } else {
        state = res.total > 0 && res.passed == res.total ? ST_ATTEMPT_PASSED : ST_ATTEMPT_FAILED;
    }
    job_finish(j, state, rc ? 0 : res.passed, rc ? 0 : res.total);
    pthread_mutex_lock(&jobs->mu);
    jobs->active--;
    evict_locked(jobs);
    pthread_mutex_unlock(&jobs->mu);
}

/* On the jobs loop: the pool is done with j. A job the pool cancelled at shutdown never
 * ran: record it as an error so it does not stay "running". */
static void job_done(struct st_io_work *wk, int status)
{
    struct job *j = wk->data;
    struct st_lab_jobs *jobs = j->jobs;
    if (status) {
        job_linef(j, "error: the server stopped before the grader ran");
        job_finish(j, ST_ATTEMPT_ERROR, 0, 0);
        pthread_mutex_lock(&jobs->mu);
        jobs->active--;
        pthread_mutex_unlock(&jobs->mu);
    }
    pthread_mutex_lock(&jobs->mu);
    job_unref_locked(j);
    pthread_mutex_unlock(&jobs->mu);
}

static void *jobs_thread(void *arg)
{
    struct st_lab_jobs *jobs = arg;
    int rc = st_io_loop_run(jobs->loop);
    if (rc)
        st_log_error("grade: the jobs loop failed", ST_LOG_INT("rc", rc));
    return NULL;
}

static int jobs_new(struct st_lab_web *w, struct st_lab_jobs **out)
{
    struct st_lab_jobs *jobs = st_xcalloc(1, sizeof *jobs);
    jobs->db_path = w->db_path;
    jobs->web = w;
    atomic_init(&jobs->cancel, false);
    pthread_mutex_init(&jobs->mu, NULL);
    int rc = st_io_loop_new(&jobs->loop);
    if (!rc)
        rc = st_io_pool_new(JOBS_THREADS, JOBS_MAX, &jobs->pool);
    if (!rc) {
        /* like the pool's threads, this one never takes a signal */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        rc = -pthread_create(&jobs->thread, NULL, jobs_thread, jobs);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        jobs->thread_started = rc == 0;
    }
    if (rc) {
        st_lab_jobs_free(jobs);
        return rc;
    }
    *out = jobs;
    return 0;
}

void st_lab_jobs_free(struct st_lab_jobs *jobs)
{
    if (!jobs)
        return;
    atomic_store(&jobs->cancel, true);
    /* Running graders stop at their next check; waiting ones complete as cancelled. */
    if (jobs->pool)
        st_io_pool_free(jobs->pool, false);
    if (jobs->thread_started) {
        st_io_loop_stop(jobs->loop);
        pthread_join(jobs->thread, NULL);
    }
    st_io_loop_free(jobs->loop); /* runs the completions still queued */
    /* Every worker loop is gone, so no subscriber is left: only the list's references. */
    pthread_mutex_lock(&jobs->mu);
    while (jobs->list) {
        struct job *j = jobs->list;
        jobs->list = j->next;
        job_unref_locked(j);
    }
    pthread_mutex_unlock(&jobs->mu);
    pthread_mutex_destroy(&jobs->mu);
    free(jobs);
}

/* ---- attempts: from memory when live, else from the database ---- */

static void job_attempt_locked(const struct job *j, struct st_lab_attempt *a)
{
    *a = (struct st_lab_attempt){ .id = j->id,
                                  .question = j->question,
                                  .seed = j->seed,
                                  .started_ms = j->started_ms,
                                  .finished_ms = j->finished ? j->finished_ms : 0,
                                  .state = j->finished ? j->state : ST_ATTEMPT_RUNNING,
                                  .passed = j->finished ? j->passed : 0,
                                  .total = j->finished ? j->total : 0 };
    snprintf(a->grader, sizeof a->grader, "%s", j->grader);
    snprintf(a->target, sizeof a->target, "%s", j->target);
}

/* The attempt and (log not NULL) its log. 0, ST_ENOTFOUND, or another status (err). */
static int attempt_load(struct st_lab_web *w, struct st_http_ex *x, int64_t id, struct st_lab_attempt *a,
                        struct st_buf *log, struct st_error *err)
{
    struct st_lab_jobs *jobs = w->jobs;
    pthread_mutex_lock(&jobs->mu);
    struct job *j = job_find_locked(jobs, id);
    if (j) {
        job_attempt_locked(j, a);
        if (log)
            (void)st_buf_append(log, j->log.data ? j->log.data : "", j->log.len);
    }
    pthread_mutex_unlock(&jobs->mu);
    if (j)
        return 0;
    struct st_lab_store *s = st_lab_web_store(w, x);
    if (!s) {
        st_error_set(err, ST_EDB, "the lab's database cannot be opened");
        return ST_EDB;
    }
    return st_lab_attempt_get(s, ST_LAB_USER, id, a, log, err);
}

static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char t[ST_TIME_RFC3339_LEN + 1];
    st_time_format_rfc3339(ms, t);
    return json_string(t);
}

static json_t *attempt_json(const struct st_lab_attempt *a)
{
    char self[64], events[80], html[48], question[48];
    snprintf(self, sizeof self, "/api/v1/attempts/%lld", (long long)a->id);
    snprintf(events, sizeof events, "/api/v1/attempts/%lld/events", (long long)a->id);
    snprintf(html, sizeof html, "/attempts/%lld", (long long)a->id);
    snprintf(question, sizeof question, "/api/v1/questions/%d", a->question);
    return json_pack("{s:I,s:i,s:s,s:s,s:I,s:s,s:i,s:i,s:o,s:o,s:{s:s,s:s,s:s,s:s}}", "id", (json_int_t)a->id,
                     "question", a->question, "grader", a->grader, "target", a->target, "seed", (json_int_t)a->seed,
                     "state", st_lab_attempt_state_name(a->state), "passed", a->passed, "total", a->total, "started_at",
                     time_json(a->started_ms), "finished_at", time_json(a->finished_ms), "links", "self", self,
                     "events", events, "html", html, "question", question);
}

/* ---- request parts ---- */

static void problem(struct st_http_ex *x, int status, const char *code, const char *detail, json_t *extra)
{
    json_t *e = json_is_object(extra) ? extra : json_object();
    if (extra && e != extra)
        json_decref(extra);
    if (e)
        (void)json_object_set_new(e, "code", json_string(code));
    st_http_problem_json(x, status, detail, e);
}

/* A positive plain decimal id from the route (no sign, no leading zero); 0 if not one. */
static int64_t id_param(struct st_http_ex *x, const char *name)
{
    struct st_str raw = st_http_param(x, name);
    int64_t id = 0;
    if (raw.len == 0 || raw.len > 18 || raw.ptr[0] == '0' || raw.ptr[0] == '-' || st_str_to_i64(raw, &id) || id < 1)
        return 0;
    return id;
}

/*
 * Check and normalise what the learner typed: printable ASCII without spaces, at most
 * TARGET_MAX bytes, http:// or no scheme (which means http://), something after it.
 * Whether it parses as HOST:PORT and resolves is the grader's to say, in the attempt's
 * log. NULL and *out (arena), or the reason for a 422.
 */
static const char *target_check(struct st_http_ex *x, struct st_str in, const char **out)
{
    while (in.len && (in.ptr[0] == ' ' || in.ptr[0] == '\t'))
        in = st_str(in.ptr + 1, in.len - 1);
    while (in.len && (in.ptr[in.len - 1] == ' ' || in.ptr[in.len - 1] == '\t'))
        in.len--;
    if (in.len == 0)
        return "enter the address of your server, e.g. http://127.0.0.1:8081";
    if (in.len > TARGET_MAX)
        return "the address is too long (at most 200 characters)";
    for (size_t i = 0; i < in.len; i++)
        if ((unsigned char)in.ptr[i] <= 0x20 || (unsigned char)in.ptr[i] >= 0x7f)
            return "the address must be printable ASCII without spaces, e.g. http://127.0.0.1:8081";
    const char *sep = memmem(in.ptr, in.len, "://", 3);
    struct st_str rest = in;
    if (sep) {
        size_t sl = (size_t)(sep - in.ptr);
        if (sl != 4 || strncasecmp(in.ptr, "http", 4) != 0)
            return "only http:// addresses can be graded: the graders speak plain HTTP/1.1";
        rest = st_str(sep + 3, in.len - sl - 3);
    }
    if (rest.len == 0 || rest.ptr[0] == '/')
        return "expected http://HOST:PORT, e.g. http://127.0.0.1:8081";
    *out = st_arena_printf(x->arena, "http://%.*s", ST_STR_FMT(rest));
    return NULL;
}

/* The question of :id if it can be graded from here: NULL after the caller's error
 * function answered. */
struct refusal {
    int status;
    const char *code;
    const char *detail;
};

static const struct st_cur_question *gradable(struct st_http_ex *x, struct refusal *why)
{
    struct st_str raw = st_http_param(x, "id");
    int64_t id = 0;
    bool plain = raw.len > 0 && raw.len <= 3 && raw.ptr[0] != '0';
    const struct st_cur_question *q = NULL;
    if (plain && !st_str_to_i64(raw, &id) && id >= 1 && id <= ST_CUR_QUESTIONS)
        q = st_cur_question((int)id);
    if (!q) {
        *why = (struct refusal){ 404, "question_not_found",
                                 st_arena_printf(x->arena, "there is no question '%.*s' (ids are 1..%d)",
                                                 ST_STR_FMT(raw), ST_CUR_QUESTIONS) };
        return NULL;
    }
    struct st_grade_info info;
    if (q->kind != ST_CUR_PRACTICAL || !q->grader || st_grade_find(q->grader, &info)) {
        *why =
            (struct refusal){ 422, "no_grader", st_arena_printf(x->arena, "Q%d has no grader: nothing to run", q->id) };
        return NULL;
    }
    if (info.needs_cmd) {
        *why = (struct refusal){
            422, "grader_needs_cmd",
            st_arena_printf(x->arena,
                            "this grader starts your program: run strata grade Q%d --cmd \"YOUR PROGRAM --port "
                            "{port}%s\" in a terminal",
                            q->id, info.needs_dir ? " --directory {dir}" : "")
        };
        return NULL;
    }
    return q;
}

/* Same-origin check for the form: Origin, or else Referer, must name this Host. */
static bool same_origin(struct st_http_ex *x)
{
    struct st_str host = st_http_req_header(x, ST_HTTP_H_HOST);
    struct st_str origin = st_http_req_header_named(x, "Origin");
    struct st_str referer = st_http_req_header_named(x, "Referer");
    if (!host.len)
        return false;
    const char *want = st_arena_printf(x->arena, "http://%.*s", ST_STR_FMT(host));
    size_t wl = strlen(want);
    if (origin.ptr)
        return origin.len == wl && strncasecmp(origin.ptr, want, wl) == 0;
    if (referer.ptr)
        return referer.len >= wl && strncasecmp(referer.ptr, want, wl) == 0 &&
               (referer.len == wl || referer.ptr[wl] == '/');
    return false;
}

/* ---- starting an attempt (form and API) ---- */

struct start {
    struct st_lab_web *w;
    bool api;
    int question;
    char grader[32];
    char target[256];
    uint64_t seed;
    int64_t now_ms;
    int64_t id;
};

static void form_page(struct st_http_ex *x, int status, int question, const char *title, const char *msg,
                      const char *target)
{
    struct st_buf *b = st_http_body_buf(x);
    st_html_page_begin(b, title, "questions");
    st_html_fmt(b, "<h1>%s</h1>\n<p class=\"error\" role=\"alert\">%s</p>\n", title, msg);
    if (target)
        st_html_fmt(b, "<p>Address: <code>%s</code></p>\n", target);
    if (question > 0)
        st_html_fmt(b, "<p><a href=\"/questions/%d\">Back to Q%d</a></p>\n", question, question);
    st_html_page_end(b);
    x->status = status;
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("text/html; charset=utf-8"));
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
    st_http_send(x);
}

static void refuse(struct st_http_ex *x, const struct start *st, int status, const char *code, const char *detail,
                   const char *target)
{
    if (status == 429 || status == 503)
        st_http_header(x, ST_STR_LIT("Retry-After"), ST_STR_LIT("5"));
    if (st->api)
        problem(x, status, code, detail, NULL);
    else
        form_page(x, status, st->question, "Cannot grade", detail, target);
}

static int start_write(struct st_lab_store *s, void *arg, struct st_error *err)
{
    struct start *st = arg;
    return st_lab_attempt_start(s, ST_LAB_USER, st->question, st->grader, st->target, st->seed, st->now_ms, &st->id,
                                err);
}

static void release_slot(struct st_lab_jobs *jobs)
{
    pthread_mutex_lock(&jobs->mu);
    jobs->active--;
    pthread_mutex_unlock(&jobs->mu);
}

static void start_done(struct st_http_ex *x, int rc, const struct st_error *err, void *arg)
{
    struct start *st = arg;
    struct st_lab_jobs *jobs = st->w->jobs;
    if (rc) {
        release_slot(jobs);
        st_log_error("grade: cannot start an attempt", ST_LOG_STR("error", err ? err->msg : ""));
        refuse(x, st, rc == ST_ELIMIT ? 503 : 500, "attempt_not_started",
               "the attempt could not be recorded; see the server log", NULL);
        return;
    }
    struct job *j = st_xcalloc(1, sizeof *j);
    j->jobs = jobs;
    j->id = st->id;
    j->question = st->question;
    snprintf(j->grader, sizeof j->grader, "%s", st->grader);
    snprintf(j->target, sizeof j->target, "%s", st->target);
    j->seed = st->seed;
    j->started_ms = st->now_ms;
    st_buf_init(&j->log, LOG_CAP + 64);
    j->refs = 2; /* the list and the pool */
    j->listed = true;
    pthread_mutex_lock(&jobs->mu);
    j->next = jobs->list;
    jobs->list = j;
    pthread_mutex_unlock(&jobs->mu);
    rc = st_io_pool_submit(jobs->pool, jobs->loop, &j->wk, job_work, job_done, j);
    if (rc) { /* only at shutdown: slots keep the queue below its bound */
        pthread_mutex_lock(&jobs->mu);
        for (struct job **p = &jobs->list; *p; p = &(*p)->next)
            if (*p == j) {
                *p = j->next;
                break;
            }
        jobs->active--;
        j->refs = 1;
        job_unref_locked(j);
        pthread_mutex_unlock(&jobs->mu);
        refuse(x, st, 503, "shutting_down", "the server is shutting down", NULL);
        return;
    }
    if (st->api) {
        struct st_lab_attempt a;
        pthread_mutex_lock(&jobs->mu);
        job_attempt_locked(j, &a);
        pthread_mutex_unlock(&jobs->mu);
        st_http_header_fmt(x, "Location", "/api/v1/attempts/%lld", (long long)st->id);
        st_http_reply_json(x, 202, attempt_json(&a));
    } else {
        x->status = 303;
        st_http_header_fmt(x, "Location", "/attempts/%lld", (long long)st->id);
        st_http_send(x);
    }
}

/* Validate, take a slot, record the attempt through the write pool, then queue the job. */
static void start_attempt(struct st_http_ex *x, struct st_lab_web *w, struct start *st, struct st_str raw_target)
{
    struct refusal why;
    const struct st_cur_question *q = gradable(x, &why);
    if (!q) {
        refuse(x, st, why.status, why.code, why.detail, NULL);
        return;
    }
    st->question = q->id;
    const char *target = NULL;
    const char *bad = target_check(x, raw_target, &target);
    if (bad) {
        char *shown = st_arena_strndup(x->arena, raw_target.ptr ? raw_target.ptr : "", raw_target.len);
        if (st->api)
            problem(x, 422, "invalid_target", bad,
                    json_pack("{s:[{s:s,s:s}]}", "errors", "field", "target", "message", bad));
        else
            form_page(x, 422, q->id, "Cannot grade", bad, shown);
        return;
    }
    struct st_lab_jobs *jobs = w->jobs;
    pthread_mutex_lock(&jobs->mu);
    bool full = jobs->active >= JOBS_MAX;
    if (!full)
        jobs->active++;
    pthread_mutex_unlock(&jobs->mu);
    if (full) {
        refuse(x, st, 429, "too_many_attempts",
               st_arena_printf(x->arena, "%d attempts are running or waiting already; try again when one finished",
                               JOBS_MAX),
               NULL);
        return;
    }
    st->w = w;
    snprintf(st->grader, sizeof st->grader, "%s", q->grader);
    snprintf(st->target, sizeof st->target, "%s", target);
    st->seed = st_grade_random_seed();
    st->now_ms = st_time_wall_ms();
    st_lab_web_write(w, x, start_write, start_done, st);
}

static void grade_form(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct start *st = st_arena_zalloc(x->arena, sizeof *st);
    if (!same_origin(x)) {
        form_page(x, 403, 0, "Cannot grade",
                  "this form must be sent from the lab's own pages (the Origin or Referer header did not match)", NULL);
        return;
    }
    struct st_str ct = st_http_req_header(x, ST_HTTP_H_CONTENT_TYPE);
    if (!ct.ptr || ct.len < 33 || strncasecmp(ct.ptr, "application/x-www-form-urlencoded", 33) != 0) {
        form_page(x, 415, 0, "Cannot grade", "expected a form (application/x-www-form-urlencoded)", NULL);
        return;
    }
    struct st_str target = { "", 0 };
    int rc = st_http_query_get(x->body, "target", x->arena, &target);
    if (rc == ST_EPARSE) {
        form_page(x, 400, 0, "Cannot grade", "the form is not valid percent-encoding", NULL);
        return;
    }
    start_attempt(x, data, st, target);
}

static void api_attempt_post(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct start *st = st_arena_zalloc(x->arena, sizeof *st);
    st->api = true;
    struct st_str origin = st_http_req_header_named(x, "Origin");
    if (origin.ptr && !same_origin(x)) {
        problem(x, 403, "cross_origin", "requests from other origins are refused", NULL);
        return;
    }
    json_error_t e;
    json_t *body = NULL;
    int status = st_http_json_parse(st_http_req_header(x, ST_HTTP_H_CONTENT_TYPE), x->body, &body, &e);
    if (status == 415) {
        problem(x, 415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)", NULL);
        return;
    }
    if (status) {
        problem(x, 400, "invalid_json",
                st_arena_printf(x->arena, "invalid JSON at line %d, column %d: %s", e.line, e.column, e.text),
                json_pack("{s:i,s:i,s:i}", "line", e.line, "column", e.column, "position", e.position));
        return;
    }
    json_t *t = json_is_object(body) ? json_object_get(body, "target") : NULL;
    if (!json_is_string(t)) {
        json_decref(body);
        problem(x, 422, "invalid_target", "\"target\" must be a string such as \"http://127.0.0.1:8081\"",
                json_pack("{s:[{s:s,s:s}]}", "errors", "field", "target", "message", "required string"));
        return;
    }
    struct st_str target = { st_arena_strndup(x->arena, json_string_value(t), json_string_length(t)),
                             json_string_length(t) };
    json_decref(body);
    start_attempt(x, data, st, target);
}

/* ---- Server-Sent Events ---- */

static void sub_free(struct sub *s)
{
    pthread_mutex_lock(&s->jobs->mu);
    if (s->job)
        job_unref_locked(s->job);
    pthread_mutex_unlock(&s->jobs->mu);
    st_buf_release(&s->out);
    free(s);
}

/* End the stream (if not yet) and unsubscribe; frees s unless a notification is in
 * flight (sub_notified frees it then). */
static void sub_end(struct sub *s)
{
    st_io_timer_stop(s->loop, &s->tick);
    if (!s->ended) {
        s->ended = true;
        st_http_stream_end(s->x);
        s->x = NULL;
    }
    pthread_mutex_lock(&s->jobs->mu);
    for (struct sub **p = &s->job->subs; *p; p = &(*p)->next_sub)
        if (*p == s) {
            *p = s->next_sub;
            break;
        }
    s->dead = true;
    bool pending = s->pending;
    pthread_mutex_unlock(&s->jobs->mu);
    if (!pending)
        sub_free(s);
}

/* The SSE text of line i of a log: "id: i+1" resumes after it (Last-Event-ID). */
static void sse_line(struct st_buf *out, size_t i, const char *text, size_t len)
{
    st_buf_printf(out, "id: %zu\ndata: ", i + 1);
    (void)st_buf_append(out, text, len);
    (void)st_buf_append(out, "\n\n", 2);
}

static void sse_done(struct st_buf *out, const struct st_lab_attempt *a)
{
    json_t *v = attempt_json(a);
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    st_buf_printf(out, "event: done\ndata: %s\n\n", s ? s : "{}");
    free(s);
}

/* Write what is new; end after the done event. Loop thread. */
static void sub_pump(struct sub *s)
{
    while (!s->ended && !s->blocked) {
        st_buf_clear(&s->out);
        struct job *j = s->job;
        pthread_mutex_lock(&s->jobs->mu);
        size_t upto = j->nlines < s->next + PUMP_LINES ? j->nlines : s->next + PUMP_LINES;
        for (; s->next < upto; s->next++) {
            size_t a = j->starts[s->next];
            size_t b = s->next + 1 < j->nlines ? j->starts[s->next + 1] : j->log.len;
            sse_line(&s->out, s->next, j->log.data + a, b - a - 1);
        }
        bool done = j->finished && s->next >= j->nlines;
        struct st_lab_attempt att;
        if (done)
            job_attempt_locked(j, &att);
        pthread_mutex_unlock(&s->jobs->mu);
        if (done)
            sse_done(&s->out, &att);
        if (s->out.len == 0)
            return; /* caught up: the next line brings a notification */
        int rc = st_http_stream_write(s->x, s->out.data, s->out.len);
        s->last_write_ms = st_io_now_ms(s->loop);
        if (done || (rc && rc != ST_EAGAIN)) { /* finished, or the client is gone */
            sub_end(s);
            return;
        }
        if (rc == ST_EAGAIN)
            s->blocked = true; /* taken; on_drain continues */
    }
}

static void sub_notified(void *arg)
{
    struct sub *s = arg;
    pthread_mutex_lock(&s->jobs->mu);
    s->pending = false;
    bool dead = s->dead;
    pthread_mutex_unlock(&s->jobs->mu);
    if (dead)
        sub_free(s);
    else
        sub_pump(s);
}

static void sub_drained(struct st_http_ex *x, void *arg)
{
    (void)x;
    struct sub *s = arg;
    s->blocked = false;
    sub_pump(s);
}

static void sub_tick(struct st_io_loop *loop, struct st_io_timer *t)
{
    struct sub *s = t->data;
    if (st_http_draining(s->x)) { /* shutting down: let the drain finish now */
        sub_end(s);
        return;
    }
    if (st_io_now_ms(loop) - s->last_write_ms >= HEARTBEAT_MS) {
        /* a comment: keeps proxies from timing out, and finds clients that left */
        static const char ping[] = ": keep-alive\n\n";
        int rc = st_http_stream_write(s->x, ping, sizeof ping - 1);
        s->last_write_ms = st_io_now_ms(loop);
        if (rc && rc != ST_EAGAIN) {
            sub_end(s);
            return;
        }
    }
    st_io_timer_start(loop, &s->tick, TICK_MS);
}

static void sse_headers(struct st_http_ex *x)
{
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("text/event-stream; charset=utf-8"));
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
    st_http_header(x, ST_STR_LIT("X-Accel-Buffering"), ST_STR_LIT("no"));
}

/* Where to resume: Last-Event-ID (a reconnecting EventSource), else ?from=N (the page
 * already shows N lines), else 0. */
static size_t resume_at(struct st_http_ex *x)
{
    int64_t n = 0;
    struct st_str last = st_http_req_header_named(x, "Last-Event-ID");
    if (last.ptr && !st_str_to_i64(last, &n) && n > 0)
        return (size_t)n;
    struct st_str from;
    if (!st_http_query_get(x->req->query, "from", x->arena, &from) && !st_str_to_i64(from, &n) && n > 0)
        return (size_t)n;
    return 0;
}

/* A finished attempt from the database: the whole stream as one body. */
static void events_stored(struct st_http_ex *x, const struct st_lab_attempt *a, const struct st_buf *log, size_t from)
{
    struct st_buf *b = st_http_body_buf(x);
    const char *p = log->data ? log->data : "";
    size_t i = 0;
    for (size_t at = 0; at < log->len; i++) {
        const char *nl = memchr(p + at, '\n', log->len - at);
        size_t len = nl ? (size_t)(nl - (p + at)) : log->len - at;
        if (i >= from)
            sse_line(b, i, p + at, len);
        at += len + 1;
    }
    sse_done(b, a);
    sse_headers(x);
    st_http_send(x);
}

static void events(struct st_http_ex *x, struct st_lab_web *w)
{
    int64_t id = id_param(x, "aid");
    if (!id) {
        problem(x, 404, "attempt_not_found", "no such attempt", NULL);
        return;
    }
    size_t from = resume_at(x);
    struct st_lab_jobs *jobs = w->jobs;
    pthread_mutex_lock(&jobs->mu);
    struct job *j = job_find_locked(jobs, id);
    if (j)
        j->refs++;
    pthread_mutex_unlock(&jobs->mu);
    if (!j) {
        struct st_lab_attempt a;
        struct st_buf log;
        struct st_error err = { 0 };
        st_buf_init(&log, ST_BUF_UNLIMITED);
        int rc = attempt_load(w, x, id, &a, &log, &err);
        if (rc == ST_ENOTFOUND)
            problem(x, 404, "attempt_not_found", st_arena_printf(x->arena, "no attempt %lld", (long long)id), NULL);
        else if (rc)
            problem(x, 500, "internal", "the lab's database could not be read; see the server log", NULL);
        else
            events_stored(x, &a, &log, from);
        st_buf_release(&log);
        return;
    }
    struct sub *s = st_xcalloc(1, sizeof *s);
    s->x = x;
    s->loop = x->loop;
    s->jobs = jobs;
    s->job = j;
    st_buf_init(&s->out, ST_BUF_UNLIMITED);
    sse_headers(x);
    st_http_stream_begin(x, sub_drained, s);
    if (x->req->method_id == ST_HTTP_M_HEAD) { /* the head only: nothing to wait for */
        s->ended = true;
        st_http_stream_end(x);
        s->x = NULL;
        sub_free(s);
        return;
    }
    pthread_mutex_lock(&jobs->mu);
    s->next = from < j->nlines ? from : j->nlines;
    s->next_sub = j->subs;
    j->subs = s;
    pthread_mutex_unlock(&jobs->mu);
    s->last_write_ms = st_io_now_ms(x->loop);
    st_io_timer_init(&s->tick, sub_tick, s);
    st_io_timer_start(x->loop, &s->tick, TICK_MS);
    /* "retry" makes a reconnecting browser wait 2 s; the comment opens the stream at once */
    static const char hello[] = "retry: 2000\n: attempt stream\n\n";
    int rc = st_http_stream_write(x, hello, sizeof hello - 1);
    if (rc && rc != ST_EAGAIN) {
        sub_end(s);
        return;
    }
    if (rc == ST_EAGAIN)
        s->blocked = true;
    sub_pump(s);
}

static void page_events(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    events(x, data);
}

static void api_events(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    events(x, data);
}

/* ---- the attempt page ---- */

static void attempt_page(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_web *w = data;
    int64_t id = id_param(x, "aid");
    struct st_lab_attempt a;
    struct st_buf log;
    struct st_error err = { 0 };
    st_buf_init(&log, ST_BUF_UNLIMITED);
    int rc = id ? attempt_load(w, x, id, &a, &log, &err) : ST_ENOTFOUND;
    if (rc) {
        st_buf_release(&log);
        if (rc != ST_ENOTFOUND)
            st_log_error("grade: cannot read an attempt", ST_LOG_STR("error", err.msg));
        form_page(x, rc == ST_ENOTFOUND ? 404 : 500, 0, "No such attempt",
                  rc == ST_ENOTFOUND ? "There is no such attempt." : "The lab's database could not be read.", NULL);
        return;
    }
    const struct st_cur_question *q = st_cur_question(a.question);
    bool running = a.state == ST_ATTEMPT_RUNNING;
    size_t nlines = 0;
    for (size_t i = 0; i < log.len; i++)
        nlines += log.data[i] == '\n';
    struct st_buf *b = st_http_body_buf(x);
    char title[64];
    snprintf(title, sizeof title, "Attempt %lld: Q%d", (long long)a.id, a.question);
    st_html_page_begin(b, title, "questions");
    if (running) /* without JavaScript the page reloads itself until the attempt ends */
        st_html_fmt(b, "<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>\n");
    st_html_fmt(b, "<h1>%s</h1>\n<p><a href=\"/questions/%d\">Q%d: %s</a></p>\n", title, a.question, a.question,
                q ? q->text : "");
    char started[ST_TIME_RFC3339_LEN + 1] = "", finished[ST_TIME_RFC3339_LEN + 1] = "";
    st_time_format_rfc3339(a.started_ms, started);
    if (a.finished_ms > 0)
        st_time_format_rfc3339(a.finished_ms, finished);
    st_html_fmt(b,
                "<dl class=\"attempt\">\n<dt>Target</dt><dd><code>%s</code></dd>\n"
                "<dt>State</dt><dd><span id=\"attempt-state\" class=\"state state-%s\">%s</span></dd>\n"
                "<dt>Checks passed</dt><dd id=\"attempt-checks\">%d/%d</dd>\n"
                "<dt>Grader</dt><dd>%s, seed %lld</dd>\n<dt>Started</dt><dd><time>%s</time></dd>\n",
                a.target, st_lab_attempt_state_name(a.state), st_lab_attempt_state_name(a.state), a.passed, a.total,
                a.grader, (long long)a.seed, started);
    if (finished[0])
        st_html_fmt(b, "<dt>Finished</dt><dd><time>%s</time></dd>\n", finished);
    st_html_fmt(b, "</dl>\n<h2>Log</h2>\n");
    if (running)
        st_html_fmt(b,
                    "<pre id=\"attempt-log\" class=\"log\" data-events=\"/attempts/%lld/events\" data-lines=\"%zu\">",
                    (long long)a.id, nlines);
    else
        st_html_fmt(b, "<pre id=\"attempt-log\" class=\"log\">");
    st_html_text(b, st_str(log.data ? log.data : "", log.len));
    st_html_fmt(b,
                "</pre>\n<p><a href=\"/questions/%d\">Grade again</a> &middot; "
                "<a href=\"/api/v1/attempts/%lld\">as JSON</a></p>\n",
                a.question, (long long)a.id);
    if (running)
        st_html_fmt(b, "<script src=\"/assets/grade.js\" defer></script>\n");
    st_html_page_end(b);
    st_buf_release(&log);
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("text/html; charset=utf-8"));
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
    st_http_send(x);
}

/* The live log: appends lines as they come, updates state and checks at the end, and
 * stops the EventSource (which would otherwise reconnect). Text only (textContent). */
static const char grade_js[] =
    "'use strict';\n"
    "(function () {\n"
    "  var pre = document.getElementById('attempt-log');\n"
    "  if (!pre || !pre.dataset.events || !window.EventSource) return;\n"
    "  var state = document.getElementById('attempt-state');\n"
    "  var checks = document.getElementById('attempt-checks');\n"
    "  var es = new EventSource(pre.dataset.events + '?from=' + (pre.dataset.lines || '0'));\n"
    "  es.onmessage = function (e) {\n"
    "    pre.appendChild(document.createTextNode(e.data + '\\n'));\n"
    "  };\n"
    "  es.addEventListener('done', function (e) {\n"
    "    es.close();\n"
    "    var a = {};\n"
    "    try { a = JSON.parse(e.data); } catch (err) { return; }\n"
    "    if (state) { state.textContent = a.state; state.className = 'state state-' + a.state; }\n"
    "    if (checks) checks.textContent = a.passed + '/' + a.total;\n"
    "    pre.removeAttribute('data-events');\n"
    "  });\n"
    "})();\n";

static void asset_js(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-cache"));
    st_http_reply(x, 200, "text/javascript; charset=utf-8", st_str(grade_js, sizeof grade_js - 1));
}

/* ---- the API's reads ---- */

static void api_attempt_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int64_t id = id_param(x, "aid");
    struct st_lab_attempt a;
    struct st_buf log;
    struct st_error err = { 0 };
    st_buf_init(&log, ST_BUF_UNLIMITED);
    int rc = id ? attempt_load(data, x, id, &a, &log, &err) : ST_ENOTFOUND;
    if (rc == ST_ENOTFOUND) {
        problem(x, 404, "attempt_not_found", "no such attempt", NULL);
    } else if (rc) {
        st_log_error("grade: cannot read an attempt", ST_LOG_STR("error", err.msg));
        problem(x, 500, "internal", "the lab's database could not be read; see the server log", NULL);
    } else {
        json_t *v = attempt_json(&a);
        if (v) {
            json_object_set_new(v, "log", json_stringn(log.data ? log.data : "", log.len));
            json_object_set_new(
                v, "checks",
                json_pack("{s:i,s:i,s:i}", "passed", a.passed, "failed", a.total - a.passed, "total", a.total));
        }
        st_http_reply_json(x, 200, v);
    }
    st_buf_release(&log);
}

static void api_attempts(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_web *w = data;
    int question = 0, limit = 50;
    const char *keys[2] = { "question", "limit" };
    int *vals[2] = { &question, &limit };
    const int lo[2] = { 1, 1 }, hi[2] = { ST_CUR_QUESTIONS, LIST_MAX };
    for (int k = 0; k < 2; k++) {
        struct st_str v;
        int rc = st_http_query_get(x->req->query, keys[k], x->arena, &v);
        if (rc == ST_ENOTFOUND)
            continue;
        int64_t n = 0;
        if (rc || st_str_to_i64(v, &n) || n < lo[k] || n > hi[k]) {
            const char *msg = st_arena_printf(x->arena, "must be an integer in %d..%d", lo[k], hi[k]);
            problem(x, 422, "invalid_parameter", msg,
                    json_pack("{s:[{s:s,s:s}]}", "errors", "field", keys[k], "message", msg));
            return;
        }
        *vals[k] = (int)n;
    }
    struct st_lab_store *s = st_lab_web_store(w, x);
    if (!s) {
        problem(x, 500, "database_unavailable", "the lab's database cannot be opened; see the server log", NULL);
        return;
    }
    struct st_lab_attempt *list = st_arena_alloc(x->arena, (size_t)limit * sizeof *list);
    size_t n = 0;
    struct st_error err = { 0 };
    if (st_lab_attempts_list(s, ST_LAB_USER, question, list, (size_t)limit, &n, &err)) {
        st_log_error("grade: cannot list attempts", ST_LOG_STR("error", err.msg));
        problem(x, 500, "internal", "the lab's database could not be read; see the server log", NULL);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, attempt_json(&list[i]));
    st_http_reply_json(x, 200, json_pack("{s:o,s:i}", "attempts", items, "count", (int)n));
}

/* ---- registration ---- */

static const struct {
    const char *method, *pattern;
    void (*fn)(struct st_http_ex *x, const struct st_http_route_match *m, void *data);
} routes[] = {
    { "POST", "/questions/:id/grade", grade_form },
    { "GET", "/attempts/:aid", attempt_page },
    { "GET", "/attempts/:aid/events", page_events },
    { "GET", "/assets/grade.js", asset_js },
    { "POST", "/api/v1/questions/:id/attempts", api_attempt_post },
    { "GET", "/api/v1/attempts", api_attempts },
    { "GET", "/api/v1/attempts/:aid", api_attempt_get },
    { "GET", "/api/v1/attempts/:aid/events", api_events },
};

int st_lab_grade_routes(struct st_lab_web *w)
{
    int rc = 0;
    if (!w->jobs && (rc = jobs_new(w, &w->jobs)) != 0) {
        st_log_error("grade: cannot start the jobs pool", ST_LOG_INT("rc", rc));
        return rc;
    }
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if ((rc = st_http_app_route(&w->app, routes[i].method, routes[i].pattern, routes[i].fn, w)) != 0)
            return rc;
    return 0;
}
