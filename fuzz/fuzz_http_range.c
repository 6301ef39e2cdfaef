/*
 * fuzz_http_range.c - libFuzzer target for the header parsers of static file serving:
 * Range (st_http_parse_range), entity-tag lists (st_http_etag_match) and HTTP dates
 * (st_time_parse_http), plus the media-type lookup.
 *
 * Input: the first 8 bytes (little-endian, zero-padded when shorter) are the size of the
 * representation, the rest is the header value. Oracles:
 *   - a range is one of the three results, and a satisfiable one lies inside the size;
 *   - the result does not change with OWS added after the value or an empty list element
 *     added before it (RFC 9110 5.6.1.2), nor with the unit's case;
 *   - a range satisfiable for size n stays satisfiable, ending no earlier, for size n+1;
 *   - a strong etag match implies a weak one;
 *   - a parsed date formats and parses back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "base/err.h"
#include "base/str.h"
#include "base/time.h"
#include "http/static.h"

static int range(const char *p, size_t n, uint64_t size, uint64_t *first, uint64_t *last)
{
    /* An exact-size heap copy so a read past the value is caught. */
    char *copy = malloc(n ? n : 1);
    CHECK(copy);
    memcpy(copy, p, n);
    int rc = st_http_parse_range(st_str(copy, n), size, first, last);
    free(copy);
    CHECK(rc == 0 || rc == ST_ENOTFOUND || rc == ST_ELIMIT);
    if (rc == 0)
        CHECK(*first <= *last && *last < size);
    return rc;
}

static void check_range(const char *v, size_t n, uint64_t size)
{
    uint64_t f = 0, l = 0, f2 = 0, l2 = 0;
    int rc = range(v, n, size, &f, &l);

    char *alt = malloc(n + 4);
    CHECK(alt);
    memcpy(alt, v, n);
    alt[n] = ' '; /* trailing OWS */
    alt[n + 1] = '\t';
    CHECK(range(alt, n + 2, size, &f2, &l2) == rc);
    if (rc == 0)
        CHECK(f2 == f && l2 == l);

    const char *eq = memchr(v, '=', n);
    if (eq) { /* "unit=,<set>": an empty element first */
        size_t k = (size_t)(eq - v) + 1;
        memcpy(alt, v, k);
        alt[k] = ',';
        memcpy(alt + k + 1, v + k, n - k);
        CHECK(range(alt, n + 1, size, &f2, &l2) == rc);
        if (rc == 0)
            CHECK(f2 == f && l2 == l);
        for (size_t i = 0; i < k; i++) /* the unit is case-insensitive */
            alt[i] = (char)(v[i] ^ ((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ? 0x20 : 0));
        memcpy(alt + k, v + k, n - k);
        CHECK(range(alt, n, size, &f2, &l2) == rc);
        if (rc == 0)
            CHECK(f2 == f && l2 == l);
    }
    free(alt);

    if (rc == 0 && size < UINT64_MAX) { /* more bytes never unsatisfy it */
        CHECK(range(v, n, size + 1, &f2, &l2) == 0);
        CHECK(l2 >= l);
    }
}

static void check_etags(const char *v, size_t n)
{
    /* The value is matched against itself split at the first ';' and against fixed tags. */
    const char *semi = memchr(v, ';', n);
    struct st_str list = st_str(v, semi ? (size_t)(semi - v) : n);
    struct st_str tag = semi ? st_str(semi + 1, n - list.len - 1) : st_str_c("\"x\"");
    static const char *const tags[] = { "\"x\"", "W/\"x\"", "\"\"" };
    if (st_http_etag_match_strong(list, tag))
        CHECK(st_http_etag_match(list, tag));
    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        if (st_http_etag_match_strong(list, st_str_c(tags[i])))
            CHECK(st_http_etag_match(list, st_str_c(tags[i])));
}

static void check_date(const char *v, size_t n)
{
    int64_t ms = 0, back = 0;
    if (st_time_parse_http(v, n, &ms) != 0)
        return;
    CHECK(ms % 1000 == 0);
    char buf[ST_TIME_HTTP_LEN + 1];
    st_time_format_http(ms, buf);
    CHECK(st_time_parse_http(buf, ST_TIME_HTTP_LEN, &back) == 0 && back == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t rep = 0;
    size_t k = size < 8 ? size : 8;
    for (size_t i = 0; i < k; i++)
        rep |= (uint64_t)data[i] << (8 * i);
    const char *v = (const char *)data + k;
    size_t n = size - k;

    check_range(v, n, rep);
    check_range(v, n, rep & 0xffff); /* small sizes reach the clamping branches */
    check_etags(v, n);
    check_date(v, n);
    CHECK(st_http_mime_type(st_str(v, n)) != NULL);
    return 0;
}
