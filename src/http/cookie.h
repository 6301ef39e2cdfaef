/*
 * cookie.h - the Cookie request header and the Set-Cookie response header (RFC 6265).
 *
 * Invariants of the module:
 *   - Tolerant in, strict out (RFC 6265 4 vs 5): parsing accepts what browsers really send
 *     (spaces around pairs and '=', quoted values, junk pairs, which are skipped), while
 *     st_http_cookie_format refuses anything outside the server grammar of 4.1.1, so a
 *     value can never end the header early or inject an attribute ("x; Domain=evil").
 *   - Pure and zero copy: parsed names and values borrow the header. Nothing here
 *     allocates except st_http_cookie_format appending to the caller's st_buf.
 *   - Cookie values are opaque bytes; encoding them (percent, base64url) is the caller's
 *     choice, which is why nothing here decodes.
 */
#ifndef ST_HTTP_COOKIE_H
#define ST_HTTP_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/str.h"

/*
 * Iterate over the pairs of one Cookie header value: "a=1; b=2". Pairs are split on ';',
 * optional whitespace around pairs and around '=' is ignored, a value in double quotes is
 * returned without them (RFC 6265 4.1.1 allows DQUOTE *cookie-octet DQUOTE), and pairs
 * without '=' or with an empty name are skipped (RFC 6265 5.2 ignores such cookies).
 * *rest is advanced past the pair. Returns false when no pair is left.
 *   struct st_str rest = header, name, value; while (st_http_cookie_next(&rest, &name, &value)) ...
 */
bool st_http_cookie_next(struct st_str *rest, struct st_str *name, struct st_str *value);

/*
 * The value of the first cookie called name (case-sensitive, as cookie names are) in one
 * Cookie header value. Browsers send the cookie with the longest Path first (RFC 6265
 * 5.4), so the first one is the most specific. Returns 0 or ST_ENOTFOUND ({NULL, 0}).
 */
int st_http_cookie_get(struct st_str header, const char *name, struct st_str *value);

enum st_http_samesite {
    ST_HTTP_SAMESITE_DEFAULT = 0, /* no attribute: the browser's default (Lax in most) */
    ST_HTTP_SAMESITE_STRICT,
    ST_HTTP_SAMESITE_LAX,
    ST_HTTP_SAMESITE_NONE, /* sent on cross-site requests too; browsers require Secure */
};

/* Attributes of a Set-Cookie header; a zeroed struct (or NULL) adds none. */
struct st_http_cookie_opts {
    const char *path;   /* Path=; NULL: none (the browser uses the request's directory) */
    const char *domain; /* Domain=; NULL: host-only cookie (the safer default) */
    bool has_max_age;
    int64_t max_age; /* Max-Age= in seconds, >= 0; 0 deletes the cookie */
    bool has_expires;
    int64_t expires_ms; /* Expires= as an IMF-fixdate (for clients without Max-Age) */
    bool secure;        /* only over HTTPS */
    bool http_only;     /* invisible to JavaScript: limits what an XSS can steal */
    enum st_http_samesite same_site;
};

/*
 * Append a Set-Cookie header value ("sid=abc; Path=/; Max-Age=3600; Secure; HttpOnly;
 * SameSite=Lax") to out - the value only, not the "Set-Cookie: " name. Refused with
 * ST_EPARSE, leaving out unchanged:
 *   - a name that is not a token (RFC 9110 5.6.2) or is empty;
 *   - a value with a byte outside cookie-octet (no space, '"', ',', ';', '\\', controls or
 *     non-ASCII), except that the whole value may be wrapped in double quotes;
 *   - a path or domain with a control character or ';'; a negative max_age;
 *   - SameSite=None without Secure (browsers drop that cookie);
 *   - a "__Secure-" name without Secure, or a "__Host-" name without Secure, with a
 *     Domain, or with a Path other than "/" (RFC 6265bis 4.1.3: browsers drop those).
 * Returns 0, ST_EPARSE, or ST_ELIMIT (out's max; out unchanged).
 */
int st_http_cookie_format(struct st_buf *out, struct st_str name, struct st_str value,
                          const struct st_http_cookie_opts *o);

#endif
