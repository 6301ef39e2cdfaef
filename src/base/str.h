/*
 * str.h - borrowed string slices: {ptr, len} views into memory owned by someone else
 * (a read buffer, the embedded curriculum, an argv string).
 *
 * A slice never owns its bytes and is not NUL-terminated in general. Copy what must
 * outlive the owner (st_arena_strndup, st_buf). All functions accept {NULL, 0}.
 */
#ifndef ST_BASE_STR_H
#define ST_BASE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct st_str {
    const char *ptr;
    size_t len;
};

/* A slice of a string literal, computed at compile time. */
#define ST_STR_LIT(s) ((struct st_str){ "" s, sizeof(s) - 1 })
/* printf("%.*s", ST_STR_FMT(s)) */
#define ST_STR_FMT(s) (int)(s).len, (s).ptr

static inline struct st_str st_str(const char *p, size_t n)
{
    return (struct st_str){ p, n };
}
/* A slice of a NUL-terminated string (NULL gives the empty slice). */
static inline struct st_str st_str_c(const char *s)
{
    return (struct st_str){ s, s ? strlen(s) : 0 };
}

bool st_str_eq(struct st_str a, struct st_str b);
bool st_str_eq_c(struct st_str a, const char *b);
/* ASCII case-insensitive equality (HTTP header names, keywords). */
bool st_str_ieq(struct st_str a, struct st_str b);
bool st_str_ieq_c(struct st_str a, const char *b);
bool st_str_starts_with(struct st_str s, struct st_str prefix);
bool st_str_ends_with(struct st_str s, struct st_str suffix);
/* memcmp order, shorter first on a common prefix: <0, 0, >0. */
int st_str_cmp(struct st_str a, struct st_str b);

/* Index of the first c, or -1. */
ptrdiff_t st_str_index(struct st_str s, char c);
/* Index of the first occurrence of needle, or -1 (an empty needle is found at 0). */
ptrdiff_t st_str_find(struct st_str s, struct st_str needle);

/* s[from, to) clamped to the slice. */
struct st_str st_str_sub(struct st_str s, size_t from, size_t to);
/* Without leading/trailing ASCII whitespace (space, \t, \r, \n, \v, \f). */
struct st_str st_str_trim(struct st_str s);

/*
 * Split at the first sep: *head gets what is before it, the return value what is after.
 * Without sep, *head is all of s and the result is {NULL, 0}; *found (if not NULL) tells
 * which happened. Loop: while (s.len) { rest = st_str_cut(s, ',', &item, NULL); ...; s = rest; }
 */
struct st_str st_str_cut(struct st_str s, char sep, struct st_str *head, bool *found);

/*
 * Strict decimal integer: optional '-' (st_str_to_i64 only), digits only, no spaces, no
 * '+', no overflow. Returns 0 or ST_EPARSE (malformed) / -ERANGE (overflow).
 */
int st_str_to_i64(struct st_str s, int64_t *out);
int st_str_to_u64(struct st_str s, uint64_t *out);

/* ASCII lower-case copy into dst (dst must hold s.len bytes); returns the slice of dst. */
struct st_str st_str_lower(struct st_str s, char *dst);

#endif
