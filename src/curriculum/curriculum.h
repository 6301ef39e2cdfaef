/*
 * curriculum.h - the question bank, embedded in the binary at build time.
 *
 * 5 levels, 25 modules, 500 questions (ids 1..500; module m holds 20(m-1)+1 .. 20m, the
 * first ten conceptual). The tables are generated from curriculum/ by tools/curgen.c and
 * are read-only for the life of the process: pointers returned here never dangle.
 */
#ifndef ST_CURRICULUM_H
#define ST_CURRICULUM_H

#include <stdbool.h>
#include <stddef.h>

#define ST_CUR_LEVELS 5
#define ST_CUR_MODULES 25
#define ST_CUR_QUESTIONS 500

enum st_cur_kind { ST_CUR_CONCEPTUAL, ST_CUR_PRACTICAL };

struct st_cur_level {
    int id;
    const char *name;  /* "Beginner" */
    const char *focus; /* "Foundation" */
    const char *goal;
    const char *time; /* suggested study time, "1-2 months" */
};

struct st_cur_module {
    int id;
    int level;
    const char *name; /* "Database Scaling" */
    const char *slug; /* "database-scaling" */
};

struct st_cur_question {
    int id;
    int module;
    int level;
    enum st_cur_kind kind;
    const char *text;
    const char *const *tags;
    int ntags;
    const char *answer;           /* markdown, or NULL */
    const char *const *solutions; /* repo paths */
    int nsolutions;
    const char *demo;   /* command, or NULL */
    const char *grader; /* grader name, or NULL */
    const char *checks; /* what the grader checks: a markdown bullet list, or NULL */
    const char *source; /* "curriculum/13-database-scaling.txt:12" */
};

/* Lookups; NULL when id is out of range. */
const struct st_cur_level *st_cur_level(int id);
const struct st_cur_module *st_cur_module(int id);
const struct st_cur_question *st_cur_question(int id);

/* "conceptual" / "practical"; parse returns 0 or ST_EPARSE. */
const char *st_cur_kind_name(enum st_cur_kind kind);
int st_cur_kind_parse(const char *s, enum st_cur_kind *out);

/* Coverage: how much of the bank later work has filled in. */
struct st_cur_coverage {
    int questions;
    int answered; /* has an answer */
    int solved;   /* has at least one solution path */
    int graded;   /* has a grader */
};
/* Coverage of the questions matching the filter (0 = any level/module; kind < 0 = any). */
struct st_cur_coverage st_cur_coverage(int level, int module, int kind);

/*
 * Ranked search over question text, tags, module name and answer (BM25 with field weights,
 * a light English stemmer, a bonus for the whole query as a phrase, and a number in the
 * query matching a question id). Fills hits[0..max) best first (ties by id) and returns
 * how many matched in all (may exceed max).
 */
struct st_cur_hit {
    const struct st_cur_question *q;
    double score;
};
size_t st_cur_search(const char *query, struct st_cur_hit *hits, size_t max);

#endif
