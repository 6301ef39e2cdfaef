/*
 * test_intset.c - unit tests of the intset (src/kv/intset.c) against a model.
 *
 * intset.c is included whole, with kv_malloc & co. backed by malloc and a live-allocation
 * counter, so the test neither needs the server nor misses a leak. The randomized test
 * drives the intset and a plain sorted array with the same operations, values drawn so
 * that every width upgrade (16 -> 32 -> 64, negative and positive) happens, and checks
 * the structure after every step.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/kv/intset.c"

static uint64_t rs = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

/* A value from one of the three width classes, either sign. */
static int64_t rnd_value(int widest)
{
    int64_t v;
    switch (rnd() % (uint64_t)widest) {
    case 0: v = (int64_t)(rnd() % 200) - 100; break;
    case 1: v = (int64_t)(rnd() % 200000) - 100000; break;
    default: v = (int64_t)rnd(); break;
    }
    return v;
}

static uint32_t needed(int64_t v)
{
    return (v >= INT16_MIN && v <= INT16_MAX) ? 2 : (v >= INT32_MIN && v <= INT32_MAX) ? 4 : 8;
}

static void check(const struct kv_intset *is, const int64_t *model, uint32_t n)
{
    uint32_t w = 2;
    assert_int_equal(kv_intset_len(is), n);
    for (uint32_t i = 0; i < n; i++) {
        assert_true(kv_intset_get(is, i) == model[i]);
        if (i)
            assert_true(kv_intset_get(is, i - 1) < kv_intset_get(is, i));
        if (needed(model[i]) > w)
            w = needed(model[i]);
    }
    assert_true(is->width >= w);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static bool model_has(const int64_t *m, uint32_t n, int64_t v)
{
    return bsearch(&v, m, n, sizeof(*m), cmp64) != NULL;
}

static void model_del(int64_t *m, uint32_t *n, int64_t v)
{
    int64_t *p = bsearch(&v, m, *n, sizeof(*m), cmp64);
    memmove(p, p + 1, (size_t)(m + *n - p - 1) * sizeof(*m));
    (*n)--;
}

static void test_basic(void **state)
{
    (void)state;
    struct kv_intset *is = kv_intset_new();
    bool added, removed;
    is = kv_intset_add(is, 5, &added);
    assert_true(added);
    is = kv_intset_add(is, 5, &added);
    assert_false(added);
    is = kv_intset_add(is, -3, &added);
    is = kv_intset_add(is, 1000, &added);
    assert_int_equal(is->width, 2);
    assert_int_equal(kv_intset_len(is), 3);
    assert_true(kv_intset_get(is, 0) == -3 && kv_intset_get(is, 2) == 1000);
    /* upgrade with a negative value: it goes first */
    is = kv_intset_add(is, -70000, &added);
    assert_int_equal(is->width, 4);
    assert_true(kv_intset_get(is, 0) == -70000 && kv_intset_get(is, 1) == -3);
    /* upgrade with a positive value: it goes last */
    is = kv_intset_add(is, INT64_MAX, &added);
    assert_int_equal(is->width, 8);
    assert_true(kv_intset_get(is, 4) == INT64_MAX);
    assert_true(kv_intset_find(is, 1000) && !kv_intset_find(is, 999));
    is = kv_intset_remove(is, 1000, &removed);
    assert_true(removed);
    is = kv_intset_remove(is, 1000, &removed);
    assert_false(removed);
    is = kv_intset_add(is, INT64_MIN, &added);
    assert_true(kv_intset_get(is, 0) == INT64_MIN);
    struct kv_intset *d = kv_intset_dup(is);
    assert_int_equal(kv_intset_len(d), kv_intset_len(is));
    assert_true(kv_intset_mem(d) >= sizeof(*d) + 8 * 5);
    kv_free(d);
    kv_free(is);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

/* A value wider than the set cannot be in it: find must not misread it as narrower. */
static void test_find_wider(void **state)
{
    (void)state;
    struct kv_intset *is = kv_intset_new();
    bool added;
    is = kv_intset_add(is, 0, &added);
    assert_false(kv_intset_find(is, 65536));     /* truncates to 0 at 16 bits */
    assert_false(kv_intset_find(is, 1LL << 32)); /* truncates to 0 at 32 bits */
    kv_free(is);
}

static void test_random(void **state)
{
    (void)state;
    enum { N = 3000 };
    for (int round = 0; round < 30; round++) {
        int64_t model[N] = { 0 };
        uint32_t n = 0;
        struct kv_intset *is = kv_intset_new();
        int widest = 1 + round % 3;
        for (int step = 0; step < 4000; step++) {
            int64_t v = rnd() % 3 == 0 && n ? model[rnd() % n] : rnd_value(widest);
            bool did;
            if (rnd() % 3 == 0) {
                is = kv_intset_remove(is, v, &did);
                assert_int_equal(did, model_has(model, n, v));
                if (did)
                    model_del(model, &n, v);
            } else if (n < N) {
                is = kv_intset_add(is, v, &did);
                assert_int_equal(did, !model_has(model, n, v));
                if (did) {
                    model[n++] = v;
                    qsort(model, n, sizeof(*model), cmp64);
                }
            }
            assert_int_equal(kv_intset_find(is, v), model_has(model, n, v));
            if (step % 97 == 0)
                check(is, model, n);
        }
        check(is, model, n);
        kv_free(is);
    }
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

static void test_parse(void **state)
{
    (void)state;
    int64_t v;
    assert_true(kv_intset_parse("0", 1, &v) && v == 0);
    assert_true(kv_intset_parse("-12", 3, &v) && v == -12);
    assert_true(kv_intset_parse("9223372036854775807", 19, &v) && v == INT64_MAX);
    assert_true(kv_intset_parse("-9223372036854775808", 20, &v) && v == INT64_MIN);
    assert_false(kv_intset_parse("9223372036854775808", 19, &v));
    assert_false(kv_intset_parse("-9223372036854775809", 20, &v));
    assert_false(kv_intset_parse("99999999999999999999", 20, &v));
    assert_false(kv_intset_parse("", 0, &v));
    assert_false(kv_intset_parse("-", 1, &v));
    assert_false(kv_intset_parse("-0", 2, &v));
    assert_false(kv_intset_parse("007", 3, &v));
    assert_false(kv_intset_parse("+1", 2, &v));
    assert_false(kv_intset_parse(" 1", 2, &v));
    assert_false(kv_intset_parse("1a", 2, &v));
    assert_false(kv_intset_parse("1.0", 3, &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_find_wider),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
