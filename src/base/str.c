/*
 * str.c - comparisons, searching, trimming, splitting and integer parsing on borrowed
 * {ptr, len} slices.
 *
 * Every function accepts {NULL, 0}. The C library's memcmp/memchr/memmem are declared
 * nonnull even for a zero length, so empty slices are handled before calling them.
 */
#include "base/str.h"

#include <errno.h>
#include <stdint.h>

#include "base/err.h"

/* ASCII only, on purpose: tolower() depends on the locale, protocols do not. */
static inline unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

static inline bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

bool st_str_eq(struct st_str a, struct st_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool st_str_eq_c(struct st_str a, const char *b)
{
    return st_str_eq(a, st_str_c(b));
}

bool st_str_ieq(struct st_str a, struct st_str b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (ascii_lower((unsigned char)a.ptr[i]) != ascii_lower((unsigned char)b.ptr[i]))
            return false;
    }
    return true;
}

bool st_str_ieq_c(struct st_str a, const char *b)
{
    return st_str_ieq(a, st_str_c(b));
}

bool st_str_starts_with(struct st_str s, struct st_str prefix)
{
    return s.len >= prefix.len && st_str_eq(st_str(s.ptr, prefix.len), prefix);
}

bool st_str_ends_with(struct st_str s, struct st_str suffix)
{
    if (suffix.len == 0)
        return true;
    if (s.len < suffix.len)
        return false;
    return st_str_eq(st_str(s.ptr + (s.len - suffix.len), suffix.len), suffix);
}

int st_str_cmp(struct st_str a, struct st_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

ptrdiff_t st_str_index(struct st_str s, char c)
{
    const char *p = s.len ? memchr(s.ptr, c, s.len) : NULL;
    return p ? p - s.ptr : -1;
}

ptrdiff_t st_str_find(struct st_str s, struct st_str needle)
{
    if (needle.len == 0)
        return 0;
    if (needle.len > s.len)
        return -1;
    const char *p = memmem(s.ptr, s.len, needle.ptr, needle.len);
    return p ? p - s.ptr : -1;
}

struct st_str st_str_sub(struct st_str s, size_t from, size_t to)
{
    if (to > s.len)
        to = s.len;
    if (from > to)
        from = to;
    if (!s.ptr)
        return s; /* NULL + offset is undefined even when the offset is 0 */
    return st_str(s.ptr + from, to - from);
}

struct st_str st_str_trim(struct st_str s)
{
    size_t from = 0, to = s.len;
    while (from < to && is_space(s.ptr[from]))
        from++;
    while (to > from && is_space(s.ptr[to - 1]))
        to--;
    return st_str_sub(s, from, to);
}

struct st_str st_str_cut(struct st_str s, char sep, struct st_str *head, bool *found)
{
    ptrdiff_t i = st_str_index(s, sep);
    if (found)
        *found = i >= 0;
    if (i < 0) {
        *head = s;
        return st_str(NULL, 0);
    }
    *head = st_str(s.ptr, (size_t)i);
    return st_str(s.ptr + i + 1, s.len - (size_t)i - 1);
}

/*
 * The magnitude of a run of decimal digits, at most limit. The whole slice is checked
 * before overflow is reported, so "99999999999999999999x" is malformed, not too large.
 */
static int parse_digits(struct st_str s, uint64_t limit, uint64_t *out)
{
    uint64_t v = 0;
    bool overflow = false;

    if (s.len == 0)
        return ST_EPARSE;
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - (unsigned)'0';
        if (d > 9)
            return ST_EPARSE;
        if (v > (limit - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (overflow)
        return -ERANGE;
    *out = v;
    return 0;
}

int st_str_to_i64(struct st_str s, int64_t *out)
{
    bool neg = s.len > 0 && s.ptr[0] == '-';
    /* The negative range is one larger: -9223372036854775808 has no positive twin. */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t mag;

    int rc = parse_digits(neg ? st_str_sub(s, 1, s.len) : s, limit, &mag);
    if (rc)
        return rc;
    /* Negate in unsigned arithmetic: -(int64_t)mag would overflow for INT64_MIN. */
    *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

int st_str_to_u64(struct st_str s, uint64_t *out)
{
    return parse_digits(s, UINT64_MAX, out);
}

struct st_str st_str_lower(struct st_str s, char *dst)
{
    for (size_t i = 0; i < s.len; i++)
        dst[i] = (char)ascii_lower((unsigned char)s.ptr[i]);
    return st_str(dst, s.len);
}
