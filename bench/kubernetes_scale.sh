#!/usr/bin/env bash
# The Kubernetes source at scale: 10,000 endpoints as SLICES slices of ENDPOINTS_PER_SLICE,
# served by the test API server (tests/support/kube_apiserver.py) over TLS. Measured by
# readygate itself (the kubernetes_list_applied line's control_loop_seconds: gathering and
# parsing the list's pages, applying them to the reflector, resolving the endpoints and the
# membership diff of 10,000 backends and the rotation published), for the initial list and
# for a full relist after a 410 with one slice in a hundred changed meanwhile (target:
# each within 0.1 s); then one watch event that takes a slice's pods out (terminating),
# timed from its bytes' arrival to the rotation change (readygate's histogram).
#
# usage: bench/kubernetes_scale.sh BUILD_DIR [SLICES] [ENDPOINTS_PER_SLICE]
# (BENCH_BINARY runs another readygate, or a wrapper such as `perf record -- readygate`.)
# Endpoints are addresses on 127.0.0.0/8 nobody listens on and nothing is sent to: no
# probes are configured (the cluster's conditions alone decide), so all 10,000 are in
# rotation, the heavier case for the control loop.
set -euo pipefail
build=${1:-build}
slices=${2:-100}
per_slice=${3:-100}
top=$(cd "$(dirname "$0")/.." && pwd)
binary=${BENCH_BINARY:-$top/$build/proxy/readygate}
# shellcheck source=../scripts/background.sh
source "$top/scripts/background.sh"

api_port=${BENCH_API_PORT:-19911}
control_port=${BENCH_CONTROL_PORT:-19912}
admin_port=${BENCH_ADMIN_PORT:-19913}
listen_port=${BENCH_LISTEN_PORT:-19914}

# A CA and the API server's certificate for 127.0.0.1, made now.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=bench-ca -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=api \
  -keyout "$work/api.key" -out "$work/api.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/api.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 1 -extfile "$work/san.ext" -out "$work/api.crt" 2>/dev/null
echo token-1 >"$work/token"

python3 "$top/tests/support/kube_apiserver.py" "$api_port" "$control_port" "$work/api.crt" \
  "$work/api.key" token-1 >"$work/api.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
  grep -q listening "$work/api.log" && break
  sleep 0.05
done

# PUTs slices 0..SLICES-1 (or only those given) of Service web in namespace bench; `shift`
# moves every address of a slice, which makes it a changed slice.
put_slices() {  # $1: address shift, $2: terminating (0 none, 1 all, 2 the first pod), then slices (none: all)
  python3 - "$control_port" "$slices" "$per_slice" "$@" <<'PY'
import http.client, json, sys
port, slices, per_slice, shift, terminating = (int(v) for v in sys.argv[1:6])
wanted = [int(v) for v in sys.argv[6:]] or range(slices)
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for s in wanted:
    endpoints = []
    for e in range(per_slice):
        n = s * per_slice + e + shift
        endpoints.append({"addresses": [f"127.{3 + n // 62500}.{n // 250 % 250}.{n % 250 + 1}"],
                          "conditions": {"ready": not (terminating == 1 or (terminating == 2 and e == 0)),
                                         "serving": True,
                                         "terminating": terminating == 1 or (terminating == 2 and e == 0)},
                          "targetRef": {"kind": "Pod", "name": f"web-{n}"}, "zone": "zone-a"})
    body = json.dumps({"metadata": {"labels": {"kubernetes.io/service-name": "web"}},
                       "addressType": "IPv4", "ports": [{"name": "http", "port": 8080}],
                       "endpoints": endpoints})
    connection.request("PUT", f"/slices/bench/web-{s}", body)
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200, answer.status
PY
}
control() {  # $1: path, $2: JSON body
  curl -fs -o /dev/null -X POST --data "$2" "http://127.0.0.1:$control_port$1"
}
put_slices 0 0

cat >"$work/kubeconfig" <<EOF
current-context: bench
contexts: [{name: bench, context: {cluster: bench, user: readygate, namespace: bench}}]
clusters: [{name: bench, cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: $work/ca.crt}}]
users: [{name: readygate, user: {tokenFile: $work/token}}]
EOF
cat >"$work/readygate.yaml" <<EOF
admin: {listen: "127.0.0.1:$admin_port"}
workers: 1
kubernetes: {kubeconfig: $work/kubeconfig}
services:
  - name: web
    listen: 127.0.0.1:$listen_port
    endpoints:
      kubernetes: {service: web, port: http}
EOF
"$binary" -c "$work/readygate.yaml" 2>"$work/readygate.log" &
rg=$!
pids+=("$rg")
# The process's CPU (user + system) in ms, from /proc: everything the list cost it,
# TLS and HTTP included, at the kernel's tick (10 ms) resolution.
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$rg/stat"
}

# The n-th kubernetes_list_applied line's control_loop_seconds, waited for (bounded).
applied() {  # $1: n
  for _ in $(seq 1 600); do
    local line
    line=$(grep 'event=kubernetes_list_applied' "$work/readygate.log" | sed -n "${1}p" || true)
    if [[ -n $line ]]; then
      echo "$line" | sed -E 's/.*endpoints=([0-9]+).*control_loop_seconds=([0-9.e-]+).*/\1 \2/'
      return
    fi
    sleep 0.05
  done
  echo "no list applied; readygate said:" >&2
  tail -5 "$work/readygate.log" >&2
  exit 1
}
read -r first_endpoints first_seconds < <(applied 1)
first_cpu=$(cpu_ms)  # since the start: the config, the first list and little else

# A full relist: the API server goes away, one slice in a hundred changes, the history is
# compacted; back up, the watch from the old version gets 410 and readygate lists again.
before_relist=$(cpu_ms)
control /mode '{"down": true}'
changed=()
for ((s = 0; s < slices; s += 100)); do changed+=("$s"); done
put_slices 1000000 0 "${changed[@]}"
control /compact '{}'
control /mode '{"goneAs": "status", "down": false}'
read -r relist_endpoints relist_seconds < <(applied 2)
relist_cpu=$(echo "$(cpu_ms) - $before_relist" | bc -l)

# Two events, each timed by readygate from its bytes' arrival to the rotation change: one
# pod of slice 1 starts terminating (the common case), then all of slice 2's pods.
histogram() {  # $1: _sum or _count
  curl -fs "http://127.0.0.1:$admin_port/metrics" |
    awk -v name="readygate_kubernetes_event_to_rotation_seconds$1" '$1 ~ "^"name"[{]" { print $2 }'
}
terminated() {  # waits (in the log, not by scraping 10,000 backends' metrics) for $1 pods
  for _ in $(seq 1 200); do
    [[ $(grep -c 'event=backend_terminating' "$work/readygate.log" || true) -ge $1 ]] && return
    sleep 0.05
  done
}
# (The lists observed into the histogram too: each event is the sum's growth.)
before=$(histogram _sum)
put_slices 0 2 1
terminated 1
after=$(histogram _sum)
one_pod_ms=$(echo "($after - $before) * 1000" | bc -l)
put_slices 0 1 2
terminated $((per_slice + 1))
slice_ms=$(echo "($(histogram _sum) - $after) * 1000" | bc -l)

printf '%-44s %10s %16s %16s\n' "$slices slices of $per_slice" endpoints "control loop ms" \
  "process CPU ms"
printf '%-44s %10s %16.1f %16.0f\n' "initial list (CPU: since the start)" "$first_endpoints" \
  "$(echo "$first_seconds * 1000" | bc -l)" "$first_cpu"
printf '%-44s %10s %16.1f %16.0f\n' "full relist after a 410 (${#changed[@]} slice(s) changed)" \
  "$relist_endpoints" "$(echo "$relist_seconds * 1000" | bc -l)" "$relist_cpu"
printf '%-44s %10s %16.1f %16s\n' "one event: 1 pod terminating, to rotation" \
  "$relist_endpoints" "$one_pod_ms" "-"
printf '%-44s %10s %16.1f %16s\n' "one event: $per_slice pods terminating, to rotation" \
  "$relist_endpoints" "$slice_ms" "-"
