/*
 * pgtest.h - shared by the sql tests: start a throwaway PostgreSQL 15 with
 * scripts/pg-test.sh (a test fails with the reason when it cannot), and the list of
 * backends every backend-independent test runs against.
 */
#ifndef ST_TESTS_SQL_PGTEST_H
#define ST_TESTS_SQL_PGTEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql/sql.h"

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

/* A backend the backend-independent tests run against (cmocka's prestate). */
struct backend {
    const char *name;
    enum st_sql_backend be;
    char url[700];
};

static struct backend lite = { "sqlite", ST_SQL_SQLITE, "" };
static struct backend pg = { "postgres", ST_SQL_POSTGRES, "" };
static int file_seq;

/* A clean database for one test: a new SQLite file (named after the test program), or
 * an emptied PostgreSQL schema. Needs cmocka included first. */
static const char *fresh(struct backend *b)
{
    if (b->be == ST_SQL_SQLITE) {
        snprintf(b->url, sizeof(b->url), "sqlite:/tmp/strata-%s-%ld-%d.db", program_invocation_short_name,
                 (long)getpid(), ++file_seq);
        unlink(b->url + 7);
        return b->url;
    }
    snprintf(b->url, sizeof(b->url), "%s", pg_url);
    struct st_sql_db *db;
    struct st_error err;
    assert_int_equal(st_sql_open(b->url, &db, &err), 0);
    assert_int_equal(st_sql_exec(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public", &err), 0);
    st_sql_close(db);
    return b->url;
}

/* Remove a SQLite test database with its WAL and shared-memory files. */
static void cleanup(struct backend *b)
{
    if (b->be != ST_SQL_SQLITE)
        return;
    char p[720];
    const char *path = b->url + 7;
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

#endif
