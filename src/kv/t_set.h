/*
 * t_set.h - internal header of the set and sorted-set parts (t_set.c, t_zset.c): the set
 * value API that set algebra and sorted sets share, argument parsers common to both, and
 * the prototypes of the command procs (from the .def files, so each is written once).
 */
#ifndef ST_KV_T_SET_H
#define ST_KV_T_SET_H

#include "kv/internal.h"
#include "kv/skiplist.h"

/* A set value outside an entry (results of SINTERSTORE ...): p is a struct kv_intset
 * (enc KV_ENC_INTSET) or a hash-table set (KV_ENC_HASHTABLE). */
struct kv_setv {
    void *p;
    enum kv_enc enc;
};

/* An empty set value (intset, as Redis's createIntsetObject). */
void kv_setv_init(struct kv_setv *s);
/* Add / remove a member, converting intset -> hashtable by Redis 7.0's rules. */
bool kv_setv_add(struct kv_setv *s, struct kv_bytes m);
bool kv_setv_remove(struct kv_setv *s, struct kv_bytes m);
void kv_setv_convert(struct kv_setv *s);
/* Free the value (p NULL afterwards; NULL p is a no-op). */
void kv_setv_free(struct kv_setv *s);

/* On a set value pointer (entry->v.ptr of a KV_SET): */
size_t kv_set_len(const void *p);
bool kv_set_has(const void *p, struct kv_bytes m);

/* Members in encoding order; the bytes are valid until the next call or a change. */
struct kv_set_iter {
    const void *s;
    uint32_t pos;
    struct kv_htab_iter hi;
    char buf[24];
};
void kv_set_iter_init(struct kv_set_iter *it, const void *p);
bool kv_set_next(struct kv_set_iter *it, struct kv_bytes *out);

/* SRANDMEMBER/ZRANDMEMBER count of INT64_MIN (its negation does not fit). */
#define KV_ERR_RANDCOUNT "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"

/* A scratch set of members for distinct random picks (SRANDMEMBER, ZRANDMEMBER): start
 * from a zeroed kv_htab; add returns whether m was new; release frees it all. */
bool kv_pickset_add(struct kv_htab *t, struct kv_bytes m);
void kv_pickset_release(struct kv_htab *t);

/* Argument parsers that reply Redis's error and return false on bad input. */
/* numkeys of SINTERCARD/ZUNION...: > 0 and at most avail. */
bool kv_parse_numkeys(struct kv_client *c, struct kv_bytes b, int avail, int *numkeys);
/* [LIMIT n] from argv[from] to the end (SINTERCARD, ZINTERCARD); *limit 0 = none. */
bool kv_parse_card_limit(struct kv_client *c, int from, int64_t *limit);
/* A SCAN cursor, strtoul-style as Redis parses it ("ERR invalid cursor"). */
bool kv_parse_scan_cursor(struct kv_client *c, struct kv_bytes b, uint64_t *cursor);
struct kv_scan_opts {
    int64_t count;
    struct kv_bytes pattern;
    bool match; /* false: no MATCH or MATCH "*" */
};
/* [MATCH pattern] [COUNT n] from argv[from]. */
bool kv_parse_scan_opts(struct kv_client *c, int from, struct kv_scan_opts *o);

/* The command procs. */
#define KV_CMD(name, proc, ...) void proc(struct kv_client *c);
#include "kv/t_set.def"
#include "kv/t_zset.def"
#undef KV_CMD

#endif
