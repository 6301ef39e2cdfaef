#!/usr/bin/env bash
# server.sh - the HTTP server black-box, over real sockets on loopback against the strata
# binary (`strata example bench --workers 2`, and `strata example basics` where an app
# with an access log or POST /echo is needed): keep-alive reuse, pipelining with requests
# split byte by byte, HEAD without a body, exact /json, 404 problem+json, a malformed
# request answered 400 and closed, both workers serving, Expect: 100-continue, graceful
# stop on SIGTERM (a slow client with a half-sent request cannot hold it past the drain
# deadline; idle keep-alive connections do not hold it at all) and SIGHUP reopening the
# log file (STRATA_LOG_FILE) after a rename, as logrotate does.
#
# Raw exchanges use python3 sockets (tests/http/server.sh writes the helper into its temp
# directory). Timeouts are generous for ASan builds; the script takes ~20 s.
set -u
. "$SRCROOT/tests/lib/tap.sh"
S=$STRATA

T=$(mktemp -d)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT

# ---- the raw client ----
cat >"$T/raw.py" <<'EOF'
"""raw.py MODE PORT [ARGS] - raw HTTP exchanges for server.sh; prints what it saw, exits 1 on error."""
import socket, sys, time

mode, port = sys.argv[1], int(sys.argv[2])

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def read_all(s):
    """Everything until the peer closes; raises on timeout."""
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk

def read_head(s, data=b""):
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("closed before a response head: %r" % data)
        data += chunk
    return data

def responses(data, methods):
    """Split data into (status, headers, body) per request method, by Content-Length."""
    out = []
    for m in methods:
        end = data.index(b"\r\n\r\n")
        head, data = data[:end].decode("latin-1"), data[end + 4:]
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n = 0 if m == "HEAD" else int(hdrs.get("content-length", "0"))
        body, data = data[:n], data[n:]
        out.append((status, hdrs, body))
    if data:
        raise SystemExit("bytes after the last response: %r" % data)
    return out

def req(method, path, extra=""):
    return ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n" % (method, path, extra)).encode()

if mode == "pipeline":
    # Requests in one stream, sent whole ("whole") or one byte per segment ("bytes").
    methods = ["GET", "GET", "HEAD", "GET"]
    data = (req("GET", "/plaintext") + req("GET", "/json") + req("HEAD", "/plaintext")
            + req("GET", "/plaintext", "Connection: close\r\n"))
    s = conn()
    if sys.argv[3] == "bytes":
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(0.0005)
    else:
        s.sendall(data)
    rs = responses(read_all(s), methods)
    for st, h, b in rs:
        print(st, h.get("content-type"), b.decode())
    ok = ([r[0] for r in rs] == [200] * 4 and rs[0][2] == b"Hello, World!"
          and rs[1][2] == b'{"message":"Hello, World!"}' and rs[2][2] == b"" and rs[3][2] == b"Hello, World!"
          and rs[2][1].get("content-length") == "13")
    sys.exit(0 if ok else 1)

elif mode == "head":
    # HEAD then GET on one connection: the HEAD response must end at its head.
    s = conn()
    s.sendall(req("HEAD", "/plaintext") + req("GET", "/plaintext", "Connection: close\r\n"))
    data = read_all(s)
    print(repr(data))
    end = data.index(b"\r\n\r\n") + 4
    head = data[:end].decode("latin-1").lower()
    ok = "content-length: 13\r\n" in head and data[end:].startswith(b"HTTP/1.1 200")
    rs = responses(data, ["HEAD", "GET"])
    sys.exit(0 if ok and rs[1][2] == b"Hello, World!" else 1)

elif mode == "malformed":
    # A header name with a space: 400, then the server closes the connection (read hits EOF).
    s = conn()
    s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: x\r\n\r\n")
    data = read_all(s)
    print(repr(data))
    sys.exit(0 if data.startswith(b"HTTP/1.1 400 ") else 1)

elif mode == "continue":
    # POST with Expect: 100-continue: the interim response comes before we send the body.
    body = b'{"a": 1}'
    s = conn()
    s.sendall(req("POST", "/echo", "Content-Type: application/json\r\nContent-Length: %d\r\n"
                  "Expect: 100-continue\r\nConnection: close\r\n" % len(body)))
    first = read_head(s)
    print(repr(first))
    if not first.startswith(b"HTTP/1.1 100 Continue\r\n"):
        sys.exit(1)
    rest = first[first.index(b"\r\n\r\n") + 4:]
    s.sendall(body)
    data = rest + read_all(s)
    print(repr(data))
    sys.exit(0 if data.startswith(b"HTTP/1.1 200 ") and b'"a": 1' in data else 1)

elif mode == "hold":
    # Hold connections until killed: "partial" sends half a request head, "idle" completes
    # one request per connection and then keeps it open. Prints "ready" once set up.
    kind, n = sys.argv[3], int(sys.argv[4])
    socks = []
    for _ in range(n):
        s = conn()
        if kind == "partial":
            s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        else:
            s.sendall(req("GET", "/plaintext"))
            d = read_head(s)
            if not d.startswith(b"HTTP/1.1 200"):
                sys.exit(1)
        socks.append(s)
    print("ready", flush=True)
    time.sleep(60)

elif mode == "many":
    # n connections, one request each.
    for _ in range(int(sys.argv[3])):
        s = conn()
        s.sendall(req("GET", "/plaintext", "Connection: close\r\n"))
        if not read_all(s).startswith(b"HTTP/1.1 200"):
            sys.exit(1)
        s.close()
EOF
RAW=(python3 "$T/raw.py")

# start NAME APP ARGS... - start `strata example APP ARGS` with --listen 127.0.0.1:0; sets
# pid and port, or fails the test and returns 1.
start() {
    local name=$1 app=$2
    shift 2
    spawn "$name" 15 "$S" example "$app" --listen 127.0.0.1:0 "$@"
}

# stop_within SIGNAL PID SECONDS - sends SIGNAL and waits for PID (a child of this shell)
# to exit; sets r to "STATUS ELAPSED_MS", or "timeout ELAPSED_MS" if it still runs after
# SECONDS (it is then killed). No subshell: only this shell can wait for its child.
stop_within() {
    local pid=$2 limit_ms=$(($3 * 1000)) t0 now st
    t0=$(date +%s%3N)
    kill -"$1" "$pid"
    # kill -0 also succeeds on a zombie: look at the state, and let wait reap it.
    while ps -o stat= -p "$pid" 2>/dev/null | grep -qv '^Z'; do
        now=$(date +%s%3N)
        if [ $((now - t0)) -gt "$limit_ms" ]; then
            kill -9 "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            r="timeout $((now - t0))"
            return
        fi
        sleep 0.05
    done
    wait "$pid"
    st=$?
    now=$(date +%s%3N)
    r="$st $((now - t0))"
}

C=(curl -s --max-time 10)

# ---- bench: framing, keep-alive, errors ----
if start bench bench --workers 2; then
    pid_bench=$pid port_bench=$port
    U=http://127.0.0.1:$port_bench
    tap_result 1 "bench started on port $port_bench"

    out=$("${C[@]}" -v "$U/plaintext" "$U/json" 2>&1)
    ok_match "keep-alive: curl reuses the connection for a second URL" 'Re-using existing connection' "$out"
    ok_match "keep-alive: one connection opened" '^1$' "$(printf '%s\n' "$out" | grep -c 'Connected to')"

    ok_match "/plaintext body" '^Hello, World!$' "$("${C[@]}" "$U/plaintext")"
    body=$("${C[@]}" -D "$T/json.head" "$U/json")
    if [ "$body" = '{"message":"Hello, World!"}' ]; then tap_result 1 "/json body is exactly {\"message\":\"Hello, World!\"}"
    else tap_result 0 "/json body is exactly {\"message\":\"Hello, World!\"}" "got: $body"; fi
    ok_match "/json is application/json" '^content-type: application/json' "$(tr -d '\r' <"$T/json.head" | tr '[:upper:]' '[:lower:]')"

    head=$("${C[@]}" -I "$U/plaintext" | tr -d '\r')
    ok_match "HEAD /plaintext: 200 with Content-Length: 13" '^HTTP/1.1 200.*[Cc]ontent-[Ll]ength: 13' "$(printf '%s' "$head" | tr '\n' ' ')"
    ok "HEAD /plaintext: no body (a GET right behind it on the connection parses)" "${RAW[@]}" head "$port_bench"

    out=$("${C[@]}" -o "$T/nf.body" -w '%{http_code} %{content_type}' "$U/no/such/path")
    ok_match "unknown path: 404 application/problem+json" '^404 application/problem\+json' "$out"
    ok_match "unknown path: a problem document" '"status": ?404' "$(cat "$T/nf.body")"

    ok "pipelined: 4 requests in one write, 4 responses in order" "${RAW[@]}" pipeline "$port_bench" whole
    ok "pipelined: 4 requests sent byte by byte, 4 responses in order" "${RAW[@]}" pipeline "$port_bench" bytes
    ok "malformed request (space in a header name): 400, then closed" "${RAW[@]}" malformed "$port_bench"
    ok_match "the server still answers after the 400" '^Hello, World!$' "$("${C[@]}" "$U/plaintext")"

    # Both workers: SO_REUSEPORT spreads connections over the two loops. Each worker thread
    # that serves connections is woken for them (voluntary context switches); idle threads
    # (main, blocked in join; an idle loop wakes for its timers only) barely move.
    tasks() { for t in /proc/"$pid_bench"/task/*; do printf '%s %s\n' "${t##*/}" "$(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")"; done; }
    tasks >"$T/ctx.before"
    if "${RAW[@]}" many "$port_bench" 200; then
        tasks >"$T/ctx.after"
        busy=$(join "$T/ctx.before" "$T/ctx.after" | awk '$3 - $2 >= 20' | wc -l)
        ok_match "both workers answer (threads woken by 200 connections: $busy)" '^[2-9]$' "$busy"
    else
        tap_result 0 "both workers answer" "200 connections, one request each, failed"
    fi

    # Idle keep-alive connections do not hold up a stop.
    "${RAW[@]}" hold "$port_bench" idle 4 >"$T/idle.out" 2>&1 &
    holder=$!
    PIDS+=("$holder")
    for _ in $(seq 100); do grep -q ready "$T/idle.out" && break; sleep 0.1; done
    ok_match "4 idle keep-alive connections open" ready "$(cat "$T/idle.out")"
    stop_within TERM "$pid_bench" 10
    ok_match "SIGTERM with only idle keep-alive connections: exit 0 within 2 s ($r ms)" '^0 (1?[0-9]{1,3})$' "$r"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
fi

# ---- a slow client cannot hold a stop past the drain deadline (10 s) ----
if start slow bench --workers 2; then
    pid_slow=$pid port_slow=$port
    "${RAW[@]}" hold "$port_slow" partial 2 >"$T/partial.out" 2>&1 &
    holder=$!
    PIDS+=("$holder")
    for _ in $(seq 100); do grep -q ready "$T/partial.out" && break; sleep 0.1; done
    ok_match "2 connections with half a request head open" ready "$(cat "$T/partial.out")"
    sleep 0.2 # let the server read what was sent
    stop_within TERM "$pid_slow" 14
    ok_match "SIGTERM with a slow client mid-request: exit 0 within 12 s ($r ms)" '^0 ([0-9]{1,4}|1[01][0-9]{3})$' "$r"
    kill "$holder" 2>/dev/null
    wait "$holder" 2>/dev/null
fi

# ---- basics: Expect: 100-continue; SIGHUP reopens the log file ----
LOG=$T/access.log
if STRATA_LOG_FILE=$LOG start basics basics --workers 2; then
    pid_basics=$pid port_basics=$port
    U=http://127.0.0.1:$port_basics
    ok "Expect: 100-continue on POST /echo: '100 Continue' first, then 200" "${RAW[@]}" continue "$port_basics"

    "${C[@]}" -o /dev/null "$U/?first"
    for _ in $(seq 50); do grep -q msg=request "$LOG" 2>/dev/null && break; sleep 0.1; done
    ok_match "the access log goes to STRATA_LOG_FILE" 'msg=request .*path=/' "$(cat "$LOG" 2>/dev/null)"
    ok_match "the access log is not on stderr" '^0$' "$(grep -c 'msg=request' "$T/basics.err")"
    mv "$LOG" "$LOG.1"
    kill -HUP "$pid_basics"
    for _ in $(seq 100); do [ -e "$LOG" ] && break; sleep 0.1; done
    ok "SIGHUP: a new file at STRATA_LOG_FILE's path" test -e "$LOG"
    "${C[@]}" -o /dev/null "$U/after-hup"
    for _ in $(seq 50); do grep -q after-hup "$LOG" 2>/dev/null && break; sleep 0.1; done
    ok_match "SIGHUP: the next request is logged in the new file" 'msg=request .*path=/after-hup' "$(cat "$LOG" 2>/dev/null)"
    ok_match "SIGHUP: the renamed file keeps the lines from before" '^[1-9]' "$(grep -c 'msg=request' "$LOG.1")"
    ok_match "SIGHUP: the renamed file has no line from after the reopen" '^0$' "$(grep -c after-hup "$LOG.1")"
    ok "SIGHUP: the server still answers" "${C[@]}" -f -o /dev/null "$U/"
    stop_within TERM "$pid_basics" 10
    ok_match "basics: SIGTERM exits 0 ($r ms)" '^0 ' "$r"
fi

done_testing
