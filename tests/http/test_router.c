/*
 * test_router.c - tests for the segment-trie router (src/http/router.c).
 *
 * Route tables are data: a list of (method, pattern) registrations and a list of requests
 * with the pattern that must answer and the parameters it must capture. Each table is
 * registered in its order and reversed, because precedence must not depend on the order
 * of registration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/router.h"

struct reg {
    const char *method, *pattern;
};

struct req {
    const char *method, *path;
    int rc;                      /* 0, ST_ENOTFOUND or ST_HTTP_ROUTE_METHOD */
    const char *pattern;         /* rc 0: the pattern that answers */
    const char *params;          /* rc 0: "name=value,name=value" in order; rc 405: the Allow list */
    const char *method_of_route; /* rc 0, if set: the registered method that answers */
};

/* handler_data is the registration itself, so a match says which route answered. */
static void build(struct st_http_router *r, const struct reg *regs, size_t n, bool reversed)
{
    st_http_router_init(r);
    for (size_t k = 0; k < n; k++) {
        const struct reg *g = &regs[reversed ? n - 1 - k : k];
        struct st_error err;
        int rc = st_http_router_add(r, g->method, g->pattern, (void *)g, &err);
        if (rc)
            fail_msg("add %s %s: %s", g->method ? g->method : "NULL", g->pattern, err.msg);
    }
}

static void params_text(const struct st_http_route_match *m, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < m->nparams; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%.*s=%.*s", i ? "," : "", ST_STR_FMT(m->params[i].name),
                                ST_STR_FMT(m->params[i].value));
}

static void check_requests(const struct st_http_router *r, const struct req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct req *q = &reqs[i];
        struct st_http_route_match m;
        int rc = st_http_router_match(r, st_str_c(q->method), st_str_c(q->path), &m);
        if (rc != q->rc)
            fail_msg("%s %s: rc %d, want %d", q->method, q->path, rc, q->rc);
        if (rc == ST_HTTP_ROUTE_METHOD) {
            assert_string_equal(m.allow, q->params);
            assert_null(m.data);
            continue;
        }
        assert_string_equal(m.allow, "");
        if (rc)
            continue;
        const struct reg *g = m.data;
        if (strcmp(m.pattern, q->pattern) != 0 || strcmp(g->pattern, q->pattern) != 0)
            fail_msg("%s %s: answered by %s, want %s", q->method, q->path, m.pattern, q->pattern);
        if (q->method_of_route)
            assert_string_equal(g->method ? g->method : "NULL", q->method_of_route);
        char got[512];
        params_text(&m, got, sizeof(got));
        if (strcmp(got, q->params ? q->params : "") != 0)
            fail_msg("%s %s: params '%s', want '%s'", q->method, q->path, got, q->params ? q->params : "");
    }
}

static void run_table(const struct reg *regs, size_t nregs, const struct req *reqs, size_t nreqs)
{
    for (int reversed = 0; reversed < 2; reversed++) {
        struct st_http_router r;
        build(&r, regs, nregs, reversed);
        check_requests(&r, reqs, nreqs);
        st_http_router_release(&r);
    }
}

#define RUN(regs, reqs) run_table(regs, sizeof(regs) / sizeof(regs[0]), reqs, sizeof(reqs) / sizeof(reqs[0]))

static void literals_and_root(void **state)
{
    (void)state;
    static const struct reg regs[] = {
        { "GET", "/" }, { "GET", "/users" }, { "GET", "/users/" }, { "GET", "/v1/users:batchGet" }, { "GET", "/a/b/c" },
    };
    static const struct req reqs[] = {
        { "GET", "/", 0, "/" },
        { "GET", "/users", 0, "/users" },
        { "GET", "/users/", 0, "/users/" }, /* strict: the trailing slash is its own pattern */
        { "GET", "/v1/users:batchGet", 0, "/v1/users:batchGet" },
        { "GET", "/a/b/c", 0, "/a/b/c" },
        { "GET", "/a/b", ST_ENOTFOUND },
        { "GET", "/a/b/c/", ST_ENOTFOUND },
        { "GET", "/a/b/c/d", ST_ENOTFOUND },
        { "GET", "//users", ST_ENOTFOUND },
        { "GET", "/Users", ST_ENOTFOUND }, /* case-sensitive */
        { "GET", "/user", ST_ENOTFOUND },
        { "GET", "/usersx", ST_ENOTFOUND },
        { "GET", "", ST_ENOTFOUND },
        { "OPTIONS", "*", ST_ENOTFOUND },
        { "GET", "users", ST_ENOTFOUND },
    };
    RUN(regs, reqs);
}

static void trailing_slash_is_strict(void **state)
{
    (void)state;
    static const struct reg regs[] = { { "GET", "/users" }, { "GET", "/docs/" } };
    static const struct req reqs[] = {
        { "GET", "/users", 0, "/users" },
        { "GET", "/users/", ST_ENOTFOUND },
        { "GET", "/docs/", 0, "/docs/" },
        { "GET", "/docs", ST_ENOTFOUND },
    };
    RUN(regs, reqs);
}

static void parameters(void **state)
{
    (void)state;
    static const struct reg regs[] = {
        { "GET", "/users/:id" },   { "GET", "/users/:uid/posts/:post" },
        { "GET", "/files/:name" }, { "GET", "/static/*path" },
        { "GET", "/any/*" },
    };
    static const struct req reqs[] = {
        { "GET", "/users/42", 0, "/users/:id", "id=42" },
        { "GET", "/users/42/posts/7", 0, "/users/:uid/posts/:post", "uid=42,post=7" },
        { "GET", "/users/", ST_ENOTFOUND }, /* a :param is never empty */
        { "GET", "/users", ST_ENOTFOUND },
        { "GET", "/users/42/posts", ST_ENOTFOUND },
        { "GET", "/users/42/posts/", ST_ENOTFOUND },
        /* matching is on the raw path: %2F is data, not a separator */
        { "GET", "/files/a%2Fb", 0, "/files/:name", "name=a%2Fb" },
        { "GET", "/files/a/b", ST_ENOTFOUND },
        { "GET", "/files/%20x", 0, "/files/:name", "name=%20x" },
        { "GET", "/static/", 0, "/static/*path", "path=" },
        { "GET", "/static/a/b/c.css", 0, "/static/*path", "path=a/b/c.css" },
        { "GET", "/static//x", 0, "/static/*path", "path=/x" },
        { "GET", "/static", ST_ENOTFOUND },
        { "GET", "/any/thing/else", 0, "/any/*", "" }, /* a bare * captures nothing */
        { "GET", "/any/", 0, "/any/*", "" },
    };
    RUN(regs, reqs);
}

static void precedence(void **state)
{
    (void)state;
    static const struct reg regs[] = {
        { "GET", "/users/*rest" },    { "GET", "/users/:id" },       { "GET", "/users/new" },
        { "GET", "/users/:id/edit" }, { "GET", "/users/new/*tail" }, { "GET", "/*all" },
    };
    static const struct req reqs[] = {
        { "GET", "/users/new", 0, "/users/new" },
        { "GET", "/users/42", 0, "/users/:id", "id=42" },
        { "GET", "/users/42/x", 0, "/users/*rest", "rest=42/x" },
        { "GET", "/users/", 0, "/users/*rest", "rest=" },
        /* the literal branch wins, through its own wildcard */
        { "GET", "/users/new/edit", 0, "/users/new/*tail", "tail=edit" },
        { "GET", "/users/7/edit", 0, "/users/:id/edit", "id=7" },
        { "GET", "/users/7/edit/x", 0, "/users/*rest", "rest=7/edit/x" },
        { "GET", "/users", 0, "/*all", "all=users" },
        { "GET", "/", 0, "/*all", "all=" },
        { "GET", "/other/deep/path", 0, "/*all", "all=other/deep/path" },
    };
    RUN(regs, reqs);
}

static void backtracking_to_param(void **state)
{
    (void)state;
    static const struct reg regs[] = {
        { "GET", "/users/new" },
        { "GET", "/users/:id/edit" },
        { "GET", "/a/:x/c" },
        { "GET", "/a/b/d" },
    };
    static const struct req reqs[] = {
        { "GET", "/users/new/edit", 0, "/users/:id/edit", "id=new" },
        { "GET", "/users/new", 0, "/users/new" },
        { "GET", "/a/b/c", 0, "/a/:x/c", "x=b" },
        { "GET", "/a/b/d", 0, "/a/b/d" },
        { "GET", "/a/z/d", ST_ENOTFOUND },
    };
    RUN(regs, reqs);
}

static void methods(void **state)
{
    (void)state;
    static const struct reg regs[] = {
        { "GET", "/users" },     { "POST", "/users" },           { "GET", "/items/:id" }, { "HEAD", "/items/:id" },
        { "PUT", "/items/:id" }, { "DELETE", "/items/:id" },     { "*", "/any" },         { "GET", "/mixed" },
        { NULL, "/mixed" },      { "POST", "/only-post" },       { "GET", "/u/new" },     { "POST", "/u/:id" },
        { "PATCH", "/u/:id" },   { "OPTIONS", "/with-options" },
    };
    static const struct req reqs[] = {
        { "GET", "/users", 0, "/users", NULL, "GET" },
        { "POST", "/users", 0, "/users", NULL, "POST" },
        { "HEAD", "/users", 0, "/users", NULL, "GET" }, /* HEAD is served by GET */
        { "DELETE", "/users", ST_HTTP_ROUTE_METHOD, NULL, "GET, HEAD, POST" },
        { "get", "/users", ST_HTTP_ROUTE_METHOD, NULL, "GET, HEAD, POST" }, /* methods are case-sensitive */
        { "OPTIONS", "/users", ST_HTTP_ROUTE_METHOD, NULL, "GET, HEAD, POST" },
        { "BREW", "/users", ST_HTTP_ROUTE_METHOD, NULL, "GET, HEAD, POST" },
        { "HEAD", "/items/1", 0, "/items/:id", "id=1", "HEAD" }, /* an explicit HEAD wins */
        { "GET", "/items/1", 0, "/items/:id", "id=1", "GET" },
        { "POST", "/items/1", ST_HTTP_ROUTE_METHOD, NULL, "DELETE, GET, HEAD, PUT" },
        { "BREW", "/any", 0, "/any", NULL, "*" },
        { "GET", "/any", 0, "/any", NULL, "*" },
        { "GET", "/mixed", 0, "/mixed", NULL, "GET" },  /* exact beats any */
        { "HEAD", "/mixed", 0, "/mixed", NULL, "GET" }, /* HEAD-by-GET beats any */
        { "POST", "/mixed", 0, "/mixed", NULL, "NULL" },
        { "HEAD", "/only-post", ST_HTTP_ROUTE_METHOD, NULL, "POST" },
        { "GET", "/only-post", ST_HTTP_ROUTE_METHOD, NULL, "POST" },
        /* a route that takes the method beats a higher-precedence pattern that does not */
        { "POST", "/u/new", 0, "/u/:id", "id=new", "POST" },
        { "GET", "/u/new", 0, "/u/new", NULL, "GET" },
        /* Allow is the union over every pattern the path matches */
        { "DELETE", "/u/new", ST_HTTP_ROUTE_METHOD, NULL, "GET, HEAD, PATCH, POST" },
        { "DELETE", "/u/7", ST_HTTP_ROUTE_METHOD, NULL, "PATCH, POST" },
        { "GET", "/with-options", ST_HTTP_ROUTE_METHOD, NULL, "OPTIONS" },
        { "DELETE", "/nope", ST_ENOTFOUND },
    };
    RUN(regs, reqs);
}

static int add(struct st_http_router *r, const char *method, const char *pattern, struct st_error *err)
{
    return st_http_router_add(r, method, pattern, NULL, err);
}

static void conflicts(void **state)
{
    (void)state;
    struct st_http_router r;
    struct st_error err;
    st_http_router_init(&r);
    assert_int_equal(add(&r, "GET", "/users/:id", &err), 0);
    assert_int_equal(add(&r, "GET", "/users/:id", &err), ST_ECONFLICT);
    assert_int_equal(add(&r, "GET", "/users/:name", &err), ST_ECONFLICT);
    assert_non_null(strstr(err.msg, "/users/:id"));
    assert_non_null(strstr(err.msg, "/users/:name"));
    assert_int_equal(add(&r, "POST", "/users/:name", &err), 0); /* another method: fine */
    assert_int_equal(add(&r, "*", "/users/:x", &err), 0);
    assert_int_equal(add(&r, NULL, "/users/:y", &err), ST_ECONFLICT); /* NULL is "*" */
    assert_int_equal(add(&r, "GET", "/files/*", &err), 0);
    assert_int_equal(add(&r, "GET", "/files/*rest", &err), ST_ECONFLICT);
    assert_int_equal(add(&r, "GET", "/files/:one", &err), 0); /* another shape */
    assert_int_equal(add(&r, "GET", "/files/", &err), 0);
    assert_int_equal(r.nroutes, 6);

    /* the first registration still answers */
    struct st_http_route_match m;
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/users/5"), &m), 0);
    assert_string_equal(m.pattern, "/users/:id");
    assert_int_equal(st_http_route_param(&m, "id").len, 1);
    assert_null(st_http_route_param(&m, "name").ptr);
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("POST"), ST_STR_LIT("/users/5"), &m), 0);
    assert_string_equal(m.pattern, "/users/:name");
    assert_memory_equal(st_http_route_param(&m, "name").ptr, "5", 1);
    assert_null(st_http_route_param(&m, "id").ptr);
    st_http_router_release(&r);
}

static void malformed_patterns(void **state)
{
    (void)state;
    static const struct {
        const char *method, *pattern;
        int rc;
        const char *msg; /* a fragment of the message */
    } bad[] = {
        { "GET", "", ST_EPARSE, "start with '/'" },
        { "GET", "users", ST_EPARSE, "start with '/'" },
        { "GET", NULL, ST_EPARSE, "missing" },
        { "GET", "/a//b", ST_EPARSE, "empty segment" },
        { "GET", "//", ST_EPARSE, "empty segment" },
        { "GET", "/:", ST_EPARSE, "without a name" },
        { "GET", "/a/:/b", ST_EPARSE, "without a name" },
        { "GET", "/:na-me", ST_EPARSE, "[A-Za-z0-9_]+" },
        { "GET", "/*a/b", ST_EPARSE, "last segment" },
        { "GET", "/*/b", ST_EPARSE, "last segment" },
        { "GET", "/*/", ST_EPARSE, "last segment" },
        { "GET", "/:a/:a", ST_EPARSE, "twice" },
        { "GET", "/:a/*a", ST_EPARSE, "twice" },
        { "GET", "/a b", ST_EPARSE, "0x20" },
        { "GET", "/a?b", ST_EPARSE, "0x3f" },
        { "GET", "/a#b", ST_EPARSE, "0x23" },
        { "GET", "/caf\xc3\xa9", ST_EPARSE, "0xc3" },
        { "GET", "/%zz", ST_EPARSE, "0x25" },
        { "GET", "/%4", ST_EPARSE, "0x25" },
        { "GET", "/:a/:b/:c/:d/:e/:f/:g/:h/:i", ST_ELIMIT, "more than 8" },
        { "GET", "/:a/:b/:c/:d/:e/:f/:g/:h/*i", ST_ELIMIT, "more than 8" },
        { "", "/", ST_EPARSE, "1 to 32" },
        { "GE T", "/", ST_EPARSE, "not a token" },
        { "GET/", "/", ST_EPARSE, "not a token" },
        { "A123456789012345678901234567890123", "/", ST_EPARSE, "1 to 32" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct st_http_router r;
        struct st_error err = { 0 };
        st_http_router_init(&r);
        int rc = st_http_router_add(&r, bad[i].method, bad[i].pattern, NULL, &err);
        if (rc != bad[i].rc || !strstr(err.msg, bad[i].msg))
            fail_msg("%s: rc %d msg '%s'", bad[i].pattern ? bad[i].pattern : "NULL", rc, err.msg);
        assert_int_equal(r.nroutes, 0);
        assert_int_equal(st_http_router_add(&r, bad[i].method, bad[i].pattern, NULL, NULL), bad[i].rc);
        st_http_router_release(&r);
    }
}

static void accepted_patterns(void **state)
{
    (void)state;
    static const char *const good[] = {
        "/",
        "/*",
        "/:a",
        "/a%20b",
        "/a:b",
        "/a*b",
        "/~user/x.y-z_",
        "/!$&'()+,;=@",
        "/:a/:b/:c/:d/:e/:f/:g/:h/*", /* 8 named plus a bare wildcard */
    };
    struct st_http_router r;
    st_http_router_init(&r);
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct st_error err;
        if (st_http_router_add(&r, "GET", good[i], NULL, &err))
            fail_msg("%s: %s", good[i], err.msg);
    }
    struct st_http_route_match m;
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/1/2/3/4/5/6/7/8/9/10"), &m), 0);
    assert_string_equal(m.pattern, "/:a/:b/:c/:d/:e/:f/:g/:h/*");
    assert_int_equal(m.nparams, 8);
    assert_memory_equal(st_http_route_param(&m, "h").ptr, "8", 1);
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/a%20b"), &m), 0);
    assert_string_equal(m.pattern, "/a%20b");
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/a b"), &m), 0);
    assert_string_equal(m.pattern, "/:a"); /* the literal is compared raw, not decoded */
    st_http_router_release(&r);
}

static void method_limits(void **state)
{
    (void)state;
    struct st_http_router r;
    struct st_error err;
    st_http_router_init(&r);
    /* 21 methods of 10 bytes: 21 * 12 - 2 = 250 bytes of Allow; another 10 would pass 255. */
    char name[24];
    for (int i = 0; i < 21; i++) {
        snprintf(name, sizeof(name), "METHOD%04d", i);
        assert_int_equal(add(&r, name, "/x", &err), 0);
    }
    assert_int_equal(add(&r, "METHOD9999", "/x", &err), ST_ELIMIT);
    assert_int_equal(add(&r, "ABC", "/x", &err), 0); /* 250 + 5: exactly 255, the most that fits */
    struct st_http_route_match m;
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/x"), &m), ST_HTTP_ROUTE_METHOD);
    assert_int_equal(strlen(m.allow), 255);
    assert_memory_equal(m.allow, "ABC, METHOD0000, METHOD0001", 27);
    assert_int_equal(add(&r, "X", "/x", &err), ST_ELIMIT);
    st_http_router_release(&r);

    /* the count limit, with short names */
    st_http_router_init(&r);
    for (int i = 0; i < ST_HTTP_ROUTER_METHODS_MAX; i++) {
        snprintf(name, sizeof(name), "M%02d", i);
        assert_int_equal(add(&r, name, "/y", &err), 0);
    }
    assert_int_equal(add(&r, "Z", "/y", &err), ST_ELIMIT);
    assert_int_equal(add(&r, "M00", "/z", &err), 0); /* a known method is fine */
    st_http_router_release(&r);
}

/* Many literal siblings exercise the sorted children and the binary search. */
static void many_literals(void **state)
{
    (void)state;
    enum { N = 300 };
    static char pats[N][32];
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    srand(7);
    for (int i = N - 1; i > 0; i--) {
        int j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    struct st_http_router r;
    st_http_router_init(&r);
    for (int k = 0; k < N; k++) {
        int i = order[k];
        /* varied lengths and shared prefixes */
        snprintf(pats[i], sizeof(pats[i]), "/api/%.*s%d", i % 7, "abcdefg", i);
        assert_int_equal(st_http_router_add(&r, "GET", pats[i], pats[i], NULL), 0);
    }
    assert_int_equal(st_http_router_add(&r, "GET", "/api/:other", NULL, NULL), 0);
    for (int i = 0; i < N; i++) {
        struct st_http_route_match m;
        assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), st_str_c(pats[i]), &m), 0);
        assert_ptr_equal(m.data, pats[i]);
        assert_int_equal(m.nparams, 0);
    }
    struct st_http_route_match m;
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/api/zzz"), &m), 0);
    assert_null(m.data);
    assert_int_equal(m.nparams, 1);
    st_http_router_release(&r);
}

static void release_and_reuse(void **state)
{
    (void)state;
    struct st_http_router r;
    struct st_http_route_match m;
    st_http_router_init(&r);
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/"), &m), ST_ENOTFOUND);
    assert_int_equal(add(&r, "GET", "/a", NULL), 0);
    st_http_router_release(&r);
    st_http_router_release(&r); /* twice is harmless */
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/a"), &m), ST_ENOTFOUND);
    assert_int_equal(add(&r, "GET", "/a", NULL), 0); /* no conflict with the released route */
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), ST_STR_LIT("/a"), &m), 0);
    st_http_router_release(&r);
}

/* The path is not NUL-terminated in a server: match must stop at path.len. */
static void path_is_a_slice(void **state)
{
    (void)state;
    struct st_http_router r;
    struct st_http_route_match m;
    st_http_router_init(&r);
    assert_int_equal(add(&r, "GET", "/a/:id", NULL), 0);
    const char buf[] = "/a/42?x=1 HTTP/1.1";
    char *exact = malloc(5);
    memcpy(exact, buf, 5); /* "/a/42" with no terminator: ASan sees any overread */
    assert_int_equal(st_http_router_match(&r, ST_STR_LIT("GET"), st_str(exact, 5), &m), 0);
    struct st_str id = st_http_route_param(&m, "id");
    assert_int_equal(id.len, 2);
    assert_ptr_equal(id.ptr, exact + 3);
    assert_int_equal(st_http_router_match(&r, st_str("GETX", 3), st_str(exact, 4), &m), 0);
    assert_int_equal(st_http_route_param(&m, "id").len, 1);
    free(exact);
    st_http_router_release(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literals_and_root),
        cmocka_unit_test(trailing_slash_is_strict),
        cmocka_unit_test(parameters),
        cmocka_unit_test(precedence),
        cmocka_unit_test(backtracking_to_param),
        cmocka_unit_test(methods),
        cmocka_unit_test(conflicts),
        cmocka_unit_test(malformed_patterns),
        cmocka_unit_test(accepted_patterns),
        cmocka_unit_test(method_limits),
        cmocka_unit_test(many_literals),
        cmocka_unit_test(release_and_reuse),
        cmocka_unit_test(path_is_a_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
