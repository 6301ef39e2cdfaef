#!/usr/bin/env bash
# kv.sh - the graders of the key-value questions (src/grade/kv.c) from the outside: each
# must pass redis-server, `strata kv` and a fake server without bugs (wrong/kv_fake.py
# --bug none), and FAIL the fake with a planted bug, on the check meant to catch it.
set -u
. "$SRCROOT/tests/lib/tap.sh"
export KV_PORT_BASE=${KV_PORT_BASE:-21500}
. "$SRCROOT/tests/kv/lib.sh"
S=$STRATA
F=$SRCROOT/tests/grade/wrong/kv_fake.py
export PYTHONDONTWRITEBYTECODE=1
T=$(mktemp -d /tmp/kv-grade.XXXXXX)
FAKES=()
trap 'kv_stop_all; for p in "${FAKES[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"' EXIT
QS="434 97 98 99 175 311 313"

grade_all() { # grade_all LABEL HOST:PORT: every kv grader passes
    local q out
    for q in $QS; do
        out=$("$S" grade "Q$q" --target "$2" --seed 7 2>&1)
        tap_result "$([ $? = 0 ] && echo 1 || echo 0)" "$1: Q$q passes" "$out"
    done
}

start_fake() { # start_fake BUG: sets FAKE_PORT (not in $(...): FAKES must see the pid)
    FAKE_PORT=$(kv_free_port)
    python3 "$F" --port "$FAKE_PORT" --bug "$1" >"$T/fake-$1.log" 2>&1 &
    FAKES+=($!)
    kv_wait_port "$FAKE_PORT" $! || { echo "fake $1 did not start" >&2; return 1; }
}

# ---- the real servers ----
if command -v redis-server >/dev/null; then
    rport=$(kv_free_port)
    if kv_start_redis "$T/redis" "$rport"; then
        grade_all redis-server "127.0.0.1:$rport"
    else
        tap_result 0 "redis-server starts" "$(cat "$T/redis/redis.log")"
    fi
else
    tap_n=$((tap_n + 1)); echo "ok $tap_n - redis-server # SKIP not installed"
fi
if "$S" kv --help >/dev/null 2>&1; then
    sport=$(kv_free_port)
    if kv_start_strata "$T/strata" "$sport"; then
        grade_all "strata kv" "127.0.0.1:$sport"
    else
        tap_result 0 "strata kv starts" "$(cat "$T/strata/strata.log")"
    fi
else
    tap_n=$((tap_n + 1)); echo "ok $tap_n - strata kv # SKIP the binary has no kv command yet"
fi

# ---- the fake: right without a bug, caught with each one ----
start_fake none && grade_all "fake without bugs" "127.0.0.1:$FAKE_PORT"

caught() { # caught BUG QUESTION REGEX-OF-THE-FAILING-CHECK
    local out st
    start_fake "$1" || { tap_result 0 "fake --bug $1 starts"; return; }
    out=$("$S" grade "Q$2" --target "127.0.0.1:$FAKE_PORT" --seed 7 2>&1); st=$?
    if [ "$st" = 1 ] && printf '%s\n' "$out" | grep -Eq "^FAIL .*$3"; then
        tap_result 1 "Q$2 catches --bug $1"
    else
        tap_result 0 "Q$2 catches --bug $1 (exit $st, expected a FAIL on /$3/)" "$out"
    fi
}
caught nottl 434 'expiry'
caught binary 434 'binary-safe'
caught nottl 97 'entries expire'
caught nonx 97 'stampede'
caught nottl 98 'sliding expiry'
caught nottl 99 'the window resets'
caught badcount 175 'PUBLISH reaches'
caught nopattern 175 'PSUBSCRIBE'
caught nonx 311 'acquire'
caught nottl 311 'the lease expires'
caught nowatch 311 'racing a new owner'
caught nonx 311 'mutual exclusion'
caught nooverflow 313 'errors'

# A target that does not answer: every check fails with the reason, exit 1.
out=$("$S" grade Q434 --target 127.0.0.1:1 --timeout 1000 2>&1); st=$?
ok "refused target: exit 1" test "$st" = 1
ok_match "refused target: the reason" 'cannot connect to 127\.0\.0\.1:1: connection refused' "$out"
done_testing
