/*
 * sql_blog.h - what the SQL-file graders share (internal to src/grade: sql_blog.c holds the
 * run, the canonical blog schema and Q31-Q34; sql_blog2.c the later questions).
 *
 * A check opens a fresh database (sqlb_open), loads the schema and a fixture drawn from
 * its seed (sqlb_canon), runs or prepares the learner's file, compares rows with its own
 * reference query (sqlb_select, sqlb_rows_same) and closes it (sqlb_close: the SQLite
 * file is deleted, the PostgreSQL schema dropped). Every helper returning bool fails the
 * check through g_fail.
 */
#ifndef ST_GRADE_SQL_BLOG_H
#define ST_GRADE_SQL_BLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "grade/internal.h"
#include "sql/sql.h"

/* One fresh database of a check. */
struct sqlb {
    struct st_sql_db *db; /* the grader's connection */
    bool pg;
    char schema[48]; /* PostgreSQL: the check's schema (search_path) */
    char path[512];  /* SQLite: the check's file */
};

bool sqlb_open(struct st_grade *g, struct sqlb *b);
void sqlb_close(struct st_grade *g, struct sqlb *b);
/* Another connection to b's database (closed by the caller with st_sql_close). */
bool sqlb_connect(struct st_grade *g, struct sqlb *b, struct st_sql_db **out);
/* Run the grader's own SQL (several statements allowed); what names it in a failure. */
bool sqlb_exec(struct st_grade *g, struct sqlb *b, const char *sql, const char *what);
/* Run the learner's whole file as it is. */
bool sqlb_run_file(struct st_grade *g, struct sqlb *b);
const char *sqlb_text(struct st_grade *g);
bool sqlb_is_pg(struct st_grade *g);

/* The canonical blog schema, and (scale > 0) the seeded fixture, scale times the usual size. */
bool sqlb_canon(struct st_grade *g, struct sqlb *b, int scale);

/* The file's statements, split at ';' outside quotes, comments and $$ bodies. The count. */
int sqlb_split(const char *text, char ***out);
void sqlb_split_free(char **v, int n);

/* A learner's statement with named parameters (:name) bound by name. */
#define SQLB_MAX_NAMES 8
struct sqlb_query {
    struct st_sql_stmt *st;
    int nnames;
    char names[SQLB_MAX_NAMES][32]; /* names[k] is $k+1 */
};
/* Prepare one statement; names outside allowed (NULL-terminated) fail. */
bool sqlb_prepare(struct st_grade *g, struct st_sql_db *db, const char *sql, const char *const *allowed,
                  struct sqlb_query *q);
/* The file must hold exactly one statement, using every name in needed. */
bool sqlb_prepare_one(struct st_grade *g, struct st_sql_db *db, const char *const *allowed, const char *const *needed,
                      struct sqlb_query *q);
void sqlb_bind(struct sqlb_query *q, const char *name, int64_t v);
void sqlb_query_free(struct sqlb_query *q);
/* sqlb_open + sqlb_canon(1) + sqlb_prepare_one. */
bool sqlb_query_setup(struct st_grade *g, struct sqlb *b, const char *const *allowed, const char *const *needed,
                      struct sqlb_query *q);

/* Result rows as text, columns joined by " | ", NULL as NULL. */
struct sqlb_rows {
    char **v;
    size_t n, cap;
    int cols;
};
void sqlb_rows_free(struct sqlb_rows *r);
/* Step st to the end (then reset it). 0 or the ST_SQL_* status with err. */
int sqlb_rows_read(struct st_sql_stmt *st, struct sqlb_rows *r, struct st_error *err);
/* Same rows in the same order; else g_fail naming the first difference. */
bool sqlb_rows_same(struct st_grade *g, const struct sqlb_rows *want, const struct sqlb_rows *got, const char *what);
/* The grader's own query with int parameters $1..$np. */
bool sqlb_select(struct st_grade *g, struct st_sql_db *db, const char *sql, const int64_t *params, int np,
                 struct sqlb_rows *out);
/* The first column of the first row as an integer (a count). */
bool sqlb_count(struct st_grade *g, struct st_sql_db *db, const char *sql, int64_t *n);
/* Run the learner's prepared query (parameters bound). */
bool sqlb_run_query(struct st_grade *g, struct sqlb_query *q, struct sqlb_rows *out);

#endif
