/*
 * resp.c - the RESP client of the key-value graders (see resp.h).
 *
 * Sockets are nonblocking and every wait is a poll() bounded by what is left of the
 * check's budget, so a target that stops answering fails the check with a reason instead
 * of hanging the grader. Replies are parsed from the receive buffer only once they are
 * complete (the parser is re-run from the start of the reply when more bytes arrive:
 * grader replies are small, simplicity wins).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/time.h"
#include "grade/resp.h"

#define MAX_REPLY (64u << 20) /* a reply bigger than this is a broken target */
#define MAX_DEPTH 8

void g_kv_begin(struct g_kv *k, struct st_grade *g)
{
    k->g = g;
    st_arena_init(&k->ar, 0);
    k->last[0] = '\0';
    char w[8];
    g_word(g, w, 6, G_ALNUM);
    snprintf(k->prefix, sizeof k->prefix, "grade:%s:", w);
}

void g_kv_end(struct g_kv *k)
{
    st_arena_release(&k->ar); /* closes the connections (cleanup hooks) */
}

const char *g_kv_key(struct g_kv *k, const char *name)
{
    return st_arena_printf(&k->ar, "%s%s", k->prefix, name);
}

void g_kv_sleep(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* ---- connections ---- */

static void conn_cleanup(void *arg)
{
    struct g_rconn *c = arg;
    if (c->fd >= 0)
        close(c->fd);
    st_buf_release(&c->in);
}

/* Split "host:port" ("[v6]:port" too) into host and port. */
static bool split_target(const char *t, char *host, size_t hn, char *port, size_t pn)
{
    const char *colon = strrchr(t, ':');
    if (!colon || colon == t || !colon[1])
        return false;
    const char *h = t;
    size_t len = (size_t)(colon - t);
    if (h[0] == '[' && len >= 2 && h[len - 1] == ']')
        h++, len -= 2;
    if (len >= hn || strlen(colon + 1) >= pn)
        return false;
    memcpy(host, h, len);
    host[len] = '\0';
    snprintf(port, pn, "%s", colon + 1);
    return true;
}

static int connect_wait(struct g_kv *k, int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLOUT };
    int n = poll(&p, 1, g_left_ms(k->g));
    if (n == 0)
        return -ETIMEDOUT;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return -errno;
    return -soerr;
}

struct g_rconn *g_kv_open(struct g_kv *k)
{
    char host[256], port[16];
    if (!split_target(k->g->target, host, sizeof host, port, sizeof port)) {
        g_fail(k->g, "target %s is not HOST:PORT", k->g->target);
        return NULL;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        g_fail(k->g, "cannot resolve %s", k->g->target);
        return NULL;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int rc = fd < 0 ? -errno : 0;
    if (!rc && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        rc = errno == EINPROGRESS ? connect_wait(k, fd) : -errno;
    freeaddrinfo(ai);
    if (rc) {
        if (fd >= 0)
            close(fd);
        g_fail(k->g, "cannot connect to %s: %s", k->g->target,
               rc == -ECONNREFUSED ? "connection refused" : st_strerror(rc));
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct g_rconn *c = st_arena_zalloc(&k->ar, sizeof *c);
    c->fd = fd;
    st_buf_init(&c->in, MAX_REPLY);
    st_arena_on_cleanup(&k->ar, conn_cleanup, c);
    return c;
}

/* ---- sending ---- */

/* Remember the command for failure reports: SET "k" "v" (quoted, truncated). */
static void remember(struct g_kv *k, int argc, const char *const *argv, const size_t *lens)
{
    size_t at = 0;
    k->last[0] = '\0';
    for (int i = 0; i < argc && at < sizeof k->last - 1; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        const char *q = i == 0 ? NULL : g_quote(argv[i], n, 40);
        int w = i == 0 ? snprintf(k->last + at, sizeof k->last - at, "%.*s", (int)(n > 40 ? 40 : n), argv[i])
                       : snprintf(k->last + at, sizeof k->last - at, " %s", q);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

static bool write_all(struct g_kv *k, struct g_rconn *c, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w, n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
            if (poll(&pf, 1, g_left_ms(k->g)) > 0)
                continue;
            return g_fail(k->g, "sending %s: timed out (the target does not read)", k->last);
        }
        return g_fail(k->g, "sending %s: %s", k->last, st_strerror(-errno));
    }
    return true;
}

bool g_kv_send(struct g_kv *k, struct g_rconn *c, int argc, const char *const *argv, const size_t *lens)
{
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    st_buf_printf(&b, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        st_buf_printf(&b, "$%zu\r\n", n);
        st_buf_append(&b, argv[i], n);
        st_buf_append(&b, "\r\n", 2);
    }
    remember(k, argc, argv, lens);
    if (k->g->verbose)
        g_log(k->g, "      > %s\n", k->last);
    bool ok = write_all(k, c, b.data, b.len);
    st_buf_release(&b);
    return ok;
}

bool g_kv_send_raw(struct g_kv *k, struct g_rconn *c, const char *p, size_t n, const char *what)
{
    snprintf(k->last, sizeof k->last, "%s", what);
    if (k->g->verbose)
        g_log(k->g, "      > %s\n", k->last);
    return write_all(k, c, p, n);
}

#define MAX_ARGS 32

static int collect(va_list ap, const char **argv)
{
    int argc = 0;
    const char *s;
    while ((s = va_arg(ap, const char *)) && argc < MAX_ARGS)
        argv[argc++] = s;
    return argc;
}

bool g_kv_sendv(struct g_kv *k, struct g_rconn *c, ...)
{
    const char *argv[MAX_ARGS];
    va_list ap;
    va_start(ap, c);
    int argc = collect(ap, argv);
    va_end(ap);
    return g_kv_send(k, c, argc, argv, NULL);
}

/* ---- parsing ---- */

/* Parse one reply at buf[*off]: 1 done, 0 incomplete, -1 not RESP. */
static int parse(struct g_kv *k, const char *buf, size_t len, size_t *off, struct g_rv *v, int depth)
{
    const char *p = buf + *off, *end = buf + len;
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return 0;
    if (nl == p || nl[-1] != '\r' || depth > MAX_DEPTH)
        return -1;
    const char *line = p + 1;
    size_t ln = (size_t)(nl - 1 - line);
    size_t after = (size_t)(nl + 1 - buf);
    *v = (struct g_rv){ .t = p[0] };
    char num[32];
    int64_t n = 0;
    if (p[0] == ':' || p[0] == '$' || p[0] == '*') {
        if (ln == 0 || ln >= sizeof num)
            return -1;
        memcpy(num, line, ln);
        num[ln] = '\0';
        char *e;
        errno = 0;
        n = strtoll(num, &e, 10);
        if (*e || errno)
            return -1;
    }
    switch (p[0]) {
    case '+':
    case '-':
        v->s = st_arena_strndup(&k->ar, line, ln);
        v->n = ln;
        *off = after;
        return 1;
    case ':':
        v->i = n;
        *off = after;
        return 1;
    case '$':
        if (n < 0) {
            v->t = '_';
            *off = after;
            return 1;
        }
        if ((size_t)n > MAX_REPLY)
            return -1;
        if (len - after < (size_t)n + 2)
            return 0;
        if (buf[after + (size_t)n] != '\r' || buf[after + (size_t)n + 1] != '\n')
            return -1;
        v->s = st_arena_strndup(&k->ar, buf + after, (size_t)n);
        v->n = (size_t)n;
        *off = after + (size_t)n + 2;
        return 1;
    case '*':
        if (n < 0) {
            v->t = '_';
            *off = after;
            return 1;
        }
        if (n > 1000000)
            return -1;
        v->na = (size_t)n;
        v->a = st_arena_calloc(&k->ar, (size_t)n ? (size_t)n : 1, sizeof *v->a);
        *off = after;
        for (size_t i = 0; i < v->na; i++) {
            int rc = parse(k, buf, len, off, &v->a[i], depth + 1);
            if (rc != 1)
                return rc;
        }
        return 1;
    default: return -1;
    }
}

/* Wait up to ms for bytes; 1 got some, 0 timeout, -1 after g_fail (closed, error). */
static int fill(struct g_kv *k, struct g_rconn *c, int ms)
{
    struct pollfd pf = { .fd = c->fd, .events = POLLIN };
    int n = poll(&pf, 1, ms);
    if (n == 0)
        return 0;
    if (st_buf_reserve(&c->in, 65536))
        return g_fail(k->g, "after %s: the reply is larger than 64 MB", k->last), -1;
    ssize_t r = recv(c->fd, c->in.data + c->in.len, 65536, 0);
    if (r > 0) {
        c->in.len += (size_t)r;
        return 1;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    g_fail(k->g, "after %s: the connection was closed%s", k->last, r < 0 ? " (reset)" : "");
    return -1;
}

static struct g_rv *read_reply(struct g_kv *k, struct g_rconn *c, int wait_ms, bool must)
{
    int64_t until = st_time_mono_ms() + wait_ms;
    for (;;) {
        size_t off = c->pos;
        struct g_rv *v = st_arena_zalloc(&k->ar, sizeof *v);
        int rc = c->in.len > c->pos ? parse(k, c->in.data, c->in.len, &off, v, 0) : 0;
        if (rc < 0) {
            g_fail(k->g, "after %s: the target sent bytes that are not RESP: %s", k->last,
                   g_quote(c->in.data + c->pos, c->in.len - c->pos, 60));
            return NULL;
        }
        if (rc == 1) {
            c->pos = off;
            if (c->pos == c->in.len) {
                st_buf_clear(&c->in);
                c->pos = 0;
            }
            if (k->g->verbose)
                g_log(k->g, "      < %s\n", g_kv_show(k, v));
            return v;
        }
        int left = (int)(until - st_time_mono_ms());
        if (left <= 0 || (rc = fill(k, c, left)) == 0) {
            if (must)
                g_fail(k->g, "sent %s: no reply in time", k->last);
            return NULL;
        }
        if (rc < 0)
            return NULL;
    }
}

struct g_rv *g_kv_read(struct g_kv *k, struct g_rconn *c)
{
    return read_reply(k, c, g_left_ms(k->g), true);
}

struct g_rv *g_kv_try_read(struct g_kv *k, struct g_rconn *c, int ms)
{
    return read_reply(k, c, ms, false);
}

struct g_rv *g_kv_call(struct g_kv *k, struct g_rconn *c, ...)
{
    const char *argv[MAX_ARGS];
    va_list ap;
    va_start(ap, c);
    int argc = collect(ap, argv);
    va_end(ap);
    if (!g_kv_send(k, c, argc, argv, NULL))
        return NULL;
    return g_kv_read(k, c);
}

/* ---- showing and judging ---- */

static void show(struct st_buf *b, const struct g_rv *v, int depth)
{
    switch (v->t) {
    case '+': st_buf_printf(b, "+%.*s", (int)(v->n > 80 ? 80 : v->n), v->s); break;
    case '-': st_buf_printf(b, "-%.*s", (int)(v->n > 120 ? 120 : v->n), v->s); break;
    case ':': st_buf_printf(b, ":%lld", (long long)v->i); break;
    case '$': st_buf_append_c(b, g_quote(v->s, v->n, 60)); break;
    case '_': st_buf_append_c(b, "nil"); break;
    case '*':
        st_buf_append_c(b, "[");
        for (size_t i = 0; i < v->na && i < 8 && depth < 3; i++) {
            if (i)
                st_buf_append_c(b, ", ");
            show(b, &v->a[i], depth + 1);
        }
        st_buf_append_c(b, v->na > 8 || (depth >= 3 && v->na) ? ", ...]" : "]");
        break;
    default: st_buf_printf(b, "?%c", v->t);
    }
}

const char *g_kv_show(struct g_kv *k, const struct g_rv *v)
{
    struct st_buf b;
    st_buf_init(&b, 4096);
    show(&b, v, 0);
    const char *s = st_arena_strndup(&k->ar, b.data ? b.data : "", b.len);
    st_buf_release(&b);
    return s;
}

static bool bad(struct g_kv *k, const struct g_rv *v, const char *want)
{
    return g_fail(k->g, "sent %s, got %s, expected %s", k->last, g_kv_show(k, v), want);
}

bool g_kv_want_ok(struct g_kv *k, const struct g_rv *v)
{
    if (!v)
        return false;
    return (v->t == '+' && v->n == 2 && memcmp(v->s, "OK", 2) == 0) || bad(k, v, "+OK");
}

bool g_kv_want_int(struct g_kv *k, const struct g_rv *v, int64_t want)
{
    if (!v)
        return false;
    if (v->t == ':' && v->i == want)
        return true;
    char w[32];
    snprintf(w, sizeof w, ":%lld", (long long)want);
    return bad(k, v, w);
}

bool g_kv_want_range(struct g_kv *k, const struct g_rv *v, int64_t lo, int64_t hi)
{
    if (!v)
        return false;
    if (v->t == ':' && v->i >= lo && v->i <= hi)
        return true;
    char w[64];
    snprintf(w, sizeof w, "an integer in [%lld, %lld]", (long long)lo, (long long)hi);
    return bad(k, v, w);
}

bool g_kv_want_bulk(struct g_kv *k, const struct g_rv *v, const char *p, size_t n)
{
    if (!v)
        return false;
    if (v->t == '$' && v->n == n && memcmp(v->s, p, n) == 0)
        return true;
    return bad(k, v, g_quote(p, n, 60));
}

bool g_kv_want_str(struct g_kv *k, const struct g_rv *v, const char *s)
{
    return g_kv_want_bulk(k, v, s, strlen(s));
}

bool g_kv_is_str(const struct g_rv *v, const char *s)
{
    return v && v->t == '$' && v->n == strlen(s) && memcmp(v->s, s, v->n) == 0;
}

bool g_kv_want_nil(struct g_kv *k, const struct g_rv *v)
{
    if (!v)
        return false;
    return v->t == '_' || bad(k, v, "nil");
}

bool g_kv_want_err(struct g_kv *k, const struct g_rv *v, const char *prefix)
{
    if (!v)
        return false;
    size_t n = strlen(prefix);
    if (v->t == '-' && v->n >= n && memcmp(v->s, prefix, n) == 0)
        return true;
    char w[160];
    snprintf(w, sizeof w, "an error -%s...", prefix);
    return bad(k, v, w);
}

bool g_kv_want_array(struct g_kv *k, const struct g_rv *v, size_t n)
{
    if (!v)
        return false;
    if (v->t == '*' && v->na == n)
        return true;
    char w[48];
    snprintf(w, sizeof w, "an array of %zu", n);
    return bad(k, v, w);
}
