/*
 * blog_http.c - HTTP graders of the blog API (docs/blog-api.md) for Q71 (routes), Q72
 * (status codes), Q73 (versioning), Q74 (pagination and sorting), Q75 (search with several
 * parameters), Q76 (OpenAPI), Q77 (validation), Q78 (rate limiting), Q79 (errors), Q80 (a
 * complete API), Q114 (soft deletes), Q117 (optimistic locking) and Q120 (full-text
 * search). What each checks is its
 * question's `checks:` text in curriculum/.
 *
 * Every request carries `X-API-Key: grade-<random>` (a new key per check), so rate limits
 * of different checks and runs never collide, and every check makes its own users and
 * posts with random names first: the target may hold any other data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "base/time.h"
#include "grade/internal.h"

#define G_LETTERS "abcdefghijklmnopqrstuvwxyz"

/* One check's client identity. */
struct bk {
    struct st_grade *g;
    char key[32];
};

/*
 * n letters that differ between runs even under the same --seed: the names, keys and search
 * words a check creates must not meet those of an earlier run against the same server (a
 * rerun with the seed a report printed would find its emails taken, its API key's quota
 * spent and its search words in old posts). The checks' logic stays seeded.
 */
static void nonce(char *out, size_t n)
{
    static _Atomic uint64_t counter;
    uint64_t v = (uint64_t)st_time_wall_ms() * 1000003u ^ (uint64_t)st_time_mono_ns() ^ (counter++ << 40);
    for (size_t i = 0; i < n; i++, v /= 26)
        out[i] = (char)('a' + v % 26);
    out[n] = 0;
}

static void bk_init(struct bk *k, struct st_grade *g)
{
    k->g = g;
    char w[16], n[8];
    g_word(g, w, 6, G_ALNUM);
    nonce(n, 6);
    snprintf(k->key, sizeof k->key, "grade-%s%s", w, n);
}

/* method target [JSON body] [one more header]; the response or NULL after g_fail. */
static const struct st_http_resp *bdo(struct bk *k, const char *method, const char *target, json_t *body,
                                      const char *hname, const char *hvalue)
{
    struct st_http_field h[2] = { { "X-API-Key", k->key }, { hname, hvalue } };
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    struct g_req r = { .method = method,
                       .target = target,
                       .ctype = body ? "application/json" : NULL,
                       .body = text,
                       .headers = h,
                       .nheaders = hname ? 2 : 1 };
    const struct st_http_resp *res = g_do(k->g, &r);
    free(text);
    return res;
}

static const struct st_http_resp *bget(struct bk *k, const char *target)
{
    return bdo(k, "GET", target, NULL, NULL, NULL);
}

/* The response is status with a JSON object body; the object, or NULL after g_fail. */
static json_t *bobj(struct bk *k, const struct st_http_resp *r, int status)
{
    if (!r || !g_status(k->g, r, status) || !g_ctype(k->g, r, "application/json"))
        return NULL;
    json_t *v = g_json(k->g, r);
    if (v && !json_is_object(v)) {
        g_fail(k->g, "expected a JSON object, got %s", g_json_text(v));
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *bget_obj(struct bk *k, const char *target, int status)
{
    return bobj(k, bget(k, target), status);
}

static json_int_t id_of(const json_t *o)
{
    return json_integer_value(json_object_get(o, "id"));
}

/* A new user; its id, or 0 after g_fail. */
static json_int_t new_user(struct bk *k)
{
    char w[16], n[8], email[64];
    g_word(k->g, w, 6, G_ALNUM);
    nonce(n, 6);
    strcat(w, n);
    snprintf(email, sizeof email, "%s@grade.test", w);
    json_t *b = json_pack("{s:s, s:s}", "name", w, "email", email);
    json_t *u = bobj(k, bdo(k, "POST", "/api/v1/users", b, NULL, NULL), 201);
    json_decref(b);
    json_int_t id = id_of(u);
    if (u && id <= 0)
        g_fail(k->g, "a created user needs a positive integer \"id\": %s", g_json_text(u));
    json_decref(u);
    return u && id > 0 ? id : 0;
}

/* A new post (tags: a JSON array or NULL); the post object, or NULL after g_fail. */
static json_t *new_post(struct bk *k, json_int_t author, const char *title, const char *body, const char *status,
                        json_t *tags)
{
    json_t *b = json_pack("{s:I, s:s, s:s, s:s}", "author_id", author, "title", title, "body", body, "status", status);
    if (tags)
        json_object_set(b, "tags", tags);
    json_t *p = bobj(k, bdo(k, "POST", "/api/v1/posts", b, NULL, NULL), 201);
    json_decref(b);
    if (p && id_of(p) <= 0) {
        g_fail(k->g, "a created post needs a positive integer \"id\": %s", g_json_text(p));
        json_decref(p);
        return NULL;
    }
    return p;
}

/* The "data" array of a list answer (borrowed from o), or NULL after g_fail. */
static json_t *data_of(struct bk *k, json_t *o)
{
    json_t *d = json_object_get(o, "data");
    if (!json_is_array(d))
        g_fail(k->g, "a list answers {\"data\": [...], ...}, got %s", g_json_text(o));
    return json_is_array(d) ? d : NULL;
}

/* Whether the list answer o holds a row with this id. */
static bool has_id(json_t *o, json_int_t id)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(o, "data"), i, e) if (id_of(e) == id) return true;
    return false;
}

/* The problem+json of r with status and this code; false after g_fail. */
static bool bproblem(struct bk *k, const struct st_http_resp *r, int status, const char *code)
{
    json_t *p = r ? g_problem(k->g, r, status, true, true) : NULL;
    if (!p)
        return false;
    const char *c = json_string_value(json_object_get(p, "code"));
    bool ok =
        (c && !strcmp(c, code)) || g_fail(k->g, "the problem's \"code\" must be \"%s\", got %s", code, g_json_text(p));
    json_decref(p);
    return ok;
}

/* A random word of n letters, the last 6 from nonce() (search terms: no digits, so every
 * engine keeps it whole). out holds n + 1. */
static void letters(struct st_grade *g, char *out, size_t n)
{
    g_word(g, out, n - 6, G_LETTERS);
    nonce(out + n - 6, 6);
}

/* ---- Q114: soft deletes ------------------------------------------------------------- */

/* A user and a published post with a unique word in its title and one comment. */
static json_t *q114_setup(struct bk *k, char *word, size_t wcap)
{
    (void)wcap;
    letters(k->g, word, 10);
    json_int_t u = new_user(k);
    if (!u)
        return NULL;
    char title[64];
    snprintf(title, sizeof title, "%s notes", word);
    json_t *p = new_post(k, u, title, "soft delete test", "published", NULL);
    if (!p)
        return NULL;
    char t[96];
    snprintf(t, sizeof t, "/api/v1/posts/%lld/comments", (long long)id_of(p));
    json_t *b = json_pack("{s:I, s:s}", "author_id", u, "body", "a comment");
    json_t *c = bobj(k, bdo(k, "POST", t, b, NULL, NULL), 201);
    json_decref(b);
    json_decref(c);
    if (!c) {
        json_decref(p);
        return NULL;
    }
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id_of(p));
    json_decref(p);
    return bget_obj(k, t, 200); /* as it is now, with its comment counted */
}

static bool q114_delete_hides(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], t[96];
    json_t *p = q114_setup(&k, word, sizeof word);
    if (!p)
        return false;
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id_of(p));
    json_decref(p);
    const struct st_http_resp *r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
    if (!r || !g_status(g, r, 204) || !g_no_body(g, r, "204 No Content"))
        return false;
    r = bget(&k, t);
    return r && bproblem(&k, r, 404, "not_found");
}

static bool q114_lists(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], t[160];
    json_t *p = q114_setup(&k, word, sizeof word);
    if (!p)
        return false;
    json_int_t id = id_of(p), author = json_integer_value(json_object_get(p, "author_id"));
    json_decref(p);
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id);
    const struct st_http_resp *r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
    if (!r || !g_status(g, r, 204))
        return false;
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=100", (long long)author);
    json_t *l = bget_obj(&k, t, 200);
    if (!l || !data_of(&k, l)) {
        json_decref(l);
        return false;
    }
    bool ok = !has_id(l, id) || g_fail(g, "a deleted post is still listed by GET %s", t);
    json_decref(l);
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=100&include_deleted=true", (long long)author);
    l = ok ? bget_obj(&k, t, 200) : NULL;
    if (!l)
        return false;
    json_t *d = data_of(&k, l), *e;
    size_t i;
    bool found = false;
    json_array_foreach(d, i, e)
    {
        if (id_of(e) == id) {
            found = true;
            ok = json_is_string(json_object_get(e, "deleted_at")) ||
                 g_fail(g, "with include_deleted=true a deleted post carries \"deleted_at\" (a time): %s",
                        g_json_text(e));
        }
    }
    ok = ok && (found || g_fail(g, "GET %s must list the deleted post %lld", t, (long long)id));
    json_decref(l);
    return ok;
}

static bool q114_search(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], t[160];
    json_t *p = q114_setup(&k, word, sizeof word);
    if (!p)
        return false;
    json_int_t id = id_of(p);
    json_decref(p);
    snprintf(t, sizeof t, "/api/v1/search?q=%s", word);
    json_t *s = bget_obj(&k, t, 200);
    bool ok = s && data_of(&k, s) && (has_id(s, id) || g_fail(g, "GET %s must find the live post first", t));
    json_decref(s);
    if (!ok)
        return false;
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id);
    const struct st_http_resp *r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
    if (!r || !g_status(g, r, 204))
        return false;
    snprintf(t, sizeof t, "/api/v1/search?q=%s", word);
    s = bget_obj(&k, t, 200);
    ok = s && data_of(&k, s) && (!has_id(s, id) || g_fail(g, "a deleted post is still found by GET %s", t));
    json_decref(s);
    if (!ok)
        return false;
    snprintf(t, sizeof t, "/api/v1/posts/%lld/comments", (long long)id);
    r = bget(&k, t);
    return r && (r->status == 404 || g_fail(g, "the comments of a deleted post answer 404, got %d", r->status));
}

static bool q114_restore(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], t[96], tr[112];
    json_t *before = q114_setup(&k, word, sizeof word);
    if (!before)
        return false;
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id_of(before));
    snprintf(tr, sizeof tr, "%s/restore", t);
    const struct st_http_resp *r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
    bool ok = r && g_status(g, r, 204);
    json_t *back = ok ? bobj(&k, bdo(&k, "POST", tr, NULL, NULL, NULL), 200) : NULL;
    ok = back &&
         (json_equal(back, before) || g_fail(g, "restore must bring the post back unchanged: before %s, after %s",
                                             g_json_text(before), g_json_text(back)));
    json_decref(back);
    json_t *again = ok ? bget_obj(&k, t, 200) : NULL;
    ok = again && (json_equal(again, before) || g_fail(g, "GET after restore differs: %s", g_json_text(again)));
    json_decref(again);
    json_decref(before);
    if (!ok)
        return false;
    snprintf(tr, sizeof tr, "%s/comments", t);
    json_t *c = bget_obj(&k, tr, 200);
    ok = c && data_of(&k, c) &&
         (json_array_size(json_object_get(c, "data")) == 1 || g_fail(g, "the restored post must keep its comment"));
    json_decref(c);
    return ok;
}

static bool q114_twice(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], t[96], tr[112];
    json_t *p = q114_setup(&k, word, sizeof word);
    if (!p)
        return false;
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id_of(p));
    snprintf(tr, sizeof tr, "%s/restore", t);
    json_decref(p);
    const struct st_http_resp *r = bdo(&k, "POST", tr, NULL, NULL, NULL);
    if (!r || !(r->status == 404 || g_fail(g, "restoring a post that is not deleted answers 404, got %d", r->status)))
        return false;
    r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
    if (!r || !g_status(g, r, 204))
        return false;
    r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
    if (!r || !(r->status == 404 || g_fail(g, "deleting a deleted post again answers 404, got %d", r->status)))
        return false;
    r = bdo(&k, "POST", "/api/v1/posts/999999999999/restore", NULL, NULL, NULL);
    return r && (r->status == 404 || g_fail(g, "restoring a post that never existed answers 404, got %d", r->status));
}

static const struct st_grade_check q114_checks[] = {
    { "DELETE /posts/{id} answers 204, then the post is 404", q114_delete_hides },
    { "a deleted post leaves lists; include_deleted=true lists it with deleted_at", q114_lists },
    { "a deleted post leaves search, and its comments are not reachable", q114_search },
    { "restore brings it back unchanged (fields, version, comments)", q114_restore },
    { "restore of a live or missing post and a second DELETE answer 404", q114_twice },
    { NULL, NULL },
};
const struct st_grader st__grade_q114 = { "q114", 114, 0, NULL, q114_checks };

/* ---- Q120: full-text search --------------------------------------------------------- */

/* English words whose stem a search must match from another form. */
static const char *const stems[][2] = {
    { "running", "run" },  { "jumping", "jump" },  { "walking", "walk" },   { "painted", "paint" },
    { "reading", "read" }, { "cooking", "cook" },  { "climbing", "climb" }, { "printed", "print" },
    { "sailing", "sail" }, { "dancing", "dance" },
};
#define NSTEMS (sizeof stems / sizeof stems[0])

/* GET /api/v1/search?q=a+b; the answer object or NULL after g_fail. */
static json_t *search(struct bk *k, const char *a, const char *b)
{
    char t[200];
    snprintf(t, sizeof t, "/api/v1/search?q=%s%s%s", a, b ? "+" : "", b ? b : "");
    json_t *s = bget_obj(k, t, 200);
    if (s && !data_of(k, s)) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static bool q120_stemming(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], title[96];
    letters(g, word, 10);
    size_t i = (size_t)g_range(g, 0, NSTEMS - 1);
    json_int_t u = new_user(&k);
    snprintf(title, sizeof title, "%s %s today", word, stems[i][0]);
    json_t *p = u ? new_post(&k, u, title, "a body", "published", NULL) : NULL;
    if (!p)
        return false;
    json_t *s = search(&k, word, stems[i][1]);
    bool ok = s && (has_id(s, id_of(p)) || g_fail(g, "searching \"%s %s\" must find the post titled \"%s\" (stemming)",
                                                  word, stems[i][1], title));
    json_decref(s);
    json_decref(p);
    return ok;
}

static bool q120_ranking(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], title[64], body[64];
    letters(g, word, 10);
    json_int_t u = new_user(&k);
    snprintf(body, sizeof body, "plain text mentioning %s once", word);
    /* the body-only post first, so insertion order cannot explain a right answer */
    json_t *pb = u ? new_post(&k, u, "plain title", body, "published", NULL) : NULL;
    snprintf(title, sizeof title, "%s in the title", word);
    json_t *pt = pb ? new_post(&k, u, title, "plain text", "published", NULL) : NULL;
    json_t *s = pt ? search(&k, word, NULL) : NULL;
    bool ok = s != NULL;
    json_t *d = ok ? json_object_get(s, "data") : NULL;
    ok = ok &&
         (json_array_size(d) == 2 ||
          g_fail(g, "searching \"%s\" must find exactly the 2 posts that contain it, got %s", word, g_json_text(d)));
    ok = ok && (id_of(json_array_get(d, 0)) == id_of(pt) ||
                g_fail(g, "a match in the title ranks above a match in the body: got %s", g_json_text(d)));
    size_t i;
    json_t *e;
    double last = 1e300;
    json_array_foreach(d, i, e)
    {
        json_t *r = json_object_get(e, "rank");
        if (ok && !json_is_number(r))
            ok = g_fail(g, "each result has a numeric \"rank\": %s", g_json_text(e));
        if (ok && json_number_value(r) > last)
            ok = g_fail(g, "results are ordered by rank, best first: %s", g_json_text(d));
        last = json_number_value(r);
    }
    json_decref(s);
    json_decref(pb);
    json_decref(pt);
    return ok;
}

static bool q120_snippet(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], body[128];
    letters(g, word, 10);
    json_int_t u = new_user(&k);
    snprintf(body, sizeof body, "first some words and then %s and more words after it", word);
    json_t *p = u ? new_post(&k, u, "a title", body, "published", NULL) : NULL;
    json_t *s = p ? search(&k, word, NULL) : NULL;
    bool ok = s && (json_array_size(json_object_get(s, "data")) == 1 ||
                    g_fail(g, "searching \"%s\" must find the one post: %s", word, g_json_text(s)));
    json_t *hit = ok ? json_array_get(json_object_get(s, "data"), 0) : NULL;
    const char *snip = json_string_value(json_object_get(hit, "snippet"));
    char marked[40];
    snprintf(marked, sizeof marked, "<mark>%s</mark>", word);
    ok = ok && ((snip && strstr(snip, marked)) ||
                g_fail(g, "the result's \"snippet\" must show the hit as %s: %s", marked, g_json_text(hit)));
    ok = ok && (json_is_string(json_object_get(hit, "title")) ||
                g_fail(g, "each result has its \"title\": %s", g_json_text(hit)));
    json_decref(s);
    json_decref(p);
    return ok;
}

static bool q120_excluded(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], title[64], t[96];
    letters(g, word, 10);
    json_int_t u = new_user(&k);
    snprintf(title, sizeof title, "%s draft", word);
    json_t *dr = u ? new_post(&k, u, title, "x", "draft", NULL) : NULL;
    snprintf(title, sizeof title, "%s deleted", word);
    json_t *de = dr ? new_post(&k, u, title, "x", "published", NULL) : NULL;
    snprintf(title, sizeof title, "%s live", word);
    json_t *li = de ? new_post(&k, u, title, "x", "published", NULL) : NULL;
    bool ok = li != NULL;
    if (ok) {
        snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id_of(de));
        const struct st_http_resp *r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
        ok = r && g_status(g, r, 204);
    }
    json_t *s = ok ? search(&k, word, NULL) : NULL;
    ok = s && (has_id(s, id_of(li)) || g_fail(g, "the published post must be found: %s", g_json_text(s)));
    ok = ok && (!has_id(s, id_of(dr)) || g_fail(g, "a draft must not be found by search: %s", g_json_text(s)));
    ok = ok && (!has_id(s, id_of(de)) || g_fail(g, "a deleted post must not be found by search: %s", g_json_text(s)));
    json_decref(s);
    json_decref(dr);
    json_decref(de);
    json_decref(li);
    return ok;
}

static bool q120_bad_q(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    const struct st_http_resp *r = bget(&k, "/api/v1/search");
    if (!r || !bproblem(&k, r, 400, "invalid_parameter"))
        return false;
    r = bget(&k, "/api/v1/search?q=");
    return r && bproblem(&k, r, 400, "invalid_parameter");
}

static const struct st_grade_check q120_checks[] = {
    { "stemming: another form of a word finds it", q120_stemming },
    { "ranking: a match in the title ranks above one in the body; ordered by rank", q120_ranking },
    { "the snippet marks the hit with <mark>", q120_snippet },
    { "drafts and deleted posts are not found", q120_excluded },
    { "a missing or empty q is 400 problem+json", q120_bad_q },
    { NULL, NULL },
};
const struct st_grader st__grade_q120 = { "q120", 120, 0, NULL, q120_checks };

/* ---- Q78: rate limiting -------------------------------------------------------------- */

/* The integer value of header name of r, or -1 when absent or not a number. */
static long long header_int(const struct st_http_resp *r, const char *name)
{
    const struct st_str *v = st_http_resp_header(r, name);
    if (!v || v->len == 0 || v->len > 18)
        return -1;
    long long n = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->ptr[i] < '0' || v->ptr[i] > '9')
            return -1;
        n = n * 10 + (v->ptr[i] - '0');
    }
    return n;
}

static bool q78_headers(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    long long prev = -1;
    for (int i = 0; i < 3; i++) {
        const struct st_http_resp *r = bget(&k, "/api/v1/users?limit=1");
        if (!r || !g_status(g, r, 200))
            return false;
        long long lim = header_int(r, "RateLimit-Limit"), rem = header_int(r, "RateLimit-Remaining");
        long long reset = header_int(r, "RateLimit-Reset");
        if (lim != 100)
            return g_fail(g, "every answer carries RateLimit-Limit: 100");
        if (rem < 0 || reset < 0)
            return g_fail(g, "every answer carries RateLimit-Remaining and RateLimit-Reset (integers)");
        if (i == 0 && rem != 99)
            return g_fail(g, "the first request of a new API key leaves RateLimit-Remaining: 99, got %lld", rem);
        if (prev >= 0 && rem != prev - 1)
            return g_fail(g, "RateLimit-Remaining goes down by one per request: %lld then %lld", prev, rem);
        prev = rem;
    }
    return true;
}

static bool q78_limit(struct st_grade *g)
{
    struct bk k, other;
    bk_init(&k, g);
    bk_init(&other, g);
    for (int i = 1; i <= 100; i++) {
        const struct st_http_resp *r = bget(&k, "/api/v1/users?limit=1");
        if (!r)
            return false;
        if (r->status != 200)
            return g_fail(g, "request %d of 100 within the hour must pass, got %d", i, r->status);
    }
    const struct st_http_resp *r = bget(&k, "/api/v1/users?limit=1");
    if (!r || !bproblem(&k, r, 429, "rate_limited"))
        return false;
    if (header_int(r, "Retry-After") < 1)
        return g_fail(g, "a 429 carries Retry-After: the seconds to wait (>= 1)");
    r = bget(&other, "/api/v1/users?limit=1");
    if (!r || !g_status(g, r, 200))
        return false;
    if (header_int(r, "RateLimit-Remaining") != 99)
        return g_fail(g, "another API key keeps its own quota (RateLimit-Remaining: 99 on its first request)");
    r = bget(&k, "/api/v1/openapi.json");
    return r && (r->status == 200 || g_fail(g, "the OpenAPI document is not rate limited, got %d", r->status));
}

static const struct st_grade_check q78_checks[] = {
    { "RateLimit-Limit/Remaining/Reset on every answer, Remaining counting down", q78_headers },
    { "the 101st request in an hour is 429 with Retry-After; other keys and the docs are unaffected", q78_limit },
    { NULL, NULL },
};
const struct st_grader st__grade_q78 = { "q78", 78, 0, NULL, q78_checks };

/* ---- Q73: versioning ---------------------------------------------------------------- */

static bool q73_embed(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char t[96], w[12];
    g_word(g, w, 8, G_ALNUM);
    json_int_t u = new_user(&k);
    json_t *p = u ? new_post(&k, u, w, "versioned", "published", NULL) : NULL;
    if (!p)
        return false;
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id_of(p));
    json_t *v1 = bget_obj(&k, t, 200);
    snprintf(t, sizeof t, "/api/v2/posts/%lld", (long long)id_of(p));
    json_t *v2 = v1 ? bget_obj(&k, t, 200) : NULL;
    json_t *a = json_object_get(v2, "author");
    bool ok = v2 != NULL;
    ok = ok && ((json_integer_value(json_object_get(v1, "author_id")) == u && !json_object_get(v1, "author")) ||
                g_fail(g, "v1 keeps \"author_id\" (and no \"author\"): %s", g_json_text(v1)));
    ok = ok && ((json_is_object(a) && id_of(a) == u && json_is_string(json_object_get(a, "name")) &&
                 !json_object_get(v2, "author_id")) ||
                g_fail(g, "v2 embeds \"author\": {\"id\", \"name\"} instead of author_id: %s", g_json_text(v2)));
    ok = ok && (json_equal(json_object_get(v1, "title"), json_object_get(v2, "title")) ||
                g_fail(g, "v1 and v2 show the same post"));
    json_decref(v1);
    json_decref(v2);
    json_decref(p);
    return ok;
}

static bool q73_lists(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    for (int i = 0; u && i < 3; i++) {
        json_t *p = new_post(&k, u, "listed", "v", "published", NULL);
        if (!p)
            return false;
        json_decref(p);
    }
    if (!u)
        return false;
    char t[128];
    snprintf(t, sizeof t, "/api/v2/posts?author_id=%lld&limit=2", (long long)u);
    json_t *l = bget_obj(&k, t, 200);
    json_t *meta = json_object_get(l, "meta");
    bool ok = l && ((json_is_string(json_object_get(meta, "next_cursor")) && !json_object_get(meta, "total")) ||
                    g_fail(g, "v2 lists page by cursor: meta has next_cursor and no total: %s", g_json_text(meta)));
    json_decref(l);
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=2", (long long)u);
    l = ok ? bget_obj(&k, t, 200) : NULL;
    meta = json_object_get(l, "meta");
    ok = l && (json_integer_value(json_object_get(meta, "total")) == 3 ||
               g_fail(g, "v1 lists keep offset paging with meta.total (3 here): %s", g_json_text(meta)));
    json_decref(l);
    if (!ok)
        return false;
    snprintf(t, sizeof t, "/api/v2/posts?author_id=%lld&offset=2", (long long)u);
    const struct st_http_resp *r = bget(&k, t);
    return r && bproblem(&k, r, 400, "invalid_parameter");
}

static bool q73_docs(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_t *d1 = bget_obj(&k, "/api/v1/openapi.json", 200);
    json_t *d2 = d1 ? bget_obj(&k, "/api/v2/openapi.json", 200) : NULL;
    const char *v1 = json_string_value(json_object_get(json_object_get(d1, "info"), "version"));
    const char *v2 = json_string_value(json_object_get(json_object_get(d2, "info"), "version"));
    bool ok = d2 && ((v1 && v2 && strcmp(v1, v2) != 0) ||
                     g_fail(g, "each version has its own OpenAPI document (info.version differs): %s / %s",
                            v1 ? v1 : "-", v2 ? v2 : "-"));
    ok = ok && (json_object_get(json_object_get(d2, "paths"), "/api/v2/posts") ||
                g_fail(g, "the v2 document describes /api/v2/posts"));
    json_decref(d1);
    json_decref(d2);
    return ok;
}

static const struct st_grade_check q73_checks[] = {
    { "v2 embeds the author, v1 keeps author_id, both serve the same post", q73_embed },
    { "v2 lists page by cursor and refuse offset; v1 lists keep offset and total", q73_lists },
    { "each version has its own OpenAPI document", q73_docs },
    { NULL, NULL },
};
const struct st_grader st__grade_q73 = { "q73", 73, 0, NULL, q73_checks };

/* ---- Q76: OpenAPI ------------------------------------------------------------------- */

/* The routes of the contract, as OpenAPI paths. */
static const struct {
    const char *method, *path;
} routes[] = {
    { "get", "/api/v1/users" },
    { "post", "/api/v1/users" },
    { "get", "/api/v1/users/{id}" },
    { "patch", "/api/v1/users/{id}" },
    { "delete", "/api/v1/users/{id}" },
    { "get", "/api/v1/users/{id}/posts" },
    { "get", "/api/v1/posts" },
    { "post", "/api/v1/posts" },
    { "get", "/api/v1/posts/{id}" },
    { "put", "/api/v1/posts/{id}" },
    { "patch", "/api/v1/posts/{id}" },
    { "delete", "/api/v1/posts/{id}" },
    { "post", "/api/v1/posts/{id}/restore" },
    { "post", "/api/v1/posts/{id}/archive" },
    { "get", "/api/v1/posts/{id}/comments" },
    { "post", "/api/v1/posts/{id}/comments" },
    { "get", "/api/v1/comments/{id}" },
    { "patch", "/api/v1/comments/{id}" },
    { "delete", "/api/v1/comments/{id}" },
    { "get", "/api/v1/search" },
};

/* A "$ref": "#/components/schemas/X" resolved in doc (or s itself). */
static json_t *resolve(json_t *doc, json_t *s)
{
    const char *ref = json_string_value(json_object_get(s, "$ref"));
    const char *pfx = "#/components/schemas/";
    if (!ref || strncmp(ref, pfx, strlen(pfx)) != 0)
        return s;
    return json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"), ref + strlen(pfx));
}

static bool q76_document(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_t *d = bget_obj(&k, "/api/v1/openapi.json", 200);
    if (!d)
        return false;
    const char *v = json_string_value(json_object_get(d, "openapi"));
    json_t *info = json_object_get(d, "info"), *paths = json_object_get(d, "paths");
    bool ok = (v && !strncmp(v, "3.1", 3)) || g_fail(g, "\"openapi\" must be \"3.1.x\", got %s", v ? v : "nothing");
    ok = ok && ((json_is_string(json_object_get(info, "title")) && json_is_string(json_object_get(info, "version"))) ||
                g_fail(g, "\"info\" needs a title and a version"));
    ok = ok && (json_is_object(paths) || g_fail(g, "\"paths\" must be an object"));
    for (size_t i = 0; ok && i < sizeof routes / sizeof routes[0]; i++) {
        json_t *op = json_object_get(json_object_get(paths, routes[i].path), routes[i].method);
        ok = (json_is_object(op) && json_is_object(json_object_get(op, "responses"))) ||
             g_fail(g, "the document must describe %s %s with its responses", routes[i].method, routes[i].path);
    }
    json_decref(d);
    return ok;
}

/* The request schema of POST /api/v1/posts says what is required; the server agrees. */
static bool q76_schema_matches(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_t *d = bget_obj(&k, "/api/v1/openapi.json", 200);
    if (!d)
        return false;
    json_t *op = json_object_get(json_object_get(json_object_get(d, "paths"), "/api/v1/posts"), "post");
    json_t *s = json_object_get(
        json_object_get(json_object_get(json_object_get(op, "requestBody"), "content"), "application/json"), "schema");
    s = resolve(d, s);
    json_t *req = json_object_get(s, "required"), *props = json_object_get(s, "properties");
    bool ok =
        (json_is_array(req) && json_is_object(props)) ||
        g_fail(g, "POST /api/v1/posts needs a requestBody schema with properties and required: %s", g_json_text(s));
    bool title_required = false;
    size_t i;
    json_t *e;
    json_array_foreach(req, i, e) title_required |= json_is_string(e) && !strcmp(json_string_value(e), "title");
    ok = ok && (title_required || g_fail(g, "the contract requires \"title\" on create; the schema does not say so"));
    ok = ok && (json_object_get(props, "tags") || g_fail(g, "the PostCreate schema lists \"tags\""));
    json_decref(d);
    if (!ok)
        return false;
    json_int_t u = new_user(&k);
    json_t *b = json_pack("{s:I, s:s}", "author_id", u, "body", "no title");
    const struct st_http_resp *r = u ? bdo(&k, "POST", "/api/v1/posts", b, NULL, NULL) : NULL;
    json_decref(b);
    if (!r || !bproblem(&k, r, 422, "validation_failed"))
        return false;
    json_t *p = g_json(g, r);
    bool named = false;
    json_array_foreach(json_object_get(p, "errors"), i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        named |= f && !strcmp(f, "title");
    }
    json_decref(p);
    return named || g_fail(g, "the 422 must name the missing field \"title\" in errors[]");
}

static bool q76_docs_page(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    const struct st_http_resp *r = bget(&k, "/api/v1/docs");
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, "text/html"))
        return false;
    return g_contains_ci(r->body.data, r->body.len, "/api/v1/posts") ||
           g_fail(g, "the docs page must show the routes (no \"/api/v1/posts\" in it)");
}

static const struct st_grade_check q76_checks[] = {
    { "/api/v1/openapi.json is OpenAPI 3.1 and describes every route of the contract", q76_document },
    { "the PostCreate schema matches the server's validation (a missing title is a 422 naming it)",
      q76_schema_matches },
    { "/api/v1/docs is an HTML page showing the routes", q76_docs_page },
    { NULL, NULL },
};
const struct st_grader st__grade_q76 = { "q76", 76, 0, NULL, q76_checks };

/* ---- Q75: search with several parameters --------------------------------------------- */

/* ids of a list answer, in order, into out (at most cap); the count or -1 after g_fail. */
static int list_ids(struct bk *k, const char *target, json_int_t *out, int cap)
{
    json_t *l = bget_obj(k, target, 200);
    json_t *d = l ? data_of(k, l) : NULL;
    if (!d) {
        json_decref(l);
        return -1;
    }
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(d, i, e) if (n < cap) out[n++] = id_of(e);
    json_decref(l);
    return n;
}

static bool same_set(struct st_grade *g, const char *what, const json_int_t *got, int ngot, const json_int_t *want,
                     int nwant)
{
    bool ok = ngot == nwant;
    for (int i = 0; ok && i < nwant; i++) {
        bool found = false;
        for (int j = 0; j < ngot; j++)
            found |= got[j] == want[i];
        ok = found;
    }
    if (ok)
        return true;
    char a[256] = "", b[256] = "";
    for (int i = 0; i < ngot && strlen(a) < 200; i++)
        snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", i ? "," : "", (long long)got[i]);
    for (int i = 0; i < nwant && strlen(b) < 200; i++)
        snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", i ? "," : "", (long long)want[i]);
    return g_fail(g, "%s: expected posts [%s], got [%s]", what, b, a);
}

static bool q75_combined(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char word[16], tag[16], other[16];
    letters(g, word, 10);
    letters(g, tag, 8);
    letters(g, other, 8);
    json_int_t u = new_user(&k), u2 = u ? new_user(&k) : 0;
    if (!u2)
        return false;
    /* 8 posts: author x status x (tag, word in title) in every combination */
    json_int_t ids[8];
    bool pub[8], tagged[8], worded[8], mine[8];
    for (int i = 0; i < 8; i++) {
        mine[i] = i & 1, pub[i] = i & 2, tagged[i] = i & 4;
        worded[i] = (i % 3) != 0;
        char title[64];
        snprintf(title, sizeof title, "%s post %d", worded[i] ? word : "plain", i);
        json_t *tags = json_pack("[s]", tagged[i] ? tag : other);
        json_t *p = new_post(&k, mine[i] ? u : u2, title, "body", pub[i] ? "published" : "draft", tags);
        json_decref(tags);
        if (!p)
            return false;
        ids[i] = id_of(p);
        json_decref(p);
    }
    json_int_t want[8], got[100];
    int nw = 0;
    for (int i = 0; i < 8; i++)
        if (mine[i] && pub[i] && tagged[i] && worded[i])
            want[nw++] = ids[i];
    char t[256];
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&status=published&tag=%s&q=%s&limit=100", (long long)u, tag,
             word);
    int ng = list_ids(&k, t, got, 100);
    if (ng < 0 || !same_set(g, "author_id + status + tag + q", got, ng, want, nw))
        return false;
    nw = 0;
    for (int i = 0; i < 8; i++)
        if (tagged[i] && worded[i])
            want[nw++] = ids[i];
    snprintf(t, sizeof t, "/api/v1/posts?tag=%s&q=%s&limit=100&include_deleted=false", tag, word);
    ng = list_ids(&k, t, got, 100);
    return ng >= 0 && same_set(g, "tag + q (both statuses, both authors)", got, ng, want, nw);
}

static bool q75_dates(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    json_t *p = u ? new_post(&k, u, "dated", "x", "published", NULL) : NULL;
    if (!p)
        return false;
    json_int_t id = id_of(p);
    json_decref(p);
    char past[40], future[40], t[256];
    st_time_format_rfc3339(st_time_wall_ms() - 3600 * 1000LL, past);
    st_time_format_rfc3339(st_time_wall_ms() + 3600 * 1000LL, future);
    json_int_t got[100];
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&created_after=%s&created_before=%s&limit=100", (long long)u,
             past, future);
    int n = list_ids(&k, t, got, 100);
    if (n < 0 || !same_set(g, "created_after an hour ago and created_before in an hour", got, n, &id, 1))
        return false;
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&created_before=%s&limit=100", (long long)u, past);
    n = list_ids(&k, t, got, 100);
    if (n < 0 || !same_set(g, "created_before an hour ago", got, n, NULL, 0))
        return false;
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&created_after=%s&limit=100", (long long)u, future);
    n = list_ids(&k, t, got, 100);
    return n >= 0 && same_set(g, "created_after in an hour", got, n, NULL, 0);
}

static bool q75_bad(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    static const char *const bad[] = { "/api/v1/posts?status=archived", "/api/v1/posts?created_after=yesterday",
                                       "/api/v1/posts?author_id=abc", "/api/v1/posts?sort=password", NULL };
    for (const char *const *b = bad; *b; b++) {
        const struct st_http_resp *r = bget(&k, *b);
        if (!r || !bproblem(&k, r, 400, "invalid_parameter"))
            return false;
    }
    return true;
}

static const struct st_grade_check q75_checks[] = {
    { "author_id, status, tag and q combine (AND) into exactly the matching posts", q75_combined },
    { "created_after / created_before bound the creation time (exclusive)", q75_dates },
    { "a malformed filter value is 400 invalid_parameter", q75_bad },
    { NULL, NULL },
};
const struct st_grader st__grade_q75 = { "q75", 75, 0, NULL, q75_checks };

/* ---- Q80: a complete API ------------------------------------------------------------ */

/* The Location of a 201 answer, resolved: GET it must answer 200 with the same id. */
static bool location_resolves(struct bk *k, const struct st_http_resp *r, json_int_t id)
{
    const struct st_str *loc = st_http_resp_header(r, "Location");
    if (!loc || loc->len == 0 || loc->len > 200 || loc->ptr[0] != '/')
        return g_fail(k->g, "a 201 carries Location with the new resource's path");
    char t[256];
    snprintf(t, sizeof t, "%.*s", (int)loc->len, loc->ptr);
    json_t *o = bget_obj(k, t, 200);
    bool ok =
        o && (id_of(o) == id || g_fail(k->g, "GET %s (the Location) answers another resource: %s", t, g_json_text(o)));
    json_decref(o);
    return ok;
}

static bool q80_crud(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char w[16], email[64], t[128];
    letters(g, w, 12);
    snprintf(email, sizeof email, "%s@grade.test", w);
    json_t *b = json_pack("{s:s, s:s}", "name", w, "email", email);
    const struct st_http_resp *r = bdo(&k, "POST", "/api/v1/users", b, NULL, NULL);
    json_decref(b);
    json_t *u = bobj(&k, r, 201);
    if (!u || !location_resolves(&k, r, id_of(u))) {
        json_decref(u);
        return false;
    }
    json_int_t uid = id_of(u);
    json_decref(u);
    b = json_pack("{s:I, s:s, s:s}", "author_id", uid, "title", "crud", "body", "round trip");
    r = bdo(&k, "POST", "/api/v1/posts", b, NULL, NULL);
    json_decref(b);
    json_t *p = bobj(&k, r, 201);
    if (!p || !location_resolves(&k, r, id_of(p))) {
        json_decref(p);
        return false;
    }
    json_int_t pid = id_of(p);
    json_decref(p);
    snprintf(t, sizeof t, "/api/v1/posts/%lld/comments", (long long)pid);
    b = json_pack("{s:I, s:s}", "author_id", uid, "body", "hello");
    r = bdo(&k, "POST", t, b, NULL, NULL);
    json_decref(b);
    json_t *c = bobj(&k, r, 201);
    if (!c || !location_resolves(&k, r, id_of(c))) {
        json_decref(c);
        return false;
    }
    snprintf(t, sizeof t, "/api/v1/comments/%lld", (long long)id_of(c));
    json_decref(c);
    b = json_pack("{s:s}", "body", "edited");
    json_t *e = bobj(&k, bdo(&k, "PATCH", t, b, NULL, NULL), 200);
    json_decref(b);
    const char *eb = json_string_value(json_object_get(e, "body"));
    bool ok =
        e && ((eb && !strcmp(eb, "edited")) || g_fail(g, "PATCH must answer the changed comment: %s", g_json_text(e)));
    json_decref(e);
    r = ok ? bdo(&k, "DELETE", t, NULL, NULL, NULL) : NULL;
    if (!r || !g_status(g, r, 204) || !g_no_body(g, r, "204 No Content"))
        return false;
    r = bget(&k, t);
    return r && bproblem(&k, r, 404, "not_found");
}

static bool q80_negotiation(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    json_t *p = u ? new_post(&k, u, "title, with \"quotes\"", "csv", "published", NULL) : NULL;
    if (!p)
        return false;
    json_decref(p);
    char t[128];
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld", (long long)u);
    const struct st_http_resp *r = bdo(&k, "GET", t, NULL, "Accept", "text/csv");
    if (!r || !g_status(g, r, 200) || !g_ctype(g, r, "text/csv"))
        return false;
    const char *nl = memchr(r->body.data, '\n', r->body.len);
    if (!nl || !g_contains_ci(r->body.data, (size_t)(nl - r->body.data), "title"))
        return g_fail(g, "the CSV starts with a header row naming the fields (title ...)");
    if (!g_contains_ci(r->body.data, r->body.len, "\"title, with \"\"quotes\"\"\""))
        return g_fail(g, "CSV fields with commas and quotes are quoted, quotes doubled (RFC 4180)");
    const struct st_str *vary = st_http_resp_header(r, "Vary");
    if (!vary || !g_contains_ci(vary->ptr, vary->len, "accept"))
        return g_fail(g, "a negotiated answer carries Vary: Accept");
    r = bdo(&k, "GET", t, NULL, "Accept", "application/xml");
    if (!r || !bproblem(&k, r, 406, "not_acceptable"))
        return false;
    r = bdo(&k, "GET", t, NULL, "Accept", "*/*");
    return r && g_status(g, r, 200) && g_ctype(g, r, "application/json");
}

static bool q80_idempotency(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    if (!u)
        return false;
    char key[24], t[128];
    letters(g, key, 16);
    json_t *b = json_pack("{s:I, s:s, s:s}", "author_id", u, "title", key, "body", "once");
    json_t *first = bobj(&k, bdo(&k, "POST", "/api/v1/posts", b, "Idempotency-Key", key), 201);
    const struct st_http_resp *r = first ? bdo(&k, "POST", "/api/v1/posts", b, "Idempotency-Key", key) : NULL;
    json_t *second = r ? bobj(&k, r, 201) : NULL;
    json_decref(b);
    bool ok = second && (json_equal(first, second) || g_fail(g,
                                                             "a retry with the same key replays the same answer: "
                                                             "%s then %s",
                                                             g_json_text(first), g_json_text(second)));
    const struct st_str *rep = ok ? st_http_resp_header(r, "Idempotent-Replayed") : NULL;
    ok = ok && ((rep && g_contains_ci(rep->ptr, rep->len, "true")) ||
                g_fail(g, "a replayed answer carries Idempotent-Replayed: true"));
    json_decref(first);
    json_decref(second);
    if (!ok)
        return false;
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld", (long long)u);
    json_t *l = bget_obj(&k, t, 200);
    ok = l && data_of(&k, l) &&
         (json_array_size(json_object_get(l, "data")) == 1 ||
          g_fail(g, "two POSTs with one Idempotency-Key create one post: %s", g_json_text(l)));
    json_decref(l);
    if (!ok)
        return false;
    b = json_pack("{s:I, s:s, s:s}", "author_id", u, "title", "other", "body", "once");
    r = bdo(&k, "POST", "/api/v1/posts", b, "Idempotency-Key", key);
    json_decref(b);
    return r && bproblem(&k, r, 422, "idempotency_key_reused");
}

static bool q80_pages(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k), ids[7];
    int n = (int)g_range(g, 5, 7);
    for (int i = 0; u && i < n; i++) {
        json_t *p = new_post(&k, u, "paged", "x", "published", NULL);
        if (!p)
            return false;
        ids[i] = id_of(p);
        json_decref(p);
    }
    if (!u)
        return false;
    char t[512];
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=2&sort=id", (long long)u);
    json_int_t seen[16] = { 0 };
    int ns = 0;
    for (int page = 0; page < 8 && t[0]; page++) {
        json_t *l = bget_obj(&k, t, 200);
        json_t *d = l ? data_of(&k, l) : NULL;
        if (!d) {
            json_decref(l);
            return false;
        }
        size_t i;
        json_t *e;
        json_array_foreach(d, i, e) if (ns < 16) seen[ns++] = id_of(e);
        const char *next = json_string_value(json_object_get(json_object_get(l, "links"), "next"));
        snprintf(t, sizeof t, "%s", next ? next : "");
        json_decref(l);
    }
    bool ok = ns == n;
    for (int i = 0; ok && i < n; i++)
        ok = seen[i] == ids[i];
    return ok || g_fail(g,
                        "following links.next from limit=2&sort=id must give the author's %d posts once, in id "
                        "order; got %d rows",
                        n, ns);
}

static const struct st_grade_check q80_checks[] = {
    { "users, posts, comments: 201 with a Location that resolves, PATCH, DELETE 204, then 404", q80_crud },
    { "content negotiation: CSV with a header row and RFC 4180 quoting, Vary: Accept, 406, */* is JSON",
      q80_negotiation },
    { "Idempotency-Key: a retry replays the answer and creates nothing; another body is 422", q80_idempotency },
    { "links.next walks a list page by page, every row once in order", q80_pages },
    { NULL, NULL },
};
const struct st_grader st__grade_q80 = { "q80", 80, 0, NULL, q80_checks };

/* ---- Q71: resource routes ------------------------------------------------------------ */

/* A user, a post of theirs and a comment on it; ids into the out parameters. */
static bool tree(struct bk *k, json_int_t *user, json_int_t *post, json_int_t *comment)
{
    *user = new_user(k);
    json_t *p = *user ? new_post(k, *user, "tree", "x", "published", NULL) : NULL;
    if (!p)
        return false;
    *post = id_of(p);
    json_decref(p);
    char t[96];
    snprintf(t, sizeof t, "/api/v1/posts/%lld/comments", (long long)*post);
    json_t *b = json_pack("{s:I, s:s}", "author_id", *user, "body", "c");
    json_t *c = bobj(k, bdo(k, "POST", t, b, NULL, NULL), 201);
    json_decref(b);
    *comment = id_of(c);
    json_decref(c);
    return c != NULL;
}

static bool q71_reads(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u, p, c;
    if (!tree(&k, &u, &p, &c))
        return false;
    char t[8][96];
    snprintf(t[0], 96, "/api/v1/users");
    snprintf(t[1], 96, "/api/v1/users/%lld", (long long)u);
    snprintf(t[2], 96, "/api/v1/users/%lld/posts", (long long)u);
    snprintf(t[3], 96, "/api/v1/posts");
    snprintf(t[4], 96, "/api/v1/posts/%lld", (long long)p);
    snprintf(t[5], 96, "/api/v1/posts/%lld/comments", (long long)p);
    snprintf(t[6], 96, "/api/v1/comments/%lld", (long long)c);
    snprintf(t[7], 96, "/api/v1/search?q=tree");
    for (int i = 0; i < 8; i++) {
        json_t *o = bget_obj(&k, t[i], 200);
        if (!o)
            return false;
        json_decref(o);
    }
    return true;
}

static bool q71_methods(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    if (!u)
        return false;
    char t[96];
    snprintf(t, sizeof t, "/api/v1/users/%lld", (long long)u);
    static const struct {
        const char *method, *target, *must;
    } cases[] = { { "DELETE", "/api/v1/posts", "POST" },
                  { "PUT", NULL, "PATCH" },
                  { "POST", "/api/v1/search", "GET" } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *target = cases[i].target ? cases[i].target : t;
        const struct st_http_resp *r = bdo(&k, cases[i].method, target, NULL, NULL, NULL);
        if (!r || !g_status(g, r, 405))
            return false;
        const struct st_str *allow = st_http_resp_header(r, "Allow");
        if (!allow || !g_contains_ci(allow->ptr, allow->len, cases[i].must))
            return g_fail(g, "405 for %s %s carries Allow naming %s", cases[i].method, target, cases[i].must);
    }
    const struct st_http_resp *r = bget(&k, "/api/v1/no-such-resource");
    return r && (r->status == 404 || g_fail(g, "an unknown path answers 404, got %d", r->status));
}

static bool q71_nested(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u, p, c, u2, p2, c2;
    if (!tree(&k, &u, &p, &c) || !tree(&k, &u2, &p2, &c2))
        return false;
    char t[96];
    snprintf(t, sizeof t, "/api/v1/users/%lld/posts", (long long)u);
    json_t *l = bget_obj(&k, t, 200);
    bool ok = l && data_of(&k, l) &&
              ((json_array_size(json_object_get(l, "data")) == 1 && has_id(l, p)) ||
               g_fail(g, "GET %s lists that user's one post only: %s", t, g_json_text(l)));
    json_decref(l);
    snprintf(t, sizeof t, "/api/v1/posts/%lld/comments", (long long)p2);
    l = ok ? bget_obj(&k, t, 200) : NULL;
    ok = l && data_of(&k, l) &&
         ((json_array_size(json_object_get(l, "data")) == 1 && has_id(l, c2)) ||
          g_fail(g, "GET %s lists that post's one comment only: %s", t, g_json_text(l)));
    json_decref(l);
    snprintf(t, sizeof t, "/api/v1/posts/999999999999/comments");
    const struct st_http_resp *r = ok ? bget(&k, t) : NULL;
    return r && (r->status == 404 || g_fail(g, "the comments of a missing post answer 404, got %d", r->status));
}

static const struct st_grade_check q71_checks[] = {
    { "every read route answers 200 JSON (users, posts, comments, nested, search)", q71_reads },
    { "a method a resource does not support is 405 with Allow; an unknown path 404", q71_methods },
    { "nested routes reach exactly the owner's resources; a missing parent is 404", q71_nested },
    { NULL, NULL },
};
const struct st_grader st__grade_q71 = { "q71", 71, 0, NULL, q71_checks };

/* ---- Q72: status codes ---------------------------------------------------------------- */

static bool q72_success(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u, p, c;
    if (!tree(&k, &u, &p, &c)) /* 201s */
        return false;
    char t[96];
    snprintf(t, sizeof t, "/api/v1/comments/%lld", (long long)c);
    const struct st_http_resp *r = bdo(&k, "DELETE", t, NULL, NULL, NULL);
    if (!r || !g_status(g, r, 204) || !g_no_body(g, r, "204 No Content"))
        return false;
    r = bget(&k, t);
    return r && bproblem(&k, r, 404, "not_found");
}

static bool q72_client_errors(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    struct st_http_field h[2] = { { "X-API-Key", k.key }, { "Content-Type", "application/json" } };
    struct g_req bad = {
        .method = "POST", .target = "/api/v1/users", .body = "{\"name\": ", .headers = h, .nheaders = 2
    };
    const struct st_http_resp *r = g_do(g, &bad);
    if (!r || !bproblem(&k, r, 400, "malformed_json"))
        return false;
    struct g_req plain = { .method = "POST",
                           .target = "/api/v1/users",
                           .ctype = "text/plain",
                           .body = "name=x",
                           .headers = h,
                           .nheaders = 1 };
    r = g_do(g, &plain);
    if (!r || !bproblem(&k, r, 415, "unsupported_media_type"))
        return false;
    json_t *b = json_pack("{s:s}", "name", "no email");
    r = bdo(&k, "POST", "/api/v1/users", b, NULL, NULL);
    json_decref(b);
    if (!r || !bproblem(&k, r, 422, "validation_failed"))
        return false;
    r = bget(&k, "/api/v1/posts?limit=0");
    return r && bproblem(&k, r, 400, "invalid_parameter");
}

static bool q72_conflicts(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char w[16], email[64];
    letters(g, w, 12);
    snprintf(email, sizeof email, "%s@grade.test", w);
    json_t *b = json_pack("{s:s, s:s}", "name", w, "email", email);
    json_t *u = bobj(&k, bdo(&k, "POST", "/api/v1/users", b, NULL, NULL), 201);
    const struct st_http_resp *r = u ? bdo(&k, "POST", "/api/v1/users", b, NULL, NULL) : NULL;
    json_decref(b);
    json_t *pj = r ? g_problem(g, r, 409, true, true) : NULL;
    const char *code = json_string_value(json_object_get(pj, "code"));
    bool ok = pj && ((code && (!strcmp(code, "email_taken") || !strcmp(code, "conflict"))) ||
                     g_fail(g, "a taken email is 409 with code email_taken (or conflict): %s", g_json_text(pj)));
    json_decref(pj);
    json_int_t uid = id_of(u);
    json_decref(u);
    if (!ok)
        return false;
    json_t *p = new_post(&k, uid, "pre", "x", "draft", NULL);
    if (!p)
        return false;
    char t[96];
    snprintf(t, sizeof t, "/api/v1/posts/%lld", (long long)id_of(p));
    json_decref(p);
    b = json_pack("{s:s}", "title", "changed");
    r = bdo(&k, "PATCH", t, b, NULL, NULL);
    ok = r && bproblem(&k, r, 428, "precondition_required");
    char stale[48];
    snprintf(stale, sizeof stale, "\"%s-99\"", strrchr(t, '/') + 1);
    r = ok ? bdo(&k, "PATCH", t, b, "If-Match", stale) : NULL;
    ok = r && bproblem(&k, r, 412, "precondition_failed");
    json_decref(b);
    return ok;
}

static const struct st_grade_check q72_checks[] = {
    { "201 for creations, 204 for a delete, then 404", q72_success },
    { "400 malformed JSON, 415 a non-JSON body, 422 a missing field, 400 a bad parameter", q72_client_errors },
    { "409 a taken email, 428 an update without If-Match, 412 a stale one", q72_conflicts },
    { NULL, NULL },
};
const struct st_grader st__grade_q72 = { "q72", 72, 0, NULL, q72_checks };

/* ---- Q74: pagination, filtering, sorting ---------------------------------------------- */

/* n posts by a new author with random titles; their ids (in creation order) into ids. */
static json_int_t dataset(struct bk *k, json_int_t *ids, int n)
{
    json_int_t u = new_user(k);
    for (int i = 0; u && i < n; i++) {
        char title[24];
        letters(k->g, title, 12);
        json_t *p = new_post(k, u, title, "page", "published", NULL);
        if (!p)
            return 0;
        ids[i] = id_of(p);
        json_decref(p);
    }
    return u;
}

/* Walk target's pages through links.next; ids in order into out; the count or -1. */
static int walk(struct bk *k, const char *target, json_int_t *out, int cap)
{
    char t[1024];
    snprintf(t, sizeof t, "%s", target);
    int n = 0;
    for (int page = 0; page < 64 && t[0]; page++) {
        json_t *l = bget_obj(k, t, 200);
        json_t *d = l ? data_of(k, l) : NULL;
        if (!d) {
            json_decref(l);
            return -1;
        }
        size_t i;
        json_t *e;
        json_array_foreach(d, i, e) if (n < cap) out[n++] = id_of(e);
        const char *next = json_string_value(json_object_get(json_object_get(l, "links"), "next"));
        snprintf(t, sizeof t, "%s", next ? next : "");
        json_decref(l);
    }
    return n;
}

static bool q74_pages(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t ids[24], got[64], got2[64];
    int n = (int)g_range(g, 11, 23);
    json_int_t u = dataset(&k, ids, n);
    if (!u)
        return false;
    int lim = (int)g_range(g, 2, 5);
    char t[256];
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=%d&sort=-id", (long long)u, lim);
    int a = walk(&k, t, got, 64);
    if (a < 0)
        return false;
    bool ok = a == n;
    for (int i = 0; ok && i < n; i++)
        ok = got[i] == ids[n - 1 - i];
    if (!ok)
        return g_fail(g, "offset pages of %d (sort=-id) must give the author's %d posts once, newest id first; got %d",
                      lim, n, a);
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=%d&sort=-id&cursor=", (long long)u, lim);
    int b = walk(&k, t, got2, 64);
    if (b < 0)
        return false;
    ok = b == a && !memcmp(got, got2, (size_t)a * sizeof *got);
    return ok || g_fail(g, "cursor pages (cursor= to start) must give the same rows as offset pages; got %d rows", b);
}

static bool q74_cursor_stable(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t ids[8];
    json_int_t u = dataset(&k, ids, 8);
    if (!u)
        return false;
    char t[256];
    snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=3&sort=-id&cursor=", (long long)u);
    json_t *p1 = bget_obj(&k, t, 200);
    const char *next = json_string_value(json_object_get(json_object_get(p1, "links"), "next"));
    if (!p1 || !next) {
        json_decref(p1);
        return p1 ? g_fail(g, "a first cursor page of 3 of 8 rows has links.next") : false;
    }
    char nt[1024];
    snprintf(nt, sizeof nt, "%s", next);
    json_t *ins = new_post(&k, u, "inserted", "between pages", "published", NULL); /* newest: sorts first */
    json_decref(ins);
    json_t *p2 = ins ? bget_obj(&k, nt, 200) : NULL;
    bool ok = p2 && data_of(&k, p2);
    for (int i = 0; ok && i < 3; i++)
        ok = id_of(json_array_get(json_object_get(p2, "data"), (size_t)i)) == ids[4 - i] ||
             g_fail(g, "after a row was inserted, the next cursor page must continue where the first ended: %s",
                    g_json_text(json_object_get(p2, "data")));
    const char *prev = ok ? json_string_value(json_object_get(json_object_get(p2, "links"), "prev")) : NULL;
    ok = ok && (prev || g_fail(g, "a second cursor page has links.prev"));
    if (ok) {
        snprintf(nt, sizeof nt, "%s", prev);
        json_t *back = bget_obj(&k, nt, 200);
        ok = back && data_of(&k, back);
        for (int i = 0; ok && i < 3; i++)
            ok = id_of(json_array_get(json_object_get(back, "data"), (size_t)i)) == ids[7 - i] ||
                 g_fail(g, "links.prev of the second page gives the first page again: %s",
                        g_json_text(json_object_get(back, "data")));
        json_decref(back);
    }
    json_decref(p1);
    json_decref(p2);
    return ok;
}

static bool q74_sorts(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t ids[6];
    json_int_t u = dataset(&k, ids, 6);
    if (!u)
        return false;
    static const char *const fields[] = { "title", "-title", "id", "-id", "created_at", "-comment_count" };
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        char t[256];
        snprintf(t, sizeof t, "/api/v1/posts?author_id=%lld&limit=100&sort=%s", (long long)u, fields[f]);
        json_t *l = bget_obj(&k, t, 200);
        json_t *d = l ? data_of(&k, l) : NULL;
        if (!d) {
            json_decref(l);
            return false;
        }
        const char *name = fields[f][0] == '-' ? fields[f] + 1 : fields[f];
        bool desc = fields[f][0] == '-', ok = json_array_size(d) == 6;
        for (size_t i = 1; ok && i < json_array_size(d); i++) {
            json_t *a = json_object_get(json_array_get(d, i - 1), name),
                   *b = json_object_get(json_array_get(d, i), name);
            int cmp = json_is_string(a) ? strcmp(json_string_value(a), json_string_value(b))
                                        : (json_integer_value(a) > json_integer_value(b)) -
                                              (json_integer_value(a) < json_integer_value(b));
            ok = desc ? cmp >= 0 : cmp <= 0;
        }
        if (!ok) {
            g_fail(g, "sort=%s must order the author's 6 posts by %s%s: %s", fields[f], name, desc ? " descending" : "",
                   g_json_text(d));
            json_decref(l);
            return false;
        }
        json_decref(l);
    }
    return true;
}

static bool q74_bad(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    static const char *const bad[] = { "limit=0",        "limit=1000", "limit=-1", "offset=-1",
                                       "cursor=garbage", "sort=nope",  NULL };
    for (const char *const *b = bad; *b; b++) {
        char t[64];
        snprintf(t, sizeof t, "/api/v1/posts?%s", *b);
        const struct st_http_resp *r = bget(&k, t);
        if (!r || !bproblem(&k, r, 400, "invalid_parameter"))
            return false;
    }
    return true;
}

static const struct st_grade_check q74_checks[] = {
    { "offset pages and cursor pages each give every row once, in order", q74_pages },
    { "cursor pages do not shift when a row is inserted; links.prev goes back", q74_cursor_stable },
    { "sort on title, id, created_at, comment_count in both directions", q74_sorts },
    { "limit 0, 1000, -1, offset -1, a forged cursor, an unknown sort: 400", q74_bad },
    { NULL, NULL },
};
const struct st_grader st__grade_q74 = { "q74", 74, 0, NULL, q74_checks };

/* ---- Q77: validation ------------------------------------------------------------------ */

/* The sorted "field"s of a 422's errors[], joined with ','; false after g_fail. */
static bool error_fields(struct bk *k, const struct st_http_resp *r, char *out, size_t cap)
{
    if (!bproblem(k, r, 422, "validation_failed"))
        return false;
    json_t *p = g_json(k->g, r);
    const char *names[16];
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(p, "errors"), i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        if (f && n < 16)
            names[n++] = f;
    }
    for (size_t a = 0; a < n; a++) /* insertion sort: a handful */
        for (size_t b = a; b > 0 && strcmp(names[b - 1], names[b]) > 0; b--) {
            const char *t = names[b];
            names[b] = names[b - 1];
            names[b - 1] = t;
        }
    out[0] = 0;
    for (size_t a = 0; a < n; a++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", a ? "," : "", names[a]);
    json_decref(p);
    return true;
}

static bool q77_all_fields(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_t *b = json_pack("{s:i, s:s, s:b}", "name", 5, "email", "not-an-email", "admin", 1);
    const struct st_http_resp *r = bdo(&k, "POST", "/api/v1/users", b, NULL, NULL);
    json_decref(b);
    char f[256];
    if (!r || !error_fields(&k, r, f, sizeof f))
        return false;
    if (strcmp(f, "admin,email,name") != 0)
        return g_fail(g,
                      "a user with a number name, a bad email and an unknown field: errors[] must name all three "
                      "(admin, email, name), got [%s]",
                      f);
    json_int_t u = new_user(&k);
    b = json_pack("{s:I, s:i, s:s, s:s, s:[s,s], s:i}", "author_id", u, "title", 7, "body", "ok", "status", "gone",
                  "tags", "ok", "Not OK", "id", 5);
    r = u ? bdo(&k, "POST", "/api/v1/posts", b, NULL, NULL) : NULL;
    json_decref(b);
    if (!r || !error_fields(&k, r, f, sizeof f))
        return false;
    return !strcmp(f, "id,status,tags[1],title") ||
           g_fail(g,
                  "a post with a number title, a bad status, a bad second tag and an id: errors[] must name "
                  "id, status, tags[1], title; got [%s]",
                  f);
}

static bool q77_limits(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    if (!u)
        return false;
    char *long_title = malloc(202);
    memset(long_title, 'x', 201);
    long_title[201] = 0;
    json_t *b = json_pack("{s:I, s:s, s:s, s:[s,s,s,s,s,s,s,s,s,s,s]}", "author_id", u, "title", long_title, "body", "",
                          "tags", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k");
    free(long_title);
    const struct st_http_resp *r = bdo(&k, "POST", "/api/v1/posts", b, NULL, NULL);
    json_decref(b);
    char f[256];
    if (!r || !error_fields(&k, r, f, sizeof f))
        return false;
    if (strcmp(f, "tags,title") != 0)
        return g_fail(g, "a 201-character title and 11 tags: errors[] must name tags and title, got [%s]", f);
    b = json_pack("{s:I, s:s}", "author_id", u, "body", "no title");
    r = bdo(&k, "POST", "/api/v1/posts", b, NULL, NULL);
    json_decref(b);
    if (!r || !error_fields(&k, r, f, sizeof f))
        return false;
    return !strcmp(f, "title") || g_fail(g, "a post without title: errors[] names title, got [%s]", f);
}

static bool q77_nothing_written(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    if (!u)
        return false;
    for (int i = 0; i < 3; i++) {
        json_t *b = json_pack("{s:I, s:s, s:s, s:s}", "author_id", u, "title", "t", "body", "b", "status",
                              i == 0   ? "bogus"
                              : i == 1 ? "draft"
                                       : "published");
        if (i)
            json_object_set_new(b, "tags", json_pack("[s]", i == 1 ? "UPPER" : "x y"));
        const struct st_http_resp *r = bdo(&k, "POST", "/api/v1/posts", b, NULL, NULL);
        json_decref(b);
        if (!r || !g_status(g, r, 422))
            return false;
    }
    char t[96];
    snprintf(t, sizeof t, "/api/v1/users/%lld/posts", (long long)u);
    json_t *l = bget_obj(&k, t, 200);
    bool ok = l && data_of(&k, l) &&
              (json_array_size(json_object_get(l, "data")) == 0 ||
               g_fail(g, "rejected bodies must write nothing: %s", g_json_text(l)));
    json_decref(l);
    return ok;
}

static bool q77_valid_conforms(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    json_int_t u = new_user(&k);
    json_t *tags = json_pack("[s,s]", "db", "c-lang");
    json_t *p = u ? new_post(&k, u, "Valid", "", "draft", tags) : NULL;
    json_decref(tags);
    if (!p)
        return false;
    bool ok = (json_is_integer(json_object_get(p, "id")) && json_is_string(json_object_get(p, "title")) &&
               json_is_string(json_object_get(p, "body")) && json_is_array(json_object_get(p, "tags")) &&
               json_integer_value(json_object_get(p, "version")) == 1 &&
               json_integer_value(json_object_get(p, "comment_count")) == 0 &&
               json_is_string(json_object_get(p, "created_at")) &&
               !strcmp(json_string_value(json_object_get(p, "status")), "draft")) ||
              g_fail(g, "a created post answers the contract's fields with their types: %s", g_json_text(p));
    json_decref(p);
    return ok;
}

static const struct st_grade_check q77_checks[] = {
    { "every bad field is listed in one 422 (types, format, enum, pattern, unknown and read-only fields)",
      q77_all_fields },
    { "lengths and counts: a too long title, too many tags, a missing field", q77_limits },
    { "a rejected body writes nothing", q77_nothing_written },
    { "a valid body (empty body text, two tags) is accepted and answered with typed fields", q77_valid_conforms },
    { NULL, NULL },
};
const struct st_grader st__grade_q77 = { "q77", 77, 0, NULL, q77_checks };

/* ---- Q79: errors ---------------------------------------------------------------------- */

/* r is an RFC 9457 problem with every member the contract asks for. */
static bool full_problem(struct bk *k, const struct st_http_resp *r, int status, const char *code)
{
    json_t *p = r ? g_problem(k->g, r, status, true, true) : NULL;
    if (!p)
        return false;
    const char *c = json_string_value(json_object_get(p, "code"));
    bool ok = (json_is_string(json_object_get(p, "type")) && json_is_string(json_object_get(p, "detail")) && c &&
               !strcmp(c, code)) ||
              g_fail(k->g, "a %d problem needs type, title, status, detail and code \"%s\": %s", status, code,
                     g_json_text(p));
    json_decref(p);
    return ok;
}

static bool q79_kinds(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    const struct st_http_resp *r = bget(&k, "/api/v1/posts/999999999999");
    if (!full_problem(&k, r, 404, "not_found"))
        return false;
    r = bdo(&k, "DELETE", "/api/v1/posts", NULL, NULL, NULL);
    if (!full_problem(&k, r, 405, "method_not_allowed"))
        return false;
    r = bget(&k, "/api/v1/posts?limit=abc");
    if (!full_problem(&k, r, 400, "invalid_parameter"))
        return false;
    r = bdo(&k, "GET", "/api/v1/users", NULL, "Accept", "application/xml");
    return full_problem(&k, r, 406, "not_acceptable");
}

static bool q79_fields(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    const struct st_http_resp *r = bget(&k, "/api/v1/posts?limit=0&sort=nope");
    if (!full_problem(&k, r, 400, "invalid_parameter"))
        return false;
    json_t *p = g_json(g, r);
    bool lim = false, sort = false;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(p, "errors"), i, e)
    {
        const char *f = json_string_value(json_object_get(e, "field"));
        lim |= f && !strcmp(f, "limit");
        sort |= f && !strcmp(f, "sort");
        if (!json_is_string(json_object_get(e, "code")) || !json_is_string(json_object_get(e, "message")))
            lim = sort = false;
    }
    bool ok = (lim && sort) ||
              g_fail(g, "errors[] of a 400 lists each bad parameter (limit and sort) with a code and a message: %s",
                     g_json_text(p));
    json_decref(p);
    if (!ok)
        return false;
    json_t *b = json_pack("{s:s}", "email", "x@y.z");
    r = bdo(&k, "POST", "/api/v1/users", b, NULL, NULL);
    json_decref(b);
    return full_problem(&k, r, 422, "validation_failed");
}

static bool q79_no_leak(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    static const char *const probes[] = { "/api/v1/posts?sort=title%27%3B--", "/api/v1/posts?q=%27%22%5C%00",
                                          "/api/v1/posts?author_id=1%20OR%201=1", NULL };
    for (const char *const *p = probes; *p; p++) {
        const struct st_http_resp *r = bget(&k, *p);
        if (!r)
            return false;
        if (r->status >= 500)
            return g_fail(g, "GET %s answers %d: bad input must be a 4xx, not a server error", *p, r->status);
        if (g_contains_ci(r->body.data, r->body.len, "syntax") || g_contains_ci(r->body.data, r->body.len, "sqlite") ||
            g_contains_ci(r->body.data, r->body.len, "postgres"))
            return g_fail(g, "GET %s shows database words to the client", *p);
    }
    return true;
}

static const struct st_grade_check q79_checks[] = {
    { "404, 405, 400 and 406 are problem+json with type, title, status, detail and the contract's code", q79_kinds },
    { "errors[] names every bad parameter or field, each with a code and a message", q79_fields },
    { "SQL metacharacters in parameters give a 4xx or data, never a 5xx or database words", q79_no_leak },
    { NULL, NULL },
};
const struct st_grader st__grade_q79 = { "q79", 79, 0, NULL, q79_checks };

/* ---- Q117: optimistic locking ---------------------------------------------------------- */

/* The ETag of r as a C string into out ("" when absent). */
static void etag_of(const struct st_http_resp *r, char *out, size_t cap)
{
    const struct st_str *e = st_http_resp_header(r, "ETag");
    snprintf(out, cap, "%.*s", e ? (int)e->len : 0, e ? e->ptr : "");
}

/* A new post; its path into t and its current ETag into tag. */
static bool q117_post(struct bk *k, char *t, size_t tcap, char *tag, size_t gcap)
{
    json_int_t u = new_user(k);
    json_t *p = u ? new_post(k, u, "locked", "v1", "draft", NULL) : NULL;
    if (!p)
        return false;
    snprintf(t, tcap, "/api/v1/posts/%lld", (long long)id_of(p));
    json_decref(p);
    const struct st_http_resp *r = bget(k, t);
    if (!r || !g_status(k->g, r, 200))
        return false;
    etag_of(r, tag, gcap);
    return true;
}

static bool q117_etag(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char t[96], tag[64], tag2[64];
    if (!q117_post(&k, t, sizeof t, tag, sizeof tag))
        return false;
    size_t n = strlen(tag);
    if (n < 3 || tag[0] != '"' || tag[n - 1] != '"')
        return g_fail(g, "GET %s carries a strong ETag (\"...\", not W/), got '%s'", t, tag);
    const struct st_http_resp *r = bdo(&k, "GET", t, NULL, "If-None-Match", tag);
    if (!r || !g_status(g, r, 304) || !g_no_body(g, r, "304 Not Modified"))
        return false;
    json_t *b = json_pack("{s:s}", "title", "changed");
    json_t *p = bobj(&k, bdo(&k, "PATCH", t, b, "If-Match", tag), 200);
    json_decref(b);
    if (!p)
        return false;
    bool ok = json_integer_value(json_object_get(p, "version")) == 2 ||
              g_fail(g, "an update makes version 2: %s", g_json_text(p));
    json_decref(p);
    r = ok ? bget(&k, t) : NULL;
    if (!r || !g_status(g, r, 200))
        return false;
    etag_of(r, tag2, sizeof tag2);
    if (!strcmp(tag, tag2) || !tag2[0])
        return g_fail(g, "the ETag changes with an update: %s before and after", tag);
    r = bdo(&k, "GET", t, NULL, "If-None-Match", tag);
    return r && (r->status == 200 ||
                 g_fail(g, "If-None-Match with the old ETag gets the new post (200), got %d", r->status));
}

static bool q117_preconditions(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char t[96], tag[64];
    if (!q117_post(&k, t, sizeof t, tag, sizeof tag))
        return false;
    json_t *b = json_pack("{s:s}", "title", "first");
    json_t *p = bobj(&k, bdo(&k, "PATCH", t, b, "If-Match", tag), 200); /* tag is now stale */
    json_decref(p);
    json_decref(b);
    if (!p)
        return false;
    b = json_pack("{s:s}", "title", "lost update");
    const struct st_http_resp *r = bdo(&k, "PATCH", t, b, NULL, NULL);
    bool ok = r && bproblem(&k, r, 428, "precondition_required");
    r = ok ? bdo(&k, "PATCH", t, b, "If-Match", tag) : NULL;
    ok = r && bproblem(&k, r, 412, "precondition_failed");
    json_decref(b);
    json_t *now = ok ? bget_obj(&k, t, 200) : NULL;
    const char *title = json_string_value(json_object_get(now, "title"));
    ok =
        now && ((title && !strcmp(title, "first")) ||
                g_fail(g, "a refused update changes nothing: the title must still be \"first\": %s", g_json_text(now)));
    json_decref(now);
    return ok;
}

/* N clients PATCH with the same ETag at once. */
#define RACERS 8
struct racer {
    const char *target, *tag, *key;
    char body[64];
    int status;
    pthread_barrier_t *start;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct st_http_client *c = NULL;
    struct st_error err = { 0 };
    r->status = -1;
    if (st_http_client_new(NULL, r->target, NULL, &c, &err) == 0) {
        struct st_http_field h[3] = { { "X-API-Key", r->key },
                                      { "If-Match", r->tag },
                                      { "Content-Type", "application/json" } };
        struct st_http_exchange x;
        st_http_exchange_init(&x);
        const char *path = strstr(r->target + 7, "/");
        x.method = "PATCH";
        x.target = path;
        x.headers = h;
        x.nheaders = 3;
        x.body = r->body;
        x.body_len = strlen(r->body);
        pthread_barrier_wait(r->start);
        if (st_http_client_exec(c, &x) == 0 && x.nresp == 1)
            r->status = x.resp[0].status;
        st_http_exchange_release(&x);
        st_http_client_free(c);
    } else {
        pthread_barrier_wait(r->start);
    }
    return NULL;
}

static bool q117_race(struct st_grade *g)
{
    struct bk k;
    bk_init(&k, g);
    char t[96], tag[64], url[256];
    if (!q117_post(&k, t, sizeof t, tag, sizeof tag))
        return false;
    snprintf(url, sizeof url, "http://%s%s", g->target, t);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, RACERS);
    struct racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (struct racer){ .target = url, .tag = tag, .key = k.key, .start = &start };
        snprintf(rs[i].body, sizeof rs[i].body, "{\"body\":\"racer %d\"}", i);
        pthread_create(&th[i], NULL, race, &rs[i]);
    }
    int won = 0, lost = 0;
    char seen[128] = "";
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        won += rs[i].status == 200;
        lost += rs[i].status == 412;
        snprintf(seen + strlen(seen), sizeof seen - strlen(seen), " %d", rs[i].status);
    }
    pthread_barrier_destroy(&start);
    if (won != 1 || lost != RACERS - 1)
        return g_fail(g,
                      "%d concurrent PATCHes with the same If-Match: exactly one 200 and %d 412 expected, got%s "
                      "(-1: no answer)",
                      RACERS, RACERS - 1, seen);
    json_t *now = bget_obj(&k, t, 200);
    bool ok = now && (json_integer_value(json_object_get(now, "version")) == 2 ||
                      g_fail(g, "after the race the version is 2: %s", g_json_text(now)));
    json_decref(now);
    return ok;
}

static const struct st_grade_check q117_checks[] = {
    { "a strong ETag; If-None-Match 304; an update bumps version and ETag", q117_etag },
    { "PATCH without If-Match is 428, with a stale one 412 and nothing changes", q117_preconditions },
    { "8 concurrent PATCHes with one ETag: exactly one 200, seven 412", q117_race },
    { NULL, NULL },
};
const struct st_grader st__grade_q117 = { "q117", 117, 0, NULL, q117_checks };
