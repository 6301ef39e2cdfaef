#!/usr/bin/env bash
# listaof.sh - what lists and hashes leave in the AOF (src/kv/t_list.c, t_hash.c): blocking
# pops served later must be logged as their non-blocking forms (BLPOP -> LPOP, BLMOVE ->
# LMOVE, BLMPOP -> LPOP key n) and HINCRBYFLOAT as HSET of its result, so that a restart
# replays to the same data. Run on redis-server and strata kv alike: same data after a
# restart, and (strata) no blocking command in the log. TAP.
set -u
. "$SRCROOT/tests/lib/tap.sh"
. "$SRCROOT/tests/kv/lib.sh"

T=$(mktemp -d /tmp/kv-listaof.XXXXXX)
trap 'kv_stop_all; rm -rf "$T"' EXIT

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "1..0 # SKIP redis-server/redis-cli are not installed (scripts/install-deps.sh test)"
    exit 0
fi

cli() { timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>&1; }

# The state every check compares: lists and hashes in full (hash fields sorted).
dump() {
    local k
    for k in l1 l2 dst m1 big; do echo "$k: $(cli LRANGE "$k" 0 -1 | tr '\n' ' ')"; done
    for k in h hbig; do echo "$k: $(cli HGETALL "$k" | paste - - | sort | tr '\n' ' ')"; done
}

workload() {
    # served later: the waiters start first, the pushes wake them
    cli BLPOP l1 0 >"$T/w1" &
    local w1=$!
    cli BLMOVE l2 dst RIGHT LEFT 0 >"$T/w2" &
    local w2=$!
    cli BLMPOP 0 1 m1 LEFT COUNT 2 >"$T/w3" &
    local w3=$!
    sleep 0.3
    cli RPUSH l1 a b c >/dev/null
    cli RPUSH l2 x y >/dev/null
    cli RPUSH m1 1 2 3 >/dev/null
    wait $w1 $w2 $w3
    cli HINCRBYFLOAT h f 10.1 >/dev/null
    cli HINCRBYFLOAT h f 0.2 >/dev/null
    cli HSET h g v >/dev/null
    cli RPUSH big $(seq 1 300) >/dev/null
    cli HSET hbig $(seq 1 400) >/dev/null
    cli LSET big 5 changed >/dev/null
    cli LTRIM big 2 -3 >/dev/null
}

for side in redis strata; do
    port=$(kv_free_port)
    dir="$T/$side"
    if [ $side = redis ]; then
        kv_start_redis "$dir" "$port" --appendonly yes --appendfsync always || { tap_result 0 "$side starts"; continue; }
    else
        kv_start_strata "$dir" "$port" --appendonly yes --appendfsync always || { tap_result 0 "$side starts"; continue; }
    fi
    workload
    ok_match "$side: BLPOP served later replied" "^l1 a $" "$(tr '\n' ' ' <"$T/w1")"
    ok_match "$side: BLMOVE served later replied" "^y $" "$(tr '\n' ' ' <"$T/w2")"
    ok_match "$side: BLMPOP served later replied" "^m1 1 2 $" "$(tr '\n' ' ' <"$T/w3")"
    before=$(dump)
    ok_match "$side: the data before the restart" "l1: b c .*dst: y .*m1: 3 .*h: f	10.3 g	v" "$(echo "$before" | tr "\n" " ")"
    pid=${KV_PIDS[-1]}
    kill "$pid"
    wait "$pid" 2>/dev/null
    if [ $side = redis ]; then
        kv_start_redis "$dir" "$port" --appendonly yes
    else
        kv_start_strata "$dir" "$port" --appendonly yes
        ok "strata: no blocking command in the AOF" bash -c "! grep -a -i -E '^(blpop|blmove|blmpop|hincrbyfloat)' '$dir/appendonly.aof'"
    fi
    after=$(dump)
    if [ "$before" = "$after" ]; then tap_result 1 "$side: the same data after replaying the AOF"
    else tap_result 0 "$side: the same data after replaying the AOF" "$(diff <(echo "$before") <(echo "$after"))"; fi
    if [ $side = strata ]; then
        cli BGREWRITEAOF >/dev/null
        sleep 1.5
        pid=${KV_PIDS[-1]}
        kill "$pid"
        wait "$pid" 2>/dev/null
        kv_start_strata "$dir" "$port" --appendonly yes
        after=$(dump)
        if [ "$before" = "$after" ]; then tap_result 1 "strata: the same data after a rewritten AOF (RPUSH/HSET batches)"
        else tap_result 0 "strata: the same data after a rewritten AOF (RPUSH/HSET batches)" "$(diff <(echo "$before") <(echo "$after"))"; fi
    fi
done
done_testing
