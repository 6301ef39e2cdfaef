/*
 * test_schema.c - tests for JSON validation against schemas and their JSON Schema form
 * (src/http/schema.c).
 *
 * Validation cases are data: a schema, a body in JSON text, the flags, and the problems
 * expected as "field:code|field:code" in report order. The OpenAPI form is compared with a
 * JSON literal (json_equal: member order does not matter).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/schema.h"

/* ---- the schemas under test ---- */

static const struct st_schema_field tag_item = { "tag", ST_SCHEMA_STRING, 0, .pattern = "^[a-z0-9-]{1,30}$" };

static const struct st_schema_field author_fields[] = {
    { "name", ST_SCHEMA_STRING, ST_SCHEMA_REQUIRED, .min = 1, .max = 5 },
    { "email", ST_SCHEMA_STRING, 0, .format = "email" },
    { NULL },
};
static const struct st_schema author = { "Author", author_fields, .closed = true };

static const struct st_schema_field post_fields[] = {
    { "id", ST_SCHEMA_INTEGER, ST_SCHEMA_REQUIRED | ST_SCHEMA_READONLY },
    { "title", ST_SCHEMA_STRING, ST_SCHEMA_REQUIRED, .min = 1, .max = 10 },
    { "status", ST_SCHEMA_STRING, 0, .enums = (const char *[]){ "draft", "published", NULL } },
    { "tags", ST_SCHEMA_ARRAY, 0, .max = 3, .item = &tag_item },
    { "rating", ST_SCHEMA_INTEGER, ST_SCHEMA_BOUNDED | ST_SCHEMA_NULLABLE, .min = 0, .max = 5 },
    { "score", ST_SCHEMA_NUMBER, 0 },
    { "pinned", ST_SCHEMA_BOOLEAN, 0 },
    { "published_at", ST_SCHEMA_STRING, ST_SCHEMA_NULLABLE, .format = "date-time" },
    { "author", ST_SCHEMA_OBJECT, 0, .object = &author },
    { "items", ST_SCHEMA_ARRAY, 0, .min = 1,
      .item = &(const struct st_schema_field){ "item", ST_SCHEMA_OBJECT, 0, .object = &author } },
    { NULL },
};
static const struct st_schema post = { "Post", post_fields, .closed = true, .description = "A post" };
static const struct st_schema post_open = { "PostOpen", post_fields, .closed = false };

static const struct st_schema_field many_fields[] = {
    { "s", ST_SCHEMA_STRING, 0, .min = 5, .pattern = "^[0-9]+$", .enums = (const char *[]){ "12345", NULL } },
    { NULL },
};
static const struct st_schema many = { "S", many_fields };

static const struct st_schema empty_closed = { "E", (const struct st_schema_field[]){ { NULL } }, .closed = true };
static const struct st_schema none = { "N", NULL };

static const struct st_schema_field nullable_enum = {
    "s",
    ST_SCHEMA_STRING,
    ST_SCHEMA_NULLABLE | ST_SCHEMA_BOUNDED | ST_SCHEMA_READONLY,
    .min = 0,
    .max = 0,
    .enums = (const char *[]){ "", NULL },
    .description = "empty or null",
};

static const struct st_schema inner = { "In", (const struct st_schema_field[]){ { NULL } }, .description = "in" };
static const struct st_schema_field of = { "o", ST_SCHEMA_OBJECT, 0, .object = &inner, .description = "field" };

/* "field:code|..." of errors (NULL: ""), freed by the caller. */
static char *summary(json_t *errors)
{
    char *out = calloc(1, 4096);
    size_t len = 0;
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        assert_non_null(field);
        assert_non_null(code);
        assert_non_null(msg);
        assert_true(msg[0] != '\0');
        assert_int_equal(json_object_size(e), 3);
        len += (size_t)snprintf(out + len, 4096 - len, "%s%s:%s", len ? "|" : "", field, code);
    }
    return out;
}

static void expect(const struct st_schema *s, const char *body, unsigned flags, const char *want)
{
    json_error_t jerr;
    json_t *v = json_loads(body, JSON_DECODE_ANY, &jerr);
    if (!v)
        fail_msg("bad test body %s: %s", body, jerr.text);
    json_t *errors = st_schema_validate(s, v, flags);
    if (want[0] == '\0' && errors)
        fail_msg("%s: unexpected errors %s", body, summary(errors));
    if (want[0] != '\0')
        assert_non_null(errors);
    char *got = summary(errors);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n  got  %s\n  want %s", body, got, want);
    free(got);
    json_decref(errors);
    json_decref(v);
}

#define REQ ST_SCHEMA_CHECK_REQUIRED

static void valid_bodies(void **state)
{
    (void)state;
    expect(&post, "{\"title\":\"hello\"}", REQ, "");
    expect(&post,
           "{\"title\":\"h\",\"status\":\"draft\",\"tags\":[\"a-1\",\"b\"],\"rating\":null,\"score\":1.5,"
           "\"pinned\":true,\"published_at\":\"2026-11-28T20:05:48Z\",\"author\":{\"name\":\"ann\","
           "\"email\":\"a@b.c\"},\"items\":[{\"name\":\"x\"}]}",
           REQ, "");
    expect(&post, "{}", 0, ""); /* PATCH: nothing is required */
    expect(&post, "{\"score\":3}", 0, "");
    expect(&post, "{\"rating\":0}", 0, "");
    expect(&post, "{\"rating\":5}", 0, "");
    expect(&post, "{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", 0,
           ""); /* 10 code points, 20 bytes */
}

static void every_code(void **state)
{
    (void)state;
    expect(&post, "[]", REQ, ":not_object");
    expect(&post, "\"x\"", 0, ":not_object");
    expect(&post, "null", 0, ":not_object");
    expect(&post, "{}", REQ, "title:required");
    expect(&post, "{\"title\":7}", REQ, "title:type");
    expect(&post, "{\"title\":\"\"}", REQ, "title:too_short");
    expect(&post, "{\"title\":\"12345678901\"}", REQ, "title:too_long");
    expect(&post, "{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x\"}",
           0, "title:too_long");
    expect(&post, "{\"rating\":-1}", 0, "rating:too_small");
    expect(&post, "{\"rating\":6}", 0, "rating:too_large");
    expect(&post, "{\"items\":[]}", 0, "items:too_few");
    expect(&post, "{\"tags\":[\"a\",\"b\",\"c\",\"d\"]}", 0, "tags:too_many");
    expect(&post, "{\"tags\":[\"ok\",\"Not OK\"]}", 0, "tags[1]:pattern");
    expect(&post, "{\"status\":\"gone\"}", 0, "status:enum");
    expect(&post, "{\"author\":{\"name\":\"a\",\"email\":\"nope\"}}", 0, "author.email:format");
    expect(&post, "{\"published_at\":\"yesterday\"}", 0, "published_at:format");
    expect(&post, "{\"colour\":\"red\"}", 0, "colour:unknown_field");
    expect(&post, "{\"id\":3}", 0, "id:read_only");
    expect(&post, "{\"title\":null}", 0, "title:null");
}

static void integers_are_strict(void **state)
{
    (void)state;
    expect(&post, "{\"rating\":1.0}", 0, "rating:type");
    expect(&post, "{\"rating\":\"1\"}", 0, "rating:type");
    expect(&post, "{\"rating\":true}", 0, "rating:type");
    expect(&post, "{\"score\":\"1\"}", 0, "score:type");
    expect(&post, "{\"pinned\":0}", 0, "pinned:type");
    expect(&post, "{\"tags\":{}}", 0, "tags:type");
    expect(&post, "{\"author\":[]}", 0, "author:type");
}

static void reports_everything(void **state)
{
    (void)state;
    expect(&post, "{\"title\":\"\",\"status\":\"x\",\"tags\":[\"A\",\"b\",\"C\",\"d\"],\"zz\":1,\"id\":1}", REQ,
           "id:read_only|title:too_short|status:enum|tags:too_many|tags[0]:pattern|tags[2]:pattern|zz:unknown_field");
    /* both bounds of one string, pattern and enum at once */
    expect(&many, "{\"s\":\"ab\"}", 0, "s:too_short|s:pattern|s:enum");
}

static void nesting(void **state)
{
    (void)state;
    expect(&post, "{\"items\":[{\"name\":\"ok\"},{\"name\":\"toolong\"},{}]}", REQ,
           "title:required|items[1].name:too_long|items[2].name:required");
    expect(&post, "{\"items\":[{\"name\":\"ok\",\"x\":1},7]}", 0, "items[0].x:unknown_field|items[1]:type");
    expect(&post, "{\"author\":{}}", REQ, "title:required|author.name:required");
    expect(&post, "{\"author\":{}}", 0, "");
}

static void closed_and_open(void **state)
{
    (void)state;
    expect(&post, "{\"extra\":1,\"more\":[]}", 0, "extra:unknown_field|more:unknown_field");
    expect(&post_open, "{\"extra\":1,\"more\":[]}", 0, "");
    /* open outside, the nested schema is still closed */
    expect(&post_open, "{\"extra\":1,\"author\":{\"name\":\"a\",\"b\":2}}", 0, "author.b:unknown_field");
    /* schemas without fields */
    expect(&empty_closed, "{}", REQ, "");
    expect(&empty_closed, "{\"a\":1}", REQ, "a:unknown_field");
    expect(&none, "{\"a\":1}", REQ, "");
}

static void read_only(void **state)
{
    (void)state;
    const unsigned resp = ST_SCHEMA_CHECK_REQUIRED | ST_SCHEMA_ALLOW_READONLY;
    /* a request: id may not be sent, and is not required even though it is REQUIRED */
    expect(&post, "{\"title\":\"a\"}", REQ, "");
    expect(&post, "{\"title\":\"a\",\"id\":1}", REQ, "id:read_only");
    expect(&post, "{\"id\":\"not even an int\"}", 0, "id:read_only");
    /* a response: id is required and checked like any field */
    expect(&post, "{\"title\":\"a\"}", resp, "id:required");
    expect(&post, "{\"title\":\"a\",\"id\":1}", resp, "");
    expect(&post, "{\"title\":\"a\",\"id\":\"1\"}", resp, "id:type");
    expect(&post, "{\"id\":1}", ST_SCHEMA_ALLOW_READONLY, "");
}

static void formats(void **state)
{
    (void)state;
    static const char *const good_dt[] = {
        "2026-11-28T20:05:48Z", "2026-11-28t20:05:48z",     "2024-02-29T00:00:00+01:00",
        "1999-12-31T23:59:60Z", "2026-01-01T00:00:00.123Z", "2026-01-01T00:00:00.5-05:30",
    };
    static const char *const bad_dt[] = {
        "2026-11-28",
        "2026-11-28 20:05:48Z",
        "2026-11-28T20:05:48",
        "2026-13-01T00:00:00Z",
        "2026-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-01-01T24:00:00Z",
        "2026-01-01T00:60:00Z",
        "2026-01-01T00:00:61Z",
        "2026-01-01T00:00:00.Z",
        "2026-01-01T00:00:00+0100",
        "2026-01-01T00:00:00+24:00",
        "2026-1-01T00:00:00Z",
        "2026-01-01T00:00:00ZZ",
        "x026-01-01T00:00:00Z",
        "",
        "2026-01-01T00:00:00+01:60",
    };
    static const char *const good_mail[] = { "a@b", "ann.lee+x@example.org", "\xc3\xa9@\xc3\xa9.fr" };
    static const char *const bad_mail[] = { "", "@b", "a@", "ab", "a@b@c", "a b@c", "a@b c", "a\\t@b" };
    char body[256];
    for (size_t i = 0; i < sizeof good_dt / sizeof *good_dt; i++) {
        snprintf(body, sizeof body, "{\"published_at\":\"%s\"}", good_dt[i]);
        expect(&post, body, 0, "");
    }
    for (size_t i = 0; i < sizeof bad_dt / sizeof *bad_dt; i++) {
        snprintf(body, sizeof body, "{\"published_at\":\"%s\"}", bad_dt[i]);
        expect(&post, body, 0, "published_at:format");
    }
    for (size_t i = 0; i < sizeof good_mail / sizeof *good_mail; i++) {
        snprintf(body, sizeof body, "{\"author\":{\"name\":\"a\",\"email\":\"%s\"}}", good_mail[i]);
        expect(&post, body, 0, "");
    }
    for (size_t i = 0; i < sizeof bad_mail / sizeof *bad_mail; i++) {
        snprintf(body, sizeof body, "{\"author\":{\"name\":\"a\",\"email\":\"%s\"}}", bad_mail[i]);
        expect(&post, body, 0, "author.email:format");
    }
    expect(&post, "{\"published_at\":null}", 0, "");
}

static void messages(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s,s:[s]}", "title", "12345678901", "tags", "UP");
    json_t *errors = st_schema_validate(&post, v, 0);
    assert_int_equal(json_array_size(errors), 2);
    json_t *e0 = json_array_get(errors, 0), *e1 = json_array_get(errors, 1);
    assert_string_equal(json_string_value(json_object_get(e0, "message")), "at most 10 characters");
    assert_string_equal(json_string_value(json_object_get(e1, "message")), "must match ^[a-z0-9-]{1,30}$");
    json_decref(errors);
    json_decref(v);
    /* an embedded NUL never matches a pattern */
    v = json_pack("{s:[s%]}", "tags", "ab\0c", (size_t)4);
    errors = st_schema_validate(&post, v, 0);
    char *got = summary(errors);
    assert_string_equal(got, "tags[0]:pattern");
    free(got);
    json_decref(errors);
    json_decref(v);
}

static void bad_pattern_fails_closed(void **state)
{
    (void)state;
    static const struct st_schema_field f[] = {
        { "s", ST_SCHEMA_STRING, 0, .pattern = "^([a-z$" },
        { NULL },
    };
    static const struct st_schema s = { "S", f };
    expect(&s, "{\"s\":\"abc\"}", 0, "s:pattern");
    expect(&s, "{\"s\":\"abc\"}", 0, "s:pattern"); /* from the cache this time */
}

static void openapi(void **state)
{
    (void)state;
    json_t *got = st_schema_to_json(&post);
    assert_non_null(got);
    json_error_t jerr;
    json_t *author_json = json_loads("{\"type\":\"object\",\"properties\":{"
                                     "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":5},"
                                     "\"email\":{\"type\":\"string\",\"format\":\"email\"}},"
                                     "\"required\":[\"name\"],\"additionalProperties\":false}",
                                     0, &jerr);
    assert_non_null(author_json);
    json_t *want = json_loads("{\"type\":\"object\",\"description\":\"A post\",\"additionalProperties\":false,"
                              "\"required\":[\"id\",\"title\"],\"properties\":{"
                              "\"id\":{\"type\":\"integer\",\"readOnly\":true},"
                              "\"title\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":10},"
                              "\"status\":{\"type\":\"string\",\"enum\":[\"draft\",\"published\"]},"
                              "\"tags\":{\"type\":\"array\",\"maxItems\":3,\"items\":{\"type\":\"string\",\"pattern\":"
                              "\"^[a-z0-9-]{1,30}$\"}},"
                              "\"rating\":{\"type\":[\"integer\",\"null\"],\"minimum\":0,\"maximum\":5},"
                              "\"score\":{\"type\":\"number\"},"
                              "\"pinned\":{\"type\":\"boolean\"},"
                              "\"published_at\":{\"type\":[\"string\",\"null\"],\"format\":\"date-time\"},"
                              "\"author\":null,"
                              "\"items\":{\"type\":\"array\",\"minItems\":1,\"items\":null}}}",
                              0, &jerr);
    if (!want)
        fail_msg("bad literal: %s", jerr.text);
    json_t *props = json_object_get(want, "properties");
    json_object_set(props, "author", author_json);
    json_object_set(json_object_get(props, "items"), "items", author_json);
    json_decref(author_json);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
        fail_msg("got  %s\nwant %s", g, w);
    }
    json_decref(got);
    json_decref(want);
}

static void openapi_field(void **state)
{
    (void)state;
    json_t *got = st_schema_field_to_json(&nullable_enum);
    json_t *want = json_pack("{s:[ss],s:i,s:i,s:[sn],s:b,s:s}", "type", "string", "null", "minLength", 0, "maxLength",
                             0, "enum", "", "readOnly", 1, "description", "empty or null");
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    /* an object field: the nested schema inline, the field's description over the schema's */
    got = st_schema_field_to_json(&of);
    want = json_pack("{s:s,s:{},s:s}", "type", "object", "properties", "description", "field");
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
}

/* Several threads validating with patterns at once (the cache is shared); ASan/TSan food. */
static void *validate_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 300; i++) {
        json_t *v = json_pack("{s:[ss]}", "tags", "ok", i % 2 ? "BAD" : "good");
        json_t *errors = st_schema_validate(&post, v, 0);
        if ((i % 2 == 1) != (errors != NULL))
            return (void *)1;
        json_decref(errors);
        json_decref(v);
    }
    return NULL;
}

static void threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, validate_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        assert_null(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_bodies),
        cmocka_unit_test(every_code),
        cmocka_unit_test(integers_are_strict),
        cmocka_unit_test(reports_everything),
        cmocka_unit_test(nesting),
        cmocka_unit_test(closed_and_open),
        cmocka_unit_test(read_only),
        cmocka_unit_test(formats),
        cmocka_unit_test(messages),
        cmocka_unit_test(bad_pattern_fails_closed),
        cmocka_unit_test(openapi),
        cmocka_unit_test(openapi_field),
        cmocka_unit_test(threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
