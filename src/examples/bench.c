/*
 * bench.c - `strata example bench`: the app the benchmarks measure, following the
 * TechEmpower Framework Benchmarks rules for its test types:
 *   GET /plaintext  "Hello, World!" as text/plain (pipelined and not)
 *   GET /json       {"message":"Hello, World!"} serialised per request by a JSON library
 *   GET /<path>     files under --root, e.g. ROOT/static/4k.bin at /static/4k.bin
 * With --db URL also the database test types (tfb.c): /db, /queries, /fortunes, /updates,
 * /cached-queries; `strata example bench migrate up|down|status --db URL` runs its migrations.
 * bench/README.md has the figures against nginx and the exact commands.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/flags.h"
#include "base/log.h"
#include "examples/examples.h"
#include "examples/tfb.h"
#include "http/server.h"
#include "http/static.h"
#include "lab/cli.h"

struct bench_app {
    struct st_http_static files;
    bool have_files;
    struct st_tfb *tfb; /* --db: the database routes */
};

static void handle(struct st_http_ex *x)
{
    struct bench_app *app = x->data;
    struct st_str path = x->req->path;
    bool get = x->req->method_id == ST_HTTP_M_GET || x->req->method_id == ST_HTTP_M_HEAD;
    if (get && st_str_eq_c(path, "/plaintext")) {
        st_http_reply(x, 200, "text/plain", ST_STR_LIT("Hello, World!"));
        return;
    }
    if (get && st_str_eq_c(path, "/json")) {
        json_t *o = json_object();
        json_object_set_new(o, "message", json_string("Hello, World!"));
        struct st_buf *b = st_http_body_buf(x);
        char tmp[128];
        size_t n = json_dumpb(o, tmp, sizeof tmp, JSON_COMPACT);
        json_decref(o);
        (void)st_buf_append(b, tmp, n);
        x->status = 200;
        st_http_header(x, ST_STR_LIT("Content-Type"), ST_STR_LIT("application/json"));
        st_http_send(x);
        return;
    }
    if (app->tfb && st_tfb_handle(app->tfb, x))
        return;
    if (app->have_files) {
        st_http_static_serve(x, &app->files, path);
        return;
    }
    st_http_problem(x, 404, NULL);
}

int st_example_bench(int argc, char **argv)
{
    const char *listen = "127.0.0.1:8080", *root = NULL;
    const char *db = NULL;
    int64_t db_pool = 0, seed = 1;
    bool db_query_each = false;
    int64_t workers = 0;
    bool server_header = false;
    const struct st_flag flags[] = {
        { "listen", 'l', ST_FLAG_STR, &listen, "HOST:PORT", "address to listen on (port 0: any free port)", 0, 0,
          NULL },
        { "workers", 'w', ST_FLAG_INT, &workers, "N", "worker threads, one loop each (0: one per CPU)", 0, 1024, NULL },
        { "root", 'r', ST_FLAG_STR, &root, "DIR", "serve the files under DIR at their path", 0, 0, NULL },
        { "server-header", 0, ST_FLAG_BOOL, &server_header, NULL, "send 'Server: strata'", 0, 0, NULL },
        { "db", 0, ST_FLAG_STR, &db, "URL", "add the database tests on sqlite:PATH or postgres://...", 0, 0, NULL },
        { "db-pool", 0, ST_FLAG_INT, &db_pool, "N", "database connections per worker (0: 16, SQLite 4)", 0, 1024,
          NULL },
        { "seed", 0, ST_FLAG_INT, &seed, "N", "PRNG seed for World's rows when the table is empty", 0, INT64_MAX,
          NULL },
        { "db-query-each", 0, ST_FLAG_BOOL, &db_query_each, NULL,
          "/queries, /updates: each read its own batch (transaction), not one pipeline", 0, 0, NULL },
        { NULL, 0, 0, NULL, NULL, NULL, 0, 0, NULL },
    };
    const struct st_flags_spec spec = {
        "strata example bench [FLAGS]",
        "The benchmark app: GET /plaintext, GET /json and the files under --root.",
        flags,
        "Example: taskset -c 0 strata example bench --workers 1 --root /tmp/httpbench-www\n",
    };
    if (argc > 1 && !strcmp(argv[1], "migrate"))
        return st_sql_migrate_cli("bench", st_tfb_migrations, argc - 1, argv + 1);
    int nargs = 0;
    int rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: unexpected argument '%s' (see 'strata example bench --help')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    /* Small files stay in memory for a second between checks, like nginx's open_file_cache
     * in the benchmark's configuration (which trusts its cache for 60 s). */
    struct bench_app app = { .files = { .prefix = "/", .cache_ms = 1000 } };
    struct st_error err = { 0 };
    if (root) {
        if (st_http_static_open(&app.files, root, &err))
            return st_cli_fail(&err);
        app.have_files = true;
    }
    if (db) {
        struct st_tfb_opts to = {
            .url = db, .pool_size = (int)db_pool, .seed = (uint64_t)seed, .query_each = db_query_each
        };
        enum st_sql_backend backend;
        /* a malformed URL is the caller's mistake (2); a database that fails is not (1) */
        rc = st_sql_url_parse(db, &backend, NULL, &err);
        if (!rc)
            rc = st_tfb_open(&to, &app.tfb, &err) ? ST_EXIT_FAIL : 0;
        else
            rc = ST_EXIT_USAGE;
        if (rc) {
            fprintf(stderr, "strata: %s\n", err.msg[0] ? err.msg : st_sql_strerror(err.code));
            if (app.have_files)
                st_http_static_close(&app.files);
            return rc;
        }
    }
    struct st_http_config cfg = { .handler = handle, .data = &app, .server_header = server_header ? "strata" : NULL };
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen, ':') ? strrchr(listen, ':') - listen : 0), listen);
    struct st_http_serve_opts o = { .listen = listen,
                                    .workers = (int)workers,
                                    .on_ready = st_example_print_ready,
                                    .on_reload = st_example_on_reload,
                                    .arg = host };
    if (app.tfb)
        rc = st_tfb_serve(app.tfb, &o, &cfg, &err);
    else
        rc = st_http_serve(&o, &cfg, &err);
    st_tfb_free(app.tfb);
    if (app.have_files)
        st_http_static_close(&app.files);
    if (rc)
        return st_cli_fail(&err);
    return ST_EXIT_OK;
}
