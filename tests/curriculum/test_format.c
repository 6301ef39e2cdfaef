/* test_format.c - the curriculum parser on small inline documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "curriculum/format.h"

static struct st_curf_bank *bank;

static int setup(void **state)
{
    (void)state;
    bank = malloc(sizeof(*bank));
    st_curf_init(bank);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    st_curf_release(bank);
    free(bank);
    return 0;
}

static int parse(const char *text, struct st_error *err)
{
    return st_curf_add_file(bank, "t.txt", text, strlen(text), err);
}

/* Each bad document goes into a fresh bank so earlier records cannot interfere. */
static void assert_error(const char *text, const char *want)
{
    struct st_error err;
    st_curf_release(bank);
    st_curf_init(bank);
    assert_int_equal(parse(text, &err), ST_EPARSE);
    if (!strstr(err.msg, want))
        fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void question_fields(void **state)
{
    (void)state;
    struct st_error err;
    const char *doc = "# comment\n"
                      "[question 242]\n"
                      "module: 13\n"
                      "kind: conceptual\n"
                      "tags: sharding, consistent-hashing\n"
                      "text:   Explain consistent hashing.  \n"
                      "solution: src/a.c\n"
                      "solution: src/b.c\n"
                      "grader: ring\n"
                      "checks: <<END\n"
                      "- GET /ring -> 200\n"
                      "  and more on the next line\n"
                      "\n"
                      "- keys move\n"
                      "END\n"
                      "demo: strata example ring\n"
                      "answer: <<MD\n"
                      "# A heading inside the block\n"
                      "\n"
                      "    [not a record]\n"
                      "key: not a field\n"
                      "MD\n";
    assert_int_equal(parse(doc, &err), 0);
    const struct st_curf_question *q = &bank->questions[242];
    assert_string_equal(q->text, "Explain consistent hashing.");
    assert_int_equal(q->module, 13);
    assert_false(q->practical);
    assert_int_equal(q->ntags, 2);
    assert_string_equal(q->tags[1], "consistent-hashing");
    assert_int_equal(q->nsolutions, 2);
    assert_string_equal(q->solutions[1], "src/b.c");
    assert_string_equal(q->grader, "ring");
    assert_string_equal(q->checks, "- GET /ring -> 200\n  and more on the next line\n\n- keys move");
    assert_string_equal(q->answer, "# A heading inside the block\n\n    [not a record]\nkey: not a field");
    assert_int_equal(q->at.line, 2);
}

static void crlf_accepted(void **state)
{
    (void)state;
    struct st_error err;
    assert_int_equal(parse("[level 1]\r\nname: Beginner\r\nfocus: F\r\ngoal: G\r\ntime: T\r\n", &err), 0);
    assert_string_equal(bank->levels[1].name, "Beginner");
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    assert_error("[question 1]\nmodule: 1\nkind: conceptual\ntags: a\n", "t.txt:1: question 1: missing field 'text'");
    assert_error("\n\n[question 501]\n", "t.txt:3: bad question number '501'");
    assert_error("[question 1]\nmodule: 26\n", "t.txt:2: unknown module 26");
    assert_error("[question 1]\nmodule: x\n", "unknown module x");
    assert_error("name: x\n", "t.txt:1: field outside a record");
    assert_error("[level 1]\nname x\n", "t.txt:2: expected 'key: value'");
    assert_error("[level 1]\nname: \n", "field 'name' is empty");
    assert_error("[module 1]\nlevel: 9\n", "unknown level '9'");
    assert_error("[question 1]\ntext: <<md\n", "a block starts with <<TAG");
    assert_error("[question 1]\nanswer: <<MD\nnever closed\n", "t.txt:2: block not closed");
    assert_error("[question 1]\ntext: a\tb\n", "invalid UTF-8 or control characters");
    assert_error("[question 1]\ngrader: Bad_Name\n", "bad grader name");
    assert_error("[question 1]\nchecks: <<END\n- a\nnot a bullet\nEND\n", "t.txt:4: checks: a markdown bullet list");
    assert_error("[question 1]\nchecks: plain text\n", "checks: a markdown bullet list");
    assert_error("[question 1]\nsolution: /etc/passwd\n", "bad solution path");
    assert_error("[question 1]\nsolution: src/../../x\n", "bad solution path");
    assert_error("[question 1]\ntags: a,,b\n", "bad tag ''");
    assert_error("[question 1\n", "a record header looks like");
}

static void duplicates_across_files(void **state)
{
    (void)state;
    struct st_error err;
    const char *q = "[question 7]\nmodule: 1\nkind: conceptual\ntags: a\ntext: t\n";
    assert_int_equal(st_curf_add_file(bank, "a.txt", q, strlen(q), &err), 0);
    assert_int_equal(st_curf_add_file(bank, "b.txt", q, strlen(q), &err), ST_EPARSE);
    assert_string_equal(err.msg, "b.txt:1: duplicate question 7 (first defined at a.txt:1)");
}

static void check_reports_missing_records(void **state)
{
    (void)state;
    struct st_error err;
    assert_int_equal(st_curf_check(bank, NULL, &err), ST_EPARSE);
    assert_string_equal(err.msg, "curriculum: level 1 is missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(question_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(crlf_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_name_file_and_line, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicates_across_files, setup, teardown),
        cmocka_unit_test_setup_teardown(check_reports_missing_records, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
