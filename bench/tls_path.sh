#!/usr/bin/env bash
# TLS termination, side by side in one run: readygate, HAProxy and nginx terminating TLS with
# the same certificates (P-256 ECDSA and RSA-2048, one listener each), all on Debian's
# OpenSSL 3.0, in front of a plain backend faster than any of them (nginx, one worker, "ok\n").
# Measured: HTTPS keep-alive (the record layer), full TLS 1.3 handshakes (openssl s_time
# -new, 8 at a time, one HTTP/1.0 request each), resumed TLS 1.3 handshakes (wrk with
# Connection: close, which offers each connection's ticket on the next) and memory per
# idle TLS connection (COUNT held). One worker each first (targets), then two (reported).
# The client and the backend run on cpu 0, each proxy alone on cpu 1; CPU per request
# (or handshake) is the proxy's utime+stime from /proc over the run divided by what the
# client counted. A handshake rate is the client's; "per core" is 1e6 / CPU µs, the rate a
# saturated core would make. Medians of RUNS rounds; in each round the three proxies run
# one after another, in an order rotated from round to round.
#
# usage: bench/tls_path.sh BUILD_DIR [SECONDS] [RUNS] [COUNT]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
runs=${3:-3}
count=${4:-10000}
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
# HAProxy reserves two descriptors per connection (client and server) and will not start
# when its hard limit is lower: the idle rows hold as many as that allows, up to COUNT.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ $(((hard - 600) / 2)) -lt "$count" ]; then
  echo "tls_path: ulimit -Hn is $hard: $(((hard - 600) / 2)) idle connections held, not $count" >&2
  count=$(((hard - 600) / 2))
fi
need=$((count + 200))
ulimit -Sn "$(ulimit -Hn)"  # HAProxy asks for two per connection; it raises its own soft limit

base=${BENCH_FIRST_PORT:-23100}
backend=$base rg_admin=$((base + 1))
rg=$((base + 2)) rg_rsa=$((base + 3)) ha=$((base + 4)) ha_rsa=$((base + 5))
ng=$((base + 6)) ng_rsa=$((base + 7))

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/ec.key" \
  -out "$work/ec.crt" -days 2 -subj /CN=bench.example.com \
  -addext subjectAltName=DNS:bench.example.com >"$work/openssl.log" 2>&1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/rsa.key" \
  -out "$work/rsa.crt" -days 2 -subj /CN=bench.example.com \
  -addext subjectAltName=DNS:bench.example.com >>"$work/openssl.log" 2>&1
cat "$work/ec.crt" "$work/ec.key" >"$work/ec.pem"
cat "$work/rsa.crt" "$work/rsa.key" >"$work/rsa.pem"

start_fast_backend "$backend"
started=none
start() {  # cpus log command...
  taskset -c "$1" "${@:3}" >"$work/$2" 2>&1 &
  started=$!
  pids+=("$started")
}

readygate_config() {  # workers
  cat <<CFG
admin: {listen: "127.0.0.1:$rg_admin"}
workers: $1
maxConnections: $need
services:
  - name: ecdsa
    listen: "127.0.0.1:$rg"
    mode: http
    maxConnections: $need
    http: {forwardedHeaders: false, keepAliveTimeoutSeconds: 300}
    endpoints: {static: ["127.0.0.1:$backend"]}
    tls: {certificates: [{cert: "$work/ec.crt", key: "$work/ec.key"}]}
  - name: rsa
    listen: "127.0.0.1:$rg_rsa"
    mode: http
    http: {forwardedHeaders: false}
    endpoints: {static: ["127.0.0.1:$backend"]}
    tls: {certificates: [{cert: "$work/rsa.crt", key: "$work/rsa.key"}]}
CFG
}

start_proxies() {  # workers cpus
  readygate_config "$1" >"$work/readygate.yaml"
  start "$2" readygate.log "$readygate_bin" -c "$work/readygate.yaml" --log-level warn
  pid_readygate=$started
  cat >"$work/haproxy.cfg" <<CFG
global
  maxconn $need
  nbthread $1
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
frontend ecdsa
  bind 127.0.0.1:$ha ssl crt $work/ec.pem alpn http/1.1
  default_backend http
frontend rsa
  bind 127.0.0.1:$ha_rsa ssl crt $work/rsa.pem alpn http/1.1
  default_backend http
backend http
  http-reuse always
  server b 127.0.0.1:$backend
CFG
  start "$2" haproxy.log haproxy -f "$work/haproxy.cfg" -q
  pid_haproxy=$started
  cat >"$work/proxy.conf" <<CFG
worker_processes $1;
worker_rlimit_nofile $need;
daemon off;
pid $work/proxy.pid;
error_log $work/proxy-error.log;
events { worker_connections $need; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream backend { server 127.0.0.1:$backend; keepalive 128; }
  ssl_protocols TLSv1.2 TLSv1.3;  # 1.22 offers no 1.3 by default
  server { listen 127.0.0.1:$ng ssl; ssl_certificate $work/ec.crt; ssl_certificate_key $work/ec.key;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
  server { listen 127.0.0.1:$ng_rsa ssl; ssl_certificate $work/rsa.crt; ssl_certificate_key $work/rsa.key;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
CFG
  start "$2" nginx-proxy.log nginx -c "$work/proxy.conf" -p "$work"
  pid_nginx=$started
  for port in $rg $rg_rsa $ha $ha_rsa $ng $ng_rsa; do
    for _ in $(seq 1 100); do curl -fsk -o /dev/null --max-time 1 "https://127.0.0.1:$port/" && break; sleep 0.1; done
    curl -fsk -o /dev/null --max-time 1 "https://127.0.0.1:$port/" ||
      { echo "port $port does not answer" >&2; tail -n 5 "$work"/*.log >&2; exit 1; }
  done
}
stop_proxies() {
  kill "$pid_readygate" "$pid_haproxy" "$pid_nginx" 2>/dev/null || true
  wait "$pid_readygate" "$pid_haproxy" "$pid_nginx" 2>/dev/null || true
}

# Full handshakes: 8 s_time clients at once, each a new session per connection (-new) for
# $seconds, one HTTP/1.0 request each.
s_time_one() {  # pid port -> "handshakes/s cpu_us_per_handshake"
  local pid=$1 port=$2 before after i
  before=$(cpu_of "$pid")
  for i in 1 2 3 4 5 6 7 8; do
    taskset -c 0 timeout $((seconds + 20)) openssl s_time -connect "127.0.0.1:$port" -tls1_3 \
      -new -www / -time "$seconds" >"$work/s_time.$i" 2>&1 &
  done
  wait_all_s_time
  after=$(cpu_of "$pid")
  cat "$work"/s_time.[1-8] | awk -v cpu=$((after - before)) -v ticks="$ticks" -v s="$seconds" '
    /connections in [0-9]+ real seconds/ {n += $1}
    END {printf "%.0f %.1f\n", n / s, n ? cpu / ticks * 1e6 / n : 0}'
}
wait_all_s_time() { while pgrep -f "openssl s_time -connect" >/dev/null; do sleep 0.2; done; }
per_core() { awk -v c="$1" 'BEGIN { if (c + 0 > 0) print 1e6 / c; else print 0 }'; }
# The three proxies, labelled with $suffix (" x2" with two workers), at their listener for
# certificate kind $1 (ecdsa or rsa).
suffix=""
set_proxies() {
  labels=("readygate$suffix" "HAProxy 2.6$suffix" "nginx 1.22$suffix")
  proxy_pids=("$pid_readygate" "$pid_haproxy" "$pid_nginx")
  if [ "$1" = rsa ]; then ports=("$rg_rsa" "$ha_rsa" "$ng_rsa"); else ports=("$rg" "$ha" "$ng"); fi
}
# The proxies measured in turn for $runs rounds, the order rotated each round, so a
# machine that drifts (another tenant, the clock speed) weighs on all of them alike and
# not on whichever ran last. $1 measures one ("PID PORT" -> one result line), $2 is the
# certificate kind. The results of proxy k go to $work/runs.k.
rounds() {
  set_proxies "$2"
  local n=${#labels[@]} r j k
  for ((k = 0; k < n; k++)); do : >"$work/runs.$k"; done
  for ((r = 0; r < runs; r++)); do
    for ((j = 0; j < n; j++)); do
      k=$(((j + r) % n))
      "$1" "${proxy_pids[k]}" "${ports[k]}" >>"$work/runs.$k"
    done
  done
}
column_median() { cut -d' ' -f"$1" "$2" | median; }
keep_alive_one() { one "$1" "$2" 50 /; }
# Resumed handshakes: wrk with Connection: close keeps the ticket each connection got (it
# shuts down cleanly, so OpenSSL keeps the session) and offers it on the next.
resumed_one() { one "$1" "$2" 50 / -H "Connection: close"; }
keep_alive_rows() {  # ecdsa|rsa
  rounds keep_alive_one "$1"
  for ((k = 0; k < ${#labels[@]}; k++)); do
    printf '| %-24s | %9.0f | %8s | %7.2f ms |\n' "${labels[k]}" \
      "$(column_median 1 "$work/runs.$k")" "$(column_median 2 "$work/runs.$k")" \
      "$(column_median 3 "$work/runs.$k")"
  done
}
full_rows() {  # ecdsa|rsa
  rounds s_time_one "$1"
  local cpu
  for ((k = 0; k < ${#labels[@]}; k++)); do
    cpu=$(column_median 2 "$work/runs.$k")
    printf '| %-24s | %9.0f | %8s | %9.0f |\n' "${labels[k]}" \
      "$(column_median 1 "$work/runs.$k")" "$cpu" "$(per_core "$cpu")"
  done
}
resumed_rows() {  # ecdsa|rsa
  rounds resumed_one "$1"
  local cpu
  for ((k = 0; k < ${#labels[@]}; k++)); do
    cpu=$(column_median 2 "$work/runs.$k")
    printf '| %-24s | %9.0f | %8s | %7.2f ms | %9.0f |\n' "${labels[k]}" \
      "$(column_median 1 "$work/runs.$k")" "$cpu" "$(column_median 3 "$work/runs.$k")" \
      "$(per_core "$cpu")"
  done
}
resumed_table() {
  echo
  echo "$1"
  echo '| proxy | handshakes/s | CPU µs/handshake | p99 | per core |'
  echo '|---|---:|---:|---:|---:|'
}
full_table() {
  echo
  echo "$1"
  echo '| proxy | handshakes/s | CPU µs/handshake | per core |'
  echo '|---|---:|---:|---:|'
}
# What a proxy reserves at start for the connections it may hold: nginx allocates (and
# touches) a connection and its two events for every worker_connections slot before the
# first client comes, so the idle rows' "before" already holds that part of each
# connection's cost. Measured as the RSS of the freshly started proxies set up for $need
# connections against the same set up for 1,000: per slot, and per held connection
# ($need slots for $count connections), beside the marginal figure.
rss_fresh() { echo "$(rss_of "$pid_readygate") $(rss_of "$pid_haproxy") $(rss_of "$pid_nginx")"; }
measure_reserve() {  # run before start_proxies 1 1; sets reserve_small
  local full=$need
  need=1000
  start_proxies 1 1
  read -r -a reserve_small < <(rss_fresh)
  stop_proxies
  need=$full
}
idle_row() {  # label pid port index (0 readygate, 1 HAProxy, 2 nginx)
  local before after
  read -r before after < <(taskset -c 0 python3 "$top/bench/hold_idle.py" "$3" "$count" tls "$2")
  awk -v label="$1" -v b="$before" -v a="$after" -v n="$count" -v slots="$need" \
    -v small="${reserve_small[$4]}" -v large="${reserve_full[$4]}" 'BEGIN {
      per_slot = (large - small) / (slots - 1000); if (per_slot < 0) per_slot = 0
      printf "| %-24s | %d -> %d KiB | %.2f KiB | %.2f KiB (%d -> %d KiB) | %.2f KiB |\n",
        label, b, a, (a - b) / n, per_slot, small, large, (a - b) / n + per_slot * slots / n}'
}

echo "tls_path: $(date -u +%FT%TZ), commit $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?'),"\
  "OpenSSL $(openssl version | cut -d' ' -f2), ${seconds}s per run, median of $runs runs; clients and the"\
  "backend on cpu 0, each proxy alone on cpu 1; CPU from /proc (utime+stime)"
measure_reserve
start_proxies 1 1
read -r -a reserve_full < <(rss_fresh)  # before any load: as measure_reserve saw its own
table "### HTTPS keep-alive, -c50, 3-byte body (TLS 1.3, P-256), wrk -t1"
keep_alive_rows ecdsa
full_table "### full TLS 1.3 handshakes, ECDSA P-256: 8 x openssl s_time -new -www / (a new session each)"
full_rows ecdsa
full_table "### full TLS 1.3 handshakes, RSA-2048: 8 x openssl s_time -new -www /"
full_rows rsa
resumed_table "### resumed TLS 1.3 handshakes (tickets), ECDSA P-256: wrk -t1 -c50, Connection: close"
resumed_rows ecdsa
resumed_table "### resumed TLS 1.3 handshakes, RSA-2048 (no RSA signature: as cheap as ECDSA when resumed)"
resumed_rows rsa
echo
echo "### memory per idle TLS connection ($count held after one request each; RSS of the proxy and its children)"
echo "(reserved: RSS at start set up for $need connections against 1,000, per slot; the last column adds $need slots' reserve to the $count connections held)"
echo '| proxy | RSS | per connection | reserved at start, per slot | per connection, with the reserve |'
echo '|---|---:|---:|---:|---:|'
idle_row "readygate" "$pid_readygate" "$rg" 0
idle_row "HAProxy 2.6" "$pid_haproxy" "$ha" 1
idle_row "nginx 1.22" "$pid_nginx" "$ng" 2
stop_proxies

echo
suffix=" x2"
echo "### two workers (readygate workers: 2, HAProxy nbthread 2, nginx 2 workers) on cpus 0-1, sharing them with the client: reported, no target"
start_proxies 2 0-1
table "HTTPS keep-alive, -c50"
keep_alive_rows ecdsa
full_table "full TLS 1.3 handshakes, ECDSA P-256 (8 x s_time -new)"
full_rows ecdsa
resumed_table "resumed TLS 1.3 handshakes, ECDSA P-256 (wrk, Connection: close)"
resumed_rows ecdsa
stop_proxies

# Lock contention in OpenSSL 3.0 (the method store's and namemap's rwlocks) shows as futex
# calls: readygate with two workers under strace (seccomp-bpf: only futex stops), one run of
# full handshakes, futex calls per handshake. Near zero: no thread waits on another.
if command -v strace >/dev/null; then
  readygate_config 2 >"$work/readygate.yaml"
  start 1 readygate-strace.log strace -f --seccomp-bpf -qq -c -e trace=futex -o "$work/futex.txt" \
    "$readygate_bin" -c "$work/readygate.yaml" --log-level warn
  pid_traced=$started
  for _ in $(seq 1 100); do curl -fsk -o /dev/null --max-time 1 "https://127.0.0.1:$rg/" && break; sleep 0.1; done
  s_time_one none "$rg" >/dev/null
  pkill -TERM -f "^$readygate_bin -c $work/readygate.yaml" || true
  wait "$pid_traced" 2>/dev/null || true
  handshakes=$(cat "$work"/s_time.[1-8] | awk '/connections in [0-9]+ real seconds/ {n += $1} END {print n}')
  futexes=$(awk '$NF == "futex" {print $4}' "$work/futex.txt")
  echo
  echo "futex calls, two workers, full handshakes: ${futexes:-0} in ${handshakes:-0} handshakes" \
    "($(awk -v f="${futexes:-0}" -v h="${handshakes:-1}" 'BEGIN {printf "%.4f", f / h}') per handshake; strace -f --seccomp-bpf -c -e trace=futex)"
fi
