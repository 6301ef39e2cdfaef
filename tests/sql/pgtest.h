/*
 * pgtest.h - shared by the sql tests: start a throwaway PostgreSQL 15 with
 * scripts/pg-test.sh (a test fails with the reason when it cannot), and the list of
 * backends every backend-independent test runs against.
 */
#ifndef ST_TESTS_SQL_PGTEST_H
#define ST_TESTS_SQL_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char pg_dir[256];
static char pg_url[600];
static char pg_script[512];

/* Start PostgreSQL on port (each test binary has its own); 0 or -1 with the reason printed. */
static int pg_start(int port)
{
    const char *root = getenv("SRCROOT");
    snprintf(pg_script, sizeof(pg_script), "%s/scripts/pg-test.sh", root ? root : ".");
    snprintf(pg_dir, sizeof(pg_dir), "/tmp/strata-pgtest-%d-%ld", port, (long)getpid());
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' stop '%s' >/dev/null 2>&1; '%s' start '%s' %d 2>&1", pg_script, pg_dir, pg_script,
             pg_dir, port);
    FILE *f = popen(cmd, "r");
    if (!f)
        return -1;
    char line[512] = "";
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "postgres://", 11))
            snprintf(pg_url, sizeof(pg_url), "%s", line);
    int st = pclose(f);
    pg_url[strcspn(pg_url, "\n")] = '\0';
    if (st != 0 || !pg_url[0]) {
        printf("# PostgreSQL did not start (port %d): %s\n", port, line);
        return -1;
    }
    return 0;
}

static int pg_ctl(const char *what)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' %s '%s' >/dev/null", pg_script, what, pg_dir);
    return system(cmd);
}

static void pg_stop(void)
{
    if (pg_dir[0])
        pg_ctl("stop");
}

#endif
