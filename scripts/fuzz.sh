#!/usr/bin/env bash
# fuzz.sh BUILD_DIR SECONDS - run every libFuzzer target for SECONDS each.
#
# Each target starts from the checked-in corpus (fuzz/corpus/NAME) and grows a working
# corpus under BUILD_DIR/corpus/NAME. A crash stops with the reproducer in
# BUILD_DIR/crashes/: add it to fuzz/corpus/NAME so `make test` replays it forever.
set -euo pipefail
dir=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS}
secs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir/crashes"
status=0
for exe in "$dir"/fuzz/fuzz_*; do
    [ -f "$exe" ] && [ -x "$exe" ] || continue
    name=${exe##*/fuzz_}
    work="$dir/corpus/$name"
    mkdir -p "$work"
    echo "== fuzz $name for ${secs}s"
    if ! "$exe" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$dir/crashes/$name-" \
            -rss_limit_mb=2048 "$work" "$root/fuzz/corpus/$name" 2>"$dir/fuzz-$name.log"; then
        tail -40 "$dir/fuzz-$name.log"
        echo "fuzz: $name FAILED; reproducer in $dir/crashes/"
        status=1
    else
        grep -E 'stat::number_of_executed_units|cov:' "$dir/fuzz-$name.log" | tail -2
    fi
done
exit $status
