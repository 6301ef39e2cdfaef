/*
 * arena.c - the bump allocator behind struct st_arena.
 *
 * Memory comes in chunks from malloc. Small requests are carved off the newest chunk
 * (the head of the list); when it is full a new chunk is pushed, and the tail of the old
 * one is abandoned. Large requests get a chunk of their own, linked behind the head so
 * that the head stays the chunk we bump from. Cleanup records live in the arena itself.
 */
#include "base/arena.h"

#include <assert.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* Every allocation starts on this boundary, so any type can be stored there. */
#define ARENA_ALIGN alignof(max_align_t)

struct st_arena_chunk {
    struct st_arena_chunk *next;
    size_t size;        /* usable bytes in data */
    size_t used;        /* bytes handed out from data */
    max_align_t data[]; /* max_align_t elements make data itself maximally aligned */
};

struct st_arena_cleanup {
    struct st_arena_cleanup *next;
    void (*fn)(void *arg);
    void *arg;
};

/* A normal chunk then costs exactly one page-sized malloc. */
#define ARENA_DEFAULT_CHUNK (4096 - sizeof(struct st_arena_chunk))

void st_arena_init(struct st_arena *a, size_t chunk_size)
{
    a->chunks = NULL;
    a->cleanups = NULL;
    a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
    a->allocated = 0;
}

/* Pop and run cleanups one at a time, so a cleanup may itself register another. */
static void run_cleanups(struct st_arena *a)
{
    while (a->cleanups) {
        struct st_arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg);
    }
}

void st_arena_release(struct st_arena *a)
{
    run_cleanups(a);
    while (a->chunks) {
        struct st_arena_chunk *c = a->chunks;
        a->chunks = c->next;
        free(c);
    }
    a->allocated = 0;
}

/*
 * Keep the oldest chunk of normal size (the one init-time usage settled on) and free the
 * others. A dedicated large chunk is never kept: it would pin an arbitrary amount of
 * memory for the life of the arena.
 */
void st_arena_reset(struct st_arena *a)
{
    struct st_arena_chunk *keep = NULL;

    run_cleanups(a);
    while (a->chunks) {
        struct st_arena_chunk *c = a->chunks;
        a->chunks = c->next;
        if (c->size == a->chunk_size) {
            free(keep); /* an older normal chunk follows: prefer that one */
            keep = c;
        } else {
            free(c);
        }
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->chunks = keep;
    a->allocated = 0;
}

static struct st_arena_chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(struct st_arena_chunk))
        st_panic("arena: allocation of %zu bytes is too large", size);
    struct st_arena_chunk *c = st_xmalloc(sizeof(*c) + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

/* A chunk holding exactly one large allocation, linked behind the bump chunk. */
static void *alloc_large(struct st_arena *a, size_t n)
{
    struct st_arena_chunk *c = chunk_new(n);
    c->used = n;
    if (a->chunks) {
        c->next = a->chunks->next;
        a->chunks->next = c;
    } else {
        a->chunks = c; /* full, so the next small request pushes a fresh head */
    }
    return c->data;
}

void *st_arena_alloc(struct st_arena *a, size_t n)
{
    /* n == 0 still takes one aligned unit so every result is a distinct valid pointer. */
    size_t need = n ? n : 1;
    if (need > SIZE_MAX - ARENA_ALIGN)
        st_panic("arena: allocation of %zu bytes is too large", n);
    need = (need + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    a->allocated += n;

    if (need > a->chunk_size / 4)
        return alloc_large(a, need);

    struct st_arena_chunk *c = a->chunks;
    if (!c || c->size - c->used < need) {
        c = chunk_new(a->chunk_size);
        c->next = a->chunks;
        a->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += need;
    return p;
}

void *st_arena_zalloc(struct st_arena *a, size_t n)
{
    void *p = st_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

void *st_arena_calloc(struct st_arena *a, size_t count, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(count, size, &n))
        st_panic("arena: calloc of %zu x %zu bytes overflows", count, size);
    return st_arena_zalloc(a, n);
}

char *st_arena_strndup(struct st_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        st_panic("arena: string too long");
    char *p = st_arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *st_arena_strdup(struct st_arena *a, const char *s)
{
    return st_arena_strndup(a, s, strlen(s));
}

/*
 * Format into a stack buffer first: most strings fit and are formatted once. Longer ones
 * are formatted again into memory of exactly the right size. (Measuring with
 * vsnprintf(NULL, 0, ...) would also work, but GCC 12 at -O1 with sanitizers reports a
 * false "null format string" for it.)
 */
char *st_arena_printf(struct st_arena *a, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        st_panic("arena: bad format string \"%s\"", fmt);

    char *p = st_arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof(small)) {
        memcpy(p, small, (size_t)n + 1);
        return p;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void st_arena_on_cleanup(struct st_arena *a, void (*fn)(void *arg), void *arg)
{
    struct st_arena_cleanup *c = st_arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}
