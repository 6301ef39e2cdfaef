#!/usr/bin/env bash
# redis_cli.sh - the real redis-cli against `strata kv`, each check also run against
# redis-server with the same command so the expected output is Redis's own: plain
# commands, RESP3 (-3), --pipe mass insertion, -r repeats, errors, INFO, and abuse
# (garbage bytes, an endless inline line, huge announced lengths, many connections cut
# mid-command) after which the server must still answer everyone else.
set -u
. "$SRCROOT/tests/lib/tap.sh"
. "$SRCROOT/tests/kv/lib.sh"
kv_require_strata
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    echo "1..0 # SKIP redis-server/redis-cli are not installed (scripts/install-deps.sh test)"
    exit 0
fi
T=$(mktemp -d /tmp/kv-cli.XXXXXX)
trap 'kv_stop_all; rm -rf "$T"' EXIT
rport=$(kv_free_port)
kv_start_redis "$T/redis" "$rport" || { echo "not ok 1 - redis-server starts"; echo "1..1"; exit 1; }
sport=$(kv_free_port)
kv_start_strata "$T/strata" "$sport" || { echo "not ok 1 - strata kv starts"; sed 's/^/# /' "$T/strata/strata.log"; echo "1..1"; exit 1; }

cli() { # cli PORT ARGS... (stdin passed through)
    local port=$1; shift
    timeout 30 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>&1
}

# same NAME ARGS...: redis-cli prints the same thing for both servers
same() {
    local name=$1; shift
    local a b
    a=$(cli "$rport" "$@"); b=$(cli "$sport" "$@")
    if [ "$a" = "$b" ]; then tap_result 1 "$name"; else tap_result 0 "$name" "redis: $a
strata: $b"; fi
}

for p in "$rport" "$sport"; do cli "$p" FLUSHALL >/dev/null; done

same "PING" PING
same "SET then GET" SET greeting "hello world"
same "GET" GET greeting
same "GET of a missing key" GET nokey
same "ECHO with binary escapes" ECHO "a\"b"
same "unknown command error" NOSUCH a b
same "arity error" GET
same "SELECT out of range" SELECT 99
a=$(cli "$rport" -3 HELLO 3 SETNAME cli | grep -v '^id '); b=$(cli "$sport" -3 HELLO 3 SETNAME cli | grep -v '^id ')
ok "RESP3 HELLO map (-3), ids aside" test "$a" = "$b"
same "RESP3 CONFIG GET is a map" -3 CONFIG GET maxmemory
same "RESP3 GET nil" -3 GET nokey
same "RESP3 PING" -3 PING
same "CONFIG GET several" CONFIG GET maxmemory-policy
same "repeat with -r" -r 5 INCR repeated
same "GET after repeats" GET repeated
same "raw output of a multi-line value" --raw ECHO "line1
line2"
same "no-raw output" --no-raw ECHO "x"
same "unknown command in raw mode" --raw EVAL_NOT_A_COMMAND
ok_match "redis-cli INFO server names a Redis version" '^redis_version:7\.' "$(cli "$sport" INFO server | tr -d '\r' | grep redis_version)"
ok_match "INFO keyspace counts the keys" 'db0:keys=2,expires=0' "$(cli "$sport" INFO keyspace | tr -d '\r')"

# --pipe: mass insertion of 20000 commands in raw RESP, as the Redis docs describe it
python3 - >"$T/mass.txt" <<'PY'
import sys
out = []
for i in range(20000):
    k, v = b"mass:%d" % i, b"value %d" % i
    out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
sys.stdout.buffer.write(b"".join(out))
PY
for side in redis strata; do
    port=$rport; [ $side = strata ] && port=$sport
    out=$(cli "$port" --pipe <"$T/mass.txt")
    ok_match "$side: --pipe mass insertion of 20000 SETs" 'errors: 0, replies: 20000' "$out"
done
same "a key from the mass insertion" GET mass:19999
same "DBSIZE after mass insertion" DBSIZE

# ---- abuse: bad clients get Redis's error and are closed; others are not disturbed ----
cat >"$T/abuse.py" <<'PY'
import os, socket, sys, time
port = int(sys.argv[1])
def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s
def exchange(data, wait_close=True):
    s = conn()
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    try:
        while True:
            c = s.recv(65536)
            if not c:
                out += b"<closed>"
                break
            out += c
            if not wait_close:
                break
    except socket.timeout:
        out += b"<timeout>"
    except ConnectionResetError:
        out += b"<reset>"
    s.close()
    return out
case = sys.argv[2]
if case == "inline-too-big":
    print(exchange(b"A" * (70 * 1024)))
elif case == "garbage":
    import random
    rnd = random.Random(7)
    for i in range(200):
        n = rnd.randint(1, 300)
        data = bytes(rnd.getrandbits(8) for _ in range(n)) + b"\r\n"
        s = conn()
        try:
            s.sendall(data)
        except OSError:
            pass
        s.close()
    print("sent")
elif case == "cut-midway":
    # 100 clients announce a big bulk and vanish: nothing may stay allocated or stuck
    socks = []
    for i in range(100):
        s = conn()
        s.sendall(b"*2\r\n$3\r\nSET\r\n$400000000\r\nabc")
        socks.append(s)
    for s in socks:
        s.close()
    print("sent")
elif case == "alive":
    s = conn()
    s.sendall(b"*1\r\n$4\r\nPING\r\n")
    print(s.recv(100))
PY
for side in redis strata; do
    port=$rport; [ $side = strata ] && port=$sport
    ok_match "$side: an endless inline line is refused and closed" \
        "ERR Protocol error: too big inline request.*<closed>" "$(python3 "$T/abuse.py" "$port" inline-too-big)"
    python3 "$T/abuse.py" "$port" garbage >/dev/null
    python3 "$T/abuse.py" "$port" cut-midway >/dev/null
    ok_match "$side: still answers after garbage and cut connections" "PONG" "$(python3 "$T/abuse.py" "$port" alive)"
done
same "data intact after the abuse" GET greeting
rss=$(awk '/VmRSS/ {print $2}' "/proc/${KV_PIDS[1]}/status" 2>/dev/null || echo 0)
ok_match "strata RSS stays bounded after 100 huge announced bulks (${rss} kB)" '^ok$' \
    "$([ "${rss:-0}" -lt 400000 ] && echo ok || echo "rss ${rss} kB")"

done_testing
