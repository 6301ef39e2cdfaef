#!/usr/bin/env bash
# pages.sh - the HTML pages of `strata serve` black-box: every page answers 200 with a
# complete, CSP-clean document; bad ids are 404; the forms work without JavaScript
# (POST, 303, the change shows) and refuse other origins; learner text (a note, a search)
# is rendered inert everywhere it appears; /source shows only solution files; the assets
# carry an ETag and a long cache life; the server stops cleanly (no leak under ASan).
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
work=$(mktemp -d)
srv=
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

STRATA_SRCROOT=$SRCROOT "$S" serve --listen 127.0.0.1:0 --data "$work/data" >"$work/out" 2>"$work/err" &
srv=$!
base=
for _ in $(seq 1 200); do
    base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/out")
    [ -n "$base" ] && break
    sleep 0.05
done
if [ -z "$base" ]; then
    tap_result 0 "server starts" "$(cat "$work/out" "$work/err")"
    done_testing
    exit 1
fi

# get PATH [CURL ARGS...]: body in $work/body, headers in $work/hdrs, status in $code.
get() {
    local p=$1
    shift
    code=$(curl -s --path-as-is -o "$work/body" -D "$work/hdrs" -w '%{http_code}' "$@" "$base$p")
}
# post PATH BODY [CURL ARGS...]: a form post (no Origin unless given).
post() {
    local p=$1 d=$2
    shift 2
    code=$(curl -s -o "$work/body" -D "$work/hdrs" -w '%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
        --data-binary "$d" "$@" "$base$p")
}
body() { cat "$work/body"; }
hdr() { grep -i "^$1:" "$work/hdrs" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# A page: 200, HTML, one document with title, main and closing tags, nothing inline the
# CSP would block.
page_ok() {
    local p=$1 b why=
    get "$p"
    b=$(body)
    [ "$code" = 200 ] || why="status $code"
    case "$(hdr Content-Type)" in text/html\;*charset=utf-8) ;; *) why="$why; content-type $(hdr Content-Type)" ;; esac
    [ "$(head -c 15 "$work/body")" = '<!doctype html>' ] || why="$why; no doctype"
    [ "$(tail -n 1 "$work/body")" = '</html>' ] || why="$why; does not end with </html>"
    for t in '<title>' '<main id="main"' '</main>' '</body>' '<h1>'; do
        grep -qF -- "$t" "$work/body" || why="$why; no $t"
    done
    [ "$(grep -o '<main' "$work/body" | wc -l)" = 1 ] || why="$why; not one <main>"
    grep -qE 'style=|<style|<script>| on[a-z]+="' "$work/body" && why="$why; inline style/script"
    grep -q 'aria-current="page"' "$work/body" || [ "$p" = /source/ ] || why="$why; no aria-current"
    # every input and textarea has a label for its id
    for id in $(grep -oE '<(input|textarea|select)[^>]* id="[^"]*"' "$work/body" | sed 's/.* id="\([^"]*\)"/\1/'); do
        grep -qF "<label for=\"$id\">" "$work/body" || why="$why; input $id has no label"
    done
    if [ -z "$why" ]; then tap_result 1 "GET $p: a complete page"; else tap_result 0 "GET $p: a complete page" "$why"; fi
}

for p in / /levels/1 /levels/3 /levels/5 /modules/1 /modules/13 /modules/25 /questions/1 /questions/11 \
    /questions/16 /questions/20 /questions/242 /questions/500 /search '/search?q=consistent+hashing' \
    '/search?q=cache&level=2&module=8&kind=practical' /review /completion /notes /activity /source/ \
    /source/src/http/parse.c; do
    page_ok "$p"
done

for p in /levels/0 /levels/6 /levels/x /modules/26 /questions/0 /questions/501 /questions/01 /questions/-1 \
    /source/etc/passwd /source/../../../etc/passwd /source/src/http/../../../../etc/passwd /source/src/base/arena.c%00 \
    /source/meson.build; do
    get "$p"
    ok_match "GET $p is 404" '^404$' "$code"
done
get /levels/0
ok_match "a 404 page is HTML" '<h1>Not Found</h1>' "$(body)"

# ---- the question page ----
get /questions/11
b=$(body)
ok_match "question: breadcrumbs to level and module" 'href="/levels/1">Level 1: Beginner</a>.*href="/modules/1">Module 1' "$b"
ok_match "question: answer rendered from markdown" '<div class="answer"><p><code>GET /</code>' "$b"
ok_match "question: solution links to /source" '<a href="/source/src/examples/basics.c"><code>' "$b"
ok_match "question: grader command" 'strata grade q11 --target http://127.0.0.1:PORT' "$b"
ok_match "question: what the grader checks" '<h3>What the grader checks</h3>' "$b"
ok_match "question: labelled grade form" '<form method="post" action="/questions/11/grade".*<label for="target">' "$b"
ok_match "question: prev/next" 'href="/questions/10" rel="prev".*href="/questions/12" rel="next"' "$b"
ok_match "question: Referrer-Policy same-origin (forms carry Origin)" '^same-origin$' "$(hdr Referrer-Policy)"
get /questions/16
ok_match "q16: the --cmd form of the grader, no web form" 'strata grade q16 --cmd' "$(body)"
ok_status 1 "q16: no grade form" grep -q 'action="/questions/16/grade"' "$work/body"
get /questions/1
ok_status 1 "conceptual question: no grading section" grep -q 'h-grade' "$work/body"

# ---- forms ----
post /questions/12/status 'status=done'
ok_match "status without Origin or Referer: 403" '^403$' "$code"
post /questions/12/status 'status=done' -H 'Origin: http://evil.example'
ok_match "status from another origin: 403" '^403$' "$code"
post /questions/12/status 'status=done' -H 'Origin: null'
ok_match "status with Origin null: 403" '^403$' "$code"
post /questions/12/status 'status=done' -H "Referer: ${base}.evil.example/x"
ok_match "status with a look-alike Referer: 403" '^403$' "$code"
get /questions/12
ok_match "refused posts changed nothing" 'badge s-todo' "$(body)"
post /questions/12/status 'status=done' -H "Origin: $base"
ok_match "status form: 303" '^303$' "$code"
ok_match "status form: back to the question" '^/questions/12$' "$(hdr Location)"
get /questions/12
ok_match "status shows on the question page" '<legend>Status: <span class="badge s-done">done' "$(body)"
post /questions/1/status 'status=review' -H "Referer: $base/questions/1"
ok_match "status form with a same-origin Referer only: 303" '^303$' "$code"
post /questions/12/status 'status=finished' -H "Origin: $base"
ok_match "bad status: 400" '^400$' "$code"
post /questions/12/status 'other=1' -H "Origin: $base"
ok_match "missing field: 400" '^400$' "$code"
post /questions/12/status 'status=%zz' -H "Origin: $base"
ok_match "bad percent-encoding: 400" '^400$' "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Origin: $base" -H 'Content-Type: application/json' \
    --data '{"status":"done"}' "$base/questions/12/status")
ok_match "not a form: 415" '^415$' "$code"
post /questions/501/status 'status=done' -H "Origin: $base"
ok_match "status of a question that does not exist: 404" '^404$' "$code"
get /
ok_match "dashboard counts the change" '<strong>1</strong> of 500 questions done' "$(body)"
ok_match "dashboard: next on the path is Q1 (not done)" 'What to do next</h2>\s*<p class="big"><a href="/questions/1">' "$(body | tr '\n' ' ')"
ok_match "dashboard: recent activity lists Q12" 'href="/questions/12">Q12</a>' "$(body)"

xss='<script>alert(1)</script> & "quotes" '"'"'single'"'"
post /questions/12/note "text=$(printf '%s' "$xss" | jq -sRr @uri)%0D%0Asecond line" -H "Origin: $base"
ok_match "note form: 303" '^303$' "$code"
get /questions/12
ok_match "note is in the textarea, escaped" '>&lt;script&gt;alert\(1\)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;single&#39;' "$(body)"
ok_status 1 "question page: no live <script>alert" grep -qF '<script>alert' "$work/body"
ok_status 1 "note: CRLF stored as LF" grep -q $'\r' "$work/body"
get /notes
ok_match "notes list: the note, escaped" '<p class="note">&lt;script&gt;alert\(1\)&lt;/script&gt;' "$(body)"
ok_status 1 "notes list: no live <script>alert" grep -qF '<script>alert' "$work/body"
big=$(head -c 70000 /dev/zero | tr '\0' a)
post /questions/12/note "text=$big" -H "Origin: $base"
ok_match "a note over 64 KiB: 413" '^413$' "$code"
post /questions/12/note 'text=' -H "Origin: $base"
get /notes
ok_match "an empty note deletes it" 'No notes yet' "$(body)"

# ---- search ----
get '/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'
ok_match "search: 200 for <script>" '^200$' "$code"
ok_match "search: the words echoed escaped" 'value="&lt;script&gt;alert\(1\)&lt;/script&gt;"' "$(body)"
ok_status 1 "search: no live <script>alert" grep -qF '<script>alert' "$work/body"
get '/search?q=%3Cscript%3E+hashing'
ok_status 1 "search with hits: no live <script>" grep -qF '<script>' "$work/body"
get '/search?q=consistent+hashing'
ok_match "search: ranked hit with a <mark> snippet" '<li><a href="/questions/[0-9]+"><strong>Q[0-9]+\.</strong>.*<p>.*<mark>' "$(body)"
get '/search?q=the'
ok_match "search: pagination" 'Page 1 of [0-9]+.*href="/search\?q=the&amp;page=2" rel="next"' "$(body)"
get '/search?q=the&page=2'
ok_match "search: page 2 starts at 21" '<ol class="hits" start="21">' "$(body)"
get '/search?q=cache&level=2&kind=practical'
ok_match "search: filters kept in the form" '<option value="2" selected>.*<option value="practical" selected>' "$(body)"
hits=$(grep -oE 'module [0-9]+: ' "$work/body" | sort -u | tr -d '\n')
ok_match "search: level filter applies (modules 6-10 only)" '^(module (6|7|8|9|10): )+$' "$hits"

# ---- review ----
post /questions/1/status 'status=done' -H "Origin: $base"
get /review
ok_match "review: a card with a hidden answer" '<details class="reveal"><summary>Show answer</summary>' "$(body)"
ok_match "review: grade buttons 0-5" 'name="grade" value="0".*name="grade" value="5"' "$(body)"
card=$(grep -oE 'action="/review/[0-9]+"' "$work/body" | head -1 | grep -oE '[0-9]+')
post "/review/$card" 'grade=4' -H "Origin: $base"
ok_match "review grade: 303 to /review" "^/review\?last=$card\$" "$(hdr Location)"
get "/review?last=$card"
ok_match "review: next due date after grading" "Q$card graded 4: next review on <time datetime=\"[0-9-]+\">" "$(body)"
post "/review/$card" 'grade=9' -H "Origin: $base"
ok_match "review grade 9: 400" '^400$' "$code"
post /review/12 'grade=3' -H "Origin: $base"
ok_match "review of a practical question: 400" '^400$' "$code"
post "/review/$card" 'grade=3'
ok_match "review without Origin: 403" '^403$' "$code"

# ---- completion ----
get /completion
ok_match "completion: questions answered" 'Answer all 500 questions.*<strong>2</strong> of 500' "$(body | tr '\n' ' ')"
ok_match "completion: projects built" 'Build 100\+ projects.*<strong>1</strong> of 100' "$(body | tr '\n' ' ')"
ok_match "completion: systems designed" 'Design 20\+ systems.*<strong>0</strong> of 20' "$(body | tr '\n' ' ')"

# ---- source ----
get /source/src/http/parse.c
ok_match "source: the file, escaped" '#include &quot;http/parse.h&quot;' "$(body)"
ok_match "source: cites its questions" 'The reference solution of <a href="/questions/[0-9]+">Q' "$(body)"

# ---- assets ----
get /assets/style.css
ok_match "style.css: 200 text/css" '^200 text/css' "$code $(hdr Content-Type)"
ok_match "style.css: long cache life" 'max-age=31536000' "$(hdr Cache-Control)"
etag=$(hdr ETag)
ok_match "style.css: an ETag" '^"[0-9a-f]{16}"$' "$etag"
get /assets/style.css -H "If-None-Match: $etag"
ok_match "style.css: 304 for the same ETag" '^304$' "$code"
get /
ok_match "pages link the stylesheet by version" "href=\"/assets/style.css\\?v=${etag//\"/}\"" "$(body)"
get /assets/app.js
ok_match "app.js: 200 javascript" '^200 text/javascript' "$code $(hdr Content-Type)"
code=$(curl -s -o /dev/null -w '%{http_code}' -I "$base/questions/3")
ok_match "HEAD of a page: 200" '^200$' "$code"

kill -TERM "$srv"
wait "$srv"
st=$?
srv=
if [ "$st" = 0 ]; then tap_result 1 "clean stop (no leak)"; else tap_result 0 "clean stop (no leak)" "exit $st: $(tail -20 "$work/err")"; fi
done_testing
