/*
 * cli.h - the lab's commands: `strata questions ...` and `strata progress ...`.
 *
 * Each entry point takes the arguments after its command word (argv[0] is the command
 * word itself) and returns the process exit status: 0 success, 1 a failure of the
 * machine (database, disk), 2 bad input (unknown question, bad flag, unreadable or invalid
 * file). Errors print one line on stderr: "strata: message".
 */
#ifndef ST_LAB_CLI_H
#define ST_LAB_CLI_H

#include "base/err.h"

#define ST_EXIT_OK 0
#define ST_EXIT_FAIL 1
#define ST_EXIT_USAGE 2

int st_cli_questions(int argc, char **argv);
int st_cli_progress(int argc, char **argv);

/* Print "strata: msg" for err and return the exit status for its code. */
int st_cli_fail(const struct st_error *err);
/* Parse flags; returns -1 to continue, or the exit status to return (help shown: 0,
 * bad flags: 2). */
struct st_flags_spec;
int st_cli_parse(const struct st_flags_spec *spec, int argc, char **argv, int *nargs);
/* A question number 1..500 from text, or an error naming the text. */
int st_cli_question_id(const char *text, int *id, struct st_error *err);

#endif
