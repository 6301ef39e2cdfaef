/*
 * sql.c - the backend-independent half of sql.h: URLs, typed errors, the $n placeholder
 * rewrite for SQLite, the synchronous API's dispatch to sqlite.c / pg.c, and transactions
 * with nested savepoints.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"
#include "sql/internal.h"

/* ---- errors ---------------------------------------------------------------------------- */

const char *st_sql_strerror(int rc)
{
    switch (rc) {
    case ST_SQL_UNIQUE: return "unique violation";
    case ST_SQL_FOREIGN_KEY: return "foreign key violation";
    case ST_SQL_CONSTRAINT: return "constraint violation";
    case ST_SQL_SERIALIZATION: return "serialization failure (retry the transaction)";
    case ST_SQL_TIMEOUT: return "timed out";
    case ST_SQL_CONNECTION: return "database connection failed";
    case ST_SQL_OTHER: return "database error";
    default: return st_strerror(rc);
    }
}

bool st_sql_retryable(int rc)
{
    return rc == ST_SQL_SERIALIZATION;
}

int st__sql_lite_code(int extended)
{
    switch (extended) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return ST_SQL_UNIQUE;
    case SQLITE_CONSTRAINT_FOREIGNKEY: return ST_SQL_FOREIGN_KEY;
    default: break;
    }
    switch (extended & 0xff) {
    case SQLITE_CONSTRAINT: return ST_SQL_CONSTRAINT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return ST_SQL_SERIALIZATION;
    case SQLITE_INTERRUPT: return ST_SQL_TIMEOUT;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB: return ST_SQL_CONNECTION;
    default: return ST_SQL_OTHER;
    }
}

int st__sql_lite_error(sqlite3 *db, int rc, struct st_error *err)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    if ((ext & 0xff) != (rc & 0xff))
        ext = rc; /* the connection's code belongs to an older call */
    int code = st__sql_lite_code(ext);
    return st_error_set(err, code, "sqlite: %s (code %d)", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), ext);
}

int st__sql_pg_code(const char *state, bool conn_bad)
{
    if (!state || strlen(state) != 5)
        return conn_bad ? ST_SQL_CONNECTION : ST_SQL_OTHER;
    if (!strcmp(state, "23505"))
        return ST_SQL_UNIQUE;
    if (!strcmp(state, "23503"))
        return ST_SQL_FOREIGN_KEY;
    if (!strncmp(state, "23", 2))
        return ST_SQL_CONSTRAINT;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
        return ST_SQL_SERIALIZATION;
    if (!strcmp(state, "57014") || !strcmp(state, "25P03"))
        return ST_SQL_TIMEOUT;
    if (!strcmp(state, "08P01"))
        return ST_SQL_OTHER; /* protocol violation: e.g. a wrong parameter count; the connection lives */
    if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") || !strcmp(state, "57P03"))
        return ST_SQL_CONNECTION;
    return ST_SQL_OTHER;
}

/* Copy msg without its trailing newline (libpq ends messages with one). */
static int pg_set(struct st_error *err, int code, const char *msg, const char *state)
{
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    if (state)
        st_error_set(err, code, "postgres: %.*s (SQLSTATE %s)", (int)n, msg, state);
    else
        st_error_set(err, code, "postgres: %.*s", (int)n, msg);
    for (char *p = err ? err->msg : NULL; p && *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' '; /* libpq's hints come on extra lines: keep one line for logs */
    return code;
}

int st__sql_pg_error(PGconn *conn, const PGresult *res, struct st_error *err)
{
    bool bad = !conn || PQstatus(conn) == CONNECTION_BAD;
    if (res) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const char *msg = primary ? primary : PQresultErrorMessage(res);
        if (!*msg && conn)
            msg = PQerrorMessage(conn);
        return pg_set(err, st__sql_pg_code(state, bad), msg, state);
    }
    return pg_set(err, bad ? ST_SQL_CONNECTION : ST_SQL_OTHER, conn ? PQerrorMessage(conn) : "no connection", NULL);
}

/* ---- URLs ------------------------------------------------------------------------------ */

int st_sql_url_parse(const char *url, enum st_sql_backend *backend, const char **path, struct st_error *err)
{
    if (!url || !*url)
        return st_error_set(err, ST_SQL_OTHER, "empty database URL");
    if (!strncmp(url, "sqlite:", 7)) {
        const char *p = url + 7;
        if (!strncmp(p, "//", 2))
            p += 2; /* sqlite://path is accepted too */
        if (!*p)
            return st_error_set(err, ST_SQL_OTHER, "database URL '%s' has no path (sqlite:PATH)", url);
        *backend = ST_SQL_SQLITE;
        if (path)
            *path = p;
        return 0;
    }
    if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13)) {
        *backend = ST_SQL_POSTGRES;
        if (path)
            *path = url;
        return 0;
    }
    return st_error_set(err, ST_SQL_OTHER, "unknown database URL '%.200s' (sqlite:PATH or postgres://...)", url);
}

/* ---- placeholder rewrite --------------------------------------------------------------- */

/* Length of the literal, quoted identifier or comment at s, 0 if there is none. */
static size_t skip_quoted(const char *s)
{
    const char *p = s;
    if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
        char close = *p == '[' ? ']' : *p;
        for (p++; *p; p++) {
            if (*p == close) {
                if (close != ']' && p[1] == close) {
                    p++; /* a doubled quote is an escaped one */
                    continue;
                }
                return (size_t)(p + 1 - s);
            }
        }
        return (size_t)(p - s);
    }
    if (p[0] == '-' && p[1] == '-') {
        while (*p && *p != '\n')
            p++;
        return (size_t)(p - s);
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *end = strstr(p + 2, "*/");
        return end ? (size_t)(end + 2 - s) : strlen(s);
    }
    return 0;
}

void st__sql_rewrite_params(const char *sql, struct st_buf *out)
{
    st_buf_clear(out);
    for (const char *p = sql; *p;) {
        size_t n = skip_quoted(p);
        if (n) {
            st_buf_append(out, p, n);
            p += n;
            continue;
        }
        bool ident_before = p > sql && (isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (*p == '$' && isdigit((unsigned char)p[1]) && !ident_before) {
            st_buf_append_byte(out, '?');
            p++;
            continue;
        }
        st_buf_append_byte(out, *p++);
    }
}

/* ---- value conversions ------------------------------------------------------------------ */

int64_t st__sql_text_int64(const char *s)
{
    if (!s)
        return 0;
    if (s[0] == 't' && !s[1])
        return 1;
    if (s[0] == 'f' && !s[1])
        return 0;
    return strtoll(s, NULL, 10);
}

double st__sql_text_double(const char *s)
{
    return s ? strtod(s, NULL) : 0.0;
}

enum st_sql_type st__sql_pg_type(Oid oid)
{
    switch (oid) {
    case 16: /* bool */
    case 20: /* int8 */
    case 21: /* int2 */
    case 23: /* int4 */
    case 26: /* oid */ return ST_SQL_INT;
    case 700: /* float4 */
    case 701: /* float8 */
    case 1700: /* numeric */ return ST_SQL_DOUBLE;
    case 17: /* bytea */ return ST_SQL_BLOB;
    default: return ST_SQL_TEXT;
    }
}

int64_t st__sql_pg_changes(const PGresult *res)
{
    const char *cs = PQcmdStatus((PGresult *)res);
    if (!cs || (strncmp(cs, "INSERT", 6) != 0 && strncmp(cs, "UPDATE", 6) != 0 && strncmp(cs, "DELETE", 6) != 0 &&
                strncmp(cs, "MERGE", 5) != 0))
        return 0;
    const char *t = PQcmdTuples((PGresult *)res);
    return *t ? strtoll(t, NULL, 10) : 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

void st__sql_bytea_decode(const char *s, size_t len, struct st_buf *out)
{
    st_buf_clear(out);
    if (len >= 2 && s[0] == '\\' && s[1] == 'x') {
        for (size_t i = 2; i + 1 < len; i += 2) {
            int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
            if (hi < 0 || lo < 0)
                break;
            st_buf_append_byte(out, (char)(hi << 4 | lo));
        }
        return;
    }
    for (size_t i = 0; i < len; i++) { /* the escape format: \\ and \ooo */
        if (s[i] == '\\' && i + 1 < len && s[i + 1] == '\\') {
            st_buf_append_byte(out, '\\');
            i++;
        } else if (s[i] == '\\' && i + 3 < len) {
            st_buf_append_byte(out, (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0')));
            i += 3;
        } else {
            st_buf_append_byte(out, s[i]);
        }
    }
}

/* ---- synchronous API: dispatch ------------------------------------------------------------ */

int st_sql_open(const char *url, struct st_sql_db **out, struct st_error *err)
{
    enum st_sql_backend be = ST_SQL_SQLITE;
    const char *path = NULL;
    int rc = st_sql_url_parse(url, &be, &path, err);
    if (rc)
        return rc;
    struct st_sql_db *db = st_xcalloc(1, sizeof(*db));
    db->backend = be;
    rc = be == ST_SQL_SQLITE ? st__sql_lite_connect(db, path, err) : st__sql_pg_connect(db, path, err);
    if (rc) {
        st_sql_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void st_sql_close(struct st_sql_db *db)
{
    if (!db)
        return;
    if (db->lite)
        sqlite3_close_v2(db->lite);
    if (db->pg)
        PQfinish(db->pg);
    free(db);
}

enum st_sql_backend st_sql_backend_of(const struct st_sql_db *db)
{
    return db->backend;
}

int st_sql_exec(struct st_sql_db *db, const char *sql, struct st_error *err)
{
    return db->backend == ST_SQL_SQLITE ? st__sql_lite_exec(db, sql, err) : st__sql_pg_exec(db, sql, err);
}

int st_sql_prepare(struct st_sql_db *db, const char *sql, struct st_sql_stmt **out, struct st_error *err)
{
    struct st_sql_stmt *st = st_xcalloc(1, sizeof(*st));
    st->db = db;
    st->row = -1;
    st_buf_init(&st->pdata, ST_BUF_UNLIMITED);
    st_buf_init(&st->blob, ST_BUF_UNLIMITED);
    int rc = db->backend == ST_SQL_SQLITE ? st__sql_lite_prepare(st, sql, err) : st__sql_pg_prepare(st, sql, err);
    if (rc) {
        st_sql_finalize(st);
        return rc;
    }
    ST_VEC_RESERVE(&st->params, (size_t)st->nparams);
    for (int i = 0; i < st->nparams; i++)
        st->params.items[st->params.len++] = (struct st__sql_val){ .type = -1 };
    st->bound = st_xcalloc((size_t)st->nparams + 1, sizeof(bool));
    *out = st;
    return 0;
}

void st_sql_finalize(struct st_sql_stmt *st)
{
    if (!st)
        return;
    if (st->lite)
        sqlite3_finalize(st->lite);
    if (st->db->backend == ST_SQL_POSTGRES)
        st__sql_pg_finalize(st);
    ST_VEC_RELEASE(&st->params);
    st_buf_release(&st->pdata);
    st_buf_release(&st->blob);
    free(st->bound);
    free(st);
}

/* The slot for parameter i, or NULL (remembered as a misuse) when i is out of range. */
static struct st__sql_val *param_slot(struct st_sql_stmt *st, int i)
{
    if (i < 1 || i > st->nparams) {
        if (!st->bad_bind)
            st->bad_bind = i ? i : -1;
        return NULL;
    }
    st->bound[i - 1] = true;
    return &st->params.items[i - 1];
}

void st_sql_bind_int64(struct st_sql_stmt *st, int i, int64_t v)
{
    struct st__sql_val *p = param_slot(st, i);
    if (!p)
        return;
    *p = (struct st__sql_val){ .type = ST_SQL_INT, .i = v };
    if (st->lite)
        sqlite3_bind_int64(st->lite, i, v);
}

void st_sql_bind_double(struct st_sql_stmt *st, int i, double v)
{
    struct st__sql_val *p = param_slot(st, i);
    if (!p)
        return;
    *p = (struct st__sql_val){ .type = ST_SQL_DOUBLE, .d = v };
    if (st->lite)
        sqlite3_bind_double(st->lite, i, v);
}

static void bind_bytes(struct st_sql_stmt *st, int i, int type, const void *s, size_t len)
{
    struct st__sql_val *p = param_slot(st, i);
    if (!p)
        return;
    *p = (struct st__sql_val){ .type = type, .len = len };
    if (st->lite) {
        if (type == ST_SQL_TEXT)
            sqlite3_bind_text64(st->lite, i, s ? s : "", len, SQLITE_TRANSIENT, SQLITE_UTF8);
        else
            sqlite3_bind_blob64(st->lite, i, s ? s : "", len, SQLITE_TRANSIENT);
        return;
    }
    /* PostgreSQL: keep a NUL-terminated copy. The buffer only grows between resets of the
     * bindings, so rebinding the same parameter many times is bounded by clear_bindings. */
    p->off = st->pdata.len;
    st_buf_append(&st->pdata, s ? s : "", len);
    st_buf_append_byte(&st->pdata, '\0');
}

void st_sql_bind_text(struct st_sql_stmt *st, int i, const char *s, size_t len)
{
    bind_bytes(st, i, ST_SQL_TEXT, s, len);
}

void st_sql_bind_blob(struct st_sql_stmt *st, int i, const void *p, size_t len)
{
    bind_bytes(st, i, ST_SQL_BLOB, p, len);
}

void st_sql_bind_null(struct st_sql_stmt *st, int i)
{
    struct st__sql_val *p = param_slot(st, i);
    if (!p)
        return;
    *p = (struct st__sql_val){ .type = ST_SQL_NULL };
    if (st->lite)
        sqlite3_bind_null(st->lite, i);
}

/* Misuse found before running: a bind out of range or a parameter left unbound. */
static int check_binds(struct st_sql_stmt *st, struct st_error *err)
{
    if (st->bad_bind)
        return st_error_set(err, ST_SQL_OTHER, "parameter $%d does not exist (the statement has %d)", st->bad_bind,
                            st->nparams);
    for (int i = 0; i < st->nparams; i++)
        if (!st->bound[i])
            return st_error_set(err, ST_SQL_OTHER, "parameter $%d is not bound", i + 1);
    return 0;
}

int st_sql_step(struct st_sql_stmt *st, struct st_error *err)
{
    if (!st->started) {
        int rc = check_binds(st, err);
        if (rc)
            return rc;
    }
    return st->db->backend == ST_SQL_SQLITE ? st__sql_lite_step(st, err) : st__sql_pg_step(st, err);
}

void st_sql_reset(struct st_sql_stmt *st)
{
    st->started = false;
    st->done = false;
    st->row = -1;
    if (st->lite)
        sqlite3_reset(st->lite);
    if (st->res) {
        PQclear(st->res);
        st->res = NULL;
    }
}

void st_sql_clear_bindings(struct st_sql_stmt *st)
{
    st_sql_reset(st);
    for (int i = 0; i < st->nparams; i++) {
        st->bound[i] = false;
        st->params.items[i].type = -1;
    }
    st->bad_bind = 0;
    st_buf_clear(&st->pdata);
    if (st->lite)
        sqlite3_clear_bindings(st->lite);
}

int64_t st_sql_changes(const struct st_sql_stmt *st)
{
    return st->changes;
}

/* ---- column getters ------------------------------------------------------------------------ */

static bool pg_cell_ok(const struct st_sql_stmt *st, int i)
{
    return st->res && st->row >= 0 && st->row < PQntuples(st->res) && i >= 0 && i < PQnfields(st->res);
}

int st_sql_column_count(const struct st_sql_stmt *st)
{
    if (st->lite)
        return sqlite3_column_count(st->lite);
    return st->res ? PQnfields(st->res) : 0;
}

const char *st_sql_column_name(const struct st_sql_stmt *st, int i)
{
    if (st->lite)
        return sqlite3_column_name(st->lite, i);
    return st->res && i >= 0 && i < PQnfields(st->res) ? PQfname(st->res, i) : NULL;
}

enum st_sql_type st_sql_column_type(const struct st_sql_stmt *st, int i)
{
    if (st->lite) {
        switch (sqlite3_column_type(st->lite, i)) {
        case SQLITE_INTEGER: return ST_SQL_INT;
        case SQLITE_FLOAT: return ST_SQL_DOUBLE;
        case SQLITE_TEXT: return ST_SQL_TEXT;
        case SQLITE_BLOB: return ST_SQL_BLOB;
        default: return ST_SQL_NULL;
        }
    }
    if (!pg_cell_ok(st, i) || PQgetisnull(st->res, st->row, i))
        return ST_SQL_NULL;
    return st__sql_pg_type(PQftype(st->res, i));
}

bool st_sql_column_is_null(const struct st_sql_stmt *st, int i)
{
    return st_sql_column_type(st, i) == ST_SQL_NULL;
}

int64_t st_sql_column_int64(const struct st_sql_stmt *st, int i)
{
    if (st->lite)
        return sqlite3_column_int64(st->lite, i);
    return pg_cell_ok(st, i) ? st__sql_text_int64(PQgetvalue(st->res, st->row, i)) : 0;
}

double st_sql_column_double(const struct st_sql_stmt *st, int i)
{
    if (st->lite)
        return sqlite3_column_double(st->lite, i);
    return pg_cell_ok(st, i) ? st__sql_text_double(PQgetvalue(st->res, st->row, i)) : 0.0;
}

const char *st_sql_column_text(struct st_sql_stmt *st, int i, size_t *len)
{
    const char *s = "";
    size_t n = 0;
    if (st->lite) {
        const unsigned char *t = sqlite3_column_text(st->lite, i);
        if (t) {
            s = (const char *)t;
            n = (size_t)sqlite3_column_bytes(st->lite, i);
        }
    } else if (pg_cell_ok(st, i)) {
        s = PQgetvalue(st->res, st->row, i);
        n = (size_t)PQgetlength(st->res, st->row, i);
    }
    if (len)
        *len = n;
    return s;
}

const void *st_sql_column_blob(struct st_sql_stmt *st, int i, size_t *len)
{
    if (st->lite) {
        const void *p = sqlite3_column_blob(st->lite, i);
        if (len)
            *len = (size_t)sqlite3_column_bytes(st->lite, i);
        return p ? p : "";
    }
    size_t n = 0;
    const char *s = st_sql_column_text(st, i, &n);
    if (pg_cell_ok(st, i) && PQftype(st->res, i) == 17) {
        st__sql_bytea_decode(s, n, &st->blob);
        s = st->blob.data ? st->blob.data : "";
        n = st->blob.len;
    }
    if (len)
        *len = n;
    return s;
}

/* ---- transactions ----------------------------------------------------------------------- */

int st_sql_depth(const struct st_sql_db *db)
{
    return db->depth;
}

static const char *begin_sql(const struct st_sql_db *db, enum st_sql_isolation iso)
{
    if (db->backend == ST_SQL_SQLITE)
        return iso == ST_SQL_ISO_DEFAULT ? "BEGIN" : "BEGIN IMMEDIATE";
    switch (iso) {
    case ST_SQL_ISO_SERIALIZABLE: return "BEGIN ISOLATION LEVEL SERIALIZABLE";
    case ST_SQL_ISO_REPEATABLE: return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    default: return "BEGIN";
    }
}

int st_sql_begin(struct st_sql_db *db, enum st_sql_isolation iso, struct st_error *err)
{
    char sql[48];
    if (db->depth == 0)
        snprintf(sql, sizeof(sql), "%s", begin_sql(db, iso));
    else
        snprintf(sql, sizeof(sql), "SAVEPOINT sp%d", db->depth);
    int rc = st_sql_exec(db, sql, err);
    if (!rc)
        db->depth++;
    return rc;
}

/* Still inside a transaction after a failed COMMIT? (SQLite keeps it open on BUSY.) */
static bool in_transaction(const struct st_sql_db *db)
{
    if (db->backend == ST_SQL_SQLITE)
        return !sqlite3_get_autocommit(db->lite);
    return PQtransactionStatus(db->pg) != PQTRANS_IDLE;
}

int st_sql_commit(struct st_sql_db *db, struct st_error *err)
{
    if (db->depth == 0)
        return st_error_set(err, ST_SQL_OTHER, "commit outside a transaction");
    char sql[32];
    if (db->depth == 1)
        snprintf(sql, sizeof(sql), "COMMIT");
    else
        snprintf(sql, sizeof(sql), "RELEASE sp%d", db->depth - 1);
    int rc = st_sql_exec(db, sql, err);
    if (!rc || db->depth > 1 || !in_transaction(db))
        db->depth--;
    return rc;
}

int st_sql_rollback(struct st_sql_db *db, struct st_error *err)
{
    if (db->depth == 0)
        return st_error_set(err, ST_SQL_OTHER, "rollback outside a transaction");
    char sql[64];
    if (db->depth == 1)
        snprintf(sql, sizeof(sql), "ROLLBACK");
    else
        snprintf(sql, sizeof(sql), "ROLLBACK TO sp%d; RELEASE sp%d", db->depth - 1, db->depth - 1);
    db->depth--;
    return st_sql_exec(db, sql, err);
}

int st_sql_transaction(struct st_sql_db *db, enum st_sql_isolation iso, int attempts,
                       int (*fn)(struct st_sql_db *db, void *arg, struct st_error *err), void *arg,
                       struct st_error *err)
{
    int rc = 0;
    for (int a = 0; a < (attempts < 1 ? 1 : attempts); a++) {
        if (a)
            st_time_sleep_ms(1 + (int64_t)(st_time_mono_ns() % (5 << a))); /* jittered backoff */
        int depth = db->depth;
        rc = st_sql_begin(db, iso, err);
        if (rc)
            return rc;
        rc = fn(db, arg, err);
        if (!rc)
            rc = st_sql_commit(db, err);
        if (rc && db->depth > depth)
            st_sql_rollback(db, NULL);
        if (!st_sql_retryable(rc) || depth > 0)
            return rc; /* a savepoint inside an outer transaction cannot retry on its own */
    }
    return rc;
}
