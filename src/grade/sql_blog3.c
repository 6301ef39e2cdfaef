/*
 * sql_blog3.c - the SQL-file graders that judge changes of state: Q39 (a transaction that
 * moves a post and its comments into archive tables) and Q115 (a PostgreSQL function that
 * publishes a post).
 *
 * Q39 runs the learner's statements one by one on a connection of their own, as a client
 * that stops at the first error and then disconnects would: a transaction left open is
 * rolled back by the disconnect. To see atomicity, the grader plants a failure midway (a
 * trigger that raises while copying one comment, or while deleting the post) and requires
 * that nothing changed at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grade/internal.h"
#include "grade/sql_blog.h"
#include "sql/sql.h"

/* The archive tables of Q39 (both backends). */
static const char archive_sql[] =
    "CREATE TABLE posts_archive (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL,"
    " body TEXT NOT NULL, status TEXT NOT NULL, created_at TIMESTAMP NOT NULL,"
    " archived_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);"
    "CREATE TABLE comments_archive (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts_archive(id),"
    " user_id INTEGER NOT NULL, body TEXT NOT NULL, created_at TIMESTAMP NOT NULL);";

/* Everything a transfer may touch, as text (archived_at left out: it is the time of the run). */
static const char *const state_sql[] = {
    "SELECT id, user_id, title, body, status, created_at FROM posts ORDER BY id",
    "SELECT id, post_id, user_id, body, created_at FROM comments ORDER BY id",
    "SELECT post_id, tag_id FROM post_tags ORDER BY post_id, tag_id",
    "SELECT id, user_id, title, body, status, created_at FROM posts_archive ORDER BY id",
    "SELECT id, post_id, user_id, body, created_at FROM comments_archive ORDER BY id",
};
static const char *const state_names[] = { "posts", "comments", "post_tags", "posts_archive", "comments_archive" };
#define NSTATE 5

struct state {
    struct sqlb_rows t[NSTATE];
};

static void state_free(struct state *s)
{
    for (int i = 0; i < NSTATE; i++)
        sqlb_rows_free(&s->t[i]);
}

static bool state_read(struct st_grade *g, struct sqlb *b, struct state *s)
{
    *s = (struct state){ 0 };
    for (int i = 0; i < NSTATE; i++)
        if (!sqlb_select(g, b->db, state_sql[i], NULL, 0, &s->t[i]))
            return false;
    return true;
}

static bool state_same(struct st_grade *g, const struct state *want, const struct state *got, const char *when)
{
    for (int i = 0; i < NSTATE; i++) {
        char what[160];
        snprintf(what, sizeof what, "%s: table %s", when, state_names[i]);
        if (!sqlb_rows_same(g, &want->t[i], &got->t[i], what))
            return false;
    }
    return true;
}

/*
 * Run the learner's statements with :post_id = post on a connection of their own, stopping
 * at the first error, then disconnect. 0 when every statement ran; else the failing
 * statement's status, its message in msg. false (g_fail) when the grader itself failed.
 */
static bool run_transfer(struct st_grade *g, struct sqlb *b, int64_t post, int *status, char *msg, size_t cap)
{
    static const char *const p_post[] = { "post_id", NULL };
    struct st_sql_db *db = NULL;
    if (!sqlb_connect(g, b, &db))
        return false;
    char **v = NULL;
    int n = sqlb_split(sqlb_text(g), &v);
    bool ok = true, used = false;
    *status = 0;
    msg[0] = '\0';
    if (n == 0)
        ok = g_fail(g, "the file holds no statement");
    for (int i = 0; ok && i < n && !*status; i++) {
        struct sqlb_query q = { 0 };
        if (!sqlb_prepare(g, db, v[i], p_post, &q)) {
            /* a statement that does not prepare (e.g. an unknown table) is the learner's
             * error like any other: report it as the check's failure */
            ok = false;
            break;
        }
        used |= q.nnames > 0;
        sqlb_bind(&q, "post_id", post);
        struct sqlb_rows r = { 0 };
        struct st_error err = { 0 };
        *status = sqlb_rows_read(q.st, &r, &err);
        if (*status)
            snprintf(msg, cap, "statement %d (%s): %s", i + 1, g_quote(v[i], strlen(v[i]), 80), err.msg);
        sqlb_rows_free(&r);
        sqlb_query_free(&q);
    }
    if (ok && !used)
        ok = g_fail(g, "no statement uses :post_id (the post to archive)");
    sqlb_split_free(v, n);
    st_sql_close(db); /* the disconnect: a transaction still open is rolled back */
    return ok;
}

/* A fresh fixture with the archive tables. */
static bool transfer_setup(struct st_grade *g, struct sqlb *b)
{
    return sqlb_open(g, b) && sqlb_canon(g, b, 1) && sqlb_exec(g, b, archive_sql, "creating the archive tables");
}

/* A post with at least min_comments comments (exactly 0 when min_comments is 0). */
static bool pick_post(struct st_grade *g, struct sqlb *b, int min_comments, int64_t *post)
{
    struct sqlb_rows r = { 0 };
    int64_t m = min_comments;
    bool ok =
        sqlb_select(g, b->db,
                    min_comments ? "SELECT post_id FROM comments GROUP BY post_id HAVING count(*) >= $1 ORDER BY 1"
                                 : "SELECT id FROM posts WHERE id NOT IN (SELECT post_id FROM comments) AND"
                                   " $1 = 0 ORDER BY 1",
                    &m, 1, &r);
    if (ok && r.n == 0)
        ok = g_fail(g, "the fixture has no post with %s comments (a grader bug)", min_comments ? "several" : "no");
    if (ok)
        *post = strtoll(r.v[g_range(g, 0, (int64_t)r.n - 1)], NULL, 10);
    sqlb_rows_free(&r);
    return ok;
}

/* Run the transfer of post: its row and comments must move to the archives unchanged, its
 * tags go, and every other row stays as it was. */
static bool moved(struct st_grade *g, struct sqlb *b, int64_t post, int min_comments)
{
    static const char post_sql[] = "SELECT id, user_id, title, body, status, created_at FROM posts WHERE id = $1";
    static const char arch_sql[] =
        "SELECT id, user_id, title, body, status, created_at FROM posts_archive WHERE id = $1";
    static const char com_sql[] = "SELECT id, post_id, user_id, body, created_at FROM comments WHERE post_id = $1 "
                                  "ORDER BY id";
    static const char carch_sql[] = "SELECT id, post_id, user_id, body, created_at FROM comments_archive WHERE "
                                    "post_id = $1 ORDER BY id";
    static const char other_posts[] = "SELECT id, user_id, title, body, status, created_at FROM posts WHERE id <> $1 "
                                      "ORDER BY id";
    static const char other_comments[] = "SELECT id, post_id, user_id, body, created_at FROM comments WHERE "
                                         "post_id <> $1 ORDER BY id";
    static const char other_tags[] = "SELECT post_id, tag_id FROM post_tags WHERE post_id <> $1 ORDER BY 1, 2";
    static const char *const keep[] = { other_posts, other_comments, other_tags };
    struct sqlb_rows p0 = { 0 }, c0 = { 0 }, k0[3] = { 0 }, a1 = { 0 }, ca1 = { 0 };
    struct sqlb_rows left = { 0 }, lc = { 0 }, lt = { 0 }, k1 = { 0 };
    bool ok = sqlb_select(g, b->db, post_sql, &post, 1, &p0) && sqlb_select(g, b->db, com_sql, &post, 1, &c0);
    for (int i = 0; ok && i < 3; i++)
        ok = sqlb_select(g, b->db, keep[i], &post, 1, &k0[i]);
    if (ok && (p0.n != 1 || (int)c0.n < min_comments))
        ok = g_fail(g, "post %lld is not as the grader set it up (a grader bug)", (long long)post);
    int status = 0;
    char msg[600];
    ok = ok && run_transfer(g, b, post, &status, msg, sizeof msg);
    if (ok && status)
        ok = g_fail(g, ":post_id = %lld: %s", (long long)post, msg);
    ok = ok && sqlb_select(g, b->db, post_sql, &post, 1, &left) && sqlb_select(g, b->db, com_sql, &post, 1, &lc) &&
         sqlb_select(g, b->db, "SELECT post_id, tag_id FROM post_tags WHERE post_id = $1", &post, 1, &lt) &&
         sqlb_select(g, b->db, arch_sql, &post, 1, &a1) && sqlb_select(g, b->db, carch_sql, &post, 1, &ca1);
    if (ok && (left.n || lc.n || lt.n))
        ok = g_fail(g,
                    ":post_id = %lld: after the transfer posts still holds %zu row(s), comments %zu, post_tags %zu "
                    "of the post (did it COMMIT?)",
                    (long long)post, left.n, lc.n, lt.n);
    ok = ok && sqlb_rows_same(g, &p0, &a1, "posts_archive: the post's row") &&
         sqlb_rows_same(g, &c0, &ca1, "comments_archive: the post's comments");
    for (int i = 0; ok && i < 3; i++) {
        ok = sqlb_select(g, b->db, keep[i], &post, 1, &k1) && sqlb_rows_same(g, &k0[i], &k1,
                                                                             i == 0   ? "the other posts"
                                                                             : i == 1 ? "other posts' comments"
                                                                                      : "other posts' tags");
        sqlb_rows_free(&k1);
    }
    sqlb_rows_free(&p0);
    sqlb_rows_free(&c0);
    for (int i = 0; i < 3; i++)
        sqlb_rows_free(&k0[i]);
    sqlb_rows_free(&left);
    sqlb_rows_free(&lc);
    sqlb_rows_free(&lt);
    sqlb_rows_free(&a1);
    sqlb_rows_free(&ca1);
    return ok;
}

static bool c_move_with_comments(struct st_grade *g)
{
    struct sqlb b;
    int64_t post = 0;
    bool ok = transfer_setup(g, &b) && pick_post(g, &b, 2, &post) && moved(g, &b, post, 2);
    sqlb_close(g, &b);
    return ok;
}

static bool c_move_without_comments(struct st_grade *g)
{
    struct sqlb b;
    int64_t post = 0;
    bool ok = transfer_setup(g, &b) && pick_post(g, &b, 0, &post) && moved(g, &b, post, 0);
    sqlb_close(g, &b);
    return ok;
}

/* Plant a trigger that raises while the transfer copies the post's second comment (or
 * deletes the post), run the transfer, and require an error and an unchanged database.
 * The row id in the trigger is the grader's own number, not input. */
static bool planted(struct st_grade *g, bool on_comment)
{
    struct sqlb b;
    int64_t post = 0;
    bool ok = transfer_setup(g, &b) && pick_post(g, &b, 2, &post);
    struct sqlb_rows ids = { 0 };
    ok = ok && sqlb_select(g, b.db, "SELECT id FROM comments WHERE post_id = $1 ORDER BY id", &post, 1, &ids);
    long long victim = on_comment ? (ok && ids.n >= 2 ? strtoll(ids.v[1], NULL, 10) : 0) : (long long)post;
    sqlb_rows_free(&ids);
    char sql[600];
    const char *table = on_comment ? "comments_archive" : "posts";
    const char *event = on_comment ? "INSERT" : "DELETE";
    const char *row = on_comment ? "NEW" : "OLD";
    if (b.pg)
        snprintf(sql, sizeof sql,
                 "CREATE FUNCTION strata_planted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                 "'planted failure'; END $$; CREATE TRIGGER strata_planted BEFORE %s ON %s FOR EACH ROW WHEN (%s.id = "
                 "%lld) EXECUTE FUNCTION strata_planted()",
                 event, table, row, victim);
    else
        snprintf(sql, sizeof sql,
                 "CREATE TRIGGER strata_planted BEFORE %s ON %s WHEN %s.id = %lld BEGIN SELECT RAISE(ABORT, "
                 "'planted failure'); END",
                 event, table, row, victim);
    struct state before = { 0 }, after = { 0 };
    ok = ok && sqlb_exec(g, &b, sql, "planting the failure") && state_read(g, &b, &before);
    int status = 0;
    char msg[600];
    ok = ok && run_transfer(g, &b, post, &status, msg, sizeof msg);
    if (ok && status == 0)
        ok = g_fail(g, "the planted failure (raised on %s of %s row %lld) never fired: does the transaction %s?", event,
                    table, victim, on_comment ? "copy the comments into comments_archive" : "delete the post");
    if (ok && g->verbose)
        g_log(g, "      the planted failure fired: %s\n", msg);
    ok = ok && state_read(g, &b, &after) &&
         state_same(g, &before, &after, "after a failure midway (everything must be as before)");
    state_free(&before);
    state_free(&after);
    sqlb_close(g, &b);
    return ok;
}

static bool c_fail_copying(struct st_grade *g)
{
    return planted(g, true);
}

static bool c_fail_deleting(struct st_grade *g)
{
    return planted(g, false);
}

static const struct st_grade_check q39_checks[] = {
    { "a post with comments: post, comments and tags leave posts/comments/post_tags, post and comments appear "
      "unchanged in the archives, nothing else changes",
      c_move_with_comments },
    { "a post without comments moves the same way", c_move_without_comments },
    { "a failure while copying the second comment (planted trigger): nothing changed at all", c_fail_copying },
    { "a failure while deleting the post (planted trigger): nothing changed at all", c_fail_deleting },
    { NULL, NULL },
};

const struct st_grader st__grade_q39 = { "q39", 39, ST_GRADE_NEEDS_SQL, NULL, q39_checks };

/* ---- Q115: a stored function (PostgreSQL) ---- */

static const char events_sql[] =
    "CREATE TABLE post_events (post_id INTEGER NOT NULL REFERENCES posts(id), kind TEXT NOT NULL,"
    " at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)";

static const char *const pub_state_sql[] = {
    "SELECT id, user_id, title, body, status, created_at FROM posts ORDER BY id",
    "SELECT post_id, kind FROM post_events ORDER BY post_id, kind",
};

struct pub {
    struct sqlb b;
    char call[64]; /* SELECT publish_post($1) or CALL publish_post($1) */
    int64_t draft, published;
};

/* The fixture, the events table, a known draft and a published post, then the file. */
static bool pub_setup(struct st_grade *g, struct pub *p)
{
    *p = (struct pub){ 0 };
    int64_t np = 0;
    struct sqlb_rows r = { 0 };
    bool ok = sqlb_open(g, &p->b) && sqlb_canon(g, &p->b, 1) &&
              sqlb_exec(g, &p->b, events_sql, "creating post_events") &&
              sqlb_count(g, p->b.db, "SELECT count(*) FROM posts", &np);
    if (np < 2) /* only when setting up failed: the fixture has dozens of posts */
        return ok ? g_fail(g, "the fixture has fewer than two posts (a grader bug)") : false;
    p->draft = g_range(g, 1, np);
    do
        p->published = g_range(g, 1, np);
    while (p->published == p->draft);
    int64_t ids[] = { p->draft, p->published };
    ok = ok && sqlb_select(g, p->b.db,
                           "UPDATE posts SET status = CASE WHEN id = $1 THEN 'draft' ELSE 'published' END"
                           " WHERE id IN ($1, $2)",
                           ids, 2, &r);
    sqlb_rows_free(&r);
    ok = ok && sqlb_run_file(g, &p->b);
    ok = ok && sqlb_select(g, p->b.db,
                           "SELECT p.prokind FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                           " WHERE p.proname = 'publish_post' AND n.nspname = current_schema()",
                           NULL, 0, &r);
    if (ok && r.n != 1)
        ok = g_fail(g,
                    "the file must create one function or procedure publish_post(post_id) in the current schema; "
                    "found %zu",
                    r.n);
    if (ok)
        snprintf(p->call, sizeof p->call, "%s",
                 strcmp(r.v[0], "p") == 0 ? "CALL publish_post($1)" : "SELECT publish_post($1)");
    sqlb_rows_free(&r);
    return ok;
}

/* Call publish_post(post): 0 or the error status with msg. */
static int pub_call(struct pub *p, int64_t post, char *msg, size_t cap)
{
    struct st_sql_stmt *st = NULL;
    struct st_error err = { 0 };
    int rc = st_sql_prepare(p->b.db, p->call, &st, &err);
    if (!rc) {
        st_sql_bind_int64(st, 1, post);
        while ((rc = st_sql_step(st, &err)) == 1)
            ;
    }
    st_sql_finalize(st);
    snprintf(msg, cap, "%s", rc ? err.msg : "");
    return rc < 0 ? rc : 0;
}

static bool pub_state(struct st_grade *g, struct pub *p, struct sqlb_rows out[2])
{
    out[0] = out[1] = (struct sqlb_rows){ 0 };
    return sqlb_select(g, p->b.db, pub_state_sql[0], NULL, 0, &out[0]) &&
           sqlb_select(g, p->b.db, pub_state_sql[1], NULL, 0, &out[1]);
}

static void pub_state_free(struct sqlb_rows s[2])
{
    sqlb_rows_free(&s[0]);
    sqlb_rows_free(&s[1]);
}

static bool c_pub_draft(struct st_grade *g)
{
    struct pub p;
    bool ok = pub_setup(g, &p);
    char msg[512];
    if (ok && pub_call(&p, p.draft, msg, sizeof msg))
        ok = g_fail(g, "%s with the draft post %lld failed: %s", p.call, (long long)p.draft, msg);
    struct sqlb_rows st = { 0 }, ev = { 0 };
    ok = ok && sqlb_select(g, p.b.db, "SELECT status FROM posts WHERE id = $1", &p.draft, 1, &st) &&
         sqlb_select(g, p.b.db, "SELECT post_id, kind FROM post_events ORDER BY post_id", NULL, 0, &ev);
    char want[64];
    snprintf(want, sizeof want, "%lld | published", (long long)p.draft);
    if (ok && (st.n != 1 || strcmp(st.v[0], "published") != 0))
        ok = g_fail(g, "after publish_post(%lld) the post's status is %s, expected published", (long long)p.draft,
                    st.n ? st.v[0] : "(no row)");
    else if (ok && (ev.n != 1 || strcmp(ev.v[0], want) != 0))
        ok = g_fail(g, "after publish_post(%lld) post_events holds %zu row(s) (first: %s), expected exactly (%s)",
                    (long long)p.draft, ev.n, ev.n ? ev.v[0] : "none", want);
    sqlb_rows_free(&st);
    sqlb_rows_free(&ev);
    sqlb_close(g, &p.b);
    return ok;
}

/* publish_post(post) must raise and change nothing. */
static bool refused(struct st_grade *g, struct pub *p, int64_t post, const char *what)
{
    struct sqlb_rows before[2], after[2];
    bool ok = pub_state(g, p, before);
    char msg[512];
    if (ok && pub_call(p, post, msg, sizeof msg) == 0)
        ok = g_fail(g, "publish_post(%lld) on %s returned normally; it must raise an error", (long long)post, what);
    if (ok && g->verbose)
        g_log(g, "      publish_post(%lld) on %s: %s\n", (long long)post, what, msg);
    ok = ok && pub_state(g, p, after) && sqlb_rows_same(g, &before[0], &after[0], "posts after the refused call") &&
         sqlb_rows_same(g, &before[1], &after[1], "post_events after the refused call");
    pub_state_free(before);
    pub_state_free(after);
    return ok;
}

static bool c_pub_missing(struct st_grade *g)
{
    struct pub p;
    int64_t np = 0;
    bool ok = pub_setup(g, &p) && sqlb_count(g, p.b.db, "SELECT max(id) FROM posts", &np) &&
              refused(g, &p, np + g_range(g, 1, 1000), "a post that does not exist");
    sqlb_close(g, &p.b);
    return ok;
}

static bool c_pub_published(struct st_grade *g)
{
    struct pub p;
    bool ok = pub_setup(g, &p) && refused(g, &p, p.published, "an already published post");
    sqlb_close(g, &p.b);
    return ok;
}

static bool c_pub_twice(struct st_grade *g)
{
    struct pub p;
    bool ok = pub_setup(g, &p);
    char msg[512];
    if (ok && pub_call(&p, p.draft, msg, sizeof msg))
        ok = g_fail(g, "the first publish_post(%lld) failed: %s", (long long)p.draft, msg);
    ok = ok && refused(g, &p, p.draft, "a draft published a moment ago");
    sqlb_close(g, &p.b);
    return ok;
}

static const struct st_grade_check q115_checks[] = {
    { "publish_post(draft): the post becomes published and post_events gets exactly (post_id, 'published')",
      c_pub_draft },
    { "publish_post(a missing post) raises an error and changes nothing", c_pub_missing },
    { "publish_post(a published post) raises an error and changes nothing", c_pub_published },
    { "publish_post twice on one draft: the second call raises, one event only", c_pub_twice },
    { NULL, NULL },
};

const struct st_grader st__grade_q115 = { "q115", 115, ST_GRADE_NEEDS_SQL | ST_GRADE_NEEDS_PG, NULL, q115_checks };
