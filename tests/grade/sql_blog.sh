#!/usr/bin/env bash
# sql_blog.sh - the SQL-file graders (`strata grade QN --sql FILE [--db URL]`, src/grade/sql_blog.c):
# every reference answer in curriculum/solutions/sql/ passes on SQLite (temporary files) and
# on PostgreSQL 15 (a temporary schema per check), every deliberately wrong answer
# (wrong/sqlNN_*.sql, NN the question) fails on both, and the usage errors are clear.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
W=$SRCROOT/tests/grade/wrong
SOL=$SRCROOT/curriculum/solutions/sql
tmp=$(mktemp -d /tmp/strata-sqlblog.XXXXXX)
chmod 755 "$tmp" # PostgreSQL runs as an unprivileged user and needs to reach $pgdir
pgdir=$tmp/pg
trap '"$SRCROOT/scripts/pg-test.sh" stop "$pgdir" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
cd "$tmp"

# question -> reference answer; PostgreSQL-only questions are in PG_ONLY
declare -A REF=(
    [31]=q31_schema.sql [32]=q32_constraints.sql [33]=q33_sample_data.sql [34]=q34_posts_by_user.sql
    [35]=q35_posts_with_authors.sql [36]=q36_comment_counts.sql [37]=q37_pagination.sql [38]=q38_indexes.sql
    [39]=q39_archive_post.sql [113]=q113_explain_index.sql [115]=q115_publish_post.sql
    [118]=q118_composite_index.sql
)
PG_ONLY=" 115 "

# ---- usage ----
out=$("$S" grade Q34 2>&1); st=$?
ok "Q34 without --sql: exit 2" test "$st" = 2
ok_match "Q34 without --sql says what is needed" 'Q34 grades an SQL file: give --sql FILE' "$out"
ok_status 2 "a missing --sql file: exit 2" "$S" grade Q34 --sql "$tmp/none.sql"
ok_status 2 "--sql with --cmd: exit 2" "$S" grade Q34 --sql "$SOL/${REF[34]}" --cmd "x {port}"
ok_status 2 "--db must be postgres://" "$S" grade Q34 --sql "$SOL/${REF[34]}" --db sqlite:x.db
out=$("$S" grade Q115 --sql "$SOL/${REF[115]}" 2>&1); st=$?
ok "Q115 on SQLite: exit 2" test "$st" = 2
ok_match "Q115 on SQLite says it needs PostgreSQL" 'Q115 needs --db postgres://' "$out"
list=$("$S" grade --list)
for q in "${!REF[@]}"; do
    ok_match "--list: Q$q takes --sql" "^Q$q +q$q .*--sql" "$list"
done
out=$("$S" grade Q34 --seed 9 --sql "$SOL/${REF[34]}" 2>&1)
ok_match "the header names the file and the database" '^sql: .*q34_posts_by_user\.sql on temporary SQLite files$' "$out"
ok_match "the header prints the seed" '^seed: 9 \(repeat with --seed 9\)$' "$out"

# A file that is not SQL: every check fails with the database's message, exit 1.
echo "this is not sql" >"$tmp/junk.sql"
out=$("$S" grade Q31 --seed 1 --sql "$tmp/junk.sql" 2>&1); st=$?
ok "junk SQL: exit 1" test "$st" = 1
ok_match "junk SQL: the database's error is shown" 'your SQL file failed: .*syntax' "$out"

# ---- on SQLite ----
for q in $(printf '%s\n' "${!REF[@]}" | sort -n); do
    [[ $PG_ONLY == *" $q "* ]] && continue
    ok "Q$q: the reference passes on SQLite" "$S" grade "Q$q" --seed 11 --sql "$SOL/${REF[$q]}"
done
ok "Q37: the reference passes three more rounds (random page sizes)" bash -c \
    "'$S' grade Q37 --seed 21 --repeat 3 --sql '$SOL/${REF[37]}' | grep -qx 'Q37: 9/9 checks passed'"
ok "Q34 --json: two checks, all passed" bash -c '"$0" grade Q34 --seed 4 --sql "$1" --json "$2" >/dev/null &&
    python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert d[\"grader\"] == \"Q34\" and d[\"passed\"] == d[\"total\"] == 2, d
" "$2"' "$S" "$SOL/${REF[34]}" "$tmp/q34.json"
for f in "$W"/sql[0-9]*_*.sql; do
    q=$(basename "$f" | sed 's/^sql\([0-9]*\)_.*/\1/')
    [[ $PG_ONLY == *" $q "* ]] && continue
    out=$("$S" grade "Q$q" --seed 11 --sql "$f" 2>&1); st=$?
    ok "Q$q: $(basename "$f") fails on SQLite" test "$st" = 1
done

# ---- on PostgreSQL ----
if ! url=$("$SRCROOT/scripts/pg-test.sh" start "$pgdir" 25471 2>"$tmp/pg.err") || [[ $url != postgres://* ]]; then
    tap_result 0 "PostgreSQL for the SQL-file graders" "pg-test.sh could not start PostgreSQL: $(cat "$tmp/pg.err")"
    done_testing
    exit
fi
for q in $(printf '%s\n' "${!REF[@]}" | sort -n); do
    ok "Q$q: the reference passes on PostgreSQL" "$S" grade "Q$q" --seed 12 --sql "$SOL/${REF[$q]}" --db "$url"
done
# Wrong answers whose failure depends on the database (constraints, plans, transactions,
# functions); the wrong queries of Q33-Q37 fail the same way on both and run on SQLite only.
for f in "$W"/sql[0-9]*_*.sql; do
    q=$(basename "$f" | sed 's/^sql\([0-9]*\)_.*/\1/')
    [[ " 33 34 35 36 37 " == *" $q "* ]] && continue
    out=$("$S" grade "Q$q" --seed 12 --sql "$f" --db "$url" 2>&1); st=$?
    ok "Q$q: $(basename "$f") fails on PostgreSQL" test "$st" = 1
done
# a procedure (CALL) is accepted as well as a function (SELECT)
sed 's/CREATE FUNCTION publish_post(p_post_id integer) RETURNS void/CREATE PROCEDURE publish_post(p_post_id integer)/' \
    "$SOL/${REF[115]}" >"$tmp/q115_procedure.sql"
ok "Q115: the reference as a PROCEDURE passes too" "$S" grade Q115 --seed 13 --sql "$tmp/q115_procedure.sql" --db "$url"
left=$(psql "$url" -Atc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'strata_sql_%'" 2>&1)
ok "every check's schema was dropped" test "$left" = 0
out=$("$S" grade Q31 --seed 1 --sql "$SOL/${REF[31]}" --db postgres://nobody@127.0.0.1:1/x 2>&1); st=$?
ok "unreachable --db: exit 1" test "$st" = 1
ok_match "unreachable --db: says so" 'cannot connect to --db' "$out"

done_testing
