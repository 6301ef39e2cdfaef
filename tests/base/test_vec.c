/* test_vec.c - unit tests for the typed dynamic array macros (src/base/vec.h, vec.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/vec.h"

struct point {
    int x, y;
    char tag[20];
};

static void zero_initialized_is_empty(void **state)
{
    (void)state;
    ST_VEC(int) v = { 0 };
    assert_int_equal(v.len, 0);
    assert_int_equal(v.cap, 0);
    ST_VEC_CLEAR(&v);
    ST_VEC_RELEASE(&v);
    assert_null(v.items);
}

static void push_grows_by_doubling(void **state)
{
    (void)state;
    ST_VEC(int) v = { 0 };
    ST_VEC_PUSH(&v, 0);
    assert_int_equal(v.cap, 8);
    size_t last_cap = v.cap;
    for (int i = 1; i < 100000; i++) {
        ST_VEC_PUSH(&v, i);
        if (v.cap != last_cap) {
            assert_int_equal(v.cap, last_cap * 2);
            last_cap = v.cap;
        }
    }
    assert_int_equal(v.len, 100000);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(v.items[i], i);
    ST_VEC_RELEASE(&v);
    assert_int_equal(v.len, 0);
    assert_int_equal(v.cap, 0);
}

static int evaluations;

static int next_value(void)
{
    return ++evaluations;
}

static void push_evaluates_once(void **state)
{
    (void)state;
    ST_VEC(int) v = { 0 };
    evaluations = 0;
    for (int i = 0; i < 20; i++)
        ST_VEC_PUSH(&v, next_value());
    assert_int_equal(evaluations, 20);
    for (int i = 0; i < 20; i++)
        assert_int_equal(v.items[i], i + 1);
    ST_VEC_RELEASE(&v);
}

static void pop_and_clear(void **state)
{
    (void)state;
    ST_VEC(long) v = { 0 };
    for (long i = 0; i < 10; i++)
        ST_VEC_PUSH(&v, i * 10);
    assert_int_equal(ST_VEC_POP(&v), 90);
    assert_int_equal(ST_VEC_POP(&v), 80);
    assert_int_equal(v.len, 8);
    size_t cap = v.cap;
    ST_VEC_CLEAR(&v);
    assert_int_equal(v.len, 0);
    assert_int_equal(v.cap, cap); /* memory kept */
    ST_VEC_PUSH(&v, 5);
    assert_int_equal(v.items[0], 5);
    ST_VEC_RELEASE(&v);
}

static void struct_elements_and_push_zero(void **state)
{
    (void)state;
    ST_VEC(struct point) v = { 0 };
    struct point p = { 1, 2, "first" };
    ST_VEC_PUSH(&v, p);
    /* Dirty the spare capacity so PUSH_ZERO has something to clear. */
    memset(&v.items[1], 0xff, (v.cap - 1) * sizeof(v.items[0]));
    struct point *z = ST_VEC_PUSH_ZERO(&v);
    assert_ptr_equal(z, &v.items[1]);
    assert_int_equal(z->x, 0);
    assert_int_equal(z->y, 0);
    for (size_t i = 0; i < sizeof(z->tag); i++)
        assert_int_equal(z->tag[i], 0);
    z->x = 7;
    assert_int_equal(v.len, 2);
    assert_int_equal(v.items[0].y, 2);
    assert_string_equal(v.items[0].tag, "first");
    assert_int_equal(v.items[1].x, 7);
    ST_VEC_RELEASE(&v);
}

static void remove_keeps_order(void **state)
{
    (void)state;
    ST_VEC(int) v = { 0 };
    for (int i = 0; i < 6; i++)
        ST_VEC_PUSH(&v, i);
    ST_VEC_REMOVE(&v, 0);         /* first */
    ST_VEC_REMOVE(&v, 2);         /* middle: 1 2 [3] 4 5 */
    ST_VEC_REMOVE(&v, v.len - 1); /* last */
    int want[] = { 1, 2, 4 };
    assert_int_equal(v.len, 3);
    assert_memory_equal(v.items, want, sizeof(want));
    while (v.len)
        ST_VEC_REMOVE(&v, 0);
    assert_int_equal(v.len, 0);
    ST_VEC_RELEASE(&v);
}

static void reserve_prevents_moves(void **state)
{
    (void)state;
    ST_VEC(double) v = { 0 };
    ST_VEC_RESERVE(&v, 1000);
    assert_true(v.cap >= 1000);
    assert_int_equal(v.len, 0);
    double *items = v.items;
    for (int i = 0; i < 1000; i++)
        ST_VEC_PUSH(&v, i * 0.5);
    assert_ptr_equal(v.items, items);
    ST_VEC_RESERVE(&v, 0);
    assert_ptr_equal(v.items, items);
    ST_VEC_RELEASE(&v);
}

static void grow_overflow(void)
{
    ST_VEC(int) v = { 0 };
    ST_VEC_PUSH(&v, 1);
    ST_VEC_RESERVE(&v, SIZE_MAX);
}

static void huge_reserve_aborts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        grow_overflow();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(zero_initialized_is_empty),     cmocka_unit_test(push_grows_by_doubling),
        cmocka_unit_test(push_evaluates_once),           cmocka_unit_test(pop_and_clear),
        cmocka_unit_test(struct_elements_and_push_zero), cmocka_unit_test(remove_keeps_order),
        cmocka_unit_test(reserve_prevents_moves),        cmocka_unit_test(huge_reserve_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
