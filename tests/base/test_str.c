/* test_str.c - unit tests for borrowed string slices (src/base/str.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/str.h"

#define S(lit) ST_STR_LIT(lit)
static const struct st_str null_str = { NULL, 0 };

static void assert_slice(struct st_str s, const char *want)
{
    assert_int_equal(s.len, strlen(want));
    assert_true(st_str_eq_c(s, want));
}

static void constructors(void **state)
{
    (void)state;
    assert_int_equal(S("abc").len, 3);
    assert_int_equal(S("").len, 0);
    assert_int_equal(st_str_c(NULL).len, 0);
    assert_null(st_str_c(NULL).ptr);
    assert_int_equal(st_str_c("hello").len, 5);
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s!", ST_STR_FMT(st_str("abcdef", 3)));
    assert_string_equal(buf, "abc!");
}

static void equality(void **state)
{
    (void)state;
    assert_true(st_str_eq(S("abc"), S("abc")));
    assert_false(st_str_eq(S("abc"), S("abd")));
    assert_false(st_str_eq(S("abc"), S("ab")));
    assert_true(st_str_eq(null_str, S("")));
    assert_true(st_str_eq(null_str, null_str));
    assert_false(st_str_eq(null_str, S("a")));
    /* Embedded NULs are bytes like any other. */
    assert_false(st_str_eq(st_str("a\0b", 3), st_str("a\0c", 3)));
    assert_true(st_str_eq_c(S("x"), "x"));
    assert_true(st_str_eq_c(null_str, ""));
    assert_true(st_str_eq_c(null_str, NULL));
    assert_false(st_str_eq_c(S("x"), NULL));
}

static void case_insensitive_equality(void **state)
{
    (void)state;
    assert_true(st_str_ieq(S("Content-Type"), S("content-TYPE")));
    assert_true(st_str_ieq(S(""), null_str));
    assert_false(st_str_ieq(S("abc"), S("abd")));
    assert_false(st_str_ieq(S("abc"), S("abcd")));
    /* '@' and '`' sit next to 'A' and 'a'; '[' next to 'Z': not letters. */
    assert_false(st_str_ieq(S("@"), S("`")));
    assert_false(st_str_ieq(S("["), S("{")));
    /* ASCII only: bytes >= 0x80 compare exactly. */
    assert_false(st_str_ieq(S("\xc3\x84"), S("\xc3\xa4")));
    assert_true(st_str_ieq_c(S("GET"), "get"));
    assert_false(st_str_ieq_c(S("GET"), "post"));
}

static void prefix_suffix(void **state)
{
    (void)state;
    assert_true(st_str_starts_with(S("hello"), S("he")));
    assert_true(st_str_starts_with(S("hello"), S("hello")));
    assert_true(st_str_starts_with(S("hello"), S("")));
    assert_true(st_str_starts_with(null_str, null_str));
    assert_false(st_str_starts_with(S("he"), S("hello")));
    assert_false(st_str_starts_with(S("hello"), S("el")));
    assert_true(st_str_ends_with(S("hello"), S("llo")));
    assert_true(st_str_ends_with(S("hello"), S("")));
    assert_true(st_str_ends_with(null_str, S("")));
    assert_false(st_str_ends_with(S("lo"), S("hello")));
    assert_false(st_str_ends_with(S("hello"), S("hell")));
}

static void ordering(void **state)
{
    (void)state;
    assert_int_equal(st_str_cmp(S("abc"), S("abc")), 0);
    assert_true(st_str_cmp(S("abc"), S("abd")) < 0);
    assert_true(st_str_cmp(S("abd"), S("abc")) > 0);
    assert_true(st_str_cmp(S("ab"), S("abc")) < 0);
    assert_true(st_str_cmp(S("abc"), S("ab")) > 0);
    assert_true(st_str_cmp(null_str, S("a")) < 0);
    assert_int_equal(st_str_cmp(null_str, S("")), 0);
    /* memcmp order: bytes are unsigned. */
    assert_true(st_str_cmp(S("\x80"), S("\x7f")) > 0);
}

static void searching(void **state)
{
    (void)state;
    assert_int_equal(st_str_index(S("a,b,c"), ','), 1);
    assert_int_equal(st_str_index(S("abc"), 'c'), 2);
    assert_int_equal(st_str_index(S("abc"), 'x'), -1);
    assert_int_equal(st_str_index(null_str, 'x'), -1);
    /* The slice ends before the NUL terminator of the literal. */
    assert_int_equal(st_str_index(st_str("ab\0", 2), '\0'), -1);

    assert_int_equal(st_str_find(S("hello world"), S("world")), 6);
    assert_int_equal(st_str_find(S("hello world"), S("hello world")), 0);
    assert_int_equal(st_str_find(S("hello"), S("")), 0);
    assert_int_equal(st_str_find(null_str, S("")), 0);
    assert_int_equal(st_str_find(null_str, S("a")), -1);
    assert_int_equal(st_str_find(S("ab"), S("abc")), -1);
    assert_int_equal(st_str_find(S("aaab"), S("aab")), 1);
    assert_int_equal(st_str_find(st_str("abcdef", 4), S("de")), -1);
}

static void substrings(void **state)
{
    (void)state;
    assert_slice(st_str_sub(S("hello"), 1, 3), "el");
    assert_slice(st_str_sub(S("hello"), 0, 5), "hello");
    assert_slice(st_str_sub(S("hello"), 2, 100), "llo");
    assert_slice(st_str_sub(S("hello"), 4, 2), "");
    assert_slice(st_str_sub(S("hello"), 9, 12), "");
    assert_slice(st_str_sub(null_str, 0, 3), "");
    struct st_str s = S("hello");
    assert_ptr_equal(st_str_sub(s, 2, 4).ptr, s.ptr + 2);
}

static void trimming(void **state)
{
    (void)state;
    assert_slice(st_str_trim(S("  a b \t\r\n")), "a b");
    assert_slice(st_str_trim(S("\v\fx\f\v")), "x");
    assert_slice(st_str_trim(S("   ")), "");
    assert_slice(st_str_trim(S("")), "");
    assert_slice(st_str_trim(null_str), "");
    assert_slice(st_str_trim(S("no-space")), "no-space");
    /* NUL is not whitespace. */
    assert_int_equal(st_str_trim(st_str(" \0 ", 3)).len, 1);
}

static void cutting(void **state)
{
    (void)state;
    struct st_str head;
    bool found = false;
    struct st_str rest = st_str_cut(S("key: value"), ':', &head, &found);
    assert_true(found);
    assert_slice(head, "key");
    assert_slice(rest, " value");

    rest = st_str_cut(S("novalue"), ':', &head, &found);
    assert_false(found);
    assert_slice(head, "novalue");
    assert_null(rest.ptr);
    assert_int_equal(rest.len, 0);

    rest = st_str_cut(S("trailing,"), ',', &head, &found);
    assert_true(found);
    assert_slice(head, "trailing");
    assert_int_equal(rest.len, 0);

    rest = st_str_cut(null_str, ',', &head, NULL);
    assert_int_equal(head.len, 0);
    assert_int_equal(rest.len, 0);
}

static void cut_loop(void **state)
{
    (void)state;
    const char *want[] = { "a", "", "bc", "d" };
    size_t n = 0;
    struct st_str s = S("a,,bc,d");
    while (s.len) {
        struct st_str item;
        s = st_str_cut(s, ',', &item, NULL);
        assert_true(n < 4);
        assert_slice(item, want[n++]);
    }
    assert_int_equal(n, 4);
}

static void expect_i64(const char *text, int64_t want)
{
    int64_t v = 12345;
    assert_int_equal(st_str_to_i64(st_str_c(text), &v), 0);
    assert_true(v == want);
}

static void expect_i64_error(struct st_str s, int rc)
{
    int64_t v = 12345;
    assert_int_equal(st_str_to_i64(s, &v), rc);
    assert_int_equal(v, 12345); /* untouched on error */
}

static void parse_i64(void **state)
{
    (void)state;
    expect_i64("0", 0);
    expect_i64("-0", 0);
    expect_i64("42", 42);
    expect_i64("-42", -42);
    expect_i64("007", 7);
    expect_i64("9223372036854775807", INT64_MAX);
    expect_i64("-9223372036854775807", -INT64_MAX);
    expect_i64("-9223372036854775808", INT64_MIN);
    expect_i64("00000000000000000000000000009223372036854775807", INT64_MAX);

    expect_i64_error(S("9223372036854775808"), -ERANGE);
    expect_i64_error(S("-9223372036854775809"), -ERANGE);
    expect_i64_error(S("10000000000000000000"), -ERANGE);
    expect_i64_error(S("99999999999999999999999999999"), -ERANGE);
    expect_i64_error(S("-99999999999999999999999999999"), -ERANGE);

    expect_i64_error(S(""), ST_EPARSE);
    expect_i64_error(null_str, ST_EPARSE);
    expect_i64_error(S("-"), ST_EPARSE);
    expect_i64_error(S("--1"), ST_EPARSE);
    expect_i64_error(S("+1"), ST_EPARSE);
    expect_i64_error(S(" 1"), ST_EPARSE);
    expect_i64_error(S("1 "), ST_EPARSE);
    expect_i64_error(S("1a"), ST_EPARSE);
    expect_i64_error(S("0x10"), ST_EPARSE);
    expect_i64_error(S("1.5"), ST_EPARSE);
    expect_i64_error(S("99999999999999999999999x"), ST_EPARSE);
    expect_i64_error(st_str("1\0", 2), ST_EPARSE);
    /* The slice bounds the number, not a NUL. */
    int64_t v = 0;
    assert_int_equal(st_str_to_i64(st_str("12345", 2), &v), 0);
    assert_int_equal(v, 12);
}

static void expect_u64_error(struct st_str s, int rc)
{
    uint64_t v = 777;
    assert_int_equal(st_str_to_u64(s, &v), rc);
    assert_int_equal(v, 777);
}

static void parse_u64(void **state)
{
    (void)state;
    uint64_t v = 0;
    assert_int_equal(st_str_to_u64(S("0"), &v), 0);
    assert_true(v == 0);
    assert_int_equal(st_str_to_u64(S("18446744073709551615"), &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(st_str_to_u64(S("9223372036854775808"), &v), 0);
    assert_true(v == (uint64_t)INT64_MAX + 1);
    assert_int_equal(st_str_to_u64(S("18446744073709551609"), &v), 0);
    assert_true(v == UINT64_MAX - 6);

    expect_u64_error(S("18446744073709551616"), -ERANGE);
    expect_u64_error(S("18446744073709551620"), -ERANGE);
    expect_u64_error(S("184467440737095516150"), -ERANGE);
    expect_u64_error(S("-1"), ST_EPARSE);
    expect_u64_error(S("-0"), ST_EPARSE);
    expect_u64_error(S("+5"), ST_EPARSE);
    expect_u64_error(S(""), ST_EPARSE);
    expect_u64_error(null_str, ST_EPARSE);
    expect_u64_error(S("12 "), ST_EPARSE);
}

static void lower(void **state)
{
    (void)state;
    char dst[16];
    struct st_str r = st_str_lower(S("HeLLo-World_09@["), dst);
    assert_ptr_equal(r.ptr, dst);
    assert_slice(r, "hello-world_09@[");
    r = st_str_lower(S("\xc3\x84Z"), dst);
    assert_int_equal(r.len, 3);
    assert_memory_equal(r.ptr, "\xc3\x84z", 3);
    assert_int_equal(st_str_lower(null_str, dst).len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(constructors),  cmocka_unit_test(equality),  cmocka_unit_test(case_insensitive_equality),
        cmocka_unit_test(prefix_suffix), cmocka_unit_test(ordering),  cmocka_unit_test(searching),
        cmocka_unit_test(substrings),    cmocka_unit_test(trimming),  cmocka_unit_test(cutting),
        cmocka_unit_test(cut_loop),      cmocka_unit_test(parse_i64), cmocka_unit_test(parse_u64),
        cmocka_unit_test(lower),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
