/*
 * net.c - sockets for the loop: "host:port" parsing, listening sockets, the accept loop
 * with the spare-fd defence against EMFILE, and write-first nonblocking output.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/str.h"
#include "io/internal.h"

/* Connections taken per readiness callback: with level triggering the rest waits one
 * turn, so a connection storm cannot starve connections that are already open. */
#define ACCEPT_BATCH 64

/* ---- addresses ---- */

static int parse_port(struct st_str s, uint16_t *port, const char *hostport, struct st_error *err)
{
    uint64_t v;
    if (s.len == 0 || st_str_to_u64(s, &v) || v > 65535)
        return st_error_set(err, ST_EPARSE, "%s: port must be a number from 0 to 65535", hostport);
    *port = (uint16_t)v;
    return 0;
}

/* Resolve a host name (start-up only: getaddrinfo blocks). */
static int resolve(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len, const char *hostport,
                   struct st_error *err)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, NULL, &hints, &res);
    if (gai != 0 || !res)
        return st_error_set(err, ST_ENOTFOUND, "%s: cannot resolve host: %s", hostport, gai_strerror(gai));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    return 0;
}

int st_io_parse_addr(const char *hostport, struct sockaddr_storage *ss, socklen_t *len, struct st_error *err)
{
    struct st_str s = st_str_c(hostport);
    char host[256];
    struct st_str h = { 0 }, p = { 0 };
    bool v6 = false;
    memset(ss, 0, sizeof *ss);

    if (s.len > 0 && s.ptr[0] == '[') {
        ptrdiff_t close = st_str_index(s, ']');
        if (close < 0 || (size_t)close + 1 >= s.len || s.ptr[close + 1] != ':')
            return st_error_set(err, ST_EPARSE, "%s: expected [ipv6]:port", hostport);
        h = st_str_sub(s, 1, (size_t)close);
        p = st_str_sub(s, (size_t)close + 2, s.len);
        v6 = true;
    } else {
        ptrdiff_t colon = st_str_index(s, ':');
        if (colon < 0)
            return st_error_set(err, ST_EPARSE, "%s: expected host:port", hostport);
        h = st_str_sub(s, 0, (size_t)colon);
        p = st_str_sub(s, (size_t)colon + 1, s.len);
        if (st_str_index(p, ':') >= 0)
            return st_error_set(err, ST_EPARSE, "%s: IPv6 addresses need brackets: [::1]:port", hostport);
    }
    uint16_t port = 0;
    int rc = parse_port(p, &port, hostport, err);
    if (rc)
        return rc;
    if (h.len >= sizeof host || (v6 && h.len == 0))
        return st_error_set(err, ST_EPARSE, "%s: bad host", hostport);
    memcpy(host, h.ptr, h.len);
    host[h.len] = '\0';

    if (v6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return st_error_set(err, ST_EPARSE, "%s: bad IPv6 address", hostport);
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (h.len == 0 || inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        if (h.len == 0)
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        return 0;
    }
    return resolve(host, port, ss, len, hostport, err);
}

/* ---- listening ---- */

int st_io_listen(const char *hostport, int backlog, unsigned flags, int *fd, struct st_error *err)
{
    struct sockaddr_storage ss = { 0 }; /* zeroed: the analyzer cannot see that rc != 0 on error */
    socklen_t len = 0;
    int rc = st_io_parse_addr(hostport, &ss, &len, err);
    if (rc)
        return rc;
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return st_error_set(err, -errno, "%s: socket: %s", hostport, strerror(errno));
    int one = 1;
    /* SO_REUSEADDR: restart while old connections sit in TIME_WAIT. */
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        ((flags & ST_IO_REUSEPORT) && setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)) {
        rc = st_error_set(err, -errno, "%s: setsockopt: %s", hostport, strerror(errno));
        close(s);
        return rc;
    }
    if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, backlog) < 0) {
        rc = st_error_set(err, -errno, "%s: %s", hostport, strerror(errno));
        close(s);
        return rc;
    }
    *fd = s;
    return 0;
}

int st_io_local_port(int fd, int *port)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        *port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        *port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return -EAFNOSUPPORT;
    return 0;
}

/* ---- accepting ---- */

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Stop watching the listener for a while: the backlog stays readable and, level-triggered,
 * would wake us every turn while accept keeps failing. */
static void pause_accepting(struct st_io_loop *loop, struct st_io_acceptor *a)
{
    st_io_watch_stop(loop, &a->w);
    st_io_timer_start(loop, &a->pause, ST_IO_ACCEPT_PAUSE_MS);
}

static void resume_accepting(struct st_io_loop *loop, struct st_io_timer *t)
{
    struct st_io_acceptor *a = t->data;
    if (a->paused)
        return; /* st_io_acceptor_resume re-arms */
    if (a->spare_fd < 0)
        a->spare_fd = open_spare();
    if (st_io_watch_set(loop, &a->w, ST_IO_READ))
        st_io_timer_start(loop, &a->pause, ST_IO_ACCEPT_PAUSE_MS);
}

/*
 * Out of fds: give the spare back, use the slot to accept and close every pending
 * connection (the clients see a reset instead of hanging), then take the spare again.
 * Returns true if the backlog was drained.
 */
static bool shed_with_spare(struct st_io_acceptor *a)
{
    if (a->spare_fd < 0)
        return false;
    close(a->spare_fd);
    a->spare_fd = -1;
    bool drained = false;
    for (;;) {
        int c = accept4(a->w.fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) {
            drained = errno == EAGAIN || errno == EWOULDBLOCK;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            break;
        }
        close(c);
        a->shed++;
    }
    a->spare_fd = open_spare();
    return drained && a->spare_fd >= 0;
}

static void accept_ready(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)revents;
    struct st_io_acceptor *a = w->data;
    for (int i = 0; i < ACCEPT_BATCH && w->registered && !a->paused; i++) {
        int c = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
            a->accepted++;
            a->cb(a, c); /* may stop the acceptor: the loop condition checks */
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return;
        case EINTR:
        case ECONNABORTED: /* the client gave up while queued */
        case EPROTO: continue;
        case EMFILE:
        case ENFILE:
            if (!shed_with_spare(a))
                pause_accepting(loop, a);
            return;
        default: /* ENOBUFS, ENOMEM, EPERM (firewall) ...: back off rather than spin */
            pause_accepting(loop, a);
            return;
        }
    }
}

int st_io_acceptor_start(struct st_io_loop *loop, struct st_io_acceptor *a, int listen_fd,
                         void (*cb)(struct st_io_acceptor *, int), void *data)
{
    memset(a, 0, sizeof *a);
    a->cb = cb;
    a->data = data;
    a->spare_fd = open_spare();
    if (a->spare_fd < 0)
        return -errno;
    st_io_watch_init(&a->w, listen_fd, accept_ready, a);
    st_io_timer_init(&a->pause, resume_accepting, a);
    int rc = st_io_watch_set(loop, &a->w, ST_IO_READ);
    if (rc) {
        close(a->spare_fd);
        a->spare_fd = -1;
    }
    return rc;
}

void st_io_acceptor_pause(struct st_io_loop *loop, struct st_io_acceptor *a)
{
    a->paused = true;
    if (a->w.registered)
        (void)st_io_watch_set(loop, &a->w, 0);
}

void st_io_acceptor_resume(struct st_io_loop *loop, struct st_io_acceptor *a)
{
    if (!a->paused)
        return;
    a->paused = false;
    if (st_io_timer_active(&a->pause))
        return; /* an EMFILE back-off is running: its timer re-arms */
    if (st_io_watch_set(loop, &a->w, ST_IO_READ))
        st_io_timer_start(loop, &a->pause, ST_IO_ACCEPT_PAUSE_MS);
}

void st_io_acceptor_stop(struct st_io_loop *loop, struct st_io_acceptor *a)
{
    st_io_watch_stop(loop, &a->w);
    st_io_timer_stop(loop, &a->pause);
    if (a->spare_fd >= 0)
        close(a->spare_fd);
    a->spare_fd = -1;
}

/* ---- writing ---- */

int st_io_try_writev(int fd, const struct iovec *iov, int iovcnt, size_t *written)
{
    /* sendmsg rather than writev for MSG_NOSIGNAL: a peer that closed gives EPIPE, not a
     * process-killing SIGPIPE. */
    struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
    ssize_t n;
    *written = 0;
    do { /* one buffer (the common case): send() spares the kernel copying a msghdr in */
        n = iovcnt == 1 ? send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL) : sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? ST_EAGAIN : -errno;
    *written = (size_t)n;
    return 0;
}

int st_io_flush(struct st_io_loop *loop, struct st_io_watch *w, struct st_buf *out)
{
    int rc = 0;
    while (out->len > 0) {
        struct iovec iov = { .iov_base = out->data, .iov_len = out->len };
        size_t n;
        rc = st_io_try_writev(w->fd, &iov, 1, &n);
        if (rc)
            break;
        st_buf_consume(out, n);
        if (n < iov.iov_len) {
            rc = ST_EAGAIN; /* the socket buffer is full: do not try again until EPOLLOUT */
            break;
        }
    }
    if (rc == ST_EAGAIN) {
        int r = st_io_watch_set(loop, w, w->events | ST_IO_WRITE);
        return r ? r : ST_EAGAIN;
    }
    if (rc)
        return rc;
    if (w->events & ST_IO_WRITE)
        return st_io_watch_set(loop, w, w->events & ~(unsigned)ST_IO_WRITE);
    return 0;
}
