/*
 * test_flags.c - command-line flags: every syntax form, positionals, the environment and
 * its precedence, each error with its one-line message, and the --help text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/flags.h"

static bool json, verbose;
static int64_t level, count;
static const char *kind, *name, *dir;

static const char *const kinds[] = { "conceptual", "practical", NULL };
static const struct st_flag table[] = {
    { "level", 'l', ST_FLAG_INT, &level, "N", "only questions of level N", .min = 1, .max = 5 },
    { "count", 'c', ST_FLAG_INT, &count, "N", "how many" },
    { "kind", 0, ST_FLAG_STR, &kind, "KIND", "conceptual or practical", .choices = kinds },
    { "name", 'n', ST_FLAG_STR, &name, "NAME", "who is asking" },
    { "json", 'j', ST_FLAG_BOOL, &json, NULL, "print JSON" },
    { "verbose", 'v', ST_FLAG_BOOL, &verbose, NULL, "say more" },
    { "data-dir", 0, ST_FLAG_STR, &dir, "DIR", "where the data lives" },
    { 0 },
};
static const struct st_flags_spec spec = { "strata test [FLAGS] FILE...", "Test the flags.", table, NULL };

static const char *const env_names[] = { "STRATA_LEVEL", "STRATA_COUNT",   "STRATA_KIND",    "STRATA_NAME",
                                         "STRATA_JSON",  "STRATA_VERBOSE", "STRATA_DATA_DIR" };

static struct st_error err;
static int nargs;
static char *args[32];

static int reset(void **state)
{
    (void)state;
    json = verbose = false;
    level = count = 0;
    kind = name = dir = NULL;
    nargs = -1;
    for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
        unsetenv(env_names[i]);
    return 0;
}

/* Parse a NULL-terminated list (without the command name) with the test table. */
static int run_spec(const struct st_flags_spec *s, const char *const *list)
{
    int argc = 0;
    args[argc++] = "strata-test";
    while (*list)
        args[argc++] = (char *)*list++;
    args[argc] = NULL;
    memset(&err, 0x55, sizeof(err)); /* the parser must set or clear it */
    return st_flags_parse(s, argc, args, &nargs, &err);
}
#define PARSE(...) run_spec(&spec, (const char *const[]){ __VA_ARGS__, NULL })
#define PARSE_NONE() run_spec(&spec, (const char *const[]){ NULL })

/* An error: ST_EUSAGE, in err too, with exactly this one-line message. */
#define ASSERT_USAGE(rc, message)                                                                                      \
    do {                                                                                                               \
        assert_int_equal((rc), ST_EUSAGE);                                                                             \
        assert_int_equal(err.code, ST_EUSAGE);                                                                         \
        assert_string_equal(err.msg, (message));                                                                       \
    } while (0)

static void assert_ok(int rc)
{
    if (rc != 0)
        fail_msg("parse failed (%d): %s", rc, err.msg);
    assert_int_equal(err.code, ST_OK);
    assert_string_equal(err.msg, "");
}

/* ---- syntax ---- */

static void long_forms(void **state)
{
    (void)state;
    assert_ok(PARSE("--level", "3", "--name=ann", "--count=-7", "--kind", "practical"));
    assert_int_equal(level, 3);
    assert_string_equal(name, "ann");
    assert_int_equal(count, -7);
    assert_string_equal(kind, "practical");
    assert_int_equal(nargs, 0);
    assert_ok(PARSE("--name=a=b", "--data-dir=", "--level=2", "--level", "4"));
    assert_string_equal(name, "a=b");     /* only the first '=' splits */
    assert_string_equal(dir, "");         /* an explicit empty value */
    assert_int_equal(level, 4);           /* the last one wins */
    assert_ok(PARSE("--name", "--json")); /* a value may start with a dash */
    assert_string_equal(name, "--json");
    assert_false(json);
}

static void short_forms(void **state)
{
    (void)state;
    assert_ok(PARSE("-l", "3", "-nann", "-c-5"));
    assert_int_equal(level, 3);
    assert_string_equal(name, "ann");
    assert_int_equal(count, -5);
    assert_ok(PARSE("-l2", "-n", "bob"));
    assert_int_equal(level, 2);
    assert_string_equal(name, "bob");
    assert_ok(PARSE("-jv")); /* bundled booleans */
    assert_true(json && verbose);
    reset(NULL);
    assert_ok(PARSE("-jl5", "-vn", "x")); /* booleans, then a flag taking the rest */
    assert_true(json && verbose);
    assert_int_equal(level, 5);
    assert_string_equal(name, "x");
    assert_ok(PARSE("-nj")); /* after a value flag, the rest is its value */
    assert_string_equal(name, "j");
}

static void booleans(void **state)
{
    (void)state;
    assert_ok(PARSE("--json"));
    assert_true(json);
    assert_ok(PARSE("--json=false"));
    assert_false(json);
    assert_ok(PARSE("--json=true", "--verbose=1"));
    assert_true(json && verbose);
    assert_ok(PARSE("--json=no", "--verbose=OFF"));
    assert_false(json || verbose);
    assert_ok(PARSE("--json=yes", "--verbose=on"));
    assert_true(json && verbose);
    reset(NULL);
    assert_ok(PARSE("--json", "false")); /* a boolean never takes the next argument */
    assert_true(json);
    assert_int_equal(nargs, 1);
    assert_string_equal(args[0], "false");
    ASSERT_USAGE(PARSE("--json=maybe"), "--json: invalid boolean \"maybe\" (use true or false)");
    ASSERT_USAGE(PARSE("--json="), "--json: invalid boolean \"\" (use true or false)");
}

static void positionals_in_order(void **state)
{
    (void)state;
    assert_ok(PARSE("one", "--json", "two", "-l", "2", "three", "-", "--name=x", "four"));
    assert_int_equal(nargs, 5);
    assert_string_equal(args[0], "one");
    assert_string_equal(args[1], "two");
    assert_string_equal(args[2], "three");
    assert_string_equal(args[3], "-"); /* a lone dash is an argument (stdin) */
    assert_string_equal(args[4], "four");
    assert_true(json);
    assert_int_equal(level, 2);
    assert_ok(PARSE_NONE());
    assert_int_equal(nargs, 0);
}

static void double_dash_ends_flags(void **state)
{
    (void)state;
    assert_ok(PARSE("a", "--", "--json", "-l", "--", "b"));
    assert_int_equal(nargs, 5);
    assert_string_equal(args[0], "a");
    assert_string_equal(args[1], "--json");
    assert_string_equal(args[2], "-l");
    assert_string_equal(args[3], "--");
    assert_string_equal(args[4], "b");
    assert_false(json);
    assert_ok(PARSE("--name", "--", "x")); /* "--" as the value of a flag is a value */
    assert_string_equal(name, "--");
    assert_int_equal(nargs, 1);
    assert_string_equal(args[0], "x");
}

/* ---- errors ---- */

static void unknown_flags(void **state)
{
    (void)state;
    ASSERT_USAGE(PARSE("--bogus"), "unknown flag \"--bogus\"");
    ASSERT_USAGE(PARSE("--bogus=1"), "unknown flag \"--bogus\"");
    ASSERT_USAGE(PARSE("x", "-x"), "unknown flag \"-x\"");
    ASSERT_USAGE(PARSE("-jq"), "unknown flag \"-q\"");
    ASSERT_USAGE(PARSE("--Level=1"), "unknown flag \"--Level\""); /* names are exact */
    ASSERT_USAGE(PARSE("--lev", "1"), "unknown flag \"--lev\"");  /* no abbreviations */
    ASSERT_USAGE(PARSE("--help=yes"), "--help: takes no value");
    assert_int_equal(nargs, 0);
}

static void missing_values(void **state)
{
    (void)state;
    ASSERT_USAGE(PARSE("--level"), "--level: missing value N");
    ASSERT_USAGE(PARSE("x", "-l"), "-l: missing value N");
    ASSERT_USAGE(PARSE("-jn"), "-n: missing value NAME");
    ASSERT_USAGE(PARSE("--kind"), "--kind: missing value KIND");
}

static void bad_numbers(void **state)
{
    (void)state;
    ASSERT_USAGE(PARSE("--level", "abc"), "--level: \"abc\" is not an integer");
    ASSERT_USAGE(PARSE("--level="), "--level: \"\" is not an integer");
    ASSERT_USAGE(PARSE("-l", "3x"), "-l: \"3x\" is not an integer");
    ASSERT_USAGE(PARSE("--count", " 3"), "--count: \" 3\" is not an integer");
    ASSERT_USAGE(PARSE("--count", "+3"), "--count: \"+3\" is not an integer");
    ASSERT_USAGE(PARSE("--count", "-"), "--count: \"-\" is not an integer");
    ASSERT_USAGE(PARSE("--count", "0x10"), "--count: \"0x10\" is not an integer");
    ASSERT_USAGE(PARSE("--count", "99999999999999999999x"), "--count: \"99999999999999999999x\" is not an integer");
}

static void number_ranges(void **state)
{
    (void)state;
    ASSERT_USAGE(PARSE("--level", "9"), "--level: 9 is out of range 1..5");
    ASSERT_USAGE(PARSE("-l0"), "-l: 0 is out of range 1..5");
    ASSERT_USAGE(PARSE("--level=-1"), "--level: -1 is out of range 1..5");
    assert_ok(PARSE("--level", "1"));
    assert_ok(PARSE("--level", "5"));
    assert_int_equal(level, 5);
    /* without min < max only int64_t limits apply */
    assert_ok(PARSE("--count", "9223372036854775807"));
    assert_int_equal(count, INT64_MAX);
    assert_ok(PARSE("--count", "-9223372036854775808"));
    assert_int_equal(count, INT64_MIN);
    ASSERT_USAGE(PARSE("--count", "9223372036854775808"), "--count: \"9223372036854775808\" is out of range");
    ASSERT_USAGE(PARSE("--count", "-9223372036854775809"), "--count: \"-9223372036854775809\" is out of range");
}

static void choices(void **state)
{
    (void)state;
    assert_ok(PARSE("--kind", "conceptual"));
    assert_string_equal(kind, "conceptual");
    ASSERT_USAGE(PARSE("--kind", "Practical"), "--kind: \"Practical\" is not one of: conceptual, practical");
    ASSERT_USAGE(PARSE("--kind="), "--kind: \"\" is not one of: conceptual, practical");
}

/* What the user typed is quoted with control bytes escaped: the message stays one line. */
static void messages_stay_one_line(void **state)
{
    (void)state;
    ASSERT_USAGE(PARSE("--kind", "a\nb\x1b[31m"), "--kind: \"a\\x0ab\\x1b[31m\" is not one of: conceptual, practical");
    ASSERT_USAGE(PARSE("--na\nme"), "unknown flag \"--na\\x0ame\"");
    ASSERT_USAGE(PARSE("-\xc3\xa9"), "unknown flag \"-\\xc3\""); /* one byte of a character */
    ASSERT_USAGE(PARSE("--caf\xc3\xa9"), "unknown flag \"--caf\xc3\xa9\"");
    char longv[300];
    memset(longv, 'z', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    assert_int_equal(PARSE("--level", longv), ST_EUSAGE);
    assert_null(strchr(err.msg, '\n'));
    assert_non_null(strstr(err.msg, "zzz\"... is not an integer")); /* cut, and says so */
    assert_true(strlen(err.msg) < 120);
    /* err may be NULL */
    char *argv[] = { "x", "--bogus", NULL };
    int n;
    assert_int_equal(st_flags_parse(&spec, 2, argv, &n, NULL), ST_EUSAGE);
}

/* ---- environment ---- */

static void env_fills_absent_flags(void **state)
{
    (void)state;
    setenv("STRATA_LEVEL", "4", 1);
    setenv("STRATA_DATA_DIR", "/srv/data", 1);
    setenv("STRATA_JSON", "true", 1);
    setenv("STRATA_KIND", "practical", 1);
    assert_ok(PARSE("file"));
    assert_int_equal(level, 4);
    assert_string_equal(dir, "/srv/data");
    assert_true(json);
    assert_string_equal(kind, "practical");
    assert_int_equal(nargs, 1);
}

static void command_line_beats_env(void **state)
{
    (void)state;
    setenv("STRATA_LEVEL", "4", 1);
    setenv("STRATA_JSON", "true", 1);
    assert_ok(PARSE("--level", "2", "--json=false"));
    assert_int_equal(level, 2);
    assert_false(json);
    /* an invalid variable is not even read when the flag is given */
    setenv("STRATA_LEVEL", "lots", 1);
    assert_ok(PARSE("-l", "3"));
    assert_int_equal(level, 3);
}

static void env_errors_name_the_variable(void **state)
{
    (void)state;
    setenv("STRATA_LEVEL", "lots", 1);
    ASSERT_USAGE(PARSE_NONE(), "STRATA_LEVEL: \"lots\" is not an integer");
    setenv("STRATA_LEVEL", "7", 1);
    ASSERT_USAGE(PARSE_NONE(), "STRATA_LEVEL: 7 is out of range 1..5");
    unsetenv("STRATA_LEVEL");
    setenv("STRATA_JSON", "sometimes", 1);
    ASSERT_USAGE(PARSE_NONE(), "STRATA_JSON: invalid boolean \"sometimes\" (use true or false)");
    unsetenv("STRATA_JSON");
    setenv("STRATA_KIND", "other", 1);
    ASSERT_USAGE(PARSE_NONE(), "STRATA_KIND: \"other\" is not one of: conceptual, practical");
    unsetenv("STRATA_KIND");
    setenv("STRATA_LEVEL", "", 1); /* empty counts as unset */
    assert_ok(PARSE_NONE());
    assert_int_equal(level, 0);
}

static void env_name_mapping(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(st_flags_env_name("data-dir", buf), "STRATA_DATA_DIR");
    assert_string_equal(st_flags_env_name("level", buf), "STRATA_LEVEL");
    assert_string_equal(st_flags_env_name("x.y2", buf), "STRATA_X_Y2");
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(strlen(st_flags_env_name(big, buf)), 127);
}

/* ---- help ---- */

/* Run st_flags_parse with stdout captured; returns the rc, the output in text. */
static int parse_capturing(const char *const *list, char *text, size_t cap)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stdout);
    int saved = dup(1);
    dup2(fileno(tmp), 1);
    int rc = run_spec(&spec, list);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    rewind(tmp);
    size_t n = fread(text, 1, cap - 1, tmp);
    text[n] = '\0';
    fclose(tmp);
    return rc;
}

static const char expected_help[] =
    "Usage: strata test [FLAGS] FILE...\n"
    "\n"
    "Test the flags.\n"
    "\n"
    "Flags:\n"
    "  -l, --level N       only questions of level N (1..5; default: 0; env: STRATA_LEVEL)\n"
    "  -c, --count N       how many (default: 0; env: STRATA_COUNT)\n"
    "      --kind KIND     conceptual or practical (one of: conceptual, practical; "
    "env: STRATA_KIND)\n"
    "  -n, --name NAME     who is asking (env: STRATA_NAME)\n"
    "  -j, --json          print JSON (default: false; env: STRATA_JSON)\n"
    "  -v, --verbose       say more (default: false; env: STRATA_VERBOSE)\n"
    "      --data-dir DIR  where the data lives (env: STRATA_DATA_DIR)\n"
    "  -h, --help          show this help and exit\n";

static void help_flag(void **state)
{
    (void)state;
    char text[4096];
    assert_int_equal(parse_capturing((const char *const[]){ "--help", NULL }, text, sizeof(text)), ST_FLAGS_HELP);
    assert_string_equal(text, expected_help);
    assert_int_equal(parse_capturing((const char *const[]){ "x", "-vh", NULL }, text, sizeof(text)), ST_FLAGS_HELP);
    assert_string_equal(text, expected_help);
    /* the defaults shown are the initial values, not what the line before --help set */
    assert_int_equal(
        parse_capturing((const char *const[]){ "--level", "3", "--json", "--help", NULL }, text, sizeof(text)),
        ST_FLAGS_HELP);
    assert_string_equal(text, expected_help);
    assert_int_equal(level, 0);
    assert_false(json);
    /* after "--", or as a value, it is not a flag */
    assert_int_equal(parse_capturing((const char *const[]){ "--", "--help", NULL }, text, sizeof(text)), 0);
    assert_string_equal(text, "");
    assert_int_equal(parse_capturing((const char *const[]){ "--name", "--help", NULL }, text, sizeof(text)), 0);
    assert_string_equal(name, "--help");
}

static void help_text_defaults_and_epilog(void **state)
{
    (void)state;
    bool on = true;
    int64_t port = 8080;
    const char *host = "localhost";
    const struct st_flag f[] = {
        { "host", 'h', ST_FLAG_STR, &host, NULL, "bind address" }, /* takes -h */
        { "port", 0, ST_FLAG_INT, &port, NULL, "TCP port", .min = 1, .max = 65535 },
        { "a-very-long-flag-name-indeed", 0, ST_FLAG_BOOL, &on, NULL, "wide" },
        { 0 },
    };
    const struct st_flags_spec s = { "serve", NULL, f, "Example: serve --port 80" };
    char text[4096];
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    st_flags_print_help(&s, tmp);
    rewind(tmp);
    text[fread(text, 1, sizeof(text) - 1, tmp)] = '\0';
    fclose(tmp);
    assert_string_equal(text, "Usage: serve\n"
                              "\n"
                              "Flags:\n"
                              "  -h, --host VALUE            bind address (default: localhost; env: STRATA_HOST)\n"
                              "      --port N                TCP port (1..65535; default: 8080; env: STRATA_PORT)\n"
                              "      --a-very-long-flag-name-indeed\n"
                              "                              wide (default: true; env: "
                              "STRATA_A_VERY_LONG_FLAG_NAME_INDEED)\n"
                              "      --help                  show this help and exit\n"
                              "\n"
                              "Example: serve --port 80\n");
    /* -h belongs to --host here; --help still prints the help */
    char *argv[] = { "serve", "-h", "::1", NULL };
    int n;
    assert_int_equal(st_flags_parse(&s, 3, argv, &n, NULL), 0);
    assert_string_equal(host, "::1");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, reset)
    const struct CMUnitTest tests[] = {
        T(long_forms),
        T(short_forms),
        T(booleans),
        T(positionals_in_order),
        T(double_dash_ends_flags),
        T(unknown_flags),
        T(missing_values),
        T(bad_numbers),
        T(number_ranges),
        T(choices),
        T(messages_stay_one_line),
        T(env_fills_absent_flags),
        T(command_line_beats_env),
        T(env_errors_name_the_variable),
        T(env_name_mapping),
        T(help_flag),
        T(help_text_defaults_and_epilog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
