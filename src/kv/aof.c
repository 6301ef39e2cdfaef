/*
 * aof.c - the append-only file, background rewrite, recovery at start, and the glue of the
 * persistence part (children, the fsync thread, INFO persistence).
 *
 * Write path. kv_aof_feed encodes each propagated write into aof.buf (RESP, with SELECT
 * when the database changes). kv_persist_before_sleep runs once per loop turn before any
 * reply of the turn is written: it write()s the buffer and, with appendfsync always,
 * fdatasync()s it, so a client that saw a reply can never lose the write to kill -9 or a
 * power cut. everysec hands the fsync to a background thread at most once a second (the
 * loop never waits on the disk); no leaves flushing to the kernel.
 *
 * Rewrite. BGREWRITEAOF fork()s: the child dumps the copy-on-write keyspace as commands
 * to temp-rewriteaof-<pid>.aof and fsyncs it. The parent keeps serving and, while the
 * child runs, keeps a second copy of every write in aof.rwbuf. When cron reaps a child
 * that succeeded, the parent appends rwbuf to the temp file, fsyncs, rename()s it over
 * the AOF, fsyncs the directory and continues appending to the new file. The old file
 * stays complete until the rename, so a crash at any point loses nothing acknowledged.
 *
 * Recovery. The AOF is replayed through a fake client. A command cut short at the end
 * (the process died in the middle of a write) is reported with its offset and cut off with
 * ftruncate, never half-applied, like Redis's aof-load-truncated yes; an unfinished
 * MULTI block at the end is cut as a whole. Bytes that are not a command anywhere else are
 * a fatal error: the operator decides, the server does not guess.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"
#include "kv/persist.h"

/* ---- paths -------------------------------------------------------------------------------- */

int kv_persist_path(char *out, size_t n, const char *name)
{
    int w;
    if (name[0] == '/' || kv_cfg.dir[0] == '\0')
        w = snprintf(out, n, "%s", name);
    else
        w = snprintf(out, n, "%s/%s", kv_cfg.dir, name);
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

int kv_persist_temp_path(char *out, size_t n, enum kv_child_kind kind, pid_t pid)
{
    char name[64];
    if (kind == KV_CHILD_AOF)
        snprintf(name, sizeof name, "temp-rewriteaof-%d.aof", (int)pid);
    else
        snprintf(name, sizeof name, "temp-%d.snap", (int)pid);
    return kv_persist_path(out, n, name);
}

int kv_fsync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == path)
        strcpy(dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return -ENAMETOOLONG;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* ---- the command-stream reader --------------------------------------------------------------- */

/* Files are read in chunks of this size (more when one command is bigger). */
#define PREADER_CHUNK ((size_t)1024 * 1024)
/* Redis's own bound on the element count of one multibulk. */
#define PREADER_MAX_ARGC (1024LL * 1024 * 1024)

void kv_preader_init(struct kv_preader *r, int fd, uint64_t end)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->end = end;
}

void kv_preader_release(struct kv_preader *r)
{
    free(r->buf);
    free(r->argv);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

static int bad(struct kv_preader *r, const char *why)
{
    snprintf(r->why, sizeof r->why, "%s", why);
    return KV_PREAD_BAD;
}

/* A "<prefix><digits>\r\n" line at s[*pos]. 1 done, 0 incomplete, KV_PREAD_BAD. */
static int parse_len(struct kv_preader *r, const char *s, size_t n, size_t *pos, char prefix, int64_t *out)
{
    size_t p = *pos;
    if (p >= n)
        return 0;
    if (s[p] != prefix)
        return bad(r, prefix == '*' ? "expected '*' (start of a command)" : "expected '$' (a bulk string)");
    int64_t v = 0;
    int digits = 0;
    for (p++; p < n && s[p] >= '0' && s[p] <= '9'; p++) {
        if (++digits > 18)
            return bad(r, "length too long");
        v = v * 10 + (s[p] - '0');
    }
    if (p >= n)
        return 0;
    if (digits == 0 || s[p] != '\r')
        return bad(r, "invalid length");
    if (p + 1 >= n)
        return 0;
    if (s[p + 1] != '\n')
        return bad(r, "length not terminated by CRLF");
    *pos = p + 2;
    *out = v;
    return 1;
}

static void argv_reserve(struct kv_preader *r, int n)
{
    if (n <= r->argv_cap)
        return;
    int cap = r->argv_cap ? r->argv_cap : 16;
    while (cap < n)
        cap *= 2;
    r->argv = st_xrealloc(r->argv, (size_t)cap * sizeof *r->argv);
    r->argv_cap = cap;
}

/*
 * One command from s[0..n): KV_PREAD_CMD (with *argc, *used), 0 when more bytes are needed
 * (*need: bytes from s that would at least complete the current argument), KV_PREAD_BAD.
 * Only a byte that is present and wrong is BAD, so any prefix of a valid stream is "more".
 */
static int parse_cmd(struct kv_preader *r, const char *s, size_t n, int *argc, size_t *used, size_t *need)
{
    size_t pos = 0;
    int64_t count, len;
    int64_t max_bulk = kv_cfg.proto_max_bulk_len > 0 ? kv_cfg.proto_max_bulk_len : 512LL * 1024 * 1024;
    int rc = parse_len(r, s, n, &pos, '*', &count);
    if (rc != 1)
        return rc;
    if (count < 1 || count > PREADER_MAX_ARGC)
        return bad(r, "invalid multibulk length");
    for (int i = 0; i < (int)count; i++) {
        rc = parse_len(r, s, n, &pos, '$', &len);
        if (rc != 1)
            return rc;
        if (len > max_bulk)
            return bad(r, "invalid bulk length");
        if (n - pos < (size_t)len + 2) {
            *need = pos + (size_t)len + 2;
            return 0;
        }
        if (s[pos + (size_t)len] != '\r' || s[pos + (size_t)len + 1] != '\n')
            return bad(r, "bulk string not terminated by CRLF");
        argv_reserve(r, i + 1);
        r->argv[i] = kv_b(s + pos, (size_t)len);
        pos += (size_t)len + 2;
    }
    *argc = (int)count;
    *used = pos;
    return KV_PREAD_CMD;
}

/* Slide the unparsed bytes to the front and read more (at least enough for need bytes). */
static int fill(struct kv_preader *r, size_t need)
{
    if (r->pos) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    size_t want = need > r->len ? need : r->len + 1;
    if (want > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : PREADER_CHUNK;
        while (cap < want)
            cap *= 2;
        r->buf = st_xrealloc(r->buf, cap);
        r->cap = cap;
    }
    uint64_t at = r->base + r->len;
    size_t room = r->cap - r->len;
    if (r->end != UINT64_MAX) {
        if (at >= r->end) {
            r->eof = true;
            return 0;
        }
        if (room > r->end - at)
            room = (size_t)(r->end - at);
    }
    ssize_t got;
    do
        got = read(r->fd, r->buf + r->len, room);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return -errno;
    if (got == 0)
        r->eof = true;
    r->len += (size_t)got;
    return 0;
}

int kv_preader_next(struct kv_preader *r, int *argc, struct kv_bytes **argv)
{
    for (;;) {
        size_t used = 0, need = 0;
        int n = 0, rc = 0;
        if (r->len > r->pos)
            rc = parse_cmd(r, r->buf + r->pos, r->len - r->pos, &n, &used, &need);
        if (rc == KV_PREAD_CMD) {
            r->pos += used;
            *argc = n;
            *argv = r->argv;
            return KV_PREAD_CMD;
        }
        if (rc == KV_PREAD_BAD)
            return rc;
        if (r->eof)
            return r->pos == r->len ? KV_PREAD_EOF : KV_PREAD_TRUNC;
        if (fill(r, need) < 0)
            return KV_PREAD_IOERR;
    }
}

/* ---- loading state ------------------------------------------------------------------------- */

static bool loading;

bool kv_persist_loading(void)
{
    return loading;
}

void kv_persist_set_loading(bool on)
{
    loading = on;
}

const char *kv_persist_check(int argc, const struct kv_bytes *argv)
{
    int64_t db;
    if (!kv_eq(argv[0], "SELECT"))
        return NULL;
    if (argc != 2 || !kv_parse_i64(argv[1], &db) || db < 0 || db >= kv_db_count())
        return "SELECT of a database this server does not have (fewer 'databases' than the writer?)";
    return NULL;
}

/* Copy the first line of an error reply ("-ERR ...\r\n") without its '-' and CRLF. */
static void copy_error(char *err, size_t errn, const char *reply, size_t n)
{
    size_t len = 0;
    while (1 + len < n && reply[1 + len] != '\r' && reply[1 + len] != '\n')
        len++;
    snprintf(err, errn, "%.*s", (int)len, reply + 1);
}

bool kv_persist_exec(struct kv_client *fake, int argc, struct kv_bytes *argv, char *err, size_t errn)
{
    fake->argc = argc;
    fake->argv = argv;
    kv_call(fake);
    fake->argc = 0;
    fake->argv = NULL; /* ours, not the client's: the fake client must not free it */
    bool ok = true;
    if (fake->out) {
        ok = fake->out->len == 0 || fake->out->data[0] != '-';
        if (!ok && err && errn)
            copy_error(err, errn, fake->out->data, fake->out->len);
        st_buf_clear(fake->out); /* nobody reads the replies: keep memory flat */
    }
    return ok;
}

/* ---- children ------------------------------------------------------------------------------ */

static struct {
    pid_t pid;
    enum kv_child_kind kind;
} child;

pid_t kv_persist_fork(enum kv_child_kind kind)
{
    if (child.pid)
        return -EBUSY;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* Die with the parent: an orphan must not outlive a kill -9 of the server. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        /* Drop the sockets (the listener above all), the epoll and the AOF descriptors:
         * the child needs only the memory image. */
        close_range(3, ~0U, 0);
        return 0;
    }
    child.pid = pid;
    child.kind = kind;
    return pid;
}

enum kv_child_kind kv_persist_child_kind(void)
{
    return child.pid ? child.kind : KV_CHILD_NONE;
}

pid_t kv_persist_child_pid(void)
{
    return child.pid;
}

static void child_finished(pid_t pid, enum kv_child_kind kind, enum kv_child_end how)
{
    child.pid = 0;
    child.kind = KV_CHILD_NONE;
    if (kind == KV_CHILD_SNAPSHOT)
        kv_snapshot_child_done(pid, how);
    else if (kind == KV_CHILD_AOF)
        kv_aof_child_done(pid, how);
}

void kv_persist_kill_child(enum kv_child_kind kind)
{
    if (!child.pid || child.kind != kind)
        return;
    pid_t pid = child.pid;
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    child_finished(pid, kind, KV_CHILD_KILLED);
}

static void reap_child(void)
{
    if (!child.pid)
        return;
    int st = 0;
    pid_t r = waitpid(child.pid, &st, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    bool ok = r == child.pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    child_finished(child.pid, child.kind, ok ? KV_CHILD_OK : KV_CHILD_FAILED);
}

/* ---- the background fsync thread (like Redis's bio) --------------------------------------- */

enum { BIO_FSYNC, BIO_CLOSE };

#define BIO_QUEUE 64

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    bool started, stop;
    struct {
        int op, fd;
    } q[BIO_QUEUE];
    unsigned head, n;
    atomic_uint pending_fsync;
} bio = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void bio_do(int op, int fd)
{
    if (op == BIO_FSYNC) {
        fdatasync(fd);
        atomic_fetch_sub(&bio.pending_fsync, 1);
    } else {
        close(fd);
    }
}

static void *bio_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&bio.mu);
    for (;;) {
        while (bio.n == 0 && !bio.stop)
            pthread_cond_wait(&bio.cv, &bio.mu);
        if (bio.n == 0)
            break;
        int op = bio.q[bio.head].op, fd = bio.q[bio.head].fd;
        bio.head = (bio.head + 1) % BIO_QUEUE;
        bio.n--;
        pthread_mutex_unlock(&bio.mu);
        bio_do(op, fd); /* jobs run in order: a close never overtakes an fsync of that fd */
        pthread_mutex_lock(&bio.mu);
    }
    pthread_mutex_unlock(&bio.mu);
    return NULL;
}

static void bio_submit(int op, int fd)
{
    if (op == BIO_FSYNC)
        atomic_fetch_add(&bio.pending_fsync, 1);
    pthread_mutex_lock(&bio.mu);
    if (!bio.started) {
        bio.started = pthread_create(&bio.th, NULL, bio_main, NULL) == 0;
        bio.stop = false;
    }
    if (!bio.started || bio.n == BIO_QUEUE) {
        pthread_mutex_unlock(&bio.mu);
        bio_do(op, fd); /* no thread or a full queue: do it here rather than drop it */
        return;
    }
    bio.q[(bio.head + bio.n) % BIO_QUEUE].op = op;
    bio.q[(bio.head + bio.n) % BIO_QUEUE].fd = fd;
    bio.n++;
    pthread_cond_signal(&bio.cv);
    pthread_mutex_unlock(&bio.mu);
}

/* Run what is queued and stop the thread. */
static void bio_stop(void)
{
    pthread_mutex_lock(&bio.mu);
    bool started = bio.started;
    bio.stop = true;
    pthread_cond_signal(&bio.cv);
    pthread_mutex_unlock(&bio.mu);
    if (started)
        pthread_join(bio.th, NULL);
    bio.started = false;
}

/* ---- the AOF ------------------------------------------------------------------------------- */

/* Automatic rewrite when the file doubled since the last rewrite and is past 64 MB
 * (Redis's auto-aof-rewrite-percentage 100 and auto-aof-rewrite-min-size 64mb). */
#define AUTO_REWRITE_PERCENT 100
#define AUTO_REWRITE_MIN_SIZE (64ULL * 1024 * 1024)

static struct {
    bool on;           /* the file is open and writes are appended to it */
    bool wait_rewrite; /* appendonly was switched on; the first rewrite creates the file */
    int fd;
    struct st_buf buf; /* commands not yet written to fd */
    int sel_db;        /* database of the last SELECT in the file (-1: none yet) */
    bool unsynced;     /* written since the last fsync */
    int64_t last_fsync_ms;
    uint64_t delayed_fsync;
    uint64_t size, base_size;
    bool write_ok;
    int write_errno; /* errno of the last failed write, for MISCONF */
    int64_t write_err_log_ms;

    bool rw;             /* a rewrite child runs: writes are also kept in rwbuf */
    struct st_buf rwbuf; /* writes since the rewrite child forked */
    int rw_sel_db;
    bool rw_scheduled;
    int64_t rw_start_ms, rw_last_s;
    bool rw_last_ok;
    uint64_t rewrites, rw_failures;
} aof = { .fd = -1,
          .sel_db = -1,
          .write_ok = true,
          .rw_last_ok = true,
          .rw_last_s = -1,
          .rw_sel_db = -1,
          .buf = { .max = ST_BUF_UNLIMITED },
          .rwbuf = { .max = ST_BUF_UNLIMITED } };

static void feed_to(struct st_buf *b, int *sel, int db_index, int argc, const struct kv_bytes *argv)
{
    if (*sel != db_index) {
        char num[16];
        int n = snprintf(num, sizeof num, "%d", db_index);
        struct kv_bytes sel_argv[2] = { kv_b("SELECT", 6), kv_b(num, (size_t)n) };
        kv_resp_append_cmd(b, 2, sel_argv);
        *sel = db_index;
    }
    kv_resp_append_cmd(b, argc, argv);
}

void kv_aof_feed(int db_index, int argc, const struct kv_bytes *argv)
{
    if (loading || argc < 1)
        return; /* replaying a file: what we read is already in it; argc 0: nothing */
    if (aof.on)
        feed_to(&aof.buf, &aof.sel_db, db_index, argc, argv);
    if (aof.rw)
        feed_to(&aof.rwbuf, &aof.rw_sel_db, db_index, argc, argv);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The policy "always" promises that no acknowledged write is lost: if the write or the
 * fsync fails we cannot send the replies of this turn, so we stop (as Redis does). */
static _Noreturn void aof_fatal(const char *what, int rc)
{
    st_log_error("cannot recover from an AOF write error with appendfsync always; exiting", ST_LOG_STR("op", what),
                 ST_LOG_STR("error", st_strerror(rc)));
    _exit(1);
}

/* write() the buffer; on failure keep what was not written for the next turn. */
static void aof_write(void)
{
    size_t done = 0;
    int rc = 0;
    while (done < aof.buf.len) {
        ssize_t w = write(aof.fd, aof.buf.data + done, aof.buf.len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)w;
    }
    if (done) {
        aof.size += done;
        aof.unsynced = true;
        st_buf_consume(&aof.buf, done);
    }
    if (!rc) {
        aof.write_ok = true;
        return;
    }
    if (kv_cfg.appendfsync == KV_FSYNC_ALWAYS)
        aof_fatal("write", rc);
    aof.write_ok = false;
    aof.write_errno = -rc;
    if (mono_ms() - aof.write_err_log_ms >= 30000) { /* one line per 30 s, not per turn */
        aof.write_err_log_ms = mono_ms();
        st_log_error("AOF write failed; will retry", ST_LOG_STR("error", st_strerror(rc)),
                     ST_LOG_UINT("pending_bytes", aof.buf.len));
    }
}

static void aof_fsync_policy(void)
{
    if (!aof.unsynced)
        return;
    if (kv_cfg.appendfsync == KV_FSYNC_ALWAYS) {
        if (fdatasync(aof.fd) != 0)
            aof_fatal("fdatasync", -errno);
        aof.unsynced = false;
        aof.last_fsync_ms = mono_ms();
    } else if (kv_cfg.appendfsync == KV_FSYNC_EVERYSEC) {
        int64_t now = mono_ms();
        if (now - aof.last_fsync_ms < 1000)
            return;
        if (atomic_load(&bio.pending_fsync)) {
            aof.delayed_fsync++; /* the disk is slower than one fsync a second */
            return;
        }
        bio_submit(BIO_FSYNC, aof.fd);
        aof.unsynced = false;
        aof.last_fsync_ms = now;
    }
}

static int aof_path(char *out, size_t n)
{
    return kv_persist_path(out, n, kv_cfg.appendfilename);
}

/* The child: write the whole keyspace as commands to tmp and make it durable. */
static int rewrite_write(const char *tmp)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct kv_pwriter w;
    kv_pwriter_init(&w, fd, false);
    int rc = kv_persist_dump(&w.em, kv_now_ms(), NULL);
    if (!rc)
        rc = kv_pwriter_flush(&w);
    kv_pwriter_release(&w);
    if (!rc && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && !rc)
        rc = -errno;
    return rc;
}

int kv_aof_rewrite_start(void)
{
    if (kv_persist_child_kind() != KV_CHILD_NONE)
        return -EBUSY;
    if (aof.on && aof.buf.len)
        aof_write(); /* the old file gets every write that happened before the fork */
    pid_t pid = kv_persist_fork(KV_CHILD_AOF);
    if (pid < 0) {
        st_log_error("BGREWRITEAOF: fork failed", ST_LOG_STR("error", st_strerror((int)pid)));
        return (int)pid;
    }
    if (pid == 0) {
        char tmp[4096];
        int rc = kv_persist_temp_path(tmp, sizeof tmp, KV_CHILD_AOF, getpid());
        if (!rc)
            rc = rewrite_write(tmp);
        _exit(rc ? 1 : 0);
    }
    aof.rw = true;
    aof.rw_scheduled = false;
    aof.rw_sel_db = -1;
    st_buf_clear(&aof.rwbuf);
    aof.rw_start_ms = kv_now_ms();
    st_log_info("background AOF rewrite started", ST_LOG_INT("pid", pid));
    return 0;
}

static void rewrite_failed(const char *tmp, const char *what, int rc, bool killed)
{
    unlink(tmp);
    if (killed) {
        st_log_info("background AOF rewrite aborted");
        return;
    }
    aof.rw_last_ok = false;
    aof.rw_failures++;
    if (aof.wait_rewrite)
        aof.rw_scheduled = true; /* appendonly is still wanted: try again from cron */
    st_log_error("background AOF rewrite failed", ST_LOG_STR("step", what), ST_LOG_STR("error", st_strerror(rc)));
}

/* Append the writes made during the rewrite to tmp and move it over the AOF. Returns the
 * open descriptor of the new file, or -errno. */
static int rewrite_install(const char *tmp, const char *final, const char **what)
{
    int fd = open(tmp, O_WRONLY | O_APPEND | O_CLOEXEC);
    int rc = 0;
    if (fd < 0)
        return *what = "open", -errno;
    if (aof.rwbuf.len && (rc = kv_write_all(fd, aof.rwbuf.data, aof.rwbuf.len)) != 0)
        *what = "write";
    else if (fdatasync(fd) != 0)
        *what = "fdatasync", rc = -errno;
    else if (rename(tmp, final) != 0)
        *what = "rename", rc = -errno;
    else if ((rc = kv_fsync_dir(final)) != 0) {
        /* The new file is in place already: appending to the old one now would lose
         * writes, so carry on; only the rename's durability is in doubt. */
        st_log_warn("AOF rewrite: fsync of the directory failed", ST_LOG_STR("error", st_strerror(rc)));
        rc = 0;
    }
    if (rc) {
        close(fd);
        return rc;
    }
    return fd;
}

void kv_aof_child_done(pid_t pid, enum kv_child_end how)
{
    char tmp[4096], final[4096];
    const char *what = "child";
    int fd = -EIO;
    aof.rw = false;
    aof.rw_last_s = (kv_now_ms() - aof.rw_start_ms) / 1000;
    if (kv_persist_temp_path(tmp, sizeof tmp, KV_CHILD_AOF, pid) || aof_path(final, sizeof final)) {
        fd = -ENAMETOOLONG;
    } else if (how == KV_CHILD_OK) {
        fd = rewrite_install(tmp, final, &what);
    }
    if (fd < 0) {
        rewrite_failed(tmp, what, fd, how == KV_CHILD_KILLED);
        st_buf_release(&aof.rwbuf);
        return;
    }
    struct stat st;
    uint64_t size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (aof.on || aof.wait_rewrite) {
        if (aof.on)
            bio_submit(BIO_CLOSE, aof.fd); /* closing a big unlinked file can take a while */
        aof.fd = fd;
        aof.on = true;
        aof.wait_rewrite = false;
        st_buf_clear(&aof.buf); /* everything in it was fed after the fork: it is in rwbuf */
        aof.unsynced = false;
        aof.sel_db = aof.rw_sel_db;
    } else {
        close(fd);
    }
    aof.size = aof.base_size = size;
    aof.rw_last_ok = true;
    aof.rewrites++;
    aof.rw_failures = 0;
    st_log_info("background AOF rewrite finished", ST_LOG_INT("pid", pid), ST_LOG_UINT("size", size),
                ST_LOG_UINT("diff_bytes", aof.rwbuf.len));
    st_buf_release(&aof.rwbuf);
}

/* CONFIG SET appendonly yes|no: follow kv_cfg.appendonly between commands. */
static void aof_stop(void)
{
    if (aof.on) {
        if (aof.buf.len)
            aof_write();
        fdatasync(aof.fd);
        bio_submit(BIO_CLOSE, aof.fd); /* after any fsync still queued for it */
        aof.fd = -1;
        aof.on = false;
        st_buf_release(&aof.buf);
        st_log_info("AOF disabled", ST_LOG_UINT("size", aof.size));
    }
    aof.wait_rewrite = false;
    aof.rw_scheduled = false;
    kv_persist_kill_child(KV_CHILD_AOF);
}

static void aof_sync_state(void)
{
    bool have = aof.on || aof.wait_rewrite;
    if (kv_cfg.appendonly == have)
        return;
    if (!kv_cfg.appendonly) {
        aof_stop();
        return;
    }
    aof.wait_rewrite = true;
    aof.sel_db = -1;
    st_log_info("AOF enabled: creating the file with a rewrite");
    /* A BGREWRITEAOF already running has kept every write since its fork in rwbuf: its
     * file will be complete, so it becomes the AOF when it ends. */
    if (kv_persist_child_kind() == KV_CHILD_AOF)
        return;
    if (kv_aof_rewrite_start() != 0)
        aof.rw_scheduled = true; /* another child runs: cron starts it later */
}

void kv_persist_before_sleep(void)
{
    aof_sync_state();
    if (!aof.on)
        return;
    if (aof.buf.len)
        aof_write();
    aof_fsync_policy();
}

/* ---- loading ------------------------------------------------------------------------------- */

/* Cut the file at off (a torn last command or an unfinished MULTI block). */
static int aof_cut(int fd, const char *path, uint64_t off, uint64_t size, const char *why)
{
    st_log_warn("AOF truncated: the last record is incomplete, cutting it off", ST_LOG_STR("path", path),
                ST_LOG_STR("reason", why), ST_LOG_UINT("offset", off), ST_LOG_UINT("size", size),
                ST_LOG_UINT("dropped_bytes", size - off));
    if (ftruncate(fd, (off_t)off) != 0 || fsync(fd) != 0) {
        int rc = -errno;
        st_log_error("cannot truncate the AOF", ST_LOG_STR("path", path), ST_LOG_STR("error", st_strerror(rc)));
        return rc;
    }
    return 0;
}

struct aof_replay {
    uint64_t cmds, errors;
    int64_t multi_off; /* offset of an open MULTI, -1 if none */
    int end;           /* the KV_PREAD_* code that stopped the replay */
    uint64_t end_off;  /* offset of the first byte not applied */
};

static void aof_replay(struct kv_preader *r, struct aof_replay *st)
{
    struct kv_client *fake = kv_client_fake();
    int argc;
    struct kv_bytes *argv;
    st->multi_off = -1;
    loading = true;
    for (;;) {
        uint64_t off = kv_preader_offset(r);
        st->end = kv_preader_next(r, &argc, &argv);
        st->end_off = off;
        if (st->end != KV_PREAD_CMD)
            break;
        const char *why = kv_persist_check(argc, argv);
        if (why) { /* the rest would land in the wrong database */
            snprintf(r->why, sizeof r->why, "%s", why);
            st->end = KV_PREAD_BAD;
            break;
        }
        if (kv_eq(argv[0], "MULTI"))
            st->multi_off = (int64_t)off;
        else if (kv_eq(argv[0], "EXEC"))
            st->multi_off = -1;
        /* The AOF holds only commands that succeeded when they were written, so one that
         * fails now means the file or this server differs from the writer: going on
         * would build a dataset that never existed. */
        char err[96];
        if (!kv_persist_exec(fake, argc, argv, err, sizeof err)) {
            snprintf(r->why, sizeof r->why, "command '%.*s' failed on replay: %s", argv[0].n > 32 ? 32 : (int)argv[0].n,
                     argv[0].p, err);
            st->end = KV_PREAD_FAILED;
            break;
        }
        st->cmds++;
    }
    loading = false;
    kv_client_fake_free(fake); /* drops the commands of an unfinished MULTI */
}

/*
 * After the reader stopped inside a record at from - 1: is there a complete command
 * further on? A crash tears only the last record, so the bytes after a torn one are a
 * prefix of a single command; a whole command behind it means a length in the middle of
 * the file is corrupted and cutting there would silently drop everything after it.
 */
static bool tail_has_command(int fd, uint64_t from)
{
    static char chunk[1 << 16];
    char prev = 0;
    for (uint64_t off = from;;) {
        ssize_t n = pread(fd, chunk, sizeof chunk, (off_t)off);
        if (n <= 0)
            return false;
        for (ssize_t i = 0; i < n; i++) {
            if (chunk[i] != '*' || prev != '\n') {
                prev = chunk[i];
                continue;
            }
            prev = chunk[i];
            struct kv_preader r;
            kv_preader_init(&r, fd, UINT64_MAX);
            r.base = off + (uint64_t)i;
            int argc;
            struct kv_bytes *argv;
            bool found = lseek(fd, (off_t)r.base, SEEK_SET) >= 0 && kv_preader_next(&r, &argc, &argv) == KV_PREAD_CMD;
            kv_preader_release(&r);
            if (found)
                return true;
        }
        off += (uint64_t)n;
    }
}

static int aof_load(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    uint64_t size = (uint64_t)st.st_size;
    int64_t t0 = mono_ms();
    struct kv_preader r;
    kv_preader_init(&r, fd, UINT64_MAX);
    struct aof_replay rp = { 0 };
    aof_replay(&r, &rp);
    if (rp.end == KV_PREAD_TRUNC && tail_has_command(fd, rp.end_off + 1)) {
        snprintf(r.why, sizeof r.why,
                 "a record runs past the end of the file but whole commands follow it: "
                 "a corrupted length");
        rp.end = KV_PREAD_BAD;
    }
    int rc = 0;
    if (rp.end == KV_PREAD_FAILED) {
        st_log_error("Error reading the append only file: a command failed on replay; refusing to start",
                     ST_LOG_STR("path", path), ST_LOG_UINT("offset", rp.end_off), ST_LOG_STR("reason", r.why),
                     ST_LOG_STR("hint", "the file does not match this server (databases? version?) or was edited"));
        rc = ST_EPARSE;
    } else if (rp.end == KV_PREAD_BAD) {
        st_log_error("Bad file format reading the append only file: refusing to start", ST_LOG_STR("path", path),
                     ST_LOG_UINT("offset", rp.end_off), ST_LOG_STR("reason", r.why),
                     ST_LOG_STR("hint", "only an incomplete last command is cut automatically; repair or move "
                                        "the file"));
        rc = ST_EPARSE;
    } else if (rp.end == KV_PREAD_IOERR) {
        rc = -errno;
        st_log_error("cannot read the append only file", ST_LOG_STR("path", path),
                     ST_LOG_STR("error", st_strerror(rc)));
    } else if (rp.multi_off >= 0) {
        rc = aof_cut(fd, path, (uint64_t)rp.multi_off, size, "MULTI without EXEC: the transaction is reverted");
        size = (uint64_t)rp.multi_off;
    } else if (rp.end == KV_PREAD_TRUNC) {
        rc = aof_cut(fd, path, rp.end_off, size, "last command cut short (crash during a write)");
        size = rp.end_off;
    }
    kv_preader_release(&r);
    close(fd);
    if (rc)
        return rc;
    aof.size = aof.base_size = size;
    st_log_info("AOF loaded", ST_LOG_STR("path", path), ST_LOG_UINT("commands", rp.cmds), ST_LOG_UINT("bytes", size),
                ST_LOG_INT("ms", mono_ms() - t0));
    return 0;
}

/* At start with appendonly and no AOF: write the dataset (from the snapshot, if any) as
 * the first AOF, synchronously, before accepting clients. */
static int aof_create(const char *path)
{
    char tmp[4096];
    int rc = kv_persist_temp_path(tmp, sizeof tmp, KV_CHILD_AOF, getpid());
    if (!rc)
        rc = rewrite_write(tmp);
    if (!rc && rename(tmp, path) != 0)
        rc = -errno;
    if (!rc)
        rc = kv_fsync_dir(path);
    if (rc) {
        unlink(tmp);
        st_log_error("cannot create the append only file", ST_LOG_STR("path", path),
                     ST_LOG_STR("error", st_strerror(rc)));
        return rc;
    }
    struct stat st;
    aof.size = aof.base_size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

static int aof_open(const char *path)
{
    aof.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (aof.fd < 0) {
        int rc = -errno;
        st_log_error("cannot open the append only file", ST_LOG_STR("path", path),
                     ST_LOG_STR("error", st_strerror(rc)));
        return rc;
    }
    aof.on = true;
    aof.sel_db = -1; /* the replay's SELECT state is not the file's end state: say it again */
    aof.last_fsync_ms = mono_ms();
    return 0;
}

/* Temp files of children that died with a crashed server: nobody will finish them. */
static void remove_stale_temps(void)
{
    DIR *d = opendir(kv_cfg.dir[0] ? kv_cfg.dir : ".");
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        bool aof_tmp = strncmp(de->d_name, "temp-rewriteaof-", 16) == 0 && n > 4 && !strcmp(de->d_name + n - 4, ".aof");
        bool snap_tmp = strncmp(de->d_name, "temp-", 5) == 0 && n > 5 && !strcmp(de->d_name + n - 5, ".snap");
        char path[4096];
        if ((aof_tmp || snap_tmp) && kv_persist_path(path, sizeof path, de->d_name) == 0 && unlink(path) == 0)
            st_log_info("removed a temp file left by a crash", ST_LOG_STR("path", path));
    }
    closedir(d);
}

int kv_persist_load(void)
{
    char path[4096];
    kv_snapshot_init();
    remove_stale_temps();
    if (!kv_cfg.appendonly) {
        int rc = kv_snapshot_load(NULL);
        kv_snapshot_mark_clean();
        return rc == 0 || rc == -ENOENT ? 0 : -1;
    }
    if (aof_path(path, sizeof path))
        return -1;
    int rc = aof_load(path);
    if (rc == -ENOENT) {
        /* No AOF yet: start from the snapshot when there is one, then write the AOF. */
        rc = kv_snapshot_load(NULL);
        if (rc && rc != -ENOENT)
            return -1;
        rc = aof_create(path);
    }
    kv_snapshot_mark_clean();
    if (rc || aof_open(path))
        return -1;
    return 0;
}

int kv_aof_write_error(void)
{
    return aof.on && !aof.write_ok ? aof.write_errno : 0;
}

/* ---- cron, shutdown, INFO ----------------------------------------------------------------- */

static void auto_rewrite(void)
{
    if (!aof.on || aof.rw || kv_persist_child_kind() != KV_CHILD_NONE || aof.size < AUTO_REWRITE_MIN_SIZE)
        return;
    uint64_t base = aof.base_size ? aof.base_size : 1;
    if ((aof.size - base) * 100 / base >= AUTO_REWRITE_PERCENT) {
        st_log_info("starting automatic AOF rewrite", ST_LOG_UINT("size", aof.size),
                    ST_LOG_UINT("base", aof.base_size));
        kv_aof_rewrite_start();
    }
}

void kv_persist_cron(void)
{
    reap_child();
    aof_sync_state();
    if (aof.on) {
        if (aof.buf.len)
            aof_write();    /* writes made by cron itself (expired keys) when no reply flushes */
        aof_fsync_policy(); /* everysec: writes of a quiet second still get their fsync */
    }
    if (aof.rw_scheduled && kv_persist_child_kind() == KV_CHILD_NONE)
        kv_aof_rewrite_start();
    auto_rewrite();
    kv_snapshot_cron();
}

int kv_persist_shutdown(bool save)
{
    kv_persist_kill_child(KV_CHILD_SNAPSHOT);
    kv_persist_kill_child(KV_CHILD_AOF);
    if (aof.on) {
        if (aof.buf.len)
            aof_write();
        fdatasync(aof.fd);
        aof.unsynced = false;
    }
    if (save && kv_snapshot_save(NULL) != 0) {
        st_log_error("shutdown refused: the snapshot could not be saved");
        return -1;
    }
    bio_stop();
    if (aof.on) {
        close(aof.fd);
        aof.fd = -1;
        aof.on = false;
    }
    st_buf_release(&aof.buf);
    st_buf_release(&aof.rwbuf);
    return 0;
}

void kv_persist_info(struct st_buf *out)
{
    bool rw = kv_persist_child_kind() == KV_CHILD_AOF;
    bool enabled = aof.on || aof.wait_rewrite;
    kv_snapshot_info(out);
    st_buf_printf(out,
                  "aof_enabled:%d\r\n"
                  "aof_rewrite_in_progress:%d\r\n"
                  "aof_rewrite_scheduled:%d\r\n"
                  "aof_last_rewrite_time_sec:%" PRId64 "\r\n"
                  "aof_current_rewrite_time_sec:%" PRId64 "\r\n"
                  "aof_last_bgrewrite_status:%s\r\n"
                  "aof_rewrites:%" PRIu64 "\r\n"
                  "aof_rewrites_consecutive_failures:%" PRIu64 "\r\n"
                  "aof_last_write_status:%s\r\n"
                  "aof_last_cow_size:0\r\n"
                  "module_fork_in_progress:0\r\n"
                  "module_fork_last_cow_size:0\r\n",
                  enabled ? 1 : 0, rw ? 1 : 0, aof.rw_scheduled ? 1 : 0, aof.rw_last_s,
                  rw ? (kv_now_ms() - aof.rw_start_ms) / 1000 : (int64_t)-1, aof.rw_last_ok ? "ok" : "err",
                  aof.rewrites, aof.rw_failures, aof.write_ok ? "ok" : "err");
    if (!enabled)
        return;
    st_buf_printf(out,
                  "aof_current_size:%" PRIu64 "\r\n"
                  "aof_base_size:%" PRIu64 "\r\n"
                  "aof_pending_rewrite:%d\r\n"
                  "aof_buffer_length:%zu\r\n"
                  "aof_pending_bio_fsync:%u\r\n"
                  "aof_delayed_fsync:%" PRIu64 "\r\n",
                  aof.size, aof.base_size, aof.rw_scheduled ? 1 : 0, aof.buf.len, atomic_load(&bio.pending_fsync),
                  aof.delayed_fsync);
}

/* ---- BGREWRITEAOF ------------------------------------------------------------------------- */

void kv_cmd_bgrewriteaof(struct kv_client *c)
{
    enum kv_child_kind kind = kv_persist_child_kind();
    if (kind == KV_CHILD_AOF) {
        kv_reply_error(c, "ERR Background append only file rewriting already in progress");
    } else if (kind != KV_CHILD_NONE) {
        aof.rw_scheduled = true;
        kv_reply_status(c, "Background append only file rewriting scheduled");
    } else if (kv_aof_rewrite_start() == 0) {
        kv_reply_status(c, "Background append only file rewriting started");
    } else {
        kv_reply_error(c, "ERR Can't execute an AOF background rewriting. Please check the server logs for more "
                          "information.");
    }
}
