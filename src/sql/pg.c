/*
 * pg.c - the PostgreSQL half of the synchronous API over blocking libpq: connect, exec
 * (simple protocol, several statements), named prepared statements (PQprepare +
 * PQdescribePrepared for the parameter count), and execution with text parameters (blobs
 * binary), reading the whole result and stepping through its rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/internal.h"

/* Notices (e.g. "table already exists, skipping") are not errors: keep them off stderr. */
static void quiet_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

int st__sql_pg_connect(struct st_sql_db *db, const char *url, struct st_error *err)
{
    /* connect_timeout bounds a blocking connect; a URL's own setting wins. */
    const char *keys[] = { "connect_timeout", "dbname", NULL };
    const char *vals[] = { "10", url, NULL };
    db->pg = PQconnectdbParams(keys, vals, 1);
    if (!db->pg)
        return st_error_set(err, -ENOMEM, "postgres: out of memory");
    if (PQstatus(db->pg) != CONNECTION_OK)
        return st__sql_pg_error(db->pg, NULL, err);
    PQsetNoticeProcessor(db->pg, quiet_notice, NULL);
    return 0;
}

int st__sql_pg_exec(struct st_sql_db *db, const char *sql, struct st_error *err)
{
    PGresult *res = PQexec(db->pg, sql);
    int rc = 0;
    ExecStatusType s = PQresultStatus(res);
    if (!res || (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_EMPTY_QUERY))
        rc = st__sql_pg_error(db->pg, res, err);
    PQclear(res);
    return rc;
}

int st__sql_pg_prepare(struct st_sql_stmt *st, const char *sql, struct st_error *err)
{
    PGconn *pg = st->db->pg;
    snprintf(st->name, sizeof(st->name), "st%u", ++st->db->names);
    PGresult *res = PQprepare(pg, st->name, sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = st__sql_pg_error(pg, res, err);
        PQclear(res);
        st->name[0] = '\0';
        return rc;
    }
    PQclear(res);
    res = PQdescribePrepared(pg, st->name);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        int rc = st__sql_pg_error(pg, res, err);
        PQclear(res);
        return rc;
    }
    st->nparams = PQnparams(res);
    PQclear(res);
    return 0;
}

void st__sql_pg_finalize(struct st_sql_stmt *st)
{
    if (st->res)
        PQclear(st->res);
    st->res = NULL;
    if (!st->name[0] || PQstatus(st->db->pg) != CONNECTION_OK)
        return;
    /* Inside a failed transaction DEALLOCATE would fail too; the name then lives until the
     * connection closes, which is harmless (names are never reused). */
    if (PQtransactionStatus(st->db->pg) == PQTRANS_INERROR)
        return;
    char sql[48];
    snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
    PQclear(PQexec(st->db->pg, sql));
}

/* Format the parameters for PQexecPrepared: text for numbers and text, binary for blobs. */
static void pg_params(struct st_sql_stmt *st, const char **vals, int *lens, int *fmts, char (*nums)[32])
{
    for (int i = 0; i < st->nparams; i++) {
        const struct st__sql_val *v = &st->params.items[i];
        lens[i] = 0;
        fmts[i] = 0;
        switch (v->type) {
        case ST_SQL_INT:
            snprintf(nums[i], 32, "%lld", (long long)v->i);
            vals[i] = nums[i];
            break;
        case ST_SQL_DOUBLE:
            snprintf(nums[i], 32, "%.17g", v->d);
            vals[i] = nums[i];
            break;
        case ST_SQL_TEXT:
        case ST_SQL_BLOB:
            vals[i] = st->pdata.data + v->off;
            lens[i] = (int)v->len;
            fmts[i] = v->type == ST_SQL_BLOB;
            break;
        default: vals[i] = NULL; break;
        }
    }
}

static int pg_run(struct st_sql_stmt *st, struct st_error *err)
{
    int n = st->nparams;
    const char **vals = st_xcalloc((size_t)n + 1, sizeof(*vals));
    int *lens = st_xcalloc((size_t)n + 1, sizeof(int));
    int *fmts = st_xcalloc((size_t)n + 1, sizeof(int));
    char(*nums)[32] = st_xcalloc((size_t)n + 1, 32);
    pg_params(st, vals, lens, fmts, nums);
    st->res = PQexecPrepared(st->db->pg, st->name, n, vals, lens, fmts, 0);
    free(vals);
    free(lens);
    free(fmts);
    free(nums);
    ExecStatusType s = PQresultStatus(st->res);
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK || s == PGRES_EMPTY_QUERY) {
        st->changes = st__sql_pg_changes(st->res);
        return 0;
    }
    int rc = st__sql_pg_error(st->db->pg, st->res, err);
    PQclear(st->res);
    st->res = NULL;
    return rc;
}

int st__sql_pg_step(struct st_sql_stmt *st, struct st_error *err)
{
    if (st->done)
        return 0;
    if (!st->started) {
        st->started = true;
        int rc = pg_run(st, err);
        if (rc) {
            st->done = true;
            return rc;
        }
    }
    if (st->res && st->row + 1 < PQntuples(st->res)) {
        st->row++;
        return 1;
    }
    st->done = true;
    return 0;
}
