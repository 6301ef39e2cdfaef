/*
 * internal.h - internal to src/lab: what the lab store (store.c) borrows from the progress
 * database (progress.c), and the hooks tests use. Not a public header.
 */
#ifndef ST_LAB_INTERNAL_H
#define ST_LAB_INTERNAL_H

#include <sqlite3.h>

#include "lab/progress.h"

struct st_lab_store;

/* The connection of an open progress database (owned by p: never close it). */
sqlite3 *st__progress_db(struct st_progress *p);

/* Write data to path atomically (temp file beside it, fsync, rename, fsync the folder). */
int st__progress_write_atomic(const char *path, const char *data, size_t len, struct st_error *err);

/* Read a whole import file (at most 64 MiB) into *data (NUL-terminated; the caller frees). */
int st__progress_read_file(const char *path, char **data, size_t *len, struct st_error *err);

/* Prefix err's message with "prefix: " (a file name), keeping its code. */
void st__error_prefix(struct st_error *err, const char *prefix);

/* The connection of a lab store (owned by s), for tests that create learners. */
sqlite3 *st__lab_store_db(struct st_lab_store *s);

#endif
