#!/usr/bin/env bash
# crash.sh - kill -9 at random moments of a large import: the database stays valid and
# holds either the state before the import or all of it, never part of it. Then a restart
# sees everything acknowledged.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export STRATA_DATA=$work/data
db=$work/data/progress.db

"$S" progress mark 1 2 3 done >/dev/null
base_events=$(sqlite3 "$db" 'SELECT count(*) FROM progress_events')

# An export with every question done and many events, so the import takes a while.
events=${CRASH_EVENTS:-100000}
awk -v n="$events" 'BEGIN {
    printf "{\"format\":\"strata-progress\",\"version\":1,\"progress\":[";
    for (q = 1; q <= 500; q++) printf "%s{\"question\":%d,\"status\":\"done\",\"updated_at\":\"2030-01-01T00:00:00.000Z\"}", (q > 1 ? "," : ""), q;
    printf "],\"events\":[";
    for (i = 0; i < n; i++) {
        s = i % 60; m = int(i / 60) % 60; h = int(i / 3600) % 24; d = 1 + int(i / 86400);
        printf "%s{\"question\":%d,\"status\":\"doing\",\"at\":\"2029-01-%02dT%02d:%02d:%02d.%03dZ\"}", (i ? "," : ""), 1 + i % 500, d, h, m, s, i % 1000;
    }
    printf "]}\n";
}' > "$work/big.json"

# The import on its own, to learn how long it takes.
cp -r "$work/data" "$work/probe"
t0=$(date +%s%N)
"$S" progress import --data "$work/probe" "$work/big.json" >/dev/null
t1=$(date +%s%N)
full_ms=$(( (t1 - t0) / 1000000 ))
ok "a full import works (${full_ms} ms)" test "$(sqlite3 "$work/probe/progress.db" "SELECT count(*) FROM progress WHERE status='done'")" -eq 500
full_events=$(sqlite3 "$work/probe/progress.db" 'SELECT count(*) FROM progress_events')

# check_state LABEL EXIT: valid database holding the base state or all of the import.
check_state() {
    local integrity done_n ev
    integrity=$(sqlite3 "$db" 'PRAGMA integrity_check')
    done_n=$(sqlite3 "$db" "SELECT count(*) FROM progress WHERE status='done'")
    ev=$(sqlite3 "$db" 'SELECT count(*) FROM progress_events')
    if [ "$integrity" = ok ] && { { [ "$done_n" = 3 ] && [ "$ev" = "$base_events" ]; } ||
                                   { [ "$done_n" = 500 ] && [ "$ev" = "$full_events" ]; }; }; then
        tap_result 1 "$1 (exit $2): all or nothing (done=$done_n events=$ev)"
    else
        tap_result 0 "$1 (exit $2): all or nothing" "integrity=$integrity done=$done_n events=$ev"
    fi
    if [ "$done_n" = 500 ]; then # the import got through: back to the base state
        rm -rf "$work/data"; "$S" progress mark 1 2 3 done >/dev/null
    fi
}

# Kills at fixed fractions of the import's duration (mostly while it parses and validates).
killed=0
for pct in 20 50 80; do
    delay_ms=$(( full_ms * pct / 100 ))
    "$S" progress import "$work/big.json" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null; st=$?
    [ "$st" = 137 ] && killed=$((killed + 1))
    check_state "kill -9 at ${pct}%" "$st"
done
ok "at least one timed kill landed during an import ($killed of 3)" test "$killed" -ge 1

# Kills the moment the import starts writing: the WAL, emptied before each round, grows.
mid_txn=0
for round in 1 2 3; do
    sqlite3 "$db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    "$S" progress import "$work/big.json" >/dev/null 2>&1 &
    pid=$!
    wal=0
    while kill -0 "$pid" 2>/dev/null; do
        wal=$(stat -c %s "$db-wal" 2>/dev/null || echo 0)
        [ "$wal" -gt 0 ] && break
        sleep 0.002
    done
    [ "$round" -gt 1 ] && sleep "0.00$((round * 3))" # a little later into the writes
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null; st=$?
    [ "$st" = 137 ] && [ "$wal" -gt 0 ] && mid_txn=$((mid_txn + 1))
    check_state "kill -9 while writing, round $round" "$st"
done
ok "at least one kill landed while the import was writing ($mid_txn of 3)" test "$mid_txn" -ge 1

# Acknowledged writes survive kill -9 of a later process and a restart.
"$S" progress mark 42 done >/dev/null
"$S" progress import "$work/big.json" >/dev/null 2>&1 & pid=$!
sleep 0.05; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
ok "an acknowledged mark survives" test "$("$S" progress --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["done"])')" -ge 4

done_testing
