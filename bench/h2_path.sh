#!/usr/bin/env bash
# HTTP/2 to clients, side by side in one run (issue 22): h2load through readygate, HAProxy
# and nginx, each terminating TLS (P-256 ECDSA, h2 by ALPN) and speaking HTTP/1.1 to the
# same backend, faster than any of them (nginx, one worker, "ok\n"). Runs: -c 10 -m 10 (ten
# connections of ten streams each) and -c 100 -m 1, tiny responses, one worker each. h2load
# and the backend run on cpu 0, each proxy alone on cpu 1; CPU per request is the proxy's
# utime+stime from /proc over the run divided by the requests h2load counted as succeeded.
# Medians of RUNS rounds; in each round the three proxies run one after another, in an
# order rotated from round to round.
#
# usage: bench/h2_path.sh BUILD_DIR [SECONDS] [RUNS]
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
[ "$(nproc)" -ge 2 ] || { echo "h2_path: needs two cores" >&2; exit 1; }

base=${BENCH_FIRST_PORT:-23300}
backend=$base rg_admin=$((base + 1)) rg=$((base + 2)) ha=$((base + 3)) ng=$((base + 4))
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ec.key" \
  -out "$work/ec.crt" -days 2 -subj /CN=bench.example.com \
  -addext subjectAltName=DNS:bench.example.com >"$work/openssl.log" 2>&1
cat "$work/ec.crt" "$work/ec.key" >"$work/ec.pem"
start_fast_backend "$backend"

start() {  # log command...: on cpu 1
  taskset -c 1 "${@:2}" >"$work/$1" 2>&1 &
  started=$!
  pids+=("$started")
}
cat >"$work/readygate.yaml" <<CFG
admin: {listen: "127.0.0.1:$rg_admin"}
workers: 1
services:
  - name: h2
    listen: "127.0.0.1:$rg"
    mode: http
    http: {forwardedHeaders: false, keepAliveTimeoutSeconds: 300}
    endpoints: {static: ["127.0.0.1:$backend"]}
    tls: {certificates: [{cert: "$work/ec.crt", key: "$work/ec.key"}]}
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
frontend h2
  bind 127.0.0.1:$ha ssl crt $work/ec.pem alpn h2,http/1.1
  default_backend http
backend http
  http-reuse always
  server b 127.0.0.1:$backend
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
  upstream backend { server 127.0.0.1:$backend; keepalive 128; }
  ssl_protocols TLSv1.2 TLSv1.3;
  server { listen 127.0.0.1:$ng ssl http2; ssl_certificate $work/ec.crt; ssl_certificate_key $work/ec.key;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CFG
start nginx-proxy.log nginx -c "$work/proxy.conf" -p "$work"
pid_nginx=$started
for port in $rg $ha $ng; do
  for _ in $(seq 1 100); do curl -fsk --http2 -o /dev/null --max-time 1 "https://127.0.0.1:$port/" && break; sleep 0.1; done
  [ "$(curl -sk --http2 -o /dev/null -w '%{http_version}' --max-time 1 "https://127.0.0.1:$port/")" = 2 ] ||
    { echo "port $port does not answer over h2" >&2; tail -n 5 "$work"/*.log >&2; exit 1; }
done

h2_one() {  # pid port clients streams -> "rps cpu_us_per_request"
  h2load_one "$1" "https://127.0.0.1:$2/" -c "$3" -m "$4"
}
labels=("readygate" "HAProxy 2.6" "nginx 1.22")
proxy_pids=("$pid_readygate" "$pid_haproxy" "$pid_nginx")
ports=("$rg" "$ha" "$ng")
for shape in "10 10" "100 1"; do
  read -r clients streams <<<"$shape"
  rotated_rounds h2_one "$clients" "$streams"
  ratio_table "h2load -c $clients -m $streams, ${seconds} s, median of $runs; h2load and the backend on cpu 0, each proxy alone on cpu 1" \
    req/s request
done
