#!/usr/bin/env bash
# A real Prometheus scrapes a running readygate in front of fake pods; every PromQL query
# of the Grafana dashboard and of the alert rules must return data, and `promtool check
# metrics` must accept /metrics.
#
# usage: prometheus_test.sh READYGATE FAKEPOD DASHBOARDS_DIR
set -euo pipefail
readygate=$1
fakepod=$2
dashboards=$3
# shellcheck source=../../scripts/background.sh
source "$(dirname "$0")/../../scripts/background.sh"
fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/*.log; do echo "---- $log" >&2; tail -20 "$log" >&2; done
  exit 1
}

free_port() {  # a port in 20000-29999 nobody listens on (checked, not reserved)
  local port
  while true; do
    port=$((20000 + RANDOM % 10000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}
wait_for() {  # seconds command...: run until it succeeds, at most that long
  local deadline=$(($(date +%s) + $1)); shift
  until "$@" >/dev/null 2>&1; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.2
  done
}

ready_pod=$(free_port); unready_pod=$(free_port); listen=$(free_port); admin=$(free_port); prom=$(free_port)
http_listen=$(free_port); tls_listen=$(free_port); kube_listen=$(free_port)
api=$(free_port); api_control=$(free_port)
# A TLS listener, so the certificate series (and the expiry alert's query) have data.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/tls.key" \
  -out "$work/tls.crt" -days 30 -subj /CN=web.example.com \
  -addext subjectAltName=DNS:web.example.com >"$work/openssl.log" 2>&1 || fail "openssl req failed"
# The test API server, so the Kubernetes source's series have data (its certificate is its
# own trust anchor).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/api.key" \
  -out "$work/api.crt" -days 30 -subj /CN=api -addext subjectAltName=IP:127.0.0.1 \
  >>"$work/openssl.log" 2>&1 || fail "openssl req failed"
python3 "$(dirname "$0")/../support/kube_apiserver.py" "$api" "$api_control" "$work/api.crt" \
  "$work/api.key" token-1 >"$work/apiserver.log" 2>&1 & pids+=($!)
echo token-1 >"$work/token"
cat >"$work/kubeconfig" <<YAML
current-context: test
contexts: [{name: test, context: {cluster: test, user: readygate, namespace: shop}}]
clusters: [{name: test, cluster: {server: "https://127.0.0.1:$api", certificate-authority: $work/api.crt}}]
users: [{name: readygate, user: {tokenFile: $work/token}}]
YAML
"$fakepod" --name ready --port "$ready_pod" >"$work/pod-ready.log" 2>&1 & pids+=($!)
# Unready, so probe failures (reason http_503) exist for the failure panels.
"$fakepod" --name unready --port "$unready_pod" --start-unready >"$work/pod-unready.log" 2>&1 & pids+=($!)
wait_for 10 grep -q listening "$work/apiserver.log" || fail "the test API server did not start"
curl -fs -o /dev/null -X PUT "http://127.0.0.1:$api_control/slices/shop/pods-1" --data \
  '{"metadata":{"labels":{"kubernetes.io/service-name":"pods"}},"addressType":"IPv4","ports":[{"name":"http","port":'"$ready_pod"'}],"endpoints":[{"addresses":["127.0.0.1"],"conditions":{"ready":true}}]}' ||
  fail "no slice for the Kubernetes source"
cat >"$work/readygate.yaml" <<YAML
admin: {listen: "127.0.0.1:$admin"}
workers: 1
kubernetes: {kubeconfig: "$work/kubeconfig"}
services:
  - name: web
    listen: "127.0.0.1:$listen"
    endpoints: {static: ["127.0.0.1:$ready_pod", "127.0.0.1:$unready_pod"]}
    minReady: 1
    readinessProbe:
      httpGet: {path: /ready}
      periodSeconds: 0.2
    livenessProbe:
      tcpSocket: {}
      periodSeconds: 0.5
  - name: api
    listen: "127.0.0.1:$http_listen"
    mode: http
    endpoints: {static: ["127.0.0.1:$ready_pod"]}
    outlierDetection: {}
  - name: pods
    listen: "127.0.0.1:$kube_listen"
    mode: http
    endpoints: {kubernetes: {service: pods, port: http}}
  - name: secure
    listen: "127.0.0.1:$tls_listen"
    mode: http
    endpoints: {static: ["127.0.0.1:$ready_pod"]}
    tls:
      certificates: [{cert: "$work/tls.crt", key: "$work/tls.key"}]
YAML
"$readygate" -c "$work/readygate.yaml" 2>"$work/readygate.log" & pids+=($!)
wait_for 10 curl -fs "http://127.0.0.1:$admin/readyz" || fail "readygate did not start"

cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$dashboards/alerts.yaml"]
scrape_configs:
  - job_name: readygate
    static_configs: [{targets: ["127.0.0.1:$admin"]}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$prom" >"$work/prometheus.log" 2>&1 & pids+=($!)

# Traffic while Prometheus watches, bounded: at most 60 s, stopped at exit anyway.
( end=$(($(date +%s) + 60)); while (($(date +%s) < end)); do
    curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$listen/" || true
    curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$http_listen/" || true; sleep 0.05
  done ) & pids+=($!)

query() {  # PromQL -> number of series in the result
  curl -fs --max-time 5 "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1" |
    jq -e 'if .status == "success" then (.data.result | length) else error(.error) end'
}
has_data() { [[ $(query "$1") -gt 0 ]]; }
wait_for 30 has_data 'up{job="readygate"} == 1' || fail "Prometheus never scraped readygate"
# Enough samples for rate() over the substituted interval.
sleep 6

promtool_out=$(curl -fs "http://127.0.0.1:$admin/metrics" | promtool check metrics 2>&1) ||
  fail "promtool check metrics: $promtool_out"
echo "promtool check metrics: ok"

checked=0; failed=0
check() {  # origin expr
  local expr=$1 count
  if count=$(query "$expr") && [[ $count -gt 0 ]]; then
    checked=$((checked + 1))
  else
    echo "no data: $2: $expr" >&2
    failed=$((failed + 1))
  fi
}
while IFS= read -r expr; do
  expr=${expr//'$__rate_interval'/15s}; expr=${expr//'$service'/.*}; expr=${expr//'$job'/.*}
  check "$expr" dashboard
done < <(jq -r '.. | .expr? // empty' "$dashboards/readygate.json")
# Alert rules are `<query> <op> <number>`: the query must return data (the alert
# itself rightly stays quiet while the pods are fine).
while IFS= read -r expr; do
  query_part=$(sed -E 's/[[:space:]]*(==|!=|>=|<=|>|<)[[:space:]]*-?[0-9.]+[[:space:]]*$//' <<<"$expr")
  [[ $query_part != "$expr" ]] || fail "alert expression is not '<query> <op> <number>': $expr"
  check "$query_part" "alert rule"
done < <(sed -n 's/^[[:space:]]*expr:[[:space:]]*//p' "$dashboards/alerts.yaml")

echo "queries with data: $checked, without: $failed"
((failed == 0)) || fail "$failed queries returned no data"
((checked >= 20)) || fail "only $checked queries found; is the dashboard readable?"
echo "PASS"
