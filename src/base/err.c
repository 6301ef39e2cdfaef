/* err.c - status codes to text, error messages, and allocation that cannot fail. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *st_strerror(int rc)
{
    switch (rc) {
    case ST_OK: return "success";
    case ST_EPARSE: return "malformed input";
    case ST_ENOTFOUND: return "not found";
    case ST_ELIMIT: return "limit exceeded";
    case ST_EUSAGE: return "invalid usage";
    case ST_ECONFLICT: return "conflict";
    case ST_EDB: return "database error";
    case ST_EINTERNAL: return "internal error";
    default: break;
    }
    if (rc < 0 && rc > ST_EBASE)
        return strerror(-rc);
    return "unknown error";
}

int st_error_set(struct st_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void st_error_clear(struct st_error *err)
{
    if (err) {
        err->code = ST_OK;
        err->msg[0] = '\0';
    }
}

_Noreturn void st_panic(const char *fmt, ...)
{
    va_list ap;
    fputs("strata: fatal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void *st_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        st_panic("out of memory allocating %zu bytes", n);
    return p;
}

void *st_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        st_panic("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *st_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        st_panic("out of memory reallocating %zu bytes", n);
    return q;
}

char *st_xstrndup(const char *s, size_t n)
{
    char *p = st_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *st_xstrdup(const char *s)
{
    return st_xstrndup(s, strlen(s));
}
