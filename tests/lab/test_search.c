/* test_search.c - FTS5 search over the bank: ranking, filters, hostile queries, safe snippets.
 * Includes search.c to test the snippet escaper directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/lab/search.c"

#define MAXHITS 600

static struct st_lab_search *srch;
static struct st_arena arena;
static struct st_lab_hit hits_out[MAXHITS];

static int setup(void **state)
{
    (void)state;
    struct st_error err;
    st_arena_init(&arena, 0);
    if (st_lab_search_open(&srch, &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    st_lab_search_close(srch);
    st_arena_release(&arena);
    return 0;
}

static struct st_lab_search_query query(const char *text)
{
    return (struct st_lab_search_query){ .text = text, .kind = -1, .limit = MAXHITS };
}

/* Run q; returns the status, *n hits in hits_out. */
static int run(const struct st_lab_search_query *q, size_t *n, size_t *total)
{
    struct st_error err;
    int rc = st_lab_search_run(srch, q, hits_out, n, total, &arena, &err);
    if (rc != 0 && rc != ST_EPARSE && rc != ST_EUSAGE)
        fail_msg("search '%s': %d %s", q->text, rc, err.msg);
    return rc;
}

/* Safe HTML: once the <mark> elements are removed, no '<' or '>' is left. */
static void assert_safe(const char *html)
{
    char buf[8192];
    size_t j = 0;
    for (const char *p = html; *p && j + 1 < sizeof(buf);) {
        if (strncmp(p, "<mark>", 6) == 0)
            p += 6;
        else if (strncmp(p, "</mark>", 7) == 0)
            p += 7;
        else
            buf[j++] = *p++;
    }
    buf[j] = '\0';
    if (strchr(buf, '<') || strchr(buf, '>') || strchr(buf, '\x01') || strchr(buf, '\x02'))
        fail_msg("unsafe snippet: %s", html);
}

static void consistent_hashing_ranks_242_first(void **state)
{
    (void)state;
    size_t n, total;
    struct st_lab_search_query q = query("consistent hashing");
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(n >= 2);
    assert_int_equal(total, n);
    assert_int_equal(hits_out[0].question, 242);
    assert_non_null(strstr(hits_out[0].snippet, "<mark>"));
    for (size_t i = 1; i < n; i++)
        assert_true(hits_out[i - 1].rank <= hits_out[i].rank);
    bool has_252 = false, has_315 = false; /* "Create a consistent hashing algorithm.", "Build a distributed
                                                  cache with consistent hashing." */
    for (size_t i = 0; i < n; i++) {
        has_252 |= hits_out[i].question == 252;
        has_315 |= hits_out[i].question == 315;
    }
    assert_true(has_252 && has_315);
}

static void prefix_on_the_last_word(void **state)
{
    (void)state;
    size_t n, total;
    struct st_lab_search_query q = query("consistent hash");
    assert_int_equal(run(&q, &n, &total), 0);
    assert_int_equal(hits_out[0].question, 242);
    q = query("consis");
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(n >= 1);
}

static void any_word_when_all_words_find_nothing(void **state)
{
    (void)state;
    size_t n, total;
    struct st_lab_search_query q = query("consistent hashing zzqxqzzy");
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(n >= 1);
    assert_int_equal(hits_out[0].question, 242);
    q = query("zzqxqzzy qqqzzqx");
    assert_int_equal(run(&q, &n, &total), 0);
    assert_int_equal(n, 0);
    assert_int_equal(total, 0);
}

static void filters(void **state)
{
    (void)state;
    size_t n, total, all;
    struct st_lab_search_query q = query("database");
    assert_int_equal(run(&q, &n, &all), 0);
    assert_true(all > 20);
    q.module = 13;
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(n > 0 && total < all);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(st_cur_question(hits_out[i].question)->module, 13);
    q = query("database");
    q.level = 1;
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(n > 0 && total < all);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(st_cur_question(hits_out[i].question)->level, 1);
    q = query("database");
    q.kind = ST_CUR_PRACTICAL;
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(n > 0 && total < all);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(st_cur_question(hits_out[i].question)->kind, ST_CUR_PRACTICAL);
    q = query("consistent hashing");
    q.module = 16;
    assert_int_equal(run(&q, &n, &total), 0);
    assert_int_equal(hits_out[0].question, 315);
    q.module = 26;
    assert_int_equal(run(&q, &n, &total), ST_EUSAGE);
}

static void pages(void **state)
{
    (void)state;
    size_t n, total, n2, total2;
    struct st_lab_search_query q = query("http");
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(total > 10 && n == total);
    int third = hits_out[2].question;
    q.offset = 1;
    q.limit = 2;
    assert_int_equal(run(&q, &n2, &total2), 0);
    assert_int_equal(total2, total);
    assert_int_equal(n2, 2);
    assert_int_equal(hits_out[1].question, third);
    q.offset = total;
    assert_int_equal(run(&q, &n2, &total2), 0);
    assert_int_equal(n2, 0);
    assert_int_equal(total2, total);
    q.offset = 0;
    q.limit = 0;
    assert_int_equal(run(&q, &n2, &total2), 0);
    assert_int_equal(n2, 0);
    assert_int_equal(total2, total);
}

static void hostile_queries_never_fail(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "\"",
        "*",
        "(",
        ")",
        "NEAR",
        "NEAR(a b, 2)",
        "-",
        ":",
        "text:hash",
        "^hash",
        "a OR",
        "AND",
        "NOT hashing",
        "\"unterminated",
        "{text}: x",
        "hash*",
        "+-*/",
        "'; DROP TABLE q; --",
        "\xff\xfe\x80",
        "\xe2\x80\x94",
        "caf\xc3\xa9",
        "x\"y\"z",
        "a\x01b\x02",
        "OR OR OR",
        "consistent\"hashing",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        size_t n, total;
        struct st_lab_search_query q = query(texts[i]);
        assert_int_equal(run(&q, &n, &total), 0);
        for (size_t k = 0; k < n; k++)
            assert_safe(hits_out[k].snippet);
    }
    /* A long paste: the first words count, the rest are ignored. */
    char big[20000];
    memset(big, 'a', sizeof(big) - 1);
    for (size_t i = 7; i < sizeof(big) - 1; i += 8)
        big[i] = ' ';
    big[sizeof(big) - 1] = '\0';
    size_t n, total;
    struct st_lab_search_query q = query(big);
    assert_int_equal(run(&q, &n, &total), 0);
}

static void empty_is_an_error(void **state)
{
    (void)state;
    size_t n, total;
    struct st_lab_search_query q = query("");
    assert_int_equal(run(&q, &n, &total), ST_EPARSE);
    q = query(" \t\n");
    assert_int_equal(run(&q, &n, &total), ST_EPARSE);
    q = query(NULL);
    assert_int_equal(run(&q, &n, &total), ST_EPARSE);
}

static void snippets_are_escaped(void **state)
{
    (void)state;
    size_t n, total;
    struct st_lab_search_query q = query("<script>alert(1)</script> hashing");
    assert_int_equal(run(&q, &n, &total), 0);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_safe(hits_out[i].snippet);
        assert_null(strstr(hits_out[i].snippet, "<script"));
    }
    /* Text containing markup: escaped; only the markers become elements. */
    const char *html = snippet_html(srch, "a <script>\x01x\x02</script> & 'q\" \x01y\x02", &arena);
    assert_string_equal(html, "a &lt;script&gt;<mark>x</mark>&lt;/script&gt; &amp; &#39;q&quot; <mark>y</mark>");
    /* Markers in the bank's text could never reach the snippet: clean() removes them. */
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_string_equal(clean(&b, "a\x01z\x02"), "a z ");
    st_buf_release(&b);
}

static void match_is_quoted(void **state)
{
    (void)state;
    assert_int_equal(build_match(srch, "NEAR(\"a\" b*", false), 3);
    assert_string_equal(srch->match.data, "\"NEAR\" \"a\" \"b\"*");
    assert_int_equal(build_match(srch, "x y", true), 2);
    assert_string_equal(srch->match.data, "\"x\" OR \"y\"*");
    assert_int_equal(build_match(srch, "()", false), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(consistent_hashing_ranks_242_first),
        cmocka_unit_test(prefix_on_the_last_word),
        cmocka_unit_test(any_word_when_all_words_find_nothing),
        cmocka_unit_test(filters),
        cmocka_unit_test(pages),
        cmocka_unit_test(hostile_queries_never_fail),
        cmocka_unit_test(empty_is_an_error),
        cmocka_unit_test(snippets_are_escaped),
        cmocka_unit_test(match_is_quoted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
