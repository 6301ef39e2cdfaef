#!/usr/bin/env bash
# diff.sh NAME - a differential test (tests/kv/NAME.py: listdiff for lists and hashes,
# setdiff for sets and sorted sets): one random command stream against a real redis-server
# and `strata kv`, replies compared. TAP. KV_<NAME>_SEED and KV_<NAME>_OPS (default 1 and
# 6000) pick the stream, e.g. KV_SETDIFF_SEED=3.
set -u
name=${1:?usage: diff.sh listdiff|setdiff}
. "$SRCROOT/tests/lib/tap.sh"
. "$SRCROOT/tests/kv/lib.sh"

T=$(mktemp -d "/tmp/kv-$name.XXXXXX")
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
upper=${name^^}
seed_var=KV_${upper}_SEED ops_var=KV_${upper}_OPS
python3 "$SRCROOT/tests/kv/$name.py" "$rport" "$sport" "${!seed_var:-1}" "${!ops_var:-6000}"
st=$?
for p in "${KV_PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
        echo "# a server exited during the run:"; tail -30 "$T"/*/*.log | sed 's/^/# /'; st=1
    fi
done
exit $st
