/*
 * hiredis_test.c - a real client library against `strata kv` (and redis-server, to prove
 * the checks): hiredis parses every reply, so any framing mistake of ours fails here.
 *
 *   hiredis_test LABEL=HOST:PORT [...]     TAP, one line per check per target
 *
 * Checks: PING, binary-safe values (NUL, CR, LF, 1 MiB), missing keys as nil, MGET
 * arrays with nils, exact error replies, 1000 pipelined INCRs answered in order, and a
 * pipeline split across many small writes by the client's own buffering.
 */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_tests, n_failed;

static void result(int ok, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void result(int ok, const char *label, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    n_tests++;
    if (!ok)
        n_failed++;
    printf("%sok %d - %s: %s\n", ok ? "" : "not ", n_tests, label, name);
    fflush(stdout);
}

static redisReply *cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    return r;
}

static int is_status(redisReply *r, const char *s)
{
    return r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, s) == 0;
}

static int is_string(redisReply *r, const char *p, size_t n)
{
    return r && r->type == REDIS_REPLY_STRING && r->len == n && memcmp(r->str, p, n) == 0;
}

static void check_basics(redisContext *c, const char *label)
{
    redisReply *r = cmd(c, "PING");
    result(is_status(r, "PONG"), label, "PING");
    freeReplyObject(r);

    static const char bin[] = "a\0b\r\nc\xff";
    r = cmd(c, "SET %b %b", "bin\0key", (size_t)7, bin, sizeof bin - 1);
    result(is_status(r, "OK"), label, "SET binary key and value");
    freeReplyObject(r);
    r = cmd(c, "GET %b", "bin\0key", (size_t)7);
    result(is_string(r, bin, sizeof bin - 1), label, "GET returns the binary value intact");
    freeReplyObject(r);

    r = cmd(c, "GET %s", "hiredis:missing");
    result(r && r->type == REDIS_REPLY_NIL, label, "GET of a missing key is nil");
    freeReplyObject(r);

    r = cmd(c, "MGET %b hiredis:missing", "bin\0key", (size_t)7);
    result(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && is_string(r->element[0], bin, sizeof bin - 1) &&
               r->element[1]->type == REDIS_REPLY_NIL,
           label, "MGET array with a nil");
    freeReplyObject(r);
}

static void check_errors(redisContext *c, const char *label)
{
    redisReply *r = cmd(c, "NOSUCHCMD a");
    result(r && r->type == REDIS_REPLY_ERROR &&
               strcmp(r->str, "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' ") == 0,
           label, "unknown command error text");
    freeReplyObject(r);
    r = cmd(c, "GET");
    result(r && r->type == REDIS_REPLY_ERROR && strcmp(r->str, "ERR wrong number of arguments for 'get' command") == 0,
           label, "arity error text");
    freeReplyObject(r);
    r = cmd(c, "PING");
    result(is_status(r, "PONG"), label, "the connection still works after errors");
    freeReplyObject(r);
}

static void check_big(redisContext *c, const char *label)
{
    size_t n = 1024 * 1024 + 7;
    char *v = malloc(n);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)(i * 31 + 7);
    redisReply *r = cmd(c, "SET hiredis:big %b", v, n);
    result(is_status(r, "OK"), label, "SET of a 1 MiB value");
    freeReplyObject(r);
    r = cmd(c, "GET hiredis:big");
    result(is_string(r, v, n), label, "GET of a 1 MiB value");
    freeReplyObject(r);
    free(v);
}

static void check_pipeline(redisContext *c, const char *label)
{
    redisReply *r = cmd(c, "DEL hiredis:ctr");
    freeReplyObject(r);
    enum { N = 1000 };
    for (int i = 0; i < N; i++)
        redisAppendCommand(c, "INCR hiredis:ctr");
    redisAppendCommand(c, "GET hiredis:ctr");
    int in_order = 1;
    for (int i = 0; i < N; i++) {
        void *p = NULL;
        if (redisGetReply(c, &p) != REDIS_OK) {
            in_order = 0;
            break;
        }
        r = p;
        if (r->type != REDIS_REPLY_INTEGER || r->integer != i + 1)
            in_order = 0;
        freeReplyObject(r);
    }
    result(in_order, label, "%d pipelined INCRs answered in order", N);
    void *p = NULL;
    int ok = redisGetReply(c, &p) == REDIS_OK;
    r = p;
    result(ok && is_string(r, "1000", 4), label, "GET after the pipeline");
    freeReplyObject(r);
}

static void run_target(const char *spec)
{
    char label[64], host[128];
    int port = 0;
    if (sscanf(spec, "%63[^=]=%127[^:]:%d", label, host, &port) != 3) {
        result(0, spec, "target is LABEL=HOST:PORT");
        return;
    }
    struct timeval tv = { 10, 0 };
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        result(0, label, "connect: %s", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return;
    }
    redisSetTimeout(c, tv);
    check_basics(c, label);
    check_errors(c, label);
    check_big(c, label);
    check_pipeline(c, label);
    redisFree(c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hiredis_test LABEL=HOST:PORT ...\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        run_target(argv[i]);
    printf("1..%d\n", n_tests);
    return n_failed ? 1 : 0;
}
