#!/usr/bin/env bash
# A rolling deploy of a gRPC service through readygate, as Kubernetes does it (surge 1,
# unavailable 0), under continuous unary and server-streaming load from a grpcio client that
# never retries (issue 23). The endpoints come from a file source. For each old pod: a new
# one starts, joins the file and becomes ready; then the old one gets SIGTERM (its grpcio
# server sends GOAWAY, refuses new streams and finishes the calls in flight) while the file
# still lists it, and leaves the file a moment later: the endpoint update lags the SIGTERM,
# as it does in a cluster.
#   1. grpcio pods, upstreamProtocol h2c: 0 failed calls. A grpcio server shutting down
#      answers the streams that crossed its GOAWAY with a bare CANCELLED it never ran them
#      for; readygate sends those on (seen failing first: 1 to 5 CANCELLED calls a run).
#   2. pods whose shutdown is one GOAWAY naming the last stream they began (as nginx's
#      is): 0 failed calls, the streams caught in between retried on a ready pod;
#   3. the same with retryUnprocessedStreams: false: calls fail (what the retries save).
#   4. HTTP/1.1 backends (fakepod) and HTTP/2 clients (h2load over h2c), the same deploy:
#      0 failed requests.
# Usage: grpc_rollout_test.sh READYGATE FAKEPOD
set -uo pipefail
readygate=$1
fakepod=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/checks.sh"
python=/usr/bin/python3  # Debian's, with grpcio
# shellcheck source=../../scripts/background.sh
source "$here/../../scripts/background.sh"  # $work, $pids, background
load=$here/grpc_load.py

listening() { "$python" -c "import socket; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; }
up() { curl -fs -o /dev/null --max-time 1 "$1"; }
# ready ADMIN BACKEND: readygate has BACKEND in rotation.
ready() {
  curl -fs --max-time 1 "http://127.0.0.1:$1/metrics" |
    grep -q "^readygate_backend_in_rotation{service=\"rollout\",backend=\"127.0.0.1:$2\"} 1"
}
# endpoints FILE PORT...: the file replaced whole (rename), as the docs ask.
endpoints() {
  local file=$1
  shift
  printf -- '- "127.0.0.1:%s"\n' "$@" >"$file.tmp"
  mv "$file.tmp" "$file"
}

# start_pod KIND NAME PORT: a grpcio app server (grpc), a pod whose shutdown is one GOAWAY
# (abrupt), or a fakepod (http); its pid in $pod_pid.
start_pod() {
  if [[ $1 == grpc ]]; then
    "$python" "$here/grpc_app_server.py" "$3" "$2" --seconds 120 >"$work/$2.log" 2>&1 &
  elif [[ $1 == abrupt ]]; then
    "$python" "$here/h2_grpc_pod.py" "$3" "$2" --seconds 120 >"$work/$2.log" 2>&1 &
  else
    "$fakepod" --name "$2" --host 127.0.0.1 --port "$3" >"$work/$2.log" 2>&1 &
  fi
  pod_pid=$!
  pids+=("$pod_pid")
  wait_for 15 listening "$3"
}

# deploy KIND RETRY: the whole rollout under load; the load's last line in $result.
deploy() {
  local kind=$1 retry=$2 run=$1-$2
  local listen admin old_ports=() old_pids=() new_ports=() port
  listen=$(free_port) admin=$(free_port)
  for i in 1 2; do
    port=$(free_port)
    start_pod "$kind" "$run-old-$i" "$port" || return 1
    old_ports+=("$port") old_pids+=("$pod_pid")
  done
  endpoints "$work/$run.yaml" "${old_ports[@]}"
  local protocol=h2c
  [[ $kind == http ]] && protocol=http/1.1
  cat >"$work/$run-readygate.yaml" <<EOF
admin: {listen: "127.0.0.1:$admin"}
workers: 1
services:
  - name: rollout
    listen: 127.0.0.1:$listen
    mode: http
    upstreamProtocol: $protocol
    retryUnprocessedStreams: $retry
    drainTimeoutSeconds: 10
    readinessProbe: {tcpSocket: {}, periodSeconds: 0.2}
    endpoints: {file: {path: $work/$run.yaml}}
EOF
  "$readygate" -c "$work/$run-readygate.yaml" >"$work/$run-readygate.log" 2>&1 &
  local readygate_pid=$!
  pids+=("$readygate_pid")
  wait_for 10 up "http://127.0.0.1:$admin/healthz" || return 1
  for port in "${old_ports[@]}"; do wait_for 10 ready "$admin" "$port" || return 1; done

  rm -f "$work/$run.stop"
  if [[ $kind != http ]]; then
    "$python" "$load" steady "127.0.0.1:$listen" "$work/$run.stop" 60 >"$work/$run.load" 2>&1 &
  else
    # h2load over h2c: 8 connections, 10 streams each, for 8 s (the deploy takes about 5).
    timeout 60 h2load -c 8 -m 10 -D 8 "http://127.0.0.1:$listen/" >"$work/$run.load" 2>&1 &
  fi
  local load_pid=$!
  pids+=("$load_pid")
  sleep 1  # a second of load before the deploy: part of the scenario, nothing waits on it

  for i in 0 1; do
    port=$(free_port)
    start_pod "$kind" "$run-new-$i" "$port" || return 1
    new_ports+=("$port")
    endpoints "$work/$run.yaml" "${old_ports[@]:$((i + 1))}" "${new_ports[@]}" "${old_ports[@]:$i:1}"
    wait_for 10 ready "$admin" "$port" || return 1
    # SIGTERM first; the endpoint update lags it by half a second (the scenario's timing).
    kill -TERM "${old_pids[$i]}"
    sleep 0.5
    endpoints "$work/$run.yaml" "${old_ports[@]:$((i + 1))}" "${new_ports[@]}"
    sleep 1
  done
  if [[ $kind != http ]]; then
    touch "$work/$run.stop"
    wait "$load_pid"
    result=$(tail -1 "$work/$run.load")
  else
    wait "$load_pid"
    result=$(grep -E "^requests:|^status codes:" "$work/$run.load" | tr '\n' ' ')
  fi
  kill "$readygate_pid" 2>/dev/null
  wait "$readygate_pid" 2>/dev/null
  return 0
}

if deploy grpc true && [[ $result == *'"failed": {}'* && $result == *new-1* ]]; then
  pass "gRPC rolling deploy with drain retries: 0 failed calls ($result)"
else
  fail "gRPC rolling deploy with drain retries: ${result:-did not run}"
  tail -5 "$work"/grpc-true-readygate.log
fi
if deploy abrupt true && [[ $result == *'"failed": {}'* && $result == *new-1* ]]; then
  pass "pods whose shutdown is one GOAWAY, with drain retries: 0 failed calls ($result)"
else
  fail "one-GOAWAY pods with drain retries: ${result:-did not run}"
fi
if deploy abrupt false && [[ $result == *UNAVAILABLE* ]]; then
  pass "the same deploy with retryUnprocessedStreams off fails calls ($result)"
else
  fail "retries off should have failed calls: ${result:-did not run}"
fi
if deploy http true && [[ $result == *"0 failed, 0 errored"* && $result == *"0 5xx"* ]]; then
  pass "HTTP/1.1 backends, h2 clients (h2load): 0 failed requests ($result)"
else
  fail "HTTP/1.1 backends and h2 clients: ${result:-did not run}"
fi
finish grpc_rollout
