/*
 * test_cookie.c - tests for Cookie parsing and Set-Cookie formatting (src/http/cookie.c).
 *
 * Parsing cases are data: a header value in, the pairs out. Formatting checks the exact
 * header produced, every refusal (with the buffer left as it was), and a round trip:
 * what st_http_cookie_format writes, st_http_cookie_next reads back.
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
#include "http/cookie.h"

/* "n=v|n=v" of every pair in header, parsed from an exact-size heap copy. */
static void pairs_of(const char *header, char *out, size_t cap)
{
    size_t n = strlen(header), len = 0;
    char *h = malloc(n ? n : 1);
    memcpy(h, header, n);
    struct st_str rest = st_str(h, n), name, value;
    out[0] = '\0';
    while (st_http_cookie_next(&rest, &name, &value)) {
        assert_true(name.len > 0 && name.ptr >= h && value.ptr + value.len <= h + n);
        len +=
            (size_t)snprintf(out + len, cap - len, "%s%.*s=%.*s", len ? "|" : "", ST_STR_FMT(name), ST_STR_FMT(value));
    }
    assert_int_equal(rest.len, 0);
    free(h);
}

static void parse(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "", "" },
        { "a=1", "a=1" },
        { "a=1; b=2", "a=1|b=2" },
        { "a=1;b=2", "a=1|b=2" },
        { "  a = 1 ;\tb=2  ", "a=1|b=2" },
        { "a=\"quoted value\"", "a=quoted value" },
        { "a=\"\"", "a=" },
        { "a=\"", "a=\"" }, /* a lone quote is not a quoted value */
        { "a=\"x", "a=\"x" },
        { "a=", "a=" },
        { "a=b=c", "a=b=c" },
        { "novalue; a=1", "a=1" },
        { "=v; a=1", "a=1" },
        { " = v ;a=1", "a=1" },
        { ";;a=1;;", "a=1" },
        { "a=1; a=2", "a=1|a=2" },
        { "sid=abc%20def; theme=dark", "sid=abc%20def|theme=dark" }, /* no decoding */
        { "a=1,b=2", "a=1,b=2" },                                    /* ',' is not a separator in Cookie */
        { "\xc3\xa9=\xc3\xa9", "\xc3\xa9=\xc3\xa9" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char got[256];
        pairs_of(cases[i][0], got, sizeof(got));
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("'%s': got '%s', want '%s'", cases[i][0], got, cases[i][1]);
    }
}

static void get(void **state)
{
    (void)state;
    struct st_str header = ST_STR_LIT("theme=dark; sid=\"abc\"; sid=old; Sid=upper"), v;
    assert_int_equal(st_http_cookie_get(header, "sid", &v), 0);
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.ptr, "abc", 3);
    assert_int_equal(st_http_cookie_get(header, "theme", &v), 0);
    assert_memory_equal(v.ptr, "dark", 4);
    assert_int_equal(st_http_cookie_get(header, "Sid", &v), 0);
    assert_memory_equal(v.ptr, "upper", 5);
    assert_int_equal(st_http_cookie_get(header, "SID", &v), ST_ENOTFOUND);
    assert_null(v.ptr);
    assert_int_equal(st_http_cookie_get(header, "si", &v), ST_ENOTFOUND);
    assert_int_equal(st_http_cookie_get(st_str(NULL, 0), "a", &v), ST_ENOTFOUND);
}

static void format_one(struct st_str name, struct st_str value, const struct st_http_cookie_opts *o, const char *want)
{
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    int rc = st_http_cookie_format(&b, name, value, o);
    if (rc)
        fail_msg("%.*s: rc %d", ST_STR_FMT(name), rc);
    assert_string_equal(b.data, want);
    st_buf_release(&b);
}

static void format(void **state)
{
    (void)state;
    format_one(ST_STR_LIT("sid"), ST_STR_LIT("abc"), NULL, "sid=abc");
    format_one(ST_STR_LIT("sid"), ST_STR_LIT(""), NULL, "sid=");
    format_one(ST_STR_LIT("sid"), ST_STR_LIT("\"quoted\""), NULL, "sid=\"quoted\"");
    format_one(ST_STR_LIT("sid"), ST_STR_LIT("\"\""), NULL, "sid=\"\"");
    format_one(ST_STR_LIT("a!#$%&'*+-.^_`|~z"), ST_STR_LIT("!#$%&'()*+-./:<=>?@[]^_`{|}~"), NULL,
               "a!#$%&'*+-.^_`|~z=!#$%&'()*+-./:<=>?@[]^_`{|}~");

    struct st_http_cookie_opts all = {
        .path = "/",
        .domain = "example.com",
        .has_max_age = true,
        .max_age = 3600,
        .has_expires = true,
        .expires_ms = 1445412480000, /* 2015-10-21 07:28:00 UTC */
        .secure = true,
        .http_only = true,
        .same_site = ST_HTTP_SAMESITE_LAX,
    };
    format_one(ST_STR_LIT("sid"), ST_STR_LIT("abc"), &all,
               "sid=abc; Path=/; Domain=example.com; Max-Age=3600; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure; "
               "HttpOnly; SameSite=Lax");

    struct st_http_cookie_opts del = { .path = "/app", .has_max_age = true, .max_age = 0 };
    format_one(ST_STR_LIT("sid"), ST_STR_LIT(""), &del, "sid=; Path=/app; Max-Age=0");

    struct st_http_cookie_opts epoch = { .has_expires = true, .expires_ms = 0 };
    format_one(ST_STR_LIT("a"), ST_STR_LIT("b"), &epoch, "a=b; Expires=Thu, 01 Jan 1970 00:00:00 GMT");

    struct st_http_cookie_opts strict = { .same_site = ST_HTTP_SAMESITE_STRICT, .http_only = true };
    format_one(ST_STR_LIT("a"), ST_STR_LIT("b"), &strict, "a=b; HttpOnly; SameSite=Strict");

    struct st_http_cookie_opts none = { .same_site = ST_HTTP_SAMESITE_NONE, .secure = true };
    format_one(ST_STR_LIT("a"), ST_STR_LIT("b"), &none, "a=b; Secure; SameSite=None");

    struct st_http_cookie_opts host = { .path = "/", .secure = true };
    format_one(ST_STR_LIT("__Host-sid"), ST_STR_LIT("x"), &host, "__Host-sid=x; Path=/; Secure");
    struct st_http_cookie_opts sec = { .secure = true, .domain = "example.com" };
    format_one(ST_STR_LIT("__Secure-sid"), ST_STR_LIT("x"), &sec, "__Secure-sid=x; Domain=example.com; Secure");

    /* appends after what the buffer holds */
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_buf_append_c(&b, "Set-Cookie: "), 0);
    assert_int_equal(st_http_cookie_format(&b, ST_STR_LIT("k"), ST_STR_LIT("v"), NULL), 0);
    assert_string_equal(b.data, "Set-Cookie: k=v");
    st_buf_release(&b);
}

static void refused(void **state)
{
    (void)state;
    static const struct st_http_cookie_opts none = { 0 };
    static const struct st_http_cookie_opts bad_path = { .path = "/a;Domain=evil" };
    static const struct st_http_cookie_opts ctl_path = { .path = "/a\r\nX: y" };
    static const struct st_http_cookie_opts bad_domain = { .domain = "a.com; Secure" };
    static const struct st_http_cookie_opts neg_age = { .has_max_age = true, .max_age = -1 };
    static const struct st_http_cookie_opts ss_none = { .same_site = ST_HTTP_SAMESITE_NONE };
    static const struct st_http_cookie_opts ss_bad = { .same_site = (enum st_http_samesite)7, .secure = true };
    static const struct st_http_cookie_opts host_no_path = { .secure = true };
    static const struct st_http_cookie_opts host_domain = { .secure = true, .path = "/", .domain = "a.com" };
    static const struct st_http_cookie_opts host_subpath = { .secure = true, .path = "/app" };
    static const struct {
        struct st_str name, value;
        const struct st_http_cookie_opts *o;
    } cases[] = {
        { ST_STR_LIT(""), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("a b"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("a=b"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("a;b"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("a(b)"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("a\x01"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("caf\xc3\xa9"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("x y"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("x;Domain=evil"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("x,y"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("x\\y"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("x\"y"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("\"x"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("\""), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("\"x y\""), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("x\r\nSet-Cookie: evil=1"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("\x7f"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("\xc3\xa9"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("x\0y"), &none },
        { ST_STR_LIT("a"), ST_STR_LIT("v"), &bad_path },
        { ST_STR_LIT("a"), ST_STR_LIT("v"), &ctl_path },
        { ST_STR_LIT("a"), ST_STR_LIT("v"), &bad_domain },
        { ST_STR_LIT("a"), ST_STR_LIT("v"), &neg_age },
        { ST_STR_LIT("a"), ST_STR_LIT("v"), &ss_none },
        { ST_STR_LIT("a"), ST_STR_LIT("v"), &ss_bad },
        { ST_STR_LIT("__Secure-a"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("__Host-a"), ST_STR_LIT("v"), &none },
        { ST_STR_LIT("__Host-a"), ST_STR_LIT("v"), &host_no_path },
        { ST_STR_LIT("__Host-a"), ST_STR_LIT("v"), &host_domain },
        { ST_STR_LIT("__Host-a"), ST_STR_LIT("v"), &host_subpath },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct st_buf b;
        st_buf_init(&b, ST_BUF_UNLIMITED);
        assert_int_equal(st_buf_append_c(&b, "keep"), 0);
        int rc = st_http_cookie_format(&b, cases[i].name, cases[i].value, cases[i].o);
        if (rc != ST_EPARSE)
            fail_msg("case %zu (%.*s=%.*s): rc %d, want ST_EPARSE", i, ST_STR_FMT(cases[i].name),
                     ST_STR_FMT(cases[i].value), rc);
        assert_string_equal(b.data, "keep");
        st_buf_release(&b);
    }
}

static void limit_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct st_http_cookie_opts o = { .path = "/", .secure = true, .http_only = true };
    /* "k=v; Path=/; Secure; HttpOnly" is 29 bytes; try every max below and at it */
    for (size_t max = 2; max <= 31; max++) {
        struct st_buf b;
        st_buf_init(&b, max);
        assert_int_equal(st_buf_append_c(&b, "xx"), 0);
        int rc = st_http_cookie_format(&b, ST_STR_LIT("k"), ST_STR_LIT("v"), &o);
        if (max >= 31) {
            assert_int_equal(rc, 0);
            assert_string_equal(b.data, "xxk=v; Path=/; Secure; HttpOnly");
        } else {
            assert_int_equal(rc, ST_ELIMIT);
            assert_int_equal(b.len, 2);
            assert_string_equal(b.data, "xx");
        }
        st_buf_release(&b);
    }
}

/* What format writes, the parser reads back as the same name and value. */
static void round_trip(void **state)
{
    (void)state;
    srand(5);
    static const char alphabet[] = "abcXYZ09!#$%&'()*+-./:<=>?@[]^_`{|}~ \",;\\\t";
    for (int iter = 0; iter < 5000; iter++) {
        char name[8], value[16];
        size_t nl = (size_t)(rand() % 8), vl = (size_t)(rand() % 16);
        for (size_t i = 0; i < nl; i++)
            name[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        for (size_t i = 0; i < vl; i++)
            value[i] = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
        struct st_buf b;
        st_buf_init(&b, ST_BUF_UNLIMITED);
        struct st_http_cookie_opts o = { .path = "/", .http_only = rand() % 2 };
        if (st_http_cookie_format(&b, st_str(name, nl), st_str(value, vl), &o) == 0) {
            /* the attributes after the first ';' are not part of the pair */
            struct st_str pair, n, v;
            st_str_cut(st_buf_str(&b), ';', &pair, NULL);
            struct st_str rest = pair;
            assert_true(st_http_cookie_next(&rest, &n, &v));
            assert_true(st_str_eq(n, st_str(name, nl)));
            struct st_str want = st_str(value, vl);
            if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"')
                want = st_str(value + 1, vl - 2);
            assert_true(st_str_eq(v, want));
            assert_false(st_http_cookie_next(&rest, &n, &v));
        }
        st_buf_release(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse),
        cmocka_unit_test(get),
        cmocka_unit_test(format),
        cmocka_unit_test(refused),
        cmocka_unit_test(limit_leaves_buffer_unchanged),
        cmocka_unit_test(round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
