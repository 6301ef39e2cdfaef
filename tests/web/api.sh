#!/usr/bin/env bash
# api.sh - the JSON API of `strata serve` (/api/v1) black-box: every endpoint and its
# errors (404, 400, 415, 422, 405, all problem+json with a stable code), pagination links,
# filters, sorting, ranked search, the status shared with `strata progress` both ways,
# notes, reviews, activity, and export then import into a fresh data directory giving the
# same export.
set -u
. "$SRCROOT/tests/lib/tap.sh"
# The interpreter itself, not a version manager's shim in front of it: started many times.
py=$(python3 -c 'import sys; print(sys.executable)')
S=$STRATA
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# start DIR: start a server on DIR, set $base (http://127.0.0.1:PORT) and $srv (its pid).
start() {
    local out=$work/serve.$RANDOM
    "$S" serve --listen 127.0.0.1:0 --data "$1" >"$out" 2>>"$work/serve.err" &
    srv=$!
    pids+=("$srv")
    base=
    for _ in $(seq 1 200); do
        base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$out")
        [ -n "$base" ] && return 0
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.05
    done
    echo "# server did not start: $(cat "$out" "$work/serve.err")"
    return 1
}

# stop PID NAME: SIGTERM, wait; passes when it exits 0 (clean drain, no leak under ASan).
stop() {
    local st
    kill -TERM "$1"
    wait "$1"
    st=$?
    if [ "$st" = 0 ]; then tap_result 1 "$2"; else tap_result 0 "$2" "exit status $st"; fi
}

# call METHOD PATH [BODY [CONTENT-TYPE]]: the response in $work/body, $work/hdrs, $code.
call() {
    local m=$1 p=$2
    if [ $# -ge 3 ]; then
        code=$(curl -s -o "$work/body" -D "$work/hdrs" -w '%{http_code}' -X "$m" \
            -H "Content-Type: ${4:-application/json}" --data-binary "$3" "$base$p")
    elif [ "$m" = HEAD ]; then # curl -I reads no body: an empty body file
        : >"$work/body"
        code=$(curl -s -o /dev/null -D "$work/hdrs" -w '%{http_code}' -I "$base$p")
    else
        code=$(curl -s -o "$work/body" -D "$work/hdrs" -w '%{http_code}' -X "$m" "$base$p")
    fi
}

# check NAME STATUS PYEXPR: the last response has STATUS and PYEXPR is true, with d the
# parsed JSON body (None if empty), h the headers (lower-case names) and b the raw body.
check() {
    ok "$1" "$py" - "$2" "$code" "$3" "$work/body" "$work/hdrs" <<'EOF'
import json, sys
want, got, expr, bf, hf = sys.argv[1:]
b = open(bf, encoding="utf-8").read()
h = {}
for line in open(hf, encoding="latin-1").read().splitlines()[1:]:
    if ":" in line:
        k, v = line.split(":", 1)
        h[k.strip().lower()] = v.strip()
d = json.loads(b) if b.strip() else None
if got != want:
    sys.exit(f"status {got}, wanted {want}: {b[:600]}")
if not eval(expr):
    sys.exit(f"false: {expr}\nheaders: {h}\nbody: {b[:1500]}")
EOF
}

# problem NAME STATUS CODE: a problem+json with this status and "code".
problem() {
    check "$1" "$2" "h.get('content-type','').startswith('application/problem+json') and d['status'] == $2 and d['code'] == '$3'"
}

# conforms SCHEMA: the last body validates against components/schemas/SCHEMA of the
# served OpenAPI document (the subset of JSON Schema it uses: type, enum, properties,
# required, items, minimum/maximum, oneOf, allOf, additionalProperties, $ref).
cat >"$work/validate.py" <<'PY'
import json, sys
doc, body, name = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
def typeok(t, v):
    if t == "integer": return isinstance(v, int) and not isinstance(v, bool)
    if t == "number": return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])
def check(s, v, at):
    if "$ref" in s:
        r = doc
        for k in s["$ref"][2:].split("/"): r = r[k]
        return check(r, v, at)
    if "oneOf" in s:
        good = [e for e in (quiet(x, v, at) for x in s["oneOf"]) if e is None]
        assert len(good) == 1, f"{at}: matches {len(good)} of oneOf"
    for x in s.get("allOf", []): check(x, v, at)
    if "type" in s:
        ts = s["type"] if isinstance(s["type"], list) else [s["type"]]
        assert any(typeok(t, v) for t in ts), f"{at}: {v!r} is not {ts}"
    if "enum" in s: assert v in s["enum"], f"{at}: {v!r} not in {s['enum']}"
    if "minimum" in s and typeok("number", v): assert v >= s["minimum"], f"{at}: {v} < minimum"
    if "maximum" in s and typeok("number", v): assert v <= s["maximum"], f"{at}: {v} > maximum"
    if isinstance(v, dict):
        for k in s.get("required", []): assert k in v, f"{at}: missing {k}"
        for k, x in s.get("properties", {}).items():
            if k in v: check(x, v[k], f"{at}.{k}")
        if isinstance(s.get("additionalProperties"), dict):
            for k in v:
                if k not in s.get("properties", {}): check(s["additionalProperties"], v[k], f"{at}.{k}")
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v): check(s["items"], x, f"{at}[{i}]")
def quiet(s, v, at):
    try: check(s, v, at)
    except AssertionError as e: return e
check({"$ref": "#/components/schemas/" + name}, body, name)
PY
conforms() {
    ok "  ... conforms to the document's $1" "$py" "$work/validate.py" "$work/openapi.json" "$work/body" "$1"
}

data=$work/data
start "$data" || { tap_result 0 "server starts"; done_testing; exit 1; }
tap_result 1 "server starts and prints its address ($base)"

# ---- index and OpenAPI ----
call GET /api/v1
check "GET /api/v1 links to the collections" 200 "d['links']['questions'] == '/api/v1/questions' and d['links']['openapi'] == '/api/v1/openapi.json'"
call GET /api/v1/openapi.json
cp "$work/body" "$work/openapi.json"
check "openapi.json is OpenAPI 3.1.0" 200 "d['openapi'] == '3.1.0' and d['servers'] == [{'url': '/'}] and d['info']['title']"
check "  ... with the schemas" 200 "all(s in d['components']['schemas'] for s in ['Question','QuestionSummary','Page','Progress','Note','Review','Attempt','Problem'])"
check "  ... every operation has responses, a 500 and an operationId" 200 "all(o['responses'] and '500' in o['responses'] and o['operationId'] for p in d['paths'].values() for o in p.values())"
check "  ... every \$ref resolves" 200 "all(eval('d' + ''.join('[%r]' % k for k in r[2:].split('/'))) is not None for r in __import__('re').findall(r'\"\\\$ref\":\"([^\"]+)\"', b))"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' "$work/hdrs" | tr -d '\r')
ok_match "  ... has an ETag" '^"[0-9a-f]+"$' "$etag"
ok_match "  ... If-None-Match gives 304" '^304$' "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/api/v1/openapi.json")"

ok "every documented GET without a path parameter answers 200 JSON" "$py" -c '
import json,sys,urllib.request
doc=json.load(open(sys.argv[1]))
for p, item in doc["paths"].items():
    if "get" in item and "{" not in p:
        with urllib.request.urlopen(sys.argv[2] + p) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/json", p
            json.load(r)' "$work/openapi.json" "$base"

# ---- questions: pagination ----
call GET /api/v1/questions
check "list: default page 1 of 20, total 500" 200 "d['page'] == 1 and d['per_page'] == 20 and d['total'] == 500 and [q['id'] for q in d['items']] == list(range(1, 21))"
conforms Page
check "  ... items carry the summary fields" 200 "set(d['items'][0]) >= {'id','module','level','kind','text','tags','status','has_answer','grader','links'} and d['items'][0]['links'] == {'self': '/api/v1/questions/1', 'html': '/questions/1'}"
check "  ... links: no prev, next is page 2" 200 "d['links']['prev'] is None and d['links']['next'] == '/api/v1/questions?page=2&per_page=20' and d['links']['self'] == '/api/v1/questions?page=1&per_page=20'"
next=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["links"]["next"])' "$work/body")
call GET "$next"
check "following next gives 21..40 and a prev link" 200 "[q['id'] for q in d['items']] == list(range(21, 41)) and d['links']['prev'] == '/api/v1/questions?page=1&per_page=20'"
call GET "/api/v1/questions?page=5&per_page=100"
check "last page (per_page=100): 401..500, no next" 200 "[q['id'] for q in d['items']] == list(range(401, 501)) and d['links']['next'] is None"
call GET "/api/v1/questions?page=6&per_page=100"
check "past the end: empty items, prev still there" 200 "d['items'] == [] and d['total'] == 500 and d['links']['prev']"
call HEAD "/api/v1/questions"
check "HEAD answers like GET (headers, no body)" 200 "h['content-type'] == 'application/json'"
for bad in per_page=0 per_page=101 per_page=x page=0 page=-1 level=6 module=26 module=1.5 kind=x status=finished sort=name; do
    call GET "/api/v1/questions?$bad"
    check "invalid $bad: 422 naming the parameter" 422 "d['code'] == 'invalid_parameter' and d['errors'][0]['field'] == '${bad%%=*}' and h['content-type'].startswith('application/problem+json')"
done
call GET "/api/v1/questions?q=%zz"
problem "bad percent-encoding: 422" 422 invalid_parameter

# ---- questions: filters and sorting ----
call GET "/api/v1/questions?module=13&per_page=100"
check "module=13: the 20 questions 241..260" 200 "[q['id'] for q in d['items']] == list(range(241, 261)) and d['total'] == 20"
call GET "/api/v1/questions?level=3&per_page=100"
check "level=3: only level 3" 200 "d['total'] > 0 and all(q['level'] == 3 for q in d['items'])"
call GET "/api/v1/questions?module=1&kind=practical"
check "module=1&kind=practical: 11..20" 200 "[q['id'] for q in d['items']] == list(range(11, 21)) and all(q['kind'] == 'practical' for q in d['items'])"
call GET "/api/v1/questions?module=1&kind=practical&page=1&per_page=4"
check "  ... filter parameters stay in the links" 200 "d['links']['next'] == '/api/v1/questions?page=2&per_page=4&module=1&kind=practical'"
call GET "/api/v1/questions?sort=-id&per_page=3"
check "sort=-id: 500, 499, 498 (and sort stays in the links)" 200 "[q['id'] for q in d['items']] == [500, 499, 498] and d['links']['next'].endswith('&sort=-id')"
call GET "/api/v1/questions?sort=module&per_page=100"
names=$(curl -s "$base/api/v1/modules" | "$py" -c 'import json,sys; print(json.dumps({m["id"]: m["name"] for m in json.load(sys.stdin)["items"]}))')
check "sort=module: module names ascending" 200 "(lambda n: [n[str(q['module'])] for q in d['items']] == sorted(n[str(q['module'])] for q in d['items']))($names)"

# ---- search ----
call GET "/api/v1/questions?q=consistent+hashing"
check "q=consistent hashing: 242 ranked first, with a marked snippet" 200 "d['items'][0]['id'] == 242 and '<mark>' in d['items'][0]['snippet'] and d['q'] == 'consistent hashing' and 'rank' in d['items'][0]"
check "  ... ranks ascend (bm25: lower is better)" 200 "[q['rank'] for q in d['items']] == sorted(q['rank'] for q in d['items'])"
check "  ... the search stays in the links" 200 "d['links']['self'] == '/api/v1/questions?page=1&per_page=20&q=consistent+hashing'"
conforms Page
call GET "/api/v1/questions?q=consistent+hashing&kind=practical"
check "q + kind=practical: only practical hits (252)" 200 "d['items'] and all(q['kind'] == 'practical' for q in d['items']) and 252 in [q['id'] for q in d['items']]"
call GET "/api/v1/questions?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E+http"
check "q with markup: the snippets never contain it raw" 200 "d['items'] and all('<script' not in q['snippet'] and '</script' not in q['snippet'] for q in d['items'])"
call GET "/api/v1/questions?q=%22cache%5C+%09tab%01"
check "q with quotes, backslash and controls is echoed intact (valid JSON)" 200 "d['q'] == '\"cache\\\\ \\ttab\\x01'"
call GET "/api/v1/questions?q=%FF%FE"
check "q that is not UTF-8: 422" 422 "d['code'] == 'invalid_parameter' and d['errors'][0]['field'] == 'q'"
call GET "/api/v1/questions?q=zzqqxxnothing"
check "q without a match: empty, total 0" 200 "d['items'] == [] and d['total'] == 0"
call GET "/api/v1/questions?q=+++"
check "blank q lists everything" 200 "d['total'] == 500 and d['q'] is None"

# ---- one question ----
call GET /api/v1/questions/11
check "question 11: answer, grader, checks, links" 200 "d['id'] == 11 and d['grader'] and d['checks'] and d['answer'] and d['kind'] == 'practical' and d['note'] is None and d['review'] is None and d['links']['note'] == '/api/v1/questions/11/note' and d['module_name']"
conforms Question
for link in /questions/11 /modules/13 /levels/3; do
    ok_match "the html link $link is a page" '^200 text/html' "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$base$link")"
done
for bad in 0 501 abc 042 -1 1e2 99999999999999999999; do
    call GET "/api/v1/questions/$bad"
    problem "question '$bad': 404" 404 question_not_found
    conforms Problem
done
call GET /api/v1/nope
check "unknown path: 404 problem+json" 404 "h['content-type'].startswith('application/problem+json') and d['status'] == 404"
call PATCH /api/v1/questions/1/status
check "PATCH on a PUT route: 405 with Allow" 405 "'PUT' in h['allow'] and 'GET' in h['allow'] and d['status'] == 405"

# ---- status, shared with the CLI ----
call PUT /api/v1/questions/242/status '{"status":"done"}'
check "PUT status done: 200 with the new status" 200 "d == {'question': 242, 'status': 'done', 'links': {'self': '/api/v1/questions/242/status', 'question': '/api/v1/questions/242'}}"
conforms StatusChange
call GET /api/v1/questions/242/status
check "GET status reads it back" 200 "d['status'] == 'done'"
ok "strata progress (the CLI) sees it" "$py" -c 'import json,sys; d=json.loads(sys.argv[1]); assert (d["done"], d["todo"]) == (1, 499), d' "$("$S" progress --json --data "$data")"
"$S" progress mark 243 doing --data "$data" >/dev/null
sleep 0.3 # another process's commit shows within ST_LAB_VIEW_CHECK_MS (200 ms; src/web/web.h)
call GET /api/v1/questions/243
check "the API sees a CLI mark" 200 "d['status'] == 'doing'"
call GET "/api/v1/questions?status=done"
check "status=done filter" 200 "[q['id'] for q in d['items']] == [242]"
call PUT /api/v1/questions/244/status '{"status":"review"}'
call GET "/api/v1/questions?module=13&sort=status&per_page=100"
check "sort=status: todo, doing, done, review" 200 "[q['status'] for q in d['items']][-3:] == ['doing', 'done', 'review'] and [q['id'] for q in d['items']][-3:] == [243, 242, 244]"
call PUT /api/v1/questions/242/status '{"status":'
check "bad JSON: 400 with the position" 400 "d['code'] == 'invalid_json' and d['line'] == 1 and 'position' in d"
call PUT /api/v1/questions/242/status 'status=done' 'application/x-www-form-urlencoded'
problem "wrong content type: 415" 415 unsupported_media_type
call PUT /api/v1/questions/242/status '{"status":"finished"}'
check "unknown status: 422 naming the field" 422 "d['code'] == 'invalid_status' and d['errors'] == [{'field': 'status', 'message': d['errors'][0]['message']}]"
conforms Problem
call PUT /api/v1/questions/242/status '{"status":3}'
problem "status not a string: 422" 422 invalid_status
call PUT /api/v1/questions/242/status '["done"]'
problem "body not an object: 422" 422 invalid_body
call PUT /api/v1/questions/501/status '{"status":"done"}'
problem "status of question 501: 404" 404 question_not_found
call GET /api/v1/questions/242
check "nothing changed by the bad writes" 200 "d['status'] == 'done'"

# ---- progress, levels, modules ----
call GET /api/v1/progress
check "progress: totals" 200 "d['total']['done'] == 1 and d['total']['doing'] == 1 and d['total']['review'] == 1 and d['total']['questions'] == 500 and d['total']['completed'] == 2"
conforms Progress
check "  ... per level and module" 200 "len(d['levels']) == 5 and len(d['modules']) == 25 and d['modules'][12]['id'] == 13 and d['modules'][12]['completed'] == 2 and sum(l['questions'] for l in d['levels']) == 500"
ok "  ... the same totals as the CLI" "$py" -c '
import json,sys; a=json.loads(sys.argv[1])["total"]; c=json.loads(sys.argv[2])
assert all(a[k]==c[k] for k in ("todo","doing","done","review")), (a, c)' "$(cat "$work/body")" "$("$S" progress --json --data "$data")"
call GET /api/v1/levels
check "levels: 5 with progress and coverage" 200 "len(d['items']) == 5 and sum(l['progress']['questions'] for l in d['items']) == 500 and d['items'][2]['progress']['done'] == 1 and 13 in d['items'][2]['modules'] and d['items'][0]['coverage']['answered'] > 0"
call GET /api/v1/levels/3
check "level 3" 200 "d['id'] == 3 and d['links']['questions'] == '/api/v1/questions?level=3'"
conforms Level
call GET /api/v1/levels/6
problem "level 6: 404" 404 level_not_found
call GET /api/v1/modules
check "modules: 25" 200 "len(d['items']) == 25 and d['items'][12]['progress']['completed'] == 2 and d['items'][12]['slug']"
call GET "/api/v1/modules?level=1"
check "modules?level=1: only level 1's" 200 "d['items'] and all(m['level'] == 1 for m in d['items']) and len(d['items']) < 25"
call GET "/api/v1/modules?level=0"
problem "modules?level=0: 422" 422 invalid_parameter
call GET /api/v1/modules/13
check "module 13 with its 20 questions" 200 "d['id'] == 13 and [q['id'] for q in d['questions']] == list(range(241, 261))"
conforms Module
call GET /api/v1/modules/0
problem "module 0: 404" 404 module_not_found

# ---- notes ----
call GET /api/v1/questions/242/note
problem "no note yet: 404" 404 note_not_found
note='<script>alert("x")</script> ring of vnodes, ünïcödé'
json_note=$("$py" -c 'import json,sys; print(json.dumps({"text": sys.argv[1]}))' "$note")
call PUT /api/v1/questions/242/note "$json_note"
check "PUT note: 200, stored verbatim, with a time" 200 "d['text'] == '''$note''' and d['question'] == 242 and d['updated_at'].endswith('Z')"
call GET /api/v1/questions/242/note
check "GET note reads it back" 200 "d['text'] == '''$note'''"
conforms Note
call GET /api/v1/notes
check "GET notes lists it" 200 "[n['question'] for n in d['items']] == [242] and d['total'] == 1"
call GET /api/v1/questions/242
check "the question carries the note" 200 "d['note']['text'] == '''$note'''"
call PUT /api/v1/questions/242/note '{"text":42}'
problem "note text not a string: 422" 422 invalid_note
call PUT /api/v1/questions/242/note '{}'
problem "note without text: 422" 422 invalid_note
"$py" -c 'import json; print(json.dumps({"text": "x" * 65537}))' > "$work/long.json"
call PUT /api/v1/questions/242/note "@$work/long.json"
check "note too long: 422 naming text" 422 "d['code'] == 'note_too_long' and d['errors'][0]['field'] == 'text'"
"$py" -c 'import json; print(json.dumps({"text": "y" * 65536}))' > "$work/max.json"
call PUT /api/v1/questions/243/note "@$work/max.json"
check "a note of exactly 65536 bytes is fine" 200 "len(d['text']) == 65536"
call PUT /api/v1/questions/243/note '{"text":""}'
check "empty text deletes: 204" 204 "b == ''"
call GET /api/v1/questions/243/note
problem "  ... and it is gone" 404 note_not_found
call PUT /api/v1/questions/1/note '{"text":"temp"}'
call DELETE /api/v1/questions/1/note
check "DELETE note: 204" 204 "b == ''"
call DELETE /api/v1/questions/1/note
check "  ... again: still 204 (idempotent)" 204 "True"
call GET /api/v1/questions/1/note
problem "  ... gone" 404 note_not_found
call PUT /api/v1/questions/0/note '{"text":"x"}'
problem "note on question 0: 404" 404 question_not_found
call GET /api/v1/questions/242/note
check "the bad writes left the note alone" 200 "d['text'] == '''$note'''"

# ---- reviews ----
call GET /api/v1/reviews/due
check "242 (done, conceptual, never reviewed) is due, without a card" 200 "242 in [r['question'] for r in d['items']] and [r for r in d['items'] if r['question'] == 242][0]['card'] is None"
conforms ReviewsDue
call POST /api/v1/questions/242/review '{"grade":4}'
check "grade 4: a new SM-2 card, due in a day" 200 "d['question'] == 242 and d['repetitions'] == 1 and d['interval_days'] == 1 and d['last_grade'] == 4 and d['due_at'] > d['last_reviewed_at']"
conforms Review
call GET /api/v1/reviews/due
check "  ... no longer due" 200 "242 not in [r['question'] for r in d['items']]"
call GET /api/v1/questions/242
check "  ... the question carries the card" 200 "d['review']['repetitions'] == 1"
conforms Question
for bad in '{"grade":6}' '{"grade":-1}' '{"grade":"4"}' '{"grade":4.5}' '{}'; do
    call POST /api/v1/questions/242/review "$bad"
    problem "review $bad: 422" 422 invalid_grade
done
call POST /api/v1/questions/252/review '{"grade":4}'
problem "review of a practical question: 422" 422 not_reviewable
call POST /api/v1/questions/242/review 'grade=4' 'text/plain'
problem "review as text/plain: 415" 415 unsupported_media_type

# ---- activity ----
call GET "/api/v1/activity"
check "activity: status, note and review of 242, newest first" 200 "{'status','note','review'} <= {a['what'] for a in d['items'] if a['question'] == 242} and [a['at'] for a in d['items']] == sorted((a['at'] for a in d['items']), reverse=True)"
call GET "/api/v1/activity?limit=2"
check "activity?limit=2" 200 "len(d['items']) == 2"
call GET "/api/v1/activity"
ok "  ... every item conforms to the document's Activity" "$py" -c '
import json,subprocess,sys
for a in json.load(open(sys.argv[1]))["items"]:
    json.dump(a, open(sys.argv[1] + ".one", "w"))
    subprocess.run([sys.executable, sys.argv[2], sys.argv[3], sys.argv[1] + ".one", "Activity"], check=True)' "$work/body" "$work/validate.py" "$work/openapi.json"
call GET "/api/v1/activity?limit=0"
problem "activity?limit=0: 422" 422 invalid_parameter

# ---- export and import ----
call GET /api/v1/export
check "export: a strata-lab attachment" 200 "d['format'] == 'strata-lab' and h['content-disposition'].startswith('attachment; filename=') and len(d['statuses']) == 3 and len(d['notes']) == 1 and len(d['reviews']) == 1"
conforms Export
cp "$work/body" "$work/export1.json"
data2=$work/data2
first=$base firstpid=$srv
start "$data2" || tap_result 0 "second server starts"
call POST /api/v1/import "@$work/export1.json"
check "import into a fresh data dir: 200 with a count" 200 "d['applied'] > 0"
call GET /api/v1/export
ok "  ... its export equals the original (but for exported_at)" "$py" -c '
import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
a.pop("exported_at"); b.pop("exported_at"); assert a == b, (a, b)' "$work/export1.json" "$work/body"
call POST /api/v1/import "@$work/export1.json"
check "importing it again is harmless" 200 "True"
call GET /api/v1/export
ok "  ... still the same" "$py" -c '
import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2]))
a.pop("exported_at"); b.pop("exported_at"); assert a == b' "$work/export1.json" "$work/body"
call POST /api/v1/import '{"format":"nope","version":1}'
check "import of a wrong format: 422 with the reason" 422 "d['code'] == 'invalid_export' and 'format' in d['detail']"
call POST /api/v1/import '{"format":"strata-lab","version":99}'
check "import from a newer strata: 422" 422 "d['code'] == 'invalid_export' and 'newer' in d['detail']"
call POST /api/v1/import '[1,2]'
problem "import of an array: 422" 422 invalid_export
call POST /api/v1/import 'garbage'
problem "import of garbage: 400" 400 invalid_json
call POST /api/v1/import "@$work/export1.json" 'text/plain'
problem "import as text/plain: 415" 415 unsupported_media_type
"$S" progress mark 245 done --data "$data" >/dev/null
"$S" progress export "$work/cli.json" --data "$data" >/dev/null
call GET /api/v1/questions/245/status
check "  (245 is todo on the second server)" 200 "d['status'] == 'todo'"
call POST /api/v1/import "@$work/cli.json"
check "import of a CLI export (strata-progress)" 200 "d['applied'] >= 1"
call GET /api/v1/questions/245/status
check "  ... brings 245's status" 200 "d['status'] == 'done'"
stop "$srv" "second server stops cleanly"
base=$first srv=$firstpid

# ---- shutdown ----
stop "$srv" "server stops cleanly on SIGTERM (exit 0)"
pids=()
ok "no sanitizer report in the servers' stderr" test -z "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$work/serve.err")"

done_testing
