#!/usr/bin/env bash
# Real clients through mode http (issue 17): curl, ab -k (HTTP/1.0 keep-alive), h2load --h1,
# wget --continue (a range from nginx), undici with pipelining 10, a WebSocket and a
# Server-Sent Events stream kept active past the idle timeout, and streaming uploads from
# python requests and httpx (slower than the response timeout). Each client's own success
# is asserted; every step is bounded.
# Usage: real_clients_test.sh READYGATE FAKEPOD
set -uo pipefail
readygate=$1
fakepod=$2
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/checks.sh"
python=/usr/bin/python3  # Debian's, with requests, httpx and websockets
# shellcheck source=../../scripts/background.sh
source "$here/../../scripts/background.sh"  # $work, $pids, background
chmod 755 "$work"  # nginx's worker may run as nobody

pod_port=$(free_port) nginx_port=$(free_port) ws_port=$(free_port) sse_port=$(free_port)
web=$(free_port) files=$(free_port) ws=$(free_port) sse=$(free_port) admin=$(free_port)

background pod.log "$fakepod" --name pod-a --host 127.0.0.1 --port "$pod_port"

# nginx serves a file with ranges, for wget --continue.
mkdir -p "$work/www" "$work/nginx"
head -c 1000000 /dev/urandom >"$work/www/blob.bin"
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
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
EOF
background nginx.log /usr/sbin/nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;'

# A WebSocket echo server (python3-websockets).
background ws.log "$python" -c "
import asyncio, websockets
async def echo(socket, path=None):
    async for message in socket:
        await socket.send(message)
async def main():
    async with websockets.serve(echo, '127.0.0.1', $ws_port):
        await asyncio.sleep(60)
asyncio.run(main())
"

# A Server-Sent Events stream: one event every 0.3 s, 8 in all, chunked.
background sse.log "$python" -c "
import http.server, time
class Events(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        for i in range(8):
            time.sleep(0.3)
            event = ('data: event %d\n\n' % i).encode()
            self.wfile.write(b'%x\r\n%s\r\n' % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b'0\r\n\r\n')
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', $sse_port), Events).serve_forever()
"

cat >"$work/readygate.yaml" <<EOF
admin: {listen: "127.0.0.1:$admin"}
workers: 2
services:
  - name: web
    listen: 127.0.0.1:$web
    mode: http
    endpoints: {static: ["127.0.0.1:$pod_port"]}
    http: {responseTimeoutSeconds: 1}
  - name: files
    listen: 127.0.0.1:$files
    mode: http
    endpoints: {static: ["127.0.0.1:$nginx_port"]}
  - name: ws
    listen: 127.0.0.1:$ws
    mode: http
    idleTimeoutSeconds: 1
    endpoints: {static: ["127.0.0.1:$ws_port"]}
  - name: sse
    listen: 127.0.0.1:$sse
    mode: http
    idleTimeoutSeconds: 1
    endpoints: {static: ["127.0.0.1:$sse_port"]}
EOF
background readygate.log "$readygate" -c "$work/readygate.yaml"

up() { curl -fs -o /dev/null --max-time 1 "$1"; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for 10 up "http://127.0.0.1:$admin/healthz" || { cat "$work/readygate.log"; exit 1; }
wait_for 10 up "http://127.0.0.1:$web/" || fail "fakepod through readygate"
wait_for 10 up "http://127.0.0.1:$files/blob.bin" || { fail "nginx through readygate"; cat "$work/nginx/error.log"; }
wait_for 10 listening "$ws_port" || fail "websocket server"
wait_for 10 listening "$sse_port" || fail "sse server"

# curl: a GET, and a chunked streaming upload echoed back.
if [[ $(curl -s --max-time 5 "http://127.0.0.1:$web/") == "hello from pod-a" ]]; then
  pass "curl GET"
else
  fail "curl GET"
fi
seq 1 20000 >"$work/upload.txt"
if curl -s --max-time 10 -H 'Transfer-Encoding: chunked' -T "$work/upload.txt" \
  "http://127.0.0.1:$web/echo" | cmp -s - "$work/upload.txt"; then
  pass "curl chunked upload"
else
  fail "curl chunked upload"
fi

# ab -k: HTTP/1.0 keep-alive; it waits for a close that never comes unless keep-alive is
# announced (finding 14).
ab_out=$(timeout 20 ab -k -n 2000 -c 10 -s 5 "http://127.0.0.1:$web/" 2>&1)
if grep -Eq '^Complete requests: +2000$' <<<"$ab_out" && grep -Eq '^Failed requests: +0$' <<<"$ab_out" &&
  grep -Eq '^Keep-Alive requests: +2000$' <<<"$ab_out"; then
  pass "ab -k: 2000 of 2000, all kept alive"
else
  fail "ab -k"
  echo "$ab_out" | tail -25
fi

# h2load --h1.
h2_out=$(timeout 20 h2load --h1 -n 2000 -c 10 "http://127.0.0.1:$web/" 2>&1)
if grep -q 'requests: 2000 total, 2000 started, 2000 done, 2000 succeeded, 0 failed, 0 errored' <<<"$h2_out"; then
  pass "h2load --h1: 2000 succeeded"
else
  fail "h2load --h1"
  echo "$h2_out" | tail -12
fi

# wget --continue: the first 300,000 bytes are there; the rest comes as a 206.
head -c 300000 "$work/www/blob.bin" >"$work/blob.bin"
if (cd "$work" && timeout 20 wget -q --continue --server-response "http://127.0.0.1:$files/blob.bin" \
  2>"$work/wget.log") && grep -q ' 206 ' "$work/wget.log" && cmp -s "$work/blob.bin" "$work/www/blob.bin"; then
  pass "wget --continue (206, whole file)"
else
  fail "wget --continue"
  cat "$work/wget.log"
fi

# undici: 100 requests over one connection, 10 in the pipe at a time.
if NODE_PATH=/usr/share/nodejs timeout 20 node -e "
const { Client } = require('undici');
const client = new Client('http://127.0.0.1:$web', { pipelining: 10 });
Promise.all(Array.from({ length: 100 }, (_, i) =>
  client.request({ path: '/status/' + (200 + (i % 3)), method: 'GET' }).then(async (r) => {
    await r.body.text();
    if (r.statusCode !== 200 + (i % 3)) throw new Error('request ' + i + ': ' + r.statusCode);
  })))
  .then(() => client.close())
  .then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
"; then
  pass "undici pipelining 10: 100 of 100 in order"
else
  fail "undici pipelining"
fi

# A WebSocket kept active past the 1 s idle timeout: 8 echoes 0.3 s apart.
if timeout 20 "$python" -c "
import asyncio, websockets
async def main():
    async with websockets.connect('ws://127.0.0.1:$ws/chat') as socket:
        for i in range(8):
            await asyncio.sleep(0.3)
            await socket.send('ping %d' % i)
            assert await asyncio.wait_for(socket.recv(), 2) == 'ping %d' % i
asyncio.run(main())
"; then
  pass "websocket: 8 echoes over 2.4 s with idleTimeoutSeconds 1"
else
  fail "websocket past the idle timeout"
fi

# A Server-Sent Events stream past the same idle timeout: all 8 events.
events=$(curl -sN --max-time 10 "http://127.0.0.1:$sse/events" | grep -c '^data: event')
if [[ $events == 8 ]]; then
  pass "server-sent events: 8 of 8 over 2.4 s with idleTimeoutSeconds 1"
else
  fail "server-sent events: $events of 8"
fi

# Streaming uploads: requests (a generator, chunked) and httpx (slower than
# responseTimeoutSeconds: 1; finding 4).
if timeout 20 "$python" -c "
import requests
parts = [b'part %d;' % i for i in range(200)]
reply = requests.post('http://127.0.0.1:$web/echo', data=iter(parts), timeout=10)
assert reply.status_code == 200, reply.status_code
assert reply.content == b''.join(parts), len(reply.content)
"; then
  pass "python requests streaming upload"
else
  fail "python requests streaming upload"
fi
if timeout 20 "$python" -c "
import httpx, time
def slowly():
    for i in range(5):
        time.sleep(0.4)
        yield b'chunk %d;' % i
reply = httpx.post('http://127.0.0.1:$web/echo', content=slowly(), timeout=10)
assert reply.status_code == 200, reply.status_code
assert reply.content == b''.join(b'chunk %d;' % i for i in range(5)), reply.content
"; then
  pass "httpx streaming upload over 2 s with responseTimeoutSeconds 1"
else
  fail "httpx slow streaming upload"
fi

finish real_clients
