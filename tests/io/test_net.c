/* test_net.c - tests for src/io/net.c: address parsing, a TCP echo server on 127.0.0.1
 * with many concurrent clients, write-first flushing with EPOLLOUT fallback, and
 * surviving fd exhaustion (EMFILE) without spinning. Loopback only. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/time.h"
#include "io/io.h"

/* ---- address parsing ---- */

static void test_parse_ok(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64];
    assert_int_equal(st_io_parse_addr("127.0.0.1:8080", &ss, &len, NULL), 0);
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)&ss;
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohs(a4->sin_port), 8080);
    assert_string_equal(inet_ntop(AF_INET, &a4->sin_addr, text, sizeof text), "127.0.0.1");

    assert_int_equal(st_io_parse_addr("[::1]:443", &ss, &len, NULL), 0);
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&ss;
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(ntohs(a6->sin6_port), 443);
    assert_string_equal(inet_ntop(AF_INET6, &a6->sin6_addr, text, sizeof text), "::1");

    assert_int_equal(st_io_parse_addr(":8080", &ss, &len, NULL), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(a4->sin_addr.s_addr, htonl(INADDR_ANY));
    assert_int_equal(ntohs(a4->sin_port), 8080);

    assert_int_equal(st_io_parse_addr("localhost:0", &ss, &len, NULL), 0);
    assert_true(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
    assert_int_equal(st_io_parse_addr("127.0.0.1:65535", &ss, &len, NULL), 0);
}

static void test_parse_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "8080",
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:-1",
        "127.0.0.1:+80",
        "127.0.0.1:80x",
        "127.0.0.1: 80",
        "::1:8080",
        "[::1]",
        "[::1]8080",
        "[::1:8080",
        "[]:80",
        "[127.0.0.1]:80",
        "[::1]:",
        "1.2.3.4:99999999999999999999",
    };
    struct sockaddr_storage ss;
    socklen_t len;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct st_error err = { 0 };
        int rc = st_io_parse_addr(bad[i], &ss, &len, &err);
        if (rc != ST_EPARSE)
            fail_msg("'%s' gave %d, want ST_EPARSE", bad[i], rc);
        assert_true(err.msg[0] != '\0');
    }
    struct st_error err = { 0 };
    assert_int_equal(st_io_parse_addr("no-such-host.invalid:80", &ss, &len, &err), ST_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no-such-host.invalid"));
}

static void test_listen_reuseport(void **state)
{
    (void)state;
    int a, b, port;
    assert_int_equal(st_io_listen("127.0.0.1:0", 16, ST_IO_REUSEPORT, &a, NULL), 0);
    assert_int_equal(st_io_local_port(a, &port), 0);
    assert_true(port > 0);
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    /* Two listeners on one port: the per-loop listeners of st_io_run_workers. */
    assert_int_equal(st_io_listen(addr, 16, ST_IO_REUSEPORT, &b, NULL), 0);
    assert_true(fcntl(a, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(a, F_GETFD) & FD_CLOEXEC);
    close(b);
    struct st_error err = { 0 };
    assert_int_equal(st_io_listen(addr, 16, 0, &b, &err), -EADDRINUSE);
    assert_true(err.msg[0] != '\0');
    close(a);
}

/* ---- echo server used by the TCP tests ---- */

struct conn {
    struct st_io_watch w;
    struct st_buf out;
    struct st_io_defer d;
    bool eof;
    struct server *srv;
};

struct server {
    struct st_io_loop *loop;
    struct st_io_acceptor acc;
    int lfd, port;
    int open; /* connections open now */
};

static void conn_free(void *arg)
{
    struct conn *c = arg;
    st_buf_release(&c->out);
    free(c);
}

static void conn_close(struct st_io_loop *loop, struct conn *c)
{
    st_io_watch_stop(loop, &c->w);
    close(c->w.fd);
    c->srv->open--;
    st_io_defer(loop, &c->d, conn_free, c); /* we may be inside c's own callback */
}

static void conn_ready(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    struct conn *c = w->data;
    if (revents & ST_IO_READ && !c->eof) {
        char buf[16384];
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n > 0) {
            if (buf[0] == '?') { /* stats request: how many connections were shed */
                char line[64];
                int m = snprintf(line, sizeof line, "shed=%llu\n", (unsigned long long)c->srv->acc.shed);
                st_buf_append(&c->out, line, (size_t)m);
            } else {
                st_buf_append(&c->out, buf, (size_t)n);
            }
        } else if (n == 0) {
            c->eof = true;
            /* stop reading; keep only write interest if output is pending */
            if (st_io_watch_set(loop, w, w->events & ~(unsigned)ST_IO_READ)) {
                conn_close(loop, c);
                return;
            }
        } else if (errno != EAGAIN) {
            conn_close(loop, c);
            return;
        }
    }
    int rc = st_io_flush(loop, w, &c->out);
    if (rc && rc != ST_EAGAIN) {
        conn_close(loop, c);
        return;
    }
    if (c->eof && c->out.len == 0)
        conn_close(loop, c);
}

static void on_accept(struct st_io_acceptor *a, int fd)
{
    struct server *srv = a->data;
    struct conn *c = calloc(1, sizeof *c);
    c->srv = srv;
    st_buf_init(&c->out, ST_BUF_UNLIMITED);
    st_io_watch_init(&c->w, fd, conn_ready, c);
    srv->open++;
    if (st_io_watch_set(srv->loop, &c->w, ST_IO_READ))
        conn_close(srv->loop, c);
}

static void server_open(struct server *srv)
{
    memset(srv, 0, sizeof *srv);
    assert_int_equal(st_io_loop_new(&srv->loop), 0);
    assert_int_equal(st_io_listen("127.0.0.1:0", 512, 0, &srv->lfd, NULL), 0);
    assert_int_equal(st_io_local_port(srv->lfd, &srv->port), 0);
    assert_int_equal(st_io_acceptor_start(srv->loop, &srv->acc, srv->lfd, on_accept, srv), 0);
}

static void server_close(struct server *srv)
{
    st_io_acceptor_stop(srv->loop, &srv->acc);
    close(srv->lfd);
    st_io_loop_run_once(srv->loop, 0); /* run pending deferred frees */
    st_io_loop_free(srv->loop);
}

static void *server_main(void *arg)
{
    struct server *srv = arg;
    st_io_loop_run(srv->loop);
    return NULL;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* ---- echo with many concurrent clients ---- */

enum { CLIENT_THREADS = 4, CONNS_PER_THREAD = 25, PAYLOAD = 200 * 1024 };

struct client_arg {
    int port;
    int seed;
    bool ok;
};

static void *client_main(void *p)
{
    struct client_arg *ca = p;
    int fds[CONNS_PER_THREAD];
    char *msg = malloc(PAYLOAD), *got = malloc(PAYLOAD);
    ca->ok = false;
    for (int i = 0; i < CONNS_PER_THREAD; i++) /* all connections open at once */
        if ((fds[i] = connect_to(ca->port)) < 0)
            goto out;
    for (int i = 0; i < CONNS_PER_THREAD; i++) {
        for (size_t k = 0; k < PAYLOAD; k++)
            msg[k] = (char)(k * 31 + (size_t)i + (size_t)ca->seed);
        /* Write everything before reading: the server's sends hit a full socket buffer
         * and must fall back to EPOLLOUT. */
        for (size_t off = 0; off < PAYLOAD;) {
            ssize_t n = write(fds[i], msg + off, PAYLOAD - off);
            if (n <= 0)
                goto out;
            off += (size_t)n;
        }
        shutdown(fds[i], SHUT_WR);
        size_t have = 0;
        for (;;) {
            ssize_t n = read(fds[i], got + have, PAYLOAD - have + (have == PAYLOAD));
            if (n < 0)
                goto out;
            if (n == 0)
                break;
            have += (size_t)n;
            if (have > PAYLOAD)
                goto out;
        }
        if (have != PAYLOAD || memcmp(msg, got, PAYLOAD) != 0)
            goto out;
    }
    ca->ok = true;
out:
    for (int i = 0; i < CONNS_PER_THREAD; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(msg);
    free(got);
    return NULL;
}

static void test_tcp_echo_many_clients(void **state)
{
    (void)state;
    struct server srv;
    server_open(&srv);
    pthread_t loop_th, th[CLIENT_THREADS];
    struct client_arg ca[CLIENT_THREADS];
    assert_int_equal(pthread_create(&loop_th, NULL, server_main, &srv), 0);
    for (int i = 0; i < CLIENT_THREADS; i++) {
        ca[i] = (struct client_arg){ .port = srv.port, .seed = i };
        assert_int_equal(pthread_create(&th[i], NULL, client_main, &ca[i]), 0);
    }
    for (int i = 0; i < CLIENT_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_true(ca[i].ok);
    }
    st_io_loop_stop(srv.loop);
    pthread_join(loop_th, NULL);
    assert_int_equal(srv.acc.accepted, CLIENT_THREADS * CONNS_PER_THREAD);
    assert_int_equal(srv.open, 0);
    server_close(&srv);
}

/* ---- st_io_flush: write first, EPOLLOUT only when the socket is full ---- */

static void flush_ready(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    assert_true(revents & ST_IO_WRITE);
    int rc = st_io_flush(loop, w, w->data);
    assert_true(rc == 0 || rc == ST_EAGAIN);
}

static void test_flush_arms_write_only_when_blocked(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    struct st_buf out;
    st_buf_init(&out, ST_BUF_UNLIMITED);
    struct st_io_watch w;
    st_io_watch_init(&w, sv[0], flush_ready, &out);

    /* Small write: goes out at once, no write interest, not even registered. */
    assert_int_equal(st_buf_append_c(&out, "hello"), 0);
    assert_int_equal(st_io_flush(loop, &w, &out), 0);
    assert_false(w.registered);
    char small[8];
    assert_int_equal(read(sv[1], small, sizeof small), 5);

    /* Large write: the socket fills, write interest is armed, the loop finishes it. */
    enum { BIG = 4 << 20 };
    char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)(i % 251);
    assert_int_equal(st_buf_append(&out, big, BIG), 0);
    assert_int_equal(st_io_flush(loop, &w, &out), ST_EAGAIN);
    assert_true(w.registered && (w.events & ST_IO_WRITE));
    assert_true(out.len > 0 && out.len < BIG);
    char *got = malloc(BIG);
    size_t have = 0;
    int64_t start = st_time_mono_ms();
    while (have < BIG && st_time_mono_ms() - start < 20000) {
        ssize_t n = read(sv[1], got + have, BIG - have);
        if (n > 0)
            have += (size_t)n;
        assert_int_equal(st_io_loop_run_once(loop, 10), 0);
    }
    assert_int_equal(have, BIG);
    assert_memory_equal(got, big, BIG);
    assert_int_equal(out.len, 0);
    assert_false(w.events & ST_IO_WRITE); /* disarmed once empty */

    /* A closed peer is an error, not SIGPIPE. */
    close(sv[1]);
    assert_int_equal(st_buf_append_c(&out, "x"), 0);
    assert_int_equal(st_io_flush(loop, &w, &out), -EPIPE);
    st_io_watch_stop(loop, &w);
    close(sv[0]);
    free(big);
    free(got);
    st_buf_release(&out);
    st_io_loop_free(loop);
}

/* ---- EMFILE ---- */

/* utime + stime of pid in clock ticks. */
static long cpu_ticks(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')'); /* the command name may contain spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (long)(ut + st);
}

/* The child: a server with RLIMIT_NOFILE 64 that holds every connection it accepts. */
static _Noreturn void emfile_child(int port_pipe)
{
    alarm(30); /* never outlive a failed parent: SIGALRM's default action ends us */
    struct rlimit rl = { 64, 64 };
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        _exit(3);
    struct server srv;
    server_open(&srv);
    if (write(port_pipe, &srv.port, sizeof srv.port) != sizeof srv.port)
        _exit(4);
    close(port_pipe);
    st_io_loop_run(srv.loop); /* the parent kills us */
    _exit(0);
}

static void test_emfile_survival(void **state)
{
    (void)state;
    int pp[2];
    assert_int_equal(pipe(pp), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pp[0]);
        emfile_child(pp[1]);
    }
    close(pp[1]);
    int port = 0;
    assert_int_equal(read(pp[0], &port, sizeof port), (ssize_t)sizeof port);
    close(pp[0]);

    /* Many more connections than the child has fds for. Nonblocking connects: whether
     * each is held, shed or still queued does not matter here. */
    enum { N = 300 };
    int fds[N];
    for (int i = 0; i < N; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int rc = connect(fds[i], (struct sockaddr *)&a, sizeof a);
        assert_true(rc == 0 || errno == EINPROGRESS);
    }
    st_time_sleep_ms(300);

    /* Exhausted, yet not spinning: well under a third of one core over a second (a
     * spinning level-triggered loop would use all of it). */
    long t0 = cpu_ticks(pid);
    st_time_sleep_ms(1000);
    long t1 = cpu_ticks(pid);
    assert_true(t0 >= 0 && t1 >= 0);
    long hz = sysconf(_SC_CLK_TCK);
    if (t1 - t0 > hz / 3) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("child used %ld ticks of %ld in 1 s while out of fds", t1 - t0, hz);
    }

    /* Free the fds: the child sees EOF on the connections it holds and closes them. */
    for (int i = 0; i < N; i++)
        close(fds[i]);
    st_time_sleep_ms(200);

    /* Serving again; the stats line shows the spare-fd trick shed connections. */
    int fd = -1;
    for (int tries = 0; tries < 50 && fd < 0; tries++) {
        fd = connect_to(port);
        if (fd < 0)
            st_time_sleep_ms(100);
    }
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "?", 1), 1);
    char line[64] = { 0 };
    ssize_t n = read(fd, line, sizeof line - 1);
    assert_true(n > 0);
    unsigned long long shed = 0;
    assert_int_equal(sscanf(line, "shed=%llu", &shed), 1);
    assert_true(shed > 0);
    assert_int_equal(write(fd, "ping", 4), 4);
    char pong[4];
    assert_int_equal(read(fd, pong, 4), 4);
    assert_memory_equal(pong, "ping", 4);
    close(fd);

    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_listen_reuseport),
        cmocka_unit_test(test_tcp_echo_many_clients),
        cmocka_unit_test(test_flush_arms_write_only_when_blocked),
        cmocka_unit_test(test_emfile_survival),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
