#!/usr/bin/env bash
# Memory per idle keep-alive client connection: readygate (one worker, HTTP mode) in front of
# nginx; COUNT clients each send one request (a browser-like head), read the answer and stay
# connected; readygate's RSS (VmRSS from /proc) after, minus before, over COUNT. With
# `tls` the listener terminates TLS 1.3 (a P-256 certificate) and the clients speak HTTPS.
#
# usage: bench/idle_memory.sh BUILD_DIR [COUNT] [tls]
set -euo pipefail
build=${1:-build}
count=${2:-10000}
tls=${3:-}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"
readygate_bin="$top/$build/proxy/readygate"
base=${BENCH_FIRST_PORT:-23200}
backend=$base rg_http=$((base + 1)) rg_admin=$((base + 2))
need=$((count + 200))
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge "$need" ] ||
  { echo "idle_memory: needs $need descriptors (ulimit -Hn is $(ulimit -Hn))" >&2; exit 1; }
ulimit -n "$need"

# shellcheck source=fast_backend.sh
source "$top/bench/fast_backend.sh"
start_fast_backend "$backend"
max_connections=$need readygate_one_service "$work/readygate.yaml" "$rg_admin" "$rg_http" \
  "$backend" "keepAliveTimeoutSeconds: 300"
if [ "$tls" = tls ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" \
    -out "$work/tls.crt" -days 2 -subj /CN=bench.example.com >"$work/openssl.log" 2>&1
  # Into the service's flow mapping: `...endpoints: {static: [...]}}` gains a tls key.
  sed -i "s|]}}\$|]}, tls: {certificates: [{cert: \"$work/tls.crt\", key: \"$work/tls.key\"}]}}|" \
    "$work/readygate.yaml"
fi
scheme=http
[ "$tls" != tls ] || scheme=https
"$readygate_bin" -c "$work/readygate.yaml" --log-level warn >"$work/readygate.log" 2>&1 &
pid=$!
pids+=("$pid")
for _ in $(seq 1 100); do
  curl -fsk -o /dev/null --max-time 1 "$scheme://127.0.0.1:$rg_http/" && break
  sleep 0.1
done
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
before=$(rss "$pid")
python3 - "$rg_http" "$count" "$pid" "$work/after" "$tls" <<'PY'
import socket, ssl, sys, time
port, count, pid, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
tls = sys.argv[5] == "tls"
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
head = (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) "
        b"Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml\r\n"
        b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n\r\n")
clients = []
deadline = time.monotonic() + 120  # bounded whatever happens
for _ in range(count):
    if time.monotonic() > deadline:
        sys.exit("idle_memory: too slow")
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if tls:
        s = context.wrap_socket(s, server_hostname="bench.example.com")
    s.sendall(head)
    answer = b""
    while b"\r\n\r\nok\n" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("idle_memory: closed before answering")
        answer += chunk
    clients.append(s)
time.sleep(1)  # let the worker settle (timers, pool sweep)
with open(f"/proc/{pid}/status") as status:
    rss = next(line.split()[1] for line in status if line.startswith("VmRSS:"))
with open(out, "w") as f:
    f.write(rss)
for s in clients:
    s.close()
PY
after=$(cat "$work/after")
awk -v before="$before" -v after="$after" -v count="$count" -v tls="${tls:+ TLS}" 'BEGIN {
  printf "memory per idle keep-alive%s client connection (%d held, RSS %d -> %d KiB): %.2f KiB\n",
    tls, count, before, after, (after - before) / count }'
