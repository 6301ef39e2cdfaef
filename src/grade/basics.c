/*
 * basics.c - graders for module 1 (Backend Fundamentals), questions 11-15: hello world,
 * server time, JSON echo, routing, query parameters. Q16-Q20 are in basics_more.c.
 *
 * Each check is self-contained (it creates what it needs), so one failure does not
 * cascade into the next check's report. The spec of every check, in words, is the
 * `checks:` field of the question in curriculum/01-backend-fundamentals.txt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/time.h"
#include "curriculum/curriculum.h"
#include "grade/internal.h"

/* ---- shared helpers ---- */

static bool body_trim_ieq(const struct st_http_resp *r, const char *want)
{
    struct st_str b = st_str_trim(st_str(r->body.data, r->body.len));
    return st_str_ieq_c(b, want);
}

/* ---- Q11: hello world ---- */

static bool is_hello(const struct st_http_resp *r)
{
    return body_trim_ieq(r, "hello world") || body_trim_ieq(r, "hello, world!");
}

static bool q11_hello(struct st_grade *g)
{
    const struct st_http_resp *r = g_get(g, "/");
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, "text/plain"))
        return false;
    if (!is_hello(r))
        return g_fail(g,
                      "expected the body \"Hello World\" or \"Hello, World!\" (any case, surrounding whitespace "
                      "ignored), got %s",
                      g_quote(r->body.data, r->body.len, 100));
    return true;
}

static bool q11_keep_alive(struct st_grade *g)
{
    struct st_http_client *c = g_new_client(g);
    struct st_http_exchange *x1 = g_new_exchange(g), *x2 = g_new_exchange(g);
    x1->target = x2->target = "/";
    bool ok = false;
    const struct st_http_resp *r = g_exec(g, c, x1);
    if (!r || !g_status(g, r, 200))
        goto out;
    if (!r->keep_alive) {
        g_fail(g, "the first response closes the connection (Connection: close, HTTP/1.0 or no Content-Length): "
                  "HTTP/1.1 connections stay open by default");
        goto out;
    }
    r = g_exec(g, c, x2);
    if (!r || !g_status(g, r, 200))
        goto out;
    if (!x2->reused || st_http_client_connections(c) != 1) {
        g_fail(g,
               "the second request could not use the first connection (the server closed it): %llu "
               "connections for 2 requests",
               (unsigned long long)st_http_client_connections(c));
        goto out;
    }
    if (!is_hello(r)) {
        g_fail(g, "the second response on the connection has a different body: %s",
               g_quote(r->body.data, r->body.len, 100));
        goto out;
    }
    ok = true;
out:
    st_http_client_free(c);
    return ok;
}

static bool q11_head(struct st_grade *g)
{
    const struct st_http_resp *get = g_get(g, "/");
    if (!get || !g_status(g, get, 200))
        return false;
    size_t get_len = get->body.len;
    char req[512];
    int n = snprintf(req, sizeof(req), "HEAD / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", g->target);
    /* Read until the server closes: anything after the head would be a body. */
    const struct st_http_exchange *x = g_raw(g, req, (size_t)n, 1, 1u, true);
    if (!x)
        return false;
    const struct st_http_resp *r = &x->resp[0];
    if (!g_status(g, r, 200))
        return false;
    if (x->extra)
        return g_fail(g, "a response to HEAD must not have a body, but %zu bytes followed the head", x->extra);
    const struct st_str *cl = st_http_resp_header(r, "content-length");
    char want[24];
    snprintf(want, sizeof(want), "%zu", get_len);
    if (cl && !st_str_eq_c(*cl, want))
        return g_fail(g, "HEAD's Content-Length must be the length GET's body would have (%s), got %.*s", want,
                      ST_STR_FMT(*cl));
    return true;
}

static const struct st_grade_check q11_checks[] = {
    { "GET / -> 200 text/plain \"Hello World\"", q11_hello },
    { "keep-alive: two requests on one connection", q11_keep_alive },
    { "HEAD / -> 200 without a body", q11_head },
    { NULL, NULL },
};
const struct st_grader st__grade_q11 = { "q11", 11, 0, NULL, q11_checks };

/* ---- Q12: server time ---- */

/* RFC 3339 date-time in UTC: YYYY-MM-DDTHH:MM:SS[.frac](Z|+00:00). */
static bool rfc3339_utc(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd";
    size_t n = strlen(s), i;
    if (n < 20)
        return false;
    for (i = 0; i < 19; i++) {
        char c = s[i];
        if (pat[i] == 'd' ? !(c >= '0' && c <= '9') : pat[i] == 'T' ? !(c == 'T' || c == 't') : c != pat[i])
            return false;
    }
    if (s[i] == '.') {
        size_t d = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d)
            return false;
    }
    return strcmp(s + i, "Z") == 0 || strcmp(s + i, "z") == 0 || strcmp(s + i, "+00:00") == 0;
}

/* GET /time and judge one answer; *epoch and *timems get the two values. */
static bool get_time(struct st_grade *g, int64_t *epoch, int64_t *timems)
{
    const struct st_http_resp *r = g_get(g, "/time");
    int64_t now = st_time_wall_ms();
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, "application/json"))
        return false;
    json_t *v = g_json(g, r);
    if (!v)
        return false;
    bool ok = false;
    json_t *t = json_object_get(v, "time"), *e = json_object_get(v, "epoch_ms");
    if (!json_is_object(v))
        g_fail(g, "expected a JSON object, got %s", g_json_text(v));
    else if (!json_is_string(t))
        g_fail(g, "expected \"time\" as a string, got %s", t ? g_json_text(t) : "no \"time\"");
    else if (!rfc3339_utc(json_string_value(t)) || st_time_parse_rfc3339(json_string_value(t), timems))
        g_fail(g, "\"time\" must be RFC 3339 in UTC like 2026-01-02T03:04:05Z or ...05.678Z (or +00:00), got %s",
               g_json_text(t));
    else if (!json_is_integer(e))
        g_fail(g, "expected \"epoch_ms\" as an integer, got %s", e ? g_json_text(e) : "no \"epoch_ms\"");
    else if ((*epoch = json_integer_value(e)), llabs(*timems - now) > 5000)
        g_fail(g, "\"time\" %s is %.1f s away from the grader's clock (more than 5 s)", json_string_value(t),
               (double)(*timems - now) / 1000);
    else if (llabs(*epoch - *timems) > 1000)
        g_fail(g, "\"epoch_ms\" %lld and \"time\" %s differ by %.3f s (more than 1 s; milliseconds since 1970?)",
               (long long)*epoch, json_string_value(t), (double)(*epoch - *timems) / 1000);
    else
        ok = true;
    json_decref(v);
    return ok;
}

static bool q12_time(struct st_grade *g)
{
    int64_t e, t;
    return get_time(g, &e, &t);
}

static bool q12_advances(struct st_grade *g)
{
    int64_t e1, t1, e2, t2;
    if (!get_time(g, &e1, &t1))
        return false;
    st_time_sleep_ms(1100);
    if (!get_time(g, &e2, &t2))
        return false;
    if (e2 - e1 < 1000)
        return g_fail(g, "two calls 1.1 s apart: \"epoch_ms\" advanced by %lld ms, expected at least 1000",
                      (long long)(e2 - e1));
    if (t2 - t1 < 1000)
        return g_fail(g, "two calls 1.1 s apart: \"time\" advanced by %lld ms, expected at least 1000",
                      (long long)(t2 - t1));
    return true;
}

static const struct st_grade_check q12_checks[] = {
    { "GET /time -> 200 application/json {time: RFC 3339 UTC, epoch_ms}, close to now", q12_time },
    { "two calls 1.1 s apart advance by at least 1 s", q12_advances },
    { NULL, NULL },
};
const struct st_grader st__grade_q12 = { "q12", 12, 0, NULL, q12_checks };

/* ---- Q13: JSON echo ---- */

static json_t *random_scalar(struct st_grade *g)
{
    static const char *const words[] = { "alpha",      "caf\xc3\xa9",      "\xe4\xb8\xad\xe6\x96\x87",
                                         "quote\"d",   "back\\slash",      "line\nbreak",
                                         "tab\there",  "\xf0\x9f\x9a\x80", "",
                                         "space here", "<html>&amp;" };
    char w[16];
    switch (g_range(g, 0, 5)) {
    case 0: return json_integer(g_range(g, -1000000000, 1000000000));
    case 1: return json_real((double)g_range(g, -4000, 4000) + 0.25 + 0.5 * (double)g_range(g, 0, 1)); /* exact */
    case 2: return json_boolean(g_range(g, 0, 1));
    case 3: return json_null();
    case 4: g_word(g, w, (size_t)g_range(g, 1, 12), G_ALNUM); return json_string(w);
    default: return json_string(words[g_rand(g) % (sizeof(words) / sizeof(words[0]))]);
    }
}

static json_t *random_value(struct st_grade *g, int depth)
{
    int kind = depth >= 4 ? 2 : (int)g_range(g, 0, depth == 0 ? 1 : 2);
    if (kind == 2)
        return random_scalar(g);
    int n = (int)g_range(g, depth == 0 ? 2 : 0, 5);
    if (kind == 0) {
        json_t *o = json_object();
        for (int i = 0; i < n; i++) {
            char k[16];
            g_word(g, k, (size_t)g_range(g, 1, 10), "abcdefghijklmnopqrstuvwxyz_");
            json_object_set_new(o, k, random_value(g, depth + 1));
        }
        return o;
    }
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, random_value(g, depth + 1));
    return a;
}

/* Pretty-printed: a newline followed by indentation somewhere. */
static bool pretty(const struct st_http_resp *r)
{
    for (size_t i = 0; i + 1 < r->body.len; i++) {
        if (r->body.data[i] == '\n' && (r->body.data[i + 1] == ' ' || r->body.data[i + 1] == '\t'))
            return true;
    }
    return false;
}

static bool echo_value(struct st_grade *g, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    struct g_req req = { .method = "POST", .target = "/echo", .ctype = "application/json", .body = text };
    const struct st_http_resp *r = g_do(g, &req);
    bool ok = false;
    json_t *got = NULL;
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, "application/json") || !(got = g_json(g, r)))
        goto out;
    if (!json_equal(v, got)) {
        g_fail(g, "the echoed value differs from the one sent: sent %s, got %s", g_json_text(v), g_json_text(got));
        goto out;
    }
    if ((json_is_object(v) || json_is_array(v)) && !pretty(r)) {
        g_fail(g, "the echoed JSON is not pretty-printed (expected newlines and indentation)");
        goto out;
    }
    ok = true;
out:
    json_decref(got);
    free(text);
    return ok;
}

static bool q13_object(struct st_grade *g)
{
    json_t *v = json_object();
    json_object_set_new(v, "id", json_integer(g_range(g, 1, 99999)));
    json_object_set_new(v, "nested", random_value(g, 1));
    json_object_set_new(v, "list", json_pack("[o, o, o]", random_value(g, 2), random_value(g, 2), random_scalar(g)));
    json_object_set_new(v, "text", json_string("caf\xc3\xa9 \"quoted\" \\ \xf0\x9f\x9a\x80"));
    bool ok = echo_value(g, v);
    json_decref(v);
    return ok;
}

static bool q13_array(struct st_grade *g)
{
    json_t *v = json_array();
    int n = (int)g_range(g, 2, 6);
    for (int i = 0; i < n; i++)
        json_array_append_new(v, random_value(g, 1));
    bool ok = echo_value(g, v);
    json_decref(v);
    return ok;
}

static bool q13_scalar(struct st_grade *g)
{
    json_t *v = random_scalar(g);
    bool ok = echo_value(g, v);
    json_decref(v);
    return ok;
}

/* Ways to break a JSON document; each input is invalid under RFC 8259 for any parser. */
static void broken_json(struct st_grade *g, int kind, char *out, size_t cap, const char **what)
{
    char w[12];
    g_word(g, w, 6, "abcdefghijklmnopqrstuvwxyz");
    long n = (long)g_range(g, 1, 999);
    switch (kind) {
    case 0: snprintf(out, cap, "{\"%s\": %ld, \"b\": [1, 2", w, n), *what = "truncated"; break;
    case 1: snprintf(out, cap, "{\"%s\": %ld,}", w, n), *what = "trailing comma"; break;
    case 2: snprintf(out, cap, "{'%s': %ld}", w, n), *what = "single quotes"; break;
    case 3: snprintf(out, cap, "{%s: %ld}", w, n), *what = "unquoted key"; break;
    case 4: snprintf(out, cap, "{\"%s\": %ld} {\"x\": 1}", w, n), *what = "two documents"; break;
    case 5: snprintf(out, cap, "{\"%s\": \"%s", w, w), *what = "unterminated string"; break;
    case 6: snprintf(out, cap, "{\"%s\": \"a\\qb\"}", w), *what = "invalid escape"; break;
    case 7: snprintf(out, cap, "{\"%s\" %ld}", w, n), *what = "missing colon"; break;
    default: snprintf(out, cap, "[%ld, %ld]]", n, n), *what = "unbalanced bracket"; break;
    }
}

static bool q13_invalid(struct st_grade *g)
{
    int first = (int)g_range(g, 0, 8);
    for (int i = 0; i < 3; i++) {
        char body[128];
        const char *what;
        broken_json(g, (first + i * 3) % 9, body, sizeof(body), &what);
        struct g_req req = { .method = "POST", .target = "/echo", .ctype = "application/json", .body = body };
        const struct st_http_resp *r = g_do(g, &req);
        if (!r)
            return false;
        json_t *p = g_problem(g, r, 400, true, true);
        if (!p) {
            char why[sizeof(g->reason)];
            snprintf(why, sizeof(why), "%s", g->reason);
            g->failed = false;
            return g_fail(g, "invalid JSON (%s): %s", what, why);
        }
        json_decref(p);
    }
    return true;
}

static bool q13_empty(struct st_grade *g)
{
    struct g_req req = { .method = "POST", .target = "/echo", .ctype = "application/json", .body = "", .body_len = 0 };
    const struct st_http_resp *r = g_do(g, &req);
    if (!r)
        return false;
    json_t *p = g_problem(g, r, 400, true, true);
    json_decref(p);
    return p != NULL;
}

static bool q13_media_type(struct st_grade *g)
{
    static const char *const types[] = { "text/plain", "application/x-www-form-urlencoded", "application/xml",
                                         "text/html; charset=utf-8" };
    const char *t = types[g_rand(g) % 4];
    struct g_req req = { .method = "POST", .target = "/echo", .ctype = t, .body = "{\"a\": 1}" };
    const struct st_http_resp *r = g_do(g, &req);
    if (!r)
        return false;
    json_t *p = g_problem(g, r, 415, true, false);
    json_decref(p);
    return p != NULL;
}

static const struct st_grade_check q13_checks[] = {
    { "POST /echo a random nested object -> 200, equal value, pretty-printed", q13_object },
    { "POST /echo a random array -> 200, equal value, pretty-printed", q13_array },
    { "POST /echo a random scalar -> 200, equal value", q13_scalar },
    { "POST /echo invalid JSON (3 kinds) -> 400 problem+json with status and title", q13_invalid },
    { "POST /echo empty body -> 400 problem+json", q13_empty },
    { "POST /echo with a non-JSON Content-Type -> 415 problem+json", q13_media_type },
    { NULL, NULL },
};
const struct st_grader st__grade_q13 = { "q13", 13, 0, NULL, q13_checks };

/* ---- Q14: routing ---- */

static bool has_h1(const struct st_http_resp *r)
{
    const char *p = r->body.data;
    for (size_t i = 0; i + 3 < r->body.len; i++) {
        if (p[i] == '<' && (p[i + 1] == 'h' || p[i + 1] == 'H') && p[i + 2] == '1' &&
            (p[i + 3] == '>' || p[i + 3] == ' '))
            return true;
    }
    return false;
}

static bool page(struct st_grade *g, const char *path, struct st_buf *body)
{
    const struct st_http_resp *r = g_get(g, path);
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, "text/html"))
        return false;
    if (!has_h1(r))
        return g_fail(g, "GET %s: the HTML has no <h1>", path);
    if (body)
        (void)st_buf_append(body, r->body.data, r->body.len);
    return true;
}

static bool q14_home(struct st_grade *g)
{
    return page(g, "/home", NULL);
}
static bool q14_about(struct st_grade *g)
{
    return page(g, "/about", NULL);
}
static bool q14_contact(struct st_grade *g)
{
    return page(g, "/contact", NULL);
}

static bool q14_distinct(struct st_grade *g)
{
    static const char *const paths[] = { "/home", "/about", "/contact" };
    struct st_buf b[3];
    bool ok = true;
    for (int i = 0; i < 3; i++)
        st_buf_init(&b[i], ST_BUF_UNLIMITED);
    for (int i = 0; i < 3 && ok; i++)
        ok = page(g, paths[i], &b[i]);
    for (int i = 0; i < 3 && ok; i++) {
        for (int j = i + 1; j < 3 && ok; j++) {
            if (b[i].len == b[j].len && memcmp(b[i].data, b[j].data, b[i].len) == 0)
                ok = g_fail(g, "%s and %s return the same page", paths[i], paths[j]);
        }
    }
    for (int i = 0; i < 3; i++)
        st_buf_release(&b[i]);
    return ok;
}

static bool q14_unknown(struct st_grade *g)
{
    for (int i = 0; i < 2; i++) {
        char w[12], path[40];
        g_word(g, w, 10, G_ALNUM);
        snprintf(path, sizeof(path), "/%s%s", w, i ? "/x" : "");
        const struct st_http_resp *r = g_get(g, path);
        if (!r || !g_status(g, r, 404))
            return false;
    }
    return true;
}

static bool q14_method(struct st_grade *g)
{
    struct g_req req = { .method = "POST", .target = "/about", .ctype = "text/plain", .body = "x" };
    const struct st_http_resp *r = g_do(g, &req);
    if (!r || !g_status(g, r, 405))
        return false;
    const struct st_str *allow = st_http_resp_header(r, "allow");
    if (!allow)
        return g_fail(g, "a 405 response must carry an Allow header (RFC 9110 15.5.6)");
    struct st_str list = *allow, item;
    while (list.len) {
        list = st_str_cut(list, ',', &item, NULL);
        if (st_str_eq_c(st_str_trim(item), "GET"))
            return true;
    }
    return g_fail(g, "the Allow header does not list GET: %s", g_quote(allow->ptr, allow->len, 100));
}

static const struct st_grade_check q14_checks[] = {
    { "GET /home -> 200 text/html with an <h1>", q14_home },
    { "GET /about -> 200 text/html with an <h1>", q14_about },
    { "GET /contact -> 200 text/html with an <h1>", q14_contact },
    { "the three pages are different", q14_distinct },
    { "GET of random unknown paths -> 404", q14_unknown },
    { "POST /about -> 405 with an Allow header listing GET", q14_method },
    { NULL, NULL },
};
const struct st_grader st__grade_q14 = { "q14", 14, 0, NULL, q14_checks };

/* ---- Q15: query parameters ---- */

/* ids of the modules whose name contains term (ASCII case-insensitive), in id order. */
static int expected_modules(const char *term, int *ids)
{
    int n = 0;
    for (int id = 1; id <= ST_CUR_MODULES; id++) {
        const struct st_cur_module *m = st_cur_module(id);
        if (g_contains_ci(m->name, strlen(m->name), term))
            ids[n++] = id;
    }
    return n;
}

/* Percent-encode term for a query: spaces as '+' or %20, reserved bytes as %XX, and
 * (when mix) some plain letters as %XX too, upper or lower hex. */
static void encode(struct st_grade *g, const char *term, char *out, size_t cap, bool plus, bool mix)
{
    size_t j = 0;
    for (const char *p = term; *p && j + 4 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '.' || c == '_' || c == '~';
        if (c == ' ' && plus)
            out[j++] = '+';
        else if (!plain || (mix && g_range(g, 0, 2) == 0))
            j += (size_t)snprintf(out + j, cap - j, g_range(g, 0, 1) ? "%%%02X" : "%%%02x", c);
        else
            out[j++] = (char)c;
    }
    out[j] = '\0';
}

/* GET /search?q=enc[&limit=...]: judge against the dataset; limit <= 0 means none sent. */
static bool search(struct st_grade *g, const char *term, const char *enc, int limit)
{
    char target[512];
    if (limit > 0)
        snprintf(target, sizeof(target), "/search?q=%s&limit=%d", enc, limit);
    else
        snprintf(target, sizeof(target), "/search?q=%s", enc);
    const struct st_http_resp *r = g_get(g, target);
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, "application/json"))
        return false;
    json_t *v = g_json(g, r);
    if (!v)
        return false;
    int ids[ST_CUR_MODULES];
    int n = expected_modules(term, ids);
    if (limit > 0 && n > limit)
        n = limit;
    bool ok = false;
    json_t *q = json_object_get(v, "query"), *res = json_object_get(v, "results");
    if (!json_is_object(v)) {
        g_fail(g, "expected a JSON object, got %s", g_json_text(v));
    } else if (!json_is_string(q) || strcmp(json_string_value(q), term) != 0) {
        g_fail(g, "\"query\" must be the decoded q %s, got %s", g_quote(term, strlen(term), 80),
               q ? g_json_text(q) : "none");
    } else if (!json_is_array(res)) {
        g_fail(g, "\"results\" must be an array, got %s", res ? g_json_text(res) : "none");
    } else {
        ok = true;
        char want[400];
        size_t w = 0;
        for (int i = 0; i < n; i++)
            w += (size_t)snprintf(want + w, sizeof(want) - w, "%s%d", i ? "," : "", ids[i]);
        want[w] = '\0';
        if (json_array_size(res) != (size_t)n)
            ok = g_fail(g, "q=%s: expected %d results (module ids [%s]), got %zu: %s", g_quote(term, strlen(term), 60),
                        n, want, json_array_size(res), g_json_text(res));
        for (int i = 0; ok && i < n; i++) {
            json_t *e = json_array_get(res, (size_t)i), *id = json_object_get(e, "id"),
                   *nm = json_object_get(e, "name");
            const struct st_cur_module *m = st_cur_module(ids[i]);
            if (!json_is_integer(id) || json_integer_value(id) != ids[i] || !json_is_string(nm) ||
                strcmp(json_string_value(nm), m->name) != 0)
                ok = g_fail(g, "q=%s: result %d should be {\"id\": %d, \"name\": \"%s\"} (ids in order: [%s]), got %s",
                            g_quote(term, strlen(term), 60), i, ids[i], m->name, want, g_json_text(e));
        }
    }
    json_decref(v);
    return ok;
}

/* A random term cut from a random module name, in random case. */
static void random_term(struct st_grade *g, char *out, size_t cap, bool with_space)
{
    for (int tries = 0;; tries++) {
        const char *name = st_cur_module((int)g_range(g, 1, ST_CUR_MODULES))->name;
        size_t len = strlen(name), k = (size_t)g_range(g, 3, 9);
        if (k > len)
            k = len;
        size_t at = (size_t)g_range(g, 0, (int64_t)(len - k));
        if (with_space && tries < 200 && !memchr(name + at, ' ', k))
            continue;
        if (k >= cap)
            k = cap - 1;
        for (size_t i = 0; i < k; i++) {
            char c = name[at + i];
            int r = (int)g_range(g, 0, 2);
            out[i] = r == 0 && c >= 'a' && c <= 'z'   ? (char)(c - 32)
                     : r == 1 && c >= 'A' && c <= 'Z' ? (char)(c + 32)
                                                      : c;
        }
        out[k] = '\0';
        /* Leading/trailing spaces make a term people would not type: cut again. */
        if (k > 0 && out[0] != ' ' && out[k - 1] != ' ')
            return;
    }
}

static bool q15_terms(struct st_grade *g)
{
    for (int i = 0; i < 4; i++) {
        char term[32], enc[128];
        random_term(g, term, sizeof(term), false);
        encode(g, term, enc, sizeof(enc), true, false);
        if (!search(g, term, enc, 0))
            return false;
    }
    return true;
}

static bool q15_encoded(struct st_grade *g)
{
    char term[32], enc[128];
    random_term(g, term, sizeof(term), true);
    encode(g, term, enc, sizeof(enc), true, true); /* '+' for spaces, some letters %XX */
    if (!search(g, term, enc, 0))
        return false;
    encode(g, term, enc, sizeof(enc), false, true); /* %20 for spaces */
    if (!search(g, term, enc, 0))
        return false;
    /* '&' must be encoded to be part of q: "Authentication & Authorization". */
    return search(g, "n & a", "n+%26+a", 0);
}

static bool q15_nothing(struct st_grade *g)
{
    char term[16];
    g_word(g, term, 8, "qxzjvkw");
    return search(g, term, term, 0);
}

static bool q15_limit(struct st_grade *g)
{
    static const char *const common[] = { "a", "e", "t", "s" };
    const char *term = common[g_rand(g) % 4];
    int ids[ST_CUR_MODULES];
    int n = expected_modules(term, ids);
    int limit = (int)g_range(g, 1, n - 1);
    if (!search(g, term, term, limit))
        return false;
    return search(g, term, term, 25) && search(g, "e", "e", 1);
}

static bool bad_request(struct st_grade *g, const char *target, bool problem)
{
    const struct st_http_resp *r = g_get(g, target);
    if (!r)
        return false;
    if (!problem)
        return g_status(g, r, 400);
    json_t *p = g_problem(g, r, 400, true, false);
    if (!p) {
        char why[sizeof(g->reason)];
        snprintf(why, sizeof(why), "%s", g->reason);
        g->failed = false;
        return g_fail(g, "GET %s: %s", target, why);
    }
    json_decref(p);
    return true;
}

static bool q15_missing(struct st_grade *g)
{
    return bad_request(g, "/search", true) && bad_request(g, "/search?q=", true) &&
           bad_request(g, "/search?limit=3", true);
}

static bool q15_bad_limit(struct st_grade *g)
{
    static const char *const bad[] = { "0", "26", "-1", "abc", "1.5", "", "99999999999999999999" };
    int first = (int)g_range(g, 0, 6);
    for (int i = 0; i < 3; i++) {
        char target[128];
        snprintf(target, sizeof(target), "/search?q=data&limit=%s", bad[(first + i * 2) % 7]);
        const struct st_http_resp *r = g_get(g, target);
        if (!r)
            return false;
        if (r->status != 400)
            return g_fail(g, "GET %s: expected 400 for a bad limit, got %d", target, r->status);
    }
    return true;
}

static const struct st_grade_check q15_checks[] = {
    { "GET /search?q=TERM (4 random terms) -> exactly the matching modules, in id order", q15_terms },
    { "q decoded: '+' and %20 for spaces, %XX escapes, %26 for '&'", q15_encoded },
    { "a term matching nothing -> 200 with empty results", q15_nothing },
    { "limit=N caps the results (and limit=25 shows all)", q15_limit },
    { "missing or empty q -> 400 problem+json", q15_missing },
    { "a bad limit (0, 26, -1, abc, ...) -> 400", q15_bad_limit },
    { NULL, NULL },
};
const struct st_grader st__grade_q15 = { "q15", 15, 0, NULL, q15_checks };
