/*
 * tables.h - the generated tables behind curriculum.h (internal).
 * Defined in the build's curriculum_data.c, written by tools/curgen.c.
 */
#ifndef ST_CURRICULUM_TABLES_H
#define ST_CURRICULUM_TABLES_H

#include "curriculum/curriculum.h"

extern const struct st_cur_level st__cur_levels[ST_CUR_LEVELS];
extern const struct st_cur_module st__cur_modules[ST_CUR_MODULES];
extern const struct st_cur_question st__cur_questions[ST_CUR_QUESTIONS];

#endif
