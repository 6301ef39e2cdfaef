/*
 * quicklist.h - a list value: a doubly linked list of listpack nodes (listpack.h), as
 * Redis's quicklist. Pushes and pops at both ends are O(1) (they touch the end node's
 * small listpack); an index walks nodes from the nearer end, then inside one node.
 *
 * Node size follows list-max-listpack-size, fixed when the list is made ("fill"):
 * negative -1..-5 caps a node at 4, 8, 16, 32 or 64 KB; positive N caps it at N elements
 * (and 8 KB, Redis's safety limit). An element bigger than the cap gets a node alone.
 * Nodes are never empty: the last element out takes its node with it.
 *
 * Everything is allocated with kv_malloc.
 */
#ifndef ST_KV_QUICKLIST_H
#define ST_KV_QUICKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv/internal.h"

struct kv_ql_node {
    struct kv_ql_node *prev, *next;
    unsigned char *lp;
};

struct kv_quicklist {
    struct kv_ql_node *head, *tail;
    size_t count; /* elements */
    size_t nodes;
    int fill;
};

/* A position: an element inside a node (node NULL: none). */
struct kv_ql_pos {
    struct kv_ql_node *node;
    unsigned char *p;
};

struct kv_quicklist *kv_ql_new(int fill);
void kv_ql_free(struct kv_quicklist *ql);
struct kv_quicklist *kv_ql_dup(const struct kv_quicklist *ql);
/* Bytes allocated for the list (struct, nodes, listpacks). O(nodes). */
size_t kv_ql_mem(const struct kv_quicklist *ql);

/* Add at the head (head true) or the tail. */
void kv_ql_push(struct kv_quicklist *ql, struct kv_bytes s, bool head);

/* The element at index (negative from the end). false when out of range. */
bool kv_ql_seek(struct kv_quicklist *ql, int64_t index, struct kv_ql_pos *pos);
/* The bytes at pos; integers are written into buf (>= 24 bytes). Valid until a change. */
struct kv_bytes kv_ql_get(const struct kv_ql_pos *pos, char buf[24]);
/* Step towards the tail / the head; false (pos->node NULL) past the end. */
bool kv_ql_next(struct kv_ql_pos *pos);
bool kv_ql_prev(struct kv_ql_pos *pos);

/* Delete the element at pos; pos moves to the element that followed it in the walk's
 * direction (forward: towards the tail), node NULL when there is none. */
void kv_ql_delete(struct kv_quicklist *ql, struct kv_ql_pos *pos, bool forward);
/* Replace the element at pos. pos stays on it, unless the bigger element had to move
 * to another node (then pos->node is NULL: seek again). */
void kv_ql_replace(struct kv_quicklist *ql, struct kv_ql_pos *pos, struct kv_bytes s);
/* Insert s before or after the element at pos (pos is invalid afterwards). */
void kv_ql_insert(struct kv_quicklist *ql, struct kv_ql_pos *pos, struct kv_bytes s, bool after);
/* Delete count elements from index start (0 <= start < count of the list); clamped. */
void kv_ql_delete_range(struct kv_quicklist *ql, size_t start, size_t count);

#endif
