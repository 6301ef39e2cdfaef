/*
 * static.c - static files: path to fd beneath a root, validators, conditional requests,
 * byte ranges, directory index and listing (see static.h for the invariants).
 *
 * The order of the checks matters for safety and for the RFC: the method first (405
 * without touching the file system), then the path is normalized (st_http_path_normalize
 * refuses what could climb out) and opened beneath the root by the kernel, then fstat
 * decides what the fd is, and only then are the request's conditionals evaluated against
 * the validators of the very file that will be sent (no stat-then-open race).
 */
#include "http/static.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"
#include "http/url.h"

/* Flags of every file the server opens for a client: O_NONBLOCK so that opening a FIFO
 * never waits for a writer (it would hang the loop thread); O_NOCTTY for terminals. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
/* Listings are built in memory: an upper bound on their size. */
#define LISTING_MAX (8u << 20)

/* Set once openat2 has reported ENOSYS (kernels before 5.6, some sandboxes). */
static atomic_bool no_openat2;

/* ---- the root ---- */

int st_http_static_open(struct st_http_static *st, const char *root, struct st_error *err)
{
    st->root_fd = -1;
    st->root_real = NULL;
    st->caches = NULL;
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        return st_error_set(err, rc, "static root %s: %s", root, st_strerror(rc));
    }
    char *real = realpath(root, NULL);
    if (!real) {
        int rc = -errno;
        close(fd);
        return st_error_set(err, rc, "static root %s: %s", root, st_strerror(rc));
    }
    st->root_fd = fd;
    st->root_real = real;
    if (st->cache_ms > 0)
        st->caches = st_xcalloc(ST_HTTP_STATIC_CACHE_WORKERS, sizeof(struct st_http_static_cache *));
    return 0;
}

static void cache_free(struct st_http_static_cache *c);

void st_http_static_close(struct st_http_static *st)
{
    if (st->root_fd >= 0)
        close(st->root_fd);
    free(st->root_real);
    for (int i = 0; st->caches && i < ST_HTTP_STATIC_CACHE_WORKERS; i++)
        cache_free(st->caches[i]);
    free(st->caches);
    st->caches = NULL;
    st->root_fd = -1;
    st->root_real = NULL;
}

/* ---- opening beneath the root ---- */

static int open_openat2(int dirfd, const char *rel)
{
    struct open_how how = {
        .flags = OPEN_FLAGS,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
    };
    /* EAGAIN: a rename or mount raced the lookup of a ".." (the kernel cannot then prove
     * the walk stayed beneath); retrying a few times is what the man page asks for. */
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        if (errno == EINTR || (errno == EAGAIN && tries < 8))
            continue;
        return -errno;
    }
}

/* Whether real is root or below it (both absolute, canonical). */
static bool path_beneath(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return real[0] == '/';
    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}

/* Without openat2: open, then ask the kernel where the fd really is. Checking the opened
 * fd (not the path before opening) leaves no window for a swapped symlink. */
static int open_checked(const struct st_http_static *st, const char *rel)
{
    int fd = openat(st->root_fd, rel, OPEN_FLAGS);
    if (fd < 0)
        return -errno;
    char link[32], real[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, real, sizeof(real) - 1);
    if (n <= 0 || (size_t)n >= sizeof(real) - 1 || !st->root_real) {
        close(fd); /* cannot prove it is inside: refuse */
        return -EXDEV;
    }
    real[n] = '\0';
    if (!path_beneath(real, st->root_real)) {
        close(fd);
        return -EXDEV;
    }
    return fd;
}

int st__http_static_open_beneath(const struct st_http_static *st, const char *rel, bool fallback)
{
    if (!rel[0])
        rel = ".";
    if (!fallback && !atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
        int fd = open_openat2(st->root_fd, rel);
        if (fd != -ENOSYS)
            return fd;
        atomic_store_explicit(&no_openat2, true, memory_order_relaxed);
        st_log_warn("static: no openat2, checking real paths instead");
    }
    return open_checked(st, rel);
}

/* ---- media types ---- */

struct mime {
    const char *ext;
    const char *type;
};

/* Sorted by extension (looked up with bsearch). */
static const struct mime mime_table[] = {
    { "7z", "application/x-7z-compressed" },
    { "avif", "image/avif" },
    { "bin", "application/octet-stream" },
    { "bmp", "image/bmp" },
    { "c", "text/plain; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "csv", "text/csv; charset=utf-8" },
    { "gif", "image/gif" },
    { "gz", "application/gzip" },
    { "h", "text/plain; charset=utf-8" },
    { "htm", "text/html; charset=utf-8" },
    { "html", "text/html; charset=utf-8" },
    { "ico", "image/x-icon" },
    { "jpeg", "image/jpeg" },
    { "jpg", "image/jpeg" },
    { "js", "text/javascript; charset=utf-8" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "md", "text/markdown; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "mp3", "audio/mpeg" },
    { "mp4", "video/mp4" },
    { "oga", "audio/ogg" },
    { "ogg", "audio/ogg" },
    { "ogv", "video/ogg" },
    { "otf", "font/otf" },
    { "pdf", "application/pdf" },
    { "png", "image/png" },
    { "svg", "image/svg+xml" },
    { "tar", "application/x-tar" },
    { "ttf", "font/ttf" },
    { "txt", "text/plain; charset=utf-8" },
    { "wasm", "application/wasm" },
    { "wav", "audio/wav" },
    { "webm", "video/webm" },
    { "webmanifest", "application/manifest+json" },
    { "webp", "image/webp" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "xml", "application/xml" },
    { "yaml", "text/yaml; charset=utf-8" },
    { "yml", "text/yaml; charset=utf-8" },
    { "zip", "application/zip" },
};

static int mime_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct mime *)elem)->ext);
}

const char *st_http_mime_type(struct st_str path)
{
    static const char *const fallback = "application/octet-stream";
    size_t start = 0, dot = 0;
    for (size_t i = 0; i < path.len; i++) {
        if (path.ptr[i] == '/')
            start = i + 1, dot = 0;
        else if (path.ptr[i] == '.')
            dot = i + 1;
    }
    /* No dot, or only a leading one (".profile" has no extension). */
    if (dot == 0 || dot == start + 1)
        return fallback;
    char ext[16];
    size_t n = path.len - dot;
    if (n == 0 || n >= sizeof(ext))
        return fallback;
    st_str_lower(st_str(path.ptr + dot, n), ext);
    ext[n] = '\0';
    const struct mime *m =
        bsearch(ext, mime_table, sizeof(mime_table) / sizeof(mime_table[0]), sizeof(mime_table[0]), mime_cmp);
    return m ? m->type : fallback;
}

/* ---- Range ---- */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static struct st_str trim_ows(struct st_str s)
{
    while (s.len && is_ows(s.ptr[0]))
        s.ptr++, s.len--;
    while (s.len && is_ows(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

static bool all_digits(struct st_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
    return true;
}

/* Digits to a number, saturating at UINT64_MAX (the grammar has no upper bound). */
static uint64_t digits_sat(struct st_str s)
{
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned)(s.ptr[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return UINT64_MAX;
        v = v * 10 + d;
    }
    return v;
}

/* Compare two digit strings as numbers of any length: <0, 0, >0. */
static int digits_cmp(struct st_str a, struct st_str b)
{
    while (a.len > 1 && a.ptr[0] == '0')
        a.ptr++, a.len--;
    while (b.len > 1 && b.ptr[0] == '0')
        b.ptr++, b.len--;
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    return memcmp(a.ptr, b.ptr, a.len);
}

/* The only non-empty element of a range-set, or false if there are none or several. */
static bool single_range(struct st_str set, struct st_str *spec)
{
    size_t count = 0;
    while (set.len) {
        struct st_str item;
        set = st_str_cut(set, ',', &item, NULL);
        item = trim_ows(item);
        if (item.len == 0) /* empty list elements are allowed (RFC 9110 5.6.1.2) */
            continue;
        if (++count > 1)
            return false;
        *spec = item;
    }
    return count == 1;
}

int st_http_parse_range(struct st_str header, uint64_t size, uint64_t *first, uint64_t *last)
{
    struct st_str unit, set, spec, a, b;
    bool found;
    set = st_str_cut(header, '=', &unit, &found);
    if (!found || !st_str_ieq_c(unit, "bytes") || !single_range(set, &spec))
        return ST_ENOTFOUND;
    b = st_str_cut(spec, '-', &a, &found);
    if (!found || (b.len && !all_digits(b)))
        return ST_ENOTFOUND;
    if (a.len == 0) { /* suffix-range "-n": the last n bytes */
        if (!b.len)
            return ST_ENOTFOUND;
        uint64_t n = digits_sat(b);
        if (n == 0 || size == 0)
            return ST_ELIMIT;
        *first = n >= size ? 0 : size - n;
        *last = size - 1;
        return 0;
    }
    if (!all_digits(a) || (b.len && digits_cmp(a, b) > 0))
        return ST_ENOTFOUND; /* "5-3" is invalid, so the whole header is ignored */
    uint64_t from = digits_sat(a);
    if (from >= size)
        return ST_ELIMIT;
    uint64_t to = b.len ? digits_sat(b) : UINT64_MAX;
    *first = from;
    *last = to < size - 1 ? to : size - 1;
    return 0;
}

/* ---- entity tags ---- */

/* etagc = %x21 / %x23-7E / obs-text */
static bool is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

/* Parse one entity-tag at the start of s: the opaque tag without quotes, whether it is
 * weak, and the bytes consumed; false if malformed. */
static bool take_etag(struct st_str s, struct st_str *opaque, bool *weak, size_t *used)
{
    size_t i = 0;
    *weak = s.len >= 2 && s.ptr[0] == 'W' && s.ptr[1] == '/';
    if (*weak)
        i = 2;
    if (i >= s.len || s.ptr[i] != '"')
        return false;
    size_t j = i + 1;
    while (j < s.len && s.ptr[j] != '"') {
        if (!is_etagc((unsigned char)s.ptr[j]))
            return false;
        j++;
    }
    if (j >= s.len)
        return false;
    *opaque = st_str(s.ptr + i + 1, j - i - 1);
    *used = j + 1;
    return true;
}

static bool etag_list_match(struct st_str list, struct st_str etag, bool strong)
{
    struct st_str tag, opaque;
    bool tag_weak, weak;
    size_t used;
    if (!take_etag(trim_ows(etag), &tag, &tag_weak, &used) || (strong && tag_weak))
        return false;
    size_t i = 0;
    while (i < list.len) {
        char c = list.ptr[i];
        if (c == ',' || is_ows(c)) {
            i++;
            continue;
        }
        bool match = c == '*';
        if (match)
            used = 1;
        else if (!take_etag(st_str_sub(list, i, list.len), &opaque, &weak, &used))
            return false;
        else
            match = !(strong && weak) && st_str_eq(opaque, tag);
        i += used;
        while (i < list.len && is_ows(list.ptr[i]))
            i++;
        if (i < list.len && list.ptr[i] != ',')
            return false; /* junk after an element */
        if (match)
            return true;
    }
    return false;
}

bool st_http_etag_match(struct st_str if_none_match, struct st_str etag)
{
    return etag_list_match(if_none_match, etag, false);
}

bool st_http_etag_match_strong(struct st_str if_match, struct st_str etag)
{
    return etag_list_match(if_match, etag, true);
}

/* ---- conditional requests ---- */

/* Whether any header line with this token matches etag (a list may span several lines). */
static bool header_etag_match(const struct st_http_ex *x, enum st_http_token token, struct st_str etag, bool strong,
                              bool *present)
{
    *present = false;
    for (size_t i = 0; i < x->req->nheaders; i++) {
        const struct st_http_header *h = &x->req->headers[i];
        if (h->token != token)
            continue;
        *present = true;
        if (etag_list_match(h->value, etag, strong))
            return true;
    }
    return false;
}

/* The date of a header, if present exactly once and valid (RFC 9110 13.1.3, 13.1.4). */
static bool header_date(const struct st_http_ex *x, enum st_http_token token, int64_t *ms)
{
    const struct st_http_header *found = NULL;
    for (size_t i = 0; i < x->req->nheaders; i++) {
        if (x->req->headers[i].token != token)
            continue;
        if (found)
            return false;
        found = &x->req->headers[i];
    }
    return found && st_time_parse_http(found->value.ptr, found->value.len, ms) == 0;
}

/* RFC 9110 13.2.2 steps 1-4: 0 to go on, 412 or 304 to stop there. */
static int preconditions(const struct st_http_ex *x, struct st_str etag, int64_t mtime_ms)
{
    bool present;
    int64_t date;
    if (!header_etag_match(x, ST_HTTP_H_IF_MATCH, etag, true, &present) && present)
        return 412;
    if (!present && header_date(x, ST_HTTP_H_IF_UNMODIFIED_SINCE, &date) && mtime_ms > date)
        return 412;
    if (header_etag_match(x, ST_HTTP_H_IF_NONE_MATCH, etag, false, &present))
        return 304; /* only GET and HEAD get here */
    if (!present && header_date(x, ST_HTTP_H_IF_MODIFIED_SINCE, &date) && mtime_ms <= date)
        return 304;
    return 0;
}

/* If-Range (RFC 9110 13.1.5): absent, or a strong match of the ETag or exactly the
 * Last-Modified date. */
static bool if_range_ok(const struct st_http_ex *x, struct st_str etag, int64_t mtime_ms)
{
    struct st_str v = st_http_req_header(x, ST_HTTP_H_IF_RANGE);
    if (!v.ptr)
        return true;
    if (v.len && (v.ptr[0] == '"' || (v.len > 1 && v.ptr[0] == 'W' && v.ptr[1] == '/')))
        return st_http_etag_match_strong(v, etag) && st_str_index(v, ',') < 0;
    int64_t date;
    return st_time_parse_http(v.ptr, v.len, &date) == 0 && date == mtime_ms;
}

/* ---- responses ---- */

static void add_validators(struct st_http_ex *x, const struct st_http_static *st, struct st_str etag, int64_t mtime_ms)
{
    char date[ST_TIME_HTTP_LEN + 1];
    st_time_format_http(mtime_ms, date);
    st_http_header(x, ST_STR_LIT("ETag"), etag);
    st_http_header_fmt(x, "Last-Modified", "%s", date);
    if (st->cache_control && st->cache_control[0])
        st_http_header(x, ST_STR_LIT("Cache-Control"), st_str_c(st->cache_control));
}

/* The strong validator of a file version: inode, size and modification time in ns. */
static char *make_etag(struct st_arena *a, const struct stat *sb)
{
    return st_arena_printf(a, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)sb->st_ino, (uint64_t)sb->st_size,
                           (uint64_t)sb->st_mtim.tv_sec * 1000000000u + (uint64_t)sb->st_mtim.tv_nsec);
}

static void close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

/*
 * Answer with a regular file: from fd (owned from here on) or, when fd < 0, from mem (a
 * cached copy of the whole file, still valid when st_http_send copies it out). name
 * chooses the media type; etag may be NULL (computed from sb).
 */
static void send_file(struct st_http_ex *x, const struct st_http_static *st, int fd, const struct stat *sb,
                      struct st_str name, const char *mem, const char *tag)
{
    uint64_t size = (uint64_t)sb->st_size;
    int64_t mtime_ms = (int64_t)sb->st_mtim.tv_sec * 1000; /* HTTP dates have seconds */
    struct st_str etag = st_str_c(tag ? tag : make_etag(x->arena, sb));

    int status = preconditions(x, etag, mtime_ms);
    if (status == 304) {
        close_fd(fd);
        add_validators(x, st, etag, mtime_ms);
        x->status = 304;
        st_http_send(x);
        return;
    }
    if (status == 412) {
        close_fd(fd);
        st_http_problem(x, 412, NULL);
        return;
    }
    add_validators(x, st, etag, mtime_ms);
    st_http_header(x, ST_STR_LIT("Accept-Ranges"), ST_STR_LIT("bytes"));
    st_http_header(x, ST_STR_LIT("X-Content-Type-Options"), ST_STR_LIT("nosniff"));

    /* Range is defined for GET only (RFC 9110 14.2). */
    struct st_str range = st_http_req_header(x, ST_HTTP_H_RANGE);
    uint64_t first = 0, last = 0;
    int rc = ST_ENOTFOUND;
    if (range.ptr && x->req->method_id == ST_HTTP_M_GET && if_range_ok(x, etag, mtime_ms))
        rc = st_http_parse_range(range, size, &first, &last);
    if (rc == ST_ELIMIT) {
        close_fd(fd);
        st_http_header_fmt(x, "Content-Range", "bytes */%" PRIu64, size);
        st_http_problem(x, 416, NULL);
        return;
    }
    st_http_header(x, ST_STR_LIT("Content-Type"), st_str_c(st_http_mime_type(name)));
    if (rc == 0) {
        x->status = 206;
        st_http_header_fmt(x, "Content-Range", "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
    } else {
        x->status = 200;
        first = 0;
        last = size - 1;
    }
    uint64_t n = size ? last - first + 1 : 0;
    if (fd >= 0)
        st_http_body_file(x, fd, first, n);
    else
        st_http_body_ref(x, st_str(mem + first, (size_t)n));
    st_http_send(x);
}

/* 301 to the request's own path with a '/' appended (query kept). */
static void redirect_slash(struct st_http_ex *x)
{
    struct st_str path = x->req->path, query = x->req->query;
    /* "//evil.example/dir" must not become a scheme-relative Location: one leading '/'. */
    while (path.len > 1 && path.ptr[1] == '/')
        path.ptr++, path.len--;
    st_http_header_fmt(x, "Location", "%.*s/%s%.*s", ST_STR_FMT(path), query.ptr ? "?" : "", ST_STR_FMT(query));
    x->status = 301;
    st_http_send(x);
}

/* Map an open/stat failure to a status that says nothing about the outside of the root. */
static void fail_open(struct st_http_ex *x, int rc)
{
    bool fallback = atomic_load_explicit(&no_openat2, memory_order_relaxed);
    switch (rc) {
    case -EACCES:
    case -EPERM:
        /* With openat2, EACCES can only come from inside the root; the fallback may have
         * looked outside before its check, so it says nothing. */
        st_http_problem(x, fallback ? 404 : 403, NULL);
        return;
    case -EMFILE:
    case -ENFILE:
    case -ENOMEM:
        st_http_header(x, ST_STR_LIT("Retry-After"), ST_STR_LIT("1"));
        st_http_problem(x, 503, NULL);
        return;
    case -ENOENT:
    case -ENOTDIR:
    case -EXDEV:
    case -ELOOP:
    case -ENAMETOOLONG:
    case -ENXIO:
    case -ENODEV:
    case -EISDIR: st_http_problem(x, 404, NULL); return;
    default: st_log_warn("static: open failed", ST_LOG_STR("error", st_strerror(rc))); st_http_problem(x, 500, NULL);
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int html_escape(struct st_buf *b, const char *s)
{
    int rc = 0;
    for (; *s && !rc; s++) {
        switch (*s) {
        case '&': rc = st_buf_append_c(b, "&amp;"); break;
        case '<': rc = st_buf_append_c(b, "&lt;"); break;
        case '>': rc = st_buf_append_c(b, "&gt;"); break;
        case '"': rc = st_buf_append_c(b, "&quot;"); break;
        case '\'': rc = st_buf_append_c(b, "&#39;"); break;
        default: rc = st_buf_append_byte(b, *s);
        }
    }
    return rc;
}

/* The sorted names of the directory (dot files left out, directories with a '/' appended),
 * in x->arena; *n gets the count (a read error ends the list early). */
static char **read_names(struct st_http_ex *x, DIR *d, size_t *n)
{
    char **names = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') /* ".", ".." and hidden files such as .git */
            continue;
        bool dir = e->d_type == DT_DIR;
        if (e->d_type == DT_UNKNOWN) { /* no symlinks followed: never stat outside the root */
            struct stat sb;
            dir = fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
        }
        if (len == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = st_arena_alloc(x->arena, cap * sizeof(*names));
            if (len)
                memcpy(grown, names, len * sizeof(*names));
            names = grown;
        }
        names[len++] = st_arena_printf(x->arena, "%s%s", e->d_name, dir ? "/" : "");
    }
    if (len)
        qsort(names, len, sizeof(*names), cmp_names);
    *n = len;
    return names;
}

static int build_listing(struct st_http_ex *x, struct st_buf *b, char **names, size_t n, bool at_root)
{
    char *title = st_arena_strndup(x->arena, x->req->path.ptr, x->req->path.len);
    int rc = st_buf_append_c(b, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>Index of ");
    if (!rc)
        rc = html_escape(b, title);
    if (!rc)
        rc = st_buf_append_c(b, "</title>\n<h1>Index of ");
    if (!rc)
        rc = html_escape(b, title);
    if (!rc)
        rc = st_buf_append_c(b, at_root ? "</h1>\n<ul>\n" : "</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n");
    for (size_t i = 0; i < n && !rc; i++) {
        size_t len = strlen(names[i]);
        bool dir = names[i][len - 1] == '/';
        rc = st_buf_append_c(b, "<li><a href=\"./");
        if (!rc) /* percent-encoded: only unreserved bytes and %XX, safe in an attribute */
            rc = st_http_pct_encode(b, st_str(names[i], len - dir), 0);
        if (!rc)
            rc = st_buf_append_c(b, dir ? "/\">" : "\">");
        if (!rc)
            rc = html_escape(b, names[i]);
        if (!rc)
            rc = st_buf_append_c(b, "</a></li>\n");
    }
    if (!rc)
        rc = st_buf_append_c(b, "</ul>\n");
    return rc;
}

/* Answer with an HTML listing of the directory fd (owned from here on). */
static void send_listing(struct st_http_ex *x, int fd, bool at_root)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        int rc = -errno;
        close(fd);
        fail_open(x, rc);
        return;
    }
    size_t n;
    char **names = read_names(x, d, &n);
    closedir(d);
    struct st_buf tmp;
    st_buf_init(&tmp, LISTING_MAX);
    int rc = build_listing(x, &tmp, names, n, at_root);
    if (!rc)
        rc = st_buf_append_str(st_http_body_buf(x), st_buf_str(&tmp));
    st_buf_release(&tmp);
    if (rc) {
        st_http_problem(x, 500, "directory listing too large");
        return;
    }
    st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("text/html; charset=utf-8"));
    st_http_header(x, ST_STR_LIT("X-Content-Type-Options"), ST_STR_LIT("nosniff"));
    x->status = 200;
    st_http_send(x);
}

/* A directory URL ending in '/': the index file, else a listing or 404. dirfd is owned. */
static void serve_dir(struct st_http_ex *x, const struct st_http_static *st, int dir_fd, const char *rel)
{
    const char *index = st->index ? st->index : "index.html";
    if (index[0]) {
        char *path = st_arena_printf(x->arena, "%s%s%s", rel, rel[0] ? "/" : "", index);
        int fd = st__http_static_open_beneath(st, path, false);
        struct stat sb;
        if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
            close(dir_fd);
            send_file(x, st, fd, &sb, st_str_c(index), NULL, NULL);
            return;
        }
        if (fd >= 0)
            close(fd);
        else if (fd != -ENOENT) {
            close(dir_fd);
            fail_open(x, fd);
            return;
        }
    }
    if (!st->list_dirs) {
        close(dir_fd);
        st_http_problem(x, 404, NULL);
        return;
    }
    send_listing(x, dir_fd, rel[0] == '\0');
}

/* The part of the request path below the root, or false when it is outside the prefix.
 * *redirect is set when the path is the prefix without its trailing '/'. */
static bool strip_prefix(const struct st_http_static *st, struct st_str path, struct st_str *rel, bool *redirect)
{
    struct st_str p = st_str_c(st->prefix);
    while (p.len && p.ptr[p.len - 1] == '/')
        p.len--;
    *redirect = false;
    if (!st_str_starts_with(path, p))
        return false;
    if (path.len == p.len) { /* "/static" for "/static/"; p is empty for the prefix "/" */
        *redirect = p.len > 0;
        return p.len > 0;
    }
    if (path.ptr[p.len] != '/')
        return false; /* "/staticfoo" is not under "/static/" */
    *rel = st_str_sub(path, p.len, path.len);
    return true;
}

/* ---- the per-worker cache of small files ---- */

#define CACHE_SLOTS 512 /* direct-mapped: a colliding path replaces the entry */

struct cache_entry {
    char *rel;       /* normalized path, owned; NULL: empty slot */
    struct stat sb;  /* of the cached version */
    char *data;      /* the whole file, owned */
    char *etag;      /* owned */
    int64_t checked; /* loop time the file system was last consulted */
};

struct st_http_static_cache {
    struct cache_entry e[CACHE_SLOTS];
};

static void entry_clear(struct cache_entry *e)
{
    free(e->rel);
    free(e->data);
    free(e->etag);
    memset(e, 0, sizeof *e);
}

static void cache_free(struct st_http_static_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        entry_clear(&c->e[i]);
    free(c);
}

/* The slot for rel in this worker's cache (made on first use), or NULL if caching is off. */
static struct cache_entry *cache_slot(const struct st_http_ex *x, const struct st_http_static *st, const char *rel,
                                      size_t len)
{
    if (!st->caches || x->worker < 0 || x->worker >= ST_HTTP_STATIC_CACHE_WORKERS)
        return NULL;
    struct st_http_static_cache **c = &st->caches[x->worker]; /* only this worker touches it */
    if (!*c)
        *c = st_xcalloc(1, sizeof **c);
    uint64_t h = 1469598103934665603u; /* FNV-1a: paths are short, this is not a defence */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)rel[i]) * 1099511628211u;
    return &(*c)->e[h % CACHE_SLOTS];
}

/* Keep the regular file fd (size <= the cache limit) in e; closes fd. false: not cached. */
static bool cache_fill(struct cache_entry *e, int fd, const struct stat *sb, const char *rel, int64_t now)
{
    size_t size = (size_t)sb->st_size;
    char *data = malloc(size ? size : 1);
    size_t got = 0;
    while (data && got < size) {
        ssize_t n = pread(fd, data + got, size - got, (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!data || got != size) { /* changed under us: do not cache a torn copy */
        free(data);
        return false;
    }
    entry_clear(e);
    e->rel = st_xstrdup(rel);
    e->sb = *sb;
    e->data = data;
    struct st_arena a;
    st_arena_init(&a, 0);
    e->etag = st_xstrdup(make_etag(&a, sb));
    st_arena_release(&a);
    e->checked = now;
    return true;
}

static bool same_version(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

void st_http_static_serve(struct st_http_ex *x, const struct st_http_static *st, struct st_str rel_path_raw)
{
    if (x->req->method_id != ST_HTTP_M_GET && x->req->method_id != ST_HTTP_M_HEAD) {
        st_http_header(x, ST_STR_LIT("Allow"), ST_STR_LIT("GET, HEAD"));
        st_http_problem(x, 405, NULL);
        return;
    }
    struct st_str raw = rel_path_raw;
    bool redirect = false;
    if (raw.len && raw.ptr[0] == '/' && !strip_prefix(st, rel_path_raw, &raw, &redirect)) {
        st_http_problem(x, 404, NULL);
        return;
    }
    if (redirect) {
        redirect_slash(x);
        return;
    }
    /* The URL names a directory when it ends in '/' (or is the root of a router capture). */
    struct st_str url = x->req->path;
    bool slash = raw.len ? raw.ptr[raw.len - 1] == '/' : url.len && url.ptr[url.len - 1] == '/';

    char *rel = st_arena_alloc(x->arena, raw.len + 1);
    size_t len;
    if (st_http_path_normalize(raw, rel, &len)) {
        st_http_problem(x, 404, NULL); /* undecodable, NUL, backslash or above the root */
        return;
    }
    rel[len] = '\0';
    int64_t now = st_io_now_ms(x->loop);
    struct cache_entry *ce = slash ? NULL : cache_slot(x, st, rel, len);
    if (ce && ce->rel && strcmp(ce->rel, rel) == 0 && now - ce->checked < st->cache_ms) {
        send_file(x, st, -1, &ce->sb, st_str(rel, len), ce->data, ce->etag);
        return;
    }
    int fd = st__http_static_open_beneath(st, rel, false);
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) != 0) {
        int rc = -errno;
        close(fd);
        fd = rc;
    }
    if (fd < 0) {
        fail_open(x, fd);
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        if (!slash) {
            close(fd);
            redirect_slash(x);
            return;
        }
        serve_dir(x, st, fd, rel);
        return;
    }
    if (!S_ISREG(sb.st_mode) || (slash && len > 0)) { /* FIFO, device, socket; "file.txt/" */
        close(fd);
        st_http_problem(x, 404, NULL);
        return;
    }
    if (ce && (uint64_t)sb.st_size <= ST_HTTP_STATIC_CACHE_FILE) {
        if (ce->rel && strcmp(ce->rel, rel) == 0 && same_version(&ce->sb, &sb)) {
            close(fd); /* unchanged: keep the copy, trust it for another cache_ms */
            ce->checked = now;
            send_file(x, st, -1, &ce->sb, st_str(rel, len), ce->data, ce->etag);
            return;
        }
        if (cache_fill(ce, fd, &sb, rel, now)) {
            send_file(x, st, -1, &ce->sb, st_str(rel, len), ce->data, ce->etag);
            return;
        }
        st_http_problem(x, 500, "the file changed while it was read");
        return;
    }
    send_file(x, st, fd, &sb, st_str(rel, len), NULL, NULL);
}
