/*
 * commands.c - the command table of `strata kv`, assembled from the *.def files (each
 * command is described once, in its part's .def), its case-insensitive lookup, and the
 * COMMAND command (COUNT, INFO, DOCS, LIST, GETKEYS) that redis-cli uses for its hints.
 *
 * Lookup is an open-addressing table on the lowercased name, built once at start: the
 * name is lowercased into a stack buffer while hashing, so dispatch never allocates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "kv/cmds.h"
#include "kv/core.h"
#include "kv/resp.h"

/* The .def files write flags without the KV_CMD_ prefix. */
#define WRITE KV_CMD_WRITE
#define READONLY KV_CMD_READONLY
#define DENYOOM KV_CMD_DENYOOM
#define ADMIN KV_CMD_ADMIN
#define PUBSUB KV_CMD_PUBSUB
#define NOSCRIPT KV_CMD_NOSCRIPT
#define BLOCKING KV_CMD_BLOCKING
#define LOADING KV_CMD_LOADING
#define STALE KV_CMD_STALE
#define FAST KV_CMD_FAST
#define NOAUTH KV_CMD_NOAUTH
#define NO_MULTI KV_CMD_NO_MULTI
#define ALLOW_PUBSUB KV_CMD_ALLOW_PUBSUB

static void kv_cmd_command(struct kv_client *c);
static const struct kv_cmd command_subcommands[];

static const struct kv_cmd table[] = {
#define KV_CMD(name, proc, arity, flags, fk, lk, ks, group, since, summary, args)                                      \
    { #name, proc, arity, flags, fk, lk, ks, group, since, summary, args, NULL },
#define KV_CMD_PARENT(name, sub, arity, flags, group, since, summary)                                                  \
    { #name, NULL, arity, flags, 0, 0, 0, group, since, summary, "", sub },
#include "kv/multi.def"
#include "kv/persist.def"
#include "kv/pubsub.def"
#include "kv/t_hash.def"
#include "kv/t_keys.def"
#include "kv/t_list.def"
#include "kv/t_server.def"
#include "kv/t_set.def"
#include "kv/t_string.def"
#include "kv/t_zset.def"
#undef KV_CMD
#undef KV_CMD_PARENT
    /* COMMAND alone lists everything; with a subcommand it goes to the table below. */
    { "command", kv_cmd_command, -1, LOADING | STALE, 0, 0, 0, "server", "2.8.13", "Get array of Redis command details",
      "", command_subcommands },
};

#define NCMDS (sizeof table / sizeof table[0])

/* ---- lookup ---------------------------------------------------------------------------- */

#define LOOKUP_SLOTS 1024 /* power of two, well above 2 * NCMDS */
#define NAME_MAX_LEN 40

static const struct kv_cmd *slots[LOOKUP_SLOTS];

static uint32_t name_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a: the names are short and fixed, no flooding risk */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

static size_t lower_name(struct kv_bytes name, char *buf)
{
    for (size_t i = 0; i < name.n; i++) {
        char ch = name.p[i];
        buf[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    return name.n;
}

void kv_commands_init(void)
{
    _Static_assert(NCMDS * 2 < LOOKUP_SLOTS, "grow LOOKUP_SLOTS");
    memset(slots, 0, sizeof slots);
    for (size_t i = 0; i < NCMDS; i++) {
        const struct kv_cmd *cmd = &table[i];
        uint32_t h = name_hash(cmd->name, strlen(cmd->name)) & (LOOKUP_SLOTS - 1);
        while (slots[h])
            h = (h + 1) & (LOOKUP_SLOTS - 1);
        slots[h] = cmd;
    }
}

const struct kv_cmd *kv_cmd_lookup(struct kv_bytes name)
{
    char buf[NAME_MAX_LEN];
    if (name.n == 0 || name.n >= NAME_MAX_LEN)
        return NULL;
    size_t n = lower_name(name, buf);
    uint32_t h = name_hash(buf, n) & (LOOKUP_SLOTS - 1);
    for (const struct kv_cmd *cmd; (cmd = slots[h]); h = (h + 1) & (LOOKUP_SLOTS - 1)) {
        if (strncmp(cmd->name, buf, n) == 0 && cmd->name[n] == '\0')
            return cmd;
    }
    return NULL;
}

const struct kv_cmd *kv_subcmd_lookup(const struct kv_cmd *parent, struct kv_bytes name)
{
    if (!parent->subcommands)
        return NULL;
    for (const struct kv_cmd *s = parent->subcommands; s->name; s++) {
        if (kv_eq(name, s->name))
            return s;
    }
    return NULL;
}

size_t kv_cmd_count(void)
{
    return NCMDS;
}

const struct kv_cmd *kv_cmd_at(size_t i)
{
    return i < NCMDS ? &table[i] : NULL;
}

const struct kv_cmd *kv_cmd_parent(const struct kv_cmd *cmd)
{
    for (size_t i = 0; i < NCMDS; i++) {
        const struct kv_cmd *s = table[i].subcommands;
        if (!s)
            continue;
        for (; s->name; s++) {
            if (s == cmd)
                return &table[i];
        }
    }
    return NULL;
}

const char *kv_cmd_fullname(const struct kv_cmd *cmd, char *buf, size_t n)
{
    const struct kv_cmd *parent = kv_cmd_parent(cmd);
    if (parent)
        snprintf(buf, n, "%s|%s", parent->name, cmd->name);
    else
        snprintf(buf, n, "%s", cmd->name);
    return buf;
}

/* ---- COMMAND INFO ---------------------------------------------------------------------- */

static const struct {
    unsigned flag;
    const char *name;
} flag_names[] = {
    { KV_CMD_WRITE, "write" },       { KV_CMD_READONLY, "readonly" }, { KV_CMD_DENYOOM, "denyoom" },
    { KV_CMD_ADMIN, "admin" },       { KV_CMD_PUBSUB, "pubsub" },     { KV_CMD_NOSCRIPT, "noscript" },
    { KV_CMD_BLOCKING, "blocking" }, { KV_CMD_LOADING, "loading" },   { KV_CMD_STALE, "stale" },
    { KV_CMD_FAST, "fast" },         { KV_CMD_NOAUTH, "no_auth" },    { KV_CMD_NO_MULTI, "no_multi" },
};

static void reply_flags(struct kv_client *c, const struct kv_cmd *cmd)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
        n += (cmd->flags & flag_names[i].flag) != 0;
    kv_reply_set(c, n);
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
        if (cmd->flags & flag_names[i].flag)
            kv_reply_status(c, flag_names[i].name);
    }
}

/* ACL categories as Redis derives them: the data type's, read/write, fast/slow. */
static void reply_categories(struct kv_client *c, const struct kv_cmd *cmd)
{
    const char *cats[6];
    size_t n = 0;
    if (cmd->flags & KV_CMD_WRITE)
        cats[n++] = "@write";
    if (cmd->flags & KV_CMD_READONLY)
        cats[n++] = "@read";
    static const char *const groups[][2] = {
        { "string", "@string" },
        { "list", "@list" },
        { "hash", "@hash" },
        { "set", "@set" },
        { "sorted-set", "@sortedset" },
        { "generic", "@keyspace" },
        { "pubsub", "@pubsub" },
        { "transactions", "@transaction" },
        { "connection", "@connection" },
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (strcmp(cmd->group, groups[i][0]) == 0)
            cats[n++] = groups[i][1];
    }
    if (cmd->flags & KV_CMD_ADMIN) {
        cats[n++] = "@admin";
        cats[n++] = "@dangerous";
    }
    if (cmd->flags & KV_CMD_BLOCKING)
        cats[n++] = "@blocking";
    cats[n++] = (cmd->flags & KV_CMD_FAST) ? "@fast" : "@slow";
    kv_reply_set(c, n);
    for (size_t i = 0; i < n; i++)
        kv_reply_status(c, cats[i]);
}

static void reply_cmd_info(struct kv_client *c, const struct kv_cmd *cmd, const char *fullname)
{
    kv_reply_array(c, 10);
    kv_reply_bulk_c(c, fullname);
    kv_reply_int(c, cmd->arity);
    reply_flags(c, cmd);
    kv_reply_int(c, cmd->first_key);
    kv_reply_int(c, cmd->last_key);
    kv_reply_int(c, cmd->key_step);
    reply_categories(c, cmd);
    kv_reply_set(c, 0);   /* tips */
    kv_reply_array(c, 0); /* key specs: the legacy triple above describes our keys */
    size_t nsub = 0;
    for (const struct kv_cmd *s = cmd->subcommands; s && s->name; s++)
        nsub++;
    kv_reply_array(c, nsub);
    for (const struct kv_cmd *s = cmd->subcommands; s && s->name; s++) {
        char full[96];
        snprintf(full, sizeof full, "%s|%s", cmd->name, s->name);
        reply_cmd_info(c, s, full);
    }
}

static void kv_cmd_command(struct kv_client *c)
{
    kv_reply_array(c, NCMDS);
    for (size_t i = 0; i < NCMDS; i++)
        reply_cmd_info(c, &table[i], table[i].name);
}

static void command_count(struct kv_client *c)
{
    kv_reply_int(c, (int64_t)NCMDS);
}

/* "config|get" or "config" or "get" -> the command, or NULL. */
static const struct kv_cmd *lookup_fullname(struct kv_bytes name)
{
    const char *bar = memchr(name.p, '|', name.n);
    if (!bar)
        return kv_cmd_lookup(name);
    const struct kv_cmd *parent = kv_cmd_lookup(kv_b(name.p, (size_t)(bar - name.p)));
    if (!parent)
        return NULL;
    return kv_subcmd_lookup(parent, kv_b(bar + 1, name.n - (size_t)(bar - name.p) - 1));
}

static void command_info(struct kv_client *c)
{
    if (c->argc == 2) {
        kv_cmd_command(c);
        return;
    }
    kv_reply_array(c, (size_t)(c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        const struct kv_cmd *cmd = lookup_fullname(c->argv[i]);
        if (!cmd) {
            kv_reply_null_array(c);
            continue;
        }
        char full[96];
        reply_cmd_info(c, cmd, kv_cmd_fullname(cmd, full, sizeof full));
    }
}

/* ---- COMMAND DOCS ---------------------------------------------------------------------- */

/*
 * The "args" string of a .def ("key value [NX|XX] [GET] [EX seconds]") as the argument
 * tree COMMAND DOCS returns, which redis-cli turns into its typing hints. Words in upper
 * case are tokens, lower case are values; [..] is optional, a|b is a choice, "..." after
 * a word or group repeats it.
 */
struct doc_arg {
    char name[48];
    const char *type; /* "key", "string", "integer", "pure-token", "block", "oneof" */
    bool optional, multiple, token;
    int nsub;
    struct doc_arg *sub;
};

static void doc_free(struct doc_arg *a, int n)
{
    for (int i = 0; i < n; i++)
        doc_free(a[i].sub, a[i].nsub);
    free(a);
}

static struct doc_arg *doc_push(struct doc_arg **v, int *n)
{
    *v = st_xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
    struct doc_arg *a = &(*v)[(*n)++];
    memset(a, 0, sizeof *a);
    return a;
}

static bool is_upper_word(const char *p, size_t n)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 'a' && p[i] <= 'z')
            return false;
        if (p[i] >= 'A' && p[i] <= 'Z')
            any = true;
    }
    return any;
}

static void doc_word(struct doc_arg *a, const char *p, size_t n)
{
    snprintf(a->name, sizeof a->name, "%.*s", (int)n, p);
    if (is_upper_word(p, n)) {
        a->type = "pure-token";
        a->token = true;
    } else if ((n == 3 && memcmp(p, "key", 3) == 0) || (n > 3 && memcmp(p, "key", 3) == 0)) {
        a->type = "key";
    } else if (strstr(a->name, "count") || strstr(a->name, "seconds") || strstr(a->name, "milliseconds") ||
               strstr(a->name, "index") || strstr(a->name, "timestamp")) {
        a->type = "integer";
    } else {
        a->type = "string";
    }
}

static int doc_parse(const char **pp, const char *end, char close, struct doc_arg **out);

/* One item at *pp: a word, a word|word choice, or a [group]. */
static void doc_item(const char **pp, const char *end, struct doc_arg **v, int *n)
{
    const char *p = *pp;
    struct doc_arg *a = doc_push(v, n);
    if (*p == '[') {
        p++;
        struct doc_arg *sub = NULL;
        int nsub = doc_parse(&p, end, ']', &sub);
        if (nsub == 1) { /* [NX|XX] or [GET]: the item itself is optional */
            *a = sub[0];
            free(sub);
        } else {
            snprintf(a->name, sizeof a->name, "%s", nsub ? sub[0].name : "arg");
            a->type = "block";
            a->sub = sub;
            a->nsub = nsub;
        }
        a->optional = true;
    } else {
        const char *s = p;
        while (p < end && *p != ' ' && *p != ']' && *p != '[')
            p++;
        const char *bar = memchr(s, '|', (size_t)(p - s));
        if (bar) {
            a->type = "oneof";
            snprintf(a->name, sizeof a->name, "%.*s", (int)(bar - s), s);
            for (const char *w = s; w < p;) {
                const char *e = memchr(w, '|', (size_t)(p - w));
                if (!e)
                    e = p;
                struct doc_arg *alt = doc_push(&a->sub, &a->nsub);
                doc_word(alt, w, (size_t)(e - w));
                w = e + 1;
            }
        } else {
            doc_word(a, s, (size_t)(p - s));
        }
    }
    while (p < end && *p == ' ')
        p++;
    if (end - p >= 3 && memcmp(p, "...", 3) == 0) {
        a->multiple = true;
        p += 3;
    }
    *pp = p;
}

static int doc_parse(const char **pp, const char *end, char close, struct doc_arg **out)
{
    const char *p = *pp;
    int n = 0;
    for (;;) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        if (*p == close) {
            p++;
            break;
        }
        if (*p == ']') { /* stray bracket: skip it */
            p++;
            continue;
        }
        doc_item(&p, end, out, &n);
    }
    *pp = p;
    return n;
}

static void reply_doc_args(struct kv_client *c, const struct doc_arg *a, int n)
{
    kv_reply_array(c, (size_t)n);
    for (int i = 0; i < n; i++) {
        size_t fields = 2 + (a[i].token ? 1 : 0) + (a[i].optional || a[i].multiple ? 1 : 0) + (a[i].nsub ? 1 : 0);
        kv_reply_map(c, fields);
        kv_reply_bulk_c(c, "name");
        kv_reply_bulk_c(c, a[i].name);
        kv_reply_bulk_c(c, "type");
        kv_reply_bulk_c(c, a[i].type);
        if (a[i].token) {
            kv_reply_bulk_c(c, "token");
            kv_reply_bulk_c(c, a[i].name);
        }
        if (a[i].optional || a[i].multiple) {
            kv_reply_bulk_c(c, "flags");
            kv_reply_set(c, (size_t)a[i].optional + (size_t)a[i].multiple);
            if (a[i].optional)
                kv_reply_status(c, "optional");
            if (a[i].multiple)
                kv_reply_status(c, "multiple");
        }
        if (a[i].nsub) {
            kv_reply_bulk_c(c, "arguments");
            reply_doc_args(c, a[i].sub, a[i].nsub);
        }
    }
}

static void reply_doc(struct kv_client *c, const struct kv_cmd *cmd, const char *fullname)
{
    kv_reply_bulk_c(c, fullname);
    struct doc_arg *args = NULL;
    const char *p = cmd->args ? cmd->args : "";
    int nargs = doc_parse(&p, p + strlen(p), '\0', &args);
    size_t nsub = 0;
    for (const struct kv_cmd *s = cmd->subcommands; s && s->name; s++)
        nsub++;
    kv_reply_map(c, 3 + (nargs ? 1 : 0) + (nsub ? 1 : 0));
    kv_reply_bulk_c(c, "summary");
    kv_reply_bulk_c(c, cmd->summary);
    kv_reply_bulk_c(c, "since");
    kv_reply_bulk_c(c, cmd->since);
    kv_reply_bulk_c(c, "group");
    kv_reply_bulk_c(c, cmd->group);
    if (nargs) {
        kv_reply_bulk_c(c, "arguments");
        reply_doc_args(c, args, nargs);
    }
    doc_free(args, nargs);
    if (nsub) {
        kv_reply_bulk_c(c, "subcommands");
        kv_reply_map(c, nsub);
        for (const struct kv_cmd *s = cmd->subcommands; s->name; s++) {
            char full[96];
            snprintf(full, sizeof full, "%s|%s", cmd->name, s->name);
            reply_doc(c, s, full);
        }
    }
}

static void command_docs(struct kv_client *c)
{
    if (c->argc == 2) {
        kv_reply_map(c, NCMDS);
        for (size_t i = 0; i < NCMDS; i++)
            reply_doc(c, &table[i], table[i].name);
        return;
    }
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    for (int i = 2; i < c->argc; i++) {
        const struct kv_cmd *cmd = lookup_fullname(c->argv[i]);
        if (!cmd)
            continue;
        char full[96];
        reply_doc(c, cmd, kv_cmd_fullname(cmd, full, sizeof full));
        n++;
    }
    kv_reply_set_deferred(c, h, n, '%');
}

/* ---- COMMAND LIST / GETKEYS / HELP ------------------------------------------------------ */

static bool list_filter(struct kv_client *c, const struct kv_cmd *cmd)
{
    if (c->argc < 5)
        return true;
    struct kv_bytes what = c->argv[3], arg = c->argv[4];
    if (kv_eq(what, "pattern"))
        return kv_glob(arg, kv_b(cmd->name, strlen(cmd->name)), true);
    if (kv_eq(what, "aclcat")) {
        /* categories: compare with the group name or read/write/fast/slow */
        char want[64];
        snprintf(want, sizeof want, "%.*s", (int)(arg.n < 60 ? arg.n : 60), arg.p);
        if (strcmp(want, "write") == 0)
            return cmd->flags & KV_CMD_WRITE;
        if (strcmp(want, "read") == 0)
            return cmd->flags & KV_CMD_READONLY;
        if (strcmp(want, "fast") == 0)
            return cmd->flags & KV_CMD_FAST;
        if (strcmp(want, "slow") == 0)
            return !(cmd->flags & KV_CMD_FAST);
        return strcmp(want, cmd->group) == 0 ||
               (strcmp(want, "sortedset") == 0 && strcmp(cmd->group, "sorted-set") == 0);
    }
    return false; /* MODULE: we have none */
}

static void command_list(struct kv_client *c)
{
    if (c->argc != 2 &&
        !(c->argc == 5 && kv_eq(c->argv[2], "filterby") &&
          (kv_eq(c->argv[3], "pattern") || kv_eq(c->argv[3], "aclcat") || kv_eq(c->argv[3], "module")))) {
        kv_reply_error(c, KV_ERR_SYNTAX);
        return;
    }
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    for (size_t i = 0; i < NCMDS; i++) {
        if (!list_filter(c, &table[i]))
            continue;
        kv_reply_bulk_c(c, table[i].name);
        n++;
        for (const struct kv_cmd *s = table[i].subcommands; s && s->name; s++) {
            char full[96];
            snprintf(full, sizeof full, "%s|%s", table[i].name, s->name);
            kv_reply_bulk_c(c, full);
            n++;
        }
    }
    kv_reply_set_deferred(c, h, n, '*');
}

static bool arity_ok(const struct kv_cmd *cmd, int argc)
{
    return cmd->arity >= 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

static void command_getkeys(struct kv_client *c)
{
    const struct kv_cmd *cmd = kv_cmd_lookup(c->argv[2]);
    int argc = c->argc - 2;
    const struct kv_bytes *argv = c->argv + 2;
    if (cmd && cmd->subcommands && argc >= 2) {
        const struct kv_cmd *sub = kv_subcmd_lookup(cmd, argv[1]);
        if (sub)
            cmd = sub;
    }
    if (!cmd) {
        kv_reply_error(c, "ERR Invalid command specified");
        return;
    }
    if (!arity_ok(cmd, argc)) {
        kv_reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    if (cmd->first_key <= 0) {
        kv_reply_error(c, "ERR The command has no key arguments");
        return;
    }
    int last = cmd->last_key < 0 ? argc + cmd->last_key : cmd->last_key;
    int step = cmd->key_step > 0 ? cmd->key_step : 1;
    void *h = kv_reply_deferred(c);
    size_t n = 0;
    for (int i = cmd->first_key; i <= last && i < argc; i += step) {
        kv_reply_bulk(c, argv[i]);
        n++;
    }
    kv_reply_set_deferred(c, h, n, '*');
}

static void command_help(struct kv_client *c)
{
    static const char *const lines[] = {
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "HELP",
        "    Print this help.",
    };
    kv_reply_array(c, sizeof lines / sizeof lines[0]);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        kv_reply_status(c, lines[i]);
}

static const struct kv_cmd command_subcommands[] = {
    { "count", command_count, 2, LOADING | STALE, 0, 0, 0, "server", "2.8.13", "Get total number of Redis commands", "",
      NULL },
    { "info", command_info, -2, LOADING | STALE, 0, 0, 0, "server", "2.8.13",
      "Get array of specific Redis command details, or all when no argument is given", "[command-name ...]", NULL },
    { "docs", command_docs, -2, LOADING | STALE, 0, 0, 0, "server", "7.0.0",
      "Get array of specific Redis command documentation", "[command-name ...]", NULL },
    { "list", command_list, -2, LOADING | STALE, 0, 0, 0, "server", "7.0.0", "Get an array of Redis command names",
      "[FILTERBY MODULE module-name|ACLCAT category|PATTERN pattern]", NULL },
    { "getkeys", command_getkeys, -3, LOADING | STALE, 0, 0, 0, "server", "2.8.13",
      "Extract keys given a full Redis command", "command [arg ...]", NULL },
    { "help", command_help, 2, LOADING | STALE, 0, 0, 0, "server", "5.0.0",
      "Show helpful text about the different subcommands", "", NULL },
    { 0 },
};
