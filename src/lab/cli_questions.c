/*
 * cli_questions.c - `strata questions list|show|search|stats`: the bank from the terminal.
 *
 * Reads only the embedded curriculum (no database), so it works anywhere, from any
 * directory. Text output is for people; --json output is for scripts and keeps its keys.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/flags.h"
#include "curriculum/curriculum.h"
#include "lab/cli.h"

static const char *const kind_choices[] = { "conceptual", "practical", NULL };

/* Print a JSON value on stdout, newline-terminated, and free it. */
static int print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!s)
        return ST_EXIT_FAIL;
    puts(s);
    free(s);
    return ST_EXIT_OK;
}

static json_t *str_list_json(const char *const *items, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

static json_t *nullable(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *question_json(const struct st_cur_question *q, bool full)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(q->id));
    json_object_set_new(o, "level", json_integer(q->level));
    json_object_set_new(o, "module", json_integer(q->module));
    json_object_set_new(o, "kind", json_string(st_cur_kind_name(q->kind)));
    json_object_set_new(o, "text", json_string(q->text));
    json_object_set_new(o, "tags", str_list_json(q->tags, q->ntags));
    if (full) {
        json_object_set_new(o, "level_name", json_string(st_cur_level(q->level)->name));
        json_object_set_new(o, "module_name", json_string(st_cur_module(q->module)->name));
        json_object_set_new(o, "answer", nullable(q->answer));
        json_object_set_new(o, "solutions", str_list_json(q->solutions, q->nsolutions));
        json_object_set_new(o, "demo", nullable(q->demo));
        json_object_set_new(o, "grader", nullable(q->grader));
        json_object_set_new(o, "checks", nullable(q->checks));
    }
    return o;
}

static void print_question_line(const struct st_cur_question *q)
{
    printf("%3d  L%d M%-2d  %-10s  %s\n", q->id, q->level, q->module, st_cur_kind_name(q->kind), q->text);
}

static int cmd_list(int argc, char **argv)
{
    int64_t level = 0, module = 0;
    const char *kind = NULL;
    bool json = false;
    const struct st_flag flags[] = {
        { "level", 'l', ST_FLAG_INT, &level, "N", "only questions of level N (default: all)", .min = 1, .max = 5 },
        { "module", 'm', ST_FLAG_INT, &module, "N", "only questions of module N (default: all)", .min = 1, .max = 25 },
        { "kind", 'k', ST_FLAG_STR, &kind, "KIND", "only conceptual or practical questions", .choices = kind_choices },
        { "json", 0, ST_FLAG_BOOL, &json, NULL, "print a JSON array" },
        { 0 },
    };
    const struct st_flags_spec spec = { "strata questions list [FLAGS]",
                                        "List the questions of the bank, optionally filtered.", flags, NULL };
    int nargs, rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: questions list takes no arguments (got '%s')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    enum st_cur_kind k = ST_CUR_CONCEPTUAL;
    if (kind)
        st_cur_kind_parse(kind, &k);
    json_t *arr = json ? json_array() : NULL;
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        if ((level && q->level != level) || (module && q->module != module) || (kind && q->kind != k))
            continue;
        if (arr)
            json_array_append_new(arr, question_json(q, false));
        else
            print_question_line(q);
    }
    return arr ? print_json(arr) : ST_EXIT_OK;
}

static void print_block(const char *title, const char *text)
{
    printf("\n%s\n", title);
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        int n = nl ? (int)(nl - line) : (int)strlen(line);
        printf("  %.*s\n", n, line);
        line = nl ? nl + 1 : line + n;
    }
}

/* The next word of s (a "quoted string" is one word, quotes dropped) into w; the rest, or
 * NULL at the end. */
static const char *next_word(const char *s, char *w, size_t cap)
{
    while (*s == ' ')
        s++;
    if (!*s)
        return NULL;
    char end = *s == '"' ? '"' : ' ';
    s += end == '"';
    size_t n = 0;
    for (; *s && *s != end; s++)
        if (n + 1 < cap)
            w[n++] = *s;
    w[n] = '\0';
    return *s ? s + 1 : s;
}

/* What a grade flag's value is, for a usage line: "URL" for --db. */
static const char *value_name(const char *flag)
{
    static const char *const names[][2] = {
        { "--db", "URL" },
        { "--sql", "FILE" },
        { "--json", "FILE" },
        { "--target", "HOST:PORT" },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(flag, names[i][0]) == 0)
            return names[i][1];
    return "VALUE";
}

/*
 * A demo that is itself a `strata grade` line shows the grader's input: print its shape,
 * with the learner's program in place of the reference (--cmd "YOUR PROGRAM {db} ...",
 * keeping only its placeholders) and every other flag's value as its name in capitals
 * (--db URL, --sql FILE). false when the demo is not such a line.
 */
static bool print_hint_from_demo(const char *grader, const char *demo)
{
    const char *s = demo ? strstr(demo, "strata grade ") : NULL;
    char w[1024], flag[64] = "";
    if (!s || !(s = next_word(s + strlen("strata grade "), w, sizeof w))) /* skips the question */
        return false;
    printf("\nGrade it (as in the demo above, with your program):\n  strata grade %s", grader);
    while ((s = next_word(s, w, sizeof w)) != NULL) {
        if (!flag[0] && strncmp(w, "--", 2) == 0) {
            snprintf(flag, sizeof flag, "%.63s", w); /* flags are short words */
            continue;
        }
        if (strcmp(flag, "--cmd") == 0) {
            printf(" --cmd \"YOUR PROGRAM");
            for (const char *p = strchr(w, '{'); p; p = strchr(p + 1, '{')) {
                const char *q = strchr(p, '}');
                if (q)
                    printf(" %.*s", (int)(q - p + 1), p);
            }
            printf("\"");
        } else if (flag[0]) {
            printf(" %s %s", flag, value_name(flag));
        }
        flag[0] = '\0';
    }
    printf("\n");
    return true;
}

/*
 * How to run q's grader. Most graders check a server the learner started (--target); the
 * few that must read its output or give it a directory start it themselves (--cmd, with
 * {port} and {dir}). src/grade sits above src/lab, so that list is repeated here: keep it
 * in step with the ST_GRADE_NEEDS_* flags of the graders. Graders with other inputs
 * (--cmd run per step, --db) say so in their entry's demo, which is the source here.
 */
static void print_grade_hint(const struct st_cur_question *q)
{
    static const struct {
        const char *grader;
        const char *cmd; /* the reference app, as an example */
    } needs_cmd[] = {
        { "q16", "strata example basics --listen 127.0.0.1:{port}" },
        { "q20", "strata example basics --listen 127.0.0.1:{port} --directory {dir}" },
    };
    const char *grader = q->grader;
    for (size_t i = 0; i < sizeof needs_cmd / sizeof needs_cmd[0]; i++)
        if (strcmp(grader, needs_cmd[i].grader) == 0) {
            bool dir = strstr(needs_cmd[i].cmd, "{dir}") != NULL;
            printf("\nGrade it (the grader starts your program: {port} is the port to listen on%s):\n"
                   "  strata grade %s --cmd \"YOUR COMMAND\"\n"
                   "  e.g. strata grade %s --cmd \"%s\"\n",
                   dir ? ", {dir} the directory to serve" : "", grader, grader, needs_cmd[i].cmd);
            return;
        }
    if (!print_hint_from_demo(grader, q->demo))
        printf("\nGrade it:\n  strata grade %s --target HOST:PORT\n", grader);
}

static void print_question(const struct st_cur_question *q)
{
    const struct st_cur_level *l = st_cur_level(q->level);
    const struct st_cur_module *m = st_cur_module(q->module);
    printf("Q%d. %s\n\n", q->id, q->text);
    printf("Level %d: %s (%s) / Module %d: %s / %s\n", l->id, l->name, l->focus, m->id, m->name,
           st_cur_kind_name(q->kind));
    printf("Tags: ");
    for (int i = 0; i < q->ntags; i++)
        printf("%s%s", i ? ", " : "", q->tags[i]);
    printf("\n");
    print_block("Answer:", q->answer ? q->answer : "(not written yet)");
    if (q->nsolutions) {
        printf("\nSolution:\n");
        for (int i = 0; i < q->nsolutions; i++)
            printf("  %s\n", q->solutions[i]);
    }
    if (q->demo)
        printf("\nRun it:\n  %s\n", q->demo);
    if (q->grader)
        print_grade_hint(q);
    if (q->checks)
        print_block("The grader checks:", q->checks);
    else if (q->kind == ST_CUR_PRACTICAL)
        printf("\nGrade it:\n  (no grader yet)\n");
}

static int cmd_show(int argc, char **argv)
{
    bool json = false;
    const struct st_flag flags[] = {
        { "json", 0, ST_FLAG_BOOL, &json, NULL, "print JSON" },
        { 0 },
    };
    const struct st_flags_spec spec = { "strata questions show [FLAGS] N",
                                        "Show question N (1-500): its text, level, module, answer, solution, "
                                        "how to run it and how to grade it.",
                                        flags, NULL };
    int nargs, rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs != 1) {
        fprintf(stderr, "strata: questions show takes one question number\n");
        return ST_EXIT_USAGE;
    }
    struct st_error err;
    int id;
    if (st_cli_question_id(argv[0], &id, &err))
        return st_cli_fail(&err);
    if (json)
        return print_json(question_json(st_cur_question(id), true));
    print_question(st_cur_question(id));
    return ST_EXIT_OK;
}

static int cmd_search(int argc, char **argv)
{
    int64_t limit = 10;
    bool json = false;
    const struct st_flag flags[] = {
        { "limit", 'n', ST_FLAG_INT, &limit, "N", "show at most N results", .min = 1, .max = 500 },
        { "json", 0, ST_FLAG_BOOL, &json, NULL, "print JSON" },
        { 0 },
    };
    const struct st_flags_spec spec = { "strata questions search [FLAGS] WORDS...",
                                        "Search question texts, tags, module names and answers; best match first.",
                                        flags, "Example: strata questions search consistent hashing" };
    int nargs, rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs == 0) {
        fprintf(stderr, "strata: questions search needs at least one word\n");
        return ST_EXIT_USAGE;
    }
    char query[1024] = "";
    size_t used = 0;
    for (int i = 0; i < nargs && used < sizeof(query) - 1; i++)
        used += (size_t)snprintf(query + used, sizeof(query) - used, "%s%s", i ? " " : "", argv[i]);
    struct st_cur_hit hits[ST_CUR_QUESTIONS];
    size_t total = st_cur_search(query, hits, (size_t)limit);
    size_t shown = total < (size_t)limit ? total : (size_t)limit;
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < shown; i++) {
            json_t *o = question_json(hits[i].q, false);
            json_object_set_new(o, "score", json_real(hits[i].score));
            json_array_append_new(arr, o);
        }
        return print_json(arr);
    }
    for (size_t i = 0; i < shown; i++)
        print_question_line(hits[i].q);
    if (total == 0)
        printf("No question matches '%s'.\n", query);
    else if (total > shown)
        printf("(%zu of %zu matches; --limit N shows more)\n", shown, total);
    return ST_EXIT_OK;
}

static json_t *coverage_json(struct st_cur_coverage c)
{
    json_t *o = json_object();
    json_object_set_new(o, "questions", json_integer(c.questions));
    json_object_set_new(o, "answered", json_integer(c.answered));
    json_object_set_new(o, "solved", json_integer(c.solved));
    json_object_set_new(o, "graded", json_integer(c.graded));
    return o;
}

static json_t *stats_json(void)
{
    json_t *o = json_object(), *levels = json_array(), *modules = json_array();
    json_object_set_new(o, "questions", json_integer(ST_CUR_QUESTIONS));
    json_object_set_new(o, "levels", json_integer(ST_CUR_LEVELS));
    json_object_set_new(o, "modules", json_integer(ST_CUR_MODULES));
    json_object_set_new(o, "conceptual", json_integer(st_cur_coverage(0, 0, ST_CUR_CONCEPTUAL).questions));
    json_object_set_new(o, "practical", json_integer(st_cur_coverage(0, 0, ST_CUR_PRACTICAL).questions));
    json_object_set_new(o, "coverage", coverage_json(st_cur_coverage(0, 0, -1)));
    for (int l = 1; l <= ST_CUR_LEVELS; l++) {
        json_t *e = coverage_json(st_cur_coverage(l, 0, -1));
        json_object_set_new(e, "level", json_integer(l));
        json_object_set_new(e, "name", json_string(st_cur_level(l)->name));
        json_object_set_new(e, "focus", json_string(st_cur_level(l)->focus));
        json_array_append_new(levels, e);
    }
    for (int m = 1; m <= ST_CUR_MODULES; m++) {
        json_t *e = coverage_json(st_cur_coverage(0, m, -1));
        json_object_set_new(e, "module", json_integer(m));
        json_object_set_new(e, "level", json_integer(st_cur_module(m)->level));
        json_object_set_new(e, "name", json_string(st_cur_module(m)->name));
        json_array_append_new(modules, e);
    }
    json_object_set_new(o, "by_level", levels);
    json_object_set_new(o, "by_module", modules);
    return o;
}

static void print_coverage_row(const char *label, struct st_cur_coverage c)
{
    printf("%-44s %4d  %8d  %6d  %6d\n", label, c.questions, c.answered, c.solved, c.graded);
}

static void print_stats(void)
{
    struct st_cur_coverage all = st_cur_coverage(0, 0, -1);
    printf("%d questions in %d levels and %d modules: %d conceptual, %d practical.\n\n", all.questions, ST_CUR_LEVELS,
           ST_CUR_MODULES, st_cur_coverage(0, 0, ST_CUR_CONCEPTUAL).questions,
           st_cur_coverage(0, 0, ST_CUR_PRACTICAL).questions);
    printf("%-44s %4s  %8s  %6s  %6s\n", "", "qs", "answered", "solved", "graded");
    for (int l = 1; l <= ST_CUR_LEVELS; l++) {
        char label[96];
        snprintf(label, sizeof(label), "Level %d: %s (%s)", l, st_cur_level(l)->name, st_cur_level(l)->focus);
        print_coverage_row(label, st_cur_coverage(l, 0, -1));
        for (int m = (l - 1) * 5 + 1; m <= l * 5; m++) {
            snprintf(label, sizeof(label), "  %2d %s", m, st_cur_module(m)->name);
            print_coverage_row(label, st_cur_coverage(0, m, -1));
        }
    }
    print_coverage_row("Total", all);
    printf("\nanswered: has an answer; solved: has a reference solution; graded: has a grader.\n");
}

static int cmd_stats(int argc, char **argv)
{
    bool json = false;
    const struct st_flag flags[] = {
        { "json", 0, ST_FLAG_BOOL, &json, NULL, "print JSON" },
        { 0 },
    };
    const struct st_flags_spec spec = { "strata questions stats [FLAGS]",
                                        "Counts per level, module and kind, and how much of the bank is "
                                        "answered, solved and graded.",
                                        flags, NULL };
    int nargs, rc = st_cli_parse(&spec, argc, argv, &nargs);
    if (rc >= 0)
        return rc;
    if (nargs > 0) {
        fprintf(stderr, "strata: questions stats takes no arguments (got '%s')\n", argv[0]);
        return ST_EXIT_USAGE;
    }
    if (json)
        return print_json(stats_json());
    print_stats();
    return ST_EXIT_OK;
}

static void usage(FILE *out)
{
    fputs("Usage: strata questions COMMAND [FLAGS]\n\n"
          "The question bank: 500 questions in 5 levels and 25 modules.\n\n"
          "Commands:\n"
          "  list     list questions (--level N, --module N, --kind conceptual|practical)\n"
          "  show N   one question with its answer, solution and grader\n"
          "  search   ranked search: strata questions search consistent hashing\n"
          "  stats    counts and coverage (--json)\n\n"
          "Run 'strata questions COMMAND --help' for a command's flags.\n",
          out);
}

int st_cli_questions(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = { { "list", cmd_list }, { "show", cmd_show }, { "search", cmd_search }, { "stats", cmd_stats } };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? ST_EXIT_USAGE : ST_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "strata: unknown questions command '%s'\n", argv[1]);
    usage(stderr);
    return ST_EXIT_USAGE;
}
