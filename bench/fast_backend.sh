# Sourced by benchmarks (after scripts/background.sh): start_fast_backend PORT starts nginx
# with one worker answering "ok\n" on 127.0.0.1:PORT, a backend faster than any proxy in
# front of it, and readygate_one_service FILE ADMIN LISTEN BACKEND [HTTP-SETTINGS]
# writes a one-worker readygate config with one HTTP service in front of it.
start_fast_backend() {
  backend_nginx "listen 127.0.0.1:$1; location = / { return 200 \"ok\\n\"; }" ""
  for _ in $(seq 1 50); do
    curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$1/" && return 0
    sleep 0.1
  done
  echo "the backend on port $1 does not answer" >&2
  return 1
}

# backend_nginx SERVER-BODY PREFIX: nginx with one worker and that server block, started
# with PREFIX before it (taskset, say).
backend_nginx() {
  chmod 755 "$work"  # nginx's workers may run as nobody
  cat >"$work/backend.conf" <<CFG
worker_processes 1;
daemon off;
pid $work/backend.pid;
error_log $work/backend-error.log;
events { worker_connections 4000; }
http { access_log off; keepalive_requests 1000000;
  server { $1 } }
CFG
  $2 nginx -c "$work/backend.conf" -p "$work" >"$work/backend.log" 2>&1 &
  pids+=("$!")
}

# start_fast_grpc_backend PORT: the same over h2c on cpu 0, answering any path 200 with
# grpc-status 0 in trailers (not gRPC-framed: the proxies in front never read the body).
start_fast_grpc_backend() {
  backend_nginx "listen 127.0.0.1:$1 http2;
    location / { default_type application/grpc; add_trailer grpc-status 0 always; return 200 \"ok\"; }" \
    "taskset -c 0"
}

readygate_one_service() {
  cat >"$1" <<CFG
admin: {listen: "127.0.0.1:$2"}
workers: 1
maxConnections: ${max_connections:-10000}
services:
  - {name: http, listen: "127.0.0.1:$3", mode: http, maxConnections: ${max_connections:-10000},
     http: {${5:-forwardedHeaders: false}}, endpoints: {static: ["127.0.0.1:$4"]}}
CFG
}

# start_range_pods FAKEPOD FIRST_PORT PER_POD PODS [ARGS-OF-THE-FIRST-POD...]: PODS fake pods,
# each answering on PER_POD consecutive ports from FIRST_PORT (many backends, few
# processes), waited for until each answers.
start_range_pods() {
  local fakepod=$1 first=$2 per_pod=$3 pods=$4 i from
  shift 4
  local first_args=("$@") args
  for ((i = 0; i < pods; i++)); do
    from=$((first + i * per_pod))
    args=()
    ((i > 0)) || args=("${first_args[@]}")
    "$fakepod" --name "pod-$i" --port-range "$from-$((from + per_pod - 1))" "${args[@]}" \
      >"$work/pod-$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < pods; i++)); do
    for _ in $(seq 1 100); do
      curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$((first + i * per_pod))/" && break
      sleep 0.1
    done
  done
}
