/*
 * sql.h - strata's SQL data layer: one interface over SQLite (embedded, the default) and
 * PostgreSQL (libpq), chosen by a URL. Design: docs/adr/0013-sql-layer.md.
 *
 *   sqlite:PATH                 a database file (created if missing), WAL, foreign keys on
 *   sqlite::memory:             a private in-memory database (tests)
 *   postgres://user@host:port/db?opt=v   or postgresql://...   (libpq's URI syntax)
 *
 * Module invariants:
 *  - Parameters are always bound, never spliced into SQL text. Placeholders are written
 *    $1, $2 ... on both backends (a parameter may appear several times); the SQLite backend
 *    rewrites them to ?1, ?2 outside string literals, quoted identifiers and comments.
 *  - Parameters are typed (int64, double, text, blob, null). PostgreSQL infers each
 *    parameter's type from its context at prepare time (as psql does); write a cast where the
 *    context is ambiguous: `SELECT $1::bigint`. Values travel as text (blobs as binary).
 *  - Column getters convert: an integer column read as text gives its decimal digits, a
 *    text column read as int64 is parsed (0 when it is not a number). NULL reads as 0, 0.0
 *    or an empty string; st_sql_column_is_null tells them apart.
 *  - Status values follow base/err.h (0, -errno, ST_E*). Database errors are the typed
 *    ST_SQL_* codes below; a `struct st_error *` (may be NULL) carries the same code and the
 *    server's own message (with the SQLSTATE or SQLite's extended code).
 *  - Two ways in. The synchronous API (struct st_sql_db) blocks: use it from CLIs,
 *    migrations, seeding and pool threads, never on an event loop. Servers use the
 *    asynchronous API (struct st_sql_pool, struct st_sql_batch) on a strata loop
 *    (io/io.h): SQLite work runs on st_io pool threads, PostgreSQL connections are
 *    non-blocking libpq sockets watched by the loop, with pipeline mode so a batch of
 *    queries costs one round trip.
 *  - Objects are not thread-safe: one st_sql_db per thread; a pool and its batches belong
 *    to the loop thread that created the pool (except st_sql_pool_stats_add).
 */
#ifndef ST_SQL_SQL_H
#define ST_SQL_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct st_io_loop;
struct st_io_pool;

/* ---- typed errors -------------------------------------------------------------------- */

/*
 * What a caller can act on. Each is below -4096 (base/err.h) and names a class:
 *   ST_SQL_UNIQUE         unique or primary key violation (PG 23505, SQLITE_CONSTRAINT_UNIQUE
 *                         / _PRIMARYKEY): answer 409, pick another key
 *   ST_SQL_FOREIGN_KEY    foreign key violation (23503, SQLITE_CONSTRAINT_FOREIGNKEY)
 *   ST_SQL_CONSTRAINT     another constraint: NOT NULL, CHECK (23xxx, SQLITE_CONSTRAINT_*)
 *   ST_SQL_SERIALIZATION  retryable: serialization failure or deadlock (40001, 40P01), or
 *                         SQLite busy/locked after busy_timeout; retry the transaction
 *   ST_SQL_TIMEOUT        statement_timeout / query canceled (57014), or a pool acquire that
 *                         waited longer than acquire_timeout_ms
 *   ST_SQL_CONNECTION     cannot connect, or the connection broke (08xxx, 57P01..57P03);
 *                         the pool drops that connection and makes a new one on demand
 *   ST_SQL_OTHER          anything else (syntax error, missing table, misuse: wrong number
 *                         of parameters, bad URL); the message says which
 */
enum {
    ST_SQL_UNIQUE = -4300,
    ST_SQL_FOREIGN_KEY = -4301,
    ST_SQL_CONSTRAINT = -4302,
    ST_SQL_SERIALIZATION = -4303,
    ST_SQL_TIMEOUT = -4304,
    ST_SQL_CONNECTION = -4305,
    ST_SQL_OTHER = -4306,
};

/* A fixed phrase for an ST_SQL_* code (st_strerror for everything else). */
const char *st_sql_strerror(int rc);

/* true for the codes worth retrying the whole transaction on (ST_SQL_SERIALIZATION). */
bool st_sql_retryable(int rc);

/* ---- URLs ---------------------------------------------------------------------------- */

enum st_sql_backend {
    ST_SQL_SQLITE = 1,
    ST_SQL_POSTGRES = 2,
};

/* The default when an app is given no --db: a file in the working directory. */
#define ST_SQL_DEFAULT_URL "sqlite:strata.db"

/*
 * Which backend url names; for SQLite, *path (may be NULL) points at the path inside url
 * (":memory:" for the in-memory database). 0 or ST_SQL_OTHER (unknown scheme or empty path;
 * err says which).
 */
int st_sql_url_parse(const char *url, enum st_sql_backend *backend, const char **path, struct st_error *err);

/* ---- synchronous API ----------------------------------------------------------------- */

struct st_sql_db;   /* one connection */
struct st_sql_stmt; /* a prepared statement of one connection */

/*
 * Connect to url. SQLite: WAL (files), busy_timeout 5 s, foreign_keys=ON, synchronous=NORMAL.
 * PostgreSQL: a blocking libpq connection (connect_timeout from the URL, else 10 s).
 * 0 and *out (close with st_sql_close), or ST_SQL_CONNECTION / ST_SQL_OTHER with err.
 */
int st_sql_open(const char *url, struct st_sql_db **out, struct st_error *err);

/* Close the connection; its statements must have been finalized. NULL is fine. */
void st_sql_close(struct st_sql_db *db);

enum st_sql_backend st_sql_backend_of(const struct st_sql_db *db);

/*
 * Run SQL without parameters, possibly several statements separated by ';' (schema,
 * migrations). Rows are discarded. 0 or an ST_SQL_* code with err.
 */
int st_sql_exec(struct st_sql_db *db, const char *sql, struct st_error *err);

/*
 * Prepare one statement with $n placeholders. 0 and *out (finalize with st_sql_finalize),
 * or an ST_SQL_* code (syntax error, unknown table) with err. The SQL text is copied.
 */
int st_sql_prepare(struct st_sql_db *db, const char *sql, struct st_sql_stmt **out, struct st_error *err);

/* Free the statement (and on PostgreSQL deallocate it). NULL is fine. */
void st_sql_finalize(struct st_sql_stmt *st);

/*
 * Bind parameter i (1-based: $1 is 1). Values are copied. Binding past the statement's
 * parameter count is remembered and reported by the next st_sql_step as ST_SQL_OTHER, as is
 * a parameter left unbound. Rebinding replaces the value.
 */
void st_sql_bind_int64(struct st_sql_stmt *st, int i, int64_t v);
void st_sql_bind_double(struct st_sql_stmt *st, int i, double v);
void st_sql_bind_text(struct st_sql_stmt *st, int i, const char *s, size_t len);
void st_sql_bind_blob(struct st_sql_stmt *st, int i, const void *p, size_t len);
void st_sql_bind_null(struct st_sql_stmt *st, int i);

/*
 * Run the statement (first call) or advance to the next row: 1 (a row is available through
 * the column getters), 0 (done: no more rows), or an ST_SQL_* code with err.
 */
int st_sql_step(struct st_sql_stmt *st, struct st_error *err);

/* Rewind the statement so it runs again with the same (or newly bound) parameters. */
void st_sql_reset(struct st_sql_stmt *st);

/* Forget every bound parameter (they become unbound). */
void st_sql_clear_bindings(struct st_sql_stmt *st);

/* Rows inserted, updated or deleted by the last completed run of st. */
int64_t st_sql_changes(const struct st_sql_stmt *st);

enum st_sql_type {
    ST_SQL_NULL = 0,
    ST_SQL_INT = 1,
    ST_SQL_DOUBLE = 2,
    ST_SQL_TEXT = 3,
    ST_SQL_BLOB = 4,
};

/* Columns of the current row (valid after st_sql_step returned 1). i is 0-based. */
int st_sql_column_count(const struct st_sql_stmt *st);
const char *st_sql_column_name(const struct st_sql_stmt *st, int i);
/* The value's type in this row (ST_SQL_NULL for NULL); PostgreSQL: from the column's type. */
enum st_sql_type st_sql_column_type(const struct st_sql_stmt *st, int i);
bool st_sql_column_is_null(const struct st_sql_stmt *st, int i);
int64_t st_sql_column_int64(const struct st_sql_stmt *st, int i);
double st_sql_column_double(const struct st_sql_stmt *st, int i);
/* Borrowed until the next step/reset/finalize; NUL-terminated; *len (may be NULL) its length. */
const char *st_sql_column_text(struct st_sql_stmt *st, int i, size_t *len);
/* Borrowed like text; PostgreSQL bytea is decoded from its hex form. */
const void *st_sql_column_blob(struct st_sql_stmt *st, int i, size_t *len);

/* ---- transactions -------------------------------------------------------------------- */

enum st_sql_isolation {
    ST_SQL_ISO_DEFAULT = 0,      /* the server's default (PostgreSQL: read committed) */
    ST_SQL_ISO_REPEATABLE = 1,   /* PostgreSQL REPEATABLE READ; SQLite BEGIN IMMEDIATE */
    ST_SQL_ISO_SERIALIZABLE = 2, /* PostgreSQL SERIALIZABLE; SQLite BEGIN IMMEDIATE */
};

/*
 * Begin a transaction; nested calls open a SAVEPOINT (sp1, sp2 ...), so a callee can roll
 * back its own part. iso applies to the outermost level only. 0 or an ST_SQL_* code.
 */
int st_sql_begin(struct st_sql_db *db, enum st_sql_isolation iso, struct st_error *err);
/* Commit the innermost level (RELEASE for a savepoint, COMMIT for the outermost). */
int st_sql_commit(struct st_sql_db *db, struct st_error *err);
/* Roll back the innermost level (ROLLBACK TO + RELEASE for a savepoint). */
int st_sql_rollback(struct st_sql_db *db, struct st_error *err);
/* Levels open: 0 outside a transaction. */
int st_sql_depth(const struct st_sql_db *db);

/*
 * Run fn(db, arg) in a transaction at iso: commit when it returns 0, roll back otherwise;
 * when fn or the commit fails with a retryable code, run it again, at most attempts times
 * in all (with a short randomized backoff). Returns fn's or the commit's final status.
 */
int st_sql_transaction(struct st_sql_db *db, enum st_sql_isolation iso, int attempts,
                       int (*fn)(struct st_sql_db *db, void *arg, struct st_error *err), void *arg,
                       struct st_error *err);

/* ---- asynchronous API: a per-loop pool and batches ------------------------------------ */

struct st_sql_pool;
struct st_sql_conn;  /* a connection checked out of a pool */
struct st_sql_batch; /* queries sent together, results read together */

struct st_sql_pool_opts {
    const char *url;        /* required (copied) */
    int max_size;           /* connections at most; 0: 8 */
    int acquire_timeout_ms; /* how long a caller may wait for a connection; 0: 5000 */
    /* SQLite: the threads that run the work (not owned). NULL: the pool starts max_size
     * threads of its own. Ignored for PostgreSQL. */
    struct st_io_pool *io_pool;
    int connect_timeout_ms; /* PostgreSQL connect deadline; 0: 10000 */
    const char *name;       /* metrics label pool="name"; NULL: "default" (copied) */
};

/*
 * A pool on loop (the calling thread's). Connections are made on demand, up to max_size.
 * 0 and *out, or ST_SQL_OTHER (bad URL) / -errno with err. Free with st_sql_pool_free.
 */
int st_sql_pool_new(struct st_io_loop *loop, const struct st_sql_pool_opts *opts, struct st_sql_pool **out,
                    struct st_error *err);

/*
 * Close every connection and free the pool, on the loop's thread. Batches still running
 * fail with ST_SQL_CONNECTION ("the pool was freed while the batch ran"; an SQLite batch
 * already on a pool thread finishes there first, its result discarded), callers still
 * waiting for a connection get ST_SQL_CONNECTION ("the pool is shutting down"): their done
 * callbacks run later on the loop, never inside this call, so keep the loop running (or
 * free it) afterwards; free those batches as usual. Connections checked out with
 * st_sql_pool_acquire must have been released first. NULL is fine.
 */
void st_sql_pool_free(struct st_sql_pool *pool);

enum st_sql_backend st_sql_pool_backend(const struct st_sql_pool *pool);

/*
 * Check a connection out for several batches in a row (an interactive transaction:
 * BEGIN in one batch, decide, COMMIT in another). cb runs on the loop once a connection is
 * free (maybe before this returns, never inside it: always from a later callback) with
 * status 0 and conn, or with ST_SQL_TIMEOUT after acquire_timeout_ms, or ST_SQL_CONNECTION
 * when no connection could be made (conn NULL then). Waiters are served first come, first
 * served. Give it back with st_sql_pool_release.
 */
void st_sql_pool_acquire(struct st_sql_pool *pool, void (*cb)(struct st_sql_conn *conn, int status, void *arg),
                         void *arg);

/*
 * Return conn to its pool. A connection left inside a transaction is rolled back first
 * (PostgreSQL) or closed; a broken one is discarded and replaced on demand.
 */
void st_sql_pool_release(struct st_sql_conn *conn);

/* The pool's counters, summed over pools by st_sql_pool_stats_add. */
struct st_sql_pool_stats {
    int64_t size;             /* connections open (or opening) */
    int64_t in_use;           /* checked out or running a batch */
    int64_t waiting;          /* callers in the acquire queue */
    int64_t acquired;         /* acquisitions served (counter) */
    int64_t acquire_wait_ns;  /* total time those acquisitions waited (counter) */
    int64_t acquire_timeouts; /* acquisitions that gave up (counter) */
    int64_t errors;           /* batches that failed (counter) */
    int64_t connects;         /* connections made (counter) */
    int64_t connect_failures; /* connection attempts that failed (counter) */
    int64_t discarded;        /* broken connections thrown away (counter) */
    int64_t queries;          /* queries run (counter) */
};

/* Add pool's counters into *s (zero it first). Any thread: the counters are relaxed atomics. */
void st_sql_pool_stats_add(const struct st_sql_pool *pool, struct st_sql_pool_stats *s);

/*
 * Append s in the Prometheus text format to out: strata_sql_pool_connections (gauge),
 * _in_use, _waiting, strata_sql_pool_acquire_total, _acquire_wait_seconds_total,
 * _acquire_timeouts_total, strata_sql_errors_total, strata_sql_connects_total,
 * _connect_failures_total, _discarded_total, strata_sql_queries_total, each with
 * {pool="name"}. 0 or ST_ELIMIT (out full).
 */
int st_sql_metrics_render(const char *name, const struct st_sql_pool_stats *s, struct st_buf *out);

/* The pool's name (for st_sql_metrics_render). */
const char *st_sql_pool_name(const struct st_sql_pool *pool);

/*
 * A batch: queries that run in order on one connection, in one transaction (a failing
 * query rolls back the batch's earlier ones and skips the rest), then done(b, status, arg)
 * runs on the loop. PostgreSQL sends the whole batch in one pipeline (one round trip);
 * each distinct SQL text is prepared once per connection and cached. SQLite runs it on a
 * pool thread with the connection's statement cache.
 *
 * Build it: st_sql_batch_new, then for each query st_sql_batch_query followed by one bind
 * call per parameter in order ($1, $2 ...), then st_sql_batch_submit. The batch owns copies
 * of the SQL and values. In done, read results by query index (the order of
 * st_sql_batch_query, from 0); free the batch with st_sql_batch_free (in done or later).
 * Inside an explicit transaction on an acquired connection, the batch joins it.
 */
struct st_sql_batch *st_sql_batch_new(struct st_sql_pool *pool);
/* Append a query; returns its index. sql is copied. */
int st_sql_batch_query(struct st_sql_batch *b, const char *sql);
/* Bind the next parameter of the last query. */
void st_sql_batch_int64(struct st_sql_batch *b, int64_t v);
void st_sql_batch_double(struct st_sql_batch *b, double v);
void st_sql_batch_text(struct st_sql_batch *b, const char *s, size_t len);
void st_sql_batch_blob(struct st_sql_batch *b, const void *p, size_t len);
void st_sql_batch_null(struct st_sql_batch *b);

/*
 * Make the queries independent: each runs as its own statement (its own implicit
 * transaction) instead of the whole batch being one atomic unit. On PostgreSQL every
 * query is followed by its own Sync in the same pipeline: still one round trip, but the
 * server executes each query separately, as TechEmpower's rules ask of /queries ("not
 * coalesced"); on SQLite no SAVEPOINT wraps them. A failed query does not undo or skip
 * the others; done still reports the first failure. Call before submitting.
 */
void st_sql_batch_independent(struct st_sql_batch *b);

/*
 * Run the batch: on a connection acquired for it (and released after; waiting like
 * st_sql_pool_acquire), or on conn when conn is not NULL (a checked-out connection; one
 * batch at a time on it). done always runs, exactly once, on the loop, never inside this
 * call: status 0, or the first failure's ST_SQL_* code (st_sql_batch_error has the message;
 * ST_SQL_TIMEOUT when no connection came in time). A batch is submitted once.
 */
void st_sql_batch_submit(struct st_sql_batch *b, struct st_sql_conn *conn,
                         void (*done)(struct st_sql_batch *b, int status, void *arg), void *arg);

/* The error of a failed batch (code and server message). */
const struct st_error *st_sql_batch_error(const struct st_sql_batch *b);

/* Free the batch and its results. Not while it is running (before done). NULL is fine. */
void st_sql_batch_free(struct st_sql_batch *b);

/* Results of query q (after done with status 0). Rows and columns are 0-based. */
int st_sql_batch_queries(const struct st_sql_batch *b);
int st_sql_result_rows(const struct st_sql_batch *b, int q);
int st_sql_result_columns(const struct st_sql_batch *b, int q);
/* Rows inserted, updated or deleted by query q. */
int64_t st_sql_result_changes(const struct st_sql_batch *b, int q);
bool st_sql_result_is_null(const struct st_sql_batch *b, int q, int row, int col);
int64_t st_sql_result_int64(const struct st_sql_batch *b, int q, int row, int col);
double st_sql_result_double(const struct st_sql_batch *b, int q, int row, int col);
/* Borrowed until st_sql_batch_free; NUL-terminated; *len (may be NULL) its length. */
const char *st_sql_result_text(const struct st_sql_batch *b, int q, int row, int col, size_t *len);

/* ---- migrations ---------------------------------------------------------------------- */

/*
 * An app's migrations: a constant table in its source, versions strictly increasing from 1,
 * ended by an entry with version 0. Each step runs in its own transaction and is recorded
 * in schema_migrations(version, name, applied_at). up_sql and down_sql may hold several
 * statements; write them portable to both backends (or test the URL's backend yourself).
 */
struct st_sql_migration {
    int version;
    const char *name;
    const char *up_sql;
    const char *down_sql;
};

/* The highest applied version (0: none; the table is created if missing). */
int st_sql_migrate_version(struct st_sql_db *db, int *version, struct st_error *err);

/*
 * Apply pending migrations up to target (-1: all). Refuses (ST_SQL_OTHER, nothing done)
 * when the database holds a version newer than the newest in migrations. *applied (may be
 * NULL) gets how many ran. 0 or an ST_SQL_* code (the failing migration is rolled back).
 */
int st_sql_migrate_up(struct st_sql_db *db, const struct st_sql_migration *migrations, int target, int *applied,
                      struct st_error *err);

/* Revert the last n applied migrations (newest first), each in its own transaction. */
int st_sql_migrate_down(struct st_sql_db *db, const struct st_sql_migration *migrations, int n, int *reverted,
                        struct st_error *err);

/*
 * `strata <app> migrate up [N]|down [N]|status [--db URL]` for an app's dispatcher: argv[0]
 * is "migrate". --db falls back to STRATA_DB, then ST_SQL_DEFAULT_URL. Prints what it did
 * (status: every migration with applied/pending and when) to stdout, errors to stderr.
 * Returns the process exit status: 0, 1 (database error), 2 (usage).
 */
int st_sql_migrate_cli(const char *app_name, const struct st_sql_migration *migrations, int argc, char **argv);

/* ---- deterministic seeding ----------------------------------------------------------- */

/* A small fast PRNG (xoshiro256**, seeded by splitmix64): the same seed, the same data. */
struct st_sql_rng {
    uint64_t s[4];
};
void st_sql_rng_seed(struct st_sql_rng *r, uint64_t seed);
uint64_t st_sql_rng_next(struct st_sql_rng *r);
/* Uniform in [lo, hi] (inclusive), unbiased. */
int64_t st_sql_rng_range(struct st_sql_rng *r, int64_t lo, int64_t hi);

/*
 * Insert rows into table(columns) fast: one transaction, one multi-row INSERT of up to
 * ST_SQL_SEED_BATCH rows prepared once and reused (plus one for the remainder). fill(row,
 * vals, arg) writes the ncols values of row (0-based) into vals. 0 or an ST_SQL_* code
 * (everything rolled back). table and column names are the caller's constants, never input.
 */
#define ST_SQL_SEED_BATCH 256
struct st_sql_value {
    enum st_sql_type type;
    int64_t i;
    double d;
    const char *s; /* text or blob bytes (borrowed until the next fill call) */
    size_t len;
};
int st_sql_seed(struct st_sql_db *db, const char *table, const char *const *columns, int ncols, int64_t rows,
                void (*fill)(int64_t row, struct st_sql_value *vals, void *arg), void *arg, struct st_error *err);

#endif
