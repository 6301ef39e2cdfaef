/*
 * replica.h - route reads to a PostgreSQL streaming replica and writes to the primary, with
 * read-your-writes (docs/blog-api.md "Read replica (Q116)").
 *
 * A client's "session token" is the primary's WAL position after its last write, as the
 * printable text PostgreSQL uses ("0/16B3748"), so it can travel in a cookie or a header.
 * A read with a token goes to the replica once pg_last_wal_replay_lsn() on the replica has
 * reached the token (checked at once, then every ST_SQL_REPLICA_POLL_MS up to max_lag_ms),
 * else to the primary; a read without a token goes to the replica.
 *
 * Use (on the loop thread that owns both pools):
 *   write:  b = st_sql_batch_new(st_sql_replica_write(rs)); ...the writes...;
 *           q = st_sql_replica_token_query(b); st_sql_batch_independent(b) (or put the
 *           token query in a later batch); in done: st_sql_replica_token(b, q, tok, sizeof tok)
 *   read:   pool = st_sql_replica_route(rs, tok_or_NULL, cb, arg); when pool is NULL, cb(pool,
 *           arg) runs later on the loop with the pool to read from.
 */
#ifndef ST_SQL_REPLICA_H
#define ST_SQL_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sql/sql.h"

struct st_io_loop;
struct st_sql_replica_set;

/* Room for the text of any LSN ("FFFFFFFF/FFFFFFFF" and the NUL). */
#define ST_SQL_LSN_MAX 18
/* The interval between two replay-position checks while a read waits. */
#define ST_SQL_REPLICA_POLL_MS 3

/*
 * Parse an LSN's text "X/Y" (hex, 1-8 digits each, as pg_lsn prints it) into *out (high 32
 * bits X, low Y). 0, or ST_SQL_OTHER for anything else (empty, missing '/', non-hex, too long).
 */
int st_sql_lsn_parse(const char *s, uint64_t *out);

/* Write lsn as PostgreSQL prints it ("0/16B3748": upper-case hex, no leading zeros). */
void st_sql_lsn_format(uint64_t lsn, char out[ST_SQL_LSN_MAX]);

/*
 * A set over primary and replica (both PostgreSQL pools on loop; not owned: free them after
 * the set). max_lag_ms (<= 0: 1000) is how long a read with a token may wait for the replica
 * before going to the primary. 0 and *out, or ST_SQL_OTHER with err.
 */
int st_sql_replica_new(struct st_io_loop *loop, struct st_sql_pool *primary, struct st_sql_pool *replica,
                       int max_lag_ms, struct st_sql_replica_set **out, struct st_error *err);

/*
 * Free the set. Reads still waiting are dropped without their callback (the replay checks
 * in flight finish on the loop and are freed there, so keep the loop running a turn or
 * free it). NULL is fine.
 */
void st_sql_replica_free(struct st_sql_replica_set *rs);

/* The pool for a write (the primary); counts a write. */
struct st_sql_pool *st_sql_replica_write(struct st_sql_replica_set *rs);

/*
 * Append to b the query that reads the primary's WAL insert position; returns its index.
 * It must run after the write committed: in an independent batch (st_sql_batch_independent)
 * after the writes, or in a later batch (any connection of the primary).
 */
int st_sql_replica_token_query(struct st_sql_batch *b);

/*
 * Copy query q's result (from st_sql_replica_token_query, after done with status 0) into
 * out as a token. 0, or ST_SQL_OTHER when the result is missing or not an LSN, or
 * ST_ELIMIT when cap is below ST_SQL_LSN_MAX.
 */
int st_sql_replica_token(const struct st_sql_batch *b, int q, char *out, size_t cap);

/*
 * The pool for a read by a client holding token (NULL or "" when it wrote nothing; a token
 * that does not parse counts as none). Returns the pool when the choice is known now (no
 * token, or the replica is known to have replayed it); otherwise NULL, and cb(pool, arg) runs
 * later on the loop, never inside this call, with the replica once it has replayed the token,
 * or the primary after max_lag_ms or when the replica cannot be asked.
 */
struct st_sql_pool *st_sql_replica_route(struct st_sql_replica_set *rs, const char *token,
                                         void (*cb)(struct st_sql_pool *pool, void *arg), void *arg);

struct st_sql_replica_stats {
    int64_t reads_replica;     /* reads routed to the replica */
    int64_t reads_primary_lag; /* reads sent to the primary because the replica lagged or failed */
    int64_t writes;            /* st_sql_replica_write calls */
    int64_t waiting;           /* reads waiting for the replica now */
    uint64_t replayed_lsn;     /* the replica's replay position last seen */
};

void st_sql_replica_stats(const struct st_sql_replica_set *rs, struct st_sql_replica_stats *s);

#endif
