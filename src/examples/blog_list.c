/*
 * blog_list.c - lists of the blog API (Q37, Q74, Q75): limit/offset and keyset (cursor)
 * pagination, whitelisted sorting, filters, links, CSV (Q70).
 *
 * Sorting is a whitelist: a field name maps to a fixed SQL expression, never to text from
 * the request. Every order ends with the id (ties broken in the same direction), so the
 * order is total and a keyset cursor names exactly one position.
 *
 * A cursor is the sort keys of the row it starts after (or before, going back), the
 * direction and the sort spec, as JSON, base64url-encoded, followed by a SipHash tag under
 * the app's key: the server can trust what it decodes, and a made-up cursor is a 400.
 * Keyset pages never repeat or skip a row when rows are inserted between requests, unlike
 * offsets; they cost an index range scan whatever the depth.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/time.h"
#include "examples/blog.h"
#include "http/csv.h"
#include "http/negotiate.h"
#include "http/url.h"

/* ---- the query builder --------------------------------------------------------------- */

void blog_q_init(struct blog_q *q)
{
    st_buf_init(&q->sql, ST_BUF_UNLIMITED);
    q->n = 0;
}

void blog_q_free(struct blog_q *q)
{
    st_buf_release(&q->sql);
}

void blog_q_sql(struct blog_q *q, const char *s)
{
    (void)st_buf_append_c(&q->sql, s);
}

static void q_param(struct blog_q *q, struct blog_bval v)
{
    if (q->n >= BLOG_Q_PARAMS) /* the builders stay far below: a bug, not input */
        abort();
    q->v[q->n++] = v;
    (void)st_buf_printf(&q->sql, "$%d", q->n);
}

void blog_q_int(struct blog_q *q, int64_t v)
{
    q_param(q, (struct blog_bval){ ST_SQL_INT, v, NULL });
}

void blog_q_text(struct blog_q *q, const char *s)
{
    q_param(q, (struct blog_bval){ ST_SQL_TEXT, 0, s });
}

void blog_q_bind(const struct blog_q *q, struct st_sql_stmt *st)
{
    for (int i = 0; i < q->n; i++) {
        if (q->v[i].type == ST_SQL_INT)
            st_sql_bind_int64(st, i + 1, q->v[i].i);
        else
            st_sql_bind_text(st, i + 1, q->v[i].s, strlen(q->v[i].s));
    }
}

int blog_q_batch(const struct blog_q *q, struct st_sql_batch *bt)
{
    int k = st_sql_batch_query(bt, q->sql.data);
    for (int i = 0; i < q->n; i++) {
        if (q->v[i].type == ST_SQL_INT)
            st_sql_batch_int64(bt, q->v[i].i);
        else
            st_sql_batch_text(bt, q->v[i].s, strlen(q->v[i].s));
    }
    return k;
}

/* ---- sort fields --------------------------------------------------------------------- */

struct sort_field {
    const char *name;
    const char *sql;
    bool text; /* the key is text (else an integer) */
};

/* Index 0 is always the id: the tie-breaker. */
static const struct sort_field user_sorts[] = {
    { "id", "u.id", false },
    { "name", "u.name", true },
    { "created_at", "u.created_at", false },
    { NULL, NULL, false },
};
static const struct sort_field post_sorts[] = {
    { "id", "p.id", false },
    { "created_at", "p.created_at", false },
    { "updated_at", "p.updated_at", false },
    { "title", "p.title", true },
    { "comment_count", "(SELECT count(*) FROM comments c WHERE c.post_id = p.id)", false },
    { NULL, NULL, false },
};
static const struct sort_field comment_sorts[] = {
    { "id", "c.id", false },
    { "created_at", "c.created_at", false },
    { NULL, NULL, false },
};

static const struct sort_field *sorts_of(enum blog_kind kind)
{
    return kind == BLOG_USERS ? user_sorts : kind == BLOG_POSTS ? post_sorts : comment_sorts;
}

const char *blog_sort_sql(enum blog_kind kind, int f)
{
    return sorts_of(kind)[f].sql;
}

/* ---- base64url ----------------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64_encode(struct st_buf *o, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        (void)st_buf_append_byte(o, b64[v >> 18 & 63]);
        (void)st_buf_append_byte(o, b64[v >> 12 & 63]);
        if (i + 1 < n)
            (void)st_buf_append_byte(o, b64[v >> 6 & 63]);
        if (i + 2 < n)
            (void)st_buf_append_byte(o, b64[v & 63]);
    }
}

static int b64_val(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Decode n characters; -1 on a bad character or length. */
static int b64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        size_t k = n - i < 4 ? n - i : 4;
        for (size_t j = 0; j < 4; j++) {
            int d = j < k ? b64_val(s[i + j]) : 0;
            if (d < 0)
                return -1;
            v = v << 6 | (uint32_t)d;
        }
        out[o++] = (uint8_t)(v >> 16);
        if (k > 2)
            out[o++] = (uint8_t)(v >> 8);
        if (k > 3)
            out[o++] = (uint8_t)v;
    }
    *out_len = o;
    return 0;
}

/* ---- cursors ------------------------------------------------------------------------- */

#define CURSOR_MAX 2048 /* bytes of a cursor parameter */

static char *cursor_encode(const struct blog *b, const char *sort, bool prev, json_t *keys)
{
    json_t *a = json_pack("[s,s]", prev ? "p" : "n", sort);
    json_array_extend(a, keys);
    char *js = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!js)
        return NULL;
    size_t n = strlen(js);
    uint64_t tag = st_siphash13(js, n, b->cursor_key);
    struct st_buf o;
    st_buf_init(&o, ST_BUF_UNLIMITED);
    b64_encode(&o, (const uint8_t *)js, n);
    (void)st_buf_append_byte(&o, '.');
    uint8_t t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(tag >> (8 * i));
    b64_encode(&o, t, 8);
    free(js);
    return st_buf_detach(&o, NULL);
}

/* Check and open a cursor: 0 with l->cursor_prev and l->cursor_vals set, or -1. */
static int cursor_decode(const struct blog *b, const char *c, struct blog_list *l)
{
    size_t n = strlen(c);
    const char *dot = strchr(c, '.');
    if (n > CURSOR_MAX || !dot)
        return -1;
    uint8_t js[CURSOR_MAX], t[16];
    size_t jn = 0, tn = 0;
    if (b64_decode(c, (size_t)(dot - c), js, &jn) || b64_decode(dot + 1, strlen(dot + 1), t, &tn) || tn != 8)
        return -1;
    uint64_t tag = 0;
    for (int i = 0; i < 8; i++)
        tag |= (uint64_t)t[i] << (8 * i);
    if (tag != st_siphash13(js, jn, b->cursor_key))
        return -1;
    json_t *a = json_loadb((const char *)js, jn, 0, NULL);
    const char *dir = json_string_value(json_array_get(a, 0));
    const char *sort = json_string_value(json_array_get(a, 1));
    /* a cursor belongs to its order: another sort would make its keys meaningless */
    if (!dir || !sort || strcmp(sort, l->sort_raw) != 0 || json_array_size(a) != (size_t)l->nsort + 2) {
        json_decref(a);
        return -1;
    }
    l->cursor_prev = dir[0] == 'p';
    l->cursor_vals = json_array();
    for (int i = 0; i < l->nsort; i++) {
        json_t *v = json_array_get(a, (size_t)i + 2);
        bool text = sorts_of(l->kind)[l->sort[i].field].text;
        if (text ? !json_is_string(v) : !json_is_integer(v)) {
            json_decref(a);
            return -1;
        }
        json_array_append(l->cursor_vals, v);
    }
    json_decref(a);
    return 0;
}

static bool parse_sort(const char *spec, struct blog_list *l);

char *blog_cursor_make(const struct blog *b, const char *sort, bool prev, json_t *keys)
{
    return cursor_encode(b, sort, prev, keys);
}

int blog_cursor_open(const struct blog *b, const char *cursor, enum blog_kind kind, const char *sort, bool *prev,
                     json_t **keys)
{
    struct blog_list l = { .kind = kind, .sort_raw = sort };
    if (!parse_sort(sort, &l) || cursor_decode(b, cursor, &l))
        return -1;
    *prev = l.cursor_prev;
    *keys = l.cursor_vals;
    return 0;
}

/* ---- parsing ------------------------------------------------------------------------- */

static void bad(json_t *errors, const char *field, const char *code, const char *msg)
{
    json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "field", field, "code", code, "message", msg));
}

static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    if (!*s || strlen(s) > 18)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    int64_t v = strtoll(s, NULL, 10);
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* "-created_at,id" -> l->sort; the id tie-breaker added when missing. */
static bool parse_sort(const char *spec, struct blog_list *l)
{
    const struct sort_field *f = sorts_of(l->kind);
    l->nsort = 0;
    bool has_id = false;
    const char *p = spec;
    while (*p) {
        bool desc = *p == '-';
        if (*p == '-' || *p == '+')
            p++;
        size_t n = strcspn(p, ",");
        int k = -1;
        for (int i = 0; f[i].name; i++)
            if (strlen(f[i].name) == n && !strncmp(f[i].name, p, n))
                k = i;
        if (k < 0 || l->nsort >= BLOG_SORT_MAX)
            return false;
        for (int i = 0; i < l->nsort; i++)
            if (l->sort[i].field == k)
                return false;
        l->sort[l->nsort++] = (struct blog_sort){ k, desc };
        has_id |= k == 0;
        p += n;
        if (*p == ',' && *++p == 0)
            return false;
    }
    if (l->nsort == 0)
        return false;
    if (!has_id) { /* ties: by id, in the direction of the last key */
        bool desc = l->sort[l->nsort - 1].desc;
        l->sort[l->nsort++] = (struct blog_sort){ 0, desc };
    }
    return true;
}

/* The value of a query parameter, form-decoded into the arena; NULL when absent. */
static const char *param(struct st_http_ex *x, const char *name, bool *bad_enc)
{
    struct st_str v;
    int rc = st_http_query_get(x->req->query, name, x->arena, &v);
    if (rc == ST_EPARSE)
        *bad_enc = true;
    return rc ? NULL : v.ptr;
}

static bool rfc3339_s(const char *s, bool ceil_s, int64_t *out)
{
    int64_t ms = 0;
    if (st_time_parse_rfc3339(s, &ms))
        return false;
    int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    if (ceil_s && sec * 1000 < ms)
        sec++;
    *out = sec;
    return true;
}

static void parse_filters(struct st_http_ex *x, struct blog_list *l, json_t *errors, bool *enc)
{
    const char *v;
    if ((v = param(x, "author_id", enc)) && !parse_int(v, 1, INT64_MAX, &l->author_id))
        bad(errors, "author_id", "invalid", "must be a positive integer");
    if ((v = param(x, "status", enc))) {
        if (strcmp(v, "draft") != 0 && strcmp(v, "published") != 0)
            bad(errors, "status", "enum", "must be draft or published");
        else
            l->status = v;
    }
    if ((v = param(x, "tag", enc))) {
        size_t n = strlen(v);
        bool ok = n >= 1 && n <= 30 && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
        if (!ok)
            bad(errors, "tag", "pattern", "must match ^[a-z0-9-]{1,30}$");
        else
            l->tag = v;
    }
    if ((v = param(x, "created_after", enc)) && !(l->has_after = rfc3339_s(v, false, &l->created_after)))
        bad(errors, "created_after", "format", "must be an RFC 3339 date-time");
    if ((v = param(x, "created_before", enc)) && !(l->has_before = rfc3339_s(v, true, &l->created_before)))
        bad(errors, "created_before", "format", "must be an RFC 3339 date-time");
    if ((v = param(x, "q", enc))) {
        if (!*v || strlen(v) > 200)
            bad(errors, "q", "invalid", "must be 1 to 200 bytes");
        else
            l->q = v;
    }
    if ((v = param(x, "include_deleted", enc))) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            bad(errors, "include_deleted", "invalid", "must be true or false");
        l->include_deleted = !strcmp(v, "true");
    }
}

int blog_list_parse(struct st_http_ex *x, struct blog_req *r, enum blog_kind kind, struct blog_list *l)
{
    json_t *errors = json_array();
    bool enc = false;
    l->kind = kind;
    l->limit = BLOG_LIMIT_DEFAULT;
    l->path = st_arena_strndup(x->arena, x->req->path.ptr, x->req->path.len);
    l->query = st_arena_strndup(x->arena, x->req->query.ptr, x->req->query.len);
    const char *v;
    int64_t n = 0;
    if ((v = param(x, "limit", &enc))) {
        if (parse_int(v, 1, BLOG_LIMIT_MAX, &n))
            l->limit = (int)n;
        else
            bad(errors, "limit", "out_of_range", "must be an integer from 1 to 100");
    }
    const char *offset = param(x, "offset", &enc), *cursor = param(x, "cursor", &enc);
    if (offset && r->api == 2)
        bad(errors, "offset", "unsupported", "v2 pages by cursor only");
    else if (offset && cursor)
        bad(errors, "offset", "conflict", "give offset or cursor, not both");
    else if (offset && !parse_int(offset, 0, 1000000000, &l->offset))
        bad(errors, "offset", "out_of_range", "must be an integer >= 0");
    l->cursor_mode = cursor || r->api == 2;
    const char *sort = param(x, "sort", &enc);
    l->sort_raw = sort ? sort : kind == BLOG_COMMENTS ? "created_at" : "-created_at";
    if (!parse_sort(l->sort_raw, l))
        bad(errors, "sort", "invalid",
            kind == BLOG_POSTS   ? "fields: id, created_at, updated_at, title, comment_count (- for descending)"
            : kind == BLOG_USERS ? "fields: id, name, created_at (- for descending)"
                                 : "fields: id, created_at (- for descending)");
    else if (cursor && *cursor) {
        l->has_cursor = true;
        if (cursor_decode(r->b, cursor, l))
            bad(errors, "cursor", "invalid", "not a cursor issued by this server for this sort order");
    }
    if (kind == BLOG_POSTS)
        parse_filters(x, l, errors, &enc);
    if (enc)
        bad(errors, "query", "encoding", "a parameter is not valid percent-encoding");
    if (json_array_size(errors)) {
        size_t k = json_array_size(errors);
        char detail[64];
        snprintf(detail, sizeof detail, "%zu query parameter%s invalid", k, k == 1 ? " is" : "s are");
        blog_problem(x, 400, "invalid_parameter", detail, errors);
        return -1;
    }
    json_decref(errors);
    /* content negotiation: JSON, or CSV for lists; 406 otherwise */
    static const char *const offered[] = { "application/json", "text/csv" };
    int pick = st_http_negotiate(st_http_req_header(x, ST_HTTP_H_ACCEPT), offered, 2);
    if (pick < 0) {
        json_decref(l->cursor_vals);
        l->cursor_vals = NULL;
        blog_problem(x, 406, "not_acceptable", "lists are available as application/json or text/csv", NULL);
        return -1;
    }
    r->csv = pick == 1;
    return 0;
}

/* ---- SQL ----------------------------------------------------------------------------- */

void blog_list_keys(const struct blog_list *l, struct blog_q *q)
{
    for (int i = 0; i < l->nsort; i++) {
        blog_q_sql(q, ", ");
        blog_q_sql(q, blog_sort_sql(l->kind, l->sort[i].field));
    }
}

static void bind_key(struct blog_q *q, json_t *v)
{
    if (json_is_string(v))
        blog_q_text(q, json_string_value(v));
    else
        blog_q_int(q, json_integer_value(v));
}

/*
 * The rows after the cursor's. With every key in one direction that is a row-value
 * comparison, (k1, k2) < (v1, v2), which both databases turn into one index range scan;
 * mixed directions are spelled out: (k1 > v1) OR (k1 = v1 AND k2 < v2) OR ...
 */
static void keyset(const struct blog_list *l, struct blog_q *q)
{
    bool uniform = true;
    for (int i = 1; i < l->nsort; i++)
        uniform &= l->sort[i].desc == l->sort[0].desc;
    if (uniform) {
        blog_q_sql(q, " AND (");
        for (int i = 0; i < l->nsort; i++) {
            blog_q_sql(q, i ? ", " : "");
            blog_q_sql(q, blog_sort_sql(l->kind, l->sort[i].field));
        }
        blog_q_sql(q, l->sort[0].desc == l->cursor_prev ? ") > (" : ") < (");
        for (int i = 0; i < l->nsort; i++) {
            blog_q_sql(q, i ? ", " : "");
            bind_key(q, json_array_get(l->cursor_vals, (size_t)i));
        }
        blog_q_sql(q, ")");
        return;
    }
    blog_q_sql(q, " AND (");
    for (int i = 0; i < l->nsort; i++) {
        blog_q_sql(q, i ? " OR (" : "(");
        for (int j = 0; j <= i; j++) {
            const char *e = blog_sort_sql(l->kind, l->sort[j].field);
            bool after = l->sort[j].desc == l->cursor_prev; /* asc forward or desc backward: > */
            blog_q_sql(q, j ? " AND " : "");
            blog_q_sql(q, e);
            blog_q_sql(q, j < i ? " = " : after ? " > " : " < ");
            bind_key(q, json_array_get(l->cursor_vals, (size_t)j));
        }
        blog_q_sql(q, ")");
    }
    blog_q_sql(q, ")");
}

void blog_list_tail(const struct blog_list *l, struct blog_q *q)
{
    if (l->cursor_mode && l->cursor_vals)
        keyset(l, q);
    blog_q_sql(q, " ORDER BY ");
    bool reverse = l->cursor_mode && l->cursor_vals && l->cursor_prev;
    for (int i = 0; i < l->nsort; i++) {
        blog_q_sql(q, i ? ", " : "");
        blog_q_sql(q, blog_sort_sql(l->kind, l->sort[i].field));
        blog_q_sql(q, l->sort[i].desc != reverse ? " DESC" : " ASC");
    }
    blog_q_sql(q, " LIMIT ");
    blog_q_int(q, l->limit + 1);
    if (!l->cursor_mode) {
        blog_q_sql(q, " OFFSET ");
        blog_q_int(q, l->offset);
    }
}

json_t *blog_list_row_keys(const struct blog_list *l, const struct blog_row *w, int col)
{
    json_t *a = json_array();
    for (int i = 0; i < l->nsort; i++) {
        if (sorts_of(l->kind)[l->sort[i].field].text) {
            size_t n = 0;
            const char *s = blog_col_text(w, col + i, &n);
            json_array_append_new(a, json_stringn(s, n));
        } else {
            json_array_append_new(a, json_integer(blog_col_int64(w, col + i)));
        }
    }
    return a;
}

void blog_list_answer_batch(struct blog_req *r, const struct st_sql_batch *bt, int q, int64_t total,
                            json_t *(*row)(struct blog_req *r, const struct blog_row *w), int ncols)
{
    json_t *rows = json_array(), *keys = json_array();
    int n = st_sql_result_rows(bt, q);
    for (int i = 0; i < n; i++) {
        struct blog_row w = { .bt = bt, .q = q, .row = i };
        json_array_append_new(rows, row(r, &w));
        json_array_append_new(keys, blog_list_row_keys(&r->list, &w, ncols));
    }
    blog_list_answer(r, rows, keys, total);
}

/* ---- answers ------------------------------------------------------------------------- */

/* path?<other params>&limit=N&<tail>: every parameter of the request but the paging ones. */
static json_t *link(const struct blog_list *l, const char *tail)
{
    struct st_buf o;
    st_buf_init(&o, ST_BUF_UNLIMITED);
    (void)st_buf_append_c(&o, l->path);
    (void)st_buf_append_byte(&o, '?');
    struct st_str rest = st_str_c(l->query), k, v;
    while (st_http_query_next(&rest, &k, &v)) {
        if (st_str_eq_c(k, "limit") || st_str_eq_c(k, "offset") || st_str_eq_c(k, "cursor"))
            continue;
        (void)st_buf_append(&o, k.ptr, k.len);
        (void)st_buf_append_byte(&o, '=');
        (void)st_buf_append(&o, v.ptr, v.len);
        (void)st_buf_append_byte(&o, '&');
    }
    (void)st_buf_printf(&o, "limit=%d%s%s", l->limit, tail[0] ? "&" : "", tail);
    json_t *s = json_stringn(o.data, o.len);
    st_buf_release(&o);
    return s;
}

static json_t *offset_link(const struct blog_list *l, int64_t offset)
{
    char tail[48];
    snprintf(tail, sizeof tail, "offset=%" PRId64, offset);
    return link(l, tail);
}

static json_t *cursor_link(const struct blog_list *l, const char *cursor)
{
    char *tail = st_xmalloc(strlen(cursor) + 8);
    sprintf(tail, "cursor=%s", cursor);
    json_t *s = link(l, tail);
    free(tail);
    return s;
}

static void answer_offset(struct blog_req *r, json_t *rows, int64_t total, json_t *meta, json_t *links)
{
    const struct blog_list *l = &r->list;
    (void)rows;
    json_object_set_new(meta, "offset", json_integer(l->offset));
    json_object_set_new(meta, "total", json_integer(total));
    json_object_set_new(links, "self", offset_link(l, l->offset));
    json_object_set_new(links, "first", offset_link(l, 0));
    if (l->offset > 0)
        json_object_set_new(links, "prev", offset_link(l, l->offset > l->limit ? l->offset - l->limit : 0));
    if (l->offset + l->limit < total)
        json_object_set_new(links, "next", offset_link(l, l->offset + l->limit));
}

static void answer_cursor(struct blog_req *r, json_t *keys, bool more, json_t *meta, json_t *links)
{
    const struct blog_list *l = &r->list;
    size_t n = json_array_size(keys);
    bool back = l->cursor_vals && l->cursor_prev;
    /* going forward, a previous page exists when we came from a cursor; going back, a next
     * page always does (the cursor's own row is on it) */
    bool has_next = back ? true : more, has_prev = back ? more : l->cursor_vals != NULL;
    json_object_set_new(links, "self", link(l, l->has_cursor ? "" : "cursor="));
    json_object_set_new(links, "first", link(l, "cursor="));
    if (n && has_next) {
        char *c = cursor_encode(r->b, l->sort_raw, false, json_array_get(keys, n - 1));
        json_object_set_new(meta, "next_cursor", json_string(c));
        json_object_set_new(links, "next", cursor_link(l, c));
        free(c);
    }
    if (n && has_prev) {
        char *c = cursor_encode(r->b, l->sort_raw, true, json_array_get(keys, 0));
        json_object_set_new(meta, "prev_cursor", json_string(c));
        json_object_set_new(links, "prev", cursor_link(l, c));
        free(c);
    }
    if (l->has_cursor) { /* self: the exact request */
        struct st_buf o;
        st_buf_init(&o, ST_BUF_UNLIMITED);
        (void)st_buf_printf(&o, "%s?%s", l->path, l->query);
        json_object_set_new(links, "self", json_stringn(o.data, o.len));
        st_buf_release(&o);
    }
}

static void csv_value(struct st_buf *o, json_t *v, bool first)
{
    char num[32];
    if (json_is_string(v)) {
        st_csv_field_c(o, json_string_value(v), first);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        st_csv_field_c(o, num, first);
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.6g", json_real_value(v));
        st_csv_field_c(o, num, first);
    } else if (json_is_array(v)) { /* tags: joined with ';' */
        struct st_buf j;
        st_buf_init(&j, ST_BUF_UNLIMITED);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (i)
                (void)st_buf_append_byte(&j, ';');
            (void)st_buf_append_c(&j, json_string_value(e) ? json_string_value(e) : "");
        }
        st_csv_field(o, j.data, j.len, first);
        st_buf_release(&j);
    } else if (json_is_object(v)) { /* an embedded author: its id */
        csv_value(o, json_object_get(v, "id"), first);
    } else {
        st_csv_field_c(o, "", first);
    }
}

/* The columns of a CSV list: every member of the first row but links. */
static void answer_csv(struct blog_req *r, json_t *rows)
{
    struct st_buf o;
    st_buf_init(&o, ST_BUF_UNLIMITED);
    static const char *const cols[3][11] = {
        { "id", "name", "email", "created_at", "updated_at", NULL },
        { "id", "author_id", "title", "body", "status", "tags", "comment_count", "version", "created_at", "updated_at",
          NULL },
        { "id", "post_id", "author_id", "body", "created_at", "updated_at", NULL },
    };
    const char *const *c = cols[r->list.kind];
    for (int i = 0; c[i]; i++)
        st_csv_field_c(&o, c[i], i == 0);
    st_csv_end_row(&o);
    size_t k;
    json_t *row;
    json_array_foreach(rows, k, row)
    {
        for (int i = 0; c[i]; i++) {
            json_t *v = json_object_get(row, c[i]);
            if (!v && !strcmp(c[i], "author_id"))
                v = json_object_get(row, "author");
            csv_value(&o, v, i == 0);
        }
        st_csv_end_row(&o);
    }
    r->text = st_buf_detach(&o, &r->text_len);
    r->text_type = "text/csv; charset=utf-8";
}

void blog_list_answer(struct blog_req *r, json_t *rows, json_t *keys, int64_t total)
{
    const struct blog_list *l = &r->list;
    bool more = json_array_size(rows) > (size_t)l->limit;
    if (more) {
        json_array_remove(rows, json_array_size(rows) - 1);
        json_array_remove(keys, json_array_size(keys) - 1);
    }
    if (l->cursor_mode && l->cursor_vals && l->cursor_prev) { /* read backwards: put in order */
        size_t n = json_array_size(rows);
        for (size_t i = 0; i < n / 2; i++) {
            json_t *a = json_incref(json_array_get(rows, i)), *b = json_incref(json_array_get(rows, n - 1 - i));
            json_array_set_new(rows, i, b);
            json_array_set_new(rows, n - 1 - i, a);
            a = json_incref(json_array_get(keys, i));
            b = json_incref(json_array_get(keys, n - 1 - i));
            json_array_set_new(keys, i, b);
            json_array_set_new(keys, n - 1 - i, a);
        }
    }
    if (r->csv) {
        answer_csv(r, rows);
        json_decref(rows);
        json_decref(keys);
        return;
    }
    json_t *meta = json_pack("{s:i}", "limit", l->limit), *links = json_object();
    if (l->cursor_mode)
        answer_cursor(r, keys, more, meta, links);
    else
        answer_offset(r, rows, total, meta, links);
    json_decref(keys);
    r->out = json_pack("{s:o, s:o, s:o}", "data", rows, "meta", meta, "links", links);
}
