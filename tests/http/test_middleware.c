/* test_middleware.c - the pure decisions of src/http/middleware.c and metrics.c:
 * Accept-Encoding negotiation, compressible types, request-id validation and generation,
 * CORS decisions, a gzip round trip through zlib's inflate, and the Prometheus exposition
 * (format, sorting, merging across workers, bounded label sets). No sockets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "base/arena.h"
#include "base/buf.h"
#include "http/app.h"
#include "http/metrics.h"
#include "http/middleware.h"

static bool gz(const char *ae)
{
    return st_http_accepts_gzip(st_str_c(ae));
}

static void test_accept_encoding(void **state)
{
    (void)state;
    assert_false(st_http_accepts_gzip(st_str(NULL, 0))); /* absent */
    assert_false(gz(""));
    assert_true(gz("gzip"));
    assert_true(gz("GZIP"));
    assert_true(gz("x-gzip"));
    assert_true(gz("gzip, deflate, br"));
    assert_true(gz("br;q=1.0, gzip;q=0.8, *;q=0.1"));
    assert_true(gz("deflate, gzip ; q = 0.5"));
    assert_false(gz("gzip;q=0"));
    assert_false(gz("gzip;q=0.000"));
    assert_false(gz("gzip;q=0, *")); /* named gzip wins over * */
    assert_false(gz("identity"));
    assert_false(gz("deflate, br"));
    assert_true(gz("*"));
    assert_false(gz("*;q=0"));
    assert_true(gz("*, identity;q=0.5"));
    assert_false(gz("gzip;q=0.5, identity;q=1")); /* identity explicitly preferred */
    assert_true(gz("gzip;q=0.5, identity;q=0.5"));
    assert_true(gz("gzip;q=1.000"));
    assert_false(gz("gzip;q=1.5")); /* malformed member ignored -> nothing else */
    assert_false(gz("gzip;q=abc"));
    assert_true(gz("gzip;q=abc, *"));
    assert_true(gz(",,gzip,,"));
    assert_false(gz("gzipper"));
}

static bool comp(const char *ct)
{
    return st_http_compressible(st_str_c(ct));
}

static void test_compressible(void **state)
{
    (void)state;
    assert_true(comp("text/plain"));
    assert_true(comp("text/html; charset=utf-8"));
    assert_true(comp("TEXT/CSS"));
    assert_true(comp("application/json"));
    assert_true(comp("application/problem+json"));
    assert_true(comp("application/ld+json; charset=utf-8"));
    assert_true(comp("application/javascript"));
    assert_true(comp("image/svg+xml"));
    assert_true(comp("application/xml"));
    assert_true(comp("application/atom+xml"));
    assert_false(comp("image/png"));
    assert_false(comp("application/octet-stream"));
    assert_false(comp("application/gzip"));
    assert_false(comp(""));
    assert_false(st_http_compressible(st_str(NULL, 0)));
}

static void test_request_id(void **state)
{
    (void)state;
    assert_true(st_http_request_id_valid(st_str_c("a")));
    assert_true(st_http_request_id_valid(st_str_c("abc-DEF_123.xyz")));
    char big[66];
    memset(big, 'x', 65);
    big[65] = '\0';
    assert_true(st_http_request_id_valid(st_str(big, 64)));
    assert_false(st_http_request_id_valid(st_str(big, 65)));
    assert_false(st_http_request_id_valid(st_str(NULL, 0)));
    assert_false(st_http_request_id_valid(st_str_c("")));
    assert_false(st_http_request_id_valid(st_str_c("has space")));
    assert_false(st_http_request_id_valid(st_str_c("semi;colon")));
    assert_false(st_http_request_id_valid(st_str_c("new\nline")));
    assert_false(st_http_request_id_valid(st_str_c("quote\"")));
    assert_false(st_http_request_id_valid(st_str_c("\xc3\xa9")));

    char a[33], b[33];
    st_http_request_id_new(a);
    st_http_request_id_new(b);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
    assert_true(st_http_request_id_valid(st_str_c(a)));
}

static void decide(const struct st_http_cors_opts *o, enum st_http_method m, const char *origin, const char *acrm,
                   struct st_http_cors_decision *d)
{
    st_http_cors_decide(o, m, st_str(origin, origin ? strlen(origin) : 0), st_str(acrm, acrm ? strlen(acrm) : 0), d);
}

static void test_cors_list(void **state)
{
    (void)state;
    const char *origins[] = { "https://a.example", "http://localhost:8080" };
    struct st_http_cors_opts o = { .origins = origins, .norigins = 2 };
    struct st_http_cors_decision d;

    decide(&o, ST_HTTP_M_GET, NULL, NULL, &d); /* not a CORS request: still Vary */
    assert_false(d.allowed);
    assert_false(d.preflight);
    assert_true(d.vary_origin);

    decide(&o, ST_HTTP_M_GET, "https://a.example", NULL, &d);
    assert_true(d.allowed);
    assert_false(d.any_origin);
    assert_false(d.preflight);
    assert_true(d.vary_origin);

    decide(&o, ST_HTTP_M_GET, "https://evil.example", NULL, &d);
    assert_false(d.allowed);
    assert_true(d.vary_origin);

    decide(&o, ST_HTTP_M_GET, "https://A.example", NULL, &d); /* origins compare exactly */
    assert_false(d.allowed);

    decide(&o, ST_HTTP_M_OPTIONS, "http://localhost:8080", "PUT", &d);
    assert_true(d.allowed);
    assert_true(d.preflight);

    decide(&o, ST_HTTP_M_OPTIONS, "http://localhost:8080", NULL, &d); /* plain OPTIONS */
    assert_true(d.allowed);
    assert_false(d.preflight);

    decide(&o, ST_HTTP_M_OPTIONS, "https://evil.example", "PUT", &d); /* not ours: no preflight */
    assert_false(d.allowed);
    assert_false(d.preflight);

    decide(&o, ST_HTTP_M_OPTIONS, "null", "GET", &d);
    assert_false(d.allowed);
}

static void test_cors_wildcard(void **state)
{
    (void)state;
    const char *origins[] = { "*" };
    struct st_http_cors_opts o = { .origins = origins, .norigins = 1 };
    struct st_http_cors_decision d;

    decide(&o, ST_HTTP_M_GET, "https://any.example", NULL, &d);
    assert_true(d.allowed);
    assert_true(d.any_origin);
    assert_false(d.vary_origin); /* one answer for every origin */

    decide(&o, ST_HTTP_M_GET, NULL, NULL, &d);
    assert_false(d.allowed);
    assert_false(d.vary_origin);

    o.credentials = true; /* "*" is not allowed with credentials: reflect, and Vary */
    decide(&o, ST_HTTP_M_OPTIONS, "https://any.example", "DELETE", &d);
    assert_true(d.allowed);
    assert_false(d.any_origin);
    assert_true(d.vary_origin);
    assert_true(d.preflight);

    struct st_http_cors_opts none = { 0 }; /* nothing configured: nothing allowed */
    decide(&none, ST_HTTP_M_GET, "https://a.example", NULL, &d);
    assert_false(d.allowed);
}

static void inflate_all(struct st_str in, struct st_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK); /* gzip wrapper only */
    z.next_in = (Bytef *)(uintptr_t)in.ptr;
    z.avail_in = (uInt)in.len;
    int zr;
    do {
        char chunk[4096];
        z.next_out = (Bytef *)chunk;
        z.avail_out = sizeof chunk;
        zr = inflate(&z, Z_NO_FLUSH);
        assert_true(zr == Z_OK || zr == Z_STREAM_END);
        assert_int_equal(st_buf_append(out, chunk, sizeof chunk - z.avail_out), 0);
    } while (zr != Z_STREAM_END);
    assert_int_equal(z.avail_in, 0);
    inflateEnd(&z);
}

static void test_gzip_round_trip(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 0);
    struct st_buf src, back;
    st_buf_init(&src, ST_BUF_UNLIMITED);
    st_buf_init(&back, ST_BUF_UNLIMITED);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(st_buf_printf(&src, "{\"id\":%d,\"name\":\"user %d\"},", i, i % 97), 0);

    struct st_str out;
    assert_int_equal(st_http_gzip(st_buf_str(&src), 6, &a, &out), 0);
    assert_true(out.len < src.len / 4);
    assert_int_equal((unsigned char)out.ptr[0], 0x1f); /* gzip magic */
    assert_int_equal((unsigned char)out.ptr[1], 0x8b);
    inflate_all(out, &back);
    assert_int_equal(back.len, src.len);
    assert_memory_equal(back.data, src.data, src.len);

    st_buf_clear(&back); /* empty input still makes a valid gzip member */
    assert_int_equal(st_http_gzip(st_str("", 0), 1, &a, &out), 0);
    inflate_all(out, &back);
    assert_int_equal(back.len, 0);

    st_buf_release(&src);
    st_buf_release(&back);
    st_arena_release(&a);
}

static void test_metrics_exposition(void **state)
{
    (void)state;
    struct st_http_metrics *m = st_http_metrics_new();
    /* The same route text behind two pointers (a pattern and a copy) merges at scrape. */
    static char copy[] = "/users/:id";
    st_http_metrics_observe(m, 0, "/users/:id", ST_HTTP_M_GET, 200, 300000);         /* 0.3 ms */
    st_http_metrics_observe(m, 1, copy, ST_HTTP_M_GET, 200, 2000000);                /* 2 ms */
    st_http_metrics_observe(m, 1, "/users/:id", ST_HTTP_M_DELETE, 204, 20000000000); /* 20 s */
    st_http_metrics_observe(m, 3, NULL, (enum st_http_method)99, 404, 1000);
    st_http_metrics_observe(m, 9999, "/dropped", ST_HTTP_M_GET, 200, 1);        /* no such worker */
    st_http_metrics_observe(m, 0, "/a\"b\\c\nd", ST_HTTP_M_POST, 201, 1000000); /* escaping */

    struct st_http_stats stats = {
        .accepted = 7, .open = 2, .bytes_in = 1234, .bytes_out = 5678, .parse_errors = 3, .timeouts = 4
    };
    struct st_buf out;
    st_buf_init(&out, ST_BUF_UNLIMITED);
    assert_int_equal(st_http_metrics_render(m, &stats, &out), 0);
    const char *t = out.data;

    assert_non_null(strstr(t, "# TYPE http_requests_total counter\n"));
    assert_non_null(strstr(t, "http_requests_total{route=\"/users/:id\",method=\"GET\",status=\"200\"} 2\n"));
    assert_non_null(strstr(t, "http_requests_total{route=\"/users/:id\",method=\"DELETE\",status=\"204\"} 1\n"));
    assert_non_null(strstr(t, "http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"404\"} 1\n"));
    assert_non_null(strstr(t, "http_requests_total{route=\"/a\\\"b\\\\c\\nd\",method=\"POST\",status=\"201\"} 1\n"));
    assert_null(strstr(t, "/dropped"));
    /* sorted: DELETE before GET within a route, routes in byte order */
    assert_true(strstr(t, "method=\"DELETE\"") < strstr(t, "route=\"/users/:id\",method=\"GET\""));
    assert_true(strstr(t, "route=\"/a") < strstr(t, "route=\"/users"));

    assert_non_null(strstr(t, "# TYPE http_request_duration_seconds histogram\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"0.001\"} 1\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"0.0025\"} 2\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"10\"} 2\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_bucket{route=\"/users/:id\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_count{route=\"/users/:id\"} 3\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_sum{route=\"/users/:id\"} 20.0023\n"));
    assert_non_null(strstr(t, "http_open_connections 2\n"));
    assert_non_null(strstr(t, "# TYPE http_open_connections gauge\n"));
    assert_non_null(strstr(t, "http_connections_accepted_total 7\n"));
    assert_non_null(strstr(t, "http_bytes_received_total 1234\n"));
    assert_non_null(strstr(t, "http_bytes_sent_total 5678\n"));
    assert_non_null(strstr(t, "http_request_parse_errors_total 3\n"));
    assert_non_null(strstr(t, "http_connection_timeouts_total 4\n"));

    /* Every line is a comment or "name{labels} value" / "name value", ends with \n. */
    assert_int_equal(out.data[out.len - 1], '\n');
    for (const char *line = t; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        if (*line != '#') {
            const char *sp = memrchr(line, ' ', (size_t)(nl - line));
            assert_non_null(sp);
            char *end;
            (void)strtod(sp + 1, &end);
            assert_ptr_equal(end, nl);
        }
        line = nl + 1;
    }

    st_buf_clear(&out); /* without stats the connection families are left out */
    assert_int_equal(st_http_metrics_render(m, NULL, &out), 0);
    assert_null(strstr(out.data, "http_open_connections"));

    st_buf_release(&out);
    st_http_metrics_free(m);
}

static void test_metrics_bounded(void **state)
{
    (void)state;
    struct st_http_metrics *m = st_http_metrics_new();
    enum { N = ST_HTTP_METRICS_SERIES_MAX + 100 };
    static char routes[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(routes[i], sizeof routes[i], "/r%d", i);
        st_http_metrics_observe(m, 0, routes[i], ST_HTTP_M_GET, 200, 1000);
    }
    struct st_buf out;
    st_buf_init(&out, ST_BUF_UNLIMITED);
    assert_int_equal(st_http_metrics_render(m, NULL, &out), 0);
    /* Nothing is lost: the series past the bound are counted under "overflow". */
    size_t series = 0;
    unsigned long long total = 0;
    for (const char *p = out.data; (p = strstr(p, "\nhttp_requests_total{")); p++) {
        series++;
        const char *nl = strchr(p + 1, '\n');
        const char *sp = memrchr(p, ' ', (size_t)(nl - p));
        total += strtoull(sp + 1, NULL, 10);
    }
    assert_int_equal(series, ST_HTTP_METRICS_SERIES_MAX + 1);
    assert_int_equal(total, N);
    assert_non_null(strstr(out.data, "http_requests_total{route=\"overflow\",method=\"OTHER\",status=\"0\"} 100\n"));
    assert_non_null(strstr(out.data, "http_request_duration_seconds_count{route=\"overflow\"}"));
    st_buf_release(&out);
    st_http_metrics_free(m);
}

static void test_json_parse(void **state)
{
    (void)state;
    json_t *v;
    json_error_t e;
    assert_int_equal(st_http_json_parse(st_str_c("application/json"), st_str_c("{\"a\":1}"), &v, &e), 0);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
    assert_int_equal(st_http_json_parse(st_str_c("Application/JSON; charset=utf-8"), st_str_c("[1]"), &v, NULL), 0);
    json_decref(v);
    assert_int_equal(st_http_json_parse(st_str_c("application/merge-patch+json"), st_str_c("3"), &v, NULL), 0);
    json_decref(v);
    assert_int_equal(st_http_json_parse(st_str_c("text/plain"), st_str_c("{}"), &v, &e), 415);
    assert_null(v);
    assert_int_equal(st_http_json_parse(st_str(NULL, 0), st_str_c("{}"), &v, &e), 415);
    assert_int_equal(st_http_json_parse(st_str_c("application/+json"), st_str_c("{}"), &v, &e), 415);
    assert_int_equal(st_http_json_parse(st_str_c("application/json"), st_str_c("{\"a\":\n  tru}"), &v, &e), 400);
    assert_null(v);
    assert_int_equal(e.line, 2);
    assert_true(e.position > 0);
    assert_int_equal(st_http_json_parse(st_str_c("application/json"), st_str_c("{\"a\":1,\"a\":2}"), &v, &e), 400);
    assert_int_equal(st_http_json_parse(st_str_c("application/json"), st_str(NULL, 0), &v, &e), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding),    cmocka_unit_test(test_compressible),
        cmocka_unit_test(test_request_id),         cmocka_unit_test(test_cors_list),
        cmocka_unit_test(test_cors_wildcard),      cmocka_unit_test(test_gzip_round_trip),
        cmocka_unit_test(test_metrics_exposition), cmocka_unit_test(test_metrics_bounded),
        cmocka_unit_test(test_json_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
