#!/usr/bin/env bash
# Probing at scale: N backends probed every second on one control thread; CPU per probe
# and timer lateness for readygate, side by side with HAProxy health checks on the same pods,
# then readygate again with gRPC health probes (and their CPU per probe over httpGet's).
#
# usage: bench/probe_scale.sh BUILD_DIR [BACKENDS] [WINDOW_SECONDS]
# Probes are httpGet /ready; the rate is counted where it lands, by the fake pods.
# All traffic stays on 127.0.0.1; ports FIRST..FIRST+N-1 below the ephemeral range.
set -euo pipefail
build=${1:-build}
backends=${2:-10000}
window=${3:-20}
first_port=${BENCH_FIRST_PORT:-20000}
pods=4
top=$(cd "$(dirname "$0")/.." && pwd)
hz=$(getconf CLK_TCK)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"
# shellcheck source=fast_backend.sh
source "$top/bench/fast_backend.sh"

cpu_ticks() {  # utime + stime of a process, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat"
}
probes_served() {  # requests all fake pods answered so far (one /requests per pod)
  local total=0 per_pod=$((backends / pods)) i count
  for ((i = 0; i < pods; i++)); do
    count=$(curl -fs --max-time 5 "http://127.0.0.1:$((first_port + i * per_pod))/requests")
    total=$((total + count))
  done
  echo "$total"
}
per_pod=$((backends / pods))
start_range_pods "$top/$build/tests/fakepod/fakepod" "$first_port" "$per_pod" "$pods"

endpoints=$(seq "$first_port" $((first_port + backends - 1)) | sed 's/.*/"127.0.0.1:&"/' | paste -sd, -)

measure() {  # name pid -> prints one result line after the window
  local name=$1 pid=$2 served0 served1 cpu0 cpu1
  served0=$(probes_served); cpu0=$(cpu_ticks "$pid")
  sleep "$window"
  served1=$(probes_served); cpu1=$(cpu_ticks "$pid")
  local probes=$((served1 - served0)) cpu_ms=$(((cpu1 - cpu0) * 1000 / hz))
  last_cpu_ns_per_probe=$((probes > 0 ? cpu_ms * 1000000 / probes : 0))
  awk -v name="$name" -v probes="$probes" -v cpu_ms="$cpu_ms" -v window="$window" -v backends="$backends" 'BEGIN {
    rate = probes / window
    printf "%-10s probes/s %8.0f (expected %d)  cpu %5.1f%% of a core  cpu/probe %6.1f us\n",
      name, rate, backends, cpu_ms / 10 / window, probes ? cpu_ms * 1000 / probes : 0 }'
}

wait_ready() {  # sets ready: backends ready in readygate's /status (waits up to a minute)
  ready=0
  for _ in $(seq 1 60); do
    ready=$(curl -fs --max-time 10 "http://127.0.0.1:$admin_port/status" | grep -o '"backends_ready":[0-9]*' | cut -d: -f2 | head -1 || true)
    [[ ${ready:-0} -ge $backends ]] && break
    sleep 1
  done
}

# --- readygate
admin_port=$((first_port + backends + 1))
listen_port=$((first_port + backends + 2))
# start_readygate NAME ENDPOINTS PROBE: readygate with one service of ENDPOINTS (a YAML flow
# list's items) probed by PROBE (one YAML line) every second, on one worker; waits for the
# backends to be ready and sets rg to its pid.
start_readygate() {
  local name=$1 endpoints=$2 probe=$3
  cat >"$work/$name.yaml" <<YAML
admin: {listen: "127.0.0.1:$admin_port"}
workers: 1
services:
  - name: bench
    listen: "127.0.0.1:$listen_port"
    endpoints:
      static: [$endpoints]
    readinessProbe:
      $probe
      periodSeconds: 1
      timeoutSeconds: 1
YAML
  "$top/$build/proxy/readygate" -c "$work/$name.yaml" --log-level warn 2>"$work/$name.log" &
  rg=$!
  pids+=($rg)
  wait_ready
  echo "$name: $ready of $backends backends ready; measuring ${window}s of probes"
}
start_readygate readygate "$endpoints" "httpGet: {path: /ready}"
status0=$(curl -fs "http://127.0.0.1:$admin_port/status" | grep -o '"probe_timing":{[^}]*}')
measure readygate "$rg"
http_cpu_ns=$last_cpu_ns_per_probe
status1=$(curl -fs "http://127.0.0.1:$admin_port/status" | grep -o '"probe_timing":{[^}]*}')
field() { echo "$1" | grep -o "\"$2\":[0-9.e+-]*" | cut -d: -f2; }
awk -v t0="$(field "$status0" ticks)" -v t1="$(field "$status1" ticks)" \
    -v l0="$(field "$status0" total_lateness_seconds)" -v l1="$(field "$status1" total_lateness_seconds)" \
    -v max="$(field "$status1" max_lateness_seconds)" \
    -v late0="$(field "$status0" skipped_late)" -v late1="$(field "$status1" skipped_late)" \
    -v busy0="$(field "$status0" skipped_busy)" -v busy1="$(field "$status1" skipped_busy)" 'BEGIN {
  printf "readygate  timer lateness: mean %.3f ms in the window, max %.1f ms since start; in the window %d ticks skipped late, %d skipped busy\n",
    (t1 > t0 ? (l1 - l0) / (t1 - t0) * 1000 : 0), max * 1000, late1 - late0, busy1 - busy0 }'
kill "$rg"; wait "$rg" 2>/dev/null || true

# --- HAProxy, same pods, same period
{
  echo "global"; echo "  maxconn 4000"; echo "  nbthread 1"
  echo "defaults"; echo "  mode tcp"; echo "  timeout connect 1s"; echo "  timeout check 1s"
  echo "  timeout client 10s"; echo "  timeout server 10s"
  echo "frontend bench"; echo "  bind 127.0.0.1:$listen_port"; echo "  default_backend pods"
  echo "backend pods"; echo "  option httpchk GET /ready"
  echo "  default-server check inter 1s fall 3 rise 1"
  for ((port = first_port; port < first_port + backends; port++)); do echo "  server s$port 127.0.0.1:$port"; done
} >"$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -q 2>"$work/haproxy.log" &
hp=$!
pids+=($hp)
sleep 3  # HAProxy spreads its first checks over one interval
if ! kill -0 "$hp" 2>/dev/null; then echo "haproxy did not start:"; cat "$work/haproxy.log"; exit 1; fi
measure haproxy "$hp"
kill "$hp"; wait "$hp" 2>/dev/null || true

# --- readygate with gRPC health probes (grpc.health.v1 over h2c), same count and period.
# The probe port is one number for a service, so the gRPC faces are four more fake pods on
# 127.0.0.2-5, one port each; the backends' addresses are spread over them.
grpc_port=$((first_port + backends + 3))
grpc_pods=()
for ((i = 0; i < pods; i++)); do
  host="127.0.0.$((i + 2))"
  "$top/$build/tests/fakepod/fakepod" --name "grpc-$i" --host "$host" --port "$((grpc_port + 1))" \
    --grpc-port "$grpc_port" >"$work/grpc-pod-$i.log" 2>&1 &
  pids+=($!)
  grpc_pods+=("$host")
done
sleep 1
grpc_served() {
  local total=0 host count
  for host in "${grpc_pods[@]}"; do
    count=$(curl -fs --max-time 5 "http://$host:$((grpc_port + 1))/grpc-requests")
    total=$((total + count))
  done
  echo "$total"
}
grpc_endpoints=$(for ((i = 0; i < backends; i++)); do
  echo "\"127.0.0.$((i % pods + 2)):$((first_port + i / pods))\""
done | paste -sd, -)
start_readygate readygate-grpc "$grpc_endpoints" "grpc: {port: $grpc_port}"
probes_served() { grpc_served; }
measure grpc "$rg"
awk -v grpc="$last_cpu_ns_per_probe" -v http="$http_cpu_ns" 'BEGIN {
  printf "grpc/httpGet CPU per probe: %.2fx (target: at most 1.5x)\n", http ? grpc / http : 0 }'
