#!/usr/bin/env bash
# http.sh - strata's HTTP engine against nginx, side by side in one run (bench/README.md).
#
#   bench/http.sh BUILD_DIR [http-plaintext.sh options...]
#
# Starts `strata example bench --workers 1` pinned to SERVER_CPU (default 0), serving
# /plaintext and the files of /tmp/httpbench-www, and hands it to the shared comparison
# script (HTTP_BENCH, default ../shared/bench/http-plaintext.sh next to this repo), which
# starts nginx pinned the same way, runs wrk on CLIENT_CPU (default 1) in alternating
# rounds and prints medians and ratios. Server CPU per request is printed from the same
# runs. Environment: ROUNDS (default 5), PORT (default 18090), SERVERS (default nginx),
# VARIANTS, DURATION: see http-plaintext.sh -h.
set -euo pipefail

die() {
    echo "bench/http.sh: $*" >&2
    exit 1
}
[ $# -ge 1 ] || die "usage: bench/http.sh BUILD_DIR [http-plaintext.sh options]"
build=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
script=${HTTP_BENCH:-$here/../../shared/bench/http-plaintext.sh}
[ -x "$script" ] || die "comparison script $script not found (set HTTP_BENCH)"
strata=$build/strata
[ -x "$strata" ] || die "$strata not found; build it first"
command -v nginx >/dev/null || die "nginx is not installed; run scripts/install-deps.sh bench"
port=${PORT:-18090}
cpu=${SERVER_CPU:-0}

# The shared script creates the files on its first run; make them now so our server can
# be started before it (same sizes; the script checks the bytes it fetches).
www=${WWW_DIR:-/tmp/httpbench-www}
make_file() { # the shared script's content: a repeated pangram line, cut to size
    [ -f "$1" ] && [ "$(stat -c %s "$1")" = "$2" ] && return
    mkdir -p "$(dirname "$1")"
    head -c "$2" < <(yes 'The quick brown fox jumps over the lazy dog 0123456789 ABCDEFGHIJKLMNOPQRSTUV') >"$1"
}
make_file "$www/static/4k.bin" 4096
make_file "$www/static/1m.bin" 1048576
[ -f "$www/static/4k.bin" ] || die "$www/static/4k.bin missing: run $script once"

out=$(mktemp)
taskset -c "$cpu" "$strata" example bench --listen "127.0.0.1:$port" --workers 1 --root "$www" >"$out" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do
    grep -q listening "$out" && break
    sleep 0.1
done
grep -q listening "$out" || die "strata did not start: $(cat "$out")"

echo "== strata example bench (pid $pid, CPU $cpu) vs nginx, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit: $(git -C "$here/.." describe --always --dirty 2>/dev/null || echo unknown)"
ROUNDS=${ROUNDS:-5} SERVERS=${SERVERS:-nginx} "$script" "$@" "strata=127.0.0.1:$port/plaintext,static=/static"
