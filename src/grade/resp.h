/*
 * resp.h - internal to src/grade: a small blocking RESP2 client for the graders of the
 * key-value questions (kv.c), which talk to any Redis-compatible target.
 *
 * One struct g_kv per check: its arena holds every connection and every reply, and its
 * release closes the connections, so a check never leaks whatever path it fails on.
 * Reads and writes are bounded by the check's deadline (g_left_ms); every failure goes
 * through g_fail with the command that was sent and the reply that came back.
 */
#ifndef ST_GRADE_RESP_H
#define ST_GRADE_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "grade/internal.h"

/* A reply. Types are RESP's first byte: '+' status, '-' error, ':' integer, '$' bulk,
 * '*' array; a null bulk or array is type '_'. s/n hold the text of + - $ (arena). */
struct g_rv {
    char t;
    int64_t i;
    const char *s;
    size_t n;
    struct g_rv *a; /* elements of '*' */
    size_t na;
};

struct g_rconn {
    int fd;
    struct st_buf in; /* received, not yet parsed from pos */
    size_t pos;
};

struct g_kv {
    struct st_grade *g;
    struct st_arena ar;
    char last[200];  /* the last command sent, quoted, for failure reports */
    char prefix[24]; /* "grade:XXXXXX:" unique per check: keys never collide with real data */
};

void g_kv_begin(struct g_kv *k, struct st_grade *g);
void g_kv_end(struct g_kv *k);

/* A key under the check's prefix (arena). */
const char *g_kv_key(struct g_kv *k, const char *name);

/* A new connection to the target, or NULL after g_fail. */
struct g_rconn *g_kv_open(struct g_kv *k);

/* Send one command (argv with lengths; lens NULL: strlen). false after g_fail. */
bool g_kv_send(struct g_kv *k, struct g_rconn *c, int argc, const char *const *argv, const size_t *lens);
/* Send bytes as they are (pipelines); what names them in failure reports. */
bool g_kv_send_raw(struct g_kv *k, struct g_rconn *c, const char *p, size_t n, const char *what);
/* Ends the argument list of g_kv_sendv and g_kv_call: a null pointer of the arguments'
 * type (a bare NULL may be an int 0 in a variadic call). */
#define G_KV_END ((const char *)NULL)
/* Send a list of C strings ended by G_KV_END. */
bool g_kv_sendv(struct g_kv *k, struct g_rconn *c, ...);
/* Read one reply, or NULL after g_fail (timeout, closed, not RESP). */
struct g_rv *g_kv_read(struct g_kv *k, struct g_rconn *c);
/* Wait up to ms for a reply: NULL without failing when nothing came (for "no message"). */
struct g_rv *g_kv_try_read(struct g_kv *k, struct g_rconn *c, int ms);
/* Send a command ended by G_KV_END and read its reply (NULL after g_fail). */
struct g_rv *g_kv_call(struct g_kv *k, struct g_rconn *c, ...);

/* The reply in a short readable form: +OK :5 "bulk" nil [a, b] -ERR (arena). */
const char *g_kv_show(struct g_kv *k, const struct g_rv *v);

/* Judges: true, or false after g_fail("sent X, got Y, expected Z"). v may be NULL (the
 * read already failed). */
bool g_kv_want_ok(struct g_kv *k, const struct g_rv *v);
bool g_kv_want_int(struct g_kv *k, const struct g_rv *v, int64_t want);
bool g_kv_want_range(struct g_kv *k, const struct g_rv *v, int64_t lo, int64_t hi);
bool g_kv_want_bulk(struct g_kv *k, const struct g_rv *v, const char *p, size_t n);
bool g_kv_want_str(struct g_kv *k, const struct g_rv *v, const char *s);
bool g_kv_want_nil(struct g_kv *k, const struct g_rv *v);
bool g_kv_want_err(struct g_kv *k, const struct g_rv *v, const char *prefix);
/* An array of n elements. */
bool g_kv_want_array(struct g_kv *k, const struct g_rv *v, size_t n);
/* A bulk equal to s (no failure). */
bool g_kv_is_str(const struct g_rv *v, const char *s);

/* Sleep ms (expiry checks). */
void g_kv_sleep(int ms);

#endif
