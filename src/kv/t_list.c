/*
 * t_list.c - the list type and its commands (LPUSH ... BLMPOP), as redis-server 7.0 has
 * them, including the blocking pops.
 *
 * A list is always a quicklist (quicklist.h), whose nodes are listpacks: redis-server 7.0
 * answers "quicklist" to OBJECT ENCODING for every list (the listpack encoding of small
 * lists came in 7.2), and a one-node quicklist costs little more than a bare listpack.
 * An emptied list is deleted, as in Redis.
 *
 * Blocking pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) try to serve at once; when
 * every key is empty they park the client with kv_block, and the server runs the same
 * command again when one of the keys is written. Whenever one serves, it propagates the
 * non-blocking command that has the same effect (BLPOP -> LPOP key, BLMOVE -> LMOVE ...),
 * as Redis does, so the AOF never holds a blocking command.
 */
#include <stdlib.h>
#include <string.h>

#include "kv/cmds.h"
#include "kv/core.h" /* kv_conn_of(c)->blk only: is this the re-run of a blocked command? */
#include "kv/listpack.h"
#include "kv/quicklist.h"

/* ---- the value -------------------------------------------------------------------------- */

static void list_free(void *ptr)
{
    kv_ql_free(ptr);
}

static void *list_dup(const void *ptr)
{
    return kv_ql_dup(ptr);
}

static size_t list_mem(const void *ptr)
{
    return kv_ql_mem(ptr);
}

static size_t list_len(const void *ptr)
{
    return ((const struct kv_quicklist *)ptr)->count;
}

#define EMIT_BATCH 64

/* RPUSH key e1 .. e64, as many as needed. */
static int list_emit(const void *ptr, struct kv_bytes key, struct kv_emitter *em)
{
    struct kv_quicklist *ql = (struct kv_quicklist *)ptr;
    struct kv_bytes argv[2 + EMIT_BATCH];
    char nums[EMIT_BATCH][24];
    struct kv_ql_pos pos;
    argv[0] = kv_b("RPUSH", 5);
    argv[1] = key;
    int n = 0;
    bool more = kv_ql_seek(ql, 0, &pos);
    while (more) {
        argv[2 + n] = kv_ql_get(&pos, nums[n]);
        n++;
        more = kv_ql_next(&pos);
        if (n == EMIT_BATCH || !more) {
            int rc = kv_emit(em, 2 + n, argv);
            if (rc)
                return rc;
            n = 0;
        }
    }
    return 0;
}

const struct kv_type_ops kv_list_ops = { list_free, list_dup, list_mem, list_len, list_emit };

/* ---- helpers ---------------------------------------------------------------------------- */

static struct kv_quicklist *ql_of(struct kv_entry *e)
{
    return e->v.ptr;
}

static struct kv_entry *list_create(struct kv_client *c, struct kv_bytes key)
{
    return kv_db_add(c->db, key, KV_LIST, KV_ENC_QUICKLIST, kv_ql_new((int)kv_cfg.list_max_listpack_size));
}

/* Delete the key when its list became empty (Redis never keeps empty lists). */
static void delete_if_empty(struct kv_client *c, struct kv_entry *e)
{
    if (ql_of(e)->count == 0)
        kv_db_delete_entry(c->db, e);
}

/* An element copied out of a list before the list changes (LMOVE pops, then pushes). */
struct elem_copy {
    struct kv_bytes b;
    char small[128];
    char *heap;
};

static void elem_copy_set(struct elem_copy *ec, struct kv_bytes b)
{
    ec->heap = NULL;
    char *dst = ec->small;
    if (b.n > sizeof ec->small)
        dst = ec->heap = kv_malloc(b.n);
    if (b.n)
        memcpy(dst, b.p, b.n);
    ec->b = kv_b(dst, b.n);
}

static void elem_copy_release(struct elem_copy *ec)
{
    kv_free(ec->heap);
}

/* Pop the head or tail element, copied into ec. The list must not be empty. */
static void pop_copy(struct kv_quicklist *ql, bool head, struct elem_copy *ec)
{
    struct kv_ql_pos pos;
    char buf[24];
    kv_ql_seek(ql, head ? 0 : -1, &pos);
    elem_copy_set(ec, kv_ql_get(&pos, buf));
    kv_ql_delete(ql, &pos, head);
}

/* Reply count elements popped from one end (count <= length). */
static void pop_reply(struct kv_client *c, struct kv_quicklist *ql, bool head, int64_t count)
{
    struct kv_ql_pos pos;
    char buf[24];
    for (int64_t i = 0; i < count; i++) {
        kv_ql_seek(ql, head ? 0 : -1, &pos);
        kv_reply_bulk(c, kv_ql_get(&pos, buf)); /* copied into the output before the delete */
        kv_ql_delete(ql, &pos, head);
    }
}

static bool parse_where(struct kv_bytes b, bool *head)
{
    if (kv_eq(b, "LEFT"))
        *head = true;
    else if (kv_eq(b, "RIGHT"))
        *head = false;
    else
        return false;
    return true;
}

static bool parse_long(struct kv_client *c, struct kv_bytes b, int64_t *v)
{
    if (!kv_parse_i64(b, v)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return false;
    }
    return true;
}

/* A non-negative integer, or reply "ERR <msg>" (Redis's getPositiveLongFromObjectOrReply:
 * the same message for junk and for a negative number). */
static bool parse_positive(struct kv_client *c, struct kv_bytes b, int64_t *v, const char *msg)
{
    if (!kv_parse_i64(b, v) || *v < 0) {
        kv_reply_error(c, msg);
        return false;
    }
    return true;
}

/* ---- pushes ----------------------------------------------------------------------------- */

static void push_generic(struct kv_client *c, bool head, bool only_existing)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        if (only_existing) {
            kv_reply_int(c, 0);
            return;
        }
        e = list_create(c, c->argv[1]);
    }
    struct kv_quicklist *ql = ql_of(e);
    for (int i = 2; i < c->argc; i++)
        kv_ql_push(ql, c->argv[i], head);
    size_t len = ql->count;
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, (int64_t)len);
}

void kv_cmd_lpush(struct kv_client *c)
{
    push_generic(c, true, false);
}

void kv_cmd_rpush(struct kv_client *c)
{
    push_generic(c, false, false);
}

void kv_cmd_lpushx(struct kv_client *c)
{
    push_generic(c, true, true);
}

void kv_cmd_rpushx(struct kv_client *c)
{
    push_generic(c, false, true);
}

/* ---- pops ------------------------------------------------------------------------------- */

static void pop_generic(struct kv_client *c, bool head)
{
    int64_t count = 1;
    bool has_count = c->argc == 3;
    if (c->argc > 3) {
        kv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", head ? "lpop" : "rpop");
        return;
    }
    if (has_count && !parse_positive(c, c->argv[2], &count, "ERR value is out of range, must be positive"))
        return;
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        if (has_count)
            kv_reply_null_array(c);
        else
            kv_reply_null(c);
        return;
    }
    if (has_count && count == 0) {
        kv_reply_array(c, 0);
        return;
    }
    struct kv_quicklist *ql = ql_of(e);
    if (has_count) {
        if ((size_t)count > ql->count)
            count = (int64_t)ql->count;
        kv_reply_array(c, (size_t)count);
    }
    pop_reply(c, ql, head, count);
    delete_if_empty(c, e);
    kv_signal_modified(c, c->db, c->argv[1]);
}

void kv_cmd_lpop(struct kv_client *c)
{
    pop_generic(c, true);
}

void kv_cmd_rpop(struct kv_client *c)
{
    pop_generic(c, false);
}

/* ---- reads ------------------------------------------------------------------------------ */

void kv_cmd_llen(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, false, &wrong);
    if (!wrong)
        kv_reply_int(c, e ? (int64_t)ql_of(e)->count : 0);
}

void kv_cmd_lindex(struct kv_client *c)
{
    bool wrong;
    int64_t index;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, false, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_null(c);
        return;
    }
    if (!parse_long(c, c->argv[2], &index))
        return;
    struct kv_ql_pos pos;
    char buf[24];
    if (kv_ql_seek(ql_of(e), index, &pos))
        kv_reply_bulk(c, kv_ql_get(&pos, buf));
    else
        kv_reply_null(c);
}

/* Clamp [start, end] (negative from the end) to the list; false when it is empty. */
static bool clamp_range(int64_t len, int64_t *start, int64_t *end)
{
    if (*start < 0)
        *start += len;
    if (*end < 0)
        *end += len;
    if (*start < 0)
        *start = 0;
    if (*start > *end || *start >= len)
        return false;
    if (*end >= len)
        *end = len - 1;
    return true;
}

void kv_cmd_lrange(struct kv_client *c)
{
    int64_t start, end;
    bool wrong;
    if (!parse_long(c, c->argv[2], &start) || !parse_long(c, c->argv[3], &end))
        return;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, false, &wrong);
    if (wrong)
        return;
    if (!e || !clamp_range((int64_t)ql_of(e)->count, &start, &end)) {
        kv_reply_array(c, 0);
        return;
    }
    struct kv_quicklist *ql = ql_of(e);
    size_t n = (size_t)(end - start + 1);
    struct kv_ql_pos pos;
    char buf[24];
    kv_reply_array(c, n);
    /* walk from the nearer end of the range's first element, then one way */
    kv_ql_seek(ql, start, &pos);
    for (size_t i = 0; i < n; i++) {
        kv_reply_bulk(c, kv_ql_get(&pos, buf));
        kv_ql_next(&pos);
    }
}

/* ---- in-place edits ---------------------------------------------------------------------- */

void kv_cmd_lset(struct kv_client *c)
{
    bool wrong;
    int64_t index;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_error(c, KV_ERR_NOKEY);
        return;
    }
    if (!parse_long(c, c->argv[2], &index))
        return;
    struct kv_ql_pos pos;
    if (!kv_ql_seek(ql_of(e), index, &pos)) {
        kv_reply_error(c, KV_ERR_OUTOFRANGE);
        return;
    }
    kv_ql_replace(ql_of(e), &pos, c->argv[3]);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_ok(c);
}

void kv_cmd_lrem(struct kv_client *c)
{
    int64_t count;
    bool wrong;
    if (!parse_long(c, c->argv[2], &count))
        return;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_int(c, 0);
        return;
    }
    struct kv_quicklist *ql = ql_of(e);
    bool forward = count >= 0;
    uint64_t limit = count == 0 ? UINT64_MAX : forward ? (uint64_t)count : 0 - (uint64_t)count;
    uint64_t removed = 0;
    struct kv_ql_pos pos;
    bool more = kv_ql_seek(ql, forward ? 0 : -1, &pos);
    while (more && removed < limit) {
        if (kv_lp_eq(pos.p, c->argv[3])) {
            kv_ql_delete(ql, &pos, forward);
            removed++;
            more = pos.node != NULL;
        } else {
            more = forward ? kv_ql_next(&pos) : kv_ql_prev(&pos);
        }
    }
    if (removed) {
        delete_if_empty(c, e);
        kv_signal_modified(c, c->db, c->argv[1]);
    }
    kv_reply_int(c, (int64_t)removed);
}

void kv_cmd_ltrim(struct kv_client *c)
{
    int64_t start, end;
    bool wrong;
    if (!parse_long(c, c->argv[2], &start) || !parse_long(c, c->argv[3], &end))
        return;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_ok(c);
        return;
    }
    struct kv_quicklist *ql = ql_of(e);
    int64_t len = (int64_t)ql->count;
    size_t ltrim, rtrim;
    if (clamp_range(len, &start, &end)) {
        ltrim = (size_t)start;
        rtrim = (size_t)(len - end - 1);
    } else {
        ltrim = (size_t)len; /* out of range: everything goes */
        rtrim = 0;
    }
    kv_ql_delete_range(ql, 0, ltrim);
    if (rtrim)
        kv_ql_delete_range(ql, ql->count - rtrim, rtrim);
    delete_if_empty(c, e);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_ok(c);
}

void kv_cmd_linsert(struct kv_client *c)
{
    bool after, wrong;
    if (kv_eq(c->argv[2], "AFTER")) {
        after = true;
    } else if (kv_eq(c->argv[2], "BEFORE")) {
        after = false;
    } else {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_int(c, 0);
        return;
    }
    struct kv_quicklist *ql = ql_of(e);
    struct kv_ql_pos pos;
    bool more = kv_ql_seek(ql, 0, &pos);
    while (more && !kv_lp_eq(pos.p, c->argv[3]))
        more = kv_ql_next(&pos);
    if (!more) {
        kv_reply_int(c, -1);
        return;
    }
    kv_ql_insert(ql, &pos, c->argv[4], after);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, (int64_t)ql->count);
}

/* ---- LPOS ------------------------------------------------------------------------------- */

struct lpos_opts {
    int64_t rank, count, maxlen;
    bool has_count;
};

static bool parse_lpos(struct kv_client *c, struct lpos_opts *o)
{
    o->rank = 1;
    o->count = 0;
    o->maxlen = 0;
    o->has_count = false;
    for (int i = 3; i < c->argc; i += 2) {
        bool more = i + 1 < c->argc;
        if (kv_eq(c->argv[i], "RANK") && more) {
            if (!parse_long(c, c->argv[i + 1], &o->rank))
                return false;
            /* Redis 7.0 negates the rank in a long: LLONG_MIN stays negative and then
             * every match qualifies, so it acts as -1. Same answer here. */
            if (o->rank == INT64_MIN)
                o->rank = -1;
            if (o->rank == 0) {
                kv_reply_error(c, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                                  "second ... or use negative to start from the end of the list");
                return false;
            }
        } else if (kv_eq(c->argv[i], "COUNT") && more) {
            if (!parse_positive(c, c->argv[i + 1], &o->count, "ERR COUNT can't be negative"))
                return false;
            o->has_count = true;
        } else if (kv_eq(c->argv[i], "MAXLEN") && more) {
            if (!parse_positive(c, c->argv[i + 1], &o->maxlen, "ERR MAXLEN can't be negative"))
                return false;
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

void kv_cmd_lpos(struct kv_client *c)
{
    struct lpos_opts o;
    bool wrong;
    if (!parse_lpos(c, &o))
        return;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_LIST, false, &wrong);
    if (wrong)
        return;
    if (!e) {
        if (o.has_count)
            kv_reply_array(c, 0);
        else
            kv_reply_null(c);
        return;
    }
    struct kv_quicklist *ql = ql_of(e);
    bool forward = o.rank > 0;
    uint64_t skip = (forward ? (uint64_t)o.rank : 0 - (uint64_t)o.rank) - 1;
    int64_t len = (int64_t)ql->count;
    void *h = o.has_count ? kv_reply_deferred(c) : NULL;
    size_t matches = 0;
    struct kv_ql_pos pos;
    bool more = kv_ql_seek(ql, forward ? 0 : -1, &pos);
    for (int64_t i = 0; more && (o.maxlen == 0 || i < o.maxlen); i++) {
        if (kv_lp_eq(pos.p, c->argv[2])) {
            if (skip > 0) {
                skip--;
            } else {
                int64_t index = forward ? i : len - 1 - i;
                if (!o.has_count) {
                    kv_reply_int(c, index);
                    return;
                }
                kv_reply_int(c, index);
                matches++;
                if (o.count && matches == (size_t)o.count)
                    break;
            }
        }
        more = forward ? kv_ql_next(&pos) : kv_ql_prev(&pos);
    }
    if (o.has_count)
        kv_reply_set_deferred(c, h, matches, '*');
    else
        kv_reply_null(c);
}

/* ---- moves ------------------------------------------------------------------------------ */

/*
 * Move one element from src's head/tail to dst's head/tail and reply it. src must be a
 * non-empty list (its entry is e). Returns false (after replying WRONGTYPE) when dst
 * holds another type; nothing moved then.
 */
static bool move_one(struct kv_client *c, struct kv_entry *e, struct kv_bytes src, struct kv_bytes dst, bool from_head,
                     bool to_head)
{
    bool wrong;
    struct kv_entry *d = kv_lookup_type(c, dst, KV_LIST, true, &wrong);
    if (wrong)
        return false;
    /* dst may be src (a rotation); then d == e and popping first keeps it non-empty
     * only when it had more than one element, so pop into a copy and push after. */
    struct elem_copy ec;
    pop_copy(ql_of(e), from_head, &ec);
    if (d == e && ql_of(e)->count == 0) {
        kv_ql_push(ql_of(e), ec.b, to_head);
    } else {
        if (ql_of(e)->count == 0)
            kv_db_delete_entry(c->db, e);
        if (!d)
            d = list_create(c, dst);
        kv_ql_push(ql_of(d), ec.b, to_head);
    }
    kv_signal_modified(c, c->db, src);
    kv_signal_modified(c, c->db, dst);
    kv_reply_bulk(c, ec.b);
    elem_copy_release(&ec);
    return true;
}

static void lmove_generic(struct kv_client *c, struct kv_bytes src, struct kv_bytes dst, bool from_head, bool to_head)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, src, KV_LIST, true, &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_reply_null(c);
        return;
    }
    move_one(c, e, src, dst, from_head, to_head);
}

void kv_cmd_lmove(struct kv_client *c)
{
    bool from, to;
    if (!parse_where(c->argv[3], &from) || !parse_where(c->argv[4], &to)) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    lmove_generic(c, c->argv[1], c->argv[2], from, to);
}

void kv_cmd_rpoplpush(struct kv_client *c)
{
    lmove_generic(c, c->argv[1], c->argv[2], false, true);
}

/* ---- blocking pops ---------------------------------------------------------------------- */

/*
 * The source key of a blocking pop. A key of another type is WRONGTYPE when the command
 * first runs, but when a parked client is re-run because the key was written, Redis only
 * serves it from a list: a key that became a string leaves the client waiting.
 */
static struct kv_entry *block_lookup(struct kv_client *c, struct kv_bytes key, bool *wrong)
{
    *wrong = false;
    struct kv_entry *e = kv_lookup_write(c->db, key);
    if (!e || e->type == KV_LIST)
        return e;
    if (kv_conn_of(c)->blk == NULL) {
        kv_reply_error(c, KV_ERR_WRONGTYPE);
        *wrong = true;
    }
    return NULL;
}

static void propagate_pop(struct kv_client *c, struct kv_bytes key, bool head, const char *count)
{
    struct kv_bytes argv[3] = { head ? kv_b("LPOP", 4) : kv_b("RPOP", 4), key, kv_b(NULL, 0) };
    if (count)
        argv[2] = kv_b(count, strlen(count));
    kv_propagate(c, count ? 3 : 2, argv);
}

static void bpop_generic(struct kv_client *c, bool head)
{
    int64_t timeout;
    bool wrong;
    if (!kv_parse_timeout(c, c->argv[c->argc - 1], &timeout))
        return;
    for (int i = 1; i < c->argc - 1; i++) {
        struct kv_entry *e = block_lookup(c, c->argv[i], &wrong);
        if (wrong)
            return;
        if (!e)
            continue;
        struct kv_bytes key = c->argv[i];
        kv_reply_array(c, 2);
        kv_reply_bulk(c, key);
        pop_reply(c, ql_of(e), head, 1);
        delete_if_empty(c, e);
        kv_signal_modified(c, c->db, key);
        propagate_pop(c, key, head, NULL);
        return;
    }
    kv_block(c, c->argc - 2, c->argv + 1, timeout);
}

void kv_cmd_blpop(struct kv_client *c)
{
    bpop_generic(c, true);
}

void kv_cmd_brpop(struct kv_client *c)
{
    bpop_generic(c, false);
}

static void blmove_generic(struct kv_client *c, bool from, bool to, struct kv_bytes timeout_arg)
{
    int64_t timeout;
    bool wrong;
    if (!kv_parse_timeout(c, timeout_arg, &timeout))
        return;
    struct kv_entry *e = block_lookup(c, c->argv[1], &wrong);
    if (wrong)
        return;
    if (!e) {
        kv_block(c, 1, c->argv + 1, timeout);
        return;
    }
    if (!move_one(c, e, c->argv[1], c->argv[2], from, to))
        return;
    struct kv_bytes argv[5] = { kv_b("LMOVE", 5), c->argv[1], c->argv[2], from ? kv_b("LEFT", 4) : kv_b("RIGHT", 5),
                                to ? kv_b("LEFT", 4) : kv_b("RIGHT", 5) };
    kv_propagate(c, 5, argv);
}

void kv_cmd_blmove(struct kv_client *c)
{
    bool from, to;
    if (!parse_where(c->argv[3], &from) || !parse_where(c->argv[4], &to)) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    blmove_generic(c, from, to, c->argv[5]);
}

void kv_cmd_brpoplpush(struct kv_client *c)
{
    blmove_generic(c, false, true, c->argv[3]);
}

/* ---- LMPOP / BLMPOP ---------------------------------------------------------------------- */

struct mpop_args {
    int first, numkeys;
    bool head;
    int64_t count;
};

/* Parse "numkeys key... LEFT|RIGHT [COUNT n]" starting at argv[at]. */
static bool parse_mpop(struct kv_client *c, int at, struct mpop_args *a)
{
    int64_t n;
    if (!kv_parse_i64(c->argv[at], &n) || n <= 0) {
        kv_reply_error(c, "ERR numkeys should be greater than 0");
        return false;
    }
    int64_t where = at + 1 + n;
    if (where >= c->argc) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return false;
    }
    if (!parse_where(c->argv[where], &a->head)) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return false;
    }
    a->first = at + 1;
    a->numkeys = (int)n;
    a->count = -1;
    for (int64_t j = where + 1; j < c->argc; j++) {
        if (a->count == -1 && kv_eq(c->argv[j], "COUNT") && j + 1 < c->argc) {
            j++;
            if (!kv_parse_i64(c->argv[j], &a->count) || a->count <= 0) {
                kv_reply_error(c, "ERR count should be greater than 0");
                return false;
            }
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    if (a->count == -1)
        a->count = 1;
    return true;
}

/* Serve from the first non-empty key: [key, [elements]], propagated as LPOP/RPOP key n.
 * true when it replied (served, or WRONGTYPE). */
static bool mpop_serve(struct kv_client *c, const struct mpop_args *a, bool blocking)
{
    bool wrong;
    for (int i = a->first; i < a->first + a->numkeys; i++) {
        struct kv_entry *e =
            blocking ? block_lookup(c, c->argv[i], &wrong) : kv_lookup_type(c, c->argv[i], KV_LIST, true, &wrong);
        if (wrong)
            return true;
        if (!e)
            continue;
        struct kv_quicklist *ql = ql_of(e);
        int64_t n = a->count > (int64_t)ql->count ? (int64_t)ql->count : a->count;
        struct kv_bytes key = c->argv[i];
        kv_reply_array(c, 2);
        kv_reply_bulk(c, key);
        kv_reply_array(c, (size_t)n);
        pop_reply(c, ql, a->head, n);
        delete_if_empty(c, e);
        kv_signal_modified(c, c->db, key);
        char num[24];
        size_t k = 0;
        for (int64_t v = n; v; v /= 10)
            num[k++] = (char)('0' + v % 10);
        for (size_t x = 0; x < k / 2; x++) {
            char t = num[x];
            num[x] = num[k - 1 - x];
            num[k - 1 - x] = t;
        }
        num[k] = 0;
        propagate_pop(c, key, a->head, num);
        return true;
    }
    return false;
}

void kv_cmd_lmpop(struct kv_client *c)
{
    struct mpop_args a;
    if (!parse_mpop(c, 1, &a))
        return;
    if (!mpop_serve(c, &a, false))
        kv_reply_null_array(c);
}

void kv_cmd_blmpop(struct kv_client *c)
{
    struct mpop_args a;
    int64_t timeout;
    if (!kv_parse_timeout(c, c->argv[1], &timeout))
        return;
    if (!parse_mpop(c, 2, &a))
        return;
    if (!mpop_serve(c, &a, true))
        kv_block(c, a.numkeys, c->argv + a.first, timeout);
}
