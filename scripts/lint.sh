#!/usr/bin/env bash
# lint.sh BUILD_DIR FILE... - clang-format check, clang-tidy and cppcheck on our sources.
# BUILD_DIR must hold compile_commands.json (meson writes it).
set -uo pipefail
dir=${1:?usage: scripts/lint.sh BUILD_DIR FILE...}
shift
status=0
echo "== clang-format"
clang-format --dry-run --Werror "$@" || status=1
echo "== clang-tidy"
# Only translation units listed in the compilation database; headers are checked through them.
# Tests are left to cppcheck and to running under ASan/UBSan: the analyzer's findings there
# are about deliberately odd inputs, not bugs.
cfiles=()
for f in "$@"; do
    case "$f" in tests/*) continue ;; esac
    case "$f" in *.c) grep -q "\"$f\"\|/$f\"" "$dir/compile_commands.json" && cfiles+=("$f") ;; esac
done
clang-tidy -p "$dir" --quiet "${cfiles[@]}" 2>/dev/null | grep -E 'warning:|error:' && status=1
echo "== cppcheck"
cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
    --suppress=missingIncludeSystem -D_GNU_SOURCE -Isrc --std=c11 "$@" || status=1
[ $status -eq 0 ] && echo "lint: clean"
exit $status
