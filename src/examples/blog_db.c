/*
 * blog_db.c - the blog's database: migrations for SQLite and PostgreSQL, deterministic
 * seeding, pooled connections with a statement cache, and read-your-writes on a replica.
 *
 * Times are stored as integer seconds since the epoch (UTC) on both backends: one clock
 * (the app's), exact keys for cursors and range filters, and the same SQL on both engines;
 * the API renders them as RFC 3339 (ADR 0014).
 *
 * Indexes follow the queries (EXPLAIN output in docs/blog-api.md's appendix, Q38/Q118):
 *   posts (created_at, id)            the default list order and its keyset cursor
 *   posts (author_id, created_at, id) /users/:id/posts and ?author_id= in list order
 *   comments (post_id, created_at, id) a post's comments, oldest first, and their count
 *   post_tags (tag_id, post_id)       ?tag= (the primary key serves post -> tags)
 *   users (lower(email)) UNIQUE       case-insensitive unique email
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/time.h"
#include "examples/blog.h"

/* ---- migrations ---------------------------------------------------------------------- */

#define LITE_SCHEMA                                                                                                    \
    "CREATE TABLE users (\n"                                                                                           \
    " id INTEGER PRIMARY KEY,\n"                                                                                       \
    " name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),\n"                                                    \
    " email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND instr(email, '@') > 0),\n"                        \
    " created_at INTEGER NOT NULL,\n"                                                                                  \
    " updated_at INTEGER NOT NULL);\n"                                                                                 \
    "CREATE UNIQUE INDEX users_email_key ON users (lower(email));\n"                                                   \
    "CREATE TABLE posts (\n"                                                                                           \
    " id INTEGER PRIMARY KEY,\n"                                                                                       \
    " author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,\n"                                          \
    " title TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),\n"                                                  \
    " body TEXT NOT NULL CHECK (length(body) <= 100000),\n"                                                            \
    " status TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),\n"                                \
    " version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),\n"                                                      \
    " created_at INTEGER NOT NULL,\n"                                                                                  \
    " updated_at INTEGER NOT NULL,\n"                                                                                  \
    " deleted_at INTEGER);\n"                                                                                          \
    "CREATE INDEX posts_created ON posts (created_at, id);\n"                                                          \
    "CREATE INDEX posts_author_created ON posts (author_id, created_at, id);\n"                                        \
    "CREATE TABLE comments (\n"                                                                                        \
    " id INTEGER PRIMARY KEY,\n"                                                                                       \
    " post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,\n"                                             \
    " author_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"                                           \
    " body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),\n"                                                  \
    " created_at INTEGER NOT NULL,\n"                                                                                  \
    " updated_at INTEGER NOT NULL);\n"                                                                                 \
    "CREATE INDEX comments_post_created ON comments (post_id, created_at, id);\n"                                      \
    "CREATE INDEX comments_author ON comments (author_id);\n"                                                          \
    "CREATE TABLE tags (\n"                                                                                            \
    " id INTEGER PRIMARY KEY,\n"                                                                                       \
    " name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 30));\n"                                             \
    "CREATE TABLE post_tags (\n"                                                                                       \
    " post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,\n"                                             \
    " tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,\n"                                               \
    " PRIMARY KEY (post_id, tag_id));\n"                                                                               \
    "CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);\n"                                                     \
    "CREATE TABLE blog_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);\n"

#define LITE_SCHEMA_DOWN                                                                                               \
    "DROP TABLE blog_meta;\nDROP TABLE post_tags;\nDROP TABLE tags;\nDROP TABLE comments;\nDROP TABLE posts;\n"        \
    "DROP TABLE users;\n"

/* FTS5 over title and body, an external-content table kept in step by triggers; the
 * porter stemmer makes "running" find "run". */
#define LITE_FTS                                                                                                       \
    "CREATE VIRTUAL TABLE posts_fts USING fts5(title, body, content='posts', content_rowid='id',\n"                    \
    " tokenize='porter unicode61');\n"                                                                                 \
    "INSERT INTO posts_fts (posts_fts) VALUES ('rebuild');\n"                                                          \
    "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN\n"                                                    \
    " INSERT INTO posts_fts (rowid, title, body) VALUES (new.id, new.title, new.body);\n"                              \
    "END;\n"                                                                                                           \
    "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN\n"                                                    \
    " INSERT INTO posts_fts (posts_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);\n"         \
    "END;\n"                                                                                                           \
    "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, body ON posts BEGIN\n"                                     \
    " INSERT INTO posts_fts (posts_fts, rowid, title, body) VALUES ('delete', old.id, old.title, old.body);\n"         \
    " INSERT INTO posts_fts (rowid, title, body) VALUES (new.id, new.title, new.body);\n"                              \
    "END;\n"

#define LITE_FTS_DOWN                                                                                                  \
    "DROP TRIGGER posts_fts_update;\nDROP TRIGGER posts_fts_delete;\nDROP TRIGGER posts_fts_insert;\n"                 \
    "DROP TABLE posts_fts;\n"

/* The archive (Q39), idempotency keys (Q64), and the version trigger (Q115): every update
 * of a post that is not a soft delete or restore bumps its version, in the database, so
 * no code path can forget it. */
#define LITE_MORE                                                                                                      \
    "CREATE TABLE archived_posts (\n"                                                                                  \
    " id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL,\n"                  \
    " status TEXT NOT NULL, version INTEGER NOT NULL, tags TEXT NOT NULL,\n"                                           \
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, archived_at INTEGER NOT NULL);\n"                      \
    "CREATE TABLE archived_comments (\n"                                                                               \
    " id INTEGER PRIMARY KEY,\n"                                                                                       \
    " post_id INTEGER NOT NULL REFERENCES archived_posts (id) ON DELETE CASCADE,\n"                                    \
    " author_id INTEGER NOT NULL, body TEXT NOT NULL,\n"                                                               \
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);\n"                                                    \
    "CREATE INDEX archived_comments_post ON archived_comments (post_id);\n"                                            \
    "CREATE TABLE idempotency_keys (\n"                                                                                \
    " client TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,\n"                                          \
    " status INTEGER NOT NULL, location TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL,\n"             \
    " PRIMARY KEY (client, key));\n"                                                                                   \
    "CREATE TRIGGER posts_version AFTER UPDATE ON posts\n"                                                             \
    " WHEN new.deleted_at IS old.deleted_at AND new.version = old.version BEGIN\n"                                     \
    " UPDATE posts SET version = old.version + 1 WHERE id = new.id;\n"                                                 \
    "END;\n"

#define LITE_MORE_DOWN                                                                                                 \
    "DROP TRIGGER posts_version;\nDROP TABLE idempotency_keys;\nDROP TABLE archived_comments;\n"                       \
    "DROP TABLE archived_posts;\n"

const struct st_sql_migration blog_lite_migrations[] = {
    { 1, "users_posts_comments_tags", LITE_SCHEMA, LITE_SCHEMA_DOWN },
    { 2, "full_text_search", LITE_FTS, LITE_FTS_DOWN },
    { 3, "archive_idempotency_version_trigger", LITE_MORE, LITE_MORE_DOWN },
    { 0, NULL, NULL, NULL },
};

#define PG_SCHEMA                                                                                                      \
    "CREATE TABLE users (\n"                                                                                           \
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                                       \
    " name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),\n"                                               \
    " email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 0),\n"              \
    " created_at bigint NOT NULL,\n"                                                                                   \
    " updated_at bigint NOT NULL);\n"                                                                                  \
    "CREATE UNIQUE INDEX users_email_key ON users (lower(email));\n"                                                   \
    "CREATE TABLE posts (\n"                                                                                           \
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                                       \
    " author_id bigint NOT NULL REFERENCES users (id) ON DELETE RESTRICT,\n"                                           \
    " title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),\n"                                             \
    " body text NOT NULL CHECK (char_length(body) <= 100000),\n"                                                       \
    " status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),\n"                                \
    " version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),\n"                                                       \
    " created_at bigint NOT NULL,\n"                                                                                   \
    " updated_at bigint NOT NULL,\n"                                                                                   \
    " deleted_at bigint);\n"                                                                                           \
    "CREATE INDEX posts_created ON posts (created_at, id);\n"                                                          \
    "CREATE INDEX posts_author_created ON posts (author_id, created_at, id);\n"                                        \
    "CREATE TABLE comments (\n"                                                                                        \
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                                       \
    " post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,\n"                                              \
    " author_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"                                            \
    " body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),\n"                                             \
    " created_at bigint NOT NULL,\n"                                                                                   \
    " updated_at bigint NOT NULL);\n"                                                                                  \
    "CREATE INDEX comments_post_created ON comments (post_id, created_at, id);\n"                                      \
    "CREATE INDEX comments_author ON comments (author_id);\n"                                                          \
    "CREATE TABLE tags (\n"                                                                                            \
    " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"                                                       \
    " name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 30));\n"                                        \
    "CREATE TABLE post_tags (\n"                                                                                       \
    " post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,\n"                                              \
    " tag_id bigint NOT NULL REFERENCES tags (id) ON DELETE CASCADE,\n"                                                \
    " PRIMARY KEY (post_id, tag_id));\n"                                                                               \
    "CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);\n"                                                     \
    "CREATE TABLE blog_meta (name text PRIMARY KEY, value text NOT NULL);\n"

/* A stored tsvector, weighted so the title ranks above the body, behind a GIN index. */
#define PG_FTS                                                                                                         \
    "ALTER TABLE posts ADD COLUMN search tsvector GENERATED ALWAYS AS (\n"                                             \
    " setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')) STORED;\n"        \
    "CREATE INDEX posts_search ON posts USING gin (search);\n"

#define PG_FTS_DOWN "DROP INDEX posts_search;\nALTER TABLE posts DROP COLUMN search;\n"

/* Q115 on PostgreSQL: the version trigger as a PL/pgSQL trigger function, and the archive
 * as a function that moves a post and its comments in the caller's transaction. */
#define PG_MORE                                                                                                        \
    "CREATE TABLE archived_posts (\n"                                                                                  \
    " id bigint PRIMARY KEY, author_id bigint NOT NULL, title text NOT NULL, body text NOT NULL,\n"                    \
    " status text NOT NULL, version bigint NOT NULL, tags text NOT NULL,\n"                                            \
    " created_at bigint NOT NULL, updated_at bigint NOT NULL, archived_at bigint NOT NULL);\n"                         \
    "CREATE TABLE archived_comments (\n"                                                                               \
    " id bigint PRIMARY KEY,\n"                                                                                        \
    " post_id bigint NOT NULL REFERENCES archived_posts (id) ON DELETE CASCADE,\n"                                     \
    " author_id bigint NOT NULL, body text NOT NULL,\n"                                                                \
    " created_at bigint NOT NULL, updated_at bigint NOT NULL);\n"                                                      \
    "CREATE INDEX archived_comments_post ON archived_comments (post_id);\n"                                            \
    "CREATE TABLE idempotency_keys (\n"                                                                                \
    " client text NOT NULL, key text NOT NULL, request_hash text NOT NULL,\n"                                          \
    " status integer NOT NULL, location text NOT NULL, body text NOT NULL, created_at bigint NOT NULL,\n"              \
    " PRIMARY KEY (client, key));\n"                                                                                   \
    "CREATE FUNCTION posts_bump_version() RETURNS trigger LANGUAGE plpgsql AS $f$\n"                                   \
    "BEGIN\n"                                                                                                          \
    " IF NEW.deleted_at IS NOT DISTINCT FROM OLD.deleted_at AND NEW.version = OLD.version THEN\n"                      \
    "  NEW.version := OLD.version + 1;\n"                                                                              \
    " END IF;\n"                                                                                                       \
    " RETURN NEW;\n"                                                                                                   \
    "END $f$;\n"                                                                                                       \
    "CREATE TRIGGER posts_version BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION posts_bump_version();\n"        \
    "CREATE FUNCTION archive_post(p_id bigint, p_now bigint) RETURNS integer LANGUAGE plpgsql AS $f$\n"                \
    "DECLARE moved integer;\n"                                                                                         \
    "BEGIN\n"                                                                                                          \
    " INSERT INTO archived_posts (id, author_id, title, body, status, version, tags, created_at, updated_at,\n"        \
    "  archived_at)\n"                                                                                                 \
    "  SELECT p.id, p.author_id, p.title, p.body, p.status, p.version,\n"                                              \
    "   coalesce((SELECT string_agg(t.name, ',' ORDER BY t.name) FROM post_tags pt\n"                                  \
    "    JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id), ''), p.created_at, p.updated_at, p_now\n"           \
    "  FROM posts p WHERE p.id = p_id AND p.deleted_at IS NULL;\n"                                                     \
    " IF NOT FOUND THEN RETURN -1; END IF;\n"                                                                          \
    " INSERT INTO archived_comments (id, post_id, author_id, body, created_at, updated_at)\n"                          \
    "  SELECT id, post_id, author_id, body, created_at, updated_at FROM comments WHERE post_id = p_id;\n"              \
    " GET DIAGNOSTICS moved = ROW_COUNT;\n"                                                                            \
    " DELETE FROM posts WHERE id = p_id;\n"                                                                            \
    " RETURN moved;\n"                                                                                                 \
    "END $f$;\n"

#define PG_MORE_DOWN                                                                                                   \
    "DROP FUNCTION archive_post(bigint, bigint);\nDROP TRIGGER posts_version ON posts;\n"                              \
    "DROP FUNCTION posts_bump_version();\nDROP TABLE idempotency_keys;\nDROP TABLE archived_comments;\n"               \
    "DROP TABLE archived_posts;\n"

const struct st_sql_migration blog_pg_migrations[] = {
    { 1, "users_posts_comments_tags", PG_SCHEMA, LITE_SCHEMA_DOWN },
    { 2, "full_text_search", PG_FTS, PG_FTS_DOWN },
    { 3, "archive_idempotency_version_trigger", PG_MORE, PG_MORE_DOWN },
    { 0, NULL, NULL, NULL },
};

const struct st_sql_migration *blog_migrations(enum st_sql_backend be)
{
    return be == ST_SQL_POSTGRES ? blog_pg_migrations : blog_lite_migrations;
}

const char *blog_tags_agg(enum st_sql_backend be)
{
    if (be == ST_SQL_POSTGRES)
        return "(SELECT string_agg(t.name, ',' ORDER BY t.name COLLATE \"C\") FROM post_tags pt JOIN tags t ON t.id = "
               "pt.tag_id"
               " WHERE pt.post_id = p.id)";
    return "(SELECT group_concat(name, ',') FROM (SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id"
           " WHERE pt.post_id = p.id ORDER BY t.name))";
}

/* ---- time ---------------------------------------------------------------------------- */

int64_t blog_now(void)
{
    return st_time_wall_ms() / 1000;
}

json_t *blog_time_json(int64_t s)
{
    char buf[40];
    size_t n = st_time_format_rfc3339(s * 1000, buf);
    /* the formatter writes milliseconds; the API speaks whole seconds: ...:SSZ */
    char *dot = memchr(buf, '.', n);
    if (dot) {
        dot[0] = 'Z';
        n = (size_t)(dot - buf) + 1;
    }
    return json_stringn(buf, n);
}

/* ---- seeding ------------------------------------------------------------------------- */

static const char *const seed_tags[] = { "c",        "databases", "http",     "linux",  "networking", "performance",
                                         "postgres", "redis",     "security", "sqlite", "testing",    "design" };
#define SEED_NTAGS (int)(sizeof seed_tags / sizeof seed_tags[0])
static const char *const seed_words[] = { "run",   "running", "server", "fast",   "query",   "index", "cache",
                                          "event", "loop",    "socket", "kernel", "latency", "page",  "disk",
                                          "table", "join",    "lock",   "thread", "memory",  "packet" };
#define SEED_NWORDS (int)(sizeof seed_words / sizeof seed_words[0])

struct seed {
    struct st_sql_rng rng;
    int64_t users, posts, comments, post_tags;
    int64_t base; /* created_at of the first row */
    char text[512];
    char text2[64];
    /* post i: author, number of comments */
    int64_t *post_author;
};

static size_t seed_sentence(struct seed *s, char *out, size_t cap, int words)
{
    size_t n = 0;
    for (int i = 0; i < words && n + 16 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? " " : "",
                              seed_words[st_sql_rng_range(&s->rng, 0, SEED_NWORDS - 1)]);
    return n;
}

static void fill_user(int64_t row, struct st_sql_value *v, void *arg)
{
    struct seed *s = arg;
    int n = snprintf(s->text, sizeof s->text, "User %lld", (long long)row + 1);
    int m = snprintf(s->text2, sizeof s->text2, "user%lld@example.com", (long long)row + 1);
    int64_t t = s->base + row * 60;
    v[0] = (struct st_sql_value){ .type = ST_SQL_INT, .i = row + 1 };
    v[1] = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = s->text, .len = (size_t)n };
    v[2] = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = s->text2, .len = (size_t)m };
    v[3] = (struct st_sql_value){ .type = ST_SQL_INT, .i = t };
    v[4] = (struct st_sql_value){ .type = ST_SQL_INT, .i = t };
}

static void fill_post(int64_t row, struct st_sql_value *v, void *arg)
{
    struct seed *s = arg;
    int64_t author = st_sql_rng_range(&s->rng, 1, s->users);
    s->post_author[row] = author;
    size_t tl = seed_sentence(s, s->text2, sizeof s->text2, 4);
    size_t bl = seed_sentence(s, s->text, sizeof s->text, 40);
    int64_t t = s->base + s->users * 60 + row * 37;
    v[0] = (struct st_sql_value){ .type = ST_SQL_INT, .i = row + 1 };
    v[1] = (struct st_sql_value){ .type = ST_SQL_INT, .i = author };
    v[2] = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = s->text2, .len = tl };
    v[3] = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = s->text, .len = bl };
    bool published = st_sql_rng_range(&s->rng, 0, 3) > 0;
    v[4] =
        (struct st_sql_value){ .type = ST_SQL_TEXT, .s = published ? "published" : "draft", .len = published ? 9 : 5 };
    v[5] = (struct st_sql_value){ .type = ST_SQL_INT, .i = t };
    v[6] = (struct st_sql_value){ .type = ST_SQL_INT, .i = t };
}

static void fill_comment(int64_t row, struct st_sql_value *v, void *arg)
{
    struct seed *s = arg;
    int64_t post = st_sql_rng_range(&s->rng, 1, s->posts);
    size_t bl = seed_sentence(s, s->text, sizeof s->text, 12);
    int64_t t = s->base + s->users * 60 + s->posts * 37 + row * 11;
    v[0] = (struct st_sql_value){ .type = ST_SQL_INT, .i = row + 1 };
    v[1] = (struct st_sql_value){ .type = ST_SQL_INT, .i = post };
    v[2] = (struct st_sql_value){ .type = ST_SQL_INT, .i = st_sql_rng_range(&s->rng, 1, s->users) };
    v[3] = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = s->text, .len = bl };
    v[4] = (struct st_sql_value){ .type = ST_SQL_INT, .i = t };
    v[5] = (struct st_sql_value){ .type = ST_SQL_INT, .i = t };
}

static void fill_tag(int64_t row, struct st_sql_value *v, void *arg)
{
    (void)arg;
    v[0] = (struct st_sql_value){ .type = ST_SQL_INT, .i = row + 1 };
    v[1] = (struct st_sql_value){ .type = ST_SQL_TEXT, .s = seed_tags[row], .len = strlen(seed_tags[row]) };
}

/* Post p gets tags p % 3 + k * 5 for k < (p % 3): distinct, 0..2 per post. */
static void fill_post_tag(int64_t row, struct st_sql_value *v, void *arg)
{
    (void)arg;
    int64_t post = row / 2 + 1, k = row % 2;
    v[0] = (struct st_sql_value){ .type = ST_SQL_INT, .i = post };
    v[1] = (struct st_sql_value){ .type = ST_SQL_INT, .i = (post + k * 5) % SEED_NTAGS + 1 };
}

static int seed_exec(struct st_sql_db *db, bool pg, struct st_error *err)
{
    if (!pg)
        return 0;
    /* explicit ids leave the identity sequences behind: move them past the rows */
    static const char *const tables[] = { "users", "posts", "comments", "tags" };
    for (int i = 0; i < 4; i++) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT max(id) FROM %s))",
                 tables[i], tables[i]);
        int rc = st_sql_exec(db, sql, err);
        if (rc)
            return rc;
    }
    return 0;
}

int blog_seed(struct st_sql_db *db, int64_t users, uint64_t seed, struct st_error *err)
{
    static const char *const ucols[] = { "id", "name", "email", "created_at", "updated_at" };
    static const char *const pcols[] = { "id", "author_id", "title", "body", "status", "created_at", "updated_at" };
    static const char *const ccols[] = { "id", "post_id", "author_id", "body", "created_at", "updated_at" };
    static const char *const tcols[] = { "id", "name" };
    static const char *const ptcols[] = { "post_id", "tag_id" };
    struct seed s = { .users = users, .posts = users * 5, .comments = users * 10, .base = 1767225600 /* 2026-01-01 */ };
    st_sql_rng_seed(&s.rng, seed);
    s.post_author = st_xcalloc((size_t)s.posts + 1, sizeof *s.post_author);
    int rc = st_sql_seed(db, "users", ucols, 5, s.users, fill_user, &s, err);
    rc = rc ? rc : st_sql_seed(db, "posts", pcols, 7, s.posts, fill_post, &s, err);
    rc = rc ? rc : st_sql_seed(db, "comments", ccols, 6, s.comments, fill_comment, &s, err);
    rc = rc ? rc : st_sql_seed(db, "tags", tcols, 2, SEED_NTAGS, fill_tag, &s, err);
    rc = rc ? rc : st_sql_seed(db, "post_tags", ptcols, 2, s.posts * 2, fill_post_tag, &s, err);
    rc = rc ? rc : seed_exec(db, st_sql_backend_of(db) == ST_SQL_POSTGRES, err);
    free(s.post_author);
    return rc;
}

/* ---- opening ------------------------------------------------------------------------- */

static int query_i64(struct st_sql_db *db, const char *sql, int64_t *v, struct st_error *err)
{
    struct st_sql_stmt *st = NULL;
    int rc = st_sql_prepare(db, sql, &st, err);
    if (!rc)
        rc = st_sql_step(st, err);
    if (rc == 1) {
        *v = st_sql_column_int64(st, 0);
        rc = 0;
    }
    st_sql_finalize(st);
    return rc;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The key that signs cursors lives in the database, so cursors survive restarts and
 * every process serving the same database accepts them. */
static int load_cursor_key(struct st_sql_db *db, struct blog *b, struct st_error *err)
{
    uint8_t k[16];
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k)
        return st_error_set(err, ST_EINTERNAL, "getrandom failed");
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * (size_t)i, 3, "%02x", k[i]);
    struct st_sql_stmt *st = NULL;
    int rc = st_sql_prepare(
        db, "INSERT INTO blog_meta (name, value) VALUES ('cursor_key', $1) ON CONFLICT (name) DO NOTHING", &st, err);
    if (!rc) {
        st_sql_bind_text(st, 1, hex, 32);
        rc = st_sql_step(st, err);
    }
    st_sql_finalize(st);
    st = NULL;
    if (!rc)
        rc = st_sql_prepare(db, "SELECT value FROM blog_meta WHERE name = 'cursor_key'", &st, err);
    if (!rc)
        rc = st_sql_step(st, err);
    if (rc == 1) {
        size_t len = 0;
        const char *v = st_sql_column_text(st, 0, &len);
        rc = len == 32 ? 0 : st_error_set(err, ST_SQL_OTHER, "blog_meta.cursor_key is not 32 hex digits");
        for (int i = 0; !rc && i < 16; i++) {
            int hi = hexval(v[2 * (size_t)i]), lo = hexval(v[2 * (size_t)i + 1]);
            if (hi < 0 || lo < 0)
                rc = st_error_set(err, ST_SQL_OTHER, "blog_meta.cursor_key is not 32 hex digits");
            else
                b->cursor_key[i] = (uint8_t)(hi << 4 | lo);
        }
    } else if (rc == 0) {
        rc = st_error_set(err, ST_SQL_OTHER, "blog_meta.cursor_key is missing");
    }
    st_sql_finalize(st);
    return rc;
}

int blog_db_init(struct blog *b, int64_t seed_users, uint64_t seed, struct st_error *err)
{
    struct st_sql_db *db = NULL;
    int rc = st_sql_open(b->url, &db, err);
    if (rc)
        return rc;
    b->backend = st_sql_backend_of(db);
    rc = st_sql_migrate_up(db, blog_migrations(b->backend), -1, NULL, err);
    rc = rc ? rc : load_cursor_key(db, b, err);
    int64_t n = 0;
    if (!rc && seed_users > 0)
        rc = query_i64(db, "SELECT count(*) FROM users", &n, err);
    if (!rc && seed_users > 0 && n == 0) {
        int64_t t0 = st_time_mono_ms();
        rc = blog_seed(db, seed_users, seed, err);
        if (!rc)
            st_log_info("blog: seeded", ST_LOG_INT("users", seed_users), ST_LOG_INT("posts", seed_users * 5),
                        ST_LOG_INT("comments", seed_users * 10), ST_LOG_INT("ms", st_time_mono_ms() - t0));
    }
    st_sql_close(db);
    if (!rc && b->replica_url) { /* fail at start, not at the first read */
        rc = st_sql_open(b->replica_url, &db, err);
        if (!rc && st_sql_backend_of(db) != ST_SQL_POSTGRES)
            rc = st_error_set(err, ST_SQL_OTHER, "--db-replica must be a postgres:// URL");
        st_sql_close(db);
    }
    return rc;
}

/* ---- connections --------------------------------------------------------------------- */

static void cache_clear(struct blog_stmt *cache)
{
    for (int i = 0; i < BLOG_STMT_CACHE; i++) {
        st_sql_finalize(cache[i].st);
        free((char *)cache[i].sql);
        cache[i] = (struct blog_stmt){ 0 };
    }
}

static void conn_free(struct blog_conn *c)
{
    if (!c)
        return;
    cache_clear(c->cache);
    cache_clear(c->rcache);
    st_sql_close(c->db);
    st_sql_close(c->replica);
    free(c);
}

struct blog_conn *blog_conn_get(struct blog *b, struct st_error *err)
{
    pthread_mutex_lock(&b->mu);
    struct blog_conn *c = b->idle;
    if (c)
        b->idle = c->next;
    pthread_mutex_unlock(&b->mu);
    if (!c) {
        c = st_xcalloc(1, sizeof *c);
        if (st_sql_open(b->url, &c->db, err) || (b->replica_url && st_sql_open(b->replica_url, &c->replica, err))) {
            conn_free(c);
            return NULL;
        }
    }
    c->next = NULL;
    c->queries = 0;
    c->use_replica = false;
    return c;
}

void blog_conn_put(struct blog *b, struct blog_conn *c)
{
    /* No statement may stay active between requests: on SQLite an unfinished SELECT keeps
     * a read snapshot open, and the connection's next BEGIN IMMEDIATE would then fail
     * with SQLITE_BUSY_SNAPSHOT instead of waiting for the write lock. */
    for (int i = 0; i < BLOG_STMT_CACHE; i++) {
        if (c->cache[i].st)
            st_sql_reset(c->cache[i].st);
        if (c->rcache[i].st)
            st_sql_reset(c->rcache[i].st);
    }
    /* a connection left in a transaction or broken is not worth keeping */
    if (c->broken || st_sql_depth(c->db) > 0) {
        conn_free(c);
        return;
    }
    pthread_mutex_lock(&b->mu);
    c->next = b->idle;
    b->idle = c;
    pthread_mutex_unlock(&b->mu);
}

void blog_conn_close_all(struct blog *b)
{
    pthread_mutex_lock(&b->mu);
    struct blog_conn *c = b->idle;
    b->idle = NULL;
    pthread_mutex_unlock(&b->mu);
    while (c) {
        struct blog_conn *next = c->next;
        conn_free(c);
        c = next;
    }
}

struct st_sql_stmt *blog_stmt(struct blog_conn *c, const char *sql, bool write, struct st_error *err)
{
    bool rep = !write && c->use_replica && c->replica;
    struct blog_stmt *cache = rep ? c->rcache : c->cache;
    struct st_sql_db *db = rep ? c->replica : c->db;
    size_t len = strlen(sql);
    uint64_t h = st_hash(sql, len);
    int slot = -1;
    for (int i = 0; i < BLOG_STMT_CACHE; i++) {
        int k = (int)((h + (uint64_t)i) % BLOG_STMT_CACHE);
        if (!cache[k].sql) {
            slot = k;
            break;
        }
        if (cache[k].hash == h && !strcmp(cache[k].sql, sql)) {
            st_sql_reset(cache[k].st);
            st_sql_clear_bindings(cache[k].st);
            c->queries++;
            return cache[k].st;
        }
    }
    if (slot < 0) { /* full: start over (list queries vary with their filters) */
        cache_clear(cache);
        slot = (int)(h % BLOG_STMT_CACHE);
    }
    struct st_sql_stmt *st = NULL;
    int rc = st_sql_prepare(db, sql, &st, err);
    if (rc) {
        if (rc == ST_SQL_CONNECTION)
            c->broken = true;
        return NULL;
    }
    cache[slot] = (struct blog_stmt){ st_xstrdup(sql), h, st };
    c->queries++;
    return st;
}

/* ---- read-your-writes ---------------------------------------------------------------- */

/* The insert position, not pg_current_wal_lsn()'s write position: with asynchronous commit
 * the commit record may still sit in the WAL buffers, behind the write position, and a
 * replica that reached that would not show the write yet. */
void blog_capture_lsn(struct blog_conn *c, char out[32])
{
    out[0] = 0;
    if (!c->replica)
        return;
    struct st_error err = { 0 };
    struct st_sql_stmt *st = blog_stmt(c, "SELECT pg_current_wal_insert_lsn()::text", true, &err);
    if (st && st_sql_step(st, &err) == 1)
        snprintf(out, 32, "%s", st_sql_column_text(st, 0, NULL));
    if (st)
        st_sql_reset(st);
}

/*
 * Reads go to the replica, unless the client wrote recently and the replica has not
 * replayed that write yet: then wait (polling every 2 ms) up to BLOG_REPLICA_WAIT_MS, and
 * read the primary if it still lags, so a client always reads its own writes.
 */
void blog_pick_replica(struct blog *b, struct blog_conn *c, const char *wait_lsn)
{
    (void)b;
    c->use_replica = c->replica != NULL;
    if (!c->use_replica || !wait_lsn[0])
        return;
    if (!strcmp(wait_lsn, "primary")) {
        c->use_replica = false;
        return;
    }
    int64_t deadline = st_time_mono_ms() + BLOG_REPLICA_WAIT_MS;
    for (;;) {
        struct st_error err = { 0 };
        struct st_sql_stmt *st = blog_stmt(c, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", false, &err);
        if (!st)
            break;
        st_sql_bind_text(st, 1, wait_lsn, strlen(wait_lsn));
        int rc = st_sql_step(st, &err);
        bool caught_up = false;
        if (rc == 1) { /* PostgreSQL booleans read as text: t or f */
            size_t len = 0;
            const char *v = st_sql_column_text(st, 0, &len);
            caught_up = len > 0 && (v[0] == 't' || v[0] == '1');
        }
        st_sql_reset(st);
        if (caught_up)
            return;
        if (rc < 0 || st_time_mono_ms() >= deadline)
            break;
        st_time_sleep_ms(2);
    }
    c->use_replica = false;
}

/* A small table of recent writers: client -> LSN of its last write, kept 5 s. When a
 * live entry must be evicted, every read goes to the primary until it would have expired:
 * forgetting a token must never let a client read a stale replica. */
#define TOKENS 1024
#define TOKEN_TTL_MS 5000
struct blog_token {
    uint64_t hash;
    int64_t at_ms;
    char lsn[32];
};
static int64_t tokens_primary_until;

void blog_token_set(struct blog *b, const char *client, const char *lsn)
{
    if (!lsn[0])
        return;
    uint64_t h = st_hash(client, strlen(client)) | 1;
    int64_t now = st_time_mono_ms();
    pthread_mutex_lock(&b->mu);
    if (!b->tokens)
        b->tokens = st_xcalloc(TOKENS, sizeof *b->tokens);
    struct blog_token *t = &b->tokens[h % TOKENS];
    if (t->hash && t->hash != h && now - t->at_ms < TOKEN_TTL_MS && t->at_ms + TOKEN_TTL_MS > tokens_primary_until)
        tokens_primary_until = t->at_ms + TOKEN_TTL_MS;
    t->hash = h;
    t->at_ms = now;
    snprintf(t->lsn, sizeof t->lsn, "%s", lsn);
    pthread_mutex_unlock(&b->mu);
}

void blog_token_get(struct blog *b, const char *client, char out[32])
{
    out[0] = 0;
    uint64_t h = st_hash(client, strlen(client)) | 1;
    int64_t now = st_time_mono_ms();
    pthread_mutex_lock(&b->mu);
    if (b->tokens) {
        struct blog_token *t = &b->tokens[h % TOKENS];
        if (t->hash == h && now - t->at_ms < TOKEN_TTL_MS)
            snprintf(out, 32, "%s", t->lsn);
    }
    if (!out[0] && now < tokens_primary_until)
        snprintf(out, 32, "primary"); /* a token was forgotten: read the primary */
    pthread_mutex_unlock(&b->mu);
}

/* ---- cached list totals ------------------------------------------------------------- */

#define COUNTS 256
struct blog_count {
    char *key; /* owned; NULL: empty */
    uint64_t gen;
    int64_t at_ms, total;
};

bool blog_count_get(struct blog *b, const char *key, int64_t *total)
{
    uint64_t h = st_hash(key, strlen(key));
    uint64_t gen = __atomic_load_n(&b->write_gen, __ATOMIC_ACQUIRE);
    int64_t now = st_time_mono_ms();
    bool hit = false;
    pthread_mutex_lock(&b->mu);
    struct blog_count *e = b->counts ? &b->counts[h % COUNTS] : NULL;
    if (e && e->key && e->gen == gen && now - e->at_ms < BLOG_COUNT_TTL_MS && !strcmp(e->key, key)) {
        *total = e->total;
        hit = true;
    }
    pthread_mutex_unlock(&b->mu);
    return hit;
}

void blog_count_put(struct blog *b, const char *key, uint64_t gen, int64_t total)
{
    uint64_t h = st_hash(key, strlen(key));
    pthread_mutex_lock(&b->mu);
    if (!b->counts)
        b->counts = st_xcalloc(COUNTS, sizeof *b->counts);
    struct blog_count *e = &b->counts[h % COUNTS];
    free(e->key);
    *e = (struct blog_count){ st_xstrdup(key), gen, st_time_mono_ms(), total };
    pthread_mutex_unlock(&b->mu);
}

char *blog_count_key(const struct blog_q *q)
{
    struct st_buf k;
    st_buf_init(&k, ST_BUF_UNLIMITED);
    (void)st_buf_append(&k, q->sql.data, q->sql.len);
    for (int i = 0; i < q->n; i++) { /* values after a separator no SQL text holds */
        if (q->v[i].type == ST_SQL_INT)
            (void)st_buf_printf(&k, "\x1f%lld", (long long)q->v[i].i);
        else
            (void)st_buf_printf(&k, "\x1f'%s", q->v[i].s);
    }
    return st_buf_detach(&k, NULL);
}

void blog_counts_free(struct blog *b)
{
    for (int i = 0; b->counts && i < COUNTS; i++)
        free(b->counts[i].key);
    free(b->counts);
    b->counts = NULL;
}
