#!/usr/bin/env bash
# Reload at scale: how long a SIGHUP with N endpoints stalls the control loop (probes,
# admin API and signals all wait for it). Measured twice: by readygate itself (the
# reload_applied line's apply_seconds: parse, validate, diff, apply) and from outside
# (the slowest /healthz answer while the reload runs, polled every few ms).
#
# usage: bench/reload_scale.sh BUILD_DIR [ENDPOINTS] [READYGATE_BINARY]
# Endpoints are addresses on 127.0.0.0/8 that nobody listens on and no probe contacts
# (no probes configured); nothing is sent to them.
set -euo pipefail
build=${1:-build}
endpoints=${2:-10000}
top=$(cd "$(dirname "$0")/.." && pwd)
binary=${3:-$top/$build/proxy/readygate}
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"

admin_port=${BENCH_ADMIN_PORT:-19901}
listen_port=${BENCH_LISTEN_PORT:-19902}
write_config() {  # $1: how many endpoints, $2: first endpoint's last octet offset
  {
    echo "admin: {listen: \"127.0.0.1:$admin_port\"}"
    echo "workers: 1"
    echo "services:"
    echo "  - name: web"
    echo "    listen: 127.0.0.1:$listen_port"
    echo "    endpoints:"
    echo "      static:"
    for ((i = $2; i < $1 + $2; i++)); do
      echo "        - 127.1.$((i / 250)).$((i % 250 + 1)):8080"
    done
  } >"$work/readygate.yaml"
}

write_config "$endpoints" 0
"$binary" -c "$work/readygate.yaml" 2>"$work/readygate.log" &
rg=$!
pids+=("$rg")
for _ in $(seq 1 200); do
  curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$admin_port/healthz" && break
  sleep 0.05
done

# Polls /healthz until told to stop; prints the slowest answer in milliseconds.
poll_healthz() {
  python3 - "$admin_port" "$1" <<'PY'
import os, sys, time, urllib.request
port, stop_file = sys.argv[1], sys.argv[2]
slowest = 0.0
deadline = time.monotonic() + 600  # bounded whatever happens
while not os.path.exists(stop_file) and time.monotonic() < deadline:
    started = time.monotonic()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=300).read()
    except Exception:
        pass
    slowest = max(slowest, time.monotonic() - started)
    time.sleep(0.002)
print(f"{slowest * 1000:.1f}")
PY
}

reload_once() {  # $1: label; the config file is already written
  local stop="$work/stop-$RANDOM" before after applied slowest
  poll_healthz "$stop" >"$work/slowest" &
  local poller=$!
  sleep 0.2
  before=$(grep -c 'event=reload_applied\|event=reload_rejected' "$work/readygate.log" || true)
  kill -HUP "$rg"
  for _ in $(seq 1 6000); do
    after=$(grep -c 'event=reload_applied\|event=reload_rejected' "$work/readygate.log" || true)
    [ "$after" -gt "$before" ] && break
    sleep 0.05
  done
  sleep 0.2
  touch "$stop"
  wait "$poller"
  slowest=$(cat "$work/slowest")
  applied=$(grep 'event=reload_applied' "$work/readygate.log" | tail -1 |
    sed -n 's/.*apply_seconds=\([0-9.e-]*\).*/\1/p')
  printf '%-34s apply %8s ms   slowest /healthz during it %8s ms\n' "$1" \
    "$(awk -v s="${applied:-nan}" 'BEGIN { if (s == "nan") print "-"; else printf "%.1f", s * 1000 }')" \
    "$slowest"
}

echo "reload with $endpoints endpoints ($(basename "$binary"), one control thread)"
reload_once "unchanged"
write_config "$endpoints" 1
reload_once "one endpoint out, one in"
write_config "$endpoints" "$endpoints"
reload_once "every endpoint replaced"
