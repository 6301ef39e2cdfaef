/*
 * vec.c - the out-of-line parts of the ST_VEC macros: growth, zeroing, ordered removal.
 *
 * The macros pass the element size, so one copy of this code serves every element type.
 */
#include "base/vec.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

/* First capacity: enough for typical small lists without a regrowth. */
#define VEC_MIN_CAP 8

/* The smallest doubling of cap (starting at VEC_MIN_CAP) that holds need elements. */
static size_t grown_cap(size_t cap, size_t need, size_t elem)
{
    size_t c = cap ? cap : VEC_MIN_CAP;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            st_panic("vec: %zu elements is too many", need);
        c *= 2;
    }
    if (c > SIZE_MAX / elem)
        st_panic("vec: %zu elements of %zu bytes is too large", c, elem);
    return c;
}

void st__vec_grow(void **items, size_t *cap, size_t len, size_t n, size_t elem)
{
    if (n > SIZE_MAX - len)
        st_panic("vec: %zu + %zu elements overflows", len, n);
    if (len + n <= *cap)
        return;
    size_t c = grown_cap(*cap, len + n, elem);
    *items = st_xrealloc(*items, c * elem);
    *cap = c;
}

void st__vec_zero(void *p, size_t elem)
{
    memset(p, 0, elem);
}

void st__vec_remove(void *items, size_t *len, size_t i, size_t elem)
{
    assert(i < *len);
    char *base = items;
    memmove(base + i * elem, base + (i + 1) * elem, (*len - i - 1) * elem);
    (*len)--;
}
