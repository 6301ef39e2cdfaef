/*
 * flags.c - GNU-style command-line flags with STRATA_* environment fallbacks and --help.
 *
 * Parsing walks argv twice with the same tokenizer. The first walk only finds the flags
 * and their value strings: it reports unknown flags and missing values, and prints the
 * help when it meets -h/--help. The help shows each destination's initial value as the
 * default, so it must be printed before anything is stored; walking first is what makes
 * "--level 3 --help" still show the real default. The second walk converts, checks and
 * stores values and moves the positionals to the front of argv. Last, the environment
 * fills the flags the command line did not give: the command line wins without the
 * environment even being read, so a stale bad variable can be overridden by a flag.
 *
 * Error messages quote what the user typed through show(), which escapes control bytes
 * and invalid UTF-8 and cuts long values, so the message stays one readable line.
 */
#include "base/flags.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/utf8.h"

#define SHOW_MAX 64 /* bytes of user input quoted in an error message */
#define SHOW_BUF (SHOW_MAX * 4 + 8)
#define LABEL_BUF 160  /* "--" + a flag name, or an environment variable name */
#define HELP_COLUMN 30 /* where help text starts when the flag column is wider */

struct parser {
    const struct st_flags_spec *spec;
    int argc;
    char **argv;
    struct st_error *err;
    bool apply; /* second walk: store values and move positionals */
    bool *seen; /* per flag: given on the command line (filled by the second walk) */
    int nargs;
};

/* ---- helpers ---- */

static bool ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

const char *st_flags_env_name(const char *flag_name, char buf[128])
{
    size_t n = strlen(ST_FLAGS_ENV_PREFIX);
    memcpy(buf, ST_FLAGS_ENV_PREFIX, n);
    for (const char *c = flag_name; c && *c && n < 127; c++) {
        if (*c >= 'a' && *c <= 'z')
            buf[n++] = (char)(*c - 'a' + 'A');
        else
            buf[n++] = ascii_alnum(*c) ? *c : '_';
    }
    buf[n] = '\0';
    return buf;
}

/* s[0..n) quoted for a one-line message: control bytes and invalid UTF-8 as \xHH, cut
 * after SHOW_MAX bytes with "...". */
static const char *show(const char *s, size_t n, char out[SHOW_BUF])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, lim = n < SHOW_MAX ? n : SHOW_MAX;
    out[o++] = '"';
    for (size_t i = 0; i < lim;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        size_t len = c >= 0x80 ? st_utf8_decode(s + i, lim - i, &cp) : (c >= 0x20 && c < 0x7f);
        if (len) {
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
        i++;
    }
    out[o++] = '"';
    if (lim < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

static size_t count_flags(const struct st_flags_spec *spec)
{
    size_t n = 0;
    while (spec->flags && spec->flags[n].name)
        n++;
    return n;
}

static int find_long(const struct st_flags_spec *spec, const char *name, size_t len)
{
    for (int i = 0; spec->flags && spec->flags[i].name; i++) {
        const char *f = spec->flags[i].name;
        if (strncmp(f, name, len) == 0 && f[len] == '\0')
            return i;
    }
    return -1;
}

static int find_short(const struct st_flags_spec *spec, char c)
{
    for (int i = 0; spec->flags && spec->flags[i].name; i++)
        if (c != '\0' && spec->flags[i].short_name == c)
            return i;
    return -1;
}

/* ---- values ---- */

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on" };
    static const char *const no[] = { "false", "0", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return true;
        }
    }
    return false;
}

/* Strict decimal: an optional '-', then digits only. 0, ST_EPARSE, or -ERANGE. Digits
 * are still checked after an overflow so "99999999999999999999x" is reported as not a
 * number rather than as too big. */
static int parse_i64(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    const char *d = s + neg;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    bool over = false;
    if (*d == '\0')
        return ST_EPARSE;
    for (; *d; d++) {
        if (*d < '0' || *d > '9')
            return ST_EPARSE;
        unsigned dig = (unsigned)(*d - '0');
        if (v > (limit - dig) / 10)
            over = true;
        else
            v = v * 10 + dig;
    }
    if (over)
        return -ERANGE;
    if (neg)
        *out = v == limit ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}

static int set_bool(const struct st_flag *f, const char *value, const char *label, struct st_error *err)
{
    char q[SHOW_BUF];
    bool b;
    if (!parse_bool(value, &b))
        return st_error_set(err, ST_EUSAGE, "%s: invalid boolean %s (use true or false)", label,
                            show(value, strlen(value), q));
    if (f->dest)
        *(bool *)f->dest = b;
    return 0;
}

static int set_int(const struct st_flag *f, const char *value, const char *label, struct st_error *err)
{
    char q[SHOW_BUF];
    int64_t v;
    int rc = parse_i64(value, &v);
    if (rc == ST_EPARSE)
        return st_error_set(err, ST_EUSAGE, "%s: %s is not an integer", label, show(value, strlen(value), q));
    if (rc)
        return st_error_set(err, ST_EUSAGE, "%s: %s is out of range", label, show(value, strlen(value), q));
    if (f->min < f->max && (v < f->min || v > f->max))
        return st_error_set(err, ST_EUSAGE, "%s: %" PRId64 " is out of range %" PRId64 "..%" PRId64, label, v, f->min,
                            f->max);
    if (f->dest)
        *(int64_t *)f->dest = v;
    return 0;
}

/* "a, b, c" into buf (cut if long: it only feeds a message). */
static void join_choices(const char *const *choices, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; choices[i] && n < size; i++) {
        int w = snprintf(buf + n, size - n, "%s%s", i ? ", " : "", choices[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int set_str(const struct st_flag *f, const char *value, const char *label, struct st_error *err)
{
    if (f->choices) {
        size_t i = 0;
        while (f->choices[i] && strcmp(f->choices[i], value) != 0)
            i++;
        if (!f->choices[i]) {
            char q[SHOW_BUF], list[256];
            join_choices(f->choices, list, sizeof(list));
            return st_error_set(err, ST_EUSAGE, "%s: %s is not one of: %s", label, show(value, strlen(value), q), list);
        }
    }
    if (f->dest)
        *(const char **)f->dest = value;
    return 0;
}

/* Convert, check and store one value; label is how the user named the flag. */
static int set_value(const struct st_flag *f, const char *value, const char *label, struct st_error *err)
{
    switch (f->type) {
    case ST_FLAG_BOOL: return set_bool(f, value, label, err);
    case ST_FLAG_INT: return set_int(f, value, label, err);
    case ST_FLAG_STR: return set_str(f, value, label, err);
    }
    return st_error_set(err, ST_EINTERNAL, "%s: flag table has an unknown type", label);
}

/* ---- the command line ---- */

static int take(struct parser *p, int k, const char *value, const char *label)
{
    if (!p->apply)
        return 0; /* the first walk only tokenizes */
    int rc = set_value(&p->spec->flags[k], value, label, p->err);
    if (rc == 0)
        p->seen[k] = true;
    return rc;
}

static int help(struct parser *p)
{
    if (!p->apply)
        st_flags_print_help(p->spec, stdout);
    return ST_FLAGS_HELP;
}

static int missing_value(struct parser *p, const struct st_flag *f, const char *label)
{
    return st_error_set(p->err, ST_EUSAGE, "%s: missing value%s%s", label, f->metavar ? " " : "",
                        f->metavar ? f->metavar : "");
}

/* --name, --name=value, --name value. */
static int long_flag(struct parser *p, int *i)
{
    const char *name = p->argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    char label[LABEL_BUF], q[SHOW_BUF];
    int k = find_long(p->spec, name, len);
    if (k < 0) {
        if (len == 4 && memcmp(name, "help", 4) == 0)
            return eq ? st_error_set(p->err, ST_EUSAGE, "--help: takes no value") : help(p);
        return st_error_set(p->err, ST_EUSAGE, "unknown flag %s", show(p->argv[*i], len + 2, q));
    }
    const struct st_flag *f = &p->spec->flags[k];
    snprintf(label, sizeof(label), "--%s", f->name);
    if (eq)
        return take(p, k, eq + 1, label);
    if (f->type == ST_FLAG_BOOL)
        return take(p, k, "true", label);
    if (*i + 1 >= p->argc)
        return missing_value(p, f, label);
    return take(p, k, p->argv[++*i], label);
}

/* -x, bundled booleans -xyz, and a value attached (-n5) or following (-n 5). */
static int short_flags(struct parser *p, int *i)
{
    const char *arg = p->argv[*i];
    char label[4] = "-?", q[SHOW_BUF];
    for (const char *c = arg + 1; *c; c++) {
        int k = find_short(p->spec, *c);
        if (k < 0) {
            if (*c == 'h')
                return help(p);
            char typed[2] = { '-', *c };
            return st_error_set(p->err, ST_EUSAGE, "unknown flag %s", show(typed, 2, q));
        }
        const struct st_flag *f = &p->spec->flags[k];
        label[1] = *c;
        if (f->type == ST_FLAG_BOOL) {
            int rc = take(p, k, "true", label);
            if (rc)
                return rc;
            continue;
        }
        if (c[1])
            return take(p, k, c + 1, label);
        if (*i + 1 >= p->argc)
            return missing_value(p, f, label);
        return take(p, k, p->argv[++*i], label);
    }
    return 0;
}

static void positional(struct parser *p, char *arg)
{
    /* nargs never exceeds the index being read, so this slot was already consumed. */
    if (p->apply)
        p->argv[p->nargs] = arg;
    p->nargs++;
}

static int walk(struct parser *p)
{
    bool flags_done = false;
    p->nargs = 0;
    for (int i = 1; i < p->argc; i++) {
        char *arg = p->argv[i];
        if (!arg)
            continue;
        if (flags_done || arg[0] != '-' || arg[1] == '\0') { /* "-" alone means stdin */
            positional(p, arg);
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            flags_done = true;
            continue;
        }
        int rc = arg[1] == '-' ? long_flag(p, &i) : short_flags(p, &i);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the environment ---- */

/* An empty variable counts as unset, so `STRATA_X= cmd` can clear a setting. */
static int apply_env(struct parser *p)
{
    char name[128];
    for (size_t k = 0; p->spec->flags && p->spec->flags[k].name; k++) {
        const struct st_flag *f = &p->spec->flags[k];
        if (p->seen[k])
            continue;
        const char *v = getenv(st_flags_env_name(f->name, name));
        if (!v || !*v)
            continue;
        int rc = set_value(f, v, name, p->err);
        if (rc)
            return rc;
    }
    return 0;
}

int st_flags_parse(const struct st_flags_spec *spec, int argc, char **argv, int *nargs, struct st_error *err)
{
    struct parser p = { .spec = spec, .argc = argv ? argc : 0, .argv = argv, .err = err };
    *nargs = 0;
    st_error_clear(err);
    int rc = walk(&p);
    if (rc)
        return rc;
    p.apply = true;
    p.seen = st_xcalloc(count_flags(spec) + 1, sizeof(bool));
    rc = walk(&p);
    if (rc == 0)
        rc = apply_env(&p);
    free(p.seen);
    if (rc == 0)
        *nargs = p.nargs;
    return rc;
}

/* ---- help ---- */

/* The part in parentheses after a flag's help: range, choices, default, variable. */
static void print_notes(const struct st_flag *f, FILE *out)
{
    char env[128], choices[256];
    fputs(" (", out);
    if (f->type == ST_FLAG_INT && f->min < f->max)
        fprintf(out, "%" PRId64 "..%" PRId64 "; ", f->min, f->max);
    if (f->type == ST_FLAG_STR && f->choices) {
        join_choices(f->choices, choices, sizeof(choices));
        fprintf(out, "one of: %s; ", choices);
    }
    if (f->dest && f->type == ST_FLAG_BOOL)
        fprintf(out, "default: %s; ", *(const bool *)f->dest ? "true" : "false");
    else if (f->dest && f->type == ST_FLAG_INT)
        fprintf(out, "default: %" PRId64 "; ", *(const int64_t *)f->dest);
    else if (f->dest && f->type == ST_FLAG_STR && *(const char *const *)f->dest)
        fprintf(out, "default: %s; ", *(const char *const *)f->dest);
    fprintf(out, "env: %s)", st_flags_env_name(f->name, env));
}

/* "  -l, --level N" into buf; returns its length. */
static int flag_column(const struct st_flag *f, char *buf, size_t size)
{
    const char *meta = f->metavar;
    if (!meta && f->type != ST_FLAG_BOOL)
        meta = f->type == ST_FLAG_INT ? "N" : "VALUE";
    int n = snprintf(buf, size, "  %c%c%s--%s%s%s", f->short_name ? '-' : ' ', f->short_name ? f->short_name : ' ',
                     f->short_name ? ", " : "  ", f->name, meta ? " " : "", meta ? meta : "");
    return n < 0 ? 0 : n >= (int)size ? (int)size - 1 : n;
}

static void print_row(FILE *out, const char *col, int len, int width, const char *text)
{
    if (len + 2 > width)
        fprintf(out, "%s\n%*s%s", col, width, "", text);
    else
        fprintf(out, "%s%*s%s", col, width - len, "", text);
}

static int column_width(const struct st_flags_spec *spec)
{
    char col[LABEL_BUF + 64];
    int width = (int)strlen("  -h, --help") + 2;
    for (size_t k = 0; spec->flags && spec->flags[k].name; k++) {
        int len = flag_column(&spec->flags[k], col, sizeof(col)) + 2;
        if (len > width)
            width = len;
    }
    return width > HELP_COLUMN ? HELP_COLUMN : width;
}

void st_flags_print_help(const struct st_flags_spec *spec, FILE *out)
{
    char col[LABEL_BUF + 64];
    int width = column_width(spec);
    if (spec->usage)
        fprintf(out, "Usage: %s\n", spec->usage);
    if (spec->summary)
        fprintf(out, "\n%s\n", spec->summary);
    fputs("\nFlags:\n", out);
    for (size_t k = 0; spec->flags && spec->flags[k].name; k++) {
        const struct st_flag *f = &spec->flags[k];
        int len = flag_column(f, col, sizeof(col));
        print_row(out, col, len, width, f->help ? f->help : "");
        print_notes(f, out);
        fputc('\n', out);
    }
    /* The built-in help flag, as far as the table does not take its names. */
    bool long_help = find_long(spec, "help", 4) < 0, short_help = find_short(spec, 'h') < 0;
    if (long_help || short_help) {
        snprintf(col, sizeof(col), "  %s%s", short_help ? "-h" : "  ",
                 long_help ? (short_help ? ", --help" : "  --help") : "");
        print_row(out, col, (int)strlen(col), width, "show this help and exit\n");
    }
    if (spec->epilog)
        fprintf(out, "\n%s\n", spec->epilog);
}
