# lib.sh - what the example apps' shell tests share (sourced after tests/lib/tap.sh).
# The caller sets S (the strata binary), T (its temp directory) and PIDS (an array the
# cleanup kills); APP_ARGS (an array) holds the command line before a start's own flags.

# start NAME ARGS... - `strata "${APP_ARGS[@]}" --listen 127.0.0.1:0 ARGS`; sets pid and port
# once the app printed "listening on http://127.0.0.1:PORT" (30 s at most).
start() {
    local name=$1
    shift
    spawn "$name" 30 "$S" "${APP_ARGS[@]}" --listen 127.0.0.1:0 "$@" || return 1
    tap_result 1 "$name: started (migrated, seeded, listening)"
}

# stop NAME - SIGTERM, then the exit status must be 0 within 20 s (leaks would fail it).
stop() {
    local name=$1 st
    kill -TERM "$pid"
    for _ in $(seq 200); do
        ps -o stat= -p "$pid" 2>/dev/null | grep -qv '^Z' || break
        sleep 0.1
    done
    if ps -o stat= -p "$pid" 2>/dev/null | grep -qv '^Z'; then
        kill -9 "$pid"
        wait "$pid" 2>/dev/null
        tap_result 0 "$name: stops on SIGTERM" "still running after 20 s"
        return
    fi
    wait "$pid"
    st=$?
    if [ "$st" = 0 ]; then tap_result 1 "$name: stops cleanly on SIGTERM"; else
        tap_result 0 "$name: stops cleanly on SIGTERM" "exit $st: $(tail -30 "$T/$name.err")"
    fi
}
