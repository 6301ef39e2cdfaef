/*
 * intset.h - a sorted array of distinct 64-bit integers in the narrowest width that holds
 * them all (16, 32 or 64 bits), the "intset" encoding of small integer sets.
 *
 * Invariants: contents are strictly increasing; every value fits the current width; the
 * width only grows (adding a value that needs more bits upgrades every element, as Redis
 * does, since a removal rarely makes the set narrow again). Lookup is a binary search,
 * insertion and removal move the tail with memmove: O(n), fine for the few hundred
 * elements an intset holds before the set converts to a hash table.
 *
 * Memory comes from kv_malloc (INFO used_memory is exact). Functions that may reallocate
 * return the (possibly moved) intset; the old pointer is then invalid.
 */
#ifndef ST_KV_INTSET_H
#define ST_KV_INTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kv_intset {
    uint32_t width;  /* bytes per element: 2, 4 or 8 */
    uint32_t length; /* elements */
    char contents[]; /* length * width bytes, native byte order */
};

/* An empty intset (16-bit width). The caller frees it with kv_free. */
struct kv_intset *kv_intset_new(void);
/* A copy (kv_malloc). */
struct kv_intset *kv_intset_dup(const struct kv_intset *is);
/* Add v; *added tells whether it was new. Returns the intset (maybe moved). */
struct kv_intset *kv_intset_add(struct kv_intset *is, int64_t v, bool *added);
/* Remove v; *removed tells whether it was there. Returns the intset (maybe moved). */
struct kv_intset *kv_intset_remove(struct kv_intset *is, int64_t v, bool *removed);
/* Whether v is a member: binary search. */
bool kv_intset_find(const struct kv_intset *is, int64_t v);
/* The element at pos (0 <= pos < length), in increasing order. */
int64_t kv_intset_get(const struct kv_intset *is, uint32_t pos);
/* Bytes of the allocation (for MEMORY USAGE). */
size_t kv_intset_mem(const struct kv_intset *is);

static inline uint32_t kv_intset_len(const struct kv_intset *is)
{
    return is->length;
}

/*
 * Whether b is the canonical decimal text of an int64 (no sign "+", no leading zeros,
 * no "-0"): only such members may live in an intset, since the set prints them back
 * from the integer and must reproduce the bytes the client sent.
 */
bool kv_intset_parse(const char *p, size_t n, int64_t *out);

#endif
