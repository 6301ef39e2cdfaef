/*
 * metrics.c - per-worker request counters and latency histograms, summed into the
 * Prometheus text exposition at scrape time.
 *
 * A worker table is two open-addressing arrays keyed by the route pointer (plus method
 * and status for the counters). A slot is claimed by storing its key fields first and the
 * route pointer last with release order; the scraper loads the route with acquire order
 * and only then reads the rest, so it never sees a half-written key. Counts are single
 * writer: load + store (relaxed) instead of fetch_add keeps the lock prefix off the hot
 * path. Slots are never freed; a full table sends what does not fit to the overflow slot.
 */
#include "http/metrics.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* Power-of-two capacities at most half full, so probes stay short. */
#define SERIES_CAP ((size_t)2 * ST_HTTP_METRICS_SERIES_MAX)
#define ROUTES_CAP ((size_t)2 * ST_HTTP_METRICS_ROUTES_MAX)
#define NBUCKETS 14

/* Upper bounds in nanoseconds; the last bucket (index NBUCKETS) is +Inf. */
static const int64_t bucket_ns[NBUCKETS] = { 500000,     1000000,    2500000,    5000000,    10000000,
                                             25000000,   50000000,   100000000,  250000000,  500000000,
                                             1000000000, 2500000000, 5000000000, 10000000000 };
static const char *const bucket_le[NBUCKETS + 1] = { "0.0005", "0.001", "0.0025", "0.005", "0.01",
                                                     "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                                     "1",      "2.5",   "5",      "10",    "+Inf" };

struct series {
    _Atomic(const char *) route; /* NULL: free slot; set last (release) */
    uint16_t status;
    uint8_t method;
    _Atomic uint64_t count;
};

struct hist {
    _Atomic(const char *) route;
    _Atomic uint64_t buckets[NBUCKETS + 1]; /* per bucket, not cumulative */
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t count;
};

struct table {
    struct series series[SERIES_CAP];
    struct hist hist[ROUTES_CAP];
    struct series overflow;    /* route "overflow", method OTHER, status 0 */
    struct hist overflow_hist; /* route "overflow" */
    size_t nseries, nhist;     /* writer only */
};

struct st_http_metrics {
    _Atomic(struct table *) workers[ST_HTTP_METRICS_WORKERS_MAX];
};

static const char *const method_names[] = {
    [ST_HTTP_M_OTHER] = "OTHER",     [ST_HTTP_M_GET] = "GET",         [ST_HTTP_M_HEAD] = "HEAD",
    [ST_HTTP_M_POST] = "POST",       [ST_HTTP_M_PUT] = "PUT",         [ST_HTTP_M_DELETE] = "DELETE",
    [ST_HTTP_M_CONNECT] = "CONNECT", [ST_HTTP_M_OPTIONS] = "OPTIONS", [ST_HTTP_M_TRACE] = "TRACE",
    [ST_HTTP_M_PATCH] = "PATCH",
};

const char *st_http_metrics_method(enum st_http_method method)
{
    if ((unsigned)method >= sizeof method_names / sizeof method_names[0])
        return "OTHER";
    return method_names[method];
}

struct st_http_metrics *st_http_metrics_new(void)
{
    struct st_http_metrics *m = st_xcalloc(1, sizeof *m);
    for (size_t i = 0; i < ST_HTTP_METRICS_WORKERS_MAX; i++)
        atomic_init(&m->workers[i], NULL);
    return m;
}

void st_http_metrics_free(struct st_http_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < ST_HTTP_METRICS_WORKERS_MAX; i++)
        free(atomic_load_explicit(&m->workers[i], memory_order_acquire));
    free(m);
}

static inline void bump(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline size_t hash_key(const char *route, unsigned method, unsigned status)
{
    uint64_t h = (uint64_t)(uintptr_t)route * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)method << 16 | status) * 0xff51afd7ed558ccdull;
    return (size_t)(h ^ (h >> 29));
}

static struct series *series_slot(struct table *t, const char *route, unsigned method, unsigned status)
{
    size_t i = hash_key(route, method, status) & (SERIES_CAP - 1);
    for (;;) {
        struct series *s = &t->series[i];
        const char *r = atomic_load_explicit(&s->route, memory_order_relaxed);
        if (r == route && s->method == method && s->status == status)
            return s;
        if (!r) {
            if (t->nseries >= ST_HTTP_METRICS_SERIES_MAX)
                return &t->overflow;
            s->method = (uint8_t)method;
            s->status = (uint16_t)status;
            atomic_store_explicit(&s->route, route, memory_order_release);
            t->nseries++;
            return s;
        }
        i = (i + 1) & (SERIES_CAP - 1);
    }
}

static struct hist *hist_slot(struct table *t, const char *route)
{
    size_t i = hash_key(route, 0, 0) & (ROUTES_CAP - 1);
    for (;;) {
        struct hist *h = &t->hist[i];
        const char *r = atomic_load_explicit(&h->route, memory_order_relaxed);
        if (r == route)
            return h;
        if (!r) {
            if (t->nhist >= ST_HTTP_METRICS_ROUTES_MAX)
                return &t->overflow_hist;
            atomic_store_explicit(&h->route, route, memory_order_release);
            t->nhist++;
            return h;
        }
        i = (i + 1) & (ROUTES_CAP - 1);
    }
}

/* Cold: once per worker. calloc gives zeroed atomics (all-bits-zero is a valid NULL/0). */
static __attribute__((noinline)) struct table *table_new(struct st_http_metrics *m, int worker)
{
    struct table *t = st_xcalloc(1, sizeof *t);
    atomic_store_explicit(&t->overflow.route, ST_HTTP_METRICS_OVERFLOW, memory_order_relaxed);
    atomic_store_explicit(&t->overflow_hist.route, ST_HTTP_METRICS_OVERFLOW, memory_order_relaxed);
    atomic_store_explicit(&m->workers[worker], t, memory_order_release);
    return t;
}

void st_http_metrics_observe(struct st_http_metrics *m, int worker, const char *route, enum st_http_method method,
                             int status, int64_t duration_ns)
{
    if (worker < 0 || worker >= ST_HTTP_METRICS_WORKERS_MAX)
        return;
    struct table *t = atomic_load_explicit(&m->workers[worker], memory_order_relaxed);
    if (!t)
        t = table_new(m, worker);
    if (!route)
        route = "unmatched";
    if ((unsigned)method >= sizeof method_names / sizeof method_names[0])
        method = ST_HTTP_M_OTHER;
    if (status < 0 || status > 999)
        status = 0;
    if (duration_ns < 0)
        duration_ns = 0;

    bump(&series_slot(t, route, (unsigned)method, (unsigned)status)->count, 1);

    struct hist *h = hist_slot(t, route);
    size_t b = 0;
    while (b < NBUCKETS && duration_ns > bucket_ns[b])
        b++;
    bump(&h->buckets[b], 1);
    bump(&h->sum_ns, (uint64_t)duration_ns);
    bump(&h->count, 1);
}

/* ---- scrape ---- */

struct srow {
    const char *route;
    unsigned method, status;
    uint64_t count;
};

struct hrow {
    const char *route;
    uint64_t buckets[NBUCKETS + 1];
    uint64_t sum_ns, count;
};

static int srow_cmp(const void *pa, const void *pb)
{
    const struct srow *a = pa, *b = pb;
    int c = strcmp(a->route, b->route);
    if (c)
        return c;
    c = strcmp(st_http_metrics_method(a->method), st_http_metrics_method(b->method));
    if (c)
        return c;
    return (a->status > b->status) - (a->status < b->status);
}

static int hrow_cmp(const void *pa, const void *pb)
{
    const struct hrow *a = pa, *b = pb;
    return strcmp(a->route, b->route);
}

static uint64_t load(const _Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void collect_series(const struct series *s, struct srow *rows, size_t *n)
{
    const char *r = atomic_load_explicit(&s->route, memory_order_acquire);
    uint64_t c = load(&s->count);
    if (!r || !c)
        return;
    rows[(*n)++] = (struct srow){ r, s->method, s->status, c };
}

static void collect_hist(const struct hist *h, struct hrow *rows, size_t *n)
{
    const char *r = atomic_load_explicit(&h->route, memory_order_acquire);
    if (!r || !load(&h->count))
        return;
    struct hrow *row = &rows[(*n)++];
    row->route = r;
    for (size_t b = 0; b <= NBUCKETS; b++)
        row->buckets[b] = load(&h->buckets[b]);
    row->sum_ns = load(&h->sum_ns);
    /* _count is the sum of the buckets read, so +Inf always equals _count in one scrape. */
    row->count = 0;
    for (size_t b = 0; b <= NBUCKETS; b++)
        row->count += row->buckets[b];
}

/* Merge adjacent rows with equal keys (after sorting); returns the new count. */
static size_t merge_series(struct srow *rows, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && srow_cmp(&rows[w - 1], &rows[i]) == 0)
            rows[w - 1].count += rows[i].count;
        else
            rows[w++] = rows[i];
    }
    return w;
}

static size_t merge_hist(struct hrow *rows, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w && strcmp(rows[w - 1].route, rows[i].route) == 0) {
            struct hrow *d = &rows[w - 1];
            for (size_t b = 0; b <= NBUCKETS; b++)
                d->buckets[b] += rows[i].buckets[b];
            d->sum_ns += rows[i].sum_ns;
            d->count += rows[i].count;
        } else {
            rows[w++] = rows[i];
        }
    }
    return w;
}

/* A label value with \, " and newline escaped (exposition format 0.0.4). */
static int label(struct st_buf *out, const char *v)
{
    int rc = st_buf_append_byte(out, '"');
    for (const char *p = v; !rc && *p; p++) {
        if (*p == '\\' || *p == '"')
            rc = st_buf_append(out, (const char[]){ '\\', *p }, 2);
        else if (*p == '\n')
            rc = st_buf_append(out, "\\n", 2);
        else
            rc = st_buf_append_byte(out, *p);
    }
    if (!rc)
        rc = st_buf_append_byte(out, '"');
    return rc;
}

static int render_series(struct st_buf *out, const struct srow *rows, size_t n)
{
    int rc = st_buf_append_c(out, "# HELP http_requests_total Requests answered, by route pattern, method and status.\n"
                                  "# TYPE http_requests_total counter\n");
    for (size_t i = 0; !rc && i < n; i++) {
        rc = st_buf_append_c(out, "http_requests_total{route=");
        if (!rc)
            rc = label(out, rows[i].route);
        if (!rc)
            rc = st_buf_printf(out, ",method=\"%s\",status=\"%u\"} %llu\n", st_http_metrics_method(rows[i].method),
                               rows[i].status, (unsigned long long)rows[i].count);
    }
    return rc;
}

static int render_hist_row(struct st_buf *out, const struct hrow *row)
{
    int rc = 0;
    uint64_t cum = 0;
    for (size_t b = 0; !rc && b <= NBUCKETS; b++) {
        cum += row->buckets[b];
        rc = st_buf_append_c(out, "http_request_duration_seconds_bucket{route=");
        if (!rc)
            rc = label(out, row->route);
        if (!rc)
            rc = st_buf_printf(out, ",le=\"%s\"} %llu\n", bucket_le[b], (unsigned long long)cum);
    }
    const char *suffix[2] = { "_sum", "_count" };
    for (size_t k = 0; !rc && k < 2; k++) {
        rc = st_buf_printf(out, "http_request_duration_seconds%s{route=", suffix[k]);
        if (!rc)
            rc = label(out, row->route);
        if (!rc && k == 0)
            rc = st_buf_printf(out, "} %.9g\n", (double)row->sum_ns / 1e9);
        else if (!rc)
            rc = st_buf_printf(out, "} %llu\n", (unsigned long long)row->count);
    }
    return rc;
}

static int render_stats(struct st_buf *out, const struct st_http_stats *s)
{
    return st_buf_printf(out,
                         "# HELP http_open_connections Connections open now.\n"
                         "# TYPE http_open_connections gauge\n"
                         "http_open_connections %llu\n"
                         "# HELP http_connections_accepted_total Connections accepted.\n"
                         "# TYPE http_connections_accepted_total counter\n"
                         "http_connections_accepted_total %llu\n"
                         "# HELP http_bytes_received_total Bytes read from clients.\n"
                         "# TYPE http_bytes_received_total counter\n"
                         "http_bytes_received_total %llu\n"
                         "# HELP http_bytes_sent_total Bytes written to clients.\n"
                         "# TYPE http_bytes_sent_total counter\n"
                         "http_bytes_sent_total %llu\n"
                         "# HELP http_request_parse_errors_total Requests refused by the parser or a limit.\n"
                         "# TYPE http_request_parse_errors_total counter\n"
                         "http_request_parse_errors_total %llu\n"
                         "# HELP http_connection_timeouts_total Connections dropped by a timeout.\n"
                         "# TYPE http_connection_timeouts_total counter\n"
                         "http_connection_timeouts_total %llu\n",
                         (unsigned long long)s->open, (unsigned long long)s->accepted, (unsigned long long)s->bytes_in,
                         (unsigned long long)s->bytes_out, (unsigned long long)s->parse_errors,
                         (unsigned long long)s->timeouts);
}

int st_http_metrics_render(const struct st_http_metrics *m, const struct st_http_stats *stats, struct st_buf *out)
{
    size_t nt = 0;
    const struct table *tables[ST_HTTP_METRICS_WORKERS_MAX];
    for (size_t i = 0; i < ST_HTTP_METRICS_WORKERS_MAX; i++) {
        const struct table *t = atomic_load_explicit(&m->workers[i], memory_order_acquire);
        if (t)
            tables[nt++] = t;
    }
    /* Scrape-time memory (not the request path): bounded by the table sizes. */
    struct srow *srows = st_xcalloc(nt * (SERIES_CAP + 1) + 1, sizeof *srows);
    struct hrow *hrows = st_xcalloc(nt * (ROUTES_CAP + 1) + 1, sizeof *hrows);
    size_t ns = 0, nh = 0;
    for (size_t i = 0; i < nt; i++) {
        for (size_t j = 0; j < SERIES_CAP; j++)
            collect_series(&tables[i]->series[j], srows, &ns);
        collect_series(&tables[i]->overflow, srows, &ns);
        for (size_t j = 0; j < ROUTES_CAP; j++)
            collect_hist(&tables[i]->hist[j], hrows, &nh);
        collect_hist(&tables[i]->overflow_hist, hrows, &nh);
    }
    qsort(srows, ns, sizeof *srows, srow_cmp);
    qsort(hrows, nh, sizeof *hrows, hrow_cmp);
    ns = merge_series(srows, ns);
    nh = merge_hist(hrows, nh);

    int rc = render_series(out, srows, ns);
    if (!rc)
        rc = st_buf_append_c(out, "# HELP http_request_duration_seconds Time from the complete request head to the "
                                  "end of the response, by route pattern.\n"
                                  "# TYPE http_request_duration_seconds histogram\n");
    for (size_t i = 0; !rc && i < nh; i++)
        rc = render_hist_row(out, &hrows[i]);
    if (!rc && stats)
        rc = render_stats(out, stats);
    free(srows);
    free(hrows);
    return rc;
}
