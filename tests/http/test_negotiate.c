/*
 * test_negotiate.c - tests for Accept negotiation (src/http/negotiate.c): q-values,
 * wildcards and their specificity, exclusion by q=0, ties, malformed elements, and the
 * blog API's own table (JSON, CSV or 406).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "http/negotiate.h"

static const char *const json_csv[] = { "application/json", "text/csv; charset=utf-8" };

/* The index chosen for accept among json_csv, from an exact-size heap copy. */
static int pick(const char *accept)
{
    size_t n = strlen(accept);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, accept, n);
    int i = st_http_negotiate(st_str(copy, n), json_csv, 2);
    free(copy);
    return i;
}

static int q(const char *accept, const char *offered)
{
    return st_http_negotiate_q(st_str_c(accept), st_str_c(offered));
}

static void blog_table(void **state)
{
    (void)state;
    assert_int_equal(st_http_negotiate(st_str(NULL, 0), json_csv, 2), 0); /* absent */
    assert_int_equal(pick(""), 0);
    assert_int_equal(pick("   "), 0);
    assert_int_equal(pick("*/*"), 0);
    assert_int_equal(pick("application/*"), 0);
    assert_int_equal(pick("application/json"), 0);
    assert_int_equal(pick("text/csv"), 1);
    assert_int_equal(pick("text/*"), 1);
    assert_int_equal(pick("TEXT/CSV"), 1);
    assert_int_equal(pick("application/xml"), -1);
    assert_int_equal(pick("text/html, application/xml;q=0.9"), -1);
    assert_int_equal(pick("image/png, */*;q=0.1"), 0);
}

static void q_values(void **state)
{
    (void)state;
    assert_int_equal(pick("application/json;q=0.5, text/csv"), 1);
    assert_int_equal(pick("application/json;q=0.5, text/csv;q=0.4"), 0);
    assert_int_equal(pick("application/json ; q=0.5 , text/csv ; q=0.501"), 1);
    assert_int_equal(pick("text/csv;Q=1, application/json;q=0.999"), 1);
    assert_int_equal(pick("application/json;q=0, */*"), 1); /* excluded, csv through the wildcard */
    assert_int_equal(pick("application/json;q=0, text/csv;q=0"), -1);
    assert_int_equal(pick("*/*;q=0"), -1);
    assert_int_equal(pick("text/csv;q=1.000"), 1);
    assert_int_equal(q("text/csv;q=0.123", "text/csv"), 123);
    assert_int_equal(q("text/csv;q=0.1", "text/csv"), 100);
    assert_int_equal(q("text/csv;q=0.", "text/csv"), 0);
    assert_int_equal(q("text/csv;q=1.", "text/csv"), 1000);
    assert_int_equal(q("text/csv", "text/csv"), 1000);
    assert_int_equal(q("text/html", "text/csv"), 0);
}

static void ties_go_to_the_earlier_offer(void **state)
{
    (void)state;
    assert_int_equal(pick("text/csv, application/json"), 0);
    assert_int_equal(pick("text/csv;q=0.5, application/json;q=0.5"), 0);
    static const char *const rev[] = { "text/csv", "application/json" };
    assert_int_equal(st_http_negotiate(st_str_c("application/json, text/csv"), rev, 2), 0);
    assert_int_equal(st_http_negotiate(st_str_c("*/*"), rev, 2), 0);
    assert_int_equal(st_http_negotiate(st_str_c("*/*"), rev, 0), -1); /* nothing offered */
}

static void specificity(void **state)
{
    (void)state;
    /* the most specific matching range decides, whatever its q */
    assert_int_equal(q("text/*;q=0.9, text/csv;q=0.2", "text/csv"), 200);
    assert_int_equal(q("text/csv;q=0.2, text/*;q=0.9", "text/csv"), 200);
    assert_int_equal(q("*/*;q=0.9, text/*;q=0.3", "text/csv"), 300);
    assert_int_equal(q("*/*;q=0.9, text/*;q=0", "text/csv"), 0);
    assert_int_equal(q("*/*;q=0.9, text/*;q=0", "application/json"), 900);
    assert_int_equal(pick("text/*;q=0.9, text/csv;q=0.2, application/json;q=0.3"), 0);
    /* equally specific ranges (parameters other than q are ignored): the highest q */
    assert_int_equal(q("text/csv;q=0.2, text/csv;header=present;q=0.7", "text/csv"), 700);
    /* parameters of the offer are not compared */
    assert_int_equal(q("text/csv;charset=latin1", "text/csv; charset=utf-8"), 1000);
}

static void malformed_is_skipped(void **state)
{
    (void)state;
    assert_int_equal(pick("garbage, text/csv"), 1);
    assert_int_equal(pick("text/csv;q=2, application/json"), 0); /* bad q: the element is skipped */
    assert_int_equal(pick("text/csv;q=0.1234, application/json"), 0);
    assert_int_equal(pick("text/csv;q=abc, application/json"), 0);
    assert_int_equal(pick("text/csv;q=1.5"), 0); /* nothing usable: as if absent */
    assert_int_equal(pick("*/csv, text/csv;q=0.5, application/json;q=0.4"), 1);
    assert_int_equal(pick("/csv, text/, /, text/csv"), 1);
    assert_int_equal(pick(",,, text/csv ,,"), 1);
    assert_int_equal(pick("text/csv;;q=0.5, application/json;q=0.4"), 1);
    assert_int_equal(pick("text/csv;novalue, application/json;q=0.4"), 0);
    assert_int_equal(pick("te xt/csv, application/json;q=0.4"), 0);
    assert_int_equal(pick("text/c\"sv, application/json;q=0.4"), 0);
    /* a quoted ',' or ';' does not split */
    assert_int_equal(pick("text/csv;x=\"a,b;q=0\";q=0.9, application/json;q=0.8"), 1);
    assert_int_equal(pick("text/csv;x=\"a\\\"b,c\", application/json;q=0.8"), 1);
    assert_int_equal(pick("text/csv;x=\"unterminated, application/json"), 0);
    /* a bad offer is never chosen */
    static const char *const bad[] = { "nonsense", "text/csv" };
    assert_int_equal(st_http_negotiate(st_str_c("*/*"), bad, 2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blog_table),
        cmocka_unit_test(q_values),
        cmocka_unit_test(ties_go_to_the_earlier_offer),
        cmocka_unit_test(specificity),
        cmocka_unit_test(malformed_is_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
