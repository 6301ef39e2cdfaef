/*
 * schema.h - request/response schemas declared once in C: they validate JSON bodies
 * (every bad field reported, RFC 9457 style) and generate the JSON Schema objects of an
 * OpenAPI 3.1 document, so validation and documentation cannot drift apart.
 *
 *   static const struct st_schema_field post_fields[] = {
 *       { "title", ST_SCHEMA_STRING, ST_SCHEMA_REQUIRED, .min = 1, .max = 200 },
 *       { "status", ST_SCHEMA_STRING, 0, .enums = (const char *[]){ "draft", "published", NULL } },
 *       { "tags", ST_SCHEMA_ARRAY, 0, .max = 10, .item = &tag_item },
 *       { NULL },
 *   };
 *   static const struct st_schema post_create = { "PostCreate", post_fields, .closed = true };
 *
 *   json_t *errors = st_schema_validate(&post_create, body, ST_SCHEMA_CHECK_REQUIRED);
 *   if (errors) -> 422 with {"errors": errors}
 *
 * A schema is static const data; nothing here allocates except the returned JSON.
 */
#ifndef ST_HTTP_SCHEMA_H
#define ST_HTTP_SCHEMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum st_schema_type {
    ST_SCHEMA_STRING = 1,
    ST_SCHEMA_INTEGER, /* a JSON integer (not 1.0, not "1") within [min, max] when bounded */
    ST_SCHEMA_NUMBER,
    ST_SCHEMA_BOOLEAN,
    ST_SCHEMA_ARRAY,  /* items: .item; min/max bound the number of items */
    ST_SCHEMA_OBJECT, /* members: .object (a nested schema) */
};

enum {
    ST_SCHEMA_REQUIRED = 1u, /* must be present (when validating with ST_SCHEMA_CHECK_REQUIRED) */
    ST_SCHEMA_NULLABLE = 2u, /* null is allowed */
    ST_SCHEMA_READONLY = 4u, /* appears in responses only; present in a request: error read_only */
    ST_SCHEMA_BOUNDED = 8u,  /* min/max apply (strings: length in code points; integers: value) */
};

struct st_schema;

struct st_schema_field {
    const char *name; /* NULL ends a field list */
    enum st_schema_type type;
    unsigned flags;
    long long min, max;                 /* with ST_SCHEMA_BOUNDED (arrays: item count) */
    const char *pattern;                /* strings: POSIX extended regex, anchored by the writer; NULL none */
    const char *const *enums;           /* strings: allowed values, NULL-terminated; NULL: any */
    const char *format;                 /* OpenAPI format: "email", "date-time", "int64"...; "email"
                                         * and "date-time" are also checked */
    const struct st_schema_field *item; /* arrays: the item's type (its name is ignored) */
    const struct st_schema *object;     /* objects: nested schema */
    const char *description;            /* for the OpenAPI document */
};

struct st_schema {
    const char *name; /* the component name in OpenAPI ("PostCreate") */
    const struct st_schema_field *fields;
    bool closed; /* unknown members are errors (code unknown_field) */
    const char *description;
};

enum {
    ST_SCHEMA_CHECK_REQUIRED = 1u, /* creation / PUT: required fields must be present */
    ST_SCHEMA_ALLOW_READONLY = 2u, /* validating a response: read-only members are fine */
};

/*
 * Validate v against s. NULL when valid; otherwise a new JSON array of every problem found
 * (not just the first), each {"field": PATH, "code": CODE, "message": TEXT} with PATH like
 * "title", "tags[2]", "author.name" and CODE one of: not_object (v itself, field ""),
 * required, type, too_short, too_long, too_small, too_large, too_few, too_many, pattern,
 * enum, format, unknown_field, read_only, null. Messages are short English ("at most 200
 * characters"). The caller decrefs the array.
 */
json_t *st_schema_validate(const struct st_schema *s, const json_t *v, unsigned flags);

/* The JSON Schema (OpenAPI 3.1 dialect) object for s: type, properties, required,
 * additionalProperties:false when closed, minLength/maxLength, minimum/maximum,
 * minItems/maxItems, pattern, enum, format, readOnly, description; nested schemas inline.
 * A new reference, or NULL on allocation failure. */
json_t *st_schema_to_json(const struct st_schema *s);

/* The JSON Schema of one field (what st_schema_to_json uses per property). */
json_t *st_schema_field_to_json(const struct st_schema_field *f);

#endif
