/* test_buf.c - unit tests for the size-limited byte buffer (src/base/buf.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"

/* The invariants of buf.h, checked after every operation that matters. */
static void check_invariants(const struct st_buf *b)
{
    assert_true(b->len <= b->max);
    assert_true(b->len <= b->cap || (b->cap == 0 && b->len == 0));
    if (b->cap) {
        assert_non_null(b->data);
        assert_int_equal(b->data[b->len], '\0');
    }
}

static void expect_contents(const struct st_buf *b, const char *want)
{
    check_invariants(b);
    assert_int_equal(b->len, strlen(want));
    if (b->len)
        assert_memory_equal(b->data, want, b->len);
}

static void empty_buffer(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(st_buf_str(&b).len, 0);
    assert_int_equal(st_buf_append(&b, NULL, 0), 0);
    assert_int_equal(st_buf_reserve(&b, 0), 0);
    st_buf_clear(&b);
    st_buf_truncate(&b, 0);
    st_buf_consume(&b, 0);
    check_invariants(&b);
    st_buf_release(&b);
    st_buf_release(&b); /* twice is fine: the buffer is empty after the first */
}

static void append_and_grow(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_buf_append_c(&b, "hello"), 0);
    assert_int_equal(st_buf_append_byte(&b, ' '), 0);
    assert_int_equal(st_buf_append_str(&b, ST_STR_LIT("world")), 0);
    expect_contents(&b, "hello world");
    assert_string_equal(b.data, "hello world");

    /* Grow through many doublings; contents survive every realloc. */
    for (int i = 0; i < 100000; i++)
        assert_int_equal(st_buf_append_byte(&b, (char)('a' + i % 26)), 0);
    check_invariants(&b);
    assert_int_equal(b.len, 11 + 100000);
    assert_memory_equal(b.data, "hello world", 11);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(b.data[11 + i], 'a' + i % 26);
    st_buf_release(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void binary_bytes(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 64);
    assert_int_equal(st_buf_append(&b, "a\0b", 3), 0);
    check_invariants(&b);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b", 3);
    assert_true(st_str_eq(st_buf_str(&b), st_str("a\0b", 3)));
    st_buf_release(&b);
}

/* Exactly max bytes fit; one more fails and changes nothing. */
static void limit_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 10);
    assert_int_equal(st_buf_append_c(&b, "12345678"), 0);
    char *data = b.data;
    size_t cap = b.cap;

    assert_int_equal(st_buf_append_c(&b, "abc"), ST_ELIMIT);
    expect_contents(&b, "12345678");
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(st_buf_reserve(&b, 3), ST_ELIMIT);
    assert_int_equal(st_buf_reserve(&b, SIZE_MAX), ST_ELIMIT);
    assert_int_equal(st_buf_append(&b, "x", SIZE_MAX), ST_ELIMIT);
    expect_contents(&b, "12345678");

    assert_int_equal(st_buf_append_c(&b, "90"), 0);
    expect_contents(&b, "1234567890");
    assert_true(b.cap <= 10); /* growth is clamped to max */
    assert_int_equal(st_buf_append_byte(&b, 'x'), ST_ELIMIT);
    assert_int_equal(st_buf_append(&b, "", 0), 0);
    expect_contents(&b, "1234567890");
    st_buf_release(&b);
}

static void zero_limit(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 0);
    assert_int_equal(st_buf_append_byte(&b, 'x'), ST_ELIMIT);
    assert_int_equal(st_buf_printf(&b, "%d", 1), ST_ELIMIT);
    assert_int_equal(st_buf_printf(&b, "%s", ""), 0);
    expect_contents(&b, "");
    st_buf_release(&b);
}

static void printf_appends(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_buf_printf(&b, "%s=%d", "x", 42), 0);
    assert_int_equal(st_buf_printf(&b, ";%05u", 7u), 0);
    expect_contents(&b, "x=42;00007");

    /* Larger than any capacity so far: the measure-then-grow path. */
    char big[3000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(st_buf_printf(&b, "[%s]", big), 0);
    check_invariants(&b);
    assert_int_equal(b.len, 10 + 2 + sizeof(big) - 1);
    assert_memory_equal(b.data, "x=42;00007[zzz", 14);
    assert_int_equal(b.data[b.len - 1], ']');
    st_buf_release(&b);
}

/* vsnprintf writes into the spare room before the limit check: the NUL must survive. */
static void printf_limit_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 100);
    assert_int_equal(st_buf_append_c(&b, "abc"), 0);
    assert_true(b.cap > 3);
    memset(b.data + 4, '#', b.cap - 3); /* dirty the spare room */
    char big[200];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(st_buf_printf(&b, "%s", big), ST_ELIMIT);
    expect_contents(&b, "abc");
    assert_string_equal(b.data, "abc");

    /* Exactly up to the limit works. */
    big[97] = '\0';
    assert_int_equal(st_buf_printf(&b, "%s", big), 0);
    assert_int_equal(b.len, 100);
    check_invariants(&b);
    assert_int_equal(st_buf_printf(&b, "x"), ST_ELIMIT);
    assert_int_equal(b.len, 100);
    check_invariants(&b);
    st_buf_release(&b);
}

static void consume_and_truncate(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 1000);
    assert_int_equal(st_buf_append_c(&b, "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
    st_buf_consume(&b, 16);
    expect_contents(&b, "Host: x\r\n");
    st_buf_truncate(&b, 4);
    expect_contents(&b, "Host");
    st_buf_truncate(&b, 4);
    expect_contents(&b, "Host");
    st_buf_consume(&b, 4);
    expect_contents(&b, "");
    assert_int_equal(st_buf_append_c(&b, "again"), 0);
    expect_contents(&b, "again");
    st_buf_clear(&b);
    expect_contents(&b, "");
    assert_true(b.cap > 0); /* clear keeps the memory */
    st_buf_release(&b);
}

static void detach_hands_over_memory(void **state)
{
    (void)state;
    struct st_buf b;
    size_t len = 99;
    st_buf_init(&b, 100);
    char *s = st_buf_detach(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);

    assert_int_equal(st_buf_append_c(&b, "owned"), 0);
    s = st_buf_detach(&b, &len);
    assert_string_equal(s, "owned");
    assert_int_equal(len, 5);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    free(s);

    /* Emptied by consume, but with memory: still a valid string. */
    assert_int_equal(st_buf_append_c(&b, "xy"), 0);
    st_buf_consume(&b, 2);
    s = st_buf_detach(&b, NULL);
    assert_string_equal(s, "");
    free(s);

    /* Reusable after detaching. */
    assert_int_equal(st_buf_append_c(&b, "more"), 0);
    expect_contents(&b, "more");
    st_buf_release(&b);
}

static void reserve_does_not_change_len(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_buf_reserve(&b, 1000), 0);
    assert_true(b.cap >= 1000);
    assert_int_equal(b.len, 0);
    check_invariants(&b);
    char *data = b.data;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(st_buf_append_byte(&b, 'r'), 0);
    assert_ptr_equal(b.data, data); /* no reallocation after reserving */
    st_buf_release(&b);
}

static void max_is_clamped(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, SIZE_MAX);
    assert_int_equal(b.max, ST_BUF_UNLIMITED);
    assert_int_equal(st_buf_reserve(&b, SIZE_MAX), ST_ELIMIT);
    assert_int_equal(st_buf_append_c(&b, "ok"), 0);
    expect_contents(&b, "ok");
    st_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_buffer),
        cmocka_unit_test(append_and_grow),
        cmocka_unit_test(binary_bytes),
        cmocka_unit_test(limit_leaves_buffer_unchanged),
        cmocka_unit_test(zero_limit),
        cmocka_unit_test(printf_appends),
        cmocka_unit_test(printf_limit_leaves_buffer_unchanged),
        cmocka_unit_test(consume_and_truncate),
        cmocka_unit_test(detach_hands_over_memory),
        cmocka_unit_test(reserve_does_not_change_len),
        cmocka_unit_test(max_is_clamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
