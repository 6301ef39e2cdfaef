/*
 * blog_comments.c - /api/v{1,2}/posts/:id/comments and /api/v{1,2}/comments/:id. A
 * comment of a soft-deleted post is not reachable (404) until the post is restored.
 */
#include <stdio.h>
#include <string.h>

#include "examples/blog.h"

#define COMMENT_NCOLS 7

/* The comment columns (the author's name only for v2, which embeds it), then after the
 * caller's extra columns comment_from. */
static void comment_select(struct blog_q *q, const struct blog_req *r)
{
    blog_q_sql(q, r->api == 2 ? "SELECT c.id, c.post_id, c.author_id, c.body, c.created_at, c.updated_at, u.name"
                              : "SELECT c.id, c.post_id, c.author_id, c.body, c.created_at, c.updated_at, NULL");
}

/* author_id is a NOT NULL foreign key: v1 goes without the join, which never drops a row. */
static void comment_from(struct blog_q *q, const struct blog_req *r)
{
    if (r->api == 2)
        blog_q_sql(q, " FROM comments c JOIN users u ON u.id = c.author_id"
                      " JOIN posts p ON p.id = c.post_id AND p.deleted_at IS NULL");
    else
        blog_q_sql(q, " FROM comments c JOIN posts p ON p.id = c.post_id AND p.deleted_at IS NULL");
}

static json_t *comment_row(struct blog_req *r, const struct blog_row *w)
{
    int64_t id = blog_col_int64(w, 0), post = blog_col_int64(w, 1), author = blog_col_int64(w, 2);
    size_t bl = 0, an = 0;
    const char *body = blog_col_text(w, 3, &bl);
    const char *name = blog_col_text(w, 6, &an);
    json_t *o = json_pack("{s:I, s:I}", "id", (json_int_t)id, "post_id", (json_int_t)post);
    if (r->api == 2)
        json_object_set_new(o, "author", json_pack("{s:I, s:s%}", "id", (json_int_t)author, "name", name, an));
    else
        json_object_set_new(o, "author_id", json_integer(author));
    json_object_set_new(o, "body", json_stringn(body, bl));
    json_object_set_new(o, "created_at", blog_time_json(blog_col_int64(w, 4)));
    json_object_set_new(o, "updated_at", blog_time_json(blog_col_int64(w, 5)));
    json_object_set_new(o, "links",
                        json_pack("{s:o, s:o, s:o}", "self", blog_link(r, "/comments/%lld", (long long)id), "post",
                                  blog_link(r, "/posts/%lld", (long long)post), "author",
                                  blog_link(r, "/users/%lld", (long long)author)));
    return o;
}

static int comment_read(struct blog_req *r, struct blog_conn *c, bool write, struct st_error *err)
{
    struct blog_q q;
    blog_q_init(&q);
    comment_select(&q, r);
    comment_from(&q, r);
    blog_q_sql(&q, " WHERE c.id = $1");
    struct st_sql_stmt *st = blog_stmt(c, q.sql.data, write, err);
    blog_q_free(&q);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    int rc = st_sql_step(st, err);
    if (rc == 1) {
        json_decref(r->out);
        r->out = comment_row(r, &(struct blog_row){ .st = st });
        rc = 0;
    } else if (rc == 0) {
        blog_fail(r, 404, "not_found", "no comment %lld", (long long)r->id);
        rc = 1;
    }
    st_sql_reset(st);
    return rc;
}

#define POST_EXISTS_SQL "SELECT 1 FROM posts WHERE id = $1 AND deleted_at IS NULL"
#define COMMENT_COUNT_SQL "SELECT count(*) FROM comments WHERE post_id = $1"

/* The post exists and is not deleted: 0, 1 with 404 set, or < 0. */
static int post_exists(struct blog_req *r, struct blog_conn *c, int64_t post, bool write, struct st_error *err)
{
    struct st_sql_stmt *st = blog_stmt(c, POST_EXISTS_SQL, write, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, post);
    int rc = st_sql_step(st, err);
    st_sql_reset(st);
    if (rc == 0) {
        blog_fail(r, 404, "not_found", "no post %lld", (long long)post);
        return 1;
    }
    return rc < 0 ? rc : 0;
}

/* The total of an offset page: from the cache (true), or the caller counts and puts it
 * under key, which gets the count query's cache key. */
static bool cached_total(struct blog_req *r, char key[64], int64_t *total)
{
    snprintf(key, 64, "comments of %lld", (long long)r->list.parent_id);
    return r->list.cursor_mode || blog_count_get(r->b, key, total);
}

/* The page of the post's comments into q (blog_list_tail: limit + 1 rows, keys last). */
static void page_query(struct blog_req *r, struct blog_q *q)
{
    blog_q_init(q);
    comment_select(q, r);
    blog_list_keys(&r->list, q);
    comment_from(q, r);
    blog_q_sql(q, " WHERE c.post_id = ");
    blog_q_int(q, r->list.parent_id);
    blog_list_tail(&r->list, q);
}

static void list_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    struct blog_list *l = &r->list;
    int rc = post_exists(r, c, l->parent_id, false, &err);
    int64_t total = -1;
    char key[64];
    if (!rc && !cached_total(r, key, &total)) {
        uint64_t gen = __atomic_load_n(&r->b->write_gen, __ATOMIC_ACQUIRE);
        struct st_sql_stmt *st = blog_stmt(c, COMMENT_COUNT_SQL, false, &err);
        if (st) {
            st_sql_bind_int64(st, 1, l->parent_id);
            rc = st_sql_step(st, &err);
            total = rc == 1 ? st_sql_column_int64(st, 0) : 0;
            if (rc == 1 && !c->use_replica)
                blog_count_put(r->b, key, gen, total);
            rc = rc == 1 ? 0 : rc;
            st_sql_reset(st);
        } else {
            rc = ST_SQL_OTHER;
        }
    }
    if (rc > 0)
        return;
    json_t *rows = json_array(), *keys = json_array();
    if (!rc) {
        struct blog_q q;
        page_query(r, &q);
        struct st_sql_stmt *st = blog_stmt(c, q.sql.data, false, &err);
        if (st) {
            struct blog_row w = { .st = st };
            blog_q_bind(&q, st);
            while ((rc = st_sql_step(st, &err)) == 1) {
                json_array_append_new(rows, comment_row(r, &w));
                json_array_append_new(keys, blog_list_row_keys(l, &w, COMMENT_NCOLS));
            }
            st_sql_reset(st);
        } else {
            rc = ST_SQL_OTHER;
        }
        blog_q_free(&q);
    }
    if (rc < 0) {
        json_decref(rows);
        json_decref(keys);
        blog_db_error(r, rc, &err);
        return;
    }
    blog_list_answer(r, rows, keys, total);
}

/*
 * The pipelined list (blog_read_pool): the post's existence, its count (unless cached) and
 * the page in one batch, so one round trip and one snapshot. The batch's queries: 0 the
 * existence, then the count when counted, then the page.
 */
struct list_batch {
    int64_t total; /* cached, or -1: query 1 counts */
    uint64_t gen;  /* write_gen before counting */
    char key[64];
};

static void list_read(struct blog_req *r, const struct st_sql_batch *bt)
{
    struct list_batch *lb = r->read_state;
    if (!st_sql_result_rows(bt, 0)) {
        blog_fail(r, 404, "not_found", "no post %lld", (long long)r->list.parent_id);
        return;
    }
    int page = 1;
    int64_t total = lb->total;
    if (!r->list.cursor_mode && total < 0) {
        total = st_sql_result_int64(bt, page++, 0, 0);
        blog_count_put(r->b, lb->key, lb->gen, total);
    }
    blog_list_answer_batch(r, bt, page, total, comment_row, COMMENT_NCOLS);
}

static void list_submit(struct blog_req *r)
{
    struct st_sql_pool *pool = blog_read_pool(r, list_op);
    if (!pool)
        return;
    struct list_batch *lb = st_arena_alloc(r->x->arena, sizeof *lb);
    lb->total = -1;
    lb->gen = __atomic_load_n(&r->b->write_gen, __ATOMIC_ACQUIRE);
    r->read_state = lb;
    struct st_sql_batch *bt = st_sql_batch_new(pool);
    st_sql_batch_query(bt, POST_EXISTS_SQL);
    st_sql_batch_int64(bt, r->list.parent_id);
    if (!cached_total(r, lb->key, &lb->total)) {
        st_sql_batch_query(bt, COMMENT_COUNT_SQL);
        st_sql_batch_int64(bt, r->list.parent_id);
    }
    struct blog_q q;
    page_query(r, &q);
    blog_q_batch(&q, bt);
    blog_q_free(&q);
    blog_submit_batch(r, bt, list_read);
}

static int create_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    int64_t post = r->list.parent_id;
    int64_t author = json_integer_value(json_object_get(r->body, "author_id"));
    int rc = post_exists(r, c, post, true, err);
    if (rc)
        return rc;
    struct st_sql_stmt *st = blog_stmt(c, "SELECT 1 FROM users WHERE id = $1", true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, author);
    rc = st_sql_step(st, err);
    st_sql_reset(st);
    if (rc == 0) {
        blog_fail(r, 422, "validation_failed", "1 field is invalid");
        r->out = json_pack("[{s:s, s:s, s:s}]", "field", "author_id", "code", "not_found", "message",
                           "no user with this id");
        return 1;
    }
    if (rc < 0)
        return rc;
    st = blog_stmt(c,
                   "INSERT INTO comments (post_id, author_id, body, created_at, updated_at)"
                   " VALUES ($1, $2, $3, $4, $4) RETURNING id",
                   true, err);
    if (!st)
        return ST_SQL_OTHER;
    json_t *body = json_object_get(r->body, "body");
    st_sql_bind_int64(st, 1, post);
    st_sql_bind_int64(st, 2, author);
    st_sql_bind_text(st, 3, json_string_value(body), json_string_length(body));
    st_sql_bind_int64(st, 4, blog_now());
    rc = st_sql_step(st, err);
    if (rc == 1) {
        r->id = st_sql_column_int64(st, 0);
        rc = st_sql_step(st, err);
    }
    st_sql_reset(st);
    rc = rc ? rc : comment_read(r, c, true, err);
    if (!rc) {
        r->status = 201;
        snprintf(r->location, sizeof r->location, "/api/v%d/comments/%lld", r->api, (long long)r->id);
    }
    return rc;
}

static void create_op(struct blog_req *r, struct blog_conn *c)
{
    blog_create(r, c, create_tx);
}

static void get_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    int rc = comment_read(r, c, false, &err);
    if (rc < 0)
        blog_db_error(r, rc, &err);
}

/* Update or delete a comment whose post is not deleted. */
static int write_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err, bool del)
{
    struct st_sql_stmt *st = blog_stmt(c,
                                       del ? "DELETE FROM comments WHERE id = $1"
                                             " AND post_id IN (SELECT id FROM posts WHERE deleted_at IS NULL)"
                                           : "UPDATE comments SET body = $2, updated_at = $3 WHERE id = $1"
                                             " AND post_id IN (SELECT id FROM posts WHERE deleted_at IS NULL)",
                                       true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    if (!del) {
        json_t *body = json_object_get(r->body, "body");
        st_sql_bind_text(st, 2, json_string_value(body), json_string_length(body));
        st_sql_bind_int64(st, 3, blog_now());
    }
    int rc = st_sql_step(st, err);
    int64_t changed = rc == 0 ? st_sql_changes(st) : 0;
    st_sql_reset(st);
    if (rc)
        return rc;
    if (!changed) {
        blog_fail(r, 404, "not_found", "no comment %lld", (long long)r->id);
        return 1;
    }
    if (del) {
        r->status = 204;
        return 0;
    }
    return comment_read(r, c, true, err);
}

static int update_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    return write_tx(r, c, err, false);
}

static int delete_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    return write_tx(r, c, err, true);
}

static void update_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, update_tx);
}

static void delete_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, delete_tx);
}

/* ---- handlers (loop) ---- */

static void comments_list(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->list.parent_id) || blog_list_parse(x, r, BLOG_COMMENTS, &r->list))
        return;
    list_submit(r);
}

static void comments_create(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->list.parent_id) || !blog_idem_parse(x, r) ||
        !blog_body(x, &r->body, &blog_comment_create, ST_SCHEMA_CHECK_REQUIRED))
        return;
    r->op = create_op;
    r->writes = true;
    blog_submit(r);
}

static void comments_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    blog_submit_id(x, data, get_op, false);
}

static void comments_update(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->id) || !blog_body(x, &r->body, &blog_comment_update, ST_SCHEMA_CHECK_REQUIRED))
        return;
    r->op = update_op;
    r->writes = true;
    blog_submit(r);
}

static void comments_delete(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    blog_submit_id(x, data, delete_op, true);
}

int blog_comments_routes(struct st_http_app *app, struct blog_ver *v)
{
    static const struct blog_route routes[] = {
        { "GET", "/posts/:id/comments", comments_list }, { "POST", "/posts/:id/comments", comments_create },
        { "GET", "/comments/:id", comments_get },        { "PATCH", "/comments/:id", comments_update },
        { "DELETE", "/comments/:id", comments_delete },
    };
    return blog_route_all(app, v, routes, sizeof routes / sizeof routes[0]);
}
