# Sourced by the side-by-side benchmarks (after scripts/background.sh, with $seconds and
# $runs set): CPU per request of a pinned proxy read from /proc while wrk (on cpu 0)
# loads it, medians of $runs runs, markdown rows. $scheme (http or https) is the URL's.
ticks=$(getconf CLK_TCK)
scheme=${scheme:-http}

# CPU seconds (utime + stime) of a process and all its children: nginx works in its workers.
cpu_of() {
  local total=0 pid
  [ "$1" != none ] || { echo 0; return; }
  for pid in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

# Resident memory (KiB, VmRSS) of a process and all its children.
rss_of() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1" || true); do
    [ -r "/proc/$pid/status" ] || continue
    total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")))
  done
  echo "$total"
}

one() {  # pid port connections path extra-wrk-args... -> "rps cpu_us_per_request p99_ms"
  local pid=$1 port=$2 connections=$3 path=$4
  shift 4
  local before after
  before=$(cpu_of "$pid")
  taskset -c 0 wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" "$scheme://127.0.0.1:$port$path" \
    >"$work/wrk.out" 2>&1
  after=$(cpu_of "$pid")
  awk -v cpu=$((after - before)) -v ticks="$ticks" '
    /requests in/ {requests = $1}
    /Non-2xx/ {bad = $NF}
    $1 == "99%" {v = $2; if (v ~ /us$/) ms = v / 1000; else if (v ~ /ms$/) ms = v + 0; else ms = v * 1000}
    END {
      if (bad > 0) printf "(%s answers were not 2xx) ", bad > "/dev/stderr"
      printf "%s %.2f %.3f\n", requests / '"$seconds"', requests ? cpu / ticks * 1e6 / requests : 0, ms
    }' "$work/wrk.out"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

row() {  # label pid port connections path wrk-args...
  local label=$1
  shift
  : >"$work/runs"
  for ((i = 0; i < runs; i++)); do one "$@" >>"$work/runs"; done
  local rps cpu p99
  rps=$(cut -d' ' -f1 "$work/runs" | median)
  cpu=$(cut -d' ' -f2 "$work/runs" | median)
  p99=$(cut -d' ' -f3 "$work/runs" | median)
  printf '| %-24s | %9.0f | %8s | %7.2f ms |\n' "$label" "$rps" \
    "$([ "$1" = none ] && echo - || echo "$cpu")" "$p99"
}
table() {  # title
  echo
  echo "$1"
  echo '| proxy | req/s | CPU µs/req | p99 |'
  echo '|---|---:|---:|---:|'
}

# HTTP/2 runs with h2load (bench/h2_path.sh, bench/grpc_path.sh).
h2load_one() {  # pid url h2load-args... -> "rps cpu_us_per_request"
  local pid=$1 url=$2 before after
  shift 2
  before=$(cpu_of "$pid")
  taskset -c 0 h2load -D "$seconds" -t 1 "$@" "$url" >"$work/h2load.out" 2>&1
  after=$(cpu_of "$pid")
  awk -v cpu=$((after - before)) -v ticks="$ticks" -v s="$seconds" -v url="$url" '
    /^requests:/ {ok = $8; failed = $10}
    END {
      if (failed > 0) printf "(%s requests failed at %s) ", failed, url > "/dev/stderr"
      printf "%.0f %.2f\n", ok / s, ok ? cpu / ticks * 1e6 / ok : 0
    }' "$work/h2load.out"
}

# rotated_rounds MEASURE ARGS...: $runs rounds of `MEASURE pid port ARGS...` for each proxy
# of $proxy_pids/$ports, in an order rotated from round to round, into $work/runs.K.
rotated_rounds() {
  local count=${#proxy_pids[@]} r j k
  for ((k = 0; k < count; k++)); do : >"$work/runs.$k"; done
  for ((r = 0; r < runs; r++)); do
    for ((j = 0; j < count; j++)); do
      k=$(((j + r) % count))
      "$1" "${proxy_pids[k]}" "${ports[k]}" "${@:2}" >>"$work/runs.$k"
    done
  done
}

# ratio_table TITLE RATE UNIT: the medians of $work/runs.K per $labels, CPU as a ratio to
# the first (readygate's).
ratio_table() {
  local own rps cpu ratio k
  echo
  echo "$1"
  echo
  printf '| %-24s | %9s | %14s | vs readygate |\n' proxy "$2" "CPU µs/$3"
  echo "|--------------------------|-----------|----------------|--------------|"
  own=$(cut -d' ' -f2 "$work/runs.0" | median)
  for ((k = 0; k < ${#labels[@]}; k++)); do
    rps=$(cut -d' ' -f1 "$work/runs.$k" | median)
    cpu=$(cut -d' ' -f2 "$work/runs.$k" | median)
    ratio=$(awk -v a="$cpu" -v b="$own" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    printf '| %-24s | %9.0f | %14s | %12s |\n' "${labels[k]}" "$rps" "$cpu" "$ratio"
  done
}
