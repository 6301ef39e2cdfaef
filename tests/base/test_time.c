/*
 * test_time.c - clocks, RFC 3339 and HTTP dates (formatting and parsing): fixed known
 * instants, calendar edge cases checked against the C library's gmtime_r, round trips, and
 * rejected input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/time.h"

static void assert_rfc3339(int64_t ms, const char *want)
{
    char buf[ST_TIME_RFC3339_LEN + 1];
    memset(buf, '#', sizeof(buf));
    assert_int_equal(st_time_format_rfc3339(ms, buf), ST_TIME_RFC3339_LEN);
    assert_string_equal(buf, want);
}

static int64_t parse_ok(const char *s)
{
    int64_t ms = 12345;
    assert_int_equal(st_time_parse_rfc3339(s, &ms), 0);
    return ms;
}

static void format_known_instants(void **state)
{
    (void)state;
    assert_rfc3339(0, "1970-01-01T00:00:00.000Z");
    assert_rfc3339(1, "1970-01-01T00:00:00.001Z");
    assert_rfc3339(-1, "1969-12-31T23:59:59.999Z");
    assert_rfc3339(1795827723456, "2026-11-28T01:02:03.456Z"); /* the example in time.h */
    assert_rfc3339(951782400000, "2000-02-29T00:00:00.000Z");  /* leap day of a 400-year */
    assert_rfc3339(951868800000, "2000-03-01T00:00:00.000Z");
    assert_rfc3339(1709164800000, "2024-02-29T00:00:00.000Z");
    assert_rfc3339(4107456000000, "2100-02-28T00:00:00.000Z"); /* 2100 is not leap */
    assert_rfc3339(4107542400000, "2100-03-01T00:00:00.000Z");
    assert_rfc3339(946684799999, "1999-12-31T23:59:59.999Z");
    assert_rfc3339(-62135596800000, "0001-01-01T00:00:00.000Z");
    assert_rfc3339(-62167219200000, "0000-01-01T00:00:00.000Z");
    assert_rfc3339(253402300799999, "9999-12-31T23:59:59.999Z");
}

static void format_clamps_out_of_range(void **state)
{
    (void)state;
    assert_rfc3339(-62167219200001, "0000-01-01T00:00:00.000Z");
    assert_rfc3339(INT64_MIN, "0000-01-01T00:00:00.000Z");
    assert_rfc3339(253402300800000, "9999-12-31T23:59:59.999Z");
    assert_rfc3339(INT64_MAX, "9999-12-31T23:59:59.999Z");
}

static void format_http_known(void **state)
{
    (void)state;
    char buf[ST_TIME_HTTP_LEN + 1];
    assert_int_equal(st_time_format_http(1795827723456, buf), ST_TIME_HTTP_LEN);
    assert_string_equal(buf, "Sat, 28 Nov 2026 01:02:03 GMT");
    st_time_format_http(0, buf);
    assert_string_equal(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
    st_time_format_http(784111777000, buf); /* the example of RFC 9110 section 5.6.7 */
    assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    st_time_format_http(-1, buf);
    assert_string_equal(buf, "Wed, 31 Dec 1969 23:59:59 GMT");
}

/* Every day over 1600..2500 (and a sample of the full range) against gmtime_r/strftime,
 * in both formats, and back through the parser. */
static void calendar_matches_libc(void **state)
{
    (void)state;
    const int64_t first = -11676096000LL / 86400, last = 16725225600LL / 86400; /* 1600, 2500 */
    for (int64_t day = -719528; day < 2932897; day += (day >= first && day <= last) ? 1 : 97) {
        int64_t secs = day * 86400 + 45296; /* at 12:34:56 */
        time_t t = (time_t)secs;
        struct tm tm;
        char want[64], got[ST_TIME_HTTP_LEN + 1];
        assert_non_null(gmtime_r(&t, &tm));
        strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.789Z", &tm);
        if (tm.tm_year + 1900 < 1000) /* glibc's %Y does not pad to 4 digits */
            snprintf(want, sizeof(want), "%04d-%02d-%02dT12:34:56.789Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        st_time_format_rfc3339(secs * 1000 + 789, got);
        assert_string_equal(got, want);
        assert_int_equal(parse_ok(got), secs * 1000 + 789);
        if (tm.tm_year + 1900 >= 1000) {
            strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm); /* C locale */
            st_time_format_http(secs * 1000, got);
            assert_string_equal(got, want);
        }
    }
}

static void round_trip_random(void **state)
{
    (void)state;
    const int64_t lo = -62167219200000, hi = 253402300799999;
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int64_t ms = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
        char buf[ST_TIME_RFC3339_LEN + 1];
        st_time_format_rfc3339(ms, buf);
        assert_int_equal(parse_ok(buf), ms);
    }
}

static void parse_variants(void **state)
{
    (void)state;
    const int64_t base = 1795827723000; /* 2026-11-28T01:02:03Z */
    assert_int_equal(parse_ok("2026-11-28T01:02:03Z"), base);
    assert_int_equal(parse_ok("2026-11-28T01:02:03.456Z"), base + 456);
    assert_int_equal(parse_ok("2026-11-28T01:02:03.4Z"), base + 400);
    assert_int_equal(parse_ok("2026-11-28T01:02:03.45Z"), base + 450);
    assert_int_equal(parse_ok("2026-11-28T01:02:03.456999999Z"), base + 456); /* truncated */
    assert_int_equal(parse_ok("2026-11-28t01:02:03z"), base);
    assert_int_equal(parse_ok("2026-11-28T03:02:03+02:00"), base);
    assert_int_equal(parse_ok("2026-11-27T19:32:03.456-05:30"), base + 456);
    assert_int_equal(parse_ok("2026-11-28T01:02:03+00:00"), base);
    assert_int_equal(parse_ok("2026-11-28T01:02:03-00:00"), base);
    assert_int_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999Z"), -1);
    assert_int_equal(parse_ok("2024-02-29T00:00:00Z"), 1709164800000);
    assert_int_equal(parse_ok("2000-02-29T00:00:00Z"), 951782400000);
}

static void parse_rejects_garbage(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "garbage",
        "2026",
        "2026-11-28",
        "2026-11-28T01:02:03", /* no zone */
        "2026-11-28T01:02:03.456",
        "2026-11-28 01:02:03Z",
        "2026-11-28T01:02Z",
        "2026-11-28T01:02:03.Z", /* empty fraction */
        "2026-11-28T01:02:03ZZ",
        "2026-11-28T01:02:03Z ",
        " 2026-11-28T01:02:03Z",
        "2026-11-28T01:02:03+0200",
        "2026-11-28T01:02:03+2:00",
        "2026-11-28T01:02:03+24:00",
        "2026-11-28T01:02:03+02:60",
        "2026-11-28T01:02:03UTC",
        "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-31T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T23:60:00Z",
        "2026-11-28T23:59:60Z",
        "2026-1-28T01:02:03Z",
        "+2026-11-28T01:02:03Z",
        "-001-11-28T01:02:03Z",
        "2026-11-28T01:02:-3Z",
        "2026/11/28T01:02:03Z",
        "2026-11-28T01:02:03,456Z",
        "\357\274\222\357\274\22026-11-28T01:02:03Z", /* fullwidth "20" (octal: 3 digits max) */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 777;
        if (st_time_parse_rfc3339(bad[i], &ms) != ST_EPARSE)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(ms, 777); /* untouched on failure */
    }
    int64_t ms;
    assert_int_equal(st_time_parse_rfc3339(NULL, &ms), ST_EPARSE);
}

static int64_t http_ok(const char *s)
{
    int64_t ms = 12345;
    if (st_time_parse_http(s, strlen(s), &ms) != 0)
        fail_msg("rejected \"%s\"", s);
    return ms;
}

static void parse_http_formats(void **state)
{
    (void)state;
    /* The three equivalent examples of RFC 9110 section 5.6.7. */
    assert_int_equal(http_ok("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777000);
    assert_int_equal(http_ok("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777000);
    assert_int_equal(http_ok("Sun Nov  6 08:49:37 1994"), 784111777000);
    assert_int_equal(http_ok("Sun Nov 16 08:49:37 1994"), 784111777000 + 10 * 86400000LL);
    assert_int_equal(http_ok("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    assert_int_equal(http_ok("Wed, 31 Dec 1969 23:59:59 GMT"), -1000);
    assert_int_equal(http_ok("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800000);
    assert_int_equal(http_ok("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799000);
    /* rfc850: a year more than 50 years ahead is in the past century; 00 is near now. */
    int64_t now = st_time_wall_ms();
    int64_t y00 = http_ok("Saturday, 01-Jan-00 00:00:00 GMT");
    assert_true(y00 == 946684800000 || y00 == 4102444800000); /* 2000 or 2100 */
    assert_true(y00 <= now + 51LL * 366 * 86400000);
    /* The weekday is not checked against the date (many clients get it wrong). */
    assert_int_equal(http_ok("Mon, 06 Nov 1994 08:49:37 GMT"), 784111777000);
}

static void parse_http_round_trip(void **state)
{
    (void)state;
    uint64_t x = 0x2545f4914f6cdd1du;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const int64_t lo = -30610224000LL, hi = 253402300799LL; /* 1000-01-01 .. 9999-12-31 */
        int64_t secs = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
        char buf[ST_TIME_HTTP_LEN + 1];
        st_time_format_http(secs * 1000, buf);
        assert_int_equal(http_ok(buf), secs * 1000);
    }
}

static void parse_http_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "garbage",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTX",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 23:60:00 GMT",
        "Sun, 06 Nov 1994 23:59:60 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 06 Now 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov   6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun, -6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov +994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 777;
        if (st_time_parse_http(bad[i], strlen(bad[i]), &ms) != ST_EPARSE)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(ms, 777);
    }
    int64_t ms = 777;
    /* Only len bytes count: a valid date followed by more bytes in memory, and a cut one. */
    const char *s = "Sun, 06 Nov 1994 08:49:37 GMTxyz";
    assert_int_equal(st_time_parse_http(s, 29, &ms), 0);
    assert_int_equal(ms, 784111777000);
    assert_int_equal(st_time_parse_http(s, 28, &ms), ST_EPARSE);
    assert_int_equal(st_time_parse_http("Sun, 06 Nov 1994\0 08:49:37 GMT", 30, &ms), ST_EPARSE);
    assert_int_equal(st_time_parse_http(NULL, 0, &ms), ST_EPARSE);
    char big[256];
    memset(big, 'A', sizeof(big));
    assert_int_equal(st_time_parse_http(big, sizeof(big), &ms), ST_EPARSE);
    assert_int_equal(ms, 784111777000);
}

static void clocks_move(void **state)
{
    (void)state;
    int64_t a = st_time_mono_ns(), am = st_time_mono_ms();
    st_time_sleep_ms(20);
    int64_t b = st_time_mono_ns(), bm = st_time_mono_ms();
    assert_true(b - a >= 20 * 1000000LL);
    assert_true(bm - am >= 19); /* ms values are truncated, so allow one for rounding */
    assert_true(b - a < 5 * 1000000000LL);
    st_time_sleep_ms(0);
    st_time_sleep_ms(-5); /* returns at once */

    int64_t wall = st_time_wall_ms();
    int64_t now = (int64_t)time(NULL) * 1000;
    assert_true(wall > now - 2000 && wall < now + 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_known_instants), cmocka_unit_test(format_clamps_out_of_range),
        cmocka_unit_test(format_http_known),     cmocka_unit_test(calendar_matches_libc),
        cmocka_unit_test(round_trip_random),     cmocka_unit_test(parse_variants),
        cmocka_unit_test(parse_rejects_garbage), cmocka_unit_test(parse_http_formats),
        cmocka_unit_test(parse_http_round_trip), cmocka_unit_test(parse_http_rejects),
        cmocka_unit_test(clocks_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
