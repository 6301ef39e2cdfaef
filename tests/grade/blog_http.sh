#!/usr/bin/env bash
# blog_http.sh - the blog API's HTTP graders (src/grade/blog_http.c: Q71-Q80, Q114, Q117,
# Q120) against `strata example blog` on SQLite, through a proxy that changes nothing
# (wrong/blog_proxy.py: the graders do not depend on strata), and through the same proxy with
# one planted bug at a time: the grader of the broken rule must fail, naming it.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
T=$(mktemp -d /tmp/strata-blog-grade.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM

"$S" example blog --listen 127.0.0.1:0 --db "sqlite:$T/blog.db" --no-access-log >"$T/blog.out" 2>"$T/blog.err" &
PIDS+=($!)
port=$(listen_port "$T/blog.out" $! 10)
if [ -z "$port" ]; then
    tap_result 0 "strata example blog starts" "$(cat "$T/blog.err")"
    done_testing
    exit
fi
GRADERS="Q71 Q72 Q73 Q74 Q75 Q76 Q77 Q78 Q79 Q80 Q114 Q117 Q120"

# grade Q URL - run one grader; its output in $T/out
grade() { "$S" grade "$1" --target "$2" --seed 7 >"$T/out" 2>&1; }

for q in $GRADERS; do
    if grade "$q" "http://127.0.0.1:$port"; then tap_result 1 "$q passes on strata example blog"; else
        tap_result 0 "$q passes on strata example blog" "$(grep -E 'FAIL|reason|  ' "$T/out" | head -12)"
    fi
done

# proxy [BUG] - start wrong/blog_proxy.py in front of the app; sets pport
proxy() {
    local bug=()
    [ -n "${1:-}" ] && bug=(--bug "$1")
    python3 "$SRCROOT/tests/grade/wrong/blog_proxy.py" --listen 0 --upstream "127.0.0.1:$port" "${bug[@]}" \
        >"$T/proxy.out" 2>"$T/proxy.err" &
    ppid=$!
    PIDS+=($ppid)
    pport=$(listen_port "$T/proxy.out" $ppid 10)
}
unproxy() {
    kill "$ppid" 2>/dev/null
    wait "$ppid" 2>/dev/null
}

proxy ""
for q in $GRADERS; do
    if grade "$q" "http://127.0.0.1:$pport"; then tap_result 1 "$q passes through a proxy that changes nothing"; else
        tap_result 0 "$q passes through a proxy that changes nothing" "$(grep -E 'FAIL|  ' "$T/out" | head -12)"
    fi
done
unproxy

# every planted bug: the grader of that rule fails, at the check about that rule
while IFS='|' read -r bug q check; do
    proxy "$bug"
    if grade "$q" "http://127.0.0.1:$pport"; then
        tap_result 0 "$q fails on a blog where $bug" "the grader passed: $(tail -3 "$T/out")"
    elif grep '^FAIL' "$T/out" | grep -qF -- "$check"; then
        tap_result 1 "$q fails on a blog where $bug, at: $check"
    else
        tap_result 0 "$q fails on a blog where $bug, at: $check" "$(grep -E '^(FAIL|ok)' "$T/out")"
    fi
    unproxy
done <<'LIST'
v2_is_v1|Q73|v2 embeds the author
tag_ignored|Q75|combine (AND)
openapi_incomplete|Q76|describes every route
no_ratelimit|Q78|Remaining counting down
no_location|Q80|Location that resolves
no_idempotency|Q80|Idempotency-Key
csv_ignored|Q80|content negotiation
hard_delete|Q114|include_deleted=true lists it
no_mark|Q120|<mark>
rank_reversed|Q120|ranking
no_allow|Q71|405 with Allow
created_200|Q72|201 for creations
offset_overlap|Q74|offset pages and cursor pages
first_error_only|Q77|every bad field
plain_errors|Q79|problem+json with type
lost_update|Q117|412 and nothing changes
LIST

out=$("$S" grade Q114 2>&1)
ok_match "a blog grader without --target is a usage error" 'target' "$out"
done_testing
