/*
 * cookie.c - Cookie parsing and Set-Cookie formatting (cookie.h).
 *
 * Formatting validates everything first and appends second, and truncates back on
 * ST_ELIMIT, so the caller's buffer holds either a whole header value or what it held
 * before: a response is never sent with half a Set-Cookie.
 */
#include "http/cookie.h"

#include <inttypes.h>
#include <string.h>

#include "base/err.h"
#include "base/time.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Without leading and trailing SP / HTAB (the OWS of RFC 6265 5.4 and 4.2.1). */
static struct st_str trim_ows(struct st_str s)
{
    while (s.len && is_ows(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len && is_ows(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

bool st_http_cookie_next(struct st_str *rest, struct st_str *name, struct st_str *value)
{
    while (rest->len) {
        struct st_str pair;
        bool more;
        struct st_str after = st_str_cut(*rest, ';', &pair, &more);
        *rest = more ? after : st_str(rest->ptr + rest->len, 0);
        ptrdiff_t eq = st_str_index(pair, '=');
        if (eq < 0)
            continue;
        struct st_str n = trim_ows(st_str(pair.ptr, (size_t)eq));
        struct st_str v = trim_ows(st_str(pair.ptr + eq + 1, pair.len - (size_t)eq - 1));
        if (n.len == 0)
            continue;
        if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
            v = st_str(v.ptr + 1, v.len - 2);
        *name = n;
        *value = v;
        return true;
    }
    return false;
}

int st_http_cookie_get(struct st_str header, const char *name, struct st_str *value)
{
    struct st_str rest = header, n, v;
    while (st_http_cookie_next(&rest, &n, &v)) {
        if (st_str_eq_c(n, name)) {
            *value = v;
            return 0;
        }
    }
    *value = st_str(NULL, 0);
    return ST_ENOTFOUND;
}

/* ---- Set-Cookie ---- */

static bool is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* cookie-octet (RFC 6265 4.1.1): visible ASCII but DQUOTE, ',', ';' and '\\'. */
static bool is_cookie_octet(unsigned char c)
{
    return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool valid_name(struct st_str s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        if (!is_tchar((unsigned char)s.ptr[i]))
            return false;
    }
    return true;
}

static bool valid_value(struct st_str s)
{
    if (s.len >= 2 && s.ptr[0] == '"' && s.ptr[s.len - 1] == '"')
        s = st_str(s.ptr + 1, s.len - 2);
    for (size_t i = 0; i < s.len; i++) {
        if (!is_cookie_octet((unsigned char)s.ptr[i]))
            return false;
    }
    return true;
}

/* path-value / Domain: any CHAR except CTLs or ';' (RFC 6265 4.1.1). */
static bool valid_attr(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c >= 0x7f || c == ';')
            return false;
    }
    return true;
}

/* The rules browsers enforce on prefixed names and SameSite=None. */
static bool valid_combination(struct st_str name, const struct st_http_cookie_opts *o)
{
    if (o->same_site == ST_HTTP_SAMESITE_NONE && !o->secure)
        return false;
    if (st_str_starts_with(name, ST_STR_LIT("__Secure-")) && !o->secure)
        return false;
    if (st_str_starts_with(name, ST_STR_LIT("__Host-")))
        return o->secure && !o->domain && o->path && strcmp(o->path, "/") == 0;
    return true;
}

static int validate(struct st_str name, struct st_str value, const struct st_http_cookie_opts *o)
{
    if (!valid_name(name) || !valid_value(value))
        return ST_EPARSE;
    if ((o->path && !valid_attr(o->path)) || (o->domain && !valid_attr(o->domain)))
        return ST_EPARSE;
    if (o->has_max_age && o->max_age < 0)
        return ST_EPARSE;
    if ((unsigned)o->same_site > ST_HTTP_SAMESITE_NONE)
        return ST_EPARSE;
    return valid_combination(name, o) ? 0 : ST_EPARSE;
}

static int append_attrs(struct st_buf *out, const struct st_http_cookie_opts *o)
{
    static const char *const same_site[] = { NULL, "Strict", "Lax", "None" };
    int rc = 0;
    if (!rc && o->path)
        rc = st_buf_printf(out, "; Path=%s", o->path);
    if (!rc && o->domain)
        rc = st_buf_printf(out, "; Domain=%s", o->domain);
    if (!rc && o->has_max_age)
        rc = st_buf_printf(out, "; Max-Age=%" PRId64, o->max_age);
    if (!rc && o->has_expires) {
        char date[ST_TIME_HTTP_LEN + 1];
        st_time_format_http(o->expires_ms, date);
        rc = st_buf_printf(out, "; Expires=%s", date);
    }
    if (!rc && o->secure)
        rc = st_buf_append_c(out, "; Secure");
    if (!rc && o->http_only)
        rc = st_buf_append_c(out, "; HttpOnly");
    if (!rc && o->same_site)
        rc = st_buf_printf(out, "; SameSite=%s", same_site[o->same_site]);
    return rc;
}

int st_http_cookie_format(struct st_buf *out, struct st_str name, struct st_str value,
                          const struct st_http_cookie_opts *o)
{
    static const struct st_http_cookie_opts none;
    if (!o)
        o = &none;
    int rc = validate(name, value, o);
    if (rc)
        return rc;
    size_t start = out->len;
    rc = st_buf_append_str(out, name);
    if (!rc)
        rc = st_buf_append_byte(out, '=');
    if (!rc)
        rc = st_buf_append_str(out, value);
    if (!rc)
        rc = append_attrs(out, o);
    if (rc && out->len > start)
        st_buf_truncate(out, start);
    return rc;
}
