/* curriculum.c - lookups and coverage over the generated question-bank tables. */
#include "curriculum/curriculum.h"

#include <string.h>

#include "base/err.h"
#include "curriculum/tables.h"

const struct st_cur_level *st_cur_level(int id)
{
    return id >= 1 && id <= ST_CUR_LEVELS ? &st__cur_levels[id - 1] : NULL;
}

const struct st_cur_module *st_cur_module(int id)
{
    return id >= 1 && id <= ST_CUR_MODULES ? &st__cur_modules[id - 1] : NULL;
}

const struct st_cur_question *st_cur_question(int id)
{
    return id >= 1 && id <= ST_CUR_QUESTIONS ? &st__cur_questions[id - 1] : NULL;
}

const char *st_cur_kind_name(enum st_cur_kind kind)
{
    return kind == ST_CUR_PRACTICAL ? "practical" : "conceptual";
}

int st_cur_kind_parse(const char *s, enum st_cur_kind *out)
{
    if (s && strcmp(s, "conceptual") == 0)
        *out = ST_CUR_CONCEPTUAL;
    else if (s && strcmp(s, "practical") == 0)
        *out = ST_CUR_PRACTICAL;
    else
        return ST_EPARSE;
    return 0;
}

struct st_cur_coverage st_cur_coverage(int level, int module, int kind)
{
    struct st_cur_coverage c = { 0 };
    for (int i = 0; i < ST_CUR_QUESTIONS; i++) {
        const struct st_cur_question *q = &st__cur_questions[i];
        if ((level && q->level != level) || (module && q->module != module) || (kind >= 0 && (int)q->kind != kind))
            continue;
        c.questions++;
        c.answered += q->answer != NULL;
        c.solved += q->nsolutions > 0;
        c.graded += q->grader != NULL;
    }
    return c;
}
