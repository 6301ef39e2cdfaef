/*
 * quicklist.c - a list of listpack nodes (quicklist.h).
 *
 * Inserting into a full node first tries the neighbour the element is next to, then
 * splits the node at the position, so a node never grows past its cap because of an
 * insert in the middle (a lone element bigger than the cap is the one exception).
 */
#include <string.h>

#include "kv/listpack.h"
#include "kv/quicklist.h"

/* Redis's estimate of one element's overhead when checking a node's size before an
 * insert (tag, length bytes, backlen): a slight overestimate is harmless. */
#define ELEM_OVERHEAD 11
#define SAFETY_LIMIT 8192

static size_t node_cap_bytes(int fill)
{
    if (fill >= 0)
        return SAFETY_LIMIT;
    int f = fill < -5 ? 5 : -fill;
    return (size_t)4096 << (f - 1);
}

/* May node take one more element s without passing the cap? */
static bool node_allows(const struct kv_quicklist *ql, const struct kv_ql_node *n, struct kv_bytes s)
{
    if (!n)
        return false;
    if (ql->fill > 0 && kv_lp_len(n->lp) >= (uint32_t)ql->fill)
        return false;
    return kv_lp_bytes(n->lp) + s.n + ELEM_OVERHEAD <= node_cap_bytes(ql->fill);
}

struct kv_quicklist *kv_ql_new(int fill)
{
    struct kv_quicklist *ql = kv_malloc(sizeof(*ql));
    ql->head = ql->tail = NULL;
    ql->count = 0;
    ql->nodes = 0;
    ql->fill = fill == 0 ? 1 : fill;
    return ql;
}

static struct kv_ql_node *node_new(unsigned char *lp)
{
    struct kv_ql_node *n = kv_malloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->lp = lp;
    return n;
}

/* Link n after `after` (NULL: at the head). */
static void link_after(struct kv_quicklist *ql, struct kv_ql_node *after, struct kv_ql_node *n)
{
    n->prev = after;
    n->next = after ? after->next : ql->head;
    if (n->next)
        n->next->prev = n;
    else
        ql->tail = n;
    if (after)
        after->next = n;
    else
        ql->head = n;
    ql->nodes++;
}

static void unlink_node(struct kv_quicklist *ql, struct kv_ql_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        ql->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        ql->tail = n->prev;
    ql->nodes--;
    kv_lp_free(n->lp);
    kv_free(n);
}

void kv_ql_free(struct kv_quicklist *ql)
{
    struct kv_ql_node *n = ql->head;
    while (n) {
        struct kv_ql_node *next = n->next;
        kv_lp_free(n->lp);
        kv_free(n);
        n = next;
    }
    kv_free(ql);
}

struct kv_quicklist *kv_ql_dup(const struct kv_quicklist *ql)
{
    struct kv_quicklist *d = kv_ql_new(ql->fill);
    for (const struct kv_ql_node *n = ql->head; n; n = n->next)
        link_after(d, d->tail, node_new(kv_lp_dup(n->lp)));
    d->count = ql->count;
    return d;
}

size_t kv_ql_mem(const struct kv_quicklist *ql)
{
    size_t m = kv_alloc_size(ql);
    for (const struct kv_ql_node *n = ql->head; n; n = n->next)
        m += kv_alloc_size(n) + kv_alloc_size(n->lp);
    return m;
}

void kv_ql_push(struct kv_quicklist *ql, struct kv_bytes s, bool head)
{
    struct kv_ql_node *n = head ? ql->head : ql->tail;
    if (!node_allows(ql, n, s)) {
        n = node_new(kv_lp_new());
        link_after(ql, head ? NULL : ql->tail, n);
    }
    n->lp = head ? kv_lp_prepend(n->lp, s) : kv_lp_append(n->lp, s);
    ql->count++;
}

bool kv_ql_seek(struct kv_quicklist *ql, int64_t index, struct kv_ql_pos *pos)
{
    int64_t n = (int64_t)ql->count;
    if (index < 0)
        index += n;
    pos->node = NULL;
    pos->p = NULL;
    if (index < 0 || index >= n)
        return false;
    struct kv_ql_node *node;
    int64_t in;
    if (index < n / 2) {
        int64_t acc = 0;
        for (node = ql->head; acc + kv_lp_len(node->lp) <= index; node = node->next)
            acc += kv_lp_len(node->lp);
        in = index - acc;
    } else {
        int64_t acc = n; /* index of the element after the current node */
        for (node = ql->tail; acc - kv_lp_len(node->lp) > index; node = node->prev)
            acc -= kv_lp_len(node->lp);
        in = index - (acc - kv_lp_len(node->lp));
    }
    pos->node = node;
    pos->p = kv_lp_seek(node->lp, in);
    return true;
}

struct kv_bytes kv_ql_get(const struct kv_ql_pos *pos, char buf[24])
{
    return kv_lp_get(pos->p, buf);
}

bool kv_ql_next(struct kv_ql_pos *pos)
{
    unsigned char *p = kv_lp_next(pos->node->lp, pos->p);
    if (!p) {
        pos->node = pos->node->next;
        p = pos->node ? kv_lp_first(pos->node->lp) : NULL;
    }
    pos->p = p;
    return pos->node != NULL;
}

bool kv_ql_prev(struct kv_ql_pos *pos)
{
    unsigned char *p = kv_lp_prev(pos->node->lp, pos->p);
    if (!p) {
        pos->node = pos->node->prev;
        p = pos->node ? kv_lp_last(pos->node->lp) : NULL;
    }
    pos->p = p;
    return pos->node != NULL;
}

void kv_ql_delete(struct kv_quicklist *ql, struct kv_ql_pos *pos, bool forward)
{
    struct kv_ql_node *n = pos->node;
    unsigned char *p = pos->p;
    ql->count--;
    if (kv_lp_len(n->lp) == 1) {
        struct kv_ql_node *to = forward ? n->next : n->prev;
        unlink_node(ql, n);
        pos->node = to;
        pos->p = to ? (forward ? kv_lp_first(to->lp) : kv_lp_last(to->lp)) : NULL;
        return;
    }
    if (forward) {
        n->lp = kv_lp_delete(n->lp, &p); /* p: the element that followed */
        if (!p && n->next) {
            n = n->next;
            p = kv_lp_first(n->lp);
        } else if (!p) {
            n = NULL;
        }
    } else {
        size_t off = (size_t)(p - n->lp);
        bool first = off == KV_LP_HDR;
        n->lp = kv_lp_delete(n->lp, &p);
        if (first) {
            n = n->prev;
            p = n ? kv_lp_last(n->lp) : NULL;
        } else {
            /* the element before the deleted one ends where it started */
            p = p ? kv_lp_prev(n->lp, p) : kv_lp_last(n->lp);
        }
    }
    pos->node = n;
    pos->p = p;
}

/* Split node n so that the element at p starts a new node right after it. */
static struct kv_ql_node *split_at(struct kv_quicklist *ql, struct kv_ql_node *n, unsigned char *p)
{
    struct kv_ql_node *b = node_new(kv_lp_split(&n->lp, p));
    link_after(ql, n, b);
    return b;
}

void kv_ql_insert(struct kv_quicklist *ql, struct kv_ql_pos *pos, struct kv_bytes s, bool after)
{
    struct kv_ql_node *n = pos->node;
    ql->count++;
    if (node_allows(ql, n, s)) {
        n->lp = kv_lp_insert(n->lp, pos->p, s, after ? KV_LP_AFTER : KV_LP_BEFORE, NULL);
        return;
    }
    bool at_tail = after && kv_lp_next(n->lp, pos->p) == NULL;
    bool at_head = !after && kv_lp_prev(n->lp, pos->p) == NULL;
    if (at_tail && node_allows(ql, n->next, s)) {
        n->next->lp = kv_lp_prepend(n->next->lp, s);
        return;
    }
    if (at_head && node_allows(ql, n->prev, s)) {
        n->prev->lp = kv_lp_append(n->prev->lp, s);
        return;
    }
    if (!at_tail && !at_head) {
        /* full node, position inside: split so the position is at a node boundary */
        unsigned char *cut = after ? kv_lp_next(n->lp, pos->p) : pos->p;
        split_at(ql, n, cut);
        if (node_allows(ql, n, s)) { /* the element now goes at the end of n */
            n->lp = kv_lp_append(n->lp, s);
            return;
        }
    }
    /* a fresh node between n and its neighbour on the insert side */
    struct kv_ql_node *fresh = node_new(kv_lp_append(kv_lp_new(), s));
    link_after(ql, (after || (!at_head && !at_tail)) ? n : n->prev, fresh);
}

void kv_ql_replace(struct kv_quicklist *ql, struct kv_ql_pos *pos, struct kv_bytes s)
{
    struct kv_ql_node *n = pos->node;
    char buf[24];
    struct kv_bytes old = kv_lp_get(pos->p, buf);
    /* Growing by (s.n - old.n) must respect the cap, else the element goes in as an
     * insert (which splits) and the old one is deleted. */
    if (s.n <= old.n || kv_lp_bytes(n->lp) + s.n - old.n + ELEM_OVERHEAD <= node_cap_bytes(ql->fill) ||
        kv_lp_len(n->lp) == 1) {
        n->lp = kv_lp_replace(n->lp, &pos->p, s);
        return;
    }
    /* delete, then insert at the same index: before what followed, or after the tail */
    struct kv_ql_pos at = *pos;
    kv_ql_delete(ql, &at, true);
    if (at.node) {
        kv_ql_insert(ql, &at, s, false);
    } else {
        struct kv_ql_pos tail = { ql->tail, kv_lp_last(ql->tail->lp) };
        kv_ql_insert(ql, &tail, s, true);
    }
    pos->node = NULL; /* the element may be in another node now */
    pos->p = NULL;
}

void kv_ql_delete_range(struct kv_quicklist *ql, size_t start, size_t count)
{
    if (start >= ql->count || count == 0)
        return;
    if (count > ql->count - start)
        count = ql->count - start;
    struct kv_ql_node *n = ql->head;
    size_t acc = 0;
    while (acc + kv_lp_len(n->lp) <= start) {
        acc += kv_lp_len(n->lp);
        n = n->next;
    }
    size_t in = start - acc;
    ql->count -= count;
    while (count > 0) {
        struct kv_ql_node *next = n->next;
        size_t len = kv_lp_len(n->lp);
        size_t del = len - in < count ? len - in : count;
        if (del == len)
            unlink_node(ql, n);
        else
            n->lp = kv_lp_delete_range(n->lp, (int64_t)in, (uint32_t)del);
        count -= del;
        in = 0;
        n = next;
    }
}
