/*
 * progress.h - the learner's progress, kept in SQLite.
 *
 * The database (default $XDG_DATA_HOME/strata/progress.db) is shared by the CLI and, later,
 * the lab web server. It runs in WAL mode with synchronous=FULL and every change happens in
 * one transaction, so a kill -9 at any moment leaves either the old or the new state and
 * nothing acknowledged is lost. Every learner row carries a user id from day one; until
 * accounts exist there is one local learner (ST_PROGRESS_LOCAL_USER).
 *
 * A question without a row has status todo. Each status change is also appended to an
 * event history (for "recent activity" and for export).
 */
#ifndef ST_LAB_PROGRESS_H
#define ST_LAB_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define ST_PROGRESS_LOCAL_USER 1
#define ST_PROGRESS_SCHEMA_VERSION 2 /* the migrations in progress.c; newer databases are refused */

enum st_status { ST_STATUS_TODO, ST_STATUS_DOING, ST_STATUS_DONE, ST_STATUS_REVIEW, ST_STATUS_COUNT };

/* "todo", "doing", "done", "review"; parse returns 0 or ST_EPARSE. */
const char *st_status_name(enum st_status s);
int st_status_parse(const char *s, enum st_status *out);

struct st_progress; /* an open database */

/*
 * The data directory: dir if not NULL, else $XDG_DATA_HOME/strata, else
 * $HOME/.local/share/strata. Writes a NUL-terminated path into out.
 */
int st_progress_data_dir(const char *dir, char *out, size_t cap, struct st_error *err);

/* Open (creating the directory and database, and migrating the schema) the progress
 * database in data_dir. Refuses a database whose schema is newer than this binary. */
int st_progress_open(const char *data_dir, struct st_progress **out, struct st_error *err);
/* Open a database file directly (":memory:" for a private in-memory one: tests, fuzzing). */
int st_progress_open_path(const char *db_path, struct st_progress **out, struct st_error *err);
void st_progress_close(struct st_progress *p);
/* The database file's path. */
const char *st_progress_path(const struct st_progress *p);

/* Set the status of questions ids[0..n) for user in one transaction (all or nothing). */
int st_progress_mark(struct st_progress *p, int64_t user, const int *ids, size_t n, enum st_status status,
                     struct st_error *err);

/* statuses[0..500) receives every question's status (index = id - 1). */
int st_progress_load(struct st_progress *p, int64_t user, enum st_status statuses[], struct st_error *err);

/* Write everything the learner owns as JSON to path (atomically: temp file, fsync, rename). */
int st_progress_export(struct st_progress *p, int64_t user, const char *path, struct st_error *err);

/*
 * Import a file written by st_progress_export: validated completely first, then applied in
 * one transaction (a status is taken when it is newer than the one stored; events are
 * merged without duplicates). On any error nothing changes. *applied receives the number of
 * statuses taken.
 */
int st_progress_import(struct st_progress *p, int64_t user, const char *path, size_t *applied, struct st_error *err);

/* Import from bytes already in memory (the fuzz target and the web upload use this). */
int st_progress_import_json(struct st_progress *p, int64_t user, const char *json, size_t len, size_t *applied,
                            struct st_error *err);

#endif
