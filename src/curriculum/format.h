/*
 * format.h - reading and checking the curriculum files (docs/curriculum-format.md).
 *
 * Internal to the curriculum module: the build-time generator (tools/curgen.c) and the
 * fuzz target use it; the strata binary only sees the generated tables (curriculum.h).
 *
 * Usage: st_curf_init(); st_curf_add_file() for every file; st_curf_check(); read the
 * typed bank; st_curf_release(). Every string in the bank lives in the bank's arena.
 * The first error stops parsing and is reported as "file:line: message".
 */
#ifndef ST_CURRICULUM_FORMAT_H
#define ST_CURRICULUM_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/err.h"

#define ST_CURF_LEVELS 5
#define ST_CURF_MODULES 25
#define ST_CURF_QUESTIONS 500
#define ST_CURF_PER_MODULE 20
#define ST_CURF_MAX_LIST 32 /* tags or solution paths per question */

struct st_curf_where {
    const char *file; /* as given to st_curf_add_file; NULL when the record is absent */
    int line;
};

struct st_curf_level {
    struct st_curf_where at;
    const char *name, *focus, *goal, *time;
};

struct st_curf_module {
    struct st_curf_where at;
    int level;
    const char *name;
};

struct st_curf_question {
    struct st_curf_where at;
    int module;
    bool practical;
    const char *text;
    const char *tags[ST_CURF_MAX_LIST];
    int ntags;
    const char *answer; /* NULL when not written yet */
    const char *solutions[ST_CURF_MAX_LIST];
    int nsolutions;
    const char *demo;   /* NULL when none */
    const char *grader; /* NULL when none */
    const char *checks; /* markdown bullet list of what the grader checks; NULL when none */
};

struct st_curf_bank {
    struct st_arena arena;
    struct st_curf_level levels[ST_CURF_LEVELS + 1];          /* index 1..5 */
    struct st_curf_module modules[ST_CURF_MODULES + 1];       /* index 1..25 */
    struct st_curf_question questions[ST_CURF_QUESTIONS + 1]; /* index 1..500 */
};

void st_curf_init(struct st_curf_bank *b);
void st_curf_release(struct st_curf_bank *b);

/* Parse one file's bytes (need not be NUL-terminated) into the bank. file names the file in
 * messages and must outlive the bank. 0 or ST_EPARSE with err set. */
int st_curf_add_file(struct st_curf_bank *b, const char *file, const char *data, size_t len, struct st_error *err);

/* Check completeness and cross-references. With srcroot not NULL, every solution path must
 * exist under it. 0 or ST_EPARSE with err set. */
int st_curf_check(const struct st_curf_bank *b, const char *srcroot, struct st_error *err);

#endif
