/*
 * csv.c - the RFC 4180 writer of csv.h.
 *
 * Room for the whole field (worst case: every byte a quote, plus the separator and the
 * two enclosing quotes) is reserved first, so a field is either written whole or, at the
 * buffer's limit, not at all.
 */
#include "http/csv.h"

#include <string.h>

#include "base/err.h"

static bool needs_quotes(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return false;
}

static size_t count_quotes(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '"';
    return n;
}

int st_csv_field(struct st_buf *b, const char *s, size_t len, bool first)
{
    bool quote = len && needs_quotes(s, len);
    size_t extra = quote ? count_quotes(s, len) + 2 : 0;
    if (len > b->max || extra > b->max - len) /* so the sum below cannot wrap */
        return ST_ELIMIT;
    int rc = st_buf_reserve(b, len + extra + !first);
    if (rc)
        return rc;
    if (!first)
        st_buf_append_byte(b, ',');
    if (!quote)
        return len ? st_buf_append(b, s, len) : 0;
    st_buf_append_byte(b, '"');
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        size_t run = q ? (size_t)(q - p) + 1 : (size_t)(end - p);
        st_buf_append(b, p, run); /* a quote ends the run and is written twice */
        if (q)
            st_buf_append_byte(b, '"');
        p += run;
    }
    return st_buf_append_byte(b, '"');
}

int st_csv_field_c(struct st_buf *b, const char *s, bool first)
{
    return st_csv_field(b, s, s ? strlen(s) : 0, first);
}

int st_csv_end_row(struct st_buf *b)
{
    return st_buf_append(b, "\r\n", 2);
}
