/*
 * schema.c - validation of JSON values against the static schemas of schema.h, and their
 * JSON Schema (OpenAPI 3.1) form.
 *
 * Validation walks the schema's fields in declaration order, then (closed schemas) the
 * value's members, appending one {"field","code","message"} per problem to a single array:
 * a client sees every bad field of a body in one answer. The path of the field being
 * checked ("items[1].name") is built in one st_buf, extended and truncated back as the walk
 * descends, so a deep body costs no allocation per level.
 *
 * Bounds: ST_SCHEMA_BOUNDED makes both min and max apply (so a bound of 0 can be said);
 * without it a non-zero min or max still applies on its own, which is what a writer means
 * by `.max = 200` with the other bound left at its zero default.
 *
 * Patterns are compiled once and kept in a small process-wide cache guarded by a mutex
 * (validators run on every worker thread). glibc's regexec locks the compiled pattern
 * itself, so one regex_t may be shared by threads once compiled.
 */
#include "http/schema.h"

#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"

/* ---- the pattern cache ---- */

/* Distinct patterns kept compiled; schemas are static data, so this is never reached in
 * practice, and past it patterns are compiled for each call (correct, just slower). */
#define PATTERN_CACHE_MAX 256

struct pattern_entry {
    char *src;
    regex_t re;
    bool ok; /* regcomp succeeded */
    struct pattern_entry *next;
};

static pthread_mutex_t pattern_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pattern_entry *pattern_list;
static size_t pattern_count;

static struct pattern_entry *pattern_find(const char *src)
{
    for (struct pattern_entry *e = pattern_list; e; e = e->next)
        if (strcmp(e->src, src) == 0)
            return e;
    return NULL;
}

static bool compile(regex_t *re, const char *src)
{
    int rc = regcomp(re, src, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char msg[128];
        regerror(rc, re, msg, sizeof msg);
        st_log_error("schema: pattern does not compile", ST_LOG_STR("pattern", src), ST_LOG_STR("error", msg));
        regfree(re);
        return false;
    }
    return true;
}

/*
 * 1 if s matches src, 0 if not, -1 when src is not a valid regex (a bug of the schema's
 * writer: logged once, and every value fails, so the bug shows in tests).
 */
static int pattern_match(const char *src, const char *s)
{
    pthread_mutex_lock(&pattern_lock);
    struct pattern_entry *e = pattern_find(src);
    if (!e && pattern_count < PATTERN_CACHE_MAX) {
        e = calloc(1, sizeof *e);
        if (e)
            e->src = strdup(src);
        if (e && e->src) {
            e->ok = compile(&e->re, src);
            e->next = pattern_list;
            pattern_list = e;
            pattern_count++;
        } else if (e) {
            free(e);
            e = NULL;
        }
    }
    pthread_mutex_unlock(&pattern_lock);
    if (e) /* entries are never removed or changed once published */
        return e->ok ? regexec(&e->re, s, 0, NULL, 0) == 0 : -1;

    regex_t re;
    if (!compile(&re, src))
        return -1;
    int m = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return m;
}

/* ---- formats ---- */

static bool valid_email(const char *s, size_t n)
{
    const char *at = memchr(s, '@', n);
    if (!at || at == s || at == s + n - 1 || memchr(at + 1, '@', (size_t)(s + n - at - 1)))
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

/* n digits at p as a number, or -1. */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int days_in_month(int y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* RFC 3339 section 5.6 date-time: full-date "T" partial-time time-offset. */
static bool valid_date_time(const char *s, size_t n)
{
    /* 2026-11-28T20:05:48 is 19 bytes; an offset makes at least 20 */
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 60) /* 60: a leap second */
        return false;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i == n - 1)
        return s[i] == 'Z' || s[i] == 'z';
    if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':')
        return false;
    int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
    return oh >= 0 && oh <= 23 && om >= 0 && om <= 59;
}

/* ---- validation ---- */

struct walk {
    json_t *errors; /* NULL until the first problem */
    struct st_buf path;
    unsigned flags;
};

static void report(struct walk *w, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void report(struct walk *w, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!w->errors)
        w->errors = json_array();
    json_t *e = json_pack("{s:s%,s:s,s:s}", "field", w->path.data ? w->path.data : "", w->path.len, "code", code,
                          "message", msg);
    if (w->errors && e)
        json_array_append_new(w->errors, e);
    else
        json_decref(e);
}

static bool has_min(const struct st_schema_field *f)
{
    return (f->flags & ST_SCHEMA_BOUNDED) || f->min != 0;
}

static bool has_max(const struct st_schema_field *f)
{
    return (f->flags & ST_SCHEMA_BOUNDED) || f->max != 0;
}

static const char *type_word(enum st_schema_type t)
{
    switch (t) {
    case ST_SCHEMA_STRING: return "a string";
    case ST_SCHEMA_INTEGER: return "an integer";
    case ST_SCHEMA_NUMBER: return "a number";
    case ST_SCHEMA_BOOLEAN: return "a boolean";
    case ST_SCHEMA_ARRAY: return "an array";
    case ST_SCHEMA_OBJECT: return "an object";
    }
    return "a value";
}

static bool type_ok(enum st_schema_type t, const json_t *v)
{
    switch (t) {
    case ST_SCHEMA_STRING: return json_is_string(v);
    case ST_SCHEMA_INTEGER: return json_is_integer(v);
    case ST_SCHEMA_NUMBER: return json_is_number(v);
    case ST_SCHEMA_BOOLEAN: return json_is_boolean(v);
    case ST_SCHEMA_ARRAY: return json_is_array(v);
    case ST_SCHEMA_OBJECT: return json_is_object(v);
    }
    return false;
}

/* Code points of a jansson string (jansson keeps strings valid UTF-8): every byte that does
 * not continue a sequence starts one. */
static long long code_points(const char *s, size_t n)
{
    long long c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

static const char *plural(long long n, const char *word_s)
{
    return n == 1 ? "" : word_s;
}

static void check_enum(struct walk *w, const struct st_schema_field *f, const char *s, size_t n)
{
    for (const char *const *e = f->enums; *e; e++)
        if (strlen(*e) == n && memcmp(*e, s, n) == 0)
            return;
    char list[200];
    size_t len = 0;
    list[0] = '\0';
    for (const char *const *e = f->enums; *e && len < sizeof list; e++) {
        int k = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", *e);
        if (k < 0)
            break;
        len += (size_t)k;
    }
    report(w, "enum", "must be one of: %s", list);
}

static void check_string(struct walk *w, const struct st_schema_field *f, const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    long long cps = code_points(s, n);
    if (has_min(f) && cps < f->min)
        report(w, "too_short", "at least %lld character%s", f->min, plural(f->min, "s"));
    if (has_max(f) && cps > f->max)
        report(w, "too_long", "at most %lld character%s", f->max, plural(f->max, "s"));
    /* an embedded NUL can never match: regexec stops at the first one */
    if (f->pattern && (strlen(s) != n || pattern_match(f->pattern, s) != 1))
        report(w, "pattern", "must match %s", f->pattern);
    if (f->enums)
        check_enum(w, f, s, n);
    if (f->format && strcmp(f->format, "email") == 0 && !valid_email(s, n))
        report(w, "format", "must be an email address");
    if (f->format && strcmp(f->format, "date-time") == 0 && !valid_date_time(s, n))
        report(w, "format", "must be an RFC 3339 date-time");
}

static void check_number(struct walk *w, const struct st_schema_field *f, const json_t *v)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (has_min(f) && i < f->min)
            report(w, "too_small", "at least %lld", f->min);
        if (has_max(f) && i > f->max)
            report(w, "too_large", "at most %lld", f->max);
        return;
    }
    double d = json_real_value(v);
    if (has_min(f) && d < (double)f->min)
        report(w, "too_small", "at least %lld", f->min);
    if (has_max(f) && d > (double)f->max)
        report(w, "too_large", "at most %lld", f->max);
}

static void walk_object(struct walk *w, const struct st_schema *s, const json_t *v);
static void walk_value(struct walk *w, const struct st_schema_field *f, const json_t *v);

static void check_array(struct walk *w, const struct st_schema_field *f, const json_t *v)
{
    long long n = (long long)json_array_size(v);
    if (has_min(f) && n < f->min)
        report(w, "too_few", "at least %lld item%s", f->min, plural(f->min, "s"));
    if (has_max(f) && n > f->max)
        report(w, "too_many", "at most %lld item%s", f->max, plural(f->max, "s"));
    if (!f->item)
        return;
    size_t base = w->path.len;
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (st_buf_printf(&w->path, "[%zu]", i) == 0) /* the path buffer is unlimited */
            walk_value(w, f->item, json_array_get(v, i));
        st_buf_truncate(&w->path, base);
    }
}

/* v, at the current path, against f (presence and read-only are the caller's business). */
static void walk_value(struct walk *w, const struct st_schema_field *f, const json_t *v)
{
    if (json_is_null(v)) {
        if (!(f->flags & ST_SCHEMA_NULLABLE))
            report(w, "null", "must not be null");
        return;
    }
    if (!type_ok(f->type, v)) {
        report(w, "type", "must be %s", type_word(f->type));
        return;
    }
    switch (f->type) {
    case ST_SCHEMA_STRING: check_string(w, f, v); break;
    case ST_SCHEMA_INTEGER:
    case ST_SCHEMA_NUMBER: check_number(w, f, v); break;
    case ST_SCHEMA_ARRAY: check_array(w, f, v); break;
    case ST_SCHEMA_OBJECT:
        if (f->object)
            walk_object(w, f->object, v);
        break;
    case ST_SCHEMA_BOOLEAN: break;
    }
}

static const struct st_schema_field *field_named(const struct st_schema *s, const char *name)
{
    for (const struct st_schema_field *f = s->fields; f && f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* Append ".name" (or "name" at the top) to the path. */
static void path_push(struct walk *w, const char *name)
{
    if (w->path.len)
        st_buf_append_byte(&w->path, '.');
    st_buf_append_c(&w->path, name);
}

/* The members of the object v at the current path against s. */
static void walk_object(struct walk *w, const struct st_schema *s, const json_t *v)
{
    size_t base = w->path.len;
    bool readonly_ok = w->flags & ST_SCHEMA_ALLOW_READONLY;
    for (const struct st_schema_field *f = s->fields; f && f->name; f++) {
        json_t *m = json_object_get(v, f->name);
        path_push(w, f->name);
        if (!m) {
            /* a read-only field is never asked of a request, even when a response needs it */
            bool needed = (f->flags & ST_SCHEMA_REQUIRED) && (w->flags & ST_SCHEMA_CHECK_REQUIRED) &&
                          (readonly_ok || !(f->flags & ST_SCHEMA_READONLY));
            if (needed)
                report(w, "required", "is required");
        } else if ((f->flags & ST_SCHEMA_READONLY) && !readonly_ok) {
            report(w, "read_only", "is read-only");
        } else {
            walk_value(w, f, m);
        }
        st_buf_truncate(&w->path, base);
    }
    if (!s->closed)
        return;
    const char *key;
    json_t *m;
    json_object_foreach((json_t *)v, key, m)
    {
        if (field_named(s, key))
            continue;
        path_push(w, key);
        report(w, "unknown_field", "unknown field");
        st_buf_truncate(&w->path, base);
    }
}

json_t *st_schema_validate(const struct st_schema *s, const json_t *v, unsigned flags)
{
    struct walk w = { .flags = flags };
    st_buf_init(&w.path, ST_BUF_UNLIMITED);
    if (!json_is_object(v))
        report(&w, "not_object", "must be a JSON object");
    else
        walk_object(&w, s, v);
    st_buf_release(&w.path);
    return w.errors;
}

/* ---- JSON Schema ---- */

static const char *type_name(enum st_schema_type t)
{
    switch (t) {
    case ST_SCHEMA_STRING: return "string";
    case ST_SCHEMA_INTEGER: return "integer";
    case ST_SCHEMA_NUMBER: return "number";
    case ST_SCHEMA_BOOLEAN: return "boolean";
    case ST_SCHEMA_ARRAY: return "array";
    case ST_SCHEMA_OBJECT: return "object";
    }
    return "null";
}

/* minLength/maxLength, minimum/maximum or minItems/maxItems, as the type calls them. */
static int put_bounds(json_t *o, const struct st_schema_field *f)
{
    const char *lo = NULL, *hi = NULL;
    switch (f->type) {
    case ST_SCHEMA_STRING: lo = "minLength", hi = "maxLength"; break;
    case ST_SCHEMA_INTEGER:
    case ST_SCHEMA_NUMBER: lo = "minimum", hi = "maximum"; break;
    case ST_SCHEMA_ARRAY: lo = "minItems", hi = "maxItems"; break;
    default: return 0;
    }
    int rc = 0;
    if (has_min(f))
        rc |= json_object_set_new(o, lo, json_integer(f->min));
    if (has_max(f))
        rc |= json_object_set_new(o, hi, json_integer(f->max));
    return rc;
}

static int put_enum(json_t *o, const struct st_schema_field *f)
{
    json_t *a = json_array();
    int rc = a ? 0 : -1;
    for (const char *const *e = f->enums; a && *e; e++)
        rc |= json_array_append_new(a, json_string(*e));
    /* JSON Schema checks enum whatever the type says: null must be listed to be allowed */
    if (a && (f->flags & ST_SCHEMA_NULLABLE))
        rc |= json_array_append_new(a, json_null());
    return rc | json_object_set_new(o, "enum", a);
}

static json_t *type_value(const struct st_schema_field *f)
{
    if (f->flags & ST_SCHEMA_NULLABLE)
        return json_pack("[ss]", type_name(f->type), "null");
    return json_string(type_name(f->type));
}

json_t *st_schema_field_to_json(const struct st_schema_field *f)
{
    json_t *o = f->type == ST_SCHEMA_OBJECT && f->object ? st_schema_to_json(f->object) : json_object();
    if (!o)
        return NULL;
    int rc = json_object_set_new(o, "type", type_value(f));
    rc |= put_bounds(o, f);
    if (f->type == ST_SCHEMA_ARRAY && f->item)
        rc |= json_object_set_new(o, "items", st_schema_field_to_json(f->item));
    if (f->pattern)
        rc |= json_object_set_new(o, "pattern", json_string(f->pattern));
    if (f->enums)
        rc |= put_enum(o, f);
    if (f->format)
        rc |= json_object_set_new(o, "format", json_string(f->format));
    if (f->flags & ST_SCHEMA_READONLY)
        rc |= json_object_set_new(o, "readOnly", json_true());
    if (f->description) /* the field's words win over its nested schema's */
        rc |= json_object_set_new(o, "description", json_string(f->description));
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *st_schema_to_json(const struct st_schema *s)
{
    json_t *o = json_object(), *props = json_object(), *req = json_array();
    int rc = o && props && req ? 0 : -1;
    for (const struct st_schema_field *f = s->fields; !rc && f && f->name; f++) {
        rc |= json_object_set_new(props, f->name, st_schema_field_to_json(f));
        if (f->flags & ST_SCHEMA_REQUIRED)
            rc |= json_array_append_new(req, json_string(f->name));
    }
    if (!rc) {
        rc |= json_object_set_new(o, "type", json_string("object"));
        if (s->description)
            rc |= json_object_set_new(o, "description", json_string(s->description));
        rc |= json_object_set(o, "properties", props);
        if (json_array_size(req))
            rc |= json_object_set(o, "required", req);
        if (s->closed)
            rc |= json_object_set_new(o, "additionalProperties", json_false());
    }
    json_decref(props);
    json_decref(req);
    if (rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}
