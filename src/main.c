/*
 * main.c - the one strata binary: dispatches `strata COMMAND ...` to its module.
 *
 * Later commands (serve, grade, example, kv, ...) register here. Global settings come from
 * the environment so every command shares them: STRATA_LOG_LEVEL, STRATA_LOG_FORMAT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "examples/examples.h"
#include "grade/grade.h"
#include "kv/kv.h"
#include "lab/cli.h"
#include "web/web.h"

#ifndef STRATA_VERSION
#define STRATA_VERSION "dev"
#endif

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static int cmd_version(int argc, char **argv)
{
    (void)argc, (void)argv;
    printf("strata %s\n", STRATA_VERSION);
    return 0;
}

static const struct command commands[] = {
    { "serve", st_cli_serve, "the lab in your browser and a JSON API: strata serve [--listen HOST:PORT]" },
    { "questions", st_cli_questions, "browse the 500-question bank: list, show, search, stats" },
    { "progress", st_cli_progress, "your progress: bars, mark N STATUS, export FILE, import FILE" },
    { "example", st_example_main, "run a reference app: strata example basics|bench --listen HOST:PORT" },
    { "kv", st_kv_main, "a Redis-compatible server: strata kv [config] [--port 6379 ...]" },
    { "grade", st_cli_grade, "grade your server for a practical question: strata grade Q11 --target URL" },
    { "version", cmd_version, "print the version" },
};

static void usage(FILE *out)
{
    fputs("Usage: strata COMMAND [ARGS...]\n\n"
          "strata: the backend and system design question bank, with reference implementations\n"
          "in C and graders for your own.\n\nCommands:\n",
          out);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fputs("\nRun 'strata COMMAND --help' for more. Every flag --NAME can also be set as\n"
          "STRATA_NAME in the environment (--data -> STRATA_DATA).\n"
          "Logging: STRATA_LOG_LEVEL=debug|info|warn|error|off, STRATA_LOG_FORMAT=kv|json.\n",
          out);
}

/* Global logging settings from the environment; a bad value is reported, not fatal. */
static int setup_logging(void)
{
    const char *level = getenv("STRATA_LOG_LEVEL"), *format = getenv("STRATA_LOG_FORMAT");
    enum st_log_level l;
    enum st_log_format f;
    if (level && *level) {
        if (st_log_parse_level(level, &l)) {
            fprintf(stderr, "strata: STRATA_LOG_LEVEL: unknown level '%s' (debug, info, warn, error, off)\n", level);
            return 2;
        }
        st_log_set_level(l);
    }
    if (format && *format) {
        if (st_log_parse_format(format, &f)) {
            fprintf(stderr, "strata: STRATA_LOG_FORMAT: unknown format '%s' (kv or json)\n", format);
            return 2;
        }
        st_log_set_format(f);
    }
    /* Appended to, and reopened at the same path on SIGHUP by the servers (logrotate). */
    const char *file = getenv("STRATA_LOG_FILE");
    if (file && *file) {
        int e = st_log_set_file(file);
        if (e) {
            fprintf(stderr, "strata: STRATA_LOG_FILE: cannot open '%s': %s\n", file, strerror(-e));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int rc = setup_logging();
    if (rc)
        return rc;
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "strata: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
