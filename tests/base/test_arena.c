/* test_arena.c - unit tests for the bump allocator (src/base/arena.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"

#define ALIGN alignof(max_align_t)

static bool aligned(const void *p)
{
    return (uintptr_t)p % ALIGN == 0;
}

/* Run fn in a child process; true if it died of SIGABRT (st_panic). */
static bool aborts(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr))
            _exit(2);
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/*
 * Many allocations of every small size: each is aligned, and filling each with its own
 * byte pattern then checking them all proves no two overlap.
 */
static void check_alignment_and_disjointness(size_t chunk_size)
{
    enum { N = 600 };
    struct st_arena a;
    unsigned char *ptrs[N];
    st_arena_init(&a, chunk_size);
    for (size_t i = 0; i < N; i++) {
        size_t n = i % 300;
        ptrs[i] = st_arena_alloc(&a, n);
        assert_non_null(ptrs[i]);
        assert_true(aligned(ptrs[i]));
        memset(ptrs[i], (int)(i & 0xff), n);
    }
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < i % 300; j++)
            assert_int_equal(ptrs[i][j], i & 0xff);
    }
    st_arena_release(&a);
}

static void alignment_and_disjointness(void **state)
{
    (void)state;
    check_alignment_and_disjointness(0);
    check_alignment_and_disjointness(64);
    check_alignment_and_disjointness(100); /* not a multiple of the alignment */
    check_alignment_and_disjointness(16);  /* every request is "large" */
    check_alignment_and_disjointness(1 << 16);
}

static void zero_size_gives_distinct_pointers(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 0);
    void *p = st_arena_alloc(&a, 0);
    void *q = st_arena_alloc(&a, 0);
    assert_non_null(p);
    assert_non_null(q);
    assert_ptr_not_equal(p, q);
    assert_true(aligned(p) && aligned(q));
    st_arena_release(&a);
}

/* A large request gets its own chunk and does not abandon the current one. */
static void large_allocation_keeps_current_chunk(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 1024);
    char *s1 = st_arena_alloc(&a, 16);
    char *big = st_arena_alloc(&a, 1 << 20);
    char *s2 = st_arena_alloc(&a, 16);
    assert_true(aligned(big));
    memset(big, 0x5a, 1 << 20);
    assert_ptr_equal(s2, s1 + 16);
    /* Just over a quarter of the chunk is already "large". */
    char *mid = st_arena_alloc(&a, 1024 / 4 + 16);
    char *s3 = st_arena_alloc(&a, 16);
    assert_ptr_equal(s3, s2 + 16);
    memset(mid, 1, 1024 / 4 + 16);
    assert_int_equal((unsigned char)big[(1 << 20) - 1], 0x5a);
    st_arena_release(&a);
}

static void large_first_allocation_then_reset(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 0);
    for (int round = 0; round < 5; round++) {
        char *big = st_arena_alloc(&a, 100000);
        memset(big, 'x', 100000);
        char *small = st_arena_alloc(&a, 10);
        memset(small, 'y', 10);
        st_arena_reset(&a);
    }
    st_arena_release(&a);
}

/* zalloc must really zero: the reused chunk still holds the old bytes. */
static void zalloc_and_calloc_zero_reused_memory(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 0);
    unsigned char *p = st_arena_alloc(&a, 200);
    memset(p, 0xaa, 200);
    st_arena_reset(&a);
    unsigned char *z = st_arena_zalloc(&a, 200);
    assert_ptr_equal(z, p);
    for (int i = 0; i < 200; i++)
        assert_int_equal(z[i], 0);

    memset(z, 0xbb, 200);
    st_arena_reset(&a);
    uint32_t *c = st_arena_calloc(&a, 50, sizeof(uint32_t));
    assert_ptr_equal(c, z);
    for (int i = 0; i < 50; i++)
        assert_int_equal(c[i], 0);
    assert_non_null(st_arena_calloc(&a, 0, 8));
    st_arena_release(&a);
}

static void calloc_overflow(void)
{
    struct st_arena a;
    st_arena_init(&a, 0);
    st_arena_calloc(&a, SIZE_MAX / 2, 3);
}

static void calloc_overflow_aborts(void **state)
{
    (void)state;
    assert_true(aborts(calloc_overflow));
}

static void huge_alloc(void)
{
    struct st_arena a;
    st_arena_init(&a, 0);
    st_arena_alloc(&a, SIZE_MAX - 3);
}

static void huge_alloc_aborts(void **state)
{
    (void)state;
    assert_true(aborts(huge_alloc));
}

static void strings(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 128);
    assert_string_equal(st_arena_strdup(&a, "hello"), "hello");
    assert_string_equal(st_arena_strdup(&a, ""), "");
    assert_string_equal(st_arena_strndup(&a, "hello world", 5), "hello");
    assert_string_equal(st_arena_strndup(&a, NULL, 0), "");
    assert_string_equal(st_arena_printf(&a, "%d-%s-%c", 42, "x", 'y'), "42-x-y");
    assert_string_equal(st_arena_printf(&a, "%s", ""), "");

    /* Much longer than a chunk. */
    char big[5000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char *p = st_arena_printf(&a, "<%s>", big);
    assert_int_equal(strlen(p), sizeof(big) + 1);
    assert_int_equal(p[0], '<');
    assert_int_equal(p[sizeof(big)], '>');
    assert_string_equal(st_arena_strdup(&a, big), big);
    st_arena_release(&a);
}

static int order[16];
static int order_len;

static void record(void *arg)
{
    order[order_len++] = (int)(intptr_t)arg;
}

static void cleanups_run_lifo_once(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 64);
    order_len = 0;
    for (int i = 0; i < 5; i++) {
        st_arena_on_cleanup(&a, record, (void *)(intptr_t)i);
        st_arena_alloc(&a, 40); /* spread the records over several chunks */
    }
    st_arena_reset(&a);
    assert_int_equal(order_len, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(order[i], 4 - i);

    st_arena_reset(&a); /* already run: not again */
    assert_int_equal(order_len, 5);

    order_len = 0;
    st_arena_on_cleanup(&a, record, (void *)(intptr_t)7);
    st_arena_on_cleanup(&a, record, (void *)(intptr_t)8);
    st_arena_release(&a);
    assert_int_equal(order_len, 2);
    assert_int_equal(order[0], 8);
    assert_int_equal(order[1], 7);
}

static struct st_arena *nested_arena;

static void register_another(void *arg)
{
    record(arg);
    st_arena_on_cleanup(nested_arena, record, (void *)(intptr_t)99);
}

static void cleanup_may_register_cleanup(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 0);
    nested_arena = &a;
    order_len = 0;
    st_arena_on_cleanup(&a, register_another, (void *)(intptr_t)1);
    st_arena_release(&a);
    assert_int_equal(order_len, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 99);
}

/* Reset forgets everything but reuses the first chunk: a steady state with no malloc. */
static void reset_reuses_first_chunk(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 256);
    char *first = st_arena_alloc(&a, 8);
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 50; i++) {
            char *p = st_arena_alloc(&a, 24);
            memset(p, round, 24);
        }
        st_arena_alloc(&a, 4000);
        assert_true(a.allocated >= 50 * 24 + 4000);
        st_arena_reset(&a);
        assert_int_equal(a.allocated, 0);
        assert_ptr_equal(st_arena_alloc(&a, 8), first);
    }
    st_arena_release(&a);
}

static void allocated_counts_bytes(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 0);
    assert_int_equal(a.allocated, 0);
    st_arena_alloc(&a, 10);
    st_arena_alloc(&a, 20);
    assert_int_equal(a.allocated, 30);
    st_arena_release(&a);
    assert_int_equal(a.allocated, 0);
}

static void unused_arena_and_reuse_after_release(void **state)
{
    (void)state;
    struct st_arena a;
    st_arena_init(&a, 0);
    st_arena_reset(&a);
    st_arena_release(&a);
    st_arena_init(&a, 0);
    assert_string_equal(st_arena_strdup(&a, "again"), "again");
    st_arena_release(&a);
    assert_null(a.chunks);
    assert_null(a.cleanups);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alignment_and_disjointness),
        cmocka_unit_test(zero_size_gives_distinct_pointers),
        cmocka_unit_test(large_allocation_keeps_current_chunk),
        cmocka_unit_test(large_first_allocation_then_reset),
        cmocka_unit_test(zalloc_and_calloc_zero_reused_memory),
        cmocka_unit_test(calloc_overflow_aborts),
        cmocka_unit_test(huge_alloc_aborts),
        cmocka_unit_test(strings),
        cmocka_unit_test(cleanups_run_lifo_once),
        cmocka_unit_test(cleanup_may_register_cleanup),
        cmocka_unit_test(reset_reuses_first_chunk),
        cmocka_unit_test(allocated_counts_bytes),
        cmocka_unit_test(unused_arena_and_reuse_after_release),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
