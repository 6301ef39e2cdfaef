/*
 * replica.c - reads to a streaming replica, writes to the primary, read-your-writes by WAL
 * position (replica.h).
 *
 * The set caches the highest replay position it has seen on the replica, so once the replica
 * has caught up with a token, reads with that token (and older ones) are routed at once
 * without asking the replica again. A read whose token is ahead of the cache gets a waiter:
 * a small batch asks the replica for pg_last_wal_replay_lsn(), and a loop timer repeats it
 * every ST_SQL_REPLICA_POLL_MS until the position is reached or max_lag_ms has passed.
 */
#include "sql/replica.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"

struct waiter {
    struct st_sql_replica_set *rs; /* NULL: the set was freed while a check ran */
    uint64_t lsn;                  /* the token */
    int64_t deadline_ms;           /* loop time after which the primary serves the read */
    void (*cb)(struct st_sql_pool *pool, void *arg);
    void *arg;
    struct st_io_timer timer;
    struct st_sql_batch *check; /* the replay-position query in flight, or NULL */
    struct waiter *prev, *next;
};

struct st_sql_replica_set {
    struct st_io_loop *loop;
    struct st_sql_pool *primary, *replica;
    int max_lag_ms;
    uint64_t replayed; /* the replica's replay position last seen */
    struct waiter *waiters;
    int64_t reads_replica, reads_primary_lag, writes, waiting;
};

/* ---- LSN text ------------------------------------------------------------------------ */

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse 1-8 hex digits up to stop; the pointer past them in *end, or -1. */
static int parse_half(const char *s, char stop, uint32_t *out, const char **end)
{
    uint32_t v = 0;
    int n = 0;
    for (; *s != stop; s++, n++) {
        int d = hex_digit(*s);
        if (d < 0 || n == 8)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    if (n == 0)
        return -1;
    *out = v;
    *end = s;
    return 0;
}

int st_sql_lsn_parse(const char *s, uint64_t *out)
{
    uint32_t hi, lo;
    const char *p;
    if (!s || parse_half(s, '/', &hi, &p) || parse_half(p + 1, '\0', &lo, &p))
        return ST_SQL_OTHER;
    *out = (uint64_t)hi << 32 | lo;
    return 0;
}

void st_sql_lsn_format(uint64_t lsn, char out[ST_SQL_LSN_MAX])
{
    static const char digits[] = "0123456789ABCDEF";
    char tmp[8];
    size_t o = 0;
    for (int half = 0; half < 2; half++) {
        uint32_t v = (uint32_t)(half ? lsn : lsn >> 32);
        int n = 0;
        do {
            tmp[n++] = digits[v & 15];
            v >>= 4;
        } while (v);
        while (n)
            out[o++] = tmp[--n];
        if (!half)
            out[o++] = '/';
    }
    out[o] = '\0';
}

/* ---- the set ------------------------------------------------------------------------- */

int st_sql_replica_new(struct st_io_loop *loop, struct st_sql_pool *primary, struct st_sql_pool *replica,
                       int max_lag_ms, struct st_sql_replica_set **out, struct st_error *err)
{
    if (!loop || !primary || !replica)
        return st_error_set(err, ST_SQL_OTHER, "replica set: a loop and both pools are required");
    if (st_sql_pool_backend(primary) != ST_SQL_POSTGRES || st_sql_pool_backend(replica) != ST_SQL_POSTGRES)
        return st_error_set(err, ST_SQL_OTHER, "replica set: both pools must be PostgreSQL");
    struct st_sql_replica_set *rs = calloc(1, sizeof(*rs));
    if (!rs)
        return st_error_set(err, -ENOMEM, "replica set: out of memory");
    rs->loop = loop;
    rs->primary = primary;
    rs->replica = replica;
    rs->max_lag_ms = max_lag_ms > 0 ? max_lag_ms : 1000;
    *out = rs;
    return 0;
}

static void unlink_waiter(struct st_sql_replica_set *rs, struct waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        rs->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    rs->waiting--;
}

void st_sql_replica_free(struct st_sql_replica_set *rs)
{
    if (!rs)
        return;
    for (struct waiter *w = rs->waiters, *next; w; w = next) {
        next = w->next; /* unlink_waiter clears it */
        unlink_waiter(rs, w);
        st_io_timer_stop(rs->loop, &w->timer);
        if (w->check)
            w->rs = NULL; /* its batch's done frees it */
        else
            free(w);
    }
    free(rs);
}

struct st_sql_pool *st_sql_replica_write(struct st_sql_replica_set *rs)
{
    rs->writes++;
    return rs->primary;
}

int st_sql_replica_token_query(struct st_sql_batch *b)
{
    /* the insert position is past every commit record already written, this session's too */
    return st_sql_batch_query(b, "SELECT pg_current_wal_insert_lsn()::text");
}

int st_sql_replica_token(const struct st_sql_batch *b, int q, char *out, size_t cap)
{
    if (cap < ST_SQL_LSN_MAX)
        return ST_ELIMIT;
    if (q < 0 || q >= st_sql_batch_queries(b) || st_sql_result_rows(b, q) < 1 || st_sql_result_columns(b, q) < 1 ||
        st_sql_result_is_null(b, q, 0, 0))
        return ST_SQL_OTHER;
    uint64_t lsn;
    if (st_sql_lsn_parse(st_sql_result_text(b, q, 0, 0, NULL), &lsn))
        return ST_SQL_OTHER;
    st_sql_lsn_format(lsn, out);
    return 0;
}

/* Hand the read its pool and forget the waiter. */
static void finish(struct waiter *w, bool replica)
{
    struct st_sql_replica_set *rs = w->rs;
    unlink_waiter(rs, w);
    if (replica)
        rs->reads_replica++;
    else
        rs->reads_primary_lag++;
    void (*cb)(struct st_sql_pool *, void *) = w->cb;
    void *arg = w->arg;
    struct st_sql_pool *pool = replica ? rs->replica : rs->primary;
    free(w);
    cb(pool, arg);
}

static void on_check(struct st_sql_batch *b, int status, void *arg)
{
    struct waiter *w = arg;
    w->check = NULL;
    struct st_sql_replica_set *rs = w->rs;
    uint64_t lsn = 0;
    /* NULL (not in recovery: not a replica) parses as nothing and never catches up */
    bool ok = status == 0 && st_sql_result_rows(b, 0) == 1 && !st_sql_result_is_null(b, 0, 0, 0) &&
              st_sql_lsn_parse(st_sql_result_text(b, 0, 0, 0, NULL), &lsn) == 0;
    st_sql_batch_free(b);
    if (!rs) {
        free(w);
        return;
    }
    if (status != 0) {
        finish(w, false); /* the replica cannot answer: the primary can */
        return;
    }
    if (ok && lsn > rs->replayed)
        rs->replayed = lsn;
    if (rs->replayed >= w->lsn)
        finish(w, true);
    else if (st_io_now_ms(rs->loop) >= w->deadline_ms)
        finish(w, false);
    else
        st_io_timer_start(rs->loop, &w->timer, ST_SQL_REPLICA_POLL_MS);
}

static void poll_replica(struct waiter *w)
{
    struct st_sql_batch *b = st_sql_batch_new(w->rs->replica);
    st_sql_batch_query(b, "SELECT pg_last_wal_replay_lsn()::text");
    w->check = b;
    st_sql_batch_submit(b, NULL, on_check, w);
}

static void on_timer(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    poll_replica(t->data);
}

struct st_sql_pool *st_sql_replica_route(struct st_sql_replica_set *rs, const char *token,
                                         void (*cb)(struct st_sql_pool *pool, void *arg), void *arg)
{
    uint64_t lsn;
    if (!token || !*token || st_sql_lsn_parse(token, &lsn) || lsn <= rs->replayed) {
        rs->reads_replica++;
        return rs->replica;
    }
    struct waiter *w = calloc(1, sizeof(*w));
    if (!w) {
        /* no memory to wait with: the primary always has the write */
        rs->reads_primary_lag++;
        return rs->primary;
    }
    w->rs = rs;
    w->lsn = lsn;
    w->deadline_ms = st_io_now_ms(rs->loop) + rs->max_lag_ms;
    w->cb = cb;
    w->arg = arg;
    st_io_timer_init(&w->timer, on_timer, w);
    w->next = rs->waiters;
    if (w->next)
        w->next->prev = w;
    rs->waiters = w;
    rs->waiting++;
    poll_replica(w); /* its done runs on a later callback, never inside this call */
    return NULL;
}

void st_sql_replica_stats(const struct st_sql_replica_set *rs, struct st_sql_replica_stats *s)
{
    s->reads_replica = rs->reads_replica;
    s->reads_primary_lag = rs->reads_primary_lag;
    s->writes = rs->writes;
    s->waiting = rs->waiting;
    s->replayed_lsn = rs->replayed;
}
