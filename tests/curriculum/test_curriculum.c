/* test_curriculum.c - the embedded bank: shape, lookups, coverage and search ranking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "curriculum/curriculum.h"

static void shape(void **state)
{
    (void)state;
    int conceptual = 0;
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++) {
        const struct st_cur_question *q = st_cur_question(id);
        assert_non_null(q);
        assert_int_equal(q->id, id);
        assert_int_equal(q->module, (id - 1) / 20 + 1);
        assert_int_equal(q->level, (q->module - 1) / 5 + 1);
        assert_true(q->ntags >= 1);
        assert_true(strlen(q->text) > 5);
        assert_non_null(strstr(q->source, "curriculum/"));
        conceptual += q->kind == ST_CUR_CONCEPTUAL;
    }
    assert_int_equal(conceptual, 250);
    assert_null(st_cur_question(0));
    assert_null(st_cur_question(501));
    assert_null(st_cur_module(26));
    assert_null(st_cur_level(6));
}

static void known_entries(void **state)
{
    (void)state;
    assert_string_equal(st_cur_question(242)->text, "Explain consistent hashing.");
    assert_string_equal(st_cur_question(11)->text,
                        "Create a simple HTTP server that returns \"Hello World\" (Node.js/Python/Java).");
    assert_string_equal(st_cur_module(13)->name, "Database Scaling");
    assert_string_equal(st_cur_module(13)->slug, "database-scaling");
    assert_string_equal(st_cur_level(5)->name, "Elite");
    assert_string_equal(st_cur_level(4)->focus, "Distributed Systems");
    /* Clean UTF-8 survives the trip through the generator. */
    assert_string_equal(st_cur_module(3)->name, "Authentication & Authorization");
}

static void coverage(void **state)
{
    (void)state;
    struct st_cur_coverage all = st_cur_coverage(0, 0, -1);
    assert_int_equal(all.questions, 500);
    assert_int_equal(st_cur_coverage(2, 0, -1).questions, 100);
    assert_int_equal(st_cur_coverage(0, 7, -1).questions, 20);
    assert_int_equal(st_cur_coverage(0, 7, ST_CUR_PRACTICAL).questions, 10);
    int answered = 0;
    for (int id = 1; id <= ST_CUR_QUESTIONS; id++)
        answered += st_cur_question(id)->answer != NULL;
    assert_int_equal(all.answered, answered);
}

static int rank_of(const struct st_cur_hit *hits, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (hits[i].q->id == id)
            return (int)i;
    return -1;
}

static void search_ranks_consistent_hashing(void **state)
{
    (void)state;
    struct st_cur_hit hits[20];
    size_t n = st_cur_search("consistent hashing", hits, 20);
    assert_true(n >= 3);
    int top[3] = { hits[0].q->id, hits[1].q->id, hits[2].q->id };
    for (int want = 0; want < 3; want++) {
        int id = (int[]){ 242, 252, 315 }[want];
        assert_true(top[0] == id || top[1] == id || top[2] == id);
    }
    /* Scores are sorted and positive. */
    for (size_t i = 1; i < (n < 20 ? n : 20); i++)
        assert_true(hits[i - 1].score >= hits[i].score && hits[i].score > 0);
}

static void search_details(void **state)
{
    (void)state;
    struct st_cur_hit hits[50];
    /* Case and punctuation do not matter; plurals fold ("queues" finds "queue"). */
    size_t n = st_cur_search("MESSAGE QUEUES!", hits, 50);
    assert_true(n > 0);
    assert_true(rank_of(hits, n < 50 ? n : 50, 161) >= 0);
    /* A question number finds that question first. */
    n = st_cur_search("404", hits, 50);
    assert_true(n >= 1);
    assert_int_equal(hits[0].q->id, 404);
    /* Stop words alone match nothing; nonsense matches nothing. */
    assert_int_equal(st_cur_search("the of and", hits, 50), 0);
    assert_int_equal(st_cur_search("zzxqv", hits, 50), 0);
    assert_int_equal(st_cur_search("", hits, 50), 0);
    /* Ranking is deterministic. */
    struct st_cur_hit again[50];
    size_t a = st_cur_search("kafka consumer", hits, 50), b = st_cur_search("kafka consumer", again, 50);
    assert_int_equal(a, b);
    for (size_t i = 0; i < (a < 50 ? a : 50); i++)
        assert_ptr_equal(hits[i].q, again[i].q);
    /* Filling fewer slots than matches still counts every match. */
    assert_int_equal(st_cur_search("kafka consumer", hits, 1), a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shape),          cmocka_unit_test(known_entries),
        cmocka_unit_test(coverage),       cmocka_unit_test(search_ranks_consistent_hashing),
        cmocka_unit_test(search_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
