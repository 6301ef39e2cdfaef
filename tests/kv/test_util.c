/*
 * test_util.c - unit tests of src/kv/util.c: option matching, Redis's strict number
 * parsing and double formatting, glob matching with stringmatchlen's rules, and names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "kv/internal.h"

static struct kv_bytes B(const char *s) {
    return kv_b(s, strlen(s));
}

static void
test_eq(void **state)
{
    (void)state;
    assert_true(kv_eq(B("nx"), "NX"));
    assert_true(kv_eq(B("WithScores"), "WITHSCORES"));
    assert_false(kv_eq(B("nxx"), "NX"));
    assert_false(kv_eq(B("n"), "NX"));
    assert_false(kv_eq(kv_b("N\0", 2), "NX"));
}

static void test_parse_i64(void **state)
{
    (void)state;
    int64_t v = 42;
    assert_true(kv_parse_i64(B("0"), &v));
    assert_int_equal(v, 0);
    assert_true(kv_parse_i64(B("-1"), &v));
    assert_int_equal(v, -1);
    assert_true(kv_parse_i64(B("9223372036854775807"), &v));
    assert_true(v == INT64_MAX);
    assert_true(kv_parse_i64(B("-9223372036854775808"), &v));
    assert_true(v == INT64_MIN);
    const char *bad[] = { "",
                          "+1",
                          "-0",
                          " 1",
                          "1 ",
                          "01",
                          "1a",
                          "-",
                          "9223372036854775808",
                          "-9223372036854775809",
                          "18446744073709551616",
                          "99999999999999999999",
                          "1.0",
                          "0x10",
                          "00" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        assert_false(kv_parse_i64(B(bad[i]), &v));
        assert_int_equal(v, 7);
    }
    assert_false(kv_parse_i64(kv_b("1\0", 2), &v));
}

static void test_parse_double(void **state)
{
    (void)state;
    double d;
    assert_true(kv_parse_double(B("1.5"), &d));
    assert_true(d == 1.5);
    assert_true(kv_parse_double(B("-0"), &d));
    assert_true(d == 0 && signbit(d));
    assert_true(kv_parse_double(B("+1"), &d));
    assert_true(d == 1);
    assert_true(kv_parse_double(B("inf"), &d));
    assert_true(isinf(d) && d > 0);
    assert_true(kv_parse_double(B("-inf"), &d));
    assert_true(isinf(d) && d < 0);
    assert_true(kv_parse_double(B("1e10"), &d));
    assert_true(d == 1e10);
    const char *bad[] = { "", "nan", "NaN", " 1", "1 ", "1x", "1e400", "-1e400", "1e-400", "abc", "." };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(kv_parse_double(B(bad[i]), &d));
    assert_false(kv_parse_double(kv_b("1\0", 2), &d));
    /* Long input goes through the heap path. */
    char lng[400];
    memset(lng, '0', sizeof(lng));
    lng[0] = '1';
    lng[1] = '.';
    assert_true(kv_parse_double(kv_b(lng, sizeof(lng)), &d));
    assert_true(d == 1);
}

static void expect_fmt(double d, const char *want)
{
    char buf[64];
    size_t n = kv_fmt_double(d, buf);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n);
}

static void test_fmt_double(void **state)
{
    (void)state;
    expect_fmt(1.1, "1.1000000000000001");
    expect_fmt(3, "3");
    expect_fmt(-2.5, "-2.5");
    expect_fmt(INFINITY, "inf");
    expect_fmt(-INFINITY, "-inf");
    expect_fmt(1e300, "1.0000000000000001e+300");
    expect_fmt(0.1, "0.10000000000000001");
}

struct glob_case {
    const char *pat, *s;
    bool nocase, want;
};

static void test_glob(void **state)
{
    (void)state;
    static const struct glob_case cases[] = {
        { "*", "anything", false, true },
        { "*", "", false, false }, /* stringmatchlen never matches "" (KEYS * short-cuts) */
        { "", "", false, true },
        { "h?llo", "hello", false, true },
        { "h?llo", "hllo", false, false },
        { "h*llo", "hllo", false, true },
        { "h*llo", "heeeello", false, true },
        { "h[ae]llo", "hallo", false, true },
        { "h[ae]llo", "hillo", false, false },
        { "h[^e]llo", "hallo", false, true },
        { "h[^e]llo", "hello", false, false },
        { "h[a-b]llo", "hbllo", false, true },
        { "h[b-a]llo", "hbllo", false, true }, /* reversed range */
        { "h[a-b]llo", "hcllo", false, false },
        { "h\\*llo", "h*llo", false, true },
        { "h\\*llo", "hello", false, false },
        { "[\\]]", "]", false, true },
        { "[abc", "b", false, true }, /* unterminated class ends at the pattern's end */
        { "[abc", "bc", false, false },
        { "a\\", "a\\", false, true }, /* trailing backslash is literal */
        { "HeLLo", "hello", true, true },
        { "HeLLo", "hello", false, false },
        { "[A-C]x", "bx", true, true },
        { "*a*b*c*", "xxaxxbxxcxx", false, true },
        { "*a*b*c*", "xxaxxcxxbxx", false, false },
        { "a*", "a", false, true },
        { "a**", "a", false, true },
        { "**", "", false, false },
        { "*x", "abcx", false, true },
        { "*x", "abcxy", false, false },
        { "user:*:name", "user:42:name", false, true },
        { "user:*:name", "user:42:nam", false, false },
        { "?", "", false, false },
        { "[^]", "a", false, true },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = kv_glob(B(cases[i].pat), B(cases[i].s), cases[i].nocase);
        if (got != cases[i].want)
            fail_msg("glob '%s' on '%s': got %d", cases[i].pat, cases[i].s, got);
    }
}

/* A pathological pattern must not take exponential time (Redis recursion did, once). */
static void test_glob_no_blowup(void **state)
{
    (void)state;
    char pat[64], s[4096];
    for (int i = 0; i < 30; i += 2) {
        pat[i] = 'a';
        pat[i + 1] = '*';
    }
    strcpy(pat + 30, "b");
    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = '\0';
    assert_false(kv_glob(B(pat), B(s), false));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(kv_enc_name(KV_ENC_EMBSTR), "embstr");
    assert_string_equal(kv_enc_name(KV_ENC_SKIPLIST), "skiplist");
    assert_string_equal(kv_enc_name(KV_ENC_LISTPACK), "listpack");
    assert_string_equal(kv_type_name(KV_ZSET), "zset");
    assert_string_equal(kv_type_name(KV_STRING), "string");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eq),         cmocka_unit_test(test_parse_i64), cmocka_unit_test(test_parse_double),
        cmocka_unit_test(test_fmt_double), cmocka_unit_test(test_glob),      cmocka_unit_test(test_glob_no_blowup),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
