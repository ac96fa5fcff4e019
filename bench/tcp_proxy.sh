#!/usr/bin/env bash
# TCP proxying side by side: wrk against a fake pod directly, and through readygate,
# HAProxy (mode tcp) and nginx (stream), in one run, on 127.0.0.1; ratios against direct.
#
# usage: bench/tcp_proxy.sh BUILD_DIR [SECONDS] [CONNECTIONS]
# Two rounds: keep-alive (forwarding cost) and Connection: close (a new proxied
# connection per request: accept, balancer pick, upstream connect).
set -euo pipefail
build=${1:-build}
seconds=${2:-10}
connections=${3:-50}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"

base=${BENCH_FIRST_PORT:-21000}
pod_a=$base; pod_b=$((base + 1)); p_readygate=$((base + 2)); p_haproxy=$((base + 3)); p_nginx=$((base + 4))
admin=$((base + 5))
threads=$(nproc)

"$top/$build/tests/fakepod/fakepod" --name a --port "$pod_a" >/dev/null 2>&1 & pids+=($!)
"$top/$build/tests/fakepod/fakepod" --name b --port "$pod_b" >/dev/null 2>&1 & pids+=($!)

cat >"$work/readygate.yaml" <<YAML
admin: {listen: "127.0.0.1:$admin"}
workers: $threads
services:
  - name: bench
    listen: "127.0.0.1:$p_readygate"
    endpoints: {static: ["127.0.0.1:$pod_a", "127.0.0.1:$pod_b"]}
    readinessProbe: {tcpSocket: {}, periodSeconds: 1}
YAML
"$top/$build/proxy/readygate" -c "$work/readygate.yaml" --log-level warn 2>"$work/readygate.log" & pids+=($!)

cat >"$work/haproxy.cfg" <<CFG
global
  maxconn 4000
  nbthread $threads
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend bench
  bind 127.0.0.1:$p_haproxy
  default_backend pods
backend pods
  balance roundrobin
  server a 127.0.0.1:$pod_a check inter 1s
  server b 127.0.0.1:$pod_b check inter 1s
CFG
haproxy -f "$work/haproxy.cfg" -q & pids+=($!)

cat >"$work/nginx.conf" <<CFG
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes $threads;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4000; }
stream {
  upstream pods { server 127.0.0.1:$pod_a; server 127.0.0.1:$pod_b; }
  server { listen 127.0.0.1:$p_nginx; proxy_pass pods; }
}
CFG
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)

for port in $pod_a $pod_b $p_readygate $p_haproxy $p_nginx; do
  for _ in $(seq 1 50); do curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
sleep 1.5  # every proxy has seen its first health check pass

run() {  # label port extra-wrk-args...
  local label=$1 port=$2; shift 2
  wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" "http://127.0.0.1:$port/" >"$work/wrk.out" 2>&1
  local rps p50 p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.out")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.out")
  echo "$label $rps $p50 $p99"
}
report() {  # title wrk-args...
  local title=$1; shift
  echo "== $title (wrk -t1 -c$connections -d${seconds}s; proxies with $threads threads)"
  local direct
  {
    run direct "$pod_a" "$@"
    run readygate "$p_readygate" "$@"
    run haproxy "$p_haproxy" "$@"
    run nginx "$p_nginx" "$@"
  } | awk 'NR == 1 {direct = $2}
           {printf "%-10s %10.0f req/s  ratio %.2f  p50 %-9s p99 %s\n", $1, $2, $2 / direct, $3, $4}'
}
report "keep-alive"
report "new connection per request" -H "Connection: close"
