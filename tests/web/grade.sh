#!/usr/bin/env bash
# grade.sh - grading from the web (`strata serve`, src/web/web_grade.c), black-box with curl:
# attempts against the reference app pass, against a closed port fail with the reason in
# the log, the log streams as Server-Sent Events (resumable), attempts are listed and
# survive a restart, the target is escaped, bad input is refused, and the number of
# attempts at once is bounded.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# A test server: "slow" answers every request "Hello World" after a delay, "hole" reads
# requests and never answers. Prints its port.
cat > "$tmp/srv.py" <<'EOF'
import socket, sys, threading, time
mode, delay = sys.argv[1], float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
def serve(c):
    buf = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                return
            if mode == "hole":
                continue
            buf += d
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                time.sleep(delay)
                body = b"" if head.startswith(b"HEAD") else b"Hello World"
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\n" + body)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF

# start NAME CMD...: run CMD in the background, wait for "listening on URL"; sets $url and $pid.
start() {
    local name=$1; shift
    "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    url=
    for _ in $(seq 100); do
        url=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$tmp/$name.out" 2>/dev/null | head -1 | sed 's/listening on //')
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    echo "# $name did not start: $(cat "$tmp/$name.err")"
    return 1
}
pyserver() { # pyserver MODE DELAY: sets $port and $pid
    python3 "$tmp/srv.py" "$1" "$2" > "$tmp/py$1.out" &
    pid=$!
    pids+=("$pid")
    port=
    for _ in $(seq 50); do
        port=$(head -1 "$tmp/py$1.out" 2>/dev/null)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    return 1
}

start basics "$S" example basics --listen 127.0.0.1:0 || exit 1
B=$url
start serve "$S" serve --listen 127.0.0.1:0 --data "$tmp/data" || exit 1
L=$url
serve_pid=$pid

post() { # post Q TARGET: POST /api/v1/questions/Q/attempts; prints "STATUS BODY", headers in $tmp/h
    curl -s -o "$tmp/body" -D "$tmp/h" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data "{\"target\":\"$2\"}" "$L/api/v1/questions/$1/attempts"
    printf ' '
    cat "$tmp/body"
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# pycheck NAME TEXT CODE: CODE (Python asserts on the JSON document d) passes for TEXT.
pycheck() {
    printf '%s' "$2" > "$tmp/doc"
    ok "$1" python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
$3" "$tmp/doc"
}
# lacks NAME REGEX TEXT: passes when TEXT does not match.
lacks() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then tap_result 0 "$1" "unexpected /$2/"; else tap_result 1 "$1"; fi
}
# The stream of attempt ID until its done event (the server ends it).
stream() { curl -s -N --max-time 60 "$@"; }

# ---- every --target grader of module 1 passes the reference app ----
for q in 11 12 13 14 15 17 18 19; do
    out=$(post $q "$B")
    ok_match "Q$q: 202 Accepted" '^202 ' "$out"
    id=$(printf '%s' "${out#* }" | json 'd["id"]')
    ok_match "Q$q: Location names the attempt" "^Location: /api/v1/attempts/$id" "$(tr -d '\r' < "$tmp/h")"
    ev=$(stream "$L/api/v1/attempts/$id/events")
    done_line=$(printf '%s\n' "$ev" | grep -A1 '^event: done$' | sed -n 's/^data: //p')
    ok_match "Q$q: passed with checks" '"state":"passed","passed":([1-9][0-9]*),"total":\1[,}]' "$done_line"
    eval "id_$q=$id"
done
ok_match "the stream has one data line per log line, with ids" '^id: 2$' "$ev"
ok_match "the stream carries the summary line" "^data: Q19: [0-9]+/[0-9]+ checks passed$" "$ev"

# ---- a closed port: the checks fail, and the log says why ----
out=$(post 11 "http://127.0.0.1:1")
id_closed=$(printf '%s' "${out#* }" | json 'd["id"]')
stream "$L/api/v1/attempts/$id_closed/events" > "$tmp/closed.sse"
ok_match "closed port: state failed, 0 passed" '"state":"failed","passed":0,"total":3' "$(cat "$tmp/closed.sse")"
a=$(curl -s "$L/api/v1/attempts/$id_closed")
ok_match "closed port: the log names the refusal" 'connection refused by 127\.0\.0\.1:1' "$a"
pycheck "closed port: log and checks in the API" "$a" '
assert d["checks"] == {"passed": 0, "failed": 3, "total": 3}, d
assert d["log"].startswith("Q11: ") and "FAIL" in d["log"], d'


# ---- a live stream: lines as they come, resumable with Last-Event-ID ----
pyserver slow 0.4 || exit 1
slow=$port
out=$(post 11 "http://127.0.0.1:$slow")
id_live=$(printf '%s' "${out#* }" | json 'd["id"]')
page=$(curl -s "$L/attempts/$id_live")
ok_match "running: the page streams (script, events URL)" "data-events=\"/attempts/$id_live/events\"" "$page"
ok_match "running: without JS the page refreshes itself" '<noscript><meta http-equiv="refresh" content="2"></noscript>' "$page"
ok_match "running: the state is running" 'state-running' "$page"
live=$(stream -H 'Accept: text/event-stream' -D "$tmp/live.h" "$L/attempts/$id_live/events")
ok_match "SSE: Content-Type text/event-stream" '^Content-Type: text/event-stream' "$(tr -d '\r' < "$tmp/live.h")"
ok_match "SSE: data lines" '^data: Q11: ' "$live"
ok_match "SSE: ends with the done event" 'event: done' "$(printf '%s\n' "$live" | tail -3)"
resumed=$(stream -H 'Last-Event-ID: 2' "$L/attempts/$id_live/events")
ok_match "SSE: Last-Event-ID 2 resumes at line 3" '^id: 3$' "$(printf '%s\n' "$resumed" | grep '^id:' | head -1)"
ok_match "SSE: ?from=1 starts at line 2" '^id: 2$' "$(stream "$L/attempts/$id_live/events?from=1" | grep '^id:' | head -1)"
page=$(curl -s "$L/attempts/$id_live")
lacks "finished: the page no longer refreshes" 'http-equiv' "$page"
ok_match "the script is served" '^Content-Type: text/javascript' \
    "$(curl -s -D - -o /dev/null "$L/assets/grade.js" | tr -d '\r')"

# ---- the list ----
list=$(curl -s "$L/api/v1/attempts?question=11")
pycheck "list: Q11's attempts, newest first" "$list" "
ids = [a['id'] for a in d['attempts']]
assert ids == sorted(ids, reverse=True) and {$id_11, $id_closed, $id_live} <= set(ids), d
assert all(a['question'] == 11 for a in d['attempts']), d"
ok_match "list: a bad question is 422" '^422' "$(curl -s -o /dev/null -w '%{http_code}' "$L/api/v1/attempts?question=abc")"
ok_match "an unknown attempt is 404" '^404' "$(curl -s -o /dev/null -w '%{http_code}' "$L/api/v1/attempts/999999")"
ok_match "an unknown attempt's stream is 404" '^404' "$(curl -s -o /dev/null -w '%{http_code}' "$L/attempts/999999/events")"

# ---- the form: same origin only; the target is escaped ----
form() { # form Q TARGET [curl args...]
    local q=$1 t=$2; shift 2
    curl -s -o "$tmp/form" -D "$tmp/fh" -w '%{http_code}' --data-urlencode "target=$t" "$@" "$L/questions/$q/grade"
}
ok_match "form without Origin or Referer: 403" '^403' "$(form 11 "$B")"
ok_match "form from another origin: 403" '^403' "$(form 11 "$B" -H 'Origin: http://evil.example')"
ok_match "form with a Referer of this site: 303" '^303' "$(form 11 "$B" -H "Referer: $L/questions/11")"
evil='http://127.0.0.1:1/<script>alert(1)</script>'
ok_match "form with <script> in the target: 303" '^303' "$(form 12 "$evil" -H "Origin: $L")"
loc=$(tr -d '\r' < "$tmp/fh" | sed -n 's/^Location: //p')
ok_match "303 to the attempt page" '^/attempts/[0-9]+$' "$loc"
stream "$L$loc/events" > /dev/null
page=$(curl -s "$L$loc")
ok_match "the target is escaped on the attempt page" '&lt;script&gt;alert\(1\)&lt;/script&gt;' "$page"
lacks "no <script>alert on the page" '<script>alert' "$page"

# ---- refusals ----
out=$(post 11 "https://127.0.0.1:8443")
ok_match "https target: 422 problem" '^422 .*"code":"invalid_target"' "$out"
ok_match "ftp target: 422" '^422' "$(post 11 'ftp://127.0.0.1:21')"
ok_match "a target with a space: 422" '^422' "$(post 11 'http://127.0.0.1 :80')"
ok_match "an empty target: 422" '^422' "$(post 11 '')"
ok_match "form: https target is 422 HTML" '^422' "$(form 11 'https://x:1' -H "Origin: $L")"
ok_match "form 422 page shows the error" 'only http://' "$(cat "$tmp/form")"
out=$(post 16 "$B")
ok_match "Q16 starts the program: 422 with the terminal command" '^422 .*strata grade Q16 --cmd' "$out"
ok_match "Q20 too, with {dir}" '^422 .*Q20 --cmd.*\{dir\}' "$(post 20 "$B")"
ok_match "a conceptual question has no grader: 422" '^422 .*"code":"no_grader"' "$(post 1 "$B")"
ok_match "no such question: 404" '^404' "$(post 999 "$B")"
ok_match "not JSON: 400" '^400' "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data '{' "$L/api/v1/questions/11/attempts")"

# ---- at most 4 attempts at once ----
pyserver hole 0 || exit 1
hole=$port
hole_pid=$pid
codes=
hole_ids=()
for i in 1 2 3 4 5; do
    out=$(post 11 "http://127.0.0.1:$hole")
    codes="$codes ${out%% *}"
    [ "${out%% *}" = 202 ] && hole_ids+=("$(printf '%s' "${out#* }" | json 'd["id"]')")
done
ok_match "4 attempts accepted, the 5th refused" '^ 202 202 202 202 429$' "$codes"
ok_match "the refusal is problem+json" '"status":429' "$(cat "$tmp/body")"
ok_match "with Retry-After" '^Retry-After: ' "$(tr -d '\r' < "$tmp/h")"
kill "$hole_pid" # the graders' requests fail at once now
for id in "${hole_ids[@]}"; do stream "$L/api/v1/attempts/$id/events" > /dev/null; done
ok_match "the waiting attempts ran once the slots freed" '"state":"failed"' \
    "$(curl -s "$L/api/v1/attempts/${hole_ids[3]}")"
ok_match "slots are free again" '^202' "$(post 11 "$B")"

# ---- shutdown with a stream open, restart, persistence ----
pyserver slow 2 || exit 1 # slower: the run is still going when the server stops
out=$(post 11 "http://127.0.0.1:$port")
id_last=$(printf '%s' "${out#* }" | json 'd["id"]')
curl -s -N --max-time 30 "$L/attempts/$id_last/events" > "$tmp/cut.sse" &
curl_pid=$!
sleep 0.3
t0=$(date +%s)
kill -TERM "$serve_pid"
wait "$serve_pid"
st=$?
ok "SIGTERM with a live stream: exit 0 (no leak, no crash)" test "$st" = 0
ok "and it stops within 8 s" test $(($(date +%s) - t0)) -le 8
wait "$curl_pid"
ok_match "the open stream was ended" 'data: Q11: ' "$(cat "$tmp/cut.sse")"

start serve2 "$S" serve --listen 127.0.0.1:0 --data "$tmp/data" || exit 1
L=$url
a=$(curl -s "$L/api/v1/attempts/$id_13")
ok_match "after a restart: the attempt is there, passed" '"state":"passed"' "$a"
ok_match "after a restart: with its log" '"log":"Q13: .*checks passed' "$a"
a=$(curl -s "$L/api/v1/attempts/$id_last")
ok_match "after a restart: the run cut by the shutdown is an error" '"state":"error"' "$a"
ok_match "and its log says why" 'the server is shutting down; the run was stopped' "$a"
ev=$(stream "$L/attempts/$id_13/events")
ok_match "a stored attempt's stream: the log then done" '^data: Q13: ' "$ev"
ok_match "a stored attempt's stream ends with done" '"state":"passed"' "$(printf '%s\n' "$ev" | tail -2)"
ok_match "the list survives" "\"id\":$id_closed" "$(curl -s "$L/api/v1/attempts")"
ok_match "the attempt page after a restart" 'state-passed' "$(curl -s "$L/attempts/$id_13")"

done_testing
