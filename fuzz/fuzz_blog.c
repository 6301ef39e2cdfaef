/*
 * fuzz_blog.c - libFuzzer target for the blog API's own parsers (src/examples/blog*.c):
 * cursors, entity-tag lists and request bodies against the post schema.
 *
 * Input: the first byte picks the parser, the rest is its text. Oracles:
 *   - cursor: a forged or mangled cursor never opens (the SipHash tag must match) unless it
 *     is byte-identical to one the server made; a cursor made from keys opens to the same
 *     keys and direction, for the sort it was made for only;
 *   - etag: the version is -1 only for "*", never negative otherwise, and the same with
 *     spaces around the value;
 *   - body: st_schema_validate on any JSON object either accepts it or lists problems, each
 *     with a field, a code and a message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "examples/blog.h"
#include "fuzz.h"

static struct blog app; /* only cursor_key is used */

static void fuzz_cursor(const char *s)
{
    bool prev = false;
    json_t *keys = NULL;
    if (blog_cursor_open(&app, s, BLOG_POSTS, "-created_at", &prev, &keys) == 0) {
        /* only a cursor we made opens: re-making it from what it holds gives it back */
        char *again = blog_cursor_make(&app, "-created_at", prev, keys);
        CHECK(again && strcmp(again, s) == 0);
        free(again);
        json_decref(keys);
    }
    /* round trip: keys from the input's bytes */
    json_t *k = json_pack("[I, I]", (json_int_t)strlen(s), (json_int_t)(s[0] ? (unsigned char)s[0] : 7));
    char *c = blog_cursor_make(&app, "-created_at", s[0] & 1, k);
    CHECK(c);
    json_t *back = NULL;
    CHECK(blog_cursor_open(&app, c, BLOG_POSTS, "-created_at", &prev, &back) == 0);
    CHECK(prev == (bool)(s[0] & 1) && json_equal(back, k));
    json_decref(back);
    back = NULL;
    CHECK(blog_cursor_open(&app, c, BLOG_POSTS, "title", &prev, &back) == -1); /* another order */
    free(c);
    json_decref(k);
}

static void fuzz_etag(const char *s, size_t n)
{
    int64_t v = blog_etag_list(st_str(s, n), 7);
    CHECK(v >= -1);
    if (v == -1)
        CHECK(memchr(s, '*', n));
    char *padded = malloc(n + 3);
    CHECK(padded);
    padded[0] = ' ';
    memcpy(padded + 1, s, n);
    padded[n + 1] = ' ';
    CHECK(blog_etag_list(st_str(padded, n + 2), 7) == v || memchr(s, ',', n));
    free(padded);
}

static void fuzz_body(const char *s, size_t n)
{
    json_t *v = json_loadb(s, n, 0, NULL);
    if (!json_is_object(v)) {
        json_decref(v);
        return;
    }
    json_t *errors = st_schema_validate(&blog_post_create, v, ST_SCHEMA_CHECK_REQUIRED);
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        CHECK(json_is_string(json_object_get(e, "field")) && json_is_string(json_object_get(e, "code")) &&
              json_is_string(json_object_get(e, "message")));
    }
    json_decref(errors);
    json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    memset(app.cursor_key, 0x5a, sizeof app.cursor_key);
    char *s = malloc(size);
    CHECK(s);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    switch (data[0] % 3) {
    case 0: fuzz_cursor(s); break;
    case 1: fuzz_etag(s, size - 1); break;
    default: fuzz_body(s, size - 1); break;
    }
    free(s);
    return 0;
}
