/*
 * grade.h - `strata grade`: black-box graders that check a learner's server over HTTP.
 *
 *   strata grade --list
 *   strata grade Q11 --target http://127.0.0.1:8080 [--seed N] [--repeat N] [--timeout MS]
 *                    [--json FILE] [--verbose]
 *   strata grade Q16 --cmd "python3 app.py --port {port}"
 *
 * A grader is a list of checks; each check sends requests (randomised from the seed) and
 * judges the answers precisely. The command prints one line per check, `ok` or `FAIL`,
 * and for a failure what was sent, what came back and why; the last line is
 * "Q11: 5/5 checks passed". Exit status: 0 all passed, 1 some failed (or the program
 * under --cmd could not be started), 2 usage error.
 *
 * The same run is available in-process (st_grade_run): the lab's web server runs it on a
 * job thread and streams the lines to the browser. Runs on different threads do not share
 * state; one run blocks its thread (a private client loop per request), so never call it
 * on an event loop.
 *
 * The check lists, in words, are in curriculum/ next to each question (`checks:` field,
 * shown by `strata questions show N`); the code is in src/grade/basics*.c.
 */
#ifndef ST_GRADE_GRADE_H
#define ST_GRADE_GRADE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* What a grader is, for listing it and deciding where it can run. */
struct st_grade_info {
    const char *name; /* "q11", the curriculum's grader field (static) */
    int question;
    int checks;     /* checks per round */
    bool needs_cmd; /* reads the program's output: the grader must start it (--cmd) */
    bool needs_dir; /* serves a directory the grader fills: --cmd with {dir} */
    bool needs_sql; /* judges an SQL file (--sql), no program */
};

/* The grader named "Q11", "q11" or "11" into *out (may be NULL). 0 or ST_ENOTFOUND. */
int st_grade_find(const char *name, struct st_grade_info *out);

/* A random seed, short enough to type back in (< 10^12). */
uint64_t st_grade_random_seed(void);

/* One line of the report, without its newline (text is not NUL-terminated: use len). */
typedef void (*st_grade_line_fn)(void *arg, const char *text, size_t len);

struct st_grade_run_opts {
    const char *grader; /* "Q11", "q11" or "11" */
    const char *target; /* "http://HOST:PORT" or "HOST:PORT" (exactly one of target, cmd) */
    const char *cmd;    /* a command with {port} (and {dir}) the run starts, under /bin/sh, and
                         * stops at the end (forks: the CLI's; the web server does not use it) */
    uint64_t seed;      /* round r uses seed + r */
    int repeat;         /* rounds; 0: 1 */
    int timeout_ms;     /* budget of each check; 0: 5000 */
    bool verbose;       /* log every request and response */
    const char *json;   /* also write the results as JSON to this file; NULL: no */
    const char *db;     /* graders that need a database (Q111): a PostgreSQL URL the run
                         * creates its own database from; NULL: none. SQL-file graders
                         * (Q31-Q39 ...): postgres://... gets a temporary schema per check;
                         * NULL: temporary SQLite files */
    const char *sql;    /* SQL-file graders: the learner's file (--sql) */
    /* Checked before every check: once true, the run stops and res->cancelled is set.
     * NULL: never. */
    const atomic_bool *cancel;
};

struct st_grade_result {
    int question;
    uint64_t seed;
    int passed; /* checks that passed */
    int total;  /* checks that ran (every check of every round unless cancelled) */
    bool cancelled;
    const char *error; /* NULL, or why no check ran (a literal): "the program could not be started" */
};

/*
 * Run a grader: the header lines, one `ok`/`FAIL` line per check with the report of a
 * failure, and the summary "Q11: 3/5 checks passed" go to line(arg, ...), in order, from
 * the calling thread. res is filled in every case.
 *
 * Returns 0 when the checks ran (all passed when res->passed == res->total > 0), or
 *   ST_ENOTFOUND / ST_EUSAGE  the options were refused before anything ran (unknown grader,
 *                             a grader that needs cmd, a target that does not parse or
 *                             resolve, ...): err says why in a sentence for a person;
 *   another status            the program under cmd could not be started (res->error, err).
 * Writing opts->json can fail on its own: -EIO, after the checks ran (res complete).
 */
int st_grade_run(const struct st_grade_run_opts *o, st_grade_line_fn line, void *arg, struct st_grade_result *res,
                 struct st_error *err);

/* `strata grade ...`: argv[0] is "grade". Returns the exit status. */
int st_cli_grade(int argc, char **argv);

#endif
