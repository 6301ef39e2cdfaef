/*
 * blog_api.c - the blog's schemas, declared once (http/schema.h): request bodies are
 * validated against them, the OpenAPI 3.1 documents at /api/v{1,2}/openapi.json are
 * generated from them and from the routes the app really serves, and the docs page at
 * /api/v{1,2}/docs is rendered from that document (Q76, Q77).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/blog.h"

/* ---- schemas ------------------------------------------------------------------------- */

#define B ST_SCHEMA_BOUNDED
#define R ST_SCHEMA_REQUIRED
#define RO ST_SCHEMA_READONLY

static const char *const statuses[] = { "draft", "published", NULL };
static const struct st_schema_field tag_item = { "tag", ST_SCHEMA_STRING, 0, .pattern = "^[a-z0-9-]{1,30}$" };
static const struct st_schema_field links_fields[] = { { NULL } };
static const struct st_schema links_schema = { "Links", links_fields, false,
                                               "related resources as absolute paths (self, author, ...)" };
static const struct st_schema_field author_fields[] = {
    { "id", ST_SCHEMA_INTEGER, R, .format = "int64" },
    { "name", ST_SCHEMA_STRING, R },
    { NULL },
};
static const struct st_schema author_schema = { "Author", author_fields, true, "the author, embedded (v2)" };

#define TIMES                                                                                                          \
    { "created_at", ST_SCHEMA_STRING, RO, .format = "date-time" },                                                     \
    {                                                                                                                  \
        "updated_at", ST_SCHEMA_STRING, RO, .format = "date-time"                                                      \
    }

static const struct st_schema_field user_write[] = {
    { "name", ST_SCHEMA_STRING, R | B, .min = 1, .max = 100 },
    { "email", ST_SCHEMA_STRING, R | B, .min = 3, .max = 254, .format = "email",
      .description = "unique, compared case-insensitively" },
    { NULL },
};
const struct st_schema blog_user_create = { "UserCreate", user_write, true, "a new user" };
const struct st_schema blog_user_update = { "UserUpdate", user_write, true, "any subset of the writable fields" };
static const struct st_schema_field user_read[] = {
    { "id", ST_SCHEMA_INTEGER, RO, .format = "int64" },
    { "name", ST_SCHEMA_STRING, B, .min = 1, .max = 100 },
    { "email", ST_SCHEMA_STRING, B, .min = 3, .max = 254, .format = "email" },
    TIMES,
    { "links", ST_SCHEMA_OBJECT, RO, .object = &links_schema },
    { NULL },
};
const struct st_schema blog_user_read = { "User", user_read, true, "a user" };

#define POST_WRITABLE(req)                                                                                             \
    { "title", ST_SCHEMA_STRING, (req) | B, .min = 1, .max = 200 },                                                    \
        { "body", ST_SCHEMA_STRING, (req) | B, .min = 0, .max = 100000 },                                              \
        { "status", ST_SCHEMA_STRING, (req), .enums = statuses, .description = "default draft" },                      \
    {                                                                                                                  \
        "tags", ST_SCHEMA_ARRAY, (req) | B, .min = 0, .max = 10, .item = &tag_item                                     \
    }

static const struct st_schema_field post_create_req[] = {
    { "author_id", ST_SCHEMA_INTEGER, R | B, .min = 1, .max = INT64_MAX, .format = "int64",
      .description = "an existing user" },
    { "title", ST_SCHEMA_STRING, R | B, .min = 1, .max = 200 },
    { "body", ST_SCHEMA_STRING, R | B, .min = 0, .max = 100000 },
    { "status", ST_SCHEMA_STRING, 0, .enums = statuses, .description = "default draft" },
    { "tags", ST_SCHEMA_ARRAY, B, .min = 0, .max = 10, .item = &tag_item },
    { NULL },
};
const struct st_schema blog_post_create = { "PostCreate", post_create_req, true, "a new post" };
static const struct st_schema_field post_put[] = { POST_WRITABLE(R), { NULL } };
const struct st_schema blog_post_put = { "PostReplace", post_put, true, "every writable field but author_id" };
static const struct st_schema_field post_patch[] = { POST_WRITABLE(0), { NULL } };
const struct st_schema blog_post_patch = { "PostPatch", post_patch, true, "any subset of title, body, status, tags" };
static const struct st_schema_field post_read[] = {
    { "id", ST_SCHEMA_INTEGER, RO, .format = "int64" },
    { "author_id", ST_SCHEMA_INTEGER, 0, .format = "int64" },
    POST_WRITABLE(0),
    { "comment_count", ST_SCHEMA_INTEGER, RO },
    { "version", ST_SCHEMA_INTEGER, RO, .description = "grows by one with every update; the ETag is \"id-version\"" },
    TIMES,
    { "deleted_at", ST_SCHEMA_STRING, RO | ST_SCHEMA_NULLABLE, .format = "date-time",
      .description = "only with include_deleted=true" },
    { "links", ST_SCHEMA_OBJECT, RO, .object = &links_schema },
    { NULL },
};
const struct st_schema blog_post_read = { "Post", post_read, true, "a post" };
static const struct st_schema_field post_read_v2[] = {
    { "id", ST_SCHEMA_INTEGER, RO, .format = "int64" },
    { "author", ST_SCHEMA_OBJECT, RO, .object = &author_schema },
    POST_WRITABLE(0),
    { "comment_count", ST_SCHEMA_INTEGER, RO },
    { "version", ST_SCHEMA_INTEGER, RO },
    TIMES,
    { "deleted_at", ST_SCHEMA_STRING, RO | ST_SCHEMA_NULLABLE, .format = "date-time" },
    { "links", ST_SCHEMA_OBJECT, RO, .object = &links_schema },
    { NULL },
};
const struct st_schema blog_post_read_v2 = { "Post", post_read_v2, true, "a post with its author embedded" };

static const struct st_schema_field comment_create[] = {
    { "author_id", ST_SCHEMA_INTEGER, R | B, .min = 1, .max = INT64_MAX, .format = "int64" },
    { "body", ST_SCHEMA_STRING, R | B, .min = 1, .max = 10000 },
    { NULL },
};
const struct st_schema blog_comment_create = { "CommentCreate", comment_create, true, "a new comment" };
static const struct st_schema_field comment_update[] = {
    { "body", ST_SCHEMA_STRING, R | B, .min = 1, .max = 10000 },
    { NULL },
};
const struct st_schema blog_comment_update = { "CommentUpdate", comment_update, true, "a comment's new body" };
static const struct st_schema_field comment_read[] = {
    { "id", ST_SCHEMA_INTEGER, RO, .format = "int64" },
    { "post_id", ST_SCHEMA_INTEGER, RO, .format = "int64" },
    { "author_id", ST_SCHEMA_INTEGER, 0, .format = "int64" },
    { "body", ST_SCHEMA_STRING, B, .min = 1, .max = 10000 },
    TIMES,
    { "links", ST_SCHEMA_OBJECT, RO, .object = &links_schema },
    { NULL },
};
const struct st_schema blog_comment_read = { "Comment", comment_read, true, "a comment" };
static const struct st_schema_field comment_read_v2[] = {
    { "id", ST_SCHEMA_INTEGER, RO, .format = "int64" },
    { "post_id", ST_SCHEMA_INTEGER, RO, .format = "int64" },
    { "author", ST_SCHEMA_OBJECT, RO, .object = &author_schema },
    { "body", ST_SCHEMA_STRING, B, .min = 1, .max = 10000 },
    TIMES,
    { "links", ST_SCHEMA_OBJECT, RO, .object = &links_schema },
    { NULL },
};
const struct st_schema blog_comment_read_v2 = { "Comment", comment_read_v2, true, "a comment, author embedded" };

static const struct st_schema_field field_error[] = {
    { "field", ST_SCHEMA_STRING, R, .description = "a JSON path (title, tags[2]) or a query parameter" },
    { "code", ST_SCHEMA_STRING, R },
    { "message", ST_SCHEMA_STRING, R },
    { NULL },
};
static const struct st_schema field_error_schema = { "FieldError", field_error, true, NULL };
static const struct st_schema_field problem_fields[] = {
    { "type", ST_SCHEMA_STRING, R },
    { "title", ST_SCHEMA_STRING, R },
    { "status", ST_SCHEMA_INTEGER, R },
    { "code", ST_SCHEMA_STRING, R, .description = "stable and machine-readable: validation_failed, not_found, ..." },
    { "detail", ST_SCHEMA_STRING, 0 },
    { "instance", ST_SCHEMA_STRING, 0 },
    { "errors", ST_SCHEMA_ARRAY, 0,
      .item = &(const struct st_schema_field){ "error", ST_SCHEMA_OBJECT, 0, .object = &field_error_schema } },
    { NULL },
};
const struct st_schema blog_problem_schema = { "Problem", problem_fields, false, "RFC 9457 problem details" };

/* ---- routes described ---------------------------------------------------------------- */

struct op_doc {
    const char *method, *suffix; /* the route under the version prefix */
    const char *summary;
    const struct st_schema *request;
    int status;           /* success */
    const char *response; /* component name, "" none; lists: "[]Post" */
    const char *extra;    /* more words for the docs page */
};

static const struct op_doc ops[] = {
    { "GET", "/users", "List users", NULL, 200, "[]User", "sort: id, name, created_at" },
    { "POST", "/users", "Create a user", &blog_user_create, 201, "User", "409 email_taken for a used email" },
    { "GET", "/users/:id", "Get a user", NULL, 200, "User", NULL },
    { "PATCH", "/users/:id", "Update a user", &blog_user_update, 200, "User", NULL },
    { "DELETE", "/users/:id", "Delete a user", NULL, 204, "", "409 has_posts while the user has posts" },
    { "GET", "/users/:id/posts", "List a user's posts", NULL, 200, "[]Post", "the parameters of GET /posts" },
    { "GET", "/posts", "List posts", NULL, 200, "[]Post",
      "filters: author_id, status, tag, created_after, created_before, q, include_deleted; "
      "sort: id, created_at, updated_at, title, comment_count" },
    { "POST", "/posts", "Create a post", &blog_post_create, 201, "Post", "Idempotency-Key supported" },
    { "GET", "/posts/:id", "Get a post", NULL, 200, "Post", "ETag; If-None-Match answers 304" },
    { "PUT", "/posts/:id", "Replace a post", &blog_post_put, 200, "Post", "If-Match required (428), 412 when stale" },
    { "PATCH", "/posts/:id", "Update a post", &blog_post_patch, 200, "Post",
      "If-Match required (428), 412 when stale" },
    { "DELETE", "/posts/:id", "Delete a post (soft)", NULL, 204, "", "restore with POST /posts/{id}/restore" },
    { "POST", "/posts/:id/restore", "Restore a deleted post", NULL, 200, "Post", NULL },
    { "POST", "/posts/:id/archive", "Archive a post and its comments", NULL, 200, "",
      "one transaction: {\"archived_post_id\":N,\"archived_comments\":N}" },
    { "GET", "/posts/:id/comments", "List a post's comments", NULL, 200, "[]Comment", "sort: id, created_at" },
    { "POST", "/posts/:id/comments", "Comment on a post", &blog_comment_create, 201, "Comment",
      "Idempotency-Key supported" },
    { "GET", "/comments/:id", "Get a comment", NULL, 200, "Comment", NULL },
    { "PATCH", "/comments/:id", "Edit a comment", &blog_comment_update, 200, "Comment", NULL },
    { "DELETE", "/comments/:id", "Delete a comment", NULL, 204, "", NULL },
    { "GET", "/search", "Full-text search over published posts", NULL, 200, "",
      "q (required), limit; {\"data\":[{\"id\",\"title\",\"rank\",\"snippet\"}]} best first" },
    { "GET", "/openapi.json", "This document", NULL, 200, "", NULL },
    { "GET", "/docs", "The documentation page", NULL, 200, "", NULL },
};
#define NOPS (sizeof ops / sizeof ops[0])

static const struct op_doc *op_find(const char *method, const char *suffix)
{
    for (size_t i = 0; i < NOPS; i++)
        if (!strcmp(ops[i].method, method) && !strcmp(ops[i].suffix, suffix))
            return &ops[i];
    return NULL;
}

/* "/posts/:id/comments" -> "/posts/{id}/comments" */
static void openapi_path(const char *pattern, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 3 < cap; p++) {
        if (*p == ':') {
            out[n++] = '{';
            while (p[1] && p[1] != '/' && n + 2 < cap)
                out[n++] = *++p;
            out[n++] = '}';
        } else {
            out[n++] = *p;
        }
    }
    out[n] = 0;
}

static json_t *ref(const char *name)
{
    char r[96];
    snprintf(r, sizeof r, "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", r);
}

static json_t *list_params(bool v2)
{
    json_t *a = json_array();
    json_array_append_new(a, json_pack("{s:s, s:s, s:{s:s, s:i, s:i, s:i}}", "name", "limit", "in", "query", "schema",
                                       "type", "integer", "minimum", 1, "maximum", BLOG_LIMIT_MAX, "default",
                                       BLOG_LIMIT_DEFAULT));
    if (!v2)
        json_array_append_new(a, json_pack("{s:s, s:s, s:{s:s, s:i}}", "name", "offset", "in", "query", "schema",
                                           "type", "integer", "minimum", 0));
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "cursor", "in", "query", "description",
                                       "an opaque cursor from links.next / links.prev; empty: first page", "schema",
                                       "type", "string"));
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:{s:s}}", "name", "sort", "in", "query", "description",
                                       "comma-separated fields, - for descending", "schema", "type", "string"));
    return a;
}

static json_t *operation(const struct op_doc *d, const char *pattern, int api)
{
    json_t *op = json_pack("{s:s}", "summary", d->summary);
    if (d->extra)
        json_object_set_new(op, "description", json_string(d->extra));
    json_t *params = json_array();
    if (strstr(pattern, ":id"))
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:i}}", "name", "id", "in", "path", "required",
                                                1, "schema", "type", "integer", "minimum", 1));
    if (d->response[0] == '[') {
        json_t *lp = list_params(api == 2);
        json_array_extend(params, lp);
        json_decref(lp);
    }
    if (!strcmp(d->suffix, "/search"))
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", "q", "in", "query", "required", 1,
                                                "schema", "type", "string"));
    if (!strcmp(d->method, "PUT") || !strcmp(d->method, "PATCH"))
        if (strstr(d->suffix, "/posts"))
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", "If-Match", "in", "header",
                                                    "required", 1, "schema", "type", "string"));
    if (!strcmp(d->method, "POST") && d->request)
        json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s, s:i}}", "name", "Idempotency-Key", "in", "header",
                                                "schema", "type", "string", "maxLength", BLOG_IDEM_KEY_MAX));
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    if (d->request)
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", "application/json", "schema",
                                      ref(d->request->name)));
    json_t *resp = json_object(), *ok = json_pack("{s:s}", "description", "success");
    if (d->response[0] == '[') {
        json_object_set_new(ok, "content",
                            json_pack("{s:{s:{s:s, s:{s:{s:s, s:o}, s:{s:s}, s:{s:s}}}}, s:{}}", "application/json",
                                      "schema", "type", "object", "properties", "data", "type", "array", "items",
                                      ref(d->response + 2), "meta", "type", "object", "links", "type", "object",
                                      "text/csv"));
    } else if (d->response[0]) {
        json_object_set_new(ok, "content", json_pack("{s:{s:o}}", "application/json", "schema", ref(d->response)));
    }
    char code[8];
    snprintf(code, sizeof code, "%d", d->status);
    json_object_set_new(resp, code, ok);
    json_object_set_new(resp, "default",
                        json_pack("{s:s, s:{s:{s:o}}}", "description", "an error (RFC 9457)", "content",
                                  "application/problem+json", "schema", ref("Problem")));
    json_object_set_new(op, "responses", resp);
    return op;
}

struct gen {
    json_t *paths;
    const char *prefix;
    int api;
    int missing;
};

static int add_route(const char *method, const char *pattern, void *arg)
{
    struct gen *g = arg;
    size_t pl = strlen(g->prefix);
    if (strncmp(pattern, g->prefix, pl) != 0 || pattern[pl] != '/')
        return 0;
    const struct op_doc *d = op_find(method, pattern + pl);
    if (!d) { /* every route served is documented: a new route without a description fails the start */
        g->missing++;
        return 0;
    }
    char path[160];
    openapi_path(pattern, path, sizeof path);
    json_t *item = json_object_get(g->paths, path);
    if (!item) {
        item = json_object();
        json_object_set_new(g->paths, path, item);
    }
    char m[16];
    size_t i = 0;
    for (; method[i] && i + 1 < sizeof m; i++)
        m[i] = (char)(method[i] | 0x20);
    m[i] = 0;
    json_object_set_new(item, m, operation(d, pattern, g->api));
    return 0;
}

static json_t *components(int api)
{
    const struct st_schema *s[] = {
        &blog_user_create,    &blog_user_read,      &blog_post_create,
        &blog_post_put,       &blog_post_patch,     api == 2 ? &blog_post_read_v2 : &blog_post_read,
        &blog_comment_create, &blog_comment_update, api == 2 ? &blog_comment_read_v2 : &blog_comment_read,
        &blog_problem_schema
    };
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        json_object_set_new(o, s[i]->name, st_schema_to_json(s[i]));
    json_object_set_new(o, "UserUpdate", st_schema_to_json(&blog_user_update));
    return json_pack("{s:o}", "schemas", o);
}

static json_t *document(struct blog *b, int api)
{
    struct gen g = { json_object(), b->ver[api - 1].prefix, api, 0 };
    st_http_app_each_route(&b->app, add_route, &g);
    json_t *doc =
        json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:o}", "openapi", "3.1.0", "info", "title", "strata blog API",
                  "version", api == 2 ? "2.0.0" : "1.0.0", "description",
                  api == 2 ? "v2: posts and comments embed their author; lists page by cursor (offset is refused)."
                           : "v1: the blog of Modules 2, 4 and 6. Contract: docs/blog-api.md in the strata repository.",
                  "paths", g.paths, "components", components(api));
    if (g.missing) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* ---- the docs page ------------------------------------------------------------------- */

static void html_escape(struct st_buf *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': st_buf_append_c(o, "&amp;"); break;
        case '<': st_buf_append_c(o, "&lt;"); break;
        case '>': st_buf_append_c(o, "&gt;"); break;
        case '"': st_buf_append_c(o, "&quot;"); break;
        default: st_buf_append_byte(o, *s);
        }
    }
}

static void schema_table(struct st_buf *o, json_t *components, const char *ref_name)
{
    json_t *s = json_object_get(json_object_get(components, "schemas"), ref_name);
    json_t *props = json_object_get(s, "properties");
    json_t *req = json_object_get(s, "required");
    if (!props)
        return;
    st_buf_printf(o, "<table><tr><th>%s field</th><th>type</th><th>rules</th></tr>", ref_name);
    const char *k;
    json_t *v;
    json_object_foreach(props, k, v)
    {
        bool required = false;
        size_t i;
        json_t *r;
        json_array_foreach(req, i, r) required |= !strcmp(json_string_value(r), k);
        char *rules = json_dumps(v, JSON_COMPACT);
        st_buf_append_c(o, "<tr><td><code>");
        html_escape(o, k);
        st_buf_append_c(o, "</code>");
        if (required)
            st_buf_append_c(o, " <b>required</b>");
        st_buf_append_c(o, "</td><td>");
        html_escape(o, json_string_value(json_object_get(v, "type")));
        st_buf_append_c(o, "</td><td><code>");
        html_escape(o, rules);
        st_buf_append_c(o, "</code></td></tr>");
        free(rules);
    }
    st_buf_append_c(o, "</table>");
}

static char *docs_page(json_t *v1, json_t *v2)
{
    struct st_buf o;
    st_buf_init(&o, ST_BUF_UNLIMITED);
    st_buf_append_c(&o,
                    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>strata blog API</title>"
                    "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
                    "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
                    "text-align:left;vertical-align:top}code{font-size:13px}h3{margin-bottom:.2rem}"
                    ".m{font-weight:bold;display:inline-block;min-width:4.5rem}</style></head><body>"
                    "<h1>strata blog API</h1><p>Generated from the OpenAPI documents "
                    "<a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> and "
                    "<a href=\"/api/v2/openapi.json\">/api/v2/openapi.json</a>. Errors are "
                    "<code>application/problem+json</code> with a stable <code>code</code>.</p>");
    json_t *docs[2] = { v1, v2 };
    for (int d = 0; d < 2; d++) {
        json_t *doc = docs[d];
        st_buf_printf(&o, "<h2>v%d</h2><p>", d + 1);
        html_escape(&o, json_string_value(json_object_get(json_object_get(doc, "info"), "description")));
        st_buf_append_c(&o, "</p>");
        const char *path;
        json_t *item;
        json_object_foreach(json_object_get(doc, "paths"), path, item)
        {
            const char *method;
            json_t *op;
            json_object_foreach(item, method, op)
            {
                st_buf_append_c(&o, "<h3><span class=\"m\">");
                for (const char *p = method; *p; p++)
                    st_buf_append_byte(&o, (char)(*p & ~0x20));
                st_buf_append_c(&o, "</span><code>");
                html_escape(&o, path);
                st_buf_append_c(&o, "</code></h3><p>");
                html_escape(&o, json_string_value(json_object_get(op, "summary")));
                const char *desc = json_string_value(json_object_get(op, "description"));
                if (desc) {
                    st_buf_append_c(&o, ". ");
                    html_escape(&o, desc);
                }
                st_buf_append_c(&o, "</p>");
                json_t *rb = json_object_get(op, "requestBody");
                json_t *schema =
                    json_object_get(json_object_get(json_object_get(rb, "content"), "application/json"), "schema");
                const char *sref = json_string_value(json_object_get(schema, "$ref"));
                if (sref && strrchr(sref, '/'))
                    schema_table(&o, json_object_get(doc, "components"), strrchr(sref, '/') + 1);
            }
        }
    }
    st_buf_append_c(&o, "</body></html>\n");
    return st_buf_detach(&o, NULL);
}

int blog_api_build(struct blog *b)
{
    json_t *d1 = document(b, 1), *d2 = document(b, 2);
    int rc = -1;
    if (d1 && d2) {
        b->openapi[0] = json_dumps(d1, JSON_INDENT(1));
        b->openapi[1] = json_dumps(d2, JSON_INDENT(1));
        b->docs_html = docs_page(d1, d2);
        rc = b->openapi[0] && b->openapi[1] && b->docs_html ? 0 : -1;
    }
    json_decref(d1);
    json_decref(d2);
    return rc;
}

static void openapi_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_ver *v = data;
    const char *doc = v->b->openapi[v->api - 1];
    st_http_reply(x, 200, "application/json", st_str_c(doc));
}

static void docs_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_ver *v = data;
    st_http_reply(x, 200, "text/html; charset=utf-8", st_str_c(v->b->docs_html));
}

int blog_api_routes(struct st_http_app *app, struct blog_ver *v)
{
    char p[64];
    snprintf(p, sizeof p, "%s/openapi.json", v->prefix);
    int rc = st_http_app_route(app, "GET", p, openapi_get, v);
    snprintf(p, sizeof p, "%s/docs", v->prefix);
    return rc ? rc : st_http_app_route(app, "GET", p, docs_get, v);
}
