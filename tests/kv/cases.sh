#!/usr/bin/env bash
# cases.sh - run every tests/kv/cases/*.txt (syntax: tests/kv/run_cases.py) against a
# real redis-server AND `strata kv`, so each expectation is proven on Redis first. TAP:
# one line per block per server. KV_TARGETS=redis (or strata) limits the run to one side;
# extra arguments select case files (default: all).
set -u
. "$SRCROOT/tests/lib/tap.sh"
. "$SRCROOT/tests/kv/lib.sh"
[[ " ${KV_TARGETS:-redis strata} " == *" strata "* ]] && kv_require_strata

T=$(mktemp -d /tmp/kv-cases.XXXXXX)
trap 'kv_stop_all; rm -rf "$T"' EXIT

targets=()
want=${KV_TARGETS:-redis strata}
if [[ " $want " == *" redis "* ]]; then
    if ! command -v redis-server >/dev/null; then
        echo "1..0 # SKIP redis-server is not installed (scripts/install-deps.sh test)"
        exit 0
    fi
    rport=$(kv_free_port)
    if ! kv_start_redis "$T/redis" "$rport"; then
        echo "not ok 1 - redis-server starts"; cat "$T/redis/redis.log" | sed 's/^/# /'; echo "1..1"; exit 1
    fi
    targets+=(--target "redis=127.0.0.1:$rport")
fi
if [[ " $want " == *" strata "* ]]; then
    sport=$(kv_free_port)
    if ! kv_start_strata "$T/strata" "$sport"; then
        echo "not ok 1 - strata kv starts"; sed 's/^/# /' "$T/strata/strata.log"; echo "1..1"; exit 1
    fi
    targets+=(--target "strata=127.0.0.1:$sport")
fi

if [ $# -gt 0 ]; then files=("$@"); else files=("$SRCROOT"/tests/kv/cases/*.txt); fi
python3 "$SRCROOT/tests/kv/run_cases.py" "${targets[@]}" "${files[@]}"
st=$?
# A server that died during the run (a crash under ASan) is a failure even if the cases passed.
for p in "${KV_PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
        echo "# a server exited during the run:"; tail -30 "$T"/*/*.log | sed 's/^/# /'; st=1
    fi
done
exit $st
