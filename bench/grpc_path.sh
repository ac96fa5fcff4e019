#!/usr/bin/env bash
# gRPC through the proxy, side by side in one run (issue 23): unary calls as h2load sends
# them (POST /test.Echo/Unary, content-type application/grpc, te: trailers, a 5-byte framed
# message) through readygate (upstreamProtocol h2c), HAProxy (h2 both sides) and nginx
# (grpc_pass), each with one worker, h2c from the client. The backend is nginx over h2c
# answering 200 with grpc-status in trailers (add_trailer), faster than any proxy in front
# of it: there is no faster real gRPC server in Debian (grpcio in Python is the bottleneck
# it would measure). The answer's body is not gRPC-framed: no proxy here reads it.
# h2load and the backend run on cpu 0, each proxy alone on cpu 1; CPU per call is the
# proxy's utime+stime from /proc over the run divided by the calls h2load saw succeed.
# Medians of RUNS rounds, the proxies' order rotated from round to round.
#
# usage: bench/grpc_path.sh BUILD_DIR [SECONDS] [RUNS]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
runs=${3:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"
# shellcheck source=fast_backend.sh
source "$top/bench/fast_backend.sh"
# shellcheck source=measure.sh
source "$top/bench/measure.sh"
readygate_bin="$top/$build/proxy/readygate"
[ "$(nproc)" -ge 2 ] || { echo "grpc_path: needs two cores" >&2; exit 1; }

base=${BENCH_FIRST_PORT:-23400}
backend=$base rg_admin=$((base + 1)) rg=$((base + 2)) ha=$((base + 3)) ng=$((base + 4))
printf '\x00\x00\x00\x00\x02hi' >"$work/call.bin"

start_fast_grpc_backend "$backend"

start() {  # log command...: on cpu 1
  taskset -c 1 "${@:2}" >"$work/$1" 2>&1 &
  started=$!
  pids+=("$started")
}
cat >"$work/readygate.yaml" <<CFG
admin: {listen: "127.0.0.1:$rg_admin"}
workers: 1
services:
  - name: grpc
    listen: "127.0.0.1:$rg"
    mode: http
    upstreamProtocol: h2c
    http: {forwardedHeaders: false, keepAliveTimeoutSeconds: 300, upstreamIdleTimeoutSeconds: 300}
    endpoints: {static: ["127.0.0.1:$backend"]}
CFG
start readygate.log "$readygate_bin" -c "$work/readygate.yaml" --log-level warn
pid_readygate=$started
cat >"$work/haproxy.cfg" <<CFG
global
  nbthread 1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
frontend grpc
  bind 127.0.0.1:$ha proto h2
  default_backend grpc
backend grpc
  http-reuse always
  server b 127.0.0.1:$backend proto h2
CFG
start haproxy.log haproxy -f "$work/haproxy.cfg" -q
pid_haproxy=$started
cat >"$work/proxy.conf" <<CFG
worker_processes 1;
daemon off;
pid $work/proxy.pid;
error_log $work/proxy-error.log;
events { worker_connections 4000; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  http2_max_requests 1000000;
  upstream grpc_backend { server 127.0.0.1:$backend; keepalive 128; keepalive_requests 1000000; }
  server { listen 127.0.0.1:$ng http2; location / { grpc_pass grpc://grpc_backend; } }
}
CFG
start nginx-proxy.log nginx -c "$work/proxy.conf" -p "$work"
pid_nginx=$started

call() {  # port: one call with h2load; true when it got its 200
  h2load -n 1 -c 1 -d "$work/call.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$1/test.Echo/Unary" 2>/dev/null | grep -q "^status codes: 1 2xx"
}
for port in $backend $rg $ha $ng; do
  for _ in $(seq 1 100); do call "$port" && break; sleep 0.1; done
  call "$port" || { echo "port $port does not answer the call" >&2; tail -n 5 "$work"/*.log >&2; exit 1; }
done

grpc_one() {  # pid port clients streams -> "calls/s cpu_us_per_call"
  h2load_one "$1" "http://127.0.0.1:$2/test.Echo/Unary" -c "$3" -m "$4" -d "$work/call.bin" \
    -H 'content-type: application/grpc' -H 'te: trailers'
}
labels=("readygate" "HAProxy 2.6" "nginx 1.22 grpc_pass")
proxy_pids=("$pid_readygate" "$pid_haproxy" "$pid_nginx")
ports=("$rg" "$ha" "$ng")
for shape in "10 10" "100 1"; do
  read -r clients streams <<<"$shape"
  rotated_rounds grpc_one "$clients" "$streams"
  ratio_table "h2load -c $clients -m $streams unary calls, ${seconds} s, median of $runs; h2load and the backend on cpu 0, each proxy alone on cpu 1" \
    calls/s call
done
