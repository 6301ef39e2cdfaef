/* test_openapi.c - the OpenAPI document of /api/v1 against the routes really registered:
 * the app of `strata serve` is built with every route module (pages, API, grading), and
 * every /api/v1 route must be an operation of the document (":id" written "{id}"), and
 * every operation of the document a route. The document itself: OpenAPI 3.1.0, every
 * $ref resolves, every path template parameter is declared, every operation answers
 * problems. Also st_http_app_each_route itself (order, early stop). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/log.h"
#include "web/openapi.h"
#include "web/web.h"

/* The key and value at an object iterator (json_object_foreach without the macro, which
 * cppcheck cannot follow). */
static void k_v(void *it, const char **k, json_t **v)
{
    *k = json_object_iter_key(it);
    *v = json_object_iter_value(it);
}

/* ---- the app and the document ---- */

static struct st_lab_web *web_new(void)
{
    struct st_lab_web *w = calloc(1, sizeof *w);
    assert_non_null(w);
    snprintf(w->db_path, sizeof w->db_path, ":memory:");
    st_http_app_init(&w->app);
    assert_int_equal(st_lab_pages_routes(w), 0);
    assert_int_equal(st_lab_api_routes(w), 0);
    assert_int_equal(st_lab_grade_routes(w), 0);
    return w;
}

static void web_free(struct st_lab_web *w)
{
    st_lab_jobs_free(w->jobs);
    st_http_app_release(&w->app);
    free(w);
}

static json_t *load_doc(void)
{
    struct st_str d = st_lab_openapi();
    assert_non_null(d.ptr);
    json_error_t e;
    json_t *doc = json_loadb(d.ptr, d.len, JSON_REJECT_DUPLICATES, &e);
    if (!doc)
        fail_msg("the document is not JSON: %s at %d", e.text, e.position);
    return doc;
}

/* "/api/v1/questions/:id/note" -> "/api/v1/questions/{id}/note" (and "*name" -> "{name}"). */
static void to_template(const char *pattern, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = pattern; *p && o + 2 < cap; p++) {
        bool start = p == pattern || p[-1] == '/';
        if (start && (*p == ':' || *p == '*')) {
            out[o++] = '{';
            for (p++; *p && *p != '/' && o + 2 < cap; p++)
                out[o++] = *p;
            out[o++] = '}';
            if (!*p)
                break;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    out[i] = '\0';
}

static bool is_api(const char *pattern)
{
    return !strcmp(pattern, "/api/v1") || !strncmp(pattern, "/api/v1/", 8);
}

/* ---- routes -> document ---- */

struct walk {
    json_t *paths;
    struct st_buf missing; /* "GET /x, ..." */
    int api_routes;
    json_t *seen; /* "get /api/v1/..." -> true */
};

static int check_route(const char *method, const char *pattern, void *arg)
{
    struct walk *wk = arg;
    if (!is_api(pattern))
        return 0;
    wk->api_routes++;
    char path[512], m[16];
    to_template(pattern, path, sizeof path);
    lower(method, m, sizeof m);
    json_t *item = json_object_get(wk->paths, path);
    if (!json_object_get(item, m))
        (void)st_buf_printf(&wk->missing, "%s%s %s", wk->missing.len ? ", " : "", method, pattern);
    char key[600];
    snprintf(key, sizeof key, "%s %s", m, path);
    json_object_set_new(wk->seen, key, json_true());
    return 0;
}

static void every_api_route_is_documented(void **state)
{
    (void)state;
    struct st_lab_web *w = web_new();
    json_t *doc = load_doc();
    struct walk wk = { .paths = json_object_get(doc, "paths"), .seen = json_object() };
    st_buf_init(&wk.missing, 1 << 16);
    assert_int_equal(st_http_app_each_route(&w->app, check_route, &wk), 0);
    /* The API of the issue: questions, status, notes, reviews, levels, modules, progress,
     * activity, export/import, attempts, the document itself. */
    assert_true(wk.api_routes >= 24);
    if (wk.missing.len)
        fail_msg("routes missing from the OpenAPI document: %s", wk.missing.data);

    /* ... and the other way round: every documented operation is served. */
    struct st_buf extra;
    st_buf_init(&extra, 1 << 16);
    const char *path, *m;
    json_t *item, *opv;
    for (void *it_path = json_object_iter(wk.paths); it_path && (k_v(it_path, &path, &item), 1);
         it_path = json_object_iter_next(wk.paths, it_path)) {
        for (void *it_m = json_object_iter(item); it_m && (k_v(it_m, &m, &opv), 1);
             it_m = json_object_iter_next(item, it_m)) {
            if (!strcmp(m, "parameters") || !strcmp(m, "summary") || !strcmp(m, "description"))
                continue;
            char key[600];
            snprintf(key, sizeof key, "%s %s", m, path);
            if (!json_object_get(wk.seen, key))
                (void)st_buf_printf(&extra, "%s%s", extra.len ? ", " : "", key);
        }
    }
    if (extra.len)
        fail_msg("documented but not routed: %s", extra.data);
    st_buf_release(&extra);
    st_buf_release(&wk.missing);
    json_decref(wk.seen);
    json_decref(doc);
    web_free(w);
}

/* ---- the document on its own ---- */

/* The value a local "$ref" points at, NULL if it does not resolve. */
static json_t *resolve(json_t *doc, const char *ref)
{
    if (strncmp(ref, "#/", 2) != 0)
        return NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ref + 2);
    json_t *v = doc;
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); v && tok; tok = strtok_r(NULL, "/", &save))
        v = json_object_get(v, tok);
    return v;
}

static void check_refs(json_t *doc, json_t *v, int *nrefs)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        for (void *it_k = json_object_iter(v); it_k && (k_v(it_k, &k, &c), 1); it_k = json_object_iter_next(v, it_k)) {
            if (!strcmp(k, "$ref")) {
                assert_true(json_is_string(c));
                if (!resolve(doc, json_string_value(c)))
                    fail_msg("$ref %s does not resolve", json_string_value(c));
                ++*nrefs;
            } else {
                check_refs(doc, c, nrefs);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        for (i = 0; i < json_array_size(v) && (c = json_array_get(v, i)) != NULL; i++)
            check_refs(doc, c, nrefs);
    }
}

static void document_is_consistent(void **state)
{
    (void)state;
    assert_int_equal(st_lab_openapi_build(), 0);
    json_t *doc = load_doc();
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    assert_non_null(json_string_value(json_object_get(json_object_get(doc, "info"), "title")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "servers"), 0), "url")),
                        "/");
    json_t *schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    static const char *const want[] = { "Question", "QuestionSummary", "Page",    "Progress",
                                        "Note",     "Review",          "Attempt", "Problem" };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!json_object_get(schemas, want[i]))
            fail_msg("components/schemas/%s is missing", want[i]);
    int nrefs = 0;
    check_refs(doc, doc, &nrefs);
    assert_true(nrefs > 50);

    const char *path, *m;
    json_t *item, *o;
    json_t *ids = json_object();
    for (void *it_path = json_object_iter(json_object_get(doc, "paths")); it_path && (k_v(it_path, &path, &item), 1);
         it_path = json_object_iter_next(json_object_get(doc, "paths"), it_path)) {
        for (void *it_m = json_object_iter(item); it_m && (k_v(it_m, &m, &o), 1);
             it_m = json_object_iter_next(item, it_m)) {
            /* operationIds are unique; every operation answers 500 as problem+json. */
            const char *id = json_string_value(json_object_get(o, "operationId"));
            if (!id || json_object_get(ids, id))
                fail_msg("%s %s: missing or duplicate operationId", m, path);
            json_object_set_new(ids, id, json_true());
            json_t *resp = json_object_get(o, "responses");
            json_t *p500 = resolve(doc, json_string_value(json_object_get(json_object_get(resp, "500"), "$ref")));
            if (!json_object_get(json_object_get(p500, "content"), "application/problem+json"))
                fail_msg("%s %s: no problem+json 500", m, path);
            bool success = false;
            const char *status;
            json_t *r;
            for (void *it_status = json_object_iter(resp); it_status && (k_v(it_status, &status, &r), 1);
                 it_status = json_object_iter_next(resp, it_status))
                success |= status[0] == '2' || status[0] == '3';
            if (!success)
                fail_msg("%s %s: no success response", m, path);
            /* A request body comes with 400 and 415. */
            if (json_object_get(o, "requestBody") && (!json_object_get(resp, "400") || !json_object_get(resp, "415")))
                fail_msg("%s %s: a body but no 400/415", m, path);
            /* Every {param} of the template is declared in: path, required. */
            for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
                const char *end = strchr(p, '}');
                assert_non_null(end);
                bool declared = false;
                size_t i;
                json_t *prm;
                for (i = 0; i < json_array_size(json_object_get(o, "parameters")) &&
                            (prm = json_array_get(json_object_get(o, "parameters"), i)) != NULL;
                     i++) {
                    json_t *r2 = json_object_get(prm, "$ref")
                                     ? resolve(doc, json_string_value(json_object_get(prm, "$ref")))
                                     : prm;
                    const char *name = json_string_value(json_object_get(r2, "name"));
                    declared |= name && strlen(name) == (size_t)(end - p - 1) && !strncmp(name, p + 1, end - p - 1) &&
                                !strcmp(json_string_value(json_object_get(r2, "in")), "path") &&
                                json_is_true(json_object_get(r2, "required"));
                }
                if (!declared)
                    fail_msg("%s %s: path parameter %.*s not declared", m, path, (int)(end - p - 1), p + 1);
            }
        }
    }
    json_decref(ids);
    json_decref(doc);
}

static void etag_is_stable(void **state)
{
    (void)state;
    assert_int_equal(st_lab_openapi_build(), 0);
    const char *e = st_lab_openapi_etag();
    assert_true(strlen(e) == 18 && e[0] == '"' && e[17] == '"');
    assert_int_equal(st_lab_openapi_build(), 0); /* built once */
    assert_string_equal(e, st_lab_openapi_etag());
}

/* ---- st_http_app_each_route ---- */

static void nop(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)x, (void)m, (void)data;
}

static int collect(const char *method, const char *pattern, void *arg)
{
    struct st_buf *b = arg;
    (void)st_buf_printf(b, "%s %s;", method, pattern);
    return strcmp(pattern, "/stop") == 0 ? 7 : 0;
}

static void each_route_in_order_and_stops(void **state)
{
    (void)state;
    struct st_http_app app;
    st_http_app_init(&app);
    assert_int_equal(st_http_app_route(&app, "GET", "/a/:id", nop, NULL), 0);
    assert_int_equal(st_http_app_route(&app, NULL, "/any", nop, NULL), 0);
    assert_int_equal(st_http_app_route(&app, "PUT", "/a/:id", nop, NULL), 0);
    assert_int_not_equal(st_http_app_route(&app, "PUT", "/a/:name", nop, NULL), 0); /* refused: not listed */
    struct st_buf b;
    st_buf_init(&b, 4096);
    assert_int_equal(st_http_app_each_route(&app, collect, &b), 0);
    assert_string_equal(b.data, "GET /a/:id;* /any;PUT /a/:id;");
    assert_int_equal(st_http_app_route(&app, "POST", "/stop", nop, NULL), 0);
    assert_int_equal(st_http_app_route(&app, "POST", "/after", nop, NULL), 0);
    st_buf_clear(&b);
    assert_int_equal(st_http_app_each_route(&app, collect, &b), 7);
    assert_string_equal(b.data, "GET /a/:id;* /any;PUT /a/:id;POST /stop;");
    st_buf_release(&b);
    st_http_app_release(&app);
    st_http_app_init(&app);
    assert_int_equal(st_http_app_each_route(&app, collect, NULL), 0); /* empty: fn never called */
}

static void template_translation(void **state)
{
    (void)state;
    char out[128];
    to_template("/api/v1/questions/:id/note", out, sizeof out);
    assert_string_equal(out, "/api/v1/questions/{id}/note");
    to_template("/api/v1/attempts/:aid", out, sizeof out);
    assert_string_equal(out, "/api/v1/attempts/{aid}");
    to_template("/files/*rest", out, sizeof out);
    assert_string_equal(out, "/files/{rest}");
    to_template("/a:b/c", out, sizeof out);
    assert_string_equal(out, "/a:b/c");
}

int main(void)
{
    st_log_set_level(ST_LOG_OFF);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_translation),          cmocka_unit_test(each_route_in_order_and_stops),
        cmocka_unit_test(document_is_consistent),        cmocka_unit_test(etag_is_stable),
        cmocka_unit_test(every_api_route_is_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
