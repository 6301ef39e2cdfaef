/*
 * flags.h - GNU-style command-line flags, each also settable from the environment.
 *
 * A command declares its flags in a table; st_flags_parse() fills the destinations:
 *
 *   int64_t level = 0; const char *kind = NULL; bool json = false;
 *   static const char *const kinds[] = { "conceptual", "practical", NULL };
 *   const struct st_flag flags[] = {
 *       { "level", 'l', ST_FLAG_INT, &level, "N", "only questions of level N", .min = 1, .max = 5 },
 *       { "kind", 0, ST_FLAG_STR, &kind, "KIND", "conceptual or practical", .choices = kinds },
 *       { "json", 0, ST_FLAG_BOOL, &json, NULL, "print JSON" },
 *       { 0 },
 *   };
 *   const struct st_flags_spec spec = { "strata questions list [FLAGS]", "List questions.", flags };
 *   rc = st_flags_parse(&spec, argc, argv, &nargs, &err);
 *
 * Syntax: --name VALUE, --name=VALUE, -n VALUE, -nVALUE; booleans take no value
 * (--json) or an explicit one (--json=false; true/false, 1/0, yes/no, on/off, any case).
 * Short booleans bundle (-jv, -jvl3). Long names match exactly (no abbreviations). "--"
 * ends the flags; a lone "-" is a positional. Flags and positional arguments may be
 * mixed; positionals are moved, in order, to argv[0..nargs).
 * -h and --help print the help (usage, summary, every flag with its default and its
 * environment variable) to stdout and return ST_FLAGS_HELP; a table may take -h for a
 * flag of its own, and --help keeps working. The help is found before any value is
 * stored, so the defaults it shows are always the initial values.
 *
 * Environment: a flag "data-dir" can also come from STRATA_DATA_DIR (upper case, '-' ->
 * '_'). Precedence: command line > environment > the destination's initial value (the
 * default, shown in --help). An invalid environment value is an error naming the variable;
 * the variable is not read at all when the flag is on the command line, and an empty
 * variable counts as unset.
 *
 * Errors (unknown flag, missing value, bad number, out of range, not a choice) return
 * ST_EUSAGE with one clear line in err->msg; destinations may be partly written then.
 * The parser keeps pointers into argv and the environment (STR destinations borrow them).
 */
#ifndef ST_BASE_FLAGS_H
#define ST_BASE_FLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

#define ST_FLAGS_HELP 1 /* st_flags_parse printed --help: exit 0 */
#define ST_FLAGS_ENV_PREFIX "STRATA_"

enum st_flag_type {
    ST_FLAG_BOOL, /* dest: bool * */
    ST_FLAG_INT,  /* dest: int64_t *; [min, max] enforced when min < max */
    ST_FLAG_STR,  /* dest: const char ** (borrowed); one of choices when set */
};

struct st_flag {
    const char *name; /* long name without dashes; NULL ends the table */
    char short_name;  /* or 0 */
    enum st_flag_type type;
    void *dest;
    const char *metavar;        /* placeholder in help ("N", "DIR"); NULL for bools */
    const char *help;           /* one line */
    int64_t min, max;           /* ST_FLAG_INT range, when min < max */
    const char *const *choices; /* ST_FLAG_STR allowed values, NULL-terminated, or NULL */
};

struct st_flags_spec {
    const char *usage;   /* "strata questions list [FLAGS]" */
    const char *summary; /* one paragraph shown under the usage */
    const struct st_flag *flags;
    const char *epilog; /* optional text after the flag table (examples) */
};

/*
 * Parse argv[1..argc) (argv[0] is the command name and is skipped). On success returns 0
 * and stores the number of positional arguments, moved to argv[0..*nargs), in *nargs.
 */
int st_flags_parse(const struct st_flags_spec *spec, int argc, char **argv, int *nargs, struct st_error *err);

/* Print the help text (what --help prints). */
void st_flags_print_help(const struct st_flags_spec *spec, FILE *out);

/* The environment variable name for a flag: "STRATA_" + NAME; buf needs 128 bytes. */
const char *st_flags_env_name(const char *flag_name, char buf[128]);

#endif
