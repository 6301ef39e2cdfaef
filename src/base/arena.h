/*
 * arena.h - a bump allocator for memory that dies together (a request, a connection,
 * one CLI command).
 *
 * Allocations come from chunks obtained with malloc; nothing is freed one by one.
 * st_arena_reset() keeps the first chunk for reuse and frees the rest, so a
 * connection's arena reaches a steady state with no malloc per request.
 * Requests larger than a quarter of the chunk size get a chunk of their own so they do
 * not waste the tail of the current one. Cleanup hooks run in reverse order of
 * registration on reset and release (close an fd, finalize a statement).
 * Out of memory aborts (st_xmalloc).
 */
#ifndef ST_BASE_ARENA_H
#define ST_BASE_ARENA_H

#include <stddef.h>

struct st_arena_chunk;
struct st_arena_cleanup;

struct st_arena {
    struct st_arena_chunk *chunks; /* newest first; reset keeps the oldest normal-size one */
    struct st_arena_cleanup *cleanups;
    size_t chunk_size; /* usable bytes of a normal chunk */
    size_t allocated;  /* bytes handed out since init/reset (stats) */
};

/* chunk_size 0 picks the default (4096 - header). Allocates nothing until first use. */
void st_arena_init(struct st_arena *a, size_t chunk_size);
/* Free everything, running cleanups; the arena may be reused after st_arena_init. */
void st_arena_release(struct st_arena *a);
/* Run cleanups and forget all allocations; keeps one chunk for reuse. */
void st_arena_reset(struct st_arena *a);

/* n bytes aligned for any type (alignof(max_align_t)); n == 0 returns a valid pointer. */
void *st_arena_alloc(struct st_arena *a, size_t n);
/* n bytes, zeroed. */
void *st_arena_zalloc(struct st_arena *a, size_t n);
/* count * size bytes, zeroed; aborts on multiplication overflow. */
void *st_arena_calloc(struct st_arena *a, size_t count, size_t size);
/* Copy of s[0..n) plus a NUL terminator. */
char *st_arena_strndup(struct st_arena *a, const char *s, size_t n);
char *st_arena_strdup(struct st_arena *a, const char *s);
/* printf into the arena. */
char *st_arena_printf(struct st_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Register fn(arg) to run when the arena is reset or released (LIFO order). */
void st_arena_on_cleanup(struct st_arena *a, void (*fn)(void *arg), void *arg);

#endif
