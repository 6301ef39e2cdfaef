#!/usr/bin/env bash
# progress.sh - `strata progress ...`: marks persist across runs, export/import, bad input.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export STRATA_DATA=$work/data

ok "mark two done" "$S" progress mark 242 252 done
ok "mark one doing" "$S" progress mark 11 doing
ok "mark one review" "$S" progress mark 1 review
ok "database file created" test -s "$work/data/progress.db"
out=$("$S" progress)
ok_match "bars: 3 of 500 completed (done + review)" 'All 500 questions +\[[#.]{20}\] +3/500 +\(doing 1, review 1\)' "$out"
ok_match "bars: module 13 has 2/20" '13 Database Scaling +\[##\.+\] +2/20' "$out"
json=$("$S" progress --json)
ok "json totals survive a restart" python3 -c '
import json,sys; d=json.loads(sys.argv[1])
assert (d["done"],d["doing"],d["review"],d["todo"])==(2,1,1,496), d' "$json"
ok "XDG_DATA_HOME default" env -u STRATA_DATA XDG_DATA_HOME="$work/xdg" "$S" progress mark 7 done
ok "  ... lands in \$XDG_DATA_HOME/strata" test -s "$work/xdg/strata/progress.db"
ok "--data overrides STRATA_DATA" "$S" progress mark --data "$work/other" 8 done
ok "  ... lands in --data" test -s "$work/other/progress.db"
ok_match "WAL mode" '^wal$' "$(sqlite3 "$work/data/progress.db" 'PRAGMA journal_mode')"

ok "export" "$S" progress export "$work/export.json"
ok "export is JSON (strata-lab) with 4 statuses" python3 -c '
import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]=="strata-lab" and len(d["statuses"])==4 and len(d["events"])==4, d' "$work/export.json"
ok "import into a fresh data dir" "$S" progress import --data "$work/fresh" "$work/export.json"
ok "fresh dir has the same progress" test "$("$S" progress --json --data "$work/fresh")" = "$json"
printf '{"format":"strata-progress","version":1,"progress":[{"question":9,"status":"done","updated_at":"2020-01-01T00:00:00Z"}]}' > "$work/v1.json"
ok "an older strata-progress file still imports" "$S" progress import --data "$work/v1" "$work/v1.json"
ok_match "  ... and its status is there" '"done": *1' "$("$S" progress --json --data "$work/v1")"

# Bad input: exit 2, one line, nothing changed.
before=$(sqlite3 "$work/data/progress.db" 'SELECT count(*) FROM progress; SELECT count(*) FROM progress_events')
ok_status 2 "mark unknown question" "$S" progress mark 501 done
ok_status 2 "mark bad status" "$S" progress mark 5 finished
ok_status 2 "mark without status" "$S" progress mark 5
ok_status 2 "mark with one bad id of three changes nothing" "$S" progress mark 5 6 x7 done
printf '{"format":"strata-progress","version":1,"progress":[{"question":9,"status":"done","updated_at":"2020-01-01T00:00:00Z"},{"question":0,"status":"done","updated_at":"2020-01-01T00:00:00Z"}]}' > "$work/bad.json"
ok_status 2 "import invalid entry" "$S" progress import "$work/bad.json"
ok_match "import error names file and entry" "bad.json: progress\[1\]\.question" "$("$S" progress import "$work/bad.json" 2>&1)"
ok_status 2 "import missing file" "$S" progress import "$work/none.json"
ok_match "missing file message is one line" '^strata: .*none.json: cannot read: No such file or directory$' "$("$S" progress import "$work/none.json" 2>&1)"
printf 'garbage' > "$work/garbage.json"
ok_status 2 "import garbage" "$S" progress import "$work/garbage.json"
ok_status 2 "export to unwritable path" "$S" progress export /proc/nope/x.json
ok "nothing changed by bad input" test "$(sqlite3 "$work/data/progress.db" 'SELECT count(*) FROM progress; SELECT count(*) FROM progress_events')" = "$before"
ok "no temp files left behind" test -z "$(ls "$work" | grep tmp)"
ok_status 2 "unknown progress subcommand" "$S" progress frob
ok_status 0 "progress --help" "$S" progress --help
ok_status 0 "progress mark --help" "$S" progress mark --help

# A database from a newer strata is refused, not damaged.
sqlite3 "$work/other/progress.db" 'PRAGMA user_version = 42'
ok_status 1 "newer schema refused" "$S" progress --data "$work/other"
ok_match "  ... with a clear message" "schema version 42 is newer" "$("$S" progress --data "$work/other" 2>&1)"

done_testing
