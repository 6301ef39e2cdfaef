#!/usr/bin/env bash
# sql_graders.sh - the SQL data-layer graders from the outside: Q112 (migrations) and Q119
# (seeding) run a command per step against an SQLite file; Q131 (parameterised queries) is
# HTTP. Each must pass its reference (curriculum/solutions/*.py, `strata example sqlsafe`
# on SQLite and on PostgreSQL 15) and FAIL programs with one planted bug each
# (wrong/q1xx_*.py), at the check that names the bug.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
W=$SRCROOT/tests/grade/wrong
SOL=$SRCROOT/curriculum/solutions
export PYTHONDONTWRITEBYTECODE=1
tmp=$(mktemp -d /tmp/strata-sqlgrade.XXXXXX)
chmod 755 "$tmp" # PostgreSQL runs as an unprivileged user and needs to reach $pgdir
pgdir=$tmp/pg
trap '"$SRCROOT/scripts/pg-test.sh" stop "$pgdir" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
cd "$tmp"

migrate() { echo "python3 $1 {db} {dir} {action}"; }
seeder() { echo "python3 $1 {db} {seed} {rows}"; }
server() { echo "python3 $W/$1 --port {port} --db {dir}/users.db"; }

# ---- usage ----
ok_status 2 "Q112 needs --cmd" "$S" grade Q112 --target 127.0.0.1:1
ok_status 2 "Q112 refuses --target with --cmd" "$S" grade Q112 --target 127.0.0.1:1 --cmd "x {db} {dir} {action}"
ok_status 2 "Q112 needs {action}" "$S" grade Q112 --cmd "x {db} {dir}"
ok_status 2 "Q119 needs {rows}" "$S" grade Q119 --cmd "x {db} {seed}"
ok_status 2 "Q131 --cmd still needs {port}" "$S" grade Q131 --cmd "x {db}"
out=$("$S" grade Q112 --cmd "x {db} {dir}" 2>&1)
ok_match "Q112 names the missing placeholder" 'needs \{action\} in --cmd' "$out"
list=$("$S" grade --list)
ok_match "--list: Q112 runs --cmd" '^Q112 .*--cmd' "$list"
ok_match "--list: Q119 runs --cmd" '^Q119 .*--cmd' "$list"
ok_match "--list: Q131" '^Q131 ' "$list"

# A command that does not exist: every check fails with its exit status and output, exit 1.
out=$("$S" grade Q119 --seed 1 --cmd "/nonexistent/seed {db} {seed} {rows}" 2>&1); st=$?
ok "missing program: exit 1" test "$st" = 1
ok_match "missing program: status 127 and the shell's words" 'exited with status 127 .*not found' "$out"
ok_match "missing program: summary" '^Q119: 0/6 checks passed$' "$out"

# ---- the references pass ----
ok "Q112: the reference passes" "$S" grade Q112 --seed 1 --cmd "$(migrate "$SOL/q112_migrate.py")" --json "$tmp/q112.json"
ok "Q112 --json: six checks, all passed" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["grader"] == "Q112" and d["passed"] == d["total"] == 6, d
' "$tmp/q112.json"
ok "Q112: the reference passes two more rounds" bash -c \
    "'$S' grade Q112 --seed 7 --repeat 2 --cmd '$(migrate "$SOL/q112_migrate.py")' | grep -qx 'Q112: 12/12 checks passed'"
out=$("$S" grade Q119 --seed 1 --cmd "$(seeder "$SOL/q119_seed.py")" 2>&1); st=$?
ok "Q119: the reference passes" test "$st" = 0
ok_match "Q119: rows/s is reported" '50000 \+ 50000 rows in [0-9.]+ s: [0-9]+ rows/s' "$out"
ok "Q131: strata example sqlsafe passes (SQLite, 2 rounds)" bash -c \
    "'$S' grade Q131 --seed 1 --repeat 2 --cmd '$S example sqlsafe --listen 127.0.0.1:{port} --db sqlite:{dir}/u.db --workers 2' | grep -qx 'Q131: 10/10 checks passed'"
if url=$("$SRCROOT/scripts/pg-test.sh" start "$pgdir" 25451 2>"$tmp/pg.err") && [[ $url == postgres://* ]]; then
    ok "Q131: strata example sqlsafe passes (PostgreSQL)" "$S" grade Q131 --seed 2 \
        --cmd "$S example sqlsafe --listen 127.0.0.1:{port} --db $url --workers 2"
else
    tap_result 0 "Q131: strata example sqlsafe passes (PostgreSQL)" "pg-test.sh could not start PostgreSQL: $(cat "$tmp/pg.err")"
fi

# ---- sqlsafe's own answers to bad input, and a database error that must not leak ----
"$S" example sqlsafe --listen 127.0.0.1:0 --db "sqlite:$tmp/safe.db" --workers 1 >"$tmp/safe.out" 2>"$tmp/safe.err" &
safe=$!
for _ in $(seq 100); do grep -q listening "$tmp/safe.out" && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$tmp/safe.out")
ok "sqlsafe: bad input gets 400/422 problems, a lost table a generic 500" python3 - "$base" "$tmp/safe.db" <<'PY'
import json, sqlite3, sys, urllib.error, urllib.request
base, path = sys.argv[1], sys.argv[2]
def call(method, target, body=None, ctype="application/json"):
    req = urllib.request.Request(base + target, data=body, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
assert call("GET", "/users?name=%zz")[0] == 400
assert call("POST", "/users", b"[1]")[0] == 422
assert call("POST", "/users", b'{"name": "x"}')[0] == 422
assert call("POST", "/users", json.dumps({"name": "n" * 1001, "email": "e"}).encode())[0] == 422
assert call("POST", "/users", b'{"name": ')[0] == 400
assert call("POST", "/users", b'{"name": "ok", "email": "e@x"}')[0] == 201
db = sqlite3.connect(path)
db.execute("DROP TABLE users")
db.commit()
st, body = call("GET", "/users?name=ok")
assert st == 500, (st, body)
for w in ("SELECT", "no such table", "sqlite", "FROM users"):
    assert w.lower() not in body.lower(), body
PY
kill "$safe"
wait "$safe"
ok "sqlsafe: stops cleanly on SIGTERM" test $? = 0
ok_match "sqlsafe: the database error is in its log" 'sqlsafe: query failed.*no such table' "$(cat "$tmp/safe.err")"

# ---- wrong programs fail, at the check that names their bug ----
wrong() { # wrong Q COMMAND LABEL CHECK-REGEX
    local out st
    out=$("$S" grade "Q$1" --seed 3 --cmd "$2" 2>&1); st=$?
    if [ "$st" = 1 ] && printf '%s\n' "$out" | grep -Eq "^FAIL $4"; then
        tap_result 1 "Q$1 fails $3"
    else
        tap_result 0 "Q$1 fails $3" "exit $st: $out"
    fi
}
wrong 112 "$(migrate "$W/q112_no_transaction.py")" q112_no_transaction.py "a failing migration is rolled back"
wrong 112 "$(migrate "$W/q112_down_keeps_record.py")" q112_down_keeps_record.py "down 1, then down 2"
wrong 119 "$(seeder "$W/q119_unseeded.py")" q119_unseeded.py "the same seed gives identical data"
wrong 119 "$(seeder "$W/q119_dangling.py")" q119_dangling.py "every post's user_id names an existing user"
wrong 131 "$(server q131_interpolated.py)" q131_interpolated.py "classic payloads"
wrong 131 "$(server q131_interpolated.py)" "q131_interpolated.py (UNION)" "UNION SELECT payloads"
wrong 131 "$(server q131_interpolated.py)" "q131_interpolated.py (stacked DROP)" "stacked DROP TABLE"
wrong 131 "$(server q131_strip_quotes.py)" q131_strip_quotes.py "names with quotes"

# The reports say why, with the command or the request.
out=$("$S" grade Q112 --seed 3 --cmd "$(migrate "$W/q112_no_transaction.py")" 2>&1)
ok_match "Q112 report: the half-applied table is named" 'why: after `.*up \(migration 4 broken\)` the database should be exactly as after migrations 1\.\.3; first difference: "table\|c_' "$out"
out=$("$S" grade Q131 --seed 3 --cmd "$(server q131_interpolated.py)" 2>&1)
ok_match "Q131 report: the payload that matched" "why: name=\"' OR '1'='1\" matched [0-9]+ users" "$out"
ok_match "Q131 report: the request sent" 'GET /users\?name=%27%20OR%20%271%27%3D%271 HTTP/1\.1' "$out"

done_testing
