/*
 * time.h - monotonic and wall-clock time.
 *
 * Monotonic time measures intervals (timeouts, latency) and never jumps; wall time is for
 * humans and timestamps stored in data. Both in integer nanoseconds/milliseconds so
 * arithmetic is exact.
 */
#ifndef ST_BASE_TIME_H
#define ST_BASE_TIME_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t st_time_mono_ns(void);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t st_time_mono_ms(void);
/* CLOCK_REALTIME in milliseconds since the Unix epoch. */
int64_t st_time_wall_ms(void);

/* "2026-11-28T01:02:03.456Z" (UTC, millisecond precision). buf needs ST_TIME_RFC3339_LEN+1.
 * Returns ST_TIME_RFC3339_LEN. Instants outside years 0000..9999 are clamped to that range
 * (the same holds for st_time_format_http). */
#define ST_TIME_RFC3339_LEN 24
size_t st_time_format_rfc3339(int64_t wall_ms, char *buf);
/* Parse what st_time_format_rfc3339 writes, also without the fraction ("...:03Z"), with
 * 1..n fraction digits (truncated to milliseconds), lower-case 't'/'z', or with a numeric
 * offset ("+02:00"); 0 or ST_EPARSE. Leap seconds (":60") are rejected. */
int st_time_parse_rfc3339(const char *s, int64_t *wall_ms);

/* "Sat, 28 Nov 2026 01:02:03 GMT" (RFC 9110 IMF-fixdate). buf needs ST_TIME_HTTP_LEN+1.
 * Returns ST_TIME_HTTP_LEN. */
#define ST_TIME_HTTP_LEN 29
size_t st_time_format_http(int64_t wall_ms, char *buf);
/*
 * Parse an HTTP-date (RFC 9110 5.6.7) of len bytes at s (need not be NUL-terminated):
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" and, as recipients must, the obsolete
 * rfc850-date "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year more than 50 years in the
 * future means the century before) and asctime-date "Sun Nov  6 08:49:37 1994". Names are
 * case-sensitive, no surrounding whitespace; the weekday must be a valid name but is not
 * checked against the date. Leap seconds are rejected. 0 or ST_EPARSE (*wall_ms untouched).
 */
int st_time_parse_http(const char *s, size_t len, int64_t *wall_ms);

/* Sleep for ms milliseconds (restarting on EINTR). */
void st_time_sleep_ms(int64_t ms);

#endif
