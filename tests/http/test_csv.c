/*
 * test_csv.c - tests for the RFC 4180 writer (src/http/csv.c): quoting rules, doubled
 * quotes, empty and NUL-containing fields, no formula mangling, rows, and the buffer left
 * as it was when its limit refuses a field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/err.h"
#include "http/csv.h"

/* One field written alone, as a C string (fields here hold no NUL). */
static void field_is(const char *in, const char *want)
{
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_csv_field_c(&b, in, true), 0);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data ? b.data : "", want, b.len);
    st_buf_release(&b);
}

static void quoting(void **state)
{
    (void)state;
    field_is("plain", "plain");
    field_is("", "");
    field_is(NULL, "");
    field_is("a,b", "\"a,b\"");
    field_is("say \"hi\"", "\"say \"\"hi\"\"\"");
    field_is("\"", "\"\"\"\"");
    field_is("\"\"", "\"\"\"\"\"\"");
    field_is("line\nbreak", "\"line\nbreak\"");
    field_is("cr\rhere", "\"cr\rhere\"");
    field_is("crlf\r\n", "\"crlf\r\n\"");
    field_is(" spaces kept ", " spaces kept ");
    field_is("tab\there", "tab\there");
    field_is("semi;colon", "semi;colon");
    field_is("'single'", "'single'");
    field_is("\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9");
    /* data is kept exact: no formula-injection mangling */
    field_is("=SUM(A1:A2)", "=SUM(A1:A2)");
    field_is("+1", "+1");
    field_is("-1", "-1");
    field_is("@x", "@x");
    field_is("=1,2", "\"=1,2\"");
}

static void rows(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    assert_int_equal(st_csv_field_c(&b, "id", true), 0);
    assert_int_equal(st_csv_field_c(&b, "title", false), 0);
    assert_int_equal(st_csv_field_c(&b, "tags", false), 0);
    assert_int_equal(st_csv_end_row(&b), 0);
    assert_int_equal(st_csv_field_c(&b, "1", true), 0);
    assert_int_equal(st_csv_field_c(&b, "Hello, \"world\"", false), 0);
    assert_int_equal(st_csv_field_c(&b, "", false), 0);
    assert_int_equal(st_csv_end_row(&b), 0);
    assert_int_equal(st_csv_field(&b, "a\0b", 3, true), 0); /* bytes as they are, NUL included */
    assert_int_equal(st_csv_field(&b, NULL, 0, false), 0);
    assert_int_equal(st_csv_end_row(&b), 0);
    static const char want[] = "id,title,tags\r\n1,\"Hello, \"\"world\"\"\",\r\na\0b,\r\n";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, b.len);
    st_buf_release(&b);
}

static void limit_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct st_buf b;
    st_buf_init(&b, 10);
    assert_int_equal(st_csv_field_c(&b, "abc", true), 0);
    assert_int_equal(st_csv_field_c(&b, "\"\"\"", false), ST_ELIMIT); /* needs 1 + 8 bytes */
    assert_int_equal(b.len, 3);
    assert_int_equal(st_csv_field_c(&b, "abcdefg", false), ST_ELIMIT); /* 1 + 7: one too many */
    assert_int_equal(b.len, 3);
    assert_int_equal(st_csv_field_c(&b, "abcdef", false), 0); /* exactly full */
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "abc,abcdef", 10);
    assert_int_equal(st_csv_end_row(&b), ST_ELIMIT);
    assert_int_equal(st_csv_field_c(&b, "", false), ST_ELIMIT); /* even the comma does not fit */
    assert_int_equal(b.len, 10);
    st_buf_release(&b);

    st_buf_init(&b, 4);
    assert_int_equal(st_csv_field_c(&b, "a,b", true), ST_ELIMIT); /* quoted: 5 bytes */
    assert_int_equal(b.len, 0);
    assert_int_equal(st_csv_field_c(&b, "abcde", true), ST_ELIMIT);
    st_buf_release(&b);
}

/* Every byte value, alone and in company: parse the output back by the RFC's grammar. */
static void round_trip(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char in[3] = { 'x', (char)c, 'y' };
        struct st_buf b;
        st_buf_init(&b, ST_BUF_UNLIMITED);
        assert_int_equal(st_csv_field(&b, in, 3, true), 0);
        bool quoted = c == ',' || c == '"' || c == '\r' || c == '\n';
        if (!quoted) {
            assert_int_equal(b.len, 3);
            assert_memory_equal(b.data, in, 3);
        } else {
            char back[4];
            size_t n = 0;
            assert_true(b.data[0] == '"' && b.data[b.len - 1] == '"');
            for (size_t i = 1; i + 1 < b.len; i++) {
                if (b.data[i] == '"') {
                    assert_true(b.data[i + 1] == '"'); /* a quote inside is always doubled */
                    i++;
                }
                assert_true(n < sizeof back);
                back[n++] = b.data[i];
            }
            assert_int_equal(n, 3);
            assert_memory_equal(back, in, 3);
        }
        st_buf_release(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quoting),
        cmocka_unit_test(rows),
        cmocka_unit_test(limit_leaves_buffer_unchanged),
        cmocka_unit_test(round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
