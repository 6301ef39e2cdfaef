# shellcheck shell=bash disable=SC2034,SC2154
# (variables set here are the sourcing script's; `bench` is set by it)
# lib-db.sh - what bench/tfb.sh and bench/blog.sh share: strata against the Node.js peer
# (bench/peers/tfb-node) on one throwaway PostgreSQL 15, then strata alone on SQLite.
# Sourced, not run. The sourcing script sets `bench` (its name, for messages), then calls
# db_bench_init and defines wrk_route ROUTE PORT WRK_ARGS... (wrk on one route of the server
# on PORT, pinned to $ccpu).
#
# Servers are pinned to SERVER_CPU (0), wrk to CLIENT_CPU (1); PostgreSQL is not pinned, so
# each server's CPU per request, and PostgreSQL's while serving it, are measured from /proc.
# For every route and round the two servers take turns (the order alternates between
# rounds); the tables have medians of requests/s, p99 latency and CPU microseconds per
# request, and the ratios strata/peer.
#
# Environment read here: ROUNDS (5), DURATION (seconds per run, 10), WARMUP (seconds, 2),
# CONNS (wrk connections, 256), POOL (database connections of each server, 16), SERVER_CPU,
# CLIENT_CPU, PORT (the script's default; the peer gets PORT+1), PGPORT (the script's).

die() {
    echo "bench/$bench: $*" >&2
    exit 1
}

# db_bench_init BUILD_DIR DEFAULT_PORT DEFAULT_PGPORT - settings, tools, a temporary
# directory and the cleanup that stops every server started (pids) and PostgreSQL.
db_bench_init() {
    [ -n "${1:-}" ] || die "usage: bench/$bench BUILD_DIR"
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    root=$(cd "$here/.." && pwd)
    strata=$1/strata
    [ -x "$strata" ] || die "$strata not found; build it first"
    local c
    for c in wrk taskset node npm psql; do
        command -v "$c" >/dev/null || die "$c is not installed (scripts/install-deps.sh bench)"
    done
    rounds=${ROUNDS:-5}
    duration=${DURATION:-10}
    warmup=${WARMUP:-2}
    conns=${CONNS:-256}
    pool=${POOL:-16}
    scpu=${SERVER_CPU:-0}
    ccpu=${CLIENT_CPU:-1}
    port=${PORT:-$2}
    nport=$((port + 1))
    pgport=${PGPORT:-$3}
    peer=$here/peers/tfb-node
    tmp=$(mktemp -d "/tmp/strata-${bench%.sh}-bench.XXXXXX")
    chmod 755 "$tmp"
    pids=()
    pgdir=$tmp/pg
    trap db_bench_cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
}

db_bench_cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    "$root/scripts/pg-test.sh" stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}

# ticks PID... - utime+stime of these processes (clock ticks), those that still exist.
ticks() {
    local p t=0 s
    for p in "$@"; do
        s=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + s))
    done
    echo "$t"
}

# pg_ticks - PostgreSQL's CPU so far: the postmaster's own and its reaped children's
# (utime, stime, cutime, cstime), plus every live child's: a backend that exits moves its
# ticks from the live sum to cutime/cstime, so the total only grows.
pg_ticks() {
    local pm c t
    pm=$(head -1 "$pgdir/data/postmaster.pid" 2>/dev/null || true)
    [ -n "$pm" ] || { echo 0; return; }
    t=$(awk '{print $14 + $15 + $16 + $17}' "/proc/$pm/stat" 2>/dev/null || echo 0)
    # shellcheck disable=SC2046
    c=$(ticks $(pgrep -P "$pm" || true))
    echo $((t + c))
}

# wait_ready FILE PID - until FILE says "listening on", or fail.
wait_ready() {
    for _ in $(seq 300); do
        grep -q '^listening on' "$1" && return 0
        kill -0 "$2" 2>/dev/null || break
        sleep 0.1
    done
    die "server did not start: $(cat "$1")"
}

# p99 in ms from wrk --latency output
p99_ms() {
    awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); sub(/[a-z]+$/, "", v);
        m = (u == "us") ? v / 1000 : (u == "s") ? v * 1000 : (u == "m") ? v * 60000 : v; printf "%.2f", m }'
}

# run NAME PORT PID ROUTE - one wrk run; appends "name route rps p99 srv_us pg_us" to results.
run() {
    local name=$1 p=$2 pid=$3 route=$4 out s0 s1 g0 g1 req rps p99 hz errs
    wrk_route "$route" "$p" -t1 -c"$conns" -d"${warmup}s" >/dev/null 2>&1 || true
    s0=$(ticks "$pid")
    g0=$(pg_ticks)
    out=$(wrk_route "$route" "$p" -t1 -c"$conns" -d"${duration}s" --latency)
    s1=$(ticks "$pid")
    g1=$(pg_ticks)
    hz=$(getconf CLK_TCK)
    req=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | p99_ms)
    errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {printf "%s ", $0}')
    [ -z "$errs" ] || echo "   warning: $name $route: $errs" >&2
    awk -v n="$name" -v r="$route" -v rps="$rps" -v p99="$p99" -v s="$((s1 - s0))" -v g="$((g1 - g0))" \
        -v req="$req" -v hz="$hz" \
        'BEGIN { printf "%s %s %s %s %.1f %.1f\n", n, r, rps, p99, s * 1e6 / hz / req, g * 1e6 / hz / req }' \
        >>"$tmp/results"
    printf '   %-7s %-22s %10s req/s  p99 %8s ms\n' "$name" "$route" "$rps" "$p99"
}

# median NAME ROUTE FIELD(3..6)
median() {
    awk -v n="$1" -v r="$2" -v f="$3" '$1 == n && $2 == r { print $f }' "$tmp/results" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
              else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

# start_pg - a throwaway PostgreSQL 15 on pgport; sets url.
start_pg() {
    url=$("$root/scripts/pg-test.sh" start "$pgdir" "$pgport" | tail -1)
    [ -n "$url" ] || die "PostgreSQL did not start"
}

# start_peer ENV... - the Node.js peer on nport against url (ENV: more NAME=VALUE for it),
# pinned like strata; sets npid.
start_peer() {
    if [ ! -d "$peer/node_modules" ]; then
        (cd "$peer" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed in $peer"
    fi
    env "$@" DATABASE_URL="$url" LISTEN="127.0.0.1:$nport" POOL="$pool" taskset -c "$scpu" node "$peer/server.js" \
        >"$tmp/node.out" 2>&1 &
    npid=$!
    pids+=("$npid")
    wait_ready "$tmp/node.out" "$npid"
}

# peer_versions - "fastify X, pg Y, node Z" of the peer.
peer_versions() {
    echo "fastify $(node -p "require('$peer/node_modules/fastify/package.json').version")," \
        "pg $(node -p "require('$peer/node_modules/pg/package.json').version"), node $(node --version)"
}

# compare ROUTES... - every route, rounds times, strata (spid on port) and the peer (npid)
# taking turns; then both stop and the table of medians is printed.
compare() {
    local route r sr nr sp np
    : >"$tmp/results"
    for route in "$@"; do
        for r in $(seq "$rounds"); do
            if [ $((r % 2)) = 1 ]; then
                run strata "$port" "$spid" "$route"
                run node "$nport" "$npid" "$route"
            else
                run node "$nport" "$npid" "$route"
                run strata "$port" "$spid" "$route"
            fi
        done
    done
    kill -TERM "$npid" "$spid"
    wait "$npid" "$spid" 2>/dev/null || true
    pids=()
    echo
    printf '%-22s %12s %12s %7s %9s %9s %7s %10s %10s %10s %10s\n' route strata_rps node_rps ratio \
        strata_p99 node_p99 p99_x strata_us node_us pg_us/s pg_us/n
    for route in "$@"; do
        sr=$(median strata "$route" 3)
        nr=$(median node "$route" 3)
        sp=$(median strata "$route" 4)
        np=$(median node "$route" 4)
        printf '%-22s %12s %12s %7s %9s %9s %7s %10s %10s %10s %10s\n' "$route" "$sr" "$nr" "$(ratio "$sr" "$nr")" \
            "$sp" "$np" "$(ratio "$sp" "$np")" "$(median strata "$route" 5)" "$(median node "$route" 5)" \
            "$(median strata "$route" 6)" "$(median node "$route" 6)"
    done
    echo "(rps: requests/s; p99 in ms, p99_x = strata/node (lower is better); *_us: server CPU us per request;"
    echo " pg_us/s, pg_us/n: PostgreSQL's CPU us per request while serving strata / node)"
}

# sqlite_alone ROUTES -- STRATA_ARGS... - strata alone on SQLite (started with STRATA_ARGS,
# pinned to scpu), every route rounds times, and the table of medians.
sqlite_alone() {
    local rts=() route
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        rts+=("$1")
        shift
    done
    shift
    taskset -c "$scpu" "$strata" "$@" >"$tmp/sqlite.out" 2>&1 &
    spid=$!
    pids+=("$spid")
    wait_ready "$tmp/sqlite.out" "$spid"
    echo
    echo "== strata on SQLite (WAL; its pool threads inherit the pin to CPU $scpu)"
    for route in "${rts[@]}"; do
        for _ in $(seq "$rounds"); do run sqlite "$port" "$spid" "$route"; done
    done
    kill -TERM "$spid"
    wait "$spid" 2>/dev/null || true
    pids=()
    echo
    printf '%-22s %12s %9s %10s\n' route sqlite_rps p99_ms cpu_us
    for route in "${rts[@]}"; do
        printf '%-22s %12s %9s %10s\n' "$route" "$(median sqlite "$route" 3)" "$(median sqlite "$route" 4)" \
            "$(median sqlite "$route" 5)"
    done
    echo "(cpu_us: strata's CPU per request, its SQLite threads included)"
}
