#!/usr/bin/env bash
# blog.sh - the blog API (docs/blog-api.md) against the Node.js peer (bench/peers/tfb-node:
# fastify + pg, blog.js), on the same throwaway PostgreSQL 15, plus strata's SQLite figures
# (bench/README.md, "The blog API against Node.js").
#
#   bench/blog.sh BUILD_DIR
#
# strata (`example blog --workers 1 --seed SEED`, which migrates and seeds the database) and
# the peer (one node process, APP=blog, on the same tables) are pinned to SERVER_CPU
# (default 0), wrk to CLIENT_CPU (default 1); PostgreSQL is not pinned. Four routes: the
# list page, a post and its comments (random post ids, bench/blog_get.lua), and a create
# (bench/blog_post.lua: every request adds a post, so the tables grow during the run). For
# every route and round the two servers take turns (the order alternates between rounds);
# the table has medians of requests/s, p99 latency and CPU microseconds per request (server,
# and PostgreSQL summed over its processes), and the ratios strata/peer. Then the same
# routes on SQLite for strata alone. strata runs with --rate-limit 100000000 and
# --no-access-log: the peer neither limits nor logs.
#
# Environment: ROUNDS (5), DURATION (seconds per run, 10), WARMUP (seconds, 2), CONNS
# (wrk connections, 256), ROUTES (space separated names: list post comments create),
# SEED (users; posts 5x, comments 10x; 2000), POOL (database connections of each server,
# 16), SQLITE (1: also measure SQLite), PORT (22190; the peer gets PORT+1), PGPORT (25451).
set -euo pipefail

die() {
    echo "bench/blog.sh: $*" >&2
    exit 1
}
[ $# -ge 1 ] || die "usage: bench/blog.sh BUILD_DIR"
build=$1
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
strata=$build/strata
[ -x "$strata" ] || die "$strata not found; build it first"
for c in wrk taskset node npm psql; do command -v "$c" >/dev/null || die "$c is not installed (scripts/install-deps.sh bench)"; done
rounds=${ROUNDS:-5}
duration=${DURATION:-10}
warmup=${WARMUP:-2}
conns=${CONNS:-256}
pool=${POOL:-16}
scpu=${SERVER_CPU:-0}
ccpu=${CLIENT_CPU:-1}
port=${PORT:-22190}
nport=$((port + 1))
routes=${ROUTES:-list post comments create}
seed=${SEED:-2000}
export BLOG_USERS=$seed BLOG_POSTS=$((seed * 5))
peer=$here/peers/tfb-node

tmp=$(mktemp -d /tmp/strata-blog-bench.XXXXXX)
chmod 755 "$tmp"
pids=()
pgdir=$tmp/pg
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    "$root/scripts/pg-test.sh" stop "$pgdir" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

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

# wrk_route NAME PORT ARGS... - wrk on route NAME of the server on PORT: the list page, a
# random post, a random post's comments, a create.
wrk_route() {
    local route=$1 p=$2
    shift 2
    local url=http://127.0.0.1:$p
    case $route in
    list) taskset -c "$ccpu" wrk "$@" "$url/api/v1/posts?limit=20" ;;
    post) BLOG_PATH='/api/v1/posts/{id}' taskset -c "$ccpu" wrk "$@" -s "$here/blog_get.lua" "$url" ;;
    comments) BLOG_PATH='/api/v1/posts/{id}/comments?limit=20' taskset -c "$ccpu" wrk "$@" -s "$here/blog_get.lua" "$url" ;;
    create) taskset -c "$ccpu" wrk "$@" -s "$here/blog_post.lua" "$url" ;;
    *) die "unknown route $route (list, post, comments, create)" ;;
    esac
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

# ---- PostgreSQL, strata, the peer ----
url=$("$root/scripts/pg-test.sh" start "$pgdir" "${PGPORT:-25451}" | tail -1)
[ -n "$url" ] || die "PostgreSQL did not start"
blog_args=(--workers 1 --seed "$seed" --db-threads "$pool" --rate-limit 100000000 --no-access-log)
taskset -c "$scpu" "$strata" example blog --listen "127.0.0.1:$port" --db "$url" "${blog_args[@]}" \
    >"$tmp/strata.out" 2>&1 &
spid=$!
pids+=("$spid")
wait_ready "$tmp/strata.out" "$spid"
if [ ! -d "$peer/node_modules" ]; then
    (cd "$peer" && npm ci --no-audit --no-fund >/dev/null) || die "npm ci failed in $peer"
fi
APP=blog DATABASE_URL=$url LISTEN=127.0.0.1:$nport POOL=$pool taskset -c "$scpu" node "$peer/server.js" >"$tmp/node.out" 2>&1 &
npid=$!
pids+=("$npid")
wait_ready "$tmp/node.out" "$npid"

# Both servers must answer the four routes with the same shapes before being measured.
python3 "$here/blog_check.py" "http://127.0.0.1:$port" "http://127.0.0.1:$nport" || die "the servers' answers differ"

echo "== The blog API: strata vs Node.js (fastify $(node -p "require('$peer/node_modules/fastify/package.json').version"), pg $(node -p "require('$peer/node_modules/pg/package.json').version"), node $(node --version)), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit: $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
echo "servers on CPU $scpu, wrk on CPU $ccpu (-c$conns, ${duration}s, ${warmup}s warm-up), PostgreSQL 15 unpinned, pools of $pool, $rounds rounds"
echo "seed $seed users, $((seed * 5)) posts, $((seed * 10)) comments; create adds rows as it runs"
: >"$tmp/results"
for route in $routes; do
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
for route in $routes; do
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

# ---- SQLite, strata only ----
if [ "${SQLITE:-1}" = 1 ]; then
    taskset -c "$scpu" "$strata" example blog --listen "127.0.0.1:$port" --db "sqlite:$tmp/blog.db" \
        --workers 1 --seed "$seed" --rate-limit 100000000 --no-access-log >"$tmp/sqlite.out" 2>&1 &
    spid=$!
    pids+=("$spid")
    wait_ready "$tmp/sqlite.out" "$spid"
    echo
    echo "== strata on SQLite (WAL; its pool threads inherit the pin to CPU $scpu)"
    for route in $routes; do
        for _ in $(seq "$rounds"); do run sqlite "$port" "$spid" "$route"; done
    done
    kill -TERM "$spid"
    wait "$spid" 2>/dev/null || true
    pids=()
    echo
    printf '%-22s %12s %9s %10s\n' route sqlite_rps p99_ms cpu_us
    for route in $routes; do
        printf '%-22s %12s %9s %10s\n' "$route" "$(median sqlite "$route" 3)" "$(median sqlite "$route" 4)" \
            "$(median sqlite "$route" 5)"
    done
    echo "(cpu_us: strata's CPU per request, its SQLite threads included)"
fi
