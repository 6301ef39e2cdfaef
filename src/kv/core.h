/*
 * core.h - internal header of the core of `strata kv` (server.c, resp.c, commands.c,
 * config.c, t_server.c): the request parser, the connection struct, the command table's
 * lookups and the configuration entry points. The other parts use internal.h only.
 *
 * A struct kv_conn embeds the struct kv_client the commands see as its first member, so
 * the two pointers convert freely (every kv_client is a kv_conn, the fake one included).
 */
#ifndef ST_KV_CORE_H
#define ST_KV_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "io/io.h"
#include "kv/internal.h"

/* What we answer as: redis-cli and client libraries check these (HELLO, INFO). */
#define KV_REDIS_VERSION "7.0.15"

/* ---- request parser (resp.c) ------------------------------------------------------- */

/* Redis's limits: a header line ($n or *n) or an inline request longer than this without
 * its newline is refused, so a peer cannot make us scan an unbounded line. */
#define KV_INLINE_MAX ((size_t)64 * 1024)
/* A bulk at least this big is read straight into room reserved for it (no doubling). */
#define KV_BIG_ARG (32 * 1024)

struct kv_arg {
    size_t off, len;
};

/*
 * The incremental parser of one connection. Arguments are recorded as offsets into the
 * query buffer, not pointers, so the buffer may grow (realloc) between reads while a
 * command is half received; kv_req_argv turns them into slices once it is complete.
 * Inline requests are unescaped into inl (their own bytes).
 */
struct kv_req {
    int type;          /* 0 between requests, '*' multibulk, 'i' inline */
    int64_t multibulk; /* arguments still to come */
    int64_t bulklen;   /* length of the bulk being read, -1 while reading its $ line */
    int argc, cap;
    struct kv_arg *args;
    size_t start; /* offset of the '*' of a multibulk being received */
    struct st_buf inl;
};

enum { KV_REQ_MORE = 0, KV_REQ_DONE = 1, KV_REQ_ERROR = -1 };

void kv_req_init(struct kv_req *r);
void kv_req_release(struct kv_req *r);
/*
 * Parse from buf[*pos..len). KV_REQ_DONE: a command (maybe of zero arguments, skip those)
 * is complete and *pos is past it; KV_REQ_MORE: everything up to len was consumed into
 * the state, call again with more bytes; KV_REQ_ERROR: *err is Redis's protocol error
 * text ("ERR Protocol error: ..."), the connection must be closed after replying it.
 * authed false applies Redis's limits for unauthenticated peers.
 */
int kv_req_parse(struct kv_req *r, const char *buf, size_t len, size_t *pos, bool authed, const char **err);
/* After KV_REQ_DONE: the arguments as slices into buf (or inl); r is reset. */
void kv_req_argv(struct kv_req *r, const char *buf, struct kv_bytes *argv);
/* How many leading bytes of the query buffer may be dropped when parsing stopped at pos:
 * not the bytes of a command still being received (its arguments are offsets into them). */
size_t kv_req_consumable(const struct kv_req *r, size_t pos);
/* The first n bytes of the query buffer were dropped: shift recorded offsets. */
void kv_req_shift(struct kv_req *r, size_t n);
/* Bytes still missing for the bulk being read (0 when not inside a bulk). */
size_t kv_req_bulk_missing(const struct kv_req *r, size_t avail);

/* Strict integer as Redis's string2ll ("0", "-5"; not "+1", "01", "-0", " 1"). */
bool kv_resp_strtoll(const char *p, size_t n, int64_t *out);
/* Decimal digits of v into buf (>= 21 bytes); returns the length. */
size_t kv_resp_ll2str(char *buf, int64_t v);

/* ---- connections (server.c) -------------------------------------------------------- */

struct kv_blocked;

struct kv_conn {
    struct kv_client c; /* first: (struct kv_conn *)client is valid */
    struct st_io_watch w;
    int fd;             /* -1 for the fake client */
    struct st_buf qbuf; /* query buffer */
    size_t qpos;        /* parsed up to here (consumed once per batch) */
    struct st_buf obuf; /* c.out points here */
    size_t opos;        /* written up to here */
    struct kv_req req;
    struct kv_bytes *argv; /* room for c.argv */
    int argv_cap;
    char addr[64], laddr[64];
    char *name;         /* CLIENT SETNAME, NULL when none */
    int64_t ctime_ms;   /* connected (wall) */
    int64_t last_ms;    /* last interaction (monotonic) */
    int64_t soft_since; /* output above the pubsub soft limit since (monotonic ms), 0 none */
    const struct kv_cmd *last_cmd;
    bool authed;
    bool pending;                /* in the list of clients with output to flush this turn */
    bool closing;                /* closed: freed at the end of the turn */
    bool in_input;               /* inside process_input (no re-entry) */
    bool resume;                 /* unblocked: parse what is left in qbuf */
    bool ring;                   /* reads arrive through the loop's io_uring (io.h) */
    bool sending;                /* an st_io_send is in flight: ST_IO_SENT continues */
    bool sync_write;             /* the socket filled up: plain sends until obuf drains */
    struct kv_blocked *blk;      /* blocking state, NULL when not blocked */
    struct kv_conn *prev, *next; /* all clients */
    struct kv_conn *pnext;       /* pending writes */
    struct st_io_defer defer;    /* the free at the end of the turn */
    struct st_io_defer rdefer;   /* resume after unblocking */
};

static inline struct kv_conn *kv_conn_of(struct kv_client *c)
{
    return (struct kv_conn *)c;
}

/* resp.c calls it when a client's output goes from empty to non-empty. */
void kv__conn_pending(struct kv_conn *k);
/* Number of connected clients, blocked clients, and the ids issued so far. */
size_t kv_server_nclients(void);
size_t kv_server_nblocked(void);
/* Find a connected client by id (CLIENT KILL ID, CLIENT UNBLOCK); NULL if none. */
struct kv_conn *kv_server_find(uint64_t id);
/* Unix ms when the server started; the TCP port it listens on. */
int64_t kv_server_start_ms(void);
int kv_server_port(void);
/* SHUTDOWN: persist (save: -1 default rule, 0 no, 1 yes) and stop the loop. 0, or -1
 * when persistence refused (the server goes on). */
int kv_server_shutdown(int save);
/* CLIENT UNBLOCK: reply the timeout reply (or an error) to a blocked client now. */
bool kv_server_unblock(struct kv_conn *k, bool error);
/* Error replies sent so far (INFO stats total_error_replies). */
uint64_t kv_server_error_replies(void);
/* Total bytes of query and output buffers of every client (INFO memory). */
size_t kv_server_client_memory(void);

/* ---- command table (commands.c) ---------------------------------------------------- */

void kv_commands_init(void);
/* Case-insensitive lookup of a command (no allocation); NULL when unknown. */
const struct kv_cmd *kv_cmd_lookup(struct kv_bytes name);
const struct kv_cmd *kv_subcmd_lookup(const struct kv_cmd *parent, struct kv_bytes name);
/* Every top-level command, in table order. */
size_t kv_cmd_count(void);
const struct kv_cmd *kv_cmd_at(size_t i);
/* The parent of a subcommand entry (NULL for top-level commands). */
const struct kv_cmd *kv_cmd_parent(const struct kv_cmd *cmd);
/* "config|get" or "get" into buf (>= 64 bytes). */
const char *kv_cmd_fullname(const struct kv_cmd *cmd, char *buf, size_t n);

/* ---- configuration (config.c) ------------------------------------------------------ */

/*
 * Parse the command line (`strata kv [config-file] [--name value ...]`) and the config
 * file into kv_cfg. 0; ST_FLAGS_HELP-like 1 when --help/--version printed something;
 * or an error (err says why: Redis's "Bad directive or wrong number of arguments").
 */
int kv_config_load(int argc, char **argv, struct st_error *err);
/* enable-debug-command: true when DEBUG is allowed from this client. */
bool kv_config_debug_allowed(const struct kv_conn *k);
/* Name of the eviction policy / fsync policy as CONFIG GET prints them. */
const char *kv_config_policy_name(enum kv_policy p);
const char *kv_config_fsync_name(enum kv_fsync f);

#endif
