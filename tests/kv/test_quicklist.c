/*
 * test_quicklist.c - unit tests of the quicklist (src/kv/quicklist.c) against an array
 * model: pushes at both ends, index, insert, replace, deletes while walking either way,
 * range deletes, with several node caps (element counts and byte sizes) so that node
 * splits and neighbour inserts happen. After each check: no empty node, the node links
 * agree both ways, the counts add up, and no node passes its cap by more than one element.
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
#include "../../src/kv/quicklist.c"

static uint64_t rs = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

#define MAXN 3000
struct model {
    char *s[MAXN];
    size_t n[MAXN];
    size_t len;
};

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

static bool same(struct kv_bytes a, const char *s, size_t n)
{
    return a.n == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

static void check(struct kv_quicklist *ql, const struct model *m)
{
    assert_int_equal(ql->count, m->len);
    size_t total = 0, nodes = 0;
    const struct kv_ql_node *prev = NULL;
    for (const struct kv_ql_node *n = ql->head; n; prev = n, n = n->next) {
        assert_ptr_equal(n->prev, prev);
        uint32_t len = kv_lp_len(n->lp);
        assert_true(len > 0);
        if (ql->fill > 0)
            assert_true(len <= (uint32_t)ql->fill);
        else if (len > 1) /* a node may pass the cap only by holding one big element */
            assert_true(kv_lp_bytes(n->lp) <= node_cap_bytes(ql->fill) + 600);
        total += len;
        nodes++;
    }
    assert_ptr_equal(ql->tail, prev);
    assert_int_equal(total, m->len);
    assert_int_equal(nodes, ql->nodes);
    struct kv_ql_pos pos;
    char buf[24];
    size_t i = 0;
    if (kv_ql_seek(ql, 0, &pos)) {
        do {
            assert_true(same(kv_ql_get(&pos, buf), m->s[i], m->n[i]));
            i++;
        } while (kv_ql_next(&pos));
    }
    assert_int_equal(i, m->len);
    if (kv_ql_seek(ql, -1, &pos)) {
        do {
            i--;
            assert_true(same(kv_ql_get(&pos, buf), m->s[i], m->n[i]));
        } while (kv_ql_prev(&pos));
    }
    assert_int_equal(i, 0);
}

static struct kv_bytes rnd_elem(char *buf, size_t maxbig)
{
    if (rnd() % 3 == 0)
        return kv_b(buf, (size_t)snprintf(buf, 64, "%d", (int)(rnd() % 1000)));
    size_t n = rnd() % 10 == 0 ? rnd() % maxbig : rnd() % 12;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + rnd() % 26);
    return kv_b(buf, n);
}

static void run_model(int fill, size_t maxbig, int steps)
{
    struct model m = { .len = 0 };
    struct kv_quicklist *ql = kv_ql_new(fill);
    char buf[9000];
    char tmp[24];
    for (int step = 0; step < steps; step++) {
        struct kv_bytes s = rnd_elem(buf, maxbig);
        unsigned op = (unsigned)(rnd() % 10);
        if (m.len >= MAXN - 10 && op <= 3)
            op = 6;
        if (m.len == 0 && op >= 2)
            op = 0;
        size_t at = m.len ? rnd() % m.len : 0;
        struct kv_ql_pos pos;
        switch (op) {
        case 0:
            kv_ql_push(ql, s, false);
            model_insert(&m, m.len, s);
            break;
        case 1:
            kv_ql_push(ql, s, true);
            model_insert(&m, 0, s);
            break;
        case 2:
        case 3: {
            bool after = op == 3;
            assert_true(kv_ql_seek(ql, (int64_t)at, &pos));
            assert_true(same(kv_ql_get(&pos, tmp), m.s[at], m.n[at]));
            kv_ql_insert(ql, &pos, s, after);
            model_insert(&m, at + after, s);
            break;
        }
        case 4: {
            assert_true(kv_ql_seek(ql, (int64_t)at - (int64_t)m.len, &pos));
            kv_ql_replace(ql, &pos, s);
            model_delete(&m, at);
            model_insert(&m, at, s);
            break;
        }
        case 5: { /* delete a few while walking forward (LREM from the head) */
            assert_true(kv_ql_seek(ql, (int64_t)at, &pos));
            size_t k = at;
            for (int j = 0; j < 4 && pos.node; j++) {
                if (rnd() % 2) {
                    kv_ql_delete(ql, &pos, true);
                    model_delete(&m, k);
                } else {
                    kv_ql_next(&pos);
                    k++;
                }
                if (pos.node)
                    assert_true(same(kv_ql_get(&pos, tmp), m.s[k], m.n[k]));
            }
            break;
        }
        case 6: { /* delete a few while walking backward (LREM with a negative count) */
            assert_true(kv_ql_seek(ql, (int64_t)at, &pos));
            size_t k = at;
            for (int j = 0; j < 4 && pos.node; j++) {
                bool del = rnd() % 2;
                if (del) {
                    kv_ql_delete(ql, &pos, false);
                    model_delete(&m, k);
                } else {
                    kv_ql_prev(&pos);
                }
                if (!pos.node)
                    break;
                k--;
                assert_true(same(kv_ql_get(&pos, tmp), m.s[k], m.n[k]));
            }
            break;
        }
        case 7: {
            size_t cnt = rnd() % 40;
            kv_ql_delete_range(ql, at, cnt);
            for (size_t j = 0; j < cnt && at < m.len; j++)
                model_delete(&m, at);
            break;
        }
        default: /* pops */
            assert_true(kv_ql_seek(ql, op == 8 ? 0 : -1, &pos));
            kv_ql_delete(ql, &pos, op == 8);
            model_delete(&m, op == 8 ? 0 : m.len - 1);
            break;
        }
        if (step % 97 == 0)
            check(ql, &m);
    }
    check(ql, &m);
    struct kv_quicklist *d = kv_ql_dup(ql);
    check(d, &m);
    assert_true(kv_ql_mem(d) >= sizeof(*d));
    kv_ql_free(d);
    kv_ql_free(ql);
    while (m.len)
        model_delete(&m, 0);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

static void test_fill_count(void **state)
{
    (void)state;
    run_model(4, 40, 30000);
}

static void test_fill_bytes(void **state)
{
    (void)state;
    run_model(-1, 6000, 30000); /* 4 KB nodes, elements up to 6 KB */
    run_model(-2, 200, 30000);
}

static void test_push_pop_many(void **state)
{
    (void)state;
    struct kv_quicklist *ql = kv_ql_new(-2);
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, "element-%d", i);
        kv_ql_push(ql, kv_b(buf, (size_t)n), i % 2);
    }
    assert_int_equal(ql->count, 100000);
    assert_true(ql->nodes > 100 && ql->nodes < 1000);
    struct kv_ql_pos pos;
    char tmp[24];
    assert_true(kv_ql_seek(ql, 50000, &pos));
    assert_true(same(kv_ql_get(&pos, tmp), "element-0", 9));
    assert_true(kv_ql_seek(ql, 49999, &pos));
    assert_true(same(kv_ql_get(&pos, tmp), "element-1", 9));
    assert_false(kv_ql_seek(ql, 100000, &pos));
    assert_false(kv_ql_seek(ql, -100001, &pos));
    kv_ql_delete_range(ql, 10, 99980);
    assert_int_equal(ql->count, 20);
    while (ql->count) {
        assert_true(kv_ql_seek(ql, 0, &pos));
        kv_ql_delete(ql, &pos, true);
    }
    assert_null(ql->head);
    assert_null(ql->tail);
    assert_int_equal(ql->nodes, 0);
    kv_ql_free(ql);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_count),
        cmocka_unit_test(test_fill_bytes),
        cmocka_unit_test(test_push_pop_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
