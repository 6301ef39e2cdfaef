/* test_progress.c - the progress store: marks, history, export/import, schema versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "curriculum/curriculum.h"
#include "lab/progress.h"

#define USER ST_PROGRESS_LOCAL_USER

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/strata-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static struct st_progress *open_dir(const char *sub)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    struct st_progress *p = NULL;
    struct st_error err;
    if (st_progress_open(path, &p, &err))
        fail_msg("open: %s", err.msg);
    return p;
}

static void statuses(struct st_progress *p, enum st_status s[])
{
    struct st_error err;
    assert_int_equal(st_progress_load(p, USER, s, &err), 0);
}

static void mark_and_reload(void **state)
{
    (void)state;
    struct st_progress *p = open_dir("a/b/c"); /* creates the folders */
    struct st_error err;
    int ids[] = { 1, 242, 500 };
    assert_int_equal(st_progress_mark(p, USER, ids, 3, ST_STATUS_DONE, &err), 0);
    assert_int_equal(st_progress_mark(p, USER, (int[]){ 242 }, 1, ST_STATUS_REVIEW, &err), 0);
    st_progress_close(p);

    p = open_dir("a/b/c");
    enum st_status s[ST_CUR_QUESTIONS];
    statuses(p, s);
    assert_int_equal(s[0], ST_STATUS_DONE);
    assert_int_equal(s[241], ST_STATUS_REVIEW);
    assert_int_equal(s[499], ST_STATUS_DONE);
    assert_int_equal(s[1], ST_STATUS_TODO);
    st_progress_close(p);
}

static void mark_is_all_or_nothing(void **state)
{
    (void)state;
    struct st_progress *p = open_dir("d");
    struct st_error err;
    assert_int_equal(st_progress_mark(p, USER, (int[]){ 3, 501 }, 2, ST_STATUS_DONE, &err), ST_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no question 501"));
    enum st_status s[ST_CUR_QUESTIONS];
    statuses(p, s);
    assert_int_equal(s[2], ST_STATUS_TODO);
    st_progress_close(p);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static void export_import_round_trip(void **state)
{
    (void)state;
    struct st_progress *a = open_dir("a"), *b = open_dir("b");
    struct st_error err;
    assert_int_equal(st_progress_mark(a, USER, (int[]){ 11, 12 }, 2, ST_STATUS_DOING, &err), 0);
    assert_int_equal(st_progress_mark(a, USER, (int[]){ 11 }, 1, ST_STATUS_DONE, &err), 0);
    char file[128];
    snprintf(file, sizeof(file), "%s/export.json", dir);
    assert_int_equal(st_progress_export(a, USER, file, &err), 0);
    const char *text = slurp(file);
    assert_non_null(strstr(text, "\"format\": \"strata-progress\""));
    assert_non_null(strstr(text, "\"events\""));

    size_t applied = 0;
    assert_int_equal(st_progress_import(b, USER, file, &applied, &err), 0);
    assert_int_equal(applied, 2);
    enum st_status s[ST_CUR_QUESTIONS];
    statuses(b, s);
    assert_int_equal(s[10], ST_STATUS_DONE);
    assert_int_equal(s[11], ST_STATUS_DOING);
    /* Importing the same file again takes nothing new and duplicates no events. */
    assert_int_equal(st_progress_import(b, USER, file, &applied, &err), 0);
    assert_int_equal(applied, 0);
    char file2[128];
    snprintf(file2, sizeof(file2), "%s/export2.json", dir);
    assert_int_equal(st_progress_export(b, USER, file2, &err), 0);
    const char *events_b = strstr(slurp(file2), "\"events\"");
    char copy[1 << 16];
    snprintf(copy, sizeof(copy), "%s", events_b);
    assert_string_equal(copy, strstr(slurp(file), "\"events\""));
    st_progress_close(a);
    st_progress_close(b);
}

static void newer_status_wins(void **state)
{
    (void)state;
    struct st_progress *p = open_dir("n");
    struct st_error err;
    assert_int_equal(st_progress_mark(p, USER, (int[]){ 5 }, 1, ST_STATUS_DONE, &err), 0);
    const char *old = "{\"format\":\"strata-progress\",\"version\":1,\"progress\":["
                      "{\"question\":5,\"status\":\"todo\",\"updated_at\":\"2001-01-01T00:00:00Z\"},"
                      "{\"question\":6,\"status\":\"review\",\"updated_at\":\"2001-01-01T00:00:00.000Z\"}]}";
    size_t applied;
    assert_int_equal(st_progress_import_json(p, USER, old, strlen(old), &applied, &err), 0);
    assert_int_equal(applied, 1);
    enum st_status s[ST_CUR_QUESTIONS];
    statuses(p, s);
    assert_int_equal(s[4], ST_STATUS_DONE);   /* local change is newer */
    assert_int_equal(s[5], ST_STATUS_REVIEW); /* new question taken */
    st_progress_close(p);
}

static void invalid_imports_change_nothing(void **state)
{
    (void)state;
    static const struct {
        const char *json, *want;
    } bad[] = {
        { "not json", "invalid JSON" },
        { "{\"format\":\"other\",\"version\":1,\"progress\":[]}", "not a strata progress export" },
        { "{\"format\":\"strata-progress\",\"version\":9,\"progress\":[]}", "newer strata" },
        { "{\"format\":\"strata-progress\",\"version\":1}", "progress: expected an array" },
        { "{\"format\":\"strata-progress\",\"version\":1,\"progress\":[{\"question\":1,\"status\":\"done\","
          "\"updated_at\":\"2020-01-01T00:00:00Z\"},{\"question\":501,\"status\":\"done\",\"updated_at\":\"x\"}]}",
          "progress[1].question" },
        { "{\"format\":\"strata-progress\",\"version\":1,\"progress\":[{\"question\":1,\"status\":\"finished\","
          "\"updated_at\":\"2020-01-01T00:00:00Z\"}]}",
          "progress[0].status" },
        { "{\"format\":\"strata-progress\",\"version\":1,\"progress\":[{\"question\":1,\"status\":\"done\","
          "\"updated_at\":\"yesterday\"}]}",
          "progress[0].updated_at" },
        { "{\"format\":\"strata-progress\",\"format\":\"strata-progress\",\"version\":1,\"progress\":[]}",
          "invalid JSON" },
    };
    struct st_progress *p = open_dir("i");
    struct st_error err;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t applied = 99;
        int rc = st_progress_import_json(p, USER, bad[i].json, strlen(bad[i].json), &applied, &err);
        assert_int_not_equal(rc, 0);
        if (!strstr(err.msg, bad[i].want))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].want);
    }
    enum st_status s[ST_CUR_QUESTIONS];
    statuses(p, s);
    for (int i = 0; i < ST_CUR_QUESTIONS; i++)
        assert_int_equal(s[i], ST_STATUS_TODO);
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/none.json", dir);
    assert_int_equal(st_progress_import(p, USER, missing, NULL, &err), -ENOENT);
    assert_non_null(strstr(err.msg, "cannot read"));
    st_progress_close(p);
}

static void refuses_newer_schema(void **state)
{
    (void)state;
    struct st_progress *p = open_dir("s");
    st_progress_close(p);
    char path[128];
    snprintf(path, sizeof(path), "%s/s/progress.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct st_error err;
    p = NULL;
    snprintf(path, sizeof(path), "%s/s", dir);
    assert_int_equal(st_progress_open(path, &p, &err), ST_EDB);
    assert_null(p);
    assert_non_null(strstr(err.msg, "newer than this strata"));
}

static void data_dir_defaults(void **state)
{
    (void)state;
    char out[256];
    struct st_error err;
    assert_int_equal(st_progress_data_dir("/x/y", out, sizeof(out), &err), 0);
    assert_string_equal(out, "/x/y");
    setenv("XDG_DATA_HOME", "/xdg", 1);
    assert_int_equal(st_progress_data_dir(NULL, out, sizeof(out), &err), 0);
    assert_string_equal(out, "/xdg/strata");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/l", 1);
    assert_int_equal(st_progress_data_dir(NULL, out, sizeof(out), &err), 0);
    assert_string_equal(out, "/home/l/.local/share/strata");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mark_and_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(mark_is_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(export_import_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(newer_status_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_imports_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_newer_schema, setup, teardown),
        cmocka_unit_test(data_dir_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
