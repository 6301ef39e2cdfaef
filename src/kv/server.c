/*
 * server.c - the server of `strata kv`: listeners, connections, the read -> parse ->
 * dispatch -> reply cycle, blocking commands, limits, cron, signals and shutdown.
 *
 * One thread runs one st_io loop, as Redis does. A readable connection is read (16 KiB at
 * a time, more when a big bulk is pending), and every complete command in its query
 * buffer runs to completion before the next read: pipelined commands cost one read. Replies
 * are appended to the client's output buffer, never written at once: the first reply of a
 * turn queues the client, and a deferred callback at the end of the turn first lets the
 * AOF write (and fsync, with appendfsync always) what this turn changed and only then
 * writes every queued client's buffer with one write(2) each. So no write is acknowledged
 * before it is durable, and a pipeline of 100 commands costs one read and one write.
 *
 * Blocking (BLPOP ...): a blocked client keeps a copy of its command and waits in a FIFO
 * per (db, key). kv_signal_key_ready marks the key; after the current command finishes
 * the waiters re-run their command in arrival order until one of them blocks again (no
 * data left). Timeouts are st_io timers.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/log.h"
#include "base/map.h"
#include "kv/core.h"
#include "kv/kv.h"
#include "kv/persist.h"
#include "kv/resp.h"

#define READ_CHUNK ((size_t)16 * 1024)
#define BIG_READ ((size_t)1024 * 1024)
#define MAX_LISTENERS 8
#define OBUF_KEEP ((size_t)64 * 1024) /* an emptied output buffer larger than this is freed */

struct listener {
    int fd;
    struct st_io_acceptor acc;
};

struct waitq {
    struct kv_conn **v;
    size_t n, cap;
};

struct kv_blocked {
    const struct kv_cmd *cmd;
    int argc;
    struct kv_bytes *argv; /* copies (one allocation with the bytes) */
    int nkeys;
    struct st_str *keys; /* map keys: db pointer bytes + key */
    struct st_io_timer timer;
    bool reblocked;
};

struct kv_server {
    struct st_io_loop *loop;
    struct listener ls[MAX_LISTENERS];
    int nls;
    int port;
    struct kv_conn *clients; /* doubly linked, newest first */
    size_t nclients;
    uint64_t next_id;
    struct kv_conn *pending; /* clients with output to write this turn */
    bool flush_queued;
    struct st_io_defer flush_defer;
    struct st_io_timer cron;
    struct st_io_signals sig;
    int64_t start_ms;
    /* blocking */
    struct st_map waiting; /* db+key -> struct waitq */
    size_t nblocked;
    struct st_str *ready; /* keys signalled while someone waits */
    size_t nready, ready_cap;
    struct st_map ready_set;
    /* dispatch */
    struct kv_conn *current; /* the client whose input is being processed */
    int depth;               /* nesting of kv_call (EXEC runs commands inside EXEC) */
    uint64_t propagated;     /* commands fed to the AOF so far */
    bool stopping;
    int exit_code;
    uint64_t error_replies;
};

static struct kv_server srv;
static struct kv_stats stats;
static int64_t now_cache;

static void conn_close(struct kv_conn *k);
static void process_input(struct kv_conn *k);
static void handle_ready_keys(void);

/* ---- small accessors -------------------------------------------------------------------- */

struct kv_stats *kv_stats(void)
{
    return &stats;
}

struct kv_server *kv_srv(void)
{
    return &srv;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kv_now_ms(void)
{
    return now_cache ? now_cache : (now_cache = wall_ms());
}

size_t kv_server_nclients(void)
{
    return srv.nclients;
}

size_t kv_server_nblocked(void)
{
    return srv.nblocked;
}

int64_t kv_server_start_ms(void)
{
    return srv.start_ms;
}

int kv_server_port(void)
{
    return srv.port;
}

void kv_resp_count_error(const char *msg)
{
    (void)msg;
    srv.error_replies++;
}

uint64_t kv_server_error_replies(void)
{
    return srv.error_replies;
}

size_t kv_client_output_len(const struct kv_client *c)
{
    const struct kv_conn *k = (const struct kv_conn *)c;
    return k->obuf.len - k->opos;
}

size_t kv_server_client_memory(void)
{
    size_t n = 0;
    for (struct kv_conn *k = srv.clients; k; k = k->next)
        n += k->qbuf.cap + k->obuf.cap;
    return n;
}

struct kv_conn *kv_server_find(uint64_t id)
{
    for (struct kv_conn *k = srv.clients; k; k = k->next) {
        if (k->c.id == id && !k->closing)
            return k;
    }
    return NULL;
}

void kv_clients_each(void (*fn)(void *arg, struct kv_client *c), void *arg)
{
    for (struct kv_conn *k = srv.clients, *next; k; k = next) {
        next = k->next;
        if (!k->closing)
            fn(arg, &k->c);
    }
}

/* ---- connections ---------------------------------------------------------------------- */

static void conn_init(struct kv_conn *k, int fd)
{
    memset(k, 0, sizeof *k);
    k->fd = fd;
    k->c.id = ++srv.next_id;
    k->c.resp = 2;
    k->c.db_index = 0;
    k->c.db = kv_db_at(0);
    k->c.srv = &srv;
    k->c.out = &k->obuf;
    st_buf_init(&k->qbuf, (size_t)kv_cfg.client_query_buffer_limit);
    st_buf_init(&k->obuf, ST_BUF_UNLIMITED);
    kv_req_init(&k->req);
    k->authed = kv_cfg.requirepass[0] == '\0';
    k->ctime_ms = kv_now_ms();
    k->last_ms = kv_now_ms();
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
        snprintf(out, n, "%s:%d", host, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
        snprintf(out, n, "%s:%d", host, port);
    } else {
        snprintf(out, n, "?:0");
    }
}

static void conn_addrs(struct kv_conn *k)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss); /* the analyzer cannot see getpeername/getsockname fill it */
    socklen_t len = sizeof ss;
    if (getpeername(k->fd, (struct sockaddr *)&ss, &len) == 0)
        format_addr(&ss, k->addr, sizeof k->addr);
    len = sizeof ss;
    if (getsockname(k->fd, (struct sockaddr *)&ss, &len) == 0)
        format_addr(&ss, k->laddr, sizeof k->laddr);
}

static void conn_free_cb(void *arg)
{
    struct kv_conn *k = arg;
    kv_req_release(&k->req);
    st_buf_release(&k->qbuf);
    st_buf_release(&k->obuf);
    free(k->argv);
    free(k->name);
    free(k);
}

static void unblock(struct kv_conn *k, bool resume);

/* Close now (socket, lists); memory goes at the end of the turn, since a caller up the
 * stack (a command on another client, a callback loop) may still hold k. */
static void conn_close(struct kv_conn *k)
{
    if (k->closing)
        return;
    k->closing = true;
    if (k->blk)
        unblock(k, false);
    kv_multi_client_free(&k->c);
    kv_pubsub_client_free(&k->c);
    if (k->fd >= 0) {
        st_io_watch_stop(srv.loop, &k->w);
        close(k->fd);
        k->fd = -1;
    }
    if (k->prev)
        k->prev->next = k->next;
    else if (srv.clients == k)
        srv.clients = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
    srv.nclients--;
    st_io_defer(srv.loop, &k->defer, conn_free_cb, k);
}

void kv_client_close_async(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    if (k->fd < 0 || k->closing) /* the fake client is freed by its owner */
        return;
    if (k == srv.current) { /* CLIENT KILL of oneself: the reply goes out first */
        c->flags |= KV_CLIENT_CLOSE_AFTER_REPLY;
        return;
    }
    conn_close(k);
}

/* ---- output --------------------------------------------------------------------------- */

static void flush_all(void *arg);

void kv__conn_pending(struct kv_conn *k)
{
    k->pending = true;
    if (k->fd < 0 || k->closing) /* the fake client (kv_call drops its replies), or gone */
        return;
    k->pnext = srv.pending;
    srv.pending = k;
    if (!srv.flush_queued) {
        srv.flush_queued = true;
        st_io_defer(srv.loop, &srv.flush_defer, flush_all, NULL);
    }
}

static void obuf_reset(struct kv_conn *k)
{
    k->opos = 0;
    if (k->obuf.cap > OBUF_KEEP)
        st_buf_release(&k->obuf);
    else
        st_buf_clear(&k->obuf);
}

/* Pub/sub clients that do not read are cut (client-output-buffer-limit pubsub). */
static bool over_output_limit(struct kv_conn *k)
{
    if (!(k->c.flags & KV_CLIENT_PUBSUB) && (!k->c.pubsub || kv_pubsub_count(&k->c) == 0))
        return false;
    size_t held = k->obuf.len - k->opos;
    if (kv_cfg.obuf_pubsub_hard > 0 && held > (size_t)kv_cfg.obuf_pubsub_hard)
        return true;
    if (kv_cfg.obuf_pubsub_soft > 0 && held > (size_t)kv_cfg.obuf_pubsub_soft) {
        int64_t now = st_io_now_ms(srv.loop);
        if (!k->soft_since)
            k->soft_since = now;
        else if (now - k->soft_since >= kv_cfg.obuf_pubsub_soft_s * 1000)
            return true;
    } else {
        k->soft_since = 0;
    }
    return false;
}

/* Write what is buffered; arm ST_IO_WRITE when the socket is full. */
static void conn_write(struct kv_conn *k)
{
    if (k->sending)
        return; /* ST_IO_SENT brings us back */
    /* The common case: the replies leave with every other client's in the loop's next
     * io_uring_enter (docs/adr/0012-io-uring.md); this runs after the AOF was written. */
    if (k->opos == 0 && k->obuf.len && !k->sync_write && !(k->c.flags & KV_CLIENT_CLOSE_AFTER_REPLY) &&
        st_io_send(srv.loop, &k->w, &k->obuf)) {
        k->sending = true;
        return;
    }
    while (k->opos < k->obuf.len) {
        ssize_t n = send(k->fd, k->obuf.data + k->opos, k->obuf.len - k->opos, MSG_NOSIGNAL);
        if (n > 0) {
            k->opos += (size_t)n;
            stats.net_out += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (over_output_limit(k)) {
                conn_close(k);
                return;
            }
            st_io_watch_set(srv.loop, &k->w, ST_IO_READ | ST_IO_WRITE);
            return;
        }
        conn_close(k);
        return;
    }
    obuf_reset(k);
    k->sync_write = false;
    if (k->w.events & ST_IO_WRITE)
        st_io_watch_set(srv.loop, &k->w, ST_IO_READ);
    if (k->c.flags & KV_CLIENT_CLOSE_AFTER_REPLY)
        conn_close(k);
}

/* End of the loop turn: the AOF first, then the replies (see the file comment). */
static void flush_all(void *arg)
{
    (void)arg;
    srv.flush_queued = false;
    kv_persist_before_sleep();
    struct kv_conn *list = srv.pending;
    srv.pending = NULL;
    while (list) {
        struct kv_conn *k = list;
        list = k->pnext;
        k->pending = false;
        k->pnext = NULL;
        if (k->closing)
            continue;
        if (k->w.events & ST_IO_WRITE) { /* the socket is full: wait for writability */
            if (over_output_limit(k))
                conn_close(k);
            continue;
        }
        conn_write(k);
    }
    now_cache = 0; /* the next turn reads the clock again */
}

/* ---- dispatch ------------------------------------------------------------------------- */

static bool auth_required(const struct kv_conn *k)
{
    return !k->authed && kv_cfg.requirepass[0] != '\0';
}

static void reply_unknown(struct kv_client *c)
{
    char args[256];
    size_t len = 0;
    args[0] = 0;
    for (int i = 1; i < c->argc && len < 128; i++) {
        int n = snprintf(args + len, sizeof args - len, "'%.*s' ", (int)(c->argv[i].n > 128 ? 128 : c->argv[i].n),
                         c->argv[i].p);
        if (n < 0 || (size_t)n >= sizeof args - len)
            break;
        len += (size_t)n;
    }
    kv_reply_errorf(c, "ERR unknown command '%.*s', with args beginning with: %s",
                    (int)(c->argv[0].n > 128 ? 128 : c->argv[0].n), c->argv[0].p, args);
}

static bool arity_ok(const struct kv_cmd *cmd, int argc)
{
    return cmd->arity >= 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/* A rejected command inside MULTI makes EXEC fail (Redis's flagTransaction). */
static void reject(struct kv_client *c, const char *msg)
{
    if (c->flags & KV_CLIENT_MULTI)
        c->flags |= KV_CLIENT_DIRTY_EXEC;
    kv_reply_error(c, msg);
}

static void reject_arity(struct kv_client *c, const struct kv_cmd *cmd)
{
    char full[96], msg[160];
    snprintf(msg, sizeof msg, "ERR wrong number of arguments for '%s' command",
             kv_cmd_fullname(cmd, full, sizeof full));
    reject(c, msg);
}

/* Resolve argv to the command to run (a subcommand for container commands), replying the
 * error and returning NULL when there is none. */
static const struct kv_cmd *resolve(struct kv_client *c)
{
    const struct kv_cmd *cmd = kv_cmd_lookup(c->argv[0]);
    if (!cmd) {
        if (c->flags & KV_CLIENT_MULTI)
            c->flags |= KV_CLIENT_DIRTY_EXEC;
        reply_unknown(c);
        return NULL;
    }
    if (cmd->subcommands && (c->argc >= 2 || !cmd->proc)) {
        if (c->argc < 2) {
            reject_arity(c, cmd);
            return NULL;
        }
        const struct kv_cmd *sub = kv_subcmd_lookup(cmd, c->argv[1]);
        if (!sub) {
            char up[48], msg[256];
            size_t i;
            for (i = 0; i < sizeof up - 1 && cmd->name[i]; i++)
                up[i] = (char)(cmd->name[i] >= 'a' && cmd->name[i] <= 'z' ? cmd->name[i] - 32 : cmd->name[i]);
            up[i] = 0;
            snprintf(msg, sizeof msg, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                     (int)(c->argv[1].n > 128 ? 128 : c->argv[1].n), c->argv[1].p, up);
            reject(c, msg);
            return NULL;
        }
        cmd = sub;
    }
    if (!arity_ok(cmd, c->argc)) {
        reject_arity(c, cmd);
        return NULL;
    }
    return cmd;
}

static bool is_multi_control(const struct kv_cmd *cmd)
{
    static const char *const names[] = { "exec", "discard", "multi", "watch", "quit", "reset" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(cmd->name, names[i]) == 0)
            return true;
    }
    return false;
}

/* Run cmd with stats and propagation: when data changed and the command did not
 * propagate anything itself (kv_propagate, or commands it ran), its argv goes to the AOF. */
static void execute(struct kv_client *c, const struct kv_cmd *cmd)
{
    struct kv_conn *k = kv_conn_of(c);
    uint64_t dirty = kv_dirty(), prop = srv.propagated;
    k->last_cmd = cmd;
    stats.commands++;
    cmd->proc(c);
    if (kv_dirty() != dirty && srv.propagated == prop && !(c->flags & KV_CLIENT_AOF)) {
        srv.propagated++;
        kv_aof_feed(c->db_index, c->argc, c->argv);
    }
}

void kv_propagate(struct kv_client *c, int argc, const struct kv_bytes *argv)
{
    srv.propagated++;
    if (c->flags & KV_CLIENT_AOF)
        return;
    kv_aof_feed(c->db_index, argc, argv);
}

static void dispatch(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    const struct kv_cmd *cmd = resolve(c);
    if (!cmd)
        return;
    if (auth_required(k) && !(cmd->flags & KV_CMD_NOAUTH)) {
        reject(c, "NOAUTH Authentication required.");
        return;
    }
    if ((c->flags & KV_CLIENT_PUBSUB) && c->resp == 2 && !(cmd->flags & KV_CMD_ALLOW_PUBSUB)) {
        char full[96];
        kv_reply_errorf(c,
                        "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
                        "allowed in this context",
                        kv_cmd_fullname(cmd, full, sizeof full));
        return;
    }
    if (kv_cfg.maxmemory > 0 && !(c->flags & KV_CLIENT_AOF)) {
        int rc = kv_evict_perform();
        if (rc != 0 && (cmd->flags & KV_CMD_DENYOOM)) {
            reject(c, KV_ERR_OOM);
            return;
        }
    }
    if (kv_misconf_reject(c, cmd))
        return;
    if ((c->flags & KV_CLIENT_MULTI) && !is_multi_control(cmd)) {
        if (cmd->flags & KV_CMD_NO_MULTI) {
            reject(c, "ERR Command not allowed inside a transaction");
            return;
        }
        kv_multi_queue(c, cmd);
        return;
    }
    execute(c, cmd);
}

void kv_call(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    if (srv.depth == 0)
        now_cache = wall_ms();
    srv.depth++;
    dispatch(c);
    srv.depth--;
    if (srv.depth == 0 && srv.nready)
        handle_ready_keys();
    if (c->flags & KV_CLIENT_AOF)
        k->pending = false; /* kv_persist_exec checks the reply for an error, then clears it */
}

/* ---- fake client ----------------------------------------------------------------------- */

struct kv_client *kv_client_fake(void)
{
    struct kv_conn *k = st_xmalloc(sizeof *k);
    conn_init(k, -1);
    k->authed = true;
    k->c.flags = KV_CLIENT_AOF;
    k->c.id = 0;
    srv.next_id--; /* fake clients do not use up ids */
    return &k->c;
}

void kv_client_fake_free(struct kv_client *c)
{
    struct kv_conn *k = kv_conn_of(c);
    kv_multi_client_free(c);
    kv_pubsub_client_free(c);
    k->closing = true;
    conn_free_cb(k);
}

/* ---- input ---------------------------------------------------------------------------- */

static void ensure_argv(struct kv_conn *k, int argc)
{
    if (argc <= k->argv_cap)
        return;
    int cap = k->argv_cap ? k->argv_cap : 8;
    while (cap < argc)
        cap *= 2;
    k->argv = st_xrealloc(k->argv, (size_t)cap * sizeof *k->argv);
    k->argv_cap = cap;
}

static void protocol_error(struct kv_conn *k, const char *msg)
{
    kv_reply_error(&k->c, msg);
    k->c.flags |= KV_CLIENT_CLOSE_AFTER_REPLY;
    k->qpos = k->qbuf.len; /* drop the rest: the connection is going away */
    kv_req_release(&k->req);
    kv_req_init(&k->req);
}

/* Run every complete command in the query buffer (stops while the client is blocked). */
static void process_input(struct kv_conn *k)
{
    if (k->in_input)
        return;
    k->in_input = true;
    struct kv_conn *prev = srv.current;
    srv.current = k;
    while (!k->closing && !k->blk && !(k->c.flags & KV_CLIENT_CLOSE_AFTER_REPLY) && k->qpos < k->qbuf.len) {
        const char *err = NULL;
        bool authed = !auth_required(k);
        int rc = kv_req_parse(&k->req, k->qbuf.data, k->qbuf.len, &k->qpos, authed, &err);
        if (rc == KV_REQ_MORE)
            break;
        if (rc == KV_REQ_ERROR) {
            protocol_error(k, err);
            break;
        }
        if (k->req.argc == 0) {
            kv_req_argv(&k->req, k->qbuf.data, k->argv);
            continue;
        }
        ensure_argv(k, k->req.argc);
        k->c.argc = k->req.argc;
        kv_req_argv(&k->req, k->qbuf.data, k->argv);
        k->c.argv = k->argv;
        kv_call(&k->c);
    }
    size_t drop = kv_req_consumable(&k->req, k->qpos);
    if (!k->closing && drop > 0) {
        st_buf_consume(&k->qbuf, drop);
        kv_req_shift(&k->req, drop);
        k->qpos -= drop;
        if (k->qbuf.len == 0 && k->qbuf.cap > READ_CHUNK * 4)
            st_buf_release(&k->qbuf);
    }
    srv.current = prev;
    k->in_input = false;
}

static void conn_read(struct kv_conn *k)
{
    /* A big bulk is read in big pieces, but room is reserved at most 1 MiB ahead of what
     * has arrived: a peer announcing "$500000000" and sending nothing costs nothing. */
    size_t missing = kv_req_bulk_missing(&k->req, k->qbuf.len - k->qpos);
    size_t want = missing > READ_CHUNK ? (missing < BIG_READ ? missing : BIG_READ) : READ_CHUNK;
    if (st_buf_reserve(&k->qbuf, want) != 0) {
        if (k->qbuf.cap - k->qbuf.len == 0) {
            st_log_warn("kv: closing client that reached max query buffer length", ST_LOG_INT("id", k->c.id),
                        ST_LOG_INT("qbuf", k->qbuf.len));
            conn_close(k);
            return;
        }
        want = k->qbuf.cap - k->qbuf.len;
    }
    ssize_t n = read(k->fd, k->qbuf.data + k->qbuf.len, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_close(k);
        return;
    }
    k->qbuf.len += (size_t)n;
    k->qbuf.data[k->qbuf.len] = 0;
    stats.net_in += (uint64_t)n;
    k->last_ms = st_io_now_ms(srv.loop);
    process_input(k);
}

/* The ring appended n bytes to qbuf (n > 0), or the stream ended (0), failed (-errno) or
 * the query buffer limit was reached (ST_ELIMIT). */
static void conn_ring_data(struct kv_conn *k, long n)
{
    if (n == ST_ELIMIT) {
        st_log_warn("kv: closing client that reached max query buffer length", ST_LOG_INT("id", k->c.id),
                    ST_LOG_INT("qbuf", k->qbuf.len));
        conn_close(k);
        return;
    }
    if (n <= 0) {
        conn_close(k);
        return;
    }
    stats.net_in += (uint64_t)n;
    k->last_ms = st_io_now_ms(srv.loop);
    process_input(k);
}

static void conn_cb(struct st_io_loop *loop, struct st_io_watch *w, unsigned revents)
{
    (void)loop;
    struct kv_conn *k = w->data;
    if (revents & ST_IO_SENT) {
        k->sending = false;
        if (w->sres > 0)
            stats.net_out += (uint64_t)w->sres;
        if (w->sres < 0 && w->sres != -EAGAIN) {
            conn_close(k);
            return;
        }
        if (k->obuf.len) { /* the socket was full (the rest is back in obuf) */
            k->sync_write = true;
            revents |= ST_IO_WRITE;
        }
    }
    if (revents & ST_IO_WRITE)
        conn_write(k);
    if (k->closing)
        return;
    if (k->ring) {
        /* bytes arrive already read; epoll's view of the socket (beside EPOLLOUT) is
         * reported again by the receive, in order with the data */
        if (revents & ST_IO_RDATA)
            conn_ring_data(k, w->rres);
        return;
    }
    if (revents & (ST_IO_READ | ST_IO_ERROR))
        conn_read(k);
}

static void on_accept(struct st_io_acceptor *a, int fd)
{
    (void)a;
    if (srv.stopping) {
        close(fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (srv.nclients >= (size_t)kv_cfg.maxclients) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        ssize_t w = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL);
        (void)w;
        close(fd);
        stats.rejected_conns++;
        return;
    }
    struct kv_conn *k = st_xmalloc(sizeof *k);
    conn_init(k, fd);
    conn_addrs(k);
    k->next = srv.clients;
    if (srv.clients)
        srv.clients->prev = k;
    srv.clients = k;
    srv.nclients++;
    stats.connections++;
    st_io_watch_init(&k->w, fd, conn_cb, k);
    k->ring = st_io_watch_ring_read(srv.loop, &k->w, &k->qbuf);
    if (st_io_watch_set(srv.loop, &k->w, ST_IO_READ) != 0)
        conn_close(k);
}

/* ---- blocking -------------------------------------------------------------------------- */

static struct st_str wait_key(struct kv_db *db, struct kv_bytes key, char *buf, size_t cap, char **heap)
{
    /* the db's address, then the key: a map key unique per (db, key) */
    size_t n = sizeof(uintptr_t) + key.n;
    char *p = n <= cap ? buf : (*heap = st_xmalloc(n));
    uintptr_t a = (uintptr_t)db;
    memcpy(p, &a, sizeof a);
    if (key.n)
        memcpy(p + sizeof a, key.p, key.n);
    return (struct st_str){ p, n };
}

static void waitq_free(void *v)
{
    struct waitq *q = v;
    free(q->v);
    free(q);
}

static const struct st_map_type waiting_type = { NULL, NULL, true, waitq_free };

static void block_timeout(struct st_io_loop *loop, struct st_io_timer *t);

bool kv_parse_timeout(struct kv_client *c, struct kv_bytes b, int64_t *ms)
{
    double d;
    if (!kv_parse_double(b, &d) || isinf(d)) {
        kv_reply_error(c, "ERR timeout is not a float or out of range");
        return false;
    }
    if (d < 0) {
        kv_reply_error(c, "ERR timeout is negative");
        return false;
    }
    double v = ceil(d * 1000.0);
    if (v > 9.2e15) {
        kv_reply_error(c, "ERR timeout is out of range");
        return false;
    }
    *ms = (int64_t)v;
    return true;
}

/* Copy argv into one allocation owned by the block. */
static struct kv_bytes *copy_argv(int argc, const struct kv_bytes *argv)
{
    size_t bytes = (size_t)argc * sizeof(struct kv_bytes);
    for (int i = 0; i < argc; i++)
        bytes += argv[i].n + 1;
    struct kv_bytes *v = st_xmalloc(bytes);
    char *p = (char *)(v + argc);
    for (int i = 0; i < argc; i++) {
        if (argv[i].n)
            memcpy(p, argv[i].p, argv[i].n);
        p[argv[i].n] = 0;
        v[i] = kv_b(p, argv[i].n);
        p += argv[i].n + 1;
    }
    return v;
}

void kv_block(struct kv_client *c, int nkeys, const struct kv_bytes *keys, int64_t timeout_ms)
{
    struct kv_conn *k = kv_conn_of(c);
    if (k->blk) { /* re-run of a blocked command that found nothing: keep its place */
        k->blk->reblocked = true;
        return;
    }
    if (k->fd < 0 || (c->flags & KV_CLIENT_MULTI) || srv.depth > 1) {
        kv_reply_null_array(c); /* inside EXEC or replay: behave as if timed out at once */
        return;
    }
    struct kv_blocked *b = st_xcalloc(1, sizeof *b);
    b->cmd = k->last_cmd;
    b->argc = c->argc;
    b->argv = copy_argv(c->argc, c->argv);
    b->keys = st_xcalloc((size_t)nkeys, sizeof *b->keys);
    if (srv.waiting.type == NULL)
        st_map_init(&srv.waiting, &waiting_type);
    for (int i = 0; i < nkeys; i++) {
        char *heap = NULL, tmp[256];
        struct st_str wk = wait_key(c->db, keys[i], tmp, sizeof tmp, &heap);
        bool created;
        struct st_map_slot *s = st_map_upsert(&srv.waiting, wk, &created);
        free(heap);
        if (created)
            s->val = st_xcalloc(1, sizeof(struct waitq));
        struct waitq *q = s->val;
        bool dup = false;
        for (size_t j = 0; j < q->n; j++)
            dup |= q->v[j] == k;
        if (dup)
            continue;
        if (q->n == q->cap) {
            q->cap = q->cap ? q->cap * 2 : 4;
            q->v = st_xrealloc(q->v, q->cap * sizeof(struct kv_conn *));
        }
        q->v[q->n++] = k;
        b->keys[b->nkeys++] = s->key; /* the map owns the key copy */
    }
    st_io_timer_init(&b->timer, block_timeout, k);
    if (timeout_ms > 0)
        st_io_timer_start(srv.loop, &b->timer, timeout_ms);
    k->blk = b;
    srv.nblocked++;
}

static void resume_cb(void *arg)
{
    struct kv_conn *k = arg;
    k->resume = false;
    if (!k->closing && !k->blk)
        process_input(k);
}

/* Leave every wait queue; with resume, go on with the client's pipelined input. */
static void unblock(struct kv_conn *k, bool resume)
{
    struct kv_blocked *b = k->blk;
    for (int i = 0; i < b->nkeys; i++) {
        struct st_str key = b->keys[i];
        struct st_map_slot *s = st_map_find(&srv.waiting, key);
        if (!s)
            continue;
        struct waitq *q = s->val;
        for (size_t j = 0; j < q->n; j++) {
            if (q->v[j] == k) {
                memmove(q->v + j, q->v + j + 1, (q->n - j - 1) * sizeof(struct kv_conn *));
                q->n--;
                break;
            }
        }
        if (q->n == 0)
            st_map_del(&srv.waiting, key, NULL); /* frees the key copy b->keys[i] pointed to */
    }
    st_io_timer_stop(srv.loop, &b->timer);
    free(b->keys);
    free(b->argv);
    free(b);
    k->blk = NULL;
    srv.nblocked--;
    if (resume && !k->resume && k->qbuf.len > k->qpos) {
        k->resume = true;
        st_io_defer(srv.loop, &k->rdefer, resume_cb, k);
    }
}

static void block_timeout(struct st_io_loop *loop, struct st_io_timer *t)
{
    (void)loop;
    struct kv_conn *k = t->data;
    kv_reply_null_array(&k->c);
    unblock(k, true);
}

bool kv_server_unblock(struct kv_conn *k, bool error)
{
    if (!k->blk)
        return false;
    if (error)
        kv_reply_error(&k->c, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else
        kv_reply_null_array(&k->c);
    unblock(k, true);
    return true;
}

void kv_signal_key_ready(struct kv_db *db, struct kv_bytes key)
{
    if (srv.nblocked == 0)
        return;
    char *heap = NULL, tmp[256];
    struct st_str wk = wait_key(db, key, tmp, sizeof tmp, &heap);
    if (st_map_find(&srv.waiting, wk)) {
        if (srv.ready_set.type == NULL)
            st_map_init(&srv.ready_set, &st_map_type_dup);
        if (st_map_put(&srv.ready_set, wk, &srv)) {
            if (srv.nready == srv.ready_cap) {
                srv.ready_cap = srv.ready_cap ? srv.ready_cap * 2 : 8;
                srv.ready = st_xrealloc(srv.ready, srv.ready_cap * sizeof *srv.ready);
            }
            char *copy = st_xmalloc(wk.len);
            memcpy(copy, wk.ptr, wk.len);
            srv.ready[srv.nready++] = (struct st_str){ copy, wk.len };
        }
    }
    free(heap);
}

/* Re-run the command of a client blocked on a ready key. true if it was served. */
static bool rerun(struct kv_conn *k)
{
    struct kv_blocked *b = k->blk;
    if (!b) /* callers check; executing may clear k->blk, which is checked again below */
        return true;
    struct kv_client *c = &k->c;
    c->argc = b->argc;
    c->argv = b->argv;
    b->reblocked = false;
    srv.depth++;
    now_cache = wall_ms();
    execute(c, b->cmd);
    srv.depth--;
    if (k->closing || !k->blk)
        return true;
    if (b->reblocked)
        return false;
    unblock(k, true);
    return true;
}

static void serve_key(struct st_str key)
{
    struct st_map_slot *s = st_map_find(&srv.waiting, key);
    if (!s)
        return;
    struct waitq *q = s->val;
    /* Snapshot the queue: serving a client removes it (and may free the queue). */
    size_t n = q->n;
    struct kv_conn **v = st_xmalloc(n * sizeof(struct kv_conn *));
    memcpy(v, q->v, n * sizeof(struct kv_conn *));
    for (size_t i = 0; i < n; i++) {
        struct kv_conn *k = v[i];
        if (k->closing || !k->blk)
            continue;
        if (!rerun(k))
            break; /* the key has nothing left for the next in line either */
    }
    free(v);
}

static void handle_ready_keys(void)
{
    while (srv.nready) {
        struct st_str *list = srv.ready;
        size_t n = srv.nready;
        srv.ready = NULL;
        srv.nready = srv.ready_cap = 0;
        st_map_clear(&srv.ready_set);
        for (size_t i = 0; i < n; i++) {
            serve_key(list[i]);
            free((void *)list[i].ptr);
        }
        free(list);
    }
}

/* ---- cron ------------------------------------------------------------------------------- */

static void close_idle_clients(void)
{
    int64_t now = st_io_now_ms(srv.loop);
    for (struct kv_conn *k = srv.clients, *next; k; k = next) {
        next = k->next;
        if (k->blk || (k->c.flags & KV_CLIENT_PUBSUB) || (k->c.pubsub && kv_pubsub_count(&k->c)))
            continue; /* Redis never times out blocked or subscribed clients */
        if (now - k->last_ms > kv_cfg.timeout_s * 1000)
            conn_close(k);
    }
}

/*
 * instantaneous_ops_per_sec as Redis computes it: every 100 ms the cron records the ops per
 * second since the previous sample, and INFO reports the mean of the last 16 samples. Zero
 * cost per command: it reads the counter that dispatch already increments.
 */
#define OPS_SAMPLES 16
#define OPS_PERIOD_MS 100
static struct {
    uint64_t last_commands;
    int64_t last_ms;
    uint64_t samples[OPS_SAMPLES];
    int next;
} ops;

static void ops_sample(void)
{
    int64_t now = st_io_now_ms(srv.loop);
    if (ops.last_ms && now - ops.last_ms < OPS_PERIOD_MS)
        return;
    uint64_t commands = kv_stats()->commands;
    if (ops.last_ms && now > ops.last_ms) {
        ops.samples[ops.next] = (commands - ops.last_commands) * 1000 / (uint64_t)(now - ops.last_ms);
        ops.next = (ops.next + 1) % OPS_SAMPLES;
    }
    ops.last_commands = commands;
    ops.last_ms = now;
}

uint64_t kv_server_ops_per_sec(void)
{
    uint64_t sum = 0;
    for (int i = 0; i < OPS_SAMPLES; i++)
        sum += ops.samples[i];
    return sum / OPS_SAMPLES;
}

static void cron_cb(struct st_io_loop *loop, struct st_io_timer *t)
{
    now_cache = wall_ms();
    ops_sample();
    kv_db_active_expire();
    kv_persist_cron();
    if (kv_cfg.timeout_s > 0)
        close_idle_clients();
    now_cache = 0;
    int hz = kv_cfg.hz < 1 ? 1 : kv_cfg.hz > 500 ? 500 : kv_cfg.hz;
    st_io_timer_start(loop, t, 1000 / hz);
}

/* ---- start and stop ------------------------------------------------------------------------ */

int kv_server_shutdown(int save)
{
    bool do_save = save < 0 ? kv_cfg.nsave > 0 : save > 0;
    if (kv_persist_shutdown(do_save) != 0)
        return -1;
    srv.stopping = true;
    st_io_loop_stop(srv.loop);
    return 0;
}

static void on_stop(struct st_io_signals *s, int signo)
{
    (void)s;
    st_log_info("kv: received signal, shutting down", ST_LOG_INT("signal", signo));
    if (kv_server_shutdown(-1) != 0)
        st_log_error("kv: errors trying to shut down the server, check the logs", ST_LOG_INT("signal", signo));
}

static void on_reload(struct st_io_signals *s)
{
    (void)s;
    st_log_reopen();
}

/* "127.0.0.1 -::1" -> listeners; a leading '-' marks an address that may be unavailable. */
static int open_listeners(struct st_error *err)
{
    char spec[sizeof kv_cfg.bind];
    snprintf(spec, sizeof spec, "%s", kv_cfg.bind);
    int port = kv_cfg.port;
    for (char *ctx = NULL, *tok = strtok_r(spec, " ", &ctx); tok; tok = strtok_r(NULL, " ", &ctx)) {
        bool optional = tok[0] == '-';
        const char *host = optional ? tok + 1 : tok;
        char hp[300];
        if (strcmp(host, "*") == 0)
            snprintf(hp, sizeof hp, "0.0.0.0:%d", port);
        else if (strcmp(host, "::*") == 0)
            snprintf(hp, sizeof hp, "[::]:%d", port);
        else if (strchr(host, ':'))
            snprintf(hp, sizeof hp, "[%s]:%d", host, port);
        else
            snprintf(hp, sizeof hp, "%s:%d", host, port);
        if (srv.nls == MAX_LISTENERS)
            break;
        int fd;
        struct st_error e;
        int rc = st_io_listen(hp, 511, 0, &fd, &e);
        if (rc) {
            if (optional)
                continue;
            return st_error_set(err, rc, "Could not create server TCP listening socket %s: %s", hp, e.msg);
        }
        if (port == 0) /* every further address uses the port the kernel picked */
            st_io_local_port(fd, &port);
        srv.ls[srv.nls].fd = fd;
        rc = st_io_acceptor_start(srv.loop, &srv.ls[srv.nls].acc, fd, on_accept, NULL);
        if (rc) {
            close(fd);
            return st_error_set(err, rc, "acceptor: %s", st_strerror(rc));
        }
        srv.nls++;
    }
    if (srv.nls == 0)
        return st_error_set(err, -EINVAL, "Failed listening on port %d (tcp), aborting.", kv_cfg.port);
    srv.port = port;
    return 0;
}

static void close_everything(void)
{
    for (int i = 0; i < srv.nls; i++) {
        st_io_acceptor_stop(srv.loop, &srv.ls[i].acc);
        close(srv.ls[i].fd);
    }
    srv.nls = 0;
    while (srv.clients)
        conn_close(srv.clients);
    st_io_timer_stop(srv.loop, &srv.cron);
    st_io_signals_close(srv.loop, &srv.sig);
    /* run the deferred frees */
    st_io_loop_run_once(srv.loop, 0);
    st_map_release(&srv.waiting);
    st_map_release(&srv.ready_set);
    free(srv.ready);
    kv_db_release_all();
}

static int serve(struct st_error *err)
{
    int rc = st_io_signals_block();
    if (!rc)
        rc = st_io_loop_new(&srv.loop);
    if (rc)
        return st_error_set(err, rc, "event loop: %s", st_strerror(rc));
    st_io_timer_init(&srv.cron, cron_cb, NULL);
    srv.sig.w.fd = -1; /* not open yet: close_everything must not close fd 0 */
    srv.start_ms = wall_ms();
    rc = kv_persist_load();
    if (rc == 0)
        rc = open_listeners(err);
    else
        st_error_set(err, -EINVAL, "loading the data failed (see the log)");
    if (rc == 0)
        rc = st_io_signals_open(srv.loop, &srv.sig, on_stop, on_reload, NULL);
    if (rc == 0) {
        st_io_timer_start(srv.loop, &srv.cron, 1000 / (kv_cfg.hz > 0 ? kv_cfg.hz : 10));
        st_log_info("kv: ready to accept connections", ST_LOG_INT("port", srv.port), ST_LOG_STR("dir", kv_cfg.dir));
        fprintf(stdout, "Ready to accept connections tcp port %d\n", srv.port);
        fflush(stdout);
        rc = st_io_loop_run(srv.loop);
    }
    close_everything();
    st_io_loop_free(srv.loop);
    srv.loop = NULL;
    return rc;
}

int st_kv_main(int argc, char **argv)
{
    struct st_error err = { 0 };
    int rc = kv_config_load(argc - 1, argv + 1, &err);
    if (rc > 0)
        return 0;
    if (rc < 0)
        return 1;
    kv_commands_init();
    rc = serve(&err);
    if (rc) {
        fprintf(stderr, "strata kv: %s\n", err.msg[0] ? err.msg : st_strerror(rc));
        return 1;
    }
    return 0;
}

/* ---- CLIENT LIST text ------------------------------------------------------------------------ */

void kv_client_describe(const struct kv_client *c, struct st_buf *out)
{
    const struct kv_conn *k = (const struct kv_conn *)c;
    char flags[8];
    size_t nf = 0;
    if (c->flags & KV_CLIENT_MULTI)
        flags[nf++] = 'x';
    if (k->blk)
        flags[nf++] = 'b';
    if (c->flags & KV_CLIENT_PUBSUB)
        flags[nf++] = 'P';
    if (c->flags & KV_CLIENT_NO_EVICT)
        flags[nf++] = 'e';
    if (nf == 0)
        flags[nf++] = 'N';
    flags[nf] = 0;
    int64_t now = kv_now_ms();
    int64_t idle = (st_io_now_ms(srv.loop) - k->last_ms) / 1000;
    size_t nsub = c->pubsub ? kv_pubsub_count(c) : 0;
    char cmdname[96] = "NULL";
    if (k->last_cmd)
        kv_cmd_fullname(k->last_cmd, cmdname, sizeof cmdname);
    size_t omem = k->obuf.cap;
    st_buf_printf(out,
                  "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%zu psub=0 ssub=0 "
                  "multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=%zu oll=0 omem=%zu "
                  "tot-mem=%zu events=r%s cmd=%s user=default redir=-1 resp=%d\n",
                  (unsigned long long)c->id, k->addr, k->laddr, k->fd, k->name ? k->name : "",
                  (long long)((now - k->ctime_ms) / 1000), (long long)(idle < 0 ? 0 : idle), flags, c->db_index, nsub,
                  (c->flags & KV_CLIENT_MULTI) ? 0 : -1, k->qbuf.len - k->qpos, k->qbuf.cap - k->qbuf.len, k->qbuf.cap,
                  k->qbuf.cap, k->obuf.len - k->opos, omem, sizeof *k + k->qbuf.cap + omem,
                  (k->w.events & ST_IO_WRITE) ? "w" : "", cmdname, c->resp);
}
