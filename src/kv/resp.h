/*
 * resp.h - internal header of resp.c beyond internal.h's kv_reply_*: raw appends and the
 * error counter hook. The request parser is declared in core.h with the connection.
 */
#ifndef ST_KV_RESP_H
#define ST_KV_RESP_H

#include <stddef.h>

struct kv_client;

/* Append bytes that are already RESP (pre-encoded replies). */
void kv_reply_raw(struct kv_client *c, const void *p, size_t n);
/* server.c: count an error reply (INFO stats total_error_replies, errorstats). */
void kv_resp_count_error(const char *msg);

#endif
