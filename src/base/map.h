/*
 * map.h - a hash map from byte-string keys to pointers, open addressing.
 *
 * Linear probing in a power-of-two table of slots {hash, key, value}; deletion shifts the
 * following entries back (no tombstones), so lookups stay short after churn. The table
 * grows at 3/4 load and never shrinks on its own (st_map_shrink does).
 * The stored hash saves most key compares and makes growth rehash-free.
 *
 * Ownership is declared by the map's type (like Redis's dictType): with key_dup the map
 * copies keys on insert and frees the copies when their entries go; with val_free the map
 * frees the values it drops (delete, overwrite, clear, release, st_map_iter_delete).
 * NULL values are never passed to val_free. With a NULL type the map borrows keys and
 * values: they must outlive their entries.
 *
 * Iteration order is unspecified; do not insert while iterating (deleting the current
 * entry through st_map_iter_delete is allowed).
 */
#ifndef ST_BASE_MAP_H
#define ST_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/str.h"

struct st_map_type {
    uint64_t (*hash)(const void *p, size_t n);    /* NULL: st_hash */
    bool (*eq)(struct st_str a, struct st_str b); /* NULL: st_str_eq */
    bool key_dup;                                 /* copy keys (malloc) on insert */
    void (*val_free)(void *val);                  /* called for values the map drops */
};

/* The type for case-insensitive keys that the map copies. */
extern const struct st_map_type st_map_type_nocase_dup;
/* Keys copied, values borrowed. */
extern const struct st_map_type st_map_type_dup;

struct st_map_slot {
    uint64_t hash; /* 0 marks an empty slot (real hashes are forced non-zero) */
    struct st_str key;
    void *val;
};

struct st_map {
    struct st_map_slot *slots;
    size_t cap; /* 0 or a power of two */
    size_t len;
    const struct st_map_type *type;
};

/* An empty map; type may be NULL (borrowed keys and values). Allocates nothing. */
void st_map_init(struct st_map *m, const struct st_map_type *type);
/* Drop every entry (freeing what the type owns) and the table. */
void st_map_release(struct st_map *m);
/* Drop every entry, keep the table. */
void st_map_clear(struct st_map *m);

/* The value for key, or NULL. (Store non-NULL values, or use st_map_find.) */
void *st_map_get(const struct st_map *m, struct st_str key);
/* The slot holding key, or NULL: tells "absent" from "present with NULL value". */
struct st_map_slot *st_map_find(const struct st_map *m, struct st_str key);

/*
 * Insert or overwrite. On overwrite the old value is dropped (val_free, unless it is val
 * itself) and the stored key kept. Returns true if the key was new.
 */
bool st_map_put(struct st_map *m, struct st_str key, void *val);

/*
 * The slot for key, inserting it with val NULL if absent (*created tells which).
 * The pointer is valid until the next insert or delete.
 */
struct st_map_slot *st_map_upsert(struct st_map *m, struct st_str key, bool *created);

/* Remove key. If val_out is not NULL, the value is handed to the caller instead of being
 * dropped (NULL if key was absent). Returns true if the key was present. */
bool st_map_del(struct st_map *m, struct st_str key, void **val_out);

/* Shrink the table to fit len at the target load. */
void st_map_shrink(struct st_map *m);

static inline size_t st_map_len(const struct st_map *m)
{
    return m->len;
}

/*
 * Iteration:
 *   struct st_map_iter it = ST_MAP_ITER_INIT;
 *   struct st_map_slot *s;
 *   while ((s = st_map_next(m, &it))) { ... }
 */
struct st_map_iter {
    size_t pos;   /* slot of the entry last returned */
    size_t left;  /* slots still to examine, counting pos */
    bool started; /* pos and left are set (the walk starts just after an empty slot) */
    bool deleted; /* set by st_map_iter_delete so st_map_next revisits pos */
};
#define ST_MAP_ITER_INIT ((struct st_map_iter){ 0, 0, false, false })
struct st_map_slot *st_map_next(const struct st_map *m, struct st_map_iter *it);
/* Delete the entry st_map_next just returned. */
void st_map_iter_delete(struct st_map *m, struct st_map_iter *it);

#endif
