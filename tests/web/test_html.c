/* test_html.c - web/html.h: escaping of every special character, st_html_fmt's
 * conversions (and the abort on a wrong one), the page layout, and markdown: rendering,
 * raw HTML shown as text, and link destinations other than http(s)/mailto/relative
 * neutralised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "web/html.h"

static char *md(struct st_buf *b, const char *src)
{
    st_buf_clear(b);
    assert_int_equal(st_html_markdown(b, src, strlen(src)), 0);
    return b->data ? b->data : "";
}

static void contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

static void lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in:\n%s", needle, hay);
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void text_escapes_every_special(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    st_html_text(&b, st_str_c("a&b<c>d\"e'f"));
    assert_string_equal(b.data, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    st_buf_clear(&b);
    st_html_text(&b, st_str_c("<script>alert('x')</script>"));
    assert_string_equal(b.data, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
    st_buf_clear(&b);
    st_html_text(&b, st_str_c("plain caf\xc3\xa9 text, no specials"));
    assert_string_equal(b.data, "plain caf\xc3\xa9 text, no specials");
    st_buf_clear(&b);
    st_html_text(&b, (struct st_str){ NULL, 0 });
    assert_int_equal(b.len, 0);
    st_html_text(&b, st_str("&&", 2));
    st_html_text(&b, st_str(">", 1));
    assert_string_equal(b.data, "&amp;&amp;&gt;");
    /* every byte value except the five specials passes through unchanged */
    st_buf_clear(&b);
    char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (char)i;
    st_html_text(&b, st_str(all, sizeof all));
    assert_int_equal(b.len, 256 - 5 + 5 + 4 + 4 + 6 + 5);
    st_buf_release(&b);
}

static void fmt_conversions(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    struct st_str sl = st_str_c("x<y");
    st_html_fmt(&b, "<p title=\"%s\">%S|%R|%d|%lld|%zu|%u|%.1f|100%%</p>", "\"q\" & 'a'", &sl, "<b>raw</b>", -42,
                -9000000000LL, (size_t)18446744073709551615ull, 4000000000u, 2.25);
    assert_string_equal(b.data, "<p title=\"&quot;q&quot; &amp; &#39;a&#39;\">x&lt;y|<b>raw</b>|-42|-9000000000|"
                                "18446744073709551615|4000000000|2.2|100%</p>");
    st_buf_clear(&b);
    st_html_fmt(&b, "%s%S", (const char *)NULL, (const struct st_str *)NULL);
    assert_int_equal(b.len, 0);
    st_html_fmt(&b, "no conversions");
    assert_string_equal(b.data, "no conversions");
    st_buf_release(&b);
}

/* A format outside the documented set is a bug: the process aborts. */
static void fmt_wrong_conversion_aborts(void **state)
{
    (void)state;
    const char *bad[] = { "%x", "%ld", "%5d", "%f", "trailing %" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(2); /* keep the expected message out of the TAP output */
            struct st_buf b;
            st_buf_init(&b, 1024);
            st_html_fmt(&b, bad[i], 1);
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
            fail_msg("format \"%s\" did not abort (status %d)", bad[i], status);
    }
}

static void layout(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    st_html_page_begin(&b, "<T> & co", "search");
    st_html_fmt(&b, "<p>body</p>\n");
    st_html_page_end(&b);
    const char *h = b.data;
    assert_true(strncmp(h, "<!doctype html>", 15) == 0);
    contains(h, "<title>&lt;T&gt; &amp; co");
    contains(h, "<meta name=\"viewport\"");
    contains(h, "<link rel=\"stylesheet\" href=\"/assets/style.css?v=");
    contains(h, "<a class=\"skip\" href=\"#main\">");
    contains(h, "<main id=\"main\"");
    contains(h, "<a href=\"/search\" aria-current=\"page\">Search</a>");
    assert_int_equal(occurrences(h, "aria-current"), 1);
    contains(h, "<p>body</p>\n</main>");
    assert_true(strstr(h, "</html>\n") == h + b.len - 8);
    /* the CSP allows no inline style or script */
    lacks(h, "<style");
    lacks(h, "style=");
    lacks(h, "<script>");
    lacks(h, "onclick");
    st_buf_clear(&b);
    st_html_page_begin(&b, "x", "nothing-matches");
    assert_int_equal(occurrences(b.data, "aria-current"), 0);
    st_buf_release(&b);
}

static void markdown_renders(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    const char *h = md(&b, "# Title\n\nSome `x < y` and **bold** and [a link](https://example.org/a?b=1&c=2).\n\n"
                           "```c\nint main(void) { return 1 < 2; }\n```\n\n- one\n- two\n");
    contains(h, "<h1>Title</h1>");
    contains(h, "<code>x &lt; y</code>");
    contains(h, "<strong>bold</strong>");
    contains(h, "<a href=\"https://example.org/a?b=1&amp;c=2\">a link</a>");
    contains(h, "<pre><code class=\"language-c\">int main(void) { return 1 &lt; 2; }");
    contains(h, "<li>one</li>");
    h = md(&b, "| a | b |\n|---|---|\n| 1 | ~~2~~ |\n");
    contains(h, "<table>");
    contains(h, "<td><del>2</del></td>");
    /* appends after what is there */
    st_buf_clear(&b);
    st_buf_append_c(&b, "<div>");
    assert_int_equal(st_html_markdown(&b, "*e*", 3), 0);
    assert_string_equal(b.data, "<div><p><em>e</em></p>\n");
    st_buf_release(&b);
}

static void markdown_raw_html_is_text(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    const char *h = md(&b, "<script>alert(1)</script>\n\ntext <img src=x onerror=alert(1)> <b onclick=\"x()\">b</b>\n\n"
                           "<div>\nblock\n</div>\n");
    contains(h, "&lt;script&gt;alert(1)&lt;/script&gt;");
    lacks(h, "<script");
    lacks(h, "<img");
    lacks(h, "<b ");
    lacks(h, "<div");
    contains(h, "&lt;img src=x onerror=alert(1)&gt;");
    st_buf_release(&b);
}

static void markdown_neutralises_links(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 1 << 20);
    const char *bad[] = {
        "[a](javascript:alert(1))",
        "[a](JaVaScRiPt:alert(1))",
        "[a](javascript&#58;alert(1))",
        "[a](&#106;avascript:alert(1))",
        "[a](&#x6A;avascript:x)",
        "<javascript:alert(1)>",
        "[a](vbscript:msgbox)",
        "[a](data:text/html,<script>alert(1)</script>)",
        "[a]: javascript:alert(1)\n\n[a]",
        "![i](javascript:alert(1))",
        "[a](java%0ascript:x)",
        "[a](file:///etc/passwd)",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *h = md(&b, bad[i]);
        if (!strstr(h, "href=\"#\"") && !strstr(h, "src=\"#\""))
            fail_msg("not neutralised: %s -> %s", bad[i], h);
        lacks(h, "href=\"javascript");
        lacks(h, "href=\"JaVa");
        lacks(h, "href=\"vbscript");
        lacks(h, "href=\"data:");
        lacks(h, "src=\"javascript");
        lacks(h, "href=\"file:");
    }
    const char *good[][2] = {
        { "[a](https://example.org/x)", "href=\"https://example.org/x\"" },
        { "[a](http://127.0.0.1:8080/)", "href=\"http://127.0.0.1:8080/\"" },
        { "[a](HTTPS://EXAMPLE.ORG)", "href=\"HTTPS://EXAMPLE.ORG\"" },
        { "[a](mailto:me@example.org)", "href=\"mailto:me@example.org\"" },
        { "[a](/questions/12)", "href=\"/questions/12\"" },
        { "[a](#answer)", "href=\"#answer\"" },
        { "[a](src/http/parse.c)", "href=\"src/http/parse.c\"" },
        { "[a](?q=1&page=2)", "href=\"?q=1&amp;page=2\"" },
        { "[a](../x:y)", "href=\"../x:y\"" },
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        contains(md(&b, good[i][0]), good[i][1]);
    /* the text around a neutralised link is kept, and a second link is judged alone */
    const char *h = md(&b, "before [x](javascript:1) middle [y](https://ok.example/) after");
    contains(h, "before <a href=\"#\">x</a> middle <a href=\"https://ok.example/\">y</a> after");
    /* only the markdown's part of the buffer is filtered */
    st_buf_clear(&b);
    st_buf_append_c(&b, "<a href=\"javascript:ours\">");
    assert_int_equal(st_html_markdown(&b, "[a](javascript:theirs)", 22), 0);
    contains(b.data, "<a href=\"javascript:ours\"><p><a href=\"#\">a</a></p>");
    /* quotes in text never look like an attribute */
    contains(md(&b, "say href=\"javascript:x\" in text"), "href=&quot;javascript:x&quot;");
    st_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_escapes_every_special),
        cmocka_unit_test(fmt_conversions),
        cmocka_unit_test(fmt_wrong_conversion_aborts),
        cmocka_unit_test(layout),
        cmocka_unit_test(markdown_renders),
        cmocka_unit_test(markdown_raw_html_is_text),
        cmocka_unit_test(markdown_neutralises_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
