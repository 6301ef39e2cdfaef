/*
 * metrics.h - request metrics of an HTTP app, exposed in the Prometheus text format
 * (version 0.0.4).
 *
 * Families:
 *   http_requests_total{route,method,status}          counter
 *   http_request_duration_seconds{route}              histogram (_bucket{le}, _sum, _count)
 *   http_open_connections                             gauge     (st_http_stats.open)
 *   http_connections_accepted_total                   counter   (st_http_stats.accepted)
 *   http_bytes_received_total, http_bytes_sent_total  counters  (st_http_stats)
 *   http_request_parse_errors_total                   counter   (st_http_stats: refused before
 *   http_connection_timeouts_total                    counter    any handler / dropped idle)
 *
 * Invariants of the module:
 *   - One table per worker, indexed by st_http_ex.worker and written only by that worker's
 *     thread, with relaxed atomic loads and stores (no read-modify-write, no lock): an
 *     observation costs a hash probe and a few plain stores. The scrape, on any thread,
 *     reads every table with relaxed loads and sums them; a scrape racing with requests
 *     may see one counter bumped and the next not yet, never a torn value.
 *   - A table is allocated by its worker on its first observation (once per worker, not
 *     per request) and published with a release store.
 *   - Label sets are bounded: routes are patterns (or fixed labels like "unmatched"), never
 *     raw paths, methods are the parser's well-known ones or "OTHER", and a table holds at
 *     most ST_HTTP_METRICS_SERIES_MAX (route, method, status) series and
 *     ST_HTTP_METRICS_ROUTES_MAX histogram routes; what does not fit is counted under the
 *     route "overflow" so no request goes uncounted.
 *   - Route strings are kept by pointer: they must live as long as the metrics (router
 *     patterns and string literals do; an arena string does not). The scrape merges
 *     equal strings behind different pointers.
 */
#ifndef ST_HTTP_METRICS_H
#define ST_HTTP_METRICS_H

#include <stdint.h>

#include "base/buf.h"
#include "http/parse.h"
#include "http/server.h"

/* Workers with a table; an observation from a worker index at or past it is dropped. */
#define ST_HTTP_METRICS_WORKERS_MAX 256
/* (route, method, status) series per worker table. */
#define ST_HTTP_METRICS_SERIES_MAX 512
/* Routes with a histogram per worker table. */
#define ST_HTTP_METRICS_ROUTES_MAX 128
/* The route label of the series that did not fit. */
#define ST_HTTP_METRICS_OVERFLOW "overflow"

/* Content-Type of the exposition. */
#define ST_HTTP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct st_http_metrics;

/* An empty set of tables (allocates the small index; aborts on OOM). */
struct st_http_metrics *st_http_metrics_new(void);
/* Free it and every worker table; no worker may be observing any more. NULL is fine. */
void st_http_metrics_free(struct st_http_metrics *m);

/*
 * Count one finished request of worker (its thread only): route (NULL counts as
 * "unmatched"; see the lifetime rule above), method, status and how long it took.
 */
void st_http_metrics_observe(struct st_http_metrics *m, int worker, const char *route, enum st_http_method method,
                             int status, int64_t duration_ns);

/*
 * Append the exposition of every family to out: series sorted by route, method and
 * status so that two scrapes diff cleanly. stats (may be NULL: the connection families
 * are left out) gives the server counters. Any thread. 0 or ST_ELIMIT (out is full).
 */
int st_http_metrics_render(const struct st_http_metrics *m, const struct st_http_stats *stats, struct st_buf *out);

/* The label value used for a method ("GET", ..., "OTHER"). */
const char *st_http_metrics_method(enum st_http_method method);

#endif
