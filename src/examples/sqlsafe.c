/*
 * sqlsafe.c - `strata example sqlsafe`: Q131's reference, a users API whose every query
 * takes its input as bound parameters ($1, $2 on src/sql), never as SQL text.
 *
 *   GET  /users            every user (id order, at most USERS_LIST_MAX)
 *   GET  /users?name=NAME  the users whose name is exactly NAME (form-decoded)
 *   POST /users            {"name": "...", "email": "..."} -> 201 {"id", "name", "email"}
 *
 * Database errors are logged with their text and answered with a generic 500 problem: the
 * client never sees SQL or the database's words (they help an attacker tune a payload).
 *
 * Each worker loop has its own connection and prepared statements, opened on its thread at
 * its first request and closed after the server stops. Queries run synchronously on the
 * worker's loop: on SQLite (the default) they are microsecond lookups in a local file, and
 * the point of this app is binding, not scheduling; src/examples/tfb.c shows the
 * asynchronous pool for servers where query latency matters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/flags.h"
#include "base/log.h"
#include "examples/examples.h"
#include "http/app.h"
#include "http/url.h"
#include "lab/cli.h"
#include "sql/sql.h"

#define USERS_LIST_MAX 1000 /* bounds a listing's memory; the grader's tables stay far below */
#define FIELD_MAX 1000      /* bytes of a name or an email */

/* The schema per backend: only the id column differs (SQLite's rowid vs an identity). */
static const struct st_sql_migration lite_migrations[] = {
    { 1, "users", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL)",
      "DROP TABLE users" },
    { 0, NULL, NULL, NULL },
};
static const struct st_sql_migration pg_migrations[] = {
    { 1, "users",
      "CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,"
      " email text NOT NULL)",
      "DROP TABLE users" },
    { 0, NULL, NULL, NULL },
};

static const char SQL_ALL[] = "SELECT id, name, email FROM users ORDER BY id LIMIT 1000";
static const char SQL_BY_NAME[] = "SELECT id, name, email FROM users WHERE name = $1 ORDER BY id LIMIT 1000";
static const char SQL_INSERT[] = "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id";

/* One worker's connection; only that worker's thread touches it. */
struct conn {
    struct st_sql_db *db;
    struct st_sql_stmt *all, *by_name, *insert;
};

struct sqlsafe {
    const char *url;
    struct conn *conns; /* by worker index */
    int n;
    struct st_http_app app;
};

static void conn_close(struct conn *c)
{
    st_sql_finalize(c->all);
    st_sql_finalize(c->by_name);
    st_sql_finalize(c->insert);
    st_sql_close(c->db);
    memset(c, 0, sizeof *c);
}

/* The worker's connection, opened on first use; NULL after logging why. */
static struct conn *conn_of(struct sqlsafe *s, int worker)
{
    struct conn *c = &s->conns[worker];
    if (c->db)
        return c;
    struct st_error err = { 0 };
    int rc = st_sql_open(s->url, &c->db, &err);
    rc = rc ? rc : st_sql_prepare(c->db, SQL_ALL, &c->all, &err);
    rc = rc ? rc : st_sql_prepare(c->db, SQL_BY_NAME, &c->by_name, &err);
    rc = rc ? rc : st_sql_prepare(c->db, SQL_INSERT, &c->insert, &err);
    if (rc) {
        st_log_error("sqlsafe: cannot open the database", ST_LOG_STR("error", err.msg));
        conn_close(c);
        return NULL;
    }
    return c;
}

static void db_failed(struct st_http_ex *x, const char *what, const struct st_error *err)
{
    st_log_error("sqlsafe: query failed", ST_LOG_STR("query", what), ST_LOG_STR("error", err->msg));
    st_http_problem(x, 500, "the database could not answer"); /* no SQL, no driver message */
}

/* Run st (parameters bound) and answer its rows as a JSON array of users. */
static void reply_rows(struct st_http_ex *x, struct st_sql_stmt *st, const char *what)
{
    struct st_error err = { 0 };
    json_t *a = json_array();
    int rc;
    while ((rc = st_sql_step(st, &err)) == 1) {
        size_t nl = 0, el = 0;
        const char *name = st_sql_column_text(st, 1, &nl);
        const char *email = st_sql_column_text(st, 2, &el);
        json_array_append_new(a, json_pack("{s:I, s:s%, s:s%}", "id", (json_int_t)st_sql_column_int64(st, 0), "name",
                                           name ? name : "", nl, "email", email ? email : "", el));
    }
    st_sql_reset(st);
    st_sql_clear_bindings(st);
    if (rc) {
        json_decref(a);
        db_failed(x, what, &err);
        return;
    }
    st_http_reply_json(x, 200, a);
}

static void users_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct sqlsafe *s = data;
    struct conn *c = conn_of(s, x->worker);
    if (!c) {
        st_http_problem(x, 503, "the database is not available");
        return;
    }
    struct st_str name;
    int rc = st_http_query_get(x->req->query, "name", x->arena, &name);
    if (rc == ST_EPARSE) {
        st_http_problem(x, 400, "the name parameter is not valid percent-encoding");
        return;
    }
    if (rc == ST_ENOTFOUND) {
        reply_rows(x, c->all, "list");
        return;
    }
    st_sql_bind_text(c->by_name, 1, name.ptr, name.len); /* data, whatever it contains */
    reply_rows(x, c->by_name, "find by name");
}

/* A required non-empty string field of at most FIELD_MAX bytes, or NULL. */
static const char *field(json_t *body, const char *key, size_t *len)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return *len > 0 && *len <= FIELD_MAX ? json_string_value(v) : NULL;
}

static void users_post(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct sqlsafe *s = data;
    json_error_t jerr;
    json_t *body = st_http_json_body(x, &jerr);
    if (!body)
        return; /* answered (415 or 400) */
    size_t nl = 0, el = 0;
    const char *name = json_is_object(body) ? field(body, "name", &nl) : NULL;
    const char *email = json_is_object(body) ? field(body, "email", &el) : NULL;
    struct conn *c = name && email ? conn_of(s, x->worker) : NULL;
    if (!name || !email) {
        st_http_problem(x, 422, "the body must be an object with non-empty \"name\" and \"email\" strings");
    } else if (!c) {
        st_http_problem(x, 503, "the database is not available");
    } else {
        struct st_error err = { 0 };
        st_sql_bind_text(c->insert, 1, name, nl);
        st_sql_bind_text(c->insert, 2, email, el);
        int rc = st_sql_step(c->insert, &err);
        int64_t id = rc == 1 ? st_sql_column_int64(c->insert, 0) : 0;
        if (rc == 1)
            rc = st_sql_step(c->insert, &err); /* finish the statement: the insert commits */
        st_sql_reset(c->insert);
        st_sql_clear_bindings(c->insert);
        if (rc)
            db_failed(x, "insert", &err);
        else
            st_http_reply_json(
                x, 201, json_pack("{s:I, s:s%, s:s%}", "id", (json_int_t)id, "name", name, nl, "email", email, el));
    }
    json_decref(body);
}

/* Create the table if needed, on a connection of the main thread. */
static int migrate(const char *url, struct st_error *err)
{
    enum st_sql_backend be;
    const char *path;
    int rc = st_sql_url_parse(url, &be, &path, err);
    if (rc)
        return rc;
    struct st_sql_db *db = NULL;
    rc = st_sql_open(url, &db, err);
    if (!rc)
        rc = st_sql_migrate_up(db, be == ST_SQL_POSTGRES ? pg_migrations : lite_migrations, -1, NULL, err);
    st_sql_close(db);
    return rc;
}

static int serve(struct sqlsafe *s, const char *listen, struct st_error *err)
{
    int rc = 0;
    rc = rc ? rc : st_http_app_use(&s->app, st_http_mw_request_id());
    rc = rc ? rc : st_http_app_use(&s->app, st_http_mw_access_log());
    rc = rc ? rc : st_http_app_route(&s->app, "GET", "/users", users_get, s);
    rc = rc ? rc : st_http_app_route(&s->app, "POST", "/users", users_post, s);
    rc = rc ? rc : st_http_app_builtins(&s->app, NULL);
    if (rc)
        return st_error_set(err, ST_EINTERNAL, "sqlsafe: cannot register the routes");
    struct st_http_config cfg = { .handler = st_http_app_handler, .data = &s->app };
    char host[256];
    const char *colon = strrchr(listen, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon ? colon - listen : 0), listen);
    struct st_http_serve_opts o = { .listen = listen,
                                    .workers = s->n,
                                    .on_ready = st_example_print_ready,
                                    .on_reload = st_example_on_reload,
                                    .arg = host };
    return st_http_serve(&o, &cfg, err);
}

int st_example_sqlsafe(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8083", *url = "sqlite:sqlsafe.db";
    int64_t workers = 0;
    const struct st_flag flags[] = {
        { "listen", 'l', ST_FLAG_STR, &listen, "HOST:PORT", "address to listen on (port 0: any free port)", 0, 0,
          NULL },
        { "db", 0, ST_FLAG_STR, &url, "URL", "database: sqlite:PATH or postgres://...", 0, 0, NULL },
        { "workers", 'w', ST_FLAG_INT, &workers, "N", "worker threads (0: one per CPU)", 0, 1024, NULL },
        { NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL },
    };
    const struct st_flags_spec spec = {
        "strata example sqlsafe [FLAGS]",
        "Q131's reference: GET /users[?name=NAME] and POST /users {\"name\",\"email\"} with bound parameters "
        "only, so SQL injection payloads are stored and matched as plain data.",
        flags,
        "Example: strata example sqlsafe --listen 127.0.0.1:8083 --db sqlite:/tmp/users.db\n"
        "Grade it: strata grade Q131 --target http://127.0.0.1:8083\n",
    };
    int nargs = 0;
    int rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: unexpected argument '%s' (see 'strata example sqlsafe --help')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    struct st_error err = { 0 };
    if (migrate(url, &err))
        return st_cli_fail(&err);
    struct sqlsafe s = { .url = url, .n = workers > 0 ? (int)workers : (int)sysconf(_SC_NPROCESSORS_ONLN) };
    if (s.n < 1)
        s.n = 1;
    s.conns = st_xcalloc((size_t)s.n, sizeof *s.conns);
    st_http_app_init(&s.app);
    rc = serve(&s, listen, &err) ? st_cli_fail(&err) : ST_EXIT_OK;
    for (int i = 0; i < s.n; i++) /* the workers have stopped: their connections can go */
        conn_close(&s.conns[i]);
    free(s.conns);
    st_http_app_release(&s.app);
    return rc;
}
