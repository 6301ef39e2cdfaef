/*
 * test_static.c - the pure pieces of static file serving: media types, Range parsing
 * (RFC 9110 14.1.2, with overflow, spaces and garbage), entity-tag lists (8.8.3.2), the
 * HTTP dates conditionals use, and opening beneath a root (openat2 and the real-path
 * fallback) against a scratch tree of files, symlinks and a FIFO. Then st_http_static_serve
 * in-process behind a real server on loopback: both ways of naming the path (prefix and
 * router capture), redirects, and directory listings (escaping, hidden files).
 * tests/http/static.sh covers the rest through the binary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/str.h"
#include "base/time.h"
#include "http/static.h"

static const char *mime(const char *path)
{
    return st_http_mime_type(st_str_c(path));
}

static void mime_types(void **state)
{
    (void)state;
    assert_string_equal(mime("index.html"), "text/html; charset=utf-8");
    assert_string_equal(mime("/a/b/INDEX.HTM"), "text/html; charset=utf-8");
    assert_string_equal(mime("style.css"), "text/css; charset=utf-8");
    assert_string_equal(mime("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(mime("mod.mjs"), "text/javascript; charset=utf-8");
    assert_string_equal(mime("data.json"), "application/json");
    assert_string_equal(mime("notes.txt"), "text/plain; charset=utf-8");
    assert_string_equal(mime("README.md"), "text/markdown; charset=utf-8");
    assert_string_equal(mime("logo.svg"), "image/svg+xml");
    assert_string_equal(mime("a.png"), "image/png");
    assert_string_equal(mime("a.jpg"), "image/jpeg");
    assert_string_equal(mime("a.JPEG"), "image/jpeg");
    assert_string_equal(mime("a.gif"), "image/gif");
    assert_string_equal(mime("a.webp"), "image/webp");
    assert_string_equal(mime("favicon.ico"), "image/x-icon");
    assert_string_equal(mime("m.wasm"), "application/wasm");
    assert_string_equal(mime("doc.pdf"), "application/pdf");
    assert_string_equal(mime("feed.xml"), "application/xml");
    assert_string_equal(mime("f.woff"), "font/woff");
    assert_string_equal(mime("f.woff2"), "font/woff2");
    assert_string_equal(mime("v.mp4"), "video/mp4");
    assert_string_equal(mime("v.webm"), "video/webm");
    assert_string_equal(mime("a.zip"), "application/zip");
    assert_string_equal(mime("a.tar.gz"), "application/gzip");
    assert_string_equal(mime("blob.bin"), "application/octet-stream");
    /* Unknown, none, dot files, a dot in a directory name, odd lengths. */
    assert_string_equal(mime("a.unknownext"), "application/octet-stream");
    assert_string_equal(mime("Makefile"), "application/octet-stream");
    assert_string_equal(mime(".html"), "application/octet-stream");
    assert_string_equal(mime("dir/.profile"), "application/octet-stream");
    assert_string_equal(mime("v1.2/LICENSE"), "application/octet-stream");
    assert_string_equal(mime("trailing."), "application/octet-stream");
    assert_string_equal(mime("x.averyveryverylongextension"), "application/octet-stream");
    assert_string_equal(mime(""), "application/octet-stream");
    assert_string_equal(st_http_mime_type(st_str(NULL, 0)), "application/octet-stream");
    /* Only len bytes count. */
    assert_string_equal(st_http_mime_type(st_str("a.css.png", 5)), "text/css; charset=utf-8");
}

/* Expect 0 and [first, last]. */
static void range_ok(const char *h, uint64_t size, uint64_t first, uint64_t last)
{
    uint64_t f = 777, l = 777;
    int rc = st_http_parse_range(st_str_c(h), size, &f, &l);
    if (rc != 0)
        fail_msg("\"%s\" size %llu: rc %d", h, (unsigned long long)size, rc);
    if (f != first || l != last)
        fail_msg("\"%s\" size %llu: %llu-%llu, wanted %llu-%llu", h, (unsigned long long)size, (unsigned long long)f,
                 (unsigned long long)l, (unsigned long long)first, (unsigned long long)last);
}

/* Expect rc, with first/last untouched. */
static void range_rc(const char *h, uint64_t size, int want)
{
    uint64_t f = 777, l = 777;
    int rc = st_http_parse_range(st_str_c(h), size, &f, &l);
    if (rc != want)
        fail_msg("\"%s\" size %llu: rc %d, wanted %d", h, (unsigned long long)size, rc, want);
    assert_int_equal(f, 777);
    assert_int_equal(l, 777);
}

static void range_valid(void **state)
{
    (void)state;
    range_ok("bytes=0-499", 10000, 0, 499);
    range_ok("bytes=500-999", 10000, 500, 999);
    range_ok("bytes=9500-", 10000, 9500, 9999);
    range_ok("bytes=-500", 10000, 9500, 9999);
    range_ok("bytes=0-0", 10000, 0, 0);
    range_ok("bytes=-1", 10000, 9999, 9999);
    range_ok("bytes=0-", 1, 0, 0);
    range_ok("bytes=9999-9999", 10000, 9999, 9999);
    /* The last position is clamped; a suffix longer than the file is the whole file. */
    range_ok("bytes=100-20000", 10000, 100, 9999);
    range_ok("bytes=-20000", 10000, 0, 9999);
    range_ok("bytes=-10000", 10000, 0, 9999);
    /* Unit case, leading zeros, OWS around the element, empty list elements. */
    range_ok("BYTES=1-2", 10, 1, 2);
    range_ok("Bytes=001-002", 10, 1, 2);
    range_ok("bytes= 1-2", 10, 1, 2);
    range_ok("bytes=1-2 \t", 10, 1, 2);
    range_ok("bytes=,1-2,", 10, 1, 2);
    range_ok("bytes=, ,1-2 , ", 10, 1, 2);
    /* Numbers of any length: huge last positions and suffixes mean "to the end". */
    range_ok("bytes=5-18446744073709551615", 10, 5, 9);
    range_ok("bytes=5-18446744073709551616", 10, 5, 9);
    range_ok("bytes=5-99999999999999999999999999999999999999", 10, 5, 9);
    range_ok("bytes=-99999999999999999999999999999999999999", 10, 0, 9);
    range_ok("bytes=0-18446744073709551614", UINT64_MAX, 0, UINT64_MAX - 1);
    range_ok("bytes=-1", UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 1);
    range_ok("bytes=18446744073709551613-", UINT64_MAX, UINT64_MAX - 2, UINT64_MAX - 1);
}

static void range_unsatisfiable(void **state)
{
    (void)state;
    range_rc("bytes=10000-", 10000, ST_ELIMIT);
    range_rc("bytes=10000-10001", 10000, ST_ELIMIT);
    range_rc("bytes=20000-30000", 10000, ST_ELIMIT);
    range_rc("bytes=-0", 10000, ST_ELIMIT);
    range_rc("bytes=-000", 10000, ST_ELIMIT);
    range_rc("bytes=0-", 0, ST_ELIMIT); /* an empty representation has no satisfiable range */
    range_rc("bytes=-5", 0, ST_ELIMIT);
    range_rc("bytes=18446744073709551616-", 10, ST_ELIMIT);
    range_rc("bytes=99999999999999999999999999-", UINT64_MAX, ST_ELIMIT);
    range_rc("bytes=18446744073709551615-", UINT64_MAX, ST_ELIMIT);
}

static void range_ignored(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "bytes",
        "bytes=",
        "bytes=,",
        "bytes= ",
        "bytes=-",
        "bytes=--5",
        "bytes=5--",
        "bytes=5",
        "bytes=a-b",
        "bytes=1-b",
        "bytes=0x10-20",
        "bytes=+1-2",
        "bytes=-+1",
        "bytes=1 - 2",
        "bytes=1- 2",
        "bytes=1 -2",
        "bytes =1-2",
        "bytes= =1-2",
        " bytes=1-2",
        "bytes:1-2",
        "bytes=1-2-3",
        "bytes=1-2;3",
        "bytes=5-3", /* first > last: invalid, the field is ignored */
        "bytes=18446744073709551617-18446744073709551616",
        "bytes=99999999999999999999-9999999999999999999",
        "items=0-5",
        "bits=0-5",
        "bytesx=0-5",
        "bytes=0-5,10-15", /* several ranges: served whole */
        "bytes=0-5, -3",
        "bytes=0-1,0-1",
        "bytes=0-5,garbage",
        "bytes=0-5\x01",
        "bytes=\xff-5",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        range_rc(bad[i], 10000, ST_ENOTFOUND);
    /* Embedded NUL: only len bytes count, and a NUL is not a digit. */
    uint64_t f, l;
    assert_int_equal(st_http_parse_range(st_str("bytes=1\0-2", 10), 100, &f, &l), ST_ENOTFOUND);
    assert_int_equal(st_http_parse_range(st_str("bytes=1-2junk", 9), 100, &f, &l), 0);
    assert_int_equal(f, 1);
    assert_int_equal(l, 2);
    assert_int_equal(st_http_parse_range(st_str(NULL, 0), 100, &f, &l), ST_ENOTFOUND);
}

static bool inm(const char *list, const char *etag)
{
    return st_http_etag_match(st_str_c(list), st_str_c(etag));
}

static bool im(const char *list, const char *etag)
{
    return st_http_etag_match_strong(st_str_c(list), st_str_c(etag));
}

static void etag_weak_matching(void **state)
{
    (void)state;
    assert_true(inm("\"abc\"", "\"abc\""));
    assert_true(inm("W/\"abc\"", "\"abc\"")); /* weak comparison ignores W/ on either side */
    assert_true(inm("\"abc\"", "W/\"abc\""));
    assert_true(inm("W/\"abc\"", "W/\"abc\""));
    assert_true(inm("*", "\"abc\""));
    assert_true(inm(" * ", "\"abc\""));
    assert_true(inm("\"x\", \"abc\"", "\"abc\""));
    assert_true(inm("\"x\",\"y\",W/\"abc\"", "\"abc\""));
    assert_true(inm(" ,\t\"x\" , , \"abc\" ,", "\"abc\""));
    assert_true(inm("\"\"", "\"\""));
    assert_true(inm("\"a,b\"", "\"a,b\"")); /* a comma inside the quotes is data */
    assert_false(inm("\"a\", \"b\"", "\"a,b\""));
    assert_false(inm("\"abc\"", "\"abd\""));
    assert_false(inm("\"abc\"", "\"ABC\"")); /* opaque tags are case-sensitive */
    assert_false(inm("\"ab\"", "\"abc\""));
    assert_false(inm("\"abcd\"", "\"abc\""));
    assert_false(inm("", "\"abc\""));
    assert_false(inm(" , ", "\"abc\""));
    /* Malformed: unquoted, unterminated, junk after a tag, lower-case w/, spaces inside,
     * control characters. A bad element ends the scan. */
    assert_false(inm("abc", "\"abc\""));
    assert_false(inm("\"abc", "\"abc\""));
    assert_false(inm("\"abc\"x", "\"abc\""));
    assert_false(inm("w/\"abc\"", "\"abc\""));
    assert_false(inm("W/ \"abc\"", "\"abc\""));
    assert_false(inm("\"a c\"", "\"a c\""));
    assert_false(inm("\"a\x01\"", "\"a\x01\""));
    assert_false(inm("junk, \"abc\"", "\"abc\""));
    assert_true(inm("\"abc\", junk", "\"abc\"")); /* what came before still counts */
    assert_false(inm("*x", "\"abc\""));
    assert_false(inm("\"abc\"", "abc")); /* our own tag malformed: never a match */
    assert_false(inm("*", ""));
    /* obs-text is allowed in tags. */
    assert_true(inm("\"\xc3\xa9t\xc3\xa9\"", "\"\xc3\xa9t\xc3\xa9\""));
    assert_false(st_http_etag_match(st_str(NULL, 0), st_str_c("\"a\"")));
    assert_true(st_http_etag_match(st_str("\"a\"\"b\"", 3), st_str_c("\"a\"")));
}

static void etag_strong_matching(void **state)
{
    (void)state;
    assert_true(im("\"abc\"", "\"abc\""));
    assert_true(im("\"x\", \"abc\"", "\"abc\""));
    assert_true(im("*", "\"abc\""));
    assert_false(im("W/\"abc\"", "\"abc\""));
    assert_false(im("\"abc\"", "W/\"abc\""));
    assert_false(im("W/\"abc\"", "W/\"abc\""));
    assert_true(im("W/\"abc\", \"abc\"", "\"abc\""));
}

/* The dates that If-Modified-Since and If-Range carry (the parser itself is tested in
 * tests/base/test_time.c). */
static void http_dates(void **state)
{
    (void)state;
    int64_t ms = 0;
    const char *d = "Sun, 06 Nov 1994 08:49:37 GMT";
    assert_int_equal(st_time_parse_http(d, strlen(d), &ms), 0);
    assert_int_equal(ms, 784111777000);
    char buf[ST_TIME_HTTP_LEN + 1];
    st_time_format_http(ms + 999, buf); /* Last-Modified truncates to the second */
    assert_string_equal(buf, d);
    d = "Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:37 GMT";
    assert_int_equal(st_time_parse_http(d, strlen(d), &ms), ST_EPARSE);
    d = "06 Nov 1994";
    assert_int_equal(st_time_parse_http(d, strlen(d), &ms), ST_EPARSE);
}

/* ---- opening beneath a root ---- */

struct tree {
    char dir[64]; /* the scratch directory; the root is dir/root */
    char root[80];
    struct st_http_static st;
    /* the server of the serve_* tests */
    struct st_http_config cfg;
    struct st_io_loop *loop;
    struct st_http_server *srv;
    pthread_t thread;
    int listen_fd, port;
};

static void put_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* cache_ms for the next tree_setup (the cache is made when the root is opened) */
static int64_t setup_cache_ms;

static int tree_setup(void **state)
{
    struct tree *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    snprintf(t->dir, sizeof(t->dir), "/tmp/st-static-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->root, sizeof(t->root), "%s/root", t->dir);
    char p[256];
    assert_int_equal(mkdir(t->root, 0755), 0);
    snprintf(p, sizeof(p), "%s/secret.txt", t->dir); /* outside the root */
    put_file(p, "secret\n");
    snprintf(p, sizeof(p), "%s/a.txt", t->root);
    put_file(p, "hello\n");
    snprintf(p, sizeof(p), "%s/sub", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/sub/b.txt", t->root);
    put_file(p, "bee\n");
    snprintf(p, sizeof(p), "%s/in-link", t->root); /* relative, stays inside */
    assert_int_equal(symlink("sub/b.txt", p), 0);
    snprintf(p, sizeof(p), "%s/out-rel", t->root);
    assert_int_equal(symlink("../secret.txt", p), 0);
    snprintf(p, sizeof(p), "%s/out-abs", t->root);
    assert_int_equal(symlink("/etc/passwd", p), 0);
    snprintf(p, sizeof(p), "%s/out-dir", t->root);
    assert_int_equal(symlink(t->dir, p), 0);
    snprintf(p, sizeof(p), "%s/magic", t->root);
    assert_int_equal(symlink("/proc/self/root/etc/passwd", p), 0);
    snprintf(p, sizeof(p), "%s/loop", t->root);
    assert_int_equal(symlink("loop", p), 0);
    snprintf(p, sizeof(p), "%s/fifo", t->root);
    assert_int_equal(mkfifo(p, 0644), 0);
    snprintf(p, sizeof(p), "%s/<b>&\"x'.txt", t->root);
    put_file(p, "odd name\n");
    snprintf(p, sizeof(p), "%s/.hidden", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/x&'y", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/withindex", t->root);
    assert_int_equal(mkdir(p, 0755), 0);
    snprintf(p, sizeof(p), "%s/withindex/index.html", t->root);
    put_file(p, "<p>index</p>\n");
    struct st_error err;
    t->st.cache_ms = setup_cache_ms;
    assert_int_equal(st_http_static_open(&t->st, t->root, &err), 0);
    *state = t;
    return 0;
}

static int tree_teardown(void **state)
{
    struct tree *t = *state;
    st_http_static_close(&t->st);
    st_http_static_close(&t->st); /* twice is harmless */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
    free(t);
    return 0;
}

/* Open rel and read it whole into buf (NUL-terminated); the fd or -errno. */
static int open_read(struct tree *t, const char *rel, bool fallback, char *buf, size_t cap)
{
    int fd = st__http_static_open_beneath(&t->st, rel, fallback);
    buf[0] = '\0';
    if (fd < 0)
        return fd;
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    if (S_ISREG(sb.st_mode)) {
        ssize_t n = read(fd, buf, cap - 1);
        assert_true(n >= 0);
        buf[n] = '\0';
    }
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    return 0;
}

static void check_beneath(struct tree *t, bool fallback)
{
    char buf[256];
    assert_int_equal(open_read(t, "a.txt", fallback, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "hello\n");
    assert_int_equal(open_read(t, "sub/b.txt", fallback, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "bee\n");
    assert_int_equal(open_read(t, "in-link", fallback, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "bee\n");
    assert_int_equal(open_read(t, "", fallback, buf, sizeof(buf)), 0); /* the root itself */
    assert_int_equal(open_read(t, "sub", fallback, buf, sizeof(buf)), 0);
    assert_int_equal(open_read(t, "missing", fallback, buf, sizeof(buf)), -ENOENT);
    assert_int_equal(open_read(t, "a.txt/x", fallback, buf, sizeof(buf)), -ENOTDIR);
    /* Everything that leaves the root fails without opening it. */
    static const char *const escapes[] = {
        "out-rel", "out-abs",       "out-dir/secret.txt", "out-dir",
        "magic",   "../secret.txt", "/etc/passwd",        "sub/../../secret.txt",
    };
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
        int rc = open_read(t, escapes[i], fallback, buf, sizeof(buf));
        if (rc >= 0)
            fail_msg("%s opened %s: \"%s\"", fallback ? "fallback" : "openat2", escapes[i], buf);
        assert_true(rc == -EXDEV || rc == -ELOOP || rc == -ENOENT);
        assert_string_equal(buf, "");
    }
    assert_true(open_read(t, "loop", fallback, buf, sizeof(buf)) == -ELOOP);
    /* A FIFO opens at once (O_NONBLOCK) instead of waiting for a writer; the server then
     * refuses it because it is not a regular file. */
    int fd = st__http_static_open_beneath(&t->st, "fifo", fallback);
    assert_true(fd >= 0);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    close(fd);
}

static void open_beneath_openat2(void **state)
{
    check_beneath(*state, false);
}

static void open_beneath_fallback(void **state)
{
    check_beneath(*state, true);
}

static void open_root_errors(void **state)
{
    (void)state;
    struct st_http_static st = { 0 };
    struct st_error err;
    assert_int_equal(st_http_static_open(&st, "/nonexistent/st-static", &err), -ENOENT);
    assert_non_null(strstr(err.msg, "/nonexistent/st-static"));
    assert_int_equal(st.root_fd, -1);
    assert_int_equal(st_http_static_open(&st, "/etc/passwd", &err), -ENOTDIR);
    st_http_static_close(&st);
}

/* ---- serving, in-process ---- */

/* "/rel/<rest>": serve <rest> as a router capture would give it; anything else: the
 * request path with st.prefix "/files/". */
static void handler(struct st_http_ex *x)
{
    struct tree *t = x->data;
    struct st_str p = x->req->path;
    if (st_str_starts_with(p, ST_STR_LIT("/rel/")))
        st_http_static_serve(x, &t->st, st_str_sub(p, 5, p.len));
    else
        st_http_static_serve(x, &t->st, p);
}

static void *server_thread(void *arg)
{
    struct tree *t = arg;
    st_io_loop_run(t->loop);
    return NULL;
}

static int server_setup(void **state)
{
    tree_setup(state);
    struct tree *t = *state;
    t->st.prefix = "/files/";
    t->st.list_dirs = true;
    t->st.cache_control = "max-age=60";
    assert_int_equal(st_io_loop_new(&t->loop), 0);
    assert_int_equal(st_io_listen("127.0.0.1:0", 128, 0, &t->listen_fd, NULL), 0);
    assert_int_equal(st_io_local_port(t->listen_fd, &t->port), 0);
    t->cfg.handler = handler;
    t->cfg.data = t;
    assert_int_equal(st_http_server_new(t->loop, t->listen_fd, &t->cfg, 0, &t->srv), 0);
    assert_int_equal(pthread_create(&t->thread, NULL, server_thread, t), 0);
    return 0;
}

static int server_setup_cached(void **state)
{
    setup_cache_ms = 300;
    int rc = server_setup(state);
    setup_cache_ms = 0;
    return rc;
}

static void stop_cb(void *arg)
{
    struct tree *t = arg;
    st_http_server_free(t->srv);
    st_io_loop_stop(t->loop);
}

static int server_teardown(void **state)
{
    struct tree *t = *state;
    st_io_post(t->loop, stop_cb, t);
    pthread_join(t->thread, NULL);
    st_io_loop_free(t->loop);
    close(t->listen_fd);
    return tree_teardown(state);
}

/* GET path with Connection: close; the whole response (malloc, NUL-terminated). */
static char *get(struct tree *t, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[512];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t r = read(fd, buf + len, cap - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        assert_true(len < cap);
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static void expect(struct tree *t, const char *path, const char *const *want, const char *const *unwanted)
{
    char *r = get(t, path);
    for (; want && *want; want++)
        if (!strstr(r, *want))
            fail_msg("GET %s: no \"%s\" in:\n%s", path, *want, r);
    for (; unwanted && *unwanted; unwanted++)
        if (strstr(r, *unwanted))
            fail_msg("GET %s: \"%s\" in:\n%s", path, *unwanted, r);
    free(r);
}

static void serve_paths(void **state)
{
    struct tree *t = *state;
    expect(t, "/files/a.txt", (const char *[]){ "HTTP/1.1 200", "\r\n\r\nhello\n", "Cache-Control: max-age=60", NULL },
           NULL);
    expect(t, "/rel/a.txt", (const char *[]){ "HTTP/1.1 200", "\r\n\r\nhello\n", NULL }, NULL);
    expect(t, "/rel/sub/b.txt", (const char *[]){ "HTTP/1.1 200", "\r\n\r\nbee\n", NULL }, NULL);
    expect(t, "/files", (const char *[]){ "HTTP/1.1 301", "\r\nLocation: /files/\r\n", NULL }, NULL);
    expect(t, "/files/sub", (const char *[]){ "HTTP/1.1 301", "\r\nLocation: /files/sub/\r\n", NULL }, NULL);
    expect(t, "/rel/sub?q=1", (const char *[]){ "HTTP/1.1 301", "\r\nLocation: /rel/sub/?q=1\r\n", NULL }, NULL);
    expect(t, "/filesx/a.txt", (const char *[]){ "HTTP/1.1 404", NULL }, (const char *[]){ "hello", NULL });
    expect(t, "/other/a.txt", (const char *[]){ "HTTP/1.1 404", NULL }, NULL);
    expect(t, "/files/withindex/", (const char *[]){ "HTTP/1.1 200", "\r\n\r\n<p>index</p>\n", NULL }, NULL);
    expect(t, "/rel/withindex/", (const char *[]){ "HTTP/1.1 200", "<p>index</p>", NULL }, NULL);
    static const char *const escapes[] = { "/files/out-rel", "/files/out-abs", "/files/out-dir/secret.txt",
                                           "/files/magic",   "/files/loop",    "/rel/../secret.txt",
                                           "/rel/out-dir/",  "/files/fifo",    "/rel/%2e%2e/secret.txt" };
    for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++)
        expect(t, escapes[i], (const char *[]){ "HTTP/1.1 404", NULL },
               (const char *[]){ "\r\n\r\nsecret", "root:", t->dir, NULL });
}

static void serve_listing(void **state)
{
    struct tree *t = *state;
    /* The root: sorted, directories with '/', names escaped in the text and percent-encoded
     * in the href, no dot files, no parent link. */
    char *r = get(t, "/files/");
    assert_non_null(strstr(r, "HTTP/1.1 200"));
    assert_non_null(strstr(r, "Content-Type: text/html; charset=utf-8"));
    assert_non_null(strstr(r, "<title>Index of /files/</title>"));
    assert_non_null(strstr(r, "<li><a href=\"./a.txt\">a.txt</a></li>"));
    assert_non_null(strstr(r, "<li><a href=\"./sub/\">sub/</a></li>"));
    assert_non_null(strstr(r, "<a href=\"./%3Cb%3E%26%22x%27.txt\">&lt;b&gt;&amp;&quot;x&#39;.txt</a>"));
    assert_null(strstr(r, "<b>"));
    assert_null(strstr(r, "hidden"));
    assert_null(strstr(r, "../"));
    assert_true(strstr(r, "a.txt") < strstr(r, "sub/")); /* sorted */
    free(r);
    r = get(t, "/rel/sub/");
    assert_non_null(strstr(r, "<li><a href=\"../\">../</a></li>"));
    assert_non_null(strstr(r, "<li><a href=\"./b.txt\">b.txt</a></li>"));
    free(r);
    /* The request path is escaped in the title. */
    r = get(t, "/files/x&'y/?q");
    assert_non_null(strstr(r, "<title>Index of /files/x&amp;&#39;y/</title>"));
    free(r);
}

/* Response body of GET path (malloc). */
static char *body_of(struct tree *t, const char *path, char *etag, size_t etag_cap)
{
    char *r = get(t, path);
    const char *e = strstr(r, "\r\nETag: ");
    if (etag && e)
        snprintf(etag, etag_cap, "%.*s", (int)strcspn(e + 8, "\r"), e + 8);
    char *b = strstr(r, "\r\n\r\n");
    char *out = strdup(b ? b + 4 : "");
    free(r);
    return out;
}

static void serve_cached(void **state)
{
    struct tree *t = *state;
    char p[256], tag1[128] = "", tag2[128] = "";
    snprintf(p, sizeof p, "%s/a.txt", t->root);
    char *b = body_of(t, "/files/a.txt", tag1, sizeof tag1);
    assert_string_equal(b, "hello\n");
    free(b);
    /* changed in place: within cache_ms the cached copy (and its validator) is served */
    put_file(p, "HELLO\n");
    b = body_of(t, "/files/a.txt", tag2, sizeof tag2);
    assert_string_equal(b, "hello\n");
    assert_string_equal(tag1, tag2);
    free(b);
    expect(t, "/files/a.txt", (const char *[]){ "HTTP/1.1 200", NULL }, NULL);
    /* after cache_ms the file system is consulted again: the new version and validator */
    usleep(400 * 1000);
    b = body_of(t, "/files/a.txt", tag2, sizeof tag2);
    assert_string_equal(b, "HELLO\n");
    assert_string_not_equal(tag1, tag2);
    free(b);
    /* replaced by rename (a new inode), a different size */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s/a.tmp", t->dir);
    put_file(tmp, "a longer version\n");
    assert_int_equal(rename(tmp, p), 0);
    usleep(400 * 1000);
    b = body_of(t, "/files/a.txt", NULL, 0);
    assert_string_equal(b, "a longer version\n");
    free(b);
    /* ranges and 304 work from the cached copy too */
    char req[512];
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)t->port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    free(body_of(t, "/files/a.txt", tag2, sizeof tag2)); /* tag2: the current version */
    int n = snprintf(req, sizeof req,
                     "GET /files/a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=2-7\r\n\r\n"
                     "GET /files/a.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: %s\r\n"
                     "Connection: close\r\n\r\n",
                     tag2);
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    char buf[4096];
    size_t len = 0;
    for (;;) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        if (poll(&pf, 1, 5000) <= 0)
            break;
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    assert_non_null(strstr(buf, "HTTP/1.1 206"));
    assert_non_null(strstr(buf, "Content-Range: bytes 2-7/17\r\n"));
    assert_non_null(strstr(buf, "\r\n\r\nlonger"));
    assert_non_null(strstr(buf, "HTTP/1.1 304"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mime_types),
        cmocka_unit_test(range_valid),
        cmocka_unit_test(range_unsatisfiable),
        cmocka_unit_test(range_ignored),
        cmocka_unit_test(etag_weak_matching),
        cmocka_unit_test(etag_strong_matching),
        cmocka_unit_test(http_dates),
        cmocka_unit_test_setup_teardown(open_beneath_openat2, tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(open_beneath_fallback, tree_setup, tree_teardown),
        cmocka_unit_test(open_root_errors),
        cmocka_unit_test_setup_teardown(serve_paths, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(serve_listing, server_setup, server_teardown),
        cmocka_unit_test_setup_teardown(serve_cached, server_setup_cached, server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
