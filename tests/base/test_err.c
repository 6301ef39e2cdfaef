/* test_err.c - unit tests for status codes, error messages and st_x* allocation (err.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static void strerror_texts(void **state)
{
    (void)state;
    assert_string_equal(st_strerror(ST_OK), "success");
    assert_string_equal(st_strerror(ST_EPARSE), "malformed input");
    assert_string_equal(st_strerror(ST_ENOTFOUND), "not found");
    assert_string_equal(st_strerror(ST_ELIMIT), "limit exceeded");
    assert_string_equal(st_strerror(ST_EUSAGE), "invalid usage");
    assert_string_equal(st_strerror(ST_ECONFLICT), "conflict");
    assert_string_equal(st_strerror(ST_EDB), "database error");
    assert_string_equal(st_strerror(ST_EINTERNAL), "internal error");
    /* Negative errno values read like strerror(). */
    assert_string_equal(st_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(st_strerror(ST_EAGAIN), strerror(EAGAIN));
    /* Positive values and codes outside both ranges are not errors we know. */
    assert_string_equal(st_strerror(5), "unknown error");
    assert_string_equal(st_strerror(ST_EBASE), "unknown error");
    assert_string_equal(st_strerror(-5000), "unknown error");
}

static void codes_do_not_collide_with_errno(void **state)
{
    (void)state;
    int codes[] = { ST_EPARSE, ST_ENOTFOUND, ST_ELIMIT, ST_EUSAGE, ST_ECONFLICT, ST_EDB, ST_EINTERNAL };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_true(codes[i] < ST_EBASE);
    assert_int_equal(ST_EAGAIN, -EAGAIN);
}

static void error_set_formats_and_returns_code(void **state)
{
    (void)state;
    struct st_error err;
    st_error_clear(&err);
    assert_int_equal(err.code, ST_OK);
    assert_string_equal(err.msg, "");

    assert_int_equal(st_error_set(&err, ST_EPARSE, "%s:%d: bad %s", "file.txt", 12, "id"), ST_EPARSE);
    assert_int_equal(err.code, ST_EPARSE);
    assert_string_equal(err.msg, "file.txt:12: bad id");

    /* A NULL err is allowed: only the code comes back. */
    assert_int_equal(st_error_set(NULL, -ENOENT, "%s", "ignored"), -ENOENT);
    st_error_clear(NULL);

    st_error_clear(&err);
    assert_int_equal(err.code, ST_OK);
    assert_string_equal(err.msg, "");
}

static void error_message_is_truncated_not_overflowed(void **state)
{
    (void)state;
    struct st_error err;
    char big[2000];
    memset(big, 'm', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    st_error_set(&err, ST_ELIMIT, "%s", big);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    assert_int_equal(err.msg[0], 'm');
}

static void x_allocators(void **state)
{
    (void)state;
    char *p = st_xmalloc(0);
    assert_non_null(p);
    free(p);
    int *z = st_xcalloc(16, sizeof(int));
    for (int i = 0; i < 16; i++)
        assert_int_equal(z[i], 0);
    z = st_xrealloc(z, 1000 * sizeof(int));
    z[999] = 1;
    free(z);
    char *s = st_xstrdup("copy");
    assert_string_equal(s, "copy");
    free(s);
    s = st_xstrndup("copy-this", 4);
    assert_string_equal(s, "copy");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_texts),
        cmocka_unit_test(codes_do_not_collide_with_errno),
        cmocka_unit_test(error_set_formats_and_returns_code),
        cmocka_unit_test(error_message_is_truncated_not_overflowed),
        cmocka_unit_test(x_allocators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
