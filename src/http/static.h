/*
 * static.h - static files from a directory tree (RFC 9110: GET/HEAD, validators,
 * conditional requests, single byte ranges).
 *
 * Invariants of the module:
 *   - Nothing outside the root is ever opened for a client. The request path is decoded
 *     once and normalized (st_http_path_normalize: no NUL, no backslash, no ".." above the
 *     root), and then opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) relative
 *     to the root's fd, so the kernel refuses a ".." or a symlink (absolute or relative)
 *     that would leave the root, even if the tree changes between the checks. On kernels
 *     without openat2 (ENOSYS) the opened file's real path (/proc/self/fd) must lie under
 *     the root's real path instead.
 *   - Only regular files are served. Files are opened O_NONBLOCK, so a FIFO planted in the
 *     tree cannot block the loop thread in open(); FIFOs, devices and sockets are 404.
 *   - Answers never tell a client anything about the file system outside the root:
 *     every failure to resolve (missing, escaping, looping symlink, not a directory) is the
 *     same 404 without a path in it; 403 only for a file inside the root that the server
 *     may not read.
 *   - st_http_static_serve answers the exchange completely (it never goes async), with the
 *     file body sent by sendfile; it is thread-safe: the struct is only read while serving.
 */
#ifndef ST_HTTP_STATIC_H
#define ST_HTTP_STATIC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/err.h"
#include "base/str.h"
#include "http/server.h"

/* One served directory tree. Fill the options, then st_http_static_open. */
#define ST_HTTP_STATIC_CACHE_FILE 32768 /* largest file kept in memory */
#define ST_HTTP_STATIC_CACHE_WORKERS 256

struct st_http_static_cache;

struct st_http_static {
    /* ---- options (borrowed strings; keep them alive while serving) ---- */
    /* The URL prefix of the tree, e.g. "/static/" or "/" (NULL or "": "/"). A request path
     * given to st_http_static_serve that starts with '/' must start with it (else 404); it
     * is stripped before the rest is looked up under the root. */
    const char *prefix;
    /* File served for a directory URL ending in '/' (NULL: "index.html"; "": none). */
    const char *index;
    /* Cache-Control value for 200/206/304 responses (NULL: no header). */
    const char *cache_control;
    /* List a directory that has no index file (HTML, names escaped) instead of 404. */
    bool list_dirs;
    /* Keep files up to ST_HTTP_STATIC_CACHE_FILE bytes in memory, with their validators,
     * one cache per worker, and trust an entry for cache_ms milliseconds before looking at
     * the file system again (nginx's open_file_cache_valid): a changed file may be served
     * stale for that long. 0: off, every request opens and reads the file. */
    int64_t cache_ms;

    /* ---- set by st_http_static_open ---- */
    int root_fd;                          /* O_PATH | O_DIRECTORY, owned; -1 when closed */
    char *root_real;                      /* realpath of the root (owned), for the kernels without openat2 */
    struct st_http_static_cache **caches; /* per worker (x->worker), made on first use */
};

/*
 * Open root (a directory) once for serving; the option fields are left as they are.
 * Returns 0 or -errno (-ENOTDIR for a file) with err naming the path. On failure root_fd
 * is -1, so st_http_static_close is still safe.
 */
int st_http_static_open(struct st_http_static *st, const char *root, struct st_error *err);
/* Close the root fd and free what open allocated; safe to call twice. */
void st_http_static_close(struct st_http_static *st);

/*
 * Answer x from the tree (GET and HEAD; anything else is 405 with Allow: GET, HEAD).
 * rel_path_raw is still percent-encoded, without the query:
 *   - starting with '/': the request path; st->prefix must start it and is stripped
 *     (the prefix without its trailing '/' redirects to the prefix);
 *   - otherwise: already relative to the root (e.g. a router's "*path" capture; the
 *     empty slice is the root).
 * A directory URL without its trailing '/' is redirected (301, Location is x's request
 * path with '/' appended and its query kept); with it, the index file is served, or a
 * listing (st->list_dirs), or 404. Files get Content-Type (st_http_mime_type), a strong
 * ETag, Last-Modified, Accept-Ranges: bytes, X-Content-Type-Options: nosniff and the
 * Cache-Control option; conditionals are evaluated in the order of RFC 9110 13.2.2
 * (If-Match, If-Unmodified-Since -> 412; If-None-Match, If-Modified-Since -> 304), then a
 * single Range of a GET (206 / 416), honoured only if If-Range (when present) matches.
 */
void st_http_static_serve(struct st_http_ex *x, const struct st_http_static *st, struct st_str rel_path_raw);

/* ---- the pure pieces, exported for tests and other handlers ---- */

/*
 * The media type for a file name by its extension (ASCII case-insensitive, after the last
 * '.' of the last segment), with "; charset=utf-8" for text types; a static string.
 * Unknown or no extension: "application/octet-stream".
 */
const char *st_http_mime_type(struct st_str path);

/*
 * Parse a Range header value (RFC 9110 14.1.2) against a representation of size bytes.
 * Only one range of unit "bytes" (case-insensitive) is honoured: "a-b" (b clamped to
 * size-1), "a-", and "-n" (the last n bytes); OWS around it and empty list elements are
 * allowed, numbers of any length (saturating: a huge first position is past the end, a
 * huge last position or suffix means "to the end"). Returns:
 *   0              satisfiable: serve bytes [*first, *last] (inclusive) with 206;
 *   ST_ENOTFOUND   ignore the header and send the whole representation with 200: malformed
 *                  (including a > b), another unit, or several ranges (RFC 9110 allows
 *                  ignoring Range, and one 200 is cheaper than a multipart body);
 *   ST_ELIMIT      unsatisfiable (first position >= size, "-0", or an empty
 *                  representation): 416 with "Content-Range: bytes * /size".
 * *first and *last are written only on 0.
 */
int st_http_parse_range(struct st_str header, uint64_t size, uint64_t *first, uint64_t *last);

/*
 * Whether the If-None-Match value (a list of entity-tags, or "*") matches etag (one
 * quoted entity-tag, "W/" allowed) by the weak comparison of RFC 9110 8.8.3.2: the W/
 * prefixes are ignored and the opaque tags compared byte for byte. "*" matches any etag.
 * A malformed list element ends the scan (what came before it still counts).
 */
bool st_http_etag_match(struct st_str if_none_match, struct st_str etag);

/* The same with the strong comparison (If-Match, If-Range): neither tag may be weak. */
bool st_http_etag_match_strong(struct st_str if_match, struct st_str etag);

/*
 * Open rel (a normalized relative path, NUL-terminated; "" is the root) beneath the root
 * as the server does (openat2, or the real-path check when fallback is true or the kernel
 * lacks openat2). Returns an fd (O_RDONLY, O_NONBLOCK, close-on-exec; the caller closes
 * it) or -errno: -EXDEV/-ELOOP when the path would leave the root. Exposed for tests.
 */
int st__http_static_open_beneath(const struct st_http_static *st, const char *rel, bool fallback);

#endif
