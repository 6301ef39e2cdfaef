/*
 * multi.c - transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7's semantics.
 *
 * Queuing. Inside MULTI the dispatcher (server.c) hands every command except the
 * transaction controls to kv_multi_queue, which copies its arguments (the query buffer
 * they point into is reused) and replies +QUEUED. A command refused at queue time
 * (unknown, wrong arity, OOM) is refused by the dispatcher, which sets
 * KV_CLIENT_DIRTY_EXEC: EXEC then answers EXECABORT and runs nothing.
 *
 * EXEC runs the queue through kv_call with KV_CLIENT_MULTI cleared, so each command gets
 * the normal dispatch (its own errors land in the reply array and the rest still runs)
 * and its normal propagation. Blocking commands see a nested kv_call and reply as if
 * they timed out. For the AOF the block is wrapped in MULTI ... EXEC, the MULTI fed just
 * before the first write command, so a read-only transaction writes nothing and a crash
 * in the middle of the block is recognised (aof.c cuts an unfinished MULTI).
 *
 * WATCH. Each database with watched keys has a map key -> struct wkey listing the
 * watches on it; each watch (struct wref) is one client watching one key, shared by the
 * key's list and the client's list, so touching a key and unwatching a client are both
 * O(watches involved). kv_watch_touch_key is called for every modified key, so its cost
 * when nothing is watched is one compare. A write, an expiry deletion, an eviction or a
 * FLUSHDB/FLUSHALL that removes the key marks the watchers KV_CLIENT_DIRTY_CAS, and EXEC
 * answers a null array. As in Redis 7, a watched key that expires before EXEC fails the
 * transaction even when nobody deleted it yet, while a key that was already expired when
 * it was WATCHed does not count as changed by its own deletion.
 */
#include <string.h>

#include "base/map.h"
#include "kv/db.h"
#include "kv/internal.h"

/* ---- state ------------------------------------------------------------------------------ */

/* One queued command: argv and its bytes live in one allocation. */
struct mq_cmd {
    const struct kv_cmd *cmd;
    int argc;
    struct kv_bytes *argv;
};

struct wkey;

/* One client watching one key. */
struct wref {
    struct kv_client *c;
    struct wkey *k;
    bool expired; /* the key was logically expired when WATCHed */
};

/* A watched key of one database and its watchers (in WATCH order). */
struct wkey {
    struct wref **refs;
    size_t nrefs, cap;
    int db;
    size_t len;
    char key[];
};

/* c->multi: the queue and the client's watches. */
struct mstate {
    struct mq_cmd *q;
    size_t nq, qcap;
    struct wref **w;
    size_t nw, wcap;
};

/* Per database: key -> struct wkey (keys borrowed from the wkey). */
static struct st_map *watched;
static int nwatched_dbs;
static size_t nwatches; /* all wrefs: the fast path of kv_watch_touch_key */

static struct mstate *mstate_get(struct kv_client *c)
{
    if (!c->multi)
        c->multi = kv_calloc(1, sizeof(struct mstate));
    return c->multi;
}

/* Grow an array of elem-sized items to hold one more. */
static void *grow(void *p, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 4;
    return kv_realloc(p, *cap * elem);
}

static struct st_map *db_map(int db)
{
    if (db < 0)
        return NULL;
    if (db >= nwatched_dbs) {
        int n = kv_db_count() > db ? kv_db_count() : db + 1;
        watched = kv_realloc(watched, (size_t)n * sizeof *watched);
        for (int i = nwatched_dbs; i < n; i++)
            st_map_init(&watched[i], NULL);
        nwatched_dbs = n;
    }
    return &watched[db];
}

/* ---- queue -------------------------------------------------------------------------------- */

void kv_multi_queue(struct kv_client *c, const struct kv_cmd *cmd)
{
    struct mstate *m = mstate_get(c);
    size_t bytes = (size_t)c->argc * sizeof(struct kv_bytes);
    for (int i = 0; i < c->argc; i++)
        bytes += c->argv[i].n;
    struct kv_bytes *argv = kv_malloc(bytes ? bytes : 1);
    char *p = (char *)(argv + c->argc);
    for (int i = 0; i < c->argc; i++) {
        if (c->argv[i].n)
            memcpy(p, c->argv[i].p, c->argv[i].n);
        argv[i] = kv_b(p, c->argv[i].n);
        p += c->argv[i].n;
    }
    m->q = grow(m->q, m->nq, &m->qcap, sizeof *m->q);
    m->q[m->nq++] = (struct mq_cmd){ cmd, c->argc, argv };
    kv_reply_status(c, "QUEUED");
}

static void queue_free(struct mq_cmd *q, size_t n)
{
    for (size_t i = 0; i < n; i++)
        kv_free(q[i].argv);
    kv_free(q);
}

/* ---- watches ----------------------------------------------------------------------------- */

static bool already_watching(const struct mstate *m, int db, struct kv_bytes key)
{
    for (size_t i = 0; i < m->nw; i++) {
        const struct wkey *k = m->w[i]->k;
        if (k->db == db && k->len == key.n && memcmp(k->key, key.p, key.n) == 0)
            return true;
    }
    return false;
}

/* True when key is in db but past its expiry (not yet deleted). */
static bool logically_expired(struct kv_db *db, struct kv_bytes key)
{
    struct kv_entry *e = kv_db_find(db, key);
    return e && kv_entry_expired(e);
}

static void watch_key(struct kv_client *c, struct kv_bytes key)
{
    struct mstate *m = mstate_get(c);
    int dbi = c->db_index;
    if (already_watching(m, dbi, key))
        return;
    struct st_map *map = db_map(dbi);
    struct wkey *k = st_map_get(map, st_str(key.p, key.n));
    if (!k) {
        k = kv_malloc(sizeof *k + (key.n ? key.n : 1));
        *k = (struct wkey){ .db = dbi, .len = key.n };
        if (key.n)
            memcpy(k->key, key.p, key.n);
        st_map_put(map, st_str(k->key, k->len), k);
    }
    struct wref *r = kv_malloc(sizeof *r);
    *r = (struct wref){ c, k, logically_expired(c->db, key) };
    k->refs = grow(k->refs, k->nrefs, &k->cap, sizeof(struct wref *));
    k->refs[k->nrefs++] = r;
    m->w = grow(m->w, m->nw, &m->wcap, sizeof(struct wref *));
    m->w[m->nw++] = r;
    nwatches++;
}

/* Remove one watch from its key's list (freeing the key when unwatched). */
static void wref_drop(struct wref *r)
{
    struct wkey *k = r->k;
    for (size_t i = 0; i < k->nrefs; i++) {
        if (k->refs[i] == r) {
            memmove(&k->refs[i], &k->refs[i + 1], (k->nrefs - i - 1) * sizeof(struct wref *));
            k->nrefs--;
            break;
        }
    }
    if (k->nrefs == 0) {
        st_map_del(&watched[k->db], st_str(k->key, k->len), NULL);
        kv_free(k->refs);
        kv_free(k);
    }
    kv_free(r);
    nwatches--;
}

static void unwatch_all(struct kv_client *c)
{
    struct mstate *m = c->multi;
    if (!m)
        return;
    for (size_t i = 0; i < m->nw; i++)
        wref_drop(m->w[i]);
    kv_free(m->w);
    m->w = NULL;
    m->nw = m->wcap = 0;
}

/*
 * A watched key was modified (or deleted by expiry/eviction). A watch taken on a key
 * that was already expired does not count the deletion of that expired key: the value
 * the client saw ("no key") has not changed. The deletion paths call this before the
 * entry is removed, so "absent or still expired" identifies that case.
 */
void kv_watch_touch_key(struct kv_db *db, struct kv_bytes key)
{
    if (nwatches == 0 || !db || db->index >= nwatched_dbs)
        return;
    struct wkey *k = st_map_get(&watched[db->index], st_str(key.p, key.n));
    if (!k)
        return;
    bool gone_or_expired = false, checked = false;
    for (size_t i = 0; i < k->nrefs; i++) {
        struct wref *r = k->refs[i];
        if (r->expired) {
            if (!checked) {
                struct kv_entry *e = kv_db_find(db, key);
                gone_or_expired = !e || kv_entry_expired(e);
                checked = true;
            }
            if (gone_or_expired) {
                r->expired = false; /* deleted now: later changes count */
                continue;
            }
        }
        r->c->flags |= KV_CLIENT_DIRTY_CAS;
    }
}

/* FLUSHDB/FLUSHALL, called before db is emptied: watchers of keys that exist lose. */
void kv_watch_touch_db(struct kv_db *db)
{
    if (nwatches == 0 || !db || db->index >= nwatched_dbs)
        return;
    struct st_map_iter it = ST_MAP_ITER_INIT;
    struct st_map_slot *s;
    while ((s = st_map_next(&watched[db->index], &it))) {
        struct wkey *k = s->val;
        bool exists = kv_db_find(db, kv_b(k->key, k->len)) != NULL;
        for (size_t i = 0; i < k->nrefs; i++) {
            struct wref *r = k->refs[i];
            if (r->expired)
                r->expired = false; /* an expired key flushed: no visible change */
            else if (exists)
                r->c->flags |= KV_CLIENT_DIRTY_CAS;
        }
    }
}

/* Redis 7: a watched key that expired since WATCH fails EXEC even if still in memory. */
static bool watched_key_expired(const struct kv_client *c)
{
    const struct mstate *m = c->multi;
    for (size_t i = 0; m && i < m->nw; i++) {
        const struct wref *r = m->w[i];
        if (r->expired)
            continue;
        struct kv_db *db = kv_db_at(r->k->db);
        if (db && logically_expired(db, kv_b(r->k->key, r->k->len)))
            return true;
    }
    return false;
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

/* Leave the transaction: drop the queue and every watch, clear the flags. */
static void discard(struct kv_client *c)
{
    struct mstate *m = c->multi;
    c->flags &= ~(unsigned)(KV_CLIENT_MULTI | KV_CLIENT_DIRTY_CAS | KV_CLIENT_DIRTY_EXEC);
    if (!m)
        return;
    unwatch_all(c);
    queue_free(m->q, m->nq);
    kv_free(m);
    c->multi = NULL;
}

void kv_multi_client_free(struct kv_client *c)
{
    discard(c);
}

/* ---- commands ------------------------------------------------------------------------------- */

void kv_cmd_multi(struct kv_client *c);
void kv_cmd_exec(struct kv_client *c);
void kv_cmd_discard(struct kv_client *c);
void kv_cmd_watch(struct kv_client *c);
void kv_cmd_unwatch(struct kv_client *c);

void kv_cmd_multi(struct kv_client *c)
{
    if (c->flags & KV_CLIENT_MULTI) {
        kv_reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->flags |= KV_CLIENT_MULTI;
    kv_reply_ok(c);
}

void kv_cmd_discard(struct kv_client *c)
{
    if (!(c->flags & KV_CLIENT_MULTI)) {
        kv_reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    discard(c);
    kv_reply_ok(c);
}

void kv_cmd_watch(struct kv_client *c)
{
    if (c->flags & KV_CLIENT_MULTI) {
        kv_reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++)
        watch_key(c, c->argv[i]);
    kv_reply_ok(c);
}

void kv_cmd_unwatch(struct kv_client *c)
{
    unwatch_all(c);
    c->flags &= ~(unsigned)KV_CLIENT_DIRTY_CAS;
    kv_reply_ok(c);
}

/* Run the queued commands; the AOF gets them between MULTI and EXEC. */
static void exec_queue(struct kv_client *c, struct mq_cmd *q, size_t n)
{
    int argc = c->argc;
    struct kv_bytes *argv = c->argv;
    bool wrapped = false;
    kv_reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        if (!wrapped && (q[i].cmd->flags & KV_CMD_WRITE)) {
            struct kv_bytes m = kv_b("MULTI", 5);
            kv_propagate(c, 1, &m);
            wrapped = true;
        }
        c->argc = q[i].argc;
        c->argv = q[i].argv;
        kv_call(c);
    }
    c->argc = argc;
    c->argv = argv;
    if (wrapped) {
        struct kv_bytes e = kv_b("EXEC", 4);
        kv_propagate(c, 1, &e);
    }
}

void kv_cmd_exec(struct kv_client *c)
{
    if (!(c->flags & KV_CLIENT_MULTI)) {
        kv_reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (watched_key_expired(c))
        c->flags |= KV_CLIENT_DIRTY_CAS;
    if (c->flags & (KV_CLIENT_DIRTY_CAS | KV_CLIENT_DIRTY_EXEC)) {
        if (c->flags & KV_CLIENT_DIRTY_EXEC)
            kv_reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        else
            kv_reply_null_array(c);
        discard(c);
        return;
    }
    /* Take the queue and leave the transaction first: the commands run as if sent
     * outside MULTI, and our watches must not see the writes they make. */
    struct mstate *m = c->multi;
    struct mq_cmd *q = m ? m->q : NULL;
    size_t n = m ? m->nq : 0;
    if (m)
        m->q = NULL, m->nq = m->qcap = 0;
    discard(c);
    exec_queue(c, q, n);
    queue_free(q, n);
}
