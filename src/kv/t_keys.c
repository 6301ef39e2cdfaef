/*
 * t_keys.c - generic key commands: deletion, existence, expiry, renaming, iteration
 * (KEYS, SCAN, RANDOMKEY), flushing, COPY/MOVE and OBJECT.
 *
 * Semantics and error texts follow Redis 7.0's db.c, expire.c and object.c. EXPIRE and
 * friends propagate as PEXPIREAT with an absolute time (or DEL when the time is already
 * past), so an AOF replayed later rebuilds the same expiries.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "kv/db.h"
#include "kv/persist.h"

#define KV_CMD(name, proc, ...) void proc(struct kv_client *c);
#define KV_CMD_PARENT(name, table, ...) extern const struct kv_cmd table[];
#include "kv/t_keys.def"
#undef KV_CMD
#undef KV_CMD_PARENT

#define ERR_DB_RANGE "ERR DB index is out of range"
#define ERR_SAME "ERR source and destination objects are the same"

/* Redis's lookupKeyReadWithFlags(LOOKUP_NOTOUCH): stats count, the LRU clock stays. */
static struct kv_entry *lookup_read_notouch(struct kv_client *c, struct kv_bytes key)
{
    struct kv_entry *e = kv_lookup_notouch(c->db, key);
    if (e)
        kv_stats()->keyspace_hits++;
    else
        kv_stats()->keyspace_misses++;
    return e;
}

static void propagate_del(struct kv_client *c, struct kv_bytes key)
{
    struct kv_bytes argv[2] = { kv_b("DEL", 3), key };
    kv_propagate(c, 2, argv);
}

void kv_cmd_del(struct kv_client *c)
{
    int64_t n = 0;
    for (int j = 1; j < c->argc; j++) {
        if (kv_db_delete(c->db, c->argv[j])) {
            kv_signal_modified(c, c->db, c->argv[j]);
            n++;
        }
    }
    kv_reply_int(c, n);
}

void kv_cmd_exists(struct kv_client *c)
{
    int64_t n = 0;
    for (int j = 1; j < c->argc; j++)
        n += lookup_read_notouch(c, c->argv[j]) != NULL;
    kv_reply_int(c, n);
}

void kv_cmd_touch(struct kv_client *c)
{
    int64_t n = 0;
    for (int j = 1; j < c->argc; j++)
        n += kv_lookup_read(c->db, c->argv[j]) != NULL;
    kv_reply_int(c, n);
}

void kv_cmd_type(struct kv_client *c)
{
    struct kv_entry *e = lookup_read_notouch(c, c->argv[1]);
    kv_reply_status(c, e ? kv_type_name(e->type) : "none");
}

/* ---- expiry ---------------------------------------------------------------------------- */

enum { X_NX = 1, X_XX = 2, X_GT = 4, X_LT = 8 };

static bool parse_expire_flags(struct kv_client *c, unsigned *flags)
{
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        struct kv_bytes o = c->argv[j];
        if (kv_eq(o, "NX"))
            *flags |= X_NX;
        else if (kv_eq(o, "XX"))
            *flags |= X_XX;
        else if (kv_eq(o, "GT"))
            *flags |= X_GT;
        else if (kv_eq(o, "LT"))
            *flags |= X_LT;
        else {
            kv_reply_errorf(c, "ERR Unsupported option %.*s", (int)o.n, o.p);
            return false;
        }
    }
    if ((*flags & X_NX) && (*flags & (X_XX | X_GT | X_LT))) {
        kv_reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if ((*flags & X_GT) && (*flags & X_LT)) {
        kv_reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

static void reply_bad_expire(struct kv_client *c)
{
    char name[32];
    size_t n = c->argv[0].n < sizeof(name) - 1 ? c->argv[0].n : sizeof(name) - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)tolower((unsigned char)c->argv[0].p[i]);
    name[n] = '\0';
    kv_reply_errorf(c, "ERR invalid expire time in '%s' command", name);
}

/* Does the NX/XX/GT/LT condition allow replacing expiry cur (-1: none) by when? */
static bool expire_allowed(unsigned flags, int64_t cur, int64_t when)
{
    if ((flags & X_NX) && cur != -1)
        return false;
    if ((flags & X_XX) && cur == -1)
        return false;
    if ((flags & X_GT) && (cur == -1 || when <= cur)) /* no expiry counts as infinite */
        return false;
    if ((flags & X_LT) && cur != -1 && when >= cur)
        return false;
    return true;
}

static void propagate_pexpireat(struct kv_client *c, int64_t when)
{
    char num[24];
    struct kv_bytes argv[8] = { kv_b("PEXPIREAT", 9), c->argv[1],
                                kv_b(num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)when)) };
    int argc = 3;
    for (int j = 3; j < c->argc && argc < 8; j++)
        argv[argc++] = c->argv[j];
    kv_propagate(c, argc, argv);
}

/* Redis's expireGenericCommand: basetime is now for relative forms, 0 for absolute ones. */
static void expire_generic(struct kv_client *c, int64_t basetime, bool seconds)
{
    unsigned flags;
    int64_t when;
    if (!parse_expire_flags(c, &flags))
        return;
    if (!kv_parse_i64(c->argv[2], &when)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (seconds && (when > INT64_MAX / 1000 || when < INT64_MIN / 1000)) {
        reply_bad_expire(c);
        return;
    }
    when *= seconds ? 1000 : 1;
    if (when > INT64_MAX - basetime) {
        reply_bad_expire(c);
        return;
    }
    when += basetime;
    struct kv_entry *e = kv_lookup_write(c->db, c->argv[1]);
    if (!e || !expire_allowed(flags, e->expire_ms, when)) {
        kv_reply_int(c, 0);
        return;
    }
    if (when <= kv_now_ms() && !kv_persist_loading()) {
        kv_db_delete_entry(c->db, e);
        propagate_del(c, c->argv[1]);
    } else {
        kv_db_set_expire(c->db, e, when);
        propagate_pexpireat(c, when);
    }
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, 1);
}

void kv_cmd_expire(struct kv_client *c)
{
    expire_generic(c, kv_now_ms(), true);
}

void kv_cmd_pexpire(struct kv_client *c)
{
    expire_generic(c, kv_now_ms(), false);
}

void kv_cmd_expireat(struct kv_client *c)
{
    expire_generic(c, 0, true);
}

void kv_cmd_pexpireat(struct kv_client *c)
{
    expire_generic(c, 0, false);
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 no key, -1 no expiry; seconds are rounded. */
static void ttl_generic(struct kv_client *c, bool ms, bool absolute)
{
    struct kv_entry *e = lookup_read_notouch(c, c->argv[1]);
    if (!e) {
        kv_reply_int(c, -2);
        return;
    }
    if (e->expire_ms < 0) {
        kv_reply_int(c, -1);
        return;
    }
    int64_t t = absolute ? e->expire_ms : e->expire_ms - kv_now_ms();
    if (t < 0)
        t = 0;
    kv_reply_int(c, ms ? t : (t + 500) / 1000);
}

void kv_cmd_ttl(struct kv_client *c)
{
    ttl_generic(c, false, false);
}

void kv_cmd_pttl(struct kv_client *c)
{
    ttl_generic(c, true, false);
}

void kv_cmd_expiretime(struct kv_client *c)
{
    ttl_generic(c, false, true);
}

void kv_cmd_pexpiretime(struct kv_client *c)
{
    ttl_generic(c, true, true);
}

void kv_cmd_persist(struct kv_client *c)
{
    struct kv_entry *e = kv_lookup_write(c->db, c->argv[1]);
    if (!e || e->expire_ms < 0) {
        kv_reply_int(c, 0);
        return;
    }
    kv_db_set_expire(c->db, e, -1);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, 1);
}

/* ---- renaming, moving, copying ---------------------------------------------------------- */

static void rename_generic(struct kv_client *c, bool nx)
{
    struct kv_bytes from = c->argv[1], to = c->argv[2];
    struct kv_entry *e = kv_lookup_write(c->db, from);
    if (!e) {
        kv_reply_error(c, KV_ERR_NOKEY);
        return;
    }
    if (from.n == to.n && memcmp(from.p, to.p, from.n) == 0) {
        if (nx)
            kv_reply_int(c, 0);
        else
            kv_reply_ok(c);
        return;
    }
    if (nx && kv_lookup_write(c->db, to)) {
        kv_reply_int(c, 0);
        return;
    }
    kv_db_rename(c->db, e, c->db, to);
    kv_signal_modified(c, c->db, from);
    kv_signal_modified(c, c->db, to);
    if (nx)
        kv_reply_int(c, 1);
    else
        kv_reply_ok(c);
}

void kv_cmd_rename(struct kv_client *c)
{
    rename_generic(c, false);
}

void kv_cmd_renamenx(struct kv_client *c)
{
    rename_generic(c, true);
}

/* A db number argument (Redis's getIntFromObjectOrReply, then the range check). */
static struct kv_db *parse_db(struct kv_client *c, struct kv_bytes arg, bool *replied)
{
    int64_t id;
    *replied = true;
    if (!kv_parse_i64(arg, &id)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return NULL;
    }
    if (id < INT32_MIN || id > INT32_MAX) {
        kv_reply_error(c, "ERR value is out of range, value must between -2147483648 and 2147483647");
        return NULL;
    }
    struct kv_db *db = kv_db_at((int)id);
    if (!db)
        kv_reply_error(c, ERR_DB_RANGE);
    *replied = db == NULL;
    return db;
}

void kv_cmd_move(struct kv_client *c)
{
    bool replied;
    struct kv_db *dst = parse_db(c, c->argv[2], &replied);
    if (!dst)
        return;
    if (dst == c->db) {
        kv_reply_error(c, ERR_SAME);
        return;
    }
    struct kv_entry *e = kv_lookup_write(c->db, c->argv[1]);
    if (!e || kv_lookup_write(dst, c->argv[1])) {
        kv_reply_int(c, 0);
        return;
    }
    kv_db_rename(c->db, e, dst, c->argv[1]);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_signal_modified(c, dst, c->argv[1]);
    kv_reply_int(c, 1);
}

/* Parse COPY's options; *dst stays c->db without DB. */
static bool copy_options(struct kv_client *c, struct kv_db **dst, bool *replace)
{
    bool replied;
    for (int j = 3; j < c->argc; j++) {
        if (kv_eq(c->argv[j], "REPLACE")) {
            *replace = true;
        } else if (kv_eq(c->argv[j], "DB") && j + 1 < c->argc) {
            *dst = parse_db(c, c->argv[++j], &replied);
            if (!*dst)
                return false;
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

void kv_cmd_copy(struct kv_client *c)
{
    struct kv_db *dst = c->db;
    bool replace = false;
    struct kv_bytes from = c->argv[1], to = c->argv[2];
    if (!copy_options(c, &dst, &replace))
        return;
    if (dst == c->db && from.n == to.n && memcmp(from.p, to.p, from.n) == 0) {
        kv_reply_error(c, ERR_SAME);
        return;
    }
    struct kv_entry *e = kv_lookup_read(c->db, from);
    if (!e) {
        kv_reply_int(c, 0);
        return;
    }
    struct kv_entry *old = kv_lookup_write(dst, to);
    if (old && !replace) {
        kv_reply_int(c, 0);
        return;
    }
    if (old)
        kv_db_delete_entry(dst, old);
    int64_t when = e->expire_ms;
    struct kv_entry *n;
    if (e->type == KV_STRING) {
        char tmp[24];
        n = kv_str_set(dst, to, kv_str_get(e, tmp), false);
    } else {
        n = kv_db_add(dst, to, e->type, e->enc, kv_ops_of(e->type)->dup(e->v.ptr));
    }
    kv_db_set_expire(dst, n, when);
    kv_signal_modified(c, dst, to);
    kv_reply_int(c, 1);
}

/* ---- iteration -------------------------------------------------------------------------- */

struct keys_ctx {
    struct kv_client *c;
    struct kv_bytes pattern;
    bool all;
    size_t n;
};

static void keys_visit(void *arg, struct kv_entry *e)
{
    struct keys_ctx *k = arg;
    if ((k->all || kv_glob(k->pattern, kv_entry_key(e), false)) && !kv_entry_expired(e)) {
        kv_reply_bulk(k->c, kv_entry_key(e));
        k->n++;
    }
}

void kv_cmd_keys(struct kv_client *c)
{
    struct kv_bytes pat = c->argv[1];
    struct keys_ctx k = { c, pat, pat.n == 1 && pat.p[0] == '*', 0 };
    void *h = kv_reply_deferred(c);
    uint64_t cursor = 0;
    /* A full cursor walk with no changes in between sees every key exactly once. */
    do
        cursor = kv_db_scan(c->db, cursor, keys_visit, &k);
    while (cursor);
    kv_reply_set_deferred(c, h, k.n, '*');
}

/* Keys collected by SCAN as (length, bytes) records, filtered after the walk. */
struct scan_ctx {
    struct st_buf keys;
    size_t n;
};

static void scan_visit(void *arg, struct kv_entry *e)
{
    struct scan_ctx *s = arg;
    uint32_t len = e->klen;
    st_buf_append(&s->keys, &len, sizeof(len));
    st_buf_append(&s->keys, e->key, len);
    s->n++;
}

/* Redis's parseScanCursorOrReply: strtoull on the whole argument. */
static bool parse_cursor(struct kv_client *c, struct kv_bytes b, uint64_t *out)
{
    char buf[32], *end;
    if (b.n == 0 || b.n >= sizeof(buf) || isspace((unsigned char)b.p[0]))
        goto bad;
    memcpy(buf, b.p, b.n);
    buf[b.n] = '\0';
    errno = 0;
    *out = strtoull(buf, &end, 10);
    if (*end == '\0' && end != buf && errno != ERANGE)
        return true;
bad:
    kv_reply_error(c, "ERR invalid cursor");
    return false;
}

struct scan_opts {
    int64_t count;
    struct kv_bytes pattern, type;
    bool use_pattern, use_type;
};

static bool scan_options(struct kv_client *c, struct scan_opts *o)
{
    *o = (struct scan_opts){ .count = 10 };
    for (int i = 2; i < c->argc; i += 2) {
        bool two = c->argc - i >= 2;
        if (kv_eq(c->argv[i], "COUNT") && two) {
            if (!kv_parse_i64(c->argv[i + 1], &o->count)) {
                kv_reply_error(c, KV_ERR_NOTINT);
                return false;
            }
            if (o->count < 1) {
                kv_reply_error(c, KV_ERR_SYNTAX);
                return false;
            }
        } else if (kv_eq(c->argv[i], "MATCH") && two) {
            o->pattern = c->argv[i + 1];
            o->use_pattern = !(o->pattern.n == 1 && o->pattern.p[0] == '*');
        } else if (kv_eq(c->argv[i], "TYPE") && two) {
            o->type = c->argv[i + 1];
            o->use_type = true;
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

/* Reply the collected keys that pass MATCH, expiry (deleting expired ones) and TYPE. */
static void scan_reply(struct kv_client *c, const struct scan_opts *o, struct scan_ctx *s, uint64_t cursor)
{
    kv_reply_scan_head(c, cursor);
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    for (size_t off = 0; off < s->keys.len;) {
        uint32_t len;
        memcpy(&len, s->keys.data + off, sizeof(len));
        struct kv_bytes key = kv_b(s->keys.data + off + sizeof(len), len);
        off += sizeof(len) + len;
        if (o->use_pattern && !kv_glob(o->pattern, key, false))
            continue;
        struct kv_entry *e = kv_lookup_notouch(c->db, key);
        if (!e || (o->use_type && !kv_eq(o->type, kv_type_name(e->type))))
            continue;
        kv_reply_bulk(c, key);
        n++;
    }
    kv_reply_set_deferred(c, h, n, '*');
}

void kv_cmd_scan(struct kv_client *c)
{
    uint64_t cursor;
    struct scan_opts o;
    if (!parse_cursor(c, c->argv[1], &cursor) || !scan_options(c, &o))
        return;
    struct scan_ctx s = { .n = 0 };
    st_buf_init(&s.keys, ST_BUF_UNLIMITED);
    /* Like Redis: stop after COUNT keys or 10*COUNT buckets, so sparse tables answer fast. */
    int64_t budget = o.count > INT64_MAX / 10 ? INT64_MAX : o.count * 10;
    do
        cursor = kv_db_scan(c->db, cursor, scan_visit, &s);
    while (cursor && budget-- && s.n < (uint64_t)o.count);
    scan_reply(c, &o, &s, cursor);
    st_buf_release(&s.keys);
}

void kv_cmd_randomkey(struct kv_client *c)
{
    struct kv_entry *e = kv_db_random(c->db);
    if (e)
        kv_reply_bulk(c, kv_entry_key(e));
    else
        kv_reply_null(c);
}

void kv_cmd_dbsize(struct kv_client *c)
{
    kv_reply_int(c, (int64_t)kv_db_size(c->db));
}

/* FLUSHDB/FLUSHALL [ASYNC|SYNC]; false after replying a syntax error. */
static bool flush_async(struct kv_client *c, bool *async)
{
    *async = false;
    if (c->argc == 1)
        return true;
    if (c->argc == 2 && (kv_eq(c->argv[1], "ASYNC") || kv_eq(c->argv[1], "SYNC"))) {
        *async = kv_eq(c->argv[1], "ASYNC");
        return true;
    }
    kv_reply_error(c, KV_ERR_SYNTAX);
    return false;
}

void kv_cmd_flushdb(struct kv_client *c)
{
    bool async;
    if (!flush_async(c, &async))
        return;
    kv_db_flush(c->db, async);
    kv_dirty_add(1); /* propagated even when the db was already empty, like Redis */
    kv_reply_ok(c);
}

void kv_cmd_flushall(struct kv_client *c)
{
    bool async;
    if (!flush_async(c, &async))
        return;
    for (int i = 0; i < kv_db_count(); i++)
        kv_db_flush(kv_db_at(i), async);
    kv_dirty_add(1);
    kv_reply_ok(c);
}

/* ---- OBJECT ---------------------------------------------------------------------------- */

static bool lfu_policy(void)
{
    return kv_cfg.maxmemory_policy == KV_ALLKEYS_LFU || kv_cfg.maxmemory_policy == KV_VOLATILE_LFU;
}

/* OBJECT's key lookup: no LRU update, nil reply when absent. */
static struct kv_entry *object_lookup(struct kv_client *c)
{
    struct kv_entry *e = kv_lookup_notouch(c->db, c->argv[2]);
    if (!e)
        kv_reply_null(c);
    return e;
}

static void object_encoding(struct kv_client *c)
{
    struct kv_entry *e = object_lookup(c);
    if (e)
        kv_reply_bulk_c(c, kv_enc_name(e->enc));
}

static void object_freq(struct kv_client *c)
{
    struct kv_entry *e = object_lookup(c);
    if (!e)
        return;
    if (!lfu_policy())
        kv_reply_error(c, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
                          "that when switching between policies at runtime LRU and LFU data will take some time to "
                          "adjust.");
    else
        kv_reply_int(c, kv_evict_freq(e));
}

static void object_idletime(struct kv_client *c)
{
    struct kv_entry *e = object_lookup(c);
    if (!e)
        return;
    if (lfu_policy())
        kv_reply_error(c, "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
                          "switching between policies at runtime LRU and LFU data will take some time to adjust.");
    else
        kv_reply_int(c, (int64_t)kv_evict_idle_seconds(e));
}

static void object_refcount(struct kv_client *c)
{
    struct kv_entry *e = object_lookup(c);
    if (!e)
        return;
    /* Redis shares the objects of 0..9999 (unless an LRU/LFU policy needs per-key
     * clocks) and reports them with INT_MAX references; clients see that number. */
    bool shared = e->type == KV_STRING && e->enc == KV_ENC_INT && e->v.i >= 0 && e->v.i < 10000 &&
                  (kv_cfg.maxmemory == 0 || kv_cfg.maxmemory_policy == KV_NOEVICTION ||
                   kv_cfg.maxmemory_policy == KV_ALLKEYS_RANDOM || kv_cfg.maxmemory_policy == KV_VOLATILE_RANDOM ||
                   kv_cfg.maxmemory_policy == KV_VOLATILE_TTL);
    kv_reply_int(c, shared ? 2147483647 : 1);
}

static void object_help(struct kv_client *c)
{
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    kv_reply_array(c, sizeof(lines) / sizeof(lines[0]));
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        kv_reply_status(c, lines[i]);
}

const struct kv_cmd kv_object_subcommands[] = {
    { "encoding", object_encoding, 3, KV_CMD_READONLY, 2, 2, 1, "generic", "2.2.3",
      "Returns the internal encoding of a Redis object.", "key", NULL },
    { "freq", object_freq, 3, KV_CMD_READONLY, 2, 2, 1, "generic", "4.0.0",
      "Returns the logarithmic access frequency counter of a Redis object.", "key", NULL },
    { "idletime", object_idletime, 3, KV_CMD_READONLY, 2, 2, 1, "generic", "2.2.3",
      "Returns the time since the last access to a Redis object.", "key", NULL },
    { "refcount", object_refcount, 3, KV_CMD_READONLY, 2, 2, 1, "generic", "2.2.3",
      "Returns the reference count of a value of a key.", "key", NULL },
    { "help", object_help, 2, KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "generic", "6.2.0",
      "Returns helpful text about the different subcommands.", "", NULL },
    { 0 },
};
