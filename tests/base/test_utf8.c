/*
 * test_utf8.c - strict UTF-8: the classic malformed-input cases (after Markus Kuhn's
 * UTF-8 decoder stress test), prefix offsets, and an exhaustive encode/decode round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "base/utf8.h"

/* A byte string literal with its length (sizeof - 1 keeps embedded NULs). */
#define B(s) (s), (sizeof(s) - 1)

static void valid_sequences(void **state)
{
    (void)state;
    assert_true(st_utf8_valid(B("")));
    assert_true(st_utf8_valid(B("plain ascii, long enough for the 8-byte path")));
    assert_true(st_utf8_valid(B("\0embedded\0nul")));
    assert_true(st_utf8_valid(B("\x7f")));
    assert_true(st_utf8_valid(B("\xc2\x80")));         /* U+0080, smallest 2-byte */
    assert_true(st_utf8_valid(B("\xdf\xbf")));         /* U+07FF */
    assert_true(st_utf8_valid(B("\xe0\xa0\x80")));     /* U+0800, smallest 3-byte */
    assert_true(st_utf8_valid(B("\xed\x9f\xbf")));     /* U+D7FF, just below surrogates */
    assert_true(st_utf8_valid(B("\xee\x80\x80")));     /* U+E000, just above */
    assert_true(st_utf8_valid(B("\xef\xbf\xbd")));     /* U+FFFD */
    assert_true(st_utf8_valid(B("\xef\xbf\xbf")));     /* U+FFFF (noncharacter, valid) */
    assert_true(st_utf8_valid(B("\xf0\x90\x80\x80"))); /* U+10000, smallest 4-byte */
    assert_true(st_utf8_valid(B("\xf4\x8f\xbf\xbf"))); /* U+10FFFF, the last */
    assert_true(st_utf8_valid(B("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ok")));
}

static void overlong_forms(void **state)
{
    (void)state;
    assert_false(st_utf8_valid(B("\xc0\x80")));         /* NUL in 2 bytes */
    assert_false(st_utf8_valid(B("\xc1\xbf")));         /* U+007F in 2 bytes */
    assert_false(st_utf8_valid(B("\xe0\x80\x80")));     /* NUL in 3 */
    assert_false(st_utf8_valid(B("\xe0\x9f\xbf")));     /* U+07FF in 3 */
    assert_false(st_utf8_valid(B("\xf0\x80\x80\x80"))); /* NUL in 4 */
    assert_false(st_utf8_valid(B("\xf0\x8f\xbf\xbf"))); /* U+FFFF in 4 */
    assert_false(st_utf8_valid(B("\xc0\xaf")));         /* the classic overlong '/' */
    assert_false(st_utf8_valid(B("\xe0\x80\xaf")));
    assert_false(st_utf8_valid(B("\xf0\x80\x80\xaf")));
}

static void surrogates_and_range(void **state)
{
    (void)state;
    assert_false(st_utf8_valid(B("\xed\xa0\x80")));             /* U+D800 */
    assert_false(st_utf8_valid(B("\xed\xad\xbf")));             /* U+DB7F */
    assert_false(st_utf8_valid(B("\xed\xb0\x80")));             /* U+DC00 */
    assert_false(st_utf8_valid(B("\xed\xbf\xbf")));             /* U+DFFF */
    assert_false(st_utf8_valid(B("\xed\xa0\x80\xed\xb0\x80"))); /* a CESU-8 pair */
    assert_false(st_utf8_valid(B("\xf4\x90\x80\x80")));         /* U+110000 */
    assert_false(st_utf8_valid(B("\xf7\xbf\xbf\xbf")));         /* U+1FFFFF */
    /* 5- and 6-byte forms of the original UTF-8 */
    assert_false(st_utf8_valid(B("\xf8\x88\x80\x80\x80")));
    assert_false(st_utf8_valid(B("\xfc\x84\x80\x80\x80\x80")));
}

static void impossible_bytes(void **state)
{
    (void)state;
    for (unsigned b = 0xf5; b <= 0xff; b++) {
        char s[4] = { (char)b, '\x80', '\x80', '\x80' };
        assert_false(st_utf8_valid(s, 1));
        assert_false(st_utf8_valid(s, 4));
    }
    for (unsigned b = 0x80; b <= 0xbf; b++) { /* a lone continuation byte */
        char s[1] = { (char)b };
        assert_false(st_utf8_valid(s, 1));
    }
    assert_false(st_utf8_valid(B("\xc0")));
    assert_false(st_utf8_valid(B("\xc1")));
    assert_false(st_utf8_valid(B("\xfe\xfe\xff\xff")));
}

static void truncated_and_interrupted(void **state)
{
    (void)state;
    assert_false(st_utf8_valid(B("\xc3")));
    assert_false(st_utf8_valid(B("\xe2\x82")));
    assert_false(st_utf8_valid(B("\xf0\x9f\x98")));
    assert_false(st_utf8_valid(B("\xf0")));
    assert_false(st_utf8_valid(B("ab\xe2\x82")));
    /* a sequence cut short by an ASCII byte or a new lead */
    assert_false(st_utf8_valid(B("\xc3"
                                 "a")));
    assert_false(st_utf8_valid(B("\xe2\x82"
                                 "a")));
    assert_false(st_utf8_valid(B("\xe2\xc3\xa9")));
    /* too many continuation bytes */
    assert_false(st_utf8_valid(B("\xc3\xa9\xa9")));
}

static void prefix_offsets(void **state)
{
    (void)state;
    assert_int_equal(st_utf8_valid_prefix(B("")), 0);
    assert_int_equal(st_utf8_valid_prefix(B("hello")), 5);
    assert_int_equal(st_utf8_valid_prefix(B("\xff")), 0);
    assert_int_equal(st_utf8_valid_prefix(B("ab\xff"
                                            "cd")),
                     2);
    assert_int_equal(st_utf8_valid_prefix(B("caf\xc3\xa9\xc3")), 5); /* truncated at end */
    assert_int_equal(st_utf8_valid_prefix(B("\xe2\x82\xac\xe0\x80\x80")), 3);
    assert_int_equal(st_utf8_valid_prefix(B("0123456789abcdef\xed\xa0\x80")), 16);
    /* the bad byte right after 8-byte ASCII blocks, and inside one */
    assert_int_equal(st_utf8_valid_prefix(B("01234567\x80")), 8);
    assert_int_equal(st_utf8_valid_prefix(B("0123\x80"
                                            "567890")),
                     4);
    assert_int_equal(st_utf8_valid_prefix(B("0123456789abcdef0123456789abcde\xc3\xa9")), 33);
}

static void decode_values(void **state)
{
    (void)state;
    uint32_t cp = 0;
    assert_int_equal(st_utf8_decode(B("A"), &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(st_utf8_decode(B("\xc3\xa9"), &cp), 2);
    assert_int_equal(cp, 0xe9);
    assert_int_equal(st_utf8_decode(B("\xe2\x82\xac"), &cp), 3);
    assert_int_equal(cp, 0x20ac);
    assert_int_equal(st_utf8_decode(B("\xf0\x9f\x98\x80xyz"), &cp), 4); /* stops after one */
    assert_int_equal(cp, 0x1f600);
    assert_int_equal(st_utf8_decode(B("\xf0\x9f\x98"), &cp), 0);
    assert_int_equal(st_utf8_decode(B("\xed\xa0\x80"), &cp), 0);
    assert_int_equal(st_utf8_decode(B("\x80"), &cp), 0);
    assert_int_equal(st_utf8_decode("", 0, &cp), 0);
}

static void encode_rejects(void **state)
{
    (void)state;
    char out[4];
    assert_int_equal(st_utf8_encode(0xd800, out), 0);
    assert_int_equal(st_utf8_encode(0xdfff, out), 0);
    assert_int_equal(st_utf8_encode(0x110000, out), 0);
    assert_int_equal(st_utf8_encode(0xffffffff, out), 0);
    assert_int_equal(st_utf8_encode(0x20ac, out), 3);
    assert_memory_equal(out, "\xe2\x82\xac", 3);
}

/* Every scalar value encodes to a valid sequence of the right length that decodes back;
 * every non-scalar is refused. */
static void round_trip_all_scalars(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10ffff + 1; cp++) {
        char out[4];
        size_t n = st_utf8_encode(cp, out);
        if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
            assert_int_equal(n, 0);
            continue;
        }
        size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        assert_int_equal(n, want);
        assert_true(st_utf8_valid(out, n));
        assert_false(st_utf8_valid(out, n - 1) && n > 1); /* a cut sequence is invalid */
        uint32_t back = 0;
        assert_int_equal(st_utf8_decode(out, n, &back), n);
        assert_int_equal(back, cp);
    }
}

/* All 2- and 3-byte strings: the validator accepts exactly the strings whose greedy
 * decoding re-encodes to the same bytes, and their number matches a count made from the
 * definition (ASCII: 128 values, 2-byte: 1920, 3-byte: 63488 minus 2048 surrogates). */
static bool reencodes(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        char re[4];
        size_t len = st_utf8_decode(p + i, n - i, &cp);
        if (len == 0 || st_utf8_encode(cp, re) != len || memcmp(re, p + i, len) != 0)
            return false;
        i += len;
    }
    return true;
}

static void exhaustive_short_strings(void **state)
{
    (void)state;
    size_t valid2 = 0, valid3 = 0;
    for (uint32_t v = 0; v < (1u << 16); v++) {
        unsigned char s[2] = { (unsigned char)(v >> 8), (unsigned char)v };
        bool ok = st_utf8_valid(s, 2);
        assert_int_equal(ok, reencodes(s, 2));
        valid2 += ok;
    }
    for (uint32_t v = 0; v < (1u << 24); v++) {
        unsigned char s[3] = { (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v };
        bool ok = st_utf8_valid(s, 3);
        if (v % 61 == 0) /* the slow reference on a sample keeps the test fast */
            assert_int_equal(ok, reencodes(s, 3));
        valid3 += ok;
    }
    assert_int_equal(valid2, 128 * 128 + 1920);
    assert_int_equal(valid3, 128 * 128 * 128 + 2 * 128 * 1920 + (63488 - 2048));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_sequences),
        cmocka_unit_test(overlong_forms),
        cmocka_unit_test(surrogates_and_range),
        cmocka_unit_test(impossible_bytes),
        cmocka_unit_test(truncated_and_interrupted),
        cmocka_unit_test(prefix_offsets),
        cmocka_unit_test(decode_values),
        cmocka_unit_test(encode_rejects),
        cmocka_unit_test(round_trip_all_scalars),
        cmocka_unit_test(exhaustive_short_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
