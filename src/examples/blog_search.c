/*
 * blog_search.c - GET /api/v{1,2}/search?q=: full-text search over published posts (Q120).
 *
 *   SQLite      FTS5 table posts_fts (porter stemmer) kept in step by triggers; ranked by
 *               bm25 with the title weighted 10x the body; snippet() marks the hits.
 *   PostgreSQL  a stored tsvector (title weight A, body B) behind a GIN index; ranked by
 *               ts_rank; ts_headline marks the hits.
 * Both read the words of q as plain terms that must all occur (stemmed): FTS5 gets each
 * word as a quoted string, PostgreSQL plainto_tsquery, so no query syntax reaches either.
 * The snippet is the database's text with <mark> tags: escape it before putting it in HTML
 * (the text of a post is not HTML-escaped here; a JSON API leaves that to the view).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/blog.h"
#include "http/url.h"

static const char SQL_LITE[] =
    "SELECT p.id, p.title, -bm25(posts_fts, 10.0, 1.0), snippet(posts_fts, -1, '<mark>', '</mark>', '...', 16)"
    " FROM posts_fts JOIN posts p ON p.id = posts_fts.rowid"
    " WHERE posts_fts MATCH $1 AND p.status = 'published' AND p.deleted_at IS NULL"
    " ORDER BY bm25(posts_fts, 10.0, 1.0), p.id LIMIT $2";
static const char SQL_PG[] =
    "SELECT p.id, p.title, ts_rank(p.search, q),"
    " ts_headline('english', p.title || ' ' || p.body, q, 'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8')"
    " FROM posts p, plainto_tsquery('english', $1) q"
    " WHERE p.search @@ q AND p.status = 'published' AND p.deleted_at IS NULL"
    " ORDER BY ts_rank(p.search, q) DESC, p.id LIMIT $2";

/* FTS5: every run of letters/digits (and any non-ASCII byte) as a quoted term. */
static char *fts5_query(const char *q)
{
    char *o = st_xmalloc(3 * strlen(q) + 1), *p = o;
    while (*q) {
        while (*q &&
               !((unsigned char)*q >= 0x80 || (*q >= '0' && *q <= '9') || ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z')))
            q++;
        if (!*q)
            break;
        if (p != o)
            *p++ = ' ';
        *p++ = '"';
        while ((unsigned char)*q >= 0x80 || (*q >= '0' && *q <= '9') || ((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z'))
            *p++ = *q++;
        *p++ = '"';
    }
    *p = 0;
    return o;
}

static void search_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    bool pg = r->b->backend == ST_SQL_POSTGRES;
    char *terms = pg ? NULL : fts5_query(r->list.q);
    json_t *rows = json_array();
    int rc = 0;
    if (pg || terms[0]) { /* no word at all: nothing can match */
        struct st_sql_stmt *st = blog_stmt(c, pg ? SQL_PG : SQL_LITE, false, &err);
        if (st) {
            const char *t = pg ? r->list.q : terms;
            st_sql_bind_text(st, 1, t, strlen(t));
            st_sql_bind_int64(st, 2, r->list.limit);
            while ((rc = st_sql_step(st, &err)) == 1) {
                size_t tl = 0, sl = 0;
                const char *title = st_sql_column_text(st, 1, &tl);
                const char *snip = st_sql_column_text(st, 3, &sl);
                json_array_append_new(
                    rows,
                    json_pack("{s:I, s:s%, s:f, s:s%, s:o}", "id", (json_int_t)st_sql_column_int64(st, 0), "title",
                              title, tl, "rank", st_sql_column_double(st, 2), "snippet", snip, sl, "links",
                              json_pack("{s:o}", "post",
                                        blog_link(r, "/posts/%lld", (long long)st_sql_column_int64(st, 0)))));
            }
            st_sql_reset(st);
        } else {
            rc = ST_SQL_OTHER;
        }
    }
    free(terms);
    if (rc < 0) {
        json_decref(rows);
        blog_db_error(r, rc, &err);
        return;
    }
    r->out = json_pack("{s:o, s:{s:s, s:i}}", "data", rows, "meta", "q", r->list.q, "limit", r->list.limit);
}

static void search(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    struct st_str q = { 0 }, lim = { 0 };
    int qrc = st_http_query_get(x->req->query, "q", x->arena, &q);
    int lrc = st_http_query_get(x->req->query, "limit", x->arena, &lim);
    json_t *errors = json_array();
    if (qrc || st_str_trim(q).len == 0 || q.len > 200) /* blank is empty */
        json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "field", "q", "code",
                                                qrc == ST_ENOTFOUND ? "required" : "invalid", "message",
                                                "give the words to search for (1 to 200 bytes)"));
    r->list.limit = BLOG_LIMIT_DEFAULT;
    if (lrc == 0) {
        int64_t n = 0;
        bool ok = lim.len > 0 && lim.len < 4 && !st_str_to_i64(lim, &n) && n >= 1 && n <= BLOG_LIMIT_MAX;
        for (size_t i = 0; ok && i < lim.len; i++)
            ok = lim.ptr[i] >= '0' && lim.ptr[i] <= '9';
        if (ok)
            r->list.limit = (int)n;
        else
            json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "field", "limit", "code", "out_of_range",
                                                    "message", "must be an integer from 1 to 100"));
    } else if (lrc == ST_EPARSE) {
        json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "field", "limit", "code", "encoding", "message",
                                                "not valid percent-encoding"));
    }
    if (json_array_size(errors)) {
        blog_problem(x, 400, "invalid_parameter", "the search parameters are invalid", errors);
        return;
    }
    json_decref(errors);
    r->list.q = q.ptr;
    r->op = search_op;
    blog_submit(r);
}

int blog_search_routes(struct st_http_app *app, struct blog_ver *v)
{
    char p[64];
    snprintf(p, sizeof p, "%s/search", v->prefix);
    return st_http_app_route(app, "GET", p, search, v);
}
