#!/usr/bin/env bash
# blog.sh - `strata example blog` (docs/blog-api.md) black box on SQLite and on a real
# PostgreSQL 15 (scripts/pg-test.sh starts a throwaway one): migrations and seeding, then
# tests/examples/blog_check.py's ~100 checks of the contract on each backend (CRUD, status
# codes, problem+json, validation listing every bad field, ETag/If-Match and a race of
# writers, lists by offset and cursor, filters, sort, CSV and 406, v2, search, soft delete,
# archive, idempotency keys, the N+1 query count, responses against the app's own OpenAPI
# schemas), the rate limit with a small limit, a restart keeping the data, and a clean
# SIGTERM (ASan's leak check runs at exit).
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
HERE=$SRCROOT/tests/examples

T=$(mktemp -d /tmp/strata-blog.XXXXXX)
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
APP_ARGS=(example blog)

# db_value SQL - one value from the backend under test.
db_value() {
    case $URL in
    sqlite:*) sqlite3 "${URL#sqlite:}" "$1" ;;
    *) psql -X -q -A -t "$URL" -c "$1" ;;
    esac
}

# contract NAME - blog_check.py against the server on $port; its TAP lines are ours.
contract() {
    local line
    python3 "$HERE/blog_check.py" "http://127.0.0.1:$port" "$URL" >"$T/check.out" 2>&1
    while IFS= read -r line; do
        case $line in
        "ok "*) tap_result 1 "$1: ${line#* - }" ;;
        "not ok "*)
            tap_result 0 "$1: ${line#* - }" "$(sed -n "/^${line%% - *} - /,/^\(ok\|not ok\) /p" "$T/check.out" | grep '^#')"
            ;;
        esac
    done <"$T/check.out"
    grep -q '^# [0-9]* checks' "$T/check.out" || tap_result 0 "$1: blog_check.py ran to the end" "$(tail -20 "$T/check.out")"
}

# ratelimit NAME - a server with --rate-limit 5: the 6th request of a key is 429.
ratelimit() {
    local n=$1 codes= h
    for _ in 1 2 3 4 5 6; do
        codes="$codes $(curl -s -o /dev/null -w '%{http_code}' -H 'X-API-Key: rl-a' "http://127.0.0.1:$port/api/v1/users")"
    done
    ok_match "$n: the 6th request with --rate-limit 5 is 429 (codes:$codes)" '^ 200 200 200 200 200 429$' "$codes"
    h=$(curl -s -i -H 'X-API-Key: rl-a' "http://127.0.0.1:$port/api/v1/users")
    ok_match "$n: a 429 carries Retry-After" $'\n[Rr]etry-[Aa]fter: [0-9]+' "$h"
    ok_match "$n: a 429 is problem+json rate_limited" '"code":"rate_limited"' "$h"
    h=$(curl -s -i -H 'X-API-Key: rl-b' "http://127.0.0.1:$port/api/v1/users")
    ok_match "$n: another key is not limited (RateLimit-Remaining: 4)" $'\n[Rr]ate[Ll]imit-[Rr]emaining: 4' "$h"
    h=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-API-Key: rl-a' "http://127.0.0.1:$port/api/v1/openapi.json")
    ok "$n: the OpenAPI document is not limited ($h)" test "$h" = 200
}

# ---- SQLite ----
URL=sqlite:$T/blog.db
out=$("$S" example blog migrate up --db "$URL" 2>&1)
ok_match "sqlite: migrate up applies 3 migrations" 'applied 3 migrations, now at 3' "$out"
out=$("$S" example blog migrate down 1 --db "$URL" 2>&1)
ok_match "sqlite: migrate down 1 reverts the newest" 'reverted 1 migration, now at 2' "$out"
out=$("$S" example blog migrate status --db "$URL" 2>&1)
ok_match "sqlite: migrate status shows 3 pending" '3.*pending' "$out"
if start sqlite --db "$URL" --seed 30 --rate-limit 1000000 --debug-queries; then
    ok "sqlite: seeded 30 users" test "$(db_value 'SELECT count(*) FROM users')" = 30
    ok "sqlite: seeded 150 posts" test "$(db_value 'SELECT count(*) FROM posts')" = 150
    ok "sqlite: the FTS index holds every post" \
        test "$(db_value "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'run OR running OR server OR fast OR query OR index OR cache OR event OR loop OR socket OR kernel OR latency OR page OR disk OR table OR join OR lock OR thread OR memory OR packet'")" = 150
    contract sqlite
    ok "sqlite: nothing partial was written (no post without its author)" \
        test "$(db_value 'SELECT count(*) FROM posts p LEFT JOIN users u ON u.id = p.author_id WHERE u.id IS NULL')" = 0
    stop sqlite
fi
if start sqlite-rl --db "$URL" --rate-limit 5; then
    ratelimit sqlite
    ok "sqlite: a restart keeps the data (no reseed)" test "$(db_value 'SELECT count(*) FROM users')" -gt 30
    stop sqlite-rl
fi
out=$("$S" example blog --db "$URL" --listen 127.0.0.1:0 --bogus 2>&1)
ok_match "an unknown flag is a usage error" 'bogus' "$out"

# ---- PostgreSQL ----
PGDIR=$T/pg
if ! URL=$("$SRCROOT/scripts/pg-test.sh" start "$PGDIR" "${BLOG_PGPORT:-25446}" 2>"$T/pg.err"); then
    tap_result 0 "postgres: scripts/pg-test.sh start" "$(cat "$T/pg.err")"
    PGDIR=
    done_testing
    exit
fi
URL=$(printf '%s\n' "$URL" | tail -1)
tap_result 1 "postgres: a throwaway PostgreSQL 15 is running"
if start pg --db "$URL" --seed 30 --rate-limit 1000000 --debug-queries --workers 2 --db-threads 6; then
    ok "postgres: seeded 30 users" test "$(db_value 'SELECT count(*) FROM users')" = 30
    ok "postgres: the identity sequence moved past the seeded rows" \
        test "$(db_value "SELECT last_value FROM users_id_seq")" = 30
    ok "postgres: archive_post() and the version trigger exist" \
        test "$(db_value "SELECT count(*) FROM pg_proc WHERE proname IN ('archive_post', 'posts_bump_version')")" = 2
    contract postgres
    stop pg
fi
if start pg-rl --db "$URL" --rate-limit 5; then
    ratelimit postgres
    stop pg-rl
fi
# PostgreSQL restarts under the app: requests fail with a status (503, never a hang or a
# crash) until fresh connections are made, then every one succeeds again
if start pg-restart --db "$URL" --rate-limit 1000000 --db-threads 2; then
    curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/posts?limit=2"
    "$SRCROOT/scripts/pg-test.sh" restart "$PGDIR" >"$T/restart.log" 2>&1
    codes=
    for _ in $(seq 10); do
        c=$(curl -s -m 20 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/v1/posts?limit=2")
        codes="$codes $c"
        [ "$c" = 200 ] && break
        sleep 0.5
    done
    ok_match "postgres: after a restart the app answers again (codes:$codes)" '^( 503)* 200$' "$codes"
    out=$(for _ in 1 2 3 4 5 6; do curl -s -o /dev/null -w '%{http_code} ' "http://127.0.0.1:$port/api/v1/users/1"; done)
    ok "postgres: every connection was replaced ($out)" test "$out" = "200 200 200 200 200 200 "
    stop pg-restart
fi
# a streaming replica: reads go there, a client still reads its own writes (Q116)
RDIR=$T/replica
if RURL=$("$SRCROOT/scripts/pg-test.sh" start-replica "$PGDIR" "$RDIR" "${BLOG_REPLICA_PORT:-25447}" 2>"$T/replica.err"); then
    RURL=$(printf '%s\n' "$RURL" | tail -1)
    tap_result 1 "postgres: a streaming replica (pg_basebackup) is running"
    if start pg-replica --db "$URL" --db-replica "$RURL" --rate-limit 1000000; then
        python3 "$HERE/blog_replica.py" "http://127.0.0.1:$port" "$RURL" >"$T/check.out" 2>&1
        while IFS= read -r line; do
            case $line in
            "ok "*) tap_result 1 "replica: ${line#* - }" ;;
            "not ok "*) tap_result 0 "replica: ${line#* - }" "$(grep -A1 -F "$line" "$T/check.out" | tail -1)" ;;
            esac
        done <"$T/check.out"
        grep -q '^# [0-9]* checks' "$T/check.out" || tap_result 0 "replica: blog_replica.py ran to the end" "$(tail -20 "$T/check.out")"
        stop pg-replica
    fi
    "$SRCROOT/scripts/pg-test.sh" stop "$RDIR" >/dev/null 2>&1
else
    tap_result 0 "postgres: scripts/pg-test.sh start-replica" "$(cat "$T/replica.err")"
fi
out=$("$S" example blog migrate status --db "$URL" 2>&1)
ok_match "postgres: migrate status shows 3 applied" '3.*applied' "$out"
done_testing
