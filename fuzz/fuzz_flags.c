/*
 * fuzz_flags.c - libFuzzer target for the command-line flag parser.
 *
 * The input is split at NUL bytes into argv[1..] and parsed against a table holding every
 * flag type (bounded and unbounded integers, strings with and without choices, booleans,
 * short names). Beyond "no crash, no leak" it checks the contract of flags.h: the result
 * is 0, ST_EUSAGE or ST_FLAGS_HELP; an error carries one non-empty line; on success the
 * positionals are argv strings, ranges and choices hold, and string destinations borrow
 * from argv. The help text is then printed with the parsed values as defaults.
 *
 * --help prints to stdout, which the corpus replayer uses for its TAP report, so stdout
 * is pointed at /dev/null around a parse that could see an 'h'.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "base/flags.h"

struct dests {
    bool json, verbose;
    int64_t level, count;
    const char *kind, *name;
};

static const char *const kinds[] = { "conceptual", "practical", NULL };

static int parse(struct dests *d, int argc, char **argv, int *nargs, struct st_error *err)
{
    const struct st_flag flags[] = {
        { "level", 'l', ST_FLAG_INT, &d->level, "N", "level", .min = 1, .max = 5 },
        { "count", 'c', ST_FLAG_INT, &d->count, "N", "unbounded" },
        { "kind", 'k', ST_FLAG_STR, &d->kind, "KIND", "with choices", .choices = kinds },
        { "name", 0, ST_FLAG_STR, &d->name, "NAME", "free text" },
        { "json", 'j', ST_FLAG_BOOL, &d->json, NULL, "a bool" },
        { "verbose", 'v', ST_FLAG_BOOL, &d->verbose, NULL, "another bool" },
        { 0 },
    };
    const struct st_flags_spec spec = { "fuzz [FLAGS] ARGS", "Fuzzing.", flags, "epilog" };
    int rc = st_flags_parse(&spec, argc, argv, nargs, err);

    static FILE *devnull;
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    if (devnull)
        st_flags_print_help(&spec, devnull); /* defaults now come from the input */
    return rc;
}

/* Parse with stdout sent to /dev/null when the input might ask for --help. */
static int parse_quietly(struct dests *d, bool maybe_help, int argc, char **argv, int *nargs, struct st_error *err)
{
    if (!maybe_help)
        return parse(d, argc, argv, nargs, err);
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, 1);
    int rc = parse(d, argc, argv, nargs, err);
    fflush(stdout);
    if (saved >= 0)
        dup2(saved, 1);
    if (null >= 0)
        close(null);
    if (saved >= 0)
        close(saved);
    return rc;
}

static bool inside(const char *p, const char *buf, size_t size)
{
    return p >= buf && p <= buf + size;
}

static void check_result(int rc, const struct dests *d, char **argv, int argc, int nargs, const struct st_error *err,
                         const char *buf, size_t size)
{
    CHECK(rc == 0 || rc == ST_EUSAGE || rc == ST_FLAGS_HELP);
    if (rc == ST_EUSAGE) {
        CHECK(err->code == ST_EUSAGE && err->msg[0] != '\0' && !strchr(err->msg, '\n'));
        return;
    }
    if (rc != 0)
        return;
    CHECK(err->code == 0 && nargs >= 0 && nargs < argc);
    for (int i = 0; i < nargs; i++)
        CHECK(inside(argv[i], buf, size));
    CHECK(d->level == 0 || (d->level >= 1 && d->level <= 5));
    CHECK(!d->kind || strcmp(d->kind, kinds[0]) == 0 || strcmp(d->kind, kinds[1]) == 0);
    CHECK(!d->name || inside(d->name, buf, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A NUL-terminated copy, so the last piece is a C string too. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 1;
    for (size_t i = 0; i < size; i++)
        argc += buf[i] == '\0';
    argc += 1; /* argv[0] */
    char **argv = malloc(((size_t)argc + 1) * sizeof(*argv));
    if (!argv) {
        free(buf);
        return 0;
    }
    argv[0] = "fuzz";
    int k = 1;
    for (char *p = buf; k < argc; p += strlen(p) + 1)
        argv[k++] = p;
    argv[argc] = NULL;

    struct dests d = { 0 };
    struct st_error err;
    int nargs = -1;
    int rc = parse_quietly(&d, memchr(data, 'h', size) != NULL, argc, argv, &nargs, &err);
    CHECK(nargs >= 0);
    check_result(rc, &d, argv, argc, nargs, &err, buf, size);
    free(argv);
    free(buf);
    return 0;
}
