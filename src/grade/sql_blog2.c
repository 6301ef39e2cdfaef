/*
 * sql_blog2.c - the later SQL-file graders on the blog schema: queries (Q35 join, Q36
 * counts per post, Q37 pagination) compared row for row with the grader's reference, and
 * indexes (Q38, Q118, Q113) judged by the query plan: SQLite's EXPLAIN QUERY PLAN, or
 * PostgreSQL's EXPLAIN (FORMAT JSON) with enable_seqscan off (so a usable index is used
 * even on a small table), and by unchanged results.
 *
 * Q39 (an atomic transfer) and Q115 (a stored function) are in sql_blog3.c. The run, the
 * schema and the fixture are in sql_blog.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grade/internal.h"
#include "grade/sql_blog.h"
#include "sql/sql.h"

static const char *const p_none[] = { NULL };
static const char *const p_page[] = { "limit", "offset", NULL };

/* The learner's query (bound already) against the reference with params. */
static bool same_as_ref(struct st_grade *g, struct st_sql_db *db, struct sqlb_query *q, const char *ref,
                        const int64_t *params, int np, int cols, const char *colnames, const char *what)
{
    struct sqlb_rows want = { 0 }, got = { 0 };
    bool ok = sqlb_select(g, db, ref, params, np, &want) && sqlb_run_query(g, q, &got);
    if (ok && got.n && got.cols != cols)
        ok = g_fail(g, "%s: %d columns; the query must return %s", what, got.cols, colnames);
    if (ok)
        ok = sqlb_rows_same(g, &want, &got, what);
    sqlb_rows_free(&want);
    sqlb_rows_free(&got);
    return ok;
}

/* ---- Q35: posts with their authors ---- */

static const char q35_ref[] = "SELECT p.id, p.title, u.name, u.email FROM posts p JOIN users u ON u.id = p.user_id "
                              "ORDER BY p.id";
#define Q35_COLS "(post id, title, author name, author email)"

static bool c_join_rows(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_none, p_none, &q) &&
              same_as_ref(g, b.db, &q, q35_ref, NULL, 0, 4, Q35_COLS, "all posts");
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

/* New rows after preparing: a query that hard-codes what it saw would miss them. */
static bool c_join_new(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_none, p_none, &q);
    int64_t nu = 0, np = 0;
    ok = ok && sqlb_count(g, b.db, "SELECT max(id) FROM users", &nu) &&
         sqlb_count(g, b.db, "SELECT max(id) FROM posts", &np);
    int64_t uid = nu + g_range(g, 1, 50), pid = np + g_range(g, 1, 50);
    int64_t up[] = { uid, uid + 1 };
    struct sqlb_rows r = { 0 };
    ok = ok && sqlb_select(
                   g, b.db,
                   "INSERT INTO users (id, name, email, created_at) VALUES ($1, 'New Writer', 'new.writer@example.com',"
                   " '2024-04-01 10:00:00'), ($2, 'Only Reader', 'only.reader@example.com', '2024-04-01 11:00:00')",
                   up, 2, &r);
    sqlb_rows_free(&r);
    int64_t pp[] = { pid, uid };
    ok = ok && sqlb_select(g, b.db,
                           "INSERT INTO posts (id, user_id, title, body, status, created_at) VALUES ($1, $2, 'Fresh',"
                           " 'Just in.', 'published', '2024-04-02 10:00:00')",
                           pp, 2, &r);
    sqlb_rows_free(&r);
    ok = ok && same_as_ref(g, b.db, &q, q35_ref, NULL, 0, 4, Q35_COLS,
                           "after adding a post by a new user and a user without posts");
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

static const struct st_grade_check q35_checks[] = {
    { "one query: every post with its author's name and email, by post id, no user without posts", c_join_rows },
    { "after the grader adds a post by a new user and a user without posts: still exact", c_join_new },
    { NULL, NULL },
};

const struct st_grader st__grade_q35 = { "q35", 35, ST_GRADE_NEEDS_SQL, NULL, q35_checks };

/* ---- Q36: comments per post ---- */

static const char q36_ref[] = "SELECT p.id, p.title, count(c.id) FROM posts p LEFT JOIN comments c ON c.post_id = p.id "
                              "GROUP BY p.id, p.title ORDER BY p.id";
#define Q36_COLS "(post id, title, comment count)"

static bool c_count_rows(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    int64_t zero = 0;
    bool ok = sqlb_query_setup(g, &b, p_none, p_none, &q) &&
              sqlb_count(g, b.db, "SELECT count(*) FROM posts WHERE id NOT IN (SELECT post_id FROM comments)", &zero);
    if (ok && zero == 0)
        ok = g_fail(g, "the fixture has no post without comments (a grader bug)");
    ok = ok && same_as_ref(g, b.db, &q, q36_ref, NULL, 0, 3, Q36_COLS, "comment counts");
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

/* The counts follow the data: one post loses all its comments, another gains three. */
static bool c_count_change(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_none, p_none, &q);
    int64_t np = 0, nc = 0;
    ok = ok && sqlb_count(g, b.db, "SELECT count(*) FROM posts", &np) &&
         sqlb_count(g, b.db, "SELECT max(id) FROM comments", &nc);
    int64_t emptied = np > 0 ? g_range(g, 1, np) : 1, grown = np > 0 ? g_range(g, 1, np) : 1;
    struct sqlb_rows r = { 0 };
    ok = ok && sqlb_select(g, b.db, "DELETE FROM comments WHERE post_id = $1", &emptied, 1, &r);
    sqlb_rows_free(&r);
    for (int i = 1; ok && i <= 3; i++) {
        int64_t p[] = { nc + i, grown };
        ok = sqlb_select(g, b.db,
                         "INSERT INTO comments (id, post_id, user_id, body, created_at) VALUES ($1, $2, 1, 'More',"
                         " '2024-04-03 10:00:00')",
                         p, 2, &r);
        sqlb_rows_free(&r);
    }
    ok = ok && same_as_ref(g, b.db, &q, q36_ref, NULL, 0, 3, Q36_COLS, "after changing comments");
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

static const struct st_grade_check q36_checks[] = {
    { "one query: every post with its number of comments, by post id, posts without comments with 0", c_count_rows },
    { "after one post loses all its comments and another gains three: still exact", c_count_change },
    { NULL, NULL },
};

const struct st_grader st__grade_q36 = { "q36", 36, ST_GRADE_NEEDS_SQL, NULL, q36_checks };

/* ---- Q37: pagination ---- */

static const char q37_ref[] = "SELECT id, title, created_at FROM posts ORDER BY created_at DESC, id DESC LIMIT $1 "
                              "OFFSET $2";
#define Q37_COLS "(id, title, created_at)"

/* Page (limit, offset) of the learner's query equals the reference's. */
static bool page_same(struct st_grade *g, struct sqlb *b, struct sqlb_query *q, int64_t limit, int64_t offset,
                      struct sqlb_rows *got)
{
    int64_t p[] = { limit, offset };
    struct sqlb_rows want = { 0 };
    sqlb_bind(q, "limit", limit);
    sqlb_bind(q, "offset", offset);
    bool ok = sqlb_select(g, b->db, q37_ref, p, 2, &want) && sqlb_run_query(g, q, got);
    char what[80];
    snprintf(what, sizeof what, "page :limit = %lld, :offset = %lld", (long long)limit, (long long)offset);
    if (ok && got->n && got->cols != 3)
        ok = g_fail(g, "%s: %d columns; the query must return %s", what, got->cols, Q37_COLS);
    ok = ok && sqlb_rows_same(g, &want, got, what);
    sqlb_rows_free(&want);
    return ok;
}

static bool c_page_rows(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_page, p_page, &q);
    int64_t n = 0;
    ok = ok && sqlb_count(g, b.db, "SELECT count(*) FROM posts", &n);
    int64_t limit = g_range(g, 3, 7);
    for (int64_t off = 0; ok && off < n; off += limit) {
        struct sqlb_rows got = { 0 };
        ok = page_same(g, &b, &q, limit, off, &got);
        sqlb_rows_free(&got);
    }
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

/* Walking pages until an empty one sees every post exactly once. */
static bool c_page_cover(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_page, p_page, &q);
    int64_t n = 0;
    ok = ok && sqlb_count(g, b.db, "SELECT count(*) FROM posts", &n);
    int64_t limit = g_range(g, 2, 9);
    char *seen = ok ? st_xcalloc((size_t)n + 1, 1) : NULL;
    int64_t total = 0, off = 0;
    for (int pages = 0; ok; pages++, off += limit) {
        if (pages > n + 1) {
            ok = g_fail(g, ":limit = %lld: still rows after %d pages of %lld posts", (long long)limit, pages,
                        (long long)n);
            break;
        }
        struct sqlb_rows got = { 0 };
        sqlb_bind(&q, "limit", limit);
        sqlb_bind(&q, "offset", off);
        ok = sqlb_run_query(g, &q, &got);
        if (ok && got.n > (size_t)limit)
            ok = g_fail(g, ":limit = %lld, :offset = %lld: %zu rows, more than the limit", (long long)limit,
                        (long long)off, got.n);
        for (size_t i = 0; ok && i < got.n; i++) {
            int64_t id = strtoll(got.v[i], NULL, 10);
            if (id < 1 || id > n)
                ok = g_fail(g, ":offset = %lld: row (%s) is not a post id", (long long)off, got.v[i]);
            else if (seen[id]++)
                ok = g_fail(g, ":limit = %lld: post %lld appears on two pages (the second at :offset = %lld)",
                            (long long)limit, (long long)id, (long long)off);
            total++;
        }
        bool last = got.n == 0;
        sqlb_rows_free(&got);
        if (last)
            break;
    }
    if (ok && total != n)
        ok = g_fail(g, ":limit = %lld: the pages hold %lld posts of %lld", (long long)limit, (long long)total,
                    (long long)n);
    free(seen);
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

static bool c_page_edges(struct st_grade *g)
{
    struct sqlb b;
    struct sqlb_query q = { 0 };
    bool ok = sqlb_query_setup(g, &b, p_page, p_page, &q);
    int64_t n = 0;
    ok = ok && sqlb_count(g, b.db, "SELECT count(*) FROM posts", &n);
    const int64_t cases[][2] = { { 1, 0 }, { 1, g_range(g, 1, 20) }, { n, 0 }, { 5, n }, { 5, n - 2 } };
    for (size_t i = 0; ok && i < sizeof cases / sizeof cases[0]; i++) {
        struct sqlb_rows got = { 0 };
        ok = page_same(g, &b, &q, cases[i][0], cases[i][1], &got);
        sqlb_rows_free(&got);
    }
    sqlb_query_free(&q);
    sqlb_close(g, &b);
    return ok;
}

static const struct st_grade_check q37_checks[] = {
    { "one query with :limit and :offset: every page equals the reference page (newest first, ties by id desc)",
      c_page_rows },
    { "walking the pages until an empty one: every post exactly once, no page longer than :limit", c_page_cover },
    { "edges: :limit 1, :limit = all posts, :offset at and near the end", c_page_edges },
    { NULL, NULL },
};

const struct st_grader st__grade_q37 = { "q37", 37, ST_GRADE_NEEDS_SQL, NULL, q37_checks };

/* ---- plans: Q38, Q118, Q113 ---- */

/* Index names in the check's database (the schema's own, or after the file). */
static bool index_names(struct st_grade *g, struct sqlb *b, struct sqlb_rows *out)
{
    return sqlb_select(g, b->db,
                       b->pg ? "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1"
                             : "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY 1",
                       NULL, 0, out);
}

static bool has_row(const struct sqlb_rows *r, const char *s)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i], s) == 0)
            return true;
    return false;
}

/* What a query plan says, reduced to what the checks ask. */
struct plan {
    char text[1024]; /* for reports */
    char index[128]; /* the first learner index it uses, "" if none */
    bool sort;       /* a separate sort step (no index gave the order) */
    char cond[512];  /* SQLite: the search's "(a=? AND b>?)"; PostgreSQL: the Index Cond */
};

/* In s, the quoted JSON string value after key (e.g. "Index Name"), into out. */
static const char *json_value(const char *s, const char *key, char *out, size_t cap)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\": \"", key);
    const char *p = strstr(s, k);
    if (!p)
        return NULL;
    p += strlen(k);
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < cap)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
    return p + n;
}

/* PostgreSQL's JSON plan in a line: "Limit > Sort > Index Scan on posts using posts_user_idx". */
static void pg_summary(const char *json, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    char node[64], rel[64], idx[128];
    for (const char *p = json; (p = json_value(p, "Node Type", node, sizeof node)) != NULL;) {
        const char *next = strstr(p, "\"Node Type\"");
        const char *r = strstr(p, "\"Relation Name\"");
        const char *i = strstr(p, "\"Index Name\"");
        rel[0] = idx[0] = '\0';
        if (r && (!next || r < next))
            json_value(r - 1, "Relation Name", rel, sizeof rel);
        if (i && (!next || i < next))
            json_value(i - 1, "Index Name", idx, sizeof idx);
        int n = snprintf(out + at, cap - at, "%s%s%s%s%s%s", at ? " > " : "", node, rel[0] ? " on " : "", rel,
                         idx[0] ? " using " : "", idx);
        if (n < 0 || (size_t)n >= cap - at)
            break;
        at += (size_t)n;
    }
}

/* The plan of the grader's query sql (params bound) in b, judged against learner's indexes
 * (the names after the file minus those before). */
static bool explain(struct st_grade *g, struct sqlb *b, const char *sql, const int64_t *params, int np,
                    const struct sqlb_rows *before, bool order, struct plan *pl)
{
    *pl = (struct plan){ 0 };
    struct sqlb_rows after = { 0 }, rows = { 0 };
    if (!index_names(g, b, &after))
        return false;
    char q[1024];
    snprintf(q, sizeof q, "%s%s", b->pg ? "EXPLAIN (FORMAT JSON) " : "EXPLAIN QUERY PLAN ", sql);
    /* PostgreSQL: make any usable index win on a small table; when the question is the
     * order, also make a plan that avoids sorting win whenever one exists */
    bool ok = !b->pg || sqlb_exec(g, b,
                                  order ? "SET enable_seqscan = off; SET enable_sort = off; SET enable_bitmapscan = off"
                                        : "SET enable_seqscan = off",
                                  "turning off sequential scans");
    ok = ok && sqlb_select(g, b->db, q, params, np, &rows);
    if (b->pg)
        (void)sqlb_exec(g, b, "RESET enable_seqscan; RESET enable_sort; RESET enable_bitmapscan",
                        "resetting the planner");
    size_t at = 0;
    for (size_t i = 0; ok && i < rows.n; i++) {
        /* SQLite: "id | parent | notused | detail"; PostgreSQL: the JSON document */
        const char *d = rows.v[i];
        if (!b->pg)
            for (int bar = 0; bar < 3 && d; bar++)
                d = (d = strstr(d, " | ")) ? d + 3 : NULL;
        if (!d)
            continue;
        if (b->pg) {
            pg_summary(d, pl->text, sizeof pl->text);
            /* every "Index Name" of the plan; the first learner index with its condition */
            char name[128], cond[512] = "";
            for (const char *p = d; (p = json_value(p, "Index Name", name, sizeof name)) != NULL;) {
                if (!pl->index[0] && !has_row(before, name) && has_row(&after, name)) {
                    snprintf(pl->index, sizeof pl->index, "%s", name);
                    /* the Index Cond of a scan follows its name (a bitmap scan: in the same child) */
                    if (json_value(p, "Index Cond", cond, sizeof cond))
                        snprintf(pl->cond, sizeof pl->cond, "%s", cond);
                }
            }
            pl->sort |= strstr(d, "\"Node Type\": \"Sort\"") || strstr(d, "\"Node Type\": \"Incremental Sort\"");
            continue;
        }
        int w = snprintf(pl->text + at, sizeof pl->text - at, "%s%s", at ? "; " : "", d);
        at = w < 0 || (size_t)w >= sizeof pl->text - at ? sizeof pl->text - 1 : at + (size_t)w;
        pl->sort |= strstr(d, "USE TEMP B-TREE FOR ORDER BY") != NULL;
        const char *u = strstr(d, "USING INDEX ");
        size_t skip = 12;
        if (!u) {
            u = strstr(d, "USING COVERING INDEX ");
            skip = 21;
        }
        if (u && !pl->index[0]) {
            char name[128];
            size_t n = 0;
            for (u += skip; u[n] && u[n] != ' ' && n + 1 < sizeof name; n++)
                name[n] = u[n];
            name[n] = '\0';
            if (!has_row(before, name) && has_row(&after, name)) {
                snprintf(pl->index, sizeof pl->index, "%s", name);
                const char *c = strchr(u + n, '(');
                if (c)
                    snprintf(pl->cond, sizeof pl->cond, "%s", c);
            }
        }
    }
    if (g->verbose && ok)
        g_log(g, "      plan: %s\n", g_quote(pl->text, strlen(pl->text), 400));
    sqlb_rows_free(&rows);
    sqlb_rows_free(&after);
    return ok;
}

/* The plan uses one of the learner's indexes with every column of cols in its condition
 * (NULL-terminated; may be empty) and, when no_sort, without a sort step. */
static bool plan_ok(struct st_grade *g, struct sqlb *b, const char *sql, const int64_t *params, int np,
                    const struct sqlb_rows *before, const char *const *cols, bool no_sort, const char *what)
{
    struct plan pl;
    if (!explain(g, b, sql, params, np, before, no_sort, &pl))
        return false;
    if (!pl.index[0])
        return g_fail(g, "%s: the plan uses none of your indexes: %s", what, g_quote(pl.text, strlen(pl.text), 300));
    for (const char *const *c = cols; *c; c++)
        if (!strstr(pl.cond, *c))
            return g_fail(g, "%s: your index %s is used, but its condition %s does not include %s (plan: %s)", what,
                          pl.index, pl.cond[0] ? pl.cond : "(none)", *c, g_quote(pl.text, strlen(pl.text), 300));
    if (no_sort && pl.sort)
        return g_fail(g,
                      "%s: the plan still sorts the rows after using %s: the index must also give the order "
                      "(plan: %s)",
                      what, pl.index, g_quote(pl.text, strlen(pl.text), 300));
    return true;
}

/* A query the index questions ask about, with the parameter values to try. */
struct probe {
    const char *what;
    const char *sql;     /* $1 = an id drawn per run */
    const char *idcount; /* SELECT max(id) of the table the id names */
    const char *cols[3]; /* must appear in the index condition */
    bool no_sort;
};

/* Seed a fixture of `scale`, keep the probes' results and the index names, run the file. */
struct idx_run {
    struct sqlb b;
    struct sqlb_rows before;     /* index names before the file */
    struct sqlb_rows want[2][3]; /* per probe, per id */
    int64_t ids[2][3];
};

static void idx_free(struct st_grade *g, struct idx_run *r)
{
    sqlb_rows_free(&r->before);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            sqlb_rows_free(&r->want[i][j]);
    sqlb_close(g, &r->b);
}

static bool idx_setup(struct st_grade *g, struct idx_run *r, const struct probe *pr, int nprobe, int scale)
{
    *r = (struct idx_run){ 0 };
    bool ok = sqlb_open(g, &r->b) && sqlb_canon(g, &r->b, scale) && index_names(g, &r->b, &r->before);
    for (int i = 0; ok && i < nprobe; i++) {
        int64_t max = 0;
        ok = sqlb_count(g, r->b.db, pr[i].idcount, &max);
        for (int j = 0; ok && j < 3; j++) {
            r->ids[i][j] = j == 0 || max < 1 ? 1 : g_range(g, 1, max);
            ok = sqlb_select(g, r->b.db, pr[i].sql, &r->ids[i][j], 1, &r->want[i][j]);
        }
    }
    ok = ok && sqlb_run_file(g, &r->b);
    if (ok && r->b.pg)
        ok = sqlb_exec(g, &r->b, "ANALYZE users, posts, comments", "ANALYZE after your file");
    return ok;
}

static bool c_idx_results(struct st_grade *g, const struct probe *pr, int nprobe, int scale)
{
    struct idx_run r;
    bool ok = idx_setup(g, &r, pr, nprobe, scale);
    struct sqlb_rows after = { 0 };
    ok = ok && index_names(g, &r.b, &after);
    size_t fresh = 0;
    for (size_t i = 0; ok && i < after.n; i++)
        fresh += !has_row(&r.before, after.v[i]);
    if (ok && fresh == 0)
        ok = g_fail(g, "the file created no index (the schema's own: %zu)", r.before.n);
    for (int i = 0; ok && i < nprobe; i++)
        for (int j = 0; ok && j < 3; j++) {
            struct sqlb_rows got = { 0 };
            ok = sqlb_select(g, r.b.db, pr[i].sql, &r.ids[i][j], 1, &got);
            char what[160];
            snprintf(what, sizeof what, "%s ($1 = %lld) after your file", pr[i].what, (long long)r.ids[i][j]);
            ok = ok && sqlb_rows_same(g, &r.want[i][j], &got, what);
            sqlb_rows_free(&got);
        }
    sqlb_rows_free(&after);
    idx_free(g, &r);
    return ok;
}

static bool c_idx_plan(struct st_grade *g, const struct probe *pr, int nprobe, int which, int scale)
{
    struct idx_run r;
    bool ok = idx_setup(g, &r, pr, nprobe, scale);
    ok = ok && plan_ok(g, &r.b, pr[which].sql, &r.ids[which][1], 1, &r.before, pr[which].cols, pr[which].no_sort,
                       pr[which].what);
    idx_free(g, &r);
    return ok;
}

/* Q38: the two lookups every blog page does. */
static const struct probe q38_probes[] = {
    { "a user's posts",
      "SELECT id, title, created_at FROM posts WHERE user_id = $1 ORDER BY id",
      "SELECT max(id) FROM users",
      { "user_id", NULL },
      false },
    { "a post's comments",
      "SELECT id, user_id, body FROM comments WHERE post_id = $1 ORDER BY id",
      "SELECT max(id) FROM posts",
      { "post_id", NULL },
      false },
};

static bool c_q38_results(struct st_grade *g)
{
    return c_idx_results(g, q38_probes, 2, 1);
}
static bool c_q38_posts(struct st_grade *g)
{
    return c_idx_plan(g, q38_probes, 2, 0, 1);
}
static bool c_q38_comments(struct st_grade *g)
{
    return c_idx_plan(g, q38_probes, 2, 1, 1);
}

static const struct st_grade_check q38_checks[] = {
    { "the file creates indexes and both queries return the same rows as before", c_q38_results },
    { "posts WHERE user_id = ?: the plan searches one of your indexes on user_id", c_q38_posts },
    { "comments WHERE post_id = ?: the plan searches one of your indexes on post_id", c_q38_comments },
    { NULL, NULL },
};

const struct st_grader st__grade_q38 = { "q38", 38, ST_GRADE_NEEDS_SQL, NULL, q38_checks };

/* Q118: two equality filters and an order: only a composite index serves all three. */
static const struct probe q118_probes[] = {
    { "a user's newest published posts",
      "SELECT id, title, created_at FROM posts WHERE user_id = $1 AND status = 'published'"
      " ORDER BY created_at DESC, id DESC LIMIT 10",
      "SELECT max(id) FROM users",
      { "user_id", "status", NULL },
      false },
};

static bool c_q118_results(struct st_grade *g)
{
    return c_idx_results(g, q118_probes, 1, 2);
}
static bool c_q118_filter(struct st_grade *g)
{
    return c_idx_plan(g, q118_probes, 1, 0, 2);
}

/* As c_q118_filter, but the order too: the sort step must be gone. */
static bool c_q118_order(struct st_grade *g)
{
    struct idx_run r;
    bool ok = idx_setup(g, &r, q118_probes, 1, 2);
    const char *const none[] = { NULL };
    ok = ok && plan_ok(g, &r.b, q118_probes[0].sql, &r.ids[0][1], 1, &r.before, none, true, q118_probes[0].what);
    idx_free(g, &r);
    return ok;
}

static const struct st_grade_check q118_checks[] = {
    { "the file creates an index and the query returns the same rows as before", c_q118_results },
    { "WHERE user_id = ? AND status = 'published': one of your indexes serves both conditions", c_q118_filter },
    { "ORDER BY created_at DESC, id DESC LIMIT 10: the same index gives the order (no sort step)", c_q118_order },
    { NULL, NULL },
};

const struct st_grader st__grade_q118 = { "q118", 118, ST_GRADE_NEEDS_SQL, NULL, q118_checks };

/* Q113: a slow report on a bigger fixture; the fix must serve the filter and the range. */
static const struct probe q113_probes[] = {
    { "a user's comments since February",
      "SELECT id, post_id, created_at FROM comments WHERE user_id = $1 AND created_at >= '2024-02-01 00:00:00'"
      " ORDER BY created_at, id",
      "SELECT max(id) FROM users",
      { "user_id", "created_at", NULL },
      false },
};
#define Q113_SCALE 40

static bool c_q113_results(struct st_grade *g)
{
    return c_idx_results(g, q113_probes, 1, Q113_SCALE);
}
static bool c_q113_plan(struct st_grade *g)
{
    return c_idx_plan(g, q113_probes, 1, 0, Q113_SCALE);
}

/* The equality column alone is not the whole fix: the range must be in the index too. */
static bool c_q113_user(struct st_grade *g)
{
    struct idx_run r;
    bool ok = idx_setup(g, &r, q113_probes, 1, Q113_SCALE);
    const char *const user[] = { "user_id", NULL };
    ok = ok && plan_ok(g, &r.b, q113_probes[0].sql, &r.ids[0][2], 1, &r.before, user, false, q113_probes[0].what);
    idx_free(g, &r);
    return ok;
}

static const struct st_grade_check q113_checks[] = {
    { "on a fixture 40 times the usual size, the file runs and the slow query returns the same rows", c_q113_results },
    { "the slow query no longer scans comments: one of your indexes serves user_id = ?", c_q113_user },
    { "the same index serves the created_at range too (user_id and created_at in its condition)", c_q113_plan },
    { NULL, NULL },
};

const struct st_grader st__grade_q113 = { "q113", 113, ST_GRADE_NEEDS_SQL, NULL, q113_checks };
