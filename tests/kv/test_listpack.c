/*
 * test_listpack.c - unit tests of the listpack (src/kv/listpack.c): encodings at every
 * boundary, walks both ways, and a randomized run against an array model.
 *
 * listpack.c is included whole, with kv_malloc & co. backed by malloc and a live
 * allocation counter, so the test needs no server and sees leaks.
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

#include "../../src/kv/listpack.c"

static uint64_t rs = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static struct kv_bytes cs(const char *s)
{
    return kv_b(s, strlen(s));
}

static void assert_elem(unsigned char *p, struct kv_bytes want)
{
    char buf[24];
    assert_non_null(p);
    struct kv_bytes got = kv_lp_get(p, buf);
    assert_int_equal(got.n, want.n);
    if (want.n)
        assert_memory_equal(got.p, want.p, want.n);
    assert_true(kv_lp_eq(p, want));
}

/* Every boundary of every encoding reads back as the same bytes. */
static void test_encodings(void **state)
{
    (void)state;
    static const char *texts[] = { "0",
                                   "1",
                                   "127",
                                   "128",
                                   "-1",
                                   "-128",
                                   "32767",
                                   "32768",
                                   "-32768",
                                   "-32769",
                                   "2147483647",
                                   "2147483648",
                                   "-2147483648",
                                   "-2147483649",
                                   "9223372036854775807",
                                   "-9223372036854775808",
                                   "9223372036854775808",
                                   "-9223372036854775809",
                                   "-0",
                                   "01",
                                   "+1",
                                   " 1",
                                   "1 ",
                                   "",
                                   "-",
                                   "abc",
                                   "18446744073709551616" };
    size_t nt = sizeof texts / sizeof texts[0];
    size_t sizes[] = { 63, 64, 65535, 65536, 200000 };
    unsigned char *lp = kv_lp_new();
    for (size_t i = 0; i < nt; i++)
        lp = kv_lp_append(lp, cs(texts[i]));
    char *big[5];
    for (int i = 0; i < 5; i++) {
        big[i] = malloc(sizes[i]);
        memset(big[i], 'a' + i, sizes[i]);
        lp = kv_lp_append(lp, kv_b(big[i], sizes[i]));
    }
    assert_int_equal(kv_lp_len(lp), nt + 5);
    unsigned char *p = kv_lp_first(lp);
    for (size_t i = 0; i < nt; i++, p = kv_lp_next(lp, p))
        assert_elem(p, cs(texts[i]));
    for (int i = 0; i < 5; i++, p = kv_lp_next(lp, p))
        assert_elem(p, kv_b(big[i], sizes[i]));
    assert_null(p);
    /* backwards */
    p = kv_lp_last(lp);
    for (int i = 4; i >= 0; i--, p = kv_lp_prev(lp, p))
        assert_elem(p, kv_b(big[i], sizes[i]));
    for (size_t i = nt; i-- > 0; p = kv_lp_prev(lp, p))
        assert_elem(p, cs(texts[i]));
    assert_null(p);
    /* integers are stored as integers, non-canonical text as strings */
    int64_t v;
    assert_true(kv_lp_get_int(kv_lp_seek(lp, 15), &v));
    assert_true(v == INT64_MIN);
    assert_false(kv_lp_get_int(kv_lp_seek(lp, 16), &v)); /* 9223372036854775808 */
    assert_false(kv_lp_get_int(kv_lp_seek(lp, 18), &v)); /* -0 */
    assert_false(kv_lp_eq(kv_lp_seek(lp, 1), cs("01")));
    assert_false(kv_lp_eq(kv_lp_seek(lp, 19), cs("1")));
    /* a small integer takes 2 bytes, a 1-byte string 3 */
    assert_int_equal(kv_lp_entry_size(cs("5")), 2);
    assert_int_equal(kv_lp_entry_size(cs("x")), 3);
    for (int i = 0; i < 5; i++)
        free(big[i]);
    kv_lp_free(lp);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

static void test_seek_find_split(void **state)
{
    (void)state;
    unsigned char *lp = kv_lp_new();
    assert_null(kv_lp_first(lp));
    assert_null(kv_lp_last(lp));
    assert_null(kv_lp_seek(lp, 0));
    assert_null(kv_lp_seek(lp, -1));
    /* a hash: f0 v0 f1 v1 ... where values collide with field names */
    char f[32], v[32];
    for (int i = 0; i < 50; i++) {
        snprintf(f, sizeof f, "f%d", i);
        snprintf(v, sizeof v, "f%d", i + 1);
        lp = kv_lp_append(lp, cs(f));
        lp = kv_lp_append(lp, cs(v));
    }
    unsigned char *p = kv_lp_find(lp, kv_lp_first(lp), cs("f10"), 1);
    assert_ptr_equal(p, kv_lp_seek(lp, 20)); /* the field, not the value f10 at 19 */
    assert_null(kv_lp_find(lp, kv_lp_first(lp), cs("f50"), 1));
    assert_ptr_equal(kv_lp_find(lp, kv_lp_first(lp), cs("f50"), 0), kv_lp_seek(lp, -1));
    assert_ptr_equal(kv_lp_seek(lp, -100), kv_lp_first(lp));
    assert_null(kv_lp_seek(lp, 100));
    assert_null(kv_lp_seek(lp, -101));
    unsigned char *tail = kv_lp_split(&lp, kv_lp_seek(lp, 30));
    assert_int_equal(kv_lp_len(lp), 30);
    assert_int_equal(kv_lp_len(tail), 70);
    assert_elem(kv_lp_first(tail), cs("f15"));
    assert_elem(kv_lp_last(lp), cs("f15"));
    assert_elem(kv_lp_last(tail), cs("f50"));
    lp = kv_lp_delete_range(lp, -5, 100);
    assert_int_equal(kv_lp_len(lp), 25);
    kv_lp_free(tail);
    kv_lp_free(lp);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

/* ---- randomized against an array model ---------------------------------------------- */

#define MAXN 400
struct model {
    char *s[MAXN];
    size_t n[MAXN];
    size_t len;
};

static struct kv_bytes rnd_elem(char *buf)
{
    size_t n;
    switch (rnd() % 5) {
    case 0: return kv_b(buf, (size_t)snprintf(buf, 64, "%d", (int)(rnd() % 300) - 100));
    case 1: return kv_b(buf, (size_t)snprintf(buf, 64, "%lld", (long long)rnd()));
    case 2: n = rnd() % 4; break;
    case 3: n = rnd() % 80; break;
    default: n = 60 + rnd() % 500; break;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + rnd() % 26);
    return kv_b(buf, n);
}

static void model_insert(struct model *m, size_t at, struct kv_bytes s)
{
    memmove(m->s + at + 1, m->s + at, (m->len - at) * sizeof(char *));
    memmove(m->n + at + 1, m->n + at, (m->len - at) * sizeof(size_t));
    m->s[at] = malloc(s.n + 1);
    memcpy(m->s[at], s.p, s.n);
    m->n[at] = s.n;
    m->len++;
}

static void model_delete(struct model *m, size_t at)
{
    free(m->s[at]);
    memmove(m->s + at, m->s + at + 1, (m->len - at - 1) * sizeof(char *));
    memmove(m->n + at, m->n + at + 1, (m->len - at - 1) * sizeof(size_t));
    m->len--;
}

static void check(unsigned char *lp, const struct model *m)
{
    assert_int_equal(kv_lp_len(lp), m->len);
    size_t bytes = KV_LP_HDR + 1;
    unsigned char *p = kv_lp_first(lp);
    for (size_t i = 0; i < m->len; i++, p = kv_lp_next(lp, p)) {
        assert_elem(p, kv_b(m->s[i], m->n[i]));
        bytes += kv_lp_entry_size(kv_b(m->s[i], m->n[i]));
    }
    assert_null(p);
    assert_int_equal(kv_lp_bytes(lp), bytes);
    p = kv_lp_last(lp);
    for (size_t i = m->len; i-- > 0; p = kv_lp_prev(lp, p))
        assert_elem(p, kv_b(m->s[i], m->n[i]));
    assert_null(p);
}

static void test_random_model(void **state)
{
    (void)state;
    struct model m = { .len = 0 };
    unsigned char *lp = kv_lp_new();
    char buf[600];
    for (int step = 0; step < 20000; step++) {
        struct kv_bytes s = rnd_elem(buf);
        size_t at = m.len ? rnd() % m.len : 0;
        unsigned op = (unsigned)(rnd() % 8);
        if (m.len >= MAXN - 1 && op <= 3)
            op = 4;
        if (m.len == 0 && op >= 4)
            op = 0;
        switch (op) {
        case 0:
            lp = kv_lp_append(lp, s);
            model_insert(&m, m.len, s);
            break;
        case 1:
            lp = kv_lp_prepend(lp, s);
            model_insert(&m, 0, s);
            break;
        case 2: {
            unsigned char *np;
            lp = kv_lp_insert(lp, kv_lp_seek(lp, (int64_t)at), s, KV_LP_BEFORE, &np);
            model_insert(&m, at, s);
            assert_ptr_equal(np, kv_lp_seek(lp, (int64_t)at));
            break;
        }
        case 3: {
            unsigned char *np;
            lp = kv_lp_insert(lp, kv_lp_seek(lp, (int64_t)at - (int64_t)m.len), s, KV_LP_AFTER, &np);
            model_insert(&m, at + 1, s);
            assert_ptr_equal(np, kv_lp_seek(lp, (int64_t)at + 1));
            break;
        }
        case 4: {
            unsigned char *p = kv_lp_seek(lp, (int64_t)at);
            lp = kv_lp_delete(lp, &p);
            model_delete(&m, at);
            assert_ptr_equal(p, at < m.len ? kv_lp_seek(lp, (int64_t)at) : NULL);
            break;
        }
        case 5: {
            unsigned char *p = kv_lp_seek(lp, (int64_t)at);
            lp = kv_lp_replace(lp, &p, s);
            model_delete(&m, at);
            model_insert(&m, at, s);
            assert_ptr_equal(p, kv_lp_seek(lp, (int64_t)at));
            break;
        }
        case 6: {
            uint32_t cnt = (uint32_t)(rnd() % 4);
            lp = kv_lp_delete_range(lp, (int64_t)at, cnt);
            for (uint32_t i = 0; i < cnt && at < m.len; i++)
                model_delete(&m, at);
            break;
        }
        default: {
            /* find the first occurrence of an existing element */
            struct kv_bytes want = kv_b(m.s[at], m.n[at]);
            size_t first = 0;
            while (m.n[first] != want.n || (want.n && memcmp(m.s[first], want.p, want.n)))
                first++;
            assert_ptr_equal(kv_lp_find(lp, kv_lp_first(lp), want, 0), kv_lp_seek(lp, (int64_t)first));
            break;
        }
        }
        if (step % 50 == 0 || m.len < 5)
            check(lp, &m);
    }
    check(lp, &m);
    unsigned char *d = kv_lp_dup(lp);
    check(d, &m);
    kv_lp_free(d);
    while (m.len)
        model_delete(&m, 0);
    kv_lp_free(lp);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encodings),
        cmocka_unit_test(test_seek_find_split),
        cmocka_unit_test(test_random_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
