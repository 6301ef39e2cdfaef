/*
 * format.c - parser and checker for the curriculum files (docs/curriculum-format.md).
 *
 * A line-oriented state machine: outside a block every line is blank, a comment, a record
 * header "[type id]" or a field "key: value"; inside a block ("key: <<TAG") lines are
 * collected verbatim until the line "TAG". Each field is stored straight into the typed
 * bank, so the checker works on the same structs the generator emits.
 */
#include "curriculum/format.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/utf8.h"

enum rec_type { REC_NONE, REC_LEVEL, REC_MODULE, REC_QUESTION };

struct parser {
    struct st_curf_bank *bank;
    const char *file;
    int line;
    enum rec_type type;
    int id;
    int rec_line;
    unsigned seen;           /* bit per field index of the current record */
    struct st_str block_key; /* non-empty while inside a block */
    struct st_str block_tag;
    int block_line;
    struct st_buf block;
    struct st_error *err;
};

/* Field tables: index = bit in parser.seen; required fields are checked at record end. */
struct field_def {
    const char *key;
    bool required;
    bool repeat;
};

static const struct field_def level_fields[] = {
    { "name", true, false }, { "focus", true, false }, { "goal", true, false }, { "time", true, false }, { 0 },
};
static const struct field_def module_fields[] = {
    { "level", true, false },
    { "name", true, false },
    { 0 },
};
static const struct field_def question_fields[] = {
    { "module", true, false },  { "kind", true, false },
    { "text", true, false },    { "tags", true, false },
    { "answer", false, false }, { "solution", false, true },
    { "demo", false, false },   { "grader", false, false },
    { "checks", false, false }, { 0 },
};

static const char *const type_names[] = { "", "level", "module", "question" };

static const struct field_def *fields_of(enum rec_type t)
{
    return t == REC_LEVEL ? level_fields : t == REC_MODULE ? module_fields : question_fields;
}

/* Report "file:line: message" and return ST_EPARSE. */
__attribute__((format(printf, 3, 4))) static int fail(struct parser *p, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return st_error_set(p->err, ST_EPARSE, "%s:%d: %s", p->file, line, msg);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* A name is [a-z0-9-]+: tags and grader names. */
static bool is_name(struct st_str s)
{
    if (s.len == 0 || s.len > 64)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!is_name_char(s.ptr[i]))
            return false;
    return true;
}

/* Valid UTF-8 without control characters (tab allowed only when allow_tab). */
static bool is_clean_text(struct st_str s, bool allow_tab)
{
    if (!st_utf8_valid(s.ptr, s.len))
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c < 0x20 && !(allow_tab && c == '\t') && c != '\n') || c == 0x7f)
            return false;
        if (c == '\n' && !allow_tab)
            return false;
    }
    return true;
}

static const char *dup(struct parser *p, struct st_str s)
{
    return st_arena_strndup(&p->bank->arena, s.ptr, s.len);
}

static int parse_int_in(struct st_str s, int lo, int hi, int *out)
{
    int64_t v;
    if (st_str_to_i64(s, &v) != 0 || v < lo || v > hi)
        return ST_EPARSE;
    *out = (int)v;
    return 0;
}

/* Comma-separated tags into q->tags. */
static int set_tags(struct parser *p, struct st_curf_question *q, struct st_str v)
{
    while (v.len || q->ntags == 0) {
        struct st_str tag;
        struct st_str rest = st_str_cut(v, ',', &tag, NULL);
        tag = st_str_trim(tag);
        if (!is_name(tag))
            return fail(p, p->line, "bad tag '%.*s': tags are lower-case a-z, 0-9 and '-'", ST_STR_FMT(tag));
        if (q->ntags == ST_CURF_MAX_LIST)
            return fail(p, p->line, "too many tags (at most 32)");
        q->tags[q->ntags++] = dup(p, tag);
        v = rest;
    }
    return 0;
}

/* A solution path: relative, inside the repo, no "..", no empty or "." segments. */
static bool is_repo_path(struct st_str s)
{
    if (s.len == 0 || s.len > 200 || s.ptr[0] == '/')
        return false;
    while (s.len) {
        struct st_str seg;
        s = st_str_cut(s, '/', &seg, NULL);
        if (seg.len == 0 || st_str_eq_c(seg, ".") || st_str_eq_c(seg, ".."))
            return false;
        for (size_t i = 0; i < seg.len; i++)
            if ((unsigned char)seg.ptr[i] <= ' ' || seg.ptr[i] == '\\')
                return false;
    }
    return true;
}

/*
 * checks: a markdown bullet list. Every line starts a bullet ("- ") or continues one
 * (indented by at least two spaces); blank lines are allowed between bullets.
 */
static int set_checks(struct parser *p, struct st_curf_question *q, struct st_str v)
{
    struct st_str rest = v, line;
    int n = 0, bullets = 0;
    while (rest.len) {
        rest = st_str_cut(rest, '\n', &line, NULL);
        n++;
        if (line.len == 0)
            continue;
        if (st_str_starts_with(line, ST_STR_LIT("- ")))
            bullets++;
        else if (!bullets || !st_str_starts_with(line, ST_STR_LIT("  ")))
            return fail(p, p->line + n,
                        "checks: a markdown bullet list: each line starts with \"- \" or continues "
                        "the bullet above indented by two spaces");
    }
    q->checks = dup(p, v);
    return 0;
}

static int set_level_field(struct parser *p, int idx, struct st_str v)
{
    struct st_curf_level *l = &p->bank->levels[p->id];
    const char **slot[] = { &l->name, &l->focus, &l->goal, &l->time };
    *slot[idx] = dup(p, v);
    return 0;
}

static int set_module_field(struct parser *p, int idx, struct st_str v)
{
    struct st_curf_module *m = &p->bank->modules[p->id];
    if (idx == 0) {
        if (parse_int_in(v, 1, ST_CURF_LEVELS, &m->level))
            return fail(p, p->line, "unknown level '%.*s' (levels are 1-5)", ST_STR_FMT(v));
        return 0;
    }
    m->name = dup(p, v);
    return 0;
}

static int set_question_field(struct parser *p, int idx, struct st_str v)
{
    struct st_curf_question *q = &p->bank->questions[p->id];
    switch (idx) {
    case 0:
        if (parse_int_in(v, 1, ST_CURF_MODULES, &q->module))
            return fail(p, p->line, "unknown module %s (modules are 1-25)", dup(p, v));
        return 0;
    case 1:
        if (st_str_eq_c(v, "practical"))
            q->practical = true;
        else if (!st_str_eq_c(v, "conceptual"))
            return fail(p, p->line, "unknown kind '%s' (conceptual or practical)", dup(p, v));
        return 0;
    case 2: q->text = dup(p, v); return 0;
    case 3: return set_tags(p, q, v);
    case 4: q->answer = dup(p, v); return 0;
    case 5:
        if (!is_repo_path(v))
            return fail(p, p->line, "bad solution path '%s': a relative path inside the repo", dup(p, v));
        if (q->nsolutions == ST_CURF_MAX_LIST)
            return fail(p, p->line, "too many solution paths (at most 32)");
        q->solutions[q->nsolutions++] = dup(p, v);
        return 0;
    case 6: q->demo = dup(p, v); return 0;
    case 7:
        if (!is_name(v))
            return fail(p, p->line, "bad grader name '%s': a-z, 0-9 and '-'", dup(p, v));
        q->grader = dup(p, v);
        return 0;
    default: return set_checks(p, q, v);
    }
}

/* Store one complete field (single line or block) of the current record. */
static int set_field(struct parser *p, struct st_str key, struct st_str v, bool is_block, int line)
{
    const struct field_def *defs = fields_of(p->type);
    int idx = 0;
    while (defs[idx].key && !st_str_eq_c(key, defs[idx].key))
        idx++;
    if (!defs[idx].key)
        return fail(p, line, "unknown field '%.*s' in a %s record", ST_STR_FMT(key), type_names[p->type]);
    if ((p->seen & (1u << idx)) && !defs[idx].repeat)
        return fail(p, line, "field '%.*s' given twice", ST_STR_FMT(key));
    p->seen |= 1u << idx;
    if (!is_clean_text(v, is_block))
        return fail(p, line, "field '%.*s': invalid UTF-8 or control characters", ST_STR_FMT(key));
    if (v.len == 0)
        return fail(p, line, "field '%.*s' is empty", ST_STR_FMT(key));
    int saved = p->line;
    p->line = line;
    int rc = p->type == REC_LEVEL    ? set_level_field(p, idx, v)
             : p->type == REC_MODULE ? set_module_field(p, idx, v)
                                     : set_question_field(p, idx, v);
    p->line = saved;
    return rc;
}

static int end_record(struct parser *p)
{
    if (p->type == REC_NONE)
        return 0;
    const struct field_def *defs = fields_of(p->type);
    for (int i = 0; defs[i].key; i++)
        if (defs[i].required && !(p->seen & (1u << i))) {
            char what[64];
            snprintf(what, sizeof(what), "%s %d", type_names[p->type], p->id);
            return fail(p, p->rec_line, "%s: missing field '%s'", what, defs[i].key);
        }
    p->type = REC_NONE;
    return 0;
}

static struct st_curf_where *where_of(struct st_curf_bank *b, enum rec_type t, int id)
{
    return t == REC_LEVEL ? &b->levels[id].at : t == REC_MODULE ? &b->modules[id].at : &b->questions[id].at;
}

/* "[type id]" */
static int begin_record(struct parser *p, struct st_str line)
{
    int rc = end_record(p);
    if (rc)
        return rc;
    struct st_str body, type, idtext;
    if (!st_str_ends_with(line, ST_STR_LIT("]")))
        return fail(p, p->line, "a record header looks like [question 242]");
    body = st_str_sub(line, 1, line.len - 1);
    bool found;
    idtext = st_str_cut(body, ' ', &type, &found);
    static const int max_id[] = { 0, ST_CURF_LEVELS, ST_CURF_MODULES, ST_CURF_QUESTIONS };
    enum rec_type t = REC_NONE;
    for (int i = REC_LEVEL; i <= REC_QUESTION; i++)
        if (st_str_eq_c(type, type_names[i]))
            t = (enum rec_type)i;
    if (!found || t == REC_NONE)
        return fail(p, p->line, "unknown record '%s' (level, module or question)", dup(p, body));
    int id;
    if (parse_int_in(idtext, 1, max_id[t], &id))
        return fail(p, p->line, "bad %s number '%s'", type_names[t], dup(p, idtext));
    struct st_curf_where *at = where_of(p->bank, t, id);
    if (at->file) {
        char first[300];
        snprintf(first, sizeof(first), "%s:%d", at->file, at->line);
        char what[64];
        snprintf(what, sizeof(what), "%s %d", type_names[t], id);
        return fail(p, p->line, "duplicate %s (first defined at %s)", what, first);
    }
    at->file = p->file;
    at->line = p->line;
    p->type = t;
    p->id = id;
    p->rec_line = p->line;
    p->seen = 0;
    return 0;
}

static bool is_block_tag(struct st_str s)
{
    if (s.len == 0 || s.len > 16)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!((s.ptr[i] >= 'A' && s.ptr[i] <= 'Z') || (s.ptr[i] >= '0' && s.ptr[i] <= '9')))
            return false;
    return true;
}

/* "key: value" or "key: <<TAG" */
static int field_line(struct parser *p, struct st_str line)
{
    struct st_str key;
    bool found;
    struct st_str v = st_str_trim(st_str_cut(line, ':', &key, &found));
    if (!found || key.len == 0)
        return fail(p, p->line, "expected 'key: value', a [record] header or a # comment");
    if (p->type == REC_NONE)
        return fail(p, p->line, "field outside a record");
    if (st_str_starts_with(v, ST_STR_LIT("<<"))) {
        struct st_str tag = st_str_sub(v, 2, v.len);
        if (!is_block_tag(tag))
            return fail(p, p->line, "a block starts with <<TAG, TAG being 1-16 capitals or digits");
        p->block_key = key;
        p->block_tag = tag;
        p->block_line = p->line;
        st_buf_clear(&p->block);
        return 0;
    }
    return set_field(p, key, v, false, p->line);
}

static int block_line(struct parser *p, struct st_str line)
{
    if (st_str_eq(line, p->block_tag)) {
        struct st_str key = p->block_key;
        p->block_key = (struct st_str){ 0 };
        return set_field(p, key, st_buf_str(&p->block), true, p->block_line);
    }
    if (p->block.len && st_buf_append_byte(&p->block, '\n'))
        return fail(p, p->line, "block too long");
    if (st_buf_append_str(&p->block, line))
        return fail(p, p->line, "block too long");
    return 0;
}

static int parse_line(struct parser *p, struct st_str line)
{
    if (line.len && line.ptr[line.len - 1] == '\r')
        line.len--;
    if (p->block_key.len)
        return block_line(p, line);
    struct st_str t = st_str_trim(line);
    if (t.len == 0 || t.ptr[0] == '#')
        return 0;
    if (t.ptr[0] == '[')
        return begin_record(p, t);
    return field_line(p, line);
}

int st_curf_add_file(struct st_curf_bank *b, const char *file, const char *data, size_t len, struct st_error *err)
{
    struct parser p = { .bank = b, .file = file, .err = err };
    st_buf_init(&p.block, 1 << 20); /* an answer of 1 MiB is a mistake, not content */
    struct st_str rest = st_str(data, len);
    int rc = 0;
    while (rc == 0 && rest.len) {
        struct st_str line;
        rest = st_str_cut(rest, '\n', &line, NULL);
        p.line++;
        rc = parse_line(&p, line);
    }
    if (rc == 0 && p.block_key.len)
        rc = fail(&p, p.block_line, "block not closed: no line '%s' before the end of the file", dup(&p, p.block_tag));
    if (rc == 0)
        rc = end_record(&p);
    st_buf_release(&p.block);
    return rc;
}

void st_curf_init(struct st_curf_bank *b)
{
    memset(b, 0, sizeof(*b));
    st_arena_init(&b->arena, (size_t)64 * 1024);
}

void st_curf_release(struct st_curf_bank *b)
{
    st_arena_release(&b->arena);
}

/* Report "file:line: message" at a record (or "curriculum: message") and return ST_EPARSE. */
__attribute__((format(printf, 3, 4))) static int check_fail(struct st_error *err, const struct st_curf_where *at,
                                                            const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (at && at->file)
        return st_error_set(err, ST_EPARSE, "%s:%d: %s", at->file, at->line, msg);
    return st_error_set(err, ST_EPARSE, "curriculum: %s", msg);
}

static int check_question(const struct st_curf_bank *b, int id, const char *srcroot, struct st_error *err)
{
    const struct st_curf_question *q = &b->questions[id];
    int module = (id - 1) / ST_CURF_PER_MODULE + 1;
    bool practical = (id - 1) % ST_CURF_PER_MODULE >= ST_CURF_PER_MODULE / 2;
    if (!q->at.file)
        return check_fail(err, &b->modules[module].at, "module %d lacks question %d", module, id);
    if (!b->modules[q->module].at.file)
        return check_fail(err, &q->at, "unknown module %d (no [module %d] record)", q->module, q->module);
    if (q->module != module)
        return check_fail(err, &q->at, "question belongs to module %d by its number, not %d", module, q->module);
    if (q->practical != practical)
        return st_error_set(err, ST_EPARSE,
                            "%s:%d: question %d must be %s (each module lists 10 conceptual, then 10 practical)",
                            q->at.file, q->at.line, id, practical ? "practical" : "conceptual");
    if (q->checks && !q->grader)
        return st_error_set(err, ST_EPARSE, "%s:%d: question %d lists grader checks but has no grader", q->at.file,
                            q->at.line, id);
    for (int i = 0; srcroot && i < q->nsolutions; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", srcroot, q->solutions[i]);
        if (stat(path, &st) != 0)
            return st_error_set(err, ST_EPARSE, "%s:%d: solution path '%s' does not exist", q->at.file, q->at.line,
                                q->solutions[i]);
    }
    return 0;
}

int st_curf_check(const struct st_curf_bank *b, const char *srcroot, struct st_error *err)
{
    for (int l = 1; l <= ST_CURF_LEVELS; l++)
        if (!b->levels[l].at.file)
            return check_fail(err, NULL, "level %d is missing", l);
    for (int m = 1; m <= ST_CURF_MODULES; m++) {
        const struct st_curf_module *mod = &b->modules[m];
        int level = (m - 1) / (ST_CURF_MODULES / ST_CURF_LEVELS) + 1;
        if (!mod->at.file)
            return check_fail(err, NULL, "module %d is missing", m);
        if (mod->level != level)
            return check_fail(err, &mod->at, "module %d belongs to level %d", m, level);
    }
    for (int id = 1; id <= ST_CURF_QUESTIONS; id++) {
        int rc = check_question(b, id, srcroot, err);
        if (rc)
            return rc;
    }
    return 0;
}
