/*
 * fuzz_sql_params.c - libFuzzer target for src/sql's input-facing text handling: the
 * $n -> ?n placeholder rewrite for SQLite and the database URL parser.
 *
 * Oracles:
 *   - the rewrite keeps the length; it changes only '$' into '?', only where a digit
 *     follows and no identifier character precedes; splitting the input at a NUL gives the
 *     rewrite of the prefix (it reads C strings);
 *   - SQLite accepts the rewritten text or reports an error (never crashes), and a prepared
 *     statement stays within SQLite's parameter limit;
 *   - the URL parser returns 0 exactly for the sqlite:/postgres(ql):// schemes with a
 *     path, and the path it reports lies inside the input.
 */
#include <ctype.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sql/internal.h"

static void check_rewrite(const char *sql, size_t n)
{
    struct st_buf out;
    st_buf_init(&out, ST_BUF_UNLIMITED);
    st__sql_rewrite_params(sql, &out);
    CHECK(out.len == n);
    for (size_t i = 0; i < n; i++) {
        if (out.data[i] == sql[i])
            continue;
        CHECK(sql[i] == '$' && out.data[i] == '?');
        CHECK(i + 1 < n && isdigit((unsigned char)sql[i + 1]));
        CHECK(i == 0 || !(isalnum((unsigned char)sql[i - 1]) || sql[i - 1] == '_'));
    }
    static sqlite3 *db;
    if (!db)
        sqlite3_open(":memory:", &db);
    sqlite3_stmt *st = NULL;
    if (n && sqlite3_prepare_v2(db, out.data, (int)n, &st, NULL) == SQLITE_OK && st) {
        CHECK(sqlite3_bind_parameter_count(st) <= 32766);
        sqlite3_finalize(st);
    }
    st_buf_release(&out);
}

static void check_url(const char *url, size_t n)
{
    enum st_sql_backend be = 0;
    const char *path = NULL;
    struct st_error err;
    int rc = st_sql_url_parse(url, &be, &path, &err);
    bool lite = !strncmp(url, "sqlite:", 7);
    bool pg = !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
    if (rc == 0) {
        CHECK(lite || pg);
        CHECK(path >= url && path <= url + n);
        CHECK(be == (lite ? ST_SQL_SQLITE : ST_SQL_POSTGRES));
    } else {
        CHECK(rc == ST_SQL_OTHER && err.code == ST_SQL_OTHER);
        CHECK(!pg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t n = strlen(s); /* both functions read C strings */
    check_rewrite(s, n);
    check_url(s, n);
    free(s);
    return 0;
}
