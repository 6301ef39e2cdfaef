#!/usr/bin/env bash
# questions.sh - `strata questions ...` from the outside: output, filters, ranking, errors.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
cd /  # the bank is embedded: any directory works

stats=$("$S" questions stats --json)
ok_match "stats: 500 questions" '"questions": 500,' "$stats"
ok_match "stats: 5 levels" '"levels": 5,' "$stats"
ok_match "stats: 25 modules" '"modules": 25,' "$stats"
ok_match "stats: 250 conceptual" '"conceptual": 250,' "$stats"
ok_match "stats: 250 practical" '"practical": 250,' "$stats"
ok_match "stats: coverage block" '"coverage": \{' "$stats"
ok "stats: valid JSON" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert len(d["by_module"])==25 and len(d["by_level"])==5' "$stats"
ok_match "stats text: header" '^500 questions in 5 levels and 25 modules: 250 conceptual, 250 practical' "$("$S" questions stats)"

show=$("$S" questions show 242)
ok_match "show 242: text" 'Explain consistent hashing\.' "$show"
ok_match "show 242: module and level" 'Level 3: Advanced \(Architecture\) / Module 13: Database Scaling / conceptual' "$show"
ok_match "show Q242 spelling" 'Explain consistent hashing' "$("$S" questions show Q242)"
ok_match "show --json" '"module_name": "Database Scaling"' "$("$S" questions show --json 242)"
ok_match "show practical: grader line" 'Grade it:' "$("$S" questions show 11)"

ok "list: 500 lines" test "$("$S" questions list | wc -l)" -eq 500
ok "list --level 2: 100" test "$("$S" questions list --level 2 | wc -l)" -eq 100
ok "list --module 13 --kind practical: 10" test "$("$S" questions list --module 13 --kind practical | wc -l)" -eq 10
ok "list -m 13 -k conceptual starts at 241" test "$("$S" questions list -m 13 -k conceptual | head -1 | awk '{print $1}')" = 241
ok "STRATA_LEVEL from the environment" test "$(STRATA_LEVEL=5 "$S" questions list | head -1 | awk '{print $1}')" = 401
ok "flag beats environment" test "$(STRATA_LEVEL=5 "$S" questions list --level 1 | head -1 | awk '{print $1}')" = 1
ok "list --json is an array of 20" python3 -c 'import json,sys; assert len(json.loads(sys.argv[1]))==20' "$("$S" questions list --json -m 1)"

top3=$("$S" questions search consistent hashing | head -3 | awk '{print $1}' | sort -n | tr '\n' ' ')
ok "search 'consistent hashing': 242 252 315 first" test "$top3" = "242 252 315 "
ok_match "search: no match message" "No question matches" "$("$S" questions search zzqqxx)"
ok "search --limit 3 shows 3" test "$("$S" questions search --limit 3 kafka | grep -c '^ *[0-9]')" -eq 3

# Bad input: one line on stderr, exit 2, nothing on stdout.
ok_status 2 "show 0 exits 2" "$S" questions show 0
ok_status 2 "show 501 exits 2" "$S" questions show 501
ok_status 2 "show abc exits 2" "$S" questions show abc
ok_match "show 999 says why" "^strata: no question '999' \(questions are numbered 1-500\)$" "$("$S" questions show 999 2>&1)"
ok_status 2 "unknown flag exits 2" "$S" questions list --colour
ok_match "unknown flag message" "unknown flag" "$("$S" questions list --colour 2>&1)"
ok "unknown flag: exactly one line on stderr, nothing on stdout" test "$("$S" questions list --colour 2>&1 >/dev/null | wc -l)/$("$S" questions list --colour 2>/dev/null | wc -c)" = "1/0"
ok "unknown question: exactly one line on stderr" test "$("$S" questions show 999 2>&1 >/dev/null | wc -l)" -eq 1
ok_status 2 "level out of range exits 2" "$S" questions list --level 6
ok_status 2 "bad kind exits 2" "$S" questions list --kind other
ok_status 2 "bad env value exits 2" env STRATA_LEVEL=x "$S" questions list
ok_match "bad env value names the variable" "STRATA_LEVEL" "$(STRATA_LEVEL=x "$S" questions list 2>&1)"
ok_status 2 "unknown command exits 2" "$S" frobnicate
ok_status 2 "unknown questions command exits 2" "$S" questions frob
ok_status 0 "--help exits 0" "$S" questions list --help
ok_match "--help lists env names" "STRATA_MODULE" "$("$S" questions list --help)"
ok_match "top-level help" "questions" "$("$S" --help)"
ok_match "version" "^strata [0-9]" "$("$S" version)"

# The grading hint follows the grader's input: --cmd per step, --db, or --target.
ok_match "show 112: --cmd hint with its placeholders" '^  strata grade q112 --cmd "YOUR PROGRAM \{db\} \{dir\} \{action\}"$' "$("$S" questions show 112)"
ok_match "show 119: --cmd hint with its placeholders" '^  strata grade q119 --cmd "YOUR PROGRAM \{db\} \{seed\} \{rows\}"$' "$("$S" questions show 119)"
ok_match "show 111: --db URL and --cmd" '^  strata grade q111 --db URL --cmd "YOUR PROGRAM \{port\} \{db\} \{pool\}"$' "$("$S" questions show 111)"
ok "show 112: no --target hint" bash -c '! "$0" questions show 112 | grep -q -- "--target"' "$S"
ok_match "show 131: an HTTP grader keeps --target" '^  strata grade q131 --target HOST:PORT$' "$("$S" questions show 131)"

done_testing
