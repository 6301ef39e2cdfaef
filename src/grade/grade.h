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
 * The check lists, in words, are in curriculum/ next to each question (`checks:` field,
 * shown by `strata questions show N`); the code is in src/grade/basics*.c.
 */
#ifndef ST_GRADE_GRADE_H
#define ST_GRADE_GRADE_H

/* `strata grade ...`: argv[0] is "grade". Returns the exit status. */
int st_cli_grade(int argc, char **argv);

#endif
