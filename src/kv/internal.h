/*
 * internal.h - the contract between the parts of `strata kv` (a Redis-compatible server).
 *
 * Read this before writing a command. The server is one thread running one st_io loop,
 * like Redis: commands run to completion, so no locks anywhere in src/kv. Work that must
 * not block clients (AOF rewrite, BGSAVE) runs in a fork()ed child on a copy-on-write
 * snapshot, as in Redis.
 *
 * Files (each part owns its files; the core owns everything not listed under a type):
 *   server.c   listener, clients, the read -> parse -> dispatch -> reply cycle, limits
 *   resp.c     RESP2/RESP3 request parser (multibulk and inline) and reply encoders
 *   commands.c the command table (assembled from the *.def files), COMMAND, COMMAND DOCS
 *   db.c       keyspaces, lookup with lazy expiry, active expiry, WATCH bookkeeping
 *   t_string.c t_keys.c               strings, generic key commands
 *   t_list.c t_hash.c                 lists (+ blocking pops), hashes
 *   t_set.c t_zset.c                  sets, sorted sets (+ BZPOP*)
 *   pubsub.c multi.c t_server.c       pub/sub, MULTI/EXEC/WATCH, server/connection commands
 *   aof.c snapshot.c evict.c          persistence, recovery, maxmemory policies
 *   config.c                          the command line / config file / CONFIG GET|SET
 * Each t_*.c has a matching t_*.def listing its commands (see "command table" below).
 *
 * Conventions: keys and values are binary-safe byte strings (struct kv_bytes, not NUL
 * terminated unless stated). Replies are appended to the client's output buffer with the
 * kv_reply_* functions, which pick the RESP2 or RESP3 form from c->resp. Error texts are
 * Redis's own, byte for byte (the KV_ERR_* constants below), because clients and tests
 * match on them.
 */
#ifndef ST_KV_INTERNAL_H
#define ST_KV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "io/io.h"

struct kv_db;     /* db.c: one per SELECTable database */
struct kv_server; /* server.c: the process's one server */
struct kv_client;
struct kv_emitter;

/* ---- bytes ------------------------------------------------------------------------- */

struct kv_bytes {
    const char *p;
    size_t n;
};

static inline struct kv_bytes kv_b(const char *p, size_t n)
{
    return (struct kv_bytes){ p, n };
}

/* Case-insensitive comparison with a C string (option names: "NX", "WITHSCORES"). */
bool kv_eq(struct kv_bytes a, const char *lit);

/* Strict integer / float parsing the way Redis does it (no spaces, no trailing junk,
 * no overflow; floats accept inf/-inf, reject nan). true on success. */
bool kv_parse_i64(struct kv_bytes b, int64_t *out);
bool kv_parse_double(struct kv_bytes b, double *out);
/* Shortest text that reads back as the same double (Redis's %.17g rules: "inf", "-inf",
 * integers without ".0"). Returns the length written into buf (at least 32 bytes). */
size_t kv_fmt_double(double d, char *buf);

/* Glob match as Redis's stringmatchlen (*, ?, [a-z], [^a], \x); nocase for KEYS-like use. */
bool kv_glob(struct kv_bytes pattern, struct kv_bytes s, bool nocase);

/* ---- values ------------------------------------------------------------------------ */

enum kv_type { KV_STRING = 0, KV_LIST, KV_HASH, KV_SET, KV_ZSET, KV_NTYPES };

/* Encodings as OBJECT ENCODING names them; a type picks among its own. */
enum kv_enc {
    KV_ENC_RAW,       /* "raw"        string in its own allocation */
    KV_ENC_EMBSTR,    /* "embstr"     short string stored inside the entry */
    KV_ENC_INT,       /* "int"        string that is a 64-bit integer */
    KV_ENC_LISTPACK,  /* "listpack"   small list/hash/set/zset in one compact block */
    KV_ENC_QUICKLIST, /* "quicklist"  list of listpack nodes */
    KV_ENC_HASHTABLE, /* "hashtable"  hash or set */
    KV_ENC_INTSET,    /* "intset"     set of integers */
    KV_ENC_SKIPLIST,  /* "skiplist"   sorted set: skiplist + dict */
};

const char *kv_enc_name(enum kv_enc e);
const char *kv_type_name(enum kv_type t); /* "string", "list", ... as TYPE answers */

/*
 * One key and its value. The keyspace owns entries; commands get them from the lookup
 * functions and must not keep pointers across commands (an entry may be reallocated when
 * a string value changes size, or freed by expiry/eviction).
 *
 * Strings: the core owns the representation; use kv_str_get/kv_str_set* only.
 * Collections: v.ptr points to the type's own structure (t_list.c decides what a list
 * is), created and freed through that type's kv_type_ops.
 */
struct kv_entry {
    struct kv_entry *next; /* hash chain (db.c) */
    int64_t expire_ms;     /* absolute unix ms, or -1 when the key does not expire */
    uint32_t lru;          /* LRU clock (seconds) or LFU (16-bit minutes | 8-bit counter), evict.c */
    uint32_t vol_i;        /* index in the db's volatile-key array while expire_ms >= 0 */
    uint8_t type;          /* enum kv_type */
    uint8_t enc;           /* enum kv_enc */
    uint32_t klen;
    union {
        int64_t i;  /* KV_ENC_INT */
        void *ptr;  /* KV_ENC_RAW (a struct kv_rawstr) and every collection */
        size_t emb; /* KV_ENC_EMBSTR: length; the bytes follow the key in key[] */
    } v;
    char key[]; /* klen bytes, then NUL, then the embedded string (embstr) and NUL */
};

static inline struct kv_bytes kv_entry_key(const struct kv_entry *e)
{
    return kv_b(e->key, e->klen);
}

/* What the core needs from each collection type (registered in commands.c). */
struct kv_type_ops {
    void (*free)(void *ptr);
    void *(*dup)(const void *ptr);  /* deep copy (COPY) */
    size_t (*mem)(const void *ptr); /* bytes used, for MEMORY USAGE, INFO and maxmemory */
    size_t (*len)(const void *ptr); /* elements (an empty collection is deleted by its type) */
    /*
     * Emit commands that rebuild this value under key, for AOF rewrite and snapshots
     * (both files are RESP command streams, docs/adr). Batch big values (at most 64
     * elements per command, like Redis's AOF_REWRITE_ITEMS_PER_CMD). Return 0 or -errno
     * from kv_emit.
     */
    int (*emit)(const void *ptr, struct kv_bytes key, struct kv_emitter *em);
};
extern const struct kv_type_ops kv_list_ops, kv_hash_ops, kv_set_ops, kv_zset_ops;

/* A sink for commands: the AOF writer, the rewrite child, the snapshot writer. */
struct kv_emitter {
    int (*cmd)(struct kv_emitter *em, int argc, const struct kv_bytes *argv);
    void *data;
};
static inline int kv_emit(struct kv_emitter *em, int argc, const struct kv_bytes *argv)
{
    return em->cmd(em, argc, argv);
}

/* ---- strings (db.c owns the representation) ---------------------------------------- */

/* The bytes of a string value; tmp (>= 24 bytes) holds the text of an int encoding. */
struct kv_bytes kv_str_get(const struct kv_entry *e, char tmp[24]);
/*
 * Set key in db to a string value (creating or replacing the entry, whatever its type;
 * the expiry is cleared unless keep_ttl). Picks int/embstr/raw. Returns the entry.
 */
struct kv_entry *kv_str_set(struct kv_db *db, struct kv_bytes key, struct kv_bytes val, bool keep_ttl);
struct kv_entry *kv_str_set_int(struct kv_db *db, struct kv_bytes key, int64_t v, bool keep_ttl);
/* In-place edits for APPEND / SETRANGE: make the value raw with room for len bytes and
 * return a writable pointer to it (the entry stays valid). */
char *kv_str_resize(struct kv_db *db, struct kv_entry *e, size_t len);

/* ---- keyspace ---------------------------------------------------------------------- */

/*
 * Lookups apply lazy expiry (an expired key is deleted and reported missing; on a
 * replica-less server that is always right). _read also updates LRU/LFU and the
 * keyspace_hits/misses stats. NULL when absent.
 */
struct kv_entry *kv_lookup_read(struct kv_db *db, struct kv_bytes key);
struct kv_entry *kv_lookup_write(struct kv_db *db, struct kv_bytes key);

/*
 * The usual start of a command on key: looks up for reading or writing; when the key
 * exists with another type, replies WRONGTYPE and returns NULL with *wrong set. When the
 * key is absent returns NULL with *wrong false.
 */
struct kv_entry *kv_lookup_type(struct kv_client *c, struct kv_bytes key, enum kv_type t, bool write, bool *wrong);

/* Add a new key with a collection value (key must be absent). Returns the entry. */
struct kv_entry *kv_db_add(struct kv_db *db, struct kv_bytes key, enum kv_type t, enum kv_enc enc, void *ptr);
/* Delete key (frees the value). true if it existed. */
bool kv_db_delete(struct kv_db *db, struct kv_bytes key);
/* Delete e (from a lookup in this command). */
void kv_db_delete_entry(struct kv_db *db, struct kv_entry *e);
/* Expiry: ms absolute, or -1 to persist. */
void kv_db_set_expire(struct kv_db *db, struct kv_entry *e, int64_t when_ms);
size_t kv_db_size(const struct kv_db *db);
/* Empty the db (FLUSHDB); async hands the old table to a background free where possible. */
void kv_db_flush(struct kv_db *db, bool async);
/* A random key (RANDOMKEY, eviction sampling); NULL when empty. Skips expired keys. */
struct kv_entry *kv_db_random(struct kv_db *db);
/* Cursor scan in the style of Redis's reverse-binary cursor: visits every key present for
 * the whole scan at least once, even across rehashing. Returns the next cursor (0: done). */
uint64_t kv_db_scan(struct kv_db *db, uint64_t cursor, void (*fn)(void *arg, struct kv_entry *e), void *arg);
/* Rename (RENAME/RENAMENX/MOVE/COPY helpers): moves entry e to newkey in dst (replacing). */
struct kv_entry *kv_db_rename(struct kv_db *src, struct kv_entry *e, struct kv_db *dst, struct kv_bytes newkey);

/*
 * Every write command calls this once per key it modified (after the change). It
 * invalidates WATCHes on the key, wakes clients blocked on it (lists, zsets), and bumps
 * the dirty counter that decides propagation to the AOF.
 */
void kv_signal_modified(struct kv_client *c, struct kv_db *db, struct kv_bytes key);

/* Now, unix ms, cached per event-loop turn and per command (as Redis's commandTimeSnapshot). */
int64_t kv_now_ms(void);

/* ---- clients and replies ----------------------------------------------------------- */

struct kv_client {
    uint64_t id;
    int argc;
    struct kv_bytes *argv; /* the current command; argv[0] is its name */
    struct kv_db *db;
    int db_index;
    int resp;       /* 2 or 3 (HELLO) */
    unsigned flags; /* KV_CLIENT_* */
    struct kv_server *srv;
    struct st_buf *out; /* pending reply bytes (server.c flushes them) */
    /* State owned by the feature files (each frees its own in its *_client_free hook). */
    void *multi;  /* multi.c: queued commands, watched keys */
    void *pubsub; /* pubsub.c: subscribed channels and patterns */
    /* The rest (sockets, query buffer, blocking state, names) is server.c's. */
};

enum {
    KV_CLIENT_MULTI = 1u << 0,      /* inside MULTI: commands are queued */
    KV_CLIENT_DIRTY_CAS = 1u << 1,  /* a WATCHed key changed: EXEC fails */
    KV_CLIENT_DIRTY_EXEC = 1u << 2, /* a queued command was rejected: EXECABORT */
    KV_CLIENT_PUBSUB = 1u << 3,     /* RESP2 subscriber: only (P)(UN)SUBSCRIBE, PING, QUIT */
    KV_CLIENT_CLOSE_AFTER_REPLY = 1u << 4,
    KV_CLIENT_NO_EVICT = 1u << 5,
    KV_CLIENT_AOF = 1u << 6, /* the fake client that replays the AOF at start */
};

/* Reply builders: each appends one RESP value. Lengths of aggregates come first. */
void kv_reply_ok(struct kv_client *c);                     /* +OK */
void kv_reply_status(struct kv_client *c, const char *s);  /* +s */
void kv_reply_error(struct kv_client *c, const char *msg); /* -msg (msg carries its code: "ERR ...") */
void kv_reply_errorf(struct kv_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kv_reply_int(struct kv_client *c, int64_t v);          /* :v */
void kv_reply_bulk(struct kv_client *c, struct kv_bytes b); /* $n\r\n...\r\n */
void kv_reply_bulk_c(struct kv_client *c, const char *s);
void kv_reply_bulk_i64(struct kv_client *c, int64_t v);         /* an integer as a bulk string */
void kv_reply_scan_head(struct kv_client *c, uint64_t cursor);  /* *2, then the next cursor as a bulk (SCAN family) */
void kv_reply_double(struct kv_client *c, double d);            /* RESP3 ,d  RESP2 bulk */
void kv_reply_null(struct kv_client *c);                        /* RESP3 _   RESP2 $-1 */
void kv_reply_null_array(struct kv_client *c);                  /* RESP3 _   RESP2 *-1 */
void kv_reply_bool(struct kv_client *c, bool b);                /* RESP3 #t  RESP2 :1/:0 */
void kv_reply_array(struct kv_client *c, size_t n);             /* *n */
void kv_reply_map(struct kv_client *c, size_t pairs);           /* RESP3 %n  RESP2 *2n */
void kv_reply_set(struct kv_client *c, size_t n);               /* RESP3 ~n  RESP2 *n */
void kv_reply_push(struct kv_client *c, size_t n);              /* RESP3 >n  RESP2 *n (pub/sub) */
void kv_reply_verbatim(struct kv_client *c, struct kv_bytes b); /* RESP3 =txt: RESP2 bulk (INFO) */
/* Unknown-length aggregate: reserve, emit elements, then fill in the count. */
void *kv_reply_deferred(struct kv_client *c);
void kv_reply_set_deferred(struct kv_client *c, void *handle, size_t n, char kind); /* kind '*', '%', '~' */

/* Redis's exact texts. */
#define KV_ERR_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define KV_ERR_SYNTAX "ERR syntax error"
#define KV_ERR_NOTINT "ERR value is not an integer or out of range"
#define KV_ERR_NOTFLOAT "ERR value is not a valid float"
/* The most picks SRANDMEMBER, HRANDFIELD and ZRANDMEMBER reply for a negative count
 * (repeats allowed): beyond it the reply would take gigabytes and seconds to build while
 * every other client waits (Redis 7 runs out of memory or dies there), so strata answers
 * "ERR value is out of range" instead. */
#define KV_RAND_REPEAT_MAX ((uint64_t)64 * 1024 * 1024)
#define KV_ERR_OVERFLOW "ERR increment or decrement would overflow"
#define KV_ERR_NOKEY "ERR no such key"
#define KV_ERR_OOM "OOM command not allowed when used memory > 'maxmemory'."
#define KV_ERR_OUTOFRANGE "ERR index out of range"
/* "ERR wrong number of arguments for 'get' command" is produced by the dispatcher. */

/* ---- blocking commands (BLPOP, BRPOP, BLMOVE, BZPOPMIN, BZPOPMAX) ------------------ */

/*
 * Park c until one of keys gets data or timeout_ms passes (0: forever). When a key is
 * signalled (kv_signal_modified on a key someone waits for), the server re-runs the
 * client's command from the start with the same argv, first-blocked first served, after
 * the current command finishes; the command either serves now (and replies) or calls
 * kv_block again. On timeout the server replies null array. Inside MULTI/EXEC a
 * blocking command must not block: it behaves as its non-blocking form with timeout.
 */
void kv_block(struct kv_client *c, int nkeys, const struct kv_bytes *keys, int64_t timeout_ms);
/* Parse a BLPOP-style timeout (seconds, float allowed) to ms; replies the error on failure. */
bool kv_parse_timeout(struct kv_client *c, struct kv_bytes b, int64_t *ms);

/* ---- propagation (AOF) ------------------------------------------------------------- */

/*
 * After a command that changed data (dirty counter moved), the server appends its argv to
 * the AOF. Commands whose effect is not deterministic from argv (SPOP, SRANDMEMBER does
 * not write, INCRBYFLOAT, EXPIRE with relative times, SET EX, BLMOVE served later ...)
 * call kv_propagate one or more times instead; then only what they propagate is written.
 */
void kv_propagate(struct kv_client *c, int argc, const struct kv_bytes *argv);

/* ---- command table ----------------------------------------------------------------- */

enum {
    KV_CMD_WRITE = 1u << 0,
    KV_CMD_READONLY = 1u << 1,
    KV_CMD_DENYOOM = 1u << 2, /* may grow memory: refused above maxmemory */
    KV_CMD_ADMIN = 1u << 3,
    KV_CMD_PUBSUB = 1u << 4,
    KV_CMD_NOSCRIPT = 1u << 5,
    KV_CMD_BLOCKING = 1u << 6,
    KV_CMD_LOADING = 1u << 7, /* allowed while loading */
    KV_CMD_STALE = 1u << 8,
    KV_CMD_FAST = 1u << 9,
    KV_CMD_NOAUTH = 1u << 10,       /* allowed before AUTH (AUTH, HELLO, QUIT) */
    KV_CMD_NO_MULTI = 1u << 11,     /* refused inside MULTI (WATCH, SUBSCRIBE ...) */
    KV_CMD_ALLOW_PUBSUB = 1u << 12, /* allowed in RESP2 subscriber mode */
};

struct kv_cmd {
    const char *name; /* lower case */
    void (*proc)(struct kv_client *c);
    int arity;                         /* Redis's convention: N exact, -N at least N (name included) */
    unsigned flags;                    /* KV_CMD_* */
    int first_key, last_key, key_step; /* Redis's legacy key spec; last -1 = last arg */
    const char *group;                 /* "string", "list", "hash", "set", "sorted-set", "generic",
                                          "pubsub", "transactions", "connection", "server" */
    const char *since;                 /* Redis version that introduced it, for COMMAND DOCS */
    const char *summary;
    const char *args; /* argument syntax for hints, e.g. "key value [NX|XX] [GET]" */
    /* Subcommands (CONFIG GET, CLIENT LIST ...): a table ending with a zero entry, or NULL. */
    const struct kv_cmd *subcommands;
};

/*
 * The *.def files list commands with one X-macro each, for example in t_string.def:
 *
 *   KV_CMD(get, kv_cmd_get, 2, READONLY | FAST, 1, 1, 1, "string", "1.0.0",
 *          "Returns the string value of a key.", "key")
 *
 * commands.c includes them all to build the table (and the prototypes of the procs), so
 * a command is described exactly once. Flag names are the KV_CMD_ suffixes joined with |.
 * Commands with subcommands are written in C in their .c file and listed in the .def with
 * KV_CMD_PARENT(name, table, arity, flags, group, since, summary).
 */

/* ---- memory accounting (like Redis's zmalloc) -------------------------------------- */

/*
 * Every allocation of keyspace data goes through these, so kv_used_memory() is an exact
 * running total (malloc_usable_size) that INFO, MEMORY USAGE and maxmemory use. They
 * abort on exhaustion like st_xmalloc. Client buffers are counted too (they are memory a
 * client makes the server hold).
 */
void *kv_malloc(size_t n);
void *kv_calloc(size_t count, size_t size);
void *kv_realloc(void *p, size_t n);
void kv_free(void *p);
size_t kv_alloc_size(const void *p); /* usable size of a kv_malloc block (0 for NULL) */
size_t kv_used_memory(void);
/* A block that another allocator (st_map's tables) resized from before to after bytes of
 * usable size: keeps kv_used_memory() exact for memory kv holds through such code. */
void kv_alloc_account(size_t before, size_t after);

/* ---- configuration (config.c) ------------------------------------------------------- */

enum kv_fsync { KV_FSYNC_NO, KV_FSYNC_EVERYSEC, KV_FSYNC_ALWAYS };
enum kv_policy {
    KV_NOEVICTION,
    KV_ALLKEYS_LRU,
    KV_ALLKEYS_LFU,
    KV_ALLKEYS_RANDOM,
    KV_VOLATILE_LRU,
    KV_VOLATILE_LFU,
    KV_VOLATILE_RANDOM,
    KV_VOLATILE_TTL,
};

/* Read by every part; changed only by config.c (command line, config file, CONFIG SET). */
struct kv_config {
    char bind[256];
    int port;
    char dir[4096];
    char dbfilename[256];     /* snapshot file, default "dump.rdb" (our format, not RDB) */
    char appendfilename[256]; /* default "appendonly.aof" */
    bool appendonly;
    bool stop_writes_on_bgsave_error; /* MISCONF on writes after a failed BGSAVE (default yes) */
    enum kv_fsync appendfsync;
    int64_t maxmemory; /* bytes, 0 = unlimited */
    enum kv_policy maxmemory_policy;
    int maxmemory_samples;             /* 5 */
    int lfu_log_factor;                /* 10 */
    int lfu_decay_time;                /* 1 (minutes) */
    char requirepass[512];             /* empty = no AUTH */
    int databases;                     /* 16 */
    int maxclients;                    /* 10000 */
    int64_t timeout_s;                 /* idle client timeout, 0 = never */
    int hz;                            /* 10: active expiry and cron frequency */
    int64_t proto_max_bulk_len;        /* 512 MB */
    int64_t client_query_buffer_limit; /* 1 GB */
    /* client-output-buffer-limit pubsub <hard> <soft> <soft-seconds> (32mb 8mb 60) */
    int64_t obuf_pubsub_hard, obuf_pubsub_soft, obuf_pubsub_soft_s;
    /* save <seconds> <changes> points; nsave 0 = no automatic snapshots */
    int nsave;
    struct {
        int64_t seconds, changes;
    } save[8];
    /* listpack thresholds for compact encodings (Redis's names and defaults) */
    int64_t list_max_listpack_size;                                                   /* -2 (8 KB per node) */
    int64_t hash_max_listpack_entries, hash_max_listpack_value;                       /* 128, 64 */
    int64_t set_max_intset_entries, set_max_listpack_entries, set_max_listpack_value; /* 512, 128, 64 */
    int64_t zset_max_listpack_entries, zset_max_listpack_value;                       /* 128, 64 */
};
extern struct kv_config kv_cfg;

/* ---- hooks between the parts -------------------------------------------------------- */

/* multi.c */
void kv_multi_queue(struct kv_client *c, const struct kv_cmd *cmd); /* called by dispatch in MULTI */
void kv_watch_touch_key(struct kv_db *db, struct kv_bytes key);     /* from kv_signal_modified, expiry */
void kv_watch_touch_db(struct kv_db *db);                           /* FLUSHDB/FLUSHALL/SWAPDB */
void kv_multi_client_free(struct kv_client *c);
/* pubsub.c */
void kv_pubsub_client_free(struct kv_client *c);
size_t kv_pubsub_count(const struct kv_client *c); /* channels + patterns subscribed */
/* Channels and patterns with at least one subscriber, server-wide (INFO stats). */
size_t kv_pubsub_channels(void);
size_t kv_pubsub_patterns(void);
/* Commands per second over the last ~1.6 s, sampled by the cron like Redis's
 * instantaneous_ops_per_sec (server.c). */
uint64_t kv_server_ops_per_sec(void);
/* aof.c / snapshot.c (persistence) */
int kv_persist_load(void); /* at start: AOF when appendonly, else the snapshot; 0 or -1 (fatal, logged) */
void kv_aof_feed(int db_index, int argc, const struct kv_bytes *argv); /* propagate a write */
void kv_persist_before_sleep(void);       /* write (and with always, fsync) the AOF buffer BEFORE replies go out */
void kv_persist_cron(void);               /* every 1000/hz ms: everysec fsync, child exit, save points */
int kv_persist_shutdown(bool save);       /* SHUTDOWN and SIGTERM: 0, or -1 to refuse (save failed) */
void kv_persist_info(struct st_buf *out); /* INFO persistence fields */
/* evict.c */
void kv_evict_touch(struct kv_entry *e);                  /* on read access: LRU clock / LFU counter */
void kv_evict_init_entry(struct kv_entry *e);             /* a new entry's lru field */
int kv_evict_perform(void);                               /* before a DENYOOM command: 0, or -1 = OOM error */
uint64_t kv_evict_idle_seconds(const struct kv_entry *e); /* OBJECT IDLETIME */
int kv_evict_freq(const struct kv_entry *e);              /* OBJECT FREQ */

/* server.c */
/* A client with no socket that runs commands (AOF replay, DEBUG RELOAD); replies discarded. */
struct kv_client *kv_client_fake(void);
void kv_client_fake_free(struct kv_client *c);
/* Run c->argv as a command exactly as if a client had sent it (lookup, arity, MULTI, call). */
void kv_call(struct kv_client *c);
/* Close c after the current command (CLIENT KILL, output limits); safe on another client. */
void kv_client_close_async(struct kv_client *c);
size_t kv_client_output_len(const struct kv_client *c);
/* Iterate over connected clients (CLIENT LIST, PUBLISH fan-out uses its own index). */
void kv_clients_each(void (*fn)(void *arg, struct kv_client *c), void *arg);
/* "id=.. addr=.. laddr=.. fd=.. name=.. age=.. idle=.. flags=N db=0 sub=0 psub=0 multi=-1
 * qbuf=.. obl=.. oll=.. omem=.. cmd=.." as CLIENT LIST/INFO print it */
void kv_client_describe(const struct kv_client *c, struct st_buf *out);

/* ---- server state visible to commands ---------------------------------------------- */

struct kv_stats {
    uint64_t commands, connections, rejected_conns, expired_keys, evicted_keys;
    uint64_t keyspace_hits, keyspace_misses, net_in, net_out;
};

struct kv_stats *kv_stats(void);
struct kv_server *kv_srv(void);    /* the one server of this process */
struct kv_db *kv_db_at(int index); /* NULL when out of range */
int kv_db_count(void);
uint64_t kv_dirty(void); /* writes since the last save */

/* ---- keyspace additions (KV-B, db.c / evict.c) --------------------------------------- */

/* Cron (every 1000/hz ms, from server.c): active expiry (Redis's activeExpireCycle: sample
 * 20 volatile keys per db, repeat while more than 25% were expired, within 25% of the
 * cron period), table resizing, incremental rehashing and pending async flushes. */
void kv_db_active_expire(void);
/* Keys with an expiry in db (INFO keyspace "expires="), and their average TTL in ms. */
size_t kv_db_expires(const struct kv_db *db);
int64_t kv_db_avg_ttl(const struct kv_db *db);
/* Bytes held by e: the entry, a raw string or the collection (MEMORY USAGE, eviction). */
size_t kv_entry_mem(const struct kv_entry *e);
/* Count writes that did not go through kv_signal_modified (FLUSHDB on an empty db still
 * propagates, like Redis's forceCommandPropagation). */
void kv_dirty_add(uint64_t n);
/* Free every database (clean shutdown, so leak checkers see nothing). */
void kv_db_release_all(void);
/* server.c (KV-A): key was modified; wake clients blocked on it (BLPOP ...). Called by
 * kv_signal_modified; cheap when nobody waits. */
void kv_signal_key_ready(struct kv_db *db, struct kv_bytes key);

#endif
