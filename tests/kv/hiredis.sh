#!/usr/bin/env bash
# hiredis.sh - runs tests/kv/hiredis_test.c (HIREDIS_TEST, built by meson when libhiredis
# is installed) against redis-server and `strata kv`. TAP comes from the C program.
set -u
. "$SRCROOT/tests/lib/tap.sh"
. "$SRCROOT/tests/kv/lib.sh"
kv_require_strata
if ! command -v redis-server >/dev/null; then
    echo "1..0 # SKIP redis-server is not installed (scripts/install-deps.sh test)"
    exit 0
fi
T=$(mktemp -d /tmp/kv-hiredis.XXXXXX)
trap 'kv_stop_all; rm -rf "$T"' EXIT
rport=$(kv_free_port)
kv_start_redis "$T/redis" "$rport" || { echo "not ok 1 - redis-server starts"; echo "1..1"; exit 1; }
sport=$(kv_free_port)
kv_start_strata "$T/strata" "$sport" || { echo "not ok 1 - strata kv starts"; sed 's/^/# /' "$T/strata/strata.log"; echo "1..1"; exit 1; }
"$HIREDIS_TEST" "redis=127.0.0.1:$rport" "strata=127.0.0.1:$sport"
