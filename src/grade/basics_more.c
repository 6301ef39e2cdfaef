/*
 * basics_more.c - graders for module 1, questions 16-20: request logging, error
 * handling, CRUD, validation, static files. Q11-Q15 are in basics.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/time.h"
#include "grade/internal.h"

/* ---- Q16: request logging ---- */

#define Q16_MAX 16

struct logged {
    char method[8];
    char path[40];
    int status;
};

/* One whitespace-separated word of a log line, quotes and JSON punctuation stripped. */
static bool word_matches(struct st_str w, const char *value)
{
    size_t n = strlen(value);
    while (w.len && strchr("\"'{[(,", w.ptr[0]))
        w = st_str_sub(w, 1, w.len);
    while (w.len && strchr("\"'}]),", w.ptr[w.len - 1]))
        w.len--;
    if (st_str_eq_c(w, value))
        return true;
    /* key=value, key="value", "key":"value", key:value */
    if (w.len > n && memcmp(w.ptr + w.len - n, value, n) == 0) {
        char before = w.ptr[w.len - n - 1];
        if (before == '=' || before == ':')
            return true;
        if ((before == '"' || before == '\'') && w.len > n + 1 &&
            (w.ptr[w.len - n - 2] == '=' || w.ptr[w.len - n - 2] == ':'))
            return true;
    }
    return false;
}

static bool line_has(struct st_str line, const char *value)
{
    struct st_str rest = line, w;
    while (rest.len) {
        /* Split on spaces, tabs and commas (JSON lines without spaces). */
        size_t i = 0;
        while (i < rest.len && rest.ptr[i] != ' ' && rest.ptr[i] != '\t' && rest.ptr[i] != ',')
            i++;
        w = st_str(rest.ptr, i);
        rest = st_str_sub(rest, i < rest.len ? i + 1 : i, rest.len);
        if (w.len && word_matches(w, value))
            return true;
    }
    return false;
}

/* Compiled once for the process: runs may happen on several threads (strata serve). */
static regex_t duration_re;
static bool duration_re_ok;
static pthread_once_t duration_once = PTHREAD_ONCE_INIT;

static void compile_duration_re(void)
{
    duration_re_ok =
        regcomp(&duration_re, "(duration|elapsed|latency|took|response_time)[a-z_]*\"?[=:] ?\"?[0-9]+(\\.[0-9]+)?",
                REG_EXTENDED | REG_ICASE) == 0;
}

static bool line_has_duration(struct st_str line)
{
    pthread_once(&duration_once, compile_duration_re);
    if (!duration_re_ok)
        return false;
    char *s = st_xstrndup(line.ptr, line.len);
    bool ok = regexec(&duration_re, s, 0, NULL, 0) == 0;
    free(s);
    return ok;
}

/* Send n random requests; record what was sent and the status that came back. */
static bool q16_send(struct st_grade *g, struct logged *reqs, int n)
{
    static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH" };
    for (int i = 0; i < n; i++) {
        struct logged *l = &reqs[i];
        char a[12], b[8];
        g_word(g, a, 10, G_ALNUM);
        g_word(g, b, 5, G_ALNUM);
        snprintf(l->method, sizeof(l->method), "%s", methods[g_rand(g) % 5]);
        snprintf(l->path, sizeof(l->path), "/%s/%s", a, b);
        bool body = strcmp(l->method, "GET") != 0 && strcmp(l->method, "DELETE") != 0;
        struct g_req req = { .method = l->method,
                             .target = l->path,
                             .ctype = body ? "application/json" : NULL,
                             .body = body ? "{}" : NULL };
        const struct st_http_resp *r = g_do(g, &req);
        if (!r)
            return false;
        l->status = r->status;
    }
    return true;
}

/* Lines of out that mention path (unique random text): their indexes. */
static int lines_with(const struct st_buf *out, const char *path, struct st_str *found, int max)
{
    int n = 0;
    struct st_str all = st_buf_str(out), line;
    while (all.len) {
        all = st_str_cut(all, '\n', &line, NULL);
        if (st_str_find(line, st_str_c(path)) >= 0) {
            if (n < max)
                found[n] = line;
            n++;
        }
    }
    return n;
}

static bool q16_check(struct st_grade *g, int what)
{
    struct logged reqs[Q16_MAX];
    int n = (int)g_range(g, 6, 12);
    if (!q16_send(g, reqs, n))
        return false;
    struct st_buf out;
    st_buf_init(&out, ST_BUF_UNLIMITED);
    g_output(g, 300, &out); /* give the program a moment to write its lines */
    g->shown = NULL;
    bool ok = true;
    const char *prev = NULL;
    for (int i = 0; ok && i < n; i++) {
        struct logged *l = &reqs[i];
        char status[8];
        snprintf(status, sizeof(status), "%d", l->status);
        struct st_str lines[4];
        int k = lines_with(&out, l->path, lines, 4);
        if (k != 1) {
            ok = g_fail(g, "request %d (%s %s -> %d): expected exactly one log line containing its path, found %d",
                        i + 1, l->method, l->path, l->status, k);
            break;
        }
        struct st_str line = lines[0];
        if (what == 0 && (!line_has(line, l->method) || !line_has(line, l->path) || !line_has(line, status)))
            ok = g_fail(g,
                        "request %d (%s %s -> %d): the log line lacks the method, path or status as a word or "
                        "key=value: %s",
                        i + 1, l->method, l->path, l->status, g_quote(line.ptr, line.len, 300));
        else if (what == 1 && prev && line.ptr < prev)
            ok = g_fail(g, "request %d (%s %s) is logged before request %d: lines must follow request order", i + 1,
                        l->method, l->path, i);
        else if (what == 2 && !line_has_duration(line))
            ok = g_fail(g, "request %d: the log line has no duration field (e.g. duration_ms=1.2): %s", i + 1,
                        g_quote(line.ptr, line.len, 300));
        prev = line.ptr;
    }
    if (!ok) {
        size_t from = out.len > 600 ? out.len - 600 : 0;
        size_t used = strlen(g->reason);
        snprintf(g->reason + used, sizeof(g->reason) - used, "; the program's output%s: %s",
                 from ? " (last 600 bytes)" : "",
                 out.len ? g_quote(out.data + from, out.len - from, 600) : "(nothing)");
    }
    st_buf_release(&out);
    return ok;
}

static bool q16_logged(struct st_grade *g)
{
    return q16_check(g, 0);
}
static bool q16_order(struct st_grade *g)
{
    return q16_check(g, 1);
}
static bool q16_duration(struct st_grade *g)
{
    return q16_check(g, 2);
}

static const struct st_grade_check q16_checks[] = {
    { "random requests: each logged in exactly one line with method, path and status", q16_logged },
    { "log lines appear in request order", q16_order },
    { "every log line has a duration field", q16_duration },
    { NULL, NULL },
};
const struct st_grader st__grade_q16 = { "q16", 16, ST_GRADE_NEEDS_CMD, NULL, q16_checks };

/* ---- Q17: error handling ---- */

static bool q17_not_found(struct st_grade *g)
{
    for (int i = 0; i < 3; i++) {
        char w[12], path[40];
        g_word(g, w, 10, G_ALNUM);
        snprintf(path, sizeof(path), "/%s%s", w, i == 1 ? "/deeper" : i == 2 ? ".html" : "");
        const struct st_http_resp *r = g_get(g, path);
        if (!r)
            return false;
        json_t *p = g_problem(g, r, 404, true, false);
        if (!p)
            return false;
        json_decref(p);
    }
    return true;
}

/* Signs of a leaked stack trace or source location. */
static bool leaks_internals(struct st_grade *g, const struct st_http_resp *r)
{
    static const char *const words[] = { "traceback", "stack trace",  "stacktrace", "exception in",
                                         "panic:",    "segmentation", "\n    at ",  "goroutine " };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (g_contains_ci(r->body.data, r->body.len, words[i]))
            return g_fail(g, "the 500 body leaks internals (%s): %s", g_quote(words[i], strlen(words[i]), 20),
                          g_quote(r->body.data, r->body.len, 300)),
                   true;
    }
    regex_t re;
    /* Absolute paths under the usual roots (not URLs: a problem "type" may be one), and
     * source locations such as app.py:12 or "server.js", line 3. */
    if (regcomp(&re,
                "(^|[^A-Za-z0-9_.:/-])/(home|usr|root|opt|var|tmp|srv|etc|lib|Users|app|src|work|build)/|"
                "[A-Za-z0-9_-]+\\.(py|js|mjs|ts|c|h|cc|cpp|go|rb|java|php|rs|cs)(:[0-9]+|\", line)",
                REG_EXTENDED) != 0)
        return false;
    char *s = st_xstrndup(r->body.data ? r->body.data : "", r->body.len);
    regmatch_t m;
    bool leak = regexec(&re, s, 1, &m, 0) == 0;
    if (leak)
        g_fail(g, "the 500 body leaks a file path or source location (%s): %s",
               g_quote(s + m.rm_so, (size_t)(m.rm_eo - m.rm_so), 80), g_quote(s, r->body.len, 300));
    free(s);
    regfree(&re);
    return leak;
}

static bool q17_error(struct st_grade *g)
{
    const struct st_http_resp *r = g_get(g, "/error");
    if (!r)
        return false;
    json_t *p = g_problem(g, r, 500, true, false);
    if (!p)
        return false;
    json_decref(p);
    return !leaks_internals(g, r);
}

static bool q17_stays_up(struct st_grade *g)
{
    for (int i = 0; i < 2; i++) {
        const struct st_http_resp *r = g_get(g, "/error");
        if (!r || !g_status(g, r, 500))
            return false;
    }
    struct g_req req = { .target = "/", .fresh = true };
    const struct st_http_resp *r = g_do(g, &req);
    return r && g_status(g, r, 200);
}

static bool q17_malformed(struct st_grade *g)
{
    static const char *const lines[] = { "GET / HTTP/1.1 extra", "GET / HTTX/1.1", "GET / HTTP/1.x", "GARBAGE" };
    int first = (int)g_range(g, 0, 3);
    for (int i = 0; i < 2; i++) {
        char req[256];
        int n = snprintf(req, sizeof(req), "%s\r\nHost: %s\r\n\r\n", lines[(first + i) % 4], g->target);
        const struct st_http_exchange *x = g_raw(g, req, (size_t)n, 1, 0, false);
        if (!x || !g_status(g, &x->resp[0], 400))
            return false;
        struct g_req next = { .target = "/", .fresh = true };
        const struct st_http_resp *r = g_do(g, &next);
        if (!r)
            return false;
        if (r->status != 200)
            return g_fail(g, "after a malformed request the next connection got %d for GET /, expected 200", r->status);
    }
    return true;
}

static const struct st_grade_check q17_checks[] = {
    { "GET of random unknown paths -> 404 problem+json with status 404", q17_not_found },
    { "GET /error -> 500 problem+json with status 500, no stack trace or file paths", q17_error },
    { "after errors the server stays up: GET / -> 200", q17_stays_up },
    { "a malformed request line -> 400, and the next connection is answered", q17_malformed },
    { NULL, NULL },
};
const struct st_grader st__grade_q17 = { "q17", 17, 0, NULL, q17_checks };

/* ---- Q18: CRUD ---- */

static json_t *random_user(struct st_grade *g)
{
    static const char *const first[] = { "Ada", "Linus", "Grace", "Ken", "Barbara", "Dennis", "Margaret", "Edsger" };
    char tag[8], name[64], email[64];
    g_word(g, tag, 6, G_ALNUM);
    snprintf(name, sizeof(name), "%s %s", first[g_rand(g) % 8], tag);
    g_word(g, tag, 6, G_ALNUM);
    snprintf(email, sizeof(email), "%s.%s@example.com", first[g_rand(g) % 8], tag);
    for (char *p = email; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    return json_pack("{s:s, s:s}", "name", name, "email", email);
}

/* "/users/ID" for a user object's id (integer or string); false if it has none. */
static bool user_path(const json_t *u, char *out, size_t cap)
{
    json_t *id = json_object_get(u, "id");
    if (json_is_integer(id))
        snprintf(out, cap, "/users/%lld", (long long)json_integer_value(id));
    else if (json_is_string(id) && json_string_length(id) > 0)
        snprintf(out, cap, "/users/%s", json_string_value(id));
    else
        return false;
    return true;
}

/* The user object u has the fields of want. */
static bool same_fields(struct st_grade *g, const json_t *want, const json_t *u, const char *what)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)want, k, v)
    {
        if (!json_equal(v, json_object_get(u, k)))
            return g_fail(g, "%s: \"%s\" should be %s, got %s", what, k, g_json_text(v),
                          g_json_text(json_object_get(u, k)));
    }
    return true;
}

static json_t *send_user(struct st_grade *g, const char *method, const char *target, const json_t *u, int status)
{
    char *body = json_dumps(u, JSON_COMPACT);
    struct g_req req = { .method = method, .target = target, .ctype = "application/json", .body = body };
    const struct st_http_resp *r = g_do(g, &req);
    free(body);
    if (!r || !g_status(g, r, status))
        return NULL;
    if (status >= 300)
        return json_object();
    if (!g_ctype(g, r, "application/json"))
        return NULL;
    json_t *v = g_json(g, r);
    if (v && !json_is_object(v)) {
        g_fail(g, "expected the user as a JSON object, got %s", g_json_text(v));
        json_decref(v);
        return NULL;
    }
    return v;
}

/* POST a new random user and check the 201; the created object (with id) or NULL. */
static json_t *create(struct st_grade *g, json_t **sent, char *path, size_t cap)
{
    *sent = random_user(g);
    json_t *u = send_user(g, "POST", "/users", *sent, 201);
    if (!u)
        return NULL;
    const struct st_http_resp *r = &g->shown->resp[0];
    if (!user_path(u, path, cap)) {
        g_fail(g, "the created user has no \"id\": %s", g_json_text(u));
    } else if (!same_fields(g, *sent, u, "the created user")) {
    } else {
        const struct st_str *loc = st_http_resp_header(r, "location");
        if (!loc)
            g_fail(g, "201 Created needs a Location header (expected %s)", path);
        else if (!st_str_eq_c(*loc, path) &&
                 (!st_str_ends_with(*loc, st_str_c(path)) || st_str_find(*loc, ST_STR_LIT("://")) < 0))
            g_fail(g, "Location should be %s, got %s", path, g_quote(loc->ptr, loc->len, 100));
        else
            return u;
    }
    json_decref(u);
    return NULL;
}

static bool q18_create(struct st_grade *g)
{
    json_t *sent;
    char path[128];
    json_t *u = create(g, &sent, path, sizeof(path));
    json_decref(sent);
    json_decref(u);
    return u != NULL;
}

static bool q18_read(struct st_grade *g)
{
    json_t *sent, *got = NULL;
    char path[128];
    json_t *u = create(g, &sent, path, sizeof(path));
    bool ok = false;
    if (u) {
        const struct st_http_resp *r = g_get(g, path);
        if (r && g_status(g, r, 200) && g_ctype(g, r, "application/json") && (got = g_json(g, r))) {
            ok = json_equal(u, got) ? true
                                    : g_fail(g, "GET %s differs from what POST returned: %s vs %s", path,
                                             g_json_text(got), g_json_text(u));
        }
    }
    json_decref(got);
    json_decref(sent);
    json_decref(u);
    return ok;
}

static bool q18_list(struct st_grade *g)
{
    json_t *sent, *list = NULL;
    char path[128];
    json_t *u = create(g, &sent, path, sizeof(path));
    bool ok = false;
    if (u) {
        const struct st_http_resp *r = g_get(g, "/users");
        if (r && g_status(g, r, 200) && g_ctype(g, r, "application/json") && (list = g_json(g, r))) {
            if (!json_is_array(list)) {
                g_fail(g, "GET /users must return a JSON array, got %s", g_json_text(list));
            } else {
                size_t i;
                json_t *e;
                json_array_foreach(list, i, e) ok |= json_equal(e, u);
                if (!ok)
                    g_fail(g, "GET /users does not contain the user just created: %s", g_json_text(u));
            }
        }
    }
    json_decref(list);
    json_decref(sent);
    json_decref(u);
    return ok;
}

static bool q18_update(struct st_grade *g)
{
    json_t *sent, *upd = NULL, *got = NULL, *again = NULL;
    char path[128];
    json_t *u = create(g, &sent, path, sizeof(path));
    bool ok = false;
    if (u) {
        upd = random_user(g);
        got = send_user(g, "PUT", path, upd, 200);
        if (got && same_fields(g, upd, got, "the updated user") &&
            (json_equal(json_object_get(got, "id"), json_object_get(u, "id")) ||
             g_fail(g, "PUT changed the id: %s", g_json_text(got)))) {
            const struct st_http_resp *r = g_get(g, path);
            if (r && g_status(g, r, 200) && (again = g_json(g, r)))
                ok = json_equal(again, got) ||
                     g_fail(g, "GET after PUT returns %s, expected %s", g_json_text(again), g_json_text(got));
        }
    }
    json_decref(again);
    json_decref(got);
    json_decref(upd);
    json_decref(sent);
    json_decref(u);
    return ok;
}

static bool q18_delete(struct st_grade *g)
{
    json_t *sent;
    char path[128];
    json_t *u = create(g, &sent, path, sizeof(path));
    bool ok = false;
    if (u) {
        struct g_req req = { .method = "DELETE", .target = path };
        const struct st_http_resp *r = g_do(g, &req);
        if (r && g_status(g, r, 204) && g_no_body(g, r, "204 No Content")) {
            if ((r = g_get(g, path)) && g_status(g, r, 404))
                ok = true;
        }
    }
    json_decref(sent);
    json_decref(u);
    return ok;
}

static bool q18_duplicate(struct st_grade *g)
{
    json_t *sent;
    char path[128];
    json_t *u = create(g, &sent, path, sizeof(path));
    bool ok = false;
    if (u) {
        json_t *dup = random_user(g);
        json_object_set(dup, "email", json_object_get(sent, "email"));
        json_t *r = send_user(g, "POST", "/users", dup, 409);
        ok = r != NULL;
        json_decref(r);
        json_decref(dup);
    }
    json_decref(sent);
    json_decref(u);
    return ok;
}

static bool q18_unknown(struct st_grade *g)
{
    char path[64];
    snprintf(path, sizeof(path), "/users/%lld", (long long)g_range(g, 900000000, 999999999));
    const struct st_http_resp *r = g_get(g, path);
    if (!r || !g_status(g, r, 404))
        return false;
    json_t *u = random_user(g);
    json_t *res = send_user(g, "PUT", path, u, 404);
    json_decref(u);
    if (!res)
        return false;
    json_decref(res);
    struct g_req req = { .method = "DELETE", .target = path };
    r = g_do(g, &req);
    return r && g_status(g, r, 404);
}

static const struct st_grade_check q18_checks[] = {
    { "POST /users -> 201, Location /users/ID, the user with an id", q18_create },
    { "GET /users/ID -> 200, the same user", q18_read },
    { "GET /users -> 200, an array containing the user", q18_list },
    { "PUT /users/ID -> 200, updated (and GET shows it)", q18_update },
    { "DELETE /users/ID -> 204, then GET -> 404", q18_delete },
    { "POST with an email already taken -> 409", q18_duplicate },
    { "unknown id: GET, PUT, DELETE -> 404", q18_unknown },
    { NULL, NULL },
};
const struct st_grader st__grade_q18 = { "q18", 18, 0, NULL, q18_checks };

/* ---- Q19: validation ---- */

/* POST body; expect 422 problem+json whose "errors" name exactly the fields in want. */
static bool invalid(struct st_grade *g, json_t *body, const char *const *want, int nwant)
{
    char *text = json_dumps(body, JSON_COMPACT);
    struct g_req req = { .method = "POST", .target = "/users", .ctype = "application/json", .body = text };
    const struct st_http_resp *r = g_do(g, &req);
    free(text);
    json_decref(body);
    if (!r)
        return false;
    json_t *p = g_problem(g, r, 422, false, false);
    if (!p)
        return false;
    bool ok = false;
    json_t *errs = json_object_get(p, "errors"), *e;
    size_t i;
    bool seen[4] = { false };
    if (!json_is_array(errs) || json_array_size(errs) == 0) {
        g_fail(g, "expected \"errors\": [{\"field\": ..., \"message\": ...}], got %s", g_json_text(errs));
        goto out;
    }
    json_array_foreach(errs, i, e)
    {
        json_t *f = json_object_get(e, "field"), *m = json_object_get(e, "message");
        if (!json_is_string(f) || !json_is_string(m) || json_string_length(m) == 0) {
            g_fail(g, "each error needs a \"field\" and a non-empty \"message\" string, got %s", g_json_text(e));
            goto out;
        }
        int k = 0;
        while (k < nwant && strcmp(want[k], json_string_value(f)) != 0)
            k++;
        if (k == nwant) {
            g_fail(g, "\"errors\" names the field \"%s\", which is valid here: %s", json_string_value(f),
                   g_json_text(errs));
            goto out;
        }
        seen[k] = true;
    }
    for (int k = 0; k < nwant; k++) {
        if (!seen[k]) {
            g_fail(g, "\"errors\" does not name the bad field \"%s\": %s", want[k], g_json_text(errs));
            goto out;
        }
    }
    ok = true;
out:
    json_decref(p);
    return ok;
}

static const char *const NAME[] = { "name" }, *const EMAIL[] = { "email" }, *const BOTH[] = { "name", "email" };

static bool q19_missing_name(struct st_grade *g)
{
    json_t *u = random_user(g);
    json_object_del(u, "name");
    return invalid(g, u, NAME, 1);
}

static bool q19_missing_email(struct st_grade *g)
{
    json_t *u = random_user(g);
    json_object_del(u, "email");
    return invalid(g, u, EMAIL, 1);
}

static bool q19_name_type(struct st_grade *g)
{
    json_t *u = random_user(g);
    switch (g_range(g, 0, 3)) {
    case 0: json_object_set_new(u, "name", json_integer(g_range(g, 1, 999))); break;
    case 1: json_object_set_new(u, "name", json_pack("[s]", "Ada")); break;
    case 2: json_object_set_new(u, "name", json_true()); break;
    default: json_object_set_new(u, "name", json_pack("{s:s}", "first", "Ada")); break;
    }
    return invalid(g, u, NAME, 1);
}

static bool q19_empty_name(struct st_grade *g)
{
    json_t *u = random_user(g);
    json_object_set_new(u, "name", json_string(""));
    return invalid(g, u, NAME, 1);
}

static bool q19_bad_email(struct st_grade *g)
{
    json_t *u = random_user(g);
    char w[12], e[32];
    g_word(g, w, 8, G_ALNUM);
    snprintf(e, sizeof(e), g_range(g, 0, 1) ? "%s.example.com" : "%s", w);
    json_object_set_new(u, "email", json_string(e));
    return invalid(g, u, EMAIL, 1);
}

static bool q19_several(struct st_grade *g)
{
    json_t *u = random_user(g);
    if (g_range(g, 0, 1))
        json_object_del(u, "name");
    else
        json_object_set_new(u, "name", json_integer(7));
    if (g_range(g, 0, 1))
        json_object_del(u, "email");
    else
        json_object_set_new(u, "email", json_string("no-at-sign"));
    if (!invalid(g, u, BOTH, 2))
        return false;
    return invalid(g, json_object(), BOTH, 2); /* {} lacks both */
}

static bool q19_malformed(struct st_grade *g)
{
    struct g_req req = {
        .method = "POST", .target = "/users", .ctype = "application/json", .body = "{\"name\": \"Ada\","
    };
    const struct st_http_resp *r = g_do(g, &req);
    return r && g_status(g, r, 400);
}

static bool q19_valid(struct st_grade *g)
{
    json_t *u = random_user(g);
    char *text = json_dumps(u, JSON_COMPACT);
    struct g_req req = { .method = "POST", .target = "/users", .ctype = "application/json", .body = text };
    const struct st_http_resp *r = g_do(g, &req);
    free(text);
    json_decref(u);
    return r && g_status(g, r, 201);
}

static const struct st_grade_check q19_checks[] = {
    { "missing name -> 422 problem+json, errors: [name]", q19_missing_name },
    { "missing email -> 422, errors: [email]", q19_missing_email },
    { "name not a string -> 422, errors: [name]", q19_name_type },
    { "empty name -> 422, errors: [name]", q19_empty_name },
    { "email without '@' -> 422, errors: [email]", q19_bad_email },
    { "several bad fields -> 422 listing every one of them", q19_several },
    { "malformed JSON -> 400", q19_malformed },
    { "a valid user -> 201", q19_valid },
    { NULL, NULL },
};
const struct st_grader st__grade_q19 = { "q19", 19, 0, NULL, q19_checks };

/* ---- Q20: static files ---- */

struct sfile {
    char path[64]; /* under /static/ */
    const char *type;
    struct st_buf data;
};

enum { F_HTML, F_CSS, F_PNG, F_BIN, F_SUB, F_SECRET, F_COUNT };

struct q20_state {
    struct sfile f[F_COUNT];
    char word[12];        /* the random part of every name */
    char secret_path[64]; /* the secret's name, next to the static root */
};

static void q20_free(void *p)
{
    struct q20_state *s = p;
    for (int i = 0; i < F_COUNT; i++)
        st_buf_release(&s->f[i].data);
    free(s);
}

static int write_file(const char *dir, const char *rel, const struct st_buf *b)
{
    char full[512];
    snprintf(full, sizeof(full), "%s/%s", dir, rel);
    int fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t at = 0;
    while (at < b->len) {
        ssize_t n = write(fd, b->data + at, b->len - at);
        if (n < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
        at += (size_t)n;
    }
    return close(fd) < 0 ? -errno : 0;
}

static void random_bytes(struct st_grade *g, struct st_buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        st_buf_append_byte(b, (char)(g_rand(g) & 0xff));
}

static int q20_prepare(struct st_grade *g)
{
    struct q20_state *s = st_xcalloc(1, sizeof(*s));
    g->state = s;
    g->state_free = q20_free;
    for (int i = 0; i < F_COUNT; i++)
        st_buf_init(&s->f[i].data, ST_BUF_UNLIMITED);
    char *w = s->word;
    g_word(g, w, 8, G_ALNUM);
    snprintf(s->f[F_HTML].path, sizeof(s->f[0].path), "index.html");
    s->f[F_HTML].type = "text/html";
    st_buf_printf(&s->f[F_HTML].data,
                  "<!doctype html>\n<html><head><title>%s</title></head>\n<body><h1>%s</h1></body></html>\n", w, w);
    snprintf(s->f[F_CSS].path, sizeof(s->f[0].path), "style-%s.css", w);
    s->f[F_CSS].type = "text/css";
    st_buf_printf(&s->f[F_CSS].data, "body { color: #%06llx; }\nh1 { margin: %dpx; }\n",
                  (unsigned long long)(g_rand(g) & 0xffffff), (int)g_range(g, 0, 40));
    snprintf(s->f[F_PNG].path, sizeof(s->f[0].path), "logo-%s.png", w);
    s->f[F_PNG].type = "image/png";
    st_buf_append(&s->f[F_PNG].data, "\x89PNG\r\n\x1a\n", 8);
    random_bytes(g, &s->f[F_PNG].data, (size_t)g_range(g, 100, 3000));
    snprintf(s->f[F_BIN].path, sizeof(s->f[0].path), "data-%s.bin", w);
    s->f[F_BIN].type = "application/octet-stream";
    random_bytes(g, &s->f[F_BIN].data, (size_t)g_range(g, 1000, (int64_t)200 * 1024));
    snprintf(s->f[F_SUB].path, sizeof(s->f[0].path), "sub-%s/page.html", w);
    s->f[F_SUB].type = "text/html";
    st_buf_printf(&s->f[F_SUB].data, "<html><body><h1>sub %s</h1></body></html>\n", w);
    /* A file outside the static root, reachable only by escaping it. */
    snprintf(s->secret_path, sizeof(s->secret_path), "secret-%s.txt", w);
    st_buf_printf(&s->f[F_SECRET].data, "SECRET-%s-", w);
    random_bytes(g, &s->f[F_SECRET].data, 64);

    char sub[512];
    snprintf(sub, sizeof(sub), "%s/sub-%s", g->dir, w);
    if (mkdir(sub, 0755) < 0)
        return -errno;
    for (int i = 0; i < F_SECRET; i++) {
        int rc = write_file(g->dir, s->f[i].path, &s->f[i].data);
        if (rc)
            return rc;
    }
    int rc = write_file(g->tmp, s->secret_path, &s->f[F_SECRET].data);
    if (rc)
        return rc;
    char link[512], to[512];
    snprintf(link, sizeof(link), "%s/escape-%s.txt", g->dir, w);
    snprintf(to, sizeof(to), "%s/%s", g->tmp, s->secret_path);
    return symlink(to, link) < 0 ? -errno : 0;
}

static struct q20_state *state(struct st_grade *g)
{
    return g->state;
}

static bool serve_file(struct st_grade *g, int which)
{
    const struct sfile *f = &state(g)->f[which];
    char target[700];
    snprintf(target, sizeof(target), "/static/%s", f->path);
    const struct st_http_resp *r = g_get(g, target);
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, f->type))
        return false;
    if (r->body.len != f->data.len || memcmp(r->body.data, f->data.data, f->data.len) != 0) {
        size_t i = 0;
        while (i < r->body.len && i < f->data.len && r->body.data[i] == f->data.data[i])
            i++;
        return g_fail(g, "the body differs from the file (%zu bytes, got %zu; first difference at byte %zu)",
                      f->data.len, r->body.len, i);
    }
    return true;
}

static bool q20_html(struct st_grade *g)
{
    return serve_file(g, F_HTML);
}
static bool q20_css(struct st_grade *g)
{
    return serve_file(g, F_CSS);
}
static bool q20_png(struct st_grade *g)
{
    return serve_file(g, F_PNG);
}
static bool q20_bin(struct st_grade *g)
{
    return serve_file(g, F_BIN);
}
static bool q20_sub(struct st_grade *g)
{
    return serve_file(g, F_SUB);
}

static bool q20_etag(struct st_grade *g)
{
    const struct sfile *f = &state(g)->f[F_CSS];
    char target[700];
    snprintf(target, sizeof(target), "/static/%s", f->path);
    const struct st_http_resp *r = g_get(g, target);
    if (!r || !g_status(g, r, 200))
        return false;
    const struct st_str *et = st_http_resp_header(r, "etag");
    if (!et || et->len == 0)
        return g_fail(g, "no ETag header on a static file");
    char *etag = st_xstrndup(et->ptr, et->len);
    struct st_http_field inm = { "If-None-Match", etag };
    struct g_req req = { .target = target, .headers = &inm, .nheaders = 1 };
    bool ok = false;
    r = g_do(g, &req);
    if (r && g_status(g, r, 304)) {
        if (g_no_body(g, r, "304 Not Modified")) {
            /* A different validator must not match. */
            struct st_http_field other = { "If-None-Match", "\"strata-not-the-etag\"" };
            struct g_req req2 = { .target = target, .headers = &other, .nheaders = 1 };
            r = g_do(g, &req2);
            ok = r && g_status(g, r, 200);
        }
    }
    free(etag);
    return ok;
}

static bool range_check(struct st_grade *g, size_t from, size_t to)
{
    const struct sfile *f = &state(g)->f[F_BIN];
    char target[700], range[64], want_cr[96];
    snprintf(target, sizeof(target), "/static/%s", f->path);
    snprintf(range, sizeof(range), "bytes=%zu-%zu", from, to);
    snprintf(want_cr, sizeof(want_cr), "bytes %zu-%zu/%zu", from, to, f->data.len);
    struct st_http_field h = { "Range", range };
    struct g_req req = { .target = target, .headers = &h, .nheaders = 1 };
    const struct st_http_resp *r = g_do(g, &req);
    if (!r || !g_status(g, r, 206))
        return false;
    const struct st_str *cr = st_http_resp_header(r, "content-range");
    if (!cr || !st_str_eq_c(*cr, want_cr))
        return g_fail(g, "Range: %s: expected Content-Range: %s, got %s", range, want_cr,
                      cr ? g_quote(cr->ptr, cr->len, 80) : "none");
    size_t n = to - from + 1;
    if (r->body.len != n || memcmp(r->body.data, f->data.data + from, n) != 0)
        return g_fail(g, "Range: %s: expected exactly bytes %zu-%zu of the file (%zu bytes), got %zu bytes%s", range,
                      from, to, n, r->body.len, r->body.len == n ? " with different content" : "");
    return true;
}

static bool q20_range(struct st_grade *g)
{
    size_t len = state(g)->f[F_BIN].data.len;
    size_t a = (size_t)g_range(g, 100, (int64_t)len / 2), b = (size_t)g_range(g, (int64_t)a, (int64_t)len - 1);
    return range_check(g, 0, 99) && range_check(g, a, b);
}

static bool q20_unsatisfiable(struct st_grade *g)
{
    const struct sfile *f = &state(g)->f[F_BIN];
    char target[700], range[64];
    snprintf(target, sizeof(target), "/static/%s", f->path);
    snprintf(range, sizeof(range), "bytes=%zu-%zu", f->data.len + 10, f->data.len + 100);
    struct st_http_field h = { "Range", range };
    struct g_req req = { .target = target, .headers = &h, .nheaders = 1 };
    const struct st_http_resp *r = g_do(g, &req);
    return r && g_status(g, r, 416);
}

static bool q20_missing(struct st_grade *g)
{
    char w[12], target[64];
    g_word(g, w, 10, G_ALNUM);
    snprintf(target, sizeof(target), "/static/%s.html", w);
    const struct st_http_resp *r = g_get(g, target);
    return r && g_status(g, r, 404);
}

/* A traversal attempt: 4xx, and never the bytes it aims at. */
static bool refused(struct st_grade *g, const char *target, const struct st_buf *secret)
{
    const struct st_http_resp *r = g_get(g, target);
    if (!r)
        return false;
    bool leaked = secret ? memmem(r->body.data ? r->body.data : "", r->body.len, secret->data, 12) != NULL
                         : g_contains_ci(r->body.data, r->body.len, "root:x:0:0");
    if (leaked)
        return g_fail(g, "GET %s served a file outside the static directory", target);
    if (r->status < 400 || r->status > 499)
        return g_fail(g, "GET %s: expected a 4xx refusal, got %d", target, r->status);
    return true;
}

static bool q20_traversal(struct st_grade *g)
{
    struct q20_state *s = state(g);
    const char *sec = s->secret_path;
    char t[8][256];
    snprintf(t[0], sizeof(t[0]), "/static/../%s", sec);
    snprintf(t[1], sizeof(t[1]), "/static/%%2e%%2e/%s", sec);
    snprintf(t[2], sizeof(t[2]), "/static/%%2e%%2e%%2f%s", sec);
    snprintf(t[3], sizeof(t[3]), "/static/..%%2f%s", sec);
    snprintf(t[4], sizeof(t[4]), "/static/%%252e%%252e/%s", sec);
    snprintf(t[5], sizeof(t[5]), "/static/sub-%s/../../%s", s->word, sec);
    /* The symlink inside the directory that points outside it. */
    snprintf(t[6], sizeof(t[6]), "/static/escape-%s.txt", s->word);
    for (int i = 0; i < 7; i++) {
        if (!refused(g, t[i], &s->f[F_SECRET].data))
            return false;
    }
    return refused(g, "/static/../../../../../../etc/passwd", NULL) &&
           refused(g, "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", NULL);
}

static const struct st_grade_check q20_checks[] = {
    { "GET /static/index.html -> 200 text/html, the exact bytes", q20_html },
    { "GET /static/*.css -> 200 text/css, the exact bytes", q20_css },
    { "GET /static/*.png -> 200 image/png, the exact bytes", q20_png },
    { "GET /static/*.bin (random size) -> 200 application/octet-stream, the exact bytes", q20_bin },
    { "a file in a subdirectory -> 200, the exact bytes", q20_sub },
    { "ETag present; If-None-Match with it -> 304, with another -> 200", q20_etag },
    { "Range: bytes=0-99 and a random range -> 206 with Content-Range and exactly those bytes", q20_range },
    { "an unsatisfiable range -> 416", q20_unsatisfiable },
    { "a missing file -> 404", q20_missing },
    { "traversal (../, %2e%2e, %2e%2e%2f, ..%2f, %252e%252e, a symlink out) -> 4xx, never the file", q20_traversal },
    { NULL, NULL },
};
const struct st_grader st__grade_q20 = { "q20", 20, ST_GRADE_NEEDS_CMD | ST_GRADE_NEEDS_DIR, q20_prepare, q20_checks };
