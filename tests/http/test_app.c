/* test_app.c - an st_http_app with every built-in middleware on a real server, loop and
 * loopback socket in this process, checked from a raw client: routing and the framework's
 * own answers (404, 405 + Allow, OPTIONS, HEAD), request ids, security headers, gzip with
 * Vary, CORS, JSON helpers, the access log, /healthz, /readyz and /metrics. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "http/app.h"
#include "io/io.h"

/* ---- the app ---- */

static char big_text[4000];
static atomic_bool ready_flag = true;

static void hello(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_reply(x, 200, "text/plain", ST_STR_LIT("hello"));
}

static void user(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)data;
    struct st_str id = st_http_route_param(m, "id");
    /* No cmocka assertion here: this runs on the server thread. */
    if (!st_str_eq(id, st_http_param(x, "id")) || strcmp(st_http_app_match(x)->pattern, "/users/:id") != 0) {
        st_http_problem(x, 500, "params differ");
        return;
    }
    st_http_replyf(x, 200, "text/plain", "user %.*s", ST_STR_FMT(id));
}

static void big(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    st_http_reply(x, 200, data, st_str(big_text, sizeof big_text));
}

static void small(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_reply(x, 200, "text/plain", st_str(big_text, 100));
}

static void html(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_reply(x, 200, "text/html; charset=utf-8", ST_STR_LIT("<p>hi</p>"));
}

static void echo(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    json_t *in = st_http_json_body(x, NULL);
    if (!in)
        return; /* answered */
    st_http_reply_json(x, 200, json_pack("{s:o}", "got", in));
}

static void validate(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_problem_json(x, 422, "the input is invalid",
                         json_pack("{s:[{s:s,s:s}]}", "errors", "field", "email", "message", "required"));
}

static void forget(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)x, (void)m, (void)data; /* returns without answering: the server says 500 */
}

static void counted(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_reply(x, 200, "text/plain", ST_STR_LIT("ok"));
}

static bool is_ready(void *arg)
{
    (void)arg;
    return atomic_load(&ready_flag);
}

/* The app's own families after the HTTP ones (what the SQL pool's metrics use). */
static int extra_metrics(struct st_buf *out, void *arg)
{
    return st_buf_printf(out, "# TYPE app_widgets_total counter\napp_widgets_total %d\n", *(const int *)arg);
}

/* ---- the server on its own thread ---- */

struct fixture {
    struct st_http_app app;
    struct st_http_config cfg;
    struct st_io_loop *loop;
    struct st_http_server *srv;
    int listen_fd, port;
    pthread_t thread;
};

static void *server_thread(void *arg)
{
    struct fixture *f = arg;
    st_io_loop_run(f->loop);
    return NULL;
}

static void build_app(struct st_http_app *app)
{
    static const char *origins[] = { "https://a.example" };
    struct st_http_cors_opts cors = { .origins = origins, .norigins = 1, .expose = "X-Request-Id" };
    st_http_app_init(app);
    assert_int_equal(st_http_app_use(app, st_http_mw_request_id()), 0);
    assert_int_equal(st_http_app_use(app, st_http_mw_access_log()), 0);
    assert_int_equal(st_http_app_use(app, st_http_mw_security(NULL)), 0);
    assert_int_equal(st_http_app_use(app, st_http_mw_cors(&cors)), 0);
    assert_int_equal(st_http_app_use(app, st_http_mw_gzip(NULL)), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/hello", hello, NULL), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/users/:id", user, NULL), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/big", big, "text/plain; charset=utf-8"), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/big.png", big, "image/png"), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/small", small, NULL), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/html", html, NULL), 0);
    assert_int_equal(st_http_app_route(app, "POST", "/echo", echo, NULL), 0);
    assert_int_equal(st_http_app_route(app, "POST", "/validate", validate, NULL), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/forget", forget, NULL), 0);
    assert_int_equal(st_http_app_route(app, "GET", "/m/:id", counted, NULL), 0);
    assert_int_equal(st_http_app_route(app, "DELETE", "/m/:id", counted, NULL), 0);
    static const int widgets = 7;
    struct st_http_builtins_opts b = { .ready = is_ready,
                                       .metrics_extra = extra_metrics,
                                       .metrics_extra_arg = (void *)&widgets };
    assert_int_equal(st_http_app_builtins(app, &b), 0);
    /* A taken path is refused (and logged), not silently replaced. */
    st_log_set_level(ST_LOG_OFF);
    assert_int_equal(st_http_app_route(app, "GET", "/hello", hello, NULL), ST_ECONFLICT);
}

static int group_setup(void **state)
{
    for (size_t i = 0; i < sizeof big_text; i++)
        big_text[i] = "lorem ipsum dolor sit amet "[i % 27];
    struct fixture *f = calloc(1, sizeof *f);
    build_app(&f->app);
    assert_int_equal(st_io_loop_new(&f->loop), 0);
    assert_int_equal(st_io_listen("127.0.0.1:0", 128, 0, &f->listen_fd, NULL), 0);
    assert_int_equal(st_io_local_port(f->listen_fd, &f->port), 0);
    f->cfg.handler = st_http_app_handler;
    f->cfg.data = &f->app;
    assert_int_equal(st_http_server_new(f->loop, f->listen_fd, &f->cfg, 0, &f->srv), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
    *state = f;
    return 0;
}

static void stop_cb(void *arg)
{
    struct fixture *f = arg;
    st_http_server_free(f->srv);
    st_io_loop_stop(f->loop);
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;
    st_io_post(f->loop, stop_cb, f);
    pthread_join(f->thread, NULL);
    st_io_loop_free(f->loop);
    close(f->listen_fd);
    st_http_app_release(&f->app);
    free(f);
    return 0;
}

/* ---- a raw client: one request per connection, read to EOF ---- */

struct resp {
    int status;
    char head[8192];
    struct st_buf body;
};

static int port_of(void **state)
{
    return ((struct fixture *)*state)->port;
}

static void request(void **state, const char *req, struct resp *r)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(state)) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    struct st_buf all;
    st_buf_init(&all, 1 << 24);
    char chunk[16384];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        assert_int_equal(st_buf_append(&all, chunk, (size_t)n), 0);
    assert_int_equal(n, 0); /* EOF, not a timeout */
    close(fd);
    const char *end = all.data ? strstr(all.data, "\r\n\r\n") : NULL;
    assert_non_null(end);
    size_t hlen = (size_t)(end - all.data) + 2;
    assert_true(hlen < sizeof r->head);
    memcpy(r->head, all.data, hlen);
    r->head[hlen] = '\0';
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    st_buf_init(&r->body, ST_BUF_UNLIMITED);
    assert_int_equal(st_buf_append(&r->body, end + 4, all.len - hlen - 2), 0);
    st_buf_release(&all);
}

/* The value of header name (first one), copied into a static buffer; NULL if absent. */
static const char *hdr(const struct resp *r, const char *name)
{
    static char val[1024];
    size_t n = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(val, sizeof val, "%.*s", (int)(e - v), v);
            return val;
        }
    }
    return NULL;
}

static void done(struct resp *r)
{
    st_buf_release(&r->body);
}

#define GET(path, extra) "GET " path " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" extra "\r\n"

/* ---- tests ---- */

static void test_routes_and_params(void **state)
{
    struct resp r;
    request(state, GET("/hello", ""), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "hello");
    assert_string_equal(hdr(&r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(hdr(&r, "X-Frame-Options"), "DENY");
    assert_string_equal(hdr(&r, "Referrer-Policy"), "no-referrer");
    assert_null(hdr(&r, "Content-Security-Policy")); /* not HTML */
    done(&r);

    request(state, GET("/users/42", ""), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "user 42");
    done(&r);

    request(state, GET("/html", ""), &r);
    assert_string_equal(hdr(&r, "Content-Security-Policy"), ST_HTTP_CSP_DEFAULT);
    done(&r);
}

static void test_404_405_options(void **state)
{
    struct resp r;
    request(state, GET("/nope", ""), &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(hdr(&r, "Content-Type"), "application/problem+json");
    assert_non_null(strstr(r.body.data, "\"status\":404"));
    assert_non_null(strstr(r.body.data, "\"instance\":\"/nope\""));
    assert_non_null(hdr(&r, "X-Request-Id")); /* middleware cover the framework's answers */
    done(&r);

    request(state, "POST /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(hdr(&r, "Allow"), "GET, HEAD, OPTIONS");
    assert_string_equal(hdr(&r, "Content-Type"), "application/problem+json");
    assert_non_null(strstr(r.body.data, "\"status\":405"));
    done(&r);

    request(state, "OPTIONS /m/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(hdr(&r, "Allow"), "DELETE, GET, HEAD, OPTIONS");
    assert_int_equal(r.body.len, 0);
    done(&r);

    request(state, "OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 204);
    assert_non_null(strstr(hdr(&r, "Allow"), "POST"));
    assert_non_null(strstr(hdr(&r, "Allow"), "OPTIONS"));
    done(&r);

    request(state, GET("/forget", ""), &r);
    assert_int_equal(r.status, 500);
    assert_string_equal(hdr(&r, "Content-Type"), "application/problem+json");
    done(&r);
}

static void test_head(void **state)
{
    struct resp g, h;
    request(state, GET("/big", ""), &g);
    request(state, "HEAD /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &h);
    assert_int_equal(h.status, 200);
    assert_int_equal(h.body.len, 0);
    assert_string_equal(hdr(&h, "Content-Length"), "4000");
    assert_int_equal(g.body.len, 4000);
    done(&g);
    done(&h);
}

static void test_request_id(void **state)
{
    struct resp r;
    request(state, GET("/hello", ""), &r);
    const char *id = hdr(&r, "X-Request-Id");
    assert_non_null(id);
    assert_int_equal(strlen(id), 32);
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    done(&r);

    request(state, GET("/hello", "X-Request-Id: edge-7f.A_1\r\n"), &r);
    assert_string_equal(hdr(&r, "X-Request-Id"), "edge-7f.A_1");
    done(&r);

    request(state, GET("/hello", "X-Request-Id: has spaces\r\n"), &r);
    assert_int_equal(strlen(hdr(&r, "X-Request-Id")), 32);
    done(&r);
}

static void gunzip(const struct st_buf *in, struct st_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    char buf[65536];
    z.next_out = (Bytef *)buf;
    z.avail_out = sizeof buf;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(st_buf_append(out, buf, sizeof buf - z.avail_out), 0);
    inflateEnd(&z);
}

static void test_gzip(void **state)
{
    struct resp r;
    request(state, GET("/big", "Accept-Encoding: gzip, deflate, br\r\n"), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Encoding"), "gzip");
    assert_string_equal(hdr(&r, "Vary"), "Accept-Encoding, Origin");
    assert_true(r.body.len < 1000);
    char cl[32];
    snprintf(cl, sizeof cl, "%zu", r.body.len);
    assert_string_equal(hdr(&r, "Content-Length"), cl);
    struct st_buf plain;
    st_buf_init(&plain, ST_BUF_UNLIMITED);
    gunzip(&r.body, &plain);
    assert_int_equal(plain.len, sizeof big_text);
    assert_memory_equal(plain.data, big_text, sizeof big_text);
    st_buf_release(&plain);
    done(&r);

    /* HEAD gets the headers GET would get, Content-Length of the gzip body included. */
    request(state, "HEAD /big HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAccept-Encoding: gzip\r\n\r\n", &r);
    assert_string_equal(hdr(&r, "Content-Encoding"), "gzip");
    assert_string_equal(hdr(&r, "Content-Length"), cl);
    assert_int_equal(r.body.len, 0);
    done(&r);

    request(state, GET("/big", "Accept-Encoding: gzip;q=0, identity\r\n"), &r);
    assert_null(hdr(&r, "Content-Encoding"));
    assert_non_null(strstr(hdr(&r, "Vary"), "Accept-Encoding")); /* compressible: still Vary */
    assert_int_equal(r.body.len, sizeof big_text);
    done(&r);

    request(state, GET("/big", ""), &r);
    assert_null(hdr(&r, "Content-Encoding"));
    assert_int_equal(r.body.len, sizeof big_text);
    done(&r);

    request(state, GET("/big.png", "Accept-Encoding: gzip\r\n"), &r); /* not compressible */
    assert_null(hdr(&r, "Content-Encoding"));
    assert_null(strstr(hdr(&r, "Vary"), "Accept-Encoding"));
    done(&r);

    request(state, GET("/small", "Accept-Encoding: gzip\r\n"), &r); /* under the threshold */
    assert_null(hdr(&r, "Content-Encoding"));
    assert_int_equal(r.body.len, 100);
    done(&r);
}

static void test_cors(void **state)
{
    struct resp r;
    request(state,
            "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: https://a.example\r\n"
            "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n",
            &r);
    assert_int_equal(r.status, 204);
    assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "https://a.example");
    assert_string_equal(hdr(&r, "Access-Control-Allow-Methods"), "GET, HEAD, POST, PUT, PATCH, DELETE");
    assert_string_equal(hdr(&r, "Access-Control-Allow-Headers"), "content-type");
    assert_string_equal(hdr(&r, "Access-Control-Max-Age"), "600");
    assert_non_null(strstr(hdr(&r, "Vary"), "Origin"));
    assert_non_null(hdr(&r, "X-Request-Id"));
    done(&r);

    request(state, GET("/hello", "Origin: https://a.example\r\n"), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "https://a.example");
    assert_string_equal(hdr(&r, "Access-Control-Expose-Headers"), "X-Request-Id");
    assert_string_equal(hdr(&r, "Vary"), "Origin");
    done(&r);

    request(state, GET("/hello", "Origin: https://evil.example\r\n"), &r);
    assert_int_equal(r.status, 200);
    assert_null(hdr(&r, "Access-Control-Allow-Origin"));
    assert_string_equal(hdr(&r, "Vary"), "Origin");
    done(&r);

    /* A preflight from an origin that is not allowed is plain OPTIONS: Allow, no CORS. */
    request(state,
            "OPTIONS /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\nOrigin: https://evil.example\r\n"
            "Access-Control-Request-Method: POST\r\n\r\n",
            &r);
    assert_int_equal(r.status, 204);
    assert_null(hdr(&r, "Access-Control-Allow-Origin"));
    assert_string_equal(hdr(&r, "Allow"), "POST, OPTIONS");
    done(&r);
}

static void post(void **state, const char *path, const char *ct, const char *body, struct resp *r)
{
    char req[2048];
    snprintf(req, sizeof req,
             "POST %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
             path, ct, strlen(body), body);
    request(state, req, r);
}

static void test_json(void **state)
{
    struct resp r;
    post(state, "/echo", "application/json", "{\"a\": [1, 2]}", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Type"), "application/json");
    assert_string_equal(r.body.data, "{\"got\":{\"a\":[1,2]}}\n");
    done(&r);

    post(state, "/echo", "text/plain", "{}", &r);
    assert_int_equal(r.status, 415);
    assert_string_equal(hdr(&r, "Content-Type"), "application/problem+json");
    done(&r);

    post(state, "/echo", "application/json", "{\"a\":\n tru}", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(hdr(&r, "Content-Type"), "application/problem+json");
    json_t *p = json_loads(r.body.data, 0, NULL);
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "status")), 400);
    assert_int_equal(json_integer_value(json_object_get(p, "line")), 2);
    assert_true(json_integer_value(json_object_get(p, "position")) > 0);
    assert_string_equal(json_string_value(json_object_get(p, "instance")), "/echo");
    json_decref(p);
    done(&r);

    post(state, "/validate", "application/json", "{}", &r);
    assert_int_equal(r.status, 422);
    p = json_loads(r.body.data, 0, NULL);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "title")), "Unprocessable Content");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(p, "errors"), 0), "field")),
                        "email");
    json_decref(p);
    done(&r);
}

static void test_access_log(void **state)
{
    char path[] = "/tmp/st-test-app-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    st_log_set_fd(fd);
    st_log_set_level(ST_LOG_INFO);
    struct resp r;
    request(state, GET("/users/7?secret=1", "X-Request-Id: log-check-1\r\n"), &r);
    done(&r);
    st_log_set_level(ST_LOG_OFF);
    st_log_set_fd(2);
    char line[4096] = { 0 };
    assert_true(pread(fd, line, sizeof line - 1, 0) > 0);
    close(fd);
    unlink(path);
    assert_non_null(strstr(line, "msg=request"));
    assert_non_null(strstr(line, "method=GET"));
    assert_non_null(strstr(line, "path=/users/7 "));
    assert_null(strstr(line, "secret")); /* the query is not logged */
    assert_non_null(strstr(line, "status=200"));
    assert_non_null(strstr(line, "bytes=6"));
    assert_non_null(strstr(line, "duration_ms="));
    assert_non_null(strstr(line, "request_id=log-check-1"));
    assert_non_null(strstr(line, "peer=127.0.0.1:"));
    assert_non_null(strstr(line, "route=/users/:id"));
}

static void test_health_ready(void **state)
{
    struct resp r;
    request(state, GET("/healthz", ""), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{\"status\":\"ok\"}\n");
    done(&r);
    request(state, GET("/readyz", ""), &r);
    assert_int_equal(r.status, 200);
    done(&r);
    atomic_store(&ready_flag, false);
    request(state, GET("/readyz", ""), &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(hdr(&r, "Content-Type"), "application/problem+json");
    done(&r);
    atomic_store(&ready_flag, true);
}

static void test_metrics(void **state)
{
    struct resp r;
    for (int i = 0; i < 3; i++) {
        request(state, GET("/m/1", ""), &r);
        done(&r);
    }
    request(state, "DELETE /m/2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    done(&r);
    request(state, GET("/metrics", "Accept-Encoding: gzip\r\n"), &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Type"), ST_HTTP_METRICS_CONTENT_TYPE);
    struct st_buf text;
    st_buf_init(&text, ST_BUF_UNLIMITED);
    assert_string_equal(hdr(&r, "Content-Encoding"), "gzip"); /* big enough by now */
    gunzip(&r.body, &text);
    const char *t = text.data;
    assert_non_null(strstr(t, "http_requests_total{route=\"/m/:id\",method=\"GET\",status=\"200\"} 3\n"));
    assert_non_null(strstr(t, "http_requests_total{route=\"/m/:id\",method=\"DELETE\",status=\"200\"} 1\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_count{route=\"/m/:id\"} 4\n"));
    assert_non_null(strstr(t, "http_request_duration_seconds_bucket{route=\"/m/:id\",le=\"+Inf\"} 4\n"));
    assert_non_null(strstr(t, "route=\"unmatched\",method=\"GET\",status=\"404\"}"));
    assert_non_null(strstr(t, "route=\"cors_preflight\",method=\"OPTIONS\",status=\"204\"}"));
    assert_null(strstr(t, "route=\"/nope\""));               /* raw paths never become labels */
    assert_non_null(strstr(t, "http_open_connections 1\n")); /* this scrape's connection */
    assert_non_null(strstr(t, "http_connections_accepted_total "));
    assert_non_null(strstr(t, "http_bytes_received_total "));
    assert_non_null(strstr(t, "http_bytes_sent_total "));
    assert_non_null(strstr(t, "\napp_widgets_total 7\n")); /* metrics_extra, after the HTTP families */
    assert_true(strstr(t, "app_widgets_total") > strstr(t, "http_bytes_sent_total"));
    st_buf_release(&text);
    done(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_params),
        cmocka_unit_test(test_404_405_options),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_health_ready),
        cmocka_unit_test(test_metrics),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
