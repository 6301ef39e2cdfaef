#!/usr/bin/env bash
# sql_pool.sh - Q111 (connection pooling) from the outside, on a throwaway PostgreSQL 15:
# `strata example pool` passes; servers with one planted bug each (wrong/q111_*.py: no
# pool, an unbounded pool, a pool that never replaces a dead connection) FAIL at the check
# that names the bug; the Python base they patch passes, so the bug is what fails them.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
W=$SRCROOT/tests/grade/wrong
export PYTHONDONTWRITEBYTECODE=1
tmp=$(mktemp -d /tmp/strata-poolgrade.XXXXXX)
chmod 755 "$tmp" # PostgreSQL runs as an unprivileged user and needs to reach $pgdir
pgdir=$tmp/pg
trap '"$SRCROOT/scripts/pg-test.sh" stop "$pgdir" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
cd "$tmp"

# psycopg2 is Debian's python3-psycopg2: a python3 earlier on PATH (pyenv) may lack it.
PY=
for p in python3 /usr/bin/python3; do
    if "$p" -c 'import psycopg2' 2>/dev/null; then PY=$p; break; fi
done
app() { echo "$S example pool --listen 127.0.0.1:{port} --db {db} --pool {pool}"; }
py() { echo "$PY $W/$1 --port {port} --db {db} --pool {pool}"; }

# ---- usage (no database needed) ----
ok_status 2 "Q111 needs --db" "$S" grade Q111 --cmd "$(app)"
ok_status 2 "Q111 needs a postgres:// --db" "$S" grade Q111 --db sqlite:x.db --cmd "$(app)"
ok_status 2 "Q111 needs {pool} in --cmd" "$S" grade Q111 --db postgres://u@127.0.0.1:1/d \
    --cmd "x {port} {db}"
ok_status 2 "Q111 needs --cmd (the grader picks the database)" "$S" grade Q111 \
    --db postgres://u@127.0.0.1:1/d --target 127.0.0.1:1
out=$("$S" grade Q111 --cmd "$(app)" 2>&1)
ok_match "Q111 says what --db is for" 'needs --db postgres://' "$out"
ok_status 2 "example pool refuses SQLite" "$S" example pool --db sqlite:x.db
ok_match "--list: Q111 runs --cmd" '^Q111 .*--cmd' "$("$S" grade --list)"
# A grader that runs a command per step has no server: the command is printed, not a target.
out=$("$S" grade Q119 --seed 1 --cmd "/nonexistent/seed {db} {seed} {rows}" 2>&1)
ok_match "Q119 prints its command" '^command: /nonexistent/seed \{db\} \{seed\} \{rows\} \(run once per step, no server\)$' "$out"
ok "Q119 prints no target line" bash -c '! printf "%s\n" "$0" | grep -q "^target:"' "$out"
ok_match "Q119 prints the seed" '^seed: 1 \(repeat with --seed 1\)$' "$out"

if ! url=$("$SRCROOT/scripts/pg-test.sh" start "$pgdir" 25461 2>"$tmp/pg.err") || [[ $url != postgres://* ]]; then
    tap_result 0 "PostgreSQL for Q111" "pg-test.sh could not start PostgreSQL: $(cat "$tmp/pg.err")"
    done_testing
    exit
fi

# An unreachable --db: a clear start failure, exit 1.
out=$("$S" grade Q111 --seed 1 --db postgres://nobody@127.0.0.1:1/x --cmd "$(app)" 2>&1); st=$?
ok "unreachable --db: exit 1" test "$st" = 1
ok_match "unreachable --db: says so" 'cannot connect to --db' "$out"

# ---- the reference passes, and leaves no database behind ----
out=$("$S" grade Q111 --seed 1 --repeat 2 --db "$url" --cmd "$(app)" --json "$tmp/q111.json" 2>&1); st=$?
ok "Q111: strata example pool passes (2 rounds)" test "$st" = 0
ok_match "Q111: 6/6" '^Q111: 6/6 checks passed$' "$out"
ok_match "Q111: the database and pool size are printed" 'database: strata_q111_[0-9a-f]{8}   pool: [2-6]' "$out"
ok_match "Q111: a command grader prints its target and seed" '^target: http://127\.0\.0\.1:[0-9]+$' "$out"
ok "Q111 --json: three checks a round, all passed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["grader"] == "Q111" and d["passed"] == d["total"] == 6, d
' "$tmp/q111.json"
left=$(psql "$url" -Atc "SELECT count(*) FROM pg_database WHERE datname LIKE 'strata_q111_%'" 2>&1)
ok "Q111: the run's databases are dropped" test "$left" = 0

# /stats and a bad ms, on the example run by hand

"$S" example pool --listen 127.0.0.1:0 --db "$url" --pool 2 >"$tmp/pool.out" 2>"$tmp/pool.err" &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/pool.out" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$tmp/pool.out")
ok "example pool: /pid, /sleep, /stats and a bad ms" python3 - "$base" <<'PY'
import json, sys, urllib.error, urllib.request
base = sys.argv[1]
def get(t):
    try:
        with urllib.request.urlopen(base + t, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
st, b = get("/pid"); assert st == 200 and b["pid"] > 0, b
st, b = get("/sleep?ms=10"); assert st == 200 and b["ms"] == 10 and b["pid"] > 0, b
for bad in ("/sleep", "/sleep?ms=x", "/sleep?ms=10001", "/sleep?ms=-1"):
    st, b = get(bad); assert st == 400, (bad, st, b)
st, s = get("/stats")
assert st == 200 and s["max_size"] == 2 and 1 <= s["size"] <= 2 and s["acquired"] >= 2, s
assert s["in_use"] == 0 and s["waiting"] == 0, s
PY
kill "$pid"
wait "$pid"
ok "example pool: stops cleanly on SIGTERM" test $? = 0

# ---- wrong programs fail, at the check that names their bug ----
if [ -z "$PY" ]; then
    tap_result 0 "python3 with psycopg2 (scripts/install-deps.sh test)" "neither python3 nor /usr/bin/python3 imports psycopg2"
    done_testing
    exit
fi
ok "Q111: the Python base of the wrong servers passes" "$S" grade Q111 --seed 3 --db "$url" --cmd "$(py q111_base.py)"
wrong() { # wrong FILE CHECK-REGEX REASON-REGEX
    local out st
    out=$("$S" grade Q111 --seed 3 --db "$url" --cmd "$(py "$1")" 2>&1); st=$?
    if [ "$st" = 1 ] && printf '%s\n' "$out" | grep -Eq "^FAIL $2" && printf '%s\n' "$out" | grep -Eq "why: .*$3"; then
        tap_result 1 "Q111 fails $1 ($2)"
    else
        tap_result 0 "Q111 fails $1 ($2)" "exit $st: $out"
    fi
}
wrong q111_per_request.py reuse 'distinct backend pids with --pool [2-6]: connections are not reused'
wrong q111_unbounded.py bounded 'under 40 concurrent requests the app held [0-9]+ connections'
wrong q111_no_reconnect.py recovery 'requests failed .*at most [0-9]+ may fail'
out=$("$S" grade Q111 --seed 3 --db "$url" --cmd "$(py q111_unbounded.py)" 2>&1)
ok_match "Q111: an unbounded pool passes reuse (it does reuse idle connections)" '^ok   reuse' "$out"

done_testing
