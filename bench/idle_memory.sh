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
read -r before after < <(python3 "$top/bench/hold_idle.py" "$rg_http" "$count" "${tls:-plain}" "$pid")
awk -v before="$before" -v after="$after" -v count="$count" -v tls="${tls:+ TLS}" 'BEGIN {
  printf "memory per idle keep-alive%s client connection (%d held, RSS %d -> %d KiB): %.2f KiB\n",
    tls, count, before, after, (after - before) / count }'
