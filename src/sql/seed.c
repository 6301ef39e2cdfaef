/*
 * seed.c - deterministic seeding: a small PRNG (xoshiro256**, seeded through splitmix64 so
 * that nearby seeds give unrelated streams) and a bulk insert that reuses one prepared
 * multi-row INSERT inside one transaction - the fast way into SQLite (one parse, one
 * journal commit, few VM starts).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/internal.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void st_sql_rng_seed(struct st_sql_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t st_sql_rng_next(struct st_sql_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

int64_t st_sql_rng_range(struct st_sql_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0 means the full 64-bit range */
    if (span == 0)
        return (int64_t)st_sql_rng_next(r);
    /* Reject the low sliver that would make some values more likely than others: what is
     * left, [threshold, 2^64), is a whole number of spans. */
    uint64_t threshold = (0 - span) % span;
    uint64_t x;
    do
        x = st_sql_rng_next(r);
    while (x < threshold);
    return (int64_t)((uint64_t)lo + x % span);
}

/* "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ..." for rows rows. */
static void insert_sql(struct st_buf *b, const char *table, const char *const *columns, int ncols, int rows)
{
    st_buf_printf(b, "INSERT INTO %s (", table);
    for (int c = 0; c < ncols; c++)
        st_buf_printf(b, "%s%s", c ? ", " : "", columns[c]);
    st_buf_append_c(b, ") VALUES ");
    int p = 1;
    for (int r = 0; r < rows; r++) {
        st_buf_append_c(b, r ? ", (" : "(");
        for (int c = 0; c < ncols; c++)
            st_buf_printf(b, "%s$%d", c ? ", " : "", p++);
        st_buf_append_byte(b, ')');
    }
}

static void bind_value(struct st_sql_stmt *st, int i, const struct st_sql_value *v)
{
    switch (v->type) {
    case ST_SQL_INT: st_sql_bind_int64(st, i, v->i); break;
    case ST_SQL_DOUBLE: st_sql_bind_double(st, i, v->d); break;
    case ST_SQL_TEXT: st_sql_bind_text(st, i, v->s, v->len); break;
    case ST_SQL_BLOB: st_sql_bind_blob(st, i, v->s, v->len); break;
    default: st_sql_bind_null(st, i); break;
    }
}

/* Insert rows [first, first + count) with st (prepared for count rows). */
static int insert_rows(struct st_sql_stmt *st, int ncols, int64_t first, int count, struct st_sql_value *vals,
                       void (*fill)(int64_t, struct st_sql_value *, void *), void *arg, struct st_error *err)
{
    st_sql_clear_bindings(st);
    for (int r = 0; r < count; r++) {
        memset(vals, 0, (size_t)ncols * sizeof(*vals));
        fill(first + r, vals, arg);
        for (int c = 0; c < ncols; c++)
            bind_value(st, r * ncols + c + 1, &vals[c]);
    }
    int rc = st_sql_step(st, err);
    return rc < 0 ? rc : 0;
}

static int prepare_insert(struct st_sql_db *db, const char *table, const char *const *columns, int ncols, int rows,
                          struct st_sql_stmt **out, struct st_error *err)
{
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    insert_sql(&b, table, columns, ncols, rows);
    int rc = st_sql_prepare(db, b.data, out, err);
    st_buf_release(&b);
    return rc;
}

int st_sql_seed(struct st_sql_db *db, const char *table, const char *const *columns, int ncols, int64_t rows,
                void (*fill)(int64_t row, struct st_sql_value *vals, void *arg), void *arg, struct st_error *err)
{
    if (ncols < 1 || ncols > 1000 || rows < 0)
        return st_error_set(err, ST_SQL_OTHER, "seed: %d columns, %lld rows", ncols, (long long)rows);
    int batch = ST_SQL_SEED_BATCH;
    if (batch * ncols > 32766) /* SQLite's parameter limit */
        batch = 32766 / ncols;
    struct st_sql_value *vals = st_xcalloc((size_t)ncols, sizeof(*vals));
    struct st_sql_stmt *full = NULL, *rest = NULL;
    int rc = st_sql_begin(db, ST_SQL_ISO_DEFAULT, err);
    int64_t row = 0;
    if (!rc && rows >= batch)
        rc = prepare_insert(db, table, columns, ncols, batch, &full, err);
    for (; !rc && rows - row >= batch; row += batch)
        rc = insert_rows(full, ncols, row, batch, vals, fill, arg, err);
    if (!rc && rows > row)
        rc = prepare_insert(db, table, columns, ncols, (int)(rows - row), &rest, err);
    if (!rc && rows > row)
        rc = insert_rows(rest, ncols, row, (int)(rows - row), vals, fill, arg, err);
    st_sql_finalize(full);
    st_sql_finalize(rest);
    if (!rc)
        rc = st_sql_commit(db, err);
    else if (st_sql_depth(db))
        st_sql_rollback(db, NULL);
    free(vals);
    return rc;
}
