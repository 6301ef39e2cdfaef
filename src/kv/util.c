/*
 * util.c - small helpers every part of `strata kv` uses: option matching, Redis's strict
 * number parsing and formatting, glob matching, and the names of types and encodings.
 *
 * The parsers are deliberately as strict as Redis's string2ll/strtod checks: clients
 * depend on "+1", " 1", "01" and "-0" being errors, so being lenient would be a visible
 * difference.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/internal.h"

bool kv_eq(struct kv_bytes a, const char *lit)
{
    size_t n = strlen(lit);
    if (a.n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a.p[i]) != tolower((unsigned char)lit[i]))
            return false;
    return true;
}

/* Digits of "1..9[0-9]*" into *v without overflowing uint64; false on junk/overflow. */
static bool parse_digits(const char *p, size_t n, uint64_t *v)
{
    if (n == 0 || p[0] < '1' || p[0] > '9')
        return false;
    uint64_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    *v = acc;
    return true;
}

bool kv_parse_i64(struct kv_bytes b, int64_t *out)
{
    /* Like Redis's string2ll: at most 20 characters, "0" is the only form of zero. */
    if (b.n == 0 || b.n > 20)
        return false;
    if (b.n == 1 && b.p[0] == '0') {
        *out = 0;
        return true;
    }
    bool neg = b.p[0] == '-';
    uint64_t v;
    if (!parse_digits(b.p + neg, b.n - neg, &v))
        return false;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

bool kv_parse_double(struct kv_bytes b, double *out)
{
    /* strtod needs a terminated string; arguments are short, long ones are rare. */
    char stack[256], *buf = stack;
    if (b.n == 0 || isspace((unsigned char)b.p[0]) || memchr(b.p, '\0', b.n))
        return false;
    if (b.n >= sizeof(stack))
        buf = malloc(b.n + 1);
    if (!buf)
        return false;
    memcpy(buf, b.p, b.n);
    buf[b.n] = '\0';
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    bool ok = end == buf + b.n && !isnan(d) &&
              !(errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || fpclassify(d) == FP_ZERO));
    if (buf != stack)
        free(buf);
    if (ok)
        *out = d;
    return ok;
}

size_t kv_fmt_double(double d, char *buf)
{
    /* Redis 7.0's addReplyDouble: "inf"/"-inf", otherwise %.17g (so 1.1 reads
     * "1.1000000000000001", exactly what redis-server answers). */
    if (isinf(d)) {
        strcpy(buf, d > 0 ? "inf" : "-inf");
        return strlen(buf);
    }
    int n = snprintf(buf, 32, "%.17g", d);
    return n > 0 ? (size_t)n : 0;
}

static int fold(int c, bool nocase)
{
    return nocase ? tolower(c) : c;
}

/*
 * A [...] class at p[i] (just after the '['): sets *next past the class. As in Redis, an
 * unterminated class ends at the end of the pattern, "\x" is a literal x and "a-z" a
 * range whose ends may come in either order.
 */
static bool match_class(const char *p, size_t pn, size_t i, int c, bool nocase, size_t *next)
{
    bool neg = i < pn && p[i] == '^', m = false;
    i += neg;
    while (i < pn && p[i] != ']') {
        if (p[i] == '\\' && pn - i >= 2) {
            m |= (unsigned char)p[i + 1] == c;
            i += 2;
        } else if (pn - i >= 3 && p[i + 1] == '-') {
            int lo = fold((unsigned char)p[i], nocase), hi = fold((unsigned char)p[i + 2], nocase);
            int x = fold(c, nocase);
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            m |= x >= lo && x <= hi;
            i += 3;
        } else {
            m |= fold((unsigned char)p[i], nocase) == fold(c, nocase);
            i++;
        }
    }
    *next = i < pn ? i + 1 : pn;
    return neg ? !m : m;
}

/* One non-star pattern token at p[i] against character c. */
static bool match_one(const char *p, size_t pn, size_t i, int c, bool nocase, size_t *next)
{
    switch (p[i]) {
    case '?': *next = i + 1; return true;
    case '[': return match_class(p, pn, i + 1, c, nocase, next);
    case '\\':
        if (pn - i >= 2)
            i++;
        /* fallthrough */
    default: *next = i + 1; return fold((unsigned char)p[i], nocase) == fold(c, nocase);
    }
}

bool kv_glob(struct kv_bytes pattern, struct kv_bytes s, bool nocase)
{
    const char *p = pattern.p;
    size_t pn = pattern.n, pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
    /* Redis's stringmatchlen never matches an empty string, even against "**". */
    if (s.n == 0)
        return pn == 0;
    /* Every token but '*' eats exactly one character, so remembering only the last star
     * and retrying from one character further is complete, and O(n*m) without recursion. */
    while (si < s.n) {
        if (pi < pn && p[pi] == '*') {
            while (pi < pn && p[pi] == '*')
                pi++;
            if (pi == pn)
                return true;
            star_p = pi;
            star_s = si;
            continue;
        }
        size_t next;
        if (pi < pn && match_one(p, pn, pi, (unsigned char)s.p[si], nocase, &next)) {
            pi = next;
            si++;
            continue;
        }
        if (star_p == SIZE_MAX)
            return false;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

const char *kv_enc_name(enum kv_enc e)
{
    static const char *const names[] = {
        [KV_ENC_RAW] = "raw",           [KV_ENC_EMBSTR] = "embstr",       [KV_ENC_INT] = "int",
        [KV_ENC_LISTPACK] = "listpack", [KV_ENC_QUICKLIST] = "quicklist", [KV_ENC_HASHTABLE] = "hashtable",
        [KV_ENC_INTSET] = "intset",     [KV_ENC_SKIPLIST] = "skiplist",
    };
    return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

const char *kv_type_name(enum kv_type t)
{
    static const char *const names[] = {
        [KV_STRING] = "string", [KV_LIST] = "list", [KV_HASH] = "hash", [KV_SET] = "set", [KV_ZSET] = "zset",
    };
    return (unsigned)t < KV_NTYPES ? names[t] : "none";
}
