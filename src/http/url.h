/*
 * url.h - percent-encoding (RFC 3986 2.1), query strings and form bodies
 * (application/x-www-form-urlencoded), and request paths made safe for the file system.
 *
 * Invariants of the module:
 *   - Pure: no I/O, no global state. Only st_http_query_get (arena) and st_http_pct_encode
 *     (st_buf) allocate, and only where the caller says.
 *   - Decoding never grows the text, so every decoder may work in place (out == in.ptr)
 *     and an output buffer of in.len bytes is always enough.
 *   - Decode exactly once. Whatever a decoded '%' would decode to, it stays a '%': decoding
 *     twice is how "%252e%252e" turns into ".." behind a check that already ran.
 *   - Strict: a '%' not followed by two hex digits is ST_EPARSE, never passed through,
 *     so two programs cannot read the same bytes differently.
 */
#ifndef ST_HTTP_URL_H
#define ST_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/str.h"

/* Flags of st_http_pct_decode and st_http_pct_encode. */
enum {
    /* application/x-www-form-urlencoded: '+' is a space (decode), a space becomes '+'
     * (encode). Never for paths, where '+' is an ordinary character. */
    ST_HTTP_PCT_FORM = 1,
    /* The result is one path segment: refuse (ST_EPARSE) a NUL or '/' in the output,
     * raw or encoded, so "%2F" in a route parameter cannot smuggle in a separator and a
     * NUL cannot truncate the value when it reaches a C string API. */
    ST_HTTP_PCT_SEGMENT = 2,
};

/*
 * Percent-decode in into out (which must hold in.len bytes; out == in.ptr is allowed).
 * Hex digits may be either case. *out_len receives the decoded length. Returns 0, or
 * ST_EPARSE for a '%' without two hex digits after it or (ST_HTTP_PCT_SEGMENT) a NUL or
 * '/' in the result; out is then unspecified.
 */
int st_http_pct_decode(struct st_str in, char *out, size_t *out_len, unsigned flags);

/*
 * Append in to out, percent-encoded: RFC 3986 unreserved bytes (ALPHA DIGIT - . _ ~) are
 * kept, every other byte becomes %XX with upper-case hex (and, with ST_HTTP_PCT_FORM, a
 * space becomes '+'). All or nothing: 0, or ST_ELIMIT with out unchanged.
 */
int st_http_pct_encode(struct st_buf *out, struct st_str in, unsigned flags);

/*
 * Iterate over the pairs of a query string or form body: "a=1&b=2;c". Both '&' and ';'
 * separate pairs (the HTML 4 recommendation for ';'; WHATWG URLs split on '&' only, so a
 * cache or proxy in front may read "a=1;b=2" as one pair - do not key security decisions
 * on a parameter that only one of them sees). Empty pairs are skipped; a pair without
 * '=' has an empty value; the key and value are raw slices of *rest (decode them with
 * ST_HTTP_PCT_FORM). *rest is advanced past the pair. Returns false when no pair is left.
 *   struct st_str rest = query, k, v; while (st_http_query_next(&rest, &k, &v)) ...
 */
bool st_http_query_next(struct st_str *rest, struct st_str *key, struct st_str *value);

/*
 * The first value whose form-decoded key equals key (the usual rule for a parameter that
 * should appear once), form-decoded into a NUL-terminated copy in a. Pairs whose key is
 * not valid percent-encoding match no key. Returns 0, ST_ENOTFOUND, or ST_EPARSE if the
 * value of the matching pair is not valid percent-encoding (*out is then {NULL, 0}).
 */
int st_http_query_get(struct st_str query, const char *key, struct st_arena *a, struct st_str *out);

/*
 * Turn a raw request path ("/static/a%20b/../c.txt") into a relative file-system path
 * ("static/c.txt") that cannot leave the root it is joined to:
 *   1. percent-decode exactly once ("%252e%252e" becomes the literal name "%2e%2e");
 *   2. refuse a NUL (C APIs would truncate there) and a backslash (a separator elsewhere);
 *   3. split on '/' - a decoded "%2F" separates too, since the file system sees it so;
 *   4. drop empty and "." segments, let ".." remove the previous segment, and refuse a
 *      ".." with nothing left to remove (it would climb above the root).
 * out must hold path.len bytes (out == path.ptr is allowed). The result has no leading or
 * trailing '/' and is empty for the root; a trailing slash of the request is not kept
 * (check path for it when directories need a redirect). Returns 0 or ST_EPARSE.
 */
int st_http_path_normalize(struct st_str path, char *out, size_t *out_len);

#endif
