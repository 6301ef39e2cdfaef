/* test_server.c - the HTTP/1.1 server (src/http/server.c) over real loopback sockets: a
 * server thread runs a loop with a test handler, the test talks raw bytes to it (split
 * writes, pipelining, half-close, trickling) and checks the exact answers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/time.h"
#include "http/server.h"

/* ---- the server under test, on its own thread ---- */

struct fixture {
    struct st_http_config cfg;
    struct st_io_loop *loop;
    struct st_http_server *srv;
    pthread_t thread;
    int listen_fd;
    int port;
    int drained;      /* drain done callback ran */
    int done_hooks;   /* on_done hooks that ran */
    char tmpfile[64]; /* a file for the file-body routes */
};

struct late {
    struct st_io_timer t;
    struct st_http_ex *x;
    bool stream;
    int n;
};

static void late_fire(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct late *l = t->data;
    st_http_reply(l->x, 200, "text/plain", ST_STR_LIT("late"));
    free(l);
}

static void count_done(struct st_http_ex *x, void *arg)
{
    (void)x;
    struct fixture *f = arg;
    f->done_hooks++;
}

static void handler(struct st_http_ex *x)
{
    struct fixture *f = x->data;
    struct st_str p = x->req->path;
    st_http_on_done(x, count_done, f);
    if (st_str_eq_c(p, "/hello")) {
        st_http_reply(x, 200, "text/plain", ST_STR_LIT("hello"));
    } else if (st_str_eq_c(p, "/echo")) {
        st_buf_append(st_http_body_buf(x), x->body.ptr, x->body.len);
        st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/octet-stream"));
        st_http_send(x);
    } else if (st_str_eq_c(p, "/async")) {
        struct late *l = calloc(1, sizeof *l);
        l->x = x;
        st_io_timer_init(&l->t, late_fire, l);
        st_io_timer_start(x->loop, &l->t, 150);
        st_http_async(x);
    } else if (st_str_eq_c(p, "/forget")) {
        /* returns without an answer: the server must answer 500 */
    } else if (st_str_eq_c(p, "/stream")) {
        st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("text/plain"));
        st_http_stream_begin(x, NULL, NULL);
        st_http_stream_write(x, "one,", 4);
        st_http_stream_write(x, "two,", 4);
        st_http_stream_write(x, "three", 5);
        st_http_stream_end(x);
    } else if (st_str_eq_c(p, "/file") || st_str_eq_c(p, "/smallfile")) {
        int fd = open(f->tmpfile, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        uint64_t len = st_str_eq_c(p, "/file") ? 300000 : 1000;
        st_http_body_file(x, fd, 0, len);
        st_http_send(x);
    } else if (st_str_eq_c(p, "/nocontent")) {
        st_http_reply(x, 204, NULL, ST_STR_LIT("ignored"));
    } else {
        st_http_problem(x, 404, "no such route");
    }
}

static void *server_thread(void *arg)
{
    struct fixture *f = arg;
    st_io_loop_run(f->loop);
    return NULL;
}

static void start(struct fixture *f)
{
    assert_int_equal(st_io_loop_new(&f->loop), 0);
    assert_int_equal(st_io_listen("127.0.0.1:0", 128, 0, &f->listen_fd, NULL), 0);
    assert_int_equal(st_io_local_port(f->listen_fd, &f->port), 0);
    f->cfg.handler = handler;
    f->cfg.data = f;
    assert_int_equal(st_http_server_new(f->loop, f->listen_fd, &f->cfg, 0, &f->srv), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
}

static void stop_cb(void *arg)
{
    struct fixture *f = arg;
    st_http_server_free(f->srv);
    f->srv = NULL;
    st_io_loop_stop(f->loop);
}

static void stop(struct fixture *f)
{
    st_io_post(f->loop, stop_cb, f);
    pthread_join(f->thread, NULL);
    st_io_loop_free(f->loop);
    close(f->listen_fd);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->tmpfile, sizeof f->tmpfile, "/tmp/st-test-server-XXXXXX");
    int fd = mkstemp(f->tmpfile);
    assert_true(fd >= 0);
    char block[1000];
    for (int i = 0; i < 300; i++) {
        memset(block, 'a' + i % 26, sizeof block);
        assert_int_equal(write(fd, block, sizeof block), (ssize_t)sizeof block);
    }
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->tmpfile);
    free(f);
    return 0;
}

/* ---- a raw client ---- */

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_str(int fd, const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

/* Read until the peer closes or timeout_ms passes without data; returns the bytes (malloc). */
static char *read_all(int fd, int timeout_ms, size_t *len_out)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        if (len == cap) {
            cap *= 2;
            char *bigger = realloc(buf, cap + 1);
            assert_non_null(bigger);
            buf = bigger;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len_out)
        *len_out = len;
    return buf;
}

/* Read exactly one response with a Content-Length (or none) body; returns it (malloc).
 * For a response to HEAD, Content-Length describes a body that is not sent. */
static char *read_response_to(int fd, bool head_request)
{
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 1);
    size_t want = 0;
    for (;;) {
        buf[len] = '\0';
        char *end = want ? NULL : strstr(buf, "\r\n\r\n");
        if (end) {
            size_t head = (size_t)(end + 4 - buf);
            char *cl = strcasestr(buf, "\r\nContent-Length: ");
            size_t body = cl && cl < end && !head_request ? strtoul(cl + 18, NULL, 10) : 0;
            want = head + body;
        }
        if (want && len >= want)
            break;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 3000) <= 0)
            break;
        if (want > cap) {
            cap = want;
            char *bigger = realloc(buf, cap + 1);
            assert_non_null(bigger);
            buf = bigger;
        }
        /* the head byte by byte (never read past this response), then the body at once */
        ssize_t n = recv(fd, buf + len, want ? want - len : 1, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static char *read_response(int fd)
{
    return read_response_to(fd, false);
}

static bool peer_closed(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, timeout_ms) <= 0)
        return false;
    char c;
    return recv(fd, &c, 1, MSG_PEEK) == 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* ---- tests ---- */

static void test_keep_alive(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    for (int i = 0; i < 3; i++) {
        send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        char *r = read_response(fd);
        assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
        assert_non_null(strstr(r, "\r\nDate: "));
        assert_non_null(strstr(r, "\r\nContent-Length: 5\r\n"));
        assert_null(strstr(r, "Connection: close"));
        assert_string_equal(strstr(r, "\r\n\r\n") + 4, "hello");
        free(r);
    }
    close(fd);
    stop(f);
    assert_int_equal(f->done_hooks, 3);
}

static void test_pipelining_in_order(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    /* an async (timer) request in the middle must not let later answers overtake it */
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /async HTTP/1.1\r\nHost: t\r\n\r\n"
                 "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
                 "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
                 "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    char *all = read_all(fd, 2000, NULL);
    const char *a = strstr(all, "\r\n\r\nhello"), *b = strstr(all, "\r\n\r\nlate"), *c = strstr(all, "\r\n\r\nsecond"),
               *d = strstr(all, "\r\n\r\nabcde"), *e = strstr(all, "Connection: close\r\n\r\nhello");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_non_null(d);
    assert_non_null(e);
    assert_true(a < b && b < c && c < d && d < e);
    assert_int_equal(count(all, "HTTP/1.1 200 OK"), 5);
    free(all);
    close(fd);
    stop(f);
}

static void test_byte_at_a_time(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    const char *req = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world";
    for (const char *p = req; *p; p++) {
        char one[2] = { *p, 0 };
        send_str(fd, one);
        if ((p - req) % 7 == 0)
            st_time_sleep_ms(1);
    }
    char *r = read_response(fd);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_string_equal(strstr(r, "\r\n\r\n") + 4, "hello world");
    free(r);
    close(fd);
    stop(f);
}

static void test_large_body_moves_buffer(void **state)
{
    struct fixture *f = *state;
    f->cfg.limits.max_body = 4 << 20;
    start(f);
    int fd = dial(f->port);
    size_t n = 3 << 20;
    char *body = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        body[i] = (char)('a' + i % 23);
    body[n] = '\0';
    char head[128];
    snprintf(head, sizeof head, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n", n);
    send_str(fd, head);
    send_str(fd, body);
    char *r = read_response(fd);
    char *got = strstr(r, "\r\n\r\n");
    assert_non_null(got);
    assert_int_equal(strlen(got + 4), n);
    assert_memory_equal(got + 4, body, n);
    free(r);
    free(body);
    close(fd);
    stop(f);
}

static void test_expect_continue(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    char buf[64] = { 0 };
    struct pollfd p = { .fd = fd, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 2000), 1);
    assert_int_equal(recv(fd, buf, 25, MSG_WAITALL), 25);
    assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
    send_str(fd, "data");
    char *r = read_response(fd);
    assert_true(strncmp(r, "HTTP/1.1 200 OK\r\n", 17) == 0);
    assert_string_equal(strstr(r, "\r\n\r\n") + 4, "data");
    free(r);
    close(fd);
    stop(f);
}

static void expect_status_close(int port, const char *req, const char *status_line)
{
    int fd = dial(port);
    send_str(fd, req);
    char *all = read_all(fd, 2000, NULL);
    if (strncmp(all, status_line, strlen(status_line)) != 0)
        fail_msg("sent %.60s... expected %s got: %.200s", req, status_line, all);
    assert_non_null(strstr(all, "Connection: close\r\n"));
    assert_non_null(strstr(all, "application/problem+json"));
    assert_int_equal(count(all, "HTTP/1.1 "), 1); /* nothing after the error */
    free(all);
    close(fd);
}

static void test_limits_and_errors(void **state)
{
    struct fixture *f = *state;
    f->cfg.limits.max_body = 1000;
    f->cfg.limits.max_target = 100;
    f->cfg.limits.max_head = 2000;
    start(f);
    expect_status_close(f->port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n", "HTTP/1.1 413 ");
    expect_status_close(f->port,
                        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
                        "HTTP/1.1 413 ");
    char chunked[4096];
    int n = snprintf(chunked, sizeof chunked, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 12; i++)
        n += snprintf(chunked + n, sizeof chunked - (size_t)n, "64\r\n%0100d\r\n", i);
    expect_status_close(f->port, chunked, "HTTP/1.1 413 ");
    char longt[300];
    snprintf(longt, sizeof longt, "GET /%0200d HTTP/1.1\r\nHost: t\r\n\r\n", 7);
    expect_status_close(f->port, longt, "HTTP/1.1 414 ");
    char big[4000];
    snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: %03000d\r\n\r\n", 1);
    expect_status_close(f->port, big, "HTTP/1.1 431 ");
    expect_status_close(f->port, "GET / HTTP/2.0\r\nHost: t\r\n\r\n", "HTTP/1.1 505 ");
    expect_status_close(f->port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: br, chunked\r\n\r\n",
                        "HTTP/1.1 501 ");
    /* a final coding other than chunked leaves the length unknown: 400 (RFC 9112 6.3) */
    expect_status_close(f->port, "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 400 ");
    expect_status_close(f->port, "GET / HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n", "HTTP/1.1 400 ");
    expect_status_close(f->port, "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                        "HTTP/1.1 400 ");
    expect_status_close(f->port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                        "HTTP/1.1 400 ");
    /* the server is still fine */
    int fd = dial(f->port);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    char *r = read_response(fd);
    assert_true(strncmp(r, "HTTP/1.1 200 OK", 15) == 0);
    free(r);
    close(fd);
    stop(f);
}

static void test_head_and_204(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    send_str(fd, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    char *all = read_all(fd, 2000, NULL);
    /* HEAD: Content-Length of the GET body, no body; 204: no Content-Length, no body */
    const char *h = strstr(all, "Content-Length: 5\r\n\r\nHTTP/1.1 204 No Content\r\n");
    assert_non_null(h);
    const char *nc = strstr(all, "HTTP/1.1 204");
    const char *next = strstr(nc, "\r\n\r\n");
    assert_true(strncmp(next + 4, "HTTP/1.1 200 OK", 15) == 0);
    assert_null(strstr(nc, "ignored"));
    assert_true(strstr(all, "hello") == all + strlen(all) - 5);
    free(all);
    close(fd);
    stop(f);
}

static void test_handler_forgets(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    send_str(fd, "GET /forget HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    char *r = read_response(fd);
    assert_true(strncmp(r, "HTTP/1.1 500 ", 13) == 0);
    free(r);
    r = read_response(fd);
    assert_true(strncmp(r, "HTTP/1.1 200 OK", 15) == 0);
    free(r);
    close(fd);
    stop(f);
}

static void test_streaming(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    send_str(fd, "GET /stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    char *all = read_all(fd, 2000, NULL);
    assert_non_null(strstr(all, "Transfer-Encoding: chunked\r\n"));
    assert_null(strstr(all, "Content-Length"));
    assert_non_null(strstr(all, "\r\n\r\n4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"));
    free(all);
    close(fd);
    /* HTTP/1.0 gets the body delimited by the close */
    fd = dial(f->port);
    send_str(fd, "GET /stream HTTP/1.0\r\n\r\n");
    all = read_all(fd, 2000, NULL);
    assert_null(strstr(all, "chunked"));
    assert_non_null(strstr(all, "\r\n\r\none,two,three"));
    free(all);
    close(fd);
    stop(f);
}

static void test_files(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    send_str(fd, "GET /file HTTP/1.1\r\nHost: t\r\n\r\nGET /smallfile HTTP/1.1\r\nHost: t\r\n\r\n"
                 "HEAD /file HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    char *r = read_response(fd);
    assert_non_null(strstr(r, "Content-Length: 300000\r\n"));
    char *body = strstr(r, "\r\n\r\n") + 4;
    assert_int_equal(strlen(body), 300000);
    assert_int_equal(body[0], 'a');
    assert_int_equal(body[299999], 'a' + 299 % 26);
    free(r);
    r = read_response(fd);
    body = strstr(r, "\r\n\r\n") + 4;
    assert_int_equal(strlen(body), 1000);
    free(r);
    r = read_response_to(fd, true);
    assert_non_null(strstr(r, "Content-Length: 300000\r\n"));
    assert_string_equal(strstr(r, "\r\n\r\n") + 4, "");
    free(r);
    r = read_response(fd);
    assert_string_equal(strstr(r, "\r\n\r\n") + 4, "hello");
    free(r);
    close(fd);
    stop(f);
}

static void test_half_close_after_pipeline(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /async HTTP/1.1\r\nHost: t\r\n\r\n"
                 "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    shutdown(fd, SHUT_WR); /* like `printf ... | nc`: the answers must still come */
    char *all = read_all(fd, 3000, NULL);
    assert_int_equal(count(all, "HTTP/1.1 200 OK"), 3);
    assert_non_null(strstr(all, "late"));
    free(all);
    assert_true(peer_closed(fd, 2000));
    close(fd);
    stop(f);
}

static void test_client_gone_during_async(void **state)
{
    struct fixture *f = *state;
    start(f);
    int fd = dial(f->port);
    send_str(fd, "GET /async HTTP/1.1\r\nHost: t\r\n\r\n");
    st_time_sleep_ms(30);
    struct linger lg = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); /* close with RST */
    close(fd);
    st_time_sleep_ms(300); /* the timer fires and answers into the void: no crash, no leak */
    fd = dial(f->port);
    send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    char *r = read_response(fd);
    assert_true(strncmp(r, "HTTP/1.1 200 OK", 15) == 0);
    free(r);
    close(fd);
    stop(f);
    assert_int_equal(f->done_hooks, 2);
}

static void test_slowloris_and_idle(void **state)
{
    struct fixture *f = *state;
    f->cfg.header_timeout_ms = 300;
    f->cfg.idle_timeout_ms = 400;
    f->cfg.body_timeout_ms = 300;
    start(f);
    int slow = dial(f->port), stall = dial(f->port), idle = dial(f->port);
    int64_t t0 = st_time_mono_ms();
    send_str(slow, "GET /hello HTTP/1.1\r\n");
    send_str(stall, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
    send_str(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    char *r = read_response(idle);
    free(r);
    /* trickle a header byte every 100 ms: the head deadline does not move */
    for (int i = 0; i < 5; i++) {
        st_time_sleep_ms(100);
        send(slow, "X", 1, MSG_NOSIGNAL);
    }
    char *all = read_all(slow, 2000, NULL);
    assert_true(strncmp(all, "HTTP/1.1 408 ", 13) == 0);
    free(all);
    all = read_all(stall, 2000, NULL);
    assert_true(strncmp(all, "HTTP/1.1 408 ", 13) == 0);
    free(all);
    assert_true(peer_closed(idle, 2000)); /* idle keep-alive closed silently */
    assert_true(st_time_mono_ms() - t0 < 3000);
    close(slow);
    close(stall);
    close(idle);
    stop(f);
}

static void test_max_conns_backpressure(void **state)
{
    struct fixture *f = *state;
    f->cfg.max_conns = 2;
    start(f);
    int a = dial(f->port), b = dial(f->port);
    send_str(a, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    free(read_response(a));
    send_str(b, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    free(read_response(b));
    int c = dial(f->port); /* completes in the kernel backlog, but is not served yet */
    send_str(c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    struct pollfd p = { .fd = c, .events = POLLIN };
    assert_int_equal(poll(&p, 1, 300), 0);
    close(a); /* a slot frees up: c is accepted and answered */
    char *r = read_response(c);
    assert_true(strncmp(r, "HTTP/1.1 200 OK", 15) == 0);
    free(r);
    close(b);
    close(c);
    stop(f);
}

static void drained(void *arg)
{
    struct fixture *f = arg;
    f->drained = 1;
}

static void drain_cb(void *arg)
{
    struct fixture *f = arg;
    st_http_server_drain(f->srv, drained, f);
}

static void test_drain(void **state)
{
    struct fixture *f = *state;
    start(f);
    int idle = dial(f->port), busy = dial(f->port);
    send_str(idle, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    free(read_response(idle));
    send_str(busy, "GET /async HTTP/1.1\r\nHost: t\r\n\r\n");
    st_time_sleep_ms(30);
    st_io_post(f->loop, drain_cb, f);
    assert_true(peer_closed(idle, 1000)); /* idle: closed at once */
    char *r = read_response(busy);        /* in flight: finished, with Connection: close */
    assert_true(strncmp(r, "HTTP/1.1 200 OK", 15) == 0);
    assert_non_null(strstr(r, "Connection: close\r\n"));
    free(r);
    assert_true(peer_closed(busy, 1000));
    close(idle);
    close(busy); /* the server lingers until the client closes too */
    for (int i = 0; i < 100 && !f->drained; i++)
        st_time_sleep_ms(10);
    assert_int_equal(f->drained, 1);
    stop(f);
}

/* ---- st_http_serve's per-worker hooks ---- */

struct hooks {
    int fail_index; /* worker_start fails for this index (-1: none) */
    _Atomic int port, started, stopped, wrong_loop;
    struct st_io_loop *_Atomic loops[2];
    int rc;
};

static int hook_start(struct st_io_loop *loop, int index, void *arg)
{
    struct hooks *h = arg;
    atomic_fetch_add(&h->started, 1);
    if (index == h->fail_index)
        return -EIO;
    atomic_store(&h->loops[index], loop);
    return 0;
}

static void hook_stop(struct st_io_loop *loop, int index, void *arg)
{
    struct hooks *h = arg;
    if (atomic_load(&h->loops[index]) != loop) /* the loop worker_start saw, once */
        atomic_fetch_add(&h->wrong_loop, 1);
    atomic_store(&h->loops[index], NULL);
    atomic_fetch_add(&h->stopped, 1);
}

static void hooks_ready(int port, void *arg)
{
    struct hooks *h = arg;
    atomic_store(&h->port, port);
}

static void hello(struct st_http_ex *x)
{
    st_http_reply(x, 200, "text/plain", ST_STR_LIT("hi"));
}

static void *serve_thread(void *arg)
{
    struct hooks *h = arg;
    struct st_http_config cfg = { .handler = hello };
    struct st_http_serve_opts o = { .listen = "127.0.0.1:0",
                                    .workers = 2,
                                    .on_ready = hooks_ready,
                                    .arg = h,
                                    .worker_start = hook_start,
                                    .worker_stop = hook_stop,
                                    .worker_arg = h };
    struct st_error err = { 0 };
    h->rc = st_http_serve(&o, &cfg, &err);
    return NULL;
}

/* SIGTERM goes to the process: blocked here (and in every thread made from now on), it
 * waits for the serving group's signalfd. */
static void block_term(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
}

static void test_serve_worker_hooks(void **state)
{
    (void)state;
    block_term();
    struct hooks h = { .fail_index = -1 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve_thread, &h), 0);
    for (int i = 0; i < 500 && (atomic_load(&h.port) == 0 || atomic_load(&h.started) < 2); i++)
        st_time_sleep_ms(10);
    assert_int_equal(atomic_load(&h.started), 2);
    int fd = dial(atomic_load(&h.port));
    send_str(fd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    char *r = read_response(fd);
    assert_true(strncmp(r, "HTTP/1.1 200 OK", 15) == 0);
    free(r);
    close(fd);
    assert_int_equal(atomic_load(&h.stopped), 0); /* not while serving */
    assert_int_equal(kill(getpid(), SIGTERM), 0);
    pthread_join(t, NULL);
    assert_int_equal(h.rc, 0);
    assert_int_equal(atomic_load(&h.stopped), 2); /* each worker once, on its own loop */
    assert_int_equal(atomic_load(&h.wrong_loop), 0);
}

static void test_serve_worker_start_fails(void **state)
{
    (void)state;
    block_term();
    struct hooks h = { .fail_index = 1 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, serve_thread, &h), 0);
    pthread_join(t, NULL);
    assert_int_not_equal(h.rc, 0);
    /* worker 1 failed its start: no stop for it; worker 0 (if it started) stopped once */
    assert_int_equal(atomic_load(&h.stopped), atomic_load(&h.started) - 1);
    assert_null(atomic_load(&h.loops[0]));
    assert_int_equal(atomic_load(&h.wrong_loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_byte_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_body_moves_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_and_204, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_forgets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_close_after_pipeline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_gone_during_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slowloris_and_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_conns_backpressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, teardown),
        cmocka_unit_test(test_serve_worker_hooks),
        cmocka_unit_test(test_serve_worker_start_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
