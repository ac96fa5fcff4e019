#!/usr/bin/env bash
# The admin console at 10,000 backends: what one refresh costs readygate's control loop
# (the single request the page makes each second: counts of every service, one page of 100
# backends with their last probe latencies, new events), beside the whole /status it would
# need without paging, and how long the browser takes to draw one refresh.
#
# usage: bench/admin_console.sh BUILD_DIR [BACKENDS] [REFRESHES]
# Backends are fake pods on 127.0.0.1 ports FIRST..FIRST+N-1 (a quarter start unready),
# probed every 10 s. Control-loop time is readygate's CPU per request (utime+stime over
# REFRESHES back-to-back requests on one keep-alive connection), less what the probes cost
# meanwhile (readygate's CPU per second measured idle just before); the wall time per
# request is from the client on loopback. No peer is run: HAProxy's and
# nginx's status pages are not paged views of a probing state machine.
set -euo pipefail
build=${1:-build}
backends=${2:-10000}
refreshes=${3:-300}
first_port=${BENCH_FIRST_PORT:-20000}  # below the ephemeral range (32768-): probes take those
pods=4
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"
# shellcheck source=fast_backend.sh
source "$top/bench/fast_backend.sh"

per_pod=$((backends / pods))
start_range_pods "$top/$build/tests/fakepod/fakepod" "$first_port" "$per_pod" "$pods" --start-unready
admin=${BENCH_ADMIN_PORT:-19951}
{
  echo "admin: {listen: \"127.0.0.1:$admin\"}"
  echo "workers: 1"
  echo "services:"
  echo "  - name: web"
  echo "    listen: 127.0.0.1:${BENCH_LISTEN_PORT:-19952}"
  echo "    mode: http"
  echo "    readinessProbe: {httpGet: {path: /ready}, periodSeconds: 10, failureThreshold: 1}"
  echo "    endpoints:"
  echo "      static:"
  for ((port = first_port; port < first_port + pods * per_pod; port++)); do
    echo "        - 127.0.0.1:$port"
  done
} >"$work/readygate.yaml"
taskset -c 1 "$top/$build/proxy/readygate" -c "$work/readygate.yaml" 2>"$work/readygate.log" &
rg=$!
pids+=("$rg")

/usr/bin/python3 - "$rg" "$admin" "$((pods * per_pod))" "$refreshes" <<'PY'
import http.client, json, os, statistics, sys, time
pid, admin, backends, refreshes = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ticks = os.sysconf("SC_CLK_TCK")

def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks

connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=60)
def get(path):
    connection.request("GET", path)
    answer = connection.getresponse()
    return answer.status, answer.read()

def reasons():
    """Backends per state and reason, from the table."""
    _, table = get("/status?format=text")
    counted = {}
    for line in table.decode().splitlines()[1:]:
        fields = line.split()
        counted[fields[2] + " " + fields[4]] = counted.get(fields[2] + " " + fields[4], 0) + 1
    return counted

deadline = time.monotonic() + 120
while True:  # every backend probed once (ready or not) before anything is measured
    try:
        status, body = get("/status?summary=1")
        counts = json.loads(body)["services"][0]["states"]
        # The unready quarter starting, every other backend passed a probe once (not_ready
        # comes only after ready).
        if counts["starting"] <= backends // 4 and \
                counts["ready"] + counts["not_ready"] >= backends - backends // 4:
            break
    except (OSError, http.client.HTTPException, KeyError, ValueError):
        connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=60)
    if time.monotonic() > deadline:
        sys.exit(f"backends never settled: {reasons()}")
    time.sleep(0.5)
time.sleep(1)  # the first probes' answers all in
idle_from, idle_started = cpu(), time.monotonic()
time.sleep(5)
idle_rate = (cpu() - idle_from) / (time.monotonic() - idle_started)  # the probes' own CPU/s

_, body = get("/status?summary=1")
events_next = json.loads(body)["events_next"]
print(f"{backends} backends by state and reason: {reasons()}")
print(f"{counts['ready']} ready, {counts['starting']} starting; "
      f"{refreshes} requests of each kind, one keep-alive connection, readygate on cpu 1; "
      f"probes alone cost {idle_rate * 1000:.0f} ms of CPU a second (taken off below)")
print("| request | bytes | control-loop CPU per request | wall time per request (median / max) |")
print("|---|---:|---:|---:|")

def measure(label, path, count):
    walls = []
    size = 0
    before, started_all = cpu(), time.monotonic()
    for _ in range(count):
        started = time.perf_counter()
        status, body = get(path)
        walls.append(time.perf_counter() - started)
        assert status == 200, (path, status)
        size = len(body)
    spent = max(0.0, cpu() - before - idle_rate * (time.monotonic() - started_all))
    print(f"| {label} | {size:,} | {spent / count * 1000:.2f} ms | "
          f"{statistics.median(walls) * 1000:.2f} / {max(walls) * 1000:.2f} ms |", flush=True)

measure("console refresh: summary + 100 backends + events",
        f"/status?summary=1&service=web&offset=0&limit=100&events_since={events_next}", refreshes)
measure(f"console refresh, the page at offset {backends - 100:,}",
        f"/status?summary=1&service=web&offset={backends - 100}&limit=100&events_since={events_next}",
        refreshes)
measure("/status?summary=1 alone", "/status?summary=1", refreshes)
measure(f"/events?since={events_next} (nothing new)", f"/events?since={events_next}", refreshes)
measure("/events?since=0 (the 1,000 kept)", "/events?since=0", max(10, refreshes // 10))
measure("the whole /status (no paging)", "/status", max(5, refreshes // 30))
_, body = get(f"/events?since={events_next}")
moved = {}
for event in json.loads(body)["events"]:
    key = f"{event['from']}->{event['to']} {event['reason']}"
    moved[key] = moved.get(key, 0) + 1
print(f"state changes while measuring: {moved or 'none'}")
PY

echo
echo "browser (headless Chromium, 1280x800): time to draw one refresh of 100 rows, after its answer came"
/usr/bin/python3 "$top/tests/integration/admin_console.py" render "http://127.0.0.1:$admin/" 10
