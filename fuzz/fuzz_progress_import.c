/*
 * fuzz_progress_import.c - progress import (JSON validation and the transaction) on
 * arbitrary bytes, against a private in-memory database.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz.h"
#include "lab/progress.h"

static struct st_progress *db;

static void close_db(void)
{
    st_progress_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_error err;
    if (!db) {
        if (st_progress_open_path(":memory:", &db, &err))
            abort();
        atexit(close_db);
    }
    size_t applied;
    (void)st_progress_import_json(db, ST_PROGRESS_LOCAL_USER, (const char *)data, size, &applied, &err);
    return 0;
}
