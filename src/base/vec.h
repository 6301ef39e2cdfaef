/*
 * vec.h - a typed dynamic array built from macros.
 *
 *   struct st_vec_int ST_VEC(int);        or   ST_VEC(int) v = {0};
 *   ST_VEC_PUSH(&v, 42);
 *   for (size_t i = 0; i < v.len; i++) use(v.items[i]);
 *   ST_VEC_RELEASE(&v);
 *
 * The vector owns items[] (malloc'd) but not what the items point to. Zero-initialized is
 * a valid empty vector. Growth doubles (first capacity 8). Out of memory aborts.
 */
#ifndef ST_BASE_VEC_H
#define ST_BASE_VEC_H

#include <stddef.h>
#include <stdlib.h>

/* A struct body with items/len/cap for element type T. */
#define ST_VEC(T)                                                                                                      \
    struct {                                                                                                           \
        T *items;                                                                                                      \
        size_t len;                                                                                                    \
        size_t cap;                                                                                                    \
    }

/* Ensure room for n more elements (may move items). */
#define ST_VEC_RESERVE(v, n) st__vec_grow((void **)&(v)->items, &(v)->cap, (v)->len, (n), sizeof(*(v)->items))
/* Append x (evaluated once). */
#define ST_VEC_PUSH(v, x) (ST_VEC_RESERVE((v), 1), (v)->items[(v)->len++] = (x))
/* Remove and return the last element; the vector must not be empty. */
#define ST_VEC_POP(v) ((v)->items[--(v)->len])
/* Pointer to a new zeroed element at the end. */
#define ST_VEC_PUSH_ZERO(v)                                                                                            \
    (ST_VEC_RESERVE((v), 1), st__vec_zero(&(v)->items[(v)->len], sizeof(*(v)->items)), &(v)->items[(v)->len++])
/* Remove element i, keeping order (O(n)). */
#define ST_VEC_REMOVE(v, i) st__vec_remove((v)->items, &(v)->len, (i), sizeof(*(v)->items))
/* Drop all elements, keep memory. */
#define ST_VEC_CLEAR(v) ((v)->len = 0)
/* Free the memory; the vector is empty afterwards. */
#define ST_VEC_RELEASE(v) (free((v)->items), (v)->items = NULL, (v)->len = 0, (v)->cap = 0)

void st__vec_grow(void **items, size_t *cap, size_t len, size_t n, size_t elem);
void st__vec_zero(void *p, size_t elem);
void st__vec_remove(void *items, size_t *len, size_t i, size_t elem);

#endif
