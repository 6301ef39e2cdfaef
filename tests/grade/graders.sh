#!/usr/bin/env bash
# graders.sh - `strata grade` from the outside. Every grader must pass a correct app
# (wrong/app.py) and FAIL an app with one planted bug (wrong/qNN_*.py, naming the check
# that must catch it); usage errors exit 2; and, once the binary has it, every grader must
# pass the reference app `strata example basics`.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
W=$SRCROOT/tests/grade/wrong
export PYTHONDONTWRITEBYTECODE=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

skip() { # skip NAME REASON
    tap_n=$((tap_n + 1))
    echo "ok $tap_n - $1 # SKIP $2"
}
app() { echo "python3 $W/$1 --port {port} --dir {dir}"; }

# ---- usage ----
ok_status 2 "no question: exit 2" "$S" grade
ok_status 2 "unknown grader: exit 2" "$S" grade Q499 --target 127.0.0.1:1
ok_status 2 "neither --target nor --cmd: exit 2" "$S" grade Q11
ok_status 2 "Q16 needs --cmd" "$S" grade Q16 --target 127.0.0.1:1
ok_status 2 "Q20 needs {dir} in --cmd" "$S" grade Q20 --cmd "true {port}"
ok_status 2 "--cmd needs {port}" "$S" grade Q11 --cmd "true"
ok_status 2 "bad target" "$S" grade Q11 --target "no-port-here"
ok_status 2 "https is refused" "$S" grade Q11 --target "https://127.0.0.1:1"
list=$("$S" grade --list)
ok "--list: Module 1's ten graders" test "$(printf '%s\n' "$list" | grep -cE '^Q(1[1-9]|20) ')" -eq 10
ok_match "--list: Q20 needs --cmd {dir}" '^Q20 .*--cmd \{dir\}' "$list"
ok_match "--help mentions --seed" '--seed' "$("$S" grade --help)"

# Nothing listening: every check fails with a clear reason, exit 1.
out=$("$S" grade Q11 --target 127.0.0.1:1 --seed 5 --timeout 2000 2>&1); st=$?
ok "refused: exit 1" test "$st" = 1
ok_match "refused: the reason" 'connection refused by 127\.0\.0\.1:1' "$out"
ok_match "refused: the summary line" '^Q11: 0/3 checks passed$' "$out"
ok_match "refused: the seed is printed" 'seed: 5 \(repeat with --seed 5\)' "$out"

# A program that exits at once, and one that never listens.
out=$("$S" grade Q11 --cmd "echo oops; exit 3 # {port}" 2>&1); st=$?
ok "program exits: exit 1" test "$st" = 1
ok_match "program exits: status and output shown" 'exited \(status 3\).*|oops' "$out"

# ---- a correct app passes every grader (and the JSON report is right) ----
for q in 11 12 13 14 15 16 17 18 19 20; do
    ok "Q$q: the correct app passes" "$S" grade Q$q --seed 1 --cmd "$(app app.py)" --json "$tmp/q$q.json"
done
ok "--json: grader, seed, checks with name/passed/reason/duration_ms" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["grader"] == "Q13" and d["seed"] == 1 and d["passed"] == d["total"] == len(d["checks"]) > 0, d
for c in d["checks"]:
    assert set(c) >= {"name", "passed", "reason", "duration_ms"} and c["passed"] is True and c["reason"] is None, c
' "$tmp/q13.json"
ok "--repeat 2 runs every check twice" bash -c \
    "'$S' grade Q14 --seed 9 --repeat 2 --cmd '$(app app.py)' | grep -qx 'Q14: 12/12 checks passed'"

# ---- wrong apps fail, at the check that names their bug ----
wrong() { # wrong Q SCRIPT CHECK-REGEX
    local out st
    out=$("$S" grade "Q$1" --seed 3 --cmd "$(app "$2")" 2>&1); st=$?
    if [ "$st" = 1 ] && printf '%s\n' "$out" | grep -Eq "^FAIL $3"; then
        tap_result 1 "Q$1 fails $2"
    else
        tap_result 0 "Q$1 fails $2" "exit $st: $out"
    fi
}
wrong 11 q11_no_keepalive.py "keep-alive"
wrong 11 q11_head_body.py "HEAD / -> 200 without a body"
wrong 12 q12_local_time.py "GET /time"
wrong 12 q12_epoch_seconds.py "GET /time"
wrong 13 q13_not_pretty.py "POST /echo a random nested object"
wrong 13 q13_plain_errors.py "POST /echo invalid JSON"
wrong 14 q14_no_allow.py "POST /about -> 405"
wrong 15 q15_case_sensitive.py "GET /search\?q=TERM"
wrong 16 q16_no_status.py "random requests: each logged"
wrong 17 q17_html_404.py "GET of random unknown paths"
wrong 17 q17_trace.py "GET /error -> 500"
wrong 18 q18_post_200.py "POST /users -> 201"
wrong 19 q19_first_error.py "several bad fields"
wrong 20 q20_traversal.py "traversal"

# A failure report shows what was sent, what came back and why.
out=$("$S" grade Q18 --seed 3 --cmd "$(app q18_post_200.py)" 2>&1)
ok_match "report: why" 'why: expected status 201, got 200' "$out"
ok_match "report: the request sent" '"POST /users HTTP/1\.1"' "$out"
ok_match "report: the response received" 'HTTP/1\.1 200 OK' "$out"
ok_match "report: the body" '\(body, [0-9]+ bytes\) "\{\\"id\\"' "$out"

# ---- the reference app ----
if "$S" example basics --help >/dev/null 2>&1; then
    for q in 11 12 13 14 15 16 17 18 19 20; do
        ok "Q$q: strata example basics passes" "$S" grade Q$q --seed 2 \
            --cmd "$S example basics --listen 127.0.0.1:{port} --directory {dir}"
    done
else
    for q in 11 12 13 14 15 16 17 18 19 20; do
        skip "Q$q: strata example basics passes" "'strata example basics' is not in this binary yet"
    done
fi

done_testing
