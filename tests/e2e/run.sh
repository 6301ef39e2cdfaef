#!/usr/bin/env bash
# run.sh - the lab end to end in real headless Chromium (TAP), registered in meson (suite e2e).
#
#   STRATA=build/strata SRCROOT=. BUILDDIR=build bash tests/e2e/run.sh
#
# Starts `strata example basics` (the Module 1 reference app) and `strata serve` on a fresh
# data directory, both on free ports, then runs tests/e2e/lab.mjs (playwright-core driving
# Debian's /usr/bin/chromium; no browser download) with its screenshots going to
# $BUILDDIR/e2e-screenshots. Then stops both servers with SIGTERM: each must exit 0 (a clean
# drain; under ASan a leak makes the exit status non-zero).
#
# Never skips: without node, npm or chromium it fails with the command that installs them.
# node_modules (ignored by git) is installed from package-lock.json with `npm ci` when missing.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA
E2E=$SRCROOT/tests/e2e
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
SHOTS=$BUILDDIR/e2e-screenshots
install_hint="install them with: scripts/install-deps.sh test   (Debian packages chromium nodejs npm)"

missing=()
command -v node >/dev/null 2>&1 || missing+=(node)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x "$CHROMIUM" ] || missing+=("chromium ($CHROMIUM)")
if [ ${#missing[@]} -gt 0 ]; then
    tap_result 0 "node, npm and chromium are installed" "missing: ${missing[*]}; $install_hint"
    done_testing
    exit 1
fi
tap_result 1 "node $(node --version), $("$CHROMIUM" --version 2>/dev/null | head -1)"

if [ ! -f "$E2E/node_modules/playwright-core/package.json" ]; then
    echo "# tests/e2e/node_modules is missing: npm ci --prefix tests/e2e --no-audit --no-fund"
    if ! out=$(npm ci --prefix "$E2E" --no-audit --no-fund 2>&1) ||
        [ ! -f "$E2E/node_modules/playwright-core/package.json" ]; then
        tap_result 0 "playwright-core is installed (npm ci --prefix tests/e2e)" \
            "npm ci failed (is the npm registry reachable?); run it by hand: npm ci --prefix $E2E --no-audit --no-fund
$out"
        done_testing
        exit 1
    fi
fi

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: start a server whose stdout says "listening on http://HOST:PORT";
# sets $url and $pid.
start() {
    local name=$1; shift
    "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid=$!
    pids+=("$pid")
    url=
    for _ in $(seq 1 300); do
        url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$work/$name.out")
        [ -n "$url" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "# $name did not start: $(cat "$work/$name.out" "$work/$name.err" | head -20)"
    return 1
}

# stop PID NAME: SIGTERM, wait; passes when it exits 0.
stop() {
    local st
    kill -TERM "$1"
    wait "$1"
    st=$?
    local keep=()
    for p in "${pids[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
    pids=("${keep[@]}")
    if [ "$st" = 0 ]; then tap_result 1 "$2"; else tap_result 0 "$2" "exit status $st: $(tail -30 "$3")"; fi
}

if ! start basics "$S" example basics --listen 127.0.0.1:0; then
    tap_result 0 "strata example basics starts"
    done_testing
    exit 1
fi
basics_pid=$pid basics_url=$url
mkdir -p "$work/data"
if ! start serve "$S" serve --listen 127.0.0.1:0 --data "$work/data"; then
    tap_result 0 "strata serve starts"
    done_testing
    exit 1
fi
serve_pid=$pid lab_url=$url
tap_result 1 "servers started: lab $lab_url, basics $basics_url"

rm -rf "$SHOTS"
mkdir -p "$SHOTS"
# lab.mjs prints its own TAP lines: renumbered after ours, its plan left out, the rest as
# comments. A crash or a non-zero exit without a failing line is a failure of its own.
(cd "$E2E" && STRATA_URL=$lab_url BASICS_URL=$basics_url SHOTS=$SHOTS CHROMIUM=$CHROMIUM \
    timeout 240 node lab.mjs) >"$work/lab.tap" 2>&1
node_st=$?
before=$tap_failed
while IFS= read -r line; do
    case "$line" in
    "ok "*) tap_result 1 "${line#ok * - }" ;;
    "not ok "*)
        name=${line#not ok * - }
        tap_result 0 "${name%% # *}" "$([ "$name" != "${name%% # *}" ] && printf '%s' "${name#* # }")"
        ;;
    1..*) ;;
    "#"*) printf '%s\n' "$line" ;;
    *) printf '# %s\n' "$line" ;;
    esac
done <"$work/lab.tap"
if [ "$node_st" != 0 ] && [ "$tap_failed" = "$before" ]; then
    tap_result 0 "node lab.mjs exits 0" "exit status $node_st"
fi
shots=$(find "$SHOTS" -name '*.png' | wc -l)
ok_match "screenshots saved in $SHOTS" '^[1-9][0-9]*$' "$shots"

stop "$serve_pid" "strata serve exits 0 on SIGTERM" "$work/serve.err"
stop "$basics_pid" "strata example basics exits 0 on SIGTERM" "$work/basics.err"
done_testing
