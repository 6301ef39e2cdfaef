/*
 * test_map.c - unit tests for the open-addressing hash map (src/base/map.c).
 *
 * Most tests compare the map against a trivially correct reference (an array indexed by
 * key number) and check the table's structural invariants: every entry is reachable from
 * its home slot without crossing an empty slot, and len matches the occupied slots.
 * Hash functions that collide on purpose force long clusters that wrap around the end of
 * the table, where backward-shift deletion and iteration are easiest to get wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/map.h"

/* ---- helpers ---------------------------------------------------------------------- */

static struct st_str key_of(int i, char *buf, size_t size)
{
    int n = snprintf(buf, size, "key-%d", i);
    return st_str(buf, (size_t)n);
}

static void *val_of(intptr_t v)
{
    return (void *)v;
}

/* xorshift64*: a fixed-seed generator so failures reproduce. */
static uint64_t rng_state;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t rng_below(size_t n)
{
    return (size_t)(rng() % n);
}

static uint64_t type_hash(const struct st_map *m, struct st_str key)
{
    uint64_t h = (m->type && m->type->hash) ? m->type->hash(key.ptr, key.len) : st_hash(key.ptr, key.len);
    return h ? h : 1;
}

/* Structural invariants of a linear-probing table without tombstones. */
static void check_table(const struct st_map *m)
{
    size_t used = 0;
    if (m->cap == 0) {
        assert_int_equal(m->len, 0);
        return;
    }
    assert_int_equal(m->cap & (m->cap - 1), 0);
    assert_true(m->len * 4 <= m->cap * 3);
    size_t mask = m->cap - 1;
    for (size_t i = 0; i < m->cap; i++) {
        const struct st_map_slot *s = &m->slots[i];
        if (s->hash == 0)
            continue;
        used++;
        assert_true(s->hash == type_hash(m, s->key));
        for (size_t j = s->hash & mask; j != i; j = (j + 1) & mask)
            assert_true(m->slots[j].hash != 0);
    }
    assert_int_equal(used, m->len);
}

/* Hashes that collide a lot: every key's home is one of the last few slots. */
static uint64_t clustering_hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    unsigned last = n ? s[n - 1] : 0;
    return UINT64_MAX - (last % 3);
}

/* Hash 0 must still work: the map forces stored hashes non-zero. */
static uint64_t zero_hash(const void *p, size_t n)
{
    (void)p;
    (void)n;
    return 0;
}

/* Hash by key number modulo 64: heavy, but not total, clustering. */
static uint64_t mod64_hash(const void *p, size_t n)
{
    uint64_t h = 0;
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = h * 31 + s[i];
    return h % 64;
}

static int frees;
static void *last_freed;

static void count_free(void *v)
{
    frees++;
    last_freed = v;
}

static void real_free(void *v)
{
    frees++;
    free(v);
}

static const struct st_map_type clustering_dup = { .hash = clustering_hash, .key_dup = true };
static const struct st_map_type zero_dup = { .hash = zero_hash, .key_dup = true };
static const struct st_map_type mod64_counting = {
    .hash = mod64_hash,
    .key_dup = true,
    .val_free = count_free,
};
static const struct st_map_type dup_counting = { .key_dup = true, .val_free = count_free };
static const struct st_map_type dup_freeing = { .key_dup = true, .val_free = real_free };

static int setup_key(void **state)
{
    (void)state;
    static const uint8_t key[16] = { 's', 't', 'r', 'a', 't', 'a', '-', 't', 'e', 's', 't' };
    st_hash_set_key(key);
    return 0;
}

/* ---- basics ----------------------------------------------------------------------- */

static void empty_map(void **state)
{
    (void)state;
    struct st_map m;
    st_map_init(&m, NULL);
    assert_int_equal(st_map_len(&m), 0);
    assert_null(st_map_get(&m, ST_STR_LIT("x")));
    assert_null(st_map_find(&m, ST_STR_LIT("")));
    void *v = val_of(5);
    assert_false(st_map_del(&m, ST_STR_LIT("x"), &v));
    assert_null(v);
    struct st_map_iter it = ST_MAP_ITER_INIT;
    assert_null(st_map_next(&m, &it));
    assert_null(st_map_next(&m, &it));
    st_map_shrink(&m);
    st_map_clear(&m);
    st_map_release(&m);
    assert_null(m.slots);
}

static void put_get_del(void **state)
{
    (void)state;
    struct st_map m;
    st_map_init(&m, NULL);
    assert_true(st_map_put(&m, ST_STR_LIT("one"), val_of(1)));
    assert_true(st_map_put(&m, ST_STR_LIT("two"), val_of(2)));
    assert_true(st_map_put(&m, ST_STR_LIT(""), val_of(3)));
    assert_false(st_map_put(&m, ST_STR_LIT("one"), val_of(11)));
    assert_int_equal(st_map_len(&m), 3);
    assert_ptr_equal(st_map_get(&m, ST_STR_LIT("one")), val_of(11));
    assert_ptr_equal(st_map_get(&m, ST_STR_LIT("two")), val_of(2));
    assert_ptr_equal(st_map_get(&m, st_str(NULL, 0)), val_of(3));
    assert_null(st_map_get(&m, ST_STR_LIT("three")));
    assert_null(st_map_get(&m, ST_STR_LIT("ONE")));
    assert_null(st_map_get(&m, ST_STR_LIT("on")));

    void *v = NULL;
    assert_true(st_map_del(&m, ST_STR_LIT("one"), &v));
    assert_ptr_equal(v, val_of(11));
    assert_false(st_map_del(&m, ST_STR_LIT("one"), &v));
    assert_null(v);
    assert_false(st_map_del(&m, ST_STR_LIT("one"), NULL));
    assert_int_equal(st_map_len(&m), 2);
    check_table(&m);
    st_map_release(&m);
}

/* A present NULL value differs from absence only through st_map_find. */
static void null_values_and_upsert(void **state)
{
    (void)state;
    struct st_map m;
    bool created = false;
    st_map_init(&m, &st_map_type_dup);
    struct st_map_slot *s = st_map_upsert(&m, ST_STR_LIT("k"), &created);
    assert_true(created);
    assert_null(s->val);
    assert_true(st_str_eq_c(s->key, "k"));
    assert_null(st_map_get(&m, ST_STR_LIT("k")));
    assert_ptr_equal(st_map_find(&m, ST_STR_LIT("k")), s);
    assert_null(st_map_find(&m, ST_STR_LIT("j")));

    s->val = val_of(9);
    struct st_map_slot *again = st_map_upsert(&m, ST_STR_LIT("k"), &created);
    assert_false(created);
    assert_ptr_equal(again, s);
    assert_ptr_equal(st_map_get(&m, ST_STR_LIT("k")), val_of(9));
    assert_non_null(st_map_upsert(&m, ST_STR_LIT("n"), NULL));
    assert_int_equal(st_map_len(&m), 2);
    st_map_release(&m);
}

/* With key_dup the map owns copies; without a type it stores the caller's pointer. */
static void key_ownership(void **state)
{
    (void)state;
    struct st_map dup, borrowed;
    char buf[16];
    st_map_init(&dup, &st_map_type_dup);
    st_map_init(&borrowed, NULL);

    strcpy(buf, "alpha");
    st_map_put(&dup, st_str(buf, 5), val_of(1));
    st_map_put(&borrowed, st_str(buf, 5), val_of(1));
    struct st_map_slot *s = st_map_find(&dup, ST_STR_LIT("alpha"));
    assert_non_null(s);
    assert_ptr_not_equal(s->key.ptr, buf);
    assert_int_equal(s->key.ptr[5], '\0');
    assert_ptr_equal(st_map_find(&borrowed, ST_STR_LIT("alpha"))->key.ptr, buf);

    /* Overwriting keeps the stored key. */
    const char *stored = s->key.ptr;
    st_map_put(&dup, ST_STR_LIT("alpha"), val_of(2));
    assert_ptr_equal(st_map_find(&dup, ST_STR_LIT("alpha"))->key.ptr, stored);

    strcpy(buf, "omega"); /* the copy does not change; the borrowed key does */
    assert_ptr_equal(st_map_get(&dup, ST_STR_LIT("alpha")), val_of(2));
    assert_null(st_map_get(&dup, ST_STR_LIT("omega")));
    st_map_release(&dup);
    st_map_release(&borrowed);
}

static void nocase_type(void **state)
{
    (void)state;
    struct st_map m;
    st_map_init(&m, &st_map_type_nocase_dup);
    assert_true(st_map_put(&m, ST_STR_LIT("Content-Type"), val_of(1)));
    assert_ptr_equal(st_map_get(&m, ST_STR_LIT("content-type")), val_of(1));
    assert_ptr_equal(st_map_get(&m, ST_STR_LIT("CONTENT-TYPE")), val_of(1));
    assert_false(st_map_put(&m, ST_STR_LIT("CONTENT-type"), val_of(2)));
    assert_int_equal(st_map_len(&m), 1);
    struct st_map_slot *s = st_map_find(&m, ST_STR_LIT("content-TYPE"));
    assert_true(st_str_eq_c(s->key, "Content-Type")); /* first spelling kept */
    assert_ptr_equal(s->val, val_of(2));
    assert_null(st_map_get(&m, ST_STR_LIT("Content-Typ")));
    assert_true(st_map_put(&m, ST_STR_LIT("\xc3\x84"), val_of(3)));
    assert_null(st_map_get(&m, ST_STR_LIT("\xc3\xa4"))); /* ASCII folding only */

    /* Many keys differing only in case collapse to one entry each. */
    for (int i = 0; i < 500; i++) {
        char up[32], low[32];
        snprintf(up, sizeof(up), "HEADER-%d", i);
        snprintf(low, sizeof(low), "header-%d", i);
        st_map_put(&m, st_str_c(up), val_of(i + 10));
        assert_false(st_map_put(&m, st_str_c(low), val_of(i + 10)));
    }
    assert_int_equal(st_map_len(&m), 502);
    check_table(&m);
    assert_true(st_map_del(&m, ST_STR_LIT("header-77"), NULL));
    assert_null(st_map_get(&m, ST_STR_LIT("HEADER-77")));
    st_map_release(&m);
}

/* ---- ownership hooks -------------------------------------------------------------- */

static void val_free_exactly_when_documented(void **state)
{
    (void)state;
    struct st_map m;
    st_map_init(&m, &dup_counting);
    frees = 0;

    st_map_put(&m, ST_STR_LIT("a"), val_of(1));
    st_map_put(&m, ST_STR_LIT("b"), val_of(2));
    (void)st_map_get(&m, ST_STR_LIT("a"));
    (void)st_map_find(&m, ST_STR_LIT("b"));
    assert_int_equal(frees, 0);

    st_map_put(&m, ST_STR_LIT("a"), val_of(10)); /* overwrite drops the old value */
    assert_int_equal(frees, 1);
    assert_ptr_equal(last_freed, val_of(1));
    st_map_put(&m, ST_STR_LIT("a"), val_of(10)); /* same value: kept, not freed */
    assert_int_equal(frees, 1);

    void *v = NULL;
    assert_true(st_map_del(&m, ST_STR_LIT("a"), &v)); /* handed over, not freed */
    assert_ptr_equal(v, val_of(10));
    assert_int_equal(frees, 1);
    assert_true(st_map_del(&m, ST_STR_LIT("b"), NULL)); /* dropped */
    assert_int_equal(frees, 2);
    assert_ptr_equal(last_freed, val_of(2));
    assert_false(st_map_del(&m, ST_STR_LIT("b"), NULL));
    assert_int_equal(frees, 2);

    st_map_upsert(&m, ST_STR_LIT("null"), NULL); /* NULL is never passed */
    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof(k), "c%d", i);
        st_map_put(&m, st_str_c(k), val_of(100 + i));
    }
    struct st_map_iter it = ST_MAP_ITER_INIT;
    struct st_map_slot *s;
    while ((s = st_map_next(&m, &it))) {
        if (st_str_eq_c(s->key, "c3")) {
            st_map_iter_delete(&m, &it);
            assert_int_equal(frees, 3);
            assert_ptr_equal(last_freed, val_of(103));
        }
    }
    st_map_clear(&m);
    assert_int_equal(frees, 7);
    assert_int_equal(st_map_len(&m), 0);

    st_map_put(&m, ST_STR_LIT("x"), val_of(7));
    st_map_put(&m, ST_STR_LIT("y"), val_of(8));
    st_map_release(&m);
    assert_int_equal(frees, 9);
}

/* Real heap values and keys: ASan's leak checker sees any value the map forgets. */
static void owned_heap_values(void **state)
{
    (void)state;
    struct st_map m;
    st_map_init(&m, &dup_freeing);
    frees = 0;
    for (int i = 0; i < 1000; i++) {
        char k[16];
        int *v = malloc(sizeof(*v));
        *v = i;
        st_map_put(&m, key_of(i % 700, k, sizeof(k)), v); /* 300 overwrites */
    }
    assert_int_equal(frees, 300);
    for (int i = 0; i < 700; i += 2) {
        char k[16];
        assert_true(st_map_del(&m, key_of(i, k, sizeof(k)), NULL));
    }
    assert_int_equal(frees, 650);
    void *taken = NULL;
    char k[16];
    assert_true(st_map_del(&m, key_of(1, k, sizeof(k)), &taken));
    assert_int_equal(*(int *)taken, 701);
    free(taken);
    st_map_release(&m);
    assert_int_equal(frees, 650 + 349);
}

/* ---- growth, churn, shrink -------------------------------------------------------- */

static void growth_many_keys(void **state)
{
    (void)state;
    enum { N = 50000 };
    struct st_map m;
    char k[32];
    st_map_init(&m, &st_map_type_dup);
    for (int i = 0; i < N; i++) {
        assert_true(st_map_put(&m, key_of(i, k, sizeof(k)), val_of(i + 1)));
        assert_int_equal(st_map_len(&m), (size_t)i + 1);
    }
    check_table(&m);
    assert_int_equal(m.cap, 131072); /* 50000 needs 2^17 slots at 3/4 load */
    for (int i = 0; i < N; i++)
        assert_ptr_equal(st_map_get(&m, key_of(i, k, sizeof(k))), val_of(i + 1));
    for (int i = N; i < N + 1000; i++)
        assert_null(st_map_get(&m, key_of(i, k, sizeof(k))));

    /* Iteration visits each key exactly once. */
    unsigned char *seen = calloc(N, 1);
    struct st_map_iter it = ST_MAP_ITER_INIT;
    struct st_map_slot *s;
    size_t visits = 0;
    while ((s = st_map_next(&m, &it))) {
        int64_t idx;
        assert_int_equal(st_str_to_i64(st_str_sub(s->key, 4, s->key.len), &idx), 0);
        assert_ptr_equal(s->val, val_of(idx + 1));
        assert_int_equal(seen[idx], 0);
        seen[idx] = 1;
        visits++;
    }
    assert_int_equal(visits, N);
    free(seen);
    st_map_release(&m);
}

/* Rounds of deleting and re-inserting half the keys, checked against a reference. */
static void churn_against_reference(const struct st_map_type *type, int n, int rounds)
{
    struct st_map m;
    char k[32];
    intptr_t *ref = calloc((size_t)n, sizeof(*ref)); /* 0: absent */
    st_map_init(&m, type);
    for (int i = 0; i < n; i++) {
        ref[i] = i + 1;
        st_map_put(&m, key_of(i, k, sizeof(k)), val_of(ref[i]));
    }
    for (int r = 0; r < rounds; r++) {
        for (int i = r % 2; i < n; i += 2) {
            assert_true(st_map_del(&m, key_of(i, k, sizeof(k)), NULL));
            ref[i] = 0;
        }
        check_table(&m);
        for (int i = 0; i < n; i++)
            assert_ptr_equal(st_map_get(&m, key_of(i, k, sizeof(k))), val_of(ref[i]));
        for (int i = r % 2; i < n; i += 2) {
            ref[i] = (intptr_t)(r + 1) * n + i + 1;
            assert_true(st_map_put(&m, key_of(i, k, sizeof(k)), val_of(ref[i])));
        }
        check_table(&m);
        assert_int_equal(st_map_len(&m), (size_t)n);
    }
    for (int i = 0; i < n; i++)
        assert_ptr_equal(st_map_get(&m, key_of(i, k, sizeof(k))), val_of(ref[i]));
    free(ref);
    st_map_release(&m);
}

static void deletes_under_churn(void **state)
{
    (void)state;
    churn_against_reference(&st_map_type_dup, 20000, 6);
    churn_against_reference(&clustering_dup, 300, 6); /* wrapping clusters */
    churn_against_reference(&zero_dup, 200, 4);       /* one giant cluster */
    churn_against_reference(&mod64_counting, 3000, 4);
}

/* Shrink picks the smallest table that holds len at 3/4 load. */
static void shrink_to(size_t kept, size_t want_cap)
{
    struct st_map m;
    char k[32];
    st_map_init(&m, &st_map_type_dup);
    for (int i = 0; i < 2000; i++)
        st_map_put(&m, key_of(i, k, sizeof(k)), val_of(i + 1));
    size_t big = m.cap;
    for (int i = (int)kept; i < 2000; i++)
        assert_true(st_map_del(&m, key_of(i, k, sizeof(k)), NULL));
    assert_int_equal(m.cap, big); /* never shrinks on its own */
    st_map_shrink(&m);
    assert_int_equal(m.cap, want_cap);
    check_table(&m);
    for (int i = 0; i < 2000; i++)
        assert_ptr_equal(st_map_get(&m, key_of(i, k, sizeof(k))), i < (int)kept ? val_of(i + 1) : NULL);
    st_map_shrink(&m);
    assert_int_equal(m.cap, want_cap);
    st_map_release(&m);
}

static void shrink_fits_len(void **state)
{
    (void)state;
    shrink_to(1, 8);
    shrink_to(6, 8);
    shrink_to(7, 16);
    shrink_to(12, 16);
    shrink_to(13, 32);
    shrink_to(25, 64);
    shrink_to(1500, 2048);

    /* An empty map gives its table back, and works afterwards. */
    struct st_map m;
    char k[32];
    st_map_init(&m, &st_map_type_dup);
    for (int i = 0; i < 100; i++)
        st_map_put(&m, key_of(i, k, sizeof(k)), val_of(i + 1));
    for (int i = 0; i < 100; i++)
        assert_true(st_map_del(&m, key_of(i, k, sizeof(k)), NULL));
    st_map_shrink(&m);
    assert_int_equal(m.cap, 0);
    assert_null(m.slots);
    assert_true(st_map_put(&m, ST_STR_LIT("back"), val_of(1)));
    assert_ptr_equal(st_map_get(&m, ST_STR_LIT("back")), val_of(1));
    st_map_release(&m);
}

static void clear_keeps_table(void **state)
{
    (void)state;
    struct st_map m;
    char k[32];
    st_map_init(&m, &st_map_type_dup);
    for (int i = 0; i < 100; i++)
        st_map_put(&m, key_of(i, k, sizeof(k)), val_of(i + 1));
    size_t cap = m.cap;
    st_map_clear(&m);
    assert_int_equal(st_map_len(&m), 0);
    assert_int_equal(m.cap, cap);
    check_table(&m);
    assert_null(st_map_get(&m, key_of(5, k, sizeof(k))));
    struct st_map_iter it = ST_MAP_ITER_INIT;
    assert_null(st_map_next(&m, &it));
    assert_true(st_map_put(&m, key_of(5, k, sizeof(k)), val_of(6)));
    st_map_release(&m);
}

/* ---- iteration with deletion ------------------------------------------------------ */

/*
 * Fill a map with n keys, iterate once deleting those that pred selects, and check that
 * every key was visited exactly once and exactly the unselected keys remain.
 */
static void iterate_deleting(const struct st_map_type *type, int n, bool (*pred)(int))
{
    struct st_map m;
    char k[32];
    int *visits = calloc((size_t)n, sizeof(*visits));
    st_map_init(&m, type);
    for (int i = 0; i < n; i++)
        st_map_put(&m, key_of(i, k, sizeof(k)), val_of(i + 1));

    struct st_map_iter it = ST_MAP_ITER_INIT;
    struct st_map_slot *s;
    while ((s = st_map_next(&m, &it))) {
        int i = (int)((intptr_t)s->val - 1);
        assert_true(i >= 0 && i < n);
        visits[i]++;
        if (pred(i))
            st_map_iter_delete(&m, &it);
    }
    assert_null(st_map_next(&m, &it)); /* stays finished */

    size_t kept = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(visits[i], 1);
        void *want = pred(i) ? NULL : val_of(i + 1);
        assert_ptr_equal(st_map_get(&m, key_of(i, k, sizeof(k))), want);
        kept += !pred(i);
    }
    assert_int_equal(st_map_len(&m), kept);
    check_table(&m);
    free(visits);
    st_map_release(&m);
}

static bool all(int i)
{
    (void)i;
    return true;
}
static bool none(int i)
{
    (void)i;
    return false;
}
static bool even(int i)
{
    return i % 2 == 0;
}
static bool every_third(int i)
{
    return i % 3 == 1;
}

static void iteration_with_deletion(void **state)
{
    (void)state;
    bool (*preds[])(int) = { all, none, even, every_third };
    const struct st_map_type *types[] = {
        &st_map_type_dup,
        &clustering_dup,
        &zero_dup,
        &mod64_counting,
    };
    int sizes[] = { 1, 2, 5, 6, 7, 13, 100, 1000 };
    for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
        for (size_t p = 0; p < sizeof(preds) / sizeof(preds[0]); p++)
            for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++)
                iterate_deleting(types[t], sizes[z], preds[p]);
}

/* ---- randomized model check ------------------------------------------------------- */

enum { UNIVERSE = 3000 };

struct model {
    struct st_map m;
    intptr_t ref[UNIVERSE]; /* 0: absent */
    size_t len;
    intptr_t next_val;
    int expected_frees;
};

static void model_check_all(struct model *md)
{
    char k[32];
    assert_int_equal(st_map_len(&md->m), md->len);
    check_table(&md->m);
    for (int i = 0; i < UNIVERSE; i++) {
        struct st_map_slot *s = st_map_find(&md->m, key_of(i, k, sizeof(k)));
        if (md->ref[i])
            assert_true(s && s->val == val_of(md->ref[i]));
        else
            assert_null(s);
    }
    assert_int_equal(frees, md->expected_frees);
}

static void model_put(struct model *md, int i)
{
    char k[32];
    intptr_t v = ++md->next_val;
    bool created = st_map_put(&md->m, key_of(i, k, sizeof(k)), val_of(v));
    assert_int_equal(created, md->ref[i] == 0);
    md->expected_frees += md->ref[i] != 0;
    md->len += md->ref[i] == 0;
    md->ref[i] = v;
}

static void model_del(struct model *md, int i, bool take)
{
    char k[32];
    void *v = val_of(-1);
    bool found = st_map_del(&md->m, key_of(i, k, sizeof(k)), take ? &v : NULL);
    assert_int_equal(found, md->ref[i] != 0);
    if (take)
        assert_ptr_equal(v, found ? val_of(md->ref[i]) : NULL);
    else
        md->expected_frees += found;
    md->len -= found;
    md->ref[i] = 0;
}

/* Upsert, and on creation store a fresh value (the map's NULL is never "freed"). */
static void model_upsert(struct model *md, int i)
{
    char k[32];
    bool created;
    struct st_map_slot *s = st_map_upsert(&md->m, key_of(i, k, sizeof(k)), &created);
    assert_int_equal(created, md->ref[i] == 0);
    if (created) {
        assert_null(s->val);
        s->val = val_of(md->ref[i] = ++md->next_val);
        md->len++;
    } else {
        assert_ptr_equal(s->val, val_of(md->ref[i]));
    }
}

/*
 * One full iteration deleting a random quarter. Each visited key is present in the model
 * and seen once; visiting as many as were present means every entry was seen.
 */
static void model_iterate(struct model *md)
{
    static unsigned char seen[UNIVERSE];
    size_t present = md->len, visits = 0;
    memset(seen, 0, sizeof(seen));
    struct st_map_iter it = ST_MAP_ITER_INIT;
    struct st_map_slot *s;
    while ((s = st_map_next(&md->m, &it))) {
        int64_t i;
        assert_int_equal(st_str_to_i64(st_str_sub(s->key, 4, s->key.len), &i), 0);
        assert_true(i >= 0 && i < UNIVERSE);
        assert_int_equal(seen[i], 0);
        seen[i] = 1;
        visits++;
        assert_ptr_equal(s->val, val_of(md->ref[i]));
        if (rng_below(4) == 0) {
            st_map_iter_delete(&md->m, &it);
            md->ref[i] = 0;
            md->len--;
            md->expected_frees++;
        }
    }
    assert_int_equal(visits, present);
}

static void model_clear(struct model *md)
{
    st_map_clear(&md->m);
    md->expected_frees += (int)md->len;
    memset(md->ref, 0, sizeof(md->ref));
    md->len = 0;
}

/* One random operation; the mix favours inserts so the table keeps growing and churning. */
static void model_step(struct model *md, int step)
{
    int i = (int)rng_below(UNIVERSE);
    unsigned op = (unsigned)rng_below(100);
    if (op < 40)
        model_put(md, i);
    else if (op < 60)
        model_del(md, i, false);
    else if (op < 70)
        model_del(md, i, true);
    else if (op < 80)
        model_upsert(md, i);
    else {
        char k[32];
        assert_ptr_equal(st_map_get(&md->m, key_of(i, k, sizeof(k))), md->ref[i] ? val_of(md->ref[i]) : NULL);
    }
    if (step % 4999 == 4998)
        model_iterate(md);
    if (step % 9973 == 9972)
        st_map_shrink(&md->m);
    if (step % 61231 == 61230)
        model_clear(md);
    assert_int_equal(st_map_len(&md->m), md->len);
}

static void randomized_model(const struct st_map_type *type, uint64_t seed, int steps)
{
    struct model *md = calloc(1, sizeof(*md));
    rng_state = seed;
    frees = 0;
    st_map_init(&md->m, type);
    for (int step = 0; step < steps; step++) {
        model_step(md, step);
        if (step % 1000 == 999)
            model_check_all(md);
    }
    model_iterate(md);
    model_check_all(md);
    st_map_release(&md->m);
    assert_int_equal(frees, md->expected_frees + (int)md->len);
    free(md);
}

static void randomized_against_reference(void **state)
{
    (void)state;
    randomized_model(&dup_counting, 0x5eed5eed12345678ULL, 200000);
    randomized_model(&mod64_counting, 0x0123456789abcdefULL, 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_map),
        cmocka_unit_test(put_get_del),
        cmocka_unit_test(null_values_and_upsert),
        cmocka_unit_test(key_ownership),
        cmocka_unit_test(nocase_type),
        cmocka_unit_test(val_free_exactly_when_documented),
        cmocka_unit_test(owned_heap_values),
        cmocka_unit_test(growth_many_keys),
        cmocka_unit_test(deletes_under_churn),
        cmocka_unit_test(shrink_fits_len),
        cmocka_unit_test(clear_keeps_table),
        cmocka_unit_test(iteration_with_deletion),
        cmocka_unit_test(randomized_against_reference),
    };
    return cmocka_run_group_tests(tests, setup_key, NULL);
}
