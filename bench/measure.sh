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
