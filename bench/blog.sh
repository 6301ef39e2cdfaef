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

bench=blog.sh
# shellcheck source=bench/lib-db.sh
. "$(dirname "$0")/lib-db.sh"
db_bench_init "${1:-}" 22190 25451
routes=${ROUTES:-list post comments create}
seed=${SEED:-2000}
export BLOG_USERS=$seed BLOG_POSTS=$((seed * 5))

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

# ---- PostgreSQL, strata, the peer ----
start_pg
blog_args=(--workers 1 --seed "$seed" --db-threads "$pool" --rate-limit 100000000 --no-access-log)
taskset -c "$scpu" "$strata" example blog --listen "127.0.0.1:$port" --db "$url" "${blog_args[@]}" \
    >"$tmp/strata.out" 2>&1 &
spid=$!
pids+=("$spid")
wait_ready "$tmp/strata.out" "$spid"
start_peer APP=blog

# Both servers must answer the four routes with the same shapes before being measured.
python3 "$here/blog_check.py" "http://127.0.0.1:$port" "http://127.0.0.1:$nport" || die "the servers' answers differ"

echo "== The blog API: strata vs Node.js ($(peer_versions)), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit: $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
echo "servers on CPU $scpu, wrk on CPU $ccpu (-c$conns, ${duration}s, ${warmup}s warm-up), PostgreSQL 15 unpinned, pools of $pool, $rounds rounds"
echo "seed $seed users, $((seed * 5)) posts, $((seed * 10)) comments; create adds rows as it runs"
# shellcheck disable=SC2086
compare $routes

# ---- SQLite, strata only ----
if [ "${SQLITE:-1}" = 1 ]; then
    # shellcheck disable=SC2086
    sqlite_alone $routes -- example blog --listen "127.0.0.1:$port" --db "sqlite:$tmp/blog.db" \
        --workers 1 --seed "$seed" --rate-limit 100000000 --no-access-log
fi
