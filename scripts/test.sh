#!/usr/bin/env bash
# test.sh - run every test of a build directory and print "N passed, N failed".
#
#   scripts/test.sh BUILD_DIR [meson test args...]
#
# Each test speaks TAP; a case is one "ok"/"not ok" line. A test program that fails
# without reporting a failed case (a crash, a sanitizer report at exit, a timeout) counts
# as one more failed case, so nothing that failed can hide behind its passing cases.
set -uo pipefail
dir=${1:?usage: scripts/test.sh BUILD_DIR}
shift
meson test -C "$dir" --print-errorlogs --num-processes "${TEST_JOBS:-2}" "$@"
status=$?
log="$dir/meson-logs/testlog.json"
if [ ! -s "$log" ]; then
    echo "test: no test log at $log"
    echo "0 passed, 1 failed"
    exit 1
fi
/usr/bin/python3 - "$log" "$status" <<'PY'
import json, re, sys
passed = failed = skipped = 0
bad = []
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    t = json.loads(line)
    p = f = s = 0
    for l in (t.get("stdout") or "").splitlines():
        m = re.match(r"^(not ok|ok)\b(.*)$", l)
        if not m:
            continue
        if re.search(r"#\s*skip", m.group(2), re.I):
            s += 1
        elif m.group(1) == "ok":
            p += 1
        else:
            f += 1
    if t.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP") and f == 0:
        f += 1                       # crashed, leaked or timed out outside any case
    if f:
        bad.append(t["name"])
    passed += p; failed += f; skipped += s
if int(sys.argv[2]) != 0 and failed == 0:
    bad.append("meson test (exit status %s without a failing case: build error?)" % sys.argv[2])
    failed += 1
if bad:
    print("failed: " + ", ".join(bad))
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
exit $?
