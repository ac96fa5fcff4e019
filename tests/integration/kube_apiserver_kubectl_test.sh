#!/usr/bin/env bash
# The test API server (tests/support/kube_apiserver.py) checked against a real client before
# readygate's Kubernetes source is tested against it: kubectl reads its paged lists
# (--chunk-size), its watch stream (--output-watch-events: events cut across chunks), and
# kubectl wait (client-go's reflector) follows it through a dropped watch, a 410 sent as an
# ERROR event and a 410 sent as an HTTP status; a token no longer accepted is refused.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
server=
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ ! -f "$work/api.log" ] || tail -n 20 "$work/api.log" >&2; exit 1; }
# Waits (at most $2 s) until command $1 succeeds.
until_true() {
  local deadline=$((SECONDS + $2))
  until eval "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

echo "kubectl: $(kubectl version --client 2>/dev/null | head -n 1)"
minor=$(kubectl version --client -o json 2>/dev/null | python3 -c 'import json, re, sys
print(re.sub(r"[^0-9]", "", json.load(sys.stdin)["clientVersion"]["minor"]) or 0)')
read -r api control < <(python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/api.key" \
  -out "$work/api.crt" -days 1 -subj /CN=kube-apiserver -addext subjectAltName=IP:127.0.0.1 \
  >/dev/null 2>&1
/usr/bin/python3 "$root/tests/support/kube_apiserver.py" "$api" "$control" "$work/api.crt" \
  "$work/api.key" token-1 >"$work/api.log" 2>&1 &
server=$!
until_true "grep -q listening '$work/api.log'" 10 || fail "the test API server did not start"
cat >"$work/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$api", certificate-authority-data: "$(base64 -w0 "$work/api.crt")"}
users:
- name: me
  user: {token: token-1}
contexts:
- name: test
  context: {cluster: test, user: me, namespace: shop}
current-context: test
EOF
export KUBECONFIG=$work/kubeconfig
c="http://127.0.0.1:$control"
slice() {  # name service address
  curl -fsS -X PUT "$c/slices/shop/$1" -o /dev/null -d "{\"metadata\":{\"labels\":
    {\"kubernetes.io/service-name\":\"$2\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":
    \"http\",\"port\":8080}],\"endpoints\":[{\"addresses\":[\"$3\"],\"conditions\":{\"ready\":true}}]}"
}
watches() { curl -fsS "$c/requests" | python3 -c 'import json, sys
print(sum("watch=" in r["query"] for r in json.load(sys.stdin)))'; }

slice web-1 web 10.0.0.1
slice web-2 web 10.0.0.2
slice web-3 web 10.0.0.3
slice other other 10.9.0.1

# Paged list: three slices of the service in pages of two, the other service's left out.
listed=$(timeout 30 kubectl get endpointslices -l kubernetes.io/service-name=web --chunk-size=2 \
  -o jsonpath='{range .items[*]}{.metadata.name}={.endpoints[0].addresses[0]} {end}')
[ "$listed" = "web-1=10.0.0.1 web-2=10.0.0.2 web-3=10.0.0.3 " ] || fail "list: '$listed'"
curl -fsS "$c/requests" | grep -q 'continue=' || fail "kubectl asked for no second page"
echo "ok - kubectl get --chunk-size=2 reads the paged list"

# The watch stream.
before=$(watches)
timeout 20 kubectl get endpointslices -l kubernetes.io/service-name=web -w --output-watch-events \
  -o jsonpath='{.type} {.object.metadata.name} {.object.endpoints[0].addresses[0]}{"\n"}' \
  >"$work/watch.out" 2>&1 &
watcher=$!
until_true "[ \$(watches) -gt $before ]" 15 || fail "kubectl did not watch"
slice web-2 web 10.0.0.22
slice other other 10.9.0.2
curl -fsS -X DELETE "$c/slices/shop/web-3" -o /dev/null
until_true "grep -q 'DELETED web-3' '$work/watch.out'" 15 || fail "watch: $(cat "$work/watch.out")"
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
grep -q "MODIFIED web-2 10.0.0.22" "$work/watch.out" || fail "watch: $(cat "$work/watch.out")"
if grep -q other "$work/watch.out"; then fail "watch: another service's slice came"; fi
echo "ok - kubectl get -w --output-watch-events reads the watch stream"

# Recovery: kubectl wait follows the slice through a dropped watch and both kinds of 410.
# `--for=jsonpath` came with kubectl 1.23; Debian's 1.20 waits for the slice's deletion,
# through the same reflector.
before=$(watches)
if [ "$minor" -ge 23 ]; then
  condition="jsonpath={.endpoints[0].addresses[0]}=10.0.0.99"
else
  condition=delete
fi
timeout 60 kubectl wait endpointslice/web-2 --timeout=50s --for="$condition" \
  >"$work/wait.out" 2>&1 &
waiter=$!
until_true "[ \$(watches) -gt $before ]" 20 || fail "kubectl wait did not watch"
for fault in drop event status; do
  before=$(watches)
  case $fault in
    drop) curl -fsS -X POST "$c/drop-watches" -o /dev/null ;;
    *) curl -fsS -X POST "$c/mode" -d "{\"goneAs\":\"$fault\"}" -o /dev/null
       slice web-2 web "10.0.0.5$((RANDOM % 10))"
       curl -fsS -X POST "$c/compact" -o /dev/null
       curl -fsS -X POST "$c/drop-watches" -o /dev/null ;;
  esac
  until_true "[ \$(watches) -gt $before ]" 20 || fail "no new watch after the $fault fault"
done
if [ "$condition" = delete ]; then
  curl -fsS -X DELETE "$c/slices/shop/web-2" -o /dev/null
else
  slice web-2 web 10.0.0.99
fi
wait "$waiter" || fail "kubectl wait: $(cat "$work/wait.out")"
grep -Eq "condition met|deleted" "$work/wait.out" || fail "kubectl wait: $(cat "$work/wait.out")"
curl -fsS "$c/requests" | grep -q '"authorized": false' && fail "a request was refused"
echo "ok - kubectl wait follows through a dropped watch, a 410 event and a 410 status"

# Token rotation: a token no longer accepted gets 401.
curl -fsS -X POST "$c/tokens" -d '{"accept":["token-2"]}' -o /dev/null
if out=$(timeout 20 kubectl get endpointslices 2>&1); then fail "an old token was accepted"; fi
echo "$out" | grep -qi "unauthorized" || fail "401 not reported: $out"
echo "ok - a token that is no longer accepted is refused with 401"
