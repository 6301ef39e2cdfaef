#!/usr/bin/env bash
# pubsub.sh - the multi-connection tests of pub/sub and transactions (pubsub_test.py)
# against redis-server AND `strata kv`, both with appendonly yes / appendfsync always so
# the test can read the MULTI ... EXEC block back from the AOF. TAP. KV_TARGETS=redis (or
# strata) limits the run to one side.
set -u
. "$SRCROOT/tests/lib/tap.sh"
export KV_PORT_BASE=${KV_PORT_BASE:-21500}
. "$SRCROOT/tests/kv/lib.sh"

T=$(mktemp -d /tmp/kv-pubsub.XXXXXX)
trap 'kv_stop_all; rm -rf "$T"' EXIT

targets=()
want=${KV_TARGETS:-redis strata}
if [[ " $want " == *" redis "* ]]; then
    if ! command -v redis-server >/dev/null; then
        echo "1..0 # SKIP redis-server is not installed (scripts/install-deps.sh test)"
        exit 0
    fi
    rport=$(kv_free_port)
    if ! kv_start_redis "$T/redis" "$rport" --appendonly yes --appendfsync always; then
        echo "not ok 1 - redis-server starts"; sed 's/^/# /' "$T/redis/redis.log"; echo "1..1"; exit 1
    fi
    targets+=(--target "redis=127.0.0.1:$rport:$T/redis")
fi
if [[ " $want " == *" strata "* ]]; then
    sport=$(kv_free_port)
    if ! kv_start_strata "$T/strata" "$sport" --appendonly yes --appendfsync always; then
        echo "not ok 1 - strata kv starts"; sed 's/^/# /' "$T/strata/strata.log"; echo "1..1"; exit 1
    fi
    targets+=(--target "strata=127.0.0.1:$sport:$T/strata")
fi

python3 "$SRCROOT/tests/kv/pubsub_test.py" "${targets[@]}"
st=$?
# A server that died during the run (a crash under ASan) fails the test.
for p in "${KV_PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
        echo "# a server exited during the run:"; tail -30 "$T"/*/*.log | sed 's/^/# /'; st=1
    fi
done
exit $st
