/*
 * tfb.h - internal to src/examples: the TechEmpower Framework Benchmarks database test
 * types that `strata example bench --db URL` adds (tfb.c), on the SQL layer (sql/sql.h):
 *
 *   GET /db                      one random World row: {"id":N,"randomNumber":N}
 *   GET /queries?queries=N       N random rows as a JSON array (N clamped to 1..500; missing
 *                                or not an integer: 1), one pipelined batch (or N batches:
 *                                st_tfb_opts.query_each)
 *   GET /fortunes                every Fortune plus "Additional fortune added at request
 *                                time.", sorted by message, HTML-escaped, text/html
 *   GET /updates?queries=N       N random rows read (one batch), each given a new
 *                                randomNumber in 1..10000, written back by one UPDATE
 *   GET /cached-queries?count=N  N random rows from the worker's in-process copy of World
 *
 * Tables (migration 1 of st_tfb_migrations): world(id, randomnumber) with 10,000 rows
 * seeded deterministically when empty, fortune(id, message) with TechEmpower's 12 rows.
 */
#ifndef ST_EXAMPLES_TFB_H
#define ST_EXAMPLES_TFB_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "http/server.h"
#include "sql/sql.h"

#define ST_TFB_WORLD_ROWS 10000
#define ST_TFB_MAX_QUERIES 500

struct st_tfb;

struct st_tfb_opts {
    const char *url; /* sqlite:PATH or postgres://... (copied) */
    int pool_size;   /* connections per worker loop; 0: 16 */
    uint64_t seed;   /* PRNG seed for World's randomNumbers when seeding (same seed, same rows) */
    /* The N reads of /queries and /updates as N batches of one query (each its own
     * transaction, spread over the pool) instead of one pipelined batch. */
    bool query_each;
};

/* The app's migrations, ended by {0}: `strata example bench migrate ...` and st_tfb_open. */
extern const struct st_sql_migration st_tfb_migrations[];

/*
 * Prepare the database at o->url (blocking; before serving): apply pending migrations,
 * seed World when it is empty, and read World for the cached-queries test.
 * 0 and *out (free with st_tfb_free), or an ST_SQL_* code with err.
 */
int st_tfb_open(const struct st_tfb_opts *o, struct st_tfb **out, struct st_error *err);
void st_tfb_free(struct st_tfb *t);

/*
 * st_http_serve with a connection pool per worker loop: created when the worker starts,
 * freed once its server has drained (SIGTERM/SIGINT). cfg->handler must route to
 * st_tfb_handle. Returns like st_http_serve.
 */
int st_tfb_serve(struct st_tfb *t, const struct st_http_serve_opts *o, const struct st_http_config *cfg,
                 struct st_error *err);

/*
 * Answer x if its path is one of the five routes (GET or HEAD) and return true (the
 * exchange is finished now or later on this loop); false leaves x to the caller.
 */
bool st_tfb_handle(struct st_tfb *t, struct st_http_ex *x);

/* The query parameter name (form-decoded, the first one) as a count by TechEmpower's rule:
 * absent or not an integer 1, else clamped to 1..500. a holds the decoded copy. */
int st_tfb_count(struct st_str query, const char *name, struct st_arena *a);

#endif
