#!/usr/bin/env bash
# lab.sh - the lab's hot pages against nginx's plaintext, side by side (bench/README.md).
#
#   bench/lab.sh BUILD_DIR
#
# One run: nginx (worker_processes 1) serving "Hello, World!" and `strata serve --workers 1`,
# both pinned to SERVER_CPU (0), wrk -t1 -c64 on CLIENT_CPU (1), alternating in every round:
#   nginx GET /plaintext | strata GET /questions/242 | strata GET /api/v1/questions?page=1
# Prints each round, then medians of req/s and p99 and the ratios to nginx's plaintext (the
# issue asks for >= 0.3 with p99 <= 2x). Then a soak: SOAK seconds (default 300) of wrk on the
# question page while the server's RSS is sampled every 10 s (it must stay flat).
# Environment: ROUNDS (5), DURATION (5), SOAK (300; 0 skips), CONNS (64), NGINX_PORT (18180),
# LAB_PORT (18181).
set -euo pipefail

die() {
    echo "bench/lab.sh: $*" >&2
    exit 1
}
[ $# -eq 1 ] || die "usage: bench/lab.sh BUILD_DIR"
strata=$1/strata
[ -x "$strata" ] || die "$strata not found; build it first"
for t in nginx wrk taskset python3 curl; do
    command -v "$t" >/dev/null || die "'$t' is not installed; run scripts/install-deps.sh bench"
done
rounds=${ROUNDS:-5} dur=${DURATION:-5} soak=${SOAK:-300} conns=${CONNS:-64}
scpu=${SERVER_CPU:-0} ccpu=${CLIENT_CPU:-1}
nport=${NGINX_PORT:-18180} lport=${LAB_PORT:-18181}

work=$(mktemp -d /tmp/strata-lab-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off; keepalive_requests 10000000;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 127.0.0.1:$nport;
    location /plaintext { default_type text/plain; return 200 "Hello, World!"; } }
}
EOF
taskset -c "$scpu" nginx -c "$work/nginx.conf" &
pids+=($!)
STRATA_LOG_LEVEL=warn taskset -c "$scpu" "$strata" serve --listen "127.0.0.1:$lport" --workers 1 \
    --data "$work/data" >"$work/lab.out" 2>&1 &
lab=$!
pids+=($lab)
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$nport/plaintext" >/dev/null && grep -q listening "$work/lab.out" && break
    sleep 0.1
done
curl -sf "http://127.0.0.1:$lport/questions/242" | grep -q "consistent hashing" || die "the lab does not answer"

targets=("nginx-plaintext http://127.0.0.1:$nport/plaintext"
         "lab-question http://127.0.0.1:$lport/questions/242"
         "lab-api-list http://127.0.0.1:$lport/api/v1/questions?page=1")

echo "== strata lab vs nginx plaintext, $(date -u '+%Y-%m-%d %H:%M UTC'), $rounds rounds x ${dur}s, wrk -t1 -c$conns"
echo "commit: $(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo unknown)"
: >"$work/results"
for r in $(seq "$rounds"); do
    for t in "${targets[@]}"; do
        name=${t%% *} url=${t#* }
        out=$(taskset -c "$ccpu" wrk -t1 -c"$conns" -d"${dur}s" --latency "$url")
        rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
        p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
        errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
        echo "[r$r] $name $rps req/s p99 $p99 $errs"
        echo "$name $rps $p99" >>"$work/results"
    done
done

python3 - "$work/results" <<'EOF'
import statistics, sys
rows = {}
def ms(s):
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1e3)):
        if s.endswith(unit):
            return float(s[: -len(unit)]) * f
    return float(s)
for line in open(sys.argv[1]):
    name, rps, p99 = line.split()
    rows.setdefault(name, []).append((float(rps), ms(p99)))
base = statistics.median(r for r, _ in rows["nginx-plaintext"])
base_p99 = statistics.median(p for _, p in rows["nginx-plaintext"])
print("\nmedians:            req/s     p99 ms   ratio to nginx plaintext   p99 ratio")
for name, v in rows.items():
    rps = statistics.median(r for r, _ in v)
    p99 = statistics.median(p for _, p in v)
    print(f"  {name:<16} {rps:10.0f} {p99:10.2f}   {rps / base:8.2f}                 {p99 / base_p99:6.2f}")
EOF

if [ "$soak" -gt 0 ]; then
    echo
    echo "== soak: ${soak}s of wrk on /questions/242, RSS of the lab every 10 s (KiB)"
    taskset -c "$ccpu" wrk -t1 -c"$conns" -d"${soak}s" "http://127.0.0.1:$lport/questions/242" >"$work/soak" &
    w=$!
    samples=()
    for _ in $(seq $((soak / 10))); do
        sleep 10
        samples+=("$(awk '/^VmRSS/ {print $2}' /proc/$lab/status)")
    done
    wait $w
    echo "RSS: ${samples[*]}"
    grep -E "Requests/sec" "$work/soak"
    python3 -c 'import sys; s=[int(x) for x in sys.argv[1:]]; print(f"first {s[0]} KiB, last {s[-1]} KiB, max {max(s)} KiB, growth after the first minute {s[-1]-s[min(5,len(s)-1)]} KiB")' "${samples[@]}"
fi
