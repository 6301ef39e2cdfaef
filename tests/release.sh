#!/usr/bin/env bash
# The release build (what `make` and `make run` build: -O3, -Werror) compiles from this
# source tree. GCC's optimiser finds format truncation and maybe-uninitialised values that the
# sanitizer build (-O1) never sees, so a clean `make test` must not hide a broken `make run`.
set -uo pipefail
. "$SRCROOT/tests/lib/tap.sh"
dir=$(mktemp -d /tmp/strata-release.XXXXXX)
trap 'rm -rf "$dir"' EXIT

ok "meson setup of a release build" meson setup "$dir/b" "$SRCROOT" -Dbuildtype=release -Dtests=false
if out=$(ninja -C "$dir/b" 2>&1); then
    tap_result 1 "the release build compiles with -O3 -Werror"
else
    tap_result 0 "the release build compiles with -O3 -Werror" "$(printf '%s\n' "$out" | grep -A8 'error' | head -40)"
fi
ok "the release binary runs" "$dir/b/strata" --version
done_testing
