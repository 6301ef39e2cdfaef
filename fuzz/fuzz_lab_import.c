/*
 * fuzz_lab_import.c - the lab's import (lab/store.h: "strata-lab" v1 and the older
 * "strata-progress" v1) on arbitrary bytes, against a private in-memory database: JSON
 * validation, then the transaction. After any input the store must still answer, and a
 * rejected document must leave the export unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "lab/store.h"

static struct st_lab_store *db;

static void close_db(void)
{
    st_lab_store_close(db);
}

static char *export_now(void)
{
    struct st_buf b;
    struct st_error err;
    st_buf_init(&b, ST_BUF_UNLIMITED);
    CHECK(st_lab_export_json(db, ST_PROGRESS_LOCAL_USER, &b, &err) == 0);
    char *s = st_buf_detach(&b, NULL);
    char *at = strstr(s, "\"exported_at\"");
    if (at) /* the one field that changes by itself: blank it for the comparison */
        memset(at, ' ', strcspn(at, ",\n"));
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned runs;
    struct st_error err;
    if (db && ++runs % 256 == 0) { /* start afresh now and then: imports only ever add rows */
        st_lab_store_close(db);
        db = NULL;
    }
    if (!db) {
        if (st_lab_store_open(":memory:", &db, &err))
            abort();
        if (runs == 0)
            atexit(close_db);
    }
    char *before = export_now();
    size_t applied = 0;
    int rc = st_lab_import_json(db, ST_PROGRESS_LOCAL_USER, (const char *)data, size, &applied, &err);
    char *after = export_now();
    if (rc != 0)
        CHECK(strcmp(before, after) == 0);
    free(before);
    free(after);
    return 0;
}
