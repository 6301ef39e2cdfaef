/*
 * web_api.c - the JSON API under /api/v1: questions (pagination, filters, sorting, ranked
 * search), levels, modules, progress, notes, reviews, recent activity, export and import,
 * and the OpenAPI document that describes it (openapi.c). Attempts are web_grade.c's.
 *
 * Every error is an RFC 9457 problem+json with a stable machine-readable "code" member
 * (the "detail" is for people and may change); a 422 also lists the offending fields in
 * "errors". Reads run on the worker's own connection (st_lab_web_store), which never
 * waits for a writer under WAL. Writes go through st_lab_web_write: a durable commit
 * waits for fsync, and that must not stall the event loop.
 *
 * Links are relative ("/api/v1/questions?page=2"): they stay right behind a proxy or
 * under another host name, and resolve against the request's URL.
 */
#include "web/web.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/time.h"
#include "base/utf8.h"
#include "curriculum/curriculum.h"
#include "http/url.h"
#include "web/openapi.h"

#define PER_PAGE_DEFAULT 20
#define PER_PAGE_MAX 100
#define ACTIVITY_DEFAULT 50
#define ACTIVITY_MAX 200

/* ---- problems ---- */

/* A problem with a stable code; extra (taken, may be NULL) adds members. */
static void problem(struct st_http_ex *x, int status, const char *code, const char *detail, json_t *extra)
{
    json_t *e = json_is_object(extra) ? extra : json_object();
    if (extra && e != extra)
        json_decref(extra);
    if (e)
        (void)json_object_set_new(e, "code", json_string(code));
    st_http_problem_json(x, status, detail, e);
}

/* 422 naming the field at fault (a body member or a query parameter). */
static void invalid(struct st_http_ex *x, const char *code, const char *field, const char *detail)
{
    problem(x, 422, code, detail, json_pack("{s:[{s:s,s:s}]}", "errors", "field", field, "message", detail));
}

static void internal(struct st_http_ex *x, const char *what, const struct st_error *err)
{
    st_log_error("api: read failed", ST_LOG_STR("what", what), ST_LOG_STR("error", err ? err->msg : ""));
    problem(x, 500, "internal", "the lab's database could not be read; see the server log", NULL);
}

static struct st_lab_store *store_or_500(struct st_lab_web *w, struct st_http_ex *x)
{
    struct st_lab_store *s = st_lab_web_store(w, x);
    if (!s)
        problem(x, 500, "database_unavailable", "the lab's database cannot be opened; see the server log", NULL);
    return s;
}

/* ---- request parts ---- */

/* The question of the route's :id, or NULL after answering 404. Only plain decimal ids of
 * the bank are questions: "0042" or "4e1" would make two URLs of one resource. */
static const struct st_cur_question *question_param(struct st_http_ex *x)
{
    struct st_str raw = st_http_param(x, "id");
    int64_t id = 0;
    bool plain = raw.len > 0 && raw.len <= 3 && raw.ptr[0] != '0';
    if (plain && !st_str_to_i64(raw, &id) && id >= 1 && id <= ST_CUR_QUESTIONS)
        return st_cur_question((int)id);
    char *detail =
        st_arena_printf(x->arena, "there is no question '%.*s' (ids are 1..%d)", ST_STR_FMT(raw), ST_CUR_QUESTIONS);
    problem(x, 404, "question_not_found", detail, NULL);
    return NULL;
}

/* Query parameter key: 1 and *out (NUL-terminated, in the arena) when present, 0 when
 * absent, -1 after answering 422 (not valid percent-encoding). */
static int query_str(struct st_http_ex *x, const char *key, const char **out)
{
    struct st_str v;
    int rc = st_http_query_get(x->req->query, key, x->arena, &v);
    if (rc == ST_ENOTFOUND)
        return 0;
    if (rc) {
        invalid(x, "invalid_parameter", key, "the value is not valid percent-encoding");
        return -1;
    }
    *out = v.ptr;
    return 1;
}

/* An integer query parameter in [min, max], def when absent; 0, or -1 after answering. */
static int query_int(struct st_http_ex *x, const char *key, int min, int max, int def, int *out)
{
    const char *s = NULL;
    int rc = query_str(x, key, &s);
    *out = def;
    if (rc <= 0)
        return rc;
    int64_t v;
    if (st_str_to_i64(st_str_c(s), &v) || v < min || v > max) {
        invalid(x, "invalid_parameter", key, st_arena_printf(x->arena, "must be an integer in %d..%d", min, max));
        return -1;
    }
    *out = (int)v;
    return 0;
}

/* The body as JSON, or NULL after answering 415 / 400 (with a code, unlike the
 * framework's st_http_json_body). */
static json_t *body_json(struct st_http_ex *x)
{
    json_t *v = NULL;
    json_error_t e;
    int status = st_http_json_parse(st_http_req_header(x, ST_HTTP_H_CONTENT_TYPE), x->body, &v, &e);
    if (status == 415) {
        problem(x, 415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)", NULL);
        return NULL;
    }
    if (status) {
        char *detail = st_arena_printf(x->arena, "invalid JSON at line %d, column %d (byte %d): %s", e.line, e.column,
                                       e.position, e.text);
        problem(x, 400, "invalid_json", detail,
                json_pack("{s:i,s:i,s:i}", "line", e.line, "column", e.column, "position", e.position));
        return NULL;
    }
    return v;
}

/* The body as a JSON object, or NULL after answering. */
static json_t *body_object(struct st_http_ex *x)
{
    json_t *v = body_json(x);
    if (v && !json_is_object(v)) {
        json_decref(v);
        problem(x, 422, "invalid_body", "the body must be a JSON object", NULL);
        return NULL;
    }
    return v;
}

/* ---- representations ---- */

static json_t *time_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char t[ST_TIME_RFC3339_LEN + 1];
    st_time_format_rfc3339(ms, t);
    return json_string(t);
}

static json_t *tags_json(const struct st_cur_question *q)
{
    json_t *a = json_array();
    for (int i = 0; a && i < q->ntags; i++)
        json_array_append_new(a, json_string(q->tags[i]));
    return a;
}

static json_t *summary_json(const struct st_cur_question *q, enum st_status st)
{
    char self[64], html[64];
    snprintf(self, sizeof self, "/api/v1/questions/%d", q->id);
    snprintf(html, sizeof html, "/questions/%d", q->id);
    return json_pack("{s:i,s:i,s:i,s:s,s:s,s:o,s:s,s:b,s:s?,s:{s:s,s:s}}", "id", q->id, "module", q->module, "level",
                     q->level, "kind", st_cur_kind_name(q->kind), "text", q->text, "tags", tags_json(q), "status",
                     st_status_name(st), "has_answer", q->answer != NULL, "grader", q->grader, "links", "self", self,
                     "html", html);
}

static json_t *card_json(const struct st_lab_review *r)
{
    return json_pack("{s:i,s:i,s:f,s:i,s:o,s:o,s:o}", "question", r->question, "repetitions", r->repetitions, "ease",
                     r->ease, "interval_days", r->interval_days, "due_at", time_or_null(r->due_ms), "last_reviewed_at",
                     time_or_null(r->last_ms), "last_grade",
                     r->last_grade < 0 ? json_null() : json_integer(r->last_grade));
}

static json_t *note_json(int question, const char *text, size_t len, int64_t updated_ms)
{
    char self[64], q[64];
    snprintf(q, sizeof q, "/api/v1/questions/%d", question);
    snprintf(self, sizeof self, "/api/v1/questions/%d/note", question);
    return json_pack("{s:i,s:s%,s:o,s:{s:s,s:s}}", "question", question, "text", text ? text : "", len, "updated_at",
                     time_or_null(updated_ms), "links", "self", self, "question", q);
}

/* Status counts of a set of questions. */
struct counts {
    int n[ST_STATUS_COUNT];
    int questions;
};

static void count(struct counts *c, enum st_status st)
{
    c->questions++;
    c->n[st < ST_STATUS_COUNT ? st : ST_STATUS_TODO]++;
}

static json_t *counts_json(const struct counts *c)
{
    int completed = c->n[ST_STATUS_DONE] + c->n[ST_STATUS_REVIEW];
    double pct = c->questions ? 100.0 * completed / c->questions : 0.0;
    return json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:f}", "questions", c->questions, "todo", c->n[ST_STATUS_TODO], "doing",
                     c->n[ST_STATUS_DOING], "done", c->n[ST_STATUS_DONE], "review", c->n[ST_STATUS_REVIEW], "completed",
                     completed, "percent", (double)(int)(pct * 10 + 0.5) / 10);
}

static json_t *coverage_json(int level, int module)
{
    struct st_cur_coverage c = st_cur_coverage(level, module, -1);
    return json_pack("{s:i,s:i,s:i,s:i}", "questions", c.questions, "answered", c.answered, "solved", c.solved,
                     "graded", c.graded);
}

/* Every question's status (index id - 1), or false after answering 500. */
static bool load_statuses(struct st_lab_web *w, struct st_http_ex *x, enum st_status st[ST_CUR_QUESTIONS])
{
    struct st_lab_store *s = store_or_500(w, x);
    if (!s)
        return false;
    struct st_error err = { 0 };
    if (st_lab_web_status_all(w, x, st, &err)) {
        internal(x, "statuses", &err);
        return false;
    }
    return true;
}

static json_t *level_json(const struct st_cur_level *l, const enum st_status st[])
{
    struct counts c = { 0 };
    json_t *mods = json_array();
    for (int m = 1; m <= ST_CUR_MODULES; m++)
        if (st_cur_module(m)->level == l->id)
            json_array_append_new(mods, json_integer(m));
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++)
        if (st_cur_question(id)->level == l->id)
            count(&c, st[id - 1]);
    char self[64], questions[64], html[64];
    snprintf(self, sizeof self, "/api/v1/levels/%d", l->id);
    snprintf(questions, sizeof questions, "/api/v1/questions?level=%d", l->id);
    snprintf(html, sizeof html, "/levels/%d", l->id);
    return json_pack("{s:i,s:s,s:s?,s:s?,s:s?,s:o,s:o,s:o,s:{s:s,s:s,s:s}}", "id", l->id, "name", l->name, "focus",
                     l->focus, "goal", l->goal, "time", l->time, "modules", mods, "progress", counts_json(&c),
                     "coverage", coverage_json(l->id, 0), "links", "self", self, "questions", questions, "html", html);
}

static json_t *module_json(const struct st_cur_module *m, const enum st_status st[])
{
    struct counts c = { 0 };
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++)
        if (st_cur_question(id)->module == m->id)
            count(&c, st[id - 1]);
    char self[64], questions[64], html[64];
    snprintf(self, sizeof self, "/api/v1/modules/%d", m->id);
    snprintf(questions, sizeof questions, "/api/v1/questions?module=%d", m->id);
    snprintf(html, sizeof html, "/modules/%d", m->id);
    return json_pack("{s:i,s:i,s:s,s:s,s:o,s:o,s:{s:s,s:s,s:s}}", "id", m->id, "level", m->level, "name", m->name,
                     "slug", m->slug, "progress", counts_json(&c), "coverage", coverage_json(0, m->id), "links", "self",
                     self, "questions", questions, "html", html);
}

/* ---- GET /api/v1 ---- */

static void api_index(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_reply_json(x, 200,
                       json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}}", "name", "strata lab API", "links",
                                 "openapi", "/api/v1/openapi.json", "questions", "/api/v1/questions", "levels",
                                 "/api/v1/levels", "modules", "/api/v1/modules", "progress", "/api/v1/progress",
                                 "notes", "/api/v1/notes", "reviews_due", "/api/v1/reviews/due", "activity",
                                 "/api/v1/activity", "attempts", "/api/v1/attempts", "export", "/api/v1/export"));
}

/* ---- GET /api/v1/openapi.json ---- */

static void api_openapi(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    struct st_str doc = st_lab_openapi();
    if (!doc.ptr) {
        problem(x, 500, "internal", "the OpenAPI document was not built", NULL);
        return;
    }
    const char *etag = st_lab_openapi_etag();
    st_http_header(x, ST_STR_LIT("ETag"), st_str_c(etag));
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-cache"));
    struct st_str inm = st_http_req_header_named(x, "If-None-Match");
    if (inm.ptr && st_str_find(inm, st_str_c(etag)) >= 0) {
        x->status = 304;
        st_http_send(x);
        return;
    }
    st_http_reply(x, 200, "application/json", doc);
}

/* ---- GET /api/v1/questions ---- */

enum sort { SORT_ID, SORT_ID_DESC, SORT_MODULE, SORT_STATUS };
static const char *const sort_names[] = { "id", "-id", "module", "status" };

struct list_q {
    int page, per_page, level, module, kind, status; /* kind, status: -1 any */
    enum sort sort;
    const char *q; /* NULL: no search */
};

/* Parse the list's parameters; false after answering 422. */
static bool list_params(struct st_http_ex *x, struct list_q *lq)
{
    *lq = (struct list_q){ .kind = -1, .status = -1 };
    if (query_int(x, "page", 1, 1000000, 1, &lq->page) ||
        query_int(x, "per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT, &lq->per_page) ||
        query_int(x, "level", 1, ST_CUR_LEVELS, 0, &lq->level) ||
        query_int(x, "module", 1, ST_CUR_MODULES, 0, &lq->module))
        return false;
    const char *s = NULL;
    int rc = query_str(x, "kind", &s);
    enum st_cur_kind kind;
    if (rc < 0)
        return false;
    if (rc > 0 && st_cur_kind_parse(s, &kind)) {
        invalid(x, "invalid_parameter", "kind", "must be conceptual or practical");
        return false;
    }
    lq->kind = rc > 0 ? (int)kind : -1;
    enum st_status st;
    if ((rc = query_str(x, "status", &s)) < 0)
        return false;
    if (rc > 0 && st_status_parse(s, &st)) {
        invalid(x, "invalid_parameter", "status", "must be todo, doing, done or review");
        return false;
    }
    lq->status = rc > 0 ? (int)st : -1;
    if ((rc = query_str(x, "sort", &s)) < 0)
        return false;
    if (rc > 0) {
        size_t i = 0;
        while (i < sizeof sort_names / sizeof *sort_names && strcmp(s, sort_names[i]) != 0)
            i++;
        if (i == sizeof sort_names / sizeof *sort_names) {
            invalid(x, "invalid_parameter", "sort", "must be id, -id, module or status");
            return false;
        }
        lq->sort = (enum sort)i;
    }
    if ((rc = query_str(x, "q", &s)) < 0)
        return false;
    if (rc > 0 && !st_utf8_valid(s, strlen(s))) {
        invalid(x, "invalid_parameter", "q", "the search text is not valid UTF-8");
        return false;
    }
    struct st_str t = st_str_trim(st_str_c(rc > 0 ? s : NULL));
    lq->q = t.len ? s : NULL; /* an empty search box lists everything */
    return true;
}

/* The list's URL for page (the parameters in a fixed order), in the arena. */
static const char *list_link(struct st_http_ex *x, const struct list_q *lq, int page)
{
    struct st_buf b;
    st_buf_init(&b, 16384);
    (void)st_buf_printf(&b, "/api/v1/questions?page=%d&per_page=%d", page, lq->per_page);
    if (lq->level)
        (void)st_buf_printf(&b, "&level=%d", lq->level);
    if (lq->module)
        (void)st_buf_printf(&b, "&module=%d", lq->module);
    if (lq->kind >= 0)
        (void)st_buf_printf(&b, "&kind=%s", st_cur_kind_name((enum st_cur_kind)lq->kind));
    if (lq->status >= 0)
        (void)st_buf_printf(&b, "&status=%s", st_status_name((enum st_status)lq->status));
    if (lq->q) {
        (void)st_buf_append_c(&b, "&q=");
        (void)st_http_pct_encode(&b, st_str_c(lq->q), ST_HTTP_PCT_FORM);
    } else if (lq->sort != SORT_ID) {
        (void)st_buf_printf(&b, "&sort=%s", sort_names[lq->sort]);
    }
    char *s = st_arena_strndup(x->arena, b.data ? b.data : "", b.len);
    st_buf_release(&b);
    return s;
}

struct row {
    int id;
    int key;          /* status, for SORT_STATUS */
    const char *name; /* module name, for SORT_MODULE */
    double rank;      /* search: bm25, lower is better */
    const char *snippet;
};

static int cmp_rows(const void *pa, const void *pb, enum sort sort)
{
    const struct row *a = pa, *b = pb;
    int c = 0;
    if (sort == SORT_ID_DESC)
        return b->id - a->id;
    if (sort == SORT_MODULE)
        c = strcmp(a->name, b->name);
    else if (sort == SORT_STATUS)
        c = a->key - b->key;
    return c ? c : a->id - b->id;
}

static int cmp_desc(const void *a, const void *b)
{
    return cmp_rows(a, b, SORT_ID_DESC);
}
static int cmp_module(const void *a, const void *b)
{
    return cmp_rows(a, b, SORT_MODULE);
}
static int cmp_status(const void *a, const void *b)
{
    return cmp_rows(a, b, SORT_STATUS);
}

static bool wanted(const struct list_q *lq, const struct st_cur_question *q, enum st_status st)
{
    return (!lq->level || q->level == lq->level) && (!lq->module || q->module == lq->module) &&
           (lq->kind < 0 || (int)q->kind == lq->kind) && (lq->status < 0 || (int)st == lq->status);
}

/* The rows of a search, best first, filtered; false after answering. */
static bool search_rows(struct st_lab_web *w, struct st_http_ex *x, const struct list_q *lq, const enum st_status st[],
                        struct row *rows, size_t *n)
{
    struct st_lab_search *s = st_lab_web_search(w, x);
    if (!s) {
        problem(x, 500, "search_unavailable", "the search index could not be built; see the server log", NULL);
        return false;
    }
    struct st_lab_search_query sq = { .text = lq->q,
                                      .level = lq->level,
                                      .module = lq->module,
                                      .kind = lq->kind,
                                      .offset = 0,
                                      .limit = ST_CUR_QUESTIONS };
    struct st_lab_hit *hits = st_arena_calloc(x->arena, ST_CUR_QUESTIONS, sizeof *hits);
    size_t nh = 0, total = 0;
    struct st_error err = { 0 };
    int rc = st_lab_search_run(s, &sq, hits, &nh, &total, x->arena, &err);
    if (rc == ST_EPARSE) {
        invalid(x, "invalid_parameter", "q", err.msg[0] ? err.msg : "nothing to search for");
        return false;
    }
    if (rc) {
        internal(x, "search", &err);
        return false;
    }
    *n = 0;
    for (size_t i = 0; i < nh; i++) {
        const struct st_cur_question *q = st_cur_question(hits[i].question);
        if (q && wanted(lq, q, st[q->id - 1]))
            rows[(*n)++] = (struct row){ .id = q->id, .rank = hits[i].rank, .snippet = hits[i].snippet };
    }
    return true;
}

static void list_rows(const struct list_q *lq, const enum st_status st[], struct row *rows, size_t *n)
{
    *n = 0;
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        if (wanted(lq, q, st[id - 1]))
            rows[(*n)++] = (struct row){ .id = id, .key = (int)st[id - 1], .name = st_cur_module(q->module)->name };
    }
    if (lq->sort == SORT_ID_DESC)
        qsort(rows, *n, sizeof *rows, cmp_desc);
    else if (lq->sort == SORT_MODULE)
        qsort(rows, *n, sizeof *rows, cmp_module);
    else if (lq->sort == SORT_STATUS)
        qsort(rows, *n, sizeof *rows, cmp_status);
}

/*
 * The list is the API's hot path (the bench measures page 1), so it is written straight
 * into the body buffer instead of through jansson: building and dumping a json_t tree
 * cost more than half of each request in malloc, free and per-token callbacks. The
 * strings are valid UTF-8 (the bank is checked at build time, q in list_params, snippets
 * come from SQLite over the bank), so escaping is all that is needed.
 */
static void json_str(struct st_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s) {
        (void)st_buf_append_c(b, "null");
        return;
    }
    (void)st_buf_append_byte(b, '"');
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        (void)st_buf_append(b, run, (size_t)(p - run));
        char esc[7] = { '\\', (char)c, 0 };
        if (c == '\n' || c == '\r' || c == '\t')
            esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        else if (c < 0x20)
            memcpy(esc + 1, (char[]){ 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 }, 6);
        (void)st_buf_append_c(b, esc);
        run = p + 1;
    }
    (void)st_buf_append_c(b, run);
    (void)st_buf_append_byte(b, '"');
}

/* summary_json, written as text; r (search only) adds rank and snippet. */
static void summary_write(struct st_buf *b, const struct st_cur_question *q, enum st_status st, const struct row *r)
{
    (void)st_buf_printf(b, "{\"id\":%d,\"module\":%d,\"level\":%d,\"kind\":\"%s\",\"text\":", q->id, q->module,
                        q->level, st_cur_kind_name(q->kind));
    json_str(b, q->text);
    (void)st_buf_append_c(b, ",\"tags\":[");
    for (int i = 0; i < q->ntags; i++) {
        if (i)
            (void)st_buf_append_byte(b, ',');
        json_str(b, q->tags[i]);
    }
    (void)st_buf_printf(b, "],\"status\":\"%s\",\"has_answer\":%s,\"grader\":", st_status_name(st),
                        q->answer ? "true" : "false");
    json_str(b, q->grader);
    (void)st_buf_printf(b, ",\"links\":{\"self\":\"/api/v1/questions/%d\",\"html\":\"/questions/%d\"}", q->id, q->id);
    if (r) {
        (void)st_buf_printf(b, ",\"rank\":%.17g,\"snippet\":", r->rank);
        json_str(b, r->snippet ? r->snippet : "");
    }
    (void)st_buf_append_byte(b, '}');
}

/*
 * A summary without search fields is the same bytes for every request except the status:
 * it is built once per question, split around the status, so a list page is a few
 * memcpy per item instead of printf and escaping (the list is on the benchmarked path).
 */
static struct st_buf summary_pre[ST_CUR_QUESTIONS], summary_post[ST_CUR_QUESTIONS];
static pthread_once_t summary_once = PTHREAD_ONCE_INIT;

static void summary_build(void)
{
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        struct st_buf full;
        st_buf_init(&full, ST_BUF_UNLIMITED);
        summary_write(&full, st_cur_question(id), ST_STATUS_TODO, NULL);
        static const char mark[] = "\"status\":\"todo\"";
        const char *at = strstr(full.data, mark);
        size_t cut = (size_t)(at - full.data) + 10; /* up to and with "status":" */
        st_buf_init(&summary_pre[id - 1], ST_BUF_UNLIMITED);
        st_buf_init(&summary_post[id - 1], ST_BUF_UNLIMITED);
        (void)st_buf_append(&summary_pre[id - 1], full.data, cut);
        (void)st_buf_append_c(&summary_post[id - 1], at + sizeof mark - 2); /* from the closing quote */
        st_buf_release(&full);
    }
}

static void summary_fast(struct st_buf *b, int id, enum st_status st)
{
    (void)st_buf_append(b, summary_pre[id - 1].data, summary_pre[id - 1].len);
    (void)st_buf_append_c(b, st_status_name(st));
    (void)st_buf_append(b, summary_post[id - 1].data, summary_post[id - 1].len);
}

static void api_questions(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_web *w = data;
    struct list_q lq;
    enum st_status st[ST_CUR_QUESTIONS];
    if (!list_params(x, &lq) || !load_statuses(w, x, st))
        return;
    struct row rows[ST_CUR_QUESTIONS]; /* 20 KiB: the stack, not a fresh arena chunk per request */
    size_t n = 0;
    if (lq.q) {
        if (!search_rows(w, x, &lq, st, rows, &n))
            return;
    } else {
        list_rows(&lq, st, rows, &n);
    }
    size_t from = (size_t)(lq.page - 1) * (size_t)lq.per_page;
    pthread_once(&summary_once, summary_build);
    struct st_buf *b = st_http_body_buf(x);
    st_buf_clear(b);
    (void)st_buf_append_c(b, "{\"items\":[");
    for (size_t i = from; i < n && i < from + (size_t)lq.per_page; i++) {
        if (i > from)
            (void)st_buf_append_byte(b, ',');
        if (lq.q)
            summary_write(b, st_cur_question(rows[i].id), st[rows[i].id - 1], &rows[i]);
        else
            summary_fast(b, rows[i].id, st[rows[i].id - 1]);
    }
    (void)st_buf_printf(b, "],\"page\":%d,\"per_page\":%d,\"total\":%zu,\"q\":", lq.page, lq.per_page, n);
    json_str(b, lq.q);
    (void)st_buf_append_c(b, ",\"links\":{\"self\":");
    json_str(b, list_link(x, &lq, lq.page));
    (void)st_buf_append_c(b, ",\"next\":");
    json_str(b, from + (size_t)lq.per_page < n ? list_link(x, &lq, lq.page + 1) : NULL);
    (void)st_buf_append_c(b, ",\"prev\":");
    json_str(b, lq.page > 1 ? list_link(x, &lq, lq.page - 1) : NULL);
    (void)st_buf_append_c(b, "}}\n");
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/json"));
    x->status = 200;
    st_http_send(x);
}

/* ---- GET /api/v1/questions/:id ---- */

static json_t *strings_json(const char *const *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* The note and review card of q (null when absent), or false after answering. */
static bool learner_parts(struct st_http_ex *x, struct st_lab_store *s, int id, json_t **note, json_t **review)
{
    struct st_error err = { 0 };
    struct st_buf text;
    st_buf_init(&text, ST_LAB_NOTE_MAX + 1);
    int64_t updated = 0;
    int rc = st_lab_note_get(s, ST_LAB_USER, id, &text, &updated, &err);
    *note = rc == 0 ? note_json(id, text.data, text.len, updated) : json_null();
    st_buf_release(&text);
    if (rc && rc != ST_ENOTFOUND) {
        json_decref(*note);
        internal(x, "note", &err);
        return false;
    }
    struct st_lab_review r;
    rc = st_lab_review_get(s, ST_LAB_USER, id, &r, &err);
    if (rc && rc != ST_ENOTFOUND) {
        json_decref(*note);
        internal(x, "review", &err);
        return false;
    }
    *review = rc == 0 ? card_json(&r) : json_null();
    return true;
}

static void api_question(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_web *w = data;
    const struct st_cur_question *q = question_param(x);
    if (!q)
        return;
    enum st_status st[ST_CUR_QUESTIONS];
    if (!load_statuses(w, x, st))
        return;
    json_t *note, *review;
    if (!learner_parts(x, st_lab_web_store(w, x), q->id, &note, &review))
        return;
    json_t *v = summary_json(q, st[q->id - 1]);
    const struct st_cur_module *mod = st_cur_module(q->module);
    char link[5][80];
    snprintf(link[0], sizeof link[0], "/api/v1/questions/%d/status", q->id);
    snprintf(link[1], sizeof link[1], "/api/v1/questions/%d/note", q->id);
    snprintf(link[2], sizeof link[2], "/api/v1/questions/%d/review", q->id);
    snprintf(link[3], sizeof link[3], "/api/v1/attempts?question=%d", q->id);
    snprintf(link[4], sizeof link[4], "/api/v1/modules/%d", q->module);
    json_t *more = json_pack(
        "{s:s,s:s,s:s?,s:o,s:s?,s:s?,s:s?,s:s?,s:o,s:o}", "module_name", mod->name, "level_name",
        st_cur_level(q->level)->name, "answer", q->answer, "solutions", strings_json(q->solutions, q->nsolutions),
        "demo", q->demo, "checks", q->checks, "source", q->source, "grade_command",
        q->grader ? st_arena_printf(x->arena, "strata grade %s --target http://127.0.0.1:PORT", q->grader) : NULL,
        "note", note, "review", review);
    if (!v || !more || json_object_update(v, more)) {
        json_decref(v);
        json_decref(more);
        st_http_reply_json(x, 200, NULL); /* answers 500 */
        return;
    }
    json_decref(more);
    json_t *links = json_object_get(v, "links");
    json_object_set_new(links, "status", json_string(link[0]));
    json_object_set_new(links, "note", json_string(link[1]));
    json_object_set_new(links, "review", json_string(link[2]));
    json_object_set_new(links, "attempts", json_string(link[3]));
    json_object_set_new(links, "module", json_string(link[4]));
    st_http_reply_json(x, 200, v);
}

/* ---- levels, modules, progress ---- */

/* An id path parameter in 1..max, or 0 after answering 404. */
static int id_param(struct st_http_ex *x, int max, const char *code, const char *what)
{
    struct st_str raw = st_http_param(x, "id");
    int64_t id = 0;
    if (raw.len > 0 && raw.len <= 3 && raw.ptr[0] != '0' && !st_str_to_i64(raw, &id) && id >= 1 && id <= max)
        return (int)id;
    problem(x, 404, code, st_arena_printf(x->arena, "there is no %s '%.*s' (1..%d)", what, ST_STR_FMT(raw), max), NULL);
    return 0;
}

static void api_levels(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    enum st_status st[ST_CUR_QUESTIONS];
    if (!load_statuses(data, x, st))
        return;
    json_t *items = json_array();
    for (int l = 1; items && l <= ST_CUR_LEVELS; l++)
        json_array_append_new(items, level_json(st_cur_level(l), st));
    st_http_reply_json(x, 200, json_pack("{s:o}", "items", items));
}

static void api_level(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int id = id_param(x, ST_CUR_LEVELS, "level_not_found", "level");
    enum st_status st[ST_CUR_QUESTIONS];
    if (!id || !load_statuses(data, x, st))
        return;
    st_http_reply_json(x, 200, level_json(st_cur_level(id), st));
}

static void api_modules(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int level;
    enum st_status st[ST_CUR_QUESTIONS];
    if (query_int(x, "level", 1, ST_CUR_LEVELS, 0, &level) || !load_statuses(data, x, st))
        return;
    json_t *items = json_array();
    for (int i = 1; items && i <= ST_CUR_MODULES; i++)
        if (!level || st_cur_module(i)->level == level)
            json_array_append_new(items, module_json(st_cur_module(i), st));
    st_http_reply_json(x, 200, json_pack("{s:o}", "items", items));
}

static void api_module(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int id = id_param(x, ST_CUR_MODULES, "module_not_found", "module");
    enum st_status st[ST_CUR_QUESTIONS];
    if (!id || !load_statuses(data, x, st))
        return;
    json_t *v = module_json(st_cur_module(id), st), *qs = json_array();
    for (int q = 1; qs && q <= ST_CUR_QUESTIONS; q++)
        if (st_cur_question(q)->module == id)
            json_array_append_new(qs, summary_json(st_cur_question(q), st[q - 1]));
    if (v)
        json_object_set_new(v, "questions", qs);
    else
        json_decref(qs);
    st_http_reply_json(x, 200, v);
}

static void api_progress(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    enum st_status st[ST_CUR_QUESTIONS];
    if (!load_statuses(data, x, st))
        return;
    struct counts total = { 0 }, lv[ST_CUR_LEVELS] = { 0 }, md[ST_CUR_MODULES] = { 0 };
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        count(&total, st[id - 1]);
        count(&lv[q->level - 1], st[id - 1]);
        count(&md[q->module - 1], st[id - 1]);
    }
    json_t *levels = json_array(), *modules = json_array();
    for (int l = 1; levels && l <= ST_CUR_LEVELS; l++) {
        json_t *c = counts_json(&lv[l - 1]);
        json_object_set_new(c, "id", json_integer(l));
        json_object_set_new(c, "name", json_string(st_cur_level(l)->name));
        json_array_append_new(levels, c);
    }
    for (int i = 1; modules && i <= ST_CUR_MODULES; i++) {
        json_t *c = counts_json(&md[i - 1]);
        json_object_set_new(c, "id", json_integer(i));
        json_object_set_new(c, "level", json_integer(st_cur_module(i)->level));
        json_object_set_new(c, "name", json_string(st_cur_module(i)->name));
        json_array_append_new(modules, c);
    }
    st_http_reply_json(x, 200,
                       json_pack("{s:o,s:o,s:o}", "total", counts_json(&total), "levels", levels, "modules", modules));
}

/* ---- writes ---- */

/* Every write job starts with this: `ran` tells a refusal by the pool (queue full,
 * shutting down: 503, try again) from the write's own failure. */
struct job {
    bool ran;
    int question;
};

/* Answer a failed write. */
static void write_failed(struct st_http_ex *x, const struct job *j, int rc, const struct st_error *err)
{
    const char *msg = err && err->msg[0] ? err->msg : "the change could not be saved";
    if (!j->ran) {
        st_http_header(x, ST_STR_LIT("Retry-After"), ST_STR_LIT("1"));
        problem(x, 503, "busy", msg, NULL);
        return;
    }
    switch (rc) {
    case ST_ENOTFOUND: problem(x, 404, "not_found", msg, NULL); return;
    case ST_EPARSE:
    case ST_ELIMIT:
    case ST_EUSAGE: problem(x, 422, "invalid", msg, NULL); return;
    default:
        st_log_error("api: write failed", ST_LOG_INT("question", j->question), ST_LOG_INT("rc", rc),
                     ST_LOG_STR("error", msg));
        problem(x, 500, "write_failed", "the change could not be saved; see the server log", NULL);
    }
}

/* ---- status ---- */

struct status_job {
    struct job j;
    enum st_status status;
};

static int status_write(struct st_lab_store *s, void *arg, struct st_error *err)
{
    struct status_job *sj = arg;
    sj->j.ran = true;
    return st_lab_status_set(s, ST_LAB_USER, sj->j.question, sj->status, err);
}

static json_t *status_json(int id, enum st_status st)
{
    char self[64], q[64];
    snprintf(self, sizeof self, "/api/v1/questions/%d/status", id);
    snprintf(q, sizeof q, "/api/v1/questions/%d", id);
    return json_pack("{s:i,s:s,s:{s:s,s:s}}", "question", id, "status", st_status_name(st), "links", "self", self,
                     "question", q);
}

static void status_done(struct st_http_ex *x, int rc, const struct st_error *err, void *arg)
{
    struct status_job *sj = arg;
    if (rc) {
        write_failed(x, &sj->j, rc, err);
        return;
    }
    st_http_reply_json(x, 200, status_json(sj->j.question, sj->status));
}

static void api_status_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_cur_question *q = question_param(x);
    enum st_status st[ST_CUR_QUESTIONS];
    if (!q || !load_statuses(data, x, st))
        return;
    st_http_reply_json(x, 200, status_json(q->id, st[q->id - 1]));
}

static void api_status_put(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_cur_question *q = question_param(x);
    json_t *body = q ? body_object(x) : NULL;
    if (!body)
        return;
    const char *s = json_string_value(json_object_get(body, "status"));
    enum st_status st;
    if (!s || st_status_parse(s, &st)) {
        json_decref(body);
        invalid(x, "invalid_status", "status", "\"status\" must be one of todo, doing, done, review");
        return;
    }
    json_decref(body);
    struct status_job *sj = st_arena_zalloc(x->arena, sizeof *sj);
    sj->j.question = q->id;
    sj->status = st;
    st_lab_web_write(data, x, status_write, status_done, sj);
}

/* ---- notes ---- */

struct note_job {
    struct job j;
    const char *text; /* arena; "" deletes */
    size_t len;
    int64_t updated_ms;
};

static int note_write(struct st_lab_store *s, void *arg, struct st_error *err)
{
    struct note_job *nj = arg;
    nj->j.ran = true;
    int rc = st_lab_note_set(s, ST_LAB_USER, nj->j.question, nj->text, nj->len, err);
    if (rc || !nj->len)
        return rc;
    /* Read back the time it was stored at, on the same connection (after the commit). */
    struct st_buf text;
    st_buf_init(&text, ST_LAB_NOTE_MAX + 1);
    rc = st_lab_note_get(s, ST_LAB_USER, nj->j.question, &text, &nj->updated_ms, err);
    st_buf_release(&text);
    return rc;
}

static void note_done(struct st_http_ex *x, int rc, const struct st_error *err, void *arg)
{
    struct note_job *nj = arg;
    if (rc) {
        write_failed(x, &nj->j, rc, err);
        return;
    }
    if (!nj->len) {
        x->status = 204;
        st_http_send(x);
        return;
    }
    st_http_reply_json(x, 200, note_json(nj->j.question, nj->text, nj->len, nj->updated_ms));
}

static void api_note_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_cur_question *q = question_param(x);
    struct st_lab_store *s = q ? store_or_500(data, x) : NULL;
    if (!s)
        return;
    struct st_error err = { 0 };
    struct st_buf text;
    st_buf_init(&text, ST_LAB_NOTE_MAX + 1);
    int64_t updated = 0;
    int rc = st_lab_note_get(s, ST_LAB_USER, q->id, &text, &updated, &err);
    if (rc == ST_ENOTFOUND)
        problem(x, 404, "note_not_found", st_arena_printf(x->arena, "question %d has no note", q->id), NULL);
    else if (rc)
        internal(x, "note", &err);
    else
        st_http_reply_json(x, 200, note_json(q->id, text.data, text.len, updated));
    st_buf_release(&text);
}

static void note_change(struct st_http_ex *x, struct st_lab_web *w, int question, const char *text, size_t len)
{
    struct note_job *nj = st_arena_zalloc(x->arena, sizeof *nj);
    nj->j.question = question;
    nj->text = st_arena_strndup(x->arena, text, len);
    nj->len = len;
    st_lab_web_write(w, x, note_write, note_done, nj);
}

static void api_note_put(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_cur_question *q = question_param(x);
    json_t *body = q ? body_object(x) : NULL;
    if (!body)
        return;
    json_t *t = json_object_get(body, "text");
    if (!json_is_string(t)) {
        json_decref(body);
        invalid(x, "invalid_note", "text", "\"text\" must be a string (empty deletes the note)");
        return;
    }
    if (json_string_length(t) > ST_LAB_NOTE_MAX) {
        json_decref(body);
        invalid(x, "note_too_long", "text",
                st_arena_printf(x->arena, "a note holds at most %d bytes of UTF-8", ST_LAB_NOTE_MAX));
        return;
    }
    note_change(x, data, q->id, json_string_value(t), json_string_length(t));
    json_decref(body);
}

static void api_note_delete(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_cur_question *q = question_param(x);
    if (q)
        note_change(x, data, q->id, "", 0);
}

static void api_notes(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_store *s = store_or_500(data, x);
    if (!s)
        return;
    int *ids = st_arena_calloc(x->arena, ST_CUR_QUESTIONS, sizeof *ids);
    size_t n = 0;
    struct st_error err = { 0 };
    if (st_lab_notes_list(s, ST_LAB_USER, ids, ST_CUR_QUESTIONS, &n, &err)) {
        internal(x, "notes", &err);
        return;
    }
    json_t *items = json_array();
    struct st_buf text;
    st_buf_init(&text, ST_LAB_NOTE_MAX + 1);
    for (size_t i = 0; items && i < n; i++) {
        int64_t updated = 0;
        int rc = st_lab_note_get(s, ST_LAB_USER, ids[i], &text, &updated, &err);
        if (rc == ST_ENOTFOUND) /* deleted between the two reads */
            continue;
        if (rc) {
            st_buf_release(&text);
            json_decref(items);
            internal(x, "notes", &err);
            return;
        }
        json_array_append_new(items, note_json(ids[i], text.data, text.len, updated));
    }
    st_buf_release(&text);
    st_http_reply_json(x, 200, json_pack("{s:o,s:i}", "items", items, "total", (int)json_array_size(items)));
}

/* ---- reviews ---- */

struct review_job {
    struct job j;
    int grade;
    struct st_lab_review card;
};

static int review_write(struct st_lab_store *s, void *arg, struct st_error *err)
{
    struct review_job *rj = arg;
    rj->j.ran = true;
    return st_lab_review_grade(s, ST_LAB_USER, rj->j.question, rj->grade, st_time_wall_ms(), &rj->card, err);
}

static void review_done(struct st_http_ex *x, int rc, const struct st_error *err, void *arg)
{
    struct review_job *rj = arg;
    if (rc) {
        write_failed(x, &rj->j, rc, err);
        return;
    }
    st_http_reply_json(x, 200, card_json(&rj->card));
}

static void api_review_post(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const struct st_cur_question *q = question_param(x);
    json_t *body = q ? body_object(x) : NULL;
    if (!body)
        return;
    json_t *g = json_object_get(body, "grade");
    json_int_t grade = json_is_integer(g) ? json_integer_value(g) : -1;
    json_decref(body);
    if (grade < 0 || grade > 5) {
        invalid(x, "invalid_grade", "grade", "\"grade\" must be an integer 0..5 (5: perfect recall, 0: blackout)");
        return;
    }
    if (q->kind != ST_CUR_CONCEPTUAL) {
        problem(x, 422, "not_reviewable",
                st_arena_printf(x->arena, "question %d is practical: only conceptual questions are reviewed", q->id),
                NULL);
        return;
    }
    struct review_job *rj = st_arena_zalloc(x->arena, sizeof *rj);
    rj->j.question = q->id;
    rj->grade = (int)grade;
    st_lab_web_write(data, x, review_write, review_done, rj);
}

static void api_reviews_due(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_store *s = store_or_500(data, x);
    if (!s)
        return;
    int *ids = st_arena_calloc(x->arena, ST_CUR_QUESTIONS, sizeof *ids);
    size_t n = 0;
    struct st_error err = { 0 };
    int64_t now = st_time_wall_ms();
    if (st_lab_review_due(s, ST_LAB_USER, now, ids, ST_CUR_QUESTIONS, &n, &err)) {
        internal(x, "reviews due", &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        const struct st_cur_question *q = st_cur_question(ids[i]);
        struct st_lab_review r;
        int rc = q ? st_lab_review_get(s, ST_LAB_USER, q->id, &r, &err) : ST_ENOTFOUND;
        if (!q || (rc && rc != ST_ENOTFOUND)) {
            json_decref(items);
            internal(x, "review card", &err);
            return;
        }
        char self[64], html[64];
        snprintf(self, sizeof self, "/api/v1/questions/%d/review", q->id);
        snprintf(html, sizeof html, "/questions/%d", q->id);
        json_array_append_new(items,
                              json_pack("{s:i,s:i,s:i,s:s,s:o,s:{s:s,s:s}}", "question", q->id, "module", q->module,
                                        "level", q->level, "text", q->text, "card", rc ? json_null() : card_json(&r),
                                        "links", "review", self, "html", html));
    }
    st_http_reply_json(x, 200, json_pack("{s:o,s:i,s:o}", "items", items, "total", (int)n, "now", time_or_null(now)));
}

/* ---- activity ---- */

static void api_activity(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int limit;
    if (query_int(x, "limit", 1, ACTIVITY_MAX, ACTIVITY_DEFAULT, &limit))
        return;
    struct st_lab_store *s = store_or_500(data, x);
    if (!s)
        return;
    struct st_lab_activity *a = st_arena_calloc(x->arena, (size_t)limit, sizeof *a);
    size_t n = 0;
    struct st_error err = { 0 };
    if (st_lab_activity(s, ST_LAB_USER, a, (size_t)limit, &n, &err)) {
        internal(x, "activity", &err);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++) {
        char q[64];
        snprintf(q, sizeof q, "/api/v1/questions/%d", a[i].question);
        json_array_append_new(items, json_pack("{s:o,s:i,s:s,s:s,s:{s:s}}", "at", time_or_null(a[i].at_ms), "question",
                                               a[i].question, "what", a[i].what, "detail", a[i].detail, "links",
                                               "question", q));
    }
    st_http_reply_json(x, 200, json_pack("{s:o}", "items", items));
}

/* ---- export / import ---- */

static void api_export(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_store *s = store_or_500(data, x);
    if (!s)
        return;
    struct st_buf *b = st_http_body_buf(x);
    st_buf_clear(b);
    struct st_error err = { 0 };
    if (st_lab_export_json(s, ST_LAB_USER, b, &err)) {
        st_buf_clear(b);
        internal(x, "export", &err);
        return;
    }
    char day[ST_TIME_RFC3339_LEN + 1];
    st_time_format_rfc3339(st_time_wall_ms(), day);
    day[10] = '\0';
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/json"));
    st_http_header_fmt(x, "Content-Disposition", "attachment; filename=\"strata-lab-%s.json\"", day);
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
    x->status = 200;
    st_http_send(x);
}

struct import_job {
    struct job j;
    const char *json; /* a copy in the arena: the request buffer is the connection's */
    size_t len;
    size_t applied;
};

static int import_write(struct st_lab_store *s, void *arg, struct st_error *err)
{
    struct import_job *ij = arg;
    ij->j.ran = true;
    return st_lab_import_json(s, ST_LAB_USER, ij->json, ij->len, &ij->applied, err);
}

static void import_done(struct st_http_ex *x, int rc, const struct st_error *err, void *arg)
{
    struct import_job *ij = arg;
    if (!rc) {
        st_http_reply_json(x, 200, json_pack("{s:I}", "applied", (json_int_t)ij->applied));
        return;
    }
    if (ij->j.ran &&
        (rc == ST_EPARSE || rc == ST_EUSAGE || rc == ST_ELIMIT || rc == ST_ENOTFOUND)) { /* the file's fault */
        problem(x, 422, "invalid_export", err && err->msg[0] ? err->msg : "not a strata export", NULL);
        return;
    }
    write_failed(x, &ij->j, rc, err);
}

static void api_import(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    json_t *v = body_json(x); /* 415 and 400 answered like every other body */
    if (!v)
        return;
    bool object = json_is_object(v);
    json_decref(v);
    if (!object) {
        problem(x, 422, "invalid_export", "an export is a JSON object (GET /api/v1/export writes one)", NULL);
        return;
    }
    struct import_job *ij = st_arena_zalloc(x->arena, sizeof *ij);
    ij->json = st_arena_strndup(x->arena, x->body.ptr, x->body.len);
    ij->len = x->body.len;
    st_lab_web_write(data, x, import_write, import_done, ij);
}

/* ---- registration ---- */

static const struct {
    const char *method, *pattern;
    void (*fn)(struct st_http_ex *x, const struct st_http_route_match *m, void *data);
} routes[] = {
    { "GET", "/api/v1", api_index },
    { "GET", "/api/v1/openapi.json", api_openapi },
    { "GET", "/api/v1/questions", api_questions },
    { "GET", "/api/v1/questions/:id", api_question },
    { "GET", "/api/v1/questions/:id/status", api_status_get },
    { "PUT", "/api/v1/questions/:id/status", api_status_put },
    { "GET", "/api/v1/questions/:id/note", api_note_get },
    { "PUT", "/api/v1/questions/:id/note", api_note_put },
    { "DELETE", "/api/v1/questions/:id/note", api_note_delete },
    { "POST", "/api/v1/questions/:id/review", api_review_post },
    { "GET", "/api/v1/levels", api_levels },
    { "GET", "/api/v1/levels/:id", api_level },
    { "GET", "/api/v1/modules", api_modules },
    { "GET", "/api/v1/modules/:id", api_module },
    { "GET", "/api/v1/progress", api_progress },
    { "GET", "/api/v1/notes", api_notes },
    { "GET", "/api/v1/reviews/due", api_reviews_due },
    { "GET", "/api/v1/activity", api_activity },
    { "GET", "/api/v1/export", api_export },
    { "POST", "/api/v1/import", api_import },
};

int st_lab_api_routes(struct st_lab_web *w)
{
    int rc = st_lab_openapi_build();
    if (rc) {
        st_log_error("api: the OpenAPI document could not be built", ST_LOG_INT("rc", rc));
        return rc;
    }
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if ((rc = st_http_app_route(&w->app, routes[i].method, routes[i].pattern, routes[i].fn, w)) != 0)
            return rc;
    return 0;
}
