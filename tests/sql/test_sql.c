/*
 * test_sql.c - the synchronous API against both backends (SQLite and a real PostgreSQL 15
 * started by scripts/pg-test.sh): typed binds and getters, typed errors, savepoints,
 * injection attempts as parameters, misuse, serialization failures and retries,
 * migrations and their command, seeding (with its measured rate).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>

#include "base/time.h"
#include "sql/sql.h"
#include "pgtest.h"

static struct st_sql_db *open_db(struct backend *b)
{
    struct st_sql_db *db = NULL;
    struct st_error err = { 0 };
    int rc = st_sql_open(b->url, &db, &err);
    if (rc)
        print_message("# open %s: %s\n", b->url, err.msg);
    assert_int_equal(rc, 0);
    return db;
}

static void exec_ok(struct st_sql_db *db, const char *sql)
{
    struct st_error err = { 0 };
    int rc = st_sql_exec(db, sql, &err);
    if (rc)
        print_message("# %s: %s\n", sql, err.msg);
    assert_int_equal(rc, 0);
}

/* One row, one integer column. */
static int64_t query_int(struct st_sql_db *db, const char *sql)
{
    struct st_sql_stmt *st;
    struct st_error err = { 0 };
    assert_int_equal(st_sql_prepare(db, sql, &st, &err), 0);
    assert_int_equal(st_sql_step(st, &err), 1);
    int64_t v = st_sql_column_int64(st, 0);
    st_sql_finalize(st);
    return v;
}

static const char *schema = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, score DOUBLE "
                            "PRECISION, photo BYTEA, note TEXT);"
                            "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES "
                            "users(id), title TEXT NOT NULL CHECK (length(title) > 0))";

/* SQLite has no BYTEA or DOUBLE PRECISION keywords of its own, but accepts them as type
 * names (affinity BLOB / REAL): one schema serves both backends. */
static void test_roundtrip(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *db = open_db(b);
    exec_ok(db, schema);
    struct st_sql_stmt *ins, *sel;
    struct st_error err = { 0 };
    assert_int_equal(
        st_sql_prepare(db, "INSERT INTO users (id, email, score, photo, note) VALUES ($1, $2, $3, $4, $5)", &ins, &err),
        0);
    const unsigned char photo[] = { 0, 1, 2, 0xff, 0x80, '\\', 'x' };
    st_sql_bind_int64(ins, 1, 1);
    st_sql_bind_text(ins, 2, "a'b\"c@example.com", 17);
    st_sql_bind_double(ins, 3, 2.5);
    st_sql_bind_blob(ins, 4, photo, sizeof(photo));
    st_sql_bind_null(ins, 5);
    assert_int_equal(st_sql_step(ins, &err), 0);
    assert_int_equal(st_sql_changes(ins), 1);
    st_sql_reset(ins);
    st_sql_bind_int64(ins, 1, 2);
    st_sql_bind_text(ins, 2, "b@example.com", 13);
    st_sql_bind_null(ins, 4);
    st_sql_bind_text(ins, 5, "héllo", strlen("héllo"));
    assert_int_equal(st_sql_step(ins, &err), 0);
    st_sql_finalize(ins);

    assert_int_equal(
        st_sql_prepare(db, "SELECT id, email, score, photo, note FROM users WHERE id >= $1 ORDER BY id", &sel, &err),
        0);
    st_sql_bind_int64(sel, 1, 1);
    assert_int_equal(st_sql_step(sel, &err), 1);
    assert_int_equal(st_sql_column_count(sel), 5);
    assert_string_equal(st_sql_column_name(sel, 1), "email");
    assert_int_equal(st_sql_column_type(sel, 0), ST_SQL_INT);
    assert_int_equal(st_sql_column_int64(sel, 0), 1);
    size_t len;
    assert_string_equal(st_sql_column_text(sel, 1, &len), "a'b\"c@example.com");
    assert_int_equal(len, 17);
    assert_true(st_sql_column_double(sel, 2) == 2.5);
    const void *p = st_sql_column_blob(sel, 3, &len);
    assert_int_equal(len, sizeof(photo));
    assert_memory_equal(p, photo, sizeof(photo));
    assert_true(st_sql_column_is_null(sel, 4));
    assert_int_equal(st_sql_step(sel, &err), 1);
    assert_int_equal(st_sql_column_int64(sel, 0), 2);
    assert_true(st_sql_column_is_null(sel, 3));
    assert_string_equal(st_sql_column_text(sel, 4, NULL), "héllo");
    assert_int_equal(st_sql_step(sel, &err), 0);
    assert_int_equal(st_sql_step(sel, &err), 0);
    /* Rerun with another parameter. */
    st_sql_reset(sel);
    st_sql_bind_int64(sel, 1, 2);
    assert_int_equal(st_sql_step(sel, &err), 1);
    assert_int_equal(st_sql_column_int64(sel, 0), 2);
    st_sql_finalize(sel);

    /* int64 extremes and a repeated placeholder. */
    assert_int_equal(st_sql_prepare(db, "SELECT CAST($1 AS BIGINT), CAST($1 AS BIGINT) - 1", &sel, &err), 0);
    st_sql_bind_int64(sel, 1, INT64_MAX);
    assert_int_equal(st_sql_step(sel, &err), 1);
    assert_true(st_sql_column_int64(sel, 0) == INT64_MAX);
    assert_true(st_sql_column_int64(sel, 1) == INT64_MAX - 1);
    st_sql_finalize(sel);
    st_sql_close(db);
    cleanup(b);
}

static void expect_error(struct st_sql_db *db, const char *sql, int code, const char *needle)
{
    struct st_error err = { 0 };
    int rc = st_sql_exec(db, sql, &err);
    if (rc != code)
        print_message("# %s -> %d %s\n", sql, rc, err.msg);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    if (needle && !strstr(err.msg, needle))
        print_message("# message: %s\n", err.msg);
    assert_true(!needle || strstr(err.msg, needle));
}

static void test_typed_errors(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *db = open_db(b);
    exec_ok(db, schema);
    exec_ok(db, "INSERT INTO users (id, email) VALUES (1, 'a@x')");
    bool is_pg = b->be == ST_SQL_POSTGRES;
    expect_error(db, "INSERT INTO users (id, email) VALUES (2, 'a@x')", ST_SQL_UNIQUE, is_pg ? "23505" : "UNIQUE");
    expect_error(db, "INSERT INTO users (id, email) VALUES (1, 'b@x')", ST_SQL_UNIQUE, NULL);
    expect_error(db, "INSERT INTO posts (id, user_id, title) VALUES (1, 99, 't')", ST_SQL_FOREIGN_KEY,
                 is_pg ? "23503" : "FOREIGN KEY");
    expect_error(db, "INSERT INTO posts (id, user_id, title) VALUES (1, 1, '')", ST_SQL_CONSTRAINT, NULL);
    expect_error(db, "INSERT INTO users (id) VALUES (5)", ST_SQL_CONSTRAINT, NULL);
    expect_error(db, "SELEC nonsense", ST_SQL_OTHER, "syntax");
    expect_error(db, "SELECT * FROM missing_table", ST_SQL_OTHER, "missing_table");
    /* Prepare reports too, and nothing leaks. */
    struct st_sql_stmt *st = NULL;
    struct st_error err = { 0 };
    assert_int_equal(st_sql_prepare(db, "SELECT nope FROM users", &st, &err), ST_SQL_OTHER);
    assert_null(st);
    assert_true(strstr(err.msg, "nope") != NULL);
    assert_string_equal(st_sql_strerror(ST_SQL_UNIQUE), "unique violation");
    assert_true(st_sql_retryable(ST_SQL_SERIALIZATION));
    assert_false(st_sql_retryable(ST_SQL_UNIQUE));
    st_sql_close(db);
    cleanup(b);
}

static void test_savepoints(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *db = open_db(b);
    struct st_error err = { 0 };
    exec_ok(db, "CREATE TABLE t (v INTEGER)");
    assert_int_equal(st_sql_begin(db, ST_SQL_ISO_DEFAULT, &err), 0);
    exec_ok(db, "INSERT INTO t VALUES (1)");
    assert_int_equal(st_sql_begin(db, ST_SQL_ISO_DEFAULT, &err), 0); /* SAVEPOINT sp1 */
    assert_int_equal(st_sql_depth(db), 2);
    exec_ok(db, "INSERT INTO t VALUES (2)");
    assert_int_equal(st_sql_begin(db, ST_SQL_ISO_DEFAULT, &err), 0); /* SAVEPOINT sp2 */
    exec_ok(db, "INSERT INTO t VALUES (3)");
    assert_int_equal(st_sql_commit(db, &err), 0);   /* RELEASE sp2: 3 joins sp1 */
    assert_int_equal(st_sql_rollback(db, &err), 0); /* sp1 rolled back: 2 and 3 gone */
    assert_int_equal(st_sql_depth(db), 1);
    /* An error inside a savepoint does not doom the outer transaction (PostgreSQL too). */
    assert_int_equal(st_sql_begin(db, ST_SQL_ISO_DEFAULT, &err), 0);
    assert_int_equal(st_sql_exec(db, "INSERT INTO nope VALUES (1)", &err), ST_SQL_OTHER);
    assert_int_equal(st_sql_rollback(db, &err), 0);
    exec_ok(db, "INSERT INTO t VALUES (4)");
    assert_int_equal(st_sql_commit(db, &err), 0);
    assert_int_equal(st_sql_depth(db), 0);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 2);
    assert_int_equal(query_int(db, "SELECT SUM(v) FROM t"), 5);
    assert_int_equal(st_sql_commit(db, &err), ST_SQL_OTHER); /* nothing open */
    st_sql_close(db);
    cleanup(b);
}

static void test_injection_stays_data(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *db = open_db(b);
    struct st_error err = { 0 };
    exec_ok(db, schema);
    exec_ok(db, "INSERT INTO users (id, email) VALUES (1, 'admin@x')");
    const char *attacks[] = {
        "x'); DROP TABLE users; --",        "' OR '1'='1", "1; DELETE FROM users", "$1 $2 ?1 ? \\' \" /* -- ",
        "Robert'); DROP TABLE students;--",
    };
    struct st_sql_stmt *ins, *sel;
    assert_int_equal(st_sql_prepare(db, "INSERT INTO users (id, email) VALUES ($1, $2)", &ins, &err), 0);
    assert_int_equal(st_sql_prepare(db, "SELECT email FROM users WHERE email = $1", &sel, &err), 0);
    for (int i = 0; i < 5; i++) {
        st_sql_reset(ins);
        st_sql_bind_int64(ins, 1, 10 + i);
        st_sql_bind_text(ins, 2, attacks[i], strlen(attacks[i]));
        assert_int_equal(st_sql_step(ins, &err), 0);
        st_sql_reset(sel);
        st_sql_bind_text(sel, 1, attacks[i], strlen(attacks[i]));
        assert_int_equal(st_sql_step(sel, &err), 1);
        assert_string_equal(st_sql_column_text(sel, 0, NULL), attacks[i]);
        assert_int_equal(st_sql_step(sel, &err), 0);
    }
    st_sql_finalize(ins);
    /* "' OR '1'='1" compared as a value matches nothing but itself. */
    st_sql_reset(sel);
    st_sql_bind_text(sel, 1, "' OR 1=1 --", 11);
    assert_int_equal(st_sql_step(sel, &err), 0);
    st_sql_finalize(sel);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM users"), 6);
    /* A $ inside a literal is not a placeholder. */
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM users WHERE email <> '$1'"), 6);
    st_sql_close(db);
    cleanup(b);
}

static void test_misuse(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *db = open_db(b);
    struct st_error err = { 0 };
    struct st_sql_stmt *st;
    assert_int_equal(st_sql_prepare(db, "SELECT CAST($1 AS INTEGER) + CAST($2 AS INTEGER)", &st, &err), 0);
    st_sql_bind_int64(st, 1, 1);
    assert_int_equal(st_sql_step(st, &err), ST_SQL_OTHER); /* $2 unbound */
    assert_true(strstr(err.msg, "$2") != NULL);
    st_sql_clear_bindings(st);
    st_sql_bind_int64(st, 1, 1);
    st_sql_bind_int64(st, 2, 2);
    st_sql_bind_int64(st, 3, 3);
    assert_int_equal(st_sql_step(st, &err), ST_SQL_OTHER); /* $3 does not exist */
    assert_true(strstr(err.msg, "$3") != NULL);
    st_sql_clear_bindings(st);
    st_sql_bind_int64(st, 1, 40);
    st_sql_bind_int64(st, 2, 2);
    assert_int_equal(st_sql_step(st, &err), 1);
    assert_int_equal(st_sql_column_int64(st, 0), 42);
    st_sql_finalize(st);
    assert_int_equal(st_sql_exec(db, "", &err), 0);
    st_sql_close(db);
    cleanup(b);
}

static void test_urls(void **state)
{
    (void)state;
    enum st_sql_backend be;
    const char *path;
    struct st_error err = { 0 };
    assert_int_equal(st_sql_url_parse("sqlite::memory:", &be, &path, &err), 0);
    assert_int_equal(be, ST_SQL_SQLITE);
    assert_string_equal(path, ":memory:");
    assert_int_equal(st_sql_url_parse("sqlite:///tmp/x.db", &be, &path, &err), 0);
    assert_string_equal(path, "/tmp/x.db");
    assert_int_equal(st_sql_url_parse("postgresql://u@h:5/d", &be, NULL, &err), 0);
    assert_int_equal(be, ST_SQL_POSTGRES);
    assert_int_equal(st_sql_url_parse("mysql://x", &be, NULL, &err), ST_SQL_OTHER);
    assert_true(strstr(err.msg, "unknown") != NULL);
    assert_int_equal(st_sql_url_parse("sqlite:", &be, NULL, &err), ST_SQL_OTHER);
    assert_int_equal(st_sql_url_parse("", &be, NULL, &err), ST_SQL_OTHER);
    struct st_sql_db *db = NULL;
    assert_int_equal(st_sql_open("sqlite:/nonexistent-dir/x/y.db", &db, &err), ST_SQL_CONNECTION);
    assert_int_equal(st_sql_open("postgres://nobody@127.0.0.1:1/x?connect_timeout=2", &db, &err), ST_SQL_CONNECTION);
    assert_true(strstr(err.msg, "postgres") != NULL);
}

/* Write skew under SERIALIZABLE: two transactions each read what the other writes. */
static void test_serialization_failure(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *a = open_db(b), *c = open_db(b);
    struct st_error err = { 0 };
    exec_ok(a, "CREATE TABLE doctors (name TEXT, on_call INTEGER)");
    exec_ok(a, "INSERT INTO doctors VALUES ('alice', 1), ('bob', 1)");
    int rc;
    if (b->be == ST_SQL_POSTGRES) {
        assert_int_equal(st_sql_begin(a, ST_SQL_ISO_SERIALIZABLE, &err), 0);
        assert_int_equal(st_sql_begin(c, ST_SQL_ISO_SERIALIZABLE, &err), 0);
        assert_int_equal(query_int(a, "SELECT COUNT(*) FROM doctors WHERE on_call = 1"), 2);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM doctors WHERE on_call = 1"), 2);
        exec_ok(a, "UPDATE doctors SET on_call = 0 WHERE name = 'alice'");
        exec_ok(c, "UPDATE doctors SET on_call = 0 WHERE name = 'bob'");
        assert_int_equal(st_sql_commit(a, &err), 0);
        rc = st_sql_commit(c, &err);
    } else {
        /* WAL: c reads a snapshot, a commits a write, c's write to the stale snapshot fails
         * with SQLITE_BUSY_SNAPSHOT at once (the busy timeout cannot help it). */
        assert_int_equal(st_sql_begin(c, ST_SQL_ISO_DEFAULT, &err), 0);
        assert_int_equal(query_int(c, "SELECT COUNT(*) FROM doctors WHERE on_call = 1"), 2);
        exec_ok(a, "UPDATE doctors SET on_call = 0 WHERE name = 'alice'");
        rc = st_sql_exec(c, "UPDATE doctors SET on_call = 0 WHERE name = 'bob'", &err);
    }
    print_message("# %s: %s\n", b->name, err.msg);
    assert_int_equal(rc, ST_SQL_SERIALIZATION);
    assert_true(st_sql_retryable(rc));
    if (st_sql_depth(c))
        st_sql_rollback(c, NULL);
    assert_int_equal(st_sql_depth(c), 0);
    assert_int_equal(query_int(a, "SELECT COUNT(*) FROM doctors WHERE on_call = 1"), 1);
    st_sql_close(a);
    st_sql_close(c);
    cleanup(b);
}

struct retry {
    int calls;
};

static int flaky(struct st_sql_db *db, void *arg, struct st_error *err)
{
    struct retry *r = arg;
    r->calls++;
    int rc = st_sql_exec(db, "INSERT INTO t VALUES (1)", err);
    if (rc)
        return rc;
    if (r->calls < 3)
        return st_error_set(err, ST_SQL_SERIALIZATION, "simulated serialization failure");
    return 0;
}

static int always_unique(struct st_sql_db *db, void *arg, struct st_error *err)
{
    struct retry *r = arg;
    r->calls++;
    return st_sql_exec(db, "INSERT INTO t VALUES (1); INSERT INTO u VALUES (1)", err);
}

static void test_transaction_retry(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *db = open_db(b);
    struct st_error err = { 0 };
    exec_ok(db, "CREATE TABLE t (v INTEGER); CREATE TABLE u (v INTEGER PRIMARY KEY); INSERT INTO u VALUES (1)");
    struct retry r = { 0 };
    assert_int_equal(st_sql_transaction(db, ST_SQL_ISO_SERIALIZABLE, 5, flaky, &r, &err), 0);
    assert_int_equal(r.calls, 3);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 1); /* the failed attempts rolled back */
    r.calls = 0;
    assert_int_equal(st_sql_transaction(db, ST_SQL_ISO_DEFAULT, 5, always_unique, &r, &err), ST_SQL_UNIQUE);
    assert_int_equal(r.calls, 1); /* not retryable */
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(st_sql_depth(db), 0);
    st_sql_close(db);
    cleanup(b);
}

/* ---- migrations ---- */

static const struct st_sql_migration migs[] = {
    { 1, "create_users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)", "DROP TABLE users" },
    { 2, "create_posts", "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id))",
      "DROP TABLE posts" },
    { 3, "index_posts", "CREATE INDEX posts_user ON posts (user_id); INSERT INTO users VALUES (1, 'seed@x')",
      "DROP INDEX posts_user; DELETE FROM users WHERE id = 1" },
    { 0, NULL, NULL, NULL },
};

static const struct st_sql_migration migs_broken[] = {
    { 1, "create_users", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL)", "DROP TABLE users" },
    { 2, "create_posts", "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id))",
      "DROP TABLE posts" },
    { 3, "half_broken", "CREATE TABLE tags (id INTEGER); CREATE TABLOID nope", "DROP TABLE tags" },
    { 0, NULL, NULL, NULL },
};

static bool table_exists(struct st_sql_db *db, struct backend *b, const char *name)
{
    char sql[256];
    if (b->be == ST_SQL_SQLITE)
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", name);
    else
        snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '%s'",
                 name);
    return query_int(db, sql) == 1;
}

static void test_migrations(void **state)
{
    struct backend *b = *state;
    fresh(b);
    struct st_sql_db *db = open_db(b);
    struct st_error err = { 0 };
    int n = -1, v = -1;
    assert_int_equal(st_sql_migrate_version(db, &v, &err), 0);
    assert_int_equal(v, 0);
    assert_int_equal(st_sql_migrate_up(db, migs, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(st_sql_migrate_up(db, migs, -1, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(st_sql_migrate_version(db, &v, &err), 0);
    assert_int_equal(v, 3);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM users"), 1);
    assert_int_equal(st_sql_migrate_up(db, migs, -1, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(st_sql_migrate_down(db, migs, 2, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(st_sql_migrate_version(db, &v, &err), 0);
    assert_int_equal(v, 1);
    assert_false(table_exists(db, b, "posts"));
    assert_true(table_exists(db, b, "users"));
    /* A failing migration leaves no trace: the transaction covers the DDL too. */
    assert_int_equal(st_sql_migrate_up(db, migs_broken, -1, &n, &err), ST_SQL_OTHER);
    print_message("# %s\n", err.msg);
    assert_true(strstr(err.msg, "migration 3 (half_broken)") != NULL);
    assert_int_equal(n, 1);
    assert_int_equal(st_sql_migrate_version(db, &v, &err), 0);
    assert_int_equal(v, 2);
    assert_false(table_exists(db, b, "tags"));
    /* A database newer than the binary is refused, and nothing is done. */
    exec_ok(db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (7, 'future', 'x')");
    assert_int_equal(st_sql_migrate_up(db, migs, -1, &n, &err), ST_SQL_OTHER);
    assert_true(strstr(err.msg, "newer") != NULL);
    assert_int_equal(n, 0);
    assert_int_equal(st_sql_migrate_down(db, migs, 1, &n, &err), ST_SQL_OTHER);
    assert_false(table_exists(db, b, "users") == false);
    st_sql_close(db);
    cleanup(b);
}

static int cli(const char *url, const char *a1, const char *a2)
{
    char *argv[6] = { "migrate", (char *)a1, (char *)a2, "--db", (char *)url, NULL };
    int argc = 5;
    if (!a2) {
        argv[2] = "--db";
        argv[3] = (char *)url;
        argv[4] = NULL;
        argc = 4;
    }
    /* The command prints for people; keep its lines out of the TAP stream. */
    fflush(stdout);
    int saved = dup(1), devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    int rc = st_sql_migrate_cli("test", migs, argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(devnull);
    return rc;
}

static void test_migrate_cli(void **state)
{
    struct backend *b = *state;
    const char *url = fresh(b);
    assert_int_equal(cli(url, "status", NULL), 0);
    assert_int_equal(cli(url, "up", "1"), 0);
    assert_int_equal(cli(url, "up", NULL), 0);
    assert_int_equal(cli(url, "down", NULL), 0);
    assert_int_equal(cli(url, "status", NULL), 0);
    assert_int_equal(cli(url, "sideways", NULL), 2);
    assert_int_equal(cli(url, "up", "-3"), 2);
    assert_int_equal(cli(url, "status", "4"), 2);
    assert_int_equal(cli("mysql://x", "up", NULL), 1);
    struct st_sql_db *db = open_db(b);
    int v;
    assert_int_equal(st_sql_migrate_version(db, &v, NULL), 0);
    assert_int_equal(v, 2);
    st_sql_close(db);
    fflush(stdout);
    cleanup(b);
}

/* ---- seeding ---- */

struct world_fill {
    struct st_sql_rng rng;
    char text[32];
};

static void fill_world(int64_t row, struct st_sql_value *v, void *arg)
{
    struct world_fill *f = arg;
    v[0] = (struct st_sql_value){ .type = ST_SQL_INT, .i = row + 1 };
    v[1] = (struct st_sql_value){ .type = ST_SQL_INT, .i = st_sql_rng_range(&f->rng, 1, 10000) };
    int n = snprintf(f->text, sizeof(f->text), "row-%lld", (long long)st_sql_rng_range(&f->rng, 0, 999999));
    v[2] = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = f->text, .len = (size_t)n };
}

static int64_t seed_checksum(struct backend *b, int64_t rows, uint64_t seed, double *rate)
{
    fresh(b);
    struct st_sql_db *db = open_db(b);
    struct st_error err = { 0 };
    exec_ok(db, "CREATE TABLE world (id INTEGER PRIMARY KEY, randomnumber INTEGER NOT NULL, label TEXT)");
    struct world_fill f;
    st_sql_rng_seed(&f.rng, seed);
    const char *const cols[] = { "id", "randomnumber", "label" };
    int64_t t0 = st_time_mono_ns();
    int rc = st_sql_seed(db, "world", cols, 3, rows, fill_world, &f, &err);
    int64_t t1 = st_time_mono_ns();
    if (rc)
        print_message("# seed: %s\n", err.msg);
    assert_int_equal(rc, 0);
    *rate = (double)rows / ((double)(t1 - t0) / 1e9);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM world"), rows);
    int64_t sum = query_int(db, "SELECT SUM(randomnumber) FROM world");
    assert_true(query_int(db, "SELECT MIN(randomnumber) FROM world") >= 1);
    assert_true(query_int(db, "SELECT MAX(randomnumber) FROM world") <= 10000);
    st_sql_close(db);
    cleanup(b);
    return sum;
}

static void test_seed(void **state)
{
    struct backend *b = *state;
    int64_t rows = b->be == ST_SQL_SQLITE ? 300000 : 30000; /* + a remainder batch */
    rows += 77;
    double r1, r2, r3;
    int64_t s1 = seed_checksum(b, rows, 42, &r1);
    int64_t s2 = seed_checksum(b, rows, 42, &r2);
    int64_t s3 = seed_checksum(b, rows, 43, &r3);
    assert_true(s1 == s2); /* same seed, same data */
    assert_true(s1 != s3);
    print_message("# seed %s: %lld rows at %.0f, %.0f, %.0f rows/s\n", b->name, (long long)rows, r1, r2, r3);
}

static void test_rng(void **state)
{
    (void)state;
    struct st_sql_rng a, b;
    st_sql_rng_seed(&a, 7);
    st_sql_rng_seed(&b, 7);
    int hist[10] = { 0 };
    for (int i = 0; i < 100000; i++) {
        assert_true(st_sql_rng_next(&a) == st_sql_rng_next(&b));
        int64_t v = st_sql_rng_range(&a, 0, 9);
        st_sql_rng_range(&b, 0, 9);
        assert_true(v >= 0 && v <= 9);
        hist[v]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(hist[i] > 9000 && hist[i] < 11000);
    assert_true(st_sql_rng_range(&a, 5, 5) == 5);
    assert_true(st_sql_rng_range(&a, INT64_MIN, INT64_MAX) != st_sql_rng_range(&a, INT64_MIN, INT64_MAX));
}

static int setup_pg(void **state)
{
    (void)state;
    return pg_start(25432) ? -1 : 0;
}

static int teardown_pg(void **state)
{
    (void)state;
    pg_stop();
    return 0;
}

#define BOTH(fn) cmocka_unit_test_prestate(fn, &lite), cmocka_unit_test_prestate(fn, &pg)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_rng),
        BOTH(test_roundtrip),
        BOTH(test_typed_errors),
        BOTH(test_savepoints),
        BOTH(test_injection_stays_data),
        BOTH(test_misuse),
        BOTH(test_serialization_failure),
        BOTH(test_transaction_retry),
        BOTH(test_migrations),
        BOTH(test_migrate_cli),
        BOTH(test_seed),
    };
    return cmocka_run_group_tests(tests, setup_pg, teardown_pg);
}
