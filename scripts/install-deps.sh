#!/usr/bin/env bash
# install-deps.sh - install the Debian packages strata needs, only those missing.
#
#   scripts/install-deps.sh [GROUP...]     groups: build (default), test, lint, fuzz, bench, all
#
# Works as root on a fresh Debian 12 machine (uses sudo when not root and sudo exists).
# Prints what it installs and why; exits non-zero with a clear message when it cannot.
set -euo pipefail

declare -A why
add() { # add GROUP-REASON PACKAGE...
    local reason=$1; shift
    for p in "$@"; do why[$p]=${why[$p]:-$reason}; done
}

groups=("$@")
[ ${#groups[@]} -eq 0 ] && groups=(build)
for g in "${groups[@]}"; do
    case "$g" in
    build) add "build: compiler, Meson/Ninja, SQLite, jansson, zlib and md4c headers" \
               gcc libc6-dev meson ninja-build pkg-config libsqlite3-dev libjansson-dev zlib1g-dev libmd4c-dev libmd4c-html0-dev liburing-dev ;;
    test)  add "build: compiler, Meson/Ninja, SQLite, jansson, zlib and md4c headers" \
               gcc libc6-dev meson ninja-build pkg-config libsqlite3-dev libjansson-dev zlib1g-dev libmd4c-dev libmd4c-html0-dev liburing-dev
           add "test: cmocka unit tests, sqlite3 for database checks, ASan/UBSan runtimes" \
               libcmocka-dev sqlite3 libasan8 libubsan1 procps
           add "test: python3 runs the deliberately wrong servers of tests/grade" python3
           add "test: strata kv is checked against the real redis-server, redis-cli and hiredis" \
               redis-server redis-tools libhiredis-dev
           add "test: the end-to-end test drives Debian's Chromium with playwright-core (npm)" \
               chromium nodejs npm ;;
    lint)  add "lint: clang-format, clang-tidy, cppcheck" clang-format clang-tidy cppcheck ;;
    fuzz)  add "fuzz: clang with libFuzzer" clang libclang-rt-14-dev ;;
    bench) add "bench: load generator, CPU pinning, CLI timing" wrk util-linux hyperfine
           add "bench: redis-server and redis-benchmark, the peer of bench/kv.sh" redis-server redis-tools
           add "bench: PostgreSQL and the Node.js peer (fastify + pg from npm) of bench/tfb.sh" postgresql nodejs npm
           add "bench: nginx, the HTTP peer of bench/http.sh" nginx
           add "bench: GLib, the peer bench_base compares with" libglib2.0-dev ;;
    all)   exec "$0" build test lint fuzz bench ;;
    *) echo "install-deps: unknown group '$g' (build, test, lint, fuzz, bench, all)" >&2; exit 2 ;;
    esac
done
# src/sql: libpq headers to build; tests/sql start a throwaway PostgreSQL 15 (scripts/pg-test.sh).
for g in "${groups[@]}"; do
    case "$g" in
    build|test) add "build: libpq headers for src/sql's PostgreSQL backend" libpq-dev ;;&
    test) add "test: tests/sql run against a real PostgreSQL 15 (scripts/pg-test.sh)" postgresql ;;&
    test) add "test: Q111's wrong pooled servers (tests/grade/wrong/q111_*.py) use psycopg2" python3-psycopg2 ;;
    esac
done

# Packages whose program may come from elsewhere (e.g. NodeSource's nodejs ships npm and
# conflicts with Debian's npm package): present if the command is on PATH.
declare -A provides=([nodejs]=node [npm]=npm)
missing=()
for p in "${!why[@]}"; do
    [ -n "${provides[$p]:-}" ] && command -v "${provides[$p]}" >/dev/null 2>&1 && continue
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
IFS=$'\n' missing=($(sort <<<"${missing[*]}")); unset IFS

echo "install-deps: installing ${#missing[@]} missing Debian package(s):"
for p in "${missing[@]}"; do printf '  %-22s %s\n' "$p" "${why[$p]}"; done

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: apt-get not found; this script supports Debian 12. Install the packages above by hand." >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "install-deps: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists: update once, then install.
if ! "${sudo[@]}" apt-get update -qq; then
    echo "install-deps: apt-get update failed (network or sources.list?)" >&2
    exit 1
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/strata-apt.log 2>&1; then
    tail -20 /tmp/strata-apt.log >&2
    echo "install-deps: apt-get install failed; full log in /tmp/strata-apt.log" >&2
    exit 1
fi
echo "install-deps: done."
