/*
 * curgen.c - build-time generator: the curriculum/ files -> curriculum_data.c.
 *
 *   curgen OUTPUT.c SRCROOT FILE...
 *
 * Reads and checks every curriculum file (src/curriculum/format.c) and writes the tables
 * declared in src/curriculum/tables.h. Any error prints "file:line: message" and exits 1,
 * which fails the build. The output is written to a temporary file and renamed, so a failed
 * run never leaves a half-written source behind.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "curriculum/format.h"

/* Read a whole file into a malloc'd buffer. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct st_buf b;
    st_buf_init(&b, 64u << 20);
    char chunk[65536];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = st_buf_append(&b, chunk, n);
    bool bad = ferror(f) || rc;
    fclose(f);
    if (bad) {
        st_buf_release(&b);
        return NULL;
    }
    return st_buf_detach(&b, len);
}

/* The path as shown in messages and in question sources: relative to the source root. */
static const char *display_name(const char *path, const char *root)
{
    char full[PATH_MAX];
    if (!realpath(path, full))
        return strdup(path);
    size_t n = strlen(root);
    if (strncmp(full, root, n) == 0 && full[n] == '/')
        return strdup(full + n + 1);
    return strdup(full);
}

/* A C string literal, split every 80 bytes; bytes outside printable ASCII become octal. */
static void emit_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("NULL", out);
        return;
    }
    fputc('"', out);
    for (int col = 0; *s; s++, col++) {
        unsigned char c = (unsigned char)*s;
        if (col == 80) {
            fputs("\"\n    \"", out);
            col = 0;
        }
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c < 0x20 || c >= 0x7f || c == '?') /* '?': no trigraphs */
            fprintf(out, "\\%03o", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void emit_list(FILE *out, const char *name, int id, const char *const *items, int n)
{
    if (n == 0)
        return;
    fprintf(out, "static const char *const %s_%d[] = {", name, id);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", " : " ", out);
        emit_str(out, items[i]);
    }
    fputs(" };\n", out);
}

static char *slugify(const char *name)
{
    size_t n = strlen(name);
    char *s = malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n && s; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            s[j++] = c;
        else if (j && s[j - 1] != '-')
            s[j++] = '-';
    }
    while (s && j && s[j - 1] == '-')
        j--;
    if (s)
        s[j] = '\0';
    return s;
}

static void emit_levels_modules(FILE *out, const struct st_curf_bank *b)
{
    fputs("const struct st_cur_level st__cur_levels[ST_CUR_LEVELS] = {\n", out);
    for (int i = 1; i <= ST_CURF_LEVELS; i++) {
        const struct st_curf_level *l = &b->levels[i];
        fprintf(out, "    { %d, ", i);
        emit_str(out, l->name), fputs(", ", out), emit_str(out, l->focus), fputs(", ", out);
        emit_str(out, l->goal), fputs(", ", out), emit_str(out, l->time);
        fputs(" },\n", out);
    }
    fputs("};\n\nconst struct st_cur_module st__cur_modules[ST_CUR_MODULES] = {\n", out);
    for (int i = 1; i <= ST_CURF_MODULES; i++) {
        const struct st_curf_module *m = &b->modules[i];
        char *slug = slugify(m->name);
        fprintf(out, "    { %d, %d, ", i, m->level);
        emit_str(out, m->name), fputs(", ", out), emit_str(out, slug);
        fputs(" },\n", out);
        free(slug);
    }
    fputs("};\n\n", out);
}

static void emit_question(FILE *out, const struct st_curf_bank *b, int id)
{
    const struct st_curf_question *q = &b->questions[id];
    fprintf(out, "    { .id = %d, .module = %d, .level = %d, .kind = %s,\n      .text = ", id, q->module,
            b->modules[q->module].level, q->practical ? "ST_CUR_PRACTICAL" : "ST_CUR_CONCEPTUAL");
    emit_str(out, q->text);
    fprintf(out, ",\n      .tags = tags_%d, .ntags = %d,\n      .answer = ", id, q->ntags);
    emit_str(out, q->answer);
    if (q->nsolutions)
        fprintf(out, ",\n      .solutions = solutions_%d, .nsolutions = %d", id, q->nsolutions);
    fputs(",\n      .demo = ", out);
    emit_str(out, q->demo);
    fputs(", .grader = ", out);
    emit_str(out, q->grader);
    fputs(",\n      .checks = ", out);
    emit_str(out, q->checks);
    fprintf(out, ",\n      .source = \"%s:%d\" },\n", q->at.file, q->at.line);
}

static int emit(FILE *out, const struct st_curf_bank *b)
{
    fputs("/* Generated by tools/curgen.c from curriculum/. Do not edit. */\n"
          "#include <stddef.h>\n#include \"curriculum/tables.h\"\n\n",
          out);
    emit_levels_modules(out, b);
    for (int id = 1; id <= ST_CURF_QUESTIONS; id++) {
        emit_list(out, "tags", id, b->questions[id].tags, b->questions[id].ntags);
        emit_list(out, "solutions", id, b->questions[id].solutions, b->questions[id].nsolutions);
    }
    fputs("\nconst struct st_cur_question st__cur_questions[ST_CUR_QUESTIONS] = {\n", out);
    for (int id = 1; id <= ST_CURF_QUESTIONS; id++)
        emit_question(out, b, id);
    fputs("};\n", out);
    return ferror(out) ? -1 : 0;
}

static int load(struct st_curf_bank *b, const char *root, int nfiles, char **files, const char **names)
{
    for (int i = 0; i < nfiles; i++) {
        size_t len;
        names[i] = display_name(files[i], root);
        char *data = read_file(files[i], &len);
        if (!data) {
            fprintf(stderr, "%s: cannot read\n", names[i]);
            return 1;
        }
        struct st_error err;
        int rc = st_curf_add_file(b, names[i], data, len, &err);
        free(data);
        if (rc) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    }
    struct st_error err;
    if (st_curf_check(b, root, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    return 0;
}

static int write_output(const char *path, const struct st_curf_bank *b)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        perror(tmp);
        return 1;
    }
    int rc = emit(out, b);
    if (fclose(out) != 0 || rc != 0 || rename(tmp, path) != 0) {
        perror(path);
        remove(tmp);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fputs("usage: curgen OUTPUT.c SRCROOT FILE...\n", stderr);
        return 2;
    }
    char root[PATH_MAX];
    if (!realpath(argv[2], root)) {
        perror(argv[2]);
        return 2;
    }
    int nfiles = argc - 3;
    const char **names = calloc((size_t)nfiles, sizeof(*names));
    struct st_curf_bank *b = malloc(sizeof(*b));
    if (!names || !b) {
        free(names);
        free(b);
        return 1;
    }
    st_curf_init(b);
    int rc = load(b, root, nfiles, argv + 3, names);
    if (rc == 0)
        rc = write_output(argv[1], b);
    st_curf_release(b);
    for (int i = 0; i < nfiles; i++)
        free((void *)names[i]);
    free(names);
    free(b);
    return rc;
}
