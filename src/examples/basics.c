/*
 * basics.c - `strata example basics`: one app answering Module 1's practical questions
 * (Q11-Q20) on the HTTP engine. Each route names its question; `strata grade Q11..Q20`
 * checks it (and any other implementation) black-box.
 *
 *   GET  /                 Q11 Hello World
 *   GET  /time             Q12 the server's time as JSON
 *   POST /echo             Q13 JSON back, pretty-printed; 400/415 problem+json
 *   GET  /home /about /contact   Q14 routing
 *   GET  /search?q=&limit= Q15 query parameters, over the bank's 25 module names
 *   (every request)        Q16 access log middleware: one line per request on stderr
 *   GET  /error            Q17 a handler failure -> 500 problem+json, server stays up
 *   /users, /users/:id     Q18 in-memory CRUD; Q19 validation (422 with every bad field)
 *   GET  /static/PATH      Q20 files from --directory
 *
 * The users store is shared by the worker threads, so it sits behind a mutex; at this
 * size a lock held for a few hundred nanoseconds is the simple, correct choice.
 */
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/flags.h"
#include "base/log.h"
#include "base/time.h"
#include "curriculum/curriculum.h"
#include "examples/examples.h"
#include "http/app.h"
#include "http/static.h"
#include "http/url.h"
#include "lab/cli.h"

#define NAME_MAX_LEN 100
#define EMAIL_MAX_LEN 254
#define USERS_MAX 100000

struct user {
    int64_t id;
    char *name;
    char *email;
};

struct users {
    pthread_mutex_t mu;
    struct user *v;
    size_t n, cap;
    int64_t next_id;
};

struct basics {
    struct st_http_app app;
    struct st_http_static files;
    bool have_files;
    struct users users;
};

/* ---- Q11-Q14: fixed answers ---- */

static void hello(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_reply(x, 200, "text/plain; charset=utf-8", ST_STR_LIT("Hello World\n"));
}

static void server_time(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    int64_t now = st_time_wall_ms();
    char text[ST_TIME_RFC3339_LEN + 1];
    st_time_format_rfc3339(now, text);
    json_t *o = json_pack("{s:s, s:I, s:s}", "time", text, "epoch_ms", (json_int_t)now, "timezone", "UTC");
    st_http_header(x, ST_STR_LIT("Cache-Control"), ST_STR_LIT("no-store"));
    st_http_reply_json(x, 200, o);
}

static void echo(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    json_error_t jerr;
    json_t *v = st_http_json_body(x, &jerr); /* answers 415 / 400 itself */
    if (!v)
        return;
    st_http_reply_json_flags(x, 200, v, ST_HTTP_JSON_PRETTY);
}

static const char page_html[] = "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
                                "<title>%s</title></head>\n<body>\n<nav><a href=\"/home\">Home</a> | "
                                "<a href=\"/about\">About</a> | <a href=\"/contact\">Contact</a></nav>\n"
                                "<h1>%s</h1>\n<p>%s</p>\n</body>\n</html>\n";

static void page(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    const char *const *p = data; /* {title, text} */
    st_http_replyf(x, 200, "text/html; charset=utf-8", page_html, p[0], p[0], p[1]);
}

static const char *const home_page[] = { "Home", "Welcome to the strata Module 1 example app." };
static const char *const about_page[] = { "About", "This app answers questions 11 to 20 of the question bank." };
static const char *const contact_page[] = { "Contact", "Write to the maintainers through the issue tracker." };

/* ---- Q15: query parameters ---- */

/* ASCII case-insensitive substring test. */
static bool contains_ci(const char *hay, struct st_str needle)
{
    size_t n = strlen(hay);
    if (needle.len == 0)
        return true;
    for (size_t i = 0; i + needle.len <= n; i++)
        if (strncasecmp(hay + i, needle.ptr, needle.len) == 0)
            return true;
    return false;
}

static void search(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    struct st_str q = { NULL, 0 }, lim = { NULL, 0 };
    int rq = st_http_query_get(x->req->query, "q", x->arena, &q);
    int rl = st_http_query_get(x->req->query, "limit", x->arena, &lim);
    if (rq == ST_EPARSE || rl == ST_EPARSE) {
        st_http_problem(x, 400, "malformed percent-encoding in the query string");
        return;
    }
    if (rq != 0 || st_str_trim(q).len == 0) {
        st_http_problem(x, 400, "query parameter 'q' is required and must not be empty");
        return;
    }
    int64_t limit = ST_CUR_MODULES;
    if (rl == 0 && (st_str_to_i64(lim, &limit) != 0 || limit < 1 || limit > ST_CUR_MODULES)) {
        st_http_problem(x, 400, "query parameter 'limit' must be an integer from 1 to 25");
        return;
    }
    json_t *results = json_array();
    for (int id = 1; id <= ST_CUR_MODULES && (int64_t)json_array_size(results) < limit; id++) {
        const struct st_cur_module *mod = st_cur_module(id);
        if (contains_ci(mod->name, q))
            json_array_append_new(results, json_pack("{s:i, s:s}", "id", id, "name", mod->name));
    }
    json_t *o = json_object();
    json_object_set_new(o, "query", json_stringn(q.ptr, q.len));
    json_object_set_new(o, "count", json_integer((json_int_t)json_array_size(results)));
    json_object_set_new(o, "results", results);
    st_http_reply_json(x, 200, o);
}

/* ---- Q17: errors ---- */

static void fail_on_purpose(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    /* Stands for any failure inside a handler: the answer is a generic 500 (details go to
     * the log, never to the client) and the server keeps serving. */
    st_log_error("basics: /error failed on purpose", ST_LOG_INT("request", (int64_t)x->id));
    st_http_problem(x, 500, "the server could not complete the request");
}

/* ---- Q18/Q19: users ---- */

static json_t *user_json(const struct user *u)
{
    char loc[40];
    snprintf(loc, sizeof loc, "/users/%lld", (long long)u->id);
    return json_pack("{s:I, s:s, s:s, s:{s:s}}", "id", (json_int_t)u->id, "name", u->name, "email", u->email, "links",
                     "self", loc);
}

static void add_error(json_t *errors, const char *field, const char *message)
{
    json_array_append_new(errors, json_pack("{s:s, s:s}", "field", field, "message", message));
}

/* Check one string field; appends to errors what is wrong with it. */
static const char *check_string(json_t *body, const char *field, size_t max, json_t *errors)
{
    json_t *v = json_object_get(body, field);
    if (!v) {
        add_error(errors, field, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        add_error(errors, field, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    struct st_str t = st_str_trim((struct st_str){ s, n });
    if (t.len == 0) {
        add_error(errors, field, "must not be empty");
        return NULL;
    }
    if (n > max) {
        add_error(errors, field,
                  max == NAME_MAX_LEN ? "must be at most 100 characters" : "must be at most 254 characters");
        return NULL;
    }
    if (memchr(s, '\0', n)) {
        add_error(errors, field, "must not contain NUL");
        return NULL;
    }
    return s;
}

/* A deliberately simple address check: local@domain, no spaces, a dot in the domain. */
static bool email_ok(const char *e)
{
    const char *at = strchr(e, '@');
    if (!at || at == e || strchr(at + 1, '@') || !at[1])
        return false;
    for (const char *p = e; *p; p++)
        if (isspace((unsigned char)*p) || (unsigned char)*p < 0x20)
            return false;
    const char *dot = strrchr(at + 1, '.');
    return dot && dot > at + 1 && dot[1];
}

/*
 * Parse and validate a user body. Returns true with *name and *email borrowed from *body (the
 * caller decrefs it), or answers the exchange (400/415 bad JSON, 422 every bad field).
 */
static bool read_user(struct st_http_ex *x, json_t **body, const char **name, const char **email)
{
    json_error_t jerr;
    *body = st_http_json_body(x, &jerr);
    if (!*body)
        return false;
    json_t *errors = json_array();
    if (!json_is_object(*body)) {
        add_error(errors, "", "the body must be a JSON object");
    } else {
        *name = check_string(*body, "name", NAME_MAX_LEN, errors);
        *email = check_string(*body, "email", EMAIL_MAX_LEN, errors);
        if (*email && !email_ok(*email))
            add_error(errors, "email", "must be an email address like name@example.com");
    }
    if (json_array_size(errors) == 0) {
        json_decref(errors);
        return true;
    }
    json_decref(*body);
    *body = NULL;
    st_http_problem_json(x, 422, "the request body has invalid fields", json_pack("{s:o}", "errors", errors));
    return false;
}

/* Index of the user with this id, or -1. Caller holds the lock. */
static ptrdiff_t find_user(const struct users *s, int64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].id == id)
            return (ptrdiff_t)i;
    return -1;
}

/* Index of the user with this email (case-insensitive), other than skip_id, or -1. */
static ptrdiff_t find_email(const struct users *s, const char *email, int64_t skip_id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i].id != skip_id && strcasecmp(s->v[i].email, email) == 0)
            return (ptrdiff_t)i;
    return -1;
}

/* The :id parameter as a positive integer, or answer 404 (no such resource). */
static bool user_id(struct st_http_ex *x, int64_t *id)
{
    struct st_str raw = st_http_param(x, "id");
    if (st_str_to_i64(raw, id) != 0 || *id < 1) {
        st_http_problem(x, 404, "no such user");
        return false;
    }
    return true;
}

static void users_list(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct users *s = data;
    json_t *a = json_array();
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        json_array_append_new(a, user_json(&s->v[i]));
    pthread_mutex_unlock(&s->mu);
    st_http_reply_json(x, 200, a);
}

static void users_create(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct users *s = data;
    json_t *body;
    const char *name = NULL, *email = NULL;
    if (!read_user(x, &body, &name, &email))
        return;
    pthread_mutex_lock(&s->mu);
    if (find_email(s, email, 0) >= 0) {
        pthread_mutex_unlock(&s->mu);
        json_decref(body);
        st_http_problem(x, 409, "a user with this email already exists");
        return;
    }
    if (s->n == USERS_MAX) {
        pthread_mutex_unlock(&s->mu);
        json_decref(body);
        st_http_problem(x, 507, "the in-memory store is full");
        return;
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = st_xrealloc(s->v, s->cap * sizeof *s->v);
    }
    struct user *u = &s->v[s->n++];
    *u = (struct user){ ++s->next_id, st_xstrdup(name), st_xstrdup(email) };
    json_t *out = user_json(u);
    int64_t id = u->id;
    pthread_mutex_unlock(&s->mu);
    json_decref(body);
    st_http_header_fmt(x, "Location", "/users/%lld", (long long)id);
    st_http_reply_json(x, 201, out);
}

static void users_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct users *s = data;
    int64_t id;
    if (!user_id(x, &id))
        return;
    pthread_mutex_lock(&s->mu);
    ptrdiff_t i = find_user(s, id);
    json_t *out = i >= 0 ? user_json(&s->v[i]) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!out) {
        st_http_problem(x, 404, "no such user");
        return;
    }
    st_http_reply_json(x, 200, out);
}

static void users_update(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct users *s = data;
    int64_t id;
    if (!user_id(x, &id))
        return;
    json_t *body;
    const char *name = NULL, *email = NULL;
    /* look the user up first: PUT to a missing user is 404 even with a bad body */
    pthread_mutex_lock(&s->mu);
    bool exists = find_user(s, id) >= 0;
    pthread_mutex_unlock(&s->mu);
    if (!exists) {
        st_http_problem(x, 404, "no such user");
        return;
    }
    if (!read_user(x, &body, &name, &email))
        return;
    pthread_mutex_lock(&s->mu);
    ptrdiff_t i = find_user(s, id);
    int status = i < 0 ? 404 : find_email(s, email, id) >= 0 ? 409 : 200;
    json_t *out = NULL;
    if (status == 200) {
        struct user *u = &s->v[i];
        free(u->name);
        free(u->email);
        u->name = st_xstrdup(name);
        u->email = st_xstrdup(email);
        out = user_json(u);
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(body);
    if (status == 404)
        st_http_problem(x, 404, "no such user");
    else if (status == 409)
        st_http_problem(x, 409, "a user with this email already exists");
    else
        st_http_reply_json(x, 200, out);
}

static void users_delete(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct users *s = data;
    int64_t id;
    if (!user_id(x, &id))
        return;
    pthread_mutex_lock(&s->mu);
    ptrdiff_t i = find_user(s, id);
    if (i >= 0) {
        free(s->v[i].name);
        free(s->v[i].email);
        memmove(&s->v[i], &s->v[i + 1], (s->n - (size_t)i - 1) * sizeof *s->v);
        s->n--;
    }
    pthread_mutex_unlock(&s->mu);
    if (i < 0) {
        st_http_problem(x, 404, "no such user");
        return;
    }
    x->status = 204;
    st_http_send(x);
}

static void users_release(struct users *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].name);
        free(s->v[i].email);
    }
    free(s->v);
    pthread_mutex_destroy(&s->mu);
}

/* ---- Q20: static files ---- */

static void static_files(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    struct basics *b = data;
    st_http_static_serve(x, &b->files, st_http_route_param(m, "path"));
}

/* GET /static: the tree's URL is /static/ (relative links in its pages resolve there). */
static void static_redirect(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    if (x->req->query.ptr)
        st_http_header_fmt(x, "Location", "/static/?%.*s", ST_STR_FMT(x->req->query));
    else
        st_http_header(x, ST_STR_LIT("Location"), ST_STR_LIT("/static/"));
    x->status = 301;
    st_http_send(x);
}

/* ---- the app ---- */

static int routes(struct basics *b)
{
    struct st_http_app *app = &b->app;
    int rc = 0;
    rc = rc ? rc : st_http_app_use(app, st_http_mw_request_id());
    rc = rc ? rc : st_http_app_use(app, st_http_mw_access_log());
    rc = rc ? rc : st_http_app_use(app, st_http_mw_security(NULL));
    rc = rc ? rc : st_http_app_use(app, st_http_mw_gzip(NULL));
    rc = rc ? rc : st_http_app_route(app, "GET", "/", hello, NULL);
    rc = rc ? rc : st_http_app_route(app, "GET", "/time", server_time, NULL);
    rc = rc ? rc : st_http_app_route(app, "POST", "/echo", echo, NULL);
    rc = rc ? rc : st_http_app_route(app, "GET", "/home", page, (void *)home_page);
    rc = rc ? rc : st_http_app_route(app, "GET", "/about", page, (void *)about_page);
    rc = rc ? rc : st_http_app_route(app, "GET", "/contact", page, (void *)contact_page);
    rc = rc ? rc : st_http_app_route(app, "GET", "/search", search, NULL);
    rc = rc ? rc : st_http_app_route(app, "GET", "/error", fail_on_purpose, NULL);
    rc = rc ? rc : st_http_app_route(app, "GET", "/users", users_list, &b->users);
    rc = rc ? rc : st_http_app_route(app, "POST", "/users", users_create, &b->users);
    rc = rc ? rc : st_http_app_route(app, "GET", "/users/:id", users_get, &b->users);
    rc = rc ? rc : st_http_app_route(app, "PUT", "/users/:id", users_update, &b->users);
    rc = rc ? rc : st_http_app_route(app, "DELETE", "/users/:id", users_delete, &b->users);
    if (b->have_files) {
        rc = rc ? rc : st_http_app_route(app, "GET", "/static", static_redirect, NULL);
        rc = rc ? rc : st_http_app_route(app, "GET", "/static/*path", static_files, b);
    }
    rc = rc ? rc : st_http_app_builtins(app, NULL);
    return rc;
}

int st_example_basics(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8081", *dir = NULL;
    int64_t workers = 0;
    const struct st_flag flags[] = {
        { "listen", 'l', ST_FLAG_STR, &listen, "HOST:PORT", "address to listen on (port 0: any free port)", 0, 0,
          NULL },
        { "directory", 'D', ST_FLAG_STR, &dir, "DIR", "serve the files under DIR at /static/ (Q20)", 0, 0, NULL },
        { "workers", 'w', ST_FLAG_INT, &workers, "N", "worker threads (0: one per CPU)", 0, 1024, NULL },
        { NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL },
    };
    const struct st_flags_spec spec = {
        "strata example basics [FLAGS]",
        "Module 1's reference app (Q11-Q20): GET / (hello), GET /time, POST /echo, GET /home /about /contact, "
        "GET /search?q=, GET /error, /users CRUD with validation, GET /static/PATH from --directory; "
        "/healthz, /readyz, /metrics. One access-log line per request on stderr.",
        flags,
        "Example: strata example basics --listen 127.0.0.1:8081 --directory ./public\n"
        "Grade it: strata grade Q18 --target http://127.0.0.1:8081\n",
    };
    int nargs = 0;
    int rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: unexpected argument '%s' (see 'strata example basics --help')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    struct basics *b = calloc(1, sizeof *b);
    if (!b)
        return ST_EXIT_FAIL;
    struct st_error err = { 0 };
    pthread_mutex_init(&b->users.mu, NULL);
    st_http_app_init(&b->app);
    b->files.prefix = "/static/";
    if (dir) {
        if (st_http_static_open(&b->files, dir, &err)) {
            rc = st_cli_fail(&err);
            goto out;
        }
        b->have_files = true;
    }
    if (routes(b)) {
        st_error_set(&err, ST_EINTERNAL, "basics: cannot register the routes");
        rc = st_cli_fail(&err);
        goto out;
    }
    struct st_http_config cfg = { .handler = st_http_app_handler, .data = &b->app };
    char host[256];
    const char *colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon ? colon - listen : 0), listen);
    struct st_http_serve_opts o = { .listen = listen,
                                    .workers = (int)workers,
                                    .on_ready = st_example_print_ready,
                                    .on_reload = st_example_on_reload,
                                    .arg = host };
    rc = st_http_serve(&o, &cfg, &err) ? st_cli_fail(&err) : ST_EXIT_OK;
out:
    if (b->have_files)
        st_http_static_close(&b->files);
    st_http_app_release(&b->app);
    users_release(&b->users);
    free(b);
    return rc;
}
