/*
 * internal.h - what graders share (internal to src/grade): the grader table, the run
 * context, and the helpers checks use to send requests and judge answers.
 *
 * A check is a function returning true when it passed. It fails through g_fail(), which
 * records the first reason and returns false, so checks read as
 *     if (!g_status(g, r, 200)) return false;
 * Every request goes through g_do()/g_raw(): the exchange is kept until the check ends,
 * and the latest one is what a failure report shows ("sent", "received").
 *
 * Randomness comes only from g_rand() (splitmix64 from the round's seed), so a run with
 * the same --seed sends the same requests.
 */
#ifndef ST_GRADE_INTERNAL_H
#define ST_GRADE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "grade/grade.h"
#include "http/client.h"

struct st_grade;

struct st_grade_check {
    const char *name; /* shown after ok/FAIL: what is checked, in words */
    bool (*run)(struct st_grade *g);
};

enum {
    ST_GRADE_NEEDS_CMD = 1u,  /* reads the program's output: --cmd is required */
    ST_GRADE_NEEDS_DIR = 2u,  /* serves a directory: --cmd with {dir} */
    ST_GRADE_RUNS_CMD = 4u,   /* runs --cmd once per step ({db} ...), no server (sql_q.c) */
    ST_GRADE_NEEDS_DB = 8u,   /* a server on a database the grader creates from --db: {db} {pool} */
    ST_GRADE_NEEDS_SQL = 16u, /* judges a learner's SQL file (--sql) on databases it creates (sql_blog.c) */
    ST_GRADE_NEEDS_PG = 32u,  /* with NEEDS_SQL: only on PostgreSQL (--db postgres://, Q115) */
};

struct st_grader {
    const char *name; /* "q11": the curriculum's grader field */
    int question;
    unsigned needs;
    /* Fill the {dir} directory before the program starts (NULL: nothing). 0 or -errno. */
    int (*prepare)(struct st_grade *g);
    const struct st_grade_check *checks; /* ends with { NULL } */
};

extern const struct st_grader st__grade_q11, st__grade_q12, st__grade_q13, st__grade_q14, st__grade_q15;
extern const struct st_grader st__grade_q16, st__grade_q17, st__grade_q18, st__grade_q19, st__grade_q20;
/* kv.c: the key-value questions, over RESP */
extern const struct st_grader st__grade_q97, st__grade_q98, st__grade_q99, st__grade_q175, st__grade_q311;
extern const struct st_grader st__grade_q313, st__grade_q434;
/* sql_q.c: the SQL data-layer questions (Q112 and Q119 run --cmd per step, Q131 is HTTP) */
extern const struct st_grader st__grade_q112, st__grade_q119, st__grade_q131;
/* sql_pool.c: Q111, connection pooling (a server on a fresh PostgreSQL database) */
extern const struct st_grader st__grade_q111;
/* sql_blog.c: the blog-schema SQL questions, judged from a --sql file (ST_GRADE_NEEDS_SQL) */
extern const struct st_grader st__grade_q31, st__grade_q32, st__grade_q33, st__grade_q34, st__grade_q35;
extern const struct st_grader st__grade_q36, st__grade_q37, st__grade_q38, st__grade_q39, st__grade_q113;
extern const struct st_grader st__grade_q115, st__grade_q118;
/* blog_http.c: HTTP graders of the blog API contract (docs/blog-api.md) */
extern const struct st_grader st__grade_q73, st__grade_q75, st__grade_q76, st__grade_q78, st__grade_q80;
extern const struct st_grader st__grade_q114, st__grade_q120, st__grade_q71, st__grade_q72, st__grade_q74;
extern const struct st_grader st__grade_q77, st__grade_q79, st__grade_q117;

#define G_MAX_EXCHANGES 256 /* Q78 sends 100 requests and more in one check */

/* The run context, shared by every check of a run. */
struct st_grade {
    const char *target; /* "127.0.0.1:8080" */
    const char *dir;    /* the {dir} directory (static root), or NULL */
    const char *tmp;    /* the temp directory holding dir (files outside it live here) */
    uint64_t seed;      /* this round's seed */
    uint64_t rng;       /* splitmix64 state */
    int timeout_ms;     /* per check */
    bool verbose;
    struct st_http_client *client; /* kept-alive client for ordinary requests */

    /* The log: every line of the report goes to line(line_arg, text, len) (grade.h). */
    st_grade_line_fn line;
    void *line_arg;
    struct st_buf partial; /* text after the last newline, not yet a line */

    /* The program under --cmd: its stdout and stderr, merged, as lines arrive. */
    bool has_proc;
    struct st_grade_output *output;

    /* Per check. */
    int64_t deadline_ms; /* monotonic */
    char reason[1024];
    bool failed;
    struct st_http_exchange *xs[G_MAX_EXCHANGES];
    size_t nxs;
    const struct st_http_exchange *shown; /* what a failure report shows */

    /* Grader-private state for prepare() and checks (Q20's file contents). */
    void *state;
    void (*state_free)(void *state);

    /* ST_GRADE_RUNS_CMD graders: the --cmd template, run by the checks (sql_q.c). */
    const char *cmd;

    /* ST_GRADE_NEEDS_DB graders (sql_pool.c): --db, and what prepare() made of it for
     * {db} and {pool}. */
    const char *db_admin;
    const char *db_url;
    int pool;

    /* ST_GRADE_NEEDS_SQL graders (sql_blog.c): the learner's --sql file, for the header. */
    const char *sql;
};

/* ---- randomness ---- */
uint64_t g_rand(struct st_grade *g);
/* Uniform in [lo, hi]. */
int64_t g_range(struct st_grade *g, int64_t lo, int64_t hi);
/* n random characters from set (NUL-terminated into out, which holds n + 1). */
void g_word(struct st_grade *g, char *out, size_t n, const char *set);
#define G_ALNUM "abcdefghijklmnopqrstuvwxyz0123456789"

/* ---- the report ---- */
/* Append printf text to the log; each completed line ('\n') goes to g->line. */
__attribute__((format(printf, 2, 3))) void g_log(struct st_grade *g, const char *fmt, ...);

/* ---- failing ---- */
__attribute__((format(printf, 2, 3))) bool g_fail(struct st_grade *g, const char *fmt, ...);

/* ---- requests ---- */
struct g_req {
    const char *method; /* GET when NULL */
    const char *target;
    const char *ctype; /* Content-Type to send, or NULL */
    const char *body;  /* with body_len (strlen when body_len is 0 and body is set) */
    size_t body_len;
    const struct st_http_field *headers; /* more headers */
    size_t nheaders;
    bool fresh; /* on a new connection of its own (not the kept one) */
};

/* Send r; the response, or NULL after g_fail (transport or protocol error). */
const struct st_http_resp *g_do(struct st_grade *g, const struct g_req *r);
/* GET target. */
const struct st_http_resp *g_get(struct st_grade *g, const char *target);
/* Raw bytes on a new connection, expecting `expect` responses (see st_http_exchange).
 * The exchange, or NULL after g_fail. */
const struct st_http_exchange *g_raw(struct st_grade *g, const char *bytes, size_t len, size_t expect,
                                     unsigned raw_head, bool drain);
/* An exchange recorded for this check (freed when it ends), to run with g_exec. */
struct st_http_exchange *g_new_exchange(struct st_grade *g);
/* A client of its own for the target (keep-alive tests); free with st_http_client_free. */
struct st_http_client *g_new_client(struct st_grade *g);
/* Run x on client c, recording it like g_do. The response or NULL after g_fail. */
const struct st_http_resp *g_exec(struct st_grade *g, struct st_http_client *c, struct st_http_exchange *x);
/* Milliseconds left in this check's budget (at least 1). */
int g_left_ms(struct st_grade *g);

/* ---- judging responses ---- */
bool g_status(struct st_grade *g, const struct st_http_resp *r, int status);
/* The response has no body bytes; else g_fail naming what (e.g. "204 No Content"). */
bool g_no_body(struct st_grade *g, const struct st_http_resp *r, const char *what);
/* The media type (before ';', case-insensitive) equals type. */
bool g_ctype_is(const struct st_http_resp *r, const char *type);
bool g_ctype(struct st_grade *g, const struct st_http_resp *r, const char *type);
/* The body as JSON (strict RFC 8259, any value), or NULL after g_fail. json_decref it. */
json_t *g_json(struct st_grade *g, const struct st_http_resp *r);
/* status + application/problem+json + a JSON object whose "status" is status (when
 * need_status) and "title" a non-empty string (when need_title). The object or NULL. */
json_t *g_problem(struct st_grade *g, const struct st_http_resp *r, int status, bool need_status, bool need_title);
/* JSON as compact text for messages (per-thread ring of buffers, truncated). */
const char *g_json_text(const json_t *v);
/* Printable, escaped, truncated text of bytes for messages (a per-thread ring of buffers:
 * graders run on several threads at once under `strata serve`). */
const char *g_quote(const char *p, size_t n, size_t max);
/* Case-insensitive substring search in a slice. */
bool g_contains_ci(const char *p, size_t n, const char *needle);

/* ---- the program's output (under --cmd) ---- */
/* Copy the merged stdout+stderr captured so far (after waiting wait_ms for more). */
void g_output(struct st_grade *g, int wait_ms, struct st_buf *out);

/* ---- graders that run --cmd per step (ST_GRADE_RUNS_CMD, sql_q.c) ---- */
/* The options such a grader refuses (the CLI's usage errors); 0 or ST_EUSAGE with err. */
int st__grade_runs_check(const struct st_grade_run_opts *o, const struct st_grader *gr, struct st_error *err);
/* Instead of starting a server: create the temp directory (*tmp_out, *dir_out as
 * start_program), keep o->cmd in g->cmd and set g->target to an address no check uses. */
int st__grade_runs_start(const struct st_grade_run_opts *o, struct st_grade *g, char *target_buf, size_t cap,
                         char **tmp_out, char **dir_out, struct st_error *err);

/* ---- graders on a database the grader creates (ST_GRADE_NEEDS_DB, sql_pool.c) ---- */
/* The options such a grader refuses: no --db, not PostgreSQL, {db} or {pool} missing. */
int st__grade_db_check(const struct st_grade_run_opts *o, const struct st_grader *gr, struct st_error *err);

/* ---- graders of a learner's SQL file (ST_GRADE_NEEDS_SQL, sql_blog.c) ---- */
/* The options such a grader refuses: no --sql (or unreadable), --cmd/--target, a bad --db. */
int st__grade_sql_check(const struct st_grade_run_opts *o, const struct st_grader *gr, struct st_error *err);
/* Instead of starting a server: read the file, create the temp directory (*tmp_out,
 * *dir_out) for SQLite files, set g->sql and g->target to an address no check uses. */
int st__grade_sql_start(const struct st_grade_run_opts *o, struct st_grade *g, char *target_buf, size_t cap,
                        char **tmp_out, char **dir_out, struct st_error *err);

#endif
