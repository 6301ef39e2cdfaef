/*
 * t_string.c - the string commands: GET, SET and its options, the counters, ranges.
 *
 * Semantics, error texts and option rules follow Redis 7.0's t_string.c. Commands whose
 * effect depends on the clock propagate a deterministic form instead of their argv:
 * relative expiries become "SET key value PXAT <ms>" or "PEXPIREAT", INCRBYFLOAT becomes
 * "SET key <result> KEEPTTL", so replaying the AOF later gives the same data.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/db.h"

#define KV_CMD(name, proc, ...) void proc(struct kv_client *c);
#include "kv/t_string.def"
#undef KV_CMD

#define ERR_MAXLEN "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
#define LD_MAX_CHARS (5 * 1024) /* Redis's MAX_LONG_DOUBLE_CHARS */

/* Options of SET and GETEX (Redis's OBJ_* flags of parseExtendedStringArgumentsOrReply). */
enum {
    O_NX = 1 << 0,
    O_XX = 1 << 1,
    O_GET = 1 << 2,
    O_KEEPTTL = 1 << 3,
    O_PERSIST = 1 << 4,
    O_EX = 1 << 5,
    O_PX = 1 << 6,
    O_EXAT = 1 << 7,
    O_PXAT = 1 << 8,
};
#define O_ANY_EXPIRE (O_EX | O_PX | O_EXAT | O_PXAT)

static void reply_value(struct kv_client *c, const struct kv_entry *e)
{
    char tmp[24];
    kv_reply_bulk(c, kv_str_get(e, tmp));
}

/* "ERR invalid expire time in 'set' command", with the command's name as sent. */
static void reply_bad_expire(struct kv_client *c)
{
    char name[64];
    size_t n = c->argv[0].n < sizeof(name) - 1 ? c->argv[0].n : sizeof(name) - 1;
    for (size_t i = 0; i < n; i++)
        name[i] = (char)((c->argv[0].p[i] >= 'A' && c->argv[0].p[i] <= 'Z') ? c->argv[0].p[i] + 32 : c->argv[0].p[i]);
    name[n] = '\0';
    kv_reply_errorf(c, "ERR invalid expire time in '%s' command", name);
}

/* One option word at argv[*j]; an expire option consumes its argument too. */
static bool parse_option(struct kv_client *c, int *j, bool is_set, unsigned *flags, struct kv_bytes *expire)
{
    struct kv_bytes o = c->argv[*j];
    bool has_next = *j + 1 < c->argc;
    static const struct {
        const char *name;
        unsigned flag, excludes;
    } exp[] = {
        { "EX", O_EX, O_KEEPTTL | O_PERSIST | O_EXAT | O_PX | O_PXAT },
        { "PX", O_PX, O_KEEPTTL | O_PERSIST | O_EX | O_EXAT | O_PXAT },
        { "EXAT", O_EXAT, O_KEEPTTL | O_PERSIST | O_EX | O_PX | O_PXAT },
        { "PXAT", O_PXAT, O_KEEPTTL | O_PERSIST | O_EX | O_EXAT | O_PX },
    };
    if (is_set && kv_eq(o, "NX") && !(*flags & O_XX))
        *flags |= O_NX;
    else if (is_set && kv_eq(o, "XX") && !(*flags & O_NX))
        *flags |= O_XX;
    else if (is_set && kv_eq(o, "GET"))
        *flags |= O_GET;
    else if (is_set && kv_eq(o, "KEEPTTL") && !(*flags & (O_PERSIST | O_ANY_EXPIRE)))
        *flags |= O_KEEPTTL;
    else if (!is_set && kv_eq(o, "PERSIST") && !(*flags & (O_KEEPTTL | O_ANY_EXPIRE)))
        *flags |= O_PERSIST;
    else {
        for (size_t i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
            if (kv_eq(o, exp[i].name) && !(*flags & exp[i].excludes) && has_next) {
                *flags |= exp[i].flag;
                *expire = c->argv[++*j];
                return true;
            }
        }
        return false;
    }
    return true;
}

/* Parse the options from argv[first]; replies the syntax error itself. */
static bool parse_options(struct kv_client *c, int first, bool is_set, unsigned *flags, struct kv_bytes *expire)
{
    *flags = 0;
    for (int j = first; j < c->argc; j++) {
        if (!parse_option(c, &j, is_set, flags, expire)) {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

/* The absolute unix ms of an expire argument in the unit of flags; replies errors. */
static bool expire_at_ms(struct kv_client *c, struct kv_bytes arg, unsigned flags, int64_t *when)
{
    int64_t v;
    if (!kv_parse_i64(arg, &v)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return false;
    }
    bool seconds = flags & (O_EX | O_EXAT);
    if (v <= 0 || (seconds && v > INT64_MAX / 1000)) {
        reply_bad_expire(c);
        return false;
    }
    if (seconds)
        v *= 1000;
    if (flags & (O_EX | O_PX)) {
        int64_t now = kv_now_ms();
        if (v > INT64_MAX - now) {
            reply_bad_expire(c);
            return false;
        }
        v += now;
    }
    *when = v;
    return true;
}

/* Propagate "SET key value PXAT when" (relative expiries must replay exactly). */
static void propagate_set_pxat(struct kv_client *c, struct kv_bytes key, struct kv_bytes val, int64_t when)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", (long long)when);
    struct kv_bytes argv[5] = { kv_b("SET", 3), key, val, kv_b("PXAT", 4), kv_b(num, (size_t)n) };
    kv_propagate(c, 5, argv);
}

/*
 * The body of SET, SETEX, PSETEX: flags and the expiry are parsed. With GET the old value
 * is the reply (and a wrong type aborts), otherwise OK or, when NX/XX refused, nil.
 */
static void set_generic(struct kv_client *c, struct kv_bytes key, struct kv_bytes val, unsigned flags, bool has_exp,
                        int64_t when)
{
    struct kv_entry *e = kv_lookup_write(c->db, key);
    if (flags & O_GET) {
        if (e && e->type != KV_STRING) {
            kv_reply_error(c, KV_ERR_WRONGTYPE);
            return;
        }
        if (e)
            reply_value(c, e);
        else
            kv_reply_null(c);
    }
    if (((flags & O_NX) && e) || ((flags & O_XX) && !e)) {
        if (!(flags & O_GET))
            kv_reply_null(c);
        return;
    }
    e = kv_str_set(c->db, key, val, flags & O_KEEPTTL);
    if (has_exp)
        kv_db_set_expire(c->db, e, when);
    kv_signal_modified(c, c->db, key);
    if (!(flags & O_GET))
        kv_reply_ok(c);
    if (has_exp && !(flags & O_PXAT))
        propagate_set_pxat(c, key, val, when);
}

void kv_cmd_set(struct kv_client *c)
{
    unsigned flags;
    struct kv_bytes expire = { 0 };
    int64_t when = 0;
    if (!parse_options(c, 3, true, &flags, &expire))
        return;
    bool has_exp = flags & O_ANY_EXPIRE;
    if (has_exp && !expire_at_ms(c, expire, flags, &when))
        return;
    set_generic(c, c->argv[1], c->argv[2], flags, has_exp, when);
}

void kv_cmd_setnx(struct kv_client *c)
{
    if (kv_lookup_write(c->db, c->argv[1])) {
        kv_reply_int(c, 0);
        return;
    }
    kv_str_set(c->db, c->argv[1], c->argv[2], false);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, 1);
}

void kv_cmd_setex(struct kv_client *c)
{
    int64_t when;
    if (expire_at_ms(c, c->argv[2], O_EX, &when))
        set_generic(c, c->argv[1], c->argv[3], 0, true, when);
}

void kv_cmd_psetex(struct kv_client *c)
{
    int64_t when;
    if (expire_at_ms(c, c->argv[2], O_PX, &when))
        set_generic(c, c->argv[1], c->argv[3], 0, true, when);
}

/* GET's body: the value, nil, or WRONGTYPE; returns the entry when it replied a value. */
static struct kv_entry *get_generic(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, false, &wrong);
    if (e)
        reply_value(c, e);
    else if (!wrong)
        kv_reply_null(c);
    return e;
}

void kv_cmd_get(struct kv_client *c)
{
    get_generic(c);
}

void kv_cmd_getset(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, true, &wrong);
    if (wrong)
        return;
    if (e)
        reply_value(c, e);
    else
        kv_reply_null(c);
    kv_str_set(c->db, c->argv[1], c->argv[2], false);
    kv_signal_modified(c, c->db, c->argv[1]);
    struct kv_bytes argv[3] = { kv_b("SET", 3), c->argv[1], c->argv[2] };
    kv_propagate(c, 3, argv);
}

void kv_cmd_getdel(struct kv_client *c)
{
    struct kv_entry *e = get_generic(c);
    if (!e)
        return;
    kv_db_delete_entry(c->db, e);
    kv_signal_modified(c, c->db, c->argv[1]);
    struct kv_bytes argv[2] = { kv_b("DEL", 3), c->argv[1] };
    kv_propagate(c, 2, argv);
}

void kv_cmd_getex(struct kv_client *c)
{
    unsigned flags;
    struct kv_bytes expire = { 0 };
    int64_t when = 0;
    if (!parse_options(c, 2, false, &flags, &expire))
        return;
    if ((flags & O_ANY_EXPIRE) && !expire_at_ms(c, expire, flags, &when))
        return;
    struct kv_entry *e = get_generic(c);
    if (!e)
        return;
    struct kv_bytes key = c->argv[1];
    char num[24];
    if ((flags & (O_EXAT | O_PXAT)) && when <= kv_now_ms()) {
        /* An absolute time already past deletes the key, as Redis does. */
        kv_db_delete_entry(c->db, e);
        struct kv_bytes argv[2] = { kv_b("DEL", 3), key };
        kv_propagate(c, 2, argv);
    } else if (flags & O_ANY_EXPIRE) {
        kv_db_set_expire(c->db, e, when);
        struct kv_bytes argv[3] = { kv_b("PEXPIREAT", 9), key,
                                    kv_b(num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)when)) };
        kv_propagate(c, 3, argv);
    } else if ((flags & O_PERSIST) && e->expire_ms >= 0) {
        kv_db_set_expire(c->db, e, -1);
        struct kv_bytes argv[2] = { kv_b("PERSIST", 7), key };
        kv_propagate(c, 2, argv);
    } else {
        return;
    }
    kv_signal_modified(c, c->db, key);
}

void kv_cmd_mget(struct kv_client *c)
{
    kv_reply_array(c, (size_t)c->argc - 1);
    for (int j = 1; j < c->argc; j++) {
        struct kv_entry *e = kv_lookup_read(c->db, c->argv[j]);
        if (e && e->type == KV_STRING)
            reply_value(c, e);
        else
            kv_reply_null(c);
    }
}

static bool check_pairs(struct kv_client *c)
{
    if (c->argc % 2 == 0) {
        kv_reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                        kv_eq(c->argv[0], "mset") ? "mset" : "msetnx");
        return false;
    }
    return true;
}

static void mset_all(struct kv_client *c)
{
    for (int j = 1; j < c->argc; j += 2) {
        kv_str_set(c->db, c->argv[j], c->argv[j + 1], false);
        kv_signal_modified(c, c->db, c->argv[j]);
    }
}

void kv_cmd_mset(struct kv_client *c)
{
    if (!check_pairs(c))
        return;
    mset_all(c);
    kv_reply_ok(c);
}

void kv_cmd_msetnx(struct kv_client *c)
{
    if (!check_pairs(c))
        return;
    for (int j = 1; j < c->argc; j += 2) {
        if (kv_lookup_write(c->db, c->argv[j])) {
            kv_reply_int(c, 0);
            return;
        }
    }
    mset_all(c);
    kv_reply_int(c, 1);
}

/* ---- counters ------------------------------------------------------------------------- */

/* The integer value of a string entry (Redis: strict, at most 20 characters). */
static bool entry_i64(const struct kv_entry *e, int64_t *v)
{
    if (e->enc == KV_ENC_INT) {
        *v = e->v.i;
        return true;
    }
    char tmp[24];
    return kv_parse_i64(kv_str_get(e, tmp), v);
}

static void incr_by(struct kv_client *c, int64_t by)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, true, &wrong);
    int64_t v = 0;
    if (wrong)
        return;
    if (e && !entry_i64(e, &v)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if ((by < 0 && v < INT64_MIN - by) || (by > 0 && v > INT64_MAX - by)) {
        kv_reply_error(c, KV_ERR_OVERFLOW);
        return;
    }
    v += by;
    if (e && e->enc == KV_ENC_INT)
        e->v.i = v; /* in place: no allocation on the INCR fast path */
    else
        kv_str_set_int(c->db, c->argv[1], v, true);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, v);
}

static bool parse_by(struct kv_client *c, int64_t *by)
{
    if (kv_parse_i64(c->argv[2], by))
        return true;
    kv_reply_error(c, KV_ERR_NOTINT);
    return false;
}

void kv_cmd_incr(struct kv_client *c)
{
    incr_by(c, 1);
}

void kv_cmd_decr(struct kv_client *c)
{
    incr_by(c, -1);
}

void kv_cmd_incrby(struct kv_client *c)
{
    int64_t by;
    if (parse_by(c, &by))
        incr_by(c, by);
}

void kv_cmd_decrby(struct kv_client *c)
{
    int64_t by;
    if (!parse_by(c, &by))
        return;
    if (by == INT64_MIN) {
        kv_reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_by(c, -by);
}

/* Redis's string2ld: strtold on the whole string, no spaces, no nan, no overflow. */
static bool parse_ld(struct kv_bytes b, long double *out)
{
    char buf[LD_MAX_CHARS];
    if (b.n == 0 || b.n >= sizeof(buf) || memchr(b.p, '\0', b.n))
        return false;
    memcpy(buf, b.p, b.n);
    buf[b.n] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end || isnan(v) ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)))
        return false;
    *out = v;
    return true;
}

/* Redis's ld2string in human mode: %.17Lf without trailing zeros; 0 when it does not fit. */
static size_t fmt_ld(long double v, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > cap)
        return 0;
    size_t l = (size_t)n;
    if (memchr(buf, '.', l)) {
        while (buf[l - 1] == '0')
            l--;
        if (buf[l - 1] == '.')
            l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    return l;
}

void kv_cmd_incrbyfloat(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, true, &wrong);
    long double v = 0, by;
    char tmp[24];
    if (wrong)
        return;
    if ((e && !parse_ld(kv_str_get(e, tmp), &v)) || !parse_ld(c->argv[2], &by)) {
        kv_reply_error(c, KV_ERR_NOTFLOAT);
        return;
    }
    v += by;
    if (isnan(v) || isinf(v)) {
        kv_reply_error(c, "ERR increment would produce NaN or Infinity");
        return;
    }
    static char buf[LD_MAX_CHARS];
    struct kv_bytes val = kv_b(buf, fmt_ld(v, buf, sizeof(buf)));
    kv_str_set(c->db, c->argv[1], val, true);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_bulk(c, val);
    struct kv_bytes argv[4] = { kv_b("SET", 3), c->argv[1], val, kv_b("KEEPTTL", 7) };
    kv_propagate(c, 4, argv);
}

/* ---- lengths and ranges ----------------------------------------------------------------- */

static bool check_len(struct kv_client *c, int64_t size, int64_t add)
{
    if (add > INT64_MAX - size || size + add > kv_cfg.proto_max_bulk_len) {
        kv_reply_error(c, ERR_MAXLEN);
        return false;
    }
    return true;
}

void kv_cmd_append(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, true, &wrong);
    struct kv_bytes add = c->argv[2];
    size_t len;
    if (wrong)
        return;
    if (!e) {
        kv_str_set(c->db, c->argv[1], add, false);
        len = add.n;
    } else {
        char tmp[24];
        size_t old = kv_str_get(e, tmp).n;
        if (!check_len(c, (int64_t)old, (int64_t)add.n))
            return;
        len = old + add.n;
        memcpy(kv_str_resize(c->db, e, len) + old, add.p, add.n);
    }
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, (int64_t)len);
}

void kv_cmd_strlen(struct kv_client *c)
{
    bool wrong;
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, false, &wrong);
    char tmp[24];
    if (!wrong)
        kv_reply_int(c, e ? (int64_t)kv_str_get(e, tmp).n : 0);
}

void kv_cmd_getrange(struct kv_client *c)
{
    int64_t start, end;
    bool wrong;
    if (!kv_parse_i64(c->argv[2], &start) || !kv_parse_i64(c->argv[3], &end)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, false, &wrong);
    if (wrong)
        return;
    char tmp[24];
    struct kv_bytes s = e ? kv_str_get(e, tmp) : kv_b("", 0);
    int64_t len = (int64_t)s.n;
    if (start < 0 && end < 0 && start > end) {
        kv_reply_bulk(c, kv_b("", 0));
        return;
    }
    if (start < 0)
        start = len + start < 0 ? 0 : len + start;
    if (end < 0)
        end = len + end < 0 ? 0 : len + end;
    if (end >= len)
        end = len - 1;
    if (start > end || len == 0)
        kv_reply_bulk(c, kv_b("", 0));
    else
        kv_reply_bulk(c, kv_b(s.p + start, (size_t)(end - start + 1)));
}

void kv_cmd_setrange(struct kv_client *c)
{
    int64_t off;
    bool wrong;
    struct kv_bytes val = c->argv[3];
    if (!kv_parse_i64(c->argv[2], &off)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (off < 0) {
        kv_reply_error(c, "ERR offset is out of range");
        return;
    }
    struct kv_entry *e = kv_lookup_type(c, c->argv[1], KV_STRING, true, &wrong);
    char tmp[24];
    if (wrong)
        return;
    size_t old = e ? kv_str_get(e, tmp).n : 0;
    if (val.n == 0) { /* nothing to write: the length, and no key is created */
        kv_reply_int(c, (int64_t)old);
        return;
    }
    if (!check_len(c, off, (int64_t)val.n))
        return;
    if (!e)
        e = kv_str_set(c->db, c->argv[1], kv_b("", 0), false);
    size_t need = (size_t)off + val.n, len = need > old ? need : old;
    memcpy(kv_str_resize(c->db, e, len) + off, val.p, val.n);
    kv_signal_modified(c, c->db, c->argv[1]);
    kv_reply_int(c, (int64_t)len);
}
