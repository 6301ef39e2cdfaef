/*
 * test_replica.c - src/sql/replica.c against a real PostgreSQL 15 primary and a streaming
 * replica started by the test (scripts/pg-test.sh start / start-replica, ports 25434 and
 * 25435): LSN text parsing and ordering, replication itself, read-your-writes through the
 * set, and with the replica's replay paused, the fallback to the primary after max_lag_ms
 * (a read without a token still goes to the replica and does not see the write).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/time.h"
#include "io/io.h"
#include "sql/replica.h"
#include "sql/sql.h"

#define PRIMARY_PORT 25434
#define REPLICA_PORT 25435

static char script[512];
static char primary_dir[256], replica_dir[256];
static char primary_url[600], replica_url[600];

/* Run a pg-test.sh command, keep the URL it prints in url (may be NULL). 0 or -1. */
static int pg_run(const char *args, char *url, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", script, args);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[512] = "";
    while (fgets(line, sizeof(line), f))
        if (url && !strncmp(line, "postgres://", 11)) {
            snprintf(url, cap, "%s", line);
            url[strcspn(url, "\n")] = '\0';
        }
    int st = pclose(f);
    if (st != 0 || (url && !url[0])) {
        printf("# pg-test.sh %s failed: %s\n", args, line);
        return -1;
    }
    return 0;
}

static void stop_servers(void)
{
    char args[600];
    snprintf(args, sizeof(args), "stop '%s' >/dev/null", replica_dir);
    pg_run(args, NULL, 0);
    snprintf(args, sizeof(args), "stop '%s' >/dev/null", primary_dir);
    pg_run(args, NULL, 0);
}

static int start_servers(void)
{
    const char *root = getenv("SRCROOT");
    snprintf(script, sizeof(script), "%s/scripts/pg-test.sh", root ? root : ".");
    snprintf(primary_dir, sizeof(primary_dir), "/tmp/strata-replica-p-%ld", (long)getpid());
    snprintf(replica_dir, sizeof(replica_dir), "/tmp/strata-replica-r-%ld", (long)getpid());
    stop_servers();
    char args[1200];
    snprintf(args, sizeof(args), "start '%s' %d", primary_dir, PRIMARY_PORT);
    if (pg_run(args, primary_url, sizeof(primary_url)))
        return -1;
    snprintf(args, sizeof(args), "start-replica '%s' '%s' %d", primary_dir, replica_dir, REPLICA_PORT);
    return pg_run(args, replica_url, sizeof(replica_url)) ? -1 : 0;
}

static void exec_on(const char *url, const char *sql)
{
    struct st_sql_db *db;
    struct st_error err = { 0 };
    assert_int_equal(st_sql_open(url, &db, &err), 0);
    int rc = st_sql_exec(db, sql, &err);
    if (rc)
        print_message("# %s: %s\n", sql, err.msg);
    assert_int_equal(rc, 0);
    st_sql_close(db);
}

/*
 * Wait (10 s at most) until the replica has replayed everything the primary has written so
 * far. Pausing replay mid-transaction (a DROP TABLE holding its lock in the replica's
 * startup process) would make a later read of that table on the replica wait for ever.
 */
static void replica_caught_up(void)
{
    struct st_sql_db *p, *r;
    struct st_sql_stmt *st;
    struct st_error err = { 0 };
    char lsn[64] = "";
    assert_int_equal(st_sql_open(primary_url, &p, &err), 0);
    assert_int_equal(st_sql_prepare(p, "SELECT pg_current_wal_insert_lsn()::text", &st, &err), 0);
    assert_int_equal(st_sql_step(st, &err), 1);
    snprintf(lsn, sizeof lsn, "%s", st_sql_column_text(st, 0, NULL));
    st_sql_finalize(st);
    st_sql_close(p);
    assert_int_equal(st_sql_open(replica_url, &r, &err), 0);
    assert_int_equal(st_sql_prepare(r,
                                    "SELECT CASE WHEN pg_last_wal_replay_lsn() >= CAST($1 AS pg_lsn) THEN 1 ELSE 0 END",
                                    &st, &err),
                     0);
    bool done = false;
    for (int64_t deadline = st_time_mono_ms() + 10000; !done && st_time_mono_ms() < deadline;) {
        st_sql_reset(st);
        st_sql_bind_text(st, 1, lsn, strlen(lsn));
        done = st_sql_step(st, &err) == 1 && st_sql_column_int64(st, 0) != 0;
        if (!done)
            usleep(10000);
    }
    st_sql_finalize(st);
    st_sql_close(r);
    assert_true(done);
}

/* ---- LSN text ------------------------------------------------------------------------ */

static void test_lsn_parse(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(st_sql_lsn_parse("0/16B3748", &v), 0);
    assert_true(v == 0x16B3748);
    assert_int_equal(st_sql_lsn_parse("1/0", &v), 0);
    assert_true(v == 0x100000000ull);
    assert_int_equal(st_sql_lsn_parse("FFFFFFFF/ffffffff", &v), 0);
    assert_true(v == UINT64_MAX);
    const char *bad[] = { "", "0", "/1", "1/", "0/16B3748x", "g/1", "123456789/0", "0/123456789", "0/1/2", " 0/1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(st_sql_lsn_parse(bad[i], &v), ST_SQL_OTHER);
    assert_int_equal(st_sql_lsn_parse(NULL, &v), ST_SQL_OTHER);
}

static void test_lsn_format_order(void **state)
{
    (void)state;
    char s[ST_SQL_LSN_MAX];
    st_sql_lsn_format(0x16B3748, s);
    assert_string_equal(s, "0/16B3748");
    st_sql_lsn_format(0, s);
    assert_string_equal(s, "0/0");
    st_sql_lsn_format(UINT64_MAX, s);
    assert_string_equal(s, "FFFFFFFF/FFFFFFFF");
    /* textual order is wrong ("0/9" > "0/10"), numeric order is right; round trips hold */
    uint64_t a, b;
    assert_int_equal(st_sql_lsn_parse("0/9", &a), 0);
    assert_int_equal(st_sql_lsn_parse("0/10", &b), 0);
    assert_true(a < b);
    assert_int_equal(st_sql_lsn_parse("1/0", &a), 0);
    assert_int_equal(st_sql_lsn_parse("0/FFFFFFFF", &b), 0);
    assert_true(a > b);
    uint64_t vals[] = { 1, 0xABCDEF, 0x123456789ABCull, 0xDEADBEEF00000001ull };
    for (size_t i = 0; i < 4; i++) {
        st_sql_lsn_format(vals[i], s);
        assert_int_equal(st_sql_lsn_parse(s, &a), 0);
        assert_true(a == vals[i]);
    }
}

/* ---- replication --------------------------------------------------------------------- */

static void test_replication_works(void **state)
{
    (void)state;
    exec_on(primary_url, "DROP TABLE IF EXISTS repl; CREATE TABLE repl (id bigint PRIMARY KEY, v text)");
    exec_on(primary_url, "INSERT INTO repl VALUES (1, 'streamed')");
    struct st_sql_db *db;
    struct st_error err = { 0 };
    assert_int_equal(st_sql_open(replica_url, &db, &err), 0);
    int64_t deadline = st_time_mono_ms() + 10000;
    bool seen = false;
    while (!seen && st_time_mono_ms() < deadline) {
        struct st_sql_stmt *st;
        /* the table itself may not have arrived yet */
        if (st_sql_prepare(db, "SELECT v FROM repl WHERE id = 1", &st, &err) == 0) {
            if (st_sql_step(st, &err) == 1) {
                assert_string_equal(st_sql_column_text(st, 0, NULL), "streamed");
                seen = true;
            }
            st_sql_finalize(st);
        }
        if (!seen)
            usleep(20000);
    }
    assert_true(seen);
    /* the replica is read-only */
    assert_int_not_equal(st_sql_exec(db, "INSERT INTO repl VALUES (2, 'no')", &err), 0);
    st_sql_close(db);
}

/* ---- the set on a loop --------------------------------------------------------------- */

struct env {
    struct st_io_loop *loop;
    struct st_sql_pool *primary, *replica;
    struct st_sql_replica_set *rs;
};

static void env_open(struct env *e, int max_lag_ms)
{
    assert_int_equal(st_io_loop_new(&e->loop), 0);
    struct st_error err = { 0 };
    struct st_sql_pool_opts p = { .url = primary_url, .max_size = 4, .name = "primary" };
    struct st_sql_pool_opts r = { .url = replica_url, .max_size = 4, .name = "replica" };
    assert_int_equal(st_sql_pool_new(e->loop, &p, &e->primary, &err), 0);
    assert_int_equal(st_sql_pool_new(e->loop, &r, &e->replica, &err), 0);
    assert_int_equal(st_sql_replica_new(e->loop, e->primary, e->replica, max_lag_ms, &e->rs, &err), 0);
}

static void env_close(struct env *e)
{
    st_sql_replica_free(e->rs);
    st_sql_pool_free(e->primary);
    st_sql_pool_free(e->replica);
    st_io_loop_run_once(e->loop, 0);
    st_io_loop_free(e->loop);
}

static void run_until(struct env *e, const int *flag)
{
    int64_t deadline = st_time_mono_ms() + 15000;
    while (!*flag) {
        assert_true(st_time_mono_ms() < deadline);
        st_io_loop_run_once(e->loop, 20);
    }
}

struct done {
    int done, status;
    struct st_sql_pool *pool;
};

static void on_batch(struct st_sql_batch *b, int status, void *arg)
{
    (void)b;
    struct done *d = arg;
    d->status = status;
    d->done = 1;
}

static void on_route(struct st_sql_pool *pool, void *arg)
{
    struct done *d = arg;
    d->pool = pool;
    d->done = 1;
}

/* Insert (id, v) on the primary and capture the session token. */
static void write_row(struct env *e, int64_t id, char tok[ST_SQL_LSN_MAX])
{
    struct st_sql_batch *b = st_sql_batch_new(st_sql_replica_write(e->rs));
    st_sql_batch_query(b, "INSERT INTO repl (id, v) VALUES ($1, 'mine')");
    st_sql_batch_int64(b, id);
    int q = st_sql_replica_token_query(b);
    st_sql_batch_independent(b);
    struct done d = { 0 };
    st_sql_batch_submit(b, NULL, on_batch, &d);
    run_until(e, &d.done);
    assert_int_equal(d.status, 0);
    assert_int_equal(st_sql_replica_token(b, q, tok, ST_SQL_LSN_MAX), 0);
    char small[4], scratch[ST_SQL_LSN_MAX];
    assert_int_equal(st_sql_replica_token(b, q, small, sizeof(small)), ST_ELIMIT);
    assert_int_equal(st_sql_replica_token(b, 0, scratch, sizeof(scratch)), ST_SQL_OTHER); /* the INSERT: no rows */
    st_sql_batch_free(b);
    /* a later batch (another connection maybe) gives a position at least as far */
    b = st_sql_batch_new(e->primary);
    q = st_sql_replica_token_query(b);
    d.done = 0;
    st_sql_batch_submit(b, NULL, on_batch, &d);
    run_until(e, &d.done);
    assert_int_equal(d.status, 0);
    assert_int_equal(st_sql_replica_token(b, q, scratch, sizeof(scratch)), 0);
    uint64_t first, later;
    assert_int_equal(st_sql_lsn_parse(tok, &first), 0);
    assert_int_equal(st_sql_lsn_parse(scratch, &later), 0);
    assert_true(later >= first);
    st_sql_batch_free(b);
}

/* The pool a read with tok goes to (waiting on the loop when the set says so). */
static struct st_sql_pool *route(struct env *e, const char *tok)
{
    struct done d = { 0 };
    struct st_sql_pool *p = st_sql_replica_route(e->rs, tok, on_route, &d);
    if (p)
        return p;
    assert_int_equal(d.done, 0); /* never inside route */
    run_until(e, &d.done);
    assert_non_null(d.pool);
    return d.pool;
}

/* Whether row id is visible on pool. */
static bool row_seen(struct env *e, struct st_sql_pool *pool, int64_t id)
{
    struct st_sql_batch *b = st_sql_batch_new(pool);
    st_sql_batch_query(b, "SELECT v FROM repl WHERE id = $1");
    st_sql_batch_int64(b, id);
    struct done d = { 0 };
    st_sql_batch_submit(b, NULL, on_batch, &d);
    run_until(e, &d.done);
    assert_int_equal(d.status, 0);
    bool seen = st_sql_result_rows(b, 0) == 1;
    if (seen)
        assert_string_equal(st_sql_result_text(b, 0, 0, 0, NULL), "mine");
    st_sql_batch_free(b);
    return seen;
}

static void test_read_your_writes(void **state)
{
    (void)state;
    exec_on(primary_url, "DROP TABLE IF EXISTS repl; CREATE TABLE repl (id bigint PRIMARY KEY, v text)");
    struct env e;
    env_open(&e, 5000);
    int on_replica = 0;
    for (int i = 1; i <= 50; i++) {
        char tok[ST_SQL_LSN_MAX];
        write_row(&e, i, tok);
        struct st_sql_pool *p = route(&e, tok);
        on_replica += p == e.replica;
        assert_true(row_seen(&e, p, i));
    }
    struct st_sql_replica_stats s;
    st_sql_replica_stats(e.rs, &s);
    assert_int_equal(s.writes, 50);
    assert_int_equal(s.reads_replica + s.reads_primary_lag, 50);
    assert_int_equal(s.reads_replica, on_replica);
    assert_int_equal(s.waiting, 0);
    /* a healthy local replica keeps up well within 5 s */
    assert_int_equal(s.reads_primary_lag, 0);
    assert_true(s.replayed_lsn > 0);
    /* an old token is satisfied from the cached position, at once */
    assert_ptr_equal(st_sql_replica_route(e.rs, "0/1", on_route, NULL), e.replica);
    /* garbage counts as no token */
    assert_ptr_equal(st_sql_replica_route(e.rs, "not-an-lsn", on_route, NULL), e.replica);
    env_close(&e);
}

static void test_lag_falls_back(void **state)
{
    (void)state;
    exec_on(primary_url, "DROP TABLE IF EXISTS repl; CREATE TABLE repl (id bigint PRIMARY KEY, v text)");
    replica_caught_up(); /* the new table is there before replay stops */
    exec_on(replica_url, "SELECT pg_wal_replay_pause()");
    struct env e;
    env_open(&e, 150);
    char tok[ST_SQL_LSN_MAX];
    write_row(&e, 7, tok);

    int64_t t0 = st_time_mono_ms();
    struct st_sql_pool *p = route(&e, tok);
    int64_t waited = st_time_mono_ms() - t0;
    assert_ptr_equal(p, e.primary);
    assert_true(waited >= 140);
    assert_true(row_seen(&e, p, 7));

    /* without a token: the replica, which has not replayed the write */
    p = route(&e, NULL);
    assert_ptr_equal(p, e.replica);
    assert_false(row_seen(&e, p, 7));

    struct st_sql_replica_stats s;
    st_sql_replica_stats(e.rs, &s);
    assert_int_equal(s.writes, 1);
    assert_int_equal(s.reads_primary_lag, 1);
    assert_int_equal(s.reads_replica, 1);
    assert_int_equal(s.waiting, 0);

    /* replay resumes: the same token now goes to the replica and sees the row */
    exec_on(replica_url, "SELECT pg_wal_replay_resume()");
    env_close(&e);
    env_open(&e, 5000);
    p = route(&e, tok);
    assert_ptr_equal(p, e.replica);
    assert_true(row_seen(&e, p, 7));
    env_close(&e);
}

/* Freeing the set while a read waits drops it without its callback and without leaks. */
static void test_free_while_waiting(void **state)
{
    (void)state;
    exec_on(replica_url, "SELECT pg_wal_replay_pause()");
    exec_on(primary_url, "DROP TABLE IF EXISTS repl; CREATE TABLE repl (id bigint PRIMARY KEY, v text)");
    struct env e;
    env_open(&e, 5000);
    char tok[ST_SQL_LSN_MAX];
    write_row(&e, 9, tok);
    struct done d = { 0 };
    assert_null(st_sql_replica_route(e.rs, tok, on_route, &d));
    for (int i = 0; i < 10; i++)
        st_io_loop_run_once(e.loop, 10);
    assert_int_equal(d.done, 0);
    env_close(&e);
    assert_int_equal(d.done, 0);
    exec_on(replica_url, "SELECT pg_wal_replay_resume()");
}

static void test_new_rejects(void **state)
{
    (void)state;
    struct st_io_loop *loop;
    assert_int_equal(st_io_loop_new(&loop), 0);
    struct st_error err = { 0 };
    struct st_sql_pool *lite;
    struct st_sql_pool_opts o = { .url = "sqlite::memory:", .max_size = 1 };
    assert_int_equal(st_sql_pool_new(loop, &o, &lite, &err), 0);
    struct st_sql_replica_set *rs = NULL;
    assert_int_equal(st_sql_replica_new(loop, lite, lite, 100, &rs, &err), ST_SQL_OTHER);
    assert_non_null(strstr(err.msg, "PostgreSQL"));
    assert_int_equal(st_sql_replica_new(loop, NULL, lite, 100, &rs, &err), ST_SQL_OTHER);
    assert_null(rs);
    st_sql_pool_free(lite);
    st_io_loop_run_once(loop, 0);
    st_io_loop_free(loop);
}

static int group_setup(void **state)
{
    (void)state;
    return start_servers();
}

static int group_teardown(void **state)
{
    (void)state;
    stop_servers();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lsn_parse),          cmocka_unit_test(test_lsn_format_order),
        cmocka_unit_test(test_new_rejects),        cmocka_unit_test(test_replication_works),
        cmocka_unit_test(test_read_your_writes),   cmocka_unit_test(test_lag_falls_back),
        cmocka_unit_test(test_free_while_waiting),
    };
    return cmocka_run_group_tests_name("replica", tests, group_setup, group_teardown);
}
