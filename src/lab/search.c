/*
 * search.c - ranked search over the question bank with SQLite FTS5 (lab/search.h).
 *
 * The index is an in-memory FTS5 table filled from the compiled-in bank when a searcher
 * opens: question text, answer, what the grader checks, tags and module name, tokenized
 * with porter over unicode61, ranked by bm25 with the question text weighted highest.
 *
 * What the learner types is never handed to FTS5's query parser as is: it is cut into
 * words (letters and digits, any non-ASCII character), each word becomes a quoted string
 * and the last one a prefix ("consistent" "hash"*), so no input can be an FTS5 syntax
 * error. All words must match; when that finds nothing, any word may (OR).
 *
 * Snippets come back from snippet() with \x01 and \x02 around matches (characters the
 * index never contains: they are replaced by spaces when it is filled); the text is then
 * HTML-escaped and only those markers become <mark> and </mark>.
 */
#include "lab/search.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/utf8.h"
#include "curriculum/curriculum.h"

#define MARK_OPEN '\x01'
#define MARK_CLOSE '\x02'
/* Words of a query beyond this are ignored (a pasted paragraph is not a search). */
#define QUERY_MAX_WORDS 32
#define WORD_MAX_BYTES 64
#define SNIPPET_TOKENS 24

/* Weights of text, answer, checks, tags, module_name: the question itself counts most. */
#define RANK_FN "bm25(10.0, 2.0, 1.5, 5.0, 3.0)"

static const char create_sql[] =
    "CREATE VIRTUAL TABLE q USING fts5(text, answer, checks, tags, module_name, level UNINDEXED, "
    "module UNINDEXED, kind UNINDEXED, tokenize = 'porter unicode61');"
    "INSERT INTO q (q, rank) VALUES ('rank', '" RANK_FN "');";

#define FILTERS "q MATCH ?1 AND (?2 = 0 OR level = ?2) AND (?3 = 0 OR module = ?3) AND (?4 < 0 OR kind = ?4)"
static const char count_sql[] = "SELECT count(*) FROM q WHERE " FILTERS;
static const char hits_sql[] = "SELECT rowid, rank, snippet(q, -1, char(1), char(2), '\xE2\x80\xA6', 24) FROM q "
                               "WHERE " FILTERS " ORDER BY rank, rowid LIMIT ?5 OFFSET ?6";
static const char insert_sql[] = "INSERT INTO q (rowid, text, answer, checks, tags, module_name, level, module, kind) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

struct st_lab_search {
    sqlite3 *db;
    sqlite3_stmt *count, *hits;
    struct st_buf match; /* the FTS5 query being built */
    struct st_buf html;  /* a snippet being escaped */
};

static int db_fail(sqlite3 *db, struct st_error *err, const char *what)
{
    return st_error_set(err, ST_EDB, "search index: %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
}

/* s without the snippet markers (they become spaces), into b (cleared first). */
static const char *clean(struct st_buf *b, const char *s)
{
    st_buf_clear(b);
    st_buf_append_c(b, s ? s : "");
    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] == MARK_OPEN || b->data[i] == MARK_CLOSE)
            b->data[i] = ' ';
    return b->data ? b->data : "";
}

static int bind_clean(sqlite3_stmt *st, int col, struct st_buf *b, const char *s)
{
    clean(b, s);
    return sqlite3_bind_text(st, col, b->data ? b->data : "", (int)b->len, SQLITE_TRANSIENT);
}

/* One row per question. */
static int fill(struct st_lab_search *s, struct st_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, insert_sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(s->db, err, "preparing the index");
    struct st_buf tmp, tags;
    st_buf_init(&tmp, ST_BUF_UNLIMITED);
    st_buf_init(&tags, ST_BUF_UNLIMITED);
    int rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(s->db, err, "filling");
    for (int id = 1; rc == 0 && id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        const struct st_cur_module *m = st_cur_module(q->module);
        st_buf_clear(&tags);
        for (int i = 0; i < q->ntags; i++) {
            st_buf_append_c(&tags, i ? " " : "");
            st_buf_append_c(&tags, q->tags[i]);
        }
        sqlite3_reset(st);
        sqlite3_bind_int(st, 1, id);
        bind_clean(st, 2, &tmp, q->text);
        bind_clean(st, 3, &tmp, q->answer);
        bind_clean(st, 4, &tmp, q->checks);
        bind_clean(st, 5, &tmp, tags.data);
        bind_clean(st, 6, &tmp, m ? m->name : "");
        sqlite3_bind_int(st, 7, q->level);
        sqlite3_bind_int(st, 8, q->module);
        sqlite3_bind_int(st, 9, (int)q->kind);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = db_fail(s->db, err, "filling");
    }
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(s->db, err, "filling");
    st_buf_release(&tmp);
    st_buf_release(&tags);
    return rc;
}

int st_lab_search_open(struct st_lab_search **out, struct st_error *err)
{
    struct st_lab_search *s = st_xcalloc(1, sizeof(*s));
    st_buf_init(&s->match, ST_BUF_UNLIMITED);
    st_buf_init(&s->html, ST_BUF_UNLIMITED);
    *out = NULL;
    int rc = 0;
    if (sqlite3_open_v2(":memory:", &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        rc = db_fail(s->db, err, "opening");
    else if (sqlite3_exec(s->db, create_sql, NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(s->db, err, "creating (is SQLite built with FTS5?)");
    else if ((rc = fill(s, err)) == 0 &&
             (sqlite3_prepare_v3(s->db, count_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->count, NULL) != SQLITE_OK ||
              sqlite3_prepare_v3(s->db, hits_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->hits, NULL) != SQLITE_OK))
        rc = db_fail(s->db, err, "preparing queries");
    if (rc) {
        st_lab_search_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void st_lab_search_close(struct st_lab_search *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->count);
    sqlite3_finalize(s->hits);
    sqlite3_close(s->db);
    st_buf_release(&s->match);
    st_buf_release(&s->html);
    free(s);
}

/* Length of the word character (ASCII letter or digit, or a valid non-ASCII character) at
 * p[0..n), or 0 if p starts with a separator (anything else, invalid UTF-8 included). */
static size_t word_char(const char *p, size_t n)
{
    unsigned char c = (unsigned char)*p;
    if (c < 0x80)
        return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ? 1 : 0;
    uint32_t cp;
    return st_utf8_decode(p, n, &cp);
}

/* The learner's text as a safe FTS5 query into s->match: "w1" "w2"* (or "w1" OR "w2"*).
 * Returns the number of words. */
static int build_match(struct st_lab_search *s, const char *text, bool any)
{
    st_buf_clear(&s->match);
    size_t n = strlen(text), i = 0;
    int words = 0;
    while (i < n && words < QUERY_MAX_WORDS) {
        size_t k = word_char(text + i, n - i);
        if (k == 0) {
            i++;
            continue;
        }
        size_t start = i;
        while (i < n && (k = word_char(text + i, n - i)) > 0 && i + k - start <= WORD_MAX_BYTES)
            i += k;
        if (words)
            st_buf_append_c(&s->match, any ? " OR " : " ");
        st_buf_append_byte(&s->match, '"');
        st_buf_append(&s->match, text + start, i - start); /* no '"' inside: only word characters */
        st_buf_append_byte(&s->match, '"');
        words++;
        while (i < n && (k = word_char(text + i, n - i)) > 0) /* the rest of an overlong word */
            i += k;
    }
    if (words)
        st_buf_append_byte(&s->match, '*');
    return words;
}

static void bind_filters(sqlite3_stmt *st, const struct st_lab_search *s, const struct st_lab_search_query *q)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, s->match.data, (int)s->match.len, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, q->level);
    sqlite3_bind_int(st, 3, q->module);
    sqlite3_bind_int(st, 4, q->kind < 0 ? -1 : q->kind);
}

static int count(struct st_lab_search *s, const struct st_lab_search_query *q, size_t *total, struct st_error *err)
{
    bind_filters(s->count, s, q);
    int rc = sqlite3_step(s->count);
    *total = rc == SQLITE_ROW ? (size_t)sqlite3_column_int64(s->count, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : db_fail(s->db, err, "counting");
    sqlite3_reset(s->count);
    return rc;
}

/* The snippet at p (with markers) as safe HTML in the arena. */
static const char *snippet_html(struct st_lab_search *s, const char *p, struct st_arena *a)
{
    struct st_buf *b = &s->html;
    st_buf_clear(b);
    for (; p && *p; p++) {
        switch (*p) {
        case MARK_OPEN: st_buf_append_c(b, "<mark>"); break;
        case MARK_CLOSE: st_buf_append_c(b, "</mark>"); break;
        case '&': st_buf_append_c(b, "&amp;"); break;
        case '<': st_buf_append_c(b, "&lt;"); break;
        case '>': st_buf_append_c(b, "&gt;"); break;
        case '"': st_buf_append_c(b, "&quot;"); break;
        case '\'': st_buf_append_c(b, "&#39;"); break;
        default: st_buf_append_byte(b, *p); break;
        }
    }
    return st_arena_strndup(a, b->data ? b->data : "", b->len);
}

static int hits(struct st_lab_search *s, const struct st_lab_search_query *q, struct st_lab_hit *out, size_t *n,
                struct st_arena *a, struct st_error *err)
{
    sqlite3_stmt *st = s->hits;
    bind_filters(st, s, q);
    sqlite3_bind_int64(st, 5, q->limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)q->limit);
    sqlite3_bind_int64(st, 6, q->offset > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)q->offset);
    int rc = SQLITE_DONE;
    while (*n < q->limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct st_lab_hit *h = &out[(*n)++];
        h->question = sqlite3_column_int(st, 0);
        h->rank = sqlite3_column_double(st, 1);
        h->snippet = snippet_html(s, (const char *)sqlite3_column_text(st, 2), a);
    }
    rc = *n >= q->limit || rc == SQLITE_DONE ? 0 : db_fail(s->db, err, "searching");
    sqlite3_reset(st);
    return rc;
}

int st_lab_search_run(struct st_lab_search *s, const struct st_lab_search_query *q, struct st_lab_hit *out, size_t *n,
                      size_t *total, struct st_arena *a, struct st_error *err)
{
    *n = 0;
    *total = 0;
    const char *text = q->text ? q->text : "";
    if (text[strspn(text, " \t\r\n\f\v")] == '\0')
        return st_error_set(err, ST_EPARSE, "empty search");
    if (q->level < 0 || q->level > ST_CUR_LEVELS || q->module < 0 || q->module > ST_CUR_MODULES ||
        q->kind > ST_CUR_PRACTICAL)
        return st_error_set(err, ST_EUSAGE, "search filter out of range");
    int words = build_match(s, text, false);
    if (words == 0)
        return 0; /* only punctuation: nothing can match */
    int rc = count(s, q, total, err);
    if (rc == 0 && *total == 0 && words > 1) { /* no question has every word: rank those with any */
        build_match(s, text, true);
        rc = count(s, q, total, err);
    }
    if (rc == 0 && *total > q->offset)
        rc = hits(s, q, out, n, a, err);
    return rc;
}
