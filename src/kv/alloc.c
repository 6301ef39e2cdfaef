/*
 * alloc.c - allocation with exact accounting for the keyspace (like Redis's zmalloc).
 *
 * Every block of keyspace data comes from here, so kv_used_memory() is the sum of the
 * usable sizes of the live blocks: what INFO used_memory, MEMORY USAGE and maxmemory see.
 * Counting malloc_usable_size (not the requested size) makes the number honest about
 * allocator rounding, which is also what Redis reports with jemalloc.
 *
 * One thread runs commands, so the counter is a plain variable. Forked persistence
 * children get their own copy, which is harmless: they only read the keyspace.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "kv/internal.h"

static size_t used_memory;

static void oom(size_t n)
{
    fprintf(stderr, "strata kv: out of memory allocating %zu bytes\n", n);
    abort();
}

void *kv_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    used_memory += malloc_usable_size(p);
    return p;
}

void *kv_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        oom(count * size);
    used_memory += malloc_usable_size(p);
    return p;
}

void *kv_realloc(void *p, size_t n)
{
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    used_memory = used_memory - old + malloc_usable_size(q);
    return q;
}

void kv_free(void *p)
{
    if (!p)
        return;
    used_memory -= malloc_usable_size(p);
    free(p);
}

size_t kv_alloc_size(const void *p)
{
    return p ? malloc_usable_size((void *)p) : 0;
}

void kv_alloc_account(size_t before, size_t after)
{
    used_memory = used_memory - before + after;
}

size_t kv_used_memory(void)
{
    return used_memory;
}
