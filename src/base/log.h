/*
 * log.h - structured logging to stderr.
 *
 *   st_log_info("listening", ST_LOG_STR("addr", addr), ST_LOG_INT("port", port));
 *
 * prints, in the default key=value format,
 *   ts=2026-11-28T01:02:03.456Z level=info msg=listening addr=127.0.0.1 port=8080
 * or, with format JSON-lines, {"ts":"...","level":"info","msg":"listening","addr":...}.
 *
 * A disabled level costs one comparison: the macros test the level before evaluating
 * the fields. Values are quoted/escaped when needed (spaces, quotes, control bytes) so a
 * line always parses back into the same fields. Each line is written with one write(2),
 * so lines from several threads never interleave. Lines longer than 8 KiB are truncated
 * (marked with truncated=true) rather than allocated.
 *
 * Details (log.c has the full rules): a line, newline included, never exceeds 8 KiB; a cut
 * falls between characters, closes any open quote, and leaves out a field of which nothing
 * fits. key=value escapes inside quotes as \" \\ \n \r \t and \xHH (Go strconv.Unquote
 * syntax), so bytes that are not UTF-8 survive exactly; JSON cannot carry them and gets
 * U+FFFD instead, and non-finite floats as the strings "NaN", "+Inf", "-Inf". A NULL
 * ST_LOG_STR is null in JSON and "" in key=value. Logging preserves errno. The setters are
 * meant for start-up, before other threads log.
 *
 * Log files: st_log_set_file appends to a file instead of stderr; st_log_reopen (for
 * SIGHUP after logrotate renamed the file) opens the same path again and swaps it in with
 * dup3 onto the same descriptor number, so threads logging meanwhile need no lock: each
 * line goes whole to the old file or to the new one.
 */
#ifndef ST_BASE_LOG_H
#define ST_BASE_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/str.h"

enum st_log_level { ST_LOG_DEBUG = 10, ST_LOG_INFO = 20, ST_LOG_WARN = 30, ST_LOG_ERROR = 40, ST_LOG_OFF = 100 };
enum st_log_format { ST_LOG_KV, ST_LOG_JSON };

enum st_log_field_type {
    ST_LOG_T_END,
    ST_LOG_T_STR,
    ST_LOG_T_SLICE,
    ST_LOG_T_INT,
    ST_LOG_T_UINT,
    ST_LOG_T_F64,
    ST_LOG_T_BOOL
};

struct st_log_field {
    const char *key;
    enum st_log_field_type type;
    union {
        const char *s;
        struct st_str sl;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
    } v;
};

#define ST_LOG_STR(k, x) ((struct st_log_field){ .key = (k), .type = ST_LOG_T_STR, .v.s = (x) })
#define ST_LOG_SLICE(k, x) ((struct st_log_field){ .key = (k), .type = ST_LOG_T_SLICE, .v.sl = (x) })
#define ST_LOG_INT(k, x) ((struct st_log_field){ .key = (k), .type = ST_LOG_T_INT, .v.i = (int64_t)(x) })
#define ST_LOG_UINT(k, x) ((struct st_log_field){ .key = (k), .type = ST_LOG_T_UINT, .v.u = (uint64_t)(x) })
#define ST_LOG_F64(k, x) ((struct st_log_field){ .key = (k), .type = ST_LOG_T_F64, .v.d = (double)(x) })
#define ST_LOG_BOOL(k, x) ((struct st_log_field){ .key = (k), .type = ST_LOG_T_BOOL, .v.b = (x) })

/* Current minimum level; read by the macros, set with st_log_set_level. */
extern enum st_log_level st_log_min_level;

void st_log_set_level(enum st_log_level level);
void st_log_set_format(enum st_log_format format);
/* Write to fd instead of stderr (tests). Closes a file opened by st_log_set_file and
 * forgets its path; the caller still owns fd. */
void st_log_set_fd(int fd);
/* Append to the file at path instead of stderr: opened O_APPEND|O_CLOEXEC, created 0640
 * (less the umask). The path is copied. 0, -ENAMETOOLONG, or -errno from open(2); on
 * failure the current destination stays. */
int st_log_set_file(const char *path);
/* Open the path of st_log_set_file again and log to the new file from now on: after a
 * rename (logrotate) lines go to a fresh file at the original path. Thread-safe, also
 * while other threads log. On failure the old file stays in use, a warning is logged to
 * it and the -errno is returned. Without a log file: 0, nothing done. */
int st_log_reopen(void);
/* Parse "debug|info|warn|error|off" / "kv|json"; 0 or ST_EPARSE. */
int st_log_parse_level(const char *s, enum st_log_level *out);
int st_log_parse_format(const char *s, enum st_log_format *out);

/* Emit one line; fields ends with an ST_LOG_T_END entry. Use the macros instead. */
void st__log_write(enum st_log_level level, const char *msg, const struct st_log_field *fields);

#if defined(__GNUC__) || defined(__clang__)
/* __VA_OPT__ adds the comma before the ST_LOG_T_END entry only when there are fields. */
#define ST__LOG(level, msg, ...)                                                                                       \
    do {                                                                                                               \
        if ((level) >= st_log_min_level)                                                                               \
            st__log_write((level), (msg), (const struct st_log_field[]){ __VA_ARGS__ __VA_OPT__(, ){ 0 } });           \
    } while (0)
#else
/* Preprocessors without __VA_OPT__ (cppcheck 2.10 among them, which would otherwise skip
 * every file that logs): a fixed-size array whose unused tail is zero, i.e. ST_LOG_T_END.
 * More than ST__LOG_MAX_FIELDS fields fail to compile. */
#define ST__LOG_MAX_FIELDS 16
#define ST__LOG(level, msg, ...)                                                                                       \
    do {                                                                                                               \
        if ((level) >= st_log_min_level)                                                                               \
            st__log_write((level), (msg), (const struct st_log_field[ST__LOG_MAX_FIELDS + 1]){ __VA_ARGS__ });         \
    } while (0)
#endif

#define st_log_debug(msg, ...) ST__LOG(ST_LOG_DEBUG, msg, __VA_ARGS__)
#define st_log_info(msg, ...) ST__LOG(ST_LOG_INFO, msg, __VA_ARGS__)
#define st_log_warn(msg, ...) ST__LOG(ST_LOG_WARN, msg, __VA_ARGS__)
#define st_log_error(msg, ...) ST__LOG(ST_LOG_ERROR, msg, __VA_ARGS__)

#endif
