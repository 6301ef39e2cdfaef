/*
 * snapshot.c - point-in-time snapshots of the keyspace (SAVE, BGSAVE, LASTSAVE, save points).
 *
 * A snapshot is a RESP command stream that rebuilds every key (persist.h has the layout):
 * the header command names the format and version, the trailer carries the CRC-64 of every
 * byte before it. Loading checks the trailer and the checksum over the whole file before
 * a single command is applied, so a torn or bit-flipped file is refused, never half-loaded.
 *
 * Writes go to a temp file that is fsynced and then rename()d over the old snapshot (and
 * the directory fsynced): whatever instant the process dies, dbfilename is either the old
 * complete snapshot or the new complete one. BGSAVE does the same in a fork()ed child that
 * sees a copy-on-write image of the keyspace, so clients are never blocked by it.
 *
 * This file also holds what both persistence files share: the checksum, the RESP encoder,
 * the buffered writer and the keyspace dump used by SAVE, BGSAVE and BGREWRITEAOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "kv/persist.h"

/* ---- CRC-64/Jones --------------------------------------------------------------------- */

/* Reflected form of the Jones polynomial 0xad93d23594c935a9. */
#define CRC64_POLY_REFLECTED 0x95ac9329ac4bc9b5ULL

static uint64_t crc64_table[8][256];
static bool crc64_ready;

/* Slicing-by-8 tables: eight bytes per step keeps checksumming well above disk speed. */
static void crc64_init(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        crc64_table[0][i] = c;
    }
    for (unsigned i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc64_table[t][i] = crc64_table[0][crc64_table[t - 1][i] & 0xff] ^ (crc64_table[t - 1][i] >> 8);
    crc64_ready = true;
}

uint64_t kv_crc64(uint64_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    if (!crc64_ready)
        crc64_init();
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        w ^= crc; /* little-endian: byte 0 of the input meets the low byte of crc */
        crc = crc64_table[7][w & 0xff] ^ crc64_table[6][(w >> 8) & 0xff] ^ crc64_table[5][(w >> 16) & 0xff] ^
              crc64_table[4][(w >> 24) & 0xff] ^ crc64_table[3][(w >> 32) & 0xff] ^ crc64_table[2][(w >> 40) & 0xff] ^
              crc64_table[1][(w >> 48) & 0xff] ^ crc64_table[0][w >> 56];
        s += 8;
        n -= 8;
    }
    while (n--)
        crc = crc64_table[0][(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return crc;
}

/* ---- RESP encoding and the buffered writer ---------------------------------------------- */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

int kv_resp_append_cmd(struct st_buf *b, int argc, const struct kv_bytes *argv)
{
    size_t need = 1 + 20 + 2;
    for (int i = 0; i < argc; i++)
        need += 1 + 20 + 2 + argv[i].n + 2;
    int rc = st_buf_reserve(b, need);
    if (rc)
        return rc;
    char *p = b->data + b->len;
    *p++ = '*';
    p = put_u64(p, (uint64_t)argc);
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        *p++ = '$';
        p = put_u64(p, argv[i].n);
        *p++ = '\r';
        *p++ = '\n';
        if (argv[i].n)
            memcpy(p, argv[i].p, argv[i].n);
        p += argv[i].n;
        *p++ = '\r';
        *p++ = '\n';
    }
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int kv_write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Flush once this much is buffered: big enough for few syscalls, small enough for cache. */
#define PWRITER_CHUNK ((size_t)256 * 1024)

static int pwriter_cmd(struct kv_emitter *em, int argc, const struct kv_bytes *argv)
{
    struct kv_pwriter *w = em->data;
    if (w->err)
        return w->err;
    int rc = kv_resp_append_cmd(&w->buf, argc, argv);
    if (rc)
        return w->err = rc;
    if (w->buf.len >= PWRITER_CHUNK)
        return kv_pwriter_flush(w);
    return 0;
}

void kv_pwriter_init(struct kv_pwriter *w, int fd, bool with_crc)
{
    memset(w, 0, sizeof *w);
    w->em.cmd = pwriter_cmd;
    w->em.data = w;
    w->fd = fd;
    w->with_crc = with_crc;
    st_buf_init(&w->buf, ST_BUF_UNLIMITED);
}

int kv_pwriter_flush(struct kv_pwriter *w)
{
    if (w->err || w->buf.len == 0)
        return w->err;
    if (w->with_crc)
        w->crc = kv_crc64(w->crc, w->buf.data, w->buf.len);
    int rc = kv_write_all(w->fd, w->buf.data, w->buf.len);
    if (rc)
        return w->err = rc;
    w->written += w->buf.len;
    st_buf_clear(&w->buf);
    return 0;
}

void kv_pwriter_release(struct kv_pwriter *w)
{
    st_buf_release(&w->buf);
}

/* ---- dumping the keyspace ---------------------------------------------------------------- */

struct dump_ctx {
    struct kv_emitter *em;
    int64_t now_ms;
    uint64_t keys;
    int err;
};

static int dump_value(struct kv_emitter *em, const struct kv_entry *e)
{
    struct kv_bytes key = kv_entry_key(e);
    switch ((enum kv_type)e->type) {
    case KV_STRING: {
        char tmp[24];
        struct kv_bytes argv[3] = { kv_b("SET", 3), key, kv_str_get(e, tmp) };
        return kv_emit(em, 3, argv);
    }
    case KV_LIST: return kv_list_ops.emit(e->v.ptr, key, em);
    case KV_HASH: return kv_hash_ops.emit(e->v.ptr, key, em);
    case KV_SET: return kv_set_ops.emit(e->v.ptr, key, em);
    case KV_ZSET: return kv_zset_ops.emit(e->v.ptr, key, em);
    default: return ST_EINTERNAL;
    }
}

static void dump_entry(void *arg, struct kv_entry *e)
{
    struct dump_ctx *d = arg;
    /* Redis's rule: a key is expired once now > when; such keys are not worth a byte. */
    if (d->err || (e->expire_ms >= 0 && d->now_ms > e->expire_ms))
        return;
    int rc = dump_value(d->em, e);
    if (!rc && e->expire_ms >= 0) {
        char ms[24];
        int n = snprintf(ms, sizeof ms, "%" PRId64, e->expire_ms);
        struct kv_bytes argv[3] = { kv_b("PEXPIREAT", 9), kv_entry_key(e), kv_b(ms, (size_t)n) };
        rc = kv_emit(d->em, 3, argv);
    }
    d->err = rc;
    d->keys++;
}

int kv_persist_dump(struct kv_emitter *em, int64_t now_ms, uint64_t *keys)
{
    struct dump_ctx d = { .em = em, .now_ms = now_ms };
    for (int i = 0; i < kv_db_count() && !d.err; i++) {
        struct kv_db *db = kv_db_at(i);
        if (!db || kv_db_size(db) == 0)
            continue;
        char num[16];
        int n = snprintf(num, sizeof num, "%d", i);
        struct kv_bytes sel[2] = { kv_b("SELECT", 6), kv_b(num, (size_t)n) };
        d.err = kv_emit(em, 2, sel);
        /* The keyspace does not change while we scan (a fork()ed child, or SAVE inside one
         * command), so the cursor visits each key exactly once. */
        uint64_t cursor = 0;
        while (!d.err) {
            cursor = kv_db_scan(db, cursor, dump_entry, &d);
            if (cursor == 0)
                break;
        }
    }
    if (keys)
        *keys = d.keys;
    return d.err;
}

/* ---- snapshot files ---------------------------------------------------------------------- */

/* "*2\r\n$10\r\nSTRATA-EOF\r\n$16\r\n" + 16 hex digits + "\r\n" */
#define TRAILER_HEAD "*2\r\n$10\r\nSTRATA-EOF\r\n$16\r\n"
#define TRAILER_LEN (sizeof(TRAILER_HEAD) - 1 + 16 + 2)

static struct {
    int64_t lastsave_s;     /* unix seconds of the last good save (start time before) */
    int64_t last_try_s;     /* last BGSAVE attempt, for the retry delay after a failure */
    uint64_t saved_dirty;   /* kv_dirty() when the last good save started */
    uint64_t dirty_at_fork; /* kv_dirty() when the running BGSAVE forked */
    bool last_ok;           /* rdb_last_bgsave_status */
    bool scheduled;         /* BGSAVE SCHEDULE waiting for the other child */
    int64_t child_start_ms; /* when the running BGSAVE started */
    int64_t last_time_s;    /* rdb_last_bgsave_time_sec */
    uint64_t saves;         /* rdb_saves */
    uint64_t keys_loaded;   /* rdb_last_load_keys_loaded */
} snap = { .last_ok = true, .last_time_s = -1 };

/* Redis waits this long before retrying save points after a failed BGSAVE. */
#define BGSAVE_RETRY_DELAY_S 5

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kv_snapshot_init(void)
{
    snap.lastsave_s = wall_ms() / 1000;
}

void kv_snapshot_mark_clean(void)
{
    snap.saved_dirty = kv_dirty();
}

int64_t kv_snapshot_lastsave(void)
{
    return snap.lastsave_s;
}

static int write_header(struct kv_pwriter *w)
{
    char ver[16], ms[24];
    int nv = snprintf(ver, sizeof ver, "%d", KV_SNAPSHOT_VERSION);
    int nm = snprintf(ms, sizeof ms, "%" PRId64, wall_ms());
    struct kv_bytes argv[3] = { kv_b("STRATA-SNAPSHOT", 15), kv_b(ver, (size_t)nv), kv_b(ms, (size_t)nm) };
    return kv_emit(&w->em, 3, argv);
}

static int write_trailer(struct kv_pwriter *w)
{
    int rc = kv_pwriter_flush(w); /* the checksum covers everything written so far */
    if (rc)
        return rc;
    char t[TRAILER_LEN + 1];
    snprintf(t, sizeof t, TRAILER_HEAD "%016" PRIx64 "\r\n", w->crc);
    return kv_write_all(w->fd, t, TRAILER_LEN);
}

/* Write the snapshot to tmp, make it durable, then rename it to path. */
static int snapshot_write(const char *path, const char *tmp, uint64_t *keys)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct kv_pwriter w;
    kv_pwriter_init(&w, fd, true);
    int rc = write_header(&w);
    if (!rc)
        rc = kv_persist_dump(&w.em, kv_now_ms(), keys);
    if (!rc)
        rc = write_trailer(&w);
    kv_pwriter_release(&w);
    if (!rc && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    if (!rc)
        rc = kv_fsync_dir(path);
    if (rc)
        unlink(tmp);
    return rc;
}

static int default_path(char *out, size_t n, const char *path)
{
    if (path) {
        if (strlen(path) >= n)
            return -ENAMETOOLONG;
        strcpy(out, path);
        return 0;
    }
    return kv_persist_path(out, n, kv_cfg.dbfilename);
}

static void save_succeeded(uint64_t dirty_at_start)
{
    snap.lastsave_s = wall_ms() / 1000;
    snap.saved_dirty = dirty_at_start;
    snap.last_ok = true;
    snap.saves++;
}

int kv_snapshot_save(const char *path)
{
    char final[4096], tmp[4096];
    int rc = default_path(final, sizeof final, path);
    if (!rc)
        rc = kv_persist_temp_path(tmp, sizeof tmp, KV_CHILD_NONE, getpid());
    if (rc)
        return rc;
    uint64_t dirty = kv_dirty(), keys = 0;
    rc = snapshot_write(final, tmp, &keys);
    if (rc) {
        st_log_error("snapshot save failed", ST_LOG_STR("path", final), ST_LOG_STR("error", st_strerror(rc)));
        return rc;
    }
    save_succeeded(dirty);
    st_log_info("snapshot saved", ST_LOG_STR("path", final), ST_LOG_UINT("keys", keys));
    return 0;
}

int kv_snapshot_bgsave(void)
{
    char final[4096], tmp[4096];
    int rc = kv_persist_path(final, sizeof final, kv_cfg.dbfilename);
    if (rc)
        return rc;
    uint64_t dirty = kv_dirty();
    snap.last_try_s = wall_ms() / 1000;
    pid_t pid = kv_persist_fork(KV_CHILD_SNAPSHOT);
    if (pid < 0) {
        snap.last_ok = false;
        st_log_error("BGSAVE: fork failed", ST_LOG_STR("error", st_strerror((int)pid)));
        return (int)pid;
    }
    if (pid == 0) {
        /* The child: no logging (descriptors are closed), just the file and the status. */
        rc = kv_persist_temp_path(tmp, sizeof tmp, KV_CHILD_SNAPSHOT, getpid());
        if (!rc)
            rc = snapshot_write(final, tmp, NULL);
        _exit(rc ? 1 : 0);
    }
    snap.dirty_at_fork = dirty;
    snap.child_start_ms = kv_now_ms();
    st_log_info("background saving started", ST_LOG_INT("pid", pid));
    return 0;
}

void kv_snapshot_child_done(pid_t pid, enum kv_child_end how)
{
    int64_t took = (kv_now_ms() - snap.child_start_ms) / 1000;
    snap.last_time_s = took;
    if (how == KV_CHILD_OK) {
        save_succeeded(snap.dirty_at_fork);
        st_log_info("background saving terminated with success", ST_LOG_INT("pid", pid));
        return;
    }
    char tmp[4096];
    if (kv_persist_temp_path(tmp, sizeof tmp, KV_CHILD_SNAPSHOT, pid) == 0)
        unlink(tmp);
    if (how == KV_CHILD_KILLED) {
        st_log_info("background saving aborted", ST_LOG_INT("pid", pid));
        return;
    }
    snap.last_ok = false;
    st_log_error("background saving failed", ST_LOG_INT("pid", pid));
}

/* ---- MISCONF ------------------------------------------------------------------------------- */

/* Redis's shared.bgsaveerr, word for word: clients match on it. */
#define MISCONF_BGSAVE                                                                                                 \
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that "  \
    "may modify the data set are disabled, because this instance is configured to report errors during writes if "     \
    "RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the "  \
    "RDB error."

bool kv_misconf_reject(struct kv_client *c, const struct kv_cmd *cmd)
{
    /* Replaying a file writes what is already on disk: never refuse it. */
    if ((c->flags & KV_CLIENT_AOF) || !((cmd->flags & KV_CMD_WRITE) || !strcmp(cmd->name, "ping")))
        return false;
    char msg[160];
    int aof_errno = kv_aof_write_error();
    /* Without save points a failed manual BGSAVE does not stop writes (Redis's rule). */
    if (kv_cfg.stop_writes_on_bgsave_error && kv_cfg.nsave > 0 && !snap.last_ok) {
        kv_reply_error(c, MISCONF_BGSAVE);
    } else if (aof_errno) {
        snprintf(msg, sizeof msg, "MISCONF Errors writing to the AOF file: %s", strerror(aof_errno));
        kv_reply_error(c, msg);
    } else {
        return false;
    }
    if (c->flags & KV_CLIENT_MULTI)
        c->flags |= KV_CLIENT_DIRTY_EXEC;
    return true;
}

static uint64_t changes_since_save(void)
{
    uint64_t d = kv_dirty();
    return d >= snap.saved_dirty ? d - snap.saved_dirty : d;
}

void kv_snapshot_cron(void)
{
    if (kv_persist_child_kind() != KV_CHILD_NONE)
        return;
    if (snap.scheduled) {
        snap.scheduled = false;
        kv_snapshot_bgsave();
        return;
    }
    int64_t now = wall_ms() / 1000;
    uint64_t changes = changes_since_save();
    for (int i = 0; i < kv_cfg.nsave && i < 8; i++) {
        if (kv_cfg.save[i].changes < 0 || changes < (uint64_t)kv_cfg.save[i].changes)
            continue;
        if (now - snap.lastsave_s <= kv_cfg.save[i].seconds)
            continue;
        if (!snap.last_ok && now - snap.last_try_s <= BGSAVE_RETRY_DELAY_S)
            continue;
        st_log_info("save point reached, saving", ST_LOG_UINT("changes", changes),
                    ST_LOG_INT("seconds", kv_cfg.save[i].seconds));
        kv_snapshot_bgsave();
        return;
    }
}

void kv_snapshot_info(struct st_buf *out)
{
    bool running = kv_persist_child_kind() == KV_CHILD_SNAPSHOT;
    int64_t cur = running ? (kv_now_ms() - snap.child_start_ms) / 1000 : -1;
    st_buf_printf(out,
                  "loading:%d\r\n"
                  "async_loading:0\r\n"
                  "current_cow_peak:0\r\n"
                  "current_cow_size:0\r\n"
                  "current_cow_size_age:0\r\n"
                  "current_fork_perc:0.00\r\n"
                  "current_save_keys_processed:0\r\n"
                  "current_save_keys_total:0\r\n"
                  "rdb_changes_since_last_save:%" PRIu64 "\r\n"
                  "rdb_bgsave_in_progress:%d\r\n"
                  "rdb_last_save_time:%" PRId64 "\r\n"
                  "rdb_last_bgsave_status:%s\r\n"
                  "rdb_last_bgsave_time_sec:%" PRId64 "\r\n"
                  "rdb_current_bgsave_time_sec:%" PRId64 "\r\n"
                  "rdb_saves:%" PRIu64 "\r\n"
                  "rdb_last_cow_size:0\r\n"
                  "rdb_last_load_keys_expired:0\r\n"
                  "rdb_last_load_keys_loaded:%" PRIu64 "\r\n",
                  kv_persist_loading() ? 1 : 0, changes_since_save(), running ? 1 : 0, snap.lastsave_s,
                  snap.last_ok ? "ok" : "err", snap.last_time_s, cur, snap.saves, snap.keys_loaded);
}

/* ---- loading ----------------------------------------------------------------------------- */

static int refuse(const char *path, const char *why)
{
    st_log_error("snapshot refused", ST_LOG_STR("path", path), ST_LOG_STR("reason", why));
    return ST_EPARSE;
}

static int parse_hex64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* Check the trailer and the CRC-64 of everything before it. */
static int verify_file(int fd, const char *path, uint64_t size)
{
    char t[TRAILER_LEN];
    if (size < TRAILER_LEN)
        return refuse(path, "file too short to be a snapshot (torn write?)");
    uint64_t body = size - TRAILER_LEN;
    if (pread(fd, t, TRAILER_LEN, (off_t)body) != (ssize_t)TRAILER_LEN)
        return refuse(path, "cannot read the trailer");
    uint64_t want, got = 0;
    if (memcmp(t, TRAILER_HEAD, sizeof(TRAILER_HEAD) - 1) != 0 || t[TRAILER_LEN - 2] != '\r' ||
        t[TRAILER_LEN - 1] != '\n' || parse_hex64(t + sizeof(TRAILER_HEAD) - 1, &want) != 0)
        return refuse(path, "no STRATA-EOF trailer: the file is truncated or not a snapshot");
    static char chunk[1 << 16];
    for (uint64_t off = 0; off < body;) {
        size_t n = body - off < sizeof chunk ? (size_t)(body - off) : sizeof chunk;
        ssize_t r = pread(fd, chunk, n, (off_t)off);
        if (r <= 0)
            return refuse(path, "read error while checking the checksum");
        got = kv_crc64(got, chunk, (size_t)r);
        off += (uint64_t)r;
    }
    if (got != want) {
        st_log_error("snapshot refused", ST_LOG_STR("path", path), ST_LOG_STR("reason", "checksum mismatch"),
                     ST_LOG_UINT("expected", want), ST_LOG_UINT("computed", got));
        return ST_EPARSE;
    }
    return 0;
}

static int check_header(struct kv_preader *r, const char *path)
{
    int argc;
    struct kv_bytes *argv;
    int64_t ver;
    if (kv_preader_next(r, &argc, &argv) != KV_PREAD_CMD || argc < 2 || !kv_eq(argv[0], "STRATA-SNAPSHOT"))
        return refuse(path, "missing STRATA-SNAPSHOT header");
    if (!kv_parse_i64(argv[1], &ver) || ver != KV_SNAPSHOT_VERSION)
        return refuse(path, "unsupported snapshot version");
    return 0;
}

static int replay(struct kv_preader *r, const char *path, uint64_t *cmds)
{
    struct kv_client *fake = kv_client_fake();
    int argc, rc;
    struct kv_bytes *argv;
    kv_persist_set_loading(true);
    while ((rc = kv_preader_next(r, &argc, &argv)) == KV_PREAD_CMD) {
        const char *why = kv_persist_check(argc, argv);
        if (why) {
            rc = KV_PREAD_BAD;
            snprintf(r->why, sizeof r->why, "%s", why);
            break;
        }
        char err[96];
        if (!kv_persist_exec(fake, argc, argv, err, sizeof err)) {
            rc = KV_PREAD_BAD;
            snprintf(r->why, sizeof r->why, "command '%.*s' failed: %s", argv[0].n > 32 ? 32 : (int)argv[0].n,
                     argv[0].p, err);
            break;
        }
        (*cmds)++;
    }
    kv_persist_set_loading(false);
    kv_client_fake_free(fake);
    if (rc != KV_PREAD_EOF)
        return refuse(path, rc == KV_PREAD_BAD ? r->why : "command cut short inside a checksummed file");
    return 0;
}

int kv_snapshot_load(const char *path)
{
    char p[4096];
    int rc = default_path(p, sizeof p, path);
    if (rc)
        return rc;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    int64_t t0 = wall_ms();
    uint64_t size = (uint64_t)st.st_size;
    rc = verify_file(fd, p, size);
    struct kv_preader r;
    kv_preader_init(&r, fd, size >= TRAILER_LEN ? size - TRAILER_LEN : 0);
    uint64_t cmds = 0;
    if (!rc)
        rc = check_header(&r, p);
    if (!rc)
        rc = replay(&r, p, &cmds);
    kv_preader_release(&r);
    close(fd);
    if (rc)
        return rc;
    uint64_t keys = 0;
    for (int i = 0; i < kv_db_count(); i++)
        keys += kv_db_at(i) ? kv_db_size(kv_db_at(i)) : 0;
    snap.keys_loaded = keys;
    snap.saved_dirty = kv_dirty(); /* what was just loaded is on disk already */
    st_log_info("snapshot loaded", ST_LOG_STR("path", p), ST_LOG_UINT("keys", keys), ST_LOG_UINT("commands", cmds),
                ST_LOG_INT("ms", wall_ms() - t0));
    return 0;
}

/* ---- commands ---------------------------------------------------------------------------- */

void kv_cmd_save(struct kv_client *c)
{
    if (kv_persist_child_kind() == KV_CHILD_SNAPSHOT) {
        kv_reply_error(c, "ERR Background save already in progress");
        return;
    }
    if (kv_snapshot_save(NULL) == 0)
        kv_reply_ok(c);
    else
        kv_reply_error(c, "ERR");
}

void kv_cmd_bgsave(struct kv_client *c)
{
    bool schedule = false;
    if (c->argc > 1) {
        if (c->argc > 2 || !kv_eq(c->argv[1], "SCHEDULE")) {
            kv_reply_error(c, KV_ERR_SYNTAX);
            return;
        }
        schedule = true;
    }
    enum kv_child_kind kind = kv_persist_child_kind();
    if (kind == KV_CHILD_SNAPSHOT) {
        kv_reply_error(c, "ERR Background save already in progress");
    } else if (kind != KV_CHILD_NONE) {
        if (schedule) {
            snap.scheduled = true;
            kv_reply_status(c, "Background saving scheduled");
        } else {
            kv_reply_error(c, "ERR Another child process is active (AOF?): can't BGSAVE right now. "
                              "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
    } else if (kv_snapshot_bgsave() == 0) {
        kv_reply_status(c, "Background saving started");
    } else {
        kv_reply_error(c, "ERR");
    }
}

void kv_cmd_lastsave(struct kv_client *c)
{
    kv_reply_int(c, snap.lastsave_s);
}
