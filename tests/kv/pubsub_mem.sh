#!/usr/bin/env bash
# pubsub_mem.sh - subscriptions count in INFO used_memory and give it all back when they
# end; INFO stats pubsub_channels, pubsub_patterns and instantaneous_ops_per_sec are
# measured, not constants (pubsub_mem.py), on `strata kv`. TAP.
set -u
. "$SRCROOT/tests/kv/lib.sh"
kv_require_strata
command -v python3 >/dev/null || { echo "1..0 # SKIP python3 is not installed"; exit 0; }

T=$(mktemp -d /tmp/kv-pubsubmem.XXXXXX)
trap 'kv_stop_all; rm -rf "$T"' EXIT
port=$(kv_free_port)
if ! kv_start_strata "$T/strata" "$port"; then
    echo "not ok 1 - strata kv starts"; sed 's/^/# /' "$T/strata/strata.log"; echo "1..1"; exit 1
fi
python3 "$SRCROOT/tests/kv/pubsub_mem.py" "$port"
st=$?
for p in "${KV_PIDS[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
        echo "# strata kv exited during the run:"; tail -30 "$T/strata/strata.log" | sed 's/^/# /'; st=1
    fi
done
exit $st
