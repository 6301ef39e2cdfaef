/*
 * test_ratelimit.c - tests for the rate limiter and its middleware (src/http/ratelimit.c).
 *
 * The limiter runs on a fake clock: 100 requests pass and the 101st is refused, the
 * reset/Retry-After times follow the documented bucket rule, the window slides, clients
 * are independent, memory stays bounded (expiry and eviction), and 4 threads hammering
 * one key are counted exactly. The middleware runs in an st_http_app on a real server
 * over loopback: headers, the 429 problem with Retry-After (the handler not run), the
 * X-API-Key and peer keys, exempt paths, and a handler's own headers kept.
 */
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

#include "base/buf.h"
#include "base/hash.h"
#include "http/app.h"
#include "http/ratelimit.h"
#include "io/io.h"

/* ---- a fake clock ---- */

static _Atomic int64_t fake_now;

static int64_t fake_clock(void *arg)
{
    (void)arg;
    return atomic_load(&fake_now);
}

#define HOUR_MS (3600 * 1000)

static struct st_http_ratelimit *hourly(unsigned limit, size_t max_clients)
{
    struct st_http_ratelimit_opts o = {
        .limit = limit, .window_ms = HOUR_MS, .max_clients = max_clients, .clock_ms = fake_clock
    };
    return st_http_ratelimit_new(&o);
}

static struct st_http_ratelimit_result take(struct st_http_ratelimit *rl, const char *key)
{
    struct st_http_ratelimit_result r;
    st_http_ratelimit_take(rl, st_str_c(key), &r);
    return r;
}

/* ---- the limiter ---- */

static void hundred_then_429(void **state)
{
    (void)state;
    atomic_store(&fake_now, 0);
    struct st_http_ratelimit *rl = hourly(100, 0);
    for (unsigned i = 0; i < 100; i++) {
        struct st_http_ratelimit_result r = take(rl, "alice");
        assert_true(r.allowed);
        assert_int_equal(r.limit, 100);
        assert_int_equal(r.remaining, 99 - i);
        /* bucket 0 (one minute wide) frees its requests at its end plus an hour */
        assert_int_equal(r.reset_s, 3660);
    }
    struct st_http_ratelimit_result r = take(rl, "alice");
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.reset_s, 3660);
    /* refused requests are not counted: later ones are refused with the same answer */
    atomic_store(&fake_now, 1500);
    r = take(rl, "alice");
    assert_false(r.allowed);
    assert_int_equal(r.reset_s, 3659); /* 3658.5 s, rounded up */
    st_http_ratelimit_free(rl);
}

static void window_slides(void **state)
{
    (void)state;
    atomic_store(&fake_now, 0);
    struct st_http_ratelimit *rl = hourly(100, 0);
    for (int i = 0; i < 50; i++)
        assert_true(take(rl, "k").allowed);
    atomic_store(&fake_now, 30 * 60 * 1000); /* half an hour later, 50 more */
    for (int i = 0; i < 50; i++)
        assert_true(take(rl, "k").allowed);
    atomic_store(&fake_now, 40 * 60 * 1000);
    struct st_http_ratelimit_result r = take(rl, "k");
    assert_false(r.allowed);
    assert_int_equal(r.reset_s, 3660 - 2400); /* Retry-After: until the first 50 leave */
    atomic_store(&fake_now, 3660 * 1000 - 1);
    assert_false(take(rl, "k").allowed);
    atomic_store(&fake_now, 3660 * 1000); /* the first 50 have left, the other 50 remain */
    r = take(rl, "k");
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 49);
    assert_int_equal(r.reset_s, (30 + 61) * 60 - 3660); /* next: the half-hour bucket */
    for (int i = 0; i < 49; i++)
        assert_true(take(rl, "k").allowed);
    assert_false(take(rl, "k").allowed);
    /* after a long silence everything is free again */
    atomic_store(&fake_now, 10LL * HOUR_MS);
    r = take(rl, "k");
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 99);
    st_http_ratelimit_free(rl);
}

static void keys_are_independent(void **state)
{
    (void)state;
    atomic_store(&fake_now, 5 * 60 * 1000);
    struct st_http_ratelimit *rl = hourly(3, 0);
    for (int i = 0; i < 3; i++)
        assert_true(take(rl, "a").allowed);
    assert_false(take(rl, "a").allowed);
    struct st_http_ratelimit_result r = take(rl, "b");
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 2);
    assert_true(take(rl, "").allowed); /* the empty key is a key like any other */
    assert_int_equal(take(rl, "ab").remaining, 2);
    /* keys are cut at ST_HTTP_RATELIMIT_KEY_MAX bytes: beyond, they are one client */
    char k1[ST_HTTP_RATELIMIT_KEY_MAX + 10], k2[sizeof k1];
    memset(k1, 'x', sizeof k1 - 1);
    k1[sizeof k1 - 1] = '\0';
    memcpy(k2, k1, sizeof k1);
    k2[ST_HTTP_RATELIMIT_KEY_MAX + 3] = 'y';
    assert_int_equal(take(rl, k1).remaining, 2);
    assert_int_equal(take(rl, k2).remaining, 1);
    k2[ST_HTTP_RATELIMIT_KEY_MAX - 1] = 'y';
    assert_int_equal(take(rl, k2).remaining, 2);
    assert_int_equal(st_http_ratelimit_clients(rl), 6);
    st_http_ratelimit_free(rl);
}

static void memory_is_bounded(void **state)
{
    (void)state;
    static const uint8_t key[16] = { 1, 2, 3 }; /* a fixed hash key: stripes fill the same way every run */
    st_hash_set_key(key);
    atomic_store(&fake_now, 0);
    char name[32];

    /* a cap of 32 clients: never more, and the least recently seen is the one evicted */
    struct st_http_ratelimit *rl = hourly(2, 32);
    assert_true(take(rl, "old").allowed);
    assert_true(take(rl, "old").allowed);
    assert_false(take(rl, "old").allowed);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "client-%d", i);
        assert_true(take(rl, name).allowed);
        assert_true(st_http_ratelimit_clients(rl) <= 32);
    }
    assert_true(take(rl, "old").allowed); /* forgotten: its quota is whole again */
    st_http_ratelimit_free(rl);

    /* expiry: clients whose requests have all left the window are freed as others come */
    rl = hourly(2, 0);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "early-%d", i);
        take(rl, name);
    }
    assert_int_equal(st_http_ratelimit_clients(rl), 200);
    atomic_store(&fake_now, 3660 * 1000 - 1); /* still counted: nothing freed */
    assert_true(take(rl, "early-0").allowed);
    assert_int_equal(st_http_ratelimit_clients(rl), 200);
    atomic_store(&fake_now, 2LL * HOUR_MS);
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "late-%d", i);
        take(rl, name);
    }
    /* every early client is gone but early-0, whose second request is still in the window */
    assert_int_equal(st_http_ratelimit_clients(rl), 1001);
    st_http_ratelimit_free(rl);
}

static void odd_clocks_and_options(void **state)
{
    (void)state;
    /* a clock that goes back: counts are kept, nothing breaks */
    atomic_store(&fake_now, 10 * 60 * 1000);
    struct st_http_ratelimit *rl = hourly(2, 0);
    assert_true(take(rl, "k").allowed);
    atomic_store(&fake_now, 0);
    assert_true(take(rl, "k").allowed);
    assert_false(take(rl, "k").allowed);
    atomic_store(&fake_now, -5);
    assert_false(take(rl, "k").allowed);
    st_http_ratelimit_free(rl);

    /* defaults: 100 per hour on the monotonic clock */
    rl = st_http_ratelimit_new(NULL);
    struct st_http_ratelimit_result r = take(rl, "k");
    assert_true(r.allowed);
    assert_int_equal(r.limit, 100);
    assert_int_equal(r.remaining, 99);
    assert_true(r.reset_s >= 3600 && r.reset_s <= 3660);
    st_http_ratelimit_free(rl);

    /* a window shorter than its bucket count: buckets of 1 ms */
    struct st_http_ratelimit_opts o = { .limit = 1, .window_ms = 10, .clock_ms = fake_clock };
    atomic_store(&fake_now, 1000);
    rl = st_http_ratelimit_new(&o);
    assert_true(take(rl, "k").allowed);
    assert_false(take(rl, "k").allowed);
    atomic_store(&fake_now, 1060);
    assert_false(take(rl, "k").allowed);
    atomic_store(&fake_now, 1061);
    assert_true(take(rl, "k").allowed);
    st_http_ratelimit_free(NULL);
    st_http_ratelimit_free(rl);
}

struct hammer {
    struct st_http_ratelimit *rl;
    int allowed;
};

static void *hammer(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < 1000; i++)
        h->allowed += take(h->rl, "shared").allowed;
    return NULL;
}

static void threads_count_exactly(void **state)
{
    (void)state;
    atomic_store(&fake_now, 0);
    for (unsigned limit = 3000; limit <= 5000; limit += 2000) {
        struct st_http_ratelimit *rl = hourly(limit, 0);
        struct hammer h[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            h[i] = (struct hammer){ .rl = rl };
            assert_int_equal(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
        }
        int total = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            total += h[i].allowed;
        }
        assert_int_equal(total, limit < 4000 ? (int)limit : 4000);
        struct st_http_ratelimit_result r = take(rl, "shared");
        assert_int_equal(r.remaining, limit < 4000 ? 0 : limit - 4001);
        st_http_ratelimit_free(rl);
    }
}

/* ---- the middleware on a real server ---- */

static atomic_int handler_runs;

static void hello(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    atomic_fetch_add(&handler_runs, 1);
    st_http_reply(x, 200, "text/plain", ST_STR_LIT("hello"));
}

static void own_headers(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m, (void)data;
    st_http_header(x, ST_STR_LIT("RateLimit-Limit"), ST_STR_LIT("999"));
    st_http_reply(x, 200, "text/plain", ST_STR_LIT("own"));
}

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

static int server_setup(void **state)
{
    static const char *const exempt[] = { "/healthz", "/docs", NULL };
    struct st_http_ratelimit_opts o = { .limit = 3, .window_ms = 60 * 1000, .exempt = exempt, .clock_ms = fake_clock };
    struct fixture *f = calloc(1, sizeof *f);
    st_http_app_init(&f->app);
    assert_int_equal(st_http_app_use(&f->app, st_http_mw_ratelimit(&o)), 0);
    assert_int_equal(st_http_app_route(&f->app, "GET", "/hello", hello, NULL), 0);
    assert_int_equal(st_http_app_route(&f->app, "GET", "/healthz", hello, NULL), 0);
    assert_int_equal(st_http_app_route(&f->app, "GET", "/docs/x", hello, NULL), 0);
    assert_int_equal(st_http_app_route(&f->app, "GET", "/own", own_headers, NULL), 0);
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

static int server_teardown(void **state)
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

/* One request on its own connection, read to EOF: the status, the head and the body. */
struct resp {
    int status;
    char head[8192];
    char body[4096];
};

static void request(void **state, const char *path, const char *extra, struct resp *r)
{
    char req[1024];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n", path, extra);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)((struct fixture *)*state)->port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    struct st_buf all;
    st_buf_init(&all, 1 << 20);
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        assert_int_equal(st_buf_append(&all, chunk, (size_t)n), 0);
    assert_int_equal(n, 0);
    close(fd);
    const char *end = all.data ? strstr(all.data, "\r\n\r\n") : NULL;
    assert_non_null(end);
    size_t hlen = (size_t)(end - all.data) + 2;
    assert_true(hlen < sizeof r->head && all.len - hlen - 2 < sizeof r->body);
    memcpy(r->head, all.data, hlen);
    r->head[hlen] = '\0';
    snprintf(r->body, sizeof r->body, "%s", end + 4);
    assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    st_buf_release(&all);
}

/* The value of the first header name, or NULL; *count gets how many there are. */
static const char *hdr_n(const struct resp *r, const char *name, int *count)
{
    static char val[256];
    const char *found = NULL;
    size_t n = strlen(name);
    *count = 0;
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            if (!found) {
                const char *v = p + 3 + n, *e = strstr(v, "\r\n");
                while (*v == ' ')
                    v++;
                snprintf(val, sizeof val, "%.*s", (int)(e - v), v);
                found = val;
            }
            (*count)++;
        }
    }
    return found;
}

static const char *hdr(const struct resp *r, const char *name)
{
    int count;
    return hdr_n(r, name, &count);
}

static void expect_limits(const struct resp *r, const char *limit, const char *remaining, const char *reset)
{
    assert_non_null(hdr(r, "RateLimit-Limit"));
    assert_string_equal(hdr(r, "RateLimit-Limit"), limit);
    assert_string_equal(hdr(r, "RateLimit-Remaining"), remaining);
    assert_string_equal(hdr(r, "RateLimit-Reset"), reset);
}

static void middleware(void **state)
{
    struct resp r;
    atomic_store(&fake_now, 0);
    atomic_store(&handler_runs, 0);
    /* the peer's address is the key: 3 pass (window 60 s: buckets of 1 s) */
    for (int i = 0; i < 3; i++) {
        request(state, "/hello", "", &r);
        assert_int_equal(r.status, 200);
        char want[8];
        snprintf(want, sizeof want, "%d", 2 - i);
        expect_limits(&r, "3", want, "61");
        assert_null(hdr(&r, "Retry-After"));
    }
    atomic_store(&fake_now, 2500);
    request(state, "/hello", "", &r);
    assert_int_equal(r.status, 429);
    assert_string_equal(hdr(&r, "Content-Type"), "application/problem+json");
    assert_string_equal(hdr(&r, "Retry-After"), "59"); /* 58.5 s, rounded up */
    expect_limits(&r, "3", "0", "59");
    assert_non_null(strstr(r.body, "\"code\":\"rate_limited\""));
    assert_non_null(strstr(r.body, "\"status\":429"));
    assert_int_equal(atomic_load(&handler_runs), 3); /* the fourth never reached the handler */

    /* an API key is its own client, whatever the address */
    request(state, "/hello", "X-API-Key: key-1\r\n", &r);
    assert_int_equal(r.status, 200);
    expect_limits(&r, "3", "2", "61"); /* its first request is in the bucket of second 2 */
    request(state, "/hello", "x-api-key: key-2\r\n", &r);
    expect_limits(&r, "3", "2", "61");

    /* the framework's own answers count and carry the headers too */
    request(state, "/nope", "X-API-Key: key-1\r\n", &r);
    assert_int_equal(r.status, 404);
    expect_limits(&r, "3", "1", "61");

    /* exempt prefixes: neither limited nor labelled */
    for (int i = 0; i < 5; i++) {
        request(state, i % 2 ? "/healthz" : "/docs/x", "", &r);
        assert_int_equal(r.status, 200);
        assert_null(hdr(&r, "RateLimit-Limit"));
        assert_null(hdr(&r, "RateLimit-Remaining"));
        assert_null(hdr(&r, "RateLimit-Reset"));
    }

    /* a handler's own header is kept, not doubled */
    request(state, "/own", "X-API-Key: key-3\r\n", &r);
    int count;
    assert_string_equal(hdr_n(&r, "RateLimit-Limit", &count), "999");
    assert_int_equal(count, 1);
    assert_string_equal(hdr(&r, "RateLimit-Remaining"), "2");

    /* the window slides: 61 s after the first requests, the address may go on */
    atomic_store(&fake_now, 61 * 1000);
    request(state, "/hello", "", &r);
    assert_int_equal(r.status, 200);
    expect_limits(&r, "3", "2", "61");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hundred_then_429),
        cmocka_unit_test(window_slides),
        cmocka_unit_test(keys_are_independent),
        cmocka_unit_test(memory_is_bounded),
        cmocka_unit_test(odd_clocks_and_options),
        cmocka_unit_test(threads_count_exactly),
        cmocka_unit_test_setup_teardown(middleware, server_setup, server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
