#!/bin/bash
# crash.sh - with appendfsync always, no acknowledged write is ever lost across kill -9.
#
# Each cycle starts the server on the same directory, runs writers that issue INCR, RPUSH
# and SET one at a time and record every reply they got (the acknowledgement), kills the
# server with SIGKILL in the middle of the load (one cycle during a BGREWRITEAOF, one
# during a BGSAVE), restarts it and checks every writer of every cycle so far:
#   counter  = last acknowledged INCR value, or one more (the command in flight);
#   list     = exactly 1..n with n the last acknowledged length (or one more);
#   every acknowledged SET key exists with its value.
# The same runs against redis-server (when installed) to prove the test.
#
# Environment: STRATA, SRCROOT, KV_TARGETS (default "strata redis"), KV_PORT (default 21430),
# KV_CRASH_CYCLES (default 6), KV_CRASH_APPENDONLY (default yes; "no" is the negative control:
# then the checks must fail).
set -u
PY=$(command -v /usr/bin/python3 || command -v python3)
SRCROOT=${SRCROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRCROOT/tests/lib/tap.sh"
if ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "1..0 # SKIP redis-cli/redis-benchmark not installed (scripts/install-deps.sh test)"
    exit 0
fi

BASE_PORT=${KV_PORT:-21430}
CYCLES=${KV_CRASH_CYCLES:-6}
WRITERS=3
TMP=$(mktemp -d /tmp/kv-crash.XXXXXX)
SRV_PID=
trap '[ -n "$SRV_PID" ] && kill -9 $SRV_PID 2>/dev/null; [ -n "${KV_KEEP:-}" ] || rm -rf "$TMP"' EXIT

cat >"$TMP/crash.py" <<'EOF'
import glob, os, socket, sys

def connect(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=30)
    return s, s.makefile('rb')

def send(s, f, *args):
    parts = [str(a).encode() for a in args]
    s.sendall(b'*%d\r\n' % len(parts) + b''.join(b'$%d\r\n%s\r\n' % (len(p), p) for p in parts))
    line = f.readline()
    if not line:
        raise EOFError
    if line[:1] == b'$':
        n = int(line[1:])
        return None if n < 0 else f.read(n + 2)[:-2]
    if line[:1] == b'*':
        return [send_read(f) for _ in range(int(line[1:]))]
    return line.rstrip(b'\r\n')

def send_read(f):
    line = f.readline()
    n = int(line[1:])
    return None if n < 0 else f.read(n + 2)[:-2]

def writer(port, name, out):
    """INCR / RPUSH / SET one at a time; a line per acknowledged reply."""
    log = open(out, 'w', buffering=1)
    try:
        s, f = connect(port)
        i = 0
        while True:
            i += 1
            r = send(s, f, 'INCR', 'counter:' + name)
            assert r[:1] == b':', r
            log.write('incr %d\n' % int(r[1:]))
            r = send(s, f, 'RPUSH', 'list:' + name, i)
            assert r[:1] == b':', r
            log.write('rpush %d\n' % int(r[1:]))
            r = send(s, f, 'SET', 'key:%s:%d' % (name, i), 'v%d' % i)
            assert r == b'+OK', r
            log.write('set %d\n' % i)
    except (EOFError, OSError) as e:
        if os.environ.get('KV_DEBUG'):
            print('writer %s stopped: %r' % (name, e), file=sys.stderr)  # the server was killed

def verify(port, logdir):
    s, f = connect(port)
    bad, total = [], 0
    for path in sorted(glob.glob(os.path.join(logdir, '*.log'))):
        name = os.path.basename(path)[:-4]
        incr = rpush = 0
        sets = []
        for line in open(path):
            op, v = line.split()
            if op == 'incr': incr = int(v)
            elif op == 'rpush': rpush = int(v)
            else: sets.append(int(v))
        total += incr + rpush + len(sets)
        c = int(send(s, f, 'GET', 'counter:' + name) or 0)
        if not incr <= c <= incr + 1:
            bad.append('%s: counter %d, last acknowledged %d' % (name, c, incr))
        items = send(s, f, 'LRANGE', 'list:' + name, 0, -1)
        if not rpush <= len(items) <= rpush + 1 or items != [b'%d' % (k + 1) for k in range(len(items))]:
            bad.append('%s: list has %d items (acknowledged %d) or is out of order' % (name, len(items), rpush))
        for k in range(0, len(sets), 200):
            batch = sets[k:k + 200]
            vals = send(s, f, 'MGET', *['key:%s:%d' % (name, i) for i in batch])
            for i, v in zip(batch, vals):
                if v != b'v%d' % i:
                    bad.append('%s: acknowledged SET key:%s:%d lost (got %r)' % (name, name, i, v))
                    break
    print('acknowledged writes checked: %d' % total)
    for b in bad[:20]:
        print(b)
    sys.exit(1 if bad or total == 0 else 0)

if __name__ == '__main__':
    if sys.argv[1] == 'writer':
        writer(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    else:
        verify(int(sys.argv[2]), sys.argv[3])
EOF

start_server() { # start_server TARGET PORT DIR
    local target=$1 port=$2 dir=$3
    mkdir -p "$dir"
    local args=(--port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly "${KV_CRASH_APPENDONLY:-yes}" --appendfsync always --save '')
    if [ "$target" = strata ]; then
        "$STRATA" kv "${args[@]}" >>"$dir/log" 2>&1 &
    else
        redis-server "${args[@]}" --daemonize no >>"$dir/log" 2>&1 &
    fi
    SRV_PID=$!
    for _ in $(seq 600); do
        [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || { echo "server exited:"; tail -5 "$dir/log"; SRV_PID=; return 1; }
        sleep 0.1
    done
    echo "server did not answer"
    return 1
}

# okc NAME COMMAND... : tap.sh's ok, run in this shell so start_server keeps its pid.
okc() {
    local name=$1
    shift
    if "$@" >"$TMP/out" 2>&1; then tap_result 1 "$name"; else tap_result 0 "$name" "$(cat "$TMP/out")"; fi
}

run_target() {
    local t=$1 port=$2 dir=$TMP/$t logs=$TMP/$t-logs
    mkdir -p "$logs"
    for c in $(seq 1 "$CYCLES"); do
        okc "$t: cycle $c: server starts on the data of the crashes before" start_server $t $port "$dir" || return
        # bulk first, so that the rewrite and BGSAVE of later cycles take long enough to be
        # killed in the middle
        [ $c = 1 ] && redis-benchmark -p $port -t set -n 60000 -r 60000 -P 32 -q >/dev/null 2>&1
        local pids=()
        for w in $(seq 1 $WRITERS); do
            "$PY" "$TMP/crash.py" writer $port "c${c}w$w" "$logs/c${c}w$w.log" &
            pids+=($!)
        done
        for _ in $(seq 200); do # until every writer has had a reply
            local started=0
            for w in $(seq 1 $WRITERS); do [ -s "$logs/c${c}w$w.log" ] && started=$((started + 1)); done
            [ $started = $WRITERS ] && break
            sleep 0.05
        done
        sleep "0.$((RANDOM % 5 + 5))"
        case $c in
        2) redis-cli -p $port bgrewriteaof >/dev/null ;; # die mid-rewrite
        4) redis-cli -p $port bgsave >/dev/null ;;       # and mid-BGSAVE
        esac
        case $c in 2 | 4) echo "# cycle $c: killed with child files:" $(ls "$dir" "$dir"/appendonlydir 2>/dev/null | grep temp-) ;; esac
        kill -9 "$SRV_PID"
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=
        wait "${pids[@]}"
        okc "$t: cycle $c: restart after kill -9" start_server $t $port "$dir" || return
        ok "$t: cycle $c: every acknowledged write of cycles 1..$c survived" "$PY" "$TMP/crash.py" verify $port "$logs"
        kill -TERM "$SRV_PID"
        wait "$SRV_PID" 2>/dev/null
        SRV_PID=
    done
    # (strata only: redis-server leaves the temp files of killed children behind)
    [ $t = strata ] && ok "$t: temp files of children killed with the server were removed" \
        test -z "$(ls "$dir" | grep -E '^temp-')"
}

targets=${KV_TARGETS:-strata redis}
i=0
for t in $targets; do
    if [ $t = strata ] && [ -z "${STRATA:-}" ]; then
        echo "# STRATA not set: skipping strata"
        continue
    fi
    if [ $t = redis ] && ! command -v redis-server >/dev/null; then
        echo "# redis-server not installed: skipping redis"
        continue
    fi
    run_target $t $((BASE_PORT + i))
    i=$((i + 1))
done
done_testing
