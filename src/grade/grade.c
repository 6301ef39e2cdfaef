/*
 * grade.c - `strata grade`: the command, the runner and the helpers checks share.
 *
 * A run: parse flags, pick the grader, optionally start the learner's program (--cmd:
 * pick a free port, create a temp directory, let the grader fill it, substitute {port}
 * and {dir}, start it under /bin/sh with stdout and stderr merged into a pipe that a
 * thread drains, wait until the port accepts connections), run every check `repeat`
 * times (round r uses seed + r), print and optionally write JSON, then SIGTERM the
 * program (SIGKILL after 3 s), reap it and remove the temp directory.
 */
#include "grade/grade.h"

#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/flags.h"
#include "base/time.h"
#include "curriculum/curriculum.h"
#include "grade/internal.h"
#include "lab/cli.h"

static const struct st_grader *const graders[] = {
    &st__grade_q11,  &st__grade_q12,  &st__grade_q13,  &st__grade_q14,  &st__grade_q15,  &st__grade_q16,
    &st__grade_q17,  &st__grade_q18,  &st__grade_q19,  &st__grade_q20,  &st__grade_q97,  &st__grade_q98,
    &st__grade_q99,  &st__grade_q175, &st__grade_q311, &st__grade_q313, &st__grade_q434, &st__grade_q112,
    &st__grade_q119, &st__grade_q131, &st__grade_q111, &st__grade_q31,  &st__grade_q32,  &st__grade_q33,
    &st__grade_q34,  &st__grade_q35,  &st__grade_q36,  &st__grade_q37,  &st__grade_q38,  &st__grade_q39,
    &st__grade_q113, &st__grade_q115, &st__grade_q118, &st__grade_q73,  &st__grade_q75,  &st__grade_q76,
    &st__grade_q78,  &st__grade_q80,  &st__grade_q114, &st__grade_q120, &st__grade_q71,  &st__grade_q72,
    &st__grade_q74,  &st__grade_q77,  &st__grade_q79,  &st__grade_q117,
};
#define NGRADERS (sizeof(graders) / sizeof(graders[0]))

/* ---- randomness (splitmix64) ---- */

uint64_t g_rand(struct st_grade *g)
{
    uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int64_t g_range(struct st_grade *g, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(g_rand(g) % (uint64_t)(hi - lo + 1));
}

void g_word(struct st_grade *g, char *out, size_t n, const char *set)
{
    size_t k = strlen(set);
    for (size_t i = 0; i < n; i++)
        out[i] = set[g_rand(g) % k];
    out[n] = '\0';
}

/* ---- failing and quoting ---- */

bool g_fail(struct st_grade *g, const char *fmt, ...)
{
    if (g->failed)
        return false; /* the first reason is the one that matters */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->reason, sizeof(g->reason), fmt, ap);
    va_end(ap);
    g->failed = true;
    return false;
}

/* ---- the report ---- */

void g_log(struct st_grade *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)st_buf_vprintf(&g->partial, fmt, ap);
    va_end(ap);
    size_t at = 0;
    for (;;) {
        const char *nl = memchr(g->partial.data + at, '\n', g->partial.len - at);
        if (!nl)
            break;
        size_t len = (size_t)(nl - (g->partial.data + at));
        if (g->line)
            g->line(g->line_arg, g->partial.data + at, len);
        at += len + 1;
    }
    st_buf_consume(&g->partial, at);
}

const char *g_quote(const char *p, size_t n, size_t max)
{
    static _Thread_local char ring[8][2048];
    static _Thread_local int at;
    char *o = ring[at++ % 8];
    size_t j = 0, cap = sizeof(ring[0]) - 8;
    if (max > 512)
        max = 512;
    o[j++] = '"';
    for (size_t i = 0; i < n && i < max && j < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            j += (size_t)snprintf(o + j, cap - j, "\\%c", c);
        else if (c == '\n')
            j += (size_t)snprintf(o + j, cap - j, "\\n");
        else if (c == '\r')
            j += (size_t)snprintf(o + j, cap - j, "\\r");
        else if (c == '\t')
            j += (size_t)snprintf(o + j, cap - j, "\\t");
        else if (c < 0x20 || c >= 0x7f)
            j += (size_t)snprintf(o + j, cap - j, "\\x%02x", c);
        else
            o[j++] = (char)c;
    }
    o[j++] = '"';
    if (n > max)
        j += (size_t)snprintf(o + j, sizeof(ring[0]) - j, "...");
    o[j] = '\0';
    return o;
}

const char *g_json_text(const json_t *v)
{
    static _Thread_local char buf[4][600];
    static _Thread_local int at;
    char *o = buf[at++ % 4];
    if (!v)
        return "(nothing)";
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    if (!s)
        return "(unprintable)";
    size_t n = strlen(s);
    if (n > sizeof(buf[0]) - 4)
        snprintf(o, sizeof(buf[0]), "%.*s...", (int)(sizeof(buf[0]) - 8), s);
    else
        snprintf(o, sizeof(buf[0]), "%s", s);
    free(s);
    return o;
}

bool g_contains_ci(const char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++) {
        if (strncasecmp(p + i, needle, k) == 0)
            return true;
    }
    return false;
}

/* ---- requests ---- */

int g_left_ms(struct st_grade *g)
{
    int64_t left = g->deadline_ms - st_time_mono_ms();
    return left < 1 ? 1 : (int)left;
}

struct st_http_exchange *g_new_exchange(struct st_grade *g)
{
    if (g->nxs == G_MAX_EXCHANGES)
        st_panic("grade: a check made more than %d requests", G_MAX_EXCHANGES);
    struct st_http_exchange *x = st_xmalloc(sizeof(*x));
    st_http_exchange_init(x);
    g->xs[g->nxs++] = x;
    return x;
}

static void verbose_exchange(struct st_grade *g, const struct st_http_exchange *x)
{
    if (!g->verbose)
        return;
    const char *s = x->sent.data ? x->sent.data : "";
    const char *eol = strstr(s, "\r\n");
    g_log(g, "      > %s\n", g_quote(s, eol ? (size_t)(eol - s) : x->sent.len, 200));
    if (x->rc)
        g_log(g, "      < error: %s\n", x->err.msg);
    for (size_t i = 0; i < x->nresp; i++)
        g_log(g, "      < %d %s (%zu body bytes)\n", x->resp[i].status,
              g_quote(x->resp[i].reason.ptr, x->resp[i].reason.len, 60), x->resp[i].body.len);
}

/* Record a finished exchange; NULL response after g_fail on error. */
static const struct st_http_resp *finished(struct st_grade *g, struct st_http_exchange *x)
{
    g->shown = x;
    verbose_exchange(g, x);
    if (x->rc) {
        g_fail(g, "%s", x->err.msg);
        return NULL;
    }
    return &x->resp[0];
}

const struct st_http_resp *g_exec(struct st_grade *g, struct st_http_client *c, struct st_http_exchange *x)
{
    x->timeout_ms = g_left_ms(g);
    st_http_client_exec(c, x);
    return finished(g, x);
}

struct st_http_client *g_new_client(struct st_grade *g)
{
    struct st_http_client *c;
    struct st_error err;
    struct st_http_client_opts o = { .connect_timeout_ms = g->timeout_ms, .max_body = 16u << 20 };
    if (st_http_client_new(NULL, g->target, &o, &c, &err))
        st_panic("grade: client for %s: %s", g->target, err.msg); /* the target was checked at start */
    return c;
}

const struct st_http_resp *g_do(struct st_grade *g, const struct g_req *r)
{
    struct st_http_exchange *x = g_new_exchange(g);
    struct st_http_field *h = st_xcalloc(r->nheaders + 1, sizeof(*h));
    size_t n = 0;
    if (r->ctype)
        h[n++] = (struct st_http_field){ "Content-Type", r->ctype };
    for (size_t i = 0; i < r->nheaders; i++)
        h[n++] = r->headers[i];
    x->method = r->method ? r->method : "GET";
    x->target = r->target;
    x->headers = h;
    x->nheaders = n;
    x->body = r->body;
    x->body_len = r->body && !r->body_len ? strlen(r->body) : r->body_len;
    const struct st_http_resp *res;
    if (r->fresh) {
        struct st_http_client *c = g_new_client(g);
        res = g_exec(g, c, x);
        st_http_client_free(c);
    } else {
        res = g_exec(g, g->client, x);
    }
    free(h);
    x->headers = NULL; /* inputs die here; the outputs stay for the report */
    return res;
}

const struct st_http_resp *g_get(struct st_grade *g, const char *target)
{
    struct g_req r = { .target = target };
    return g_do(g, &r);
}

const struct st_http_exchange *g_raw(struct st_grade *g, const char *bytes, size_t len, size_t expect,
                                     unsigned raw_head, bool drain)
{
    struct st_http_exchange *x = g_new_exchange(g);
    x->raw = bytes;
    x->raw_len = len;
    x->expect = expect;
    x->raw_head = raw_head;
    x->drain = drain;
    struct st_http_client *c = g_new_client(g);
    g_exec(g, c, x);
    st_http_client_free(c);
    x->raw = NULL;
    return x->rc ? NULL : x;
}

/* ---- judging ---- */

bool g_status(struct st_grade *g, const struct st_http_resp *r, int status)
{
    if (r->status == status)
        return true;
    return g_fail(g, "expected status %d, got %d", status, r->status);
}

bool g_no_body(struct st_grade *g, const struct st_http_resp *r, const char *what)
{
    if (r->body.len == 0)
        return true;
    return g_fail(g, "%s must have no body, got %zu bytes: %s", what, r->body.len,
                  g_quote(r->body.data, r->body.len, 80));
}

bool g_ctype_is(const struct st_http_resp *r, const char *type)
{
    const struct st_str *v = st_http_resp_header(r, "content-type");
    if (!v)
        return false;
    struct st_str media;
    st_str_cut(*v, ';', &media, NULL);
    return st_str_ieq_c(st_str_trim(media), type);
}

bool g_ctype(struct st_grade *g, const struct st_http_resp *r, const char *type)
{
    if (g_ctype_is(r, type))
        return true;
    const struct st_str *v = st_http_resp_header(r, "content-type");
    if (!v)
        return g_fail(g, "expected Content-Type %s, got no Content-Type header", type);
    return g_fail(g, "expected Content-Type %s, got %s", type, g_quote(v->ptr, v->len, 100));
}

json_t *g_json(struct st_grade *g, const struct st_http_resp *r)
{
    json_error_t e;
    json_t *v = json_loadb(r->body.data ? r->body.data : "", r->body.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (!v)
        g_fail(g, "the body is not valid JSON: %s at byte %d", e.text, e.position);
    return v;
}

json_t *g_problem(struct st_grade *g, const struct st_http_resp *r, int status, bool need_status, bool need_title)
{
    if (!g_status(g, r, status) || !g_ctype(g, r, "application/problem+json"))
        return NULL;
    json_t *v = g_json(g, r);
    if (!v)
        return NULL;
    if (!json_is_object(v)) {
        g_fail(g, "the problem details body is not a JSON object: %s", g_json_text(v));
        json_decref(v);
        return NULL;
    }
    json_t *s = json_object_get(v, "status");
    if ((need_status || s) && (!json_is_integer(s) || json_integer_value(s) != status)) {
        g_fail(g, "the problem details need \"status\": %d, got %s", status, s ? g_json_text(s) : "no \"status\"");
        json_decref(v);
        return NULL;
    }
    json_t *t = json_object_get(v, "title");
    if (need_title && (!json_is_string(t) || json_string_length(t) == 0)) {
        g_fail(g, "the problem details need a non-empty \"title\" string, got %s", t ? g_json_text(t) : "none");
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- the program under --cmd ---- */

struct st_grade_output {
    pthread_mutex_t mu;
    struct st_buf buf;
    int fd;
    pthread_t thread;
};

struct proc {
    pid_t pid;
    struct st_grade_output out;
    bool reader;
};

static void *drain_output(void *arg)
{
    struct st_grade_output *o = arg;
    char b[4096];
    for (;;) {
        ssize_t n = read(o->fd, b, sizeof(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        pthread_mutex_lock(&o->mu);
        size_t room = o->buf.max - o->buf.len;
        (void)st_buf_append(&o->buf, b, (size_t)n < room ? (size_t)n : room);
        pthread_mutex_unlock(&o->mu);
    }
    return NULL;
}

void g_output(struct st_grade *g, int wait_ms, struct st_buf *out)
{
    st_buf_clear(out);
    if (!g->output)
        return;
    if (wait_ms > 0)
        st_time_sleep_ms(wait_ms);
    pthread_mutex_lock(&g->output->mu);
    (void)st_buf_append(out, g->output->buf.data ? g->output->buf.data : "", g->output->buf.len);
    pthread_mutex_unlock(&g->output->mu);
}

/* A port the kernel considers free right now. */
static int free_port(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int rc = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        rc = -errno;
    else
        *port = ntohs(sa.sin_port);
    close(fd);
    return rc;
}

/* cmd with {port} and {dir} replaced. */
static char *substitute(const char *cmd, int port, const char *dir, const struct st_grade *g)
{
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    for (const char *p = cmd; *p;) {
        if (strncmp(p, "{port}", 6) == 0) {
            st_buf_printf(&b, "%d", port);
            p += 6;
        } else if (strncmp(p, "{dir}", 5) == 0 && dir) {
            st_buf_append_c(&b, dir);
            p += 5;
        } else if (strncmp(p, "{db}", 4) == 0 && g->db_url) { /* ST_GRADE_NEEDS_DB (sql_pool.c) */
            st_buf_append_c(&b, g->db_url);
            p += 4;
        } else if (strncmp(p, "{pool}", 6) == 0 && g->pool > 0) {
            st_buf_printf(&b, "%d", g->pool);
            p += 6;
        } else {
            st_buf_append_byte(&b, *p++);
        }
    }
    return st_buf_detach(&b, NULL);
}

static int proc_start(struct proc *p, const char *cmd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return -e;
    }
    if (pid == 0) {
        /* The child: its own process group (so SIGTERM reaches a shell's children too),
         * default signal dispositions, output into the pipe. */
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    setpgid(pid, pid);
    p->pid = pid;
    pthread_mutex_init(&p->out.mu, NULL);
    st_buf_init(&p->out.buf, 8u << 20);
    p->out.fd = fds[0];
    if (pthread_create(&p->out.thread, NULL, drain_output, &p->out) == 0)
        p->reader = true;
    return 0;
}

/* Wait until host:port accepts a connection, the program exits, or timeout_ms passes. */
static int wait_ready(struct proc *p, int port, int timeout_ms, int *status)
{
    int64_t end = st_time_mono_ms() + timeout_ms;
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    while (st_time_mono_ms() < end) {
        if (waitpid(p->pid, status, WNOHANG) == p->pid) {
            p->pid = 0;
            return -ECHILD;
        }
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        close(fd);
        if (rc == 0)
            return 0;
        st_time_sleep_ms(50);
    }
    return -ETIMEDOUT;
}

static void proc_stop(struct proc *p)
{
    pid_t group = p->pid;
    if (p->pid > 0) {
        kill(-p->pid, SIGTERM);
        int status;
        int64_t end = st_time_mono_ms() + 3000;
        while (waitpid(p->pid, &status, WNOHANG) == 0) {
            if (st_time_mono_ms() > end) {
                kill(-p->pid, SIGKILL);
                waitpid(p->pid, &status, 0);
                break;
            }
            st_time_sleep_ms(20);
        }
        p->pid = 0;
    }
    if (p->reader) {
        /* The write end may still be open in a grandchild that ignored SIGTERM: kill what
         * is left of the group so the reader sees EOF. */
        if (group > 0)
            kill(-group, SIGKILL);
        pthread_join(p->out.thread, NULL);
        p->reader = false;
    }
    if (p->out.fd >= 0)
        close(p->out.fd);
    p->out.fd = -1;
    pthread_mutex_destroy(&p->out.mu);
    st_buf_release(&p->out.buf);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* ---- running checks ---- */

struct result {
    const char *name;
    int round;
    bool passed;
    char reason[1024];
    double duration_ms;
};

/* Print the exchange a failure is about: what was sent and what came back. */
static void report_exchange(struct st_grade *g, const struct st_http_exchange *x)
{
    const char *s = x->sent.data ? x->sent.data : "";
    size_t n = x->sent.len;
    g_log(g, "      sent:\n");
    for (size_t at = 0, lines = 0; at < n && lines < 30; lines++) {
        const char *eol = memmem(s + at, n - at, "\r\n", 2);
        size_t len = eol ? (size_t)(eol - (s + at)) : n - at;
        if (len == 0 && eol) { /* end of the head: the body follows */
            if (at + 2 < n)
                g_log(g, "        (body, %zu bytes) %s\n", n - at - 2, g_quote(s + at + 2, n - at - 2, 300));
            break;
        }
        g_log(g, "        %s\n", g_quote(s + at, len, 200));
        at += len + (eol ? 2 : 0);
    }
    if (x->nresp == 0) {
        if (x->received.len)
            g_log(g, "      received (%zu bytes, no complete response): %s\n", x->received.len,
                  g_quote(x->received.data, x->received.len, 400));
        else
            g_log(g, "      received: nothing\n");
        return;
    }
    for (size_t i = 0; i < x->nresp; i++) {
        const struct st_http_resp *r = &x->resp[i];
        g_log(g, "      received%s:\n        HTTP/1.%d %d %.*s\n", x->nresp > 1 ? " (one of several)" : "",
              r->minor_version, r->status, ST_STR_FMT(r->reason));
        for (size_t h = 0; h < r->nheaders && h < 30; h++)
            g_log(g, "        %.*s: %s\n", ST_STR_FMT(r->headers[h].name),
                  g_quote(r->headers[h].value.ptr, r->headers[h].value.len, 200));
        g_log(g, "        (body, %zu bytes) %s\n", r->body.len, g_quote(r->body.data, r->body.len, 300));
    }
}

static void end_check(struct st_grade *g)
{
    for (size_t i = 0; i < g->nxs; i++) {
        st_http_exchange_release(g->xs[i]);
        free(g->xs[i]);
    }
    g->nxs = 0;
    g->shown = NULL;
}

static void run_check(struct st_grade *g, const struct st_grade_check *c, struct result *res)
{
    g->failed = false;
    g->reason[0] = '\0';
    g->deadline_ms = st_time_mono_ms() + g->timeout_ms;
    int64_t t0 = st_time_mono_ns();
    bool ok = c->run(g);
    res->duration_ms = (double)(st_time_mono_ns() - t0) / 1e6;
    if (!ok && !g->failed)
        g_fail(g, "failed"); /* NEVER: checks fail through g_fail */
    res->name = c->name;
    res->passed = ok;
    snprintf(res->reason, sizeof(res->reason), "%s", ok ? "" : g->reason);
    g_log(g, "%-4s %s\n", ok ? "ok" : "FAIL", c->name);
    if (!ok) {
        g_log(g, "      why: %s\n", g->reason);
        if (g->shown)
            report_exchange(g, g->shown);
    }
    end_check(g);
}

static int write_json(const char *path, const struct st_grader *gr, const struct st_grade *g, uint64_t seed,
                      const struct result *rs, size_t n, int passed, const char *error, struct st_error *err)
{
    json_t *o = json_object();
    char name[16];
    snprintf(name, sizeof(name), "Q%d", gr->question);
    json_object_set_new(o, "grader", json_string(name));
    json_object_set_new(o, "question", json_integer(gr->question));
    json_object_set_new(o, "seed", json_integer((json_int_t)seed));
    json_object_set_new(o, "target", json_string(g->target ? g->target : ""));
    json_object_set_new(o, "passed", json_integer(passed));
    json_object_set_new(o, "total", json_integer((json_int_t)n));
    json_object_set_new(o, "error", error ? json_string(error) : json_null());
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "name", json_string(rs[i].name));
        json_object_set_new(c, "round", json_integer(rs[i].round));
        json_object_set_new(c, "passed", json_boolean(rs[i].passed));
        json_object_set_new(c, "reason", rs[i].passed ? json_null() : json_string(rs[i].reason));
        json_object_set_new(c, "duration_ms", json_real(rs[i].duration_ms));
        json_array_append_new(a, c);
    }
    json_object_set_new(o, "checks", a);
    int rc = json_dump_file(o, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (rc)
        return st_error_set(err, -EIO, "cannot write %s", path);
    return 0;
}

/* ---- finding graders ---- */

static const struct st_grader *find_grader(const char *name)
{
    const char *n = name;
    if (*n == 'Q' || *n == 'q')
        n++;
    for (size_t i = 0; i < NGRADERS; i++) {
        char id[16];
        snprintf(id, sizeof(id), "%d", graders[i]->question);
        if (strcmp(n, id) == 0 || strcasecmp(name, graders[i]->name) == 0)
            return graders[i];
    }
    return NULL;
}

static int count_checks(const struct st_grader *gr)
{
    int n = 0;
    while (gr->checks[n].name)
        n++;
    return n;
}

int st_grade_find(const char *name, struct st_grade_info *out)
{
    const struct st_grader *gr = name ? find_grader(name) : NULL;
    if (!gr)
        return ST_ENOTFOUND;
    if (out)
        *out = (struct st_grade_info){ .name = gr->name,
                                       .question = gr->question,
                                       .checks = count_checks(gr),
                                       .needs_cmd = (gr->needs & ST_GRADE_NEEDS_CMD) != 0,
                                       .needs_dir = (gr->needs & ST_GRADE_NEEDS_DIR) != 0,
                                       .needs_sql = (gr->needs & ST_GRADE_NEEDS_SQL) != 0 };
    return 0;
}

static void list_graders(void)
{
    for (size_t i = 0; i < NGRADERS; i++) {
        const struct st_grader *gr = graders[i];
        const struct st_cur_question *q = st_cur_question(gr->question);
        printf("Q%-3d %-4s %2d checks%-12s %s\n", gr->question, gr->name, count_checks(gr),
               gr->needs & ST_GRADE_NEEDS_SQL   ? "  --sql"
               : gr->needs & ST_GRADE_NEEDS_DIR ? "  --cmd {dir}"
               : gr->needs & ST_GRADE_NEEDS_CMD ? "  --cmd"
                                                : "",
               q ? q->text : "");
    }
}

uint64_t st_grade_random_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), 0) != (ssize_t)sizeof(s))
        s = (uint64_t)st_time_wall_ms() ^ ((uint64_t)getpid() << 32);
    return s % 1000000000000ull; /* short enough to type back in */
}

/* ---- a run ---- */

/* Start the program under o->cmd; fills g->target (in target_buf). 0, or a status with err
 * set (and, when it started but never listened, the report in the log). */
static int start_program(const struct st_grade_run_opts *o, const struct st_grader *gr, struct st_grade *g,
                         struct proc *p, char *target_buf, size_t cap, char **tmp_out, char **dir_out,
                         struct st_error *err)
{
    if (gr->needs & ST_GRADE_RUNS_CMD)
        return st__grade_runs_start(o, g, target_buf, cap, tmp_out, dir_out, err);
    int port = 0; /* the analyzer cannot see that free_port sets it whenever it returns 0 */
    int rc = free_port(&port);
    if (rc)
        return st_error_set(err, rc, "cannot find a free port: %s", st_strerror(rc));
    char tmpl[] = "/tmp/strata-grade-XXXXXX";
    if (!mkdtemp(tmpl))
        return st_error_set(err, -errno, "cannot create a temp directory: %s", strerror(errno));
    *tmp_out = st_xstrdup(tmpl);
    size_t dl = strlen(tmpl) + 8;
    *dir_out = st_xmalloc(dl);
    snprintf(*dir_out, dl, "%s/root", tmpl);
    if (mkdir(*dir_out, 0755) < 0)
        return st_error_set(err, -errno, "cannot create %s: %s", *dir_out, strerror(errno));
    g->tmp = *tmp_out;
    g->dir = *dir_out;
    if (gr->prepare && (rc = gr->prepare(g)) != 0)
        return st_error_set(err, rc, "cannot prepare %s: %s", *dir_out, st_strerror(rc));
    char *cmd = substitute(o->cmd, port, *dir_out, g);
    snprintf(target_buf, cap, "127.0.0.1:%d", port);
    g->target = target_buf;
    g_log(g, "starting: %s\n", cmd);
    rc = proc_start(p, cmd);
    free(cmd);
    if (rc)
        return st_error_set(err, rc, "cannot start the program: %s", st_strerror(rc));
    g->has_proc = true;
    g->output = &p->out;
    int status = 0;
    rc = wait_ready(p, port, 10000, &status);
    if (rc) {
        struct st_buf out;
        st_buf_init(&out, ST_BUF_UNLIMITED);
        g_output(g, 0, &out);
        if (rc == -ECHILD)
            g_log(g, "FAIL start: the program exited (status %d) before listening on port %d\n",
                  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), port);
        else
            g_log(g, "FAIL start: nothing accepted connections on 127.0.0.1:%d within 10 s (did it use {port}?)\n",
                  port);
        g_log(g, "      its output: %s\n", g_quote(out.data, out.len, 500));
        st_buf_release(&out);
        return st_error_set(err, rc, "the program did not start listening on port %d", port);
    }
    return 0;
}

/* The options a run refuses before doing anything (the CLI's usage errors). */
static int check_opts(const struct st_grade_run_opts *o, const struct st_grader **out, struct st_error *err)
{
    const struct st_grader *gr = o->grader ? find_grader(o->grader) : NULL;
    if (!gr)
        return st_error_set(err, ST_ENOTFOUND, "no grader for '%s' (see 'strata grade --list')",
                            o->grader ? o->grader : "");
    int rc = 0;
    if (gr->needs & ST_GRADE_NEEDS_SQL) { /* a file, no program (sql_blog.c) */
        *out = gr;
        return st__grade_sql_check(o, gr, err);
    }
    if (gr->needs & ST_GRADE_RUNS_CMD) { /* no server: {db} instead of {port} (sql_q.c) */
        *out = gr;
        return st__grade_runs_check(o, gr, err);
    }
    if ((gr->needs & ST_GRADE_NEEDS_DB) && (rc = st__grade_db_check(o, gr, err)) != 0)
        return rc;
    if (!o->cmd && (gr->needs & ST_GRADE_NEEDS_CMD))
        return st_error_set(err, ST_EUSAGE, "Q%d needs --cmd \"PROGRAM ARGS\" (it %s)", gr->question,
                            gr->needs & ST_GRADE_NEEDS_DIR
                                ? "serves a directory the grader creates: use {dir} and {port}"
                            : gr->needs & ST_GRADE_NEEDS_DB ? "gets a database and a pool size: use {port} {db} {pool}"
                                                            : "reads the program's output: use {port}");
    if ((gr->needs & ST_GRADE_NEEDS_DIR) && (!o->cmd || !strstr(o->cmd, "{dir}")))
        return st_error_set(err, ST_EUSAGE, "Q%d needs {dir} in --cmd: the directory to serve", gr->question);
    if (o->cmd && !strstr(o->cmd, "{port}"))
        return st_error_set(err, ST_EUSAGE, "--cmd needs {port}: the port the program must listen on");
    if (!o->cmd && !o->target)
        return st_error_set(err, ST_EUSAGE, "grade needs --target URL or --cmd COMMAND");
    if (o->cmd && o->target)
        return st_error_set(err, ST_EUSAGE, "give --target or --cmd, not both");
    if (o->target) {
        /* parses and resolves the address: may block on DNS (runs are never on a loop) */
        struct st_http_client *c;
        struct st_error cerr = { 0 };
        if (st_http_client_new(NULL, o->target, NULL, &c, &cerr))
            return st_error_set(err, ST_EUSAGE, "--target: %s", cerr.msg);
        st_http_client_free(c);
    }
    *out = gr;
    return 0;
}

/* The checks of every round; fills res. */
static void run_rounds(const struct st_grade_run_opts *o, const struct st_grader *gr, struct st_grade *g,
                       struct result *rs, size_t *nres, struct st_grade_result *res)
{
    size_t nchecks = (size_t)count_checks(gr);
    int repeat = o->repeat > 0 ? o->repeat : 1;
    /* a RUNS_CMD grader has no server: its placeholder target would only mislead */
    if (g->sql)
        g_log(g, "sql: %s on %s\n", g->sql, o->db ? o->db : "temporary SQLite files");
    else if (g->cmd)
        g_log(g, "command: %s (run once per step, no server)\n", g->cmd);
    else
        g_log(g, "target: http://%s\n", g->target);
    g_log(g, "seed: %llu (repeat with --seed %llu)\n", (unsigned long long)o->seed, (unsigned long long)o->seed);
    for (int round = 0; round < repeat && !res->cancelled; round++) {
        if (repeat > 1)
            g_log(g, "-- round %d of %d (seed %llu)\n", round + 1, repeat,
                  (unsigned long long)o->seed + (unsigned long long)round);
        for (size_t i = 0; i < nchecks; i++) {
            if (o->cancel && atomic_load(o->cancel)) {
                res->cancelled = true;
                g_log(g, "cancelled: %zu of %zu checks not run\n", nchecks * (size_t)repeat - *nres,
                      nchecks * (size_t)repeat);
                break;
            }
            /* Each check draws from its own stream: changing one check does not reshuffle the others. */
            g->seed = o->seed + (uint64_t)round;
            g->rng = g->seed * 0x100000001b3ull + i;
            struct result *r = &rs[(*nres)++];
            r->round = round + 1;
            run_check(g, &gr->checks[i], r);
            res->passed += r->passed;
        }
    }
    res->total = (int)*nres;
    g_log(g, "Q%d: %d/%zu checks passed\n", gr->question, res->passed, *nres);
}

int st_grade_run(const struct st_grade_run_opts *o, st_grade_line_fn line, void *arg, struct st_grade_result *res,
                 struct st_error *err)
{
    *res = (struct st_grade_result){ .seed = o->seed };
    const struct st_grader *gr = NULL;
    int rc = check_opts(o, &gr, err);
    if (rc || !gr)
        return rc ? rc : ST_EINTERNAL;
    res->question = gr->question;

    struct st_grade g = { .line = line, .line_arg = arg, .verbose = o->verbose, .db_admin = o->db };
    st_buf_init(&g.partial, ST_BUF_UNLIMITED);
    g.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 5000;
    struct proc p = { .out.fd = -1 };
    char target_buf[300];
    char *tmp = NULL, *dir = NULL;

    const struct st_cur_question *q = st_cur_question(gr->question);
    g_log(&g, "Q%d: %s\n", gr->question, q ? q->text : "");
    g.seed = o->seed;
    g.rng = o->seed ^ 0x5eed5eed5eedull; /* prepare() draws from here (Q20's files) */
    if (gr->needs & ST_GRADE_NEEDS_SQL) {
        rc = st__grade_sql_start(o, &g, target_buf, sizeof(target_buf), &tmp, &dir, err);
        if (rc)
            res->error = "the SQL file could not be read";
    } else if (o->cmd) {
        rc = start_program(o, gr, &g, &p, target_buf, sizeof(target_buf), &tmp, &dir, err);
        if (rc)
            res->error = "the program could not be started";
    } else {
        /* host:port for Host headers and raw requests: drop "http://" and a trailing '/' */
        const char *t = o->target;
        if (strncmp(t, "http://", 7) == 0)
            t += 7;
        snprintf(target_buf, sizeof(target_buf), "%s", t);
        size_t tl = strlen(target_buf);
        while (tl > 0 && target_buf[tl - 1] == '/')
            target_buf[--tl] = '\0';
        g.target = target_buf;
    }
    size_t total = (size_t)count_checks(gr) * (size_t)(o->repeat > 0 ? o->repeat : 1);
    struct result *rs = st_xcalloc(total ? total : 1, sizeof(*rs));
    size_t nres = 0;
    if (!rc) {
        struct st_error cerr = { 0 };
        rc = st_http_client_new(NULL, g.target, &(struct st_http_client_opts){ .max_body = 16u << 20 }, &g.client,
                                &cerr);
        if (rc) { /* checked above; only a name that stopped resolving gets here */
            st_error_set(err, ST_EUSAGE, "--target: %s", cerr.msg);
            res->error = "bad target";
            rc = ST_EUSAGE;
        }
    }
    if (!rc)
        run_rounds(o, gr, &g, rs, &nres, res);
    if (o->json) {
        struct st_error jerr = { 0 };
        if (write_json(o->json, gr, &g, o->seed, rs, nres, res->passed, res->error, &jerr) && !rc)
            rc = st_error_set(err, jerr.code, "%s", jerr.msg);
    }
    if (g.partial.len) /* a last line without its newline */
        g_log(&g, "\n");
    free(rs);
    st_http_client_free(g.client);
    if (g.has_proc || p.pid > 0)
        proc_stop(&p);
    if (g.state_free)
        g.state_free(g.state);
    if (tmp) {
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(tmp);
    }
    free(dir);
    st_buf_release(&g.partial);
    return rc;
}

/* ---- the command ---- */

static void print_line(void *arg, const char *text, size_t len)
{
    (void)arg;
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout); /* a slow check shows progress; a pipe sees lines as they come */
}

int st_cli_grade(int argc, char **argv)
{
    struct {
        const char *target, *cmd, *json, *db, *sql;
        int64_t seed, repeat, timeout;
        bool list, verbose;
    } o = { .seed = -1, .repeat = 1, .timeout = 5000 };
    const struct st_flag flags[] = {
        { "list", 0, ST_FLAG_BOOL, &o.list, NULL, "list the graders" },
        { "target", 't', ST_FLAG_STR, &o.target, "URL", "the server to grade: http://HOST:PORT or HOST:PORT" },
        { "cmd", 0, ST_FLAG_STR, &o.cmd, "COMMAND",
          "start COMMAND (via /bin/sh) and grade it; {port} and {dir} are replaced by a free port and a temp "
          "directory" },
        { "seed", 's', ST_FLAG_INT, &o.seed, "N", "seed for the random inputs (default: random, printed)", .min = 0,
          .max = INT64_MAX },
        { "repeat", 'r', ST_FLAG_INT, &o.repeat, "N", "run every check N times, seeds N, N+1, ...", .min = 1,
          .max = 1000 },
        { "timeout", 0, ST_FLAG_INT, &o.timeout, "MS", "time budget of each check in milliseconds", .min = 1,
          .max = 600000 },
        { "json", 0, ST_FLAG_STR, &o.json, "FILE", "also write the results as JSON to FILE" },
        { "db", 0, ST_FLAG_STR, &o.db, "URL",
          "PostgreSQL for graders that need a database (Q111): the run creates its own database there, {db}; "
          "for --sql graders a temporary schema per check (default: temporary SQLite files)" },
        { "sql", 0, ST_FLAG_STR, &o.sql, "FILE", "the SQL file to grade (Q31-Q39, Q113, Q115, Q118)" },
        { "verbose", 'v', ST_FLAG_BOOL, &o.verbose, NULL, "show every request and response" },
        { 0 },
    };
    const struct st_flags_spec spec = {
        "strata grade QUESTION (--target URL | --cmd COMMAND | --sql FILE) [FLAGS]\n       strata grade --list",
        "Grade your implementation of a practical question, black-box over HTTP. Prints ok/FAIL per check "
        "with what was sent and received on failure; exits 0 when every check passed, 1 when some failed, 2 on "
        "a usage error.",
        flags,
        "Examples:\n  strata grade Q11 --target http://127.0.0.1:8080\n"
        "  strata grade Q16 --cmd \"python3 app.py --port {port}\" --seed 42\n"
        "  strata grade Q20 --cmd \"./server --listen 127.0.0.1:{port} --directory {dir}\" --json out.json\n"
        "  strata grade Q34 --sql answer.sql [--db postgres://USER@HOST:PORT/DB]\n",
    };
    int nargs = 0;
    int rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (o.list) {
        list_graders();
        return ST_EXIT_OK;
    }
    if (nargs != 1) {
        fprintf(stderr, "strata: grade needs one question, e.g. Q11 (see 'strata grade --list')\n");
        return ST_EXIT_USAGE;
    }
    struct st_grade_run_opts ro = {
        .grader = argv[0],
        .target = o.target,
        .cmd = o.cmd,
        .seed = o.seed >= 0 ? (uint64_t)o.seed : st_grade_random_seed(),
        .repeat = (int)o.repeat,
        .timeout_ms = (int)o.timeout,
        .verbose = o.verbose,
        .json = o.json,
        .db = o.db,
        .sql = o.sql,
    };
    struct st_grade_result res;
    struct st_error err = { 0 };
    rc = st_grade_run(&ro, print_line, NULL, &res, &err);
    if (rc == ST_ENOTFOUND || rc == ST_EUSAGE) {
        fprintf(stderr, "strata: %s\n", err.msg);
        return ST_EXIT_USAGE;
    }
    if (rc) {
        fprintf(stderr, "strata: %s\n", err.msg);
        return ST_EXIT_FAIL;
    }
    return res.passed == res.total ? ST_EXIT_OK : ST_EXIT_FAIL;
}
