/*
 * err.h - the one error-status convention of strata.
 *
 * Every fallible function returns an int status:
 *   0            success (ST_OK);
 *   -errno       a system error, exactly as errno reported it (-ENOENT, -ENOMEM ...);
 *   ST_E*        a strata error, all below -4096 so they never collide with errno.
 * ST_EAGAIN is -EAGAIN: incremental parsers return it for "need more bytes" and resume.
 *
 * Propagate with the one idiom:   rc = f(); if (rc) return rc;
 *
 * Where a caller needs words as well as a code (a CLI printing one clear line, a parser
 * naming file:line), the function also takes a `struct st_error *` (may be NULL) and fills
 * it with st_error_set(), which returns the code so that `return st_error_set(...)` reads
 * naturally.
 */
#ifndef ST_BASE_ERR_H
#define ST_BASE_ERR_H

#include <errno.h>
#include <stddef.h>

enum {
    ST_OK = 0,
    ST_EAGAIN = -EAGAIN,  /* need more input; call again */
    ST_EBASE = -4096,     /* strata codes start below every errno value */
    ST_EPARSE = -4097,    /* malformed input */
    ST_ENOTFOUND = -4098, /* no such thing (question, key, file entry) */
    ST_ELIMIT = -4099,    /* a configured limit was exceeded */
    ST_EUSAGE = -4100,    /* bad command line or call: the caller's fault */
    ST_ECONFLICT = -4101, /* already exists / concurrent change */
    ST_EDB = -4102,       /* database error; the message says which */
    ST_EINTERNAL = -4103, /* an invariant broke: a bug */
};

/* Text for a status: strerror() for -errno values, a fixed phrase for ST_E* codes. */
const char *st_strerror(int rc);

/* An error with a message. Fixed size: filling it never allocates. */
struct st_error {
    int code;
    char msg[512];
};

/* Set err (if not NULL) to code and a printf-formatted message; returns code. */
int st_error_set(struct st_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Clear err (if not NULL) to ST_OK and an empty message. */
void st_error_clear(struct st_error *err);

/* Abort with a message: for out-of-memory in servers and broken invariants. */
_Noreturn void st_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An invariant the code relies on, stated for the compiler and the static analyzer (which
 * otherwise explores impossible paths): no code is generated; breaking it is undefined. */
#define ST_ASSUME(cond)                                                                                                \
    do {                                                                                                               \
        if (!(cond))                                                                                                   \
            __builtin_unreachable();                                                                                   \
    } while (0)

/* Memory that cannot fail: aborts with a message on exhaustion (servers cap what clients
 * can make them allocate, so exhaustion is a bug or an overloaded host, not an input). */
void *st_xmalloc(size_t n);
void *st_xcalloc(size_t count, size_t size);
void *st_xrealloc(void *p, size_t n);
char *st_xstrdup(const char *s);
char *st_xstrndup(const char *s, size_t n);

#endif
