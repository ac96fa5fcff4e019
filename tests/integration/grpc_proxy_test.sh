#!/usr/bin/env bash
# gRPC through readygate to real grpcio servers (issue 23): upstreamProtocol h2c, then h2 over
# verified TLS; unary, server-streaming and client-streaming calls; NOT_FOUND as a
# trailers-only answer (read frame by frame); a client's deadline, and grpc-timeout enforced
# by readygate itself; 1,000 concurrent streams to a backend that allows 10 per connection
# use at most 100 connections (counted at the backend); a backend's GOAWAY below the streams
# in flight loses no call (and, with retryUnprocessedStreams off, does); an HTTP/1.1 client
# reaches an h2c backend (nginx); the gRPC status in the access log and the metrics.
# Usage: grpc_proxy_test.sh READYGATE
set -uo pipefail
readygate=$1
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/checks.sh"
python=/usr/bin/python3  # Debian's, with grpcio and h2
# shellcheck source=../../scripts/background.sh
source "$here/../../scripts/background.sh"  # $work, $pids, background
chmod 755 "$work"  # nginx's worker may run as nobody
load=$here/grpc_load.py

# A CA and a server certificate for the TLS backend, made now.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=readygate test CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=grpc.test" -keyout "$work/pod.key" \
  -out "$work/pod.csr" 2>/dev/null
printf 'subjectAltName=DNS:grpc.test,IP:127.0.0.1\n' >"$work/pod.ext"
openssl x509 -req -in "$work/pod.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 1 -extfile "$work/pod.ext" -out "$work/pod.pem" 2>/dev/null

a=$(free_port) b=$(free_port) narrow=$(free_port) secure_pod=$(free_port) goaway=$(free_port)
nginx_port=$(free_port) admin=$(free_port) clear=$(free_port) tls=$(free_port)
few=$(free_port) mixed=$(free_port) mixed_off=$(free_port) h1=$(free_port) none=$(free_port)
background a.log "$python" "$here/grpc_app_server.py" "$a" pod-a --seconds 120
background b.log "$python" "$here/grpc_app_server.py" "$b" pod-b --seconds 120
background narrow.log "$python" "$here/grpc_app_server.py" "$narrow" narrow --max-streams 10 --seconds 120
background secure.log "$python" "$here/grpc_app_server.py" "$secure_pod" secure \
  --tls "$work/pod.pem" "$work/pod.key" --seconds 120
background goaway.log "$python" "$here/h2_goaway_backend.py" "$goaway" goaway --seconds 120

# nginx as an h2c backend (prior knowledge) with a fixed body, for an HTTP/1.1 client.
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port http2;
    location / { add_header X-Protocol \$server_protocol; return 200 "hello over h2c\n"; }
  }
}
EOF
background nginx.log /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;'

cat >"$work/readygate.yaml" <<EOF
admin: {listen: "127.0.0.1:$admin"}
workers: 1
services:
  - name: clear
    listen: 127.0.0.1:$clear
    mode: http
    upstreamProtocol: h2c
    http: {accessLog: true}
    endpoints: {static: ["127.0.0.1:$a", "127.0.0.1:$b"]}
  - name: secure
    listen: 127.0.0.1:$tls
    mode: http
    upstreamProtocol: h2
    upstreamTls: {ca: $work/ca.pem, serverName: grpc.test}
    endpoints: {static: ["127.0.0.1:$secure_pod"]}
  - name: few
    listen: 127.0.0.1:$few
    mode: http
    upstreamProtocol: h2c
    endpoints: {static: ["127.0.0.1:$narrow"]}
  - name: mixed
    listen: 127.0.0.1:$mixed
    mode: http
    upstreamProtocol: h2c
    endpoints: {static: ["127.0.0.1:$a", "127.0.0.1:$goaway"]}
  - name: mixed-off
    listen: 127.0.0.1:$mixed_off
    mode: http
    upstreamProtocol: h2c
    retryUnprocessedStreams: false
    endpoints: {static: ["127.0.0.1:$a", "127.0.0.1:$goaway"]}
  - name: none
    listen: 127.0.0.1:$none
    mode: http
    upstreamProtocol: h2c
    http: {accessLog: true}
    endpoints: {static: []}
  - name: h1-client
    listen: 127.0.0.1:$h1
    mode: http
    upstreamProtocol: h2c
    endpoints: {static: ["127.0.0.1:$nginx_port"]}
EOF
background readygate.log "$readygate" -c "$work/readygate.yaml"

up() { curl -fs -o /dev/null --max-time 1 "$1"; }
listening() { "$python" -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1)" 2>/dev/null; }
wait_for 10 up "http://127.0.0.1:$admin/healthz" || { cat "$work/readygate.log"; exit 1; }
for port in "$a" "$b" "$narrow" "$secure_pod" "$goaway" "$nginx_port"; do
  wait_for 15 listening "$port" || { cat "$work"/*.log; fail "backend on $port up"; finish grpc_proxy; }
done

# The calls, each kind, through h2c then h2 over TLS.
calls() {
  timeout 30 "$python" - "$1" <<'PYEOF'
import sys, time, grpc
channel = grpc.insecure_channel(sys.argv[1], options=[("grpc.enable_retries", 0)])
unary = channel.unary_unary("/test.Echo/Unary")
answers = {unary(b"hello", timeout=5) for _ in range(4)}
assert all(a.endswith(b":hello") for a in answers), answers
streamed = list(channel.unary_stream("/test.Echo/ServerStream")(b"50", timeout=5))
assert len(streamed) == 50 and streamed[49].endswith(b":49"), streamed[-3:]
joined = channel.stream_unary("/test.Echo/ClientStream")(iter([b"x", b"y", b"z"] * 100), timeout=5)
assert joined.endswith(b":" + b",".join([b"x", b"y", b"z"] * 100)), joined[:40]
try:
    unary(b"missing", timeout=5)
    raise SystemExit("NOT_FOUND expected")
except grpc.RpcError as error:
    assert error.code() == grpc.StatusCode.NOT_FOUND and error.details() == "no such item", error
started = time.monotonic()
try:
    channel.unary_unary("/test.Echo/Slow")(b"5", timeout=0.5)
    raise SystemExit("DEADLINE_EXCEEDED expected")
except grpc.RpcError as error:
    assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, error
    assert time.monotonic() - started < 2, time.monotonic() - started
print(sorted(a.split(b":")[0].decode() for a in answers))
PYEOF
}
if out=$(calls "127.0.0.1:$clear" 2>&1) && [[ $out == *pod-a* && $out == *pod-b* ]]; then
  pass "h2c: unary (both backends), server and client streaming, NOT_FOUND, a deadline"
else
  fail "h2c calls: $out"
fi
# Every one of those calls to pod-a went over one connection (one worker).
at_a=$(ss -Htn state established "( sport = :$a )" | wc -l)
if [[ $at_a == 1 ]]; then pass "one connection at pod-a carried its calls"; else fail "connections at pod-a: $at_a"; fi
if out=$(calls "127.0.0.1:$tls" 2>&1) && [[ $out == *secure* ]]; then
  pass "h2 over verified TLS: the same calls"
else
  fail "h2 over TLS calls: $out"
fi

# NOT_FOUND frame by frame: the backend's trailers-only answer stays one HEADERS frame
# with END_STREAM, grpc-status and grpc-message in it. And grpc-timeout: readygate ends
# a call the backend would answer in 5 s after the 300 ms the client asked for.
if out=$(timeout 20 "$python" - "$clear" <<'PYEOF' 2>&1
import socket, sys, time
import h2.connection, h2.events
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
conn = h2.connection.H2Connection()
conn.initiate_connection()
def request(stream, path, body, extra=()):
    conn.send_headers(stream, [(":method", "POST"), (":scheme", "http"), (":authority", "grpc"),
                               (":path", path), ("content-type", "application/grpc"),
                               ("te", "trailers"), *extra])
    conn.send_data(stream, b"\x00" + len(body).to_bytes(4, "big") + body, end_stream=True)
    sock.sendall(conn.data_to_send())
def events_until_end(stream):
    seen = []
    while True:
        data = sock.recv(65536)
        assert data, "closed"
        for event in conn.receive_data(data):
            if getattr(event, "stream_id", None) == stream:
                seen.append(event)
            if isinstance(event, h2.events.StreamEnded) and event.stream_id == stream:
                sock.sendall(conn.data_to_send())
                return seen
        sock.sendall(conn.data_to_send())
request(1, "/test.Echo/Unary", b"missing")
seen = events_until_end(1)
kinds = [type(e).__name__ for e in seen]
assert kinds == ["ResponseReceived", "StreamEnded"], kinds
fields = dict((k.decode(), v.decode()) for k, v in seen[0].headers)
assert seen[0].stream_ended is not None, "END_STREAM on the head"
assert fields[":status"] == "200" and fields["grpc-status"] == "5", fields
assert fields["grpc-message"] == "no such item", fields
started = time.monotonic()
request(3, "/test.Echo/Slow", b"5", [("grpc-timeout", "300m")])
seen = events_until_end(3)
took = time.monotonic() - started
fields = {}
for event in seen:
    if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
        fields.update((k.decode(), v.decode()) for k, v in event.headers)
assert fields.get("grpc-status") == "4", fields
assert 0.25 < took < 2, took
print(f"trailers-only ok; grpc-timeout 300m ended the call after {took:.2f} s")
PYEOF
); then
  pass "NOT_FOUND is one HEADERS frame with END_STREAM; $out"
else
  fail "trailers-only / grpc-timeout: $out"
fi

# 1,000 concurrent streams to a backend that allows 10 per connection: at most 100
# connections (one worker), counted at the backend while they are all in flight.
background burst.out timeout 60 "$python" "$load" burst "127.0.0.1:$few" 1000 10 2
most=0
for _ in $(seq 40); do
  sleep 0.1
  now=$(ss -Htn state established "( sport = :$narrow )" | wc -l)
  ((now > most)) && most=$now
done
wait_for 30 grep -q '"ok"' "$work/burst.out"
burst=$(cat "$work/burst.out")
# Before they idle out (4 s): the gauge agrees with the backend.
gauge=$(curl -s "http://127.0.0.1:$admin/metrics" |
  sed -n "s/^readygate_backend_http2_connections{service=\"few\",backend=\"127.0.0.1:$narrow\"} //p")
if [[ $gauge == "$most" ]]; then
  pass "readygate_backend_http2_connections says $gauge, as the backend counts"
else
  fail "readygate_backend_http2_connections: $gauge, the backend counted $most"
fi
if [[ $burst == *'"ok": 1000,'* && $most -le 100 && $most -ge 10 ]]; then
  pass "1,000 concurrent streams, max 10 per connection: $most connections at the backend; $burst"
else
  fail "multiplexing: $most connections at the backend; $burst"
fi

# A backend that sends GOAWAY below the streams in flight: those go to the other backend
# and no call fails; with retryUnprocessedStreams off the same load loses calls.
out=$(timeout 60 "$python" "$load" burst "127.0.0.1:$mixed" 400 4 unary 2>&1)
if [[ $out == *'"ok": 400,'* && $out == *'"failed": {}'* ]]; then
  pass "GOAWAY mid-load: 0 of 400 calls failed ($out)"
else
  fail "GOAWAY mid-load: $out"
fi
refused=$(tail -1 "$work/goaway.log")
off=$(timeout 60 "$python" "$load" burst "127.0.0.1:$mixed_off" 400 4 unary 2>&1)
if [[ $off == *UNAVAILABLE* ]]; then
  pass "with retryUnprocessedStreams off the same load fails calls ($off)"
else
  fail "retries off should fail calls: $off"
fi

# An HTTP/1.1 client reaches an h2c backend (nginx says which protocol it spoke).
out=$(curl -s --http1.1 --max-time 5 -D - "http://127.0.0.1:$h1/")
if [[ $out == *"HTTP/1.1 200"* && ${out,,} == *"x-protocol: http/2.0"* && $out == *"hello over h2c"* ]]; then
  pass "HTTP/1.1 client to an h2c backend"
else
  fail "HTTP/1.1 client to h2c: $out"
fi

# A backend drained through the admin API gets GOAWAY: its connection closes (it has no
# stream open) and no call goes to it; calls go on to the other.
timeout 10 "$python" -c "
import grpc
unary = grpc.insecure_channel('127.0.0.1:$clear').unary_unary('/test.Echo/Unary')
for _ in range(4): unary(b'before', timeout=5)"
before=$(ss -Htn state established "( sport = :$b )" | wc -l)
curl -fs -X POST --max-time 2 "http://127.0.0.1:$admin/backends/clear/127.0.0.1:$b/drain" >/dev/null
closed() { [[ $(ss -Htn state established "( sport = :$b )" | wc -l) == 0 ]]; }
if [[ $before == 1 ]] && wait_for 3 closed && out=$(timeout 20 "$python" - "$clear" <<'PYEOF' 2>&1
import sys, grpc
unary = grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}").unary_unary("/test.Echo/Unary")
answers = {unary(b"after", timeout=5).split(b":")[0] for _ in range(6)}
assert answers == {b"pod-a"}, answers
PYEOF
); then
  pass "a drained backend's connection is closed and gets no more calls"
else
  fail "drain: $before connection(s) at pod-b before, $(ss -Htn state established "( sport = :$b )" | wc -l) after; ${out:-}"
fi

# readygate's own answer to a gRPC client: a status, logged and counted as one.
out=$(timeout 10 "$python" -c "
import grpc
try:
    grpc.insecure_channel('127.0.0.1:$none').unary_unary('/test.Echo/Unary')(b'x', timeout=5)
except grpc.RpcError as error:
    print(error.code().name, error.details())" 2>&1)
if [[ $out == "UNAVAILABLE readygate: no_ready_backend" ]] &&
  wait_for 3 grep -q 'service=none .*reason=no_ready_backend .* grpc_status=14$' "$work/readygate.log"; then
  pass "no ready backend: UNAVAILABLE, with grpc_status=14 in the access log"
else
  fail "readygate's own gRPC answer: $out $(grep service=none "$work/readygate.log" | tail -1)"
fi

# The access log and the metrics.
if grep -q 'path=/test.Echo/Unary status=200 .* grpc_status=5$' "$work/readygate.log" &&
  grep -q 'path=/test.Echo/Unary status=200 .* grpc_status=0$' "$work/readygate.log"; then
  pass "the access log shows the gRPC status"
else
  fail "grpc_status in the access log: $(grep event=access "$work/readygate.log" | tail -3)"
fi
metrics=$(curl -s "http://127.0.0.1:$admin/metrics")
check_metric() {
  if grep -Eq "$1" <<<"$metrics"; then pass "metric: $2"; else fail "metric $2: $(grep -E "${3:-$1}" <<<"$metrics")"; fi
}
check_metric '^readygate_grpc_responses_total\{service="clear",grpc_status="NOT_FOUND"\} [1-9]' "NOT_FOUND counted"
check_metric '^readygate_grpc_responses_total\{service="clear",grpc_status="OK"\} [1-9]' "OK counted"
check_metric '^readygate_grpc_responses_total\{service="none",grpc_status="UNAVAILABLE"\} 1$' \
  "readygate's own UNAVAILABLE counted" 'grpc_responses_total\{service="none"'
check_metric '^readygate_upstream_http2_streams_per_connection_count\{service="clear"\} [1-9]' \
  "streams per connection observed as pod-b's closed" streams_per_connection_count
check_metric '^readygate_upstream_http2_unprocessed_retries_total\{service="mixed"\} [1-9]' \
  "unprocessed streams retried" readygate_upstream_http2_unprocessed
check_metric "^readygate_backend_http2_goaways_received_total\{service=\"mixed\",backend=\"127.0.0.1:$goaway\"\} [1-9]" \
  "GOAWAYs received per backend" goaways
check_metric '^readygate_upstream_http2_connections_total\{service="few"\} [1-9]' "connections opened"
echo "# the GOAWAY backend refused: $refused"
finish grpc_proxy
