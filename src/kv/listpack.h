/*
 * listpack.h - a compact sequence of byte strings in one kv_malloc'd block: small hashes
 * store their field/value pairs in one, and every quicklist node is one.
 *
 * Layout: a 4-byte total size and a 4-byte element count (both little endian), then the
 * elements, then one 0xFF end byte. An element is a tag byte, its payload, and its own
 * length (tag + payload) written backwards as a varint, so a walk can go either way:
 *
 *   0x00-0x7F  the integer 0..127, no payload
 *   0x80-0xBF  a string of 0..63 bytes (low 6 bits), the bytes follow
 *   0xC0       int16   0xC1  int32   0xC2  int64   (little endian payload)
 *   0xC3       string with a 2-byte length      0xC4  string with a 4-byte length
 *
 * A string that is the canonical text of an int64 ("12", "-7"; not "012", "+1", "-0") is
 * stored as an integer and read back as the same text, so the encoding is invisible.
 * A one-byte small string costs 3 bytes, a small integer 2.
 *
 * Positions are pointers into the block (unsigned char *). Functions that change the
 * block may move it: they return the new block, and positions taken before are invalid
 * unless the function hands back a new one. The block is at most 4 GB; callers keep it
 * far below (quicklist nodes are a few KB, hashes convert at hash-max-listpack-*).
 */
#ifndef ST_KV_LISTPACK_H
#define ST_KV_LISTPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv/internal.h"

#define KV_LP_HDR 8
#define KV_LP_END 0xFF

enum kv_lp_where { KV_LP_BEFORE, KV_LP_AFTER };

/* An empty listpack (free with kv_lp_free). */
unsigned char *kv_lp_new(void);
void kv_lp_free(unsigned char *lp);
unsigned char *kv_lp_dup(const unsigned char *lp);

/* Total bytes of the block and number of elements: both O(1). */
static inline uint32_t kv_lp_bytes(const unsigned char *lp)
{
    return (uint32_t)lp[0] | (uint32_t)lp[1] << 8 | (uint32_t)lp[2] << 16 | (uint32_t)lp[3] << 24;
}
static inline uint32_t kv_lp_len(const unsigned char *lp)
{
    return (uint32_t)lp[4] | (uint32_t)lp[5] << 8 | (uint32_t)lp[6] << 16 | (uint32_t)lp[7] << 24;
}

/* Bytes an element holding s would take (to check a size limit before inserting). */
size_t kv_lp_entry_size(struct kv_bytes s);

/* Walks: NULL past either end. kv_lp_seek takes 0-based indexes, negative from the end
 * (-1 is the last), NULL when out of range; it walks from the nearer end. */
unsigned char *kv_lp_first(unsigned char *lp);
unsigned char *kv_lp_last(unsigned char *lp);
unsigned char *kv_lp_next(unsigned char *lp, unsigned char *p);
unsigned char *kv_lp_prev(unsigned char *lp, unsigned char *p);
unsigned char *kv_lp_seek(unsigned char *lp, int64_t index);

/* The element at p as bytes; an integer is written into buf (>= 24 bytes). */
struct kv_bytes kv_lp_get(const unsigned char *p, char buf[24]);
/* true with *v when the element is stored as an integer. */
bool kv_lp_get_int(const unsigned char *p, int64_t *v);
/* Does the element at p equal s? (No text conversion for integer elements.) */
bool kv_lp_eq(const unsigned char *p, struct kv_bytes s);

/* Add s at either end. */
unsigned char *kv_lp_append(unsigned char *lp, struct kv_bytes s);
unsigned char *kv_lp_prepend(unsigned char *lp, struct kv_bytes s);
/* Insert s before or after the element at p (p NULL with KV_LP_BEFORE: append). *newp
 * (may be NULL) gets the position of the inserted element. */
unsigned char *kv_lp_insert(unsigned char *lp, unsigned char *p, struct kv_bytes s, enum kv_lp_where where,
                            unsigned char **newp);
/* Replace the element at *p with s; *p is updated to its new position. */
unsigned char *kv_lp_replace(unsigned char *lp, unsigned char **p, struct kv_bytes s);
/* Delete the element at *p; *p becomes the element that followed it (NULL at the end). */
unsigned char *kv_lp_delete(unsigned char *lp, unsigned char **p);
/* Delete count elements from index (negative from the end); clamps at the end. */
unsigned char *kv_lp_delete_range(unsigned char *lp, int64_t index, uint32_t count);

/* Split: the elements from p to the end move into a new listpack (returned); *lp keeps
 * those before p (it may move). */
unsigned char *kv_lp_split(unsigned char **lp, unsigned char *p);

/*
 * Find s from p onwards, comparing one element then skipping `skip` (a hash's fields:
 * skip 1 steps over each value). The position of the match, or NULL.
 */
unsigned char *kv_lp_find(unsigned char *lp, unsigned char *p, struct kv_bytes s, unsigned skip);

/* Is s the canonical text of an int64 (what the listpack stores as an integer)? */
bool kv_lp_str_is_int(struct kv_bytes s, int64_t *v);

#endif
