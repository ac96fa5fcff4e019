#!/usr/bin/env bash
# Runs the HTTP/2 conformance and flood suite (h2_conformance.py) against readygate on an
# h2c listener with a fakepod behind it. Usage: http2_conformance_test.sh READYGATE FAKEPOD
set -uo pipefail
readygate=$1
fakepod=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/checks.sh"
# shellcheck source=../../scripts/background.sh
source "$here/../../scripts/background.sh"  # $work, $pids, background

pod=$(free_port) web=$(free_port) limited=$(free_port) admin=$(free_port)
"$fakepod" --name pod-a --host 127.0.0.1 --port "$pod" >"$work/pod.log" 2>&1 &
pids+=($!)
# Short SETTINGS, idle and keep-alive timeouts, so the cases that wait for them stay short
# (a stalled client's streams are cut by the idle timeout, then its connection idles).
cat >"$work/readygate.yaml" <<YAML
admin: {listen: "127.0.0.1:$admin"}
workers: 2
services:
  - name: web
    listen: 127.0.0.1:$web
    mode: http
    idleTimeoutSeconds: 3
    endpoints: {static: ["127.0.0.1:$pod"]}
    http: {keepAliveTimeoutSeconds: 5}
    http2: {settingsTimeoutSeconds: 1}
  - name: limited
    listen: 127.0.0.1:$limited
    mode: http
    endpoints: {static: ["127.0.0.1:$pod"]}
    http2: {maxStreamsPerConnection: 3}
YAML
"$readygate" -c "$work/readygate.yaml" --log-level debug >"$work/readygate.log" 2>&1 &
readygate_pid=$!
pids+=($readygate_pid)
up() { curl -fs -o /dev/null --max-time 1 "$1"; }
wait_for 10 up "http://127.0.0.1:$web/" || { cat "$work/readygate.log"; exit 1; }
# The suite ends with readygate's SIGTERM (the graceful close): it checks readygate is
# alive before that itself.
timeout 170 /usr/bin/python3 "$here/h2_conformance.py" "$web" "$readygate_pid" "$pod" "$admin" "$limited"
status=$?
if ((status != 0)); then
  grep -E "http2_connection_error|level=(warn|error)" "$work/readygate.log" | tail -20 >&2
fi
exit $status
