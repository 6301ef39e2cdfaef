#!/usr/bin/env bash
# curgen.sh CURGEN SRCROOT - the curriculum generator accepts the real bank and rejects
# broken copies of it with "file:line: message" and a non-zero status (failing the build).
set -u
curgen=$1 root=$2
. "$root/tests/lib/tap.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ok "the real curriculum generates" "$curgen" "$work/out.c" "$root" "$root"/curriculum/*.txt
ok_match "500 questions in the output" "st__cur_questions\[ST_CUR_QUESTIONS\]" "$(cat "$work/out.c" 2>/dev/null)"
ok "generated tables compile" cc -std=c17 -Wall -Werror -I"$root/src" -c "$work/out.c" -o "$work/out.o"

# broken NAME SED-SCRIPT FILE WANT-REGEX: apply the edit to a copy, expect failure matching WANT.
broken() {
    local name=$1 script=$2 file=$3 want=$4
    rm -rf "$work/tree"; mkdir -p "$work/tree/curriculum"
    cp "$root"/curriculum/*.txt "$work/tree/curriculum/"
    for d in "$root"/curriculum/*/; do # reference solutions kept under curriculum/
        [ -d "$d" ] && ln -s "${d%/}" "$work/tree/curriculum/$(basename "$d")"
    done
    # The rest of the tree as links, so the bank's solution paths exist in the copy too.
    local d
    for d in "$root"/*; do
        [ "${d##*/}" = curriculum ] || ln -s "$d" "$work/tree/${d##*/}"
    done
    sed -i "$script" "$work/tree/curriculum/$file"
    local out st
    out=$("$curgen" "$work/bad.c" "$work/tree" "$work"/tree/curriculum/*.txt 2>&1); st=$?
    if [ $st -ne 0 ] && printf '%s' "$out" | grep -Eq -- "$want" && [ ! -e "$work/bad.c" ]; then
        tap_result 1 "rejects: $name"
    else
        tap_result 0 "rejects: $name" "exit $st: $out"
    fi
}

broken "duplicate id" 's/^\[question 242\]$/[question 241]/' 13-database-scaling.txt \
    '^curriculum/13-database-scaling.txt:[0-9]+: duplicate question 241 \(first defined at curriculum/13-database-scaling.txt:[0-9]+\)'
broken "missing field" '/^text: Explain consistent hashing.$/d' 13-database-scaling.txt \
    '^curriculum/13-database-scaling.txt:[0-9]+: question 242: missing field .text.'
broken "unknown module" '0,/^module: 13$/! s/^module: 13$/module: 26/' 13-database-scaling.txt \
    '^curriculum/13-database-scaling.txt:[0-9]+: unknown module 26'
broken "module mismatch" '0,/^module: 13$/! s/^module: 13$/module: 12/' 13-database-scaling.txt \
    'belongs to module 13 by its number, not 12'
broken "missing question" '/^\[question 245\]$/,/^text:/d' 13-database-scaling.txt \
    'module 13 lacks question 245'
broken "wrong kind" '0,/^kind: conceptual$/ s/^kind: conceptual$/kind: practical/' 01-backend-fundamentals.txt \
    'question 1 must be conceptual'
broken "unknown kind" 's/^kind: practical$/kind: hands-on/' 02-databases-sql-basics.txt "unknown kind 'hands-on'"
broken "unknown field" 's/^text: Explain consistent hashing.$/&\ncolour: blue/' 13-database-scaling.txt \
    "unknown field 'colour' in a question record"
broken "field given twice" 's/^text: Explain consistent hashing.$/&\ntext: again/' 13-database-scaling.txt \
    "field 'text' given twice"
broken "unclosed block" 's/^text: Explain consistent hashing.$/&\nanswer: <<MD\nsome markdown/' 13-database-scaling.txt \
    "block not closed"
broken "missing solution path" 's/^text: Explain consistent hashing.$/&\nsolution: src\/no\/such\/file.c/' 13-database-scaling.txt \
    "solution path 'src/no/such/file.c' does not exist"
broken "path escaping the repo" 's/^text: Explain consistent hashing.$/&\nsolution: ..\/etc\/passwd/' 13-database-scaling.txt \
    "bad solution path"
broken "invalid UTF-8" 's/^text: Explain consistent hashing.$/text: Explain \xc3\x28 hashing./' 13-database-scaling.txt \
    "invalid UTF-8"
broken "bad tag" 's/^tags: database-scaling, consistent-hashing$/tags: Database Scaling/' 13-database-scaling.txt \
    "bad tag 'Database Scaling'"
broken "unknown record" 's/^\[question 242\]$/[questoin 242]/' 13-database-scaling.txt "unknown record 'questoin 242'"
broken "missing level" '/^\[level 5\]$/,$d' levels.txt "level 5 is missing"

done_testing
