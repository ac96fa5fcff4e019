#!/usr/bin/env bash
# Real HTTP/2 clients through readygate (issue 22), over a TLS listener (h2 by ALPN) and a
# cleartext one (h2c with prior knowledge): curl --http2 and --http2-prior-knowledge,
# h2load over both, python httpx with h2, and Node's http2 module; each must see 0 errors.
# Then connection coalescing on a wildcard certificate (another name it covers is served,
# a name another certificate would serve gets 421), and the metrics. Every step is bounded.
# Usage: http2_clients_test.sh READYGATE FAKEPOD
set -uo pipefail
readygate=$1
fakepod=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/checks.sh"
python=/usr/bin/python3  # Debian's, with httpx and h2
# shellcheck source=../../scripts/background.sh
source "$here/../../scripts/background.sh"  # $work, $pids, background

# Certificates made now: a CA, a wildcard for *.example.test (the default; 127.0.0.1 too,
# for clients that connect by address) and one for other.test.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=readygate test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
for name in wild other; do
  case $name in
    wild) san="DNS:*.example.test,DNS:example.test,IP:127.0.0.1" cn="*.example.test" ;;
    other) san="DNS:other.test" cn="other.test" ;;
  esac
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn" -keyout "$work/$name.key" \
    -out "$work/$name.csr" 2>/dev/null
  printf 'subjectAltName=%s\n' "$san" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
    -CAcreateserial -days 1 -extfile "$work/$name.ext" -out "$work/$name.pem" 2>/dev/null
done

pod=$(free_port) pod_b=$(free_port) tls=$(free_port) clear=$(free_port) balanced=$(free_port)
empty=$(free_port) small=$(free_port) admin=$(free_port)
background pod.log "$fakepod" --name pod-a --host 127.0.0.1 --port "$pod"
background pod-b.log "$fakepod" --name pod-b --host 127.0.0.1 --port "$pod_b"
cat >"$work/readygate.yaml" <<EOF
admin: {listen: "127.0.0.1:$admin"}
workers: 2
services:
  - name: secure
    listen: 127.0.0.1:$tls
    mode: http
    endpoints: {static: ["127.0.0.1:$pod"]}
    tls:
      certificates:
        - {cert: $work/wild.pem, key: $work/wild.key}
        - {cert: $work/other.pem, key: $work/other.key}
  - name: clear
    listen: 127.0.0.1:$clear
    mode: http
    endpoints: {static: ["127.0.0.1:$pod"]}
  - name: balanced
    listen: 127.0.0.1:$balanced
    mode: http
    balance: least_conn
    endpoints: {static: ["127.0.0.1:$pod", "127.0.0.1:$pod_b"]}
  - name: empty
    listen: 127.0.0.1:$empty
    mode: http
    endpoints: {static: []}
  - name: small
    listen: 127.0.0.1:$small
    mode: http
    http: {maxBodyBytes: 100}
    endpoints: {static: ["127.0.0.1:$pod"]}
EOF
background readygate.log "$readygate" -c "$work/readygate.yaml"

up() { curl -fs -o /dev/null --max-time 1 "$1"; }
wait_for 10 up "http://127.0.0.1:$admin/healthz" || { cat "$work/readygate.log"; exit 1; }
wait_for 10 up "http://127.0.0.1:$clear/" || fail "fakepod through readygate"
resolve=(--resolve "a.example.test:$tls:127.0.0.1" --resolve "b.example.test:$tls:127.0.0.1")
tls_url="https://a.example.test:$tls"

# curl over TLS: ALPN must choose h2; an upload is echoed whole.
head -c 2000000 /dev/urandom >"$work/upload.bin"
out=$(curl -s --http2 --cacert "$work/ca.pem" "${resolve[@]}" --max-time 10 \
  -w '\n%{http_version}' "$tls_url/")
if [[ $out == $'hello from pod-a\n\n2' ]]; then
  pass "curl --http2 over TLS: h2 by ALPN"
else
  fail "curl --http2 over TLS: $out"
fi
if curl -s --http2 --cacert "$work/ca.pem" "${resolve[@]}" --max-time 10 \
  --data-binary @"$work/upload.bin" "$tls_url/echo" | cmp -s - "$work/upload.bin"; then
  pass "curl --http2: a 2 MB upload echoed whole"
else
  fail "curl --http2 upload"
fi
out=$(curl -s --http2-prior-knowledge --max-time 10 -w '\n%{http_version}' "http://127.0.0.1:$clear/")
if [[ $out == $'hello from pod-a\n\n2' ]]; then
  pass "curl --http2-prior-knowledge (h2c)"
else
  fail "curl --http2-prior-knowledge: $out"
fi
if curl -s --http2-prior-knowledge --max-time 10 -H 'Transfer-Encoding: chunked' \
  -T "$work/upload.bin" "http://127.0.0.1:$clear/echo" | cmp -s - "$work/upload.bin"; then
  pass "curl h2c: an upload of unknown length echoed whole (chunked to the backend)"
else
  fail "curl h2c upload of unknown length"
fi
# HTTP/1.1 on the same listeners still works, and Upgrade: h2c is not taken.
out=$(curl -s --http1.1 --max-time 5 -w '%{http_version}' -o /dev/null "http://127.0.0.1:$clear/")
[[ $out == 1.1 ]] && pass "HTTP/1.1 beside h2c" || fail "HTTP/1.1 beside h2c: $out"
out=$(curl -s --http2 --max-time 5 -w '%{http_version}' -o /dev/null "http://127.0.0.1:$clear/")
[[ $out == 1.1 ]] && pass "Upgrade: h2c answered in HTTP/1.1" || fail "Upgrade: h2c: $out"

# h2load: 10 connections of 10 streams each, over TLS and h2c.
for target in "$tls_url/" "http://127.0.0.1:$clear/"; do
  h2_out=$(timeout 30 h2load -n 20000 -c 10 -m 10 "${target/a.example.test/127.0.0.1}" 2>&1)
  if grep -q 'requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored' <<<"$h2_out" &&
    grep -q 'status codes: 20000 2xx' <<<"$h2_out"; then
    pass "h2load -c 10 -m 10 $target: 20000 succeeded"
  else
    fail "h2load $target"
    echo "$h2_out" | tail -12
  fi
done

# httpx with h2: 200 requests, 20 at a time, over one connection.
if timeout 30 "$python" - "$tls" "$work/ca.pem" <<'EOF'; then
import asyncio, sys, httpx
port, ca = sys.argv[1], sys.argv[2]
async def main():
    # By address (nothing resolves example.test here; the certificate names 127.0.0.1).
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(http2=True, verify=ca, limits=limits) as client:
        sem = asyncio.Semaphore(20)
        async def one(i):
            async with sem:
                r = await client.get(f"https://127.0.0.1:{port}/status/{200 + i % 2}")
                assert r.http_version == "HTTP/2", r.http_version
                assert r.status_code == 200 + i % 2, r.status_code
        await asyncio.gather(*(one(i) for i in range(200)))
asyncio.run(main())
EOF
  pass "httpx http2: 200 of 200 over h2"
else
  fail "httpx http2"
fi

# Node's http2 client: 100 concurrent streams on one session, h2c.
if timeout 30 node - "$clear" <<'EOF'; then
const http2 = require('http2');
const port = process.argv[2];
const session = http2.connect(`http://127.0.0.1:${port}`);
session.on('error', (e) => { console.error(e); process.exit(1); });
let done = 0;
for (let i = 0; i < 100; i++) {
  const req = session.request({ ':path': '/status/' + (200 + (i % 3)) });
  let status = 0;
  req.on('response', (headers) => { status = headers[':status']; });
  req.on('data', () => {});
  req.on('end', () => {
    if (status !== 200 + (i % 3)) { console.error('stream', i, 'status', status); process.exit(1); }
    if (++done === 100) { session.close(); process.exit(0); }
  });
  req.end();
}
EOF
  pass "node http2: 100 concurrent streams on one session"
else
  fail "node http2"
fi

# Coalescing: one h2 connection whose TLS said a.example.test. b.example.test is on the
# same wildcard certificate: served. other.test would get another certificate: 421.
if timeout 20 "$python" - "$tls" "$work/ca.pem" <<'EOF'; then
import socket, ssl, sys, h2.connection, h2.config, h2.events
port, ca = int(sys.argv[1]), sys.argv[2]
context = ssl.create_default_context(cafile=ca)
context.set_alpn_protocols(["h2"])
sock = context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5),
                           server_hostname="a.example.test")
assert sock.selected_alpn_protocol() == "h2"
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
statuses = {}
for stream, host in ((1, "a.example.test"), (3, "b.example.test"), (5, "other.test")):
    conn.send_headers(stream, [(":method", "GET"), (":scheme", "https"), (":path", "/"),
                               (":authority", f"{host}:{port}")], end_stream=True)
sock.sendall(conn.data_to_send())
while len(statuses) < 3:
    data = sock.recv(65536)
    assert data, "closed early"
    for event in conn.receive_data(data):
        if isinstance(event, h2.events.ResponseReceived):
            statuses[event.stream_id] = dict(event.headers)[b":status"]
    sock.sendall(conn.data_to_send())
assert statuses == {1: b"200", 3: b"200", 5: b"421"}, statuses
EOF
  pass "coalescing: a second name on the wildcard served, another certificate's name 421"
else
  fail "coalescing"
fi

# least_conn counts streams: six slow streams on one client connection are in flight on
# the two backends three and three (counted per client connection, all six would be on one).
wait_for 10 up "http://127.0.0.1:$balanced/" || fail "balanced service"
if timeout 20 /usr/bin/python3 - "$balanced" "$admin" "$pod" "$pod_b" <<'EOF'; then
import socket, sys, time, urllib.request, h2.connection, h2.config
port, admin, pod_a, pod_b = sys.argv[1:5]
sock = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
conn.initiate_connection()
for stream in range(1, 12, 2):
    conn.send_headers(stream, [(":method", "GET"), (":scheme", "http"),
                               (":path", "/status/200?delay_ms=3000"),
                               (":authority", f"127.0.0.1:{port}")], end_stream=True)
sock.sendall(conn.data_to_send())
def active():
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    counts = {}
    for line in text.splitlines():
        if line.startswith('readygate_backend_connections_active{service="balanced"'):
            backend = line.split('backend="')[1].split('"')[0]
            counts[backend] = float(line.split()[-1])
    return counts
deadline = time.monotonic() + 5
while sum(active().values()) < 6 and time.monotonic() < deadline:
    time.sleep(0.05)
counts = active()
assert counts == {f"127.0.0.1:{pod_a}": 3, f"127.0.0.1:{pod_b}": 3}, counts
EOF
  pass "least_conn: six streams of one connection in flight three and three"
else
  fail "least_conn by streams"
fi

# A gRPC client (grpcio) told by readygate itself that its call cannot be taken gets a
# gRPC status with the reason, in a trailers-only answer, not a bare HTTP error: no ready
# backend is UNAVAILABLE, a message past maxBodyBytes RESOURCE_EXHAUSTED (grpcio makes
# a bare 413 UNKNOWN).
if timeout 20 /usr/bin/python3 - "$empty" "$small" <<'EOF'; then
import sys, grpc
def status(port, payload):
    call = grpc.insecure_channel(f"127.0.0.1:{port}").unary_unary("/shop.Catalog/Get")
    try:
        call(payload, timeout=5)
    except grpc.RpcError as error:
        return error.code(), error.details()
    raise SystemExit("the call succeeded")
code, details = status(sys.argv[1], b"")
assert code == grpc.StatusCode.UNAVAILABLE and "no_ready_backend" in details, (code, details)
code, details = status(sys.argv[2], b"x" * 1000)
assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "body_too_large" in details, (code, details)
EOF
  pass "grpcio: no ready backend is UNAVAILABLE, a too-large message RESOURCE_EXHAUSTED"
else
  fail "grpcio: readygate's own answer as a gRPC status"
fi

# The metrics counted it.
metrics=$(curl -s --max-time 5 "http://127.0.0.1:$admin/metrics")
for service in secure clear; do
  streams=$(grep "^readygate_http2_streams_total{service=\"$service\"}" <<<"$metrics" | awk '{print $2}')
  if [[ -n $streams ]] && awk -v n="$streams" 'BEGIN { exit !(n >= 20000) }'; then
    pass "readygate_http2_streams_total for $service: $streams"
  else
    fail "readygate_http2_streams_total for $service: '$streams'"
  fi
done
grep -q '^readygate_http2_active_streams{service="clear"} 0' <<<"$metrics" &&
  pass "no stream left open" || fail "active streams: $(grep http2_active <<<"$metrics")"

finish http2_clients
