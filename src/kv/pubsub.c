/*
 * pubsub.c - publish/subscribe: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UN- forms,
 * PUBLISH, SPUBLISH, PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP.
 *
 * Three namespaces share one implementation (struct ps_kind): channels, patterns and
 * shard channels. Each has a global index, a map from the name to a struct ps_chan that
 * lists its subscribers in subscription order (Redis delivers in that order too), and
 * every subscribed client has one map per namespace from the name to the same ps_chan.
 * The ps_chan owns the name; both maps borrow it as their key, so a subscription costs
 * one slot in each map and one pointer in the subscriber array, and the channel goes
 * away with its last subscriber.
 *
 * All of it counts in used_memory (as in Redis): the chans and subscriber arrays come
 * from kv_malloc, and the maps' tables, which base/map.c allocates itself, are charged
 * after every change through map_charge(). Tables shrink as subscriptions go, so the
 * memory of 10,000 subscriptions comes back when they end.
 *
 * PUBLISH is O(subscribers of the channel + patterns): one map lookup, then a glob match
 * per distinct pattern. Messages go straight into the subscribers' output buffers
 * through kv_reply_*; the core flushes other clients' buffers at the end of the loop
 * turn and closes a subscriber whose buffer passes the pubsub output limits, so a slow
 * consumer costs bounded memory.
 *
 * In RESP2 a subscribed client is in "subscriber mode" (KV_CLIENT_PUBSUB: the
 * dispatcher allows only the (P|S)(UN)SUBSCRIBE family, PING, QUIT and RESET); in RESP3
 * messages are push frames that can interleave with ordinary replies, so the client
 * stays free to run any command.
 */
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "kv/internal.h"

/* ---- the index ---------------------------------------------------------------------- */

enum { PS_CHANNEL, PS_PATTERN, PS_SHARD, PS_NKINDS };

/* One channel (or pattern) with at least one subscriber. */
struct ps_chan {
    struct kv_client **subs; /* subscription order */
    size_t nsubs, cap;
    size_t len;
    char name[]; /* len bytes (binary safe) */
};

/* The replies of one namespace. */
struct ps_kind {
    const char *sub, *unsub, *msg;
};

static const struct ps_kind kinds[PS_NKINDS] = {
    [PS_CHANNEL] = { "subscribe", "unsubscribe", "message" },
    [PS_PATTERN] = { "psubscribe", "punsubscribe", "pmessage" },
    [PS_SHARD] = { "ssubscribe", "sunsubscribe", "smessage" },
};

/* Global indexes: name -> struct ps_chan (keys borrowed from the chan). A zeroed map is
 * an empty map with the default (borrowing) type. */
static struct st_map index_of[PS_NKINDS];

/* Per-client state (c->pubsub), allocated at the first subscription. */
struct ps_client {
    struct st_map subs[PS_NKINDS]; /* name -> struct ps_chan, keys borrowed */
};

/* ---- accounting of the map tables ------------------------------------------------------ */

/* Charge used_memory with the change of m's table since it was before bytes. */
static void map_charge(const struct st_map *m, size_t before)
{
    kv_alloc_account(before, kv_alloc_size(m->slots));
}

static void map_put(struct st_map *m, struct st_str key, void *val)
{
    size_t before = kv_alloc_size(m->slots);
    st_map_put(m, key, val);
    map_charge(m, before);
}

static struct st_map_slot *map_upsert(struct st_map *m, struct st_str key, bool *created)
{
    size_t before = kv_alloc_size(m->slots);
    struct st_map_slot *slot = st_map_upsert(m, key, created);
    map_charge(m, before);
    return slot;
}

/* An empty table is freed and one under 1/8 full is shrunk (st_map never shrinks on its own): the memory of mass
 * unsubscriptions comes back, and halving only at 1/8 keeps churn amortized O(1). */
static void map_maybe_shrink(struct st_map *m)
{
    size_t len = st_map_len(m);
    if (m->cap == 0 || (len > 0 && (m->cap <= 16 || len * 8 >= m->cap)))
        return;
    size_t before = kv_alloc_size(m->slots);
    st_map_shrink(m);
    map_charge(m, before);
}

static void map_release(struct st_map *m)
{
    size_t before = kv_alloc_size(m->slots);
    st_map_release(m);
    map_charge(m, before);
}

static struct st_str chan_key(const struct ps_chan *ch)
{
    return st_str(ch->name, ch->len);
}

static struct st_str bytes_key(struct kv_bytes b)
{
    return st_str(b.p, b.n);
}

static struct ps_chan *chan_get_or_create(int kind, struct kv_bytes name)
{
    struct ps_chan *ch = st_map_get(&index_of[kind], bytes_key(name));
    if (ch)
        return ch;
    ch = kv_malloc(sizeof *ch + (name.n ? name.n : 1));
    ch->subs = NULL;
    ch->nsubs = ch->cap = 0;
    ch->len = name.n;
    if (name.n)
        memcpy(ch->name, name.p, name.n);
    map_put(&index_of[kind], chan_key(ch), ch);
    return ch;
}

static void chan_add(struct ps_chan *ch, struct kv_client *c)
{
    if (ch->nsubs == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->subs = kv_realloc(ch->subs, ch->cap * sizeof(struct kv_client *));
    }
    ch->subs[ch->nsubs++] = c;
}

/* Remove c from ch's subscribers, keeping the order of the others. */
static void chan_remove(struct ps_chan *ch, const struct kv_client *c)
{
    for (size_t i = 0; i < ch->nsubs; i++) {
        if (ch->subs[i] == c) {
            memmove(&ch->subs[i], &ch->subs[i + 1], (ch->nsubs - i - 1) * sizeof(struct kv_client *));
            ch->nsubs--;
            return;
        }
    }
}

/* Drop ch from the index and free it once nobody listens. */
static void chan_release_if_empty(int kind, struct ps_chan *ch)
{
    if (ch->nsubs)
        return;
    st_map_del(&index_of[kind], chan_key(ch), NULL);
    map_maybe_shrink(&index_of[kind]);
    kv_free(ch->subs);
    kv_free(ch);
}

/* ---- per-client state --------------------------------------------------------------- */

static struct ps_client *state(const struct kv_client *c)
{
    return c->pubsub;
}

static struct ps_client *state_get(struct kv_client *c)
{
    if (!c->pubsub) {
        struct ps_client *ps = kv_malloc(sizeof *ps);
        for (int k = 0; k < PS_NKINDS; k++)
            st_map_init(&ps->subs[k], NULL);
        c->pubsub = ps;
    }
    return c->pubsub;
}

static size_t count_kind(const struct kv_client *c, int kind)
{
    const struct ps_client *ps = state(c);
    return ps ? st_map_len(&ps->subs[kind]) : 0;
}

size_t kv_pubsub_count(const struct kv_client *c)
{
    return count_kind(c, PS_CHANNEL) + count_kind(c, PS_PATTERN);
}

/* The count a (un)subscribe reply carries: shard subscriptions are counted apart. */
static size_t reply_count(const struct kv_client *c, int kind)
{
    return kind == PS_SHARD ? count_kind(c, PS_SHARD) : kv_pubsub_count(c);
}

/*
 * After the subscriptions of c changed: enter or leave RESP2 subscriber mode, and free
 * the per-client maps once the client listens to nothing (most clients never subscribe
 * again, and idle maps would hold their tables forever).
 */
static void state_settle(struct kv_client *c)
{
    size_t total = kv_pubsub_count(c) + count_kind(c, PS_SHARD);
    if (total == 0) {
        c->flags &= ~(unsigned)KV_CLIENT_PUBSUB;
        struct ps_client *ps = state(c);
        if (ps) {
            for (int k = 0; k < PS_NKINDS; k++)
                map_release(&ps->subs[k]);
            kv_free(ps);
            c->pubsub = NULL;
        }
    } else if (c->resp == 2) {
        c->flags |= KV_CLIENT_PUBSUB;
    }
}

/* ---- subscribing ---------------------------------------------------------------------- */

/* ["subscribe", name or nil, count]: a push frame in RESP3, an array in RESP2. */
static void reply_event(struct kv_client *c, const char *what, const struct kv_bytes *name, size_t count)
{
    kv_reply_push(c, 3);
    kv_reply_bulk_c(c, what);
    if (name)
        kv_reply_bulk(c, *name);
    else
        kv_reply_null(c);
    kv_reply_int(c, (int64_t)count);
}

static void subscribe_one(struct kv_client *c, int kind, struct kv_bytes name)
{
    struct ps_client *ps = state_get(c);
    bool created;
    struct st_map_slot *slot = map_upsert(&ps->subs[kind], bytes_key(name), &created);
    if (created) {
        struct ps_chan *ch = chan_get_or_create(kind, name);
        /* Re-key the slot on the chan's own copy: the argv bytes die with the command. */
        slot->key = chan_key(ch);
        slot->val = ch;
        chan_add(ch, c);
    }
    reply_event(c, kinds[kind].sub, &name, reply_count(c, kind));
}

static void subscribe_cmd(struct kv_client *c, int kind)
{
    for (int i = 1; i < c->argc; i++)
        subscribe_one(c, kind, c->argv[i]);
    state_settle(c);
}

/* Remove the subscription of c to ch (already found in the client's map). */
static void unsubscribe_chan(struct kv_client *c, int kind, struct ps_chan *ch, bool notify)
{
    chan_remove(ch, c);
    if (notify) {
        struct kv_bytes name = kv_b(ch->name, ch->len);
        reply_event(c, kinds[kind].unsub, &name, reply_count(c, kind));
    }
    chan_release_if_empty(kind, ch);
}

/* Unsubscribe from everything of one kind; with notify, one event each (or one with a
 * nil name when there was nothing, as Redis does). */
static void unsubscribe_all(struct kv_client *c, int kind, bool notify)
{
    struct ps_client *ps = state(c);
    size_t n = 0;
    if (ps) {
        struct st_map_iter it = ST_MAP_ITER_INIT;
        struct st_map_slot *s;
        while ((s = st_map_next(&ps->subs[kind], &it))) {
            struct ps_chan *ch = s->val;
            st_map_iter_delete(&ps->subs[kind], &it);
            unsubscribe_chan(c, kind, ch, notify);
            n++;
        }
        map_maybe_shrink(&ps->subs[kind]); /* not while iterating: it moves the entries */
    }
    if (notify && n == 0)
        reply_event(c, kinds[kind].unsub, NULL, reply_count(c, kind));
}

static void unsubscribe_cmd(struct kv_client *c, int kind)
{
    if (c->argc == 1) {
        unsubscribe_all(c, kind, true);
    } else {
        for (int i = 1; i < c->argc; i++) {
            struct kv_bytes name = c->argv[i];
            struct ps_client *ps = state(c);
            void *ch = NULL;
            if (ps && st_map_del(&ps->subs[kind], bytes_key(name), &ch)) {
                map_maybe_shrink(&ps->subs[kind]);
                unsubscribe_chan(c, kind, ch, true);
            } else
                reply_event(c, kinds[kind].unsub, &name, reply_count(c, kind));
        }
    }
    state_settle(c);
}

void kv_pubsub_client_free(struct kv_client *c)
{
    for (int k = 0; k < PS_NKINDS; k++)
        unsubscribe_all(c, k, false);
    state_settle(c);
}

void kv_cmd_subscribe(struct kv_client *c);
void kv_cmd_unsubscribe(struct kv_client *c);
void kv_cmd_psubscribe(struct kv_client *c);
void kv_cmd_punsubscribe(struct kv_client *c);
void kv_cmd_ssubscribe(struct kv_client *c);
void kv_cmd_sunsubscribe(struct kv_client *c);
void kv_cmd_publish(struct kv_client *c);
void kv_cmd_spublish(struct kv_client *c);

void kv_cmd_subscribe(struct kv_client *c)
{
    subscribe_cmd(c, PS_CHANNEL);
}

void kv_cmd_unsubscribe(struct kv_client *c)
{
    unsubscribe_cmd(c, PS_CHANNEL);
}

void kv_cmd_psubscribe(struct kv_client *c)
{
    subscribe_cmd(c, PS_PATTERN);
}

void kv_cmd_punsubscribe(struct kv_client *c)
{
    unsubscribe_cmd(c, PS_PATTERN);
}

void kv_cmd_ssubscribe(struct kv_client *c)
{
    subscribe_cmd(c, PS_SHARD);
}

void kv_cmd_sunsubscribe(struct kv_client *c)
{
    unsubscribe_cmd(c, PS_SHARD);
}

/* ---- publishing ----------------------------------------------------------------------- */

static size_t deliver(const struct ps_chan *ch, int kind, struct kv_bytes channel, struct kv_bytes msg)
{
    for (size_t i = 0; i < ch->nsubs; i++) {
        struct kv_client *s = ch->subs[i];
        kv_reply_push(s, kind == PS_PATTERN ? 4 : 3);
        kv_reply_bulk_c(s, kinds[kind].msg);
        if (kind == PS_PATTERN)
            kv_reply_bulk(s, kv_b(ch->name, ch->len));
        kv_reply_bulk(s, channel);
        kv_reply_bulk(s, msg);
    }
    return ch->nsubs;
}

/* Send msg to every subscriber of channel (and, unless shard, of matching patterns). */
static size_t publish(int kind, struct kv_bytes channel, struct kv_bytes msg)
{
    size_t n = 0;
    const struct ps_chan *ch = st_map_get(&index_of[kind], bytes_key(channel));
    if (ch)
        n += deliver(ch, kind, channel, msg);
    if (kind == PS_SHARD)
        return n;
    struct st_map_iter it = ST_MAP_ITER_INIT;
    struct st_map_slot *s;
    while ((s = st_map_next(&index_of[PS_PATTERN], &it))) {
        const struct ps_chan *pat = s->val;
        if (kv_glob(kv_b(pat->name, pat->len), channel, false))
            n += deliver(pat, PS_PATTERN, channel, msg);
    }
    return n;
}

void kv_cmd_publish(struct kv_client *c)
{
    kv_reply_int(c, (int64_t)publish(PS_CHANNEL, c->argv[1], c->argv[2]));
}

void kv_cmd_spublish(struct kv_client *c)
{
    kv_reply_int(c, (int64_t)publish(PS_SHARD, c->argv[1], c->argv[2]));
}

/* ---- PUBSUB introspection ------------------------------------------------------------- */

static void pubsub_channels(struct kv_client *c, int kind, const char *sub)
{
    if (c->argc > 3) {
        kv_reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", sub);
        return;
    }
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    struct st_map_iter it = ST_MAP_ITER_INIT;
    struct st_map_slot *s;
    while ((s = st_map_next(&index_of[kind], &it))) {
        const struct ps_chan *ch = s->val;
        struct kv_bytes name = kv_b(ch->name, ch->len);
        if (c->argc == 3 && !kv_glob(c->argv[2], name, false))
            continue;
        kv_reply_bulk(c, name);
        n++;
    }
    kv_reply_set_deferred(c, h, n, '*');
}

static void pubsub_numsub(struct kv_client *c, int kind)
{
    kv_reply_array(c, (size_t)(c->argc - 2) * 2);
    for (int i = 2; i < c->argc; i++) {
        const struct ps_chan *ch = st_map_get(&index_of[kind], bytes_key(c->argv[i]));
        kv_reply_bulk(c, c->argv[i]);
        kv_reply_int(c, ch ? (int64_t)ch->nsubs : 0);
    }
}

static void pubsub_channels_cmd(struct kv_client *c)
{
    pubsub_channels(c, PS_CHANNEL, "CHANNELS");
}

static void pubsub_shardchannels_cmd(struct kv_client *c)
{
    pubsub_channels(c, PS_SHARD, "SHARDCHANNELS");
}

static void pubsub_numsub_cmd(struct kv_client *c)
{
    pubsub_numsub(c, PS_CHANNEL);
}

static void pubsub_shardnumsub_cmd(struct kv_client *c)
{
    pubsub_numsub(c, PS_SHARD);
}

size_t kv_pubsub_channels(void)
{
    return st_map_len(&index_of[PS_CHANNEL]);
}

size_t kv_pubsub_patterns(void)
{
    return st_map_len(&index_of[PS_PATTERN]);
}

/* Distinct patterns with at least one subscriber (as Redis 7 counts them). */
static void pubsub_numpat_cmd(struct kv_client *c)
{
    kv_reply_int(c, (int64_t)st_map_len(&index_of[PS_PATTERN]));
}

static void pubsub_help_cmd(struct kv_client *c)
{
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    size_t n = sizeof lines / sizeof lines[0];
    kv_reply_array(c, n);
    for (size_t i = 0; i < n; i++)
        kv_reply_status(c, lines[i]);
}

#define PS_SUB_FLAGS (KV_CMD_PUBSUB | KV_CMD_LOADING | KV_CMD_STALE)

/* PUBSUB's subcommands (the dispatcher resolves them; listed in pubsub.def). */
extern const struct kv_cmd kv_pubsub_subcommands[];
const struct kv_cmd kv_pubsub_subcommands[] = {
    { "channels", pubsub_channels_cmd, -2, PS_SUB_FLAGS, 0, 0, 0, "pubsub", "2.8.0", "Returns the active channels.",
      "[pattern]", NULL },
    { "numpat", pubsub_numpat_cmd, 2, PS_SUB_FLAGS, 0, 0, 0, "pubsub", "2.8.0",
      "Returns a count of unique pattern subscriptions.", "", NULL },
    { "numsub", pubsub_numsub_cmd, -2, PS_SUB_FLAGS, 0, 0, 0, "pubsub", "2.8.0",
      "Returns a count of subscribers to channels.", "[channel [channel ...]]", NULL },
    { "shardchannels", pubsub_shardchannels_cmd, -2, PS_SUB_FLAGS, 0, 0, 0, "pubsub", "7.0.0",
      "Returns the active shard channels.", "[pattern]", NULL },
    { "shardnumsub", pubsub_shardnumsub_cmd, -2, PS_SUB_FLAGS, 0, 0, 0, "pubsub", "7.0.0",
      "Returns the count of subscribers of shard channels.", "[shardchannel [shardchannel ...]]", NULL },
    { "help", pubsub_help_cmd, 2, KV_CMD_LOADING | KV_CMD_STALE, 0, 0, 0, "pubsub", "6.2.0",
      "Returns helpful text about the different subcommands.", "", NULL },
    { 0 },
};
