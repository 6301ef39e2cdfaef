/*
 * negotiate.h - proactive content negotiation on the Accept header (RFC 9110 12.5.1).
 *
 *   static const char *const offered[] = { "application/json", "text/csv" };
 *   int i = st_http_negotiate(st_http_req_header(x, ST_HTTP_H_ACCEPT), offered, 2);
 *   if (i < 0) -> 406
 *
 * Rules (<star> stands for the asterisk): Accept is a comma-separated list of media
 * ranges "type/subtype", "type/<star>" or "<star>/<star>", each with optional parameters;
 * "q" is the weight (0..1, at most three decimals), every other parameter is ignored. An
 * offered type takes the q of the most specific range that matches it (type/subtype over
 * type/<star> over <star>/<star>; among ranges equally specific, the highest q), or 0 when
 * none does; q=0 excludes. Matching is ASCII case-insensitive. Malformed elements (no '/',
 * a bad q, a parameter without a value or with an unterminated quote, "<star>/html") are
 * skipped, never fatal; a header with no well-formed element at all is treated as absent.
 * Pure and thread-safe: no allocation, no state.
 */
#ifndef ST_HTTP_NEGOTIATE_H
#define ST_HTTP_NEGOTIATE_H

#include <stddef.h>

#include "base/str.h"

/*
 * The index in offered[0..n) of the type the client prefers: highest q, ties going to
 * the earlier offer; -1 when no offered type is acceptable. An absent (ptr NULL) or empty
 * Accept means any type: 0 when n > 0. Offered types are "type/subtype", optionally with
 * parameters ("text/csv; charset=utf-8"), which are not compared.
 */
int st_http_negotiate(struct st_str accept, const char *const *offered, size_t n);

/* The q of one offered type under accept, in thousandths (0..1000), by the rules above. */
int st_http_negotiate_q(struct st_str accept, struct st_str offered);

#endif
