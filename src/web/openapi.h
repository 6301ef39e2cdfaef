/*
 * openapi.h - internal to src/web: the OpenAPI 3.1 description of /api/v1 (openapi.c),
 * served by web_api.c at GET /api/v1/openapi.json and held against the registered routes
 * by tests/web/test_openapi.c.
 *
 * The document is built with jansson once, before serving, and kept as compact JSON in
 * static storage: nothing to free, and every worker reads the same bytes without a lock.
 */
#ifndef ST_WEB_OPENAPI_H
#define ST_WEB_OPENAPI_H

#include "base/str.h"

/* Build the document (the first call; later calls return 0 at once). Call before any
 * worker serves it. 0, -ENOMEM, or ST_ELIMIT if it outgrew its static buffer (a bug the
 * tests catch). */
int st_lab_openapi_build(void);

/* The document (compact JSON, NUL-terminated at .len); {NULL, 0} before a build. */
struct st_str st_lab_openapi(void);

/* Its strong ETag, quoted ("\"5f0c...\""); "" before a build. */
const char *st_lab_openapi_etag(void);

#endif
