/*
 * t_server.c - connection and server commands of `strata kv`: PING ECHO QUIT RESET HELLO
 * AUTH SELECT SWAPDB INFO TIME SHUTDOWN DEBUG, and the CLIENT and MEMORY containers.
 * Replies and error texts are Redis 7's, since redis-cli and client libraries parse them
 * (HELLO's map, INFO's "field:value" lines, CLIENT LIST's "key=value" words).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "kv/cmds.h"
#include "kv/core.h"
#include "kv/db.h"
#include "kv/persist.h"
#include "kv/resp.h"

/* ---- connection ------------------------------------------------------------------------ */

void kv_cmd_ping(struct kv_client *c)
{
    if (c->argc > 2) {
        kv_reply_error(c, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if ((c->flags & KV_CLIENT_PUBSUB) && c->resp == 2) { /* subscribers get a message-shaped reply */
        kv_reply_array(c, 2);
        kv_reply_bulk_c(c, "pong");
        kv_reply_bulk(c, c->argc == 2 ? c->argv[1] : kv_b("", 0));
        return;
    }
    if (c->argc == 1)
        kv_reply_raw(c, "+PONG\r\n", 7);
    else
        kv_reply_bulk(c, c->argv[1]);
}

void kv_cmd_echo(struct kv_client *c)
{
    kv_reply_bulk(c, c->argv[1]);
}

void kv_cmd_quit(struct kv_client *c)
{
    kv_reply_ok(c);
    c->flags |= KV_CLIENT_CLOSE_AFTER_REPLY;
}

static bool valid_name(struct kv_bytes b)
{
    for (size_t i = 0; i < b.n; i++) {
        if (b.p[i] < '!' || b.p[i] > '~')
            return false;
    }
    return true;
}

static void set_name(struct kv_conn *k, struct kv_bytes b)
{
    free(k->name);
    k->name = NULL;
    if (b.n) {
        k->name = st_xmalloc(b.n + 1);
        memcpy(k->name, b.p, b.n);
        k->name[b.n] = 0;
    }
}

void kv_cmd_reset(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    kv_multi_client_free(c);
    kv_pubsub_client_free(c);
    c->flags &= ~(unsigned)(KV_CLIENT_MULTI | KV_CLIENT_DIRTY_CAS | KV_CLIENT_DIRTY_EXEC | KV_CLIENT_PUBSUB |
                            KV_CLIENT_NO_EVICT);
    c->db_index = 0;
    c->db = kv_db_at(0);
    c->resp = 2;
    set_name(k, kv_b("", 0));
    k->authed = kv_cfg.requirepass[0] == '\0';
    kv_reply_status(c, "RESET");
}

/* The password check of AUTH and HELLO ... AUTH: true when user/pass are right. */
static bool check_auth(struct kv_bytes user, struct kv_bytes pass)
{
    if (!kv_eq(user, "default"))
        return false;
    if (kv_cfg.requirepass[0] == '\0')
        return true; /* the default user has nopass */
    size_t n = strlen(kv_cfg.requirepass);
    return pass.n == n && memcmp(pass.p, kv_cfg.requirepass, n) == 0;
}

void kv_cmd_auth(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    if (c->argc > 3) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    if (c->argc == 2 && kv_cfg.requirepass[0] == '\0') {
        kv_reply_error(c, "ERR AUTH <password> called without any password configured for the default user. Are "
                          "you sure your configuration is correct?");
        return;
    }
    struct kv_bytes user = c->argc == 3 ? c->argv[1] : kv_b("default", 7);
    struct kv_bytes pass = c->argv[c->argc - 1];
    if (!check_auth(user, pass)) {
        kv_reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    k->authed = true;
    kv_reply_ok(c);
}

static void hello_reply(struct kv_client *c)
{
    kv_reply_map(c, 7);
    kv_reply_bulk_c(c, "server");
    kv_reply_bulk_c(c, "redis");
    kv_reply_bulk_c(c, "version");
    kv_reply_bulk_c(c, KV_REDIS_VERSION);
    kv_reply_bulk_c(c, "proto");
    kv_reply_int(c, c->resp);
    kv_reply_bulk_c(c, "id");
    kv_reply_int(c, (int64_t)c->id);
    kv_reply_bulk_c(c, "mode");
    kv_reply_bulk_c(c, "standalone");
    kv_reply_bulk_c(c, "role");
    kv_reply_bulk_c(c, "master");
    kv_reply_bulk_c(c, "modules");
    kv_reply_array(c, 0);
}

void kv_cmd_hello(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    int64_t ver = c->resp;
    int i = 1;
    if (c->argc >= 2) {
        if (!kv_parse_i64(c->argv[1], &ver)) {
            kv_reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            kv_reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    struct kv_bytes user = { 0 }, pass = { 0 }, name = { 0 };
    bool has_auth = false, has_name = false;
    for (; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (kv_eq(c->argv[i], "auth") && left >= 2) {
            user = c->argv[i + 1];
            pass = c->argv[i + 2];
            has_auth = true;
            i += 2;
        } else if (kv_eq(c->argv[i], "setname") && left >= 1) {
            name = c->argv[i + 1];
            has_name = true;
            i += 1;
        } else {
            kv_reply_errorf(c, "ERR Syntax error in HELLO option '%.*s'", (int)(c->argv[i].n > 64 ? 64 : c->argv[i].n),
                            c->argv[i].p);
            return;
        }
    }
    if (has_auth) {
        if (!check_auth(user, pass)) {
            kv_reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
            return;
        }
        k->authed = true;
    }
    if (!k->authed && kv_cfg.requirepass[0]) {
        kv_reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
                          "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
                          "RESP protocol version at the same time");
        return;
    }
    if (has_name) {
        if (!valid_name(name)) {
            kv_reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        set_name(k, name);
    }
    c->resp = (int)ver;
    hello_reply(c);
}

void kv_cmd_select(struct kv_client *c)
{
    int64_t i;
    if (!kv_parse_i64(c->argv[1], &i)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (i < 0 || i >= kv_db_count()) {
        kv_reply_error(c, "ERR DB index is out of range");
        return;
    }
    c->db_index = (int)i;
    c->db = kv_db_at((int)i);
    kv_reply_ok(c);
}

/* SWAPDB swaps the contents of two databases in place, so clients on either index see the
 * other's data at once, as in Redis (clients keep their db pointers). */
void kv_cmd_swapdb(struct kv_client *c)
{
    int64_t a, b;
    if (!kv_parse_i64(c->argv[1], &a)) {
        kv_reply_error(c, "ERR invalid first DB index");
        return;
    }
    if (!kv_parse_i64(c->argv[2], &b)) {
        kv_reply_error(c, "ERR invalid second DB index");
        return;
    }
    if (a < 0 || a >= kv_db_count() || b < 0 || b >= kv_db_count()) {
        kv_reply_error(c, "ERR DB index is out of range");
        return;
    }
    if (a != b) {
        struct kv_db *x = kv_db_at((int)a), *y = kv_db_at((int)b);
        struct kv_db tmp = *x;
        *x = *y;
        *y = tmp;
        y->index = x->index;
        x->index = (int)a;
        y->index = (int)b;
        kv_watch_touch_db(x);
        kv_watch_touch_db(y);
        kv_dirty_add(1);
    }
    kv_reply_ok(c);
}

void kv_cmd_time(struct kv_client *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    kv_reply_array(c, 2);
    kv_reply_bulk_i64(c, ts.tv_sec);
    kv_reply_bulk_i64(c, ts.tv_nsec / 1000);
}

/* ---- INFO ------------------------------------------------------------------------------- */

static void human_bytes(char *buf, size_t n, double v)
{
    static const char *const units[] = { "B", "K", "M", "G", "T" };
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, n, "%.0fB", v);
    else
        snprintf(buf, n, "%.2f%s", v, units[u]);
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * (size_t)sysconf(_SC_PAGESIZE);
}

static size_t peak_memory;

static void info_server(struct st_buf *o)
{
    static char run_id[41];
    if (!run_id[0]) {
        for (int i = 0; i < 40; i++)
            run_id[i] = "0123456789abcdef"[kv_rand64() & 15];
    }
    struct utsname u;
    uname(&u);
    int64_t now = kv_now_ms(), up = (now - kv_server_start_ms()) / 1000;
    char exe[512] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    st_buf_printf(o,
                  "# Server\r\nredis_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
                  "redis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\narch_bits:64\r\n"
                  "monotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\n"
                  "gcc_version:%d.%d.0\r\nprocess_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\ntcp_port:%d\r\n"
                  "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%d\r\n"
                  "configured_hz:%d\r\nlru_clock:%lld\r\nexecutable:%s\r\nconfig_file:\r\nio_threads_active:0\r\n"
                  "server_name:strata-kv\r\n\r\n",
                  KV_REDIS_VERSION, u.sysname, u.release, u.machine,
#ifdef __GNUC__
                  __GNUC__, __GNUC_MINOR__,
#else
                  0, 0,
#endif
                  (int)getpid(), run_id, kv_server_port(), (long long)now * 1000, (long long)up,
                  (long long)(up / 86400), kv_cfg.hz, kv_cfg.hz, (long long)((now / 1000) & ((1 << 24) - 1)), exe);
}

static void info_clients(struct st_buf *o)
{
    st_buf_printf(o,
                  "# Clients\r\nconnected_clients:%zu\r\ncluster_connections:0\r\nmaxclients:%d\r\n"
                  "client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:%zu\r\n"
                  "tracking_clients:0\r\nclients_in_timeout_table:%zu\r\n\r\n",
                  kv_server_nclients(), kv_cfg.maxclients, kv_server_nblocked(), kv_server_nblocked());
}

static void info_memory(struct st_buf *o)
{
    size_t used = kv_used_memory() + kv_server_client_memory();
    if (used > peak_memory)
        peak_memory = used;
    size_t rss = rss_bytes();
    char h_used[32], h_peak[32], h_rss[32], h_max[32];
    human_bytes(h_used, sizeof h_used, (double)used);
    human_bytes(h_peak, sizeof h_peak, (double)peak_memory);
    human_bytes(h_rss, sizeof h_rss, (double)rss);
    human_bytes(h_max, sizeof h_max, (double)kv_cfg.maxmemory);
    st_buf_printf(o,
                  "# Memory\r\nused_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\n"
                  "used_memory_rss_human:%s\r\nused_memory_peak:%zu\r\nused_memory_peak_human:%s\r\n"
                  "used_memory_dataset:%zu\r\nused_memory_clients:%zu\r\nmaxmemory:%lld\r\nmaxmemory_human:%s\r\n"
                  "maxmemory_policy:%s\r\nmem_fragmentation_ratio:%.2f\r\nmem_allocator:libc\r\n"
                  "lazyfree_pending_objects:0\r\n\r\n",
                  used, h_used, rss, h_rss, peak_memory, h_peak, kv_used_memory(), kv_server_client_memory(),
                  (long long)kv_cfg.maxmemory, h_max, kv_config_policy_name(kv_cfg.maxmemory_policy),
                  used ? (double)rss / (double)used : 0.0);
}

static void info_stats(struct st_buf *o)
{
    struct kv_stats *s = kv_stats();
    st_buf_printf(o,
                  "# Stats\r\ntotal_connections_received:%" PRIu64 "\r\ntotal_commands_processed:%" PRIu64
                  "\r\ninstantaneous_ops_per_sec:%" PRIu64 "\r\ntotal_net_input_bytes:%" PRIu64
                  "\r\ntotal_net_output_bytes:%" PRIu64 "\r\nrejected_connections:%" PRIu64 "\r\nexpired_keys:%" PRIu64
                  "\r\nevicted_keys:%" PRIu64 "\r\nkeyspace_hits:%" PRIu64 "\r\nkeyspace_misses:%" PRIu64
                  "\r\npubsub_channels:%zu\r\npubsub_patterns:%zu\r\n"
                  "total_error_replies:%" PRIu64 "\r\n\r\n",
                  s->connections, s->commands, kv_server_ops_per_sec(), s->net_in, s->net_out, s->rejected_conns,
                  s->expired_keys, s->evicted_keys, s->keyspace_hits, s->keyspace_misses, kv_pubsub_channels(),
                  kv_pubsub_patterns(), kv_server_error_replies());
}

static void info_replication(struct st_buf *o)
{
    st_buf_append_c(o, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                       "master_replid:0000000000000000000000000000000000000000\r\n"
                       "master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n"
                       "second_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\n"
                       "repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n\r\n");
}

static void info_cpu(struct st_buf *o)
{
    struct rusage self, child;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &child);
    st_buf_printf(o,
                  "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\nused_cpu_sys_children:%ld.%06ld\r\n"
                  "used_cpu_user_children:%ld.%06ld\r\n\r\n",
                  (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec,
                  (long)self.ru_utime.tv_usec, (long)child.ru_stime.tv_sec, (long)child.ru_stime.tv_usec,
                  (long)child.ru_utime.tv_sec, (long)child.ru_utime.tv_usec);
}

static void info_persistence(struct st_buf *o)
{
    st_buf_append_c(o, "# Persistence\r\n");
    kv_persist_info(o);
    if (o->len >= 2 && memcmp(o->data + o->len - 2, "\r\n", 2) != 0)
        st_buf_append_c(o, "\r\n");
    st_buf_append_c(o, "\r\n");
}

static void info_keyspace(struct st_buf *o)
{
    st_buf_append_c(o, "# Keyspace\r\n");
    for (int i = 0; i < kv_db_count(); i++) {
        struct kv_db *db = kv_db_at(i);
        size_t n = kv_db_size(db);
        if (n == 0)
            continue;
        st_buf_printf(o, "db%d:keys=%zu,expires=%zu,avg_ttl=%lld\r\n", i, n, kv_db_expires(db),
                      (long long)kv_db_avg_ttl(db));
    }
    st_buf_append_c(o, "\r\n");
}

static const struct {
    const char *name;
    void (*fn)(struct st_buf *o);
    bool dflt;
} sections[] = {
    { "server", info_server, true }, { "clients", info_clients, true },
    { "memory", info_memory, true }, { "persistence", info_persistence, true },
    { "stats", info_stats, true },   { "replication", info_replication, true },
    { "cpu", info_cpu, true },       { "keyspace", info_keyspace, true },
};
#define NSECTIONS (sizeof sections / sizeof sections[0])

void kv_cmd_info(struct kv_client *c)
{
    bool want[NSECTIONS] = { false };
    bool any = false;
    for (int i = 1; i < c->argc; i++) {
        struct kv_bytes a = c->argv[i];
        bool all = kv_eq(a, "all") || kv_eq(a, "everything") || kv_eq(a, "default");
        for (size_t s = 0; s < NSECTIONS; s++) {
            if (all || kv_eq(a, sections[s].name))
                want[s] = true;
        }
        any = true;
    }
    struct st_buf o;
    st_buf_init(&o, ST_BUF_UNLIMITED);
    for (size_t s = 0; s < NSECTIONS; s++) {
        if (any ? want[s] : sections[s].dflt)
            sections[s].fn(&o);
    }
    /* Redis ends the text without the blank line after the last section. */
    while (o.len >= 2 && memcmp(o.data + o.len - 2, "\r\n", 2) == 0 && o.len >= 4 &&
           memcmp(o.data + o.len - 4, "\r\n\r\n", 4) == 0)
        st_buf_truncate(&o, o.len - 2);
    kv_reply_verbatim(c, kv_b(o.data ? o.data : "", o.len));
    st_buf_release(&o);
}

/* ---- SHUTDOWN, DEBUG -------------------------------------------------------------------- */

void kv_cmd_shutdown(struct kv_client *c)
{
    int save = -1;
    for (int i = 1; i < c->argc; i++) {
        if (kv_eq(c->argv[i], "nosave"))
            save = 0;
        else if (kv_eq(c->argv[i], "save"))
            save = 1;
        else if (kv_eq(c->argv[i], "now") || kv_eq(c->argv[i], "force"))
            continue;
        else if (kv_eq(c->argv[i], "abort")) {
            kv_reply_error(c, "ERR No shutdown in progress.");
            return;
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return;
        }
    }
    if (kv_server_shutdown(save) != 0)
        kv_reply_error(c, "ERR Errors trying to SHUTDOWN. Check logs.");
}

static void debug_object(struct kv_client *c)
{
    struct kv_entry *e = kv_db_find(c->db, c->argv[2]);
    if (!e || kv_entry_expired(e)) {
        kv_reply_error(c, KV_ERR_NOKEY);
        return;
    }
    char buf[256];
    snprintf(buf, sizeof buf, "Value at:%p refcount:1 encoding:%s serializedlength:%zu lru:%u lru_seconds_idle:%llu",
             (void *)e, kv_enc_name((enum kv_enc)e->enc), kv_entry_mem(e), (unsigned)(e->lru & 0xffffff),
             (unsigned long long)kv_evict_idle_seconds(e));
    kv_reply_status(c, buf);
}

static void debug_reload(struct kv_client *c)
{
    /* The reload moves the dirty counter but changes no data: nothing for the AOF (a
     * replayed DEBUG RELOAD would overwrite the snapshot with a half-loaded dataset). */
    kv_propagate(c, 0, NULL);
    if (kv_snapshot_save(NULL) != 0) {
        kv_reply_error(c, "ERR Error trying to save the DB");
        return;
    }
    for (int i = 0; i < kv_db_count(); i++)
        kv_db_flush(kv_db_at(i), false);
    if (kv_snapshot_load(NULL) != 0) {
        kv_reply_error(c, "ERR Error trying to load the RDB dump, check server logs.");
        return;
    }
    kv_reply_ok(c);
}

void kv_cmd_debug(struct kv_client *c)
{
    if (!kv_config_debug_allowed(kv_conn_of(c))) {
        kv_reply_error(c, "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
                          "you can run it from a local connection, otherwise you need to set this option in the "
                          "configuration file, and then restart the server.");
        return;
    }
    struct kv_bytes sub = c->argv[1];
    if (kv_eq(sub, "sleep") && c->argc == 3) {
        double secs;
        if (!kv_parse_double(c->argv[2], &secs) || secs < 0 || secs > 3600) {
            kv_reply_error(c, KV_ERR_NOTFLOAT);
            return;
        }
        struct timespec ts = { (time_t)secs, (long)((secs - floor(secs)) * 1e9) };
        nanosleep(&ts, NULL);
        kv_reply_ok(c);
    } else if (kv_eq(sub, "object") && c->argc == 3) {
        debug_object(c);
    } else if (kv_eq(sub, "reload")) {
        debug_reload(c);
    } else if (kv_eq(sub, "help")) {
        kv_reply_array(c, 4);
        kv_reply_status(c, "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        kv_reply_status(c, "OBJECT <key> - Show low level info about the key.");
        kv_reply_status(c, "RELOAD - Save the dataset to disk and reload it.");
        kv_reply_status(c, "SLEEP <seconds> - Stop the server for <seconds> (decimals allowed).");
    } else {
        kv_reply_errorf(c, "ERR unknown subcommand '%.*s'. Try DEBUG HELP.", (int)(sub.n > 64 ? 64 : sub.n), sub.p);
    }
}

/* ---- CLIENT ----------------------------------------------------------------------------- */

static void client_id(struct kv_client *c)
{
    kv_reply_int(c, (int64_t)c->id);
}

static void client_setname(struct kv_client *c)
{
    if (!valid_name(c->argv[2])) {
        kv_reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    set_name(kv_conn_of(c), c->argv[2]);
    kv_reply_ok(c);
}

static void client_getname(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    if (k->name)
        kv_reply_bulk_c(c, k->name);
    else
        kv_reply_null(c);
}

struct list_ctx {
    struct st_buf *out;
    int type; /* 0 any, 1 normal, 2 pubsub, 3 none (master/replica) */
    uint64_t *ids;
    int nids;
};

static bool is_pubsub(struct kv_client *c)
{
    return (c->flags & KV_CLIENT_PUBSUB) || (c->pubsub && kv_pubsub_count(c) > 0);
}

static void list_one(void *arg, struct kv_client *c)
{
    struct list_ctx *x = arg;
    if (x->type == 3 || (x->type == 1 && is_pubsub(c)) || (x->type == 2 && !is_pubsub(c)))
        return;
    if (x->nids) {
        bool hit = false;
        for (int i = 0; i < x->nids; i++)
            hit |= x->ids[i] == c->id;
        if (!hit)
            return;
    }
    kv_client_describe(c, x->out);
}

static void client_list(struct kv_client *c)
{
    struct st_buf o;
    st_buf_init(&o, ST_BUF_UNLIMITED);
    struct list_ctx x = { &o, 0, NULL, 0 };
    if (c->argc == 4 && kv_eq(c->argv[2], "type")) {
        struct kv_bytes t = c->argv[3];
        x.type = kv_eq(t, "normal") ? 1 : kv_eq(t, "pubsub") ? 2 : (kv_eq(t, "master") || kv_eq(t, "replica")) ? 3 : -1;
        if (x.type < 0) {
            kv_reply_errorf(c, "ERR Unknown client type '%.*s'", (int)(t.n > 64 ? 64 : t.n), t.p);
            st_buf_release(&o);
            return;
        }
    } else if (c->argc >= 4 && kv_eq(c->argv[2], "id")) {
        x.nids = c->argc - 3;
        x.ids = st_xcalloc((size_t)x.nids, sizeof *x.ids);
        for (int i = 0; i < x.nids; i++) {
            int64_t v;
            if (!kv_parse_i64(c->argv[3 + i], &v) || v <= 0) {
                kv_reply_error(c, "ERR Invalid client ID");
                free(x.ids);
                st_buf_release(&o);
                return;
            }
            x.ids[i] = (uint64_t)v;
        }
    } else if (c->argc != 2) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        st_buf_release(&o);
        return;
    }
    kv_clients_each(list_one, &x);
    free(x.ids);
    kv_reply_verbatim(c, kv_b(o.data ? o.data : "", o.len));
    st_buf_release(&o);
}

static void client_info(struct kv_client *c)
{
    struct st_buf o;
    st_buf_init(&o, ST_BUF_UNLIMITED);
    kv_client_describe(c, &o);
    kv_reply_verbatim(c, kv_b(o.data, o.len));
    st_buf_release(&o);
}

struct kill_ctx {
    struct kv_client *self;
    uint64_t id;
    const struct kv_bytes *addr, *laddr, *user;
    int type; /* as list_ctx */
    bool skipme;
    int64_t killed;
};

static bool bytes_is(struct kv_bytes b, const char *s)
{
    return b.n == strlen(s) && memcmp(b.p, s, b.n) == 0;
}

static void kill_one(void *arg, struct kv_client *c)
{
    struct kill_ctx *x = arg;
    struct kv_conn *k = kv_conn_of(c);
    if (x->id && c->id != x->id)
        return;
    if (x->addr && !bytes_is(*x->addr, k->addr))
        return;
    if (x->laddr && !bytes_is(*x->laddr, k->laddr))
        return;
    if (x->user && !kv_eq(*x->user, "default"))
        return;
    if (x->type == 3 || (x->type == 1 && is_pubsub(c)) || (x->type == 2 && !is_pubsub(c)))
        return;
    if (x->skipme && c == x->self)
        return;
    kv_client_close_async(c);
    x->killed++;
}

static bool kill_filters(struct kv_client *c, struct kill_ctx *x)
{
    for (int i = 2; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
        struct kv_bytes f = c->argv[i], *v = &c->argv[i + 1];
        if (kv_eq(f, "id")) {
            int64_t id;
            if (!kv_parse_i64(*v, &id) || id <= 0) {
                kv_reply_error(c, "ERR client-id should be greater than 0");
                return false;
            }
            x->id = (uint64_t)id;
        } else if (kv_eq(f, "addr")) {
            x->addr = v;
        } else if (kv_eq(f, "laddr")) {
            x->laddr = v;
        } else if (kv_eq(f, "user")) {
            x->user = v;
        } else if (kv_eq(f, "type")) {
            x->type = kv_eq(*v, "normal")                                                   ? 1
                      : kv_eq(*v, "pubsub")                                                 ? 2
                      : (kv_eq(*v, "master") || kv_eq(*v, "replica") || kv_eq(*v, "slave")) ? 3
                                                                                            : -1;
            if (x->type < 0) {
                kv_reply_errorf(c, "ERR Unknown client type '%.*s'", (int)(v->n > 64 ? 64 : v->n), v->p);
                return false;
            }
        } else if (kv_eq(f, "skipme")) {
            if (!kv_eq(*v, "yes") && !kv_eq(*v, "no")) {
                kv_reply_error(c, KV_ERR_SYNTAX);
                return false;
            }
            x->skipme = kv_eq(*v, "yes");
        } else {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

static void client_kill(struct kv_client *c)
{
    struct kill_ctx x = { c, 0, NULL, NULL, NULL, 0, true, 0 };
    if (c->argc == 3) { /* the old form: CLIENT KILL ip:port */
        x.addr = &c->argv[2];
        x.skipme = false;
        kv_clients_each(kill_one, &x);
        if (x.killed == 0)
            kv_reply_error(c, "ERR No such client");
        else
            kv_reply_ok(c);
        return;
    }
    if (!kill_filters(c, &x))
        return;
    kv_clients_each(kill_one, &x);
    kv_reply_int(c, x.killed);
}

static void client_no_evict(struct kv_client *c)
{
    if (kv_eq(c->argv[2], "on"))
        c->flags |= KV_CLIENT_NO_EVICT;
    else if (kv_eq(c->argv[2], "off"))
        c->flags &= ~(unsigned)KV_CLIENT_NO_EVICT;
    else {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    kv_reply_ok(c);
}

static void client_unblock(struct kv_client *c)
{
    int64_t id;
    bool error = false;
    if (!kv_parse_i64(c->argv[2], &id)) {
        kv_reply_error(c, KV_ERR_NOTINT);
        return;
    }
    if (c->argc == 4) {
        if (kv_eq(c->argv[3], "error"))
            error = true;
        else if (!kv_eq(c->argv[3], "timeout")) {
            kv_reply_error(c, "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    } else if (c->argc > 4) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    struct kv_conn *k = id > 0 ? kv_server_find((uint64_t)id) : NULL;
    kv_reply_int(c, k && kv_server_unblock(k, error) ? 1 : 0);
}

static void client_help(struct kv_client *c)
{
    static const char *const lines[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, ADDR, LADDR, USER, TYPE, SKIPME.",
        "LIST [options ...]",
        "    Return information about client connections. Options: TYPE, ID.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Print this help.",
    };
    kv_reply_array(c, sizeof lines / sizeof lines[0]);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        kv_reply_status(c, lines[i]);
}

#define CONN_FLAGS (KV_CMD_NOSCRIPT | KV_CMD_LOADING | KV_CMD_STALE)
const struct kv_cmd kv_client_subcommands[] = {
    { "id", client_id, 2, CONN_FLAGS, 0, 0, 0, "connection", "5.0.0",
      "Returns the client ID for the current connection", "", NULL },
    { "setname", client_setname, 3, CONN_FLAGS, 0, 0, 0, "connection", "2.6.9", "Set the current connection name",
      "connection-name", NULL },
    { "getname", client_getname, 2, CONN_FLAGS, 0, 0, 0, "connection", "2.6.9", "Get the current connection name", "",
      NULL },
    { "list", client_list, -2, CONN_FLAGS | KV_CMD_ADMIN, 0, 0, 0, "connection", "2.4.0",
      "Get the list of client connections", "[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id ...]", NULL },
    { "info", client_info, 2, CONN_FLAGS, 0, 0, 0, "connection", "6.2.0",
      "Returns information about the current client connection.", "", NULL },
    { "kill", client_kill, -3, CONN_FLAGS | KV_CMD_ADMIN, 0, 0, 0, "connection", "2.4.0",
      "Kill the connection of a client", "[ip:port] [ID client-id] [ADDR ip:port] [SKIPME yes|no]", NULL },
    { "no-evict", client_no_evict, 3, CONN_FLAGS | KV_CMD_ADMIN, 0, 0, 0, "connection", "7.0.0",
      "Set client eviction mode for the current connection", "ON|OFF", NULL },
    { "unblock", client_unblock, -3, CONN_FLAGS | KV_CMD_ADMIN, 0, 0, 0, "connection", "5.0.0",
      "Unblock a client blocked in a blocking command from a different connection", "client-id [TIMEOUT|ERROR]", NULL },
    { "help", client_help, 2, KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "connection", "5.0.0",
      "Show helpful text about the different subcommands", "", NULL },
    { 0 },
};

/* ---- MEMORY ----------------------------------------------------------------------------- */

static void memory_usage(struct kv_client *c)
{
    if (c->argc != 3 && !(c->argc == 5 && kv_eq(c->argv[3], "samples"))) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    struct kv_entry *e = kv_db_find(c->db, c->argv[2]);
    if (!e || kv_entry_expired(e)) {
        kv_reply_null(c);
        return;
    }
    kv_reply_int(c, (int64_t)kv_entry_mem(e));
}

static void memory_doctor(struct kv_client *c)
{
    static const char text[] = "Hi Sam, I can't find any memory issue in your instance. I can only account for "
                               "what occurs on this base.";
    kv_reply_verbatim(c, kv_b(text, sizeof text - 1));
}

static void memory_purge(struct kv_client *c)
{
    kv_reply_ok(c);
}

static void memory_help(struct kv_client *c)
{
    static const char *const lines[] = {
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value.",
        "HELP",
        "    Print this help.",
    };
    kv_reply_array(c, sizeof lines / sizeof lines[0]);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        kv_reply_status(c, lines[i]);
}

const struct kv_cmd kv_memory_subcommands[] = {
    { "usage", memory_usage, -3, KV_CMD_READONLY, 2, 2, 1, "server", "4.0.0", "Estimate the memory usage of a key",
      "key [SAMPLES count]", NULL },
    { "doctor", memory_doctor, 2, 0, 0, 0, 0, "server", "4.0.0", "Outputs memory problems report", "", NULL },
    { "purge", memory_purge, 2, 0, 0, 0, 0, "server", "4.0.0", "Ask the allocator to release memory", "", NULL },
    { "help", memory_help, 2, KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "server", "4.0.0",
      "Show helpful text about the different subcommands", "", NULL },
    { 0 },
};
