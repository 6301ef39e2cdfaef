#!/usr/bin/env bash
# tfb.sh - the TechEmpower database test types: strata against the Node.js peer
# (bench/peers/tfb-node: fastify + pg), on the same throwaway PostgreSQL 15, plus strata's
# SQLite figures (bench/README.md).
#
#   bench/tfb.sh BUILD_DIR
#
# strata (`example bench --workers 1 --db URL`) and the peer (one node process) are pinned
# to SERVER_CPU (default 0), wrk to CLIENT_CPU (default 1); PostgreSQL is not pinned: it
# shares both cores, so the servers' own CPU per request decides the comparison and is
# reported, with PostgreSQL's. For every route and round the two servers take turns
# (the order alternates between rounds); the table has medians of requests/s, p99 latency
# and CPU microseconds per request (server, and PostgreSQL summed over its processes), and
# the ratios strata/peer. Then the same routes on SQLite for strata alone.
#
# Environment: ROUNDS (5), DURATION (seconds per run, 10), WARMUP (seconds, 2), CONNS
# (wrk connections, 256), ROUTES (space separated, default below), POOL (database
# connections of each server, 16), SQLITE (1: also measure SQLite), PORT (22180; the peer
# gets PORT+1), PGPORT (25441), STRATA_ARGS (more flags for strata on PostgreSQL, e.g.
# --db-query-each: every read its own batch and transaction, TechEmpower's strictest reading).
set -euo pipefail

bench=tfb.sh
# shellcheck source=bench/lib-db.sh
. "$(dirname "$0")/lib-db.sh"
db_bench_init "${1:-}" 22180 25441
routes=${ROUTES:-/db /queries?queries=20 /fortunes /updates?queries=20}

# wrk_route ROUTE PORT ARGS... - wrk on the route's URL.
wrk_route() {
    local route=$1 p=$2
    shift 2
    taskset -c "$ccpu" wrk "$@" "http://127.0.0.1:$p$route"
}

# ---- PostgreSQL, strata, the peer ----
start_pg
# shellcheck disable=SC2086
taskset -c "$scpu" "$strata" example bench --listen "127.0.0.1:$port" --workers 1 --db "$url" --db-pool "$pool" \
    ${STRATA_ARGS:-} >"$tmp/strata.out" 2>&1 &
spid=$!
pids+=("$spid")
wait_ready "$tmp/strata.out" "$spid"
# shellcheck disable=SC2119
start_peer

# Both servers must pass the same checks as tests/examples/tfb.sh before being measured.
check=(python3 "$root/tests/examples/tfb_check.py")
for p in "$port" "$nport"; do
    "${check[@]}" world "http://127.0.0.1:$p/db" 0 >/dev/null || die "port $p: /db is wrong"
    for q in 20:20 0:1 abc:1 1000:500; do
        "${check[@]}" world "http://127.0.0.1:$p/queries?queries=${q%%:*}" "${q##*:}" >/dev/null ||
            die "port $p: /queries?queries=${q%%:*} is wrong"
        "${check[@]}" world "http://127.0.0.1:$p/updates?queries=${q%%:*}" "${q##*:}" >/dev/null ||
            die "port $p: /updates?queries=${q%%:*} is wrong"
    done
    "${check[@]}" world "http://127.0.0.1:$p/cached-queries?count=20" 20 >/dev/null || die "port $p: /cached-queries"
    "${check[@]}" fortunes "http://127.0.0.1:$p/fortunes" "$root/tests/examples/tfb_fortunes.html" ||
        die "port $p: /fortunes is wrong"
done

echo "== TechEmpower database tests: strata vs Node.js ($(peer_versions)), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit: $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
echo "servers on CPU $scpu, wrk on CPU $ccpu (-c$conns, ${duration}s, ${warmup}s warm-up), PostgreSQL 15 unpinned, pools of $pool, $rounds rounds${STRATA_ARGS:+, strata $STRATA_ARGS}"
# shellcheck disable=SC2086
compare $routes

# ---- SQLite, strata only ----
if [ "${SQLITE:-1}" = 1 ]; then
    # shellcheck disable=SC2086
    sqlite_alone $routes -- example bench --listen "127.0.0.1:$port" --workers 1 --db "sqlite:$tmp/tfb.db"
fi
