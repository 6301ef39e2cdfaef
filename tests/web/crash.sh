#!/usr/bin/env bash
# crash.sh - kill -9 during writes through the API loses nothing acknowledged.
#
# Each round: a Python client writes statuses and notes through /api/v1 from several
# connections at once (each connection owns its own questions, so its writes to one
# question are ordered), logging every write before sending it and every 2xx it gets
# back. At a random moment the server gets SIGKILL. It is restarted on the same --data and
# every question must hold its last acknowledged value, or the value of a write sent after
# it whose answer the kill cut off (committed, not yet acknowledged). The database passes
# PRAGMA integrity_check. The state checked becomes the baseline of the next round.
set -u
. "$SRCROOT/tests/lib/tap.sh"
# The interpreter itself, not a version manager's shim in front of it: started many times.
py=$(python3 -c 'import sys; print(sys.executable)')
S=$STRATA
work=$(mktemp -d)
srv=
cleanup() {
    [ -n "$srv" ] && kill -KILL "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
data=$work/data
rounds=${CRASH_ROUNDS:-5}

start() {
    local out=$work/serve.out
    : >"$out"
    "$S" serve --listen 127.0.0.1:0 --data "$data" >"$out" 2>>"$work/serve.err" &
    srv=$!
    base=
    for _ in $(seq 1 200); do
        base=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$out")
        [ -n "$base" ] && return 0
        kill -0 "$srv" 2>/dev/null || break
        sleep 0.05
    done
    return 1
}

cat >"$work/writer.py" <<'EOF'
# writer.py BASE LOG ROUND: write until the server goes away. LOG gets "sent" lines before
# each request and "ack" lines after each 2xx, written unbuffered (one os.write each).
import http.client, json, os, random, sys, threading, urllib.parse
base, logpath, rnd = sys.argv[1], sys.argv[2], sys.argv[3]
u = urllib.parse.urlparse(base)
fd = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
STATUSES = ["todo", "doing", "done", "review"]
THREADS = 4

def log(*parts):
    os.write(fd, (json.dumps(parts) + "\n").encode())

def run(t):
    rng = random.Random(f"{rnd}-{t}")
    mine = [q for q in range(1, 501) if q % THREADS == t]
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    i = 0
    while True:
        i += 1
        q = rng.choice(mine)
        if rng.random() < 0.5:
            kind, value = "status", rng.choice(STATUSES)
            path, body = f"/api/v1/questions/{q}/status", {"status": value}
        else:
            kind = "note"
            value = "" if rng.random() < 0.1 else f"round {rnd} thread {t} write {i} <b>&amp;</b> ü"
            path, body = f"/api/v1/questions/{q}/note", {"text": value}
        log("sent", kind, q, value)
        try:
            conn.request("PUT", path, json.dumps(body), {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
        except Exception:
            return  # killed
        if 200 <= r.status < 300:
            log("ack", kind, q, value)
        elif r.status != 503:
            log("error", kind, q, r.status)

threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
for th in threads: th.start()
for th in threads: th.join()
EOF

cat >"$work/check.py" <<'EOF'
# check.py BASE LOG STATE: compare the server's state with what the log says must be
# there; print a summary, write the observed state to STATE (the next round's baseline).
import json, sys, urllib.request
base, logpath, statepath = sys.argv[1:]
try:
    state = json.load(open(statepath))
except FileNotFoundError:
    state = {"status": {}, "note": {}}
# allowed[kind][q]: the last acknowledged value, plus any value sent after it.
allowed = {k: {q: {v} for q, v in state[k].items()} for k in ("status", "note")}
acks = errors = 0
for line in open(logpath):
    try:
        what, kind, q, value = json.loads(line)
    except ValueError:
        continue  # a line cut by the kill is impossible (one write), but be safe
    q = str(q)
    if what == "ack":
        acks += 1
        allowed[kind][q] = {value}
    elif what == "sent":
        allowed[kind].setdefault(q, {"todo" if kind == "status" else ""}).add(value)
    else:
        errors += 1

def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)

status = {}
for page in range(1, 6):
    for it in get(f"/api/v1/questions?per_page=100&page={page}")["items"]:
        status[str(it["id"])] = it["status"]
notes = {str(n["question"]): n["text"] for n in get("/api/v1/notes")["items"]}
bad = []
for q in map(str, range(1, 501)):
    if status[q] not in allowed["status"].get(q, {"todo"}):
        bad.append(f"status of {q} is {status[q]!r}, allowed {allowed['status'][q]!r}")
    if notes.get(q, "") not in allowed["note"].get(q, {""}):
        bad.append(f"note of {q} is {notes.get(q, '')!r}, allowed {allowed['note'][q]!r}")
json.dump({"status": status, "note": notes}, open(statepath, "w"))
print(f"{acks} acknowledged writes, {errors} errors, {len(bad)} lost")
for b in bad[:20]:
    print(b)
sys.exit(1 if bad or errors or acks == 0 else 0)
EOF

start || { tap_result 0 "server starts" "$(cat "$work/serve.err")"; done_testing; exit 1; }
tap_result 1 "server starts"
for r in $(seq 1 "$rounds"); do
    log=$work/log.$r
    : >"$log"
    "$py" "$work/writer.py" "$base" "$log" "$r" &
    writer=$!
    # A random moment once writes flow: 0.3 .. 1.5 s.
    sleep "$("$py" -c 'import random; print(round(random.uniform(0.3, 1.5), 3))')"
    kill -KILL "$srv"
    wait "$srv" 2>/dev/null
    st=$?
    srv=
    wait "$writer"
    tap_result "$([ "$st" = 137 ] && echo 1 || echo 0)" "round $r: server killed by SIGKILL mid-writes" "exit $st"
    integrity=$(sqlite3 "$data/progress.db" 'PRAGMA integrity_check')
    tap_result "$([ "$integrity" = ok ] && echo 1 || echo 0)" "round $r: integrity_check ok after the kill" "$integrity"
    if ! start; then
        tap_result 0 "round $r: restart on the same data" "$(tail -5 "$work/serve.err")"
        break
    fi
    out=$("$py" "$work/check.py" "$base" "$log" "$work/state.json" 2>&1)
    tap_result "$([ $? = 0 ] && echo 1 || echo 0)" "round $r: every acknowledged write survived (${out%%$'\n'*})" "$out"
done

# The CLI reads the same state the API was checked against.
ok "the CLI agrees with the last state checked" "$py" -c '
import json,sys; st=json.load(open(sys.argv[1]))["status"]; c=json.loads(sys.argv[2])
for k in ("todo","doing","done","review"):
    assert c[k] == sum(1 for v in st.values() if v == k), (k, c)' "$work/state.json" "$("$S" progress --json --data "$data")"
kill -TERM "$srv"
wait "$srv"
st=$?
srv=
tap_result "$([ "$st" = 0 ] && echo 1 || echo 0)" "the last server stops cleanly" "exit $st"
ok "no sanitizer report in the servers' stderr" test -z "$(grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error' "$work/serve.err")"
done_testing
