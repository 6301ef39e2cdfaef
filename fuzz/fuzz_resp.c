/*
 * fuzz_resp.c - libFuzzer target for the RESP request parser of `strata kv`
 * (src/kv/resp.c, included here so the target needs nothing else of the server).
 *
 * Oracles:
 *   - the split of the input does not matter: it is fed whole, then one byte at a time
 *     through the same buffer discipline as server.c (parse what is complete, drop the
 *     consumable prefix, shift offsets); both runs must produce the same commands and
 *     stop with the same error text after the same number of commands;
 *   - every argument slice lies inside the bytes given to the parser;
 *   - round trip: each command encoded back as a multibulk with the reply encoders
 *     (kv_reply_array + kv_reply_bulk) parses again to the identical command.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "../src/kv/resp.c"

/* What resp.c needs from the rest of the server. */
struct kv_config kv_cfg = { .proto_max_bulk_len = 4096, .client_query_buffer_limit = 1 << 20 };
void kv__conn_pending(struct kv_conn *k)
{
    k->pending = true;
}
void kv_resp_count_error(const char *msg)
{
    (void)msg;
}
size_t kv_fmt_double(double d, char *buf)
{
    return (size_t)snprintf(buf, 32, "%.17g", d);
}

struct cmds {
    struct st_buf flat; /* argc, then (len, bytes) per argument, for every command */
    int ncmds;
    const char *err;
};

static void record(struct cmds *out, int argc, const struct kv_bytes *argv)
{
    st_buf_append(&out->flat, &argc, sizeof argc);
    for (int i = 0; i < argc; i++) {
        st_buf_append(&out->flat, &argv[i].n, sizeof argv[i].n);
        st_buf_append(&out->flat, argv[i].p, argv[i].n);
    }
    out->ncmds++;
}

/* Parse what buf holds, as server.c's process_input does. false after an error. */
static bool drain(struct kv_req *r, struct st_buf *buf, size_t *pos, struct cmds *out)
{
    while (*pos < buf->len) {
        const char *err = NULL;
        int rc = kv_req_parse(r, buf->data, buf->len, pos, true, &err);
        if (rc == KV_REQ_MORE)
            break;
        if (rc == KV_REQ_ERROR) {
            CHECK(err && strncmp(err, "ERR Protocol error: ", 20) == 0);
            out->err = err;
            return false;
        }
        struct kv_bytes argv[256];
        int argc = r->argc;
        if (argc > 256) { /* more than we keep: still consume it */
            struct kv_bytes *big = malloc((size_t)argc * sizeof *big);
            kv_req_argv(r, buf->data, big);
            free(big);
            continue;
        }
        const char *base = r->type == 'i' ? r->inl.data : buf->data;
        size_t limit = r->type == 'i' ? r->inl.len : buf->len;
        kv_req_argv(r, buf->data, argv);
        for (int i = 0; i < argc; i++)
            CHECK(argv[i].n == 0 || (argv[i].p >= base && argv[i].p + argv[i].n <= base + limit));
        if (argc > 0)
            record(out, argc, argv);
    }
    size_t drop = kv_req_consumable(r, *pos);
    st_buf_consume(buf, drop);
    kv_req_shift(r, drop);
    *pos -= drop;
    return true;
}

static void run(const uint8_t *data, size_t size, size_t step, struct cmds *out)
{
    struct kv_req r;
    kv_req_init(&r);
    struct st_buf buf;
    st_buf_init(&buf, ST_BUF_UNLIMITED);
    size_t pos = 0;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        st_buf_append(&buf, data + off, n);
        if (!drain(&r, &buf, &pos, out))
            break;
    }
    st_buf_release(&buf);
    kv_req_release(&r);
}

/* Encode one recorded command with the reply encoders and parse it back. */
static void round_trip(const char *p, int argc)
{
    struct kv_conn k;
    memset(&k, 0, sizeof k);
    st_buf_init(&k.obuf, ST_BUF_UNLIMITED);
    k.c.out = &k.obuf;
    k.c.resp = 2;
    kv_reply_array(&k.c, (size_t)argc);
    const char *q = p;
    for (int i = 0; i < argc; i++) {
        size_t n;
        memcpy(&n, q, sizeof n);
        q += sizeof n;
        kv_reply_bulk(&k.c, kv_b(q, n));
        q += n;
    }
    struct kv_req r;
    kv_req_init(&r);
    size_t pos = 0;
    const char *err = NULL;
    CHECK(kv_req_parse(&r, k.obuf.data, k.obuf.len, &pos, true, &err) == KV_REQ_DONE);
    CHECK(pos == k.obuf.len && r.argc == argc);
    struct kv_bytes argv[256];
    kv_req_argv(&r, k.obuf.data, argv);
    q = p;
    for (int i = 0; i < argc; i++) {
        size_t n;
        memcpy(&n, q, sizeof n);
        q += sizeof n;
        CHECK(argv[i].n == n && memcmp(argv[i].p, q, n) == 0);
        q += n;
    }
    kv_req_release(&r);
    st_buf_release(&k.obuf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (size_t)64 * 1024)
        return 0;
    struct cmds whole = { 0 }, bytes = { 0 };
    st_buf_init(&whole.flat, ST_BUF_UNLIMITED);
    st_buf_init(&bytes.flat, ST_BUF_UNLIMITED);
    run(data, size, size ? size : 1, &whole);
    run(data, size, 1, &bytes);
    /* Redis reports "expected '$'" and size errors as soon as it can; the byte-by-byte run
     * may stop at the same command with the same text only. */
    CHECK(whole.ncmds == bytes.ncmds);
    CHECK(whole.flat.len == bytes.flat.len &&
          (whole.flat.len == 0 || memcmp(whole.flat.data, bytes.flat.data, whole.flat.len) == 0));
    CHECK((whole.err == NULL) == (bytes.err == NULL));
    if (whole.err)
        CHECK(strcmp(whole.err, bytes.err) == 0);
    const char *p = whole.flat.data;
    for (int i = 0; i < whole.ncmds; i++) {
        int argc;
        memcpy(&argc, p, sizeof argc);
        p += sizeof argc;
        round_trip(p, argc);
        for (int a = 0; a < argc; a++) {
            size_t n;
            memcpy(&n, p, sizeof n);
            p += sizeof n + n;
        }
    }
    st_buf_release(&whole.flat);
    st_buf_release(&bytes.flat);
    return 0;
}
