#!/usr/bin/env bash
# kv.sh - `strata kv` against redis-server, both pinned to one core (bench/README.md).
#
#   bench/kv.sh BUILD_DIR [shared kv.sh options...]
#
# Starts `strata kv` (no persistence, like the redis the shared script starts) pinned to
# SERVER_CPU (default 0) and hands it to the shared comparison script (KV_BENCH, default
# ../shared/bench/kv.sh next to this repo), which starts redis-server pinned the same way,
# runs redis-benchmark on CLIENT_CPU (default 1) in alternating rounds, with and without
# pipelining, and prints medians and ratios to redis. Then it loads 1,000,000 small string
# keys into each server and prints INFO used_memory per key. Environment: PORT (default
# 16390), ROUNDS, REQUESTS, PIPELINES, TESTS: see kv.sh -h.
set -euo pipefail

die() {
    echo "bench/kv.sh: $*" >&2
    exit 1
}
[ $# -ge 1 ] || die "usage: bench/kv.sh BUILD_DIR [kv.sh options]"
build=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
script=${KV_BENCH:-$here/../../shared/bench/kv.sh}
[ -x "$script" ] || die "comparison script $script not found (set KV_BENCH)"
strata=$build/strata
[ -x "$strata" ] || die "$strata not found; build it first"
command -v redis-server >/dev/null || die "redis-server is not installed; run scripts/install-deps.sh bench"
port=${PORT:-16390}
cpu=${SERVER_CPU:-0}
dir=$(mktemp -d /tmp/kv-bench.XXXXXX)

taskset -c "$cpu" "$strata" kv --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    >"$dir/strata.log" 2>&1 &
pid=$!
rpid=
cleanup() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    if [ -n "$rpid" ]; then
        kill -TERM "$rpid" 2>/dev/null || true
        wait "$rpid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-cli -p "$port" ping >/dev/null 2>&1 || die "strata kv did not start: $(cat "$dir/strata.log")"

echo "== strata kv (pid $pid, CPU $cpu) vs redis-server, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit: $(git -C "$here/.." describe --always --dirty 2>/dev/null || echo unknown)"
"$script" "$@" "strata=127.0.0.1:$port"

# Memory per key: the same 1,000,000 keys (key:%07d -> 3-byte value) in both servers.
rport=$((port + 1))
taskset -c "$cpu" redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --daemonize no >"$dir/redis.log" 2>&1 &
rpid=$!
for _ in $(seq 50); do
    redis-cli -p "$rport" ping >/dev/null 2>&1 && break
    sleep 0.1
done
echo "== memory per key (1,000,000 SET key:%07d xxx)"
for side in "redis-server:$rport" "strata:$port"; do
    name=${side%%:*}
    p=${side##*:}
    redis-cli -p "$p" flushall >/dev/null
    before=$(redis-cli -p "$p" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
    python3 -c '
import sys
out = sys.stdout.buffer
for i in range(1000000):
    k = b"key:%07d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$11\r\n" + k + b"\r\n$3\r\nxxx\r\n")
' | redis-cli -p "$p" --pipe >/dev/null
    after=$(redis-cli -p "$p" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$( [ "$name" = strata ] && echo "$pid" || echo "$rpid")/status")
    echo "$name: used_memory $((after - before)) bytes for 1e6 keys = $(((after - before) / 1000000)) B/key, RSS ${rss} kB"
done
