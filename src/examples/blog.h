/*
 * blog.h - internal header of `strata example blog`, the reference implementation of the
 * blog API contract (docs/blog-api.md; design in docs/adr/0014-blog-api.md).
 *
 * Shape of a request:
 *   1. on the worker loop: the route handler parses and validates everything it can
 *      without the database (path id, query parameters, JSON body against the schemas of
 *      blog_api.c, preconditions) into a struct blog_req in the exchange's arena;
 *   2. on a database thread (an st_io_pool): r->op runs the SQL through the synchronous
 *      API (sql.h) on a pooled connection, in one transaction when it writes, and leaves
 *      the answer in r (status, JSON or CSV text, problem code, Location, ETag);
 *   3. back on the loop: blog_finish turns r into the HTTP response.
 * The database thread never touches the exchange; the loop never touches the database.
 *
 * The hot reads on PostgreSQL without a replica (a post, a post's comments) skip step 2:
 * the handler builds an st_sql_batch for its worker loop's own pool (pipelined, one round
 * trip whatever the number of queries, no thread hand-off) and its done callback fills r
 * from the results, with the same row builders (struct blog_row reads either source).
 *
 * Files: blog.c (flags, app wiring, serving, the request plumbing), blog_db.c (migrations,
 * seeding, connections and their statement cache), blog_api.c (schemas, OpenAPI, docs
 * page), blog_list.c (list parameters, cursors, links, CSV), blog_users.c, blog_posts.c,
 * blog_comments.c, blog_search.c (the resources).
 */
#ifndef ST_EXAMPLES_BLOG_H
#define ST_EXAMPLES_BLOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "http/app.h"
#include "http/schema.h"
#include "io/io.h"
#include "sql/sql.h"

#define BLOG_LIMIT_DEFAULT 20
#define BLOG_LIMIT_MAX 100
#define BLOG_SORT_MAX 4           /* sort fields in one request */
#define BLOG_STMT_CACHE 64        /* prepared statements kept per connection */
#define BLOG_IDEM_KEY_MAX 255     /* bytes of an Idempotency-Key */
#define BLOG_IDEM_TTL_S 86400     /* how long a stored answer is replayed */
#define BLOG_REPLICA_WAIT_MS 1000 /* longest wait for the replica before reading the primary */

/* ---- the app ---- */

struct blog_conn;
struct blog;
struct blog_q;

/* What a route's handler gets as data: the app and the API version it serves. */
struct blog_ver {
    struct blog *b;
    int api;            /* 1 or 2 */
    const char *prefix; /* "/api/v1" */
};

struct blog {
    char *url;         /* primary */
    char *replica_url; /* NULL: no replica */
    enum st_sql_backend backend;
    struct st_io_pool *pool; /* database threads */
    int db_threads;
    bool debug_queries;        /* X-Query-Count on every answer */
    bool no_access_log;        /* --no-access-log (benchmarks) */
    uint8_t cursor_key[16];    /* SipHash key that signs cursors (kept in the database) */
    pthread_mutex_t mu;        /* guards idle and the token table */
    struct blog_conn *idle;    /* connections not in use */
    struct blog_token *tokens; /* read-your-writes: the last write's LSN per client */
    struct blog_count *counts; /* cached list totals (blog_count_get) */
    uint64_t write_gen;        /* bumped after every successful write (atomic) */
    struct st_http_app app;
    struct blog_ver ver[2];
    struct st_sql_pool **apools; /* per worker loop (PostgreSQL, no replica), else NULL */
    int pool_size;               /* connections per worker pool (--db-threads) */
    unsigned rate_limit;         /* requests per hour per client */
    char *openapi[2];            /* documents for v1, v2 (built once at start) */
    char *docs_html;
};

/* ---- a database connection (blog_db.c) ---- */

struct blog_stmt {
    const char *sql; /* owned copy; NULL: free slot */
    uint64_t hash;
    struct st_sql_stmt *st;
};

struct blog_conn {
    struct st_sql_db *db;
    struct st_sql_db *replica; /* NULL unless --db-replica */
    struct blog_stmt cache[BLOG_STMT_CACHE];
    struct blog_stmt rcache[BLOG_STMT_CACHE];
    bool use_replica; /* reads of this request go to the replica */
    bool broken;      /* a connection error: close instead of reusing */
    int queries;      /* statements run for the current request */
    struct blog_conn *next;
};

/* ---- one request ---- */

enum blog_kind { BLOG_USERS, BLOG_POSTS, BLOG_COMMENTS };

/* A parsed list request (blog_list.c). */
struct blog_sort {
    int field; /* index into the resource's sortable fields */
    bool desc;
};

struct blog_list {
    enum blog_kind kind;
    int limit;
    int64_t offset;
    bool cursor_mode;
    bool has_cursor;     /* a non-empty cursor was given */
    bool cursor_prev;    /* the cursor points backwards */
    json_t *cursor_vals; /* the key values of the cursor's row (owned) */
    struct blog_sort sort[BLOG_SORT_MAX + 1];
    int nsort;            /* including the id tie-breaker */
    const char *sort_raw; /* normalized sort spec as given ("-created_at,id") */
    /* filters (posts); a zero/NULL value is unset */
    int64_t author_id;
    const char *status;
    const char *tag;
    int64_t created_after, created_before;
    bool has_after, has_before;
    const char *q;
    bool include_deleted;
    int64_t parent_id; /* /users/:id/posts, /posts/:id/comments */
    const char *path;  /* the list's path, for links */
    const char *query; /* the raw query string, for links */
};

struct blog_req {
    struct st_io_work wk;
    struct blog *b;
    struct st_http_ex *x; /* the loop only */
    int api;              /* 1 or 2 */
    void (*op)(struct blog_req *r, struct blog_conn *c);
    bool writes; /* the op writes: primary, read-your-writes token afterwards */
    /* blog_create: the creation run inside the idempotency transaction */
    int (*create_fn)(struct blog_req *r, struct blog_conn *c, struct st_error *err);

    /* inputs */
    int64_t id;
    json_t *body; /* validated request body (owned) */
    bool put;     /* PUT (full update) rather than PATCH */
    struct blog_list list;
    bool csv;                             /* answer the list as CSV */
    char client[300];                     /* X-API-Key or peer address (rate limits, idempotency, tokens) */
    char idem_key[BLOG_IDEM_KEY_MAX + 1]; /* "" when none */
    uint64_t idem_hash;                   /* of the request (method, path, body) */
    bool has_if_match;
    int64_t if_match_version;      /* -1: If-Match: *; 0: no tag of this resource */
    int64_t if_none_match_version; /* -1 none */
    char wait_lsn[32];             /* read-your-writes: replica must reach this; "" none */
    void *read_state;              /* a pipelined read's own state (arena) */

    /* outputs */
    int status;
    json_t *out;      /* the JSON answer, or a problem's extra members (owned) */
    const char *code; /* problem code when status >= 400 */
    char detail[240];
    char location[96];
    int64_t etag_version; /* > 0: answer with ETag "<id>-<version>" of etag_id */
    int64_t etag_id;
    char *text; /* CSV or a stored idempotent replay (malloc) */
    size_t text_len;
    const char *text_type;
    bool replayed;
    int queries;
    char new_lsn[32]; /* the primary's LSN after this write ("" none) */
};

/* ---- blog.c: answering ---- */

/* Set a problem answer on r (on the database thread or the loop). */
void blog_fail(struct blog_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The database failed: 500 (or 503 when it timed out / is gone), logged with the message. */
void blog_db_error(struct blog_req *r, int rc, const struct st_error *err);
/* Answer a problem directly on the loop (validation before any database work). */
void blog_problem(struct st_http_ex *x, int status, const char *code, const char *detail, json_t *errors);
/* Run fn in a transaction on the primary (retried when the database asks for it): fn
 * returns 0 to commit, 1 after setting a client error on r (rolled back), or an ST_SQL_*
 * code (rolled back; answered 500/503). Returns fn's final status. */
int blog_tx(struct blog_req *r, struct blog_conn *c,
            int (*fn)(struct blog_req *r, struct blog_conn *c, struct st_error *err));
/* A creation: blog_tx(fn), and with an Idempotency-Key the answer is stored in the same
 * transaction, or a stored answer replayed instead of running fn (Q64). */
void blog_create(struct blog_req *r, struct blog_conn *c,
                 int (*fn)(struct blog_req *r, struct blog_conn *c, struct st_error *err));
/* Read the Idempotency-Key of x into r; false after answering 400 for a bad one. */
bool blog_idem_parse(struct st_http_ex *x, struct blog_req *r);
/* Parse If-Match / If-None-Match of x for resource id into r. */
void blog_preconditions(struct st_http_ex *x, struct blog_req *r, int64_t id);
/* The whole handler of a route that needs only the path's id: op on a database thread
 * (writes: on the primary, a write for caches and read-your-writes). */
void blog_submit_id(struct st_http_ex *x, void *data, void (*op)(struct blog_req *r, struct blog_conn *c), bool writes);
/* Run r->op on a database thread, then answer. */
void blog_submit(struct blog_req *r);
/* A new request for x (arena), with api and client filled in; data is the route's blog_ver. */
struct blog_req *blog_req_new(struct st_http_ex *x, void *data);
/*
 * The handlers' parsers answer x themselves when the input is bad, and that frees the
 * exchange's arena with r in it: so they write their result only on success, and the
 * handler returns at once on false.
 */
/* The id path parameter (> 0) into *out, else answers 404 and returns false. */
bool blog_path_id(struct st_http_ex *x, const char *name, int64_t *out);
/* The request body validated against s (flags: ST_SCHEMA_CHECK_REQUIRED) into *out (the
 * caller owns it); false after answering 415, 400 or 422. */
bool blog_body(struct st_http_ex *x, json_t **out, const struct st_schema *s, unsigned flags);

/*
 * The hot reads' pipelined path: the pool of r's worker loop when the read may skip the
 * database threads (PostgreSQL, no replica); else NULL, after handing r to the threads with
 * op (blog_submit).
 */
struct st_sql_pool *blog_read_pool(struct blog_req *r, void (*op)(struct blog_req *r, struct blog_conn *c));
/*
 * Send bt (built on blog_read_pool(r)); on the loop, read(r, bt) fills r from the results
 * once every query succeeded (a failure answers 500/503 itself), then r is answered.
 */
void blog_submit_batch(struct blog_req *r, struct st_sql_batch *bt,
                       void (*read)(struct blog_req *r, const struct st_sql_batch *bt));

/* A row the answer builders read: the current row of st (a database thread), or row `row`
 * of query q of a finished batch bt (the loop). */
struct blog_row {
    struct st_sql_stmt *st;
    const struct st_sql_batch *bt;
    int q, row;
};
int64_t blog_col_int64(const struct blog_row *w, int col);
/* NULL reads as ""; len may be NULL. */
const char *blog_col_text(const struct blog_row *w, int col, size_t *len);
bool blog_col_null(const struct blog_row *w, int col);

/* "/api/v1/posts/7" into a JSON string. */
json_t *blog_link(const struct blog_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- blog_db.c ---- */

extern const struct st_sql_migration blog_lite_migrations[];
extern const struct st_sql_migration blog_pg_migrations[];
const struct st_sql_migration *blog_migrations(enum st_sql_backend be);
/* Open the database, migrate, load (or create) the cursor key; seed when asked. */
int blog_db_init(struct blog *b, int64_t seed_users, uint64_t seed, struct st_error *err);
/* Seed an empty database: users, posts (with tags), comments, deterministic in seed. */
int blog_seed(struct st_sql_db *db, int64_t users, uint64_t seed, struct st_error *err);
/* A connection for the current request (database thread), NULL with err when none. */
struct blog_conn *blog_conn_get(struct blog *b, struct st_error *err);
void blog_conn_put(struct blog *b, struct blog_conn *c);
void blog_conn_close_all(struct blog *b);
/* The cached statement for sql on the primary (or replica when c->use_replica and !write),
 * reset with no bindings; counts one query. NULL with err. */
struct st_sql_stmt *blog_stmt(struct blog_conn *c, const char *sql, bool write, struct st_error *err);
/* Wall clock seconds (what every created_at/updated_at holds). */
int64_t blog_now(void);
/* RFC 3339 text of epoch seconds into a JSON string. */
json_t *blog_time_json(int64_t s);
/* The database's dialect fragments. */
const char *blog_tags_agg(enum st_sql_backend be); /* "tags" of post p as 'a,b,c' */
/* Read-your-writes (PostgreSQL): LSN after a write, and waiting on the replica. */
void blog_capture_lsn(struct blog_conn *c, char out[32]);
void blog_pick_replica(struct blog *b, struct blog_conn *c, const char *wait_lsn);
void blog_token_set(struct blog *b, const char *client, const char *lsn);
void blog_token_get(struct blog *b, const char *client, char out[32]);

/*
 * List totals (meta.total) are count(*) over the filtered rows: on a big table that is most
 * of a list request's database work. They are cached per query and values, valid while no
 * write went through this process (write_gen unchanged) and for at most
 * BLOG_COUNT_TTL_MS, so writes by other processes show within that. key is the count
 * query with its values; gen is write_gen read BEFORE counting (a write racing the count
 * makes the entry stale at once).
 */
#define BLOG_COUNT_TTL_MS 1000
bool blog_count_get(struct blog *b, const char *key, int64_t *total);
void blog_count_put(struct blog *b, const char *key, uint64_t gen, int64_t total);
/* The cache key of a count query: its SQL and values. Caller frees. */
char *blog_count_key(const struct blog_q *q);
void blog_counts_free(struct blog *b);

/* ---- blog_api.c: schemas and documents ---- */

extern const struct st_schema blog_user_create, blog_user_update, blog_user_read;
extern const struct st_schema blog_post_create, blog_post_put, blog_post_patch, blog_post_read, blog_post_read_v2;
extern const struct st_schema blog_comment_create, blog_comment_update, blog_comment_read, blog_comment_read_v2;
extern const struct st_schema blog_problem_schema;
/* Build the OpenAPI documents and the docs page into b. 0 or -1. */
int blog_api_build(struct blog *b);
int blog_api_routes(struct st_http_app *app, struct blog_ver *v); /* openapi.json and docs */

/* ---- blog_list.c ---- */

/* A query under construction: SQL text plus the values of its $n parameters in order. */
struct blog_bval {
    enum st_sql_type type; /* ST_SQL_INT or ST_SQL_TEXT */
    int64_t i;
    const char *s; /* borrowed: must outlive blog_q_bind */
};
#define BLOG_Q_PARAMS 48
struct blog_q {
    struct st_buf sql;
    struct blog_bval v[BLOG_Q_PARAMS];
    int n;
};
void blog_q_init(struct blog_q *q);
void blog_q_free(struct blog_q *q);
void blog_q_sql(struct blog_q *q, const char *s);
void blog_q_int(struct blog_q *q, int64_t v);      /* appends "$n" */
void blog_q_text(struct blog_q *q, const char *s); /* appends "$n" */
void blog_q_bind(const struct blog_q *q, struct st_sql_stmt *st);
/* Append q to bt as its next query, with its values. Returns the query's index. */
int blog_q_batch(const struct blog_q *q, struct st_sql_batch *bt);

/* Parse the list parameters of x into l for kind (v2: cursor by default). 0, or answers 400
 * with every bad parameter and returns -1. */
int blog_list_parse(struct st_http_ex *x, struct blog_req *r, enum blog_kind kind, struct blog_list *l);
/* Append to q: the keyset condition (" AND (...)" after the cursor row; nothing without a
 * cursor), then " ORDER BY ..." (reversed when reading backwards), then " LIMIT n+1" (one
 * more row tells whether another page follows; offset mode adds OFFSET). The SELECT must
 * end its column list with blog_list_keys(l) so the answer can build cursors. */
void blog_list_tail(const struct blog_list *l, struct blog_q *q);
/* ", <key1>, <key2> ..." : the sort keys as extra trailing columns. */
void blog_list_keys(const struct blog_list *l, struct blog_q *q);
/* The sort keys of the current row (the trailing nkeys columns from col) as a JSON array. */
json_t *blog_list_row_keys(const struct blog_list *l, const struct blog_row *w, int col);
/* blog_list_answer from query q of a finished batch, each row built by row(r, w). */
void blog_list_answer_batch(struct blog_req *r, const struct st_sql_batch *bt, int q, int64_t total,
                            json_t *(*row)(struct blog_req *r, const struct blog_row *w), int ncols);
/* Build r->out (JSON: data, meta, links) or r->text (CSV) from a page of rows read with
 * blog_list_tail: rows and keys hold up to limit+1 entries (the extra one is dropped and
 * means "more"); total: the count in offset mode (-1 otherwise). Takes rows and keys. */
void blog_list_answer(struct blog_req *r, json_t *rows, json_t *keys, int64_t total);
/* The SQL expression of sort field f of kind, and its name. */
const char *blog_sort_sql(enum blog_kind kind, int f);

/* Cursors on their own (tests and the fuzz target): make one for keys (a JSON array of
 * the sort keys' values), or check and open one issued for sort over kind: 0 with *prev and
 * *keys (owned), or -1 when it is not a cursor of ours for that order. */
char *blog_cursor_make(const struct blog *b, const char *sort, bool prev, json_t *keys);
int blog_cursor_open(const struct blog *b, const char *cursor, enum blog_kind kind, const char *sort, bool *prev,
                     json_t **keys);
/* The version an If-Match / If-None-Match value names for resource id: -1 for "*", 0 when
 * no strong "id-version" tag of that resource is in the list. */
int64_t blog_etag_list(struct st_str h, int64_t id);

/* ---- resources ---- */

/* One route of a resource: method and path under the version prefix ("/posts/:id"). */
struct blog_route {
    const char *method, *suffix;
    void (*fn)(struct st_http_ex *x, const struct st_http_route_match *m, void *data);
};
/* Register routes[0..n) under v->prefix with v as their data; 0 or a routing status. */
int blog_route_all(struct st_http_app *app, struct blog_ver *v, const struct blog_route *routes, size_t n);
/* Register a resource's routes under v->prefix; 0 or a routing status. */
int blog_users_routes(struct st_http_app *app, struct blog_ver *v);
int blog_posts_routes(struct st_http_app *app, struct blog_ver *v);
int blog_comments_routes(struct st_http_app *app, struct blog_ver *v);
int blog_search_routes(struct st_http_app *app, struct blog_ver *v);
/* Shared by users (its posts) and posts: the post rows of a list. */
void blog_posts_list_op(struct blog_req *r, struct blog_conn *c);
/* A post JSON object from a row of the post SELECT (columns from col). */
json_t *blog_post_row(struct blog_req *r, struct st_sql_stmt *st);
extern const char blog_post_cols[]; /* the SELECT list matching blog_post_row */

#endif
