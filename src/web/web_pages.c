/*
 * web_pages.c - the lab's HTML pages (web.h): dashboard, levels, modules, questions with
 * their status and note forms, search, spaced-repetition review, completion, notes,
 * activity, and the reference solutions' source.
 *
 * Reads go through the worker's own store (st_lab_web_store) on the loop; every write
 * goes through st_lab_web_write (the pool) and answers 303 back to the page, so a reload
 * never repeats it. Pages are built into the exchange's body buffer with st_html_fmt,
 * whose %s escapes: learner text (notes, search words, targets) can never become markup.
 *
 * Cross-site form posts are refused: a POST must carry an Origin naming this server
 * (http://<Host>), or, when a browser sends no Origin, a Referer under it. Browsers send
 * Origin with every POST form, but as "null" under Referrer-Policy: no-referrer (the
 * security middleware's default), so every page here sends Referrer-Policy: same-origin
 * (a handler's header wins over the middleware's): same-origin posts then carry the real
 * Origin, and other sites still see no referrer. A cross-site page can neither forge the
 * Origin nor read our pages, so no token is needed; web_grade.c checks the same way.
 *
 * The rendered markdown of every answer and checks list is built once when the routes
 * are registered (the bank is compiled in): the question page, the hot page of the lab,
 * then costs three point reads and a copy.
 */
#include "web/web.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "curriculum/curriculum.h"
#include "grade/grade.h"
#include "http/url.h"
#include "web/assets.h"
#include "web/html.h"
#include "web/web_srcroot.h"

#define PAGE_SIZE 20          /* search hits per page */
#define SOURCE_MAX (1u << 20) /* largest source file shown */

/* ---- process-wide, read-only once serving starts ---- */

/* Rendered markdown of each question's answer and checks (NULL: none). */
static struct {
    char *answer;
    char *checks;
} rendered[ST_CUR_QUESTIONS];
static pthread_once_t rendered_once = PTHREAD_ONCE_INIT;

static char *render_md(const char *md)
{
    if (!md)
        return NULL;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    if (st_html_markdown(&b, md, strlen(md))) {
        st_buf_release(&b);
        return NULL;
    }
    return st_buf_detach(&b, NULL);
}

static void render_all(void)
{
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        rendered[id - 1].answer = render_md(q->answer);
        rendered[id - 1].checks = render_md(q->checks);
    }
}

/* The source tree the /source pages read (empty: not found). */
static char srcroot[PATH_MAX];

static bool is_srcroot(const char *dir)
{
    char probe[PATH_MAX + 32];
    int n = snprintf(probe, sizeof probe, "%s/curriculum/levels.txt", dir);
    return dir[0] && n > 0 && (size_t)n < sizeof probe && access(probe, R_OK) == 0;
}

/* $STRATA_SRCROOT, else the directory above the binary (build/strata), else the source
 * root of the build; canonical, or empty when none holds curriculum/levels.txt. */
static void find_srcroot(void)
{
    char cand[3][PATH_MAX] = { "", "", "" };
    const char *env = getenv("STRATA_SRCROOT");
    if (env)
        snprintf(cand[0], sizeof cand[0], "%s", env);
    ssize_t n = readlink("/proc/self/exe", cand[1], sizeof cand[1] - 4);
    if (n > 0) { /* ".../build/strata" -> ".../build/.." */
        cand[1][n] = '\0';
        char *slash = strrchr(cand[1], '/');
        if (slash)
            memcpy(slash, "/..", 4);
        else
            cand[1][0] = '\0';
    }
    snprintf(cand[2], sizeof cand[2], "%s", ST_WEB_SRCROOT);
    srcroot[0] = '\0';
    for (int i = 0; i < 3; i++)
        if (is_srcroot(cand[i]) && realpath(cand[i], srcroot))
            return;
    srcroot[0] = '\0';
}

/* ---- small helpers ---- */

static const char *status_label(enum st_status s)
{
    static const char *const label[] = { "to do", "doing", "done", "review" };
    return (unsigned)s < ST_STATUS_COUNT ? label[s] : "?";
}

static void badge(struct st_buf *b, enum st_status s)
{
    st_html_fmt(b, "<span class=\"badge s-%s\">%s</span>", st_status_name(s), status_label(s));
}

/* Headers of every page: live state (no-store) and the Referrer-Policy the same-origin
 * check of the forms relies on (see the top of the file). */
static void send_page(struct st_http_ex *x, int status)
{
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("text/html; charset=utf-8"));
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
    st_http_header(x, ST_STR_LIT("Referrer-Policy"), ST_STR_LIT("same-origin"));
    x->status = status;
    st_http_send(x);
}

static void error_page(struct st_http_ex *x, int status, const char *msg)
{
    struct st_buf *b = st_http_body_buf(x);
    st_buf_clear(b);
    const char *title = st_http_reason(status);
    st_html_page_begin(b, title, "");
    st_html_fmt(
        b, "<h1>%s</h1>\n<p class=\"error\" role=\"alert\">%s</p>\n<p><a href=\"/\">Back to the dashboard</a></p>\n",
        title, msg);
    st_html_page_end(b);
    send_page(x, status);
}

static void db_error_page(struct st_http_ex *x, const struct st_error *err)
{
    st_log_error("lab: page cannot read the database", ST_LOG_STR("error", err ? err->msg : ""));
    error_page(x, 500, "The progress database cannot be read right now; the server log says why.");
}

/* A route parameter that must be a plain decimal in lo..hi; -1 otherwise. */
static int int_param(struct st_http_ex *x, const char *name, int lo, int hi)
{
    struct st_str raw = st_http_param(x, name);
    int64_t v;
    if (raw.len == 0 || raw.len > 9 || raw.ptr[0] == '0' || st_str_to_i64(raw, &v) || v < lo || v > hi)
        return -1;
    return (int)v;
}

/* A query parameter, decoded; "" when absent or malformed. */
static const char *query_str(struct st_http_ex *x, const char *key)
{
    struct st_str v;
    if (!x->req->query.ptr || st_http_query_get(x->req->query, key, x->arena, &v))
        return "";
    return v.ptr;
}

/* A query parameter as an integer in lo..hi; def when absent or out of range. */
static int query_int(struct st_http_ex *x, const char *key, int lo, int hi, int def)
{
    int64_t v;
    const char *s = query_str(x, key);
    if (!s[0] || st_str_to_i64(st_str_c(s), &v) || v < lo || v > hi)
        return def;
    return (int)v;
}

static void date_of(int64_t ms, char out[ST_TIME_RFC3339_LEN + 1])
{
    st_time_format_rfc3339(ms, out);
}

/* "<time datetime=...>2026-01-02 03:04 UTC</time>" */
static void time_html(struct st_buf *b, int64_t ms)
{
    char t[ST_TIME_RFC3339_LEN + 1];
    date_of(ms, t);
    st_html_fmt(b, "<time datetime=\"%s\">", t);
    t[10] = ' ';
    t[16] = '\0';
    st_html_fmt(b, "%s UTC</time>", t);
}

struct counts {
    int n[ST_STATUS_COUNT];
    int total;
};

static struct counts count(const enum st_status *st, int first, int last)
{
    struct counts c = { { 0 }, 0 };
    for (int id = first; id <= last; id++) {
        c.n[st[id - 1]]++;
        c.total++;
    }
    return c;
}

/* A stacked bar: done, review, doing over the todo background. An SVG in the page (its
 * width attributes are not style, so the CSP allows them); the viewBox is the count. */
static void bar(struct st_buf *b, struct counts c)
{
    int d = c.n[ST_STATUS_DONE], r = c.n[ST_STATUS_REVIEW], g = c.n[ST_STATUS_DOING];
    st_html_fmt(b,
                "<svg class=\"bar\" viewBox=\"0 0 %d 1\" preserveAspectRatio=\"none\" role=\"img\" "
                "aria-label=\"%d done, %d to review, %d in progress, %d to do\">"
                "<rect class=\"b-done\" x=\"0\" width=\"%d\" height=\"1\"/>"
                "<rect class=\"b-review\" x=\"%d\" width=\"%d\" height=\"1\"/>"
                "<rect class=\"b-doing\" x=\"%d\" width=\"%d\" height=\"1\"/></svg>",
                c.total > 0 ? c.total : 1, d, r, g, c.n[ST_STATUS_TODO], d, d, r, d + r, g);
}

static void legend(struct st_buf *b)
{
    st_html_fmt(b, "<ul class=\"legend\"><li class=\"l-done\">done</li><li class=\"l-review\">review</li>"
                   "<li class=\"l-doing\">doing</li><li>to do</li></ul>\n");
}

static bool load_status(struct st_lab_web *w, struct st_http_ex *x, struct st_lab_store **sp, enum st_status *st)
{
    struct st_error err = { 0 };
    struct st_lab_store *s = st_lab_web_store(w, x);
    if (!s || st_lab_web_status_all(w, x, st, &err)) {
        db_error_page(x, &err);
        return false;
    }
    *sp = s;
    return true;
}

/* The learning path: the first question not done, in level/module/number order (ids
 * are in that order). 0 when every question is done. */
static int next_question(const enum st_status *st)
{
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++)
        if (st[id - 1] != ST_STATUS_DONE)
            return id;
    return 0;
}

/* ---- dashboard ---- */

static void activity_rows(struct st_buf *b, const struct st_lab_activity *a, size_t n)
{
    st_html_fmt(b,
                "<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">When</th><th scope=\"col\">Question</th>"
                "<th scope=\"col\">What</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const struct st_cur_question *q = st_cur_question(a[i].question);
        st_html_fmt(b, "<tr><td class=\"n\">");
        time_html(b, a[i].at_ms);
        st_html_fmt(b, "</td><td><a href=\"/questions/%d\">Q%d</a> %s</td><td>%s %s</td></tr>\n", a[i].question,
                    a[i].question, q ? q->text : "", a[i].what, a[i].detail);
    }
    st_html_fmt(b, "</tbody></table></div>\n");
}

static void page_dashboard(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_web *w = data;
    enum st_status st[ST_CUR_QUESTIONS];
    struct st_lab_store *s;
    if (!load_status(w, x, &s, st))
        return;
    struct st_error err = { 0 };
    int *due = st_arena_alloc(x->arena, ST_CUR_QUESTIONS * sizeof *due);
    size_t ndue = 0, nact = 0;
    struct st_lab_activity act[8];
    if (st_lab_review_due(s, ST_LAB_USER, st_time_wall_ms(), due, ST_CUR_QUESTIONS, &ndue, &err) ||
        st_lab_activity(s, ST_LAB_USER, act, 8, &nact, &err)) {
        db_error_page(x, &err);
        return;
    }
    struct st_buf *b = st_http_body_buf(x);
    st_html_page_begin(b, "Dashboard", "home");
    struct counts all = count(st, 1, ST_CUR_QUESTIONS);
    st_html_fmt(b, "<h1>Your lab</h1>\n<div class=\"grid\">\n<section class=\"card\" aria-labelledby=\"h-all\">"
                   "<h2 id=\"h-all\">Progress</h2>\n");
    st_html_fmt(b, "<p class=\"big\"><strong>%d</strong> of %d questions done</p>\n", all.n[ST_STATUS_DONE], all.total);
    bar(b, all);
    legend(b);
    st_html_fmt(b, "<p>%d to review &middot; %d in progress &middot; %d to do</p>\n</section>\n",
                all.n[ST_STATUS_REVIEW], all.n[ST_STATUS_DOING], all.n[ST_STATUS_TODO]);

    st_html_fmt(b, "<section class=\"card\" aria-labelledby=\"h-next\"><h2 id=\"h-next\">What to do next</h2>\n");
    int next = next_question(st);
    if (next) {
        const struct st_cur_question *q = st_cur_question(next);
        const struct st_cur_module *mod = st_cur_module(q->module);
        st_html_fmt(b,
                    "<p class=\"big\"><a href=\"/questions/%d\">Q%d. %s</a></p>\n<p class=\"muted\">Level %d, "
                    "module %d: %s &middot; %s &middot; ",
                    q->id, q->id, q->text, q->level, mod->id, mod->name, st_cur_kind_name(q->kind));
        badge(b, st[next - 1]);
        st_html_fmt(b, "</p>\n");
    } else {
        st_html_fmt(b, "<p class=\"big\">Every question is done. See <a href=\"/completion\">completion</a>.</p>\n");
    }
    st_html_fmt(b, "<p><a href=\"/review\">%zu review%s due today</a></p>\n</section>\n</div>\n", ndue,
                ndue == 1 ? "" : "s");

    st_html_fmt(b, "<h2>Levels and modules</h2>\n<ul class=\"progress\">\n");
    for (int l = 1; l <= ST_CUR_LEVELS; l++) {
        const struct st_cur_level *lv = st_cur_level(l);
        int first = 0, last = 0;
        for (int mi = 1; mi <= ST_CUR_MODULES; mi++)
            if (st_cur_module(mi)->level == l) {
                first = first ? first : (mi - 1) * 20 + 1;
                last = mi * 20;
            }
        struct counts c = count(st, first, last);
        st_html_fmt(b,
                    "<li><div class=\"row\"><a href=\"/levels/%d\"><strong>Level %d: %s</strong></a>"
                    "<span>%d/%d done</span></div>",
                    l, l, lv->name, c.n[ST_STATUS_DONE], c.total);
        bar(b, c);
        st_html_fmt(b, "<ul class=\"progress\">\n");
        for (int mi = 1; mi <= ST_CUR_MODULES; mi++) {
            const struct st_cur_module *mod = st_cur_module(mi);
            if (mod->level != l)
                continue;
            struct counts mc = count(st, (mi - 1) * 20 + 1, mi * 20);
            st_html_fmt(b, "<li><div class=\"row\"><a href=\"/modules/%d\">%d. %s</a><span>%d/%d</span></div>", mi, mi,
                        mod->name, mc.n[ST_STATUS_DONE], mc.total);
            bar(b, mc);
            st_html_fmt(b, "</li>\n");
        }
        st_html_fmt(b, "</ul></li>\n");
    }
    st_html_fmt(b, "</ul>\n<h2>Recent activity</h2>\n");
    if (nact)
        activity_rows(b, act, nact);
    else
        st_html_fmt(b, "<p class=\"muted\">Nothing yet: open a question and mark it.</p>\n");
    st_html_fmt(b, "<p><a href=\"/activity\">All activity</a></p>\n");
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- levels and modules ---- */

static void question_table(struct st_buf *b, const enum st_status *st, int first, int last)
{
    st_html_fmt(b, "<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Question</th>"
                   "<th scope=\"col\" class=\"hide-s\">Kind</th><th scope=\"col\">Status</th>"
                   "<th scope=\"col\" class=\"hide-s\">Grader</th></tr></thead>\n<tbody>\n");
    for (int id = first; id <= last; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        st_html_fmt(
            b, "<tr><td class=\"n\">%d</td><td><a href=\"/questions/%d\">%s</a></td><td class=\"hide-s\">%s</td><td>",
            id, id, q->text, st_cur_kind_name(q->kind));
        badge(b, st[id - 1]);
        st_html_fmt(b, "</td><td class=\"hide-s\">%s</td></tr>\n",
                    q->grader ? q->grader : (q->kind == ST_CUR_PRACTICAL ? "not yet" : ""));
    }
    st_html_fmt(b, "</tbody></table></div>\n");
}

static void level_nav(struct st_buf *b, int current)
{
    st_html_fmt(b, "<nav aria-label=\"Levels\"><ul class=\"legend\">");
    for (int l = 1; l <= ST_CUR_LEVELS; l++)
        st_html_fmt(b, "<li><a href=\"/levels/%d\"%R>Level %d: %s</a></li>", l,
                    l == current ? " aria-current=\"page\"" : "", l, st_cur_level(l)->name);
    st_html_fmt(b, "</ul></nav>\n");
}

static void page_level(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int l = int_param(x, "n", 1, ST_CUR_LEVELS);
    if (l < 0) {
        error_page(x, 404, "There is no such level (levels are 1 to 5).");
        return;
    }
    enum st_status st[ST_CUR_QUESTIONS];
    struct st_lab_store *s;
    if (!load_status(data, x, &s, st))
        return;
    const struct st_cur_level *lv = st_cur_level(l);
    struct st_buf *b = st_http_body_buf(x);
    char title[64];
    snprintf(title, sizeof title, "Level %d: %s", l, lv->name);
    st_html_page_begin(b, title, "questions");
    level_nav(b, l);
    st_html_fmt(b,
                "<h1>%s</h1>\n<dl class=\"meta\"><dt>Focus</dt><dd>%s</dd><dt>Goal</dt><dd>%s</dd>"
                "<dt>Suggested time</dt><dd>%s</dd></dl>\n",
                title, lv->focus, lv->goal, lv->time);
    for (int mi = 1; mi <= ST_CUR_MODULES; mi++) {
        const struct st_cur_module *mod = st_cur_module(mi);
        if (mod->level != l)
            continue;
        struct counts c = count(st, (mi - 1) * 20 + 1, mi * 20);
        st_html_fmt(b, "<h2><a href=\"/modules/%d\">Module %d: %s</a></h2>\n<p>%d of %d done</p>", mi, mi, mod->name,
                    c.n[ST_STATUS_DONE], c.total);
        bar(b, c);
        question_table(b, st, (mi - 1) * 20 + 1, mi * 20);
    }
    st_html_page_end(b);
    send_page(x, 200);
}

static void page_module(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int mi = int_param(x, "n", 1, ST_CUR_MODULES);
    if (mi < 0) {
        error_page(x, 404, "There is no such module (modules are 1 to 25).");
        return;
    }
    enum st_status st[ST_CUR_QUESTIONS];
    struct st_lab_store *s;
    if (!load_status(data, x, &s, st))
        return;
    const struct st_cur_module *mod = st_cur_module(mi);
    const struct st_cur_level *lv = st_cur_level(mod->level);
    struct st_buf *b = st_http_body_buf(x);
    char title[96];
    snprintf(title, sizeof title, "Module %d: %s", mi, mod->name);
    st_html_page_begin(b, title, "questions");
    st_html_fmt(b,
                "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/levels/%d\">Level %d: %s</a></li>"
                "<li><a href=\"/modules/%d\" aria-current=\"page\">Module %d</a></li></ol></nav>\n",
                lv->id, lv->id, lv->name, mi, mi);
    struct counts c = count(st, (mi - 1) * 20 + 1, mi * 20);
    struct st_cur_coverage cov = st_cur_coverage(0, mi, -1);
    st_html_fmt(b, "<h1>%s</h1>\n<p>%d of %d done &middot; %d answered in the lab &middot; %d with a grader</p>\n",
                title, c.n[ST_STATUS_DONE], c.total, cov.answered, cov.graded);
    bar(b, c);
    legend(b);
    question_table(b, st, (mi - 1) * 20 + 1, mi * 20);
    st_html_fmt(b, "<nav class=\"prevnext\" aria-label=\"Modules\">");
    if (mi > 1)
        st_html_fmt(b, "<a href=\"/modules/%d\" rel=\"prev\">&larr; Module %d: %s</a>", mi - 1, mi - 1,
                    st_cur_module(mi - 1)->name);
    else
        st_html_fmt(b, "<span></span>");
    if (mi < ST_CUR_MODULES)
        st_html_fmt(b, "<a href=\"/modules/%d\" rel=\"next\">Module %d: %s &rarr;</a>", mi + 1, mi + 1,
                    st_cur_module(mi + 1)->name);
    st_html_fmt(b, "</nav>\n");
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- the question page ---- */

static void grade_section(struct st_buf *b, const struct st_cur_question *q, const struct st_lab_attempt *att,
                          size_t natt)
{
    st_html_fmt(b, "<section aria-labelledby=\"h-grade\"><h2 id=\"h-grade\">Grade your implementation</h2>\n");
    if (!q->grader) {
        st_html_fmt(b, "<p class=\"muted\">No grader for this question yet.</p>\n</section>\n");
        return;
    }
    struct st_grade_info info = { 0 };
    bool known = st_grade_find(q->grader, &info) == 0;
    if (known && info.needs_cmd) {
        st_html_fmt(b,
                    "<p>This grader starts your program itself (<code>{port}</code> is the port to listen on%R), "
                    "so run it in a terminal:</p>\n<pre><code>strata grade %s --cmd \"YOUR COMMAND\"</code></pre>\n"
                    "<p>For example, against the reference:</p>\n<pre><code>strata grade %s --cmd \"strata example "
                    "basics --listen 127.0.0.1:{port}%R\"</code></pre>\n",
                    info.needs_dir ? ", <code>{dir}</code> the directory to serve" : "", q->grader, q->grader,
                    info.needs_dir ? " --directory {dir}" : "");
    } else {
        st_html_fmt(b,
                    "<p>Start your server, then run the grader from a terminal:</p>\n<pre><code>strata grade %s "
                    "--target http://127.0.0.1:PORT</code></pre>\n<p>or from here:</p>\n"
                    "<form method=\"post\" action=\"/questions/%d/grade\" class=\"row-form\">"
                    "<div><label for=\"target\">Address of your server</label>"
                    "<input type=\"text\" inputmode=\"url\" id=\"target\" name=\"target\" required "
                    "placeholder=\"http://127.0.0.1:8081\" autocomplete=\"url\"></div>"
                    "<div><button type=\"submit\">Grade it</button></div></form>\n",
                    q->grader, q->id);
    }
    const char *checks = rendered[q->id - 1].checks;
    if (checks)
        st_html_fmt(b, "<h3>What the grader checks</h3>\n<div class=\"answer\">%R</div>\n", checks);
    st_html_fmt(b, "<h3>Your attempts</h3>\n");
    if (!natt) {
        st_html_fmt(b, "<p class=\"muted\">None yet.</p>\n</section>\n");
        return;
    }
    st_html_fmt(b,
                "<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">Attempt</th><th scope=\"col\">Started</th>"
                "<th scope=\"col\">Target</th><th scope=\"col\">Result</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < natt; i++) {
        const char *state = st_lab_attempt_state_name(att[i].state);
        st_html_fmt(b, "<tr><td><a href=\"/attempts/%lld\">#%lld</a></td><td class=\"n\">", (long long)att[i].id,
                    (long long)att[i].id);
        time_html(b, att[i].started_ms);
        st_html_fmt(b, "</td><td><code>%s</code></td><td><span class=\"state state-%s\">%s</span> %d/%d</td></tr>\n",
                    att[i].target, state, state, att[i].passed, att[i].total);
    }
    st_html_fmt(b, "</tbody></table></div>\n</section>\n");
}

static void status_form(struct st_buf *b, int id, enum st_status cur)
{
    st_html_fmt(b,
                "<form method=\"post\" action=\"/questions/%d/status\"><fieldset class=\"choices\">"
                "<legend>Status: ",
                id);
    badge(b, cur);
    st_html_fmt(b, "</legend>");
    for (int s = 0; s < ST_STATUS_COUNT; s++)
        st_html_fmt(
            b, "<button type=\"submit\" name=\"status\" value=\"%s\" class=\"ghost\" aria-pressed=\"%s\">%s</button>",
            st_status_name((enum st_status)s), s == (int)cur ? "true" : "false", status_label((enum st_status)s));
    st_html_fmt(b, "</fieldset></form>\n");
}

static void page_question(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    int id = int_param(x, "id", 1, ST_CUR_QUESTIONS);
    if (id < 0) {
        error_page(x, 404, "There is no such question (questions are 1 to 500).");
        return;
    }
    enum st_status st[ST_CUR_QUESTIONS];
    struct st_lab_store *s;
    if (!load_status(data, x, &s, st))
        return;
    const struct st_cur_question *q = st_cur_question(id);
    struct st_error err = { 0 };
    struct st_buf note;
    st_buf_init(&note, ST_LAB_NOTE_MAX + 1);
    int64_t note_ms = 0;
    int rc = st_lab_web_note_get(data, x, id, &note, &note_ms, &err);
    struct st_lab_attempt att[ST_LAB_VIEW_ATTEMPTS];
    size_t natt = 0;
    if ((rc && rc != ST_ENOTFOUND) ||
        (q->grader && st_lab_web_attempts(data, x, id, att, ST_LAB_VIEW_ATTEMPTS, &natt, &err))) {
        st_buf_release(&note);
        db_error_page(x, &err);
        return;
    }
    const struct st_cur_module *mod = st_cur_module(q->module);
    const struct st_cur_level *lv = st_cur_level(q->level);
    struct st_buf *b = st_http_body_buf(x);
    char title[24];
    snprintf(title, sizeof title, "Q%d", id);
    st_html_page_begin(b, title, "questions");
    st_html_fmt(b,
                "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/levels/%d\">Level %d: %s</a></li>"
                "<li><a href=\"/modules/%d\">Module %d: %s</a></li><li><a href=\"/questions/%d\" "
                "aria-current=\"page\">Q%d</a></li></ol></nav>\n<h1>Q%d. %s</h1>\n<p>",
                lv->id, lv->id, lv->name, mod->id, mod->id, mod->name, id, id, id, q->text);
    badge(b, st[id - 1]);
    st_html_fmt(b, " <span class=\"muted\">%s", st_cur_kind_name(q->kind));
    for (int i = 0; i < q->ntags; i++)
        st_html_fmt(b, " &middot; %s", q->tags[i]);
    st_html_fmt(b, "</span></p>\n<section aria-labelledby=\"h-answer\"><h2 id=\"h-answer\">Answer</h2>\n");
    if (rendered[id - 1].answer)
        st_html_fmt(b, "<div class=\"answer\">%R</div>\n", rendered[id - 1].answer);
    else
        st_html_fmt(b, "<p class=\"muted\">No answer in the lab yet: write your own in the note below.</p>\n");
    st_html_fmt(b, "</section>\n");
    if (q->nsolutions) {
        st_html_fmt(b, "<section aria-labelledby=\"h-sol\"><h2 id=\"h-sol\">Reference solution</h2>\n<ul>\n");
        for (int i = 0; i < q->nsolutions; i++)
            st_html_fmt(b, "<li><a href=\"/source/%s\"><code>%s</code></a></li>\n", q->solutions[i], q->solutions[i]);
        st_html_fmt(b, "</ul>\n</section>\n");
    }
    if (q->demo)
        st_html_fmt(b,
                    "<section aria-labelledby=\"h-demo\"><h2 id=\"h-demo\">Run it</h2>\n<pre><code>%s</code></pre>"
                    "\n</section>\n",
                    q->demo);
    if (q->kind == ST_CUR_PRACTICAL)
        grade_section(b, q, att, natt);
    st_html_fmt(b, "<section aria-labelledby=\"h-mine\"><h2 id=\"h-mine\">Your progress</h2>\n");
    status_form(b, id, st[id - 1]);
    st_html_fmt(b,
                "<form method=\"post\" action=\"/questions/%d/note\"><label for=\"note\">Your note</label>"
                "<textarea id=\"note\" name=\"text\" maxlength=\"%d\">",
                id, ST_LAB_NOTE_MAX);
    st_html_text(b, st_buf_str(&note));
    st_html_fmt(b, "</textarea><p><button type=\"submit\">Save note</button>");
    if (note_ms) {
        st_html_fmt(b, " <span class=\"muted\">saved ");
        time_html(b, note_ms);
        st_html_fmt(b, "</span>");
    }
    st_html_fmt(b, "</p></form>\n</section>\n<nav class=\"prevnext\" aria-label=\"Questions\">");
    st_buf_release(&note);
    if (id > 1)
        st_html_fmt(b, "<a href=\"/questions/%d\" rel=\"prev\">&larr; Q%d</a>", id - 1, id - 1);
    else
        st_html_fmt(b, "<span></span>");
    if (id < ST_CUR_QUESTIONS)
        st_html_fmt(b, "<a href=\"/questions/%d\" rel=\"next\">Q%d &rarr;</a>", id + 1, id + 1);
    st_html_fmt(b, "</nav>\n");
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- forms: checks, then the write on the pool, then 303 ---- */

/* A POST from one of our pages, as a form; otherwise answers (403/415) and returns false. */
static bool form_ok(struct st_http_ex *x)
{
    struct st_str host = st_http_req_header(x, ST_HTTP_H_HOST);
    struct st_str origin = st_http_req_header_named(x, "Origin");
    struct st_str referer = st_http_req_header_named(x, "Referer");
    bool same = false;
    if (host.len) {
        const char *want = st_arena_printf(x->arena, "http://%.*s", ST_STR_FMT(host));
        size_t wl = strlen(want);
        if (origin.ptr && !st_str_eq_c(origin, "null"))
            same = origin.len == wl && strncasecmp(origin.ptr, want, wl) == 0;
        else if (referer.ptr)
            same = referer.len >= wl && strncasecmp(referer.ptr, want, wl) == 0 &&
                   (referer.len == wl || referer.ptr[wl] == '/');
    }
    if (!same) {
        error_page(x, 403,
                   "This form must be sent from the lab's own pages (the Origin or Referer header did not "
                   "name this server).");
        return false;
    }
    struct st_str ct = st_http_req_header(x, ST_HTTP_H_CONTENT_TYPE);
    static const char form[] = "application/x-www-form-urlencoded";
    if (ct.len < sizeof form - 1 || strncasecmp(ct.ptr, form, sizeof form - 1) != 0 ||
        (ct.len > sizeof form - 1 && ct.ptr[sizeof form - 1] != ';' && ct.ptr[sizeof form - 1] != ' ')) {
        error_page(x, 415, "Expected a form (application/x-www-form-urlencoded).");
        return false;
    }
    return true;
}

enum write_kind { W_STATUS, W_NOTE, W_REVIEW };

struct form_write {
    enum write_kind kind;
    int question;
    enum st_status status;
    const char *text;
    size_t len;
    int grade;
    int64_t now_ms;
    struct st_lab_review card;
    const char *back; /* where 303 goes (x->arena) */
};

/* On the pool thread: touches only its arguments and the pool's store. */
static int form_write_run(struct st_lab_store *s, void *arg, struct st_error *err)
{
    struct form_write *f = arg;
    switch (f->kind) {
    case W_STATUS: return st_lab_status_set(s, ST_LAB_USER, f->question, f->status, err);
    case W_NOTE: return st_lab_note_set(s, ST_LAB_USER, f->question, f->text, f->len, err);
    case W_REVIEW: return st_lab_review_grade(s, ST_LAB_USER, f->question, f->grade, f->now_ms, &f->card, err);
    }
    return st_error_set(err, ST_EINTERNAL, "unknown write");
}

static void form_write_done(struct st_http_ex *x, int rc, const struct st_error *err, void *arg)
{
    struct form_write *f = arg;
    if (rc == 0) {
        st_http_header(x, ST_STR_LIT("Location"), st_str_c(f->back));
        st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
        x->status = 303;
        st_http_send(x);
        return;
    }
    int status = rc == ST_EPARSE || rc == ST_EUSAGE ? 400 : rc == ST_ENOTFOUND ? 404 : rc == ST_ELIMIT ? 503 : 500;
    if (status == 500)
        st_log_error("lab: a form write failed", ST_LOG_INT("rc", rc), ST_LOG_STR("error", err->msg));
    error_page(x, status, err->msg[0] ? err->msg : "The change could not be saved.");
}

static struct form_write *form_begin(struct st_http_ex *x, enum write_kind kind)
{
    int id = int_param(x, "id", 1, ST_CUR_QUESTIONS);
    if (id < 0) {
        error_page(x, 404, "There is no such question (questions are 1 to 500).");
        return NULL;
    }
    if (!form_ok(x))
        return NULL;
    struct form_write *f = st_arena_zalloc(x->arena, sizeof *f);
    f->kind = kind;
    f->question = id;
    f->back = st_arena_printf(x->arena, "/questions/%d", id);
    return f;
}

/* The form field key decoded, or NULL after answering 400. */
static const char *form_field(struct st_http_ex *x, const char *key, size_t *len)
{
    struct st_str v;
    int rc = st_http_query_get(x->body, key, x->arena, &v);
    if (rc) {
        error_page(x, 400,
                   rc == ST_ENOTFOUND ? "A field of the form is missing." : "The form is not valid percent-encoding.");
        return NULL;
    }
    if (len)
        *len = v.len;
    return v.ptr;
}

static void post_status(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct form_write *f = form_begin(x, W_STATUS);
    const char *v = f ? form_field(x, "status", NULL) : NULL;
    if (!v)
        return;
    if (st_status_parse(v, &f->status)) {
        error_page(x, 400, "The status must be todo, doing, done or review.");
        return;
    }
    st_lab_web_write(data, x, form_write_run, form_write_done, f);
}

static void post_note(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct form_write *f = form_begin(x, W_NOTE);
    size_t len = 0;
    const char *v = f ? form_field(x, "text", &len) : NULL;
    if (!v)
        return;
    /* Browsers send a textarea's line breaks as CRLF: keep plain \n. */
    char *t = (char *)v;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!(t[i] == '\r' && i + 1 < len && t[i + 1] == '\n'))
            t[n++] = t[i];
    t[n] = '\0';
    if (n > ST_LAB_NOTE_MAX) {
        error_page(x, 413, "The note is too long (at most 64 KiB).");
        return;
    }
    f->text = t;
    f->len = n;
    st_lab_web_write(data, x, form_write_run, form_write_done, f);
}

static void post_review(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct form_write *f = form_begin(x, W_REVIEW);
    const char *v = f ? form_field(x, "grade", NULL) : NULL;
    if (!v)
        return;
    int64_t g;
    if (st_str_to_i64(st_str_c(v), &g) || g < 0 || g > 5) {
        error_page(x, 400, "The grade must be a number from 0 to 5.");
        return;
    }
    if (st_cur_question(f->question)->kind != ST_CUR_CONCEPTUAL) {
        error_page(x, 400, "Only conceptual questions are reviewed.");
        return;
    }
    f->grade = (int)g;
    f->now_ms = st_time_wall_ms();
    f->back = st_arena_printf(x->arena, "/review?last=%d", f->question);
    st_lab_web_write(data, x, form_write_run, form_write_done, f);
}

/* ---- search ---- */

static void select_int(struct st_buf *b, const char *id, const char *label, int lo, int hi, int cur, bool modules)
{
    st_html_fmt(b, "<div><label for=\"%s\">%s</label><select id=\"%s\" name=\"%s\"><option value=\"\">any</option>", id,
                label, id, id);
    for (int i = lo; i <= hi; i++)
        st_html_fmt(b, "<option value=\"%d\"%R>%d: %s</option>", i, i == cur ? " selected" : "", i,
                    modules ? st_cur_module(i)->name : st_cur_level(i)->name);
    st_html_fmt(b, "</select></div>");
}

/* "/search?q=...&level=..." for page p (escaped later by %s). */
static const char *search_href(struct st_http_ex *x, const char *text, int level, int module, int kind, int p)
{
    struct st_buf u;
    st_buf_init(&u, 16384);
    st_buf_append_c(&u, "/search?q=");
    st_http_pct_encode(&u, st_str_c(text), ST_HTTP_PCT_FORM);
    if (level)
        st_buf_printf(&u, "&level=%d", level);
    if (module)
        st_buf_printf(&u, "&module=%d", module);
    if (kind >= 0)
        st_buf_printf(&u, "&kind=%s", st_cur_kind_name((enum st_cur_kind)kind));
    st_buf_printf(&u, "&page=%d", p);
    char *r = st_arena_strndup(x->arena, u.data, u.len);
    st_buf_release(&u);
    return r;
}

static void page_search(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_web *w = data;
    const char *text = query_str(x, "q");
    int level = query_int(x, "level", 1, ST_CUR_LEVELS, 0);
    int module = query_int(x, "module", 1, ST_CUR_MODULES, 0);
    int page = query_int(x, "page", 1, 1000, 1);
    enum st_cur_kind k;
    int kind = st_cur_kind_parse(query_str(x, "kind"), &k) ? -1 : (int)k;
    enum st_status st[ST_CUR_QUESTIONS];
    struct st_lab_store *s;
    if (!load_status(w, x, &s, st))
        return;
    struct st_lab_hit hits[PAGE_SIZE];
    size_t n = 0, total = 0;
    bool asked = st_str_trim(st_str_c(text)).len > 0;
    if (asked) {
        struct st_error err = { 0 };
        struct st_lab_search *idx = st_lab_web_search(w, x);
        struct st_lab_search_query q = { text, level, module, kind, (size_t)(page - 1) * PAGE_SIZE, PAGE_SIZE };
        int rc = idx ? st_lab_search_run(idx, &q, hits, &n, &total, x->arena, &err) : ST_EINTERNAL;
        if (rc == ST_EPARSE) {
            asked = false;
        } else if (rc) {
            db_error_page(x, &err);
            return;
        }
    }
    struct st_buf *b = st_http_body_buf(x);
    st_html_page_begin(b, asked ? text : "Search", "search");
    st_html_fmt(b,
                "<h1>Search</h1>\n<form method=\"get\" action=\"/search\" role=\"search\" class=\"row-form\">"
                "<div><label for=\"q\">Words</label><input type=\"search\" id=\"q\" name=\"q\" value=\"%s\" "
                "placeholder=\"consistent hashing\"></div>",
                text);
    select_int(b, "level", "Level", 1, ST_CUR_LEVELS, level, false);
    select_int(b, "module", "Module", 1, ST_CUR_MODULES, module, true);
    st_html_fmt(b,
                "<div><label for=\"kind\">Kind</label><select id=\"kind\" name=\"kind\"><option value=\"\">any</option>"
                "<option value=\"conceptual\"%R>conceptual</option><option value=\"practical\"%R>practical</option>"
                "</select></div><div><button type=\"submit\">Search</button></div></form>\n",
                kind == ST_CUR_CONCEPTUAL ? " selected" : "", kind == ST_CUR_PRACTICAL ? " selected" : "");
    if (asked) {
        st_html_fmt(b,
                    "<p role=\"status\">%zu result%s for <strong>%s</strong></p>\n<ol class=\"hits\" start=\"%d\">\n",
                    total, total == 1 ? "" : "s", text, (page - 1) * PAGE_SIZE + 1);
        for (size_t i = 0; i < n; i++) {
            const struct st_cur_question *q = st_cur_question(hits[i].question);
            if (!q)
                continue;
            st_html_fmt(b, "<li><a href=\"/questions/%d\"><strong>Q%d.</strong> %s</a> ", q->id, q->id, q->text);
            badge(b, st[q->id - 1]);
            st_html_fmt(b, " <span class=\"muted\">%s &middot; module %d: %s</span><p>%R</p></li>\n",
                        st_cur_kind_name(q->kind), q->module, st_cur_module(q->module)->name,
                        hits[i].snippet ? hits[i].snippet : "");
        }
        st_html_fmt(b, "</ol>\n");
        size_t pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
        if (pages > 1) {
            st_html_fmt(b, "<nav class=\"pager\" aria-label=\"Result pages\">");
            if (page > 1)
                st_html_fmt(b, "<a href=\"%s\" rel=\"prev\">&larr; Previous</a>",
                            search_href(x, text, level, module, kind, page - 1));
            st_html_fmt(b, "<span>Page %d of %zu</span>", page, pages);
            if ((size_t)page < pages)
                st_html_fmt(b, "<a href=\"%s\" rel=\"next\">Next &rarr;</a>",
                            search_href(x, text, level, module, kind, page + 1));
            st_html_fmt(b, "</nav>\n");
        }
    }
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- review ---- */

static const char *const grade_label[6] = { "0 blackout",           "1 wrong", "2 wrong, but familiar",
                                            "3 right, with effort", "4 right", "5 perfect" };

static void page_review(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_store *s = st_lab_web_store(data, x);
    struct st_error err = { 0 };
    int *due = st_arena_alloc(x->arena, ST_CUR_QUESTIONS * sizeof *due);
    size_t n = 0;
    int64_t now = st_time_wall_ms();
    if (!s || st_lab_review_due(s, ST_LAB_USER, now, due, ST_CUR_QUESTIONS, &n, &err)) {
        db_error_page(x, &err);
        return;
    }
    struct st_buf *b = st_http_body_buf(x);
    st_html_page_begin(b, "Review", "review");
    st_html_fmt(b, "<h1>Review</h1>\n");
    int last = query_int(x, "last", 1, ST_CUR_QUESTIONS, 0);
    struct st_lab_review card;
    if (last && st_lab_review_get(s, ST_LAB_USER, last, &card, &err) == 0) {
        char when[ST_TIME_RFC3339_LEN + 1];
        date_of(card.due_ms, when);
        when[10] = '\0';
        st_html_fmt(b,
                    "<p class=\"ok\" role=\"status\">Q%d graded %d: next review on <time datetime=\"%s\">%s</time> "
                    "(in %d day%s).</p>\n",
                    last, card.last_grade, when, when, card.interval_days, card.interval_days == 1 ? "" : "s");
    }
    if (!n) {
        st_html_fmt(b, "<p>Nothing is due today. Questions you mark <em>done</em> or <em>review</em> join the "
                       "deck; come back tomorrow.</p>\n");
        st_html_page_end(b);
        send_page(x, 200);
        return;
    }
    const struct st_cur_question *q = st_cur_question(due[0]);
    st_html_fmt(b,
                "<p>%zu card%s due today.</p>\n<section class=\"card\" aria-labelledby=\"h-card\">"
                "<h2 id=\"h-card\"><a href=\"/questions/%d\">Q%d.</a> %s</h2>\n"
                "<details class=\"reveal\"><summary>Show answer</summary>\n",
                n, n == 1 ? "" : "s", q->id, q->id, q->text);
    if (rendered[q->id - 1].answer)
        st_html_fmt(b, "<div class=\"answer\">%R</div>\n", rendered[q->id - 1].answer);
    else
        st_html_fmt(b,
                    "<p class=\"muted\">No answer in the lab yet; compare with your "
                    "<a href=\"/questions/%d\">note</a>.</p>\n",
                    q->id);
    st_html_fmt(b,
                "</details>\n<form method=\"post\" action=\"/review/%d\"><fieldset class=\"choices grades\">"
                "<legend>How well did you remember it?</legend>",
                q->id);
    for (int g = 0; g <= 5; g++)
        st_html_fmt(b, "<button type=\"submit\" name=\"grade\" value=\"%d\">%s</button>", g, grade_label[g]);
    st_html_fmt(b, "</fieldset></form>\n</section>\n");
    if (n > 1) {
        st_html_fmt(b, "<h2>Also due</h2>\n<ul>\n");
        for (size_t i = 1; i < n && i < 50; i++)
            st_html_fmt(b, "<li><a href=\"/questions/%d\">Q%d. %s</a></li>\n", due[i], due[i],
                        st_cur_question(due[i])->text);
        st_html_fmt(b, "</ul>\n");
    }
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- completion ---- */

/*
 * The bank's own completion criteria: "🎯 Completion Criteria / To Reach Top 0.1% Level" at
 * the end of shared/question-bank.md. The lab measures the first three from the learner's
 * progress; the others happen outside it and are listed as such.
 *   answered: questions marked done;
 *   built:    practical questions marked done or with a passing grader attempt;
 *   designed: "Design ..." questions (the bank's system-design prompts) marked done.
 */
enum measure { M_ANSWERED, M_BUILT, M_DESIGNED, M_OUTSIDE };
static const struct {
    const char *text;
    int target;
    enum measure measure;
} criteria[] = {
    { "Answer all 500 questions with detailed explanations", 500, M_ANSWERED },
    { "Build 100+ projects from practical questions", 100, M_BUILT },
    { "Design 20+ systems at FAANG interview level", 20, M_DESIGNED },
    { "Master 10+ technologies (databases, message queues, cloud, etc.)", 10, M_OUTSIDE },
    { "Contribute to open source distributed systems projects", 0, M_OUTSIDE },
    { "Write technical blogs explaining complex concepts", 0, M_OUTSIDE },
    { "Mentor others and share knowledge", 0, M_OUTSIDE },
};

static bool is_design(const struct st_cur_question *q)
{
    return strncmp(q->text, "Design ", 7) == 0;
}

static void page_completion(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    enum st_status st[ST_CUR_QUESTIONS];
    struct st_lab_store *s;
    if (!load_status(data, x, &s, st))
        return;
    size_t max = 4096, natt = 0;
    struct st_lab_attempt *att = malloc(max * sizeof *att);
    struct st_error err = { 0 };
    if (!att || st_lab_attempts_list(s, ST_LAB_USER, 0, att, max, &natt, &err)) {
        free(att);
        db_error_page(x, &err);
        return;
    }
    bool passed[ST_CUR_QUESTIONS] = { false };
    for (size_t i = 0; i < natt; i++)
        if (att[i].state == ST_ATTEMPT_PASSED && att[i].question >= 1 && att[i].question <= ST_CUR_QUESTIONS)
            passed[att[i].question - 1] = true;
    free(att);
    int value[M_OUTSIDE] = { 0 }, graded = 0, with_grader = 0, design_total = 0;
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        bool done = st[id - 1] == ST_STATUS_DONE;
        value[M_ANSWERED] += done;
        if (q->kind == ST_CUR_PRACTICAL) {
            value[M_BUILT] += done || passed[id - 1];
            graded += passed[id - 1];
            with_grader += q->grader != NULL;
        }
        if (is_design(q)) {
            design_total++;
            value[M_DESIGNED] += done;
        }
    }
    struct st_buf *b = st_http_body_buf(x);
    st_html_page_begin(b, "Completion", "completion");
    st_html_fmt(b, "<h1>Completion</h1>\n<p>The bank's own criteria for reaching the top 0.1%% level, "
                   "and where you stand.</p>\n<ul class=\"progress\">\n");
    for (size_t i = 0; i < sizeof criteria / sizeof *criteria; i++) {
        st_html_fmt(b, "<li class=\"card\"><h2>%s</h2>", criteria[i].text);
        if (criteria[i].measure == M_OUTSIDE) {
            st_html_fmt(b, "<p class=\"muted\">Outside the lab: keep track of it yourself.</p></li>\n");
            continue;
        }
        int v = value[criteria[i].measure], t = criteria[i].target;
        struct counts c = { { 0 }, t };
        c.n[ST_STATUS_DONE] = v < t ? v : t;
        c.n[ST_STATUS_TODO] = t - c.n[ST_STATUS_DONE];
        st_html_fmt(b, "<p class=\"big\"><strong>%d</strong> of %d%R</p>", v, t,
                    v >= t ? " <span class=\"ok\">reached</span>" : "");
        bar(b, c);
        if (criteria[i].measure == M_BUILT)
            st_html_fmt(b,
                        "<p>Practical questions marked done or passed by a grader. %d passed a grader "
                        "(%d practical questions have one yet).</p>",
                        graded, with_grader);
        else if (criteria[i].measure == M_DESIGNED)
            st_html_fmt(b, "<p>The bank's %d &ldquo;Design &hellip;&rdquo; questions marked done.</p>", design_total);
        else
            st_html_fmt(b, "<p>Questions marked done.</p>");
        st_html_fmt(b, "</li>\n");
    }
    st_html_fmt(b, "</ul>\n<h2>The design questions</h2>\n<ul>\n");
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        if (!is_design(q))
            continue;
        st_html_fmt(b, "<li><a href=\"/questions/%d\">Q%d. %s</a> ", id, id, q->text);
        badge(b, st[id - 1]);
        st_html_fmt(b, "</li>\n");
    }
    st_html_fmt(b, "</ul>\n");
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- notes and activity ---- */

static void page_notes(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_store *s = st_lab_web_store(data, x);
    struct st_error err = { 0 };
    int *ids = st_arena_alloc(x->arena, ST_CUR_QUESTIONS * sizeof *ids);
    size_t n = 0;
    if (!s || st_lab_notes_list(s, ST_LAB_USER, ids, ST_CUR_QUESTIONS, &n, &err)) {
        db_error_page(x, &err);
        return;
    }
    struct st_buf *b = st_http_body_buf(x);
    st_html_page_begin(b, "Notes", "notes");
    st_html_fmt(b, "<h1>Notes</h1>\n");
    if (!n)
        st_html_fmt(b, "<p class=\"muted\">No notes yet: every question page has a note form.</p>\n");
    st_html_fmt(b, "<ul class=\"notes\">\n");
    struct st_buf text;
    st_buf_init(&text, ST_LAB_NOTE_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        int64_t at = 0;
        int rc = st_lab_note_get(s, ST_LAB_USER, ids[i], &text, &at, &err);
        if (rc == ST_ENOTFOUND)
            continue;
        if (rc) {
            st_buf_release(&text);
            st_buf_clear(b);
            db_error_page(x, &err);
            return;
        }
        const struct st_cur_question *q = st_cur_question(ids[i]);
        st_html_fmt(b, "<li><h2><a href=\"/questions/%d\">Q%d. %s</a></h2><p class=\"muted\">", ids[i], ids[i],
                    q ? q->text : "");
        time_html(b, at);
        st_html_fmt(b, "</p><p class=\"note\">");
        st_html_text(b, st_buf_str(&text));
        st_html_fmt(b, "</p></li>\n");
    }
    st_buf_release(&text);
    st_html_fmt(b, "</ul>\n");
    st_html_page_end(b);
    send_page(x, 200);
}

static void page_activity(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct st_lab_store *s = st_lab_web_store(data, x);
    struct st_error err = { 0 };
    size_t max = 200, n = 0;
    struct st_lab_activity *a = st_arena_alloc(x->arena, max * sizeof *a);
    if (!s || st_lab_activity(s, ST_LAB_USER, a, max, &n, &err)) {
        db_error_page(x, &err);
        return;
    }
    struct st_buf *b = st_http_body_buf(x);
    st_html_page_begin(b, "Activity", "activity");
    st_html_fmt(b, "<h1>Activity</h1>\n");
    if (n)
        activity_rows(b, a, n);
    else
        st_html_fmt(b, "<p class=\"muted\">Nothing yet.</p>\n");
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- the reference solutions' source ---- */

/* Whether rel (normalized, no leading or trailing '/') may be shown: a solution path of
 * some question, or inside a solution that is a directory. Also lists who cites it. */
static bool source_allowed(const char *rel, struct st_buf *cited)
{
    size_t rl = strlen(rel);
    bool ok = false;
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        for (int i = 0; i < q->nsolutions; i++) {
            struct st_str sol = st_str_c(q->solutions[i]);
            while (sol.len && sol.ptr[sol.len - 1] == '/')
                sol.len--;
            bool hit = (rl == sol.len && memcmp(rel, sol.ptr, rl) == 0) ||
                       (sol.len && rl > sol.len && memcmp(rel, sol.ptr, sol.len) == 0 && rel[sol.len] == '/');
            if (hit) {
                if (cited->len)
                    st_buf_append_c(cited, ", ");
                st_buf_printf(cited, "<a href=\"/questions/%d\">Q%d</a>", id, id);
                ok = true;
                break;
            }
        }
    }
    return ok;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void source_dir(struct st_http_ex *x, struct st_buf *b, const char *rel, const char *abs)
{
    DIR *d = opendir(abs);
    if (!d) {
        st_html_fmt(b, "<p class=\"error\">This folder cannot be read.</p>\n");
        return;
    }
    size_t n = 0, cap = 256;
    char **names = st_arena_alloc(x->arena, cap * sizeof *names);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < cap) {
        if (e->d_name[0] == '.')
            continue;
        char *full = st_arena_printf(x->arena, "%s/%s", abs, e->d_name);
        struct stat sb;
        if (stat(full, &sb))
            continue;
        names[n++] = st_arena_printf(x->arena, "%s%s", e->d_name, S_ISDIR(sb.st_mode) ? "/" : "");
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    st_html_fmt(b, "<ul class=\"files\">\n");
    for (size_t i = 0; i < n; i++)
        st_html_fmt(b, "<li><a href=\"/source/%s/%s\"><code>%s</code></a></li>\n", rel, names[i], names[i]);
    st_html_fmt(b, "</ul>\n");
}

static void source_file(struct st_buf *b, const char *abs)
{
    int fd = open(abs, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > (off_t)SOURCE_MAX) {
        if (fd >= 0)
            close(fd);
        st_html_fmt(b, "<p class=\"error\">This file cannot be shown (unreadable or larger than 1 MiB).</p>\n");
        return;
    }
    char *text = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    while (text && got < (size_t)sb.st_size) {
        ssize_t r = read(fd, text + got, (size_t)sb.st_size - got);
        if (r <= 0 && !(r < 0 && errno == EINTR))
            break;
        got += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    if (!text || memchr(text, '\0', got)) {
        free(text);
        st_html_fmt(b, "<p class=\"muted\">A binary file: not shown.</p>\n");
        return;
    }
    st_html_fmt(b, "<pre class=\"source\"><code>");
    st_html_text(b, st_str(text, got));
    st_html_fmt(b, "</code></pre>\n");
    free(text);
}

static void page_source(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    struct st_str raw = st_http_param(x, "path");
    char *rel = st_arena_alloc(x->arena, raw.len + 1);
    size_t rl = 0;
    if (raw.len && st_http_path_normalize(raw, rel, &rl)) {
        error_page(x, 404, "No such source file.");
        return;
    }
    rel[rl] = '\0';
    struct st_buf *b = st_http_body_buf(x);
    if (!rl) { /* the index: every solution path once */
        st_html_page_begin(b, "Reference solutions", "questions");
        st_html_fmt(b, "<h1>Reference solutions</h1>\n<ul class=\"files\">\n");
        for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
            const struct st_cur_question *q = st_cur_question(id);
            for (int i = 0; i < q->nsolutions; i++) {
                bool seen = false;
                for (int j = 1; j <= id && !seen; j++) {
                    const struct st_cur_question *p = st_cur_question(j);
                    for (int k = 0; k < p->nsolutions && !seen && (j < id || k < i); k++)
                        seen = strcmp(p->solutions[k], q->solutions[i]) == 0;
                }
                if (!seen)
                    st_html_fmt(b, "<li><a href=\"/source/%s\"><code>%s</code></a></li>\n", q->solutions[i],
                                q->solutions[i]);
            }
        }
        st_html_fmt(b, "</ul>\n");
        st_html_page_end(b);
        send_page(x, 200);
        return;
    }
    struct st_buf cited;
    st_buf_init(&cited, 1 << 20);
    if (!source_allowed(rel, &cited)) {
        st_buf_release(&cited);
        error_page(x, 404, "Only the reference solutions of the questions are shown here.");
        return;
    }
    char *abs = NULL, *canon = NULL;
    if (srcroot[0]) {
        abs = st_arena_printf(x->arena, "%s/%s", srcroot, rel);
        canon = realpath(abs, NULL);
    }
    size_t sl = strlen(srcroot);
    if (!canon || strncmp(canon, srcroot, sl) != 0 || canon[sl] != '/') {
        free(canon);
        st_buf_release(&cited);
        error_page(x, 404,
                   srcroot[0] ? "That file is not in the source tree."
                              : "The source tree was not found: set STRATA_SRCROOT to the repository.");
        return;
    }
    struct stat sb;
    bool dir = stat(canon, &sb) == 0 && S_ISDIR(sb.st_mode);
    st_html_page_begin(b, rel, "questions");
    st_html_fmt(b,
                "<nav class=\"crumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"/source/\">Reference "
                "solutions</a></li><li><a href=\"/source/%s\" aria-current=\"page\">%s</a></li></ol></nav>\n"
                "<h1><code>%s%s</code></h1>\n<p>The reference solution of %R.</p>\n",
                rel, rel, rel, dir ? "/" : "", cited.data ? cited.data : "");
    st_buf_release(&cited);
    if (dir)
        source_dir(x, b, rel, canon);
    else
        source_file(b, canon);
    free(canon);
    st_html_page_end(b);
    send_page(x, 200);
}

/* ---- routes ---- */

static const struct {
    const char *method, *pattern;
    void (*fn)(struct st_http_ex *x, const struct st_http_route_match *m, void *data);
} routes[] = {
    { "GET", "/", page_dashboard },
    { "GET", "/levels/:n", page_level },
    { "GET", "/modules/:n", page_module },
    { "GET", "/questions/:id", page_question },
    { "POST", "/questions/:id/status", post_status },
    { "POST", "/questions/:id/note", post_note },
    { "GET", "/search", page_search },
    { "GET", "/review", page_review },
    { "POST", "/review/:id", post_review },
    { "GET", "/completion", page_completion },
    { "GET", "/notes", page_notes },
    { "GET", "/activity", page_activity },
    { "GET", "/source", page_source },
    { "GET", "/source/*path", page_source },
};

int st_lab_pages_routes(struct st_lab_web *w)
{
    pthread_once(&rendered_once, render_all);
    find_srcroot();
    int rc = st__web_assets_routes(w);
    for (size_t i = 0; !rc && i < sizeof routes / sizeof *routes; i++)
        rc = st_http_app_route(&w->app, routes[i].method, routes[i].pattern, routes[i].fn, w);
    return rc;
}
