/*
 * example.c - `strata example NAME`: dispatch to the reference apps.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "examples/examples.h"
#include "lab/cli.h"

struct app {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct app apps[] = {
    { "basics", st_example_basics, "Module 1 (Q11-Q20): hello, time, echo, routing, search, CRUD, static files" },
    { "blog", st_example_blog, "Modules 2, 4, 6: the blog REST API on SQLite or PostgreSQL (docs/blog-api.md)" },
    { "bench", st_example_bench, "benchmark app: /plaintext, /json and static files (TechEmpower rules)" },
    { "pool", st_example_pool, "Q111: GET /pid, /sleep?ms=M and /stats on a bounded PostgreSQL connection pool" },
    { "sqlsafe", st_example_sqlsafe, "Q131: GET/POST /users with bound parameters only (SQL injection stays data)" },
};

static void usage(FILE *out)
{
    fputs("Usage: strata example NAME [FLAGS]\n\nReference implementations of the bank's practical questions.\n\n"
          "Apps:\n",
          out);
    for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++)
        fprintf(out, "  %-8s %s\n", apps[i].name, apps[i].help);
    fputs("\nRun 'strata example NAME --help' for its flags.\n", out);
}

int st_example_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return ST_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return ST_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++)
        if (!strcmp(argv[1], apps[i].name))
            return apps[i].run(argc - 1, argv + 1);
    fprintf(stderr, "strata: unknown example '%s' (see 'strata example --help')\n", argv[1]);
    return ST_EXIT_USAGE;
}

void st_example_print_ready(int port, void *arg)
{
    const char *host = arg;
    printf("listening on http://%s:%d\n", host && *host ? host : "127.0.0.1", port);
    fflush(stdout);
}

void st_example_on_reload(void *arg)
{
    (void)arg;
    if (st_log_reopen() == 0)
        st_log_info("reopened the log file");
}
