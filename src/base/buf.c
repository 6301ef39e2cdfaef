/*
 * buf.c - the growable, size-limited byte buffer.
 *
 * data always has one byte more than cap, for the NUL that follows the contents. Every
 * failing operation checks the limit before touching anything, so ST_ELIMIT means the
 * buffer is exactly as it was.
 */
#include "base/buf.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* First allocation: small enough for a header line, big enough to skip tiny regrowths. */
#define BUF_MIN_CAP 64

void st_buf_init(struct st_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    /* Capping max keeps cap * 2 and cap + 1 free of overflow everywhere below. */
    b->max = max < ST_BUF_UNLIMITED ? max : ST_BUF_UNLIMITED;
}

void st_buf_release(struct st_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void st_buf_clear(struct st_buf *b)
{
    b->len = 0;
    if (b->cap)
        b->data[0] = '\0';
}

/* Doubling from BUF_MIN_CAP until need fits, but never past max. */
static size_t grown_cap(size_t cap, size_t need, size_t max)
{
    size_t c = cap ? cap : BUF_MIN_CAP;
    while (c < need)
        c = c > max / 2 ? max : c * 2;
    return c < max ? c : max;
}

int st_buf_reserve(struct st_buf *b, size_t n)
{
    if (n > b->max - b->len)
        return ST_ELIMIT;
    size_t need = b->len + n;
    if (need <= b->cap)
        return 0;
    size_t cap = grown_cap(b->cap, need, b->max);
    b->data = st_xrealloc(b->data, cap + 1);
    b->cap = cap;
    b->data[b->len] = '\0'; /* a first allocation has no terminator yet */
    return 0;
}

int st_buf_append(struct st_buf *b, const void *p, size_t n)
{
    int rc = st_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n == 0)
        return 0;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int st_buf_append_str(struct st_buf *b, struct st_str s)
{
    return st_buf_append(b, s.ptr, s.len);
}

int st_buf_append_c(struct st_buf *b, const char *s)
{
    return st_buf_append(b, s, strlen(s));
}

int st_buf_append_byte(struct st_buf *b, char c)
{
    return st_buf_append(b, &c, 1);
}

int st_buf_printf(struct st_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = st_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

/* vsnprintf failed (an encoding error, or more than INT_MAX bytes). */
static int printf_error(void)
{
    return errno ? -errno : -EINVAL;
}

/*
 * Format straight into the spare capacity; only when that is too small, grow to the
 * measured size and format again. vsnprintf may have scribbled over the spare bytes
 * (including the NUL at data[len]) before we find out, so failures restore the NUL.
 */
int st_buf_vprintf(struct st_buf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    errno = 0;
    int n = b->data ? vsnprintf(b->data + b->len, b->cap - b->len + 1, fmt, ap) : vsnprintf(NULL, 0, fmt, ap);
    int rc = 0;
    if (n < 0) {
        rc = printf_error();
    } else if ((size_t)n > b->cap - b->len) {
        rc = st_buf_reserve(b, (size_t)n);
        if (rc == 0 && vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again) != n)
            rc = printf_error();
    }
    va_end(again);
    if (rc == 0)
        b->len += (size_t)n;
    if (b->data)
        b->data[b->len] = '\0';
    return rc;
}

void st_buf_consume(struct st_buf *b, size_t n)
{
    assert(n <= b->len);
    if (n == 0)
        return;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

void st_buf_truncate(struct st_buf *b, size_t n)
{
    assert(n <= b->len);
    b->len = n;
    if (b->cap)
        b->data[n] = '\0';
}

char *st_buf_detach(struct st_buf *b, size_t *len)
{
    char *p = b->data ? b->data : st_xstrdup("");
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
