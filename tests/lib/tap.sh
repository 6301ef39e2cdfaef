# tap.sh - a tiny TAP producer for shell tests. Source it, then:
#   ok "name" COMMAND...            passes when COMMAND exits 0
#   ok_status N "name" COMMAND...   passes when COMMAND exits with status N
#   ok_match "name" REGEX TEXT      passes when TEXT matches the extended REGEX
#   done_testing                    prints the plan; exit status = failures > 0
# On failure the command's output is shown as TAP comments.
tap_n=0
tap_failed=0

tap_result() { # tap_result PASSED NAME [DETAIL]
    tap_n=$((tap_n + 1))
    if [ "$1" = 1 ]; then
        echo "ok $tap_n - $2"
    else
        tap_failed=$((tap_failed + 1))
        echo "not ok $tap_n - $2"
        [ -n "${3:-}" ] && printf '%s\n' "$3" | head -40 | sed 's/^/# /'
    fi
    return 0
}

ok() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then tap_result 1 "$name"; else tap_result 0 "$name" "$out"; fi
}

ok_status() {
    local want=$1 name=$2; shift 2
    local out st
    out=$("$@" 2>&1); st=$?
    if [ "$st" = "$want" ]; then tap_result 1 "$name"; else tap_result 0 "$name" "exit $st, wanted $want: $out"; fi
}

ok_match() {
    if printf '%s' "$3" | grep -Eq -- "$2"; then tap_result 1 "$1"; else tap_result 0 "$1" "no match for /$2/ in: $3"; fi
}

done_testing() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}

# listen_port FILE PID [SECONDS] - the port a server printed to FILE ("listening on
# http://127.0.0.1:N"), waiting up to SECONDS (default 20) while PID lives; "" if none came.
listen_port() {
    local p= i
    for ((i = 0; i < ${3:-20} * 20; i++)); do
        p=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$1")
        [ -n "$p" ] && break
        kill -0 "$2" 2>/dev/null || break
        sleep 0.05
    done
    echo "$p"
}

# spawn NAME SECONDS CMD... - start CMD in the background (stdout $T/NAME.out, stderr
# $T/NAME.err), add it to PIDS and wait for its printed port: sets pid and port, or fails
# the test "NAME: started" with its output and returns 1.
spawn() {
    local name=$1 secs=$2
    shift 2
    "$@" >"$T/$name.out" 2>"$T/$name.err" &
    pid=$!
    PIDS+=("$pid")
    port=$(listen_port "$T/$name.out" "$pid" "$secs")
    if [ -z "$port" ]; then
        tap_result 0 "$name: started" "$(cat "$T/$name.out" "$T/$name.err")"
        return 1
    fi
}
