/*
 * sql_blog.c - graders that judge a learner's SQL file (`strata grade QN --sql FILE
 * [--db URL]`): the blog schema questions Q31-Q39, Q113, Q115 and Q118.
 *
 * Every check starts from a fresh database, so checks stay independent and repeatable:
 * without --db a new SQLite file in the run's temp directory (foreign keys on, as
 * st_sql_open always does), with --db postgres://... a new schema in that database
 * (search_path pointing at it), dropped with everything in it when the check ends.
 *
 * Most questions run against the canonical blog schema (canon_sql below) and a fixture
 * drawn from the check's seed: random counts and names, users without posts, posts
 * without comments, repeated timestamps (so an ORDER BY without a tie-breaker shows). A
 * query file holds one statement with named parameters (:user_id, :limit, :offset,
 * :post_id); they are rewritten to $1.. and bound, never pasted. The learner's own file
 * is executed as given: running it is the point.
 *
 * The specifications the learner reads are the `checks:` fields in curriculum/.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/time.h"
#include "grade/internal.h"
#include "grade/sql_blog.h"
#include "sql/sql.h"

#define SQL_FILE_MAX (1u << 20) /* a learner's file beyond this is surely not an answer */
#define SQL_STATEMENT_MS 30000  /* PostgreSQL: a statement that runs longer is cancelled (a hang is a failure) */

/* ---- the run: options, the file, fresh databases ---- */

struct sqlg {
    char *text;      /* the learner's file, NUL-terminated */
    const char *url; /* --db (postgres://...), or NULL: SQLite files in dir */
    const char *dir;
    unsigned n; /* databases made so far (names) */
    /* PostgreSQL: one connection for the whole run (a connection costs more than a
     * check's work); each check gets its own schema on it. NULL until the first check. */
    struct st_sql_db *pg;
};

static void sqlg_free(void *p)
{
    struct sqlg *s = p;
    st_sql_close(s->pg);
    free(s->text);
    free(s);
}

/* The file's text (malloc'd) or NULL with err. */
static char *read_file(const char *path, struct st_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        st_error_set(err, ST_EUSAGE, "--sql %s: %s", path, strerror(errno));
        return NULL;
    }
    struct st_buf b;
    st_buf_init(&b, SQL_FILE_MAX);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while (!rc && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = st_buf_append(&b, chunk, n);
    bool bad = ferror(f);
    fclose(f);
    if (rc || bad) {
        st_buf_release(&b);
        st_error_set(err, ST_EUSAGE, "--sql %s: %s", path, bad ? "read error" : "larger than 1 MiB");
        return NULL;
    }
    if (memchr(b.data ? b.data : "", '\0', b.len)) {
        st_buf_release(&b);
        st_error_set(err, ST_EUSAGE, "--sql %s: a NUL byte: not an SQL text file", path);
        return NULL;
    }
    st_buf_append_byte(&b, '\0');
    return st_buf_detach(&b, NULL);
}

int st__grade_sql_check(const struct st_grade_run_opts *o, const struct st_grader *gr, struct st_error *err)
{
    if (!o->sql)
        return st_error_set(
            err, ST_EUSAGE,
            "Q%d grades an SQL file: give --sql FILE (and optionally --db postgres://USER@HOST:PORT/DB; "
            "default: temporary SQLite files)",
            gr->question);
    if (o->cmd || o->target)
        return st_error_set(err, ST_EUSAGE, "Q%d grades an SQL file (--sql), not a program: drop --cmd/--target",
                            gr->question);
    bool pg = false;
    if (o->db) {
        enum st_sql_backend be = 0;
        struct st_error uerr = { 0 };
        if (st_sql_url_parse(o->db, &be, NULL, &uerr) || be != ST_SQL_POSTGRES)
            return st_error_set(err, ST_EUSAGE,
                                "Q%d: --db must be a postgres:// URL (without --db the grader uses temporary "
                                "SQLite files)",
                                gr->question);
        pg = true;
    }
    if ((gr->needs & ST_GRADE_NEEDS_PG) && !pg)
        return st_error_set(err, ST_EUSAGE,
                            "Q%d needs --db postgres://USER@HOST:PORT/DB: SQLite has no stored procedures or "
                            "functions written in SQL",
                            gr->question);
    if (access(o->sql, R_OK) != 0)
        return st_error_set(err, ST_EUSAGE, "--sql %s: %s", o->sql, strerror(errno));
    return 0;
}

int st__grade_sql_start(const struct st_grade_run_opts *o, struct st_grade *g, char *target_buf, size_t cap,
                        char **tmp_out, char **dir_out, struct st_error *err)
{
    char *text = read_file(o->sql, err);
    if (!text)
        return err ? err->code : ST_EUSAGE;
    char tmpl[] = "/tmp/strata-grade-XXXXXX";
    if (!mkdtemp(tmpl)) {
        free(text);
        return st_error_set(err, -errno, "cannot create a temp directory: %s", strerror(errno));
    }
    *tmp_out = st_xstrdup(tmpl);
    *dir_out = st_xstrdup(tmpl);
    g->tmp = *tmp_out;
    g->dir = *dir_out;
    struct sqlg *s = st_xcalloc(1, sizeof *s);
    s->text = text;
    s->url = o->db;
    s->dir = *dir_out;
    g->state = s;
    g->state_free = sqlg_free;
    g->sql = o->sql;
    /* The run opens an HTTP client for its target; nothing here connects to it. */
    snprintf(target_buf, cap, "127.0.0.1:9");
    g->target = target_buf;
    return 0;
}

const char *sqlb_text(struct st_grade *g)
{
    return ((struct sqlg *)g->state)->text;
}

bool sqlb_is_pg(struct st_grade *g)
{
    return ((struct sqlg *)g->state)->url != NULL;
}

/* Another connection to b's database (SQLite: the file; PostgreSQL: search_path). */
bool sqlb_connect(struct st_grade *g, struct sqlb *b, struct st_sql_db **out)
{
    struct sqlg *s = g->state;
    struct st_error err = { 0 };
    char url[600];
    if (b->pg)
        snprintf(url, sizeof url, "%s", s->url);
    else
        snprintf(url, sizeof url, "sqlite:%s", b->path);
    if (st_sql_open(url, out, &err))
        return g_fail(g, "the grader cannot open %s: %s", b->pg ? "--db" : url, err.msg);
    if (b->pg) {
        char sql[256];
        snprintf(sql, sizeof sql, "SET search_path TO %s; SET statement_timeout = %d", b->schema,
                 SQL_STATEMENT_MS); /* the grader's own name */
        if (st_sql_exec(*out, sql, &err)) {
            st_sql_close(*out);
            *out = NULL;
            return g_fail(g, "the grader cannot use its schema %s: %s", b->schema, err.msg);
        }
    }
    return true;
}

bool sqlb_open(struct st_grade *g, struct sqlb *b)
{
    struct sqlg *s = g->state;
    *b = (struct sqlb){ .pg = s->url != NULL };
    /* the name is not drawn from the seed: runs with one seed must not collide */
    unsigned long long r = (unsigned long long)st_time_mono_ns() ^ ((unsigned long long)getpid() << 24);
    s->n++;
    if (b->pg) {
        snprintf(b->schema, sizeof b->schema, "strata_sql_%06llx_%u", r & 0xffffffu, s->n);
        struct st_error err = { 0 };
        if (!s->pg && st_sql_open(s->url, &s->pg, &err))
            return g_fail(g, "the grader cannot connect to --db: %s", err.msg);
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE SCHEMA %s; SET search_path TO %s; SET statement_timeout = %d", b->schema,
                 b->schema, SQL_STATEMENT_MS);
        if (st_sql_exec(s->pg, sql, &err)) {
            st_sql_close(s->pg); /* maybe broken: the next check connects anew */
            s->pg = NULL;
            b->schema[0] = '\0';
            return g_fail(g, "the grader cannot create a schema in --db: %s", err.msg);
        }
        b->db = s->pg;
        return true;
    }
    snprintf(b->path, sizeof b->path, "%s/check%u.db", s->dir, s->n);
    struct st_sql_db *db = NULL;
    if (!sqlb_connect(g, b, &db))
        return false;
    b->db = db;
    return true;
}

void sqlb_close(struct st_grade *g, struct sqlb *b)
{
    if (!b->db)
        return;
    if (b->pg) {
        /* back to a clean session for the next check: no transaction left open (a file may
         * BEGIN without COMMIT), no schema, no setting the file changed */
        struct sqlg *s = g->state;
        struct st_error err = { 0 };
        char sql[160];
        snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE; RESET ALL", b->schema);
        if (st_sql_exec(b->db, "ROLLBACK", &err) || st_sql_exec(b->db, sql, &err)) {
            st_sql_close(s->pg);
            s->pg = NULL;
        }
        b->db = NULL;
        return;
    }
    st_sql_close(b->db);
    b->db = NULL;
    if (!b->pg && b->path[0]) {
        static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
        for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
            char p[560];
            snprintf(p, sizeof p, "%s%s", b->path, sfx[i]);
            unlink(p);
        }
    }
}

bool sqlb_exec(struct st_grade *g, struct sqlb *b, const char *sql, const char *what)
{
    struct st_error err = { 0 };
    if (st_sql_exec(b->db, sql, &err))
        return g_fail(g, "%s failed: %s", what, err.msg);
    return true;
}

bool sqlb_run_file(struct st_grade *g, struct sqlb *b)
{
    struct st_error err = { 0 };
    if (st_sql_exec(b->db, sqlb_text(g), &err))
        return g_fail(g, "your SQL file failed: %s", err.msg);
    return true;
}

/* ---- statements of a file, and named parameters ---- */

/* Length of a quoted string, quoted identifier, comment or dollar-quoted body at p; 0 if
 * p starts none. An unterminated one runs to the end. */
static size_t skip_quoted(const char *p)
{
    const char *q = p;
    if (*p == '\'' || *p == '"') {
        char c = *q++;
        while (*q) {
            if (*q == c && q[1] == c) {
                q += 2;
                continue;
            }
            if (*q++ == c)
                break;
        }
        return (size_t)(q - p);
    }
    if (p[0] == '-' && p[1] == '-') {
        while (*q && *q != '\n')
            q++;
        return (size_t)(q - p);
    }
    if (p[0] == '/' && p[1] == '*') {
        const char *e = strstr(p + 2, "*/");
        return e ? (size_t)(e + 2 - p) : strlen(p);
    }
    if (p[0] == '$') { /* PostgreSQL $tag$ ... $tag$ (function bodies) */
        q = p + 1;
        while (isalnum((unsigned char)*q) || *q == '_')
            q++;
        if (*q != '$' || isdigit((unsigned char)p[1]))
            return 0;
        size_t tl = (size_t)(q - p) + 1;
        char tag[64];
        if (tl >= sizeof tag)
            return 0;
        memcpy(tag, p, tl);
        tag[tl] = '\0';
        const char *e = strstr(p + tl, tag);
        return e ? (size_t)(e + tl - p) : strlen(p);
    }
    return 0;
}

static bool blank_sql(const char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = skip_quoted(p + i);
        if (k && p[i] != '\'' && p[i] != '"' && p[i] != '$') {
            i += k; /* a comment */
            continue;
        }
        if (!isspace((unsigned char)p[i]))
            return false;
        i++;
    }
    return true;
}

int sqlb_split(const char *text, char ***out)
{
    char **v = NULL;
    int n = 0;
    const char *start = text;
    for (const char *p = text;;) {
        size_t k = skip_quoted(p);
        if (k) {
            p += k;
            continue;
        }
        if (*p == ';' || !*p) {
            size_t len = (size_t)(p - start);
            if (!blank_sql(start, len)) {
                v = st_xrealloc(v, ((size_t)n + 1) * sizeof *v);
                v[n++] = st_xstrndup(start, len);
            }
            if (!*p)
                break;
            start = ++p;
            continue;
        }
        p++;
    }
    *out = v;
    return n;
}

void sqlb_split_free(char **v, int n)
{
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void sqlb_query_free(struct sqlb_query *q)
{
    st_sql_finalize(q->st);
    q->st = NULL;
}

/* sql with :name rewritten to $k (one k per distinct name, in q->names). false (after
 * g_fail) on a name the question does not bind. */
static bool rewrite_named(struct st_grade *g, const char *sql, const char *const *allowed, struct sqlb_query *q,
                          struct st_buf *out)
{
    for (const char *p = sql; *p;) {
        size_t k = skip_quoted(p);
        if (k) {
            st_buf_append(out, p, k);
            p += k;
            continue;
        }
        if (p[0] == ':' && p[1] == ':') { /* a PostgreSQL cast */
            st_buf_append(out, p, 2);
            p += 2;
            continue;
        }
        if (*p == ':' && (isalpha((unsigned char)p[1]) || p[1] == '_')) {
            const char *s = p + 1, *e = s;
            while (isalnum((unsigned char)*e) || *e == '_')
                e++;
            size_t len = (size_t)(e - s);
            int idx = -1;
            for (int i = 0; i < q->nnames; i++)
                if (strlen(q->names[i]) == len && strncmp(q->names[i], s, len) == 0)
                    idx = i;
            if (idx < 0) {
                bool ok = false;
                for (const char *const *a = allowed; *a; a++)
                    ok |= strlen(*a) == len && strncmp(*a, s, len) == 0;
                if (!ok || len >= sizeof q->names[0] || q->nnames == SQLB_MAX_NAMES)
                    return g_fail(g, "unknown parameter :%.*s (this question binds %s%s%s%s%s)", (int)len, s,
                                  allowed[0] ? ":" : "nothing", allowed[0] ? allowed[0] : "",
                                  allowed[0] && allowed[1] ? ", :" : "", allowed[0] && allowed[1] ? allowed[1] : "",
                                  allowed[0] && allowed[1] && allowed[2] ? " ..." : "");
                memcpy(q->names[q->nnames], s, len);
                q->names[q->nnames][len] = '\0';
                idx = q->nnames++;
            }
            st_buf_printf(out, "$%d", idx + 1);
            p = e;
            continue;
        }
        st_buf_append_byte(out, *p++);
    }
    return true;
}

bool sqlb_prepare(struct st_grade *g, struct st_sql_db *db, const char *sql, const char *const *allowed,
                  struct sqlb_query *q)
{
    *q = (struct sqlb_query){ 0 };
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    bool ok = rewrite_named(g, sql, allowed, q, &b);
    if (ok) {
        struct st_error err = { 0 };
        st_buf_append_byte(&b, '\0');
        if (st_sql_prepare(db, b.data, &q->st, &err))
            ok = g_fail(g, "your statement does not prepare: %s (statement: %s)", err.msg,
                        g_quote(sql, strlen(sql), 300));
    }
    st_buf_release(&b);
    return ok;
}

bool sqlb_prepare_one(struct st_grade *g, struct st_sql_db *db, const char *const *allowed, const char *const *needed,
                      struct sqlb_query *q)
{
    char **v = NULL;
    int n = sqlb_split(sqlb_text(g), &v);
    bool ok = true;
    if (n != 1)
        ok = g_fail(g, "the file must hold exactly one SQL statement (a query), found %d", n);
    if (ok && v)
        ok = sqlb_prepare(g, db, v[0], allowed, q);
    sqlb_split_free(v, n);
    for (const char *const *w = needed; ok && *w; w++) {
        bool has = false;
        for (int i = 0; i < q->nnames; i++)
            has |= strcmp(q->names[i], *w) == 0;
        if (!has)
            ok = g_fail(g, "the query must use the parameter :%s", *w);
    }
    if (!ok)
        sqlb_query_free(q);
    return ok;
}

void sqlb_bind(struct sqlb_query *q, const char *name, int64_t v)
{
    for (int i = 0; i < q->nnames; i++)
        if (strcmp(q->names[i], name) == 0)
            st_sql_bind_int64(q->st, i + 1, v);
}

/* ---- rows as text ---- */

void sqlb_rows_free(struct sqlb_rows *r)
{
    for (size_t i = 0; r->v && i < r->n; i++)
        free(r->v[i]);
    free(r->v);
    *r = (struct sqlb_rows){ 0 };
}

int sqlb_rows_read(struct st_sql_stmt *st, struct sqlb_rows *r, struct st_error *err)
{
    *r = (struct sqlb_rows){ 0 };
    int rc;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    while ((rc = st_sql_step(st, err)) == 1) {
        st_buf_clear(&b);
        int nc = st_sql_column_count(st);
        for (int c = 0; c < nc; c++) {
            if (c)
                st_buf_append_c(&b, " | ");
            if (st_sql_column_is_null(st, c)) {
                st_buf_append_c(&b, "NULL");
            } else {
                size_t len = 0;
                const char *t = st_sql_column_text(st, c, &len);
                st_buf_append(&b, t, len);
            }
        }
        st_buf_append_byte(&b, '\0');
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 16;
            r->v = st_xrealloc(r->v, r->cap * sizeof *r->v);
        }
        r->v[r->n++] = st_xstrdup(b.data);
        r->cols = nc;
    }
    st_buf_release(&b);
    st_sql_reset(st);
    if (rc < 0)
        sqlb_rows_free(r);
    return rc < 0 ? rc : 0;
}

bool sqlb_rows_same(struct st_grade *g, const struct sqlb_rows *want, const struct sqlb_rows *got, const char *what)
{
    size_t n = want->n < got->n ? want->n : got->n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(want->v[i], got->v[i]) != 0)
            return g_fail(g, "%s: row %zu is (%s), expected (%s)", what, i + 1, got->v[i], want->v[i]);
    if (want->n != got->n)
        return g_fail(g, "%s: %zu rows, expected %zu%s%s%s", what, got->n, want->n,
                      want->n > got->n ? "; the first missing is (" : "; the first extra is (",
                      want->n > got->n ? want->v[n] : got->v[n], ")");
    return true;
}

bool sqlb_select(struct st_grade *g, struct st_sql_db *db, const char *sql, const int64_t *params, int np,
                 struct sqlb_rows *out)
{
    struct st_sql_stmt *st = NULL;
    struct st_error err = { 0 };
    if (st_sql_prepare(db, sql, &st, &err))
        return g_fail(g, "the grader's query failed (did your SQL change the schema?): %s", err.msg);
    for (int i = 0; i < np; i++)
        st_sql_bind_int64(st, i + 1, params[i]);
    int rc = sqlb_rows_read(st, out, &err);
    st_sql_finalize(st);
    if (rc)
        return g_fail(g, "the grader's query failed (did your SQL change the schema?): %s", err.msg);
    return true;
}

bool sqlb_count(struct st_grade *g, struct st_sql_db *db, const char *sql, int64_t *n)
{
    struct sqlb_rows r = { 0 };
    if (!sqlb_select(g, db, sql, NULL, 0, &r))
        return false;
    *n = r.n && r.v ? strtoll(r.v[0], NULL, 10) : 0;
    sqlb_rows_free(&r);
    return true;
}

bool sqlb_run_query(struct st_grade *g, struct sqlb_query *q, struct sqlb_rows *out)
{
    struct st_error err = { 0 };
    if (sqlb_rows_read(q->st, out, &err))
        return g_fail(g, "your query failed: %s", err.msg);
    return true;
}

/* ---- the canonical blog schema and its fixture ---- */

static const char canon_sql[] =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE,"
    " created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
    " title TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft'"
    " CHECK (status IN ('draft', 'published')), created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
    "CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id),"
    " user_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL,"
    " created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
    "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE post_tags (post_id INTEGER NOT NULL REFERENCES posts(id),"
    " tag_id INTEGER NOT NULL REFERENCES tags(id), PRIMARY KEY (post_id, tag_id));";

static const char *const first_names[] = { "ada",  "brian", "chen",  "dana", "edsger", "fatima", "grace",
                                           "hiro", "ines",  "jon",   "kofi", "lena",   "mei",    "nils",
                                           "olga", "pedro", "quinn", "rosa", "sven",   "tara" };
static const char *const words[] = { "caching", "indexes", "joins",  "latency", "queues", "sockets",
                                     "threads", "schemas", "tuning", "http",    "tls",    "pools" };
static const char *const tag_names[] = { "sql", "c", "http", "cache", "design", "ops" };
#define NTAGS ((int64_t)(sizeof tag_names / sizeof tag_names[0]))

struct fx_user {
    char name[32], email[64], created[24];
};
struct fx_post {
    int64_t user;
    char title[64], body[96], created[24];
    bool draft;
};
struct fx_comment {
    int64_t post, user;
    char body[64], created[24];
};
struct fx_tag {
    int64_t post, tag;
};

struct fixture {
    int64_t nu, np, nc, npt;
    struct fx_user *u;
    struct fx_post *p;
    struct fx_comment *c;
    struct fx_tag *pt;
};

static void fx_free(struct fixture *f)
{
    free(f->u);
    free(f->p);
    free(f->c);
    free(f->pt);
}

/* A timestamp on one of few days and hours: many posts share one (tie-breakers matter). */
static void fx_time(struct st_grade *g, char *out, size_t cap, int spread)
{
    snprintf(out, cap, "2024-%02d-%02d %02d:00:00", (int)g_range(g, 1, 3), (int)g_range(g, 1, spread),
             (int)(g_range(g, 0, 2) * 6 + 6));
}

/* The fixture for this check: counts scale with `scale` (1: a few dozen posts). */
static void fx_make(struct st_grade *g, struct fixture *f, int scale)
{
    *f = (struct fixture){ 0 };
    f->nu = g_range(g, 8, 14) * scale;
    f->u = st_xcalloc((size_t)f->nu, sizeof *f->u);
    bool *silent = st_xcalloc((size_t)f->nu, sizeof *silent);
    int64_t writers = 0;
    for (int64_t i = 0; i < f->nu; i++) {
        const char *fn = first_names[g_rand(g) % (sizeof first_names / sizeof first_names[0])];
        snprintf(f->u[i].name, sizeof f->u[i].name, "%s %c.", fn, (char)('a' + g_rand(g) % 26));
        f->u[i].name[0] = (char)toupper((unsigned char)f->u[i].name[0]);
        snprintf(f->u[i].email, sizeof f->u[i].email, "%s%lld@example.com", fn, (long long)i + 1);
        fx_time(g, f->u[i].created, sizeof f->u[i].created, 28);
        /* users 1 and 2 always write, the last always stays silent, the rest by chance */
        silent[i] = i == f->nu - 1 || (i >= 2 && g_range(g, 0, 3) == 0);
        writers += !silent[i];
    }
    f->np = g_range(g, 24, 40) * scale;
    f->p = st_xcalloc((size_t)f->np, sizeof *f->p);
    for (int64_t i = 0; i < f->np; i++) {
        int64_t u;
        do
            u = g_range(g, 1, f->nu);
        while (silent[u - 1]);
        f->p[i].user = i == 0 ? 1 : u;
        snprintf(f->p[i].title, sizeof f->p[i].title, "On %s and %s #%lld", words[g_rand(g) % 12],
                 words[g_rand(g) % 12], (long long)i + 1);
        snprintf(f->p[i].body, sizeof f->p[i].body, "Notes about %s, take %lld.", words[g_rand(g) % 12],
                 (long long)g_range(g, 1, 99));
        fx_time(g, f->p[i].created, sizeof f->p[i].created, 6);
        f->p[i].draft = g_range(g, 0, 4) == 0;
        /* ties within one author: post 2 always, others by chance */
        if (i == 1 || (i > 1 && g_range(g, 0, 3) == 0)) {
            f->p[i].user = i == 1 ? 1 : f->p[i - 1].user;
            memcpy(f->p[i].created, f->p[i - 1].created, sizeof f->p[i].created);
        }
    }
    free(silent);
    (void)writers;
    /* comments: about a third of the posts get none */
    size_t cap = (size_t)f->np * 4;
    f->c = st_xcalloc(cap, sizeof *f->c);
    for (int64_t i = 0; i < f->np; i++) {
        int64_t k = g_range(g, 0, 2) == 0 ? 0 : g_range(g, 1, 4);
        for (int64_t j = 0; j < k; j++) {
            struct fx_comment *c = &f->c[f->nc++];
            c->post = i + 1;
            c->user = g_range(g, 1, f->nu);
            snprintf(c->body, sizeof c->body, "Re %s: %s?", words[g_rand(g) % 12], words[g_rand(g) % 12]);
            fx_time(g, c->created, sizeof c->created, 20);
        }
    }
    f->pt = st_xcalloc((size_t)f->np * 2, sizeof *f->pt);
    for (int64_t i = 0; i < f->np; i++) {
        int64_t a = g_range(g, 0, NTAGS), b = g_range(g, 0, NTAGS); /* NTAGS: no tag */
        if (a < NTAGS)
            f->pt[f->npt++] = (struct fx_tag){ i + 1, a + 1 };
        if (b < NTAGS && b != a)
            f->pt[f->npt++] = (struct fx_tag){ i + 1, b + 1 };
    }
}

static void fill_text(struct st_sql_value *v, const char *s)
{
    *v = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = s, .len = strlen(s) };
}

static void fill_int(struct st_sql_value *v, int64_t i)
{
    *v = (struct st_sql_value){ .type = ST_SQL_INT, .i = i };
}

static void fill_user(int64_t row, struct st_sql_value *v, void *arg)
{
    const struct fx_user *u = &((struct fixture *)arg)->u[row];
    fill_int(&v[0], row + 1);
    fill_text(&v[1], u->name);
    fill_text(&v[2], u->email);
    fill_text(&v[3], u->created);
}

static void fill_post(int64_t row, struct st_sql_value *v, void *arg)
{
    const struct fx_post *p = &((struct fixture *)arg)->p[row];
    fill_int(&v[0], row + 1);
    fill_int(&v[1], p->user);
    fill_text(&v[2], p->title);
    fill_text(&v[3], p->body);
    fill_text(&v[4], p->draft ? "draft" : "published");
    fill_text(&v[5], p->created);
}

static void fill_comment(int64_t row, struct st_sql_value *v, void *arg)
{
    const struct fx_comment *c = &((struct fixture *)arg)->c[row];
    fill_int(&v[0], row + 1);
    fill_int(&v[1], c->post);
    fill_int(&v[2], c->user);
    fill_text(&v[3], c->body);
    fill_text(&v[4], c->created);
}

static void fill_tag(int64_t row, struct st_sql_value *v, void *arg)
{
    (void)arg;
    fill_int(&v[0], row + 1);
    fill_text(&v[1], tag_names[row]);
}

static void fill_post_tag(int64_t row, struct st_sql_value *v, void *arg)
{
    const struct fx_tag *t = &((struct fixture *)arg)->pt[row];
    fill_int(&v[0], t->post);
    fill_int(&v[1], t->tag);
}

bool sqlb_canon(struct st_grade *g, struct sqlb *b, int scale)
{
    if (!sqlb_exec(g, b, canon_sql, "creating the blog schema"))
        return false;
    if (scale <= 0)
        return true;
    struct fixture f;
    fx_make(g, &f, scale);
    static const char *const ucols[] = { "id", "name", "email", "created_at" };
    static const char *const pcols[] = { "id", "user_id", "title", "body", "status", "created_at" };
    static const char *const ccols[] = { "id", "post_id", "user_id", "body", "created_at" };
    static const char *const tcols[] = { "id", "name" };
    static const char *const ptcols[] = { "post_id", "tag_id" };
    struct st_error err = { 0 };
    int rc = st_sql_seed(b->db, "users", ucols, 4, f.nu, fill_user, &f, &err);
    if (!rc)
        rc = st_sql_seed(b->db, "posts", pcols, 6, f.np, fill_post, &f, &err);
    if (!rc)
        rc = st_sql_seed(b->db, "comments", ccols, 5, f.nc, fill_comment, &f, &err);
    if (!rc)
        rc = st_sql_seed(b->db, "tags", tcols, 2, NTAGS, fill_tag, &f, &err);
    if (!rc)
        rc = st_sql_seed(b->db, "post_tags", ptcols, 2, f.npt, fill_post_tag, &f, &err);
    if (g->verbose)
        g_log(g, "      fixture: %lld users, %lld posts, %lld comments, %lld post_tags\n", (long long)f.nu,
              (long long)f.np, (long long)f.nc, (long long)f.npt);
    fx_free(&f);
    if (rc)
        return g_fail(g, "the grader could not load its fixture: %s", err.msg);
    return true;
}

/* ---- Q31, Q32: the learner's schema ---- */

/* An INSERT of the grader's own with int and text parameters ('i' / 't' / 'n' for NULL in
 * kinds); the ST_SQL_* status (0: inserted) and err. */
static int insert_row(struct st_sql_db *db, const char *sql, const char *kinds, const int64_t *ints,
                      const char *const *texts, struct st_error *err)
{
    struct st_sql_stmt *st = NULL;
    int rc = st_sql_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    for (int i = 0, ni = 0, nt = 0; kinds[i]; i++) {
        if (kinds[i] == 'i')
            st_sql_bind_int64(st, i + 1, ints[ni++]);
        else if (kinds[i] == 't')
            st_sql_bind_text(st, i + 1, texts[nt], strlen(texts[nt])), nt++;
        else
            st_sql_bind_null(st, i + 1);
    }
    rc = st_sql_step(st, err);
    st_sql_finalize(st);
    return rc < 0 ? rc : 0;
}

struct schema_ids {
    int64_t user, post, comment;
    char email[64];
};

/* A fresh database with the learner's schema and one valid user, post and comment. */
static bool schema_setup(struct st_grade *g, struct sqlb *b, struct schema_ids *ids)
{
    if (!sqlb_open(g, b) || !sqlb_run_file(g, b))
        return false;
    ids->user = g_range(g, 1, 500);
    ids->post = g_range(g, 1, 500);
    ids->comment = g_range(g, 1, 500);
    char w[9];
    g_word(g, w, 8, "abcdefghijklmnopqrstuvwxyz");
    snprintf(ids->email, sizeof ids->email, "%s@example.com", w);
    struct st_error err = { 0 };
    const char *ut[] = { ids->email, w };
    if (insert_row(b->db, "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)", "itt", &ids->user, ut, &err))
        return g_fail(g, "inserting a valid user (id, email, name) failed: %s", err.msg);
    const char *pt[] = { "A title", "A body" };
    int64_t pi[] = { ids->post, ids->user };
    if (insert_row(b->db, "INSERT INTO posts (id, user_id, title, body) VALUES ($1, $2, $3, $4)", "iitt", pi, pt, &err))
        return g_fail(g, "inserting a valid post (id, user_id, title, body) failed: %s", err.msg);
    const char *ct[] = { "A comment" };
    int64_t ci[] = { ids->comment, ids->post, ids->user };
    if (insert_row(b->db, "INSERT INTO comments (id, post_id, user_id, body) VALUES ($1, $2, $3, $4)", "iiit", ci, ct,
                   &err))
        return g_fail(g, "inserting a valid comment (id, post_id, user_id, body) failed: %s", err.msg);
    return true;
}

/* The insert must fail with code (an ST_SQL_* class); what names the case. */
static bool must_fail(struct st_grade *g, struct sqlb *b, const char *what, int code, const char *sql,
                      const char *kinds, const int64_t *ints, const char *const *texts)
{
    struct st_error err = { 0 };
    int rc = insert_row(b->db, sql, kinds, ints, texts, &err);
    if (rc == 0)
        return g_fail(g, "%s was accepted; it must be refused by a constraint", what);
    if (rc != code)
        return g_fail(g, "%s failed, but not as %s: %s", what, st_sql_strerror(code), err.msg);
    return true;
}

static bool c_schema_tables(struct st_grade *g)
{
    struct sqlb b;
    struct schema_ids ids = { 0 };
    bool ok = schema_setup(g, &b, &ids);
    struct sqlb_rows r = { 0 };
    if (ok)
        ok = sqlb_select(g, b.db,
                         "SELECT u.email, p.title, c.body FROM comments c JOIN posts p ON p.id = c.post_id"
                         " JOIN users u ON u.id = c.user_id",
                         NULL, 0, &r);
    if (ok && r.n != 1)
        ok = g_fail(g, "after one valid insert per table, reading them back gave %zu rows", r.n);
    sqlb_rows_free(&r);
    sqlb_close(g, &b);
    return ok;
}

static bool c_schema_fk(struct st_grade *g)
{
    struct sqlb b;
    struct schema_ids ids = { 0 };
    bool ok = schema_setup(g, &b, &ids);
    const char *pt[] = { "T", "B" };
    int64_t pi[] = { ids.post + 1000, ids.user + 1000 };
    if (ok)
        ok = must_fail(g, &b, "a post whose user_id names no user", ST_SQL_FOREIGN_KEY,
                       "INSERT INTO posts (id, user_id, title, body) VALUES ($1, $2, $3, $4)", "iitt", pi, pt);
    const char *ct[] = { "C" };
    int64_t ci[] = { ids.comment + 1000, ids.post + 1000, ids.user };
    if (ok)
        ok = must_fail(g, &b, "a comment whose post_id names no post", ST_SQL_FOREIGN_KEY,
                       "INSERT INTO comments (id, post_id, user_id, body) VALUES ($1, $2, $3, $4)", "iiit", ci, ct);
    int64_t ci2[] = { ids.comment + 1001, ids.post, ids.user + 1000 };
    if (ok)
        ok = must_fail(g, &b, "a comment whose user_id names no user", ST_SQL_FOREIGN_KEY,
                       "INSERT INTO comments (id, post_id, user_id, body) VALUES ($1, $2, $3, $4)", "iiit", ci2, ct);
    sqlb_close(g, &b);
    return ok;
}

static bool c_schema_unique(struct st_grade *g)
{
    struct sqlb b;
    struct schema_ids ids = { 0 };
    bool ok = schema_setup(g, &b, &ids);
    int64_t id = ids.user + 1;
    const char *ut[] = { ids.email, "Someone else" };
    if (ok)
        ok = must_fail(g, &b, "a second user with the same email", ST_SQL_UNIQUE,
                       "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)", "itt", &id, ut);
    sqlb_close(g, &b);
    return ok;
}

static bool c_schema_not_null(struct st_grade *g)
{
    struct sqlb b;
    struct schema_ids ids = { 0 };
    bool ok = schema_setup(g, &b, &ids);
    int64_t uid = ids.user + 1;
    const char *t1[] = { "x@example.com" }, *t2[] = { "Name" };
    if (ok)
        ok = must_fail(g, &b, "a user with a NULL name", ST_SQL_CONSTRAINT,
                       "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)", "itn", &uid, t1);
    if (ok)
        ok = must_fail(g, &b, "a user with a NULL email", ST_SQL_CONSTRAINT,
                       "INSERT INTO users (id, email, name) VALUES ($1, $2, $3)", "int", &uid, t2);
    int64_t pi[] = { ids.post + 1, ids.user };
    const char *pb[] = { "Body" }, *pt[] = { "Title" };
    if (ok)
        ok = must_fail(g, &b, "a post with a NULL title", ST_SQL_CONSTRAINT,
                       "INSERT INTO posts (id, user_id, title, body) VALUES ($1, $2, $3, $4)", "iint", pi, pb);
    if (ok)
        ok = must_fail(g, &b, "a post with a NULL body", ST_SQL_CONSTRAINT,
                       "INSERT INTO posts (id, user_id, title, body) VALUES ($1, $2, $3, $4)", "iitn", pi, pt);
    const char *pt2[] = { "Title", "Body" };
    if (ok)
        ok = must_fail(g, &b, "a post with a NULL user_id", ST_SQL_CONSTRAINT,
                       "INSERT INTO posts (id, user_id, title, body) VALUES ($1, $2, $3, $4)", "intt", pi, pt2);
    int64_t ci[] = { ids.comment + 1, ids.post, ids.user };
    if (ok)
        ok = must_fail(g, &b, "a comment with a NULL body", ST_SQL_CONSTRAINT,
                       "INSERT INTO comments (id, post_id, user_id, body) VALUES ($1, $2, $3, $4)", "iiin", ci, NULL);
    const char *cb[] = { "Body" };
    if (ok)
        ok = must_fail(g, &b, "a comment with a NULL post_id", ST_SQL_CONSTRAINT,
                       "INSERT INTO comments (id, post_id, user_id, body) VALUES ($1, $2, $3, $4)", "init",
                       (int64_t[]){ ids.comment + 1, ids.user }, cb);
    sqlb_close(g, &b);
    return ok;
}

static bool c_schema_check(struct st_grade *g)
{
    struct sqlb b;
    struct schema_ids ids = { 0 };
    bool ok = schema_setup(g, &b, &ids);
    struct st_error err = { 0 };
    static const char *const good[] = { "draft", "published" };
    for (int i = 0; ok && i < 2; i++) {
        int64_t pi[] = { ids.post + 1 + i, ids.user };
        const char *pt[] = { "T", "B", good[i] };
        if (insert_row(b.db, "INSERT INTO posts (id, user_id, title, body, status) VALUES ($1, $2, $3, $4, $5)",
                       "iittt", pi, pt, &err))
            ok = g_fail(g, "a post with status '%s' was refused: %s", good[i], err.msg);
    }
    char bad[12];
    g_word(g, bad, 7, "bcdfghjklmnpqrstvwxz");
    int64_t pi[] = { ids.post + 10, ids.user };
    const char *pt[] = { "T", "B", bad };
    if (ok)
        ok = must_fail(g, &b, "a post with status 'xxxxxxx' (not draft or published)", ST_SQL_CONSTRAINT,
                       "INSERT INTO posts (id, user_id, title, body, status) VALUES ($1, $2, $3, $4, $5)", "iittt", pi,
                       pt);
    sqlb_close(g, &b);
    return ok;
}

/* "YYYY-MM-DD HH:MM:SS..." as seconds (UTC), or -1. */
static int64_t parse_ts(const char *s)
{
    struct tm tm = { 0 };
    if (sscanf(s, "%4d-%2d-%2d%*c%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static bool c_schema_defaults(struct st_grade *g)
{
    struct sqlb b;
    struct schema_ids ids = { 0 };
    bool ok = schema_setup(g, &b, &ids);
    struct sqlb_rows r = { 0 };
    int64_t id = ids.post;
    if (ok)
        ok = sqlb_select(g, b.db, "SELECT status, created_at FROM posts WHERE id = $1", &id, 1, &r);
    if (ok && r.n != 1)
        ok = g_fail(g, "the post inserted without status and created_at was not found");
    if (ok && r.v) {
        const char *row = r.v[0];
        const char *sep = strstr(row, " | ");
        int64_t ts = sep ? parse_ts(sep + 3) : -1;
        int64_t now = st_time_wall_ms() / 1000;
        if (strncmp(row, "draft | ", 8) != 0)
            ok = g_fail(g,
                        "a post inserted without status has (status, created_at) = (%s); the status must default "
                        "to 'draft'",
                        row);
        else if (ts < 0 || ts < now - 26L * 3600 || ts > now + 26L * 3600)
            ok = g_fail(g,
                        "a post inserted without created_at has created_at %s; it must default to the current "
                        "time (CURRENT_TIMESTAMP)",
                        sep ? sep + 3 : "(none)");
    }
    sqlb_rows_free(&r);
    sqlb_close(g, &b);
    return ok;
}

static const struct st_grade_check q31_checks[] = {
    { "the file creates users, posts and comments: one valid row each inserts and joins back", c_schema_tables },
    { "foreign keys: a post or comment naming a missing user or post is refused", c_schema_fk },
    { "UNIQUE: a second user with the same email is refused", c_schema_unique },
    { "NOT NULL: NULL in a required column (name, email, title, body, user_id, post_id) is refused",
      c_schema_not_null },
    { NULL, NULL },
};

static const struct st_grade_check q32_checks[] = {
    { "the file creates users, posts and comments: one valid row each inserts and joins back", c_schema_tables },
    { "foreign keys: a post or comment naming a missing user or post is refused", c_schema_fk },
    { "UNIQUE: a second user with the same email is refused", c_schema_unique },
    { "NOT NULL: NULL in a required column (name, email, title, body, user_id, post_id) is refused",
      c_schema_not_null },
    { "CHECK: posts.status accepts 'draft' and 'published' and refuses anything else", c_schema_check },
    { "defaults: a post inserted without them gets status 'draft' and created_at = now", c_schema_defaults },
    { NULL, NULL },
};

const struct st_grader st__grade_q31 = { "q31", 31, ST_GRADE_NEEDS_SQL, NULL, q31_checks };
const struct st_grader st__grade_q32 = { "q32", 32, ST_GRADE_NEEDS_SQL, NULL, q32_checks };

/* ---- Q33: sample data in related tables ---- */

/* The empty canonical schema with the learner's inserts. */
static bool data_setup(struct st_grade *g, struct sqlb *b)
{
    return sqlb_open(g, b) && sqlb_canon(g, b, 0) && sqlb_run_file(g, b);
}

struct least {
    const char *what, *sql;
    int64_t min;
};

static bool c_data_counts(struct st_grade *g)
{
    static const struct least need[] = {
        { "users", "SELECT count(*) FROM users", 5 },
        { "posts", "SELECT count(*) FROM posts", 10 },
        { "comments", "SELECT count(*) FROM comments", 10 },
        { "tags", "SELECT count(*) FROM tags", 3 },
        { "post_tags rows", "SELECT count(*) FROM post_tags", 5 },
    };
    struct sqlb b;
    bool ok = data_setup(g, &b);
    for (size_t i = 0; ok && i < sizeof need / sizeof need[0]; i++) {
        int64_t n = 0;
        ok = sqlb_count(g, b.db, need[i].sql, &n);
        if (ok && n < need[i].min)
            ok = g_fail(g, "%lld %s; at least %lld are needed", (long long)n, need[i].what, (long long)need[i].min);
    }
    sqlb_close(g, &b);
    return ok;
}

static bool c_data_related(struct st_grade *g)
{
    static const struct least need[] = {
        { "distinct post authors", "SELECT count(DISTINCT user_id) FROM posts", 3 },
        { "posts with comments", "SELECT count(DISTINCT post_id) FROM comments", 3 },
        { "distinct comment authors", "SELECT count(DISTINCT user_id) FROM comments", 2 },
        { "comments by someone other than the post's author",
          "SELECT count(*) FROM comments c JOIN posts p ON p.id = c.post_id WHERE c.user_id <> p.user_id", 1 },
        { "tagged posts", "SELECT count(DISTINCT post_id) FROM post_tags", 3 },
    };
    struct sqlb b;
    bool ok = data_setup(g, &b);
    for (size_t i = 0; ok && i < sizeof need / sizeof need[0]; i++) {
        int64_t n = 0;
        ok = sqlb_count(g, b.db, need[i].sql, &n);
        if (ok && n < need[i].min)
            ok = g_fail(g, "%lld %s; at least %lld are needed", (long long)n, need[i].what, (long long)need[i].min);
    }
    sqlb_close(g, &b);
    return ok;
}

/* Every reference resolves: enforced by the schema's foreign keys, and checked again in
 * case the file replaced the tables with ones that have none. */
static bool c_data_valid(struct st_grade *g)
{
    static const struct least orphans[] = {
        { "posts whose user_id names no user",
          "SELECT count(*) FROM posts p LEFT JOIN users u ON u.id = p.user_id WHERE u.id IS NULL", 0 },
        { "comments whose post_id names no post",
          "SELECT count(*) FROM comments c LEFT JOIN posts p ON p.id = c.post_id WHERE p.id IS NULL", 0 },
        { "comments whose user_id names no user",
          "SELECT count(*) FROM comments c LEFT JOIN users u ON u.id = c.user_id WHERE u.id IS NULL", 0 },
        { "post_tags rows naming no post or no tag",
          "SELECT count(*) FROM post_tags pt LEFT JOIN posts p ON p.id = pt.post_id LEFT JOIN tags t"
          " ON t.id = pt.tag_id WHERE p.id IS NULL OR t.id IS NULL",
          0 },
        { "posts with an empty title or body", "SELECT count(*) FROM posts WHERE title = '' OR body = ''", 0 },
    };
    struct sqlb b;
    bool ok = data_setup(g, &b);
    for (size_t i = 0; ok && i < sizeof orphans / sizeof orphans[0]; i++) {
        int64_t n = 0;
        ok = sqlb_count(g, b.db, orphans[i].sql, &n);
        if (ok && n > 0)
            ok = g_fail(g, "%lld %s", (long long)n, orphans[i].what);
    }
    sqlb_close(g, &b);
    return ok;
}

static const struct st_grade_check q33_checks[] = {
    { "the inserts run on the empty blog schema: >= 5 users, 10 posts, 10 comments, 3 tags, 5 post_tags",
      c_data_counts },
    { "related: posts by >= 3 users, comments on >= 3 posts by >= 2 users (one not the author), >= 3 tagged posts",
      c_data_related },
    { "every reference resolves; no empty title or body", c_data_valid },
    { NULL, NULL },
};

const struct st_grader st__grade_q33 = { "q33", 33, ST_GRADE_NEEDS_SQL, NULL, q33_checks };

/* ---- Q34: posts by one user ---- */

static const char *const p_user[] = { "user_id", NULL };

/* A seeded fixture and the learner's query (one statement using `needed`). */
bool sqlb_query_setup(struct st_grade *g, struct sqlb *b, const char *const *allowed, const char *const *needed,
                      struct sqlb_query *q)
{
    return sqlb_open(g, b) && sqlb_canon(g, b, 1) && sqlb_prepare_one(g, b->db, allowed, needed, q);
}

/* The learner's query and the reference agree for :user_id = uid. */
static bool by_user_same(struct st_grade *g, struct sqlb *b, struct sqlb_query *q, int64_t uid)
{
    static const char ref[] = "SELECT id, title, created_at FROM posts WHERE user_id = $1 ORDER BY created_at DESC, "
                              "id DESC";
    struct sqlb_rows want = { 0 }, got = { 0 };
    bool ok = sqlb_select(g, b->db, ref, &uid, 1, &want);
    sqlb_bind(q, "user_id", uid);
    if (ok)
        ok = sqlb_run_query(g, q, &got);
    if (ok && got.n && got.cols != 3)
        ok = g_fail(g, ":user_id = %lld: %d columns; the query must return id, title, created_at", (long long)uid,
                    got.cols);
    char what[64];
    snprintf(what, sizeof what, ":user_id = %lld", (long long)uid);
    if (ok)
        ok = sqlb_rows_same(g, &want, &got, what);
    sqlb_rows_free(&want);
    sqlb_rows_free(&got);
    return ok;
}

static bool c_by_user_rows(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_user, p_user, &q);
    int64_t nu = 0;
    if (ok)
        ok = sqlb_count(g, b.db, "SELECT count(*) FROM users", &nu);
    /* users 1 and 2 always have posts; two more at random */
    int64_t ids[] = { 1, 2, ok && nu >= 3 ? g_range(g, 3, nu) : 3, ok && nu >= 3 ? g_range(g, 3, nu) : 3 };
    for (size_t i = 0; ok && i < 4; i++)
        ok = by_user_same(g, &b, &q, ids[i]);
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

static bool c_by_user_none(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_user, p_user, &q);
    int64_t nu = 0;
    if (ok)
        ok = sqlb_count(g, b.db, "SELECT count(*) FROM users", &nu);
    if (ok) /* the last user never posts */
        ok = by_user_same(g, &b, &q, nu);
    if (ok)
        ok = by_user_same(g, &b, &q, nu + g_range(g, 1, 1000));
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

static const struct st_grade_check q34_checks[] = {
    { "one query with :user_id: four users' posts (id, title, created_at), newest first, ties by id descending",
      c_by_user_rows },
    { "a user without posts and a missing user: no rows", c_by_user_none },
    { NULL, NULL },
};

const struct st_grader st__grade_q34 = { "q34", 34, ST_GRADE_NEEDS_SQL, NULL, q34_checks };
