#!/usr/bin/env bash
# listdiff.sh - the list/hash differential test (tests/kv/listdiff.py): one random
# command stream against a real redis-server and `strata kv`, replies compared. TAP.
set -u
. "$SRCROOT/tests/lib/tap.sh"
. "$SRCROOT/tests/kv/lib.sh"

T=$(mktemp -d /tmp/kv-listdiff.XXXXXX)
trap 'kv_stop_all; rm -rf "$T"' EXIT

if ! command -v redis-server >/dev/null; then
    echo "1..0 # SKIP redis-server is not installed (scripts/install-deps.sh test)"
    exit 0
fi
rport=$(kv_free_port)
if ! kv_start_redis "$T/redis" "$rport"; then
    echo "not ok 1 - redis-server starts"; sed 's/^/# /' "$T/redis/redis.log"; echo "1..1"; exit 1
fi
sport=$(kv_free_port)
if ! kv_start_strata "$T/strata" "$sport"; then
    echo "not ok 1 - strata kv starts"; sed 's/^/# /' "$T/strata/strata.log"; echo "1..1"; exit 1
fi
python3 "$SRCROOT/tests/kv/listdiff.py" "$rport" "$sport" "${KV_LISTDIFF_SEED:-1}" "${KV_LISTDIFF_OPS:-6000}"
st=$?
for p in "${KV_PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
        echo "# a server exited during the run:"; tail -30 "$T"/*/*.log | sed 's/^/# /'; st=1
    fi
done
exit $st
