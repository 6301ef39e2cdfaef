/* cli.c - what every lab command shares: error lines, exit statuses, flag parsing. */
#include "lab/cli.h"

#include <stdbool.h>
#include <stdio.h>

#include "base/flags.h"
#include "base/str.h"
#include "curriculum/curriculum.h"

int st_cli_fail(const struct st_error *err)
{
    fprintf(stderr, "strata: %s\n", err->msg[0] ? err->msg : st_strerror(err->code));
    /* The machine failed (database, disk full) vs the input was wrong. */
    if (err->code == ST_EDB || err->code == ST_EINTERNAL || err->code == -ENOSPC || err->code == -EIO)
        return ST_EXIT_FAIL;
    return ST_EXIT_USAGE;
}

/* "strata questions list" from "strata questions list [FLAGS] ...": the lower-case words. */
static void command_name(const char *usage, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = usage; *p && n + 1 < cap; p++) {
        bool word_start = p == usage || p[-1] == ' ';
        if (word_start && !(*p >= 'a' && *p <= 'z'))
            break;
        out[n++] = *p;
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

int st_cli_parse(const struct st_flags_spec *spec, int argc, char **argv, int *nargs)
{
    struct st_error err;
    int rc = st_flags_parse(spec, argc, argv, nargs, &err);
    if (rc == ST_FLAGS_HELP)
        return ST_EXIT_OK;
    if (rc) {
        char name[128];
        command_name(spec->usage, name, sizeof(name));
        fprintf(stderr, "strata: %s (see '%s --help')\n", err.msg, name);
        return ST_EXIT_USAGE;
    }
    return -1;
}

int st_cli_question_id(const char *text, int *id, struct st_error *err)
{
    struct st_str s = st_str_c(text);
    if (s.len && (s.ptr[0] == 'Q' || s.ptr[0] == 'q'))
        s = st_str_sub(s, 1, s.len); /* "Q242" as the bank writes it */
    int64_t v;
    if (st_str_to_i64(s, &v) != 0 || v < 1 || v > ST_CUR_QUESTIONS)
        return st_error_set(err, ST_ENOTFOUND, "no question '%s' (questions are numbered 1-500)", text);
    *id = (int)v;
    return 0;
}
