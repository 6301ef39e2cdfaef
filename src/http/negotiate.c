/*
 * negotiate.c - Accept header negotiation (RFC 9110 12.5.1); rules in negotiate.h.
 *
 * The header is walked once per offered type: offers are a handful and headers short, and
 * walking again costs less than storing parsed ranges anywhere. Splitting on ',' and ';'
 * skips quoted strings, so a parameter value like "a,b" does not cut an element in two.
 */
#include "http/negotiate.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Specificity of a media range that matches, best last. */
enum { SPEC_NONE, SPEC_ANY, SPEC_TYPE, SPEC_EXACT };

/* Like st_str_cut, but a sep inside a quoted string (RFC 9110 5.6.4) does not count. */
static struct st_str cut_unquoted(struct st_str s, char sep, struct st_str *head)
{
    bool quoted = false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (quoted && c == '\\')
            i++; /* quoted-pair: the next byte is literal */
        else if (c == '"')
            quoted = !quoted;
        else if (c == sep && !quoted) {
            *head = st_str(s.ptr, i);
            return st_str(s.ptr + i + 1, s.len - i - 1);
        }
    }
    *head = s;
    return st_str(NULL, 0);
}

static bool is_tchar(char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(struct st_str s)
{
    if (!s.len)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!is_tchar(s.ptr[i]))
            return false;
    return true;
}

/* A parameter value: a token or a whole quoted-string (RFC 9110 5.6.4). */
static bool is_value(struct st_str v)
{
    if (is_token(v))
        return true;
    if (v.len < 2 || v.ptr[0] != '"' || v.ptr[v.len - 1] != '"')
        return false;
    for (size_t i = 1; i + 1 < v.len; i++) {
        if (v.ptr[i] == '"')
            return false;
        if (v.ptr[i] == '\\' && ++i + 1 >= v.len)
            return false; /* the escape took the closing quote */
    }
    return true;
}

/* "type/subtype" into its halves; false unless both are tokens. */
static bool split_media(struct st_str media, struct st_str *type, struct st_str *sub)
{
    bool slash;
    *sub = st_str_cut(st_str_trim(media), '/', type, &slash);
    return slash && is_token(*type) && is_token(*sub);
}

/* RFC 9110 12.4.2 weight: "0" [ "." 0*3DIGIT ] / "1" [ "." 0*3("0") ], in thousandths. */
static int parse_weight(struct st_str v)
{
    if (!v.len || (v.ptr[0] != '0' && v.ptr[0] != '1') || v.len > 5 || (v.len > 1 && v.ptr[1] != '.'))
        return -1;
    int q = v.ptr[0] == '1' ? 1000 : 0, scale = 100;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9' || (q == 1000 && v.ptr[i] != '0'))
            return -1;
        q += (v.ptr[i] - '0') * scale;
    }
    return q;
}

/* The q of the parameters after a media range (default 1000), or -1 if one is malformed. */
static int params_q(struct st_str params)
{
    int q = 1000;
    bool seen = false;
    struct st_str p, name, value;
    while (params.len) {
        params = cut_unquoted(params, ';', &p);
        p = st_str_trim(p);
        if (!p.len)
            continue; /* "text/html;;q=1" is sloppy but clear */
        bool eq;
        value = st_str_trim(st_str_cut(p, '=', &name, &eq));
        name = st_str_trim(name);
        if (!eq || !is_token(name) || !is_value(value))
            return -1;
        if (!seen && st_str_ieq_c(name, "q")) {
            q = parse_weight(value);
            if (q < 0)
                return -1;
            seen = true;
        }
    }
    return q;
}

/* How specifically the range type/sub matches otype/osub. */
static int match(struct st_str type, struct st_str sub, struct st_str otype, struct st_str osub)
{
    if (st_str_eq_c(type, "*"))
        return SPEC_ANY;
    if (!st_str_ieq(type, otype))
        return SPEC_NONE;
    if (st_str_eq_c(sub, "*"))
        return SPEC_TYPE;
    return st_str_ieq(sub, osub) ? SPEC_EXACT : SPEC_NONE;
}

int st_http_negotiate_q(struct st_str accept, struct st_str offered)
{
    struct st_str omedia, otype, osub;
    st_str_cut(offered, ';', &omedia, NULL);
    if (!split_media(omedia, &otype, &osub))
        return 0;
    int best_spec = SPEC_NONE, best_q = 0;
    bool any_valid = false;
    struct st_str elem, media, type, sub;
    while (accept.len) {
        accept = cut_unquoted(accept, ',', &elem);
        struct st_str params = cut_unquoted(elem, ';', &media);
        if (!split_media(media, &type, &sub) || (st_str_eq_c(type, "*") && !st_str_eq_c(sub, "*")))
            continue;
        int q = params_q(params);
        if (q < 0)
            continue;
        any_valid = true;
        int spec = match(type, sub, otype, osub);
        if (spec > best_spec || (spec == best_spec && spec != SPEC_NONE && q > best_q)) {
            best_spec = spec;
            best_q = q;
        }
    }
    return any_valid ? best_q : 1000; /* nothing usable: as if there were no Accept */
}

int st_http_negotiate(struct st_str accept, const char *const *offered, size_t n)
{
    int best = -1, best_q = 0;
    for (size_t i = 0; i < n && i < (size_t)INT32_MAX; i++) {
        int q = st_http_negotiate_q(accept, st_str_c(offered[i]));
        if (q > best_q) {
            best = (int)i;
            best_q = q;
        }
    }
    return best;
}
