/*
 * blog_posts.c - /api/v{1,2}/posts: lists with filters (Q75), create with tags, get with
 * ETag (304), PUT/PATCH under If-Match with the version column (Q117), soft delete and
 * restore (Q114), and archive in one transaction (Q39).
 *
 * A post row is read with its comment count, tags and author name in the same statement
 * (correlated subqueries served by the comments and post_tags indexes): a list page costs
 * one query, plus one count(*) in offset mode, whatever its size - no N+1 (Q35, Q36, Q107).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/blog.h"
#include "http/negotiate.h"

#define POST_SELECT_HEAD                                                                                               \
    "SELECT p.id, p.author_id, p.title, p.body, p.status, p.version, p.created_at, p.updated_at, p.deleted_at,"        \
    " (SELECT count(*) FROM comments c WHERE c.post_id = p.id), "
#define POST_NCOLS 12

/* The post columns (the author's name only for v2, which embeds it; NULL in its place for
 * v1), then after the caller's extra columns post_from. */
static void post_select(struct blog_q *q, const struct blog_req *r)
{
    blog_q_sql(q, POST_SELECT_HEAD);
    blog_q_sql(q, blog_tags_agg(r->b->backend));
    blog_q_sql(q, r->api == 2 ? ", u.name" : ", NULL");
}

/* author_id is a NOT NULL foreign key: the join never drops a post, so v1 goes without it. */
static void post_from(struct blog_q *q, const struct blog_req *r)
{
    blog_q_sql(q, r->api == 2 ? " FROM posts p JOIN users u ON u.id = p.author_id" : " FROM posts p");
}

static json_t *tags_json(const char *s)
{
    json_t *a = json_array();
    while (s && *s) {
        size_t n = strcspn(s, ",");
        json_array_append_new(a, json_stringn(s, n));
        s += n + (s[n] == ',');
    }
    return a;
}

static json_t *post_row(struct blog_req *r, const struct blog_row *w)
{
    int64_t id = blog_col_int64(w, 0), author = blog_col_int64(w, 1);
    size_t tl = 0, bl = 0, an = 0;
    const char *title = blog_col_text(w, 2, &tl);
    const char *body = blog_col_text(w, 3, &bl);
    const char *author_name = blog_col_text(w, 11, &an);
    json_t *p = json_pack("{s:I}", "id", (json_int_t)id);
    if (r->api == 2)
        json_object_set_new(p, "author", json_pack("{s:I, s:s%}", "id", (json_int_t)author, "name", author_name, an));
    else
        json_object_set_new(p, "author_id", json_integer(author));
    json_object_set_new(p, "title", json_stringn(title, tl));
    json_object_set_new(p, "body", json_stringn(body, bl));
    json_object_set_new(p, "status", json_string(blog_col_text(w, 4, NULL)));
    json_object_set_new(p, "tags", tags_json(blog_col_text(w, 10, NULL)));
    json_object_set_new(p, "comment_count", json_integer(blog_col_int64(w, 9)));
    json_object_set_new(p, "version", json_integer(blog_col_int64(w, 5)));
    json_object_set_new(p, "created_at", blog_time_json(blog_col_int64(w, 6)));
    json_object_set_new(p, "updated_at", blog_time_json(blog_col_int64(w, 7)));
    if (!blog_col_null(w, 8))
        json_object_set_new(p, "deleted_at", blog_time_json(blog_col_int64(w, 8)));
    json_object_set_new(p, "links",
                        json_pack("{s:o, s:o, s:o}", "self", blog_link(r, "/posts/%lld", (long long)id), "author",
                                  blog_link(r, "/users/%lld", (long long)author), "comments",
                                  blog_link(r, "/posts/%lld/comments", (long long)id)));
    return p;
}

/*
 * r->out = post r->id (not deleted unless deleted is true), with r->etag_*; 1 with 404
 * set when there is none, or < 0.
 */
/* SELECT post $1 (not deleted unless deleted is true) into q. */
static void post_query(struct blog_q *q, const struct blog_req *r, bool deleted)
{
    blog_q_init(q);
    post_select(q, r);
    post_from(q, r);
    blog_q_sql(q, deleted ? " WHERE p.id = $1" : " WHERE p.id = $1 AND p.deleted_at IS NULL");
}

/* r->out and r->etag_* from the post row w, or 404 when there is none (w NULL). */
static void post_found(struct blog_req *r, const struct blog_row *w)
{
    if (!w) {
        blog_fail(r, 404, "not_found", "no post %lld", (long long)r->id);
        return;
    }
    json_decref(r->out);
    r->out = post_row(r, w);
    r->etag_id = r->id;
    r->etag_version = blog_col_int64(w, 5);
}

static int post_read(struct blog_req *r, struct blog_conn *c, bool write, bool deleted, struct st_error *err)
{
    struct blog_q q;
    post_query(&q, r, deleted);
    struct st_sql_stmt *st = blog_stmt(c, q.sql.data, write, err);
    blog_q_free(&q);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    int rc = st_sql_step(st, err);
    struct blog_row w = { .st = st };
    if (rc >= 0)
        post_found(r, rc ? &w : NULL);
    st_sql_reset(st);
    return rc < 0 ? rc : !rc;
}

/* ---- lists ---- */

static void where(const struct blog_list *l, struct blog_q *q)
{
    blog_q_sql(q, " WHERE 1 = 1");
    if (!l->include_deleted)
        blog_q_sql(q, " AND p.deleted_at IS NULL");
    if (l->author_id) {
        blog_q_sql(q, " AND p.author_id = ");
        blog_q_int(q, l->author_id);
    }
    if (l->status) {
        blog_q_sql(q, " AND p.status = ");
        blog_q_text(q, l->status);
    }
    if (l->tag) {
        blog_q_sql(q, " AND EXISTS (SELECT 1 FROM post_tags pt JOIN tags t ON t.id = pt.tag_id"
                      " WHERE pt.post_id = p.id AND t.name = ");
        blog_q_text(q, l->tag);
        blog_q_sql(q, ")");
    }
    if (l->has_after) {
        blog_q_sql(q, " AND p.created_at > ");
        blog_q_int(q, l->created_after);
    }
    if (l->has_before) {
        blog_q_sql(q, " AND p.created_at < ");
        blog_q_int(q, l->created_before);
    }
    if (l->q) { /* a substring, case-insensitive; LIKE's wildcards in q are escaped */
        blog_q_sql(q, " AND (lower(p.title) LIKE ");
        blog_q_text(q, l->q);
        blog_q_sql(q, " ESCAPE '\\' OR lower(p.body) LIKE ");
        blog_q_text(q, l->q);
        blog_q_sql(q, " ESCAPE '\\')");
    }
}

/* %q% with % _ \ escaped, lower-cased (ASCII), into a malloc'd string. */
static char *like_pattern(const char *s)
{
    char *o = st_xmalloc(2 * strlen(s) + 3), *p = o;
    *p++ = '%';
    for (; *s; s++) {
        if (*s == '%' || *s == '_' || *s == '\\')
            *p++ = '\\';
        *p++ = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
    }
    *p++ = '%';
    *p = 0;
    return o;
}

/* A posts list's statements: the count of an offset page (unless cached) and the page. */
struct list_sql {
    struct blog_q count, page;
    bool counts;   /* the count must run (offset mode, not cached) */
    int64_t total; /* cached count, or -1 */
    uint64_t gen;  /* write_gen before counting */
    char *key;     /* the count's cache key (malloc), NULL in cursor mode */
    char *pattern; /* the LIKE pattern of q (malloc; bound by the queries) */
};

static void list_sql_build(struct blog_req *r, struct list_sql *ls)
{
    struct blog_list *l = &r->list;
    const char *q_orig = l->q;
    ls->pattern = l->q ? like_pattern(l->q) : NULL;
    l->q = ls->pattern;
    ls->total = -1;
    ls->gen = 0;
    ls->key = NULL;
    ls->counts = false;
    blog_q_init(&ls->count);
    if (!l->cursor_mode) {
        blog_q_sql(&ls->count, "SELECT count(*) FROM posts p");
        where(l, &ls->count);
        ls->key = blog_count_key(&ls->count);
        ls->gen = __atomic_load_n(&r->b->write_gen, __ATOMIC_ACQUIRE);
        ls->counts = !blog_count_get(r->b, ls->key, &ls->total);
    }
    blog_q_init(&ls->page);
    post_select(&ls->page, r);
    blog_list_keys(l, &ls->page);
    post_from(&ls->page, r);
    where(l, &ls->page);
    blog_list_tail(l, &ls->page);
    l->q = q_orig;
}

static void list_sql_free(struct list_sql *ls)
{
    blog_q_free(&ls->count);
    blog_q_free(&ls->page);
    free(ls->key);
    free(ls->pattern);
}

void blog_posts_list_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    struct blog_list *l = &r->list;
    struct list_sql ls;
    list_sql_build(r, &ls);
    int64_t total = ls.total;
    int rc = 0;
    if (ls.counts) {
        struct st_sql_stmt *st = blog_stmt(c, ls.count.sql.data, false, &err);
        if (st) {
            blog_q_bind(&ls.count, st);
            rc = st_sql_step(st, &err);
            total = rc == 1 ? st_sql_column_int64(st, 0) : 0;
            st_sql_reset(st);
            if (rc == 1 && !c->use_replica) /* a replica's count may lag: not cached */
                blog_count_put(r->b, ls.key, ls.gen, total);
        } else {
            rc = ST_SQL_OTHER;
        }
    }
    json_t *rows = json_array(), *keys = json_array();
    if (rc >= 0) {
        struct st_sql_stmt *st = blog_stmt(c, ls.page.sql.data, false, &err);
        if (st) {
            struct blog_row w = { .st = st };
            blog_q_bind(&ls.page, st);
            while ((rc = st_sql_step(st, &err)) == 1) {
                json_array_append_new(rows, post_row(r, &w));
                json_array_append_new(keys, blog_list_row_keys(l, &w, POST_NCOLS));
            }
            st_sql_reset(st);
        } else {
            rc = ST_SQL_OTHER;
        }
    }
    list_sql_free(&ls);
    if (rc < 0) {
        json_decref(rows);
        json_decref(keys);
        blog_db_error(r, rc, &err);
        return;
    }
    blog_list_answer(r, rows, keys, total);
}

/* The pipelined list (blog_read_pool): the count (unless cached) and the page in one batch. */
struct list_batch {
    bool counts; /* query 0 is the count */
    int64_t total;
    uint64_t gen;
    char key[]; /* the count's cache key ("" in cursor mode) */
};

static void list_read(struct blog_req *r, const struct st_sql_batch *bt)
{
    struct list_batch *lb = r->read_state;
    int64_t total = lb->total;
    if (lb->counts) {
        total = st_sql_result_int64(bt, 0, 0, 0);
        blog_count_put(r->b, lb->key, lb->gen, total);
    }
    blog_list_answer_batch(r, bt, lb->counts, total, post_row, POST_NCOLS);
}

static void list_submit(struct blog_req *r)
{
    struct st_sql_pool *pool = blog_read_pool(r, blog_posts_list_op);
    if (!pool)
        return;
    struct list_sql ls;
    list_sql_build(r, &ls);
    size_t kl = ls.key ? strlen(ls.key) : 0;
    struct list_batch *lb = st_arena_alloc(r->x->arena, sizeof *lb + kl + 1);
    lb->counts = ls.counts;
    lb->total = ls.total;
    lb->gen = ls.gen;
    memcpy(lb->key, ls.key ? ls.key : "", kl + 1);
    r->read_state = lb;
    struct st_sql_batch *bt = st_sql_batch_new(pool);
    if (ls.counts)
        blog_q_batch(&ls.count, bt);
    blog_q_batch(&ls.page, bt);
    list_sql_free(&ls);
    blog_submit_batch(r, bt, list_read);
}

/* ---- single posts ---- */

/* A found post the client already holds (If-None-Match) is answered 304 without a body. */
static void get_not_modified(struct blog_req *r)
{
    if (r->status == 200 && (r->if_none_match_version == -1 || r->if_none_match_version == r->etag_version)) {
        json_decref(r->out);
        r->out = NULL;
        r->status = 304;
    }
}

static void get_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    int rc = post_read(r, c, false, false, &err);
    if (rc < 0)
        blog_db_error(r, rc, &err);
    else
        get_not_modified(r);
}

/* The pipelined GET (blog_read_pool). */
static void get_read(struct blog_req *r, const struct st_sql_batch *bt)
{
    struct blog_row w = { .bt = bt };
    post_found(r, st_sql_result_rows(bt, 0) ? &w : NULL);
    get_not_modified(r);
}

static void get_submit(struct blog_req *r)
{
    struct st_sql_pool *pool = blog_read_pool(r, get_op);
    if (!pool)
        return;
    struct blog_q q;
    post_query(&q, r, false);
    struct st_sql_batch *bt = st_sql_batch_new(pool);
    st_sql_batch_query(bt, q.sql.data);
    st_sql_batch_int64(bt, r->id);
    blog_q_free(&q);
    blog_submit_batch(r, bt, get_read);
}

/* The distinct tag names of tags (a JSON array of 0..10 strings), sorted (byte order, the
 * order the tag aggregate reads them in); n returned. */
static int tag_names(json_t *tags, const char *out[10])
{
    int n = 0;
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *s = json_string_value(t);
        bool dup = false;
        for (int k = 0; k < n && !dup; k++)
            dup = !strcmp(out[k], s);
        if (!dup && n < 10)
            out[n++] = s;
    }
    for (int x = 1; x < n; x++) /* insertion sort: at most 10 */
        for (int y = x; y > 0 && strcmp(out[y - 1], out[y]) > 0; y--) {
            const char *tmp = out[y];
            out[y] = out[y - 1];
            out[y - 1] = tmp;
        }
    return n;
}

/* Give post r->id the tags names[0..n): two statements whatever n (new names into tags,
 * then the links), after removing its old tags when replace. */
static int set_tags(struct blog_req *r, struct blog_conn *c, const char *const *names, int n, bool replace,
                    struct st_error *err)
{
    int rc = 0;
    struct st_sql_stmt *st;
    if (replace) {
        st = blog_stmt(c, "DELETE FROM post_tags WHERE post_id = $1", true, err);
        if (!st)
            return ST_SQL_OTHER;
        st_sql_bind_int64(st, 1, r->id);
        rc = st_sql_step(st, err);
        st_sql_reset(st);
    }
    if (rc || n == 0)
        return rc;
    char ins[400], link[400];
    size_t a = (size_t)snprintf(ins, sizeof ins, "INSERT INTO tags (name) VALUES ");
    size_t l = (size_t)snprintf(link, sizeof link,
                                "INSERT INTO post_tags (post_id, tag_id) SELECT CAST($1 AS bigint), id FROM tags"
                                " WHERE name IN (");
    for (int i = 0; i < n; i++) {
        a += (size_t)snprintf(ins + a, sizeof ins - a, "%s($%d)", i ? ", " : "", i + 1);
        l += (size_t)snprintf(link + l, sizeof link - l, "%s$%d", i ? ", " : "", i + 2);
    }
    snprintf(ins + a, sizeof ins - a, " ON CONFLICT (name) DO NOTHING");
    snprintf(link + l, sizeof link - l, ") ON CONFLICT DO NOTHING");
    st = blog_stmt(c, ins, true, err);
    if (!st)
        return ST_SQL_OTHER;
    for (int i = 0; i < n; i++)
        st_sql_bind_text(st, i + 1, names[i], strlen(names[i]));
    rc = st_sql_step(st, err);
    st_sql_reset(st);
    if (rc)
        return rc;
    st = blog_stmt(c, link, true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    for (int i = 0; i < n; i++)
        st_sql_bind_text(st, i + 2, names[i], strlen(names[i]));
    rc = st_sql_step(st, err);
    st_sql_reset(st);
    return rc;
}

/* The answer of a v1 create, from what was written (no read back): a new post has no
 * comments, version 1, and the times it was given. */
static json_t *created_v1(struct blog_req *r, int64_t author, const char *status, const char *const *tags, int n,
                          int64_t now)
{
    json_t *p =
        json_pack("{s:I, s:I, s:O, s:O, s:s}", "id", (json_int_t)r->id, "author_id", (json_int_t)author, "title",
                  json_object_get(r->body, "title"), "body", json_object_get(r->body, "body"), "status", status);
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(tags[i]));
    json_object_set_new(p, "tags", a);
    json_object_set_new(p, "comment_count", json_integer(0));
    json_object_set_new(p, "version", json_integer(1));
    json_object_set_new(p, "created_at", blog_time_json(now));
    json_object_set_new(p, "updated_at", blog_time_json(now));
    json_object_set_new(p, "links",
                        json_pack("{s:o, s:o, s:o}", "self", blog_link(r, "/posts/%lld", (long long)r->id), "author",
                                  blog_link(r, "/users/%lld", (long long)author), "comments",
                                  blog_link(r, "/posts/%lld/comments", (long long)r->id)));
    return p;
}

/*
 * INSERT (an unknown author_id is the foreign key's error, answered 422 like any invalid
 * field), the tags in two statements, and for v1 the answer built from what was written:
 * three statements in one transaction. v2 reads the post back for its embedded author.
 */
static int create_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    json_t *b = r->body;
    int64_t author = json_integer_value(json_object_get(b, "author_id"));
    struct st_sql_stmt *st = blog_stmt(c,
                                       "INSERT INTO posts (author_id, title, body, status, created_at, updated_at)"
                                       " VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                                       true, err);
    if (!st)
        return ST_SQL_OTHER;
    json_t *title = json_object_get(b, "title"), *body = json_object_get(b, "body");
    const char *status = json_string_value(json_object_get(b, "status"));
    status = status ? status : "draft";
    int64_t now = blog_now();
    st_sql_bind_int64(st, 1, author);
    st_sql_bind_text(st, 2, json_string_value(title), json_string_length(title));
    st_sql_bind_text(st, 3, json_string_value(body), json_string_length(body));
    st_sql_bind_text(st, 4, status, strlen(status));
    st_sql_bind_int64(st, 5, now);
    int rc = st_sql_step(st, err);
    if (rc == 1) {
        r->id = st_sql_column_int64(st, 0);
        rc = st_sql_step(st, err);
    }
    st_sql_reset(st);
    if (rc == ST_SQL_FOREIGN_KEY) {
        blog_fail(r, 422, "validation_failed", "1 field is invalid");
        r->out = json_pack("[{s:s, s:s, s:s}]", "field", "author_id", "code", "not_found", "message",
                           "no user with this id");
        return 1;
    }
    const char *tags[10];
    int n = tag_names(json_object_get(b, "tags"), tags);
    rc = rc ? rc : set_tags(r, c, tags, n, false, err);
    if (!rc && r->api == 1)
        r->out = created_v1(r, author, status, tags, n, now);
    else if (!rc)
        rc = post_read(r, c, true, false, err);
    if (!rc) {
        r->status = 201;
        r->etag_id = r->id;
        r->etag_version = 1;
        snprintf(r->location, sizeof r->location, "/api/v%d/posts/%lld", r->api, (long long)r->id);
    }
    return rc;
}

static void create_op(struct blog_req *r, struct blog_conn *c)
{
    blog_create(r, c, create_tx);
}

static void bind_opt_text(struct st_sql_stmt *st, int i, json_t *v)
{
    if (v)
        st_sql_bind_text(st, i, json_string_value(v), json_string_length(v));
    else
        st_sql_bind_null(st, i);
}

/*
 * One guarded UPDATE (WHERE id AND version): of two clients holding the same ETag exactly
 * one matches the row; the other finds 0 rows changed and gets 412. The version itself is
 * bumped by the posts_version trigger.
 */
static int update_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    json_t *b = r->body;
    struct st_sql_stmt *st = blog_stmt(c,
                                       "UPDATE posts SET title = coalesce($1, title), body = coalesce($2, body),"
                                       " status = coalesce($3, status), updated_at = $4"
                                       " WHERE id = $5 AND deleted_at IS NULL AND ($6 < 0 OR version = $6)",
                                       true, err);
    if (!st)
        return ST_SQL_OTHER;
    bind_opt_text(st, 1, json_object_get(b, "title"));
    bind_opt_text(st, 2, json_object_get(b, "body"));
    bind_opt_text(st, 3, json_object_get(b, "status"));
    st_sql_bind_int64(st, 4, blog_now());
    st_sql_bind_int64(st, 5, r->id);
    st_sql_bind_int64(st, 6, r->if_match_version);
    int rc = st_sql_step(st, err);
    int64_t changed = rc == 0 ? st_sql_changes(st) : 0;
    st_sql_reset(st);
    if (rc)
        return rc;
    if (!changed) { /* gone, or changed since the client's ETag */
        rc = post_read(r, c, true, false, err);
        if (rc == 0) {
            json_decref(r->out);
            r->out = NULL;
            r->etag_version = 0;
            blog_fail(r, 412, "precondition_failed", "the post changed since that ETag; GET it again");
            return 1;
        }
        return rc;
    }
    json_t *tags = json_object_get(b, "tags");
    const char *names[10];
    int n = tags ? tag_names(tags, names) : 0;
    rc = tags ? set_tags(r, c, names, n, true, err) : 0;
    return rc ? rc : post_read(r, c, true, false, err);
}

static void update_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, update_tx);
}

/* DELETE (soft) and restore: flip deleted_at; the version trigger ignores both. */
static int soft_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err, bool restore)
{
    struct st_sql_stmt *st =
        blog_stmt(c,
                  restore ? "UPDATE posts SET deleted_at = NULL WHERE id = $1 AND deleted_at IS NOT NULL"
                          : "UPDATE posts SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                  true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    if (!restore)
        st_sql_bind_int64(st, 2, blog_now());
    int rc = st_sql_step(st, err);
    int64_t changed = rc == 0 ? st_sql_changes(st) : 0;
    st_sql_reset(st);
    if (rc)
        return rc;
    if (!changed) {
        blog_fail(r, 404, "not_found", restore ? "no deleted post %lld" : "no post %lld", (long long)r->id);
        return 1;
    }
    if (!restore) {
        r->status = 204;
        return 0;
    }
    return post_read(r, c, true, false, err);
}

static int delete_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    return soft_tx(r, c, err, false);
}

static int restore_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    return soft_tx(r, c, err, true);
}

static void delete_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, delete_tx);
}

static void restore_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, restore_tx);
}

/* SQLite: the three statements of the move; PostgreSQL: archive_post(), the same in PL/pgSQL. */
static int archive_lite(struct blog_req *r, struct blog_conn *c, int64_t *moved, struct st_error *err)
{
    char sql[600];
    snprintf(sql, sizeof sql,
             "INSERT INTO archived_posts (id, author_id, title, body, status, version, tags, created_at, updated_at,"
             " archived_at) SELECT p.id, p.author_id, p.title, p.body, p.status, p.version, coalesce(%s, ''),"
             " p.created_at, p.updated_at, $2 FROM posts p WHERE p.id = $1 AND p.deleted_at IS NULL",
             blog_tags_agg(ST_SQL_SQLITE));
    static const char *const rest[] = {
        "INSERT INTO archived_comments (id, post_id, author_id, body, created_at, updated_at)"
        " SELECT id, post_id, author_id, body, created_at, updated_at FROM comments WHERE post_id = $1",
        "DELETE FROM posts WHERE id = $1",
    };
    for (int i = 0; i < 3; i++) {
        struct st_sql_stmt *st = blog_stmt(c, i ? rest[i - 1] : sql, true, err);
        if (!st)
            return ST_SQL_OTHER;
        st_sql_bind_int64(st, 1, r->id);
        if (i == 0)
            st_sql_bind_int64(st, 2, blog_now());
        int rc = st_sql_step(st, err);
        int64_t changed = rc == 0 ? st_sql_changes(st) : 0;
        st_sql_reset(st);
        if (rc)
            return rc;
        if (i == 0 && !changed)
            return 1;
        if (i == 1)
            *moved = changed;
    }
    return 0;
}

static int archive_pg(struct blog_req *r, struct blog_conn *c, int64_t *moved, struct st_error *err)
{
    struct st_sql_stmt *st = blog_stmt(c, "SELECT archive_post($1, $2)", true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    st_sql_bind_int64(st, 2, blog_now());
    int rc = st_sql_step(st, err);
    *moved = rc == 1 ? st_sql_column_int64(st, 0) : 0;
    st_sql_reset(st);
    if (rc < 0)
        return rc;
    return *moved < 0 ? 1 : 0;
}

static int archive_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    int64_t moved = 0;
    int rc = r->b->backend == ST_SQL_POSTGRES ? archive_pg(r, c, &moved, err) : archive_lite(r, c, &moved, err);
    if (rc == 1) {
        blog_fail(r, 404, "not_found", "no post %lld", (long long)r->id);
        return 1;
    }
    if (!rc)
        r->out = json_pack("{s:I, s:I}", "archived_post_id", (json_int_t)r->id, "archived_comments", (json_int_t)moved);
    return rc;
}

static void archive_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, archive_tx);
}

/* ---- handlers (loop) ---- */

static void posts_list(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (blog_list_parse(x, r, BLOG_POSTS, &r->list))
        return;
    list_submit(r);
}

static void posts_create(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_idem_parse(x, r) || !blog_body(x, &r->body, &blog_post_create, ST_SCHEMA_CHECK_REQUIRED))
        return;
    r->op = create_op;
    r->writes = true;
    blog_submit(r);
}

static void posts_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->id))
        return;
    static const char *const offered[] = { "application/json" };
    if (st_http_negotiate(st_http_req_header(x, ST_HTTP_H_ACCEPT), offered, 1) < 0) {
        blog_problem(x, 406, "not_acceptable", "a post is available as application/json", NULL);
        return;
    }
    blog_preconditions(x, r, r->id);
    get_submit(r);
}

static void posts_write(struct st_http_ex *x, void *data, bool put)
{
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->id))
        return;
    blog_preconditions(x, r, r->id);
    if (!r->has_if_match) {
        blog_problem(x, 428, "precondition_required", "send If-Match with the post's ETag (GET it first)", NULL);
        return;
    }
    if (!blog_body(x, &r->body, put ? &blog_post_put : &blog_post_patch, put ? ST_SCHEMA_CHECK_REQUIRED : 0))
        return;
    if (r->if_match_version == 0) { /* no ETag of this post can match: nothing to look up */
        json_decref(r->body);
        r->body = NULL;
        blog_problem(x, 412, "precondition_failed", "If-Match names no current ETag of this post", NULL);
        return;
    }
    r->put = put;
    r->op = update_op;
    r->writes = true;
    blog_submit(r);
}

static void posts_put(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    posts_write(x, data, true);
}

static void posts_patch(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    posts_write(x, data, false);
}

static void posts_delete(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    blog_submit_id(x, data, delete_op, true);
}

static void posts_restore(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    blog_submit_id(x, data, restore_op, true);
}

static void posts_archive(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    blog_submit_id(x, data, archive_op, true);
}

int blog_posts_routes(struct st_http_app *app, struct blog_ver *v)
{
    static const struct blog_route routes[] = {
        { "GET", "/posts", posts_list },
        { "POST", "/posts", posts_create },
        { "GET", "/posts/:id", posts_get },
        { "PUT", "/posts/:id", posts_put },
        { "PATCH", "/posts/:id", posts_patch },
        { "DELETE", "/posts/:id", posts_delete },
        { "POST", "/posts/:id/restore", posts_restore },
        { "POST", "/posts/:id/archive", posts_archive },
    };
    return blog_route_all(app, v, routes, sizeof routes / sizeof routes[0]);
}
