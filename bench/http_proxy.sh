#!/usr/bin/env bash
# HTTP keep-alive proxying side by side: wrk against one fake pod directly, and through
# readygate (mode http), HAProxy (mode http) and nginx (upstream keepalive), each proxy
# with one worker, in one run on 127.0.0.1. Medians of RUNS runs; ratios against direct.
#
# usage: bench/http_proxy.sh BUILD_DIR [SECONDS] [RUNS]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
runs=${3:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"

base=${BENCH_FIRST_PORT:-22000}
pod=$base; p_readygate=$((base + 2)); p_haproxy=$((base + 3)); p_nginx=$((base + 4)); admin=$((base + 5))

"$top/$build/tests/fakepod/fakepod" --name a --port "$pod" >/dev/null 2>&1 & pids+=($!)

cat >"$work/readygate.yaml" <<YAML
admin: {listen: "127.0.0.1:$admin"}
workers: 1
services:
  - name: bench
    listen: "127.0.0.1:$p_readygate"
    mode: http
    http: {forwardedHeaders: false}
    endpoints: {static: ["127.0.0.1:$pod"]}
    readinessProbe: {tcpSocket: {}, periodSeconds: 1}
YAML
"$top/$build/proxy/readygate" -c "$work/readygate.yaml" --log-level warn 2>"$work/readygate.log" & pids+=($!)

cat >"$work/haproxy.cfg" <<CFG
global
  maxconn 4000
  nbthread 1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 60s
frontend bench
  bind 127.0.0.1:$p_haproxy
  default_backend pods
backend pods
  http-reuse always
  server a 127.0.0.1:$pod check inter 1s
CFG
haproxy -f "$work/haproxy.cfg" -q & pids+=($!)

cat >"$work/nginx.conf" <<CFG
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4000; }
http {
  access_log off;
  upstream pods { server 127.0.0.1:$pod; keepalive 64; }
  server {
    listen 127.0.0.1:$p_nginx;
    location / { proxy_pass http://pods; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
CFG
nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)

for port in $pod $p_readygate $p_haproxy $p_nginx; do
  for _ in $(seq 1 50); do curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
sleep 1.5  # every proxy has seen its first health check pass

one() {  # port connections -> "rps p99_ms"
  wrk -t1 -c"$2" -d"${seconds}s" --latency "http://127.0.0.1:$1/" >"$work/wrk.out" 2>&1
  awk '/Requests\/sec/ {rps = $2}
       $1 == "99%" {v = $2; if (v ~ /us$/) ms = v / 1000; else if (v ~ /ms$/) ms = v + 0; else ms = v * 1000}
       END {printf "%s %.3f\n", rps, ms}' "$work/wrk.out"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
report() {  # connections
  echo "== keep-alive, wrk -t1 -c$1 -d${seconds}s, median of $runs runs, one proxy worker"
  local label port direct=""
  for label in direct readygate haproxy nginx; do
    case $label in
      direct) port=$pod ;; readygate) port=$p_readygate ;; haproxy) port=$p_haproxy ;; nginx) port=$p_nginx ;;
    esac
    : >"$work/runs"
    for ((i = 0; i < runs; i++)); do one "$port" "$1" >>"$work/runs"; done
    local rps p99
    rps=$(cut -d' ' -f1 "$work/runs" | median)
    p99=$(cut -d' ' -f2 "$work/runs" | median)
    [ -n "$direct" ] || direct=$rps
    printf '%-10s %10.0f req/s  ratio %.2f  p99 %.2f ms\n' "$label" "$rps" \
      "$(awk -v a="$rps" -v b="$direct" 'BEGIN {print a / b}')" "$p99"
  done
}
report 50
report 1
