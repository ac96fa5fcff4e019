#!/usr/bin/env bash
# TLS termination, side by side in one run: wrk over HTTPS through readygate, HAProxy and
# nginx (each terminating TLS with the same P-256 certificate, TLS 1.3, their defaults
# otherwise) to a plain backend faster than any of them (nginx, one worker, "ok\n").
# wrk and the backend share cpu 0, each proxy runs alone on cpu 1; CPU per request is
# the proxy's utime+stime from /proc over the run divided by the requests wrk counted.
# Keep-alive (the record layer's cost) and a new connection per request (a full
# TLS 1.3 handshake each: over TLS 1.3 wrk resumes nothing). Medians of RUNS runs.
#
# usage: bench/tls_path.sh BUILD_DIR [SECONDS] [RUNS]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
runs=${3:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"
# shellcheck source=fast_backend.sh
source "$top/bench/fast_backend.sh"
scheme=https
# shellcheck source=measure.sh
source "$top/bench/measure.sh"
readygate_bin="$top/$build/proxy/readygate"
[ "$(nproc)" -ge 2 ] || { echo "tls_path: needs two cores" >&2; exit 1; }

base=${BENCH_FIRST_PORT:-23100}
backend=$base rg=$((base + 1)) ha=$((base + 2)) ng=$((base + 3)) rg_admin=$((base + 4))

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" \
  -out "$work/tls.crt" -days 2 -subj /CN=bench.example.com \
  -addext subjectAltName=DNS:bench.example.com >"$work/openssl.log" 2>&1
cat "$work/tls.crt" "$work/tls.key" >"$work/haproxy.pem"

start_fast_backend "$backend"
started=none
start() {  # cpus log command...
  taskset -c "$1" "${@:3}" >"$work/$2" 2>&1 &
  started=$!
  pids+=("$started")
}

cat >"$work/readygate.yaml" <<CFG
admin: {listen: "127.0.0.1:$rg_admin"}
workers: 1
services:
  - name: https
    listen: "127.0.0.1:$rg"
    mode: http
    http: {forwardedHeaders: false}
    endpoints: {static: ["127.0.0.1:$backend"]}
    tls:
      certificates: [{cert: "$work/tls.crt", key: "$work/tls.key"}]
CFG
start 1 readygate.log "$readygate_bin" -c "$work/readygate.yaml" --log-level warn
pid_readygate=$started

cat >"$work/haproxy.cfg" <<CFG
global
  maxconn 4000
  nbthread 1
defaults
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 60s
frontend https
  mode http
  option http-keep-alive
  bind 127.0.0.1:$ha ssl crt $work/haproxy.pem alpn http/1.1
  default_backend http
backend http
  mode http
  http-reuse always
  server b 127.0.0.1:$backend
CFG
start 1 haproxy.log haproxy -f "$work/haproxy.cfg" -q
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
  upstream backend { server 127.0.0.1:$backend; keepalive 128; }
  server { listen 127.0.0.1:$ng ssl; ssl_protocols TLSv1.2 TLSv1.3;  # 1.22 offers no 1.3 by default
    ssl_certificate $work/tls.crt; ssl_certificate_key $work/tls.key;
    location / { proxy_pass http://backend; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_buffering on; } }
}
CFG
start 1 nginx-proxy.log nginx -c "$work/proxy.conf" -p "$work"
pid_nginx=$started

for port in $rg $ha $ng; do
  for _ in $(seq 1 100); do curl -fsk -o /dev/null --max-time 1 "https://127.0.0.1:$port/" && break; sleep 0.1; done
  curl -fsk -o /dev/null --max-time 1 "https://127.0.0.1:$port/" || { echo "port $port does not answer" >&2; tail -n 5 "$work"/*.log >&2; exit 1; }
done

echo "tls_path: $(date -u +%FT%TZ), commit $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
  "wrk -t1 -d${seconds}s over HTTPS (TLS 1.3, P-256), median of $runs runs; wrk and the backend on cpu 0,"\
  "each proxy alone on cpu 1; CPU from /proc (utime+stime) / requests"
table "### HTTPS keep-alive, -c50, 3-byte body"
row "readygate" "$pid_readygate" "$rg" 50 /
row "HAProxy 2.6" "$pid_haproxy" "$ha" 50 /
row "nginx 1.22" "$pid_nginx" "$ng" 50 /
table "### a new TLS connection per request (full handshake), -c50"
row "readygate" "$pid_readygate" "$rg" 50 / -H "Connection: close"
row "HAProxy 2.6" "$pid_haproxy" "$ha" 50 / -H "Connection: close"
row "nginx 1.22" "$pid_nginx" "$ng" 50 / -H "Connection: close"
