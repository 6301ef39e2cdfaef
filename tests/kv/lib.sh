# lib.sh - shared helpers of the kv black-box tests: free loopback ports, starting
# redis-server and `strata kv` in a temp directory, waiting for them, stopping them.
# Source after tests/lib/tap.sh. Ports come from 21000-21099 (KV tests' range) unless
# KV_PORT_BASE says otherwise.

KV_PIDS=()

kv_free_port() { # kv_free_port -> prints a port nobody listens on
    python3 - "${KV_PORT_BASE:-21000}" <<'PY'
import random, socket, sys
base = int(sys.argv[1])
ports = list(range(base, base + 100))
random.shuffle(ports)
for p in ports:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
PY
}

kv_wait_port() { # kv_wait_port PORT PID: 0 once PORT answers PING, 1 if PID died or 20 s passed
    local port=$1 pid=$2 i
    for i in $(seq 1 200); do
        kill -0 "$pid" 2>/dev/null || return 1
        if python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$port),timeout=1)
s.sendall(b'*1\r\n\$4\r\nPING\r\n')
sys.exit(0 if s.recv(100).startswith(b'+PONG') else 1)" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

kv_start_redis() { # kv_start_redis DIR PORT [ARGS...]: starts redis-server in the background
    local dir=$1 port=$2
    shift 2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
        --daemonize no --enable-debug-command yes "$@" >"$dir/redis.log" 2>&1 &
    KV_PIDS+=($!)
    kv_wait_port "$port" $!
}

kv_start_strata() { # kv_start_strata DIR PORT [ARGS...]: starts `strata kv` in the background
    local dir=$1 port=$2
    shift 2
    mkdir -p "$dir"
    "$STRATA" kv --port "$port" --bind 127.0.0.1 --dir "$dir" --enable-debug-command yes "$@" >"$dir/strata.log" 2>&1 &
    KV_PIDS+=($!)
    kv_wait_port "$port" $!
}

kv_stop_all() {
    local p
    for p in "${KV_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    KV_PIDS=()
}

kv_require_strata() { # skip the whole test (TAP) when $STRATA has no `kv` command
    if [ -z "${STRATA:-}" ] || ! "$STRATA" kv --version >/dev/null 2>&1; then
        echo "1..0 # SKIP ${STRATA:-strata} has no kv command"
        exit 0
    fi
}
