/*
 * test_log.c - the logger, observed through a pipe: exact line formats, escaping checked
 * by parsing lines back (a small key=value parser and a small JSON parser live below),
 * level filtering that skips evaluating the fields, truncation, and whole lines under
 * concurrent writers; log files: appending, reopening after a rename (logrotate), a failed
 * reopen that keeps the old file, and reopens racing with writers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/log.h"
#include "base/time.h"
#include "base/utf8.h"

#define LINE_CAP 8192 /* the cap promised by log.h */

static int pipe_rd = -1, pipe_wr = -1;
static char out[1 << 16];

/* ---- capture ---- */

static int setup(void **state)
{
    (void)state;
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pipe_rd = fds[0];
    pipe_wr = fds[1];
    fcntl(pipe_rd, F_SETFL, O_NONBLOCK);
    st_log_set_fd(pipe_wr);
    st_log_set_level(ST_LOG_INFO);
    st_log_set_format(ST_LOG_KV);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    st_log_set_fd(2);
    close(pipe_rd);
    close(pipe_wr);
    return 0;
}

/* Everything logged so far, NUL-terminated; returns its length. */
static size_t drain(void)
{
    size_t n = 0;
    for (;;) {
        ssize_t r = read(pipe_rd, out + n, sizeof(out) - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    out[n] = '\0';
    return n;
}

/* The one line logged since the last drain, after its timestamp field (checked here):
 * "level=... msg=..." for KV, "\"level\":..." for JSON. */
static const char *one_line(void)
{
    size_t n = drain();
    assert_true(n > 0);
    assert_ptr_equal(strchr(out, '\n'), out + n - 1); /* exactly one line */
    char ts[ST_TIME_RFC3339_LEN + 1];
    int64_t ms, now = st_time_wall_ms();
    const char *start = *out == '{' ? "{\"ts\":\"" : "ts=";
    assert_memory_equal(out, start, strlen(start));
    const char *p = out + strlen(start);
    memcpy(ts, p, ST_TIME_RFC3339_LEN);
    ts[ST_TIME_RFC3339_LEN] = '\0';
    assert_int_equal(st_time_parse_rfc3339(ts, &ms), 0);
    assert_true(ms <= now && ms > now - 5000);
    p += ST_TIME_RFC3339_LEN;
    if (*out == '{') {
        assert_memory_equal(p, "\",", 2);
        return p + 2;
    }
    assert_int_equal(*p, ' ');
    return p + 1;
}

/* ---- a key=value parser: the reading side of the format ---- */

struct field {
    char key[128];
    char val[LINE_CAP]; /* NUL-terminated for convenience; may hold NULs */
    size_t len;
    bool quoted; /* KV: was quoted; JSON: was a string */
};
static struct field fields[16];

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Read a quoted KV value at *p (after the quote); false on bad syntax. */
static bool kv_unquote(const char **p, struct field *f)
{
    const char *s = *p;
    while (*s != '"') {
        char c = *s++;
        if ((unsigned char)c < 0x20 || c == 0x7f)
            return false; /* raw control bytes must have been escaped */
        if (c == '\\') {
            c = *s++;
            switch (c) {
            case '"':
            case '\\': break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'x':
                if (hexval(s[0]) < 0 || hexval(s[1]) < 0)
                    return false;
                c = (char)(hexval(s[0]) * 16 + hexval(s[1]));
                s += 2;
                break;
            default: return false;
            }
        }
        f->val[f->len++] = c;
    }
    *p = s + 1;
    return true;
}

/* Parse a whole KV line into fields[]; returns the field count or -1. */
static int parse_kv(const char *line)
{
    int n = 0;
    const char *p = line;
    if (!st_utf8_valid(line, strlen(line)))
        return -1;
    while (*p != '\n') {
        struct field *f = &fields[n++];
        size_t k = 0;
        if (n > 16 || (n > 1 && *p++ != ' '))
            return -1;
        while (*p && *p != '=' && *p != ' ' && *p != '"' && *p != '\n' && k < sizeof(f->key) - 1)
            f->key[k++] = *p++;
        f->key[k] = '\0';
        if (k == 0 || *p++ != '=')
            return -1;
        f->len = 0;
        f->quoted = *p == '"';
        if (f->quoted) {
            p++;
            if (!kv_unquote(&p, f))
                return -1;
        } else {
            while (*p && *p != ' ' && *p != '\n') {
                if (*p == '"' || *p == '=' || (unsigned char)*p < 0x20)
                    return -1;
                f->val[f->len++] = *p++;
            }
            if (f->len == 0)
                return -1; /* empty values must be quoted */
        }
        f->val[f->len] = '\0';
    }
    return p[1] == '\0' ? n : -1;
}

/* ---- a JSON parser for one flat object per line ---- */

/* \uXXXX at s (after the 'u'): its value or -1. */
static long hex4(const char *s)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static bool json_escape(const char **p, char *dst, size_t *len)
{
    const char *s = *p;
    char c = *s++;
    const char *simple = strchr("\"\\/bfnrt", c);
    if (c && simple) {
        static const char to[] = "\"\\/\b\f\n\r\t";
        dst[(*len)++] = to[simple - "\"\\/bfnrt"];
    } else if (c == 'u') {
        long cp = hex4(s);
        s += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && s[0] == '\\' && s[1] == 'u') {
            long lo = hex4(s + 2);
            if (lo < 0xdc00 || lo > 0xdfff)
                return false;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            s += 6;
        }
        size_t n = cp < 0 ? 0 : st_utf8_encode((uint32_t)cp, dst + *len);
        if (n == 0)
            return false; /* bad hex or a lone surrogate */
        *len += n;
    } else {
        return false;
    }
    *p = s;
    return true;
}

static bool json_string(const char **p, char *dst, size_t *len, size_t cap)
{
    const char *s = *p;
    *len = 0;
    if (*s++ != '"')
        return false;
    while (*s != '"') {
        if ((unsigned char)*s < 0x20 || *len + 4 > cap)
            return false;
        if (*s == '\\') {
            s++;
            if (!json_escape(&s, dst, len))
                return false;
        } else {
            dst[(*len)++] = *s++;
        }
    }
    *p = s + 1;
    return true;
}

/* The JSON number grammar of RFC 8259: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char **p, struct field *f)
{
    const char *s = *p, *start = *p;
    s += *s == '-';
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        s += *s == '+' || *s == '-';
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    f->len = (size_t)(s - start);
    memcpy(f->val, start, f->len);
    *p = s;
    return true;
}

static bool json_value(const char **p, struct field *f)
{
    static const char *const words[] = { "true", "false", "null" };
    f->quoted = **p == '"';
    if (f->quoted)
        return json_string(p, f->val, &f->len, sizeof(f->val));
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(*p, words[i], n) == 0) {
            memcpy(f->val, words[i], n);
            f->len = n;
            *p += n;
            return true;
        }
    }
    return json_number(p, f);
}

/* Parse a whole JSON line ({...}\n) into fields[]; returns the field count or -1. */
static int parse_json(const char *line)
{
    const char *p = line;
    int n = 0;
    if (!st_utf8_valid(line, strlen(line)) || *p++ != '{')
        return -1;
    while (*p != '}') {
        struct field *f = &fields[n++];
        size_t klen;
        if (n > 16 || (n > 1 && *p++ != ','))
            return -1;
        if (!json_string(&p, f->key, &klen, sizeof(f->key) - 1) || *p++ != ':')
            return -1;
        f->key[klen] = '\0';
        if (!json_value(&p, f))
            return -1;
        f->val[f->len] = '\0';
    }
    return strcmp(p, "}\n") == 0 ? n : -1;
}

/* ---- tests: format ---- */

static void kv_basic_line(void **state)
{
    (void)state;
    st_log_info("listening", ST_LOG_STR("addr", "127.0.0.1"), ST_LOG_INT("port", 8080));
    assert_string_equal(one_line(), "level=info msg=listening addr=127.0.0.1 port=8080\n");
    st_log_info("no fields");
    assert_string_equal(one_line(), "level=info msg=\"no fields\"\n");
    st_log_warn("w");
    assert_string_equal(one_line(), "level=warn msg=w\n");
    st_log_error("e", ST_LOG_BOOL("fatal", false));
    assert_string_equal(one_line(), "level=error msg=e fatal=false\n");
}

static void kv_value_types(void **state)
{
    (void)state;
    st_log_info("t", ST_LOG_INT("i", -42), ST_LOG_INT("min", INT64_MIN), ST_LOG_UINT("u", UINT64_MAX),
                ST_LOG_F64("f", 1.5), ST_LOG_F64("g", 0.1), ST_LOG_F64("third", 1.0 / 3), ST_LOG_BOOL("b", true));
    assert_string_equal(one_line(), "level=info msg=t i=-42 min=-9223372036854775808 "
                                    "u=18446744073709551615 f=1.5 g=0.1 "
                                    "third=0.33333333333333331 b=true\n");
    st_log_info("t", ST_LOG_F64("nan", NAN), ST_LOG_F64("inf", INFINITY), ST_LOG_F64("ninf", -INFINITY),
                ST_LOG_F64("big", 1e300), ST_LOG_STR("null", NULL), ST_LOG_SLICE("sl", st_str("abcdef", 3)),
                ST_LOG_SLICE("empty", st_str(NULL, 0)));
    assert_string_equal(one_line(), "level=info msg=t nan=NaN inf=+Inf ninf=-Inf big=1e+300 "
                                    "null=\"\" sl=abc empty=\"\"\n");
}

static void kv_escaping(void **state)
{
    (void)state;
    st_log_info("esc", ST_LOG_STR("space", "hello world"), ST_LOG_STR("quote", "a\"b"), ST_LOG_STR("nl", "a\nb\r\tc"),
                ST_LOG_STR("ctl", "\x01\x1f\x7f"), ST_LOG_STR("eq", "a=b"), ST_LOG_STR("bs", "a\\b"),
                ST_LOG_STR("empty", ""));
    assert_string_equal(one_line(), "level=info msg=esc space=\"hello world\" "
                                    "quote=\"a\\\"b\" nl=\"a\\nb\\r\\tc\" "
                                    "ctl=\"\\x01\\x1f\\x7f\" eq=\"a=b\" bs=\"a\\\\b\" "
                                    "empty=\"\"\n");
    st_log_info("utf8", ST_LOG_STR("ok", "caf\xc3\xa9"), ST_LOG_STR("bad", "caf\xe9"), ST_LOG_STR("cut", "\xe2\x82"),
                ST_LOG_SLICE("nul", st_str("a\0b", 3)));
    assert_string_equal(one_line(), "level=info msg=utf8 ok=caf\xc3\xa9 bad=\"caf\\xe9\" "
                                    "cut=\"\\xe2\\x82\" nul=\"a\\x00b\"\n");
    st_log_info("hello \"world\"\n", ST_LOG_STR("bad key=", "v"), ST_LOG_INT("", 1));
    assert_string_equal(one_line(), "level=info msg=\"hello \\\"world\\\"\\n\" bad_key_=v _=1\n");
}

static void json_exact(void **state)
{
    (void)state;
    st_log_set_format(ST_LOG_JSON);
    st_log_info("listening", ST_LOG_STR("addr", "127.0.0.1"), ST_LOG_INT("port", 8080));
    assert_string_equal(one_line(), "\"level\":\"info\",\"msg\":\"listening\","
                                    "\"addr\":\"127.0.0.1\",\"port\":8080}\n");
    st_log_warn("esc", ST_LOG_STR("s", "a\"b\\c\nd\x01\x7f"), ST_LOG_STR("u", "caf\xc3\xa9"),
                ST_LOG_STR("bad", "x\xffy"), ST_LOG_STR("null", NULL), ST_LOG_BOOL("b", true), ST_LOG_F64("nan", NAN),
                ST_LOG_F64("f", -2.5), ST_LOG_UINT("u64", 7));
    assert_string_equal(one_line(), "\"level\":\"warn\",\"msg\":\"esc\","
                                    "\"s\":\"a\\\"b\\\\c\\nd\\u0001\\u007f\","
                                    "\"u\":\"caf\xc3\xa9\",\"bad\":\"x\\ufffdy\","
                                    "\"null\":null,\"b\":true,\"nan\":\"NaN\","
                                    "\"f\":-2.5,\"u64\":7}\n");
    st_log_info("k", ST_LOG_STR("we\"ird key", "v"));
    assert_string_equal(one_line(), "\"level\":\"info\",\"msg\":\"k\",\"we\\\"ird key\":\"v\"}\n");
}

/* ---- tests: lines parse back into the same fields ---- */

static uint64_t rng = 0x243f6a8885a308d3u;

static uint64_t next_rand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* Random bytes, weighted toward the ones that need escaping. */
static size_t random_value(char *buf, size_t max)
{
    static const char special[] = " \"=\\\n\r\t\x01\x7f\x80\xff\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    size_t n = next_rand() % max;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_rand();
        buf[i] = r % 3 == 0   ? special[(r >> 8) % (sizeof(special) - 1)]
                 : r % 3 == 1 ? (char)('a' + (r >> 8) % 26)
                              : (char)(r >> 8);
    }
    return n;
}

/* What JSON can carry of some bytes: each byte that does not start valid UTF-8 becomes
 * U+FFFD (the logger's documented substitution). */
static size_t json_expected(const char *s, size_t n, char *dst)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = st_utf8_decode(s + i, n - i, &cp);
        if (len == 0) {
            static const char fffd[3] = { '\xef', '\xbf', '\xbd' }; /* U+FFFD in UTF-8 */
            memcpy(dst + o, fffd, 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(dst + o, s + i, len);
        o += len;
        i += len;
    }
    return o;
}

static void round_trip(enum st_log_format format)
{
    st_log_set_format(format);
    for (int iter = 0; iter < 2000; iter++) {
        char a[64], b[64], want[64 * 3];
        size_t na = random_value(a, sizeof(a)), nb = random_value(b, sizeof(b));
        a[na] = '\0';
        st_log_info(a, ST_LOG_SLICE("a", st_str(a, na)), ST_LOG_SLICE("b", st_str(b, nb)));
        drain();
        int n = format == ST_LOG_KV ? parse_kv(out) : parse_json(out);
        if (n != 5)
            fail_msg("line does not parse: %s", out);
        const char *keys[] = { "ts", "level", "msg", "a", "b" };
        for (int i = 0; i < 5; i++)
            assert_string_equal(fields[i].key, keys[i]);
        const char *msg = a; /* the message is a C string: it ends at the first NUL */
        size_t nmsg = strlen(a);
        struct {
            const char *s;
            size_t n;
            const struct field *f;
        } check[] = {
            { msg, nmsg, &fields[2] },
            { a, na, &fields[3] },
            { b, nb, &fields[4] },
        };
        for (int i = 0; i < 3; i++) {
            size_t nw = check[i].n;
            const char *w = check[i].s;
            if (format == ST_LOG_JSON) {
                nw = json_expected(w, nw, want);
                w = want;
            }
            assert_int_equal(check[i].f->len, nw);
            assert_memory_equal(check[i].f->val, w, nw);
        }
    }
}

static void kv_round_trip(void **state)
{
    (void)state;
    round_trip(ST_LOG_KV);
}
static void json_round_trip(void **state)
{
    (void)state;
    round_trip(ST_LOG_JSON);
}

/* ---- tests: levels ---- */

static int evaluated;

static int64_t side_effect(void)
{
    return ++evaluated;
}

static void level_filtering(void **state)
{
    (void)state;
    evaluated = 0;
    st_log_debug("hidden", ST_LOG_INT("n", side_effect()));
    assert_int_equal(evaluated, 0);
    assert_int_equal(drain(), 0);

    st_log_set_level(ST_LOG_WARN);
    st_log_info("hidden", ST_LOG_INT("n", side_effect()));
    assert_int_equal(evaluated, 0);
    assert_int_equal(drain(), 0);
    st_log_warn("shown", ST_LOG_INT("n", side_effect()));
    assert_int_equal(evaluated, 1);
    assert_string_equal(one_line(), "level=warn msg=shown n=1\n");

    st_log_set_level(ST_LOG_OFF);
    st_log_error("hidden", ST_LOG_INT("n", side_effect()));
    assert_int_equal(evaluated, 1);
    assert_int_equal(drain(), 0);

    st_log_set_level(ST_LOG_DEBUG);
    st_log_debug("shown", ST_LOG_INT("n", side_effect()));
    assert_string_equal(one_line(), "level=debug msg=shown n=2\n");
}

static void parse_names(void **state)
{
    (void)state;
    enum st_log_level lv = ST_LOG_INFO;
    enum st_log_format fmt = ST_LOG_KV;
    assert_int_equal(st_log_parse_level("debug", &lv), 0);
    assert_int_equal(lv, ST_LOG_DEBUG);
    assert_int_equal(st_log_parse_level("WARN", &lv), 0);
    assert_int_equal(lv, ST_LOG_WARN);
    assert_int_equal(st_log_parse_level("error", &lv), 0);
    assert_int_equal(lv, ST_LOG_ERROR);
    assert_int_equal(st_log_parse_level("off", &lv), 0);
    assert_int_equal(lv, ST_LOG_OFF);
    assert_int_equal(st_log_parse_level("info", &lv), 0);
    assert_int_equal(lv, ST_LOG_INFO);
    assert_int_equal(st_log_parse_level("verbose", &lv), ST_EPARSE);
    assert_int_equal(st_log_parse_level("", &lv), ST_EPARSE);
    assert_int_equal(st_log_parse_level(NULL, &lv), ST_EPARSE);
    assert_int_equal(lv, ST_LOG_INFO);
    assert_int_equal(st_log_parse_format("json", &fmt), 0);
    assert_int_equal(fmt, ST_LOG_JSON);
    assert_int_equal(st_log_parse_format("kv", &fmt), 0);
    assert_int_equal(fmt, ST_LOG_KV);
    assert_int_equal(st_log_parse_format("xml", &fmt), ST_EPARSE);
}

/* ---- tests: truncation ---- */

/* Check a truncated line: at most 8 KiB, parses, ends with the marker; returns the
 * field count. */
static int check_truncated(enum st_log_format format)
{
    size_t n = drain();
    assert_true(n <= LINE_CAP);
    assert_ptr_equal(strchr(out, '\n'), out + n - 1);
    int nf = format == ST_LOG_KV ? parse_kv(out) : parse_json(out);
    if (nf < 0)
        fail_msg("truncated line does not parse: %.200s...", out);
    assert_string_equal(fields[nf - 1].key, "truncated");
    assert_memory_equal(fields[nf - 1].val, "true", 4);
    assert_false(fields[nf - 1].quoted);
    return nf;
}

static void truncation_cuts_and_marks(void **state)
{
    (void)state;
    static char big[20000];
    for (int f = 0; f < 2; f++) {
        enum st_log_format format = f ? ST_LOG_JSON : ST_LOG_KV;
        st_log_set_format(format);
        /* plain bytes, bytes that escape to 2, 4 and 6, and multi-byte characters */
        const char *unit[] = { "a", "\"", "\x01", "\xc3\xa9", "\xf0\x9f\x98\x80", "\xff" };
        for (size_t u = 0; u < sizeof(unit) / sizeof(unit[0]); u++) {
            size_t ul = strlen(unit[u]), len = 0;
            while (len + ul < sizeof(big)) {
                memcpy(big + len, unit[u], ul);
                len += ul;
            }
            st_log_info("m", ST_LOG_SLICE("v", st_str(big, len)), ST_LOG_INT("after", 1));
            int nf = check_truncated(format);
            assert_int_equal(nf, 5); /* ts level msg v truncated: "after" is gone */
            assert_string_equal(fields[3].key, "v");
            assert_true(fields[3].len > 1000);                          /* most of the room was used */
            if (unit[u][0] != '\xff' || format == ST_LOG_KV)            /* JSON replaces \xff */
                assert_memory_equal(fields[3].val, big, fields[3].len); /* a prefix */
            assert_int_equal(fields[3].len % (format == ST_LOG_JSON && unit[u][0] == '\xff' ? 3 : ul),
                             0); /* whole characters only */
        }
        /* a huge message is cut too */
        memset(big, 'm', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        st_log_info(big, ST_LOG_INT("n", 1));
        assert_int_equal(check_truncated(format), 4);
    }
}

/* Around the cap, a string field is whole, cut to a non-empty prefix, or left out; a
 * number is whole or left out; nothing goes over 8 KiB and every line parses. */
static void truncation_boundary(void **state)
{
    (void)state;
    static char big[LINE_CAP];
    memset(big, 'x', sizeof(big));
    for (int f = 0; f < 2; f++) {
        enum st_log_format format = f ? ST_LOG_JSON : ST_LOG_KV;
        st_log_set_format(format);
        bool saw_whole = false, saw_s_cut = false, saw_s_dropped = false;
        for (size_t len = LINE_CAP - 200; len <= LINE_CAP; len++) {
            st_log_info("m", ST_LOG_SLICE("v", st_str(big, len)), ST_LOG_STR("s", "abcdefgh"),
                        ST_LOG_INT("n", 12345678));
            assert_true(drain() <= LINE_CAP);
            int nf = format == ST_LOG_KV ? parse_kv(out) : parse_json(out);
            assert_true(nf == 5 || nf == 6);
            if (strcmp(fields[nf - 1].key, "n") == 0) { /* the whole line */
                assert_int_equal(nf, 6);
                assert_int_equal(fields[3].len, len);
                assert_string_equal(fields[4].val, "abcdefgh");
                assert_string_equal(fields[5].val, "12345678");
                saw_whole = true;
                continue;
            }
            assert_string_equal(fields[nf - 1].key, "truncated");
            assert_true(fields[3].len <= len);
            if (nf == 6) { /* v whole, s cut or whole; n left out */
                assert_int_equal(fields[3].len, len);
                assert_string_equal(fields[4].key, "s");
                assert_true(fields[4].len > 0 && fields[4].len <= 8);
                assert_memory_equal(fields[4].val, "abcdefgh", fields[4].len);
                saw_s_cut |= fields[4].len < 8;
            } else {
                saw_s_dropped |= fields[3].len == len;
            }
        }
        assert_true(saw_whole && saw_s_cut && saw_s_dropped);
        st_log_info("short", ST_LOG_INT("n", 1));
        assert_null(strstr(one_line(), "truncated")); /* the state does not leak */
    }
}

/* ---- tests: delivery ---- */

static void keeps_errno(void **state)
{
    (void)state;
    errno = ENOENT;
    st_log_info("x", ST_LOG_INT("n", 1));
    assert_int_equal(errno, ENOENT);
    drain();
    st_log_set_fd(-1); /* the write fails with EBADF; errno must not show it */
    errno = EPERM;
    st_log_info("x", ST_LOG_INT("n", 1));
    assert_int_equal(errno, EPERM);
}

#define THREADS 4
#define LINES_PER_THREAD 500

static void *writer(void *arg)
{
    long id = *(const long *)arg;
    char pad[300];
    memset(pad, 'a' + (int)id, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int i = 0; i < LINES_PER_THREAD; i++)
        st_log_info("concurrent", ST_LOG_INT("thread", id), ST_LOG_INT("i", i), ST_LOG_STR("pad", pad));
    return NULL;
}

/* Lines written by several threads at once come out whole (one write(2) each). */
static void concurrent_lines_whole(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    static const long ids[THREADS] = { 0, 1, 2, 3 };
    fcntl(pipe_rd, F_SETFL, 0); /* blocking: read while the writers fill the pipe */
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)&ids[i]), 0);
    static char all[(size_t)THREADS * LINES_PER_THREAD * 400];
    size_t len = 0, lines = 0;
    while (lines < (size_t)THREADS * LINES_PER_THREAD) {
        struct pollfd pfd = { .fd = pipe_rd, .events = POLLIN };
        if (poll(&pfd, 1, 10000) != 1) /* lines missing: fail rather than hang */
            fail_msg("only %zu of %d lines arrived", lines, THREADS * LINES_PER_THREAD);
        ssize_t r = read(pipe_rd, all + len, sizeof(all) - len);
        assert_true(r > 0);
        for (ssize_t i = 0; i < r; i++)
            lines += all[len + (size_t)i] == '\n';
        len += (size_t)r;
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int next[THREADS] = { 0 };
    for (char *line = all; line < all + len;) {
        char *nl = memchr(line, '\n', (size_t)(all + len - line));
        char save = nl[1];
        nl[1] = '\0';
        assert_int_equal(parse_kv(line), 6);
        nl[1] = save;
        long id = strtol(fields[3].val, NULL, 10);
        assert_true(id >= 0 && id < THREADS);
        assert_int_equal(strtol(fields[4].val, NULL, 10), next[id]++); /* in order per thread */
        assert_int_equal(fields[5].len, 299);
        assert_int_equal(fields[5].val[298], 'a' + id);
        line = nl + 1;
    }
    fcntl(pipe_rd, F_SETFL, O_NONBLOCK);
}

/* ---- log files ---- */

static char dir[64], log_path[128];

static int file_setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/strata-test-log-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(log_path, sizeof(log_path), "%s/app.log", dir);
    st_log_set_level(ST_LOG_INFO);
    st_log_set_format(ST_LOG_KV);
    return 0;
}

static int file_teardown(void **state)
{
    (void)state;
    st_log_set_fd(2); /* closes the log file */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The whole content of path, NUL-terminated, in out ("" if it does not exist). */
static size_t slurp(const char *path)
{
    out[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t n = 0;
    ssize_t r;
    while ((r = read(fd, out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)r;
    close(fd);
    out[n] = '\0';
    return n;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Appends to what is there, creates with 0640 (our umask is cleared for the check). */
static void file_appends(void **state)
{
    (void)state;
    mode_t old_mask = umask(0);
    assert_int_equal(st_log_set_file(log_path), 0);
    umask(old_mask);
    struct stat st;
    assert_int_equal(stat(log_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    st_log_info("first");
    st_log_set_fd(2);
    assert_int_equal(st_log_set_file(log_path), 0);
    st_log_info("second");
    slurp(log_path);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "msg=first\n"));
    assert_non_null(strstr(out, "msg=second\n"));
    assert_true(strstr(out, "msg=first") < strstr(out, "msg=second"));
    /* A path that cannot be opened leaves the current destination alone. */
    char bad[160];
    snprintf(bad, sizeof(bad), "%s/no/such/dir.log", dir);
    assert_int_equal(st_log_set_file(bad), -ENOENT);
    st_log_info("third");
    slurp(log_path);
    assert_non_null(strstr(out, "msg=third\n"));
}

/* logrotate: rename the file, reopen, and the next lines land in a new file at the path. */
static void file_reopen_after_rename(void **state)
{
    (void)state;
    char rotated[160];
    snprintf(rotated, sizeof(rotated), "%s.1", log_path);
    assert_int_equal(st_log_set_file(log_path), 0);
    st_log_info("before");
    assert_int_equal(rename(log_path, rotated), 0);
    st_log_info("still-old"); /* until the reopen, the renamed file gets the lines */
    assert_int_equal(st_log_reopen(), 0);
    st_log_info("after");
    slurp(rotated);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "msg=before\n"));
    assert_non_null(strstr(out, "msg=still-old\n"));
    slurp(log_path);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "msg=after\n"));
    /* A second rotation works the same way. */
    assert_int_equal(rename(log_path, rotated), 0);
    assert_int_equal(st_log_reopen(), 0);
    st_log_info("again");
    slurp(log_path);
    assert_int_equal(count_lines(out), 1);
    assert_non_null(strstr(out, "msg=again\n"));
}

/* A reopen that fails keeps the old file, warns in it, and keeps logging there. */
static void file_reopen_failure_keeps_old(void **state)
{
    (void)state;
    char rotated[160];
    snprintf(rotated, sizeof(rotated), "%s.1", log_path);
    assert_int_equal(st_log_set_file(log_path), 0);
    assert_int_equal(rename(log_path, rotated), 0);
    assert_int_equal(mkdir(log_path, 0700), 0); /* open(2) for writing fails with EISDIR, even as root */
    assert_int_equal(st_log_reopen(), -EISDIR);
    st_log_info("after");
    slurp(rotated);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "level=warn msg=\"cannot reopen the log file, still writing to the old one\""));
    assert_non_null(strstr(out, "msg=after\n"));
}

/* Without a log file (stderr or st_log_set_fd) a reopen does nothing. */
static void reopen_without_file(void **state)
{
    (void)state;
    assert_int_equal(st_log_reopen(), 0);
    assert_int_equal(drain(), 0);
    st_log_info("x");
    assert_non_null(strstr(one_line(), "msg=x"));
}

#define ROTATIONS 20

/* Reopens racing with writers: every line lands whole in exactly one of the files. */
static void file_reopen_with_writers(void **state)
{
    (void)state;
    assert_int_equal(st_log_set_file(log_path), 0);
    pthread_t t[THREADS];
    static const long ids[THREADS] = { 0, 1, 2, 3 };
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)&ids[i]), 0);
    char rotated[160];
    for (int r = 0; r < ROTATIONS; r++) {
        snprintf(rotated, sizeof(rotated), "%s.%d", log_path, r);
        assert_int_equal(rename(log_path, rotated), 0);
        assert_int_equal(st_log_reopen(), 0);
        usleep(500);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    int next[THREADS] = { 0 };
    size_t total = 0;
    for (int r = 0; r <= ROTATIONS; r++) {
        if (r < ROTATIONS)
            snprintf(rotated, sizeof(rotated), "%s.%d", log_path, r);
        else
            snprintf(rotated, sizeof(rotated), "%s", log_path);
        static char all[(size_t)THREADS * LINES_PER_THREAD * 400];
        int fd = open(rotated, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        size_t len = 0;
        ssize_t n;
        while ((n = read(fd, all + len, sizeof(all) - 1 - len)) > 0)
            len += (size_t)n;
        close(fd);
        all[len] = '\0';
        assert_true(len == 0 || all[len - 1] == '\n');
        for (char *line = all; line < all + len;) {
            char *nl = strchr(line, '\n');
            char save = nl[1];
            nl[1] = '\0';
            assert_int_equal(parse_kv(line), 6);
            nl[1] = save;
            long id = strtol(fields[3].val, NULL, 10);
            assert_true(id >= 0 && id < THREADS);
            assert_int_equal(strtol(fields[4].val, NULL, 10), next[id]++); /* in order across files */
            assert_int_equal(fields[5].len, 299);
            total++;
            line = nl + 1;
        }
    }
    assert_int_equal(total, (size_t)THREADS * LINES_PER_THREAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(kv_basic_line, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_value_types, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(json_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(kv_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(json_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(level_filtering, setup, teardown),
        cmocka_unit_test(parse_names),
        cmocka_unit_test_setup_teardown(truncation_cuts_and_marks, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(keeps_errno, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_lines_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(file_appends, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(file_reopen_after_rename, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(file_reopen_failure_keeps_old, file_setup, file_teardown),
        cmocka_unit_test_setup_teardown(reopen_without_file, setup, teardown),
        cmocka_unit_test_setup_teardown(file_reopen_with_writers, file_setup, file_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
