#!/usr/bin/env bash
# Heap allocations per proxied keep-alive request, counted by heaptrack: readygate (one
# worker, HTTP mode) in front of nginx answering a 3-byte body, loaded by ab -k twice with a
# different number of requests; the difference of the two totals over the difference of the
# requests leaves out everything start-up and shutdown allocate.
#
# usage: bench/allocations.sh BUILD_DIR [SMALL] [LARGE]
set -euo pipefail
build=${1:-build}
small=${2:-20000}
large=${3:-60000}
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"
readygate_bin="$top/$build/proxy/readygate"
base=${BENCH_FIRST_PORT:-23100}
backend=$base rg_http=$((base + 1)) rg_admin=$((base + 2))

# shellcheck source=fast_backend.sh
source "$top/bench/fast_backend.sh"
start_fast_backend "$backend"
readygate_one_service "$work/readygate.yaml" "$rg_admin" "$rg_http" "$backend"

allocations_for() {  # requests: prints heaptrack's count of allocation calls for the run
  local out="$work/heap-$1"
  heaptrack -o "$out" "$readygate_bin" -c "$work/readygate.yaml" --log-level warn \
    >"$work/heaptrack-$1.log" 2>&1 &
  local wrapper=$!
  local up=no
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$rg_http/" && { up=yes; break; }
    sleep 0.1
  done
  [ "$up" = yes ] || { echo "allocations: readygate did not answer" >&2; exit 1; }
  ab -q -k -n "$1" -c 50 "http://127.0.0.1:$rg_http/" >"$work/ab-$1.txt" 2>&1
  grep -q "^Failed requests: *0" "$work/ab-$1.txt" || { cat "$work/ab-$1.txt" >&2; exit 1; }
  pkill -TERM -f "^$readygate_bin -c $work/readygate.yaml" || true
  timeout 60 tail --pid="$wrapper" -f /dev/null || true
  heaptrack_print -f "$out.zst" 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}'
}

low=$(allocations_for "$small")
high=$(allocations_for "$large")
awk -v low="$low" -v high="$high" -v small="$small" -v large="$large" 'BEGIN {
  printf "allocations per keep-alive request (heaptrack, ab -k -c50, %d vs %d requests: %d vs %d allocations in all): %.2f\n",
    small, large, low, high, (high - low) / (large - small) }'
