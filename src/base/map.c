/*
 * map.c - the open-addressing hash map of map.h.
 *
 * Slots live in one power-of-two array; a key's probe sequence starts at its home slot
 * (hash & mask) and walks forward, wrapping. Because the table is never more than 3/4
 * full, every walk meets an empty slot (hash 0) and stops. There are no tombstones:
 * deletion moves later members of the cluster back into the hole (backward shift), so
 * the table after any churn looks as if the survivors had been inserted alone.
 */
#include "base/map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/hash.h"

/* Smallest table: 8 slots hold 6 entries before the first growth. */
#define MAP_MIN_CAP 8

const struct st_map_type st_map_type_nocase_dup = {
    .hash = st_hash_nocase,
    .eq = st_str_ieq,
    .key_dup = true,
};

const struct st_map_type st_map_type_dup = {
    .key_dup = true,
};

void st_map_init(struct st_map *m, const struct st_map_type *type)
{
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
    m->type = type;
}

/* The key's hash, never 0: 0 is the empty-slot marker. */
static inline uint64_t key_hash(const struct st_map *m, struct st_str key)
{
    uint64_t h = (m->type && m->type->hash) ? m->type->hash(key.ptr, key.len) : st_hash(key.ptr, key.len);
    return h ? h : 1;
}

static inline bool key_eq(const struct st_map *m, struct st_str a, struct st_str b)
{
    return (m->type && m->type->eq) ? m->type->eq(a, b) : st_str_eq(a, b);
}

static struct st_str key_copy(const struct st_map *m, struct st_str key)
{
    if (!m->type || !m->type->key_dup)
        return key;
    char *p = st_xmalloc(key.len + 1);
    if (key.len)
        memcpy(p, key.ptr, key.len);
    p[key.len] = '\0';
    return st_str(p, key.len);
}

static void key_drop(const struct st_map *m, struct st_str key)
{
    if (m->type && m->type->key_dup)
        free((void *)key.ptr);
}

static void val_drop(const struct st_map *m, void *val)
{
    if (val && m->type && m->type->val_free)
        m->type->val_free(val);
}

/*
 * The slot holding key, or else the empty slot where the probe ended (where key would be
 * inserted). The table must have slots.
 */
static size_t probe(const struct st_map *m, struct st_str key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const struct st_map_slot *s = &m->slots[i];
        if (s->hash == 0 || (s->hash == h && key_eq(m, s->key, key)))
            return i;
    }
}

/* Move every entry into a table of cap slots (0 frees the table); stored hashes are
 * reused, so no key is hashed again. */
static void resize(struct st_map *m, size_t cap)
{
    struct st_map_slot *old = m->slots;
    size_t old_cap = m->cap;

    if (cap == 0) { /* only an empty map drops its table */
        assert(m->len == 0);
        free(old);
        m->slots = NULL;
        m->cap = 0;
        return;
    }
    m->slots = st_xcalloc(cap, sizeof(*m->slots));
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].hash == 0)
            continue;
        size_t j = old[i].hash & (cap - 1);
        while (m->slots[j].hash)
            j = (j + 1) & (cap - 1);
        m->slots[j] = old[i];
    }
    free(old);
}

/*
 * Empty slot i and close the gap: each following member of the cluster moves back into
 * the hole if the hole lies on its probe path (between its home slot and where it sits);
 * its old place becomes the new hole. Stops at the first empty slot.
 */
static void remove_at(struct st_map *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slots[j].hash; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    memset(&m->slots[i], 0, sizeof(m->slots[i]));
    m->len--;
}

/* Drop what the type owns in every entry, leaving the slots as they are. */
static void drop_all(struct st_map *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].hash) {
            key_drop(m, m->slots[i].key);
            val_drop(m, m->slots[i].val);
        }
    }
}

void st_map_release(struct st_map *m)
{
    drop_all(m);
    free(m->slots);
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

void st_map_clear(struct st_map *m)
{
    drop_all(m);
    if (m->cap)
        memset(m->slots, 0, m->cap * sizeof(*m->slots));
    m->len = 0;
}

struct st_map_slot *st_map_find(const struct st_map *m, struct st_str key)
{
    if (m->len == 0)
        return NULL;
    size_t i = probe(m, key, key_hash(m, key));
    return m->slots[i].hash ? &m->slots[i] : NULL;
}

void *st_map_get(const struct st_map *m, struct st_str key)
{
    struct st_map_slot *s = st_map_find(m, key);
    return s ? s->val : NULL;
}

struct st_map_slot *st_map_upsert(struct st_map *m, struct st_str key, bool *created)
{
    uint64_t h = key_hash(m, key);
    size_t i = 0;

    if (m->cap) {
        i = probe(m, key, h);
        if (m->slots[i].hash) {
            if (created)
                *created = false;
            return &m->slots[i];
        }
    }
    /* Grow before the entry that would pass 3/4 load; the empty slot found above moves. */
    if ((m->len + 1) * 4 > m->cap * 3) {
        resize(m, m->cap ? m->cap * 2 : MAP_MIN_CAP);
        i = probe(m, key, h);
    }
    struct st_map_slot *s = &m->slots[i];
    s->hash = h;
    s->key = key_copy(m, key);
    s->val = NULL;
    m->len++;
    if (created)
        *created = true;
    return s;
}

bool st_map_put(struct st_map *m, struct st_str key, void *val)
{
    bool created;
    struct st_map_slot *s = st_map_upsert(m, key, &created);
    /* Storing the value already there must not free it. */
    if (!created && s->val != val)
        val_drop(m, s->val);
    s->val = val;
    return created;
}

bool st_map_del(struct st_map *m, struct st_str key, void **val_out)
{
    struct st_map_slot *s = st_map_find(m, key);
    if (!s) {
        if (val_out)
            *val_out = NULL;
        return false;
    }
    if (val_out)
        *val_out = s->val;
    else
        val_drop(m, s->val);
    key_drop(m, s->key);
    remove_at(m, (size_t)(s - m->slots));
    return true;
}

void st_map_shrink(struct st_map *m)
{
    size_t cap = 0;
    if (m->len) {
        cap = MAP_MIN_CAP;
        while (m->len * 4 > cap * 3)
            cap *= 2;
    }
    if (cap < m->cap)
        resize(m, cap);
}

/*
 * Iteration starts just after an empty slot and walks cap slots from there. A cluster
 * (run of full slots) then never straddles the end of the walk, and backward shift only
 * moves entries toward the front of their cluster: deleting the current entry can pull a
 * not-yet-visited entry into the current slot, never into a visited one. So after
 * st_map_iter_delete, st_map_next looks at the same slot again instead of moving on.
 */
static void iter_start(const struct st_map *m, struct st_map_iter *it)
{
    size_t i = 0;
    it->started = true;
    it->left = 0;
    if (m->len == 0)
        return;
    while (m->slots[i].hash) /* load < 1: an empty slot exists */
        i++;
    it->pos = (i + 1) & (m->cap - 1);
    it->left = m->cap;
}

struct st_map_slot *st_map_next(const struct st_map *m, struct st_map_iter *it)
{
    if (!it->started) {
        iter_start(m, it);
    } else if (it->deleted) {
        it->deleted = false;
    } else if (it->left) {
        it->pos = (it->pos + 1) & (m->cap - 1);
        it->left--;
    }
    for (; it->left; it->left--, it->pos = (it->pos + 1) & (m->cap - 1)) {
        if (m->slots[it->pos].hash)
            return &m->slots[it->pos];
    }
    return NULL;
}

void st_map_iter_delete(struct st_map *m, struct st_map_iter *it)
{
    assert(it->started && it->left && !it->deleted && m->slots[it->pos].hash);
    struct st_map_slot *s = &m->slots[it->pos];
    key_drop(m, s->key);
    val_drop(m, s->val);
    remove_at(m, it->pos);
    it->deleted = true;
}
