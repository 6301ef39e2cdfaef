#!/usr/bin/env bash
# run.sh - the benchmarks behind `make bench` (bench/README.md). Builds nothing.
#
#   bench/run.sh BUILD_DIR
#
# 1. BUILD_DIR/bench/bench_base, pinned to one core: st_map, st_arena, st_utf8 against
#    GHashTable, malloc and g_utf8_validate in the same run, and st_cur_search latency.
# 2. CLI start-up with hyperfine, pinned the same way: four strata commands, the progress
#    one against a throwaway --data directory. Prints the median of each.
#
# Environment: BENCH_CPU (core to measure on, default 0), BENCH_ROUNDS (bench_base rounds,
# default 5), BENCH_KEYS (hash map keys, default 1000000), HYPERFINE_WARMUP (default 5),
# HYPERFINE_MIN_RUNS (default 50).
set -euo pipefail

die() {
    echo "bench/run.sh: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: bench/run.sh BUILD_DIR (as make bench does: bench/run.sh build)"
build=$1
cpu=${BENCH_CPU:-0}
warmup=${HYPERFINE_WARMUP:-5}
min_runs=${HYPERFINE_MIN_RUNS:-50}

for tool in taskset hyperfine python3; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "'$tool' is not installed; run: scripts/install-deps.sh bench (or make bench)"
done
strata=$build/strata
[ -x "$strata" ] || die "$strata not found; build it first: make (or ninja -C $build)"
taskset -c "$cpu" true 2>/dev/null || die "cannot pin to CPU $cpu (BENCH_CPU); this machine has CPUs $(taskset -cp $$ | sed 's/.*: //')"

# Busy % of CPU $1 over one second, all processes together (we are idle meanwhile).
cpu_busy() {
    local a b
    read -r -a a < <(grep "^cpu$1 " /proc/stat)
    sleep 1
    read -r -a b < <(grep "^cpu$1 " /proc/stat)
    # user nice system idle iowait irq softirq steal
    local busy=$(((b[1] + b[2] + b[3] + b[6] + b[7] + b[8]) - (a[1] + a[2] + a[3] + a[6] + a[7] + a[8])))
    local idle=$(((b[4] + b[5]) - (a[4] + a[5])))
    echo $((100 * busy / (busy + idle > 0 ? busy + idle : 1)))
}

echo "== strata benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), kernel $(uname -r)"
echo "commit:   $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo unknown)"
echo "tools:    $(hyperfine --version), $(cc --version | head -1)"
busy=$(cpu_busy "$cpu")
echo "CPU $cpu busy before the run: $busy% (load average $(cut -d' ' -f1-3 /proc/loadavg))"
[ "$busy" -lt 10 ] || echo "WARNING: CPU $cpu is already $busy% busy; expect noisy figures (bench/README.md)"

echo
echo "== 1. base library vs GLib (bench_base, CPU $cpu)"
bench_base=$build/bench/bench_base
if [ -x "$bench_base" ]; then
    BENCH_CPU=$cpu taskset -c "$cpu" "$bench_base"
elif pkg-config --exists glib-2.0 2>/dev/null; then
    die "$bench_base is missing although GLib is installed: $build was configured before GLib was;" \
        "run: meson setup --reconfigure $build && ninja -C $build"
else
    # GLib is an optional peer (docs/adr/0002): skip this part, say so loudly.
    echo "SKIPPED: GLib (libglib2.0-dev) is not installed; run scripts/install-deps.sh bench, then"
    echo "         meson setup --reconfigure $build && ninja -C $build"
fi

echo
echo "== 2. CLI start-up (hyperfine, CPU $cpu, warmup $warmup, at least $min_runs runs)"
work=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
data=$work/data
# Nothing may touch the user's own data: no STRATA_* settings, XDG_DATA_HOME in $work.
while read -r var; do unset "$var"; done < <(compgen -e | grep '^STRATA_' || true)
export XDG_DATA_HOME=$work/xdg

names=("questions show 242" "questions search consistent hashing" "questions stats --json" "progress")
args=("questions show 242" "questions search consistent hashing" "questions stats --json"
      "progress --data $(printf '%q' "$data")")
# Create the progress database once, so the runs measure reading it, not creating it; and
# check every command works before timing it.
for a in "${args[@]}"; do
    eval "$(printf '%q' "$strata") $a" >/dev/null || die "'strata $a' failed; fix that before benchmarking"
done

cmds=()
for i in "${!names[@]}"; do
    cmds+=(-n "${names[$i]}" "$(printf '%q' "$strata") ${args[$i]}")
done
# hyperfine itself runs on the measured core too: it only waits while a command runs, and
# its children inherit the pinning (taskset per command would add an exec to each run).
taskset -c "$cpu" hyperfine -N --style basic --warmup "$warmup" --min-runs "$min_runs" \
    --export-json "$work/cli.json" "${cmds[@]}"

echo
echo "CLI start-up, medians (wall clock, ms):"
python3 - "$work/cli.json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
print(f"  {'command':<42} {'median':>8} {'mean':>8} {'stddev':>8} {'min':>8} {'user':>7} {'sys':>7} {'runs':>5}")
for r in rows:
    ms = lambda x: f"{1e3 * x:8.2f}"
    print(f"  strata {r['command']:<35} {ms(r['median'])} {ms(r['mean'])} {ms(r['stddev'])} {ms(r['min'])}"
          f" {1e3 * r['user']:7.2f} {1e3 * r['system']:7.2f} {len(r['times']):5d}")
EOF
