/*
 * search.h - ranked search over the question bank with SQLite FTS5: question text, answer,
 * what the grader checks, tags and module name, with level/module/kind filters and
 * highlighted snippets.
 *
 * The index is an in-memory SQLite database built from the compiled-in bank when opened
 * (500 rows: a few milliseconds), so it is always in step with the binary and never
 * needs a migration. One struct st_lab_search per thread (a SQLite connection).
 *
 * Snippets are safe HTML: the stored text is HTML-escaped and only the <mark> elements
 * added around matches are markup.
 */
#ifndef ST_LAB_SEARCH_H
#define ST_LAB_SEARCH_H

#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"

struct st_lab_search;

int st_lab_search_open(struct st_lab_search **out, struct st_error *err);
void st_lab_search_close(struct st_lab_search *s);

struct st_lab_search_query {
    const char *text; /* what the learner typed; any characters (quoted for FTS5 here) */
    int level;        /* 0: any */
    int module;       /* 0: any */
    int kind;         /* -1: any, else enum st_cur_kind */
    size_t offset, limit;
};

struct st_lab_hit {
    int question;
    double rank;         /* bm25, lower is better */
    const char *snippet; /* safe HTML with <mark>, in the arena */
};

/* Hits ranked best first into out[0..*n) (at most q->limit), *total all matches.
 * Strings go to arena a. An empty text is ST_EPARSE. */
int st_lab_search_run(struct st_lab_search *s, const struct st_lab_search_query *q, struct st_lab_hit *out, size_t *n,
                      size_t *total, struct st_arena *a, struct st_error *err);

#endif
