/*
 * test_skiplist.c - unit tests of the skiplist and the member hash table
 * (src/kv/skiplist.c), against models.
 *
 * skiplist.c is included whole with kv_malloc & co. backed by malloc and a live-block
 * counter (leaks fail the test). The skiplist is paired with a kv_htab exactly as a large
 * sorted set uses them, and compared after random inserts, deletes and score updates with
 * a plain array sorted by (score, member): order, spans (every level's spans must add up
 * to the ranks), backward links, rank and at-rank, score and lex range ends. The hash
 * table is checked for lookups across growth and shrinking, scans that span resizes, and
 * random picks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/kv/skiplist.c"

static uint64_t rs = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

/* ---- model ------------------------------------------------------------------------- */

struct item {
    double score;
    char m[16];
    size_t n;
};

static int item_cmp(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return kv_zmember_cmp(kv_b(x->m, x->n), kv_b(y->m, y->n));
}

struct zs {
    struct kv_zsl zsl;
    struct kv_htab dict;
};

static void free_node(struct kv_hent *e)
{
    (void)e; /* the skiplist frees its nodes */
}

static struct kv_zsl_node *zs_find(struct zs *z, struct kv_bytes m)
{
    return (struct kv_zsl_node *)kv_htab_find(&z->dict, m, kv_htab_hash(m));
}

/* Checks every structural invariant and the order against the sorted model. */
static void check(struct zs *z, struct item *model, size_t n)
{
    qsort(model, n, sizeof(*model), item_cmp);
    assert_int_equal(z->zsl.length, n);
    assert_int_equal(z->dict.len, n);
    struct kv_zsl_node *x = z->zsl.header->level[0].forward, *prev = NULL;
    for (size_t i = 0; i < n; i++, prev = x, x = x->level[0].forward) {
        assert_non_null(x);
        assert_true(x->score == model[i].score);
        assert_int_equal(x->h.len, model[i].n);
        assert_memory_equal(kv_zsl_node_ele(x), model[i].m, model[i].n);
        assert_ptr_equal(x->backward, prev);
        assert_int_equal(kv_zsl_rank(&z->zsl, x), i + 1);
        assert_ptr_equal(kv_zsl_at_rank(&z->zsl, i + 1), x);
        assert_ptr_equal(zs_find(z, kv_zsl_node_member(x)), x);
    }
    assert_null(x);
    assert_ptr_equal(z->zsl.tail, prev);
    /* spans: on every level, walking forward adds up to each node's rank */
    for (int l = 0; l < z->zsl.level; l++) {
        size_t rank = 0;
        for (struct kv_zsl_node *p = z->zsl.header; p->level[l].forward; p = p->level[l].forward) {
            rank += p->level[l].span;
            assert_int_equal(kv_zsl_rank(&z->zsl, p->level[l].forward), rank);
        }
    }
    assert_null(kv_zsl_at_rank(&z->zsl, n + 1));
    assert_null(kv_zsl_at_rank(&z->zsl, 0));
}

static void rnd_member(struct item *it)
{
    it->n = 1 + rnd() % 3;
    for (size_t i = 0; i < it->n; i++)
        it->m[i] = (char)('a' + rnd() % 6);
}

static double rnd_score(void)
{
    return (double)(int)(rnd() % 20) - 10 + (rnd() % 4 == 0 ? 0.5 : 0);
}

static size_t model_find(struct item *model, size_t n, struct item *it)
{
    for (size_t i = 0; i < n; i++) {
        if (model[i].n == it->n && memcmp(model[i].m, it->m, it->n) == 0)
            return i;
    }
    return n;
}

/* Score range ends against a brute-force scan of the model. */
static void check_ranges(struct zs *z, struct item *model, size_t n)
{
    for (int k = 0; k < 20; k++) {
        struct kv_zrange r = { rnd_score(), rnd_score(), rnd() % 2 == 0, rnd() % 2 == 0 };
        if (k == 0)
            r = (struct kv_zrange){ -INFINITY, INFINITY, false, false };
        size_t first = n, last = n;
        for (size_t i = 0; i < n; i++) {
            if (kv_zrange_gte_min(model[i].score, &r) && kv_zrange_lte_max(model[i].score, &r)) {
                if (first == n)
                    first = i;
                last = i;
            }
        }
        struct kv_zsl_node *f = kv_zsl_first_in_range(&z->zsl, &r), *l = kv_zsl_last_in_range(&z->zsl, &r);
        if (first == n) {
            assert_null(f);
            assert_null(l);
        } else {
            assert_int_equal(kv_zsl_rank(&z->zsl, f), first + 1);
            assert_int_equal(kv_zsl_rank(&z->zsl, l), last + 1);
        }
    }
}

static void test_random_ops(void **state)
{
    (void)state;
    enum { MAXN = 300 };
    struct item model[MAXN];
    size_t n = 0;
    struct zs z;
    kv_zsl_init(&z.zsl);
    kv_htab_init(&z.dict, kv_zsl_node_key);
    for (int step = 0; step < 6000; step++) {
        struct item it;
        rnd_member(&it);
        it.score = rnd_score();
        size_t at = model_find(model, n, &it);
        struct kv_bytes m = kv_b(it.m, it.n);
        struct kv_zsl_node *node = zs_find(&z, m);
        assert_int_equal(node != NULL, at < n);
        int op = (int)(rnd() % 3);
        if (op == 0 && node) { /* delete */
            kv_zsl_unlink(&z.zsl, node);
            assert_ptr_equal(kv_htab_remove(&z.dict, m, kv_htab_hash(m)), &node->h);
            kv_zsl_free_node(node);
            model[at] = model[--n];
        } else if (node) { /* update score */
            kv_zsl_update_score(&z.zsl, node, it.score);
            model[at].score = it.score;
        } else if (n < MAXN) {
            node = kv_zsl_insert(&z.zsl, it.score, m, kv_htab_hash(m));
            kv_htab_insert(&z.dict, &node->h);
            model[n++] = it;
        }
        if (step % 50 == 0) {
            check(&z, model, n);
            check_ranges(&z, model, n);
        }
    }
    check(&z, model, n);
    kv_htab_release(&z.dict, free_node);
    kv_zsl_release(&z.zsl);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

/* Lex ranges: all scores equal, members ordered bytewise (shorter first on a prefix). */
static void test_lex(void **state)
{
    (void)state;
    const char *ms[] = { "", "a", "aa", "ab", "b", "ba", "c", "\xff" };
    size_t nm = sizeof(ms) / sizeof(*ms);
    struct kv_zsl zsl;
    kv_zsl_init(&zsl);
    for (size_t i = nm; i-- > 0;)
        kv_zsl_insert(&zsl, 0, kv_b(ms[i], strlen(ms[i])), 0);
    for (size_t i = 0; i < nm; i++)
        assert_string_equal(kv_zsl_node_ele(kv_zsl_at_rank(&zsl, i + 1)), ms[i]);

    struct kv_zlexrange r = { kv_b("a", 1), kv_b("b", 1), KV_LEX_INCL, KV_LEX_EXCL };
    assert_string_equal(kv_zsl_node_ele(kv_zsl_first_in_lex(&zsl, &r)), "a");
    assert_string_equal(kv_zsl_node_ele(kv_zsl_last_in_lex(&zsl, &r)), "ab");
    r.minkind = KV_LEX_EXCL;
    r.maxkind = KV_LEX_INCL;
    assert_string_equal(kv_zsl_node_ele(kv_zsl_first_in_lex(&zsl, &r)), "aa");
    assert_string_equal(kv_zsl_node_ele(kv_zsl_last_in_lex(&zsl, &r)), "b");
    r.minkind = KV_LEX_MINUS;
    r.maxkind = KV_LEX_PLUS;
    assert_string_equal(kv_zsl_node_ele(kv_zsl_first_in_lex(&zsl, &r)), "");
    assert_string_equal(kv_zsl_node_ele(kv_zsl_last_in_lex(&zsl, &r)), "\xff");
    r.minkind = KV_LEX_PLUS; /* "+" as min: nothing */
    assert_null(kv_zsl_first_in_lex(&zsl, &r));
    r = (struct kv_zlexrange){ kv_b("b", 1), kv_b("a", 1), KV_LEX_INCL, KV_LEX_INCL };
    assert_true(kv_zlex_empty(&r));
    assert_null(kv_zsl_last_in_lex(&zsl, &r));
    r = (struct kv_zlexrange){ kv_b("ac", 1), kv_b("az", 2), KV_LEX_INCL, KV_LEX_INCL };
    r.min.n = 2;
    assert_null(kv_zsl_first_in_lex(&zsl, &r)); /* nothing between "ac" and "az" */
    kv_zsl_release(&zsl);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

static void test_score_edges(void **state)
{
    (void)state;
    struct kv_zsl zsl;
    kv_zsl_init(&zsl);
    kv_zsl_insert(&zsl, -INFINITY, kv_b("lo", 2), 0);
    kv_zsl_insert(&zsl, 1, kv_b("one", 3), 0);
    kv_zsl_insert(&zsl, INFINITY, kv_b("hi", 2), 0);
    struct kv_zrange r = { 1, 1, true, false };
    assert_true(kv_zrange_empty(&r));
    assert_null(kv_zsl_first_in_range(&zsl, &r));
    r = (struct kv_zrange){ -INFINITY, INFINITY, false, false };
    assert_string_equal(kv_zsl_node_ele(kv_zsl_first_in_range(&zsl, &r)), "lo");
    assert_string_equal(kv_zsl_node_ele(kv_zsl_last_in_range(&zsl, &r)), "hi");
    r = (struct kv_zrange){ -INFINITY, INFINITY, true, true };
    assert_string_equal(kv_zsl_node_ele(kv_zsl_first_in_range(&zsl, &r)), "one");
    assert_string_equal(kv_zsl_node_ele(kv_zsl_last_in_range(&zsl, &r)), "one");
    r = (struct kv_zrange){ 2, 5, false, false };
    assert_null(kv_zsl_first_in_range(&zsl, &r));
    assert_null(kv_zsl_last_in_range(&zsl, &r));
    kv_zsl_release(&zsl);
}

/* ---- hash table -------------------------------------------------------------------- */

static void free_smember(struct kv_hent *e)
{
    kv_free(e);
}

static void add_member(struct kv_htab *t, int i)
{
    char b[32];
    int n = snprintf(b, sizeof b, "m%d", i);
    struct kv_bytes m = kv_b(b, (size_t)n);
    kv_htab_insert(t, &kv_smember_new(m, kv_htab_hash(m))->h);
}

static bool del_member(struct kv_htab *t, int i)
{
    char b[32];
    int n = snprintf(b, sizeof b, "m%d", i);
    struct kv_bytes m = kv_b(b, (size_t)n);
    struct kv_hent *e = kv_htab_remove(t, m, kv_htab_hash(m));
    kv_free(e);
    return e != NULL;
}

static void count_seen(void *arg, struct kv_hent *e)
{
    int *seen = arg;
    seen[atoi(kv_smember_key(e) + 1)]++;
}

static void test_htab(void **state)
{
    (void)state;
    enum { N = 2000 };
    struct kv_htab t;
    kv_htab_init(&t, kv_smember_key);
    assert_null(kv_htab_random(&t));
    assert_int_equal(kv_htab_scan(&t, 0, count_seen, NULL), 0);
    for (int i = 0; i < N; i++)
        add_member(&t, i);
    assert_int_equal(t.len, N);
    for (int i = 0; i < N; i += 2)
        assert_true(del_member(&t, i));
    assert_false(del_member(&t, 0));
    for (int i = 0; i < N; i++) {
        char b[32];
        int n = snprintf(b, sizeof b, "m%d", i);
        assert_int_equal(kv_htab_find(&t, kv_b(b, (size_t)n), kv_htab_hash(kv_b(b, (size_t)n))) != NULL, i % 2);
    }
    /* iteration sees every element once */
    int seen[N] = { 0 };
    struct kv_htab_iter it = KV_HTAB_ITER_INIT;
    for (struct kv_hent *e; (e = kv_htab_next(&t, &it));)
        count_seen(seen, e);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], i % 2);
    /* random picks are members */
    for (int k = 0; k < 100; k++)
        assert_int_equal(atoi(kv_smember_key(kv_htab_random(&t)) + 1) % 2, 1);
    /* shrink to a few elements: the table follows */
    for (int i = 1; i < N - 20; i += 2)
        del_member(&t, i);
    assert_true(t.size <= 64);
    kv_htab_release(&t, free_smember);
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

/* A scan interrupted by growth and shrinking still returns every element that stayed. */
static void test_scan_resize(void **state)
{
    (void)state;
    enum { N = 4000 };
    for (int mode = 0; mode < 2; mode++) {
        struct kv_htab t;
        kv_htab_init(&t, kv_smember_key);
        int seen[N] = { 0 };
        int base = mode == 0 ? 100 : 3000;
        for (int i = 0; i < base; i++)
            add_member(&t, i);
        uint64_t cur = 0;
        int calls = 0, next_add = base, next_del = base - 1;
        do {
            cur = kv_htab_scan(&t, cur, count_seen, seen);
            calls++;
            if (mode == 0 && next_add < N) { /* grow: new elements 1000.. (not required) */
                for (int k = 0; k < 50 && next_add < N; k++)
                    add_member(&t, next_add++);
            } else if (mode == 1 && next_del >= 1000) { /* shrink: delete 1000.. */
                for (int k = 0; k < 100 && next_del >= 1000; k++)
                    del_member(&t, next_del--);
            }
        } while (cur != 0 && calls < 100000);
        assert_int_not_equal(cur, 1); /* it ended */
        int stay = mode == 0 ? base : 1000;
        for (int i = 0; i < stay; i++)
            assert_true(seen[i] >= 1);
        kv_htab_release(&t, free_smember);
    }
    assert_int_equal(kv_used_memory(), 0); /* every block freed */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ops), cmocka_unit_test(test_lex),         cmocka_unit_test(test_score_edges),
        cmocka_unit_test(test_htab),       cmocka_unit_test(test_scan_resize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
