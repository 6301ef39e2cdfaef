#!/usr/bin/env bash
# tfb.sh - the TechEmpower database test types of `strata example bench --db URL`, black
# box, on a real PostgreSQL 15 (scripts/pg-test.sh starts a throwaway one) and on SQLite:
# the migration and seeding, every route's body by TechEmpower's validation rules (JSON
# shape and ranges, the queries/count clamping for 0, abc, empty, -3, 501 and 1000, the
# fortunes page byte for byte with its escaping), /updates really persisting (the rows in
# the database afterwards equal the response), concurrent /updates (deadlock retries),
# HEAD, the bench's own /plaintext still served, bad URLs, and a clean SIGTERM (ASan's
# leak check runs at exit). Checks in tests/examples/tfb_check.py. About 30 s under ASan.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
HERE=$SRCROOT/tests/examples
CHECK=(python3 "$HERE/tfb_check.py")

T=$(mktemp -d /tmp/strata-tfb.XXXXXX)
chmod 755 "$T"
PIDS=()
PGDIR=
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    [ -n "$PGDIR" ] && "$SRCROOT/scripts/pg-test.sh" stop "$PGDIR" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

. "$SRCROOT/tests/examples/lib.sh"
APP_ARGS=(example bench --server-header)

# db_rows SQL - rows of a query against the backend under test, "a b" per line.
db_rows() {
    case $URL in
    sqlite:*) sqlite3 -separator ' ' "${URL#sqlite:}" "$1" ;;
    *) psql -X -q -A -t -F ' ' "$URL" -c "$1" ;;
    esac
}

# world_ok NAME PATH N - the route answers a valid World array of N (0: one object).
world_ok() {
    local out
    if out=$("${CHECK[@]}" world "http://127.0.0.1:$port$2" "$3" 2>&1); then
        tap_result 1 "$1"
        printf '%s\n' "$out" >"$T/last"
    else
        tap_result 0 "$1" "$out"
        : >"$T/last"
    fi
}

# persisted NAME - every "id rn" of the last response is the row in the database now.
persisted() {
    local ids
    sort -n -u -k1,1 "$T/last" >"$T/want"
    ids=$(cut -d' ' -f1 "$T/want" | paste -sd, -)
    if [ -z "$ids" ]; then
        tap_result 0 "$1" "no rows"
        return
    fi
    db_rows "SELECT id, randomnumber FROM world WHERE id IN ($ids) ORDER BY id" >"$T/got"
    if cmp -s "$T/want" "$T/got"; then tap_result 1 "$1"; else
        tap_result 0 "$1" "$(diff "$T/want" "$T/got" | head -20)"
    fi
}

# suite NAME - every route against the server on $port backed by $URL.
suite() {
    local n=$1 q out
    world_ok "$n: /db is one World object" /db 0
    "${CHECK[@]}" world "http://127.0.0.1:$port/db" 0 12 >"$T/ids" 2>&1
    out=$(cut -d' ' -f1 "$T/ids" | sort -u | wc -l)
    ok "$n: /db picks random rows ($out distinct ids in 12)" test "$out" -ge 6
    ok "$n: HEAD /db has a length and no body" "${CHECK[@]}" head "http://127.0.0.1:$port/db"

    world_ok "$n: /queries?queries=20 gives 20 rows" "/queries?queries=20" 20
    world_ok "$n: /queries?queries=1 gives 1 row (an array)" "/queries?queries=1" 1
    for q in 0:1 abc:1 :1 -3:1 501:500 1000:500 99999999999999999999:500 7.5:1; do
        world_ok "$n: /queries?queries=${q%%:*} is clamped to ${q##*:}" "/queries?queries=${q%%:*}" "${q##*:}"
    done
    world_ok "$n: /queries without the parameter gives 1 row" /queries 1
    world_ok "$n: /queries?queries=%32%30 (percent-encoded 20) gives 20 rows" "/queries?queries=%32%30" 20
    world_ok "$n: /queries?queries=3&queries=9 takes the first" "/queries?queries=3&queries=9" 3
    world_ok "$n: /queries?other=9&queries=4 finds its parameter" "/queries?other=9&queries=4" 4
    world_ok "$n: /queries?queries=%zz (bad encoding) is 1 row" "/queries?queries=%zz" 1

    # the cache was read at startup and no update ran yet: it must equal the table
    world_ok "$n: /cached-queries?count=100" "/cached-queries?count=100" 100
    persisted "$n: /cached-queries rows equal the World table"
    world_ok "$n: /cached-queries?count=0 is clamped to 1" "/cached-queries?count=0" 1
    world_ok "$n: /cached-queries?count=foo is 1" "/cached-queries?count=foo" 1
    world_ok "$n: /cached-queries?count=600 is clamped to 500" "/cached-queries?count=600" 500

    ok "$n: /fortunes is TechEmpower's page, sorted and escaped" \
        "${CHECK[@]}" fortunes "http://127.0.0.1:$port/fortunes" "$HERE/tfb_fortunes.html"

    db_rows "SELECT id, randomnumber FROM world ORDER BY id" >"$T/before"
    world_ok "$n: /updates?queries=20 gives 20 rows" "/updates?queries=20" 20
    persisted "$n: /updates?queries=20 persisted every row"
    db_rows "SELECT id, randomnumber FROM world ORDER BY id" >"$T/after"
    out=$(diff "$T/before" "$T/after" | grep -c '^>')
    ok "$n: /updates changed rows in the table ($out of 20)" test "$out" -ge 15
    world_ok "$n: /updates?queries=500 gives 500 rows" "/updates?queries=500" 500
    persisted "$n: /updates?queries=500 persisted every row"
    world_ok "$n: /updates?queries=abc is 1 row" "/updates?queries=abc" 1
    persisted "$n: /updates?queries=abc persisted"
    world_ok "$n: /updates?queries=0 is 1 row" "/updates?queries=0" 1
    world_ok "$n: /updates?queries=1000 is clamped to 500" "/updates?queries=1000" 500
    ok "$n: 240 concurrent /updates?queries=20 over 16 connections all succeed" \
        "${CHECK[@]}" load "http://127.0.0.1:$port/updates?queries=20" 240 16
    ok "$n: 480 concurrent /queries?queries=5 over 32 connections all succeed" \
        "${CHECK[@]}" load "http://127.0.0.1:$port/queries?queries=5" 480 32
    ok "$n: the table still holds 10000 rows" test "$(db_rows 'SELECT count(*) FROM world')" = 10000
    out=$(curl -s "http://127.0.0.1:$port/plaintext")
    ok "$n: /plaintext is still served" test "$out" = "Hello, World!"
    out=$(curl -s "http://127.0.0.1:$port/metrics")
    ok "$n: /metrics has the pool's acquisitions" grep -Eq '^strata_sql_pool_acquire_total\{pool="tfb"\} [1-9]' <<<"$out"
    ok "$n: /metrics has the pool's connections" grep -Eq '^strata_sql_pool_connections\{pool="tfb"\} [0-9]' <<<"$out"
    out=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/db")
    ok "$n: POST /db is not a database route (got $out)" test "$out" -ge 400
}

# ---- PostgreSQL ----
PGDIR=$T/pg
if ! URL=$("$SRCROOT/scripts/pg-test.sh" start "$PGDIR" "${TFB_PGPORT:-25442}" 2>"$T/pg.err"); then
    tap_result 0 "postgres: scripts/pg-test.sh start" "$(cat "$T/pg.err")"
    PGDIR=
    done_testing
    exit
fi
URL=$(printf '%s\n' "$URL" | tail -1)
tap_result 1 "postgres: a throwaway PostgreSQL 15 is running"
if start pg --db "$URL" --workers 2 --db-pool 4; then
    ok "postgres: migrate status shows version 1 applied" \
        bash -c "'$S' example bench migrate status --db '$URL' | grep -E '(^|[^0-9])1([^0-9]|$).*applied'"
    ok "postgres: World was seeded with 10000 rows" test "$(db_rows 'SELECT count(*) FROM world')" = 10000
    ok "postgres: Fortune holds TechEmpower's 12 rows" test "$(db_rows 'SELECT count(*) FROM fortune')" = 12
    suite postgres
    stop postgres
fi
# a second start finds the schema and the rows in place: no migration, no reseeding
db_rows "SELECT sum(randomnumber) FROM world" >"$T/sum1"
if start pg2 --db "$URL" --workers 1; then
    db_rows "SELECT sum(randomnumber) FROM world" >"$T/sum2"
    ok "postgres: a restart keeps the data (no reseed)" cmp -s "$T/sum1" "$T/sum2"
    world_ok "postgres: one worker serves /queries?queries=3" "/queries?queries=3" 3
    # PostgreSQL restarts under the server: requests fail with a status (never hang or
    # crash) until the pool has reconnected, then every one succeeds again
    "$SRCROOT/scripts/pg-test.sh" restart "$PGDIR" >"$T/restart.log" 2>&1
    codes=
    for _ in $(seq 10); do
        c=$(curl -s -m 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/db")
        codes="$codes $c"
        [ "$c" = 200 ] && break
        sleep 0.5
    done
    ok_match "postgres: after a restart the server answers /db again (codes:$codes)" ' 200$' "$codes"
    codes=$(for _ in $(seq 20); do curl -s -m 20 -o /dev/null -w '%{http_code} ' \
        "http://127.0.0.1:$port/queries?queries=2"; done)
    ok_match "postgres: ... and keeps answering (20 x /queries: $codes)" '^(200 ){20}$' "$codes"
    stop postgres-1-worker
fi
# --db-query-each: every read its own batch (transaction), the same answers
query_each() {
    local n=$1
    world_ok "$n --db-query-each: /queries?queries=20 gives 20 rows" "/queries?queries=20" 20
    world_ok "$n --db-query-each: /queries?queries=1000 gives 500 rows" "/queries?queries=1000" 500
    world_ok "$n --db-query-each: /updates?queries=20 gives 20 rows" "/updates?queries=20" 20
    persisted "$n --db-query-each: /updates?queries=20 persisted every row"
    ok "$n --db-query-each: 240 concurrent /queries?queries=20 over 16 connections all succeed" \
        "${CHECK[@]}" load "http://127.0.0.1:$port/queries?queries=20" 240 16
}
if start pg3 --db "$URL" --workers 1 --db-query-each; then
    query_each postgres
    stop postgres-query-each
fi
"$SRCROOT/scripts/pg-test.sh" stop "$PGDIR" >/dev/null 2>&1
PGDIR=
ok_status 1 "postgres: an unreachable server fails at startup" \
    "$S" example bench --listen 127.0.0.1:0 --db "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"

# ---- SQLite ----
URL="sqlite:$T/tfb.db"
if start sqlite --db "$URL" --workers 2; then
    ok "sqlite: World was seeded with 10000 rows" test "$(db_rows 'SELECT count(*) FROM world')" = 10000
    suite sqlite
    stop sqlite
fi
if start sqlite2 --db "$URL" --workers 1 --db-query-each; then
    query_each sqlite
    stop sqlite-query-each
fi
seeded=$(sqlite3 "$T/tfb.db" "SELECT count(*) FROM world" 2>&1)
ok "sqlite: the database file keeps its rows after stopping ($seeded)" test "$seeded" = 10000
rm -f "$T/a.db" "$T/b.db"
"$S" example bench --listen 127.0.0.1:0 --db "sqlite:$T/a.db" --seed 7 >"$T/a.out" 2>&1 &
pid=$!
PIDS+=("$pid")
for _ in $(seq 100); do grep -q listening "$T/a.out" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
"$S" example bench --listen 127.0.0.1:0 --db "sqlite:$T/b.db" --seed 7 >"$T/b.out" 2>&1 &
pid=$!
PIDS+=("$pid")
for _ in $(seq 100); do grep -q listening "$T/b.out" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
ok "sqlite: --seed makes the same World rows" test \
    "$(sqlite3 "$T/a.db" 'SELECT group_concat(randomnumber) FROM world')" = \
    "$(sqlite3 "$T/b.db" 'SELECT group_concat(randomnumber) FROM world')"
ok_status 2 "an unknown --db scheme is a usage error" "$S" example bench --db "mysql://x" --listen 127.0.0.1:0
echo "not a database" >"$T/bad.db"
ok_status 1 "a file that is not a database fails at startup" \
    "$S" example bench --listen 127.0.0.1:0 --db "sqlite:$T/bad.db"

done_testing
