# Sourced by scripts that start processes in the background: a scratch dir in $work,
# and every pid added to $pids is killed (and the dir removed) when the script exits.
work=$(mktemp -d /tmp/readygate-XXXXXX)
pids=()
stop_background() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop_background EXIT
# background LOG COMMAND...: started with its output in $work/LOG, killed at exit.
background() {
  "${@:2}" >"$work/$1" 2>&1 &
  pids+=($!)
}
