/*
 * config.c - the configuration of `strata kv`, read the way redis-server reads its own:
 * `strata kv [/path/to/file.conf] [--name value ...]`, where the file holds `name value`
 * lines and every `--name v1 v2` on the command line is one more such line appended after
 * the file's. CONFIG GET (glob patterns), CONFIG SET (several pairs, all validated before
 * any is applied) and CONFIG RESETSTAT use the same table of parameters.
 *
 * Options Redis has and we do not act on (protected-mode, loglevel, tcp-keepalive ...)
 * are accepted and remembered, so configuration files written for redis-server load.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "kv/core.h"
#include "kv/resp.h"

struct kv_config kv_cfg = {
    .bind = "* -::*",
    .port = 6379,
    .dir = "",
    .dbfilename = "dump.rdb",
    .appendfilename = "appendonly.aof",
    .appendonly = false,
    .stop_writes_on_bgsave_error = true,
    .appendfsync = KV_FSYNC_EVERYSEC,
    .maxmemory = 0,
    .maxmemory_policy = KV_NOEVICTION,
    .maxmemory_samples = 5,
    .lfu_log_factor = 10,
    .lfu_decay_time = 1,
    .requirepass = "",
    .databases = 16,
    .maxclients = 10000,
    .timeout_s = 0,
    .hz = 10,
    .proto_max_bulk_len = 512LL * 1024 * 1024,
    .client_query_buffer_limit = 1024LL * 1024 * 1024,
    .obuf_pubsub_hard = 32LL * 1024 * 1024,
    .obuf_pubsub_soft = 8LL * 1024 * 1024,
    .obuf_pubsub_soft_s = 60,
    .nsave = 3,
    .save = { { 3600, 1 }, { 300, 100 }, { 60, 10000 } },
    .list_max_listpack_size = -2,
    .hash_max_listpack_entries = 128,
    .hash_max_listpack_value = 64,
    .set_max_intset_entries = 512,
    .set_max_listpack_entries = 128,
    .set_max_listpack_value = 64,
    .zset_max_listpack_entries = 128,
    .zset_max_listpack_value = 64,
};

enum ptype { P_INT, P_MEM, P_BOOL, P_STR, P_ENUM, P_SAVE, P_OBUF, P_OPAQUE };

struct param {
    const char *name;
    const char *alias;
    enum ptype type;
    void *field; /* int64_t/int/bool/char[]/enum (int) */
    size_t size; /* char[] capacity, or sizeof the integer field */
    int64_t min, max;
    bool immutable;
    const char *const *enums; /* P_ENUM: names in enum order, NULL-terminated */
    char opaque[64];          /* P_OPAQUE: the remembered value */
};

static const char *const policy_names[] = { "noeviction",      "allkeys-lru",  "allkeys-lfu",
                                            "allkeys-random",  "volatile-lru", "volatile-lfu",
                                            "volatile-random", "volatile-ttl", NULL };
static const char *const fsync_names[] = { "no", "everysec", "always", NULL };
/* Redis lists the choices of maxmemory-policy in this order in its error message. */
static const char *const policy_msg_order[] = { "volatile-lru",   "volatile-lfu", "volatile-random",
                                                "volatile-ttl",   "allkeys-lru",  "allkeys-lfu",
                                                "allkeys-random", "noeviction",   NULL };
static const char *const debug_names[] = { "no", "yes", "local", NULL };
static int debug_command = 0; /* enable-debug-command: no, like Redis 7 */

#define F(x) &kv_cfg.x, sizeof kv_cfg.x
static struct param params[] = {
    { "bind", NULL, P_STR, F(bind), 0, 0, true, NULL, "" },
    { "port", NULL, P_INT, F(port), 0, 65535, true, NULL, "" },
    { "dir", NULL, P_STR, F(dir), 0, 0, true, NULL, "" },
    { "dbfilename", NULL, P_STR, F(dbfilename), 0, 0, false, NULL, "" },
    { "appendfilename", NULL, P_STR, F(appendfilename), 0, 0, true, NULL, "" },
    { "appendonly", NULL, P_BOOL, F(appendonly), 0, 0, false, NULL, "" },
    { "appendfsync", NULL, P_ENUM, F(appendfsync), 0, 0, false, fsync_names, "" },
    { "maxmemory", NULL, P_MEM, F(maxmemory), 0, INT64_MAX, false, NULL, "" },
    { "maxmemory-policy", NULL, P_ENUM, F(maxmemory_policy), 0, 0, false, policy_names, "" },
    { "maxmemory-samples", NULL, P_INT, F(maxmemory_samples), 1, 64, false, NULL, "" },
    { "lfu-log-factor", NULL, P_INT, F(lfu_log_factor), 0, INT_MAX, false, NULL, "" },
    { "lfu-decay-time", NULL, P_INT, F(lfu_decay_time), 0, INT_MAX, false, NULL, "" },
    { "requirepass", NULL, P_STR, F(requirepass), 0, 0, false, NULL, "" },
    { "databases", NULL, P_INT, F(databases), 1, INT_MAX, true, NULL, "" },
    { "maxclients", NULL, P_INT, F(maxclients), 1, INT_MAX, false, NULL, "" },
    { "timeout", NULL, P_INT, F(timeout_s), 0, INT_MAX, false, NULL, "" },
    { "hz", NULL, P_INT, F(hz), 0, INT_MAX, false, NULL, "" },
    { "proto-max-bulk-len", NULL, P_MEM, F(proto_max_bulk_len), 1024L * 1024, INT64_MAX, false, NULL, "" },
    { "client-query-buffer-limit", NULL, P_MEM, F(client_query_buffer_limit), 1024L * 1024, INT64_MAX, false, NULL,
      "" },
    { "client-output-buffer-limit", NULL, P_OBUF, NULL, 0, 0, 0, false, NULL, "" },
    { "save", NULL, P_SAVE, NULL, 0, 0, 0, false, NULL, "" },
    { "list-max-listpack-size", "list-max-ziplist-size", P_INT, F(list_max_listpack_size), INT_MIN, INT_MAX, false,
      NULL, "" },
    { "hash-max-listpack-entries", "hash-max-ziplist-entries", P_INT, F(hash_max_listpack_entries), 0, INT64_MAX, false,
      NULL, "" },
    { "hash-max-listpack-value", "hash-max-ziplist-value", P_INT, F(hash_max_listpack_value), 0, INT64_MAX, false, NULL,
      "" },
    { "set-max-intset-entries", NULL, P_INT, F(set_max_intset_entries), 0, INT64_MAX, false, NULL, "" },
    { "set-max-listpack-entries", NULL, P_INT, F(set_max_listpack_entries), 0, INT64_MAX, false, NULL, "" },
    { "set-max-listpack-value", NULL, P_INT, F(set_max_listpack_value), 0, INT64_MAX, false, NULL, "" },
    { "zset-max-listpack-entries", "zset-max-ziplist-entries", P_INT, F(zset_max_listpack_entries), 0, INT64_MAX, false,
      NULL, "" },
    { "zset-max-listpack-value", "zset-max-ziplist-value", P_INT, F(zset_max_listpack_value), 0, INT64_MAX, false, NULL,
      "" },
    { "enable-debug-command", NULL, P_ENUM, &debug_command, sizeof debug_command, 0, 0, true, debug_names, "" },
    /* accepted for compatibility, remembered, not acted on */
    { "protected-mode", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "yes" },
    { "daemonize", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "no" },
    { "loglevel", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "notice" },
    { "logfile", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "" },
    { "pidfile", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "" },
    { "tcp-backlog", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "511" },
    { "tcp-keepalive", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "300" },
    { "supervised", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "no" },
    { "io-threads", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "1" },
    { "maxmemory-eviction-tenacity", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "10" },
    { "maxmemory-clients", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "0" },
    { "activerehashing", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "yes" },
    { "lazyfree-lazy-eviction", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "no" },
    { "lazyfree-lazy-expire", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "no" },
    { "lazyfree-lazy-server-del", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "no" },
    { "lazyfree-lazy-user-del", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "no" },
    { "lazyfree-lazy-user-flush", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "no" },
    { "auto-aof-rewrite-percentage", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "100" },
    { "auto-aof-rewrite-min-size", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "67108864" },
    { "aof-load-truncated", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "yes" },
    { "aof-use-rdb-preamble", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "no" },
    { "stop-writes-on-bgsave-error", NULL, P_BOOL, F(stop_writes_on_bgsave_error), 0, 0, false, NULL, "" },
    { "rdbcompression", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "yes" },
    { "rdbchecksum", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "yes" },
    { "slowlog-log-slower-than", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "10000" },
    { "slowlog-max-len", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "128" },
    { "latency-monitor-threshold", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "0" },
    { "notify-keyspace-events", NULL, P_OPAQUE, NULL, 0, 0, 0, false, NULL, "" },
    { "always-show-logo", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "no" },
    { "set-proc-title", NULL, P_OPAQUE, NULL, 0, 0, 0, true, NULL, "yes" },
};
#undef F

#define NPARAMS (sizeof params / sizeof params[0])

const char *kv_config_policy_name(enum kv_policy p)
{
    return (unsigned)p < 8 ? policy_names[p] : "noeviction";
}

const char *kv_config_fsync_name(enum kv_fsync f)
{
    return (unsigned)f < 3 ? fsync_names[f] : "everysec";
}

bool kv_config_debug_allowed(const struct kv_conn *k)
{
    if (debug_command == 1)
        return true;
    if (debug_command == 2)
        return strncmp(k->addr, "127.", 4) == 0 || strncmp(k->addr, "[::1]", 5) == 0;
    return false;
}

static struct param *find_param(const char *name, size_t n)
{
    for (size_t i = 0; i < NPARAMS; i++) {
        if (strlen(params[i].name) == n && strncasecmp(params[i].name, name, n) == 0)
            return &params[i];
        if (params[i].alias && strlen(params[i].alias) == n && strncasecmp(params[i].alias, name, n) == 0)
            return &params[i];
    }
    return NULL;
}

/* ---- value parsing ---------------------------------------------------------------------- */

/* "100mb", "1gb", "5k", "123": bytes; false on anything else (Redis's memtoull). */
static bool parse_memory(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)s[0]) && s[0] != '-')
        return false;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return false;
    static const struct {
        const char *unit;
        long long mul;
    } units[] = { { "", 1 },
                  { "b", 1 },
                  { "k", 1000 },
                  { "kb", 1024 },
                  { "m", 1000LL * 1000 },
                  { "mb", 1024LL * 1024 },
                  { "g", 1000LL * 1000 * 1000 },
                  { "gb", 1024LL * 1024 * 1024 } };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            if (v < 0 || (v > 0 && units[i].mul > INT64_MAX / v))
                return false;
            *out = v * units[i].mul;
            return true;
        }
    }
    return false;
}

static bool parse_int(const char *s, int64_t *out)
{
    return kv_resp_strtoll(s, strlen(s), out) || (strcmp(s, "-0") == 0 && (*out = 0, true));
}

static void store_int(struct param *p, int64_t v)
{
    if (p->size == sizeof(int))
        *(int *)p->field = (int)v;
    else
        *(int64_t *)p->field = v;
}

static int64_t load_int(const struct param *p)
{
    return p->size == sizeof(int) ? *(int *)p->field : *(int64_t *)p->field;
}

/* The "save" value: "" or pairs "seconds changes ...". */
static bool parse_save(const char *s, struct kv_config *cfg, const char **why)
{
    int64_t nums[16];
    int n = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", s);
    for (char *save_ctx = NULL, *tok = strtok_r(tmp, " ", &save_ctx); tok; tok = strtok_r(NULL, " ", &save_ctx)) {
        if (n == 16 || !parse_int(tok, &nums[n]) || nums[n] < 0) {
            *why = "Invalid save parameters";
            return false;
        }
        n++;
    }
    if (n % 2) {
        *why = "Invalid save parameters";
        return false;
    }
    cfg->nsave = n / 2;
    for (int i = 0; i < n / 2; i++) {
        cfg->save[i].seconds = nums[(size_t)2 * i];
        cfg->save[i].changes = nums[2 * i + 1];
    }
    return true;
}

/* "pubsub 32mb 8mb 60" (other classes accepted and ignored: we have no replicas, and
 * normal clients are unlimited as in Redis's default). */
static bool parse_obuf(const char *s, struct kv_config *cfg, const char **why)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", s);
    char *words[24];
    int n = 0;
    for (char *ctx = NULL, *tok = strtok_r(tmp, " ", &ctx); tok && n < 24; tok = strtok_r(NULL, " ", &ctx))
        words[n++] = tok;
    if (n == 0 || n % 4) {
        *why = "Wrong number of arguments in buffer limit configuration.";
        return false;
    }
    for (int i = 0; i < n; i += 4) {
        int64_t hard, soft, secs;
        bool known = !strcasecmp(words[i], "normal") || !strcasecmp(words[i], "replica") ||
                     !strcasecmp(words[i], "slave") || !strcasecmp(words[i], "pubsub");
        if (!known) {
            *why = "Invalid client class specified in buffer limit configuration.";
            return false;
        }
        if (!parse_memory(words[i + 1], &hard) || !parse_memory(words[i + 2], &soft) ||
            !parse_int(words[i + 3], &secs) || secs < 0) {
            *why = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            return false;
        }
        if (!strcasecmp(words[i], "pubsub")) {
            cfg->obuf_pubsub_hard = hard;
            cfg->obuf_pubsub_soft = soft;
            cfg->obuf_pubsub_soft_s = secs;
        }
    }
    return true;
}

/*
 * Set p from the text v into cfg (a copy of kv_cfg, so a CONFIG SET of several pairs can
 * be validated as a whole). field pointers point into kv_cfg: rebase them onto cfg.
 */
static void *field_in(const struct param *p, struct kv_config *cfg)
{
    char *f = p->field;
    if (f >= (char *)&kv_cfg && f < (char *)(&kv_cfg + 1))
        return (char *)cfg + (f - (char *)&kv_cfg);
    return p->field;
}

static bool set_param(struct param *p, const char *v, struct kv_config *cfg, const char **why)
{
    static char msg[256];
    struct param q = *p;
    q.field = field_in(p, cfg);
    int64_t n;
    switch (p->type) {
    case P_INT:
        if (!parse_int(v, &n)) {
            *why = "argument couldn't be parsed into an integer";
            return false;
        }
        if (n < p->min || n > p->max) {
            snprintf(msg, sizeof msg, "argument must be between %lld and %lld inclusive", (long long)p->min,
                     (long long)p->max);
            *why = msg;
            return false;
        }
        store_int(&q, n);
        return true;
    case P_MEM:
        if (!parse_memory(v, &n)) {
            *why = "argument must be a memory value";
            return false;
        }
        if (n < p->min) {
            snprintf(msg, sizeof msg, "argument must be between %lld and %lld inclusive", (long long)p->min,
                     (long long)p->max);
            *why = msg;
            return false;
        }
        store_int(&q, n);
        return true;
    case P_BOOL:
        if (strcasecmp(v, "yes") != 0 && strcasecmp(v, "no") != 0) {
            *why = "argument must be 'yes' or 'no'";
            return false;
        }
        *(bool *)q.field = strcasecmp(v, "yes") == 0;
        return true;
    case P_STR:
        if (strlen(v) >= p->size) {
            *why = "argument is too long";
            return false;
        }
        if (p->field == kv_cfg.requirepass || p->field == kv_cfg.dbfilename || p->field == kv_cfg.appendfilename) {
            if (p->field != kv_cfg.requirepass && strchr(v, '/')) {
                *why = "File name can't be a path, just a filename";
                return false;
            }
        }
        memcpy(q.field, v, strlen(v) + 1);
        return true;
    case P_ENUM:
        for (int i = 0; p->enums[i]; i++) {
            if (strcasecmp(v, p->enums[i]) == 0) {
                *(int *)q.field = i;
                return true;
            }
        }
        {
            const char *const *names = p->enums == policy_names ? policy_msg_order : p->enums;
            size_t len = (size_t)snprintf(msg, sizeof msg, "argument(s) must be one of the following: ");
            for (int i = 0; names[i] && len < sizeof msg; i++)
                len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s", i ? ", " : "", names[i]);
            *why = msg;
        }
        return false;
    case P_SAVE: return parse_save(v, cfg, why);
    case P_OBUF: return parse_obuf(v, cfg, why);
    case P_OPAQUE: snprintf(p->opaque, sizeof p->opaque, "%s", v); return true;
    }
    return false;
}

/* The value of p as CONFIG GET prints it. */
static void format_param(const struct param *p, struct st_buf *out)
{
    switch (p->type) {
    case P_INT:
    case P_MEM: st_buf_printf(out, "%lld", (long long)load_int(p)); break;
    case P_BOOL: st_buf_append_c(out, *(bool *)p->field ? "yes" : "no"); break;
    case P_STR: st_buf_append_c(out, (const char *)p->field); break;
    case P_ENUM: st_buf_append_c(out, p->enums[*(int *)p->field]); break;
    case P_SAVE:
        for (int i = 0; i < kv_cfg.nsave; i++)
            st_buf_printf(out, "%s%lld %lld", i ? " " : "", (long long)kv_cfg.save[i].seconds,
                          (long long)kv_cfg.save[i].changes);
        break;
    case P_OBUF:
        st_buf_printf(out, "normal 0 0 0 slave 268435456 67108864 60 pubsub %lld %lld %lld",
                      (long long)kv_cfg.obuf_pubsub_hard, (long long)kv_cfg.obuf_pubsub_soft,
                      (long long)kv_cfg.obuf_pubsub_soft_s);
        break;
    case P_OPAQUE: st_buf_append_c(out, p->opaque); break;
    }
}

/* ---- the command line and the config file ------------------------------------------------ */

static void usage(void)
{
    printf("Usage: strata kv [/path/to/redis.conf] [options] [-]\n"
           "       strata kv -v or --version\n"
           "       strata kv -h or --help\n\n"
           "A Redis-compatible server (RESP2/RESP3). Options are redis.conf directives:\n"
           "  --port 6379 --bind \"127.0.0.1 -::1\" --dir DIR --requirepass PASS --databases 16\n"
           "  --appendonly yes|no --appendfsync always|everysec|no --save \"900 1 300 10\" | --save \"\"\n"
           "  --maxmemory 100mb --maxmemory-policy noeviction|allkeys-lru|allkeys-lfu|allkeys-random|\n"
           "                    volatile-lru|volatile-lfu|volatile-random|volatile-ttl\n"
           "  --maxclients N --timeout SECONDS --hz N --enable-debug-command no|yes|local\n\n"
           "Examples:\n"
           "  strata kv --port 7777\n"
           "  strata kv /etc/redis/6379.conf --loglevel verbose\n");
}

/* Split a config line into words as Redis's sdssplitargs (quotes and escapes). */
static int split_line(const char *line, char words[][512], int max)
{
    struct kv_req r;
    kv_req_init(&r);
    size_t pos = 0, len = strlen(line);
    char *tmp = st_xmalloc(len + 2);
    memcpy(tmp, line, len);
    tmp[len] = '\n';
    tmp[len + 1] = 0;
    const char *err = NULL;
    int n = -1;
    r.type = 0;
    if (len + 1 <= KV_INLINE_MAX && kv_req_parse(&r, tmp, len + 1, &pos, true, &err) == KV_REQ_DONE && r.type == 'i') {
        struct kv_bytes argv[64];
        int argc = r.argc > 64 ? 64 : r.argc;
        if (r.argc <= 64) {
            kv_req_argv(&r, tmp, argv);
            n = 0;
            for (int i = 0; i < argc && n < max; i++, n++)
                snprintf(words[n], 512, "%.*s", (int)argv[i].n, argv[i].p);
        }
    }
    free(tmp);
    kv_req_release(&r);
    return n;
}

static int config_error(struct st_error *err, int lineno, const char *line, const char *why)
{
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\n", KV_REDIS_VERSION);
    fprintf(stderr, "Reading the configuration file, at line %d\n", lineno);
    fprintf(stderr, ">>> '%s'\n", line);
    fprintf(stderr, "%s\n", why);
    return st_error_set(err, -EINVAL, "%s", why);
}

/* Apply one "name value..." directive. */
static int apply_line(const char *line, int lineno, struct st_error *err)
{
    char words[16][512];
    int n = split_line(line, words, 16);
    if (n < 0)
        return config_error(err, lineno, line, "Unbalanced quotes in configuration line");
    if (n == 0 || words[0][0] == '#')
        return 0;
    struct param *p = find_param(words[0], strlen(words[0]));
    if (!p)
        return config_error(err, lineno, line, "Bad directive or wrong number of arguments");
    /* Multi-word values (save, bind, client-output-buffer-limit) are joined by spaces;
     * several "save" lines accumulate like Redis's. */
    struct st_buf value;
    st_buf_init(&value, ST_BUF_UNLIMITED);
    if (p->type == P_SAVE && n > 1) {
        static bool seen_save;
        if (seen_save) { /* a later save line adds points to the earlier ones */
            format_param(p, &value);
            if (value.len)
                st_buf_append_byte(&value, ' ');
        }
        seen_save = true;
    }
    for (int i = 1; i < n; i++) {
        if (i > 1)
            st_buf_append_byte(&value, ' ');
        st_buf_append_c(&value, words[i]);
    }
    if (n < 2 && p->type != P_STR && p->type != P_SAVE && p->type != P_OPAQUE) {
        st_buf_release(&value);
        return config_error(err, lineno, line, "wrong number of arguments");
    }
    const char *why = NULL;
    bool ok = set_param(p, value.data ? value.data : "", &kv_cfg, &why);
    st_buf_release(&value);
    if (!ok)
        return config_error(err, lineno, line, why ? why : "Invalid argument");
    return 0;
}

static int load_file(const char *path, struct st_error *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", path, strerror(errno));
        return st_error_set(err, -errno, "can't open config file '%s'", path);
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '#' || *s == 0)
            continue;
        rc = apply_line(s, lineno, err);
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

/* The --options after the config file, as directive lines ("--save ''" is one). */
static int load_options(int argc, char **argv, int i, struct st_error *err)
{
    struct st_buf line;
    st_buf_init(&line, (size_t)64 * 1024);
    int rc = 0, lineno = 0;
    for (; i <= argc && !rc; i++) {
        bool flush = i == argc || (strncmp(argv[i], "--", 2) == 0 && argv[i][2]);
        if (flush && line.len) {
            rc = apply_line(line.data, ++lineno, err);
            st_buf_clear(&line);
        }
        if (i == argc)
            break;
        if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
            st_buf_append_c(&line, argv[i] + 2);
            if (i + 1 == argc || strncmp(argv[i + 1], "--", 2) == 0)
                st_buf_append_c(&line, " \"\""); /* "--save" alone means an empty value */
        } else {
            /* quote the value so spaces and quotes survive the re-split */
            st_buf_append_c(&line, " \"");
            for (const char *s = argv[i]; *s; s++) {
                if (*s == '"' || *s == '\\')
                    st_buf_append_byte(&line, '\\');
                st_buf_append_byte(&line, *s);
            }
            st_buf_append_byte(&line, '"');
        }
    }
    st_buf_release(&line);
    return rc;
}

static int finish_dir(struct st_error *err)
{
    if (kv_cfg.dir[0] == 0) {
        if (!getcwd(kv_cfg.dir, sizeof kv_cfg.dir))
            return st_error_set(err, -errno, "getcwd: %s", strerror(errno));
        return 0;
    }
    char real[PATH_MAX];
    if (!realpath(kv_cfg.dir, real) || strlen(real) >= sizeof kv_cfg.dir) {
        fprintf(stderr, "Can't chdir to '%s': %s\n", kv_cfg.dir, strerror(errno));
        return st_error_set(err, -EINVAL, "Can't chdir to '%s'", kv_cfg.dir);
    }
    snprintf(kv_cfg.dir, sizeof kv_cfg.dir, "%s", real);
    return 0;
}

int kv_config_load(int argc, char **argv, struct st_error *err)
{
    int i = 0;
    if (argc > 0 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
        usage();
        return 1;
    }
    if (argc > 0 && (strcmp(argv[0], "-v") == 0 || strcmp(argv[0], "--version") == 0)) {
        printf("Redis server v=%s (strata kv) bits=64\n", KV_REDIS_VERSION);
        return 1;
    }
    if (argc > 0 && strncmp(argv[0], "--", 2) != 0) {
        int rc = load_file(argv[0], err);
        if (rc)
            return rc;
        i = 1;
    }
    int rc = load_options(argc, argv, i, err);
    if (rc)
        return rc;
    return finish_dir(err);
}

/* ---- CONFIG GET / SET / RESETSTAT / HELP -------------------------------------------------- */

static void config_get(struct kv_client *c)
{
    void *h = kv_reply_deferred(c);
    size_t pairs = 0;
    struct st_buf v;
    st_buf_init(&v, ST_BUF_UNLIMITED);
    bool seen[NPARAMS] = { false };
    for (int a = 2; a < c->argc; a++) {
        for (size_t i = 0; i < NPARAMS; i++) {
            if (seen[i])
                continue;
            const char *name = params[i].name;
            bool hit = kv_glob(c->argv[a], kv_b(name, strlen(name)), true);
            if (!hit && params[i].alias && kv_glob(c->argv[a], kv_b(params[i].alias, strlen(params[i].alias)), true)) {
                hit = true;
                name = params[i].alias;
            }
            if (!hit)
                continue;
            seen[i] = true;
            st_buf_clear(&v);
            format_param(&params[i], &v);
            kv_reply_bulk_c(c, name);
            kv_reply_bulk(c, kv_b(v.data ? v.data : "", v.len));
            pairs++;
        }
    }
    st_buf_release(&v);
    kv_reply_set_deferred(c, h, pairs, '%');
}

static void config_set(struct kv_client *c)
{
    if (c->argc % 2) {
        kv_reply_error(c, "ERR wrong number of arguments for 'config|set' command");
        return;
    }
    int npairs = (c->argc - 2) / 2;
    struct param *ps[NPARAMS];
    if (npairs > (int)NPARAMS) {
        kv_reply_error(c, "ERR CONFIG SET failed - too many parameters");
        return;
    }
    for (int i = 0; i < npairs; i++) {
        struct kv_bytes name = c->argv[2 + 2 * i];
        ps[i] = find_param(name.p, name.n);
        if (!ps[i] || ps[i]->type == P_OPAQUE || ps[i]->immutable) {
            if (ps[i] && ps[i]->immutable)
                kv_reply_errorf(
                    c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - can't set immutable config",
                    (int)name.n, name.p);
            else if (ps[i] && ps[i]->type == P_OPAQUE)
                continue; /* accepted for compatibility */
            else
                kv_reply_errorf(c, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'", (int)name.n,
                                name.p);
            return;
        }
        for (int j = 0; j < i; j++) {
            if (ps[j] == ps[i]) {
                kv_reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - duplicate parameter",
                                (int)name.n, name.p);
                return;
            }
        }
    }
    /* validate everything on a copy, then commit at once */
    struct kv_config next = kv_cfg;
    for (int i = 0; i < npairs; i++) {
        struct kv_bytes name = c->argv[2 + 2 * i], val = c->argv[3 + 2 * i];
        char v[2048];
        snprintf(v, sizeof v, "%.*s", (int)(val.n < sizeof v ? val.n : sizeof v - 1), val.p);
        const char *why = NULL;
        if (val.n >= sizeof v || memchr(val.p, 0, val.n) || !set_param(ps[i], v, &next, &why)) {
            kv_reply_errorf(c, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s", (int)name.n, name.p,
                            why ? why : "argument is too long");
            return;
        }
    }
    kv_cfg = next;
    kv_reply_ok(c);
}

static void config_resetstat(struct kv_client *c)
{
    struct kv_stats *st = kv_stats();
    memset(st, 0, sizeof *st);
    kv_reply_ok(c);
}

static void config_rewrite(struct kv_client *c)
{
    kv_reply_error(c, "ERR The server is running without a config file");
}

static void config_help(struct kv_client *c)
{
    static const char *const lines[] = {
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Print this help.",
    };
    kv_reply_array(c, sizeof lines / sizeof lines[0]);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        kv_reply_status(c, lines[i]);
}

const struct kv_cmd kv_config_subcommands[] = {
    { "get", config_get, -3, KV_CMD_ADMIN | KV_CMD_NOSCRIPT | KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "server", "2.0.0",
      "Get the values of configuration parameters", "parameter [parameter ...]", NULL },
    { "set", config_set, -4, KV_CMD_ADMIN | KV_CMD_NOSCRIPT | KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "server", "2.0.0",
      "Set configuration parameters to the given values", "parameter value [parameter value ...]", NULL },
    { "resetstat", config_resetstat, 2, KV_CMD_ADMIN | KV_CMD_NOSCRIPT | KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0,
      "server", "2.0.0", "Reset the stats returned by INFO", "", NULL },
    { "rewrite", config_rewrite, 2, KV_CMD_ADMIN | KV_CMD_NOSCRIPT | KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "server",
      "2.8.0", "Rewrite the configuration file with the in memory configuration", "", NULL },
    { "help", config_help, 2, KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "server", "5.0.0",
      "Show helpful text about the different subcommands", "", NULL },
    { 0 },
};
