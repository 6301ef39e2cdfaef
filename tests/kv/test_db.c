/*
 * test_db.c - unit tests of the keyspace (src/kv/db.c, evict.c, alloc.c, util.c) without
 * the server: the hooks into other parts are stubbed below (a settable clock, counters
 * for AOF feeds and WATCH touches, a fake collection type).
 *
 * Covered: incremental rehashing under inserts and deletes, SCAN's guarantee across grow
 * and shrink, lazy and active expiry with the volatile array, string encodings and
 * in-place edits, rename/move, random keys, async flush, exact memory accounting (back to
 * the baseline after everything is freed) and eviction policies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/db.h"
#include "kv/persist.h"

/* ---- stubs of the other parts ---------------------------------------------------------- */

struct kv_config kv_cfg = { .databases = 4,
                            .hz = 10,
                            .maxmemory_samples = 5,
                            .lfu_log_factor = 10,
                            .lfu_decay_time = 1,
                            .proto_max_bulk_len = 512 << 20 };
static struct kv_stats stats;
static int64_t now_ms = 1700000000000;
static int aof_dels, watch_touches, key_ready;

int64_t kv_now_ms(void)
{
    return now_ms;
}
struct kv_stats *kv_stats(void)
{
    return &stats;
}
bool kv_persist_loading(void)
{
    return false;
}
void kv_aof_feed(int db_index, int argc, const struct kv_bytes *argv)
{
    (void)db_index;
    if (argc == 2 && kv_eq(argv[0], "DEL"))
        aof_dels++;
}
void kv_watch_touch_key(struct kv_db *db, struct kv_bytes key)
{
    (void)db;
    (void)key;
    watch_touches++;
}
void kv_watch_touch_db(struct kv_db *db)
{
    (void)db;
}
void kv_signal_key_ready(struct kv_db *db, struct kv_bytes key)
{
    (void)db;
    (void)key;
    key_ready++;
}
void kv_reply_error(struct kv_client *c, const char *msg)
{
    (void)c;
    (void)msg;
}

/* A fake collection: a kv_malloc'd counter. */
static void fake_free(void *p)
{
    kv_free(p);
}
static void *fake_dup(const void *p)
{
    int64_t *q = kv_malloc(sizeof(int64_t));
    *q = *(const int64_t *)p;
    return q;
}
static size_t fake_mem(const void *p)
{
    return kv_alloc_size(p);
}
static size_t fake_len(const void *p)
{
    (void)p;
    return 1;
}
static int fake_emit(const void *p, struct kv_bytes key, struct kv_emitter *em)
{
    (void)p;
    (void)key;
    (void)em;
    return 0;
}
const struct kv_type_ops kv_list_ops = { fake_free, fake_dup, fake_mem, fake_len, fake_emit };
const struct kv_type_ops kv_hash_ops = { fake_free, fake_dup, fake_mem, fake_len, fake_emit };
const struct kv_type_ops kv_set_ops = { fake_free, fake_dup, fake_mem, fake_len, fake_emit };
const struct kv_type_ops kv_zset_ops = { fake_free, fake_dup, fake_mem, fake_len, fake_emit };

/* ---- helpers ---------------------------------------------------------------------------- */

static struct kv_bytes key_of(char *buf, unsigned i)
{
    return kv_b(buf, (size_t)snprintf(buf, 32, "key:%08u", i));
}

static size_t baseline;

static int setup(void **state)
{
    (void)state;
    kv_db_count(); /* databases are created on first use */
    baseline = kv_used_memory();
    kv_cfg.maxmemory = 0;
    kv_cfg.maxmemory_policy = KV_NOEVICTION;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < kv_db_count(); i++)
        kv_db_flush(kv_db_at(i), false);
    kv_db_lazyfree_drain();
    assert_int_equal(kv_used_memory(), baseline); /* every byte came back */
    return 0;
}

static void expect_str(struct kv_db *db, struct kv_bytes key, const char *want)
{
    struct kv_entry *e = kv_lookup_read(db, key);
    assert_non_null(e);
    char tmp[24];
    struct kv_bytes v = kv_str_get(e, tmp);
    assert_int_equal(v.n, strlen(want));
    assert_memory_equal(v.p, want, v.n);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_rehash_insert_delete(void **state)
{
    (void)state;
    struct kv_db *db = kv_db_at(0);
    char k[32], v[32];
    const unsigned n = 50000;
    for (unsigned i = 0; i < n; i++) {
        kv_str_set(db, key_of(k, i), kv_b(v, (size_t)snprintf(v, sizeof(v), "v%u", i)), false);
        if (i % 997 == 0) /* everything inserted so far is findable, mid-rehash too */
            for (unsigned j = 0; j <= i; j += 101)
                assert_non_null(kv_lookup_read(db, key_of(k, j)));
    }
    assert_int_equal(kv_db_size(db), n);
    for (unsigned i = 0; i < n; i += 2)
        assert_true(kv_db_delete(db, key_of(k, i)));
    assert_false(kv_db_delete(db, key_of(k, 0)));
    assert_int_equal(kv_db_size(db), n / 2);
    for (unsigned i = 0; i < n; i++) {
        struct kv_entry *e = kv_lookup_read(db, key_of(k, i));
        if (i % 2 == 0) {
            assert_null(e);
        } else {
            snprintf(v, sizeof(v), "v%u", i);
            expect_str(db, key_of(k, i), v);
        }
    }
    /* Deleting almost everything lets the cron shrink the table; keys stay findable. */
    for (unsigned i = 1; i < n - 1000; i += 2)
        assert_true(kv_db_delete(db, key_of(k, i)));
    for (int r = 0; r < 50; r++)
        kv_db_active_expire();
    assert_true(db->t[0].mask + 1 <= 4096);
    for (unsigned i = n - 999; i < n; i += 2)
        assert_non_null(kv_lookup_read(db, key_of(k, i)));
}

struct seen {
    unsigned char *hit;
    unsigned n;
};

static void mark_seen(void *arg, struct kv_entry *e)
{
    struct seen *s = arg;
    unsigned i;
    if (sscanf(e->key, "key:%u", &i) == 1 && i < s->n)
        s->hit[i] = 1;
}

/* Every key present for the whole scan is returned, even when the table grows (and is
 * mid-rehash) or shrinks between calls. */
static void test_scan_across_resize(void **state)
{
    (void)state;
    struct kv_db *db = kv_db_at(1);
    char k[32];
    const unsigned n = 3000, extra = 40000;
    for (unsigned i = 0; i < n; i++)
        kv_str_set(db, key_of(k, i), kv_b("x", 1), false);
    struct seen s = { calloc(n + extra, 1), n };
    uint64_t cursor = 0;
    unsigned calls = 0, added = 0;
    do {
        cursor = kv_db_scan(db, cursor, mark_seen, &s);
        calls++;
        if (calls % 3 == 0 && added < extra) { /* grow */
            for (unsigned j = 0; j < 1000; j++, added++)
                kv_str_set(db, key_of(k, n + added), kv_b("y", 1), false);
        }
        if (added >= extra && calls % 5 == 0) { /* then shrink: drop the extra keys */
            for (unsigned j = 0; j < extra; j++)
                kv_db_delete(db, key_of(k, n + j));
            kv_db_active_expire();
        }
    } while (cursor);
    for (unsigned i = 0; i < n; i++)
        if (!s.hit[i])
            fail_msg("key %u missed by scan", i);
    free(s.hit);
}

static void test_lazy_and_active_expiry(void **state)
{
    (void)state;
    struct kv_db *db = kv_db_at(2);
    char k[32];
    const unsigned n = 2000;
    for (unsigned i = 0; i < n; i++) {
        struct kv_entry *e = kv_str_set(db, key_of(k, i), kv_b("v", 1), false);
        if (i % 2 == 0)
            kv_db_set_expire(db, e, now_ms + 1000);
    }
    assert_int_equal(kv_db_expires(db), n / 2);
    assert_true(kv_db_avg_ttl(db) == 1000);
    /* Persisting and overwriting take keys out of the volatile array. */
    kv_db_set_expire(db, kv_lookup_write(db, key_of(k, 0)), -1);
    kv_str_set(db, key_of(k, 2), kv_b("w", 1), false);
    kv_str_set(db, key_of(k, 4), kv_b("w", 1), true); /* KEEPTTL keeps it */
    assert_int_equal(kv_db_expires(db), n / 2 - 2);
    now_ms += 1001;
    uint64_t before = stats.expired_keys;
    int dels = aof_dels;
    assert_null(kv_lookup_read(db, key_of(k, 4))); /* lazy */
    assert_int_equal(stats.expired_keys, before + 1);
    assert_int_equal(aof_dels, dels + 1);
    /* Active expiry samples the volatile array until few sampled keys are stale. */
    for (int r = 0; r < 20 && kv_db_expires(db); r++)
        kv_db_active_expire();
    assert_true(kv_db_expires(db) < n / 20);
    assert_int_equal(kv_db_size(db), n / 2 + 2 + kv_db_expires(db));
    assert_non_null(kv_lookup_read(db, key_of(k, 0)));
    assert_non_null(kv_lookup_read(db, key_of(k, 2)));
    assert_non_null(kv_lookup_read(db, key_of(k, 1)));
    /* RANDOMKEY never returns an expired key. */
    for (int r = 0; r < 200; r++) {
        struct kv_entry *e = kv_db_random(db);
        assert_non_null(e);
        assert_true(e->expire_ms < 0 || e->expire_ms >= now_ms);
    }
}

static void test_string_encodings(void **state)
{
    (void)state;
    struct kv_db *db = kv_db_at(0);
    struct kv_bytes key = kv_b("s", 1);
    struct kv_entry *e = kv_str_set(db, key, kv_b("12345", 5), false);
    assert_int_equal(e->enc, KV_ENC_INT);
    expect_str(db, key, "12345");
    e = kv_str_set(db, key, kv_b("012", 3), false); /* not canonical: a string */
    assert_int_equal(e->enc, KV_ENC_EMBSTR);
    expect_str(db, key, "012");
    char big[100];
    memset(big, 'b', sizeof(big));
    e = kv_str_set(db, key, kv_b(big, 44), false);
    assert_int_equal(e->enc, KV_ENC_EMBSTR);
    e = kv_str_set(db, key, kv_b(big, 45), false);
    assert_int_equal(e->enc, KV_ENC_RAW);
    e = kv_str_set_int(db, key, -7, false);
    assert_int_equal(e->enc, KV_ENC_INT);
    expect_str(db, key, "-7");
    /* APPEND-style growth turns it raw and keeps the entry where it is. */
    struct kv_entry *same = e;
    char *p = kv_str_resize(db, e, 5);
    assert_ptr_equal(same, kv_lookup_write(db, key));
    memcpy(p + 2, "abc", 3);
    expect_str(db, key, "-7abc");
    for (int i = 0; i < 1000; i++)
        kv_str_resize(db, e, 5 + (size_t)i + 1)[5 + i] = 'z';
    assert_int_equal(kv_str_get(e, big).n, 1005);
    /* SETRANGE-style growth pads with zeros. */
    p = kv_str_resize(db, e, 2000);
    for (int i = 1005; i < 2000; i++)
        assert_int_equal(p[i], 0);
    /* A collection replaced by a string frees the collection. */
    int64_t *obj = kv_malloc(sizeof(*obj));
    *obj = 5;
    assert_true(kv_db_delete(db, key));
    e = kv_db_add(db, key, KV_LIST, KV_ENC_QUICKLIST, obj);
    assert_int_equal(e->type, KV_LIST);
    e = kv_str_set(db, key, kv_b("v", 1), false);
    assert_int_equal(e->type, KV_STRING);
    /* Memory per small key: one block of at most 72 bytes for "key:00000001" -> "xxx". */
    char k[32];
    size_t m0 = kv_used_memory();
    e = kv_str_set(db, key_of(k, 1), kv_b("xxx", 3), false);
    assert_true(kv_alloc_size(e) <= 72);
    assert_true(kv_used_memory() - m0 <= 72 + 64); /* may include a table resize */
}

static void test_rename_move(void **state)
{
    (void)state;
    struct kv_db *a = kv_db_at(0), *b = kv_db_at(1);
    struct kv_entry *e = kv_str_set(a, kv_b("src", 3), kv_b("hello", 5), false);
    kv_db_set_expire(a, e, now_ms + 5000);
    kv_str_set(a, kv_b("dst", 3), kv_b("old", 3), false);
    e = kv_db_rename(a, e, a, kv_b("dst", 3));
    assert_null(kv_lookup_read(a, kv_b("src", 3)));
    expect_str(a, kv_b("dst", 3), "hello");
    assert_true(e->expire_ms == now_ms + 5000);
    assert_int_equal(kv_db_expires(a), 1);
    /* MOVE passes the entry's own key as the new name. */
    e = kv_db_rename(a, e, b, kv_entry_key(e));
    assert_null(kv_lookup_read(a, kv_b("dst", 3)));
    expect_str(b, kv_b("dst", 3), "hello");
    assert_int_equal(kv_db_expires(a), 0);
    assert_int_equal(kv_db_expires(b), 1);
    assert_int_equal(kv_db_size(a), 0);
}

static void test_flush_async(void **state)
{
    (void)state;
    struct kv_db *db = kv_db_at(3);
    char k[32];
    size_t m0 = kv_used_memory();
    for (unsigned i = 0; i < 20000; i++)
        kv_str_set(db, key_of(k, i), kv_b("some value that is raw because it is longer than 44", 51), false);
    assert_true(kv_used_memory() > m0 + 20000 * 100);
    kv_db_flush(db, true);
    assert_int_equal(kv_db_size(db), 0);
    assert_null(kv_lookup_read(db, key_of(k, 1)));
    assert_true(kv_db_lazyfree_pending());
    for (int r = 0; r < 1000 && kv_db_lazyfree_pending(); r++)
        kv_db_active_expire();
    assert_false(kv_db_lazyfree_pending());
    assert_int_equal(kv_used_memory(), m0);
}

static void fill(struct kv_db *db, unsigned n, bool volatile_half)
{
    char k[32];
    for (unsigned i = 0; i < n; i++) {
        struct kv_entry *e = kv_str_set(db, key_of(k, i), kv_b("0123456789012345678901234567890123456789", 40), false);
        if (volatile_half && i % 2)
            kv_db_set_expire(db, e, now_ms + 100000 + i);
    }
}

static void test_evict_policies(void **state)
{
    (void)state;
    struct kv_db *db = kv_db_at(0);
    fill(db, 5000, true);
    size_t used = kv_used_memory();
    kv_cfg.maxmemory = (int64_t)(used - 100000);
    kv_cfg.maxmemory_policy = KV_NOEVICTION;
    assert_int_equal(kv_evict_perform(), -1);
    kv_cfg.maxmemory_policy = KV_VOLATILE_TTL;
    uint64_t ev = stats.evicted_keys;
    assert_int_equal(kv_evict_perform(), 0);
    assert_true(kv_used_memory() <= (size_t)kv_cfg.maxmemory);
    assert_true(stats.evicted_keys > ev);
    /* Only volatile keys went, the ones expiring soonest mostly. */
    char k[32];
    for (unsigned i = 0; i < 5000; i += 2)
        assert_non_null(kv_lookup_write(db, key_of(k, i)));
    unsigned soon = 0, late = 0;
    for (unsigned i = 1; i < 5000; i += 2)
        if (!kv_db_find(db, key_of(k, i)))
            (*(i < 2500 ? &soon : &late))++;
    assert_true(soon > late);
    /* allkeys-lru evicts the keys idle longest: touch the upper half later. */
    kv_cfg.maxmemory_policy = KV_ALLKEYS_LRU;
    now_ms += 100000;
    for (unsigned i = 2500; i < 5000; i++)
        kv_lookup_read(db, key_of(k, i));
    kv_cfg.maxmemory = (int64_t)(kv_used_memory() - 100000);
    assert_int_equal(kv_evict_perform(), 0);
    unsigned old_gone = 0, new_gone = 0;
    for (unsigned i = 0; i < 5000; i++) {
        if (!kv_db_find(db, key_of(k, i)))
            (*(i < 2500 ? &old_gone : &new_gone))++;
    }
    assert_true(old_gone > 10 * (new_gone + 1));
    /* allkeys-random and allkeys-lfu evict too; volatile-* with no volatile keys cannot. */
    kv_cfg.maxmemory_policy = KV_ALLKEYS_LFU;
    kv_cfg.maxmemory = (int64_t)(kv_used_memory() - 50000);
    assert_int_equal(kv_evict_perform(), 0);
    kv_cfg.maxmemory_policy = KV_ALLKEYS_RANDOM;
    kv_cfg.maxmemory = (int64_t)(kv_used_memory() - 50000);
    assert_int_equal(kv_evict_perform(), 0);
    for (int i = 0; i < kv_db_count(); i++)
        kv_db_flush(kv_db_at(i), false);
    fill(db, 100, false);
    kv_cfg.maxmemory_policy = KV_VOLATILE_LRU;
    kv_cfg.maxmemory = 1;
    assert_int_equal(kv_evict_perform(), -1);
    kv_cfg.maxmemory = 0;
}

static void test_lfu_counter(void **state)
{
    (void)state;
    struct kv_db *db = kv_db_at(0);
    kv_cfg.maxmemory_policy = KV_ALLKEYS_LFU;
    struct kv_entry *e = kv_str_set(db, kv_b("f", 1), kv_b("v", 1), false);
    assert_int_equal(kv_evict_freq(e), 5); /* LFU_INIT_VAL */
    for (int i = 0; i < 100000; i++)
        kv_evict_touch(e);
    int f = kv_evict_freq(e);
    assert_true(f > 10 && f < 255); /* logarithmic: far below the number of hits */
    now_ms += 3 * 60000;            /* decays one per lfu-decay-time minute */
    assert_int_equal(kv_evict_freq(e), f - 3);
    kv_cfg.maxmemory_policy = KV_NOEVICTION;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rehash_insert_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan_across_resize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_and_active_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_encodings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_async, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evict_policies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lfu_counter, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    kv_db_release_all();
    return rc;
}
