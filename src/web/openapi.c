/*
 * openapi.c - the OpenAPI 3.1 document of /api/v1, built with jansson once at startup and
 * kept as compact JSON in static storage (openapi.h).
 *
 * Built in code rather than kept as a string literal so that the repeated parts (the id
 * parameter, the problem responses, the list envelope) are written once, and so that the
 * document is valid JSON by construction. tests/web/test_openapi.c checks that every
 * /api/v1 route registered by web_api.c and web_grade.c is described here, and that
 * nothing described here is missing from the routes.
 */
#include "web/openapi.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "curriculum/curriculum.h"
#include "lab/store.h"

/* Room for the document; it is about 40 KiB, and st_lab_openapi_build fails loudly (and
 * the tests with it) if it ever outgrows this. */
#define DOC_MAX (256 * 1024)

static char doc[DOC_MAX];
static size_t doc_len;
static char etag[40];
static bool built;

/* The key and value at an object iterator (json_object_foreach without the macro, which
 * cppcheck cannot follow). */
static void k_v(void *it, const char **k, json_t **v)
{
    *k = json_object_iter_key(it);
    *v = json_object_iter_value(it);
}

/* ---- small builders (every json_t * argument is taken) ---- */

static json_t *ref(const char *kind, const char *name)
{
    char r[128];
    snprintf(r, sizeof r, "#/components/%s/%s", kind, name);
    return json_pack("{s:s}", "$ref", r);
}

static json_t *schema(const char *name)
{
    return ref("schemas", name);
}

static json_t *content(const char *media, json_t *sch)
{
    return json_pack("{s:{s:o}}", media, "schema", sch);
}

/* A response with a JSON body. */
static json_t *ok(const char *desc, json_t *sch)
{
    return json_pack("{s:s,s:o}", "description", desc, "content", content("application/json", sch));
}

static json_t *no_content(const char *desc)
{
    return json_pack("{s:s}", "description", desc);
}

static json_t *problem(const char *name)
{
    return ref("responses", name);
}

static json_t *body(const char *desc, json_t *sch)
{
    return json_pack("{s:s,s:b,s:o}", "description", desc, "required", 1, "content", content("application/json", sch));
}

static json_t *query(const char *name, const char *desc, json_t *sch)
{
    return json_pack("{s:s,s:s,s:s,s:b,s:o}", "name", name, "in", "query", "description", desc, "required", 0, "schema",
                     sch);
}

static json_t *int_range(int min, int max, int def)
{
    json_t *s = json_pack("{s:s,s:i,s:i}", "type", "integer", "minimum", min, "maximum", max);
    if (s && def)
        json_object_set_new(s, "default", json_integer(def));
    return s;
}

static json_t *enum_of(const char *const *v, size_t n)
{
    json_t *e = json_array();
    for (size_t i = 0; e && i < n; i++)
        json_array_append_new(e, json_string(v[i]));
    return json_pack("{s:s,s:o}", "type", "string", "enum", e);
}

static json_t *str(void)
{
    return json_pack("{s:s}", "type", "string");
}
static json_t *str_null(void)
{
    return json_pack("{s:[s,s]}", "type", "string", "null");
}
static json_t *integer(void)
{
    return json_pack("{s:s}", "type", "integer");
}
static json_t *time_null(void)
{
    return json_pack("{s:[s,s],s:s}", "type", "string", "null", "format", "date-time");
}
static json_t *array_of(json_t *items)
{
    return json_pack("{s:s,s:o}", "type", "array", "items", items);
}

/* An object schema: properties (taken) and every property required unless listed in
 * optional (NULL-terminated, may be NULL). */
static json_t *object(json_t *props, const char *const *optional)
{
    json_t *req = json_array();
    const char *k;
    json_t *v;
    for (void *it_k = json_object_iter(props); it_k && (k_v(it_k, &k, &v), 1);
         it_k = json_object_iter_next(props, it_k)) {
        bool opt = false;
        for (size_t i = 0; optional && optional[i]; i++)
            opt |= !strcmp(optional[i], k);
        if (!opt)
            json_array_append_new(req, json_string(k));
    }
    return json_pack("{s:s,s:o,s:o}", "type", "object", "properties", props, "required", req);
}

/* links: an object of URL strings (names NULL-terminated); nullable ones listed in nulls. */
static json_t *links(const char *const *names, const char *const *nulls)
{
    json_t *p = json_object();
    for (size_t i = 0; p && names[i]; i++)
        json_object_set_new(p, names[i], str());
    for (size_t i = 0; p && nulls && nulls[i]; i++)
        json_object_set_new(p, nulls[i], str_null());
    return object(p, NULL);
}

/* resp[status] = the shared problem response name, unless the operation has its own. */
static void set_default(json_t *resp, const char *status, const char *name)
{
    if (!json_object_get(resp, status))
        json_object_set_new(resp, status, problem(name));
}

/*
 * An operation: tag, operationId, summary, parameters (array or NULL), request body
 * (or NULL), responses (object). The usual problem responses are added: 500 everywhere,
 * 404 when the path has an {id}, 415/400/422 with a request body, 422 with query
 * parameters.
 */
static json_t *op(const char *tag, const char *id, const char *summary, json_t *params, json_t *req, json_t *resp,
                  bool has_id)
{
    json_t *o = json_pack("{s:[s],s:s,s:s,s:o}", "tags", tag, "operationId", id, "summary", summary, "responses", resp);
    if (!o) {
        json_decref(params);
        json_decref(req);
        return NULL;
    }
    if (params)
        json_object_set_new(o, "parameters", params);
    if (req) {
        json_object_set_new(o, "requestBody", req);
        set_default(resp, "400", "BadJson");
        set_default(resp, "415", "UnsupportedMediaType");
        set_default(resp, "422", "Unprocessable");
        set_default(resp, "503", "Busy");
    }
    if (params && json_array_size(params) > (has_id ? 1u : 0u))
        set_default(resp, "422", "Unprocessable");
    if (has_id)
        set_default(resp, "404", "NotFound");
    set_default(resp, "500", "Internal");
    return o;
}

static json_t *params1(json_t *p)
{
    return json_pack("[o]", p);
}

/* ---- components ---- */

static const char *const statuses[] = { "todo", "doing", "done", "review" };
static const char *const kinds[] = { "conceptual", "practical" };
static const char *const sorts[] = { "id", "-id", "module", "status" };
static const char *const states[] = { "running", "passed", "failed", "error" };

static json_t *schema_counts(void)
{
    return object(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "questions", integer(), "todo", integer(), "doing",
                            integer(), "done", integer(), "review", integer(), "completed", integer(), "percent",
                            json_pack("{s:s,s:s}", "type", "number", "description",
                                      "completed (done + review) / questions, in percent, one decimal")),
                  NULL);
}

static json_t *schema_summary(void)
{
    static const char *const l[] = { "self", "html", NULL };
    static const char *const opt[] = { "rank", "snippet", NULL };
    return object(
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", int_range(1, ST_CUR_QUESTIONS, 0),
                  "module", int_range(1, ST_CUR_MODULES, 0), "level", int_range(1, ST_CUR_LEVELS, 0), "kind",
                  enum_of(kinds, 2), "text", str(), "tags", array_of(str()), "status", schema("Status"), "has_answer",
                  json_pack("{s:s}", "type", "boolean"), "grader", str_null(), "links", links(l, NULL), "rank",
                  json_pack("{s:s,s:s}", "type", "number", "description", "search only: BM25 rank, lower is better"),
                  "snippet",
                  json_pack("{s:s,s:s}", "type", "string", "description",
                            "search only: safe HTML, the matches in <mark> elements")),
        opt);
}

static json_t *schema_question(void)
{
    static const char *const l[] = { "self", "html", "status", "note", "review", "attempts", "module", NULL };
    json_t *props = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
        int_range(1, ST_CUR_QUESTIONS, 0), "module", int_range(1, ST_CUR_MODULES, 0), "module_name", str(), "level",
        int_range(1, ST_CUR_LEVELS, 0), "level_name", str(), "kind", enum_of(kinds, 2), "text", str(), "tags",
        array_of(str()), "status", schema("Status"), "has_answer", json_pack("{s:s}", "type", "boolean"), "answer",
        json_pack("{s:[s,s],s:s}", "type", "string", "null", "description", "CommonMark"), "solutions",
        json_pack("{s:s,s:o,s:s}", "type", "array", "items", str(), "description",
                  "paths of the reference implementation in the repository"),
        "demo", json_pack("{s:[s,s],s:s}", "type", "string", "null", "description", "a command that runs the solution"),
        "grader", str_null(), "checks",
        json_pack("{s:[s,s],s:s}", "type", "string", "null", "description",
                  "what the grader checks, a CommonMark bullet list"),
        "source", str_null(), "grade_command", str_null(), "note",
        json_pack("{s:[o,{s:s}]}", "oneOf", schema("Note"), "type", "null"), "review",
        json_pack("{s:[o,{s:s}],s:s}", "oneOf", schema("Review"), "type", "null", "description",
                  "the spaced-repetition card; null if never reviewed"),
        "links", links(l, NULL));
    return object(props, NULL);
}

static json_t *schema_page(void)
{
    static const char *const l[] = { "self", NULL };
    static const char *const ln[] = { "next", "prev", NULL };
    static const char *const opt[] = { "q", NULL };
    return object(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "items", array_of(schema("QuestionSummary")), "page",
                            int_range(1, 1000000, 0), "per_page", int_range(1, 100, 0), "total", integer(), "q",
                            str_null(), "links", links(l, ln)),
                  opt);
}

static json_t *schema_level(void)
{
    static const char *const l[] = { "self", "questions", "html", NULL };
    return object(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", int_range(1, ST_CUR_LEVELS, 0), "name",
                            str(), "focus", str_null(), "goal", str_null(), "time", str_null(), "modules",
                            array_of(integer()), "progress", schema("Counts"), "coverage", schema("Coverage"), "links",
                            links(l, NULL)),
                  NULL);
}

static json_t *schema_module(void)
{
    static const char *const l[] = { "self", "questions", "html", NULL };
    static const char *const opt[] = { "questions", NULL };
    return object(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", int_range(1, ST_CUR_MODULES, 0), "level",
                            int_range(1, ST_CUR_LEVELS, 0), "name", str(), "slug", str(), "progress", schema("Counts"),
                            "coverage", schema("Coverage"), "links", links(l, NULL), "questions",
                            json_pack("{s:s,s:o,s:s}", "type", "array", "items", schema("QuestionSummary"),
                                      "description", "GET /api/v1/modules/{id} only")),
                  opt);
}

static json_t *schema_progress(void)
{
    json_t *lv = json_pack("{s:[o,o]}", "allOf", schema("Counts"),
                           object(json_pack("{s:o,s:o}", "id", integer(), "name", str()), NULL));
    json_t *md =
        json_pack("{s:[o,o]}", "allOf", schema("Counts"),
                  object(json_pack("{s:o,s:o,s:o}", "id", integer(), "level", integer(), "name", str()), NULL));
    return object(
        json_pack("{s:o,s:o,s:o}", "total", schema("Counts"), "levels", array_of(lv), "modules", array_of(md)), NULL);
}

static json_t *schema_note(void)
{
    static const char *const l[] = { "self", "question", NULL };
    char d[96];
    snprintf(d, sizeof d, "plain text (never rendered as HTML), at most %d bytes of UTF-8", ST_LAB_NOTE_MAX);
    return object(json_pack("{s:o,s:o,s:o,s:o}", "question", integer(), "text",
                            json_pack("{s:s,s:s}", "type", "string", "description", d), "updated_at", time_null(),
                            "links", links(l, NULL)),
                  NULL);
}

static json_t *schema_review(void)
{
    return object(
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "question", integer(), "repetitions", integer(), "ease",
                  json_pack("{s:s,s:f,s:s}", "type", "number", "minimum", 1.3, "description", "SM-2 easiness factor"),
                  "interval_days", integer(), "due_at", time_null(), "last_reviewed_at", time_null(), "last_grade",
                  json_pack("{s:[s,s],s:i,s:i}", "type", "integer", "null", "minimum", 0, "maximum", 5)),
        NULL);
}

static json_t *schema_due(void)
{
    static const char *const l[] = { "review", "html", NULL };
    json_t *item =
        object(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "question", integer(), "module", integer(), "level", integer(),
                         "text", str(), "card", json_pack("{s:[o,{s:s}]}", "oneOf", schema("Review"), "type", "null"),
                         "links", links(l, NULL)),
               NULL);
    return object(json_pack("{s:o,s:o,s:o}", "items", array_of(item), "total", integer(), "now", time_null()), NULL);
}

static json_t *schema_activity(void)
{
    static const char *const l[] = { "question", NULL };
    return object(
        json_pack("{s:o,s:o,s:o,s:o,s:o}", "at", time_null(), "question", integer(), "what",
                  json_pack("{s:s,s:[s,s,s,s]}", "type", "string", "enum", "status", "note", "review", "attempt"),
                  "detail", str(), "links", links(l, NULL)),
        NULL);
}

static json_t *schema_attempt(void)
{
    static const char *const l[] = { "self", "events", "html", "question", NULL };
    static const char *const opt[] = { "log", "checks", NULL };
    json_t *checks =
        object(json_pack("{s:o,s:o,s:o}", "passed", integer(), "failed", integer(), "total", integer()), NULL);
    json_object_set_new(checks, "description", json_string("GET /api/v1/attempts/{aid} only"));
    return object(json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id", integer(), "question",
                            integer(), "grader", str(), "target",
                            json_pack("{s:s,s:s}", "type", "string", "description",
                                      "the address entered, e.g. http://127.0.0.1:8081"),
                            "seed", integer(), "state", enum_of(states, 4), "passed", integer(), "total", integer(),
                            "started_at", time_null(), "finished_at", time_null(), "log",
                            json_pack("{s:s,s:s}", "type", "string", "description",
                                      "the grader's report; GET /api/v1/attempts/{aid} only"),
                            "checks", checks, "links", links(l, NULL)),
                  opt);
}

static json_t *schema_problem(void)
{
    static const char *const opt[] = { "detail", "instance", "errors", "line", "column", "position", NULL };
    json_t *err = object(json_pack("{s:o,s:o}", "field", str(), "message", str()), NULL);
    return object(
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "type", str(), "title", str(), "status", integer(),
                  "detail", str(), "instance", str(), "code",
                  json_pack("{s:s,s:s}", "type", "string", "description",
                            "stable, machine-readable: question_not_found, note_not_found, invalid_json, "
                            "unsupported_media_type, invalid_parameter, invalid_status, invalid_note, note_too_long, "
                            "invalid_grade, not_reviewable, invalid_export, invalid_body, busy, internal, ..."),
                  "errors",
                  json_pack("{s:s,s:o,s:s}", "type", "array", "items", err, "description", "422: what is wrong"),
                  "line", integer(), "column", integer(), "position", integer()),
        opt);
}

static json_t *problem_response(const char *desc)
{
    return json_pack("{s:s,s:o}", "description", desc, "content",
                     content("application/problem+json", schema("Problem")));
}

static json_t *components(void)
{
    json_t *schemas = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "Status", enum_of(statuses, 4),
        "Counts", schema_counts(), "Coverage",
        object(json_pack("{s:o,s:o,s:o,s:o}", "questions", integer(), "answered", integer(), "solved", integer(),
                         "graded", integer()),
               NULL),
        "QuestionSummary", schema_summary(), "Question", schema_question(), "Page", schema_page(), "Level",
        schema_level(), "Module", schema_module(), "Progress", schema_progress(), "Note", schema_note(), "Review",
        schema_review(), "ReviewsDue", schema_due(), "Activity", schema_activity(), "Attempt", schema_attempt(),
        "StatusChange",
        object(json_pack("{s:o,s:o,s:o}", "question", integer(), "status", schema("Status"), "links",
                         json_pack("{s:s,s:o}", "type", "object", "additionalProperties", str())),
               NULL),
        "Export",
        json_pack("{s:s,s:s,s:{s:o,s:o},s:[s,s]}", "type", "object", "description",
                  "everything the learner owns: statuses and their history, notes, review cards, attempts "
                  "(format \"strata-lab\" v1; \"strata-progress\" v1 files of `strata progress export` are "
                  "accepted by the import too)",
                  "properties", "format", enum_of((const char *const[]){ "strata-lab", "strata-progress" }, 2),
                  "version", integer(), "required", "format", "version"),
        "Problem", schema_problem(), "Index",
        json_pack(
            "{s:s,s:o}", "type", "object", "properties",
            json_pack("{s:o,s:{s:s,s:o}}", "name", str(), "links", "type", "object", "additionalProperties", str())));
    json_t *responses = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:o}", "BadJson", problem_response("the body is not JSON (line, column, position)"),
        "UnsupportedMediaType", problem_response("the body must be application/json"), "NotFound",
        problem_response("no such question, note, level, module or attempt"), "Unprocessable",
        problem_response("a value is out of range or of the wrong type (errors lists the fields)"), "Busy",
        problem_response("too many writes waiting, or shutting down: retry (Retry-After)"), "Internal",
        problem_response("the database failed; the server log says why"));
    json_t *parameters = json_pack(
        "{s:{s:s,s:s,s:b,s:s,s:o},s:{s:s,s:s,s:b,s:s,s:o},s:{s:s,s:s,s:b,s:s,s:o}}", "QuestionId", "name", "id", "in",
        "path", "required", 1, "description", "question id", "schema", int_range(1, ST_CUR_QUESTIONS, 0), "AttemptId",
        "name", "aid", "in", "path", "required", 1, "description", "attempt id", "schema", integer(), "IdPath", "name",
        "id", "in", "path", "required", 1, "description", "level or module id", "schema", integer());
    return json_pack("{s:o,s:o,s:o}", "schemas", schemas, "responses", responses, "parameters", parameters);
}

/* ---- paths ---- */

static json_t *list_params(void)
{
    return json_pack(
        "[o,o,o,o,o,o,o,o]", query("page", "page number, from 1", int_range(1, 1000000, 1)),
        query("per_page", "items per page", int_range(1, 100, 20)),
        query("level", "only this level", int_range(1, ST_CUR_LEVELS, 0)),
        query("module", "only this module", int_range(1, ST_CUR_MODULES, 0)),
        query("kind", "only this kind", enum_of(kinds, 2)),
        query("status", "only questions with this status", enum_of(statuses, 4)),
        query("sort",
              "id (default), -id, module (by module name, then id), status (todo, doing, done, review, then "
              "id); ignored with q",
              enum_of(sorts, 4)),
        query("q", "ranked full-text search over text, answer, checks, tags and module name; results best first",
              str()));
}

static json_t *paths(void)
{
    json_t *p = json_object();
    json_t *id = ref("parameters", "QuestionId");
    json_t *aid = ref("parameters", "AttemptId");
#define SET(path, v) json_object_set_new(p, path, v)
    SET("/api/v1", json_pack("{s:o}", "get",
                             op("meta", "index", "links to every collection", NULL, NULL,
                                json_pack("{s:o}", "200", ok("links", schema("Index"))), false)));
    SET("/api/v1/openapi.json",
        json_pack("{s:o}", "get",
                  op("meta", "openapi", "this document (OpenAPI 3.1); ETag and If-None-Match", NULL, NULL,
                     json_pack("{s:o,s:o}", "200", ok("the document", json_pack("{s:s}", "type", "object")), "304",
                               no_content("not modified")),
                     false)));
    SET("/api/v1/questions",
        json_pack("{s:o}", "get",
                  op("questions", "listQuestions", "the questions, paginated, filtered, sorted or searched (q)",
                     list_params(), NULL, json_pack("{s:o}", "200", ok("a page of questions", schema("Page"))),
                     false)));
    SET("/api/v1/questions/{id}",
        json_pack("{s:o}", "get",
                  op("questions", "getQuestion",
                     "one question: answer, solutions, demo, grader and checks, status, note, review card",
                     params1(json_incref(id)), NULL, json_pack("{s:o}", "200", ok("the question", schema("Question"))),
                     true)));
    SET("/api/v1/questions/{id}/status",
        json_pack("{s:o,s:o}", "get",
                  op("progress", "getStatus", "the learner's status of a question", params1(json_incref(id)), NULL,
                     json_pack("{s:o}", "200", ok("the status", schema("StatusChange"))), true),
                  "put",
                  op("progress", "setStatus", "set the status (durable when answered)", params1(json_incref(id)),
                     body("the new status", object(json_pack("{s:o}", "status", schema("Status")), NULL)),
                     json_pack("{s:o}", "200", ok("the new status", schema("StatusChange"))), true)));
    SET("/api/v1/questions/{id}/note",
        json_pack("{s:o,s:o,s:o}", "get",
                  op("notes", "getNote", "the learner's note on a question (404 if none)", params1(json_incref(id)),
                     NULL, json_pack("{s:o}", "200", ok("the note", schema("Note"))), true),
                  "put",
                  op("notes", "putNote", "write the note; an empty text deletes it (204)", params1(json_incref(id)),
                     body("the text",
                          object(json_pack("{s:o}", "text",
                                           json_pack("{s:s,s:i}", "type", "string", "maxLength", ST_LAB_NOTE_MAX)),
                                 NULL)),
                     json_pack("{s:o,s:o}", "200", ok("the note as stored", schema("Note")), "204",
                               no_content("deleted (empty text)")),
                     true),
                  "delete",
                  op("notes", "deleteNote", "delete the note (idempotent)", params1(json_incref(id)), NULL,
                     json_pack("{s:o,s:o}", "204", no_content("deleted"), "503", problem("Busy")), true)));
    SET("/api/v1/questions/{id}/review",
        json_pack("{s:o}", "post",
                  op("reviews", "reviewQuestion",
                     "grade your recall of a conceptual question (SM-2): 5 perfect .. 0 blackout; the new card",
                     params1(json_incref(id)),
                     body("the grade", object(json_pack("{s:o}", "grade", int_range(0, 5, 0)), NULL)),
                     json_pack("{s:o}", "200", ok("the new card", schema("Review"))), true)));
    SET("/api/v1/questions/{id}/attempts",
        json_pack(
            "{s:o}", "post",
            op("attempts", "startAttempt",
               "grade your implementation running at target: a background job; follow Location or the "
               "events stream",
               params1(json_incref(id)),
               body("where your server runs", object(json_pack("{s:o}", "target",
                                                               json_pack("{s:s,s:s,s:[s]}", "type", "string", "format",
                                                                         "uri", "examples", "http://127.0.0.1:8081")),
                                                     NULL)),
               json_pack("{s:{s:s,s:{s:{s:s,s:o}},s:o},s:o,s:o,s:o}", "202", "description", "started", "headers",
                         "Location", "description", "/api/v1/attempts/{aid}", "schema", str(), "content",
                         content("application/json", schema("Attempt")), "403",
                         problem_response("a browser request from another origin (Origin header)"), "429",
                         problem_response("too many attempts running or waiting; retry later"), "503",
                         problem_response("the grading jobs could not start, or the server is shutting down")),
               true)));
    SET("/api/v1/levels",
        json_pack("{s:o}", "get",
                  op("curriculum", "listLevels", "the five levels with progress and coverage", NULL, NULL,
                     json_pack("{s:o}", "200",
                               ok("the levels", object(json_pack("{s:o}", "items", array_of(schema("Level"))), NULL))),
                     false)));
    SET("/api/v1/levels/{id}", json_pack("{s:o}", "get",
                                         op("curriculum", "getLevel", "one level", params1(ref("parameters", "IdPath")),
                                            NULL, json_pack("{s:o}", "200", ok("the level", schema("Level"))), true)));
    SET("/api/v1/modules",
        json_pack(
            "{s:o}", "get",
            op("curriculum", "listModules", "the 25 modules with progress and coverage",
               params1(query("level", "only this level's modules", int_range(1, ST_CUR_LEVELS, 0))), NULL,
               json_pack("{s:o}", "200",
                         ok("the modules", object(json_pack("{s:o}", "items", array_of(schema("Module"))), NULL))),
               false)));
    SET("/api/v1/modules/{id}",
        json_pack("{s:o}", "get",
                  op("curriculum", "getModule", "one module with its questions", params1(ref("parameters", "IdPath")),
                     NULL, json_pack("{s:o}", "200", ok("the module", schema("Module"))), true)));
    SET("/api/v1/progress",
        json_pack("{s:o}", "get",
                  op("progress", "getProgress", "status counts in total, per level and per module", NULL, NULL,
                     json_pack("{s:o}", "200", ok("the counts", schema("Progress"))), false)));
    SET("/api/v1/notes",
        json_pack("{s:o}", "get",
                  op("notes", "listNotes", "every note, by question", NULL, NULL,
                     json_pack("{s:o}", "200",
                               ok("the notes",
                                  object(json_pack("{s:o,s:o}", "items", array_of(schema("Note")), "total", integer()),
                                         NULL))),
                     false)));
    SET("/api/v1/reviews/due",
        json_pack("{s:o}", "get",
                  op("reviews", "reviewsDue",
                     "conceptual questions due for review now (cards whose time has come, then questions marked "
                     "done or review never reviewed)",
                     NULL, NULL, json_pack("{s:o}", "200", ok("the due cards", schema("ReviewsDue"))), false)));
    SET("/api/v1/activity",
        json_pack(
            "{s:o}", "get",
            op("progress", "activity", "recent activity, newest first",
               params1(query("limit", "most items", int_range(1, 200, 50))), NULL,
               json_pack("{s:o}", "200",
                         ok("the activity", object(json_pack("{s:o}", "items", array_of(schema("Activity"))), NULL))),
               false)));
    SET("/api/v1/export",
        json_pack("{s:o}", "get",
                  op("data", "export", "everything the learner owns, as a download (Content-Disposition)", NULL, NULL,
                     json_pack("{s:o}", "200", ok("the export", schema("Export"))), false)));
    SET("/api/v1/import",
        json_pack("{s:o}", "post",
                  op("data", "import",
                     "merge an export (validated completely, then applied in one transaction; newer wins per row)",
                     NULL, body("an export", schema("Export")),
                     json_pack("{s:o}", "200",
                               ok("how many rows were taken", object(json_pack("{s:o}", "applied", integer()), NULL))),
                     false)));
    SET("/api/v1/attempts",
        json_pack("{s:o}", "get",
                  op("attempts", "listAttempts", "grading attempts, newest first",
                     json_pack("[o,o]", query("question", "only this question's", int_range(1, ST_CUR_QUESTIONS, 0)),
                               query("limit", "most items", int_range(1, 200, 50))),
                     NULL,
                     json_pack("{s:o}", "200",
                               ok("the attempts", object(json_pack("{s:o,s:o}", "attempts", array_of(schema("Attempt")),
                                                                   "count", integer()),
                                                         NULL))),
                     false)));
    SET("/api/v1/attempts/{aid}",
        json_pack("{s:o}", "get",
                  op("attempts", "getAttempt", "one attempt with its log", params1(json_incref(aid)), NULL,
                     json_pack("{s:o}", "200", ok("the attempt", schema("Attempt"))), true)));
    SET("/api/v1/attempts/{aid}/events",
        json_pack("{s:o}", "get",
                  op("attempts", "attemptEvents",
                     "the attempt's log as Server-Sent Events: \"log\" events carry lines, a final \"done\" event "
                     "the attempt as JSON",
                     params1(json_incref(aid)), NULL,
                     json_pack("{s:{s:s,s:{s:{s:{s:s}}}}}", "200", "description", "an event stream", "content",
                               "text/event-stream", "schema", "type", "string"),
                     true)));
#undef SET
    json_decref(id);
    json_decref(aid);
    return p;
}

static json_t *document(void)
{
    return json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},"
        "{s:s,s:s}],s:o,s:o}",
        "openapi", "3.1.0", "info", "title", "strata lab API", "version", "1", "description",
        "The lab of the 500-question backend bank: questions, progress, notes, spaced-repetition reviews, grading "
        "attempts, export and import. JSON in and out; every error is RFC 9457 problem+json with a stable `code`.",
        "servers", "url", "/", "tags", "name", "meta", "description", "the API itself", "name", "questions",
        "description", "the bank", "name", "curriculum", "description", "levels and modules", "name", "progress",
        "description", "statuses and activity", "name", "notes", "description", "the learner's notes", "name",
        "reviews", "description", "spaced repetition (SM-2)", "name", "attempts", "description",
        "grading your implementation", "name", "data", "description", "export and import", "paths", paths(),
        "components", components());
}

int st_lab_openapi_build(void)
{
    if (built)
        return 0;
    json_t *d = document();
    if (!d)
        return -ENOMEM;
    size_t n = json_dumpb(d, doc, sizeof doc - 1, JSON_COMPACT);
    json_decref(d);
    if (n == 0)
        return -ENOMEM;
    if (n >= sizeof doc - 1)
        return ST_ELIMIT;
    doc[n] = '\0';
    doc_len = n;
    /* FNV-1a: the same document gives the same ETag in every process (the keyed hash of
     * base/hash.h would change at every restart and defeat the caches). */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)doc[i]) * 1099511628211ull;
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)h);
    built = true;
    return 0;
}

struct st_str st_lab_openapi(void)
{
    return built ? st_str(doc, doc_len) : st_str(NULL, 0);
}

const char *st_lab_openapi_etag(void)
{
    return built ? etag : "";
}
