#!/usr/bin/env bash
# The data path's cost, side by side in one run: wrk through readygate, HAProxy and nginx
# to a backend faster than any of them (nginx, one worker, a fixed 3-byte body and a
# 64 KiB file), and directly. wrk and the backend share cpu 0; each proxy runs alone on
# cpu 1 (taskset), so the proxy, not the backend, is what is measured. CPU per request is
# the proxy's utime+stime from /proc over the run divided by the requests wrk counted.
# Medians of RUNS runs. Then two workers each on both cores (reported, no target: they
# share the cores with wrk and the backend), and system calls per request under load
# (strace -c -f over a bounded window).
#
# usage: bench/data_path.sh BUILD_DIR [SECONDS] [RUNS]
# BENCH_BASELINE=path/to/readygate adds rows for that binary (the last commit before a
# change to the data path, built the same way), measured in the same run.
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
runs=${3:-3}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"
readygate_bin="$top/$build/proxy/readygate"
[ "$(nproc)" -ge 2 ] || { echo "data_path: needs two cores" >&2; exit 1; }

base=${BENCH_FIRST_PORT:-23000}
backend=$base
rg_http=$((base + 1)) rg_tcp=$((base + 2)) ha_http=$((base + 3)) ha_tcp=$((base + 4))
ng_http=$((base + 5)) rg_admin=$((base + 6)) rg2_http=$((base + 7)) ha2_http=$((base + 8))
ng2_http=$((base + 9)) rg2_admin=$((base + 10))
bl_http=$((base + 11)) bl_tcp=$((base + 12)) bl_admin=$((base + 13))
baseline=${BENCH_BASELINE:-}

chmod 755 "$work"  # nginx's workers may run as nobody
mkdir -p "$work/www"
head -c 65536 /dev/zero | tr '\0' 'x' >"$work/www/64k"
nginx_conf() {  # name workers server-block
  cat >"$work/$1.conf" <<CFG
worker_processes $2;
daemon off;
pid $work/$1.pid;
error_log $work/$1-error.log;
events { worker_connections 4000; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$backend; keepalive 128; }
  $3
}
CFG
}
started=none
start() {  # cpus log command...: started pinned, pid appended to $pids and left in $started
  taskset -c "$1" "${@:3}" >"$work/$2" 2>&1 &
  started=$!
  pids+=("$started")
}

# The backend: faster than any proxy, so the proxies are what is measured.
nginx_conf backend 1 "server { listen 127.0.0.1:$backend; root $work/www;
    location = / { return 200 \"ok\\n\"; } }"
start 0 backend.log nginx -c "$work/backend.conf" -p "$work"

readygate_conf() {  # file admin workers http-port [tcp-port]
  {
    echo "admin: {listen: \"127.0.0.1:$2\"}"
    echo "workers: $3"
    echo "services:"
    echo "  - {name: http, listen: \"127.0.0.1:$4\", mode: http, http: {forwardedHeaders: false},"
    echo "     endpoints: {static: [\"127.0.0.1:$backend\"]}}"
    if [ -n "${5:-}" ]; then
      echo "  - {name: tcp, listen: \"127.0.0.1:$5\", mode: tcp,"
      echo "     endpoints: {static: [\"127.0.0.1:$backend\"]}}"
    fi
  } >"$work/$1"
}
readygate_conf readygate.yaml "$rg_admin" 1 "$rg_http" "$rg_tcp"
start 1 readygate.log "$readygate_bin" -c "$work/readygate.yaml" --log-level warn
pid_readygate=$started
pid_baseline=none
if [ -n "$baseline" ]; then
  readygate_conf baseline.yaml "$bl_admin" 1 "$bl_http" "$bl_tcp"
  start 1 baseline.log "$baseline" -c "$work/baseline.yaml" --log-level warn
  pid_baseline=$started
fi

haproxy_conf() {  # file threads http-port [tcp-port]
  cat >"$work/$1" <<CFG
global
  maxconn 4000
  nbthread $2
defaults
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 60s
frontend http
  mode http
  option http-keep-alive
  bind 127.0.0.1:$3
  default_backend http
backend http
  mode http
  http-reuse always
  server b 127.0.0.1:$backend
CFG
  if [ -n "${4:-}" ]; then
    cat >>"$work/$1" <<CFG
listen tcp
  mode tcp
  bind 127.0.0.1:$4
  server b 127.0.0.1:$backend
CFG
  fi
}
haproxy_conf haproxy.cfg 1 "$ha_http" "$ha_tcp"
start 1 haproxy.log haproxy -f "$work/haproxy.cfg" -q
pid_haproxy=$started

proxy_block() {  # port
  echo "server { listen 127.0.0.1:$1; location / { proxy_pass http://backend;
    proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_buffering on; } }"
}
nginx_conf proxy 1 "$(proxy_block "$ng_http")"
start 1 nginx-proxy.log nginx -c "$work/proxy.conf" -p "$work"
pid_nginx=$started

for port in $backend $rg_http $rg_tcp $ha_http $ha_tcp $ng_http ${baseline:+$bl_http $bl_tcp}; do
  for _ in $(seq 1 100); do curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break; sleep 0.1; done
  curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/" || { echo "port $port does not answer" >&2; tail -n 5 "$work"/*.log >&2; exit 1; }
done

# shellcheck source=measure.sh
source "$top/bench/measure.sh"

echo "data_path: $(date -u +%FT%TZ), commit $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
  "wrk -t1 -d${seconds}s, median of $runs runs; wrk and the backend (nginx, 1 worker) on cpu 0,"\
  "each proxy alone on cpu 1; CPU from /proc (utime+stime) / requests"
for connections in 50 1; do
  table "### keep-alive, -c$connections, 3-byte body"
  row direct none "$backend" "$connections" /
  row "readygate http" "$pid_readygate" "$rg_http" "$connections" /
  [ -z "$baseline" ] || row "readygate http baseline" "$pid_baseline" "$bl_http" "$connections" /
  row "HAProxy 2.6 http" "$pid_haproxy" "$ha_http" "$connections" /
  row "nginx 1.22 proxy" "$pid_nginx" "$ng_http" "$connections" /
  row "readygate tcp" "$pid_readygate" "$rg_tcp" "$connections" /
  [ -z "$baseline" ] || row "readygate tcp baseline" "$pid_baseline" "$bl_tcp" "$connections" /
  row "HAProxy 2.6 tcp" "$pid_haproxy" "$ha_tcp" "$connections" /
done
table "### keep-alive, -c50, 64 KiB body"
row direct none "$backend" 50 /64k
row "readygate http" "$pid_readygate" "$rg_http" 50 /64k
[ -z "$baseline" ] || row "readygate http baseline" "$pid_baseline" "$bl_http" 50 /64k
row "HAProxy 2.6 http" "$pid_haproxy" "$ha_http" 50 /64k
row "nginx 1.22 proxy" "$pid_nginx" "$ng_http" 50 /64k
table "### a new connection per request, -c50"
row direct none "$backend" 50 / -H "Connection: close"
row "readygate http" "$pid_readygate" "$rg_http" 50 / -H "Connection: close"
[ -z "$baseline" ] || row "readygate http baseline" "$pid_baseline" "$bl_http" 50 / -H "Connection: close"
row "HAProxy 2.6 http" "$pid_haproxy" "$ha_http" 50 / -H "Connection: close"
row "nginx 1.22 proxy" "$pid_nginx" "$ng_http" 50 / -H "Connection: close"

# System calls per proxied request: strace over a bounded window of keep-alive load.
syscalls() {  # pid port
  local window=2
  timeout $((window + 2)) strace -c -f -q -p "$1" -o "$work/strace.out" &
  local tracer=$!
  sleep 0.5  # strace attaches to every thread
  taskset -c 0 wrk -t1 -c50 -d"${window}s" "http://127.0.0.1:$2/" >"$work/wrk-strace.out" 2>&1
  kill -INT "$tracer" 2>/dev/null || true
  wait "$tracer" 2>/dev/null || true
  local requests calls
  requests=$(awk '/requests in/ {print $1}' "$work/wrk-strace.out")
  calls=$(awk '$NF == "total" {print $(NF - 2)}' "$work/strace.out")
  awk -v c="${calls:-0}" -v r="${requests:-0}" 'BEGIN {printf "%.1f", r ? c / r : 0}'
  echo " (top: $(sort -k4 -n -r "$work/strace.out" | awk '$NF != "total" && NF >= 5 {printf "%s %s, ", $NF, $4}' | head -c 120))"
}
if command -v strace >/dev/null; then
  echo
  echo "### system calls per proxied request (keep-alive -c50, strace -c -f over 2 s)"
  echo "readygate http: $(syscalls "$pid_readygate" "$rg_http")"
  [ -z "$baseline" ] || echo "baseline http:  $(syscalls "$pid_baseline" "$bl_http")"
  echo "HAProxy http:   $(syscalls "$pid_haproxy" "$ha_http")"
fi

# Two workers each, on both cores (sharing them with wrk and the backend): reported only.
kill "$pid_readygate" "$pid_haproxy" "$pid_nginx" 2>/dev/null || true
[ "$pid_baseline" = none ] || kill "$pid_baseline" 2>/dev/null || true
readygate_conf readygate2.yaml "$rg2_admin" 2 "$rg2_http"
start 0-1 readygate2.log "$readygate_bin" -c "$work/readygate2.yaml" --log-level warn
pid_readygate=$started
haproxy_conf haproxy2.cfg 2 "$ha2_http"
start 0-1 haproxy2.log haproxy -f "$work/haproxy2.cfg" -q
pid_haproxy=$started
nginx_conf proxy2 2 "$(proxy_block "$ng2_http")"
start 0-1 nginx-proxy2.log nginx -c "$work/proxy2.conf" -p "$work"
pid_nginx=$started
for port in $rg2_http $ha2_http $ng2_http; do
  for _ in $(seq 1 100); do curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
table "### keep-alive, -c50, two workers each on both cores (no target)"
row "readygate http x2" "$pid_readygate" "$rg2_http" 50 /
row "HAProxy 2.6 http x2" "$pid_haproxy" "$ha2_http" 50 /
row "nginx 1.22 proxy x2" "$pid_nginx" "$ng2_http" 50 /
