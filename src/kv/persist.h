/*
 * persist.h - internal header of the persistence part of `strata kv` (aof.c, snapshot.c).
 *
 * Both files on disk are RESP command streams (docs/adr/0010-kv.md, "Persistence"):
 *   - the AOF is exactly what Redis's single-file AOF is: every write command, multibulk
 *     encoded, with SELECT when the database changes;
 *   - the snapshot is a rewrite-style stream that rebuilds every key:
 *       STRATA-SNAPSHOT <version> <unix-ms>      header
 *       SELECT n, SET/RPUSH/HSET/SADD/ZADD ..., PEXPIREAT ...
 *       STRATA-EOF <16 hex digits>               CRC-64 (Jones) of every byte before it
 *     so a torn or corrupted snapshot is detected before anything is loaded.
 *
 * Work that must not block clients (BGSAVE, BGREWRITEAOF) runs in one fork()ed child at a
 * time; kv_persist_cron reaps it and finishes the job in the parent.
 */
#ifndef ST_KV_PERSIST_H
#define ST_KV_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"
#include "kv/internal.h"

/* ---- checksums -------------------------------------------------------------------- */

/* CRC-64/Jones (reflected, poly 0xad93d23594c935a9), the one Redis uses for RDB files.
 * Start with crc 0; feed pieces in order. kv_crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9ca. */
uint64_t kv_crc64(uint64_t crc, const void *p, size_t n);

/* ---- writing command streams ------------------------------------------------------- */

/* Append one command as a RESP multibulk to b. 0 or ST_ELIMIT (b's max). */
int kv_resp_append_cmd(struct st_buf *b, int argc, const struct kv_bytes *argv);

/*
 * A buffered writer to a file descriptor that is also a kv_emitter (w->em): the snapshot
 * writer, the rewrite child and SAVE share it. Errors are sticky: after the first failed
 * write every call returns the same -errno and nothing more is written.
 */
struct kv_pwriter {
    struct kv_emitter em; /* em.data == the writer */
    int fd;               /* borrowed */
    struct st_buf buf;    /* encoded, not yet written */
    uint64_t crc;         /* CRC-64 of every byte written so far (when with_crc) */
    bool with_crc;
    uint64_t written; /* bytes written to fd */
    int err;          /* first error, 0 if none */
};

void kv_pwriter_init(struct kv_pwriter *w, int fd, bool with_crc);
/* Write what is buffered. 0 or -errno. */
int kv_pwriter_flush(struct kv_pwriter *w);
void kv_pwriter_release(struct kv_pwriter *w);

/* write(2) all of p, retrying short writes and EINTR. 0 or -errno. */
int kv_write_all(int fd, const void *p, size_t n);

/*
 * Emit commands that rebuild every key of every database (SELECT n before each non-empty
 * one), skipping keys already expired at now_ms. Strings as SET, collections through
 * their kv_type_ops.emit, expiry as PEXPIREAT. Used in the fork()ed children and by SAVE.
 * *keys (if not NULL) receives the number of keys written. 0 or the emitter's error.
 */
int kv_persist_dump(struct kv_emitter *em, int64_t now_ms, uint64_t *keys);

/* ---- reading command streams ------------------------------------------------------- */

/*
 * A streaming reader of RESP multibulk commands from a file (the AOF, a snapshot). The
 * argv it returns points into its buffer and stays valid until the next call. It reads
 * the file in growing chunks, so a command of any size (up to proto-max-bulk-len per
 * argument) is parsed without reading the whole file into memory.
 */
struct kv_preader {
    int fd;
    char *buf;
    size_t cap, len, pos; /* buf[pos..len) is read but not parsed */
    uint64_t base;        /* file offset of buf[0] */
    uint64_t end;         /* stop reading at this file offset (UINT64_MAX: at EOF) */
    bool eof;
    struct kv_bytes *argv;
    int argv_cap;
    char why[128]; /* what was wrong, after KV_PREAD_BAD */
};

enum {
    KV_PREAD_CMD = 1,    /* a command is in *argc and *argv */
    KV_PREAD_EOF = 0,    /* clean end: the last command was complete */
    KV_PREAD_TRUNC = -1, /* the stream ends inside a command (torn last write) */
    KV_PREAD_BAD = -2,   /* bytes that are not a command: r->why says which */
    KV_PREAD_IOERR = -3, /* read(2) failed: errno is set */
    /* Not from the reader: a replayed command failed (r->why says which and why). */
    KV_PREAD_FAILED = -4,
};

void kv_preader_init(struct kv_preader *r, int fd, uint64_t end);
void kv_preader_release(struct kv_preader *r);
/* The next command; see the KV_PREAD_* codes. */
int kv_preader_next(struct kv_preader *r, int *argc, struct kv_bytes **argv);
/* File offset just past the last command returned (where a truncation would cut). */
static inline uint64_t kv_preader_offset(const struct kv_preader *r)
{
    return r->base + r->pos;
}

/* ---- shared state and children ------------------------------------------------------ */

/* "dir/name" for a file of the server (kv_cfg.dir; name alone when it is absolute or dir
 * is empty). 0 or -ENAMETOOLONG. */
int kv_persist_path(char *out, size_t n, const char *name);
/* fsync the directory holding path, so a rename() in it is durable. 0 or -errno. */
int kv_fsync_dir(const char *path);

/* A reason to refuse a command of a file before running it (a SELECT of a database this
 * server does not have), or NULL. */
const char *kv_persist_check(int argc, const struct kv_bytes *argv);
/* Run one command of a file through the fake client (loading: nothing is propagated).
 * false when it replied an error (visible only if kv_call leaves the reply in c->out);
 * then err (if not NULL) receives the error line, e.g. "WRONGTYPE Operation ...". */
bool kv_persist_exec(struct kv_client *fake, int argc, struct kv_bytes *argv, char *err, size_t errn);
bool kv_persist_loading(void);
void kv_persist_set_loading(bool on);

enum kv_child_kind { KV_CHILD_NONE = 0, KV_CHILD_SNAPSHOT, KV_CHILD_AOF };
/* How a child ended: its job done, failed, or killed on purpose (shutdown, appendonly
 * no), which is not a failure for INFO. */
enum kv_child_end { KV_CHILD_OK, KV_CHILD_FAILED, KV_CHILD_KILLED };

/*
 * fork() a child for kind. In the child (return 0) every inherited descriptor above 2 is
 * closed (sockets, epoll, the AOF: a child holding the listening socket would keep the
 * port half-alive after a crash of the parent) and the child dies with its parent;
 * it must finish with _exit(). In the parent returns the pid, or -errno (-EBUSY when a
 * child is already running).
 */
pid_t kv_persist_fork(enum kv_child_kind kind);
enum kv_child_kind kv_persist_child_kind(void);
pid_t kv_persist_child_pid(void);
/* Kill and reap the running child of kind (if that is what runs); its owner's done hook
 * gets KV_CHILD_KILLED and removes the temp file. */
void kv_persist_kill_child(enum kv_child_kind kind);

/* Temporary file of a child: "temp-<pid>.snap" / "temp-rewriteaof-<pid>.aof" in dir. */
int kv_persist_temp_path(char *out, size_t n, enum kv_child_kind kind, pid_t pid);

/* ---- snapshots (snapshot.c) --------------------------------------------------------- */

#define KV_SNAPSHOT_VERSION 1

/* Synchronously write every key to path (NULL: dir/dbfilename), through a temp file,
 * fsync and rename: a crash leaves the previous snapshot intact. 0 or -errno. */
int kv_snapshot_save(const char *path);
/* Load path (NULL: dir/dbfilename) into the keyspace (the caller empties it first, as
 * DEBUG RELOAD does). The checksum is verified before anything is applied. 0; -ENOENT when there is no file; another
 * status (logged) when the file is refused. */
int kv_snapshot_load(const char *path);
/* Start a background save. 0 or -errno (-EBUSY: a child runs). */
int kv_snapshot_bgsave(void);
/* Called when the snapshot child ended. */
void kv_snapshot_child_done(pid_t pid, enum kv_child_end how);
/* Save points and scheduled BGSAVE, from kv_persist_cron. */
void kv_snapshot_cron(void);
void kv_snapshot_info(struct st_buf *out);
/* Unix seconds of the last successful save (LASTSAVE). */
int64_t kv_snapshot_lastsave(void);
/* Start-up time bookkeeping (LASTSAVE is the start time until the first save). */
void kv_snapshot_init(void);
/* What is in memory now is on disk (after loading): rdb_changes_since_last_save restarts. */
void kv_snapshot_mark_clean(void);
/*
 * Redis's refusal of writes while persistence is failing: after a failed BGSAVE (with
 * save points configured and stop-writes-on-bgsave-error yes) until a save succeeds, or
 * while an AOF write is failing, a write command (or PING, as Redis does) gets the
 * -MISCONF error. The dispatcher calls this before running or queueing cmd; true when the
 * error was replied (and, inside MULTI, the transaction marked to abort).
 */
bool kv_misconf_reject(struct kv_client *c, const struct kv_cmd *cmd);

/* ---- the AOF (aof.c) ---------------------------------------------------------------- */

/* Called when the rewrite child ended. */
void kv_aof_child_done(pid_t pid, enum kv_child_end how);
/* Start a background rewrite. 0 or -errno (-EBUSY: a child runs). */
int kv_aof_rewrite_start(void);
/* The errno of the failed AOF write that is still pending (0 when writes go through). */
int kv_aof_write_error(void);

/* ---- commands (persist.def) ---------------------------------------------------------- */

void kv_cmd_save(struct kv_client *c);
void kv_cmd_bgsave(struct kv_client *c);
void kv_cmd_lastsave(struct kv_client *c);
void kv_cmd_bgrewriteaof(struct kv_client *c);

#endif
