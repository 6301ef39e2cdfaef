/*
 * buf.h - a growable byte buffer with a hard size limit (like curl's dynbuf).
 *
 * Invariants: data[0..len) holds the bytes; when cap > 0, data[len] == '\0' so the
 * contents can be used as a C string; len <= max. Appending past max fails with
 * ST_ELIMIT and leaves the buffer unchanged: a peer can never make us allocate more than
 * max. Growth doubles. Out of memory aborts (st_xrealloc).
 *
 * st_buf_consume() slides the remaining bytes down with memmove: consume once per batch
 * (after parsing everything complete in the buffer), not once per item.
 */
#ifndef ST_BASE_BUF_H
#define ST_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "base/str.h"

struct st_buf {
    char *data; /* owned; NULL until the first append */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated, not counting the NUL slot */
    size_t max; /* largest len allowed */
};

#define ST_BUF_UNLIMITED ((size_t)-1 / 2)

/* An empty buffer whose contents may grow up to max bytes. Allocates nothing. */
void st_buf_init(struct st_buf *b, size_t max);
/* Free the memory; the buffer is empty (and reusable) afterwards. */
void st_buf_release(struct st_buf *b);
/* Forget the contents, keep the memory. */
void st_buf_clear(struct st_buf *b);

/* Make room for n more bytes without changing len. 0 or ST_ELIMIT. */
int st_buf_reserve(struct st_buf *b, size_t n);
int st_buf_append(struct st_buf *b, const void *p, size_t n);
int st_buf_append_str(struct st_buf *b, struct st_str s);
int st_buf_append_c(struct st_buf *b, const char *s);
int st_buf_append_byte(struct st_buf *b, char c);
/* printf-style append: 0, ST_ELIMIT, or -errno if vsnprintf fails (e.g. -EOVERFLOW). */
int st_buf_printf(struct st_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int st_buf_vprintf(struct st_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Drop the first n bytes (n <= len). */
void st_buf_consume(struct st_buf *b, size_t n);
/* Shorten to n bytes (n <= len). */
void st_buf_truncate(struct st_buf *b, size_t n);

/* The contents as a slice (valid until the next change). */
static inline struct st_str st_buf_str(const struct st_buf *b)
{
    return (struct st_str){ b->data, b->len };
}

/*
 * Hand the contents to the caller, who must free() them; the buffer becomes empty.
 * Returns a NUL-terminated string ("" freshly allocated if the buffer was empty).
 * *len (if not NULL) receives the length.
 */
char *st_buf_detach(struct st_buf *b, size_t *len);

#endif
