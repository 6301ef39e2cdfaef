/*
 * test_persist.c - unit tests of the persistence part (src/kv/aof.c, snapshot.c).
 *
 * The two files are included whole and run against a small fake keyspace and fake server
 * (below): string keys in numbered databases, a fake client that applies SET / SELECT /
 * PEXPIREAT / DEL / MULTI / EXEC. That isolates what this part decides - file formats,
 * checksums, truncation and corruption handling, the rewrite child and its switch-over -
 * from the real keyspace, which tests/kv/persist.sh and crash.sh cover end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <cmocka.h>

#include "../../src/kv/aof.c"
#include "../../src/kv/snapshot.c"

/* ---- the fake keyspace ------------------------------------------------------------------ */

#define NDB 4
#define MAXKEYS 256

struct fake_val {
    size_t n;
    char p[];
};

struct kv_db {
    struct kv_entry *e[MAXKEYS];
    int n;
};

static struct kv_db dbs[NDB];
static uint64_t dirty;
struct kv_config kv_cfg;

static int emit_none(const void *ptr, struct kv_bytes key, struct kv_emitter *em)
{
    (void)ptr, (void)key, (void)em;
    return ST_EINTERNAL; /* the fake keyspace has strings only */
}
const struct kv_type_ops kv_list_ops = { .emit = emit_none }, kv_hash_ops = { .emit = emit_none },
                         kv_set_ops = { .emit = emit_none }, kv_zset_ops = { .emit = emit_none };

bool kv_eq(struct kv_bytes a, const char *lit)
{
    return strlen(lit) == a.n && strncasecmp(a.p, lit, a.n) == 0;
}

bool kv_parse_i64(struct kv_bytes b, int64_t *out)
{
    char tmp[32];
    if (b.n == 0 || b.n >= sizeof tmp)
        return false;
    memcpy(tmp, b.p, b.n);
    tmp[b.n] = 0;
    char *end;
    *out = strtoll(tmp, &end, 10);
    return *end == 0;
}

struct kv_bytes kv_str_get(const struct kv_entry *e, char tmp[24])
{
    (void)tmp;
    const struct fake_val *v = e->v.ptr;
    return kv_b(v->p, v->n);
}

struct kv_db *kv_db_at(int index)
{
    return index >= 0 && index < NDB ? &dbs[index] : NULL;
}

int kv_db_count(void)
{
    return NDB;
}

size_t kv_db_size(const struct kv_db *db)
{
    return (size_t)db->n;
}

uint64_t kv_db_scan(struct kv_db *db, uint64_t cursor, void (*fn)(void *arg, struct kv_entry *e), void *arg)
{
    /* two entries per call, to exercise the cursor loop */
    uint64_t i = cursor;
    for (int k = 0; k < 2 && i < (uint64_t)db->n; k++, i++)
        fn(arg, db->e[i]);
    return i < (uint64_t)db->n ? i : 0;
}

uint64_t kv_dirty(void)
{
    return dirty;
}

int64_t kv_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int find(struct kv_db *db, struct kv_bytes key)
{
    for (int i = 0; i < db->n; i++)
        if (db->e[i]->klen == key.n && memcmp(db->e[i]->key, key.p, key.n) == 0)
            return i;
    return -1;
}

static void del_at(struct kv_db *db, int i)
{
    free(db->e[i]->v.ptr);
    free(db->e[i]);
    db->e[i] = db->e[--db->n];
}

static void fake_set(int dbi, struct kv_bytes key, struct kv_bytes val)
{
    struct kv_db *db = &dbs[dbi];
    int i = find(db, key);
    if (i >= 0)
        del_at(db, i);
    assert_true(db->n < MAXKEYS);
    struct kv_entry *e = calloc(1, sizeof *e + key.n + 1);
    memcpy(e->key, key.p, key.n);
    e->klen = (uint32_t)key.n;
    e->expire_ms = -1;
    struct fake_val *v = malloc(sizeof *v + val.n + 1);
    v->n = val.n;
    memcpy(v->p, val.p, val.n);
    v->p[val.n] = 0;
    e->v.ptr = v;
    db->e[db->n++] = e;
    dirty++;
}

static const char *fake_get(int dbi, const char *key)
{
    int i = find(&dbs[dbi], kv_b(key, strlen(key)));
    return i < 0 ? NULL : ((struct fake_val *)dbs[dbi].e[i]->v.ptr)->p;
}

static void fake_flush(void)
{
    for (int d = 0; d < NDB; d++)
        while (dbs[d].n)
            del_at(&dbs[d], 0);
}

static int fake_keys(void)
{
    int n = 0;
    for (int d = 0; d < NDB; d++)
        n += dbs[d].n;
    return n;
}

/* ---- the fake server -------------------------------------------------------------------- */

struct fake_multi {
    struct st_buf q; /* queued commands, RESP */
    int n;
};

static uint64_t calls;

static void apply(struct kv_client *c, int argc, const struct kv_bytes *argv)
{
    int64_t v;
    calls++;
    if (kv_eq(argv[0], "SELECT") && argc == 2 && kv_parse_i64(argv[1], &v)) {
        c->db_index = (int)v;
    } else if (kv_eq(argv[0], "SET") && argc == 3) {
        fake_set(c->db_index, argv[1], argv[2]);
    } else if (kv_eq(argv[0], "PEXPIREAT") && argc == 3 && kv_parse_i64(argv[2], &v)) {
        int i = find(&dbs[c->db_index], argv[1]);
        if (i >= 0 && v < kv_now_ms())
            del_at(&dbs[c->db_index], i);
        else if (i >= 0)
            dbs[c->db_index].e[i]->expire_ms = v;
    } else if (kv_eq(argv[0], "DEL") && argc == 2) {
        int i = find(&dbs[c->db_index], argv[1]);
        if (i >= 0)
            del_at(&dbs[c->db_index], i);
    } else {
        fail_msg("unexpected command %.*s", (int)argv[0].n, argv[0].p);
    }
}

static void run_queued(struct kv_client *c, struct fake_multi *m)
{
    int fd = memfd_create("q", 0);
    assert_int_equal(kv_write_all(fd, m->q.data, m->q.len), 0);
    lseek(fd, 0, SEEK_SET);
    struct kv_preader r;
    kv_preader_init(&r, fd, UINT64_MAX);
    int argc;
    struct kv_bytes *argv;
    while (kv_preader_next(&r, &argc, &argv) == KV_PREAD_CMD)
        apply(c, argc, argv);
    kv_preader_release(&r);
    close(fd);
}

void kv_call(struct kv_client *c)
{
    struct fake_multi *m = c->multi;
    if (kv_eq(c->argv[0], "MULTI")) {
        m = c->multi = calloc(1, sizeof *m);
        st_buf_init(&m->q, ST_BUF_UNLIMITED);
    } else if (kv_eq(c->argv[0], "EXEC")) {
        assert_non_null(m);
        run_queued(c, m);
        st_buf_release(&m->q);
        free(m);
        c->multi = NULL;
    } else if (m) {
        kv_resp_append_cmd(&m->q, c->argc, c->argv);
    } else {
        apply(c, c->argc, c->argv);
    }
}

struct kv_client *kv_client_fake(void)
{
    struct kv_client *c = calloc(1, sizeof *c);
    c->flags = KV_CLIENT_AOF;
    return c;
}

void kv_client_fake_free(struct kv_client *c)
{
    struct fake_multi *m = c->multi;
    if (m) {
        st_buf_release(&m->q);
        free(m);
    }
    free(c);
}

/* Replies of the persistence commands, as text. */
static char reply[512];

void kv_reply_ok(struct kv_client *c)
{
    (void)c;
    snprintf(reply, sizeof reply, "+OK");
}
void kv_reply_status(struct kv_client *c, const char *s)
{
    (void)c;
    snprintf(reply, sizeof reply, "+%s", s);
}
void kv_reply_error(struct kv_client *c, const char *msg)
{
    (void)c;
    snprintf(reply, sizeof reply, "-%s", msg);
}
void kv_reply_int(struct kv_client *c, int64_t v)
{
    (void)c;
    snprintf(reply, sizeof reply, ":%lld", (long long)v);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static char dir[256];

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void write_file(const char *name, const void *p, size_t n)
{
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

static char *read_file(const char *name, size_t *n)
{
    char path[512];
    path_of(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)len + 1);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    p[len] = 0;
    fclose(f);
    *n = (size_t)len;
    return p;
}

static void cmd3(struct st_buf *b, const char *a, const char *k, const char *v)
{
    struct kv_bytes argv[3] = { kv_b(a, strlen(a)), kv_b(k, strlen(k)), kv_b(v, strlen(v)) };
    kv_resp_append_cmd(b, 3, argv);
}

static void feed3(int db, const char *a, const char *k, const char *v)
{
    struct kv_bytes argv[3] = { kv_b(a, strlen(a)), kv_b(k, strlen(k)), kv_b(v, strlen(v)) };
    kv_aof_feed(db, 3, argv);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/kv-persist-test-%d", (int)getpid());
    mkdir(dir, 0755);
    memset(&kv_cfg, 0, sizeof kv_cfg);
    snprintf(kv_cfg.dir, sizeof kv_cfg.dir, "%s", dir);
    strcpy(kv_cfg.dbfilename, "dump.rdb");
    strcpy(kv_cfg.appendfilename, "appendonly.aof");
    kv_cfg.appendfsync = KV_FSYNC_ALWAYS;
    kv_cfg.databases = NDB;
    kv_cfg.proto_max_bulk_len = 512LL * 1024 * 1024;
    fake_flush();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    kv_persist_shutdown(false);
    kv_cfg.appendonly = false;
    fake_flush();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Wait for the running child and let cron finish its job. */
static void wait_child(void)
{
    for (int i = 0; i < 5000 && kv_persist_child_kind() != KV_CHILD_NONE; i++) {
        usleep(1000);
        kv_persist_cron();
    }
    assert_int_equal(kv_persist_child_kind(), KV_CHILD_NONE);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_crc64(void **state)
{
    (void)state;
    assert_true(kv_crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL);
    char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (char)(i * 7 + 3);
    uint64_t whole = kv_crc64(0, buf, sizeof buf);
    for (size_t cut = 0; cut < 40; cut++) /* the 8-byte path and the byte path agree */
        assert_true(kv_crc64(kv_crc64(0, buf, cut), buf + cut, sizeof buf - cut) == whole);
}

static void test_encode(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    struct kv_bytes argv[3] = { kv_b("SET", 3), kv_b("", 0), kv_b("a\r\nb", 4) };
    assert_int_equal(kv_resp_append_cmd(&b, 3, argv), 0);
    assert_string_equal(b.data, "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n");
    st_buf_release(&b);
}

/* Every prefix of a valid stream reads as its complete commands, then EOF or TRUNC. */
static void test_reader_prefixes(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    size_t ends[4];
    cmd3(&b, "SET", "k1", "v1");
    ends[0] = b.len;
    cmd3(&b, "SET", "", "12345678901");
    ends[1] = b.len;
    cmd3(&b, "PEXPIREAT", "k1", "99");
    ends[2] = b.len;
    cmd3(&b, "SET", "bin\r\n", "x");
    ends[3] = b.len;
    for (size_t len = 0; len <= b.len; len++) {
        int fd = memfd_create("p", 0);
        assert_int_equal(kv_write_all(fd, b.data, len), 0);
        lseek(fd, 0, SEEK_SET);
        struct kv_preader r;
        kv_preader_init(&r, fd, UINT64_MAX);
        int argc, rc, n = 0;
        struct kv_bytes *argv;
        while ((rc = kv_preader_next(&r, &argc, &argv)) == KV_PREAD_CMD) {
            assert_int_equal(argc, 3);
            assert_int_equal(kv_preader_offset(&r), ends[n]);
            n++;
        }
        int complete = 0;
        while (complete < 4 && ends[complete] <= len)
            complete++;
        assert_int_equal(n, complete);
        bool boundary = len == 0 || (complete > 0 && ends[complete - 1] == len);
        assert_int_equal(rc, boundary ? KV_PREAD_EOF : KV_PREAD_TRUNC);
        kv_preader_release(&r);
        close(fd);
    }
    st_buf_release(&b);
}

static void test_reader_bad_and_big(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    /* an argument bigger than the 1 MB read chunk */
    size_t big = 3 * 1024 * 1024 + 17;
    char *v = malloc(big + 1);
    memset(v, 'x', big);
    v[big] = 0;
    cmd3(&b, "SET", "big", v);
    size_t first = b.len;
    st_buf_append_c(&b, "*2\r\n$3\r\nGET\r\n$2\r\nabX\n"); /* no CRLF after the bulk */
    cmd3(&b, "SET", "after", "1");
    int fd = memfd_create("p", 0);
    assert_int_equal(kv_write_all(fd, b.data, b.len), 0);
    lseek(fd, 0, SEEK_SET);
    struct kv_preader r;
    kv_preader_init(&r, fd, UINT64_MAX);
    int argc;
    struct kv_bytes *argv;
    assert_int_equal(kv_preader_next(&r, &argc, &argv), KV_PREAD_CMD);
    assert_int_equal(argv[2].n, big);
    assert_memory_equal(argv[2].p, v, big);
    assert_int_equal(kv_preader_next(&r, &argc, &argv), KV_PREAD_BAD);
    assert_int_equal(kv_preader_offset(&r), first);
    assert_string_equal(r.why, "bulk string not terminated by CRLF");
    kv_preader_release(&r);
    close(fd);
    free(v);
    st_buf_release(&b);

    const char *garbage[] = { "hello\r\n", "*0\r\n", "*1\r\n$-1\r\n", "*1\r\n:5\r\n", "*x\r\n", "*1\r\n$1\r\nab\r\n" };
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        fd = memfd_create("g", 0);
        kv_write_all(fd, garbage[i], strlen(garbage[i]));
        lseek(fd, 0, SEEK_SET);
        kv_preader_init(&r, fd, UINT64_MAX);
        assert_int_equal(kv_preader_next(&r, &argc, &argv), KV_PREAD_BAD);
        kv_preader_release(&r);
        close(fd);
    }
}

static void fill_keyspace(void)
{
    fake_set(0, kv_b("a", 1), kv_b("1", 1));
    fake_set(0, kv_b("bin\0key", 7), kv_b("v\r\n\0", 4));
    fake_set(0, kv_b("e", 1), kv_b("", 0));
    fake_set(3, kv_b("ttl", 3), kv_b("x", 1));
    dbs[3].e[0]->expire_ms = kv_now_ms() + 100000;
    fake_set(3, kv_b("gone", 4), kv_b("y", 1));
    dbs[3].e[1]->expire_ms = kv_now_ms() - 1000; /* already expired: not written */
}

static void check_keyspace(void)
{
    assert_int_equal(fake_keys(), 4);
    assert_string_equal(fake_get(0, "a"), "1");
    int i = find(&dbs[0], kv_b("bin\0key", 7));
    assert_true(i >= 0);
    assert_memory_equal(((struct fake_val *)dbs[0].e[i]->v.ptr)->p, "v\r\n\0", 4);
    assert_string_equal(fake_get(0, "e"), "");
    i = find(&dbs[3], kv_b("ttl", 3));
    assert_true(i >= 0 && dbs[3].e[i]->expire_ms > kv_now_ms());
}

static void test_snapshot_roundtrip(void **state)
{
    (void)state;
    fill_keyspace();
    assert_int_equal(kv_snapshot_save(NULL), 0);
    kv_cmd_lastsave(NULL);
    char want[32];
    snprintf(want, sizeof want, ":%lld", (long long)time(NULL));
    assert_true(strcmp(reply, want) == 0 || atoll(reply + 1) >= time(NULL) - 1);
    fake_flush();
    assert_int_equal(kv_snapshot_load(NULL), 0);
    check_keyspace();
    /* no temp files left behind */
    size_t n;
    char *p = read_file("dump.rdb", &n);
    assert_non_null(p);
    assert_true(n > TRAILER_LEN && memcmp(p + n - TRAILER_LEN, TRAILER_HEAD, sizeof TRAILER_HEAD - 1) == 0);
    free(p);
}

static void test_snapshot_corrupt(void **state)
{
    (void)state;
    fill_keyspace();
    assert_int_equal(kv_snapshot_save(NULL), 0);
    size_t n;
    char *p = read_file("dump.rdb", &n);
    fake_flush();
    for (size_t at = 0; at < n; at += 7) { /* any flipped byte is caught, nothing applied */
        p[at] ^= 0x20;
        write_file("dump.rdb", p, n);
        assert_int_not_equal(kv_snapshot_load(NULL), 0);
        assert_int_equal(fake_keys(), 0);
        p[at] ^= 0x20;
    }
    for (size_t len = 0; len < n; len += 5) { /* and so is any truncation */
        write_file("dump.rdb", p, len);
        assert_int_not_equal(kv_snapshot_load(NULL), 0);
        assert_int_equal(fake_keys(), 0);
    }
    assert_int_equal(kv_snapshot_load("/nonexistent/dump"), -ENOENT);
    free(p);
}

static void test_bgsave(void **state)
{
    (void)state;
    fill_keyspace();
    struct kv_client c = { 0 };
    c.argc = 1;
    c.argv = (struct kv_bytes[]){ kv_b("BGSAVE", 6), kv_b("SCHEDULE", 8) };
    kv_cmd_bgsave(&c);
    assert_string_equal(reply, "+Background saving started");
    kv_cmd_bgsave(&c);
    assert_string_equal(reply, "-ERR Background save already in progress");
    kv_cmd_save(&c);
    assert_string_equal(reply, "-ERR Background save already in progress");
    kv_cmd_bgrewriteaof(&c);
    assert_string_equal(reply, "+Background append only file rewriting scheduled");
    wait_child(); /* the snapshot child, then cron starts the scheduled rewrite */
    wait_child();
    struct st_buf info;
    st_buf_init(&info, ST_BUF_UNLIMITED);
    kv_persist_info(&info);
    assert_non_null(strstr(info.data, "rdb_last_bgsave_status:ok\r\n"));
    assert_non_null(strstr(info.data, "rdb_changes_since_last_save:0\r\n"));
    assert_null(strstr(info.data, "rdb_saves:0\r\n"));
    assert_non_null(strstr(info.data, "aof_last_bgrewrite_status:ok\r\n"));
    assert_non_null(strstr(info.data, "aof_enabled:0\r\n"));
    st_buf_release(&info);
    fake_flush();
    assert_int_equal(kv_snapshot_load(NULL), 0);
    check_keyspace();
    c.argc = 3;
    kv_cmd_bgsave(&c);
    assert_string_equal(reply, "-ERR syntax error");
}

static void test_aof_append_and_reload(void **state)
{
    (void)state;
    kv_cfg.appendonly = true;
    assert_int_equal(kv_persist_load(), 0); /* no file: creates an empty AOF */
    feed3(0, "SET", "a", "1");
    feed3(0, "SET", "b", "2");
    feed3(2, "SET", "c", "3");
    kv_persist_before_sleep();
    size_t n;
    char *p = read_file("appendonly.aof", &n);
    assert_string_equal(p, "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                           "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
                           "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
                           "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
                           "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n3\r\n");
    free(p);
    assert_int_equal(kv_persist_shutdown(false), 0);
    assert_int_equal(kv_persist_load(), 0);
    assert_string_equal(fake_get(0, "a"), "1");
    assert_string_equal(fake_get(2, "c"), "3");
    assert_int_equal(fake_keys(), 3);
}

static void test_aof_truncated(void **state)
{
    (void)state;
    kv_cfg.appendonly = true;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    cmd3(&b, "SET", "a", "1");
    cmd3(&b, "SET", "b", "2");
    size_t good = b.len;
    st_buf_append_c(&b, "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\n12"); /* torn write */
    write_file("appendonly.aof", b.data, b.len);
    assert_int_equal(kv_persist_load(), 0);
    assert_int_equal(fake_keys(), 2);
    assert_null(fake_get(0, "c"));
    size_t n;
    char *p = read_file("appendonly.aof", &n);
    assert_int_equal(n, good);
    free(p);
    /* the next write lands after the cut, so the file reads back whole */
    feed3(0, "SET", "d", "4");
    kv_persist_before_sleep();
    assert_int_equal(kv_persist_shutdown(false), 0);
    fake_flush();
    assert_int_equal(kv_persist_load(), 0);
    assert_string_equal(fake_get(0, "d"), "4");
    assert_int_equal(fake_keys(), 3);
    st_buf_release(&b);
}

static void test_aof_multi_reverted(void **state)
{
    (void)state;
    kv_cfg.appendonly = true;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    cmd3(&b, "SET", "a", "1");
    size_t good = b.len;
    struct kv_bytes multi = kv_b("MULTI", 5);
    kv_resp_append_cmd(&b, 1, &multi);
    cmd3(&b, "SET", "b", "2"); /* complete, but the EXEC never made it */
    write_file("appendonly.aof", b.data, b.len);
    assert_int_equal(kv_persist_load(), 0);
    assert_int_equal(fake_keys(), 1);
    size_t n;
    char *p = read_file("appendonly.aof", &n);
    assert_int_equal(n, good);
    free(p);
    st_buf_release(&b);
}

static void test_aof_garbage_fatal(void **state)
{
    (void)state;
    kv_cfg.appendonly = true;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    cmd3(&b, "SET", "a", "1");
    st_buf_append_c(&b, "GARBAGE\r\n");
    cmd3(&b, "SET", "b", "2");
    write_file("appendonly.aof", b.data, b.len);
    assert_int_equal(kv_persist_load(), -1);
    size_t n;
    char *p = read_file("appendonly.aof", &n);
    assert_int_equal(n, b.len); /* a fatal error never truncates: the operator decides */
    free(p);
    st_buf_release(&b);
}

static void test_select_out_of_range(void **state)
{
    (void)state;
    kv_cfg.appendonly = true;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    struct kv_bytes sel[2] = { kv_b("SELECT", 6), kv_b("9", 1) }; /* NDB is 4 */
    kv_resp_append_cmd(&b, 2, sel);
    cmd3(&b, "SET", "a", "1");
    write_file("appendonly.aof", b.data, b.len);
    assert_int_equal(kv_persist_load(), -1);
    assert_int_equal(fake_keys(), 0);
    st_buf_release(&b);
}

static void test_rewrite_keeps_concurrent_writes(void **state)
{
    (void)state;
    kv_cfg.appendonly = true;
    assert_int_equal(kv_persist_load(), 0);
    fill_keyspace();
    for (int i = 0; i < 5; i++) /* history the rewrite compacts away */
        feed3(0, "SET", "a", "old");
    kv_persist_before_sleep();
    assert_int_equal(kv_aof_rewrite_start(), 0);
    /* writes while the child runs: applied in memory and fed, as the server does */
    char k[16];
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "w%d", i);
        fake_set(1, kv_b(k, strlen(k)), kv_b("v", 1));
        feed3(1, "SET", k, "v");
        if (i % 10 == 0)
            kv_persist_before_sleep();
    }
    wait_child();
    feed3(1, "SET", "after", "1"); /* appended to the new file */
    fake_set(1, kv_b("after", 5), kv_b("1", 1));
    kv_persist_before_sleep();
    assert_int_equal(kv_persist_shutdown(false), 0);
    size_t n;
    char *p = read_file("appendonly.aof", &n);
    assert_null(strstr(p, "old")); /* compacted */
    free(p);
    fake_flush();
    assert_int_equal(kv_persist_load(), 0);
    assert_int_equal(fake_keys(), 4 + 51);
    assert_string_equal(fake_get(1, "w49"), "v");
    assert_string_equal(fake_get(1, "after"), "1");
}

static void test_appendonly_switched_on(void **state)
{
    (void)state;
    assert_int_equal(kv_persist_load(), 0); /* appendonly no: no file */
    fill_keyspace();
    kv_cfg.appendonly = true;        /* CONFIG SET appendonly yes */
    feed3(0, "SET", "ignored", "x"); /* before the switch: captured by the fork instead */
    fake_set(0, kv_b("ignored", 7), kv_b("x", 1));
    kv_persist_before_sleep(); /* starts the rewrite that creates the file */
    assert_int_equal(kv_persist_child_kind(), KV_CHILD_AOF);
    feed3(2, "SET", "during", "1");
    fake_set(2, kv_b("during", 6), kv_b("1", 1));
    wait_child();
    struct st_buf info;
    st_buf_init(&info, ST_BUF_UNLIMITED);
    kv_persist_info(&info);
    assert_non_null(strstr(info.data, "aof_enabled:1\r\n"));
    assert_non_null(strstr(info.data, "aof_current_size:"));
    st_buf_release(&info);
    assert_int_equal(kv_persist_shutdown(false), 0);
    fake_flush();
    assert_int_equal(kv_persist_load(), 0);
    assert_int_equal(fake_keys(), 6);
    assert_string_equal(fake_get(2, "during"), "1");
    assert_string_equal(fake_get(0, "ignored"), "x");
}

static void test_disable_kills_rewrite(void **state)
{
    (void)state;
    kv_cfg.appendonly = true;
    assert_int_equal(kv_persist_load(), 0);
    fill_keyspace();
    assert_int_equal(kv_aof_rewrite_start(), 0);
    kv_cfg.appendonly = false; /* CONFIG SET appendonly no while the child runs */
    kv_persist_before_sleep();
    assert_int_equal(kv_persist_child_kind(), KV_CHILD_NONE);
    struct st_buf info;
    st_buf_init(&info, ST_BUF_UNLIMITED);
    kv_persist_info(&info);
    assert_non_null(strstr(info.data, "aof_enabled:0\r\n"));
    assert_non_null(strstr(info.data, "aof_last_bgrewrite_status:ok\r\n")); /* aborted, not failed */
    st_buf_release(&info);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q temp-", dir);
    assert_int_not_equal(system(cmd), 0); /* the child's temp file is gone */
    /* and writes are no longer appended */
    size_t before, after;
    free(read_file("appendonly.aof", &before));
    feed3(0, "SET", "x", "1");
    kv_persist_before_sleep();
    free(read_file("appendonly.aof", &after));
    assert_int_equal(before, after);
}

int main(void)
{
    st_log_set_level(ST_LOG_WARN); /* the info lines of every save and rewrite are noise here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc64),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_reader_prefixes),
        cmocka_unit_test(test_reader_bad_and_big),
        cmocka_unit_test_setup_teardown(test_snapshot_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_corrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bgsave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aof_append_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aof_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aof_multi_reverted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aof_garbage_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite_keeps_concurrent_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appendonly_switched_on, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disable_kills_rewrite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
