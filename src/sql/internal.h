/*
 * internal.h - src/sql's internal header (not part of the public API): the structs behind
 * sql.h's opaque types and the functions the backend files share.
 */
#ifndef ST_SQL_INTERNAL_H
#define ST_SQL_INTERNAL_H

#include <libpq-fe.h>
#include <sqlite3.h>

#include "base/buf.h"
#include "base/map.h"
#include "base/vec.h"
#include "io/io.h"
#include "sql/sql.h"

/* A bound value; text and blob bytes live at off in a data buffer owned by the holder. */
struct st__sql_val {
    int type; /* enum st_sql_type, or -1: not bound */
    int64_t i;
    double d;
    size_t off;
    size_t len;
};

/* ---- synchronous connections ---------------------------------------------------------- */

struct st_sql_db {
    enum st_sql_backend backend;
    int depth;      /* transaction levels open */
    sqlite3 *lite;  /* SQLite */
    PGconn *pg;     /* PostgreSQL */
    unsigned names; /* PostgreSQL statement names handed out: "st<n>" */
};

struct st_sql_stmt {
    struct st_sql_db *db;
    int nparams;     /* the statement's parameter count */
    int bad_bind;    /* a bind index out of range (reported by step), 0 none */
    bool started;    /* ran since the last reset */
    bool done;       /* no more rows */
    int64_t changes; /* of the last completed run */
    ST_VEC(struct st__sql_val) params;
    struct st_buf pdata; /* bytes of text/blob parameters (PostgreSQL) */
    bool *bound;         /* SQLite: which parameters are bound */
    sqlite3_stmt *lite;
    /* PostgreSQL */
    char name[24];
    PGresult *res;
    int row;            /* the current row, -1 before the first */
    struct st_buf blob; /* decoded bytea of the last st_sql_column_blob */
};

/* ---- shared helpers (sql.c) ------------------------------------------------------------ */

/* Rewrite $n placeholders to ?n for SQLite, outside literals, identifiers and comments. */
void st__sql_rewrite_params(const char *sql, struct st_buf *out);

/* Map an SQLite failure of db (rc: its primary or extended code) to ST_SQL_* with err. */
int st__sql_lite_error(sqlite3 *db, int rc, struct st_error *err);
/* Map a failed PostgreSQL result (res may be NULL: the connection's message) to ST_SQL_*. */
int st__sql_pg_error(PGconn *conn, const PGresult *res, struct st_error *err);
/* ST_SQL_* for a SQLSTATE (NULL: connection-level failure when the connection is bad). */
int st__sql_pg_code(const char *sqlstate, bool conn_bad);
/* The SQLite code's class. */
int st__sql_lite_code(int extended);

/* Open and configure an SQLite connection at path (":memory:" or a file or a file: URI). */
int st__sql_lite_open(const char *path, sqlite3 **out, struct st_error *err);

/* A PostgreSQL value as int64/double (text form; "t"/"f" booleans read as 1/0). */
int64_t st__sql_text_int64(const char *s);
double st__sql_text_double(const char *s);
enum st_sql_type st__sql_pg_type(Oid oid);
/* Rows changed by an INSERT/UPDATE/DELETE/MERGE result (0 for anything else). */
int64_t st__sql_pg_changes(const PGresult *res);
/* Decode bytea's text form ("\x0a1b" hex, or the old escape form) into out. */
void st__sql_bytea_decode(const char *s, size_t len, struct st_buf *out);

/* Backend halves of the synchronous API (sqlite.c, pg.c). */
int st__sql_lite_connect(struct st_sql_db *db, const char *path, struct st_error *err);
int st__sql_lite_exec(struct st_sql_db *db, const char *sql, struct st_error *err);
int st__sql_lite_prepare(struct st_sql_stmt *st, const char *sql, struct st_error *err);
int st__sql_lite_step(struct st_sql_stmt *st, struct st_error *err);

int st__sql_pg_connect(struct st_sql_db *db, const char *url, struct st_error *err);
int st__sql_pg_exec(struct st_sql_db *db, const char *sql, struct st_error *err);
int st__sql_pg_prepare(struct st_sql_stmt *st, const char *sql, struct st_error *err);
int st__sql_pg_step(struct st_sql_stmt *st, struct st_error *err);
void st__sql_pg_finalize(struct st_sql_stmt *st);

/* ---- the pool (pool.c, pool_lite.c, pool_pg.c) ----------------------------------------- */

struct st__sql_waiter {
    struct st__sql_waiter *next;
    struct st_sql_pool *pool;
    void (*cb)(struct st_sql_conn *conn, int status, void *arg);
    void *arg;
    int64_t since_ns;
    struct st_io_timer timer;
};

/* What a PostgreSQL connection expects next from the server (pipeline bookkeeping). */
enum { ST__PG_PREPARE = 1, ST__PG_QUERY = 2, ST__PG_SYNC = 3 };
struct st__pg_expect {
    int kind;
    struct st_sql_batch *b; /* the batch it belongs to (batches share a pipeline) */
    bool last;              /* ST__PG_SYNC: the batch's final Sync (not an independent query's) */
    int q;                  /* ST__PG_QUERY: the query index in the batch */
    uintptr_t id;           /* ST__PG_PREPARE: the statement id */
    char *sql;              /* ST__PG_PREPARE: the cache key, to forget it when the prepare fails */
};

enum { ST__CONN_CONNECTING = 1, ST__CONN_READY = 2, ST__CONN_BROKEN = 3 };

struct st_sql_conn {
    struct st_sql_pool *pool;
    struct st_sql_conn *next_idle;
    struct st_sql_conn *prev_all, *next_all;
    int state;
    bool checked_out; /* by st_sql_pool_acquire or a batch */
    /* The batches running on it, oldest first (linked by next_on_conn): one on SQLite or on
     * an acquired connection; on PostgreSQL, batches submitted to the pool share a busy
     * connection's pipeline (pipelined) when no connection is idle. */
    struct st_sql_batch *batch;
    int inflight;   /* batches in that list */
    bool pipelined; /* checked out for pool batches (not by an acquirer): more may join */
    /* SQLite (opened lazily on a pool thread) */
    sqlite3 *lite;
    struct st_map lite_cache; /* SQL -> sqlite3_stmt* */
    /* PostgreSQL */
    PGconn *pg;
    struct st_io_watch w;
    struct st_io_timer connect_timer;
    struct st_map pg_prepared; /* SQL -> statement id */
    uintptr_t pg_next_id;
    ST_VEC(struct st__pg_expect) expect; /* a FIFO: [expect_head, len) */
    size_t expect_head;
    bool got_result; /* the head expectation has produced its result already */
    ST_VEC(const char *) pvals;
    ST_VEC(int) plens, pfmts;
    struct st_buf pscratch;
};

struct st_sql_pool {
    struct st_io_loop *loop;
    enum st_sql_backend backend;
    char *url; /* PostgreSQL conninfo, or the SQLite path to open */
    char *name;
    int max_size;
    int acquire_timeout_ms;
    int connect_timeout_ms;
    struct st_io_pool *io_pool;
    bool own_io_pool;
    struct st_sql_conn *idle; /* a stack: the most recently used first (warm caches) */
    struct st_sql_conn *all;
    int connecting;
    struct st__sql_waiter *wait_head, *wait_tail;
    struct st_io_timer dispatch_timer; /* zero timeout: serve waiters at the end of this turn */
    int orphans;                       /* SQLite batches still on a thread after st_sql_pool_free: the last frees p */
    bool freeing;
    char last_error[256];           /* why the last acquisition or connect failed */
    struct st_sql_pool_stats stats; /* written by the loop thread, relaxed atomics */
};

/* A query of a batch and, once run, its result. */
struct st__sql_q {
    size_t sql_off;
    size_t first_val, nvals;
    int rows, cols;
    int64_t changes;
    PGresult *pg;      /* PostgreSQL result (owned) */
    size_t first_cell; /* SQLite: cells[first_cell .. + rows*cols) */
};

/* An SQLite result cell: bytes at off in the batch's rdata, or NULL. */
struct st__sql_cell {
    size_t off;
    size_t len;
    bool null;
};

struct st_sql_batch {
    struct st_sql_pool *pool;
    struct st_io_loop *loop; /* the pool's: a batch failed by st_sql_pool_free outlives it */
    /* SQLite: the pool was freed while this batch ran on a pool thread; lite_done closes
     * the connection (orphaned, off every list) and fails the batch */
    struct st_sql_conn *orphan;
    struct st_sql_conn *conn;
    struct st_sql_batch *next_on_conn; /* the next batch running on conn */
    bool own_conn;                     /* acquired for this batch (or joined a pipelined one): released by the last */
    bool submitted;
    bool independent;   /* st_sql_batch_independent: a Sync per query, no SAVEPOINT */
    struct st_buf data; /* SQL texts and parameter bytes, NUL-terminated each */
    ST_VEC(struct st__sql_q) qs;
    ST_VEC(struct st__sql_val) vals;
    ST_VEC(struct st__sql_cell) cells;
    struct st_buf rdata; /* SQLite result bytes */
    void (*done)(struct st_sql_batch *b, int status, void *arg);
    void *arg;
    int status;
    struct st_error err;
    struct st_io_work work;
    struct st_io_timer finish_timer; /* done runs from here: never inside submit */
};

/* Stats updates (loop thread only; readers on other threads load relaxed). */
#define ST__STAT_ADD(pool, field, n)                                                                                   \
    __atomic_store_n(&(pool)->stats.field, __atomic_load_n(&(pool)->stats.field, __ATOMIC_RELAXED) + (n),              \
                     __ATOMIC_RELAXED)

/* pool.c: free a connection taken off its freed pool (SQLite: after its last batch). */
void st__sql_conn_orphan_free(struct st_sql_conn *c, enum st_sql_backend backend);
/* pool_lite.c's lite_done for an orphaned batch: free its connection, and the freed pool's
 * memory once no orphan is left (the thread read the pool's URL). */
void st__sql_orphan_done(struct st_sql_batch *b);

/* The error of a batch that was running when its pool was freed. */
#define ST__SQL_POOL_FREED_MSG "the pool was freed while the batch ran"

/* Pool batches that may share one PostgreSQL connection's pipeline. */
#define ST__PG_PIPELINE_MAX 32

/* pool.c: a batch finished on its connection: release it if owned, then call done. */
void st__sql_batch_finish(struct st_sql_batch *b, int status);
/* pool.c: a connection became ready (connected) or failed to connect. */
void st__sql_conn_ready(struct st_sql_conn *c);
void st__sql_conn_failed(struct st_sql_conn *c, int status, const char *msg);
/* pool.c: drop a broken connection (deferred free when inside its callbacks). */
void st__sql_conn_discard(struct st_sql_conn *c);

/* pool_lite.c */
void st__sql_lite_run(struct st_sql_batch *b);
void st__sql_lite_conn_close(struct st_sql_conn *c);

/* pool_pg.c */
void st__sql_pg_conn_start(struct st_sql_conn *c);
void st__sql_pg_run(struct st_sql_batch *b);
void st__sql_pg_conn_close(struct st_sql_conn *c);

#endif
