/*
 * blog_users.c - /api/v{1,2}/users: list, create, get, update, delete, and a user's posts.
 */
#include <stdio.h>
#include <string.h>

#include "examples/blog.h"

static const char USER_COLS[] = "SELECT u.id, u.name, u.email, u.created_at, u.updated_at";

static json_t *user_row(struct blog_req *r, struct st_sql_stmt *st)
{
    int64_t id = st_sql_column_int64(st, 0);
    size_t nl = 0, el = 0;
    const char *name = st_sql_column_text(st, 1, &nl);
    const char *email = st_sql_column_text(st, 2, &el);
    return json_pack("{s:I, s:s%, s:s%, s:o, s:o, s:{s:o, s:o}}", "id", (json_int_t)id, "name", name, nl, "email",
                     email, el, "created_at", blog_time_json(st_sql_column_int64(st, 3)), "updated_at",
                     blog_time_json(st_sql_column_int64(st, 4)), "links", "self",
                     blog_link(r, "/users/%lld", (long long)id), "posts",
                     blog_link(r, "/users/%lld/posts", (long long)id));
}

/* r->out = the user r->id; 1 (404 set) when there is none, or < 0. */
static int user_read(struct blog_req *r, struct blog_conn *c, bool write, struct st_error *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "%s FROM users u WHERE u.id = $1", USER_COLS);
    struct st_sql_stmt *st = blog_stmt(c, sql, write, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    int rc = st_sql_step(st, err);
    if (rc == 1) {
        json_decref(r->out);
        r->out = user_row(r, st);
        rc = 0;
    } else if (rc == 0) {
        blog_fail(r, 404, "not_found", "no user %lld", (long long)r->id);
        rc = 1;
    }
    st_sql_reset(st);
    return rc;
}

/* ---- operations (database threads) ---- */

static void list_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    struct blog_list *l = &r->list;
    int64_t total = -1;
    int rc = 0;
    uint64_t gen = __atomic_load_n(&r->b->write_gen, __ATOMIC_ACQUIRE);
    if (!l->cursor_mode && !blog_count_get(r->b, "users", &total)) {
        struct st_sql_stmt *st = blog_stmt(c, "SELECT count(*) FROM users", false, &err);
        rc = st ? st_sql_step(st, &err) : ST_SQL_OTHER;
        if (rc == 1) {
            total = st_sql_column_int64(st, 0);
            if (!c->use_replica)
                blog_count_put(r->b, "users", gen, total);
        }
        if (st)
            st_sql_reset(st);
    }
    struct blog_q q;
    blog_q_init(&q);
    blog_q_sql(&q, USER_COLS);
    blog_list_keys(l, &q);
    blog_q_sql(&q, " FROM users u WHERE 1 = 1");
    blog_list_tail(l, &q);
    struct st_sql_stmt *st = rc < 0 ? NULL : blog_stmt(c, q.sql.data, false, &err);
    json_t *rows = json_array(), *keys = json_array();
    if (st) {
        blog_q_bind(&q, st);
        while ((rc = st_sql_step(st, &err)) == 1) {
            json_array_append_new(rows, user_row(r, st));
            json_array_append_new(keys, blog_list_row_keys(l, &(struct blog_row){ .st = st }, 5));
        }
        st_sql_reset(st);
    } else if (rc >= 0) {
        rc = ST_SQL_OTHER;
    }
    blog_q_free(&q);
    if (rc < 0) {
        json_decref(rows);
        json_decref(keys);
        blog_db_error(r, rc, &err);
        return;
    }
    blog_list_answer(r, rows, keys, total);
}

static void get_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    int rc = user_read(r, c, false, &err);
    if (rc < 0)
        blog_db_error(r, rc, &err);
}

static int create_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    struct st_sql_stmt *st = blog_stmt(
        c, "INSERT INTO users (name, email, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id", true, err);
    if (!st)
        return ST_SQL_OTHER;
    const char *name = json_string_value(json_object_get(r->body, "name"));
    const char *email = json_string_value(json_object_get(r->body, "email"));
    st_sql_bind_text(st, 1, name, strlen(name));
    st_sql_bind_text(st, 2, email, strlen(email));
    st_sql_bind_int64(st, 3, blog_now());
    int rc = st_sql_step(st, err);
    if (rc == 1) {
        r->id = st_sql_column_int64(st, 0);
        rc = st_sql_step(st, err); /* to the end: the statement completes */
    }
    st_sql_reset(st);
    if (rc == ST_SQL_UNIQUE) {
        blog_fail(r, 409, "email_taken", "a user with this email exists");
        return 1;
    }
    if (rc)
        return rc;
    rc = user_read(r, c, true, err);
    if (!rc) {
        r->status = 201;
        snprintf(r->location, sizeof r->location, "/api/v%d/users/%lld", r->api, (long long)r->id);
    }
    return rc;
}

static void create_op(struct blog_req *r, struct blog_conn *c)
{
    blog_create(r, c, create_tx);
}

static int update_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    struct st_sql_stmt *st = blog_stmt(c,
                                       "UPDATE users SET name = coalesce($1, name), email = coalesce($2, email),"
                                       " updated_at = $3 WHERE id = $4",
                                       true, err);
    if (!st)
        return ST_SQL_OTHER;
    json_t *name = json_object_get(r->body, "name"), *email = json_object_get(r->body, "email");
    if (name)
        st_sql_bind_text(st, 1, json_string_value(name), json_string_length(name));
    else
        st_sql_bind_null(st, 1);
    if (email)
        st_sql_bind_text(st, 2, json_string_value(email), json_string_length(email));
    else
        st_sql_bind_null(st, 2);
    st_sql_bind_int64(st, 3, blog_now());
    st_sql_bind_int64(st, 4, r->id);
    int rc = st_sql_step(st, err);
    int64_t changed = rc == 0 ? st_sql_changes(st) : 0;
    st_sql_reset(st);
    if (rc == ST_SQL_UNIQUE) {
        blog_fail(r, 409, "email_taken", "a user with this email exists");
        return 1;
    }
    if (rc)
        return rc;
    if (changed == 0) {
        blog_fail(r, 404, "not_found", "no user %lld", (long long)r->id);
        return 1;
    }
    return user_read(r, c, true, err);
}

static void update_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, update_tx);
}

/* Posts keep their author (ON DELETE RESTRICT): 409 has_posts while any exists, also a
 * soft-deleted one, which can still be restored. Comments go with their author. */
static int delete_tx(struct blog_req *r, struct blog_conn *c, struct st_error *err)
{
    struct st_sql_stmt *st = blog_stmt(c, "SELECT count(*) FROM posts WHERE author_id = $1", true, err);
    if (!st)
        return ST_SQL_OTHER;
    st_sql_bind_int64(st, 1, r->id);
    int rc = st_sql_step(st, err);
    int64_t posts = rc == 1 ? st_sql_column_int64(st, 0) : 0;
    st_sql_reset(st);
    if (rc < 0)
        return rc;
    st = blog_stmt(c, "DELETE FROM users WHERE id = $1", true, err);
    if (!st)
        return ST_SQL_OTHER;
    if (posts > 0) {
        st_sql_reset(st);
        blog_fail(r, 409, "has_posts", "the user has %lld posts; delete or archive them first", (long long)posts);
        /* still 404 for a user that does not exist: posts cannot reference one */
        return 1;
    }
    st_sql_bind_int64(st, 1, r->id);
    rc = st_sql_step(st, err);
    int64_t changed = rc == 0 ? st_sql_changes(st) : 0;
    st_sql_reset(st);
    if (rc == ST_SQL_FOREIGN_KEY) { /* a post appeared meanwhile */
        blog_fail(r, 409, "has_posts", "the user has posts");
        return 1;
    }
    if (rc)
        return rc;
    if (!changed) {
        blog_fail(r, 404, "not_found", "no user %lld", (long long)r->id);
        return 1;
    }
    r->status = 204;
    return 0;
}

static void delete_op(struct blog_req *r, struct blog_conn *c)
{
    blog_tx(r, c, delete_tx);
}

/* GET /users/:id/posts: 404 for no such user, else the posts list filtered by author. */
static void posts_op(struct blog_req *r, struct blog_conn *c)
{
    struct st_error err = { 0 };
    int rc = user_read(r, c, false, &err);
    json_decref(r->out);
    r->out = NULL;
    if (rc < 0)
        blog_db_error(r, rc, &err);
    if (rc)
        return;
    r->list.author_id = r->id;
    blog_posts_list_op(r, c);
}

/* ---- handlers (loop) ---- */

static void users_list(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (blog_list_parse(x, r, BLOG_USERS, &r->list))
        return;
    r->op = list_op;
    blog_submit(r);
}

static void users_create(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_idem_parse(x, r) || !blog_body(x, &r->body, &blog_user_create, ST_SCHEMA_CHECK_REQUIRED))
        return;
    r->op = create_op;
    r->writes = true;
    blog_submit(r);
}

static void users_get(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    blog_submit_id(x, data, get_op, false);
}

static void users_update(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->id) || !blog_body(x, &r->body, &blog_user_update, 0))
        return;
    r->op = update_op;
    r->writes = true;
    blog_submit(r);
}

static void users_delete(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    blog_submit_id(x, data, delete_op, true);
}

static void users_posts(struct st_http_ex *x, const struct st_http_route_match *m, void *data)
{
    (void)m;
    struct blog_req *r = blog_req_new(x, data);
    if (!blog_path_id(x, "id", &r->id) || blog_list_parse(x, r, BLOG_POSTS, &r->list))
        return;
    r->op = posts_op;
    blog_submit(r);
}

int blog_users_routes(struct st_http_app *app, struct blog_ver *v)
{
    static const struct blog_route routes[] = {
        { "GET", "/users", users_list },          { "POST", "/users", users_create },
        { "GET", "/users/:id", users_get },       { "PATCH", "/users/:id", users_update },
        { "DELETE", "/users/:id", users_delete }, { "GET", "/users/:id/posts", users_posts },
    };
    return blog_route_all(app, v, routes, sizeof routes / sizeof routes[0]);
}
