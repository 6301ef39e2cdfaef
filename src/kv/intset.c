/*
 * intset.c - sorted integer arrays with width upgrade (see intset.h).
 */
#include "kv/intset.h"

#include <string.h>

#include "kv/internal.h"

static uint32_t width_for(int64_t v)
{
    if (v >= INT16_MIN && v <= INT16_MAX)
        return 2;
    if (v >= INT32_MIN && v <= INT32_MAX)
        return 4;
    return 8;
}

/* Element pos read at an explicit width (upgrades read the old layout). */
static int64_t get_w(const struct kv_intset *is, uint32_t pos, uint32_t w)
{
    const char *p = is->contents + (size_t)pos * w;
    if (w == 2) {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    if (w == 4) {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void set_at(struct kv_intset *is, uint32_t pos, int64_t v)
{
    char *p = is->contents + (size_t)pos * is->width;
    if (is->width == 2) {
        int16_t x = (int16_t)v;
        memcpy(p, &x, 2);
    } else if (is->width == 4) {
        int32_t x = (int32_t)v;
        memcpy(p, &x, 4);
    } else {
        memcpy(p, &v, 8);
    }
}

int64_t kv_intset_get(const struct kv_intset *is, uint32_t pos)
{
    return get_w(is, pos, is->width);
}

struct kv_intset *kv_intset_new(void)
{
    struct kv_intset *is = kv_malloc(sizeof(*is));
    is->width = 2;
    is->length = 0;
    return is;
}

static size_t bytes_for(uint32_t width, uint32_t length)
{
    return sizeof(struct kv_intset) + (size_t)width * length;
}

struct kv_intset *kv_intset_dup(const struct kv_intset *is)
{
    size_t n = bytes_for(is->width, is->length);
    struct kv_intset *c = kv_malloc(n);
    memcpy(c, is, n);
    return c;
}

size_t kv_intset_mem(const struct kv_intset *is)
{
    return kv_alloc_size(is);
}

/* Binary search: true and *pos = index when found, else *pos = insertion point. */
static bool search(const struct kv_intset *is, int64_t v, uint32_t *pos)
{
    uint32_t lo = 0, hi = is->length;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t cur = kv_intset_get(is, mid);
        if (cur == v) {
            *pos = mid;
            return true;
        }
        if (cur < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    *pos = lo;
    return false;
}

bool kv_intset_find(const struct kv_intset *is, int64_t v)
{
    uint32_t pos;
    if (width_for(v) > is->width)
        return false;
    return search(is, v, &pos);
}

/* Widen every element; v (which needs the new width) is out of the old range, so it goes
 * first when negative and last when positive. Walk backwards so nothing is overwritten. */
static struct kv_intset *upgrade_add(struct kv_intset *is, int64_t v)
{
    uint32_t old = is->width, n = is->length;
    uint32_t off = v < 0 ? 1 : 0;
    is = kv_realloc(is, bytes_for(width_for(v), n + 1));
    is->width = width_for(v);
    for (uint32_t i = n; i-- > 0;)
        set_at(is, i + off, get_w(is, i, old));
    set_at(is, v < 0 ? 0 : n, v);
    is->length = n + 1;
    return is;
}

struct kv_intset *kv_intset_add(struct kv_intset *is, int64_t v, bool *added)
{
    uint32_t pos;
    *added = true;
    if (width_for(v) > is->width)
        return upgrade_add(is, v);
    if (search(is, v, &pos)) {
        *added = false;
        return is;
    }
    is = kv_realloc(is, bytes_for(is->width, is->length + 1));
    char *at = is->contents + (size_t)pos * is->width;
    memmove(at + is->width, at, (size_t)(is->length - pos) * is->width);
    is->length++;
    set_at(is, pos, v);
    return is;
}

struct kv_intset *kv_intset_remove(struct kv_intset *is, int64_t v, bool *removed)
{
    uint32_t pos;
    *removed = false;
    if (width_for(v) > is->width || !search(is, v, &pos))
        return is;
    char *at = is->contents + (size_t)pos * is->width;
    memmove(at, at + is->width, (size_t)(is->length - pos - 1) * is->width);
    is->length--;
    *removed = true;
    return kv_realloc(is, bytes_for(is->width, is->length));
}

bool kv_intset_parse(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return false;
    if (p[0] == '-') {
        neg = true;
        i = 1;
        if (n == 1)
            return false;
    }
    if (p[i] == '0')
        return n == 1 && (*out = 0, true);
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        *out = (int64_t)(0 - v);
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}
