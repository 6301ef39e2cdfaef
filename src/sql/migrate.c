/*
 * migrate.c - numbered up/down migrations from an app's constant table, each applied in its
 * own transaction together with its row in schema_migrations, and the reusable
 * `strata <app> migrate up|down [N]|status --db URL` command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "base/time.h"
#include "sql/internal.h"

/* applied_at is RFC 3339 text: one portable type on both backends, sorts by time. */
static const char *const create_table = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                        "version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

static int count_migrations(const struct st_sql_migration *m, int *newest, struct st_error *err)
{
    int n = 0, prev = 0;
    for (; m[n].version; n++) {
        if (m[n].version <= prev || !m[n].up_sql || !m[n].name)
            return st_error_set(err, ST_SQL_OTHER, "migration table broken at entry %d (version %d after %d)", n,
                                m[n].version, prev);
        prev = m[n].version;
    }
    *newest = prev;
    return 0;
}

static const struct st_sql_migration *find(const struct st_sql_migration *m, int version)
{
    for (; m->version; m++)
        if (m->version == version)
            return m;
    return NULL;
}

int st_sql_migrate_version(struct st_sql_db *db, int *version, struct st_error *err)
{
    int rc = st_sql_exec(db, create_table, err);
    if (rc)
        return rc;
    struct st_sql_stmt *st;
    rc = st_sql_prepare(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &st, err);
    if (rc)
        return rc;
    rc = st_sql_step(st, err);
    if (rc == 1) {
        *version = (int)st_sql_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        *version = 0;
    }
    st_sql_finalize(st);
    return rc;
}

/* The database must not be ahead of the binary. */
static int check_not_newer(int current, int newest, struct st_error *err)
{
    if (current > newest)
        return st_error_set(err, ST_SQL_OTHER,
                            "the database is at migration %d, newer than the newest this binary knows (%d): "
                            "refusing to touch it; run a newer strata",
                            current, newest);
    return 0;
}

static int record(struct st_sql_db *db, const struct st_sql_migration *m, bool up, struct st_error *err)
{
    struct st_sql_stmt *st;
    const char *sql = up ? "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)"
                         : "DELETE FROM schema_migrations WHERE version = $1";
    int rc = st_sql_prepare(db, sql, &st, err);
    if (rc)
        return rc;
    st_sql_bind_int64(st, 1, m->version);
    if (up) {
        char when[40];
        size_t n = st_time_format_rfc3339(st_time_wall_ms(), when);
        st_sql_bind_text(st, 2, m->name, strlen(m->name));
        st_sql_bind_text(st, 3, when, n);
    }
    rc = st_sql_step(st, err);
    st_sql_finalize(st);
    return rc < 0 ? rc : 0;
}

/* One migration step in its own transaction; err names the migration on failure. */
static int apply(struct st_sql_db *db, const struct st_sql_migration *m, bool up, struct st_error *err)
{
    int rc = st_sql_begin(db, ST_SQL_ISO_DEFAULT, err);
    if (rc)
        return rc;
    const char *sql = up ? m->up_sql : m->down_sql;
    if (!sql)
        rc = st_error_set(err, ST_SQL_OTHER, "migration has no down step");
    if (!rc)
        rc = st_sql_exec(db, sql, err);
    if (!rc)
        rc = record(db, m, up, err);
    if (!rc)
        rc = st_sql_commit(db, err);
    if (rc) {
        char why[sizeof(((struct st_error *)0)->msg)];
        snprintf(why, sizeof(why), "%s", err ? err->msg : "");
        if (st_sql_depth(db))
            st_sql_rollback(db, NULL);
        return st_error_set(err, rc, "migration %d (%s) %s failed: %s", m->version, m->name, up ? "up" : "down", why);
    }
    return 0;
}

int st_sql_migrate_up(struct st_sql_db *db, const struct st_sql_migration *migrations, int target, int *applied,
                      struct st_error *err)
{
    int newest = 0, current = 0, n = 0;
    int rc = count_migrations(migrations, &newest, err);
    if (!rc)
        rc = st_sql_migrate_version(db, &current, err);
    if (!rc)
        rc = check_not_newer(current, newest, err);
    for (const struct st_sql_migration *m = migrations; !rc && m->version; m++) {
        if (m->version <= current || (target >= 0 && m->version > target))
            continue;
        rc = apply(db, m, true, err);
        if (!rc)
            n++;
    }
    if (applied)
        *applied = n;
    return rc;
}

int st_sql_migrate_down(struct st_sql_db *db, const struct st_sql_migration *migrations, int n, int *reverted,
                        struct st_error *err)
{
    int newest = 0, current = 0, done = 0;
    int rc = count_migrations(migrations, &newest, err);
    if (!rc)
        rc = st_sql_migrate_version(db, &current, err);
    if (!rc)
        rc = check_not_newer(current, newest, err);
    while (!rc && done < n) {
        rc = st_sql_migrate_version(db, &current, err);
        if (rc || current == 0)
            break;
        const struct st_sql_migration *m = find(migrations, current);
        if (!m) {
            rc = st_error_set(err, ST_SQL_OTHER, "the database is at migration %d, which this binary does not know",
                              current);
            break;
        }
        rc = apply(db, m, false, err);
        if (!rc)
            done++;
    }
    if (reverted)
        *reverted = done;
    return rc;
}

/* ---- the command -------------------------------------------------------------------------- */

static int print_status(struct st_sql_db *db, const char *app, const struct st_sql_migration *migrations,
                        struct st_error *err)
{
    int current = 0;
    int rc = st_sql_migrate_version(db, &current, err);
    if (rc)
        return rc;
    struct st_sql_stmt *st;
    rc = st_sql_prepare(db, "SELECT applied_at FROM schema_migrations WHERE version = $1", &st, err);
    if (rc)
        return rc;
    printf("%s: database at migration %d\n", app, current);
    for (const struct st_sql_migration *m = migrations; m->version && !rc; m++) {
        st_sql_clear_bindings(st);
        st_sql_bind_int64(st, 1, m->version);
        int step = st_sql_step(st, err);
        if (step < 0)
            rc = step;
        else if (step == 1)
            printf("  %4d %-32s applied %s\n", m->version, m->name, st_sql_column_text(st, 0, NULL));
        else
            printf("  %4d %-32s pending\n", m->version, m->name);
    }
    st_sql_finalize(st);
    int newest = 0;
    if (!rc && !count_migrations(migrations, &newest, NULL) && current > newest)
        printf("  the database is newer than this binary (it knows up to %d)\n", newest);
    return rc;
}

static int usage(const char *app)
{
    fprintf(stderr, "usage: strata %s migrate up [N] | down [N] | status [--db URL]\n", app);
    return 2;
}

/* Parse "up [N]", "down [N]", "status" and --db; 0 ok, 2 usage. */
static int parse_args(int argc, char **argv, const char **cmd, int *n, bool *has_n, const char **url)
{
    *cmd = NULL;
    *has_n = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--db") && i + 1 < argc) {
            *url = argv[++i];
        } else if (!strncmp(a, "--db=", 5)) {
            *url = a + 5;
        } else if (!*cmd) {
            *cmd = a;
        } else if (!*has_n) {
            int64_t v;
            if (st_str_to_i64(st_str_c(a), &v) || v < 0 || v > 1000000)
                return 2;
            *n = (int)v;
            *has_n = true;
        } else {
            return 2;
        }
    }
    if (!*cmd || (strcmp(*cmd, "up") != 0 && strcmp(*cmd, "down") != 0 && strcmp(*cmd, "status") != 0))
        return 2;
    return !strcmp(*cmd, "status") && *has_n ? 2 : 0;
}

int st_sql_migrate_cli(const char *app, const struct st_sql_migration *migrations, int argc, char **argv)
{
    const char *cmd, *url = getenv("STRATA_DB");
    int n = 0;
    bool has_n;
    if (!url || !*url)
        url = ST_SQL_DEFAULT_URL;
    if (parse_args(argc, argv, &cmd, &n, &has_n, &url))
        return usage(app);
    struct st_error err = { 0 };
    struct st_sql_db *db = NULL;
    int rc = st_sql_open(url, &db, &err);
    int count = 0;
    if (!rc && !strcmp(cmd, "status"))
        rc = print_status(db, app, migrations, &err);
    else if (!rc && !strcmp(cmd, "up"))
        rc = st_sql_migrate_up(db, migrations, has_n ? n : -1, &count, &err);
    else if (!rc)
        rc = st_sql_migrate_down(db, migrations, has_n ? n : 1, &count, &err);
    if (!rc && strcmp(cmd, "status") != 0) {
        int v = 0;
        st_sql_migrate_version(db, &v, NULL);
        printf("%s: %s %d migration%s, now at %d\n", app, !strcmp(cmd, "up") ? "applied" : "reverted", count,
               count == 1 ? "" : "s", v);
    }
    st_sql_close(db);
    if (rc) {
        fprintf(stderr, "strata %s migrate: %s\n", app, err.msg);
        return 1;
    }
    return 0;
}
