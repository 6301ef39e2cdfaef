/*
 * cli_progress.c - `strata progress [mark|export|import]`: the learner's progress from the
 * terminal. The database is the one the lab web server uses (lab/progress.h).
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/flags.h"
#include "curriculum/curriculum.h"
#include "lab/cli.h"
#include "lab/internal.h"
#include "lab/progress.h"
#include "lab/store.h"

#define BAR_WIDTH 20

/* Open the database in --data DIR (or the default); prints the error itself. */
static int open_db(const char *data, struct st_progress **p)
{
    struct st_error err;
    char dir[PATH_MAX];
    if (st_progress_data_dir(data, dir, sizeof(dir), &err) || st_progress_open(dir, p, &err))
        return st_cli_fail(&err);
    return ST_EXIT_OK;
}

#define DATA_FLAG(dest)                                                                                                \
    {                                                                                                                  \
        "data", 'd', ST_FLAG_STR, (dest), "DIR", "data directory (default $XDG_DATA_HOME/strata)"                      \
    }

struct tally {
    int total, done, doing, review;
};

static struct tally count(const enum st_status *s, int level, int module)
{
    struct tally t = { 0 };
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        if ((level && q->level != level) || (module && q->module != module))
            continue;
        t.total++;
        t.done += s[id - 1] == ST_STATUS_DONE;
        t.doing += s[id - 1] == ST_STATUS_DOING;
        t.review += s[id - 1] == ST_STATUS_REVIEW;
    }
    return t;
}

/* "[#####...............]  12/100" : done and review count as completed. */
static void print_bar(const char *label, struct tally t)
{
    int completed = t.done + t.review;
    int fill = t.total ? completed * BAR_WIDTH / t.total : 0;
    char bar[BAR_WIDTH + 1];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    printf("%-40s [%s] %3d/%d", label, bar, completed, t.total);
    if (t.doing || t.review)
        printf("  (doing %d, review %d)", t.doing, t.review);
    printf("\n");
}

static json_t *tally_json(struct tally t)
{
    json_t *o = json_object();
    json_object_set_new(o, "questions", json_integer(t.total));
    json_object_set_new(o, "done", json_integer(t.done));
    json_object_set_new(o, "doing", json_integer(t.doing));
    json_object_set_new(o, "review", json_integer(t.review));
    json_object_set_new(o, "todo", json_integer(t.total - t.done - t.doing - t.review));
    return o;
}

static int show_json(const enum st_status *s)
{
    json_t *o = tally_json(count(s, 0, 0)), *levels = json_array(), *modules = json_array();
    for (int l = 1; l <= ST_CUR_LEVELS; l++) {
        json_t *e = tally_json(count(s, l, 0));
        json_object_set_new(e, "level", json_integer(l));
        json_array_append_new(levels, e);
    }
    for (int m = 1; m <= ST_CUR_MODULES; m++) {
        json_t *e = tally_json(count(s, 0, m));
        json_object_set_new(e, "module", json_integer(m));
        json_array_append_new(modules, e);
    }
    json_object_set_new(o, "by_level", levels);
    json_object_set_new(o, "by_module", modules);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return ST_EXIT_FAIL;
    puts(text);
    free(text);
    return ST_EXIT_OK;
}

static void show_bars(const enum st_status *s, const char *path)
{
    printf("Progress of the local learner (%s)\n\n", path);
    print_bar("All 500 questions", count(s, 0, 0));
    for (int l = 1; l <= ST_CUR_LEVELS; l++) {
        char label[96];
        printf("\n");
        snprintf(label, sizeof(label), "Level %d: %s", l, st_cur_level(l)->name);
        print_bar(label, count(s, l, 0));
        for (int m = (l - 1) * 5 + 1; m <= l * 5; m++) {
            snprintf(label, sizeof(label), "  %2d %s", m, st_cur_module(m)->name);
            print_bar(label, count(s, 0, m));
        }
    }
    printf("\nMark a question: strata progress mark N todo|doing|done|review\n");
}

static int cmd_show(int argc, char **argv)
{
    const char *data = NULL;
    bool json = false;
    const struct st_flag flags[] = {
        DATA_FLAG(&data),
        { "json", 0, ST_FLAG_BOOL, &json, NULL, "print JSON" },
        { 0 },
    };
    const struct st_flags_spec spec = {
        "strata progress [FLAGS]",
        "Show progress: a bar per level and module (done and review count as completed).\n"
        "Subcommands: mark N... STATUS, export FILE, import FILE (see 'strata progress mark --help').",
        flags, NULL
    };
    int nargs, rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: unknown progress command '%s' (mark, export or import)\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    struct st_progress *p = NULL;
    if ((rc = open_db(data, &p)))
        return rc;
    enum st_status s[ST_CUR_QUESTIONS];
    struct st_error err;
    if (st_progress_load(p, ST_PROGRESS_LOCAL_USER, s, &err))
        rc = st_cli_fail(&err);
    else if (json)
        rc = show_json(s);
    else
        show_bars(s, st_progress_path(p));
    st_progress_close(p);
    return rc;
}

static int cmd_mark(int argc, char **argv)
{
    const char *data = NULL;
    const struct st_flag flags[] = { DATA_FLAG(&data), { 0 } };
    const struct st_flags_spec spec = { "strata progress mark [FLAGS] N... STATUS",
                                        "Set the status of one or more questions: todo, doing, done or review.", flags,
                                        "Example: strata progress mark 11 12 13 done" };
    int nargs, rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs < 2) {
        fprintf(stderr, "strata: progress mark needs question numbers and a status (todo, doing, done, review)\n");
        return ST_EXIT_USAGE;
    }
    struct st_error err;
    enum st_status status;
    if (st_status_parse(argv[nargs - 1], &status)) {
        fprintf(stderr, "strata: unknown status '%s' (todo, doing, done or review)\n", argv[nargs - 1]);
        return ST_EXIT_USAGE;
    }
    int ids[ST_CUR_QUESTIONS];
    int n = nargs - 1;
    if (n > ST_CUR_QUESTIONS) {
        fprintf(stderr, "strata: at most %d questions at once\n", ST_CUR_QUESTIONS);
        return ST_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++)
        if (st_cli_question_id(argv[i], &ids[i], &err))
            return st_cli_fail(&err);
    struct st_progress *p = NULL;
    if ((rc = open_db(data, &p)))
        return rc;
    if (st_progress_mark(p, ST_PROGRESS_LOCAL_USER, ids, (size_t)n, status, &err))
        rc = st_cli_fail(&err);
    else
        printf("Marked %d question%s %s.\n", n, n == 1 ? "" : "s", st_status_name(status));
    st_progress_close(p);
    return rc;
}

/* Everything the local learner owns ("strata-lab" JSON), written atomically to path. */
static int export_file(struct st_lab_store *s, const char *path, struct st_error *err)
{
    struct st_buf out;
    st_buf_init(&out, ST_BUF_UNLIMITED);
    int rc = st_lab_export_json(s, ST_PROGRESS_LOCAL_USER, &out, err);
    if (rc == 0)
        rc = st__progress_write_atomic(path, out.data, out.len, err);
    st_buf_release(&out);
    return rc;
}

/* A "strata-lab" or "strata-progress" file merged in, all or nothing. */
static int import_file(struct st_lab_store *s, const char *path, size_t *applied, struct st_error *err)
{
    char *json;
    size_t len;
    int rc = st__progress_read_file(path, &json, &len, err);
    if (rc)
        return rc;
    if ((rc = st_lab_import_json(s, ST_PROGRESS_LOCAL_USER, json, len, applied, err)) && rc != ST_EDB)
        st__error_prefix(err, path);
    free(json);
    return rc;
}

static int cmd_transfer(int argc, char **argv, bool import)
{
    const char *data = NULL;
    const struct st_flag flags[] = { DATA_FLAG(&data), { 0 } };
    const struct st_flags_spec export_spec = { "strata progress export [FLAGS] FILE",
                                               "Write everything the learner owns (statuses and their history, "
                                               "notes, reviews, grading attempts) to FILE as JSON (format "
                                               "strata-lab). The file is replaced atomically.",
                                               flags, NULL };
    const struct st_flags_spec import_spec = { "strata progress import [FLAGS] FILE",
                                               "Merge an export (strata-lab, or the older strata-progress) into "
                                               "this database: all or nothing. Each entry is taken when it is "
                                               "newer than the one stored.",
                                               flags, NULL };
    int nargs, rc = st_cli_parse(import ? &import_spec : &export_spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs != 1) {
        fprintf(stderr, "strata: progress %s takes one FILE\n", import ? "import" : "export");
        return ST_EXIT_USAGE;
    }
    /* open_db creates the directory and migrates; the lab store then owns the transfer. */
    struct st_progress *p = NULL;
    if ((rc = open_db(data, &p)))
        return rc;
    struct st_lab_store *s = NULL;
    struct st_error err;
    size_t applied = 0;
    rc = st_lab_store_open(st_progress_path(p), &s, &err);
    st_progress_close(p);
    if (rc == 0)
        rc = import ? import_file(s, argv[0], &applied, &err) : export_file(s, argv[0], &err);
    if (rc)
        rc = st_cli_fail(&err);
    else if (import)
        printf("Imported %s: %zu entr%s taken.\n", argv[0], applied, applied == 1 ? "y" : "ies");
    else
        printf("Exported to %s.\n", argv[0]);
    st_lab_store_close(s);
    return rc;
}

int st_cli_progress(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "mark") == 0)
        return cmd_mark(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return cmd_transfer(argc - 1, argv + 1, false);
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return cmd_transfer(argc - 1, argv + 1, true);
    return cmd_show(argc, argv);
}
