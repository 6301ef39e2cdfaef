/*
 * log.c - formats structured log lines (key=value or JSON) and writes each with one write(2).
 *
 * A line is built in a fixed stack buffer: logging never allocates, so it works when
 * memory is short and costs no more on a hot path than the formatting itself. When the
 * fields do not fit, the line is cut and marked truncated; the cut always falls between
 * characters (never inside an escape or a UTF-8 sequence) and any open quote is closed, so
 * a truncated line still parses. A field whose value does not fit at all is left out
 * entirely rather than shown as empty.
 *
 * Escaping, chosen so a line parses back into the same fields:
 *   key=value  values with a space, '=', '"', '\', a control byte or invalid UTF-8 are
 *              quoted; inside quotes \" \\ \n \r \t and \xHH for other control bytes and
 *              for bytes that are not UTF-8 (Go strconv.Unquote reads this back exactly).
 *              Empty values are written "". Key bytes that would break the syntax become '_'.
 *   JSON       RFC 8259 strings; other control bytes as \u00XX; a byte that is not UTF-8
 *              becomes U+FFFD (JSON cannot carry raw bytes). Non-finite floats are written
 *              as the strings "NaN", "+Inf", "-Inf" since JSON has no such numbers.
 * Valid multi-byte UTF-8 is copied through unchanged in both formats.
 */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/err.h"
#include "base/time.h"
#include "base/utf8.h"

#define LINE_MAX_BYTES 8192 /* the 8 KiB cap of log.h, including the newline */
/* Kept free while formatting for what must follow a cut: a closing quote, the marker
 * (",\"truncated\":true" is the longer form, 17 bytes), "}" and the newline. */
#define TAIL_RESERVE 32

enum st_log_level st_log_min_level = ST_LOG_INFO;
static enum st_log_format log_format = ST_LOG_KV;
static int log_fd = 2;

void st_log_set_level(enum st_log_level level)
{
    st_log_min_level = level;
}
void st_log_set_format(enum st_log_format format)
{
    log_format = format;
}

/* The file of st_log_set_file. log_fd keeps its number for the life of the file (reopen
 * dup3()s onto it), so writers read it without a lock; file_lock orders the setters and
 * reopens among themselves. */
static pthread_mutex_t file_lock = PTHREAD_MUTEX_INITIALIZER;
static char file_path[PATH_MAX]; /* "" when not logging to a file of ours */
static int file_fd = -1;

static int open_log_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    return fd < 0 ? -errno : fd;
}

void st_log_set_fd(int fd)
{
    pthread_mutex_lock(&file_lock);
    log_fd = fd;
    if (file_fd >= 0 && file_fd != fd)
        close(file_fd);
    file_fd = -1;
    file_path[0] = '\0';
    pthread_mutex_unlock(&file_lock);
}

int st_log_set_file(const char *path)
{
    size_t n = strlen(path);
    if (n >= sizeof(file_path))
        return -ENAMETOOLONG;
    int fd = open_log_file(path);
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&file_lock);
    int old = file_fd;
    memcpy(file_path, path, n + 1);
    file_fd = fd;
    log_fd = fd;
    if (old >= 0)
        close(old);
    pthread_mutex_unlock(&file_lock);
    return 0;
}

int st_log_reopen(void)
{
    int rc = 0;
    char path[PATH_MAX];
    pthread_mutex_lock(&file_lock);
    memcpy(path, file_path, sizeof(path));
    if (file_fd >= 0) {
        int fd = open_log_file(file_path);
        if (fd < 0) {
            rc = fd;
        } else {
            /* dup3 replaces the file behind file_fd atomically: a write racing with it
             * lands whole in the old file or the new one, never on a closed descriptor. */
            int r;
            do
                r = dup3(fd, file_fd, O_CLOEXEC);
            while (r < 0 && (errno == EINTR || errno == EBUSY)); /* EBUSY: a racing open(2), transient */
            if (r < 0)
                rc = -errno;
            close(fd);
        }
    }
    pthread_mutex_unlock(&file_lock);
    if (rc)
        st_log_warn("cannot reopen the log file, still writing to the old one", ST_LOG_STR("path", path),
                    ST_LOG_STR("error", st_strerror(rc)));
    return rc;
}

int st_log_parse_level(const char *s, enum st_log_level *out)
{
    static const struct {
        const char *name;
        enum st_log_level level;
    } names[] = {
        { "debug", ST_LOG_DEBUG }, { "info", ST_LOG_INFO }, { "warn", ST_LOG_WARN },
        { "error", ST_LOG_ERROR }, { "off", ST_LOG_OFF },
    };
    for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return ST_EPARSE;
}

int st_log_parse_format(const char *s, enum st_log_format *out)
{
    if (s && strcasecmp(s, "kv") == 0)
        *out = ST_LOG_KV;
    else if (s && strcasecmp(s, "json") == 0)
        *out = ST_LOG_JSON;
    else
        return ST_EPARSE;
    return 0;
}

/* ---- the line buffer ---- */

struct line {
    size_t len;
    bool full; /* something did not fit: add no more content, mark the line truncated */
    enum st_log_format format;
    char buf[LINE_MAX_BYTES];
};

static size_t room(const struct line *l)
{
    return LINE_MAX_BYTES - TAIL_RESERVE - l->len;
}

/* Append all of s[0..n) or, if it does not fit, nothing (and mark the line full). */
static void put(struct line *l, const char *s, size_t n)
{
    if (l->full || n > room(l)) {
        l->full = true;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Append as much of s[0..n) as fits; for runs that may be cut anywhere (plain ASCII). */
static void put_some(struct line *l, const char *s, size_t n)
{
    if (l->full)
        return;
    size_t k = n < room(l) ? n : room(l);
    memcpy(l->buf + l->len, s, k);
    l->len += k;
    l->full = k < n;
}

static void put_c(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Append into the reserve: only for the closing bytes that TAIL_RESERVE was sized for. */
static void put_tail(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (l->len + n <= LINE_MAX_BYTES) {
        memcpy(l->buf + l->len, s, n);
        l->len += n;
    }
}

/* ---- escaping ---- */

/* Printable ASCII that needs no escape inside a quoted string of either format. */
static bool plain_byte(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* Escape one byte that is not plain and not the start of valid UTF-8. */
static void put_escape(struct line *l, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    switch (c) {
    case '"': put(l, "\\\"", 2); return;
    case '\\': put(l, "\\\\", 2); return;
    case '\n': put(l, "\\n", 2); return;
    case '\r': put(l, "\\r", 2); return;
    case '\t': put(l, "\\t", 2); return;
    default: break;
    }
    if (l->format == ST_LOG_KV) {
        const char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
        put(l, e, sizeof(e));
    } else if (c >= 0x80) {
        put(l, "\\ufffd", 6);
    } else {
        const char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
        put(l, e, sizeof(e));
    }
}

/* Append s[0..n) escaped for the inside of a quoted string. */
static void put_escaped(struct line *l, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && !l->full) {
        size_t run = 0;
        while (i + run < n && plain_byte((unsigned char)s[i + run]))
            run++;
        if (run) {
            put_some(l, s + i, run);
            i += run;
            continue;
        }
        uint32_t cp;
        size_t len = (unsigned char)s[i] >= 0x80 ? st_utf8_decode(s + i, n - i, &cp) : 0;
        if (len) {
            put(l, s + i, len); /* a whole character or nothing */
            i += len;
        } else {
            put_escape(l, (unsigned char)s[i]);
            i++;
        }
    }
}

/* key=value: a value needs quotes when it is empty or holds anything put_escaped would
 * change, or a byte that would end or split the field. */
static bool kv_needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (c == ' ' || c == '=' || !plain_byte(c))
                return true;
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = st_utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return true;
        i += len;
    }
    return false;
}

/* key=value keys come from code, but a space or '=' in one would break parsing. */
static void put_kv_key(struct line *l, const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0) {
        put(l, "_", 1);
        return;
    }
    if (l->full || n > room(l)) {
        l->full = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        bool ok = c > 0x20 && c < 0x7f && c != '=' && c != '"';
        l->buf[l->len++] = ok ? (char)c : '_';
    }
}

/* ---- fields ---- */

/* Start a field (separator and key); returns the offset to roll back to if its value
 * does not fit. */
static size_t field_begin(struct line *l, const char *key, bool first)
{
    size_t mark = l->len;
    if (l->format == ST_LOG_KV) {
        if (!first)
            put(l, " ", 1);
        put_kv_key(l, key);
        put(l, "=", 1);
    } else {
        put(l, first ? "\"" : ",\"", first ? 1 : 2);
        put_escaped(l, key ? key : "", key ? strlen(key) : 0);
        put(l, "\":", 2);
    }
    return mark;
}

static void field_string(struct line *l, const char *key, const char *s, size_t n, bool first)
{
    size_t mark = field_begin(l, key, first);
    bool quoted = l->format == ST_LOG_JSON || kv_needs_quotes(s, n);
    if (quoted)
        put(l, "\"", 1);
    size_t start = l->len;
    put_escaped(l, s, n);
    if (l->full && l->len == start) {
        l->len = mark; /* not one byte of the value fit: leave the field out */
        return;
    }
    if (quoted)
        put_tail(l, "\"");
}

/* A value that is never escaped (numbers, booleans, JSON null): all or nothing. */
static void field_raw(struct line *l, const char *key, const char *v, bool first)
{
    size_t mark = field_begin(l, key, first);
    put_c(l, v);
    if (l->full)
        l->len = mark;
}

/* Decimal digits of v into the end of buf[24]; returns where they start. */
static char *format_u64(uint64_t v, char buf[24])
{
    char *p = buf + 23;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

static char *format_i64(int64_t v, char buf[24])
{
    /* Negate in unsigned arithmetic: -INT64_MIN overflows int64_t. */
    char *p = format_u64(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, buf);
    if (v < 0)
        *--p = '-';
    return p;
}

/* Shortest of %.15g and %.17g that reads back as the same double: "0.1", not
 * "0.10000000000000001", yet no value is ever rounded. */
static void format_f64(double d, char buf[32])
{
    snprintf(buf, 32, "%.15g", d);
    if (strtod(buf, NULL) != d)
        snprintf(buf, 32, "%.17g", d);
}

static void field_f64(struct line *l, const char *key, double d, bool first)
{
    char buf[32];
    if (isfinite(d)) {
        format_f64(d, buf);
        field_raw(l, key, buf, first);
        return;
    }
    const char *name = isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf";
    if (l->format == ST_LOG_JSON)
        field_string(l, key, name, strlen(name), first);
    else
        field_raw(l, key, name, first);
}

static void field(struct line *l, const struct st_log_field *f)
{
    char num[24];
    switch (f->type) {
    case ST_LOG_T_STR:
        if (f->v.s)
            field_string(l, f->key, f->v.s, strlen(f->v.s), false);
        else if (l->format == ST_LOG_JSON)
            field_raw(l, f->key, "null", false);
        else
            field_string(l, f->key, "", 0, false);
        break;
    case ST_LOG_T_SLICE:
        field_string(l, f->key, f->v.sl.ptr ? f->v.sl.ptr : "", f->v.sl.ptr ? f->v.sl.len : 0, false);
        break;
    case ST_LOG_T_INT: field_raw(l, f->key, format_i64(f->v.i, num), false); break;
    case ST_LOG_T_UINT: field_raw(l, f->key, format_u64(f->v.u, num), false); break;
    case ST_LOG_T_F64: field_f64(l, f->key, f->v.d, false); break;
    case ST_LOG_T_BOOL: field_raw(l, f->key, f->v.b ? "true" : "false", false); break;
    default: break; /* ST_LOG_T_END is handled by the caller */
    }
}

/* ---- the line ---- */

static const char *level_name(enum st_log_level level)
{
    if (level >= ST_LOG_ERROR)
        return "error";
    if (level >= ST_LOG_WARN)
        return "warn";
    if (level >= ST_LOG_INFO)
        return "info";
    return "debug";
}

static void format_line(struct line *l, enum st_log_level level, const char *msg, const struct st_log_field *fields)
{
    char ts[ST_TIME_RFC3339_LEN + 1];
    st_time_format_rfc3339(st_time_wall_ms(), ts);
    const char *lv = level_name(level);
    if (l->format == ST_LOG_JSON)
        put(l, "{", 1);
    field_string(l, "ts", ts, ST_TIME_RFC3339_LEN, true);
    field_string(l, "level", lv, strlen(lv), false);
    field_string(l, "msg", msg ? msg : "", msg ? strlen(msg) : 0, false);
    for (const struct st_log_field *f = fields; f && f->type != ST_LOG_T_END && !l->full; f++)
        field(l, f);
    if (l->full)
        put_tail(l, l->format == ST_LOG_JSON ? ",\"truncated\":true" : " truncated=true");
    put_tail(l, l->format == ST_LOG_JSON ? "}\n" : "\n");
}

/* One write(2) per line keeps lines from different threads whole (pipes guarantee it up
 * to PIPE_BUF, regular files opened O_APPEND for any size). The loop only continues after
 * a signal or a short write. A failed write is dropped: there is nowhere to report it. */
static void write_line(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

void st__log_write(enum st_log_level level, const char *msg, const struct st_log_field *fields)
{
    if (level < st_log_min_level || st_log_min_level >= ST_LOG_OFF)
        return;
    int saved_errno = errno; /* callers often log a failure and then look at errno */
    struct line l;
    l.len = 0;
    l.full = false;
    l.format = log_format;
    format_line(&l, level, msg, fields);
    write_line(log_fd, l.buf, l.len);
    errno = saved_errno;
}
